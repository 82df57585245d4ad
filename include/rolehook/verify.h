/*
 * verify.h -- webhook signature verification (pure: no I/O, no globals
 * beyond the OpenSSL MAC fetched once by verify_init()).
 *
 * A source is described by a struct verify_scheme (usually copied from a
 * built-in preset and then adjusted by config) plus up to two secrets
 * (current and previous, for rotation).  verify_request() checks one
 * request: it never parses the body, only hashes the exact raw bytes.
 */
#ifndef ROLEHOOK_VERIFY_H
#define ROLEHOOK_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define VERIFY_MAX_SECRETS 2
#define VERIFY_MAX_DIGEST 64 /* SHA-512 */
#define VERIFY_ID_MAX 128    /* longest delivery id taken from a header */

enum verify_mode {
	VERIFY_MODE_HMAC = 0, /* HMAC over a signed-content template */
	VERIFY_MODE_TOKEN,    /* header equals secret ("Bearer " optional) */
	VERIFY_MODE_BASIC     /* Authorization: Basic base64(user:pass) */
};

enum verify_alg { VERIFY_SHA1 = 0, VERIFY_SHA256, VERIFY_SHA512 };

enum verify_enc { VERIFY_HEX = 0, VERIFY_BASE64, VERIFY_BASE64URL };

/* How the signature header is laid out. */
enum verify_sigfmt {
	VERIFY_SIG_PLAIN = 0, /* [prefix]<digest> */
	VERIFY_SIG_LIST,      /* space-separated "<version>,<digest>" items
	                       * (Standard Webhooks, Finch) */
	VERIFY_SIG_KV         /* "t=<ts>,v1=<digest>,v1=..." (Stripe) */
};

/* How the configured secret string becomes the HMAC key. */
enum verify_keyenc {
	VERIFY_KEY_RAW = 0, /* the string's bytes as they are */
	VERIFY_KEY_BASE64   /* base64-decoded, optional "whsec_" stripped */
};

enum verify_tsfmt {
	VERIFY_TS_NONE = 0, /* the scheme has no timestamp */
	VERIFY_TS_UNIX,     /* integer seconds since the epoch */
	VERIFY_TS_RFC3339   /* 2021-07-25T10:00:00Z, offsets and fractions ok */
};

/*
 * A scheme.  Header names are lower case with '-' (as HTTP sends them);
 * the caller's header lookup maps them to whatever its transport uses.
 * All strings are borrowed: presets point at static storage, config
 * points at strings it owns for the lifetime of the scheme.
 */
struct verify_scheme {
	const char *preset;     /* preset name, "custom" for custom schemes */
	enum verify_mode mode;
	const char *sig_header; /* e.g. "x-hub-signature-256" */
	enum verify_alg alg;
	enum verify_enc enc;
	enum verify_sigfmt sigfmt;
	const char *prefix;     /* VERIFY_SIG_PLAIN: literal before digest, or NULL */
	const char *version;    /* LIST and KV: the accepted version tag ("v1") */
	/*
	 * Signed content: literal text with the tokens {id}, {timestamp},
	 * {body} and {method}.  "{body}" alone for body-only schemes.
	 */
	const char *template_;
	const char *ts_header;  /* NULL: no timestamp header (KV takes "t=") */
	enum verify_tsfmt tsfmt;
	const char *id_header;  /* delivery id header, or NULL */
	enum verify_keyenc keyenc;
	int tolerance_s;        /* replay window, both ways; 0 = not checked */
};

struct verify_secret {
	unsigned char *key; /* decoded key bytes, owned by whoever filled it */
	size_t len;
	time_t expires;     /* 0 = never; after it the secret is not tried */
};

/* What the verifier needs from one request. */
struct verify_request {
	const char *method;         /* "POST" */
	const unsigned char *body;  /* raw bytes, exactly as received */
	size_t body_len;
	/* Returns the value of a header by lower-case name, or NULL. */
	const char *(*header)(void *ctx, const char *name);
	void *ctx;
	time_t now;
};

enum verify_result {
	VERIFY_OK = 0,
	VERIFY_ERR_NO_SIGNATURE,  /* signature header absent or empty */
	VERIFY_ERR_MALFORMED,     /* signature header unparseable / bad encoding */
	VERIFY_ERR_NO_TIMESTAMP,  /* scheme needs a timestamp, none given */
	VERIFY_ERR_BAD_TIMESTAMP, /* timestamp unparseable */
	VERIFY_ERR_STALE,         /* older than tolerance */
	VERIFY_ERR_FUTURE,        /* newer than tolerance */
	VERIFY_ERR_NO_ID,         /* template needs {id}, header missing or bad */
	VERIFY_ERR_MISMATCH,      /* well-formed, but no secret matches */
	VERIFY_ERR_NO_SECRET,     /* no usable (unexpired) secret configured */
	VERIFY_ERR_INTERNAL,      /* OpenSSL failure; also an invalid scheme
	                           * or arguments, or no verify_init() */
	VERIFY_ERR__MAX
};

/* What a successful verification learned. */
struct verify_info {
	int secret_index;          /* which secret matched (0 current, 1 previous) */
	int have_timestamp;
	time_t timestamp;
	/*
	 * Whether the signature covers the timestamp and the id: only
	 * signed values may decide anything (dedupe, ordering).  An id or
	 * timestamp a captured request can carry with any value is a hint.
	 * Always 0 for VERIFY_MODE_TOKEN and VERIFY_MODE_BASIC, which sign
	 * nothing.
	 */
	int timestamp_signed;
	int id_signed;
	char id[VERIFY_ID_MAX + 1]; /* delivery id from id_header, "" if none */
};

/*
 * Fetches the HMAC implementation once.  Call from main() before
 * threads start.  Returns 0, or -1 if OpenSSL has no HMAC.
 */
int verify_init(void);

/* Releases what verify_init() fetched.  Safe to call when not inited. */
void verify_cleanup(void);

/*
 * Looks up a built-in preset by name ("zendesk", "github", ...).
 * Returns a pointer to static storage, or NULL if there is none.
 */
const struct verify_scheme *verify_preset(const char *name);

/* NULL-terminated list of preset names, for help and error messages. */
const char *const *verify_preset_names(void);

/*
 * Checks req against scheme with the given secrets.  Constant time in
 * the digest comparison; every unexpired secret is tried.  Fills *info
 * (may be NULL) on VERIFY_OK and zeroes it otherwise.  Never reads
 * outside req->body[0..len).  A LIST or KV header without any item of
 * the accepted version is VERIFY_ERR_MALFORMED.  Thread-safe after
 * verify_init(); all pointers are borrowed for the call only.
 */
enum verify_result verify_request(const struct verify_scheme *scheme,
    const struct verify_secret *secrets, size_t nsecrets,
    const struct verify_request *req, struct verify_info *info);

/* Short, stable, lower-case reason ("stale", "mismatch"); for metrics. */
const char *verify_strerror(enum verify_result r);

/*
 * Turns a configured secret string into key bytes as the scheme wants
 * (VERIFY_KEY_BASE64 strips "whsec_" and decodes).  On success *key is
 * malloc'd (caller frees with OPENSSL_clear_free) and 0 is returned;
 * -1 if the secret does not decode.
 */
int verify_key_decode(enum verify_keyenc enc, const char *secret,
    unsigned char **key, size_t *len);

/*
 * Parses an RFC 3339 timestamp ("2021-07-25T10:00:00Z",
 * "2021-07-25T12:00:00.123+02:00").  Returns 0 and sets *out, or -1.
 */
int verify_parse_rfc3339(const char *s, time_t *out);

/*
 * Checks a scheme for internal consistency (known template tokens,
 * a version tag for LIST/KV, ...).  Returns NULL if fine, or a static
 * message naming what is wrong.
 */
const char *verify_scheme_check(const struct verify_scheme *scheme);

#endif
