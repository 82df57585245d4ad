/*
 * test_oauth.c -- the shared OAuth token (oauth.h) with a scripted token
 * endpoint and clock: caching, renewal time, renewal after a 401, one
 * renewal in flight across threads, strict parsing of answers, and the
 * refresh-token file (atomic replace, mode, flock, re-read after
 * invalid_grant).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "rolehook/oauth.h"

#define MAXCALLS 16

/* The scripted endpoint: answer i goes to call i (the last repeats). */
struct script {
	pthread_mutex_t mu;
	int calls;
	int inflight, max_inflight;
	int delay_ms;
	long status[MAXCALLS];
	const char *resp[MAXCALLS];
	int nresp;
	char grant[MAXCALLS][32];
	char refresh[MAXCALLS][64];
	char scope[MAXCALLS][64];
	const char *rewrite_file;    /* on call 0, put rewrite_to in it */
	const char *rewrite_to;
	int64_t now_ms;
};

static void
field(struct json_object *o, const char *k, char *dst, size_t cap)
{
	struct json_object *v;

	dst[0] = '\0';
	if (json_object_object_get_ex(o, k, &v))
		snprintf(dst, cap, "%s", json_object_get_string(v));
}

static int
post(void *arg, const char *url, const char *body, long *status, char **resp,
    char *err, size_t errlen)
{
	struct script *s = arg;
	struct json_object *o = json_tokener_parse(body);
	char id[64], secret[64];
	int i;

	(void)err;
	(void)errlen;
	assert_non_null(o);
	assert_non_null(strstr(url, "/oauth/tokens"));
	field(o, "client_id", id, sizeof(id));
	field(o, "client_secret", secret, sizeof(secret));
	assert_string_equal(id, "cid");
	assert_string_equal(secret, "csecret");
	pthread_mutex_lock(&s->mu);
	i = s->calls++;
	if (i >= MAXCALLS)
		i = MAXCALLS - 1;
	field(o, "grant_type", s->grant[i], sizeof(s->grant[i]));
	field(o, "refresh_token", s->refresh[i], sizeof(s->refresh[i]));
	field(o, "scope", s->scope[i], sizeof(s->scope[i]));
	if (++s->inflight > s->max_inflight)
		s->max_inflight = s->inflight;
	pthread_mutex_unlock(&s->mu);
	json_object_put(o);
	if (s->delay_ms > 0)
		usleep((useconds_t)s->delay_ms * 1000);
	if (i == 0 && s->rewrite_file != NULL) {
		char e[256];

		assert_int_equal(oauth_write_file(s->rewrite_file,
		    s->rewrite_to, strlen(s->rewrite_to), e, sizeof(e)), 0);
	}
	pthread_mutex_lock(&s->mu);
	s->inflight--;
	pthread_mutex_unlock(&s->mu);
	if (i >= s->nresp)
		i = s->nresp - 1;
	*status = s->status[i];
	*resp = strdup(s->resp[i]);
	return 0;
}

static int64_t
clock_fn(void *arg)
{
	struct script *s = arg;

	return s->now_ms;
}

static struct oauth *
mk(struct script *s, const char *rfile)
{
	struct oauth_opts o;
	struct oauth *a = NULL;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.base_url = "https://acme.zendesk.com";
	o.client_id = "cid";
	o.client_secret = "csecret";
	o.scope = rfile == NULL ? "read write" : NULL;
	o.refresh_file = rfile;
	o.post = post;
	o.post_arg = s;
	o.clock = clock_fn;
	o.clock_arg = s;
	assert_int_equal(oauth_new(&o, &a, err, sizeof(err)), OAUTH_OK);
	return a;
}

static void
script_init(struct script *s, long status, const char *resp)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->status[0] = status;
	s->resp[0] = resp;
	s->nresp = 1;
	s->now_ms = 1000000;
}

#define OK_1800 "{\"access_token\":\"at-1\",\"token_type\":\"bearer\"," \
	"\"expires_in\":1800,\"scope\":\"read write\"}"

/* ------------------------------------------------------------ tests */

static void
test_caches_and_renews_on_time(void **state)
{
	struct script s;
	struct oauth *a;
	char h[256], err[256];
	uint64_t gen = 0;

	(void)state;
	script_init(&s, 200, OK_1800);
	a = mk(&s, NULL);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_string_equal(h, "Bearer at-1");
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.grant[0], "client_credentials");
	assert_string_equal(s.scope[0], "read write");
	/* 80% of 1800 s = 1440 s is earlier than 1800 - 60 s. */
	s.now_ms += 1439 * 1000;
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 1);
	s.now_ms += 1000;
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(gen, 2);
	oauth_free(a);
}

static void
test_short_lifetime_uses_half(void **state)
{
	struct script s;
	struct oauth *a;
	char h[256], err[256];
	uint64_t gen = 0;

	(void)state;
	script_init(&s, 200, "{\"access_token\":\"at-2\",\"token_type\":"
	    "\"Bearer\",\"expires_in\":2}");
	a = mk(&s, NULL);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	s.now_ms += 999;
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 1);
	s.now_ms += 1;
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 2);
	oauth_free(a);
}

static void
test_invalidate_once_per_generation(void **state)
{
	struct script s;
	struct oauth *a;
	struct oauth_stats st;
	char h[256], err[256];
	uint64_t g1 = 0, g2 = 0;

	(void)state;
	script_init(&s, 200, OK_1800);
	a = mk(&s, NULL);
	assert_int_equal(oauth_header(a, h, sizeof(h), &g1, err,
	    sizeof(err)), OAUTH_OK);
	oauth_invalidate(a, g1);
	oauth_invalidate(a, g1);   /* a second 401 on the same token */
	assert_int_equal(oauth_header(a, h, sizeof(h), &g2, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(g2, g1 + 1);
	/* A late 401 on the old generation does not renew again. */
	oauth_invalidate(a, g1);
	assert_int_equal(oauth_header(a, h, sizeof(h), &g2, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 2);
	oauth_stats(a, &st);
	assert_int_equal(st.grants, 2);
	assert_int_equal(st.invalidations, 1);
	oauth_free(a);
}

struct thr {
	struct oauth *a;
	int rc;
	char h[256];
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	char err[256];
	uint64_t gen;

	t->rc = oauth_header(t->a, t->h, sizeof(t->h), &gen, err,
	    sizeof(err));
	return NULL;
}

static void
test_one_renewal_in_flight(void **state)
{
	struct script s;
	struct oauth *a;
	struct thr t[8];
	pthread_t th[8];
	int i;

	(void)state;
	script_init(&s, 200, OK_1800);
	s.delay_ms = 100;
	a = mk(&s, NULL);
	for (i = 0; i < 8; i++) {
		t[i].a = a;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]),
		    0);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].rc, OAUTH_OK);
		assert_string_equal(t[i].h, "Bearer at-1");
	}
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.max_inflight, 1);
	oauth_free(a);
}

static void
test_failure_is_held_briefly(void **state)
{
	struct script s;
	struct oauth *a;
	char h[256], err[256];
	uint64_t gen;

	(void)state;
	script_init(&s, 401, "{\"error\":\"invalid_client\","
	    "\"error_description\":\"nope\"}");
	a = mk(&s, NULL);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_DENIED);
	assert_non_null(strstr(err, "invalid_client"));
	assert_null(strstr(err, "csecret"));
	assert_string_equal(h, "");
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_DENIED);
	assert_int_equal(s.calls, 1);
	s.now_ms += 1000;
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_DENIED);
	assert_int_equal(s.calls, 2);
	oauth_free(a);
}

static void
test_answers(void **state)
{
	static const struct {
		long status;
		const char *resp;
		enum oauth_result want;
	} t[] = {
		{ 200, OK_1800, OAUTH_OK },
		{ 200, "{\"access_token\":\"a\",\"token_type\":\"bearer\"}",
		  OAUTH_OK },
		{ 200, OK_1800 " x", OAUTH_BAD_RESPONSE },
		{ 200, "[1]", OAUTH_BAD_RESPONSE },
		{ 200, "{\"token_type\":\"bearer\",\"expires_in\":5}",
		  OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":\"\",\"token_type\":\"bearer\"}",
		  OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":\"a b\",\"token_type\":\"bearer\"}",
		  OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":7,\"token_type\":\"bearer\"}",
		  OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":\"a\",\"token_type\":\"mac\"}",
		  OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":\"a\",\"token_type\":\"bearer\","
		  "\"expires_in\":\"60\"}", OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":\"a\",\"token_type\":\"bearer\","
		  "\"expires_in\":0}", OAUTH_BAD_RESPONSE },
		{ 200, "{\"access_token\":\"a\",\"token_type\":\"bearer\","
		  "\"refresh_token\":5}", OAUTH_BAD_RESPONSE },
		{ 200, "not json", OAUTH_BAD_RESPONSE },
		{ 400, "{\"error\":\"invalid_scope\"}", OAUTH_DENIED },
		{ 500, "oops", OAUTH_RETRYABLE },
		{ 503, "{\"error\":\"unavailable\"}", OAUTH_RETRYABLE },
		{ 429, "{}", OAUTH_RETRYABLE },
	};
	struct script s;
	struct oauth *a;
	char h[256], err[256];
	uint64_t gen;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		script_init(&s, t[i].status, t[i].resp);
		a = mk(&s, NULL);
		if (oauth_header(a, h, sizeof(h), &gen, err, sizeof(err)) !=
		    t[i].want)
			fail_msg("case %zu: %s", i, err);
		oauth_free(a);
	}
}

/* ------------------------------------------------------- refresh file */

static char dir[64];

static void
path_in(char *dst, size_t cap, const char *name)
{
	snprintf(dst, cap, "%s/%s", dir, name);
}

static void
put(const char *path, const char *s, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static char *
slurp(const char *path)
{
	static char b[512];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(b, 1, sizeof(b) - 1, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

static void
test_refresh_rotates_file(void **state)
{
	struct script s;
	struct oauth *a;
	struct stat sb;
	char rf[128], tmp[160], h[256], err[512];
	uint64_t gen;

	(void)state;
	path_in(rf, sizeof(rf), "rt1");
	put(rf, "rt-old\n", 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", rf);
	put(tmp, "stale", 0600);   /* left by a process killed earlier */
	script_init(&s, 200, "{\"access_token\":\"at-9\",\"token_type\":"
	    "\"bearer\",\"expires_in\":1800,\"refresh_token\":\"rt-new\","
	    "\"refresh_token_expires_in\":2592000}");
	a = mk(&s, rf);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_string_equal(h, "Bearer at-9");
	assert_string_equal(s.grant[0], "refresh_token");
	assert_string_equal(s.refresh[0], "rt-old");
	assert_string_equal(s.scope[0], "");
	assert_string_equal(slurp(rf), "rt-new\n");
	assert_int_equal(stat(rf, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(access(tmp, F_OK), -1);
	snprintf(tmp, sizeof(tmp), "%s.lock", rf);
	assert_int_equal(access(tmp, F_OK), 0);
	oauth_free(a);
}

static void
test_refresh_rereads_after_rotation_elsewhere(void **state)
{
	struct script s;
	struct oauth *a;
	char rf[128], h[256], err[512];
	uint64_t gen;

	(void)state;
	path_in(rf, sizeof(rf), "rt2");
	put(rf, "rt-a\n", 0600);
	script_init(&s, 400, "{\"error\":\"invalid_grant\"}");
	s.status[1] = 200;
	s.resp[1] = "{\"access_token\":\"at-b\",\"token_type\":\"bearer\","
	    "\"expires_in\":60,\"refresh_token\":\"rt-c\"}";
	s.nresp = 2;
	/* Another process rotated rt-a to rt-b while this one sent rt-a. */
	s.rewrite_file = rf;
	s.rewrite_to = "rt-b\n";
	a = mk(&s, rf);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.refresh[0], "rt-a");
	assert_string_equal(s.refresh[1], "rt-b");
	assert_string_equal(slurp(rf), "rt-c\n");
	oauth_free(a);
}

static void
test_refresh_dead_token_is_reported(void **state)
{
	struct script s;
	struct oauth *a;
	char rf[128], h[256], err[512];
	uint64_t gen;

	(void)state;
	path_in(rf, sizeof(rf), "rt3");
	put(rf, "rt-dead\n", 0600);
	script_init(&s, 400, "{\"error\":\"invalid_grant\"}");
	a = mk(&s, rf);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_DENIED);
	assert_int_equal(s.calls, 1);
	assert_non_null(strstr(err, "Admin Center"));
	assert_null(strstr(err, "rt-dead"));
	assert_string_equal(slurp(rf), "rt-dead\n");
	oauth_free(a);
}

/*
 * Killed between writing "<file>.tmp" and the rename: the file's token
 * is dead (the grant rotated it), the live one is in the temp file, and
 * the next refresh takes it from there.
 */
static void
test_refresh_recovers_interrupted_rotation(void **state)
{
	struct script s;
	struct oauth *a;
	char rf[128], tmp[160], h[256], err[512];
	uint64_t gen;

	(void)state;
	path_in(rf, sizeof(rf), "rt5");
	put(rf, "rt-dead\n", 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", rf);
	put(tmp, "rt-live\n", 0600);
	script_init(&s, 400, "{\"error\":\"invalid_grant\"}");
	s.status[1] = 200;
	s.resp[1] = "{\"access_token\":\"at-5\",\"token_type\":\"bearer\","
	    "\"expires_in\":60,\"refresh_token\":\"rt-next\"}";
	s.nresp = 2;
	a = mk(&s, rf);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_OK);
	assert_string_equal(h, "Bearer at-5");
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.refresh[0], "rt-dead");
	assert_string_equal(s.refresh[1], "rt-live");
	assert_string_equal(slurp(rf), "rt-next\n");
	assert_int_equal(access(tmp, F_OK), -1);
	oauth_free(a);

	/* A temp file whose token is dead too: the Admin Center step. */
	put(rf, "rt-dead\n", 0600);
	put(tmp, "rt-also-dead\n", 0600);
	script_init(&s, 400, "{\"error\":\"invalid_grant\"}");
	a = mk(&s, rf);
	assert_int_equal(oauth_header(a, h, sizeof(h), &gen, err,
	    sizeof(err)), OAUTH_DENIED);
	assert_int_equal(s.calls, 2);
	assert_non_null(strstr(err, "Admin Center"));
	assert_null(strstr(err, "rt-also-dead"));
	assert_string_equal(slurp(rf), "rt-dead\n");
	oauth_free(a);
}

static void
test_refresh_file_rules(void **state)
{
	char rf[128], err[512], *tok = NULL;

	(void)state;
	path_in(rf, sizeof(rf), "rt4");
	put(rf, "tok\n", 0640);
	assert_int_equal(oauth_read_file(rf, &tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	put(rf, "two words\n", 0600);
	assert_int_equal(oauth_read_file(rf, &tok, err, sizeof(err)), -1);
	put(rf, "", 0600);
	assert_int_equal(oauth_read_file(rf, &tok, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not hold one token"));
	put(rf, "tok\n", 0600);
	assert_int_equal(oauth_read_file(rf, &tok, err, sizeof(err)), 0);
	assert_string_equal(tok, "tok");
	free(tok);
	/* secretfile's line endings: "\r\n" too, as for file: secrets. */
	put(rf, "tok\r\n", 0600);
	assert_int_equal(oauth_read_file(rf, &tok, err, sizeof(err)), 0);
	assert_string_equal(tok, "tok");
	free(tok);
	/* Replacing keeps 0600 and the whole content. */
	assert_int_equal(oauth_write_file(rf, "next\n", 5, err, sizeof(err)),
	    0);
	assert_string_equal(slurp(rf), "next\n");
	path_in(rf, sizeof(rf), "nodir/rt");
	assert_int_equal(oauth_write_file(rf, "x", 1, err, sizeof(err)), -1);
}

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rh-oauth-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caches_and_renews_on_time),
		cmocka_unit_test(test_short_lifetime_uses_half),
		cmocka_unit_test(test_invalidate_once_per_generation),
		cmocka_unit_test(test_one_renewal_in_flight),
		cmocka_unit_test(test_failure_is_held_briefly),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_refresh_rotates_file),
		cmocka_unit_test(test_refresh_rereads_after_rotation_elsewhere),
		cmocka_unit_test(test_refresh_dead_token_is_reported),
		cmocka_unit_test(test_refresh_recovers_interrupted_rotation),
		cmocka_unit_test(test_refresh_file_rules),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
