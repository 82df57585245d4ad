/*
 * worker.c -- rolehook work: the loop that ties normalise, policy, plan,
 * apply and audit together.
 *
 * Threads: the calling thread dispatches; `threads` workers apply.  The
 * dispatcher first classifies new events (normalise, record the subject),
 * then asks the store for due events -- at most one unfinished event per
 * person, oldest first (store_due) -- and hands each to the worker chosen
 * by a hash of its subject.  Each worker owns one Zendesk client (one
 * reused libcurl handle); all share one rate governor.
 *
 * Exactly once in effect: every attempt re-reads the person's current
 * Zendesk state and plans from it, so writes that already happened (an
 * earlier attempt, a crash before the audit row) are simply not planned
 * again.  The audit row follows each write; a crash between the two
 * loses one audit row, never repeats a harmful write.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/combine.h"
#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/governor.h"
#include "rolehook/hash.h"
#include "rolehook/log.h"
#include "rolehook/monotime.h"
#include "rolehook/normalize.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"
#include "rolehook/store.h"
#include "rolehook/strv.h"
#include "rolehook/worker.h"
#include "rolehook/zendesk.h"

#define MAX_THREADS 64
#define BATCH 256
#define NOTE_MAX 640

struct job {
	int64_t id;
	char *xid;                 /* the person's external id, or NULL */
	int64_t at_us;             /* dispatched (after the store's claim) */
	struct job *next;
};

/*
 * The prefetch (docs/architecture.md, "Reading many people at once"):
 * the dispatcher notes each job's external id; a thread that finds no
 * fresh entry for its person reads its own and the next queued people's
 * users (round robin over the thread queues, those not already fresh)
 * with one GET /api/v2/users/show_many.json?external_ids= (up to 100),
 * one refill at a time (pf_busy), and read_current takes each entry at
 * most once, within PF_TTL_MS.
 * Every write to a user drops that user's entries and is recorded (user
 * id, or for a create the external id's hash) with a new pf_epoch; an
 * answer keeps no user written since its request started.  Those are
 * this process's writes only: on PostgreSQL another worker may write the
 * person between two of their events here, so a job takes no entry whose
 * request started before the job was dispatched (after its claim, so
 * after the other worker finished the person's earlier event).
 */
#define PF_TTL_MS 5000
#define PF_MAX 1024
#define PF_RECENT 1024
#define PF_URL_BUDGET 3000

struct pf_entry {
	char *xid;                 /* the external id asked for */
	json_object *user;         /* owned; NULL: nobody has that id */
	int64_t uid;
	int64_t asked_us;          /* when its request started */
	int64_t at_ms;
};

/*
 * The blast-radius guard (policy.limits): how many writes of a kind may
 * succeed per hour.  A plan that would cross a limit is held until a
 * person approves it (`rolehook events approve ID`).
 */
enum { GUARD_DOWNGRADE = 0, GUARD_SUSPEND, GUARD_ROLE, GUARD_NCLASSES };
static const char *const guard_step[GUARD_NCLASSES] = {
	"downgrade", "suspend", "role"
};
static const char *const guard_limit_name[GUARD_NCLASSES] = {
	"downgrades_per_hour", "suspensions_per_hour", "changes_per_hour"
};
/* One PUT that downgrades and suspends counts as both (plan.h). */
#define GUARD_BOTH "downgrade_suspend"

static int
guard_counts(const char *step, int k)
{
	return strcmp(step, guard_step[k]) == 0 ||
	    ((k == GUARD_DOWNGRADE || k == GUARD_SUSPEND) &&
	    strcmp(step, GUARD_BOTH) == 0);
}

struct wk {
	const struct config *cfg;
	struct worker_opts o;
	struct policy *pol;
	struct zd_conf *zconf;
	struct gov *gov;
	struct gov *wgov;          /* policy.limits.writes_per_minute, or NULL */
	struct combine *comb;      /* threads' writes folded into bulk
	                            * requests (combine.h); NULL: none */
	struct store *st;
	struct plan_opts popts;

	pthread_mutex_t cache_lock;   /* guards roles and groups */
	json_object *roles;           /* {"custom_roles": [...]} */
	json_object *groups;          /* {"groups": [...]} */

	pthread_mutex_t lock;         /* guards everything below */
	pthread_cond_t work_cv;
	pthread_cond_t done_cv;
	struct job *head[MAX_THREADS], *tail[MAX_THREADS];
	int64_t inflight[BATCH * 2];
	size_t ninflight;
	int stopping;
	long reserved[GUARD_NCLASSES]; /* guarded writes being applied now */

	pthread_mutex_t pf_lock;      /* guards the prefetch below */
	struct pf_entry pf[PF_MAX];
	size_t npf;
	unsigned long pf_epoch;       /* bumped by every write */
	int64_t pf_written[PF_RECENT]; /* ring: who epoch e wrote, at e % N */
	pthread_cond_t pf_cv;         /* a refill ended */
	int pf_busy;                  /* a refill is under way */
	const char *pf_cur[MAX_THREADS]; /* under lock: each thread's job's
	                                  * external id (borrowed) */
};

struct wthread {
	struct wk *w;
	int index;
	unsigned int seed;            /* rand_r state for retry jitter */
	struct zd_client *zd;
	pthread_t t;
	int started;
	int in_combine;               /* between combine_enter and _leave */
	int64_t job_us;               /* the current job's at_us */
};

/* ------------------------------------------------------------- helpers */

static char *
json_text(const json_object *o)
{
	const char *s;

	if (o == NULL)
		return NULL;
	s = json_object_to_json_string_ext((json_object *)o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return s != NULL ? strdup(s) : NULL;
}

static int64_t
user_id_of(const json_object *user)
{
	json_object *v;

	if (user == NULL ||
	    !json_object_object_get_ex(user, "id", &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/*
 * Replaces every string PLAN_NEW_USER_ID in v (recursively) with the
 * integer id.  Writes after a user creation carry that placeholder.
 */
static void
substitute_new_id(json_object *v, int64_t id)
{
	size_t i, n;

	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			if (json_object_is_type(val, json_type_string) &&
			    strcmp(json_object_get_string(val),
			    PLAN_NEW_USER_ID) == 0)
				json_object_object_add(v, key,
				    json_object_new_int64(id));
			else
				substitute_new_id(val, id);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			substitute_new_id(json_object_array_get_idx(v, i), id);
	}
}

/* Writes path with PLAN_NEW_USER_ID replaced by id into out. */
static int
substitute_path(const char *path, int64_t id, char *out, size_t outlen)
{
	const char *p = strstr(path, PLAN_NEW_USER_ID);
	int n;

	if (p == NULL)
		n = snprintf(out, outlen, "%s", path);
	else
		n = snprintf(out, outlen, "%.*s%" PRId64 "%s", (int)(p - path),
		    path, id, p + strlen(PLAN_NEW_USER_ID));
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* ------------------------------------------------------- Zendesk cache */

static enum zd_result
refresh_cache(struct wk *w, struct zd_client *zd, char *reason,
    size_t reasonlen)
{
	struct zd_response r1 = ZD_RESPONSE_INIT, r2 = ZD_RESPONSE_INIT;
	enum zd_result rc;

	if ((rc = zd_list_custom_roles(zd, &r1)) != ZD_OK) {
		snprintf(reason, reasonlen, "custom roles: %s", r1.reason);
		goto out;
	}
	if ((rc = zd_list_groups(zd, &r2)) != ZD_OK) {
		snprintf(reason, reasonlen, "groups: %s", r2.reason);
		goto out;
	}
	/*
	 * The cache takes the bodies over (no reference left in r1, r2):
	 * every get and put of the cached objects happens under cache_lock,
	 * since json-c's reference counts are not atomic.
	 */
	pthread_mutex_lock(&w->cache_lock);
	json_object_put(w->roles);
	json_object_put(w->groups);
	w->roles = r1.body;
	w->groups = r2.body;
	r1.body = r1.item = NULL;
	r2.body = r2.item = NULL;
	pthread_mutex_unlock(&w->cache_lock);
out:
	zd_response_clear(&r1);
	zd_response_clear(&r2);
	return rc;
}

/* ------------------------------------------------------------ outcomes */

/* Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"). */
static time_t
backoff_s(struct wthread *t, int attempts, long retry_after)
{
	long cap = t->w->o.backoff_base_s, d;
	int i;

	for (i = 0; i < attempts && cap < t->w->o.backoff_max_s; i++)
		cap *= 2;
	if (cap > t->w->o.backoff_max_s)
		cap = t->w->o.backoff_max_s;
	d = 1 + (long)(rand_r(&t->seed) % (unsigned int)cap);
	if (retry_after > d)
		d = retry_after;
	return (time_t)d;
}

/*
 * A Zendesk call failed: retry later (429, 5xx, timeouts) until the
 * event is max_retry_age_s old, else dead letter with the reason.
 */
static void
zd_failed(struct wthread *t, const struct store_event *row,
    enum zd_result rc, const struct zd_response *res, const char *what)
{
	struct wk *w = t->w;
	char note[NOTE_MAX], ids[24];
	time_t now = time(NULL);

	snprintf(note, sizeof(note), "%s: %s (HTTP %ld): %s", what,
	    zd_strerror(rc), res->status, res->reason);
	snprintf(ids, sizeof(ids), "%" PRId64, row->id);
	/*
	 * Nothing was sent: the local budget (the account's governor, or
	 * policy.limits.writes_per_minute) asked for a wait.  Not a failure,
	 * so no backoff and no dead letter however old the event: it is due
	 * again when the budget allows.
	 */
	if (rc == ZD_RATE_LIMITED && res->status == 0) {
		store_retry(w->st, row->id, now + (res->retry_after_s > 0 ?
		    res->retry_after_s : 1), note);
		log_kv(LOG_INFO, "waiting for the rate budget", "event", ids,
		    "reason", res->reason, (char *)NULL);
		return;
	}
	/*
	 * ZD_UNAUTHORIZED without an HTTP status: the OAuth token endpoint
	 * refused rolehook (a dead refresh token, a revoked client), not
	 * this event: retried until an operator fixes the credential.
	 */
	if ((rc == ZD_RETRYABLE || rc == ZD_RATE_LIMITED ||
	    (rc == ZD_UNAUTHORIZED && res->status == 0)) &&
	    now - row->received < w->o.max_retry_age_s) {
		store_retry(w->st, row->id, now + backoff_s(t, row->attempts,
		    res->retry_after_s), note);
		log_kv(LOG_WARN, "will retry", "event", ids, "error", note,
		    (char *)NULL);
		return;
	}
	store_finish(w->st, row->id, "dead", note);
	log_kv(LOG_ERROR, "dead letter", "event", ids, "error", note,
	    (char *)NULL);
}

static void
finish(struct wk *w, int64_t id, const char *state, const char *note)
{
	char ids[24];

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (store_finish(w->st, id, state, note) != 0)
		log_kv(LOG_ERROR, "cannot record outcome", "event", ids,
		    "state", state, (char *)NULL);
	else
		log_kv(strcmp(state, "dead") == 0 ? LOG_ERROR : LOG_INFO,
		    "event finished", "event", ids, "state", state, "note",
		    note, (char *)NULL);
}

/* ------------------------------------------------------ Zendesk events */

struct echo_ctx {
	time_t since;
	const char *current;   /* the event's new value, unquoted */
	int64_t audit_id;
};

static void
echo_fn(int64_t id, time_t at, const struct store_audit *a, void *arg)
{
	struct echo_ctx *e = arg;

	if (at < e->since || a->http_status < 200 || a->http_status > 299 ||
	    a->after == NULL)
		return;
	if (e->current == NULL || e->current[0] == '\0' ||
	    strstr(a->after, e->current) != NULL)
		e->audit_id = id;
}

/*
 * A Zendesk user event: rolehook's own write coming back (echo), or a
 * change somebody else made (drift: logged and audited, not reverted
 * here; reconcile decides per field).
 */
static void
zendesk_event(struct wthread *t, const struct store_event *row,
    const struct norm_event *nev)
{
	struct wk *w = t->w;
	struct echo_ctx e;
	struct store_audit a;
	char user[24], note[NOTE_MAX], cur[128] = "";
	size_t n;

	if (nev->zendesk_user_id <= 0) {
		finish(w, row->id, "ignored", "Zendesk event without a user id");
		return;
	}
	snprintf(user, sizeof(user), "%" PRId64, nev->zendesk_user_id);
	if (nev->current != NULL) {
		/* "agent" -> agent: compare the bare value with our writes. */
		snprintf(cur, sizeof(cur), "%s", nev->current);
		n = strlen(cur);
		if (n >= 2 && cur[0] == '"' && cur[n - 1] == '"') {
			memmove(cur, cur + 1, n - 2);
			cur[n - 2] = '\0';
		}
	}
	memset(&e, 0, sizeof(e));
	/* Only for telling our own echo from drift: never a grant. */
	e.since = (decide_time(nev) > 0 ? decide_time(nev) : row->received) -
	    w->o.echo_window_s;
	e.current = cur;
	{
		char key[48];

		snprintf(key, sizeof(key), "zendesk_user:%s", user);
		store_audit_list(w->st, key, echo_fn, &e);
	}
	if (e.audit_id > 0) {
		snprintf(note, sizeof(note), "echo of rolehook's own write "
		    "(audit %" PRId64 ")", e.audit_id);
		finish(w, row->id, "done", note);
		return;
	}
	snprintf(note, sizeof(note), "drift: %s on user %s: %s -> %s "
	    "(recorded, not reverted)", nev->kind, user, nev->previous ?
	    nev->previous : "?", nev->current ? nev->current : "?");
	log_kv(LOG_WARN, "drift", "zendesk_user", user, "change", nev->kind,
	    "previous", nev->previous, "current", nev->current, (char *)NULL);
	memset(&a, 0, sizeof(a));
	a.event_id = row->id;
	a.subject = nev->subject;
	a.action = "drift";
	a.before = nev->previous;
	a.after = nev->current;
	a.zendesk_user = user;
	store_audit_add(w->st, &a, NULL);
	finish(w, row->id, "done", note);
}

static long
guard_limit(const struct policy *pol, int k)
{
	const struct policy_limits *l = policy_limits(pol);

	return k == GUARD_DOWNGRADE ? l->downgrades_per_hour :
	    k == GUARD_SUSPEND ? l->suspensions_per_hour : l->changes_per_hour;
}

/*
 * Checks pl against the hourly limits and, when it fits, reserves its
 * guarded writes in w->reserved.  Returns 0 to go ahead, 1 to hold (why
 * filled), -1 on a store error.
 *
 * Under w->lock every guarded write is counted exactly once: as an audit
 * row once apply() wrote one (guard_audit moves it from the reservation
 * to the table in one critical section), else as a reservation until
 * guard_release.  So the count is read under the lock too: read before
 * it, another thread's write could be counted twice (a needless hold) or
 * not at all (one write past the limit).  Workers on other nodes
 * (PostgreSQL) are kept apart the same way by the store: its guard lock
 * around the count and the reservation, which it shares
 * (store_guard_reserve) until the audit row replaces it.
 */
static int
guard_take(struct wk *w, const struct plan *pl, long want[GUARD_NCLASSES],
    char *why, size_t whylen)
{
	long used[GUARD_NCLASSES], lim;
	time_t since = time(NULL) - 3600;
	size_t i;
	int k, any = 0;

	for (k = 0; k < GUARD_NCLASSES; k++) {
		want[k] = 0;
		for (i = 0; i < pl->nwrites; i++)
			if (guard_counts(pl->writes[i].step, k))
				want[k]++;
		used[k] = 0;
		if (want[k] > 0 && guard_limit(w->pol, k) >= 0)
			any = 1;
	}
	if (!any)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (store_guard_lock(w->st) != 0) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	for (k = 0; k < GUARD_NCLASSES; k++) {
		long both = 0;

		if (want[k] > 0 && guard_limit(w->pol, k) >= 0 &&
		    ((used[k] = store_audit_count(w->st, guard_step[k],
		    since)) < 0 || (k != GUARD_ROLE && (both =
		    store_audit_count(w->st, GUARD_BOTH, since)) < 0))) {
			store_guard_unlock(w->st);
			pthread_mutex_unlock(&w->lock);
			return -1;
		}
		used[k] += both;
	}
	for (k = 0; k < GUARD_NCLASSES; k++) {
		lim = guard_limit(w->pol, k);
		if (want[k] > 0 && lim >= 0 &&
		    used[k] + w->reserved[k] + want[k] > lim) {
			store_guard_unlock(w->st);
			pthread_mutex_unlock(&w->lock);
			snprintf(why, whylen, "held: policy.limits.%s is %ld and "
			    "%ld %s write%s happened in the last hour; approve "
			    "with 'rolehook events approve ID'",
			    guard_limit_name[k], lim, used[k] + w->reserved[k],
			    guard_step[k], used[k] + w->reserved[k] == 1 ? "" :
			    "s");
			return 1;
		}
	}
	for (k = 0; k < GUARD_NCLASSES; k++)
		if (store_guard_reserve(w->st, guard_step[k], want[k]) != 0) {
			while (k-- > 0)
				store_guard_reserve(w->st, guard_step[k],
				    -want[k]);
			store_guard_unlock(w->st);
			pthread_mutex_unlock(&w->lock);
			return -1;
		}
	for (k = 0; k < GUARD_NCLASSES; k++)
		w->reserved[k] += want[k];
	store_guard_unlock(w->st);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/*
 * Writes the audit row of one write.  A guarded write (want != NULL: the
 * plan holds a reservation) leaves its reservation in the same critical
 * section, so guard_take never sees it twice or not at all.
 */
static int
guard_audit(struct wk *w, long *want, const struct store_audit *a)
{
	int k, rc, any = 0;

	for (k = 0; k < GUARD_NCLASSES; k++)
		if (want != NULL && want[k] > 0 && guard_counts(a->action, k))
			any = 1;
	if (!any)
		return store_audit_add(w->st, a, NULL);
	pthread_mutex_lock(&w->lock);
	/* Without its row the write stays reserved until guard_release. */
	if ((rc = store_audit_add(w->st, a, NULL)) == 0)
		for (k = 0; k < GUARD_NCLASSES; k++)
			if (want[k] > 0 && guard_counts(a->action, k)) {
				w->reserved[k]--;
				want[k]--;
				store_guard_reserve(w->st, guard_step[k], -1);
			}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void
guard_release(struct wk *w, const long want[GUARD_NCLASSES])
{
	int k;

	pthread_mutex_lock(&w->lock);
	for (k = 0; k < GUARD_NCLASSES; k++) {
		w->reserved[k] -= want[k];
		store_guard_reserve(w->st, guard_step[k], -want[k]);
	}
	pthread_mutex_unlock(&w->lock);
}

/* ----------------------------------------------------------- one event */

/*
 * The person's `current` document ({"user", "entitlements",
 * "group_memberships"}; plan.h) from their Zendesk user (borrowed; the
 * document takes its own reference): the products when managed, and the
 * memberships -- mships (borrowed: {"group_memberships": [...]} as
 * zd_list_memberships answers, from a listing of all) when given, else
 * read.  An end-user is in no group (Zendesk: only agents and admins are
 * group members), so theirs are not read.  Returns ZD_OK and *cur, or
 * the failing result (res filled, what names the call).
 */
static enum zd_result
current_of(struct wthread *t, json_object *user, json_object *mships,
    json_object **cur, struct zd_response *res, const char **what)
{
	enum zd_result rc = ZD_OK;
	json_object *doc, *r = NULL;
	int64_t uid = user_id_of(user);

	*cur = NULL;
	doc = json_object_new_object();
	json_object_object_add(doc, "user", json_object_get(user));
	if (t->w->popts.entitlements) {
		*what = "get entitlements";
		if ((rc = zd_get_entitlements(t->zd, uid, res)) != ZD_OK)
			goto out;
		json_object_object_add(doc, "entitlements",
		    json_object_get(res->body));
		zd_response_clear(res);
	}
	*what = "list group memberships";
	if (json_object_object_get_ex(user, "role", &r) &&
	    json_object_is_type(r, json_type_string) &&
	    strcmp(json_object_get_string(r), "end-user") == 0)
		json_object_object_add(doc, "group_memberships",
		    json_object_new_array());
	else if (mships != NULL)
		json_object_object_add(doc, "group_memberships",
		    json_object_get(mships));
	else {
		if ((rc = zd_list_memberships(t->zd, uid, res)) != ZD_OK)
			goto out;
		json_object_object_add(doc, "group_memberships",
		    json_object_get(res->body));
		zd_response_clear(res);
	}
	*cur = doc;
	doc = NULL;
out:
	json_object_put(doc);
	return rc;
}

/*
 * Reads the person's current Zendesk state (current_of), *cur NULL when
 * the person has no Zendesk user.  Returns ZD_OK or the failing result
 * (res filled, what names the call).
 */
static enum zd_result
read_current(struct wthread *t, const char *ext, const char *email,
    json_object **cur, struct zd_response *res, const char **what)
{
	enum zd_result rc;
	json_object *user;

	*cur = NULL;
	*what = "find user";
	rc = zd_find_user(t->zd, ext, email, res);
	if (rc == ZD_NOT_FOUND)
		return ZD_OK;
	if (rc != ZD_OK)
		return rc;
	user = json_object_get(res->item);
	zd_response_clear(res);
	rc = current_of(t, user, NULL, cur, res, what);
	json_object_put(user);
	return rc;
}

static void
pf_drop(struct wk *w, size_t i)
{
	free(w->pf[i].xid);
	json_object_put(w->pf[i].user);
	w->pf[i] = w->pf[--w->npf];
}

/*
 * Takes the prefetched entry for xid asked for at or after since_us: 1
 * with *user (caller puts it; NULL when nobody has the id), 0 when there
 * is none fresh enough.
 */
static int
pf_take(struct wk *w, const char *xid, int64_t since_us, json_object **user)
{
	int64_t now = monotime_ms();
	size_t i;
	int hit = 0;

	*user = NULL;
	pthread_mutex_lock(&w->pf_lock);
	for (i = 0; i < w->npf; i++)
		if (strcmp(w->pf[i].xid, xid) == 0) {
			if (now - w->pf[i].at_ms <= PF_TTL_MS &&
			    w->pf[i].asked_us >= since_us) {
				hit = 1;
				*user = json_object_get(w->pf[i].user);
			}
			pf_drop(w, i);
			break;
		}
	pthread_mutex_unlock(&w->pf_lock);
	return hit;
}

/* FNV-1a of an external id, as a negative key beside user ids. */
static int64_t
pf_xid_key(const char *xid)
{
	uint64_t h = hash_fnv1a(xid, xid != NULL ? strlen(xid) : 0);

	return -(int64_t)(h >> 1) - 1;
}

/*
 * Our own write to uid, or (uid 0) the creation of the user with
 * external id xid: no read from before it is used.
 */
static void
pf_forget(struct wk *w, int64_t uid, const char *xid)
{
	int64_t key = uid > 0 ? uid : pf_xid_key(xid);
	size_t i;

	pthread_mutex_lock(&w->pf_lock);
	w->pf_epoch++;
	w->pf_written[w->pf_epoch % PF_RECENT] = key;
	for (i = 0; i < w->npf;)
		if ((uid > 0 && w->pf[i].uid == uid) || (uid <= 0 &&
		    xid != NULL && strcmp(w->pf[i].xid, xid) == 0))
			pf_drop(w, i);
		else
			i++;
	pthread_mutex_unlock(&w->pf_lock);
}

/* 1 when key was written after epoch (or that is no longer known). */
static int
pf_written_since(const struct wk *w, unsigned long epoch, int64_t key)
{
	unsigned long e;

	if (w->pf_epoch - epoch >= PF_RECENT)
		return 1;
	for (e = epoch + 1; e <= w->pf_epoch && e != epoch; e++)
		if (w->pf_written[e % PF_RECENT] == key)
			return 1;
	return 0;
}

static int pf_usable(const char *xid);
static int pf_refill(struct wthread *t, const char *xid);

/*
 * read_current, first from the prefetch.  *email_unchecked: 1 when the
 * prefetch said nobody has the external id and the e-mail was not
 * searched (the caller searches it unless the plan creates the user:
 * Zendesk refuses a second user with the same e-mail, 422, and the
 * retry then reads in full).
 */
static enum zd_result
read_current_pf(struct wthread *t, const char *ext, const char *email,
    json_object **cur, struct zd_response *res, const char **what,
    int *email_unchecked)
{
	struct wk *w = t->w;
	enum zd_result rc;
	json_object *user = NULL;

	*cur = NULL;
	*email_unchecked = 0;
	if (ext == NULL || !pf_usable(ext) ||
	    (!pf_take(w, ext, t->job_us, &user) && (pf_refill(t, ext) != 0 ||
	    !pf_take(w, ext, t->job_us, &user))))
		return read_current(t, ext, email, cur, res, what);
	if (user == NULL) {
		*email_unchecked = email != NULL;
		return ZD_OK;
	}
	rc = current_of(t, user, NULL, cur, res, what);
	json_object_put(user);
	return rc;
}

/*
 * The provenance of a rehire restored from a snapshot, as one line of
 * JSON for the audit row (where each restored value came from, what the
 * snapshot held that policy does not grant; docs/policy.md "Rehires").
 * NULL when there is none; else a string the caller frees.
 */
static char *
audit_provenance(const struct plan *pl)
{
	const char *prov;

	if (pl->provenance == NULL ||
	    (prov = json_object_to_json_string_ext(pl->provenance,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL)
		return NULL;
	return strdup(prov);
}

/*
 * One prepared write of a run: the plan's body (a copy, the new user's
 * id put in) and path.
 */
struct wr {
	json_object *body;
	char path[512];
	struct zd_response res;
};

/* What apply knows across the writes of one event. */
struct applying {
	struct wthread *t;
	const struct store_event *row;
	const struct norm_event *nev;
	const struct policy_decision *d;
	long *want;
	const char *xid;
	char *before, *after, *prov;
	int64_t uid, new_id;
	int create_check;
};

/*
 * How many writes from i on go to combine_calls together: the writes
 * combine folds, in a row, ending after one that makes someone an agent
 * (its job must finish before that person's memberships are created).
 */
static size_t
run_length(const struct wk *w, const struct plan *pl, size_t i,
    int promotes)
{
	size_t n = 1;

	if (w->comb == NULL || !combine_can(pl->writes[i].method,
	    pl->writes[i].path, pl->writes[i].body))
		return 1;
	for (; i + n < pl->nwrites && n < COMBINE_RUN_MAX; n++) {
		const struct plan_write *prev = &pl->writes[i + n - 1];
		const struct plan_write *pw = &pl->writes[i + n];
		json_object *u, *r;

		if (promotes && prev->body != NULL &&
		    json_object_object_get_ex(prev->body, "user", &u) &&
		    json_object_object_get_ex(u, "role", &r) &&
		    json_object_is_type(r, json_type_string) &&
		    strcmp(json_object_get_string(r), "end-user") != 0)
			break;
		if (!combine_can(pw->method, pw->path, pw->body))
			break;
	}
	return n;
}

/* 1 when a write from i on may go through combine. */
static int
combinable_from(const struct plan *pl, size_t i)
{
	for (; i < pl->nwrites; i++)
		if (combine_can(pl->writes[i].method, pl->writes[i].path,
		    pl->writes[i].body))
			return 1;
	return 0;
}

/* The thread will not hand combine anything more for this event. */
static void
combine_release(struct wthread *t, const struct plan *pl, size_t from)
{
	if (t->in_combine && !combinable_from(pl, from)) {
		combine_leave(t->w->comb);
		t->in_combine = 0;
	}
}

/* Prepares write pw into wr: 0, or -1 with the event ended dead. */
static int
prepare(struct applying *ap, const struct plan_write *pw, struct wr *wr)
{
	wr->body = pw->body != NULL ?
	    json_tokener_parse(json_object_to_json_string_ext(pw->body,
	    JSON_C_TO_STRING_PLAIN)) : NULL;
	if (pw->uses_new_id) {
		if (ap->new_id <= 0) {
			finish(ap->t->w, ap->row->id, "dead", "plan needs the "
			    "new user's id, but no user was created");
			return -1;
		}
		if (wr->body != NULL)
			substitute_new_id(wr->body, ap->new_id);
	}
	if (substitute_path(pw->path, ap->new_id, wr->path,
	    sizeof(wr->path)) != 0) {
		finish(ap->t->w, ap->row->id, "dead", "write path too long");
		return -1;
	}
	return 0;
}

/*
 * One write's answer: the audit row, then what it means.  Returns 0 when
 * it succeeded (or is done in effect), 1 when the caller should read in
 * full and plan again (see apply), -1 when it failed; with report set,
 * a failure puts the event to retry or dead.
 */
static int
answered(struct applying *ap, const struct plan_write *pw, struct wr *wr,
    enum zd_result rc, const char *via, int report)
{
	struct wk *w = ap->t->w;
	struct zd_response *res = &wr->res;
	struct store_audit a;
	char req[800], user[24];

	/* Whatever the answer, a read from before it is stale. */
	pf_forget(w, ap->uid, ap->xid);
	if (rc == ZD_OK && strcmp(pw->step, "create") == 0) {
		json_object *u = NULL;

		if (res->body != NULL)
			json_object_object_get_ex(res->body, "user", &u);
		ap->new_id = user_id_of(u);
		ap->uid = ap->new_id;
	}
	free(ap->after);
	ap->after = json_text(wr->body);
	snprintf(req, sizeof(req), "%s %s%s%s", pw->method, wr->path,
	    via[0] != '\0' ? " via " : "", via);
	snprintf(user, sizeof(user), "%" PRId64, ap->uid);
	memset(&a, 0, sizeof(a));
	a.event_id = ap->row->id;
	a.subject = ap->nev->subject;
	a.action = pw->step;
	a.rule = ap->d->rule != NULL ? ap->d->rule : ap->d->leaver ?
	    "(leaver)" : NULL;
	a.provenance = ap->prov;
	a.policy_hash = ap->d->policy_hash;
	a.before = ap->before;
	a.after = ap->after;
	a.http_status = (int)res->status;
	a.zendesk_user = ap->uid > 0 ? user : NULL;
	a.request = req;
	/* A write the rate budget kept back was never sent: no row. */
	if (!(rc == ZD_RATE_LIMITED && res->status == 0) &&
	    guard_audit(w, ap->want, &a) != 0)
		log_kv(LOG_ERROR, "cannot write audit row", "request", req,
		    (char *)NULL);
	/*
	 * A create that "already exists" after a failed attempt: the
	 * earlier request did succeed but its answer was lost (or libcurl
	 * resent it on a fresh connection).  Plan again from fresh state,
	 * which then holds the user or membership; a conflict that persists
	 * (someone else's e-mail) ends dead.
	 */
	if (ap->create_check && rc == ZD_PERMANENT && res->status == 422 &&
	    strcmp(pw->step, "create") == 0 &&
	    (strstr(res->reason, "already") != NULL ||
	    strstr(res->reason, "DuplicateValue") != NULL))
		return 1;
	if (rc == ZD_PERMANENT && res->status == 422 &&
	    strcmp(pw->method, "POST") == 0 &&
	    (strstr(res->reason, "already") != NULL ||
	    strstr(res->reason, "DuplicateValue") != NULL) &&
	    ap->row->attempts < 10)
		rc = ZD_RETRYABLE;
	/* Deleting what is already gone is done (idempotent). */
	if (rc == ZD_NOT_FOUND && strcmp(pw->method, "DELETE") == 0)
		rc = ZD_OK;
	if (rc != ZD_OK) {
		if (report)
			zd_failed(ap->t, ap->row, rc, res, req);
		return -1;
	}
	return 0;
}

/*
 * Applies the plan's writes in order, one audit row each.  Writes that
 * combine folds go to it a run at a time (all of a run are sent; the
 * first failure decides).  want: the plan's guard reservation, or NULL
 * (see guard_audit).  Returns 0 when all succeeded; 1 when create_check
 * is set and the create answered that the e-mail is taken (nothing else
 * was sent: the caller reads in full and plans again); otherwise -1, the
 * event put to retry or dead.  A leaver's products write that fails does
 * not hold back the writes that take the access away (the private
 * entitlements endpoint may fail for good; the role must still go):
 * they are sent, and -2 says that they all succeeded while the event was
 * put to retry or dead for the products.
 */
static int
apply(struct wthread *t, const struct store_event *row,
    const struct norm_event *nev, const struct policy_decision *d,
    const struct plan *pl, const json_object *current, long *want,
    int create_check)
{
	struct applying ap;
	struct combine_req rq[COMBINE_RUN_MAX];
	struct wr wr[COMBINE_RUN_MAX];
	const char *cur_role = NULL;
	const json_object *cu = plan_user_of(current, NULL, NULL);
	json_object *r;
	const struct plan_write *failed;
	struct zd_response pres = ZD_RESPONSE_INIT;
	enum zd_result prc = ZD_ERROR;
	char preq[600] = "";
	size_t i, k, n = 0, prepared;
	int ret = 0, promotes, products = 0, prod, a;

	memset(&ap, 0, sizeof(ap));
	ap.t = t;
	ap.row = row;
	ap.nev = nev;
	ap.d = d;
	ap.want = want;
	ap.uid = pl->user_id;
	ap.create_check = create_check;
	if ((ap.xid = norm_attr(nev, "external_id")) == NULL)
		ap.xid = norm_attr(nev, "employee_id");
	ap.before = json_text(cu);
	ap.prov = audit_provenance(pl);
	if (cu != NULL && json_object_object_get_ex(cu, "role", &r) &&
	    json_object_is_type(r, json_type_string))
		cur_role = json_object_get_string(r);
	promotes = cur_role == NULL || strcmp(cur_role, "end-user") == 0;
	combine_release(t, pl, 0);
	for (i = 0; i < pl->nwrites && ret == 0; i += n) {
		failed = NULL;
		n = run_length(t->w, pl, i, promotes);
		for (prepared = 0; prepared < n; prepared++) {
			struct wr *x = &wr[prepared];

			memset(x, 0, sizeof(*x));
			x->res.retry_after_s = -1;
			if (prepare(&ap, &pl->writes[i + prepared], x) != 0) {
				json_object_put(x->body);
				ret = -1;
				break;
			}
			rq[prepared].method = pl->writes[i + prepared].method;
			rq[prepared].path = x->path;
			rq[prepared].body = x->body;
			rq[prepared].res = &x->res;
		}
		if (ret == 0) {
			combine_calls(t->w->comb, t->zd, rq, n);
			combine_release(t, pl, i + n);
			for (k = 0; k < n; k++) {
				/* A leaver's products failure is said (retry or
				 * dead) once the access writes are done. */
				prod = d->leaver && !products && strcmp(
				    pl->writes[i + k].step, "entitlements_off") == 0;
				a = answered(&ap, &pl->writes[i + k], &wr[k],
				    rq[k].rc, rq[k].via, ret == 0 && !prod);

				if (ret == 0 && a != 0)
					failed = &pl->writes[i + k];
				if (ret == 0 && a != 0 && prod) {
					prc = rq[k].rc;
					pres = wr[k].res;      /* taken over */
					memset(&wr[k].res, 0, sizeof(wr[k].res));
					snprintf(preq, sizeof(preq), "%s %s",
					    pl->writes[i + k].method, wr[k].path);
				}
				if (ret == 0)
					ret = a;
			}
		}
		for (k = 0; k < prepared; k++) {
			zd_response_clear(&wr[k].res);
			json_object_put(wr[k].body);
		}
		if (ret < 0 && failed != NULL && d->leaver && !products &&
		    strcmp(failed->step, "entitlements_off") == 0) {
			log_kv(LOG_WARN, "leaver's products not turned off; "
			    "taking the access away all the same", "subject",
			    nev->subject, (char *)NULL);
			products = 1;
			ret = 0;
		}
	}
	if (products && ret == 0)
		zd_failed(t, row, prc, &pres, preq);
	zd_response_clear(&pres);
	free(ap.before);
	free(ap.after);
	free(ap.prov);
	return ret == 0 && products ? -2 : ret;
}

/*
 * A rehire planned with a snapshot: dates the provenance (for why) and
 * warns when the snapshot held access policy does not grant (a policy
 * change since the leave, or a snapshot planted in the store).
 */
static void
restore_noted(const struct norm_event *nev, const struct plan *pl,
    time_t snapshot_at)
{
	json_object *ign = NULL;
	struct tm tm;
	char when[32], n[24];
	size_t k;

	if (pl->provenance == NULL)
		return;
	gmtime_r(&snapshot_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(pl->provenance, "snapshot_at",
	    json_object_new_string(when));
	if (!json_object_object_get_ex(pl->provenance, "ignored", &ign) ||
	    !json_object_is_type(ign, json_type_array) ||
	    (k = json_object_array_length(ign)) == 0)
		return;
	snprintf(n, sizeof(n), "%zu", k);
	log_kv(LOG_WARN, "rehire snapshot clamped by policy", "subject",
	    nev->subject, "ignored", n, "first", json_object_get_string(
	    json_object_array_get_idx(ign, 0)), (char *)NULL);
}

/* Remembers the person: last event, leave and hire, and at leave time
 * their access (the rehire snapshot). */
static void
remember(struct wk *w, const struct store_event *row,
    const struct norm_event *nev, int how, const json_object *current,
    const struct store_subject *old)
{
	struct store_subject s;
	char *snap = NULL;

	decide_applied(old, nev, row->id, how, &s);
	s.key = nev->subject;
	/* Access at leave time: not what a leaver holds (a second
	 * terminate, or the retry of one whose products failed). */
	if ((how & DECIDE_AS_LEAVER) && old->left_event == 0 &&
	    current != NULL &&
	    (snap = json_text(current)) != NULL) {
		s.snapshot = snap;
		s.snapshot_at = time(NULL);
	}
	if (store_subject_put(w->st, &s) != 0)
		log_kv(LOG_ERROR, "cannot record subject state", "subject",
		    nev->subject, (char *)NULL);
	free(snap);
}

/* Makes ev a rehire: 0, or -1 out of memory (ev unchanged). */
static int
as_rehire(struct norm_event *ev)
{
	char *k = strdup("rehire");

	if (k == NULL)
		return -1;
	free(ev->kind);
	ev->kind = k;
	return 0;
}

/*
 * Whether row may still be applied.  The dispatcher hands a thread an
 * event it read earlier; meanwhile `events cancel` may have cancelled
 * it (or, on PostgreSQL, another worker finished it after a lapsed
 * lease), and the thread must then leave it alone.
 */
static int
still_due(const struct store_event *row)
{
	static const char *const due[] = { "pending", "retry", "waiting",
	    NULL };

	return row->state != NULL && strv_index(due, row->state) >= 0;
}

static void
process(struct wthread *t, int64_t id)
{
	struct wk *w = t->w;
	struct store_event row;
	struct store_subject subj;
	struct norm_event nev;
	struct policy_decision d;
	struct zd_response res = ZD_RESPONSE_INIT;
	struct plan *pl = NULL;
	json_object *current = NULL, *snapshot = NULL, *roles, *groups;
	const char *ext, *email, *what, *why;
	char note[NOTE_MAX], err[PLAN_ERRLEN];
	enum zd_result rc;
	time_t now = time(NULL);
	long want[GUARD_NCLASSES] = { 0 };
	int refreshed = 0, reserved = 0, ar, unchecked = 0, checking = 0;
	int how = 0;

	memset(&nev, 0, sizeof(nev));
	memset(&subj, 0, sizeof(subj));
	if (store_get(w->st, id, &row) != 0) {
		log_msg(LOG_ERROR, "cannot load event %" PRId64, id);
		return;
	}
	if (!still_due(&row)) {
		log_msg(LOG_INFO, "event %" PRId64 " is %s now: not applied", id,
		    row.state);
		goto out;
	}
	if (decide_event(w->cfg, &row, &nev, NULL, note, sizeof(note)) != 0) {
		finish(w, id, "dead", note);
		goto out;
	}
	if (nev.subject != NULL &&
	    store_subject_get(w->st, nev.subject, &subj) < 0) {
		store_retry(w->st, id, now + 5, "cannot read subject state");
		goto out;
	}
	switch (decide_order(&subj, &nev, row.id, note, sizeof(note))) {
	case DECIDE_STALE:
		finish(w, id, "stale", note);
		goto out;
	case DECIDE_LEFT:
		/* `events approve`: an operator gives the leaver access back. */
		if (!row.approved) {
			finish(w, id, "ignored", note);
			goto out;
		}
		how = DECIDE_AS_HIRE;
		/* FALLTHROUGH */
	case DECIDE_REHIRE:
		/* Planned as the rehire it is (unsuspended, the snapshot). */
		if (as_rehire(&nev) != 0) {
			store_retry(w->st, id, now + 5, "out of memory");
			goto out;
		}
		break;
	case DECIDE_APPLY:
		break;
	}
	if (strncmp(nev.kind, "zendesk.", 8) == 0) {
		zendesk_event(t, &row, &nev);
		goto out;
	}
	if (decide_is_thin(&nev, &why)) {
		/* Nothing to apply, but a thin rehire (HiBob's activated)
		 * still ends a leave: the next full update then applies. */
		if (nev.subject != NULL && (strcmp(nev.kind, "hire") == 0 ||
		    strcmp(nev.kind, "rehire") == 0))
			remember(w, &row, &nev, how, NULL, &subj);
		finish(w, id, "ignored", why);
		goto out;
	}
	decide_match_keys(w->pol, &nev, &ext, &email);
	if (ext == NULL && email == NULL) {
		finish(w, id, "dead", "no external_id, employee_id or email "
		    "to find the person in Zendesk");
		goto out;
	}
	if ((rc = read_current_pf(t, ext, email, &current, &res, &what,
	    &unchecked)) != ZD_OK) {
		zd_failed(t, &row, rc, &res, what);
		goto out;
	}
reread:
	if (strcmp(nev.kind, "rehire") == 0 && subj.snapshot != NULL &&
	    now - subj.snapshot_at <=
	    (time_t)policy_rehire_window_days(w->pol) * 86400)
		snapshot = json_tokener_parse(subj.snapshot);
replan:
	pthread_mutex_lock(&w->cache_lock);
	roles = json_object_get(w->roles);
	groups = json_object_get(w->groups);
	pthread_mutex_unlock(&w->cache_lock);
	rc = decide_plan(w->pol, &nev, current, roles, groups, snapshot,
	    &w->popts, &d, &pl, err, sizeof(err)) == 0 ? ZD_OK : ZD_ERROR;
	pthread_mutex_lock(&w->cache_lock);    /* see refresh_cache */
	json_object_put(roles);
	json_object_put(groups);
	pthread_mutex_unlock(&w->cache_lock);
	if (rc != ZD_OK) {
		/* A role or group created in Zendesk since start: refresh once. */
		if (!refreshed && (strstr(err, "roles:") != NULL ||
		    strstr(err, "groups:") != NULL) &&
		    refresh_cache(w, t->zd, note, sizeof(note)) == ZD_OK) {
			refreshed = 1;
			goto replan;
		}
		snprintf(note, sizeof(note), "plan: %s", err);
		finish(w, id, "dead", note);
		goto out;
	}
	/*
	 * Nobody has the external id (prefetch) and the e-mail was not
	 * searched: a create is its own check (a taken e-mail is a 422;
	 * then it reads in full and plans again, once); anything else
	 * searches it now.
	 */
	checking = unchecked;
	if (unchecked && (pl->nwrites == 0 ||
	    strcmp(pl->writes[0].step, "create") != 0)) {
		unchecked = 0;
		goto fresh;
	}
	if (snapshot != NULL)
		restore_noted(&nev, pl, subj.snapshot_at);
	if (!row.approved) {
		int g = guard_take(w, pl, want, note, sizeof(note));

		if (g < 0) {
			store_retry(w->st, id, now + 5, "cannot read the audit "
			    "counts for policy.limits");
			goto out;
		}
		if (g > 0) {
			char ids[24];

			snprintf(ids, sizeof(ids), "%" PRId64, id);
			store_hold(w->st, id, note);
			log_kv(LOG_WARN, "held by the blast-radius guard",
			    "event", ids, "subject", nev.subject, "why", note,
			    (char *)NULL);
			goto out;
		}
		reserved = 1;
	}
	ar = apply(t, &row, &nev, &d, pl, current, reserved ? want : NULL,
	    checking);
	if (reserved)
		guard_release(w, want);
	reserved = 0;
	if (ar == 1) {
		/* The e-mail is someone's: find them by it, plan again. */
		unchecked = checking = 0;
		goto fresh;
	}
	/* -2: the leave is applied but for products (retry or dead). */
	if (ar == 0 || ar == -2)
		remember(w, &row, &nev, how | (d.leaver ? DECIDE_AS_LEAVER : 0),
		    current, &subj);
	if (ar != 0)
		goto out;
	if (pl->nwrites == 0)
		snprintf(note, sizeof(note), "no change%s%s",
		    pl->nnotes > 0 ? ": " : "", pl->nnotes > 0 ?
		    pl->notes[0] : "");
	else
		snprintf(note, sizeof(note), "%zu write%s (rule %s)",
		    pl->nwrites, pl->nwrites == 1 ? "" : "s",
		    d.rule ? d.rule : d.leaver ? "leaver" : "none");
	finish(w, id, "done", note);
	goto out;
fresh:
	/* Plan again from a fresh read of the person. */
	plan_free(pl);
	pl = NULL;
	json_object_put(snapshot);
	snapshot = NULL;
	if ((rc = read_current(t, ext, email, &current, &res, &what)) != ZD_OK) {
		zd_failed(t, &row, rc, &res, what);
		goto out;
	}
	goto reread;
out:
	plan_free(pl);
	json_object_put(current);
	json_object_put(snapshot);
	zd_response_clear(&res);
	norm_event_clear(&nev);
	store_subject_clear(&subj);
	store_event_clear(&row);
}

/* ------------------------------------------------------------- threads */

static void *
thread_main(void *arg)
{
	struct wthread *t = arg;
	struct wk *w = t->w;
	struct job *j;
	size_t i;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head[t->index] == NULL && !w->stopping)
			pthread_cond_wait(&w->work_cv, &w->lock);
		/* Queued jobs stay pending in the store for the next run. */
		if (w->stopping)
			break;
		j = w->head[t->index];
		w->head[t->index] = j->next;
		if (w->head[t->index] == NULL)
			w->tail[t->index] = NULL;
		w->pf_cur[t->index] = j->xid;
		t->job_us = j->at_us;
		pthread_mutex_unlock(&w->lock);
		if (w->comb != NULL) {
			combine_enter(w->comb);
			t->in_combine = 1;
		}
		process(t, j->id);
		if (t->in_combine) {
			combine_leave(w->comb);
			t->in_combine = 0;
		}
		pthread_mutex_lock(&w->lock);
		for (i = 0; i < w->ninflight; i++)
			if (w->inflight[i] == j->id) {
				w->inflight[i] = w->inflight[--w->ninflight];
				break;
			}
		w->pf_cur[t->index] = NULL;
		free(j->xid);
		free(j);
		pthread_cond_broadcast(&w->done_cv);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* FNV-1a: the same person always lands on the same thread. */
static unsigned int
subject_hash(const char *s)
{
	return (unsigned int)hash_fnv1a(s, s != NULL ? strlen(s) : 0);
}

/* ---------------------------------------------------------- dispatcher */

/* An event this much ahead of its effective time waits for it. */
#define EARLY_S 60

/*
 * Effective dates: a change that takes effect later (a termination at
 * the end of the month) waits for it, and a newer future-dated event of
 * the same kind for the same person moves it (the older one is
 * cancelled).
 */
static void
wait_for_effective(struct wk *w, const struct store_event *row,
    const struct norm_event *nev)
{
	char note[128], when[32], ids[24];
	time_t t = (time_t)nev->effective_at;
	struct tm tm;
	long moved = 0;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ids, sizeof(ids), "%" PRId64, row->id);
	if (store_supersede(w->st, row->id, nev->subject, nev->kind,
	    &moved) == 0 && moved > 0)
		log_kv(LOG_INFO, "moved a waiting event", "event", ids,
		    "subject", nev->subject, (char *)NULL);
	snprintf(note, sizeof(note), "waits for its effective date %s", when);
	if (store_wait(w->st, row->id, t, note) != 0)
		log_kv(LOG_ERROR, "cannot park event", "event", ids,
		    (char *)NULL);
	else
		log_kv(LOG_INFO, "waiting for effective date", "event", ids,
		    "effective_at", when, (char *)NULL);
}

/*
 * A delivery carrying several people (BambooHR batches field changes:
 * {"employees": [...]}) becomes one event per person, in the order sent,
 * so each is classified, ordered and applied like any event; the parent
 * is done once its children are stored (one transaction: nothing lost,
 * and a second split adds nothing).  A child whose entry does not
 * normalise is dead on its own; its siblings go on.
 */
static void
split(struct wk *w, const struct store_event *row, size_t people)
{
	char ids[24], a[24], b[24], n[24];
	int64_t first = 0, last = 0;

	snprintf(ids, sizeof(ids), "%" PRId64, row->id);
	if (store_split(w->st, row->id, people, &first, &last) != 0) {
		/*
		 * Nothing was stored; dead (not left pending, which would
		 * spin every pass) and kept: `events retry` splits it again.
		 */
		log_kv(LOG_ERROR, "cannot split a batch", "event", ids,
		    (char *)NULL);
		finish(w, row->id, "dead", people > 100000 ? "batch of more "
		    "than 100000 people" : "cannot split the batch: store "
		    "error, or a child's key is held by another event");
		return;
	}
	snprintf(a, sizeof(a), "%" PRId64, first);
	snprintf(b, sizeof(b), "%" PRId64, last);
	snprintf(n, sizeof(n), "%zu", people);
	log_kv(LOG_INFO, "batch split", "event", ids, "people", n, "first", a,
	    "last", b, (char *)NULL);
}

/* Normalises new events once, to learn whose they are. */
static int
classify(struct wk *w)
{
	int64_t ids[BATCH];
	struct store_event row;
	struct norm_event nev;
	char note[NOTE_MAX];
	int n = 0, i, r;
	size_t people;

	if (store_unclassified(w->st, BATCH, ids, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_get(w->st, ids[i], &row) != 0)
			continue;
		if (!still_due(&row)) {
			store_event_clear(&row);
			continue;
		}
		r = decide_event(w->cfg, &row, &nev, &people, note, sizeof(note));
		if (!row.batched && people > 1)
			split(w, &row, people);
		else if (r != 0)
			finish(w, row.id, "dead", note);
		else if (strcmp(nev.kind, "ignored") == 0)
			finish(w, row.id, "ignored", nev.ignored_reason ?
			    nev.ignored_reason : "event type not acted on");
		else if (nev.subject == NULL)
			finish(w, row.id, "ignored", "the event names nobody");
		else if (store_set_subject(w->st, row.id, nev.subject,
		    decide_time(&nev), nev.kind) != 0)
			log_msg(LOG_ERROR, "cannot classify event %" PRId64,
			    row.id);
		else if (nev.effective_at > (int64_t)time(NULL) + EARLY_S)
			wait_for_effective(w, &row, &nev);
		norm_event_clear(&nev);
		store_event_clear(&row);
	}
	return n;
}

/* Up to the in-flight capacity: busy events do not hide new ones. */
#define DUE_MAX (BATCH * 2)

struct due {
	int64_t id[DUE_MAX];
	unsigned int hash[DUE_MAX];
	int n;
};

/*
 * How many due events one dispatch takes.  On PostgreSQL each is claimed
 * for this worker: claim what the threads can start soon (in flight
 * included, CLAIM_PER_THREAD each), not every due event, so that other
 * workers share a backlog and a killed worker leaves few claims to run
 * out.  SQLite has one worker: a deep queue lets the prefetch read many
 * people in one request.
 */
#define CLAIM_PER_THREAD 16

static int
due_limit(const struct wk *w)
{
	int n = w->o.threads * CLAIM_PER_THREAD;

	return strcmp(store_engine_name(w->st), "postgresql") == 0 &&
	    n < DUE_MAX ? n : DUE_MAX;
}

static int
due_fn(const struct store_event *ev, void *arg)
{
	struct due *d = arg;

	d->id[d->n] = ev->id;
	d->hash[d->n] = subject_hash(ev->subject);
	d->n++;
	return d->n >= DUE_MAX;
}

/*
 * Keeps one show_many answer, under pf_lock; epoch: pf_epoch when the
 * request started.  A key whose user (or, absent, whose creation) was
 * written since is left out: the answer may predate the write.
 */
static void
pf_store(struct wk *w, char **keys, size_t n, json_object *users,
    unsigned long epoch, int64_t asked_us)
{
	int64_t now = monotime_ms();
	json_object *u, *x;
	size_t i, j, m = json_object_array_length(users);

	for (i = 0; i < w->npf;)
		if (now - w->pf[i].at_ms > PF_TTL_MS)
			pf_drop(w, i);
		else
			i++;
	for (i = 0; i < n && w->npf < PF_MAX; i++) {
		struct pf_entry *e = &w->pf[w->npf];

		for (j = 0; j < w->npf; j++)
			if (strcmp(w->pf[j].xid, keys[i]) == 0)
				break;
		if (j < w->npf)
			pf_drop(w, j);  /* this answer is newer */
		e = &w->pf[w->npf];
		memset(e, 0, sizeof(*e));
		for (j = 0; j < m; j++) {
			u = json_object_array_get_idx(users, j);
			if (json_object_object_get_ex(u, "external_id", &x) &&
			    json_object_is_type(x, json_type_string) &&
			    strcmp(json_object_get_string(x), keys[i]) == 0)
				break;
		}
		/*
		 * The entry keeps a copy, never a reference into the answer:
		 * json-c's reference counts are not atomic, and the answer is
		 * put outside pf_lock while other threads take entries.  No
		 * copy (out of memory): no entry, the thread reads for itself
		 * (an entry without a user would mean "nobody has the id").
		 */
		if (j < m && json_object_deep_copy(u, &e->user, NULL) != 0)
			continue;
		if (e->user != NULL)
			e->uid = user_id_of(e->user);
		if (pf_written_since(w, epoch, e->user != NULL ? e->uid :
		    pf_xid_key(keys[i])) || (e->xid = strdup(keys[i])) == NULL) {
			json_object_put(e->user);
			continue;
		}
		e->at_ms = now;
		e->asked_us = asked_us;
		w->npf++;
	}
}

/* One show_many request for keys[0..n); failures only cost the batch. */
static void
pf_fetch(struct wk *w, struct zd_client *zd, char **keys, size_t n)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	unsigned long epoch;
	enum zd_result rc;
	int64_t asked_us;

	if (n == 0)
		return;
	pthread_mutex_lock(&w->pf_lock);
	epoch = w->pf_epoch;
	pthread_mutex_unlock(&w->pf_lock);
	asked_us = monotime_us();
	rc = zd_show_many(zd, "external_ids", (const char *const *)keys, n,
	    &res);
	if (rc == ZD_OK) {
		pthread_mutex_lock(&w->pf_lock);
		pf_store(w, keys, n, res.item, epoch, asked_us);
		pthread_mutex_unlock(&w->pf_lock);
	} else
		log_kv(LOG_INFO, "prefetch skipped", "error", res.reason,
		    (char *)NULL);
	zd_response_clear(&res);
}

/* An external id show_many can carry (comma-separated list). */
static int
pf_usable(const char *xid)
{
	return zd_show_many_key(xid);
}

/* A fresh entry for xid?  Called with pf_lock held. */
static int
pf_fresh(const struct wk *w, const char *xid, int64_t now)
{
	size_t i;

	for (i = 0; i < w->npf; i++)
		if (strcmp(w->pf[i].xid, xid) == 0)
			return now - w->pf[i].at_ms <= PF_TTL_MS;
	return 0;
}

/*
 * Fills the prefetch for xid and the people queued next: one
 * show_many of at most ZD_SHOW_MANY_MAX external ids (and a bounded
 * URL), skipping those already fresh.  One refill at a time: a thread
 * that finds one under way waits for it and uses its answer.  Returns
 * 0, or -1 when nothing could be asked (the caller reads alone).
 */
static int
pf_refill(struct wthread *t, const char *xid)
{
	struct wk *w = t->w;
	struct job *cur[MAX_THREADS];
	char *cand[ZD_SHOW_MANY_MAX * 2], *keys[ZD_SHOW_MANY_MAX];
	size_t nc = 0, nk = 0, len = 0, i, j;
	int k, more;
	int64_t now;

	pthread_mutex_lock(&w->pf_lock);
	while (w->pf_busy)
		pthread_cond_wait(&w->pf_cv, &w->pf_lock);
	if (pf_fresh(w, xid, monotime_ms())) {
		pthread_mutex_unlock(&w->pf_lock);
		return 0;
	}
	w->pf_busy = 1;
	pthread_mutex_unlock(&w->pf_lock);

	/*
	 * The people in hand (other threads' jobs, not read yet perhaps),
	 * then those next in line: depth 0 of every queue, then 1, ...
	 */
	pthread_mutex_lock(&w->lock);
	for (k = 0; k < w->o.threads; k++) {
		cur[k] = w->head[k];
		if (w->pf_cur[k] != NULL && strcmp(w->pf_cur[k], xid) != 0 &&
		    (cand[nc] = strdup(w->pf_cur[k])) != NULL)
			nc++;
	}
	for (more = 1; more && nc < sizeof(cand) / sizeof(cand[0]);) {
		more = 0;
		for (k = 0; k < w->o.threads &&
		    nc < sizeof(cand) / sizeof(cand[0]); k++) {
			if (cur[k] == NULL)
				continue;
			more = 1;
			if (pf_usable(cur[k]->xid) &&
			    strcmp(cur[k]->xid, xid) != 0 &&
			    (cand[nc] = strdup(cur[k]->xid)) != NULL)
				nc++;
			cur[k] = cur[k]->next;
		}
	}
	pthread_mutex_unlock(&w->lock);

	pthread_mutex_lock(&w->pf_lock);
	now = monotime_ms();
	if ((keys[nk] = strdup(xid)) != NULL)
		len += 3 * strlen(keys[nk++]) + 1;
	for (i = 0; i < nc && nk < ZD_SHOW_MANY_MAX; i++) {
		for (j = 0; j < nk; j++)
			if (strcmp(keys[j], cand[i]) == 0)
				break;
		if (j < nk || pf_fresh(w, cand[i], now) ||
		    len + 3 * strlen(cand[i]) + 1 > PF_URL_BUDGET)
			continue;
		len += 3 * strlen(cand[i]) + 1;
		keys[nk++] = cand[i];
		cand[i] = NULL;
	}
	pthread_mutex_unlock(&w->pf_lock);
	for (i = 0; i < nc; i++)
		free(cand[i]);

	pf_fetch(w, t->zd, keys, nk);
	while (nk > 0)
		free(keys[--nk]);
	pthread_mutex_lock(&w->pf_lock);
	w->pf_busy = 0;
	pthread_cond_broadcast(&w->pf_cv);
	pthread_mutex_unlock(&w->pf_lock);
	return 0;
}

/* The person's external id as read_current will use it, or NULL. */
static char *
job_xid(struct wk *w, int64_t id)
{
	struct store_event row;
	struct norm_event nev;
	const char *ext = NULL, *email;
	char note[NOTE_MAX], *x = NULL;

	if (store_get(w->st, id, &row) != 0)
		return NULL;
	memset(&nev, 0, sizeof(nev));
	if (decide_event(w->cfg, &row, &nev, NULL, note, sizeof(note)) == 0 &&
	    strncmp(nev.kind, "zendesk.", 8) != 0) {
		decide_match_keys(w->pol, &nev, &ext, &email);
		if (pf_usable(ext))
			x = strdup(ext);
	}
	norm_event_clear(&nev);
	store_event_clear(&row);
	return x;
}

/* Hands due events to their threads; returns how many were new. */
static int
dispatch(struct wk *w)
{
	struct due d;
	struct job *j;
	size_t k;
	char *xids[DUE_MAX];
	int i, n = 0, busy[DUE_MAX];

	d.n = 0;
	/*
	 * The query runs under w->lock: a worker records an event's outcome
	 * in the store before it takes w->lock to leave `inflight`, so an
	 * event is either still in flight here or its new state is what the
	 * query sees -- never a stale "due" for an event just finished.
	 * Only the dispatcher adds to `inflight`, so an event not busy now
	 * is still not busy after the prefetch, outside the lock.
	 */
	pthread_mutex_lock(&w->lock);
	if (store_due(w->st, time(NULL), 0, due_limit(w), due_fn, &d) < 0) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	for (i = 0; i < d.n; i++)
		for (busy[i] = 0, k = 0; k < w->ninflight; k++)
			if (w->inflight[k] == d.id[i])
				busy[i] = 1;
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < d.n; i++)
		xids[i] = busy[i] ? NULL : job_xid(w, d.id[i]);
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < d.n; i++) {
		if (busy[i] || w->ninflight >= sizeof(w->inflight) /
		    sizeof(w->inflight[0]) || (j = calloc(1, sizeof(*j))) ==
		    NULL)
			continue;
		j->id = d.id[i];
		j->at_us = monotime_us();
		j->xid = xids[i];
		xids[i] = NULL;
		k = d.hash[i] % (unsigned int)w->o.threads;
		if (w->tail[k] != NULL)
			w->tail[k]->next = j;
		else
			w->head[k] = j;
		w->tail[k] = j;
		w->inflight[w->ninflight++] = j->id;
		n++;
	}
	if (n > 0)
		pthread_cond_broadcast(&w->work_cv);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < d.n; i++)
		free(xids[i]);
	return n;
}

/* flock() on "<store>.work.lock"; returns the fd, or -1 with err. */
static int
lock_store(const char *store_path, char *err, size_t errlen)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s.work.lock", store_path) >=
	    sizeof(path)) {
		snprintf(err, errlen, "store path too long");
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "another rolehook work is running on %s "
		    "(%s is locked); run one worker per store", store_path,
		    path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The write cap of policy.limits.writes_per_minute: a governor that is
 * never fed from Zendesk's headers, so it paces writes at exactly that
 * rate (one at a time), under whatever the account allows.  *out is NULL
 * when the policy sets no cap.
 */
static int
new_write_gov(const struct policy *pol, struct gov **out)
{
	const struct policy_limits *l = policy_limits(pol);
	struct gov_opts go;

	*out = NULL;
	if (l->writes_per_minute <= 0)
		return 0;
	memset(&go, 0, sizeof(go));
	go.default_limit = l->writes_per_minute;
	go.burst = 1;
	return gov_new(&go, out) == GOV_OK ? 0 : -1;
}

static void
opts_defaults(struct worker_opts *o)
{
	if (o->threads <= 0)
		o->threads = 4;
	if (o->threads > MAX_THREADS)
		o->threads = MAX_THREADS;
	if (o->max_retry_age_s <= 0)
		o->max_retry_age_s = 86400;
	if (o->backoff_base_s <= 0)
		o->backoff_base_s = 5;
	if (o->backoff_max_s <= 0)
		o->backoff_max_s = 900;
	if (o->echo_window_s <= 0)
		o->echo_window_s = 600;
	if (o->poll_ms <= 0)
		o->poll_ms = 500;
}

int
worker_run(const struct config *cfg, const struct worker_opts *opts,
    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct wk w;
	struct wthread th[MAX_THREADS];
	struct store_opts so;
	struct zd_opts zo;
	json_object *pol = NULL;
	struct timespec dl;
	char reason[ZD_ERRLEN];
	int i, rc = -1, nclass, ndisp, idle, lockfd = -1;
	const enum policy_step *steps;
	size_t nsteps;

	memset(&w, 0, sizeof(w));
	memset(th, 0, sizeof(th));
	w.cfg = cfg;
	w.o = *opts;
	opts_defaults(&w.o);
	pthread_mutex_init(&w.lock, NULL);
	pthread_mutex_init(&w.cache_lock, NULL);
	pthread_mutex_init(&w.pf_lock, NULL);
	pthread_cond_init(&w.pf_cv, NULL);
	pthread_cond_init(&w.work_cv, NULL);
	pthread_cond_init(&w.done_cv, NULL);

	if (!json_object_object_get_ex(cfg->root, "policy", &pol)) {
		snprintf(err, errlen, "%s: policy: missing; rolehook work "
		    "needs a policy (see docs/policy.md)", cfg->path);
		goto out;
	}
	if (policy_compile(pol, &w.pol, err, errlen) != 0)
		goto out;
	if (zd_conf_load(cfg, &w.zconf, err, errlen) != ZD_OK)
		goto out;
	if (gov_new(NULL, &w.gov) != GOV_OK ||
	    new_write_gov(w.pol, &w.wgov) != 0) {
		snprintf(err, errlen, "cannot create the rate governor");
		goto out;
	}
	/*
	 * Several threads' writes in one bulk request (combine.h) -- not
	 * under policy.limits.writes_per_minute, which paces changes one a
	 * request so that a bulk change stays slow enough to watch.
	 */
	if (w.o.threads > 1 && w.wgov == NULL &&
	    combine_new(NULL, &w.comb) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/*
	 * One worker per SQLite store: two would dispatch the same person's
	 * events side by side.  The lock is released by the kernel if we
	 * die.  On PostgreSQL any number run: the store claims each event
	 * for one worker (store_due).
	 */
	if (cfg->store.engine == STORE_SQLITE &&
	    (lockfd = lock_store(cfg->store.path, err, errlen)) < 0)
		goto out;
	memset(&so, 0, sizeof(so));
	so.direct = 1;
	if (config_store_open(cfg, &so, &w.st, err, errlen) != 0)
		goto out;
	zo = *zd_conf_opts(w.zconf);
	zo.gov = w.gov;
	zo.write_gov = w.wgov;
	/* Never sleep minutes inside a thread: give the wait back instead. */
	zo.gov_max_wait_ms = 30000;
	w.popts.entitlements = zo.entitlements;
	steps = policy_leaver_steps(w.pol, &nsteps);
	w.popts.steps = steps;
	w.popts.nsteps = nsteps;
	for (i = 0; i < w.o.threads; i++) {
		th[i].w = &w;
		th[i].index = i;
		th[i].seed = (unsigned int)time(NULL) ^ (unsigned int)(i * 7919);
		if (zd_client_new(&zo, &th[i].zd, err, errlen) != ZD_OK)
			goto stop;
	}
	/* Zendesk may be briefly unavailable: wait for it, not give up. */
	for (i = 1;; i++) {
		enum zd_result zr = refresh_cache(&w, th[0].zd, reason,
		    sizeof(reason));

		if (zr == ZD_OK)
			break;
		if ((zr != ZD_RETRYABLE && zr != ZD_RATE_LIMITED) ||
		    (stop != NULL && *stop)) {
			snprintf(err, errlen, "Zendesk: cannot read %s", reason);
			goto stop;
		}
		log_kv(LOG_WARN, "Zendesk not ready, retrying", "error", reason,
		    (char *)NULL);
		sleep(i < 10 ? (unsigned int)i : 10);
	}
	for (i = 0; i < w.o.threads; i++) {
		if (pthread_create(&th[i].t, NULL, thread_main, &th[i]) != 0) {
			snprintf(err, errlen, "cannot start worker threads");
			goto stop;
		}
		th[i].started = 1;
	}
	log_kv(LOG_INFO, "worker started", "policy", policy_hash(w.pol),
	    (char *)NULL);
	for (;;) {
		if (stop != NULL && *stop)
			break;
		nclass = classify(&w);
		/* A second batch, so a bulk change is prefetched together. */
		if (nclass == BATCH)
			nclass += classify(&w);
		ndisp = dispatch(&w);
		pthread_mutex_lock(&w.lock);
		idle = w.ninflight == 0;
		if (w.o.until_idle && idle && nclass == 0 && ndisp == 0) {
			pthread_mutex_unlock(&w.lock);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += (long)w.o.poll_ms * 1000000L;
		while (dl.tv_nsec >= 1000000000L) {
			dl.tv_nsec -= 1000000000L;
			dl.tv_sec++;
		}
		/* Woken early when a thread finishes: its person may be due. */
		pthread_cond_timedwait(&w.done_cv, &w.lock, &dl);
		pthread_mutex_unlock(&w.lock);
	}
	rc = 0;
stop:
	pthread_mutex_lock(&w.lock);
	w.stopping = 1;
	pthread_cond_broadcast(&w.work_cv);
	pthread_mutex_unlock(&w.lock);
	for (i = 0; i < MAX_THREADS; i++) {
		struct job *j, *next;

		if (th[i].started)
			pthread_join(th[i].t, NULL);
		zd_client_free(th[i].zd);
		th[i].zd = NULL;
		for (j = w.head[i]; j != NULL; j = next) {
			next = j->next;
			free(j->xid);
			free(j);
		}
	}
	while (w.npf > 0)
		pf_drop(&w, w.npf - 1);
	if (w.comb != NULL) {
		struct combine_stats cs;
		char b[6][24];

		combine_stats(w.comb, &cs);
		snprintf(b[0], sizeof(b[0]), "%ld", cs.batches);
		snprintf(b[1], sizeof(b[1]), "%ld", cs.bulk_requests);
		snprintf(b[2], sizeof(b[2]), "%ld", cs.bulk_items);
		snprintf(b[3], sizeof(b[3]), "%ld", cs.polls);
		snprintf(b[4], sizeof(b[4]), "%ld", cs.fallbacks);
		snprintf(b[5], sizeof(b[5]), "%ld", cs.waited_out);
		log_kv(LOG_INFO, "bulk writes", "batches", b[0],
		    "bulk_requests", b[1], "bulk_items", b[2], "job_polls",
		    b[3], "fallbacks", b[4], "waited_out", b[5], (char *)NULL);
	}
out:
	json_object_put(w.roles);
	json_object_put(w.groups);
	store_close(w.st);
	gov_free(w.gov);
	gov_free(w.wgov);
	combine_free(w.comb);
	zd_conf_free(w.zconf);
	policy_free(w.pol);
	if (lockfd >= 0)
		close(lockfd);
	pthread_cond_destroy(&w.work_cv);
	pthread_cond_destroy(&w.done_cv);
	pthread_mutex_destroy(&w.lock);
	pthread_mutex_destroy(&w.cache_lock);
	pthread_mutex_destroy(&w.pf_lock);
	pthread_cond_destroy(&w.pf_cv);
	return rc;
}

/* ------------------------------------------------------------- readers */

/*
 * The read path of `work` lent to another engine (reconcile): the same
 * struct wk a worker run has, without its store, dispatcher or threads,
 * and one client per caller thread.
 */
struct worker_reader {
	struct wk w;
	struct wthread *t;
	int n;
};

int
worker_reader_new(const struct config *cfg, const struct policy *pol,
    int nclients, struct worker_reader **out, char *err, size_t errlen)
{
	struct worker_reader *r;
	struct zd_opts zo;
	char reason[ZD_ERRLEN];
	int k;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->t = calloc((size_t)nclients, sizeof(*r->t))) == NULL) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->n = nclients;
	r->w.cfg = cfg;
	r->w.pol = (struct policy *)pol;   /* borrowed: not freed here */
	opts_defaults(&r->w.o);
	pthread_mutex_init(&r->w.lock, NULL);
	pthread_mutex_init(&r->w.cache_lock, NULL);
	pthread_mutex_init(&r->w.pf_lock, NULL);
	pthread_cond_init(&r->w.pf_cv, NULL);
	pthread_cond_init(&r->w.work_cv, NULL);
	pthread_cond_init(&r->w.done_cv, NULL);
	if (zd_conf_load(cfg, &r->w.zconf, err, errlen) != ZD_OK)
		goto fail;
	if (gov_new(NULL, &r->w.gov) != GOV_OK ||
	    new_write_gov(pol, &r->w.wgov) != 0) {
		snprintf(err, errlen, "cannot create the rate governor");
		goto fail;
	}
	zo = *zd_conf_opts(r->w.zconf);
	zo.gov = r->w.gov;
	zo.write_gov = r->w.wgov;
	r->w.popts.entitlements = zo.entitlements;
	for (k = 0; k < nclients; k++) {
		r->t[k].w = &r->w;
		r->t[k].index = k;
		if (zd_client_new(&zo, &r->t[k].zd, err, errlen) != ZD_OK)
			goto fail;
	}
	if (refresh_cache(&r->w, r->t[0].zd, reason, sizeof(reason)) !=
	    ZD_OK) {
		snprintf(err, errlen, "Zendesk: cannot read %s", reason);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	worker_reader_free(r);
	return -1;
}

int
worker_reader_current(struct worker_reader *r, int client,
    struct json_object *user, struct json_object *memberships,
    struct json_object **current, char *why, size_t whylen)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	const char *what = "";
	int rc = 0;

	if (current_of(&r->t[client], user, memberships, current, &res,
	    &what) != ZD_OK) {
		snprintf(why, whylen, "%s: %s", what, res.reason);
		rc = -1;
	}
	zd_response_clear(&res);
	return rc;
}

struct zd_client *
worker_reader_client(const struct worker_reader *r, int client)
{
	return r->t[client].zd;
}

const struct json_object *
worker_reader_roles(const struct worker_reader *r)
{
	return r->w.roles;
}

const struct json_object *
worker_reader_groups(const struct worker_reader *r)
{
	return r->w.groups;
}

int
worker_reader_entitlements(const struct worker_reader *r)
{
	return r->w.popts.entitlements;
}

long
worker_reader_requests(const struct worker_reader *r, int memberships_given)
{
	/* current_of: keep in step with it. */
	return (r->w.popts.entitlements ? 1 : 0) + (memberships_given ? 0 : 1);
}

struct gov *
worker_reader_gov(const struct worker_reader *r)
{
	return r->w.gov;
}

void
worker_reader_free(struct worker_reader *r)
{
	int k;

	if (r == NULL)
		return;
	for (k = 0; k < r->n; k++)
		zd_client_free(r->t[k].zd);
	free(r->t);
	json_object_put(r->w.roles);
	json_object_put(r->w.groups);
	gov_free(r->w.gov);
	gov_free(r->w.wgov);
	zd_conf_free(r->w.zconf);
	pthread_cond_destroy(&r->w.work_cv);
	pthread_cond_destroy(&r->w.done_cv);
	pthread_mutex_destroy(&r->w.lock);
	pthread_mutex_destroy(&r->w.pf_lock);
	pthread_cond_destroy(&r->w.pf_cv);
	pthread_mutex_destroy(&r->w.cache_lock);
	free(r);
}
