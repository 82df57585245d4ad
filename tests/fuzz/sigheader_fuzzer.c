/*
 * sigheader_fuzzer.c -- libFuzzer target for verify_request() and the
 * parsers behind it (signature header formats, RFC 3339 and unix
 * timestamps, ids, Authorization values, templates, codecs).
 *
 * Input layout: "<sig>\n<timestamp>\n<id>\n<body>".  Missing fields are
 * absent headers.  The sig field is what each preset reads from its
 * signature (or Authorization) header, the timestamp and id fields what
 * it reads from its timestamp and id headers, so one input exercises a
 * list, a kv, plain hex/base64/base64url, RFC 3339, token and basic
 * scheme.  Every field is copied into its own exact-size heap buffer so
 * that AddressSanitizer catches a read one byte past it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rolehook/codec.h"
#include "rolehook/verify.h"

#define NFIELDS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_presets[] = {
	"zendesk", "standard-webhooks", "stripe", "github", "bamboohr",
	"hibob", "merge", "greenhouse", "token", "basic",
};

struct fuzz_req {
	const struct verify_scheme *s;
	char *field[NFIELDS];	/* sig, timestamp, id; NULL = absent */
};

static const char *
fuzz_header(void *ctx, const char *name)
{
	const struct fuzz_req *fr = ctx;
	const char *sig = fr->s->sig_header != NULL ? fr->s->sig_header :
	    "authorization";

	if (strcmp(name, sig) == 0)
		return fr->field[0];
	if (fr->s->ts_header != NULL && strcmp(name, fr->s->ts_header) == 0)
		return fr->field[1];
	if (fr->s->id_header != NULL && strcmp(name, fr->s->id_header) == 0)
		return fr->field[2];
	return NULL;
}

static char *
dup_field(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		if (n > 0)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/*
 * Keys are the ones the unit tests and seed corpus sign with, so seeds
 * reach the comparison and the success path.
 */
static int
fuzz_keys(struct verify_secret raw[2], struct verify_secret b64[2])
{
	if (verify_key_decode(VERIFY_KEY_RAW, "test_secret", &raw[0].key,
	    &raw[0].len) != 0 ||
	    verify_key_decode(VERIFY_KEY_RAW, "user:pass", &raw[1].key,
	    &raw[1].len) != 0 ||
	    verify_key_decode(VERIFY_KEY_BASE64,
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &b64[0].key,
	    &b64[0].len) != 0 ||
	    verify_key_decode(VERIFY_KEY_BASE64,
	    "whsec_cm9sZWhvb2stcHJldmlvdXMtc2VjcmV0", &b64[1].key,
	    &b64[1].len) != 0)
		return -1;
	/* The second secret expires in the middle of the clock range. */
	raw[1].expires = b64[1].expires = 1700000000;
	return 0;
}

/* Entry point called by libFuzzer (or replay_main.c) for each input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	static struct verify_secret raw[2], b64[2];
	struct fuzz_req fr;
	struct verify_request req;
	struct verify_info info;
	struct verify_scheme custom;
	unsigned char *body = NULL, *key = NULL, out[VERIFY_MAX_DIGEST];
	const uint8_t *p = data, *nl;
	size_t i, rest = size, keylen = 0, blen;
	time_t t;

	if (!inited) {
		if (verify_init() != 0 || fuzz_keys(raw, b64) != 0)
			abort();
		inited = 1;
	}
	memset(&fr, 0, sizeof(fr));
	for (i = 0; i < NFIELDS && rest > 0; i++) {
		nl = memchr(p, '\n', rest);
		blen = nl != NULL ? (size_t)(nl - p) : rest;
		if ((fr.field[i] = dup_field(p, blen)) == NULL)
			goto out;
		p += blen;
		rest -= blen;
		if (nl == NULL)
			break;
		p++;
		rest--;
	}
	/* Exact size, no terminator: reading past body_len is caught. */
	blen = i == NFIELDS ? rest : 0;
	if ((body = malloc(blen > 0 ? blen : 1)) == NULL)
		goto out;
	if (blen > 0)
		memcpy(body, p, blen);

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.body = body;
	req.body_len = blen;
	req.header = fuzz_header;
	req.ctx = &fr;
	/* Around the seeds' timestamps; 1-s steps cross both edges. */
	req.now = 1700000000 + (time_t)(size % 601) - 300;

	for (i = 0; i < sizeof(fuzz_presets) / sizeof(fuzz_presets[0]); i++) {
		fr.s = verify_preset(fuzz_presets[i]);
		if (fr.s == NULL)
			abort();
		if (verify_request(fr.s, fr.s->keyenc == VERIFY_KEY_BASE64 ?
		    b64 : raw, 2, &req, &info) == VERIFY_OK &&
		    strlen(info.id) > VERIFY_ID_MAX)
			abort();
	}

	/* The id field as a custom template, when the scheme accepts it. */
	fr.s = &custom;
	custom = *verify_preset("zendesk");
	custom.preset = "custom";
	custom.template_ = fr.field[2];
	custom.id_header = "x-id";
	if (fr.field[2] != NULL && verify_scheme_check(&custom) == NULL)
		(void)verify_request(&custom, raw, 1, &req, NULL);

	/* The parsers on their own. */
	if (fr.field[1] != NULL)
		(void)verify_parse_rfc3339(fr.field[1], &t);
	if (fr.field[0] != NULL) {
		size_t n = strlen(fr.field[0]);

		(void)codec_hex_decode(fr.field[0], n, out, sizeof(out));
		(void)codec_b64_decode(fr.field[0], n, 0, out, sizeof(out));
		(void)codec_b64_decode(fr.field[0], n, 1, out, 20);
		if (verify_key_decode(VERIFY_KEY_BASE64, fr.field[0], &key,
		    &keylen) == 0)
			OPENSSL_clear_free(key, keylen);
	}
out:
	for (i = 0; i < NFIELDS; i++)
		free(fr.field[i]);
	free(body);
	return 0;
}
