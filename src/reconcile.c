/*
 * reconcile.c -- rolehook reconcile's engine (reconcile.h): people from
 * the store or an HR export, each decided (decide.h), read as `work`
 * reads them and planned; the plan's writes are the drift.
 *
 * Reading in bulk (docs/operations.md, "Drift"): every group membership
 * comes from one listing taken at the start (listing.h; per person when
 * it is refused), and CHUNK people at a time have their users read by
 * external id with one show_many per 100 (zd_show_many) before their
 * plans are made; a person whose external id finds nobody is then
 * looked up by e-mail, and one that cannot be batched (no usable
 * external id, a failed batch, two users with the id, an answer with
 * users not asked for by that exact id) with zd_find_user, exactly as
 * work.  The rest of the `current` document
 * (entitlements) is worker_reader_current's, work's own.
 *
 * BULK_THREADS requests at a time (bulk.h), each thread with its own
 * client, so that requests stay in flight and the governor alone sets
 * the pace; drift lines are reported in input order.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/bulk.h"
#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/governor.h"
#include "rolehook/jsonutil.h"
#include "rolehook/listing.h"
#include "rolehook/normalize.h"
#include "rolehook/people.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"
#include "rolehook/reconcile.h"
#include "rolehook/store.h"
#include "rolehook/strv.h"
#include "rolehook/worker.h"
#include "rolehook/zendesk.h"

#define MSG_MAX 1024
/* People whose users are read ahead at once: a show_many per thread. */
#define CHUNK (ZD_SHOW_MANY_MAX * BULK_THREADS)
/* Escaped bytes of one show_many's keys (zendesk.c's URL_MAX is 4096). */
#define URL_BUDGET 3000

const char *const reconcile_fields[] = { "role", "custom_role", "groups",
	"entitlements", "suspended", NULL };
static const char *const mode_names[] = { "revert", "alert", "accept" };

int
reconcile_write_field(const struct plan_write *pw,
    const struct json_object *user)
{
	json_object *u, *r, *cur;

	if (strcmp(pw->step, "group_add") == 0 ||
	    strcmp(pw->step, "group_remove") == 0)
		return POLICY_FIELD_GROUPS;
	if (strncmp(pw->step, "entitlements", 12) == 0)
		return POLICY_FIELD_ENTITLEMENTS;
	if (strcmp(pw->step, "suspend") == 0 ||
	    strcmp(pw->step, "unsuspend") == 0)
		return POLICY_FIELD_SUSPENDED;
	if (strcmp(pw->step, "role") == 0 && user != NULL && pw->body != NULL &&
	    json_object_object_get_ex(pw->body, "user", &u) &&
	    json_object_object_get_ex(u, "role", &r) &&
	    json_object_object_get_ex(user, "role", &cur) &&
	    strcmp(json_object_get_string(r), json_object_get_string(cur)) == 0)
		return POLICY_FIELD_CUSTOM_ROLE;
	return POLICY_FIELD_ROLE;
}

json_object *
reconcile_drift(const struct policy *pol, const struct plan *pl,
    const json_object *user, const char *field, int *revert, int *alert)
{
	json_object *arr = json_object_new_array(), *o;
	size_t k;

	*revert = *alert = 0;
	for (k = 0; arr != NULL && k < pl->nwrites; k++) {
		const struct plan_write *pw = &pl->writes[k];
		enum policy_drift_field f = (enum policy_drift_field)
		    reconcile_write_field(pw, user);
		enum policy_drift m = policy_drift_mode(pol, f);

		if (m == POLICY_DRIFT_ACCEPT || (field != NULL &&
		    strcmp(field, reconcile_fields[f]) != 0))
			continue;
		if (m == POLICY_DRIFT_REVERT)
			(*revert)++;
		else
			(*alert)++;
		o = json_object_new_object();
		json_object_object_add(o, "field",
		    json_object_new_string(reconcile_fields[f]));
		json_object_object_add(o, "mode",
		    json_object_new_string(mode_names[m]));
		json_object_object_add(o, "method",
		    json_object_new_string(pw->method));
		json_object_object_add(o, "path", json_object_new_string(pw->path));
		json_object_object_add(o, "body", pw->body ?
		    json_object_get(pw->body) : NULL);
		json_object_array_add(arr, o);
	}
	return arr;
}

size_t
reconcile_match(const struct json_object *users, const char *xid,
    struct json_object **user)
{
	json_object *u, *x, *copy = NULL;
	int64_t id, first = 0;
	size_t i, n = json_object_array_length(users), hits = 0;

	*user = NULL;
	for (i = 0; i < n; i++) {
		u = json_object_array_get_idx(users, i);
		if (!json_object_is_type(u, json_type_object) ||
		    !json_object_object_get_ex(u, "external_id", &x) ||
		    !json_object_is_type(x, json_type_string) ||
		    strcmp(json_object_get_string(x), xid) != 0)
			continue;
		if (json_member_int(u, "id", &id) != 0)
			id = 0;
		if (hits > 0 && id != 0 && id == first)
			continue;       /* the same user twice */
		if (hits++ == 0) {
			*user = u;
			first = id;
		}
	}
	if (hits != 1 || json_object_deep_copy(*user, &copy, NULL) != 0)
		copy = NULL;
	*user = copy;
	return hits;
}

size_t
reconcile_unclaimed(const struct json_object *users, char *const *keys,
    size_t n)
{
	json_object *u, *x;
	size_t i, j, m = json_object_array_length(users), odd = 0;

	for (i = 0; i < m; i++) {
		u = json_object_array_get_idx(users, i);
		if (!json_object_is_type(u, json_type_object))
			continue;
		j = n;
		if (json_object_object_get_ex(u, "external_id", &x) &&
		    json_object_is_type(x, json_type_string))
			for (j = 0; j < n && strcmp(keys[j],
			    json_object_get_string(x)) != 0; j++)
				;
		if (j == n)
			odd++;
	}
	return odd;
}

size_t
reconcile_batch(char *const *keys, size_t n)
{
	size_t k, len = 0;

	for (k = 0; k < n && k < ZD_SHOW_MANY_MAX; k++) {
		len += 3 * strlen(keys[k]) + 1;
		if (k > 0 && len > URL_BUDGET)
			break;
	}
	return k;
}

struct idlist {
	int64_t *ids;
	size_t n, cap;
};

static int
collect_id(const struct store_event *ev, void *arg)
{
	struct idlist *l = arg;
	int64_t *nids;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		if ((nids = realloc(l->ids, l->cap * sizeof(*nids))) == NULL)
			return 1;
		l->ids = nids;
	}
	l->ids[l->n++] = ev->id;
	return 0;
}

/* What the chunk's show_many said of one person. */
enum pre_state {
	PRE_UNREAD = 0,       /* not batched, the batch failed or is odd:
	                       * zd_find_user */
	PRE_NONE,             /* nobody has the external id: e-mail next */
	PRE_ONE,              /* user */
	PRE_MANY              /* ambiguous: zd_find_user says so */
};

struct pre {
	enum pre_state state;
	json_object *user;         /* PRE_ONE: owned */
	size_t key;                /* its external id in keys, + 1; or 0 */
};

/* CHUNK people, base .. base + n - 1, read ahead. */
struct chunk {
	size_t base, n;
	char *keys[CHUNK];         /* distinct external ids, borrowed */
	size_t nkeys;
	size_t from[CHUNK], len[CHUNK];  /* batches of keys */
	json_object *users[CHUNK]; /* each batch's answer (owned), or NULL */
	size_t odd[CHUNK];         /* its users that no key names exactly */
	size_t nbatches;
	struct pre pre[CHUNK];
};

struct rc {
	const struct config *cfg;
	const struct reconcile_opts *o;
	const struct reconcile_report *rep;
	struct policy *pol;
	struct worker_reader *rd;
	struct plan_opts popts;
	struct store *st;
	struct idlist ids;
	struct reconcile_counts n[BULK_THREADS]; /* per thread, summed later */
	struct bulk_progress *prog;
	pthread_mutex_t mu;        /* guards st, the report calls, below */
	char **line;               /* drift line of person i, or NULL */
	unsigned char *ready;
	size_t next, total;
	char **xid;                /* person i's external id for show_many,
	                            * or NULL */
	json_object *mships;       /* every group membership, or NULL: read
	                            * per person */
	struct listing_index *mix;
	struct chunk *ck;
};

static void say(struct rc *c, void (*fn)(void *, const char *),
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports through fn (a person not checked, or a note on the run). */
static void
say(struct rc *c, void (*fn)(void *, const char *), const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	bulk_progress_break(c->prog);
	if (fn != NULL)
		fn(c->rep->arg, msg);
	pthread_mutex_unlock(&c->mu);
}

/* Hands over person i's line (owned, may be NULL); reports what is due. */
static void
emit(struct rc *c, size_t i, char *line)
{
	pthread_mutex_lock(&c->mu);
	c->line[i] = line;
	c->ready[i] = 1;
	while (c->next < c->total && c->ready[c->next]) {
		if (c->line[c->next] != NULL) {
			if (c->rep->drift_on_tty)
				bulk_progress_break(c->prog);
			if (c->rep->drift != NULL)
				c->rep->drift(c->rep->arg, c->line[c->next]);
			free(c->line[c->next]);
			c->line[c->next] = NULL;
		}
		c->next++;
	}
	pthread_mutex_unlock(&c->mu);
}

/*
 * The person's `current` document as work's read_current makes it
 * (NULL: no Zendesk user), from what the chunk read ahead: the user
 * show_many found, or else zd_find_user -- by e-mail only when show_many
 * said nobody has the external id, which is what zd_find_user would do
 * next.  Returns 0, or -1 with why "find user: ..." and the like.
 */
static int
read_person(struct rc *c, int thread, const char *ext, const char *email,
    const struct pre *p, json_object **current, char *why, size_t whylen)
{
	struct zd_response res = ZD_RESPONSE_INIT;
	struct zd_client *zd = worker_reader_client(c->rd, thread);
	json_object *user = NULL, *ms = NULL;
	enum zd_result zr = ZD_NOT_FOUND;
	int64_t uid;
	int rc = -1;

	*current = NULL;
	if (p->state == PRE_ONE)
		user = json_object_get(p->user);
	else {
		if (p->state != PRE_NONE)
			zr = zd_find_user(zd, ext, email, &res);
		else if (email != NULL && email[0] != '\0')
			zr = zd_find_user(zd, NULL, email, &res);
		if (zr == ZD_NOT_FOUND) {
			rc = 0;
			goto out;
		}
		if (zr != ZD_OK) {
			snprintf(why, whylen, "find user: %s", res.reason);
			goto out;
		}
		user = json_object_get(res.item);
		zd_response_clear(&res);
	}
	if (c->mix != NULL && json_member_int(user, "id", &uid) == 0 &&
	    (ms = listing_index_user(c->mix, uid)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	rc = worker_reader_current(c->rd, thread, user, ms, current, why,
	    whylen);
out:
	json_object_put(ms);
	json_object_put(user);
	zd_response_clear(&res);
	return rc;
}

/*
 * One person: plan from fresh Zendesk state (p: what the chunk read
 * ahead); *out_line gets the drift line (owned) or stays NULL.  row_id
 * is the stored event to requeue for fix (0: an HR export, report
 * only).
 */
static void
person(struct rc *c, int thread, const struct norm_event *nev,
    const struct pre *p, int64_t row_id, struct reconcile_counts *n,
    char **out_line)
{
	struct policy_decision d;
	struct plan *pl = NULL;
	json_object *current = NULL, *line = NULL, *arr = NULL;
	const json_object *user;
	const char *ext, *email, *uemail;
	char why[MSG_MAX];
	int revert, alert, r;

	n->people++;
	decide_match_keys(c->pol, nev, &ext, &email);
	if (read_person(c, thread, ext, email, p, &current, why,
	    sizeof(why)) != 0) {
		say(c, c->rep->problem, "%s: %s", nev->subject, why);
		n->failed++;
		goto out;
	}
	user = plan_user_of(current, &uemail, NULL);
	if (decide_plan(c->pol, nev, current, worker_reader_roles(c->rd),
	    worker_reader_groups(c->rd), NULL, &c->popts, &d, &pl, why,
	    sizeof(why)) != 0) {
		say(c, c->rep->problem, "%s: plan: %s", nev->subject, why);
		n->failed++;
		goto out;
	}
	/* A person with no Zendesk user is not drift: work creates them. */
	if (pl->user_id <= 0)
		goto out;
	arr = reconcile_drift(c->pol, pl, user, c->o->field, &revert, &alert);
	if (arr == NULL || revert + alert == 0)
		goto out;
	n->drifted++;
	line = json_object_new_object();
	json_object_object_add(line, "subject",
	    json_object_new_string(nev->subject));
	json_object_object_add(line, "email", uemail ?
	    json_object_new_string(uemail) : NULL);
	json_object_object_add(line, "zendesk_user",
	    json_object_new_int64(pl->user_id));
	json_object_object_add(line, "event_id", row_id > 0 ?
	    json_object_new_int64(row_id) : NULL);
	json_object_object_add(line, "rule", d.rule ?
	    json_object_new_string(d.rule) : NULL);
	json_object_object_add(line, "drift", arr);
	arr = NULL;
	/*
	 * fix puts the person's newest event back through work's
	 * plan/apply/audit path.  That applies the whole plan, so a person
	 * with an "alert" field is left to a human.
	 */
	if (c->o->fix && alert == 0 && row_id > 0) {
		pthread_mutex_lock(&c->mu);      /* one store connection */
		r = store_requeue(c->st, row_id);
		pthread_mutex_unlock(&c->mu);
		if (r == 0) {
			n->queued++;
			json_object_object_add(line, "fix",
			    json_object_new_string("queued"));
		}
	} else if (c->o->fix) {
		n->needs++;
		json_object_object_add(line, "fix", json_object_new_string(
		    alert > 0 ? "alert: not fixed" : "no stored event"));
	}
	*out_line = strdup(json_object_to_json_string_ext(line,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(line);
	json_object_put(arr);
	json_object_put(current);
	plan_free(pl);
}

/*
 * Person i, decided: 1 with *nev (clear with norm_event_clear, or
 * people_clear for an HR export) and *row_id (0 for an HR export); 0
 * when event i decides to nobody; -1 with err when export entry i does
 * not read.
 */
static int
load(struct rc *c, size_t i, struct norm_event *nev, int64_t *row_id,
    char *err, size_t errlen)
{
	struct store_event row, applied;
	struct store_subject subj;
	char *leave;
	int got, r = 0, left = 0;

	*row_id = 0;
	if (c->o->people != NULL)
		return people_from_json(json_object_array_get_idx(c->o->people,
		    i), i, nev, err, errlen) == 0 ? 1 : -1;
	memset(&subj, 0, sizeof(subj));
	pthread_mutex_lock(&c->mu);      /* one store connection */
	got = store_get(c->st, c->ids.ids[i], &row) == 0;
	/*
	 * What the person should hold is what their last applied event
	 * says (a leave, say), not a later one work did not apply (an
	 * update after the leave, a stale one), when it is still stored.
	 */
	if (got && row.subject != NULL &&
	    store_subject_get(c->st, row.subject, &subj) == 0 &&
	    subj.last_event_id > 0 && subj.last_event_id != row.id &&
	    store_get(c->st, subj.last_event_id, &applied) == 0) {
		store_event_clear(&row);
		row = applied;
	}
	pthread_mutex_unlock(&c->mu);
	/* Left, and the leave itself no longer stored (retention). */
	left = got && subj.left_event > 0 && row.id != subj.left_event;
	store_subject_clear(&subj);
	if (!got)
		return 0;
	if (decide_event(c->cfg, &row, nev, NULL, err, errlen) == 0 &&
	    decide_is_person(nev)) {
		*row_id = row.id;
		r = 1;
		/*
		 * Checked against the leaver state; --fix has no event to
		 * queue for it (work ignores a leaver's update): a person's.
		 */
		if (left && strcmp(nev->kind, "terminate") != 0 &&
		    (leave = strdup("terminate")) != NULL) {
			free(nev->kind);
			nev->kind = leave;
			*row_id = 0;
		}
	} else
		norm_event_clear(nev);
	store_event_clear(&row);
	return r;
}

static void
unload(struct rc *c, struct norm_event *nev)
{
	if (c->o->people != NULL)
		people_clear(nev);
	else
		norm_event_clear(nev);
}

/* bulk_fn: person base + i of the chunk. */
static int
one(size_t i, int thread, void *arg)
{
	struct rc *c = arg;
	struct reconcile_counts *n = &c->n[thread];
	struct norm_event nev;
	const char *why;
	char err[DECIDE_ERRLEN], *line = NULL;
	int64_t row_id;
	int got;

	got = load(c, c->ck->base + i, &nev, &row_id, err, sizeof(err));
	if (got < 0) {
		say(c, c->rep->problem, "people%s", err);
		n->failed++;
	} else if (got > 0) {
		/* work ignores a thin event: it is not the person's HR state. */
		if (decide_is_thin(&nev, &why)) {
			say(c, c->rep->problem, "%s: not checked: its newest "
			    "event is a %s", nev.subject, why);
			n->thin++;
		} else
			person(c, thread, &nev, &c->ck->pre[i], row_id, n,
			    &line);
		unload(c, &nev);
	}
	emit(c, c->ck->base + i, line);
	return 0;
}

/*
 * Every person's external id for show_many (c->xid); returns the
 * requests the run will make at most, about: a show_many per 100
 * external ids of a chunk, a lookup for each other person, and
 * worker_reader_current's.  A person whose newest event is thin is not
 * read (see one).
 */
static long long
keys_and_estimate(struct rc *c)
{
	struct norm_event nev;
	const char *ext, *email;
	char err[DECIDE_ERRLEN];
	long long req = 0;
	size_t i, inchunk = 0, thin = 0;
	int64_t row_id;

	for (i = 0; i < c->total; i++) {
		if (i % CHUNK == 0) {
			req += (inchunk + ZD_SHOW_MANY_MAX - 1) /
			    ZD_SHOW_MANY_MAX;
			inchunk = 0;
		}
		if (load(c, i, &nev, &row_id, err, sizeof(err)) <= 0)
			continue;
		if (decide_is_thin(&nev, NULL)) {
			thin++;
			unload(c, &nev);
			continue;
		}
		decide_match_keys(c->pol, &nev, &ext, &email);
		if (zd_show_many_key(ext))
			c->xid[i] = strdup(ext);
		if (c->xid[i] != NULL)
			inchunk++;
		else
			req++;
		unload(c, &nev);
	}
	req += (inchunk + ZD_SHOW_MANY_MAX - 1) / ZD_SHOW_MANY_MAX;
	return req + (long long)(c->total - thin) *
	    worker_reader_requests(c->rd, 1);
}

/* bulk_fn: show_many for batch b of the chunk. */
static int
batch(size_t b, int thread, void *arg)
{
	struct rc *c = arg;
	struct chunk *k = c->ck;
	struct zd_response res = ZD_RESPONSE_INIT;

	if (zd_show_many(worker_reader_client(c->rd, thread), "external_ids",
	    (const char *const *)&k->keys[k->from[b]], k->len[b], &res) ==
	    ZD_OK) {
		k->users[b] = json_object_get(res.item);
		k->odd[b] = reconcile_unclaimed(res.item, &k->keys[k->from[b]],
		    k->len[b]);
	}
	zd_response_clear(&res);
	return 0;
}

static void
chunk_clear(struct chunk *k)
{
	size_t i;

	for (i = 0; i < k->nbatches; i++)
		json_object_put(k->users[i]);
	for (i = 0; i < k->n; i++)
		json_object_put(k->pre[i].user);
	memset(k, 0, sizeof(*k));
}

/*
 * Reads ahead the users of people base .. base + n - 1: their distinct
 * external ids in show_many batches, BULK_THREADS at a time.
 */
static void
chunk_read(struct rc *c, size_t base, size_t n)
{
	struct chunk *k = c->ck;
	struct pre *p;
	json_object *u;
	size_t i, j, b;

	k->base = base;
	k->n = n;
	for (i = 0; i < n; i++) {
		const char *x = c->xid[base + i];

		if (x == NULL)
			continue;
		for (j = 0; j < k->nkeys && strcmp(k->keys[j], x) != 0; j++)
			;
		if (j == k->nkeys)
			k->keys[k->nkeys++] = c->xid[base + i];
		k->pre[i].key = j + 1;
	}
	for (i = 0; i < k->nkeys; i += k->len[k->nbatches++]) {
		k->from[k->nbatches] = i;
		k->len[k->nbatches] = reconcile_batch(&k->keys[i],
		    k->nkeys - i);
	}
	bulk_run(BULK_THREADS, k->nbatches, batch, c, NULL);
	for (i = 0; i < n; i++) {
		p = &k->pre[i];
		if (p->key == 0)
			continue;
		for (b = 0; p->key - 1 >= k->from[b] + k->len[b]; b++)
			;
		if (k->users[b] == NULL)
			continue;       /* the batch failed: zd_find_user */
		switch (reconcile_match(k->users[b], c->xid[base + i], &u)) {
		case 0:
			/*
			 * Absent: nobody has it -- unless the answer holds a
			 * user it was not asked for by that exact id (matched
			 * some other way): then zd_find_user decides.
			 */
			p->state = k->odd[b] > 0 ? PRE_UNREAD : PRE_NONE;
			break;
		case 1:
			/* u is this person's own copy (reconcile_match). */
			p->user = u;
			p->state = u != NULL ? PRE_ONE : PRE_UNREAD;
			break;
		default:
			p->state = PRE_MANY;
			break;
		}
	}
}

/* err ("policy.PATH: ...") prefixed with the configuration file. */
static void
say_file(const struct config *cfg, char *err, size_t errlen)
{
	char *tmp;

	if ((tmp = strdup(err)) == NULL)
		return;
	snprintf(err, errlen, "%s: %s", cfg->path, tmp);
	free(tmp);
}

int
reconcile_run(const struct config *cfg, const struct reconcile_opts *o,
    const struct reconcile_report *rep, struct reconcile_counts *n,
    char *err, size_t errlen)
{
	struct rc c;
	struct store_opts so;
	struct gov_stats gs;
	struct zd_response res = ZD_RESPONSE_INIT;
	struct zd_conf *zc = NULL;
	enum zd_result zr;
	json_object *pol = NULL;
	long long req;
	size_t base;
	int k, rc = -1, oom = 0, tty = isatty(STDERR_FILENO);

	memset(&c, 0, sizeof(c));
	memset(n, 0, sizeof(*n));
	c.cfg = cfg;
	c.o = o;
	c.rep = rep;
	pthread_mutex_init(&c.mu, NULL);
	/* The configuration first: its errors are -2 (exit 2, as report). */
	rc = -2;
	if (!json_object_object_get_ex(cfg->root, "policy", &pol)) {
		snprintf(err, errlen, "%s: policy: missing", cfg->path);
		goto out;
	}
	if (policy_compile(pol, &c.pol, err, errlen) != 0) {
		say_file(cfg, err, errlen);
		goto out;
	}
	/* The credential resolves (worker_reader_new loads it again). */
	if (zd_conf_load(cfg, &zc, err, errlen) != ZD_OK)
		goto out;
	zd_conf_free(zc);
	rc = -1;
	if (o->people == NULL) {
		memset(&so, 0, sizeof(so));
		so.direct = o->fix;
		so.readonly = !o->fix;
		if (config_store_open(cfg, &so, &c.st, err, errlen) != 0)
			goto out;
	}
	if (worker_reader_new(cfg, c.pol, BULK_THREADS, &c.rd, err,
	    errlen) != 0)
		goto out;
	c.popts.entitlements = worker_reader_entitlements(c.rd);
	c.popts.steps = policy_leaver_steps(c.pol, &c.popts.nsteps);
	/* One write per field, so each field's drift mode applies alone. */
	c.popts.split_user_writes = 1;
	/* Each person's newest finished event is their last known HR state. */
	if (o->people == NULL &&
	    store_replay_list(c.st, 0, collect_id, &c.ids) != 0) {
		snprintf(err, errlen, "store: cannot read events");
		goto out;
	}
	c.total = o->people != NULL ?
	    json_object_array_length(o->people) : c.ids.n;
	if ((c.line = calloc(c.total + 1, sizeof(*c.line))) == NULL ||
	    (c.ready = calloc(c.total + 1, 1)) == NULL ||
	    (c.xid = calloc(c.total + 1, sizeof(*c.xid))) == NULL ||
	    (c.ck = calloc(1, sizeof(*c.ck))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The memberships listing: about one membership a person. */
	req = keys_and_estimate(&c) + (c.total > 0 ?
	    ((long long)c.total + ZD_SHOW_MANY_MAX - 1) / ZD_SHOW_MANY_MAX :
	    0);
	/* The roles and groups reads taught the governor the limit. */
	gov_stats(worker_reader_gov(c.rd), &gs);
	bulk_estimate("reconcile", (long long)c.total, "people", req,
	    gs.effective, o->quiet);
	c.prog = bulk_progress_new("reconcile", "people", c.total,
	    worker_reader_gov(c.rd), tty, o->quiet);
	/*
	 * A snapshot of every membership, taken now (a change during a long
	 * run may show as drift; --fix's requeue re-reads).  Refused, not
	 * understood or failing: each person's are read, as work does.
	 */
	if (c.total > 0) {
		zr = listing_all(worker_reader_client(c.rd, 0),
		    LISTING_MEMBERSHIPS, NULL, NULL, &c.mships, &oom, &res);
		if (zr == ZD_OK && (c.mix = listing_index_new(c.mships)) == NULL)
			oom = 1;
		if (c.mix == NULL) {
			json_object_put(c.mships);
			c.mships = NULL;
			say(&c, c.rep->note, "note: cannot list all group "
			    "memberships (%s: %s): reading them per person", oom ?
			    "out of memory" : zd_strerror(zr), oom ? "" :
			    res.reason);
		}
	}
	zd_response_clear(&res);
	for (base = 0; base < c.total; base += CHUNK) {
		size_t m = c.total - base < CHUNK ? c.total - base : CHUNK;

		chunk_read(&c, base, m);
		bulk_run(BULK_THREADS, m, one, &c, c.prog);
		chunk_clear(c.ck);
	}
	bulk_progress_end(c.prog);
	c.prog = NULL;
	for (k = 0; k < BULK_THREADS; k++) {
		n->people += c.n[k].people;
		n->drifted += c.n[k].drifted;
		n->queued += c.n[k].queued;
		n->needs += c.n[k].needs;
		n->failed += c.n[k].failed;
		n->thin += c.n[k].thin;
	}
	rc = 0;
out:
	strv_free(c.line, c.total);
	strv_free(c.xid, c.total);
	free(c.ready);
	free(c.ids.ids);
	free(c.ck);
	listing_index_free(c.mix);
	json_object_put(c.mships);
	worker_reader_free(c.rd);
	store_close(c.st);
	policy_free(c.pol);
	pthread_mutex_destroy(&c.mu);
	return rc;
}
