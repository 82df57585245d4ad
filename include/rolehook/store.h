/*
 * store.h -- the durable inbox.  Two engines implement it: SQLite (one
 * node, the default; src/store_sqlite.c) and PostgreSQL (two or more
 * nodes; src/store_pg.c).  No engine's types cross this interface, and
 * every function has the same meaning on both.
 *
 * store_put() is the promise behind a 2xx: it returns STORE_OK only after
 * the commit holding the event reached the disk (SQLite synchronous=FULL,
 * PostgreSQL synchronous_commit=on).  Many threads may call it at once;
 * one writer thread batches their rows into a single commit (group
 * commit) and wakes each caller after the commit.
 */
#ifndef ROLEHOOK_STORE_H
#define ROLEHOOK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

enum store_err {
	STORE_OK = 0,
	STORE_DUPLICATE,   /* (source, delivery id) already stored */
	STORE_BUSY,        /* queue over its bound: try again later */
	STORE_UNAVAILABLE, /* disk full, read-only, I/O error, closing */
	STORE_ERR_ARG,     /* caller error (too long, NULL) */
	STORE_ERR__MAX
};

enum store_engine {
	STORE_SQLITE = 0,  /* store_open's where: the database file */
	STORE_POSTGRESQL   /* where: a libpq connection string or URI
	                    * without a password */
};

struct store_opts {
	enum store_engine engine; /* default STORE_SQLITE */
	const char *password;     /* PostgreSQL: borrowed, copied by
	                           * store_open; NULL = none (or libpq's own
	                           * means: .pgpass, peer, certificates) */
	int lease_s;     /* PostgreSQL: a worker's claim on an event lasts
	                  * this long unless renewed (default 60) */
	int batch_rows;  /* most rows in one commit (default 64) */
	int batch_us;    /* how long the writer waits for more rows (default 200) */
	int queue_max;   /* pending rows before STORE_BUSY (default 4096) */
	int readonly;    /* open for inspection only (CLI) */
	int direct;      /* worker/CLI: read-write, no writer thread, no
	                  * store_put (ingress only) */
	int checkpoint_pages; /* WAL size (pages) that wakes the background
	                       * checkpointer (default 1000) */
	int retention_days; /* prune processed events older than this
	                     * (hourly, in the background); 0 = never */
};

/* One event as ingress hands it over.  All fields borrowed. */
struct store_event_in {
	const char *source;
	const char *delivery_id;
	time_t received;
	time_t signed_at;           /* the sender's signed timestamp, 0 if
	                             * the signature covers none */
	const char *headers_json;   /* the headers that matter, no secrets */
	const unsigned char *body;
	size_t body_len;
};

/* One stored event as the CLI sees it.  Owned by the caller after get. */
struct store_event {
	int64_t id;
	char *source;
	char *delivery_id;
	time_t received;
	char *state;                /* "pending", "done", "dead", ... */
	int attempts;
	char *last_error;           /* NULL if none */
	char *headers_json;
	unsigned char *body;
	size_t body_len;
	char *subject;              /* NULL until the worker normalised it */
	time_t effective_at;        /* 0 if unknown */
	time_t next_attempt;
	int approved;               /* released by `events approve` */
	time_t signed_at;           /* signed timestamp, 0 if none */
	int batched;                /* one entry of a split batch */
	size_t batch_index;         /* that entry (0-based) when batched */
};

/* One audit row: a Zendesk write (or a decision not to write). */
struct store_audit {
	int64_t event_id;           /* 0 for CLI-initiated changes */
	const char *subject;
	const char *action;         /* e.g. "update_role", "entitlements_off" */
	const char *rule;           /* matched rule or NULL */
	const char *policy_hash;
	const char *before;         /* JSON text or NULL */
	const char *after;          /* JSON text or NULL */
	int http_status;            /* 0 if no request was made */
	const char *zendesk_user;   /* user id as text, or NULL */
	const char *request;        /* "PUT /api/v2/users/1.json" or NULL */
	const char *provenance;     /* JSON text: where a rehire's restored
	                             * values came from (plan.h), or NULL */
};

/* What the worker remembers per person (subject). */
struct store_subject {
	char *key;
	int64_t last_event_id;
	time_t last_effective;
	char *snapshot;             /* access at leave time (JSON), or NULL */
	time_t snapshot_at;
	/*
	 * The person's place between leave and hire (decide_order): the
	 * applied terminate that made them a leaver (0: in post, or not
	 * known) and its signed decision time (0: none), and the last
	 * applied hire or rehire and its time.
	 */
	int64_t left_event;
	time_t left_at;
	int64_t hired_event;
	time_t hired_at;
};

/*
 * Opens (creating and migrating) the store at where: a SQLite file, or a
 * PostgreSQL connection string (opts->engine).  On failure returns -1
 * with err filled (never the password).  *out is freed with
 * store_close().
 */
int store_open(const char *where, const struct store_opts *opts,
    struct store **out, char *err, size_t errlen);

/* "sqlite" or "postgresql" (static text). */
const char *store_engine_name(const struct store *st);

/*
 * Flushes what is queued, stops the writer, closes.  NULL is a no-op.
 */
void store_close(struct store *st);

/*
 * Stores ev durably.  Blocks until the batch holding it is committed.
 * STORE_OK: stored, *id is the new event id.  STORE_DUPLICATE: it was
 * there already (or was, and has been pruned: keys outlive their events,
 * so a captured request cannot come back after retention), *id is the
 * existing id.  Other values: nothing stored.
 */
enum store_err store_put(struct store *st, const struct store_event_in *ev,
    int64_t *id);

/*
 * Deletes processed events (done, ignored, stale, cancelled) received
 * before cutoff; pending events and dead letters are never pruned.  Sets
 * *deleted (may be NULL).  Returns 0, or -1 on error or a read-only
 * store.  serve calls this hourly with store.retention_days.
 */
int store_prune(struct store *st, time_t cutoff, long *deleted);

/*
 * Calls fn with the number of events in each state (for /metrics).
 * Returns 0 or -1.
 */
int store_count_states(struct store *st,
    void (*fn)(const char *state, long count, void *), void *arg);

/*
 * Returns 0 if the store accepts writes, -1 if the last commit failed
 * (or, on PostgreSQL, the idle probe found the server unreachable or
 * read-only) and it has not recovered yet (for /healthz).  reason (may
 * be NULL) gets static text: "disk full", "database unreachable", ...
 */
int store_healthy(struct store *st, const char **reason);

/*
 * Calls fn for events matching the filters (NULL = any), newest first,
 * at most limit rows.  Body is not loaded.  Returns 0 or -1.
 */
int store_list(struct store *st, const char *state, const char *source,
    int limit, void (*fn)(const struct store_event *, void *), void *arg);

/*
 * Loads one event with its body.  Returns 0 and fills *ev (free with
 * store_event_clear), 1 if there is no such id, -1 on error.
 */
int store_get(struct store *st, int64_t id, struct store_event *ev);

/* Frees what store_get filled.  Safe on a zeroed struct. */
void store_event_clear(struct store_event *ev);

/*
 * Worker API (store opened with opts.direct).  All return 0 on success,
 * -1 on a database error; a missing id is an error too.
 */

/*
 * Fills ids[0..limit) with pending events not yet normalised (subject
 * NULL), oldest first; *n gets the count.  Returns 0 or -1.
 */
int store_unclassified(struct store *st, int limit, int64_t *ids, int *n);

/*
 * Splits a pending, unsplit event whose body holds count (2..100000)
 * people (normalize_nth) into count child events, in ONE transaction:
 * same source, body, headers, received and signed_at, delivery id
 * "<parent's>#<i>", batch_index i, state pending, ids ascending with i;
 * the parent becomes done with the note "batch of N: events A..B".
 * Idempotent: children already there are kept, not doubled.  *first and
 * *last (may be NULL) get A and B.  Returns 0, or -1 with nothing
 * changed (database error, no such pending parent, or a child's key
 * held by an event that is not that child).
 */
int store_split(struct store *st, int64_t id, size_t count, int64_t *first,
    int64_t *last);

/*
 * Calls fn for up to limit events that are due: state pending or retry,
 * next_attempt <= now, id > after_id, subject set, and no earlier
 * unfinished event of the same subject; in id order, with bodies.  The
 * event is borrowed for the call.  fn returns 0 to go on, non-zero to
 * stop.  Returns the number of events passed to fn, or -1.
 *
 * On PostgreSQL, where many workers share the store, the events passed
 * are claimed for this store handle (FOR UPDATE SKIP LOCKED) for
 * opts.lease_s seconds, renewed in the background while the handle is
 * open; an event claimed by another live handle is not due, nor is any
 * event of a person one of whose events another handle holds.
 * store_set_subject, store_wait, store_finish, store_retry and
 * store_hold release the claim (and fail, changing nothing, on an event
 * another handle has claimed since); store_close releases the rest.
 * store_unclassified claims the same way.  On SQLite (one worker per
 * store) nothing is claimed.
 *
 * fn runs without the store's lock and may call the store; store_due
 * itself is not to be called from inside another store callback (fn of
 * store_list, store_audit_list, ...), where the lock is already held.
 */
int store_due(struct store *st, time_t now, int64_t after_id, int limit,
    int (*fn)(const struct store_event *, void *), void *arg);

/*
 * Records what normalising found: the subject key, effective time and
 * event kind ("hire", "terminate", ...; may be NULL).
 */
int store_set_subject(struct store *st, int64_t id, const char *subject,
    time_t effective_at, const char *kind);

/*
 * Parks an event until its effective date: state "waiting", due at
 * until.  A waiting event does not hold the person's later events back.
 */
int store_wait(struct store *st, int64_t id, time_t until, const char *note);

/*
 * A new future-dated event moves the person's plan: earlier waiting
 * events of the same subject and kind are cancelled.  *n gets how many.
 */
int store_supersede(struct store *st, int64_t id, const char *subject,
    const char *kind, long *n);

/*
 * Cancels an event that has not finished (pending, waiting, retry,
 * held).  Returns 0, 1 if there is no such unfinished event, -1.
 */
int store_cancel(struct store *st, int64_t id);

/*
 * Ends an event: state is "done", "ignored", "stale", "cancelled" or
 * "dead"; note (may be NULL) goes to last_error.
 */
int store_finish(struct store *st, int64_t id, const char *state,
    const char *note);

/* Schedules another attempt: state retry, attempts + 1. */
int store_retry(struct store *st, int64_t id, time_t next_attempt,
    const char *error);

/*
 * Puts a dead (or any finished) event back to pending with attempts 0,
 * for `rolehook events retry`.  Returns 0, 1 if no such event, -1.
 */
int store_requeue(struct store *st, int64_t id);

/*
 * Puts finished events (done, ignored, stale, dead) received at or
 * after since back to pending -- of each person only the newest, which
 * alone decides their state -- in one transaction, and clears those
 * people's "last applied" time so the replayed event is not stale.  With dry_run,
 * only counts.  *count gets the number of events.  Returns 0 or -1.
 */
int store_replay(struct store *st, time_t since, int dry_run, long *count);

/*
 * Calls fn for the events store_replay would take (with bodies), oldest
 * first; fn returns non-zero to stop.  The store is not changed.
 */
int store_replay_list(struct store *st, time_t since,
    int (*fn)(const struct store_event *, void *), void *arg);

/*
 * Holds an event (state "held", why in last_error): the blast-radius
 * guard stopped it.  Held events are not due until approved.
 */
int store_hold(struct store *st, int64_t id, const char *why);

/*
 * Releases a held event, or an update ignored because the person had
 * left (note "left: ..."): pending again, marked approved so the guard
 * lets it through and, for the update, the leave ends (decide.h,
 * DECIDE_AS_HIRE).  Returns 0, 1 if there is no such event id, -1.
 */
int store_approve(struct store *st, int64_t id);

/*
 * Number of successful audit rows with this action since the time given
 * (the guard's hourly counts), or -1 on error.
 */
long store_audit_count(struct store *st, const char *action, time_t since);

/*
 * The blast-radius guard across processes.  store_guard_lock takes a
 * lock that every worker on the store shares (PostgreSQL: an advisory
 * lock) and returns 0, or -1 on error; store_guard_unlock releases it.
 * store_guard_reserve adds delta (may be negative) to this handle's
 * reservation of writes of action that have no audit row yet; on
 * PostgreSQL store_audit_count adds the live reservations of every
 * other handle.  Lock, count, reserve, unlock: no two workers can both
 * take the last write the limit allows.  SQLite (one worker per store):
 * no-ops that return 0.
 */
int store_guard_lock(struct store *st);
void store_guard_unlock(struct store *st);
int store_guard_reserve(struct store *st, const char *action, long delta);

/* Appends an audit row; *audit_id (may be NULL) gets its id. */
int store_audit_add(struct store *st, const struct store_audit *a,
    int64_t *audit_id);

/*
 * Calls fn for the audit rows of a subject (or of a Zendesk user id when
 * subject starts with "zendesk_user:"), oldest first.  Strings are
 * borrowed for the call.
 */
int store_audit_list(struct store *st, const char *subject,
    void (*fn)(int64_t id, time_t at, const struct store_audit *, void *),
    void *arg);

/*
 * Loads a subject's state: 0 and *out filled (free with
 * store_subject_clear), 1 if unknown, -1 on error.
 */
int store_subject_get(struct store *st, const char *key,
    struct store_subject *out);

/* Inserts or replaces a subject's state. */
int store_subject_put(struct store *st, const struct store_subject *s);

/* Frees what store_subject_get filled.  Safe on a zeroed struct. */
void store_subject_clear(struct store_subject *s);

/* "ok", "duplicate", ... */
const char *store_strerror(enum store_err e);

#endif
