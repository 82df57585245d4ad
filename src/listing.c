/*
 * listing.c -- whole listings and the memberships index (listing.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "rolehook/jsonutil.h"
#include "rolehook/listing.h"
#include "rolehook/monotime.h"
#include "rolehook/zendesk.h"

struct collect {
	listing_progress_fn progress;
	void *arg;
	json_object *arr;
	int oom;
};

/*
 * Appends the objects of one page to all (the page is freed after the
 * page callback; what is kept lives on).  Returns 0, or -1 out of memory.
 */
static int
append_objects(json_object *all, json_object *items)
{
	size_t i, n = json_object_array_length(items);

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(items, i);

		if (!json_object_is_type(o, json_type_object))
			continue;
		if (json_object_array_add(all, json_object_get(o)) != 0) {
			json_object_put(o);
			return -1;
		}
	}
	return 0;
}

static int
collect_cb(json_object *items, void *arg)
{
	struct collect *co = arg;

	if (append_objects(co->arr, items) != 0) {
		co->oom = 1;
		return 1;
	}
	if (co->progress != NULL)
		co->progress(json_object_array_length(co->arr), co->arg);
	return 0;
}

enum zd_result
listing_all(struct zd_client *zd, enum listing_kind kind,
    listing_progress_fn progress, void *arg, json_object **out, int *oom,
    struct zd_response *res)
{
	struct collect co = { progress, arg, NULL, 0 };
	enum zd_result rc = ZD_ERROR;
	int attempt;

	for (attempt = 0; attempt < 3; attempt++) {
		json_object_put(co.arr);
		if ((co.arr = json_object_new_array()) == NULL) {
			co.oom = 1;
			break;
		}
		rc = kind == LISTING_AGENTS ?
		    zd_list_agents(zd, 100, collect_cb, &co, res) :
		    zd_list_all_memberships(zd, collect_cb, &co, res);
		if (co.oom || (rc != ZD_RETRYABLE && rc != ZD_RATE_LIMITED))
			break;
		if (rc == ZD_RETRYABLE && res->status == 0)
			break;   /* unreachable: say so now */
		monotime_sleep_ms(res->retry_after_s > 0 &&
		    res->retry_after_s < 60 ? res->retry_after_s * 1000L :
		    1000L << attempt);
	}
	if (co.oom) {
		json_object_put(co.arr);
		co.arr = NULL;
	}
	*oom = co.oom;
	*out = co.arr;
	return rc;
}

/* One membership (borrowed), sorted by user, then id. */
struct umem {
	int64_t uid, mid;
	json_object *m;
};

struct listing_index {
	struct umem *v;
	size_t n;
};

static int
umem_cmp(const void *a, const void *b)
{
	const struct umem *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->mid < y->mid ? -1 : x->mid > y->mid;
}

struct listing_index *
listing_index_new(json_object *mships)
{
	struct listing_index *ix;
	size_t i, n = json_object_array_length(mships);
	int64_t uid, mid;

	if ((ix = calloc(1, sizeof(*ix))) == NULL ||
	    (ix->v = calloc(n + 1, sizeof(*ix->v))) == NULL) {
		free(ix);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(mships, i);

		if (json_member_int(m, "user_id", &uid) != 0 ||
		    json_member_int(m, "id", &mid) != 0)
			continue;
		ix->v[ix->n].uid = uid;
		ix->v[ix->n].mid = mid;
		ix->v[ix->n].m = m;
		ix->n++;
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), umem_cmp);
	return ix;
}

json_object *
listing_index_user(const struct listing_index *ix, int64_t uid)
{
	json_object *doc = NULL, *arr, *m, *ret = NULL;
	size_t lo = 0, hi = ix->n, i;

	if ((arr = json_object_new_array()) == NULL)
		goto out;
	while (lo < hi) {            /* first entry of uid */
		size_t mid = lo + (hi - lo) / 2;

		if (ix->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < ix->n && ix->v[i].uid == uid; i++) {
		if (i > lo && ix->v[i].mid == ix->v[i - 1].mid)
			continue;
		/*
		 * A copy, not a reference: json-c's reference counts are not
		 * atomic, and reconcile's threads ask at once (two people of
		 * one user would get and put the same objects).
		 */
		m = NULL;
		if (json_object_deep_copy(ix->v[i].m, &m, NULL) != 0 ||
		    json_object_array_add(arr, m) != 0) {
			json_object_put(m);
			goto out;
		}
	}
	if ((doc = json_object_new_object()) == NULL ||
	    json_object_object_add(doc, "group_memberships", arr) != 0)
		goto out;
	arr = NULL;
	ret = doc;
	doc = NULL;
out:
	json_object_put(arr);
	json_object_put(doc);
	return ret;
}

void
listing_index_free(struct listing_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->v);
	free(ix);
}
