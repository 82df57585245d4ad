/*
 * roles.h -- custom agent roles (`rolehook roles sync`): the
 * "custom_roles" the configuration declares, checked against the Custom
 * Agent Roles API ("Custom Agent Roles", Zendesk Support API), and the
 * engine that makes Zendesk's roles match them.
 *
 * roles_check is pure and is what config.c calls while loading, so every
 * command sees the same custom_roles errors.  roles_plan_make is pure
 * too: declarations + Zendesk's list (+ the policy, for what a prune
 * must keep) -> one step per role.  roles_sync
 * reads Zendesk, plans and applies; it prints nothing: notes and each
 * role's outcome go to the caller through struct roles_report, the steps
 * and counts come back in struct roles_result.
 */
#ifndef ROLEHOOK_ROLES_H
#define ROLEHOOK_ROLES_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct json_object;
struct policy;
struct roles_decl;
struct zd_client;

#define ROLES_MAX 1000          /* declarations at most */
#define ROLES_NAME_MAX 255      /* bytes of a role name */
#define ROLES_CHANGES_LEN 768
#define ROLES_ERRLEN 1024   /* the URL, ZD_ERRLEN of reason, advice */

/* What a step does.  roles_act_names[] spells them. */
enum roles_act {
	ROLES_CREATE,            /* declared, not in Zendesk */
	ROLES_UPDATE,            /* declared, differs */
	ROLES_UNCHANGED,         /* declared, matches */
	ROLES_EXTRA,             /* in Zendesk only; kept */
	ROLES_DELETE,            /* in Zendesk only, no agent: --prune */
	ROLES_REFUSE,            /* --prune, but agents hold it (or unknown),
	                          * or a policy rule names it */
	ROLES_NACT
};

/* "create", "update", "unchanged", "extra", "delete", "refuse". */
extern const char *const roles_act_names[ROLES_NACT];

struct roles_step {
	enum roles_act act;
	const char *name;          /* borrowed from the plan's inputs */
	int64_t id;                /* Zendesk's id; 0 until known */
	long members;              /* team_member_count; -1 unknown */
	/* "description; configuration.x: a -> b", or a note ("built-in
	 * (role_type 1); never pruned"); "" when none */
	char changes[ROLES_CHANGES_LEN];
	const char *status;        /* "planned", "done", "failed", "skipped" */
	char error[ROLES_ERRLEN];  /* why failed or refused; "" otherwise */
	const struct roles_decl *decl;       /* private: NULL unless declared */
	const struct json_object *have;      /* private: Zendesk's role */
};

struct roles_plan {
	struct roles_step *steps;  /* declared roles in order, then extras */
	size_t nsteps;
	/* private */
	struct roles_decl *decls;
	size_t ndecls;
	struct json_object *declared, *list;   /* references held */
};

/*
 * Checks a "custom_roles" value (borrowed) as the Custom Agent Roles API
 * takes it: an array of at most ROLES_MAX objects {"name" (non-blank, at
 * most ROLES_NAME_MAX bytes, unique ignoring case), "description"
 * (string), "configuration" (object of the API's keys: booleans or one
 * of the allowed strings; never a read-only key)}.  Calls problem, when
 * not NULL, once per problem with one line such as
 * `custom_roles[1] ("Chatty"): configuration.chat_access is read-only
 * ...` (borrowed for the call).  Returns the number of problems (0: fine;
 * an empty array is fine).
 */
size_t roles_check(const struct json_object *declared,
    void (*problem)(void *arg, const char *msg), void *arg);

/*
 * The plan (pure): declared (a custom_roles value roles_check accepts,
 * not empty) against list (the custom_roles array of GET
 * /api/v2/custom_roles.json).  Roles match by name, ignoring case; only
 * the keys a declaration names are compared.  Zendesk's roles not
 * declared are ROLES_EXTRA; with prune those no agent holds and no rule
 * of pol names (then.custom_role, ignoring case) are ROLES_DELETE and
 * the others ROLES_REFUSE, the error naming the first such rule (never
 * a built-in role, role_type other than 0).  pol is borrowed for the
 * call; NULL: no rule names a role.  Takes a reference on declared and
 * list (the steps borrow from them).  Returns 0 and *out (free with
 * roles_plan_clear), or -1 (declarations invalid or out of memory) with
 * *out empty.
 */
int roles_plan_make(struct json_object *declared, struct json_object *list,
    int prune, const struct policy *pol, struct roles_plan *out);

/* Frees what *p owns and zeroes it.  Safe on a zeroed struct. */
void roles_plan_clear(struct roles_plan *p);

struct roles_report {
	/* A note or an error, one line without the "rolehook: " prefix
	 * ("FILE: custom_roles: nothing declared ...", "https://x: listing
	 * custom roles: cannot reach Zendesk ...").  May be NULL. */
	void (*note)(void *arg, const char *msg);
	/* Each step once its outcome is final (after its write, if any), in
	 * plan order.  May be NULL. */
	void (*step)(void *arg, const struct roles_step *st);
	void *arg;
};

/*
 * Applies p's create, update and delete steps through zd (base_url for
 * messages), reporting every step through rep; zd NULL is a dry run:
 * every step reported, nothing written.  A refused credential or
 * an unreachable Zendesk marks the rest "skipped"; other failures are
 * per step.  Returns 0 (failures are in the steps), or -1 out of memory.
 */
int roles_apply(struct roles_plan *p, struct zd_client *zd,
    const char *base_url, const struct roles_report *rep);

enum roles_status {
	ROLES_OK = 0,       /* planned (and applied): see the steps */
	ROLES_ZENDESK = 1,  /* could not list the roles, or out of memory */
	ROLES_INPUT = 2     /* nothing declared, the zendesk section, or
	                     * (prune) a policy that does not compile */
};

struct roles_opts {
	int dry_run;        /* plan only, write nothing */
	int prune;          /* delete extra roles no agent holds and no
	                     * policy rule names */
};

struct roles_result {
	struct roles_plan plan;
	long count[ROLES_NACT];   /* steps per action */
	long failed;              /* steps failed or skipped */
};

/*
 * rolehook roles sync with cfg's custom_roles and zendesk sections
 * (custom_roles was checked when cfg was loaded) and, with o->prune,
 * its policy section when there is one (compiled here, before any
 * request: the roles its rules name are never pruned).  Every request goes
 * through one rate governor, waiting as long as it says.  Returns
 * ROLES_OK and *out (free with roles_result_clear), or another status
 * with the reason reported through rep->note.
 */
enum roles_status roles_sync(const struct config *cfg,
    const struct roles_opts *o, const struct roles_report *rep,
    struct roles_result *out);

/* Frees what *r owns and zeroes it.  Safe on a zeroed struct. */
void roles_result_clear(struct roles_result *r);

#endif
