/*
 * ingress.h -- one HTTP request through the webhook front door.
 *
 * Independent of the transport: the FastCGI server (server.c) and the
 * unit tests both hand a request over as a parameter lookup (CGI/1.1
 * meta-variables, RFC 3875 section 4.1) and a body reader.
 *
 * Order of checks, chosen so that nothing unauthenticated is parsed:
 * route -> method -> Content-Length (411/413, before any allocation) ->
 * Content-Type (415) -> read exactly Content-Length bytes -> signature
 * (401) -> JSON well-formedness (400) -> durable store (202/200/503).
 */
#ifndef ROLEHOOK_INGRESS_H
#define ROLEHOOK_INGRESS_H

#include <stddef.h>
#include <time.h>

struct config;
struct store;
struct metrics;

struct ingress {
	const struct config *cfg;  /* borrowed */
	struct store *store;       /* borrowed */
	struct metrics *metrics;   /* borrowed, may be NULL */
};

struct ingress_io {
	/* CGI meta-variable (REQUEST_METHOD, HTTP_X_FOO, ...), or NULL. */
	const char *(*param)(void *ctx, const char *name);
	/*
	 * Reads up to n body bytes into buf.  Returns the count read (0 at
	 * end of input) or -1 on error.
	 */
	long (*read)(void *ctx, unsigned char *buf, size_t n);
	void *ctx;
};

struct ingress_response {
	int status;
	const char *content_type;
	const char *body;          /* points into small[] or owned */
	size_t body_len;
	int retry_after;           /* > 0: send Retry-After */
	const char *allow;         /* non-NULL: send Allow (405) */
	char *owned;               /* freed by ingress_response_clear */
	char small[128];
};

/*
 * Handles one request and fills *resp (never NULL on return: every path
 * sets a status and a fixed body).  now is the wall clock for timestamp
 * windows.  Call ingress_response_clear() after sending.
 */
void ingress_handle(const struct ingress *ig, const struct ingress_io *io,
    time_t now, struct ingress_response *resp);

/* Frees what a response owns.  Safe to call twice. */
void ingress_response_clear(struct ingress_response *resp);

#endif
