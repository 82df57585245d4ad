/*
 * config.c -- load and validate rolehook.json.
 *
 * The document is parsed with json-c's non-strict tokener, which accepts
 * comments ("//" and slash-star), so the file can be annotated like jsonc.
 * A second, small lexer then walks the same bytes to reject what json-c
 * lets through silently: duplicate keys (json-c keeps the last value) and
 * text after the top-level object.
 *
 * Every error is one line, "FILE: PATH: message", where PATH is a JSON
 * path ("sources.hr.secrets[0]", "$" for the whole document) and the
 * message says what was expected and what was found.  Secret values never
 * reach a message: where a secret could be the offending value, only its
 * JSON type is named.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "rolehook/config.h"
#include "rolehook/hash.h"
#include "rolehook/jsonutil.h"
#include "rolehook/readall.h"
#include "rolehook/roles.h"
#include "rolehook/secretfile.h"
#include "rolehook/strv.h"
#include "rolehook/zendesk.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_DEPTH 32      /* json-c tokener stack, top level included */
#define CONFIG_MAX_SOURCES 64
#define SECRET_FILE_MAX 4096     /* a webhook secret is tens of bytes */
#define ENV_NAME_MAX 128
#define NAME_MAX_LEN 64          /* [a-z0-9][a-z0-9_-]{0,63} */
#define HEADER_MAX_LEN 64
#define POINTER_MAX_LEN 256
#define PATHLEN 256
#define QUOTELEN 208             /* 48 input bytes, 4 out each, quotes, "..." */
#define QUOTE_SHOWN 48
#define LISTLEN 320
#define DEFAULT_LISTEN "unix:/run/rolehook/serve.sock"
#define LISTEN_MAX 128           /* "unix:" + sun_path, with room */
#define ENV_TAKEN_MAX 512        /* distinct env: names one process takes */

/* Parse state shared by the validators. */
struct ctx {
	const char *fname;
	enum config_secrets secrets;
	char *err;
	size_t errlen;
};

static const char *const top_keys[] = { "store", "server", "sources",
	"zendesk", "policy", "custom_roles", NULL };
static const char *const store_keys[] = { "engine", "path", "dsn",
	"password", "lease_s", "retention_days", "batch_rows", "batch_us",
	"queue_max", "checkpoint_pages", NULL };
static const char *const server_keys[] = { "listen", "socket_mode",
	"socket_group", "threads", "max_body", "backlog", "retry_after_s",
	NULL };
static const char *const source_keys[] = { "preset", "secrets",
	"insecure_inline_secret", "tolerance_s", "insecure_no_replay_window",
	"id_pointer", "normalizer", "require_json", "mapping", "scheme",
	"header", NULL };
static const char *const secret_keys[] = { "secret", "expires", NULL };
static const char *const scheme_keys[] = { "header", "algorithm",
	"encoding", "format", "prefix", "version", "template",
	"timestamp_header", "timestamp_format", "id_header", "key_encoding",
	"tolerance_s", NULL };

/* Index order matches enum verify_alg, verify_enc, ... */
static const char *const alg_names[] = { "sha1", "sha256", "sha512", NULL };
static const char *const enc_names[] = { "hex", "base64", "base64url", NULL };
static const char *const fmt_names[] = { "plain", "list", "kv", NULL };
static const char *const tsfmt_names[] = { "unix", "rfc3339", NULL };
static const char *const keyenc_names[] = { "raw", "base64", NULL };

static void fail(struct ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[CONFIG_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s: %s: %s", c->fname, path, msg);
}

/*
 * Writes s[0..len) into buf as a double-quoted, escaped string, cut at
 * QUOTE_SHOWN bytes.  Config text is not trusted to be printable.
 */
static const char *
quote(char *buf, size_t cap, const char *s, size_t len)
{
	size_t i, o = 0;

	if (cap < 8) {
		if (cap > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; i < len && i < QUOTE_SHOWN && o + 6 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(buf + o, cap - o, "\\x%02x", ch);
			o += 4;
		} else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	if (i < len && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* Names the JSON type of v, for values that may hold a secret. */
static const char *
type_name(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) ? "a number" :
	    json_type_noun(v);
}

/* Describes what was found: scalars by value, containers by type. */
static const char *
describe(char *buf, size_t cap, struct json_object *v)
{
	const char *s;

	switch (json_object_get_type(v)) {
	case json_type_string:
		return quote(buf, cap, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	case json_type_boolean:
	case json_type_int:
	case json_type_double:
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		snprintf(buf, cap, "%.48s", s != NULL ? s : "a number");
		return buf;
	default:
		return type_name(v);
	}
}

/* Appends ".key", or "[\"key\"]" when key is not a plain word. */
static void
path_append_key(char *path, size_t cap, const char *key, size_t keylen)
{
	char q[QUOTELEN];
	size_t i, used = strlen(path);
	int plain = keylen > 0;

	for (i = 0; i < keylen && plain; i++)
		plain = isalnum((unsigned char)key[i]) || key[i] == '_' ||
		    key[i] == '-';
	if (plain)
		snprintf(path + used, cap - used, "%s%.*s", used ? "." : "",
		    (int)keylen, key);
	else
		snprintf(path + used, cap - used, "[%s]",
		    quote(q, sizeof(q), key, keylen));
}

static void
path_key(char *dst, size_t cap, const char *parent, const char *key)
{
	snprintf(dst, cap, "%s", parent);
	path_append_key(dst, cap, key, strlen(key));
}

/* Paths are cut at PATHLEN; a cut path still names the place. */
static void
path_index(char *dst, size_t cap, const char *parent, size_t idx)
{
	size_t used;

	snprintf(dst, cap, "%s", parent);
	used = strlen(dst);
	snprintf(dst + used, cap - used, "[%zu]", idx);
}

/* Writes the NULL-terminated names as "a, b, c" (quoted if q). */
static const char *
join_names(char *buf, size_t cap, const char *const *names, int q)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && used < cap; i++) {
		snprintf(buf + used, cap - used, "%s%s%s%s", i ? ", " : "",
		    q ? "\"" : "", names[i], q ? "\"" : "");
		used += strlen(buf + used);
	}
	return buf;
}

/* Levenshtein distance, for "did you mean"; large when too long. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t row[NAME_MAX_LEN + 1], la = strlen(a), lb = strlen(b), i, j;

	if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/*
 * Returns the known name closest to key if it is a likely typo (two edits
 * away at most, or a shortened/extended form such as "retention" or
 * "threads_max"), or NULL.
 */
static const char *
suggest(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t i, d, bestd = 3, kl = strlen(key), nl;

	for (i = 0; known[i] != NULL; i++) {
		nl = strlen(known[i]);
		d = edit_distance(key, known[i]);
		if (d >= 3 && kl >= 3 && nl >= 3 &&
		    strncmp(key, known[i], kl < nl ? kl : nl) == 0)
			d = 2;
		if (d < bestd) {
			bestd = d;
			best = known[i];
		}
	}
	return best;
}

/* Rejects any key of obj (an object) not in known, naming it. */
static int
check_keys(struct ctx *c, struct json_object *obj, const char *path,
    const char *const *known)
{
	struct json_object_iterator it, end;
	char p[PATHLEN], q[QUOTELEN], list[LISTLEN];
	const char *key, *hint;

	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		if (strv_index(known, key) >= 0)
			continue;
		path_key(p, sizeof(p), path, key);
		quote(q, sizeof(q), key, strlen(key));
		if ((hint = suggest(key, known)) != NULL)
			fail(c, p, "unknown key %s (did you mean \"%s\"?)", q,
			    hint);
		else
			fail(c, p, "unknown key %s; expected one of %s", q,
			    join_names(list, sizeof(list), known, 0));
		return -1;
	}
	return 0;
}

/*
 * Checks that v is an object.  what describes the expectation.  secret:
 * name only the type of what was found.
 */
static int
want_type(struct ctx *c, const char *path, struct json_object *v,
    enum json_type t, const char *what, int secret)
{
	char d[QUOTELEN];

	if (json_object_get_type(v) == t)
		return 0;
	fail(c, path, "expected %s, got %s", what,
	    secret ? type_name(v) : describe(d, sizeof(d), v));
	return -1;
}

/*
 * Checks that v is a non-empty string without NUL bytes; *out borrows it
 * from v.
 */
static int
want_string(struct ctx *c, const char *path, struct json_object *v,
    int secret, const char **out)
{
	const char *s;

	if (want_type(c, path, v, json_type_string, "a string", secret) != 0)
		return -1;
	s = json_object_get_string(v);
	if (s[0] == '\0') {
		fail(c, path, "expected a non-empty string, got \"\"");
		return -1;
	}
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		fail(c, path, "expected a string without NUL bytes (\\u0000)");
		return -1;
	}
	*out = s;
	return 0;
}

/* Looks key up in obj.  Returns 1 with *v (maybe json null) if present. */
static int
member(struct json_object *obj, const char *key, struct json_object **v)
{
	*v = NULL;
	return json_object_object_get_ex(obj, key, v) ? 1 : 0;
}

/* Optional string member; *out unchanged when absent. */
static int
opt_string(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, const char **out)
{
	struct json_object *v;
	char p[PATHLEN];

	if (!member(obj, key, &v))
		return 0;
	path_key(p, sizeof(p), parent, key);
	return want_string(c, p, v, 0, out);
}

/* Optional integer member in [lo, hi]; *out unchanged when absent. */
static int
opt_int(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	struct json_object *v;
	char p[PATHLEN], d[QUOTELEN];
	int64_t n;

	if (!member(obj, key, &v))
		return 0;
	path_key(p, sizeof(p), parent, key);
	if (json_object_get_type(v) != json_type_int)
		goto bad;
	/* Values past INT64_MAX come back clamped, so still out of range. */
	n = json_object_get_int64(v);
	if (n < lo || n > hi)
		goto bad;
	*out = n;
	return 0;
bad:
	fail(c, p, "expected an integer between %lld and %lld, got %s",
	    (long long)lo, (long long)hi, describe(d, sizeof(d), v));
	return -1;
}

static int
opt_int_field(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, int64_t lo, int64_t hi, int *out)
{
	int64_t n = *out;

	if (opt_int(c, obj, parent, key, lo, hi, &n) != 0)
		return -1;
	*out = (int)n;
	return 0;
}

/* Optional boolean member; *out unchanged when absent. */
static int
opt_bool(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, int *out)
{
	struct json_object *v;
	char p[PATHLEN];

	if (!member(obj, key, &v))
		return 0;
	path_key(p, sizeof(p), parent, key);
	if (want_type(c, p, v, json_type_boolean, "true or false", 0) != 0)
		return -1;
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 0;
}

/* Optional member naming one of names; *out is its index. */
static int
opt_enum(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, const char *const *names, int *out)
{
	struct json_object *v;
	char p[PATHLEN], d[QUOTELEN], list[LISTLEN];
	int i;

	if (!member(obj, key, &v))
		return 0;
	path_key(p, sizeof(p), parent, key);
	if (json_object_get_type(v) == json_type_string &&
	    (i = strv_index(names, json_object_get_string(v))) >= 0) {
		*out = i;
		return 0;
	}
	fail(c, p, "expected one of %s, got %s",
	    join_names(list, sizeof(list), names, 1),
	    describe(d, sizeof(d), v));
	return -1;
}

/* Optional member of the given container type (opaque sections). */
static int
opt_container(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, enum json_type t)
{
	struct json_object *v;
	char p[PATHLEN];

	if (!member(obj, key, &v))
		return 0;
	path_key(p, sizeof(p), parent, key);
	return want_type(c, p, v, t,
	    t == json_type_object ? "an object" : "an array", 0);
}

static int
dup_string(struct ctx *c, const char *path, const char *s, char **out)
{
	if ((*out = strdup(s)) == NULL) {
		fail(c, path, "out of memory");
		return -1;
	}
	return 0;
}

/* [a-z0-9][a-z0-9_-]{0,63}: source and normalizer names. */
static int
valid_name(const char *s)
{
	size_t i;

	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= NAME_MAX_LEN)
			return 0;
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	}
	return 1;
}

/* ---------------------------------------------------------------- */
/* store and server                                                 */

static int resolve_secret(struct ctx *c, const char *path, const char *ref,
    int inline_ok, char **out);

static const char *const engine_names[] = { "sqlite", "postgresql", NULL };

/*
 * store.dsn: a libpq connection string or URI.  It must parse (libpq's
 * own parser, so every libpq option, TLS included, passes through), and
 * hold no password: that comes from store.password (file: or env:), so
 * the DSN can sit in a readable config and in logs.
 */
static int
check_dsn(struct ctx *c, const char *dsn)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	int rc = 0;

	if ((opts = PQconninfoParse(dsn, &msg)) == NULL) {
		/* libpq's message may quote the string: not repeated. */
		PQfreemem(msg);
		fail(c, "store.dsn", "expected a libpq connection string such "
		    "as \"postgresql://rolehook@db.example.com:5432/rolehook?"
		    "sslmode=verify-full\" (PostgreSQL manual, \"Connection "
		    "Strings\"); this one does not parse");
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			fail(c, "store.dsn", "holds a password; remove it and "
			    "set store.password to \"file:/path\" or "
			    "\"env:NAME\"");
			rc = -1;
		}
	PQconninfoFree(opts);
	return rc;
}

/* Keys that belong to the other engine are errors, not ignored. */
static int
refuse_key(struct ctx *c, struct json_object *obj, const char *key,
    const char *engine)
{
	struct json_object *v;
	char p[PATHLEN];

	if (!member(obj, key, &v))
		return 0;
	path_key(p, sizeof(p), "store", key);
	fail(c, p, "not used with store.engine \"%s\"", engine);
	return -1;
}

static int
parse_store(struct ctx *c, struct json_object *root, struct config *cfg)
{
	struct json_object *obj, *v;
	const char *s = NULL;
	int engine = STORE_SQLITE;

	if (!member(root, "store", &obj)) {
		fail(c, "store", "missing; expected an object with at least "
		    "\"path\"");
		return -1;
	}
	if (want_type(c, "store", obj, json_type_object, "an object", 0) != 0 ||
	    check_keys(c, obj, "store", store_keys) != 0 ||
	    opt_enum(c, obj, "store", "engine", engine_names, &engine) != 0)
		return -1;
	cfg->store.engine = (enum store_engine)engine;
	if (engine == STORE_POSTGRESQL) {
		if (refuse_key(c, obj, "path", "postgresql") != 0 ||
		    refuse_key(c, obj, "checkpoint_pages", "postgresql") != 0)
			return -1;
		if (!member(obj, "dsn", &v)) {
			fail(c, "store.dsn", "missing; expected a libpq "
			    "connection string such as \"postgresql://"
			    "rolehook@db.example.com:5432/rolehook\"");
			return -1;
		}
		if (want_string(c, "store.dsn", v, 1, &s) != 0 ||
		    check_dsn(c, s) != 0 ||
		    dup_string(c, "store.dsn", s, &cfg->store.dsn) != 0)
			return -1;
		s = NULL;
		if (member(obj, "password", &v) &&
		    (want_string(c, "store.password", v, 1, &s) != 0 ||
		    dup_string(c, "store.password", s,
		    &cfg->store.password_ref) != 0 ||
		    resolve_secret(c, "store.password", s, 0,
		    &cfg->store.password) != 0))
			return -1;
		if (opt_int_field(c, obj, "store", "lease_s", 5, 3600,
		    &cfg->store.lease_s) != 0)
			return -1;
	} else {
		if (refuse_key(c, obj, "dsn", "sqlite") != 0 ||
		    refuse_key(c, obj, "password", "sqlite") != 0 ||
		    refuse_key(c, obj, "lease_s", "sqlite") != 0)
			return -1;
		if (!member(obj, "path", &v)) {
			fail(c, "store.path", "missing; expected the database "
			    "path as a string");
			return -1;
		}
		if (want_string(c, "store.path", v, 0, &s) != 0 ||
		    dup_string(c, "store.path", s, &cfg->store.path) != 0)
			return -1;
		if (opt_int_field(c, obj, "store", "checkpoint_pages", 8,
		    1000000, &cfg->store.checkpoint_pages) != 0)
			return -1;
	}
	if (opt_int_field(c, obj, "store", "retention_days", 1, 3650,
	    &cfg->store.retention_days) != 0 ||
	    opt_int_field(c, obj, "store", "batch_rows", 1, 1024,
	    &cfg->store.batch_rows) != 0 ||
	    opt_int_field(c, obj, "store", "batch_us", 0, 100000,
	    &cfg->store.batch_us) != 0 ||
	    opt_int_field(c, obj, "store", "queue_max", 1, 1000000,
	    &cfg->store.queue_max) != 0)
		return -1;
	return 0;
}

enum listen_kind {
	LISTEN_OK = 0,   /* unix socket or IPv4 loopback */
	LISTEN_SYNTAX,   /* neither "unix:/path" nor "HOST:PORT" */
	LISTEN_PUBLIC,   /* a valid IPv4 address outside 127.0.0.0/8 */
	LISTEN_IPV6      /* "[...]:PORT": serve binds IPv4 only */
};

/*
 * Classifies server.listen: "unix:/abs/path" (fits sun_path),
 * "A.B.C.D:PORT" with A = 127, or "localhost:PORT", which is written to
 * norm as "127.0.0.1:PORT" so nothing resolves the name later (an
 * /etc/hosts entry could point it elsewhere).  norm holds s otherwise.
 */
static enum listen_kind
classify_listen(const char *s, char *norm, size_t cap)
{
	struct sockaddr_un sun;
	struct in_addr in;
	char host[INET_ADDRSTRLEN];
	const char *colon;
	size_t hlen, i, plen;
	unsigned long port;

	snprintf(norm, cap, "%s", s);
	if (strncmp(s, "unix:", 5) == 0)
		return s[5] == '/' && strlen(s + 5) < sizeof(sun.sun_path) ?
		    LISTEN_OK : LISTEN_SYNTAX;
	if ((colon = strrchr(s, ':')) == NULL)
		return LISTEN_SYNTAX;
	plen = strlen(colon + 1);
	if (plen == 0 || plen > 5)
		return LISTEN_SYNTAX;
	for (i = 0; i < plen; i++)
		if (!isdigit((unsigned char)colon[1 + i]))
			return LISTEN_SYNTAX;
	port = strtoul(colon + 1, NULL, 10);
	if (port < 1 || port > 65535)
		return LISTEN_SYNTAX;
	if (s[0] == '[' && colon > s && colon[-1] == ']')
		return LISTEN_IPV6;
	hlen = (size_t)(colon - s);
	if (hlen == 9 && strncmp(s, "localhost", 9) == 0) {
		snprintf(norm, cap, "127.0.0.1:%lu", port);
		return LISTEN_OK;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return LISTEN_SYNTAX;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	/* inet_pton: dotted-quad decimal only, no octal. */
	if (inet_pton(AF_INET, host, &in) != 1)
		return LISTEN_SYNTAX;
	return (ntohl(in.s_addr) >> 24) == 127 ? LISTEN_OK : LISTEN_PUBLIC;
}

/*
 * server.socket_group: a group name (or numeric gid) that serve gives
 * its unix socket, so nginx's group can connect while serve's primary
 * group stays its own.  Only the syntax here; serve resolves the name
 * when it binds (the group may not exist where "check" runs).
 */
static int
parse_socket_group(struct ctx *c, struct json_object *obj,
    struct config *cfg)
{
	const char *g = NULL;
	char d[QUOTELEN];
	size_t i, n;

	if (opt_string(c, obj, "server", "socket_group", &g) != 0)
		return -1;
	if (g == NULL)
		return 0;
	n = strlen(g);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)g[i]) && g[i] != '_' &&
		    g[i] != '-' && g[i] != '.')
			break;
	if (i != n || n > 32 || g[0] == '-') {
		fail(c, "server.socket_group", "expected a group name like "
		    "\"www-data\" (letters, digits, '_', '-', '.'; at most "
		    "32) or a numeric gid, got %s", quote(d, sizeof(d), g, n));
		return -1;
	}
	if (strncmp(cfg->server.listen, "unix:", 5) != 0) {
		fail(c, "server.socket_group", "only for a unix socket "
		    "(server.listen \"unix:/path\"), not %s",
		    quote(d, sizeof(d), cfg->server.listen,
		    strlen(cfg->server.listen)));
		return -1;
	}
	return dup_string(c, "server.socket_group", g,
	    &cfg->server.socket_group);
}

static int
parse_server(struct ctx *c, struct json_object *root, struct config *cfg)
{
	struct json_object *obj;
	const char *listen = DEFAULT_LISTEN, *mode = NULL;
	char d[QUOTELEN], norm[LISTEN_MAX];
	int64_t max_body = (int64_t)cfg->server.max_body;
	size_t i;

	if (!member(root, "server", &obj))
		return dup_string(c, "server.listen", listen,
		    &cfg->server.listen);
	if (want_type(c, "server", obj, json_type_object, "an object",
	    0) != 0 || check_keys(c, obj, "server", server_keys) != 0 ||
	    opt_string(c, obj, "server", "listen", &listen) != 0)
		return -1;
	/*
	 * The FastCGI socket is unauthenticated: whoever reaches it can set
	 * any CGI parameter nginx would (REMOTE_ADDR, the request URI) and
	 * skip nginx's limits.  Only nginx on this host may reach it.
	 */
	switch (classify_listen(listen, norm, sizeof(norm))) {
	case LISTEN_OK:
		break;
	case LISTEN_PUBLIC:
		fail(c, "server.listen", "%s is not a loopback address: the "
		    "FastCGI socket has no authentication of its own, so it "
		    "must be reachable from this host only; use "
		    "\"unix:/run/rolehook/serve.sock\" or \"127.0.0.1:PORT\"",
		    quote(d, sizeof(d), listen, strlen(listen)));
		return -1;
	case LISTEN_IPV6:
		fail(c, "server.listen", "IPv6 addresses are not supported "
		    "(serve binds IPv4 only), got %s; use "
		    "\"unix:/run/rolehook/serve.sock\" or \"127.0.0.1:PORT\"",
		    quote(d, sizeof(d), listen, strlen(listen)));
		return -1;
	default:
		fail(c, "server.listen", "expected \"unix:/absolute/path\" or "
		    "a loopback \"127.0.0.1:PORT\" (127.0.0.0/8 or "
		    "localhost), got %s",
		    quote(d, sizeof(d), listen, strlen(listen)));
		return -1;
	}
	if (dup_string(c, "server.listen", norm, &cfg->server.listen) != 0)
		return -1;
	if (opt_string(c, obj, "server", "socket_mode", &mode) != 0 ||
	    parse_socket_group(c, obj, cfg) != 0)
		return -1;
	if (mode != NULL) {
		size_t n = strlen(mode);
		unsigned long m;

		for (i = 0; i < n; i++)
			if (mode[i] < '0' || mode[i] > '7')
				break;
		m = (i == n && n <= 4) ? strtoul(mode, NULL, 8) : 01000;
		if (m > 0777) {
			fail(c, "server.socket_mode", "expected an octal mode "
			    "string like \"0660\" (at most \"0777\"), got %s",
			    quote(d, sizeof(d), mode, n));
			return -1;
		}
		cfg->server.socket_mode = (mode_t)m;
	}
	if (opt_int_field(c, obj, "server", "threads", 1, 256,
	    &cfg->server.threads) != 0 ||
	    opt_int(c, obj, "server", "max_body", 1024, 67108864,
	    &max_body) != 0 ||
	    opt_int_field(c, obj, "server", "backlog", 1, 65535,
	    &cfg->server.backlog) != 0 ||
	    opt_int_field(c, obj, "server", "retry_after_s", 1, 3600,
	    &cfg->server.retry_after_s) != 0)
		return -1;
	cfg->server.max_body = (size_t)max_body;
	return 0;
}

/* ---------------------------------------------------------------- */
/* sources                                                          */

/* Keeps s (a copy) for the source's lifetime; the scheme points at it. */
static int
own_string(struct ctx *c, const char *path, struct config_source *src,
    const char *s, int lower, const char **out)
{
	char *copy;

	if (src->nowned == sizeof(src->owned) / sizeof(src->owned[0])) {
		fail(c, path, "too many scheme strings (internal limit)");
		return -1;
	}
	if (dup_string(c, path, s, &copy) != 0)
		return -1;
	if (lower)
		str_lower(copy);
	src->owned[src->nowned++] = copy;
	*out = copy;
	return 0;
}

/*
 * Optional HTTP header name, stored lower case (verify.h: schemes name
 * headers in lower case, as HTTP/2 sends them).
 * Underscores are refused: nginx drops such headers by default
 * (underscores_in_headers off), so the signature would never arrive.
 */
static int
opt_header(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, struct config_source *src, const char **out)
{
	const char *s = NULL;
	char p[PATHLEN], d[QUOTELEN];
	size_t i, n;

	if (opt_string(c, obj, parent, key, &s) != 0)
		return -1;
	if (s == NULL)
		return 0;
	path_key(p, sizeof(p), parent, key);
	n = strlen(s);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			break;
	if (i < n || n > HEADER_MAX_LEN) {
		fail(c, p, "expected an HTTP header name (letters, digits and "
		    "'-', at most %d), got %s", HEADER_MAX_LEN,
		    quote(d, sizeof(d), s, n));
		return -1;
	}
	return own_string(c, p, src, s, 1, out);
}

/* Optional free-form scheme string (prefix, version, template). */
static int
opt_scheme_string(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, struct config_source *src, const char **out)
{
	const char *s = NULL;
	char p[PATHLEN];

	if (opt_string(c, obj, parent, key, &s) != 0)
		return -1;
	if (s == NULL)
		return 0;
	path_key(p, sizeof(p), parent, key);
	return own_string(c, p, src, s, 0, out);
}

/* A fully custom HMAC scheme from sources.NAME.scheme. */
static int
parse_custom_scheme(struct ctx *c, struct json_object *obj,
    const char *path, struct config_source *src)
{
	struct verify_scheme *s = &src->scheme;
	char p[PATHLEN];
	int alg = VERIFY_SHA256, enc = VERIFY_HEX, fmt = VERIFY_SIG_PLAIN;
	int tsfmt = -1, keyenc = VERIFY_KEY_RAW, tol = -1;

	if (want_type(c, path, obj, json_type_object, "an object", 0) != 0 ||
	    check_keys(c, obj, path, scheme_keys) != 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->preset = "custom";
	s->mode = VERIFY_MODE_HMAC;
	s->template_ = "{body}";
	if (opt_header(c, obj, path, "header", src, &s->sig_header) != 0)
		return -1;
	if (s->sig_header == NULL) {
		path_key(p, sizeof(p), path, "header");
		fail(c, p, "missing; a custom scheme needs the name of the "
		    "signature header");
		return -1;
	}
	if (opt_enum(c, obj, path, "algorithm", alg_names, &alg) != 0 ||
	    opt_enum(c, obj, path, "encoding", enc_names, &enc) != 0 ||
	    opt_enum(c, obj, path, "format", fmt_names, &fmt) != 0 ||
	    opt_scheme_string(c, obj, path, "prefix", src, &s->prefix) != 0 ||
	    opt_scheme_string(c, obj, path, "version", src, &s->version) != 0 ||
	    opt_scheme_string(c, obj, path, "template", src,
	    &s->template_) != 0 ||
	    opt_header(c, obj, path, "timestamp_header", src,
	    &s->ts_header) != 0 ||
	    opt_enum(c, obj, path, "timestamp_format", tsfmt_names,
	    &tsfmt) != 0 ||
	    opt_header(c, obj, path, "id_header", src, &s->id_header) != 0 ||
	    opt_enum(c, obj, path, "key_encoding", keyenc_names,
	    &keyenc) != 0 ||
	    opt_int_field(c, obj, path, "tolerance_s", 0, 86400, &tol) != 0)
		return -1;
	s->alg = (enum verify_alg)alg;
	s->enc = (enum verify_enc)enc;
	s->sigfmt = (enum verify_sigfmt)fmt;
	s->keyenc = (enum verify_keyenc)keyenc;
	if (tsfmt >= 0)
		s->tsfmt = tsfmt == 0 ? VERIFY_TS_UNIX : VERIFY_TS_RFC3339;
	else
		s->tsfmt = s->ts_header != NULL ? VERIFY_TS_UNIX :
		    VERIFY_TS_NONE;
	/* A timestamp without a window would not stop replays: 300 s is
	 * what Standard Webhooks and Stripe use.  The kv format always
	 * carries a signed t= (Stripe), with or without a timestamp header. */
	if (tol >= 0)
		s->tolerance_s = tol;
	else
		s->tolerance_s = (s->tsfmt != VERIFY_TS_NONE ||
		    s->sigfmt == VERIFY_SIG_KV) ? 300 : 0;
	return 0;
}

/* RFC 6901: "/a/b~1c", where '~' is followed by 0 or 1. */
static int
valid_pointer(const char *s)
{
	size_t i;

	if (s[0] != '/' || strlen(s) > POINTER_MAX_LEN)
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (s[i] == '~' && s[i + 1] != '0' && s[i + 1] != '1')
			return 0;
	return 1;
}

/*
 * Optional string member key that valid() accepts, copied to *out (the
 * config owns it); anything else fails with "expected <what>".
 */
static int
opt_valid(struct ctx *c, struct json_object *obj, const char *parent,
    const char *key, int (*valid)(const char *), const char *what,
    char **out)
{
	char p[PATHLEN], d[QUOTELEN];
	const char *s = NULL;

	if (opt_string(c, obj, parent, key, &s) != 0)
		return -1;
	if (s == NULL)
		return 0;
	path_key(p, sizeof(p), parent, key);
	if (!valid(s)) {
		fail(c, p, "expected %s, got %s", what,
		    quote(d, sizeof(d), s, strlen(s)));
		return -1;
	}
	return dup_string(c, p, s, out);
}

/*
 * Reads a secret file into a malloc'd NUL-terminated string (caller wipes
 * and frees): secretfile_read's rules, then not empty and no NUL byte.
 */
static int
read_secret_file(struct ctx *c, const char *path, const char *fpath,
    char **out)
{
	char e[CONFIG_ERRLEN];
	size_t n;

	if (secretfile_read(fpath, "secret file", SECRET_FILE_MAX, 0, out, &n,
	    e, sizeof(e)) != 0) {
		fail(c, path, "%s", e);
		return -1;
	}
	if (n == 0)
		fail(c, path, "secret file %s is empty", fpath);
	else if (memchr(*out, '\0', n) != NULL)
		fail(c, path, "secret file %s contains a NUL byte", fpath);
	else
		return 0;
	OPENSSL_clear_free(*out, n);
	*out = NULL;
	return -1;
}

/*
 * env: secrets leave the environment once read.  A variable left in
 * environ is inherited by every child, and Linux shows the original
 * environment block (on the stack, not environ) in /proc/PID/environ for
 * the life of the process.  So the first read of NAME copies the value
 * into the process-local table below, unsetenv()s NAME and then wipes
 * the "NAME=value" bytes that lie in the original block.  Strings that
 * setenv() made are on the heap, not shown there, and left alone: glibc
 * keeps them in a search tree ordered by their content.
 *
 * The table makes a second load in the same process work (check then
 * serve in one test, `work` reading the Zendesk credential after the
 * config, a load retried after an error): NAME is then served from the
 * table, unless it has been set again since, in which case the new value
 * wins and is taken the same way.  Copies live as long as the process,
 * as the loaded keys do.  unsetenv() is not safe against getenv() in
 * another thread: every caller loads its config before it starts threads
 * (serve, work, report, roles); the mutex guards the table only.
 */
struct env_taken {
	char name[ENV_NAME_MAX + 1];
	char *value;
};

static struct env_taken env_taken[ENV_TAKEN_MAX];
static size_t nenv_taken;
static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;

extern char **environ;

/*
 * The bounds of this process's original environment block: fields 50
 * and 51 (env_start, env_end) of /proc/self/stat, Linux 3.5 and later
 * (proc(5)).  Returns 0, or -1 where they cannot be read.
 */
static int
env_block(uintptr_t *lo, uintptr_t *hi)
{
	char buf[2048], *p, *e;
	unsigned long long v;
	size_t got = 0;
	ssize_t r;
	int fd, field = 2, found = 0;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got < sizeof(buf) - 1) {
		r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	/* Field 2 is "(comm)", which may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	for (p++; *p != '\0' && found < 2;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		field++;
		if (field == 50 || field == 51) {
			errno = 0;
			v = strtoull(p, &e, 10);
			if (errno != 0 || e == p)
				return -1;
			*(field == 50 ? lo : hi) = (uintptr_t)v;
			found++;
		}
		while (*p != '\0' && *p != ' ' && *p != '\n')
			p++;
	}
	return found == 2 && *lo < *hi ? 0 : -1;
}

/* Takes env:NAME as described above; *out is a malloc'd copy. */
static int
take_env_secret(struct ctx *c, const char *path, const char *name,
    char **out)
{
	struct env_taken *t = NULL;
	char *orig[8], *copy = NULL, **ep;
	const char *val;
	uintptr_t lo = 0, hi = 0;
	size_t i, len = strlen(name), norig = 0;
	int rc = -1, block;

	pthread_mutex_lock(&env_lock);
	for (i = 0; i < nenv_taken; i++)
		if (strcmp(env_taken[i].name, name) == 0) {
			t = &env_taken[i];
			break;
		}
	if ((val = getenv(name)) == NULL) {
		if (t == NULL)
			fail(c, path, "environment variable %s is not set",
			    name);
		else
			rc = dup_string(c, path, t->value, out);
		goto out;
	}
	if (val[0] == '\0') {
		fail(c, path, "environment variable %s is empty", name);
		goto out;
	}
	if (t == NULL && nenv_taken == ENV_TAKEN_MAX) {
		fail(c, path, "more than %d env: secrets in one process",
		    ENV_TAKEN_MAX);
		goto out;
	}
	if (dup_string(c, path, val, &copy) != 0 ||
	    dup_string(c, path, val, out) != 0)
		goto out;
	if (t == NULL) {
		t = &env_taken[nenv_taken++];
		snprintf(t->name, sizeof(t->name), "%s", name);
	} else
		OPENSSL_clear_free(t->value, strlen(t->value));
	t->value = copy;
	copy = NULL;
	block = env_block(&lo, &hi) == 0;
	for (ep = environ; block && ep != NULL && *ep != NULL; ep++)
		if (strncmp(*ep, name, len) == 0 && (*ep)[len] == '=' &&
		    (uintptr_t)*ep >= lo && (uintptr_t)*ep < hi &&
		    norig < sizeof(orig) / sizeof(orig[0]))
			orig[norig++] = *ep;
	/* First out of environ (unsetenv finds entries by name), then the
	 * bytes, which nothing points at any more. */
	unsetenv(name);
	for (i = 0; i < norig; i++)
		OPENSSL_cleanse(orig[i], strlen(orig[i]));
	rc = 0;
out:
	pthread_mutex_unlock(&env_lock);
	secretfile_free(copy);
	return rc;
}

/*
 * Resolves one secret reference.  With CONFIG_SECRETS_RESOLVE *out is a
 * malloc'd copy of the secret (caller wipes it); with CONFIG_SECRETS_SKIP
 * only the syntax is checked and *out stays NULL.
 */
static int
resolve_secret(struct ctx *c, const char *path, const char *ref,
    int inline_ok, char **out)
{
	char d[QUOTELEN];
	const char *name;
	size_t i, len;

	*out = NULL;
	if (strncmp(ref, "file:", 5) == 0) {
		if (ref[5] != '/') {
			fail(c, path, "expected \"file:/absolute/path\", "
			    "got %s", quote(d, sizeof(d), ref, strlen(ref)));
			return -1;
		}
		if (c->secrets == CONFIG_SECRETS_SKIP)
			return 0;
		return read_secret_file(c, path, ref + 5, out);
	}
	if (strncmp(ref, "env:", 4) == 0) {
		name = ref + 4;
		len = strlen(name);
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)name[i]) && name[i] != '_')
				break;
		if (len == 0 || len > ENV_NAME_MAX || i < len ||
		    isdigit((unsigned char)name[0])) {
			fail(c, path, "expected \"env:NAME\" with NAME made of "
			    "letters, digits and '_', got %s",
			    quote(d, sizeof(d), ref, strlen(ref)));
			return -1;
		}
		if (c->secrets == CONFIG_SECRETS_SKIP)
			return 0;
		return take_env_secret(c, path, name, out);
	}
	if (!inline_ok) {
		fail(c, path, "secrets must be file: or env: references");
		return -1;
	}
	if (c->secrets == CONFIG_SECRETS_SKIP)
		return 0;
	return dup_string(c, path, ref, out);
}

int
config_resolve_secret(const struct config *cfg, const char *where,
    const char *ref, char **out, char *err, size_t errlen)
{
	struct ctx c;

	c.fname = cfg->path != NULL ? cfg->path : "(config)";
	c.secrets = CONFIG_SECRETS_RESOLVE;
	c.err = err;
	c.errlen = errlen;
	return resolve_secret(&c, where, ref, 0, out);
}

/* One entry of "secrets": "REF" or {"secret": "REF", "expires": T}. */
static int
parse_secret(struct ctx *c, struct json_object *v, const char *path,
    int inline_ok, struct config_source *src, const char **refout)
{
	struct json_object *ref = v, *exp;
	struct verify_secret sec = { NULL, 0, 0 };
	const char *s = NULL, *what;
	char p[PATHLEN], d[QUOTELEN], *plain = NULL;
	int rc = -1;

	if (json_object_get_type(v) == json_type_object) {
		if (check_keys(c, v, path, secret_keys) != 0)
			goto out;
		path_key(p, sizeof(p), path, "secret");
		if (!member(v, "secret", &ref)) {
			fail(c, p, "missing; expected a file: or env: "
			    "reference");
			goto out;
		}
		if (member(v, "expires", &exp)) {
			const char *ts = NULL;

			path_key(p, sizeof(p), path, "expires");
			if (want_string(c, p, exp, 0, &ts) != 0)
				goto out;
			if (verify_parse_rfc3339(ts, &sec.expires) != 0) {
				fail(c, p, "expected an RFC 3339 time like "
				    "\"2025-01-31T00:00:00Z\", got %s",
				    quote(d, sizeof(d), ts, strlen(ts)));
				goto out;
			}
		}
		path_key(p, sizeof(p), path, "secret");
	} else if (json_object_get_type(v) == json_type_string) {
		snprintf(p, sizeof(p), "%s", path);
	} else {
		fail(c, path, "expected a \"file:\" or \"env:\" reference or "
		    "an object {\"secret\": ..., \"expires\": ...}, got %s",
		    type_name(v));
		goto out;
	}
	if (want_string(c, p, ref, 1, &s) != 0)
		goto out;
	if (*refout != NULL && strcmp(*refout, s) == 0) {
		fail(c, p, "the same secret as the previous entry; rotation "
		    "needs two different secrets");
		goto out;
	}
	*refout = s;
	if (resolve_secret(c, p, s, inline_ok, &plain) != 0)
		goto out;
	if (plain == NULL) {
		rc = 0; /* CONFIG_SECRETS_SKIP */
		goto out;
	}
	if (strncmp(s, "file:", 5) == 0 || strncmp(s, "env:", 4) == 0)
		what = quote(d, sizeof(d), s, strlen(s));
	else
		what = "the inline secret";
	if (verify_key_decode(src->scheme.keyenc, plain, &sec.key,
	    &sec.len) != 0) {
		fail(c, p, "the secret from %s does not decode as %s", what,
		    src->scheme.keyenc == VERIFY_KEY_BASE64 ?
		    "base64 (with or without a \"whsec_\" prefix), as the "
		    "scheme's key_encoding requires" : "a key");
		goto out;
	}
	if (sec.len == 0) {
		fail(c, p, "the secret from %s decodes to an empty key", what);
		goto out;
	}
	src->secrets[src->nsecrets++] = sec;
	sec.key = NULL;
	rc = 0;
out:
	OPENSSL_clear_free(sec.key, sec.len);
	secretfile_free(plain);
	return rc;
}

static int
parse_secrets(struct ctx *c, struct json_object *obj, const char *path,
    struct config_source *src)
{
	struct json_object *arr;
	const char *prev = NULL;
	char p[PATHLEN];
	int inline_ok = 0;
	size_t i, n;

	if (opt_bool(c, obj, path, "insecure_inline_secret", &inline_ok) != 0)
		return -1;
	path_key(p, sizeof(p), path, "secrets");
	if (!member(obj, "secrets", &arr)) {
		fail(c, p, "missing; expected an array of 1 or %d secret "
		    "references", VERIFY_MAX_SECRETS);
		return -1;
	}
	if (want_type(c, p, arr, json_type_array, "an array of secret "
	    "references", 1) != 0)
		return -1;
	n = json_object_array_length(arr);
	if (n < 1 || n > VERIFY_MAX_SECRETS) {
		fail(c, p, "expected 1 or %d secrets (current, then previous "
		    "during rotation), got %zu", VERIFY_MAX_SECRETS, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char ip[PATHLEN];

		path_index(ip, sizeof(ip), p, i);
		if (parse_secret(c, json_object_array_get_idx(arr, i), ip,
		    inline_ok, src, &prev) != 0)
			return -1;
	}
	return 0;
}

/* Does the scheme take a timestamp from the request (header or t=)? */
static int
scheme_has_ts(const struct verify_scheme *s)
{
	return s->mode == VERIFY_MODE_HMAC &&
	    (s->ts_header != NULL || s->sigfmt == VERIFY_SIG_KV);
}

/*
 * The replay window is only as good as the timestamp it checks: the
 * timestamp must be signed (the template holds {timestamp}, as Standard
 * Webhooks, Stripe and Zendesk sign it), else anyone can replay a
 * captured request with a fresh, unsigned timestamp; and the window must
 * be on, else a captured request verifies for ever.  Turning it off takes
 * "insecure_no_replay_window": true on the source.
 */
static int
check_replay(struct ctx *c, struct json_object *obj, const char *path,
    const struct config_source *src)
{
	const struct verify_scheme *s = &src->scheme;
	struct json_object *v;
	char p[PATHLEN], d[QUOTELEN], h[QUOTELEN + 32];
	int has_ts = scheme_has_ts(s), off = 0;

	if (has_ts && s->template_ != NULL &&
	    strstr(s->template_, "{timestamp}") == NULL) {
		snprintf(p, sizeof(p), "%s", path);
		path_append_key(p, sizeof(p), "scheme", 6);
		path_append_key(p, sizeof(p), "template", 8);
		if (s->sigfmt == VERIFY_SIG_KV)
			snprintf(h, sizeof(h), "the kv format's t=");
		else
			snprintf(h, sizeof(h), "timestamp_header %s",
			    quote(d, sizeof(d), s->ts_header,
			    strlen(s->ts_header)));
		fail(c, p, "%s is a timestamp source but the template %s "
		    "does not sign it: the replay window would check a value "
		    "the sender did not sign; add {timestamp} where the "
		    "sender signs it (e.g. \"{timestamp}.{body}\")", h,
		    quote(d, sizeof(d), s->template_, strlen(s->template_)));
		return -1;
	}
	if (opt_bool(c, obj, path, "insecure_no_replay_window", &off) != 0)
		return -1;
	if (has_ts && s->tolerance_s == 0 && !off) {
		if (member(obj, "tolerance_s", &v))
			path_key(p, sizeof(p), path, "tolerance_s");
		else {
			path_key(p, sizeof(p), path, "scheme");
			path_append_key(p, sizeof(p), "tolerance_s", 11);
		}
		fail(c, p, "0 turns the replay window off for a scheme that "
		    "signs a timestamp: anyone who captures one signed request "
		    "could send it again at any later time and it would "
		    "verify; use a window such as 300, or set "
		    "\"insecure_no_replay_window\": true on the source to "
		    "accept that");
		return -1;
	}
	if (off && !(has_ts && s->tolerance_s == 0)) {
		path_key(p, sizeof(p), path, "insecure_no_replay_window");
		fail(c, p, "only allowed with \"tolerance_s\": 0 on a scheme "
		    "that signs a timestamp; here it would change nothing, so "
		    "remove it");
		return -1;
	}
	return 0;
}

static int
parse_source(struct ctx *c, const char *name, struct json_object *obj,
    struct config_source *src)
{
	const struct verify_scheme *preset;
	const char *const *names;
	struct json_object *v;
	const char *s = NULL, *msg;
	char path[PATHLEN], p[PATHLEN], d[QUOTELEN], list[LISTLEN];
	size_t used;

	path_key(path, sizeof(path), "sources", name);
	src->require_json = 1;
	src->raw = obj;
	if (dup_string(c, path, name, &src->name) != 0)
		return -1;
	if (want_type(c, path, obj, json_type_object, "an object", 0) != 0 ||
	    check_keys(c, obj, path, source_keys) != 0)
		return -1;

	path_key(p, sizeof(p), path, "preset");
	if (!member(obj, "preset", &v)) {
		fail(c, p, "missing; expected a preset name or \"custom\"");
		return -1;
	}
	if (want_string(c, p, v, 0, &s) != 0)
		return -1;
	if (strcmp(s, "custom") == 0) {
		path_key(p, sizeof(p), path, "scheme");
		if (!member(obj, "scheme", &v)) {
			fail(c, p, "missing; \"preset\": \"custom\" needs a "
			    "scheme object");
			return -1;
		}
		if (parse_custom_scheme(c, v, p, src) != 0)
			return -1;
	} else {
		if ((preset = verify_preset(s)) == NULL) {
			names = verify_preset_names();
			join_names(list, sizeof(list), names, 1);
			used = strlen(list);
			snprintf(list + used, sizeof(list) - used,
			    "%s\"custom\"", used ? " or " : "");
			fail(c, p, "expected one of %s, got %s", list,
			    quote(d, sizeof(d), s, strlen(s)));
			return -1;
		}
		src->scheme = *preset;
		if (member(obj, "scheme", &v)) {
			path_key(p, sizeof(p), path, "scheme");
			fail(c, p, "only allowed with \"preset\": \"custom\"");
			return -1;
		}
	}

	if (member(obj, "header", &v) &&
	    src->scheme.mode != VERIFY_MODE_TOKEN) {
		path_key(p, sizeof(p), path, "header");
		fail(c, p, "only the token preset takes a header override; "
		    "custom schemes set it in \"scheme\"");
		return -1;
	}
	if (opt_header(c, obj, path, "header", src,
	    &src->scheme.sig_header) != 0 ||
	    opt_int_field(c, obj, path, "tolerance_s", 0, 86400,
	    &src->scheme.tolerance_s) != 0 ||
	    opt_bool(c, obj, path, "require_json", &src->require_json) != 0 ||
	    opt_container(c, obj, path, "mapping", json_type_object) != 0)
		return -1;

	if (opt_valid(c, obj, path, "id_pointer", valid_pointer,
	    "a JSON pointer like \"/id\" (RFC 6901)", &src->id_pointer) != 0 ||
	    opt_valid(c, obj, path, "normalizer", valid_name,
	    "a normalizer name matching [a-z0-9][a-z0-9_-]{0,63}",
	    &src->normalizer) != 0)
		return -1;

	if (check_replay(c, obj, path, src) != 0)
		return -1;
	if ((msg = verify_scheme_check(&src->scheme)) != NULL) {
		if (strcmp(src->scheme.preset, "custom") == 0)
			path_key(p, sizeof(p), path, "scheme");
		else
			snprintf(p, sizeof(p), "%s", path);
		fail(c, p, "invalid signature scheme: %s", msg);
		return -1;
	}
	/* Last: the key encoding of the final scheme decides decoding. */
	return parse_secrets(c, obj, path, src);
}

static int
parse_sources(struct ctx *c, struct json_object *root, struct config *cfg)
{
	struct json_object_iterator it, end;
	struct json_object *obj;
	char p[PATHLEN], d[QUOTELEN];
	const char *name;
	size_t n, i = 0;

	if (!member(root, "sources", &obj)) {
		fail(c, "sources", "missing; expected an object with 1 to %d "
		    "sources (URL path /hooks/<name>)", CONFIG_MAX_SOURCES);
		return -1;
	}
	if (want_type(c, "sources", obj, json_type_object, "an object", 0) != 0)
		return -1;
	n = (size_t)json_object_object_length(obj);
	if (n < 1 || n > CONFIG_MAX_SOURCES) {
		fail(c, "sources", "expected 1 to %d sources, got %zu",
		    CONFIG_MAX_SOURCES, n);
		return -1;
	}
	if ((cfg->sources = calloc(n, sizeof(*cfg->sources))) == NULL) {
		fail(c, "sources", "out of memory");
		return -1;
	}
	/* Zeroed entries are safe for config_free on any later error. */
	cfg->nsources = n;
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (!valid_name(name)) {
			path_key(p, sizeof(p), "sources", name);
			fail(c, p, "source name %s must match "
			    "[a-z0-9][a-z0-9_-]{0,63} (it is the URL path "
			    "/hooks/<name>)", quote(d, sizeof(d), name,
			    strlen(name)));
			return -1;
		}
		if (parse_source(c, name, json_object_iter_peek_value(&it),
		    &cfg->sources[i++]) != 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- */
/* structure checks json-c does not make                            */

struct span {
	const char *p;
	size_t n;
};

/* Open-addressing set of the raw keys of one object. */
struct keyset {
	struct span *slot;
	size_t cap, n;
};

struct frame {
	int is_obj;
	size_t index;    /* arrays: current element */
	struct span key; /* objects: current key */
	struct keyset set;
};

/* Returns 1 if added, 0 if already present, -1 on allocation failure. */
static int
keyset_add(struct keyset *s, const char *p, size_t n)
{
	struct span *old = s->slot;
	size_t i, j, oldcap = s->cap;

	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;

		if ((s->slot = calloc(ncap, sizeof(*s->slot))) == NULL) {
			s->slot = old;
			return -1;
		}
		s->cap = ncap;
		for (i = 0; i < oldcap; i++) {
			if (old[i].p == NULL)
				continue;
			j = (size_t)hash_fnv1a(old[i].p, old[i].n) & (ncap - 1);
			while (s->slot[j].p != NULL)
				j = (j + 1) & (ncap - 1);
			s->slot[j] = old[i];
		}
		free(old);
	}
	j = (size_t)hash_fnv1a(p, n) & (s->cap - 1);
	while (s->slot[j].p != NULL) {
		if (s->slot[j].n == n && memcmp(s->slot[j].p, p, n) == 0)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j].p = p;
	s->slot[j].n = n;
	s->n++;
	return 1;
}

static void
line_col(const char *t, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (t[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

enum lex {
	LEX_END = 0,
	LEX_OPEN_OBJ,
	LEX_OPEN_ARR,
	LEX_CLOSE,
	LEX_COMMA,
	LEX_COLON,
	LEX_STRING,      /* *str is the text between the quotes, as written */
	LEX_OTHER,       /* one byte of a number or literal */
	LEX_BAD_COMMENT, /* slash-star without its end */
	LEX_ODD_COMMENT, /* a comment end json-c does not see (below) */
	LEX_BAD_STRING   /* string without its closing quote */
};

/*
 * Returns the token at or after *pos, skipping blanks and comments the
 * way json-c's non-strict tokener does (both quote styles, backslash
 * escapes).  *start is where the token begins; *pos moves past it.
 */
static enum lex
lex_next(const char *t, size_t len, size_t *pos, size_t *start,
    struct span *str)
{
	size_t p = *pos;
	char ch;

	for (;;) {
		while (p < len && (t[p] == ' ' || t[p] == '\t' ||
		    t[p] == '\n' || t[p] == '\r'))
			p++;
		*start = p;
		if (p + 1 < len && t[p] == '/' && t[p + 1] == '/') {
			while (p < len && t[p] != '\n')
				p++;
			continue;
		}
		if (p + 1 < len && t[p] == '/' && t[p + 1] == '*') {
			size_t q;

			for (p += 2; p + 1 < len; p++)
				if (t[p] == '*' && t[p + 1] == '/')
					break;
			if (p + 1 >= len) {
				*pos = len;
				return LEX_BAD_COMMENT;
			}
			/*
			 * json-c 0.16 (json_tokener.c, state comment_end)
			 * swallows the byte after every '*' in a comment, so
			 * it misses a "*" "/" whose star follows an odd run of
			 * stars ("/" "***" "/", "** /" without the space) and
			 * reads on, silently dropping the settings after it.
			 */
			for (q = *start + 2; q < p; q += t[q] == '*' ? 2 : 1)
				;
			if (q != p) {
				*pos = p;
				return LEX_ODD_COMMENT;
			}
			p += 2;
			continue;
		}
		break;
	}
	if (p >= len) {
		*pos = len;
		return LEX_END;
	}
	ch = t[p++];
	*pos = p;
	switch (ch) {
	case '{':
		return LEX_OPEN_OBJ;
	case '[':
		return LEX_OPEN_ARR;
	case '}':
	case ']':
		return LEX_CLOSE;
	case ',':
		return LEX_COMMA;
	case ':':
		return LEX_COLON;
	case '"':
	case '\'':
		str->p = t + p;
		while (p < len && t[p] != ch)
			p += t[p] == '\\' ? 2 : 1;
		if (p >= len) {
			*pos = len;
			return LEX_BAD_STRING;
		}
		str->n = (size_t)(t + p - str->p);
		*pos = p + 1;
		return LEX_STRING;
	default:
		return LEX_OTHER;
	}
}

static void
comment_error(struct ctx *c, const char *t, size_t start, size_t pos,
    enum lex tk)
{
	size_t line, col;

	if (tk == LEX_BAD_COMMENT) {
		line_col(t, start, &line, &col);
		fail(c, "$", "unterminated comment at line %zu, column %zu",
		    line, col);
	} else {
		line_col(t, pos, &line, &col);
		fail(c, "$", "json-c would miss the \"*/\" at line %zu, "
		    "column %zu and read on, dropping the settings after it; "
		    "put a space before \"*/\"", line, col);
	}
}

/*
 * Finds the object the document must be: checks that the first token
 * opens an object and that every comment up to its end is read alike by
 * json-c and by C rules.  *end is the offset just past the object, or len
 * if it never closes (json-c then says where it stops).  json-c is given
 * exactly t[0..*end): when a comment runs into the end of its input
 * inside an open container, json-c 0.16 reports success with an inner
 * value.
 */
static int
find_document(struct ctx *c, const char *t, size_t len, size_t *end)
{
	struct span str;
	size_t pos = 0, start = 0, depth = 0, n;
	enum lex tk;
	int first = 1;

	*end = len;
	while ((tk = lex_next(t, len, &pos, &start, &str)) != LEX_END) {
		if (tk == LEX_BAD_COMMENT || tk == LEX_ODD_COMMENT) {
			comment_error(c, t, start, pos, tk);
			return -1;
		}
		if (first && tk != LEX_OPEN_OBJ)
			goto not_object;
		first = 0;
		if (tk == LEX_OPEN_OBJ || tk == LEX_OPEN_ARR)
			depth++;
		else if (tk == LEX_CLOSE && depth > 0) {
			if (--depth == 0) {
				*end = pos;
				return 0;
			}
		} else if (tk == LEX_BAD_STRING)
			break;
	}
	if (first) {
		fail(c, "$", "expected an object at the top level, got an "
		    "empty document");
		return -1;
	}
	return 0;
not_object:
	if (tk == LEX_OPEN_ARR || tk == LEX_STRING) {
		fail(c, "$", "expected an object at the top level, got %s",
		    tk == LEX_OPEN_ARR ? "an array" : "a string");
		return -1;
	}
	for (n = 0; start + n < len && n < 16 &&
	    (isalnum((unsigned char)t[start + n]) ||
	    strchr("+-.", t[start + n]) != NULL); n++)
		;
	if (n == 0)
		fail(c, "$", "expected an object at the top level");
	else
		fail(c, "$", "expected an object at the top level, got %.*s",
		    (int)n, t + start);
	return -1;
}

/*
 * Walks t[0..len), of which json-c has accepted the start as one object,
 * and rejects duplicate keys (compared as written: "a" and "\u0061" are
 * not caught) and anything but blanks and comments after the object.
 */
static int
scan_document(struct ctx *c, const char *t, size_t len)
{
	struct frame st[CONFIG_MAX_DEPTH + 1];
	struct span pend = { NULL, 0 }, str = { NULL, 0 };
	char p[PATHLEN], q[QUOTELEN];
	size_t depth = 0, pos = 0, i, line, col, start = 0;
	enum lex tk;
	int done = 0, rc = -1, r;

	while ((tk = lex_next(t, len, &pos, &start, &str)) != LEX_END) {
		if (tk == LEX_BAD_COMMENT || tk == LEX_ODD_COMMENT) {
			comment_error(c, t, start, pos, tk);
			goto out;
		}
		if (done) {
			line_col(t, start, &line, &col);
			fail(c, "$", "unexpected text after the top-level "
			    "object at line %zu, column %zu", line, col);
			goto out;
		}
		switch (tk) {
		case LEX_OPEN_OBJ:
		case LEX_OPEN_ARR:
			if (depth == CONFIG_MAX_DEPTH + 1)
				goto bad;
			memset(&st[depth], 0, sizeof(st[depth]));
			st[depth++].is_obj = tk == LEX_OPEN_OBJ;
			pend.p = NULL;
			break;
		case LEX_CLOSE:
			if (depth == 0)
				goto bad;
			free(st[--depth].set.slot);
			done = depth == 0;
			pend.p = NULL;
			break;
		case LEX_COMMA:
			if (depth > 0 && !st[depth - 1].is_obj)
				st[depth - 1].index++;
			pend.p = NULL;
			break;
		case LEX_COLON:
			if (depth > 0 && st[depth - 1].is_obj &&
			    pend.p != NULL) {
				struct frame *f = &st[depth - 1];

				f->key = pend;
				r = keyset_add(&f->set, pend.p, pend.n);
				if (r < 0) {
					fail(c, "$", "out of memory");
					goto out;
				}
				if (r == 0)
					goto dup;
			}
			pend.p = NULL;
			break;
		case LEX_STRING:
			pend = str;
			break;
		default:
			/* LEX_BAD_STRING cannot follow json-c's success. */
			if (tk == LEX_BAD_STRING)
				goto bad;
			pend.p = NULL;
			break;
		}
	}
	if (!done)
		goto bad;
	rc = 0;
	goto out;
dup:
	p[0] = '\0';
	for (i = 0; i < depth; i++) {
		size_t used = strlen(p);

		if (st[i].is_obj)
			path_append_key(p, sizeof(p), st[i].key.p, st[i].key.n);
		else
			snprintf(p + used, sizeof(p) - used, "[%zu]",
			    st[i].index);
	}
	fail(c, p, "duplicate key %s (only the last one would count)",
	    quote(q, sizeof(q), pend.p, pend.n));
	goto out;
bad:
	/* json-c accepted what this lexer cannot follow: refuse, safely.
	 * The fuzzer treats this message as a bug. */
	line_col(t, start, &line, &col);
	fail(c, "$", "invalid JSON at line %zu, column %zu: unexpected "
	    "structure", line, col);
out:
	while (depth > 0)
		free(st[--depth].set.slot);
	return rc;
}

/* Appends one custom_roles problem to the error, a line each. */
static void
roles_problem(void *arg, const char *msg)
{
	struct ctx *c = arg;
	size_t off;

	if (c->err == NULL || c->errlen == 0)
		return;
	off = strlen(c->err);
	if (off + 1 < c->errlen)
		snprintf(c->err + off, c->errlen - off, "%s%s: %s",
		    off > 0 ? "\n" : "", c->fname, msg);
}

/*
 * The custom_roles section, checked by the roles module (roles_check)
 * for every command, as the zendesk section is.  Unlike the other
 * sections, every problem is reported, one line each ("FILE:
 * custom_roles[1] ("Chatty"): ..."): a role declaration is copied from
 * Zendesk's Admin Center or API docs key by key, and an administrator
 * fixing four keys should see all four at once rather than one per run.
 */
static int
check_custom_roles(struct ctx *c, const struct config *cfg)
{
	struct json_object *v;

	if (!member(cfg->root, "custom_roles", &v))
		return 0;
	if (opt_container(c, cfg->root, "", "custom_roles",
	    json_type_array) != 0)
		return -1;
	if (c->err != NULL && c->errlen > 0)
		c->err[0] = '\0';
	return roles_check(v, roles_problem, c) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- */
/* public API                                                       */

/*
 * The zendesk section, validated by the zendesk module (its one reader)
 * for every command that loads the configuration: keys, types, ranges,
 * the base URL, the auth mode, and the form of the credential's
 * reference -- never the credential itself (serve's user cannot read
 * it; work resolves it with zd_conf_load).
 */
static int
check_zendesk(struct ctx *c, const struct config *cfg)
{
	char zerr[ZD_ERRLEN];

	if (!json_object_object_get_ex(cfg->root, "zendesk", NULL))
		return 0;
	if (zd_conf_check(cfg, zerr, sizeof(zerr)) == ZD_OK)
		return 0;
	if (c->err != NULL && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s: %s", c->fname, zerr);
	return -1;
}

/*
 * Parses a config document held in memory.  fname is used in messages
 * and copied into cfg->path.  On success returns 0 and *out (caller frees
 * with config_free); on failure returns -1 with err filled and *out NULL.
 */
int
config_parse(const char *text, size_t len, const char *fname,
    enum config_secrets secrets, struct config **out, char *err,
    size_t errlen)
{
	struct ctx c;
	struct config *cfg = NULL;
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	const char *nul;
	size_t line, col, off, end;
	int rc = -1;

	c.fname = fname != NULL ? fname : "(config)";
	c.secrets = secrets;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*out = NULL;
	if (text == NULL && len > 0) {
		fail(&c, "$", "no text");
		goto out;
	}
	if (len > CONFIG_MAX_BYTES) {
		fail(&c, "$", "the file is larger than %d bytes",
		    CONFIG_MAX_BYTES);
		goto out;
	}
	if (len > 0 && (nul = memchr(text, '\0', len)) != NULL) {
		line_col(text, (size_t)(nul - text), &line, &col);
		fail(&c, "$", "invalid JSON at line %zu, column %zu: NUL byte",
		    line, col);
		goto out;
	}
	/* A UTF-8 byte order mark, as some editors write, is not JSON. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (text == NULL)
		text = "";
	if (find_document(&c, text, len, &end) != 0)
		goto out;
	if ((tok = json_tokener_new_ex(CONFIG_MAX_DEPTH)) == NULL) {
		fail(&c, "$", "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)end);
	if (root == NULL) {
		jerr = json_tokener_get_error(tok);
		off = json_tokener_get_parse_end(tok);
		line_col(text, off < len ? off : len, &line, &col);
		if (jerr == json_tokener_error_depth)
			fail(&c, "$", "invalid JSON at line %zu, column %zu: "
			    "nested more than %d levels deep", line, col,
			    CONFIG_MAX_DEPTH);
		else
			fail(&c, "$", "invalid JSON at line %zu, column %zu: "
			    "%s", line, col, jerr == json_tokener_continue ?
			    "unexpected end of data" :
			    json_tokener_error_desc(jerr));
		goto out;
	}
	if (want_type(&c, "$", root, json_type_object,
	    "an object at the top level", 0) != 0 ||
	    scan_document(&c, text, len) != 0 ||
	    check_keys(&c, root, "", top_keys) != 0)
		goto out;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
		fail(&c, "$", "out of memory");
		goto out;
	}
	cfg->root = root;
	root = NULL;
	cfg->store.retention_days = 30;
	cfg->store.batch_rows = 64;
	cfg->store.batch_us = 200;
	cfg->store.queue_max = 4096;
	cfg->store.checkpoint_pages = 1000;
	cfg->server.socket_mode = 0660;
	cfg->server.threads = 8;
	cfg->server.max_body = 262144;
	cfg->server.backlog = 128;
	cfg->server.retry_after_s = 5;
	if (dup_string(&c, "$", c.fname, &cfg->path) != 0 ||
	    parse_store(&c, cfg->root, cfg) != 0 ||
	    parse_server(&c, cfg->root, cfg) != 0 ||
	    parse_sources(&c, cfg->root, cfg) != 0 ||
	    opt_container(&c, cfg->root, "", "zendesk",
	    json_type_object) != 0 ||
	    check_zendesk(&c, cfg) != 0 ||
	    opt_container(&c, cfg->root, "", "policy",
	    json_type_object) != 0 ||
	    check_custom_roles(&c, cfg) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	rc = 0;
out:
	config_free(cfg);
	json_object_put(root);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

/*
 * Reads path (at most 1 MiB) and calls config_parse with path as the
 * name in messages.  Same contract as config_parse.
 */
int
config_load(const char *path, enum config_secrets secrets,
    struct config **out, char *err, size_t errlen)
{
	struct ctx c;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	c.fname = path;
	c.secrets = secrets;
	c.err = err;
	c.errlen = errlen;
	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		fail(&c, "$", "cannot open: %s", strerror(errno));
		goto out;
	}
	if ((buf = malloc(CONFIG_MAX_BYTES + 1)) == NULL) {
		fail(&c, "$", "out of memory");
		goto out;
	}
	if ((r = readall_fd(fd, buf, CONFIG_MAX_BYTES, &n)) != 0) {
		if (r < 0)
			fail(&c, "$", "cannot read: %s", strerror(errno));
		else
			fail(&c, "$", "the file is larger than %d bytes",
			    CONFIG_MAX_BYTES);
		goto out;
	}
	rc = config_parse(buf, n, path, secrets, out, err, errlen);
out:
	OPENSSL_clear_free(buf, CONFIG_MAX_BYTES + 1);
	if (fd != -1)
		close(fd);
	return rc;
}

/* Frees cfg, wiping every decoded secret.  NULL is a no-op. */
void
config_free(struct config *cfg)
{
	struct config_source *src;
	size_t i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nsources && cfg->sources != NULL; i++) {
		src = &cfg->sources[i];
		for (j = 0; j < src->nsecrets; j++)
			OPENSSL_clear_free(src->secrets[j].key,
			    src->secrets[j].len);
		for (j = 0; j < src->nowned; j++)
			free(src->owned[j]);
		free(src->name);
		free(src->normalizer);
		free(src->id_pointer);
	}
	free(cfg->sources);
	json_object_put(cfg->root);
	free(cfg->server.listen);
	free(cfg->server.socket_group);
	free(cfg->store.path);
	free(cfg->store.dsn);
	free(cfg->store.password_ref);
	secretfile_free(cfg->store.password);
	free(cfg->path);
	free(cfg);
}

int
config_store_open(const struct config *cfg, struct store_opts *so,
    struct store **out, char *err, size_t errlen)
{
	char *pw = NULL, msg[CONFIG_ERRLEN];
	int rc;

	*out = NULL;
	so->engine = cfg->store.engine;
	if (cfg->store.engine == STORE_SQLITE)
		return store_open(cfg->store.path, so, out, err, errlen);
	so->lease_s = cfg->store.lease_s;
	so->password = cfg->store.password;
	if (so->password == NULL && cfg->store.password_ref != NULL) {
		if (config_resolve_secret(cfg, "store.password",
		    cfg->store.password_ref, &pw, err, errlen) != 0)
			return -1;
		so->password = pw;
	}
	rc = store_open(cfg->store.dsn, so, out, msg, sizeof(msg));
	so->password = NULL;
	secretfile_free(pw);
	if (rc != 0)
		snprintf(err, errlen, "%s: store.dsn (postgresql): %s",
		    cfg->path != NULL ? cfg->path : "(config)", msg);
	return rc;
}

/*
 * Finds a source by exact name (name[0..len), not NUL-terminated).
 * Returns a pointer borrowed from cfg, or NULL.
 */
const struct config_source *
config_source_find(const struct config *cfg, const char *name, size_t len)
{
	size_t i;

	if (cfg == NULL || name == NULL)
		return NULL;
	for (i = 0; i < cfg->nsources; i++) {
		const char *s = cfg->sources[i].name;

		if (s != NULL && strlen(s) == len && memcmp(s, name, len) == 0)
			return &cfg->sources[i];
	}
	return NULL;
}
