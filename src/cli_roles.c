/*
 * cli_roles.c -- rolehook roles sync: options, printing and exit status
 * around the custom-role engine (roles.c, which also says how roles are
 * checked, matched and pruned).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "rolehook/cli.h"
#include "rolehook/cliutil.h"
#include "rolehook/config.h"
#include "rolehook/roles.h"

static void
roles_help(void)
{
	printf(
	    "usage: rolehook roles sync [--config FILE] [--dry-run] [--prune]\n"
	    "                           [--format text|json]\n"
	    "\n"
	    "Makes Zendesk's custom agent roles match \"custom_roles\" in the\n"
	    "configuration ([{\"name\", \"description\", \"configuration\"}]):\n"
	    "creates the missing ones and updates the ones that differ (by name,\n"
	    "case-insensitively; only the keys a declaration names are compared\n"
	    "and sent).  Configuration keys are checked against the Custom Agent\n"
	    "Roles API; the read-only keys chat_access, group_access,\n"
	    "light_agent, moderate_forums and organization_notes_editing are\n"
	    "refused.  Prints one line per role: create, update, unchanged,\n"
	    "extra (in Zendesk, not declared), delete or refuse.\n"
	    "\n"
	    "  --config FILE    configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --dry-run        print the plan, write nothing\n"
	    "  --prune          delete extra roles that no agent holds; a role\n"
	    "                   agents still hold, or that a policy rule names\n"
	    "                   (then.custom_role), is refused, never deleted\n"
	    "  --format FMT     text (default) or json (the plan and a summary)\n"
	    "\n"
	    "exit status: 0 in sync (or plan printed), 1 a write failed or a\n"
	    "prune was refused (also with --dry-run), 2 usage or configuration\n"
	    "error (with --prune: also a policy that does not compile)\n");
}

struct printer {
	int json, prune;
};

static void
on_note(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "rolehook: %s\n", msg);
}

/* One text line per role, as its outcome is known. */
static void
on_step(void *arg, const struct roles_step *st)
{
	const struct printer *pr = arg;
	const char *act = roles_act_names[st->act];
	int failed = strcmp(st->status, "failed") == 0;
	int kept = st->act == ROLES_EXTRA && !pr->prune;
	char extra[64] = "";

	if (pr->json)
		return;
	if (st->act == ROLES_EXTRA || st->act == ROLES_DELETE) {
		if (st->members >= 0)
			snprintf(extra, sizeof(extra), "%ld agent%s",
			    st->members, st->members == 1 ? "" : "s");
		else
			snprintf(extra, sizeof(extra), "agents unknown");
	}
	printf("%-9s %s", act, st->name);
	if (st->changes[0] != '\0' || extra[0] != '\0' || kept)
		printf(" (%s%s%s%s)", extra,
		    extra[0] != '\0' && st->changes[0] != '\0' ? "; " : "",
		    st->changes, kept && st->changes[0] == '\0' ?
		    "; kept: --prune deletes it when no agent holds it" : "");
	if (failed)
		printf(": FAILED: %s", st->error);
	else if (strcmp(st->status, "skipped") == 0)
		printf(": skipped");
	else if (st->act == ROLES_REFUSE)
		printf(": %s", st->error);
	putchar('\n');
	if (failed || st->act == ROLES_REFUSE)
		fprintf(stderr, "rolehook: role \"%s\": %s: %s\n", st->name,
		    act, st->error);
}

/* A step's changes, "; "-separated, as a JSON array (caller puts). */
static json_object *
changes_array(const char *changes)
{
	json_object *ch = json_object_new_array();
	const char *p, *q;

	for (p = changes; ch != NULL && *p != '\0'; p = q) {
		if ((q = strstr(p, "; ")) == NULL)
			q = p + strlen(p);
		json_object_array_add(ch, json_object_new_string_len(p,
		    (int)(q - p)));
		if (*q != '\0')
			q += 2;
	}
	return ch;
}

static int
print_json(const struct roles_result *r, const struct roles_opts *o)
{
	json_object *doc = NULL, *arr, *sum, *obj;
	size_t i;
	int k, rc = -1;

	if ((doc = json_object_new_object()) == NULL ||
	    (arr = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(doc, "dry_run",
	    json_object_new_boolean(o->dry_run));
	json_object_object_add(doc, "prune", json_object_new_boolean(o->prune));
	json_object_object_add(doc, "roles", arr);
	for (i = 0; i < r->plan.nsteps; i++) {
		const struct roles_step *st = &r->plan.steps[i];

		if ((obj = json_object_new_object()) == NULL ||
		    json_object_array_add(arr, obj) != 0)
			goto out;
		json_object_object_add(obj, "name",
		    json_object_new_string(st->name));
		json_object_object_add(obj, "action",
		    json_object_new_string(roles_act_names[st->act]));
		json_object_object_add(obj, "id", st->id > 0 ?
		    json_object_new_int64(st->id) : NULL);
		json_object_object_add(obj, "members", st->members >= 0 ?
		    json_object_new_int64(st->members) : NULL);
		json_object_object_add(obj, "changes",
		    changes_array(st->changes));
		json_object_object_add(obj, "status",
		    json_object_new_string(st->status));
		json_object_object_add(obj, "error", st->error[0] != '\0' ?
		    json_object_new_string(st->error) : NULL);
	}
	if ((sum = json_object_new_object()) == NULL ||
	    json_object_object_add(doc, "summary", sum) != 0)
		goto out;
	for (k = 0; k < ROLES_NACT; k++)
		json_object_object_add(sum, roles_act_names[k],
		    json_object_new_int64(r->count[k]));
	json_object_object_add(sum, "failed", json_object_new_int64(r->failed));
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

/*
 * rolehook roles sync.  Returns 0 when Zendesk matches (or, with
 * --dry-run, the plan was printed), 1 when a write failed or a prune
 * was refused, EXIT_USAGE for usage and configuration errors.
 */
int
cli_roles(int argc, char **argv)
{
	static const char *const formats[] = { "text", "json", NULL };
	const char *path = CONFIG_DEFAULT_PATH;
	struct roles_opts o = { 0, 0 };
	struct printer pr = { 0, 0 };
	struct roles_report rep = { on_note, on_step, &pr };
	struct roles_result r;
	struct config *cfg = NULL;
	enum roles_status st;
	int c, rc = 1, format = 0;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_FLAG("dry-run", 'n', &o.dry_run),
		CLIUTIL_OPT_FLAG("prune", 'P', &o.prune),
		CLIUTIL_OPT_WORD("format", 'f', &format, formats,
		    "expected text or json"),
	};

	memset(&r, 0, sizeof(r));
	if ((c = cliutil_parse("roles", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, roles_help)) >= 0)
		return c;
	pr.json = format == 1;
	if (optind + 1 != argc || strcmp(argv[optind], "sync") != 0)
		return cliutil_usage_error("roles", "expected 'sync'");
	pr.prune = o.prune;
	if (cliutil_load_config(path, CONFIG_SECRETS_SKIP, &cfg) != 0)
		return EXIT_USAGE;
	if ((st = roles_sync(cfg, &o, &rep, &r)) != ROLES_OK) {
		rc = st == ROLES_INPUT ? EXIT_USAGE : 1;
		goto out;
	}
	if (pr.json && print_json(&r, &o) != 0) {
		fprintf(stderr, "rolehook: out of memory\n");
		goto out;
	}
	if (o.dry_run)
		fprintf(stderr, "rolehook: dry run: %ld to create, %ld to "
		    "update, %ld to delete; nothing was written\n",
		    r.count[ROLES_CREATE], r.count[ROLES_UPDATE],
		    r.count[ROLES_DELETE]);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rolehook: cannot write the output\n");
		goto out;
	}
	rc = r.failed > 0 || r.count[ROLES_REFUSE] > 0 ? 1 : 0;
out:
	roles_result_clear(&r);
	config_free(cfg);
	return rc;
}
