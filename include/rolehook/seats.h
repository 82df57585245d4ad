/*
 * seats.h -- seat analysis (`rolehook report seats`): who holds a
 * Zendesk seat, with which role, custom role, groups and product
 * entitlements, and which of those seats look wasted (suspended agents,
 * people HR says have left).
 *
 * Reads only, every request through one rate governor.  The engine
 * prints nothing but the bulk estimate and progress (bulk.h, stderr,
 * unless quiet); notes and errors go to the caller through struct
 * seats_report, the rows and totals come back in struct seats_result.
 */
#ifndef ROLEHOOK_SEATS_H
#define ROLEHOOK_SEATS_H

#include <stddef.h>

struct config;
struct json_object;

#define SEATS_NPRODUCTS 5

/* "support", "chat", "talk", "guide", "explore": the product columns. */
extern const char *const seats_products[SEATS_NPRODUCTS];

/* seats_run's results. */
enum seats_status {
	SEATS_OK = 0,
	SEATS_ZENDESK = 1,   /* Zendesk failed or refused (a note says why) */
	SEATS_INPUT = 2      /* configuration or --people error */
};

struct seats_opts {
	/* An HR export: PEOPLE.json (people.h; {"email", "external_id",
	 * "employment_status"} entries are people too), borrowed, may be
	 * NULL.  People of kind terminate, or employment_status terminated
	 * or inactive, are flagged left_per_hr (matched by e-mail, external
	 * id or employee id). */
	struct json_object *people;
	const char *people_name;   /* its file, for messages */
	int quiet;                 /* no estimate, no progress */
};

struct seats_report {
	/*
	 * A note or an error, one line without the "rolehook: " prefix or
	 * newline ("note: groups not readable (...)", "https://x: listing
	 * agents and admins: Zendesk refused the credential ...").  May be
	 * NULL.
	 */
	void (*note)(void *arg, const char *msg);
	/* While agents are listed: how many so far; done at the end.  Only
	 * on a terminal (not quiet).  May be NULL. */
	void (*listing)(void *arg, size_t fetched, int done);
	void *arg;
};

struct seats_result {
	/* One object per agent or admin, sorted by id: {"id", "email",
	 * "name", "role", "custom_role", "groups", "suspended",
	 * "last_login_at", "entitlements": {product: name or null},
	 * "flags": [...]}.  Owned. */
	struct json_object *rows;
	long totals[SEATS_NPRODUCTS]; /* seats per product */
	int entitlements;          /* product access was read */
	long n_agent, n_admin, n_suspended;
	long n_flag_susp, n_flag_left;
};

/*
 * Runs the analysis with cfg's zendesk section (and the store's HR
 * events, when store.path exists).  Returns SEATS_OK and *out (free with
 * seats_result_clear), or another status with the reason reported
 * through rep->note and *out empty.
 */
enum seats_status seats_run(const struct config *cfg,
    const struct seats_opts *o, const struct seats_report *rep,
    struct seats_result *out);

/* Frees what *r owns and zeroes it.  Safe on a zeroed struct. */
void seats_result_clear(struct seats_result *r);

#endif
