/*
 * test_verify.c -- unit tests for verify.c.
 *
 * Every expected signature below was computed independently with
 * Python's hmac/hashlib/base64 (or is a vendor-published vector, see
 * research/hris.md and research/zendesk.md) and pasted as a literal;
 * none is computed with the code under test.  All requests use a fixed
 * `now`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "rolehook/verify.h"

#define NOW	((time_t)1700000000) /* 2023-11-14T22:13:20Z */
#define BODY	"{\"type\":\"employee.updated\",\"data\":{\"employeeId\":\"42\"}}"
#define MAXH	8

static const char hexd[] = "0123456789abcdef";
static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- request and secret helpers ---- */

struct hdrs {
	const char *name[MAXH];
	const char *value[MAXH];
	size_t n;
};

static const char *
hdr_get(void *ctx, const char *name)
{
	const struct hdrs *h = ctx;
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

/* Sets, replaces or (value NULL) removes a header. */
static void
hset(struct hdrs *h, const char *name, const char *value)
{
	size_t i;

	if (name == NULL)
		return;
	for (i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0)
			break;
	if (value == NULL) {
		if (i < h->n) {
			h->name[i] = h->name[h->n - 1];
			h->value[i] = h->value[h->n - 1];
			h->n--;
		}
		return;
	}
	assert_true(i < MAXH);
	h->name[i] = name;
	h->value[i] = value;
	if (i == h->n)
		h->n++;
}

struct keyset {
	struct verify_secret s[VERIFY_MAX_SECRETS];
	size_t n;
};

static void
ks_add(struct keyset *ks, enum verify_keyenc enc, const char *text,
    time_t expires)
{
	assert_true(ks->n < VERIFY_MAX_SECRETS);
	assert_int_equal(verify_key_decode(enc, text, &ks->s[ks->n].key,
	    &ks->s[ks->n].len), 0);
	ks->s[ks->n].expires = expires;
	ks->n++;
}

static void
ks_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		OPENSSL_clear_free(ks->s[i].key, ks->s[i].len);
	memset(ks, 0, sizeof(*ks));
}

static enum verify_result
run(const struct verify_scheme *s, const struct keyset *ks, struct hdrs *h,
    const void *body, size_t blen, time_t now, struct verify_info *info)
{
	struct verify_request req;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.body = body;
	req.body_len = blen;
	req.header = hdr_get;
	req.ctx = h;
	req.now = now;
	return verify_request(s, ks->s, ks->n, &req, info);
}

static void
expect_res(enum verify_result got, enum verify_result want, const char *what,
    const char *preset, long pos)
{
	if (got != want)
		fail_msg("%s [%s, pos %ld]: got %s, want %s", what, preset, pos,
		    verify_strerror(got), verify_strerror(want));
}

/* ---- the per-preset table ---- */

/*
 * One row per HMAC preset, all over BODY at NOW.  sig is signed with
 * secret, old_sig with old_secret; dig_off is where the digest text
 * starts in the header.  The "secret" column of github, gusto,
 * bamboohr, deel, merge, hibob and stripe is the research/hris.md
 * self-computed table; its values match the sig column.
 */
struct pcase {
	const char *preset;
	const char *secret;
	const char *old_secret;
	const char *id;
	const char *ts;
	const char *sig;
	const char *old_sig;
	size_t dig_off;
};

static const struct pcase pcases[] = {
	{ "zendesk", "test_secret", "old_secret", NULL, "2023-11-14T22:13:20Z",
	  "enTNAkpLpcTBvvN2MI5KXCMmCvCPdcG6YEpjJk5LTkU=",
	  "xXm0ofHeMxvDAYu9kSx/HMhu/r7x5127aaq7qiR3DJE=", 0 },
	{ "standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	  "whsec_cm9sZWhvb2stcHJldmlvdXMtc2VjcmV0",
	  "msg_p5jXN8AQM9LWM0D4loKWxJek", "1700000000",
	  "v1,Mi+/Q8ua0pyujIehV2qgHViCBnrR4v+DNmXJMXQU5BU=",
	  "v1,4Ic4SmlcuhpB1teCaFQz7RXDkLUs2gb/TiofSlFI2Ls=", 3 },
	{ "finch", "5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH",
	  "ZmluY2gtcHJldmlvdXMtc2VjcmV0LTI0",
	  "msg_2Lh9KRb0pzN4LePd3XiA4v12Axj", "1700000000",
	  "v1,5vcPB1p+v5zQzzpITkyoXUk8e7wcdJRtM9fSoY0h2Hw=",
	  "v1,6u+TbPd+HY+prSVKtATesS2qk4ywRH3ZrvTUllrx7Sk=", 3 },
	{ "stripe", "whsec_test_secret", "whsec_old_secret", NULL, NULL,
	  "t=1700000000,v1=06c90f9b060405261e6fb13ce753099894ad76a69eee5eb5b389198528cda848",
	  "t=1700000000,v1=4ad35c671d3c43cbbf0c8258b4f0beb416a06fccc1d5bc47b40fd5b9cd640a85",
	  16 },
	{ "github", "test_secret", "old_secret",
	  "72d3162e-cc78-11e3-81ab-4c9367dc0958", NULL,
	  "sha256=ac824aa76c4cbb48b19c5c0d05499512b22fa7586c6e1090fdb3b3f4d61a085c",
	  "sha256=55999ba0c742391175f1cabafe5536b3ffbef380d977ea56e1321661a7e5b36d",
	  7 },
	{ "bamboohr", "test_secret", "old_secret", NULL, "1700000000",
	  "dcb25588bd20045fc1014df232f0e05bc1a99ad66710b627ecd159e57bc5020c",
	  "761824395622aada85494ce79cb04025fbb9b2fb31ad51955e9be11780e80f58", 0 },
	{ "hibob", "test_secret", "old_secret", NULL, NULL,
	  "fntbtbJHCmIMtVco/UqafRVyBsc54Pb2hQKn9p9jel36W49EjbXrGr50Xch4l/O4dA/4dhtTj+Am8F72Fx+uRg==",
	  "EKvcIkZ2M+dXKEUplBDPpDRZVTbxixPSfBHLRFTE2mRKDcpwIi4oI1oLCIRryl9c2WyV2hiV20OaXeq3y2K8Pw==",
	  0 },
	{ "gusto", "test_secret", "old_secret", NULL, NULL,
	  "ac824aa76c4cbb48b19c5c0d05499512b22fa7586c6e1090fdb3b3f4d61a085c",
	  "55999ba0c742391175f1cabafe5536b3ffbef380d977ea56e1321661a7e5b36d", 0 },
	{ "deel", "test_secret", "old_secret", NULL, NULL,
	  "631ba287f0b2222a655c0a75c8a00e2d42ff8618babdfce37bec7e1e12532b87",
	  "00b42b66b18c854bad654f5c1fe2f2b0b09cd1139898f5224d43c4b1327b5124", 0 },
	{ "merge", "test_secret", "old_secret", NULL, NULL,
	  "rIJKp2xMu0ixnFwNBUmVErIvp1hsbhCQ_bOz9NYaCFw=",
	  "VZmboMdCORF18cq6_lU2s_--84DZd-pW4TIWYafls20=", 0 },
	{ "greenhouse", "test_secret", "old_secret", NULL, NULL,
	  "sha256 ac824aa76c4cbb48b19c5c0d05499512b22fa7586c6e1090fdb3b3f4d61a085c",
	  "sha256 55999ba0c742391175f1cabafe5536b3ffbef380d977ea56e1321661a7e5b36d",
	  7 },
};

#define NPCASES (sizeof(pcases) / sizeof(pcases[0]))

static const struct verify_scheme *
scheme_of(const struct pcase *pc)
{
	const struct verify_scheme *s = verify_preset(pc->preset);

	if (s == NULL)
		fail_msg("no preset %s", pc->preset);
	return s;
}

/* Headers of a correctly signed request, with sig as the signature. */
static void
pc_headers(const struct pcase *pc, const struct verify_scheme *s,
    struct hdrs *h, const char *sig)
{
	memset(h, 0, sizeof(*h));
	hset(h, s->sig_header, sig);
	if (s->ts_header != NULL)
		hset(h, s->ts_header, pc->ts);
	if (s->id_header != NULL)
		hset(h, s->id_header, pc->id);
}

static int
has_timestamp(const struct verify_scheme *s)
{
	return s->ts_header != NULL || s->sigfmt == VERIFY_SIG_KV;
}

/* Another character of the same alphabet that changes the value. */
static char
tamper(char c, enum verify_enc enc)
{
	const char *alpha, *p;

	if (enc == VERIFY_HEX) {
		p = strchr(hexd, c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
		assert_non_null(p);
		return hexd[(p - hexd) ^ 8];
	}
	alpha = enc == VERIFY_BASE64URL ? b64url : b64std;
	p = strchr(alpha, c);
	assert_non_null(p);
	/*
	 * Flipping the top bit of the 6-bit value changes a data bit even
	 * in the last character, whose low bits are zero padding.
	 */
	return alpha[(p - alpha) ^ 0x20];
}

/* ---- per-preset tests ---- */

static void
test_presets_accept(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct verify_info info;
		struct hdrs h;

		ks_add(&ks, s->keyenc, pc->secret, 0);
		pc_headers(pc, s, &h, pc->sig);
		memset(&info, 0xa5, sizeof(info));
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_OK, "accept", pc->preset, -1);
		assert_int_equal(info.secret_index, 0);
		assert_int_equal(info.have_timestamp, has_timestamp(s));
		if (has_timestamp(s))
			assert_int_equal(info.timestamp, NOW);
		assert_string_equal(info.id, pc->id != NULL ? pc->id : "");
		/*
		 * Only what the template covers counts as signed: GitHub's
		 * X-GitHub-Delivery is not, Standard Webhooks' webhook-id is;
		 * token and basic sign nothing.
		 */
		assert_int_equal(info.id_signed, pc->id != NULL &&
		    s->mode == VERIFY_MODE_HMAC &&
		    strstr(s->template_, "{id}") != NULL);
		assert_int_equal(info.timestamp_signed,
		    has_timestamp(s) && s->mode == VERIFY_MODE_HMAC &&
		    strstr(s->template_, "{timestamp}") != NULL);
		/* info may be NULL. */
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_OK, "accept, no info", pc->preset, -1);
		ks_free(&ks);
	}
}

static void
test_presets_tampered_body(void **state)
{
	unsigned char body[sizeof(BODY) + 1];
	size_t i, pos, n = strlen(BODY);

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;

		ks_add(&ks, s->keyenc, pc->secret, 0);
		pc_headers(pc, s, &h, pc->sig);
		memcpy(body, BODY, n + 1);
		for (pos = 0; pos < n; pos++) {
			body[pos] ^= 0x01;
			expect_res(run(s, &ks, &h, body, n, NOW, NULL),
			    VERIFY_ERR_MISMATCH, "body byte flipped",
			    pc->preset, (long)pos);
			body[pos] ^= 0x01;
		}
		expect_res(run(s, &ks, &h, body, n - 1, NOW, NULL),
		    VERIFY_ERR_MISMATCH, "body truncated", pc->preset, -1);
		body[n] = '\n';
		expect_res(run(s, &ks, &h, body, n + 1, NOW, NULL),
		    VERIFY_ERR_MISMATCH, "body extended", pc->preset, -1);
		expect_res(run(s, &ks, &h, NULL, 0, NOW, NULL),
		    VERIFY_ERR_MISMATCH, "body empty", pc->preset, -1);
		ks_free(&ks);
	}
}

static void
test_presets_tampered_timestamp(void **state)
{
	char buf[256], *p;
	size_t i, ntested = 0;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;

		if (!has_timestamp(s))
			continue;
		ks_add(&ks, s->keyenc, pc->secret, 0);
		/* One second later: inside every window, but not signed. */
		if (s->sigfmt == VERIFY_SIG_KV) {
			snprintf(buf, sizeof(buf), "%s", pc->sig);
			assert_memory_equal(buf, "t=1700000000,", 13);
			buf[11] = '1';
			pc_headers(pc, s, &h, buf);
		} else {
			snprintf(buf, sizeof(buf), "%s", pc->ts);
			p = strrchr(buf, '0');
			assert_non_null(p);
			*p = '1';
			pc_headers(pc, s, &h, pc->sig);
			hset(&h, s->ts_header, buf);
		}
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_MISMATCH, "timestamp +1s", pc->preset, -1);
		ks_free(&ks);
		ntested++;
	}
	assert_int_equal(ntested, 5);
}

static void
test_presets_tampered_signature(void **state)
{
	char buf[256];
	size_t i, pos, len;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;
		size_t ntampered = 0;

		ks_add(&ks, s->keyenc, pc->secret, 0);
		len = strlen(pc->sig);
		assert_true(len < sizeof(buf));
		for (pos = pc->dig_off; pos < len; pos++) {
			if (pc->sig[pos] == '=')
				continue;
			memcpy(buf, pc->sig, len + 1);
			buf[pos] = tamper(buf[pos], s->enc);
			pc_headers(pc, s, &h, buf);
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_MISMATCH, "signature char",
			    pc->preset, (long)pos);
			/* A character outside the alphabet: malformed. */
			buf[pos] = '!';
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_MALFORMED, "signature bad char",
			    pc->preset, (long)pos);
			ntampered++;
		}
		/* Each digest has >= 40 significant characters. */
		assert_true(ntampered >= 40);
		/* The prefix / version / key text is part of the format. */
		for (pos = 0; pos < pc->dig_off; pos++) {
			memcpy(buf, pc->sig, len + 1);
			buf[pos] = buf[pos] == 'x' ? 'y' : 'x';
			pc_headers(pc, s, &h, buf);
			enum verify_result r = run(s, &ks, &h, BODY,
			    strlen(BODY), NOW, NULL);
			/*
			 * Stripe "t=1700000000,v1=": "x=" leaves no
			 * timestamp, a digit gone bad is a bad timestamp,
			 * anything else loses the v1 item.
			 */
			if (s->sigfmt == VERIFY_SIG_KV && pos == 0)
				expect_res(r, VERIFY_ERR_NO_TIMESTAMP,
				    "kv t key", pc->preset, (long)pos);
			else if (s->sigfmt == VERIFY_SIG_KV && pos >= 2 &&
			    pos <= 11)
				expect_res(r, VERIFY_ERR_BAD_TIMESTAMP,
				    "kv t value", pc->preset, (long)pos);
			else
				expect_res(r, VERIFY_ERR_MALFORMED,
				    "signature format", pc->preset, (long)pos);
		}
		ks_free(&ks);
	}
}

static void
test_presets_wrong_secret(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;

		ks_add(&ks, s->keyenc, pc->old_secret, 0);
		pc_headers(pc, s, &h, pc->sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_MISMATCH, "wrong secret", pc->preset, -1);
		/* The old signature does verify with the old secret. */
		pc_headers(pc, s, &h, pc->old_sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_OK, "old secret alone", pc->preset, -1);
		ks_free(&ks);
	}
}

static void
test_presets_window(void **state)
{
	size_t i, ntested = 0;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;
		time_t tol = s->tolerance_s;

		if (!has_timestamp(s) || tol == 0)
			continue;
		ks_add(&ks, s->keyenc, pc->secret, 0);
		pc_headers(pc, s, &h, pc->sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW + tol, NULL),
		    VERIFY_OK, "at the stale edge", pc->preset, -1);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW - tol, NULL),
		    VERIFY_OK, "at the future edge", pc->preset, -1);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW + tol + 1,
		    NULL), VERIFY_ERR_STALE, "stale", pc->preset, -1);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW - tol - 1,
		    NULL), VERIFY_ERR_FUTURE, "future", pc->preset, -1);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY),
		    NOW + 86400 * 365, NULL), VERIFY_ERR_STALE, "a year late", pc->preset, -1);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), 0, NULL),
		    VERIFY_ERR_FUTURE, "clock at epoch", pc->preset, -1);
		ks_free(&ks);
		ntested++;
	}
	/* zendesk, standard-webhooks, finch, stripe, bamboohr. */
	assert_int_equal(ntested, 5);
}

/*
 * BambooHR: tolerance undocumented, 300 s as for the others (checked in
 * test_presets_window).  With the window off (tolerance_s 0, which config
 * takes only with insecure_no_replay_window) any age verifies, but the
 * signed timestamp is still required.
 */
static void
test_bamboohr_window_off(void **state)
{
	const struct pcase *pc = &pcases[5];
	struct verify_scheme off = *verify_preset("bamboohr");
	const struct verify_scheme *s = &off;
	struct keyset ks = { 0 };
	struct hdrs h;

	(void)state;
	assert_string_equal(pc->preset, "bamboohr");
	assert_int_equal(off.tolerance_s, 300);
	off.tolerance_s = 0;
	ks_add(&ks, s->keyenc, pc->secret, 0);
	pc_headers(pc, s, &h, pc->sig);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY),
	    NOW + 86400 * 3650, NULL), VERIFY_OK);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), 1, NULL),
	    VERIFY_OK);
	hset(&h, s->ts_header, NULL);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_NO_TIMESTAMP);
	ks_free(&ks);
}

static void
test_presets_rotation(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct verify_info info;
		struct hdrs h;

		/* Current first, previous second: a mismatch on 0 then a
		 * match on 1 is OK with index 1. */
		ks_add(&ks, s->keyenc, pc->secret, 0);
		ks_add(&ks, s->keyenc, pc->old_secret, NOW + 3600);
		pc_headers(pc, s, &h, pc->old_sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_OK, "previous secret", pc->preset, -1);
		assert_int_equal(info.secret_index, 1);
		pc_headers(pc, s, &h, pc->sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_OK, "current secret", pc->preset, -1);
		assert_int_equal(info.secret_index, 0);

		/* expires <= now: the previous secret is not tried. */
		ks.s[1].expires = NOW;
		pc_headers(pc, s, &h, pc->old_sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_ERR_MISMATCH, "expired previous", pc->preset, -1);
		ks.s[1].expires = NOW + 1;
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_OK, "previous, 1 s left", pc->preset, -1);
		assert_int_equal(info.secret_index, 1);

		/* An expired current secret is skipped too. */
		ks.s[0].expires = NOW - 1;
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_OK, "expired current", pc->preset, -1);
		assert_int_equal(info.secret_index, 1);
		pc_headers(pc, s, &h, pc->sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_ERR_MISMATCH, "expired current, its sig",
		    pc->preset, -1);

		/* Nothing usable at all. */
		ks.s[1].expires = NOW;
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
		    VERIFY_ERR_NO_SECRET, "all expired", pc->preset, -1);
		ks_free(&ks);
	}
}

static void
test_presets_malformed(void **state)
{
	static char big[5001];
	char buf[256];
	size_t i, cut, len, k;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;

		ks_add(&ks, s->keyenc, pc->secret, 0);
		len = strlen(pc->sig);

		pc_headers(pc, s, &h, NULL);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_NO_SIGNATURE, "missing", pc->preset, -1);
		pc_headers(pc, s, &h, "");
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_NO_SIGNATURE, "empty", pc->preset, -1);

		/* Every truncation, down to the prefix alone. */
		for (cut = pc->dig_off; cut < len; cut++) {
			for (k = cut; k < len && pc->sig[k] == '='; k++)
				;
			if (k == len && cut > pc->dig_off)
				continue; /* only padding removed: still ok */
			memcpy(buf, pc->sig, cut);
			buf[cut] = '\0';
			pc_headers(pc, s, &h, buf);
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), cut == 0 ? VERIFY_ERR_NO_SIGNATURE :
			    VERIFY_ERR_MALFORMED, "truncated", pc->preset,
			    (long)cut);
		}
		/* One character too many (odd hex, bad base64 length). */
		snprintf(buf, sizeof(buf), "%sA", pc->sig);
		pc_headers(pc, s, &h, buf);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_MALFORMED, "one more char", pc->preset, -1);
		/* A whole extra byte of digest. */
		snprintf(buf, sizeof(buf), "%s%s", pc->sig,
		    s->enc == VERIFY_HEX ? "00" : "AAAA");
		pc_headers(pc, s, &h, buf);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_MALFORMED, "digest too long", pc->preset, -1);
		/* Blanks are not trimmed. */
		snprintf(buf, sizeof(buf), " %s", pc->sig);
		pc_headers(pc, s, &h, buf);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    s->sigfmt == VERIFY_SIG_PLAIN ? VERIFY_ERR_MALFORMED :
		    VERIFY_OK, "leading blank", pc->preset, -1);
		/* Over 4096 bytes. */
		memcpy(big, pc->sig, len);
		pc_headers(pc, s, &h, big);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_MALFORMED, "overlong", pc->preset, -1);
		ks_free(&ks);
	}
}

static void
test_presets_timestamp_errors(void **state)
{
	static const char *const bad[] = {
		"hello", "-1700000000", "+1700000000", " 1700000000",
		"1700000000 ", "17000000000000000000000", "0x65", "1.7e9",
		"2023-11-14T22:13:20", "1700000000Z",
	};
	char buf[256];
	size_t i, j;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;

		if (!has_timestamp(s))
			continue;
		ks_add(&ks, s->keyenc, pc->secret, 0);
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			if (s->sigfmt == VERIFY_SIG_KV) {
				snprintf(buf, sizeof(buf), "t=%s,%s", bad[j],
				    pc->sig + 13);
				pc_headers(pc, s, &h, buf);
			} else {
				pc_headers(pc, s, &h, pc->sig);
				hset(&h, s->ts_header, bad[j]);
			}
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_BAD_TIMESTAMP, bad[j],
			    pc->preset, (long)j);
		}
		if (s->sigfmt == VERIFY_SIG_KV) {
			pc_headers(pc, s, &h, pc->sig + 13);
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_NO_TIMESTAMP, "no t=", pc->preset,
			    -1);
			pc_headers(pc, s, &h, "t=,v1=06c90f9b060405261e6fb13ce753099894ad76a69eee5eb5b389198528cda848");
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_BAD_TIMESTAMP, "empty t=",
			    pc->preset, -1);
		} else {
			pc_headers(pc, s, &h, pc->sig);
			hset(&h, s->ts_header, NULL);
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_NO_TIMESTAMP, "missing ts",
			    pc->preset, -1);
			hset(&h, s->ts_header, "");
			expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW,
			    NULL), VERIFY_ERR_NO_TIMESTAMP, "empty ts",
			    pc->preset, -1);
		}
		ks_free(&ks);
	}
}

/* Hex is compared as bytes: upper case digits verify too. */
static void
test_presets_hex_case(void **state)
{
	char buf[256];
	size_t i, k, ntested = 0;

	(void)state;
	for (i = 0; i < NPCASES; i++) {
		const struct pcase *pc = &pcases[i];
		const struct verify_scheme *s = scheme_of(pc);
		struct keyset ks = { 0 };
		struct hdrs h;

		if (s->enc != VERIFY_HEX)
			continue;
		ks_add(&ks, s->keyenc, pc->secret, 0);
		snprintf(buf, sizeof(buf), "%s", pc->sig);
		for (k = pc->dig_off; buf[k] != '\0'; k++)
			if (buf[k] >= 'a' && buf[k] <= 'f')
				buf[k] = (char)(buf[k] - 'a' + 'A');
		pc_headers(pc, s, &h, buf);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_OK, "upper-case hex", pc->preset, -1);
		ks_free(&ks);
		ntested++;
	}
	/* stripe, github, bamboohr, gusto, deel, greenhouse */
	assert_int_equal(ntested, 6);
}

/* ---- published vectors ---- */

/*
 * Standard Webhooks spec v1 official vector (libraries/go
 * webhook_test.go TestWebhookSign, the JS and Python suites) and the
 * negative vectors of the same suites.
 */
static void
test_standard_webhooks_official(void **state)
{
	static const char body[] = "{\"test\": 2432232314}";
	static const char good[] =
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
	static const struct {
		const char *sig;
		enum verify_result want;
	} neg[] = {
		{ "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		  VERIFY_ERR_MISMATCH },
		{ "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
		  VERIFY_ERR_MISMATCH },
		{ "v1,dawfeoifkpqwoekfpqoekf", VERIFY_ERR_MALFORMED },
		{ "v1,", VERIFY_ERR_MALFORMED },
		/* Unknown v2 skipped, the valid v1 among them accepted. */
		{ "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
		  "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
		  "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
		  "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		  VERIFY_OK },
		{ "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		  VERIFY_ERR_MALFORMED },
		{ "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		  VERIFY_ERR_MALFORMED },
		{ "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		  VERIFY_ERR_MALFORMED },
		{ good, VERIFY_OK },
	};
	const struct verify_scheme *s = verify_preset("standard-webhooks");
	const time_t ts = 1614265330;
	struct keyset ks = { 0 }, ks2 = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };
	size_t i;

	(void)state;
	ks_add(&ks, s->keyenc, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0);
	assert_int_equal(ks.s[0].len, 24);
	hset(&h, "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek");
	hset(&h, "webhook-timestamp", "1614265330");
	for (i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		hset(&h, "webhook-signature", neg[i].sig);
		expect_res(run(s, &ks, &h, body, strlen(body), ts, NULL),
		    neg[i].want, neg[i].sig, "standard-webhooks", (long)i);
	}
	hset(&h, "webhook-signature", good);
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, "msg_p5jXN8AQM9LWM0D4loKWxJek");
	assert_int_equal(info.timestamp, ts);
	/* 5 min + 1 s either way (JS/Python suites). */
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts + 301, NULL),
	    VERIFY_ERR_STALE);
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts - 301, NULL),
	    VERIFY_ERR_FUTURE);
	hset(&h, "webhook-timestamp", "hello");
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts, NULL),
	    VERIFY_ERR_BAD_TIMESTAMP);
	/* The secret without "whsec_" is the same key. */
	hset(&h, "webhook-timestamp", "1614265330");
	ks_add(&ks2, s->keyenc, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 0);
	assert_int_equal(run(s, &ks2, &h, body, strlen(body), ts, NULL),
	    VERIFY_OK);
	ks_free(&ks);
	ks_free(&ks2);
}

/* Finch official vector (finch-api-node tests/api-resources/webhooks). */
static void
test_finch_official(void **state)
{
	static const char body[] =
	    "{\"company_id\":\"720be419-0293-4d32-a707-32179b0827ab\"}";
	static const char good[] =
	    "v1,m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=";
	static const struct {
		const char *sig;
		enum verify_result want;
	} cases[] = {
		{ good, VERIFY_OK },
		/* "v1,<bad> v1,<good>" passes. */
		{ "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
		  "v1,m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=",
		  VERIFY_OK },
		/* "v2,<good>" alone fails: no v1 item. */
		{ "v2,m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=",
		  VERIFY_ERR_MALFORMED },
		/* Bare "<good>" (no version) fails. */
		{ "m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=",
		  VERIFY_ERR_MALFORMED },
		{ "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		  VERIFY_ERR_MISMATCH },
	};
	const struct verify_scheme *s = verify_preset("finch");
	const time_t ts = 1676312382;
	struct keyset ks = { 0 };
	struct hdrs h = { 0 };
	size_t i;

	(void)state;
	ks_add(&ks, s->keyenc, "5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH", 0);
	hset(&h, "finch-event-id", "msg_2Lh9KRb0pzN4LePd3XiA4v12Axj");
	hset(&h, "finch-timestamp", "1676312382");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hset(&h, "finch-signature", cases[i].sig);
		expect_res(run(s, &ks, &h, body, strlen(body), ts, NULL),
		    cases[i].want, cases[i].sig, "finch", (long)i);
	}
	/* +-6 min from the timestamp fails. */
	hset(&h, "finch-signature", good);
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts + 360, NULL),
	    VERIFY_ERR_STALE);
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts - 360, NULL),
	    VERIFY_ERR_FUTURE);
	ks_free(&ks);
}

/* GitHub "Validating webhook deliveries" official vector. */
static void
test_github_official(void **state)
{
	static const char body[] = "Hello, World!";
	const struct verify_scheme *s = verify_preset("github");
	struct verify_scheme sha1;
	struct keyset ks = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };

	(void)state;
	ks_add(&ks, s->keyenc, "It's a Secret to Everybody", 0);
	hset(&h, "x-hub-signature-256",
	    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
	assert_int_equal(run(s, &ks, &h, body, strlen(body), NOW, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, "");
	assert_int_equal(info.have_timestamp, 0);
	/* No timestamp: any clock is fine. */
	assert_int_equal(run(s, &ks, &h, body, strlen(body), 0, NULL),
	    VERIFY_OK);

	/* Legacy X-Hub-Signature (SHA-1) as a custom scheme; the value is
	 * self-computed (research/hris.md 1.3). */
	sha1 = *s;
	sha1.preset = "custom";
	sha1.sig_header = "x-hub-signature";
	sha1.alg = VERIFY_SHA1;
	sha1.prefix = "sha1=";
	assert_null(verify_scheme_check(&sha1));
	hset(&h, "x-hub-signature",
	    "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59");
	assert_int_equal(run(&sha1, &ks, &h, body, strlen(body), NOW, NULL),
	    VERIFY_OK);
	/* A SHA-256-length digest is malformed for SHA-1. */
	hset(&h, "x-hub-signature",
	    "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
	assert_int_equal(run(&sha1, &ks, &h, body, strlen(body), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	ks_free(&ks);
}

/*
 * Zendesk "Verifying webhook authenticity": the doc's vector signs body
 * then timestamp (tRDSF7...), the main page and every public verifier
 * timestamp then body (Rry/4Tt...).  The preset is the latter; the
 * former is a custom template.
 */
static void
test_zendesk_vectors(void **state)
{
	static const char body[] = "{\"say\": \"hello\"}";
	static const char tb[] = "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=";
	static const char bt[] = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=";
	const struct verify_scheme *s = verify_preset("zendesk");
	const time_t ts = 1627207200; /* 2021-07-25T10:00:00Z */
	struct verify_scheme rev;
	struct keyset ks = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };

	(void)state;
	/* Looks like base64 but is used as its literal bytes. */
	ks_add(&ks, s->keyenc, "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", 0);
	assert_int_equal(ks.s[0].len, 44);
	hset(&h, "x-zendesk-webhook-signature-timestamp",
	    "2021-07-25T10:00:00Z");
	hset(&h, "x-zendesk-webhook-signature", tb);
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts, &info),
	    VERIFY_OK);
	assert_int_equal(info.have_timestamp, 1);
	assert_int_equal(info.timestamp, ts);
	hset(&h, "x-zendesk-webhook-signature", bt);
	assert_int_equal(run(s, &ks, &h, body, strlen(body), ts, NULL),
	    VERIFY_ERR_MISMATCH);

	rev = *s;
	rev.preset = "custom";
	rev.template_ = "{body}{timestamp}";
	assert_null(verify_scheme_check(&rev));
	assert_int_equal(run(&rev, &ks, &h, body, strlen(body), ts, NULL),
	    VERIFY_OK);
	hset(&h, "x-zendesk-webhook-signature", tb);
	assert_int_equal(run(&rev, &ks, &h, body, strlen(body), ts, NULL),
	    VERIFY_ERR_MISMATCH);
	ks_free(&ks);
}

/* Zendesk signs the timestamp text as received, whatever its form. */
static void
test_zendesk_timestamp_forms(void **state)
{
	static const struct {
		const char *ts;
		const char *sig;
		const char *body;
	} cases[] = {
		{ "2023-11-15T00:13:20+02:00",
		  "3ocvW/v+gKPNX7+C+9bhRW347fJ3mEToJnBdySUtc40=", BODY },
		{ "2023-11-14T22:13:20.123Z",
		  "wl2PmMPWKDS/s0bsYR3ZY/mjzhOI6yLPE8r6Ve1nVo4=", BODY },
		{ "2023-11-14T17:13:20-05:00",
		  "Y+kuxU94yGC4sh0SmuCEVy88RRWOEWjt6Nqa+RVUOm4=", BODY },
		/* "Requests without a body sign the timestamp alone." */
		{ "2023-11-14T22:13:20Z",
		  "jb7LGQwafPNpWaWKwLvUVJZgwBhsZou3Dhtzf8H7R2k=", "" },
	};
	const struct verify_scheme *s = verify_preset("zendesk");
	struct keyset ks = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };
	size_t i;

	(void)state;
	ks_add(&ks, s->keyenc, "test_secret", 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hset(&h, "x-zendesk-webhook-signature-timestamp", cases[i].ts);
		hset(&h, "x-zendesk-webhook-signature", cases[i].sig);
		expect_res(run(s, &ks, &h, cases[i].body,
		    strlen(cases[i].body), NOW, &info), VERIFY_OK,
		    cases[i].ts, "zendesk", (long)i);
		assert_int_equal(info.timestamp, NOW);
		/* 301 s later the same request is stale. */
		expect_res(run(s, &ks, &h, cases[i].body,
		    strlen(cases[i].body), NOW + 301, NULL), VERIFY_ERR_STALE,
		    cases[i].ts, "zendesk", (long)i);
	}
	ks_free(&ks);
}

/* ---- format rules ---- */

static void
test_list_rules(void **state)
{
	const struct pcase *pc = &pcases[1];
	const struct verify_scheme *s = verify_preset("standard-webhooks");
	static char buf[4200];
	struct keyset ks = { 0 };
	struct hdrs h;
	size_t n;

	(void)state;
	assert_string_equal(pc->preset, "standard-webhooks");
	ks_add(&ks, s->keyenc, pc->secret, 0);
	/* Empty items (double blanks) and trailing blanks are skipped. */
	snprintf(buf, sizeof(buf), "  v2,abc   %s  ", pc->sig);
	pc_headers(pc, s, &h, buf);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_OK);
	/* Blanks only: no item at all. */
	pc_headers(pc, s, &h, "   ");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	/*
	 * A garbled v1 item is skipped like a non-matching one (the
	 * reference libraries compare strings), so a valid one after it
	 * still counts; garbled items alone are malformed.
	 */
	snprintf(buf, sizeof(buf), "v1,!!!! v1,AAAA %s", pc->sig);
	pc_headers(pc, s, &h, buf);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_OK);
	pc_headers(pc, s, &h, "v1,!!!! v1,AAAA");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	/* The rotation case of the spec: old and new signature listed. */
	snprintf(buf, sizeof(buf), "%s %s", pc->old_sig, pc->sig);
	pc_headers(pc, s, &h, buf);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_OK);
	/* base64url is not standard base64. */
	pc_headers(pc, s, &h, "v1,Mi-_Q8ua0pyujIehV2qgHViCBnrR4v-DNmXJMXQU5BU=");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	/* Exactly 4096 bytes is accepted, 4097 is not. */
	n = strlen(pc->sig);
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, pc->sig, n);
	buf[4096] = '\0';
	pc_headers(pc, s, &h, buf);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_OK);
	buf[4096] = ' ';
	buf[4097] = '\0';
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	ks_free(&ks);
}

static void
test_kv_rules(void **state)
{
#define V1NEW "06c90f9b060405261e6fb13ce753099894ad76a69eee5eb5b389198528cda848"
#define V1OLD "4ad35c671d3c43cbbf0c8258b4f0beb416a06fccc1d5bc47b40fd5b9cd640a85"
	static const struct {
		const char *sig;
		enum verify_result want;
	} cases[] = {
		{ "t=1700000000,v1=" V1NEW, VERIFY_OK },
		/* Order does not matter; v0 (test mode) is ignored. */
		{ "v0=" V1OLD ",v1=" V1NEW ",t=1700000000", VERIFY_OK },
		/* A rolled secret: several v1, any may match. */
		{ "t=1700000000,v1=" V1OLD ",v1=" V1NEW, VERIFY_OK },
		/* stripe-ruby splits on /,\s* /. */
		{ "t=1700000000, v1=" V1NEW, VERIFY_OK },
		/* Unknown keys are ignored. */
		{ "t=1700000000,foo=bar,v1=" V1NEW, VERIFY_OK },
		/* v0 alone is a downgrade: nothing to compare. */
		{ "t=1700000000,v0=" V1NEW, VERIFY_ERR_MALFORMED },
		{ "t=1700000000", VERIFY_ERR_MALFORMED },
		{ "t=1700000000,v1=" V1OLD, VERIFY_ERR_MISMATCH },
		{ "t=1700000000,t=1700000000,v1=" V1NEW, VERIFY_ERR_MALFORMED },
		{ "t=1700000000,v1", VERIFY_ERR_MALFORMED },
		{ "t=1700000000,,v1=" V1NEW, VERIFY_ERR_MALFORMED },
		{ "t=1700000000,v1=" V1NEW ",", VERIFY_ERR_MALFORMED },
		{ "t=1700000000 v1=" V1NEW, VERIFY_ERR_MALFORMED },
		{ "t=1700000000,v1=" V1NEW ",v1=zz", VERIFY_ERR_MALFORMED },
		{ "v1=" V1NEW, VERIFY_ERR_NO_TIMESTAMP },
		{ "T=1700000000,v1=" V1NEW, VERIFY_ERR_NO_TIMESTAMP },
		{ "t=1700000000x,v1=" V1NEW, VERIFY_ERR_BAD_TIMESTAMP },
		{ "t=1699999999,v1=" V1NEW, VERIFY_ERR_MISMATCH },
		{ "t=1699999000,v1=" V1NEW, VERIFY_ERR_STALE },
		{ "t=1700001000,v1=" V1NEW, VERIFY_ERR_FUTURE },
	};
	const struct verify_scheme *s = verify_preset("stripe");
	struct keyset ks = { 0 }, old = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };
	size_t i;

	(void)state;
	ks_add(&ks, s->keyenc, "whsec_test_secret", 0);
	/* Stripe keys with the "whsec_" text itself. */
	assert_int_equal(ks.s[0].len, strlen("whsec_test_secret"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hset(&h, "stripe-signature", cases[i].sig);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    cases[i].want, cases[i].sig, "stripe", (long)i);
	}
	/* Both signatures listed, only the old secret configured. */
	ks_add(&old, s->keyenc, "whsec_old_secret", 0);
	hset(&h, "stripe-signature", "t=1700000000,v1=" V1NEW ",v1=" V1OLD);
	assert_int_equal(run(s, &old, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_int_equal(info.secret_index, 0);
	assert_int_equal(info.timestamp, NOW);
	ks_free(&ks);
	ks_free(&old);
#undef V1NEW
#undef V1OLD
}

/* Merge: padding-insensitive base64url; other alphabet rejected. */
static void
test_merge_padding(void **state)
{
	const struct verify_scheme *s = verify_preset("merge");
	struct keyset ks = { 0 };
	struct hdrs h = { 0 };

	(void)state;
	ks_add(&ks, s->keyenc, "test_secret", 0);
	hset(&h, "x-merge-webhook-signature",
	    "rIJKp2xMu0ixnFwNBUmVErIvp1hsbhCQ_bOz9NYaCFw");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_OK);
	hset(&h, "x-merge-webhook-signature",
	    "rIJKp2xMu0ixnFwNBUmVErIvp1hsbhCQ/bOz9NYaCFw=");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	hset(&h, "x-merge-webhook-signature",
	    "rIJKp2xMu0ixnFwNBUmVErIvp1hsbhCQ_bOz9NYaCFw==");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);
	ks_free(&ks);
}

static void
test_id_rules(void **state)
{
	static const char sig128[] =
	    "v1,TYJEsBWczBnlm7tjiW75BEg46vM76/tLAp3z99ITnM4=";
	const struct pcase *sw = &pcases[1], *gh = &pcases[4];
	const struct verify_scheme *s = verify_preset("standard-webhooks");
	const struct verify_scheme *g = verify_preset("github");
	char id128[VERIFY_ID_MAX + 1], id129[VERIFY_ID_MAX + 2];
	struct keyset ks = { 0 };
	struct verify_info info;
	struct hdrs h;

	(void)state;
	/* Python: "msg_" + "x" * 124, signed as in the table. */
	memcpy(id128, "msg_", 4);
	memset(id128 + 4, 'x', 124);
	id128[128] = '\0';
	assert_int_equal(strlen(id128), VERIFY_ID_MAX);
	ks_add(&ks, s->keyenc, sw->secret, 0);
	pc_headers(sw, s, &h, sig128);
	hset(&h, "webhook-id", id128);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, id128);
	/* One more byte is refused, never truncated. */
	snprintf(id129, sizeof(id129), "%sx", id128);
	hset(&h, "webhook-id", id129);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_ERR_NO_ID);
	assert_string_equal(info.id, "");
	pc_headers(sw, s, &h, sw->sig);
	hset(&h, "webhook-id", NULL);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_NO_ID);
	hset(&h, "webhook-id", "");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_NO_ID);
	/* Standard Webhooks: ids must not contain the '.' separator. */
	hset(&h, "webhook-id", "msg.p5jXN8AQM9LWM0D4loKWxJek");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_NO_ID);
	hset(&h, "webhook-id", "msg p5jX");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_NO_ID);
	hset(&h, "webhook-id", "msg\x01p5jX");
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_NO_ID);
	ks_free(&ks);

	/* GitHub: id filled although unsigned; optional; may hold '.'. */
	ks_add(&ks, g->keyenc, gh->secret, 0);
	pc_headers(gh, g, &h, gh->sig);
	hset(&h, "x-github-delivery", NULL);
	assert_int_equal(run(g, &ks, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, "");
	hset(&h, "x-github-delivery", "a.b");
	assert_int_equal(run(g, &ks, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, "a.b");
	/*
	 * An unsigned id that is unusable is dropped (dedupe falls back to
	 * the body), never a reason to refuse a correctly signed request.
	 */
	hset(&h, "x-github-delivery", id129);
	assert_int_equal(run(g, &ks, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, "");
	hset(&h, "x-github-delivery", "has blank");
	assert_int_equal(run(g, &ks, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_string_equal(info.id, "");
	ks_free(&ks);
}

/* {method} and Deel's literal "POST". */
static void
test_method_template(void **state)
{
	static const char deel[] =
	    "631ba287f0b2222a655c0a75c8a00e2d42ff8618babdfce37bec7e1e12532b87";
	const struct verify_scheme *d = verify_preset("deel");
	struct verify_scheme m;
	struct verify_request req;
	struct keyset ks = { 0 };
	struct hdrs h = { 0 };

	(void)state;
	ks_add(&ks, d->keyenc, "test_secret", 0);
	hset(&h, "x-deel-signature", deel);
	memset(&req, 0, sizeof(req));
	req.body = (const unsigned char *)BODY;
	req.body_len = strlen(BODY);
	req.header = hdr_get;
	req.ctx = &h;
	req.now = NOW;
	/* The preset signs "POST" whatever the method. */
	req.method = "PUT";
	assert_int_equal(verify_request(d, ks.s, ks.n, &req, NULL), VERIFY_OK);
	req.method = NULL;
	assert_int_equal(verify_request(d, ks.s, ks.n, &req, NULL), VERIFY_OK);

	m = *d;
	m.preset = "custom";
	m.template_ = "{method}{body}";
	assert_null(verify_scheme_check(&m));
	req.method = "POST";
	assert_int_equal(verify_request(&m, ks.s, ks.n, &req, NULL), VERIFY_OK);
	req.method = "PUT";
	assert_int_equal(verify_request(&m, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_MISMATCH);
	req.method = NULL;
	assert_int_equal(verify_request(&m, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	ks_free(&ks);
}

/* ---- token and basic ---- */

static void
test_token(void **state)
{
	static const struct {
		const char *value;
		enum verify_result want;
	} cases[] = {
		{ "s3cr3t-token", VERIFY_OK },
		{ "Bearer s3cr3t-token", VERIFY_OK },
		{ "bearer s3cr3t-token", VERIFY_OK },
		{ "BEARER   s3cr3t-token", VERIFY_OK },
		{ "Bearer  ", VERIFY_ERR_MALFORMED },
		{ "Bearer", VERIFY_ERR_MISMATCH },
		{ "Bearers3cr3t-token", VERIFY_ERR_MISMATCH },
		{ "Basic s3cr3t-token", VERIFY_ERR_MISMATCH },
		{ "s3cr3t-token ", VERIFY_ERR_MISMATCH },
		{ " s3cr3t-token", VERIFY_ERR_MISMATCH },
		{ "s3cr3t-toke", VERIFY_ERR_MISMATCH },
		{ "s3cr3t-tokenn", VERIFY_ERR_MISMATCH },
		{ "S3CR3T-TOKEN", VERIFY_ERR_MISMATCH },
		{ "", VERIFY_ERR_NO_SIGNATURE },
		{ NULL, VERIFY_ERR_NO_SIGNATURE },
	};
	static char big[4098];
	const struct verify_scheme *s = verify_preset("token");
	char buf[64];
	struct keyset ks = { 0 }, rot = { 0 }, odd = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };
	size_t i;

	(void)state;
	assert_null(verify_scheme_check(s));
	ks_add(&ks, s->keyenc, "s3cr3t-token", 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hset(&h, "authorization", cases[i].value);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    cases[i].want, cases[i].value ? cases[i].value : "(null)",
		    "token", (long)i);
	}
	for (i = 0; i < strlen("s3cr3t-token"); i++) {
		snprintf(buf, sizeof(buf), "Bearer s3cr3t-token");
		buf[7 + i] ^= 0x01;
		hset(&h, "authorization", buf);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    VERIFY_ERR_MISMATCH, "token char", "token", (long)i);
	}
	memset(big, 'a', sizeof(big) - 1);
	hset(&h, "authorization", big);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);

	/* Rotation. */
	ks_add(&rot, s->keyenc, "new-token", 0);
	ks_add(&rot, s->keyenc, "s3cr3t-token", NOW + 10);
	hset(&h, "authorization", "Bearer s3cr3t-token");
	assert_int_equal(run(s, &rot, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_int_equal(info.secret_index, 1);
	assert_int_equal(run(s, &rot, &h, BODY, strlen(BODY), NOW + 10, NULL),
	    VERIFY_ERR_MISMATCH);
	/* Wrong secret. */
	hset(&h, "authorization", "Bearer other-token");
	assert_int_equal(run(s, &rot, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MISMATCH);

	/* A secret that itself starts with "Bearer " still matches. */
	ks_add(&odd, s->keyenc, "Bearer abc", 0);
	hset(&h, "authorization", "Bearer abc");
	assert_int_equal(run(s, &odd, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_OK);
	ks_free(&ks);
	ks_free(&rot);
	ks_free(&odd);
}

static void
test_basic(void **state)
{
	/* base64("user:pass"), base64("olduser:oldpass"), base64 of
	 * "user:pasS" (Python base64.b64encode). */
	static const struct {
		const char *value;
		enum verify_result want;
	} cases[] = {
		{ "Basic dXNlcjpwYXNz", VERIFY_OK },
		{ "basic dXNlcjpwYXNz", VERIFY_OK },
		{ "BASIC  dXNlcjpwYXNz", VERIFY_OK },
		{ "Basic dXNlcjpwYXNT", VERIFY_ERR_MISMATCH },
		{ "Basic b2xkdXNlcjpvbGRwYXNz", VERIFY_ERR_MISMATCH },
		{ "Basic dXNlcjpwYXN", VERIFY_ERR_MALFORMED },
		{ "Basic dXNlcjpwYXNz=", VERIFY_ERR_MALFORMED },
		{ "Basic dXNlcjp*YXNz", VERIFY_ERR_MALFORMED },
		{ "Basic ", VERIFY_ERR_MALFORMED },
		{ "Basic", VERIFY_ERR_MALFORMED },
		{ "Bearer dXNlcjpwYXNz", VERIFY_ERR_MALFORMED },
		{ "dXNlcjpwYXNz", VERIFY_ERR_MALFORMED },
		{ "user:pass", VERIFY_ERR_MALFORMED },
		{ "", VERIFY_ERR_NO_SIGNATURE },
		{ NULL, VERIFY_ERR_NO_SIGNATURE },
	};
	static char big[4200];
	const struct verify_scheme *s = verify_preset("basic");
	struct keyset ks = { 0 }, rot = { 0 };
	struct verify_info info;
	struct hdrs h = { 0 };
	size_t i;

	(void)state;
	assert_null(verify_scheme_check(s));
	ks_add(&ks, s->keyenc, "user:pass", 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hset(&h, "authorization", cases[i].value);
		expect_res(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
		    cases[i].want, cases[i].value ? cases[i].value : "(null)",
		    "basic", (long)i);
	}
	memcpy(big, "Basic ", 6);
	memset(big + 6, 'A', 4092);
	hset(&h, "authorization", big);
	assert_int_equal(run(s, &ks, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MALFORMED);

	ks_add(&rot, s->keyenc, "user:newpass", 0);
	ks_add(&rot, s->keyenc, "olduser:oldpass", NOW + 60);
	hset(&h, "authorization", "Basic b2xkdXNlcjpvbGRwYXNz");
	assert_int_equal(run(s, &rot, &h, BODY, strlen(BODY), NOW, &info),
	    VERIFY_OK);
	assert_int_equal(info.secret_index, 1);
	rot.s[1].expires = NOW;
	assert_int_equal(run(s, &rot, &h, BODY, strlen(BODY), NOW, NULL),
	    VERIFY_ERR_MISMATCH);
	ks_free(&ks);
	ks_free(&rot);
}

/* ---- helpers and configuration ---- */

static void
test_rfc3339(void **state)
{
	/* Expected values: Python datetime.fromisoformat(..).timestamp(). */
	static const struct {
		const char *s;
		int ok;
		long long want;
	} cases[] = {
		{ "2021-07-25T10:00:00Z", 1, 1627207200 },
		{ "2021-07-25T12:00:00.123+02:00", 1, 1627207200 },
		{ "2021-07-25t10:00:00z", 1, 1627207200 },
		{ "2021-07-25T10:00:00.123456789Z", 1, 1627207200 },
		{ "2021-07-25T10:00:00-00:00", 1, 1627207200 },
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "2020-02-29T23:59:59Z", 1, 1583020799 },
		{ "9999-12-31T23:59:59Z", 1, 253402300799LL },
		{ "2021-07-25T00:30:00+01:00", 1, 1627169400 },
		{ "2021-07-24T19:30:00-05:30", 1, 1627174800 },
		/* Leap second folds into the next second (2017-01-01). */
		{ "2016-12-31T23:59:60Z", 1, 1483228800 },
		{ "2023-11-14T22:13:20Z", 1, 1700000000 },
		{ "2021-02-29T00:00:00Z", 0, 0 },
		{ "2100-02-29T00:00:00Z", 0, 0 },
		{ "2021-04-31T00:00:00Z", 0, 0 },
		{ "2021-13-01T00:00:00Z", 0, 0 },
		{ "2021-00-01T00:00:00Z", 0, 0 },
		{ "2021-01-00T00:00:00Z", 0, 0 },
		{ "2021-07-25T24:00:00Z", 0, 0 },
		{ "2021-07-25T10:60:00Z", 0, 0 },
		{ "2021-07-25T10:00:61Z", 0, 0 },
		{ "2021-07-25T10:00:00", 0, 0 },
		{ "2021-07-25 10:00:00Z", 0, 0 },
		{ "2021-07-25T10:00:00ZZ", 0, 0 },
		{ "2021-07-25T10:00:00Z ", 0, 0 },
		{ " 2021-07-25T10:00:00Z", 0, 0 },
		{ "2021-07-25T10:00:00.Z", 0, 0 },
		{ "2021-07-25T10:00:00.1234567890Z", 0, 0 },
		{ "2021-07-25T10:00:00+0200", 0, 0 },
		{ "2021-07-25T10:00:00+02", 0, 0 },
		{ "2021-07-25T10:00:00+24:00", 0, 0 },
		{ "2021-07-25T10:00:00+02:60", 0, 0 },
		{ "2021-7-25T10:00:00Z", 0, 0 },
		{ "21-07-25T10:00:00Z", 0, 0 },
		{ "1969-12-31T23:59:59Z", 0, 0 },
		{ "+2021-07-25T10:00:00Z", 0, 0 },
		{ "2021-07-25T10:00:00,5Z", 0, 0 },
		{ "1700000000", 0, 0 },
		{ "", 0, 0 },
	};
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = -7;
		int r = verify_parse_rfc3339(cases[i].s, &t);
		if (cases[i].ok && (r != 0 || (long long)t != cases[i].want))
			fail_msg("%s: r %d t %lld", cases[i].s, r,
			    (long long)t);
		if (!cases[i].ok && r != -1)
			fail_msg("%s: accepted", cases[i].s);
	}
	assert_int_equal(verify_parse_rfc3339(NULL, &t), -1);
	assert_int_equal(verify_parse_rfc3339("2021-07-25T10:00:00Z", NULL),
	    -1);
}

static void
test_key_decode(void **state)
{
	unsigned char *k, dummy = 0;
	size_t n;
	char big[4200];

	(void)state;
	assert_int_equal(verify_key_decode(VERIFY_KEY_RAW, "whsec_abc", &k, &n),
	    0);
	assert_int_equal(n, 9);
	assert_memory_equal(k, "whsec_abc", 9);
	OPENSSL_clear_free(k, n);
	/* base64 of "rolehook-previous-secret" with and without whsec_. */
	assert_int_equal(verify_key_decode(VERIFY_KEY_BASE64,
	    "whsec_cm9sZWhvb2stcHJldmlvdXMtc2VjcmV0", &k, &n), 0);
	assert_int_equal(n, 24);
	assert_memory_equal(k, "rolehook-previous-secret", 24);
	OPENSSL_clear_free(k, n);
	assert_int_equal(verify_key_decode(VERIFY_KEY_BASE64,
	    "cm9sZWhvb2stcHJldmlvdXMtc2VjcmV0", &k, &n), 0);
	assert_int_equal(n, 24);
	OPENSSL_clear_free(k, n);

	k = &dummy;
	assert_int_equal(verify_key_decode(VERIFY_KEY_BASE64,
	    "whsec_not base64", &k, &n), -1);
	assert_null(k);
	assert_int_equal(verify_key_decode(VERIFY_KEY_BASE64, "whsec_", &k, &n),
	    -1);
	assert_int_equal(verify_key_decode(VERIFY_KEY_BASE64, "abcde", &k, &n),
	    -1);
	/* Non-zero trailing bits ("YR" is not canonical for "a"). */
	assert_int_equal(verify_key_decode(VERIFY_KEY_BASE64, "YR", &k, &n),
	    -1);
	assert_int_equal(verify_key_decode(VERIFY_KEY_RAW, "", &k, &n), -1);
	assert_int_equal(verify_key_decode(VERIFY_KEY_RAW, NULL, &k, &n), -1);
	assert_int_equal(verify_key_decode((enum verify_keyenc)9, "abc", &k,
	    &n), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(verify_key_decode(VERIFY_KEY_RAW, big, &k, &n), -1);
}

static void
test_scheme_check(void **state)
{
	const struct verify_scheme *gh = verify_preset("github");
	const struct verify_scheme *sw = verify_preset("standard-webhooks");
	const struct verify_scheme *st = verify_preset("stripe");
	const struct verify_scheme *zd = verify_preset("zendesk");
	struct verify_scheme s;
	const char *const *names;
	size_t i;

	(void)state;
	for (names = verify_preset_names(); *names != NULL; names++)
		if (verify_scheme_check(verify_preset(*names)) != NULL)
			fail_msg("preset %s: %s", *names,
			    verify_scheme_check(verify_preset(*names)));
	assert_non_null(verify_scheme_check(NULL));

#define BAD(base, field, value) do {					\
	s = *(base);							\
	s.field = value;						\
	if (verify_scheme_check(&s) == NULL)				\
		fail_msg("accepted %s = %s", #field, #value);		\
} while (0)
	static const char *const bad_tpl[] = {
		"{body", "body}", "{bodY}", "{body}{nonce}", "{}{body}",
		"{timestamp}", "", "{body}}",
	};
	for (i = 0; i < sizeof(bad_tpl) / sizeof(bad_tpl[0]); i++)
		BAD(gh, template_, bad_tpl[i]);
	BAD(gh, template_, NULL);
	BAD(gh, sig_header, NULL);
	BAD(gh, sig_header, "X-Hub-Signature-256");
	BAD(gh, sig_header, "x hub");
	BAD(gh, id_header, "X-GitHub-Delivery");
	BAD(gh, alg, (enum verify_alg)7);
	BAD(gh, enc, (enum verify_enc)7);
	BAD(gh, sigfmt, (enum verify_sigfmt)7);
	BAD(gh, keyenc, (enum verify_keyenc)7);
	BAD(gh, mode, (enum verify_mode)7);
	BAD(gh, tolerance_s, 300); /* no timestamp source */
	BAD(gh, tsfmt, VERIFY_TS_UNIX); /* without ts_header */
	BAD(gh, ts_header, "x-ts"); /* without tsfmt */
	BAD(gh, prefix, "0123456789012345678901234567890123456789");
	BAD(sw, version, NULL);
	BAD(sw, version, "");
	BAD(sw, version, "v 1");
	BAD(sw, version, "v1,");
	BAD(sw, prefix, "sha256=");
	BAD(sw, id_header, NULL);
	BAD(sw, tolerance_s, -1);
	BAD(sw, tolerance_s, 8 * 86400);
	BAD(sw, tsfmt, VERIFY_TS_NONE);
	BAD(st, version, NULL);
	BAD(st, version, "t");
	BAD(st, ts_header, "stripe-timestamp");
	BAD(st, tsfmt, VERIFY_TS_RFC3339);
	BAD(zd, ts_header, NULL);
#undef BAD
	/* Good custom schemes. */
	s = *gh;
	s.template_ = "{method} {body} {id}";
	assert_null(verify_scheme_check(&s));
	s = *zd;
	s.tolerance_s = 0;
	assert_null(verify_scheme_check(&s));
	s = *st;
	s.tsfmt = VERIFY_TS_NONE; /* kv: t= is unix regardless */
	assert_null(verify_scheme_check(&s));
	/* Token/basic: the header defaults to authorization. */
	s = *verify_preset("token");
	s.sig_header = NULL;
	assert_null(verify_scheme_check(&s));
	s.sig_header = "Authorization";
	assert_non_null(verify_scheme_check(&s));
}

static void
test_presets_table(void **state)
{
	static const char *const want[] = {
		"zendesk", "standard-webhooks", "finch", "stripe", "github",
		"bamboohr", "hibob", "gusto", "deel", "merge", "greenhouse",
		"token", "basic",
	};
	const char *const *names = verify_preset_names();
	const struct verify_scheme *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_non_null(names[i]);
		assert_string_equal(names[i], want[i]);
		s = verify_preset(want[i]);
		assert_non_null(s);
		assert_string_equal(s->preset, want[i]);
	}
	assert_null(names[i]);
	assert_null(verify_preset("nope"));
	assert_null(verify_preset(NULL));
	assert_null(verify_preset("GitHub"));

	/* Spot checks of the brief's parameters. */
	s = verify_preset("zendesk");
	assert_int_equal(s->tsfmt, VERIFY_TS_RFC3339);
	assert_int_equal(s->keyenc, VERIFY_KEY_RAW);
	assert_int_equal(s->tolerance_s, 300);
	assert_null(s->id_header);
	s = verify_preset("hibob");
	assert_int_equal(s->alg, VERIFY_SHA512);
	s = verify_preset("github");
	assert_int_equal(s->tolerance_s, 0);
	s = verify_preset("token");
	assert_int_equal(s->mode, VERIFY_MODE_TOKEN);
	s = verify_preset("basic");
	assert_int_equal(s->mode, VERIFY_MODE_BASIC);
}

static void
test_strerror(void **state)
{
	int i, j;

	(void)state;
	assert_string_equal(verify_strerror(VERIFY_OK), "ok");
	assert_string_equal(verify_strerror(VERIFY_ERR_STALE), "stale");
	assert_string_equal(verify_strerror(VERIFY_ERR_MISMATCH), "mismatch");
	for (i = 0; i < VERIFY_ERR__MAX; i++) {
		assert_true(strlen(verify_strerror(i)) > 0);
		assert_string_not_equal(verify_strerror(i), "unknown");
		for (j = 0; j < i; j++)
			assert_string_not_equal(verify_strerror(i),
			    verify_strerror(j));
	}
	assert_string_equal(verify_strerror(VERIFY_ERR__MAX), "unknown");
	assert_string_equal(verify_strerror((enum verify_result)-1), "unknown");
}

static void
test_arguments(void **state)
{
	const struct pcase *pc = &pcases[4];
	const struct verify_scheme *s = verify_preset("github");
	struct verify_scheme bad;
	struct verify_secret three[3], empty = { NULL, 0, 0 };
	struct verify_request req;
	struct keyset ks = { 0 };
	struct hdrs h;

	(void)state;
	ks_add(&ks, s->keyenc, pc->secret, 0);
	pc_headers(pc, s, &h, pc->sig);
	memset(&req, 0, sizeof(req));
	req.body = (const unsigned char *)BODY;
	req.body_len = strlen(BODY);
	req.header = hdr_get;
	req.ctx = &h;
	req.now = NOW;
	assert_int_equal(verify_request(s, ks.s, ks.n, &req, NULL), VERIFY_OK);
	assert_int_equal(verify_request(NULL, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	assert_int_equal(verify_request(s, ks.s, ks.n, NULL, NULL),
	    VERIFY_ERR_INTERNAL);
	assert_int_equal(verify_request(s, NULL, 1, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	three[0] = three[1] = three[2] = ks.s[0];
	assert_int_equal(verify_request(s, three, 3, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	assert_int_equal(verify_request(s, NULL, 0, &req, NULL),
	    VERIFY_ERR_NO_SECRET);
	/* An empty key is never usable. */
	assert_int_equal(verify_request(s, &empty, 1, &req, NULL),
	    VERIFY_ERR_NO_SECRET);
	bad = *s;
	bad.template_ = "{nonce}{body}";
	assert_int_equal(verify_request(&bad, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	req.body = NULL;
	assert_int_equal(verify_request(s, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	req.body = (const unsigned char *)BODY;
	req.header = NULL;
	assert_int_equal(verify_request(s, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	req.header = hdr_get;

	/* Without verify_init() nothing verifies. */
	verify_cleanup();
	assert_int_equal(verify_request(s, ks.s, ks.n, &req, NULL),
	    VERIFY_ERR_INTERNAL);
	verify_cleanup();
	assert_int_equal(verify_init(), 0);
	assert_int_equal(verify_init(), 0);
	assert_int_equal(verify_request(s, ks.s, ks.n, &req, NULL), VERIFY_OK);
	ks_free(&ks);
}

static int
setup(void **state)
{
	(void)state;
	return verify_init();
}

static int
teardown(void **state)
{
	(void)state;
	verify_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets_accept),
		cmocka_unit_test(test_presets_tampered_body),
		cmocka_unit_test(test_presets_tampered_timestamp),
		cmocka_unit_test(test_presets_tampered_signature),
		cmocka_unit_test(test_presets_wrong_secret),
		cmocka_unit_test(test_presets_window),
		cmocka_unit_test(test_bamboohr_window_off),
		cmocka_unit_test(test_presets_rotation),
		cmocka_unit_test(test_presets_malformed),
		cmocka_unit_test(test_presets_timestamp_errors),
		cmocka_unit_test(test_presets_hex_case),
		cmocka_unit_test(test_standard_webhooks_official),
		cmocka_unit_test(test_finch_official),
		cmocka_unit_test(test_github_official),
		cmocka_unit_test(test_zendesk_vectors),
		cmocka_unit_test(test_zendesk_timestamp_forms),
		cmocka_unit_test(test_list_rules),
		cmocka_unit_test(test_kv_rules),
		cmocka_unit_test(test_merge_padding),
		cmocka_unit_test(test_id_rules),
		cmocka_unit_test(test_method_template),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_key_decode),
		cmocka_unit_test(test_scheme_check),
		cmocka_unit_test(test_presets_table),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_arguments),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
