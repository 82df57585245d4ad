/*
 * roles.c -- custom agent roles: the "custom_roles" declarations, the
 * plan that makes Zendesk's roles match them, and its application
 * (`rolehook roles sync`; the command's options and printing are
 * cli_roles.c).
 *
 * The declared roles are validated against the configuration table of
 * the Custom Agent Roles API reference (seeds/002; "Custom Agent Roles",
 * Zendesk Support API): known keys only, booleans or one of the allowed
 * strings, and none of the read-only keys (chat_access, group_access,
 * light_agent, moderate_forums, organization_notes_editing), which
 * Zendesk computes itself and refuses on write.
 *
 * Roles are matched by name (case-insensitively: Zendesk keeps names
 * unique that way).  Only the keys a declaration names are compared and
 * sent; keys it leaves out stay as Zendesk has them.  Roles Zendesk has
 * and the configuration does not are "extra": listed, and deleted only
 * with prune, and never while agents hold them (team_member_count > 0
 * or unknown), while a policy rule names them (then.custom_role: work
 * would fail to plan every later grant of it, "unknown custom role"), or
 * when they are built-in (role_type other than 0).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "rolehook/config.h"
#include "rolehook/governor.h"
#include "rolehook/jsonutil.h"
#include "rolehook/policy.h"
#include "rolehook/roles.h"
#include "rolehook/zendesk.h"

/* ------------------------------------------------- the API's key table */

/* Writable keys that take true or false. */
static const char *const bool_keys[] = {
	"forum_access_restricted_content", "manage_business_rules",
	"manage_dynamic_content", "manage_extensions_and_channels",
	"manage_facebook", "organization_editing", "ticket_deletion",
	"ticket_editing", "ticket_merge", "ticket_tag_editing",
	"twitter_search_access", "view_deleted_tickets", "voice_access",
	NULL
};

/* Writable keys that take one of these strings (space-separated). */
static const struct {
	const char *key, *values;
} enum_keys[] = {
	{ "end_user_list_access", "full none" },
	{ "end_user_profile_access", "edit edit-within-org full readonly" },
	{ "explore_access", "edit full none readonly" },
	{ "forum_access", "edit-topics full readonly" },
	{ "macro_access", "full manage-group manage-personal readonly" },
	{ "report_access", "full none readonly" },
	{ "ticket_access", "all assigned-only within-groups "
	    "within-organization" },
	{ "ticket_comment_access", "public none" },
	{ "user_view_access", "full manage-group manage-personal none "
	    "readonly" },
	{ "view_access", "full manage-group manage-personal playonly readonly" },
};

/* Read-only keys (Zendesk computes them, refuses them on write): what to
 * do instead. */
static const struct {
	const char *key, *why;
} read_only_keys[] = {
	{ "chat_access", "Chat access is the agent's chat entitlement "
	    "(policy \"entitlements\")" },
	{ "group_access", "Zendesk derives it from the role" },
	{ "light_agent", "light agents are a built-in role, not a setting" },
	{ "moderate_forums", "Zendesk derives it from forum_access" },
	{ "organization_notes_editing", "Zendesk derives it from "
	    "organization_editing" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *const roles_act_names[ROLES_NACT] = { "create", "update",
	"unchanged", "extra", "delete", "refuse" };

/* One declared role, borrowed from the custom_roles value. */
struct roles_decl {
	const char *name;
	json_object *desc;         /* NULL when not declared */
	int has_desc;
	json_object *conf;         /* NULL when not declared */
};

/* ---------------------------------------------------------- validate */

struct checker {
	void (*problem)(void *, const char *);
	void *arg;
	size_t n;
};

/* Reports one problem of custom_roles[i] (name may be NULL). */
static void
bad(struct checker *ck, size_t i, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
bad(struct checker *ck, size_t i, const char *name, const char *fmt, ...)
{
	char msg[512], line[640];
	va_list ap;

	ck->n++;
	if (ck->problem == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name != NULL)
		snprintf(line, sizeof(line), "custom_roles[%zu] (\"%.80s\"): %s",
		    i, name, msg);
	else
		snprintf(line, sizeof(line), "custom_roles[%zu]: %s", i, msg);
	ck->problem(ck->arg, line);
}

/* Whether sv is one of the space-separated words of values. */
static int
value_allowed(const char *values, const char *sv)
{
	size_t n, len = strlen(sv);

	while (*values != '\0') {
		n = strcspn(values, " ");
		if (n == len && strncmp(values, sv, n) == 0)
			return 1;
		values += n;
		values += strspn(values, " ");
	}
	return 0;
}

/* Checks one key of a configuration object. */
static void
check_key(struct checker *ck, size_t i, const char *name, const char *k,
    json_object *v)
{
	char allowed[200];
	const char *p;
	size_t j, off, n;

	for (j = 0; j < NELEM(read_only_keys); j++)
		if (strcmp(read_only_keys[j].key, k) == 0) {
			bad(ck, i, name, "configuration.%s is read-only in the "
			    "Zendesk custom roles API; remove it: %s", k,
			    read_only_keys[j].why);
			return;
		}
	for (j = 0; bool_keys[j] != NULL; j++)
		if (strcmp(bool_keys[j], k) == 0) {
			if (!json_object_is_type(v, json_type_boolean))
				bad(ck, i, name, "configuration.%s: expected "
				    "true or false", k);
			return;
		}
	for (j = 0; j < NELEM(enum_keys); j++)
		if (strcmp(enum_keys[j].key, k) == 0)
			break;
	if (j == NELEM(enum_keys)) {
		bad(ck, i, name, "configuration.%.64s: not a key of the Zendesk "
		    "custom roles API (see the Configuration table of \"Custom "
		    "Agent Roles\")", k);
		return;
	}
	if (json_object_is_type(v, json_type_string) &&
	    value_allowed(enum_keys[j].values, json_object_get_string(v)))
		return;
	/* "a b c" -> "\"a\", \"b\", \"c\"" */
	off = 0;
	allowed[0] = '\0';
	for (p = enum_keys[j].values; *p != '\0' && off < sizeof(allowed);
	    p += strspn(p, " ")) {
		n = strcspn(p, " ");
		off += (size_t)snprintf(allowed + off, sizeof(allowed) - off,
		    "%s\"%.*s\"", off > 0 ? ", " : "", (int)n, p);
		p += n;
	}
	bad(ck, i, name, "configuration.%s: expected one of %s", k, allowed);
}

/* A usable role name: a non-blank string of at most ROLES_NAME_MAX. */
static int
name_ok(const char *name)
{
	return name != NULL && strspn(name, " \t") != strlen(name) &&
	    strlen(name) <= ROLES_NAME_MAX;
}

/*
 * Checks declared and, when decls is not NULL, fills decls[0..*ndecls)
 * with the entries that have a usable name (borrowing from declared).
 */
static void
read_decls(const json_object *declared, struct checker *ck,
    struct roles_decl *decls, size_t *ndecls)
{
	json_object *o, *v;
	const char *name;
	size_t i, j, n, nd = 0;
	struct roles_decl d;

	n = json_object_array_length(declared);
	if (n > ROLES_MAX) {
		ck->n++;
		if (ck->problem != NULL) {
			char msg[96];

			snprintf(msg, sizeof(msg), "custom_roles: %zu roles; at "
			    "most %d", n, ROLES_MAX);
			ck->problem(ck->arg, msg);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(declared, i);
		if (!json_object_is_type(o, json_type_object)) {
			bad(ck, i, NULL, "expected an object {\"name\", "
			    "\"description\", \"configuration\"}");
			continue;
		}
		name = json_member_str(o, "name");
		json_object_object_foreach(o, k, val) {
			(void)val;
			if (strcmp(k, "name") != 0 &&
			    strcmp(k, "description") != 0 &&
			    strcmp(k, "configuration") != 0)
				bad(ck, i, name, "%.64s: unknown key (expected "
				    "name, description, configuration)", k);
		}
		if (!name_ok(name)) {
			bad(ck, i, NULL, "name: expected a non-blank string of "
			    "at most %d bytes", ROLES_NAME_MAX);
			continue;
		}
		memset(&d, 0, sizeof(d));
		d.name = name;
		for (j = 0; j < i; j++) {
			const char *other = json_member_str(
			    json_object_array_get_idx(declared, j), "name");

			if (name_ok(other) && strcasecmp(other, name) == 0) {
				bad(ck, i, name, "name: declared twice (Zendesk "
				    "role names are unique, ignoring case)");
				break;
			}
		}
		if (json_object_object_get_ex(o, "description", &v)) {
			if (v != NULL && !json_object_is_type(v,
			    json_type_string))
				bad(ck, i, name, "description: expected a "
				    "string");
			d.desc = v;
			d.has_desc = 1;
		}
		if (json_object_object_get_ex(o, "configuration", &v)) {
			if (!json_object_is_type(v, json_type_object))
				bad(ck, i, name, "configuration: expected an "
				    "object");
			else {
				json_object_object_foreach(v, ck2, cv)
					check_key(ck, i, name, ck2, cv);
				d.conf = v;
			}
		}
		if (decls != NULL)
			decls[nd++] = d;
	}
	if (ndecls != NULL)
		*ndecls = nd;
}

size_t
roles_check(const json_object *declared,
    void (*problem)(void *arg, const char *msg), void *arg)
{
	struct checker ck = { problem, arg, 0 };

	if (!json_object_is_type(declared, json_type_array)) {
		if (problem != NULL)
			problem(arg, "custom_roles: expected an array");
		return 1;
	}
	read_decls(declared, &ck, NULL, NULL);
	return ck.n;
}

/* --------------------------------------------------------------- plan */

/* Appends to st->changes, "; "-separated; a full buffer ends in "...". */
static void
add_change(struct roles_step *st, const char *what, json_object *from,
    json_object *to)
{
	size_t off = strlen(st->changes), cap = sizeof(st->changes);
	int n;

	if (off + 4 >= cap)
		return;
	if (from != NULL || to != NULL)
		n = snprintf(st->changes + off, cap - off, "%s%s: %.40s -> %.40s",
		    off > 0 ? "; " : "", what,
		    from != NULL ? json_object_to_json_string(from) : "(none)",
		    to != NULL ? json_object_to_json_string(to) : "null");
	else
		n = snprintf(st->changes + off, cap - off, "%s%s",
		    off > 0 ? "; " : "", what);
	if (n < 0 || (size_t)n >= cap - off)
		memcpy(st->changes + cap - 4, "...", 4);
}

static int
desc_equal(json_object *a, json_object *b)
{
	const char *x = json_object_is_type(a, json_type_string) ?
	    json_object_get_string(a) : "";
	const char *y = json_object_is_type(b, json_type_string) ?
	    json_object_get_string(b) : "";

	return strcmp(x, y) == 0;
}

/* Compares declaration d with Zendesk's role; fills st->changes. */
static void
compare(const struct roles_decl *d, json_object *have,
    struct roles_step *st)
{
	json_object *hv, *hconf = NULL;
	const char *hname = json_member_str(have, "name");
	char what[96];

	if (hname == NULL || strcmp(hname, d->name) != 0)
		add_change(st, "name", NULL, NULL);
	if (d->has_desc && (!json_object_object_get_ex(have, "description",
	    &hv) || !desc_equal(d->desc, hv)))
		add_change(st, "description", NULL, NULL);
	if (d->conf == NULL)
		return;
	json_object_object_get_ex(have, "configuration", &hconf);
	json_object_object_foreach(d->conf, k, v) {
		if (!json_object_is_type(hconf, json_type_object) ||
		    !json_object_object_get_ex(hconf, k, &hv))
			hv = NULL;
		else if (json_object_equal(v, hv))
			continue;
		snprintf(what, sizeof(what), "configuration.%.64s", k);
		add_change(st, what, hv, v);
	}
}

/*
 * Whether a rule of pol (may be NULL) names st's role, ignoring case as
 * Zendesk does (a policy "team lead" would otherwise lose "Team lead"
 * to a prune); if so, says which in st->error.
 */
static int
named_by_policy(struct roles_step *st, const struct policy *pol)
{
	const char *cr, *rule, *first = NULL;
	size_t i, n, at = 0, count = 0;

	n = pol != NULL ? policy_nrules(pol) : 0;
	for (i = 0; i < n; i++) {
		if ((cr = policy_rule_custom_role(pol, i, &rule)) == NULL ||
		    strcasecmp(cr, st->name) != 0)
			continue;
		if (count++ == 0) {
			at = i;
			first = rule;
		}
	}
	if (count == 0)
		return 0;
	if (count == 1)
		snprintf(st->error, sizeof(st->error), "named by policy.rules"
		    "[%zu] (%.80s); declare it in custom_roles, or remove it "
		    "from the policy first, then run --prune again", at, first);
	else
		snprintf(st->error, sizeof(st->error), "named by policy.rules"
		    "[%zu] (%.80s) and %zu other rule(s); declare it in "
		    "custom_roles, or remove it from the policy first, then run "
		    "--prune again", at, first, count - 1);
	return 1;
}

/* A step for Zendesk's role h (not declared). */
static void
plan_extra(struct roles_step *st, json_object *h, int prune,
    const struct policy *pol)
{
	int64_t rt = 0;

	st->act = ROLES_EXTRA;
	if (json_member_int(h, "role_type", &rt) == 0 && rt != 0) {
		snprintf(st->changes, sizeof(st->changes), "built-in "
		    "(role_type %" PRId64 "); never pruned", rt);
		return;
	}
	if (!prune)
		return;
	/* Before the member count: moving the agents to another role would
	 * not make it safe to delete while the policy grants it. */
	if (named_by_policy(st, pol)) {
		st->act = ROLES_REFUSE;
		return;
	}
	if (st->members == 0) {
		st->act = ROLES_DELETE;
		return;
	}
	st->act = ROLES_REFUSE;
	if (st->members > 0)
		snprintf(st->error, sizeof(st->error), "%ld agent(s) hold it; "
		    "give them another role first (Admin Center > Team "
		    "members, or policy), then run --prune again",
		    st->members);
	else
		snprintf(st->error, sizeof(st->error), "Zendesk did not say how "
		    "many agents hold it (no team_member_count); delete it in "
		    "Admin Center if it is unused");
}

/* Fills the fields a step takes from Zendesk's role h. */
static void
step_have(struct roles_step *st, json_object *h)
{
	int64_t v;

	st->have = h;
	json_member_int(h, "id", &st->id);
	if (json_member_int(h, "team_member_count", &v) == 0)
		st->members = (long)v;
}

int
roles_plan_make(json_object *declared, json_object *list, int prune,
    const struct policy *pol, struct roles_plan *out)
{
	struct checker ck = { NULL, NULL, 0 };
	unsigned char *matched = NULL;
	size_t i, j, n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(declared, json_type_array) ||
	    !json_object_is_type(list, json_type_array))
		return -1;
	n = json_object_array_length(list);
	out->declared = json_object_get(declared);
	out->list = json_object_get(list);
	if ((out->decls = calloc(json_object_array_length(declared) + 1,
	    sizeof(*out->decls))) == NULL)
		goto out;
	read_decls(declared, &ck, out->decls, &out->ndecls);
	if (ck.n != 0 ||
	    (out->steps = calloc(out->ndecls + n + 1,
	    sizeof(*out->steps))) == NULL ||
	    (matched = calloc(n + 1, 1)) == NULL)
		goto out;
	for (i = 0; i < out->ndecls; i++) {
		struct roles_step *st = &out->steps[out->nsteps++];
		const struct roles_decl *d = &out->decls[i];

		st->decl = d;
		st->name = d->name;
		st->members = -1;
		st->status = "planned";
		for (j = 0; j < n; j++) {
			const char *hn = json_member_str(
			    json_object_array_get_idx(list, j), "name");

			if (!matched[j] && hn != NULL &&
			    strcasecmp(hn, d->name) == 0)
				break;
		}
		if (j == n) {
			st->act = ROLES_CREATE;
			continue;
		}
		matched[j] = 1;
		step_have(st, json_object_array_get_idx(list, j));
		compare(d, json_object_array_get_idx(list, j), st);
		st->act = st->changes[0] != '\0' ? ROLES_UPDATE :
		    ROLES_UNCHANGED;
	}
	for (j = 0; j < n; j++) {
		json_object *h = json_object_array_get_idx(list, j);
		struct roles_step *st;

		if (matched[j])
			continue;
		st = &out->steps[out->nsteps++];
		st->name = json_member_str(h, "name") != NULL ?
		    json_member_str(h, "name") : "(no name)";
		st->members = -1;
		st->status = "planned";
		step_have(st, h);
		plan_extra(st, h, prune, pol);
	}
	rc = 0;
out:
	free(matched);
	if (rc != 0)
		roles_plan_clear(out);
	return rc;
}

void
roles_plan_clear(struct roles_plan *p)
{
	free(p->steps);
	free(p->decls);
	json_object_put(p->declared);
	json_object_put(p->list);
	memset(p, 0, sizeof(*p));
}

/* -------------------------------------------------------------- apply */

/* The role body for create/update (caller puts), or NULL. */
static json_object *
role_body(const struct roles_decl *d)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (json_object_object_add(o, "name",
	    json_object_new_string(d->name)) != 0 ||
	    (d->has_desc && json_object_object_add(o, "description",
	    json_object_get(d->desc)) != 0) ||
	    (d->conf != NULL && json_object_object_add(o, "configuration",
	    json_object_get(d->conf)) != 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Records a failed write; returns 1 when the rest cannot succeed
 * either (credential refused, Zendesk unreachable). */
static int
step_failed(struct roles_step *st, const char *base_url, enum zd_result rc,
    const struct zd_response *res)
{
	st->status = "failed";
	if (rc == ZD_UNAUTHORIZED) {
		snprintf(st->error, sizeof(st->error), "Zendesk at %.200s "
		    "refused the credential (HTTP %ld: %s); check zendesk.auth "
		    "and that the user is an admin", base_url, res->status,
		    res->reason);
		return 1;
	}
	if ((rc == ZD_RETRYABLE || rc == ZD_ERROR) && res->status == 0) {
		snprintf(st->error, sizeof(st->error), "cannot reach Zendesk at "
		    "%.200s (%s); check zendesk.base_url, DNS and outbound "
		    "HTTPS", base_url, res->reason);
		return 1;
	}
	snprintf(st->error, sizeof(st->error), "%s (HTTP %ld: %s)",
	    zd_strerror(rc), res->status, res->reason);
	return 0;
}

int
roles_apply(struct roles_plan *p, struct zd_client *zd,
    const char *base_url, const struct roles_report *rep)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	json_object *body = NULL;
	enum zd_result rc;
	size_t i;
	int64_t id;
	int fatal = 0, ret = -1;

	for (i = 0; i < p->nsteps; i++) {
		struct roles_step *st = &p->steps[i];

		if (zd == NULL || (st->act != ROLES_CREATE &&
		    st->act != ROLES_UPDATE && st->act != ROLES_DELETE))
			goto report;
		if (fatal) {
			st->status = "skipped";
			goto report;
		}
		json_object_put(body);
		body = NULL;
		if (st->act != ROLES_DELETE &&
		    (body = role_body(st->decl)) == NULL)
			goto out;
		if (st->act == ROLES_CREATE)
			rc = zd_create_custom_role(zd, body, &res);
		else if (st->act == ROLES_UPDATE)
			rc = zd_update_custom_role(zd, st->id, body, &res);
		else
			rc = zd_delete_custom_role(zd, st->id, &res);
		if (rc != ZD_OK)
			fatal = step_failed(st, base_url, rc, &res);
		else {
			st->status = "done";
			if (st->act == ROLES_CREATE &&
			    json_member_int(res.item, "id", &id) == 0)
				st->id = id;
		}
		zd_response_clear(&res);
report:
		if (rep != NULL && rep->step != NULL)
			rep->step(rep->arg, st);
	}
	ret = 0;
out:
	zd_response_clear(&res);
	json_object_put(body);
	return ret;
}

/* --------------------------------------------------------------- sync */

static void
note(const struct roles_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(const struct roles_report *rep, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (rep == NULL || rep->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->note(rep->arg, msg);
}

/* Reports why listing the roles failed. */
static void
list_failed(const struct roles_report *rep, const char *base,
    enum zd_result zr, const struct zd_response *res)
{
	if (zr == ZD_UNAUTHORIZED)
		note(rep, "%s: listing custom roles: Zendesk refused the "
		    "credential (HTTP %ld: %s); check zendesk.auth and that the "
		    "user is an admin on the Enterprise plan (custom roles)",
		    base, res->status, res->reason);
	else if (res->status == 0)
		note(rep, "%s: listing custom roles: cannot reach Zendesk (%s); "
		    "check zendesk.base_url or zendesk.subdomain, DNS and "
		    "outbound HTTPS", base, res->reason);
	else
		note(rep, "%s: listing custom roles: %s (HTTP %ld: %s)", base,
		    zd_strerror(zr), res->status, res->reason);
}

enum roles_status
roles_sync(const struct config *cfg, const struct roles_opts *o,
    const struct roles_report *rep, struct roles_result *out)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	struct zd_conf *zconf = NULL;
	struct zd_client *zd = NULL;
	struct gov *gov = NULL;
	struct policy *pol = NULL;
	struct zd_opts zo;
	json_object *declared = NULL, *pv;
	char err[CONFIG_ERRLEN];
	enum zd_result zr;
	enum roles_status rc = ROLES_ZENDESK;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_object_object_get_ex(cfg->root, "custom_roles",
	    &declared) || !json_object_is_type(declared, json_type_array) ||
	    json_object_array_length(declared) == 0) {
		note(rep, "%s: custom_roles: nothing declared; add [{\"name\", "
		    "\"description\", \"configuration\"}, ...] (see "
		    "rolehook.json(5))", cfg->path);
		return ROLES_INPUT;
	}
	if (zd_conf_load(cfg, &zconf, err, sizeof(err)) != ZD_OK) {
		note(rep, "%s", err);
		return ROLES_INPUT;
	}
	/* Only a prune deletes, so only a prune needs the policy: a sync
	 * that creates and updates keeps working while it is being edited. */
	if (o->prune && json_object_object_get_ex(cfg->root, "policy", &pv) &&
	    policy_compile(pv, &pol, err, sizeof(err)) != 0) {
		note(rep, "%s: %s (--prune keeps the custom roles the policy's "
		    "rules name, so it needs a policy that compiles)", cfg->path,
		    err);
		rc = ROLES_INPUT;
		goto out;
	}
	if (gov_new(NULL, &gov) != GOV_OK) {
		note(rep, "cannot create the rate governor");
		goto out;
	}
	zo = *zd_conf_opts(zconf);
	zo.gov = gov;
	zo.gov_max_wait_ms = -1;
	if (zd_client_new(&zo, &zd, err, sizeof(err)) != ZD_OK) {
		note(rep, "%s: %s", cfg->path, err);
		rc = ROLES_INPUT;
		goto out;
	}
	if ((zr = zd_list_custom_roles(zd, &res)) != ZD_OK) {
		list_failed(rep, zo.base_url, zr, &res);
		goto out;
	}
	if (roles_plan_make(declared, res.item, o->prune, pol,
	    &out->plan) != 0 ||
	    roles_apply(&out->plan, o->dry_run ? NULL : zd, zo.base_url,
	    rep) != 0) {
		note(rep, "out of memory");
		roles_result_clear(out);
		goto out;
	}
	for (i = 0; i < out->plan.nsteps; i++) {
		const struct roles_step *st = &out->plan.steps[i];

		out->count[st->act]++;
		out->failed += strcmp(st->status, "planned") != 0 &&
		    strcmp(st->status, "done") != 0;
	}
	rc = ROLES_OK;
out:
	zd_response_clear(&res);
	zd_client_free(zd);
	gov_free(gov);
	policy_free(pol);
	zd_conf_free(zconf);
	return rc;
}

void
roles_result_clear(struct roles_result *r)
{
	roles_plan_clear(&r->plan);
	memset(r, 0, sizeof(*r));
}
