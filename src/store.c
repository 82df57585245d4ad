/*
 * store.c -- the store interface (store.h): picks an engine at open and
 * hands every call to it.  The engines are store_sqlite.c (one node) and
 * store_pg.c (several nodes); what they share is here: the values each
 * statement binds, what its result means, the transactions of split and
 * replay, and how rows become structs (store_engine.h).  The SQL, the
 * connections, the claims and the group commit are the engines'.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rolehook/store.h"
#include "store_engine.h"
#include "store_queue.h"

struct store {
	enum store_engine engine;
	struct sqlite_store *sq;   /* exactly one of the two is set */
	struct pg_store *pg;
	struct store_queue *q;     /* the engine's group commit */
};

const char *
store_strerror(enum store_err e)
{
	static const char *const names[STORE_ERR__MAX] = {
		"ok", "duplicate", "busy", "unavailable", "bad argument"
	};

	if ((int)e < 0 || e >= STORE_ERR__MAX)
		return "unknown";
	return names[e];
}

int
store_open(const char *where, const struct store_opts *opts,
    struct store **out, char *err, size_t errlen)
{
	struct store *st;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->engine = opts != NULL ? opts->engine : STORE_SQLITE;
	rc = st->engine == STORE_POSTGRESQL ?
	    store_pg_open(where, opts, &st->pg, &st->q, err, errlen) :
	    store_sqlite_open(where, opts, &st->sq, &st->q, err, errlen);
	if (rc != 0) {
		free(st);
		return -1;
	}
	*out = st;
	return 0;
}

const char *
store_engine_name(const struct store *st)
{
	return st->engine == STORE_POSTGRESQL ? "postgresql" : "sqlite";
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL)
		store_pg_close(st->pg);
	else
		store_sqlite_close(st->sq);
	free(st);
}

void
store_event_clear(struct store_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->source);
	free(ev->delivery_id);
	free(ev->state);
	free(ev->last_error);
	free(ev->headers_json);
	free(ev->body);
	free(ev->subject);
	memset(ev, 0, sizeof(*ev));
}

void
store_subject_clear(struct store_subject *s)
{
	if (s == NULL)
		return;
	free(s->key);
	free(s->snapshot);
	memset(s, 0, sizeof(*s));
}

/* SQLite has one worker per store (flock in worker.c): nothing to share. */
int
store_guard_lock(struct store *st)
{
	return st->pg != NULL ? store_pg_guard_lock(st->pg) : 0;
}

void
store_guard_unlock(struct store *st)
{
	if (st->pg != NULL)
		store_pg_guard_unlock(st->pg);
}

int
store_guard_reserve(struct store *st, const char *action, long delta)
{
	return st->pg != NULL ? store_pg_guard_reserve(st->pg, action, delta) :
	    0;
}

/* The key's parts, as both engines store them. */
#define DELIVERY_ID_MAX 256
#define SOURCE_MAX 64

enum store_err
store_put(struct store *st, const struct store_event_in *ev, int64_t *id)
{
	if (st == NULL || ev == NULL || ev->source == NULL ||
	    ev->delivery_id == NULL || ev->delivery_id[0] == '\0' ||
	    strlen(ev->delivery_id) > DELIVERY_ID_MAX ||
	    strlen(ev->source) > SOURCE_MAX)
		return STORE_ERR_ARG;
	return store_queue_put(st->q, ev, id);
}

int
store_prune(struct store *st, time_t cutoff, long *deleted)
{
	long n = 0;
	int rc;

	rc = st->pg != NULL ? store_pg_prune(st->pg, cutoff, &n) :
	    store_sqlite_prune(st->sq, cutoff, &n);
	if (deleted != NULL)
		*deleted = n;
	return rc;
}

int
store_healthy(struct store *st, const char **reason)
{
	return store_queue_healthy(st->q, reason);
}

int
store_unclassified(struct store *st, int limit, int64_t *ids, int *n)
{
	return st->pg != NULL ? store_pg_unclassified(st->pg, limit, ids, n) :
	    store_sqlite_unclassified(st->sq, limit, ids, n);
}

int
store_due(struct store *st, time_t now, int64_t after_id, int limit, int
    (*fn)(const struct store_event *, void *), void *arg)
{
	return st->pg != NULL ? store_pg_due(st->pg, now, after_id, limit, fn, arg) :
	    store_sqlite_due(st->sq, now, after_id, limit, fn, arg);
}

/* store_engine.h */
void
store_lock_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/* ------------------------------------------- statements of both engines */

#define NVALS(v) ((int)(sizeof(v) / sizeof((v)[0])))
/* A positive number, or NULL: an event id of 0 (none), a limit of 0 (all). */
#define POSITIVE_OR_NULL(n) { NULL, (int64_t)(n), (n) > 0 }

static long
sql_exec(struct store *st, enum store_sql op, const struct store_val *v,
    int n, int64_t *new_id)
{
	return st->pg != NULL ? store_pg_exec(st->pg, op, v, n, new_id) :
	    store_sqlite_exec(st->sq, op, v, n, new_id);
}

static int
sql_query(struct store *st, enum store_sql op, const struct store_val *v,
    int n, int (*fn)(const struct store_row *, void *), void *arg)
{
	return st->pg != NULL ? store_pg_query(st->pg, op, v, n, fn, arg) :
	    store_sqlite_query(st->sq, op, v, n, fn, arg);
}

static int
tx_begin(struct store *st)
{
	return st->pg != NULL ? store_pg_begin(st->pg) :
	    store_sqlite_begin(st->sq);
}

static int
tx_end(struct store *st, int commit)
{
	return st->pg != NULL ? store_pg_end(st->pg, commit) :
	    store_sqlite_end(st->sq, commit);
}

/* A change of exactly one event (v[0], its id): 0, or -1 (no such event
 * too). */
static int
change_one(struct store *st, enum store_sql op, const struct store_val *v,
    int n)
{
	return sql_exec(st, op, v, n, NULL) == 1 ? 0 : -1;
}

/* A change of an event whose WHERE may match nothing: 0, 1 if no row
 * changed, or -1. */
static int
change_if(struct store *st, enum store_sql op, int64_t id)
{
	const struct store_val v[] = { STORE_NUM(id) };
	long n = sql_exec(st, op, v, NVALS(v), NULL);

	return n < 0 ? -1 : n == 0 ? 1 : 0;
}

int
store_set_subject(struct store *st, int64_t id, const char *subject, time_t
    effective_at, const char *kind)
{
	const struct store_val v[] = { STORE_NUM(id), STORE_TEXT(subject),
	    STORE_NUM(effective_at), STORE_TEXT(kind) };

	return change_one(st, STORE_SQL_SET_SUBJECT, v, NVALS(v));
}

int
store_wait(struct store *st, int64_t id, time_t until, const char *note)
{
	const struct store_val v[] = { STORE_NUM(id), STORE_NUM(until),
	    STORE_TEXT(note) };

	return change_one(st, STORE_SQL_WAIT, v, NVALS(v));
}

int
store_supersede(struct store *st, int64_t id, const char *subject, const
    char *kind, long *n)
{
	char note[96];
	const struct store_val v[] = { STORE_NUM(id), STORE_TEXT(subject),
	    STORE_TEXT(kind), STORE_TEXT(note) };
	long changed;

	snprintf(note, sizeof(note), "moved: superseded by event %lld",
	    (long long)id);
	changed = sql_exec(st, STORE_SQL_SUPERSEDE, v, NVALS(v), NULL);
	*n = changed < 0 ? 0 : changed;
	return changed < 0 ? -1 : 0;
}

int
store_cancel(struct store *st, int64_t id)
{
	return change_if(st, STORE_SQL_CANCEL, id);
}

int
store_finish(struct store *st, int64_t id, const char *state, const char
    *note)
{
	const struct store_val v[] = { STORE_NUM(id), STORE_TEXT(state),
	    STORE_TEXT(note) };

	return change_one(st, STORE_SQL_FINISH, v, NVALS(v));
}

int
store_retry(struct store *st, int64_t id, time_t next_attempt, const char
    *error)
{
	const struct store_val v[] = { STORE_NUM(id), STORE_NUM(next_attempt),
	    STORE_TEXT(error) };

	return change_one(st, STORE_SQL_RETRY, v, NVALS(v));
}

int
store_requeue(struct store *st, int64_t id)
{
	return change_if(st, STORE_SQL_REQUEUE, id);
}

int
store_hold(struct store *st, int64_t id, const char *why)
{
	const struct store_val v[] = { STORE_NUM(id), STORE_TEXT(why) };

	return change_one(st, STORE_SQL_HOLD, v, NVALS(v));
}

int
store_approve(struct store *st, int64_t id)
{
	return change_if(st, STORE_SQL_APPROVE, id);
}

int
store_audit_add(struct store *st, const struct store_audit *a, int64_t
    *audit_id)
{
	const struct store_val v[] = { STORE_NUM(time(NULL)),
	    POSITIVE_OR_NULL(a->event_id), STORE_TEXT(a->subject),
	    STORE_TEXT(a->action != NULL ? a->action : "unknown"),
	    STORE_TEXT(a->rule), STORE_TEXT(a->policy_hash),
	    STORE_TEXT(a->before), STORE_TEXT(a->after),
	    STORE_NUM(a->http_status), STORE_TEXT(a->zendesk_user),
	    STORE_TEXT(a->request), STORE_TEXT(a->provenance) };

	return sql_exec(st, STORE_SQL_AUDIT_ADD, v, NVALS(v), audit_id) < 0 ?
	    -1 : 0;
}

int
store_subject_put(struct store *st, const struct store_subject *s)
{
	const struct store_val v[] = { STORE_TEXT(s->key),
	    STORE_NUM(s->last_event_id), STORE_NUM(s->last_effective),
	    STORE_TEXT(s->snapshot), STORE_NUM(s->snapshot_at),
	    STORE_NUM(s->left_event), STORE_NUM(s->left_at),
	    STORE_NUM(s->hired_event), STORE_NUM(s->hired_at) };

	return sql_exec(st, STORE_SQL_SUBJECT_PUT, v, NVALS(v), NULL) < 0 ?
	    -1 : 0;
}

/* ------------------------------------------------------------- rows */

static int
row_null(const struct store_row *r, int col)
{
	return r->ops->null(r, col);
}

static int64_t
row_num(const struct store_row *r, int col)
{
	return r->ops->num(r, col);
}

static const char *
row_text(const struct store_row *r, int col)
{
	return r->ops->text(r, col);
}

static char *
row_dup(const struct store_row *r, int col)
{
	const char *t = row_text(r, col);

	return t != NULL ? strdup(t) : NULL;
}

/* Fills *ev from a row of STORE_EVENT_COLS (store_engine.h). */
void
store_fill_event(const struct store_row *r, struct store_event *ev,
    int with_body)
{
	memset(ev, 0, sizeof(*ev));
	ev->id = row_num(r, 0);
	ev->source = row_dup(r, 1);
	ev->delivery_id = row_dup(r, 2);
	ev->received = (time_t)row_num(r, 3);
	ev->state = row_dup(r, 4);
	ev->attempts = (int)row_num(r, 5);
	ev->last_error = row_dup(r, 6);
	ev->headers_json = row_dup(r, 7);
	ev->subject = row_dup(r, 9);
	ev->effective_at = (time_t)row_num(r, 10);
	ev->next_attempt = (time_t)row_num(r, 11);
	ev->approved = (int)row_num(r, 12);
	ev->signed_at = (time_t)row_num(r, 13);
	if (!row_null(r, 14)) {
		ev->batched = 1;
		ev->batch_index = (size_t)row_num(r, 14);
	}
	if (with_body && !row_null(r, 8))
		ev->body = r->ops->bytes(r, 8, &ev->body_len);
}

/* The callers' functions behind a query of events. */
struct each_event {
	void (*list_fn)(const struct store_event *, void *);
	int (*fn)(const struct store_event *, void *);
	void *arg;
};

/* A row of a list (no body) to list_fn, or with its body to fn. */
static int
each_event(const struct store_row *r, void *arg)
{
	const struct each_event *e = arg;
	struct store_event ev;
	int stop = 0;

	store_fill_event(r, &ev, e->fn != NULL);
	if (e->fn != NULL)
		stop = e->fn(&ev, e->arg);
	else
		e->list_fn(&ev, e->arg);
	store_event_clear(&ev);
	return stop;
}

/* A read of at most one row, which fill (0 or -1) takes. */
struct one_row {
	int (*fill)(const struct store_row *, void *);
	void *out;
	int rc;
};

static int
take_one(const struct store_row *r, void *arg)
{
	struct one_row *o = arg;

	o->rc = o->fill(r, o->out);
	return 1;
}

/* Returns fill's result, 1 when there is no row, or -1. */
static int
get_one(struct store *st, enum store_sql op, const struct store_val *v,
    int n, int (*fill)(const struct store_row *, void *), void *out)
{
	struct one_row o = { fill, out, 1 };

	return sql_query(st, op, v, n, take_one, &o) != 0 ? -1 : o.rc;
}

static int
fill_event_body(const struct store_row *r, void *ev)
{
	store_fill_event(r, ev, 1);
	return 0;
}

static int
fill_subject(const struct store_row *r, void *arg)
{
	struct store_subject *out = arg;

	out->key = row_dup(r, 0);
	out->last_event_id = row_num(r, 1);
	out->last_effective = (time_t)row_num(r, 2);
	out->snapshot = row_dup(r, 3);
	out->snapshot_at = (time_t)row_num(r, 4);
	out->left_event = row_num(r, 5);
	out->left_at = (time_t)row_num(r, 6);
	out->hired_event = row_num(r, 7);
	out->hired_at = (time_t)row_num(r, 8);
	return out->key != NULL ? 0 : -1;
}

static int
fill_count(const struct store_row *r, void *n)
{
	*(long *)n = (long)row_num(r, 0);
	return 0;
}

int
store_list(struct store *st, const char *state, const char *source, int
    limit, void (*fn)(const struct store_event *, void *), void *arg)
{
	const struct store_val v[] = { STORE_TEXT(state), STORE_TEXT(source),
	    POSITIVE_OR_NULL(limit) };
	struct each_event e = { fn, NULL, arg };

	return sql_query(st, STORE_SQL_LIST, v, NVALS(v), each_event, &e);
}

int
store_get(struct store *st, int64_t id, struct store_event *ev)
{
	const struct store_val v[] = { STORE_NUM(id) };

	memset(ev, 0, sizeof(*ev));
	return get_one(st, STORE_SQL_GET, v, NVALS(v), fill_event_body, ev);
}

int
store_replay_list(struct store *st, time_t since, int (*fn)(const struct
    store_event *, void *), void *arg)
{
	const struct store_val v[] = { STORE_NUM(since) };
	struct each_event e = { NULL, fn, arg };

	return sql_query(st, STORE_SQL_REPLAY_LIST, v, NVALS(v), each_event,
	    &e);
}

int
store_subject_get(struct store *st, const char *key, struct store_subject
    *out)
{
	const struct store_val v[] = { STORE_TEXT(key) };

	memset(out, 0, sizeof(*out));
	return get_one(st, STORE_SQL_SUBJECT_GET, v, NVALS(v), fill_subject,
	    out);
}

/* The functions behind a query of states or audit rows. */
struct each_fn {
	void (*state)(const char *, long, void *);
	void (*audit)(int64_t, time_t, const struct store_audit *, void *);
	void *arg;
};

static int
each_state(const struct store_row *r, void *arg)
{
	const struct each_fn *e = arg;

	e->state(row_text(r, 0), (long)row_num(r, 1), e->arg);
	return 0;
}

static int
each_audit(const struct store_row *r, void *arg)
{
	const struct each_fn *e = arg;
	struct store_audit a;

	memset(&a, 0, sizeof(a));
	a.event_id = row_num(r, 2);
	a.subject = row_text(r, 3);
	a.action = row_text(r, 4);
	a.rule = row_text(r, 5);
	a.policy_hash = row_text(r, 6);
	a.before = row_text(r, 7);
	a.after = row_text(r, 8);
	a.http_status = (int)row_num(r, 9);
	a.zendesk_user = row_text(r, 10);
	a.request = row_text(r, 11);
	a.provenance = row_text(r, 12);
	e->audit(row_num(r, 0), (time_t)row_num(r, 1), &a, e->arg);
	return 0;
}

int
store_count_states(struct store *st, void (*fn)(const char *, long, void *),
    void *arg)
{
	struct each_fn e = { fn, NULL, arg };

	return sql_query(st, STORE_SQL_COUNT_STATES, NULL, 0, each_state, &e);
}

long
store_audit_count(struct store *st, const char *action, time_t since)
{
	const struct store_val v[] = { STORE_TEXT(action), STORE_NUM(since) };
	long n = -1;

	return get_one(st, STORE_SQL_AUDIT_COUNT, v, NVALS(v), fill_count,
	    &n) == 0 ? n : -1;
}

int
store_audit_list(struct store *st, const char *subject, void (*fn)(int64_t,
    time_t, const struct store_audit *, void *), void *arg)
{
	static const char zu[] = "zendesk_user:";
	struct each_fn e = { NULL, fn, arg };
	int by_user = strncmp(subject, zu, sizeof(zu) - 1) == 0;
	const struct store_val v[] = { STORE_TEXT(by_user ?
	    subject + sizeof(zu) - 1 : subject) };

	return sql_query(st, by_user ? STORE_SQL_AUDIT_USER :
	    STORE_SQL_AUDIT_SUBJECT, v, NVALS(v), each_audit, &e);
}

/* ----------------------------------------------------- transactions */

static int
fill_id(const struct store_row *r, void *id)
{
	*(int64_t *)id = row_num(r, 0);
	return 0;
}

/*
 * Splitting a batch.  The children are keyed by the parent's key plus
 * "#<index>" under the (source, delivery_id) unique key, so a second
 * split (the worker died between commit and its next look) inserts
 * nothing.  A key can also come from a sender's signed id header, so a
 * row found under a child's key must really be that child (same index,
 * same body): an unrelated event under "abc#1" is an error, never a
 * child silently dropped.
 */
#define SPLIT_MAX 100000

int
store_split(struct store *st, int64_t id, size_t count, int64_t *first,
    int64_t *last)
{
	char note[96];
	const struct store_val done[] = { STORE_NUM(id), STORE_TEXT(note) };
	int64_t a = 0, b = 0, cid = 0;
	size_t i;

	if (count < 2 || count > SPLIT_MAX || tx_begin(st) != 0)
		return -1;
	for (i = 0; i < count; i++) {
		const struct store_val v[] = { STORE_NUM(id), STORE_NUM(i) };

		if (sql_exec(st, STORE_SQL_SPLIT_CHILD, v, NVALS(v),
		    NULL) < 0 || get_one(st, STORE_SQL_SPLIT_FIND, v, NVALS(v),
		    fill_id, &cid) != 0)
			goto rollback;  /* no parent, or the key is taken */
		if (i == 0)
			a = cid;
		b = cid;
	}
	snprintf(note, sizeof(note), "batch of %zu: events %" PRId64 "..%"
	    PRId64, count, a, b);
	if (sql_exec(st, STORE_SQL_SPLIT_DONE, done, NVALS(done), NULL) != 1)
		goto rollback;
	if (tx_end(st, 1) != 0)
		return -1;
	if (first != NULL)
		*first = a;
	if (last != NULL)
		*last = b;
	return 0;
rollback:
	tx_end(st, 0);
	return -1;
}

int
store_replay(struct store *st, time_t since, int dry_run, long *count)
{
	const struct store_val v[] = { STORE_NUM(since) };
	long n = 0;

	*count = 0;
	if (tx_begin(st) != 0)
		return -1;
	if (get_one(st, STORE_SQL_REPLAY_COUNT, v, NVALS(v), fill_count,
	    &n) != 0)
		goto rollback;
	*count = n;
	if (dry_run) {
		tx_end(st, 0);
		return 0;
	}
	/*
	 * The people concerned forget how far they got, or the first
	 * replayed event would be stale; replaying in id order ends in the
	 * state the newest event gives, re-read from Zendesk each time.
	 */
	if (sql_exec(st, STORE_SQL_REPLAY_FORGET, v, NVALS(v), NULL) < 0 ||
	    sql_exec(st, STORE_SQL_REPLAY, v, NVALS(v), NULL) < 0)
		goto rollback;
	return tx_end(st, 1);
rollback:
	tx_end(st, 0);
	return -1;
}
