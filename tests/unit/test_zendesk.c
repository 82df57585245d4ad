/*
 * test_zendesk.c -- the libcurl client against the fake Zendesk
 * (tests/fakes/fake_zendesk.py, started here on loopback): every
 * operation, error classes (404, 422, 401, 429 with Retry-After, 5xx,
 * timeout, reset, oversized, not JSON, redirect), the URL policy,
 * config loading, the governor hook, and no credential in any log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "rolehook/config.h"
#include "rolehook/governor.h"
#include "rolehook/log.h"
#include "rolehook/zendesk.h"

#define EMAIL "admin@example.com"
#define TOKEN "zd-t0ken-SECRET-42"
#define BEARER "oauth-B3ARER-SECRET-7"
/* base64("admin@example.com/token:zd-t0ken-SECRET-42"), by Python */
#define BASIC_B64 "YWRtaW5AZXhhbXBsZS5jb20vdG9rZW46emQtdDBrZW4tU0VDUkVULTQy"

static struct {
	pid_t pid;
	int port;
	char dir[64];
	char base[64];
} fake = { -1, 0, "", "" };

/* ------------------------------------------------------------ helpers */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
	char *p;
	size_t n;
};

static size_t
buf_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);

	if (q == NULL)
		return 0;
	memcpy(q + b->n, ptr, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* Talks to the fake's control API; returns the parsed answer (caller puts). */
static struct json_object *
ctl(const char *method, const char *path, const char *body)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	struct buf b = { NULL, 0 };
	struct json_object *o;
	char url[256];
	long status = 0;

	assert_non_null(h);
	snprintf(url, sizeof(url), "%s/__fake/%s", fake.base, path);
	hd = curl_slist_append(hd, "Content-Type: application/json");
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_PROXY, ""), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L),
	    CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method),
	    CURLE_OK);
	if (body != NULL)
		assert_int_equal(curl_easy_setopt(h, CURLOPT_POSTFIELDS, body),
		    CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write),
	    CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEDATA, &b), CURLE_OK);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		fail_msg("control %s %s: HTTP %ld: %s", method, path, status,
		    b.p != NULL ? b.p : "");
	o = json_tokener_parse(b.p != NULL ? b.p : "null");
	assert_non_null(o);
	free(b.p);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return o;
}

static void
ctl0(const char *method, const char *path, const char *body)
{
	json_object_put(ctl(method, path, body));
}

/* Number of /api requests the fake has seen. */
static size_t
nrequests(void)
{
	struct json_object *o = ctl("GET", "requests", NULL), *a;
	size_t n;

	assert_true(json_object_object_get_ex(o, "requests", &a));
	n = json_object_array_length(a);
	json_object_put(o);
	return n;
}

/* "METHOD path" of the last /api request the fake saw, in buf. */
static const char *
last_request(char *buf, size_t len)
{
	struct json_object *o = ctl("GET", "requests", NULL), *a, *last;
	size_t n;

	assert_true(json_object_object_get_ex(o, "requests", &a));
	n = json_object_array_length(a);
	assert_true(n > 0);
	last = json_object_array_get_idx(a, n - 1);
	snprintf(buf, len, "%s %s", json_object_get_string(
	    json_object_object_get(last, "method")), json_object_get_string(
	    json_object_object_get(last, "path")));
	json_object_put(o);
	return buf;
}

/*
 * Teardown: the fake checks every request against Zendesk's OpenAPI
 * description (tests/fakes/zendesk_oas.json); a test that made the client
 * send something undeclared fails here even if it coped with the 400.
 */
static int
no_violations(void **state)
{
	struct json_object *o = ctl("GET", "violations", NULL), *a;
	size_t n;

	(void)state;
	if (!json_object_object_get_ex(o, "violations", &a))
		fail_msg("no violations member");
	n = json_object_array_length(a);
	if (n > 0)
		fprintf(stderr, "not in the OpenAPI description: %s\n",
		    json_object_to_json_string(a));
	json_object_put(o);
	return n == 0 ? 0 : -1;
}

/* state[key] as a JSON string (caller frees). */
static char *
state_json(const char *key)
{
	struct json_object *o = ctl("GET", "state", NULL), *v;
	char *s;

	assert_true(json_object_object_get_ex(o, key, &v));
	s = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	assert_non_null(s);
	return s;
}

static int64_t
jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return json_object_get_int64(v);
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return json_object_get_string(v);
}

static void
opts_default(struct zd_opts *o, const char *auth)
{
	memset(o, 0, sizeof(*o));
	o->base_url = fake.base;
	o->auth = auth;
	o->allow_http_loopback = 1;
	o->entitlements = 1;
	o->connect_timeout_ms = 2000;
	o->timeout_ms = 5000;
	o->gov_max_wait_ms = -1;
}

static struct zd_client *
client_with(const struct zd_opts *o)
{
	struct zd_client *c = NULL;
	char err[ZD_ERRLEN];

	if (zd_client_new(o, &c, err, sizeof(err)) != ZD_OK)
		fail_msg("zd_client_new: %s", err);
	return c;
}

static struct zd_client *
client(void)
{
	struct zd_opts o;

	opts_default(&o, "Basic " BASIC_B64);
	return client_with(&o);
}

static const char seed_doc[] =
    "{\"custom_roles\":[{\"id\":11,\"name\":\"Tier 1\"},"
    "{\"id\":12,\"name\":\"Team lead\"}],"
    "\"groups\":[{\"id\":21,\"name\":\"Tier 1\"},{\"id\":22,"
    "\"name\":\"Escalations\"}],"
    "\"users\":["
    "{\"id\":101,\"name\":\"Ann\",\"email\":\"ann@example.com\","
    "\"role\":\"agent\",\"custom_role_id\":11,\"external_id\":\"E101\"},"
    "{\"id\":102,\"name\":\"Bob\",\"email\":\"Bob@Example.com\","
    "\"role\":\"end-user\"},"
    "{\"id\":103,\"name\":\"Cy\",\"email\":\"cy@example.com\","
    "\"role\":\"admin\"}],"
    "\"memberships\":[{\"id\":31,\"user_id\":101,\"group_id\":21}],"
    "\"entitlements\":{\"101\":{\"chat\":{\"name\":\"agent\","
    "\"is_active\":true}}}}";

/* ---------------------------------------------------- fake lifecycle */

static int
start_fake(void **state)
{
	char path[512], alt[512], pf[128], buf[32];
	const char *script;
	double end;
	ssize_t n;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/../fakes/fake_zendesk.py",
	    ROLEHOOK_TESTDATA);
	/* tests/data may be absent in a fresh clone: strip "/data" instead */
	snprintf(alt, sizeof(alt), "%.*s/fakes/fake_zendesk.py",
	    (int)(strlen(ROLEHOOK_TESTDATA) - 5), ROLEHOOK_TESTDATA);
	script = access(path, R_OK) == 0 ? path : alt;
	snprintf(fake.dir, sizeof(fake.dir), "/tmp/rh-zd-XXXXXX");
	if (mkdtemp(fake.dir) == NULL)
		return -1;
	snprintf(pf, sizeof(pf), "%s/port", fake.dir);
	fake.pid = fork();
	if (fake.pid == -1)
		return -1;
	if (fake.pid == 0) {
		int dn = open("/dev/null", O_WRONLY);

		if (dn != -1)
			dup2(dn, STDOUT_FILENO);
		execlp("python3", "python3", script, "--port", "0",
		    "--port-file", pf, "--rate-limit", "100000", "--email",
		    EMAIL, "--token", TOKEN, "--bearer", BEARER, (char *)NULL);
		_exit(127);
	}
	for (end = now_s() + 15; now_s() < end; usleep(20000)) {
		if ((fd = open(pf, O_RDONLY)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		fake.port = (int)strtol(buf, NULL, 10);
		snprintf(fake.base, sizeof(fake.base), "http://127.0.0.1:%d",
		    fake.port);
		return 0;
	}
	fprintf(stderr, "fake_zendesk did not start (%s)\n", script);
	return -1;
}

static int
stop_fake(void **state)
{
	char cmd[128];

	(void)state;
	if (fake.pid > 0) {
		kill(fake.pid, SIGTERM);
		waitpid(fake.pid, NULL, 0);
	}
	if (fake.dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fake.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return 0;
}

static int
reset_fake(void **state)
{
	(void)state;
	ctl0("POST", "reset", NULL);
	ctl0("POST", "config", "{\"rate_limit\":100000,\"window_s\":60,"
	    "\"links_base\":null,\"user_update_limit\":0}");
	ctl0("POST", "seed", seed_doc);
	return 0;
}

/* ------------------------------------------------------- URL policy */

struct url_case {
	const char *url;
	int allow;
	enum zd_result want;
};

static void
test_url_policy(void **state)
{
	static const struct url_case cases[] = {
		{ "https://acme.zendesk.com", 0, ZD_OK },
		{ "https://acme.zendesk.com/", 0, ZD_OK },
		{ "http://127.0.0.1:8080", 1, ZD_OK },
		{ "http://localhost:8080", 1, ZD_OK },
		{ "http://[::1]:8080", 1, ZD_OK },
		{ "http://127.0.0.1:8080", 0, ZD_EINVAL },
		{ "http://example.com", 1, ZD_EINVAL },
		{ "http://10.0.0.1", 1, ZD_EINVAL },
		{ "http://127.0.0.1.evil.example", 1, ZD_EINVAL },
		{ "http://localhost.evil.example", 1, ZD_EINVAL },
		{ "http://127.0.0.2", 1, ZD_EINVAL },
		{ "ftp://acme.zendesk.com", 1, ZD_EINVAL },
		{ "https://acme.zendesk.com/api/v2", 0, ZD_EINVAL },
		{ "https://u:p@acme.zendesk.com", 0, ZD_EINVAL },
		{ "https://acme.zendesk.com?x=1", 0, ZD_EINVAL },
		{ "https://acme.zendesk.com#f", 0, ZD_EINVAL },
		{ "acme.zendesk.com", 0, ZD_EINVAL },
		{ "", 0, ZD_EINVAL },
		{ NULL, 0, ZD_EINVAL },
		{ "https://acme.zendesk.com\r\nX: y", 0, ZD_EINVAL },
	};
	struct zd_opts o;
	struct zd_client *c;
	char err[ZD_ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		opts_default(&o, "Basic " BASIC_B64);
		o.base_url = cases[i].url;
		o.allow_http_loopback = cases[i].allow;
		c = (struct zd_client *)&o;
		err[0] = '\0';
		if (zd_client_new(&o, &c, err, sizeof(err)) != cases[i].want)
			fail_msg("case %zu (%s): %s", i, cases[i].url != NULL ?
			    cases[i].url : "NULL", err);
		if (cases[i].want != ZD_OK)
			assert_null(c);
		assert_null(strstr(err, BASIC_B64));
		zd_client_free(c);
	}
	/* header injection through the credential */
	opts_default(&o, "Basic abc\r\nX-Evil: 1");
	assert_int_equal(zd_client_new(&o, &c, err, sizeof(err)), ZD_EINVAL);
	assert_null(strstr(err, "abc"));
	opts_default(&o, NULL);
	assert_int_equal(zd_client_new(&o, &c, err, sizeof(err)), ZD_EINVAL);
	zd_client_free(NULL);
}

/* ----------------------------------------------------------- config */

struct conf_case {
	const char *zendesk;       /* the "zendesk" member's JSON */
	enum zd_result want;
	const char *base;          /* expected base URL, or error substring */
	const char *auth;          /* expected auth value when OK */
};

static void
test_conf_load(void **state)
{
	char secret_file[128], open_file[128];
	const struct conf_case cases[] = {
		{ "{\"base_url\":\"https://acme.zendesk.com\",\"auth\":"
		  "{\"email\":\"" EMAIL "\",\"token\":\"env:RH_ZD_TOKEN\"}}",
		  ZD_OK, "https://acme.zendesk.com", "Basic " BASIC_B64 },
		{ "{\"subdomain\":\"acme-eu\",\"entitlements\":true,\"auth\":"
		  "{\"bearer\":\"env:RH_ZD_BEARER\"}}",
		  ZD_OK, "https://acme-eu.zendesk.com", "Bearer " BEARER },
		{ "{\"base_url\":\"http://127.0.0.1:9\",\"allow_http_loopback\":"
		  "true,\"auth\":{\"bearer\":\"file:SECRETFILE\"}}",
		  ZD_OK, "http://127.0.0.1:9", "Bearer " BEARER },
		{ "{\"base_url\":\"http://127.0.0.1:9\",\"auth\":"
		  "{\"bearer\":\"env:RH_ZD_BEARER\"}}",
		  ZD_EINVAL, "zendesk.base_url: http:// is refused", NULL },
		{ "{\"base_url\":\"http://zd.example\",\"allow_http_loopback\":"
		  "true,\"auth\":{\"bearer\":\"env:RH_ZD_BEARER\"}}",
		  ZD_EINVAL, "zendesk.base_url", NULL },
		{ "{\"base_url\":\"https://a.zendesk.com\",\"subdomain\":\"a\","
		  "\"auth\":{\"bearer\":\"env:RH_ZD_BEARER\"}}",
		  ZD_EINVAL, "exactly one of base_url and subdomain", NULL },
		{ "{\"subdomain\":\"Acme.evil\",\"auth\":{\"bearer\":"
		  "\"env:RH_ZD_BEARER\"}}", ZD_EINVAL, "zendesk.subdomain",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"email\":\"" EMAIL "\","
		  "\"token\":\"" TOKEN "\"}}", ZD_EINVAL,
		  "zendesk.auth.token: secrets must be file: or env: references", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"email\":\"" EMAIL "\","
		  "\"token\":\"env:RH_ZD_UNSET\"}}", ZD_EINVAL,
		  "RH_ZD_UNSET is not set", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"email\":\"" EMAIL "\","
		  "\"token\":\"file:OPENFILE\"}}", ZD_EINVAL, "chmod 600",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"token\":\"env:RH_ZD_TOKEN\""
		  "}}", ZD_EINVAL, "zendesk.auth: expected \"email\"", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"bearer\":\"env:RH_ZD_BEARER"
		  "\",\"token\":\"env:RH_ZD_TOKEN\"}}", ZD_EINVAL, "not both",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"bearer\":\"env:RH_ZD_BEARER"
		  "\"},\"timeout\":5}", ZD_EINVAL, "zendesk.timeout: unknown",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"bearer\":\"env:RH_ZD_BEARER"
		  "\",\"x\":1}}", ZD_EINVAL, "zendesk.auth.x: unknown key",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"bearer\":\"env:RH_ZD_BEARER"
		  "\"},\"timeout_ms\":0}", ZD_EINVAL, "zendesk.timeout_ms",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"bearer\":\"env:RH_ZD_BEARER"
		  "\"},\"entitlements\":\"yes\"}", ZD_EINVAL,
		  "zendesk.entitlements: expected true or false", NULL },
		{ "{\"subdomain\":\"a\"}", ZD_EINVAL, "zendesk.auth: missing",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c\",\"client_secret\":\"env:RH_ZD_TOKEN\"},\"bearer\":"
		  "\"env:RH_ZD_BEARER\"}}", ZD_EINVAL, "alone", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c\"}}}", ZD_EINVAL, "expected client_id and client_secret",
		  NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c\",\"client_secret\":\"" TOKEN "\"}}}", ZD_EINVAL,
		  "secrets must be file: or env:", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c d\",\"client_secret\":\"env:RH_ZD_TOKEN\"}}}", ZD_EINVAL,
		  "zendesk.auth.oauth.client_id", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c\",\"client_secret\":\"env:RH_ZD_TOKEN\",\"scope\":"
		  "\"read\",\"refresh_token_file\":\"/x\"}}}", ZD_EINVAL,
		  "scope is for the client credentials grant", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c\",\"client_secret\":\"env:RH_ZD_TOKEN\","
		  "\"refresh_token_file\":\"rel/x\"}}}", ZD_EINVAL,
		  "expected an absolute path", NULL },
		{ "{\"subdomain\":\"a\",\"auth\":{\"oauth\":{\"client_id\":"
		  "\"c\",\"client_secret\":\"env:RH_ZD_TOKEN\",\"x\":1}}}",
		  ZD_EINVAL, "zendesk.auth.oauth.x: unknown key", NULL },
	};
	char doc[1024], zs[512], err[ZD_ERRLEN], cerr[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	struct zd_conf *zc;
	const struct zd_opts *o;
	const char *p;
	size_t i;
	int fd;

	(void)state;
	setenv("RH_ZD_TOKEN", TOKEN, 1);
	setenv("RH_ZD_BEARER", BEARER, 1);
	unsetenv("RH_ZD_UNSET");
	snprintf(secret_file, sizeof(secret_file), "%s/bearer", fake.dir);
	snprintf(open_file, sizeof(open_file), "%s/open", fake.dir);
	fd = open(secret_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, BEARER "\n", sizeof(BEARER)),
	    (ssize_t)sizeof(BEARER));
	close(fd);
	fd = open(open_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, TOKEN, sizeof(TOKEN) - 1),
	    (ssize_t)sizeof(TOKEN) - 1);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* substitute the temp file paths */
		snprintf(zs, sizeof(zs), "%s", cases[i].zendesk);
		if ((p = strstr(cases[i].zendesk, "SECRETFILE")) != NULL)
			snprintf(zs, sizeof(zs), "%.*s%s%s",
			    (int)(p - cases[i].zendesk), cases[i].zendesk,
			    secret_file, p + 10);
		if ((p = strstr(cases[i].zendesk, "OPENFILE")) != NULL)
			snprintf(zs, sizeof(zs), "%.*s%s%s",
			    (int)(p - cases[i].zendesk), cases[i].zendesk,
			    open_file, p + 8);
		snprintf(doc, sizeof(doc), "{\"store\":{\"path\":\"x.db\"},"
		    "\"sources\":{\"a\":{\"preset\":\"github\",\"secrets\":"
		    "[\"env:A\"]}},\"zendesk\":%s}", zs);
		/*
		 * config_parse validates the section (zd_conf_check: all
		 * but reading the secret), so a bad section fails there
		 * with the same message; what only reading the secret
		 * tells (unset variable, open file) fails in zd_conf_load.
		 */
		if (config_parse(doc, strlen(doc), "t.json",
		    CONFIG_SECRETS_SKIP, &cfg, cerr, sizeof(cerr)) != 0) {
			if (cases[i].want == ZD_OK ||
			    strstr(cerr, cases[i].base) == NULL)
				fail_msg("case %zu: config: %s", i, cerr);
			assert_memory_equal(cerr, "t.json: zendesk", 15);
			continue;
		}
		err[0] = '\0';
		zc = NULL;
		if (zd_conf_load(cfg, &zc, err, sizeof(err)) != cases[i].want)
			fail_msg("case %zu: %s", i, err);
		if (cases[i].want == ZD_OK) {
			o = zd_conf_opts(zc);
			assert_string_equal(o->base_url, cases[i].base);
			assert_string_equal(o->auth, cases[i].auth);
		} else {
			assert_null(zc);
			if (strstr(err, cases[i].base) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
				    err, cases[i].base);
		}
		assert_null(strstr(err, TOKEN));
		assert_null(strstr(err, BEARER));
		zd_conf_free(zc);
		config_free(cfg);
		cfg = NULL;
	}
	/* no zendesk section */
	snprintf(doc, sizeof(doc), "{\"store\":{\"path\":\"x.db\"},"
	    "\"sources\":{\"a\":{\"preset\":\"github\",\"secrets\":"
	    "[\"env:A\"]}}}");
	assert_int_equal(config_parse(doc, strlen(doc), "t.json",
	    CONFIG_SECRETS_SKIP, &cfg, cerr, sizeof(cerr)), 0);
	assert_int_equal(zd_conf_load(cfg, &zc, err, sizeof(err)), ZD_EINVAL);
	assert_non_null(strstr(err, "zendesk: missing"));
	config_free(cfg);
	zd_conf_free(NULL);
}

/* ------------------------------------------------------------ users */

static void
test_get_user(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	assert_int_equal(r.status, 200);
	assert_non_null(r.item);
	assert_int_equal(jint(r.item, "id"), 101);
	assert_int_equal(jint(r.item, "custom_role_id"), 11);
	assert_string_equal(jstr(r.item, "role"), "agent");
	/* the rate headers came along */
	assert_string_equal(r.rl.x_rate_limit, "100000");
	assert_true(r.rl.ratelimit_remaining[0] != '\0');
	assert_int_equal(zd_get_user(c, 999, &r), ZD_NOT_FOUND);
	assert_int_equal(r.status, 404);
	assert_null(r.item);
	assert_int_equal(zd_get_user(c, 0, &r), ZD_EINVAL);
	assert_int_equal(zd_get_user(c, -5, &r), ZD_EINVAL);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_find_user(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	assert_int_equal(zd_find_user(c, "E101", NULL, &r), ZD_OK);
	assert_int_equal(jint(r.item, "id"), 101);
	/* external_id first, even when the email names someone else */
	assert_int_equal(zd_find_user(c, "E101", "cy@example.com", &r), ZD_OK);
	assert_int_equal(jint(r.item, "id"), 101);
	/* unknown external_id: falls back to the email, case-insensitively */
	assert_int_equal(zd_find_user(c, "E-unknown", "bob@EXAMPLE.com", &r),
	    ZD_OK);
	assert_int_equal(jint(r.item, "id"), 102);
	assert_int_equal(zd_find_user(c, NULL, "CY@example.com", &r), ZD_OK);
	assert_int_equal(jint(r.item, "id"), 103);
	assert_int_equal(zd_find_user(c, "nope", "nobody@example.com", &r),
	    ZD_NOT_FOUND);
	assert_null(r.item);
	assert_int_equal(zd_find_user(c, "nope", NULL, &r), ZD_NOT_FOUND);
	/* odd characters are escaped, not injected */
	assert_int_equal(zd_find_user(c, "a&query=email:ann@example.com",
	    NULL, &r), ZD_NOT_FOUND);
	assert_int_equal(zd_find_user(c, NULL, NULL, &r), ZD_EINVAL);
	assert_int_equal(zd_find_user(c, "", "", &r), ZD_EINVAL);
	assert_int_equal(zd_find_user(c, NULL, "a b@example.com", &r),
	    ZD_EINVAL);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* GET /api/v2/users/show_many.json: ids or external_ids, up to 100. */
static void
test_show_many(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	const char *xids[] = { "E101", "nope" }, *ids[] = { "101", "103" };
	const char *bad[] = { "E101,E102" }, *many[ZD_SHOW_MANY_MAX + 1];
	size_t i;

	(void)state;
	assert_int_equal(zd_show_many(c, "external_ids", xids, 2, &r), ZD_OK);
	assert_int_equal(json_object_array_length(r.item), 1);
	assert_int_equal(jint(json_object_array_get_idx(r.item, 0), "id"), 101);
	assert_int_equal(zd_show_many(c, "ids", ids, 2, &r), ZD_OK);
	assert_int_equal(json_object_array_length(r.item), 2);
	/* a comma would split one key in two: refused, never sent */
	assert_int_equal(zd_show_many(c, "external_ids", bad, 1, &r),
	    ZD_EINVAL);
	assert_int_equal(zd_show_many(c, "emails", xids, 2, &r), ZD_EINVAL);
	assert_int_equal(zd_show_many(c, "ids", ids, 0, &r), ZD_EINVAL);
	for (i = 0; i < ZD_SHOW_MANY_MAX + 1; i++)
		many[i] = "1";
	assert_int_equal(zd_show_many(c, "ids", many, ZD_SHOW_MANY_MAX + 1,
	    &r), ZD_EINVAL);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_create_user(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	struct zd_user_fields u = { "Dee", "dee@example.com", "E200", "agent",
		12, -1 };
	size_t n;

	(void)state;
	assert_int_equal(zd_create_user(c, &u, &r), ZD_OK);
	assert_int_equal(r.status, 201);
	assert_true(jint(r.item, "id") > 0);
	assert_int_equal(jint(r.item, "custom_role_id"), 12);
	assert_int_equal(zd_find_user(c, "E200", NULL, &r), ZD_OK);
	/* a duplicate email is a 422: permanent, with Zendesk's reason */
	u.external_id = "E201";
	u.email = "DEE@example.com";
	assert_int_equal(zd_create_user(c, &u, &r), ZD_PERMANENT);
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(r.reason, "RecordInvalid"));
	assert_non_null(strstr(r.reason, "already being used"));
	/* refused locally, without a request: a legacy agent, no name */
	n = nrequests();
	u.email = "eve@example.com";
	u.custom_role_id = 0;
	assert_int_equal(zd_create_user(c, &u, &r), ZD_EINVAL);
	assert_non_null(strstr(r.reason, "legacy agent"));
	u.custom_role_id = 12;
	u.name = NULL;
	assert_int_equal(zd_create_user(c, &u, &r), ZD_EINVAL);
	u.name = "Eve";
	u.role = "owner";
	assert_int_equal(zd_create_user(c, &u, &r), ZD_EINVAL);
	u.role = "end-user";
	assert_int_equal(zd_create_user(c, &u, &r), ZD_EINVAL); /* custom role */
	assert_int_equal(zd_create_user(c, NULL, &r), ZD_EINVAL);
	assert_int_equal(nrequests(), n);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_update_user(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	struct zd_user_fields u;
	char *legacy;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.suspended = -1;
	/* joiner: end-user -> agent with a custom role */
	u.role = "agent";
	u.custom_role_id = 12;
	assert_int_equal(zd_update_user(c, 102, &u, &r), ZD_OK);
	assert_string_equal(jstr(r.item, "role"), "agent");
	assert_int_equal(jint(r.item, "custom_role_id"), 12);
	/* leaver: downgrade, then suspend */
	u.role = "end-user";
	u.custom_role_id = 0;
	assert_int_equal(zd_update_user(c, 101, &u, &r), ZD_OK);
	assert_string_equal(jstr(r.item, "role"), "end-user");
	assert_true(json_object_is_type(json_object_object_get(r.item,
	    "custom_role_id"), json_type_null));
	memset(&u, 0, sizeof(u));
	u.suspended = 1;
	assert_int_equal(zd_update_user(c, 101, &u, &r), ZD_OK);
	assert_true(json_object_get_boolean(json_object_object_get(r.item,
	    "suspended")));
	/* a custom role Zendesk does not know: 422 */
	u.suspended = -1;
	u.role = "agent";
	u.custom_role_id = 999;
	assert_int_equal(zd_update_user(c, 102, &u, &r), ZD_PERMANENT);
	assert_non_null(strstr(r.reason, "custom_role_id"));
	u.custom_role_id = 11;
	assert_int_equal(zd_update_user(c, 424242, &u, &r), ZD_NOT_FOUND);
	/* nothing set, or agent without a custom role: refused locally */
	memset(&u, 0, sizeof(u));
	u.suspended = -1;
	assert_int_equal(zd_update_user(c, 102, &u, &r), ZD_EINVAL);
	u.role = "agent";
	assert_int_equal(zd_update_user(c, 102, &u, &r), ZD_EINVAL);
	u.suspended = 2;
	u.role = NULL;
	assert_int_equal(zd_update_user(c, 102, &u, &r), ZD_EINVAL);
	legacy = state_json("legacy_events");
	assert_string_equal(legacy, "[]");
	free(legacy);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* ----------------------------------------------------- custom roles */

static void
test_custom_roles(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	struct json_object *role;
	int64_t id;

	(void)state;
	assert_int_equal(zd_list_custom_roles(c, &r), ZD_OK);
	assert_int_equal(json_object_array_length(r.item), 2);
	assert_int_equal(jint(json_object_array_get_idx(r.item, 0),
	    "team_member_count"), 1);
	role = json_tokener_parse("{\"name\":\"Partner\",\"description\":"
	    "\"private comments only\",\"configuration\":{\"ticket_access\":"
	    "\"assigned-only\",\"ticket_comment_access\":\"none\"}}");
	assert_non_null(role);
	assert_int_equal(zd_create_custom_role(c, role, &r), ZD_OK);
	assert_int_equal(r.status, 201);
	id = jint(r.item, "id");
	assert_int_equal(jint(r.item, "role_type"), 0);
	/* the caller's object is borrowed, not consumed */
	assert_string_equal(jstr(role, "name"), "Partner");
	json_object_object_add(role, "name", json_object_new_string("Partner 2"));
	assert_int_equal(zd_update_custom_role(c, id, role, &r), ZD_OK);
	assert_string_equal(jstr(r.item, "name"), "Partner 2");
	/* the same name again is a 422 */
	assert_int_equal(zd_create_custom_role(c, role, &r), ZD_PERMANENT);
	assert_int_equal(r.status, 422);
	/* read-only fields are refused before sending */
	json_object_object_add(role, "role_type", json_object_new_int(0));
	assert_int_equal(zd_create_custom_role(c, role, &r), ZD_EINVAL);
	json_object_put(role);
	assert_int_equal(zd_create_custom_role(c, NULL, &r), ZD_EINVAL);
	/* a role agents hold cannot be deleted */
	assert_int_equal(zd_delete_custom_role(c, 11, &r), ZD_PERMANENT);
	assert_int_equal(r.status, 422);
	assert_non_null(strstr(r.reason, "assigned"));
	assert_int_equal(zd_delete_custom_role(c, id, &r), ZD_OK);
	assert_int_equal(r.status, 204);
	assert_null(r.body);
	assert_int_equal(zd_delete_custom_role(c, id, &r), ZD_NOT_FOUND);
	assert_int_equal(zd_update_custom_role(c, 0, NULL, &r), ZD_EINVAL);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* ---------------------------------------------- groups, memberships */

static void
test_groups_memberships(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	int64_t mid;

	(void)state;
	assert_int_equal(zd_list_groups(c, &r), ZD_OK);
	assert_int_equal(json_object_array_length(r.item), 2);
	assert_string_equal(jstr(json_object_array_get_idx(r.item, 1), "name"),
	    "Escalations");
	assert_int_equal(zd_list_memberships(c, 101, &r), ZD_OK);
	assert_int_equal(json_object_array_length(r.item), 1);
	assert_int_equal(jint(json_object_array_get_idx(r.item, 0),
	    "group_id"), 21);
	assert_int_equal(zd_add_membership(c, 101, 22, &r), ZD_OK);
	assert_int_equal(r.status, 201);
	mid = jint(r.item, "id");
	assert_int_equal(zd_add_membership(c, 101, 22, &r), ZD_PERMANENT);
	assert_int_equal(zd_add_membership(c, 102, 22, &r), ZD_PERMANENT);
	assert_int_equal(zd_list_memberships(c, 101, &r), ZD_OK);
	assert_int_equal(json_object_array_length(r.item), 2);
	assert_int_equal(zd_remove_membership(c, mid, &r), ZD_OK);
	assert_int_equal(zd_remove_membership(c, mid, &r), ZD_NOT_FOUND);
	assert_int_equal(zd_list_memberships(c, 999, &r), ZD_NOT_FOUND);
	assert_int_equal(zd_add_membership(c, 0, 22, &r), ZD_EINVAL);
	assert_int_equal(zd_remove_membership(c, -1, &r), ZD_EINVAL);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* ----------------------------------------------------- entitlements */

static void
test_entitlements(void **state)
{
	struct zd_client *c = client(), *off;
	struct zd_response r = ZD_RESPONSE_INIT;
	struct json_object *ents, *talk;
	struct zd_opts o;
	char last[160];
	size_t n;

	(void)state;
	/* the read is the official GetUserEntitlementsFull, not the private
	 * staff endpoint; it has no "support" (role and custom role) */
	assert_int_equal(zd_get_entitlements(c, 101, &r), ZD_OK);
	assert_string_equal(last_request(last, sizeof(last)),
	    "GET /api/v2/users/101/entitlements/full");
	assert_null(json_object_object_get(r.item, "support"));
	assert_string_equal(jstr(json_object_object_get(r.item, "chat"),
	    "name"), "agent");
	assert_true(json_object_get_boolean(json_object_object_get(
	    json_object_object_get(r.item, "chat"), "is_active")));
	/* an end-user holds nothing; the admin has no products either */
	assert_int_equal(zd_get_entitlements(c, 102, &r), ZD_OK);
	assert_int_equal(json_object_object_length(r.item), 0);
	assert_int_equal(zd_get_entitlements(c, 103, &r), ZD_OK);
	assert_int_equal(json_object_object_length(r.item), 0);
	/* the description's 503 (overloaded) is retryable */
	ctl0("POST", "faults", "{\"rules\":[{\"match\":\"GET /api/v2/users/"
	    "*/entitlements/full\",\"kind\":\"503\",\"count\":1}]}");
	assert_int_equal(zd_get_entitlements(c, 101, &r), ZD_RETRYABLE);
	ctl0("DELETE", "faults", NULL);
	/* the thread's payload: talk is absent before, PUT creates it */
	ents = json_tokener_parse("{\"talk\":{\"name\":\"agent\",\"is_active\""
	    ":true},\"chat\":{\"name\":\"agent\",\"is_active\":false}}");
	assert_non_null(ents);
	assert_int_equal(zd_put_entitlements(c, 101, ents, &r), ZD_OK);
	assert_string_equal(last_request(last, sizeof(last)),
	    "PUT /api/admin/private/staff/101/entitlements");
	talk = json_object_object_get(r.item, "talk");
	assert_non_null(talk);
	assert_true(json_object_get_boolean(json_object_object_get(talk,
	    "is_active")));
	/* the official read answers from what the private PUT wrote */
	assert_int_equal(zd_get_entitlements(c, 101, &r), ZD_OK);
	assert_false(json_object_get_boolean(json_object_object_get(
	    json_object_object_get(r.item, "chat"), "is_active")));
	assert_string_equal(jstr(json_object_object_get(r.item, "talk"),
	    "name"), "agent");
	assert_true(json_object_get_boolean(json_object_object_get(
	    json_object_object_get(r.item, "talk"), "is_active")));
	assert_int_equal(zd_get_entitlements(c, 999, &r), ZD_NOT_FOUND);
	/* end-users cannot hold a seat: 422 */
	assert_int_equal(zd_put_entitlements(c, 102, ents, &r), ZD_PERMANENT);
	json_object_put(ents);
	/* unknown products are refused locally */
	ents = json_tokener_parse("{\"zopim\":{\"name\":\"agent\"}}");
	assert_int_equal(zd_put_entitlements(c, 101, ents, &r), ZD_EINVAL);
	json_object_put(ents);
	ents = json_object_new_object();
	assert_int_equal(zd_put_entitlements(c, 101, ents, &r), ZD_EINVAL);
	/* switched off: nothing is sent */
	opts_default(&o, "Basic " BASIC_B64);
	o.entitlements = 0;
	off = client_with(&o);
	n = nrequests();
	assert_int_equal(zd_get_entitlements(off, 101, &r), ZD_DISABLED);
	json_object_object_add(ents, "talk", json_tokener_parse(
	    "{\"name\":\"agent\",\"is_active\":false}"));
	assert_int_equal(zd_put_entitlements(off, 101, ents, &r), ZD_DISABLED);
	assert_int_equal(zd_call(off, "GET",
	    "/api/admin/private/staff/101/entitlements", NULL, &r),
	    ZD_DISABLED);
	assert_int_equal(nrequests(), n);
	json_object_put(ents);
	zd_client_free(off);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* ---------------------------------------------------------- listing */

struct pages {
	int pages;
	int users;
	int stop_after;
	int bad;
};

static int
page_cb(struct json_object *items, void *arg)
{
	struct pages *p = arg;
	size_t i, n = json_object_array_length(items);

	p->pages++;
	p->users += (int)n;
	for (i = 0; i < n; i++) {
		const char *role = jstr(json_object_array_get_idx(items, i),
		    "role");

		if (strcmp(role, "agent") != 0 && strcmp(role, "admin") != 0)
			p->bad++;
	}
	return p->stop_after > 0 && p->pages >= p->stop_after;
}

static void
seed_many(int n)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *users = json_object_new_array();
	char email[64], name[32];
	int i;

	for (i = 0; i < n; i++) {
		struct json_object *u = json_object_new_object();

		snprintf(email, sizeof(email), "u%d@example.com", i);
		snprintf(name, sizeof(name), "U%d", i);
		json_object_object_add(u, "id", json_object_new_int64(5000 + i));
		json_object_object_add(u, "name", json_object_new_string(name));
		json_object_object_add(u, "email", json_object_new_string(email));
		json_object_object_add(u, "role", json_object_new_string(
		    i % 4 == 0 ? "end-user" : "agent"));
		if (i % 4 != 0)
			json_object_object_add(u, "custom_role_id",
			    json_object_new_int64(11));
		json_object_array_add(users, u);
	}
	json_object_object_add(doc, "users", users);
	ctl0("POST", "seed", json_object_to_json_string(doc));
	json_object_put(doc);
}

static void
test_list_agents(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	struct pages p = { 0, 0, 0, 0 };

	(void)state;
	seed_many(400);   /* 300 agents, plus Ann and Cy */
	assert_int_equal(zd_list_agents(c, 100, page_cb, &p, &r), ZD_OK);
	assert_int_equal(p.users, 302);
	assert_int_equal(p.pages, 4);
	assert_int_equal(p.bad, 0);
	assert_null(r.body);
	memset(&p, 0, sizeof(p));
	assert_int_equal(zd_list_agents(c, 0, page_cb, &p, &r), ZD_OK);
	assert_int_equal(p.users, 302);
	/* the callback can stop early */
	memset(&p, 0, sizeof(p));
	p.stop_after = 2;
	assert_int_equal(zd_list_agents(c, 7, page_cb, &p, &r), ZD_OK);
	assert_int_equal(p.pages, 2);
	assert_int_equal(p.users, 14);
	assert_int_equal(zd_list_agents(c, 101, page_cb, &p, &r), ZD_EINVAL);
	assert_int_equal(zd_list_agents(c, 10, NULL, &p, &r), ZD_EINVAL);
	/* a fault on the third page fails the listing, retryably */
	ctl0("POST", "faults", "{\"rules\":[{\"match\":\"GET /api/v2/users.json\","
	    "\"kind\":\"503\",\"skip\":2,\"count\":1}]}");
	memset(&p, 0, sizeof(p));
	assert_int_equal(zd_list_agents(c, 100, page_cb, &p, &r), ZD_RETRYABLE);
	assert_int_equal(p.pages, 2);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_foreign_next_link(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	struct pages p = { 0, 0, 0, 0 };

	(void)state;
	seed_many(20);
	/* a links.next that points elsewhere must not get our credential */
	ctl0("POST", "config", "{\"links_base\":\"http://evil.example\"}");
	assert_int_equal(zd_list_agents(c, 5, page_cb, &p, &r),
	    ZD_BAD_RESPONSE);
	assert_non_null(strstr(r.reason, "not followed"));
	assert_int_equal(p.pages, 1);
	assert_int_equal(nrequests(), 1);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* ------------------------------------------------------------ errors */

static void
test_rate_limited(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	ctl0("POST", "config", "{\"rate_limit\":2,\"window_s\":30}");
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	assert_string_equal(r.rl.x_rate_limit_remaining, "1");
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	assert_string_equal(r.rl.ratelimit_remaining, "0");
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RATE_LIMITED);
	assert_int_equal(r.status, 429);
	assert_true(r.retry_after_s >= 1 && r.retry_after_s <= 30);
	assert_non_null(strstr(r.reason, "APIRateLimitExceeded"));
	/* an injected 429 with its own Retry-After */
	ctl0("POST", "config", "{\"rate_limit\":100000}");
	ctl0("POST", "faults", "{\"rules\":[{\"match\":\"PUT /api/v2/users/*\","
	    "\"kind\":\"429\",\"retry_after\":7,\"count\":1}]}");
	{
		struct zd_user_fields u = { NULL, NULL, NULL, NULL, 0, 1 };

		assert_int_equal(zd_update_user(c, 101, &u, &r),
		    ZD_RATE_LIMITED);
		assert_int_equal(r.retry_after_s, 7);
		assert_int_equal(zd_update_user(c, 101, &u, &r), ZD_OK);
	}
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_retryable_5xx(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	ctl0("POST", "faults", "{\"rules\":["
	    "{\"match\":\"GET /api/v2/users/101.json\",\"kind\":\"503\","
	    "\"count\":1,\"retry_after\":4},"
	    "{\"match\":\"GET /api/v2/users/101.json\",\"kind\":\"500\","
	    "\"count\":1}]}");
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RETRYABLE);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.retry_after_s, 4);
	assert_non_null(strstr(r.reason, "ServiceUnavailable"));
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RETRYABLE);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.retry_after_s, -1);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_timeout_and_reset(void **state)
{
	struct zd_opts o;
	struct zd_client *c;
	struct zd_response r = ZD_RESPONSE_INIT;
	double t0, el;

	(void)state;
	opts_default(&o, "Basic " BASIC_B64);
	o.timeout_ms = 500;
	c = client_with(&o);
	ctl0("POST", "faults", "{\"rules\":["
	    "{\"match\":\"GET /api/v2/users/101.json\",\"kind\":\"timeout\","
	    "\"delay_s\":5,\"count\":1},"
	    "{\"match\":\"GET /api/v2/users/103.json\",\"kind\":\"reset\","
	    "\"count\":1},"
	    "{\"match\":\"GET /api/v2/groups.json\",\"kind\":\"slow\","
	    "\"delay_s\":0.2,\"count\":1}]}");
	t0 = now_s();
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RETRYABLE);
	el = now_s() - t0;
	assert_true(el >= 0.45 && el < 2.0);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.reason, "imeout"));
	assert_int_equal(zd_get_user(c, 103, &r), ZD_RETRYABLE);
	assert_int_equal(r.status, 0);
	/* slow but within the timeout is fine; the handle still works */
	assert_int_equal(zd_list_groups(c, &r), ZD_OK);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_connection_refused(void **state)
{
	struct zd_opts o;
	struct zd_client *c;
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	opts_default(&o, "Basic " BASIC_B64);
	o.base_url = "http://127.0.0.1:1";
	c = client_with(&o);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RETRYABLE);
	assert_int_equal(r.status, 0);
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_bad_responses(void **state)
{
	struct zd_opts o;
	struct zd_client *c;
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	opts_default(&o, "Basic " BASIC_B64);
	o.max_response = 65536;
	c = client_with(&o);
	ctl0("POST", "faults", "{\"rules\":["
	    "{\"match\":\"GET /api/v2/users/101.json\",\"kind\":\"big\","
	    "\"size\":1048576,\"count\":1},"
	    "{\"match\":\"GET /api/v2/users/101.json\",\"kind\":\"garbage\","
	    "\"count\":1},"
	    "{\"match\":\"GET /api/v2/users/101.json\",\"kind\":\"redirect\","
	    "\"count\":1}]}");
	assert_int_equal(zd_get_user(c, 101, &r), ZD_BAD_RESPONSE);
	assert_non_null(strstr(r.reason, "larger than 65536"));
	assert_null(r.body);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_BAD_RESPONSE);
	assert_non_null(strstr(r.reason, "not JSON"));
	assert_int_equal(zd_get_user(c, 101, &r), ZD_PERMANENT);
	assert_int_equal(r.status, 302);
	assert_non_null(strstr(r.reason, "redirects are not followed"));
	/* the redirect was not followed: the fake saw three requests */
	assert_int_equal(nrequests(), 3);
	/* and the handle is fine afterwards */
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	/* a 2xx with the wrong shape */
	ctl0("POST", "faults", "{\"rules\":[{\"match\":\"GET /api/v2/groups.json\""
	    ",\"kind\":\"big\",\"size\":10,\"count\":1}]}");
	assert_int_equal(zd_list_custom_roles(c, &r), ZD_OK);
	assert_int_equal(zd_list_groups(c, &r), ZD_BAD_RESPONSE);
	assert_non_null(strstr(r.reason, "no groups array"));
	zd_response_clear(&r);
	zd_client_free(c);
}

static void
test_auth(void **state)
{
	struct zd_opts o;
	struct zd_client *c;
	struct zd_response r = ZD_RESPONSE_INIT;

	(void)state;
	opts_default(&o, "Basic d3Jvbmc6d3Jvbmc=");
	c = client_with(&o);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_UNAUTHORIZED);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(r.reason, "Couldn't authenticate you"));
	zd_client_free(c);
	opts_default(&o, "Bearer " BEARER);
	c = client_with(&o);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	zd_response_clear(&r);
	zd_client_free(c);
}

/*
 * OAuth client credentials through zd_conf: two clients share the token;
 * a token revoked behind rolehook's back (401) is renewed once and the
 * request retried, invisibly to the caller.
 */
static void
test_oauth(void **state)
{
	char doc[1024], err[ZD_ERRLEN], cerr[CONFIG_ERRLEN];
	struct config *cfg = NULL;
	struct zd_conf *zc = NULL;
	struct zd_opts o;
	struct zd_client *c1, *c2;
	struct zd_response r = ZD_RESPONSE_INIT;
	struct json_object *st, *oa, *g, *v;
	const char *last;
	char buf[128];

	(void)state;
	setenv("RH_ZD_OAUTH", "cs-SECRET-9", 1);
	ctl0("POST", "config", "{\"oauth\":{\"enabled\":true,\"client_id\":"
	    "\"rh\",\"client_secret\":\"cs-SECRET-9\",\"access_ttl_s\":600}}");
	snprintf(doc, sizeof(doc), "{\"store\":{\"path\":\"x.db\"},"
	    "\"sources\":{\"a\":{\"preset\":\"github\",\"secrets\":"
	    "[\"env:A\"]}},\"zendesk\":{\"base_url\":\"%s\","
	    "\"allow_http_loopback\":true,\"auth\":{\"oauth\":{"
	    "\"client_id\":\"rh\",\"client_secret\":\"env:RH_ZD_OAUTH\","
	    "\"scope\":\"read write\"}}}}", fake.base);
	assert_int_equal(config_parse(doc, strlen(doc), "t.json",
	    CONFIG_SECRETS_SKIP, &cfg, cerr, sizeof(cerr)), 0);
	if (zd_conf_load(cfg, &zc, err, sizeof(err)) != ZD_OK)
		fail_msg("zd_conf_load: %s", err);
	o = *zd_conf_opts(zc);
	assert_non_null(o.oauth);
	assert_null(o.auth);
	c1 = client_with(&o);
	c2 = client_with(&o);
	assert_int_equal(zd_get_user(c1, 101, &r), ZD_OK);
	assert_int_equal(zd_get_user(c2, 101, &r), ZD_OK);
	ctl0("POST", "oauth/expire", NULL);
	assert_int_equal(zd_get_user(c2, 101, &r), ZD_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(zd_get_user(c1, 101, &r), ZD_OK);
	last = last_request(buf, sizeof(buf));
	assert_string_equal(last, "GET /api/v2/users/101.json");
	st = ctl("GET", "state", NULL);
	assert_true(json_object_object_get_ex(st, "oauth", &oa));
	assert_true(json_object_object_get_ex(oa, "grants", &g));
	assert_true(json_object_object_get_ex(g, "client_credentials", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(oa, "rejected", &v));
	assert_int_equal(json_object_get_int(v), 1);
	json_object_put(st);
	/* A refused client: ZD_UNAUTHORIZED with no HTTP status. */
	ctl0("POST", "config", "{\"oauth\":{\"client_secret\":\"other\"}}");
	ctl0("POST", "oauth/expire", NULL);
	assert_int_equal(zd_get_user(c1, 101, &r), ZD_UNAUTHORIZED);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.reason, "invalid_client"));
	assert_null(strstr(r.reason, "cs-SECRET-9"));
	ctl0("POST", "config", "{\"oauth\":{\"enabled\":false}}");
	zd_response_clear(&r);
	zd_client_free(c1);
	zd_client_free(c2);
	zd_conf_free(zc);
	config_free(cfg);
}

static void
test_call(void **state)
{
	struct zd_client *c = client();
	struct zd_response r = ZD_RESPONSE_INIT;
	struct json_object *body;
	size_t n;

	(void)state;
	assert_int_equal(zd_call(c, "GET", "/api/v2/users/101.json", NULL, &r),
	    ZD_OK);
	assert_non_null(r.item);
	assert_true(r.item == r.body);
	body = json_tokener_parse("{\"user\":{\"suspended\":true}}");
	assert_int_equal(zd_call(c, "PUT", "/api/v2/users/102.json", body, &r),
	    ZD_OK);
	assert_int_equal(zd_call(c, "GET",
	    "/api/v2/users/101/entitlements/full", NULL, &r), ZD_OK);
	n = nrequests();
	assert_int_equal(zd_call(c, "GET", "/api/v2/../../etc", NULL, &r),
	    ZD_EINVAL);
	assert_int_equal(zd_call(c, "GET", "http://evil.example/api/v2/x",
	    NULL, &r), ZD_EINVAL);
	assert_int_equal(zd_call(c, "GET", "/api/v2/users 1", NULL, &r),
	    ZD_EINVAL);
	assert_int_equal(zd_call(c, "GET", "/api/v2/x\r\nX: y", NULL, &r),
	    ZD_EINVAL);
	assert_int_equal(zd_call(c, "PATCH", "/api/v2/users/1.json", body, &r),
	    ZD_EINVAL);
	assert_int_equal(zd_call(c, "PUT", "/api/v2/users/1.json", NULL, &r),
	    ZD_EINVAL);
	assert_int_equal(zd_call(c, "GET", "/api/v2/users/1.json", body, &r),
	    ZD_EINVAL);
	assert_int_equal(nrequests(), n);
	json_object_put(body);
	zd_response_clear(&r);
	zd_client_free(c);
}

/* --------------------------------------------------------- governor */

static void
test_governor_hook(void **state)
{
	struct gov *g = NULL;
	struct gov_stats s;
	struct zd_opts o;
	struct zd_client *c;
	struct zd_response r = ZD_RESPONSE_INIT;
	struct gov_headers h;
	size_t n;

	(void)state;
	assert_int_equal(gov_new(NULL, &g), GOV_OK);
	opts_default(&o, "Basic " BASIC_B64);
	o.gov = g;
	/*
	 * The bucket (burst 1) refills within a millisecond at the learned
	 * limit; a short wait absorbs that pacing but not a 2 s pause.
	 */
	o.gov_max_wait_ms = 100;
	c = client_with(&o);
	assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	gov_stats(g, &s);
	assert_int_equal(s.learned, 1);
	assert_int_equal(s.limit, 100000);
	assert_int_equal(s.granted, 1);
	zd_response_headers(&r, &h);
	assert_string_equal(h.x_rate_limit, "100000");
	assert_null(h.retry_after);
	/* a 429 pauses the governor: the next call is not even sent */
	ctl0("POST", "faults", "{\"rules\":[{\"match\":\"*\",\"kind\":\"429\","
	    "\"retry_after\":2,\"count\":1}]}");
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RATE_LIMITED);
	n = nrequests();
	assert_int_equal(zd_get_user(c, 101, &r), ZD_RATE_LIMITED);
	assert_true(r.retry_after_s >= 1 && r.retry_after_s <= 2);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.reason, "governor"));
	assert_int_equal(nrequests(), n);
	gov_stats(g, &s);
	assert_int_equal(s.throttled, 1);
	zd_response_clear(&r);
	zd_client_free(c);
	gov_free(g);
}

/*
 * policy.limits.writes_per_minute: a write governor paces PUT/POST/DELETE
 * and never GET; a write over the cap is not sent.
 */
static void
test_write_cap(void **state)
{
	struct gov *wg = NULL;
	struct gov_opts go;
	struct gov_stats s;
	struct zd_opts o;
	struct zd_client *c;
	struct zd_response r = ZD_RESPONSE_INIT;
	struct json_object *body;
	size_t n;
	int i;

	(void)state;
	memset(&go, 0, sizeof(go));
	go.default_limit = 2;      /* one write per 30 s */
	go.burst = 1;
	assert_int_equal(gov_new(&go, &wg), GOV_OK);
	opts_default(&o, "Basic " BASIC_B64);
	o.write_gov = wg;
	o.gov_max_wait_ms = 0;
	c = client_with(&o);
	body = json_tokener_parse("{\"user\":{\"suspended\":false}}");
	assert_int_equal(zd_call(c, "PUT", "/api/v2/users/102.json", body, &r),
	    ZD_OK);
	n = nrequests();
	assert_int_equal(zd_call(c, "PUT", "/api/v2/users/102.json", body, &r),
	    ZD_RATE_LIMITED);
	assert_non_null(strstr(r.reason, "writes_per_minute"));
	assert_true(r.retry_after_s >= 29 && r.retry_after_s <= 30);
	assert_int_equal(r.status, 0);
	assert_int_equal(nrequests(), n);
	/* Reads are not writes: never paced by the cap. */
	for (i = 0; i < 3; i++)
		assert_int_equal(zd_get_user(c, 101, &r), ZD_OK);
	assert_int_equal(nrequests(), n + 3);
	gov_stats(wg, &s);
	assert_int_equal(s.granted, 1);
	json_object_put(body);
	zd_response_clear(&r);
	zd_client_free(c);
	gov_free(wg);
}

/* ------------------------------------------------------------- logs */

static void
test_no_secret_in_logs(void **state)
{
	char path[128], *text;
	struct zd_opts o;
	struct zd_client *c, *bad, *bearer;
	struct zd_response r = ZD_RESPONSE_INIT;
	struct zd_user_fields u = { NULL, NULL, NULL, "agent", 999, -1 };
	struct stat sb;
	int fd, saved;
	ssize_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/stderr.log", fake.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	log_set_level(LOG_DEBUG);

	c = client();
	opts_default(&o, "Basic d3Jvbmc6d3Jvbmc=");
	bad = client_with(&o);
	opts_default(&o, "Bearer " BEARER);
	bearer = client_with(&o);
	ctl0("POST", "faults", "{\"rules\":["
	    "{\"match\":\"GET /api/v2/groups.json\",\"kind\":\"503\",\"count\":1},"
	    "{\"match\":\"GET /api/v2/custom_roles.json\",\"kind\":\"reset\","
	    "\"count\":1}]}");
	(void)zd_get_user(c, 101, &r);
	(void)zd_get_user(c, 999, &r);
	(void)zd_find_user(c, NULL, "ann@example.com", &r);
	(void)zd_update_user(c, 101, &u, &r);
	(void)zd_list_groups(c, &r);
	(void)zd_list_custom_roles(c, &r);
	(void)zd_get_user(bad, 101, &r);
	(void)zd_get_user(bearer, 101, &r);
	(void)zd_get_entitlements(bearer, 101, &r);

	log_set_level(LOG_INFO);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	assert_int_equal(fstat(fd, &sb), 0);
	text = calloc(1, (size_t)sb.st_size + 1);
	assert_non_null(text);
	n = pread(fd, text, (size_t)sb.st_size, 0);
	assert_int_equal(n, sb.st_size);
	close(fd);
	/* logs were written, and none holds a credential or the header */
	assert_non_null(strstr(text, "zendesk request"));
	assert_non_null(strstr(text, "\"status\":\"401\""));
	assert_non_null(strstr(text, "\"status\":\"503\""));
	assert_null(strstr(text, TOKEN));
	assert_null(strstr(text, BASIC_B64));
	assert_null(strstr(text, BEARER));
	assert_null(strstr(text, "d3Jvbmc6d3Jvbmc="));
	assert_null(strstr(text, "Authorization"));
	assert_null(strstr(text, "authorization"));
	/* nor the query string, which can hold an email address */
	assert_null(strstr(text, "ann@example.com"));
	free(text);
	zd_response_clear(&r);
	zd_client_free(c);
	zd_client_free(bad);
	zd_client_free(bearer);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_policy),
		cmocka_unit_test(test_conf_load),
		cmocka_unit_test_setup_teardown(test_get_user, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_find_user, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_show_many, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_create_user, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_update_user, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_custom_roles, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_groups_memberships, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_entitlements, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_list_agents, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_foreign_next_link, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_rate_limited, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_retryable_5xx, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_timeout_and_reset, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_connection_refused, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_bad_responses, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_auth, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_oauth, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_call, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_governor_hook, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_write_cap, reset_fake,
		    no_violations),
		cmocka_unit_test_setup_teardown(test_no_secret_in_logs, reset_fake,
		    no_violations),
	};
	int rc;

	/* CONVENTIONS: curl_global_init once, in main, before threads. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	rc = cmocka_run_group_tests(tests, start_fake, stop_fake);
	curl_global_cleanup();
	return rc;
}
