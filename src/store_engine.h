/*
 * store_engine.h -- what store.c dispatches to.  Internal to the store
 * module: the engines' entry points, one set per engine, with the
 * contracts of store.h, except: store.c checks store_put's event and
 * its queue is the one open returned; prune always gets its out
 * pointer.  Nothing outside src/store*.c includes this.
 *
 * What is the same on both engines is written once in store.c: which
 * values each statement binds, what its result means, which run in one
 * transaction, and how a row becomes a struct.  An engine holds its own
 * SQL text for each statement of enum store_sql and runs it through its
 * exec or query; the claims and the group commit stay with the engines.
 */
#ifndef ROLEHOOK_STORE_ENGINE_H
#define ROLEHOOK_STORE_ENGINE_H

#include <pthread.h>

#include "rolehook/store.h"

struct sqlite_store;
struct pg_store;
struct store_queue;

/*
 * The statements store.c runs, with the values it binds at parameters
 * 1, 2, ... in the order given, and for a read the columns a row has.
 * An engine's SQL for each must take exactly these.
 */
enum store_sql {
	/* Writes (exec: the rows changed). */
	STORE_SQL_SET_SUBJECT,	/* id, subject, effective_at, kind */
	STORE_SQL_WAIT,		/* id, until, note */
	STORE_SQL_SUPERSEDE,	/* id, subject, kind, note */
	STORE_SQL_CANCEL,	/* id */
	STORE_SQL_FINISH,	/* id, state, note */
	STORE_SQL_RETRY,	/* id, next_attempt, error */
	STORE_SQL_REQUEUE,	/* id */
	STORE_SQL_HOLD,		/* id, why */
	STORE_SQL_APPROVE,	/* id */
	STORE_SQL_AUDIT_ADD,	/* STORE_AUDIT_FIELDS; the new id */
	STORE_SQL_SUBJECT_PUT,	/* STORE_SUBJECT_COLS */
	STORE_SQL_SPLIT_CHILD,	/* parent id, index: insert the child */
	STORE_SQL_SPLIT_DONE,	/* parent id, note */
	STORE_SQL_REPLAY_FORGET, /* since: the people's last_effective */
	STORE_SQL_REPLAY,	/* since: the events pending again */
	/* Reads (query: row by row). */
	STORE_SQL_COUNT_STATES,	/* -> state, count */
	STORE_SQL_LIST,		/* state, source, limit (NULL: no limit)
				 * -> STORE_EVENT_COLS, the body not read */
	STORE_SQL_GET,		/* id -> STORE_EVENT_COLS */
	STORE_SQL_REPLAY_LIST,	/* since -> STORE_EVENT_COLS, by id */
	STORE_SQL_AUDIT_COUNT,	/* action, since -> count */
	STORE_SQL_AUDIT_SUBJECT, /* subject -> STORE_AUDIT_COLS, by id */
	STORE_SQL_AUDIT_USER,	/* zendesk_user -> the same */
	STORE_SQL_SUBJECT_GET,	/* key -> STORE_SUBJECT_COLS */
	STORE_SQL_SPLIT_FIND,	/* parent id, index -> the child's id */
	STORE_SQL_REPLAY_COUNT,	/* since -> count */
	STORE_SQL__MAX
};

/*
 * The columns store_fill_event reads, in its order; the body (column
 * 8) is given so that a list can leave it out.
 */
#define STORE_EVENT_COLS_BODY(body) "id, source, delivery_id, received," \
	" state, attempts, last_error, headers, " body ", subject," \
	" effective_at, next_attempt, approved, signed_at, batch_index"
#define STORE_EVENT_COLS STORE_EVENT_COLS_BODY("body")
/* An audit row: its id, then the fields STORE_SQL_AUDIT_ADD binds, so
 * that column n is parameter n. */
#define STORE_AUDIT_FIELDS "at, event_id, subject, action, rule," \
	" policy_hash, before, after, http_status, zendesk_user, request," \
	" provenance"
#define STORE_AUDIT_COLS "id, " STORE_AUDIT_FIELDS
/* A subject row, as STORE_SQL_SUBJECT_PUT binds it. */
#define STORE_SUBJECT_COLS "key, last_event_id, last_effective, snapshot," \
	" snapshot_at, left_event, left_at, hired_event, hired_at"

/*
 * What `events approve` releases: an event the blast-radius guard holds,
 * or an update work ignored because the person had left (its note starts
 * "left:", decide_order): approved, it gives the leaver access back.
 */
#define STORE_APPROVABLE "(state = 'held' OR (state = 'ignored' AND" \
	" last_error LIKE 'left:%'))"

/*
 * The migration to schema 7 fills the new subjects columns from the
 * events still stored (retention prunes them): a person whose newest
 * applied terminate is newer than their newest applied hire or rehire
 * has left.  The times are not known (NULL, read as 0), so the arrival
 * order stands in for them (decide_order).  Both engines run it.
 */
#define STORE_LIFECYCLE_SQL \
	"UPDATE subjects SET left_event = (SELECT max(e.id) FROM events e" \
	" WHERE e.subject = subjects.key AND e.kind = 'terminate' AND" \
	" e.state = 'done'), hired_event = (SELECT max(e.id) FROM events e" \
	" WHERE e.subject = subjects.key AND e.kind IN ('hire', 'rehire')" \
	" AND e.state = 'done');" \
	"UPDATE subjects SET left_event = NULL WHERE left_event <" \
	" coalesce(hired_event, 0);"

/* A value bound to a parameter: a number, or text (NULL binds NULL). */
struct store_val {
	const char	*text;
	int64_t		 num;
	int		 is_num;
};
#define STORE_TEXT(t)	{ (t), 0, 0 }
#define STORE_NUM(n)	{ NULL, (int64_t)(n), 1 }

/*
 * One row of a result, read through its engine's ops.  text is NULL
 * for NULL and lives as long as the row; bytes returns a malloc'd copy
 * with a NUL after it, or NULL if out of memory.
 */
struct store_row;
struct store_row_ops {
	int		 (*null)(const struct store_row *, int col);
	int64_t		 (*num)(const struct store_row *, int col);
	const char	*(*text)(const struct store_row *, int col);
	unsigned char	*(*bytes)(const struct store_row *, int col,
			    size_t *len);
};
struct store_row {
	const struct store_row_ops *ops;
	void		*res;	/* sqlite3_stmt, or PGresult */
	int		 i;	/* the row in res (PostgreSQL) */
};

/*
 * Fills *ev (cleared first) from a row of STORE_EVENT_COLS; the body
 * only if with_body.  The caller frees with store_event_clear.
 */
void store_fill_event(const struct store_row *r, struct store_event *ev,
    int with_body);

/*
 * Initialises the lock of an engine's direct connection: recursive, so
 * that the exec and query calls of a transaction take it again.
 */
void store_lock_init(pthread_mutex_t *m);

/* Each engine's open: *out is that engine's handle, *queue its group
 * commit (store_queue.h), where store_put and store_healthy go. */
int store_sqlite_open(const char *path, const struct store_opts *opts,
    struct sqlite_store **out, struct store_queue **queue, char *err,
    size_t errlen);
int store_pg_open(const char *conninfo, const struct store_opts *opts,
    struct pg_store **out, struct store_queue **queue, char *err,
    size_t errlen);

/*
 * Runs the engine's write op with vals at parameters 1..n.  Returns the
 * rows it changed, or -1; *new_id (may be NULL) gets the id of the row
 * it inserted.
 */
long store_sqlite_exec(struct sqlite_store *st, enum store_sql op, const
    struct store_val *vals, int n, int64_t *new_id);
long store_pg_exec(struct pg_store *st, enum store_sql op, const struct
    store_val *vals, int n, int64_t *new_id);

/*
 * Runs the engine's read op with vals at parameters 1..n and calls fn
 * on each row until it returns non-zero.  Returns 0 (every row, or fn
 * stopped), or -1.
 */
int store_sqlite_query(struct sqlite_store *st, enum store_sql op, const
    struct store_val *vals, int n, int (*fn)(const struct store_row *,
    void *), void *arg);
int store_pg_query(struct pg_store *st, enum store_sql op, const struct
    store_val *vals, int n, int (*fn)(const struct store_row *, void *),
    void *arg);

/*
 * Takes the direct connection for one transaction (SQLite: BEGIN
 * IMMEDIATE), in which this thread's exec and query calls run until end
 * commits it (commit non-zero) or rolls it back, and gives the
 * connection back; other threads wait.  begin returns 0, or -1 (nothing
 * taken); end returns 0, or -1 if the commit failed (rolled back).
 */
int store_sqlite_begin(struct sqlite_store *st);
int store_sqlite_end(struct sqlite_store *st, int commit);
int store_pg_begin(struct pg_store *st);
int store_pg_end(struct pg_store *st, int commit);

void store_sqlite_close(struct sqlite_store *st);
int store_sqlite_prune(struct sqlite_store *st, time_t cutoff, long
    *deleted);
int store_sqlite_unclassified(struct sqlite_store *st, int limit, int64_t
    *ids, int *n);
int store_sqlite_due(struct sqlite_store *st, time_t now, int64_t after_id,
    int limit, int (*fn)(const struct store_event *, void *), void *arg);

void store_pg_close(struct pg_store *st);
int store_pg_prune(struct pg_store *st, time_t cutoff, long *deleted);
int store_pg_unclassified(struct pg_store *st, int limit, int64_t *ids, int
    *n);
int store_pg_due(struct pg_store *st, time_t now, int64_t after_id, int
    limit, int (*fn)(const struct store_event *, void *), void *arg);
int store_pg_guard_lock(struct pg_store *st);
void store_pg_guard_unlock(struct pg_store *st);
int store_pg_guard_reserve(struct pg_store *st, const char *action, long
    delta);

#endif
