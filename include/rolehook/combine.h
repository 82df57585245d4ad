/*
 * combine.h -- group commit for Zendesk writes: the same write of
 * different people, made by different worker threads at the same time,
 * goes out as one bulk request.
 *
 *   PUT /api/v2/users/{id}.json {"user": {...}}
 *       -> PUT /api/v2/users/update_many.json {"users": [{"id", ...}]}
 *   POST /api/v2/group_memberships.json {"group_membership": {...}}
 *       -> POST /api/v2/group_memberships/create_many.json
 *          {"group_memberships": [...]}
 *   DELETE /api/v2/group_memberships/{id}.json
 *       -> DELETE /api/v2/group_memberships/destroy_many.json?ids=a,b
 *
 * update_many and create_many answer with a job (Zendesk "Job
 * Statuses"); combine polls it and hands each thread the result of its
 * own item.  destroy_many removes the memberships before it answers (its
 * job only unassigns tickets), so it is not polled.
 *
 * A thread calls combine_call() where it would call zd_call() and blocks
 * until its write is done, so the order of one person's writes and every
 * caller's error handling stay as they are.  The first waiting thread
 * leads: it waits until every busy thread (combine_enter) is waiting
 * too, or wait_ms passed, or max_items are queued, then sends the batch.
 * A batch of one is sent as the plain request; a bulk request that
 * Zendesk refuses as a whole (4xx other than 401 and 429) is sent again
 * one item at a time, so each person gets the exact answer.  Other
 * requests (creates, product access, reads) pass straight through.
 *
 * All functions are thread-safe.
 */
#ifndef ROLEHOOK_COMBINE_H
#define ROLEHOOK_COMBINE_H

#include <stddef.h>

#include "rolehook/zendesk.h"

struct json_object;
struct combine;

/* Sends one request with the calling thread's client (zd_call's shape). */
typedef enum zd_result (*combine_send_fn)(void *client, const char *method,
    const char *path, struct json_object *body, struct zd_response *res);

#define COMBINE_MAX_ITEMS 100    /* Zendesk's bulk endpoints take <= 100 */

struct combine_opts {
	int wait_ms;                 /* longest wait for more items (5000) */
	int max_items;               /* 2..100 (100); 1 turns combining off */
	int poll_ms;                 /* the first job poll goes at once, the
	                              * next after poll_ms (100), doubling up
	                              * to 2 s */
	int job_timeout_ms;          /* a job not done by then fails its
	                              * items as retryable (120000) */
	combine_send_fn send;        /* NULL: zd_call on a struct zd_client */
};

/* 0, or -1 (out of memory).  opts may be NULL (the defaults). */
int combine_new(const struct combine_opts *opts, struct combine **out);

/* NULL is a no-op.  No thread may be inside combine_call. */
void combine_free(struct combine *cb);

/*
 * A thread starts (enter) or ends (leave) a piece of work that may write:
 * the leader does not wait for threads that are not busy.
 */
void combine_enter(struct combine *cb);
void combine_leave(struct combine *cb);

#define COMBINE_VIA_LEN 160
#define COMBINE_RUN_MAX 16       /* writes one thread hands over at once */

/* One write for combine_calls. */
struct combine_req {
	const char *method;
	const char *path;
	struct json_object *body;    /* borrowed */
	struct zd_response *res;     /* the caller's; filled */
	enum zd_result rc;           /* filled */
	char via[COMBINE_VIA_LEN];   /* filled: "" when sent as is, else the
	                              * bulk request that carried it, e.g.
	                              * "PUT /api/v2/users/update_many.json
	                              * (8 users, job 82de0b04...)" */
};

/* 1 when the write is one combine folds into a bulk request. */
int combine_can(const char *method, const char *path,
    const struct json_object *body);

/*
 * Sends n (1..COMBINE_RUN_MAX) writes of one person, in order, each with
 * its own answer: what n zd_call()s would do, except that all n are sent
 * even when one fails (the caller audits each), and that writes combine
 * folds may go out in bulk requests with other threads' writes.  Within
 * one batch the bulk requests go out users first, then membership
 * creates, then (once the creates are done) removals -- the order plan.c
 * gives one person's writes -- so pass a run whose kinds follow that
 * order; a write that breaks it waits for the next batch.  A role change
 * that makes someone an agent must end its run: the membership creates
 * of one batch are not held back for its job.  On success res->body is
 * the request's own answer, or for a bulk item its entry of the job's
 * results ({"id", "success", ...}).
 */
void combine_calls(struct combine *cb, void *client, struct combine_req *r,
    size_t n);

/* combine_calls for one write; via (may be NULL) as combine_req's. */
enum zd_result combine_call(struct combine *cb, void *client,
    const char *method, const char *path, struct json_object *body,
    struct zd_response *res, char *via, size_t vialen);

/* Counters for tests and the work log. */
struct combine_stats {
	long batches;                /* flushes that sent anything */
	long bulk_requests, bulk_items, polls, fallbacks;
	long waited_out;             /* batches sent when wait_ms ran out */
};
void combine_stats(struct combine *cb, struct combine_stats *out);

#endif
