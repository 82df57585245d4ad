/*
 * cli_work.c -- rolehook work (apply stored events to Zendesk) and
 * rolehook why (the audit lineage of a person's access).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/cli.h"
#include "rolehook/cliutil.h"
#include "rolehook/config.h"
#include "rolehook/decide.h"
#include "rolehook/jsonutil.h"
#include "rolehook/log.h"
#include "rolehook/normalize.h"
#include "rolehook/people.h"
#include "rolehook/policy.h"
#include "rolehook/reconcile.h"
#include "rolehook/store.h"
#include "rolehook/worker.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
work_help(void)
{
	printf(
	    "usage: rolehook work [--config FILE] [--threads N] [--until-idle]\n"
	    "                     [--max-retry-age S] [--retry-base S] [--retry-max S]\n"
	    "                     [--log-level LEVEL]\n"
	    "\n"
	    "Applies stored events to Zendesk: normalise, policy, read the\n"
	    "person's current Zendesk state, plan the minimal writes, apply\n"
	    "them through the rate governor, and audit every write.  One\n"
	    "event per person at a time, in order; different people in\n"
	    "parallel.  429, 5xx and timeouts are retried with backoff until\n"
	    "the event is --max-retry-age old; other errors go to the dead\n"
	    "letters ('rolehook events dead').  Holds the Zendesk credential\n"
	    "and no listening socket.  Runs until SIGTERM.\n"
	    "\n"
	    "  --config FILE          configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --threads N            people handled in parallel (default 4, 1..64)\n"
	    "  --until-idle           exit 0 once no event is due\n"
	    "  --max-retry-age S      give up retrying after S seconds (default 86400)\n"
	    "  --retry-base S         first retry waits up to S seconds (default 5);\n"
	    "                         each retry doubles the cap, with full jitter\n"
	    "  --retry-max S          largest retry wait (default 900)\n"
	    "  --log-level LEVEL      debug, info (default), warn or error\n"
	    "\n"
	    "exit status: 0 clean stop after SIGTERM or SIGINT (--until-idle:\n"
	    "nothing left to do), 1 cannot start or failed (no policy or one\n"
	    "that does not compile, the Zendesk credential not set, unreadable\n"
	    "or refused, the store, another work on the same SQLite store),\n"
	    "2 usage or configuration file error\n");
}

int
cli_work(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct worker_opts wo;
	struct config *cfg = NULL;
	struct policy *p = NULL;
	json_object *pol = NULL;
	struct sigaction sa;
	char err[CONFIG_ERRLEN];
	int c, rc;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_INT("threads", 't', &wo.threads, 1, 64,
		    "expected a number from 1 to 64"),
		CLIUTIL_OPT_FLAG("until-idle", 'u', &wo.until_idle),
		CLIUTIL_OPT_INT("max-retry-age", 'm', &wo.max_retry_age_s, 1,
		    30 * 86400,
		    "expected seconds from 1 to 2592000"),
		CLIUTIL_OPT_INT("retry-base", 'b', &wo.backoff_base_s, 1, 3600,
		    "expected seconds from 1 to 3600"),
		CLIUTIL_OPT_INT("retry-max", 'B', &wo.backoff_max_s, 1, 86400,
		    "expected seconds from 1 to 86400"),
		CLIUTIL_OPT_LOG_LEVEL("log-level", 'l'),
	};

	memset(&wo, 0, sizeof(wo));
	if ((c = cliutil_parse("work", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, work_help)) >= 0)
		return c;
	if (optind != argc)
		return cliutil_usage_error("work", "unexpected argument");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	umask(007);
	if (cliutil_load_config(path, CONFIG_SECRETS_SKIP, &cfg) != 0)
		return EXIT_USAGE;
	/*
	 * The policy compiled here first only to name the file in its
	 * errors, as worker_run's other configuration errors do (exit 1,
	 * as before: rolehook(8)).
	 */
	if (json_object_object_get_ex(cfg->root, "policy", &pol) &&
	    policy_compile(pol, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: work: %s: %s\n", cfg->path, err);
		config_free(cfg);
		return 1;
	}
	policy_free(p);
	rc = worker_run(cfg, &wo, &stop_flag, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "rolehook: work: %s\n", err);
	config_free(cfg);
	return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ why */

static void
why_help(void)
{
	printf(
	    "usage: rolehook why [--config FILE] [--format table|json] USER\n"
	    "\n"
	    "Prints the lineage of a person's access: every change rolehook\n"
	    "made (or saw as drift), oldest first, with the event, the rule,\n"
	    "the policy hash, the request and its HTTP status.  For a rehire\n"
	    "restored from a snapshot, where each restored value came from\n"
	    "(the rule or the snapshot, within the rule) and which snapshot\n"
	    "values policy did not grant.\n"
	    "\n"
	    "USER is a Zendesk user id (digits) or a subject key such as\n"
	    "generic:E-2001 or bamboohr:67890 (the \"subject\" of 'rolehook\n"
	    "events list'; email:ADDRESS for a person HR named by e-mail\n"
	    "only).  A bare e-mail address or name is neither: rows are not\n"
	    "found by e-mail, so it is a usage error (exit 2).\n"
	    "\n"
	    "  --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --format F      table (default on a terminal) or json (one\n"
	    "                  object per line, default otherwise)\n"
	    "\n"
	    "exit status: 0 printed (also when there are no audit rows),\n"
	    "1 the store cannot be opened or read, 2 usage or configuration\n"
	    "error\n");
}

#define WHY_USER "USER: expected a Zendesk user id (digits) or a subject " \
	"key such as generic:E-2001 (the \"subject\" of 'rolehook events " \
	"list'; email:ADDRESS for a person HR named by e-mail only); audit " \
	"rows are not found by a bare e-mail address"

struct why_ctx {
	int json;
	int n;
	int64_t prov_event;        /* provenance already printed for it */
};

/*
 * The audit row's provenance (a rehire restored from a snapshot; the
 * store is not trusted to hold valid JSON there), or NULL.  Caller puts.
 */
static json_object *
why_provenance(const char *text)
{
	json_object *prov;

	if (text == NULL || (prov = json_tokener_parse(text)) == NULL)
		return NULL;
	if (!json_object_is_type(prov, json_type_object)) {
		json_object_put(prov);
		return NULL;
	}
	return prov;
}

/* s on stdout with control characters as '?' (the store is not
 * trusted to hold only printable text). */
static void
why_print_clean(const char *s)
{
	cliutil_print_clean(stdout, s, 0);
}

static void
why_print_lines(const char *label, json_object *prov, const char *key)
{
	json_object *a;
	size_t i, n;

	if ((a = json_member_array(prov, key)) == NULL)
		return;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		printf("    %s", label);
		why_print_clean(json_object_get_string(
		    json_object_array_get_idx(a, i)));
		putchar('\n');
	}
}

/* The provenance block under a restored rehire's first audit row. */
static void
why_print_provenance(json_object *prov)
{
	json_object *v;

	printf("    rehire restored from the snapshot of ");
	why_print_clean(json_object_object_get_ex(prov, "snapshot_at", &v) ?
	    json_object_get_string(v) : "?");
	printf(", only within rule ");
	why_print_clean(json_object_object_get_ex(prov, "rule", &v) ?
	    json_object_get_string(v) : "?");
	printf(":\n");
	why_print_lines("", prov, "fields");
	why_print_lines("ignored: ", prov, "ignored");
}

static void
why_row(int64_t id, time_t at, const struct store_audit *a, void *arg)
{
	struct why_ctx *w = arg;
	struct tm tm;
	char tbuf[32];
	json_object *o, *prov;

	w->n++;
	prov = why_provenance(a->provenance);
	gmtime_r(&at, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (w->json) {
		o = json_object_new_object();
		json_object_object_add(o, "audit_id", json_object_new_int64(id));
		json_object_object_add(o, "at", json_object_new_string(tbuf));
		json_object_object_add(o, "event_id", a->event_id > 0 ?
		    json_object_new_int64(a->event_id) : NULL);
		json_object_object_add(o, "subject", a->subject ?
		    json_object_new_string(a->subject) : NULL);
		json_object_object_add(o, "action",
		    json_object_new_string(a->action ? a->action : ""));
		json_object_object_add(o, "rule", a->rule ?
		    json_object_new_string(a->rule) : NULL);
		json_object_object_add(o, "provenance", prov);
		json_object_object_add(o, "policy_hash", a->policy_hash ?
		    json_object_new_string(a->policy_hash) : NULL);
		json_object_object_add(o, "request", a->request ?
		    json_object_new_string(a->request) : NULL);
		json_object_object_add(o, "http_status",
		    json_object_new_int(a->http_status));
		json_object_object_add(o, "after", a->after ?
		    json_object_new_string(a->after) : NULL);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	/* Every string from the store cleaned (a compromised serve or
	 * store may have planted escape sequences); widths by hand. */
	printf("%s  event %-6lld ", tbuf, (long long)a->event_id);
	cliutil_print_clean(stdout, a->action, 17);
	printf(" rule ");
	cliutil_print_clean(stdout, a->rule ? a->rule : "-", 12);
	printf(" %3d  ", a->http_status);
	why_print_clean(a->request ? a->request : "-");
	printf("  ");
	why_print_clean(a->after ? a->after : "");
	putchar('\n');
	/* Once per event: every row of the rehire carries the same. */
	if (prov != NULL && a->event_id != w->prov_event) {
		why_print_provenance(prov);
		w->prov_event = a->event_id;
	}
	json_object_put(prov);
}

int
cli_why(int argc, char **argv)
{
	static const char *const formats[] = { "table", "json", NULL };
	const char *path = CONFIG_DEFAULT_PATH, *user;
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct store_opts so;
	struct why_ctx w = { 0, 0, 0 };
	char err[512], key[300];
	int c, rc = 1, format = -1;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_WORD("format", 'f', &format, formats,
		    "expected table or json"),
	};

	if ((c = cliutil_parse("why", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, why_help)) >= 0)
		return c;
	w.json = format >= 0 ? format == 1 : !isatty(STDOUT_FILENO);
	if (optind + 1 != argc)
		return cliutil_usage_error("why", "expected one USER");
	user = argv[optind];
	if (strlen(user) == 0 || strlen(user) > 256)
		return cliutil_usage_error("why", WHY_USER);
	/* Every subject key is "<kind>:<id>" (normalize.h). */
	if (strspn(user, "0123456789") == strlen(user))
		snprintf(key, sizeof(key), "zendesk_user:%s", user);
	else if (strchr(user, ':') != NULL)
		snprintf(key, sizeof(key), "%s", user);
	else
		return cliutil_usage_error("why", WHY_USER);
	if (cliutil_load_config(path, CONFIG_SECRETS_SKIP, &cfg) != 0)
		return EXIT_USAGE;
	memset(&so, 0, sizeof(so));
	so.readonly = 1;
	if (config_store_open(cfg, &so, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: store: %s\n", err);
		goto out;
	}
	if (store_audit_list(st, key, why_row, &w) != 0) {
		fprintf(stderr, "rolehook: store: cannot read the audit trail\n");
		goto out;
	}
	if (w.n == 0) {
		fprintf(stderr, "rolehook: no audit rows for ");
		cliutil_print_clean(stderr, user, 0);
		fprintf(stderr, " (%s)\n", strchr(user, ':') != NULL ?
		    "'rolehook events list' shows each event's subject" :
		    "try the person's subject key: 'rolehook events list'");
	}
	rc = 0;
out:
	store_close(st);
	config_free(cfg);
	return rc;
}

/* ------------------------------------------------------------ reconcile */

static void
reconcile_help(void)
{
	printf(
	    "usage: rolehook reconcile [--config FILE] [--fix] [--field FIELD]\n"
	    "                          [--people PEOPLE.json] [--quiet]\n"
	    "\n"
	    "Compares every person rolehook knows from HR events (their newest\n"
	    "event) with Zendesk: the writes the policy would make now, from\n"
	    "fresh Zendesk state, are the drift.  Prints one JSON line per\n"
	    "person with drift: field (role, custom_role, groups,\n"
	    "entitlements, suspended), its policy.drift mode (revert, alert;\n"
	    "accept is not shown) and the write.  A person whose newest event\n"
	    "is thin (ids only: 'work' ignores it) is not checked; stderr names\n"
	    "them.  Needs the Zendesk credential.\n"
	    "\n"
	    "  --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --fix           put people whose drift is all 'revert' back to\n"
	    "                  pending: 'rolehook work' applies and audits the\n"
	    "                  fix like any event (bulk offboarding = leavers'\n"
	    "                  drift); 'alert' fields are left to a person\n"
	    "  --field FIELD   only this field\n"
	    "  --people FILE   an HR export instead of the stored events: a JSON\n"
	    "                  array of people (normalised attributes, as for\n"
	    "                  simulate --all); report only\n"
	    "  --quiet         no estimate and no progress on stderr (shown\n"
	    "                  otherwise: requests, the least time they take at\n"
	    "                  the account's rate limit, then done/total and ETA)\n"
	    "\n"
	    "exit status: 0 done (drift or not), 1 some people could not be\n"
	    "read, or the store or Zendesk failed, 2 usage or configuration\n"
	    "error (the policy, the zendesk section or its credential, a\n"
	    "--people entry that does not read)\n");
}

static void
print_drift(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

static void
print_problem(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "rolehook: reconcile: %s\n", msg);
}

/*
 * Every entry of --people reads, before any Zendesk request: a bad one
 * is an input error naming the file and the entry (exit 2), as for
 * simulate --all and report seats --people.  0, or -1 (said).
 */
static int
check_people(const char *path, json_object *people)
{
	struct norm_event ev;
	char err[DECIDE_ERRLEN];
	size_t i, n = json_object_array_length(people);

	for (i = 0; i < n; i++) {
		if (people_from_json(json_object_array_get_idx(people, i), i,
		    &ev, err, sizeof(err)) != 0) {
			fprintf(stderr, "rolehook: %s: %s\n", path, err);
			return -1;
		}
		people_clear(&ev);
	}
	return 0;
}

int
cli_reconcile(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH, *people = NULL;
	struct reconcile_opts ro;
	struct reconcile_report rep = { print_drift, print_problem, NULL, 0,
	    print_problem };
	struct reconcile_counts n;
	struct config *cfg = NULL;
	char err[CONFIG_ERRLEN];
	int c, rc, field = -1;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_FLAG("fix", 'f', &ro.fix),
		CLIUTIL_OPT_WORD("field", 'F', &field, reconcile_fields,
		    "expected role, custom_role, groups, entitlements or "
		    "suspended"),
		CLIUTIL_OPT_STR("people", 'p', &people),
		CLIUTIL_OPT_FLAG("quiet", 'q', &ro.quiet),
	};

	memset(&ro, 0, sizeof(ro));
	if ((c = cliutil_parse("reconcile", argc, argv, opts,
	    CLIUTIL_NOPTS(opts), &path, reconcile_help)) >= 0)
		return c;
	ro.field = field >= 0 ? reconcile_fields[field] : NULL;
	if (optind != argc)
		return cliutil_usage_error("reconcile", "unexpected argument");
	if (people != NULL && ro.fix)
		return cliutil_usage_error("reconcile", "--fix works on stored events; "
		    "with --people it only reports (send the HR events, then "
		    "reconcile --fix)");
	if (people != NULL && cliutil_read_json(people, (size_t)64 << 20, 16,
	    &ro.people, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: %s\n", err);
		return EXIT_USAGE;
	}
	if (people != NULL && !json_object_is_type(ro.people,
	    json_type_array)) {
		fprintf(stderr, "rolehook: %s: expected a JSON array of people "
		    "(normalised attributes, as for simulate --all)\n", people);
		json_object_put(ro.people);
		return EXIT_USAGE;
	}
	if (people != NULL && check_people(people, ro.people) != 0) {
		json_object_put(ro.people);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (cliutil_load_config(path, CONFIG_SECRETS_SKIP, &cfg) != 0) {
		json_object_put(ro.people);
		return EXIT_USAGE;
	}
	rep.drift_on_tty = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	rc = reconcile_run(cfg, &ro, &rep, &n, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "rolehook: reconcile: %s\n", err);
	if (rc == -2)
		rc = EXIT_USAGE;
	else if (rc < 0)
		rc = 1;
	else {
		fprintf(stderr, "reconcile: %ld %s checked, %ld with drift",
		    n.people, n.people == 1 ? "person" : "people", n.drifted);
		if (ro.fix)
			fprintf(stderr, ", %ld queued for 'rolehook work', %ld "
			    "left for a person", n.queued, n.needs);
		if (n.thin > 0)
			fprintf(stderr, "; %ld not checked (newest event thin: "
			    "ids only, see above)", n.thin);
		fprintf(stderr, "%s\n", n.failed ? "; some people could not "
		    "be read (see above)" : "");
		rc = n.failed ? 1 : 0;
	}
	json_object_put(ro.people);
	config_free(cfg);
	return rc;
}
