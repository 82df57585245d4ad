/*
 * decide.h -- the one decide path: a stored event (or a body and its
 * source) -> normalised events, one per person of a batch -> the policy
 * decision with the protected check -> the plan (pure: no I/O).
 *
 * `work`, `simulate`, `events replay` and `reconcile` all decide through
 * here, so a person is protected, matched and planned the same way
 * whether the change is applied, previewed or checked for drift.
 *
 * Errors: int 0/-1 plus a caller buffer (config.h style), the message
 * naming the stage ("normaliser bamboohr: ...", "source ...").
 */
#ifndef ROLEHOOK_DECIDE_H
#define ROLEHOOK_DECIDE_H

#include <stddef.h>
#include <time.h>

struct config;
struct json_object;
struct norm_event;
struct plan;
struct plan_opts;
struct policy;
struct policy_decision;
struct store_event;
struct store_subject;

#define DECIDE_ERRLEN 640

/*
 * The normaliser of cfg's source named source and its "mapping" object
 * (*mapping borrowed from cfg, NULL when the source has none).  Returns
 * the normaliser name (borrowed), or NULL when cfg has no such source.
 */
const char *decide_normalizer(const struct config *cfg, const char *source,
    const struct json_object **mapping);

/*
 * Normalises entry index (0-based) of body[0..len), a delivery of cfg's
 * source named source; signed_at as normalize() takes it.  *count (may
 * be NULL) gets the number of people the body holds when it parsed that
 * far (1 otherwise).  Returns 0 and *ev (caller frees with
 * norm_event_clear), or -1 with *ev zeroed and err "source \"S\" is not
 * in the configuration any more" or "normaliser N: ...".
 */
int decide_body(const struct config *cfg, const char *source,
    const char *body, size_t len, time_t signed_at, size_t index,
    struct norm_event *ev, size_t *count, char *err, size_t errlen);

/*
 * A stored event normalised with its source's normaliser: the child of
 * a split batch as its own entry, any other event as a whole.  An
 * unsplit event holding more than one person fails ("a batch of N
 * people not split into one event each"; *count says N: the worker
 * splits it with store_split).  row is borrowed.  Same contract as
 * decide_body otherwise.
 */
int decide_event(const struct config *cfg, const struct store_event *row,
    struct norm_event *ev, size_t *count, char *err, size_t errlen);

/*
 * Called by decide_each for entry index of count; ev is borrowed for the
 * call.  A non-zero return stops the walk and is returned.
 */
typedef int (*decide_person_fn)(void *arg, size_t index, size_t count,
    const struct norm_event *ev);

/*
 * Every person of body[0..len) in entry order (one for a sender that
 * does not batch), each normalised as decide_body does and handed to
 * fn.  Returns 0 when fn saw them all, fn's non-zero return, or -1 with
 * err filled when an entry does not normalise (entries before it were
 * handed over).
 */
int decide_each(const struct config *cfg, const char *source,
    const char *body, size_t len, time_t signed_at, decide_person_fn fn,
    void *arg, char *err, size_t errlen);

/*
 * A person event the worker acts on through policy: not "ignored", not
 * a Zendesk event, and naming somebody.  Returns 1 or 0.
 */
int decide_is_person(const struct norm_event *ev);

/* Why a thin event is not applied: `work`'s outcome note for it. */
#define DECIDE_THIN_REASON "thin event (ids only): the sender did not " \
	"say what changed; nothing to apply"

/*
 * A person event (decide_is_person) that the policy does not decide
 * because the sender said who changed but not what (completeness
 * NORM_IDS_ONLY: every Gusto and Finch event, HiBob joined, ...;
 * docs/normalizers.md): rules evaluated on its ids alone could match a
 * catch-all rule and take the person's access away.  A terminate
 * is not thin here: the leaver steps need no attributes.  `work`
 * finishes such an event "ignored", `simulate` prints it without
 * writes, `events replay --policy` leaves it out and `reconcile` does
 * not check the person.  Returns 1 with *why (when why is not NULL) the
 * reason, DECIDE_THIN_REASON (static); else 0 with *why NULL.
 */
int decide_is_thin(const struct norm_event *ev, const char **why);

/*
 * The keys that find ev's person in Zendesk, as policy.match_users_by
 * allows them: *external_id (the external_id attribute, else
 * employee_id) and *email, each borrowed from ev or NULL.
 */
void decide_match_keys(const struct policy *pol, const struct norm_event *ev,
    const char **external_id, const char **email);

/*
 * The policy decision for ev (policy_evaluate), protected when any of
 * the event's subject, email or external_id, or the current Zendesk
 * user's email or external_id (current: a plan.h `current` document,
 * NULL when the person has no user) is in policy.protected.  *d borrows
 * from pol.
 */
void decide_policy(const struct policy *pol, const struct norm_event *ev,
    const struct json_object *current, struct policy_decision *d);

/*
 * decide_policy, then plan_build with the same inputs (all borrowed;
 * see plan.h).  *d is filled in either case.  Returns 0 and *out (caller
 * frees with plan_free), or -1 with *out NULL and err as plan_build
 * fills it (starting with the input at fault, "roles: ...").
 */
int decide_plan(const struct policy *pol, const struct norm_event *ev,
    const struct json_object *current, const struct json_object *roles,
    const struct json_object *groups, const struct json_object *snapshot,
    const struct plan_opts *opts, struct policy_decision *d,
    struct plan **out, char *err, size_t errlen);

/*
 * The signed time that places ev among the person's events: its
 * effective date, else its occurred time (the signed body's, or the
 * signed timestamp header's), else 0 (none).  Never the receive time.
 */
time_t decide_time(const struct norm_event *ev);

enum decide_order {
	DECIDE_APPLY = 0,          /* in order: apply it */
	DECIDE_STALE,              /* out of order: state "stale" */
	DECIDE_LEFT,               /* the person has left: state "ignored" */
	DECIDE_REHIRE              /* an update that ends the person's leave
	                            * (employment_status "active"): apply it
	                            * as a rehire */
};

/*
 * The ordering rule (docs/architecture.md, "Ordering rule" and "Leave
 * and hire"): whether event id, normalised as ev, may be applied after
 * what subj (the person's stored state; a zeroed struct for nobody yet)
 * says was applied.  Leave and hire are ordered by when they were
 * decided (the signed occurred time; the arrival order where either has
 * none or both the same second): a terminate is never stale by date,
 * only when a hire or rehire decided after it was applied; once a leave
 * is applied, an update gives no access back (DECIDE_LEFT) unless it
 * says the person is active again (employment_status "active";
 * DECIDE_REHIRE), and only a hire, rehire or such an update decided
 * after the leave does.
 * Other events are stale when more than a day older (by decide_time)
 * than the newest applied, or when they carry no signed time after one
 * that did.  note (when not APPLY) says why.
 */
enum decide_order decide_order(const struct store_subject *subj,
    const struct norm_event *ev, int64_t id, char *note, size_t notelen);

/* How an applied event was taken (decide_applied's how). */
#define DECIDE_AS_LEAVER 1  /* the policy gave a terminate the leaver
                             * state (policy_decision.leaver) */
#define DECIDE_AS_HIRE 2    /* an operator approved an update of a
                             * leaver: it gives access back */

/*
 * The person's state after event id (ev) was applied, from old (both
 * borrowed; snapshot strings are not touched): the last event and
 * signed time, and the leave and hire as decide_order reads them.  A
 * terminate is a leave only with DECIDE_AS_LEAVER (a kind-rule that
 * keeps access, a legal hold, is not); a hire, a rehire, an update to
 * an active status, or any event with DECIDE_AS_HIRE ends a leave.
 */
void decide_applied(const struct store_subject *old,
    const struct norm_event *ev, int64_t id, int how,
    struct store_subject *out);

#endif
