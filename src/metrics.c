/*
 * metrics.c -- Prometheus text exposition for /metrics.
 *
 * Fixed label sets (sources from config, a closed list of statuses and
 * verification reasons) keep the series count bounded whatever a client
 * sends: a request for an unknown source counts under source="unknown".
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rolehook/metrics.h"

static const int statuses[] = {
	200, 202, 400, 401, 404, 405, 411, 413, 415, 500, 503
};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
#define STATUS_OTHER NSTATUS /* one more slot for anything else */

/* Event states exported as rolehook_events{state=...}. */
static const char *const states[] = { "pending", "retry", "waiting", "held",
	"dead", "done", "ignored", "stale", "cancelled" };
#define NSTATES (sizeof(states) / sizeof(states[0]))

/* Histogram upper bounds in seconds. */
static const double buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
	2.5
};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))

struct metrics {
	const char *const *names;
	size_t nsources;                    /* slot nsources = unknown */
	atomic_ulong *requests;             /* [(nsources+1) * (NSTATUS+1)],
	                                     * owns the block of all three */
	atomic_ulong *verify_fail;          /* [(nsources+1) * VERIFY_ERR__MAX] */
	atomic_ulong *verified;             /* [(nsources+1) * 2] */
	atomic_ulong hist[NBUCKET + 1];     /* last = +Inf */
	atomic_ullong sum_us;
	atomic_ulong count;
	atomic_int store_up;
	atomic_long events[NSTATES];
};

struct metrics *
metrics_new(const char *const *sources, size_t nsources)
{
	struct metrics *m;
	size_t i, nreq, nver, nall;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->names = sources;
	m->nsources = nsources;
	/* The per-source counters, in one block: requests, verify_fail,
	 * verified. */
	nreq = (nsources + 1) * (NSTATUS + 1);
	nver = (nsources + 1) * VERIFY_ERR__MAX;
	nall = nreq + nver + (nsources + 1) * 2;
	if ((m->requests = calloc(nall, sizeof(*m->requests))) == NULL) {
		free(m);
		return NULL;
	}
	m->verify_fail = m->requests + nreq;
	m->verified = m->verify_fail + nver;
	for (i = 0; i < nall; i++)
		atomic_init(&m->requests[i], 0);
	for (i = 0; i <= NBUCKET; i++)
		atomic_init(&m->hist[i], 0);
	atomic_init(&m->sum_us, 0);
	atomic_init(&m->count, 0);
	atomic_init(&m->store_up, 1);
	for (i = 0; i < NSTATES; i++)
		atomic_init(&m->events[i], 0);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m != NULL)
		free(m->requests);   /* the block of every per-source counter */
	free(m);
}

static size_t
source_slot(const struct metrics *m, int source)
{
	return (source < 0 || (size_t)source >= m->nsources) ? m->nsources :
	    (size_t)source;
}

void
metrics_request(struct metrics *m, int source, int status, double seconds)
{
	size_t s, i;

	if (m == NULL)
		return;
	for (s = 0; s < NSTATUS && statuses[s] != status; s++)
		;
	atomic_fetch_add_explicit(&m->requests[source_slot(m, source) *
	    (NSTATUS + 1) + s], 1, memory_order_relaxed);
	for (i = 0; i < NBUCKET && seconds > buckets[i]; i++)
		;
	atomic_fetch_add_explicit(&m->hist[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_us,
	    (unsigned long long)(seconds * 1e6), memory_order_relaxed);
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

void
metrics_verify_failure(struct metrics *m, int source, enum verify_result r)
{
	if (m == NULL || (int)r <= 0 || r >= VERIFY_ERR__MAX)
		return;
	atomic_fetch_add_explicit(&m->verify_fail[source_slot(m, source) *
	    VERIFY_ERR__MAX + (size_t)r], 1, memory_order_relaxed);
}

void
metrics_verified(struct metrics *m, int source, int secret_index)
{
	if (m == NULL || secret_index < 0 || secret_index > 1)
		return;
	atomic_fetch_add_explicit(&m->verified[source_slot(m, source) * 2 +
	    (size_t)secret_index], 1, memory_order_relaxed);
}

void
metrics_events(struct metrics *m, const char *state, long count)
{
	size_t i;

	if (m == NULL || state == NULL)
		return;
	for (i = 0; i < NSTATES; i++)
		if (strcmp(states[i], state) == 0)
			atomic_store_explicit(&m->events[i], count,
			    memory_order_relaxed);
}

void
metrics_events_reset(struct metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < NSTATES; i++)
		atomic_store_explicit(&m->events[i], 0, memory_order_relaxed);
}

void
metrics_store_up(struct metrics *m, int up)
{
	if (m != NULL)
		atomic_store_explicit(&m->store_up, up ? 1 : 0,
		    memory_order_relaxed);
}

/* A bounded growable text buffer; sticky failure flag. */
struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *nb;
	size_t ncap;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		ncap = o->cap * 2 + (size_t)n;
		if (ncap > (16u << 20) || (nb = realloc(o->buf, ncap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
}

static const char *
slot_name(const struct metrics *m, size_t slot)
{
	return slot < m->nsources ? m->names[slot] : "unknown";
}

char *
metrics_render(struct metrics *m, size_t *len)
{
	struct out o = { NULL, 0, 4096, 0 };
	unsigned long v, cum;
	size_t src, s, r, i;

	if ((o.buf = malloc(o.cap)) == NULL)
		return NULL;
	o.buf[0] = '\0';
	out_printf(&o, "# HELP rolehook_requests_total Webhook and admin "
	    "requests answered, by source and HTTP status.\n"
	    "# TYPE rolehook_requests_total counter\n");
	for (src = 0; src <= m->nsources; src++)
		for (s = 0; s <= NSTATUS; s++) {
			v = atomic_load_explicit(&m->requests[src *
			    (NSTATUS + 1) + s], memory_order_relaxed);
			if (v == 0)
				continue;
			if (s < NSTATUS)
				out_printf(&o, "rolehook_requests_total{source=\"%s\","
				    "status=\"%d\"} %lu\n", slot_name(m, src),
				    statuses[s], v);
			else
				out_printf(&o, "rolehook_requests_total{source=\"%s\","
				    "status=\"other\"} %lu\n", slot_name(m, src), v);
		}
	out_printf(&o, "# HELP rolehook_verify_failures_total Signature "
	    "verification failures, by source and reason.\n"
	    "# TYPE rolehook_verify_failures_total counter\n");
	for (src = 0; src <= m->nsources; src++)
		for (r = 1; r < VERIFY_ERR__MAX; r++) {
			v = atomic_load_explicit(&m->verify_fail[src *
			    VERIFY_ERR__MAX + r], memory_order_relaxed);
			if (v != 0)
				out_printf(&o, "rolehook_verify_failures_total{"
				    "source=\"%s\",reason=\"%s\"} %lu\n",
				    slot_name(m, src),
				    verify_strerror((enum verify_result)r), v);
		}
	out_printf(&o, "# HELP rolehook_verified_total Requests whose "
	    "signature verified, by source and the secret that matched.\n"
	    "# TYPE rolehook_verified_total counter\n");
	for (src = 0; src <= m->nsources; src++)
		for (r = 0; r < 2; r++) {
			v = atomic_load_explicit(&m->verified[src * 2 + r],
			    memory_order_relaxed);
			if (v != 0)
				out_printf(&o, "rolehook_verified_total{source="
				    "\"%s\",secret=\"%s\"} %lu\n",
				    slot_name(m, src), r ? "previous" : "current",
				    v);
		}
	out_printf(&o, "# HELP rolehook_request_duration_seconds Time from "
	    "accept to response.\n"
	    "# TYPE rolehook_request_duration_seconds histogram\n");
	for (cum = 0, i = 0; i <= NBUCKET; i++) {
		cum += atomic_load_explicit(&m->hist[i], memory_order_relaxed);
		if (i < NBUCKET)
			out_printf(&o, "rolehook_request_duration_seconds_bucket"
			    "{le=\"%g\"} %lu\n", buckets[i], cum);
		else
			out_printf(&o, "rolehook_request_duration_seconds_bucket"
			    "{le=\"+Inf\"} %lu\n", cum);
	}
	out_printf(&o, "rolehook_request_duration_seconds_sum %.6f\n"
	    "rolehook_request_duration_seconds_count %lu\n",
	    (double)atomic_load_explicit(&m->sum_us, memory_order_relaxed) /
	    1e6, atomic_load_explicit(&m->count, memory_order_relaxed));
	out_printf(&o, "# HELP rolehook_events Stored events by state (held: "
	    "waiting for 'rolehook events approve'; waiting: for their "
	    "effective date; dead: see 'rolehook events dead').\n"
	    "# TYPE rolehook_events gauge\n");
	for (i = 0; i < NSTATES; i++)
		out_printf(&o, "rolehook_events{state=\"%s\"} %ld\n", states[i],
		    atomic_load_explicit(&m->events[i], memory_order_relaxed));
	out_printf(&o, "# HELP rolehook_store_up 1 if the store accepts "
	    "writes.\n# TYPE rolehook_store_up gauge\nrolehook_store_up %d\n",
	    atomic_load_explicit(&m->store_up, memory_order_relaxed));
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	if (len != NULL)
		*len = o.len;
	return o.buf;
}
