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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "rolehook/config.h"
#include "rolehook/ingress.h"
#include "rolehook/log.h"
#include "rolehook/server.h"

struct pool {
	struct ingress ig;
	int fd;
	pthread_mutex_t accept_lock;
	atomic_int stopping;
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

static void *
worker_main(void *arg)
{
	struct pool *p = arg;
	FCGX_Request req;
	struct ingress_io io;
	struct ingress_response resp;
	int rc;

	if (FCGX_InitRequest(&req, p->fd, 0) != 0) {
		log_msg(LOG_ERROR, "FCGX_InitRequest failed");
		return NULL;
	}
	io.param = fcgi_param;
	io.read = fcgi_read;
	io.ctx = &req;
	for (;;) {
		pthread_mutex_lock(&p->accept_lock);
		rc = atomic_load(&p->stopping) ? -1 : FCGX_Accept_r(&req);
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

static int
open_unix(const char *path, mode_t mode, int backlog, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long (max %zu)",
		    path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Replace a stale socket from an earlier run, never another file. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket",
			    path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, mode) != 0 || listen(fd, backlog) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
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
	pthread_t *threads = NULL;
	sigset_t set;
	const char *listen_at = cfg->server.listen;
	int i, started = 0, sig = 0, rc = -1;

	memset(&p, 0, sizeof(p));
	p.ig.cfg = cfg;
	p.ig.store = st;
	p.ig.metrics = m;
	p.fd = -1;
	atomic_init(&p.stopping, 0);
	pthread_mutex_init(&p.accept_lock, NULL);

	/* Normally done already by the caller, before any thread started. */
	server_block_signals(&set);

	if (FCGX_Init() != 0) {
		snprintf(err, errlen, "FCGX_Init failed");
		goto out;
	}
	if (strncmp(listen_at, "unix:", 5) == 0)
		p.fd = open_unix(listen_at + 5, cfg->server.socket_mode,
		    cfg->server.backlog, err, errlen);
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
	log_kv(LOG_INFO, "serving", "listen", listen_at, (char *)NULL);
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
	log_msg(LOG_INFO, "signal %d: shutting down", sig);
	atomic_store(&p.stopping, 1);
	FCGX_ShutdownPending();
	/* Wakes every thread blocked in accept(2) (it fails with EINVAL). */
	shutdown(p.fd, SHUT_RDWR);
	rc = 0;
out:
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	if (p.fd >= 0) {
		close(p.fd);
		if (strncmp(listen_at, "unix:", 5) == 0)
			unlink(listen_at + 5);
	}
	pthread_mutex_destroy(&p.accept_lock);
	return rc;
}
