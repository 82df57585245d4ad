/*
 * test_decide.c -- the one decide path: a stored event or a body
 * normalised per person (a BambooHR batch is every entry, a split child
 * its own entry, an unsplit batch an error), the match keys per
 * policy.match_users_by, the thin rule (an ids-only event that is not
 * a terminate is not decided by policy: decide_is_thin), and the
 * protected check (table): the event's subject, e-mail and external id
 * and the Zendesk user's e-mail and external id each protect, the same
 * for every caller (work, simulate, replay and reconcile all call
 * decide_plan / decide_policy, and decide_is_thin before them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/normalize.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"
#include "rolehook/store.h"

static const char config_text[] =
    "{ \"store\": { \"path\": \"/tmp/test_decide.db\" },\n"
    "  \"sources\": {\n"
    "    \"hr\": { \"preset\": \"standard-webhooks\", \"normalizer\": \"generic\",\n"
    "      \"secrets\": [\"env:RH_T_DECIDE\"],\n"
    "      \"mapping\": { \"kind\": \"/type\", \"employee_id\": \"/data/id\",\n"
    "        \"external_id\": \"/data/xid\", \"email\": \"/data/email\",\n"
    "        \"department\": \"/data/department\",\n"
    "        \"kinds\": { \"hired\": \"hire\", \"updated\": \"update\",\n"
    "                   \"terminated\": \"terminate\" } } },\n"
    "    \"bamboo\": { \"preset\": \"bamboohr\", \"secrets\": [\"env:RH_T_DECIDE\"] }\n"
    "  },\n"
    "  \"policy\": { \"protected\": [\"owner@example.com\", \"X-OWNER\",\n"
    "      \"generic:E-PROT\"],\n"
    "    \"rules\": [ { \"name\": \"support\", \"when\": { \"department\": \"Support\" },\n"
    "      \"then\": { \"role\": \"admin\" } },\n"
    "      { \"name\": \"rest\", \"when\": {}, \"then\": { \"role\": \"end-user\" } } ] }\n"
    "}\n";

static const char batch3[] =
    "{\"employees\": ["
    "{\"action\": \"Updated\", \"changedFields\": [\"First Name\"],"
    " \"fields\": {\"First Name\": \"A\"}, \"id\": \"1\"},"
    "{\"action\": \"Updated\", \"changedFields\": [\"First Name\"],"
    " \"fields\": {\"First Name\": \"B\"}, \"id\": \"2\"},"
    "{\"action\": \"Updated\", \"changedFields\": [\"First Name\"],"
    " \"fields\": {\"First Name\": \"C\"}, \"id\": \"3\"}]}";

struct fx {
	struct config *cfg;
	struct policy *pol;
};

static int
setup(void **state)
{
	static struct fx fx;
	json_object *p;
	char err[CONFIG_ERRLEN];

	if (config_parse(config_text, sizeof(config_text) - 1, "test.json",
	    CONFIG_SECRETS_SKIP, &fx.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	if (!json_object_object_get_ex(fx.cfg->root, "policy", &p) ||
	    policy_compile(p, &fx.pol, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		return -1;
	}
	*state = &fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	policy_free(fx->pol);
	config_free(fx->cfg);
	return 0;
}

/* A generic-source body for one person. */
static void
body_of(char *buf, size_t cap, const char *type, const char *id,
    const char *xid, const char *email, const char *dept)
{
	snprintf(buf, cap, "{\"type\": \"%s\", \"data\": {\"id\": \"%s\", "
	    "\"xid\": \"%s\", \"email\": \"%s\", \"department\": \"%s\"}}",
	    type, id, xid, email, dept);
}

/* ------------------------------------------------------- normalising */

static void
test_normalizer_and_unknown_source(void **state)
{
	struct fx *fx = *state;
	const struct json_object *m;
	struct norm_event ev;
	char err[DECIDE_ERRLEN];
	size_t n = 99;

	assert_string_equal(decide_normalizer(fx->cfg, "hr", &m), "generic");
	assert_non_null(m);
	assert_string_equal(decide_normalizer(fx->cfg, "bamboo", &m),
	    "bamboohr");
	assert_null(m);
	assert_null(decide_normalizer(fx->cfg, "gone", &m));
	assert_int_equal(decide_body(fx->cfg, "gone", "{}", 2, 0, 0, &ev, &n,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "source \"gone\" is not in the "
	    "configuration any more");
	assert_int_equal(n, 1);
	assert_null(ev.kind);
}

struct seen {
	size_t n, count;
	char ids[4][16];
	int stop_at;
};

static int
collect(void *arg, size_t index, size_t count, const struct norm_event *ev)
{
	struct seen *s = arg;
	const char *id = norm_attr(ev, "employee_id");

	assert_int_equal(index, s->n);
	s->count = count;
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", id ? id : "?");
	s->n++;
	return s->stop_at > 0 && (int)s->n == s->stop_at ? 7 : 0;
}

static void
test_each_person_of_a_batch(void **state)
{
	struct fx *fx = *state;
	struct seen s;
	char err[DECIDE_ERRLEN];

	memset(&s, 0, sizeof(s));
	assert_int_equal(decide_each(fx->cfg, "bamboo", batch3,
	    sizeof(batch3) - 1, 0, collect, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.ids[0], "1");
	assert_string_equal(s.ids[1], "2");
	assert_string_equal(s.ids[2], "3");

	/* The callback's non-zero return stops the walk and is returned. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(decide_each(fx->cfg, "bamboo", batch3,
	    sizeof(batch3) - 1, 0, collect, &s, err, sizeof(err)), 7);
	assert_int_equal(s.n, 2);

	/* A body that does not normalise names the normaliser. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(decide_each(fx->cfg, "bamboo", "[1]", 3, 0, collect,
	    &s, err, sizeof(err)), -1);
	assert_int_equal(s.n, 0);
	assert_memory_equal(err, "normaliser bamboohr: ", 21);
}

static void
test_stored_event_batch_and_child(void **state)
{
	struct fx *fx = *state;
	struct store_event row;
	struct norm_event ev;
	char err[DECIDE_ERRLEN];
	size_t n = 0;

	memset(&row, 0, sizeof(row));
	row.source = (char *)"bamboo";
	row.body = (unsigned char *)batch3;
	row.body_len = sizeof(batch3) - 1;
	/* Not split yet: an error, and the count for store_split. */
	assert_int_equal(decide_event(fx->cfg, &row, &ev, &n, err,
	    sizeof(err)), -1);
	assert_int_equal(n, 3);
	assert_string_equal(err, "normaliser bamboohr: a batch of 3 people "
	    "not split into one event each");
	assert_null(ev.kind);

	/* A split child is its own entry. */
	row.batched = 1;
	row.batch_index = 1;
	assert_int_equal(decide_event(fx->cfg, &row, &ev, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(norm_attr(&ev, "employee_id"), "2");
	assert_int_equal(decide_is_person(&ev), 1);
	norm_event_clear(&ev);

	row.batch_index = 3;
	assert_int_equal(decide_event(fx->cfg, &row, &ev, &n, err,
	    sizeof(err)), -1);
}

static void
test_is_person(void **state)
{
	struct norm_event ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (char *)"update";
	ev.subject = (char *)"generic:E1";
	assert_int_equal(decide_is_person(&ev), 1);
	ev.kind = (char *)"ignored";
	assert_int_equal(decide_is_person(&ev), 0);
	ev.kind = (char *)"zendesk.user.role_changed";
	assert_int_equal(decide_is_person(&ev), 0);
	ev.kind = (char *)"terminate";
	ev.subject = NULL;
	assert_int_equal(decide_is_person(&ev), 0);
}

/*
 * The thin rule (decide_is_thin), which work, simulate, replay --policy
 * and reconcile all apply: a person event carrying ids only is not
 * decided by policy, unless it is a terminate.
 */
static void
test_is_thin(void **state)
{
	static const struct {
		const char *kind, *subject;
		enum norm_completeness completeness;
		int thin;
	} cases[] = {
		{ "update", "gusto:G1", NORM_IDS_ONLY, 1 },
		{ "hire", "hibob:H1", NORM_IDS_ONLY, 1 },
		{ "rehire", "gusto:G1", NORM_IDS_ONLY, 1 },
		/* The leaver steps need no attributes. */
		{ "terminate", "gusto:G1", NORM_IDS_ONLY, 0 },
		{ "update", "hibob:H1", NORM_PARTIAL, 0 },
		{ "hire", "merge:M1", NORM_FULL, 0 },
		/* Not a person event: ignored for its own reason. */
		{ "ignored", "gusto:G1", NORM_IDS_ONLY, 0 },
		{ "zendesk.user.photo_changed", "zendesk:7", NORM_IDS_ONLY, 0 },
		{ "update", NULL, NORM_IDS_ONLY, 0 },
	};
	struct norm_event ev;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = (char *)cases[i].kind;
		ev.subject = (char *)cases[i].subject;
		ev.completeness = cases[i].completeness;
		why = "unset";
		if (decide_is_thin(&ev, &why) != cases[i].thin)
			fail_msg("case %zu (%s): expected %d", i, cases[i].kind,
			    cases[i].thin);
		if (cases[i].thin)
			assert_string_equal(why, "thin event (ids only): the "
			    "sender did not say what changed; nothing to apply");
		else
			assert_null(why);
		/* why may be NULL. */
		assert_int_equal(decide_is_thin(&ev, NULL), cases[i].thin);
	}
}

/* The rule on normalised bodies: BambooHR's event-based webhooks. */
static void
test_thin_bodies(void **state)
{
	static const struct {
		const char *body;
		int thin;
	} cases[] = {
		/* Event-based: changedFields only. */
		{ "{\"type\": \"employee.updated\", \"data\": {\"employeeId\":"
		  " \"67890\", \"changedFields\": [\"firstName\"]}}", 1 },
		/* Event-based with values: a terminate is applied. */
		{ "{\"type\": \"employee.updated\", \"data\": {\"employeeId\":"
		  " \"67890\", \"changedFields\": [\"status\"], \"fields\":"
		  " {\"status\": {\"value\": \"Inactive\"}}}}", 0 },
		/* Field-based: the values came with it. */
		{ "{\"employees\": [{\"action\": \"Updated\", \"id\": \"1\","
		  " \"changedFields\": [\"Department\"], \"fields\":"
		  " {\"Department\": \"Support\"}}]}", 0 },
	};
	struct fx *fx = *state;
	struct norm_event ev;
	char err[DECIDE_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (decide_body(fx->cfg, "bamboo", cases[i].body,
		    strlen(cases[i].body), 0, 0, &ev, NULL, err,
		    sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		if (decide_is_thin(&ev, NULL) != cases[i].thin)
			fail_msg("case %zu (%s, completeness %d): expected %d", i,
			    ev.kind, (int)ev.completeness, cases[i].thin);
		norm_event_clear(&ev);
	}
}

/* -------------------------------------------------------- match keys */

static void
test_match_keys(void **state)
{
	static const struct {
		const char *match;      /* match_users_by JSON, or NULL */
		const char *xid, *empid, *email;
		const char *want_ext, *want_email;
	} cases[] = {
		{ NULL, "X1", "E1", "a@x", "X1", "a@x" },
		{ NULL, NULL, "E1", "a@x", "E1", "a@x" },
		{ "[\"email\"]", "X1", "E1", "a@x", NULL, "a@x" },
		{ "[\"external_id\"]", "X1", "E1", "a@x", "X1", NULL },
		{ "[\"external_id\"]", NULL, NULL, "a@x", NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy *pol = NULL;
		struct norm_event ev;
		json_object *p;
		const char *ext, *email;
		char text[256], err[POLICY_ERRLEN];
		size_t k = 0;

		snprintf(text, sizeof(text), "{%s%s%s \"rules\": []}",
		    cases[i].match ? "\"match_users_by\": " : "",
		    cases[i].match ? cases[i].match : "",
		    cases[i].match ? "," : "");
		p = json_tokener_parse(text);
		assert_non_null(p);
		assert_int_equal(policy_compile(p, &pol, err, sizeof(err)), 0);
		memset(&ev, 0, sizeof(ev));
		ev.kind = (char *)"update";
		if (cases[i].xid) {
			ev.attrs[k].key = (char *)"external_id";
			ev.attrs[k++].value = (char *)cases[i].xid;
		}
		if (cases[i].empid) {
			ev.attrs[k].key = (char *)"employee_id";
			ev.attrs[k++].value = (char *)cases[i].empid;
		}
		ev.attrs[k].key = (char *)"email";
		ev.attrs[k++].value = (char *)cases[i].email;
		ev.nattrs = k;
		decide_match_keys(pol, &ev, &ext, &email);
		if (cases[i].want_ext)
			assert_string_equal(ext, cases[i].want_ext);
		else
			assert_null(ext);
		if (cases[i].want_email)
			assert_string_equal(email, cases[i].want_email);
		else
			assert_null(email);
		policy_free(pol);
		json_object_put(p);
	}
}

/* --------------------------------------------------------- protected */

static void
test_protected_every_way(void **state)
{
	static const struct {
		const char *name;
		const char *id, *xid, *email;     /* the event's */
		const char *user;                 /* current user JSON, or NULL */
		int want;
	} cases[] = {
		{ "nobody", "E1", "X1", "ann@example.com", NULL, 0 },
		{ "event subject", "E-PROT", "X1", "ann@example.com", NULL, 1 },
		{ "event email", "E1", "X1", "OWNER@example.com", NULL, 1 },
		{ "event external id", "E1", "X-OWNER", "ann@example.com", NULL,
		    1 },
		{ "user email", "E1", "X1", "ann@example.com",
		    "{\"user\": {\"id\": 5, \"role\": \"end-user\", "
		    "\"email\": \"Owner@Example.com\"}}", 1 },
		{ "user external id", "E1", "X1", "ann@example.com",
		    "{\"user\": {\"id\": 5, \"role\": \"end-user\", "
		    "\"email\": \"other@example.com\", "
		    "\"external_id\": \"X-OWNER\"}}", 1 },
		{ "user not protected", "E1", "X1", "ann@example.com",
		    "{\"user\": {\"id\": 5, \"role\": \"end-user\", "
		    "\"email\": \"ann@example.com\", \"external_id\": \"X1\"}}",
		    0 },
	};
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_event row;
		struct norm_event ev;
		struct policy_decision d, d2;
		struct plan *pl = NULL;
		struct plan_opts po;
		json_object *cur = NULL;
		char body[512], err[DECIDE_ERRLEN];

		body_of(body, sizeof(body), "updated", cases[i].id,
		    cases[i].xid, cases[i].email, "Support");
		/* The stored-event path (work, replay, reconcile) ... */
		memset(&row, 0, sizeof(row));
		row.source = (char *)"hr";
		row.body = (unsigned char *)body;
		row.body_len = strlen(body);
		if (decide_event(fx->cfg, &row, &ev, NULL, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].name, err);
		if (cases[i].user != NULL)
			assert_non_null(cur = json_tokener_parse(cases[i].user));
		decide_policy(fx->pol, &ev, cur, &d);
		if (d.is_protected != cases[i].want)
			fail_msg("%s: protected %d, want %d", cases[i].name,
			    d.is_protected, cases[i].want);
		/* ... and the plan (simulate plans through the same call). */
		memset(&po, 0, sizeof(po));
		assert_int_equal(decide_plan(fx->pol, &ev, cur, NULL, NULL,
		    NULL, &po, &d2, &pl, err, sizeof(err)), 0);
		assert_int_equal(d2.is_protected, cases[i].want);
		if (cases[i].want)
			assert_int_equal(pl->nwrites, 0);
		else
			assert_true(pl->nwrites > 0);
		plan_free(pl);
		norm_event_clear(&ev);
		/* The body path (simulate) decides the same. */
		assert_int_equal(decide_body(fx->cfg, "hr", body, strlen(body),
		    0, 0, &ev, NULL, err, sizeof(err)), 0);
		decide_policy(fx->pol, &ev, cur, &d2);
		assert_int_equal(d2.is_protected, d.is_protected);
		norm_event_clear(&ev);
		json_object_put(cur);
	}
}

/* One event as the worker meets it: decide_order, then (when applied)
 * decide_applied, the person's state carried from step to step. */
struct step {
	int64_t id;
	const char *kind;
	time_t occurred, effective;
	enum decide_order want;
	const char *note;          /* in the note, or NULL */
};

static void
run_steps(const char *name, const struct step *s, size_t n)
{
	struct store_subject subj, next;
	struct norm_event ev;
	enum decide_order got;
	char note[256], kind[32], *colon;
	size_t i;

	memset(&subj, 0, sizeof(subj));
	for (i = 0; i < n; i++) {
		/* "update:Active": an employment_status; "terminate:hold": a
		 * terminate a kind-rule kept in post (no leaver state). */
		memset(&ev, 0, sizeof(ev));
		snprintf(kind, sizeof(kind), "%s", s[i].kind);
		if ((colon = strchr(kind, ':')) != NULL)
			*colon++ = '\0';
		ev.kind = kind;
		ev.occurred_at = s[i].occurred;
		ev.effective_at = s[i].effective;
		if (colon != NULL && strcmp(colon, "hold") != 0) {
			ev.attrs[0].key = (char *)"employment_status";
			ev.attrs[0].value = colon;
			ev.nattrs = 1;
		}
		note[0] = '\0';
		got = decide_order(&subj, &ev, s[i].id, note, sizeof(note));
		if (got != s[i].want)
			fail_msg("%s: step %zu (event %lld, %s): %d, want %d (%s)",
			    name, i, (long long)s[i].id, s[i].kind, (int)got,
			    (int)s[i].want, note);
		if (s[i].note != NULL && strstr(note, s[i].note) == NULL)
			fail_msg("%s: step %zu: note \"%s\" lacks \"%s\"", name,
			    i, note, s[i].note);
		if (got != DECIDE_APPLY && got != DECIDE_REHIRE)
			continue;
		decide_applied(&subj, &ev, s[i].id, strcmp(s[i].kind,
		    "terminate") == 0 ? DECIDE_AS_LEAVER : 0, &next);
		subj = next;
		subj.key = (char *)"p:1";
	}
}

#define DAY 86400
#define RUN(steps) run_steps(#steps, steps, sizeof(steps) / sizeof(steps[0]))

/* Leave and hire are ordered by when they were decided. */
static void
test_order_leave_and_hire(void **state)
{
	/* An update after the leave gives no access back. */
	static const struct step update_after_leave[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "terminate", 200 * DAY, 0, DECIDE_APPLY, NULL },
		{ 3, "update", 300 * DAY, 0, DECIDE_LEFT, "event 2 applied" },
		{ 4, "update", 310 * DAY, 0, DECIDE_LEFT, NULL },
	};
	/* A leave entered after its date follows a newer update. */
	static const struct step backdated_leave[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "update", 300 * DAY, 0, DECIDE_APPLY, NULL },
		{ 3, "terminate", 301 * DAY, 297 * DAY, DECIDE_APPLY, NULL },
	};
	/* A promotion dated after the leave, sent before it, waits and
	 * comes due after it. */
	static const struct step waiting_promotion[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 3, "terminate", 120 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "update", 110 * DAY, 130 * DAY, DECIDE_LEFT, NULL },
	};
	/* An offer withdrawn before its start date. */
	static const struct step rescinded_offer[] = {
		{ 3, "terminate", 120 * DAY, 119 * DAY, DECIDE_APPLY, NULL },
		{ 2, "hire", 110 * DAY, 130 * DAY, DECIDE_STALE,
		  "decided before this person's leave (event 3)" },
	};
	/* A rehire decided after the leave, dated before it, lifts it; a
	 * late terminate decided before the rehire does not undo it. */
	static const struct step rehire[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "terminate", 200 * DAY, 200 * DAY, DECIDE_APPLY, NULL },
		{ 3, "rehire", 210 * DAY, 195 * DAY, DECIDE_APPLY, NULL },
		{ 4, "update", 220 * DAY, 0, DECIDE_APPLY, NULL },
		{ 5, "terminate", 205 * DAY, 0, DECIDE_STALE,
		  "decided before event 3" },
		{ 6, "terminate", 230 * DAY, 0, DECIDE_APPLY, NULL },
		{ 7, "update", 240 * DAY, 0, DECIDE_LEFT, "event 6" },
	};
	/* Without signed times, arrival order stands in. */
	static const struct step untimed[] = {
		{ 2, "hire", 0, 0, DECIDE_APPLY, NULL },
		{ 5, "terminate", 0, 0, DECIDE_APPLY, NULL },
		{ 3, "hire", 0, 0, DECIDE_STALE, "(event 5)" },
		{ 7, "rehire", 0, 0, DECIDE_APPLY, NULL },
		{ 4, "terminate", 0, 0, DECIDE_STALE, "event 7" },
	};
	/* A hire without a signed time after a signed leave: stale, as any
	 * event without one after a signed change. */
	static const struct step untimed_after_signed[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "terminate", 200 * DAY, 0, DECIDE_APPLY, NULL },
		{ 3, "hire", 0, 0, DECIDE_STALE, "no signed time" },
		{ 4, "terminate", 0, 0, DECIDE_APPLY, NULL },
	};
	/* The same second: arrival decides (a waiting hire stored first). */
	static const struct step same_second[] = {
		{ 3, "terminate", 120 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "hire", 120 * DAY, 130 * DAY, DECIDE_STALE, "(event 3)" },
		{ 4, "rehire", 120 * DAY, 0, DECIDE_APPLY, NULL },
	};
	/* An update saying the person is active again is a reactivation. */
	static const struct step reactivation[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "terminate", 200 * DAY, 0, DECIDE_APPLY, NULL },
		{ 3, "update:Active", 190 * DAY, 0, DECIDE_STALE,
		  "decided before" },
		{ 4, "update:Inactive", 210 * DAY, 0, DECIDE_LEFT, NULL },
		{ 5, "update:ACTIVE", 220 * DAY, 0, DECIDE_REHIRE, NULL },
		{ 6, "update", 230 * DAY, 0, DECIDE_APPLY, NULL },
	};
	/* A hire with no decided time lifts a signed leave by arrival only
	 * within the date rule: dated days before the leave, it is stale. */
	static const struct step untimed_hire_dates[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "terminate", 200 * DAY, 200 * DAY, DECIDE_APPLY, NULL },
		{ 3, "hire", 0, 190 * DAY, DECIDE_STALE, "took effect later" },
		{ 4, "hire", 0, 205 * DAY, DECIDE_APPLY, NULL },
	};
	/* A terminate a kind-rule keeps in post (legal hold) is no leave. */
	static const struct step legal_hold[] = {
		{ 1, "hire", 100 * DAY, 0, DECIDE_APPLY, NULL },
		{ 2, "terminate:hold", 200 * DAY, 0, DECIDE_APPLY, NULL },
		{ 3, "update", 210 * DAY, 0, DECIDE_APPLY, NULL },
	};
	/* Leaves out of order: the leave stands from its latest decision. */
	static const struct step leaves_out_of_order[] = {
		{ 5, "terminate", 200 * DAY, 0, DECIDE_APPLY, NULL },
		{ 7, "terminate", 50 * DAY, 0, DECIDE_APPLY, NULL },
		{ 8, "rehire", 70 * DAY, 0, DECIDE_STALE, "(event 7)" },
		{ 9, "rehire", 250 * DAY, 0, DECIDE_APPLY, NULL },
	};
	/* Updates keep the date rule. */
	static const struct step dates[] = {
		{ 1, "update", 0, 100 * DAY, DECIDE_APPLY, NULL },
		{ 2, "update", 0, 99 * DAY + 1, DECIDE_APPLY, NULL },
		{ 3, "update", 0, 98 * DAY, DECIDE_STALE, "event 2 for this "
		  "person took effect later" },
		{ 4, "update", 0, 0, DECIDE_STALE, "no signed time" },
	};

	(void)state;
	RUN(update_after_leave);
	RUN(backdated_leave);
	RUN(waiting_promotion);
	RUN(rescinded_offer);
	RUN(rehire);
	RUN(untimed);
	RUN(untimed_after_signed);
	RUN(dates);
	RUN(same_second);
	RUN(reactivation);
	RUN(untimed_hire_dates);
	RUN(legal_hold);
	RUN(leaves_out_of_order);
}

/* decide_applied keeps the newest leave, and a hire clears it. */
static void
test_applied_state(void **state)
{
	struct store_subject old, out;
	struct norm_event ev;

	(void)state;
	memset(&old, 0, sizeof(old));
	memset(&ev, 0, sizeof(ev));
	old.snapshot = (char *)"{}";
	old.snapshot_at = 5;
	old.left_event = 9;
	old.left_at = 900;
	old.last_effective = 1000;
	ev.kind = (char *)"terminate";
	ev.occurred_at = 800;
	decide_applied(&old, &ev, 8, DECIDE_AS_LEAVER, &out); /* retried */
	assert_int_equal(out.left_event, 9);
	assert_int_equal(out.left_at, 900);
	assert_int_equal(out.last_event_id, 8);
	assert_int_equal(out.last_effective, 1000);
	assert_ptr_equal(out.snapshot, old.snapshot);
	assert_int_equal(out.snapshot_at, 5);
	ev.kind = (char *)"rehire";
	ev.occurred_at = 2000;
	decide_applied(&old, &ev, 10, 0, &out);
	assert_int_equal(out.left_event, 0);
	assert_int_equal(out.left_at, 0);
	assert_int_equal(out.hired_event, 10);
	assert_int_equal(out.hired_at, 2000);
	assert_int_equal(out.last_effective, 2000);
	ev.kind = (char *)"update";
	decide_applied(&old, &ev, 11, 0, &out);
	assert_int_equal(out.left_event, 9);
	assert_int_equal(out.hired_event, 0);
	/* An operator's approval ends the leave whatever the kind. */
	decide_applied(&old, &ev, 12, DECIDE_AS_HIRE, &out);
	assert_int_equal(out.left_event, 0);
	assert_int_equal(out.hired_event, 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalizer_and_unknown_source),
		cmocka_unit_test(test_each_person_of_a_batch),
		cmocka_unit_test(test_stored_event_batch_and_child),
		cmocka_unit_test(test_is_person),
		cmocka_unit_test(test_is_thin),
		cmocka_unit_test(test_thin_bodies),
		cmocka_unit_test(test_match_keys),
		cmocka_unit_test(test_protected_every_way),
		cmocka_unit_test(test_order_leave_and_hire),
		cmocka_unit_test(test_applied_state),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
