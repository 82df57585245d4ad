/*
 * cli_replay.c -- rolehook events replay --since T --policy FILE: what a
 * new policy would decide for the people whose events a replay takes,
 * next to what the configured policy decides.  Reads the store only; no
 * Zendesk call, no write.  A thin event (decide_is_thin) is left out and
 * counted: `work` ignores it whatever the policy.  Put the new policy in
 * the configuration and run `events replay` (without --policy) to apply
 * it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/cli.h"
#include "rolehook/cliutil.h"
#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/normalize.h"
#include "rolehook/policy.h"
#include "rolehook/store.h"

#define POLICY_FILE_MAX ((size_t)1 << 20)

struct preview {
	const struct config *cfg;
	struct policy *now, *next;
	long people, changed, skipped;
	long thin;            /* thin events work ignores (decide_is_thin) */
};

static json_object *
decision_json(const struct policy_decision *d)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "rule", d->rule ?
	    json_object_new_string(d->rule) : NULL);
	json_object_object_add(o, "leaver", json_object_new_boolean(d->leaver));
	json_object_object_add(o, "desired",
	    policy_desired_to_json(&d->desired));
	return o;
}

static int
preview_one(const struct store_event *ev, void *arg)
{
	struct preview *p = arg;
	struct norm_event nev;
	struct policy_decision a, b;
	json_object *ja = NULL, *jb = NULL, *line;
	char err[DECIDE_ERRLEN];

	/*
	 * A split batch's parent fails here; its children stand for it.
	 * Zendesk events never meet the policy in `work`: left out.
	 */
	if (decide_event(p->cfg, ev, &nev, NULL, err, sizeof(err)) != 0) {
		p->skipped++;
		return 0;
	}
	if (!decide_is_person(&nev)) {
		norm_event_clear(&nev);
		return 0;
	}
	/* No policy decides a thin event: work ignores it under any. */
	if (decide_is_thin(&nev, NULL)) {
		p->thin++;
		norm_event_clear(&nev);
		return 0;
	}
	p->people++;
	decide_policy(p->now, &nev, NULL, &a);
	decide_policy(p->next, &nev, NULL, &b);
	ja = decision_json(&a);
	jb = decision_json(&b);
	if (!json_object_equal(ja, jb)) {
		p->changed++;
		line = json_object_new_object();
		json_object_object_add(line, "event_id",
		    json_object_new_int64(ev->id));
		json_object_object_add(line, "subject",
		    json_object_new_string(nev.subject));
		json_object_object_add(line, "kind",
		    json_object_new_string(nev.kind));
		json_object_object_add(line, "now", ja);
		json_object_object_add(line, "with_new_policy", jb);
		ja = jb = NULL;
		printf("%s\n", json_object_to_json_string_ext(line,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(line);
	}
	json_object_put(ja);
	json_object_put(jb);
	norm_event_clear(&nev);
	return 0;
}

int
cli_replay_preview(const struct config *cfg, struct store *st,
    long long since, const char *policy_path)
{
	struct preview p;
	json_object *doc = NULL, *pol = NULL, *cur = NULL;
	char err[POLICY_ERRLEN];
	int rc = EXIT_USAGE;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	if (cliutil_read_json(policy_path, POLICY_FILE_MAX, 64, &doc, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s\n", err);
		goto out;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		fprintf(stderr, "rolehook: %s: expected a JSON object: the "
		    "policy, or a configuration with a \"policy\" member\n",
		    policy_path);
		goto out;
	}
	if (!json_object_object_get_ex(doc, "policy", &pol))
		pol = doc;
	if (policy_compile(pol, &p.next, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s: %s\n", policy_path, err);
		goto out;
	}
	if (!json_object_object_get_ex(cfg->root, "policy", &cur) ||
	    policy_compile(cur, &p.now, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s: policy: %s\n", cfg->path,
		    cur == NULL ? "missing" : err);
		goto out;
	}
	rc = 1;
	if (store_replay_list(st, (time_t)since, preview_one, &p) != 0) {
		fprintf(stderr, "rolehook: store: cannot read events\n");
		goto out;
	}
	fprintf(stderr, "rolehook: %ld people, %ld would change with %s "
	    "(policy %.12s -> %.12s)", p.people, p.changed, policy_path,
	    policy_hash(p.now), policy_hash(p.next));
	if (p.thin > 0)
		fprintf(stderr, "; %ld thin (ids only) event%s left out: work "
		    "applies no policy to them", p.thin, p.thin == 1 ? "" : "s");
	fprintf(stderr, "%s\n", p.skipped > 0 ? "; some events could not be "
	    "normalised (see events dead)" : "");
	rc = 0;
out:
	policy_free(p.now);
	policy_free(p.next);
	json_object_put(doc);
	return rc;
}
