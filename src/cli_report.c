/*
 * cli_report.c -- rolehook report seats: the options, the output (table,
 * RFC 4180 CSV or JSON on stdout; for CSV the totals on stderr) and the
 * exit status.  The analysis is the seats module (seats.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "rolehook/cli.h"
#include "rolehook/cliutil.h"
#include "rolehook/config.h"
#include "rolehook/jsonutil.h"
#include "rolehook/seats.h"

#define PEOPLE_MAX_BYTES ((size_t)64 << 20)
#define PEOPLE_DEPTH 16   /* as reconcile --people */
#define TABLE_CELL_MAX 40        /* bytes shown per table cell */
#define products seats_products
#define NPRODUCTS ((size_t)SEATS_NPRODUCTS)

enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON };
static const char *const fmt_names[] = { "table", "csv", "json", NULL };

/* ------------------------------------------------------------ helpers */

static int
usage_error(const char *msg)
{
	return cliutil_usage_error("report", msg);
}

static void
report_help(void)
{
	printf(
	    "usage: rolehook report seats [--config FILE] [--format table|csv|json]\n"
	    "                             [--people PEOPLE.json] [--quiet]\n"
	    "\n"
	    "Lists every Zendesk agent and admin once: id, email, name, role,\n"
	    "custom role (name), groups, suspended, last login, and one column\n"
	    "per product (support, chat, talk, guide, explore) holding the\n"
	    "entitlement name, empty when the product is off.  Entitlements come\n"
	    "from the official GET /api/v2/users/{id}/entitlements/full (support:\n"
	    "the role and custom role) and are read only when zendesk.entitlements\n"
	    "is true; otherwise the product columns stay empty.\n"
	    "\n"
	    "Flags:\n"
	    "  seat_held_by_suspended  suspended, yet still an agent or admin\n"
	    "  left_per_hr             --people marks the person a leaver (kind\n"
	    "                          terminate, or employment_status terminated\n"
	    "                          or inactive; matched by email, external_id\n"
	    "                          or employee_id),\n"
	    "                          or the last HR event stored for them is a\n"
	    "                          terminate (store.path, when it exists)\n"
	    "\n"
	    "  --config FILE    configuration (default " CONFIG_DEFAULT_PATH ")\n"
	    "  --format FMT     table (default on a terminal), csv (default\n"
	    "                   otherwise; RFC 4180, totals on stderr) or json\n"
	    "                   ({\"agents\": [...], \"totals\": {...}, \"flags\": {...}})\n"
	    "  --people FILE    an HR export: PEOPLE.json, a JSON array of people\n"
	    "                   (normalised attributes, as for simulate --all and\n"
	    "                   reconcile --people); {\"email\", \"external_id\",\n"
	    "                   \"employment_status\"} entries are such people too\n"
	    "  --quiet          no estimate and no progress on stderr\n"
	    "\n"
	    "Reads only; every request goes through the rate governor (groups\n"
	    "come from one listing of all memberships; with entitlements, one\n"
	    "request per agent, a few in flight at once).  Before reading, says\n"
	    "on stderr how many requests and how long at least (requests /\n"
	    "rate limit); then shows progress there.\n"
	    "\n"
	    "exit status: 0 report printed, 1 Zendesk failed or refused,\n"
	    "2 usage, configuration or --people error\n");
}


/* -------------------------------------------------------------- output */

enum col { C_ID, C_EMAIL, C_NAME, C_ROLE, C_CROLE, C_GROUPS, C_SUSP,
	C_LOGIN, C_PROD0, C_FLAG_SUSP = C_PROD0 + NPRODUCTS, C_FLAG_LEFT,
	NCOLS };

static const char *const col_names[NCOLS] = { "id", "email", "name",
	"role", "custom_role", "groups", "suspended", "last_login_at",
	"support", "chat", "talk", "guide", "explore",
	"seat_held_by_suspended", "left_per_hr" };

/* Groups joined with "; " (caller frees), or NULL out of memory. */
static char *
join_groups(json_object *row)
{
	json_object *g;
	size_t i, n, len = 1, off = 0;
	const char *s;
	char *buf;

	if (!json_object_object_get_ex(row, "groups", &g))
		return strdup("");
	n = json_object_array_length(g);
	for (i = 0; i < n; i++)
		len += strlen(json_object_get_string(
		    json_object_array_get_idx(g, i))) + 2;
	if ((buf = malloc(len)) == NULL)
		return NULL;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(g, i));
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i > 0 ? "; " : "", s);
	}
	return buf;
}

/*
 * Cell text of row for column c: borrowed from row, or written into buf
 * (groups: *owned gets a malloc'd string the caller frees).
 */
static const char *
cell(json_object *row, enum col c, char *buf, size_t len, char **owned)
{
	json_object *v;
	const char *key = col_names[c];

	*owned = NULL;
	if (c == C_GROUPS)
		return (*owned = join_groups(row)) != NULL ? *owned : "";
	if (!json_object_object_get_ex(row, key, &v) || v == NULL)
		return "";
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "true" : "false";
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, len, "%" PRId64, json_object_get_int64(v));
		return buf;
	}
	return json_object_get_string(v);
}

/*
 * RFC 4180 section 2: quote a field holding a comma, quote or line
 * break, and double the quotes inside.  A field that a spreadsheet would
 * run as a formula (=, +, -, @ first; OWASP "CSV Injection") gets a
 * leading apostrophe: names and group names come from Zendesk users.
 */
static void
csv_field(const char *s)
{
	int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';

	if (strpbrk(s, ",\"\r\n") == NULL) {
		if (formula)
			putchar('\'');
		fputs(s, stdout);
		return;
	}
	putchar('"');
	if (formula)
		putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void
print_csv(const struct seats_result *r)
{
	char buf[32], *owned;
	size_t i, n = json_object_array_length(r->rows);
	int c;

	for (c = 0; c < NCOLS; c++) {
		if (c > 0)
			putchar(',');
		csv_field(col_names[c]);
	}
	fputs("\r\n", stdout);   /* RFC 4180: records end in CRLF */
	for (i = 0; i < n; i++) {
		json_object *row = json_object_array_get_idx(r->rows, i);

		for (c = 0; c < NCOLS; c++) {
			if (c > 0)
				putchar(',');
			csv_field(cell(row, (enum col)c, buf, sizeof(buf),
			    &owned));
			free(owned);
		}
		fputs("\r\n", stdout);
	}
}

/*
 * Copies s into out (cap bytes) for a terminal: control bytes become
 * '?' (Zendesk names are user-editable: no escape sequences reach the
 * operator's terminal), and text over TABLE_CELL_MAX bytes is cut at a
 * UTF-8 boundary and marked with '~'.  Returns the byte length.
 */
static size_t
table_text(const char *s, char *out, size_t cap)
{
	size_t i, n = strlen(s);

	if (n > TABLE_CELL_MAX) {
		n = TABLE_CELL_MAX - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	if (n + 2 > cap)
		n = cap - 2;
	for (i = 0; i < n; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	if (n < strlen(s))
		out[i++] = '~';
	out[i] = '\0';
	return i;
}

static void
table_row(json_object *row, size_t *w, int print)
{
	static const char *const heads[NCOLS] = { "ID", "EMAIL", "NAME",
		"ROLE", "CUSTOM ROLE", "GROUPS", "SUSP", "LAST LOGIN",
		"SUPPORT", "CHAT", "TALK", "GUIDE", "EXPLORE", "SUSP SEAT",
		"LEFT" };
	char buf[32], text[TABLE_CELL_MAX + 8], *owned;
	char line[NCOLS * (TABLE_CELL_MAX + 8)];
	const char *s;
	size_t len, off = 0;
	int c, n;

	for (c = 0; c < NCOLS; c++) {
		if (row == NULL)
			s = heads[c];
		else {
			s = cell(row, (enum col)c, buf, sizeof(buf), &owned);
			if (c == C_SUSP || c == C_FLAG_SUSP || c == C_FLAG_LEFT)
				s = strcmp(s, "true") == 0 ? "yes" : "";
		}
		len = table_text(s, text, sizeof(text));
		if (row != NULL)
			free(owned);
		if (!print) {
			if (len > w[c])
				w[c] = len;
			continue;
		}
		n = snprintf(line + off, sizeof(line) - off, "%s%-*s",
		    c > 0 ? "  " : "", (int)w[c], text);
		if (n > 0 && (size_t)n < sizeof(line) - off)
			off += (size_t)n;
	}
	if (!print)
		return;
	while (off > 0 && line[off - 1] == ' ')
		off--;
	line[off] = '\0';
	puts(line);
}

/* Totals as text lines (table footer, or stderr for CSV). */
static void
print_totals(const struct seats_result *r, FILE *f, const char *prefix)
{
	size_t i;

	long users = r->n_agent + r->n_admin;

	fprintf(f, "%stotals: %ld user%s (%ld agent%s, %ld admin%s), %ld "
	    "suspended\n", prefix, users, users == 1 ? "" : "s", r->n_agent,
	    r->n_agent == 1 ? "" : "s", r->n_admin, r->n_admin == 1 ? "" : "s",
	    r->n_suspended);
	if (!r->entitlements)
		fprintf(f, "%sproducts: unknown (entitlements not read)\n",
		    prefix);
	else {
		fprintf(f, "%sproducts:", prefix);
		for (i = 0; i < NPRODUCTS; i++)
			fprintf(f, "%s %s %ld", i > 0 ? "," : "", products[i],
			    r->totals[i]);
		fputc('\n', f);
	}
	fprintf(f, "%sflags: seat_held_by_suspended %ld, left_per_hr %ld\n",
	    prefix, r->n_flag_susp, r->n_flag_left);
}

static void
print_table(const struct seats_result *r)
{
	size_t w[NCOLS] = { 0 }, i, n = json_object_array_length(r->rows);

	table_row(NULL, w, 0);
	for (i = 0; i < n; i++)
		table_row(json_object_array_get_idx(r->rows, i), w, 0);
	table_row(NULL, w, 1);
	for (i = 0; i < n; i++)
		table_row(json_object_array_get_idx(r->rows, i), w, 1);
	putchar('\n');
	print_totals(r, stdout, "");
}

static int
print_json(const struct seats_result *r, int pretty)
{
	json_object *doc = NULL, *tot = NULL, *flags = NULL;
	size_t i;
	int ret = 1;

	if ((doc = json_object_new_object()) == NULL ||
	    (tot = json_object_new_object()) == NULL ||
	    (flags = json_object_new_object()) == NULL)
		goto out;
	if (json_member_put(tot, "users", json_object_new_int64(r->n_agent +
	    r->n_admin)) != 0 ||
	    json_member_put(tot, "agent", json_object_new_int64(r->n_agent)) != 0 ||
	    json_member_put(tot, "admin", json_object_new_int64(r->n_admin)) != 0 ||
	    json_member_put(tot, "suspended",
	    json_object_new_int64(r->n_suspended)) != 0)
		goto out;
	/* null, not 0, when entitlements were not read: unknown. */
	for (i = 0; i < NPRODUCTS; i++)
		if (json_member_put(tot, products[i], r->entitlements ?
		    json_object_new_int64(r->totals[i]) : NULL) != 0)
			goto out;
	if (json_member_put(flags, "seat_held_by_suspended",
	    json_object_new_int64(r->n_flag_susp)) != 0 ||
	    json_member_put(flags, "left_per_hr",
	    json_object_new_int64(r->n_flag_left)) != 0)
		goto out;
	if (json_member_put(doc, "agents", json_object_get(r->rows)) != 0)
		goto out;
	if (json_member_put(doc, "totals", tot) != 0) {
		tot = NULL;
		goto out;
	}
	tot = NULL;
	if (json_member_put(doc, "flags", flags) != 0) {
		flags = NULL;
		goto out;
	}
	flags = NULL;
	if (json_member_put(doc, "entitlements_read", json_object_new_boolean(
	    r->entitlements)) != 0)
		goto out;
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_NOSLASHESCAPE |
	    (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN)));
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "rolehook: out of memory printing JSON\n");
	json_object_put(flags);
	json_object_put(tot);
	json_object_put(doc);
	return ret;
}

/* ---------------------------------------------------------------- main */

/*
 * rolehook report seats.  Returns 0 when the report was printed, 1 when
 * Zendesk failed or refused, EXIT_USAGE for usage, configuration or
 * --people errors.
 */
static void
print_note(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "rolehook: %s\n", msg);
}

static void
print_listing(void *arg, size_t fetched, int done)
{
	(void)arg;
	if (done)
		fputc('\n', stderr);
	else
		fprintf(stderr, "\rrolehook: fetched %zu agents...", fetched);
}

int
cli_report(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH, *people = NULL;
	struct seats_opts so;
	struct seats_report rep = { print_note, print_listing, NULL };
	struct seats_result r;
	struct config *cfg = NULL;
	char err[CONFIG_ERRLEN];
	int c, rc = 1, fmt = -1;
	const struct cliutil_opt opts[] = {
		CLIUTIL_OPT_WORD("format", 'f', &fmt, fmt_names,
		    "expected table, csv or json"),
		CLIUTIL_OPT_STR("people", 'p', &people),
		CLIUTIL_OPT_FLAG("quiet", 'q', &so.quiet),
	};

	memset(&so, 0, sizeof(so));
	memset(&r, 0, sizeof(r));
	if ((c = cliutil_parse("report", argc, argv, opts, CLIUTIL_NOPTS(opts),
	    &path, report_help)) >= 0)
		return c;
	if (optind + 1 != argc || strcmp(argv[optind], "seats") != 0)
		return usage_error("expected 'seats' (the only report)");
	if (fmt < 0)
		fmt = isatty(STDOUT_FILENO) ? FMT_TABLE : FMT_CSV;

	/* Webhook secrets are not needed here: the serve user's files may
	 * be unreadable to whoever runs a report. */
	if (cliutil_load_config(path, CONFIG_SECRETS_SKIP, &cfg) != 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (people != NULL && cliutil_read_json(people, PEOPLE_MAX_BYTES,
	    PEOPLE_DEPTH, &so.people, err, sizeof(err)) != 0) {
		fprintf(stderr, "rolehook: --people %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	so.people_name = people;
	switch (seats_run(cfg, &so, &rep, &r)) {
	case SEATS_OK:
		break;
	case SEATS_INPUT:
		rc = EXIT_USAGE;
		goto out;
	default:
		goto out;
	}
	rc = 1;
	switch (fmt) {
	case FMT_CSV:
		print_csv(&r);
		print_totals(&r, stderr, "rolehook: ");
		break;
	case FMT_TABLE:
		print_table(&r);
		break;
	case FMT_JSON:
		if (print_json(&r, isatty(STDOUT_FILENO)) != 0)
			goto out;
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rolehook: cannot write the report: %s\n",
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	seats_result_clear(&r);
	json_object_put(so.people);
	config_free(cfg);
	return rc;
}
