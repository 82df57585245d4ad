/*
 * reconcile.c -- rolehook reconcile's engine (reconcile.h): people from
 * the store or an HR export, each decided (decide.h), read as `work`
 * reads them (worker_reader) and planned; the plan's writes are the
 * drift.  BULK_THREADS people at a time (bulk.h), each thread with its
 * own client, so that requests stay in flight and the governor alone
 * sets the pace; drift lines are reported in input order.
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
#include "rolehook/normalize.h"
#include "rolehook/people.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"
#include "rolehook/reconcile.h"
#include "rolehook/store.h"
#include "rolehook/strv.h"
#include "rolehook/worker.h"

#define MSG_MAX 1024

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
};

static void problem(struct rc *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports a person that was not checked. */
static void
problem(struct rc *c, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	bulk_progress_break(c->prog);
	if (c->rep->problem != NULL)
		c->rep->problem(c->rep->arg, msg);
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
 * One person: plan from fresh Zendesk state; *out_line gets the drift
 * line (owned) or stays NULL.  row_id is the stored event to requeue for
 * fix (0: an HR export, report only).
 */
static void
person(struct rc *c, int thread, const struct norm_event *nev,
    int64_t row_id, struct reconcile_counts *n, char **out_line)
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
	if (worker_reader_read(c->rd, thread, ext, email, &current, why,
	    sizeof(why)) != 0) {
		problem(c, "%s: %s", nev->subject, why);
		n->failed++;
		goto out;
	}
	user = plan_user_of(current, &uemail, NULL);
	if (decide_plan(c->pol, nev, current, worker_reader_roles(c->rd),
	    worker_reader_groups(c->rd), NULL, &c->popts, &d, &pl, why,
	    sizeof(why)) != 0) {
		problem(c, "%s: plan: %s", nev->subject, why);
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

/* bulk_fn: person i (an HR export entry or a stored event). */
static int
one(size_t i, int thread, void *arg)
{
	struct rc *c = arg;
	struct reconcile_counts *n = &c->n[thread];
	struct store_event row;
	struct norm_event nev;
	char err[DECIDE_ERRLEN], *line = NULL;
	int got;

	if (c->o->people != NULL) {
		if (people_from_json(json_object_array_get_idx(c->o->people,
		    i), i, &nev, err, sizeof(err)) != 0) {
			problem(c, "people%s", err);
			n->failed++;
		} else {
			person(c, thread, &nev, 0, n, &line);
			people_clear(&nev);
		}
		emit(c, i, line);
		return 0;
	}
	pthread_mutex_lock(&c->mu);      /* one store connection */
	got = store_get(c->st, c->ids.ids[i], &row) == 0;
	pthread_mutex_unlock(&c->mu);
	if (got) {
		if (decide_event(c->cfg, &row, &nev, NULL, err,
		    sizeof(err)) == 0 && decide_is_person(&nev))
			person(c, thread, &nev, row.id, n, &line);
		norm_event_clear(&nev);
		store_event_clear(&row);
	}
	emit(c, i, line);
	return 0;
}

int
reconcile_run(const struct config *cfg, const struct reconcile_opts *o,
    const struct reconcile_report *rep, struct reconcile_counts *n,
    char *err, size_t errlen)
{
	struct rc c;
	struct store_opts so;
	struct gov_stats gs;
	json_object *pol = NULL;
	int k, rc = -1, tty = isatty(STDERR_FILENO);

	memset(&c, 0, sizeof(c));
	memset(n, 0, sizeof(*n));
	c.cfg = cfg;
	c.o = o;
	c.rep = rep;
	pthread_mutex_init(&c.mu, NULL);
	if (!json_object_object_get_ex(cfg->root, "policy", &pol)) {
		snprintf(err, errlen, "%s: policy: missing", cfg->path);
		goto out;
	}
	if (policy_compile(pol, &c.pol, err, errlen) != 0)
		goto out;
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
	/* The roles and groups reads taught the governor the limit. */
	gov_stats(worker_reader_gov(c.rd), &gs);
	bulk_estimate("reconcile", (long long)c.total, "people",
	    (long long)c.total * worker_reader_requests(c.rd), gs.effective,
	    o->quiet);
	if ((c.line = calloc(c.total + 1, sizeof(*c.line))) == NULL ||
	    (c.ready = calloc(c.total + 1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	c.prog = bulk_progress_new("reconcile", "people", c.total,
	    worker_reader_gov(c.rd), tty, o->quiet);
	bulk_run(BULK_THREADS, c.total, one, &c, c.prog);
	bulk_progress_end(c.prog);
	c.prog = NULL;
	for (k = 0; k < BULK_THREADS; k++) {
		n->people += c.n[k].people;
		n->drifted += c.n[k].drifted;
		n->queued += c.n[k].queued;
		n->needs += c.n[k].needs;
		n->failed += c.n[k].failed;
	}
	rc = 0;
out:
	strv_free(c.line, c.total);
	free(c.ready);
	free(c.ids.ids);
	worker_reader_free(c.rd);
	store_close(c.st);
	policy_free(c.pol);
	pthread_mutex_destroy(&c.mu);
	return rc;
}
