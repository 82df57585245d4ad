/*
 * policy.c -- compile the `policy` section into rules and evaluate a
 * normalised person event against them (pure: no I/O).
 *
 * Compilation validates everything once, so evaluation cannot fail and
 * allocates nothing: attribute names used in `when` are interned into a
 * sorted table, each condition refers to its attribute by index, and an
 * evaluation first looks up the event's attributes in that table (one
 * bsearch per attribute) and then walks the rules comparing pointers it
 * already holds.  The rule language is documented in docs/policy.md.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "rolehook/normalize.h"
#include "rolehook/policy.h"
#include "rolehook/strv.h"

#define PATHLEN 256
#define MAX_IN_VALUES 1000
#define MAX_GROUPS 200
#define MAX_PROTECTED 10000
#define MAX_NOT_DEPTH 8
#define MAX_NAME_LEN 256
#define KIND_KEY (-1)
#define DEFAULT_REHIRE_DAYS 90

enum mop { M_EXACT, M_IN, M_PREFIX, M_SUFFIX, M_CONTAINS, M_EXISTS, M_NOT };

struct matcher {
	enum mop op;
	int icase;
	int want;                  /* M_EXISTS */
	char **vals;               /* M_EXACT/M_PREFIX/...: 1, M_IN: n */
	size_t *lens;
	size_t nvals;
	struct matcher *inner;     /* M_NOT */
};

struct cond {
	int key;                   /* index into policy->keys, or KIND_KEY */
	struct matcher m;
};

struct rule {
	char *name;
	struct cond *conds;
	size_t nconds;
	int has_kind;
	char *when_canon;          /* for the shadowed-rule warning */
	char *custom_role;
	char **groups;
	size_t ngroups;
	char *ent_names[POLICY_NPRODUCTS];
	struct policy_desired desired;
};

enum prot_what { PROT_ANY, PROT_EMAIL, PROT_EXTERNAL_ID, PROT_SUBJECT };

struct prot {
	enum prot_what what;
	char *val;
};

struct policy {
	struct rule *rules;
	size_t nrules;
	char **keys;               /* sorted attribute names */
	size_t nkeys;
	struct prot *prot;
	size_t nprot;
	enum policy_step steps[POLICY_NSTEPS];
	size_t nsteps;
	const char *match[2];
	size_t nmatch;
	int rehire_days;
	int icase;                 /* policy.ignore_case: default for matchers */
	struct policy_limits limits;
	struct policy_desired leaver;
	enum policy_drift drift[POLICY_NDRIFT];
	char hash[POLICY_HASH_HEXLEN + 1];
};

/* The compiler's state: the policy being built and the error buffer. */
struct cc {
	struct policy *p;
	char *err;
	size_t errlen;
	char **tmpkeys;            /* interned names in first-seen order */
	size_t ntmpkeys;
};

static const char *const product_names[POLICY_NPRODUCTS + 1] = {
	"support", "chat", "talk", "guide", "explore", NULL
};
static const char *const step_names[POLICY_NSTEPS] = {
	"entitlements_off", "downgrade", "suspend"
};
static const char *const attr_names[] = {
	"employee_id", "email", "external_id", "name", "department", "title",
	"location", "employment_status", "manager_email", "effective_at", NULL
};
static const char *const top_keys[] = { "match_users_by", "protected",
	"rules", "leaver", "limits", "rehire_window_days", "ignore_case",
	"drift", NULL };
static const char *const drift_fields[POLICY_NDRIFT] = { "role",
	"custom_role", "groups", "entitlements", "suspended" };
static const char *const drift_modes[] = { "revert", "alert", "accept" };
static const char *const rule_keys[] = { "name", "description", "when",
	"then", NULL };
static const char *const then_keys[] = { "role", "custom_role", "groups",
	"entitlements", "suspended", NULL };
static const char *const matcher_ops[] = { "in", "prefix", "suffix",
	"contains", "exists", "not", NULL };
static const char *const limit_keys[] = { "downgrades_per_hour",
	"suspensions_per_hour", "changes_per_hour", "writes_per_minute", NULL };
static const char *const role_names[] = { "end-user", "agent", "admin", NULL };

static int fail(struct cc *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct cc *c, const char *path, const char *fmt, ...)
{
	char msg[POLICY_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s: %s", path, msg);
	return -1;
}

/* "a, b or c" from a NULL-terminated list. */
static void
join_names(char *dst, size_t cap, const char *const *list)
{
	size_t i, n, off = 0;

	for (n = 0; list[n] != NULL; n++)
		;
	dst[0] = '\0';
	for (i = 0; i < n && off < cap; i++) {
		int w = snprintf(dst + off, cap - off, "%s%s", i == 0 ? "" :
		    i + 1 == n ? " or " : ", ", list[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static const char *
type_name(const struct json_object *o)
{
	return o == NULL ? "null" : json_type_to_name(json_object_get_type(o));
}

/* Rejects keys of obj not in allowed, naming the first one. */
static int
check_keys(struct cc *c, const struct json_object *obj, const char *path,
    const char *const *allowed)
{
	char list[256];

	json_object_object_foreach((struct json_object *)obj, k, v) {
		(void)v;
		if (strv_index(allowed, k) < 0) {
			join_names(list, sizeof(list), allowed);
			return fail(c, path, "unknown member \"%.64s\"; expected "
			    "%s", k, list);
		}
	}
	return 0;
}

/*
 * obj is an object (else "expected <what>, found ...") with no key
 * outside allowed.
 */
static int
object_with(struct cc *c, const struct json_object *obj, const char *path,
    const char *const *allowed, const char *what)
{
	if (!json_object_is_type(obj, json_type_object))
		return fail(c, path, "expected %s, found %s", what,
		    type_name(obj));
	return check_keys(c, obj, path, allowed);
}

/* A non-empty string without NUL bytes, at most MAX_NAME_LEN... bytes. */
static int
get_string(struct cc *c, const struct json_object *o, const char *path,
    size_t maxlen, const char **out)
{
	const char *s;
	int len;

	if (!json_object_is_type(o, json_type_string))
		return fail(c, path, "expected a string, found %s",
		    type_name(o));
	s = json_object_get_string((struct json_object *)o);
	len = json_object_get_string_len(o);
	if (len <= 0)
		return fail(c, path, "expected a non-empty string");
	if ((size_t)len != strlen(s))
		return fail(c, path, "contains a NUL byte");
	if ((size_t)len > maxlen)
		return fail(c, path, "longer than %zu bytes", maxlen);
	*out = s;
	return 0;
}

static int
dup_string(struct cc *c, const char *path, const char *s, char **out)
{
	if ((*out = strdup(s)) == NULL)
		return fail(c, path, "out of memory");
	return 0;
}

/* JSON paths are cut (never overrun) when a key is absurdly long. */
static void
path_key(char *dst, size_t cap, const char *parent, const char *key)
{
	if (snprintf(dst, cap, "%s.%s", parent, key) >= (int)cap && cap > 4)
		memcpy(dst + cap - 4, "...", 4);
}

static void
path_idx(char *dst, size_t cap, const char *parent, size_t i)
{
	if (snprintf(dst, cap, "%s[%zu]", parent, i) >= (int)cap && cap > 4)
		memcpy(dst + cap - 4, "...", 4);
}

/* ------------------------------------------------------ canonical JSON */

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of v whose objects have their keys in sorted order (json-c
 * serialises in insertion order).  Scalars are shared by reference. */
static struct json_object *
sorted_copy(struct json_object *v)
{
	struct json_object *out = NULL, *e;
	const char **ks = NULL;
	size_t n = 0, i;

	if (json_object_is_type(v, json_type_object)) {
		n = (size_t)json_object_object_length(v);
		if ((out = json_object_new_object()) == NULL)
			goto fail;
		if (n == 0)
			return out;
		if ((ks = calloc(n, sizeof(*ks))) == NULL)
			goto fail;
		i = 0;
		json_object_object_foreach(v, k, val) {
			(void)val;
			ks[i++] = k;
		}
		qsort(ks, n, sizeof(*ks), cmp_cstr);
		for (i = 0; i < n; i++) {
			e = json_object_object_get(v, ks[i]);
			if (e != NULL && (e = sorted_copy(e)) == NULL)
				goto fail;
			if (json_object_object_add(out, ks[i], e) != 0) {
				json_object_put(e);
				goto fail;
			}
		}
		free(ks);
		return out;
	}
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		if ((out = json_object_new_array_ext((int)n)) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(v, i);
			if (e != NULL && (e = sorted_copy(e)) == NULL)
				goto fail;
			if (json_object_array_add(out, e) != 0) {
				json_object_put(e);
				goto fail;
			}
		}
		return out;
	}
	return json_object_get(v);
fail:
	free(ks);
	json_object_put(out);
	return NULL;
}

/*
 * Returns the canonical text of v (caller frees): json-c plain
 * serialisation with keys sorted by strcmp at every level; NULL when out
 * of memory.  A NULL v is "null".
 */
char *
policy_canonical_json(const struct json_object *v)
{
	struct json_object *s;
	char *out;

	if (v == NULL)
		return strdup("null");
	if ((s = sorted_copy((struct json_object *)v)) == NULL)
		return NULL;
	out = strdup(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
	json_object_put(s);
	return out;
}

static int
sha256_hex(const char *text, char out[POLICY_HASH_HEXLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) != 1
	    || mdlen != sizeof(md))
		return -1;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[POLICY_HASH_HEXLEN] = '\0';
	return 0;
}

/* ------------------------------------------------------------ matchers */

static void
matcher_clear(struct matcher *m)
{
	strv_free(m->vals, m->nvals);
	free(m->lens);
	if (m->inner != NULL) {
		matcher_clear(m->inner);
		free(m->inner);
	}
	memset(m, 0, sizeof(*m));
}

static int
matcher_add_value(struct cc *c, struct matcher *m, const char *path,
    const char *s)
{
	char **nv;
	size_t *nl;

	if ((nv = realloc(m->vals, (m->nvals + 1) * sizeof(*nv))) == NULL)
		return fail(c, path, "out of memory");
	m->vals = nv;
	if ((nl = realloc(m->lens, (m->nvals + 1) * sizeof(*nl))) == NULL)
		return fail(c, path, "out of memory");
	m->lens = nl;
	if ((m->vals[m->nvals] = strdup(s)) == NULL)
		return fail(c, path, "out of memory");
	m->lens[m->nvals] = strlen(s);
	m->nvals++;
	return 0;
}

static int
compile_matcher(struct cc *c, const struct json_object *v, const char *path,
    int icase, int depth, struct matcher *m)
{
	struct json_object *opv = NULL, *ic;
	const char *op = NULL, *s;
	char p[PATHLEN], list[128];
	size_t i, n;
	int nops = 0;

	memset(m, 0, sizeof(*m));
	m->icase = icase;
	if (json_object_is_type(v, json_type_string)) {
		m->op = M_EXACT;
		if (get_string(c, v, path, 4096, &s) != 0)
			return -1;
		return matcher_add_value(c, m, path, s);
	}
	if (!json_object_is_type(v, json_type_object))
		goto bad;
	json_object_object_foreach((struct json_object *)v, k, val) {
		if (strcmp(k, "ignore_case") == 0)
			continue;
		if (strv_index(matcher_ops, k) < 0) {
			join_names(list, sizeof(list), matcher_ops);
			return fail(c, path, "unknown operator \"%.64s\"; "
			    "expected %s (and optionally ignore_case)", k,
			    list);
		}
		op = k;
		opv = val;
		nops++;
	}
	if (nops != 1)
		goto bad;
	if (json_object_object_get_ex(v, "ignore_case", &ic)) {
		path_key(p, sizeof(p), path, "ignore_case");
		if (!json_object_is_type(ic, json_type_boolean))
			return fail(c, p, "expected true or false, found %s",
			    type_name(ic));
		m->icase = json_object_get_boolean(ic);
	}
	path_key(p, sizeof(p), path, op);
	if (strcmp(op, "in") == 0) {
		m->op = M_IN;
		if (!json_object_is_type(opv, json_type_array) ||
		    (n = json_object_array_length(opv)) == 0)
			return fail(c, p, "expected a non-empty array of "
			    "strings, found %s", type_name(opv));
		if (n > MAX_IN_VALUES)
			return fail(c, p, "more than %d values",
			    MAX_IN_VALUES);
		for (i = 0; i < n; i++) {
			char pi[PATHLEN];

			path_idx(pi, sizeof(pi), p, i);
			if (get_string(c, json_object_array_get_idx(opv, i),
			    pi, 4096, &s) != 0 ||
			    matcher_add_value(c, m, pi, s) != 0)
				return -1;
		}
		return 0;
	}
	if (strcmp(op, "exists") == 0) {
		m->op = M_EXISTS;
		if (!json_object_is_type(opv, json_type_boolean))
			return fail(c, p, "expected true or false, found %s",
			    type_name(opv));
		m->want = json_object_get_boolean(opv);
		return 0;
	}
	if (strcmp(op, "not") == 0) {
		m->op = M_NOT;
		if (depth >= MAX_NOT_DEPTH)
			return fail(c, p, "nested deeper than %d",
			    MAX_NOT_DEPTH);
		if ((m->inner = calloc(1, sizeof(*m->inner))) == NULL)
			return fail(c, p, "out of memory");
		return compile_matcher(c, opv, p, m->icase, depth + 1,
		    m->inner);
	}
	m->op = strcmp(op, "prefix") == 0 ? M_PREFIX :
	    strcmp(op, "suffix") == 0 ? M_SUFFIX : M_CONTAINS;
	if (get_string(c, opv, p, 4096, &s) != 0)
		return -1;
	return matcher_add_value(c, m, p, s);
bad:
	return fail(c, path, "expected a string or an object with one of "
	    "in, prefix, suffix, contains, exists, not");
}

/* Whether m gives a defined answer for a missing attribute. */
static int
null_defined(const struct matcher *m)
{
	while (m->op == M_NOT)
		m = m->inner;
	return m->op == M_EXISTS;
}

/*
 * v is the attribute value, NULL when missing (or empty).  A missing
 * attribute matches only {"exists": false} (and a "not" around an
 * "exists"); every value test fails on it, "not" included.
 */
static int
matcher_eval(const struct matcher *m, const char *v)
{
	size_t i, vl;

	if (v == NULL) {
		if (m->op == M_EXISTS)
			return !m->want;
		if (m->op == M_NOT && null_defined(m->inner))
			return !matcher_eval(m->inner, NULL);
		return 0;
	}
	switch (m->op) {
	case M_EXACT:
		return m->icase ? strcasecmp(v, m->vals[0]) == 0 :
		    strcmp(v, m->vals[0]) == 0;
	case M_IN:
		for (i = 0; i < m->nvals; i++)
			if (m->icase ? strcasecmp(v, m->vals[i]) == 0 :
			    strcmp(v, m->vals[i]) == 0)
				return 1;
		return 0;
	case M_PREFIX:
		return m->icase ?
		    strncasecmp(v, m->vals[0], m->lens[0]) == 0 :
		    strncmp(v, m->vals[0], m->lens[0]) == 0;
	case M_SUFFIX:
		vl = strlen(v);
		if (vl < m->lens[0])
			return 0;
		v += vl - m->lens[0];
		return m->icase ? strcasecmp(v, m->vals[0]) == 0 :
		    strcmp(v, m->vals[0]) == 0;
	case M_CONTAINS:
		return m->icase ? strcasestr(v, m->vals[0]) != NULL :
		    strstr(v, m->vals[0]) != NULL;
	case M_EXISTS:
		return m->want;
	case M_NOT:
		return !matcher_eval(m->inner, v);
	}
	return 0;
}

/* ---------------------------------------------------------------- rules */

static int
valid_attr_name(const char *k)
{
	if (strv_index(attr_names, k) >= 0)
		return 1;
	return strncmp(k, "custom.", 7) == 0 && k[7] != '\0';
}

/* Interns k and returns its temporary index, or -1. */
static int
intern_key(struct cc *c, const char *path, const char *k)
{
	char **nk;
	size_t i;

	for (i = 0; i < c->ntmpkeys; i++)
		if (strcmp(c->tmpkeys[i], k) == 0)
			return (int)i;
	if (c->ntmpkeys >= POLICY_MAX_KEYS)
		return fail(c, path, "more than %d distinct attribute names "
		    "in the policy", POLICY_MAX_KEYS);
	if ((nk = realloc(c->tmpkeys, (c->ntmpkeys + 1) * sizeof(*nk))) ==
	    NULL)
		return fail(c, path, "out of memory");
	c->tmpkeys = nk;
	if ((c->tmpkeys[c->ntmpkeys] = strdup(k)) == NULL)
		return fail(c, path, "out of memory");
	return (int)c->ntmpkeys++;
}

static int
compile_when(struct cc *c, struct rule *r, const struct json_object *when,
    const char *path)
{
	char p[PATHLEN];
	size_t n, i = 0;
	int key;

	if (!json_object_is_type(when, json_type_object))
		return fail(c, path, "expected an object of conditions "
		    "(use {} to match everyone), found %s", type_name(when));
	if ((r->when_canon = policy_canonical_json(when)) == NULL)
		return fail(c, path, "out of memory");
	n = (size_t)json_object_object_length(when);
	if (n == 0)
		return 0;
	if ((r->conds = calloc(n, sizeof(*r->conds))) == NULL)
		return fail(c, path, "out of memory");
	json_object_object_foreach((struct json_object *)when, k, v) {
		path_key(p, sizeof(p), path, k);
		if (strcmp(k, "kind") == 0) {
			key = KIND_KEY;
			r->has_kind = 1;
		} else if (!valid_attr_name(k) || strlen(k) > MAX_NAME_LEN) {
			return fail(c, p, "unknown attribute; expected employee_id, "
			    "email, external_id, name, department, title, "
			    "location, employment_status, manager_email, "
			    "effective_at, custom.<key> or kind");
		} else if ((key = intern_key(c, p, k)) < 0)
			return -1;
		r->conds[i].key = key;
		r->nconds = ++i;
		if (compile_matcher(c, v, p, c->p->icase, 0, &r->conds[i - 1].m)
		    != 0)
			return -1;
	}
	return 0;
}

static int
compile_groups(struct cc *c, struct rule *r, const struct json_object *g,
    const char *path)
{
	char p[PATHLEN];
	const char *s;
	size_t n, i, j;

	if (!json_object_is_type(g, json_type_array))
		return fail(c, path, "expected an array of group names, "
		    "found %s", type_name(g));
	n = json_object_array_length(g);
	if (n > MAX_GROUPS)
		return fail(c, path, "more than %d groups", MAX_GROUPS);
	if (n > 0 && (r->groups = calloc(n, sizeof(*r->groups))) == NULL)
		return fail(c, path, "out of memory");
	for (i = 0; i < n; i++) {
		path_idx(p, sizeof(p), path, i);
		if (get_string(c, json_object_array_get_idx(g, i), p,
		    MAX_NAME_LEN, &s) != 0)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(r->groups[j], s) == 0)
				return fail(c, p, "group \"%.64s\" listed twice",
				    s);
		if (dup_string(c, p, s, &r->groups[i]) != 0)
			return -1;
		r->ngroups = i + 1;
	}
	r->desired.groups = (const char *const *)r->groups;
	r->desired.ngroups = r->ngroups;
	r->desired.groups_managed = 1;
	return 0;
}

static int
compile_entitlements(struct cc *c, struct rule *r,
    const struct json_object *e, const char *path, int end_user)
{
	char p[PATHLEN], list[96];
	const char *s;
	int i;

	if (!json_object_is_type(e, json_type_object))
		return fail(c, path, "expected an object such as {\"talk\": "
		    "\"agent\", \"chat\": false}, found %s", type_name(e));
	json_object_object_foreach((struct json_object *)e, k, v) {
		path_key(p, sizeof(p), path, k);
		if ((i = strv_index(product_names, k)) < 0) {
			join_names(list, sizeof(list), product_names);
			return fail(c, p, "unknown product; expected %s", list);
		}
		if (json_object_is_type(v, json_type_boolean) &&
		    !json_object_get_boolean(v)) {
			r->desired.ent[i].state = POLICY_ENT_OFF;
			continue;
		}
		if (!json_object_is_type(v, json_type_string))
			return fail(c, p, "expected an entitlement name such as "
			    "\"agent\", or false, found %s", type_name(v));
		if (end_user)
			return fail(c, p, "an end-user holds no product seat; "
			    "use false or give the rule role agent");
		if (get_string(c, v, p, MAX_NAME_LEN, &s) != 0 ||
		    dup_string(c, p, s, &r->ent_names[i]) != 0)
			return -1;
		r->desired.ent[i].state = POLICY_ENT_ON;
		r->desired.ent[i].name = r->ent_names[i];
	}
	return 0;
}

static int
compile_then(struct cc *c, struct rule *r, const struct json_object *then,
    const char *path)
{
	struct json_object *v;
	char p[PATHLEN];
	const char *s;
	int ri, end_user, i;

	if (object_with(c, then, path, then_keys, "an object") != 0)
		return -1;
	path_key(p, sizeof(p), path, "role");
	if (!json_object_object_get_ex(then, "role", &v))
		return fail(c, p, "missing; expected end-user, agent or admin");
	if (get_string(c, v, p, 16, &s) != 0)
		return -1;
	if ((ri = strv_index(role_names, s)) < 0)
		return fail(c, p, "expected end-user, agent or admin");
	r->desired.role = role_names[ri];
	end_user = ri == 0;
	r->desired.suspended = -1;
	if (json_object_object_get_ex(then, "custom_role", &v)) {
		path_key(p, sizeof(p), path, "custom_role");
		if (end_user)
			return fail(c, p, "an end-user has no custom role");
		if (get_string(c, v, p, MAX_NAME_LEN, &s) != 0 ||
		    dup_string(c, p, s, &r->custom_role) != 0)
			return -1;
		r->desired.custom_role = r->custom_role;
	} else if (ri == 1)
		return fail(c, path, "role agent needs a custom_role: never an "
		    "agent without a custom role (Enterprise shows it as "
		    "\"Legacy agent\")");
	if (json_object_object_get_ex(then, "groups", &v)) {
		path_key(p, sizeof(p), path, "groups");
		if (compile_groups(c, r, v, p) != 0)
			return -1;
		if (end_user && r->ngroups > 0)
			return fail(c, p, "an end-user cannot be a group member");
	}
	/* Products a rule does not name are off once it names any; an
	 * end-user holds none.  Support follows the role unless named. */
	if (json_object_object_get_ex(then, "entitlements", &v) || end_user) {
		for (i = POLICY_CHAT; i < POLICY_NPRODUCTS; i++)
			r->desired.ent[i].state = POLICY_ENT_OFF;
	}
	if (json_object_object_get_ex(then, "entitlements", &v)) {
		path_key(p, sizeof(p), path, "entitlements");
		if (compile_entitlements(c, r, v, p, end_user) != 0)
			return -1;
	}
	if (json_object_object_get_ex(then, "suspended", &v)) {
		path_key(p, sizeof(p), path, "suspended");
		if (!json_object_is_type(v, json_type_boolean))
			return fail(c, p, "expected true or false, found %s",
			    type_name(v));
		r->desired.suspended = json_object_get_boolean(v);
	}
	return 0;
}

static int
compile_rule(struct cc *c, struct rule *r, const struct json_object *o,
    const char *path, size_t idx)
{
	struct json_object *v;
	char p[PATHLEN];
	const char *s;
	size_t j;

	if (object_with(c, o, path, rule_keys, "a rule object {\"name\", "
	    "\"when\", \"then\"}") != 0)
		return -1;
	path_key(p, sizeof(p), path, "name");
	if (!json_object_object_get_ex(o, "name", &v))
		return fail(c, p, "missing; every rule needs a name (it is "
		    "recorded in the audit trail)");
	if (get_string(c, v, p, MAX_NAME_LEN, &s) != 0)
		return -1;
	for (j = 0; j < idx; j++)
		if (strcmp(c->p->rules[j].name, s) == 0)
			return fail(c, p, "\"%.64s\" is also the name of "
			    "rules[%zu]", s, j);
	if (dup_string(c, p, s, &r->name) != 0)
		return -1;
	if (json_object_object_get_ex(o, "description", &v) &&
	    !json_object_is_type(v, json_type_string)) {
		path_key(p, sizeof(p), path, "description");
		return fail(c, p, "expected a string, found %s", type_name(v));
	}
	path_key(p, sizeof(p), path, "when");
	if (!json_object_object_get_ex(o, "when", &v))
		return fail(c, p, "missing; use {} to match everyone");
	if (compile_when(c, r, v, p) != 0)
		return -1;
	path_key(p, sizeof(p), path, "then");
	if (!json_object_object_get_ex(o, "then", &v))
		return fail(c, p, "missing; expected {\"role\": ...}");
	return compile_then(c, r, v, p);
}

static int
compile_rules(struct cc *c, const struct json_object *rules)
{
	char p[PATHLEN];
	size_t n, i;

	if (!json_object_is_type(rules, json_type_array))
		return fail(c, "policy.rules", "expected an array of rules, "
		    "found %s", type_name(rules));
	n = json_object_array_length(rules);
	if (n > POLICY_MAX_RULES)
		return fail(c, "policy.rules", "more than %d rules",
		    POLICY_MAX_RULES);
	if (n > 0 && (c->p->rules = calloc(n, sizeof(*c->p->rules))) == NULL)
		return fail(c, "policy.rules", "out of memory");
	for (i = 0; i < n; i++) {
		path_idx(p, sizeof(p), "policy.rules", i);
		c->p->nrules = i + 1;
		if (compile_rule(c, &c->p->rules[i],
		    json_object_array_get_idx(rules, i), p, i) != 0)
			return -1;
	}
	return 0;
}

/* Sorts the interned names and renumbers the conditions to match. */
static int
finish_keys(struct cc *c)
{
	struct policy *p = c->p;
	int *map = NULL;
	size_t i, j, k;
	int rc = -1;

	if (c->ntmpkeys == 0)
		return 0;
	if ((map = calloc(c->ntmpkeys, sizeof(*map))) == NULL ||
	    (p->keys = calloc(c->ntmpkeys, sizeof(*p->keys))) == NULL) {
		fail(c, "policy", "out of memory");
		goto out;
	}
	memcpy(p->keys, c->tmpkeys, c->ntmpkeys * sizeof(*p->keys));
	p->nkeys = c->ntmpkeys;
	qsort(p->keys, p->nkeys, sizeof(*p->keys), cmp_cstr);
	for (i = 0; i < c->ntmpkeys; i++)
		for (j = 0; j < p->nkeys; j++)
			if (p->keys[j] == c->tmpkeys[i])
				map[i] = (int)j;
	free(c->tmpkeys);       /* the strings now belong to p->keys */
	c->tmpkeys = NULL;
	c->ntmpkeys = 0;
	for (i = 0; i < p->nrules; i++)
		for (k = 0; k < p->rules[i].nconds; k++)
			if (p->rules[i].conds[k].key != KIND_KEY)
				p->rules[i].conds[k].key =
				    map[p->rules[i].conds[k].key];
	rc = 0;
out:
	free(map);
	return rc;
}

/* -------------------------------------------------- the other sections */

static int
compile_protected(struct cc *c, const struct json_object *a)
{
	static const char *const pkeys[] = { "email", "external_id",
		"subject", NULL };
	struct policy *p = c->p;
	char path[PATHLEN], pk[PATHLEN];
	const char *s = NULL;
	size_t n, i;
	int w;

	if (!json_object_is_type(a, json_type_array))
		return fail(c, "policy.protected", "expected an array of e-mail "
		    "addresses, external ids or subject keys, found %s",
		    type_name(a));
	n = json_object_array_length(a);
	if (n > MAX_PROTECTED)
		return fail(c, "policy.protected", "more than %d entries",
		    MAX_PROTECTED);
	if (n > 0 && (p->prot = calloc(n, sizeof(*p->prot))) == NULL)
		return fail(c, "policy.protected", "out of memory");
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		path_idx(path, sizeof(path), "policy.protected", i);
		if (json_object_is_type(e, json_type_object)) {
			if (json_object_object_length(e) != 1 ||
			    check_keys(c, e, path, pkeys) != 0)
				return fail(c, path, "expected one of {\"email\": "
				    "...}, {\"external_id\": ...}, {\"subject\": "
				    "...}");
			json_object_object_foreach(e, k, v) {
				w = strv_index(pkeys, k);
				path_key(pk, sizeof(pk), path, k);
				if (get_string(c, v, pk, 1024, &s) != 0)
					return -1;
				p->prot[i].what = w == 0 ? PROT_EMAIL : w == 1 ?
				    PROT_EXTERNAL_ID : PROT_SUBJECT;
			}
		} else {
			if (get_string(c, e, path, 1024, &s) != 0)
				return -1;
			p->prot[i].what = PROT_ANY;
		}
		if (dup_string(c, path, s, &p->prot[i].val) != 0)
			return -1;
		p->nprot = i + 1;
	}
	return 0;
}

static int
compile_leaver(struct cc *c, const struct json_object *o)
{
	static const char *const leaver_keys[] = { "steps", NULL };
	struct json_object *a;
	char path[PATHLEN], list[96];
	const char *s;
	size_t n, i, j;
	int k;

	if (object_with(c, o, "policy.leaver", leaver_keys, "an object") != 0)
		return -1;
	if (!json_object_object_get_ex(o, "steps", &a))
		return 0;
	join_names(list, sizeof(list), (const char *const[]){
	    "entitlements_off", "downgrade", "suspend", NULL });
	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) == 0 || n > POLICY_NSTEPS)
		return fail(c, "policy.leaver.steps", "expected an array of 1 "
		    "to 3 distinct steps from %s", list);
	for (i = 0; i < n; i++) {
		path_idx(path, sizeof(path), "policy.leaver.steps", i);
		if (get_string(c, json_object_array_get_idx(a, i), path, 64,
		    &s) != 0)
			return -1;
		for (k = 0; k < POLICY_NSTEPS; k++)
			if (strcmp(s, step_names[k]) == 0)
				break;
		if (k == POLICY_NSTEPS)
			return fail(c, path, "unknown step; expected %s", list);
		for (j = 0; j < i; j++)
			if (c->p->steps[j] == (enum policy_step)k)
				return fail(c, path, "step \"%s\" listed twice",
				    step_names[k]);
		c->p->steps[i] = (enum policy_step)k;
	}
	c->p->nsteps = n;
	return 0;
}

static int
compile_match(struct cc *c, const struct json_object *a)
{
	static const char *const names[] = { "external_id", "email", NULL };
	char path[PATHLEN];
	const char *s;
	size_t n, i;
	int k;

	if (!json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) == 0 || n > 2)
		return fail(c, "policy.match_users_by", "expected [\"external_id\", "
		    "\"email\"] or one of them");
	for (i = 0; i < n; i++) {
		path_idx(path, sizeof(path), "policy.match_users_by", i);
		if (get_string(c, json_object_array_get_idx(a, i), path, 64,
		    &s) != 0)
			return -1;
		if ((k = strv_index(names, s)) < 0)
			return fail(c, path, "expected external_id or email");
		if (i == 1 && c->p->match[0] == names[k])
			return fail(c, path, "\"%s\" listed twice", names[k]);
		c->p->match[i] = names[k];
	}
	c->p->nmatch = n;
	return 0;
}

static int
get_int_range(struct cc *c, const struct json_object *v, const char *path,
    long lo, long hi, long *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return fail(c, path, "expected a whole number from %ld to %ld, "
		    "found %s", lo, hi, type_name(v));
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return fail(c, path, "expected a whole number from %ld to %ld",
		    lo, hi);
	*out = (long)x;
	return 0;
}

static int
compile_limits(struct cc *c, const struct json_object *o)
{
	struct policy_limits *l = &c->p->limits;
	char path[PATHLEN];
	long x;

	if (object_with(c, o, "policy.limits", limit_keys, "an object") != 0)
		return -1;
	json_object_object_foreach((struct json_object *)o, k, v) {
		path_key(path, sizeof(path), "policy.limits", k);
		/* A rate of 0 would stop every write: not a limit. */
		if (get_int_range(c, v, path, strcmp(k, "writes_per_minute") == 0 ?
		    1 : 0, 1000000, &x) != 0)
			return -1;
		switch (strv_index(limit_keys, k)) {
		case 0: l->downgrades_per_hour = x; break;
		case 1: l->suspensions_per_hour = x; break;
		case 2: l->changes_per_hour = x; break;
		default: l->writes_per_minute = x; break;
		}
	}
	return 0;
}

static void
rule_clear(struct rule *r)
{
	size_t i;

	free(r->name);
	for (i = 0; i < r->nconds; i++)
		matcher_clear(&r->conds[i].m);
	free(r->conds);
	free(r->when_canon);
	free(r->custom_role);
	strv_free(r->groups, r->ngroups);
	for (i = 0; i < POLICY_NPRODUCTS; i++)
		free(r->ent_names[i]);
}

/* Frees p and everything it owns.  NULL is a no-op. */
void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	strv_free(p->keys, p->nkeys);
	for (i = 0; i < p->nprot; i++)
		free(p->prot[i].val);
	free(p->prot);
	free(p);
}

/*
 * Compiles the policy object (borrowed).  Returns 0 with *out (caller
 * frees with policy_free), or -1 with err naming the JSON path.
 */
/* policy.drift: {"role": "revert", "groups": "alert", ...}. */
static int
compile_drift(struct cc *c, const struct json_object *o)
{
	char path[128];
	size_t i, m;
	const char *v;

	if (!json_object_is_type(o, json_type_object))
		return fail(c, "policy.drift", "expected an object {\"role\": "
		    "\"revert\", ...}, found %s", type_name(o));
	json_object_object_foreach((struct json_object *)o, k, val) {
		snprintf(path, sizeof(path), "policy.drift.%.64s", k);
		for (i = 0; i < POLICY_NDRIFT && strcmp(drift_fields[i], k) != 0;
		    i++)
			;
		if (i == POLICY_NDRIFT)
			return fail(c, path, "unknown field; expected role, "
			    "custom_role, groups, entitlements or suspended");
		v = json_object_is_type(val, json_type_string) ?
		    json_object_get_string(val) : NULL;
		for (m = 0; v != NULL && m < 3 && strcmp(drift_modes[m], v) != 0;
		    m++)
			;
		if (v == NULL || m == 3)
			return fail(c, path, "expected \"revert\", \"alert\" or "
			    "\"accept\"");
		c->p->drift[i] = (enum policy_drift)m;
	}
	return 0;
}

enum policy_drift
policy_drift_mode(const struct policy *p, enum policy_drift_field f)
{
	if ((int)f < 0 || f >= POLICY_NDRIFT)
		return POLICY_DRIFT_REVERT;
	return p->drift[f];
}

/* The optional sections after "rules", compiled in this order. */
static const struct {
	const char *key;
	int (*compile)(struct cc *, const struct json_object *);
} sections[] = {
	{ "protected", compile_protected },
	{ "leaver", compile_leaver },
	{ "match_users_by", compile_match },
	{ "limits", compile_limits },
	{ "drift", compile_drift },
};

int
policy_compile(const struct json_object *policy, struct policy **out,
    char *err, size_t errlen)
{
	struct cc c;
	struct json_object *v;
	char *canon = NULL;
	long x;
	size_t i;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (object_with(&c, policy, "policy", top_keys, "an object") != 0)
		goto out;
	if ((c.p = calloc(1, sizeof(*c.p))) == NULL) {
		fail(&c, "policy", "out of memory");
		goto out;
	}
	c.p->steps[0] = POLICY_STEP_ENTITLEMENTS_OFF;
	c.p->steps[1] = POLICY_STEP_DOWNGRADE;
	c.p->steps[2] = POLICY_STEP_SUSPEND;
	c.p->nsteps = POLICY_NSTEPS;
	c.p->match[0] = "external_id";
	c.p->match[1] = "email";
	c.p->nmatch = 2;
	c.p->rehire_days = DEFAULT_REHIRE_DAYS;
	c.p->limits.downgrades_per_hour = -1;
	c.p->limits.suspensions_per_hour = -1;
	c.p->limits.changes_per_hour = -1;
	c.p->limits.writes_per_minute = -1;
	c.p->leaver.role = "end-user";
	for (i = POLICY_CHAT; i < POLICY_NPRODUCTS; i++)
		c.p->leaver.ent[i].state = POLICY_ENT_OFF;
	c.p->leaver.suspended = 1;
	if (json_object_object_get_ex(policy, "ignore_case", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			fail(&c, "policy.ignore_case", "expected true or false, "
			    "found %s", type_name(v));
			goto out;
		}
		c.p->icase = json_object_get_boolean(v);
	}
	if (!json_object_object_get_ex(policy, "rules", &v)) {
		fail(&c, "policy.rules", "missing; expected an array of rules "
		    "(first match wins)");
		goto out;
	}
	if (compile_rules(&c, v) != 0 || finish_keys(&c) != 0)
		goto out;
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (json_object_object_get_ex(policy, sections[i].key, &v) &&
		    sections[i].compile(&c, v) != 0)
			goto out;
	if (json_object_object_get_ex(policy, "rehire_window_days", &v)) {
		if (get_int_range(&c, v, "policy.rehire_window_days", 0, 3650,
		    &x) != 0)
			goto out;
		c.p->rehire_days = (int)x;
	}
	if ((canon = policy_canonical_json(policy)) == NULL ||
	    sha256_hex(canon, c.p->hash) != 0) {
		fail(&c, "policy", "cannot compute the policy hash");
		goto out;
	}
	*out = c.p;
	c.p = NULL;
	rc = 0;
out:
	free(canon);
	strv_free(c.tmpkeys, c.ntmpkeys);
	policy_free(c.p);
	return rc;
}

/* ----------------------------------------------------------- evaluation */

static const char *
ev_attr(const struct norm_event *ev, const char *key)
{
	size_t i;

	for (i = 0; i < ev->nattrs && i < NORM_ATTR_MAX; i++)
		if (ev->attrs[i].key != NULL && strcmp(ev->attrs[i].key, key) == 0)
			return ev->attrs[i].value;
	return NULL;
}

/*
 * Returns 1 when email (case-insensitive), external_id or subject is in
 * policy.protected.  Any argument may be NULL.
 */
int
policy_is_protected(const struct policy *p, const char *email,
    const char *external_id, const char *subject)
{
	size_t i;

	if (p == NULL)
		return 0;
	for (i = 0; i < p->nprot; i++) {
		const struct prot *e = &p->prot[i];

		if ((e->what == PROT_ANY || e->what == PROT_EMAIL) &&
		    email != NULL && strcasecmp(email, e->val) == 0)
			return 1;
		if ((e->what == PROT_ANY || e->what == PROT_EXTERNAL_ID) &&
		    external_id != NULL && strcmp(external_id, e->val) == 0)
			return 1;
		if ((e->what == PROT_ANY || e->what == PROT_SUBJECT) &&
		    subject != NULL && strcmp(subject, e->val) == 0)
			return 1;
	}
	return 0;
}

static int
rule_matches(const struct rule *r, const char *const *vals, const char *kind)
{
	size_t i;

	for (i = 0; i < r->nconds; i++) {
		const struct cond *cd = &r->conds[i];

		if (!matcher_eval(&cd->m, cd->key == KIND_KEY ? kind :
		    vals[cd->key]))
			return 0;
	}
	return 1;
}

static int
cmp_key_str(const void *k, const void *e)
{
	return strcmp((const char *)k, *(const char *const *)e);
}

/*
 * Fills *out for ev (see policy.h).  Borrows from p; never fails.
 */
void
policy_evaluate(const struct policy *p, const struct norm_event *ev,
    struct policy_decision *out)
{
	const char *vals[POLICY_MAX_KEYS];
	const char *kind = ev->kind != NULL && ev->kind[0] != '\0' ?
	    ev->kind : NULL;
	char *const *hit;
	size_t i;
	int plain;

	memset(out, 0, sizeof(*out));
	out->desired.suspended = -1;
	out->policy_hash = p->hash;
	out->is_protected = policy_is_protected(p, ev_attr(ev, "email"),
	    ev_attr(ev, "external_id"), ev->subject);
	for (i = 0; i < p->nkeys; i++)
		vals[i] = NULL;
	for (i = 0; p->nkeys > 0 && i < ev->nattrs && i < NORM_ATTR_MAX; i++) {
		const struct norm_attr *a = &ev->attrs[i];

		if (a->key == NULL || a->value == NULL || a->value[0] == '\0')
			continue;
		hit = bsearch(a->key, p->keys, p->nkeys, sizeof(*p->keys),
		    cmp_key_str);
		if (hit != NULL && vals[hit - p->keys] == NULL)
			vals[hit - p->keys] = a->value;
	}
	/* Rules that do not name a kind are for people in post: a leaver
	 * or a Zendesk-side event must never meet the catch-all. */
	plain = kind != NULL && (strcmp(kind, "hire") == 0 ||
	    strcmp(kind, "update") == 0 || strcmp(kind, "rehire") == 0);
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (!r->has_kind && !plain)
			continue;
		if (!rule_matches(r, vals, kind))
			continue;
		out->rule = r->name;
		out->desired = r->desired;
		if (out->desired.suspended < 0 && kind != NULL &&
		    (strcmp(kind, "hire") == 0 || strcmp(kind, "rehire") == 0))
			out->desired.suspended = 0;
		return;
	}
	if (kind != NULL && strcmp(kind, "terminate") == 0) {
		out->leaver = 1;
		out->desired = p->leaver;
	}
}

/* ---------------------------------------------------------------- check */

static int
name_in(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] != NULL && strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/*
 * Checks rule references against Zendesk's names and reports dead rules
 * through warn.  Returns 0, or -1 with err naming the first bad rule.
 */
/* Appends "PATH: WHAT \"NAME\"" to buf (", " between); the new length. */
static size_t
list_more(char *buf, size_t len, size_t off, const char *path,
    const char *what, const char *name)
{
	int n;

	if (off >= len)
		return off;
	n = snprintf(buf + off, len - off, "%s%s: %s \"%s\"", off > 0 ?
	    ", " : "", path, what, name);
	return n < 0 ? off : off + (size_t)n;
}

int
policy_check(const struct policy *p, const char *const *roles,
    size_t nroles, const char *const *groups, size_t ngroups,
    policy_warn_fn warn, void *arg, char *err, size_t errlen)
{
	struct cc c;
	char path[PATHLEN], msg[POLICY_ERRLEN], more[POLICY_ERRLEN] = "";
	size_t i, j, off = 0;
	int nbad = 0;

	memset(&c, 0, sizeof(c));
	c.err = err;
	c.errlen = errlen;
	/*
	 * Every unknown name, so that one run shows them all: the first in
	 * full, the others listed after it.
	 */
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		snprintf(path, sizeof(path), "policy.rules[%zu] (%s)", i,
		    r->name);
		if (roles != NULL && r->custom_role != NULL &&
		    !name_in(r->custom_role, roles, nroles)) {
			if (nbad++ == 0)
				fail(&c, path, "custom role \"%s\" does not "
				    "exist in Zendesk; create it (rolehook roles "
				    "sync) or fix the name", r->custom_role);
			else
				off = list_more(more, sizeof(more), off, path,
				    "custom role", r->custom_role);
		}
		for (j = 0; groups != NULL && j < r->ngroups; j++) {
			if (name_in(r->groups[j], groups, ngroups))
				continue;
			if (nbad++ == 0)
				fail(&c, path, "group \"%s\" does not exist in "
				    "Zendesk; create it or fix the name",
				    r->groups[j]);
			else
				off = list_more(more, sizeof(more), off, path,
				    "group", r->groups[j]);
		}
	}
	if (nbad > 1 && err != NULL && strlen(err) + 1 < errlen)
		snprintf(err + strlen(err), errlen - strlen(err), "; also "
		    "unknown: %s", more);
	if (nbad > 0)
		return -1;
	if (warn == NULL)
		return 0;
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		for (j = 0; j < i; j++) {
			const struct rule *e = &p->rules[j];

			if (e->nconds == 0 && !r->has_kind) {
				snprintf(msg, sizeof(msg), "policy.rules[%zu] "
				    "(%s): unreachable: rules[%zu] (%s) before "
				    "it matches every hire, update and rehire",
				    i, r->name, j, e->name);
				warn(arg, msg);
				break;
			}
			if (strcmp(e->when_canon, r->when_canon) == 0) {
				snprintf(msg, sizeof(msg), "policy.rules[%zu] "
				    "(%s): shadowed: rules[%zu] (%s) has the same "
				    "\"when\" and comes first", i, r->name, j,
				    e->name);
				warn(arg, msg);
				break;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ accessors */

/* Hex SHA-256 of the canonical policy.  Borrowed. */
const char *
policy_hash(const struct policy *p)
{
	return p->hash;
}

/* Number of rules. */
size_t
policy_nrules(const struct policy *p)
{
	return p->nrules;
}

/* Rule i's then.custom_role (borrowed), or NULL. */
const char *
policy_rule_custom_role(const struct policy *p, size_t i, const char **rule)
{
	if (i >= p->nrules) {
		if (rule != NULL)
			*rule = NULL;
		return NULL;
	}
	if (rule != NULL)
		*rule = p->rules[i].name;
	return p->rules[i].custom_role;
}

/* Leaver steps in order (borrowed); *n is their count. */
const enum policy_step *
policy_leaver_steps(const struct policy *p, size_t *n)
{
	*n = p->nsteps;
	return p->steps;
}

/* match_users_by in order (borrowed); *n is its length. */
const char *const *
policy_match_users_by(const struct policy *p, size_t *n)
{
	*n = p->nmatch;
	return p->match;
}

/* rehire_window_days. */
int
policy_rehire_window_days(const struct policy *p)
{
	return p->rehire_days;
}

/* limits (borrowed). */
const struct policy_limits *
policy_limits(const struct policy *p)
{
	return &p->limits;
}

/* Product name, or NULL when out of range. */
const char *
policy_product_name(enum policy_product prod)
{
	return (int)prod >= 0 && prod < POLICY_NPRODUCTS ?
	    product_names[prod] : NULL;
}

/* Step name, or NULL when out of range. */
const char *
policy_step_name(enum policy_step step)
{
	return (int)step >= 0 && step < POLICY_NSTEPS ? step_names[step] :
	    NULL;
}

/*
 * New JSON object for d (caller puts it); unmanaged members are null.
 */
struct json_object *
policy_desired_to_json(const struct policy_desired *d)
{
	struct json_object *o, *g = NULL, *e;
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "role", d->role != NULL ?
	    json_object_new_string(d->role) : NULL);
	json_object_object_add(o, "custom_role", d->custom_role != NULL ?
	    json_object_new_string(d->custom_role) : NULL);
	if (d->groups_managed) {
		g = json_object_new_array();
		for (i = 0; g != NULL && i < d->ngroups; i++)
			json_object_array_add(g,
			    json_object_new_string(d->groups[i]));
	}
	json_object_object_add(o, "groups", g);
	e = json_object_new_object();
	for (i = 0; e != NULL && i < POLICY_NPRODUCTS; i++) {
		if (d->ent[i].state == POLICY_ENT_ON)
			json_object_object_add(e, product_names[i],
			    json_object_new_string(d->ent[i].name));
		else if (d->ent[i].state == POLICY_ENT_OFF)
			json_object_object_add(e, product_names[i],
			    json_object_new_boolean(0));
	}
	json_object_object_add(o, "entitlements", e);
	json_object_object_add(o, "suspended", d->suspended < 0 ? NULL :
	    json_object_new_boolean(d->suspended));
	return o;
}
