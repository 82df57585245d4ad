/*
 * store_pg.c -- the PostgreSQL engine of the durable inbox (store.h;
 * store.c dispatches to it), for two or more nodes on one database.
 *
 * Durability: every connection sets synchronous_commit = on, so COMMIT
 * returns only after the commit record is flushed to the server's disk
 * (PostgreSQL manual, "synchronous_commit"; with synchronous standbys
 * configured, after they confirm too).  Throughput: as in the SQLite
 * engine, one writer thread owns a connection and commits whatever rows
 * are queued as one transaction (group commit); each caller sleeps until
 * its batch has committed.
 *
 * Dedupe: the unique key (source, delivery_id) with INSERT ... ON
 * CONFLICT DO NOTHING, plus the seen table that a trigger fills before
 * every delete, exactly as on SQLite.  Two nodes inserting the same key
 * at once: the second waits for the first's transaction on the unique
 * index and then finds its row (a duplicate), or inserts if it rolled
 * back.
 *
 * Workers: any number of processes on any nodes.  store_due and
 * store_unclassified claim rows (SELECT ... FOR UPDATE SKIP LOCKED, then
 * claimed_by and lease_until), a background thread renews the leases of
 * this handle, and the updates that end a step release them.  A worker
 * that dies loses its claims when the lease runs out.  Lease times are
 * the database's clock, so nodes' clocks do not matter for them.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "rolehook/codec.h"
#include "rolehook/log.h"
#include "rolehook/monotime.h"
#include "rolehook/store.h"
#include "store_engine.h"
#include "store_queue.h"

#define SCHEMA_VERSION 7
#define LEASE_DEFAULT_S 60
#define BATCH_TRIES 3             /* a deadlock between nodes: try again */
#define PRUNE_EVERY_S 3600
#define MAXP 16
/* Advisory lock keys: 0x7268 ("rh") << 16 | what. */
#define LOCK_MIGRATE 1919418369
#define LOCK_CLAIM   1919418370
#define LOCK_GUARD   1919418371
#define STR_(x) #x
#define STR(x) STR_(x)
/* The database's clock, whole seconds: leases never use a node's. */
#define DBNOW "(EXTRACT(EPOCH FROM clock_timestamp())::bigint)"

struct pg_store {
	char *conninfo;
	char *password;           /* wiped and freed at close */
	struct store_opts opts;
	char owner[128];          /* claimed_by of this handle */

	PGconn *rconn;            /* reader / direct connection */
	pthread_mutex_t rlock;    /* guards rconn (store_lock_init) */
	int in_tx;                /* a transaction holds rconn (under rlock) */

	PGconn *wconn;            /* writer thread only */
	/* Group commit (store_queue.h); the background thread waits on
	 * its bg_cv, under its lock, until it is closing. */
	struct store_queue q;

	/* Background: lease renewal (direct) or hourly prune (serve). */
	pthread_t bg;
	int bg_started;
};

/* ------------------------------------------------------------ schema */

/*
 * Migrations: from version `from` to the next entry's from (the last to
 * SCHEMA_VERSION).  PostgreSQL starts at the SQLite engine's version 6
 * with the same tables, plus what several workers need: the claim
 * columns and the guard's shared reservations.  Never edit a migration
 * that has shipped; add one.
 */
static const struct {
	int from;
	const char *sql;
} migrations[] = {
	{ 0,
	"CREATE TABLE events ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  source TEXT NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  received BIGINT NOT NULL,"
	"  headers TEXT NOT NULL DEFAULT '{}',"
	"  body BYTEA NOT NULL,"
	"  subject TEXT,"
	"  effective_at BIGINT,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt BIGINT NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  approved INTEGER NOT NULL DEFAULT 0,"
	"  kind TEXT,"
	"  signed_at BIGINT,"
	"  batch_index BIGINT,"
	"  claimed_by TEXT,"
	"  lease_until BIGINT,"
	"  UNIQUE (source, delivery_id));"
	"CREATE INDEX events_state ON events (state, next_attempt);"
	"CREATE INDEX events_subject ON events (subject, id)"
	"  WHERE subject IS NOT NULL;"
	"CREATE INDEX events_claimed ON events (claimed_by)"
	"  WHERE claimed_by IS NOT NULL;"
	"CREATE TABLE audit ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  at BIGINT NOT NULL,"
	"  event_id BIGINT,"
	"  subject TEXT,"
	"  action TEXT NOT NULL,"
	"  rule TEXT,"
	"  policy_hash TEXT,"
	"  before TEXT,"
	"  after TEXT,"
	"  http_status INTEGER,"
	"  zendesk_user TEXT,"
	"  request TEXT,"
	"  provenance TEXT);"
	"CREATE INDEX audit_subject ON audit (subject, id);"
	"CREATE INDEX audit_zendesk_user ON audit (zendesk_user, id);"
	"CREATE INDEX audit_action_at ON audit (action, at);"
	"CREATE TABLE subjects ("
	"  key TEXT PRIMARY KEY,"
	"  last_event_id BIGINT,"
	"  last_effective BIGINT,"
	"  snapshot TEXT,"
	"  snapshot_at BIGINT);"
	"CREATE TABLE seen ("
	"  source TEXT NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  event_id BIGINT NOT NULL,"
	"  PRIMARY KEY (source, delivery_id));"
	"CREATE FUNCTION rolehook_events_seen() RETURNS trigger"
	"  LANGUAGE plpgsql AS $f$ BEGIN"
	"  INSERT INTO seen (source, delivery_id, event_id)"
	"  VALUES (OLD.source, OLD.delivery_id, OLD.id)"
	"  ON CONFLICT DO NOTHING;"
	"  RETURN OLD; END $f$;"
	"CREATE TRIGGER events_seen BEFORE DELETE ON events"
	"  FOR EACH ROW EXECUTE FUNCTION rolehook_events_seen();"
	"CREATE TABLE guard_reserved ("
	"  owner TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  n BIGINT NOT NULL,"
	"  lease_until BIGINT NOT NULL,"
	"  PRIMARY KEY (owner, action));" },
	/* 6 -> 7: leave and hire (store_subject); see STORE_LIFECYCLE_SQL. */
	{ 6,
	"ALTER TABLE subjects ADD COLUMN left_event BIGINT;"
	"ALTER TABLE subjects ADD COLUMN left_at BIGINT;"
	"ALTER TABLE subjects ADD COLUMN hired_event BIGINT;"
	"ALTER TABLE subjects ADD COLUMN hired_at BIGINT;"
	STORE_LIFECYCLE_SQL },
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* ------------------------------------------------------------ helpers */

/* Query parameters, all text except a bytea body. */
struct params {
	const char *v[MAXP];
	int len[MAXP];
	int fmt[MAXP];
	char num[MAXP][24];
	int n;
};

static void
p_text(struct params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

static void
p_int(struct params *p, long long x)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", x);
	p_text(p, p->num[p->n]);
}

/* NULL when x is 0 (an unknown time). */
static void
p_int_or_null(struct params *p, long long x)
{
	if (x == 0)
		p_text(p, NULL);
	else
		p_int(p, x);
}

static void
p_bytes(struct params *p, const void *b, size_t n)
{
	p->v[p->n] = b != NULL ? b : "";
	p->len[p->n] = (int)n;
	p->fmt[p->n] = 1;
	p->n++;
}

static PGresult *
run(PGconn *c, const char *sql, const struct params *p)
{
	return PQexecParams(c, sql, p != NULL ? p->n : 0, NULL,
	    p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
	    p != NULL ? p->fmt : NULL, 0);
}

/* PQexec of a command; 0 if it succeeded. */
static int
cmd(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	return ok ? 0 : -1;
}

static int
res_ok(const PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

static const char *
col(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static long long
col_ll(const PGresult *r, int row, int c)
{
	const char *v = col(r, row, c);

	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

/* libpq's message on one line, into err. */
static void
conn_error(PGconn *c, const char *what, char *err, size_t errlen)
{
	const char *m = c != NULL ? PQerrorMessage(c) : "out of memory";
	size_t i, o;
	int n;

	n = snprintf(err, errlen, "%s: ", what);
	if (n < 0 || (size_t)n >= errlen)
		return;
	for (i = 0, o = (size_t)n; m[i] != '\0' && o + 1 < errlen; i++)
		err[o++] = (m[i] == '\n' || m[i] == '\t') ? ' ' : m[i];
	while (o > (size_t)n && err[o - 1] == ' ')
		o--;
	err[o] = '\0';
}

static void
log_pg(const char *msg, PGconn *c)
{
	char err[256];

	conn_error(c, "postgresql", err, sizeof(err));
	log_kv(LOG_ERROR, msg, "error", err, (char *)NULL);
}

/*
 * Why a statement or connection failed, as /healthz says it: static
 * text from the SQLSTATE (PostgreSQL manual, appendix A) or the
 * connection's state.
 */
static const char *
reason_for(PGconn *c, const PGresult *r)
{
	const char *ss = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) :
	    NULL;

	if (c == NULL || PQstatus(c) != CONNECTION_OK || ss == NULL ||
	    strncmp(ss, "08", 2) == 0 || strncmp(ss, "57P", 3) == 0)
		return "database unreachable";
	if (strcmp(ss, "53100") == 0)
		return "disk full";
	if (strcmp(ss, "53300") == 0)
		return "too many connections";
	if (strncmp(ss, "53", 2) == 0)
		return "database out of resources";
	if (strcmp(ss, "25006") == 0)
		return "database is read-only";
	if (strncmp(ss, "28", 2) == 0)
		return "database refused the login";
	if (strcmp(ss, "40P01") == 0)
		return "deadlock";
	return "database error";
}

/*
 * Opens one connection.  The password goes in its own parameter, never
 * into a string that could be logged; connect_timeout and
 * application_name come before the connection string, so that the
 * string's own values win (libpq: with expand_dbname, later keywords
 * override earlier ones).
 */
static PGconn *
pg_connect(const struct pg_store *ps, int readonly, char *err,
    size_t errlen)
{
	const char *keys[] = { "connect_timeout", "application_name",
	    "dbname", "password", NULL };
	const char *vals[] = { "5", "rolehook", ps->conninfo, ps->password,
	    NULL };
	PGconn *c;

	if (ps->password == NULL)
		keys[3] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		conn_error(c, "cannot connect", err, errlen);
		PQfinish(c);
		return NULL;
	}
	/*
	 * synchronous_commit = on whatever the server's default: a 2xx
	 * needs the commit on disk.  A read-only handle (CLI inspection)
	 * cannot write by mistake.
	 */
	if (cmd(c, "SET synchronous_commit = on") != 0 ||
	    cmd(c, "SET client_min_messages = warning") != 0 ||
	    (readonly && cmd(c, "SET default_transaction_read_only = on") !=
	    0)) {
		conn_error(c, "cannot set up the session", err, errlen);
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The schema version, 0 if there is none yet; -1 on error. */
static int
schema_version(PGconn *c, int *v)
{
	PGresult *r;
	int rc = -1;

	r = PQexec(c, "SELECT to_regclass('rolehook_schema') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		goto out;
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		*v = 0;
		rc = 0;
		goto out;
	}
	PQclear(r);
	r = PQexec(c, "SELECT max(version) FROM rolehook_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		goto out;
	*v = (int)col_ll(r, 0, 0);
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/*
 * Brings the schema to SCHEMA_VERSION in one transaction under an
 * advisory lock, so that nodes starting together migrate once.  A
 * current schema is only read.
 */
static int
migrate(PGconn *c, char *err, size_t errlen)
{
	char sql[96];
	size_t i;
	int v;

	if (schema_version(c, &v) == 0 && v == SCHEMA_VERSION)
		return 0;
	if (cmd(c, "BEGIN") != 0 ||
	    cmd(c, "SELECT pg_advisory_xact_lock(" STR(LOCK_MIGRATE) ")") != 0 ||
	    cmd(c, "CREATE TABLE IF NOT EXISTS rolehook_schema ("
	    "version INTEGER NOT NULL)") != 0 ||
	    schema_version(c, &v) != 0) {
		conn_error(c, "cannot read the schema version", err, errlen);
		goto fail;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is newer "
		    "than this rolehook (%d): upgrade rolehook", v,
		    SCHEMA_VERSION);
		goto fail;
	}
	for (i = 0; i < NMIGRATIONS; i++)
		if (migrations[i].from >= v && cmd(c, migrations[i].sql) != 0) {
			conn_error(c, "cannot migrate the schema", err, errlen);
			goto fail;
		}
	snprintf(sql, sizeof(sql), "DELETE FROM rolehook_schema; INSERT INTO "
	    "rolehook_schema VALUES (%d)", SCHEMA_VERSION);
	if (cmd(c, sql) != 0 || cmd(c, "COMMIT") != 0) {
		conn_error(c, "cannot migrate the schema", err, errlen);
		goto fail;
	}
	return 0;
fail:
	cmd(c, "ROLLBACK");
	return -1;
}

/* A read-only handle does not migrate: the schema must be current. */
static int
check_schema(PGconn *c, char *err, size_t errlen)
{
	int v;

	if (schema_version(c, &v) != 0) {
		conn_error(c, "cannot read the schema version", err, errlen);
		return -1;
	}
	if (v == SCHEMA_VERSION)
		return 0;
	if (v == 0)
		snprintf(err, errlen, "the database holds no rolehook schema: "
		    "start rolehook serve or work once to create it");
	else if (v > SCHEMA_VERSION)
		snprintf(err, errlen, "database schema version %d is newer "
		    "than this rolehook (%d): upgrade rolehook", v,
		    SCHEMA_VERSION);
	else
		snprintf(err, errlen, "database schema version %d is older "
		    "than this rolehook (%d): start rolehook serve or work "
		    "once to migrate it", v, SCHEMA_VERSION);
	return -1;
}

/*
 * The direct/reader connection, reconnected if the server went away
 * (restart, failover) unless a transaction holds it.  Caller holds
 * rlock.  NULL if it cannot connect.
 */
static PGconn *
rconn(struct pg_store *ps)
{
	char err[256];

	/* In a transaction a new connection would run outside it. */
	if (ps->in_tx || (ps->rconn != NULL &&
	    PQstatus(ps->rconn) == CONNECTION_OK))
		return ps->rconn;
	PQfinish(ps->rconn);
	ps->rconn = pg_connect(ps, ps->opts.readonly, err, sizeof(err));
	if (ps->rconn == NULL)
		log_kv(LOG_ERROR, "store reconnect failed", "error", err,
		    (char *)NULL);
	return ps->rconn;
}

/*
 * Runs one statement on the direct connection under rlock.  Returns the
 * result (caller PQclears) or NULL on any failure, logged.
 */
static PGresult *
rquery(struct pg_store *ps, const char *sql, const struct params *p)
{
	PGconn *c;
	PGresult *r = NULL;

	pthread_mutex_lock(&ps->rlock);
	if ((c = rconn(ps)) != NULL) {
		r = run(c, sql, p);
		if (!res_ok(r)) {
			log_pg("store statement failed", c);
			PQclear(r);
			r = NULL;
		}
	}
	pthread_mutex_unlock(&ps->rlock);
	return r;
}

/* Rows a command changed, or -1. */
static long
rchanged(struct pg_store *ps, const char *sql, const struct params *p)
{
	PGresult *r = rquery(ps, sql, p);
	long n;

	if (r == NULL)
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

/* -------------------------------------------------------------- rows */

static int
pg_null(const struct store_row *r, int c)
{
	return PQgetisnull(r->res, r->i, c);
}

static int64_t
pg_num(const struct store_row *r, int c)
{
	return col_ll(r->res, r->i, c);
}

static const char *
pg_text(const struct store_row *r, int c)
{
	return col(r->res, r->i, c);
}

/* bytea arrives escaped: the result is text (PQexecParams format 0). */
static unsigned char *
pg_bytes(const struct store_row *r, int c, size_t *len)
{
	unsigned char *b, *p = NULL;
	size_t n = 0;

	b = PQunescapeBytea((const unsigned char *)PQgetvalue(r->res, r->i,
	    c), &n);
	if (b != NULL && (p = malloc(n + 1)) != NULL) {
		memcpy(p, b, n);
		p[n] = '\0';
		*len = n;
	}
	PQfreemem(b);
	return p;
}

static const struct store_row_ops pg_row = {
	pg_null, pg_num, pg_text, pg_bytes
};

/* ------------------------------------------------------ group commit */

static void
close_writer_conn(struct pg_store *ps)
{
	PQfinish(ps->wconn);
	ps->wconn = NULL;
}

static int
open_writer_conn(struct pg_store *ps, const char **why)
{
	char err[256];
	PGresult *r1 = NULL, *r2 = NULL;
	int rc = -1;

	if ((ps->wconn = pg_connect(ps, 0, err, sizeof(err))) == NULL) {
		if (ps->q.healthy) /* probes repeat it every second */
			log_kv(LOG_ERROR, "store reconnect failed", "error",
			    err, (char *)NULL);
		*why = "database unreachable";
		return -1;
	}
	/*
	 * A key in seen (an event pruned) is a duplicate too.  The body is
	 * sent binary ($5), so it is stored byte for byte.
	 */
	r1 = PQprepare(ps->wconn, "ins", "INSERT INTO events (source,"
	    " delivery_id, received, headers, body, signed_at) SELECT $1::text,"
	    " $2::text, $3::bigint, $4::text, $5::bytea, $6::bigint WHERE NOT EXISTS (SELECT 1 FROM seen WHERE"
	    " source = $1 AND delivery_id = $2) ON CONFLICT (source,"
	    " delivery_id) DO NOTHING RETURNING id", 6, NULL);
	r2 = PQprepare(ps->wconn, "dup", "SELECT id FROM events WHERE"
	    " source = $1 AND delivery_id = $2 UNION ALL SELECT event_id FROM"
	    " seen WHERE source = $1 AND delivery_id = $2", 2, NULL);
	if (!res_ok(r1) || !res_ok(r2)) {
		*why = reason_for(ps->wconn, res_ok(r1) ? r2 : r1);
		if (ps->q.healthy)
			log_pg("store statement failed", ps->wconn);
		close_writer_conn(ps);
		goto out;
	}
	rc = 0;
out:
	PQclear(r1);
	PQclear(r2);
	return rc;
}

/* Inserts one row in the writer's open transaction; NULL or the error. */
static PGresult *
insert_one(struct pg_store *ps, struct store_pending *p)
{
	const struct store_event_in *ev = p->ev;
	struct params q;
	PGresult *r;

	memset(&q, 0, sizeof(q));
	p_text(&q, ev->source);
	p_text(&q, ev->delivery_id);
	p_int(&q, (long long)ev->received);
	p_text(&q, ev->headers_json ? ev->headers_json : "{}");
	p_bytes(&q, ev->body, ev->body_len);
	p_int_or_null(&q, (long long)(ev->signed_at > 0 ? ev->signed_at : 0));
	r = PQexecPrepared(ps->wconn, "ins", q.n, q.v, q.len, q.fmt, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return r;
	if (PQntuples(r) == 1) {
		p->id = col_ll(r, 0, 0);
		p->result = STORE_OK;
		PQclear(r);
		return NULL;
	}
	PQclear(r);
	r = PQexecPrepared(ps->wconn, "dup", 2, q.v, q.len, q.fmt, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		return r;
	p->id = col_ll(r, 0, 0);
	p->result = STORE_DUPLICATE;
	PQclear(r);
	return NULL;
}

/*
 * One transaction for the batch (an empty batch: a probe).  Returns 0,
 * or -1 with *why set; a deadlock with another node is tried again.
 */
static int
commit_once(struct pg_store *ps, struct store_pending *batch, const char **why,
    int *retry)
{
	struct store_pending *p;
	PGresult *r = NULL;

	*retry = 0;
	if (ps->wconn == NULL || PQstatus(ps->wconn) != CONNECTION_OK) {
		close_writer_conn(ps);
		if (open_writer_conn(ps, why) != 0)
			return -1;
	}
	if (batch == NULL) {
		/*
		 * Healthy: is the server there and not a standby (a failover
		 * that left us on a read-only node)?  Unhealthy: can it
		 * commit a write again (a full disk freed)?
		 */
		r = PQexec(ps->wconn, ps->q.healthy ?
		    "SELECT pg_is_in_recovery()" :
		    "UPDATE rolehook_schema SET version = version");
		if (!res_ok(r))
			goto fail;
		if (PQresultStatus(r) == PGRES_TUPLES_OK &&
		    strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
			PQclear(r);
			*why = "database is read-only";
			return -1;
		}
		PQclear(r);
		return 0;
	}
	r = PQexec(ps->wconn, "BEGIN");
	if (!res_ok(r))
		goto fail;
	PQclear(r);
	for (p = batch; p != NULL; p = p->next)
		if ((r = insert_one(ps, p)) != NULL)
			goto rollback;
	r = PQexec(ps->wconn, "COMMIT");
	/* COMMIT of a failed transaction answers ROLLBACK, not an error. */
	if (PQresultStatus(r) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdStatus(r), "COMMIT") == 0) {
		PQclear(r);
		return 0;
	}
rollback:
	{
		const char *ss = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		*retry = ss != NULL && (strcmp(ss, "40P01") == 0 ||
		    strcmp(ss, "40001") == 0);
	}
	*why = reason_for(ps->wconn, r);
	if (ps->q.healthy && !*retry)
		log_pg("store commit failed", ps->wconn);
	PQclear(r);
	cmd(ps->wconn, "ROLLBACK");
	return -1;
fail:
	*why = reason_for(ps->wconn, r);
	PQclear(r);
	return -1;
}

/*
 * The queue's commit (store_commit_fn), on the writer thread: one
 * transaction for the batch (NULL: a probe of the server, healthy or
 * not, so /healthz follows the database without waiting for a webhook).
 */
static int
pg_commit(void *engine, struct store_pending *batch, const char **why)
{
	struct pg_store *ps = engine;
	int rc = -1, retry = 0, i;

	for (i = 0; i < BATCH_TRIES; i++) {
		int stale = ps->wconn != NULL &&
		    PQstatus(ps->wconn) == CONNECTION_OK;

		if ((rc = commit_once(ps, batch, why, &retry)) == 0)
			break;
		/*
		 * A connection that was fine before the batch and broke in
		 * it: the server restarted since (or a failover moved it).
		 * One fresh connection tries again at once rather than answer
		 * 503 to a whole batch.  Safe even if the lost COMMIT did
		 * commit: each row is then found as a duplicate, with its id.
		 */
		if (PQstatus(ps->wconn) != CONNECTION_OK) {
			close_writer_conn(ps);
			if (stale && i == 0 && batch != NULL)
				continue;
			break;
		}
		if (!retry)
			break;
	}
	return rc;
}

/* ------------------------------------------------- background thread */

static int
prune_on(struct pg_store *ps, time_t cutoff, long *deleted)
{
	struct params q;
	long n;

	*deleted = 0;
	memset(&q, 0, sizeof(q));
	p_int(&q, (long long)cutoff);
	do {
		/* Short transactions: the writer never waits long. */
		n = rchanged(ps, "DELETE FROM events WHERE id IN (SELECT id"
		    " FROM events WHERE received < $1 AND state IN ('done',"
		    " 'ignored', 'stale', 'cancelled') LIMIT 1000)", &q);
		if (n < 0)
			return -1;
		*deleted += n;
	} while (n > 0);
	return 0;
}

/* Extends the leases of everything this handle holds. */
static void
renew_leases(struct pg_store *ps)
{
	struct params q;

	memset(&q, 0, sizeof(q));
	p_text(&q, ps->owner);
	p_int(&q, ps->opts.lease_s);
	if (rchanged(ps, "UPDATE events SET lease_until = " DBNOW " + $2"
	    " WHERE claimed_by = $1", &q) < 0 ||
	    rchanged(ps, "UPDATE guard_reserved SET lease_until = " DBNOW
	    " + $2 WHERE owner = $1", &q) < 0)
		log_msg(LOG_WARN, "store: cannot renew the worker's leases");
}

/*
 * Direct handles (workers) renew their leases every lease_s / 3 seconds,
 * so a live worker keeps its claims through a long event and a dead one
 * loses them within lease_s.  Serve handles prune hourly
 * (store.retention_days).
 */
static void *
bg_main(void *arg)
{
	struct pg_store *ps = arg;
	struct timespec next;
	long every_us, deleted;
	char nbuf[32];

	every_us = ps->opts.direct ? (long)ps->opts.lease_s * 1000000L / 3 :
	    (long)PRUNE_EVERY_S * 1000000L;
	/* Serve prunes at start, then hourly; a worker renews after a third. */
	if (ps->opts.direct)
		monotime_deadline_us(&next, every_us);
	else
		clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&ps->q.lock);
	for (;;) {
		while (!ps->q.closing && pthread_cond_timedwait(&ps->q.bg_cv,
		    &ps->q.lock, &next) != ETIMEDOUT)
			;
		if (ps->q.closing)
			break;
		pthread_mutex_unlock(&ps->q.lock);
		if (ps->opts.direct)
			renew_leases(ps);
		else if (ps->opts.retention_days > 0) {
			if (prune_on(ps, time(NULL) -
			    (time_t)ps->opts.retention_days * 86400,
			    &deleted) != 0)
				log_msg(LOG_WARN, "prune failed");
			else if (deleted > 0) {
				snprintf(nbuf, sizeof(nbuf), "%ld", deleted);
				log_kv(LOG_INFO, "pruned processed events",
				    "count", nbuf, (char *)NULL);
			}
		}
		monotime_deadline_us(&next, every_us);
		pthread_mutex_lock(&ps->q.lock);
	}
	pthread_mutex_unlock(&ps->q.lock);
	return NULL;
}

/* --------------------------------------------------------- open/close */

/* host:pid:random, unique among the handles on one database. */
static void
make_owner(struct pg_store *ps)
{
	char host[64];
	unsigned char rnd[6];
	char hex[2 * sizeof(rnd) + 1];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	codec_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(ps->owner, sizeof(ps->owner), "%s:%ld:%s", host,
	    (long)getpid(), hex);
}

int
store_pg_open(const char *conninfo, const struct store_opts *opts,
    struct pg_store **out, struct store_queue **queue, char *err,
    size_t errlen)
{
	struct pg_store *ps = NULL;
	const char *why = NULL;

	*out = NULL;
	if (conninfo == NULL || conninfo[0] == '\0') {
		snprintf(err, errlen, "no PostgreSQL connection string");
		return -1;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->conninfo = strdup(conninfo)) == NULL ||
	    (opts != NULL && opts->password != NULL &&
	    (ps->password = strdup(opts->password)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail_early;
	}
	if (opts != NULL)
		ps->opts = *opts;
	ps->opts.password = NULL;
	store_queue_defaults(&ps->opts);
	if (ps->opts.lease_s <= 0)
		ps->opts.lease_s = LEASE_DEFAULT_S;
	make_owner(ps);
	/* Probed every second, healthy or not: a server can go away, or
	 * become a read-only standby, while nobody writes. */
	store_queue_init(&ps->q, &ps->opts, pg_commit, ps, 1);
	store_lock_init(&ps->rlock);

	if ((ps->rconn = pg_connect(ps, ps->opts.readonly, err, errlen)) ==
	    NULL)
		goto fail;
	if (ps->opts.readonly) {
		if (check_schema(ps->rconn, err, errlen) != 0)
			goto fail;
		*out = ps;
		*queue = &ps->q;
		return 0;
	}
	if (migrate(ps->rconn, err, errlen) != 0)
		goto fail;
	if (!ps->opts.direct && open_writer_conn(ps, &why) != 0) {
		snprintf(err, errlen, "cannot prepare the insert: %s", why);
		goto fail;
	}
	if (pthread_create(&ps->bg, NULL, bg_main, ps) != 0) {
		snprintf(err, errlen, "cannot start the store's background "
		    "thread");
		goto fail;
	}
	ps->bg_started = 1;
	if (!ps->opts.direct && store_queue_start(&ps->q) != 0) {
		snprintf(err, errlen, "cannot start the store writer thread");
		goto fail;
	}
	*out = ps;
	*queue = &ps->q;
	return 0;
fail:
	store_pg_close(ps);
	return -1;
fail_early:
	if (ps != NULL) {
		free(ps->conninfo);
		free(ps);
	}
	return -1;
}

void
store_pg_close(struct pg_store *ps)
{
	struct params q;

	if (ps == NULL)
		return;
	store_queue_stop(&ps->q);   /* the writer drains the queue */
	if (ps->bg_started)
		pthread_join(ps->bg, NULL);
	/* A worker that stops cleanly hands its claims back at once. */
	if (ps->opts.direct && ps->rconn != NULL &&
	    PQstatus(ps->rconn) == CONNECTION_OK) {
		memset(&q, 0, sizeof(q));
		p_text(&q, ps->owner);
		PQclear(run(ps->rconn, "UPDATE events SET claimed_by = NULL,"
		    " lease_until = NULL WHERE claimed_by = $1", &q));
		PQclear(run(ps->rconn, "DELETE FROM guard_reserved WHERE"
		    " owner = $1", &q));
	}
	close_writer_conn(ps);
	PQfinish(ps->rconn);
	store_queue_destroy(&ps->q);
	pthread_mutex_destroy(&ps->rlock);
	if (ps->password != NULL)
		OPENSSL_clear_free(ps->password, strlen(ps->password));
	free(ps->conninfo);
	free(ps);
}

/* ------------------------------------------------------------ ingress */

int
store_pg_prune(struct pg_store *ps, time_t cutoff, long *deleted)
{
	return ps->opts.readonly ? -1 : prune_on(ps, cutoff, deleted);
}

/* ------------------------------------------------------------ workers */

/* Sorts claimed rows by id (RETURNING has no order). */
static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
store_pg_unclassified(struct pg_store *ps, int limit, int64_t *ids, int *n)
{
	struct params q;
	PGresult *r;
	int i;

	*n = 0;
	memset(&q, 0, sizeof(q));
	p_int(&q, limit);
	p_text(&q, ps->owner);
	p_int(&q, ps->opts.lease_s);
	/*
	 * Claimed, so two workers do not classify (and split) the same
	 * event at once; store_set_subject releases the claim.
	 */
	if ((r = rquery(ps, "WITH c AS (SELECT id FROM events WHERE state ="
	    " 'pending' AND subject IS NULL AND (claimed_by IS NULL OR"
	    " claimed_by = $2 OR lease_until < " DBNOW ") ORDER BY id LIMIT $1"
	    " FOR UPDATE SKIP LOCKED) UPDATE events e SET claimed_by = $2,"
	    " lease_until = " DBNOW " + $3 FROM c WHERE e.id = c.id"
	    " RETURNING e.id", &q)) == NULL)
		return -1;
	for (i = 0; i < PQntuples(r) && *n < limit; i++)
		ids[(*n)++] = col_ll(r, i, 0);
	PQclear(r);
	qsort(ids, (size_t)*n, sizeof(*ids), cmp_i64);
	return 0;
}

/*
 * The claim: under one advisory lock for every claimer (claims are one
 * short statement, so this costs little), so two workers cannot each
 * take an event of the same person in the same instant; SKIP LOCKED
 * steps over rows another worker is finishing.  Due as on SQLite, and
 * not claimed by a live other handle, and no event of the same person
 * claimed by one, and no earlier event still unclassified: whose it is
 * is not known yet, so it may be this person's (another worker is
 * classifying it, or died doing so).  One worker on SQLite classifies
 * in id order before it dispatches, so there the classified events are
 * always the older ones anyway.
 */
int
store_pg_due(struct pg_store *ps, time_t now, int64_t after_id, int limit,
    int (*fn)(const struct store_event *, void *), void *arg)
{
	struct params q;
	struct store_row row = { &pg_row, NULL, 0 };
	struct store_event ev;
	PGconn *c;
	PGresult *r = NULL;
	int n = 0, stop = 0;

	memset(&q, 0, sizeof(q));
	p_int(&q, (long long)now);
	p_int(&q, after_id);
	p_int(&q, limit > 0 ? limit : 100);
	p_text(&q, ps->owner);
	p_int(&q, ps->opts.lease_s);
	pthread_mutex_lock(&ps->rlock);
	if ((c = rconn(ps)) == NULL)
		goto fail;
	if (cmd(c, "BEGIN") != 0 ||
	    cmd(c, "SELECT pg_advisory_xact_lock(" STR(LOCK_CLAIM) ")") != 0)
		goto rollback;
	r = run(c, "WITH due AS (SELECT id FROM events e"
	    " WHERE state IN ('pending', 'retry', 'waiting') AND"
	    " next_attempt <= $1 AND id > $2 AND subject IS NOT NULL"
	    " AND (claimed_by IS NULL OR claimed_by = $4 OR"
	    "  lease_until < " DBNOW ")"
	    " AND NOT EXISTS (SELECT 1 FROM events p WHERE"
	    "  p.subject = e.subject AND p.id < e.id AND"
	    "  p.state IN ('pending', 'retry'))"
	    " AND NOT EXISTS (SELECT 1 FROM events o WHERE"
	    "  o.subject = e.subject AND o.id <> e.id AND"
	    "  o.claimed_by IS NOT NULL AND o.claimed_by <> $4 AND"
	    "  o.lease_until >= " DBNOW ")"
	    " AND e.id < COALESCE((SELECT min(id) FROM events u WHERE"
	    "  u.state = 'pending' AND u.subject IS NULL), e.id + 1)"
	    " ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED),"
	    " upd AS (UPDATE events SET claimed_by = $4,"
	    "  lease_until = " DBNOW " + $5 FROM due WHERE events.id = due.id"
	    "  RETURNING events.*)"
	    " SELECT " STORE_EVENT_COLS " FROM upd ORDER BY id", &q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || cmd(c, "COMMIT") != 0)
		goto rollback;
	pthread_mutex_unlock(&ps->rlock);
	/* fn may call back into the store: the lock is not held. */
	row.res = r;
	for (row.i = 0; row.i < PQntuples(r) && !stop; row.i++) {
		store_fill_event(&row, &ev, 1);
		stop = fn(&ev, arg);
		store_event_clear(&ev);
		n++;
	}
	PQclear(r);
	return n;
rollback:
	log_pg("store claim failed", c);
	PQclear(r);
	cmd(c, "ROLLBACK");
fail:
	pthread_mutex_unlock(&ps->rlock);
	return -1;
}

/* ------------------------------------------------------- statements */

/* The claim release and condition of the worker's updates. */
#define RELEASE "claimed_by = NULL, lease_until = NULL"
#define MINE(n) " AND (claimed_by IS NULL OR claimed_by = $" #n ")"

/*
 * What replay takes: finished events since $1, and of each person only
 * the newest one (as on SQLite).
 */
#define REPLAY_WHERE " e.received >= $1 AND e.state IN ('done', 'ignored'," \
	" 'stale', 'dead') AND (e.subject IS NULL OR NOT EXISTS (SELECT 1" \
	" FROM events n WHERE n.subject = e.subject AND n.id > e.id AND" \
	" n.received >= $1 AND n.state IN ('done', 'ignored', 'stale'," \
	" 'dead')))"

/*
 * store.c's statements (store_engine.h): the values they bind are its;
 * owner: this handle's owner goes after them, as MINE's parameter or
 * the guard's.
 */
static const struct {
	const char *sql;
	int owner;
} stmts[STORE_SQL__MAX] = {
	[STORE_SQL_SET_SUBJECT] = { "UPDATE events SET subject = $2,"
	    " effective_at = $3, kind = $4, " RELEASE " WHERE id = $1"
	    MINE(5), 1 },
	[STORE_SQL_WAIT] = { "UPDATE events SET state = 'waiting',"
	    " next_attempt = $2, last_error = $3, " RELEASE " WHERE id = $1"
	    MINE(4), 1 },
	[STORE_SQL_SUPERSEDE] = { "UPDATE events SET state = 'cancelled',"
	    " last_error = $4, " RELEASE " WHERE state = 'waiting' AND"
	    " subject = $2 AND kind = $3 AND id < $1", 0 },
	[STORE_SQL_CANCEL] = { "UPDATE events SET state = 'cancelled',"
	    " last_error = 'cancelled by rolehook events cancel', " RELEASE
	    " WHERE id = $1 AND state IN ('pending', 'waiting', 'retry',"
	    " 'held')", 0 },
	[STORE_SQL_FINISH] = { "UPDATE events SET state = $2, last_error ="
	    " $3, attempts = attempts + 1, " RELEASE " WHERE id = $1" MINE(4),
	    1 },
	[STORE_SQL_RETRY] = { "UPDATE events SET state = 'retry', last_error"
	    " = $3, attempts = attempts + 1, next_attempt = $2, " RELEASE
	    " WHERE id = $1" MINE(4), 1 },
	/*
	 * The claim stays: releasing it would hand an event a live worker
	 * is still applying to a second worker (two of one person's
	 * events, the same one twice, in flight).  A dead worker's claim
	 * runs out by itself.
	 */
	[STORE_SQL_REQUEUE] = { "UPDATE events SET state = 'pending',"
	    " attempts = 0, next_attempt = 0 WHERE id = $1", 0 },
	[STORE_SQL_HOLD] = { "UPDATE events SET state = 'held', last_error"
	    " = $2, " RELEASE " WHERE id = $1" MINE(3), 1 },
	[STORE_SQL_APPROVE] = { "UPDATE events SET state = 'pending',"
	    " approved = 1, next_attempt = 0 WHERE id = $1 AND "
	    STORE_APPROVABLE, 0 },
	[STORE_SQL_AUDIT_ADD] = { "INSERT INTO audit (" STORE_AUDIT_FIELDS
	    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
	    " RETURNING id", 0 },
	[STORE_SQL_SUBJECT_PUT] = { "INSERT INTO subjects ("
	    STORE_SUBJECT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
	    " $9) ON CONFLICT (key) DO UPDATE SET last_event_id = $2,"
	    " last_effective = $3, snapshot = $4, snapshot_at = $5, left_event"
	    " = $6, left_at = $7, hired_event = $8, hired_at = $9", 0 },
	[STORE_SQL_SPLIT_CHILD] = { "INSERT INTO events (source, delivery_id,"
	    " received, headers, body, signed_at, batch_index, state) SELECT"
	    " source, delivery_id || '#' || $2::bigint, received, headers,"
	    " body, signed_at, $2::bigint, 'pending' FROM events WHERE id ="
	    " $1 AND batch_index IS NULL AND state = 'pending' ON CONFLICT"
	    " (source, delivery_id) DO NOTHING", 0 },
	[STORE_SQL_SPLIT_DONE] = { "UPDATE events SET state = 'done',"
	    " last_error = $2, " RELEASE " WHERE id = $1 AND batch_index IS"
	    " NULL AND state = 'pending'", 0 },
	[STORE_SQL_REPLAY_FORGET] = { "UPDATE subjects SET last_effective = 0"
	    " WHERE key IN (SELECT subject FROM events WHERE received >= $1"
	    " AND subject IS NOT NULL)", 0 },
	[STORE_SQL_REPLAY] = { "UPDATE events AS e SET state = 'pending',"
	    " attempts = 0, next_attempt = 0, last_error = NULL WHERE"
	    REPLAY_WHERE, 0 },
	[STORE_SQL_COUNT_STATES] = { "SELECT state, count(*) FROM events"
	    " GROUP BY state", 0 },
	/* The body is not loaded: NULL in its place. */
	[STORE_SQL_LIST] = { "SELECT " STORE_EVENT_COLS_BODY("NULL::bytea")
	    " FROM events WHERE ($1::text IS NULL OR state = $1) AND"
	    " ($2::text IS NULL OR source = $2) ORDER BY id DESC"
	    " LIMIT $3::bigint", 0 },
	[STORE_SQL_GET] = { "SELECT " STORE_EVENT_COLS " FROM events WHERE"
	    " id = $1", 0 },
	[STORE_SQL_REPLAY_LIST] = { "SELECT " STORE_EVENT_COLS " FROM events"
	    " e WHERE" REPLAY_WHERE " ORDER BY id", 0 },
	/*
	 * Other workers' writes that have no audit row yet count too
	 * (their reservations); this handle's own are the caller's.
	 */
	[STORE_SQL_AUDIT_COUNT] = { "SELECT (SELECT count(*) FROM audit"
	    " WHERE action = $1 AND at >= $2 AND http_status BETWEEN 200 AND"
	    " 299) + COALESCE((SELECT sum(n) FROM guard_reserved WHERE"
	    " action = $1 AND owner <> $3 AND n > 0 AND lease_until >= "
	    DBNOW "), 0)", 1 },
	[STORE_SQL_AUDIT_SUBJECT] = { "SELECT " STORE_AUDIT_COLS " FROM"
	    " audit WHERE subject = $1 ORDER BY id", 0 },
	[STORE_SQL_AUDIT_USER] = { "SELECT " STORE_AUDIT_COLS " FROM audit"
	    " WHERE zendesk_user = $1 ORDER BY id", 0 },
	[STORE_SQL_SUBJECT_GET] = { "SELECT " STORE_SUBJECT_COLS " FROM"
	    " subjects WHERE key = $1", 0 },
	[STORE_SQL_SPLIT_FIND] = { "SELECT ch.id FROM events ch, events p"
	    " WHERE p.id = $1 AND ch.source = p.source AND ch.delivery_id ="
	    " p.delivery_id || '#' || $2::bigint AND ch.batch_index ="
	    " $2::bigint AND ch.body = p.body", 0 },
	[STORE_SQL_REPLAY_COUNT] = { "SELECT count(*) FROM events e WHERE"
	    REPLAY_WHERE, 0 },
};

/* Runs op with vals (and the owner) on the direct connection. */
static PGresult *
run_op(struct pg_store *ps, enum store_sql op, const struct store_val *vals,
    int n)
{
	struct params q;
	int i;

	memset(&q, 0, sizeof(q));
	for (i = 0; i < n; i++) {
		if (vals[i].is_num)
			p_int(&q, vals[i].num);
		else
			p_text(&q, vals[i].text);
	}
	if (stmts[op].owner)
		p_text(&q, ps->owner);
	return rquery(ps, stmts[op].sql, &q);
}

long
store_pg_exec(struct pg_store *ps, enum store_sql op,
    const struct store_val *vals, int n, int64_t *new_id)
{
	PGresult *r;
	long changed;

	if ((r = run_op(ps, op, vals, n)) == NULL)
		return -1;
	changed = strtol(PQcmdTuples(r), NULL, 10);
	if (new_id != NULL && PQntuples(r) == 1)
		*new_id = col_ll(r, 0, 0);
	PQclear(r);
	return changed;
}

/*
 * fn runs after this call's lock is released (a transaction's stays):
 * it may call back into the store.
 */
int
store_pg_query(struct pg_store *ps, enum store_sql op,
    const struct store_val *vals, int n, int (*fn)(const struct store_row *,
    void *), void *arg)
{
	struct store_row row = { &pg_row, NULL, 0 };
	PGresult *r;
	int stop = 0;

	if ((r = run_op(ps, op, vals, n)) == NULL)
		return -1;
	row.res = r;
	for (row.i = 0; row.i < PQntuples(r) && !stop; row.i++)
		stop = fn(&row, arg);
	PQclear(r);
	return 0;
}

int
store_pg_begin(struct pg_store *ps)
{
	PGconn *c;

	pthread_mutex_lock(&ps->rlock);
	/*
	 * No nesting: BEGIN inside a transaction only warns, and the inner
	 * end would commit or roll back the outer one (SQLite refuses it).
	 */
	if (ps->in_tx) {
		pthread_mutex_unlock(&ps->rlock);
		return -1;
	}
	if ((c = rconn(ps)) != NULL && cmd(c, "BEGIN") == 0) {
		ps->in_tx = 1;
		return 0;
	}
	if (c != NULL)
		cmd(c, "ROLLBACK");
	pthread_mutex_unlock(&ps->rlock);
	return -1;
}

int
store_pg_end(struct pg_store *ps, int commit)
{
	PGresult *r;
	int rc = 0;

	if (commit) {
		r = PQexec(ps->rconn, "COMMIT");
		/* COMMIT of a failed transaction answers ROLLBACK. */
		if (PQresultStatus(r) != PGRES_COMMAND_OK ||
		    strcmp(PQcmdStatus(r), "COMMIT") != 0)
			rc = -1;
		PQclear(r);
	}
	if (!commit || rc != 0)
		cmd(ps->rconn, "ROLLBACK");
	ps->in_tx = 0;
	pthread_mutex_unlock(&ps->rlock);
	return rc;
}

/* -------------------------------------------------------------- audit */

int
store_pg_guard_lock(struct pg_store *ps)
{
	PGresult *r = rquery(ps, "SELECT pg_advisory_lock(" STR(LOCK_GUARD) ")", NULL);

	PQclear(r);
	return r != NULL ? 0 : -1;
}

void
store_pg_guard_unlock(struct pg_store *ps)
{
	PQclear(rquery(ps, "SELECT pg_advisory_unlock(" STR(LOCK_GUARD) ")", NULL));
}

int
store_pg_guard_reserve(struct pg_store *ps, const char *action, long delta)
{
	struct params q;

	if (delta == 0)
		return 0;
	memset(&q, 0, sizeof(q));
	p_text(&q, ps->owner);
	p_text(&q, action);
	p_int(&q, delta);
	p_int(&q, ps->opts.lease_s);
	return rchanged(ps, "INSERT INTO guard_reserved (owner, action, n,"
	    " lease_until) VALUES ($1, $2, $3, " DBNOW " + $4) ON CONFLICT"
	    " (owner, action) DO UPDATE SET n = guard_reserved.n +"
	    " EXCLUDED.n, lease_until = EXCLUDED.lease_until", &q) < 0 ? -1 :
	    0;
}
