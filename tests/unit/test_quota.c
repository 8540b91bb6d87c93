// SPDX-License-Identifier: GPL-2.0
/*
 * The per-tick allowance the daemon's loop gives attribution: the tick's
 * total and each key's share exactly, what is refused counted, a new tick
 * making every share whole, and a flood from one key leaving the others
 * theirs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/quota.h"

/* How many of n takes by key succeed. */
static int take_n(struct sg_quota *q, __u32 key, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += sg_quota_take(q, key);
	return k;
}

static void test_shares(void **state)
{
	struct sg_quota q;

	sg_quota_init(&q, 10, 4);
	assert_int_equal(take_n(&q, 1001, 100), 4);
	assert_int_equal(q.refused, 96);
	assert_int_equal(take_n(&q, 1002, 3), 3);
	assert_int_equal(take_n(&q, 1003, 5), 3); /* the tick's 10 are spent */
	assert_int_equal(take_n(&q, 1004, 1), 0);
	assert_int_equal(q.refused, 96 + 2 + 1);

	sg_quota_tick(&q);
	assert_int_equal(take_n(&q, 1001, 5), 4);
	assert_int_equal(take_n(&q, 1004, 1), 1);
	assert_int_equal(q.refused, 100);
}

/* One key flooding at every turn of the loop takes its share; a quiet one still gets in. */
static void test_flood(void **state)
{
	struct sg_quota q;
	int tick, taken = 0, quiet = 0;

	sg_quota_init(&q, 64, 16);
	for (tick = 0; tick < 10; tick++) {
		taken += take_n(&q, 666, 10000);
		quiet += sg_quota_take(&q, 1000 + tick);
		sg_quota_tick(&q);
	}
	assert_int_equal(taken, 10 * 16);
	assert_int_equal(quiet, 10);
	assert_int_equal(q.refused, 10 * (10000 - 16));
}

/* Many keys: each one's first take, up to the tick's total. */
static void test_many_keys(void **state)
{
	struct sg_quota q;
	__u32 key;
	int k = 0;

	sg_quota_init(&q, 300, 1); /* capped at SG_QUOTA_MAX */
	assert_int_equal(q.per_tick, SG_QUOTA_MAX);
	for (key = 0; key < 1000; key++)
		k += sg_quota_take(&q, key);
	assert_int_equal(k, SG_QUOTA_MAX);
	assert_int_equal(q.refused, 1000 - SG_QUOTA_MAX);
}

/* per_key 0, or above the tick's total, is the tick's total. */
static void test_no_share(void **state)
{
	struct sg_quota q;

	sg_quota_init(&q, 8, 0);
	assert_int_equal(take_n(&q, 7, 20), 8);
	sg_quota_init(&q, 8, 50);
	assert_int_equal(take_n(&q, 7, 20), 8);
	sg_quota_init(&q, 0, 0);
	assert_int_equal(take_n(&q, 7, 2), 0);
	assert_int_equal(q.refused, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_no_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
