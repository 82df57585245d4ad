/*
 * bulk.c -- estimate, progress and the request pool of long read-only
 * runs (see bulk.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rolehook/bulk.h"
#include "rolehook/governor.h"
#include "rolehook/monotime.h"

#define TTY_EVERY_MS 250       /* a terminal line at most this often */
#define LOG_EVERY_MS 30000     /* a plain line at least this often... */
#define LOG_STEPS 10           /* ...and at every 10 % */
#define MAX_THREADS 64

struct bulk_progress {
	pthread_mutex_t mu;
	const char *cmd, *what;
	struct gov *gov;
	int tty, quiet, open;      /* open: a \r line is on screen */
	size_t total, done;
	int64_t start_ms, last_ms;
	uint64_t start_granted;
	int last_step;             /* last 10 % step printed */
};

/* "5,000" into buf. */
void
bulk_fmt_count(char *buf, size_t len, long long n)
{
	char digits[32], out[48];
	size_t i, k = 0, nd;
	int neg = n < 0;

	snprintf(digits, sizeof(digits), "%llu", neg ?
	    0ULL - (unsigned long long)n : (unsigned long long)n);
	nd = strlen(digits);
	if (neg)
		out[k++] = '-';
	for (i = 0; i < nd; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
	snprintf(buf, len, "%s", out);
}

/* "7 min 13 s" into buf; s rounded up to a whole second. */
void
bulk_fmt_duration(char *buf, size_t len, double s)
{
	long long t;

	if (!(s > 0))
		s = 0;
	if (s > 1e9)
		s = 1e9;
	t = (long long)s;
	if ((double)t < s)
		t++;
	if (t < 60)
		snprintf(buf, len, "%lld s", t);
	else if (t < 3600)
		snprintf(buf, len, "%lld min %lld s", t / 60, t % 60);
	else
		snprintf(buf, len, "%lld h %02lld min", t / 3600,
		    (t % 3600) / 60);
}

/* what (a plural noun: "people", "agents") for n of them, on stderr. */
static void
print_noun(const char *what, long long n)
{
	size_t len = strlen(what);

	if (n != 1)
		fputs(what, stderr);
	else if (strcmp(what, "people") == 0)
		fputs("person", stderr);
	else
		fprintf(stderr, "%.*s", (int)(len > 1 && what[len - 1] == 's' ?
		    len - 1 : len), what);
}

/* Prints the estimate (unless quiet); returns the floor in seconds. */
double
bulk_estimate(const char *cmd, long long items, const char *what,
    long long requests, long limit_per_min, int quiet)
{
	char ni[32], nr[32], nl[32], dur[32];
	double floor_s;

	if (limit_per_min <= 0)
		limit_per_min = 1;
	floor_s = (double)requests * 60.0 / (double)limit_per_min;
	if (quiet)
		return floor_s;
	bulk_fmt_count(ni, sizeof(ni), items);
	bulk_fmt_count(nr, sizeof(nr), requests);
	bulk_fmt_count(nl, sizeof(nl), limit_per_min);
	bulk_fmt_duration(dur, sizeof(dur), floor_s);
	fprintf(stderr, "rolehook: %s: %s ", cmd, ni);
	print_noun(what, items);
	fprintf(stderr, ", about %s request%s: at least %s at %s "
	    "requests/min\n", nr, requests == 1 ? "" : "s", dur, nl);
	fflush(stderr);
	return floor_s;
}

/* Allocates progress (caller ends it with bulk_progress_end), or NULL. */
struct bulk_progress *
bulk_progress_new(const char *cmd, const char *what, size_t total,
    struct gov *gov, int tty, int quiet)
{
	struct bulk_progress *p;
	struct gov_stats gs;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	p->cmd = cmd;
	p->what = what;
	p->gov = gov;
	p->tty = tty;
	p->quiet = quiet;
	p->total = total;
	p->start_ms = p->last_ms = monotime_ms();
	if (gov != NULL) {
		gov_stats(gov, &gs);
		p->start_granted = gs.granted;
	}
	return p;
}

/* Caller holds p->mu.  One progress line (final: the closing one). */
static void
print_line(struct bulk_progress *p, int64_t now, int final)
{
	char nd[32], nt[32], rate[48] = "", eta[48] = "", dur[32];
	double el = (double)(now - p->start_ms) / 1000.0;
	struct gov_stats gs;
	unsigned pct = p->total > 0 ?
	    (unsigned)((p->done * 100) / p->total) : 100;

	bulk_fmt_count(nd, sizeof(nd), (long long)p->done);
	bulk_fmt_count(nt, sizeof(nt), (long long)p->total);
	if (p->gov != NULL && el >= 1.0) {
		gov_stats(p->gov, &gs);
		snprintf(rate, sizeof(rate), ", %.0f requests/min",
		    (double)(gs.granted - p->start_granted) * 60.0 / el);
	}
	if (final) {
		bulk_fmt_duration(dur, sizeof(dur), el);
		snprintf(eta, sizeof(eta), ", done in %s", dur);
	} else if (p->done > 0 && el >= 1.0) {
		bulk_fmt_duration(dur, sizeof(dur), el *
		    (double)(p->total - p->done) / (double)p->done);
		snprintf(eta, sizeof(eta), ", about %s left", dur);
	}
	/* Trailing blanks wipe what a longer previous line left. */
	fprintf(stderr, "%srolehook: %s: %s/%s %s (%u%%)%s%s%s",
	    p->tty ? "\r" : "", p->cmd, nd, nt, p->what, pct, rate, eta,
	    p->tty ? "     " : "\n");
	if (p->tty && final)
		fputc('\n', stderr);
	p->open = p->tty && !final;
	fflush(stderr);
	p->last_ms = now;
}

/* Counts n items; prints when due. */
void
bulk_progress_add(struct bulk_progress *p, size_t n)
{
	int64_t now;
	int step;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->done += n;
	if (p->done > p->total)
		p->total = p->done;
	if (!p->quiet && p->done < p->total) {
		now = monotime_ms();
		step = p->total > 0 ? (int)((p->done * LOG_STEPS) / p->total) : 0;
		if (p->tty ? now - p->last_ms >= TTY_EVERY_MS :
		    (step > p->last_step || now - p->last_ms >= LOG_EVERY_MS)) {
			p->last_step = step;
			print_line(p, now, 0);
		}
	}
	pthread_mutex_unlock(&p->mu);
}

/* Ends an open terminal line so that a message can follow. */
void
bulk_progress_break(struct bulk_progress *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->open) {
		fputc('\n', stderr);
		p->open = 0;
	}
	pthread_mutex_unlock(&p->mu);
}

/* Prints the closing line and frees p. */
void
bulk_progress_end(struct bulk_progress *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (!p->quiet)
		print_line(p, monotime_ms(), 1);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

struct pool {
	pthread_mutex_t mu;
	size_t next, n;
	int stop;                  /* first non-zero fn result */
	bulk_fn fn;
	void *arg;
	struct bulk_progress *p;
};

struct pool_arg {
	struct pool *pl;
	int thread;
	pthread_t t;
};

static void *
pool_main(void *a)
{
	struct pool_arg *pa = a;
	struct pool *pl = pa->pl;
	size_t i;
	int r;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		if (pl->stop != 0 || pl->next >= pl->n) {
			pthread_mutex_unlock(&pl->mu);
			return NULL;
		}
		i = pl->next++;
		pthread_mutex_unlock(&pl->mu);
		r = pl->fn(i, pa->thread, pl->arg);
		bulk_progress_add(pl->p, 1);
		if (r != 0) {
			pthread_mutex_lock(&pl->mu);
			if (pl->stop == 0)
				pl->stop = r;
			pthread_mutex_unlock(&pl->mu);
		}
	}
}

/*
 * Runs fn over 0..n-1 on nthreads threads; the calling thread is thread
 * 0, so a failed pthread_create only means fewer in flight.  Returns 0
 * or fn's first non-zero result.
 */
int
bulk_run(int nthreads, size_t n, bulk_fn fn, void *arg,
    struct bulk_progress *p)
{
	struct pool pl;
	struct pool_arg pa[MAX_THREADS];
	int i, started = 1;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	if ((size_t)nthreads > n)
		nthreads = n > 0 ? (int)n : 1;
	memset(&pl, 0, sizeof(pl));
	if (pthread_mutex_init(&pl.mu, NULL) != 0)
		return -1;
	pl.n = n;
	pl.fn = fn;
	pl.arg = arg;
	pl.p = p;
	for (i = 0; i < nthreads; i++) {
		pa[i].pl = &pl;
		pa[i].thread = i;
	}
	for (i = 1; i < nthreads; i++, started++)
		if (pthread_create(&pa[i].t, NULL, pool_main, &pa[i]) != 0)
			break;
	pool_main(&pa[0]);
	for (i = 1; i < started; i++)
		pthread_join(pa[i].t, NULL);
	pthread_mutex_destroy(&pl.mu);
	return pl.stop;
}
