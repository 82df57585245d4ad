/*
 * test_seats.c -- the seats engine reports through its callbacks, never
 * on its own: --people shape errors (table) are SEATS_INPUT with a note
 * naming the file and entry; a configuration without a zendesk section
 * is SEATS_INPUT; an unreachable Zendesk is SEATS_ZENDESK with a note
 * naming the base URL and what was being read.  Rows and totals against
 * a Zendesk are tests/integration/test_report_*.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/config.h"
#include "rolehook/seats.h"

/* No store file: the stored HR events are not read. */
#define BASE "{\"store\": {\"path\": \"/nonexistent/test_seats.db\"}, " \
    "\"sources\": {\"hr\": {\"preset\": \"bamboohr\", " \
    "\"secrets\": [\"env:RH_T_SEATS_HR\"]}}"

struct notes {
	char text[8][1024];
	size_t n;
	size_t listing;
};

static void
on_note(void *arg, const char *msg)
{
	struct notes *ns = arg;

	if (ns->n < 8)
		snprintf(ns->text[ns->n++], sizeof(ns->text[0]), "%s", msg);
}

static void
on_listing(void *arg, size_t fetched, int done)
{
	struct notes *ns = arg;

	(void)fetched;
	(void)done;
	ns->listing++;
}

static struct config *
load(const char *text)
{
	struct config *cfg = NULL;
	char err[CONFIG_ERRLEN];

	if (config_parse(text, strlen(text), "test.json", CONFIG_SECRETS_SKIP,
	    &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	return cfg;
}

static int
has_note(const struct notes *ns, const char *want)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strstr(ns->text[i], want) != NULL)
			return 1;
	return 0;
}

static void
test_people_errors(void **state)
{
	static const struct {
		const char *people, *want;
	} cases[] = {
		{ "{}", "--people P.json: expected a JSON array of people "
		    "(PEOPLE.json: {\"employee_id\", \"email\", "
		    "\"external_id\", \"employment_status\", ...})" },
		{ "[{\"email\": \"a@x\", \"first_name\": \"A\"}]",
		    "--people P.json: [0].first_name: unknown attribute; "
		    "expected employee_id, email, external_id, name, "
		    "department, title, location, employment_status, "
		    "manager_email, effective_at, custom.<key> or kind" },
		{ "[{\"kind\": \"fired\"}]", "--people P.json: [0].kind: "
		    "expected hire, update, terminate or rehire" },
		{ "[1]", "--people P.json: [0]: expected an object" },
		{ "[{\"email\": \"a@x\"}, {\"email\": 7}]",
		    "--people P.json: [1].email: expected a string" },
		{ "[{\"employment_status\": false}]",
		    "--people P.json: [0].employment_status: expected a string" },
	};
	struct config *cfg = load(BASE "}");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct notes ns;
		struct seats_report rep = { on_note, on_listing, NULL };
		struct seats_opts o;
		struct seats_result r;

		memset(&ns, 0, sizeof(ns));
		rep.arg = &ns;
		memset(&o, 0, sizeof(o));
		o.quiet = 1;
		o.people = json_tokener_parse(cases[i].people);
		o.people_name = "P.json";
		assert_non_null(o.people);
		assert_int_equal(seats_run(cfg, &o, &rep, &r), SEATS_INPUT);
		assert_int_equal(ns.n, 1);
		assert_string_equal(ns.text[0], cases[i].want);
		assert_null(r.rows);
		json_object_put(o.people);
	}
	config_free(cfg);
}

static void
test_no_zendesk_section(void **state)
{
	struct config *cfg = load(BASE "}");
	struct notes ns;
	struct seats_report rep = { on_note, NULL, NULL };
	struct seats_opts o;
	struct seats_result r;

	(void)state;
	memset(&ns, 0, sizeof(ns));
	rep.arg = &ns;
	memset(&o, 0, sizeof(o));
	o.quiet = 1;
	assert_int_equal(seats_run(cfg, &o, &rep, &r), SEATS_INPUT);
	assert_int_equal(ns.n, 1);
	assert_memory_equal(ns.text[0], "test.json: zendesk", 18);
	seats_result_clear(&r);
	config_free(cfg);
}

static void
test_unreachable_zendesk(void **state)
{
	struct config *cfg;
	struct notes ns;
	struct seats_report rep = { on_note, on_listing, NULL };
	struct seats_opts o;
	struct seats_result r;

	(void)state;
	setenv("RH_T_SEATS_ZD", "t0ken", 1);
	/* Port 9 (discard) on loopback: nothing listens there. */
	cfg = load(BASE ", \"zendesk\": {\"base_url\": \"http://127.0.0.1:9\", "
	    "\"allow_http_loopback\": true, \"connect_timeout_ms\": 500, "
	    "\"timeout_ms\": 1000, \"auth\": {\"email\": \"a@example.com\", "
	    "\"token\": \"env:RH_T_SEATS_ZD\"}}}");
	memset(&ns, 0, sizeof(ns));
	rep.arg = &ns;
	memset(&o, 0, sizeof(o));
	o.quiet = 1;
	assert_int_equal(seats_run(cfg, &o, &rep, &r), SEATS_ZENDESK);
	assert_true(has_note(&ns, "note: zendesk.entitlements is off"));
	assert_true(has_note(&ns, "http://127.0.0.1:9: listing agents and "
	    "admins: cannot reach Zendesk"));
	assert_int_equal(ns.listing, 0);   /* quiet: no listing progress */
	assert_null(r.rows);
	config_free(cfg);
}

static void
test_products(void **state)
{
	(void)state;
	assert_string_equal(seats_products[0], "support");
	assert_string_equal(seats_products[SEATS_NPRODUCTS - 1], "explore");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_people_errors),
		cmocka_unit_test(test_no_zendesk_section),
		cmocka_unit_test(test_unreachable_zendesk),
		cmocka_unit_test(test_products),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
