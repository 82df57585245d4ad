/*
 * monotime.h -- the monotonic clock (CLOCK_MONOTONIC): elapsed time,
 * sleeps and condition-variable deadlines, immune to changes of the
 * wall clock.  One copy for every module that waits or measures.
 */
#ifndef ROLEHOOK_MONOTIME_H
#define ROLEHOOK_MONOTIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (an arbitrary origin). */
int64_t monotime_ms(void);

/* Microseconds on the same clock. */
int64_t monotime_us(void);

/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after EINTR. */
void monotime_sleep_ms(int64_t ms);

/*
 * *ts = the monotonic time us microseconds from now, for
 * pthread_cond_timedwait on a condition variable made by
 * monotime_cond_init.
 */
void monotime_deadline_us(struct timespec *ts, int64_t us);

/*
 * pthread_cond_init with the monotonic clock, so timed waits do not jump
 * with the wall clock.  Returns pthread_cond_init's result.
 */
int monotime_cond_init(pthread_cond_t *cv);

#endif
