// SPDX-License-Identifier: GPL-2.0
/* Per-UID rates: exact counts per window on synthetic series of cumulative counts. */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/rates.h"

#define T0 999960 /* a start on a whole minute: 16666 min */

/* Rates whose baseline pass, at T0, saw uid at total. */
static struct sg_rates *new_rates(__u32 uid, __u64 total)
{
	struct sg_rates *r = sg_rates_new();

	assert_non_null(r);
	assert_int_equal(sg_rates_sample(r, uid, total, T0), 0);
	sg_rates_started(r, T0);
	return r;
}

static void test_baseline_is_not_a_burst(void **state)
{
	struct sg_rates *r = sg_rates_new();

	/* 5000 connections made before the daemon started, sampled a second before it says so. */
	assert_int_equal(sg_rates_sample(r, 1001, 5000, T0 - 1), 0);
	sg_rates_started(r, T0);
	assert_int_equal(sg_rates_count(r, 1001, SG_WIN_1M, T0), 0);
	assert_true(sg_rates_rate(r, 1001, SG_WIN_1M, T0) == 0.0);
	sg_rates_sample(r, 1001, 5003, T0 + 1);
	assert_int_equal(sg_rates_count(r, 1001, SG_WIN_1M, T0 + 1), 3);
	assert_int_equal(sg_rates_count(r, 1001, SG_WIN_10M, T0 + 1), 3);
	assert_int_equal(sg_rates_count(r, 1001, SG_WIN_1H, T0 + 1), 3);
	/* One second watched: 3 per second. */
	assert_true(sg_rates_rate(r, 1001, SG_WIN_1M, T0 + 1) == 3.0);
	/* A UID first seen after start counts whole: it is new. */
	sg_rates_sample(r, 1002, 7, T0 + 1);
	assert_int_equal(sg_rates_count(r, 1002, SG_WIN_1M, T0 + 1), 7);
	sg_rates_free(r);
}

static void test_one_minute_slides_by_the_second(void **state)
{
	struct sg_rates *r = new_rates(7, 0);
	__u64 t, total = 0;

	/* One connection a second for 90 seconds. */
	for (t = T0 + 1; t <= T0 + 90; t++)
		sg_rates_sample(r, 7, ++total, t);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, T0 + 90), 60);
	assert_true(sg_rates_rate(r, 7, SG_WIN_1M, T0 + 90) == 1.0);
	/* Silence: each idle second drops one from the minute, with or without samples. */
	sg_rates_sample(r, 7, total, T0 + 100);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, T0 + 100), 50);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, T0 + 149), 1);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, T0 + 150), 0);
	/* The 10 min window still holds all 90. */
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_10M, T0 + 150), 90);
	sg_rates_free(r);
}

/* Times are kept in 32 bits: the last seconds they hold slide as exactly, the next is refused. */
static void test_last_seconds_of_32_bits(void **state)
{
	struct sg_rates *r = sg_rates_new();
	__u64 l = UINT32_MAX - 149, t, total = 0;

	assert_int_equal(sg_rates_sample(r, 7, 0, l), 0);
	sg_rates_started(r, l);
	for (t = l + 1; t <= l + 90; t++)
		assert_int_equal(sg_rates_sample(r, 7, ++total, t), 0);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, l + 90), 60);
	assert_int_equal(sg_rates_sample(r, 7, total, l + 100), 0);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, l + 100), 50);
	assert_int_equal(sg_rates_sample(r, 7, total + 1, UINT32_MAX), 0);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, UINT32_MAX), 2);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_10M, UINT32_MAX), 91);
	assert_int_equal(sg_rates_sample(r, 7, total + 2, (__u64)UINT32_MAX + 1), -ERANGE);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_10M, UINT32_MAX), 91);
	sg_rates_free(r);
}

/* A second's count past 16 bits: the history is made wide, every count kept exactly. */
static void test_second_past_16_bits(void **state)
{
	struct sg_rates *r = new_rates(11, 0);

	assert_int_equal(sg_rates_sample(r, 11, 7, T0 + 1), 0);
	assert_int_equal(sg_rates_sample(r, 11, 7 + 65535, T0 + 2), 0);
	assert_int_equal(sg_rates_count(r, 11, SG_WIN_1M, T0 + 2), 7 + 65535);
	/* One more in the same second: 65,536 in it. */
	assert_int_equal(sg_rates_sample(r, 11, 7 + 65536, T0 + 2), 0);
	assert_int_equal(sg_rates_count(r, 11, SG_WIN_1M, T0 + 2), 7 + 65536);
	assert_int_equal(sg_rates_count(r, 11, SG_WIN_10M, T0 + 2), 7 + 65536);
	/* The seconds slide as before: at T0 + 61, second T0 + 1 is out of the minute. */
	assert_int_equal(sg_rates_sample(r, 11, 7 + 65536 + 3, T0 + 61), 0);
	assert_int_equal(sg_rates_count(r, 11, SG_WIN_1M, T0 + 61), 65536 + 3);
	assert_int_equal(sg_rates_count(r, 11, SG_WIN_1M, T0 + 62), 3);
	/* A burst of 2^32 - 1 in one second still fits a wide second. */
	assert_int_equal(sg_rates_sample(r, 11, 7 + 65536 + 3 + (__u64)UINT32_MAX, T0 + 63), 0);
	assert_int_equal(sg_rates_count(r, 11, SG_WIN_1M, T0 + 63), 3 + (__u64)UINT32_MAX);
	sg_rates_free(r);
}

/* Set: the next realloc fails, as when memory runs out, then they succeed again. */
static int fail_realloc;

void *__libc_realloc(void *p, size_t n);

void *realloc(void *p, size_t n)
{
	if (fail_realloc) {
		fail_realloc = 0;
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

/* The history cannot be made wide: nothing of the sample is counted, and the next one counts it. */
static void test_widen_fails_whole(void **state)
{
	struct sg_rates *r = new_rates(13, 0);

	assert_int_equal(sg_rates_sample(r, 13, 7, T0 + 1), 0);
	fail_realloc = 1;
	assert_int_equal(sg_rates_sample(r, 13, 7 + 65535, T0 + 2), -ENOMEM);
	assert_int_equal(fail_realloc, 0);
	assert_int_equal(sg_rates_count(r, 13, SG_WIN_1M, T0 + 2), 7);
	assert_int_equal(sg_rates_count(r, 13, SG_WIN_1H, T0 + 2), 7);
	/* 65,536 since T0 + 1: half in each second of (T0 + 1, T0 + 3]. */
	assert_int_equal(sg_rates_sample(r, 13, 7 + 65536, T0 + 3), 0);
	assert_int_equal(sg_rates_count(r, 13, SG_WIN_1M, T0 + 3), 7 + 65536);
	assert_int_equal(sg_rates_count(r, 13, SG_WIN_1H, T0 + 3), 7 + 65536);
	assert_int_equal(sg_rates_count(r, 13, SG_WIN_1M, T0 + 62), 32768);
	sg_rates_free(r);
}

/*
 * A minute's count past 16 bits while no second's is: the history is made
 * wide, every window exact; then a pause spread over minutes that each pass it.
 */
static void test_minute_past_16_bits(void **state)
{
	struct sg_rates *r = new_rates(12, 0);
	__u64 t, total = 0;

	/* 1,100 a second in seconds T0 + 1 ... T0 + 59: 64,900 in minute T0 / 60. */
	for (t = T0 + 1; t <= T0 + 59; t++)
		assert_int_equal(sg_rates_sample(r, 12, total += 1100, t), 0);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_10M, T0 + 59), 64900);
	/* 636 more in its last second: 65,536 in the minute, 1,736 in the second. */
	assert_int_equal(sg_rates_sample(r, 12, total += 636, T0 + 59), 0);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1M, T0 + 59), 65536);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_10M, T0 + 59), 65536);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1H, T0 + 59), 65536);
	assert_int_equal(sg_rates_sample(r, 12, total += 5, T0 + 60), 0);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1M, T0 + 60), 65541);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1M, T0 + 61), 65541 - 1100);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1H, T0 + 61), 65541);
	/*
	 * 200,000 after a pause of 180 seconds (T0 + 60, T0 + 240]: 66,666 or
	 * 66,667 in each whole minute of it, 66,667 in the last 60 seconds.
	 */
	assert_int_equal(sg_rates_sample(r, 12, total += 200000, T0 + 240), 0);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1M, T0 + 240), 66667);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_10M, T0 + 240), 265541);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1H, T0 + 240), 265541);
	/* Minute T0 / 60 leaves the 10 min window at T0 + 600, and the hour at T0 + 3600. */
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_10M, T0 + 600), 200005);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1H, T0 + 3599), 265541);
	assert_int_equal(sg_rates_count(r, 12, SG_WIN_1H, T0 + 3600), 200005);
	sg_rates_free(r);
}

static void test_long_windows_slide_by_the_minute(void **state)
{
	struct sg_rates *r = new_rates(9, 0);
	__u64 m, total = 0;

	/* 10 connections at second 30 of each minute, for 70 minutes; sampled the second before. */
	for (m = 0; m < 70; m++) {
		sg_rates_sample(r, 9, total, T0 + m * 60 + 29);
		total += 10;
		sg_rates_sample(r, 9, total, T0 + m * 60 + 30);
	}
	/* At minute 69 s 30: minutes 60..69 are in 10 min, 10..69 in 1 h. */
	assert_int_equal(sg_rates_count(r, 9, SG_WIN_10M, T0 + 69 * 60 + 30), 100);
	assert_int_equal(sg_rates_count(r, 9, SG_WIN_1H, T0 + 69 * 60 + 30), 600);
	/* 10 min covers 9 whole minutes and 31 s of the current one. */
	assert_true(sg_rates_rate(r, 9, SG_WIN_10M, T0 + 69 * 60 + 30) == 100.0 / (9 * 60 + 31));
	/* Two minutes later with no sample: minutes 62..71, of which 62..69 sent. */
	assert_int_equal(sg_rates_count(r, 9, SG_WIN_10M, T0 + 71 * 60 + 5), 80);
	/* Over an hour later: nothing left in any window. */
	assert_int_equal(sg_rates_count(r, 9, SG_WIN_1H, T0 + 130 * 60), 0);
	sg_rates_free(r);
}

static void test_counter_reset_and_expiry(void **state)
{
	struct sg_rates *r = new_rates(5, 100);

	sg_rates_sample(r, 5, 110, T0 + 1);
	/* The kernel entry was recreated: 4 new, not a huge negative. */
	sg_rates_sample(r, 5, 4, T0 + 2);
	assert_int_equal(sg_rates_count(r, 5, SG_WIN_1M, T0 + 2), 14);
	assert_int_equal(sg_rates_expire(r, T0 + 3600), 1);
	assert_int_equal(sg_rates_expire(r, T0 + 3602), 0);
	assert_int_equal(sg_rates_count(r, 5, SG_WIN_1H, T0 + 3602), 0);
	/* Its last count is remembered: coming back after the hour is not a burst of 4. */
	sg_rates_sample(r, 5, 4, T0 + 3999);
	sg_rates_sample(r, 5, 6, T0 + 4000);
	assert_int_equal(sg_rates_count(r, 5, SG_WIN_1M, T0 + 4000), 2);
	sg_rates_free(r);
}

/*
 * The sampler paused for 10 min (the daemon stopped) while a UID sent one
 * connection every 2 s: its 300 are spread over the 600 s they were made
 * in, so the last minute holds 30, not 300 at once.
 */
static void test_pause_is_spread(void **state)
{
	struct sg_rates *r = new_rates(7, 0);
	__u64 t, total = 0, counts[SG_WINDOWS];
	int w;

	for (t = T0 + 1; t <= T0 + 60; t++)
		sg_rates_sample(r, 7, t % 2 ? total : ++total, t);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, T0 + 60), 30);
	total += 300;
	sg_rates_sample(r, 7, total, T0 + 660);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1M, T0 + 660), 30);
	/* 10 min is minutes 2 to 11: the pause's seconds from T0 + 120 on, 541 of its 600. */
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_10M, T0 + 660), 271);
	assert_int_equal(sg_rates_count(r, 7, SG_WIN_1H, T0 + 660), 330);
	/* Then a tick apart again: that second's count, told by the sample too. */
	assert_int_equal(sg_rates_sample_counts(r, 7, total + 1, 0, T0 + 661, counts, SG_WINDOWS),
			 0);
	assert_int_equal(counts[SG_WIN_1M], 31);
	assert_int_equal(counts[SG_WIN_10M], 272);
	assert_int_equal(counts[SG_WIN_1H], 331);
	for (w = 0; w < SG_WINDOWS; w++)
		assert_int_equal(sg_rates_count(r, 7, w, T0 + 661), counts[w]);
	/* A UID new after the pause counts since the pass before it, or since the kernel's first.
	 */
	sg_rates_sample(r, 8, 300, T0 + 1261);
	assert_int_equal(sg_rates_count(r, 8, SG_WIN_1M, T0 + 1261), 30);
	sg_rates_sample_since(r, 9, 40, T0 + 1242, T0 + 1261);
	assert_int_equal(sg_rates_count(r, 9, SG_WIN_1M, T0 + 1261), 40);
	/* Within its 20 seconds, evenly: 2 a second. */
	assert_int_equal(sg_rates_count(r, 9, SG_WIN_1M, T0 + 1251), 20);
	/* A pause longer than the history: only its last hour is kept, a share of it. */
	sg_rates_sample(r, 8, 300 + 7200, T0 + 1261 + 7200);
	assert_int_equal(sg_rates_count(r, 8, SG_WIN_1M, T0 + 1261 + 7200), 60);
	/* 1 h: 59 whole minutes and the 2 s of the current one, at 1 a second. */
	assert_int_equal(sg_rates_count(r, 8, SG_WIN_1H, T0 + 1261 + 7200), 59 * 60 + 2);
	/* A pass that sampled nothing still dates what the next one finds new. */
	sg_rates_pass(r, T0 + 9000);
	sg_rates_sample(r, 10, 60, T0 + 9060);
	assert_int_equal(sg_rates_count(r, 10, SG_WIN_1M, T0 + 9060), 60);
	assert_int_equal(sg_rates_count(r, 10, SG_WIN_1M, T0 + 9030), 30);
	sg_rates_free(r);
}

/* Bytes malloc has handed out and not had back. */
static size_t allocated(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/* 10,000 UIDs sending: each history 256 bytes of heap (with 32-bit minutes, 384). */
static void test_ten_thousand_uids(void **state)
{
	struct sg_rates *r = sg_rates_new();
	size_t before;
	__u32 uid;

	for (uid = 0; uid < 10000; uid++)
		assert_int_equal(sg_rates_sample(r, 100000 + uid, uid, T0), 0);
	sg_rates_started(r, T0);
	before = allocated();
	for (uid = 0; uid < 10000; uid++)
		assert_int_equal(sg_rates_sample(r, 100000 + uid, 2 * uid, T0 + 1), 0);
	/* UID 100000 sent nothing: it has no history. A page of slack for malloc's own. */
	assert_in_range(allocated() - before, 9999 * 256, 9999 * 256 + 4096);
	for (uid = 0; uid < 10000; uid++)
		assert_int_equal(sg_rates_count(r, 100000 + uid, SG_WIN_1M, T0 + 1), uid);
	sg_rates_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_is_not_a_burst),
		cmocka_unit_test(test_one_minute_slides_by_the_second),
		cmocka_unit_test(test_last_seconds_of_32_bits),
		cmocka_unit_test(test_second_past_16_bits),
		cmocka_unit_test(test_minute_past_16_bits),
		cmocka_unit_test(test_widen_fails_whole),
		cmocka_unit_test(test_long_windows_slide_by_the_minute),
		cmocka_unit_test(test_counter_reset_and_expiry),
		cmocka_unit_test(test_pause_is_spread),
		cmocka_unit_test(test_ten_thousand_uids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
