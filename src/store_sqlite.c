/*
 * store_sqlite.c -- the SQLite engine of the durable inbox (store.h;
 * store.c dispatches to it).
 *
 * Durability: WAL with synchronous=FULL, so COMMIT returns only after the
 * WAL is fsync'd (SQLite "PRAGMA synchronous": FULL syncs the WAL on every
 * commit).  Throughput: one writer thread owns the write connection and
 * commits whatever rows are queued as one transaction (group commit);
 * each caller sleeps until its own batch is committed, so a 2xx is never
 * sent for a row that is not on disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "rolehook/codec.h"
#include "rolehook/log.h"
#include "rolehook/monotime.h"
#include "rolehook/store.h"
#include "store_engine.h"
#include "store_queue.h"

#define SCHEMA_VERSION 7
#define STR_(x) #x
#define STR(x) STR_(x)
#define BUSY_TIMEOUT_MS 5000

struct sqlite_store {
	char *path;
	struct store_opts opts;
	sqlite3 *wdb;             /* writer connection (writer thread only) */
	sqlite3_stmt *ins;
	sqlite3_stmt *dup;
	sqlite3 *rdb;             /* reader connection (CLI, guarded by rlock) */
	pthread_mutex_t rlock;    /* recursive (store_lock_init) */
	sqlite3_stmt *stmt[STORE_SQL__MAX]; /* kept on rdb (stmt_get) */

	/* Group commit (store_queue.h); its lock also guards ckpt_wanted,
	 * and its closing stops the checkpointer. */
	struct store_queue q;
	int need_reopen;          /* writer thread only */

	/* Checkpoints run on their own thread and connection (see ckpt_main). */
	sqlite3 *cdb;
	pthread_t ckpt;
	int ckpt_started;
	int ckpt_wanted;          /* guarded by q.lock; waited for on q.bg_cv */
};



/*
 * Migrations: index i takes the schema from version i to i+1.  Never
 * edit a migration that has shipped; add a new one.
 */
static const char *const migrations[] = {
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  received INTEGER NOT NULL,"
	"  headers TEXT NOT NULL DEFAULT '{}',"
	"  body BLOB NOT NULL,"
	"  subject TEXT,"
	"  effective_at INTEGER,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  UNIQUE (source, delivery_id));"
	"CREATE INDEX events_state ON events (state, next_attempt);"
	"CREATE INDEX events_subject ON events (subject, id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  event_id INTEGER,"
	"  subject TEXT,"
	"  action TEXT NOT NULL,"
	"  rule TEXT,"
	"  policy_hash TEXT,"
	"  before TEXT,"
	"  after TEXT,"
	"  http_status INTEGER);"
	"CREATE INDEX audit_subject ON audit (subject, id);"
	"CREATE TABLE subjects ("
	"  key TEXT PRIMARY KEY,"
	"  last_event_id INTEGER,"
	"  last_effective INTEGER,"
	"  snapshot TEXT);",
	/* 1 -> 2: what the worker writes. */
	"ALTER TABLE audit ADD COLUMN zendesk_user TEXT;"
	"ALTER TABLE audit ADD COLUMN request TEXT;"
	"CREATE INDEX audit_zendesk_user ON audit (zendesk_user, id);"
	"ALTER TABLE subjects ADD COLUMN snapshot_at INTEGER;",
	/* 2 -> 3: the blast-radius guard.  (Parenthesised: one element.) */
	("ALTER TABLE events ADD COLUMN approved INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX audit_action_at ON audit (action, at);"),
	/* 3 -> 4: effective dates (an event's kind, to move a waiting one). */
	"ALTER TABLE events ADD COLUMN kind TEXT;",
	/*
	 * 4 -> 5: the subject is unknown when serve inserts an event, so the
	 * subject index skips NULLs: one b-tree fewer per insert (and per
	 * group commit page write).  Lookups are all "subject = x".
	 */
	("DROP INDEX events_subject;"
	"CREATE INDEX events_subject ON events (subject, id)"
	" WHERE subject IS NOT NULL;"),
	/*
	 * 5 -> 6: trust boundary.  signed_at: the sender's timestamp when
	 * the signature covers it (the only time that may order events; the
	 * receive time is not signed).  seen: the dedupe keys of pruned
	 * events, so a captured request is a duplicate forever, not only
	 * for store.retention_days.  audit.provenance: where a rehire's
	 * restored values came from (a snapshot never raises access).
	 */
	("ALTER TABLE events ADD COLUMN signed_at INTEGER;"
	"CREATE TABLE seen ("
	"  source TEXT NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  event_id INTEGER NOT NULL,"
	"  PRIMARY KEY (source, delivery_id)) WITHOUT ROWID;"
	"ALTER TABLE audit ADD COLUMN provenance TEXT;"
	/*
	 * Events stored before 6 were keyed by an id header that may not
	 * have been signed: their body hashes are taken too, so a replay of
	 * an old body is a duplicate after the upgrade as well.
	 */
	"INSERT OR IGNORE INTO seen (source, delivery_id, event_id)"
	"  SELECT source, 'sha256:' || rolehook_sha256(body), id FROM events"
	"  WHERE delivery_id NOT LIKE 'sha256:%';"
	"CREATE TRIGGER events_seen BEFORE DELETE ON events BEGIN"
	"  INSERT OR IGNORE INTO seen (source, delivery_id, event_id)"
	"  VALUES (old.source, old.delivery_id, old.id);"
	" END;"
	/*
	 * batch_index: the entry of a batched delivery (BambooHR
	 * {"employees": [...]}) that this event stands for, NULL for an
	 * ordinary event.  store_split() writes it.  (6 has not shipped:
	 * added here, not as a 7.)
	 */
	"ALTER TABLE events ADD COLUMN batch_index INTEGER;"),
	/* 6 -> 7: leave and hire (store_subject); see STORE_LIFECYCLE_SQL. */
	("ALTER TABLE subjects ADD COLUMN left_event INTEGER;"
	"ALTER TABLE subjects ADD COLUMN left_at INTEGER;"
	"ALTER TABLE subjects ADD COLUMN hired_event INTEGER;"
	"ALTER TABLE subjects ADD COLUMN hired_at INTEGER;"
	STORE_LIFECYCLE_SQL),
};

static int
exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (err != NULL)
			snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*v = sqlite3_column_int(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * rolehook_sha256(blob): lower-case hex SHA-256, the key ingress gives a
 * body without a signed id (migration 5 -> 6 keys older events so).
 */
static void
sql_sha256(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[2 * sizeof(md) + 1];
	const void *b;
	int n;

	(void)argc;
	n = sqlite3_value_bytes(argv[0]);
	b = sqlite3_value_blob(argv[0]);
	if (EVP_Digest(b != NULL ? b : "", (size_t)n, md, &mdlen,
	    EVP_sha256(), NULL) != 1 || mdlen != sizeof(md)) {
		sqlite3_result_error(ctx, "sha256 failed", -1);
		return;
	}
	codec_hex_encode(md, sizeof(md), hex);
	sqlite3_result_text(ctx, hex, (int)(2 * sizeof(md)), SQLITE_TRANSIENT);
}

/*
 * Brings the schema to SCHEMA_VERSION in one transaction.  A database
 * that is current is only read: the writer reopens its connection after
 * a failed commit, and on a full or read-only disk that reopen must not
 * fail on a write it does not need (the reason would read "cannot open").
 */
static int
migrate(sqlite3 *db, char *err, size_t errlen, int *code)
{
	char sql[64];
	int v, i;

	if (code != NULL)
		*code = SQLITE_OK;
	if (user_version(db, &v) == 0 && v == SCHEMA_VERSION)
		return 0;
	if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) != 0) {
		if (code != NULL)
			*code = sqlite3_errcode(db);
		return -1;
	}
	if (user_version(db, &v) != 0) {
		snprintf(err, errlen, "cannot read schema version: %s",
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen,
		    "database schema version %d is newer than this rolehook "
		    "(%d): upgrade rolehook", v, SCHEMA_VERSION);
		goto fail;
	}
	if (sqlite3_create_function(db, "rolehook_sha256", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC, NULL, sql_sha256, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		goto fail;
	}
	for (i = v; i < SCHEMA_VERSION; i++)
		if (exec_sql(db, migrations[i], err, errlen) != 0)
			goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec_sql(db, sql, err, errlen) != 0 ||
	    exec_sql(db, "COMMIT", err, errlen) != 0)
		goto fail;
	return 0;
fail:
	/* The cause, before ROLLBACK replaces it. */
	if (code != NULL)
		*code = sqlite3_errcode(db);
	exec_sql(db, "ROLLBACK", NULL, 0);
	return -1;
}

/*
 * Switches a connection to WAL.  On a new database that another process
 * is creating at the same moment (serve and work start together), this
 * returns SQLITE_BUSY at once, without the busy handler: retry for up to
 * BUSY_TIMEOUT_MS.
 */
static int
set_wal(sqlite3 *db, char *err, size_t errlen)
{
	struct timespec ts = { 0, 10 * 1000000L };
	int waited = 0;

	for (;;) {
		if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL,
		    NULL) == SQLITE_OK)
			return 0;
		if ((sqlite3_errcode(db) & 0xff) != SQLITE_BUSY ||
		    waited >= BUSY_TIMEOUT_MS)
			break;
		nanosleep(&ts, NULL);
		waited += 10;
	}
	snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	return -1;
}

/*
 * Opens one connection.  On failure returns -1 with err filled and, if
 * code is not NULL, SQLite's result code there (disk full, read-only).
 */
static int
open_conn_code(const char *path, int readonly, sqlite3 **out, char *err,
    size_t errlen, int *code)
{
	sqlite3 *db = NULL;
	int flags = readonly ? SQLITE_OPEN_READONLY :
	    (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc;

	*out = NULL;
	/*
	 * serve and work run as two users sharing a group (deploy/systemd):
	 * whichever starts first creates the database, and the other must be
	 * able to write it.  SQLite would create it 0644 (0640 under a umask
	 * of 0007) and its -wal and -shm files with the same mode, so the file
	 * is created here, 0660 less the umask; an existing file keeps its
	 * mode.  O_EXCL: an existing file must not be opened and closed here,
	 * since close() drops every POSIX lock this process holds on it,
	 * SQLite's included (the other connections would stop seeing ours).
	 */
	if (!readonly) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);

		if (fd >= 0)
			close(fd);
	}
	if ((rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX,
	    NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		if (code != NULL)
			*code = rc;
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	/*
	 * A small page cache per connection (SQLite's default is 2 MiB):
	 * the writer appends, readers page through, and serve has three
	 * connections whose caches count against its memory budget.
	 */
	if (exec_sql(db, "PRAGMA cache_size=-512", err, errlen) != 0 ||
	    (!readonly && (set_wal(db, err, errlen) != 0 ||
	    exec_sql(db, "PRAGMA synchronous=FULL", err, errlen) != 0)))
		goto fail;
	/*
	 * SQLite opens a file it may not write read-only without a word;
	 * the first commit would fail.  Say so now (a store left 0640 by
	 * another user, a read-only file system).
	 */
	if (!readonly && sqlite3_db_readonly(db, "main") == 1) {
		snprintf(err, errlen, "%s: database is read-only for this user "
		    "(check its owner, group and mode, and the file system)",
		    path);
		if (code != NULL)
			*code = SQLITE_READONLY;
		sqlite3_close(db);
		return -1;
	}
	*out = db;
	return 0;
fail:
	if (code != NULL)
		*code = sqlite3_errcode(db);
	sqlite3_close(db);
	return -1;
}

static int
open_conn(const char *path, int readonly, sqlite3 **out, char *err,
    size_t errlen)
{
	return open_conn_code(path, readonly, out, err, errlen, NULL);
}

/*
 * sqlite3_wal_hook callback, run by the writer after each commit: asks
 * the checkpointer for a checkpoint once the WAL holds checkpoint_pages.
 * Called with st->q.lock not held.
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sqlite_store *st = arg;

	(void)db;
	(void)name;
	if (pages >= st->opts.checkpoint_pages) {
		pthread_mutex_lock(&st->q.lock);
		if (!st->ckpt_wanted) {
			st->ckpt_wanted = 1;
			pthread_cond_signal(&st->q.bg_cv);
		}
		pthread_mutex_unlock(&st->q.lock);
	}
	return SQLITE_OK;
}

/*
 * Checkpointer thread.  SQLite's automatic checkpoint runs inside the
 * COMMIT that crosses the threshold, so every request in that batch
 * would wait for the database file's writes and fsync.  Here a PASSIVE
 * checkpoint (never blocks the writer; sqlite.org/wal.html section 6)
 * runs beside the writer on a second connection instead.  Durability is
 * unchanged: the WAL was already synced by the commit.
 */
/*
 * Deletes processed events received before cutoff, in short
 * transactions so the writer never waits long for the lock.  Dead
 * letters and anything not yet processed are kept whatever their age.
 */
static int
prune_on(sqlite3 *db, time_t cutoff, long *deleted)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, n;

	*deleted = 0;
	if (sqlite3_prepare_v2(db, "DELETE FROM events WHERE id IN ("
	    "SELECT id FROM events WHERE received < ?1 AND state IN "
	    "('done', 'ignored', 'stale', 'cancelled') LIMIT 1000)", -1, &s,
	    NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)cutoff);
	do {
		if (sqlite3_step(s) != SQLITE_DONE)
			goto out;
		n = sqlite3_changes(db);
		*deleted += n;
		sqlite3_reset(s);
	} while (n > 0);
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

#define PRUNE_EVERY_S 3600

/*
 * Checkpointer thread.  SQLite's automatic checkpoint runs inside the
 * COMMIT that crosses the threshold, so every request in that batch
 * would wait for the database file's writes and fsync.  Here a PASSIVE
 * checkpoint (never blocks the writer; sqlite.org/wal.html section 6)
 * runs beside the writer on a second connection instead.  Durability is
 * unchanged: the WAL was already synced by the commit.  The same thread
 * prunes old processed events once an hour (store.retention_days).
 */
static void *
ckpt_main(void *arg)
{
	struct sqlite_store *st = arg;
	struct timespec next;
	int logpages = 0, done = 0, due;
	long deleted;
	char nbuf[32];

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&st->q.lock);
	for (;;) {
		due = 0;
		while (!st->ckpt_wanted && !st->q.closing && !due)
			due = pthread_cond_timedwait(&st->q.bg_cv, &st->q.lock,
			    &next) == ETIMEDOUT;
		if (st->q.closing)
			break;
		st->ckpt_wanted = 0;
		pthread_mutex_unlock(&st->q.lock);
		if (due && st->opts.retention_days > 0) {
			if (prune_on(st->cdb, time(NULL) -
			    (time_t)st->opts.retention_days * 86400,
			    &deleted) != 0)
				log_kv(LOG_WARN, "prune failed", "error",
				    sqlite3_errmsg(st->cdb), (char *)NULL);
			else if (deleted > 0) {
				snprintf(nbuf, sizeof(nbuf), "%ld", deleted);
				log_kv(LOG_INFO, "pruned processed events",
				    "count", nbuf, (char *)NULL);
			}
		}
		if (due) {
			clock_gettime(CLOCK_MONOTONIC, &next);
			next.tv_sec += PRUNE_EVERY_S;
		}
		if (sqlite3_wal_checkpoint_v2(st->cdb, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &logpages, &done) != SQLITE_OK)
			log_kv(LOG_WARN, "checkpoint failed", "error",
			    sqlite3_errmsg(st->cdb), (char *)NULL);
		pthread_mutex_lock(&st->q.lock);
	}
	pthread_mutex_unlock(&st->q.lock);
	return NULL;
}

static void
close_writer_conn(struct sqlite_store *st)
{
	sqlite3_finalize(st->ins);
	sqlite3_finalize(st->dup);
	sqlite3_close(st->wdb);
	st->ins = st->dup = NULL;
	st->wdb = NULL;
}

/*
 * Opens the writer's connection.  On failure, *code (if not NULL) is
 * SQLite's result code, so that /healthz can say "disk full" rather
 * than "cannot open database" when the reopen is what failed.
 */
static int
open_writer_conn(struct sqlite_store *st, char *err, size_t errlen, int *code)
{
	int c = SQLITE_CANTOPEN;

	if (open_conn_code(st->path, 0, &st->wdb, err, errlen, &c) != 0) {
		if (code != NULL)
			*code = c;
		return -1;
	}
	if (migrate(st->wdb, err, errlen, &c) != 0)
		goto fail;
	/* Checkpoints belong to ckpt_main, not to the writer's COMMIT. */
	sqlite3_wal_autocheckpoint(st->wdb, 0);
	sqlite3_wal_hook(st->wdb, wal_hook, st);
	/*
	 * A key in seen (pruned) is a duplicate too.  The SELECT's WHERE
	 * also keeps the upsert clause unambiguous (sqlite.org/lang_upsert).
	 */
	if (sqlite3_prepare_v3(st->wdb,
	    "INSERT INTO events (source, delivery_id, received, headers, body,"
	    " signed_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS"
	    " (SELECT 1 FROM seen WHERE source = ?1 AND delivery_id = ?2)"
	    " ON CONFLICT (source, delivery_id) DO NOTHING",
	    -1, SQLITE_PREPARE_PERSISTENT, &st->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->wdb,
	    "SELECT id FROM events WHERE source = ?1 AND delivery_id = ?2"
	    " UNION ALL SELECT event_id FROM seen WHERE source = ?1 AND"
	    " delivery_id = ?2",
	    -1, SQLITE_PREPARE_PERSISTENT, &st->dup, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", st->path,
		    sqlite3_errmsg(st->wdb));
		c = sqlite3_errcode(st->wdb);
		goto fail;
	}
	return 0;
fail:
	if (code != NULL)
		*code = (c == SQLITE_OK || c == SQLITE_ROW || c == SQLITE_DONE) ?
		    SQLITE_CANTOPEN : c;
	close_writer_conn(st);
	return -1;
}

/* Inserts one row inside the writer's open transaction. */
static int
insert_one(struct sqlite_store *st, struct store_pending *p)
{
	const struct store_event_in *ev = p->ev;
	int rc;

	sqlite3_reset(st->ins);
	sqlite3_bind_text(st->ins, 1, ev->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->ins, 2, ev->delivery_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->ins, 3, (sqlite3_int64)ev->received);
	sqlite3_bind_text(st->ins, 4, ev->headers_json ? ev->headers_json :
	    "{}", -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st->ins, 5, ev->body ? (const void *)ev->body :
	    (const void *)"", ev->body_len, SQLITE_STATIC);
	if (ev->signed_at > 0)
		sqlite3_bind_int64(st->ins, 6, (sqlite3_int64)ev->signed_at);
	else
		sqlite3_bind_null(st->ins, 6);
	if ((rc = sqlite3_step(st->ins)) != SQLITE_DONE)
		return rc;
	if (sqlite3_changes(st->wdb) == 1) {
		p->id = sqlite3_last_insert_rowid(st->wdb);
		p->result = STORE_OK;
		return SQLITE_OK;
	}
	sqlite3_reset(st->dup);
	sqlite3_bind_text(st->dup, 1, ev->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st->dup, 2, ev->delivery_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st->dup)) != SQLITE_ROW)
		return rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;
	p->id = sqlite3_column_int64(st->dup, 0);
	p->result = STORE_DUPLICATE;
	sqlite3_reset(st->dup);
	return SQLITE_OK;
}

static const char *
reason_for(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return "disk full";
	case SQLITE_READONLY:
		return "database is read-only";
	case SQLITE_IOERR:
		return "I/O error";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "database is locked";
	case SQLITE_CANTOPEN:
		return "cannot open database";
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return "database is corrupt";
	default:
		return "database error";
	}
}

/*
 * The queue's commit (store_commit_fn), on the writer thread: one batch
 * in one BEGIN IMMEDIATE transaction, all or nothing; NULL is a probe.
 */
static int
sqlite_commit(void *engine, struct store_pending *batch, const char **why)
{
	struct sqlite_store *st = engine;
	struct store_pending *p;
	char err[256];
	int rc = SQLITE_OK;

	if (st->wdb == NULL || st->need_reopen) {
		close_writer_conn(st);
		if (open_writer_conn(st, err, sizeof(err), &rc) != 0) {
			if (st->q.healthy) /* probes repeat it every second */
				log_kv(LOG_ERROR, "store reopen failed",
				    "error", err, (char *)NULL);
			if (rc == SQLITE_OK)
				rc = SQLITE_CANTOPEN;
			goto done;
		}
		st->need_reopen = 0;
	}
	if ((rc = sqlite3_exec(st->wdb, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK)
		goto done;
	/*
	 * An empty batch is a health probe: rewriting the schema version
	 * dirties page 1, so the COMMIT must reach the disk like a real one.
	 */
	if (batch == NULL)
		rc = sqlite3_exec(st->wdb, "PRAGMA user_version = "
		    STR(SCHEMA_VERSION), NULL, NULL, NULL);
	for (p = batch; p != NULL; p = p->next)
		if ((rc = insert_one(st, p)) != SQLITE_OK)
			break;
	sqlite3_reset(st->ins);
	sqlite3_reset(st->dup);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(st->wdb, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		if (st->q.healthy)
			log_kv(LOG_ERROR, "store commit failed", "error",
			    sqlite3_errmsg(st->wdb), (char *)NULL);
		sqlite3_exec(st->wdb, "ROLLBACK", NULL, NULL, NULL);
	}
done:
	if (rc == SQLITE_OK)
		return 0;
	*why = reason_for(rc);
	/* A fresh connection clears sticky states (read-only, I/O). */
	st->need_reopen = 1;
	return -1;
}

int
store_sqlite_open(const char *path, const struct store_opts *opts,
    struct sqlite_store **out, struct store_queue **queue, char *err,
    size_t errlen)
{
	struct sqlite_store *st = NULL;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (opts != NULL)
		st->opts = *opts;
	store_queue_defaults(&st->opts);
	/* SQLite's own wal_autocheckpoint default. */
	if (st->opts.checkpoint_pages <= 0)
		st->opts.checkpoint_pages = 1000;
	/* Idle and healthy, SQLite's writer sleeps: a local disk needs no
	 * probe until a commit failed. */
	store_queue_init(&st->q, &st->opts, sqlite_commit, st, 0);
	store_lock_init(&st->rlock);

	if (st->opts.readonly) {
		if (open_conn(path, 1, &st->rdb, err, errlen) != 0)
			goto fail;
		*out = st;
		*queue = &st->q;
		return 0;
	}
	if (st->opts.direct) {
		/* Worker and CLI: one read-write connection, no threads. */
		if (open_conn(path, 0, &st->rdb, err, errlen) != 0 ||
		    migrate(st->rdb, err, errlen, NULL) != 0)
			goto fail;
		*out = st;
		*queue = &st->q;
		return 0;
	}
	if (open_writer_conn(st, err, errlen, NULL) != 0)
		goto fail;
	if (open_conn(path, 0, &st->rdb, err, errlen) != 0 ||
	    open_conn(path, 0, &st->cdb, err, errlen) != 0)
		goto fail;
	if (pthread_create(&st->ckpt, NULL, ckpt_main, st) != 0) {
		snprintf(err, errlen, "cannot start the store checkpoint thread");
		goto fail;
	}
	st->ckpt_started = 1;
	if (store_queue_start(&st->q) != 0) {
		snprintf(err, errlen, "cannot start the store writer thread");
		goto fail;
	}
	*out = st;
	*queue = &st->q;
	return 0;
fail:
	store_sqlite_close(st);
	return -1;
}

void
store_sqlite_close(struct sqlite_store *st)
{
	int i;

	if (st == NULL)
		return;
	store_queue_stop(&st->q);   /* the writer drains the queue */
	if (st->ckpt_started)
		pthread_join(st->ckpt, NULL);
	close_writer_conn(st);
	for (i = 0; i < STORE_SQL__MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->cdb);
	sqlite3_close(st->rdb);
	store_queue_destroy(&st->q);
	pthread_mutex_destroy(&st->rlock);
	free(st->path);
	free(st);
}

int
store_sqlite_prune(struct sqlite_store *st, time_t cutoff, long *deleted)
{
	int rc;

	if (st->opts.readonly)
		return -1;
	/* The reader connection, under its lock: never the writer's. */
	pthread_mutex_lock(&st->rlock);
	rc = prune_on(st->rdb, cutoff, deleted);
	pthread_mutex_unlock(&st->rlock);
	return rc;
}

/* -------------------------------------------------------------- rows */

static int
sq_null(const struct store_row *r, int col)
{
	return sqlite3_column_type(r->res, col) == SQLITE_NULL;
}

static int64_t
sq_num(const struct store_row *r, int col)
{
	return sqlite3_column_int64(r->res, col);
}

static const char *
sq_text(const struct store_row *r, int col)
{
	return (const char *)sqlite3_column_text(r->res, col);
}

static unsigned char *
sq_bytes(const struct store_row *r, int col, size_t *len)
{
	const void *b = sqlite3_column_blob(r->res, col);
	int n = sqlite3_column_bytes(r->res, col);
	unsigned char *p;

	if ((p = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (n > 0 && b != NULL)
		memcpy(p, b, (size_t)n);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

static const struct store_row_ops sq_row = {
	sq_null, sq_num, sq_text, sq_bytes
};

static void
bind_vals(sqlite3_stmt *s, const struct store_val *v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (v[i].is_num)
			sqlite3_bind_int64(s, i + 1, v[i].num);
		else if (v[i].text != NULL)
			sqlite3_bind_text(s, i + 1, v[i].text, -1,
			    SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(s, i + 1);
	}
}

/*
 * Runs the read s with vals at ?1.. and calls fn on each row until it
 * returns non-zero; the caller holds rlock and resets s.  Returns 0
 * (every row, or fn stopped), or -1.
 */
static int
each_row(sqlite3_stmt *s, const struct store_val *vals, int n,
    int (*fn)(const struct store_row *, void *), void *arg)
{
	struct store_row r = { &sq_row, s, 0 };
	int step = SQLITE_DONE, stop = 0;

	bind_vals(s, vals, n);
	while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW)
		stop = fn(&r, arg);
	return (stop || step == SQLITE_DONE) ? 0 : -1;
}

/* ------------------------------------------------------- statements */

/*
 * What replay takes: finished events since ?1, and of each person only
 * the newest one -- it alone decides the state the person should be in,
 * so replaying the history in between would only churn Zendesk.
 */
#define REPLAY_WHERE " e.received >= ?1 AND e.state IN ('done', 'ignored'," \
	" 'stale', 'dead') AND (e.subject IS NULL OR NOT EXISTS (SELECT 1" \
	" FROM events n WHERE n.subject = e.subject AND n.id > e.id AND" \
	" n.received >= ?1 AND n.state IN ('done', 'ignored', 'stale'," \
	" 'dead')))"

/* store.c's statements (store_engine.h): the values they bind are its. */
static const char *const stmts[STORE_SQL__MAX] = {
	[STORE_SQL_SET_SUBJECT] = "UPDATE events SET subject = ?2,"
	    " effective_at = ?3, kind = ?4 WHERE id = ?1",
	[STORE_SQL_WAIT] = "UPDATE events SET state = 'waiting', next_attempt"
	    " = ?2, last_error = ?3 WHERE id = ?1",
	[STORE_SQL_SUPERSEDE] = "UPDATE events SET state = 'cancelled',"
	    " last_error = ?4 WHERE state = 'waiting' AND subject = ?2 AND"
	    " kind = ?3 AND id < ?1",
	[STORE_SQL_CANCEL] = "UPDATE events SET state = 'cancelled',"
	    " last_error = 'cancelled by rolehook events cancel' WHERE id = ?1"
	    " AND state IN ('pending', 'waiting', 'retry', 'held')",
	[STORE_SQL_FINISH] = "UPDATE events SET state = ?2, last_error = ?3,"
	    " attempts = attempts + 1 WHERE id = ?1",
	[STORE_SQL_RETRY] = "UPDATE events SET state = 'retry', last_error ="
	    " ?3, attempts = attempts + 1, next_attempt = ?2 WHERE id = ?1",
	[STORE_SQL_REQUEUE] = "UPDATE events SET state = 'pending', attempts"
	    " = 0, next_attempt = 0 WHERE id = ?1",
	[STORE_SQL_HOLD] = "UPDATE events SET state = 'held', last_error = ?2"
	    " WHERE id = ?1",
	[STORE_SQL_APPROVE] = "UPDATE events SET state = 'pending', approved"
	    " = 1, next_attempt = 0 WHERE id = ?1 AND " STORE_APPROVABLE,
	[STORE_SQL_AUDIT_ADD] = "INSERT INTO audit (" STORE_AUDIT_FIELDS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[STORE_SQL_SUBJECT_PUT] = "INSERT INTO subjects (" STORE_SUBJECT_COLS
	    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (key)"
	    " DO UPDATE SET last_event_id = ?2, last_effective = ?3, snapshot"
	    " = ?4, snapshot_at = ?5, left_event = ?6, left_at = ?7,"
	    " hired_event = ?8, hired_at = ?9",
	[STORE_SQL_SPLIT_CHILD] = "INSERT INTO events (source, delivery_id,"
	    " received, headers, body, signed_at, batch_index, state)"
	    " SELECT source, delivery_id || '#' || ?2, received, headers,"
	    " body, signed_at, ?2, 'pending' FROM events WHERE id = ?1 AND"
	    " batch_index IS NULL AND state = 'pending'"
	    " ON CONFLICT (source, delivery_id) DO NOTHING",
	[STORE_SQL_SPLIT_DONE] = "UPDATE events SET state = 'done',"
	    " last_error = ?2 WHERE id = ?1 AND batch_index IS NULL AND"
	    " state = 'pending'",
	[STORE_SQL_REPLAY_FORGET] = "UPDATE subjects SET last_effective = 0"
	    " WHERE key IN (SELECT subject FROM events WHERE received >= ?1"
	    " AND subject IS NOT NULL)",
	[STORE_SQL_REPLAY] = "UPDATE events AS e SET state = 'pending',"
	    " attempts = 0, next_attempt = 0, last_error = NULL WHERE"
	    REPLAY_WHERE,
	[STORE_SQL_COUNT_STATES] = "SELECT state, count(*) FROM events GROUP"
	    " BY state",
	/* LIMIT -1: no limit. */
	[STORE_SQL_LIST] = "SELECT " STORE_EVENT_COLS " FROM events WHERE"
	    " (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR source = ?2)"
	    " ORDER BY id DESC LIMIT ifnull(?3, -1)",
	[STORE_SQL_GET] = "SELECT " STORE_EVENT_COLS " FROM events e WHERE"
	    " id = ?1",
	[STORE_SQL_REPLAY_LIST] = "SELECT " STORE_EVENT_COLS " FROM events e"
	    " WHERE" REPLAY_WHERE " ORDER BY id",
	[STORE_SQL_AUDIT_COUNT] = "SELECT count(*) FROM audit WHERE action ="
	    " ?1 AND at >= ?2 AND http_status BETWEEN 200 AND 299",
	[STORE_SQL_AUDIT_SUBJECT] = "SELECT " STORE_AUDIT_COLS " FROM audit"
	    " WHERE subject = ?1 ORDER BY id",
	[STORE_SQL_AUDIT_USER] = "SELECT " STORE_AUDIT_COLS " FROM audit"
	    " WHERE zendesk_user = ?1 ORDER BY id",
	[STORE_SQL_SUBJECT_GET] = "SELECT " STORE_SUBJECT_COLS " FROM"
	    " subjects WHERE key = ?1",
	[STORE_SQL_SPLIT_FIND] = "SELECT c.id FROM events c, events p WHERE"
	    " p.id = ?1 AND c.source = p.source AND c.delivery_id ="
	    " p.delivery_id || '#' || ?2 AND c.batch_index = ?2 AND"
	    " c.body = p.body",
	[STORE_SQL_REPLAY_COUNT] = "SELECT count(*) FROM events e WHERE"
	    REPLAY_WHERE,
};

static int
writable(const struct sqlite_store *st)
{
	return !st->opts.readonly;
}

/*
 * op's statement on the direct connection, the caller holding rlock:
 * prepared once and kept, or a fresh one while the kept one is stepping
 * further up this thread's stack (a query's fn calling back in).  A
 * write is refused on a read-only handle, and its failure to prepare
 * logged.  Give it back with stmt_put.
 */
static sqlite3_stmt *
stmt_get(struct sqlite_store *st, enum store_sql op, int write)
{
	sqlite3_stmt *s = st->stmt[op];

	if (write && !writable(st))
		return NULL;
	if (s != NULL && !sqlite3_stmt_busy(s))
		return s;
	s = NULL;
	if (sqlite3_prepare_v3(st->rdb, stmts[op], -1, st->stmt[op] == NULL ?
	    SQLITE_PREPARE_PERSISTENT : 0, &s, NULL) != SQLITE_OK) {
		if (write)
			log_kv(LOG_ERROR, "store statement failed", "error",
			    sqlite3_errmsg(st->rdb), (char *)NULL);
		sqlite3_finalize(s);
		return NULL;
	}
	if (st->stmt[op] == NULL)
		st->stmt[op] = s;
	return s;
}

static void
stmt_put(struct sqlite_store *st, enum store_sql op, sqlite3_stmt *s)
{
	if (s != st->stmt[op]) {
		sqlite3_finalize(s);
		return;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

long
store_sqlite_exec(struct sqlite_store *st, enum store_sql op,
    const struct store_val *vals, int n, int64_t *new_id)
{
	sqlite3_stmt *s;
	long rc = -1;

	pthread_mutex_lock(&st->rlock);
	if ((s = stmt_get(st, op, 1)) != NULL) {
		bind_vals(s, vals, n);
		if (sqlite3_step(s) == SQLITE_DONE) {
			rc = sqlite3_changes(st->rdb);
			if (new_id != NULL)
				*new_id = sqlite3_last_insert_rowid(st->rdb);
		}
		stmt_put(st, op, s);
	}
	pthread_mutex_unlock(&st->rlock);
	return rc;
}

/* fn runs under rlock. */
int
store_sqlite_query(struct sqlite_store *st, enum store_sql op,
    const struct store_val *vals, int n, int (*fn)(const struct store_row *,
    void *), void *arg)
{
	sqlite3_stmt *s;
	int rc = -1;

	pthread_mutex_lock(&st->rlock);
	if ((s = stmt_get(st, op, 0)) != NULL) {
		rc = each_row(s, vals, n, fn, arg);
		stmt_put(st, op, s);
	}
	pthread_mutex_unlock(&st->rlock);
	return rc;
}

int
store_sqlite_begin(struct sqlite_store *st)
{
	pthread_mutex_lock(&st->rlock);
	if (sqlite3_exec(st->rdb, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
	    SQLITE_OK)
		return 0;
	pthread_mutex_unlock(&st->rlock);
	return -1;
}

int
store_sqlite_end(struct sqlite_store *st, int commit)
{
	int rc = 0;

	if (commit && sqlite3_exec(st->rdb, "COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = -1;
	if (!commit || rc != 0)
		sqlite3_exec(st->rdb, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->rlock);
	return rc;
}

/* ------------------------------------------------------------ worker API */

int
store_sqlite_due(struct sqlite_store *st, time_t now, int64_t after_id, int limit,
    int (*fn)(const struct store_event *, void *), void *arg)
{
	sqlite3_stmt *s = NULL;
	struct store_row r = { &sq_row, NULL, 0 };
	struct store_event ev;
	int n = 0, step, stop = 0;

	pthread_mutex_lock(&st->rlock);
	/*
	 * One event per person at a time, in order: an event waits while an
	 * earlier one of the same subject is unfinished (also one in retry
	 * whose next attempt is later).  Events not yet normalised (subject
	 * NULL) are not due: the worker classifies them first.
	 */
	/*
	 * An event waiting for a future effective date does not hold the
	 * person's later events back (they take effect first); when its
	 * date comes it is due like any other.
	 */
	if (sqlite3_prepare_v2(st->rdb, "SELECT " STORE_EVENT_COLS " FROM"
	    " events e WHERE state IN ('pending', 'retry', 'waiting') AND"
	    " next_attempt <= ?1"
	    " AND id > ?2 AND subject IS NOT NULL AND NOT EXISTS ("
	    "  SELECT 1 FROM events p WHERE p.subject = e.subject"
	    "  AND p.id < e.id AND p.state IN ('pending', 'retry'))"
	    " ORDER BY id LIMIT ?3", -1, &s, NULL) != SQLITE_OK) {
		n = -1;
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 2, after_id);
	sqlite3_bind_int(s, 3, limit > 0 ? limit : 100);
	r.res = s;
	while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
		store_fill_event(&r, &ev, 1);
		/* fn may call back into the store: release the lock. */
		pthread_mutex_unlock(&st->rlock);
		stop = fn(&ev, arg);
		store_event_clear(&ev);
		pthread_mutex_lock(&st->rlock);
		n++;
	}
	if (!stop && step != SQLITE_DONE)
		n = -1;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->rlock);
	return n;
}

/* The ids store_sqlite_unclassified gathers. */
struct ids {
	int64_t *ids;
	int *n;
	int limit;
};

static int
take_id(const struct store_row *r, void *arg)
{
	struct ids *c = arg;

	if (*c->n < c->limit)
		c->ids[(*c->n)++] = sq_num(r, 0);
	return *c->n >= c->limit;
}

int
store_sqlite_unclassified(struct sqlite_store *st, int limit, int64_t *ids, int *n)
{
	const struct store_val v[] = { STORE_NUM(limit) };
	struct ids c = { ids, n, limit };
	sqlite3_stmt *s = NULL;
	int rc = -1;

	*n = 0;
	pthread_mutex_lock(&st->rlock);
	if (sqlite3_prepare_v2(st->rdb, "SELECT id FROM events WHERE state ="
	    " 'pending' AND subject IS NULL ORDER BY id LIMIT ?1", -1, &s,
	    NULL) == SQLITE_OK)
		rc = each_row(s, v, 1, take_id, &c);
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->rlock);
	return rc;
}
