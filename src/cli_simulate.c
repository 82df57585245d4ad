/*
 * cli_simulate.c -- rolehook simulate: one event (or a whole population)
 * through normalise -> policy -> plan, printed as JSON.  Verifies
 * nothing, writes nothing, talks to nobody: the inputs are files.
 * Also the policy part of `rolehook check` (cli_check_policy).
 *
 * A thin event (decide_is_thin), which `work` finishes "ignored", is
 * printed in the same shape with no writes and the reason as its note.
 *
 * Exit status: 0 planned, 1 the event or a plan failed (unknown custom
 * role, event the normaliser rejects), 2 usage, configuration or an
 * input file that cannot be read or has the wrong shape.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/cli.h"
#include "rolehook/cliutil.h"
#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/jsonutil.h"
#include "rolehook/normalize.h"
#include "rolehook/people.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"

#define INPUT_MAX (4 * 1024 * 1024)          /* --event, --current, --roles */
#define POPULATION_MAX (256 * 1024 * 1024)   /* --users, --people */
#define INPUT_DEPTH 64
#define ERRLEN 1024

/* The files and options of one run; files parsed are owned here. */
struct sim {
	const char *config_path;
	const char *source, *event_path, *current_path, *roles_path;
	const char *groups_path, *snapshot_path, *users_path, *people_path;
	int all, pretty;
	struct config *cfg;
	struct policy *pol;
	struct json_object *current, *roles, *groups, *snapshot;
	struct json_object *users, *people;
	struct json_object *out;      /* simulate_one's plan(s) */
	struct plan_opts popts;
};

static void
simulate_help(void)
{
	printf(
	    "usage: rolehook simulate [--config FILE] --source NAME --event FILE\n"
	    "                         [--current USER.json] [--roles ROLES.json]\n"
	    "                         [--groups GROUPS.json] [--snapshot USER.json]\n"
	    "                         [--pretty]\n"
	    "       rolehook simulate [--config FILE] --all --users USERS.json\n"
	    "                         --people PEOPLE.json [--roles ROLES.json]\n"
	    "                         [--groups GROUPS.json] [--pretty]\n"
	    "\n"
	    "Runs one event body through the source's normaliser, the policy\n"
	    "and the planner, and prints one JSON object: event, rule, leaver,\n"
	    "protected, desired {role, custom_role, groups, entitlements,\n"
	    "suspended}, writes [{method, path, body}] in order, seat_delta per\n"
	    "product, notes and policy_hash.  A thin event (ids only, not a\n"
	    "terminate), which work ignores, has no rule and no writes and\n"
	    "says why in notes.  Verifies no signature, reads no secret,\n"
	    "writes nothing and calls nobody.\n"
	    "\n"
	    "  --config FILE        configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --source NAME        the source the event came from (its normaliser)\n"
	    "  --event FILE         the webhook body as the sender sends it\n"
	    "  --current FILE       the Zendesk user as GET /api/v2/users/{id}.json\n"
	    "                       returns it, optionally with \"entitlements\"\n"
	    "                       (GET .../entitlements/full body, or the private\n"
	    "                       endpoint's with \"support\") and\n"
	    "                       \"group_memberships\";\n"
	    "                       without it the person has no Zendesk user\n"
	    "  --roles FILE         GET /api/v2/custom_roles.json body\n"
	    "  --groups FILE        GET /api/v2/groups.json body\n"
	    "  --snapshot FILE      rehire: access before leaving (like --current)\n"
	    "  --all                population mode: plan for every person\n"
	    "  --users FILE         GET /api/v2/users.json body {\"users\": [...]};\n"
	    "                       each user may carry \"entitlements\" and\n"
	    "                       \"group_memberships\"\n"
	    "  --people FILE        JSON array of people, each an object of\n"
	    "                       normalised attributes (email, department,\n"
	    "                       title, ..., custom.<key>) plus optional \"kind\"\n"
	    "                       (default update)\n"
	    "  --pretty             indent the output (default on a terminal)\n"
	    "\n"
	    "People are matched to users by policy.match_users_by (default\n"
	    "external_id, then e-mail ignoring case).  See docs/policy.md.\n"
	    "exit status: 0 planned, 1 event or plan failed, 2 usage, config\n"
	    "or input file error\n");
}

static int
usage(const char *msg)
{
	return cliutil_usage_error("simulate", msg);
}

static void
sim_clear(struct sim *s)
{
	json_object_put(s->current);
	json_object_put(s->roles);
	json_object_put(s->groups);
	json_object_put(s->snapshot);
	json_object_put(s->users);
	json_object_put(s->people);
	json_object_put(s->out);
	policy_free(s->pol);
	config_free(s->cfg);
}

/* Loads the config with secrets skipped and compiles its policy. */
static int
load_policy(struct sim *s)
{
	struct json_object *pol, *zd, *e;
	char err[ERRLEN];
	const enum policy_step *steps;

	if (cliutil_load_config(s->config_path, CONFIG_SECRETS_SKIP,
	    &s->cfg) != 0)
		return -1;
	if (!json_object_object_get_ex(s->cfg->root, "policy", &pol)) {
		fprintf(stderr, "rolehook: %s: policy: missing; simulate needs a "
		    "policy section (see docs/policy.md)\n", s->config_path);
		return -1;
	}
	if (policy_compile(pol, &s->pol, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s: %s\n", s->config_path, err);
		return -1;
	}
	if (json_object_object_get_ex(s->cfg->root, "zendesk", &zd) &&
	    json_object_object_get_ex(zd, "entitlements", &e) &&
	    json_object_is_type(e, json_type_boolean))
		s->popts.entitlements = json_object_get_boolean(e);
	steps = policy_leaver_steps(s->pol, &s->popts.nsteps);
	s->popts.steps = steps;
	return 0;
}

/* Reads the optional Zendesk-side files; each must have its shape. */
static int
load_inputs(struct sim *s)
{
	struct {
		const char *path, *member, *flag;
		struct json_object **dst;
	} in[] = {
		{ s->current_path, "user", "--current", &s->current },
		{ s->roles_path, "custom_roles", "--roles", &s->roles },
		{ s->groups_path, "groups", "--groups", &s->groups },
		{ s->snapshot_path, "user", "--snapshot", &s->snapshot },
	};
	struct json_object *v;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (in[i].path == NULL)
			continue;
		if (cliutil_read_json(in[i].path, INPUT_MAX, INPUT_DEPTH, in[i].dst,
		    err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "rolehook: %s\n", err);
			return -1;
		}
		if (!json_object_is_type(*in[i].dst, json_type_object) ||
		    !json_object_object_get_ex(*in[i].dst, in[i].member, &v)) {
			fprintf(stderr, "rolehook: %s: %s: missing; %s expects "
			    "the Zendesk API response body {\"%s\": ...}\n",
			    in[i].path, in[i].member, in[i].flag, in[i].member);
			return -1;
		}
	}
	return 0;
}

/* Plan errors start with the input at fault; print its file instead. */
static void
print_plan_error(const struct sim *s, const char *err)
{
	static const char *const names[] = { "current: ", "roles: ",
		"groups: ", "snapshot: ", "event: " };
	const char *files[] = { s->current_path, s->roles_path,
		s->groups_path, s->snapshot_path, s->event_path };
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (strncmp(err, names[i], n) == 0 && files[i] != NULL) {
			fprintf(stderr, "rolehook: %s: %s\n", files[i], err + n);
			return;
		}
	}
	if (strncmp(err, "roles: ", 7) == 0 && s->roles_path == NULL) {
		fprintf(stderr, "rolehook: %s (pass --roles FILE)\n", err + 7);
		return;
	}
	fprintf(stderr, "rolehook: %s\n", err);
}

static struct json_object *
notes_json(const struct plan *pl)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a != NULL && i < pl->nnotes; i++)
		json_object_array_add(a, json_object_new_string(pl->notes[i]));
	return a;
}

/* Decision + plan members shared by both modes, added to o. */
static void
add_result(struct json_object *o, const struct policy_decision *d,
    const struct plan *pl)
{
	json_object_object_add(o, "rule", d->rule != NULL ?
	    json_object_new_string(d->rule) : NULL);
	json_object_object_add(o, "leaver", json_object_new_boolean(d->leaver));
	json_object_object_add(o, "protected",
	    json_object_new_boolean(d->is_protected));
	if (pl->restored_desired != NULL) {
		json_object_object_add(o, "restored", json_object_new_boolean(1));
		json_object_object_add(o, "desired",
		    json_object_get(pl->restored_desired));
	} else
		json_object_object_add(o, "desired",
		    policy_desired_to_json(&d->desired));
	json_object_object_add(o, "writes", plan_writes_to_json(pl));
	json_object_object_add(o, "seat_delta",
	    plan_seat_delta_to_json(pl->seat_delta));
	json_object_object_add(o, "notes", notes_json(pl));
}

static void
print_json(const struct sim *s, struct json_object *o)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= s->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
	    JSON_C_TO_STRING_PLAIN;
	printf("%s\n", json_object_to_json_string_ext(o, flags));
}

/* --------------------------------------------------------- one event */

/*
 * A person `work` does not apply through policy (decide_is_thin), in
 * the shape of every plan: no rule, nothing desired, no writes, no seat
 * change, and why (the outcome note `work` records) as the one note.
 * Returns the object (caller puts it), or NULL out of memory.
 */
static struct json_object *
not_applied(const struct sim *s, const struct norm_event *ev,
    const char *why)
{
	struct policy_decision d;
	struct plan pl;
	struct json_object *o;
	char note[ERRLEN], *notes[1] = { note };

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	memset(&d, 0, sizeof(d));
	d.desired.suspended = -1;          /* as policy_evaluate: unmanaged */
	memset(&pl, 0, sizeof(pl));        /* no writes, seat_delta 0 */
	snprintf(note, sizeof(note), "%s", why);
	pl.notes = notes;
	pl.nnotes = 1;
	json_object_object_add(o, "event", norm_event_to_json(ev));
	add_result(o, &d, &pl);
	json_object_object_add(o, "policy_hash",
	    json_object_new_string(policy_hash(s->pol)));
	return o;
}

/*
 * The plan for one normalised person: *out gets the object simulate
 * prints ({"event", "rule", ..., "policy_hash"}; caller puts it).
 * Returns 0, or -1 with the error printed.
 */
static int
plan_person(struct sim *s, const struct norm_event *ev,
    struct json_object **out)
{
	struct policy_decision d;
	struct plan *pl = NULL;
	struct json_object *o = NULL;
	const char *why;
	char err[ERRLEN];
	int rc = -1;

	*out = NULL;
	if (decide_is_thin(ev, &why))
		return (*out = not_applied(s, ev, why)) != NULL ? 0 : -1;
	if (decide_plan(s->pol, ev, s->current, s->roles, s->groups,
	    s->snapshot, &s->popts, &d, &pl, err, sizeof(err)) != 0) {
		print_plan_error(s, err);
		goto out;
	}
	if ((o = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(o, "event", norm_event_to_json(ev));
	add_result(o, &d, pl);
	json_object_object_add(o, "policy_hash",
	    json_object_new_string(d.policy_hash));
	*out = o;
	o = NULL;
	rc = 0;
out:
	json_object_put(o);
	plan_free(pl);
	return rc;
}

/* decide_person_fn: one person's plan, kept for printing. */
static int
one_person(void *arg, size_t index, size_t count, const struct norm_event *ev)
{
	struct sim *s = arg;
	struct json_object *o;

	(void)index;
	if (plan_person(s, ev, &o) != 0)
		return 1;
	if (count == 1) {
		s->out = o;
		return 0;
	}
	if ((s->out == NULL && (s->out = json_object_new_array()) == NULL) ||
	    json_object_array_add(s->out, o) != 0) {
		json_object_put(o);
		return 1;
	}
	return 0;
}

/*
 * One delivery.  A batch (BambooHR {"employees": [...]} with more than
 * one entry) is planned per person, as `work` splits it: the output is
 * then a JSON array of the single-person objects, in entry order, each
 * planned against the same --current/--roles/--groups/--snapshot.  Any
 * entry that does not normalise or plan fails the whole run (exit 1).
 */
static int
simulate_one(struct sim *s)
{
	const struct json_object *mapping;
	char err[DECIDE_ERRLEN], *body = NULL;
	size_t len = 0;
	int rc = EXIT_USAGE;

	if (decide_normalizer(s->cfg, s->source, &mapping) == NULL) {
		fprintf(stderr, "rolehook: %s: sources: no source named \"%s\"; "
		    "'rolehook check' lists the configuration\n", s->config_path,
		    s->source);
		goto out;
	}
	if (cliutil_read_file(s->event_path, s->cfg->server.max_body, &body,
	    &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s\n", err);
		goto out;
	}
	if (load_inputs(s) != 0)
		goto out;
	rc = 1;
	switch (decide_each(s->cfg, s->source, body, len, time(NULL),
	    one_person, s, err, sizeof(err))) {
	case 0:
		print_json(s, s->out);
		rc = 0;
		break;
	case -1:
		fprintf(stderr, "rolehook: %s: %s\n", s->event_path, err);
		break;
	}
out:
	free(body);
	return rc;
}

/* ---------------------------------------------------------- population */

/* A sorted (key, user index) index for matching. */
struct ukey {
	const char *key;
	size_t idx;
};

static int
ukey_cmp_cs(const void *a, const void *b)
{
	return strcmp(((const struct ukey *)a)->key,
	    ((const struct ukey *)b)->key);
}

static int
ukey_cmp_ci(const void *a, const void *b)
{
	return strcasecmp(((const struct ukey *)a)->key,
	    ((const struct ukey *)b)->key);
}

static struct ukey *
build_index(struct json_object *users, const char *field, size_t *n)
{
	struct json_object *u, *v;
	struct ukey *ix;
	size_t len = json_object_array_length(users), i;

	*n = 0;
	if ((ix = calloc(len + 1, sizeof(*ix))) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		u = json_object_array_get_idx(users, i);
		if (json_object_object_get_ex(u, field, &v) &&
		    json_object_is_type(v, json_type_string) &&
		    json_object_get_string_len(v) > 0) {
			ix[*n].key = json_object_get_string(v);
			ix[(*n)++].idx = i;
		}
	}
	qsort(ix, *n, sizeof(*ix), strcmp(field, "email") == 0 ? ukey_cmp_ci :
	    ukey_cmp_cs);
	return ix;
}

static const char *
ev_attr(const struct norm_event *ev, const char *key)
{
	size_t i;

	for (i = 0; i < ev->nattrs; i++)
		if (strcmp(ev->attrs[i].key, key) == 0)
			return ev->attrs[i].value;
	return NULL;
}

/* {"user": u, "entitlements": ..., "group_memberships": ...} */
static struct json_object *
current_doc(struct json_object *u)
{
	struct json_object *o = json_object_new_object(), *v;

	json_object_object_add(o, "user", json_object_get(u));
	if (json_object_object_get_ex(u, "entitlements", &v))
		json_object_object_add(o, "entitlements", json_object_get(v));
	if (json_object_object_get_ex(u, "group_memberships", &v))
		json_object_object_add(o, "group_memberships",
		    json_object_get(v));
	return o;
}

static int
simulate_all(struct sim *s)
{
	struct json_object *ua, *out = NULL, *list, *unmatched, *entry, *v;
	struct json_object *cur = NULL;
	struct ukey *ix_ext = NULL, *ix_mail = NULL, want, *hit;
	struct norm_event ev;
	struct policy_decision d;
	struct plan *pl = NULL;
	const char *const *match;
	char err[ERRLEN];
	unsigned char *matched = NULL;
	size_t nusers, npeople, n_ext = 0, n_mail = 0, nmatch, i, j;
	long total[POLICY_NPRODUCTS] = { 0 };
	long nwrites = 0, nerrors = 0;
	int rc = EXIT_USAGE, tty = isatty(STDERR_FILENO), k;

	memset(&ev, 0, sizeof(ev));
	if (load_inputs(s) != 0)
		goto out;
	if (cliutil_read_json(s->users_path, POPULATION_MAX, INPUT_DEPTH,
	    &s->users, err, sizeof(err)) != 0 ||
	    cliutil_read_json(s->people_path, POPULATION_MAX, INPUT_DEPTH,
	    &s->people, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s\n", err);
		goto out;
	}
	ua = s->users;
	if (json_object_is_type(ua, json_type_object))
		json_object_object_get_ex(s->users, "users", &ua);
	if (!json_object_is_type(ua, json_type_array)) {
		fprintf(stderr, "rolehook: %s: users: expected {\"users\": [...]} "
		    "as GET /api/v2/users.json returns it\n", s->users_path);
		goto out;
	}
	nusers = json_object_array_length(ua);
	for (i = 0; i < nusers; i++) {
		struct json_object *u = json_object_array_get_idx(ua, i);

		if (!json_object_is_type(u, json_type_object) ||
		    !json_object_object_get_ex(u, "id", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) <= 0) {
			fprintf(stderr, "rolehook: %s: users[%zu].id: expected a "
			    "positive integer\n", s->users_path, i);
			goto out;
		}
	}
	if (!json_object_is_type(s->people, json_type_array)) {
		fprintf(stderr, "rolehook: %s: expected a JSON array of people "
		    "(objects of normalised attributes)\n", s->people_path);
		goto out;
	}
	npeople = json_object_array_length(s->people);
	if ((ix_ext = build_index(ua, "external_id", &n_ext)) == NULL ||
	    (ix_mail = build_index(ua, "email", &n_mail)) == NULL ||
	    (matched = calloc(nusers + 1, 1)) == NULL ||
	    (out = json_object_new_object()) == NULL ||
	    (list = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(out, "policy_hash",
	    json_object_new_string(policy_hash(s->pol)));
	json_object_object_add(out, "people", list);
	match = policy_match_users_by(s->pol, &nmatch);
	rc = 0;
	for (i = 0; i < npeople; i++) {
		struct json_object *user = NULL;

		if (people_from_json(json_object_array_get_idx(s->people, i), i,
		    &ev, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s%s: %s: %s\n", tty ? "\n" : "",
			    "rolehook", s->people_path, err);
			rc = EXIT_USAGE;
			goto out;
		}
		for (j = 0; j < nmatch && user == NULL; j++) {
			int mail = strcmp(match[j], "email") == 0;

			want.key = ev_attr(&ev, match[j]);
			if (want.key == NULL)
				continue;
			hit = bsearch(&want, mail ? ix_mail : ix_ext,
			    mail ? n_mail : n_ext, sizeof(want),
			    mail ? ukey_cmp_ci : ukey_cmp_cs);
			if (hit != NULL) {
				user = json_object_array_get_idx(ua, hit->idx);
				matched[hit->idx] = 1;
			}
		}
		cur = user != NULL ? current_doc(user) : NULL;
		entry = json_object_new_object();
		json_object_array_add(list, entry);
		json_object_object_add(entry, "person", json_object_new_int64(
		    (int64_t)i));
		json_object_object_add(entry, "subject",
		    json_object_new_string(ev.subject));
		v = NULL;
		if (user != NULL)
			json_object_object_get_ex(user, "id", &v);
		json_object_object_add(entry, "user_id", json_object_get(v));
		if (decide_plan(s->pol, &ev, cur, s->roles, s->groups, NULL,
		    &s->popts, &d, &pl, err, sizeof(err)) != 0) {
			json_object_object_add(entry, "rule", d.rule != NULL ?
			    json_object_new_string(d.rule) : NULL);
			json_object_object_add(entry, "error",
			    json_object_new_string(err));
			nerrors++;
			rc = 1;
		} else {
			add_result(entry, &d, pl);
			for (k = 0; k < POLICY_NPRODUCTS; k++)
				total[k] += pl->seat_delta[k];
			nwrites += (long)pl->nwrites;
		}
		plan_free(pl);
		pl = NULL;
		json_object_put(cur);
		cur = NULL;
		people_clear(&ev);
		if (tty && ((i + 1) % 100 == 0 || i + 1 == npeople))
			fprintf(stderr, "\rrolehook: simulate: %zu/%zu people",
			    i + 1, npeople);
	}
	if (tty && npeople > 0)
		fputc('\n', stderr);
	/* Agents and admins no person accounts for: reported, never
	 * changed here (rolehook reconcile decides what to do with them). */
	unmatched = json_object_new_array();
	for (i = 0; i < nusers; i++) {
		struct json_object *u = json_object_array_get_idx(ua, i), *r;

		if (matched[i] || !json_object_object_get_ex(u, "role", &r) ||
		    !json_object_is_type(r, json_type_string) ||
		    strcmp(json_object_get_string(r), "end-user") == 0)
			continue;
		entry = json_object_new_object();
		json_object_object_get_ex(u, "id", &v);
		json_object_object_add(entry, "id", json_object_get(v));
		v = NULL;
		json_object_object_get_ex(u, "email", &v);
		json_object_object_add(entry, "email", json_object_get(v));
		json_object_object_add(entry, "role", json_object_get(r));
		json_object_array_add(unmatched, entry);
	}
	json_object_object_add(out, "unmatched_users", unmatched);
	entry = json_object_new_object();
	for (k = 0; k < POLICY_NPRODUCTS; k++)
		json_object_object_add(entry, policy_product_name(
		    (enum policy_product)k), json_object_new_int64(total[k]));
	json_object_object_add(out, "seat_delta", entry);
	json_object_object_add(out, "writes", json_object_new_int64(nwrites));
	json_object_object_add(out, "errors", json_object_new_int64(nerrors));
	print_json(s, out);
	if (nerrors > 0)
		fprintf(stderr, "rolehook: %ld of %zu people could not be "
		    "planned; see their \"error\" members\n", nerrors, npeople);
out:
	people_clear(&ev);
	json_object_put(cur);
	plan_free(pl);
	json_object_put(out);
	free(matched);
	free(ix_ext);
	free(ix_mail);
	return rc;
}

/*
 * rolehook simulate.  Returns 0, 1 or 2 (see the top of this file).
 */
int
cli_simulate(int argc, char **argv)
{
	struct sim s;
	int c, rc;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_STR("source", 's', &s.source),
		CLIUTIL_OPT_STR("event", 'e', &s.event_path),
		CLIUTIL_OPT_STR("current", 'u', &s.current_path),
		CLIUTIL_OPT_STR("roles", 'r', &s.roles_path),
		CLIUTIL_OPT_STR("groups", 'g', &s.groups_path),
		CLIUTIL_OPT_STR("snapshot", 'S', &s.snapshot_path),
		CLIUTIL_OPT_FLAG("all", 'a', &s.all),
		CLIUTIL_OPT_STR("users", 'U', &s.users_path),
		CLIUTIL_OPT_STR("people", 'p', &s.people_path),
		CLIUTIL_OPT_FLAG("pretty", 'P', &s.pretty),
	};

	memset(&s, 0, sizeof(s));
	s.config_path = CONFIG_DEFAULT_PATH;
	s.pretty = isatty(STDOUT_FILENO);
	if ((c = cliutil_parse("simulate", argc, argv, opts,
	    CLIUTIL_NOPTS(opts), &s.config_path, simulate_help)) >= 0)
		return c;
	if (optind != argc)
		return usage("unexpected argument");
	if (s.all) {
		if (s.users_path == NULL || s.people_path == NULL)
			return usage("--all needs --users FILE and --people FILE");
		if (s.source != NULL || s.event_path != NULL ||
		    s.current_path != NULL || s.snapshot_path != NULL)
			return usage("--all takes --users and --people, not "
			    "--source, --event, --current or --snapshot");
	} else {
		if (s.source == NULL || s.event_path == NULL)
			return usage("--source NAME and --event FILE are required "
			    "(or --all with --users and --people)");
		if (s.users_path != NULL || s.people_path != NULL)
			return usage("--users and --people need --all");
	}
	if (load_policy(&s) != 0) {
		sim_clear(&s);
		return EXIT_USAGE;
	}
	rc = s.all ? simulate_all(&s) : simulate_one(&s);
	sim_clear(&s);
	return rc;
}

/* ------------------------------------------------------ check --policy */

struct warn_ctx {
	const char *path;
	int n;
};

static void
print_warning(void *arg, const char *msg)
{
	struct warn_ctx *w = arg;

	w->n++;
	fprintf(stderr, "rolehook: %s: warning: %s\n", w->path, msg);
}

/*
 * When the configuration declares custom_roles, a rule naming a role it
 * does not declare is a warning: roles sync neither creates nor keeps
 * it in step (and --prune refuses to delete it).  Names match ignoring
 * case, as Zendesk's do.
 */
static void
warn_undeclared_roles(const struct config *cfg, const struct policy *p,
    struct warn_ctx *w)
{
	struct json_object *decl, *e, *v;
	const char *role, *rule;
	char msg[512];
	size_t i, j, n;

	if (!json_object_object_get_ex(cfg->root, "custom_roles", &decl) ||
	    !json_object_is_type(decl, json_type_array))
		return;
	n = json_object_array_length(decl);
	for (i = 0; i < policy_nrules(p); i++) {
		if ((role = policy_rule_custom_role(p, i, &rule)) == NULL)
			continue;
		for (j = 0; j < n; j++) {
			e = json_object_array_get_idx(decl, j);
			if (json_object_object_get_ex(e, "name", &v) &&
			    json_object_is_type(v, json_type_string) &&
			    strcasecmp(json_object_get_string(v), role) == 0)
				break;
		}
		if (j < n)
			continue;
		snprintf(msg, sizeof(msg), "policy.rules[%zu] (%s): custom role "
		    "\"%s\" is not declared in custom_roles; roles sync does "
		    "not create it or keep it in step", i, rule != NULL ? rule :
		    "unnamed", role);
		print_warning(w, msg);
	}
}

/* Names from doc[member][*].name (borrowed from doc); NULL on bad shape. */
static const char **
names_of(struct json_object *doc, const char *member, size_t *n)
{
	struct json_object *a, *e, *v;
	const char **names;
	size_t len, i;

	*n = 0;
	if ((a = json_member_array(doc, member)) == NULL)
		return NULL;
	len = json_object_array_length(a);
	if ((names = calloc(len + 1, sizeof(*names))) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "name", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			free(names);
			return NULL;
		}
		names[i] = json_object_get_string(v);
	}
	*n = len;
	return names;
}

/*
 * Reads path, the body of GET /api/v2/<member>.json, into *doc (the
 * caller puts it) and its names into *names (borrowed from *doc, the
 * caller frees the array).  Prints what is wrong; returns 0 or -1.
 */
static int
read_names(const char *path, const char *member, struct json_object **doc,
    const char ***names, size_t *n)
{
	char err[ERRLEN];

	if (cliutil_read_json(path, INPUT_MAX, INPUT_DEPTH, doc, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s\n", err);
		return -1;
	}
	if ((*names = names_of(*doc, member, n)) == NULL) {
		fprintf(stderr, "rolehook: %s: %s: expected the body of GET "
		    "/api/v2/%s.json {\"%s\": [{\"id\", \"name\"}, ...]}\n",
		    path, member, member, member);
		return -1;
	}
	return 0;
}

/*
 * The policy part of `rolehook check`: compiles cfg's policy (when there
 * is one) and checks it against the custom roles and groups files (each
 * may be NULL).  Prints errors and warnings; returns 0 or EXIT_USAGE.
 * When valid, summary gets the line to print once every check passed
 * ("rolehook: FILE: policy is valid (...)"; empty without a policy).
 */
int
cli_check_policy(const struct config *cfg, const char *roles_path,
    const char *groups_path, char *summary, size_t len)
{
	struct json_object *pol, *roles = NULL, *groups = NULL;
	struct policy *p = NULL;
	struct warn_ctx w = { cfg->path, 0 };
	const char **rn = NULL, **gn = NULL;
	size_t nr = 0, ng = 0;
	char err[ERRLEN];
	int rc = EXIT_USAGE;

	summary[0] = '\0';

	if (!json_object_object_get_ex(cfg->root, "policy", &pol)) {
		if (roles_path != NULL || groups_path != NULL) {
			fprintf(stderr, "rolehook: %s: policy: missing; --roles "
			    "and --groups check a policy\n", cfg->path);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (policy_compile(pol, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s: %s\n", cfg->path, err);
		goto out;
	}
	if ((roles_path != NULL && read_names(roles_path, "custom_roles",
	    &roles, &rn, &nr) != 0) || (groups_path != NULL &&
	    read_names(groups_path, "groups", &groups, &gn, &ng) != 0))
		goto out;
	if (policy_check(p, rn, nr, gn, ng, print_warning, &w, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s: %s\n", cfg->path, err);
		goto out;
	}
	warn_undeclared_roles(cfg, p, &w);
	snprintf(summary, len, "rolehook: %s: policy is valid (%zu rule%s, "
	    "%d warning%s, sha256 %s)\n", cfg->path, policy_nrules(p),
	    policy_nrules(p) == 1 ? "" : "s", w.n, w.n == 1 ? "" : "s",
	    policy_hash(p));
	rc = 0;
out:
	free(rn);
	free(gn);
	json_object_put(roles);
	json_object_put(groups);
	policy_free(p);
	return rc;
}
