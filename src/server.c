/*
 * server.c -- libfcgi accept loop and thread pool.
 *
 * One FCGX_Request per thread, FCGX_Accept_r under a mutex (libfcgi's
 * threaded example; several threads in accept(2) on one socket is safe on
 * Linux but the mutex keeps libfcgi's internal state single-entry).  With
 * nginx "fastcgi_keep_conn on" a connection pins its thread, so the
 * shipped nginx snippet leaves keep_conn off.
 *
 * Shutdown: all threads block SIGTERM/SIGINT; the main thread sigwait()s,
 * then shuts the listening socket down, which makes accept(2) fail in
 * every idle thread, while busy threads finish the request in hand.
 *
 * Accept errors: libfcgi's OS_Accept retries the errnos it deems harmless
 * (ECONNABORTED, EPROTO, ...) itself and returns any other accept(2)
 * error as FCGX_Accept_r's -errno.  Out of descriptors or memory (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM) passes: the pool backs off (10 ms doubling to
 * 1 s, one thread probing while the others wait for the accept lock) and
 * tries again.  A thread must not just end there: after `threads` such
 * errors nobody accepts and the process, still alive, listens and answers
 * nothing.  Failing without a success for SERVER_ACCEPT_GIVEUP_S, or an
 * error that cannot pass (EBADF, EINVAL: the socket itself is broken),
 * stops serve with status 1, so systemd's Restart=on-failure starts a
 * fresh process.  Linux reserves accept(2)'s descriptor before it waits
 * for a connection, so EMFILE comes back at once, also with no
 * connection pending: the backoff is what keeps that from spinning.
 *
 * The unix socket belongs to one serve at a time.  Running serve by hand
 * while the unit is up is a common mistake: the second process must not
 * unlink the live socket (nginx would then reach nobody, 502, while the
 * first still runs), nor remove at exit a socket that is not its own.
 * So serve holds a lock beside the socket while it runs, replaces only a
 * socket nobody listens on, and at exit removes only the file it bound
 * (lock_socket_path, probe_stale, unlink_own).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "rolehook/config.h"
#include "rolehook/ingress.h"
#include "rolehook/log.h"
#include "rolehook/monotime.h"
#include "rolehook/server.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

struct pool {
	struct ingress ig;
	int fd;
	pthread_t main;                 /* sigwait()s; told of a fatal error */
	pthread_mutex_t accept_lock;    /* FCGX_Accept_r, and the fields below */
	int64_t fail_since_ms;          /* first failure of a streak, or 0 */
	long fail_count;                /* failures in the streak */
	int backoff_ms;                 /* next wait, 0 when accepting */
	pthread_mutex_t wake_lock;      /* with wake: a backoff cut short */
	pthread_cond_t wake;
	atomic_int stopping;
	atomic_int failed;              /* accept gave up: exit status 1 */
	char fail_why[160];             /* set once, before failed */
};

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static const char *
fcgi_param(void *ctx, const char *name)
{
	FCGX_Request *req = ctx;

	return FCGX_GetParam(name, req->envp);
}

static long
fcgi_read(void *ctx, unsigned char *buf, size_t n)
{
	FCGX_Request *req = ctx;
	int want = n > (1u << 30) ? (1 << 30) : (int)n;
	int got = FCGX_GetStr((char *)buf, want, req->in);

	return got < 0 ? -1 : (long)got;
}

/*
 * Formats the head with snprintf, not FCGX_FPrintF: libfcgi's own printf
 * knows only a subset of conversions (no %zu).
 */
static void
send_response(FCGX_Request *req, const struct ingress_response *r)
{
	char head[512], extra[160] = "";
	int n;

	if (r->retry_after > 0)
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
		    r->retry_after);
	else if (r->allow != NULL)
		snprintf(extra, sizeof(extra), "Allow: %s\r\n", r->allow);
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: %s\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s"
	    "Content-Length: %zu\r\n\r\n",
	    r->status, status_text(r->status), r->content_type, extra,
	    r->body_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	FCGX_PutStr(head, n, req->out);
	if (r->body_len > 0)
		FCGX_PutStr(r->body, (int)r->body_len, req->out);
}

/*
 * The errnos after which accepting again cannot help: the listening
 * socket is gone or was never one.  libfcgi's own codes (-9998: not
 * initialised) count too; -9999 (errno was 0) and the rest may pass.
 */
static int
accept_error_fatal(int rc)
{
	switch (-rc) {
	case EBADF:
	case EFAULT:
	case EINVAL:
	case ENOTSOCK:
	case EOPNOTSUPP:
	case 9998:
		return 1;
	default:
		return 0;
	}
}

static const char *
accept_strerror(int rc)
{
	if (rc <= -9000)
		return "libfcgi internal error";
	return strerror(-rc);
}

/* Sleeps ms unless shutdown begins first.  Holds no lock but wake_lock. */
static void
backoff_wait(struct pool *p, int ms)
{
	struct timespec until;

	monotime_deadline_us(&until, (int64_t)ms * 1000);
	pthread_mutex_lock(&p->wake_lock);
	while (!atomic_load(&p->stopping) &&
	    pthread_cond_timedwait(&p->wake, &p->wake_lock, &until) == 0)
		;
	pthread_mutex_unlock(&p->wake_lock);
}

/*
 * Called with accept_lock held after FCGX_Accept_r returned rc < 0 while
 * not stopping.  Returns the milliseconds to wait before the next try,
 * or -1 when serve must stop (p->failed set, the main thread told).
 */
static int
accept_failed(struct pool *p, int rc)
{
	int64_t now = monotime_ms(), for_ms;
	char code[16], ms[24], n[24];

	snprintf(code, sizeof(code), "%d", -rc);
	if (p->fail_since_ms == 0) {
		p->fail_since_ms = now;
		p->fail_count = 0;
		p->backoff_ms = BACKOFF_MIN_MS;
		log_kv(LOG_WARN, "accept failing: backing off",
		    "event", "accept_error", "error", accept_strerror(rc),
		    "errno", code, (char *)NULL);
	} else if (p->backoff_ms < BACKOFF_MAX_MS) {
		p->backoff_ms *= 2;
		if (p->backoff_ms > BACKOFF_MAX_MS)
			p->backoff_ms = BACKOFF_MAX_MS;
	}
	p->fail_count++;
	for_ms = now - p->fail_since_ms;
	if (!accept_error_fatal(rc) &&
	    for_ms < (int64_t)SERVER_ACCEPT_GIVEUP_S * 1000)
		return p->backoff_ms;
	snprintf(ms, sizeof(ms), "%lld", (long long)for_ms);
	snprintf(n, sizeof(n), "%ld", p->fail_count);
	log_kv(LOG_ERROR, accept_error_fatal(rc) ?
	    "accept: the listening socket is unusable: exiting with status 1" :
	    "accept failing for too long: exiting with status 1",
	    "event", "accept_gave_up", "error", accept_strerror(rc),
	    "errno", code, "failing_ms", ms, "failures", n, (char *)NULL);
	if (!atomic_load(&p->failed)) {
		if (accept_error_fatal(rc))
			snprintf(p->fail_why, sizeof(p->fail_why), "accept(2): "
			    "%s: the listening socket is unusable",
			    accept_strerror(rc));
		else
			snprintf(p->fail_why, sizeof(p->fail_why), "accept(2): "
			    "%s, failing for %d s", accept_strerror(rc),
			    SERVER_ACCEPT_GIVEUP_S);
		atomic_store(&p->failed, 1);
		/* server_run's sigwait() takes it; see there. */
		pthread_kill(p->main, SIGTERM);
	}
	return -1;
}

/* Called with accept_lock held after an accept succeeded. */
static void
accept_succeeded(struct pool *p)
{
	char ms[24], n[24];

	if (p->fail_since_ms == 0)
		return;
	snprintf(ms, sizeof(ms), "%lld",
	    (long long)(monotime_ms() - p->fail_since_ms));
	snprintf(n, sizeof(n), "%ld", p->fail_count);
	log_kv(LOG_INFO, "accepting again", "event", "accept_recovered",
	    "failing_ms", ms, "failures", n, (char *)NULL);
	p->fail_since_ms = 0;
	p->fail_count = 0;
	p->backoff_ms = 0;
}

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	FCGX_Request req;
	struct ingress_io io;
	struct ingress_response resp;
	int rc, wait_ms;

	if (FCGX_InitRequest(&req, p->fd, 0) != 0) {
		log_msg(LOG_ERROR, "FCGX_InitRequest failed");
		return NULL;
	}
	io.param = fcgi_param;
	io.read = fcgi_read;
	io.ctx = &req;
	for (;;) {
		pthread_mutex_lock(&p->accept_lock);
		rc = -1;
		wait_ms = -1;
		while (!atomic_load(&p->stopping) &&
		    !atomic_load(&p->failed)) {
			if ((rc = FCGX_Accept_r(&req)) >= 0) {
				accept_succeeded(p);
				break;
			}
			/* shutdown(2) by server_run, or libfcgi's own flag. */
			if (atomic_load(&p->stopping) ||
			    atomic_load(&p->failed))
				break;
			if ((wait_ms = accept_failed(p, rc)) < 0)
				break;
			/*
			 * Waits holding the accept lock: the other threads
			 * queue behind it instead of probing too.
			 */
			backoff_wait(p, wait_ms);
		}
		pthread_mutex_unlock(&p->accept_lock);
		if (rc < 0)
			break;
		ingress_handle(&p->ig, &io, time(NULL), &resp);
		send_response(&req, &resp);
		ingress_response_clear(&resp);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 0);
	return NULL;
}

/*
 * Resolves server.socket_group: a group name, else all digits as a gid.
 * Returns 0 with *gid, or -1 with err filled.
 */
static int
socket_gid(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long n;
	int e;

	e = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (e == 0 && res != NULL) {
		*gid = res->gr_gid;
		return 0;
	}
	errno = 0;
	n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && *end == '\0' &&
	    errno == 0 && n < (unsigned long)(gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	snprintf(err, errlen, "server.socket_group: no group %s%s%s", name,
	    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	return -1;
}

/*
 * A unix socket at server.listen and what serve knows about it: the lock
 * it holds while it runs, and the socket file it bound (st_dev, st_ino)
 * so that at exit it removes that file and no other.
 */
struct unix_owner {
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	int lock_fd;            /* flock()ed "<path>.lock", or -1 */
	int bound;              /* dev and ino below are valid */
	dev_t dev;
	ino_t ino;
};

/*
 * Takes flock(LOCK_EX) on "<path>.lock" beside the socket, kept until
 * serve exits (the kernel drops it if serve dies).  Whoever holds it owns
 * the path, so the check for a listener, the removal of a stale socket
 * and bind(2) are never interleaved with another serve's: two started at
 * the same moment cannot both find the path stale and the later one
 * unlink the earlier one's fresh socket.  The file is never removed: a
 * serve that unlinked it would let the next lock a new file while a third
 * still waits to lock the old one.  Opened read-only (flock(2) works on
 * any descriptor), so a lock file another user created is still usable
 * if it can be read.  Returns 0, or -1 with err filled.
 */
static int
lock_socket_path(const char *path, struct unix_owner *o, char *err,
    size_t errlen)
{
	int fd = -1, rc = -1;

	snprintf(o->lock_path, sizeof(o->lock_path), "%s.lock", path);
	if ((fd = open(o->lock_path, O_RDONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0660)) < 0) {
		snprintf(err, errlen, "%s: %s", o->lock_path, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "another rolehook serve is "
			    "listening on %s (%s is locked); stop it first",
			    path, o->lock_path);
		else
			snprintf(err, errlen, "%s: flock: %s", o->lock_path,
			    strerror(errno));
		goto out;
	}
	o->lock_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * At exit (and when open_unix fails after bind), removes the socket file
 * this process bound, only if path still names it: a file put there
 * since (by hand, or by a process that takes no lock) is left alone and
 * a warning says so.  Call before closing the listening descriptor:
 * while it is open the bound file's inode stays allocated (the socket
 * holds it even once unlinked), so its number cannot have been given to
 * a newer file and equal st_dev and st_ino mean the same file.
 */
static void
unlink_own(const char *path, const struct unix_owner *o)
{
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		if (errno != ENOENT)
			log_kv(LOG_WARN, "cannot check the socket before "
			    "removing it", "event", "socket_not_removed",
			    "path", path, "error", strerror(errno),
			    (char *)NULL);
		return;
	}
	if (sb.st_dev != o->dev || sb.st_ino != o->ino) {
		log_kv(LOG_WARN, "not removing the socket: the path names "
		    "another file now", "event", "socket_not_removed",
		    "path", path, (char *)NULL);
		return;
	}
	if (unlink(path) != 0 && errno != ENOENT)
		log_kv(LOG_WARN, "cannot remove the socket",
		    "event", "socket_not_removed", "path", path,
		    "error", strerror(errno), (char *)NULL);
}

/*
 * Whether a socket file at sun may be removed: connect(2) to it.  Refused
 * (ECONNREFUSED) means nobody listens: a socket left by a serve that was
 * killed.  Anything else is kept: a listener that takes no lock (another
 * program, or a rolehook from before the lock) or one that cannot be
 * probed (EACCES: not ours to judge).  Non-blocking, so a listener whose
 * backlog is full answers EAGAIN at once instead of making serve wait.
 * Returns 0 when the path is stale or gone, -1 with err filled otherwise.
 */
static int
probe_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	int fd, e, rc = -1;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		snprintf(err, errlen, "%s: socket: %s", sun->sun_path,
		    strerror(errno));
		return -1;
	}
	e = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ?
	    0 : errno;
	if (e == ECONNREFUSED || e == ENOENT)
		rc = 0;
	else if (e == 0 || e == EAGAIN || e == EINPROGRESS)
		snprintf(err, errlen, "another process is listening on %s (a "
		    "running rolehook serve?); stop it first", sun->sun_path);
	else
		snprintf(err, errlen, "%s: cannot tell whether something "
		    "listens on it (connect: %s); remove it if it is stale",
		    sun->sun_path, strerror(e));
	close(fd);
	return rc;
}

/*
 * Opens the listening unix socket at path.  Under the lock (see
 * lock_socket_path), replaces a stale socket, never another file and
 * never a socket something listens on (probe_stale).  Between the probe
 * and bind(2) a process that takes no lock could still bind there; its
 * bind or ours then fails with EADDRINUSE, unless it too unlinks first,
 * which no rolehook with the lock does.  Fills *o (lock and the bound
 * file's identity; server_run releases them).  Returns the descriptor, or
 * -1 with err filled (the socket file is then not left behind).
 */
static int
open_unix(const char *path, mode_t mode, const char *group, int backlog,
    struct unix_owner *o, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat sb;
	gid_t gid = (gid_t)-1;
	int fd = -1, rc = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long (max %zu)",
		    path, sizeof(sun.sun_path) - 1);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (group != NULL && socket_gid(group, &gid, err, errlen) != 0)
		goto out;
	if (lock_socket_path(path, o, err, errlen) != 0)
		goto out;
	/* Replace a stale socket from an earlier run, never another file. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket",
			    path);
			goto out;
		}
		if (probe_stale(&sun, err, errlen) != 0)
			goto out;
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: cannot remove the stale "
			    "socket: %s", path, strerror(errno));
			goto out;
		}
	}
	/*
	 * Group, then mode, then listen(2): nobody connects before both are
	 * right.  chown(2) to a group serve is a member of needs no
	 * privilege (the units give serve www-data as a supplementary
	 * group, not its primary one).  fstat(2) of a socket describes the
	 * socket, not the file bind(2) made: lstat(2) the path for that,
	 * still under the lock.
	 */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (lstat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: lstat after bind: %s", path,
		    strerror(errno));
		goto out;
	}
	o->dev = sb.st_dev;
	o->ino = sb.st_ino;
	o->bound = 1;
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) ||
	    chmod(path, mode) != 0 || listen(fd, backlog) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = fd;
	fd = -1;
out:
	if (fd >= 0) {
		if (o->bound)
			unlink_own(path, o);
		close(fd);
	}
	return rc;
}

static int
open_tcp(const char *hostport, int backlog, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	char host[64];
	const char *colon = strrchr(hostport, ':');
	char *end;
	long port;
	int fd = -1, one = 1;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
		snprintf(err, errlen, "%s: expected HOST:PORT", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	if (errno != 0 || *end != '\0' || port < 1 || port > 65535 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		snprintf(err, errlen, "%s: expected IPv4:PORT", hostport);
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, backlog) != 0) {
		snprintf(err, errlen, "%s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

void
server_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	/* libfcgi's FCGX_Init installs a SIGUSR1 handler of its own. */
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
server_run(const struct config *cfg, struct store *st, struct metrics *m,
    char *err, size_t errlen)
{
	struct pool p;
	struct unix_owner uo;
	pthread_t *threads = NULL;
	sigset_t set;
	const char *listen_at = cfg->server.listen;
	int i, started = 0, sig = 0, rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&uo, 0, sizeof(uo));
	uo.lock_fd = -1;
	p.ig.cfg = cfg;
	p.ig.store = st;
	p.ig.metrics = m;
	p.fd = -1;
	p.main = pthread_self();
	atomic_init(&p.stopping, 0);
	atomic_init(&p.failed, 0);
	pthread_mutex_init(&p.accept_lock, NULL);
	pthread_mutex_init(&p.wake_lock, NULL);
	monotime_cond_init(&p.wake);

	/* Normally done already by the caller, before any thread started. */
	server_block_signals(&set);

	if (FCGX_Init() != 0) {
		snprintf(err, errlen, "FCGX_Init failed");
		goto out;
	}
	if (strncmp(listen_at, "unix:", 5) == 0)
		p.fd = open_unix(listen_at + 5, cfg->server.socket_mode,
		    cfg->server.socket_group, cfg->server.backlog, &uo,
		    err, errlen);
	else
		p.fd = open_tcp(listen_at, cfg->server.backlog, err, errlen);
	if (p.fd < 0)
		goto out;
	if ((threads = calloc((size_t)cfg->server.threads,
	    sizeof(*threads))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < cfg->server.threads; i++) {
		if (pthread_create(&threads[i], NULL, worker_main, &p) != 0)
			break;
		started++;
	}
	if (started == 0) {
		snprintf(err, errlen, "cannot start threads");
		goto out;
	}
	/* E.g. systemd's TasksMax= lower than server.threads needs. */
	if (started < cfg->server.threads)
		log_msg(LOG_WARN, "started %d of %d request threads (task "
		    "limit?): serving with %d", started, cfg->server.threads,
		    started);
	log_kv(LOG_INFO, "serving", "listen", listen_at, (char *)NULL);
	/*
	 * A worker that gives up on accept(2) sends this thread SIGTERM
	 * (pthread_kill) with p.failed set: the same orderly stop, then
	 * status 1 instead of 0.
	 */
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP || sig == SIGUSR1) {
			log_msg(LOG_INFO, "signal %d ignored: restart to reload "
			    "the configuration", sig);
			continue;
		}
		break;
	}
	if (atomic_load(&p.failed))
		log_msg(LOG_ERROR, "accept(2) failed: shutting down");
	else
		log_msg(LOG_INFO, "signal %d: shutting down", sig);
	pthread_mutex_lock(&p.wake_lock);
	atomic_store(&p.stopping, 1);
	pthread_cond_broadcast(&p.wake);
	pthread_mutex_unlock(&p.wake_lock);
	FCGX_ShutdownPending();
	/* Wakes every thread blocked in accept(2) (it fails with EINVAL). */
	shutdown(p.fd, SHUT_RDWR);
	rc = 0;
out:
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	/* Still holding the lock and the descriptor: see unlink_own. */
	if (p.fd >= 0) {
		if (uo.bound)
			unlink_own(listen_at + 5, &uo);
		close(p.fd);
	}
	if (uo.lock_fd >= 0)
		close(uo.lock_fd);
	if (rc == 0 && atomic_load(&p.failed)) {
		snprintf(err, errlen, "%s; exiting with status 1 so that the "
		    "service manager restarts serve", p.fail_why);
		rc = -1;
	}
	pthread_cond_destroy(&p.wake);
	pthread_mutex_destroy(&p.wake_lock);
	pthread_mutex_destroy(&p.accept_lock);
	return rc;
}
