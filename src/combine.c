/*
 * combine.c -- concurrent per-person writes folded into Zendesk's bulk
 * endpoints (see combine.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "rolehook/combine.h"
#include "rolehook/jsonutil.h"
#include "rolehook/monotime.h"

#define POLL_MAX_MS 2000
#define JOB_ID_MAX 64

enum kind { K_USER = 0, K_GM_ADD, K_GM_DEL, K_N };

struct item {
	enum kind kind;
	int64_t key;               /* user id; membership id for K_GM_DEL */
	int64_t group;             /* K_GM_ADD: the group */
	const char *method, *path;
	json_object *body;         /* borrowed */
	json_object *fields;       /* borrowed: the body's one member */
	void *client;
	struct zd_response *res;   /* the caller's */
	struct combine_req *req;   /* the caller's: rc, via */
	struct waiter *owner;
	struct item *next;
};

/* One thread inside combine_calls. */
struct waiter {
	size_t left;               /* its items not done yet */
};

struct combine {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct combine_opts o;
	struct item *head, *tail;
	size_t npending;
	int inside;                /* threads whose item is not done */
	int active;                /* threads between enter and leave */
	int leading;
	struct combine_stats st;
};

/* One kind's share of a batch. */
struct group {
	struct item *it[COMBINE_MAX_ITEMS];
	size_t n;
	char job[JOB_ID_MAX + 1];  /* the job to poll, "" if none */
	struct zd_response sub;    /* the bulk request's answer */
};

static const char *const kind_noun[K_N] = { "users", "memberships",
	"memberships" };

static enum zd_result
send_zd(void *client, const char *method, const char *path, json_object *body,
    struct zd_response *res)
{
	return zd_call(client, method, path, body, res);
}

int
combine_new(const struct combine_opts *opts, struct combine **out)
{
	struct combine *cb;
	pthread_condattr_t ca;

	*out = NULL;
	if ((cb = calloc(1, sizeof(*cb))) == NULL)
		return -1;
	if (opts != NULL)
		cb->o = *opts;
	if (cb->o.wait_ms <= 0)
		cb->o.wait_ms = 5000;
	if (cb->o.max_items <= 0 || cb->o.max_items > COMBINE_MAX_ITEMS)
		cb->o.max_items = COMBINE_MAX_ITEMS;
	if (cb->o.poll_ms <= 0)
		cb->o.poll_ms = 100;
	if (cb->o.job_timeout_ms <= 0)
		cb->o.job_timeout_ms = 120000;
	if (cb->o.send == NULL)
		cb->o.send = send_zd;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&cb->mu, NULL) != 0 ||
	    pthread_cond_init(&cb->cv, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		free(cb);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	*out = cb;
	return 0;
}

void
combine_free(struct combine *cb)
{
	if (cb == NULL)
		return;
	pthread_cond_destroy(&cb->cv);
	pthread_mutex_destroy(&cb->mu);
	free(cb);
}

void
combine_enter(struct combine *cb)
{
	pthread_mutex_lock(&cb->mu);
	cb->active++;
	pthread_mutex_unlock(&cb->mu);
}

void
combine_leave(struct combine *cb)
{
	pthread_mutex_lock(&cb->mu);
	cb->active--;
	/* The leader may have been waiting for this thread. */
	pthread_cond_broadcast(&cb->cv);
	pthread_mutex_unlock(&cb->mu);
}

void
combine_stats(struct combine *cb, struct combine_stats *out)
{
	pthread_mutex_lock(&cb->mu);
	*out = cb->st;
	pthread_mutex_unlock(&cb->mu);
}

/* ------------------------------------------------------ classification */

/* "<prefix><digits>.json" exactly: 0 and *id, else -1. */
static int
path_id(const char *path, const char *prefix, int64_t *id)
{
	size_t n = strlen(prefix);
	const char *p;
	int64_t v = 0;

	if (strncmp(path, prefix, n) != 0)
		return -1;
	for (p = path + n; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (p == path + n || strcmp(p, ".json") != 0 || v <= 0)
		return -1;
	*id = v;
	return 0;
}

/* The body's only member, name, as an object; else NULL. */
static json_object *
only_member(json_object *body, const char *name)
{
	json_object *v;

	if (body == NULL || !json_object_is_type(body, json_type_object) ||
	    json_object_object_length(body) != 1 ||
	    !json_object_object_get_ex(body, name, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

static int
int_member(json_object *o, const char *name, int64_t *v)
{
	json_object *x;

	if (!json_object_object_get_ex(o, name, &x) ||
	    !json_object_is_type(x, json_type_int) ||
	    (*v = json_object_get_int64(x)) <= 0)
		return -1;
	return 0;
}

/* Fills it->kind and its keys; -1 when the write is not combined. */
static int
classify(struct item *it)
{
	if (strcmp(it->method, "PUT") == 0 &&
	    path_id(it->path, "/api/v2/users/", &it->key) == 0 &&
	    (it->fields = only_member(it->body, "user")) != NULL &&
	    !json_object_object_get_ex(it->fields, "id", NULL)) {
		it->kind = K_USER;
		return 0;
	}
	if (strcmp(it->method, "POST") == 0 &&
	    strcmp(it->path, "/api/v2/group_memberships.json") == 0 &&
	    (it->fields = only_member(it->body, "group_membership")) !=
	    NULL && int_member(it->fields, "user_id", &it->key) == 0 &&
	    int_member(it->fields, "group_id", &it->group) == 0) {
		it->kind = K_GM_ADD;
		return 0;
	}
	if (strcmp(it->method, "DELETE") == 0 && it->body == NULL &&
	    path_id(it->path, "/api/v2/group_memberships/", &it->key) == 0) {
		it->kind = K_GM_DEL;
		return 0;
	}
	return -1;
}

/* -------------------------------------------------------------- results */

/*
 * A body of its own for a waiting thread: a copy, not a reference, since
 * json-c's reference counts are not atomic and each thread puts its
 * answer on its own.  NULL for NULL or out of memory (the status and
 * reason still tell the outcome).
 */
static json_object *
own_copy(json_object *o)
{
	json_object *c = NULL;

	if (o != NULL && json_object_deep_copy(o, &c, NULL) != 0)
		c = NULL;
	return c;
}

/* it gets a copy of res (a body of its own). */
static void
give(struct item *it, enum zd_result rc, const struct zd_response *res)
{
	zd_response_clear(it->res);
	it->res->status = res->status;
	it->res->body = own_copy(res->body);
	it->res->item = it->res->body;
	it->res->retry_after_s = res->retry_after_s;
	it->res->rl = res->rl;
	memcpy(it->res->reason, res->reason, sizeof(it->res->reason));
	it->req->rc = rc;
}

/* it fails with rc and a reason of its own. */
static void
fail(struct item *it, enum zd_result rc, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
fail(struct item *it, enum zd_result rc, long status, const char *fmt, ...)
{
	va_list ap;

	zd_response_clear(it->res);
	it->res->status = status;
	va_start(ap, fmt);
	vsnprintf(it->res->reason, sizeof(it->res->reason), fmt, ap);
	va_end(ap);
	it->req->rc = rc;
}

static const char *
str_member(json_object *o, const char *name)
{
	json_object *x;

	if (!json_object_object_get_ex(o, name, &x) ||
	    !json_object_is_type(x, json_type_string))
		return NULL;
	return json_object_get_string(x);
}

/* o[name] as an integer >= 0: 0 and *v, else -1. */
static int
index_member(json_object *o, const char *name, int64_t *v)
{
	json_object *x;

	if (!json_object_object_get_ex(o, name, &x) ||
	    !json_object_is_type(x, json_type_int) ||
	    (*v = json_object_get_int64(x)) < 0)
		return -1;
	return 0;
}

/*
 * The entry of results for it, position i of its group, or NULL: creates
 * answer by index (CreateResourceResult, FailedResult), updates by the
 * user's id (UpdateResourceResult).
 */
static json_object *
entry_of(json_object *results, const struct item *it, size_t i)
{
	size_t k, n = json_object_array_length(results);
	int64_t v;

	for (k = 0; k < n; k++) {
		json_object *e = json_object_array_get_idx(results, k);

		if (!json_object_is_type(e, json_type_object))
			continue;
		if (it->kind == K_GM_ADD ?
		    index_member(e, "index", &v) == 0 && v == (int64_t)i :
		    index_member(e, "id", &v) == 0 && v == it->key)
			return e;
	}
	return NULL;
}

/* One item's share of a completed job. */
static void
take_result(struct item *it, size_t i, const char *job, json_object *results)
{
	json_object *e, *ok;
	const char *err, *det;

	if (results == NULL || !json_object_is_type(results, json_type_array) ||
	    (e = entry_of(results, it, i)) == NULL) {
		fail(it, ZD_RETRYABLE, 0, "Zendesk job %s gave no result for "
		    "this %s", job, it->kind == K_USER ? "user" : "membership");
		return;
	}
	err = str_member(e, "error");
	if ((json_object_object_get_ex(e, "success", &ok) &&
	    json_object_is_type(ok, json_type_boolean) &&
	    !json_object_get_boolean(ok)) || err != NULL) {
		det = str_member(e, "details");
		fail(it, ZD_PERMANENT, 422, "Zendesk job %s: %s%s%s", job,
		    err != NULL ? err : "failed", det != NULL ? ": " : "",
		    det != NULL ? det : "");
		return;
	}
	zd_response_clear(it->res);
	it->res->status = 200;
	it->res->body = own_copy(e);
	it->res->item = it->res->body;
	it->req->rc = ZD_OK;
}

/* ------------------------------------------------------------ the batch */

static json_object *
bulk_body(const struct group *g, enum kind k)
{
	json_object *arr = json_object_new_array(), *o;
	size_t i;

	for (i = 0; i < g->n; i++) {
		if (k == K_USER) {
			o = json_object_new_object();
			json_object_object_add(o, "id",
			    json_object_new_int64(g->it[i]->key));
			json_object_object_foreach(g->it[i]->fields, key, v)
				json_object_object_add(o, key,
				    json_object_get(v));
		} else
			o = json_object_get(g->it[i]->fields);
		json_object_array_add(arr, o);
	}
	o = json_object_new_object();
	json_object_object_add(o, k == K_USER ? "users" : "group_memberships",
	    arr);
	return o;
}

/* A 4xx that is about the request, not the credential or the rate. */
static int
refused_whole(enum zd_result rc, const struct zd_response *res)
{
	return (rc == ZD_PERMANENT || rc == ZD_NOT_FOUND) &&
	    res->status >= 400 && res->status < 500 && res->status != 401 &&
	    res->status != 403 && res->status != 429;
}

static void
set_via(struct item *it, const char *req, size_t n, const char *job)
{
	char *via = it->req->via;

	if (job[0] != '\0')
		snprintf(via, COMBINE_VIA_LEN, "%s (%zu %s, job %s)", req, n,
		    kind_noun[it->kind], job);
	else
		snprintf(via, COMBINE_VIA_LEN, "%s (%zu %s)", req, n,
		    kind_noun[it->kind]);
}

static void
count(struct combine *cb, long *what, long n)
{
	pthread_mutex_lock(&cb->mu);
	*what += n;
	pthread_mutex_unlock(&cb->mu);
}

/*
 * Sends one kind's items: as they are when alone, else in bulk.  Items
 * that got their answer leave g (g->n 0); those waiting for a job stay,
 * with g->job set.
 */
static void
submit(struct combine *cb, void *client, struct group *g, enum kind k)
{
	static const char *const meth[K_N] = { "PUT", "POST", "DELETE" };
	char path[2048], req[96];
	json_object *body = NULL, *js, *id;
	enum zd_result rc;
	size_t i, len;

	if (g->n == 0)
		return;
	if (g->n == 1) {
		struct item *it = g->it[0];

		it->req->rc = cb->o.send(it->client, it->method, it->path,
		    it->body, it->res);
		g->n = 0;
		return;
	}
	if (k == K_GM_DEL) {
		len = (size_t)snprintf(path, sizeof(path),
		    "/api/v2/group_memberships/destroy_many.json?ids=");
		for (i = 0; i < g->n; i++)
			len += (size_t)snprintf(path + len, sizeof(path) - len,
			    "%s%" PRId64, i > 0 ? "," : "", g->it[i]->key);
	} else {
		snprintf(path, sizeof(path), k == K_USER ?
		    "/api/v2/users/update_many.json" :
		    "/api/v2/group_memberships/create_many.json");
		body = bulk_body(g, k);
	}
	snprintf(req, sizeof(req), "%s %.*s", meth[k],
	    (int)strcspn(path, "?"), path);
	rc = cb->o.send(client, meth[k], path, body, &g->sub);
	json_object_put(body);
	count(cb, &cb->st.bulk_requests, 1);
	count(cb, &cb->st.bulk_items, (long)g->n);
	if (refused_whole(rc, &g->sub)) {
		/* Each on its own: each gets Zendesk's own answer. */
		count(cb, &cb->st.fallbacks, 1);
		for (i = 0; i < g->n; i++)
			g->it[i]->req->rc = cb->o.send(client,
			    g->it[i]->method, g->it[i]->path, g->it[i]->body,
			    g->it[i]->res);
		g->n = 0;
		return;
	}
	if (rc != ZD_OK) {
		for (i = 0; i < g->n; i++) {
			give(g->it[i], rc, &g->sub);
			set_via(g->it[i], req, g->n, "");
		}
		g->n = 0;
		return;
	}
	if (g->sub.body != NULL &&
	    json_object_object_get_ex(g->sub.body, "job_status", &js) &&
	    json_object_object_get_ex(js, "id", &id) &&
	    json_object_is_type(id, json_type_string) &&
	    (len = strlen(json_object_get_string(id))) > 0 &&
	    len <= JOB_ID_MAX &&
	    strspn(json_object_get_string(id), "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == len)
		memcpy(g->job, json_object_get_string(id), len + 1);
	for (i = 0; i < g->n; i++)
		set_via(g->it[i], req, g->n, g->job);
	if (k == K_GM_DEL) {
		/* Removed before the answer; the job only unassigns tickets. */
		for (i = 0; i < g->n; i++)
			give(g->it[i], ZD_OK, &g->sub);
		g->n = 0;
		return;
	}
	if (g->job[0] == '\0') {
		for (i = 0; i < g->n; i++)
			fail(g->it[i], ZD_RETRYABLE, g->sub.status, "%s "
			    "answered without a job id", req);
		g->n = 0;
	}
}

/*
 * What one job status says for the items of g: 1 when they have their
 * answers (g->n 0), 0 when the job is still running.  With fetch_full,
 * a completed status without results is read again on its own (a
 * show_many answer may leave them out).
 */
static int
job_outcome(struct group *g, json_object *js, int fetch_full)
{
	json_object *results = NULL;
	const char *s = str_member(js, "status"), *msg;
	size_t i;

	if (s == NULL)
		return 0;
	if (strcmp(s, "completed") == 0) {
		if ((results = json_member_array(js, "results")) == NULL) {
			if (fetch_full)
				return 0;
			results = NULL;
		}
		for (i = 0; i < g->n; i++)
			take_result(g->it[i], i, g->job, results);
		g->n = 0;
		return 1;
	}
	if (strcmp(s, "failed") == 0 || strcmp(s, "killed") == 0) {
		msg = str_member(js, "message");
		for (i = 0; i < g->n; i++)
			fail(g->it[i], ZD_RETRYABLE, 0, "Zendesk job %s %s%s%s",
			    g->job, s, msg != NULL ? ": " : "",
			    msg != NULL ? msg : "");
		g->n = 0;
		return 1;
	}
	return 0;
}

/*
 * Polls the jobs of gs[0..ng) until each is done or the deadline passes:
 * one GET job_statuses/show_many for several jobs, job_statuses/{id} for
 * one.
 */
static void
poll_jobs(struct combine *cb, void *client, struct group **gs, size_t ng)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	int64_t deadline = monotime_ms() + cb->o.job_timeout_ms;
	long wait = 0;
	size_t k, i, left, len;
	char path[256];
	enum zd_result rc;

	for (;;) {
		for (left = 0, k = 0; k < ng; k++)
			left += gs[k]->n > 0;
		if (left == 0)
			break;
		if (monotime_ms() >= deadline) {
			for (k = 0; k < ng; k++)
				for (i = 0; i < gs[k]->n; i++)
					fail(gs[k]->it[i], ZD_RETRYABLE, 0,
					    "Zendesk job %s not done after "
					    "%d s", gs[k]->job,
					    cb->o.job_timeout_ms / 1000);
			break;
		}
		/*
		 * The first poll at once: with the account's budget in use,
		 * its slot comes soon enough, and a poll costs less than the
		 * idle budget of waiting threads.
		 */
		if (wait > 0)
			monotime_sleep_ms(wait);
		wait = wait == 0 ? cb->o.poll_ms : wait * 2 > POLL_MAX_MS ?
		    POLL_MAX_MS : wait * 2;
		if (left == 1) {
			for (k = 0; gs[k]->n == 0; k++)
				;
			snprintf(path, sizeof(path),
			    "/api/v2/job_statuses/%s.json", gs[k]->job);
		} else {
			len = (size_t)snprintf(path, sizeof(path),
			    "/api/v2/job_statuses/show_many.json?ids=");
			for (k = 0; k < ng; k++)
				if (gs[k]->n > 0)
					len += (size_t)snprintf(path + len,
					    sizeof(path) - len, "%s%s",
					    path[len - 1] == '=' ? "" : ",",
					    gs[k]->job);
		}
		rc = cb->o.send(client, "GET", path, NULL, &res);
		count(cb, &cb->st.polls, 1);
		if (rc == ZD_UNAUTHORIZED || rc == ZD_NOT_FOUND) {
			/* A credential gone bad, or jobs Zendesk no longer
			 * knows: the writes may or may not have happened, so
			 * they are planned again. */
			for (k = 0; k < ng; k++) {
				for (i = 0; i < gs[k]->n; i++)
					give(gs[k]->it[i], rc == ZD_NOT_FOUND ?
					    ZD_RETRYABLE : rc, &res);
				gs[k]->n = 0;
			}
			continue;
		}
		if (rc != ZD_OK || res.body == NULL)
			continue;  /* again at the next poll */
		if (left == 1) {
			json_object *js;

			if (json_object_object_get_ex(res.body, "job_status",
			    &js))
				job_outcome(gs[k], js, 0);
			continue;
		}
		for (k = 0; k < ng; k++) {
			json_object *arr, *js, *id;
			size_t j, n;

			if (gs[k]->n == 0 || (arr = json_member_array(res.body,
			    "job_statuses")) == NULL)
				continue;
			n = json_object_array_length(arr);
			for (j = 0; j < n; j++) {
				js = json_object_array_get_idx(arr, j);
				if (json_object_object_get_ex(js, "id", &id) &&
				    json_object_is_type(id, json_type_string) &&
				    strcmp(json_object_get_string(id),
				    gs[k]->job) == 0) {
					job_outcome(gs[k], js, 1);
					break;
				}
			}
		}
	}
	zd_response_clear(&res);
}

/*
 * Takes up to max_items pending items into g.  Per kind at most one item
 * per key (a user's update, a membership); per thread, its items in
 * order while their kinds follow the batch's order (users, creates,
 * removals).  The rest stay, in order, for the next batch.
 */
static void
take_batch(struct combine *cb, struct group g[K_N])
{
	struct item **pp = &cb->head, *it;
	struct waiter *last = NULL;
	size_t taken = 0, i;
	int rank = 0, stopped = 0;

	cb->tail = NULL;
	while ((it = *pp) != NULL) {
		struct group *gk = &g[it->kind];
		int ok = 1;

		if (it->owner != last) {
			last = it->owner;
			rank = 0;
			stopped = 0;
		}
		for (i = 0; i < gk->n && ok; i++)
			if (gk->it[i]->key == it->key &&
			    gk->it[i]->group == it->group)
				ok = 0;
		if (stopped || (int)it->kind < rank ||
		    taken >= (size_t)cb->o.max_items)
			ok = 0;
		if (ok) {
			rank = (int)it->kind;
			gk->it[gk->n++] = it;
			*pp = it->next;
			it->next = NULL;
			taken++;
			cb->npending--;
			continue;
		}
		stopped = 1;
		cb->tail = it;
		pp = &it->next;
	}
}

/* 1 when some item of a and some item of b are one person's. */
static int
same_owner(const struct group *a, const struct group *b)
{
	size_t i, j;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			if (a->it[i]->owner == b->it[j]->owner)
				return 1;
	return 0;
}

/* Caller holds cb->mu (released while sending). */
static void
lead(struct combine *cb, void *client)
{
	struct group g[K_N], *gs[2];
	struct item *all[K_N][COMBINE_MAX_ITEMS];
	struct timespec dl;
	size_t k, i, n[K_N], total = 0;
	int64_t until;
	int waited_out = 0;

	/* Wait until every busy thread is here, or long enough. */
	until = monotime_ms() + cb->o.wait_ms;
	dl.tv_sec = (time_t)(until / 1000);
	dl.tv_nsec = (long)(until % 1000) * 1000000L;
	while (cb->npending < (size_t)cb->o.max_items &&
	    cb->inside < cb->active) {
		if (monotime_ms() >= until) {
			waited_out = 1;
			break;
		}
		pthread_cond_timedwait(&cb->cv, &cb->mu, &dl);
	}
	memset(g, 0, sizeof(g));
	for (k = 0; k < K_N; k++)
		g[k].sub.retry_after_s = -1;
	take_batch(cb, g);
	for (k = 0; k < K_N; k++) {
		n[k] = g[k].n;
		total += n[k];
		memcpy(all[k], g[k].it, g[k].n * sizeof(g[k].it[0]));
	}
	if (total > 0) {
		cb->st.batches++;
		cb->st.waited_out += waited_out;
	}
	pthread_mutex_unlock(&cb->mu);
	/*
	 * Users and membership creates together (a run ends after a write
	 * that makes someone an agent, so no create here waits for an
	 * update), both jobs polled at once; removals after the creates of
	 * the same people are done, so an agent is never left in no group.
	 */
	gs[0] = &g[K_USER];
	gs[1] = &g[K_GM_ADD];
	submit(cb, client, &g[K_USER], K_USER);
	submit(cb, client, &g[K_GM_ADD], K_GM_ADD);
	if (same_owner(&g[K_GM_DEL], &g[K_GM_ADD]) ||
	    same_owner(&g[K_GM_DEL], &g[K_USER])) {
		poll_jobs(cb, client, gs, 2);
		submit(cb, client, &g[K_GM_DEL], K_GM_DEL);
	} else {
		submit(cb, client, &g[K_GM_DEL], K_GM_DEL);
		poll_jobs(cb, client, gs, 2);
	}
	for (k = 0; k < K_N; k++)
		zd_response_clear(&g[k].sub);
	pthread_mutex_lock(&cb->mu);
	for (k = 0; k < K_N; k++)
		for (i = 0; i < n[k]; i++)
			if (--all[k][i]->owner->left == 0)
				cb->inside--;
}

int
combine_can(const char *method, const char *path, const json_object *body)
{
	struct item it;

	if (method == NULL || path == NULL)
		return 0;
	memset(&it, 0, sizeof(it));
	it.method = method;
	it.path = path;
	it.body = (json_object *)(uintptr_t)body;
	return classify(&it) == 0;
}

void
combine_calls(struct combine *cb, void *client, struct combine_req *r,
    size_t n)
{
	struct item it[COMBINE_RUN_MAX];
	struct waiter me;
	size_t i;
	int direct = cb == NULL || cb->o.max_items < 2 || n > COMBINE_RUN_MAX;

	memset(it, 0, sizeof(it));
	for (i = 0; i < n; i++) {
		r[i].via[0] = '\0';
		if (direct)
			continue;
		it[i].method = r[i].method;
		it[i].path = r[i].path;
		it[i].body = r[i].body;
		it[i].client = client;
		it[i].res = r[i].res;
		it[i].req = &r[i];
		it[i].owner = &me;
		if (r[i].method == NULL || r[i].path == NULL ||
		    classify(&it[i]) != 0)
			direct = 1;
	}
	if (direct) {
		for (i = 0; i < n; i++)
			r[i].rc = (cb != NULL ? cb->o.send : send_zd)(client,
			    r[i].method, r[i].path, r[i].body, r[i].res);
		return;
	}
	me.left = n;
	pthread_mutex_lock(&cb->mu);
	for (i = 0; i < n; i++) {
		if (cb->tail != NULL)
			cb->tail->next = &it[i];
		else
			cb->head = &it[i];
		cb->tail = &it[i];
		cb->npending++;
	}
	cb->inside++;
	pthread_cond_broadcast(&cb->cv);
	while (me.left > 0) {
		if (!cb->leading) {
			cb->leading = 1;
			lead(cb, client);
			cb->leading = 0;
			pthread_cond_broadcast(&cb->cv);
			continue;
		}
		pthread_cond_wait(&cb->cv, &cb->mu);
	}
	pthread_mutex_unlock(&cb->mu);
}

enum zd_result
combine_call(struct combine *cb, void *client, const char *method,
    const char *path, json_object *body, struct zd_response *res,
    char *via, size_t vialen)
{
	struct combine_req r;

	r.method = method;
	r.path = path;
	r.body = body;
	r.res = res;
	r.rc = ZD_ERROR;
	combine_calls(cb, client, &r, 1);
	if (via != NULL && vialen > 0)
		snprintf(via, vialen, "%s", r.via);
	return r.rc;
}
