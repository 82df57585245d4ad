/*
 * policy.h -- the `policy` section of rolehook.json compiled into rules,
 * and a normalised person event evaluated into the desired Zendesk
 * access (pure: no I/O).  The rule language is in docs/policy.md.
 *
 * Errors follow config.h: int 0/-1 plus a caller buffer naming the JSON
 * path, e.g. "policy.rules[2].when.title: expected a string or an object
 * with one of in, prefix, suffix, contains, exists, not".
 *
 * A compiled struct policy is immutable and may be shared by threads;
 * policy_evaluate takes no lock and allocates nothing.
 */
#ifndef ROLEHOOK_POLICY_H
#define ROLEHOOK_POLICY_H

#include <stddef.h>

struct json_object;
struct norm_event;

#define POLICY_ERRLEN 512
#define POLICY_HASH_HEXLEN 64      /* SHA-256 as lower-case hex */
#define POLICY_MAX_RULES 10000
#define POLICY_MAX_KEYS 256        /* distinct attribute names in `when` */

/* Zendesk products with a seat, in the order they are printed. */
enum policy_product {
	POLICY_SUPPORT = 0,
	POLICY_CHAT,
	POLICY_TALK,
	POLICY_GUIDE,
	POLICY_EXPLORE,
	POLICY_NPRODUCTS
};

/* The leaver sequence (DESIGN.md "Zendesk specifics"). */
enum policy_step {
	POLICY_STEP_ENTITLEMENTS_OFF = 0,
	POLICY_STEP_DOWNGRADE,
	POLICY_STEP_SUSPEND
};
#define POLICY_NSTEPS 3

enum policy_ent_state {
	POLICY_ENT_UNMANAGED = 0,  /* leave whatever Zendesk has */
	POLICY_ENT_OFF,            /* is_active false */
	POLICY_ENT_ON              /* active with name */
};

struct policy_ent {
	enum policy_ent_state state;
	const char *name;          /* POLICY_ENT_ON: e.g. "agent"; borrowed */
};

/*
 * The access a person should have.  Every pointer is borrowed from the
 * struct policy (or is a static string) and lives as long as it.
 */
struct policy_desired {
	const char *role;          /* "end-user", "agent", "admin"; NULL = unmanaged */
	const char *custom_role;   /* custom role name, or NULL */
	const char *const *groups; /* group names */
	size_t ngroups;
	int groups_managed;        /* 0: memberships are left alone */
	struct policy_ent ent[POLICY_NPRODUCTS];
	int suspended;             /* -1 unmanaged, 0 active, 1 suspended */
};

struct policy_decision {
	const char *rule;          /* matched rule name, NULL if none (borrowed) */
	int is_protected;          /* 1: the person is in policy.protected */
	int leaver;                /* 1: kind "terminate" and no leaver rule */
	struct policy_desired desired;
	const char *policy_hash;   /* hex SHA-256 of the canonical policy (borrowed) */
};

/* What policy.limits holds; -1 where not set.  The worker enforces them. */
struct policy_limits {
	long downgrades_per_hour;
	long suspensions_per_hour;
	long changes_per_hour;
	long writes_per_minute;    /* cap on Zendesk writes (zd_opts.write_gov) */
};

/* policy.drift: what reconcile does when Zendesk differs, per field. */
enum policy_drift {
	POLICY_DRIFT_REVERT = 0,   /* report; --fix puts it back (default) */
	POLICY_DRIFT_ALERT,        /* report only, never fixed */
	POLICY_DRIFT_ACCEPT        /* ignored */
};
enum policy_drift_field {
	POLICY_FIELD_ROLE = 0,
	POLICY_FIELD_CUSTOM_ROLE,
	POLICY_FIELD_GROUPS,
	POLICY_FIELD_ENTITLEMENTS,
	POLICY_FIELD_SUSPENDED,
	POLICY_NDRIFT
};

struct policy;

/* The drift mode of a field (POLICY_DRIFT_REVERT unless configured). */
enum policy_drift policy_drift_mode(const struct policy *p,
    enum policy_drift_field f);

/*
 * Compiles the `policy` object (borrowed; nothing is kept pointing into
 * it).  On success returns 0 and *out (caller frees with policy_free);
 * on failure -1, *out NULL, and err holds "policy.PATH: what was
 * expected".
 */
int policy_compile(const struct json_object *policy, struct policy **out,
    char *err, size_t errlen);

/* Frees p.  NULL is a no-op. */
void policy_free(struct policy *p);

/*
 * Evaluates ev against p.  Always succeeds and allocates nothing: *out
 * borrows from p (strings, groups, hash).  Rules without a `kind`
 * condition apply to hire, update and rehire events only; a terminate
 * event that no kind-rule matches gets the leaver state (leaver = 1);
 * zendesk.* and ignored events that no kind-rule matches get nothing
 * managed (rule NULL).
 */
void policy_evaluate(const struct policy *p, const struct norm_event *ev,
    struct policy_decision *out);

/*
 * Returns 1 when any of email (case-insensitive), external_id or
 * subject (exact) is listed in policy.protected, else 0.  Each argument
 * may be NULL.
 */
int policy_is_protected(const struct policy *p, const char *email,
    const char *external_id, const char *subject);

/* Warnings from policy_check: one message, borrowed for the call only. */
typedef void (*policy_warn_fn)(void *arg, const char *msg);

/*
 * Checks p against what Zendesk has: roles (custom role names) and
 * groups (group names), each NULL to skip that check.  Unknown names are
 * errors naming the rule ("policy.rules[1] (leads): custom role 'Team
 * lead' does not exist in Zendesk"), every one of them: the first in
 * full, the others after it ("; also unknown: policy.rules[2] (x):
 * group \"Y\", ...", as far as errlen allows).  Rules that can never
 * match (after a catch-all, or with the same `when` as an earlier rule)
 * are reported through warn (may be NULL).  Returns 0, or -1 with err
 * filled.
 */
int policy_check(const struct policy *p, const char *const *roles,
    size_t nroles, const char *const *groups, size_t ngroups,
    policy_warn_fn warn, void *arg, char *err, size_t errlen);

/* Hex SHA-256 of the canonical policy JSON.  Borrowed. */
const char *policy_hash(const struct policy *p);

/* Number of rules. */
size_t policy_nrules(const struct policy *p);

/*
 * The custom role rule i names (then.custom_role), or NULL when it names
 * none or i >= policy_nrules(p); *rule, when rule is not NULL, receives
 * the rule's name (NULL when i is out of range).  Both are borrowed from
 * p.  The rules are the only part of a policy that names a custom role:
 * the leaver state is end-user, and a rehire takes the rule's custom
 * role, never the snapshot's (docs/policy.md, "Rehires").
 */
const char *policy_rule_custom_role(const struct policy *p, size_t i,
    const char **rule);

/* The leaver steps in configured order; *n receives their count. */
const enum policy_step *policy_leaver_steps(const struct policy *p,
    size_t *n);

/*
 * policy.match_users_by: "external_id" and/or "email" in order; *n
 * receives the count (default both, external_id first).  Borrowed.
 */
const char *const *policy_match_users_by(const struct policy *p, size_t *n);

/* policy.rehire_window_days (default 90). */
int policy_rehire_window_days(const struct policy *p);

/* policy.limits.  Borrowed. */
const struct policy_limits *policy_limits(const struct policy *p);

/* "support", "chat", "talk", "guide", "explore"; NULL when out of range. */
const char *policy_product_name(enum policy_product prod);

/* "entitlements_off", "downgrade", "suspend". */
const char *policy_step_name(enum policy_step step);

/*
 * Canonical JSON text of v: json-c's plain serialisation (no spaces)
 * with object keys sorted bytewise at every level.  Returns a string the
 * caller frees, or NULL when out of memory.
 */
char *policy_canonical_json(const struct json_object *v);

/*
 * Returns a new JSON object (caller puts it) for d in the shape
 * `simulate` prints under "desired": {"role", "custom_role", "groups",
 * "entitlements", "suspended"}; unmanaged members are null
 * (entitlements lists managed products only, false when off).
 */
struct json_object *policy_desired_to_json(const struct policy_desired *d);

#endif
