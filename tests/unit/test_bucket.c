// SPDX-License-Identifier: GPL-2.0
/* The token bucket the connect hooks run, compiled here from the same header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sg_bucket.h"

#define SEC SG_NS_PER_SEC
#define T0 (1000 * SEC) /* any non-zero boot time */

/* How many of n attempts, spaced step_ns apart from start, the bucket admits. */
static int admitted(struct sg_bucket *b, const struct sg_policy *p, __u64 start, __u64 step_ns,
		    int n)
{
	int i, ok = 0;

	for (i = 0; i < n; i++)
		ok += sg_bucket_admit(b, p, start + i * step_ns);
	return ok;
}

static void test_fresh_bucket_grants_burst(void **state)
{
	struct sg_policy p = { .mode = SG_MODE_THROTTLE, .burst = 5, .rate_per_hour = 60,
			       .updated_ns = T0 };
	struct sg_bucket b = {};

	/* 20 attempts a microsecond apart: the burst and nothing more. */
	assert_int_equal(admitted(&b, &p, T0, 1000, 20), 5);
	/* What is left is the 19 us of refill at 60/h, in scaled units. */
	assert_int_equal(b.tokens, 19 * 1000 * 60);
}

static void test_refill_is_exact(void **state)
{
	struct sg_policy p = { .burst = 1, .rate_per_hour = 60, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(sg_bucket_admit(&b, &p, T0), 1);
	/* 60/h is one a minute: a nanosecond short is still refused, the minute is granted. */
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 60 * SEC - 1), 0);
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 60 * SEC), 1);
	assert_int_equal(b.tokens, 0);
}

static void test_slow_rates_are_exact(void **state)
{
	struct sg_policy p = { .burst = 2, .rate_per_hour = 7, .updated_ns = T0 };
	struct sg_bucket b = {};
	__u64 k, due;

	assert_int_equal(admitted(&b, &p, T0, 0, 3), 2);
	/*
	 * 7/h: the k-th token is due at ceil(k * 3600 s / 7). A nanosecond early
	 * is refused and on time is granted, for each of the hour's 7 tokens:
	 * the bucket never fills, so the scaled tokens carry every remainder and
	 * nothing drifts. (A full bucket discards refill: that is the burst cap.)
	 */
	for (k = 1; k <= 7; k++) {
		due = T0 + (k * 3600 * SEC + 6) / 7;
		assert_int_equal(sg_bucket_admit(&b, &p, due - 1), 0);
		assert_int_equal(sg_bucket_admit(&b, &p, due), 1);
	}
}

static void test_steady_rate_over_time(void **state)
{
	struct sg_policy p = { .burst = 10, .rate_per_hour = 600, .updated_ns = T0 };
	struct sg_bucket b = {};

	/* One attempt per second for 10 minutes at 10/min after a burst of 10: 10 + 100. */
	assert_int_equal(admitted(&b, &p, T0, SEC, 601), 110);
}

static void test_capacity_caps_idle_refill(void **state)
{
	struct sg_policy p = { .burst = 3, .rate_per_hour = 3600, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(admitted(&b, &p, T0, 0, 3), 3);
	/* A day idle refills to the burst, not beyond. */
	assert_int_equal(admitted(&b, &p, T0 + 86400 * SEC, 0, 10), 3);
}

static void test_new_policy_refills(void **state)
{
	struct sg_policy p = { .burst = 2, .rate_per_hour = 1, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(admitted(&b, &p, T0, 1, 5), 2);
	/* A fresh throttle (a new updated_ns) starts full again. */
	p.updated_ns = T0 + SEC;
	p.burst = 4;
	assert_int_equal(admitted(&b, &p, T0 + SEC, 1, 10), 4);
}

/* The detector's throttle keeps the tokens: a sender that spent its burst gets no new one. */
static void test_new_policy_keeps_tokens(void **state)
{
	struct sg_policy p = { .burst = 20, .rate_per_hour = 1200, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(admitted(&b, &p, T0, 1, 100), 20);
	p = (struct sg_policy){ .burst = 1,
				.rate_per_hour = 360,
				.updated_ns = T0 + SEC,
				.flags = SG_POLICY_KEEP_TOKENS };
	/* A second at 1200/h left a third of a token: still none to spend. */
	assert_int_equal(admitted(&b, &p, T0 + SEC, 1, 10), 0);
	/* Ten seconds at 360/h give the one token the new burst holds, and no more. */
	assert_int_equal(admitted(&b, &p, T0 + 30 * SEC, 1, 10), 1);
	/* Tokens above the new burst are cut to it. */
	b = (struct sg_bucket){};
	p.updated_ns = T0;
	p.flags = 0;
	p.burst = 20;
	assert_int_equal(admitted(&b, &p, T0, 1, 5), 5);
	p = (struct sg_policy){ .burst = 2,
				.rate_per_hour = 360,
				.updated_ns = T0 + SEC,
				.flags = SG_POLICY_KEEP_TOKENS };
	assert_int_equal(admitted(&b, &p, T0 + SEC, 1, 10), 2);
}

static void test_clock_going_back_is_harmless(void **state)
{
	struct sg_policy p = { .burst = 1, .rate_per_hour = 3600, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 10 * SEC), 1);
	/* Another CPU's earlier timestamp must not refill nor move last_ns back. */
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 9 * SEC), 0);
	assert_int_equal(b.last_ns, T0 + 10 * SEC);
}

static void test_extremes_do_not_overflow(void **state)
{
	__u64 cap = sg_bucket_capacity(SG_BURST_MAX);

	assert_int_equal(cap, 1000000ULL * SG_NS_PER_HOUR);
	/* The largest rate over the longest gap lands exactly on the cap. */
	assert_int_equal(sg_bucket_refill(0, ~0ULL, SG_RATE_MAX_PER_HOUR, SG_BURST_MAX), cap);
	assert_int_equal(sg_bucket_refill(0, 1, SG_RATE_MAX_PER_HOUR, SG_BURST_MAX),
			 SG_RATE_MAX_PER_HOUR);
	assert_int_equal(sg_bucket_refill(5, ~0ULL, 0, 1), 5);
	assert_int_equal(sg_bucket_refill(cap + 1, 0, 1, SG_BURST_MAX), cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_bucket_grants_burst),
		cmocka_unit_test(test_refill_is_exact),
		cmocka_unit_test(test_slow_rates_are_exact),
		cmocka_unit_test(test_steady_rate_over_time),
		cmocka_unit_test(test_capacity_caps_idle_refill),
		cmocka_unit_test(test_new_policy_refills),
		cmocka_unit_test(test_new_policy_keeps_tokens),
		cmocka_unit_test(test_clock_going_back_is_harmless),
		cmocka_unit_test(test_extremes_do_not_overflow),
	};

	return cmocka_run_group_tests_name("bucket", tests, NULL, NULL);
}
