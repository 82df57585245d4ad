/*
 * decide.c -- stored event -> normalised events -> policy decision ->
 * plan, the one path `work`, `simulate`, `events replay` and `reconcile`
 * share (decide.h).  Pure: no I/O.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/normalize.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"
#include "rolehook/store.h"

const char *
decide_normalizer(const struct config *cfg, const char *source,
    const struct json_object **mapping)
{
	const struct config_source *src;
	json_object *m = NULL;

	*mapping = NULL;
	src = config_source_find(cfg, source, strlen(source));
	if (src == NULL)
		return NULL;
	if (src->raw != NULL)
		json_object_object_get_ex(src->raw, "mapping", &m);
	*mapping = m;
	return src->normalizer != NULL ? src->normalizer : src->scheme.preset;
}

int
decide_body(const struct config *cfg, const char *source, const char *body,
    size_t len, time_t signed_at, size_t index, struct norm_event *ev,
    size_t *count, char *err, size_t errlen)
{
	const struct json_object *mapping;
	const char *normalizer;
	char nerr[NORM_ERRLEN];
	size_t n = 1;

	memset(ev, 0, sizeof(*ev));
	if (count != NULL)
		*count = 1;
	if ((normalizer = decide_normalizer(cfg, source, &mapping)) == NULL) {
		snprintf(err, errlen, "source \"%s\" is not in the "
		    "configuration any more", source);
		return -1;
	}
	if (normalize_nth(normalizer, mapping, body, len, signed_at, index,
	    ev, &n, nerr, sizeof(nerr)) != 0) {
		if (count != NULL)
			*count = n;
		snprintf(err, errlen, "normaliser %s: %s", normalizer, nerr);
		return -1;
	}
	if (count != NULL)
		*count = n;
	return 0;
}

int
decide_event(const struct config *cfg, const struct store_event *row,
    struct norm_event *ev, size_t *count, char *err, size_t errlen)
{
	const struct json_object *mapping;
	size_t n = 1;
	int rc;

	rc = decide_body(cfg, row->source, (const char *)row->body,
	    row->body_len, row->signed_at, row->batched ? row->batch_index : 0,
	    ev, &n, err, errlen);
	if (rc == 0 && !row->batched && n > 1) {
		norm_event_clear(ev);
		snprintf(err, errlen, "normaliser %s: a batch of %zu people "
		    "not split into one event each", decide_normalizer(cfg,
		    row->source, &mapping), n);
		rc = -1;
	}
	if (count != NULL)
		*count = n;
	return rc;
}

int
decide_each(const struct config *cfg, const char *source, const char *body,
    size_t len, time_t signed_at, decide_person_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct norm_event ev;
	size_t count = 1, i;
	int r;

	for (i = 0; i < count; i++) {
		if (decide_body(cfg, source, body, len, signed_at, i, &ev,
		    &count, err, errlen) != 0)
			return -1;
		r = fn(arg, i, count, &ev);
		norm_event_clear(&ev);
		if (r != 0)
			return r;
	}
	return 0;
}

int
decide_is_person(const struct norm_event *ev)
{
	return ev->kind != NULL && ev->subject != NULL &&
	    strcmp(ev->kind, "ignored") != 0 &&
	    strncmp(ev->kind, "zendesk.", 8) != 0;
}

/*
 * Enrichment (reading the person from the sender's API) is not
 * implemented (docs/operations.md, "Not implemented"), so a thin event
 * has nothing for the rules to look at but ids.
 */
int
decide_is_thin(const struct norm_event *ev, const char **why)
{
	int thin = decide_is_person(ev) &&
	    ev->completeness == NORM_IDS_ONLY &&
	    strcmp(ev->kind, "terminate") != 0;

	if (why != NULL)
		*why = thin ? DECIDE_THIN_REASON : NULL;
	return thin;
}

/*
 * policy.match_users_by: a key the policy does not list is not used to
 * find the person (the client always tries external_id before email).
 */
void
decide_match_keys(const struct policy *pol, const struct norm_event *ev,
    const char **external_id, const char **email)
{
	const char *const *keys;
	size_t n, i;
	int use_ext = 0, use_email = 0;

	keys = policy_match_users_by(pol, &n);
	for (i = 0; i < n; i++) {
		if (strcmp(keys[i], "external_id") == 0)
			use_ext = 1;
		else if (strcmp(keys[i], "email") == 0)
			use_email = 1;
	}
	*external_id = NULL;
	*email = NULL;
	if (use_ext && (*external_id = norm_attr(ev, "external_id")) == NULL)
		*external_id = norm_attr(ev, "employee_id");
	if (use_email)
		*email = norm_attr(ev, "email");
}

void
decide_policy(const struct policy *pol, const struct norm_event *ev,
    const struct json_object *current, struct policy_decision *d)
{
	const char *uemail, *uxid;

	/* policy_evaluate checks the event's subject, email, external_id. */
	policy_evaluate(pol, ev, d);
	plan_user_of(current, &uemail, &uxid);
	if (policy_is_protected(pol, uemail, uxid, ev->subject))
		d->is_protected = 1;
}

int
decide_plan(const struct policy *pol, const struct norm_event *ev,
    const struct json_object *current, const struct json_object *roles,
    const struct json_object *groups, const struct json_object *snapshot,
    const struct plan_opts *opts, struct policy_decision *d,
    struct plan **out, char *err, size_t errlen)
{
	decide_policy(pol, ev, current, d);
	return plan_build(d, ev, current, roles, groups, snapshot, opts, out,
	    err, errlen);
}

/* ----------------------------------------------------------- ordering */

/* HR dates are days: a whole day older than the newest is stale. */
#define STALE_SLACK_S 86399

time_t
decide_time(const struct norm_event *ev)
{
	if (ev->effective_at > 0)
		return (time_t)ev->effective_at;
	if (ev->occurred_at > 0)
		return (time_t)ev->occurred_at;
	return 0;
}

static int
kind_is(const struct norm_event *ev, const char *kind)
{
	return ev->kind != NULL && strcmp(ev->kind, kind) == 0;
}

/*
 * Whether a decision (occurred time at, event id) came before another
 * (at2, id2): by the signed times when both have one (the same second:
 * by arrival), else by arrival.
 */
static int
decided_before(time_t at, int64_t id, time_t at2, int64_t id2)
{
	if (at > 0 && at2 > 0 && at != at2)
		return at < at2;
	return id < id2;
}

/*
 * Whether ev gives a leaver access back when decided after the leave: a
 * hire, a rehire, or an update saying the person is active again (an
 * employment_status of "active", any case: Merge, Personio and others
 * send a reactivation as an update).
 */
static int
lifts_leave(const struct norm_event *ev)
{
	const char *st;

	if (kind_is(ev, "hire") || kind_is(ev, "rehire"))
		return 1;
	return kind_is(ev, "update") &&
	    (st = norm_attr(ev, "employment_status")) != NULL &&
	    strcasecmp(st, "active") == 0;
}

enum decide_order
decide_order(const struct store_subject *subj, const struct norm_event *ev,
    int64_t id, char *note, size_t notelen)
{
	time_t at = (time_t)ev->occurred_at, evtime = decide_time(ev);
	int lifts = lifts_leave(ev), by_time;
	/* An update that ends a leave is applied as the rehire it is. */
	enum decide_order ok = subj->left_event > 0 && lifts &&
	    kind_is(ev, "update") ? DECIDE_REHIRE : DECIDE_APPLY;

	if (subj->key == NULL)
		return DECIDE_APPLY;
	if (kind_is(ev, "terminate")) {
		/*
		 * Never stale by date: a leave is often entered after its
		 * effective date, and removing access raises nobody.  Only a
		 * hire or rehire decided after it, already applied, wins.
		 */
		if (subj->hired_event > 0 && decided_before(at, id,
		    subj->hired_at, subj->hired_event)) {
			snprintf(note, notelen, "stale: decided before event %"
			    PRId64 " (a hire or rehire) that was applied for "
			    "this person", subj->hired_event);
			return DECIDE_STALE;
		}
		return DECIDE_APPLY;
	}
	if (subj->left_event > 0 && lifts && decided_before(at, id,
	    subj->left_at, subj->left_event)) {
		snprintf(note, notelen, "stale: decided before this person's "
		    "leave (event %" PRId64 ")", subj->left_event);
		return DECIDE_STALE;
	}
	if (subj->left_event > 0 && !lifts && kind_is(ev, "update")) {
		snprintf(note, notelen, "left: event %" PRId64 " applied this "
		    "person's leave; an update gives no access back (a hire, "
		    "a rehire or an update to an active employment_status "
		    "does; or rolehook events approve)", subj->left_event);
		return DECIDE_LEFT;
	}
	if (subj->last_effective <= 0)
		return ok;
	/*
	 * A hire after a leave is placed by when both were decided (above),
	 * not by a start date that may lie before the leave's date; where
	 * either has no signed time, the date rule still holds.
	 */
	by_time = at > 0 && subj->left_at > 0;
	if (evtime > 0 && !(lifts && subj->left_event > 0 && by_time) &&
	    subj->last_effective > evtime + STALE_SLACK_S) {
		snprintf(note, notelen, "stale: event %" PRId64 " for this "
		    "person took effect later", subj->last_event_id);
		return DECIDE_STALE;
	}
	if (evtime == 0) {
		snprintf(note, notelen, "stale: no signed time, and event %"
		    PRId64 " for this person applied a signed one; an event "
		    "without a signed time never overrides it",
		    subj->last_event_id);
		return DECIDE_STALE;
	}
	return ok;
}

void
decide_applied(const struct store_subject *old, const struct norm_event *ev,
    int64_t id, int how, struct store_subject *out)
{
	time_t evtime = decide_time(ev), at = (time_t)ev->occurred_at;

	*out = *old;
	out->last_event_id = id;
	if (evtime > out->last_effective)
		out->last_effective = evtime;
	if (kind_is(ev, "terminate") && (how & DECIDE_AS_LEAVER)) {
		/* The newest leave stands (an older one retried later). */
		if (id > out->left_event)
			out->left_event = id;
		if (at > out->left_at)
			out->left_at = at;
	} else if (lifts_leave(ev) || (how & DECIDE_AS_HIRE)) {
		out->left_event = 0;
		out->left_at = 0;
		out->hired_event = id;
		out->hired_at = at;
	}
}
