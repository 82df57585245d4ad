/*
 * ingress.c -- route, bound, verify, store, answer.
 *
 * Every answer body is a fixed string from the table below (202/200 add
 * the event id that rolehook itself assigned); nothing from the request
 * is ever echoed back, so the front door cannot be used to reflect
 * content or probe what it parsed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "rolehook/codec.h"
#include "rolehook/config.h"
#include "rolehook/ingress.h"
#include "rolehook/jsonutil.h"
#include "rolehook/log.h"
#include "rolehook/metrics.h"
#include "rolehook/store.h"
#include "rolehook/verify.h"

#define JSON_TYPE "application/json"
#define JSON_DEPTH 64
#define HOOKS_PREFIX "/hooks/"
#define DELIVERY_ID_MAX 200

static const struct {
	int status;
	const char *body;
} fixed[] = {
	{ 400, "{\"error\":\"bad request\"}\n" },
	{ 401, "{\"error\":\"unauthorized\"}\n" },
	{ 404, "{\"error\":\"not found\"}\n" },
	{ 405, "{\"error\":\"method not allowed\"}\n" },
	{ 411, "{\"error\":\"length required\"}\n" },
	{ 413, "{\"error\":\"payload too large\"}\n" },
	{ 415, "{\"error\":\"unsupported media type\"}\n" },
	{ 500, "{\"error\":\"internal error\"}\n" },
	{ 503, "{\"error\":\"unavailable\"}\n" },
};

/*
 * Where a sender puts its own event id in the body, for senders that do
 * not send an id header (research/hris.md section 4.1; Zendesk webhook
 * envelope "id"; Stripe event "id"; Gusto "uuid").
 */
static const struct {
	const char *preset;
	const char *pointer;
} body_ids[] = {
	{ "zendesk", "/id" },
	{ "stripe", "/id" },
	{ "gusto", "/uuid" },
	{ "deel", "/data/meta/tracking_id" },
};

static void
set_fixed(struct ingress_response *r, int status)
{
	size_t i;

	r->status = status;
	r->content_type = JSON_TYPE;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i].status == status) {
			r->body = fixed[i].body;
			r->body_len = strlen(fixed[i].body);
			return;
		}
	set_fixed(r, 500);
}

static void
set_small(struct ingress_response *r, int status, const char *ctype,
    const char *text)
{
	r->status = status;
	r->content_type = ctype;
	snprintf(r->small, sizeof(r->small), "%s", text);
	r->body = r->small;
	r->body_len = strlen(r->small);
}

void
ingress_response_clear(struct ingress_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->owned);
	resp->owned = NULL;
}

/* Maps "x-hub-signature-256" to the CGI name "HTTP_X_HUB_SIGNATURE_256". */
static const char *
header_lookup(void *ctx, const char *name)
{
	const struct ingress_io *io = ctx;
	char cgi[128];
	size_t i, n = strlen(name);

	if (n + 5 >= sizeof(cgi))
		return NULL;
	memcpy(cgi, "HTTP_", 5);
	for (i = 0; i < n; i++)
		cgi[5 + i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	cgi[5 + n] = '\0';
	return io->param(io->ctx, cgi);
}

/* Content-Length: digits only (RFC 9110 section 8.6), no sign, no spaces. */
static int
parse_length(const char *s, unsigned long long *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return 1; /* absent */
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* application/json or application/<x>+json, parameters allowed. */
static int
is_json_type(const char *ct)
{
	size_t n;
	const char *semi, *plus;

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	semi = strchr(ct, ';');
	n = semi ? (size_t)(semi - ct) : strlen(ct);
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	if (n > 17 && strncasecmp(ct, "application/", 12) == 0) {
		plus = ct + n - 5;
		return strncasecmp(plus, "+json", 5) == 0;
	}
	return 0;
}

/* Reads exactly len bytes; a short body is an error (RFC 9112 6.3). */
static int
read_body(const struct ingress_io *io, unsigned char *buf, size_t len)
{
	size_t off = 0;
	long n;

	while (off < len) {
		n = io->read(io->ctx, buf + off, len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* A delivery id must be short printable ASCII: it goes into logs and keys. */
static int
id_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > DELIVERY_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

static const char *
body_id_pointer(const struct config_source *src)
{
	size_t i;

	if (src->id_pointer != NULL)
		return src->id_pointer;
	for (i = 0; i < sizeof(body_ids) / sizeof(body_ids[0]); i++)
		if (strcmp(body_ids[i].preset, src->scheme.preset) == 0)
			return body_ids[i].pointer;
	return NULL;
}

/*
 * The dedupe key, from signed material only (docs/security.md, "Replay
 * and ordering"): the sender's id header when the signature covers it,
 * else the sender's event id in the body, else "sha256:" + hex SHA-256
 * of the body.  An id header the signature does not cover (GitHub's
 * X-GitHub-Delivery) is never the key: a captured body re-sent with any
 * other id, or none, must land on the key it was first stored under.
 * The body hash, not that of the signed content: senders re-sign retries
 * with a fresh timestamp, and the same body must still dedupe.
 */
static int
delivery_id(const struct config_source *src, const struct verify_info *vi,
    json_object *doc, const unsigned char *body, size_t len, char *out,
    size_t outlen)
{
	const char *ptr = body_id_pointer(src);
	json_object *v = NULL;
	unsigned char md[32];
	unsigned int mdlen = 0;
	const char *s;

	if (vi->id_signed && id_ok(vi->id, strlen(vi->id))) {
		snprintf(out, outlen, "%s", vi->id);
		return 0;
	}
	if (doc != NULL && ptr != NULL && json_pointer_get(doc, ptr, &v) == 0 &&
	    (json_object_is_type(v, json_type_string) ||
	    json_object_is_type(v, json_type_int))) {
		s = json_object_get_string(v);
		if (s != NULL && id_ok(s, strlen(s))) {
			snprintf(out, outlen, "%s", s);
			return 0;
		}
	}
	if (EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md) || outlen < 7 + 2 * sizeof(md) + 1)
		return -1;
	memcpy(out, "sha256:", 7);
	codec_hex_encode(md, sizeof(md), out + 7);
	return 0;
}

/* The headers worth keeping with the event: never signatures or auth. */
static char *
kept_headers(const struct ingress_io *io, const struct verify_scheme *sc)
{
	const char *names[] = { "content-type", "user-agent", sc->ts_header,
		sc->id_header, "x-deel-hmac-label", "x-deel-webhook-version",
		"x-github-event" };
	json_object *o = json_object_new_object();
	const char *v;
	char *res = NULL;
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i] == NULL ||
		    (v = header_lookup((void *)io, names[i])) == NULL)
			continue;
		json_object_object_add(o, names[i],
		    json_object_new_string_len(v, (int)strnlen(v, 512)));
	}
	res = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return res;
}

static void
handle_health(const struct ingress *ig, struct ingress_response *r)
{
	const char *reason = NULL;
	char buf[128];

	/* engine and reason are the store's static strings, never input. */
	if (store_healthy(ig->store, &reason) == 0) {
		metrics_store_up(ig->metrics, 1);
		snprintf(buf, sizeof(buf), "{\"status\":\"ok\",\"engine\":"
		    "\"%s\"}\n", store_engine_name(ig->store));
		set_small(r, 200, JSON_TYPE, buf);
		return;
	}
	metrics_store_up(ig->metrics, 0);
	snprintf(buf, sizeof(buf), "{\"status\":\"unavailable\",\"engine\":"
	    "\"%s\",\"reason\":\"%s\"}\n", store_engine_name(ig->store),
	    reason);
	set_small(r, 503, JSON_TYPE, buf);
	r->retry_after = ig->cfg->server.retry_after_s;
}

static void
count_state(const char *state, long count, void *arg)
{
	metrics_events(arg, state, count);
}

static void
handle_metrics(const struct ingress *ig, struct ingress_response *r)
{
	size_t len = 0;

	metrics_store_up(ig->metrics, store_healthy(ig->store, NULL) == 0);
	/* Counted at scrape time: the worker changes states, not serve. */
	metrics_events_reset(ig->metrics);
	store_count_states(ig->store, count_state, ig->metrics);
	if (ig->metrics == NULL ||
	    (r->owned = metrics_render(ig->metrics, &len)) == NULL) {
		set_fixed(r, 500);
		return;
	}
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4";
	r->body = r->owned;
	r->body_len = len;
}

static void
handle_hook(const struct ingress *ig, const struct ingress_io *io,
    const struct config_source *src, time_t now, struct ingress_response *r)
{
	const struct config *cfg = ig->cfg;
	const char *method = io->param(io->ctx, "REQUEST_METHOD");
	const char *remote = io->param(io->ctx, "REMOTE_ADDR");
	unsigned long long clen = 0;
	unsigned char *body = NULL;
	json_object *doc = NULL;
	struct verify_request vr;
	struct verify_info vi;
	enum verify_result vres;
	struct store_event_in ev;
	enum store_err se;
	char id[DELIVERY_ID_MAX + 80];
	char *headers = NULL;
	int64_t eid = 0;
	int lrc;

	if (method == NULL || strcmp(method, "POST") != 0) {
		set_fixed(r, 405);
		r->allow = "POST";
		goto out;
	}
	lrc = parse_length(io->param(io->ctx, "CONTENT_LENGTH"), &clen);
	if (lrc > 0) {
		set_fixed(r, 411);
		goto out;
	}
	if (lrc < 0) {
		set_fixed(r, 400);
		goto out;
	}
	/* Bound before allocating (CONVENTIONS: cap the body first). */
	if (clen > cfg->server.max_body) {
		set_fixed(r, 413);
		goto out;
	}
	if (src->require_json &&
	    !is_json_type(io->param(io->ctx, "CONTENT_TYPE"))) {
		set_fixed(r, 415);
		goto out;
	}
	if ((body = malloc((size_t)clen + 1)) == NULL) {
		set_fixed(r, 503);
		r->retry_after = cfg->server.retry_after_s;
		goto out;
	}
	if (read_body(io, body, (size_t)clen) != 0) {
		set_fixed(r, 400);
		goto out;
	}
	body[clen] = '\0';

	memset(&vr, 0, sizeof(vr));
	vr.method = method;
	vr.body = body;
	vr.body_len = (size_t)clen;
	vr.header = header_lookup;
	vr.ctx = (void *)io;
	vr.now = now;
	memset(&vi, 0, sizeof(vi));
	vres = verify_request(&src->scheme, src->secrets, src->nsecrets, &vr,
	    &vi);
	if (vres != VERIFY_OK) {
		metrics_verify_failure(ig->metrics, (int)(src - cfg->sources),
		    vres);
		log_kv(LOG_WARN, "signature rejected", "source", src->name,
		    "reason", verify_strerror(vres), "remote", remote,
		    (char *)NULL);
		set_fixed(r, vres == VERIFY_ERR_INTERNAL ? 500 : 401);
		goto out;
	}

	metrics_verified(ig->metrics, (int)(src - cfg->sources),
	    vi.secret_index);

	/* Only now, with the sender authenticated, is the body parsed. */
	if (src->require_json) {
		/* RFC 8259 strictly: the README promises 400 otherwise. */
		doc = json_parse_strict((const char *)body, (size_t)clen,
		    JSON_DEPTH);
		if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
			log_kv(LOG_WARN, "malformed JSON after a valid signature",
			    "source", src->name, (char *)NULL);
			set_fixed(r, 400);
			goto out;
		}
	}
	if (delivery_id(src, &vi, doc, body, (size_t)clen, id,
	    sizeof(id)) != 0 ||
	    (headers = kept_headers(io, &src->scheme)) == NULL) {
		set_fixed(r, 500);
		goto out;
	}

	memset(&ev, 0, sizeof(ev));
	ev.source = src->name;
	ev.delivery_id = id;
	ev.received = now;
	/* Only a timestamp the signature covers may order events. */
	ev.signed_at = vi.timestamp_signed ? vi.timestamp : 0;
	ev.headers_json = headers;
	ev.body = body;
	ev.body_len = (size_t)clen;
	se = store_put(ig->store, &ev, &eid);
	switch (se) {
	case STORE_OK:
	case STORE_DUPLICATE: {
		char buf[96];

		snprintf(buf, sizeof(buf), "{\"status\":\"%s\",\"id\":%lld}\n",
		    se == STORE_OK ? "accepted" : "duplicate", (long long)eid);
		set_small(r, se == STORE_OK ? 202 : 200, JSON_TYPE, buf);
		log_kv(se == STORE_OK ? LOG_DEBUG : LOG_INFO,
		    se == STORE_OK ? "event stored" : "duplicate delivery",
		    "source", src->name, "delivery_id", id, (char *)NULL);
		break;
	}
	case STORE_BUSY:
	case STORE_UNAVAILABLE:
		set_fixed(r, 503);
		r->retry_after = cfg->server.retry_after_s;
		break;
	default:
		set_fixed(r, 500);
		break;
	}
out:
	json_object_put(doc);
	free(headers);
	free(body);
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

void
ingress_handle(const struct ingress *ig, const struct ingress_io *io,
    time_t now, struct ingress_response *resp)
{
	const char *uri, *method, *name, *q;
	const struct config_source *src = NULL;
	struct timespec t0;
	size_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(resp, 0, sizeof(*resp));
	uri = io->param(io->ctx, "DOCUMENT_URI");
	if (uri == NULL)
		uri = io->param(io->ctx, "REQUEST_URI");
	method = io->param(io->ctx, "REQUEST_METHOD");
	if (uri == NULL || method == NULL) {
		set_fixed(resp, 400);
		goto out;
	}
	q = strchr(uri, '?');
	n = q ? (size_t)(q - uri) : strlen(uri);

	if (strncmp(uri, HOOKS_PREFIX, strlen(HOOKS_PREFIX)) == 0 &&
	    n > strlen(HOOKS_PREFIX)) {
		name = uri + strlen(HOOKS_PREFIX);
		src = config_source_find(ig->cfg, name,
		    n - strlen(HOOKS_PREFIX));
		if (src == NULL)
			set_fixed(resp, 404);
		else
			handle_hook(ig, io, src, now, resp);
	} else if ((n == 8 && strncmp(uri, "/healthz", 8) == 0) ||
	    (n == 8 && strncmp(uri, "/metrics", 8) == 0)) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			set_fixed(resp, 405);
			resp->allow = "GET, HEAD";
		} else if (uri[1] == 'h')
			handle_health(ig, resp);
		else
			handle_metrics(ig, resp);
	} else
		set_fixed(resp, 404);
out:
	metrics_request(ig->metrics, src ? (int)(src - ig->cfg->sources) : -1,
	    resp->status, elapsed(&t0));
}
