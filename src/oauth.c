/*
 * oauth.c -- the shared Zendesk OAuth access token (see oauth.h).
 *
 * Sources: Zendesk developer docs "Migrating from API tokens to OAuth
 * access tokens", "Using OAuth authentication with your application"
 * (POST /oauth/tokens; client_credentials and refresh_token grants; the
 * refresh answer carries a new refresh token and deletes the old one),
 * RFC 6749 sections 4.4, 5.1, 5.2 and 6, RFC 6750 section 2.1.
 *
 * The refresh-token file and crashes: Zendesk kills the old refresh
 * token when it answers a refresh.  If the process dies after Zendesk
 * rotated the token but before the new one is on disk, the file holds a
 * dead token and only a new one from the Admin Center helps
 * (docs/operations.md).  No client can close that window; this one
 * keeps it to the time between the answer's last byte and the write of
 * "<file>.tmp": the file is written before anything else happens with
 * the answer, and a temp file a killed process left before its rename is
 * tried when the file's token is refused (tmp_grant).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "rolehook/httpc.h"
#include "rolehook/jsonutil.h"
#include "rolehook/log.h"
#include "rolehook/monotime.h"
#include "rolehook/oauth.h"
#include "rolehook/secretfile.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TOTAL_MS 30000L
#define FAIL_HOLD_MS 1000       /* after a failed grant, callers get its
                                 * error for this long without a new try */
#define JSON_DEPTH 8
#define URL_MAX 2048

struct oauth {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *token_url;
	char *client_id;
	char *client_secret;        /* secret */
	char *scope;
	char *refresh_file;
	char *lock_file;
	int http_loopback;
	long connect_ms, total_ms;
	oauth_post_fn post;
	void *post_arg;
	oauth_clock_fn clock;
	void *clock_arg;
	/* under mu */
	char *token;                /* secret; NULL: none yet */
	int64_t renew_at, expire_at; /* ms of clock; INT64_MAX: never */
	int stale;                  /* met a 401 */
	int renewing;
	uint64_t gen;
	uint64_t fail_seq;
	int64_t fail_until;
	enum oauth_result last_rc;
	char last_err[512];
	struct oauth_stats st;
};

/* RFC 6750 b64token-ish: visible ASCII, no space, bounded. */
static int
token_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > OAUTH_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

const char *
oauth_strerror(enum oauth_result r)
{
	switch (r) {
	case OAUTH_OK:
		return "ok";
	case OAUTH_RETRYABLE:
		return "retryable failure";
	case OAUTH_DENIED:
		return "refused by the token endpoint";
	case OAUTH_BAD_RESPONSE:
		return "bad response";
	case OAUTH_EINVAL:
		return "invalid argument";
	case OAUTH_ERROR:
		return "local error";
	}
	return "unknown result";
}

static int64_t
mono_ms(void *arg)
{
	(void)arg;
	return monotime_ms();
}

/* ------------------------------------------------------------ transport */

struct body {
	char *buf;
	size_t len;
	int too_big;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > OAUTH_RESPONSE_MAX - b->len) {
		b->too_big = 1;
		return 0;
	}
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

#define SETOPT(opt, val) do { \
	if (curl_easy_setopt(h, opt, val) != CURLE_OK) { \
		httpc_errf(err, errlen, "oauth: curl_easy_setopt(%s) failed", #opt); \
		goto out; \
	} \
} while (0)

/* The default transport: one short-lived easy handle per grant. */
static int
curl_post(void *arg, const char *url, const char *data, long *status,
    char **resp, char *err, size_t errlen)
{
	const struct oauth *a = arg;
	struct curl_slist *hl = NULL, *t;
	struct body b = { NULL, 0, 0 };
	char ebuf[CURL_ERROR_SIZE] = "";
	struct httpc_opts ho;
	const char *failed = "";
	CURL *h = NULL;
	CURLcode e;
	int rc = -1;

	*resp = NULL;
	*status = 0;
	if ((b.buf = calloc(1, OAUTH_RESPONSE_MAX + 1)) == NULL ||
	    (h = curl_easy_init()) == NULL) {
		httpc_errf(err, errlen, "oauth: out of memory");
		goto out;
	}
	if ((t = curl_slist_append(hl, "Content-Type: application/json")) ==
	    NULL)
		goto nomem;
	hl = t;
	if ((t = curl_slist_append(hl, "Accept: application/json")) == NULL)
		goto nomem;
	hl = t;
	if ((t = curl_slist_append(hl, "Expect:")) == NULL)
		goto nomem;
	hl = t;
	ho.url = url;
	ho.http_loopback = a->http_loopback;
	ho.connect_ms = a->connect_ms;
	ho.total_ms = a->total_ms;
	ho.max_response = (curl_off_t)OAUTH_RESPONSE_MAX;
	ho.errbuf = ebuf;
	ho.write = on_body;
	ho.write_arg = &b;
	if (httpc_setup(h, &ho, &failed) != CURLE_OK) {
		httpc_errf(err, errlen, "oauth: curl_easy_setopt(%s) failed",
		    failed);
		goto out;
	}
	SETOPT(CURLOPT_HTTPHEADER, hl);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_POSTFIELDS, data);
	SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(data));
	e = curl_easy_perform(h);
	if (e != CURLE_OK) {
		httpc_errf(err, errlen, "POST /oauth/tokens: %s%s",
		    b.too_big ? "answer too large: " : "",
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(e));
		goto out;
	}
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status) !=
	    CURLE_OK) {
		httpc_errf(err, errlen, "POST /oauth/tokens: no status");
		goto out;
	}
	*resp = b.buf;
	b.buf = NULL;
	rc = 0;
	goto out;
nomem:
	httpc_errf(err, errlen, "oauth: out of memory");
out:
	OPENSSL_clear_free(b.buf, OAUTH_RESPONSE_MAX + 1);
	curl_slist_free_all(hl);
	if (h != NULL)
		curl_easy_cleanup(h);
	return rc;
}
#undef SETOPT

/* -------------------------------------------------------------- files */

int
oauth_read_file(const char *path, char **out, char *err, size_t errlen)
{
	size_t n;

	if (secretfile_read(path, "refresh token file", OAUTH_TOKEN_MAX,
	    SECRETFILE_OWN, out, &n, err, errlen) != 0)
		return -1;
	if (strlen(*out) != n || !token_ok(*out)) {
		httpc_errf(err, errlen, "refresh token file %s does not hold one "
		    "token (visible ASCII, at most %d bytes)", path,
		    OAUTH_TOKEN_MAX);
		OPENSSL_clear_free(*out, n);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Writes all of data to fd; 0 or -1. */
static int
write_all(int fd, const char *data, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, data, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int
oauth_write_file(const char *path, const char *data, size_t len, char *err,
    size_t errlen)
{
	char *tmp = NULL, *dir = NULL, *slash;
	size_t n = strlen(path) + sizeof(".tmp");
	int fd = -1, dfd = -1, rc = -1, e;

	if ((tmp = malloc(n)) == NULL || (dir = strdup(path)) == NULL) {
		httpc_errf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(tmp, n, "%s.tmp", path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		if ((dir = strdup(".")) == NULL)
			goto out;
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	/*
	 * Callers hold the flock on "<path>.lock": a temp file left behind
	 * is from a process that died, and nobody else writes it now.
	 */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		httpc_errf(err, errlen, "cannot remove %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		httpc_errf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		e = errno;
		httpc_errf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		httpc_errf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		httpc_errf(err, errlen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	/* The rename itself is durable only once the directory is synced. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) != 0) {
		httpc_errf(err, errlen, "cannot sync directory %s: %s", dir,
		    strerror(errno));
		rc = 0;     /* the file is replaced; only durability is less */
		goto out;
	}
	rc = 0;
out:
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	if (dfd != -1)
		close(dfd);
	free(tmp);
	free(dir);
	return rc;
}

/* ------------------------------------------------------------- grants */

/* The grant's JSON body (a secret): malloc'd, or NULL. */
static char *
grant_body(const struct oauth *a, const char *refresh)
{
	struct json_object *o;
	const char *s;
	char *copy = NULL;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, "grant_type", json_object_new_string(
	    refresh != NULL ? "refresh_token" : "client_credentials")) != 0 ||
	    json_object_object_add(o, "client_id",
	    json_object_new_string(a->client_id)) != 0 ||
	    json_object_object_add(o, "client_secret",
	    json_object_new_string(a->client_secret)) != 0)
		goto out;
	if (refresh != NULL) {
		if (json_object_object_add(o, "refresh_token",
		    json_object_new_string(refresh)) != 0)
			goto out;
	} else if (json_object_object_add(o, "scope",
	    json_object_new_string(a->scope)) != 0)
		goto out;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s != NULL)
		copy = strdup(s);
	if (s != NULL)
		OPENSSL_cleanse((void *)s, strlen(s));
out:
	json_object_put(o);
	return copy;
}

struct answer {
	char *access;               /* secret */
	char *refresh;              /* secret, or NULL */
	int64_t expires_in;         /* seconds; 0: none given */
	char error[64];             /* "invalid_grant", ... */
};

static void
answer_clear(struct answer *an)
{
	secretfile_free(an->access);
	secretfile_free(an->refresh);
	memset(an, 0, sizeof(*an));
}

/* Parses a token endpoint answer strictly (RFC 6749 5.1 and 5.2). */
static enum oauth_result
parse_answer(long status, const char *resp, struct answer *an, char *err,
    size_t errlen)
{
	struct json_object *o, *v;
	enum oauth_result rc = OAUTH_BAD_RESPONSE;
	int64_t x;

	/* Strict RFC 8259, nothing after the document (jsonutil.h). */
	o = json_parse_strict(resp, strlen(resp), JSON_DEPTH);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		if (status >= 500 || status == 429)
			rc = OAUTH_RETRYABLE;
		httpc_errf(err, errlen, "POST /oauth/tokens: HTTP %ld with a body "
		    "that is not a JSON object", status);
		goto out;
	}
	if (status != 200) {
		if (json_object_object_get_ex(o, "error", &v) &&
		    json_object_is_type(v, json_type_string))
			httpc_printable(an->error, sizeof(an->error),
			    json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
		rc = (status == 429 || status >= 500) ? OAUTH_RETRYABLE :
		    (status == 400 || status == 401 || status == 403) ?
		    OAUTH_DENIED : OAUTH_BAD_RESPONSE;
		httpc_errf(err, errlen, "POST /oauth/tokens: HTTP %ld%s%s", status,
		    an->error[0] != '\0' ? ": " : "", an->error);
		goto out;
	}
	if (!json_object_object_get_ex(o, "access_token", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !token_ok(json_object_get_string(v))) {
		httpc_errf(err, errlen, "POST /oauth/tokens: no usable access_token");
		goto out;
	}
	if ((an->access = strdup(json_object_get_string(v))) == NULL) {
		rc = OAUTH_ERROR;
		goto out;
	}
	if (!json_object_object_get_ex(o, "token_type", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcasecmp(json_object_get_string(v), "bearer") != 0) {
		httpc_errf(err, errlen, "POST /oauth/tokens: token_type is not "
		    "bearer");
		goto out;
	}
	if (json_object_object_get_ex(o, "expires_in", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		errno = 0;
		x = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || errno != 0 ||
		    x < 1 || x > 10L * 365 * 86400) {
			httpc_errf(err, errlen, "POST /oauth/tokens: expires_in is "
			    "not a positive number of seconds");
			goto out;
		}
		an->expires_in = x;
	}
	if (json_object_object_get_ex(o, "refresh_token", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !token_ok(json_object_get_string(v))) {
			httpc_errf(err, errlen, "POST /oauth/tokens: refresh_token "
			    "is not a token");
			goto out;
		}
		if ((an->refresh = strdup(json_object_get_string(v))) ==
		    NULL) {
			rc = OAUTH_ERROR;
			goto out;
		}
	}
	if (json_object_object_get_ex(o, "refresh_token_expires_in", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    !json_object_is_type(v, json_type_int)) {
		httpc_errf(err, errlen, "POST /oauth/tokens: refresh_token_expires_in "
		    "is not a number");
		goto out;
	}
	rc = OAUTH_OK;
out:
	if (rc != OAUTH_OK && rc != OAUTH_DENIED && rc != OAUTH_RETRYABLE) {
		secretfile_free(an->access);
		an->access = NULL;
	}
	json_object_put(o);
	return rc;
}

/* One POST; the answer parsed into *an. */
static enum oauth_result
post_grant(struct oauth *a, const char *refresh, struct answer *an,
    char *err, size_t errlen)
{
	char *body = NULL, *resp = NULL;
	long status = 0;
	enum oauth_result rc = OAUTH_ERROR;

	memset(an, 0, sizeof(*an));
	if ((body = grant_body(a, refresh)) == NULL) {
		httpc_errf(err, errlen, "oauth: out of memory");
		goto out;
	}
	if (a->post(a->post_arg != NULL ? a->post_arg : a, a->token_url, body,
	    &status, &resp, err, errlen) != 0) {
		rc = OAUTH_RETRYABLE;
		goto out;
	}
	rc = parse_answer(status, resp, an, err, errlen);
	if (rc == OAUTH_OK && refresh != NULL && an->refresh == NULL) {
		/* Zendesk always rotates; without one the old one lives on. */
		log_kv(LOG_WARN, "oauth refresh answer without a new refresh "
		    "token; keeping the file", (const char *)NULL);
	}
out:
	secretfile_free(body);
	secretfile_free(resp);
	return rc;
}

/*
 * After the file's token was refused: a process killed between writing
 * "<file>.tmp" and renaming it over the file (oauth_write_file) left the
 * live token there -- the file's was rotated away by the same grant.  Try
 * it; OAUTH_OK with an filled, else the result (an cleared).  Caller
 * holds the lock.
 */
static enum oauth_result
tmp_grant(struct oauth *a, struct answer *an)
{
	char *tmp, *rt = NULL, e[256];
	size_t n = strlen(a->refresh_file) + sizeof(".tmp");
	enum oauth_result rc = OAUTH_DENIED;

	if ((tmp = malloc(n)) == NULL)
		return OAUTH_ERROR;
	snprintf(tmp, n, "%s.tmp", a->refresh_file);
	if (access(tmp, F_OK) == 0 &&
	    oauth_read_file(tmp, &rt, e, sizeof(e)) == 0) {
		answer_clear(an);
		memset(an, 0, sizeof(*an));
		if ((rc = post_grant(a, rt, an, e, sizeof(e))) == OAUTH_OK)
			log_kv(LOG_WARN, "took the refresh token an interrupted "
			    "rotation left beside the file", "file", tmp,
			    (const char *)NULL);
		else
			answer_clear(an);
	}
	secretfile_free(rt);
	free(tmp);
	return rc;
}

/*
 * The refresh-token grant under the exclusive flock on "<file>.lock",
 * shared with every other rolehook process (work, report, roles).
 */
static enum oauth_result
refresh_grant(struct oauth *a, struct answer *an, char *err, size_t errlen)
{
	char *rt = NULL, *prev = NULL, *line = NULL;
	enum oauth_result rc = OAUTH_ERROR;
	size_t n;
	int lfd = -1, attempt;

	memset(an, 0, sizeof(*an));
	lfd = open(a->lock_file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (lfd == -1) {
		httpc_errf(err, errlen, "cannot open lock file %s: %s", a->lock_file,
		    strerror(errno));
		goto out;
	}
	while (flock(lfd, LOCK_EX) == -1)
		if (errno != EINTR) {
			httpc_errf(err, errlen, "cannot lock %s: %s", a->lock_file,
			    strerror(errno));
			goto out;
		}
	for (attempt = 0; attempt < 2; attempt++) {
		/* Read under the lock: another process may have rotated. */
		if (oauth_read_file(a->refresh_file, &rt, err, errlen) != 0)
			goto out;
		if (prev != NULL && strcmp(prev, rt) == 0)
			break;
		rc = post_grant(a, rt, an, err, errlen);
		if (rc == OAUTH_OK)
			break;
		if (rc != OAUTH_DENIED || strcmp(an->error,
		    "invalid_grant") != 0)
			goto out;
		/* Refused: retried once if the file changed meanwhile. */
		secretfile_free(prev);
		prev = rt;
		rt = NULL;
	}
	if (rc != OAUTH_OK && tmp_grant(a, an) == OAUTH_OK)
		rc = OAUTH_OK;
	if (rc != OAUTH_OK) {
		/* Short enough for ZD_ERRLEN with the file named once. */
		httpc_errf(err, errlen, "Zendesk refused the refresh token in %s "
		    "(invalid_grant: used already or revoked): put a new one "
		    "from the Admin Center into that file (docs/operations.md, "
		    "OAuth)", a->refresh_file);
		goto out;
	}
	if (an->refresh != NULL) {
		/*
		 * The old refresh token is dead from here on: the new one goes
		 * to disk before anything else, to keep the crash window
		 * (oauth.h) as short as the rename.
		 */
		n = strlen(an->refresh) + 2;
		if ((line = malloc(n)) == NULL) {
			rc = OAUTH_ERROR;
			httpc_errf(err, errlen, "out of memory");
			goto out;
		}
		snprintf(line, n, "%s\n", an->refresh);
		if (oauth_write_file(a->refresh_file, line, n - 1, err,
		    errlen) != 0) {
			rc = OAUTH_ERROR;
			log_kv(LOG_ERROR, "Zendesk rotated the refresh token but "
			    "it could not be saved; put a new refresh token "
			    "from the Admin Center into the file", "file",
			    a->refresh_file, (const char *)NULL);
			goto out;
		}
	}
	rc = OAUTH_OK;
out:
	if (rc != OAUTH_OK)
		answer_clear(an);
	if (lfd != -1)
		close(lfd);     /* releases the flock */
	secretfile_free(rt);
	secretfile_free(prev);
	secretfile_free(line);
	return rc;
}

/* ----------------------------------------------------------- public */

enum oauth_result
oauth_new(const struct oauth_opts *o, struct oauth **out, char *err,
    size_t errlen)
{
	struct oauth *a = NULL;
	enum oauth_result rc = OAUTH_EINVAL;
	size_t n;

	*out = NULL;
	if (o == NULL || o->base_url == NULL || o->client_id == NULL ||
	    o->client_id[0] == '\0' || o->client_secret == NULL ||
	    o->client_secret[0] == '\0' ||
	    strlen(o->base_url) > URL_MAX - 32 ||
	    (o->refresh_file != NULL && o->refresh_file[0] != '/')) {
		httpc_errf(err, errlen, "oauth: base URL, client_id and "
		    "client_secret are required; refresh_token_file must be "
		    "an absolute path");
		goto out;
	}
	rc = OAUTH_ERROR;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto nomem;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		a = NULL;
		goto nomem;
	}
	if (pthread_cond_init(&a->cv, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		free(a);
		a = NULL;
		goto nomem;
	}
	n = strlen(o->base_url) + sizeof("/oauth/tokens");
	if ((a->token_url = malloc(n)) == NULL)
		goto nomem;
	snprintf(a->token_url, n, "%s/oauth/tokens", o->base_url);
	if ((a->client_id = strdup(o->client_id)) == NULL ||
	    (a->client_secret = strdup(o->client_secret)) == NULL ||
	    (a->scope = strdup(o->scope != NULL ? o->scope :
	    "read write")) == NULL)
		goto nomem;
	if (o->refresh_file != NULL) {
		n = strlen(o->refresh_file) + sizeof(".lock");
		if ((a->refresh_file = strdup(o->refresh_file)) == NULL ||
		    (a->lock_file = malloc(n)) == NULL)
			goto nomem;
		snprintf(a->lock_file, n, "%s.lock", o->refresh_file);
	}
	a->http_loopback = o->allow_http_loopback ? 1 : 0;
	a->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms :
	    DEFAULT_CONNECT_MS;
	a->total_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TOTAL_MS;
	a->post = o->post != NULL ? o->post : curl_post;
	a->post_arg = o->post != NULL ? o->post_arg : NULL;
	a->clock = o->clock != NULL ? o->clock : mono_ms;
	a->clock_arg = o->clock_arg;
	*out = a;
	return OAUTH_OK;
nomem:
	httpc_errf(err, errlen, "oauth: out of memory");
out:
	oauth_free(a);
	return rc;
}

void
oauth_free(struct oauth *a)
{
	if (a == NULL)
		return;
	secretfile_free(a->token);
	secretfile_free(a->client_secret);
	free(a->client_id);
	free(a->scope);
	free(a->token_url);
	free(a->refresh_file);
	free(a->lock_file);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* Under mu: the current token may be sent now. */
static int
usable(const struct oauth *a, int64_t now)
{
	if (a->token == NULL || a->stale)
		return 0;
	if (now < a->renew_at)
		return 1;
	/* Due, but another thread is renewing: the old one still works. */
	return a->renewing && now < a->expire_at;
}

static enum oauth_result
copy_header(const struct oauth *a, char *buf, size_t cap, uint64_t *gen,
    char *err, size_t errlen)
{
	if (strlen(a->token) + sizeof("Bearer ") > cap) {
		httpc_errf(err, errlen, "oauth: the access token is too long");
		return OAUTH_BAD_RESPONSE;
	}
	snprintf(buf, cap, "Bearer %s", a->token);
	*gen = a->gen;
	return OAUTH_OK;
}

enum oauth_result
oauth_header(struct oauth *a, char *buf, size_t cap, uint64_t *gen,
    char *err, size_t errlen)
{
	struct answer an;
	enum oauth_result rc;
	int64_t now, t0, life, renew;
	uint64_t seq;
	char e2[512];

	if (cap > 0)
		buf[0] = '\0';
	pthread_mutex_lock(&a->mu);
	for (;;) {
		now = a->clock(a->clock_arg);
		if (usable(a, now)) {
			rc = copy_header(a, buf, cap, gen, err, errlen);
			pthread_mutex_unlock(&a->mu);
			return rc;
		}
		if (!a->renewing) {
			if (now < a->fail_until) {
				rc = a->last_rc;
				httpc_errf(err, errlen, "%s", a->last_err);
				pthread_mutex_unlock(&a->mu);
				return rc;
			}
			break;
		}
		/* One renewal at a time: wait for its result. */
		seq = a->fail_seq;
		pthread_cond_wait(&a->cv, &a->mu);
		if (a->fail_seq != seq && !a->renewing) {
			rc = a->last_rc;
			httpc_errf(err, errlen, "%s", a->last_err);
			pthread_mutex_unlock(&a->mu);
			return rc;
		}
	}
	a->renewing = 1;
	pthread_mutex_unlock(&a->mu);

	e2[0] = '\0';
	t0 = a->clock(a->clock_arg);
	if (a->refresh_file != NULL)
		rc = refresh_grant(a, &an, e2, sizeof(e2));
	else
		rc = post_grant(a, NULL, &an, e2, sizeof(e2));

	pthread_mutex_lock(&a->mu);
	a->renewing = 0;
	if (rc == OAUTH_OK) {
		secretfile_free(a->token);
		a->token = an.access;
		an.access = NULL;
		a->stale = 0;
		a->gen++;
		a->st.grants++;
		if (an.expires_in > 0) {
			life = an.expires_in * 1000;
			/*
			 * 80% of the lifetime or 60 s before the end, whichever
			 * is earlier, but not before half of it (short test
			 * lifetimes); timed from before the request.
			 */
			renew = life * 8 / 10;
			if (life - 60000 < renew)
				renew = life - 60000;
			if (renew < life / 2)
				renew = life / 2;
			a->renew_at = t0 + renew;
			a->expire_at = t0 + life;
		} else {
			a->renew_at = INT64_MAX;
			a->expire_at = INT64_MAX;
		}
		a->fail_until = 0;
		rc = copy_header(a, buf, cap, gen, err, errlen);
	} else {
		a->st.failures++;
		a->fail_seq++;
		a->last_rc = rc;
		a->fail_until = a->clock(a->clock_arg) + FAIL_HOLD_MS;
		memcpy(a->last_err, e2, sizeof(a->last_err));
		a->last_err[sizeof(a->last_err) - 1] = '\0';
		httpc_errf(err, errlen, "%s", e2);
	}
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (rc == OAUTH_OK)
		log_kv(LOG_INFO, "oauth access token renewed", "grant",
		    a->refresh_file != NULL ? "refresh_token" :
		    "client_credentials", (const char *)NULL);
	else
		log_kv(LOG_WARN, "oauth token request failed", "result",
		    oauth_strerror(rc), "reason", e2, (const char *)NULL);
	answer_clear(&an);
	return rc;
}

void
oauth_invalidate(struct oauth *a, uint64_t gen)
{
	pthread_mutex_lock(&a->mu);
	if (gen == a->gen && a->token != NULL && !a->stale) {
		a->stale = 1;
		a->st.invalidations++;
	}
	pthread_mutex_unlock(&a->mu);
}

void
oauth_stats(struct oauth *a, struct oauth_stats *st)
{
	pthread_mutex_lock(&a->mu);
	*st = a->st;
	st->generation = a->gen;
	pthread_mutex_unlock(&a->mu);
}
