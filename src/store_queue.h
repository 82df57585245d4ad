/*
 * store_queue.h -- the store's group commit, engine-neutral.  Internal
 * to the store module (like store_engine.h): nothing outside
 * src/store*.c includes it.
 *
 * Request threads queue their row (store_queue_put) and sleep; one
 * writer thread takes everything queued (up to batch_rows, lingering up
 * to batch_us for more when the queue is short), hands the batch to the
 * engine's commit function, records the store's health from its answer
 * and wakes every caller with its own result (docs/architecture.md,
 * "Durability").  The engine keeps its connection and SQL; the queue
 * keeps the waiting, the batching and the health.
 */
#ifndef ROLEHOOK_STORE_QUEUE_H
#define ROLEHOOK_STORE_QUEUE_H

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "rolehook/store.h"

/*
 * One queued row; lives on the caller's stack until its semaphore is
 * posted.  A semaphore per waiter, not one condition variable for all:
 * the writer wakes exactly the callers whose batch is durable, without
 * a thundering herd on the store lock.  The engine's commit sets id and
 * result (STORE_OK or STORE_DUPLICATE) of each row it inserts.
 */
struct store_pending {
	const struct store_event_in *ev;
	int64_t id;
	enum store_err result;
	sem_t done;
	struct store_pending *next;
};

/*
 * The engine's commit of one batch, on the writer thread: one
 * transaction, all or nothing.  batch NULL is a health probe.  Returns
 * 0, or -1 with *why a static reason ("disk full", "database
 * unreachable") when the batch did not commit.
 */
typedef int (*store_commit_fn)(void *engine, struct store_pending *batch,
    const char **why);

struct store_queue {
	/* Guards everything below; the engines' own background threads
	 * (checkpoints, leases) wait under it too, and read closing. */
	pthread_mutex_t lock;
	pthread_cond_t work_cv;        /* the writer waits for rows */
	pthread_cond_t bg_cv;          /* the engine's background thread
	                                * (checkpoints, leases) waits here;
	                                * store_queue_stop broadcasts it */
	struct store_pending *head, *tail;
	int queued;
	int closing;
	int healthy;                   /* written by the writer only */
	const char *reason;            /* static text when unhealthy */
	int batch_rows, batch_us, queue_max;
	int probe_healthy;             /* probe every second when healthy
	                                * too, not only when unhealthy */
	store_commit_fn commit;
	void *engine;
	pthread_t writer;
	int writer_started;
};

/* Fills the group-commit defaults into o: batch_rows 64, batch_us >= 0,
 * queue_max 4096. */
void store_queue_defaults(struct store_opts *o);

/*
 * Initialises q (healthy, empty; lock, work_cv and bg_cv made, the
 * condition variables on the monotonic clock) from o's
 * batch_rows, batch_us and queue_max.  The writer is not started.
 */
void store_queue_init(struct store_queue *q, const struct store_opts *o,
    store_commit_fn commit, void *engine, int probe_healthy);

/* Starts the writer thread.  Returns 0, or -1. */
int store_queue_start(struct store_queue *q);

/* Sets closing, wakes the engine's background thread, wakes and joins
 * the writer (which drains the queue first).  Safe when it was never
 * started.  Does not free. */
void store_queue_stop(struct store_queue *q);

/* Destroys the lock and condition variables (after store_queue_stop
 * and after the engine joined its background thread). */
void store_queue_destroy(struct store_queue *q);

/*
 * Queues ev and waits until its batch committed or failed.  Returns
 * STORE_OK or STORE_DUPLICATE with *id (when id is not NULL),
 * STORE_BUSY when queue_max rows already wait, STORE_UNAVAILABLE when
 * there is no writer (a read-only or direct handle), when closing, or
 * when the commit failed.
 */
enum store_err store_queue_put(struct store_queue *q,
    const struct store_event_in *ev, int64_t *id);

/* 0 when healthy, not closing and not full; else -1 with *reason. */
int store_queue_healthy(struct store_queue *q, const char **reason);

#endif
