/*
 * verify.c -- webhook signature verification.
 *
 * Pure: no I/O, no logging.  The only global state is the HMAC and
 * SHA-256 implementations fetched once by verify_init() (OpenSSL 3
 * "Algorithm fetching": an implicit fetch on every call costs a lock and
 * a lookup, and must not happen concurrently with provider loading).
 *
 * Everything a request carries is untrusted: each header value is
 * length-bounded before it is looked at, handled as (pointer, length)
 * afterwards, and the received digest is decoded into a fixed buffer of
 * VERIFY_MAX_DIGEST bytes whose length must equal the algorithm's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "rolehook/caltime.h"
#include "rolehook/codec.h"
#include "rolehook/verify.h"

/* RFC 3339 and unix timestamps beyond year 9999 need a 64-bit time_t. */
_Static_assert(sizeof(time_t) >= 8, "time_t must be 64 bits");

#define SIG_HEADER_MAX	4096	/* longest signature/auth header accepted */
#define TS_TEXT_MAX	64	/* longest timestamp text accepted */
#define TS_UNIX_MAX	253402300799LL /* 9999-12-31T23:59:59Z */
#define TEMPLATE_MAX	256	/* longest signed-content template */
#define AFFIX_MAX	32	/* longest prefix or version tag */
#define HEADER_NAME_MAX	64	/* longest header name in a scheme */
#define METHOD_MAX	32	/* longest request method taken into {method} */
#define TOLERANCE_MAX	(7 * 86400)
#define KEY_TEXT_MAX	4096	/* longest configured secret string */

static EVP_MAC *vmac;	/* "HMAC", fetched by verify_init() */
static EVP_MD *vsha256;	/* "SHA256", for token comparisons */

/*
 * Standard Webhooks v1 under a sender's header names: PREFIX-signature,
 * PREFIX-timestamp and the message id in ID.
 */
#define STANDARD_WEBHOOKS(name, prefix, id) \
	{ .preset = (name), .mode = VERIFY_MODE_HMAC, \
	  .sig_header = prefix "-signature", .alg = VERIFY_SHA256, \
	  .enc = VERIFY_BASE64, .sigfmt = VERIFY_SIG_LIST, .version = "v1", \
	  .template_ = "{id}.{timestamp}.{body}", \
	  .ts_header = prefix "-timestamp", .tsfmt = VERIFY_TS_UNIX, \
	  .id_header = (id), .keyenc = VERIFY_KEY_BASE64, .tolerance_s = 300 }

/*
 * One header holding the HMAC of the body (in template, with any fixed
 * text the sender adds), the key as configured; nothing signed says when,
 * so there is no replay window.
 */
#define BODY_HMAC(name, header, alg_, enc_, prefix_, template) \
	{ .preset = (name), .mode = VERIFY_MODE_HMAC, .sig_header = (header), \
	  .alg = (alg_), .enc = (enc_), .sigfmt = VERIFY_SIG_PLAIN, \
	  .prefix = (prefix_), .template_ = (template), \
	  .keyenc = VERIFY_KEY_RAW }

/*
 * Built-in presets.  Each cites where its parameters come from; see
 * research/hris.md and research/zendesk.md for the vectors.
 */
static const struct verify_scheme presets[] = {
	/*
	 * Zendesk "Verifying webhook authenticity": base64(HMAC-SHA256(
	 * secret as literal string bytes, timestamp + body)), timestamp in
	 * RFC 3339.  One copy of the page prints (BODY)(TIMESTAMP); every
	 * public verifier uses timestamp first, and a custom scheme can
	 * express the other order.
	 */
	{ .preset = "zendesk", .mode = VERIFY_MODE_HMAC,
	  .sig_header = "x-zendesk-webhook-signature", .alg = VERIFY_SHA256,
	  .enc = VERIFY_BASE64, .sigfmt = VERIFY_SIG_PLAIN,
	  .template_ = "{timestamp}{body}",
	  .ts_header = "x-zendesk-webhook-signature-timestamp",
	  .tsfmt = VERIFY_TS_RFC3339, .keyenc = VERIFY_KEY_RAW,
	  .tolerance_s = 300 },
	/*
	 * Standard Webhooks spec v1: "{msg_id}.{timestamp}.{payload}",
	 * space-separated "v1,<base64>" list, key = base64 of the secret
	 * without "whsec_", 5 minutes both ways in the reference libraries.
	 */
	STANDARD_WEBHOOKS("standard-webhooks", "webhook", "webhook-id"),
	/* Finch (finch-api-node src/resources/webhooks.ts): Standard
	 * Webhooks with finch-* headers. */
	STANDARD_WEBHOOKS("finch", "finch", "finch-event-id"),
	/*
	 * Stripe "Check the webhook signatures": "t=..,v1=..", signed
	 * "{t}.{body}", lower-case hex, key is the whsec_ string as is,
	 * default tolerance five minutes.
	 */
	{ .preset = "stripe", .mode = VERIFY_MODE_HMAC,
	  .sig_header = "stripe-signature", .alg = VERIFY_SHA256,
	  .enc = VERIFY_HEX, .sigfmt = VERIFY_SIG_KV, .version = "v1",
	  .template_ = "{timestamp}.{body}", .tsfmt = VERIFY_TS_UNIX,
	  .keyenc = VERIFY_KEY_RAW, .tolerance_s = 300 },
	/* GitHub "Validating webhook deliveries": "sha256=" + hex of
	 * HMAC-SHA256(body); no timestamp, so no replay window. */
	{ .preset = "github", .mode = VERIFY_MODE_HMAC,
	  .sig_header = "x-hub-signature-256", .alg = VERIFY_SHA256,
	  .enc = VERIFY_HEX, .sigfmt = VERIFY_SIG_PLAIN, .prefix = "sha256=",
	  .template_ = "{body}", .id_header = "x-github-delivery",
	  .keyenc = VERIFY_KEY_RAW, .tolerance_s = 0 },
	/*
	 * BambooHR webhooks "Security": hex HMAC-SHA256 of body followed by
	 * the timestamp (from the PHP sample, as implemented by botpress
	 * and fusebit).  The replay tolerance is not documented; the
	 * timestamp is signed, so the window is five minutes as for the
	 * others (a window off would let a captured request verify for ever).
	 */
	{ .preset = "bamboohr", .mode = VERIFY_MODE_HMAC,
	  .sig_header = "x-bamboohr-signature", .alg = VERIFY_SHA256,
	  .enc = VERIFY_HEX, .sigfmt = VERIFY_SIG_PLAIN,
	  .template_ = "{body}{timestamp}",
	  .ts_header = "x-bamboohr-timestamp", .tsfmt = VERIFY_TS_UNIX,
	  .keyenc = VERIFY_KEY_RAW, .tolerance_s = 300 },
	/* HiBob "Working with webhooks": Bob-Signature, base64 of
	 * HMAC-SHA512 over the payload. */
	BODY_HMAC("hibob", "bob-signature", VERIFY_SHA512, VERIFY_BASE64,
	    NULL, "{body}"),
	/* Gusto "Webhooks": X-Gusto-Signature, hex HMAC-SHA256 keyed by
	 * the verification_token. */
	BODY_HMAC("gusto", "x-gusto-signature", VERIFY_SHA256, VERIFY_HEX,
	    NULL, "{body}"),
	/* Deel "Webhooks get started": hex HMAC-SHA256 of the body "using
	 * a POST prefix", i.e. the literal "POST" whatever the method. */
	BODY_HMAC("deel", "x-deel-signature", VERIFY_SHA256, VERIFY_HEX,
	    NULL, "POST{body}"),
	/* Merge "Webhooks": base64url of HMAC-SHA256(body); padding is
	 * not documented, so the decoder accepts it either way. */
	BODY_HMAC("merge", "x-merge-webhook-signature", VERIFY_SHA256,
	    VERIFY_BASE64URL, NULL, "{body}"),
	/* Greenhouse Onboarding webhooks: "Signature: sha256 <hex>" with a
	 * space after the algorithm name. */
	BODY_HMAC("greenhouse", "signature", VERIFY_SHA256, VERIFY_HEX,
	    "sha256 ", "{body}"),
	/* Personio / Rippling partner webhooks: a static token in
	 * Authorization, bare or as a Bearer token. */
	{ .preset = "token", .mode = VERIFY_MODE_TOKEN,
	  .sig_header = "authorization", .keyenc = VERIFY_KEY_RAW },
	/* Workday outbound notifications: HTTP Basic (RFC 7617). */
	{ .preset = "basic", .mode = VERIFY_MODE_BASIC,
	  .sig_header = "authorization", .keyenc = VERIFY_KEY_RAW },
};

#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

static const char *const preset_names[] = {
	"zendesk", "standard-webhooks", "finch", "stripe", "github",
	"bamboohr", "hibob", "gusto", "deel", "merge", "greenhouse",
	"token", "basic", NULL
};

_Static_assert(sizeof(preset_names) / sizeof(preset_names[0]) ==
    NPRESETS + 1, "preset_names must list every preset");

/* Indexed by enum verify_result; stable, used as metric labels. */
static const char *const result_names[VERIFY_ERR__MAX] = {
	"ok", "no_signature", "malformed", "no_timestamp", "bad_timestamp",
	"stale", "future", "no_id", "mismatch", "no_secret", "internal"
};

enum tok { TOK_LIT = 0, TOK_ID, TOK_TIMESTAMP, TOK_BODY, TOK_METHOD };

static const struct {
	const char *text;
	size_t len;
	enum tok tok;
} tokens[] = {
	{ "{id}", 4, TOK_ID },
	{ "{timestamp}", 11, TOK_TIMESTAMP },
	{ "{body}", 6, TOK_BODY },
	{ "{method}", 8, TOK_METHOD },
};

/* A piece of borrowed text: never assumed NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

/* Pieces substituted into the template. */
struct content {
	struct span id;
	struct span ts;
	struct span method;
	const unsigned char *body;
	size_t body_len;
};

/* Contract in verify.h.  Idempotent; not thread-safe (call from main). */
int
verify_init(void)
{
	if (vmac == NULL)
		vmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (vsha256 == NULL)
		vsha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (vmac == NULL || vsha256 == NULL) {
		verify_cleanup();
		return -1;
	}
	return 0;
}

/* Contract in verify.h. */
void
verify_cleanup(void)
{
	EVP_MAC_free(vmac);
	vmac = NULL;
	EVP_MD_free(vsha256);
	vsha256 = NULL;
}

/* Contract in verify.h.  NULL name gives NULL. */
const struct verify_scheme *
verify_preset(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < NPRESETS; i++)
		if (strcmp(presets[i].preset, name) == 0)
			return &presets[i];
	return NULL;
}

/* Contract in verify.h.  The array is static; do not free. */
const char *const *
verify_preset_names(void)
{
	return preset_names;
}

/* Contract in verify.h.  Out-of-range values give "unknown". */
const char *
verify_strerror(enum verify_result r)
{
	if ((int)r < 0 || r >= VERIFY_ERR__MAX)
		return "unknown";
	return result_names[r];
}

static size_t
alg_len(enum verify_alg alg)
{
	switch (alg) {
	case VERIFY_SHA1:
		return 20;
	case VERIFY_SHA256:
		return 32;
	case VERIFY_SHA512:
		return 64;
	}
	return 0;
}

static const char *
alg_name(enum verify_alg alg)
{
	switch (alg) {
	case VERIFY_SHA1:
		return "SHA1";
	case VERIFY_SHA256:
		return "SHA256";
	case VERIFY_SHA512:
		return "SHA512";
	}
	return NULL;
}

/*
 * Matches a template token at p (which points at '{').  Returns its
 * kind and sets *len, or TOK_LIT if p starts no known token.
 */
static enum tok
tok_at(const char *p, size_t *len)
{
	size_t i;

	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strncmp(p, tokens[i].text, tokens[i].len) == 0) {
			*len = tokens[i].len;
			return tokens[i].tok;
		}
	return TOK_LIT;
}

/* Whether a (checked) template contains token t. */
static int
template_uses(const char *tpl, enum tok t)
{
	const char *p;
	size_t len;

	if (tpl == NULL)
		return 0;
	for (p = tpl; (p = strchr(p, '{')) != NULL; p++)
		if (tok_at(p, &len) == t)
			return 1;
	return 0;
}

/* HTTP field names as rolehook looks them up: RFC 9110 tchar subset. */
static int
header_name_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++) {
		if (i >= HEADER_NAME_MAX)
			return 0;
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '_'))
			return 0;
	}
	return i > 0;
}

/*
 * The header TOKEN and BASIC read; "authorization" unless the scheme
 * names another.
 */
static const char *
auth_header(const struct verify_scheme *s)
{
	return s->sig_header != NULL ? s->sig_header : "authorization";
}

/*
 * Contract in verify.h.  verify_request() runs this too and refuses a
 * scheme that fails it, so a bad config cannot weaken verification.
 */
const char *
verify_scheme_check(const struct verify_scheme *s)
{
	const char *p;
	size_t len;
	int has_ts;

	if (s == NULL)
		return "no scheme";
	if (s->mode != VERIFY_MODE_HMAC && s->mode != VERIFY_MODE_TOKEN &&
	    s->mode != VERIFY_MODE_BASIC)
		return "unknown mode";
	if (s->id_header != NULL && !header_name_ok(s->id_header))
		return "id_header is not a lower-case header name";
	if (s->mode != VERIFY_MODE_HMAC) {
		if (!header_name_ok(auth_header(s)))
			return "sig_header is not a lower-case header name";
		return NULL;
	}
	if (s->sig_header == NULL || !header_name_ok(s->sig_header))
		return "sig_header is missing or not a lower-case header name";
	if (alg_len(s->alg) == 0)
		return "unknown algorithm";
	if (s->enc != VERIFY_HEX && s->enc != VERIFY_BASE64 &&
	    s->enc != VERIFY_BASE64URL)
		return "unknown signature encoding";
	if (s->keyenc != VERIFY_KEY_RAW && s->keyenc != VERIFY_KEY_BASE64)
		return "unknown key encoding";
	if (s->tsfmt != VERIFY_TS_NONE && s->tsfmt != VERIFY_TS_UNIX &&
	    s->tsfmt != VERIFY_TS_RFC3339)
		return "unknown timestamp format";

	switch (s->sigfmt) {
	case VERIFY_SIG_PLAIN:
		if (s->prefix != NULL && strnlen(s->prefix, AFFIX_MAX + 1) >
		    AFFIX_MAX)
			return "prefix too long";
		break;
	case VERIFY_SIG_LIST:
	case VERIFY_SIG_KV:
		if (s->prefix != NULL)
			return "prefix is only for the plain signature format";
		if (s->version == NULL || s->version[0] == '\0')
			return "list and kv signature formats need a version";
		if (strnlen(s->version, AFFIX_MAX + 1) > AFFIX_MAX)
			return "version too long";
		/* The separators of both formats cannot be in the tag. */
		if (strpbrk(s->version, " ,=") != NULL)
			return "version contains ' ', ',' or '='";
		/* "t" is the kv timestamp key (Stripe). */
		if (s->sigfmt == VERIFY_SIG_KV && strcmp(s->version, "t") == 0)
			return "version \"t\" is the kv timestamp key";
		break;
	default:
		return "unknown signature format";
	}

	if (s->sigfmt == VERIFY_SIG_KV) {
		/* Stripe: the timestamp is "t=" in the signature header. */
		if (s->ts_header != NULL)
			return "kv signature format takes the timestamp "
			    "from t=";
		if (s->tsfmt == VERIFY_TS_RFC3339)
			return "kv timestamps are unix seconds";
		has_ts = 1;
	} else {
		if (s->ts_header != NULL && !header_name_ok(s->ts_header))
			return "ts_header is not a lower-case header name";
		if ((s->ts_header != NULL) != (s->tsfmt != VERIFY_TS_NONE))
			return "ts_header and tsfmt must be set together";
		has_ts = s->ts_header != NULL;
	}
	if (s->tolerance_s < 0 || s->tolerance_s > TOLERANCE_MAX)
		return "tolerance out of range";
	if (s->tolerance_s > 0 && !has_ts)
		return "tolerance needs a timestamp source";

	if (s->template_ == NULL || s->template_[0] == '\0')
		return "template missing";
	if (strnlen(s->template_, TEMPLATE_MAX + 1) > TEMPLATE_MAX)
		return "template too long";
	for (p = s->template_; *p != '\0'; p++) {
		if (*p == '}')
			return "stray '}' in template";
		if (*p != '{')
			continue;
		if (tok_at(p, &len) == TOK_LIT)
			return "unknown {token} in template";
		p += len - 1;
	}
	/* A signature that does not cover the body authenticates nothing. */
	if (!template_uses(s->template_, TOK_BODY))
		return "template must contain {body}";
	if (template_uses(s->template_, TOK_TIMESTAMP) && !has_ts)
		return "{timestamp} in template without a timestamp source";
	/* The replay window must check a value the sender signed. */
	if (has_ts && !template_uses(s->template_, TOK_TIMESTAMP))
		return "timestamp source not signed: template needs {timestamp}";
	if (template_uses(s->template_, TOK_ID) && s->id_header == NULL)
		return "{id} in template without id_header";
	return NULL;
}

/*
 * Strict RFC 3339 section 5.6 date-time: exactly N digits per field
 * (caltime_digits), ranges checked before timegm() so it never
 * normalises nonsense.  Contract in verify.h.  Accepts "T"/"t" between
 * date and time, "Z"/"z" or +hh:mm/-hh:mm, 1-9 fraction digits
 * (truncated), second 60 (leap second, RFC 3339 5.7; timegm() folds it
 * into the next minute) and years 1970-9999.  Anything else, including
 * trailing bytes, is -1.
 */
int
verify_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	size_t n, i;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, dim;
	time_t t;

	if (s == NULL || out == NULL)
		return -1;
	n = strnlen(s, TS_TEXT_MAX + 1);
	if (n < 20 || n > TS_TEXT_MAX)
		return -1;
	/* YYYY-MM-DDTHH:MM:SS */
	if (caltime_digits(s, 4, &y) || s[4] != '-' || caltime_digits(s + 5, 2, &mo) ||
	    s[7] != '-' || caltime_digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || caltime_digits(s + 11, 2, &h) ||
	    s[13] != ':' || caltime_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    caltime_digits(s + 17, 2, &sec))
		return -1;
	i = 19;
	if (s[i] == '.') {
		size_t f = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return -1;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i < 6 || caltime_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    caltime_digits(s + i + 4, 2, &om))
			return -1;
		i += 6;
	} else
		return -1;
	if (i != n)
		return -1;

	if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59)
		return -1;
	dim = caltime_days_in_month(y, mo);
	if (d < 1 || d > dim)
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	errno = 0;
	t = timegm(&tm);
	if (t == (time_t)-1 && errno != 0)
		return -1;
	/* Local time = UTC + offset (RFC 3339 section 4.2). */
	*out = t - (time_t)sign * (oh * 3600 + om * 60);
	return 0;
}

/*
 * Unix seconds: ASCII digits only (no sign, no blanks, which strtoll
 * would take), at most TS_UNIX_MAX.  Returns 0 and sets *out, or -1.
 */
static int
parse_unix(const char *p, size_t n, time_t *out)
{
	char buf[24], *end;
	long long v;
	size_t i;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end != buf + n || v < 0 || v > TS_UNIX_MAX)
		return -1;
	*out = (time_t)v;
	return 0;
}

/* Contract in verify.h.  Secrets longer than KEY_TEXT_MAX are refused. */
int
verify_key_decode(enum verify_keyenc enc, const char *secret,
    unsigned char **key, size_t *len)
{
	unsigned char *k = NULL;
	size_t n = 0, cap = 0;
	long r;
	int rc = -1;

	if (key == NULL || len == NULL)
		return -1;
	*key = NULL;
	*len = 0;
	if (secret == NULL)
		goto out;
	n = strnlen(secret, KEY_TEXT_MAX + 1);
	if (n == 0 || n > KEY_TEXT_MAX)
		goto out;
	/* Decoding only shrinks: n bytes hold either form. */
	cap = n;
	if ((k = malloc(cap)) == NULL)
		goto out;
	switch (enc) {
	case VERIFY_KEY_RAW:
		memcpy(k, secret, n);
		r = (long)n;
		break;
	case VERIFY_KEY_BASE64:
		/* Standard Webhooks spec: "whsec_" is a display prefix. */
		if (strncmp(secret, "whsec_", 6) == 0) {
			secret += 6;
			n -= 6;
		}
		r = codec_b64_decode(secret, n, 0, k, cap);
		break;
	default:
		r = -1;
		break;
	}
	/* An empty key is a configuration mistake, never a usable key. */
	if (r <= 0)
		goto out;
	*key = k;
	*len = (size_t)r;
	k = NULL;
	rc = 0;
out:
	OPENSSL_clear_free(k, cap);
	return rc;
}

/*
 * Reads a header through the caller's lookup and bounds it: returns 1
 * with *sp set, 0 if absent or empty, -1 if longer than max.
 */
static int
get_header(const struct verify_request *req, const char *name, size_t max,
    struct span *sp)
{
	const char *v;
	size_t n;

	sp->p = NULL;
	sp->n = 0;
	if (name == NULL || (v = req->header(req->ctx, name)) == NULL)
		return 0;
	if ((n = strnlen(v, max + 1)) > max)
		return -1;
	if (n == 0)
		return 0;
	sp->p = v;
	sp->n = n;
	return 1;
}

/* Whether secret i may be tried at time now. */
static int
secret_usable(const struct verify_secret *sec, time_t now)
{
	if (sec->key == NULL || sec->len == 0)
		return 0;
	return sec->expires == 0 || sec->expires > now;
}

/* Decodes one received digest; 0 if it is exactly dlen bytes, else -1. */
static int
decode_digest(const struct verify_scheme *s, const char *p, size_t n,
    size_t dlen, unsigned char *out)
{
	long r;

	if (s->enc == VERIFY_HEX)
		r = codec_hex_decode(p, n, out, VERIFY_MAX_DIGEST);
	else
		r = codec_b64_decode(p, n, s->enc == VERIFY_BASE64URL, out,
		    VERIFY_MAX_DIGEST);
	return r >= 0 && (size_t)r == dlen ? 0 : -1;
}

/*
 * Walks the candidate digests of a signature header.  The same walk runs
 * twice: once to validate and collect the kv timestamp, once to compare,
 * so no candidate array (and no cap on the number of items) is needed.
 */
struct sigiter {
	const struct verify_scheme *s;
	struct span v;		/* the whole header value */
	size_t pos;
	size_t dlen;
	struct span ts;		/* kv: the t= value */
	int nts;		/* kv: how many t= were seen */
};

static int
span_eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(p, lit, n) == 0;
}

/*
 * Returns 1 with the next candidate decoded into out (dlen bytes), 0 at
 * the end, -1 if the header is malformed.
 */
static int
sigiter_next(struct sigiter *it, unsigned char *out)
{
	const struct verify_scheme *s = it->s;
	const char *item, *sep;
	size_t n, plen;

	if (s->sigfmt == VERIFY_SIG_PLAIN) {
		if (it->pos > 0)
			return 0;
		it->pos = it->v.n;
		plen = s->prefix != NULL ? strlen(s->prefix) : 0;
		if (it->v.n < plen ||
		    (plen > 0 && memcmp(it->v.p, s->prefix, plen) != 0))
			return -1;
		return decode_digest(s, it->v.p + plen, it->v.n - plen,
		    it->dlen, out) == 0 ? 1 : -1;
	}

	while (it->pos < it->v.n) {
		item = it->v.p + it->pos;
		sep = memchr(item, s->sigfmt == VERIFY_SIG_LIST ? ' ' : ',',
		    it->v.n - it->pos);
		n = sep != NULL ? (size_t)(sep - item) : it->v.n - it->pos;
		it->pos += n + (sep != NULL);

		if (s->sigfmt == VERIFY_SIG_LIST) {
			/*
			 * Standard Webhooks spec v1 / reference Go library:
			 * items are "<version>,<sig>"; an empty item or one
			 * without a comma or of another version is skipped
			 * ("if version != "v1" { continue }").
			 */
			if (n == 0 || (sep = memchr(item, ',', n)) == NULL)
				continue;
			if (!span_eq(item, (size_t)(sep - item), s->version))
				continue;
		} else {
			/*
			 * Stripe: "t=<ts>,v1=<sig>,v0=<sig>", split on ','
			 * then '=' (stripe-ruby also allows blanks after a
			 * comma).  Keys other than t and the version are
			 * ignored, which prevents downgrades to v0.  An
			 * empty item, a trailing ',' included, is an error.
			 */
			if (sep != NULL && it->pos == it->v.n)
				return -1;
			while (n > 0 && *item == ' ') {
				item++;
				n--;
			}
			if ((sep = memchr(item, '=', n)) == NULL)
				return -1;
			if (span_eq(item, (size_t)(sep - item), "t")) {
				it->ts.p = sep + 1;
				it->ts.n = n - (size_t)(sep + 1 - item);
				it->nts++;
				continue;
			}
			if (!span_eq(item, (size_t)(sep - item), s->version))
				continue;
		}
		/*
		 * KV: an item of the accepted version must decode to exactly
		 * one digest, or the header is malformed.  LIST: a garbled
		 * item is skipped, as the reference libraries compare
		 * strings and a garbled one simply never matches; a sender
		 * rotating keys may list a valid signature after it.  A list
		 * with nothing but garbled items is malformed (see caller).
		 */
		sep++;
		if (decode_digest(s, sep, n - (size_t)(sep - item), it->dlen,
		    out) != 0) {
			if (s->sigfmt == VERIFY_SIG_LIST)
				continue;
			return -1;
		}
		return 1;
	}
	return 0;
}

/* Feeds the signed content to the MAC, template piece by piece. */
static int
mac_update(EVP_MAC_CTX *ctx, const void *p, size_t n)
{
	if (n == 0)
		return 1;
	return EVP_MAC_update(ctx, p, n);
}

static int
mac_content(EVP_MAC_CTX *ctx, const char *tpl, const struct content *c)
{
	const char *p = tpl, *lit = tpl;
	size_t len = 0;
	enum tok t = TOK_LIT;
	int ok = 1;

	while (ok && *p != '\0') {
		if (*p != '{' || (t = tok_at(p, &len)) == TOK_LIT) {
			p++;
			continue;
		}
		ok = mac_update(ctx, lit, (size_t)(p - lit));
		switch (t) {
		case TOK_ID:
			ok = ok && mac_update(ctx, c->id.p, c->id.n);
			break;
		case TOK_TIMESTAMP:
			ok = ok && mac_update(ctx, c->ts.p, c->ts.n);
			break;
		case TOK_BODY:
			ok = ok && mac_update(ctx, c->body, c->body_len);
			break;
		case TOK_METHOD:
			ok = ok && mac_update(ctx, c->method.p, c->method.n);
			break;
		case TOK_LIT:
			break;
		}
		p += len;
		lit = p;
	}
	return ok && mac_update(ctx, lit, (size_t)(p - lit));
}

/*
 * Computes HMAC(key, content) into out (alg_len bytes).  Returns 0, or
 * -1 on an OpenSSL failure.
 */
static int
mac_compute(EVP_MAC_CTX *ctx, const struct verify_scheme *s,
    const struct verify_secret *sec, const struct content *c,
    unsigned char *out)
{
	OSSL_PARAM params[2];
	char dname[sizeof("SHA512")];
	size_t outl = 0;

	/* OSSL_PARAM wants a mutable string; keep the table const. */
	snprintf(dname, sizeof(dname), "%s", alg_name(s->alg));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    dname, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, sec->key, sec->len, params) ||
	    !mac_content(ctx, s->template_, c) ||
	    !EVP_MAC_final(ctx, out, &outl, VERIFY_MAX_DIGEST) ||
	    outl != alg_len(s->alg))
		return -1;
	return 0;
}

/* The timestamp, its exact text for {timestamp}, and whether it is fresh. */
static enum verify_result
check_timestamp(const struct verify_scheme *s,
    const struct verify_request *req, const struct sigiter *it,
    struct span *text, time_t *ts)
{
	char buf[TS_TEXT_MAX + 1];
	int r;

	if (s->sigfmt == VERIFY_SIG_KV) {
		if (it->nts == 0)
			return VERIFY_ERR_NO_TIMESTAMP;
		/* Two t= would leave it open which one was signed. */
		if (it->nts > 1)
			return VERIFY_ERR_MALFORMED;
		*text = it->ts;
		if (parse_unix(text->p, text->n, ts) != 0)
			return VERIFY_ERR_BAD_TIMESTAMP;
	} else {
		if ((r = get_header(req, s->ts_header, TS_TEXT_MAX, text)) < 0)
			return VERIFY_ERR_BAD_TIMESTAMP;
		if (r == 0)
			return VERIFY_ERR_NO_TIMESTAMP;
		if (s->tsfmt == VERIFY_TS_UNIX)
			r = parse_unix(text->p, text->n, ts);
		else {
			memcpy(buf, text->p, text->n);
			buf[text->n] = '\0';
			r = verify_parse_rfc3339(buf, ts);
		}
		if (r != 0)
			return VERIFY_ERR_BAD_TIMESTAMP;
	}
	/*
	 * Standard Webhooks reference libraries: too old if now - ts >
	 * tolerance, too new if ts > now + tolerance.  Written with the
	 * bounded ts on the side of the arithmetic so it cannot overflow
	 * whatever now is.
	 */
	if (s->tolerance_s > 0) {
		if ((long long)req->now > (long long)*ts + s->tolerance_s)
			return VERIFY_ERR_STALE;
		if ((long long)req->now < (long long)*ts - s->tolerance_s)
			return VERIFY_ERR_FUTURE;
	}
	return VERIFY_OK;
}

/*
 * The delivery id: printable ASCII without blanks, at most VERIFY_ID_MAX
 * bytes; longer ids are refused, never truncated, because the id is an
 * idempotency key.  Standard Webhooks spec: ids in the signed content
 * must not contain '.', the template's separator.
 */
static enum verify_result
check_id(const struct verify_scheme *s, const struct verify_request *req,
    struct span *id)
{
	int need = s->mode == VERIFY_MODE_HMAC &&
	    template_uses(s->template_, TOK_ID);
	int r;
	size_t i;

	/*
	 * An id the signature covers must be valid, or the request fails.
	 * An id it does not cover (GitHub's X-GitHub-Delivery) is only a
	 * dedupe hint: a bad one is dropped (the caller then dedupes on
	 * the body) rather than failing a correctly signed request.
	 */
	if ((r = get_header(req, s->id_header, VERIFY_ID_MAX, id)) < 0)
		goto bad;
	if (r == 0)
		return need ? VERIFY_ERR_NO_ID : VERIFY_OK;
	for (i = 0; i < id->n; i++)
		if (id->p[i] <= ' ' || id->p[i] > '~' ||
		    (need && id->p[i] == '.'))
			goto bad;
	return VERIFY_OK;
bad:
	id->p = NULL;
	id->n = 0;
	return need ? VERIFY_ERR_NO_ID : VERIFY_OK;
}

/* Constant-time equality of two byte strings of any lengths. */
static int
ct_equal(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen, int *eq)
{
	unsigned char ha[32], hb[32];
	unsigned int la = 0, lb = 0;

	/*
	 * Hashing first makes the comparison length-independent: the
	 * lengths only change the (data-independent) hashing time.
	 */
	if (!EVP_Digest(a, alen, ha, &la, vsha256, NULL) ||
	    !EVP_Digest(b, blen, hb, &lb, vsha256, NULL) || la != 32 ||
	    lb != 32)
		return -1;
	*eq = CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
	return 0;
}

static int
scheme_word(const char *p, size_t n, const char *word, size_t *skip)
{
	size_t wl = strlen(word), i;

	/* RFC 9110 section 11.1: the auth-scheme is case-insensitive. */
	if (n <= wl || strncasecmp(p, word, wl) != 0 || p[wl] != ' ')
		return 0;
	for (i = wl; i < n && p[i] == ' '; i++)
		;
	*skip = i;
	return 1;
}

/*
 * TOKEN and BASIC: the credential is compared with each usable secret.
 * Returns the result and sets *index on VERIFY_OK.
 */
static enum verify_result
verify_auth(const struct verify_scheme *s, const struct verify_secret *secrets,
    size_t nsecrets, const struct verify_request *req, int *index)
{
	unsigned char cred[SIG_HEADER_MAX];
	struct span v;
	const unsigned char *c2 = NULL;
	size_t credlen = 0, c2len = 0, skip, i;
	long r;
	int eq, eq2, rv;
	enum verify_result res = VERIFY_ERR_MISMATCH;

	if ((rv = get_header(req, auth_header(s), SIG_HEADER_MAX, &v)) < 0)
		return VERIFY_ERR_MALFORMED;
	if (rv == 0)
		return VERIFY_ERR_NO_SIGNATURE;

	if (s->mode == VERIFY_MODE_BASIC) {
		/* RFC 7617 section 2: "Basic" 1*SP base64(user-pass). */
		if (!scheme_word(v.p, v.n, "Basic", &skip) ||
		    (r = codec_b64_decode(v.p + skip, v.n - skip, 0, cred,
		    sizeof(cred))) <= 0) {
			res = VERIFY_ERR_MALFORMED;
			goto out;
		}
		credlen = (size_t)r;
	} else {
		/*
		 * Personio sends the token as is; Rippling as "Bearer
		 * <token>" (RFC 6750 section 2.1).  The whole value is a
		 * candidate too, in case the secret itself starts with
		 * "Bearer ".
		 */
		memcpy(cred, v.p, v.n);
		credlen = v.n;
		if (scheme_word(v.p, v.n, "Bearer", &skip)) {
			if (skip == v.n) {
				res = VERIFY_ERR_MALFORMED;
				goto out;
			}
			c2 = cred + skip;
			c2len = credlen - skip;
		}
	}

	for (i = 0; i < nsecrets; i++) {
		if (!secret_usable(&secrets[i], req->now))
			continue;
		if (ct_equal(cred, credlen, secrets[i].key, secrets[i].len,
		    &eq) != 0) {
			res = VERIFY_ERR_INTERNAL;
			goto out;
		}
		eq2 = 0;
		if (c2 != NULL && ct_equal(c2, c2len, secrets[i].key,
		    secrets[i].len, &eq2) != 0) {
			res = VERIFY_ERR_INTERNAL;
			goto out;
		}
		if (eq || eq2) {
			*index = (int)i;
			res = VERIFY_OK;
			goto out;
		}
	}
out:
	OPENSSL_cleanse(cred, sizeof(cred));
	return res;
}

/*
 * Contract in verify.h.  Checks run in this order, so the result names
 * the first problem: scheme and arguments (VERIFY_ERR_INTERNAL), secrets
 * (NO_SECRET), signature header (NO_SIGNATURE, MALFORMED), timestamp
 * (NO_TIMESTAMP, BAD_TIMESTAMP, STALE, FUTURE), id (NO_ID), then the
 * MAC (MISMATCH).  For LIST and KV, a header with no item of the
 * accepted version is MALFORMED (there is nothing to compare, as with
 * an undecodable plain signature), not MISMATCH.  VERIFY_ERR_INTERNAL
 * also covers an invalid scheme, a NULL argument, nsecrets >
 * VERIFY_MAX_SECRETS, a missing verify_init() and an absent or overlong
 * method when the template uses {method}.  *info is zeroed, then filled
 * on VERIFY_OK.
 */
enum verify_result
verify_request(const struct verify_scheme *scheme,
    const struct verify_secret *secrets, size_t nsecrets,
    const struct verify_request *req, struct verify_info *info)
{
	unsigned char macs[VERIFY_MAX_SECRETS][VERIFY_MAX_DIGEST];
	unsigned char got[VERIFY_MAX_DIGEST];
	int have_mac[VERIFY_MAX_SECRETS] = { 0 };
	EVP_MAC_CTX *ctx = NULL;
	struct sigiter it;
	struct content c;
	time_t ts = 0;
	size_t i, nusable = 0, ncand = 0;
	int r, index = -1, need_ts;
	enum verify_result res = VERIFY_ERR_INTERNAL;

	if (info != NULL)
		memset(info, 0, sizeof(*info));
	memset(&c, 0, sizeof(c));
	memset(&it, 0, sizeof(it));
	if (scheme == NULL || req == NULL || req->header == NULL ||
	    (req->body == NULL && req->body_len > 0) ||
	    (secrets == NULL && nsecrets > 0) ||
	    nsecrets > VERIFY_MAX_SECRETS ||
	    verify_scheme_check(scheme) != NULL)
		goto out;
	if (vmac == NULL || vsha256 == NULL)
		goto out;

	/* Nothing the sender controls can help if no secret is usable. */
	for (i = 0; i < nsecrets; i++)
		if (secret_usable(&secrets[i], req->now))
			nusable++;
	if (nusable == 0) {
		res = VERIFY_ERR_NO_SECRET;
		goto out;
	}

	if (scheme->mode != VERIFY_MODE_HMAC) {
		if ((res = verify_auth(scheme, secrets, nsecrets, req,
		    &index)) != VERIFY_OK)
			goto out;
		if ((res = check_id(scheme, req, &c.id)) != VERIFY_OK)
			goto out;
		goto ok;
	}

	it.s = scheme;
	it.dlen = alg_len(scheme->alg);
	if ((r = get_header(req, scheme->sig_header, SIG_HEADER_MAX,
	    &it.v)) <= 0) {
		res = r < 0 ? VERIFY_ERR_MALFORMED : VERIFY_ERR_NO_SIGNATURE;
		goto out;
	}
	while ((r = sigiter_next(&it, got)) > 0)
		ncand++;
	if (r < 0 || ncand == 0) {
		res = VERIFY_ERR_MALFORMED;
		goto out;
	}

	need_ts = scheme->sigfmt == VERIFY_SIG_KV || scheme->ts_header != NULL;
	if (need_ts) {
		if ((res = check_timestamp(scheme, req, &it, &c.ts, &ts)) !=
		    VERIFY_OK)
			goto out;
	}
	if ((res = check_id(scheme, req, &c.id)) != VERIFY_OK)
		goto out;
	if (template_uses(scheme->template_, TOK_METHOD)) {
		res = VERIFY_ERR_INTERNAL;
		if (req->method == NULL ||
		    (c.method.n = strnlen(req->method, METHOD_MAX + 1)) >
		    METHOD_MAX)
			goto out;
		c.method.p = req->method;
	}
	c.body = req->body;
	c.body_len = req->body_len;

	res = VERIFY_ERR_INTERNAL;
	if ((ctx = EVP_MAC_CTX_new(vmac)) == NULL)
		goto out;
	for (i = 0; i < nsecrets; i++) {
		if (!secret_usable(&secrets[i], req->now))
			continue;
		if (mac_compute(ctx, scheme, &secrets[i], &c, macs[i]) != 0)
			goto out;
		have_mac[i] = 1;
	}

	/*
	 * Second walk: every candidate against every secret's MAC, in
	 * constant time per comparison.  Stopping at the first match only
	 * reveals that there was one, which the response says anyway.
	 */
	it.pos = 0;
	it.nts = 0;
	while (index < 0 && sigiter_next(&it, got) > 0)
		for (i = 0; i < nsecrets && index < 0; i++)
			if (have_mac[i] &&
			    CRYPTO_memcmp(got, macs[i], it.dlen) == 0)
				index = (int)i;
	if (index < 0) {
		res = VERIFY_ERR_MISMATCH;
		goto out;
	}
ok:
	res = VERIFY_OK;
	if (info != NULL) {
		info->secret_index = index;
		info->have_timestamp = c.ts.p != NULL;
		info->timestamp = c.ts.p != NULL ? ts : 0;
		memcpy(info->id, c.id.p != NULL ? c.id.p : "", c.id.n);
		info->id[c.id.n] = '\0';
		if (scheme->mode == VERIFY_MODE_HMAC) {
			info->timestamp_signed = c.ts.p != NULL &&
			    template_uses(scheme->template_, TOK_TIMESTAMP);
			info->id_signed = c.id.p != NULL &&
			    template_uses(scheme->template_, TOK_ID);
		}
	}
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(macs, sizeof(macs));
	OPENSSL_cleanse(got, sizeof(got));
	return res;
}
