/*
 * plan.h -- desired access (from policy) against the current Zendesk
 * user becomes the ordered, minimal list of Zendesk writes (pure: no
 * I/O).  Semantics and examples: docs/policy.md "Plans".
 *
 * Inputs are JSON exactly as Zendesk returns it, all borrowed:
 *   current   {"user": {...}} from GET /api/v2/users/{id}.json, NULL when
 *             the person has no Zendesk user.  Optional members:
 *             "entitlements"      the private endpoint's body
 *                                 {"entitlements": {"chat": {"name":
 *                                 "agent", "is_active": true}, ...}} (the
 *                                 inner object alone is accepted too);
 *                                 absent = current product access unknown;
 *             "group_memberships" the body of GET /api/v2/users/{id}/
 *                                 group_memberships.json (or its array):
 *                                 [{"id", "group_id"}, ...]; absent =
 *                                 memberships unknown, and then no group
 *                                 write is planned (a note says so).
 *   roles     {"custom_roles": [{"id", "name"}, ...]} (GET
 *             /api/v2/custom_roles.json); needed whenever a custom role
 *             must be written: an unknown name is an error, never a
 *             fallback.
 *   groups    {"groups": [{"id", "name"}, ...]} (GET /api/v2/groups.json);
 *             NULL: no group write is planned (a note says so).
 *   snapshot  for a rehire: the `current` document as it was before the
 *             person left (same shape).  Untrusted (it is read from the
 *             store, which serve can write): it only narrows the matched
 *             rule's access, never widens it.  Role, custom role and
 *             suspension are the rule's; groups are the rule's groups the
 *             snapshot held (all of the rule's when it held none); a
 *             product the rule grants stays on only if the snapshot held
 *             it under the same name.  No rule matched, or a snapshot
 *             that does not parse: ignored, with a note.  What came from
 *             where, and what was dropped, is in plan.provenance.
 *
 * Errors: int 0/-1 plus a caller buffer that starts with the input at
 * fault: "current: user.id: expected a positive integer", "roles: custom
 * role \"Tier 1\" (rule tier1) is not in the list".
 */
#ifndef ROLEHOOK_PLAN_H
#define ROLEHOOK_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rolehook/policy.h"

struct json_object;
struct norm_event;

#define PLAN_ERRLEN 512
/* In the path and body of writes that follow a user creation: the
 * applier substitutes the id the POST /api/v2/users.json answer gives. */
#define PLAN_NEW_USER_ID "{new_user_id}"

struct plan_opts {
	int entitlements;                 /* zendesk.entitlements: private endpoint on */
	const enum policy_step *steps;    /* leaver order; NULL = the default three */
	size_t nsteps;
	int split_user_writes;            /* 1: one user PUT per change (role,
	                                   * suspended), as reconcile judges
	                                   * each field's drift on its own;
	                                   * 0: adjacent ones merged */
};

struct plan_write {
	const char *method;        /* "POST", "PUT" or "DELETE" (static) */
	char *path;                /* e.g. "/api/v2/users/42.json" */
	struct json_object *body;  /* owned; NULL for DELETE */
	const char *step;          /* create, unsuspend, role, group_add,
	                            * group_remove, entitlements,
	                            * entitlements_off, downgrade, suspend,
	                            * downgrade_suspend (one PUT of both) */
	int uses_new_id;           /* path/body carry PLAN_NEW_USER_ID */
};

struct plan {
	struct plan_write *writes;
	size_t nwrites;
	int seat_delta[POLICY_NPRODUCTS]; /* -1, 0 or +1 per product */
	char **notes;              /* report lines for people, e.g. why nothing */
	size_t nnotes;
	int64_t user_id;           /* current user id, 0 when absent */
	int restored;              /* 1: the rehire snapshot was used */
	/* When restored: what is restored, in the shape of
	 * policy_desired_to_json (names where the lists give them, else
	 * ids); owned, NULL otherwise. */
	struct json_object *restored_desired;
	/*
	 * When restored: where each restored value came from, for the audit
	 * trail and `rolehook why` (owned, NULL otherwise):
	 *   {"rule": "tier1",
	 *    "fields":  ["role: agent (rule tier1)",
	 *                "groups: [\"Tier 1\"] (snapshot, within rule tier1)", ...],
	 *    "ignored": ["snapshot role admin ignored: rule tier1 grants agent", ...]}
	 * Each line is also a note ("rehire: ...").  Snapshot strings in it
	 * are clipped to printable ASCII.  The worker adds "snapshot_at".
	 */
	struct json_object *provenance;
};

/*
 * Plans the writes that take the current user to d->desired for the
 * person in ev (kind and the email, name and external_id attributes
 * are read; borrowed).  A protected decision (d->is_protected) gives no
 * writes; the caller sets it for a current user whose own e-mail or
 * external id is protected too.  On success returns 0 and *out (caller
 * frees with plan_free); on failure -1, *out NULL, err filled.
 */
int plan_build(const struct policy_decision *d, const struct norm_event *ev,
    const struct json_object *current, const struct json_object *roles,
    const struct json_object *groups, const struct json_object *snapshot,
    const struct plan_opts *opts, struct plan **out, char *err,
    size_t errlen);

/* Frees p.  NULL is a no-op. */
void plan_free(struct plan *p);

/* New JSON array [{"method", "path", "body"}, ...] (caller puts it). */
struct json_object *plan_writes_to_json(const struct plan *p);

/* New JSON object {"support": n, "chat": n, ...} (caller puts it). */
struct json_object *plan_seat_delta_to_json(const int delta[POLICY_NPRODUCTS]);

/*
 * The Zendesk user inside a `current` document: returns the "user"
 * object (borrowed from doc) or NULL when doc has none.  *email and
 * *external_id (borrowed, may be NULL) are set for matching and for
 * policy_is_protected.
 */
const struct json_object *plan_user_of(const struct json_object *doc,
    const char **email, const char **external_id);

#endif
