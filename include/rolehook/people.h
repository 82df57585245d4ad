/*
 * people.h -- the PEOPLE.json reader: one person of an HR export, an
 * object of normalised attributes, as a norm_event (pure).
 */
#ifndef ROLEHOOK_PEOPLE_H
#define ROLEHOOK_PEOPLE_H

#include <stddef.h>

struct json_object;
struct norm_event;

/*
 * Element idx of a PEOPLE.json array: an object of normalised attributes
 * (employee_id, email, department, ..., custom, kind) becomes *ev, kind
 * "update" unless given, subject "people:<employee_id>" (or
 * "people:#<idx>").  p is borrowed.  Returns 0 (free *ev with
 * people_clear), or -1 with err "[idx].key: ..." and *ev empty
 * (nothing to free).
 */
int people_from_json(struct json_object *p, size_t idx,
    struct norm_event *ev, char *err, size_t errlen);

/* Frees what people_from_json put in *ev and zeroes it. */
void people_clear(struct norm_event *ev);

#endif
