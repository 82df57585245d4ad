/*
 * store_engine.h -- what store.c dispatches to.  Internal to the store
 * module: the engines' entry points, one set per engine, with the
 * contracts of store.h, except: store.c checks store_put's event and
 * its queue is the one open returned; prune and split always get
 * their out pointers; supersede gets its note and returns the number of
 * events moved, or -1.  Nothing outside src/store*.c includes this.
 */
#ifndef ROLEHOOK_STORE_ENGINE_H
#define ROLEHOOK_STORE_ENGINE_H

#include "rolehook/store.h"

struct sqlite_store;
struct pg_store;
struct store_queue;

/* Each engine's open: *out is that engine's handle, *queue its group
 * commit (store_queue.h), where store_put and store_healthy go. */
int store_sqlite_open(const char *path, const struct store_opts *opts,
    struct sqlite_store **out, struct store_queue **queue, char *err,
    size_t errlen);
int store_pg_open(const char *conninfo, const struct store_opts *opts,
    struct pg_store **out, struct store_queue **queue, char *err,
    size_t errlen);


void store_sqlite_close(struct sqlite_store *st);
int store_sqlite_prune(struct sqlite_store *st, time_t cutoff, long
    *deleted);
int store_sqlite_count_states(struct sqlite_store *st, void (*fn)(const char
    *, long, void *), void *arg);
int store_sqlite_list(struct sqlite_store *st, const char *state, const char
    *source, int limit, void (*fn)(const struct store_event *, void *), void
    *arg);
int store_sqlite_get(struct sqlite_store *st, int64_t id, struct store_event
    *ev);
int store_sqlite_unclassified(struct sqlite_store *st, int limit, int64_t
    *ids, int *n);
int store_sqlite_split(struct sqlite_store *st, int64_t id, size_t count,
    int64_t *first, int64_t *last);
int store_sqlite_due(struct sqlite_store *st, time_t now, int64_t after_id,
    int limit, int (*fn)(const struct store_event *, void *), void *arg);
int store_sqlite_set_subject(struct sqlite_store *st, int64_t id, const char
    *subject, time_t effective_at, const char *kind);
int store_sqlite_wait(struct sqlite_store *st, int64_t id, time_t until,
    const char *note);
long store_sqlite_supersede(struct sqlite_store *st, int64_t id, const char
    *subject, const char *kind, const char *note);
int store_sqlite_cancel(struct sqlite_store *st, int64_t id);
int store_sqlite_finish(struct sqlite_store *st, int64_t id, const char
    *state, const char *note);
int store_sqlite_retry(struct sqlite_store *st, int64_t id, time_t
    next_attempt, const char *error);
int store_sqlite_requeue(struct sqlite_store *st, int64_t id);
int store_sqlite_replay(struct sqlite_store *st, time_t since, int dry_run,
    long *count);
int store_sqlite_replay_list(struct sqlite_store *st, time_t since, int
    (*fn)(const struct store_event *, void *), void *arg);
int store_sqlite_hold(struct sqlite_store *st, int64_t id, const char *why);
int store_sqlite_approve(struct sqlite_store *st, int64_t id);
long store_sqlite_audit_count(struct sqlite_store *st, const char *action,
    time_t since);
int store_sqlite_audit_add(struct sqlite_store *st, const struct store_audit
    *a, int64_t *audit_id);
int store_sqlite_audit_list(struct sqlite_store *st, const char *subject,
    void (*fn)(int64_t, time_t, const struct store_audit *, void *), void *arg);
int store_sqlite_subject_get(struct sqlite_store *st, const char *key,
    struct store_subject *out);
int store_sqlite_subject_put(struct sqlite_store *st, const struct
    store_subject *s);

void store_pg_close(struct pg_store *st);
int store_pg_prune(struct pg_store *st, time_t cutoff, long *deleted);
int store_pg_count_states(struct pg_store *st, void (*fn)(const char *,
    long, void *), void *arg);
int store_pg_list(struct pg_store *st, const char *state, const char
    *source, int limit, void (*fn)(const struct store_event *, void *), void
    *arg);
int store_pg_get(struct pg_store *st, int64_t id, struct store_event *ev);
int store_pg_unclassified(struct pg_store *st, int limit, int64_t *ids, int
    *n);
int store_pg_split(struct pg_store *st, int64_t id, size_t count, int64_t
    *first, int64_t *last);
int store_pg_due(struct pg_store *st, time_t now, int64_t after_id, int
    limit, int (*fn)(const struct store_event *, void *), void *arg);
int store_pg_set_subject(struct pg_store *st, int64_t id, const char
    *subject, time_t effective_at, const char *kind);
int store_pg_wait(struct pg_store *st, int64_t id, time_t until, const char
    *note);
long store_pg_supersede(struct pg_store *st, int64_t id, const char *subject,
    const char *kind, const char *note);
int store_pg_cancel(struct pg_store *st, int64_t id);
int store_pg_finish(struct pg_store *st, int64_t id, const char *state,
    const char *note);
int store_pg_retry(struct pg_store *st, int64_t id, time_t next_attempt,
    const char *error);
int store_pg_requeue(struct pg_store *st, int64_t id);
int store_pg_replay(struct pg_store *st, time_t since, int dry_run, long
    *count);
int store_pg_replay_list(struct pg_store *st, time_t since, int (*fn)(const
    struct store_event *, void *), void *arg);
int store_pg_hold(struct pg_store *st, int64_t id, const char *why);
int store_pg_approve(struct pg_store *st, int64_t id);
long store_pg_audit_count(struct pg_store *st, const char *action, time_t
    since);
int store_pg_audit_add(struct pg_store *st, const struct store_audit *a,
    int64_t *audit_id);
int store_pg_audit_list(struct pg_store *st, const char *subject, void
    (*fn)(int64_t, time_t, const struct store_audit *, void *), void *arg);
int store_pg_subject_get(struct pg_store *st, const char *key, struct
    store_subject *out);
int store_pg_subject_put(struct pg_store *st, const struct store_subject
    *s);
int store_pg_guard_lock(struct pg_store *st);
void store_pg_guard_unlock(struct pg_store *st);
int store_pg_guard_reserve(struct pg_store *st, const char *action, long
    delta);

#endif
