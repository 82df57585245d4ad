/*
 * normalize.h -- a verified sender payload becomes a normalised person
 * event (pure: no I/O).  See DESIGN.md "Normalised person attributes" and
 * research/hris.md section 4.
 *
 * Ownership: every string in a struct norm_event is owned by the event
 * and freed by norm_event_clear().
 */
#ifndef ROLEHOOK_NORMALIZE_H
#define ROLEHOOK_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct json_object;

#define NORM_ATTR_MAX 48
#define NORM_CHANGED_MAX 32
#define NORM_ERRLEN 256
#define NORM_VALUE_MAX 1024 /* bytes of one attribute value */

/* How much of the person the payload carried (research/hris.md 4.1). */
enum norm_completeness {
	NORM_FULL = 0,   /* the attributes policy needs are present */
	NORM_PARTIAL,    /* some attributes, e.g. only the changed ones */
	NORM_IDS_ONLY    /* a thin event: ids only; needs enrichment */
};

struct norm_attr {
	char *key;   /* employee_id, email, external_id, name, department,
	              * title, location, employment_status, manager_email,
	              * effective_at, or custom.<key> */
	char *value; /* UTF-8 text as sent (dates as YYYY-MM-DD or RFC 3339) */
};

struct norm_event {
	/*
	 * "hire", "update", "terminate", "rehire", "zendesk.<type>"
	 * (e.g. "zendesk.user.role_changed"), or "ignored" for event types
	 * the normaliser does not act on (stored and marked, never an error
	 * to the sender).
	 */
	char *kind;
	char *sender_type;         /* the sender's own event type, or NULL */
	char *ignored_reason;      /* when kind is "ignored" */
	/*
	 * Subject key: one person, stable across that sender's events.
	 * "<normalizer>:<employee id>" for HR senders, "zendesk:<user id>"
	 * for Zendesk, "email:<lower-case address>" when only an e-mail is
	 * known.  NULL when the payload names nobody (then kind is
	 * "ignored").
	 */
	char *subject;
	int64_t effective_at;      /* unix seconds; 0 when not known */
	int64_t occurred_at;       /* sender's event time; 0 when not known */
	enum norm_completeness completeness;
	struct norm_attr attrs[NORM_ATTR_MAX];
	size_t nattrs;
	char *changed[NORM_CHANGED_MAX]; /* normalised names of changed fields */
	size_t nchanged;
	/* Zendesk events: the user id and the change, when the event has one. */
	int64_t zendesk_user_id;   /* 0 if none */
	char *previous;            /* event.previous as JSON text, or NULL */
	char *current;             /* event.current as JSON text, or NULL */
	/*
	 * Non-zero when the payload named more unknown sender fields than
	 * fit (custom.* attributes or changed names beyond the limits); the
	 * rest were dropped.  Known attributes always fit.
	 */
	int truncated;
};

/*
 * Normalises body[0..len) with the named normaliser: "zendesk",
 * "bamboohr", "hibob", "personio", "gusto", "deel", "merge", "finch" or
 * "generic".  mapping is the source's "mapping" object (generic only;
 * borrowed, may be NULL otherwise).  signed_at (the sender's signed
 * timestamp, 0 if the signature covers none) is the occurred_at of a
 * payload that carries no time; with 0 occurred_at stays 0, so no
 * unsigned time (the receive time) can order events.  On success returns 0 and fills *out (caller clears
 * it with norm_event_clear).  Returns -1 with err filled (naming the
 * field) when the body is not what that sender sends; an unknown event
 * type is not an error: it returns 0 with kind "ignored".  *out is
 * overwritten without being freed first, and is left zeroed on failure.
 * Limits: json-c depth 32, attribute values NORM_VALUE_MAX bytes, ids
 * 256 visible ASCII bytes; exceeding one is an error naming the field.
 */
int normalize(const char *normalizer, const struct json_object *mapping,
    const char *body, size_t len, time_t signed_at, struct norm_event *out,
    char *err, size_t errlen);

/*
 * As normalize(), for senders that batch several people in one delivery
 * (BambooHR field-based webhooks: {"employees": [...]}): normalises entry
 * index (0-based) and stores the number of entries in *count (1 for
 * every other sender).  normalize() fails with an error naming the count
 * when a delivery holds more than one person; a worker that wants to
 * process such a batch calls this once per index.  index >= *count is an
 * error (*count is still filled when the body parsed).
 */
int normalize_nth(const char *normalizer, const struct json_object *mapping,
    const char *body, size_t len, time_t signed_at, size_t index,
    struct norm_event *out, size_t *count, char *err, size_t errlen);

/*
 * Checks a generic mapping object (for `rolehook check`).  Returns 0, or
 * -1 with err naming the member, e.g. "mapping.kinds: expected an object".
 */
int normalize_check_mapping(const struct json_object *mapping, char *err,
    size_t errlen);

/* NULL-terminated list of normaliser names. */
const char *const *normalize_names(void);

/* Returns the value of attribute key, or NULL.  Borrowed. */
const char *norm_attr(const struct norm_event *ev, const char *key);

/*
 * Returns a new JSON object (caller puts it) in the shape `simulate`
 * prints: {"kind", "subject", "sender_type", "effective_at" (RFC 3339 or
 * null), "completeness", "attributes": {...}, "changed": [...], ...}.
 */
struct json_object *norm_event_to_json(const struct norm_event *ev);

/* Frees what *ev owns and zeroes it.  Safe on a zeroed struct. */
void norm_event_clear(struct norm_event *ev);

#endif
