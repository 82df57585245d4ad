/*
 * test_jsonutil.c -- unit tests for jsonutil.c: json_parse_strict()
 * against RFC 8259 (what it must take, what json-c's own strict mode
 * lets through and it must not), and the typed member getters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/jsonutil.h"

/* RFC 8259 texts: every one parses. */
static const char *const good[] = {
	"{}",
	"[]",
	" \t\r\n{\"a\":1} \n",
	"{\"a\":[true,false,null,-0,0.5,1e3,-1.5E-3,2e+2]}",
	"{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
	"{\"u\":\"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	"{\"nested\":{\"x\":{\"y\":[{\"z\":\"\"}]}}}",
	"\"a string\"",
	"123",
};

/*
 * Not RFC 8259.  The first group is what json-c's JSON_TOKENER_STRICT
 * alone accepts (checked with json-c 0.16): single quotes, NaN,
 * Infinity, raw control bytes in strings.
 */
static const char *const bad[] = {
	"{'a':1}",
	"{\"a\":'x'}",
	"{\"a\":NaN}",
	"{\"a\":Infinity}",
	"{\"a\":-Infinity}",
	"{\"a\":\"tab\there\"}",
	"{\"a\":\"nl\nhere\"}",
	"{\"a\":\"\x01\"}",
	/* and what json-c's strict mode refuses too */
	"{/* c */\"a\":1}",
	"{\"a\":1} // c",
	"{\"a\":1,}",
	"[1,2,]",
	"{\"a\":TRUE}",
	"{\"a\":True}",
	"{\"a\":nul}",
	"{\"a\":01}",
	"{\"a\":\"\xff\"}",
	"{\"a\":\"\xc3\"}",
	"{\"a\":\"\xed\xa0\x80\"}",
	"{\"a\":\"\xc0\xaf\"}",
	"{\"a\":\"\xe0\x80\xaf\"}",
	"{\"a\":\"\xf4\x90\x80\x80\"}",
	"{\"a\":\"\xe2\x82\"}",
	"{\"a\":1} {\"b\":2}",
	"{\"a\":1} x",
	"{\"a\":1",
	"{\"a\":\"unterminated}",
	"{a:1}",
	"",
	"   ",
	"\xef\xbb\xbf{}",
};

static void
test_strict_accepts_rfc8259(void **state)
{
	size_t i;
	json_object *o;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		o = json_parse_strict(good[i], strlen(good[i]), 64);
		if (o == NULL)
			fail_msg("refused good[%zu]: %s", i, good[i]);
		json_object_put(o);
	}
}

static void
test_strict_refuses_the_rest(void **state)
{
	size_t i;
	json_object *o;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = json_parse_strict(bad[i], strlen(bad[i]), 64);
		if (o != NULL) {
			json_object_put(o);
			fail_msg("accepted bad[%zu]", i);
		}
	}
}

static void
test_strict_depth_and_nul(void **state)
{
	char deep[200];
	size_t i;
	json_object *o;

	(void)state;
	/* 65 levels where 64 are allowed. */
	for (i = 0; i < 65; i++)
		deep[i] = '[';
	for (i = 0; i < 65; i++)
		deep[65 + i] = ']';
	assert_null(json_parse_strict(deep, 130, 64));
	assert_non_null(o = json_parse_strict(deep + 1, 128, 64));
	json_object_put(o);
	/* A NUL byte is not JSON, inside or after the value. */
	assert_null(json_parse_strict("{\"a\":\"x\0y\"}", 11, 64));
	assert_null(json_parse_strict("{}\0", 3, 64));
	assert_null(json_parse_strict(NULL, 0, 64));
}

static void
test_member_getters(void **state)
{
	static const char text[] = "{\"s\":\"v\",\"i\":7,\"t\":true,"
	    "\"f\":false,\"n\":null}";
	json_object *o = json_parse_strict(text, strlen(text), 8);
	int64_t v = 0;

	(void)state;
	assert_non_null(o);
	assert_string_equal(json_member_str(o, "s"), "v");
	assert_null(json_member_str(o, "i"));
	assert_int_equal(json_member_int(o, "i", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(json_member_int(o, "s", &v), -1);
	assert_int_equal(json_member_true(o, "t"), 1);
	assert_int_equal(json_member_true(o, "f"), 0);
	assert_int_equal(json_member_true(o, "n"), 0);
	assert_null(json_member_str(NULL, "s"));
	json_object_put(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict_accepts_rfc8259),
		cmocka_unit_test(test_strict_refuses_the_rest),
		cmocka_unit_test(test_strict_depth_and_nul),
		cmocka_unit_test(test_member_getters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
