/*
 * reconcile.h -- rolehook reconcile: for each person, the plan from
 * fresh Zendesk state is the drift (docs/operations.md, "Drift").
 *
 * People come from the store (each person's newest finished event: their
 * last known HR state) or from an HR export (PEOPLE.json, people.h).
 * A person whose newest event is thin (decide_is_thin: work ignores it)
 * is not checked: the rules would see ids alone.
 * Each is decided on the one decide path (decide.h) and read into the
 * `current` document `work` would read -- in bulk where Zendesk allows
 * it: users by external id 100 at a time (show_many), every group
 * membership from one listing taken at the start --; plan writes become
 * drift fields with the mode policy.drift gives them (revert, alert;
 * accept is left out).
 * With fix, people whose drift is all "revert" get that event back to
 * pending, for work to apply and audit.
 *
 * The engine prints nothing but the bulk estimate and progress (bulk.h,
 * stderr, unless quiet); drift lines, problems and counts go to the
 * caller through struct reconcile_report.
 */
#ifndef ROLEHOOK_RECONCILE_H
#define ROLEHOOK_RECONCILE_H

#include <stddef.h>

struct config;
struct json_object;
struct plan;
struct plan_write;
struct policy;

struct reconcile_opts {
	int fix;              /* queue drifted people for work */
	const char *field;    /* only this field ("role", ...), or NULL */
	struct json_object *people; /* an HR export (array) instead of the
	                       * stored events; report only; borrowed */
	int quiet;            /* no estimate, no progress on stderr */
};

struct reconcile_counts {
	long people;          /* checked */
	long drifted;         /* with drift in a reported field */
	long queued;          /* --fix: requeued for work */
	long needs;           /* --fix: drift left to a person */
	long failed;          /* could not be read or planned */
	long thin;            /* not checked: their newest event is thin
	                       * (decide_is_thin), which work ignores */
};

/*
 * How the engine reports; each function may be NULL.  They are called
 * one at a time (under the engine's lock), from its pool threads.
 */
struct reconcile_report {
	/*
	 * One drifted person as one line of JSON (no newline): {"subject",
	 * "email", "zendesk_user", "event_id", "rule", "drift": [{"field",
	 * "mode", "method", "path", "body"}], "fix"}; in input order.
	 */
	void (*drift)(void *arg, const char *line);
	/* A person that was not checked: "SUBJECT: find user: ...",
	 * "SUBJECT: plan: ..." or "people[3].title: expected a string"
	 * (counted failed), or "SUBJECT: not checked: its newest event is
	 * a thin event (ids only): ..." (counted thin). */
	void (*problem)(void *arg, const char *msg);
	void *arg;
	int drift_on_tty;     /* drift lines go to the terminal that shows
	                       * the progress: end its line first */
	/* About the run, not a person: "note: cannot list all group
	 * memberships (...): reading them per person". */
	void (*note)(void *arg, const char *msg);
};

/*
 * Runs reconcile with cfg's policy and zendesk sections.  Returns 0 with
 * *n filled (also when people failed: n->failed); -2 when the
 * configuration is wrong (err filled, naming the file: no policy, a
 * policy error, the zendesk section or its credential); or -1 when it
 * cannot start otherwise (err filled: store, Zendesk).
 */
int reconcile_run(const struct config *cfg, const struct reconcile_opts *o,
    const struct reconcile_report *rep, struct reconcile_counts *n,
    char *err, size_t errlen);

/* Drift fields, in policy_drift_field order: "role", "custom_role",
 * "groups", "entitlements", "suspended"; NULL-terminated. */
extern const char *const reconcile_fields[];

/*
 * Which drift field (enum policy_drift_field) planned write pw changes,
 * user being the current Zendesk user object (borrowed, may be NULL): a
 * role write that keeps the role changes the custom role only.
 */
int reconcile_write_field(const struct plan_write *pw,
    const struct json_object *user);

/*
 * The drift in one person's plan (pure): a new JSON array (caller puts
 * it) of {"field", "mode", "method", "path", "body"}, one per write in a
 * field policy.drift does not accept (and, when field is not NULL, in
 * that field only); *revert and *alert count them by mode.  pol, pl and
 * user (the current Zendesk user object, may be NULL) are borrowed.
 */
struct json_object *reconcile_drift(const struct policy *pol,
    const struct plan *pl, const struct json_object *user, const char *field,
    int *revert, int *alert);

/*
 * How many users of a show_many answer users (array, borrowed) have
 * external id xid (exact, as the external_id search matches; the same
 * user twice counts once); with exactly one, *user is a copy of it (the
 * caller puts it; NULL out of memory), else *user is NULL (0: nobody,
 * look the person up by e-mail; more: ambiguous, as zd_find_user says).
 * The copy shares nothing with users: people of one external id are
 * planned on several threads at once, and json-c's reference counts are
 * not atomic.  Pure.
 */
size_t reconcile_match(const struct json_object *users, const char *xid,
    struct json_object **user);

/*
 * How many user objects of a show_many answer users (array, borrowed)
 * have an external id none of keys[0..n) (what was asked) names exactly:
 * an answer that matched some other way (a case fold, say), where an
 * absent key need not mean that nobody has it.  Pure.
 */
size_t reconcile_unclaimed(const struct json_object *users,
    char *const *keys, size_t n);

/*
 * How many of keys[0..n) (external ids, each zd_show_many_key) go in the
 * next show_many: at most ZD_SHOW_MANY_MAX, and no more escaped bytes
 * than fit in the request URL; at least 1 when n > 0.  Pure.
 */
size_t reconcile_batch(char *const *keys, size_t n);

#endif
