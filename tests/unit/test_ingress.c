/*
 * test_ingress.c -- one request through ingress_handle() without
 * FastCGI: the paths nginx normally shields (rolehook's own 413, a body
 * shorter than CONTENT_LENGTH, a malformed CONTENT_LENGTH), routing, and
 * that nothing is read or stored before the checks that precede it.
 * Signatures come from Python's hmac (literals), not from verify.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rolehook/config.h"
#include "rolehook/ingress.h"
#include "rolehook/metrics.h"
#include "rolehook/store.h"
#include "rolehook/verify.h"

/*
 * real_sig: python3 -c 'import hmac,hashlib;print(hmac.new(b"t-secret",
 *     b"{\"a\":1}",hashlib.sha256).hexdigest())'
 * SIG: well-formed, wrong.
 */
#define BODY "{\"a\":1}"
#define SIG "sha256=2dd1f6c0fc4b7e9b3ac5d3fa4bb4bc75ad79a55ac0e6f2e2cbb4d0ad2c2d3d1d"
static const char real_sig[] =
    "sha256=fb9227e9e8f6477a7f9f89ba38e7f6619ebaa244ed28042bfae8b97c4eba164b";

struct fake {
	const char *params[16][2];
	const unsigned char *body;
	size_t len, off;
	int reads;
	size_t short_by;   /* deliver this many bytes fewer than len */
};

static const char *
fake_param(void *ctx, const char *name)
{
	struct fake *f = ctx;
	size_t i;

	for (i = 0; i < 16 && f->params[i][0] != NULL; i++)
		if (strcmp(f->params[i][0], name) == 0)
			return f->params[i][1];
	return NULL;
}

static long
fake_read(void *ctx, unsigned char *buf, size_t n)
{
	struct fake *f = ctx;
	size_t avail = f->len - f->short_by - f->off;

	f->reads++;
	if (n > avail)
		n = avail;
	/* Hand the body over in small pieces, as a socket would. */
	if (n > 3)
		n = 3;
	memcpy(buf, f->body + f->off, n);
	f->off += n;
	return (long)n;
}

struct env {
	char dir[64];
	struct config *cfg;
	struct store *st;
	struct metrics *m;
	struct ingress ig;
	const char *names[2];
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char doc[1024], err[512], path[128];
	int n;

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/rh-ingress-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(path, sizeof(path), "%s/t.db", e->dir);
	setenv("RH_T_INGRESS", "t-secret", 1);
	n = snprintf(doc, sizeof(doc), "{\"store\":{\"path\":\"%s\"},"
	    "\"server\":{\"max_body\":1024},"
	    "\"sources\":{\"gh\":{\"preset\":\"github\","
	    "\"secrets\":[\"env:RH_T_INGRESS\"]}}}", path);
	assert_true(n > 0 && (size_t)n < sizeof(doc));
	if (config_parse(doc, (size_t)n, "t.json", CONFIG_SECRETS_RESOLVE,
	    &e->cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	if (store_open(path, NULL, &e->st, err, sizeof(err)) != 0)
		fail_msg("store: %s", err);
	e->names[0] = "gh";
	e->m = metrics_new(e->names, 1);
	e->ig.cfg = e->cfg;
	e->ig.store = e->st;
	e->ig.metrics = e->m;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	store_close(e->st);
	metrics_free(e->m);
	config_free(e->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	free(e);
	return 0;
}

static int
run(struct env *e, struct fake *f, struct ingress_response *r)
{
	struct ingress_io io = { fake_param, fake_read, f };

	ingress_handle(&e->ig, &io, 1700000000, r);
	return r->status;
}

static void
post(struct fake *f, const char *uri, const char *clen, const char *body,
    const char *sig)
{
	memset(f, 0, sizeof(*f));
	f->params[0][0] = "REQUEST_METHOD";
	f->params[0][1] = "POST";
	f->params[1][0] = "DOCUMENT_URI";
	f->params[1][1] = uri;
	f->params[2][0] = "CONTENT_TYPE";
	f->params[2][1] = "application/json";
	f->params[3][0] = "HTTP_X_HUB_SIGNATURE_256";
	f->params[3][1] = sig;
	f->params[4][0] = "CONTENT_LENGTH";
	f->params[4][1] = clen;
	f->body = (const unsigned char *)body;
	f->len = body ? strlen(body) : 0;
}

static void
test_accept_then_duplicate(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;

	post(&f, "/hooks/gh", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 202);
	assert_string_equal(r.body, "{\"status\":\"accepted\",\"id\":1}\n");
	ingress_response_clear(&r);
	post(&f, "/hooks/gh", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 200);
	assert_string_equal(r.body, "{\"status\":\"duplicate\",\"id\":1}\n");
	ingress_response_clear(&r);
}

static void
test_own_413_reads_nothing(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;

	/* nginx normally answers first; rolehook must still refuse. */
	post(&f, "/hooks/gh", "1025", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 413);
	assert_int_equal(f.reads, 0);
	post(&f, "/hooks/gh", "99999999999999999999999", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 400);
	assert_int_equal(f.reads, 0);
}

static void
test_bad_lengths(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;
	static const char *const bad[] = { "-7", "+7", " 7", "7 ", "0x7", "7a" };
	size_t i;

	post(&f, "/hooks/gh", NULL, BODY, real_sig);
	f.params[4][0] = "X_NONE";
	assert_int_equal(run(e, &f, &r), 411);
	post(&f, "/hooks/gh", "", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 411);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		post(&f, "/hooks/gh", bad[i], BODY, real_sig);
		assert_int_equal(run(e, &f, &r), 400);
		assert_int_equal(f.reads, 0);
	}
}

static void
test_short_body_is_400_and_not_stored(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;

	post(&f, "/hooks/gh", "7", BODY, real_sig);
	f.short_by = 2;
	assert_int_equal(run(e, &f, &r), 400);
	assert_string_equal(r.body, "{\"error\":\"bad request\"}\n");
	/* The full body still gets 202 with id 1: nothing was stored. */
	post(&f, "/hooks/gh", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 202);
	assert_string_equal(r.body, "{\"status\":\"accepted\",\"id\":1}\n");
}

static void
test_routing_and_methods(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;

	post(&f, "/hooks/nope", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 404);
	post(&f, "/hooks/gh/extra", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 404);
	post(&f, "/hooks/", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 404);
	post(&f, "/hooks/gh", "7", BODY, real_sig);
	f.params[0][1] = "GET";
	assert_int_equal(run(e, &f, &r), 405);
	assert_string_equal(r.allow, "POST");
	post(&f, "/healthz", NULL, NULL, NULL);
	f.params[0][1] = "GET";
	assert_int_equal(run(e, &f, &r), 200);
	assert_string_equal(r.body, "{\"status\":\"ok\",\"engine\":\"sqlite\"}\n");
	post(&f, "/metrics", NULL, NULL, NULL);
	f.params[0][1] = "GET";
	assert_int_equal(run(e, &f, &r), 200);
	assert_non_null(strstr(r.body, "rolehook_requests_total{source=\"gh\","
	    "status=\"405\"} 1\n"));
	/* Unknown sources share one series, whatever name was asked for. */
	assert_non_null(strstr(r.body, "rolehook_requests_total{source="
	    "\"unknown\",status=\"404\"} 3\n"));
	assert_null(strstr(r.body, "nope"));
	ingress_response_clear(&r);
	/* No method or URI at all. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(run(e, &f, &r), 400);
}

static void
test_415_before_reading(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;

	post(&f, "/hooks/gh", "7", BODY, real_sig);
	f.params[2][1] = "text/json";
	assert_int_equal(run(e, &f, &r), 415);
	assert_int_equal(f.reads, 0);
	post(&f, "/hooks/gh", "7", BODY, real_sig);
	f.params[2][1] = "application/jsonx";
	assert_int_equal(run(e, &f, &r), 415);
	post(&f, "/hooks/gh", "7", BODY, real_sig);
	f.params[2][1] = "Application/JSON ; charset=utf-8";
	assert_int_equal(run(e, &f, &r), 202);
}

static void
test_401_leaves_no_trace(void **state)
{
	struct env *e = *state;
	struct ingress_response r;
	struct fake f;

	post(&f, "/hooks/gh", "7", BODY, SIG);
	assert_int_equal(run(e, &f, &r), 401);
	assert_string_equal(r.body, "{\"error\":\"unauthorized\"}\n");
	post(&f, "/hooks/gh", "7", BODY, real_sig);
	assert_int_equal(run(e, &f, &r), 202);
	assert_string_equal(r.body, "{\"status\":\"accepted\",\"id\":1}\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_then_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_413_reads_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_body_is_400_and_not_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routing_and_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_415_before_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_401_leaves_no_trace, setup, teardown),
	};

	if (verify_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
