/*
 * test_hash.c -- unit tests for hash.c.
 *
 * Vectors: the FNV-1a 64-bit values of draft-eastlake-fnv's test suite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rolehook/hash.h"

static const struct {
	const char *in;
	uint64_t fnv1a;
} vec[] = {
	{ "", 0xcbf29ce484222325ULL },
	{ "a", 0xaf63dc4c8601ec8cULL },
	{ "foobar", 0x85944171f73967e8ULL },
};

static void
test_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
		assert_int_equal(hash_fnv1a(vec[i].in, strlen(vec[i].in)),
		    vec[i].fnv1a);
	/* No bytes: the offset basis, and p may be NULL. */
	assert_int_equal(hash_fnv1a(NULL, 0), 0xcbf29ce484222325ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
