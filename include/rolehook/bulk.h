/*
 * bulk.h -- long read-only runs over every agent or person (report seats,
 * reconcile): the up-front estimate, progress on stderr, and a small
 * pool of threads that keeps requests in flight.
 *
 * Why a pool: the rate governor (governor.h) hands out one request slot
 * every 60/limit seconds (86 ms at 700/min).  One thread that waits for
 * each answer adds the round trip to every slot; with a few requests in
 * flight the governor alone sets the pace, so a run takes the floor,
 * requests / limit, and no longer (docs/performance.md, bench/report.py).
 *
 * Progress goes to stderr only (stdout carries CSV or JSON): on a
 * terminal one line rewritten with \r, otherwise a plain line every 10 %
 * or 30 s, so that logs stay readable.  Every function is thread-safe
 * unless it says otherwise.
 */
#ifndef ROLEHOOK_BULK_H
#define ROLEHOOK_BULK_H

#include <stddef.h>
#include <stdio.h>

struct gov;

#define BULK_THREADS 8       /* requests kept in flight by bulk_run */

/* "5,000": n with thousands separators, into buf (len bytes). */
void bulk_fmt_count(char *buf, size_t len, long long n);

/* "7 min 13 s", "42 s", "1 h 05 min": s seconds, rounded up, into buf. */
void bulk_fmt_duration(char *buf, size_t len, double s);

/*
 * Prints, unless quiet, "rolehook: CMD: 5,000 agents, about 10,052
 * requests: at least 14 min 22 s at 700 requests/min" on stderr: the
 * floor is requests / limit_per_min.  what names the items ("agents").
 * Returns the floor in seconds.
 */
double bulk_estimate(const char *cmd, long long items, const char *what,
    long long requests, long limit_per_min, int quiet);

struct bulk_progress;

/*
 * Starts progress for total items: cmd and what are borrowed and must
 * outlive it; gov (borrowed, may be NULL) supplies the request rate.
 * tty: 1 rewrite one line, 0 plain lines.  With quiet nothing is
 * printed.  Returns NULL out of memory (callers go on without it: every
 * function takes NULL as a no-op).
 */
struct bulk_progress *bulk_progress_new(const char *cmd, const char *what,
    size_t total, struct gov *gov, int tty, int quiet);

/* Counts n more items done and prints when a line is due. */
void bulk_progress_add(struct bulk_progress *p, size_t n);

/*
 * Ends a terminal's progress line (a newline) so that a message can
 * follow; later bulk_progress_add calls start a new one.
 */
void bulk_progress_break(struct bulk_progress *p);

/* Prints the last line ("done in ...") and frees p.  NULL is a no-op. */
void bulk_progress_end(struct bulk_progress *p);

/*
 * Called for item i by worker thread `thread` (0..nthreads-1).  Returns
 * 0 to go on; non-zero stops the run: no item is started after it, the
 * ones in flight finish.
 */
typedef int (*bulk_fn)(size_t i, int thread, void *arg);

/*
 * Runs fn for items 0..n-1 on nthreads threads (1..64), handing items out
 * in order, and counts each into p (may be NULL).  Every item below the
 * highest one started has finished when it returns.  Returns 0, the
 * first non-zero value fn returned, or -1 when no thread could start
 * (then fn ran for none).  Not reentrant with the same arg.
 */
int bulk_run(int nthreads, size_t n, bulk_fn fn, void *arg,
    struct bulk_progress *p);

#endif
