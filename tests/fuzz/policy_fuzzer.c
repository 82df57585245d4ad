/*
 * policy_fuzzer.c -- libFuzzer target for policy_compile, policy_evaluate,
 * policy_check and plan_build.
 *
 * The input is a `policy` object (JSON).  When it compiles, it is
 * evaluated against a few fixed events (every kind, missing and empty
 * attributes, protected people) and each decision is planned against a
 * fixed Zendesk user and against no user.  Besides memory safety it
 * checks the contract: an error is "policy...: message" and
 * NUL-terminated; the hash is 64 hex digits; a decision's rule is one of
 * the policy's; a plan never writes an agent without a custom_role_id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/normalize.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fev {
	const char *kind;
	const char *subject;
	const char *kv[12];
};

static const struct fev events[] = {
	{ "hire", "hr:1", { "department", "Support", "title", "Associate Agent",
	  "email", "ann@example.com", "custom.worker_type", "contractor",
	  NULL } },
	{ "update", "hr:2", { "department", "Support", "title", "Team Lead",
	  "external_id", "E2", NULL } },
	{ "terminate", "hr:3", { "email", "owner@example.com", NULL } },
	{ "rehire", "hr:4", { "title", "", "department", "Sales", NULL } },
	{ "zendesk.user.role_changed", "zendesk:5", { "email",
	  "x@vendor.example", NULL } },
	{ "ignored", NULL, { NULL } },
	{ "update", "hr:6", { NULL } },
};

static const char current_text[] =
    "{\"user\":{\"id\":42,\"email\":\"ann@example.com\",\"role\":\"agent\","
    "\"custom_role_id\":1,\"suspended\":false},\"entitlements\":{\"chat\":"
    "{\"name\":\"agent\",\"is_active\":true}},\"group_memberships\":"
    "[{\"id\":7,\"group_id\":1}]}";

static const char roles_text[] = "{\"custom_roles\":[{\"id\":1,\"name\":"
    "\"Tier 1\"},{\"id\":2,\"name\":\"Team lead\"},{\"id\":3,\"name\":"
    "\"A\"}]}";
static const char groups_text[] = "{\"groups\":[{\"id\":1,\"name\":\"Tier 1\"},"
    "{\"id\":2,\"name\":\"G\"}]}";

static void
check_plan(const struct plan *pl)
{
	struct json_object *u, *r;
	size_t i;

	for (i = 0; i < pl->nwrites; i++) {
		if (pl->writes[i].method == NULL || pl->writes[i].path == NULL)
			abort();
		if (pl->writes[i].body != NULL &&
		    json_object_object_get_ex(pl->writes[i].body, "user", &u) &&
		    json_object_object_get_ex(u, "role", &r) &&
		    strcmp(json_object_get_string(r), "agent") == 0 &&
		    !json_object_object_get_ex(u, "custom_role_id", NULL))
			abort();
	}
	for (i = 0; i < POLICY_NPRODUCTS; i++)
		if (pl->seat_delta[i] < -1 || pl->seat_delta[i] > 1)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const role_names[] = { "Tier 1", "Team lead" };
	struct json_tokener *tok;
	struct json_object *doc, *cur, *roles, *groups, *dj;
	struct policy *p = NULL;
	struct policy_decision d;
	struct norm_event ev;
	struct plan *pl;
	struct plan_opts opts;
	char err[POLICY_ERRLEN], perr[PLAN_ERRLEN];
	size_t i, j, k, n;

	if (size > 65536)
		return 0;
	if ((tok = json_tokener_new_ex(32)) == NULL)
		return 0;
	doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	memset(err, 'x', sizeof(err));
	if (policy_compile(doc, &p, err, sizeof(err)) != 0) {
		if (p != NULL || memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, "policy", 6) != 0 ||
		    strstr(err, ": ") == NULL)
			abort();
		json_object_put(doc);
		return 0;
	}
	json_object_put(doc);
	if (strlen(policy_hash(p)) != POLICY_HASH_HEXLEN ||
	    strspn(policy_hash(p), "0123456789abcdef") != POLICY_HASH_HEXLEN)
		abort();
	(void)policy_check(p, role_names, 2, role_names, 1, NULL, NULL, err,
	    sizeof(err));
	cur = json_tokener_parse(current_text);
	roles = json_tokener_parse(roles_text);
	groups = json_tokener_parse(groups_text);
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = (char *)events[i].kind;
		ev.subject = (char *)events[i].subject;
		for (j = 0; events[i].kv[j] != NULL; j += 2) {
			ev.attrs[ev.nattrs].key = (char *)events[i].kv[j];
			ev.attrs[ev.nattrs++].value = (char *)events[i].kv[j + 1];
		}
		policy_evaluate(p, &ev, &d);
		if (d.rule != NULL && d.leaver)
			abort();
		if (d.desired.role != NULL && strcmp(d.desired.role, "agent") == 0
		    && d.desired.custom_role == NULL)
			abort();
		if ((dj = policy_desired_to_json(&d.desired)) == NULL)
			abort();
		json_object_put(dj);
		for (k = 0; k < 4; k++) {
			opts.entitlements = (int)(k & 1);
			opts.split_user_writes = (int)(k >> 1 & 1);
			opts.steps = policy_leaver_steps(p, &n);
			opts.nsteps = n;
			pl = NULL;
			if (plan_build(&d, &ev, k & 2 ? cur : NULL, roles, groups,
			    NULL, &opts, &pl, perr, sizeof(perr)) == 0) {
				check_plan(pl);
				dj = plan_writes_to_json(pl);
				json_object_put(dj);
			} else if (pl != NULL || perr[0] == '\0')
				abort();
			plan_free(pl);
		}
	}
	json_object_put(cur);
	json_object_put(roles);
	json_object_put(groups);
	policy_free(p);
	return 0;
}
