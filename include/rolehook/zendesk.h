/*
 * zendesk.h -- libcurl client for the Zendesk API calls rolehook makes:
 * users, custom roles, groups and memberships, and the private product
 * entitlements endpoint.
 *
 * One struct zd_client per thread: it owns one easy handle that is
 * reused (connections and TLS sessions stay warm) and is not
 * thread-safe.  curl_global_init must have run (in main, before
 * threads).  The optional governor (governor.h) is shared: each request
 * takes a slot from it first and reports its rate-limit headers after.
 *
 * Transport rules (CONVENTIONS.md): https only -- http is accepted only
 * for 127.0.0.1, ::1 or localhost and only with allow_http_loopback (the
 * tests' fake) --; no redirects; connect and total timeouts; a cap on
 * the response size; CURLOPT_NOSIGNAL.  The Authorization header is
 * built once (with OAuth: again for each new access token), never
 * logged, and wiped when replaced or when the client is freed.
 *
 * Every public function returns enum zd_result; the details of a failure
 * go to a caller buffer (res->reason, or err for the set-up functions).
 */
#ifndef ROLEHOOK_ZENDESK_H
#define ROLEHOOK_ZENDESK_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct gov;
struct gov_headers;
struct json_object;
struct oauth;

/*
 * Room for the longest reason: an OAuth refusal names the refresh token
 * file (at most ZD_REFRESH_PATH_MAX bytes) and what to do, and callers
 * prefix what they were reading.
 */
#define ZD_ERRLEN 512
#define ZD_REFRESH_PATH_MAX 256
#define ZD_HDRLEN 32

enum zd_result {
	ZD_OK = 0,
	ZD_NOT_FOUND,      /* 404, or a lookup matched nobody */
	ZD_RATE_LIMITED,   /* 429, or the governor's wait exceeds
	                    * gov_max_wait_ms: see res->retry_after_s */
	ZD_RETRYABLE,      /* 5xx, 409, timeout, connection refused/reset */
	ZD_PERMANENT,      /* other 4xx (422 validation, ...), a redirect,
	                    * an ambiguous lookup: res->reason says why */
	ZD_UNAUTHORIZED,   /* 401/403: credential wrong or lacking rights;
	                    * status 0: the OAuth token endpoint refused
	                    * (res->reason says why) */
	ZD_BAD_RESPONSE,   /* too large, not JSON, or not the documented shape */
	ZD_DISABLED,       /* entitlements endpoint switched off in config */
	ZD_EINVAL,         /* bad argument or configuration */
	ZD_ERROR           /* local failure: memory, libcurl, TLS */
};

struct zd_opts {
	const char *base_url;        /* "https://acme.zendesk.com" */
	const char *auth;            /* Authorization value: "Basic ..." or
	                              * "Bearer ..." (a secret; copied) */
	int allow_http_loopback;     /* tests: http://127.0.0.1:PORT */
	int entitlements;            /* 1: the private endpoint may be used */
	long connect_timeout_ms;     /* 0: 5000 */
	long timeout_ms;             /* whole request; 0: 30000 */
	size_t max_response;         /* bytes of (decoded) body; 0: 8 MiB */
	struct gov *gov;             /* optional, borrowed, shared */
	struct gov *write_gov;       /* optional, borrowed, shared: a local cap
	                              * on writes (POST/PUT/PATCH/DELETE), on
	                              * top of gov; never fed from headers */
	int64_t gov_max_wait_ms;     /* < 0: wait as long as the governor says */
	struct oauth *oauth;         /* optional, borrowed, shared (oauth.h):
	                              * the Authorization value comes from it
	                              * per request and auth is unused; a 401
	                              * renews the token and retries once */
};

/* Raw rate-limit headers of the last answer (empty string = absent). */
struct zd_rate_headers {
	char x_rate_limit[ZD_HDRLEN];
	char x_rate_limit_remaining[ZD_HDRLEN];
	char ratelimit_limit[ZD_HDRLEN];
	char ratelimit_remaining[ZD_HDRLEN];
	char ratelimit_reset[ZD_HDRLEN];
	char retry_after[ZD_HDRLEN];
};

/*
 * What one operation got back.  Zero-initialise it (ZD_RESPONSE_INIT)
 * before first use; every operation clears it first, and
 * zd_response_clear releases it.
 */
struct zd_response {
	long status;                 /* HTTP status; 0 when none came */
	struct json_object *body;    /* the parsed document, owned; or NULL */
	struct json_object *item;    /* borrowed from body: the member the
	                              * operation is about (see each), or NULL */
	long retry_after_s;          /* RATE_LIMITED, 503: seconds; -1 unknown */
	struct zd_rate_headers rl;
	char reason[ZD_ERRLEN];      /* why, when not ZD_OK; no credentials */
};
#define ZD_RESPONSE_INIT { 0, NULL, NULL, -1, { { 0 }, { 0 }, { 0 }, \
	{ 0 }, { 0 }, { 0 } }, { 0 } }

/* Fields of a user write; NULL / 0 / -1 members are not sent. */
struct zd_user_fields {
	const char *name;
	const char *email;
	const char *external_id;
	const char *role;            /* "end-user", "agent" or "admin" */
	int64_t custom_role_id;      /* > 0: sent (role must be "agent") */
	int suspended;               /* -1: not sent; 0 or 1 */
};

/*
 * Called with each page of a listing: items is the page's array
 * (borrowed, valid during the call).  Return 0 to go on, non-zero to stop.
 */
typedef int (*zd_page_cb)(struct json_object *items, void *arg);

struct zd_client;
struct zd_conf;

/* Returns a static name for r ("ok", "rate limited", ...). */
const char *zd_strerror(enum zd_result r);

/*
 * Reads the "zendesk" section of cfg->root: base_url or subdomain, auth
 * {email, token}, {bearer} or {oauth: {client_id, client_secret, scope
 * | refresh_token_file}} (secrets as "env:NAME" or "file:/path"; with
 * oauth the conf owns the shared token holder, reached through
 * zd_conf_opts()->oauth),
 * entitlements, allow_http_loopback, connect_timeout_ms, timeout_ms,
 * max_response_bytes.  On ZD_OK *out holds the resolved options (free
 * with zd_conf_free, which wipes the credential); otherwise *out is NULL
 * and err says "FILE: zendesk.PATH: what" (FILE: cfg->path, once) without
 * any secret.
 */
enum zd_result zd_conf_load(const struct config *cfg, struct zd_conf **out,
    char *err, size_t errlen);

/*
 * Validates the "zendesk" section like zd_conf_load, but only the form of
 * the credential reference: the secret is not read (rolehook check runs
 * as users that may not be able to read it).  Returns ZD_OK or the
 * error with err filled.
 */
enum zd_result zd_conf_check(const struct config *cfg, char *err,
    size_t errlen);

/*
 * 1 when cfg's zendesk.auth is an API token ({"email", "token"}), which
 * Zendesk stops accepting on 2027-04-30; else 0.
 */
int zd_conf_api_token(const struct config *cfg);

/*
 * What to check when Zendesk refuses cfg's credential (ZD_UNAUTHORIZED),
 * for its zendesk.auth kind: API token, bearer, OAuth client credentials
 * or OAuth refresh token.  A static string ("check zendesk.auth...").
 */
const char *zd_conf_auth_advice(const struct config *cfg);

/*
 * With zendesk.auth.oauth.refresh_token_file: the file reads as work
 * reads it (oauth_read_file: owner, mode 0600, one token) and its
 * directory takes new files (the atomic replace).  0 (also when no such
 * file is configured), or -1 with err naming the field; never the token.
 */
int zd_conf_check_refresh_file(const struct config *cfg, char *err,
    size_t errlen);

/* Options to pass to zd_client_new; borrowed from conf. */
const struct zd_opts *zd_conf_opts(const struct zd_conf *conf);

/* Frees conf, wiping the credential.  NULL is a no-op. */
void zd_conf_free(struct zd_conf *conf);

/*
 * Creates a client for one thread.  o is copied (the strings too); o->gov
 * stays borrowed and must outlive the client.  Refuses (ZD_EINVAL, with
 * err) a base URL that is not https, unless its host is 127.0.0.1, ::1 or
 * localhost and allow_http_loopback is set; a URL with user info, a
 * path, query or fragment; an auth value with control characters.
 */
enum zd_result zd_client_new(const struct zd_opts *o, struct zd_client **out,
    char *err, size_t errlen);

/* Frees c and wipes its credential.  NULL is a no-op. */
void zd_client_free(struct zd_client *c);

/* Releases res->body and resets every field. */
void zd_response_clear(struct zd_response *res);

/*
 * Points h's members at res's rate-limit headers (NULL when absent), for
 * gov_observe.  h borrows from res.
 */
void zd_response_headers(const struct zd_response *res,
    struct gov_headers *h);

/* GET /api/v2/users/{id}.json.  item: the user object. */
enum zd_result zd_get_user(struct zd_client *c, int64_t id,
    struct zd_response *res);

/*
 * Looks a person up by external_id (exact, users/search?external_id=),
 * then, if nobody has it, by email (users/search?query=email:..., kept
 * only on a case-insensitive exact match).  Either may be NULL.  item:
 * the user object.  ZD_NOT_FOUND when neither matches; ZD_PERMANENT when
 * more than one user matches.
 */
enum zd_result zd_find_user(struct zd_client *c, const char *external_id,
    const char *email, struct zd_response *res);

/*
 * GET /api/v2/users/show_many.json?{by}=k1,k2,... with by "ids" or
 * "external_ids": up to ZD_SHOW_MANY_MAX users in one request.  keys
 * (borrowed): n non-empty values without commas.  item: the "users"
 * array (borrowed from body); a key that matches nobody is absent from
 * it.  ZD_EINVAL on bad arguments or a URL too long (send fewer keys).
 */
#define ZD_SHOW_MANY_MAX 100
enum zd_result zd_show_many(struct zd_client *c, const char *by,
    const char *const *keys, size_t n, struct zd_response *res);

/* 1 when key can go in a zd_show_many list (non-empty, at most 255
 * bytes, no comma), else 0. */
int zd_show_many_key(const char *key);

/*
 * POST /api/v2/users.json.  name is required; role "agent" requires
 * custom_role_id (never create a legacy agent).  item: the new user.
 */
enum zd_result zd_create_user(struct zd_client *c,
    const struct zd_user_fields *u, struct zd_response *res);

/*
 * PUT /api/v2/users/{id}.json with the fields set in u.  role "agent"
 * requires custom_role_id (Zendesk would keep the old custom role, or
 * make a legacy agent).  item: the updated user.
 */
enum zd_result zd_update_user(struct zd_client *c, int64_t id,
    const struct zd_user_fields *u, struct zd_response *res);

/* GET /api/v2/custom_roles.json.  item: the custom_roles array. */
enum zd_result zd_list_custom_roles(struct zd_client *c,
    struct zd_response *res);

/*
 * POST /api/v2/custom_roles.json with {"custom_role": role}; role
 * (borrowed) holds name, description, configuration -- not the
 * read-only role_type or team_member_count.  item: the new role.
 */
enum zd_result zd_create_custom_role(struct zd_client *c,
    struct json_object *role, struct zd_response *res);

/* PUT /api/v2/custom_roles/{id}.json; as above.  item: the role. */
enum zd_result zd_update_custom_role(struct zd_client *c, int64_t id,
    struct json_object *role, struct zd_response *res);

/* DELETE /api/v2/custom_roles/{id}.json (422 while agents hold it). */
enum zd_result zd_delete_custom_role(struct zd_client *c, int64_t id,
    struct zd_response *res);

/* GET /api/v2/groups.json, every page.  item: one array of all groups. */
enum zd_result zd_list_groups(struct zd_client *c, struct zd_response *res);

/*
 * GET /api/v2/users/{id}/group_memberships.json, every page.  item: the
 * array of memberships.
 */
enum zd_result zd_list_memberships(struct zd_client *c, int64_t user_id,
    struct zd_response *res);

/* POST /api/v2/group_memberships.json.  item: the new membership. */
enum zd_result zd_add_membership(struct zd_client *c, int64_t user_id,
    int64_t group_id, struct zd_response *res);

/* DELETE /api/v2/group_memberships/{id}.json. */
enum zd_result zd_remove_membership(struct zd_client *c,
    int64_t membership_id, struct zd_response *res);

/*
 * GET /api/v2/users/{id}/entitlements/full (official: Zendesk's OpenAPI
 * GetUserEntitlementsFull).  ZD_DISABLED, without a request, unless
 * entitlements is on.  item: the entitlements object ({"chat": {"name",
 * "is_active"}, "explore", "guide", "talk"}); it has no "support" key:
 * Support access is the user's role and custom_role_id.
 */
enum zd_result zd_get_entitlements(struct zd_client *c, int64_t user_id,
    struct zd_response *res);

/*
 * PUT /api/admin/private/staff/{id}/entitlements (undocumented, not in the
 * OpenAPI description: no official write exists; see docs/security.md) with
 * {"entitlements": ents}; ents (borrowed) maps product to {"name",
 * "is_active"}.  Products may be absent before.
 * ZD_DISABLED unless entitlements is on.  item: the entitlements after.
 */
enum zd_result zd_put_entitlements(struct zd_client *c, int64_t user_id,
    struct json_object *ents, struct zd_response *res);

/*
 * Every agent and admin: GET /api/v2/users.json?role[]=agent&role[]=admin
 * with cursor pagination (page[size] = page_size, 1..100, 0: 100),
 * following links.next while meta.has_more -- only to this client's own
 * origin.  cb sees each page's users array.  res->body is NULL after.
 */
enum zd_result zd_list_agents(struct zd_client *c, int page_size,
    zd_page_cb cb, void *arg, struct zd_response *res);

/*
 * Every group membership of the account: GET /api/v2/group_memberships
 * with cursor pagination (100 a page), as zd_list_agents.  cb sees each
 * page's group_memberships array.  res->body is NULL after.
 */
enum zd_result zd_list_all_memberships(struct zd_client *c, zd_page_cb cb,
    void *arg, struct zd_response *res);

/*
 * Any other call: method "GET", "POST", "PUT" or "DELETE"; path starting
 * "/api/v2/" (or the entitlements path when enabled), of URL-safe
 * characters, with an optional query; body (borrowed) or NULL.  For
 * executing planned writes.  item: body.
 */
enum zd_result zd_call(struct zd_client *c, const char *method,
    const char *path, struct json_object *body, struct zd_response *res);

#endif
