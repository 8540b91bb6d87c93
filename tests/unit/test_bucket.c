// SPDX-License-Identifier: GPL-2.0
/* The token bucket (GCRA) the connect hooks run, compiled here from the same header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/types.h>

/* Compare-and-swaps to fail, as when another CPU takes a token between a read and the swap. */
static int steals;
static __u64 steal_ns; /* what the other CPU's token moves the TAT by */

static __u64 test_cas(__u64 *p, __u64 old, __u64 new)
{
	if (steals) {
		steals--;
		*p += steal_ns;
		return *p;
	}
	return __sync_val_compare_and_swap(p, old, new);
}

#define sg_bucket_cas(p, old, new) test_cas(p, old, new)
#include "sg_bucket.h"

#define SEC SG_NS_PER_SEC
#define T0 (1000 * SEC) /* any non-zero boot time */

/* How many of n attempts, spaced step_ns apart from start, the bucket admits. */
static int admitted(struct sg_bucket *b, const struct sg_policy *p, __u64 start, __u64 step_ns,
		    int n)
{
	int i, ok = 0;

	for (i = 0; i < n; i++)
		ok += sg_bucket_admit(b, p, start + i * step_ns) == SG_BUCKET_ALLOW;
	return ok;
}

static void test_fresh_bucket_grants_burst(void **state)
{
	struct sg_policy p = { .mode = SG_MODE_THROTTLE, .burst = 5, .rate_per_hour = 60,
			       .updated_ns = T0 };
	struct sg_bucket b = {};

	/* 20 attempts at one instant: the burst and nothing more. */
	assert_int_equal(admitted(&b, &p, T0, 0, 20), 5);
	/* Full again five minutes on; the refusals wrote nothing. */
	assert_int_equal(b.tat_ns, T0 + 5 * 60 * SEC);
	assert_int_equal(b.last_ns, T0);
	assert_int_equal(b.policy_ns, T0);
}

static void test_one_more_after_interval(void **state)
{
	struct sg_policy p = { .burst = 2, .rate_per_hour = 60, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(admitted(&b, &p, T0, 0, 3), 2);
	/* 60/h is one a minute: a nanosecond short is refused, the minute grants one, only one. */
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 60 * SEC - 1), SG_BUCKET_DENY);
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 60 * SEC), SG_BUCKET_ALLOW);
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 60 * SEC), SG_BUCKET_DENY);
	assert_int_equal(b.tat_ns, T0 + 3 * 60 * SEC);
}

static void test_interval_rounds_up(void **state)
{
	struct sg_policy p = { .burst = 2, .rate_per_hour = 7, .updated_ns = T0 };
	struct sg_bucket b = {};
	__u64 t = sg_bucket_interval(7), k, due;

	/* 3600 s / 7 = 514285714285.7 ns: rounded up, so 7/h is never exceeded. */
	assert_int_equal(t, 514285714286ULL);
	assert_int_equal(sg_bucket_interval(3600), SEC);
	assert_int_equal(sg_bucket_interval(SG_RATE_MAX_PER_HOUR), 1000);
	assert_int_equal(sg_bucket_interval(SG_RATE_MAX_PER_HOUR - 1), 1001);
	assert_int_equal(sg_bucket_interval(1), SG_NS_PER_HOUR);
	assert_int_equal(admitted(&b, &p, T0, 0, 3), 2);
	/* The k-th token after the burst is due k intervals on: a nanosecond early is refused. */
	for (k = 1; k <= 7; k++) {
		due = T0 + k * t;
		assert_int_equal(sg_bucket_admit(&b, &p, due - 1), SG_BUCKET_DENY);
		assert_int_equal(sg_bucket_admit(&b, &p, due), SG_BUCKET_ALLOW);
	}
}

static void test_steady_rate_over_time(void **state)
{
	struct sg_policy p = { .burst = 10, .rate_per_hour = 600, .updated_ns = T0 };
	struct sg_bucket b = {};

	/* One attempt per second for 10 minutes at 10/min after a burst of 10: 10 + 100. */
	assert_int_equal(admitted(&b, &p, T0, SEC, 601), 110);
}

static void test_full_again_and_no_fuller(void **state)
{
	struct sg_policy p = { .burst = 3, .rate_per_hour = 3600, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(admitted(&b, &p, T0, 0, 3), 3);
	/* burst * T later it is full: the burst again, and no more. */
	assert_int_equal(admitted(&b, &p, T0 + 3 * SEC, 0, 10), 3);
	/* A day idle fills it to the burst, not beyond. */
	assert_int_equal(admitted(&b, &p, T0 + 86400 * SEC, 0, 10), 3);
	assert_int_equal(b.tat_ns, T0 + 86400 * SEC + 3 * SEC);
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
	assert_int_equal(b.policy_ns, T0 + SEC);
	assert_int_equal(b.tat_ns, T0 + SEC + 4 * SG_NS_PER_HOUR);
}

/*
 * The detector's throttle keeps the tokens left: a sender that spent its
 * burst gets no new one, under any rate and burst.
 */
static void test_new_policy_keeps_tokens(void **state)
{
	struct sg_policy p = { .burst = 20, .rate_per_hour = 1200, .updated_ns = T0 };
	struct sg_bucket b = {};

	/* 20 at 3 s each: full again a minute on. */
	assert_int_equal(admitted(&b, &p, T0, 0, 100), 20);
	assert_int_equal(b.tat_ns, T0 + 60 * SEC);
	p = (struct sg_policy){ .burst = 1,
				.rate_per_hour = 360,
				.updated_ns = T0 + SEC,
				.flags = SG_POLICY_KEEP_TOKENS };
	/* None left (a third of one, rounded down): the new burst of 1 comes back in 10 s. */
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + SEC), SG_BUCKET_DENY);
	assert_int_equal(b.policy_ns, T0 + SEC);
	assert_int_equal(b.tat_ns, T0 + 11 * SEC);
	assert_int_equal(b.interval_ns, 10 * SEC);
	assert_int_equal(b.burst, 1);
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 11 * SEC - 1), SG_BUCKET_DENY);
	assert_int_equal(admitted(&b, &p, T0 + 11 * SEC, 0, 10), 1);
	assert_int_equal(b.tat_ns, T0 + 21 * SEC);
	/* The same change without the flag: full again. */
	p.updated_ns = T0 + 22 * SEC;
	p.flags = 0;
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 22 * SEC), SG_BUCKET_ALLOW);
	assert_int_equal(b.tat_ns, T0 + 32 * SEC);

	/* A default burst of 60 at 3,600/h spent, a second gone: one token back, kept. */
	p = (struct sg_policy){ .burst = 60, .rate_per_hour = 3600, .updated_ns = T0 + 40 * SEC };
	b = (struct sg_bucket){};
	assert_int_equal(admitted(&b, &p, T0 + 40 * SEC, 0, 100), 60);
	p = (struct sg_policy){ .burst = 10,
				.rate_per_hour = 10,
				.updated_ns = T0 + 41 * SEC,
				.flags = SG_POLICY_KEEP_TOKENS };
	assert_int_equal(admitted(&b, &p, T0 + 41 * SEC, 0, 10), 1);
	assert_int_equal(b.tat_ns, T0 + 41 * SEC + 10 * 360 * SEC);
	/* A slower policy spent, then a faster one: a token a second from there, not an hour. */
	p = (struct sg_policy){ .burst = 10,
				.rate_per_hour = 3600,
				.updated_ns = T0 + 42 * SEC,
				.flags = SG_POLICY_KEEP_TOKENS };
	assert_int_equal(admitted(&b, &p, T0 + 42 * SEC, 0, 10), 0);
	assert_int_equal(b.tat_ns, T0 + 52 * SEC);
	assert_int_equal(admitted(&b, &p, T0 + 43 * SEC, 0, 10), 1);
}

static void test_clock_going_back_is_harmless(void **state)
{
	struct sg_policy p = { .burst = 1, .rate_per_hour = 3600, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 10 * SEC), SG_BUCKET_ALLOW);
	/* Another CPU's earlier timestamp finds the bucket as empty, and moves nothing. */
	assert_int_equal(sg_bucket_admit(&b, &p, T0 + 9 * SEC), SG_BUCKET_DENY);
	assert_int_equal(b.tat_ns, T0 + 11 * SEC);
}

/* No writer makes a rate or burst of 0 or a burst above the bound; the hooks stay safe. */
static void test_hand_written_policies(void **state)
{
	struct sg_policy p = { .burst = 5, .rate_per_hour = 0, .updated_ns = T0 };
	struct sg_bucket b = {};

	assert_int_equal(sg_bucket_interval(0), 0);
	assert_int_equal(admitted(&b, &p, T0, 0, 3), 0);
	assert_int_equal(b.tat_ns, 0);
	p = (struct sg_policy){ .burst = 0, .rate_per_hour = 3600, .updated_ns = T0 };
	assert_int_equal(admitted(&b, &p, T0, 0, 3), 0);
	/* A burst above SG_BURST_MAX counts as SG_BURST_MAX. */
	assert_int_equal(sg_bucket_take(0, T0, SG_NS_PER_HOUR, ~0U, 1), T0 + SG_NS_PER_HOUR);
	assert_int_equal(sg_bucket_take(T0 + (__u64)SG_BURST_MAX * SG_NS_PER_HOUR, T0,
					SG_NS_PER_HOUR, ~0U, 1),
			 0);
}

static void test_extremes_do_not_overflow(void **state)
{
	__u64 now = 100ULL * 365 * 86400 * SEC; /* a century up */
	__u64 full = (__u64)SG_BURST_MAX * SG_NS_PER_HOUR;

	/* The slowest rate and the largest burst, all spent at once: 3.6e18 ahead. */
	assert_int_equal(sg_bucket_take(now, now, SG_NS_PER_HOUR, SG_BURST_MAX, SG_BURST_MAX),
			 now + full);
	assert_int_equal(sg_bucket_take(now + full, now, SG_NS_PER_HOUR, SG_BURST_MAX, 1), 0);
	assert_int_equal(
		sg_bucket_take(now + full - SG_NS_PER_HOUR, now, SG_NS_PER_HOUR, SG_BURST_MAX, 1),
		now + full);
	/* More than the burst at once is never there. */
	assert_int_equal(sg_bucket_take(0, now, SEC, 3, 4), 0);
	assert_int_equal(sg_bucket_take(0, now, SEC, 3, 3), now + 3 * SEC);
}

static void test_tokens(void **state)
{
	__u64 t = 60 * SEC; /* at 60/h */

	assert_true(sg_bucket_tokens(0, T0, 60, 5) == 5);
	assert_true(sg_bucket_tokens(T0, T0, 60, 5) == 5);
	assert_true(sg_bucket_tokens(T0 + 2 * t, T0, 60, 5) == 3);
	assert_true(sg_bucket_tokens(T0 + 2 * t, T0 + t / 2, 60, 5) == 3.5);
	assert_true(sg_bucket_tokens(T0 + 5 * t, T0, 60, 5) == 0);
	/* A TAT kept from a slower policy: owed more than the burst, shown as none. */
	assert_true(sg_bucket_tokens(T0 + 9 * t, T0, 60, 5) == 0);
	assert_true(sg_bucket_tokens(0, T0, 0, 5) == 0);
}

/* A compare-and-swap lost to another CPU's token is tried again from what it read. */
static void test_lost_swap_retries(void **state)
{
	struct sg_policy p = { .burst = 100, .rate_per_hour = 3600, .updated_ns = T0 };
	struct sg_bucket b = {};

	/* The others take theirs from a bucket in use, with a TAT past now. */
	assert_int_equal(sg_bucket_admit(&b, &p, T0), SG_BUCKET_ALLOW);
	steal_ns = SEC;
	steals = SG_BUCKET_TRIES - 1;
	assert_int_equal(sg_bucket_admit(&b, &p, T0), SG_BUCKET_ALLOW);
	/* The first token, the others' 7 and this one. */
	assert_int_equal(b.tat_ns, T0 + (1 + SG_BUCKET_TRIES) * SEC);
	/* Every try lost: refused, and only the others' tokens spent. */
	steals = SG_BUCKET_TRIES;
	assert_int_equal(sg_bucket_admit(&b, &p, T0), SG_BUCKET_CONTENDED);
	assert_int_equal(b.tat_ns, T0 + (1 + 2 * SG_BUCKET_TRIES) * SEC);
	/* A loss that empties the bucket: the retry finds no token. */
	p.burst = 2 + 2 * SG_BUCKET_TRIES;
	steals = 1;
	assert_int_equal(sg_bucket_admit(&b, &p, T0), SG_BUCKET_DENY);
	assert_int_equal(b.tat_ns, T0 + (2 + 2 * SG_BUCKET_TRIES) * SEC);
	assert_int_equal(steals, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_bucket_grants_burst),
		cmocka_unit_test(test_one_more_after_interval),
		cmocka_unit_test(test_interval_rounds_up),
		cmocka_unit_test(test_steady_rate_over_time),
		cmocka_unit_test(test_full_again_and_no_fuller),
		cmocka_unit_test(test_new_policy_refills),
		cmocka_unit_test(test_new_policy_keeps_tokens),
		cmocka_unit_test(test_clock_going_back_is_harmless),
		cmocka_unit_test(test_hand_written_policies),
		cmocka_unit_test(test_extremes_do_not_overflow),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_lost_swap_retries),
	};

	return cmocka_run_group_tests_name("bucket", tests, NULL, NULL);
}
