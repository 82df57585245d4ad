/*
 * zendesk.c -- the Zendesk API client (see zendesk.h).
 *
 * Sources: "Users", "Custom Agent Roles", "Groups", "Group Memberships",
 * "Pagination" (cursor: page[size], page[after], meta.has_more,
 * links.next) and "Rate limits" in the Zendesk developer docs; the private
 * entitlements endpoint as users describe it (shared/seeds/000_*.txt).
 *
 * Every request: curl_easy_reset (connections and TLS sessions survive
 * it), then every option set again and checked, so nothing leaks from
 * one request into the next.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "rolehook/config.h"
#include "rolehook/governor.h"
#include "rolehook/httpc.h"
#include "rolehook/log.h"
#include "rolehook/oauth.h"
#include "rolehook/secretfile.h"
#include "rolehook/zendesk.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TOTAL_MS 30000L
#define DEFAULT_MAX_RESPONSE ((size_t)8 << 20)
#define MAX_RESPONSE_LIMIT ((size_t)256 << 20)
#define BUF_START ((size_t)16384)
#define URL_MAX 4096
#define AUTH_MAX 8192
#define SECRET_MAX 4096
#define JSON_DEPTH 64
#define MAX_PAGES 100000
#define MAX_COLLECT 200000      /* items one collected listing may hold */

struct zd_conf {
	struct zd_opts opts;
	char *base_url;
	char *auth;                 /* secret: wiped at free */
	struct oauth *oauth;        /* auth.oauth: the shared token */
};

struct hdrs {
	struct zd_rate_headers rl;
	char ctype[64];
};

struct zd_client {
	CURL *h;
	char *base;                 /* scheme://host[:port], no trailing '/' */
	size_t baselen;
	int http_loopback;          /* base is http:// on a loopback host */
	int entitlements;
	long connect_ms;
	long total_ms;
	size_t max_response;
	struct gov *gov;
	struct gov *write_gov;
	int64_t gov_max_wait_ms;
	struct oauth *oauth;        /* borrowed, shared; or NULL */
	uint64_t auth_gen;          /* oauth: generation in the headers */
	struct curl_slist *hdr_read;   /* both hold the Authorization line */
	struct curl_slist *hdr_write;
	char errbuf[CURL_ERROR_SIZE];
	char *buf;                  /* response body */
	size_t len, cap;
	int too_big;
	struct hdrs hd;
};

/* ------------------------------------------------------------ helpers */

/* Returns a static name for r. */
const char *
zd_strerror(enum zd_result r)
{
	switch (r) {
	case ZD_OK:
		return "ok";
	case ZD_NOT_FOUND:
		return "not found";
	case ZD_RATE_LIMITED:
		return "rate limited";
	case ZD_RETRYABLE:
		return "retryable failure";
	case ZD_PERMANENT:
		return "permanent failure";
	case ZD_UNAUTHORIZED:
		return "unauthorized";
	case ZD_BAD_RESPONSE:
		return "bad response";
	case ZD_DISABLED:
		return "disabled in configuration";
	case ZD_EINVAL:
		return "invalid argument";
	case ZD_ERROR:
		return "local error";
	}
	return "unknown result";
}

static int
has_ctl(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/* ---------------------------------------------------------- base URL */

static int
loopback_host(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcasecmp(host, "localhost") == 0;
}

/*
 * Checks url and returns its normalised origin (malloc'd) in *out;
 * *http_lb says whether it is http on loopback.  0 or -1 with err.
 */
static int
check_base_url(const char *url, int allow_http_loopback, char **out,
    int *http_lb, char *err, size_t errlen)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *s = NULL;
	char *part = NULL;
	size_t n;
	int rc = -1, lb;

	*out = NULL;
	*http_lb = 0;
	if (url == NULL || url[0] == '\0' || strlen(url) > 512 || has_ctl(url)) {
		httpc_errf(err, errlen, "expected an https:// URL");
		goto out;
	}
	if ((u = curl_url()) == NULL) {
		httpc_errf(err, errlen, "out of memory");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		httpc_errf(err, errlen, "not a valid URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK) {
		httpc_errf(err, errlen, "user information in the URL is not "
		    "allowed; put credentials in zendesk.auth");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		httpc_errf(err, errlen, "a query or fragment is not allowed");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	    strcmp(path, "/") != 0 && path[0] != '\0') {
		httpc_errf(err, errlen, "expected only scheme and host, like "
		    "\"https://acme.zendesk.com\" (no path)");
		goto out;
	}
	lb = loopback_host(host);
	if (strcmp(scheme, "https") != 0) {
		if (strcmp(scheme, "http") != 0) {
			httpc_errf(err, errlen, "only https:// is allowed");
			goto out;
		}
		if (!lb || !allow_http_loopback) {
			httpc_errf(err, errlen, "http:// is refused: use https://, "
			    "or for tests http://127.0.0.1, ::1 or localhost "
			    "with allow_http_loopback");
			goto out;
		}
		*http_lb = 1;
	}
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	n = strlen(scheme) + strlen(host) + (port != NULL ? strlen(port) : 0)
	    + 8;
	if ((s = malloc(n)) == NULL) {
		httpc_errf(err, errlen, "out of memory");
		goto out;
	}
	if (port != NULL)
		snprintf(s, n, "%s://%s:%s", scheme, host, port);
	else
		snprintf(s, n, "%s://%s", scheme, host);
	*out = s;
	s = NULL;
	rc = 0;
out:
	free(s);
	curl_free(part);
	curl_free(path);
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* ------------------------------------------------------------- config */

/*
 * A secret reference resolved by config.c (one implementation of the
 * file and environment rules), then checked for what an HTTP header
 * cannot carry.
 */
static int
resolve_secret(const struct config *cfg, int check_only, const char *ref,
    const char *where, char **out, char *err, size_t errlen)
{
	*out = NULL;
	/* zd_conf_check: the reference's form only, the secret unread. */
	if (check_only) {
		if ((strncmp(ref, "file:/", 6) != 0 || ref[6] == '\0') &&
		    (strncmp(ref, "env:", 4) != 0 || ref[4] == '\0')) {
			httpc_errf(err, errlen, "%s: secrets must be file: or env: "
			    "references", where);
			return -1;
		}
		return (*out = strdup("unread")) != NULL ? 0 : -1;
	}
	if (config_resolve_secret(cfg, where, ref, out, err, errlen) != 0)
		return -1;
	if ((*out)[0] == '\0' || has_ctl(*out)) {
		httpc_errf(err, errlen, "%s: the secret is empty or holds control "
		    "characters", where);
		OPENSSL_clear_free(*out, strlen(*out));
		*out = NULL;
		return -1;
	}
	return 0;
}

static const char *const zd_keys[] = { "base_url", "subdomain", "auth",
	"entitlements", "allow_http_loopback", "connect_timeout_ms",
	"timeout_ms", "max_response_bytes", NULL };
/* zendesk.auth without "oauth", which stands alone. */
static const char *const auth_keys[] = { "email", "token", "bearer", NULL };

static int
known_key(const char *k, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (strcmp(k, *keys) == 0)
			return 1;
	return 0;
}

/* 0, or -1 with "WHERE.KEY: unknown key" for a key of o not in keys. */
static int
check_keys(struct json_object *o, const char *const *keys, const char *where,
    char *err, size_t errlen)
{
	json_object_object_foreach(o, k, v) {
		(void)v;
		if (!known_key(k, keys)) {
			httpc_errf(err, errlen, "%s.%.64s: unknown key", where,
			    k);
			return -1;
		}
	}
	return 0;
}

static int
get_string(struct json_object *o, const char *key, const char *where,
    const char **out, char *err, size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0) {
		httpc_errf(err, errlen, "%s.%s: expected a non-empty string", where,
		    key);
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

static int
get_bool(struct json_object *o, const char *key, int *out, char *err,
    size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		httpc_errf(err, errlen, "zendesk.%s: expected true or false", key);
		return -1;
	}
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

static int
get_long(struct json_object *o, const char *key, long lo, long hi,
    long *out, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		httpc_errf(err, errlen, "zendesk.%s: expected an integer", key);
		return -1;
	}
	errno = 0;
	x = json_object_get_int64(v);
	if (errno != 0 || x < lo || x > hi) {
		httpc_errf(err, errlen, "zendesk.%s: expected %ld..%ld", key, lo, hi);
		return -1;
	}
	*out = (long)x;
	return 0;
}

/* "Basic base64(email/token:token)" ("API token" auth, Zendesk docs). */
static int
basic_auth(const char *email, const char *token, char **out)
{
	char *raw = NULL, *val = NULL;
	size_t rawlen, b64len = 0;
	int rc = -1;

	rawlen = strlen(email) + strlen("/token:") + strlen(token);
	if (rawlen > SECRET_MAX * 2)
		goto out;
	if ((raw = malloc(rawlen + 1)) == NULL)
		goto out;
	snprintf(raw, rawlen + 1, "%s/token:%s", email, token);
	b64len = 4 * ((rawlen + 2) / 3);
	if ((val = malloc(6 + b64len + 1)) == NULL)
		goto out;
	memcpy(val, "Basic ", 6);
	if (EVP_EncodeBlock((unsigned char *)val + 6,
	    (const unsigned char *)raw, (int)rawlen) != (int)b64len)
		goto out;
	val[6 + b64len] = '\0';
	*out = val;
	val = NULL;
	rc = 0;
out:
	OPENSSL_clear_free(raw, rawlen + 1);
	OPENSSL_clear_free(val, 6 + b64len + 1);
	return rc;
}

/*
 * zendesk.auth.oauth: {client_id, client_secret, scope} (client
 * credentials) or {client_id, client_secret, refresh_token_file}.
 * Creates zc->oauth (no request yet).  ZD_OK or ZD_EINVAL/ZD_ERROR.
 */
static enum zd_result
oauth_conf(const struct config *cfg, int check_only, struct json_object *oa,
    struct zd_conf *zc, char *err, size_t errlen)
{
	static const char *const keys[] = { "client_id", "client_secret",
		"scope", "refresh_token_file", NULL };
	struct oauth_opts oo;
	const char *id = NULL, *secref = NULL, *scope = NULL, *rfile = NULL;
	char *secret = NULL, e2[200];
	enum zd_result rc = ZD_EINVAL;
	size_t i;

	if (!json_object_is_type(oa, json_type_object)) {
		httpc_errf(err, errlen, "zendesk.auth.oauth: expected an object with "
		    "client_id, client_secret and scope or refresh_token_file");
		goto out;
	}
	if (check_keys(oa, keys, "zendesk.auth.oauth", err, errlen) != 0)
		goto out;
	if (get_string(oa, "client_id", "zendesk.auth.oauth", &id, err,
	    errlen) != 0 ||
	    get_string(oa, "client_secret", "zendesk.auth.oauth", &secref,
	    err, errlen) != 0 ||
	    get_string(oa, "scope", "zendesk.auth.oauth", &scope, err,
	    errlen) != 0 ||
	    get_string(oa, "refresh_token_file", "zendesk.auth.oauth", &rfile,
	    err, errlen) != 0)
		goto out;
	if (id == NULL || secref == NULL) {
		httpc_errf(err, errlen, "zendesk.auth.oauth: expected client_id and "
		    "client_secret");
		goto out;
	}
	/* The client's "unique identifier" in the Admin Center. */
	for (i = 0; id[i] != '\0'; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' &&
		    id[i] != '-' && id[i] != '.')
			break;
	if (id[i] != '\0' || i > 128) {
		httpc_errf(err, errlen, "zendesk.auth.oauth.client_id: expected the "
		    "OAuth client's unique identifier (letters, digits, "
		    "'_', '-', '.')");
		goto out;
	}
	if (scope != NULL && rfile != NULL) {
		httpc_errf(err, errlen, "zendesk.auth.oauth: scope is for the client "
		    "credentials grant; with refresh_token_file the scope is "
		    "the refresh token's");
		goto out;
	}
	if (scope != NULL && (has_ctl(scope) || strlen(scope) > 512)) {
		httpc_errf(err, errlen, "zendesk.auth.oauth.scope: expected scopes "
		    "separated by spaces, like \"read write\"");
		goto out;
	}
	if (rfile != NULL && (rfile[0] != '/' || has_ctl(rfile) ||
	    strlen(rfile) > ZD_REFRESH_PATH_MAX)) {
		httpc_errf(err, errlen, "zendesk.auth.oauth.refresh_token_file: "
		    "expected an absolute path of at most %d bytes",
		    ZD_REFRESH_PATH_MAX);
		goto out;
	}
	if (resolve_secret(cfg, check_only, secref, "zendesk.auth.oauth.client_secret",
	    &secret, err, errlen) != 0)
		goto out;
	memset(&oo, 0, sizeof(oo));
	oo.base_url = zc->base_url;
	oo.client_id = id;
	oo.client_secret = secret;
	oo.scope = scope;
	oo.refresh_file = rfile;
	oo.allow_http_loopback = zc->opts.allow_http_loopback;
	oo.connect_timeout_ms = zc->opts.connect_timeout_ms;
	oo.timeout_ms = zc->opts.timeout_ms;
	if (oauth_new(&oo, &zc->oauth, e2, sizeof(e2)) != OAUTH_OK) {
		rc = ZD_ERROR;
		httpc_errf(err, errlen, "zendesk.auth.oauth: %s", e2);
		goto out;
	}
	rc = ZD_OK;
out:
	secretfile_free(secret);
	return rc;
}

int
zd_conf_api_token(const struct config *cfg)
{
	struct json_object *z, *auth;

	return cfg != NULL && cfg->root != NULL &&
	    json_object_object_get_ex(cfg->root, "zendesk", &z) &&
	    json_object_object_get_ex(z, "auth", &auth) &&
	    json_object_is_type(auth, json_type_object) &&
	    json_object_object_get_ex(auth, "token", NULL);
}

int
zd_conf_check_refresh_file(const struct config *cfg, char *err, size_t errlen)
{
	struct json_object *z, *auth, *oa, *f;
	char *tok = NULL, *dir, *slash, e[512];
	int rc = -1;

	if (cfg == NULL || cfg->root == NULL ||
	    !json_object_object_get_ex(cfg->root, "zendesk", &z) ||
	    !json_object_object_get_ex(z, "auth", &auth) ||
	    !json_object_object_get_ex(auth, "oauth", &oa) ||
	    !json_object_object_get_ex(oa, "refresh_token_file", &f) ||
	    !json_object_is_type(f, json_type_string))
		return 0;
	if (oauth_read_file(json_object_get_string(f), &tok, e,
	    sizeof(e)) != 0) {
		httpc_errf(err, errlen, "zendesk.auth.oauth.refresh_token_file: %s "
		    "(run check as the user that runs work; the first token "
		    "comes from the Admin Center: docs/operations.md, OAuth)",
		    e);
		return -1;
	}
	OPENSSL_clear_free(tok, strlen(tok));
	if ((dir = strdup(json_object_get_string(f))) == NULL) {
		httpc_errf(err, errlen, "out of memory");
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	/* The new token goes to FILE.tmp, renamed over FILE, FILE.lock
	 * beside them: the directory must take new files. */
	if (access(dir, W_OK | X_OK) != 0)
		httpc_errf(err, errlen, "zendesk.auth.oauth.refresh_token_file: "
		    "directory %s: %s; rolehook replaces the file by writing "
		    "a new one beside it and renaming it, so work's user must "
		    "be able to create files there", dir, strerror(errno));
	else
		rc = 0;
	free(dir);
	return rc;
}

/*
 * Resolves cfg->root.zendesk into a zd_conf (caller frees with
 * zd_conf_free).  ZD_OK, or ZD_EINVAL/ZD_ERROR with err naming the
 * JSON path; secrets never reach err.
 */
static enum zd_result conf_load(const struct config *cfg, int check_only,
    struct zd_conf **out, char *err, size_t errlen);

/* zd_conf_load with the credential's reference checked, not read. */
enum zd_result
zd_conf_check(const struct config *cfg, char *err, size_t errlen)
{
	struct zd_conf *zc = NULL;
	enum zd_result rc;

	rc = conf_load(cfg, 1, &zc, err, errlen);
	zd_conf_free(zc);
	return rc;
}

enum zd_result
zd_conf_load(const struct config *cfg, struct zd_conf **out, char *err,
    size_t errlen)
{
	enum zd_result rc = conf_load(cfg, 0, out, err, errlen);
	const char *path = cfg->path != NULL ? cfg->path : "(config)";
	size_t plen = strlen(path) + 2, n;

	/*
	 * Every message names the file once: config_resolve_secret's do
	 * already ("FILE: zendesk.auth.token: ..."), the others get it here.
	 */
	if (rc == ZD_OK || errlen <= plen || (strncmp(err, path, plen - 2) == 0
	    && strncmp(err + plen - 2, ": ", 2) == 0))
		return rc;
	n = strnlen(err, errlen - 1);
	if (n > errlen - 1 - plen)
		n = errlen - 1 - plen;
	memmove(err + plen, err, n);
	err[plen + n] = '\0';
	memcpy(err, path, plen - 2);
	memcpy(err + plen - 2, ": ", 2);
	return rc;
}

const char *
zd_conf_auth_advice(const struct config *cfg)
{
	struct json_object *z, *auth, *oa;

	if (cfg == NULL || cfg->root == NULL ||
	    !json_object_object_get_ex(cfg->root, "zendesk", &z) ||
	    !json_object_object_get_ex(z, "auth", &auth) ||
	    !json_object_is_type(auth, json_type_object))
		return "check zendesk.auth";
	if (json_object_object_get_ex(auth, "oauth", &oa))
		return json_object_object_get_ex(oa, "refresh_token_file", NULL) ?
		    "check zendesk.auth.oauth: client_id and client_secret "
		    "(Admin Center > Apps and integrations > APIs > OAuth "
		    "clients) and the refresh token in refresh_token_file, "
		    "granted by a user who is still an admin, with the scopes "
		    "rolehook needs (read; write for work and roles sync)" :
		    "check zendesk.auth.oauth: client_id and client_secret "
		    "(Admin Center > Apps and integrations > APIs > OAuth "
		    "clients; a confidential client), and that its scope "
		    "includes read (write for work and roles sync)";
	if (json_object_object_get_ex(auth, "bearer", NULL))
		return "check zendesk.auth.bearer: the access token may have "
		    "expired or been revoked, or lack the read scope or an "
		    "admin user; zendesk.auth.oauth renews tokens by itself";
	return "check zendesk.auth: the API token and the admin e-mail it "
	    "belongs to, that the token is active in Admin Center > Apps and "
	    "integrations > Zendesk API, and that the user is an admin";
}

static enum zd_result
conf_load(const struct config *cfg, int check_only, struct zd_conf **out,
    char *err, size_t errlen)
{
	struct zd_conf *zc = NULL;
	struct json_object *z, *auth, *oa;
	const char *base = NULL, *sub = NULL, *email = NULL, *tokref = NULL;
	const char *bearer = NULL;
	char *secret = NULL, *url = NULL;
	long v;
	size_t i, n;
	int lb;
	enum zd_result rc = ZD_EINVAL;

	*out = NULL;
	if (cfg == NULL || cfg->root == NULL ||
	    !json_object_object_get_ex(cfg->root, "zendesk", &z) ||
	    !json_object_is_type(z, json_type_object)) {
		httpc_errf(err, errlen, "zendesk: missing; expected an object with "
		    "base_url or subdomain, and auth");
		goto out;
	}
	if (check_keys(z, zd_keys, "zendesk", err, errlen) != 0)
		goto out;
	if ((zc = calloc(1, sizeof(*zc))) == NULL) {
		rc = ZD_ERROR;
		httpc_errf(err, errlen, "zendesk: out of memory");
		goto out;
	}
	if (get_string(z, "base_url", "zendesk", &base, err, errlen) != 0 ||
	    get_string(z, "subdomain", "zendesk", &sub, err, errlen) != 0)
		goto out;
	if ((base == NULL) == (sub == NULL)) {
		httpc_errf(err, errlen, "zendesk: expected exactly one of base_url "
		    "and subdomain");
		goto out;
	}
	if (sub != NULL) {
		n = strlen(sub);
		for (i = 0; i < n; i++)
			if (!islower((unsigned char)sub[i]) &&
			    !isdigit((unsigned char)sub[i]) && sub[i] != '-')
				break;
		if (n > 63 || i < n || sub[0] == '-') {
			httpc_errf(err, errlen, "zendesk.subdomain: expected the "
			    "lowercase name before .zendesk.com");
			goto out;
		}
		n += sizeof("https://.zendesk.com");
		if ((url = malloc(n)) == NULL) {
			rc = ZD_ERROR;
			httpc_errf(err, errlen, "zendesk: out of memory");
			goto out;
		}
		snprintf(url, n, "https://%s.zendesk.com", sub);
		base = url;
	}
	if (get_bool(z, "entitlements", &zc->opts.entitlements, err,
	    errlen) != 0 ||
	    get_bool(z, "allow_http_loopback", &zc->opts.allow_http_loopback,
	    err, errlen) != 0)
		goto out;
	v = 0;
	if (get_long(z, "connect_timeout_ms", 1, 600000, &v, err,
	    errlen) != 0)
		goto out;
	zc->opts.connect_timeout_ms = v;
	v = 0;
	if (get_long(z, "timeout_ms", 1, 3600000, &v, err, errlen) != 0)
		goto out;
	zc->opts.timeout_ms = v;
	v = 0;
	if (get_long(z, "max_response_bytes", 1024, (long)MAX_RESPONSE_LIMIT,
	    &v, err, errlen) != 0)
		goto out;
	zc->opts.max_response = (size_t)v;
	{
		char e2[200];

		if (check_base_url(base, zc->opts.allow_http_loopback,
		    &zc->base_url, &lb, e2, sizeof(e2)) != 0) {
			httpc_errf(err, errlen, "zendesk.%s: %s", sub != NULL ?
			    "subdomain" : "base_url", e2);
			goto out;
		}
	}
	if (!json_object_object_get_ex(z, "auth", &auth) ||
	    !json_object_is_type(auth, json_type_object)) {
		httpc_errf(err, errlen, "zendesk.auth: missing; expected {\"email\", "
		    "\"token\"}, {\"bearer\"} or {\"oauth\"}");
		goto out;
	}
	if (json_object_object_get_ex(auth, "oauth", &oa)) {
		if (json_object_object_length(auth) != 1) {
			httpc_errf(err, errlen, "zendesk.auth: expected {\"oauth\": "
			    "{...}} alone");
			goto out;
		}
		zc->opts.base_url = zc->base_url;
		rc = oauth_conf(cfg, check_only, oa, zc, err, errlen);
		if (rc != ZD_OK)
			goto out;
		zc->opts.oauth = zc->oauth;
		zc->opts.gov_max_wait_ms = -1;
		*out = zc;
		zc = NULL;
		goto out;
	}
	if (check_keys(auth, auth_keys, "zendesk.auth", err, errlen) != 0)
		goto out;
	if (get_string(auth, "email", "zendesk.auth", &email, err,
	    errlen) != 0 ||
	    get_string(auth, "token", "zendesk.auth", &tokref, err,
	    errlen) != 0 ||
	    get_string(auth, "bearer", "zendesk.auth", &bearer, err,
	    errlen) != 0)
		goto out;
	if (bearer != NULL && (email != NULL || tokref != NULL)) {
		httpc_errf(err, errlen, "zendesk.auth: expected either {\"email\", "
		    "\"token\"} or {\"bearer\"}, not both");
		goto out;
	}
	if (bearer != NULL) {
		if (resolve_secret(cfg, check_only, bearer, "zendesk.auth.bearer", &secret,
		    err, errlen) != 0)
			goto out;
		n = strlen(secret) + sizeof("Bearer ");
		if ((zc->auth = malloc(n)) == NULL) {
			rc = ZD_ERROR;
			httpc_errf(err, errlen, "zendesk: out of memory");
			goto out;
		}
		snprintf(zc->auth, n, "Bearer %s", secret);
	} else {
		if (email == NULL || tokref == NULL) {
			httpc_errf(err, errlen, "zendesk.auth: expected \"email\" and "
			    "\"token\" (or \"bearer\")");
			goto out;
		}
		if (strchr(email, '@') == NULL || strchr(email, ':') != NULL ||
		    has_ctl(email) || strlen(email) > 254) {
			httpc_errf(err, errlen, "zendesk.auth.email: expected the "
			    "email address of the API user");
			goto out;
		}
		if (resolve_secret(cfg, check_only, tokref, "zendesk.auth.token", &secret,
		    err, errlen) != 0)
			goto out;
		if (basic_auth(email, secret, &zc->auth) != 0) {
			rc = ZD_ERROR;
			httpc_errf(err, errlen, "zendesk.auth: cannot encode");
			goto out;
		}
	}
	zc->opts.base_url = zc->base_url;
	zc->opts.auth = zc->auth;
	zc->opts.gov_max_wait_ms = -1;
	*out = zc;
	zc = NULL;
	rc = ZD_OK;
out:
	secretfile_free(secret);
	free(url);
	zd_conf_free(zc);
	return rc;
}

/* Returns options borrowed from conf (valid until zd_conf_free). */
const struct zd_opts *
zd_conf_opts(const struct zd_conf *conf)
{
	return &conf->opts;
}

/* Wipes the credential and frees conf.  NULL is a no-op. */
void
zd_conf_free(struct zd_conf *conf)
{
	if (conf == NULL)
		return;
	secretfile_free(conf->auth);
	oauth_free(conf->oauth);
	free(conf->base_url);
	free(conf);
}

/* ------------------------------------------------------------- client */

/* Wipes every header line (one holds the credential), then frees. */
static void
slist_wipe_free(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* Appends line to *l; 0 or -1 (then *l is freed). */
static int
slist_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (n == NULL) {
		slist_wipe_free(*l);
		*l = NULL;
		return -1;
	}
	*l = n;
	return 0;
}

static int
build_headers(struct zd_client *c, const char *auth)
{
	char *line = NULL;
	size_t n = strlen(auth) + sizeof("Authorization: ");
	int rc = -1;

	if ((line = malloc(n)) == NULL)
		goto out;
	snprintf(line, n, "Authorization: %s", auth);
	/* "Expect:" off: no 100-continue round trip on larger bodies. */
	if (slist_add(&c->hdr_read, line) != 0 ||
	    slist_add(&c->hdr_read, "Accept: application/json") != 0 ||
	    slist_add(&c->hdr_write, line) != 0 ||
	    slist_add(&c->hdr_write, "Accept: application/json") != 0 ||
	    slist_add(&c->hdr_write, "Content-Type: application/json") != 0 ||
	    slist_add(&c->hdr_write, "Expect:") != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_clear_free(line, n);
	return rc;
}

/*
 * Creates a client owning one easy handle; o is copied except o->gov
 * (borrowed).  ZD_OK with *out set, else *out NULL and err filled.
 */
enum zd_result
zd_client_new(const struct zd_opts *o, struct zd_client **out, char *err,
    size_t errlen)
{
	struct zd_client *c = NULL;
	enum zd_result rc = ZD_EINVAL;
	char e2[200];

	*out = NULL;
	if (o == NULL || (o->oauth == NULL && (o->auth == NULL ||
	    o->auth[0] == '\0' || has_ctl(o->auth) ||
	    strlen(o->auth) > AUTH_MAX))) {
		httpc_errf(err, errlen, "zendesk: the auth value is missing or holds "
		    "control characters");
		goto out;
	}
	if (o->connect_timeout_ms < 0 || o->timeout_ms < 0 ||
	    o->max_response > MAX_RESPONSE_LIMIT) {
		httpc_errf(err, errlen, "zendesk: a timeout or size limit is out of "
		    "range");
		goto out;
	}
	rc = ZD_ERROR;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		httpc_errf(err, errlen, "zendesk: out of memory");
		goto out;
	}
	if (check_base_url(o->base_url, o->allow_http_loopback, &c->base,
	    &c->http_loopback, e2, sizeof(e2)) != 0) {
		rc = ZD_EINVAL;
		httpc_errf(err, errlen, "zendesk: base URL: %s", e2);
		goto out;
	}
	c->baselen = strlen(c->base);
	c->entitlements = o->entitlements ? 1 : 0;
	c->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
	    DEFAULT_CONNECT_MS;
	c->total_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TOTAL_MS;
	c->max_response = o->max_response > 0 ? o->max_response :
	    DEFAULT_MAX_RESPONSE;
	c->gov = o->gov;
	c->write_gov = o->write_gov;
	c->gov_max_wait_ms = o->gov_max_wait_ms;
	c->oauth = o->oauth;
	/* OAuth: the headers are built per token generation (perform). */
	if (c->oauth == NULL && build_headers(c, o->auth) != 0) {
		httpc_errf(err, errlen, "zendesk: out of memory");
		goto out;
	}
	if ((c->h = curl_easy_init()) == NULL) {
		httpc_errf(err, errlen, "zendesk: curl_easy_init failed");
		goto out;
	}
	*out = c;
	c = NULL;
	rc = ZD_OK;
out:
	zd_client_free(c);
	return rc;
}

/* Frees c, wiping the header lines that hold the credential. */
void
zd_client_free(struct zd_client *c)
{
	if (c == NULL)
		return;
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	slist_wipe_free(c->hdr_read);
	slist_wipe_free(c->hdr_write);
	free(c->base);
	free(c->buf);
	free(c);
}

/* Puts res->body and resets every field (retry_after_s to -1). */
void
zd_response_clear(struct zd_response *res)
{
	if (res == NULL)
		return;
	json_object_put(res->body);
	memset(res, 0, sizeof(*res));
	res->retry_after_s = -1;
}

/* Points h into res's header buffers (borrowed); absent ones NULL. */
void
zd_response_headers(const struct zd_response *res, struct gov_headers *h)
{
#define HDR(f) (res->rl.f[0] != '\0' ? res->rl.f : NULL)
	h->x_rate_limit = HDR(x_rate_limit);
	h->x_rate_limit_remaining = HDR(x_rate_limit_remaining);
	h->ratelimit_limit = HDR(ratelimit_limit);
	h->ratelimit_remaining = HDR(ratelimit_remaining);
	h->ratelimit_reset = HDR(ratelimit_reset);
	h->retry_after = HDR(retry_after);
#undef HDR
}

/* ----------------------------------------------------------- transfer */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct zd_client *c = arg;
	size_t n = size * nmemb, ncap;
	char *p;

	if (n > c->max_response - c->len) {
		c->too_big = 1;
		return 0;                  /* CURLE_WRITE_ERROR */
	}
	if (c->len + n + 1 > c->cap) {
		ncap = c->cap > 0 ? c->cap : BUF_START;
		while (ncap < c->len + n + 1)
			ncap *= 2;
		if (ncap > c->max_response + 1)
			ncap = c->max_response + 1;
		if ((p = realloc(c->buf, ncap)) == NULL)
			return 0;
		c->buf = p;
		c->cap = ncap;
	}
	memcpy(c->buf + c->len, ptr, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return n;
}

static void
store_header(char *dst, size_t cap, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n >= cap) {
		/* Too long to be a number: keep something the parser rejects. */
		snprintf(dst, cap, "%s", "invalid");
		return;
	}
	httpc_printable(dst, cap, v, n);
}

static size_t
on_header(char *ptr, size_t size, size_t nitems, void *arg)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "x-rate-limit", offsetof(struct hdrs, rl.x_rate_limit) },
		{ "x-rate-limit-remaining",
		  offsetof(struct hdrs, rl.x_rate_limit_remaining) },
		{ "ratelimit-limit", offsetof(struct hdrs, rl.ratelimit_limit) },
		{ "ratelimit-remaining",
		  offsetof(struct hdrs, rl.ratelimit_remaining) },
		{ "ratelimit-reset", offsetof(struct hdrs, rl.ratelimit_reset) },
		{ "retry-after", offsetof(struct hdrs, rl.retry_after) },
	};
	struct zd_client *c = arg;
	size_t n = size * nitems, i, nl;
	const char *colon;

	/* A new status line starts a new header block (1xx, then final). */
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		memset(&c->hd, 0, sizeof(c->hd));
		return n;
	}
	if ((colon = memchr(ptr, ':', n)) == NULL)
		return n;
	nl = (size_t)(colon - ptr);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == nl &&
		    strncasecmp(ptr, known[i].name, nl) == 0) {
			store_header((char *)&c->hd + known[i].off, ZD_HDRLEN,
			    colon + 1, n - nl - 1);
			return n;
		}
	if (nl == 12 && strncasecmp(ptr, "content-type", 12) == 0)
		store_header(c->hd.ctype, sizeof(c->hd.ctype), colon + 1,
		    n - nl - 1);
	return n;
}

/* Sets one option; on failure records which and fails the request. */
#define SETOPT(opt, val) do { \
	CURLcode e_ = curl_easy_setopt(c->h, opt, val); \
	if (e_ != CURLE_OK) { \
		httpc_errf(res->reason, sizeof(res->reason), \
		    "curl_easy_setopt(%s): %s", #opt, curl_easy_strerror(e_)); \
		goto out; \
	} \
} while (0)

static int
setup(struct zd_client *c, const char *method, const char *url,
    const char *body, size_t bodylen, struct zd_response *res)
{
	struct httpc_opts ho;
	const char *failed = "";
	CURLcode e;
	int rc = -1;

	curl_easy_reset(c->h);
	c->errbuf[0] = '\0';
	ho.url = url;
	ho.http_loopback = c->http_loopback;
	ho.connect_ms = c->connect_ms;
	ho.total_ms = c->total_ms;
	ho.max_response = (curl_off_t)c->max_response;
	ho.errbuf = c->errbuf;
	ho.write = on_body;
	ho.write_arg = c;
	if ((e = httpc_setup(c->h, &ho, &failed)) != CURLE_OK) {
		httpc_errf(res->reason, sizeof(res->reason),
		    "curl_easy_setopt(%s): %s", failed, curl_easy_strerror(e));
		goto out;
	}
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, c);
	if (strcmp(method, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
		SETOPT(CURLOPT_HTTPHEADER, c->hdr_read);
	} else if (strcmp(method, "DELETE") == 0) {
		SETOPT(CURLOPT_CUSTOMREQUEST, "DELETE");
		SETOPT(CURLOPT_HTTPHEADER, c->hdr_read);
	} else {
		SETOPT(CURLOPT_POST, 1L);
		if (strcmp(method, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, method);
		SETOPT(CURLOPT_POSTFIELDS, body != NULL ? body : "");
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
		SETOPT(CURLOPT_HTTPHEADER, c->hdr_write);
	}
	rc = 0;
out:
	return rc;
}
#undef SETOPT

/* "error", "description" and the first "details" entry of an error body. */
static void
error_reason(struct zd_response *res, const char *prefix)
{
	struct json_object *b = res->body, *v, *d, *arr, *first, *desc;
	char tmp[ZD_ERRLEN];
	const char *e = NULL, *ds = NULL, *det = NULL, *field = NULL;

	if (b != NULL && json_object_is_type(b, json_type_object)) {
		if (json_object_object_get_ex(b, "error", &v)) {
			if (json_object_is_type(v, json_type_string))
				e = json_object_get_string(v);
			else if (json_object_is_type(v, json_type_object) &&
			    json_object_object_get_ex(v, "title", &d) &&
			    json_object_is_type(d, json_type_string))
				e = json_object_get_string(d);
		}
		if (json_object_object_get_ex(b, "description", &v) &&
		    json_object_is_type(v, json_type_string))
			ds = json_object_get_string(v);
		if (json_object_object_get_ex(b, "details", &d) &&
		    json_object_is_type(d, json_type_object)) {
			json_object_object_foreach(d, k, val) {
				arr = val;
				if (!json_object_is_type(arr, json_type_array) ||
				    json_object_array_length(arr) == 0)
					continue;
				first = json_object_array_get_idx(arr, 0);
				if (json_object_is_type(first,
				    json_type_object) &&
				    json_object_object_get_ex(first,
				    "description", &desc) &&
				    json_object_is_type(desc, json_type_string)) {
					field = k;
					det = json_object_get_string(desc);
					break;
				}
			}
		}
	}
	snprintf(tmp, sizeof(tmp), "%s: HTTP %ld%s%s%s%s%s%s%s%s%s", prefix,
	    res->status, e != NULL ? ": " : "", e != NULL ? e : "",
	    ds != NULL ? ": " : "", ds != NULL ? ds : "",
	    det != NULL ? " (" : "", field != NULL ? field : "",
	    det != NULL ? ": " : "", det != NULL ? det : "",
	    det != NULL ? ")" : "");
	httpc_printable(res->reason, sizeof(res->reason), tmp, strlen(tmp));
}

/* Parses c->buf as one JSON document; NULL if it is not one. */
static struct json_object *
parse_body(const struct zd_client *c)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	size_t end;

	if (c->len == 0 || c->len > INT32_MAX)
		goto out;
	if ((tok = json_tokener_new_ex(JSON_DEPTH)) == NULL)
		goto out;
	o = json_tokener_parse_ex(tok, c->buf, (int)c->len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
		goto out;
	}
	/* Nothing but blanks may follow the document. */
	for (end = json_tokener_get_parse_end(tok); end < c->len; end++)
		if (!isspace((unsigned char)c->buf[end])) {
			json_object_put(o);
			o = NULL;
			goto out;
		}
out:
	if (tok != NULL)
		json_tokener_free(tok);
	return o;
}

static int
is_retryable_curl(CURLcode e)
{
	switch (e) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

/* The path part of url for logs: no origin, no query (emails live there). */
static void
log_path(const struct zd_client *c, const char *url, char *dst, size_t cap)
{
	const char *p = url, *q;

	if (strncmp(url, c->base, c->baselen) == 0)
		p = url + c->baselen;
	q = strchr(p, '?');
	httpc_printable(dst, cap, p, q != NULL ? (size_t)(q - p) : strlen(p));
}

/*
 * A request the local budget keeps back (nothing sent): ZD_RATE_LIMITED,
 * with the wait in res->retry_after_s and who asked for it in the reason.
 */
static enum zd_result
budget_wait(struct zd_response *res, int64_t wait_ms, const char *who)
{
	res->retry_after_s = (long)((wait_ms + 999) / 1000);
	httpc_errf(res->reason, sizeof(res->reason), "%s asks for a %" PRId64
	    " ms wait", who, wait_ms);
	return ZD_RATE_LIMITED;
}

/*
 * OAuth: points the header lists at the current access token, getting a
 * new one first if it is due (oauth.h).  ZD_OK, or the failure in res.
 */
static enum zd_result
oauth_headers(struct zd_client *c, struct zd_response *res)
{
	char val[AUTH_MAX], e2[ZD_ERRLEN];
	uint64_t gen = 0;
	enum oauth_result r;
	enum zd_result rc = ZD_ERROR;

	r = oauth_header(c->oauth, val, sizeof(val), &gen, e2, sizeof(e2));
	if (r != OAUTH_OK) {
		/*
		 * No request was sent: the event is not at fault.  A refusal
		 * is ZD_UNAUTHORIZED with status 0 (the worker retries it until
		 * the credential is fixed); an unreachable or garbled token
		 * endpoint, or a refresh token file that cannot be read or
		 * locked right now, is retried like a 5xx.
		 */
		rc = r == OAUTH_DENIED ? ZD_UNAUTHORIZED :
		    r == OAUTH_EINVAL ? ZD_EINVAL : ZD_RETRYABLE;
		httpc_printable(res->reason, sizeof(res->reason), e2,
		    strlen(e2));
		goto out;
	}
	if (gen != c->auth_gen || c->hdr_read == NULL) {
		slist_wipe_free(c->hdr_read);
		slist_wipe_free(c->hdr_write);
		c->hdr_read = c->hdr_write = NULL;
		if (build_headers(c, val) != 0) {
			httpc_errf(res->reason, sizeof(res->reason), "out of memory");
			goto out;
		}
		c->auth_gen = gen;
	}
	rc = ZD_OK;
out:
	OPENSSL_cleanse(val, sizeof(val));
	return rc;
}

static enum zd_result perform_once(struct zd_client *c, const char *method,
    const char *url, struct json_object *body, struct zd_response *res);

/*
 * Sends one request to url (absolute, already checked) and classifies
 * the answer.  body may be NULL.  res is cleared first.  With OAuth a 401
 * means the access token expired or was revoked: a new one is fetched
 * (or the one another thread just fetched is taken) and the request is
 * sent once more, so callers never see an expired token.
 */
static enum zd_result
perform(struct zd_client *c, const char *method, const char *url,
    struct json_object *body, struct zd_response *res)
{
	enum zd_result r;

	if (c->oauth != NULL) {
		zd_response_clear(res);
		if ((r = oauth_headers(c, res)) != ZD_OK)
			return r;
	}
	r = perform_once(c, method, url, body, res);
	if (r != ZD_UNAUTHORIZED || res->status != 401 || c->oauth == NULL)
		return r;
	oauth_invalidate(c->oauth, c->auth_gen);
	zd_response_clear(res);
	if ((r = oauth_headers(c, res)) != ZD_OK)
		return r;
	return perform_once(c, method, url, body, res);
}

static enum zd_result
perform_once(struct zd_client *c, const char *method, const char *url,
    struct json_object *body, struct zd_response *res)
{
	const char *payload = NULL;
	size_t plen = 0;
	struct gov_headers gh;
	struct timespec t0 = { 0, 0 }, t1 = { 0, 0 };
	char lp[160], ms[24], st[8];
	enum zd_result rc = ZD_ERROR;
	CURLcode e;
	long status = 0;
	int64_t w;

	zd_response_clear(res);
	/* Nothing is owned yet and nothing was sent: no log line either. */
	if (c->gov != NULL && (w = gov_acquire(c->gov,
	    c->gov_max_wait_ms)) > 0)
		return budget_wait(res, w, "rate budget: the governor");
	/*
	 * The write cap last, right before sending: a wait in the account's
	 * governor after it would let two writes out closer than the cap.
	 * A Retry-After that another thread learned while this one waited
	 * for its write slot still holds it back.
	 */
	if (c->write_gov != NULL && strcmp(method, "GET") != 0) {
		struct gov_stats gs;

		if ((w = gov_acquire(c->write_gov, c->gov_max_wait_ms)) > 0)
			return budget_wait(res, w, "write budget: "
			    "policy.limits.writes_per_minute");
		if (c->gov != NULL) {
			gov_stats(c->gov, &gs);
			if (gs.paused_ms > 0)
				return budget_wait(res, gs.paused_ms, "rate "
				    "budget: a Retry-After from Zendesk");
		}
	}
	if (body != NULL) {
		payload = json_object_to_json_string_ext(body,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (payload == NULL) {
			httpc_errf(res->reason, sizeof(res->reason), "out of memory");
			goto out;
		}
		plen = strlen(payload);
	}
	c->len = 0;
	c->too_big = 0;
	memset(&c->hd, 0, sizeof(c->hd));
	if (setup(c, method, url, payload, plen, res) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = curl_easy_perform(c->h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (e == CURLE_OK &&
	    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK)
		status = 0;
	res->status = status;
	res->rl = c->hd.rl;
	if (c->gov != NULL) {
		zd_response_headers(res, &gh);
		gov_observe(c->gov, (int)status, &gh);
	}
	if (e != CURLE_OK) {
		if (c->too_big || e == CURLE_FILESIZE_EXCEEDED) {
			rc = ZD_BAD_RESPONSE;
			httpc_errf(res->reason, sizeof(res->reason), "%s: response "
			    "larger than %zu bytes", method, c->max_response);
		} else {
			rc = is_retryable_curl(e) ? ZD_RETRYABLE :
			    e == CURLE_UNSUPPORTED_PROTOCOL ? ZD_EINVAL :
			    ZD_ERROR;
			httpc_errf(res->reason, sizeof(res->reason), "%s: %s%s%s",
			    method, curl_easy_strerror(e),
			    c->errbuf[0] != '\0' ? ": " : "", c->errbuf);
		}
		goto out;
	}
	if (c->len > 0)
		res->body = parse_body(c);
	if (status == 429 || status == 503) {
		struct gov_parsed gp;

		zd_response_headers(res, &gh);
		gov_parse_headers(&gh, &gp);
		res->retry_after_s = gp.retry_after_s;
		if (status == 429 && res->retry_after_s < 0)
			res->retry_after_s = gp.reset_s > 0 ? gp.reset_s : 60;
	}
	if (status >= 200 && status < 300) {
		if (c->len > 0 && res->body == NULL) {
			rc = ZD_BAD_RESPONSE;
			httpc_errf(res->reason, sizeof(res->reason), "%s: HTTP %ld "
			    "with a body that is not JSON", method, status);
			goto out;
		}
		rc = ZD_OK;
	} else if (status == 404) {
		rc = ZD_NOT_FOUND;
		error_reason(res, method);
	} else if (status == 429) {
		rc = ZD_RATE_LIMITED;
		error_reason(res, method);
	} else if (status == 401 || status == 403) {
		rc = ZD_UNAUTHORIZED;
		error_reason(res, method);
	} else if (status == 409 || (status >= 500 && status < 600)) {
		rc = ZD_RETRYABLE;
		error_reason(res, method);
	} else if (status >= 300 && status < 500) {
		rc = ZD_PERMANENT;
		error_reason(res, method);
		if (status < 400)
			httpc_errf(res->reason, sizeof(res->reason), "%s: HTTP %ld: "
			    "redirects are not followed", method, status);
	} else {
		rc = ZD_BAD_RESPONSE;
		httpc_errf(res->reason, sizeof(res->reason), "%s: unexpected HTTP "
		    "status %ld", method, status);
	}
out:
	log_path(c, url, lp, sizeof(lp));
	snprintf(st, sizeof(st), "%ld", status);
	snprintf(ms, sizeof(ms), "%ld", (long)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	log_kv(rc == ZD_OK || rc == ZD_NOT_FOUND ? LOG_DEBUG : LOG_WARN,
	    "zendesk request", "method", method, "path", lp, "status", st,
	    "ms", ms, "result", zd_strerror(rc),
	    rc != ZD_OK ? "reason" : NULL, rc != ZD_OK ? res->reason : NULL,
	    (const char *)NULL);
	return rc;
}

/* Builds base + path (printf-style) into url[URL_MAX]; 0 or -1. */
static int build_url(const struct zd_client *c, char *url, size_t cap,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
build_url(const struct zd_client *c, char *url, size_t cap,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->baselen + 1 >= cap)
		return -1;
	memcpy(url, c->base, c->baselen);
	va_start(ap, fmt);
	n = vsnprintf(url + c->baselen, cap - c->baselen, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= cap - c->baselen) ? -1 : 0;
}

static enum zd_result
bad_arg(struct zd_response *res, const char *what)
{
	zd_response_clear(res);
	httpc_errf(res->reason, sizeof(res->reason), "%s", what);
	return ZD_EINVAL;
}

/* Points res->item at body[member] if it has type t; else BAD_RESPONSE. */
static enum zd_result
want_member(struct zd_response *res, const char *member, enum json_type t)
{
	struct json_object *v;

	if (res->body == NULL ||
	    !json_object_is_type(res->body, json_type_object) ||
	    !json_object_object_get_ex(res->body, member, &v) ||
	    !json_object_is_type(v, t)) {
		httpc_errf(res->reason, sizeof(res->reason), "HTTP %ld: the answer "
		    "has no %s %s", res->status, member,
		    t == json_type_array ? "array" : "object");
		return ZD_BAD_RESPONSE;
	}
	res->item = v;
	return ZD_OK;
}

static enum zd_result
request_item(struct zd_client *c, const char *method, const char *url,
    struct json_object *body, const char *member, enum json_type t,
    struct zd_response *res)
{
	enum zd_result r = perform(c, method, url, body, res);

	if (r != ZD_OK || member == NULL)
		return r;
	return want_member(res, member, t);
}

/* base + "/api/v2/COLLECTION.json", or ".../COLLECTION/ID.json" if id > 0. */
static int
item_url(const struct zd_client *c, char *url, size_t cap,
    const char *collection, int64_t id)
{
	if (id > 0)
		return build_url(c, url, cap, "/api/v2/%s/%" PRId64 ".json",
		    collection, id);
	return build_url(c, url, cap, "/api/v2/%s.json", collection);
}

/* {wrap: inner} without taking inner's reference; NULL if out of memory. */
static struct json_object *
wrap(const char *key, struct json_object *inner)
{
	struct json_object *doc = json_object_new_object();

	if (doc == NULL)
		return NULL;
	/* json-c: on failure the value's reference is not taken; drop ours */
	if (json_object_object_add(doc, key, json_object_get(inner)) != 0) {
		json_object_put(inner);
		json_object_put(doc);
		doc = NULL;
	}
	return doc;
}

/*
 * The writes' one shape: sends {key: obj} (obj borrowed) and points
 * res->item at the answer's key, an object.
 */
static enum zd_result
send_wrapped(struct zd_client *c, const char *method, const char *url,
    const char *key, struct json_object *obj, struct zd_response *res)
{
	struct json_object *doc;
	enum zd_result r;

	if ((doc = wrap(key, obj)) == NULL) {
		httpc_errf(res->reason, sizeof(res->reason), "out of memory");
		return ZD_ERROR;
	}
	r = request_item(c, method, url, doc, key, json_type_object, res);
	json_object_put(doc);
	return r;
}

/* DELETE one item of collection (id > 0); 204 gives ZD_OK with no body. */
static enum zd_result
delete_item(struct zd_client *c, const char *collection, int64_t id,
    const char *bad, struct zd_response *res)
{
	char url[URL_MAX];

	if (c == NULL || id <= 0 ||
	    item_url(c, url, sizeof(url), collection, id) != 0)
		return bad_arg(res, bad);
	return perform(c, "DELETE", url, NULL, res);
}

/* ------------------------------------------------------------- paging */

struct collect {
	struct json_object *arr;
	size_t n;
	int overflow;
};

static int
collect_cb(struct json_object *items, void *arg)
{
	struct collect *co = arg;
	size_t i, n = json_object_array_length(items);

	for (i = 0; i < n; i++) {
		if (co->n >= MAX_COLLECT) {
			co->overflow = 1;
			return 1;
		}
		json_object *it = json_object_array_get_idx(items, i);

		if (json_object_array_add(co->arr, json_object_get(it)) != 0) {
			json_object_put(it);       /* the reference not taken */
			co->overflow = 1;
			return 1;
		}
		co->n++;
	}
	return 0;
}

/* A next-page link may only lead back to our own origin's /api/v2/. */
static int
next_ok(const struct zd_client *c, const char *next)
{
	const unsigned char *p;

	if (strlen(next) >= URL_MAX || strncmp(next, c->base, c->baselen) != 0 ||
	    strncmp(next + c->baselen, "/api/v2/", 8) != 0)
		return 0;
	for (p = (const unsigned char *)next; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

/*
 * Fetches url and every next page (cursor: meta.has_more + links.next;
 * offset: next_page), handing body[member] of each to cb.  res->body is
 * NULL afterwards.
 */
static enum zd_result
paginate(struct zd_client *c, const char *first, const char *member,
    zd_page_cb cb, void *arg, struct zd_response *res)
{
	char url[URL_MAX], prev[URL_MAX];
	struct json_object *meta, *more, *links, *next;
	const char *nx;
	enum zd_result r;
	size_t pages = 0;

	snprintf(url, sizeof(url), "%s", first);
	prev[0] = '\0';
	for (;;) {
		if ((r = request_item(c, "GET", url, NULL, member,
		    json_type_array, res)) != ZD_OK)
			return r;
		if (cb(res->item, arg) != 0)
			break;
		nx = NULL;
		if (json_object_object_get_ex(res->body, "meta", &meta) &&
		    json_object_is_type(meta, json_type_object)) {
			if (!json_object_object_get_ex(meta, "has_more",
			    &more) || !json_object_is_type(more,
			    json_type_boolean)) {
				httpc_errf(res->reason, sizeof(res->reason), "page "
				    "meta has no has_more boolean");
				return ZD_BAD_RESPONSE;
			}
			if (!json_object_get_boolean(more))
				break;
			if (!json_object_object_get_ex(res->body, "links",
			    &links) || !json_object_is_type(links,
			    json_type_object) ||
			    !json_object_object_get_ex(links, "next", &next) ||
			    !json_object_is_type(next, json_type_string)) {
				httpc_errf(res->reason, sizeof(res->reason), "has_more "
				    "without a links.next URL");
				return ZD_BAD_RESPONSE;
			}
			nx = json_object_get_string(next);
		} else if (json_object_object_get_ex(res->body, "next_page",
		    &next) && json_object_is_type(next, json_type_string))
			nx = json_object_get_string(next);
		if (nx == NULL)
			break;
		if (!next_ok(c, nx)) {
			httpc_errf(res->reason, sizeof(res->reason), "the next page "
			    "link leaves %s/api/v2/; not followed", c->base);
			return ZD_BAD_RESPONSE;
		}
		if (strcmp(nx, url) == 0 || strcmp(nx, prev) == 0 ||
		    ++pages >= MAX_PAGES) {
			httpc_errf(res->reason, sizeof(res->reason), "pagination "
			    "does not advance; stopped");
			return ZD_BAD_RESPONSE;
		}
		snprintf(prev, sizeof(prev), "%s", url);
		snprintf(url, sizeof(url), "%s", nx);
	}
	json_object_put(res->body);
	res->body = NULL;
	res->item = NULL;
	return ZD_OK;
}

/* Every page of url collected into res->body {member: [...]}. */
static enum zd_result
collect_all(struct zd_client *c, const char *url, const char *member,
    struct zd_response *res)
{
	struct collect co = { NULL, 0, 0 };
	struct json_object *doc = NULL;
	enum zd_result r = ZD_ERROR;

	zd_response_clear(res);
	if ((co.arr = json_object_new_array()) == NULL ||
	    (doc = json_object_new_object()) == NULL) {
		httpc_errf(res->reason, sizeof(res->reason), "out of memory");
		goto out;
	}
	if ((r = paginate(c, url, member, collect_cb, &co, res)) != ZD_OK)
		goto out;
	if (co.overflow) {
		r = ZD_BAD_RESPONSE;
		httpc_errf(res->reason, sizeof(res->reason), "more than %d %s, or "
		    "out of memory", MAX_COLLECT, member);
		goto out;
	}
	if (json_object_object_add(doc, member, co.arr) != 0) {
		r = ZD_ERROR;
		goto out;
	}
	co.arr = NULL;
	res->body = doc;
	res->item = json_object_object_get(doc, member);
	doc = NULL;
out:
	json_object_put(co.arr);
	json_object_put(doc);
	return r;
}

/* ------------------------------------------------------------- users */

/* GET one user; res->item borrows body.user. */
enum zd_result
zd_get_user(struct zd_client *c, int64_t id, struct zd_response *res)
{
	char url[URL_MAX];

	if (c == NULL || id <= 0)
		return bad_arg(res, "get user: bad id");
	if (build_url(c, url, sizeof(url), "/api/v2/users/%" PRId64 ".json",
	    id) != 0)
		return bad_arg(res, "get user: URL too long");
	return request_item(c, "GET", url, NULL, "user", json_type_object,
	    res);
}

/* Runs a search URL; keeps users whose email equals want (if set). */
static enum zd_result
search_one(struct zd_client *c, const char *url, const char *want_email,
    struct zd_response *res)
{
	struct json_object *u, *em, *hit = NULL;
	size_t i, n, hits = 0;
	enum zd_result r;

	if ((r = request_item(c, "GET", url, NULL, "users", json_type_array,
	    res)) != ZD_OK)
		return r;
	n = json_object_array_length(res->item);
	for (i = 0; i < n; i++) {
		u = json_object_array_get_idx(res->item, i);
		if (!json_object_is_type(u, json_type_object))
			continue;
		if (want_email != NULL && (!json_object_object_get_ex(u,
		    "email", &em) || !json_object_is_type(em,
		    json_type_string) || strcasecmp(json_object_get_string(em),
		    want_email) != 0))
			continue;
		hit = u;
		hits++;
	}
	if (hits == 0) {
		res->item = NULL;
		httpc_errf(res->reason, sizeof(res->reason), "no matching user");
		return ZD_NOT_FOUND;
	}
	if (hits > 1) {
		res->item = NULL;
		httpc_errf(res->reason, sizeof(res->reason), "%zu users match; "
		    "refusing to guess", hits);
		return ZD_PERMANENT;
	}
	res->item = hit;
	return ZD_OK;
}

/*
 * external_id first, then email (exact, case-insensitive); res->item
 * borrows the user.  NOT_FOUND, or PERMANENT when ambiguous.
 */
enum zd_result
zd_find_user(struct zd_client *c, const char *external_id,
    const char *email, struct zd_response *res)
{
	char url[URL_MAX], *esc = NULL, *q = NULL;
	size_t n;
	enum zd_result r = ZD_NOT_FOUND;

	zd_response_clear(res);
	if (c == NULL || ((external_id == NULL || external_id[0] == '\0') &&
	    (email == NULL || email[0] == '\0'))) {
		r = bad_arg(res, "find user: no external_id or email");
		goto out;
	}
	if (external_id != NULL && external_id[0] != '\0') {
		if (strlen(external_id) > 255 ||
		    (esc = curl_easy_escape(c->h, external_id, 0)) == NULL) {
			r = bad_arg(res, "find user: bad external_id");
			goto out;
		}
		if (build_url(c, url, sizeof(url),
		    "/api/v2/users/search.json?external_id=%s", esc) != 0) {
			r = bad_arg(res, "find user: URL too long");
			goto out;
		}
		r = search_one(c, url, NULL, res);
		if (r != ZD_NOT_FOUND)
			goto out;
		curl_free(esc);
		esc = NULL;
	}
	if (email != NULL && email[0] != '\0') {
		if (strlen(email) > 254 || strchr(email, '@') == NULL ||
		    strpbrk(email, " \t\"") != NULL || has_ctl(email)) {
			r = bad_arg(res, "find user: bad email");
			goto out;
		}
		n = strlen(email) + sizeof("email:");
		if ((q = malloc(n)) == NULL) {
			r = ZD_ERROR;
			httpc_errf(res->reason, sizeof(res->reason), "out of memory");
			goto out;
		}
		snprintf(q, n, "email:%s", email);
		if ((esc = curl_easy_escape(c->h, q, 0)) == NULL ||
		    build_url(c, url, sizeof(url),
		    "/api/v2/users/search.json?query=%s", esc) != 0) {
			r = bad_arg(res, "find user: URL too long");
			goto out;
		}
		r = search_one(c, url, email, res);
	}
out:
	free(q);
	curl_free(esc);
	return r;
}

/* A value show_many can carry in its comma-separated list. */
int
zd_show_many_key(const char *key)
{
	return key != NULL && key[0] != '\0' && strlen(key) <= 255 &&
	    strchr(key, ',') == NULL;
}

/*
 * GET /api/v2/users/show_many.json?ids= or ?external_ids= (Zendesk
 * Support API, "Show Many Users": up to 100 comma-separated values).
 * by: "ids" or "external_ids"; keys: n (1..ZD_SHOW_MANY_MAX) values,
 * borrowed, none empty or holding a comma.  item: the "users" array (in
 * no promised order; keys that match nobody are simply absent).
 * ZD_EINVAL when the URL would pass URL_MAX: send fewer keys.
 */
enum zd_result
zd_show_many(struct zd_client *c, const char *by, const char *const *keys,
    size_t n, struct zd_response *res)
{
	char url[URL_MAX], *esc;
	size_t i, len;
	int k;

	zd_response_clear(res);
	if (c == NULL || by == NULL || (strcmp(by, "ids") != 0 &&
	    strcmp(by, "external_ids") != 0) || keys == NULL || n == 0 ||
	    n > ZD_SHOW_MANY_MAX)
		return bad_arg(res, "show many users: bad arguments");
	if (build_url(c, url, sizeof(url), "/api/v2/users/show_many.json?%s=",
	    by) != 0)
		return bad_arg(res, "show many users: URL too long");
	len = strlen(url);
	for (i = 0; i < n; i++) {
		if (!zd_show_many_key(keys[i]))
			return bad_arg(res, "show many users: bad key");
		if ((esc = curl_easy_escape(c->h, keys[i], 0)) == NULL)
			return bad_arg(res, "show many users: bad key");
		k = snprintf(url + len, sizeof(url) - len, "%s%s",
		    i > 0 ? "," : "", esc);
		curl_free(esc);
		if (k < 0 || (size_t)k >= sizeof(url) - len)
			return bad_arg(res, "show many users: URL too long");
		len += (size_t)k;
	}
	return request_item(c, "GET", url, NULL, "users", json_type_array,
	    res);
}

static int
valid_role(const char *r)
{
	return strcmp(r, "end-user") == 0 || strcmp(r, "agent") == 0 ||
	    strcmp(r, "admin") == 0;
}

static int
add_str(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s;

	if (v == NULL)
		return 0;
	if ((s = json_object_new_string(v)) == NULL)
		return -1;
	return json_object_object_add(o, k, s);
}

/* The body's "user" from u; NULL with res->reason on a bad field. */
static struct json_object *
user_doc(const struct zd_user_fields *u, int creating, struct zd_response *res)
{
	struct json_object *usr = NULL, *ret = NULL;

	if (u == NULL) {
		httpc_errf(res->reason, sizeof(res->reason), "no user fields");
		goto out;
	}
	if (creating && (u->name == NULL || u->name[0] == '\0')) {
		httpc_errf(res->reason, sizeof(res->reason), "a new user needs a "
		    "name");
		goto out;
	}
	if (u->role != NULL && !valid_role(u->role)) {
		httpc_errf(res->reason, sizeof(res->reason), "role must be "
		    "end-user, agent or admin");
		goto out;
	}
	if (u->custom_role_id < 0 || (u->custom_role_id > 0 &&
	    (u->role == NULL || strcmp(u->role, "agent") != 0))) {
		httpc_errf(res->reason, sizeof(res->reason), "custom_role_id goes "
		    "with role agent");
		goto out;
	}
	/* DESIGN: never leave an agent without a custom role. */
	if (u->role != NULL && strcmp(u->role, "agent") == 0 &&
	    u->custom_role_id <= 0) {
		httpc_errf(res->reason, sizeof(res->reason), "role agent without a "
		    "custom_role_id would make a legacy agent; refused");
		goto out;
	}
	if (u->suspended < -1 || u->suspended > 1) {
		httpc_errf(res->reason, sizeof(res->reason), "suspended must be "
		    "-1, 0 or 1");
		goto out;
	}
	if ((usr = json_object_new_object()) == NULL)
		goto oom;
	if (add_str(usr, "name", u->name) != 0 ||
	    add_str(usr, "email", u->email) != 0 ||
	    add_str(usr, "external_id", u->external_id) != 0 ||
	    add_str(usr, "role", u->role) != 0)
		goto oom;
	if (u->custom_role_id > 0 && json_object_object_add(usr,
	    "custom_role_id", json_object_new_int64(u->custom_role_id)) != 0)
		goto oom;
	if (u->suspended >= 0 && json_object_object_add(usr, "suspended",
	    json_object_new_boolean(u->suspended)) != 0)
		goto oom;
	if (json_object_object_length(usr) == 0) {
		httpc_errf(res->reason, sizeof(res->reason), "nothing to change");
		goto out;
	}
	ret = usr;
	usr = NULL;
	goto out;
oom:
	httpc_errf(res->reason, sizeof(res->reason), "out of memory");
out:
	json_object_put(usr);
	return ret;
}

/*
 * POST (id 0) or PUT (id > 0) {"user": fields of u}; u is borrowed,
 * res->item borrows body.user.
 */
static enum zd_result
user_write(struct zd_client *c, int64_t id, const struct zd_user_fields *u,
    struct zd_response *res)
{
	struct json_object *usr;
	char url[URL_MAX];
	enum zd_result r;

	zd_response_clear(res);
	if ((usr = user_doc(u, id == 0, res)) == NULL)
		return ZD_EINVAL;
	if (item_url(c, url, sizeof(url), "users", id) != 0)
		r = bad_arg(res, id > 0 ? "update user: URL too long" :
		    "create user: URL too long");
	else
		r = send_wrapped(c, id > 0 ? "PUT" : "POST", url, "user", usr,
		    res);
	json_object_put(usr);
	return r;
}

/* POST a user built from u (borrowed); res->item borrows body.user. */
enum zd_result
zd_create_user(struct zd_client *c, const struct zd_user_fields *u,
    struct zd_response *res)
{
	if (c == NULL)
		return bad_arg(res, "create user: no client");
	return user_write(c, 0, u, res);
}

/* PUT the fields set in u (borrowed); res->item borrows body.user. */
enum zd_result
zd_update_user(struct zd_client *c, int64_t id,
    const struct zd_user_fields *u, struct zd_response *res)
{
	if (c == NULL || id <= 0)
		return bad_arg(res, "update user: bad id");
	return user_write(c, id, u, res);
}

/* ------------------------------------------------------ custom roles */

/* GET custom roles; res->item borrows body.custom_roles. */
enum zd_result
zd_list_custom_roles(struct zd_client *c, struct zd_response *res)
{
	char url[URL_MAX];

	if (c == NULL ||
	    build_url(c, url, sizeof(url), "/api/v2/custom_roles.json") != 0)
		return bad_arg(res, "list custom roles: bad client");
	return request_item(c, "GET", url, NULL, "custom_roles",
	    json_type_array, res);
}

static enum zd_result
role_write(struct zd_client *c, const char *method, int64_t id,
    struct json_object *role, struct zd_response *res)
{
	char url[URL_MAX];

	zd_response_clear(res);
	if (c == NULL || role == NULL ||
	    !json_object_is_type(role, json_type_object))
		return bad_arg(res, "custom role: expected an object");
	if (json_object_object_get_ex(role, "role_type", NULL) ||
	    json_object_object_get_ex(role, "team_member_count", NULL) ||
	    json_object_object_get_ex(role, "id", NULL))
		return bad_arg(res, "custom role: id, role_type and "
		    "team_member_count are read-only");
	if (item_url(c, url, sizeof(url), "custom_roles", id) != 0)
		return bad_arg(res, "custom role: URL too long");
	return send_wrapped(c, method, url, "custom_role", role, res);
}

/* POST {"custom_role": role}; role is borrowed. */
enum zd_result
zd_create_custom_role(struct zd_client *c, struct json_object *role,
    struct zd_response *res)
{
	return role_write(c, "POST", 0, role, res);
}

/* PUT {"custom_role": role} to role id; role is borrowed. */
enum zd_result
zd_update_custom_role(struct zd_client *c, int64_t id,
    struct json_object *role, struct zd_response *res)
{
	if (id <= 0)
		return bad_arg(res, "update custom role: bad id");
	return role_write(c, "PUT", id, role, res);
}

/* DELETE a custom role; 204 gives ZD_OK with no body. */
enum zd_result
zd_delete_custom_role(struct zd_client *c, int64_t id,
    struct zd_response *res)
{
	return delete_item(c, "custom_roles", id, "delete custom role: bad id",
	    res);
}

/* -------------------------------------------------- groups, members */

/* Every group, all pages; res->item borrows the collected array. */
enum zd_result
zd_list_groups(struct zd_client *c, struct zd_response *res)
{
	char url[URL_MAX];

	if (c == NULL || build_url(c, url, sizeof(url),
	    "/api/v2/groups.json?page%%5Bsize%%5D=100") != 0)
		return bad_arg(res, "list groups: bad client");
	return collect_all(c, url, "groups", res);
}

/* A user's memberships, all pages; res->item borrows the array. */
enum zd_result
zd_list_memberships(struct zd_client *c, int64_t user_id,
    struct zd_response *res)
{
	char url[URL_MAX];

	if (c == NULL || user_id <= 0 || build_url(c, url, sizeof(url),
	    "/api/v2/users/%" PRId64 "/group_memberships.json"
	    "?page%%5Bsize%%5D=100", user_id) != 0)
		return bad_arg(res, "list memberships: bad user id");
	return collect_all(c, url, "group_memberships", res);
}

/* POST a membership; res->item borrows body.group_membership. */
enum zd_result
zd_add_membership(struct zd_client *c, int64_t user_id, int64_t group_id,
    struct zd_response *res)
{
	struct json_object *m;
	char url[URL_MAX];
	enum zd_result r;

	zd_response_clear(res);
	if (c == NULL || user_id <= 0 || group_id <= 0 ||
	    item_url(c, url, sizeof(url), "group_memberships", 0) != 0)
		return bad_arg(res, "add membership: bad id");
	if ((m = json_object_new_object()) == NULL ||
	    json_object_object_add(m, "user_id",
	    json_object_new_int64(user_id)) != 0 ||
	    json_object_object_add(m, "group_id",
	    json_object_new_int64(group_id)) != 0) {
		json_object_put(m);
		httpc_errf(res->reason, sizeof(res->reason), "out of memory");
		return ZD_ERROR;
	}
	r = send_wrapped(c, "POST", url, "group_membership", m, res);
	json_object_put(m);
	return r;
}

/* DELETE a membership by its id. */
enum zd_result
zd_remove_membership(struct zd_client *c, int64_t membership_id,
    struct zd_response *res)
{
	return delete_item(c, "group_memberships", membership_id,
	    "remove membership: bad id", res);
}

/* ------------------------------------------------------ entitlements */

static const char *const products[] = { "support", "chat", "talk", "guide",
	"explore", NULL };

/*
 * GET a user's product access (only when enabled); item borrows it.  The
 * official read, Zendesk's OpenAPI "GetUserEntitlementsFull" (path as the
 * description writes it, without ".json"): chat, explore, guide, talk as
 * {name, is_active}; no "support" (that is role and custom_role_id).  The
 * private staff endpoint is used only to write (zd_put_entitlements).
 */
enum zd_result
zd_get_entitlements(struct zd_client *c, int64_t user_id,
    struct zd_response *res)
{
	char url[URL_MAX];

	zd_response_clear(res);
	if (c == NULL || user_id <= 0)
		return bad_arg(res, "get entitlements: bad user id");
	if (!c->entitlements) {
		httpc_errf(res->reason, sizeof(res->reason), "product access is "
		    "not managed (zendesk.entitlements is off)");
		return ZD_DISABLED;
	}
	if (build_url(c, url, sizeof(url), "/api/v2/users/%" PRId64
	    "/entitlements/full", user_id) != 0)
		return bad_arg(res, "get entitlements: URL too long");
	return request_item(c, "GET", url, NULL, "entitlements",
	    json_type_object, res);
}

/* PUT {"entitlements": ents} (only when enabled); ents is borrowed. */
enum zd_result
zd_put_entitlements(struct zd_client *c, int64_t user_id,
    struct json_object *ents, struct zd_response *res)
{
	char url[URL_MAX];

	zd_response_clear(res);
	if (c == NULL || user_id <= 0 || ents == NULL ||
	    !json_object_is_type(ents, json_type_object) ||
	    json_object_object_length(ents) == 0)
		return bad_arg(res, "put entitlements: expected a user id and "
		    "a non-empty object");
	if (!c->entitlements) {
		httpc_errf(res->reason, sizeof(res->reason), "the private "
		    "entitlements endpoint is off (zendesk.entitlements)");
		return ZD_DISABLED;
	}
	json_object_object_foreach(ents, k, v) {
		if (!known_key(k, products) ||
		    !json_object_is_type(v, json_type_object))
			return bad_arg(res, "put entitlements: products are "
			    "support, chat, talk, guide, explore, each an "
			    "object");
	}
	if (build_url(c, url, sizeof(url), "/api/admin/private/staff/%"
	    PRId64 "/entitlements", user_id) != 0)
		return bad_arg(res, "put entitlements: URL too long");
	return send_wrapped(c, "PUT", url, "entitlements", ents, res);
}

/* ------------------------------------------------------------ agents */

/* Agents and admins page by page to cb; res->body is NULL after. */
enum zd_result
zd_list_agents(struct zd_client *c, int page_size, zd_page_cb cb, void *arg,
    struct zd_response *res)
{
	char url[URL_MAX];

	zd_response_clear(res);
	if (c == NULL || cb == NULL || page_size < 0 || page_size > 100)
		return bad_arg(res, "list agents: page_size is 1..100");
	if (page_size == 0)
		page_size = 100;
	if (build_url(c, url, sizeof(url), "/api/v2/users.json?"
	    "role%%5B%%5D=agent&role%%5B%%5D=admin&page%%5Bsize%%5D=%d",
	    page_size) != 0)
		return bad_arg(res, "list agents: URL too long");
	return paginate(c, url, "users", cb, arg, res);
}

/*
 * Every group membership of the account: GET /api/v2/group_memberships
 * (ListGroupMemberships; cursor pagination, 100 a page), following
 * links.next as zd_list_agents does.  cb sees each page's array.
 */
enum zd_result
zd_list_all_memberships(struct zd_client *c, zd_page_cb cb, void *arg,
    struct zd_response *res)
{
	char url[URL_MAX];

	zd_response_clear(res);
	if (c == NULL || cb == NULL)
		return bad_arg(res, "list memberships: missing argument");
	if (build_url(c, url, sizeof(url), "/api/v2/group_memberships.json?"
	    "page%%5Bsize%%5D=100") != 0)
		return bad_arg(res, "list memberships: URL too long");
	return paginate(c, url, "group_memberships", cb, arg, res);
}

/* ---------------------------------------------------------- generic */

static int
path_ok(const struct zd_client *c, const char *path)
{
	const char *p;

	if (strncmp(path, "/api/v2/", 8) != 0 &&
	    !(c->entitlements &&
	    strncmp(path, "/api/admin/private/staff/", 25) == 0))
		return 0;
	if (strstr(path, "..") != NULL || strstr(path, "//") != NULL ||
	    strlen(path) > 1024)
		return 0;
	for (p = path; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-?&=%,", *p) ==
		    NULL)
			return 0;
	return 1;
}

/* One checked request to an /api/v2 path; res->item borrows body. */
enum zd_result
zd_call(struct zd_client *c, const char *method, const char *path,
    struct json_object *body, struct zd_response *res)
{
	char url[URL_MAX];
	enum zd_result r;

	zd_response_clear(res);
	if (c == NULL || method == NULL || path == NULL)
		return bad_arg(res, "call: missing argument");
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)
		return bad_arg(res, "call: method must be GET, POST, PUT or "
		    "DELETE");
	if (!path_ok(c, path)) {
		if (!c->entitlements &&
		    strncmp(path, "/api/admin/private/", 19) == 0) {
			httpc_errf(res->reason, sizeof(res->reason), "the private "
			    "entitlements endpoint is off "
			    "(zendesk.entitlements)");
			return ZD_DISABLED;
		}
		return bad_arg(res, "call: path must be /api/v2/... of "
		    "URL-safe characters");
	}
	if ((body != NULL) != (strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0))
		return bad_arg(res, "call: POST and PUT take a body, GET and "
		    "DELETE do not");
	if (build_url(c, url, sizeof(url), "%s", path) != 0)
		return bad_arg(res, "call: URL too long");
	r = perform(c, method, url, body, res);
	if (r == ZD_OK)
		res->item = res->body;
	return r;
}
