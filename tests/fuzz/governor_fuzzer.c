/*
 * governor_fuzzer.c -- libFuzzer target for governor.c: the token bucket
 * and the Zendesk rate-limit headers it learns from, on a fake clock.
 *
 * Input layout: an 8-byte header (flags, then table indexes for
 * default_limit, share_pct, burst and max_pause_s, then a 24-bit signed
 * clock start), then a program of operations, one opcode byte each:
 *
 *   0 b       advance the clock b ms
 *   1 hi lo   advance (hi<<8|lo)*64 ms; in "wild" mode (flags bit 0) a
 *             set top bit of hi moves the clock back instead
 *   2         gov_try_acquire
 *   3 b       gov_acquire(max_wait = b*b*4 ms; 255: unbounded)
 *   4 s m     gov_observe(status table[s], headers): m's low 6 bits say
 *             which headers are present, each given in order as text up
 *             to a '\n' (or the end of the input)
 *   5         probe: try; 1 ms before the announced wait a try must
 *             still fail; at it, a bucket wait must be over
 *   6         drain: try at one instant until refused (<= burst grants)
 *   7         try, then advance by the announced wait
 *
 * Besides memory safety and UBSan, it checks the contract of governor.h
 * against a model of the documented behaviour (not of the bucket's
 * arithmetic): the header parser against a reference parser; after each
 * operation, gov_stats against the model (limit, effective rate,
 * server's remaining count, pause, counters); every wait is exactly the
 * pause or the server window when one applies, else between 1 ms and
 * one request's refill time; no grant during a pause or with the
 * server's remaining count at 0; at most burst grants at one instant;
 * with a monotonic clock, no 60 s window holds more than
 * burst + effective - 1 grants at one rate, and gov_acquire waits at most
 * max_wait, sleeping in slices of at most a second.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rolehook/governor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UNIT 60000            /* ms per minute: the rate's denominator */
#define LIMIT_MAX 1000000L
#define RESET_MAX 86400L
#define MAX_GRANTS 65536
#define MAX_UNBOUNDED 2       /* unbounded gov_acquire calls per input */
#define NOPAUSE INT64_MIN

static const long t_limit[16] = {
	0, 1, 2, 7, 60, 200, 700, 2500, 60000, 123457, LIMIT_MAX,
	LIMIT_MAX + 1, -1, 400, 3, 100,
};
static const long t_burst[16] = {
	0, 1, 2, 3, 4, 5, 8, 10, 16, 64, 1000, LIMIT_MAX, LIMIT_MAX + 1, -1,
	7, 32,
};
static const long t_pause[16] = {
	0, 1, 2, 5, 10, 30, 59, 60, 61, 300, 3600, RESET_MAX, RESET_MAX + 1,
	-1, 7, 100,
};
static const int t_status[8] = { 200, 429, 503, 429, 0, 500, 201, 999 };

struct model {
	/* the fake clock */
	int64_t now;
	int wild;              /* the clock may go back */
	int64_t slept;         /* inside the current gov_acquire */
	/* options as the governor resolved them */
	long limit;
	int learned;
	int share;
	long burst;
	int64_t max_pause_ms;
	/* documented state */
	int64_t pause_until;   /* NOPAUSE: none */
	long rem;              /* -1: unknown */
	int64_t reset_at;
	uint64_t granted, throttled;
	/* grants, for the 60 s window check */
	int64_t t[MAX_GRANTS];
	unsigned epoch[MAX_GRANTS];
	size_t n, j;
	unsigned cur_epoch;
	long cur_eff;
};

static struct model M;

/* A broken property: say which, with the model's view, and crash. */
#define FAIL(what) fail(__LINE__, (what))

static void
fail(int line, const char *what)
{
	fprintf(stderr, "governor_fuzzer:%d: %s (now %" PRId64 ", limit %ld, "
	    "share %d, burst %ld, pause until %" PRId64 ", remaining %ld "
	    "until %" PRId64 ", granted %" PRIu64 ")\n", line, what, M.now,
	    M.limit, M.share, M.burst, M.pause_until, M.rem, M.reset_at,
	    M.granted);
	abort();
}

static int64_t
f_now(void *arg)
{
	return ((struct model *)arg)->now;
}

static void
f_sleep(void *arg, int64_t ms)
{
	struct model *m = arg;

	/* gov_acquire sleeps a positive slice of at most SLEEP_SLICE_MS */
	if (ms <= 0 || ms > 1000)
		FAIL("a sleep outside 1..1000 ms");
	m->now += ms;
	m->slept += ms;
}

static long
eff_of(long limit, int share)
{
	long e = (long)(((int64_t)limit * share) / 100);

	return e > 0 ? e : 1;
}

/* ceil(UNIT / e): the longest a bucket wait may be. */
static int64_t
bucket_max(void)
{
	long e = eff_of(M.limit, M.share);

	return (UNIT + e - 1) / e;
}

/* ------------------------------------------------------------ parsing */

/* Reference: [blanks] 1..12 digits [blanks] then end, ';' or ','. */
static long
ref_value(const char *s, long max)
{
	int64_t v = 0;
	int digits = 0;

	if (s == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s >= '0' && *s <= '9' && digits <= 12; s++, digits++)
		v = v * 10 + (*s - '0');
	if (digits == 0 || digits > 12 || v > max)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' && *s != ';' && *s != ',')
		return -1;
	return (long)v;
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

/* A limit; *exact = 0 when a "w=" parameter may have scaled it. */
static long
ref_limit(const char *s, int *exact)
{
	long v = ref_value(s, LIMIT_MAX);

	*exact = s == NULL || strstr(s, "w=") == NULL;
	return v > 0 ? v : -1;
}

static void
check_parse(const struct gov_headers *h, const struct gov_parsed *p)
{
	int ex1, ex2;
	long l1 = ref_limit(h->x_rate_limit, &ex1);
	long l2 = ref_limit(h->ratelimit_limit, &ex2);

	if (p->remaining != min_valid(ref_value(h->x_rate_limit_remaining,
	    LIMIT_MAX), ref_value(h->ratelimit_remaining, LIMIT_MAX)))
		FAIL("remaining parsed wrong");
	if (p->reset_s != ref_value(h->ratelimit_reset, RESET_MAX))
		FAIL("ratelimit-reset parsed wrong");
	if (p->retry_after_s != ref_value(h->retry_after, RESET_MAX))
		FAIL("Retry-After parsed wrong");
	if (p->limit != -1 && (p->limit < 1 || p->limit > LIMIT_MAX))
		FAIL("a limit out of range");
	if (ex1 && ex2 && p->limit != min_valid(l1, l2))
		FAIL("limit parsed wrong");
	/* scaled or not, a limit comes from a valid number */
	if (p->limit > 0 && l1 < 0 && l2 < 0)
		FAIL("a limit from no valid number");
}

/* ------------------------------------------------------------- checks */

static void
check_stats(struct gov *g)
{
	struct gov_stats s;
	long rem = (M.rem >= 0 && M.now < M.reset_at) ? M.rem : -1;
	int64_t paused = M.pause_until != NOPAUSE && M.pause_until > M.now ?
	    M.pause_until - M.now : 0;

	gov_stats(g, &s);
	if (s.limit != M.limit || s.learned != M.learned ||
	    s.effective != eff_of(M.limit, M.share) || s.effective < 1 ||
	    s.effective > s.limit || s.server_remaining != rem ||
	    s.paused_ms != paused || s.granted != M.granted ||
	    s.throttled != M.throttled) {
		fprintf(stderr, "stats: limit %ld learned %d effective %ld "
		    "remaining %ld (model %ld) paused %" PRId64 " (model %"
		    PRId64 ") granted %" PRIu64 " throttled %" PRIu64 "\n",
		    s.limit, s.learned, s.effective, s.server_remaining, rem,
		    s.paused_ms, paused, s.granted, s.throttled);
		FAIL("gov_stats disagrees with the model");
	}
	/* with a monotonic clock, every wait is bounded by an option */
	if (!M.wild && (paused > M.max_pause_ms ||
	    (rem == 0 && M.reset_at - M.now > RESET_MAX * 1000)))
		FAIL("a wait longer than the options allow");
}

static void
record_grant(void)
{
	long e = eff_of(M.limit, M.share);
	size_t i;

	if (M.pause_until != NOPAUSE && M.now < M.pause_until)
		FAIL("a grant during a pause");
	if (M.rem == 0)
		FAIL("a grant with the server's remaining count at 0");
	if (M.rem > 0)
		M.rem--;
	M.granted++;
	if (M.wild || M.n == MAX_GRANTS)
		return;
	i = M.n++;
	M.t[i] = M.now;
	M.epoch[i] = M.cur_epoch;
	while (M.j < i && (M.t[i] - M.t[M.j] >= UNIT ||
	    M.epoch[M.j] != M.cur_epoch))
		M.j++;
	/* the bucket holds burst; one rate refills < e in 59.999 s */
	if ((int64_t)(i - M.j + 1) > (int64_t)M.burst + e - 1)
		FAIL("more than burst + effective - 1 grants in 60 s");
}

/*
 * A try's answer at M.now.  Returns 1 if it came from the bucket (the
 * pause and the server window did not apply), else 0.
 */
static int
check_try(int64_t w)
{
	if (M.pause_until != NOPAUSE && M.now < M.pause_until) {
		if (w != M.pause_until - M.now)
			FAIL("a pause wait that is not the pause");
		return 0;
	}
	if (M.rem >= 0 && M.now >= M.reset_at)
		M.rem = -1;            /* that window is over */
	if (M.rem == 0) {
		if (w != M.reset_at - M.now)
			FAIL("a server-window wait that is not the window");
		return 0;
	}
	if (w == 0)
		record_grant();
	else if (w < 1 || w > bucket_max())
		FAIL("a bucket wait out of 1..ceil(60000/effective)");
	return 1;
}

static int
do_try(struct gov *g, int64_t *w)
{
	*w = gov_try_acquire(g);
	return check_try(*w);
}

static void
advance(int64_t ms)
{
	M.now += ms;
}

/* ---------------------------------------------------------- operations */

static void
op_acquire(struct gov *g, int64_t max_wait)
{
	int64_t start = M.now, r, bound = -1;

	if (max_wait < 0 && !M.wild) {
		/* past the pause and the server window, one refill time */
		int64_t until = M.now;

		if (M.pause_until != NOPAUSE && M.pause_until > until)
			until = M.pause_until;
		if (M.rem == 0 && M.reset_at > until)
			until = M.reset_at;
		bound = until - M.now + bucket_max();
	}
	M.slept = 0;
	r = gov_acquire(g, max_wait);
	if (M.now - start != M.slept || M.slept < 0)
		FAIL("gov_acquire moved the clock itself");
	if (max_wait >= 0 && M.slept > max_wait)
		FAIL("gov_acquire waited past max_wait");
	if (bound >= 0 && M.slept > bound)
		FAIL("gov_acquire waited past pause, window and one refill");
	if (r < 0 || (r > 0 && (max_wait < 0 || M.slept + r <= max_wait)))
		FAIL("gov_acquire answered against its contract");
	/*
	 * The tries inside ran at increasing times, the last one at M.now,
	 * so the model's view at M.now is the governor's: the answer is
	 * that try's (a grant, or the wait still needed).
	 */
	(void)check_try(r);
}

static void
op_observe(struct gov *g, int status, const struct gov_headers *h)
{
	struct gov_parsed p;
	long pause = -1, old = eff_of(M.limit, M.share);
	int64_t until;

	gov_parse_headers(h, &p);
	if (h != NULL)
		check_parse(h, &p);
	else if (p.limit != -1 || p.remaining != -1 || p.reset_s != -1 ||
	    p.retry_after_s != -1)
		FAIL("headers parsed from none");
	gov_observe(g, status, h);

	if (p.limit > 0) {
		M.limit = p.limit;
		M.learned = 1;
	}
	if (p.remaining >= 0) {
		M.rem = p.remaining;
		M.reset_at = M.now + (p.reset_s >= 0 ?
		    (int64_t)p.reset_s * 1000 : UNIT);
	}
	if (status == 429) {
		M.throttled++;
		pause = p.retry_after_s >= 0 ? p.retry_after_s :
		    p.reset_s > 0 ? p.reset_s : 60;
		if (pause < 1)
			pause = 1;
	} else if (status == 503 && p.retry_after_s >= 0)
		pause = p.retry_after_s;
	if (pause >= 0) {
		until = M.now + ((int64_t)pause * 1000 < M.max_pause_ms ?
		    (int64_t)pause * 1000 : M.max_pause_ms);
		if (M.pause_until == NOPAUSE || until > M.pause_until)
			M.pause_until = until;
	}
	if (eff_of(M.limit, M.share) != old)
		M.cur_epoch++;
}

/* Copies the text up to '\n' or the end into an exact-size string. */
static char *
take_str(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (nl != NULL);
	return s;
}

/* Entry point called by libFuzzer (or replay_main.c) for each input. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[8] = { 0 };
	const uint8_t *p, *end = data + size;
	struct gov_clock clk = { f_now, f_sleep, &M };
	struct gov_opts o;
	struct gov *g = NULL;
	enum gov_err rc;
	int unbounded = 0, bad, i;
	int32_t start;

	memcpy(hdr, data, size < sizeof(hdr) ? size : sizeof(hdr));
	p = data + (size < sizeof(hdr) ? size : sizeof(hdr));

	memset(&M, 0, sizeof(M));
	M.wild = hdr[0] & 1;
	start = (int32_t)((uint32_t)hdr[5] << 24 | (uint32_t)hdr[6] << 16 |
	    (uint32_t)hdr[7] << 8) >> 8;
	M.now = (int64_t)start * 1024;

	memset(&o, 0, sizeof(o));
	o.default_limit = t_limit[hdr[1] % 16];
	o.share_pct = (int)(hdr[2] % 104) - 1;
	o.burst = t_burst[hdr[3] % 16];
	o.max_pause_s = t_pause[hdr[4] % 16];
	o.clock = &clk;
	bad = o.default_limit < 0 || o.default_limit > LIMIT_MAX ||
	    o.share_pct < 0 || o.share_pct > 100 || o.burst < 0 ||
	    o.burst > LIMIT_MAX || o.max_pause_s < 0 ||
	    o.max_pause_s > RESET_MAX;
	rc = gov_new(&o, &g);
	if (bad) {
		if (rc != GOV_EINVAL || g != NULL)
			FAIL("gov_new accepted a bad option");
		return 0;
	}
	if (rc != GOV_OK || g == NULL)
		FAIL("gov_new refused good options");
	M.limit = o.default_limit > 0 ? o.default_limit : 200;
	M.share = o.share_pct > 0 ? o.share_pct : 100;
	M.burst = o.burst > 0 ? o.burst : 1;
	M.max_pause_ms = (o.max_pause_s > 0 ? o.max_pause_s : 3600) * 1000;
	M.pause_until = NOPAUSE;
	M.rem = -1;
	check_stats(g);

	while (p < end) {
		uint8_t op = *p++ % 8, a = p < end ? *p : 0,
		    b = p + 1 < end ? p[1] : 0;
		int64_t w, v;

		switch (op) {
		case 0:
			p += p < end;
			advance(a);
			break;
		case 1:
			p += (p < end) + (p + 1 < end);
			v = (int64_t)((a & 0x7f) << 8 | b) * 64;
			advance(M.wild && (a & 0x80) ? -v : v);
			break;
		case 2:
			do_try(g, &w);
			break;
		case 3:
			p += p < end;
			if (a == 255 && !M.wild && unbounded++ < MAX_UNBOUNDED)
				op_acquire(g, -1);
			else
				op_acquire(g, (int64_t)a * a * 4);
			break;
		case 4: {
			struct gov_headers h;
			char *s[6] = { NULL };

			p += (p < end) + (p + 1 < end);
			for (i = 0; i < 6; i++)
				if (b & (1u << i))
					s[i] = take_str(&p, end);
			h.x_rate_limit = s[0];
			h.x_rate_limit_remaining = s[1];
			h.ratelimit_limit = s[2];
			h.ratelimit_remaining = s[3];
			h.ratelimit_reset = s[4];
			h.retry_after = s[5];
			op_observe(g, t_status[a % 8], (b & 0x40) ? NULL : &h);
			for (i = 0; i < 6; i++)
				free(s[i]);
			break;
		}
		case 5: {
			int bucket = do_try(g, &w);

			if (w == 0)
				break;
			if (w > 1) {
				advance(w - 1);
				do_try(g, &v);
				if (v == 0)
					FAIL("the wait was too long");
			}
			advance(1);
			do_try(g, &v);
			if (bucket && !M.wild && v != 0)
				FAIL("the wait was too short");
			break;
		}
		case 6:
			for (i = 0; i <= 64; i++) {
				do_try(g, &w);
				if (w != 0)
					break;
			}
			if (M.burst <= 64 && i > M.burst)
				FAIL("more than burst grants at one instant");
			break;
		case 7:
			if (do_try(g, &w) >= 0 && w > 0)
				advance(w);
			break;
		}
		check_stats(g);
	}
	gov_free(g);
	return 0;
}
