/*
 * metrics.h -- counters for GET /metrics (Prometheus text format 0.0.4).
 * Updates are lock-free (relaxed atomics); rendering allocates.
 */
#ifndef ROLEHOOK_METRICS_H
#define ROLEHOOK_METRICS_H

#include <stddef.h>

#include "rolehook/verify.h"

struct metrics;

/*
 * Creates counters for the given source names (borrowed; must outlive
 * the metrics).  Requests for no known source count under "unknown".
 * Returns NULL on allocation failure.
 */
struct metrics *metrics_new(const char *const *sources, size_t nsources);

/* NULL is a no-op. */
void metrics_free(struct metrics *m);

/*
 * Counts one answered request.  source is an index into the names given
 * to metrics_new, or -1 for none.  seconds is the handling time.
 */
void metrics_request(struct metrics *m, int source, int status,
    double seconds);

/* Counts one signature verification failure by reason. */
void metrics_verify_failure(struct metrics *m, int source,
    enum verify_result r);

/*
 * Counts one verified request by the secret that matched (0 current,
 * 1 previous): during a rotation it shows when a sender has switched.
 */
void metrics_verified(struct metrics *m, int source, int secret_index);

/*
 * Sets the gauge of stored events in a state (pending, retry, waiting,
 * held, dead, done, ignored, stale, cancelled); other states are not
 * exported.  metrics_events_reset() zeroes them all first.
 */
void metrics_events(struct metrics *m, const char *state, long count);
void metrics_events_reset(struct metrics *m);

/* Sets the store health gauge (1 healthy, 0 not). */
void metrics_store_up(struct metrics *m, int up);

/*
 * Renders the exposition text.  Returns a malloc'd NUL-terminated string
 * (caller frees) and its length in *len, or NULL on allocation failure.
 */
char *metrics_render(struct metrics *m, size_t *len);

#endif
