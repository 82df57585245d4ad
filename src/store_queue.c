/*
 * store_queue.c -- the store's group commit, shared by the SQLite and
 * PostgreSQL engines (store_queue.h).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "rolehook/log.h"
#include "rolehook/monotime.h"
#include "store_queue.h"

#define PROBE_MS 1000

void
store_queue_defaults(struct store_opts *o)
{
	if (o->batch_rows <= 0)
		o->batch_rows = 64;
	if (o->batch_us < 0)
		o->batch_us = 0;
	if (o->queue_max <= 0)
		o->queue_max = 4096;
}

void
store_queue_init(struct store_queue *q, const struct store_opts *o,
    store_commit_fn commit, void *engine, int probe_healthy)
{
	memset(q, 0, sizeof(*q));
	q->batch_rows = o->batch_rows;
	q->batch_us = o->batch_us;
	q->queue_max = o->queue_max;
	q->commit = commit;
	q->engine = engine;
	q->probe_healthy = probe_healthy;
	q->healthy = 1;
	pthread_mutex_init(&q->lock, NULL);
	monotime_cond_init(&q->work_cv);
	monotime_cond_init(&q->bg_cv);
}

/*
 * Commits one batch (NULL: a probe) through the engine, records the
 * health and wakes the batch's callers.
 */
static void
commit_batch(struct store_queue *q, struct store_pending *batch)
{
	struct store_pending *p;
	const char *why = NULL;
	int rc;

	rc = q->commit(q->engine, batch, &why);
	pthread_mutex_lock(&q->lock);
	if (rc != 0) {
		if (q->healthy)
			log_kv(LOG_ERROR, "store unavailable", "reason", why,
			    (char *)NULL);
		q->healthy = 0;
		q->reason = why;
	} else if (!q->healthy) {
		log_msg(LOG_INFO, "store recovered");
		q->healthy = 1;
		q->reason = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	/* After sem_post the waiter may return and its row is gone. */
	while (batch != NULL) {
		p = batch;
		batch = p->next;
		if (rc != 0)
			p->result = STORE_UNAVAILABLE;
		sem_post(&p->done);
	}
}

static void *
writer_main(void *arg)
{
	struct store_queue *q = arg;
	struct store_pending *batch, *p;
	struct timespec dl;
	int n;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->closing) {
			if (q->healthy && !q->probe_healthy) {
				pthread_cond_wait(&q->work_cv, &q->lock);
				continue;
			}
			/*
			 * Idle: probe every PROBE_MS so that /healthz turns
			 * (back) when the disk or the server does, without
			 * waiting for a sender's retry.
			 */
			monotime_deadline_us(&dl, PROBE_MS * 1000L);
			if (pthread_cond_timedwait(&q->work_cv, &q->lock,
			    &dl) == ETIMEDOUT && q->head == NULL &&
			    !q->closing) {
				pthread_mutex_unlock(&q->lock);
				commit_batch(q, NULL);
				pthread_mutex_lock(&q->lock);
			}
		}
		if (q->head == NULL && q->closing)
			break;
		/*
		 * Rows that arrive while the previous batch was syncing are
		 * already queued; optionally linger a little for more.
		 */
		if (q->batch_us > 0 && q->queued < q->batch_rows &&
		    !q->closing) {
			monotime_deadline_us(&dl, q->batch_us);
			while (q->queued < q->batch_rows && !q->closing)
				if (pthread_cond_timedwait(&q->work_cv,
				    &q->lock, &dl) == ETIMEDOUT)
					break;
		}
		batch = q->head;
		for (n = 1, p = batch; p->next != NULL && n < q->batch_rows;
		    n++)
			p = p->next;
		q->head = p->next;
		if (q->head == NULL)
			q->tail = NULL;
		p->next = NULL;
		q->queued -= n;
		pthread_mutex_unlock(&q->lock);
		commit_batch(q, batch);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int
store_queue_start(struct store_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->writer_started = pthread_create(&q->writer, NULL, writer_main,
	    q) == 0;
	pthread_mutex_unlock(&q->lock);
	return q->writer_started ? 0 : -1;
}

void
store_queue_stop(struct store_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closing = 1;
	pthread_cond_broadcast(&q->work_cv);
	pthread_cond_broadcast(&q->bg_cv);
	pthread_mutex_unlock(&q->lock);
	if (q->writer_started) {
		pthread_join(q->writer, NULL);
		q->writer_started = 0;
	}
}

void
store_queue_destroy(struct store_queue *q)
{
	pthread_cond_destroy(&q->work_cv);
	pthread_cond_destroy(&q->bg_cv);
	pthread_mutex_destroy(&q->lock);
}

enum store_err
store_queue_put(struct store_queue *q, const struct store_event_in *ev,
    int64_t *id)
{
	struct store_pending p;

	memset(&p, 0, sizeof(p));
	p.ev = ev;
	if (sem_init(&p.done, 0, 0) != 0)
		return STORE_UNAVAILABLE;
	pthread_mutex_lock(&q->lock);
	if (q->closing || !q->writer_started || q->queued >= q->queue_max) {
		enum store_err e = q->closing || !q->writer_started ?
		    STORE_UNAVAILABLE : STORE_BUSY;

		pthread_mutex_unlock(&q->lock);
		sem_destroy(&p.done);
		return e;
	}
	if (q->tail != NULL)
		q->tail->next = &p;
	else
		q->head = &p;
	q->tail = &p;
	q->queued++;
	/*
	 * Wake the writer when work appears or a batch is full; in between
	 * it is lingering for more rows (batch_us) and waking it for each
	 * arrival would only cost a context switch per request.
	 */
	if (q->queued == 1 || q->queued >= q->batch_rows)
		pthread_cond_signal(&q->work_cv);
	pthread_mutex_unlock(&q->lock);
	while (sem_wait(&p.done) != 0)
		; /* EINTR only: the writer always posts */
	sem_destroy(&p.done);
	if (id != NULL)
		*id = p.id;
	return p.result;
}

int
store_queue_healthy(struct store_queue *q, const char **reason)
{
	int ok;

	pthread_mutex_lock(&q->lock);
	ok = q->healthy && !q->closing && q->queued < q->queue_max;
	if (reason != NULL)
		*reason = ok ? NULL : !q->healthy ? q->reason :
		    q->closing ? "closing" : "queue full";
	pthread_mutex_unlock(&q->lock);
	return ok ? 0 : -1;
}
