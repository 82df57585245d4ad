/*
 * jsonutil.h -- typed, NULL-safe member getters for json-c objects
 * (CONVENTIONS: check the type before every getter).
 */
#ifndef ROLEHOOK_JSONUTIL_H
#define ROLEHOOK_JSONUTIL_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* o[key] if it is a string (borrowed), else NULL.  o may be NULL. */
const char *json_member_str(const struct json_object *o, const char *key);

/* 0 and *out when o[key] is an integer, else -1.  o may be NULL. */
int json_member_int(const struct json_object *o, const char *key,
    int64_t *out);

/* o[key] if it is an array (borrowed), else NULL.  o may be NULL. */
struct json_object *json_member_array(const struct json_object *o,
    const char *key);

/* 1 when o[key] is the boolean true, else 0.  o may be NULL. */
int json_member_true(const struct json_object *o, const char *key);

/*
 * What v is, for messages: "null" (also for NULL), "a boolean", "an
 * integer", "a number", "a string", "an array" or "an object".  Static.
 */
const char *json_type_noun(const struct json_object *v);

/*
 * Adds key: v to o, v stolen (json_object_object_add), putting v when
 * json-c refuses it.  Returns 0, or -1 when refused (out of memory).
 */
int json_member_put(struct json_object *o, const char *key,
    struct json_object *v);

/* json_parse_one's results. */
enum json_one {
	JSON_ONE_OK = 0,
	JSON_ONE_SYNTAX,      /* not JSON, or nested deeper than depth */
	JSON_ONE_TRAILING,    /* text after the value */
	JSON_ONE_NOMEM
};

/*
 * Parses buf[0..len) (len at most INT_MAX) as one JSON value with
 * json-c's tokener (depth levels at most, the tokener flags given: 0,
 * JSON_TOKENER_STRICT, JSON_TOKENER_VALIDATE_UTF8), followed by nothing
 * but RFC 8259 whitespace.  Returns JSON_ONE_OK and *out (caller puts;
 * NULL for the literal null); or another result with *out NULL, *why
 * a static description (JSON_ONE_SYNTAX: json-c's, or "unexpected end of
 * input") and *end the offset where parsing stopped.
 */
enum json_one json_parse_one(const char *buf, size_t len, int depth,
    int flags, struct json_object **out, const char **why, size_t *end);

/*
 * Parses buf[0..len) as one strict RFC 8259 JSON text: double-quoted
 * strings without raw control characters, valid UTF-8, the literals
 * true/false/null in lower case only, no comments, no trailing commas,
 * no NaN or Infinity, nothing but whitespace after the value.  json-c's
 * JSON_TOKENER_STRICT alone still takes single quotes, NaN, Infinity and
 * raw control bytes in strings, so a lexical pass runs first.  depth caps
 * nesting.  Returns the document (caller puts it), or NULL.
 */
struct json_object *json_parse_strict(const char *buf, size_t len,
    int depth);

#endif
