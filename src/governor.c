/*
 * governor.c -- the shared Zendesk request budget (see governor.h).
 *
 * Arithmetic is integral: one request is UNIT units and the bucket gains
 * `effective` units per millisecond, so limit/60 requests per second
 * come out exact without floating point drift.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rolehook/governor.h"
#include "rolehook/monotime.h"

#define UNIT 60000             /* units per request = ms per minute */
#define LIMIT_MAX 1000000L     /* no plan comes near this */
#define RESET_MAX 86400L
#define DEFAULT_LIMIT 200L     /* Team plan: the lowest documented */
#define DEFAULT_PAUSE_S 60L    /* 429 without a usable Retry-After */
#define DEFAULT_MAX_PAUSE_S 3600L
#define SLEEP_SLICE_MS 1000    /* re-check at least this often */

struct gov {
	pthread_mutex_t mu;
	struct gov_clock clk;
	long limit;                /* account limit per minute */
	int learned;
	int share_pct;
	long burst;
	long max_pause_s;
	int64_t units;             /* bucket content */
	int64_t last_ms;           /* time of the last refill */
	int64_t pause_until;       /* nobody sends before; INT64_MIN: none */
	long srv_remaining;        /* -1: unknown */
	int64_t srv_reset_at;      /* when srv_remaining stops applying */
	uint64_t granted;
	uint64_t throttled;
};

/* The real clock, for struct gov_clock's injectable one. */
static int64_t
real_now_ms(void *arg)
{
	(void)arg;
	return monotime_ms();
}

static void
real_sleep_ms(void *arg, int64_t ms)
{
	(void)arg;
	monotime_sleep_ms(ms);
}

/* Returns a static description of err. */
const char *
gov_strerror(enum gov_err err)
{
	switch (err) {
	case GOV_OK:
		return "ok";
	case GOV_EINVAL:
		return "invalid governor option";
	case GOV_ENOMEM:
		return "out of memory";
	case GOV_ESYS:
		return "cannot initialise a mutex";
	}
	return "unknown governor error";
}

/*
 * One header value: [blanks] digits [blanks] [(";"|",") params].  With
 * window != NULL, a "w=N" parameter (draft-ietf-httpapi-ratelimit-headers)
 * is returned there.  Returns the value, or -1.
 */
static long
parse_value(const char *s, long max, long *window)
{
	const char *p = s, *w;
	long v = 0, wv = 0;
	int digits = 0;

	if (window != NULL)
		*window = -1;
	if (s == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
		digits++;
	}
	if (digits == 0 || digits > 12)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return v;
	if (*p != ';' && *p != ',')
		return -1;
	if (window != NULL && (w = strstr(p, "w=")) != NULL &&
	    (w[-1] == ';' || w[-1] == ' ')) {
		for (w += 2, digits = 0; *w >= '0' && *w <= '9' && digits < 7;
		    w++, digits++)
			wv = wv * 10 + (*w - '0');
		if (digits > 0 && digits < 7 && wv > 0)
			*window = wv;
	}
	return v;
}

static long
min_valid(long a, long b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static long
parse_limit(const char *s)
{
	long w, v = parse_value(s, LIMIT_MAX, &w);

	if (v <= 0)
		return -1;
	if (w > 0 && w != 60) {
		/* per w seconds -> per minute, rounded down (conservative) */
		v = (long)(((int64_t)v * 60) / w);
		if (v <= 0 || v > LIMIT_MAX)
			return -1;
	}
	return v;
}

/* Fills *out from h (borrowed; NULL = no headers); -1 for each bad value. */
void
gov_parse_headers(const struct gov_headers *h, struct gov_parsed *out)
{
	out->limit = out->remaining = out->reset_s = out->retry_after_s = -1;
	if (h == NULL)
		return;
	out->limit = min_valid(parse_limit(h->x_rate_limit),
	    parse_limit(h->ratelimit_limit));
	out->remaining = min_valid(
	    parse_value(h->x_rate_limit_remaining, LIMIT_MAX, NULL),
	    parse_value(h->ratelimit_remaining, LIMIT_MAX, NULL));
	out->reset_s = parse_value(h->ratelimit_reset, RESET_MAX, NULL);
	out->retry_after_s = parse_value(h->retry_after, RESET_MAX, NULL);
}

/*
 * Allocates a governor (caller frees with gov_free); o may be NULL.
 * GOV_OK with *out set, else *out NULL.
 */
enum gov_err
gov_new(const struct gov_opts *o, struct gov **out)
{
	struct gov_opts def;
	struct gov *g = NULL;
	enum gov_err rc = GOV_EINVAL;

	*out = NULL;
	memset(&def, 0, sizeof(def));
	if (o == NULL)
		o = &def;
	if (o->default_limit < 0 || o->default_limit > LIMIT_MAX ||
	    o->share_pct < 0 || o->share_pct > 100 || o->burst < 0 ||
	    o->burst > LIMIT_MAX || o->max_pause_s < 0 ||
	    o->max_pause_s > RESET_MAX)
		goto out;
	rc = GOV_ENOMEM;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto out;
	g->limit = o->default_limit > 0 ? o->default_limit : DEFAULT_LIMIT;
	g->share_pct = o->share_pct > 0 ? o->share_pct : 100;
	g->burst = o->burst > 0 ? o->burst : 1;
	g->max_pause_s = o->max_pause_s > 0 ? o->max_pause_s :
	    DEFAULT_MAX_PAUSE_S;
	g->clk.now_ms = real_now_ms;
	g->clk.sleep_ms = real_sleep_ms;
	if (o->clock != NULL) {
		g->clk.arg = o->clock->arg;
		if (o->clock->now_ms != NULL)
			g->clk.now_ms = o->clock->now_ms;
		if (o->clock->sleep_ms != NULL)
			g->clk.sleep_ms = o->clock->sleep_ms;
	}
	g->srv_remaining = -1;
	g->last_ms = g->clk.now_ms(g->clk.arg);
	/*
	 * No pause: before any time, not 0.  A monotonic clock counts from
	 * an unspecified point (POSIX clock_gettime) and an injected one
	 * may read negative.  pause_until - now is only taken when now is
	 * below it, so this never overflows.
	 */
	g->pause_until = INT64_MIN;
	g->units = (int64_t)g->burst * UNIT;   /* start full */
	rc = GOV_ESYS;
	if (pthread_mutex_init(&g->mu, NULL) != 0)
		goto out;
	*out = g;
	g = NULL;
	rc = GOV_OK;
out:
	free(g);
	return rc;
}

/* Frees g.  NULL is a no-op. */
void
gov_free(struct gov *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static long
effective(const struct gov *g)
{
	long e = (long)(((int64_t)g->limit * g->share_pct) / 100);

	return e > 0 ? e : 1;
}

/* Caller holds g->mu. */
static void
refill(struct gov *g, int64_t now)
{
	int64_t cap = (int64_t)g->burst * UNIT, dt;

	if (now <= g->last_ms)
		return;            /* a clock that went back gives nothing */
	dt = now - g->last_ms;
	g->last_ms = now;
	if (dt > UNIT)         /* a minute refills any bucket */
		dt = UNIT;
	g->units += dt * effective(g);
	if (g->units > cap)
		g->units = cap;
}

/* Caller holds g->mu.  0 = slot taken; else ms to wait. */
static int64_t
try_locked(struct gov *g, int64_t now)
{
	int64_t need;
	long e;

	if (now < g->pause_until)
		return g->pause_until - now;
	if (g->srv_remaining >= 0 && now >= g->srv_reset_at)
		g->srv_remaining = -1;       /* that window is over */
	if (g->srv_remaining == 0)
		return g->srv_reset_at - now;
	refill(g, now);
	if (g->units >= UNIT) {
		g->units -= UNIT;
		if (g->srv_remaining > 0)
			g->srv_remaining--;
		g->granted++;
		return 0;
	}
	e = effective(g);
	need = UNIT - g->units;
	return (need + e - 1) / e;
}

/* 0 = one slot taken; > 0 = ms until one may be free (nothing taken). */
int64_t
gov_try_acquire(struct gov *g)
{
	int64_t now, w;

	pthread_mutex_lock(&g->mu);
	now = g->clk.now_ms(g->clk.arg);
	w = try_locked(g, now);
	pthread_mutex_unlock(&g->mu);
	return w;
}

/* Waits for a slot: 0, or the ms still needed when max_wait_ms is exceeded. */
int64_t
gov_acquire(struct gov *g, int64_t max_wait_ms)
{
	int64_t start, now, w;

	start = g->clk.now_ms(g->clk.arg);
	for (;;) {
		if ((w = gov_try_acquire(g)) == 0)
			return 0;
		now = g->clk.now_ms(g->clk.arg);
		if (max_wait_ms >= 0 && (now - start) + w > max_wait_ms)
			return w;
		g->clk.sleep_ms(g->clk.arg, w < SLEEP_SLICE_MS ? w :
		    SLEEP_SLICE_MS);
	}
}

/* Learns limit, remaining and pauses from one answer (h borrowed). */
void
gov_observe(struct gov *g, int status, const struct gov_headers *h)
{
	struct gov_parsed p;
	int64_t now, until;
	long pause = -1;

	gov_parse_headers(h, &p);
	pthread_mutex_lock(&g->mu);
	now = g->clk.now_ms(g->clk.arg);
	if (p.limit > 0) {
		g->limit = p.limit;
		g->learned = 1;
	}
	if (p.remaining >= 0) {
		g->srv_remaining = p.remaining;
		/* Without ratelimit-reset, assume the worst: a full minute. */
		g->srv_reset_at = now + (p.reset_s >= 0 ?
		    (int64_t)p.reset_s * 1000 : UNIT);
		if (g->units > (int64_t)p.remaining * UNIT)
			g->units = (int64_t)p.remaining * UNIT;
	}
	if (status == 429) {
		g->throttled++;
		pause = p.retry_after_s >= 0 ? p.retry_after_s :
		    p.reset_s > 0 ? p.reset_s : DEFAULT_PAUSE_S;
		if (pause < 1)
			pause = 1;   /* "Retry-After: 0" is no licence to hammer */
		g->units = 0;
	} else if (status == 503 && p.retry_after_s >= 0)
		pause = p.retry_after_s;
	if (pause >= 0) {
		if (pause > g->max_pause_s)
			pause = g->max_pause_s;
		until = now + (int64_t)pause * 1000;
		if (until > g->pause_until)
			g->pause_until = until;
	}
	pthread_mutex_unlock(&g->mu);
}

/* Copies a snapshot into *out. */
void
gov_stats(struct gov *g, struct gov_stats *out)
{
	int64_t now;

	pthread_mutex_lock(&g->mu);
	now = g->clk.now_ms(g->clk.arg);
	out->limit = g->limit;
	out->effective = effective(g);
	out->learned = g->learned;
	out->server_remaining = (g->srv_remaining >= 0 &&
	    now < g->srv_reset_at) ? g->srv_remaining : -1;
	out->paused_ms = g->pause_until > now ? g->pause_until - now : 0;
	out->granted = g->granted;
	out->throttled = g->throttled;
	pthread_mutex_unlock(&g->mu);
}
