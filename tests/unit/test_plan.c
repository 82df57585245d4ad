/*
 * test_plan.c -- plan_build: one table of (event, current Zendesk user,
 * options) -> exact ordered writes, seat delta and notes.  Covers no-op,
 * movers, the leaver sequence in default and configured order, steps
 * already done, protected people, the entitlements switch, absent users
 * on hire and terminate, rehire with and without a snapshot, unknown
 * custom roles and groups, and malformed inputs.
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

#include "rolehook/normalize.h"
#include "rolehook/plan.h"
#include "rolehook/policy.h"

static const char policy_json[] =
    "{\"protected\":[\"owner@example.com\"],\"rules\":["
    "{\"name\":\"tier1\",\"when\":{\"department\":\"Support\",\"title\":"
    "{\"prefix\":\"Associate\"}},\"then\":{\"role\":\"agent\",\"custom_role\":"
    "\"Tier 1\",\"groups\":[\"Tier 1\"],\"entitlements\":{\"talk\":\"agent\","
    "\"chat\":\"agent\"}}},"
    "{\"name\":\"leads\",\"when\":{\"department\":\"Support\",\"title\":"
    "{\"in\":[\"Lead\",\"Manager\"]}},\"then\":{\"role\":\"agent\","
    "\"custom_role\":\"Team lead\",\"groups\":[\"Leads\"],\"entitlements\":"
    "{\"explore\":\"editor\"}}},"
    "{\"name\":\"admins\",\"when\":{\"title\":\"CTO\"},\"then\":{\"role\":"
    "\"admin\"}},"
    "{\"name\":\"others\",\"when\":{},\"then\":{\"role\":\"end-user\"}}]}";

static const char roles_json[] = "{\"custom_roles\":[{\"id\":101,\"name\":"
    "\"Tier 1\",\"role_type\":0},{\"id\":102,\"name\":\"Team lead\"}]}";
static const char roles_no_lead[] = "{\"custom_roles\":[{\"id\":101,"
    "\"name\":\"Tier 1\"}]}";
static const char groups_json[] = "{\"groups\":[{\"id\":201,\"name\":"
    "\"Tier 1\"},{\"id\":202,\"name\":\"Leads\"}]}";

/* A Tier 1 agent exactly as policy wants them. */
#define CUR_T1 "{\"user\":{\"id\":42,\"email\":\"ann@example.com\","      \
    "\"role\":\"agent\",\"custom_role_id\":101,\"suspended\":false},"      \
    "\"entitlements\":{\"entitlements\":{\"support\":{\"name\":"           \
    "\"custom_101\"},\"chat\":{\"name\":\"agent\",\"is_active\":true},"    \
    "\"talk\":{\"name\":\"agent\",\"is_active\":true},\"guide\":{\"name\":"\
    "\"viewer\",\"is_active\":false}}},"                                   \
    "\"group_memberships\":[{\"id\":9001,\"user_id\":42,\"group_id\":201}]}"
/* The same agent as the official GET /api/v2/users/{id}/entitlements/full
 * shows it: no "support" key (Support is role + custom_role_id). */
#define CUR_T1_FULL "{\"user\":{\"id\":42,\"email\":\"ann@example.com\"," \
    "\"role\":\"agent\",\"custom_role_id\":101,\"suspended\":false},"      \
    "\"entitlements\":{\"entitlements\":{\"chat\":{\"name\":\"agent\","     \
    "\"is_active\":true},\"talk\":{\"name\":\"agent\",\"is_active\":true},"  \
    "\"guide\":{\"name\":\"viewer\",\"is_active\":false}}},"               \
    "\"group_memberships\":[{\"id\":9001,\"user_id\":42,\"group_id\":201}]}"
/* The same agent with unknown product access and memberships. */
#define CUR_T1_BARE "{\"user\":{\"id\":42,\"role\":\"agent\","             \
    "\"custom_role_id\":101}}"
#define CUR_EU "{\"user\":{\"id\":42,\"role\":\"end-user\","               \
    "\"custom_role_id\":null,\"suspended\":false}}"
#define CUR_EU_SUSP "{\"user\":{\"id\":42,\"role\":\"end-user\","          \
    "\"suspended\":true},\"entitlements\":{\"chat\":{\"name\":\"agent\","  \
    "\"is_active\":false}},\"group_memberships\":{\"group_memberships\":[]}}"

/*
 * Rehire snapshots as a compromised store writer could plant them
 * (subjects.snapshot): more than any rule grants Ann (an Associate:
 * rule tier1 = agent, "Tier 1", group Tier 1, chat and talk "agent").
 */
#define SNAP_ADMIN "{\"user\":{\"id\":42,\"role\":\"admin\","          \
    "\"custom_role_id\":102},\"entitlements\":{\"chat\":{\"name\":"     \
    "\"agent\",\"is_active\":true},\"talk\":{\"name\":\"agent\","       \
    "\"is_active\":true},\"explore\":{\"name\":\"admin\",\"is_active\":"\
    "true},\"guide\":{\"name\":\"admin\",\"is_active\":true}},"         \
    "\"group_memberships\":[{\"id\":1,\"group_id\":201},{\"id\":2,"      \
    "\"group_id\":202}]}"
/* A plain agent, but with a group and a chat level tier1 does not give. */
#define SNAP_EXTRA "{\"user\":{\"id\":42,\"role\":\"agent\","          \
    "\"custom_role_id\":101},\"entitlements\":{\"chat\":{\"name\":"     \
    "\"admin\",\"is_active\":true}},\"group_memberships\":[{\"id\":1,"   \
    "\"group_id\":201},{\"id\":2,\"group_id\":202}]}"
/* Tier 1 as held, without Talk: a legit snapshot narrower than tier1. */
#define SNAP_T1_NO_TALK "{\"user\":{\"id\":42,\"role\":\"agent\","     \
    "\"custom_role_id\":101},\"entitlements\":{\"chat\":{\"name\":"     \
    "\"agent\",\"is_active\":true},\"talk\":{\"name\":\"agent\","       \
    "\"is_active\":false}},\"group_memberships\":[{\"id\":1,"            \
    "\"group_id\":201}]}"

/* What a rehire by rule tier1 writes to CUR_EU_SUSP (talk optional). */
/* Role, custom role and unsuspension in one PUT, then the membership. */
#define W_T1_REHIRE(ents) "["                                              \
    "{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"   \
    "{\"user\":{\"role\":\"agent\",\"custom_role_id\":101,"              \
    "\"suspended\":false}}},"                                              \
    "{\"method\":\"POST\",\"path\":\"/api/v2/group_memberships.json\","   \
    "\"body\":{\"group_membership\":{\"user_id\":42,\"group_id\":201}}}," \
    "{\"method\":\"PUT\",\"path\":\"/api/admin/private/staff/42/"         \
    "entitlements\",\"body\":{\"entitlements\":{" ents "}}}]"
#define E_CHAT "\"chat\":{\"name\":\"agent\",\"is_active\":true}"
#define E_TALK "\"talk\":{\"name\":\"agent\",\"is_active\":true}"

#define W_ROLE_EU "{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\","\
    "\"body\":{\"user\":{\"role\":\"end-user\"}}}"
/* The leaver's downgrade and suspension as one PUT. */
#define W_ROLE_EU_SUSP "{\"method\":\"PUT\",\"path\":"                      \
    "\"/api/v2/users/42.json\",\"body\":{\"user\":{\"role\":\"end-user\","  \
    "\"suspended\":true}}}"
#define W_SUSPEND "{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\"," \
    "\"body\":{\"user\":{\"suspended\":true}}}"
#define W_UNSUSPEND "{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\","\
    "\"body\":{\"user\":{\"suspended\":false}}}"
#define W_ENT_OFF "{\"method\":\"PUT\",\"path\":"                          \
    "\"/api/admin/private/staff/42/entitlements\",\"body\":{"             \
    "\"entitlements\":{\"chat\":{\"name\":\"agent\",\"is_active\":false},"\
    "\"talk\":{\"name\":\"agent\",\"is_active\":false}}}}"

enum { ENT_OFF = 0, ENT_ON = 1 };

struct pcase {
	const char *name;
	const char *kind;
	const char *title;          /* department is Support unless dept set */
	const char *dept;
	const char *email;
	const char *current;        /* NULL: no Zendesk user */
	const char *snapshot;
	const char *roles;          /* NULL: no roles list */
	const char *groups;
	int entitlements;
	const char *steps;          /* e.g. "sdx": s=suspend d=downgrade x=ent off */
	int rc;
	const char *writes;         /* expected JSON array, or error text */
	int delta[POLICY_NPRODUCTS];
	const char *note;           /* a substring of some note, or NULL */
};

static const struct pcase cases[] = {
	{ "no-op: Zendesk already matches", "update", "Associate", NULL,
	  "ann@example.com", CUR_T1, NULL, roles_json, groups_json, ENT_ON,
	  NULL, 0, "[]", { 0, 0, 0, 0, 0 }, "no change" },
	{ "no-op with entitlements off", "update", "Associate", NULL,
	  "ann@example.com", CUR_T1, NULL, roles_json, groups_json, ENT_OFF,
	  NULL, 0, "[]", { 0, 0, 0, 0, 0 }, NULL },
	{ "no-op from the official read: support derived from the role",
	  "update", "Associate", NULL, "ann@example.com", CUR_T1_FULL, NULL,
	  roles_json, groups_json, ENT_ON, NULL, 0, "[]", { 0, 0, 0, 0, 0 },
	  "no change" },
	{ "mover: role and custom role in one write, groups, products",
	  "update", "Lead", NULL, "ann@example.com", CUR_T1, NULL, roles_json,
	  groups_json, ENT_ON, NULL, 0,
	  "[{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"
	  "{\"user\":{\"role\":\"agent\",\"custom_role_id\":102}}},"
	  "{\"method\":\"POST\",\"path\":\"/api/v2/group_memberships.json\","
	  "\"body\":{\"group_membership\":{\"user_id\":42,\"group_id\":202}}},"
	  "{\"method\":\"DELETE\",\"path\":\"/api/v2/group_memberships/9001.json"
	  "\",\"body\":null},"
	  "{\"method\":\"PUT\",\"path\":\"/api/admin/private/staff/42/"
	  "entitlements\",\"body\":{\"entitlements\":{\"chat\":{\"name\":"
	  "\"agent\",\"is_active\":false},\"talk\":{\"name\":\"agent\","
	  "\"is_active\":false},\"explore\":{\"name\":\"editor\",\"is_active\":"
	  "true}}}}]", { 0, -1, -1, 0, 1 }, NULL },
	{ "mover with entitlements off: no private endpoint", "update", "Lead",
	  NULL, "ann@example.com", CUR_T1, NULL, roles_json, groups_json,
	  ENT_OFF, NULL, 0,
	  "[{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"
	  "{\"user\":{\"role\":\"agent\",\"custom_role_id\":102}}},"
	  "{\"method\":\"POST\",\"path\":\"/api/v2/group_memberships.json\","
	  "\"body\":{\"group_membership\":{\"user_id\":42,\"group_id\":202}}},"
	  "{\"method\":\"DELETE\",\"path\":\"/api/v2/group_memberships/9001.json"
	  "\",\"body\":null}]", { 0, 0, 0, 0, 0 },
	  "product access not written: zendesk.entitlements is off" },
	{ "only the custom role differs: still role and id together", "update",
	  "Associate", NULL, "ann@example.com",
	  "{\"user\":{\"id\":42,\"role\":\"agent\",\"custom_role_id\":555}}",
	  NULL, roles_json, groups_json, ENT_OFF, NULL, 0,
	  "[{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"
	  "{\"user\":{\"role\":\"agent\",\"custom_role_id\":101}}}]",
	  { 0, 0, 0, 0, 0 }, "memberships are unknown" },
	{ "admin without custom role", "update", "CTO", "Exec",
	  "cto@example.com", CUR_EU, NULL, NULL, NULL, ENT_ON, NULL, 0,
	  "[{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"
	  "{\"user\":{\"role\":\"admin\"}}}]", { 1, 0, 0, 0, 0 }, NULL },
	{ "mover to end-user: products first, then the downgrade", "update",
	  "Sales rep", "Sales", "ann@example.com", CUR_T1, NULL, roles_json,
	  groups_json, ENT_ON, NULL, 0,
	  "[" W_ENT_OFF "," W_ROLE_EU "]", { -1, -1, -1, 0, 0 }, NULL },
	{ "leaver: entitlements off, downgrade, suspend", "terminate",
	  "Associate", NULL, "ann@example.com", CUR_T1, NULL, roles_json,
	  groups_json, ENT_ON, NULL, 0,
	  "[" W_ENT_OFF "," W_ROLE_EU_SUSP "]", { -1, -1, -1, 0, 0 }, NULL },
	{ "leaver split (reconcile): one PUT per field", "terminate",
	  "Associate", NULL, "ann@example.com", CUR_T1, NULL, roles_json,
	  groups_json, ENT_ON, "=", 0,
	  "[" W_ENT_OFF "," W_ROLE_EU "," W_SUSPEND "]", { -1, -1, -1, 0, 0 },
	  NULL },
	{ "leaver in configured order", "terminate", NULL, NULL,
	  "ann@example.com", CUR_T1, NULL, NULL, NULL, ENT_ON, "sdx", 0,
	  "[" W_ROLE_EU_SUSP "," W_ENT_OFF "]", { -1, -1, -1, 0, 0 }, NULL },
	{ "leaver, downgrade and suspend apart: two PUTs", "terminate", NULL,
	  NULL, "ann@example.com", CUR_T1, NULL, NULL, NULL, ENT_ON, "dxs", 0,
	  "[" W_ROLE_EU "," W_ENT_OFF "," W_SUSPEND "]", { -1, -1, -1, 0, 0 },
	  NULL },
	{ "leaver with two steps only", "terminate", NULL, NULL,
	  "ann@example.com", CUR_T1, NULL, NULL, NULL, ENT_ON, "ds", 0,
	  "[" W_ROLE_EU_SUSP "]", { -1, 0, 0, 0, 0 }, NULL },
	{ "leaver, suspend only", "terminate", NULL, NULL,
	  "ann@example.com", CUR_T1, NULL, NULL, NULL, ENT_ON, "s", 0,
	  "[" W_SUSPEND "]", { 0, 0, 0, 0, 0 }, NULL },
	{ "leaver already suspended: only the downgrade", "terminate", NULL,
	  NULL, "ann@example.com", "{\"user\":{\"id\":42,\"role\":\"agent\","
	  "\"custom_role_id\":101,\"suspended\":true}}", NULL, NULL, NULL,
	  ENT_OFF, "ds", 0, "[" W_ROLE_EU "]", { -1, 0, 0, 0, 0 }, NULL },
	{ "leaver with entitlements off: no private endpoint", "terminate",
	  NULL, NULL, "ann@example.com", CUR_T1, NULL, NULL, NULL, ENT_OFF,
	  NULL, 0, "[" W_ROLE_EU_SUSP "]", { -1, 0, 0, 0, 0 },
	  "entitlements_off skipped" },
	{ "leaver with access unknown: every product off", "terminate", NULL,
	  NULL, "ann@example.com", CUR_T1_BARE, NULL, NULL, NULL, ENT_ON, NULL,
	  0, "[{\"method\":\"PUT\",\"path\":\"/api/admin/private/staff/42/"
	  "entitlements\",\"body\":{\"entitlements\":{\"chat\":{\"name\":"
	  "\"agent\",\"is_active\":false},\"talk\":{\"name\":\"agent\","
	  "\"is_active\":false},\"guide\":{\"name\":\"viewer\",\"is_active\":"
	  "false},\"explore\":{\"name\":\"viewer\",\"is_active\":false}}}},"
	  W_ROLE_EU_SUSP "]", { -1, 0, 0, 0, 0 }, "unknown" },
	{ "leaver already downgraded: only suspend", "terminate", NULL, NULL,
	  "ann@example.com", CUR_EU, NULL, NULL, NULL, ENT_ON, NULL, 0,
	  "[" W_SUSPEND "]", { 0, 0, 0, 0, 0 }, NULL },
	{ "leaver fully done: nothing", "terminate", NULL, NULL,
	  "ann@example.com", CUR_EU_SUSP, NULL, NULL, NULL, ENT_ON, NULL, 0,
	  "[]", { 0, 0, 0, 0, 0 }, "no change" },
	{ "protected person: no writes", "terminate", NULL, NULL,
	  "Owner@Example.com", CUR_T1, NULL, NULL, NULL, ENT_ON, NULL, 0, "[]",
	  { 0, 0, 0, 0, 0 }, "protected" },
	{ "absent + hire: one create with role, custom role and groups",
	  "hire", "Associate", NULL, "new@example.com", NULL, NULL, roles_json,
	  groups_json, ENT_ON, NULL, 0,
	  "[{\"method\":\"POST\",\"path\":\"/api/v2/users.json\",\"body\":"
	  "{\"user\":{\"name\":\"New Person\",\"email\":\"new@example.com\","
	  "\"external_id\":\"E-1\",\"role\":\"agent\",\"custom_role_id\":101,"
	  "\"group_ids\":[201]}}},"
	  "{\"method\":\"PUT\",\"path\":\"/api/admin/private/staff/"
	  "{new_user_id}/entitlements\",\"body\":{\"entitlements\":{\"chat\":"
	  "{\"name\":\"agent\",\"is_active\":true},\"talk\":{\"name\":\"agent\","
	  "\"is_active\":true}}}}]", { 1, 1, 1, 0, 0 }, NULL },
	{ "absent + hire, entitlements off", "hire", "Associate", NULL,
	  "new@example.com", NULL, NULL, roles_json, NULL, ENT_OFF, NULL, 0,
	  "[{\"method\":\"POST\",\"path\":\"/api/v2/users.json\",\"body\":"
	  "{\"user\":{\"name\":\"New Person\",\"email\":\"new@example.com\","
	  "\"external_id\":\"E-1\",\"role\":\"agent\",\"custom_role_id\":101}}}]",
	  { 1, 0, 0, 0, 0 }, "no groups list" },
	{ "absent + terminate: nothing to offboard", "terminate", NULL, NULL,
	  "gone@example.com", NULL, NULL, NULL, NULL, ENT_ON, NULL, 0, "[]",
	  { 0, 0, 0, 0, 0 }, "no Zendesk user: nothing to offboard" },
	{ "absent + end-user policy: nothing to create", "hire", "Clerk",
	  "Finance", "c@example.com", NULL, NULL, NULL, NULL, ENT_ON, NULL, 0,
	  "[]", { 0, 0, 0, 0, 0 }, "nothing to create" },
	{ "rehire with a snapshot within the rule: restored", "rehire",
	  "Associate", NULL, "ann@example.com", CUR_EU_SUSP, CUR_T1, roles_json,
	  groups_json, ENT_ON, NULL, 0, W_T1_REHIRE(E_CHAT "," E_TALK),
	  { 1, 1, 1, 0, 0 },
	  "groups: [\"Tier 1\"] (snapshot, within rule tier1)" },
	{ "rehire: a product the rule grants but not held stays off",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  SNAP_T1_NO_TALK, roles_json, groups_json, ENT_ON, NULL, 0,
	  W_T1_REHIRE(E_CHAT), { 1, 1, 0, 0, 0 },
	  "entitlements.talk: off (snapshot, within rule tier1)" },
	{ "rehire: snapshot admin is not restored, the rule's agent is",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  SNAP_ADMIN, roles_json, groups_json, ENT_ON, NULL, 0,
	  W_T1_REHIRE(E_CHAT "," E_TALK), { 1, 1, 1, 0, 0 },
	  "snapshot role admin ignored: rule tier1 grants agent" },
	{ "rehire: snapshot custom role not the rule's is not restored",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  SNAP_ADMIN, roles_json, groups_json, ENT_ON, NULL, 0,
	  W_T1_REHIRE(E_CHAT "," E_TALK), { 1, 1, 1, 0, 0 },
	  "snapshot custom role 102 (\"Team lead\") ignored: rule tier1 "
	  "grants \"Tier 1\"" },
	{ "rehire: snapshot products the rule turns off are dropped",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  SNAP_ADMIN, roles_json, groups_json, ENT_ON, NULL, 0,
	  W_T1_REHIRE(E_CHAT "," E_TALK), { 1, 1, 1, 0, 0 },
	  "snapshot entitlements.explore admin ignored: rule tier1 turns "
	  "explore off" },
	{ "rehire: snapshot group outside the rule is dropped", "rehire",
	  "Associate", NULL, "ann@example.com", CUR_EU_SUSP, SNAP_EXTRA,
	  roles_json, groups_json, ENT_ON, NULL, 0, W_T1_REHIRE(E_CHAT),
	  { 1, 1, 0, 0, 0 }, "snapshot group 202 (\"Leads\") ignored: not "
	  "among rule tier1's groups" },
	{ "rehire: snapshot product level above the rule's is dropped",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  SNAP_EXTRA, roles_json, groups_json, ENT_ON, NULL, 0,
	  W_T1_REHIRE(E_CHAT), { 1, 1, 0, 0, 0 }, "snapshot entitlements.chat "
	  "admin ignored: rule tier1 grants agent" },
	{ "rehire by an end-user rule: a snapshot agent is not restored",
	  "rehire", "Clerk", "Finance", "ann@example.com", CUR_EU_SUSP, CUR_T1,
	  roles_json, groups_json, ENT_ON, NULL, 0, "[" W_UNSUSPEND "]",
	  { 0, 0, 0, 0, 0 }, "snapshot role agent ignored: rule others grants "
	  "end-user" },
	{ "rehire by an admin rule: no custom role from the snapshot",
	  "rehire", "CTO", "Exec", "cto@example.com", CUR_EU_SUSP, SNAP_ADMIN,
	  roles_json, groups_json, ENT_ON, NULL, 0, "["
	  "{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"
	  "{\"user\":{\"role\":\"admin\",\"suspended\":false}}}]",
	  { 1, 0, 0, 0, 0 },
	  "snapshot custom role 102 (\"Team lead\") ignored: rule admins "
	  "names none" },
	{ "rehire: a malformed snapshot is ignored, the rule decides",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  "{\"user\":{\"id\":\"42\",\"role\":\"admin\"}}", roles_json,
	  groups_json, ENT_ON, NULL, 0, W_T1_REHIRE(E_CHAT "," E_TALK),
	  { 1, 1, 1, 0, 0 }, "snapshot ignored: snapshot: user.id: expected a "
	  "positive integer; rule tier1 decides" },
	{ "rehire without snapshot: policy, unsuspended", "rehire", "Manager",
	  NULL, "ann@example.com", CUR_EU_SUSP, NULL, roles_json, groups_json,
	  ENT_ON, NULL, 0,
	  "[{\"method\":\"PUT\",\"path\":\"/api/v2/users/42.json\",\"body\":"
	  "{\"user\":{\"role\":\"agent\",\"custom_role_id\":102,"
	  "\"suspended\":false}}},"
	  "{\"method\":\"POST\",\"path\":\"/api/v2/group_memberships.json\","
	  "\"body\":{\"group_membership\":{\"user_id\":42,\"group_id\":202}}},"
	  "{\"method\":\"PUT\",\"path\":\"/api/admin/private/staff/42/"
	  "entitlements\",\"body\":{\"entitlements\":{\"explore\":{\"name\":"
	  "\"editor\",\"is_active\":true}}}}]", { 1, 0, 0, 0, 1 }, NULL },
	{ "snapshot ignored outside a rehire", "update", "Associate", NULL,
	  "ann@example.com", CUR_T1, CUR_EU, roles_json, groups_json, ENT_ON,
	  NULL, 0, "[]", { 0, 0, 0, 0, 0 }, "snapshot ignored" },
	{ "snapshot with a deleted custom role: the rule's, no error",
	  "rehire", "Associate", NULL, "ann@example.com", CUR_EU_SUSP,
	  "{\"user\":{\"id\":42,\"role\":\"agent\",\"custom_role_id\":999}}",
	  roles_json, groups_json, ENT_ON, NULL, 0,
	  W_T1_REHIRE(E_CHAT "," E_TALK), { 1, 1, 1, 0, 0 },
	  "snapshot custom role 999 ignored: rule tier1 grants \"Tier 1\"" },
	{ "unknown custom role: error naming the rule", "update", "Lead", NULL,
	  "ann@example.com", CUR_T1, NULL, roles_no_lead, groups_json, ENT_ON,
	  NULL, -1, "roles: custom role \"Team lead\" (rule leads) is not in "
	  "the list; create it (rolehook roles sync) or fix the rule", { 0 },
	  NULL },
	{ "no roles list: error, never a guess", "hire", "Lead", NULL,
	  "ann@example.com", NULL, NULL, NULL, NULL, ENT_ON, NULL, -1,
	  "roles: custom role \"Team lead\" (rule leads) needs the custom roles "
	  "list (GET /api/v2/custom_roles.json)", { 0 }, NULL },
	{ "unknown group: error naming the rule", "update", "Lead", NULL,
	  "ann@example.com", CUR_T1, NULL, roles_json,
	  "{\"groups\":[{\"id\":201,\"name\":\"Tier 1\"}]}", ENT_ON, NULL, -1,
	  "groups: group \"Leads\" (rule leads) is not in the list; create it in "
	  "Zendesk or fix the rule", { 0 }, NULL },
	{ "current without user", "update", "Lead", NULL, "ann@example.com",
	  "{\"id\":42}", NULL, roles_json, NULL, ENT_ON, NULL, -1,
	  "current: expected {\"user\": {...}} as GET /api/v2/users/{id}.json "
	  "returns it", { 0 }, NULL },
	{ "current with a bad id", "update", "Lead", NULL, "ann@example.com",
	  "{\"user\":{\"id\":\"42\"}}", NULL, roles_json, NULL, ENT_ON, NULL,
	  -1, "current: user.id: expected a positive integer", { 0 }, NULL },
	{ "current with bad entitlements", "update", "Lead", NULL,
	  "ann@example.com", "{\"user\":{\"id\":42},\"entitlements\":{\"chat\":"
	  "{\"name\":\"agent\",\"is_active\":\"yes\"}}}", NULL, roles_json, NULL,
	  ENT_ON, NULL, -1, "current: entitlements.chat.is_active: expected "
	  "true or false", { 0 }, NULL },
	{ "hire without email cannot create", "hire", "Associate", NULL, NULL,
	  NULL, NULL, roles_json, NULL, ENT_ON, NULL, -1, "event: cannot create "
	  "the Zendesk user: the event has no email attribute", { 0 }, NULL },
};

static struct json_object *
parse_or_null(const char *text)
{
	struct json_object *o;

	if (text == NULL)
		return NULL;
	if ((o = json_tokener_parse(text)) == NULL)
		fail_msg("test JSON does not parse: %s", text);
	return o;
}

static void
run_case(const struct policy *pol, const struct pcase *c)
{
	struct norm_event ev;
	struct policy_decision d;
	struct json_object *cur, *snap, *roles, *groups, *want, *got;
	struct plan_opts opts;
	enum policy_step steps[POLICY_NSTEPS];
	struct plan *pl = NULL;
	char err[PLAN_ERRLEN], *gs, *ws;
	const char *email, *xid;
	size_t i, n = 0;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.kind = (char *)c->kind;
	ev.subject = (char *)"hr:E-1";
	ev.attrs[n].key = (char *)"department";
	ev.attrs[n++].value = (char *)(c->dept != NULL ? c->dept : "Support");
	if (c->title != NULL) {
		ev.attrs[n].key = (char *)"title";
		ev.attrs[n++].value = (char *)c->title;
	}
	if (c->email != NULL) {
		ev.attrs[n].key = (char *)"email";
		ev.attrs[n++].value = (char *)c->email;
	}
	ev.attrs[n].key = (char *)"name";
	ev.attrs[n++].value = (char *)"New Person";
	ev.attrs[n].key = (char *)"external_id";
	ev.attrs[n++].value = (char *)"E-1";
	ev.nattrs = n;
	cur = parse_or_null(c->current);
	snap = parse_or_null(c->snapshot);
	roles = parse_or_null(c->roles);
	groups = parse_or_null(c->groups);
	policy_evaluate(pol, &ev, &d);
	plan_user_of(cur, &email, &xid);
	if (policy_is_protected(pol, email, xid, NULL))
		d.is_protected = 1;
	memset(&opts, 0, sizeof(opts));
	opts.entitlements = c->entitlements;
	/* "=" first: split user writes (as reconcile plans). */
	if (c->steps != NULL && c->steps[0] == '=')
		opts.split_user_writes = 1;
	if (c->steps != NULL && c->steps[opts.split_user_writes] != '\0') {
		const char *sp = c->steps + opts.split_user_writes;

		for (i = 0; sp[i] != '\0'; i++)
			steps[i] = sp[i] == 's' ? POLICY_STEP_SUSPEND :
			    sp[i] == 'd' ? POLICY_STEP_DOWNGRADE :
			    POLICY_STEP_ENTITLEMENTS_OFF;
		opts.steps = steps;
		opts.nsteps = i;
	}
	rc = plan_build(&d, &ev, cur, roles, groups, snap, &opts, &pl, err,
	    sizeof(err));
	if (rc != c->rc)
		fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, err);
	if (rc != 0) {
		assert_null(pl);
		if (strcmp(err, c->writes) != 0)
			fail_msg("%s:\n got  %s\n want %s", c->name, err,
			    c->writes);
		goto out;
	}
	want = parse_or_null(c->writes);
	got = plan_writes_to_json(pl);
	ws = policy_canonical_json(want);
	gs = policy_canonical_json(got);
	/* Never an agent without a custom role: role "agent" in a create or
	 * update always travels with custom_role_id. */
	for (i = 0; i < pl->nwrites; i++) {
		struct json_object *u, *r;

		if (pl->writes[i].body != NULL &&
		    json_object_object_get_ex(pl->writes[i].body, "user", &u) &&
		    json_object_object_get_ex(u, "role", &r) &&
		    strcmp(json_object_get_string(r), "agent") == 0 &&
		    !json_object_object_get_ex(u, "custom_role_id", NULL))
			fail_msg("%s: write %zu makes an agent without a custom "
			    "role", c->name, i);
	}
	/* order matters: arrays are compared as they are */
	if (strcmp(ws, gs) != 0)
		fail_msg("%s:\n got  %s\n want %s", c->name,
		    json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE), c->writes);
	for (i = 0; i < POLICY_NPRODUCTS; i++)
		if (pl->seat_delta[i] != c->delta[i])
			fail_msg("%s: seat_delta.%s %d, want %d", c->name,
			    policy_product_name((enum policy_product)i),
			    pl->seat_delta[i], c->delta[i]);
	if (c->note != NULL) {
		for (i = 0; i < pl->nnotes; i++)
			if (strstr(pl->notes[i], c->note) != NULL)
				break;
		if (i == pl->nnotes)
			fail_msg("%s: no note with \"%s\" (%zu notes%s%s)", c->name,
			    c->note, pl->nnotes, pl->nnotes ? ", first: " : "",
			    pl->nnotes ? pl->notes[0] : "");
	}
	/* the private endpoint only when switched on */
	for (i = 0; !c->entitlements && i < pl->nwrites; i++)
		assert_null(strstr(pl->writes[i].path, "/api/admin/private"));
	/* an agent is never written without its custom role */
	for (i = 0; i < pl->nwrites; i++) {
		struct json_object *u, *r;

		if (pl->writes[i].body != NULL &&
		    json_object_object_get_ex(pl->writes[i].body, "user", &u) &&
		    json_object_object_get_ex(u, "role", &r) &&
		    strcmp(json_object_get_string(r), "agent") == 0)
			assert_true(json_object_object_get_ex(u,
			    "custom_role_id", NULL));
	}
	free(ws);
	free(gs);
	json_object_put(want);
	json_object_put(got);
out:
	plan_free(pl);
	json_object_put(cur);
	json_object_put(snap);
	json_object_put(roles);
	json_object_put(groups);
}

static void
test_table(void **state)
{
	struct json_object *o;
	struct policy *pol = NULL;
	char err[POLICY_ERRLEN];
	size_t i;

	(void)state;
	o = json_tokener_parse(policy_json);
	assert_non_null(o);
	if (policy_compile(o, &pol, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	json_object_put(o);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(pol, &cases[i]);
	policy_free(pol);
}

/*
 * A rule that names the Support entitlement: the official read has no
 * "support" key, so plan derives it from role and custom_role_id; the
 * private GET's shape (with "support") still plans the same.
 */
static const char policy_support_json[] =
    "{\"rules\":[{\"name\":\"tier1\",\"when\":{\"title\":{\"prefix\":"
    "\"Associate\"}},\"then\":{\"role\":\"agent\",\"custom_role\":\"Tier 1\","
    "\"groups\":[\"Tier 1\"],\"entitlements\":{\"support\":\"custom_101\","
    "\"talk\":\"agent\",\"chat\":\"agent\"}}}]}";

static const struct pcase support_cases[] = {
	{ "support derived from the official read: no write", "update",
	  "Associate", NULL, "ann@example.com", CUR_T1_FULL, NULL, roles_json,
	  groups_json, ENT_ON, NULL, 0, "[]", { 0, 0, 0, 0, 0 }, NULL },
	{ "support in the private GET's shape: no write", "update",
	  "Associate", NULL, "ann@example.com", CUR_T1, NULL, roles_json,
	  groups_json, ENT_ON, NULL, 0, "[]", { 0, 0, 0, 0, 0 }, NULL },
};

static void
test_support_derived(void **state)
{
	struct json_object *o;
	struct policy *pol = NULL;
	char err[POLICY_ERRLEN];
	size_t i;

	(void)state;
	o = json_tokener_parse(policy_support_json);
	assert_non_null(o);
	if (policy_compile(o, &pol, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	json_object_put(o);
	for (i = 0; i < sizeof(support_cases) / sizeof(support_cases[0]); i++)
		run_case(pol, &support_cases[i]);
	policy_free(pol);
}

static void
test_write_fields(void **state)
{
	struct json_object *o, *cur;
	struct policy *pol = NULL;
	struct policy_decision d;
	struct norm_event ev;
	struct plan_opts opts = { 1, NULL, 0, 0 };
	struct plan *pl = NULL;
	char err[PLAN_ERRLEN];

	(void)state;
	o = json_tokener_parse(policy_json);
	assert_int_equal(policy_compile(o, &pol, err, sizeof(err)), 0);
	json_object_put(o);
	memset(&ev, 0, sizeof(ev));
	ev.kind = (char *)"terminate";
	policy_evaluate(pol, &ev, &d);
	cur = json_tokener_parse(CUR_T1);
	assert_int_equal(plan_build(&d, &ev, cur, NULL, NULL, NULL, &opts, &pl,
	    err, sizeof(err)), 0);
	assert_int_equal(pl->nwrites, 2);
	assert_int_equal(pl->user_id, 42);
	assert_string_equal(pl->writes[0].step, "entitlements_off");
	/* One PUT downgrades and suspends: the guard counts it as both. */
	assert_string_equal(pl->writes[1].step, "downgrade_suspend");
	assert_string_equal(pl->writes[1].method, "PUT");
	assert_int_equal(pl->writes[0].uses_new_id, 0);
	o = plan_seat_delta_to_json(pl->seat_delta);
	assert_string_equal(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"support\":-1,\"chat\":-1,\"talk\":-1,"
	    "\"guide\":0,\"explore\":0}");
	json_object_put(o);
	plan_free(pl);
	plan_free(NULL);
	json_object_put(cur);
	policy_free(pol);
}

/* Builds the plan of a rehire of an Associate (rule tier1) from
 * CUR_EU_SUSP with this snapshot; d->desired.role NULL when norule. */
static struct plan *
rehire_plan(const char *snapshot, const char *title, int norule)
{
	struct json_object *o, *cur, *snap, *roles, *groups;
	struct policy *pol = NULL;
	struct policy_decision d;
	struct norm_event ev;
	struct plan_opts opts = { 1, NULL, 0, 0 };
	struct plan *pl = NULL;
	char err[PLAN_ERRLEN];

	o = json_tokener_parse(policy_json);
	assert_int_equal(policy_compile(o, &pol, err, sizeof(err)), 0);
	json_object_put(o);
	memset(&ev, 0, sizeof(ev));
	ev.kind = (char *)"rehire";
	ev.attrs[0].key = (char *)"department";
	ev.attrs[0].value = (char *)"Support";
	ev.attrs[1].key = (char *)"title";
	ev.attrs[1].value = (char *)title;
	ev.nattrs = 2;
	policy_evaluate(pol, &ev, &d);
	if (norule) {
		d.rule = NULL;
		memset(&d.desired, 0, sizeof(d.desired));
		d.desired.suspended = -1;
	}
	cur = json_tokener_parse(CUR_EU_SUSP);
	snap = json_tokener_parse(snapshot);
	roles = json_tokener_parse(roles_json);
	groups = json_tokener_parse(groups_json);
	assert_non_null(snap);
	if (plan_build(&d, &ev, cur, roles, groups, snap, &opts, &pl, err,
	    sizeof(err)) != 0)
		fail_msg("plan_build: %s", err);
	json_object_put(cur);
	json_object_put(snap);
	json_object_put(roles);
	json_object_put(groups);
	policy_free(pol);
	return pl;
}

static void
assert_json(const char *what, struct json_object *got, const char *want)
{
	struct json_object *w = json_tokener_parse(want);
	char *gs, *ws;

	if (w == NULL)
		fail_msg("%s: test JSON does not parse: %s", what, want);
	gs = policy_canonical_json(got);
	ws = policy_canonical_json(w);
	if (strcmp(gs, ws) != 0)
		fail_msg("%s:\n got  %s\n want %s", what, gs, ws);
	free(gs);
	free(ws);
	json_object_put(w);
}

/* No write of the plan sets role admin, custom role 102, group 202, or
 * any product but chat and talk. */
static void
assert_within_tier1(const struct plan *pl)
{
	struct json_object *u, *v, *m, *e;
	size_t i;

	for (i = 0; i < pl->nwrites; i++) {
		struct json_object *b = pl->writes[i].body;

		if (b == NULL)
			continue;
		if (json_object_object_get_ex(b, "user", &u)) {
			if (json_object_object_get_ex(u, "role", &v))
				assert_string_equal(json_object_get_string(v),
				    "agent");
			if (json_object_object_get_ex(u, "custom_role_id", &v))
				assert_int_equal(json_object_get_int64(v), 101);
		}
		if (json_object_object_get_ex(b, "group_membership", &m)) {
			assert_true(json_object_object_get_ex(m, "group_id", &v));
			assert_int_equal(json_object_get_int64(v), 201);
		}
		if (json_object_object_get_ex(b, "entitlements", &e)) {
			assert_false(json_object_object_get_ex(e, "explore",
			    NULL));
			assert_false(json_object_object_get_ex(e, "guide", NULL));
		}
	}
}

/* A planted admin snapshot: nothing above tier1 is planned, and every
 * restored value and every dropped one says where it came from. */
static void
test_snapshot_provenance(void **state)
{
	struct plan *pl;

	(void)state;
	pl = rehire_plan(SNAP_ADMIN, "Associate", 0);
	assert_int_equal(pl->restored, 1);
	assert_within_tier1(pl);
	assert_json("provenance", pl->provenance, "{\"rule\":\"tier1\","
	    "\"fields\":[\"role: agent (rule tier1)\","
	    "\"custom_role: \\\"Tier 1\\\" (rule tier1)\","
	    "\"groups: [\\\"Tier 1\\\"] (snapshot, within rule tier1)\","
	    "\"entitlements.chat: agent (snapshot, within rule tier1)\","
	    "\"entitlements.talk: agent (snapshot, within rule tier1)\","
	    "\"entitlements.guide: off (rule tier1)\","
	    "\"entitlements.explore: off (rule tier1)\","
	    "\"suspended: false (rule tier1)\"],"
	    "\"ignored\":[\"snapshot role admin ignored: rule tier1 grants "
	    "agent\",\"snapshot custom role 102 (\\\"Team lead\\\") ignored: "
	    "rule tier1 grants \\\"Tier 1\\\"\",\"snapshot group 202 "
	    "(\\\"Leads\\\") ignored: not among rule tier1's groups\","
	    "\"snapshot entitlements.guide admin ignored: rule tier1 turns "
	    "guide off\",\"snapshot entitlements.explore admin ignored: rule "
	    "tier1 turns explore off\"]}");
	assert_json("restored_desired", pl->restored_desired, "{\"role\":"
	    "\"agent\",\"custom_role\":\"Tier 1\",\"groups\":[\"Tier 1\"],"
	    "\"entitlements\":{\"chat\":\"agent\",\"talk\":\"agent\","
	    "\"guide\":false,\"explore\":false},\"suspended\":false}");
	plan_free(pl);

	/* No rule matches: the snapshot grants nothing on its own. */
	pl = rehire_plan(SNAP_ADMIN, "Associate", 1);
	assert_int_equal(pl->restored, 0);
	assert_null(pl->provenance);
	assert_int_equal(pl->nwrites, 0);
	assert_non_null(strstr(pl->notes[0], "snapshot ignored: no rule "
	    "matches this rehire"));
	plan_free(pl);

	/* Snapshot text reaches people clipped to printable ASCII. */
	pl = rehire_plan("{\"user\":{\"id\":42,\"role\":\"ad\\u001b[31mmin"
	    "\\\"\\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}",
	    "Associate", 0);
	assert_within_tier1(pl);
	assert_json("ignored", json_object_object_get(pl->provenance,
	    "ignored"), "[\"snapshot role ad?[31mmin??xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xx... ignored: rule tier1 grants agent\"]");
	plan_free(pl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_support_derived),
		cmocka_unit_test(test_write_fields),
		cmocka_unit_test(test_snapshot_provenance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
