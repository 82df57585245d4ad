/*
 * test_listing.c -- the memberships index (listing.h): a user's
 * memberships in id order, each once, as GET /api/v2/users/{id}/
 * group_memberships.json collects them; entries without ids left out;
 * a user with none gets an empty list.  The listing itself is exercised
 * against the fake Zendesk (test_report_*.py, test_reconcile.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/listing.h"

static void
test_index(void **state)
{
	static const char all[] =
	    "[{\"id\": 30, \"user_id\": 7, \"group_id\": 3},"
	    " {\"id\": 10, \"user_id\": 7, \"group_id\": 1},"
	    " {\"id\": 20, \"user_id\": 8, \"group_id\": 1},"
	    " {\"id\": 10, \"user_id\": 7, \"group_id\": 1},"
	    " {\"user_id\": 7, \"group_id\": 9},"
	    " {\"id\": 40, \"group_id\": 9},"
	    " {\"id\": 50, \"user_id\": \"7\", \"group_id\": 9}]";
	static const struct {
		int64_t uid;
		const char *want;
	} t[] = {
		{ 7, "{\"group_memberships\":[{\"id\":10,\"user_id\":7,"
		  "\"group_id\":1},{\"id\":30,\"user_id\":7,\"group_id\":3}]}" },
		{ 8, "{\"group_memberships\":[{\"id\":20,\"user_id\":8,"
		  "\"group_id\":1}]}" },
		{ 9, "{\"group_memberships\":[]}" },
		{ 1, "{\"group_memberships\":[]}" },
	};
	struct json_object *arr = json_tokener_parse(all), *got;
	struct listing_index *ix;
	size_t i;

	(void)state;
	assert_non_null(arr);
	assert_non_null(ix = listing_index_new(arr));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_non_null(got = listing_index_user(ix, t[i].uid));
		assert_string_equal(json_object_to_json_string_ext(got,
		    JSON_C_TO_STRING_PLAIN), t[i].want);
		json_object_put(got);
	}
	listing_index_free(ix);
	listing_index_free(NULL);
	json_object_put(arr);
}

static void
test_empty(void **state)
{
	struct json_object *arr = json_object_new_array(), *got;
	struct listing_index *ix;

	(void)state;
	assert_non_null(ix = listing_index_new(arr));
	assert_non_null(got = listing_index_user(ix, 5));
	assert_string_equal(json_object_to_json_string_ext(got,
	    JSON_C_TO_STRING_PLAIN), "{\"group_memberships\":[]}");
	json_object_put(got);
	listing_index_free(ix);
	json_object_put(arr);
}

/*
 * Answers share no object with the index (reconcile's threads ask at
 * once and json-c's reference counts are not atomic): each membership
 * is a copy whose reference count is its answer's alone, and the index's
 * objects are not referenced again.
 */
static void
test_answers_are_copies(void **state)
{
	struct json_object *arr = json_tokener_parse(
	    "[{\"id\": 1, \"user_id\": 7, \"group_id\": 3},"
	    " {\"id\": 2, \"user_id\": 7, \"group_id\": 4}]");
	struct json_object *a, *b, *ma, *mb, *orig;
	struct listing_index *ix;
	size_t i;

	(void)state;
	assert_non_null(arr);
	assert_non_null(ix = listing_index_new(arr));
	assert_non_null(a = listing_index_user(ix, 7));
	assert_non_null(b = listing_index_user(ix, 7));
	for (i = 0; i < 2; i++) {
		orig = json_object_array_get_idx(arr, i);
		ma = json_object_array_get_idx(json_object_object_get(a,
		    "group_memberships"), i);
		mb = json_object_array_get_idx(json_object_object_get(b,
		    "group_memberships"), i);
		assert_ptr_not_equal(ma, orig);
		assert_ptr_not_equal(mb, orig);
		assert_ptr_not_equal(ma, mb);
		assert_true(json_object_equal(ma, orig));
	}
	json_object_put(a);
	json_object_put(b);
	/* The index's objects are whole after the answers are gone. */
	assert_int_equal(json_object_array_length(arr), 2);
	assert_true(json_object_is_type(json_object_array_get_idx(arr, 1),
	    json_type_object));
	listing_index_free(ix);
	json_object_put(arr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_answers_are_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
