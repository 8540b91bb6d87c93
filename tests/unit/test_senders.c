// SPDX-License-Identifier: GPL-2.0
/* The tick's senders: distinct destinations per window, and the busiest UIDs in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/senders.h"
#include "sg_bucket.h"

#define T0	 999960
#define NOW_NS	 ((__u64)(T0 + 1) * SG_NS_PER_SEC)
#define UID_BASE 3000000 /* no user of the test machine */

static void dest(struct sg_senders *s, __u32 uid, __u32 addr, __u64 ago_s)
{
	s->dests[s->n_dests++] = (struct sg_dest_seen){ .uid = uid,
							.addr = { 0, 0, 0xffff, addr },
							.last_ns = NOW_NS - ago_s * SG_NS_PER_SEC };
}

/* One address's flows on several ports are one destination, as recent as its latest. */
static void test_destinations(void **state)
{
	struct sg_senders s = { 0 };
	const __u32 *d1, *d2;

	s.rows = calloc(2, sizeof(*s.rows));
	s.dests = calloc(8, sizeof(*s.dests));
	assert_non_null(s.rows);
	assert_non_null(s.dests);
	s.rows[0].uid = 1001;
	s.rows[1].uid = 1002;
	s.n = 2;
	dest(&s, 1001, 1, 300);	 /* port 25, 5 min ago */
	dest(&s, 1001, 1, 5);	 /* the same address on 587, 5 s ago */
	dest(&s, 1001, 2, 7200); /* 2 h ago: in no window */
	dest(&s, 1002, 1, 1200); /* 20 min ago */
	dest(&s, 1002, 3, 30);
	dest(&s, 1003, 4, 1); /* a UID with no counts: nobody's */
	assert_int_equal(sg_senders_count_dests(&s, NOW_NS), 0);
	d1 = s.rows[0].destinations;
	d2 = s.rows[1].destinations;
	assert_int_equal(d1[SG_WIN_1M], 1);
	assert_int_equal(d1[SG_WIN_10M], 1);
	assert_int_equal(d1[SG_WIN_1H], 1);
	assert_int_equal(d2[SG_WIN_1M], 1);
	assert_int_equal(d2[SG_WIN_10M], 1);
	assert_int_equal(d2[SG_WIN_1H], 2);
	sg_senders_free(&s);
}

#define N    3000
#define TOPK 20

/* Whether UID a is busier than b: more in 10 min, then more ever, then the lower UID. */
static int busier(__u64 ra, __u64 aa, __u32 a, __u64 rb, __u64 ab, __u32 b)
{
	if (ra != rb)
		return ra > rb;
	if (aa != ab)
		return aa > ab;
	return a < b;
}

static __u64 recent_of(size_t i)
{
	return (i * 7919) % 50;
}

/* The k busiest, in order, out of many with ties in both counts; fewer when fewer send. */
static void test_top(void **state)
{
	struct sg_rates *r = sg_rates_new();
	struct sg_senders s = { 0 };
	struct sg_sender_rate out[TOPK];
	int taken[N] = { 0 };
	size_t i, j, best, n;

	assert_non_null(r);
	s.rows = calloc(N, sizeof(*s.rows));
	assert_non_null(s.rows);
	for (i = 0; i < N; i++)
		assert_int_equal(sg_rates_sample(r, UID_BASE + i, 0, T0), 0);
	sg_rates_started(r, T0);
	for (i = 0; i < N; i++) {
		s.rows[i].uid = UID_BASE + i;
		s.rows[i].attempts = 100 + (i * 31) % 100;
		assert_int_equal(sg_rates_sample(r, UID_BASE + i, recent_of(i), T0 + 1), 0);
	}
	s.n = N;
	n = sg_senders_top(&s, r, T0 + 1, TOPK, out);
	assert_int_equal(n, TOPK);
	for (i = 0; i < TOPK; i++) {
		best = N;
		for (j = 0; j < N; j++)
			if (!taken[j] &&
			    (best == N ||
			     busier(recent_of(j), s.rows[j].attempts, s.rows[j].uid,
				    recent_of(best), s.rows[best].attempts, s.rows[best].uid)))
				best = j;
		taken[best] = 1;
		assert_int_equal(out[i].uid, UID_BASE + best);
		assert_int_equal(out[i].attempts, s.rows[best].attempts);
	}
	s.n = 5;
	assert_int_equal(sg_senders_top(&s, r, T0 + 1, TOPK, out), 5);
	for (i = 1; i < 5; i++)
		assert_true(busier(recent_of(out[i - 1].uid - UID_BASE), out[i - 1].attempts,
				   out[i - 1].uid, recent_of(out[i].uid - UID_BASE),
				   out[i].attempts, out[i].uid));
	sg_rates_free(r);
	sg_senders_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
