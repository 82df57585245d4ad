/*
 * jsonutil.c -- typed member getters for json-c objects.
 */
#include <string.h>

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

struct json_object *
json_member_array(const struct json_object *o, const char *key)
{
	return member(o, key, json_type_array);
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

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * The RFC 8259 lexical rules json-c's strict mode leaves open.  Outside
 * strings only structural characters, whitespace, number characters and
 * the three lower-case literals; inside strings no byte below 0x20
 * (section 7), and well-formed UTF-8 (section 8.1; json-c's own check
 * lets encoded surrogates through).  Structure and escapes are json-c's.
 */
static int
lexically_strict(const unsigned char *p, size_t len)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i = 0, j, k, n;

	while (i < len) {
		unsigned char c = p[i];

		if (c == '"') {
			for (i++; i < len && p[i] != '"'; i++) {
				if (p[i] >= 0x80) {
					if ((n = utf8_seq(p + i, len - i)) == 0)
						return -1;
					i += n - 1;
					continue;
				}
				if (p[i] < 0x20)
					return -1;
				if (p[i] == '\\' && ++i < len && (p[i] < 0x20 ||
				    p[i] >= 0x80))
					return -1;
			}
			if (i >= len)
				return -1;
			i++;
		} else if (is_ws(c) || strchr("{}[]:,", c) != NULL) {
			i++;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			for (i++; i < len && ((p[i] >= '0' && p[i] <= '9') ||
			    p[i] == '.' || p[i] == 'e' || p[i] == 'E' ||
			    p[i] == '+' || p[i] == '-'); i++)
				;
		} else if (c >= 'a' && c <= 'z') {
			for (j = i; j < len && p[j] >= 'a' && p[j] <= 'z'; j++)
				;
			n = j - i;
			for (k = 0; k < 3; k++)
				if (strlen(words[k]) == n &&
				    memcmp(p + i, words[k], n) == 0)
					break;
			if (k == 3)
				return -1;
			i = j;
		} else
			return -1;
	}
	return 0;
}

/* Contract in jsonutil.h. */
struct json_object *
json_parse_strict(const char *buf, size_t len, int depth)
{
	json_tokener *tok = NULL;
	json_object *doc = NULL;
	size_t end;

	if (buf == NULL || len > (size_t)0x7fffffff ||
	    lexically_strict((const unsigned char *)buf, len) != 0 ||
	    (tok = json_tokener_new_ex(depth)) == NULL)
		goto fail;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	if (doc == NULL && json_tokener_get_error(tok) == json_tokener_continue) {
		/* A bare number ends only at a terminator: hand it the NUL. */
		doc = json_tokener_parse_ex(tok, "", 1);
		if (doc == NULL ||
		    json_tokener_get_error(tok) != json_tokener_success)
			goto fail;
		json_tokener_free(tok);
		return doc;
	}
	if (doc == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto fail;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!is_ws((unsigned char)buf[end]))
			goto fail;
	json_tokener_free(tok);
	return doc;
fail:
	json_object_put(doc);
	if (tok != NULL)
		json_tokener_free(tok);
	return NULL;
}

const char *
json_type_noun(const struct json_object *v)
{
	if (v == NULL)
		return "null";
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	}
	return "an unknown value";
}

enum json_one
json_parse_one(const char *buf, size_t len, int depth, int flags,
    struct json_object **out, const char **why, size_t *end)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	enum json_one rc = JSON_ONE_SYNTAX;
	size_t i;

	*out = NULL;
	*why = "out of memory";
	*end = 0;
	if ((tok = json_tokener_new_ex(depth)) == NULL)
		return JSON_ONE_NOMEM;
	json_tokener_set_flags(tok, flags);
	*out = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	*end = json_tokener_get_parse_end(tok);
	if (jerr != json_tokener_success) {
		*why = jerr == json_tokener_continue ?
		    "unexpected end of input" : json_tokener_error_desc(jerr);
		goto out;
	}
	for (i = *end; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' &&
		    buf[i] != '\n') {
			*why = "text after the JSON value";
			rc = JSON_ONE_TRAILING;
			goto out;
		}
	rc = JSON_ONE_OK;
out:
	json_tokener_free(tok);
	if (rc != JSON_ONE_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

int
json_member_put(json_object *o, const char *key, json_object *v)
{
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}
