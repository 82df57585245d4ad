/*
 * test_reconcile.c -- reconcile's pure parts: which drift field a planned
 * write changes (table), the drift of a plan under policy.drift (revert,
 * alert, accept; --field), a protected person having no drift (the same
 * decide path as work), reconcile_run refusing to start without a
 * policy, and the bulk reads' pure parts: a person's user in a
 * show_many answer (reconcile_match), an answer with users nobody asked
 * for by that exact id (reconcile_unclaimed) and the batches of
 * external ids (reconcile_batch).  The Zendesk side is
 * tests/integration/test_reconcile.py.
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
#include "rolehook/reconcile.h"

static const char policy_text[] =
    "{\"protected\": [\"owner@example.com\"],"
    " \"drift\": {\"groups\": \"alert\", \"suspended\": \"accept\"},"
    " \"rules\": [{\"name\": \"tier1\", \"when\": {\"department\": \"Support\"},"
    "  \"then\": {\"role\": \"agent\", \"custom_role\": \"Tier 1\","
    "   \"groups\": [\"Tier 1\"]}}]}";

static const char roles_text[] =
    "{\"custom_roles\": [{\"id\": 11, \"name\": \"Tier 1\"},"
    " {\"id\": 12, \"name\": \"Tier 2\"}]}";
static const char groups_text[] =
    "{\"groups\": [{\"id\": 501, \"name\": \"Tier 1\"}]}";

/* An agent with the wrong custom role, suspended, in no group. */
static const char current_fmt[] =
    "{\"user\": {\"id\": 42, \"email\": \"%s\", \"role\": \"agent\","
    " \"custom_role_id\": 12, \"suspended\": true},"
    " \"group_memberships\": {\"group_memberships\": []}}";

static struct json_object *
parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (o == NULL)
		fail_msg("test JSON does not parse: %s", text);
	return o;
}

static void
test_write_field(void **state)
{
	static const struct {
		const char *step, *body, *user_role;
		int want;
	} cases[] = {
		{ "group_add", NULL, "agent", POLICY_FIELD_GROUPS },
		{ "group_remove", NULL, "agent", POLICY_FIELD_GROUPS },
		{ "entitlements", NULL, "agent", POLICY_FIELD_ENTITLEMENTS },
		{ "entitlements_off", NULL, "agent", POLICY_FIELD_ENTITLEMENTS },
		{ "suspend", NULL, "agent", POLICY_FIELD_SUSPENDED },
		{ "unsuspend", NULL, "agent", POLICY_FIELD_SUSPENDED },
		{ "role", "{\"user\": {\"role\": \"agent\", "
		    "\"custom_role_id\": 11}}", "agent", POLICY_FIELD_CUSTOM_ROLE },
		{ "role", "{\"user\": {\"role\": \"admin\"}}", "agent",
		    POLICY_FIELD_ROLE },
		{ "role", "{\"user\": {\"role\": \"agent\"}}", NULL,
		    POLICY_FIELD_ROLE },
		{ "downgrade", "{\"user\": {\"role\": \"end-user\"}}", "agent",
		    POLICY_FIELD_ROLE },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plan_write pw;
		json_object *user = NULL;
		char u[96];

		memset(&pw, 0, sizeof(pw));
		pw.method = "PUT";
		pw.step = cases[i].step;
		pw.body = cases[i].body ? parse(cases[i].body) : NULL;
		if (cases[i].user_role != NULL) {
			snprintf(u, sizeof(u), "{\"role\": \"%s\"}",
			    cases[i].user_role);
			user = parse(u);
		}
		if (reconcile_write_field(&pw, user) != cases[i].want)
			fail_msg("case %zu (%s): field %d, want %d", i,
			    cases[i].step, reconcile_write_field(&pw, user),
			    cases[i].want);
		json_object_put(pw.body);
		json_object_put(user);
	}
	assert_string_equal(reconcile_fields[POLICY_FIELD_CUSTOM_ROLE],
	    "custom_role");
	assert_null(reconcile_fields[POLICY_NDRIFT]);
}

struct fx {
	struct policy *pol;
	json_object *roles, *groups;
	struct norm_event ev;
};

static void
fx_init(struct fx *fx, const char *email)
{
	json_object *p = parse(policy_text);
	char err[POLICY_ERRLEN];

	memset(fx, 0, sizeof(*fx));
	if (policy_compile(p, &fx->pol, err, sizeof(err)) != 0)
		fail_msg("policy: %s", err);
	json_object_put(p);
	fx->roles = parse(roles_text);
	fx->groups = parse(groups_text);
	fx->ev.kind = strdup("update");
	fx->ev.subject = strdup("people:E1");
	fx->ev.attrs[0].key = strdup("department");
	fx->ev.attrs[0].value = strdup("Support");
	fx->ev.attrs[1].key = strdup("email");
	fx->ev.attrs[1].value = strdup(email);
	fx->ev.nattrs = 2;
}

static void
fx_free(struct fx *fx)
{
	norm_event_clear(&fx->ev);
	json_object_put(fx->roles);
	json_object_put(fx->groups);
	policy_free(fx->pol);
}

/* The plan reconcile makes: one user write per field. */
static struct plan *
plan_for(struct fx *fx, json_object *cur)
{
	struct policy_decision d;
	struct plan_opts po;
	struct plan *pl = NULL;
	char err[PLAN_ERRLEN];

	memset(&po, 0, sizeof(po));
	po.split_user_writes = 1;
	if (decide_plan(fx->pol, &fx->ev, cur, fx->roles, fx->groups, NULL,
	    &po, &d, &pl, err, sizeof(err)) != 0)
		fail_msg("plan: %s", err);
	return pl;
}

static void
test_drift_modes_and_field(void **state)
{
	struct fx fx;
	struct plan *pl;
	json_object *cur, *arr, *o, *v;
	const json_object *user;
	char text[512];
	int revert, alert;
	size_t i;
	int saw_custom = 0, saw_groups = 0;

	(void)state;
	fx_init(&fx, "ann@example.com");
	snprintf(text, sizeof(text), current_fmt, "ann@example.com");
	cur = parse(text);
	pl = plan_for(&fx, cur);
	user = plan_user_of(cur, NULL, NULL);
	/* custom role (revert), group (alert); suspended is accepted. */
	arr = reconcile_drift(fx.pol, pl, user, NULL, &revert, &alert);
	assert_non_null(arr);
	assert_int_equal(revert, 1);
	assert_int_equal(alert, 1);
	assert_int_equal(json_object_array_length(arr), 2);
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		assert_true(json_object_object_get_ex(o, "field", &v));
		if (strcmp(json_object_get_string(v), "custom_role") == 0) {
			saw_custom = 1;
			json_object_object_get_ex(o, "mode", &v);
			assert_string_equal(json_object_get_string(v), "revert");
		} else {
			assert_string_equal(json_object_get_string(v), "groups");
			saw_groups = 1;
			json_object_object_get_ex(o, "mode", &v);
			assert_string_equal(json_object_get_string(v), "alert");
		}
		assert_true(json_object_object_get_ex(o, "method", &v));
		assert_true(json_object_object_get_ex(o, "path", &v));
	}
	assert_true(saw_custom && saw_groups);
	json_object_put(arr);

	/* --field groups: that field only. */
	arr = reconcile_drift(fx.pol, pl, user, "groups", &revert, &alert);
	assert_int_equal(revert, 0);
	assert_int_equal(alert, 1);
	assert_int_equal(json_object_array_length(arr), 1);
	json_object_put(arr);
	arr = reconcile_drift(fx.pol, pl, user, "role", &revert, &alert);
	assert_int_equal(revert + alert, 0);
	assert_int_equal(json_object_array_length(arr), 0);
	json_object_put(arr);
	plan_free(pl);
	json_object_put(cur);
	fx_free(&fx);
}

/* The user's e-mail is protected: no writes, so no drift (as in work). */
static void
test_protected_has_no_drift(void **state)
{
	struct fx fx;
	struct plan *pl;
	json_object *cur, *arr;
	char text[512];
	int revert, alert;

	(void)state;
	fx_init(&fx, "ann@example.com");
	snprintf(text, sizeof(text), current_fmt, "Owner@Example.com");
	cur = parse(text);
	pl = plan_for(&fx, cur);
	assert_int_equal(pl->nwrites, 0);
	arr = reconcile_drift(fx.pol, pl, plan_user_of(cur, NULL, NULL), NULL,
	    &revert, &alert);
	assert_int_equal(revert + alert, 0);
	json_object_put(arr);
	plan_free(pl);
	json_object_put(cur);
	fx_free(&fx);
}

static void
test_run_needs_a_policy(void **state)
{
	static const char text[] =
	    "{\"store\": {\"path\": \"/tmp/test_reconcile.db\"}, "
	    "\"sources\": {\"hr\": {\"preset\": \"bamboohr\", "
	    "\"secrets\": [\"env:RH_T_RECONCILE\"]}}}";
	struct config *cfg = NULL;
	struct reconcile_opts o;
	struct reconcile_report rep;
	struct reconcile_counts n;
	char err[CONFIG_ERRLEN];

	(void)state;
	if (config_parse(text, sizeof(text) - 1, "test.json",
	    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	memset(&o, 0, sizeof(o));
	memset(&rep, 0, sizeof(rep));
	o.quiet = 1;
	/* A configuration error: -2 (reconcile exits 2, reconcile.h). */
	assert_int_equal(reconcile_run(cfg, &o, &rep, &n, err, sizeof(err)),
	    -2);
	assert_string_equal(err, "test.json: policy: missing");
	assert_int_equal(n.people, 0);
	config_free(cfg);
}

static void
test_match(void **state)
{
	static const struct {
		const char *users, *xid;
		size_t want;
		int64_t id;
	} t[] = {
		{ "[]", "E-1", 0, 0 },
		{ "[{\"id\": 1, \"external_id\": \"E-1\"},"
		  " {\"id\": 2, \"external_id\": \"E-2\"}]", "E-2", 1, 2 },
		/* exact: show_many's answer decides, not a case fold */
		{ "[{\"id\": 1, \"external_id\": \"e-1\"}]", "E-1", 0, 0 },
		/* absent from the answer: nobody has it (e-mail next) */
		{ "[{\"id\": 1, \"external_id\": \"E-1\"}]", "E-3", 0, 0 },
		/* two users with one id: ambiguous, zd_find_user says so */
		{ "[{\"id\": 1, \"external_id\": \"E-1\"},"
		  " {\"id\": 5, \"external_id\": \"E-1\"}]", "E-1", 2, 0 },
		/* the same user twice is one */
		{ "[{\"id\": 1, \"external_id\": \"E-1\"},"
		  " {\"id\": 1, \"external_id\": \"E-1\"}]", "E-1", 1, 1 },
		/* not objects, ids not strings, no external id: skipped */
		{ "[7, null, {\"id\": 3, \"external_id\": 5},"
		  " {\"id\": 4}, {\"id\": 6, \"external_id\": \"5\"}]", "5",
		  1, 6 },
	};
	struct json_object *users, *u, *id;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		users = parse(t[i].users);
		assert_int_equal(reconcile_match(users, t[i].xid, &u), t[i].want);
		if (t[i].want == 1) {
			assert_non_null(u);
			assert_true(json_object_object_get_ex(u, "id", &id));
			assert_int_equal(json_object_get_int64(id), t[i].id);
			/* A copy of its own (threads use it at once). */
			for (j = 0; j < json_object_array_length(users); j++)
				assert_ptr_not_equal(u,
				    json_object_array_get_idx(users, j));
			json_object_put(u);
		} else
			assert_null(u);
		json_object_put(users);
	}
}

static void
test_unclaimed(void **state)
{
	static char k1[] = "E-1", k2[] = "E-2";
	char *keys[] = { k1, k2 };
	static const struct {
		const char *users;
		size_t want;
	} t[] = {
		{ "[]", 0 },
		{ "[{\"id\": 1, \"external_id\": \"E-1\"},"
		  " {\"id\": 2, \"external_id\": \"E-2\"}]", 0 },
		/* matched by a case fold: E-2's absence proves nothing */
		{ "[{\"id\": 1, \"external_id\": \"E-1\"},"
		  " {\"id\": 2, \"external_id\": \"e-2\"}]", 1 },
		{ "[{\"id\": 3}, {\"id\": 4, \"external_id\": null}, 7]", 2 },
	};
	struct json_object *users;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		users = parse(t[i].users);
		assert_int_equal(reconcile_unclaimed(users, keys, 2), t[i].want);
		json_object_put(users);
	}
}

static void
test_batch(void **state)
{
	static char shortk[] = "E-1", longk[256];
	char *keys[250];
	size_t i;

	(void)state;
	for (i = 0; i < 250; i++)
		keys[i] = shortk;
	assert_int_equal(reconcile_batch(keys, 0), 0);
	assert_int_equal(reconcile_batch(keys, 250), 100);   /* Zendesk's max */
	assert_int_equal(reconcile_batch(keys, 42), 42);
	/* 255-byte ids escape to up to 766 bytes: 3 fit in the URL budget */
	memset(longk, '%', 255);
	for (i = 0; i < 250; i++)
		keys[i] = longk;
	assert_int_equal(reconcile_batch(keys, 250), 3);
	/* one always goes, however long */
	assert_int_equal(reconcile_batch(keys, 1), 1);
	keys[0] = shortk;
	assert_int_equal(reconcile_batch(keys, 250), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_field),
		cmocka_unit_test(test_drift_modes_and_field),
		cmocka_unit_test(test_protected_has_no_drift),
		cmocka_unit_test(test_run_needs_a_policy),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_unclaimed),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
