/*
 * test_bulk.c -- the estimate's arithmetic and wording, count and duration
 * formatting, and the pool: every item runs exactly once on several
 * threads, and a non-zero result stops new items.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rolehook/bulk.h"

static void
test_fmt_count(void **state)
{
	static const struct { long long n; const char *want; } t[] = {
		{ 0, "0" }, { 7, "7" }, { 999, "999" }, { 1000, "1,000" },
		{ 5050, "5,050" }, { 100000, "100,000" },
		{ 1234567, "1,234,567" }, { -1234, "-1,234" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bulk_fmt_count(buf, sizeof(buf), t[i].n);
		assert_string_equal(buf, t[i].want);
	}
}

static void
test_fmt_duration(void **state)
{
	static const struct { double s; const char *want; } t[] = {
		{ 0, "0 s" }, { 0.2, "1 s" }, { 42, "42 s" }, { 59.5, "1 min 0 s" },
		{ 433.03, "7 min 14 s" }, { 861.6, "14 min 22 s" },
		{ 3600, "1 h 00 min" }, { 3 * 3600 + 25 * 60 + 3, "3 h 25 min" },
		{ -5, "0 s" },
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bulk_fmt_duration(buf, sizeof(buf), t[i].s);
		assert_string_equal(buf, t[i].want);
	}
}

static void
test_estimate_floor(void **state)
{
	(void)state;
	/* 5,000 agents, 10,052 requests at 700/min: 861.6 s. */
	assert_true(bulk_estimate("report seats", 5000, "agents", 10052, 700,
	    1) > 861.5);
	assert_true(bulk_estimate("report seats", 5000, "agents", 10052, 700,
	    1) < 861.7);
	/* A limit of 0 cannot divide by zero. */
	assert_true(bulk_estimate("x", 1, "agents", 60, 0, 1) == 3600.0);
}

struct count {
	pthread_mutex_t mu;
	int seen[1000];
	int threads[64];
	size_t stop_at;
	size_t max_started;
};

static int
count_fn(size_t i, int thread, void *arg)
{
	struct count *c = arg;

	pthread_mutex_lock(&c->mu);
	c->seen[i]++;
	c->threads[thread] = 1;
	if (i > c->max_started)
		c->max_started = i;
	pthread_mutex_unlock(&c->mu);
	return c->stop_at != 0 && i == c->stop_at ? 7 : 0;
}

static void
test_run_every_item_once(void **state)
{
	static struct count c;
	size_t i;
	int used = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	assert_int_equal(bulk_run(8, 1000, count_fn, &c, NULL), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(c.seen[i], 1);
	for (i = 0; i < 64; i++)
		used += c.threads[i];
	assert_true(used >= 1 && used <= 8);
	/* Zero items, more threads than items. */
	assert_int_equal(bulk_run(8, 0, count_fn, &c, NULL), 0);
	pthread_mutex_destroy(&c.mu);
}

static void
test_run_stops(void **state)
{
	static struct count c;
	size_t i;

	(void)state;
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.mu, NULL);
	c.stop_at = 100;
	assert_int_equal(bulk_run(4, 1000, count_fn, &c, NULL), 7);
	/* Everything up to the highest started item ran, once; the rest not. */
	for (i = 0; i <= c.max_started; i++)
		assert_int_equal(c.seen[i], 1);
	for (; i < 1000; i++)
		assert_int_equal(c.seen[i], 0);
	pthread_mutex_destroy(&c.mu);
}

static void
test_progress_null_and_quiet(void **state)
{
	struct bulk_progress *p;

	(void)state;
	bulk_progress_add(NULL, 1);
	bulk_progress_break(NULL);
	bulk_progress_end(NULL);
	p = bulk_progress_new("x", "agents", 10, NULL, 0, 1);
	assert_non_null(p);
	bulk_progress_add(p, 5);
	bulk_progress_add(p, 20);      /* past total: total grows */
	bulk_progress_end(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_count),
		cmocka_unit_test(test_fmt_duration),
		cmocka_unit_test(test_estimate_floor),
		cmocka_unit_test(test_run_every_item_once),
		cmocka_unit_test(test_run_stops),
		cmocka_unit_test(test_progress_null_and_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
