/*
 * cli.c -- rolehook serve, check, events.
 *
 * Messages for people go to stderr as "rolehook: ..." and say what to do;
 * results go to stdout.  Exit codes follow DESIGN.md: 0 ok, 1 failure,
 * 2 usage or configuration error.
 */
#include <errno.h>
#include <getopt.h>
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
#include "rolehook/jsonutil.h"
#include "rolehook/log.h"
#include "rolehook/metrics.h"
#include "rolehook/normalize.h"
#include "rolehook/server.h"
#include "rolehook/store.h"
#include "rolehook/verify.h"
#include "rolehook/zendesk.h"

void
cli_usage(void)
{
	printf(
	    "usage: rolehook COMMAND [options]\n"
	    "\n"
	    "Keeps Zendesk agent access in step with HR: receives signed\n"
	    "webhooks behind nginx, stores them durably, and applies policy\n"
	    "to Zendesk users, custom roles and product seats.\n"
	    "\n"
	    "commands:\n"
	    "  serve     run the FastCGI webhook receiver (behind nginx)\n"
	    "  check     validate the configuration, like nginx -t\n"
	    "  events    list, dead, show, retry, approve, cancel, replay stored events\n"
	    "  simulate  one event (or everyone) through policy: planned writes as JSON\n"
	    "  work      apply stored events to Zendesk (holds the Zendesk credential)\n"
	    "  why       the audit lineage of a person's access\n"
	    "  reconcile compare people with policy in Zendesk; --fix repairs drift\n"
	    "  report    report seats: agents, roles, groups, products; CSV/JSON\n"
	    "  roles     roles sync: create/update the declared custom roles\n"
	    "\n"
	    "common options:\n"
	    "  --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --help          help for a command: rolehook COMMAND --help\n"
	    "\n"
	    "rolehook --version prints the version.\n"
	    "\n"
	    "exit status: 0 success, 1 failure, 2 usage or configuration error\n"
	    "see rolehook(8) and rolehook.json(5)\n");
}

static void
serve_help(void)
{
	printf(
	    "usage: rolehook serve [--config FILE] [--log-level LEVEL]\n"
	    "\n"
	    "Runs the webhook receiver: a FastCGI responder for nginx on the\n"
	    "socket in server.listen.  POST /hooks/<source> verifies the\n"
	    "signature, stores the event durably and answers 202 (200 for a\n"
	    "repeated delivery).  GET /healthz and GET /metrics for operators.\n"
	    "Holds webhook secrets only, never Zendesk credentials.\n"
	    "Stops cleanly on SIGTERM or SIGINT.\n"
	    "\n"
	    "  --config FILE      configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --log-level LEVEL  debug, info (default), warn or error\n"
	    "\n"
	    "exit status: 0 clean stop, 1 the store or the socket failed,\n"
	    "2 usage or configuration error (a secret that cannot be read too)\n");
}

int
cli_serve(int argc, char **argv)
{
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_LOG_LEVEL("log-level", 'l'),
	};
	const char *path = CONFIG_DEFAULT_PATH;
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct metrics *m = NULL;
	struct store_opts so;
	const char **names = NULL;
	sigset_t sigs;
	char err[512];
	size_t i;
	int c, rc = 1;

	if ((c = cliutil_parse("serve", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, serve_help)) >= 0)
		return c;
	if (optind != argc)
		return cliutil_usage_error("serve", "unexpected argument");
	server_block_signals(&sigs);
	/*
	 * Files the store creates are for rolehook's users and group only:
	 * they hold webhook bodies (personal data).
	 */
	umask(007);
	if (cliutil_load_config(path, CONFIG_SECRETS_RESOLVE, &cfg) != 0)
		return EXIT_USAGE;
	memset(&so, 0, sizeof(so));
	so.batch_rows = cfg->store.batch_rows;
	so.batch_us = cfg->store.batch_us;
	so.queue_max = cfg->store.queue_max;
	so.retention_days = cfg->store.retention_days;
	so.checkpoint_pages = cfg->store.checkpoint_pages;
	if (config_store_open(cfg, &so, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: store: %s\n", err);
		goto out;
	}
	if ((names = calloc(cfg->nsources + 1, sizeof(*names))) == NULL)
		goto out;
	for (i = 0; i < cfg->nsources; i++)
		names[i] = cfg->sources[i].name;
	if ((m = metrics_new(names, cfg->nsources)) == NULL)
		goto out;
	if (server_run(cfg, st, m, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: listen: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	store_close(st);
	metrics_free(m);
	free(names);
	config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- check */

static void
check_help(void)
{
	printf(
	    "usage: rolehook check [--config FILE] [--no-secrets] [--quiet]\n"
	    "                      [--roles ROLES.json] [--groups GROUPS.json]\n"
	    "\n"
	    "Validates the configuration like nginx -t: syntax, every field,\n"
	    "and that every secret reference (file:, env:) can be read.\n"
	    "Errors name the file, the JSON path of the field and what was\n"
	    "expected.  Exit 0 when valid, 2 otherwise.\n"
	    "\n"
	    "  --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --no-secrets    do not read secret files or variables\n"
	    "  --quiet         print nothing when valid\n"
	    "  --roles FILE    check policy custom roles against this body of\n"
	    "                  GET /api/v2/custom_roles.json\n"
	    "  --groups FILE   check policy groups against this body of\n"
	    "                  GET /api/v2/groups.json\n"
	    "The policy section, when present, is compiled too; rules that can\n"
	    "never match are warnings (docs/policy.md).\n");
}

/*
 * Each source's normaliser exists and a generic mapping is complete; a
 * preset without a normaliser of its own is only a warning (serve alone
 * needs none, but work would dead-letter its events).
 */
static int
check_sources(const struct config *cfg)
{
	const char *const *names = normalize_names();
	const struct config_source *src;
	json_object *mapping;
	char err[NORM_ERRLEN];
	const char *n;
	size_t i, j;
	int errs = 0;

	for (i = 0; i < cfg->nsources; i++) {
		src = &cfg->sources[i];
		if (json_member_true(src->raw, "insecure_no_replay_window"))
			fprintf(stderr, "rolehook: %s: sources.%s: warning: "
			    "insecure_no_replay_window: the replay window is "
			    "off; a captured request verifies for ever (see "
			    "docs/security.md)\n", cfg->path, src->name);
		n = src->normalizer != NULL ? src->normalizer :
		    src->scheme.preset;
		for (j = 0; names[j] != NULL && strcmp(names[j], n) != 0; j++)
			;
		if (names[j] == NULL) {
			if (src->normalizer != NULL) {
				fprintf(stderr, "rolehook: %s: sources.%s.normalizer:"
				    " unknown normaliser \"%s\"; see "
				    "docs/normalizers.md\n", cfg->path, src->name, n);
				errs++;
			} else
				fprintf(stderr, "rolehook: %s: sources.%s: warning: "
				    "preset \"%s\" has no normaliser; set "
				    "\"normalizer\" (e.g. \"generic\" with a "
				    "mapping) or rolehook work dead-letters its "
				    "events\n", cfg->path, src->name, n);
			continue;
		}
		if (strcmp(n, "generic") != 0)
			continue;
		mapping = NULL;
		if (src->raw != NULL)
			json_object_object_get_ex(src->raw, "mapping", &mapping);
		if (mapping == NULL) {
			fprintf(stderr, "rolehook: %s: sources.%s.mapping: "
			    "missing; the generic normaliser needs one (see "
			    "docs/normalizers.md)\n", cfg->path, src->name);
			errs++;
		} else if (normalize_check_mapping(mapping, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "rolehook: %s: sources.%s.%s\n",
			    cfg->path, src->name, err);
			errs++;
		}
	}
	return errs == 0 ? 0 : -1;
}

/*
 * The zendesk section is validated when the configuration loads
 * (config.c calls the zendesk module); here only its warnings.
 */
static void
warn_zendesk(const struct config *cfg)
{
	/* Zendesk: "Migrating from API tokens to OAuth access tokens". */
	if (zd_conf_api_token(cfg))
		fprintf(stderr, "rolehook: %s: warning: zendesk.auth: API "
		    "tokens stop working on 2027-04-30; use OAuth "
		    "(docs/operations.md)\n", cfg->path);
}

int
cli_check(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	const char *roles = NULL, *groups = NULL;
	int c, quiet = 0, no_secrets = 0, rc;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_FLAG("no-secrets", 'n', &no_secrets),
		CLIUTIL_OPT_FLAG("quiet", 'q', &quiet),
		CLIUTIL_OPT_STR("roles", 'r', &roles),
		CLIUTIL_OPT_STR("groups", 'g', &groups),
	};
	enum config_secrets secrets;
	struct config *cfg = NULL;
	char summary[512];

	if ((c = cliutil_parse("check", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, check_help)) >= 0)
		return c;
	secrets = no_secrets ? CONFIG_SECRETS_SKIP : CONFIG_SECRETS_RESOLVE;
	if (optind != argc)
		return cliutil_usage_error("check", "unexpected argument");
	if (cliutil_load_config(path, secrets, &cfg) != 0)
		return EXIT_USAGE;
	/* policy: compiled, and checked against Zendesk's names when given */
	rc = cli_check_policy(cfg, roles, groups, summary, sizeof(summary));
	if (rc == 0 && check_sources(cfg) != 0)
		rc = EXIT_USAGE;
	if (rc == 0 && secrets == CONFIG_SECRETS_RESOLVE) {
		char zerr[1024];

		if (zd_conf_check_refresh_file(cfg, zerr, sizeof(zerr)) != 0) {
			fprintf(stderr, "rolehook: %s: %s\n", cfg->path, zerr);
			rc = EXIT_USAGE;
		}
	}
	if (rc == 0)
		warn_zendesk(cfg);
	/* Said only once everything passed: no "valid" before an error. */
	if (rc == 0 && !quiet)
		printf("%srolehook: %s: configuration is valid (%zu source%s)\n",
		    summary, path, cfg->nsources, cfg->nsources == 1 ? "" : "s");
	config_free(cfg);
	return rc;
}

/* --------------------------------------------------------------- events */

#define EVENTS_SUBS "expected 'list', 'dead', 'show ID', 'retry ID', " \
	"'approve ID', 'cancel ID' or 'replay --since TIME'"

/* Every state an event can be in (architecture.md, "The store"). */
static const char *const ev_states[] = { "pending", "retry", "waiting",
	"held", "dead", "done", "ignored", "stale", "cancelled", NULL };

/*
 * --state and --source filter by exact value: one that cannot match is
 * a usage error rather than an empty list.  A source must be in the
 * configuration (events of a source removed from it are still listed
 * without --source).  0, or EXIT_USAGE (said).
 */
static int
check_filters(const struct config *cfg, const char *state, const char *source)
{
	char msg[512];
	size_t i, off;
	int n;

	for (i = 0; state != NULL && ev_states[i] != NULL &&
	    strcmp(state, ev_states[i]) != 0; i++)
		;
	if (state != NULL && ev_states[i] == NULL)
		return cliutil_usage_error("events", "--state: expected pending, "
		    "retry, waiting, held, dead, done, ignored, stale or "
		    "cancelled");
	if (source == NULL || config_source_find(cfg, source,
	    strlen(source)) != NULL)
		return 0;
	n = snprintf(msg, sizeof(msg), "--source: no source \"%.64s\" in %s "
	    "(sources:", source, cfg->path);
	off = n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	for (i = 0; i < cfg->nsources && off < sizeof(msg) - 1; i++) {
		n = snprintf(msg + off, sizeof(msg) - off, "%s %s",
		    i > 0 ? "," : "", cfg->sources[i].name);
		off += n > 0 ? (size_t)n : 0;
	}
	if (off < sizeof(msg) - 1)
		snprintf(msg + off, sizeof(msg) - off, ")");
	return cliutil_usage_error("events", msg);
}

/* RFC 3339 or unix seconds. */
static int
parse_time(const char *s, time_t *out)
{
	char *end;
	long long v;

	if (verify_parse_rfc3339(s, out) == 0)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*out = (time_t)v;
	return 0;
}

static void
events_help(void)
{
	printf(
	    "usage: rolehook events list [--state S | --held | --pending]\n"
	    "                            [--source S] [--limit N]\n"
	    "                            [--format table|json]\n"
	    "       rolehook events dead [--source S] [--limit N]\n"
	    "                            [--format table|json]\n"
	    "       rolehook events show ID\n"
	    "       rolehook events retry ID\n"
	    "       rolehook events approve ID\n"
	    "       rolehook events cancel ID\n"
	    "       rolehook events replay --since TIME [--dry-run | --policy FILE]\n"
	    "Each also takes --config FILE.\n"
	    "\n"
	    "Inspects the inbox.  list prints the newest events first (table\n"
	    "on a terminal; --format json prints one JSON object per line).\n"
	    "dead lists dead letters with the reason.  show prints one event\n"
	    "with its kept headers and body as JSON.  retry puts an event\n"
	    "(typically a dead letter, once its cause is fixed) back to\n"
	    "pending with its attempts reset.  approve releases an event the\n"
	    "blast-radius guard holds (work applies it past policy.limits),\n"
	    "or an update work ignored because the person had left (note\n"
	    "\"left: ...\"): work applies it and the leave ends.\n"
	    "cancel drops an unfinished event (pending, waiting, retry or\n"
	    "held): it is never applied.  replay puts each person's\n"
	    "newest finished event received since TIME back to pending\n"
	    "(after a policy change, or a Zendesk restore): the worker plans\n"
	    "it again from fresh Zendesk state, so only what differs is\n"
	    "written.\n"
	    "Signatures and secrets are never stored, so never shown.\n"
	    "\n"
	    "  --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --state S       list: pending, retry, waiting, held, dead, done,\n"
	    "                  ignored, stale or cancelled\n"
	    "  --source S      list, dead: a source name from the configuration\n"
	    "                  (others are refused)\n"
	    "  --limit N       list, dead: at most N events (1..1000000,\n"
	    "                  default 100)\n"
	    "  --pending       list: events waiting for a future effective date\n"
	    "                  (a newer one of the same kind moves them;\n"
	    "                  'events cancel ID' drops one)\n"
	    "  --held          list: events the blast-radius guard (policy.limits)\n"
	    "                  holds; release one with 'events approve ID'\n"
	    "  --since TIME    replay: RFC 3339 time or unix seconds\n"
	    "  --dry-run       replay: only count what would be replayed\n"
	    "  --policy FILE   replay: change nothing; print (JSON lines) each\n"
	    "                  person whose rule or desired access would differ\n"
	    "                  under FILE's policy (a policy object, or a\n"
	    "                  configuration with one); then install it and\n"
	    "                  replay without --policy\n"
	    "  --format F      list, dead: table (default on a terminal) or json\n"
	    "                  (one object per line, default otherwise)\n"
	    "\n"
	    "exit status: 0 done, 1 no such event, or the store failed,\n"
	    "2 usage or configuration error (an unknown --state or --source)\n");
}

static void
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *
event_json(const struct store_event *ev, int with_body)
{
	json_object *o = json_object_new_object(), *h, *b;
	char tbuf[32];

	fmt_time(ev->received, tbuf, sizeof(tbuf));
	json_object_object_add(o, "id", json_object_new_int64(ev->id));
	json_object_object_add(o, "source", json_object_new_string(
	    ev->source ? ev->source : ""));
	json_object_object_add(o, "delivery_id", json_object_new_string(
	    ev->delivery_id ? ev->delivery_id : ""));
	json_object_object_add(o, "received", json_object_new_string(tbuf));
	json_object_object_add(o, "state", json_object_new_string(
	    ev->state ? ev->state : ""));
	json_object_object_add(o, "attempts", json_object_new_int(ev->attempts));
	json_object_object_add(o, "last_error", ev->last_error ?
	    json_object_new_string(ev->last_error) : NULL);
	json_object_object_add(o, "subject", ev->subject ?
	    json_object_new_string(ev->subject) : NULL);
	/* Only on the children of a split batch: other output unchanged. */
	if (ev->batched)
		json_object_object_add(o, "batch_index",
		    json_object_new_int64((int64_t)ev->batch_index));
	if (ev->effective_at > 0) {
		fmt_time(ev->effective_at, tbuf, sizeof(tbuf));
		json_object_object_add(o, "effective_at",
		    json_object_new_string(tbuf));
	}
	if (ev->next_attempt > 0) {
		fmt_time(ev->next_attempt, tbuf, sizeof(tbuf));
		json_object_object_add(o, "next_attempt",
		    json_object_new_string(tbuf));
	}
	if (!with_body)
		return o;
	h = ev->headers_json ? json_tokener_parse(ev->headers_json) : NULL;
	json_object_object_add(o, "headers", h ? h : json_object_new_object());
	b = ev->body ? json_tokener_parse((const char *)ev->body) : NULL;
	if (b == NULL && ev->body != NULL)
		b = json_object_new_string_len((const char *)ev->body,
		    (int)ev->body_len);
	json_object_object_add(o, "body", b);
	return o;
}

struct list_ctx {
	int json;
	int count;
};

static void
print_row(const struct store_event *ev, void *arg)
{
	struct list_ctx *lc = arg;
	char tbuf[32];
	json_object *o;

	lc->count++;
	if (lc->json) {
		o = event_json(ev, 0);
		printf("%s\n", json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	fmt_time(ev->received, tbuf, sizeof(tbuf));
	/*
	 * Every string from the store cleaned: a compromised serve can
	 * write escape sequences into a delivery id or an outcome note.
	 */
	printf("%-8lld %-20s ", (long long)ev->id, tbuf);
	cliutil_print_clean(stdout, ev->source, 12);
	putchar(' ');
	cliutil_print_clean(stdout, ev->state, 10);
	printf(" %3d  ", ev->attempts);
	cliutil_print_clean(stdout, ev->delivery_id, 0);
	if (ev->last_error != NULL) {
		fputs("  ", stdout);
		cliutil_print_clean(stdout, ev->last_error, 0);
	}
	putchar('\n');
}

static int
parse_id(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return (errno != 0 || end == s || *end != '\0' || *out <= 0) ? -1 : 0;
}

/* What the events subcommands share: the options and the open store. */
struct ev_args {
	const char *state, *source, *since, *policy_file;
	time_t since_t;
	int dry_run;
	long long limit, id;
	struct list_ctx lc;
	struct config *cfg;
	struct store *st;
};

static int
ev_list(struct ev_args *a)
{
	if (!a->lc.json)
		printf("%-8s %-20s %-12s %-10s %3s  %s\n", "ID",
		    "RECEIVED", "SOURCE", "STATE", "TRY", "DELIVERY");
	if (store_list(a->st, a->state, a->source, (int)a->limit, print_row,
	    &a->lc) != 0) {
		fprintf(stderr, "rolehook: store: cannot list events\n");
		return 1;
	}
	return 0;
}

static int
ev_dead(struct ev_args *a)
{
	a->state = "dead";
	return ev_list(a);
}

static int
ev_show(struct ev_args *a)
{
	struct store_event ev;
	json_object *o;
	int g;

	g = store_get(a->st, (int64_t)a->id, &ev);
	if (g == 1) {
		fprintf(stderr, "rolehook: no event %lld; "
		    "'rolehook events list' shows the ids\n", a->id);
		return 1;
	}
	if (g != 0) {
		fprintf(stderr, "rolehook: store: cannot read event %lld\n",
		    a->id);
		return 1;
	}
	o = event_json(&ev, 1);
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	store_event_clear(&ev);
	return 0;
}

/* retry, approve, cancel: one store state change of one event, as data. */
static const struct ev_change {
	int (*fn)(struct store *, int64_t);
	const char *done;          /* "event ID <done>" */
	const char *which;         /* "no <which>event ID" */
	const char *hint;          /* after it */
	const char *verb;          /* "cannot <verb> event ID" */
} ev_changes[] = {
	{ store_requeue, "is pending again; 'rolehook work' will process it",
	    "", "'rolehook events list' shows the ids", "requeue" },
	{ store_approve, "approved; 'rolehook work' applies it past "
	    "policy.limits (an update of a leaver: gives them access back)",
	    "held or left-ignored ", "'rolehook events list --held' shows "
	    "held ones; an update ignored because the person left says "
	    "\"left:\"", "approve" },
	{ store_cancel, "cancelled; it will not be applied", "unfinished ",
	    "'rolehook events list --pending' shows waiting ones", "cancel" },
};

static int
ev_change(struct ev_args *a, const struct ev_change *ch)
{
	int g = ch->fn(a->st, (int64_t)a->id);

	if (g == 0) {
		printf("rolehook: event %lld %s\n", a->id, ch->done);
		return 0;
	}
	if (g == 1)
		fprintf(stderr, "rolehook: no %sevent %lld; %s\n", ch->which,
		    a->id, ch->hint);
	else
		fprintf(stderr, "rolehook: store: cannot %s event %lld\n",
		    ch->verb, a->id);
	return 1;
}

static int
ev_retry(struct ev_args *a)
{
	return ev_change(a, &ev_changes[0]);
}

static int
ev_approve(struct ev_args *a)
{
	return ev_change(a, &ev_changes[1]);
}

static int
ev_cancel(struct ev_args *a)
{
	return ev_change(a, &ev_changes[2]);
}

static int
ev_replay(struct ev_args *a)
{
	long n = 0;

	if (a->policy_file != NULL)
		return cli_replay_preview(a->cfg, a->st,
		    (long long)a->since_t, a->policy_file);
	if (store_replay(a->st, a->since_t, a->dry_run, &n) != 0) {
		fprintf(stderr, "rolehook: store: cannot replay events\n");
		return 1;
	}
	printf("rolehook: %ld event%s received since %s %s\n", n,
	    n == 1 ? "" : "s", a->since, a->dry_run ?
	    "would be replayed (dry run)" : "are pending again (the newest of "
	    "each person); 'rolehook work' applies them from fresh Zendesk "
	    "state");
	return 0;
}

/* The events subcommands, as main.c's commands[]. */
enum ev_arg { EV_NONE, EV_ID };
static const struct {
	const char *name;
	enum ev_arg arg;           /* EV_ID: exactly one event id follows */
	int writes;                /* opens the store for writing */
	int (*run)(struct ev_args *);
} ev_cmds[] = {
	{ "list", EV_NONE, 0, ev_list },
	{ "dead", EV_NONE, 0, ev_dead },
	{ "show", EV_ID, 0, ev_show },
	{ "retry", EV_ID, 1, ev_retry },
	{ "approve", EV_ID, 1, ev_approve },
	{ "cancel", EV_ID, 1, ev_cancel },
	{ "replay", EV_NONE, 1, ev_replay },
};

int
cli_events(int argc, char **argv)
{
	static const char *const formats[] = { "table", "json", NULL };
	const char *path = CONFIG_DEFAULT_PATH;
	struct ev_args a;
	struct store_opts so;
	char err[512];
	size_t k;
	int c, rc = 1, replay, limit = 100, format = -1;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_STR("state", 's', &a.state),
		CLIUTIL_OPT_STR("source", 'S', &a.source),
		CLIUTIL_OPT_INT("limit", 'l', &limit, 1, 1000000,
		    "expected a number from 1 to 1000000"),
		CLIUTIL_OPT_WORD("format", 'f', &format, formats,
		    "expected table or json"),
		CLIUTIL_OPT_STR("since", 'T', &a.since),
		CLIUTIL_OPT_FLAG("dry-run", 0, &a.dry_run),
		CLIUTIL_OPT_SET("held", 'H', &a.state, "held"),
		CLIUTIL_OPT_SET("pending", 'W', &a.state, "waiting"),
		CLIUTIL_OPT_STR("policy", 'P', &a.policy_file),
	};

	memset(&a, 0, sizeof(a));
	if ((c = cliutil_parse("events", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, events_help)) >= 0)
		return c;
	a.limit = limit;
	a.lc.json = format >= 0 ? format == 1 : !isatty(STDOUT_FILENO);
	if (optind >= argc)
		return cliutil_usage_error("events", EVENTS_SUBS);
	for (k = 0; k < sizeof(ev_cmds) / sizeof(ev_cmds[0]); k++)
		if (strcmp(argv[optind], ev_cmds[k].name) == 0)
			break;
	if (k == sizeof(ev_cmds) / sizeof(ev_cmds[0]))
		return cliutil_usage_error("events", EVENTS_SUBS);
	optind++;
	if (ev_cmds[k].arg == EV_ID) {
		if (optind + 1 != argc || parse_id(argv[optind], &a.id) != 0)
			return cliutil_usage_error("events", "show, retry, approve, "
			    "cancel: expected one event id (a positive number)");
	} else if (optind != argc)
		return cliutil_usage_error("events", EVENTS_SUBS);
	replay = ev_cmds[k].run == ev_replay;
	if (replay && a.since == NULL)
		return cliutil_usage_error("events", "replay: --since TIME is "
		    "required");
	if (replay && parse_time(a.since, &a.since_t) != 0)
		return cliutil_usage_error("events", "--since: expected an RFC "
		    "3339 time (2026-11-29T08:00:00Z) or unix seconds");

	if (cliutil_load_config(path, CONFIG_SECRETS_SKIP, &a.cfg) != 0)
		return EXIT_USAGE;
	if ((rc = check_filters(a.cfg, a.state, a.source)) != 0)
		goto out;
	rc = 1;
	memset(&so, 0, sizeof(so));
	/* A replay preview (--policy) only reads. */
	so.direct = ev_cmds[k].writes && !(replay && a.policy_file != NULL);
	so.readonly = !so.direct;
	if (config_store_open(a.cfg, &so, &a.st, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: store: %s\n", err);
		goto out;
	}
	rc = ev_cmds[k].run(&a);
out:
	store_close(a.st);
	config_free(a.cfg);
	return rc;
}
