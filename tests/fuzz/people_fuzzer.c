/*
 * people_fuzzer.c -- libFuzzer target for people.c, the PEOPLE.json
 * reader (simulate --all, reconcile --people, report seats --people take
 * its files; an HR export is outside input).
 *
 * The input is parsed as JSON the way the commands read the file
 * (json-c, depth 16, nothing after the value).  An array is read entry
 * by entry with its index; any other value is read as entry 0.  Besides
 * memory safety it checks the contract of people.h for every entry:
 *
 *  - failure: err is "[idx]..." and NUL-terminated, *ev is left empty;
 *  - success: kind is the entry's "kind" (hire, update, terminate,
 *    rehire) or "update"; the subject is "people:" + employee_id, else
 *    "people:#idx"; at most NORM_ATTR_MAX attributes, each a known name
 *    or custom.<key> (never "custom." alone, never a cut key), each
 *    value the very string of the entry (top-level,
 *    or under "custom"), and every string attribute of the entry is
 *    there; the event is complete (NORM_FULL);
 *  - the same entry read twice gives the same event (no hidden state);
 *  - people_clear leaves the event zeroed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/normalize.h"
#include "rolehook/people.h"

#define INPUT_MAX (256 * 1024)
#define ENTRIES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const attr_names[] = { "employee_id", "email",
	"external_id", "name", "department", "title", "location",
	"employment_status", "manager_email", "effective_at", NULL };

static int
known_attr(const char *k)
{
	size_t i;

	for (i = 0; attr_names[i] != NULL; i++)
		if (strcmp(k, attr_names[i]) == 0)
			return 1;
	return 0;
}

static int
is_zero(const struct norm_event *ev)
{
	static const struct norm_event zero;

	return memcmp(ev, &zero, sizeof(zero)) == 0;
}

/* The string the entry gives for attribute key, or NULL. */
static const char *
source_of(struct json_object *p, const char *key, const char *value)
{
	struct json_object *v, *c;

	if (json_object_object_get_ex(p, key, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), value) == 0)
		return value;
	if (strncmp(key, "custom.", 7) != 0 ||
	    !json_object_object_get_ex(p, "custom", &c) ||
	    !json_object_is_type(c, json_type_object))
		return NULL;
	json_object_object_foreach(c, ck, cv) {
		/* the key whole: people.c refuses keys it would have to cut */
		if (strcmp(ck, key + 7) == 0 &&
		    json_object_is_type(cv, json_type_string) &&
		    strcmp(json_object_get_string(cv), value) == 0)
			return value;
	}
	return NULL;
}

static int
has_attr(const struct norm_event *ev, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < ev->nattrs; i++)
		if (strcmp(ev->attrs[i].key, key) == 0 &&
		    strcmp(ev->attrs[i].value, value) == 0)
			return 1;
	return 0;
}

static void
check_ok(struct json_object *p, size_t idx, const struct norm_event *ev)
{
	struct json_object *v;
	const char *want_kind = "update", *id = NULL;
	char subj[400];
	size_t i;

	if (json_object_object_get_ex(p, "kind", &v))
		want_kind = json_object_get_string(v);
	if (ev->kind == NULL || strcmp(ev->kind, want_kind) != 0 ||
	    ev->completeness != NORM_FULL || ev->nattrs > NORM_ATTR_MAX)
		abort();
	for (i = 0; i < ev->nattrs; i++) {
		const char *k = ev->attrs[i].key, *val = ev->attrs[i].value;

		if (k == NULL || val == NULL)
			abort();
		if (!known_attr(k) && (strncmp(k, "custom.", 7) != 0 ||
		    k[7] == '\0'))
			abort();
		if (source_of(p, k, val) == NULL)
			abort();
		if (id == NULL && strcmp(k, "employee_id") == 0)
			id = val;
	}
	/* every string attribute of the entry made it */
	json_object_object_foreach(p, k, val) {
		if (known_attr(k) && json_object_is_type(val, json_type_string) &&
		    !has_attr(ev, k, json_object_get_string(val)))
			abort();
	}
	if (id != NULL)
		snprintf(subj, sizeof(subj), "people:%.300s", id);
	else
		snprintf(subj, sizeof(subj), "people:#%zu", idx);
	if (ev->subject == NULL || strcmp(ev->subject, subj) != 0)
		abort();
}

static void
same_event(const struct norm_event *a, const struct norm_event *b)
{
	size_t i;

	if (strcmp(a->kind, b->kind) != 0 ||
	    strcmp(a->subject, b->subject) != 0 || a->nattrs != b->nattrs)
		abort();
	for (i = 0; i < a->nattrs; i++)
		if (strcmp(a->attrs[i].key, b->attrs[i].key) != 0 ||
		    strcmp(a->attrs[i].value, b->attrs[i].value) != 0)
			abort();
}

static void
one(struct json_object *p, size_t idx)
{
	struct norm_event ev, again;
	char err[256], err2[256], prefix[32];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = people_from_json(p, idx, &ev, err, sizeof(err));
	if (rc != 0) {
		snprintf(prefix, sizeof(prefix), "[%zu]", idx);
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, prefix, strlen(prefix)) != 0 || !is_zero(&ev))
			abort();
		/* the same answer again */
		if (people_from_json(p, idx, &again, err2, sizeof(err2)) == 0 ||
		    strcmp(err, err2) != 0)
			abort();
		return;
	}
	check_ok(p, idx, &ev);
	if (people_from_json(p, idx, &again, err2, sizeof(err2)) != 0)
		abort();
	same_event(&ev, &again);
	people_clear(&again);
	people_clear(&ev);
	if (!is_zero(&ev))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok;
	struct json_object *doc;
	size_t i, n;

	if (size > INPUT_MAX)
		return 0;
	if ((tok = json_tokener_new_ex(16)) == NULL)
		return 0;
	doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (doc != NULL && json_tokener_get_parse_end(tok) == size) {
		if (json_object_is_type(doc, json_type_array)) {
			n = json_object_array_length(doc);
			for (i = 0; i < n && i < ENTRIES_MAX; i++)
				one(json_object_array_get_idx(doc, i), i);
		} else
			one(doc, 0);
	}
	json_object_put(doc);
	json_tokener_free(tok);
	return 0;
}
