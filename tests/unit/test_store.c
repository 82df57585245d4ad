/*
 * test_store.c -- the durable inbox: put, dedupe, group commit under
 * concurrency, reopen, schema version guard, list and get.
 *
 * Both engines: without ROLEHOOK_TEST_PG_DSN the cases run on SQLite;
 * with it (tests/integration/pgserver.py starts a PostgreSQL 15 and sets
 * it, ctest's unit_store_pg) the same cases run on PostgreSQL, each in
 * a fresh schema, plus what only several nodes need (claims, leases,
 * the shared guard, an unreachable server).  SQLite-only cases (file
 * modes, old schema versions) run on SQLite only.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "rolehook/store.h"

/* Set when the cases run on PostgreSQL (main). */
static const char *pg_dsn, *pg_password;
static int nschema;

struct fixture {
	char dir[64];
	char path[512];    /* the SQLite file, or the PostgreSQL DSN */
	char schema[64];   /* PostgreSQL: the fixture's own schema */
};

/* A connection beside the store's, to look at or change its tables. */
struct raw {
	sqlite3 *db;
	PGconn *pg;
};

static PGconn *
pg_raw(const char *dsn)
{
	const char *k[] = { "dbname", "password", NULL };
	const char *v[] = { dsn, pg_password, NULL };
	PGconn *c = PQconnectdbParams(k, v, 1);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", dsn, PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static struct raw
raw_open(const struct fixture *f)
{
	struct raw r = { NULL, NULL };

	if (pg_dsn != NULL)
		r.pg = pg_raw(f->path);
	else {
		assert_int_equal(sqlite3_open(f->path, &r.db), SQLITE_OK);
		sqlite3_busy_timeout(r.db, 5000);
	}
	return r;
}

/* Runs sql; returns the rows it changed. */
static long
raw_exec(struct raw *r, const char *sql)
{
	long n;

	if (r->pg != NULL) {
		PGresult *res = PQexec(r->pg, sql);

		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(r->pg));
		n = strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		return n;
	}
	assert_int_equal(sqlite3_exec(r->db, sql, NULL, NULL, NULL), SQLITE_OK);
	return sqlite3_changes(r->db);
}

/* The integer in the first column of sql's first row. */
static int64_t
raw_int(struct raw *r, const char *sql, int col)
{
	int64_t n;

	if (r->pg != NULL) {
		PGresult *res = PQexec(r->pg, sql);

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
			fail_msg("%s: %s", sql, PQerrorMessage(r->pg));
		n = strtoll(PQgetvalue(res, 0, col), NULL, 10);
		PQclear(res);
		return n;
	} else {
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_prepare_v2(r->db, sql, -1, &s, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		n = sqlite3_column_int64(s, col);
		sqlite3_finalize(s);
		return n;
	}
}

static void
raw_close(struct raw *r)
{
	PQfinish(r->pg);
	sqlite3_close(r->db);
	r->pg = NULL;
	r->db = NULL;
}

/* store_open on the fixture's engine. */
static int
open_on(const struct fixture *f, struct store_opts *o, struct store **st,
    char *err, size_t errlen)
{
	struct store_opts dflt = { 0 };

	if (o == NULL)
		o = &dflt;
	if (pg_dsn != NULL) {
		o->engine = STORE_POSTGRESQL;
		o->password = pg_password;
	}
	return store_open(f->path, o, st, err, errlen);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rh-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	if (pg_dsn != NULL) {
		PGconn *c = pg_raw(pg_dsn);
		char sql[128];
		PGresult *r;

		snprintf(f->schema, sizeof(f->schema), "t%d_%d", (int)getpid(),
		    ++nschema);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->schema);
		r = PQexec(c, sql);
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		PQfinish(c);
		snprintf(f->path, sizeof(f->path), "%s%soptions=-csearch_path%%3D%s",
		    pg_dsn, strchr(pg_dsn, '?') != NULL ? "&" : "?", f->schema);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	if (pg_dsn != NULL) {
		PGconn *c = pg_raw(pg_dsn);
		char sql[128];

		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->schema);
		PQclear(PQexec(c, sql));
		PQfinish(c);
	}
	free(f);
	return 0;
}

static struct store *
open_store(const struct fixture *f, int batch_us)
{
	struct store_opts o = { 0 };
	struct store *st = NULL;
	char err[256];

	o.batch_rows = 16;
	o.batch_us = batch_us;
	o.queue_max = 100000;
	if (open_on(f, &o, &st, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return st;
}

static enum store_err
put(struct store *st, const char *src, const char *id, const char *body,
    int64_t *eid)
{
	struct store_event_in ev;

	memset(&ev, 0, sizeof(ev));
	ev.source = src;
	ev.delivery_id = id;
	ev.received = 1700000000;
	ev.headers_json = "{\"content-type\":\"application/json\"}";
	ev.body = (const unsigned char *)body;
	ev.body_len = strlen(body);
	return store_put(st, &ev, eid);
}

/* The signed timestamp is kept as given; absent reads back as 0. */
static void
test_signed_at_kept(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_event_in in;
	struct store_event ev;
	int64_t a = 0, b = 0;

	memset(&in, 0, sizeof(in));
	in.source = "zd";
	in.delivery_id = "t1";
	in.received = 1700000500;
	in.signed_at = 1700000000;
	in.body = (const unsigned char *)"{}";
	in.body_len = 2;
	assert_int_equal(store_put(st, &in, &a), STORE_OK);
	assert_int_equal(put(st, "zd", "t2", "{}", &b), STORE_OK);
	assert_int_equal(store_get(st, a, &ev), 0);
	assert_int_equal(ev.signed_at, 1700000000);
	assert_int_equal(ev.received, 1700000500);
	store_event_clear(&ev);
	assert_int_equal(store_get(st, b, &ev), 0);
	assert_int_equal(ev.signed_at, 0);
	store_event_clear(&ev);
	store_close(st);
}

static void
test_put_and_duplicate(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	int64_t a = 0, b = 0, c = 0;

	assert_int_equal(put(st, "gh", "d1", "{}", &a), STORE_OK);
	assert_true(a > 0);
	assert_int_equal(put(st, "gh", "d1", "{\"other\":1}", &b), STORE_DUPLICATE);
	assert_int_equal(a, b);
	/* The same id from another source is another event. */
	assert_int_equal(put(st, "zd", "d1", "{}", &c), STORE_OK);
	assert_int_not_equal(a, c);
	assert_int_equal(store_healthy(st, NULL), 0);
	store_close(st);
}

static void
test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	char longid[400];
	int64_t id;

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(put(st, "gh", "", "{}", &id), STORE_ERR_ARG);
	assert_int_equal(put(st, "gh", longid, "{}", &id), STORE_ERR_ARG);
	assert_int_equal(store_put(st, NULL, &id), STORE_ERR_ARG);
	store_close(st);
}

struct worker_arg {
	struct store *st;
	int base;
	int n;
	int ok, dup;
};

static void *
worker(void *p)
{
	struct worker_arg *w = p;
	char id[32];
	int64_t eid;
	int i;

	for (i = 0; i < w->n; i++) {
		/* Every id twice: one insert and one duplicate in all. */
		snprintf(id, sizeof(id), "id-%d", (w->base + i) / 2);
		switch (put(w->st, "load", id, "{\"x\":1}", &eid)) {
		case STORE_OK:
			w->ok++;
			break;
		case STORE_DUPLICATE:
			w->dup++;
			break;
		default:
			break;
		}
	}
	return NULL;
}

static int64_t
count_rows(const struct fixture *f)
{
	struct raw r = raw_open(f);
	int64_t n;

	n = raw_int(&r, "SELECT count(*), count(DISTINCT delivery_id) FROM"
	    " events", 0);
	assert_int_equal(n, raw_int(&r, "SELECT count(*), count(DISTINCT"
	    " delivery_id) FROM events", 1));
	raw_close(&r);
	return n;
}

static void
test_group_commit_concurrent(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 200);
	struct worker_arg w[8];
	pthread_t t[8];
	int i, ok = 0, dup = 0;

	/*
	 * Threads come in pairs that send the same ids at the same time, so
	 * duplicates land in the same batch as their first copy.
	 */
	for (i = 0; i < 8; i++) {
		w[i].st = st;
		w[i].base = (i / 2) * 100;
		w[i].n = 100;
		w[i].ok = w[i].dup = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		dup += w[i].dup;
	}
	store_close(st);
	assert_int_equal(ok, 200);
	assert_int_equal(dup, 600);
	assert_int_equal(count_rows(f), 200);
}

struct collect {
	int n;
	int64_t ids[16];
};

static void
collect_fn(const struct store_event *ev, void *arg)
{
	struct collect *c = arg;

	assert_null(ev->body); /* list never loads bodies */
	if (c->n < 16)
		c->ids[c->n] = ev->id;
	c->n++;
}

static void
test_reopen_list_get(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_opts ro = { 0 };
	struct store_event ev;
	struct collect c = { 0, { 0 } };
	int64_t a, b;
	char err[256];

	assert_int_equal(put(st, "gh", "x1", "{\"a\":1}", &a), STORE_OK);
	assert_int_equal(put(st, "zd", "x2", "{\"b\":2}", &b), STORE_OK);
	store_close(st);

	ro.readonly = 1;
	assert_int_equal(open_on(f, &ro, &st, err, sizeof(err)), 0);
	assert_int_equal(store_list(st, NULL, NULL, 10, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ids[0], b); /* newest first */
	c.n = 0;
	assert_int_equal(store_list(st, "pending", "gh", 10, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], a);
	c.n = 0;
	assert_int_equal(store_list(st, "done", NULL, 10, collect_fn, &c), 0);
	assert_int_equal(c.n, 0);

	assert_int_equal(store_get(st, a, &ev), 0);
	assert_string_equal(ev.source, "gh");
	assert_string_equal(ev.delivery_id, "x1");
	assert_string_equal(ev.state, "pending");
	assert_int_equal(ev.body_len, 7);
	assert_memory_equal(ev.body, "{\"a\":1}", 7);
	assert_string_equal(ev.headers_json,
	    "{\"content-type\":\"application/json\"}");
	store_event_clear(&ev);
	assert_int_equal(store_get(st, 999, &ev), 1);
	/* A read-only store never accepts writes. */
	assert_int_equal(put(st, "gh", "x3", "{}", &a), STORE_UNAVAILABLE);
	store_close(st);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_opts ro = { 0 };
	struct raw r;
	char err[256];

	store_close(st);
	r = raw_open(f);
	raw_exec(&r, pg_dsn != NULL ? "UPDATE rolehook_schema SET version = 99" :
	    "PRAGMA user_version = 99");
	raw_close(&r);
	st = NULL;
	assert_int_equal(open_on(f, NULL, &st, err, sizeof(err)), -1);
	assert_null(st);
	assert_non_null(strstr(err, "upgrade rolehook"));
	/* PostgreSQL checks the version on a read-only open too. */
	ro.readonly = 1;
	if (pg_dsn != NULL) {
		assert_int_equal(open_on(f, &ro, &st, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "upgrade rolehook"));
	}
}

/* sqlite_master's SQL for index or trigger name, or "" (caller frees). */
static char *
index_sql(sqlite3 *db, const char *name)
{
	sqlite3_stmt *s = NULL;
	char *sql = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master"
	    " WHERE type IN ('index', 'trigger') AND name = ?1", -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		sql = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return sql != NULL ? sql : strdup("");
}

/*
 * A schema 4 database (full events_subject index) with a stored event
 * becomes schema 6 at open: the index is partial, the event unchanged,
 * signed_at and the seen table exist.
 */
static void
test_migrate_4_to_5(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_event ev;
	sqlite3 *db = NULL;
	int64_t id = 0;
	char *sql;

	assert_int_equal(put(st, "gh", "m1", "{\"x\":1}", &id), STORE_OK);
	store_close(st);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	/* Back to schema 4: undo migrations 4->5, 5->6 and 6->7. */
	assert_int_equal(sqlite3_exec(db, "DROP INDEX events_subject;"
	    "CREATE INDEX events_subject ON events (subject, id);"
	    "DROP TRIGGER events_seen; DROP TABLE seen;"
	    "ALTER TABLE events DROP COLUMN signed_at;"
	    "ALTER TABLE events DROP COLUMN batch_index;"
	    "ALTER TABLE audit DROP COLUMN provenance;"
	    "ALTER TABLE subjects DROP COLUMN left_event;"
	    "ALTER TABLE subjects DROP COLUMN left_at;"
	    "ALTER TABLE subjects DROP COLUMN hired_event;"
	    "ALTER TABLE subjects DROP COLUMN hired_at;"
	    "PRAGMA user_version = 4", NULL, NULL, NULL), SQLITE_OK);
	sql = index_sql(db, "events_subject");
	assert_null(strstr(sql, "WHERE"));
	free(sql);
	sqlite3_close(db);

	st = open_store(f, 0);
	assert_int_equal(store_get(st, id, &ev), 0);
	assert_string_equal(ev.delivery_id, "m1");
	store_event_clear(&ev);
	/*
	 * 5 -> 6 keyed the old event by its body hash too (echo -n
	 * '{"x":1}' | sha256sum): a replay of its body is a duplicate.
	 */
	{
		int64_t dup = 0;

		assert_int_equal(put(st, "gh", "sha256:"
		    "5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22",
		    "{\"x\":1}", &dup), STORE_DUPLICATE);
		assert_int_equal(dup, id);
	}
	store_close(st);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sql = index_sql(db, "events_subject");
	assert_non_null(strstr(sql, "WHERE subject IS NOT NULL"));
	free(sql);
	/* 5 -> 6: the signed time column, the seen keys and their trigger. */
	assert_int_equal(sqlite3_exec(db, "SELECT signed_at FROM events;"
	    "SELECT batch_index FROM events;"
	    "SELECT event_id FROM seen; SELECT provenance FROM audit", NULL,
	    NULL, NULL), SQLITE_OK);
	sql = index_sql(db, "events_seen");
	assert_non_null(strstr(sql, "BEFORE DELETE ON events"));
	free(sql);
	sqlite3_close(db);
}

/*
 * serve and work share the database through a group: it is created
 * group-writable (0660 less the umask), and so are its -wal and -shm.
 */
static void
test_created_group_writable(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct stat sb;
	char wal[sizeof(f->path) + 8];
	mode_t old = umask(0007);

	st = open_store(f, 0);
	umask(old);
	assert_int_equal(put(st, "gh", "p1", "{}", NULL), STORE_OK);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0660);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0660);
	store_close(st);
}

/*
 * A database this user may not write (another user's 0644 file) is
 * refused at open, with the reason, not at the first commit.  Needs root
 * to become another user (tests/run.sh runs as root).
 */
static void
test_not_writable_refused_at_open(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	pid_t pid;
	int status = 0;

	store_close(st);
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
	if ((pid = fork()) == 0) {
		struct store *ro = NULL;
		char err[512];
		int bad;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(3);
		bad = store_open(f->path, NULL, &ro, err, sizeof(err)) == 0 ||
		    strstr(err, "read-only for this user") == NULL;
		if (bad)
			fprintf(stderr, "store_open as nobody: %s\n", ro ? "opened" :
			    err);
		store_close(ro);
		_exit(bad ? 1 : 0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_unopenable_path(void **state)
{
	struct store *st = NULL;
	char err[256];

	(void)state;
	assert_int_equal(store_open("/nonexistent-dir/x/y.db", NULL, &st, err,
	    sizeof(err)), -1);
	assert_null(st);
	assert_non_null(strstr(err, "/nonexistent-dir/x/y.db"));
	store_close(NULL);
}

static void
set_state(const struct fixture *f, const char *did, const char *state,
    long received)
{
	struct raw r = raw_open(f);
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE events SET state = '%s', "
	    "received = %ld WHERE delivery_id = '%s'", state, received, did);
	assert_int_equal(raw_exec(&r, sql), 1);
	raw_close(&r);
}

static void
test_prune_keeps_pending_and_dead(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	static const struct {
		const char *id, *state;
		long received;
		int kept;
	} rows[] = {
		{ "old-done", "done", 1000, 0 },
		{ "old-ignored", "ignored", 1000, 0 },
		{ "old-stale", "stale", 1000, 0 },
		{ "old-pending", "pending", 1000, 1 },
		{ "old-dead", "dead", 1000, 1 },
		{ "new-done", "done", 5000, 1 },
	};
	struct collect c = { 0, { 0 } };
	int64_t id;
	long deleted = -1;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(put(st, "gh", rows[i].id, "{}", &id), STORE_OK);
		set_state(f, rows[i].id, rows[i].state, rows[i].received);
	}
	assert_int_equal(store_prune(st, 2000, &deleted), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(store_list(st, NULL, NULL, 100, collect_fn, &c), 0);
	assert_int_equal(c.n, 3);
	/*
	 * A pruned key stays taken (the seen table): a captured request
	 * re-sent after retention is a duplicate, not a new event.  (Until
	 * schema 6 pruned keys were free again.)
	 */
	assert_int_equal(put(st, "gh", "old-done", "{}", &id), STORE_DUPLICATE);
	assert_true(id > 0);
	assert_int_equal(put(st, "gh", "old-dead", "{}", &id), STORE_DUPLICATE);
	assert_int_equal(put(st, "other", "old-done", "{}", &id), STORE_OK);
	store_close(st);
}

struct one_put {
	struct store *st;
	char id[16];
	enum store_err res;
};

static void *
one_put_main(void *arg)
{
	struct one_put *o = arg;
	int64_t id;

	o->res = put(o->st, "gh", o->id, "{}", &id);
	return NULL;
}

static void
test_queue_bound_is_busy_not_lost(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = { 0 };
	struct store *st = NULL;
	struct one_put p[3];
	pthread_t t[3];
	struct raw r;
	char err[256];
	int64_t id;
	int i;

	o.queue_max = 2;
	assert_int_equal(open_on(f, &o, &st, err, sizeof(err)), 0);
	/* Another connection holds the write lock: the writer stalls. */
	r = raw_open(f);
	raw_exec(&r, pg_dsn != NULL ? "BEGIN; LOCK TABLE events IN EXCLUSIVE"
	    " MODE" : "BEGIN IMMEDIATE");
	for (i = 0; i < 3; i++) {
		p[i].st = st;
		snprintf(p[i].id, sizeof(p[i].id), "q%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, one_put_main,
		    &p[i]), 0);
		usleep(100000); /* sequencing only: the writer takes q0 */
	}
	/* q0 is in the stalled batch, q1 and q2 fill the queue. */
	assert_int_equal(put(st, "gh", "q3", "{}", &id), STORE_BUSY);
	raw_exec(&r, "COMMIT");
	raw_close(&r);
	for (i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(p[i].res, STORE_OK);
	}
	/* The refused one was not stored: its retry is a fresh insert. */
	assert_int_equal(put(st, "gh", "q3", "{}", &id), STORE_OK);
	store_close(st);
	assert_int_equal(count_rows(f), 4);
}

struct due_ctx {
	int n;
	int64_t ids[16];
	char subjects[16][32];
};

static int
due_fn(const struct store_event *ev, void *arg)
{
	struct due_ctx *d = arg;

	assert_non_null(ev->body);
	if (d->n < 16) {
		d->ids[d->n] = ev->id;
		snprintf(d->subjects[d->n], sizeof(d->subjects[0]), "%s",
		    ev->subject ? ev->subject : "");
	}
	d->n++;
	return 0;
}

struct audit_ctx {
	int n;
	char actions[8][32];
	int status[8];
};

static void
audit_fn(int64_t id, time_t at, const struct store_audit *a, void *arg)
{
	struct audit_ctx *c = arg;

	assert_true(id > 0);
	assert_true(at > 0);
	if (c->n < 8) {
		snprintf(c->actions[c->n], sizeof(c->actions[0]), "%s",
		    a->action);
		c->status[c->n] = a->http_status;
	}
	c->n++;
}

static void
test_worker_api(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_opts o = { 0 };
	struct store *w = NULL;
	struct due_ctx d;
	struct audit_ctx ac;
	struct store_audit a;
	struct store_subject subj, got;
	struct store_event ev;
	int64_t id1, id2, id3, aid = 0;
	char err[256];

	assert_int_equal(put(st, "gh", "w1", "{\"n\":1}", &id1), STORE_OK);
	assert_int_equal(put(st, "gh", "w2", "{\"n\":2}", &id2), STORE_OK);
	assert_int_equal(put(st, "gh", "w3", "{\"n\":3}", &id3), STORE_OK);

	o.direct = 1;
	assert_int_equal(open_on(f, &o, &w, err, sizeof(err)), 0);
	/* A direct store never ingests. */
	assert_int_equal(put(w, "gh", "w4", "{}", &id1), STORE_UNAVAILABLE);

	{
		int64_t ids[8];
		int n = 0;

		assert_int_equal(store_unclassified(w, 8, ids, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(ids[0], id1);
	}
	/* Nothing is due before it is classified. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_due(w, 2000000000, 0, 10, due_fn, &d), 0);
	assert_int_equal(store_set_subject(w, id1, "bamboohr:42", 1700000000,
	    "hire"), 0);
	assert_int_equal(store_set_subject(w, id2, "bamboohr:43", 0, "hire"), 0);
	assert_int_equal(store_set_subject(w, id3, "bamboohr:42", 0, NULL), 0);
	/* id3 waits for id1: same person, one event at a time, in order. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_due(w, 2000000000, 0, 10, due_fn, &d), 2);
	assert_int_equal(d.ids[0], id1);
	assert_int_equal(d.ids[1], id2);
	assert_string_equal(d.subjects[0], "bamboohr:42");

	assert_int_equal(store_finish(w, id1, "done", NULL), 0);
	assert_int_equal(store_retry(w, id2, 2000000100, "HTTP 503"), 0);
	assert_int_equal(store_finish(w, 999999, "done", NULL), -1);

	/* Done is not due; the retry is due only from its next attempt. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_due(w, 2000000000, 0, 10, due_fn, &d), 1);
	assert_int_equal(d.ids[0], id3);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_due(w, 2000000100, 0, 10, due_fn, &d), 2);
	assert_int_equal(d.ids[0], id2);
	/* after_id pages through. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_due(w, 2000000100, id2, 10, due_fn, &d), 1);
	assert_int_equal(d.ids[0], id3);

	assert_int_equal(store_get(w, id2, &ev), 0);
	assert_string_equal(ev.state, "retry");
	assert_int_equal(ev.attempts, 1);
	assert_string_equal(ev.last_error, "HTTP 503");
	assert_int_equal(ev.next_attempt, 2000000100);
	store_event_clear(&ev);
	assert_int_equal(store_get(w, id1, &ev), 0);
	assert_string_equal(ev.subject, "bamboohr:42");
	assert_int_equal(ev.effective_at, 1700000000);
	store_event_clear(&ev);

	assert_int_equal(store_finish(w, id3, "dead", "HTTP 422: bad field"), 0);
	assert_int_equal(store_requeue(w, id3), 0);
	assert_int_equal(store_requeue(w, 999999), 1);
	assert_int_equal(store_get(w, id3, &ev), 0);
	assert_string_equal(ev.state, "pending");
	assert_int_equal(ev.attempts, 0);
	store_event_clear(&ev);

	memset(&a, 0, sizeof(a));
	a.event_id = id1;
	a.subject = "bamboohr:42";
	a.action = "update_role";
	a.rule = "tier1";
	a.policy_hash = "abc";
	a.before = "{\"role\":\"end-user\"}";
	a.after = "{\"role\":\"agent\"}";
	a.http_status = 200;
	a.zendesk_user = "9001";
	a.request = "PUT /api/v2/users/9001.json";
	assert_int_equal(store_audit_add(w, &a, &aid), 0);
	assert_true(aid > 0);
	a.action = "entitlements_off";
	a.zendesk_user = NULL;
	assert_int_equal(store_audit_add(w, &a, NULL), 0);
	memset(&ac, 0, sizeof(ac));
	assert_int_equal(store_audit_list(w, "bamboohr:42", audit_fn, &ac), 0);
	assert_int_equal(ac.n, 2);
	assert_string_equal(ac.actions[0], "update_role");
	assert_int_equal(ac.status[0], 200);
	memset(&ac, 0, sizeof(ac));
	assert_int_equal(store_audit_list(w, "zendesk_user:9001", audit_fn, &ac), 0);
	assert_int_equal(ac.n, 1);

	assert_int_equal(store_subject_get(w, "bamboohr:42", &got), 1);
	memset(&subj, 0, sizeof(subj));
	subj.key = (char *)"bamboohr:42";
	subj.last_event_id = id1;
	subj.last_effective = 1700000000;
	subj.snapshot = (char *)"{\"role\":\"agent\"}";
	subj.snapshot_at = 1700000001;
	assert_int_equal(store_subject_put(w, &subj), 0);
	assert_int_equal(store_subject_get(w, "bamboohr:42", &got), 0);
	/* Not yet written: read as 0 (also a row from before schema 7). */
	assert_int_equal(got.left_event, 0);
	assert_int_equal(got.hired_at, 0);
	store_subject_clear(&got);
	subj.last_effective = 1700000500;
	subj.left_event = id1 + 7;
	subj.left_at = 1700000400;
	subj.hired_event = id1 + 3;
	subj.hired_at = 1600000000;
	assert_int_equal(store_subject_put(w, &subj), 0);
	assert_int_equal(store_subject_get(w, "bamboohr:42", &got), 0);
	assert_int_equal(got.last_event_id, id1);
	assert_int_equal(got.last_effective, 1700000500);
	assert_string_equal(got.snapshot, "{\"role\":\"agent\"}");
	assert_int_equal(got.left_event, id1 + 7);
	assert_int_equal(got.left_at, 1700000400);
	assert_int_equal(got.hired_event, id1 + 3);
	assert_int_equal(got.hired_at, 1600000000);
	store_subject_clear(&got);

	store_close(w);
	store_close(st);
}

struct state_ctx {
	int n;
	char states[8][16];
	long counts[8];
};

static void
state_fn(const char *state, long count, void *arg)
{
	struct state_ctx *c = arg;

	if (c->n < 8) {
		snprintf(c->states[c->n], sizeof(c->states[0]), "%s", state);
		c->counts[c->n] = count;
	}
	c->n++;
}

/* The count of one state in store_count_states, 0 if absent. */
static long
state_count(struct store *st, const char *state)
{
	struct state_ctx c;
	int i;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_count_states(st, state_fn, &c), 0);
	for (i = 0; i < c.n && i < 8; i++)
		if (strcmp(c.states[i], state) == 0)
			return c.counts[i];
	return 0;
}

struct audit_full {
	int n;
	int64_t event_id;
	char rule[16], provenance[16], subject[16];
	int has_user;
};

static void
audit_full_fn(int64_t id, time_t at, const struct store_audit *a, void *arg)
{
	struct audit_full *c = arg;

	(void)id;
	(void)at;
	c->n++;
	c->event_id = a->event_id;
	snprintf(c->rule, sizeof(c->rule), "%s", a->rule ? a->rule : "(null)");
	snprintf(c->provenance, sizeof(c->provenance), "%s",
	    a->provenance ? a->provenance : "(null)");
	snprintf(c->subject, sizeof(c->subject), "%s",
	    a->subject ? a->subject : "(null)");
	c->has_user = a->zendesk_user != NULL;
}

static int
stop_first(const struct store_event *ev, void *arg)
{
	struct due_ctx *d = arg;

	due_fn(ev, d);
	return 1;
}

/* A list's fn that reads the store again: the same list, and the event. */
struct nest {
	struct store *st;
	int outer, inner;
};

static void
nest_fn(const struct store_event *ev, void *arg)
{
	struct nest *n = arg;
	struct collect c = { 0, { 0 } };
	struct store_event e;

	n->outer++;
	assert_int_equal(store_list(n->st, NULL, NULL, 0, collect_fn, &c), 0);
	n->inner += c.n;
	assert_int_equal(store_get(n->st, ev->id, &e), 0);
	assert_int_equal(e.id, ev->id);
	store_event_clear(&e);
}

/*
 * The event state changes, their results (0, 1 when nothing matched,
 * -1), and the reads that see them: the same on both engines.
 */
static void
test_state_changes(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_opts o = { 0 }, ro = { 0 };
	struct store *w = NULL, *r = NULL;
	struct store_event ev;
	struct store_subject subj, got;
	struct store_audit a;
	struct audit_full af;
	struct due_ctx d;
	struct collect c = { 0, { 0 } };
	int64_t id[6];
	char err[256], key[8];
	long n = -1;
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		assert_int_equal(put(st, "gh", key, "{}", &id[i]), STORE_OK);
	}
	o.direct = 1;
	assert_int_equal(open_on(f, &o, &w, err, sizeof(err)), 0);
	assert_int_equal(store_set_subject(w, id[0], "p:1", 1800000000,
	    "hire"), 0);
	assert_int_equal(store_set_subject(w, id[1], "p:1", 1800000000,
	    "hire"), 0);
	assert_int_equal(store_set_subject(w, id[2], "p:1", 1800000000,
	    "term"), 0);
	assert_int_equal(store_set_subject(w, 999999, "p:1", 0, NULL), -1);

	/* wait: state, time and note; a missing id is an error. */
	assert_int_equal(store_wait(w, id[0], 1800000000, "until 1800000000"),
	    0);
	assert_int_equal(store_wait(w, id[1], 1800000000, "w"), 0);
	assert_int_equal(store_wait(w, id[2], 1800000000, "w"), 0);
	assert_int_equal(store_wait(w, 999999, 1, "w"), -1);
	assert_int_equal(store_get(w, id[0], &ev), 0);
	assert_string_equal(ev.state, "waiting");
	assert_int_equal(ev.next_attempt, 1800000000);
	assert_string_equal(ev.last_error, "until 1800000000");
	store_event_clear(&ev);
	assert_int_equal(state_count(w, "waiting"), 3);

	/* supersede: earlier waiting events of that person and kind only. */
	assert_int_equal(store_supersede(w, id[1], "p:1", "hire", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_supersede(w, id[1], "p:1", "hire", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_get(w, id[0], &ev), 0);
	assert_string_equal(ev.state, "cancelled");
	assert_string_equal(ev.last_error, "moved: superseded by event 2");
	store_event_clear(&ev);

	/* cancel: 0, then 1 (finished), 1 (no such event). */
	assert_int_equal(store_cancel(w, id[2]), 0);
	assert_int_equal(store_cancel(w, id[2]), 1);
	assert_int_equal(store_cancel(w, 999999), 1);
	assert_int_equal(store_get(w, id[2], &ev), 0);
	assert_string_equal(ev.last_error,
	    "cancelled by rolehook events cancel");
	store_event_clear(&ev);

	/* hold and approve. */
	assert_int_equal(store_hold(w, id[3], "guard: 5 > 4"), 0);
	assert_int_equal(store_hold(w, 999999, "x"), -1);
	assert_int_equal(store_get(w, id[3], &ev), 0);
	assert_string_equal(ev.state, "held");
	assert_string_equal(ev.last_error, "guard: 5 > 4");
	assert_int_equal(ev.approved, 0);
	store_event_clear(&ev);
	assert_int_equal(store_approve(w, id[3]), 0);
	assert_int_equal(store_approve(w, id[3]), 1);
	assert_int_equal(store_approve(w, 999999), 1);
	assert_int_equal(store_get(w, id[3], &ev), 0);
	assert_string_equal(ev.state, "pending");
	assert_int_equal(ev.approved, 1);
	store_event_clear(&ev);

	/* list: no limit, a limit, no bodies. */
	assert_int_equal(store_list(w, NULL, NULL, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 6);
	c.n = 0;
	assert_int_equal(store_list(w, NULL, "gh", 2, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ids[0], id[5]);
	c.n = 0;
	assert_int_equal(store_list(w, "cancelled", NULL, -1, collect_fn, &c),
	    0);
	assert_int_equal(c.n, 2);

	/*
	 * replay: of each person the newest finished event only, and those
	 * without a person; the people forget how far they got.
	 */
	assert_int_equal(store_set_subject(w, id[4], "p:1", 0, NULL), 0);
	assert_int_equal(store_set_subject(w, id[5], "p:2", 0, NULL), 0);
	assert_int_equal(store_finish(w, id[4], "done", NULL), 0);
	assert_int_equal(store_finish(w, id[5], "dead", "HTTP 422"), 0);
	assert_int_equal(store_finish(w, id[3], "ignored", NULL), 0);
	memset(&subj, 0, sizeof(subj));
	subj.key = (char *)"p:2";
	subj.last_event_id = id[5];
	subj.last_effective = 1700000000;
	assert_int_equal(store_subject_put(w, &subj), 0);
	assert_int_equal(store_replay(w, 1600000000, 1, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_replay(w, 1800000000, 1, &n), 0);
	assert_int_equal(n, 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_replay_list(w, 1600000000, due_fn, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.ids[0], id[3]);
	assert_int_equal(d.ids[1], id[4]);
	assert_int_equal(d.ids[2], id[5]);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_replay_list(w, 1600000000, stop_first, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(state_count(w, "pending"), 0);
	assert_int_equal(store_replay(w, 1600000000, 0, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(state_count(w, "pending"), 3);
	assert_int_equal(store_get(w, id[5], &ev), 0);
	assert_string_equal(ev.state, "pending");
	assert_int_equal(ev.attempts, 0);
	assert_null(ev.last_error);
	store_event_clear(&ev);
	assert_int_equal(store_subject_get(w, "p:2", &got), 0);
	assert_int_equal(got.last_effective, 0);
	assert_int_equal(got.last_event_id, id[5]);
	assert_null(got.snapshot);
	store_subject_clear(&got);
	assert_int_equal(store_subject_get(w, "p:3", &got), 1);
	assert_null(got.key);

	/* retry and requeue: attempts count, requeue resets them. */
	assert_int_equal(store_retry(w, id[5], 1700000100, "HTTP 503"), 0);
	assert_int_equal(store_retry(w, 999999, 1, "x"), -1);
	assert_int_equal(store_requeue(w, id[5]), 0);
	assert_int_equal(store_get(w, id[5], &ev), 0);
	assert_string_equal(ev.state, "pending");
	assert_int_equal(ev.attempts, 0);
	assert_int_equal(ev.next_attempt, 0);
	assert_string_equal(ev.last_error, "HTTP 503");
	store_event_clear(&ev);

	/* audit: every field back, an unknown action, the counts. */
	memset(&a, 0, sizeof(a));
	a.subject = "p:9";
	a.rule = "r1";
	a.http_status = 201;
	a.provenance = "snapshot";
	assert_int_equal(store_audit_add(w, &a, NULL), 0);
	a.action = "update_role";
	a.http_status = 500;
	assert_int_equal(store_audit_add(w, &a, NULL), 0);
	memset(&af, 0, sizeof(af));
	assert_int_equal(store_audit_list(w, "p:9", audit_full_fn, &af), 0);
	assert_int_equal(af.n, 2);
	assert_int_equal(af.event_id, 0);
	assert_string_equal(af.rule, "r1");
	assert_string_equal(af.provenance, "snapshot");
	assert_string_equal(af.subject, "p:9");
	assert_int_equal(af.has_user, 0);
	memset(&af, 0, sizeof(af));
	assert_int_equal(store_audit_list(w, "zendesk_user:", audit_full_fn,
	    &af), 0);
	assert_int_equal(af.n, 0);
	assert_int_equal(store_audit_count(w, "unknown", 0), 1);
	assert_int_equal(store_audit_count(w, "update_role", 0), 0);
	assert_int_equal(store_audit_count(w, "unknown", time(NULL) + 3600),
	    0);

	/* fn may call back into the store, even the same read. */
	{
		struct nest nn = { w, 0, 0 };

		assert_int_equal(store_list(w, NULL, NULL, 3, nest_fn, &nn), 0);
		assert_int_equal(nn.outer, 3);
		assert_int_equal(nn.inner, 18);
	}

	/* A read-only handle reads, and every write fails. */
	ro.readonly = 1;
	assert_int_equal(open_on(f, &ro, &r, err, sizeof(err)), 0);
	assert_int_equal(state_count(r, "pending"), 3);
	assert_int_equal(store_get(r, id[5], &ev), 0);
	store_event_clear(&ev);
	assert_int_equal(store_audit_count(r, "unknown", 0), 1);
	assert_int_equal(store_wait(r, id[5], 1, "w"), -1);
	assert_int_equal(store_cancel(r, id[5]), -1);
	assert_int_equal(store_approve(r, id[5]), -1);
	assert_int_equal(store_supersede(r, id[5], "p:2", "hire", &n), -1);
	assert_int_equal(store_audit_add(r, &a, NULL), -1);
	assert_int_equal(store_subject_put(r, &subj), -1);
	assert_int_equal(store_replay(r, 1600000000, 0, &n), -1);
	assert_int_equal(store_replay(r, 1600000000, 1, &n), 0);
	assert_int_equal(store_split(r, id[5], 2, NULL, NULL), -1);
	store_close(r);

	store_close(w);
	store_close(st);
}

/*
 * A batched delivery splits into one pending child per person, keyed
 * "<parent>#<i>", with its index, body and signed time; the parent is
 * done with a note naming the children.  Splitting again (requeued, or
 * the worker reclassifying) adds nothing; a child's key held by an
 * unrelated event refuses the split and changes nothing.
 */
static void
test_split_batch(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_opts o = { 0 };
	struct store *w = NULL;
	struct store_event_in in;
	struct store_event ev;
	const char *body = "{\"employees\":[{},{},{}]}";
	int64_t pid = 0, other = 0, a = 0, b = 0, a2 = 0, b2 = 0, ids[16];
	char err[256], key[32];
	int n = 0, i;

	memset(&in, 0, sizeof(in));
	in.source = "bamboo";
	in.delivery_id = "d1";
	in.received = 1700000000;
	in.signed_at = 1700000007;
	in.headers_json = "{}";
	in.body = (const unsigned char *)body;
	in.body_len = strlen(body);
	assert_int_equal(store_put(st, &in, &pid), STORE_OK);
	/* An unrelated delivery whose (signed) id looks like a child key. */
	assert_int_equal(put(st, "bamboo", "d2#1", "{}", &other), STORE_OK);
	in.delivery_id = "d2";
	assert_int_equal(store_put(st, &in, NULL), STORE_OK);
	store_close(st);
	o.direct = 1;
	assert_int_equal(open_on(f, &o, &w, err, sizeof(err)), 0);

	assert_int_equal(store_split(w, pid, 1, NULL, NULL), -1);
	assert_int_equal(store_split(w, pid, 3, &a, &b), 0);
	assert_int_equal(b - a, 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(store_get(w, a + i, &ev), 0);
		snprintf(key, sizeof(key), "d1#%d", i);
		assert_string_equal(ev.delivery_id, key);
		assert_string_equal(ev.source, "bamboo");
		assert_string_equal(ev.state, "pending");
		assert_null(ev.subject);
		assert_true(ev.batched);
		assert_int_equal(ev.batch_index, i);
		assert_int_equal(ev.signed_at, 1700000007);
		assert_int_equal(ev.received, 1700000000);
		assert_int_equal(ev.body_len, strlen(body));
		assert_memory_equal(ev.body, body, strlen(body));
		store_event_clear(&ev);
	}
	assert_int_equal(store_get(w, pid, &ev), 0);
	assert_false(ev.batched);
	assert_string_equal(ev.state, "done");
	snprintf(key, sizeof(key), "batch of 3: events %d..%d", (int)a, (int)b);
	assert_string_equal(ev.last_error, key);
	store_event_clear(&ev);
	/* Not pending any more: nothing to split. */
	assert_int_equal(store_split(w, pid, 3, NULL, NULL), -1);
	/* Requeued (events retry): the same children, none added. */
	assert_int_equal(store_requeue(w, pid), 0);
	assert_int_equal(store_split(w, pid, 3, &a2, &b2), 0);
	assert_int_equal(a2, a);
	assert_int_equal(b2, b);
	/* The unclassified: the three children and d2, in id order. */
	assert_int_equal(store_unclassified(w, 16, ids, &n), 0);
	assert_int_equal(n, 5);   /* d2#1, d2, 3 children */
	assert_int_equal(ids[2], a);
	assert_int_equal(ids[4], b);
	/* d2's child key d2#1 is held by an unrelated event: no split. */
	assert_int_equal(store_split(w, ids[1], 3, NULL, NULL), -1);
	assert_int_equal(store_get(w, ids[1], &ev), 0);
	assert_string_equal(ev.state, "pending");
	store_event_clear(&ev);
	assert_int_equal(store_unclassified(w, 16, ids, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(store_get(w, other, &ev), 0);
	assert_false(ev.batched);
	store_event_clear(&ev);
	store_close(w);
}

/* ------------------------------------------------ PostgreSQL only */

static struct store *
open_worker(const struct fixture *f, int lease_s)
{
	struct store_opts o = { 0 };
	struct store *w = NULL;
	char err[256];

	o.direct = 1;
	o.lease_s = lease_s;
	if (open_on(f, &o, &w, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return w;
}

/* Puts an event for subject and classifies it; returns its id. */
static int64_t
put_for(struct store *st, struct store *w, const char *id,
    const char *subject)
{
	int64_t eid = 0;

	assert_int_equal(put(st, "gh", id, "{}", &eid), STORE_OK);
	assert_int_equal(store_set_subject(w, eid, subject, 0, "hire"), 0);
	return eid;
}

static int
due_ids(struct store *w, struct due_ctx *d)
{
	memset(d, 0, sizeof(*d));
	return store_due(w, 2000000000, 0, 16, due_fn, d);
}

/*
 * Two workers on one store: each event goes to one of them; a person's
 * later event waits while another worker holds the earlier one; the
 * claim ends with finish/retry/hold; a worker whose claim was taken over
 * cannot finish the event; closing hands claims back.
 */
static void
test_pg_claims(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store *w1 = open_worker(f, 60), *w2 = open_worker(f, 60);
	struct due_ctx d;
	struct raw r;
	int64_t a1, a2, b1, c1, ids[4];
	int n = 0;

	/* Unclassified events are claimed too: one classifier each. */
	assert_int_equal(put(st, "gh", "u1", "{}", &a1), STORE_OK);
	assert_int_equal(store_unclassified(w1, 4, ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_unclassified(w2, 4, ids, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_unclassified(w1, 4, ids, &n), 0);
	assert_int_equal(n, 1); /* its own claim comes back */
	/* Another worker cannot record the subject of w1's event. */
	assert_int_equal(store_set_subject(w2, a1, "p:a", 0, "hire"), -1);
	assert_int_equal(store_set_subject(w1, a1, "p:a", 0, "hire"), 0);

	a2 = put_for(st, w1, "a2", "p:a");
	b1 = put_for(st, w1, "b1", "p:b");
	assert_int_equal(due_ids(w1, &d), 2);
	assert_int_equal(d.ids[0], a1);
	assert_int_equal(d.ids[1], b1);
	/* w1 holds a1 and b1; a2 waits for a1. */
	assert_int_equal(due_ids(w2, &d), 0);
	/* Its own claims come back to w1 (it may still be busy with them). */
	assert_int_equal(due_ids(w1, &d), 2);
	assert_int_equal(store_finish(w1, a1, "done", NULL), 0);
	assert_int_equal(due_ids(w2, &d), 1);
	assert_int_equal(d.ids[0], a2);
	/* w1 does not get a2 now: w2 holds it. */
	assert_int_equal(due_ids(w1, &d), 1);
	assert_int_equal(d.ids[0], b1);
	assert_int_equal(store_retry(w2, a2, 1000, "HTTP 503"), 0);
	/* Released by the retry: due again for anyone. */
	assert_int_equal(due_ids(w1, &d), 2);

	/* A claim taken over (w1's lease ran out) cannot be finished by w1. */
	r = raw_open(f);
	assert_int_equal(raw_exec(&r, "UPDATE events SET lease_until = 0 WHERE"
	    " delivery_id IN ('a2', 'b1')"), 2);
	assert_int_equal(due_ids(w2, &d), 2);
	assert_int_equal(store_finish(w1, b1, "done", NULL), -1);
	assert_int_equal(store_hold(w2, b1, "held: limit"), 0);
	assert_int_equal(raw_int(&r, "SELECT count(*) FROM events WHERE"
	    " claimed_by IS NOT NULL AND delivery_id = 'b1'", 0), 0);

	/* A claim on one event holds back the person's other events, too. */
	c1 = put_for(st, w1, "c1", "p:c");
	assert_int_equal(raw_exec(&r, "UPDATE events SET state = 'waiting'"
	    " WHERE delivery_id = 'c1'"), 1);
	(void)put_for(st, w1, "c2", "p:c");
	assert_int_equal(raw_exec(&r, "UPDATE events SET claimed_by ="
	    " 'elsewhere', lease_until = 4000000000 WHERE delivery_id = 'c1'"),
	    1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(store_due(w1, 2000000000, a2, 16, due_fn, &d), 0);
	(void)c1;

	/* Closing hands back what a worker holds. */
	store_close(w2);
	assert_int_equal(raw_int(&r, "SELECT count(*) FROM events WHERE"
	    " claimed_by IS NOT NULL AND claimed_by <> 'elsewhere'", 0), 0);
	raw_close(&r);
	store_close(w1);
	store_close(st);
}

/*
 * An event not classified yet may be anyone's: while another worker
 * classifies it (or died doing so, its claim not run out), no later
 * event is due; once it has a subject, the later events are.
 */
static void
test_pg_unclassified_first(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store *w1 = open_worker(f, 60), *w2 = open_worker(f, 60);
	struct due_ctx d;
	int64_t u = 0, a, ids[4];
	int n = 0;

	assert_int_equal(put(st, "gh", "u", "{}", &u), STORE_OK);
	assert_int_equal(store_unclassified(w2, 4, ids, &n), 0);
	assert_int_equal(n, 1);
	a = put_for(st, w1, "a", "p:a");
	assert_int_equal(due_ids(w1, &d), 0);
	assert_int_equal(due_ids(w2, &d), 0);
	assert_int_equal(store_set_subject(w2, u, "p:a", 0, "update"), 0);
	/* Now in order: u first, a after it (the same person). */
	assert_int_equal(due_ids(w1, &d), 1);
	assert_int_equal(d.ids[0], u);
	assert_int_equal(store_finish(w1, u, "done", NULL), 0);
	assert_int_equal(due_ids(w2, &d), 1);
	assert_int_equal(d.ids[0], a);
	assert_int_equal(store_finish(w2, a, "done", NULL), 0);
	store_close(w1);
	store_close(w2);
	store_close(st);
}

/*
 * `events retry` on an event a live worker is applying does not hand
 * the event to another worker: the claim stays until the first worker
 * finishes (which then records its outcome, as on SQLite) or its lease
 * runs out.
 */
static void
test_pg_requeue_keeps_claim(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store *w1 = open_worker(f, 60), *w2 = open_worker(f, 60);
	struct due_ctx d;
	int64_t a;

	a = put_for(st, w1, "a", "p:a");
	assert_int_equal(due_ids(w1, &d), 1);
	assert_int_equal(store_requeue(st, a), 0);
	assert_int_equal(due_ids(w2, &d), 0);
	assert_int_equal(store_finish(w1, a, "done", NULL), 0);
	assert_int_equal(due_ids(w2, &d), 0);
	store_close(w1);
	store_close(w2);
	store_close(st);
}

/*
 * A worker that dies keeps its claims only until the lease runs out; a
 * live one renews them in the background (every lease_s / 3).
 */
static void
test_pg_lease(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store *w1 = open_worker(f, 3), *w2 = open_worker(f, 3);
	struct due_ctx d;
	struct raw r = raw_open(f);
	int64_t a;

	a = put_for(st, w1, "a", "p:a");
	assert_int_equal(due_ids(w1, &d), 1);
	/* After two leases, w1 (alive) still holds it. */
	sleep(6);
	assert_int_equal(due_ids(w2, &d), 0);
	assert_true(raw_int(&r, "SELECT lease_until - EXTRACT(EPOCH FROM"
	    " now())::bigint FROM events WHERE delivery_id = 'a'", 0) > 0);
	/* A dead worker (its claim is not renewed): free after the lease. */
	assert_int_equal(raw_exec(&r, "UPDATE events SET claimed_by = 'dead',"
	    " lease_until = EXTRACT(EPOCH FROM now())::bigint + 1 WHERE"
	    " delivery_id = 'a'"), 1);
	assert_int_equal(due_ids(w2, &d), 0);
	sleep(3);
	assert_int_equal(due_ids(w2, &d), 1);
	assert_int_equal(d.ids[0], a);
	assert_int_equal(store_finish(w2, a, "done", NULL), 0);
	raw_close(&r);
	store_close(w1);
	store_close(w2);
	store_close(st);
}

struct lock_arg {
	struct store *w;
	volatile int got;
};

static void *
lock_main(void *p)
{
	struct lock_arg *a = p;

	assert_int_equal(store_guard_lock(a->w), 0);
	a->got = 1;
	store_guard_unlock(a->w);
	return NULL;
}

/*
 * The blast-radius guard across workers: one lock for all, and each
 * worker counts the others' reserved writes (not its own, which it
 * tracks itself) until their audit rows replace them.
 */
static void
test_pg_guard_shared(void **state)
{
	struct fixture *f = *state;
	struct store *w1 = open_worker(f, 60), *w2 = open_worker(f, 60);
	struct store_audit a;
	struct lock_arg la = { w2, 0 };
	pthread_t t;

	assert_int_equal(store_guard_lock(w1), 0);
	assert_int_equal(pthread_create(&t, NULL, lock_main, &la), 0);
	usleep(300000);
	assert_int_equal(la.got, 0);
	assert_int_equal(store_guard_reserve(w1, "suspend", 3), 0);
	store_guard_unlock(w1);
	pthread_join(t, NULL);
	assert_int_equal(la.got, 1);
	assert_int_equal(store_audit_count(w2, "suspend", 0), 3);
	assert_int_equal(store_audit_count(w1, "suspend", 0), 0);
	assert_int_equal(store_audit_count(w2, "role", 0), 0);
	/* One write done: its audit row counts, its reservation not. */
	memset(&a, 0, sizeof(a));
	a.action = "suspend";
	a.http_status = 200;
	assert_int_equal(store_audit_add(w1, &a, NULL), 0);
	assert_int_equal(store_guard_reserve(w1, "suspend", -1), 0);
	assert_int_equal(store_audit_count(w2, "suspend", 0), 3);
	assert_int_equal(store_audit_count(w1, "suspend", 0), 1);
	/* A worker that stops drops its reservations. */
	store_close(w1);
	assert_int_equal(store_audit_count(w2, "suspend", 0), 1);
	store_close(w2);
}

/* Two serve nodes on one database: each key is stored once. */
static void
test_pg_two_nodes_dedupe(void **state)
{
	struct fixture *f = *state;
	struct store *n1 = open_store(f, 200), *n2 = open_store(f, 200);
	struct worker_arg w[8];
	pthread_t t[8];
	int i, ok = 0, dup = 0;

	for (i = 0; i < 8; i++) {
		w[i].st = i % 2 ? n2 : n1;
		w[i].base = (i / 2) * 100;
		w[i].n = 100;
		w[i].ok = w[i].dup = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		dup += w[i].dup;
	}
	store_close(n1);
	store_close(n2);
	assert_int_equal(ok, 200);
	assert_int_equal(dup, 600);
	assert_int_equal(count_rows(f), 200);
}

/*
 * The server goes away: put answers STORE_UNAVAILABLE (ingress: 503 with
 * Retry-After) and store_healthy says why; when it is back, the store
 * reconnects by itself and the next put is stored.  A connection that
 * merely broke (a server restart) is replaced within the same put.
 */
static void
test_pg_unreachable_then_back(void **state)
{
	struct fixture *f = *state;
	struct fixture own;
	struct store *st;
	struct raw r;
	const char *why = NULL;
	int64_t id = 0, id2 = 0;
	int i;

	(void)f;
	/* A database of its own, so that it can refuse connections. */
	r.db = NULL;
	r.pg = pg_raw(pg_dsn);
	raw_exec(&r, "DROP DATABASE IF EXISTS rh_unreach");
	raw_exec(&r, "CREATE DATABASE rh_unreach");
	memset(&own, 0, sizeof(own));
	snprintf(own.path, sizeof(own.path), "%.*s/rh_unreach",
	    (int)(strrchr(pg_dsn, '/') - pg_dsn), pg_dsn);
	st = open_store(&own, 0);
	assert_int_equal(put(st, "gh", "before", "{}", &id), STORE_OK);
	/* Connections dropped (a restart): the put reconnects and stores. */
	raw_exec(&r, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = 'rh_unreach'");
	assert_int_equal(put(st, "gh", "after-restart", "{}", &id2), STORE_OK);
	assert_true(id2 > id);
	/* Refused and dropped: unavailable, and healthz says why. */
	raw_exec(&r, "ALTER DATABASE rh_unreach ALLOW_CONNECTIONS false");
	raw_exec(&r, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = 'rh_unreach'");
	assert_int_equal(put(st, "gh", "during", "{}", &id), STORE_UNAVAILABLE);
	assert_int_equal(store_healthy(st, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, "database unreachable");
	/* Still down a second later: the idle probe keeps it unhealthy. */
	sleep(2);
	assert_int_equal(store_healthy(st, NULL), -1);
	raw_exec(&r, "ALTER DATABASE rh_unreach ALLOW_CONNECTIONS true");
	/* The idle probe (every second) brings health back. */
	for (i = 0; i < 50 && store_healthy(st, NULL) != 0; i++)
		usleep(100000);
	assert_int_equal(store_healthy(st, NULL), 0);
	assert_int_equal(put(st, "gh", "during", "{}", &id), STORE_OK);
	assert_int_equal(put(st, "gh", "before", "{}", &id), STORE_DUPLICATE);
	store_close(st);
	raw_exec(&r, "DROP DATABASE rh_unreach");
	raw_close(&r);
}

/*
 * 6 -> 7 learns who has left from the events still stored: a person
 * whose newest applied terminate is newer than their newest applied
 * hire is a leaver; a rehire after it, or a terminate not applied, is
 * not.
 */
static void
test_migrate_6_to_7(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_store(f, 0);
	struct store_subject got;
	sqlite3 *db = NULL;

	store_close(st);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "ALTER TABLE subjects DROP COLUMN left_event;"
	    "ALTER TABLE subjects DROP COLUMN left_at;"
	    "ALTER TABLE subjects DROP COLUMN hired_event;"
	    "ALTER TABLE subjects DROP COLUMN hired_at;"
	    "INSERT INTO events (id, source, delivery_id, received, body,"
	    " subject, kind, state) VALUES"
	    " (1, 'hr', 'a', 1, x'7b7d', 'p:left', 'hire', 'done'),"
	    " (2, 'hr', 'b', 1, x'7b7d', 'p:left', 'terminate', 'done'),"
	    " (3, 'hr', 'c', 1, x'7b7d', 'p:left', 'update', 'done'),"
	    " (4, 'hr', 'd', 1, x'7b7d', 'p:back', 'terminate', 'done'),"
	    " (5, 'hr', 'e', 1, x'7b7d', 'p:back', 'rehire', 'done'),"
	    " (6, 'hr', 'f', 1, x'7b7d', 'p:dead', 'hire', 'done'),"
	    " (7, 'hr', 'g', 1, x'7b7d', 'p:dead', 'terminate', 'dead');"
	    "INSERT INTO subjects (key, last_event_id) VALUES ('p:left', 3),"
	    " ('p:back', 5), ('p:dead', 6);"
	    "PRAGMA user_version = 6", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = open_store(f, 0);
	assert_int_equal(store_subject_get(st, "p:left", &got), 0);
	assert_int_equal(got.left_event, 2);
	assert_int_equal(got.left_at, 0);          /* not known */
	assert_int_equal(got.hired_event, 1);
	store_subject_clear(&got);
	assert_int_equal(store_subject_get(st, "p:back", &got), 0);
	assert_int_equal(got.left_event, 0);
	assert_int_equal(got.hired_event, 5);
	store_subject_clear(&got);
	assert_int_equal(store_subject_get(st, "p:dead", &got), 0);
	assert_int_equal(got.left_event, 0);
	assert_int_equal(got.hired_event, 6);
	store_subject_clear(&got);
	store_close(st);
}

/* Read-only handles never create or migrate; a bad DSN says why. */
static void
test_pg_schema_and_errors(void **state)
{
	struct fixture *f = *state;
	struct store_opts o = { 0 };
	struct store *st = NULL;
	struct raw r;
	char err[512], dsn[600];

	o.readonly = 1;
	assert_int_equal(open_on(f, &o, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no rolehook schema"));
	st = open_store(f, 0);
	store_close(st);
	r = raw_open(f);
	assert_int_equal(raw_int(&r, "SELECT version FROM rolehook_schema", 0),
	    7);
	assert_int_equal(raw_int(&r, "SELECT count(*) FROM rolehook_schema",
	    0), 1);
	raw_close(&r);
	/* Open again: nothing migrates twice. */
	st = open_store(f, 0);
	store_close(st);
	/* Wrong password: libpq's reason, and never the password. */
	memset(&o, 0, sizeof(o));
	o.engine = STORE_POSTGRESQL;
	o.password = "not-the-password-xyzzy";
	assert_int_equal(store_open(f->path, &o, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "password authentication failed"));
	assert_null(strstr(err, "xyzzy"));
	/* Nobody listening. */
	snprintf(dsn, sizeof(dsn), "postgresql://rolehook@127.0.0.1:1/x");
	o.password = pg_password;
	assert_int_equal(store_open(dsn, &o, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot connect"));
}

int
main(void)
{
	/* Both engines. */
	const struct CMUnitTest common[] = {
		cmocka_unit_test_setup_teardown(test_put_and_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_list_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signed_at_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound_is_busy_not_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_pending_and_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_batch, setup, teardown),
	};
	const struct CMUnitTest sqlite_only[] = {
		cmocka_unit_test_setup_teardown(test_migrate_4_to_5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_6_to_7, setup, teardown),
		cmocka_unit_test_setup_teardown(test_created_group_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_writable_refused_at_open, setup, teardown),
		cmocka_unit_test(test_unopenable_path),
	};
	const struct CMUnitTest pg_only[] = {
		cmocka_unit_test_setup_teardown(test_pg_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_unclassified_first,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_requeue_keeps_claim,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_guard_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_two_nodes_dedupe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_unreachable_then_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_schema_and_errors, setup, teardown),
	};
	int rc;

	pg_dsn = getenv("ROLEHOOK_TEST_PG_DSN");
	pg_password = getenv("ROLEHOOK_TEST_PG_PASSWORD");
	if (pg_dsn != NULL && pg_dsn[0] == '\0')
		pg_dsn = NULL;
	rc = cmocka_run_group_tests_name(pg_dsn != NULL ? "postgresql" :
	    "sqlite", common, NULL, NULL);
	if (pg_dsn != NULL)
		rc |= cmocka_run_group_tests_name("postgresql only", pg_only,
		    NULL, NULL);
	else
		rc |= cmocka_run_group_tests_name("sqlite only", sqlite_only,
		    NULL, NULL);
	return rc;
}
