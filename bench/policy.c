/*
 * bench/policy.c -- per-event cost of policy_evaluate on a 200-rule
 * policy, printed next to a baseline measured in the same run: a bare
 * strcmp loop over the same 200 rules' department values (the least any
 * first-match evaluator must do).  Target: <= 5 us per event.
 *
 * Built and run by bench/policy.sh against the build's
 * librolehook_core.a.  Output: one line per case, then a JSON summary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "rolehook/normalize.h"
#include "rolehook/policy.h"

#define NRULES 200
#define ITERS 200000
#define TARGET_NS 5000.0

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Rule i: department "Dept<i>" and a title condition whose operator
 * rotates through exact, in, prefix, suffix, not; every 10th rule also
 * tests a custom attribute.  The last rule is a catch-all. */
static struct json_object *
make_policy(void)
{
	struct json_object *pol = json_object_new_object(),
	    *rules = json_object_new_array(), *r, *w, *t, *c, *a;
	char buf[64];
	int i;

	for (i = 0; i < NRULES - 1; i++) {
		r = json_object_new_object();
		snprintf(buf, sizeof(buf), "rule-%d", i);
		json_object_object_add(r, "name", json_object_new_string(buf));
		w = json_object_new_object();
		snprintf(buf, sizeof(buf), "Dept%d", i);
		json_object_object_add(w, "department",
		    json_object_new_string(buf));
		snprintf(buf, sizeof(buf), "Title%d", i);
		switch (i % 5) {
		case 0:
			c = json_object_new_string(buf);
			break;
		case 1:
			c = json_object_new_object();
			a = json_object_new_array();
			json_object_array_add(a, json_object_new_string(buf));
			json_object_array_add(a, json_object_new_string("Lead"));
			json_object_array_add(a, json_object_new_string("Manager"));
			json_object_object_add(c, "in", a);
			break;
		case 2:
			c = json_object_new_object();
			json_object_object_add(c, "prefix",
			    json_object_new_string(buf));
			break;
		case 3:
			c = json_object_new_object();
			json_object_object_add(c, "suffix",
			    json_object_new_string(buf));
			json_object_object_add(c, "ignore_case",
			    json_object_new_boolean(1));
			break;
		default:
			c = json_object_new_object();
			json_object_object_add(c, "not",
			    json_object_new_string("Intern"));
			break;
		}
		json_object_object_add(w, "title", c);
		if (i % 10 == 0)
			json_object_object_add(w, "custom.worker_type",
			    json_object_new_string("employee"));
		json_object_object_add(r, "when", w);
		t = json_object_new_object();
		json_object_object_add(t, "role", json_object_new_string("agent"));
		snprintf(buf, sizeof(buf), "Role %d", i % 7);
		json_object_object_add(t, "custom_role",
		    json_object_new_string(buf));
		json_object_object_add(r, "then", t);
		json_object_array_add(rules, r);
	}
	r = json_object_new_object();
	json_object_object_add(r, "name", json_object_new_string("rest"));
	json_object_object_add(r, "when", json_object_new_object());
	t = json_object_new_object();
	json_object_object_add(t, "role", json_object_new_string("end-user"));
	json_object_object_add(r, "then", t);
	json_object_array_add(rules, r);
	json_object_object_add(pol, "rules", rules);
	return pol;
}

static const char *depts[NRULES];

/* The baseline: first match by strcmp over 200 exact department values. */
static int __attribute__((noinline))
baseline(const char *dept)
{
	int i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(dept, depts[i]) == 0)
			return i;
	return -1;
}

int
main(void)
{
	static const struct {
		const char *name;
		const char *dept;
		const char *title;
	} cases[] = {
		{ "first rule", "Dept0", "Title0" },
		{ "middle rule", "Dept100", "Title100" },
		{ "last rule (catch-all)", "Nowhere", "Analyst" },
	};
	struct json_object *doc;
	struct policy *p = NULL;
	struct policy_decision d;
	struct norm_event ev;
	char err[POLICY_ERRLEN], *dbuf;
	double t0, pol_ns, base_ns, worst = 0;
	volatile int sink = 0;
	size_t c;
	int i;

	doc = make_policy();
	if (policy_compile(doc, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	json_object_put(doc);
	for (i = 0; i < NRULES; i++) {
		if ((dbuf = malloc(16)) == NULL)
			return 1;
		snprintf(dbuf, 16, "Dept%d", i);
		depts[i] = dbuf;
	}
	printf("policy_evaluate, %d rules, %d iterations per case\n", NRULES,
	    ITERS);
	printf("%-24s %12s %12s %8s\n", "case", "policy ns", "strcmp ns",
	    "ratio");
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = (char *)"update";
		ev.subject = (char *)"bench:1";
		ev.attrs[0].key = (char *)"employee_id";
		ev.attrs[0].value = (char *)"E1";
		ev.attrs[1].key = (char *)"email";
		ev.attrs[1].value = (char *)"ann@example.com";
		ev.attrs[2].key = (char *)"department";
		ev.attrs[2].value = (char *)cases[c].dept;
		ev.attrs[3].key = (char *)"title";
		ev.attrs[3].value = (char *)cases[c].title;
		ev.attrs[4].key = (char *)"custom.worker_type";
		ev.attrs[4].value = (char *)"employee";
		ev.attrs[5].key = (char *)"location";
		ev.attrs[5].value = (char *)"Berlin";
		ev.nattrs = 6;
		for (i = 0; i < 1000; i++)              /* warm up */
			policy_evaluate(p, &ev, &d);
		t0 = now_ns();
		for (i = 0; i < ITERS; i++) {
			policy_evaluate(p, &ev, &d);
			sink += d.rule != NULL;
		}
		pol_ns = (now_ns() - t0) / ITERS;
		t0 = now_ns();
		for (i = 0; i < ITERS; i++)
			sink += baseline(cases[c].dept);
		base_ns = (now_ns() - t0) / ITERS;
		printf("%-24s %12.1f %12.1f %8.2f   (rule %s)\n", cases[c].name,
		    pol_ns, base_ns, pol_ns / base_ns, d.rule);
		if (pol_ns > worst)
			worst = pol_ns;
	}
	printf("{\"bench\":\"policy\",\"rules\":%d,\"worst_ns_per_event\":%.1f,"
	    "\"target_ns\":%.0f,\"ok\":%s}\n", NRULES, worst, TARGET_NS,
	    worst <= TARGET_NS ? "true" : "false");
	(void)sink;
	policy_free(p);
	for (i = 0; i < NRULES; i++)
		free((void *)depts[i]);
	return worst <= TARGET_NS ? 0 : 1;
}
