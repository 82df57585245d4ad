/*
 * governor.h -- one request budget for the Zendesk account, shared by
 * every worker thread.
 *
 * Zendesk limits requests per account per minute (700 on Enterprise,
 * plan-dependent; "Rate limits", Support API docs) and says so in every
 * answer: X-Rate-Limit / ratelimit-limit (the limit), X-Rate-Limit-Remaining
 * / ratelimit-remaining (what is left in the window), ratelimit-reset
 * (seconds until the window resets) and, on 429, Retry-After (seconds).
 *
 * The governor is a token bucket refilled at limit/60 requests per second
 * holding at most `burst` requests (default 1), so that in any 60 s
 * window it grants at most limit + burst - 1 requests: with the default,
 * never more than the limit.  The server's remaining count bounds it too
 * (other integrations share the account's budget): at remaining 0 nobody
 * sends before the reset.  A 429 (or a 503 with Retry-After) pauses every
 * caller until Retry-After has passed.
 *
 * The logic is pure: time comes from an injectable clock, so tests run
 * on a fake one.  Every function is thread-safe.
 */
#ifndef ROLEHOOK_GOVERNOR_H
#define ROLEHOOK_GOVERNOR_H

#include <stdint.h>

enum gov_err {
	GOV_OK = 0,
	GOV_EINVAL,     /* an option out of range */
	GOV_ENOMEM,
	GOV_ESYS        /* pthread_mutex_init failed */
};

/* Time source: monotonic milliseconds and a sleep; NULL members = real. */
struct gov_clock {
	int64_t (*now_ms)(void *arg);
	void (*sleep_ms)(void *arg, int64_t ms);
	void *arg;
};

struct gov_opts {
	long default_limit;   /* per minute until a header says; 0: 200 (lowest plan) */
	int share_pct;        /* 1..100: share of the account limit to use; 0: 100 */
	long burst;           /* bucket capacity in requests; 0: 1 */
	long max_pause_s;     /* cap on one Retry-After/reset pause; 0: 3600 */
	const struct gov_clock *clock; /* copied; NULL: CLOCK_MONOTONIC, nanosleep */
};

/* Raw header values as received (NUL-terminated, borrowed); NULL = absent. */
struct gov_headers {
	const char *x_rate_limit;
	const char *x_rate_limit_remaining;
	const char *ratelimit_limit;
	const char *ratelimit_remaining;
	const char *ratelimit_reset;
	const char *retry_after;
};

/* Parsed values; -1 = absent or not a valid number. */
struct gov_parsed {
	long limit;           /* per minute; the smaller of the two headers */
	long remaining;       /* the smaller of the two headers */
	long reset_s;
	long retry_after_s;   /* delta-seconds only; an HTTP-date counts as invalid */
};

struct gov_stats {
	long limit;           /* account limit per minute (learned or default) */
	long effective;       /* what this process uses: limit * share_pct / 100 */
	int learned;          /* 1 once a header gave the limit */
	long server_remaining;/* last remaining seen, minus grants since; -1 unknown */
	int64_t paused_ms;    /* how long everyone still waits for a Retry-After */
	uint64_t granted;     /* requests let through */
	uint64_t throttled;   /* 429s observed */
};

struct gov;

/* Returns a static description of err. */
const char *gov_strerror(enum gov_err err);

/*
 * Parses rate-limit headers strictly: optional blanks, decimal digits,
 * then nothing or ";"/","-separated parameters; negative, empty,
 * overflowing or otherwise garbled values become -1.  A limit with a
 * "w=SECONDS" parameter other than 60 is scaled to per minute.  Pure.
 */
void gov_parse_headers(const struct gov_headers *h, struct gov_parsed *out);

/*
 * Creates a governor.  o may be NULL (all defaults).  On GOV_OK *out is
 * set (free with gov_free); otherwise *out is NULL.
 */
enum gov_err gov_new(const struct gov_opts *o, struct gov **out);

/* Frees g.  NULL is a no-op.  No thread may be using it. */
void gov_free(struct gov *g);

/*
 * Takes one request slot if one is free now and returns 0; otherwise
 * takes nothing and returns the milliseconds (> 0) until one may be.
 */
int64_t gov_try_acquire(struct gov *g);

/*
 * Blocks (through the clock's sleep) until a slot is taken and returns
 * 0.  With max_wait_ms >= 0, gives up instead of waiting longer and
 * returns the milliseconds still needed (> 0); max_wait_ms < 0 waits
 * as long as it takes.
 */
int64_t gov_acquire(struct gov *g, int64_t max_wait_ms);

/*
 * Learns from one answer: status is the HTTP status (0 if none came),
 * h its headers (NULL = none).  Updates the limit and the server's
 * remaining count; on 429, and on 503 with Retry-After, pauses every
 * caller for Retry-After seconds (for a 429 without a usable one:
 * ratelimit-reset, else 60 s; at least 1 s, at most max_pause_s).
 */
void gov_observe(struct gov *g, int status, const struct gov_headers *h);

/* Fills *out with a snapshot (for metrics and logs). */
void gov_stats(struct gov *g, struct gov_stats *out);

#endif
