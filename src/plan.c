/*
 * plan.c -- desired access against the current Zendesk user becomes the
 * ordered list of writes that changes what differs and nothing else
 * (pure: no I/O).
 *
 * Order matters to Zendesk and to seats:
 *  - an agent is written with role and custom_role_id in one PUT, so
 *    there is no moment with an agent without a custom role ("Legacy
 *    agent" on Enterprise; research/zendesk.md section 3);
 *  - granting: unsuspend, role, group adds, group removals, products;
 *    removing (towards end-user): products first, then the role change
 *    that frees the Support seat, then suspension ("Downgrading or
 *    deleting agents": a suspended agent still holds a seat);
 *  - a leaver follows policy.leaver.steps exactly, skipping steps whose
 *    result already holds;
 *  - group adds come before removals: Zendesk wants an agent in at least
 *    one group.
 * Product access (PUT /api/admin/private/staff/{id}/entitlements) is an
 * undocumented endpoint (research/zendesk.md section 5): written only
 * when opts->entitlements is set, one PUT carrying only changed products.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/jsonutil.h"
#include "rolehook/normalize.h"
#include "rolehook/plan.h"
#include "rolehook/strv.h"

#define PATHLEN 160
#define MAX_MEMBERSHIPS 10000

struct cur_ent {
	int present;
	int active;
	const char *name;
};

/* What Zendesk has now (or had, for a snapshot); strings borrowed. */
struct cur {
	int present;
	int64_t id;
	const char *role;
	int has_crid;
	int64_t crid;
	int suspended;
	int ent_known;
	struct cur_ent ent[POLICY_NPRODUCTS];
	char support_name[32];     /* derived "support" name (see below) */
	int gm_known;
	int64_t *gm_ids;           /* membership ids */
	int64_t *gm_groups;        /* their group ids */
	size_t ngm;
};

/* Where the plan goes; ent names borrowed from the decision or snapshot. */
struct target {
	const char *role;
	int has_crid;
	int64_t crid;
	int groups_managed;
	int64_t *gids;
	size_t ngids;
	struct policy_ent ent[POLICY_NPRODUCTS];
	int suspended;
};

/* Build state. */
struct pb {
	struct plan *p;
	char *err;
	size_t errlen;
	int role_seat;             /* after the writes so far */
	int ent_seat[POLICY_NPRODUCTS];
};

static const char *const default_off_name[POLICY_NPRODUCTS] = {
	"agent", "agent", "agent", "viewer", "viewer"
};

static int fail(struct pb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int add_note(struct pb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct pb *b, const char *fmt, ...)
{
	va_list ap;

	if (b->err != NULL && b->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
add_note(struct pb *b, const char *fmt, ...)
{
	char buf[512], **nn;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((nn = realloc(b->p->notes, (b->p->nnotes + 1) * sizeof(*nn))) ==
	    NULL)
		return fail(b, "out of memory");
	b->p->notes = nn;
	if ((nn[b->p->nnotes] = strdup(buf)) == NULL)
		return fail(b, "out of memory");
	b->p->nnotes++;
	return 0;
}

/* Appends a write; steals body (put on failure).  path is copied. */
static int
add_write(struct pb *b, const char *method, const char *path,
    struct json_object *body, const char *step, int uses_new_id)
{
	struct plan_write *nw, *w;

	if ((nw = realloc(b->p->writes, (b->p->nwrites + 1) * sizeof(*nw))) ==
	    NULL) {
		json_object_put(body);
		return fail(b, "out of memory");
	}
	b->p->writes = nw;
	w = &nw[b->p->nwrites];
	memset(w, 0, sizeof(*w));
	if ((w->path = strdup(path)) == NULL) {
		json_object_put(body);
		return fail(b, "out of memory");
	}
	w->method = method;
	w->body = body;
	w->step = step;
	w->uses_new_id = uses_new_id;
	b->p->nwrites++;
	return 0;
}

static const char *
ev_attr(const struct norm_event *ev, const char *key)
{
	size_t i;

	for (i = 0; ev != NULL && i < ev->nattrs && i < NORM_ATTR_MAX; i++)
		if (ev->attrs[i].key != NULL && ev->attrs[i].value != NULL &&
		    ev->attrs[i].value[0] != '\0' &&
		    strcmp(ev->attrs[i].key, key) == 0)
			return ev->attrs[i].value;
	return NULL;
}

static int
is_seat_role(const char *role)
{
	static const char *const seat_roles[] = { "agent", "admin", NULL };

	return role != NULL && strv_index(seat_roles, role) >= 0;
}

static int
get_id(const struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (*out = json_object_get_int64(v)) <= 0)
		return -1;
	return 0;
}

static const char *
get_str(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * The "user" object in doc, or NULL; sets *email and *external_id
 * (borrowed, NULL when absent or not strings).
 */
const struct json_object *
plan_user_of(const struct json_object *doc, const char **email,
    const char **external_id)
{
	struct json_object *u;

	if (email != NULL)
		*email = NULL;
	if (external_id != NULL)
		*external_id = NULL;
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "user", &u) ||
	    !json_object_is_type(u, json_type_object))
		return NULL;
	if (email != NULL)
		*email = get_str(u, "email");
	if (external_id != NULL)
		*external_id = get_str(u, "external_id");
	return u;
}

static void
cur_clear(struct cur *c)
{
	free(c->gm_ids);
	free(c->gm_groups);
	memset(c, 0, sizeof(*c));
}

static int
parse_entitlements(struct pb *b, const char *what, struct json_object *e,
    struct cur *c)
{
	struct json_object *inner, *pe, *v;
	int i;

	if (json_object_object_get_ex(e, "entitlements", &inner))
		e = inner;
	if (!json_object_is_type(e, json_type_object))
		return fail(b, "%s: entitlements: expected {\"entitlements\": "
		    "{\"chat\": {\"name\": ..., \"is_active\": ...}}}", what);
	for (i = 0; i < POLICY_NPRODUCTS; i++) {
		const char *pn = policy_product_name((enum policy_product)i);

		if (!json_object_object_get_ex(e, pn, &pe) || pe == NULL)
			continue;
		if (!json_object_is_type(pe, json_type_object))
			return fail(b, "%s: entitlements.%s: expected an object "
			    "{\"name\", \"is_active\"}", what, pn);
		c->ent[i].present = 1;
		c->ent[i].name = get_str(pe, "name");
		if (json_object_object_get_ex(pe, "is_active", &v)) {
			if (!json_object_is_type(v, json_type_boolean))
				return fail(b, "%s: entitlements.%s.is_active: "
				    "expected true or false", what, pn);
			c->ent[i].active = json_object_get_boolean(v);
		} else
			c->ent[i].active = c->ent[i].name != NULL &&
			    c->ent[i].name[0] != '\0';
	}
	c->ent_known = 1;
	return 0;
}

static int
parse_memberships(struct pb *b, const char *what, struct json_object *g,
    struct cur *c)
{
	struct json_object *inner, *m;
	size_t n, i;

	if (json_object_object_get_ex(g, "group_memberships", &inner))
		g = inner;
	if (!json_object_is_type(g, json_type_array))
		return fail(b, "%s: group_memberships: expected an array of "
		    "{\"id\", \"group_id\"}", what);
	n = json_object_array_length(g);
	if (n > MAX_MEMBERSHIPS)
		return fail(b, "%s: group_memberships: more than %d", what,
		    MAX_MEMBERSHIPS);
	if (n > 0 && ((c->gm_ids = calloc(n, sizeof(int64_t))) == NULL ||
	    (c->gm_groups = calloc(n, sizeof(int64_t))) == NULL))
		return fail(b, "out of memory");
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(g, i);
		if (!json_object_is_type(m, json_type_object) ||
		    get_id(m, "id", &c->gm_ids[i]) != 0 ||
		    get_id(m, "group_id", &c->gm_groups[i]) != 0)
			return fail(b, "%s: group_memberships[%zu]: expected "
			    "positive integers id and group_id", what, i);
	}
	c->ngm = n;
	c->gm_known = 1;
	return 0;
}

/* Parses a `current` (or snapshot) document; doc NULL = absent. */
static int
parse_current(struct pb *b, const char *what,
    const struct json_object *doc, struct cur *c)
{
	const struct json_object *u;
	struct json_object *v;

	memset(c, 0, sizeof(*c));
	if (doc == NULL)
		return 0;
	if ((u = plan_user_of(doc, NULL, NULL)) == NULL)
		return fail(b, "%s: expected {\"user\": {...}} as GET "
		    "/api/v2/users/{id}.json returns it", what);
	c->present = 1;
	if (get_id(u, "id", &c->id) != 0)
		return fail(b, "%s: user.id: expected a positive integer", what);
	if (json_object_object_get_ex(u, "role", &v)) {
		c->role = get_str(u, "role");
		if (c->role == NULL)
			return fail(b, "%s: user.role: expected a string", what);
	}
	if (json_object_object_get_ex(u, "custom_role_id", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_int))
			return fail(b, "%s: user.custom_role_id: expected an "
			    "integer or null", what);
		c->crid = json_object_get_int64(v);
		c->has_crid = 1;
	}
	if (json_object_object_get_ex(u, "suspended", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(b, "%s: user.suspended: expected true or "
			    "false", what);
		c->suspended = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(doc, "entitlements", &v) && v != NULL &&
	    parse_entitlements(b, what, v, c) != 0)
		return -1;
	/*
	 * The official read (GET /api/v2/users/{id}/entitlements/full, OAS
	 * GetUserEntitlementsFull) has no "support" key: Support access is
	 * the user's role and custom_role_id.  Derive it the way the private
	 * endpoint names it (custom_<id>, admin, agent), so a Support
	 * entitlement the policy wants is not rewritten on every event.
	 */
	if (c->ent_known && !c->ent[POLICY_SUPPORT].present &&
	    c->role != NULL && is_seat_role(c->role)) {
		if (strcmp(c->role, "admin") == 0)
			snprintf(c->support_name, sizeof(c->support_name),
			    "admin");
		else if (c->has_crid)
			snprintf(c->support_name, sizeof(c->support_name),
			    "custom_%" PRId64, c->crid);
		else
			snprintf(c->support_name, sizeof(c->support_name),
			    "agent");
		c->ent[POLICY_SUPPORT].present = 1;
		c->ent[POLICY_SUPPORT].active = 1;
		c->ent[POLICY_SUPPORT].name = c->support_name;
	}
	if (json_object_object_get_ex(doc, "group_memberships", &v) &&
	    v != NULL && parse_memberships(b, what, v, c) != 0)
		return -1;
	return 0;
}

/*
 * Looks name up in list_doc[member] (an array of {"id", "name"}).
 * Returns 1 found (*id set), 0 not found, -1 malformed (err set).
 */
static int
find_named(struct pb *b, const char *what, const struct json_object *doc,
    const char *member, const char *name, int64_t *id)
{
	struct json_object *a, *e;
	const char *n;
	size_t i, len;

	if ((a = json_member_array(doc, member)) == NULL)
		return fail(b, "%s: expected {\"%s\": [{\"id\", \"name\"}, ...]}",
		    what, member);
	len = json_object_array_length(a);
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_object) ||
		    (n = get_str(e, "name")) == NULL)
			return fail(b, "%s: %s[%zu].name: expected a string",
			    what, member, i);
		if (strcmp(n, name) != 0)
			continue;
		if (get_id(e, "id", id) != 0)
			return fail(b, "%s: %s[%zu].id: expected a positive "
			    "integer", what, member, i);
		return 1;
	}
	return 0;
}

/* Target from the policy decision: names resolved to ids. */
static int
target_from_decision(struct pb *b, const struct policy_decision *d,
    const struct json_object *roles, const struct json_object *groups,
    int need_groups, struct target *t)
{
	const struct policy_desired *ds = &d->desired;
	const char *rule = d->rule != NULL ? d->rule : "leaver";
	size_t i;
	int r;

	t->role = ds->role;
	t->suspended = ds->suspended;
	memcpy(t->ent, ds->ent, sizeof(t->ent));
	if (ds->custom_role != NULL) {
		if (roles == NULL)
			return fail(b, "roles: custom role \"%s\" (rule %s) "
			    "needs the custom roles list (GET "
			    "/api/v2/custom_roles.json)", ds->custom_role, rule);
		if ((r = find_named(b, "roles", roles, "custom_roles",
		    ds->custom_role, &t->crid)) < 0)
			return -1;
		if (r == 0)
			return fail(b, "roles: custom role \"%s\" (rule %s) is "
			    "not in the list; create it (rolehook roles sync) "
			    "or fix the rule", ds->custom_role, rule);
		t->has_crid = 1;
	}
	if (!ds->groups_managed)
		return 0;
	if (!need_groups)
		return add_note(b, "groups not planned: the current group "
		    "memberships are unknown (add \"group_memberships\" from "
		    "GET /api/v2/users/{id}/group_memberships.json)");
	if (groups == NULL)
		return add_note(b, "groups not planned: no groups list was "
		    "given (the body of GET /api/v2/groups.json)");
	if (ds->ngroups > 0 &&
	    (t->gids = calloc(ds->ngroups, sizeof(*t->gids))) == NULL)
		return fail(b, "out of memory");
	for (i = 0; i < ds->ngroups; i++) {
		if ((r = find_named(b, "groups", groups, "groups",
		    ds->groups[i], &t->gids[i])) < 0)
			return -1;
		if (r == 0)
			return fail(b, "groups: group \"%s\" (rule %s) is not in "
			    "the list; create it in Zendesk or fix the rule",
			    ds->groups[i], rule);
		t->ngids = i + 1;
	}
	t->groups_managed = 1;
	return 0;
}

/* The "name" of the element of doc[member] with this id, or NULL. */
static const char *
name_of_id(const struct json_object *doc, const char *member, int64_t id)
{
	struct json_object *a, *e;
	int64_t x;
	size_t i, len;

	if ((a = json_member_array(doc, member)) == NULL)
		return NULL;
	len = json_object_array_length(a);
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(a, i);
		if (json_object_is_type(e, json_type_object) &&
		    get_id(e, "id", &x) == 0 && x == id)
			return get_str(e, "name");
	}
	return NULL;
}

/* What a snapshot restores, for people (see plan.h). */
static struct json_object *
restored_json(const struct target *t, const struct json_object *roles,
    const struct json_object *groups)
{
	struct json_object *o, *g = NULL, *e;
	const char *n;
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "role", json_object_new_string(t->role));
	n = t->has_crid ? name_of_id(roles, "custom_roles", t->crid) : NULL;
	json_object_object_add(o, "custom_role", n != NULL ?
	    json_object_new_string(n) : t->has_crid ?
	    json_object_new_int64(t->crid) : NULL);
	if (t->groups_managed) {
		g = json_object_new_array();
		for (i = 0; g != NULL && i < t->ngids; i++) {
			n = name_of_id(groups, "groups", t->gids[i]);
			json_object_array_add(g, n != NULL ?
			    json_object_new_string(n) :
			    json_object_new_int64(t->gids[i]));
		}
	}
	json_object_object_add(o, "groups", g);
	e = json_object_new_object();
	for (i = 0; e != NULL && i < POLICY_NPRODUCTS; i++) {
		const char *pn = policy_product_name((enum policy_product)i);

		if (t->ent[i].state == POLICY_ENT_ON)
			json_object_object_add(e, pn,
			    json_object_new_string(t->ent[i].name));
		else if (t->ent[i].state == POLICY_ENT_OFF)
			json_object_object_add(e, pn, json_object_new_boolean(0));
	}
	json_object_object_add(o, "entitlements", e);
	json_object_object_add(o, "suspended", t->suspended < 0 ? NULL :
	    json_object_new_boolean(t->suspended));
	return o;
}

/* ------------------------------------------------------------- rehires */

/*
 * A rehire snapshot is data any process that writes the store could have
 * planted (serve, the internet-facing one, can), so it is never trusted
 * to grant anything: the rule's target comes first and the snapshot can
 * only narrow it (docs/policy.md "Rehires").  Every restored value and
 * every snapshot value dropped is recorded in p->provenance and in the
 * notes, for `rolehook why` and `simulate`.
 */

#define PROV_LINELEN 512
#define PROV_MAX_IGNORED_GROUPS 10

/* The rule named in provenance lines. */
static const char *
rule_name(const struct policy_decision *d)
{
	return d->rule != NULL ? d->rule : "(unnamed)";
}

static int prov_add(struct pb *b, const char *which, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends one line to provenance[which] ("fields" or "ignored") and the
 * same line to the notes. */
static int
prov_add(struct pb *b, const char *which, const char *fmt, ...)
{
	struct json_object *a, *s;
	char buf[PROV_LINELEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!json_object_object_get_ex(b->p->provenance, which, &a) ||
	    (s = json_object_new_string(buf)) == NULL)
		return fail(b, "out of memory");
	if (json_object_array_add(a, s) != 0) {
		json_object_put(s);
		return fail(b, "out of memory");
	}
	return add_note(b, "rehire: %s", buf);
}

/*
 * s comes from the snapshot (untrusted): printable ASCII only, at most
 * cap - 4 characters, into buf.  Returns buf.
 */
static const char *
clip(const char *s, char *buf, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; s != NULL && s[i] != '\0' && n + 4 < cap; i++)
		buf[n++] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ?
		    s[i] : '?';
	if (s != NULL && s[i] != '\0') {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* `id` or `id ("name")` of a custom role or group, into buf. */
static const char *
id_label(const struct json_object *list, const char *member, int64_t id,
    char *buf, size_t cap)
{
	const char *n = name_of_id(list, member, id);
	char nb[80];

	if (n != NULL)
		snprintf(buf, cap, "%" PRId64 " (\"%s\")", id,
		    clip(n, nb, sizeof(nb)));
	else
		snprintf(buf, cap, "%" PRId64, id);
	return buf;
}

/* The group names (else ids) of gids as a JSON array text, into buf. */
static const char *
group_list(const struct json_object *groups, const int64_t *gids,
    size_t n, char *buf, size_t cap)
{
	struct json_object *a = json_object_new_array();
	const char *nm;
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		nm = name_of_id(groups, "groups", gids[i]);
		json_object_array_add(a, nm != NULL ?
		    json_object_new_string(nm) : json_object_new_int64(gids[i]));
	}
	snprintf(buf, cap, "%s", a != NULL ? json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : "[]");
	json_object_put(a);
	return buf;
}

static int
has_id(const int64_t *ids, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static int
clamp_custom_role(struct pb *b, const struct policy_decision *d,
    const struct cur *s, int held, const struct json_object *roles,
    const struct target *t)
{
	const char *rule = rule_name(d);
	char lab[128], why[160];

	if (t->has_crid && prov_add(b, "fields", "custom_role: \"%s\" (rule "
	    "%s)", d->desired.custom_role, rule) != 0)
		return -1;
	if (!t->has_crid && is_seat_role(t->role) && prov_add(b, "fields",
	    "custom_role: left as it is (rule %s names none)", rule) != 0)
		return -1;
	if (!held || !s->has_crid || s->crid <= 0 ||
	    (t->has_crid && s->crid == t->crid))
		return 0;
	if (!is_seat_role(t->role))
		snprintf(why, sizeof(why), "grants %s", t->role);
	else if (t->has_crid)
		snprintf(why, sizeof(why), "grants \"%s\"",
		    d->desired.custom_role);
	else
		snprintf(why, sizeof(why), "names none");
	return prov_add(b, "ignored", "snapshot custom role %s ignored: rule "
	    "%s %s", id_label(roles, "custom_roles", s->crid, lab,
	    sizeof(lab)), rule, why);
}

static int
clamp_groups(struct pb *b, const struct policy_decision *d,
    const struct cur *s, int held, const struct json_object *groups,
    struct target *t)
{
	const char *rule = rule_name(d), *why = NULL;
	char list[PROV_LINELEN - 96], lab[128];
	size_t i, k, dropped = 0;
	int snap_groups = held && s->gm_known && s->ngm > 0;

	if (!is_seat_role(t->role))
		why = "grants end-user";
	else if (!d->desired.groups_managed) {
		why = "does not manage groups";
		if (prov_add(b, "fields", "groups: left as they are (rule %s "
		    "does not manage groups)", rule) != 0)
			return -1;
	} else if (!t->groups_managed)
		return prov_add(b, "fields", "groups: not planned (rule %s; "
		    "see the notes)", rule);
	if (why != NULL)
		return !snap_groups ? 0 : prov_add(b, "ignored", "snapshot "
		    "groups %s ignored: rule %s %s", group_list(groups,
		    s->gm_groups, s->ngm, list, sizeof(list)), rule, why);
	if (!held || !s->gm_known)
		return prov_add(b, "fields", "groups: %s (rule %s; the snapshot "
		    "has no memberships)", group_list(groups, t->gids,
		    t->ngids, list, sizeof(list)), rule);
	/* Only groups the rule grants; the rule's own order. */
	for (i = 0; i < s->ngm; i++) {
		if (has_id(t->gids, t->ngids, s->gm_groups[i]) ||
		    has_id(s->gm_groups, i, s->gm_groups[i]))
			continue;
		if (dropped++ < PROV_MAX_IGNORED_GROUPS && prov_add(b,
		    "ignored", "snapshot group %s ignored: not among rule %s's "
		    "groups", id_label(groups, "groups", s->gm_groups[i], lab,
		    sizeof(lab)), rule) != 0)
			return -1;
	}
	if (dropped > PROV_MAX_IGNORED_GROUPS && prov_add(b, "ignored",
	    "%zu more snapshot groups ignored: not among rule %s's groups",
	    dropped - PROV_MAX_IGNORED_GROUPS, rule) != 0)
		return -1;
	for (i = k = 0; i < t->ngids; i++)
		if (has_id(s->gm_groups, s->ngm, t->gids[i]))
			t->gids[k++] = t->gids[i];
	if (k == 0)
		/* An agent needs a group: then the rule's groups, all of them. */
		return prov_add(b, "fields", "groups: %s (rule %s; the snapshot "
		    "held none of them)", group_list(groups, t->gids, t->ngids,
		    list, sizeof(list)), rule);
	t->ngids = k;
	return prov_add(b, "fields", "groups: %s (snapshot, within rule %s)",
	    group_list(groups, t->gids, t->ngids, list, sizeof(list)), rule);
}

static int
clamp_entitlements(struct pb *b, const struct policy_decision *d,
    const struct cur *s, int held, struct target *t)
{
	const char *rule = rule_name(d), *pn;
	char sn[48];
	size_t i;
	int managed = 0, sa, r;

	for (i = POLICY_CHAT; i < POLICY_NPRODUCTS; i++) {
		pn = policy_product_name((enum policy_product)i);
		sa = held && s->ent_known && s->ent[i].active &&
		    s->ent[i].name != NULL;
		if (sa)
			clip(s->ent[i].name, sn, sizeof(sn));
		r = 0;
		switch (t->ent[i].state) {
		case POLICY_ENT_ON:
			managed = 1;
			if (sa && strcmp(s->ent[i].name, t->ent[i].name) == 0)
				r = prov_add(b, "fields", "entitlements.%s: %s "
				    "(snapshot, within rule %s)", pn,
				    t->ent[i].name, rule);
			else if (sa)
				r = prov_add(b, "fields", "entitlements.%s: %s "
				    "(rule %s)", pn, t->ent[i].name, rule) ||
				    prov_add(b, "ignored", "snapshot entitlements"
				    ".%s %s ignored: rule %s grants %s", pn, sn,
				    rule, t->ent[i].name);
			else if (held && s->ent_known) {
				/* Not held before leaving: not restored. */
				t->ent[i].state = POLICY_ENT_OFF;
				t->ent[i].name = NULL;
				r = prov_add(b, "fields", "entitlements.%s: off "
				    "(snapshot, within rule %s)", pn, rule);
			} else
				r = prov_add(b, "fields", "entitlements.%s: %s "
				    "(rule %s)", pn, t->ent[i].name, rule);
			break;
		case POLICY_ENT_OFF:
			managed = 1;
			r = prov_add(b, "fields", "entitlements.%s: off (rule %s)",
			    pn, rule) || (sa && prov_add(b, "ignored", "snapshot "
			    "entitlements.%s %s ignored: rule %s turns %s off", pn,
			    sn, rule, pn));
			break;
		case POLICY_ENT_UNMANAGED:
			r = sa && prov_add(b, "ignored", "snapshot entitlements.%s "
			    "%s ignored: rule %s does not manage %s", pn, sn, rule,
			    pn);
			break;
		}
		if (r != 0)
			return -1;
	}
	if (!managed && prov_add(b, "fields", "entitlements: left as they are "
	    "(rule %s does not manage products)", rule) != 0)
		return -1;
	return 0;
}

/*
 * Narrows t (the rule's target for this rehire, d) to what the snapshot
 * s held: role, custom role and suspension are the rule's; groups only
 * among the rule's; products the rule grants only where the snapshot
 * held them with the same name.  Fills b->p->provenance.
 */
static int
clamp_to_snapshot(struct pb *b, const struct policy_decision *d,
    const struct cur *s, const struct json_object *roles,
    const struct json_object *groups, struct target *t)
{
	/* Only a snapshot of an agent or admin narrows anything. */
	int held = is_seat_role(s->role);
	char sr[48];

	if ((b->p->provenance = json_object_new_object()) == NULL)
		return fail(b, "out of memory");
	json_object_object_add(b->p->provenance, "rule",
	    json_object_new_string(rule_name(d)));
	json_object_object_add(b->p->provenance, "fields",
	    json_object_new_array());
	json_object_object_add(b->p->provenance, "ignored",
	    json_object_new_array());
	if (prov_add(b, "fields", "role: %s (rule %s)", t->role, rule_name(d)) != 0)
		return -1;
	if (s->role != NULL && strcmp(s->role, t->role) != 0 &&
	    prov_add(b, "ignored", "snapshot role %s ignored: rule %s grants "
	    "%s", clip(s->role, sr, sizeof(sr)), rule_name(d), t->role) != 0)
		return -1;
	if (clamp_custom_role(b, d, s, held, roles, t) != 0 ||
	    clamp_groups(b, d, s, held, groups, t) != 0 ||
	    clamp_entitlements(b, d, s, held, t) != 0)
		return -1;
	if (t->suspended >= 0 && prov_add(b, "fields", "suspended: %s (rule "
	    "%s)", t->suspended ? "true" : "false", rule_name(d)) != 0)
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- writes */

static struct json_object *
user_body(const char *key, struct json_object *val)
{
	struct json_object *o = json_object_new_object(),
	    *u = json_object_new_object();

	json_object_object_add(u, key, val);
	json_object_object_add(o, "user", u);
	return o;
}

static void
user_path(char *dst, size_t cap, int64_t id)
{
	snprintf(dst, cap, "/api/v2/users/%" PRId64 ".json", id);
}

static int
write_suspended(struct pb *b, int64_t id, int on)
{
	char path[PATHLEN];

	user_path(path, sizeof(path), id);
	return add_write(b, "PUT", path, user_body("suspended",
	    json_object_new_boolean(on)), on ? "suspend" : "unsuspend", 0);
}

/*
 * The role PUT.  suspended: -1 not sent, else sent in the same PUT
 * (UserUpdateInput has role, custom_role_id and suspended: one write
 * where the old sequence made two, see docs/policy.md "Plans").
 */
static int
write_role(struct pb *b, int64_t id, const struct target *t,
    const char *step, int suspended)
{
	struct json_object *o, *u;
	char path[PATHLEN];

	user_path(path, sizeof(path), id);
	o = user_body("role", json_object_new_string(t->role));
	json_object_object_get_ex(o, "user", &u);
	if (t->has_crid && is_seat_role(t->role))
		json_object_object_add(u, "custom_role_id",
		    json_object_new_int64(t->crid));
	if (suspended >= 0)
		json_object_object_add(u, "suspended",
		    json_object_new_boolean(suspended));
	b->role_seat = is_seat_role(t->role);
	return add_write(b, "PUT", path, o, step, 0);
}

/*
 * One PUT with the products in want (state per product; names) that
 * differ from c.  off_all: c's product access is unknown, so every
 * managed product is written.  Returns 0 (nothing or a write) or -1.
 */
static int
write_entitlements(struct pb *b, int64_t id, const struct cur *c,
    const struct policy_ent want[POLICY_NPRODUCTS], const char *step,
    int new_user)
{
	struct json_object *ents = NULL, *o, *pe;
	char path[PATHLEN];
	const char *name;
	size_t i;
	int n = 0;

	if ((ents = json_object_new_object()) == NULL)
		return fail(b, "out of memory");
	for (i = 0; i < POLICY_NPRODUCTS; i++) {
		const struct cur_ent *ce = &c->ent[i];

		if (want[i].state == POLICY_ENT_UNMANAGED)
			continue;
		if (want[i].state == POLICY_ENT_ON) {
			if (c->ent_known && ce->active && ce->name != NULL &&
			    strcmp(ce->name, want[i].name) == 0)
				continue;
			name = want[i].name;
		} else {
			if ((c->ent_known || new_user) && !ce->active)
				continue;
			name = ce->name != NULL ? ce->name :
			    default_off_name[i];
		}
		pe = json_object_new_object();
		json_object_object_add(pe, "name", json_object_new_string(name));
		json_object_object_add(pe, "is_active",
		    json_object_new_boolean(want[i].state == POLICY_ENT_ON));
		json_object_object_add(ents, policy_product_name(
		    (enum policy_product)i), pe);
		b->ent_seat[i] = want[i].state == POLICY_ENT_ON;
		n++;
	}
	if (n == 0) {
		json_object_put(ents);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "entitlements", ents);
	if (new_user)
		snprintf(path, sizeof(path), "/api/admin/private/staff/%s/"
		    "entitlements", PLAN_NEW_USER_ID);
	else
		snprintf(path, sizeof(path), "/api/admin/private/staff/%"
		    PRId64 "/entitlements", id);
	if (!c->ent_known && !new_user &&
	    add_note(b, "current product access unknown: every managed "
	    "product is written") != 0) {
		json_object_put(o);
		return -1;
	}
	return add_write(b, "PUT", path, o, step, new_user);
}

static int
entitlements_differ(const struct cur *c,
    const struct policy_ent want[POLICY_NPRODUCTS])
{
	size_t i;

	for (i = 0; i < POLICY_NPRODUCTS; i++) {
		if (want[i].state == POLICY_ENT_ON && !(c->ent_known &&
		    c->ent[i].active && c->ent[i].name != NULL &&
		    strcmp(c->ent[i].name, want[i].name) == 0))
			return 1;
		if (want[i].state == POLICY_ENT_OFF && c->ent_known &&
		    c->ent[i].active)
			return 1;
	}
	return 0;
}

static int
any_managed(const struct policy_ent want[POLICY_NPRODUCTS])
{
	size_t i;

	for (i = 0; i < POLICY_NPRODUCTS; i++)
		if (want[i].state != POLICY_ENT_UNMANAGED)
			return 1;
	return 0;
}

static int
write_membership_add(struct pb *b, int64_t uid, int64_t gid, int new_user)
{
	struct json_object *o, *m;

	m = json_object_new_object();
	json_object_object_add(m, "user_id", new_user ?
	    json_object_new_string(PLAN_NEW_USER_ID) :
	    json_object_new_int64(uid));
	json_object_object_add(m, "group_id", json_object_new_int64(gid));
	o = json_object_new_object();
	json_object_object_add(o, "group_membership", m);
	return add_write(b, "POST", "/api/v2/group_memberships.json", o,
	    "group_add", new_user);
}

static int
write_groups(struct pb *b, const struct cur *c, const struct target *t)
{
	char path[PATHLEN];
	size_t i, j;

	if (!t->groups_managed)
		return 0;
	if (!c->gm_known)
		return add_note(b, "groups not planned: the current group "
		    "memberships are unknown (add \"group_memberships\" from "
		    "GET /api/v2/users/{id}/group_memberships.json)");
	for (i = 0; i < t->ngids; i++) {
		for (j = 0; j < c->ngm; j++)
			if (c->gm_groups[j] == t->gids[i])
				break;
		if (j == c->ngm &&
		    write_membership_add(b, c->id, t->gids[i], 0) != 0)
			return -1;
	}
	for (j = 0; j < c->ngm; j++) {
		for (i = 0; i < t->ngids; i++)
			if (c->gm_groups[j] == t->gids[i])
				break;
		if (i < t->ngids)
			continue;
		snprintf(path, sizeof(path), "/api/v2/group_memberships/%"
		    PRId64 ".json", c->gm_ids[j]);
		if (add_write(b, "DELETE", path, NULL, "group_remove", 0) != 0)
			return -1;
	}
	return 0;
}

static int
plan_create(struct pb *b, const struct norm_event *ev,
    const struct target *t, const struct plan_opts *opts)
{
	struct json_object *o, *u;
	const char *email = ev_attr(ev, "email"), *name = ev_attr(ev, "name"),
	    *xid = ev_attr(ev, "external_id");
	struct cur none;
	size_t i;

	/*
	 * The HR id becomes the Zendesk external_id unless the sender names
	 * one: the worker finds people by external_id first, so the next
	 * event for this person finds this user even after an e-mail change.
	 */
	if (xid == NULL)
		xid = ev_attr(ev, "employee_id");

	if (email == NULL)
		return fail(b, "event: cannot create the Zendesk user: the "
		    "event has no email attribute");
	o = json_object_new_object();
	u = json_object_new_object();
	json_object_object_add(o, "user", u);
	json_object_object_add(u, "name", json_object_new_string(
	    name != NULL ? name : email));
	json_object_object_add(u, "email", json_object_new_string(email));
	if (xid != NULL)
		json_object_object_add(u, "external_id",
		    json_object_new_string(xid));
	json_object_object_add(u, "role", json_object_new_string(t->role));
	if (t->has_crid)
		json_object_object_add(u, "custom_role_id",
		    json_object_new_int64(t->crid));
	if (t->suspended == 1)
		json_object_object_add(u, "suspended",
		    json_object_new_boolean(1));
	/* UserCreateInput.group_ids: the memberships come with the user, so
	 * a hire is one POST (plus products), not one POST per group. */
	if (t->groups_managed && t->ngids > 0) {
		struct json_object *ga = json_object_new_array();

		for (i = 0; i < t->ngids; i++)
			json_object_array_add(ga, json_object_new_int64(
			    t->gids[i]));
		json_object_object_add(u, "group_ids", ga);
	}
	b->role_seat = 1;
	if (add_write(b, "POST", "/api/v2/users.json", o, "create", 0) != 0)
		return -1;
	memset(&none, 0, sizeof(none));
	none.ent_known = 1;
	if (opts->entitlements)
		return write_entitlements(b, 0, &none, t->ent, "entitlements", 1);
	if (entitlements_differ(&none, t->ent))
		return add_note(b, "product access not written: "
		    "zendesk.entitlements is off");
	return 0;
}

static int
plan_leaver(struct pb *b, const struct cur *c, const struct plan_opts *opts)
{
	static const enum policy_step defsteps[POLICY_NSTEPS] = {
		POLICY_STEP_ENTITLEMENTS_OFF, POLICY_STEP_DOWNGRADE,
		POLICY_STEP_SUSPEND
	};
	const enum policy_step *steps = opts->steps != NULL ? opts->steps :
	    defsteps;
	size_t n = opts->steps != NULL ? opts->nsteps : POLICY_NSTEPS, i;
	struct policy_ent off[POLICY_NPRODUCTS];
	struct target t;
	int any, down;

	memset(off, 0, sizeof(off));
	for (i = POLICY_CHAT; i < POLICY_NPRODUCTS; i++)
		off[i].state = POLICY_ENT_OFF;
	memset(&t, 0, sizeof(t));
	t.role = "end-user";
	for (i = 0; i < n; i++) {
		switch (steps[i]) {
		case POLICY_STEP_ENTITLEMENTS_OFF:
			if (!opts->entitlements) {
				any = 0;
				for (size_t k = POLICY_CHAT; k < POLICY_NPRODUCTS;
				    k++)
					any |= c->ent[k].active;
				if ((any || (!c->ent_known &&
				    is_seat_role(c->role))) && add_note(b,
				    "entitlements_off skipped: zendesk."
				    "entitlements is off; turn product access "
				    "off by hand to free those seats") != 0)
					return -1;
				break;
			}
			/* An end-user with unknown access holds no seat. */
			if (!c->ent_known && !is_seat_role(c->role))
				break;
			if (write_entitlements(b, c->id, c, off,
			    "entitlements_off", 0) != 0)
				return -1;
			break;
		case POLICY_STEP_DOWNGRADE:
		case POLICY_STEP_SUSPEND:
			down = c->role == NULL || strcmp(c->role, "end-user") != 0;
			/*
			 * Adjacent downgrade and suspend are one PUT {"role":
			 * "end-user", "suspended": true}: it frees the seat and
			 * suspends at once, so "downgrade before suspend" (a
			 * suspended agent keeps the seat) holds in effect.
			 */
			if (!opts->split_user_writes && i + 1 < n &&
			    (steps[i + 1] == POLICY_STEP_DOWNGRADE ||
			    steps[i + 1] == POLICY_STEP_SUSPEND)) {
				i++;
				if (down && !c->suspended) {
					if (write_role(b, c->id, &t,
					    "downgrade_suspend", 1) != 0)
						return -1;
					break;
				}
				if (down && write_role(b, c->id, &t,
				    "downgrade", -1) != 0)
					return -1;
				if (!c->suspended &&
				    write_suspended(b, c->id, 1) != 0)
					return -1;
				break;
			}
			if (steps[i] == POLICY_STEP_DOWNGRADE) {
				if (down && write_role(b, c->id, &t, "downgrade",
				    -1) != 0)
					return -1;
			} else if (!c->suspended &&
			    write_suspended(b, c->id, 1) != 0)
				return -1;
			break;
		}
	}
	return 0;
}

static int
plan_change(struct pb *b, const struct cur *c, const struct target *t,
    const struct plan_opts *opts)
{
	int role_change, ent_change, to_end_user, unsus, sus, merge;

	to_end_user = strcmp(t->role, "end-user") == 0;
	if (to_end_user)
		role_change = c->role == NULL || strcmp(c->role, "end-user") != 0;
	else
		role_change = c->role == NULL || strcmp(c->role, t->role) != 0 ||
		    (t->has_crid && (!c->has_crid || c->crid != t->crid));
	/* With access unknown, products to turn off are written only for
	 * a current agent or admin: an end-user holds none. */
	ent_change = entitlements_differ(c, t->ent) ||
	    (!c->ent_known && is_seat_role(c->role) && any_managed(t->ent));
	if (ent_change && !opts->entitlements) {
		if (add_note(b, "product access not written: "
		    "zendesk.entitlements is off") != 0)
			return -1;
		ent_change = 0;
	}
	/*
	 * Unsuspend and a role grant, adjacent, are one PUT (role,
	 * custom_role_id, suspended false: a rehire); so are a downgrade
	 * and a suspension.  Reconcile keeps them apart (split_user_writes)
	 * to judge each field's drift mode on its own.
	 */
	unsus = t->suspended == 0 && c->suspended;
	sus = t->suspended == 1 && !c->suspended;
	merge = !opts->split_user_writes && role_change;
	if (unsus && !(merge && !to_end_user) &&
	    write_suspended(b, c->id, 0) != 0)
		return -1;
	if (to_end_user) {
		if (ent_change && write_entitlements(b, c->id, c, t->ent,
		    "entitlements", 0) != 0)
			return -1;
		if (role_change && write_role(b, c->id, t, merge && sus ?
		    "downgrade_suspend" : "downgrade", merge && sus ? 1 : -1) !=
		    0)
			return -1;
		if (merge && sus)
			sus = 0;
	} else {
		if (role_change && write_role(b, c->id, t, "role", merge &&
		    unsus ? 0 : -1) != 0)
			return -1;
		if (write_groups(b, c, t) != 0)
			return -1;
		if (ent_change && write_entitlements(b, c->id, c, t->ent,
		    "entitlements", 0) != 0)
			return -1;
	}
	if (sus && write_suspended(b, c->id, 1) != 0)
		return -1;
	return 0;
}

/* Frees p.  NULL is a no-op. */
void
plan_free(struct plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nwrites; i++) {
		free(p->writes[i].path);
		json_object_put(p->writes[i].body);
	}
	free(p->writes);
	strv_free(p->notes, p->nnotes);
	json_object_put(p->restored_desired);
	json_object_put(p->provenance);
	free(p);
}

/*
 * Plans the writes from the current state to d->desired (see plan.h).
 * Returns 0 with *out (caller frees with plan_free), or -1 with err.
 */
int
plan_build(const struct policy_decision *d, const struct norm_event *ev,
    const struct json_object *current, const struct json_object *roles,
    const struct json_object *groups, const struct json_object *snapshot,
    const struct plan_opts *opts, struct plan **out, char *err,
    size_t errlen)
{
	static const struct plan_opts defopts = { 0, NULL, 0, 0 };
	struct pb b;
	struct cur c, snap;
	struct target t;
	const char *kind = ev != NULL && ev->kind != NULL ? ev->kind : "";
	int terminate, i, parsed, rc = -1;

	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&snap, 0, sizeof(snap));
	memset(&t, 0, sizeof(t));
	b.err = err;
	b.errlen = errlen;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (opts == NULL)
		opts = &defopts;
	if ((b.p = calloc(1, sizeof(*b.p))) == NULL) {
		fail(&b, "out of memory");
		goto out;
	}
	if (parse_current(&b, "current", current, &c) != 0)
		goto out;
	b.p->user_id = c.id;
	b.role_seat = is_seat_role(c.role);
	for (i = 0; i < POLICY_NPRODUCTS; i++)
		b.ent_seat[i] = c.ent[i].active;
	terminate = d->leaver || strcmp(kind, "terminate") == 0;

	if (d->is_protected) {
		if (add_note(&b, "protected: listed in policy.protected, never "
		    "changed") != 0)
			goto out;
		goto done;
	}
	if (snapshot != NULL && strcmp(kind, "rehire") != 0) {
		if (add_note(&b, "snapshot ignored: the event is not a rehire")
		    != 0)
			goto out;
		snapshot = NULL;
	}
	if (!c.present && terminate) {
		if (add_note(&b, "no Zendesk user: nothing to offboard") != 0)
			goto out;
		goto done;
	}
	if (d->leaver && snapshot == NULL) {
		if (plan_leaver(&b, &c, opts) != 0)
			goto out;
		goto done;
	}
	/* A snapshot never grants what no rule grants (see clamp_to_snapshot). */
	if (snapshot != NULL && d->desired.role == NULL) {
		if (add_note(&b, "snapshot ignored: no rule matches this rehire, "
		    "and a snapshot never grants more than a rule") != 0)
			goto out;
		snapshot = NULL;
	}
	if (d->desired.role == NULL) {
		if (add_note(&b, "no rule matched: access left as it is") != 0)
			goto out;
		goto done;
	}
	if (target_from_decision(&b, d, roles, groups,
	    !c.present || c.gm_known, &t) != 0)
		goto out;
	if (snapshot != NULL) {
		char serr[PLAN_ERRLEN];

		/* A snapshot that does not parse is dropped: the rule decides. */
		b.err = serr;
		b.errlen = sizeof(serr);
		serr[0] = '\0';
		parsed = parse_current(&b, "snapshot", snapshot, &snap) == 0;
		b.err = err;
		b.errlen = errlen;
		if (!parsed) {
			cur_clear(&snap);
			if (add_note(&b, "snapshot ignored: %s; rule %s decides",
			    serr, rule_name(d)) != 0)
				goto out;
		} else {
			if (add_note(&b, "rehire: the snapshot is restored only "
			    "within rule %s (a snapshot never grants more than "
			    "the rule)", rule_name(d)) != 0 ||
			    clamp_to_snapshot(&b, d, &snap, roles, groups, &t) != 0)
				goto out;
			b.p->restored = 1;
			if ((b.p->restored_desired = restored_json(&t, roles,
			    groups)) == NULL) {
				fail(&b, "out of memory");
				goto out;
			}
		}
	}
	if (!c.present) {
		if (!is_seat_role(t.role)) {
			if (add_note(&b, "no Zendesk user and no agent access "
			    "to give: nothing to create") != 0)
				goto out;
			goto done;
		}
		if (plan_create(&b, ev, &t, opts) != 0)
			goto out;
		goto done;
	}
	if (plan_change(&b, &c, &t, opts) != 0)
		goto out;
done:
	if (b.p->nwrites == 0 && b.p->nnotes == 0 &&
	    add_note(&b, "no change: Zendesk already matches") != 0)
		goto out;
	b.p->seat_delta[POLICY_SUPPORT] = b.role_seat - is_seat_role(c.role);
	for (i = POLICY_CHAT; i < POLICY_NPRODUCTS; i++)
		b.p->seat_delta[i] = b.ent_seat[i] - c.ent[i].active;
	*out = b.p;
	b.p = NULL;
	rc = 0;
out:
	free(t.gids);
	cur_clear(&snap);
	cur_clear(&c);
	plan_free(b.p);
	return rc;
}

/* New JSON array of the writes (caller puts it). */
struct json_object *
plan_writes_to_json(const struct plan *p)
{
	struct json_object *a = json_object_new_array(), *w;
	size_t i;

	for (i = 0; a != NULL && i < p->nwrites; i++) {
		w = json_object_new_object();
		json_object_object_add(w, "method",
		    json_object_new_string(p->writes[i].method));
		json_object_object_add(w, "path",
		    json_object_new_string(p->writes[i].path));
		json_object_object_add(w, "body", json_object_get(
		    p->writes[i].body));
		json_object_array_add(a, w);
	}
	return a;
}

/* New JSON object of the seat delta per product (caller puts it). */
struct json_object *
plan_seat_delta_to_json(const int delta[POLICY_NPRODUCTS])
{
	struct json_object *o = json_object_new_object();
	int i;

	for (i = 0; o != NULL && i < POLICY_NPRODUCTS; i++)
		json_object_object_add(o, policy_product_name(
		    (enum policy_product)i), json_object_new_int(delta[i]));
	return o;
}
