/*
 * server.h -- the FastCGI responder: listening socket, thread pool,
 * request glue between libfcgi and ingress.
 */
#ifndef ROLEHOOK_SERVER_H
#define ROLEHOOK_SERVER_H

#include <stddef.h>

struct config;
struct store;
struct metrics;

/*
 * Opens the socket from cfg->server.listen ("unix:/path" with
 * cfg->server.socket_mode, or "IPv4:port"), starts cfg->server.threads
 * threads and serves until SIGTERM or SIGINT, then stops accepting,
 * finishes requests in flight and returns 0.  Returns -1 with err
 * filled if the socket cannot be opened.  Must be called from the main
 * thread before any other thread is started (it sets the signal mask
 * the workers inherit).
 */
int server_run(const struct config *cfg, struct store *st,
    struct metrics *m, char *err, size_t errlen);

#endif
