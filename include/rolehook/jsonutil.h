/*
 * jsonutil.h -- typed, NULL-safe member getters for json-c objects
 * (CONVENTIONS: check the type before every getter).
 */
#ifndef ROLEHOOK_JSONUTIL_H
#define ROLEHOOK_JSONUTIL_H

#include <stdint.h>

struct json_object;

/* o[key] if it is a string (borrowed), else NULL.  o may be NULL. */
const char *json_member_str(const struct json_object *o, const char *key);

/* 0 and *out when o[key] is an integer, else -1.  o may be NULL. */
int json_member_int(const struct json_object *o, const char *key,
    int64_t *out);

/* 1 when o[key] is the boolean true, else 0.  o may be NULL. */
int json_member_true(const struct json_object *o, const char *key);

#endif
