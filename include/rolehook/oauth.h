/*
 * oauth.h -- the Zendesk OAuth access token, shared by every worker
 * thread of one process.
 *
 * Zendesk retired API tokens (none new since 2026-10-27, all dead on
 * 2027-04-30) and OAuth access tokens now expire (30 minutes for new
 * clients).  struct oauth holds the current access token in memory only
 * and gets a new one from POST <base>/oauth/tokens:
 *
 *   - client credentials (confidential clients): grant_type
 *     client_credentials with client_id, client_secret and scope;
 *   - refresh token: grant_type refresh_token with client_id,
 *     client_secret and the refresh token kept in refresh_file.  Each
 *     answer carries a new refresh token and kills the old one, so the
 *     file is replaced (temp file, fsync, rename, fsync of the directory)
 *     right after the answer, before the new access token is used, under
 *     an exclusive flock on "<refresh_file>.lock" shared by every rolehook
 *     process.
 *
 * Threads: oauth_header and oauth_invalidate may be called from any
 * thread.  At most one renewal is in flight: the first thread that needs
 * one does it (network I/O outside the mutex), the others wait on a
 * condition variable and use its result.  Each token has a generation
 * number; a client rebuilds its Authorization header when it changes.
 *
 * The token is renewed when 80% of its lifetime or all but 60 s of it
 * has passed, whichever is earlier (but never before half of it), and
 * after a 401 (oauth_invalidate).  Tokens are never logged; replaced and
 * freed ones are wiped with OPENSSL_cleanse.
 */
#ifndef ROLEHOOK_OAUTH_H
#define ROLEHOOK_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#define OAUTH_TOKEN_MAX 2048      /* bytes of an access or refresh token */
#define OAUTH_RESPONSE_MAX 16384  /* bytes of a token endpoint answer */

enum oauth_result {
	OAUTH_OK = 0,
	OAUTH_RETRYABLE,    /* transport failure, 429, 5xx: try later */
	OAUTH_DENIED,       /* 400/401/403: client or refresh token refused */
	OAUTH_BAD_RESPONSE, /* the answer is not the documented shape */
	OAUTH_EINVAL,       /* bad argument or configuration */
	OAUTH_ERROR         /* local failure: memory, file, lock, libcurl */
};

/*
 * Sends body (JSON) to url with POST and returns the answer: 0 with
 * *status and *resp (malloc'd, NUL-terminated, at most
 * OAUTH_RESPONSE_MAX bytes; the caller wipes and frees it), or -1 when
 * nothing usable came back (err says why, without secrets).  The default
 * (NULL) uses libcurl; unit tests pass their own.
 */
typedef int (*oauth_post_fn)(void *arg, const char *url, const char *body,
    long *status, char **resp, char *err, size_t errlen);

/* Returns milliseconds of a monotonic clock; tests pass their own. */
typedef int64_t (*oauth_clock_fn)(void *arg);

struct oauth_opts {
	const char *base_url;        /* "https://acme.zendesk.com" (checked
	                              * by the caller) */
	const char *client_id;
	const char *client_secret;   /* a secret; copied */
	const char *scope;           /* client credentials; NULL: "read write" */
	const char *refresh_file;    /* non-NULL: refresh-token grant */
	int allow_http_loopback;     /* the base URL may be http (tests) */
	long connect_timeout_ms;     /* 0: 5000 */
	long timeout_ms;             /* 0: 30000 */
	oauth_post_fn post;          /* NULL: libcurl */
	void *post_arg;
	oauth_clock_fn clock;        /* NULL: CLOCK_MONOTONIC */
	void *clock_arg;
};

/* Counters, for tests and metrics. */
struct oauth_stats {
	uint64_t grants;             /* successful grants */
	uint64_t failures;           /* failed grant attempts */
	uint64_t invalidations;      /* 401s that asked for a new token */
	uint64_t generation;         /* of the current token; 0: none yet */
};

struct oauth;

/* Returns a static name for r. */
const char *oauth_strerror(enum oauth_result r);

/*
 * Creates the shared token holder; o is copied (the secret too).  No
 * request is sent yet.  Returns OAUTH_OK with *out set (free with
 * oauth_free), else *out NULL and err filled.
 */
enum oauth_result oauth_new(const struct oauth_opts *o, struct oauth **out,
    char *err, size_t errlen);

/* Frees a, wiping the secret and the tokens.  NULL is a no-op. */
void oauth_free(struct oauth *a);

/*
 * Copies the Authorization value "Bearer <token>" into buf[cap] and its
 * generation into *gen, first getting a new token when there is none or
 * it is due for renewal (or waiting for the thread that gets it).  buf
 * is a secret: wipe it after use.  On failure buf is empty and err says
 * why.
 */
enum oauth_result oauth_header(struct oauth *a, char *buf, size_t cap,
    uint64_t *gen, char *err, size_t errlen);

/*
 * Reports that the token of generation gen met a 401: unless a newer one
 * exists already, the next oauth_header gets a new one.  Never blocks on
 * the network.
 */
void oauth_invalidate(struct oauth *a, uint64_t gen);

/* Copies the counters into *st. */
void oauth_stats(struct oauth *a, struct oauth_stats *st);

/*
 * Replaces path with data[0..len) atomically: a temp file beside it
 * (O_CREAT|O_EXCL, mode 0600), write, fsync, rename over path, fsync of
 * the directory.  0, or -1 with err (path is then unchanged).
 */
int oauth_write_file(const char *path, const char *data, size_t len,
    char *err, size_t errlen);

/*
 * Reads the refresh token in path with secretfile_read's SECRETFILE_OWN
 * rules (a regular file, not a link, owned by this user, no group or
 * other bit): one token, a trailing newline allowed.  0 with *out
 * (malloc'd; the caller wipes and frees it), or -1 with err.
 */
int oauth_read_file(const char *path, char **out, char *err, size_t errlen);

#endif
