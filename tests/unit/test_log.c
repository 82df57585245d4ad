/*
 * test_log.c -- log lines are one JSON object each, whatever the text:
 * every byte of an untrusted value comes back unchanged from a JSON
 * parser (RFC 8259 section 7 escapes), keys included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/log.h"

/* Runs log_kv with stderr sent to a file; returns the line parsed. */
static struct json_object *
logged(const char *key, const char *value)
{
	char buf[4096];
	FILE *f;
	size_t n;
	int saved;

	assert_non_null(f = tmpfile());
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	log_kv(LOG_WARN, "a \"message\"\n", key, value, (char *)NULL);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* One line: the only newline ends it. */
	assert_true(n > 0 && buf[n - 1] == '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	return json_tokener_parse(buf);
}

static void
test_escapes(void **state)
{
	static const char *const values[] = {
		"plain", "quote \" and backslash \\", "lf\ncr\rtab\t",
		"\x01\x02\x1f del \x7f", "caf\xc3\xa9 \xe2\x82\xac", "",
	};
	struct json_object *o, *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_non_null(o = logged("k\"ey\n", values[i]));
		assert_true(json_object_object_get_ex(o, "k\"ey\n", &v));
		assert_string_equal(json_object_get_string(v), values[i]);
		assert_true(json_object_object_get_ex(o, "msg", &v));
		assert_string_equal(json_object_get_string(v),
		    "a \"message\"\n");
		assert_true(json_object_object_get_ex(o, "level", &v));
		assert_string_equal(json_object_get_string(v), "warn");
		json_object_put(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
