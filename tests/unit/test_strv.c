/*
 * test_strv.c -- unit tests for strv.c.  The frees are checked by the
 * ASan build (a leak or a double free fails it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rolehook/strv.h"

static void
test_strv_free(void **state)
{
	char **v;

	(void)state;
	strv_free(NULL, 3);
	v = calloc(3, sizeof(*v));
	assert_non_null(v);
	v[0] = strdup("a");
	v[2] = strdup("c");     /* v[1] stays NULL: skipped */
	strv_free(v, 3);
	strv_free(calloc(1, sizeof(char *)), 0);
}

static void
test_str_lower(void **state)
{
	char s[] = "Ana.Lima@Example.COM X-Zendesk-Webhook-Signature \xc3\x89";

	(void)state;
	assert_ptr_equal(str_lower(s), s);
	/* ASCII only: the UTF-8 bytes of U+00C9 are left as they are. */
	assert_string_equal(s, "ana.lima@example.com "
	    "x-zendesk-webhook-signature \xc3\x89");
	s[0] = '\0';
	assert_string_equal(str_lower(s), "");
}

static void
test_strv_index(void **state)
{
	static const char *const names[] = { "agent", "admin", "Agent",
	    "", NULL };
	static const char *const none[] = { NULL };

	(void)state;
	assert_int_equal(strv_index(names, "agent"), 0);
	assert_int_equal(strv_index(names, "admin"), 1);
	assert_int_equal(strv_index(names, "Agent"), 2);  /* exact case */
	assert_int_equal(strv_index(names, ""), 3);
	assert_int_equal(strv_index(names, "AGENT"), -1);
	assert_int_equal(strv_index(names, "agents"), -1);
	assert_int_equal(strv_index(names, "agen"), -1);
	assert_int_equal(strv_index(none, "agent"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strv_free),
		cmocka_unit_test(test_str_lower),
		cmocka_unit_test(test_strv_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
