/*
 * normalize_fuzzer.c -- libFuzzer target for normalize().
 *
 * The first byte picks the normaliser (index into normalize_names(), the
 * generic one with a fixed mapping); selector 9 instead takes the rest as
 * a generic mapping, checks it with normalize_check_mapping() and, when
 * valid, normalises the same bytes with it (pointers into themselves).
 * The rest of the input is the body.  Besides memory safety it checks the
 * contract: an error is "<normaliser>: message", NUL-terminated, with the
 * event left cleared; an event has a known kind, a subject unless
 * ignored, bounded attributes, and always serialises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/normalize.h"

#define RECEIVED ((time_t)1767225600)
#define SELECTORS 10

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_mapping[] = "{\"kind\":\"/type\","
    "\"employee_id\":\"/data/id\",\"email\":\"/data/work_email\","
    "\"department\":\"/data/department\",\"title\":\"/data/job_title\","
    "\"location\":\"/data/office\",\"employment_status\":\"/data/status\","
    "\"manager_email\":\"/data/manager/email\","
    "\"effective_at\":\"/data/effective_date\","
    "\"custom.cost_center\":\"/data/cost_center\","
    "\"subject\":\"/data/ids/0\",\"occurred_at\":\"/at\","
    "\"kinds\":{\"employee.hired\":\"hire\","
    "\"employee.terminated\":\"terminate\",\"employee.updated\":\"update\","
    "\"employee.rehired\":\"rehire\"},"
    "\"values\":{\"employment_status\":{\"A\":\"active\","
    "\"T\":\"terminated\"}}}";

static int
known_kind(const char *normalizer, const char *kind)
{
	static const char *const kinds[] = { "hire", "update", "terminate",
		"rehire", "ignored", NULL };
	size_t i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(kinds[i], kind) == 0)
			return 1;
	return strcmp(normalizer, "zendesk") == 0 &&
	    strncmp(kind, "zendesk.user.", 13) == 0 && kind[13] != '\0';
}

static void
check(const char *normalizer, int rc, struct norm_event *ev,
    const char *err)
{
	struct json_object *o;
	size_t i, n = strlen(normalizer);

	if (rc != 0) {
		if (memchr(err, '\0', NORM_ERRLEN) == NULL ||
		    strncmp(err, normalizer, n) != 0 || err[n] != ':' ||
		    ev->kind != NULL || ev->nattrs != 0 || ev->subject != NULL)
			abort();
		return;
	}
	if (ev->kind == NULL || !known_kind(normalizer, ev->kind))
		abort();
	if (strcmp(ev->kind, "ignored") == 0) {
		if (ev->ignored_reason == NULL)
			abort();
	} else if (ev->subject == NULL || ev->ignored_reason != NULL)
		abort();
	if (ev->nattrs > NORM_ATTR_MAX || ev->nchanged > NORM_CHANGED_MAX ||
	    (unsigned)ev->completeness > NORM_IDS_ONLY)
		abort();
	for (i = 0; i < ev->nattrs; i++)
		if (ev->attrs[i].key == NULL || ev->attrs[i].value == NULL ||
		    strlen(ev->attrs[i].value) > NORM_VALUE_MAX ||
		    norm_attr(ev, ev->attrs[i].key) == NULL)
			abort();
	for (i = 0; i < ev->nchanged; i++)
		if (ev->changed[i] == NULL)
			abort();
	if ((o = norm_event_to_json(ev)) == NULL ||
	    json_object_to_json_string(o) == NULL)
		abort();
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_object *mapping;
	const char *const *names = normalize_names();
	const char *body = (const char *)data + 1, *name;
	struct json_object *m = NULL;
	struct norm_event ev;
	char err[NORM_ERRLEN];
	size_t len, count = 0, i;
	unsigned sel;
	int rc;

	if (size < 1)
		return 0;
	if (mapping == NULL &&
	    (mapping = json_tokener_parse(fixed_mapping)) == NULL)
		abort();
	if (normalize_check_mapping(mapping, err, sizeof(err)) != 0)
		abort();
	sel = data[0] % SELECTORS;
	len = size - 1;
	memset(err, 'x', sizeof(err));

	if (sel == 9) {
		json_tokener *tok = json_tokener_new_ex(32);

		if (tok == NULL)
			abort();
		m = json_tokener_parse_ex(tok, body, (int)(len < 65536 ?
		    len : 65536));
		json_tokener_free(tok);
		rc = normalize_check_mapping(m, err, sizeof(err));
		if (rc != 0) {
			if (memchr(err, '\0', sizeof(err)) == NULL ||
			    strncmp(err, "mapping", 7) != 0)
				abort();
		} else {
			rc = normalize("generic", m, body, len, RECEIVED, &ev,
			    err, sizeof(err));
			check("generic", rc, &ev, err);
			norm_event_clear(&ev);
		}
		json_object_put(m);
		return 0;
	}

	name = names[sel];
	rc = normalize(name, mapping, body, len, RECEIVED, &ev, err,
	    sizeof(err));
	check(name, rc, &ev, err);
	norm_event_clear(&ev);

	/* A batch: every entry on its own. */
	if (strcmp(name, "bamboohr") == 0) {
		for (i = 0; i < 4; i++) {
			memset(err, 'x', sizeof(err));
			rc = normalize_nth(name, NULL, body, len, RECEIVED, i,
			    &ev, &count, err, sizeof(err));
			check(name, rc, &ev, err);
			norm_event_clear(&ev);
			if (i + 1 >= count)
				break;
		}
	}
	return 0;
}
