/*
 * test_policy.c -- policy_compile / policy_evaluate / policy_check:
 * first match wins, every operator (table), kinds and leavers, protected
 * people, compile errors naming the JSON path (table), unknown names and
 * dead rules, and the canonical hash.
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

#include "rolehook/normalize.h"
#include "rolehook/policy.h"

/* ---------------------------------------------------------- helpers */

static struct json_object *
parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (o == NULL)
		fail_msg("test JSON does not parse: %s", text);
	return o;
}

static struct policy *
compile_ok(const char *text)
{
	struct json_object *o = parse(text);
	struct policy *p = NULL;
	char err[POLICY_ERRLEN];

	if (policy_compile(o, &p, err, sizeof(err)) != 0)
		fail_msg("policy does not compile: %s\n%s", err, text);
	json_object_put(o);
	return p;
}

/*
 * An event built in place: kind, subject, then key/value pairs ending
 * with NULL.  Strings are copied; ev_clear frees them.
 */
static void
ev_make(struct norm_event *ev, const char *kind, const char *subject, ...)
{
	const char *k, *v;
	va_list ap;

	memset(ev, 0, sizeof(*ev));
	ev->kind = kind != NULL ? strdup(kind) : NULL;
	ev->subject = subject != NULL ? strdup(subject) : NULL;
	va_start(ap, subject);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		ev->attrs[ev->nattrs].key = strdup(k);
		ev->attrs[ev->nattrs].value = strdup(v);
		ev->nattrs++;
	}
	va_end(ap);
}

static void
ev_clear(struct norm_event *ev)
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

#define T1 "{\"role\":\"agent\",\"custom_role\":\"Tier 1\"}"

/* ------------------------------------------------------ first match */

static void
test_first_match_wins(void **state)
{
	struct policy *p;
	struct norm_event ev;
	struct policy_decision d;

	(void)state;
	p = compile_ok("{\"rules\":["
	    "{\"name\":\"a\",\"when\":{\"department\":\"Support\"},\"then\":"
	    "{\"role\":\"agent\",\"custom_role\":\"A\"}},"
	    "{\"name\":\"b\",\"when\":{\"department\":\"Support\",\"title\":"
	    "\"Lead\"},\"then\":{\"role\":\"agent\",\"custom_role\":\"B\"}},"
	    "{\"name\":\"rest\",\"when\":{},\"then\":{\"role\":\"end-user\"}}]}");
	ev_make(&ev, "update", "hr:1", "department", "Support", "title", "Lead",
	    NULL);
	policy_evaluate(p, &ev, &d);
	assert_string_equal(d.rule, "a");
	assert_string_equal(d.desired.custom_role, "A");
	assert_string_equal(d.desired.role, "agent");
	assert_int_equal(d.leaver, 0);
	assert_int_equal(d.desired.suspended, -1);   /* update: unmanaged */
	assert_string_equal(d.policy_hash, policy_hash(p));
	ev_clear(&ev);
	ev_make(&ev, "hire", "hr:2", "department", "Sales", NULL);
	policy_evaluate(p, &ev, &d);
	assert_string_equal(d.rule, "rest");
	assert_string_equal(d.desired.role, "end-user");
	assert_int_equal(d.desired.suspended, 0);    /* hire: active */
	/* an end-user holds no product: all but support off */
	assert_int_equal(d.desired.ent[POLICY_SUPPORT].state,
	    POLICY_ENT_UNMANAGED);
	assert_int_equal(d.desired.ent[POLICY_TALK].state, POLICY_ENT_OFF);
	assert_int_equal(d.desired.ent[POLICY_EXPLORE].state, POLICY_ENT_OFF);
	ev_clear(&ev);
	policy_free(p);
}

/* -------------------------------------------------------- operators */

static const struct {
	const char *policy_extra;  /* top-level members before "rules" */
	const char *cond;          /* the JSON value for "title" */
	const char *value;         /* the event's title, NULL = missing */
	int match;
} ops[] = {
	{ "", "\"Lead\"", "Lead", 1 },
	{ "", "\"Lead\"", "lead", 0 },
	{ "", "\"Lead\"", "Lead ", 0 },
	{ "", "\"Lead\"", NULL, 0 },
	{ "", "\"Lead\"", "", 0 },                 /* empty is missing */
	{ "", "{\"in\":[\"Lead\",\"Manager\"]}", "Manager", 1 },
	{ "", "{\"in\":[\"Lead\",\"Manager\"]}", "Director", 0 },
	{ "", "{\"in\":[\"Lead\"]}", NULL, 0 },
	{ "", "{\"prefix\":\"Assoc\"}", "Associate", 1 },
	{ "", "{\"prefix\":\"Assoc\"}", "Asso", 0 },
	{ "", "{\"prefix\":\"Assoc\"}", NULL, 0 },
	{ "", "{\"suffix\":\"Engineer\"}", "Support Engineer", 1 },
	{ "", "{\"suffix\":\"Engineer\"}", "Engineering", 0 },
	{ "", "{\"suffix\":\"Engineer\"}", "Eng", 0 },
	{ "", "{\"contains\":\"Lead\"}", "Team Lead EMEA", 1 },
	{ "", "{\"contains\":\"Lead\"}", "Team", 0 },
	{ "", "{\"exists\":true}", "x", 1 },
	{ "", "{\"exists\":true}", NULL, 0 },
	{ "", "{\"exists\":false}", NULL, 1 },
	{ "", "{\"exists\":false}", "x", 0 },
	{ "", "{\"not\":\"Lead\"}", "Agent", 1 },
	{ "", "{\"not\":\"Lead\"}", "Lead", 0 },
	{ "", "{\"not\":\"Lead\"}", NULL, 0 },     /* missing never matches */
	{ "", "{\"not\":{\"in\":[\"A\",\"B\"]}}", "C", 1 },
	{ "", "{\"not\":{\"in\":[\"A\",\"B\"]}}", NULL, 0 },
	{ "", "{\"not\":{\"exists\":true}}", NULL, 1 },
	{ "", "{\"not\":{\"exists\":true}}", "x", 0 },
	{ "", "{\"not\":{\"not\":\"Lead\"}}", "Lead", 1 },
	{ "", "{\"not\":{\"not\":\"Lead\"}}", NULL, 0 },
	{ "", "{\"prefix\":\"assoc\",\"ignore_case\":true}", "ASSOCIATE", 1 },
	{ "", "{\"in\":[\"lead\"],\"ignore_case\":true}", "LEAD", 1 },
	{ "", "{\"suffix\":\"LEAD\",\"ignore_case\":true}", "team lead", 1 },
	{ "", "{\"contains\":\"LEAD\",\"ignore_case\":true}", "a lead b", 1 },
	{ "\"ignore_case\":true,", "\"lead\"", "LEAD", 1 },
	{ "\"ignore_case\":true,", "{\"in\":[\"lead\"],\"ignore_case\":false}",
	    "LEAD", 0 },
	{ "\"ignore_case\":true,", "{\"not\":\"lead\"}", "LEAD", 0 },
};

static void
test_operators(void **state)
{
	char text[1024];
	struct policy *p;
	struct norm_event ev;
	struct policy_decision d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(text, sizeof(text), "{%s\"rules\":[{\"name\":\"r\","
		    "\"when\":{\"title\":%s},\"then\":" T1 "}]}",
		    ops[i].policy_extra, ops[i].cond);
		p = compile_ok(text);
		if (ops[i].value != NULL)
			ev_make(&ev, "update", "s", "title", ops[i].value,
			    "email", "a@b.c", NULL);
		else
			ev_make(&ev, "update", "s", "email", "a@b.c", NULL);
		policy_evaluate(p, &ev, &d);
		if ((d.rule != NULL) != ops[i].match)
			fail_msg("case %zu: %s on %s: expected %s", i,
			    ops[i].cond, ops[i].value ? ops[i].value : "(missing)",
			    ops[i].match ? "match" : "no match");
		ev_clear(&ev);
		policy_free(p);
	}
}

static void
test_custom_attribute_and_all_conditions(void **state)
{
	struct policy *p;
	struct norm_event ev;
	struct policy_decision d;

	(void)state;
	p = compile_ok("{\"rules\":[{\"name\":\"c\",\"when\":{\"custom.worker_type"
	    "\":\"contractor\",\"department\":\"Support\"},\"then\":"
	    "{\"role\":\"agent\",\"custom_role\":\"Light\"}}]}");
	ev_make(&ev, "hire", "s", "department", "Support",
	    "custom.worker_type", "contractor", NULL);
	policy_evaluate(p, &ev, &d);
	assert_non_null(d.rule);
	ev_clear(&ev);
	/* every condition must hold */
	ev_make(&ev, "hire", "s", "department", "Sales",
	    "custom.worker_type", "contractor", NULL);
	policy_evaluate(p, &ev, &d);
	assert_null(d.rule);
	ev_clear(&ev);
	policy_free(p);
}

/* ---------------------------------------------------- kinds, leavers */

static void
test_kinds_and_leaver(void **state)
{
	const enum policy_step *steps;
	struct policy *p;
	struct norm_event ev;
	struct policy_decision d;
	size_t n, i;

	(void)state;
	p = compile_ok("{\"rules\":["
	    "{\"name\":\"hold\",\"when\":{\"kind\":\"terminate\",\"custom.legal_"
	    "hold\":\"yes\"},\"then\":{\"role\":\"agent\",\"custom_role\":\"Hold"
	    "\",\"suspended\":true}},"
	    "{\"name\":\"drift\",\"when\":{\"kind\":{\"prefix\":\"zendesk.\"},"
	    "\"email\":{\"suffix\":\"@vendor.example\"}},\"then\":{\"role\":"
	    "\"end-user\"}},"
	    "{\"name\":\"all\",\"when\":{},\"then\":" T1 "}],"
	    "\"leaver\":{\"steps\":[\"suspend\",\"downgrade\"]}}");
	/* plain rules apply to hire, update and rehire */
	for (i = 0; i < 3; i++) {
		ev_make(&ev, (const char *[]){ "hire", "update", "rehire" }[i],
		    "s", NULL);
		policy_evaluate(p, &ev, &d);
		assert_string_equal(d.rule, "all");
		assert_int_equal(d.desired.suspended, i == 1 ? -1 : 0);
		ev_clear(&ev);
	}
	/* a terminate never meets the catch-all: leaver state */
	ev_make(&ev, "terminate", "s", "department", "Support", NULL);
	policy_evaluate(p, &ev, &d);
	assert_null(d.rule);
	assert_int_equal(d.leaver, 1);
	assert_string_equal(d.desired.role, "end-user");
	assert_int_equal(d.desired.suspended, 1);
	assert_int_equal(d.desired.ent[POLICY_CHAT].state, POLICY_ENT_OFF);
	ev_clear(&ev);
	/* ... unless a rule names the kind */
	ev_make(&ev, "terminate", "s", "custom.legal_hold", "yes", NULL);
	policy_evaluate(p, &ev, &d);
	assert_string_equal(d.rule, "hold");
	assert_int_equal(d.leaver, 0);
	assert_int_equal(d.desired.suspended, 1);
	ev_clear(&ev);
	/* Zendesk events: only kind rules */
	ev_make(&ev, "zendesk.user.role_changed", "zendesk:1", "email",
	    "a@corp.example", NULL);
	policy_evaluate(p, &ev, &d);
	assert_null(d.rule);
	assert_int_equal(d.leaver, 0);
	assert_null(d.desired.role);
	ev_clear(&ev);
	ev_make(&ev, "zendesk.user.role_changed", "zendesk:1", "email",
	    "x@vendor.example", NULL);
	policy_evaluate(p, &ev, &d);
	assert_string_equal(d.rule, "drift");
	ev_clear(&ev);
	ev_make(&ev, "ignored", NULL, NULL);
	policy_evaluate(p, &ev, &d);
	assert_null(d.rule);
	assert_null(d.desired.role);
	ev_clear(&ev);
	steps = policy_leaver_steps(p, &n);
	assert_int_equal(n, 2);
	assert_int_equal(steps[0], POLICY_STEP_SUSPEND);
	assert_int_equal(steps[1], POLICY_STEP_DOWNGRADE);
	policy_free(p);

	p = compile_ok("{\"rules\":[]}");
	steps = policy_leaver_steps(p, &n);
	assert_int_equal(n, 3);
	assert_string_equal(policy_step_name(steps[0]), "entitlements_off");
	assert_string_equal(policy_step_name(steps[1]), "downgrade");
	assert_string_equal(policy_step_name(steps[2]), "suspend");
	assert_int_equal(policy_rehire_window_days(p), 90);
	assert_int_equal(policy_limits(p)->downgrades_per_hour, -1);
	policy_free(p);
}

/* -------------------------------------------------------- protected */

static void
test_protected(void **state)
{
	struct policy *p;
	struct norm_event ev;
	struct policy_decision d;

	(void)state;
	p = compile_ok("{\"protected\":[\"Owner@Example.com\",\"X-7\","
	    "{\"subject\":\"bamboohr:42\"},{\"email\":\"cfo@example.com\"}],"
	    "\"rules\":[{\"name\":\"all\",\"when\":{},\"then\":{\"role\":"
	    "\"end-user\"}}]}");
	ev_make(&ev, "update", "hr:1", "email", "owner@EXAMPLE.com", NULL);
	policy_evaluate(p, &ev, &d);
	assert_int_equal(d.is_protected, 1);
	assert_string_equal(d.rule, "all");  /* still evaluated, for the report */
	ev_clear(&ev);
	ev_make(&ev, "terminate", "bamboohr:42", NULL);
	policy_evaluate(p, &ev, &d);
	assert_int_equal(d.is_protected, 1);
	ev_clear(&ev);
	ev_make(&ev, "update", "hr:3", "external_id", "X-7", NULL);
	policy_evaluate(p, &ev, &d);
	assert_int_equal(d.is_protected, 1);
	ev_clear(&ev);
	ev_make(&ev, "update", "hr:4", "external_id", "x-7", "email",
	    "someone@example.com", NULL);
	policy_evaluate(p, &ev, &d);
	assert_int_equal(d.is_protected, 0);   /* ids are exact */
	ev_clear(&ev);
	assert_int_equal(policy_is_protected(p, "CFO@example.com", NULL, NULL),
	    1);
	assert_int_equal(policy_is_protected(p, NULL, "cfo@example.com", NULL),
	    0);  /* an {"email"} entry is not an external id */
	assert_int_equal(policy_is_protected(p, NULL, NULL, NULL), 0);
	policy_free(p);
}

/* --------------------------------------------------- compile errors */

static const struct {
	const char *json;
	const char *path;       /* the message starts with "path: " */
	const char *phrase;
} bad[] = {
	{ "[]", "policy", "expected an object" },
	{ "{}", "policy.rules", "missing" },
	{ "{\"rules\":{}}", "policy.rules", "expected an array" },
	{ "{\"rulez\":[]}", "policy", "unknown member \"rulez\"" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":" T1 "},"
	  "{\"name\":\"b\",\"when\":{},\"then\":" T1 "},"
	  "{\"name\":\"c\",\"when\":{\"title\":5},\"then\":" T1 "}]}",
	  "policy.rules[2].when.title", "expected a string or an object with "
	  "one of in, prefix, suffix, contains, exists, not" },
	{ "{\"rules\":[{\"when\":{},\"then\":" T1 "}]}", "policy.rules[0].name",
	  "missing" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":" T1 "},"
	  "{\"name\":\"a\",\"when\":{},\"then\":" T1 "}]}",
	  "policy.rules[1].name", "also the name of rules[0]" },
	{ "{\"rules\":[{\"name\":\"a\",\"then\":" T1 "}]}",
	  "policy.rules[0].when", "use {} to match everyone" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":[],\"then\":" T1 "}]}",
	  "policy.rules[0].when", "expected an object" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"dept\":\"x\"},\"then\":"
	  T1 "}]}", "policy.rules[0].when.dept", "unknown attribute" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"custom.\":\"x\"},\"then\":"
	  T1 "}]}", "policy.rules[0].when.custom.", "unknown attribute" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"regex\":\"x\"}},"
	  "\"then\":" T1 "}]}", "policy.rules[0].when.title",
	  "unknown operator \"regex\"" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"prefix\":\"x\","
	  "\"suffix\":\"y\"}},\"then\":" T1 "}]}", "policy.rules[0].when.title",
	  "expected a string or an object" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"in\":[]}},"
	  "\"then\":" T1 "}]}", "policy.rules[0].when.title.in",
	  "non-empty array" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"in\":[\"a\",3]}},"
	  "\"then\":" T1 "}]}", "policy.rules[0].when.title.in[1]",
	  "expected a string" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"exists\":1}},"
	  "\"then\":" T1 "}]}", "policy.rules[0].when.title.exists",
	  "true or false" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"prefix\":\"\"}},"
	  "\"then\":" T1 "}]}", "policy.rules[0].when.title.prefix",
	  "non-empty" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"not\":{\"not\":"
	  "{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":\"x\""
	  "}}}}}}}}}},\"then\":" T1 "}]}", "policy.rules[0].when.title.not.not.not.not.not.not.not.not.not",
	  "nested deeper" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{\"title\":{\"prefix\":\"x\","
	  "\"ignore_case\":\"yes\"}},\"then\":" T1 "}]}",
	  "policy.rules[0].when.title.ignore_case", "true or false" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{}}]}",
	  "policy.rules[0].then.role", "missing" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":"
	  "\"light-agent\"}}]}", "policy.rules[0].then.role",
	  "end-user, agent or admin" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":"
	  "\"agent\"}}]}", "policy.rules[0].then",
	  "never an agent without a custom role" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":"
	  "\"agent\",\"groups\":[\"x\"]}}]}", "policy.rules[0].then",
	  "never an agent without a custom role" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":"
	  "\"end-user\",\"custom_role\":\"x\"}}]}",
	  "policy.rules[0].then.custom_role", "no custom role" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":"
	  "\"end-user\",\"entitlements\":{\"talk\":\"agent\"}}}]}",
	  "policy.rules[0].then.entitlements.talk", "no product seat" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":"
	  "\"end-user\",\"groups\":[\"G\"]}}]}",
	  "policy.rules[0].then.groups", "cannot be a group member" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":\"agent\","
	  "\"custom_role\":\"x\",\"entitlements\":{\"voice\":\"agent\"}}}]}",
	  "policy.rules[0].then.entitlements.voice", "unknown product" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":\"agent\","
	  "\"custom_role\":\"x\",\"entitlements\":{\"talk\":true}}}]}",
	  "policy.rules[0].then.entitlements.talk", "or false" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":\"agent\","
	  "\"custom_role\":\"x\",\"groups\":[\"g\",\"g\"]}}]}",
	  "policy.rules[0].then.groups[1]", "listed twice" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":\"agent\","
	  "\"custom_role\":\"x\",\"suspended\":\"no\"}}]}",
	  "policy.rules[0].then.suspended", "true or false" },
	{ "{\"rules\":[{\"name\":\"a\",\"when\":{},\"then\":{\"role\":\"agent\","
	  "\"custom_role\":\"x\",\"group\":[]}}]}",
	  "policy.rules[0].then", "unknown member \"group\"" },
	{ "{\"rules\":[],\"leaver\":{\"steps\":[\"downgrade\",\"delete\"]}}",
	  "policy.leaver.steps[1]", "unknown step" },
	{ "{\"rules\":[],\"leaver\":{\"steps\":[\"suspend\",\"suspend\"]}}",
	  "policy.leaver.steps[1]", "listed twice" },
	{ "{\"rules\":[],\"leaver\":{\"steps\":[]}}", "policy.leaver.steps",
	  "1 to 3 distinct steps" },
	{ "{\"rules\":[],\"leaver\":{\"order\":[]}}", "policy.leaver",
	  "unknown member" },
	{ "{\"rules\":[],\"match_users_by\":[\"email\",\"phone\"]}",
	  "policy.match_users_by[1]", "external_id or email" },
	{ "{\"rules\":[],\"match_users_by\":[\"email\",\"email\"]}",
	  "policy.match_users_by[1]", "listed twice" },
	{ "{\"rules\":[],\"limits\":{\"downgrades_per_day\":1}}",
	  "policy.limits", "unknown member" },
	{ "{\"rules\":[],\"limits\":{\"downgrades_per_hour\":-1}}",
	  "policy.limits.downgrades_per_hour", "from 0 to 1000000" },
	{ "{\"rules\":[],\"limits\":{\"downgrades_per_hour\":1.5}}",
	  "policy.limits.downgrades_per_hour", "whole number" },
	{ "{\"rules\":[],\"limits\":{\"writes_per_minute\":0}}",
	  "policy.limits.writes_per_minute", "from 1 to 1000000" },
	{ "{\"rules\":[],\"rehire_window_days\":4000}",
	  "policy.rehire_window_days", "from 0 to 3650" },
	{ "{\"rules\":[],\"protected\":\"owner@example.com\"}",
	  "policy.protected", "expected an array" },
	{ "{\"rules\":[],\"protected\":[{\"phone\":\"1\"}]}",
	  "policy.protected[0]", "expected one of" },
	{ "{\"rules\":[],\"protected\":[\"\"]}", "policy.protected[0]",
	  "non-empty" },
	{ "{\"rules\":[],\"ignore_case\":1}", "policy.ignore_case",
	  "true or false" },
};

static void
test_compile_errors(void **state)
{
	struct json_object *o;
	struct policy *p;
	char err[POLICY_ERRLEN], want[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = parse(bad[i].json);
		p = (struct policy *)&p;   /* must be reset to NULL */
		if (policy_compile(o, &p, err, sizeof(err)) == 0)
			fail_msg("case %zu compiled: %s", i, bad[i].json);
		assert_null(p);
		snprintf(want, sizeof(want), "%s: ", bad[i].path);
		if (strncmp(err, want, strlen(want)) != 0 ||
		    strstr(err, bad[i].phrase) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s...%s\"", i, err,
			    want, bad[i].phrase);
		json_object_put(o);
	}
	/* NULL policy */
	assert_int_equal(policy_compile(NULL, &p, err, sizeof(err)), -1);
	assert_string_equal(err, "policy: expected an object, found null");
}

static void
test_full_policy_compiles(void **state)
{
	const struct policy_limits *l;
	const char *const *m;
	struct policy *p;
	size_t n;

	(void)state;
	p = compile_ok("{\"match_users_by\":[\"email\"],"
	    "\"protected\":[\"owner@example.com\"],"
	    "\"rules\":[{\"name\":\"tier1\",\"description\":\"first line\","
	    "\"when\":{\"department\":\"Support\",\"title\":{\"prefix\":"
	    "\"Associate\"}},\"then\":{\"role\":\"agent\",\"custom_role\":"
	    "\"Tier 1\",\"groups\":[\"Tier 1\"],\"entitlements\":{\"talk\":"
	    "\"agent\",\"chat\":\"agent\",\"guide\":false}}},"
	    "{\"name\":\"admins\",\"when\":{\"title\":\"CTO\"},\"then\":"
	    "{\"role\":\"admin\"}}],"
	    "\"leaver\":{\"steps\":[\"entitlements_off\",\"downgrade\","
	    "\"suspend\"]},"
	    "\"limits\":{\"downgrades_per_hour\":20,\"writes_per_minute\":300},"
	    "\"rehire_window_days\":30}");
	assert_int_equal(policy_nrules(p), 2);
	m = policy_match_users_by(p, &n);
	assert_int_equal(n, 1);
	assert_string_equal(m[0], "email");
	l = policy_limits(p);
	assert_int_equal(l->downgrades_per_hour, 20);
	assert_int_equal(l->writes_per_minute, 300);
	assert_int_equal(l->suspensions_per_hour, -1);
	assert_int_equal(policy_rehire_window_days(p), 30);
	assert_int_equal(strlen(policy_hash(p)), POLICY_HASH_HEXLEN);
	policy_free(p);
	policy_free(NULL);
}

/* ------------------------------------------------------------ check */

struct warns {
	int n;
	char last[POLICY_ERRLEN];
};

static void
collect(void *arg, const char *msg)
{
	struct warns *w = arg;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static void
test_check(void **state)
{
	static const char *const roles[] = { "Tier 1", "Team lead" };
	static const char *const groups[] = { "Tier 1", "Leads" };
	struct policy *p;
	struct warns w;
	char err[POLICY_ERRLEN];

	(void)state;
	p = compile_ok("{\"rules\":["
	    "{\"name\":\"tier1\",\"when\":{\"title\":\"A\"},\"then\":{\"role\":"
	    "\"agent\",\"custom_role\":\"Tier 1\",\"groups\":[\"Tier 1\"]}},"
	    "{\"name\":\"leads\",\"when\":{\"title\":\"L\"},\"then\":{\"role\":"
	    "\"agent\",\"custom_role\":\"Team Lead\",\"groups\":[\"Leads\"]}}]}");
	memset(&w, 0, sizeof(w));
	assert_int_equal(policy_check(p, roles, 2, groups, 2, collect, &w, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "policy.rules[1] (leads): custom role \"Team "
	    "Lead\" does not exist in Zendesk; create it (rolehook roles sync) "
	    "or fix the name");
	/* without the roles list only groups are checked */
	assert_int_equal(policy_check(p, NULL, 0, groups, 2, collect, &w, err,
	    sizeof(err)), 0);
	assert_int_equal(policy_check(p, NULL, 0, roles, 2, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "policy.rules[1] (leads): group \"Leads\" "
	    "does not exist"));
	assert_int_equal(w.n, 0);
	/* Every unknown name in one run: the first in full, then the rest. */
	{
		static const char *const none[] = { "Other" };

		assert_int_equal(policy_check(p, none, 1, none, 1, NULL, NULL,
		    err, sizeof(err)), -1);
		assert_string_equal(err, "policy.rules[0] (tier1): custom role "
		    "\"Tier 1\" does not exist in Zendesk; create it (rolehook "
		    "roles sync) or fix the name; also unknown: policy.rules[0] "
		    "(tier1): group \"Tier 1\", policy.rules[1] (leads): custom "
		    "role \"Team Lead\", policy.rules[1] (leads): group "
		    "\"Leads\"");
	}
	policy_free(p);

	p = compile_ok("{\"rules\":["
	    "{\"name\":\"a\",\"when\":{\"title\":\"A\",\"department\":\"S\"},"
	    "\"then\":" T1 "},"
	    "{\"name\":\"b\",\"when\":{\"department\":\"S\",\"title\":\"A\"},"
	    "\"then\":" T1 "},"
	    "{\"name\":\"all\",\"when\":{},\"then\":{\"role\":\"end-user\"}},"
	    "{\"name\":\"late\",\"when\":{\"title\":\"X\"},\"then\":" T1 "},"
	    "{\"name\":\"leavers\",\"when\":{\"kind\":\"terminate\"},\"then\":"
	    "{\"role\":\"end-user\"}}]}");
	memset(&w, 0, sizeof(w));
	assert_int_equal(policy_check(p, NULL, 0, NULL, 0, collect, &w, err,
	    sizeof(err)), 0);
	assert_int_equal(w.n, 2);  /* b shadowed, late unreachable; leavers ok */
	assert_string_equal(w.last, "policy.rules[3] (late): unreachable: "
	    "rules[2] (all) before it matches every hire, update and rehire");
	policy_free(p);
}

/* ------------------------------------------------------------- hash */

static void
test_hash(void **state)
{
	struct policy *a, *b, *c;
	struct json_object *o;
	char *canon;

	(void)state;
	a = compile_ok("{\"protected\":[\"o@x\"],\"rules\":[{\"name\":\"r\","
	    "\"when\":{\"title\":\"A\",\"department\":\"S\"},\"then\":{\"role\":"
	    "\"agent\",\"custom_role\":\"Tier 1\"}}]}");
	b = compile_ok("{ \"rules\" : [ { \"then\": {\"custom_role\":\"Tier 1\","
	    "\"role\":\"agent\"}, \"when\":{\"department\":\"S\",\"title\":\"A\"},"
	    "\"name\":\"r\"}],\n\"protected\":[\"o@x\"]}");
	c = compile_ok("{\"protected\":[\"o@x\"],\"rules\":[{\"name\":\"r\","
	    "\"when\":{\"title\":\"B\",\"department\":\"S\"},\"then\":{\"role\":"
	    "\"agent\",\"custom_role\":\"Tier 1\"}}]}");
	assert_string_equal(policy_hash(a), policy_hash(b));
	assert_string_not_equal(policy_hash(a), policy_hash(c));
	policy_free(a);
	policy_free(b);
	policy_free(c);

	o = parse("{\"b\":[{\"z\":1,\"a\":null}],\"a\":\"x/y\",\"c\":{}}");
	canon = policy_canonical_json(o);
	assert_string_equal(canon,
	    "{\"a\":\"x\\/y\",\"b\":[{\"a\":null,\"z\":1}],\"c\":{}}");
	free(canon);
	json_object_put(o);
	canon = policy_canonical_json(NULL);
	assert_string_equal(canon, "null");
	free(canon);
	/* sha256 of the canonical text: a known vector */
	a = compile_ok("{\"rules\":[]}");
	/* printf '{"rules":[]}' | sha256sum */
	assert_string_equal(policy_hash(a),
	    "da506c8a9c8a9f31aa00eaeef23d49764b9ace97158a1a0a7aa628e6d446b0fb");
	policy_free(a);
}

static void
test_desired_json(void **state)
{
	struct policy *p;
	struct norm_event ev;
	struct policy_decision d;
	struct json_object *o;

	(void)state;
	p = compile_ok("{\"rules\":[{\"name\":\"t\",\"when\":{},\"then\":{"
	    "\"role\":\"agent\",\"custom_role\":\"Tier 1\",\"groups\":[\"G\"],"
	    "\"entitlements\":{\"talk\":\"agent\"}}}]}");
	ev_make(&ev, "update", "s", NULL);
	policy_evaluate(p, &ev, &d);
	o = policy_desired_to_json(&d.desired);
	assert_string_equal(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"role\":\"agent\",\"custom_role\":"
	    "\"Tier 1\",\"groups\":[\"G\"],\"entitlements\":{\"chat\":false,"
	    "\"talk\":\"agent\",\"guide\":false,\"explore\":false},"
	    "\"suspended\":null}");
	json_object_put(o);
	ev_clear(&ev);
	ev_make(&ev, "update", "s", NULL);
	policy_free(p);
	p = compile_ok("{\"rules\":[]}");
	policy_evaluate(p, &ev, &d);
	o = policy_desired_to_json(&d.desired);
	assert_string_equal(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"role\":null,\"custom_role\":null,"
	    "\"groups\":null,\"entitlements\":{},\"suspended\":null}");
	json_object_put(o);
	ev_clear(&ev);
	policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_custom_attribute_and_all_conditions),
		cmocka_unit_test(test_kinds_and_leaver),
		cmocka_unit_test(test_protected),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_full_policy_compiles),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_desired_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
