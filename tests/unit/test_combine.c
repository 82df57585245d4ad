/*
 * test_combine.c -- the write combiner against a scripted Zendesk: which
 * writes it folds, the bulk requests it makes for several threads, that
 * each thread gets its own item's answer (success, item error, job
 * failure, a job that never ends, a bulk request refused as a whole, a
 * rate limit) as an object of its own, the order of one person's
 * writes, and the batch limit.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/combine.h"

/* ---------------------------------------------------- scripted Zendesk */

#define MAX_CALLS 64

struct call {
	char method[8];
	char path[512];
	char body[2048];
};

/* How the fake answers. */
enum job_mode { JOB_OK, JOB_FAIL, JOB_NEVER };

static struct fake {
	pthread_mutex_t mu;
	struct call calls[MAX_CALLS];
	int ncalls;
	enum job_mode job;
	int fail_user;          /* this user's update fails in the job */
	long bulk_status;       /* != 0: every bulk submit answers this */
	int jobs;               /* jobs made */
	char job_body[4][4096]; /* the submitted bodies, by job number */
	char job_kind[4][16];
} fk = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
fake_reset(void)
{
	pthread_mutex_lock(&fk.mu);
	fk.ncalls = 0;
	fk.job = JOB_OK;
	fk.fail_user = 0;
	fk.bulk_status = 0;
	fk.jobs = 0;
	pthread_mutex_unlock(&fk.mu);
}

static json_object *
job_status(int n, const char *status, json_object *results)
{
	json_object *js = json_object_new_object(), *o;
	char id[16];

	snprintf(id, sizeof(id), "job%d", n);
	json_object_object_add(js, "id", json_object_new_string(id));
	json_object_object_add(js, "status", json_object_new_string(status));
	if (results != NULL)
		json_object_object_add(js, "results", results);
	o = json_object_new_object();
	json_object_object_add(o, "job_status", js);
	return o;
}

/* The results of job n from what was submitted. */
static json_object *
results_of(int n)
{
	json_object *doc = json_tokener_parse(fk.job_body[n]), *arr, *out;
	size_t i, len;

	out = json_object_new_array();
	if (strcmp(fk.job_kind[n], "users") == 0) {
		json_object_object_get_ex(doc, "users", &arr);
		len = json_object_array_length(arr);
		for (i = 0; i < len; i++) {
			json_object *u = json_object_array_get_idx(arr, i), *id,
			    *e = json_object_new_object();
			int64_t uid;

			json_object_object_get_ex(u, "id", &id);
			uid = json_object_get_int64(id);
			json_object_object_add(e, "id",
			    json_object_new_int64(uid));
			json_object_object_add(e, "action",
			    json_object_new_string("update"));
			if (uid == fk.fail_user) {
				json_object_object_add(e, "success",
				    json_object_new_boolean(0));
				json_object_object_add(e, "error",
				    json_object_new_string("PermissionDenied"));
				json_object_object_add(e, "details",
				    json_object_new_string("not allowed"));
			} else {
				json_object_object_add(e, "success",
				    json_object_new_boolean(1));
				json_object_object_add(e, "status",
				    json_object_new_string("Updated"));
			}
			/* Results in reverse: matched by id, not position. */
			json_object_array_put_idx(out, len - 1 - i, e);
		}
	} else {
		json_object_object_get_ex(doc, "group_memberships", &arr);
		len = json_object_array_length(arr);
		for (i = 0; i < len; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "id",
			    json_object_new_int64(9000 + (int64_t)i));
			json_object_object_add(e, "index",
			    json_object_new_int64((int64_t)i));
			json_object_array_put_idx(out, len - 1 - i, e);
		}
	}
	json_object_put(doc);
	return out;
}

static enum zd_result
fake_send(void *client, const char *method, const char *path,
    json_object *body, struct zd_response *res)
{
	struct call *c;
	enum zd_result rc = ZD_OK;
	int n;

	(void)client;
	zd_response_clear(res);
	pthread_mutex_lock(&fk.mu);
	assert_true(fk.ncalls < MAX_CALLS);
	c = &fk.calls[fk.ncalls++];
	snprintf(c->method, sizeof(c->method), "%s", method);
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(c->body, sizeof(c->body), "%s", body != NULL ?
	    json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "");
	if (strstr(path, "_many.json") != NULL &&
	    strncmp(path, "/api/v2/job_statuses/", 21) != 0) {
		if (fk.bulk_status != 0) {
			res->status = fk.bulk_status;
			res->retry_after_s = fk.bulk_status == 429 ? 7 : -1;
			snprintf(res->reason, sizeof(res->reason), "HTTP %ld",
			    fk.bulk_status);
			rc = fk.bulk_status == 429 ? ZD_RATE_LIMITED :
			    ZD_PERMANENT;
			goto out;
		}
		n = fk.jobs++;
		memcpy(fk.job_body[n], c->body, strlen(c->body) + 1);
		snprintf(fk.job_kind[n], sizeof(fk.job_kind[n]), "%s",
		    strstr(path, "users") != NULL ? "users" : "memberships");
		res->status = 200;
		res->body = job_status(n, "queued", NULL);
		goto out;
	}
	if (strncmp(path, "/api/v2/job_statuses/", 21) == 0) {
		json_object *arr;
		int k, want[4], nw = 0;
		const char *p = path + 21;

		if (strncmp(p, "show_many.json?ids=", 19) == 0) {
			for (p += 19; sscanf(p, "job%d", &want[nw]) == 1; nw++) {
				p = strchr(p, ',');
				if (p == NULL)
					break;
				p++;
			}
			nw++;
		} else
			nw = sscanf(p, "job%d", &want[0]);
		res->status = 200;
		arr = json_object_new_array();
		for (k = 0; k < nw; k++)
			json_object_array_add(arr, job_status(want[k],
			    fk.job == JOB_OK ? "completed" : fk.job ==
			    JOB_FAIL ? "failed" : "working", fk.job == JOB_OK ?
			    results_of(want[k]) : NULL));
		if (strstr(path, "show_many") != NULL) {
			json_object *o = json_object_new_object(), *v;

			for (k = 0; k < nw; k++) {
				json_object_object_get_ex(
				    json_object_array_get_idx(arr, (size_t)k),
				    "job_status", &v);
				json_object_get(v);
				json_object_array_put_idx(arr, (size_t)k, v);
			}
			json_object_object_add(o, "job_statuses", arr);
			res->body = o;
		} else {
			res->body = json_object_get(
			    json_object_array_get_idx(arr, 0));
			json_object_put(arr);
		}
		goto out;
	}
	res->status = strcmp(method, "POST") == 0 ? 201 : 200;
	res->body = json_object_new_object();
out:
	pthread_mutex_unlock(&fk.mu);
	return rc;
}

static int
ncalls_matching(const char *method, const char *prefix)
{
	int i, n = 0;

	for (i = 0; i < fk.ncalls; i++)
		if (strcmp(fk.calls[i].method, method) == 0 &&
		    strncmp(fk.calls[i].path, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static struct combine *
new_cb(int max_items, int job_timeout_ms)
{
	struct combine_opts o;
	struct combine *cb;

	memset(&o, 0, sizeof(o));
	o.send = fake_send;
	o.wait_ms = 2000;
	o.poll_ms = 1;
	o.max_items = max_items;
	o.job_timeout_ms = job_timeout_ms;
	assert_int_equal(combine_new(&o, &cb), 0);
	return cb;
}

/* ------------------------------------------------- threads as persons */

#define MAX_W 6

struct person {
	struct combine *cb;
	size_t n;
	char path[MAX_W][128];
	const char *method[MAX_W];
	json_object *body[MAX_W];
	struct combine_req rq[MAX_W];
	struct zd_response res[MAX_W];
	pthread_barrier_t *go;
};

static json_object *
user_body(const char *role, int64_t crid)
{
	json_object *u = json_object_new_object(), *o;

	json_object_object_add(u, "role", json_object_new_string(role));
	if (crid > 0)
		json_object_object_add(u, "custom_role_id",
		    json_object_new_int64(crid));
	o = json_object_new_object();
	json_object_object_add(o, "user", u);
	return o;
}

static json_object *
member_body(int64_t uid, int64_t gid)
{
	json_object *m = json_object_new_object(), *o;

	json_object_object_add(m, "user_id", json_object_new_int64(uid));
	json_object_object_add(m, "group_id", json_object_new_int64(gid));
	o = json_object_new_object();
	json_object_object_add(o, "group_membership", m);
	return o;
}

static void
add_write(struct person *p, const char *method, const char *path,
    json_object *body)
{
	size_t i = p->n++;

	p->method[i] = method;
	snprintf(p->path[i], sizeof(p->path[i]), "%s", path);
	p->body[i] = body;
	memset(&p->res[i], 0, sizeof(p->res[i]));
	p->res[i].retry_after_s = -1;
	p->rq[i].method = method;
	p->rq[i].path = p->path[i];
	p->rq[i].body = body;
	p->rq[i].res = &p->res[i];
}

static void
person_move(struct person *p, int64_t uid, int64_t mid_old)
{
	char path[128];

	snprintf(path, sizeof(path), "/api/v2/users/%lld.json", (long long)uid);
	add_write(p, "PUT", path, user_body("agent", 102));
	add_write(p, "POST", "/api/v2/group_memberships.json",
	    member_body(uid, 202));
	snprintf(path, sizeof(path), "/api/v2/group_memberships/%lld.json",
	    (long long)mid_old);
	add_write(p, "DELETE", path, NULL);
}

static void
person_free(struct person *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		json_object_put(p->body[i]);
		zd_response_clear(&p->res[i]);
	}
	p->n = 0;
}

static void *
person_main(void *arg)
{
	struct person *p = arg;

	pthread_barrier_wait(p->go);
	combine_calls(p->cb, NULL, p->rq, p->n);
	combine_leave(p->cb);
	return NULL;
}

/* Runs the persons at once, each a thread announced to the combiner. */
static void
run_people(struct combine *cb, struct person *ps, size_t n)
{
	pthread_t t[8];
	pthread_barrier_t go;
	size_t i;

	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		ps[i].cb = cb;
		ps[i].go = &go;
		combine_enter(cb);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, person_main,
		    &ps[i]), 0);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
}

/* ------------------------------------------------------------- tests */

static void
test_can(void **state)
{
	json_object *u = user_body("agent", 5), *m = member_body(1, 2);
	json_object *with_id = json_tokener_parse("{\"user\":{\"id\":1}}");
	json_object *str_uid = json_tokener_parse(
	    "{\"group_membership\":{\"user_id\":\"{new}\",\"group_id\":2}}");
	json_object *two = json_tokener_parse("{\"user\":{},\"x\":1}");

	(void)state;
	assert_true(combine_can("PUT", "/api/v2/users/42.json", u));
	assert_true(combine_can("POST", "/api/v2/group_memberships.json", m));
	assert_true(combine_can("DELETE", "/api/v2/group_memberships/7.json",
	    NULL));
	/* Not folded: creates, product access, placeholders, odd bodies. */
	assert_false(combine_can("POST", "/api/v2/users.json", u));
	assert_false(combine_can("PUT", "/api/v2/users/{new}.json", u));
	assert_false(combine_can("PUT", "/api/v2/users/42.json", with_id));
	assert_false(combine_can("PUT", "/api/v2/users/42.json", two));
	assert_false(combine_can("PUT", "/api/v2/users/42.json", NULL));
	assert_false(combine_can("PUT", "/api/v2/users/0.json", u));
	assert_false(combine_can("PUT",
	    "/api/v2/users/99999999999999999999.json", u));
	assert_false(combine_can("POST", "/api/v2/group_memberships.json",
	    str_uid));
	assert_false(combine_can("PUT",
	    "/api/admin/private/staff/42/entitlements", u));
	assert_false(combine_can("DELETE", "/api/v2/group_memberships/7.json",
	    u));
	assert_false(combine_can("GET", "/api/v2/users/42.json", NULL));
	json_object_put(u);
	json_object_put(m);
	json_object_put(with_id);
	json_object_put(str_uid);
	json_object_put(two);
}

/* Alone, a write is the plain request. */
static void
test_single_is_plain(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p;

	(void)state;
	fake_reset();
	memset(&p, 0, sizeof(p));
	person_move(&p, 42, 7);
	run_people(cb, &p, 1);
	assert_int_equal(fk.ncalls, 3);
	assert_string_equal(fk.calls[0].path, "/api/v2/users/42.json");
	assert_string_equal(fk.calls[1].path, "/api/v2/group_memberships.json");
	assert_string_equal(fk.calls[2].path, "/api/v2/group_memberships/7.json");
	assert_int_equal(p.rq[0].rc, ZD_OK);
	assert_string_equal(p.rq[0].via, "");
	person_free(&p);
	combine_free(cb);
}

/* Three people moving at once: three bulk requests and one poll. */
static void
test_three_moves_bulk(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p[3];
	struct combine_stats st;
	size_t i, k;
	int del_at = -1, poll_at = -1;

	(void)state;
	fake_reset();
	memset(p, 0, sizeof(p));
	for (i = 0; i < 3; i++)
		person_move(&p[i], 100 + (int64_t)i, 700 + (int64_t)i);
	run_people(cb, p, 3);
	assert_int_equal(ncalls_matching("PUT", "/api/v2/users/update_many"),
	    1);
	assert_int_equal(ncalls_matching("POST",
	    "/api/v2/group_memberships/create_many"), 1);
	assert_int_equal(ncalls_matching("DELETE",
	    "/api/v2/group_memberships/destroy_many.json?ids="), 1);
	assert_int_equal(fk.ncalls, 4);
	for (i = 0; i < (size_t)fk.ncalls; i++) {
		if (strstr(fk.calls[i].path, "destroy_many") != NULL)
			del_at = (int)i;
		if (strstr(fk.calls[i].path, "job_statuses/show_many") != NULL)
			poll_at = (int)i;
	}
	/* Removals only after the creates of the same people are done. */
	assert_true(poll_at >= 0 && del_at > poll_at);
	for (i = 0; i < 3; i++)
		for (k = 0; k < 3; k++) {
			assert_int_equal(p[i].rq[k].rc, ZD_OK);
			assert_non_null(strstr(p[i].rq[k].via, "(3 "));
		}
	assert_non_null(strstr(p[0].rq[0].via,
	    "PUT /api/v2/users/update_many.json (3 users, job job"));
	/* The update body carries each id with its own fields. */
	for (i = 0; i < (size_t)fk.ncalls; i++)
		if (strstr(fk.calls[i].path, "update_many") != NULL) {
			assert_non_null(strstr(fk.calls[i].body,
			    "{\"id\":101,\"role\":\"agent\",\"custom_role_id\":102}"));
		}
	/* Each creator's answer is its own result entry. */
	for (i = 0; i < 3; i++) {
		json_object *v;

		assert_true(json_object_object_get_ex(p[i].res[1].body, "index",
		    &v));
	}
	combine_stats(cb, &st);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.bulk_requests, 3);
	assert_int_equal(st.bulk_items, 9);
	assert_int_equal(st.polls, 1);
	for (i = 0; i < 3; i++)
		person_free(&p[i]);
	combine_free(cb);
}

/*
 * Every answer is its waiting thread's own object, and the bulk body
 * leaves the callers' write bodies as it found them: each thread puts
 * its answers and bodies on its own, and json-c's reference counts are
 * not atomic (docs/architecture.md, "Concurrency").  A shared answer (a
 * reference to the bulk answer or to one job result) would be put by
 * several threads at once; a reference left in a write body would be put
 * by the leader while its owner uses it.  json_object_put returns 1 when
 * it freed the object: the reference it dropped was the only one.
 */
static void
test_answers_are_own(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p[3];
	json_object *seen[9];
	size_t i, k, j, n = 0;

	(void)state;
	fake_reset();
	memset(p, 0, sizeof(p));
	for (i = 0; i < 3; i++)
		person_move(&p[i], 500 + (int64_t)i, 800 + (int64_t)i);
	run_people(cb, p, 3);
	assert_int_equal(ncalls_matching("DELETE",
	    "/api/v2/group_memberships/destroy_many.json?ids="), 1);
	for (i = 0; i < 3; i++)
		for (k = 0; k < 3; k++) {
			assert_int_equal(p[i].rq[k].rc, ZD_OK);
			assert_non_null(p[i].res[k].body);
			for (j = 0; j < n; j++)
				assert_ptr_not_equal(p[i].res[k].body, seen[j]);
			seen[n++] = p[i].res[k].body;
		}
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 3; k++) {
			assert_int_equal(json_object_put(p[i].res[k].body), 1);
			p[i].res[k].body = p[i].res[k].item = NULL;
		}
		for (k = 0; k < 2; k++) {
			assert_int_equal(json_object_put(p[i].body[k]), 1);
			p[i].body[k] = NULL;
		}
		person_free(&p[i]);
	}
	combine_free(cb);
}

/* One item of a job fails: only its owner hears it. */
static void
test_item_error_is_own(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p[2];
	size_t i;

	(void)state;
	fake_reset();
	fk.fail_user = 201;
	memset(p, 0, sizeof(p));
	for (i = 0; i < 2; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/api/v2/users/%d.json",
		    200 + (int)i);
		add_write(&p[i], "PUT", path, user_body("end-user", 0));
	}
	run_people(cb, p, 2);
	assert_int_equal(p[0].rq[0].rc, ZD_OK);
	assert_int_equal(p[0].res[0].status, 200);
	assert_int_equal(p[1].rq[0].rc, ZD_PERMANENT);
	assert_int_equal(p[1].res[0].status, 422);
	assert_non_null(strstr(p[1].res[0].reason, "PermissionDenied"));
	assert_non_null(strstr(p[1].res[0].reason, "not allowed"));
	for (i = 0; i < 2; i++)
		person_free(&p[i]);
	combine_free(cb);
}

/* A failed job, or one that never ends: every item is retryable. */
static void
test_job_failed_or_stuck(void **state)
{
	enum job_mode modes[] = { JOB_FAIL, JOB_NEVER };
	size_t m, i;

	(void)state;
	for (m = 0; m < 2; m++) {
		struct combine *cb = new_cb(0, 200);
		struct person p[2];

		fake_reset();
		fk.job = modes[m];
		memset(p, 0, sizeof(p));
		for (i = 0; i < 2; i++) {
			char path[64];

			snprintf(path, sizeof(path), "/api/v2/users/%d.json",
			    300 + (int)i);
			add_write(&p[i], "PUT", path, user_body("agent", 5));
		}
		run_people(cb, p, 2);
		for (i = 0; i < 2; i++) {
			assert_int_equal(p[i].rq[0].rc, ZD_RETRYABLE);
			assert_non_null(strstr(p[i].res[0].reason,
			    modes[m] == JOB_FAIL ? "failed" : "not done"));
			person_free(&p[i]);
		}
		combine_free(cb);
	}
}

/* Refused as a whole (422): each write again on its own. */
static void
test_refused_bulk_falls_back(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p[2];
	struct combine_stats st;
	size_t i;

	(void)state;
	fake_reset();
	fk.bulk_status = 422;
	memset(p, 0, sizeof(p));
	add_write(&p[0], "DELETE", "/api/v2/group_memberships/11.json", NULL);
	add_write(&p[1], "DELETE", "/api/v2/group_memberships/12.json", NULL);
	run_people(cb, p, 2);
	assert_int_equal(fk.ncalls, 3);
	assert_int_equal(ncalls_matching("DELETE",
	    "/api/v2/group_memberships/1"), 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(p[i].rq[0].rc, ZD_OK);
		person_free(&p[i]);
	}
	combine_stats(cb, &st);
	assert_int_equal(st.fallbacks, 1);
	combine_free(cb);
}

/* A 429 on the bulk request reaches everyone, with its Retry-After. */
static void
test_rate_limited_bulk(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p[2];
	size_t i;

	(void)state;
	fake_reset();
	fk.bulk_status = 429;
	memset(p, 0, sizeof(p));
	add_write(&p[0], "PUT", "/api/v2/users/1.json", user_body("agent", 5));
	add_write(&p[1], "PUT", "/api/v2/users/2.json", user_body("agent", 5));
	run_people(cb, p, 2);
	assert_int_equal(fk.ncalls, 1);
	for (i = 0; i < 2; i++) {
		assert_int_equal(p[i].rq[0].rc, ZD_RATE_LIMITED);
		assert_int_equal(p[i].res[0].retry_after_s, 7);
		assert_int_equal(p[i].res[0].status, 429);
		person_free(&p[i]);
	}
	combine_free(cb);
}

/* max_items 2 and three people: two batches. */
static void
test_batch_limit(void **state)
{
	struct combine *cb = new_cb(2, 0);
	struct person p[3];
	struct combine_stats st;
	size_t i;

	(void)state;
	fake_reset();
	memset(p, 0, sizeof(p));
	for (i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/api/v2/users/%d.json",
		    400 + (int)i);
		add_write(&p[i], "PUT", path, user_body("agent", 5));
	}
	run_people(cb, p, 3);
	combine_stats(cb, &st);
	assert_int_equal(st.batches, 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(p[i].rq[0].rc, ZD_OK);
		person_free(&p[i]);
	}
	combine_free(cb);
}

/* A person's removal before an update (against the batch's order) waits
 * for the next batch: it is never sent before the write ahead of it. */
static void
test_order_kept(void **state)
{
	struct combine *cb = new_cb(0, 0);
	struct person p[2];
	int i, put = -1, del = -1;

	(void)state;
	fake_reset();
	memset(p, 0, sizeof(p));
	add_write(&p[0], "DELETE", "/api/v2/group_memberships/31.json", NULL);
	add_write(&p[0], "PUT", "/api/v2/users/30.json", user_body("agent", 5));
	add_write(&p[1], "PUT", "/api/v2/users/40.json", user_body("agent", 5));
	run_people(cb, p, 2);
	for (i = 0; i < fk.ncalls; i++) {
		if (strstr(fk.calls[i].path, "group_memberships/31") != NULL)
			del = i;
		if (strstr(fk.calls[i].path, "users/30") != NULL ||
		    (strstr(fk.calls[i].path, "update_many") != NULL &&
		    strstr(fk.calls[i].body, "\"id\":30") != NULL))
			put = i;
	}
	assert_true(del >= 0 && put > del);
	assert_int_equal(p[0].rq[0].rc, ZD_OK);
	assert_int_equal(p[0].rq[1].rc, ZD_OK);
	assert_int_equal(p[1].rq[0].rc, ZD_OK);
	person_free(&p[0]);
	person_free(&p[1]);
	combine_free(cb);
}

/* Without a combiner (NULL) or with combining off, writes go as they are. */
static void
test_off(void **state)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	json_object *u = user_body("agent", 5);
	struct combine *cb = new_cb(1, 0);
	char via[64] = "x";

	(void)state;
	fake_reset();
	assert_int_equal(combine_call(cb, NULL, "PUT", "/api/v2/users/5.json",
	    u, &res, via, sizeof(via)), ZD_OK);
	assert_string_equal(via, "");
	assert_int_equal(fk.ncalls, 1);
	assert_string_equal(fk.calls[0].path, "/api/v2/users/5.json");
	zd_response_clear(&res);
	json_object_put(u);
	combine_free(cb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_can),
		cmocka_unit_test(test_single_is_plain),
		cmocka_unit_test(test_three_moves_bulk),
		cmocka_unit_test(test_answers_are_own),
		cmocka_unit_test(test_item_error_is_own),
		cmocka_unit_test(test_job_failed_or_stuck),
		cmocka_unit_test(test_refused_bulk_falls_back),
		cmocka_unit_test(test_rate_limited_bulk),
		cmocka_unit_test(test_batch_limit),
		cmocka_unit_test(test_order_kept),
		cmocka_unit_test(test_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
