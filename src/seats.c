/*
 * seats.c -- seat analysis for `rolehook report seats` (seats.h): who
 * holds a Zendesk seat, with which role, custom role, groups and product
 * entitlements, and which of those seats look wasted (suspended agents,
 * people HR says have left).
 *
 * Reads only: GET users (agents and admins, cursor pagination), custom
 * roles, groups, all group memberships (one listing; per agent only
 * when the listing is refused) and -- when
 * zendesk.entitlements is on -- each agent's product access from the
 * official GET /api/v2/users/{id}/entitlements/full (Zendesk's OpenAPI
 * GetUserEntitlementsFull; Support is the role and custom role).  Every
 * request goes through one rate governor, as the worker's do, so a
 * report over thousands of agents
 * stays inside the account's per-minute budget ("Rate limits", Zendesk
 * Support API docs) instead of earning 429s.
 *
 * Notes go to the caller (struct seats_report); the estimate and
 * progress to stderr (bulk.h; not when quiet).  The per-agent reads run
 * on a small pool so that the governor, not the round trip, sets the
 * pace (prefetch_run).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/bulk.h"
#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/jsonutil.h"
#include "rolehook/listing.h"
#include "rolehook/governor.h"
#include "rolehook/hash.h"
#include "rolehook/monotime.h"
#include "rolehook/normalize.h"
#include "rolehook/people.h"
#include "rolehook/seats.h"
#include "rolehook/store.h"
#include "rolehook/strv.h"
#include "rolehook/zendesk.h"

#define STORE_SCAN_MAX 1000000   /* newest stored events looked at */
#define FETCH_ATTEMPTS 5         /* per-agent reads: 5xx/timeouts/429 */
#define ENT_PROBE 3              /* 404s before the endpoint is "absent" */

const char *const seats_products[SEATS_NPRODUCTS] = { "support", "chat",
	"talk", "guide", "explore" };
#define products seats_products
#define NPRODUCTS ((size_t)SEATS_NPRODUCTS)

/* A sorted id -> name map (custom roles, groups); names borrowed. */
struct idname {
	int64_t id;
	const char *name;
};

/* A growable set of owned strings; sorted by strset_seal. */
struct strset {
	char **v;
	size_t n, cap;
};

struct report {
	const struct config *cfg;
	const struct seats_report *rep;
	struct bulk_progress *prog;  /* open while agents are read */
	int tty;                     /* stderr is a terminal: progress */
	int quiet;                   /* --quiet: no estimate, no progress */
	struct zd_opts zo;           /* for the pool's clients */
	struct prefetch *pre;        /* per-agent reads done by the pool */
	json_object *mships;         /* every group membership (owned), or
	                              * NULL: read per agent */
	struct listing_index *umem;  /* index of mships by user */
	int entitlements;            /* zendesk.entitlements */
	const char *base_url;        /* for messages */
	struct zd_client *zd;
	json_object *roles_doc;      /* GET custom_roles body (owned) */
	json_object *groups_doc;     /* GET groups body (owned) */
	struct idname *roles, *groups;
	size_t nroles, ngroups;
	json_object *users;          /* array of user objects (owned) */
	struct strset left_emails;   /* lower-case */
	struct strset left_ids;      /* external ids / employee ids */
	json_object *rows;           /* output rows (owned) */
	size_t ent_ok, ent_404;
	long totals[NPRODUCTS];
	long n_agent, n_admin, n_suspended, n_flag_susp, n_flag_left;
};

/* ------------------------------------------------------------ helpers */

static void note(const struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports one line through rep->note, after any progress line. */
static void
note(const struct report *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bulk_progress_break(r->prog);
	if (r->rep->note != NULL)
		r->rep->note(r->rep->arg, msg);
}

/* ------------------------------------------------------------- strset */

static int
strset_add(struct strset *s, const char *str, int lower)
{
	char **nv, *copy;
	size_t ncap;

	if (str == NULL || *str == '\0')
		return 0;
	if (s->n == s->cap) {
		ncap = s->cap == 0 ? 64 : s->cap * 2;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	if ((copy = strdup(str)) == NULL)
		return -1;
	s->v[s->n++] = lower ? str_lower(copy) : copy;
	return 0;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
strset_seal(struct strset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), strp_cmp);
}

/* Exact match; with lower, str is compared lower-cased. */
static int
strset_has(const struct strset *s, const char *str, int lower)
{
	char buf[512];
	const char *key = str;

	if (str == NULL || *str == '\0' || s->n == 0)
		return 0;
	if (lower) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s", str) >= sizeof(buf))
			return 0;   /* longer than any e-mail address */
		key = str_lower(buf);
	}
	return bsearch(&key, s->v, s->n, sizeof(*s->v), strp_cmp) != NULL;
}

static void
strset_free(struct strset *s)
{
	strv_free(s->v, s->n);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- id maps */

static int
idname_cmp(const void *a, const void *b)
{
	const struct idname *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Builds a sorted map from an array of {"id", "name"} objects (names
 * borrowed from arr).  Returns 0, or -1 out of memory.
 */
static int
idname_build(json_object *arr, struct idname **out, size_t *n)
{
	struct idname *m;
	size_t i, len, k = 0;
	const char *name;
	int64_t id;

	*out = NULL;
	*n = 0;
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return 0;
	len = json_object_array_length(arr);
	if (len == 0)
		return 0;
	if ((m = calloc(len, sizeof(*m))) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		if (json_member_int(o, "id", &id) != 0 ||
		    (name = json_member_str(o, "name")) == NULL)
			continue;
		m[k].id = id;
		m[k].name = name;
		k++;
	}
	qsort(m, k, sizeof(*m), idname_cmp);
	*out = m;
	*n = k;
	return 0;
}

static const char *
idname_find(const struct idname *m, size_t n, int64_t id)
{
	struct idname key, *hit;

	if (n == 0)
		return NULL;
	key.id = id;
	key.name = NULL;
	hit = bsearch(&key, m, n, sizeof(*m), idname_cmp);
	return hit != NULL ? hit->name : NULL;
}

/* ------------------------------------------------------ Zendesk errors */

/*
 * Prints why a Zendesk read failed, naming the base URL and what to
 * check.  Returns 1 (the exit status for a Zendesk failure).
 */
static int
zd_fail(const struct report *r, const char *what, enum zd_result rc,
    const struct zd_response *res)
{
	switch (rc) {
	case ZD_UNAUTHORIZED:
		/*
		 * res->reason says "METHOD: HTTP 401: ..." after a request, or
		 * (status 0) why the OAuth token endpoint refused; the advice
		 * fits the configured auth kind.
		 */
		note(r, "%s: %s: %s%s%s; %s", r->base_url, what,
		    res->status != 0 ? "Zendesk refused the credential (" : "",
		    res->reason, res->status != 0 ? ")" : "",
		    zd_conf_auth_advice(r->cfg));
		break;
	case ZD_RETRYABLE:
	case ZD_ERROR:
		if (res->status == 0) {
			note(r, "%s: %s: cannot reach "
			    "Zendesk (%s); check zendesk.base_url or "
			    "zendesk.subdomain, DNS, and that this host may "
			    "make outbound HTTPS (firewall, proxy)",
			    r->base_url, what, res->reason);
			break;
		}
		note(r, "%s: %s: Zendesk kept failing "
		    "(%s); try again later, and check "
		    "https://status.zendesk.com", r->base_url, what,
		    res->reason);
		break;
	case ZD_RATE_LIMITED:
		note(r, "%s: %s: still rate limited after "
		    "%d attempts (%s); other integrations may be using the "
		    "account's budget: try again later", r->base_url, what,
		    FETCH_ATTEMPTS, res->reason);
		break;
	default:
		note(r, "%s: %s: %s (%s)", r->base_url, what, zd_strerror(rc),
		    res->reason);
		break;
	}
	return 1;
}

/*
 * Retries a read on 5xx/timeouts (growing pause, or Retry-After) and on
 * 429 (the governor, which saw the Retry-After, holds the next request
 * back by itself).  Returns the last result.
 */
static enum zd_result
fetch_retry(struct zd_client *zd, enum zd_result (*fn)(struct zd_client *,
    int64_t, struct zd_response *), int64_t id, struct zd_response *res)
{
	enum zd_result rc = ZD_ERROR;
	long pause;
	int i;

	for (i = 0; i < FETCH_ATTEMPTS; i++) {
		rc = fn(zd, id, res);
		if (rc != ZD_RETRYABLE && rc != ZD_RATE_LIMITED)
			break;
		if (rc == ZD_RETRYABLE && i + 1 < FETCH_ATTEMPTS) {
			pause = res->retry_after_s > 0 && res->retry_after_s < 60 ?
			    res->retry_after_s * 1000L : 500L << i;
			monotime_sleep_ms(pause);
		}
	}
	return rc;
}

/* ----------------------------------------------------------- leavers */

static int
left_status(const char *s)
{
	return s != NULL && (strcasecmp(s, "terminated") == 0 ||
	    strcasecmp(s, "inactive") == 0);
}

/*
 * Puts the person of ev -- e-mail, external id and employee id -- into
 * the leaver sets.  Returns 0, or -1 out of memory.
 */
static int
add_leaver(struct report *r, const struct norm_event *ev)
{
	return strset_add(&r->left_emails, norm_attr(ev, "email"), 1) != 0 ||
	    strset_add(&r->left_ids, norm_attr(ev, "external_id"), 0) != 0 ||
	    strset_add(&r->left_ids, norm_attr(ev, "employee_id"), 0) != 0 ?
	    -1 : 0;
}

/*
 * The --people export: PEOPLE.json, as simulate --all and reconcile
 * --people take it (people.h: objects of normalised attributes; the
 * older {"email", "external_id", "employment_status"} entries are such
 * objects too).  A person whose kind is terminate, or whose
 * employment_status is terminated or inactive, goes into the leaver
 * sets.  Returns 0, or -1 with err naming the file and the entry.
 */
static int
load_people(struct report *r, json_object *doc, const char *path, char *err,
    size_t errlen)
{
	struct norm_event ev;
	char perr[512];
	size_t i, n;
	int rc;

	if (!json_object_is_type(doc, json_type_array)) {
		snprintf(err, errlen, "%s: expected a JSON array of people "
		    "(PEOPLE.json: {\"employee_id\", \"email\", "
		    "\"external_id\", \"employment_status\", ...})", path);
		return -1;
	}
	n = json_object_array_length(doc);
	for (i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(doc, i),
		    json_type_object)) {
			snprintf(err, errlen, "%s: [%zu]: expected an object",
			    path, i);
			return -1;
		}
		if (people_from_json(json_object_array_get_idx(doc, i), i, &ev,
		    perr, sizeof(perr)) != 0) {
			snprintf(err, errlen, "%s: %s", path, perr);
			return -1;
		}
		rc = strcmp(ev.kind, "terminate") == 0 ||
		    left_status(norm_attr(&ev, "employment_status")) ?
		    add_leaver(r, &ev) : 0;
		people_clear(&ev);
		if (rc != 0) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
	}
	return 0;
}

/* A stored event's id and subject (NULL until the worker classified it). */
struct subj_ev {
	char *subject;
	int64_t id;
};

struct scan {
	struct subj_ev *v;
	size_t n, cap;
	int oom;
};

static void
scan_cb(const struct store_event *ev, void *arg)
{
	struct scan *s = arg;
	struct subj_ev *nv;
	size_t ncap;

	/* Zendesk's own events are about accounts, not employment. */
	if (s->oom || (ev->subject != NULL &&
	    strncmp(ev->subject, "zendesk:", 8) == 0))
		return;
	if (s->n == s->cap) {
		ncap = s->cap == 0 ? 256 : s->cap * 2;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL) {
			s->oom = 1;
			return;
		}
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].subject = NULL;
	if (ev->subject != NULL &&
	    (s->v[s->n].subject = strdup(ev->subject)) == NULL) {
		s->oom = 1;
		return;
	}
	s->v[s->n].id = ev->id;
	s->n++;
}

/* Open-addressing set of subject keys (owned), sized once. */
struct seen {
	char **slot;
	size_t cap;   /* power of two */
};

/* Returns 1 if key is in the set, 0 after adding it, -1 out of memory. */
static int
seen_add(struct seen *set, const char *key)
{
	size_t i = (size_t)hash_fnv1a(key, strlen(key)) & (set->cap - 1);

	while (set->slot[i] != NULL) {
		if (strcmp(set->slot[i], key) == 0)
			return 1;
		i = (i + 1) & (set->cap - 1);
	}
	return (set->slot[i] = strdup(key)) == NULL ? -1 : 0;
}

static int
seen_has(const struct seen *set, const char *key)
{
	size_t i = (size_t)hash_fnv1a(key, strlen(key)) & (set->cap - 1);

	while (set->slot[i] != NULL) {
		if (strcmp(set->slot[i], key) == 0)
			return 1;
		i = (i + 1) & (set->cap - 1);
	}
	return 0;
}

/*
 * Normalises stored event id and, when it is the newest person event of
 * its subject, records the subject in set and -- for a terminate (not
 * one work found out of order), or any event of a person whose leave
 * work applied (an ignored update, a withdrawn offer's stale hire: see
 * decide_order) -- the person's e-mail, external id and employee id in
 * the leaver sets.  Unreadable events, ignored kinds and Zendesk events
 * say nothing.  Returns 0, or -1 out of memory.
 */
static int
store_event_visit(struct report *r, struct store *st, int64_t id,
    struct seen *set)
{
	struct store_event row;
	struct store_subject subj;
	struct norm_event nev;
	char err[DECIDE_ERRLEN];
	int rc = 0, s, left;

	memset(&nev, 0, sizeof(nev));
	memset(&subj, 0, sizeof(subj));
	if (store_get(st, id, &row) != 0)
		return 0;
	/* A split batch's parent fails here; its children stand for it. */
	if (decide_event(r->cfg, &row, &nev, NULL, err, sizeof(err)) != 0 ||
	    !decide_is_person(&nev))
		goto out;
	if ((s = seen_add(set, nev.subject)) != 0) {
		rc = s < 0 ? -1 : 0;   /* 1: a newer event decided */
		goto out;
	}
	/* A terminate not refused as out of order, or whatever the newest
	 * event is, a person whose leave work applied. */
	left = (strcmp(nev.kind, "terminate") == 0 && (row.state == NULL ||
	    strcmp(row.state, "stale") != 0)) ||
	    (store_subject_get(st, nev.subject, &subj) == 0 &&
	    subj.left_event > 0);
	if (left && add_leaver(r, &nev) != 0)
		rc = -1;
out:
	store_subject_clear(&subj);
	norm_event_clear(&nev);
	store_event_clear(&row);
	return rc;
}

/*
 * Adds the people whose newest stored HR event is a terminate (processed
 * or still pending).  The store is optional: nothing happens when
 * store.path does not exist, and a store that cannot be read earns a
 * note.  Processed events older than store.retention_days are gone.
 * Returns 0, or -1 out of memory.
 */
static int
load_store_leavers(struct report *r)
{
	struct store *st = NULL;
	struct store_opts so;
	struct scan sc;
	struct seen set = { NULL, 0 };
	struct stat sb;
	const char *where;
	char err[512];
	size_t i;
	int rc = -1;

	memset(&sc, 0, sizeof(sc));
	if (r->cfg->store.engine == STORE_SQLITE &&
	    (r->cfg->store.path == NULL || stat(r->cfg->store.path, &sb) != 0))
		return 0;
	where = r->cfg->store.engine == STORE_SQLITE ? r->cfg->store.path :
	    "the PostgreSQL store";
	memset(&so, 0, sizeof(so));
	so.readonly = 1;
	if (config_store_open(r->cfg, &so, &st, err, sizeof(err)) != 0) {
		note(r, "note: %s: not read (%s); "
		    "left_per_hr uses --people only", where, err);
		rc = 0;
		goto out;
	}
	/* Newest first: the first event seen for a subject decides. */
	if (store_list(st, NULL, NULL, STORE_SCAN_MAX, scan_cb, &sc) != 0) {
		note(r, "note: %s: cannot list events; "
		    "left_per_hr uses --people only", where);
		rc = 0;
		goto out;
	}
	if (sc.oom)
		goto out;
	if (sc.n == STORE_SCAN_MAX)
		note(r, "note: only the newest %d stored "
		    "events were read for left_per_hr", STORE_SCAN_MAX);
	for (set.cap = 64; set.cap < sc.n * 2; set.cap *= 2)
		;
	if ((set.slot = calloc(set.cap, sizeof(*set.slot))) == NULL)
		goto out;
	for (i = 0; i < sc.n; i++) {
		/* Classified and already decided: no need to load it. */
		if (sc.v[i].subject != NULL && seen_has(&set, sc.v[i].subject))
			continue;
		if (store_event_visit(r, st, sc.v[i].id, &set) != 0)
			goto out;
	}
	rc = 0;
out:
	strv_free(set.slot, set.cap);
	for (i = 0; i < sc.n; i++)
		free(sc.v[i].subject);
	free(sc.v);
	store_close(st);
	return rc;
}

/* ------------------------------------------------------------- fetch */

/* listing_fn: the agent listing's progress, on a terminal. */
static void
agents_progress(size_t n, void *arg)
{
	const struct report *r = arg;

	if (r->tty && r->rep->listing != NULL)
		r->rep->listing(r->rep->arg, n, 0);
}

static int
user_id_cmp(const void *a, const void *b)
{
	int64_t x = 0, y = 0;

	json_member_int(*(json_object *const *)a, "id", &x);
	json_member_int(*(json_object *const *)b, "id", &y);
	return x < y ? -1 : x > y;
}

/*
 * Lists every agent and admin into r->users, sorted by id, each once (a
 * user who moves while the listing pages may be seen twice).  Returns 0
 * or an exit status.
 */
static int
fetch_agents(struct report *r)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	json_object *all = NULL, *dedup = NULL;
	enum zd_result rc = ZD_ERROR;
	int64_t prev = 0, id;
	size_t i, n;
	int ret = 1, oom;

	rc = listing_all(r->zd, LISTING_AGENTS, agents_progress, r, &all,
	    &oom, &res);
	if (oom)
		goto oom;
	if (r->tty && r->rep->listing != NULL)
		r->rep->listing(r->rep->arg, json_object_array_length(all), 1);
	if (rc != ZD_OK) {
		ret = zd_fail(r, "listing agents and admins", rc, &res);
		goto out;
	}
	json_object_array_sort(all, user_id_cmp);
	if ((dedup = json_object_new_array()) == NULL)
		goto oom;
	n = json_object_array_length(all);
	for (i = 0; i < n; i++) {
		json_object *u = json_object_array_get_idx(all, i);

		if (json_member_int(u, "id", &id) != 0 || (i > 0 && id == prev))
			continue;
		prev = id;
		if (json_object_array_add(dedup, json_object_get(u)) != 0) {
			json_object_put(u);
			goto oom;
		}
	}
	r->users = dedup;
	dedup = NULL;
	ret = 0;
	goto out;
oom:
	note(r, "out of memory listing agents");
out:
	json_object_put(dedup);
	json_object_put(all);
	zd_response_clear(&res);
	return ret;
}

/*
 * Reads one id -> name map (custom roles or groups) into *doc and *map.
 * Without it the report still works (ids instead of names), so a refusal
 * other than of the credential is a note.  Returns 0 or an exit status.
 */
static int
fetch_map(struct report *r, enum zd_result (*list)(struct zd_client *,
    struct zd_response *), const char *what, const char *why_not,
    const char *shows, json_object **doc, struct idname **map, size_t *n)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	enum zd_result rc;
	char doing[64];
	int ret = 0;

	rc = list(r->zd, &res);
	if (rc == ZD_OK) {
		*doc = json_object_get(res.body);
		if (idname_build(res.item, map, n) != 0) {
			note(r, "out of memory");
			ret = 1;
		}
	} else if (rc == ZD_NOT_FOUND || rc == ZD_PERMANENT)
		note(r, "note: %s not readable (%s: %s%s): %s \"#<id>\"", what,
		    zd_strerror(rc), res.reason, why_not, shows);
	else {
		snprintf(doing, sizeof(doing), "listing %s", what);
		ret = zd_fail(r, doing, rc, &res);
	}
	zd_response_clear(&res);
	return ret;
}

/* The custom roles and groups maps (fetch_map). */
static int
fetch_maps(struct report *r)
{
	int ret;

	if ((ret = fetch_map(r, zd_list_custom_roles, "custom roles",
	    "; custom roles need the Enterprise plan", "custom_role shows",
	    &r->roles_doc, &r->roles, &r->nroles)) != 0)
		return ret;
	return fetch_map(r, zd_list_groups, "groups", "", "groups show",
	    &r->groups_doc, &r->groups, &r->ngroups);
}

/* --------------------------------------------------------- memberships */

/*
 * Every group membership in one listing (GET /api/v2/group_memberships,
 * 100 a page) instead of one request per agent: for 5,000 agents about
 * 50 requests instead of 5,000.  Sets r->mships and r->umem.  Returns 0;
 * 0 with r->mships NULL when the listing is refused or not understood
 * (groups are then read per agent, with a note); or an exit status: when
 * Zendesk failed, with *frc and *fail (caller clears) for zd_fail, which
 * the caller calls unless the agent listing already said what is wrong.
 */
static int
fetch_memberships(struct report *r, struct zd_client *zd,
    enum zd_result *frc, struct zd_response *fail)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	json_object *all = NULL;
	enum zd_result rc;
	int ret = 1, oom;

	rc = listing_all(zd, LISTING_MEMBERSHIPS, NULL, NULL, &all, &oom,
	    &res);
	if (oom)
		goto oom;
	if (rc == ZD_NOT_FOUND || rc == ZD_PERMANENT ||
	    rc == ZD_BAD_RESPONSE) {
		note(r, "note: cannot list all group "
		    "memberships (%s: %s): reading them per agent",
		    zd_strerror(rc), res.reason);
		ret = 0;
		goto out;
	}
	if (rc != ZD_OK) {
		*frc = rc;
		*fail = res;             /* handed over */
		memset(&res, 0, sizeof(res));
		goto out;
	}
	if ((r->umem = listing_index_new(all)) == NULL)
		goto oom;
	r->mships = all;
	all = NULL;
	ret = 0;
	goto out;
oom:
	note(r, "out of memory listing group memberships");
out:
	json_object_put(all);
	zd_response_clear(&res);
	return ret;
}

/*
 * The membership listing runs on its own thread and client beside the
 * agent listing: each is a chain of pages, one after the other, and a
 * page usually takes longer than one governor slot (86 ms at 700/min);
 * two chains at once keep the governor busy.
 */
struct mthread {
	struct report *r;
	struct zd_client *zd;
	pthread_t t;
	int started, rc;
	enum zd_result frc;          /* ZD_OK, or why Zendesk failed */
	struct zd_response fail;
};

static void *
mthread_main(void *arg)
{
	struct mthread *mt = arg;

	mt->rc = fetch_memberships(mt->r, mt->zd, &mt->frc, &mt->fail);
	return NULL;
}

/* Starts the listing; without a thread or client it runs in mships_finish. */
static void
mships_start(struct report *r, struct mthread *mt)
{
	char err[ZD_ERRLEN];

	memset(mt, 0, sizeof(*mt));
	mt->r = r;
	mt->fail.retry_after_s = -1;
	if (zd_client_new(&r->zo, &mt->zd, err, sizeof(err)) != ZD_OK)
		mt->zd = NULL;
	else if (pthread_create(&mt->t, NULL, mthread_main, mt) == 0)
		mt->started = 1;
}

/*
 * Waits for the listing (or makes it now, unless failed: the agent
 * listing failed, which said why); returns fetch_memberships' result.
 */
static int
mships_finish(struct report *r, struct mthread *mt, int failed)
{
	if (mt->started)
		pthread_join(mt->t, NULL);
	else if (!failed)
		mt->rc = fetch_memberships(r, mt->zd != NULL ? mt->zd : r->zd,
		    &mt->frc, &mt->fail);
	if (mt->frc != ZD_OK && !failed)
		mt->rc = zd_fail(r, "listing group memberships", mt->frc,
		    &mt->fail);
	zd_response_clear(&mt->fail);
	zd_client_free(mt->zd);
	mt->zd = NULL;
	return mt->rc;
}

/*
 * Fills res as zd_list_memberships would (item: the array of uid's
 * memberships; body owned by res) from r->mships.  Returns 0, or -1 out
 * of memory.
 */
static int
umem_response(const struct report *r, int64_t uid, struct zd_response *res)
{
	json_object *doc;

	if ((doc = listing_index_user(r->umem, uid)) == NULL)
		return -1;
	res->status = 200;
	res->body = doc;
	res->item = json_object_object_get(doc, "group_memberships");
	return 0;
}

/* ------------------------------------------------------------ prefetch */

/*
 * The per-agent reads (memberships, entitlements) of every agent, made by
 * a pool of BULK_THREADS clients so that several requests are in flight
 * and the governor alone sets the pace (bulk.h: a run then takes the
 * floor, requests / limit, not requests * round trip).  agent_row takes
 * each answer from here, in order, and builds the rows as before.
 */
struct pre_slot {
	enum zd_result mrc, erc;
	struct zd_response mres, eres;
	int mdone, edone;
};

struct prefetch {
	struct pre_slot *slot;       /* parallel to r->users */
	int64_t *ids;                /* ascending, parallel to slot */
	size_t n;
	struct zd_client *zd[BULK_THREADS];
	pthread_mutex_t mu;          /* guards ents, ent_ok, ent_404 */
	int ents;                    /* entitlements still being read */
	size_t ent_ok, ent_404;
};

/* bulk_fn: the reads of agent i, on the pool's client `thread`. */
static int
pre_one(size_t i, int thread, void *arg)
{
	struct prefetch *pf = arg;
	struct pre_slot *s = &pf->slot[i];
	struct zd_client *zd = pf->zd[thread];
	int ents;

	if (!s->mdone) {             /* not known from the bulk listing */
		s->mrc = fetch_retry(zd, zd_list_memberships, pf->ids[i],
		    &s->mres);
		s->mdone = 1;
	}
	if (s->mrc != ZD_OK && s->mrc != ZD_NOT_FOUND)
		return 1;            /* stop: agent_row reports it */
	pthread_mutex_lock(&pf->mu);
	ents = pf->ents;
	pthread_mutex_unlock(&pf->mu);
	if (!ents || s->mrc == ZD_NOT_FOUND)
		return 0;            /* a user deleted since the listing */
	s->erc = fetch_retry(zd, zd_get_entitlements, pf->ids[i], &s->eres);
	s->edone = 1;
	pthread_mutex_lock(&pf->mu);
	if (s->erc == ZD_OK)
		pf->ent_ok++;
	else if (s->erc == ZD_NOT_FOUND && ++pf->ent_404 >= ENT_PROBE &&
	    pf->ent_ok == 0)
		pf->ents = 0;        /* endpoint absent: as agent_row decides */
	pthread_mutex_unlock(&pf->mu);
	return s->erc == ZD_OK || s->erc == ZD_NOT_FOUND ? 0 : 1;
}

static void
prefetch_free(struct prefetch *pf)
{
	size_t i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->n; i++) {
		zd_response_clear(&pf->slot[i].mres);
		zd_response_clear(&pf->slot[i].eres);
	}
	for (i = 0; i < BULK_THREADS; i++)
		zd_client_free(pf->zd[i]);
	pthread_mutex_destroy(&pf->mu);
	free(pf->slot);
	free(pf->ids);
	free(pf);
}

/*
 * Reads every agent's memberships and entitlements on the pool, counting
 * agents into prog.  Sets r->pre; leaves it NULL (agent_row then reads
 * one agent at a time) when the pool cannot be set up.  Returns 0, or 1
 * out of memory.
 */
static int
prefetch_run(struct report *r, struct bulk_progress *prog)
{
	struct prefetch *pf;
	char err[ZD_ERRLEN];
	size_t i;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return 1;
	if (pthread_mutex_init(&pf->mu, NULL) != 0) {
		free(pf);
		return 0;
	}
	pf->n = json_object_array_length(r->users);
	if ((pf->slot = calloc(pf->n + 1, sizeof(*pf->slot))) == NULL ||
	    (pf->ids = calloc(pf->n + 1, sizeof(*pf->ids))) == NULL) {
		pf->n = 0;
		prefetch_free(pf);
		return 1;
	}
	for (i = 0; i < pf->n; i++) {
		pf->slot[i].mres.retry_after_s = -1;
		pf->slot[i].eres.retry_after_s = -1;
		json_member_int(json_object_array_get_idx(r->users, i), "id",
		    &pf->ids[i]);
		if (r->mships == NULL)
			continue;
		if (umem_response(r, pf->ids[i], &pf->slot[i].mres) != 0) {
			prefetch_free(pf);
			return 1;
		}
		pf->slot[i].mrc = ZD_OK;
		pf->slot[i].mdone = 1;
	}
	for (i = 0; i < BULK_THREADS; i++)
		if (zd_client_new(&r->zo, &pf->zd[i], err, sizeof(err)) !=
		    ZD_OK) {
			prefetch_free(pf);
			return 0;
		}
	pf->ents = r->entitlements;
	bulk_run(BULK_THREADS, pf->n, pre_one, pf, prog);
	r->pre = pf;
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * fetch_retry, answered from the pool's reads when it made this one
 * (each answer is handed over once: res owns it after).
 */
static enum zd_result
fetch_cached(struct report *r, enum zd_result (*fn)(struct zd_client *,
    int64_t, struct zd_response *), int64_t id, struct zd_response *res)
{
	struct prefetch *pf = r->pre;
	struct zd_response *src = NULL;
	struct pre_slot *s;
	enum zd_result rc = ZD_ERROR;
	int64_t *hit;

	if (pf != NULL && pf->n > 0 && (hit = bsearch(&id, pf->ids, pf->n,
	    sizeof(*hit), id_cmp)) != NULL) {
		s = &pf->slot[hit - pf->ids];
		if (fn == zd_list_memberships && s->mdone) {
			src = &s->mres;
			rc = s->mrc;
			s->mdone = 0;
		} else if (fn == zd_get_entitlements && s->edone) {
			src = &s->eres;
			rc = s->erc;
			s->edone = 0;
		}
	}
	if (src == NULL)
		return fetch_retry(r->zd, fn, id, res);
	zd_response_clear(res);
	*res = *src;
	memset(src, 0, sizeof(*src));
	src->retry_after_s = -1;
	return rc;
}

/*
 * How many agents and admins there are, before listing them: GET
 * /api/v2/users/count?role[]=agent&role[]=admin (CountUsers in Zendesk's
 * OpenAPI; approximate, which an estimate may be).  Returns the count,
 * or -1 when unknown (the estimate then follows the listing), or -2 when
 * Zendesk refused the credential (said; no further request would pass).
 */
static long long
count_agents(struct report *r)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	enum zd_result rc;
	json_object *c;
	int64_t v = -1;

	rc = zd_call(r->zd, "GET", "/api/v2/users/count.json?"
	    "role%5B%5D=agent&role%5B%5D=admin", NULL, &res);
	if (rc == ZD_UNAUTHORIZED) {
		zd_fail(r, "counting agents and admins", rc, &res);
		v = -2;
	} else if (rc != ZD_OK ||
	    !json_object_object_get_ex(res.body, "count", &c) ||
	    json_member_int(c, "value", &v) != 0 || v < 0)
		v = -1;
	zd_response_clear(&res);
	return v;
}

/*
 * Prints the estimate for n agents: the listing pages still to read
 * (when listed is 0), custom roles and groups, and per agent its
 * memberships and, when read, its entitlements.
 */
static void
report_estimate(const struct report *r, struct gov *gov, long long n,
    int listed, int bulk_groups)
{
	struct gov_stats gs;
	long long req = n * ((r->entitlements ? 1 : 0) + (bulk_groups ? 0 : 1));

	/* Listing pages; the memberships' assume about one per agent. */
	if (!listed)
		req += (n + 99) / 100 + 2 + (n == 0) + (bulk_groups ?
		    (n + 99) / 100 + (n == 0) : 0);
	gov_stats(gov, &gs);
	bulk_estimate("report seats", n, "agents", req, gs.effective, r->quiet);
}

/* json string of s, or null for NULL. */
static json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}


/*
 * Builds one output row for user u, reading its memberships and (when
 * enabled) entitlements.  Returns 0 and appends to r->rows, or an exit
 * status.
 */
static int
agent_row(struct report *r, json_object *u)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	json_object *row = NULL, *groups = NULL, *ents = NULL, *p;
	const char *prod[NPRODUCTS] = { NULL };
	const char *role = json_member_str(u, "role"), *crname = NULL;
	char idbuf[32], what[96], supbuf[32];
	enum zd_result rc;
	int64_t id = 0, crid = 0, gid;
	size_t i, n;
	int susp = json_member_true(u, "suspended"), left, ret = 1, gone = 0;

	json_member_int(u, "id", &id);
	if ((row = json_object_new_object()) == NULL ||
	    (groups = json_object_new_array()) == NULL)
		goto oom;

	/* Groups: a user deleted since the listing simply has none. */
	rc = fetch_cached(r, zd_list_memberships, id, &res);
	if (rc == ZD_NOT_FOUND)
		gone = 1;
	else if (rc != ZD_OK) {
		snprintf(what, sizeof(what), "reading the groups of user %"
		    PRId64, id);
		ret = zd_fail(r, what, rc, &res);
		goto out;
	} else {
		n = json_object_array_length(res.item);
		for (i = 0; i < n; i++) {
			const char *gname;

			if (json_member_int(json_object_array_get_idx(res.item, i),
			    "group_id", &gid) != 0)
				continue;
			gname = idname_find(r->groups, r->ngroups, gid);
			if (gname == NULL) {
				snprintf(idbuf, sizeof(idbuf), "#%" PRId64, gid);
				gname = idbuf;
			}
			if (json_object_array_add(groups,
			    json_object_new_string(gname)) != 0)
				goto oom;
		}
	}
	zd_response_clear(&res);

	if (r->entitlements && !gone) {
		rc = fetch_cached(r, zd_get_entitlements, id, &res);
		if (rc == ZD_NOT_FOUND) {
			if (++r->ent_404 >= ENT_PROBE && r->ent_ok == 0) {
				note(r, "note: the "
				    "entitlements endpoint answered 404 for "
				    "the first %d agents; product columns are "
				    "left empty", ENT_PROBE);
				r->entitlements = 0;
			}
		} else if (rc != ZD_OK) {
			snprintf(what, sizeof(what), "reading the product "
			    "entitlements of user %" PRId64, id);
			ret = zd_fail(r, what, rc, &res);
			goto out;
		} else {
			r->ent_ok++;
			ents = res.item;
			for (i = 0; i < NPRODUCTS; i++)
				if (json_object_object_get_ex(ents, products[i],
				    &p) && json_member_true(p, "is_active"))
					prod[i] = json_member_str(p, "name");
		}
	}

	if (json_member_int(u, "custom_role_id", &crid) == 0 && crid > 0) {
		crname = idname_find(r->roles, r->nroles, crid);
		if (crname == NULL) {
			snprintf(idbuf, sizeof(idbuf), "#%" PRId64, crid);
			crname = idbuf;
		}
	}
	/*
	 * The official read (GET /api/v2/users/{id}/entitlements/full) has
	 * no "support": Support access is the role and custom role, named as
	 * the private endpoint names it (custom_<id>, admin, agent).
	 */
	if (ents != NULL && prod[0] == NULL && role != NULL &&
	    (strcmp(role, "admin") == 0 || strcmp(role, "agent") == 0)) {
		if (strcmp(role, "admin") == 0)
			snprintf(supbuf, sizeof(supbuf), "admin");
		else if (crid > 0)
			snprintf(supbuf, sizeof(supbuf), "custom_%" PRId64,
			    crid);
		else
			snprintf(supbuf, sizeof(supbuf), "agent");
		prod[0] = supbuf;
	}
	left = strset_has(&r->left_emails, json_member_str(u, "email"), 1) ||
	    strset_has(&r->left_ids, json_member_str(u, "external_id"), 0);

	if (json_member_put(row, "id", json_object_new_int64(id)) != 0 ||
	    json_member_put(row, "email",
	    str_or_null(json_member_str(u, "email"))) != 0 ||
	    json_member_put(row, "name",
	    str_or_null(json_member_str(u, "name"))) != 0 ||
	    json_member_put(row, "role", str_or_null(role)) != 0 ||
	    json_member_put(row, "custom_role", str_or_null(crname)) != 0 ||
	    json_member_put(row, "custom_role_id", crid > 0 ?
	    json_object_new_int64(crid) : NULL) != 0 ||
	    json_member_put(row, "external_id", str_or_null(json_member_str(u,
	    "external_id"))) != 0)
		goto oom;
	if (json_member_put(row, "groups", groups) != 0) {
		groups = NULL;
		goto oom;
	}
	groups = NULL;
	if (json_member_put(row, "suspended", json_object_new_boolean(susp)) != 0 ||
	    json_member_put(row, "last_login_at", str_or_null(json_member_str(u,
	    "last_login_at"))) != 0)
		goto oom;
	for (i = 0; i < NPRODUCTS; i++) {
		if (json_member_put(row, products[i], str_or_null(prod[i])) != 0)
			goto oom;
		if (prod[i] != NULL)
			r->totals[i]++;
	}
	/* The listing holds agents and admins only: a suspended one still
	 * occupies a paid seat until downgraded to end-user. */
	if (json_member_put(row, "seat_held_by_suspended",
	    json_object_new_boolean(susp)) != 0 ||
	    json_member_put(row, "left_per_hr", json_object_new_boolean(left)) != 0)
		goto oom;
	if (json_object_array_add(r->rows, row) != 0)
		goto oom;
	row = NULL;
	if (role != NULL && strcmp(role, "admin") == 0)
		r->n_admin++;
	else
		r->n_agent++;
	r->n_suspended += susp;
	r->n_flag_susp += susp;
	r->n_flag_left += left;
	ret = 0;
	goto out;
oom:
	note(r, "out of memory building the report");
	ret = 1;
out:
	zd_response_clear(&res);
	json_object_put(groups);
	json_object_put(row);
	return ret;
}

/* ---------------------------------------------------------------- run */

void
seats_result_clear(struct seats_result *r)
{
	json_object_put(r->rows);
	memset(r, 0, sizeof(*r));
}

enum seats_status
seats_run(const struct config *cfg, const struct seats_opts *o,
    const struct seats_report *rep, struct seats_result *out)
{
	struct mthread mt;
	long long count;
	int mrc;
	struct report r;
	struct zd_conf *zconf = NULL;
	struct gov *gov = NULL;
	struct zd_opts zo;
	char err[CONFIG_ERRLEN];
	size_t i, n;
	int rc = SEATS_ZENDESK;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	r.rep = rep;
	r.quiet = o->quiet;
	r.tty = isatty(STDERR_FILENO) && !r.quiet;
	r.cfg = cfg;
	if (o->people != NULL && load_people(&r, o->people, o->people_name,
	    err, sizeof(err)) != 0) {
		note(&r, "--people %s", err);
		rc = SEATS_INPUT;
		goto out;
	}
	if (load_store_leavers(&r) != 0) {
		note(&r, "out of memory reading the store");
		goto out;
	}
	strset_seal(&r.left_emails);
	strset_seal(&r.left_ids);

	if (zd_conf_load(cfg, &zconf, err, sizeof(err)) != ZD_OK) {
		note(&r, "%s", err);        /* names the file */
		rc = SEATS_INPUT;
		goto out;
	}
	if (gov_new(NULL, &gov) != GOV_OK) {
		note(&r, "cannot create the rate governor");
		goto out;
	}
	zo = *zd_conf_opts(zconf);
	zo.gov = gov;
	zo.gov_max_wait_ms = -1;   /* a report may wait out the budget */
	r.zo = zo;
	r.base_url = zo.base_url;
	r.entitlements = zo.entitlements;
	if (zd_client_new(&zo, &r.zd, err, sizeof(err)) != ZD_OK) {
		note(&r, "%s: %s", cfg->path, err);
		rc = SEATS_INPUT;
		goto out;
	}
	if (!r.entitlements)
		note(&r, "note: zendesk.entitlements is off: "
		    "the product columns (support, chat, talk, guide, explore) "
		    "are empty; set it to true to read product "
		    "access");

	/* The count's answer also teaches the governor the account's limit. */
	if ((count = count_agents(&r)) == -2)
		goto out;      /* rc: SEATS_ZENDESK */
	if (count >= 0)
		report_estimate(&r, gov, count, 0, 1);
	mships_start(&r, &mt);
	if ((rc = fetch_agents(&r)) == 0)
		rc = fetch_maps(&r);
	mrc = mships_finish(&r, &mt, rc != 0);
	if (rc != 0 || (rc = mrc) != 0)
		goto out;
	rc = SEATS_ZENDESK;
	if ((r.rows = json_object_new_array()) == NULL)
		goto out;
	n = json_object_array_length(r.users);
	if (count < 0 || r.mships == NULL)   /* again: per-agent groups */
		report_estimate(&r, gov, (long long)n, 1, r.mships != NULL);
	r.prog = bulk_progress_new("report seats", "agents", n, gov,
	    isatty(STDERR_FILENO), r.quiet);
	if (prefetch_run(&r, r.prog) != 0) {
		note(&r, "out of memory");
		goto out;
	}
	bulk_progress_end(r.prog);
	r.prog = NULL;
	for (i = 0; i < n; i++)
		if (agent_row(&r, json_object_array_get_idx(r.users, i)) != 0)
			goto out;
	out->rows = r.rows;
	r.rows = NULL;
	memcpy(out->totals, r.totals, sizeof(out->totals));
	out->entitlements = r.entitlements;
	out->n_agent = r.n_agent;
	out->n_admin = r.n_admin;
	out->n_suspended = r.n_suspended;
	out->n_flag_susp = r.n_flag_susp;
	out->n_flag_left = r.n_flag_left;
	rc = SEATS_OK;
out:
	bulk_progress_end(r.prog);
	prefetch_free(r.pre);
	listing_index_free(r.umem);
	json_object_put(r.mships);
	json_object_put(r.rows);
	json_object_put(r.users);
	free(r.roles);
	free(r.groups);
	json_object_put(r.roles_doc);
	json_object_put(r.groups_doc);
	strset_free(&r.left_emails);
	strset_free(&r.left_ids);
	zd_client_free(r.zd);
	gov_free(gov);
	zd_conf_free(zconf);
	return (enum seats_status)rc;
}
