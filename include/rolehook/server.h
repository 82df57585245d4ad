/*
 * server.h -- the FastCGI responder: listening socket, thread pool,
 * request glue between libfcgi and ingress.
 */
#ifndef ROLEHOOK_SERVER_H
#define ROLEHOOK_SERVER_H

#include <signal.h>
#include <stddef.h>

struct config;
struct store;
struct metrics;

/*
 * How long accept(2) may keep failing (out of descriptors or memory:
 * EMFILE, ENFILE, ENOBUFS, ENOMEM...), with no connection accepted in
 * between, before serve gives up and server_run returns -1.  Until then
 * the pool backs off, 10 ms doubling to 1 s between tries.  30 s rides
 * out a burst (a descriptor leak elsewhere, a memory spike) and still
 * hands a stuck process to systemd (Restart=on-failure) well before
 * senders give up retrying a webhook.
 */
#define SERVER_ACCEPT_GIVEUP_S 30

/*
 * Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the calling thread (and
 * so in every thread it starts later) and ignores SIGPIPE; fills *set
 * with the blocked signals.  Call first thing in main's thread, before
 * the store starts its threads: a signal delivered to a thread that has
 * it unblocked would run libfcgi's handler there instead of reaching
 * server_run's sigwait(), and serve would hang instead of stopping.
 */
void server_block_signals(sigset_t *set);

/*
 * Opens the socket from cfg->server.listen ("unix:/path" with
 * cfg->server.socket_mode and, if set, group cfg->server.socket_group;
 * or "IPv4:port"), starts cfg->server.threads threads and serves until
 * SIGTERM or SIGINT, then stops accepting, finishes requests in flight
 * and returns 0.  A unix socket: holds flock() on "/path.lock" until it
 * returns, replaces a stale socket at /path only (nothing listens on
 * it), and at return removes /path only if it still names the socket
 * this call bound.  Returns -1 with err filled if the socket cannot be
 * opened (another serve holds the lock, a process listens on /path,
 * /path is not a socket, ...), or after the same orderly stop if
 * accept(2) kept failing for SERVER_ACCEPT_GIVEUP_S or failed in a way
 * no retry can mend (the caller should then exit non-zero).  Must be
 * called from the main thread before any other thread is started (it
 * sets the signal mask the workers inherit).
 */
int server_run(const struct config *cfg, struct store *st,
    struct metrics *m, char *err, size_t errlen);

#endif
