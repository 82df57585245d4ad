/*
 * test_normalize.c -- unit tests for normalize.c.
 *
 * 1. Fixtures: every tests/data/normalize/<normalizer>/<case>.json is a
 *    body; <case>.expected.json is what norm_event_to_json() must print
 *    for it (compared with json_object_equal), or {"error": "..."} for
 *    the exact error.  The generic directory's mapping.json is the
 *    source mapping.  The received time is fixed (2026-01-01T00:00:00Z).
 * 2. Tables: error cases (wrong types, overlong values, bad dates,
 *    missing ids, malformed bodies), the date parser through a generic
 *    mapping, and normalize_check_mapping messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/normalize.h"

#define RECEIVED ((time_t)1767225600) /* 2026-01-01T00:00:00Z */
#define FIXDIR ROLEHOOK_TESTDATA "/normalize"
#define MAXFILE (1024 * 1024)

/* ---- helpers ---- */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = malloc(MAXFILE + 1);
	if (buf != NULL) {
		n = fread(buf, 1, MAXFILE, f);
		buf[n] = '\0';
		*len = n;
	}
	fclose(f);
	return buf;
}

static struct json_object *
parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	assert_non_null(o);
	return o;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The output of one normalize() run: the event, or {"error": err}. */
static struct json_object *
run_json(const char *normalizer, struct json_object *mapping,
    const char *body, size_t len)
{
	struct norm_event ev;
	char err[NORM_ERRLEN];
	struct json_object *o;

	memset(&ev, 0xa5, sizeof(ev)); /* normalize() must not read *out */
	if (normalize(normalizer, mapping, body, len, RECEIVED, &ev, err,
	    sizeof(err)) != 0) {
		/* On failure the event is left cleared. */
		assert_null(ev.kind);
		assert_int_equal(ev.nattrs, 0);
		assert_non_null(memchr(err, '\0', sizeof(err)));
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string(err));
		return o;
	}
	o = norm_event_to_json(&ev);
	assert_non_null(o);
	norm_event_clear(&ev);
	assert_null(ev.kind);
	return o;
}

/* ---- 1. fixtures ---- */

static int
run_dir(const char *normalizer, int *cases)
{
	char dir[512], path[1024], exp[1024];
	struct json_object *mapping = NULL, *got, *want;
	struct dirent *de;
	int failures = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", FIXDIR, normalizer);
	snprintf(path, sizeof(path), "%s/mapping.json", dir);
	mapping = json_object_from_file(path); /* NULL when absent */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char *body;
		size_t len = 0;

		if (!ends_with(de->d_name, ".json") ||
		    ends_with(de->d_name, ".expected.json") ||
		    strcmp(de->d_name, "mapping.json") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(exp, sizeof(exp), "%s/%.*s.expected.json", dir,
		    (int)(strlen(de->d_name) - 5), de->d_name);
		body = slurp(path, &len);
		assert_non_null(body);
		want = json_object_from_file(exp);
		if (want == NULL) {
			print_error("%s: no readable %s\n", path, exp);
			failures++;
			free(body);
			continue;
		}
		got = run_json(normalizer, mapping, body, len);
		if (!json_object_equal(got, want)) {
			print_error("%s:\n  got  %s\n  want %s\n", path,
			    json_object_to_json_string(got),
			    json_object_to_json_string(want));
			failures++;
		}
		(*cases)++;
		json_object_put(got);
		json_object_put(want);
		free(body);
	}
	closedir(d);
	json_object_put(mapping);
	return failures;
}

static void
test_fixtures(void **state)
{
	const char *const *names = normalize_names();
	int failures = 0, total = 0;
	size_t i;

	(void)state;
	for (i = 0; names[i] != NULL; i++) {
		int cases = 0;

		failures += run_dir(names[i], &cases);
		if (cases < 3) {
			print_error("%s: %d fixtures, expected at least 3\n",
			    names[i], cases);
			failures++;
		}
		total += cases;
	}
	assert_int_equal(i, 9);
	print_message("normalize fixtures: %d cases\n", total);
	assert_int_equal(failures, 0);
}

/* ---- 2. error table ---- */

struct errcase {
	const char *normalizer;
	const char *body;
	const char *err;      /* exact message */
};

static const struct errcase errcases[] = {
	/* malformed bodies */
	{ "zendesk", "", "zendesk: body: empty (expected a JSON object)" },
	{ "zendesk", "[1]", "zendesk: body: expected a JSON object, found an "
	  "array" },
	{ "zendesk", "{\"type\":1} x", "zendesk: body: not JSON (unexpected "
	  "character)" },
	{ "zendesk", "{\"type\":", "zendesk: body: not JSON (unexpected end "
	  "of input)" },
	{ "gusto", "{\"event_type\":\"employee.updated\",/*c*/\"x\":1}",
	  "gusto: body: not JSON (quoted object property name expected)" },
	{ "gusto", "{\"event_type\":\"employee.\xff\"}",
	  "gusto: body: not JSON (invalid utf-8 string)" },
	{ "nosuch", "{}", "normalize: unknown normalizer (expected one of "
	  "zendesk, bamboohr, hibob, personio, gusto, deel, merge, finch, "
	  "generic)" },
	/* wrong types */
	{ "zendesk", "{\"type\":5}", "zendesk: type: expected a string, found "
	  "an integer" },
	{ "zendesk", "{\"type\":\"zen:event-type:user.created\","
	  "\"detail\":[]}", "zendesk: detail: expected an object, found an "
	  "array" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":"
	  "{\"employeeId\":[1]}}", "bamboohr: data.employeeId: expected a "
	  "string or an integer, found an array" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":"
	  "{\"employeeId\":\"1\",\"changedFields\":\"jobTitle\"}}",
	  "bamboohr: data.changedFields: expected an array, found a string" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":"
	  "{\"employeeId\":\"1\",\"changedFields\":[1]}}",
	  "bamboohr: data.changedFields[0]: expected a string, found an "
	  "integer" },
	{ "bamboohr", "{\"employees\":[{\"action\":\"Updated\",\"id\":\"1\","
	  "\"fields\":{\"Job Title\":{\"v\":1}}}]}", "bamboohr: "
	  "employees[0].fields.\"Job Title\": expected a value or "
	  "{\"value\": ...}, found an object without \"value\"" },
	{ "bamboohr", "{\"employees\":[]}", "bamboohr: employees: empty "
	  "(expected one entry per person)" },
	{ "bamboohr", "{\"foo\":1}", "bamboohr: type: missing (expected an "
	  "event-based webhook {\"type\", \"data\"} or a field-based one "
	  "{\"employees\": [...]})" },
	{ "finch", "{\"event_type\":\"employment.updated\",\"data\":"
	  "{\"individual_id\":\"i1\",\"is_active\":\"no\"}}",
	  "finch: data.is_active: expected a boolean, found a string" },
	{ "merge", "{\"hook\":{\"event\":\"Employee.changed\"},\"data\":"
	  "{\"id\":\"1\",\"work_email\":\"greg\"}}", "merge: data.work_email: "
	  "expected an e-mail address" },
	{ "merge", "{\"hook\":{\"event\":\"Employee.changed\"},\"data\":"
	  "{\"id\":\"1\",\"remote_was_deleted\":\"yes\"}}", "merge: "
	  "data.remote_was_deleted: expected a boolean, found a string" },
	/* missing ids */
	{ "zendesk", "{\"type\":\"zen:event-type:user.created\"}",
	  "zendesk: detail.id: missing (expected the Zendesk user id, or "
	  "subject \"zen:user:<id>\")" },
	{ "zendesk", "{\"type\":\"zen:event-type:user.created\","
	  "\"subject\":\"zen:user:abc\"}", "zendesk: subject: expected "
	  "\"zen:user:<id>\"" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":{}}",
	  "bamboohr: data.employeeId: missing (expected the employee id)" },
	{ "bamboohr", "{\"type\":\"employee.updated\"}", "bamboohr: data: "
	  "missing (expected an object)" },
	{ "hibob", "{\"type\":\"employee.left\",\"version\":\"v2\","
	  "\"data\":{}}", "hibob: data.employeeId: missing (expected the "
	  "employee id)" },
	{ "personio", "{\"event_name\":\"employment.started\","
	  "\"payload\":{}}", "personio: payload.id: missing (expected the "
	  "person or employment id)" },
	{ "gusto", "{\"event_type\":\"employee.updated\"}", "gusto: "
	  "entity_uuid: missing (expected the employee uuid)" },
	{ "deel", "{\"data\":{\"meta\":{}}}", "deel: data.meta.event_type: "
	  "missing (expected the event type)" },
	{ "deel", "{\"data\":{\"meta\":{\"event_type\":\"worker.v2.updated\"},"
	  "\"resource\":{}}}", "deel: data.resource.id: missing (expected the "
	  "worker or contract id)" },
	{ "merge", "{\"hook\":{\"event\":\"Employee.changed\"},\"data\":{}}",
	  "merge: data.id: missing (expected the Merge employee id)" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":"
	  "{\"employeeId\":\"12 34\"}}", "bamboohr: data.employeeId: expected "
	  "an id of visible ASCII characters" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":"
	  "{\"employeeId\":-4}}", "bamboohr: data.employeeId: expected a "
	  "non-negative id" },
	{ "bamboohr", "{\"type\":\"employee.updated\",\"data\":"
	  "{\"employeeId\":\"a\\u0000b\"}}", "bamboohr: data.employeeId: "
	  "contains a NUL character" },
	/* bad dates */
	{ "zendesk", "{\"type\":\"zen:event-type:user.created\","
	  "\"subject\":\"zen:user:1\",\"time\":\"2026-13-01T00:00:00Z\"}",
	  "zendesk: time: expected a date (YYYY-MM-DD or RFC 3339 "
	  "date-time)" },
	{ "hibob", "{\"type\":\"table.entry.created\",\"data\":{\"employeeId\":"
	  "\"1\",\"effectiveDate\":\"2025-02-29\"}}", "hibob: "
	  "data.effectiveDate: expected a date (YYYY-MM-DD or RFC 3339 "
	  "date-time)" },
	{ "personio", "{\"event_name\":\"person.updated\",\"occurred_at\":"
	  "\"yesterday\",\"payload\":{\"id\":1}}", "personio: occurred_at: "
	  "expected a date (YYYY-MM-DD or RFC 3339 date-time)" },
	{ "gusto", "{\"event_type\":\"employee.updated\",\"timestamp\":-5}",
	  "gusto: timestamp: expected unix seconds between 0 and "
	  "253402300799" },
	{ "gusto", "{\"event_type\":\"employee.updated\",\"timestamp\":1.5}",
	  "gusto: timestamp: expected a string or an integer, found a "
	  "number" },
	{ "merge", "{\"hook\":{\"event\":\"Employee.changed\"},\"data\":"
	  "{\"id\":\"1\",\"termination_date\":\"2026-02-31T00:00:00Z\"}}",
	  "merge: data.termination_date: expected a date (YYYY-MM-DD or RFC "
	  "3339 date-time)" },
	{ "deel", "{\"data\":{\"meta\":{\"event_type\":\"contract.terminated\"},"
	  "\"resource\":{\"id\":\"c1\",\"completion_date\":\"31/05/2026\"}}}",
	  "deel: data.resource.completion_date: expected a date (YYYY-MM-DD "
	  "or RFC 3339 date-time)" },
	/* shape */
	{ "hibob", "{\"type\":\"employee.left\",\"version\":\"v2\"}",
	  "hibob: data: missing (expected an object)" },
	{ "generic", "{\"type\":\"x\"}", "generic: mapping: missing (the "
	  "generic normalizer needs the source's \"mapping\" object)" },
};

static void
test_errors(void **state)
{
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(errcases) / sizeof(errcases[0]); i++) {
		const struct errcase *e = &errcases[i];
		struct norm_event ev;
		char err[NORM_ERRLEN];

		if (normalize(e->normalizer, NULL, e->body, strlen(e->body),
		    RECEIVED, &ev, err, sizeof(err)) == 0) {
			print_error("case %zu (%s): succeeded, expected "
			    "\"%s\"\n", i, e->body, e->err);
			norm_event_clear(&ev);
			failures++;
		} else if (strcmp(err, e->err) != 0) {
			print_error("case %zu: got  \"%s\"\n         want "
			    "\"%s\"\n", i, err, e->err);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* pre + n bytes of 'a' + post, NUL-terminated. */
static char *
long_body(const char *pre, size_t n, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	char *body = malloc(a + n + b + 1);

	assert_non_null(body);
	memcpy(body, pre, a);
	memset(body + a, 'a', n);
	memcpy(body + a + n, post, b + 1);
	return body;
}

static void
test_lengths(void **state)
{
	static const char fields[] = "{\"employees\":[{\"action\":\"Updated\","
	    "\"id\":\"1\",\"fields\":{\"Job Title\":\"";
	static const char fields_end[] = "\"}}]}";
	static const char ids[] = "{\"type\":\"employee.updated\",\"data\":"
	    "{\"employeeId\":\"";
	static const char ids_end[] = "\"}}";
	struct norm_event ev;
	char err[NORM_ERRLEN];
	char *body;

	(void)state;
	/* At the limit: accepted. */
	body = long_body(fields, NORM_VALUE_MAX, fields_end);
	assert_int_equal(normalize("bamboohr", NULL, body, strlen(body),
	    RECEIVED, &ev, err, sizeof(err)), 0);
	assert_int_equal(strlen(norm_attr(&ev, "title")), NORM_VALUE_MAX);
	norm_event_clear(&ev);
	free(body);
	/* One over: an error naming the field. */
	body = long_body(fields, NORM_VALUE_MAX + 1, fields_end);
	assert_int_equal(normalize("bamboohr", NULL, body, strlen(body),
	    RECEIVED, &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "bamboohr: employees[0].fields.\"Job "
	    "Title\": longer than 1024 bytes");
	free(body);
	body = long_body(ids, 256, ids_end);
	assert_int_equal(normalize("bamboohr", NULL, body, strlen(body),
	    RECEIVED, &ev, err, sizeof(err)), 0);
	norm_event_clear(&ev);
	free(body);
	body = long_body(ids, 257, ids_end);
	assert_int_equal(normalize("bamboohr", NULL, body, strlen(body),
	    RECEIVED, &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "bamboohr: data.employeeId: longer than 256 "
	    "bytes");
	free(body);
	/* Zendesk previous/current beyond 8 KiB of JSON text. */
	body = long_body("{\"type\":\"zen:event-type:user.role_changed\","
	    "\"subject\":\"zen:user:1\",\"event\":{\"current\":\"", 8192,
	    "\"}}");
	assert_int_equal(normalize("zendesk", NULL, body, strlen(body),
	    RECEIVED, &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "zendesk: event.current: longer than 8192 "
	    "bytes as JSON");
	free(body);
}

/* {"x": [[...]]}: an object holding n nested arrays. */
static size_t
nested(char *buf, size_t cap, size_t n)
{
	size_t i, o;

	o = (size_t)snprintf(buf, cap, "{\"x\":");
	for (i = 0; i < n && o + 1 < cap; i++)
		buf[o++] = '[';
	for (i = 0; i < n && o + 1 < cap; i++)
		buf[o++] = ']';
	buf[o++] = '}';
	return o;
}

static void
test_depth(void **state)
{
	char body[256];
	struct norm_event ev;
	char err[NORM_ERRLEN];
	size_t n;

	(void)state;
	/* 32 levels with the top-level object: parsed. */
	n = nested(body, sizeof(body), 31);
	assert_int_equal(normalize("gusto", NULL, body, n, RECEIVED, &ev, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "gusto: event_type: missing (expected the "
	    "event type)");
	/* 33: too deep for the tokener. */
	n = nested(body, sizeof(body), 32);
	assert_int_equal(normalize("gusto", NULL, body, n, RECEIVED, &ev, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "gusto: body: not JSON (nesting too deep)");
}

/* ---- batches ---- */

static void
test_batch(void **state)
{
	static const char body[] = "{\"employees\":["
	    "{\"action\":\"Updated\",\"id\":\"1\",\"changedFields\":[\"Department\"],"
	    "\"fields\":{\"Department\":\"Support\"}},"
	    "{\"action\":\"Updated\",\"id\":\"2\",\"changedFields\":[\"Status\"],"
	    "\"fields\":{\"Status\":\"Inactive\"}}]}";
	struct norm_event ev;
	char err[NORM_ERRLEN];
	size_t count = 0;

	(void)state;
	assert_int_equal(normalize("bamboohr", NULL, body, strlen(body),
	    RECEIVED, &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "bamboohr: employees: 2 entries in one "
	    "delivery, expected 1 (the worker splits a batch with "
	    "normalize_nth)");
	assert_int_equal(normalize_nth("bamboohr", NULL, body, strlen(body),
	    RECEIVED, 0, &ev, &count, err, sizeof(err)), 0);
	assert_int_equal(count, 2);
	assert_string_equal(ev.kind, "update");
	assert_string_equal(ev.subject, "bamboohr:1");
	assert_string_equal(norm_attr(&ev, "department"), "Support");
	norm_event_clear(&ev);
	assert_int_equal(normalize_nth("bamboohr", NULL, body, strlen(body),
	    RECEIVED, 1, &ev, &count, err, sizeof(err)), 0);
	assert_string_equal(ev.kind, "terminate");
	assert_string_equal(ev.subject, "bamboohr:2");
	assert_int_equal(ev.effective_at, 0);
	norm_event_clear(&ev);
	assert_int_equal(normalize_nth("bamboohr", NULL, body, strlen(body),
	    RECEIVED, 2, &ev, &count, err, sizeof(err)), -1);
	assert_string_equal(err, "bamboohr: employees: no entry 2 (2 "
	    "entries)");
	assert_int_equal(count, 2);
	/* Other senders hold one event. */
	assert_int_equal(normalize_nth("gusto", NULL, "{\"event_type\":\"x\"}",
	    18, RECEIVED, 1, &ev, &count, err, sizeof(err)), -1);
	assert_int_equal(count, 1);
	assert_string_equal(err, "gusto: no entry 1 (1 in this delivery)");
	/* Bytes after the object (here its C string's NUL) are refused. */
	assert_int_equal(normalize("gusto", NULL, "{\"event_type\":\"x\"}",
	    19, RECEIVED, &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "gusto: body: text after the JSON value");
	/* Trailing whitespace is fine. */
	assert_int_equal(normalize("gusto", NULL, "{\"event_type\":\"x\"} \r\n",
	    21, RECEIVED, &ev, err, sizeof(err)), 0);
	norm_event_clear(&ev);
}

/* ---- truncation of unknown sender fields ---- */

static void
test_truncation(void **state)
{
	char body[16384];
	struct norm_event ev;
	char err[NORM_ERRLEN];
	size_t i, o = 0;

	(void)state;
	o += (size_t)snprintf(body + o, sizeof(body) - o, "{\"employees\":[{"
	    "\"action\":\"Updated\",\"id\":\"7\",\"changedFields\":[");
	for (i = 0; i < 60; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "\"Extra %zu\",",
		    i);
	o += (size_t)snprintf(body + o, sizeof(body) - o, "\"Job Title\"],"
	    "\"fields\":{");
	for (i = 0; i < 60; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		    "\"Extra %zu\":\"v\",", i);
	o += (size_t)snprintf(body + o, sizeof(body) - o,
	    "\"Job Title\":\"Lead\",\"Work Email\":\"a@b.example\"}}]}");
	assert_int_equal(normalize("bamboohr", NULL, body, o, RECEIVED, &ev,
	    err, sizeof(err)), 0);
	assert_true(ev.truncated);
	assert_true(ev.nattrs <= NORM_ATTR_MAX);
	assert_true(ev.nchanged <= NORM_CHANGED_MAX);
	/* Known fields survive the flood. */
	assert_string_equal(norm_attr(&ev, "title"), "Lead");
	assert_string_equal(norm_attr(&ev, "email"), "a@b.example");
	assert_string_equal(ev.changed[ev.nchanged - 1], "title");
	assert_string_equal(ev.changed[0], "custom.extra_0");
	norm_event_clear(&ev);
}

/* ---- generic: dates, pointers, subjects ---- */

struct datecase {
	const char *value;    /* JSON text of /d */
	int ok;
	int64_t want;
};

static const struct datecase datecases[] = {
	{ "\"2024-02-29\"", 1, INT64_C(1709164800) },
	{ "\"2023-02-29\"", 0, 0 },
	{ "\"2000-02-29\"", 1, INT64_C(951782400) },
	{ "\"1900-02-29\"", 0, 0 },
	{ "\"2026-01-31T18:42:00+0000\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31T18:42:00Z\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31t18:42:00z\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31 18:42:00Z\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31T18:42:00\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31T19:42:00+01:00\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31T17:42:00-0100\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31T18:42:00.123456789Z\"", 1, INT64_C(1769884920) },
	{ "\"2026-01-31T18:42:00.1234567890Z\"", 0, 0 },
	{ "\"2026-01-31T18:42:00.Z\"", 0, 0 },
	{ "\"2026-01-31T18:42Z\"", 0, 0 },
	{ "\"2026-01-31T24:00:00Z\"", 0, 0 },
	{ "\"2026-01-31T18:60:00Z\"", 0, 0 },
	{ "\"2026-01-31T18:42:00+01\"", 0, 0 },
	{ "\"2026-01-31T18:42:00+24:00\"", 0, 0 },
	{ "\"2026-01-31T18:42:00Z \"", 0, 0 },
	{ "\" 2026-01-31\"", 0, 0 },
	{ "\"2026-1-31\"", 0, 0 },
	{ "\"2026-00-10\"", 0, 0 },
	{ "\"2026-04-31\"", 0, 0 },
	{ "\"0000-01-01\"", 0, 0 },
	{ "\"+2026-01-01\"", 0, 0 },
	{ "\"9999-12-31T23:59:59Z\"", 1, INT64_C(253402300799) },
	{ "\"9999-12-31T23:59:59-01:00\"", 0, 0 },
	{ "\"0001-01-01\"", 1, INT64_C(-62135596800) },
	{ "1700000000", 1, INT64_C(1700000000) },
	{ "-1", 0, 0 },
	{ "true", 0, 0 },
};

static const char date_mapping[] = "{\"kind\":\"/t\",\"employee_id\":"
    "\"/id\",\"effective_at\":\"/d\",\"kinds\":{\"x\":\"update\"}}";

static void
test_dates(void **state)
{
	struct json_object *m = parse(date_mapping);
	size_t i;
	int failures = 0;

	(void)state;
	for (i = 0; i < sizeof(datecases) / sizeof(datecases[0]); i++) {
		const struct datecase *d = &datecases[i];
		struct norm_event ev;
		char body[256], err[NORM_ERRLEN];
		int rc;

		snprintf(body, sizeof(body), "{\"t\":\"x\",\"id\":\"1\","
		    "\"d\":%s}", d->value);
		rc = normalize("generic", m, body, strlen(body), RECEIVED, &ev,
		    err, sizeof(err));
		if (rc != (d->ok ? 0 : -1) ||
		    (rc == 0 && ev.effective_at != d->want)) {
			print_error("date %s: rc %d effective_at %" PRId64
			    " (%s)\n", d->value, rc, rc == 0 ?
			    ev.effective_at : 0, rc == 0 ? "" : err);
			failures++;
		}
		if (rc == 0)
			norm_event_clear(&ev);
		else if (strstr(err, "generic: effective_at (/d): ") != err) {
			print_error("date %s: error \"%s\" does not name the "
			    "field\n", d->value, err);
			failures++;
		}
	}
	json_object_put(m);
	assert_int_equal(failures, 0);
}

static void
test_generic(void **state)
{
	struct json_object *m, *o;
	struct norm_event ev;
	char err[NORM_ERRLEN];
	const char *body;

	(void)state;
	/* Email-only subject, lower-cased; array index and ~1 escapes;
	 * values maps; integer kinds. */
	m = parse("{\"kind\":\"/ev\",\"email\":\"/p/emails/0\","
	    "\"department\":\"/p/a~1b\",\"custom.active\":\"/p/on\","
	    "\"kinds\":{\"7\":\"hire\"},\"values\":{\"department\":"
	    "{\"SUP\":\"Support\"}}}");
	assert_int_equal(normalize_check_mapping(m, err, sizeof(err)), 0);
	body = "{\"ev\":7,\"p\":{\"emails\":[\"Ana.Silva@Example.COM\",\"x\"],"
	    "\"a/b\":\"SUP\",\"on\":true}}";
	assert_int_equal(normalize("generic", m, body, strlen(body), RECEIVED,
	    &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.kind, "hire");
	assert_string_equal(ev.sender_type, "7");
	assert_string_equal(ev.subject, "email:ana.silva@example.com");
	assert_string_equal(norm_attr(&ev, "email"), "Ana.Silva@Example.COM");
	assert_string_equal(norm_attr(&ev, "department"), "Support");
	assert_string_equal(norm_attr(&ev, "custom.active"), "true");
	assert_null(norm_attr(&ev, "employee_id"));
	assert_int_equal(ev.completeness, NORM_FULL);
	assert_int_equal(ev.occurred_at, (int64_t)RECEIVED);
	norm_event_clear(&ev);
	/* Leading zeros are not array indexes: email not found. */
	body = "{\"ev\":7,\"p\":{\"emails\":[\"a@b.c\"]}}";
	json_object_object_add(m, "email", json_object_new_string(
	    "/p/emails/00"));
	assert_int_equal(normalize("generic", m, body, strlen(body), RECEIVED,
	    &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "generic: mapping: neither subject, "
	    "employee_id nor email named a value in this event");
	json_object_put(m);

	/* subject pointer wins; employee_id stays an attribute. */
	m = parse("{\"kind\":\"/type\",\"subject\":\"/who\",\"employee_id\":"
	    "\"/eid\",\"occurred_at\":\"/at\",\"kinds\":{\"t\":\"rehire\"}}");
	body = "{\"type\":\"t\",\"who\":\"P-9\",\"eid\":42,"
	    "\"at\":\"2026-03-01T10:00:00Z\"}";
	assert_int_equal(normalize("generic", m, body, strlen(body), RECEIVED,
	    &ev, err, sizeof(err)), 0);
	assert_string_equal(ev.subject, "generic:P-9");
	assert_string_equal(norm_attr(&ev, "employee_id"), "42");
	assert_int_equal(ev.occurred_at, INT64_C(1772359200));
	assert_string_equal(ev.kind, "rehire");
	o = norm_event_to_json(&ev);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(json_object_object_get(o,
	    "occurred_at")), "2026-03-01T10:00:00Z");
	json_object_put(o);
	norm_event_clear(&ev);
	/* The event type pointer names nothing: an error. */
	body = "{\"who\":\"P-9\"}";
	assert_int_equal(normalize("generic", m, body, strlen(body), RECEIVED,
	    &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "generic: kind (/type): not found in the body "
	    "(expected the event type)");
	/* An object where a value belongs. */
	body = "{\"type\":\"t\",\"who\":{\"id\":1}}";
	assert_int_equal(normalize("generic", m, body, strlen(body), RECEIVED,
	    &ev, err, sizeof(err)), -1);
	assert_string_equal(err, "generic: subject (/who): expected a string, "
	    "an integer or a boolean, found an object");
	json_object_put(m);

	/* An invalid mapping fails normalize() too. */
	m = parse("{\"kind\":\"/type\",\"employee_id\":\"/id\"}");
	assert_int_equal(normalize("generic", m, "{}", 2, RECEIVED, &ev, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "generic: mapping.kinds: expected an object "
	    "mapping the sender's event types to hire, update, terminate or "
	    "rehire, found nothing");
	json_object_put(m);
}

/* ---- normalize_check_mapping ---- */

struct mapcase {
	const char *mapping;
	const char *err;      /* NULL: valid */
};

static const struct mapcase mapcases[] = {
	{ "{\"kind\":\"/type\",\"employee_id\":\"/data/id\",\"email\":"
	  "\"/data/work_email\",\"department\":\"/data/department\","
	  "\"title\":\"/data/job_title\",\"effective_at\":"
	  "\"/data/effective_date\",\"kinds\":{\"employee.hired\":\"hire\","
	  "\"employee.terminated\":\"terminate\",\"employee.updated\":"
	  "\"update\"}}", NULL },
	{ "{\"kind\":\"\",\"subject\":\"/a~0b/~1c/0\",\"custom.cost-center.x_1\":"
	  "\"/cc\",\"kinds\":{\"a\":\"rehire\"},\"values\":{"
	  "\"custom.cost-center.x_1\":{\"1\":\"one\"}}}", NULL },
	{ "[]", "mapping: expected an object, found an array" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"kinds\":"
	  "{\"employee.hired\":\"hired\"}}", "mapping.kinds.employee.hired: "
	  "expected one of hire, update, terminate, rehire" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"kinds\":"
	  "{\"employee hired\":1}}", "mapping.kinds.\"employee hired\": "
	  "expected one of hire, update, terminate, rehire" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"kinds\":[]}",
	  "mapping.kinds: expected an object mapping the sender's event types "
	  "to hire, update, terminate or rehire, found an array" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"kinds\":{}}",
	  "mapping.kinds: empty (every event would be ignored)" },
	{ "{\"employee_id\":\"/id\",\"kinds\":{\"a\":\"hire\"}}",
	  "mapping.kind: missing (expected a JSON pointer to the sender's "
	  "event type, e.g. \"/type\")" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"data/id\",\"kinds\":"
	  "{\"a\":\"hire\"}}", "mapping.employee_id: expected a JSON pointer "
	  "(RFC 6901) such as \"/data/id\", found an invalid pointer" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/a~2\",\"kinds\":"
	  "{\"a\":\"hire\"}}", "mapping.employee_id: expected a JSON pointer "
	  "(RFC 6901) such as \"/data/id\", found an invalid pointer" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/a~\",\"kinds\":"
	  "{\"a\":\"hire\"}}", "mapping.employee_id: expected a JSON pointer "
	  "(RFC 6901) such as \"/data/id\", found an invalid pointer" },
	{ "{\"kind\":5,\"employee_id\":\"/id\",\"kinds\":{\"a\":\"hire\"}}",
	  "mapping.kind: expected a JSON pointer (RFC 6901) such as "
	  "\"/data/id\", found an integer" },
	{ "{\"kind\":\"/type\",\"emial\":\"/id\",\"kinds\":{\"a\":\"hire\"}}",
	  "mapping.emial: unknown member (expected an attribute name such as "
	  "\"email\", \"custom.<key>\", \"kind\", \"kinds\", \"values\", "
	  "\"subject\" or \"occurred_at\")" },
	{ "{\"kind\":\"/type\",\"custom.\":\"/id\",\"kinds\":{\"a\":\"hire\"}}",
	  "mapping.custom.: unknown member (expected an attribute name such "
	  "as \"email\", \"custom.<key>\", \"kind\", \"kinds\", \"values\", "
	  "\"subject\" or \"occurred_at\")" },
	{ "{\"kind\":\"/type\",\"department\":\"/d\",\"kinds\":"
	  "{\"a\":\"hire\"}}", "mapping: needs \"employee_id\", \"email\" or "
	  "\"subject\" to name the person" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"kinds\":"
	  "{\"a\":\"hire\"},\"values\":{\"foo\":{}}}", "mapping.values.foo: "
	  "expected an attribute name" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"kinds\":"
	  "{\"a\":\"hire\"},\"values\":{\"department\":{}}}",
	  "mapping.values.department: attribute has no pointer in the "
	  "mapping" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"employment_status\":"
	  "\"/s\",\"kinds\":{\"a\":\"hire\"},\"values\":{\"employment_status\":"
	  "{\"A\":1}}}", "mapping.values.employment_status.A: expected a "
	  "string, found an integer" },
	{ "{\"kind\":\"/type\",\"employee_id\":\"/id\",\"employment_status\":"
	  "\"/s\",\"kinds\":{\"a\":\"hire\"},\"values\":{\"employment_status\":"
	  "[]}}", "mapping.values.employment_status: expected an object "
	  "mapping sender values to normalised ones, found an array" },
};

static void
test_check_mapping(void **state)
{
	size_t i;
	int failures = 0;
	char err[NORM_ERRLEN];

	(void)state;
	assert_int_equal(normalize_check_mapping(NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "mapping: missing (the generic normalizer "
	    "needs the source's \"mapping\" object)");
	for (i = 0; i < sizeof(mapcases) / sizeof(mapcases[0]); i++) {
		struct json_object *m = parse(mapcases[i].mapping);
		int rc = normalize_check_mapping(m, err, sizeof(err));

		if (mapcases[i].err == NULL && rc != 0) {
			print_error("mapping %zu: rejected: %s\n", i, err);
			failures++;
		} else if (mapcases[i].err != NULL && (rc == 0 ||
		    strcmp(err, mapcases[i].err) != 0)) {
			print_error("mapping %zu: got  \"%s\"\n           want "
			    "\"%s\"\n", i, rc == 0 ? "(accepted)" : err,
			    mapcases[i].err);
			failures++;
		}
		json_object_put(m);
	}
	assert_int_equal(failures, 0);
}

/* ---- the small API ---- */

static void
test_api(void **state)
{
	const char *const *names = normalize_names();
	struct norm_event ev;
	struct json_object *o;
	char err[8];
	size_t i;

	(void)state;
	for (i = 0; names[i] != NULL; i++)
		;
	assert_int_equal(i, 9);
	assert_string_equal(names[0], "zendesk");
	assert_string_equal(names[8], "generic");

	memset(&ev, 0, sizeof(ev));
	norm_event_clear(&ev);
	norm_event_clear(NULL);
	assert_null(norm_attr(&ev, "email"));
	assert_null(norm_attr(NULL, "email"));
	o = norm_event_to_json(&ev);
	assert_non_null(o);
	assert_true(json_object_is_type(json_object_object_get(o, "attributes"),
	    json_type_object));
	assert_true(json_object_is_type(json_object_object_get(o, "changed"),
	    json_type_array));
	assert_null(json_object_object_get(o, "effective_at"));
	json_object_put(o);
	assert_null(norm_event_to_json(NULL));

	/* A short error buffer is cut, still terminated. */
	assert_int_equal(normalize("gusto", NULL, "x", 1, RECEIVED, &ev, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "gusto: ");
	assert_int_equal(normalize(NULL, NULL, "{}", 2, RECEIVED, &ev, NULL,
	    0), -1);
	assert_int_equal(normalize("gusto", NULL, "{}", 2, RECEIVED, NULL,
	    err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_check_mapping),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
