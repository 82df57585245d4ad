/*
 * worker.h -- rolehook work: stored events become Zendesk changes.
 *
 * Per event: normalise -> (stale? echo? drift?) -> policy -> read the
 * person's current Zendesk state -> plan -> apply each write through the
 * rate governor -> one audit row per write.  Events of one person are
 * handled one at a time and in order (store_due); different people in
 * parallel on `threads` threads.  The plan is always made from freshly
 * read state, so running an event again writes nothing that is already
 * true: a crash between a write and its audit row never repeats a
 * harmful write (exactly once in effect).
 *
 * This process holds the Zendesk credential and no listening socket.
 */
#ifndef ROLEHOOK_WORKER_H
#define ROLEHOOK_WORKER_H

#include <signal.h>
#include <stddef.h>

struct config;

struct worker_opts {
	int threads;          /* parallel people (default 4) */
	int until_idle;       /* exit 0 once nothing is due and nothing runs */
	int max_retry_age_s;  /* retry for this long after receipt, then dead
	                       * (default 86400) */
	int backoff_base_s;   /* first retry delay cap (default 5) */
	int backoff_max_s;    /* largest retry delay (default 900) */
	int echo_window_s;    /* a Zendesk user event this soon after our own
	                       * write to the user is its echo (default 600) */
	int poll_ms;          /* how often to look for new events (default 500) */
};

/*
 * Runs until *stop becomes non-zero (signal handler) or, with
 * until_idle, until nothing is due.  Returns 0, or -1 with err filled
 * when it cannot start (no policy, no Zendesk configuration, store).
 */
int worker_run(const struct config *cfg, const struct worker_opts *o,
    volatile sig_atomic_t *stop, char *err, size_t errlen);

struct json_object;

struct reconcile_opts {
	int fix;              /* queue drifted people for work */
	const char *field;    /* only this field, or NULL */
	struct json_object *people; /* an HR export (array) instead of the
	                       * stored events; report only; borrowed */
	int quiet;            /* no estimate, no progress on stderr */
};

/*
 * rolehook reconcile: for each person's newest finished event, the plan
 * from fresh Zendesk state is the drift; prints one JSON line per person
 * with drift (fields per policy.drift: revert, alert; accept is left
 * out).  With fix, people whose drift is all "revert" get that event
 * back to pending, for work to apply and audit.  Returns 0, 1 when some
 * people could not be read, -1 when it cannot start (err filled).
 */
int worker_reconcile(const struct config *cfg, const struct reconcile_opts *o,
    char *err, size_t errlen);

#endif
