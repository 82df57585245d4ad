/*
 * people.c -- one person of a PEOPLE.json HR export (normalised
 * attributes, as `simulate --all` and `reconcile --people` take them)
 * into a norm_event.  Pure: it takes parsed JSON, does no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/normalize.h"
#include "rolehook/people.h"
#include "rolehook/strv.h"

static const char *const attr_names[] = {
	"employee_id", "email", "external_id", "name", "department", "title",
	"location", "employment_status", "manager_email", "effective_at", NULL
};

void
people_clear(struct norm_event *ev)
{
	size_t i;

	free(ev->kind);
	free(ev->subject);
	for (i = 0; i < ev->nattrs; i++) {
		free(ev->attrs[i].key);
		free(ev->attrs[i].value);
	}
	memset(ev, 0, sizeof(*ev));
}

static int
valid_attr(const char *k)
{
	if (strv_index(attr_names, k) >= 0)
		return 1;
	return strncmp(k, "custom.", 7) == 0 && k[7] != '\0' && strlen(k) < 256;
}

static int
person_add(struct norm_event *ev, const char *k, const char *v)
{
	if (ev->nattrs >= NORM_ATTR_MAX)
		return -1;
	ev->attrs[ev->nattrs].key = strdup(k);
	ev->attrs[ev->nattrs].value = strdup(v);
	ev->nattrs++;
	return ev->attrs[ev->nattrs - 1].key == NULL ||
	    ev->attrs[ev->nattrs - 1].value == NULL ? -1 : 0;
}

static int
parse_person(struct json_object *p, size_t idx, struct norm_event *ev,
    char *err, size_t errlen)
{
	static const char *const kinds[] = { "hire", "update", "terminate",
		"rehire", NULL };
	const char *kind = "update", *id, *s;
	char key[300], subj[320];
	size_t i;
	int ki;

	memset(ev, 0, sizeof(*ev));
	if (!json_object_is_type(p, json_type_object)) {
		snprintf(err, errlen, "[%zu]: expected an object of normalised "
		    "attributes", idx);
		return -1;
	}
	json_object_object_foreach(p, k, v) {
		if (strcmp(k, "kind") == 0) {
			s = json_object_is_type(v, json_type_string) ?
			    json_object_get_string(v) : "";
			if ((ki = strv_index(kinds, s)) < 0) {
				snprintf(err, errlen, "[%zu].kind: expected hire, "
				    "update, terminate or rehire", idx);
				return -1;
			}
			kind = kinds[ki];
			continue;
		}
		if (strcmp(k, "custom") == 0 &&
		    json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, ck, cv) {
				/* the same rule as a top-level "custom.<key>" */
				snprintf(key, sizeof(key), "custom.%.250s", ck);
				if (strlen(ck) > 250 || !valid_attr(key)) {
					snprintf(err, errlen, "[%zu].custom.%.64s: "
					    "expected a key of 1 to 248 bytes",
					    idx, ck);
					return -1;
				}
				if (!json_object_is_type(cv, json_type_string)) {
					snprintf(err, errlen, "[%zu].custom.%.64s: "
					    "expected a string", idx, ck);
					return -1;
				}
				if (person_add(ev, key,
				    json_object_get_string(cv)) != 0)
					goto toomany;
			}
			continue;
		}
		if (!valid_attr(k)) {
			snprintf(err, errlen, "[%zu].%.64s: unknown attribute; "
			    "expected employee_id, email, external_id, name, "
			    "department, title, location, employment_status, "
			    "manager_email, effective_at, custom.<key> or kind",
			    idx, k);
			return -1;
		}
		if (v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(err, errlen, "[%zu].%.64s: expected a string",
			    idx, k);
			return -1;
		}
		if (person_add(ev, k, json_object_get_string(v)) != 0)
			goto toomany;
	}
	if ((ev->kind = strdup(kind)) == NULL)
		goto toomany;
	id = NULL;
	for (i = 0; i < ev->nattrs; i++)
		if (strcmp(ev->attrs[i].key, "employee_id") == 0)
			id = ev->attrs[i].value;
	if (id != NULL)
		snprintf(subj, sizeof(subj), "people:%.300s", id);
	else
		snprintf(subj, sizeof(subj), "people:#%zu", idx);
	if ((ev->subject = strdup(subj)) == NULL)
		goto toomany;
	ev->completeness = NORM_FULL;
	return 0;
toomany:
	snprintf(err, errlen, "[%zu]: more than %d attributes or out of memory",
	    idx, NORM_ATTR_MAX);
	return -1;
}

/* Contract in people.h: on failure nothing is left to free. */
int
people_from_json(struct json_object *p, size_t idx, struct norm_event *ev,
    char *err, size_t errlen)
{
	if (parse_person(p, idx, ev, err, errlen) != 0) {
		people_clear(ev);
		return -1;
	}
	return 0;
}
