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

/*
 * The read path of `work`, for engines that plan from fresh Zendesk
 * state without applying (reconcile.c).  A reader holds nclients Zendesk
 * clients under one rate governor (and policy.limits.writes_per_minute's),
 * and the custom roles and groups read once at start.  cfg and pol are
 * borrowed and must outlive it.
 */
struct json_object;
struct gov;
struct policy;
struct worker_reader;
struct zd_client;

/*
 * Loads the zendesk section, makes the clients and reads the custom
 * roles and groups.  Returns 0 and *out (free with worker_reader_free),
 * or -1 with err filled ("Zendesk: cannot read roles: ...").
 */
int worker_reader_new(const struct config *cfg, const struct policy *pol,
    int nclients, struct worker_reader **out, char *err, size_t errlen);

/*
 * The person's `current` document (plan.h: {"user", "entitlements",
 * "group_memberships"}) assembled as `work` assembles it once the user is
 * found, with client number client (0 .. nclients-1; one caller thread
 * each): the entitlements read when managed; memberships (borrowed:
 * {"group_memberships": [...]} as GET /api/v2/users/{id}/
 * group_memberships.json answers, e.g. from a listing of all) when not
 * NULL, else read.  user (borrowed) is the Zendesk user object.  Returns
 * 0 and *current (caller puts), or -1 with why "get entitlements: ..."
 * or "list group memberships: ...".
 */
int worker_reader_current(struct worker_reader *r, int client,
    struct json_object *user, struct json_object *memberships,
    struct json_object **current, char *why, size_t whylen);

/*
 * Client number client, for the lookups that precede
 * worker_reader_current (zd_find_user, zd_show_many) and the listings;
 * borrowed, used by one thread at a time.
 */
struct zd_client *worker_reader_client(const struct worker_reader *r,
    int client);

/* {"custom_roles": [...]} and {"groups": [...]} as read; borrowed. */
const struct json_object *worker_reader_roles(const struct worker_reader *r);
const struct json_object *worker_reader_groups(const struct worker_reader *r);

/* zendesk.entitlements: product access is read and planned. */
int worker_reader_entitlements(const struct worker_reader *r);

/*
 * Requests one worker_reader_current makes at most (for an estimate):
 * the entitlements when managed, the memberships unless given.
 */
long worker_reader_requests(const struct worker_reader *r,
    int memberships_given);

/* The shared governor (for progress and estimates); borrowed. */
struct gov *worker_reader_gov(const struct worker_reader *r);

/* Frees r and its clients.  NULL is a no-op. */
void worker_reader_free(struct worker_reader *r);

#endif
