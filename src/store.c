/*
 * store.c -- the store interface (store.h): picks an engine at open and
 * hands every call to it.  The engines are store_sqlite.c (one node) and
 * store_pg.c (several nodes); what they share is here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
store_count_states(struct store *st, void (*fn)(const char *, long, void *),
    void *arg)
{
	return st->pg != NULL ? store_pg_count_states(st->pg, fn, arg) :
	    store_sqlite_count_states(st->sq, fn, arg);
}

int
store_healthy(struct store *st, const char **reason)
{
	return store_queue_healthy(st->q, reason);
}

int
store_list(struct store *st, const char *state, const char *source, int
    limit, void (*fn)(const struct store_event *, void *), void *arg)
{
	return st->pg != NULL ? store_pg_list(st->pg, state, source, limit, fn, arg) :
	    store_sqlite_list(st->sq, state, source, limit, fn, arg);
}

int
store_get(struct store *st, int64_t id, struct store_event *ev)
{
	return st->pg != NULL ? store_pg_get(st->pg, id, ev) :
	    store_sqlite_get(st->sq, id, ev);
}

int
store_unclassified(struct store *st, int limit, int64_t *ids, int *n)
{
	return st->pg != NULL ? store_pg_unclassified(st->pg, limit, ids, n) :
	    store_sqlite_unclassified(st->sq, limit, ids, n);
}

int
store_split(struct store *st, int64_t id, size_t count, int64_t *first,
    int64_t *last)
{
	int64_t a = 0, b = 0;
	int rc;

	rc = st->pg != NULL ? store_pg_split(st->pg, id, count, &a, &b) :
	    store_sqlite_split(st->sq, id, count, &a, &b);
	if (rc == 0 && first != NULL)
		*first = a;
	if (rc == 0 && last != NULL)
		*last = b;
	return rc;
}

int
store_due(struct store *st, time_t now, int64_t after_id, int limit, int
    (*fn)(const struct store_event *, void *), void *arg)
{
	return st->pg != NULL ? store_pg_due(st->pg, now, after_id, limit, fn, arg) :
	    store_sqlite_due(st->sq, now, after_id, limit, fn, arg);
}

int
store_set_subject(struct store *st, int64_t id, const char *subject, time_t
    effective_at, const char *kind)
{
	return st->pg != NULL ? store_pg_set_subject(st->pg, id, subject, effective_at, kind) :
	    store_sqlite_set_subject(st->sq, id, subject, effective_at, kind);
}

int
store_wait(struct store *st, int64_t id, time_t until, const char *note)
{
	return st->pg != NULL ? store_pg_wait(st->pg, id, until, note) :
	    store_sqlite_wait(st->sq, id, until, note);
}

int
store_supersede(struct store *st, int64_t id, const char *subject, const
    char *kind, long *n)
{
	char note[96];
	long changed;

	snprintf(note, sizeof(note), "moved: superseded by event %lld",
	    (long long)id);
	changed = st->pg != NULL ? store_pg_supersede(st->pg, id, subject,
	    kind, note) : store_sqlite_supersede(st->sq, id, subject, kind,
	    note);
	*n = changed < 0 ? 0 : changed;
	return changed < 0 ? -1 : 0;
}

int
store_cancel(struct store *st, int64_t id)
{
	return st->pg != NULL ? store_pg_cancel(st->pg, id) :
	    store_sqlite_cancel(st->sq, id);
}

int
store_finish(struct store *st, int64_t id, const char *state, const char
    *note)
{
	return st->pg != NULL ? store_pg_finish(st->pg, id, state, note) :
	    store_sqlite_finish(st->sq, id, state, note);
}

int
store_retry(struct store *st, int64_t id, time_t next_attempt, const char
    *error)
{
	return st->pg != NULL ? store_pg_retry(st->pg, id, next_attempt, error) :
	    store_sqlite_retry(st->sq, id, next_attempt, error);
}

int
store_requeue(struct store *st, int64_t id)
{
	return st->pg != NULL ? store_pg_requeue(st->pg, id) :
	    store_sqlite_requeue(st->sq, id);
}

int
store_replay(struct store *st, time_t since, int dry_run, long *count)
{
	return st->pg != NULL ? store_pg_replay(st->pg, since, dry_run, count) :
	    store_sqlite_replay(st->sq, since, dry_run, count);
}

int
store_replay_list(struct store *st, time_t since, int (*fn)(const struct
    store_event *, void *), void *arg)
{
	return st->pg != NULL ? store_pg_replay_list(st->pg, since, fn, arg) :
	    store_sqlite_replay_list(st->sq, since, fn, arg);
}

int
store_hold(struct store *st, int64_t id, const char *why)
{
	return st->pg != NULL ? store_pg_hold(st->pg, id, why) :
	    store_sqlite_hold(st->sq, id, why);
}

int
store_approve(struct store *st, int64_t id)
{
	return st->pg != NULL ? store_pg_approve(st->pg, id) :
	    store_sqlite_approve(st->sq, id);
}

long
store_audit_count(struct store *st, const char *action, time_t since)
{
	return st->pg != NULL ? store_pg_audit_count(st->pg, action, since) :
	    store_sqlite_audit_count(st->sq, action, since);
}

int
store_audit_add(struct store *st, const struct store_audit *a, int64_t
    *audit_id)
{
	return st->pg != NULL ? store_pg_audit_add(st->pg, a, audit_id) :
	    store_sqlite_audit_add(st->sq, a, audit_id);
}

int
store_audit_list(struct store *st, const char *subject, void (*fn)(int64_t,
    time_t, const struct store_audit *, void *), void *arg)
{
	return st->pg != NULL ? store_pg_audit_list(st->pg, subject, fn, arg) :
	    store_sqlite_audit_list(st->sq, subject, fn, arg);
}

int
store_subject_get(struct store *st, const char *key, struct store_subject
    *out)
{
	return st->pg != NULL ? store_pg_subject_get(st->pg, key, out) :
	    store_sqlite_subject_get(st->sq, key, out);
}

int
store_subject_put(struct store *st, const struct store_subject *s)
{
	return st->pg != NULL ? store_pg_subject_put(st->pg, s) :
	    store_sqlite_subject_put(st->sq, s);
}
