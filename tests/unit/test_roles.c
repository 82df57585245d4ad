/*
 * test_roles.c -- the custom-role engine: roles_check reports every
 * problem of a custom_roles value, one line each (table); config_parse
 * refuses a configuration with all of them in its error; roles_plan_make
 * matches by name ignoring case, compares only the declared keys, and
 * prunes only memberless, non-built-in extras that no policy rule names
 * (the refusal names the rule); a dry run reports every step and writes
 * nothing; roles_sync reports through its callbacks (nothing declared,
 * no zendesk section, Zendesk unreachable, a policy that does not
 * compile with --prune).  Writes
 * against a Zendesk are tests/integration/test_report_roles.py.
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
#include "rolehook/policy.h"
#include "rolehook/roles.h"

/* Port 9 (discard) on loopback: nothing listens there. */
#define DEAD_ZD "\"zendesk\": {\"base_url\": \"http://127.0.0.1:9\", " \
    "\"allow_http_loopback\": true, \"connect_timeout_ms\": 500, " \
    "\"timeout_ms\": 1000, \"auth\": {\"email\": \"a@example.com\", " \
    "\"token\": \"env:RH_T_ROLES_ZD\"}}"

#define BASE "{\"store\": {\"path\": \"/nonexistent/test_roles.db\"}, " \
    "\"sources\": {\"hr\": {\"preset\": \"bamboohr\", " \
    "\"secrets\": [\"env:RH_T_ROLES_HR\"]}}"

struct notes {
	char text[8][1024];
	size_t n;
	char steps[16][128];   /* "act name status" */
	size_t nsteps;
};

static void
on_note(void *arg, const char *msg)
{
	struct notes *ns = arg;

	if (ns->n < 8)
		snprintf(ns->text[ns->n++], sizeof(ns->text[0]), "%s", msg);
}

static void
on_step(void *arg, const struct roles_step *st)
{
	struct notes *ns = arg;

	if (ns->nsteps < 16)
		snprintf(ns->steps[ns->nsteps++], sizeof(ns->steps[0]),
		    "%s %s %s", roles_act_names[st->act], st->name, st->status);
}

static int
has_note(const struct notes *ns, const char *want)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strstr(ns->text[i], want) != NULL)
			return 1;
	return 0;
}

static json_object *
parse(const char *s)
{
	json_object *o = json_tokener_parse(s);

	if (o == NULL)
		fail_msg("bad JSON in the test: %s", s);
	return o;
}

static void
test_check(void **state)
{
	static const struct {
		const char *roles;
		size_t problems;
		const char *want;   /* in the first problem; NULL: none */
	} cases[] = {
		{ "[]", 0, NULL },
		{ "[{\"name\": \"T1\"}]", 0, NULL },
		{ "[{\"name\": \"T1\", \"description\": \"d\", \"configuration\": "
		    "{\"ticket_access\": \"all\", \"ticket_merge\": true}}]", 0,
		    NULL },
		{ "{}", 1, "custom_roles: expected an array" },
		{ "[1]", 1, "custom_roles[0]: expected an object" },
		{ "[{\"name\": \"  \"}]", 1, "custom_roles[0]: name: expected "
		    "a non-blank string" },
		{ "[{}]", 1, "custom_roles[0]: name: expected" },
		{ "[{\"name\": \"T1\", \"colour\": 1}]", 1,
		    "custom_roles[0] (\"T1\"): colour: unknown key" },
		{ "[{\"name\": \"T1\"}, {\"name\": \"t1\"}]", 1,
		    "custom_roles[1] (\"t1\"): name: declared twice" },
		{ "[{\"name\": \"T1\", \"description\": 3}]", 1,
		    "description: expected a string" },
		{ "[{\"name\": \"T1\", \"configuration\": []}]", 1,
		    "configuration: expected an object" },
		{ "[{\"name\": \"T1\", \"configuration\": {\"nope\": true}}]", 1,
		    "configuration.nope: not a key of the Zendesk custom roles "
		    "API" },
		{ "[{\"name\": \"T1\", \"configuration\": {\"light_agent\": "
		    "false}}]", 1, "(\"T1\"): configuration.light_agent is "
		    "read-only" },
		{ "[{\"name\": \"T1\", \"configuration\": {\"ticket_merge\": "
		    "\"yes\"}}]", 1, "configuration.ticket_merge: expected true "
		    "or false" },
		{ "[{\"name\": \"T1\", \"configuration\": {\"ticket_comment_access"
		    "\": \"private\"}}]", 1, "configuration.ticket_comment_access: "
		    "expected one of \"public\", \"none\"" },
		{ "[{\"name\": \"T1\", \"configuration\": {\"view_access\": 1}}]",
		    1, "expected one of \"full\", \"manage-group\", "
		    "\"manage-personal\", \"playonly\", \"readonly\"" },
		/* every problem, not the first one only */
		{ "[{\"name\": \"A\", \"configuration\": {\"light_agent\": false,"
		    " \"chat_access\": true}}, 7, {\"name\": \"B\", \"x\": 1, "
		    "\"configuration\": {\"view_access\": \"everything\"}}]", 5,
		    "custom_roles[0] (\"A\"): configuration.light_agent" },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct notes ns;
		json_object *v = parse(cases[i].roles);

		memset(&ns, 0, sizeof(ns));
		n = roles_check(v, on_note, &ns);
		if (n != cases[i].problems || ns.n != n)
			fail_msg("case %zu: %zu problems (%zu reported), want "
			    "%zu: %s", i, n, ns.n, cases[i].problems,
			    ns.n > 0 ? ns.text[0] : "");
		if (cases[i].want != NULL &&
		    strstr(ns.text[0], cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i,
			    ns.text[0], cases[i].want);
		assert_int_equal(roles_check(v, NULL, NULL), n);
		json_object_put(v);
	}
}

static void
test_config_lists_every_problem(void **state)
{
	const char *text = BASE ", \"custom_roles\": [{\"name\": \"A\", "
	    "\"configuration\": {\"light_agent\": false}}, {\"name\": \"B\", "
	    "\"configuration\": {\"chat_access\": true, \"view_access\": "
	    "\"everything\"}}]}";
	struct config *cfg = NULL;
	char err[CONFIG_ERRLEN];

	(void)state;
	assert_int_equal(config_parse(text, strlen(text), "t.json",
	    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	assert_non_null(strstr(err, "t.json: custom_roles[0] (\"A\"): "
	    "configuration.light_agent is read-only"));
	assert_non_null(strstr(err, "\nt.json: custom_roles[1] (\"B\"): "
	    "configuration.chat_access is read-only"));
	assert_non_null(strstr(err, "\nt.json: custom_roles[1] (\"B\"): "
	    "configuration.view_access: expected one of"));
	text = BASE ", \"custom_roles\": {}}";
	assert_int_equal(config_parse(text, strlen(text), "t.json",
	    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.json: custom_roles: expected an array"));
}

/* Finds the step for name. */
static const struct roles_step *
step_of(const struct roles_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++)
		if (strcmp(p->steps[i].name, name) == 0)
			return &p->steps[i];
	fail_msg("no step for %s", name);
	return NULL;
}

static const char DECLARED[] = "[{\"name\": \"Tier 1\", \"description\": "
    "\"first line\", \"configuration\": {\"ticket_access\": \"all\", "
    "\"ticket_merge\": true}}, {\"name\": \"Escalations\"}, {\"name\": "
    "\"Leads\", \"configuration\": {\"macro_access\": \"full\"}}]";
static const char ZENDESK[] = "[{\"id\": 101, \"name\": \"tier 1\", "
    "\"description\": \"first line\", \"team_member_count\": 3, "
    "\"configuration\": {\"ticket_access\": \"within-groups\", "
    "\"ticket_merge\": true, \"voice_access\": true}}, {\"id\": 102, "
    "\"name\": \"Leads\", \"configuration\": {\"macro_access\": \"full\", "
    "\"explore_access\": \"edit\"}}, {\"id\": 103, \"name\": \"Legacy\", "
    "\"team_member_count\": 1}, {\"id\": 104, \"name\": \"Old\", "
    "\"team_member_count\": 0}, {\"id\": 105, \"name\": \"Unknown\"}, "
    "{\"id\": 106, \"name\": \"Light agent\", \"role_type\": 1, "
    "\"team_member_count\": 0}]";

static void
test_plan(void **state)
{
	json_object *decl = parse(DECLARED), *list = parse(ZENDESK);
	struct roles_plan p;
	const struct roles_step *st;
	int prune;

	(void)state;
	for (prune = 0; prune <= 1; prune++) {
		assert_int_equal(roles_plan_make(decl, list, prune, NULL, &p), 0);
		assert_int_equal(p.nsteps, 7);
		/* declared first, in order; then Zendesk's extras */
		assert_string_equal(p.steps[0].name, "Tier 1");
		assert_string_equal(p.steps[3].name, "Legacy");
		st = step_of(&p, "Tier 1");   /* matched ignoring case */
		assert_int_equal(st->act, ROLES_UPDATE);
		assert_int_equal(st->id, 101);
		assert_int_equal(st->members, 3);
		/* the name's case and the declared key that differs; not
		 * voice_access, which the declaration leaves out */
		assert_string_equal(st->changes, "name; configuration."
		    "ticket_access: \"within-groups\" -> \"all\"");
		st = step_of(&p, "Escalations");
		assert_int_equal(st->act, ROLES_CREATE);
		assert_int_equal(st->id, 0);
		assert_int_equal(step_of(&p, "Leads")->act, ROLES_UNCHANGED);
		st = step_of(&p, "Legacy");
		assert_int_equal(st->act, prune ? ROLES_REFUSE : ROLES_EXTRA);
		if (prune)
			assert_non_null(strstr(st->error, "1 agent(s) hold it"));
		assert_int_equal(step_of(&p, "Old")->act,
		    prune ? ROLES_DELETE : ROLES_EXTRA);
		st = step_of(&p, "Unknown");
		assert_int_equal(st->act, prune ? ROLES_REFUSE : ROLES_EXTRA);
		assert_int_equal(st->members, -1);
		st = step_of(&p, "Light agent");   /* built-in: never pruned */
		assert_int_equal(st->act, ROLES_EXTRA);
		assert_string_equal(st->changes, "built-in (role_type 1); never "
		    "pruned");
		assert_string_equal(st->status, "planned");
		roles_plan_clear(&p);
		roles_plan_clear(&p);   /* zeroed: a no-op */
	}
	json_object_put(decl);
	json_object_put(list);
}

/*
 * A prune keeps the extra roles a policy rule names (ignoring case, as
 * Zendesk does), whatever their member count, and says which rule; roles
 * nobody holds and no rule names are still deleted.  The policy changes
 * nothing without prune, nor for declared or built-in roles.
 */
static void
test_plan_keeps_roles_the_policy_names(void **state)
{
	json_object *decl = parse(DECLARED), *list = parse(ZENDESK);
	json_object *pj = parse("{\"rules\": ["
	    "{\"name\": \"t1\", \"when\": {\"department\": \"Support\"}, "
	    "\"then\": {\"role\": \"agent\", \"custom_role\": \"Tier 1\"}},"
	    "{\"name\": \"old\", \"when\": {\"title\": \"Old\"}, "
	    "\"then\": {\"role\": \"agent\", \"custom_role\": \"OLD\"}},"
	    "{\"name\": \"legacy\", \"when\": {\"title\": \"L\"}, "
	    "\"then\": {\"role\": \"agent\", \"custom_role\": \"Legacy\"}},"
	    "{\"name\": \"admins\", \"when\": {\"title\": \"Boss\"}, "
	    "\"then\": {\"role\": \"admin\"}},"
	    "{\"name\": \"legacy2\", \"when\": {\"title\": \"L2\"}, "
	    "\"then\": {\"role\": \"admin\", \"custom_role\": \"legacy\"}},"
	    "{\"name\": \"light\", \"when\": {\"title\": \"Li\"}, "
	    "\"then\": {\"role\": \"agent\", \"custom_role\": "
	    "\"Light agent\"}}]}");
	struct policy *pol = NULL;
	struct roles_plan p;
	const struct roles_step *st;
	const char *rule = "x";
	char err[POLICY_ERRLEN];

	(void)state;
	if (policy_compile(pj, &pol, err, sizeof(err)) != 0)
		fail_msg("policy: %s", err);
	assert_string_equal(policy_rule_custom_role(pol, 1, &rule), "OLD");
	assert_string_equal(rule, "old");
	assert_null(policy_rule_custom_role(pol, 3, &rule));
	assert_string_equal(rule, "admins");
	assert_null(policy_rule_custom_role(pol, 6, &rule));
	assert_null(rule);
	assert_null(policy_rule_custom_role(pol, 6, NULL));

	assert_int_equal(roles_plan_make(decl, list, 1, pol, &p), 0);
	assert_int_equal(p.nsteps, 7);
	st = step_of(&p, "Old");          /* 0 agents, but rules[1] names it */
	assert_int_equal(st->act, ROLES_REFUSE);
	assert_int_equal(st->members, 0);
	assert_string_equal(st->error, "named by policy.rules[1] (old); "
	    "declare it in custom_roles, or remove it from the policy first, "
	    "then run --prune again");
	st = step_of(&p, "Legacy");       /* the policy's reason comes first */
	assert_int_equal(st->act, ROLES_REFUSE);
	assert_non_null(strstr(st->error, "named by policy.rules[2] (legacy) "
	    "and 1 other rule(s); "));
	assert_null(strstr(st->error, "agent(s) hold it"));
	st = step_of(&p, "Unknown");      /* not named: the member count */
	assert_int_equal(st->act, ROLES_REFUSE);
	assert_non_null(strstr(st->error, "did not say how many agents"));
	assert_int_equal(step_of(&p, "Light agent")->act, ROLES_EXTRA);
	assert_int_equal(step_of(&p, "Tier 1")->act, ROLES_UPDATE);
	assert_int_equal(step_of(&p, "Leads")->act, ROLES_UNCHANGED);
	roles_plan_clear(&p);

	/* Without prune the policy changes nothing. */
	assert_int_equal(roles_plan_make(decl, list, 0, pol, &p), 0);
	st = step_of(&p, "Old");
	assert_int_equal(st->act, ROLES_EXTRA);
	assert_string_equal(st->error, "");
	roles_plan_clear(&p);

	/* A policy that names none of the extras: Old is deleted. */
	policy_free(pol);
	pol = NULL;
	json_object_put(pj);
	pj = parse("{\"rules\": [{\"name\": \"t1\", \"when\": {}, "
	    "\"then\": {\"role\": \"agent\", \"custom_role\": \"Tier 1\"}}]}");
	if (policy_compile(pj, &pol, err, sizeof(err)) != 0)
		fail_msg("policy: %s", err);
	assert_int_equal(roles_plan_make(decl, list, 1, pol, &p), 0);
	assert_int_equal(step_of(&p, "Old")->act, ROLES_DELETE);
	assert_non_null(strstr(step_of(&p, "Legacy")->error,
	    "1 agent(s) hold it"));
	roles_plan_clear(&p);
	policy_free(pol);
	json_object_put(pj);
	json_object_put(decl);
	json_object_put(list);
}

static void
test_plan_refuses_bad_declarations(void **state)
{
	json_object *decl = parse("[{\"name\": \"T\", \"configuration\": "
	    "{\"group_access\": true}}]"), *list = parse("[]");
	struct roles_plan p;

	(void)state;
	assert_int_equal(roles_plan_make(decl, list, 0, NULL, &p), -1);
	assert_null(p.steps);
	assert_int_equal(roles_plan_make(list, decl, 0, NULL, &p), 0);
	assert_int_equal(p.nsteps, 1);   /* nothing declared: T is extra */
	roles_plan_clear(&p);
	assert_int_equal(roles_plan_make(decl, NULL, 0, NULL, &p), -1);
	json_object_put(decl);
	json_object_put(list);
}

static void
test_dry_run_reports_every_step(void **state)
{
	json_object *decl = parse(DECLARED), *list = parse(ZENDESK);
	struct notes ns;
	struct roles_report rep = { on_note, on_step, NULL };
	struct roles_plan p;

	(void)state;
	memset(&ns, 0, sizeof(ns));
	rep.arg = &ns;
	assert_int_equal(roles_plan_make(decl, list, 1, NULL, &p), 0);
	/* the inputs may go: the plan holds references */
	json_object_put(decl);
	json_object_put(list);
	assert_int_equal(roles_apply(&p, NULL, "https://x", &rep), 0);
	assert_int_equal(ns.nsteps, 7);
	assert_string_equal(ns.steps[0], "update Tier 1 planned");
	assert_string_equal(ns.steps[1], "create Escalations planned");
	assert_string_equal(ns.steps[4], "delete Old planned");
	assert_int_equal(ns.n, 0);
	roles_plan_clear(&p);
}

static void
test_sync_reports(void **state)
{
	static const struct {
		const char *extra;
		enum roles_status want;
		const char *note;
		int prune;
	} cases[] = {
		{ "", ROLES_INPUT, "test.json: custom_roles: nothing declared",
		    0 },
		{ ", \"custom_roles\": []", ROLES_INPUT,
		    "custom_roles: nothing declared", 0 },
		{ ", \"custom_roles\": [{\"name\": \"T\"}]", ROLES_INPUT,
		    "test.json: zendesk", 0 },
		{ ", \"custom_roles\": [{\"name\": \"T\"}], " DEAD_ZD,
		    ROLES_ZENDESK, "http://127.0.0.1:9: listing custom roles: "
		    "cannot reach Zendesk", 0 },
		/* --prune reads the policy before any request; a sync
		 * without it does not (it reaches for Zendesk). */
		{ ", \"custom_roles\": [{\"name\": \"T\"}], \"policy\": "
		    "{\"rules\": [{\"name\": \"x\", \"when\": {}, \"then\": "
		    "{\"role\": \"boss\"}}]}, " DEAD_ZD,
		    ROLES_INPUT, "test.json: policy.rules[0].then.role: expected "
		    "end-user, agent or admin (--prune keeps the custom roles", 1 },
		{ ", \"custom_roles\": [{\"name\": \"T\"}], \"policy\": "
		    "{\"rules\": [{\"name\": \"x\", \"when\": {}, \"then\": "
		    "{\"role\": \"boss\"}}]}, " DEAD_ZD,
		    ROLES_ZENDESK, "listing custom roles: cannot reach Zendesk",
		    0 },
	};
	char text[2048], err[CONFIG_ERRLEN];
	size_t i;

	(void)state;
	setenv("RH_T_ROLES_ZD", "t0ken", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = NULL;
		struct notes ns;
		struct roles_report rep = { on_note, on_step, NULL };
		struct roles_opts o = { 0, cases[i].prune };
		struct roles_result r;

		snprintf(text, sizeof(text), "%s%s}", BASE, cases[i].extra);
		if (config_parse(text, strlen(text), "test.json",
		    CONFIG_SECRETS_SKIP, &cfg, err, sizeof(err)) != 0)
			fail_msg("config: %s", err);
		memset(&ns, 0, sizeof(ns));
		rep.arg = &ns;
		assert_int_equal(roles_sync(cfg, &o, &rep, &r), cases[i].want);
		if (!has_note(&ns, cases[i].note))
			fail_msg("case %zu: no note \"%s\" (%s)", i,
			    cases[i].note, ns.n > 0 ? ns.text[0] : "none");
		assert_int_equal(ns.nsteps, 0);
		assert_null(r.plan.steps);
		roles_result_clear(&r);
		config_free(cfg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_config_lists_every_problem),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_keeps_roles_the_policy_names),
		cmocka_unit_test(test_plan_refuses_bad_declarations),
		cmocka_unit_test(test_dry_run_reports_every_step),
		cmocka_unit_test(test_sync_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
