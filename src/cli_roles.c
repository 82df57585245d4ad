/*
 * cli_roles.c -- rolehook roles sync: make Zendesk's custom agent roles
 * match the "custom_roles" the configuration declares.
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
 * with --prune, and never while agents hold them (team_member_count > 0
 * or unknown) or when they are built-in (role_type other than 0).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/cli.h"
#include "rolehook/config.h"
#include "rolehook/jsonutil.h"
#include "rolehook/governor.h"
#include "rolehook/zendesk.h"

#define ROLE_NAME_MAX 255
#define ROLES_MAX 1000
#define CHANGES_LEN 768

/* ------------------------------------------------- the API's key table */

static const char *const v_full_none[] = { "full", "none", NULL };
static const char *const v_profile[] = { "edit", "edit-within-org", "full",
	"readonly", NULL };
static const char *const v_explore[] = { "edit", "full", "none",
	"readonly", NULL };
static const char *const v_forum[] = { "edit-topics", "full", "readonly",
	NULL };
static const char *const v_macro[] = { "full", "manage-group",
	"manage-personal", "readonly", NULL };
static const char *const v_report[] = { "full", "none", "readonly", NULL };
static const char *const v_ticket[] = { "all", "assigned-only",
	"within-groups", "within-organization", NULL };
static const char *const v_comment[] = { "public", "none", NULL };
static const char *const v_userview[] = { "full", "manage-group",
	"manage-personal", "none", "readonly", NULL };
static const char *const v_view[] = { "full", "manage-group",
	"manage-personal", "playonly", "readonly", NULL };

/* values NULL: boolean.  why: for read-only keys, what to do instead. */
static const struct role_key {
	const char *key;
	int read_only;
	const char *const *values;
	const char *why;
} role_keys[] = {
	{ "chat_access", 1, NULL, "Chat access is the agent's chat "
	    "entitlement (policy \"entitlements\")" },
	{ "end_user_list_access", 0, v_full_none, NULL },
	{ "end_user_profile_access", 0, v_profile, NULL },
	{ "explore_access", 0, v_explore, NULL },
	{ "forum_access", 0, v_forum, NULL },
	{ "forum_access_restricted_content", 0, NULL, NULL },
	{ "group_access", 1, NULL, "Zendesk derives it from the role" },
	{ "light_agent", 1, NULL, "light agents are a built-in role, not "
	    "a setting" },
	{ "macro_access", 0, v_macro, NULL },
	{ "manage_business_rules", 0, NULL, NULL },
	{ "manage_dynamic_content", 0, NULL, NULL },
	{ "manage_extensions_and_channels", 0, NULL, NULL },
	{ "manage_facebook", 0, NULL, NULL },
	{ "moderate_forums", 1, NULL, "Zendesk derives it from forum_access" },
	{ "organization_editing", 0, NULL, NULL },
	{ "organization_notes_editing", 1, NULL, "Zendesk derives it from "
	    "organization_editing" },
	{ "report_access", 0, v_report, NULL },
	{ "ticket_access", 0, v_ticket, NULL },
	{ "ticket_comment_access", 0, v_comment, NULL },
	{ "ticket_deletion", 0, NULL, NULL },
	{ "ticket_editing", 0, NULL, NULL },
	{ "ticket_merge", 0, NULL, NULL },
	{ "ticket_tag_editing", 0, NULL, NULL },
	{ "twitter_search_access", 0, NULL, NULL },
	{ "user_view_access", 0, v_userview, NULL },
	{ "view_access", 0, v_view, NULL },
	{ "view_deleted_tickets", 0, NULL, NULL },
	{ "voice_access", 0, NULL, NULL },
};

/* ------------------------------------------------------------- types */

struct decl {
	const char *name;          /* borrowed from the config */
	json_object *desc;         /* borrowed; NULL when not declared */
	int has_desc;
	json_object *conf;         /* borrowed; NULL when not declared */
};

enum act { A_CREATE, A_UPDATE, A_UNCHANGED, A_EXTRA, A_DELETE, A_REFUSE,
	A_NACT };
static const char *const act_names[A_NACT] = { "create", "update",
	"unchanged", "extra", "delete", "refuse" };

struct step {
	enum act act;
	const struct decl *d;      /* NULL for extra/delete/refuse */
	json_object *have;         /* Zendesk's role (borrowed), or NULL */
	const char *name;
	int64_t id;                /* 0 until known */
	long members;              /* -1 unknown */
	char changes[CHANGES_LEN]; /* "description; configuration.x: a -> b" */
	const char *status;        /* "planned", "done", "failed" */
	char error[ZD_ERRLEN + 544];
};

struct sync {
	const char *cfg_path;
	const char *base_url;
	struct decl *decls;
	size_t ndecls;
	struct step *steps;
	size_t nsteps;
	int dry_run, prune, json;
	int fatal;                 /* stop applying: credential, network */
};

/* ------------------------------------------------------------ helpers */

static int
usage_error(const char *msg)
{
	return cli_usage_error("roles", msg);
}

static void
roles_help(void)
{
	printf(
	    "usage: rolehook roles sync [--config FILE] [--dry-run] [--prune]\n"
	    "                           [--format text|json]\n"
	    "\n"
	    "Makes Zendesk's custom agent roles match \"custom_roles\" in the\n"
	    "configuration ([{\"name\", \"description\", \"configuration\"}]):\n"
	    "creates the missing ones and updates the ones that differ (by name,\n"
	    "case-insensitively; only the keys a declaration names are compared\n"
	    "and sent).  Configuration keys are checked against the Custom Agent\n"
	    "Roles API; the read-only keys chat_access, group_access,\n"
	    "light_agent, moderate_forums and organization_notes_editing are\n"
	    "refused.  Prints one line per role: create, update, unchanged,\n"
	    "extra (in Zendesk, not declared), delete or refuse.\n"
	    "\n"
	    "  --config FILE    configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --dry-run        print the plan, write nothing\n"
	    "  --prune          delete extra roles that no agent holds; a role\n"
	    "                   agents still hold is refused, never deleted\n"
	    "  --format FMT     text (default) or json (the plan and a summary)\n"
	    "\n"
	    "exit status: 0 in sync (or plan printed), 1 a write failed or a\n"
	    "prune was refused, 2 usage or configuration error\n");
}

/* Appends to s->changes, "; "-separated; a full buffer ends in "...". */
static void
add_change(struct step *s, const char *what, json_object *from,
    json_object *to)
{
	size_t off = strlen(s->changes), cap = sizeof(s->changes);
	int n;

	if (off + 4 >= cap)
		return;
	if (from != NULL || to != NULL)
		n = snprintf(s->changes + off, cap - off, "%s%s: %.40s -> %.40s",
		    off > 0 ? "; " : "", what,
		    from != NULL ? json_object_to_json_string(from) : "(none)",
		    to != NULL ? json_object_to_json_string(to) : "null");
	else
		n = snprintf(s->changes + off, cap - off, "%s%s",
		    off > 0 ? "; " : "", what);
	if (n < 0 || (size_t)n >= cap - off)
		memcpy(s->changes + cap - 4, "...", 4);
}

/* ---------------------------------------------------------- validate */

static const struct role_key *
find_key(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(role_keys) / sizeof(role_keys[0]); i++)
		if (strcmp(role_keys[i].key, k) == 0)
			return &role_keys[i];
	return NULL;
}

/* Prints one validation error for custom_roles[i]. */
static void
bad(const struct sync *s, size_t i, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
bad(const struct sync *s, size_t i, const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (name != NULL)
		fprintf(stderr, "rolehook: %s: custom_roles[%zu] (\"%.80s\"): "
		    "%s\n", s->cfg_path, i, name, msg);
	else
		fprintf(stderr, "rolehook: %s: custom_roles[%zu]: %s\n",
		    s->cfg_path, i, msg);
}

/* Returns the number of problems found in one configuration object. */
static int
check_configuration(const struct sync *s, size_t i, const char *name,
    json_object *conf)
{
	const struct role_key *rk;
	const char *sv;
	size_t j;
	int errs = 0;

	json_object_object_foreach(conf, k, v) {
		if ((rk = find_key(k)) == NULL) {
			bad(s, i, name, "configuration.%.64s: not a key of the "
			    "Zendesk custom roles API (see the Configuration "
			    "table of \"Custom Agent Roles\")", k);
			errs++;
			continue;
		}
		if (rk->read_only) {
			bad(s, i, name, "configuration.%s is read-only in the "
			    "Zendesk custom roles API; remove it: %s", k,
			    rk->why);
			errs++;
			continue;
		}
		if (rk->values == NULL) {
			if (!json_object_is_type(v, json_type_boolean)) {
				bad(s, i, name, "configuration.%s: expected "
				    "true or false", k);
				errs++;
			}
			continue;
		}
		sv = json_object_is_type(v, json_type_string) ?
		    json_object_get_string(v) : NULL;
		for (j = 0; sv != NULL && rk->values[j] != NULL; j++)
			if (strcmp(sv, rk->values[j]) == 0)
				break;
		if (sv == NULL || rk->values[j] == NULL) {
			char allowed[200];
			size_t off = 0;

			allowed[0] = '\0';
			for (j = 0; rk->values[j] != NULL; j++)
				off += (size_t)snprintf(allowed + off,
				    sizeof(allowed) - off, "%s\"%s\"",
				    j > 0 ? ", " : "", rk->values[j]);
			bad(s, i, name, "configuration.%s: expected one of %s",
			    k, allowed);
			errs++;
		}
	}
	return errs;
}

/*
 * Reads and checks cfg's custom_roles into s->decls (borrowing from
 * cfg).  Prints every problem.  Returns 0, or -1 when the declarations
 * cannot be used.
 */
static int
load_decls(struct sync *s, const struct config *cfg)
{
	json_object *arr, *o, *v;
	const char *name;
	size_t i, j, n;
	int errs = 0;

	if (!json_object_object_get_ex(cfg->root, "custom_roles", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0) {
		fprintf(stderr, "rolehook: %s: custom_roles: nothing declared; "
		    "add [{\"name\", \"description\", \"configuration\"}, ...] "
		    "(see rolehook.json(5))\n", s->cfg_path);
		return -1;
	}
	if (n > ROLES_MAX) {
		fprintf(stderr, "rolehook: %s: custom_roles: %zu roles; at "
		    "most %d\n", s->cfg_path, n, ROLES_MAX);
		return -1;
	}
	if ((s->decls = calloc(n, sizeof(*s->decls))) == NULL) {
		fprintf(stderr, "rolehook: out of memory\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct decl *d = &s->decls[s->ndecls];

		o = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(o, json_type_object)) {
			bad(s, i, NULL, "expected an object {\"name\", "
			    "\"description\", \"configuration\"}");
			errs++;
			continue;
		}
		name = json_member_str(o, "name");
		json_object_object_foreach(o, k, val) {
			(void)val;
			if (strcmp(k, "name") != 0 &&
			    strcmp(k, "description") != 0 &&
			    strcmp(k, "configuration") != 0) {
				bad(s, i, name, "%.64s: unknown key (expected "
				    "name, description, configuration)", k);
				errs++;
			}
		}
		if (name == NULL || strspn(name, " \t") == strlen(name) ||
		    strlen(name) > ROLE_NAME_MAX) {
			bad(s, i, NULL, "name: expected a non-blank string of "
			    "at most %d bytes", ROLE_NAME_MAX);
			errs++;
			continue;
		}
		for (j = 0; j < s->ndecls; j++)
			if (strcasecmp(s->decls[j].name, name) == 0) {
				bad(s, i, name, "name: declared twice (Zendesk "
				    "role names are unique, ignoring case)");
				errs++;
			}
		d->name = name;
		if (json_object_object_get_ex(o, "description", &v)) {
			if (v != NULL && !json_object_is_type(v,
			    json_type_string)) {
				bad(s, i, name, "description: expected a string");
				errs++;
			}
			d->desc = v;
			d->has_desc = 1;
		}
		if (json_object_object_get_ex(o, "configuration", &v)) {
			if (!json_object_is_type(v, json_type_object)) {
				bad(s, i, name, "configuration: expected an "
				    "object");
				errs++;
			} else {
				errs += check_configuration(s, i, name, v);
				d->conf = v;
			}
		}
		s->ndecls++;
	}
	return errs == 0 ? 0 : -1;
}

/* --------------------------------------------------------------- plan */

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
compare(const struct decl *d, json_object *have, struct step *st)
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
		if (json_object_is_type(hconf, json_type_object) &&
		    json_object_object_get_ex(hconf, k, &hv) &&
		    json_object_equal(v, hv))
			continue;
		if (!json_object_is_type(hconf, json_type_object) ||
		    !json_object_object_get_ex(hconf, k, &hv))
			hv = NULL;
		snprintf(what, sizeof(what), "configuration.%.64s", k);
		add_change(st, what, hv, v);
	}
}

/*
 * Builds the plan from the declarations and Zendesk's roles (list
 * borrowed).  Returns 0, or -1 out of memory.
 */
static int
make_plan(struct sync *s, json_object *list)
{
	size_t i, j, n = json_object_array_length(list);
	unsigned char *matched = NULL;
	int64_t v;
	int rc = -1;

	if ((s->steps = calloc(s->ndecls + n, sizeof(*s->steps))) == NULL ||
	    (matched = calloc(n + 1, 1)) == NULL)
		goto out;
	for (i = 0; i < s->ndecls; i++) {
		struct step *st = &s->steps[s->nsteps++];
		const struct decl *d = &s->decls[i];

		st->d = d;
		st->name = d->name;
		st->members = -1;
		st->status = "planned";
		for (j = 0; j < n; j++) {
			json_object *h = json_object_array_get_idx(list, j);
			const char *hn = json_member_str(h, "name");

			if (!matched[j] && hn != NULL &&
			    strcasecmp(hn, d->name) == 0)
				break;
		}
		if (j == n) {
			st->act = A_CREATE;
			continue;
		}
		matched[j] = 1;
		st->have = json_object_array_get_idx(list, j);
		json_member_int(st->have, "id", &st->id);
		if (json_member_int(st->have, "team_member_count", &v) == 0)
			st->members = (long)v;
		compare(d, st->have, st);
		st->act = st->changes[0] != '\0' ? A_UPDATE : A_UNCHANGED;
	}
	for (j = 0; j < n; j++) {
		json_object *h = json_object_array_get_idx(list, j);
		struct step *st;
		int64_t rt = 0;

		if (matched[j])
			continue;
		st = &s->steps[s->nsteps++];
		st->have = h;
		st->name = json_member_str(h, "name") != NULL ? json_member_str(h, "name") :
		    "(no name)";
		st->members = -1;
		st->status = "planned";
		json_member_int(h, "id", &st->id);
		if (json_member_int(h, "team_member_count", &v) == 0)
			st->members = (long)v;
		st->act = A_EXTRA;
		if (json_member_int(h, "role_type", &rt) == 0 && rt != 0) {
			snprintf(st->changes, sizeof(st->changes), "built-in "
			    "(role_type %" PRId64 "); never pruned", rt);
			continue;
		}
		if (!s->prune)
			continue;
		if (st->members == 0)
			st->act = A_DELETE;
		else {
			st->act = A_REFUSE;
			if (st->members > 0)
				snprintf(st->error, sizeof(st->error), "%ld "
				    "agent(s) hold it; give them another role "
				    "first (Admin Center > Team members, or "
				    "policy), then run --prune again",
				    st->members);
			else
				snprintf(st->error, sizeof(st->error),
				    "Zendesk did not say how many agents hold "
				    "it (no team_member_count); delete it in "
				    "Admin Center if it is unused");
		}
	}
	rc = 0;
out:
	free(matched);
	return rc;
}

/* -------------------------------------------------------------- apply */

/* The role body for create/update (caller puts), or NULL. */
static json_object *
role_body(const struct decl *d)
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

static void
step_failed(struct sync *s, struct step *st, enum zd_result rc,
    const struct zd_response *res)
{
	st->status = "failed";
	switch (rc) {
	case ZD_UNAUTHORIZED:
		snprintf(st->error, sizeof(st->error), "Zendesk at %.200s refused "
		    "the credential (HTTP %ld: %s); check zendesk.auth and "
		    "that the user is an admin", s->base_url, res->status,
		    res->reason);
		s->fatal = 1;
		break;
	case ZD_RETRYABLE:
	case ZD_ERROR:
		if (res->status == 0) {
			snprintf(st->error, sizeof(st->error), "cannot reach "
			    "Zendesk at %.200s (%s); check zendesk.base_url, DNS "
			    "and outbound HTTPS", s->base_url, res->reason);
			s->fatal = 1;
			break;
		}
		/* FALLTHROUGH */
	default:
		snprintf(st->error, sizeof(st->error), "%s (HTTP %ld: %s)",
		    zd_strerror(rc), res->status, res->reason);
		break;
	}
}

/*
 * Applies the planned writes, stopping early only on s->fatal.  Returns
 * 0 (failures are recorded per step), or -1 out of memory.
 */
static int
apply(struct sync *s, struct zd_client *zd)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	json_object *body = NULL;
	enum zd_result rc;
	size_t i;
	int64_t id;
	int ret = -1;

	for (i = 0; i < s->nsteps; i++) {
		struct step *st = &s->steps[i];

		if (st->act != A_CREATE && st->act != A_UPDATE &&
		    st->act != A_DELETE)
			continue;
		if (s->fatal) {
			st->status = "skipped";
			continue;
		}
		json_object_put(body);
		body = NULL;
		if (st->act != A_DELETE && (body = role_body(st->d)) == NULL) {
			fprintf(stderr, "rolehook: out of memory\n");
			goto out;
		}
		if (st->act == A_CREATE)
			rc = zd_create_custom_role(zd, body, &res);
		else if (st->act == A_UPDATE)
			rc = zd_update_custom_role(zd, st->id, body, &res);
		else
			rc = zd_delete_custom_role(zd, st->id, &res);
		if (rc != ZD_OK)
			step_failed(s, st, rc, &res);
		else {
			st->status = "done";
			if (st->act == A_CREATE &&
			    json_member_int(res.item, "id", &id) == 0)
				st->id = id;
		}
		zd_response_clear(&res);
	}
	ret = 0;
out:
	zd_response_clear(&res);
	json_object_put(body);
	return ret;
}

/* ------------------------------------------------------------- output */

static void
print_text(const struct sync *s)
{
	size_t i;

	for (i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];
		char extra[64] = "";

		if (st->act == A_EXTRA || st->act == A_DELETE) {
			if (st->members >= 0)
				snprintf(extra, sizeof(extra), "%ld agent%s",
				    st->members, st->members == 1 ? "" : "s");
			else
				snprintf(extra, sizeof(extra), "agents unknown");
		}
		printf("%-9s %s", act_names[st->act], st->name);
		if (st->changes[0] != '\0' || extra[0] != '\0' ||
		    (st->act == A_EXTRA && !s->prune))
			printf(" (%s%s%s%s)", extra,
			    extra[0] != '\0' && st->changes[0] != '\0' ?
			    "; " : "", st->changes,
			    st->act == A_EXTRA && !s->prune &&
			    st->changes[0] == '\0' ? "; kept: --prune deletes "
			    "it when no agent holds it" : "");
		if (strcmp(st->status, "failed") == 0)
			printf(": FAILED: %s", st->error);
		else if (strcmp(st->status, "skipped") == 0)
			printf(": skipped");
		else if (st->act == A_REFUSE)
			printf(": %s", st->error);
		putchar('\n');
		if (strcmp(st->status, "failed") == 0 || st->act == A_REFUSE)
			fprintf(stderr, "rolehook: role \"%s\": %s: %s\n",
			    st->name, act_names[st->act], st->error);
	}
}

static int
print_json(const struct sync *s, const long *count, long failed)
{
	json_object *doc = NULL, *arr, *sum, *o, *ch;
	char *p, *q, buf[CHANGES_LEN];
	size_t i;
	int k, rc = -1;

	if ((doc = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(doc, "dry_run", json_object_new_boolean(
	    s->dry_run));
	json_object_object_add(doc, "prune", json_object_new_boolean(
	    s->prune));
	if ((arr = json_object_new_array()) == NULL ||
	    json_object_object_add(doc, "roles", arr) != 0)
		goto out;
	for (i = 0; i < s->nsteps; i++) {
		const struct step *st = &s->steps[i];

		if ((o = json_object_new_object()) == NULL ||
		    json_object_array_add(arr, o) != 0 ||
		    (ch = json_object_new_array()) == NULL)
			goto out;
		json_object_object_add(o, "name",
		    json_object_new_string(st->name));
		json_object_object_add(o, "action",
		    json_object_new_string(act_names[st->act]));
		json_object_object_add(o, "id", st->id > 0 ?
		    json_object_new_int64(st->id) : NULL);
		json_object_object_add(o, "members", st->members >= 0 ?
		    json_object_new_int64(st->members) : NULL);
		json_object_object_add(o, "changes", ch);
		snprintf(buf, sizeof(buf), "%s", st->changes);
		for (p = buf; *p != '\0'; p = q) {
			if ((q = strstr(p, "; ")) != NULL) {
				*q = '\0';
				q += 2;
			} else
				q = p + strlen(p);
			json_object_array_add(ch, json_object_new_string(p));
		}
		json_object_object_add(o, "status", json_object_new_string(
		    st->status));
		json_object_object_add(o, "error", st->error[0] != '\0' ?
		    json_object_new_string(st->error) : NULL);
	}
	if ((sum = json_object_new_object()) == NULL ||
	    json_object_object_add(doc, "summary", sum) != 0)
		goto out;
	for (k = 0; k < A_NACT; k++)
		json_object_object_add(sum, act_names[k],
		    json_object_new_int64(count[k]));
	json_object_object_add(sum, "failed", json_object_new_int64(failed));
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

/* ---------------------------------------------------------------- main */

/*
 * rolehook roles sync.  Returns 0 when Zendesk matches (or, with
 * --dry-run, the plan was printed), 1 when a write failed or a prune
 * was refused, EXIT_USAGE for usage and configuration errors.
 */
int
cli_roles(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "prune", no_argument, NULL, 'P' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = CONFIG_DEFAULT_PATH;
	struct sync s;
	struct config *cfg = NULL;
	struct zd_conf *zconf = NULL;
	struct zd_client *zd = NULL;
	struct gov *gov = NULL;
	struct zd_response res = ZD_RESPONSE_INIT;
	struct zd_opts zo;
	char err[CONFIG_ERRLEN];
	enum zd_result zr;
	long count[A_NACT] = { 0 }, failed = 0;
	size_t i;
	int c, rc = 1;

	memset(&s, 0, sizeof(s));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:nPf:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			s.dry_run = 1;
			break;
		case 'P':
			s.prune = 1;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				s.json = 1;
			else if (strcmp(optarg, "text") == 0)
				s.json = 0;
			else
				return usage_error("--format: expected text or "
				    "json");
			break;
		default:
			if ((c = cli_common_opt(c, "roles", &path,
			    roles_help)) >= 0)
				return c;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "sync") != 0)
		return usage_error("expected 'sync'");

	if (cli_load_config(path, CONFIG_SECRETS_SKIP, &cfg) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	s.cfg_path = cfg->path;
	if (load_decls(&s, cfg) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (zd_conf_load(cfg, &zconf, err, sizeof(err)) != ZD_OK) {
		fprintf(stderr, "rolehook: %s: %s\n", cfg->path, err);
		rc = EXIT_USAGE;
		goto out;
	}
	if (gov_new(NULL, &gov) != GOV_OK) {
		fprintf(stderr, "rolehook: cannot create the rate governor\n");
		goto out;
	}
	zo = *zd_conf_opts(zconf);
	zo.gov = gov;
	zo.gov_max_wait_ms = -1;
	s.base_url = zo.base_url;
	if (zd_client_new(&zo, &zd, err, sizeof(err)) != ZD_OK) {
		fprintf(stderr, "rolehook: %s: %s\n", cfg->path, err);
		rc = EXIT_USAGE;
		goto out;
	}
	if ((zr = zd_list_custom_roles(zd, &res)) != ZD_OK) {
		if (zr == ZD_UNAUTHORIZED)
			fprintf(stderr, "rolehook: %s: listing custom roles: "
			    "Zendesk refused the credential (HTTP %ld: %s); "
			    "check zendesk.auth and that the user is an admin "
			    "on the Enterprise plan (custom roles)\n",
			    s.base_url, res.status, res.reason);
		else if (res.status == 0)
			fprintf(stderr, "rolehook: %s: listing custom roles: "
			    "cannot reach Zendesk (%s); check "
			    "zendesk.base_url or zendesk.subdomain, DNS and "
			    "outbound HTTPS\n", s.base_url, res.reason);
		else
			fprintf(stderr, "rolehook: %s: listing custom roles: "
			    "%s (HTTP %ld: %s)\n", s.base_url, zd_strerror(zr),
			    res.status, res.reason);
		goto out;
	}
	if (make_plan(&s, res.item) != 0) {
		fprintf(stderr, "rolehook: out of memory\n");
		goto out;
	}
	if (!s.dry_run && apply(&s, zd) != 0)
		goto out;
	for (i = 0; i < s.nsteps; i++) {
		count[s.steps[i].act]++;
		failed += strcmp(s.steps[i].status, "planned") != 0 &&
		    strcmp(s.steps[i].status, "done") != 0;
	}
	if (s.json) {
		if (print_json(&s, count, failed) != 0) {
			fprintf(stderr, "rolehook: out of memory\n");
			goto out;
		}
	} else
		print_text(&s);
	if (s.dry_run)
		fprintf(stderr, "rolehook: dry run: %ld to create, %ld to "
		    "update, %ld to delete; nothing was written\n",
		    count[A_CREATE], count[A_UPDATE], count[A_DELETE]);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rolehook: cannot write the output\n");
		goto out;
	}
	rc = failed > 0 || count[A_REFUSE] > 0 ? 1 : 0;
out:
	zd_response_clear(&res);
	free(s.steps);
	free(s.decls);
	zd_client_free(zd);
	gov_free(gov);
	zd_conf_free(zconf);
	config_free(cfg);
	return rc;
}

int
cli_check_custom_roles(const struct config *cfg)
{
	struct sync s;
	json_object *arr;
	int rc;

	if (!json_object_object_get_ex(cfg->root, "custom_roles", &arr))
		return 0;
	memset(&s, 0, sizeof(s));
	s.cfg_path = cfg->path;
	rc = load_decls(&s, cfg);
	free(s.decls);
	return rc;
}
