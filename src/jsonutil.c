/*
 * jsonutil.c -- typed member getters for json-c objects.
 */
#include <json-c/json.h>

#include "rolehook/jsonutil.h"

static struct json_object *
member(const struct json_object *o, const char *key, json_type t)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t))
		return NULL;
	return v;
}

const char *
json_member_str(const struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

int
json_member_int(const struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v = member(o, key, json_type_int);

	if (v == NULL)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

int
json_member_true(const struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key, json_type_boolean);

	return v != NULL && json_object_get_boolean(v);
}
