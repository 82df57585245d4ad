/*
 * test_store_faults.c -- the store when its disk turns read-only or full
 * while serve runs: every put in the fault reports STORE_UNAVAILABLE and
 * stores nothing, /healthz says why, the writer's probe brings health
 * back without a put, and what was acknowledged is on disk exactly once.
 *
 * The faults come from a VFS shim ("Writing a custom VFS",
 * sqlite.org/vfs.html) registered as the default VFS around the unix one,
 * so no mounts, quotas or root are needed.  It forwards every method and
 * fails writes, syncs and truncates on demand, and turns read-write opens
 * into read-only ones as the unix VFS does on EROFS; reads always work,
 * as on a file system remounted read-only.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "rolehook/store.h"

enum fault {
	FAULT_NONE,
	FAULT_READONLY,	/* as if the file system went read-only (EROFS) */
	FAULT_FULL	/* as if it had no free blocks left (ENOSPC) */
};

static atomic_int fault_mode = FAULT_NONE;
static atomic_long fault_hits;	/* calls failed on purpose so far */
static sqlite3_vfs *fault_real;	/* the VFS wrapped, normally "unix" */

/*
 * SQLite allocates szOsFile bytes per open file: this header, then the
 * wrapped VFS's own file object right after it.
 */
struct fault_file {
	sqlite3_file	 base;	/* what SQLite sees */
	sqlite3_file	*real;	/* the wrapped file */
};

typedef void (*dl_fn)(void);

static sqlite3_file *
real_of(sqlite3_file *f)
{
	return ((struct fault_file *)f)->real;
}

/*
 * Returns the error the current mode injects (ro_rc or full_rc), or
 * SQLITE_OK to let the call through.
 */
static int
inject(int ro_rc, int full_rc)
{
	int rc;

	switch (atomic_load(&fault_mode)) {
	case FAULT_READONLY:
		rc = ro_rc;
		break;
	case FAULT_FULL:
		rc = full_rc;
		break;
	default:
		rc = SQLITE_OK;
		break;
	}
	if (rc != SQLITE_OK)
		atomic_fetch_add(&fault_hits, 1);
	return rc;
}

static int
f_close(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xClose(r);
}

static int
f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xRead(r, buf, n, off);
}

static int
f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	sqlite3_file *r = real_of(f);
	int rc;

	/* The unix VFS maps ENOSPC to SQLITE_FULL (os_unix.c unixWrite). */
	if ((rc = inject(SQLITE_IOERR_WRITE, SQLITE_FULL)) != SQLITE_OK)
		return rc;
	return r->pMethods->xWrite(r, buf, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	sqlite3_file *r = real_of(f);
	int rc;

	/* Shrinking a file needs no free blocks: only read-only fails. */
	if ((rc = inject(SQLITE_IOERR_TRUNCATE, SQLITE_OK)) != SQLITE_OK)
		return rc;
	return r->pMethods->xTruncate(r, size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *r = real_of(f);
	int rc;

	if ((rc = inject(SQLITE_IOERR_FSYNC, SQLITE_OK)) != SQLITE_OK)
		return rc;
	return r->pMethods->xSync(r, flags);
}

static int
f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xFileSize(r, size);
}

static int
f_lock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xLock(r, level);
}

static int
f_unlock(sqlite3_file *f, int level)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xUnlock(r, level);
}

static int
f_check_reserved(sqlite3_file *f, int *out)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xCheckReservedLock(r, out);
}

static int
f_file_control(sqlite3_file *f, int op, void *arg)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xFileControl(r, op, arg);
}

static int
f_sector_size(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xSectorSize(r);
}

static int
f_device_chars(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xDeviceCharacteristics(r);
}

/*
 * The shared-memory wal-index (sqlite.org/walformat.html) lives in
 * mmap'd memory, not behind xWrite: it is forwarded untouched.
 */
static int
f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
    void volatile **pp)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xShmMap(r, pg, pgsz, extend, pp);
}

static int
f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xShmLock(r, off, n, flags);
}

static void
f_shm_barrier(sqlite3_file *f)
{
	sqlite3_file *r = real_of(f);

	r->pMethods->xShmBarrier(r);
}

static int
f_shm_unmap(sqlite3_file *f, int del)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xShmUnmap(r, del);
}

static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xFetch(r, off, n, pp);
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = real_of(f);

	return r->pMethods->xUnfetch(r, off, p);
}

/*
 * One table per io_methods version: a wrapped file reports the version
 * of the file it wraps, so SQLite never calls a method the real one
 * lacks (sqlite3.h, "OS Interface Open File Handle").
 */
#define FAULT_IO(v) {							\
	.iVersion = (v),						\
	.xClose = f_close,						\
	.xRead = f_read,						\
	.xWrite = f_write,						\
	.xTruncate = f_truncate,					\
	.xSync = f_sync,						\
	.xFileSize = f_file_size,					\
	.xLock = f_lock,						\
	.xUnlock = f_unlock,						\
	.xCheckReservedLock = f_check_reserved,				\
	.xFileControl = f_file_control,					\
	.xSectorSize = f_sector_size,					\
	.xDeviceCharacteristics = f_device_chars,			\
	.xShmMap = f_shm_map,						\
	.xShmLock = f_shm_lock,						\
	.xShmBarrier = f_shm_barrier,					\
	.xShmUnmap = f_shm_unmap,					\
	.xFetch = f_fetch,						\
	.xUnfetch = f_unfetch,						\
}

static const sqlite3_io_methods fault_io[3] = {
	FAULT_IO(1), FAULT_IO(2), FAULT_IO(3)
};

static int
v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f,
    int flags, int *outflags)
{
	struct fault_file *ff = (struct fault_file *)f;
	int rc, v;

	(void)vfs;
	/*
	 * SQLite calls xClose after a failed xOpen unless pMethods is NULL
	 * (sqlite3.h, sqlite3_io_methods): ours stays NULL until the real
	 * open succeeded.
	 */
	ff->base.pMethods = NULL;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->real->pMethods = NULL;
	/*
	 * Opening for writing on a read-only mount fails with EROFS; the
	 * unix VFS then opens the file read-only (unixOpen), and SQLite sees
	 * a read-only database.  The same here.
	 */
	if ((flags & SQLITE_OPEN_READWRITE) &&
	    inject(SQLITE_READONLY, SQLITE_OK) != SQLITE_OK)
		flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
		    SQLITE_OPEN_READONLY;
	rc = fault_real->xOpen(fault_real, name, ff->real, flags, outflags);
	if (rc != SQLITE_OK) {
		/* The same rule for the wrapped file: close what it opened. */
		if (ff->real->pMethods != NULL)
			ff->real->pMethods->xClose(ff->real);
		return rc;
	}
	v = ff->real->pMethods->iVersion;
	if (v < 1)
		v = 1;
	if (v > 3)
		v = 3;
	ff->base.pMethods = &fault_io[v - 1];
	return SQLITE_OK;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int syncdir)
{
	(void)vfs;
	return fault_real->xDelete(fault_real, name, syncdir);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return fault_real->xAccess(fault_real, name, flags, out);
}

static int
v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return fault_real->xFullPathname(fault_real, name, n, out);
}

static void *
v_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return fault_real->xDlOpen(fault_real, name);
}

static void
v_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	fault_real->xDlError(fault_real, n, msg);
}

static dl_fn
v_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym)
{
	(void)vfs;
	return fault_real->xDlSym(fault_real, h, sym);
}

static void
v_dl_close(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	fault_real->xDlClose(fault_real, h);
}

static int
v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return fault_real->xRandomness(fault_real, n, out);
}

static int
v_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return fault_real->xSleep(fault_real, us);
}

static int
v_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return fault_real->xCurrentTime(fault_real, out);
}

static int
v_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return fault_real->xGetLastError(fault_real, n, out);
}

static int
v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return fault_real->xCurrentTimeInt64(fault_real, out);
}

static int
v_set_syscall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	(void)vfs;
	return fault_real->xSetSystemCall(fault_real, name, p);
}

static sqlite3_syscall_ptr
v_get_syscall(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return fault_real->xGetSystemCall(fault_real, name);
}

static const char *
v_next_syscall(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return fault_real->xNextSystemCall(fault_real, name);
}

/* iVersion, szOsFile and mxPathname are the wrapped VFS's (group_setup). */
static sqlite3_vfs fault_vfs = {
	.zName = "rolehook-fault",
	.xOpen = v_open,
	.xDelete = v_delete,
	.xAccess = v_access,
	.xFullPathname = v_full_pathname,
	.xDlOpen = v_dl_open,
	.xDlError = v_dl_error,
	.xDlSym = v_dl_sym,
	.xDlClose = v_dl_close,
	.xRandomness = v_randomness,
	.xSleep = v_sleep,
	.xCurrentTime = v_current_time,
	.xGetLastError = v_get_last_error,
	.xCurrentTimeInt64 = v_current_time64,
	.xSetSystemCall = v_set_syscall,
	.xGetSystemCall = v_get_syscall,
	.xNextSystemCall = v_next_syscall,
};

/*
 * Registers the shim as the default VFS, so every connection the store
 * opens (writer, reader, checkpointer) goes through it.
 */
static int
group_setup(void **state)
{
	(void)state;
	if ((fault_real = sqlite3_vfs_find(NULL)) == NULL ||
	    fault_real == &fault_vfs)
		return -1;
	fault_vfs.iVersion = fault_real->iVersion < 3 ?
	    fault_real->iVersion : 3;
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) +
	    fault_real->szOsFile;
	fault_vfs.mxPathname = fault_real->mxPathname;
	/* Methods the wrapped VFS leaves out stay out of the shim too. */
	if (fault_real->xDlOpen == NULL) {
		fault_vfs.xDlOpen = NULL;
		fault_vfs.xDlError = NULL;
		fault_vfs.xDlSym = NULL;
		fault_vfs.xDlClose = NULL;
	}
	if (fault_vfs.iVersion >= 3 && fault_real->xSetSystemCall == NULL) {
		fault_vfs.xSetSystemCall = NULL;
		fault_vfs.xGetSystemCall = NULL;
		fault_vfs.xNextSystemCall = NULL;
	}
	atomic_store(&fault_mode, FAULT_NONE);
	return sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	atomic_store(&fault_mode, FAULT_NONE);
	sqlite3_vfs_unregister(&fault_vfs);
	return 0;
}

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;	/* closed by teardown if a test failed early */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/rh-faults-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	atomic_store(&fault_mode, FAULT_NONE);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	/* A failed assertion may leave the fault on and the store open. */
	atomic_store(&fault_mode, FAULT_NONE);
	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	free(f);
	return 0;
}

static struct store *
open_store(const char *path, int batch_us)
{
	struct store_opts o = { 0 };
	struct store *st = NULL;
	char err[256];

	o.batch_rows = 16;
	o.batch_us = batch_us;
	o.queue_max = 100000;
	if (store_open(path, &o, &st, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return st;
}

static enum store_err
put(struct store *st, const char *id)
{
	struct store_event_in ev;
	int64_t eid = 0;

	memset(&ev, 0, sizeof(ev));
	ev.source = "gh";
	ev.delivery_id = id;
	ev.received = 1700000000;
	ev.headers_json = "{\"content-type\":\"application/json\"}";
	ev.body = (const unsigned char *)"{\"x\":1}";
	ev.body_len = 7;
	return store_put(st, &ev, &eid);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * Polls store_healthy every 10 ms for up to ms milliseconds.  Returns 0
 * once it reports healthy, -1 if it never did.
 */
static int
wait_healthy(struct store *st, long ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (store_healthy(st, NULL) == 0)
			return 0;
		if (elapsed_ms(&t0) >= ms)
			return -1;
		sleep_ms(10);
	}
}

/*
 * Opens the database as any other program would: the wrapped VFS, not
 * the shim, and no store.
 */
static sqlite3 *
open_plain(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE,
	    fault_real->zName) != SQLITE_OK)
		fail_msg("%s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void
assert_integrity(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1,
	    &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
	/* One row when healthy; more rows would each name a problem. */
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

static int64_t
count_id(sqlite3 *db, const char *id)
{
	sqlite3_stmt *s = NULL;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM events"
	    " WHERE source = 'gh' AND delivery_id = ?1", -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static int64_t
count_all(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM events",
	    -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

#define NFAULT_PUTS 5

/*
 * The shape both single-threaded scenarios share: three puts, the fault,
 * NFAULT_PUTS refused puts with the health check reporting one of
 * reasons (NULL-terminated) after the first and later after the others
 * (once the writer has reopened its connection), the fault cleared,
 * recovery by the probe alone, then puts again and the database checked
 * from outside.
 */
static void
fault_scenario(struct fixture *f, enum fault mode,
    const char *const *reasons, const char *later)
{
	char acked[3 + 2][32];	/* before, after, and a refused one again */
	char refused[NFAULT_PUTS][32];
	const char *reason;
	enum store_err r;
	long hits;
	int nacked = 0, i, j;
	sqlite3 *db;

	f->st = open_store(f->path, 0);
	for (i = 0; i < 3; i++) {
		snprintf(acked[nacked], sizeof(acked[0]), "before-%d", i);
		assert_int_equal(put(f->st, acked[nacked]), STORE_OK);
		nacked++;
	}
	assert_int_equal(store_healthy(f->st, NULL), 0);

	hits = atomic_load(&fault_hits);
	atomic_store(&fault_mode, mode);
	for (i = 0; i < NFAULT_PUTS; i++) {
		snprintf(refused[i], sizeof(refused[0]), "fault-%d", i);
		if ((r = put(f->st, refused[i])) != STORE_UNAVAILABLE)
			fail_msg("put %s during the fault: %s, want %s",
			    refused[i], store_strerror(r),
			    store_strerror(STORE_UNAVAILABLE));
		/* The writer marks the store unhealthy before it wakes us. */
		reason = NULL;
		if (store_healthy(f->st, &reason) == 0)
			fail_msg("healthy after failed put %s", refused[i]);
		if (reason == NULL)
			fail_msg("no reason after failed put %s", refused[i]);
		if (i > 0) {
			if (strcmp(reason, later) != 0)
				fail_msg("after failed put %d (%s) the reason is "
				    "\"%s\", want \"%s\"", i + 1, refused[i],
				    reason, later);
			continue;
		}
		for (j = 0; reasons[j] != NULL; j++)
			if (strcmp(reason, reasons[j]) == 0)
				break;
		if (reasons[j] == NULL)
			fail_msg("after failed put %d (%s) the reason is "
			    "\"%s\", want \"%s\"%s", i + 1, refused[i],
			    reason, reasons[0],
			    reasons[1] != NULL ? " or another" : "");
	}
	/* The refusals came from the shim, not from some other error. */
	assert_true(atomic_load(&fault_hits) > hits);

	atomic_store(&fault_mode, FAULT_NONE);
	/* No put here: only the writer's idle probe can recover. */
	if (wait_healthy(f->st, 5000) != 0) {
		store_healthy(f->st, &reason);
		fail_msg("still unhealthy 5 s after the fault ended: %s",
		    reason ? reason : "(no reason)");
	}
	snprintf(acked[nacked], sizeof(acked[0]), "after-0");
	assert_int_equal(put(f->st, acked[nacked]), STORE_OK);
	nacked++;
	/* A refused event was not stored: the sender's retry is new. */
	snprintf(acked[nacked], sizeof(acked[0]), "%s", refused[0]);
	assert_int_equal(put(f->st, acked[nacked]), STORE_OK);
	nacked++;
	assert_int_equal(store_healthy(f->st, NULL), 0);
	store_close(f->st);
	f->st = NULL;

	db = open_plain(f->path);
	assert_integrity(db);
	assert_int_equal(count_all(db), nacked);
	for (i = 0; i < nacked; i++)
		if (count_id(db, acked[i]) != 1)
			fail_msg("acknowledged %s is not stored once",
			    acked[i]);
	for (i = 1; i < NFAULT_PUTS; i++)
		if (count_id(db, refused[i]) != 0)
			fail_msg("refused %s was stored", refused[i]);
	sqlite3_close(db);
}

static void
test_readonly(void **state)
{
	/*
	 * On a read-only mount, writes through an open file fail
	 * (SQLITE_IOERR_WRITE: "I/O error" after the first refused put);
	 * the writer's reopen then gets a read-only handle, as from the unix
	 * VFS, and the store says what the operator must fix.
	 */
	static const char *const reasons[] = {
		"I/O error", "database is read-only", NULL
	};

	fault_scenario(*state, FAULT_READONLY, reasons,
	    "database is read-only");
}

static void
test_disk_full(void **state)
{
	/*
	 * The operator's fix for a full disk is to free space, so /healthz
	 * must say so for as long as it lasts: after the first refused put
	 * and after the writer's later attempts to reopen alike.
	 */
	static const char *const reasons[] = { "disk full", NULL };

	fault_scenario(*state, FAULT_FULL, reasons, "disk full");
}

#define NPUTTERS 4
#define MAXPUTS 200000	/* per thread: far more than a second of puts */

enum phase {
	PHASE_BEFORE,
	PHASE_FAULT,
	PHASE_AFTER
};

/*
 * The fault window, as the putters see it.  The main thread sets the
 * mode before PHASE_FAULT and clears it after PHASE_AFTER, so a put
 * that starts and ends in PHASE_FAULT ran entirely under the fault.
 */
static atomic_int cur_phase;
static atomic_int stop_putting;
static atomic_int ok_after;	/* STORE_OK for puts begun in PHASE_AFTER */
static atomic_int ok_before;

struct record {
	unsigned char res;	/* enum store_err */
	unsigned char p0, p1;	/* phase when the put began and ended */
	unsigned char seen;	/* rows with this id found afterwards */
};

struct putter {
	struct store *st;
	int t;
	int n;			/* puts made; rec[0..n) */
	struct record *rec;	/* MAXPUTS */
};

static void *
putter_main(void *arg)
{
	struct putter *p = arg;
	struct record *r;
	char id[32];

	while (!atomic_load(&stop_putting) && p->n < MAXPUTS) {
		r = &p->rec[p->n];
		/* Ids are never reused, so a row names exactly one put. */
		snprintf(id, sizeof(id), "c%d-%d", p->t, p->n);
		r->p0 = (unsigned char)atomic_load(&cur_phase);
		r->res = (unsigned char)put(p->st, id);
		r->p1 = (unsigned char)atomic_load(&cur_phase);
		if (r->res == STORE_OK && r->p0 == PHASE_BEFORE)
			atomic_fetch_add(&ok_before, 1);
		if (r->res == STORE_OK && r->p0 == PHASE_AFTER)
			atomic_fetch_add(&ok_after, 1);
		p->n++;
	}
	return NULL;
}

/* Waits up to 5 s for *counter to reach n.  Returns 0 or -1. */
static int
wait_count(atomic_int *counter, int n)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(counter) < n) {
		if (elapsed_ms(&t0) >= 5000)
			return -1;
		sleep_ms(5);
	}
	return 0;
}

static void
test_concurrent_flip(void **state)
{
	struct fixture *f = *state;
	struct putter p[NPUTTERS];
	pthread_t t[NPUTTERS];
	sqlite3_stmt *s = NULL;
	sqlite3 *db;
	const char *id;
	long hits;
	int i, k, th, seq, len, warm, recovered;
	int nok = 0, nunavail = 0, ninside = 0, nrows = 0;

	atomic_store(&cur_phase, PHASE_BEFORE);
	atomic_store(&stop_putting, 0);
	atomic_store(&ok_before, 0);
	atomic_store(&ok_after, 0);
	f->st = open_store(f->path, 200);
	for (i = 0; i < NPUTTERS; i++) {
		p[i].st = f->st;
		p[i].t = i;
		p[i].n = 0;
		assert_non_null(p[i].rec = calloc(MAXPUTS, sizeof(*p[i].rec)));
		assert_int_equal(pthread_create(&t[i], NULL, putter_main,
		    &p[i]), 0);
	}
	warm = wait_count(&ok_before, 20);

	hits = atomic_load(&fault_hits);
	atomic_store(&fault_mode, FAULT_READONLY);
	atomic_store(&cur_phase, PHASE_FAULT);
	sleep_ms(300);
	atomic_store(&cur_phase, PHASE_AFTER);
	atomic_store(&fault_mode, FAULT_NONE);
	/* Under load the next batch reopens: recovery needs no probe. */
	recovered = wait_count(&ok_after, 20);

	atomic_store(&stop_putting, 1);
	for (i = 0; i < NPUTTERS; i++)
		pthread_join(t[i], NULL);
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(warm, 0);
	assert_int_equal(recovered, 0);
	assert_true(atomic_load(&fault_hits) > hits);

	db = open_plain(f->path);
	assert_integrity(db);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT delivery_id FROM"
	    " events WHERE source = 'gh'", -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		id = (const char *)sqlite3_column_text(s, 0);
		len = 0;
		if (sscanf(id, "c%d-%d%n", &th, &seq, &len) != 2 ||
		    id[len] != '\0' || th < 0 || th >= NPUTTERS ||
		    seq < 0 || seq >= p[th].n)
			fail_msg("stored id %s was never put", id);
		p[th].rec[seq].seen++;
		nrows++;
	}
	sqlite3_finalize(s);
	assert_int_equal(count_all(db), nrows);
	sqlite3_close(db);

	for (i = 0; i < NPUTTERS; i++) {
		for (k = 0; k < p[i].n; k++) {
			const struct record *r = &p[i].rec[k];

			switch (r->res) {
			case STORE_OK:
				nok++;
				if (r->seen != 1)
					fail_msg("c%d-%d: STORE_OK, stored %d "
					    "times", i, k, r->seen);
				break;
			case STORE_UNAVAILABLE:
				nunavail++;
				if (r->seen != 0)
					fail_msg("c%d-%d: STORE_UNAVAILABLE, "
					    "but stored", i, k);
				break;
			default:
				fail_msg("c%d-%d: unexpected %s", i, k,
				    store_strerror((enum store_err)r->res));
			}
			if (r->p0 == PHASE_FAULT && r->p1 == PHASE_FAULT) {
				ninside++;
				if (r->res != STORE_UNAVAILABLE)
					fail_msg("c%d-%d: %s although put "
					    "entirely in the fault", i, k,
					    store_strerror(
					    (enum store_err)r->res));
			}
		}
		free(p[i].rec);
	}
	assert_int_equal(nrows, nok);
	/* The window was real: puts ran inside it and were refused. */
	assert_true(ninside > 0);
	assert_true(nunavail > 0);
	assert_true(nok >= 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_readonly,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_flip,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
