// SPDX-License-Identifier: GPL-2.0
/*
 * The detector on synthetic series: one observation per simulated second,
 * computed from a per-second count of connections (total cumulative, last_1m
 * the sum over the 60 seconds up to and including this one), with the exact
 * second each alert is raised and cleared and the exact value and limit it
 * reports. All in UTC, from a Wednesday at 10:00.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/baseline.h"
#include "core/detect.h"

#define H     3600
#define W     (7 * 24 * H)
#define T0    1704276000    /* 2024-01-03 10:00:00 UTC, a Wednesday */
#define WED10 (3 * 24 + 10) /* its hour of the week */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Doubles compared exactly: the expected values are computed as the detector computes them. */
#define assert_exactly(a, b)                                                                       \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (a_ != b_)                                                                      \
			fail_msg("%s is %.17g, not %.17g", #a, a_, b_);                            \
	} while (0)

/* The config's defaults. */
static const struct sg_thresholds defaults = {
	.rate_floor = 120,
	.rate_factor = 5,
	.destinations = 50,
	.new_sender_rate = 60,
	.new_sender_min = 20,
	.failure_ratio = 0.5,
	.failure_min = 20,
};

static const struct sg_thresholds new_only = { .new_sender_rate = 60, .new_sender_min = 20 };
static const struct sg_thresholds rate_only = { .rate_floor = 120, .rate_factor = 5 };

struct event {
	time_t t;
	enum sg_rule rule;
	int raised;
	double value, limit;
};

/* One principal's synthetic series and the changes the detector reported for it. */
struct series {
	const char *id;
	time_t t; /* the last second stepped; 0 before the first */
	__u64 total, last_1m;
	__u32 per_s[60];    /* connections by second mod 60 */
	__u32 destinations; /* set by the case before each tick */
	__u64 finished, failed;
	struct event ev[16];
	unsigned int n_ev;
};

struct env {
	struct sg_baselines *store;
	struct sg_detector *d;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	e->store = sg_baselines_new();
	e->d = e->store ? sg_detector_new(e->store) : NULL;
	*state = e;
	return e->d ? 0 : -1;
}

static int teardown(void **state)
{
	struct env *e = *state;

	sg_detector_free(e->d);
	sg_baselines_free(e->store);
	free(e);
	return 0;
}

/* Second now of s: n connections in it, then the observation to the detector. */
static int tick(struct sg_detector *d, struct series *s, __u32 n, const struct sg_thresholds *t,
		time_t now)
{
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o;
	int i, ret;

	if (s->t && now != s->t + 1)
		fail_msg("%s: second %lld after %lld", s->id, (long long)now, (long long)s->t);
	s->t = now;
	s->last_1m -= s->per_s[now % 60];
	s->per_s[now % 60] = n;
	s->last_1m += n;
	s->total += n;
	o = (struct sg_observation){ .total = s->total,
				     .last_1m = s->last_1m,
				     .destinations_10m = s->destinations,
				     .finished_10m = s->finished,
				     .failed_10m = s->failed };
	ret = sg_detect_observe(d, s->id, &o, t, now, out);
	if (ret < 0 || ret > SG_RULES)
		fail_msg("%s at T0%+lld: sg_detect_observe returned %d", s->id,
			 (long long)(now - T0), ret);
	for (i = 0; i < ret; i++) {
		if (s->n_ev == ARRAY_SIZE(s->ev))
			fail_msg("%s: more than %zu changes", s->id, ARRAY_SIZE(s->ev));
		s->ev[s->n_ev++] = (struct event){ now, out[i].rule, out[i].raised, out[i].value,
						   out[i].limit };
	}
	return ret;
}

static void print_events(const struct series *s)
{
	unsigned int i;

	for (i = 0; i < s->n_ev; i++)
		print_error("%s: T0%+lld %s %s value %.17g limit %.17g\n", s->id,
			    (long long)(s->ev[i].t - T0), sg_rule_names[s->ev[i].rule],
			    s->ev[i].raised ? "raised" : "cleared", s->ev[i].value, s->ev[i].limit);
}

static void assert_events(const struct series *s, unsigned int n)
{
	if (s->n_ev == n)
		return;
	print_events(s);
	fail_msg("%s: %u changes, expected %u", s->id, s->n_ev, n);
}

static void assert_event(const struct series *s, unsigned int i, time_t t, enum sg_rule rule,
			 int raised, double value, double limit)
{
	const struct event *ev = &s->ev[i];

	assert_in_range(i, 0, s->n_ev - 1);
	if (ev->t == t && ev->rule == rule && ev->raised == raised && ev->value == value &&
	    ev->limit == limit)
		return;
	print_events(s);
	fail_msg("%s: change %u is not T0%+lld %s %s value %.17g limit %.17g", s->id, i,
		 (long long)(t - T0), sg_rule_names[rule], raised ? "raised" : "cleared", value,
		 limit);
}

static const struct sg_principal *get(const struct env *e, const char *id)
{
	const struct sg_principal *p = sg_detect_get(e->d, id);

	if (!p)
		fail_msg("%s: not found", id);
	assert_string_equal(p->id, id);
	/* Its id is its baseline's: one copy, sized to it. */
	assert_ptr_equal(p->id, p->baseline->principal);
	assert_true(malloc_usable_size((void *)p) < 512);
	return p;
}

static int n_learned(const struct sg_baseline *b)
{
	int w, n = 0;

	for (w = 0; w < SG_HOURS_PER_WEEK; w++)
		n += sg_baseline_learned(b, w);
	return n;
}

static void test_hour_of_t0(void **state)
{
	assert_int_equal(sg_hour_of_week(T0), WED10);
	assert_int_equal(sg_hour_of_week(T0 - 1), WED10 - 1);
}

static void test_new_sender(void **state)
{
	struct env *e = *state;
	struct series fast = { .id = "uid:1001" }, ten = { .id = "uid:1002" },
		      one = { .id = "uid:1003" }, every2 = { .id = "uid:1004" },
		      every3 = { .id = "uid:1005" };
	const struct sg_principal *p;
	time_t now, k;

	/* Second k is T0 + k; every series makes its first connection in second 1. */
	for (now = T0 + 1; now <= T0 + H + 100; now++) {
		k = now - T0;
		tick(e->d, &fast, 100, &new_only, now);
		tick(e->d, &ten, 10, &new_only, now);
		if (k == 1) {
			p = get(e, ten.id);
			assert_int_equal(p->baseline->first_seen, T0 + 1);
			assert_true(p->is_new);
			assert_int_equal(p->obs.last_1m, 10);
			assert_false(p->rules[SG_RULE_NEW_SENDER].active);
		}
		if (k == 3600 || k == 3601) {
			/* New for an hour from its first second: until T0 + 3600. */
			assert_int_equal(get(e, fast.id)->is_new, k == 3600);
			assert_true(get(e, fast.id)->rules[SG_RULE_NEW_SENDER].active);
		}
		if (k > 600)
			continue;
		/* Exactly 60 per minute at every second: never above new_sender_rate. */
		tick(e->d, &one, 1, &new_only, now);
		/* Legitimate users, under every default rule. */
		tick(e->d, &every2, k % 2 == 1, &defaults, now);
		tick(e->d, &every3, k % 3 == 1, &defaults, now);
		if (k == 39) {
			/* Its 20th connection in its 39th second: 20 x 60 / 39 = 30.8 per minute.
			 */
			p = get(e, every2.id);
			assert_int_equal(p->obs.last_1m, 20);
			assert_true(p->is_new);
			assert_true(20.0 * 60 / 39 < 60);
		}
	}
	/* 100 in its first second: 100 x 60 / 1 per minute. */
	assert_events(&fast, 2);
	assert_event(&fast, 0, T0 + 1, SG_RULE_NEW_SENDER, 1, (double)100 * 60 / 1, 60);
	/* No longer new at T0 + 3601: cleared a minute after T0 + 3600. */
	assert_event(&fast, 1, T0 + 3660, SG_RULE_NEW_SENDER, 0, (double)6000 * 60 / 60, 60);
	p = get(e, fast.id);
	assert_int_equal(p->rules[SG_RULE_NEW_SENDER].since, T0 + 1);
	assert_int_equal(p->rules[SG_RULE_NEW_SENDER].last_true, T0 + 3600);
	assert_exactly(p->rules[SG_RULE_NEW_SENDER].value, 6000);
	assert_exactly(p->rules[SG_RULE_NEW_SENDER].limit, 60);
	assert_int_equal(p->rules[SG_RULE_NEW_SENDER].raised, 1);
	/* 10 a second: new_sender_min (20) in its second second, 20 x 60 / 2 per minute. */
	assert_events(&ten, 2);
	assert_event(&ten, 0, T0 + 2, SG_RULE_NEW_SENDER, 1, (double)20 * 60 / 2, 60);
	assert_event(&ten, 1, T0 + 3660, SG_RULE_NEW_SENDER, 0, (double)600 * 60 / 60, 60);
	assert_events(&one, 0);
	assert_events(&every2, 0);
	assert_events(&every3, 0);
	assert_int_equal(get(e, every2.id)->obs.last_1m, 30);
	assert_int_equal(get(e, every3.id)->obs.last_1m, 20);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_NEW_SENDER), 2);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_RATE), 0);
}

static void test_known_is_not_new(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds t = {
		.rate_floor = 120,
		.rate_factor = 5,
		.new_sender_rate = 60,
		.new_sender_min = 20,
	};
	/* known and recent had made 5000 connections before the daemon looked. */
	struct series known = { .id = "uid:2001", .total = 5000 }, fresh = { .id = "uid:2002" },
		      recent = { .id = "uid:2003", .total = 5000 };
	const struct sg_principal *p;
	struct sg_baseline *b;
	time_t now;

	/* recent has a record from 10 minutes ago, as a baseline file would keep it. */
	b = sg_baselines_get(e->store, recent.id, 1, T0 - 600);
	assert_non_null(b);
	/* The first pass, at T0. */
	assert_int_equal(sg_detect_known(e->d, known.id, 5000, T0), 0);
	assert_int_equal(sg_detect_known(e->d, recent.id, 5000, T0), 0);
	p = get(e, known.id);
	assert_int_equal(p->baseline->first_seen, 0);
	assert_int_equal(p->obs.total, 5000);
	assert_exactly(p->expected, -1);
	assert_false(p->is_new);
	/* A record it had keeps its first_seen. */
	assert_ptr_equal(get(e, recent.id)->baseline, b);
	assert_int_equal(b->first_seen, T0 - 600);
	for (now = T0 + 1; now <= T0 + 120; now++) {
		tick(e->d, &known, 100, &t, now);
		tick(e->d, &fresh, 100, &t, now);
		tick(e->d, &recent, 100, &t, now);
	}
	/* 100 in the first second is not above 120; 200 in two is. */
	assert_events(&known, 1);
	assert_event(&known, 0, T0 + 2, SG_RULE_RATE, 1, 200, 120);
	p = get(e, known.id);
	assert_false(p->is_new);
	assert_false(p->rules[SG_RULE_NEW_SENDER].active);
	/* Only what it sent since is learned: not the 5000. */
	assert_int_equal(p->baseline->acc, 120 * 100);
	assert_int_equal(p->obs.total, 5000 + 120 * 100);
	/* The same series from a principal never seen: new at once, then the rate. */
	assert_events(&fresh, 2);
	assert_event(&fresh, 0, T0 + 1, SG_RULE_NEW_SENDER, 1, (double)100 * 60 / 1, 60);
	assert_event(&fresh, 1, T0 + 2, SG_RULE_RATE, 1, 200, 120);
	assert_int_equal(get(e, fresh.id)->baseline->acc, 120 * 100);
	/* First seen 601 s before its first tick: still new, its span a whole minute. */
	assert_events(&recent, 2);
	assert_event(&recent, 0, T0 + 1, SG_RULE_NEW_SENDER, 1, (double)100 * 60 / 60, 60);
	assert_event(&recent, 1, T0 + 2, SG_RULE_RATE, 1, 200, 120);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_NEW_SENDER), 2);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_RATE), 3);
}

/*
 * 10 a minute (one connection every 6 s) for three hours, Wednesday 10:00 to
 * 13:00: slots 10, 11 and 12 of Wednesday learn 10 per minute. From 13:00,
 * whose slot is not learned, the baseline is their mean, 10, and the limit
 * max(rate_floor 20, rate_factor 5 x 10) = 50.
 */
static void test_rate_learned(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds t = { .rate_floor = 20, .rate_factor = 5 };
	const time_t j = T0 + 3 * H;
	struct series jump = { .id = "uid:3001", .total = 100 },
		      steady = { .id = "uid:3002", .total = 100 };
	const struct sg_principal *p;
	time_t now, k;
	int w;

	assert_int_equal(sg_detect_known(e->d, jump.id, 100, T0 - 1), 0);
	assert_int_equal(sg_detect_known(e->d, steady.id, 100, T0 - 1), 0);
	for (now = T0; now < j + 600; now++) {
		k = now - T0;
		/* From 13:00, 6 (60 a minute) or 5 (50 a minute) every 6 s. */
		tick(e->d, &jump, (k % 6 == 0) * (now >= j ? 6 : 1), &t, now);
		tick(e->d, &steady, (k % 6 == 0) * (now >= j ? 5 : 1), &t, now);
		p = get(e, jump.id);
		if (now == T0 + H - 1) {
			assert_exactly(p->expected, -1);
			assert_int_equal(p->baseline->acc, 600);
			assert_int_equal(n_learned(p->baseline), 0);
		}
		if (now == T0 + H) {
			/* 10:00 learned as 600 / 60; 11:00 not yet: the mean, of one. */
			assert_true(sg_baseline_learned(p->baseline, WED10));
			assert_true(p->baseline->per_min[WED10] == 10.0f);
			assert_exactly(p->expected, 10);
			assert_int_equal(p->baseline->acc, 1);
		}
		if (now == j) {
			for (w = 0; w < SG_HOURS_PER_WEEK; w++)
				assert_int_equal(sg_baseline_learned(p->baseline, w),
						 w >= WED10 && w <= WED10 + 2);
			for (w = WED10; w <= WED10 + 2; w++)
				assert_true(p->baseline->per_min[w] == 10.0f);
			assert_exactly(sg_baseline_per_min(p->baseline, j), 10);
			assert_exactly(p->expected, 10);
		}
		if (now == j + 47) {
			/* 6 x 8 new and 2 old: at the limit, not above it. */
			assert_int_equal(p->obs.last_1m, 50);
			assert_false(p->rules[SG_RULE_RATE].active);
		}
	}
	/* 6 x 9 new and 1 old = 55 > 5 x 10. */
	assert_events(&jump, 1);
	assert_event(&jump, 0, j + 48, SG_RULE_RATE, 1, 55, 5 * 10);
	p = get(e, jump.id);
	assert_int_equal(p->rules[SG_RULE_RATE].last_true, j + 599);
	assert_exactly(p->rules[SG_RULE_RATE].value, 60);
	assert_exactly(p->rules[SG_RULE_RATE].limit, 50);
	/* 50 a minute for ten minutes: equal to the limit, never above. */
	assert_events(&steady, 0);
	p = get(e, steady.id);
	assert_int_equal(p->obs.last_1m, 50);
	assert_exactly(p->expected, 10);
	assert_false(p->baseline->tainted);
}

/* Baselines made through the store, as a baseline file would bring them. */
static void test_rate_limit_from_store(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds t = { .rate_floor = 20, .rate_factor = 5 };
	struct series low = { .id = "uid:3003", .total = 360 },
		      slot = { .id = "uid:3004", .total = 1800 };
	struct sg_baseline *b, *c;
	time_t now;
	int w;

	/* low: 120 connections in each of 07:00, 08:00 and 09:00 (2 per minute). */
	b = sg_baselines_get(e->store, low.id, 1, T0 - 3 * H);
	assert_non_null(b);
	sg_baseline_add(b, 120, T0 - 3 * H);
	sg_baseline_add(b, 120, T0 - 2 * H);
	sg_baseline_add(b, 120, T0 - H);
	/* slot: 1800 in Wednesday 10:00 a week ago (30 per minute), and then nothing. */
	c = sg_baselines_get(e->store, slot.id, 1, T0 - W);
	assert_non_null(c);
	sg_baseline_add(c, 1800, T0 - W);
	sg_baseline_add(c, 0, T0 - W + H);
	assert_int_equal(sg_detect_known(e->d, low.id, 360, T0 - 1), 0);
	assert_int_equal(sg_detect_known(e->d, slot.id, 1800, T0 - 1), 0);
	for (now = T0; now < T0 + 120; now++) {
		tick(e->d, &low, 1, &t, now);
		tick(e->d, &slot, 3, &t, now);
		if (now == T0) {
			/* 09:00 learned at the first count; 10:00 not learned: the mean, 2. */
			assert_int_equal(n_learned(b), 3);
			assert_exactly(get(e, low.id)->expected, 2);
			assert_false(get(e, low.id)->is_new);
			/* The week between learned as zeros; now's own slot is used, not the mean.
			 */
			assert_int_equal(n_learned(c), SG_HOURS_PER_WEEK);
			for (w = 0; w < SG_HOURS_PER_WEEK; w++)
				assert_true(c->per_min[w] == (w == WED10 ? 30.0f : 0.0f));
			assert_exactly(get(e, slot.id)->expected, 30);
		}
	}
	/* 5 x 2 = 10 is under the floor: the limit is 20, and 21 in 21 s is above it. */
	assert_events(&low, 1);
	assert_event(&low, 0, T0 + 20, SG_RULE_RATE, 1, 21, 20);
	/* 5 x 30 = 150: 153 in 51 s. */
	assert_events(&slot, 1);
	assert_event(&slot, 0, T0 + 50, SG_RULE_RATE, 1, 153, 150);
}

static void test_destinations(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds t = { .destinations = 50 };
	struct series s = { .id = "uid:4001" }, at = { .id = "uid:4002" };
	time_t now, k;

	for (now = T0 + 1; now <= T0 + 600; now++) {
		k = now - T0;
		/* One more destination a second, up to 60. */
		s.destinations = k < 60 ? k : 60;
		tick(e->d, &s, 1, &t, now);
		/* Exactly the bound, for ten minutes. */
		at.destinations = 50;
		tick(e->d, &at, 1, &t, now);
		if (k == 50) {
			assert_int_equal(get(e, s.id)->obs.destinations_10m, 50);
			assert_false(get(e, s.id)->rules[SG_RULE_DESTINATIONS].active);
		}
	}
	assert_events(&s, 1);
	assert_event(&s, 0, T0 + 51, SG_RULE_DESTINATIONS, 1, 51, 50);
	assert_int_equal(get(e, s.id)->rules[SG_RULE_DESTINATIONS].last_true, T0 + 600);
	assert_events(&at, 0);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_DESTINATIONS), 1);
}

static void test_failure_ratio(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds half = { .failure_ratio = 0.5, .failure_min = 10 },
				   eighty = { .failure_ratio = 0.8, .failure_min = 10 },
				   no_min = { .failure_ratio = 0.5 };
	struct series all = { .id = "uid:5001" }, equal = { .id = "uid:5002" },
		      above = { .id = "uid:5003" }, equal80 = { .id = "uid:5004" },
		      none = { .id = "uid:5005" };
	time_t now, k;

	for (now = T0 + 1; now <= T0 + 600; now++) {
		k = now - T0;
		/* Every connection fails: ratio 1.0, but only k finished. */
		all.finished = all.failed = k;
		tick(e->d, &all, 1, &half, now);
		/* Exactly the limit. */
		equal.finished = 2 * k;
		equal.failed = k;
		tick(e->d, &equal, 2, &half, now);
		equal80.finished = 10 * k;
		equal80.failed = 8 * k;
		tick(e->d, &equal80, 10, &eighty, now);
		/* Just above it: (k + 1) / 2k. */
		above.finished = 2 * k;
		above.failed = k + 1;
		tick(e->d, &above, 2, &half, now);
		/* failure_min 0: nothing finished for 10 s is no ratio, then one failure. */
		none.finished = none.failed = k > 10;
		tick(e->d, &none, 1, &no_min, now);
		if (k == 9)
			assert_false(get(e, all.id)->rules[SG_RULE_FAILURE_RATIO].active);
	}
	/* failure_min finished at second 10. */
	assert_events(&all, 1);
	assert_event(&all, 0, T0 + 10, SG_RULE_FAILURE_RATIO, 1, 1.0, 0.5);
	assert_events(&equal, 0);
	assert_events(&equal80, 0);
	/* 10 finished at second 5, 6 of them failed. */
	assert_events(&above, 1);
	assert_event(&above, 0, T0 + 5, SG_RULE_FAILURE_RATIO, 1, (double)6 / (double)10, 0.5);
	assert_events(&none, 1);
	assert_event(&none, 0, T0 + 11, SG_RULE_FAILURE_RATIO, 1, 1.0, 0.5);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_FAILURE_RATIO), 3);
}

static void test_clear(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds dest = { .destinations = 50 }, rate = { .rate_floor = 120 };
	struct series s = { .id = "uid:6001" }, r = { .id = "uid:6002" };
	const struct sg_rule_state *rs;
	time_t now, k;

	for (now = T0 + 1; now <= T0 + 300; now++) {
		k = now - T0;
		/* Above the bound in 10 to 20, at 50 and at 150. */
		s.destinations = k >= 10 && k <= 20 ? 60 : k == 50 ? 51 : k == 150 ? 70 : 10;
		tick(e->d, &s, 1, &dest, now);
		/* 10 a second for 30 s, then nothing. */
		tick(e->d, &r, k <= 30 ? 10 : 0, &rate, now);
		rs = &get(e, s.id)->rules[SG_RULE_DESTINATIONS];
		if (k == 50) {
			/* Held again: no new alert, the clock starts anew. */
			assert_true(rs->active);
			assert_int_equal(rs->raised, 1);
			assert_int_equal(rs->since, T0 + 10);
			assert_int_equal(rs->last_true, T0 + 50);
			assert_exactly(rs->value, 51);
		}
		if (k == 80 || k == 109)
			assert_true(rs->active);
		if (k == 110) {
			assert_false(rs->active);
			/* What it measured when it last held. */
			assert_exactly(rs->value, 51);
			assert_exactly(rs->limit, 50);
			assert_int_equal(rs->last_true, T0 + 50);
			assert_int_equal(sg_detect_raised(e->d, SG_RULE_DESTINATIONS), 1);
		}
		if (k == 77 || k == 78)
			assert_int_equal(get(e, r.id)->obs.last_1m, k == 77 ? 130 : 120);
	}
	/* The clears report this tick's measure. */
	assert_events(&s, 4);
	assert_event(&s, 0, T0 + 10, SG_RULE_DESTINATIONS, 1, 60, 50);
	assert_event(&s, 1, T0 + 50 + SG_ALERT_CLEAR_S, SG_RULE_DESTINATIONS, 0, 10, 50);
	assert_event(&s, 2, T0 + 150, SG_RULE_DESTINATIONS, 1, 70, 50);
	assert_event(&s, 3, T0 + 150 + SG_ALERT_CLEAR_S, SG_RULE_DESTINATIONS, 0, 10, 50);
	rs = &get(e, s.id)->rules[SG_RULE_DESTINATIONS];
	assert_false(rs->active);
	assert_int_equal(rs->raised, 2);
	assert_int_equal(rs->since, T0 + 150);
	assert_int_equal(rs->last_true, T0 + 150);
	/*
	 * 130 in the minute at 13 s; the last minute above 120 ends at 77 (seconds 18 to 30);
	 * at 137 the minute is empty.
	 */
	assert_events(&r, 2);
	assert_event(&r, 0, T0 + 13, SG_RULE_RATE, 1, 130, 120);
	assert_event(&r, 1, T0 + 77 + SG_ALERT_CLEAR_S, SG_RULE_RATE, 0, 0, 120);
	/* Per rule. */
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_DESTINATIONS), 2);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_RATE), 1);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_NEW_SENDER), 0);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_FAILURE_RATIO), 0);
	assert_int_equal(sg_detect_raised(e->d, SG_RULES), 0);
}

/*
 * 10 a minute from Wednesday 10:00 to 13:00. across has an alert from 10:59:30
 * to 11:01:10 (raised; last true at 11:00:10; cleared a minute later); inside
 * one from 11:30:00 to 11:31:10; clean none. A slot is learned only when no
 * alert was active in its hour.
 */
static void test_taint(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds t = { .destinations = 50 };
	const time_t j = T0 + 3 * H;
	struct series across = { .id = "uid:7001", .total = 10 },
		      inside = { .id = "uid:7002", .total = 10 },
		      clean = { .id = "uid:7003", .total = 10 };
	const struct sg_baseline *a, *in, *c;
	time_t now, k;

	assert_int_equal(sg_detect_known(e->d, across.id, 10, T0 - 1), 0);
	assert_int_equal(sg_detect_known(e->d, inside.id, 10, T0 - 1), 0);
	assert_int_equal(sg_detect_known(e->d, clean.id, 10, T0 - 1), 0);
	a = get(e, across.id)->baseline;
	in = get(e, inside.id)->baseline;
	c = get(e, clean.id)->baseline;
	for (now = T0; now <= j; now++) {
		k = now - T0;
		across.destinations = k >= 3570 && k <= 3610 ? 60 : 10;
		inside.destinations = k >= H + 1800 && k <= H + 1810 ? 60 : 10;
		clean.destinations = 10;
		tick(e->d, &across, k % 6 == 0, &t, now);
		tick(e->d, &inside, k % 6 == 0, &t, now);
		tick(e->d, &clean, k % 6 == 0, &t, now);
		if (k == 3569)
			assert_false(a->tainted);
		if (k == 3570)
			assert_true(a->tainted);
		if (now == T0 + H) {
			/* 10:00 not learned; 11:00 tainted from its first second. */
			assert_false(sg_baseline_learned(a, WED10));
			assert_true(a->tainted);
			assert_exactly(sg_baseline_per_min(a, now), -1);
			assert_exactly(get(e, across.id)->expected, -1);
			assert_true(sg_baseline_learned(in, WED10));
			assert_false(in->tainted);
			assert_true(sg_baseline_learned(c, WED10));
		}
		if (now == T0 + H + 1800)
			assert_true(in->tainted);
		if (now == T0 + 2 * H) {
			assert_false(sg_baseline_learned(a, WED10 + 1));
			assert_false(a->tainted);
			assert_exactly(sg_baseline_per_min(a, now), -1);
			assert_false(sg_baseline_learned(in, WED10 + 1));
			assert_false(in->tainted);
			assert_true(sg_baseline_learned(c, WED10 + 1));
		}
	}
	assert_events(&across, 2);
	assert_event(&across, 0, T0 + 3570, SG_RULE_DESTINATIONS, 1, 60, 50);
	assert_event(&across, 1, T0 + 3610 + SG_ALERT_CLEAR_S, SG_RULE_DESTINATIONS, 0, 10, 50);
	assert_events(&inside, 2);
	assert_event(&inside, 0, T0 + H + 1800, SG_RULE_DESTINATIONS, 1, 60, 50);
	assert_event(&inside, 1, T0 + H + 1810 + SG_ALERT_CLEAR_S, SG_RULE_DESTINATIONS, 0, 10, 50);
	/* At 13:00: only 12:00 for across; 10:00 and 12:00 for inside; all three for clean. */
	assert_int_equal(n_learned(a), 1);
	assert_true(sg_baseline_learned(a, WED10 + 2));
	assert_true(a->per_min[WED10 + 2] == 10.0f);
	assert_exactly(sg_baseline_per_min(a, j), 10);
	assert_int_equal(n_learned(in), 2);
	assert_true(sg_baseline_learned(in, WED10) && sg_baseline_learned(in, WED10 + 2));
	assert_int_equal(n_learned(c), 3);
	assert_true(sg_baseline_learned(c, WED10) && sg_baseline_learned(c, WED10 + 1) &&
		    sg_baseline_learned(c, WED10 + 2));
	assert_int_equal(a->acc, 1);
	assert_int_equal(c->acc, 1);
}

/* The mail principals' own rules: each raised at the exact observation that passes its bound. */
static void test_mail_rules(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds t = {
		.client_ips = 5, .bounce_share = 0.5, .bounce_min = 20, .bounce_flood = 100
	};
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { .total = 1 };
	int n;

	/* 5 client IPs is the bound, 6 passes it. */
	o.client_ips_1h = 5;
	assert_int_equal(sg_detect_observe(e->d, "sasl:a@x.test", &o, &t, T0, out), 0);
	o.client_ips_1h = 6;
	n = sg_detect_observe(e->d, "sasl:a@x.test", &o, &t, T0 + 1, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].rule, SG_RULE_CLIENT_IPS);
	assert_int_equal(out[0].raised, 1);
	assert_true(out[0].value == 6 && out[0].limit == 5);

	/* 19 outcomes, all bounced: under bounce_min; 20 with 11 bounced (0.55) passes. */
	o = (struct sg_observation){ .total = 1, .delivered_10m = 19, .bounced_10m = 19 };
	assert_int_equal(sg_detect_observe(e->d, "sasl:b@x.test", &o, &t, T0, out), 0);
	o = (struct sg_observation){ .total = 1, .delivered_10m = 20, .bounced_10m = 10 };
	assert_int_equal(sg_detect_observe(e->d, "sasl:b@x.test", &o, &t, T0 + 1, out), 0);
	o.bounced_10m = 11;
	n = sg_detect_observe(e->d, "sasl:b@x.test", &o, &t, T0 + 2, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].rule, SG_RULE_BOUNCE_SHARE);
	assert_true(out[0].value == 0.55 && out[0].limit == 0.5);

	/* A mailbox that sends nothing still drowns: bounce_flood on 101 bounces in. */
	o = (struct sg_observation){ .bounces_in_1h = 100 };
	assert_int_equal(sg_detect_observe(e->d, "sasl:c@x.test", &o, &t, T0, out), 0);
	o.bounces_in_1h = 101;
	o.total = 0;
	n = sg_detect_observe(e->d, "sasl:c@x.test", &o, &t, T0 + 1, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].rule, SG_RULE_BOUNCE_FLOOD);
	assert_true(out[0].value == 101 && out[0].limit == 100);
}

static void test_total_down(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds off = { 0 };
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { 0 };
	const struct sg_principal *p;
	static const struct {
		time_t t;
		__u64 total, acc;
	} steps[] = {
		{ T0, 1000, 1000 },
		{ T0 + 1, 1010, 1010 },
		/* The kernel entry made anew: all 5 are new. */
		{ T0 + 2, 5, 1015 },
		{ T0 + 3, 8, 1018 },
		{ T0 + 4, 8, 1018 },
		{ T0 + 5, 0, 1018 },
		{ T0 + 6, 2, 1020 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		o.total = steps[i].total;
		assert_int_equal(sg_detect_observe(e->d, "uid:8001", &o, &off, steps[i].t, out), 0);
		p = get(e, "uid:8001");
		assert_int_equal(p->obs.total, steps[i].total);
		assert_int_equal(p->baseline->acc, steps[i].acc);
	}
	/* The hour learns the 1020. */
	o.total = 2;
	assert_int_equal(sg_detect_observe(e->d, "uid:8001", &o, &off, T0 + H, out), 0);
	assert_true(p->baseline->per_min[WED10] == (float)(1020 / 60.0));
	assert_int_equal(p->baseline->acc, 0);
}

static void test_nothing_and_off(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds off = { 0 };
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { 0 };
	struct series s = { .id = "uid:9003" };
	time_t now;
	int r;

	/* Never sent: nothing made. */
	assert_int_equal(sg_detect_observe(e->d, "uid:9001", &o, &defaults, T0, out), 0);
	assert_null(sg_detect_get(e->d, "uid:9001"));
	assert_int_equal(sg_baselines_count(e->store), 0);
	/* With a record (from a file), remembered though it sends nothing. */
	assert_non_null(sg_baselines_get(e->store, "uid:9002", 1, T0 - W));
	assert_int_equal(sg_detect_observe(e->d, "uid:9002", &o, &defaults, T0, out), 0);
	assert_int_equal(get(e, "uid:9002")->obs.total, 0);
	/* Every rule off: 1000 a second to 500 destinations, all failing. */
	for (now = T0 + 1; now <= T0 + 120; now++) {
		s.destinations = 500;
		s.finished = s.failed = 100;
		tick(e->d, &s, 1000, &off, now);
	}
	assert_events(&s, 0);
	for (r = 0; r < SG_RULES; r++) {
		assert_int_equal(sg_detect_raised(e->d, r), 0);
		assert_false(get(e, s.id)->rules[r].active);
	}
	assert_true(get(e, s.id)->is_new);
	assert_int_equal(sg_baselines_count(e->store), 2);

	/* No floor and a factor, nothing learned: no limit of 0, so no alert for one connection. */
	{
		const struct sg_thresholds factor_only = { .rate_factor = 5 };
		struct series k = { .id = "uid:9004" };

		assert_int_equal(sg_detect_known(e->d, k.id, 0, T0), 0);
		for (now = T0 + 1; now <= T0 + 60; now++)
			tick(e->d, &k, 1, &factor_only, now);
		assert_events(&k, 0);
	}
}

struct visits {
	const char *ids[8];
	int n, stop;
};

static int visit(const struct sg_principal *p, void *ctx)
{
	struct visits *v = ctx;

	if (v->n == (int)ARRAY_SIZE(v->ids))
		fail_msg("too many visits");
	v->ids[v->n++] = p->id;
	return v->stop;
}

static int visited(const struct visits *v, const char *id)
{
	int i, n = 0;

	for (i = 0; i < v->n; i++)
		n += !strcmp(v->ids[i], id);
	return n;
}

static void test_each_active(void **state)
{
	struct env *e = *state;
	const struct sg_thresholds dest = { .destinations = 50 };
	struct series a = { .id = "uid:9101" }, b = { .id = "uid:9102" }, c = { .id = "uid:9103" },
		      d = { .id = "uid:9104" };
	struct visits v = { 0 };
	time_t now, k;

	for (now = T0 + 1; now <= T0 + 100; now++) {
		k = now - T0;
		a.destinations = 60;
		tick(e->d, &a, 1, &dest, now);
		tick(e->d, &b, k % 10 == 1, &defaults, now);
		tick(e->d, &c, 100, &new_only, now);
		/* Above the bound in its first second only: cleared at 61. */
		d.destinations = k == 1 ? 60 : 10;
		tick(e->d, &d, 1, &dest, now);
	}
	assert_events(&a, 1);
	assert_events(&b, 0);
	assert_events(&c, 1);
	assert_events(&d, 2);
	assert_event(&d, 1, T0 + 61, SG_RULE_DESTINATIONS, 0, 10, 50);
	assert_int_equal(sg_detect_each_active(e->d, visit, &v), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(visited(&v, a.id), 1);
	assert_int_equal(visited(&v, c.id), 1);
	/* Stops at the first non-zero answer and returns it. */
	v = (struct visits){ .stop = 7 };
	assert_int_equal(sg_detect_each_active(e->d, visit, &v), 7);
	assert_int_equal(v.n, 1);
	/* a and c quiet until their alerts clear: none left to visit; then b raises one. */
	a.destinations = 10;
	for (now = T0 + 101; now <= T0 + 300; now++) {
		tick(e->d, &a, 1, &dest, now);
		tick(e->d, &b, 0, &dest, now);
		tick(e->d, &c, 0, &new_only, now);
	}
	v = (struct visits){ 0 };
	assert_int_equal(sg_detect_each_active(e->d, visit, &v), 0);
	assert_int_equal(v.n, 0);
	b.destinations = 60;
	tick(e->d, &b, 1, &dest, T0 + 301);
	assert_int_equal(sg_detect_each_active(e->d, visit, &v), 0);
	assert_int_equal(v.n, 1);
	assert_int_equal(visited(&v, b.id), 1);
}

static int count_active(const struct sg_principal *p, void *ctx)
{
	++*(int *)ctx;
	return 0;
}

static void test_ten_thousand(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { 0 };
	const struct sg_principal *p;
	char id[32];
	int i, tk, n = 0;

	for (tk = 0; tk < 3; tk++) {
		for (i = 0; i < 10000; i++) {
			snprintf(id, sizeof(id), "uid:%d", 100000 + i);
			/* i + 1 a second: all of it in the last minute. */
			o.total = o.last_1m = (__u64)(i + 1) * (tk + 1);
			o.destinations_10m = i % 50;
			assert_in_range(sg_detect_observe(e->d, id, &o, &defaults, T0 + tk, out), 0,
					SG_RULES);
		}
	}
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "uid:%d", 100000 + i);
		p = get(e, id);
		assert_int_equal(p->obs.total, (__u64)(i + 1) * 3);
		assert_int_equal(p->baseline->acc, (__u64)(i + 1) * 3);
		assert_int_equal(p->baseline->first_seen, T0);
	}
	assert_null(sg_detect_get(e->d, "uid:99"));
	assert_int_equal(sg_baselines_count(e->store), 10000);
	/*
	 * new_sender once 3 (i + 1) >= 20 by the third second, i >= 6, at 60 (i + 1) per
	 * minute; rate once 3 (i + 1) > 120, i >= 40. Every one active is new.
	 */
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_NEW_SENDER), 10000 - 6);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_RATE), 10000 - 40);
	assert_int_equal(sg_detect_each_active(e->d, count_active, &n), 0);
	assert_int_equal(n, 10000 - 6);
}

/*
 * Rule states only for principals whose rule has held: of 10,000 observed,
 * the 100 over the destinations limit get their own; the rest share one all
 * zero, each principal a 128-byte chunk of heap (with its 7 states, 336).
 */
/* Set: the next calloc of a principal's rule states fails, as when memory runs out. */
static int fail_rule_states;

void *__libc_calloc(size_t n, size_t size);

void *calloc(size_t n, size_t size)
{
	if (fail_rule_states && n == SG_RULES && size == sizeof(struct sg_rule_state)) {
		fail_rule_states = 0;
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

/*
 * No memory for the rule states a rule would take: nothing is made, and
 * the next observation makes the principal with the kernel's first_seen.
 */
static void test_rule_states_no_memory(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { .total = 10, .last_1m = 10, .first_seen = T0 - 30 };

	fail_rule_states = 1;
	assert_int_equal(sg_detect_observe(e->d, "uid:3001", &o, &defaults, T0, out), -ENOMEM);
	assert_int_equal(fail_rule_states, 0);
	assert_null(sg_baselines_get(e->store, "uid:3001", 0, T0));
	assert_int_equal(sg_detect_observe(e->d, "uid:3001", &o, &defaults, T0 + 1, out), 0);
	assert_int_equal(get(e, "uid:3001")->baseline->first_seen, T0 - 30);
	assert_int_equal(get(e, "uid:3001")->obs.total, 10);
}

static void test_rule_states_when_held(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { 0 };
	const struct sg_principal *p, *quiet = NULL;
	size_t heap = 0;
	char id[32];
	int i, r;

	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "uid:%d", 100000 + i);
		o.total = o.last_1m = 1;
		o.destinations_10m = i % 100 ? 50 : 51;
		assert_int_equal(sg_detect_observe(e->d, id, &o, &defaults, T0, out),
				 i % 100 ? 0 : 1);
	}
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_DESTINATIONS), 100);
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "uid:%d", 100000 + i);
		p = get(e, id);
		if (i % 100) {
			heap += malloc_usable_size((void *)p);
			quiet = quiet ? quiet : p;
			assert_ptr_equal(p->rules, quiet->rules);
			for (r = 0; r < SG_RULES; r++)
				assert_int_equal(p->rules[r].active || p->rules[r].raised ||
							 p->rules[r].since ||
							 p->rules[r].last_true ||
							 p->rules[r].value || p->rules[r].limit,
						 0);
			continue;
		}
		assert_ptr_not_equal(p->rules, quiet ? quiet->rules : NULL);
		for (r = 0; r < SG_RULES; r++)
			assert_int_equal(p->rules[r].active, r == SG_RULE_DESTINATIONS);
		assert_int_equal(p->rules[SG_RULE_DESTINATIONS].raised, 1);
		assert_int_equal(p->rules[SG_RULE_DESTINATIONS].since, T0);
		assert_exactly(p->rules[SG_RULE_DESTINATIONS].value, 51);
		assert_exactly(p->rules[SG_RULE_DESTINATIONS].limit, 50);
	}
	/* At most 120 usable bytes of a 128-byte chunk each; a page of slack for chunks reused. */
	assert_in_range(heap, 9900 * sizeof(*p), 9900 * 120 + 4096);
	/* Each its own: uid:100000 clears 60 s after its last hold, uid:100100 holds on. */
	o.destinations_10m = 50;
	assert_int_equal(sg_detect_observe(e->d, "uid:100000", &o, &defaults, T0 + 60, out), 1);
	assert_false(out[0].raised);
	assert_false(get(e, "uid:100000")->rules[SG_RULE_DESTINATIONS].active);
	assert_int_equal(get(e, "uid:100000")->rules[SG_RULE_DESTINATIONS].raised, 1);
	assert_true(get(e, "uid:100100")->rules[SG_RULE_DESTINATIONS].active);
}

/* One observation of id at now, straight to the detector; returns how many changes. */
static int observe_once(struct env *e, const char *id, const struct sg_observation *o,
			const struct sg_thresholds *t, time_t now, struct sg_alert_change *out)
{
	int ret = sg_detect_observe(e->d, id, o, t, now, out);

	assert_in_range(ret, 0, SG_RULES);
	return ret;
}

/*
 * The daemon paused for 10 min while a new sender began at 30 a minute,
 * half the new-sender limit. At the first tick after, the kernel says it
 * began 600 s ago and the rates hold a minute's share of the pause (30):
 * its rate is 30 a minute over the minute it has been sending, no alert.
 * Before, it was first seen at that tick and its rate taken over one
 * second: 1800 a minute, throttled for an hour.
 */
static void test_new_after_pause(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { .total = 300, .last_1m = 30, .first_seen = T0 - 600 };
	const struct sg_principal *p;

	assert_int_equal(observe_once(e, "uid:2001", &o, &new_only, T0, out), 0);
	p = sg_detect_get(e->d, "uid:2001");
	assert_non_null(p);
	assert_int_equal(p->baseline->first_seen, T0 - 600);
	assert_true(p->is_new);
	/* Counted at 30 a minute, the limit is not reached in the next minute either. */
	o.total = 330;
	assert_int_equal(observe_once(e, "uid:2001", &o, &new_only, T0 + 60, out), 0);
	assert_true(p->is_new);
	/* At twice the limit it is judged as new, on the same span. */
	o = (struct sg_observation){ .total = 1200, .last_1m = 120, .first_seen = T0 - 600 };
	assert_int_equal(observe_once(e, "uid:2002", &o, &new_only, T0, out), 1);
	assert_int_equal(out[0].rule, SG_RULE_NEW_SENDER);
	assert_exactly(out[0].value, 120);
	/*
	 * A principal the kernel first counted over an hour ago, the daemon
	 * paused since: first seen before the pause, it is not new after it.
	 */
	o = (struct sg_observation){ .total = 4000, .last_1m = 120, .first_seen = T0 - H - 1 };
	assert_int_equal(observe_once(e, "uid:2003", &o, &new_only, T0, out), 0);
	assert_false(sg_detect_get(e->d, "uid:2003")->is_new);
	/* A first count the kernel dates after now (clocks apart): now, as before. */
	o = (struct sg_observation){ .total = 1, .last_1m = 1, .first_seen = T0 + 5 };
	observe_once(e, "uid:2004", &o, &new_only, T0, out);
	assert_int_equal(sg_detect_get(e->d, "uid:2004")->baseline->first_seen, T0);
}

/*
 * Retention: unseen for the retention, a principal goes, its state and its
 * baseline; one with an alert in force stays. Past the cap, the least
 * recently seen go first.
 */
static void test_prune(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation o = { .total = 1, .last_1m = 1 };
	__u64 unseen = 0, over = 0;
	char id[32];
	int i;

	/* uid:0 to uid:9 last send at T0 + i hours; uid:3 raises alerts (new_sender, rate). */
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "uid:%d", i);
		observe_once(e, id, &o, &defaults, T0 + i * H, out);
	}
	o = (struct sg_observation){ .total = 2, .last_1m = 500 };
	assert_int_equal(observe_once(e, "uid:3", &o, &defaults, T0 + 3 * H, out), 2);
	/* A record loaded from the file and never observed since goes the same way. */
	sg_baselines_get(e->store, "sasl:old", 1, T0 - W);
	assert_int_equal(sg_baselines_count(e->store), 11);

	/* Only sasl:old is unseen for a week, and 11 are under a cap of 20. */
	assert_int_equal(sg_detect_prune(e->d, T0 + 9 * H, W, 20, &unseen, &over), 0);
	assert_int_equal(unseen, 1); /* sasl:old, seen a week ago */
	assert_int_equal(over, 0);
	assert_null(sg_baselines_get(e->store, "sasl:old", 0, T0));

	/* A week after T0 + 4 h: uid:0 to uid:4 are unseen for a week, but uid:3 alerts. */
	assert_int_equal(sg_detect_prune(e->d, T0 + 4 * H + W, W, 0, &unseen, &over), 0);
	assert_int_equal(unseen, 1 + 4);
	assert_int_equal(sg_baselines_count(e->store), 6);
	assert_null(sg_detect_get(e->d, "uid:4"));
	assert_null(sg_baselines_get(e->store, "uid:4", 0, T0));
	assert_non_null(sg_detect_get(e->d, "uid:3"));
	assert_non_null(sg_detect_get(e->d, "uid:5"));

	/* A cap of 3: uid:5, uid:6 and uid:7 go, the least recently seen; uid:3 still alerts. */
	assert_int_equal(sg_detect_prune(e->d, T0 + 10 * H, 0, 3, &unseen, &over), 0);
	assert_int_equal(over, 3);
	assert_int_equal(unseen, 5);
	assert_int_equal(sg_baselines_count(e->store), 3);
	assert_non_null(sg_detect_get(e->d, "uid:3"));
	assert_null(sg_detect_get(e->d, "uid:7"));
	assert_non_null(sg_detect_get(e->d, "uid:8"));
	assert_non_null(sg_detect_get(e->d, "uid:9"));

	/* Forgotten, a principal comes back as a new one. */
	o = (struct sg_observation){ .total = 5, .last_1m = 5 };
	observe_once(e, "uid:4", &o, &defaults, T0 + 11 * H, out);
	assert_int_equal(sg_detect_get(e->d, "uid:4")->baseline->first_seen, T0 + 11 * H);
	assert_int_equal(sg_baselines_count(e->store), 4);
}

/* The whole of a file, NUL-terminated; the test fails without it. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(n < (1 << 20) - 1);
	return buf;
}

/* The store as its file: every principal's hourly counts, first and last seen. */
static char *saved(const struct sg_baselines *store, const char *dir, const char *name)
{
	char path[256], err[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sg_baselines_save(store, path, err, sizeof(err)))
		fail_msg("saving %s: %s", path, err);
	return slurp(path);
}

/*
 * The daemon keeps each UID's principal from one tick to the next and
 * observes it through sg_detect_observe_kept, with no lookup by name.
 * Against a detector that looks every principal up, over 3 hours of a
 * minute's ticks (20 UIDs, some idle for hours, one raising alerts, a
 * prune forgetting some mid-way that then come back as new), every change
 * reported, every rule state and the saved store are the same. A pointer
 * kept from before the prune is dropped as sg_detect_forgotten() says.
 */
static void test_kept_same_as_looked_up(void **state)
{
	struct env *e = *state, b = { .store = sg_baselines_new() };
	struct sg_principal *kept[20] = { 0 };
	struct sg_alert_change x[SG_RULES], y[SG_RULES];
	struct sg_observation o = { 0 };
	const struct sg_principal *p, *q;
	__u64 forgotten = 0, unseen = 0, over = 0, totals[20] = { 0 };
	char id[32], dir[] = "/tmp/sg-test-kept.XXXXXX", *file_a, *file_b;
	time_t now;
	int i, n, m, r, changes = 0, looked_again = 0;

	b.d = b.store ? sg_detector_new(b.store) : NULL;
	assert_non_null(b.d);
	assert_non_null(mkdtemp(dir));
	for (now = T0; now < T0 + 3 * H; now += 60) {
		if (now == T0 + 2 * H) {
			assert_int_equal(sg_detect_prune(e->d, now, H, 12, &unseen, &over), 0);
			assert_int_equal(sg_detect_prune(b.d, now, H, 12, &unseen, &over), 0);
			assert_true(sg_detect_forgotten(b.d) > forgotten);
		}
		if (sg_detect_forgotten(b.d) != forgotten) {
			memset(kept, 0, sizeof(kept));
			forgotten = sg_detect_forgotten(b.d);
			looked_again++;
		}
		for (i = 0; i < 20; i++) {
			/* UIDs 10 and up send only in the first hour; 3 floods in the 2nd half
			 * hour. */
			if (i < 10 || now < T0 + H)
				totals[i] += i % 4 + (i == 3 && now >= T0 + H / 2 ? 400 : 0);
			o = (struct sg_observation){ .total = totals[i],
						     .last_1m = i % 4 + (i == 3 ? 400 : 0),
						     .destinations_10m = (__u32)i * 3 };
			snprintf(id, sizeof(id), "uid:%d", i);
			n = sg_detect_observe(e->d, id, &o, &defaults, now, x);
			m = sg_detect_observe_kept(b.d, &kept[i], id, &o, &defaults, now, y);
			assert_int_equal(n, m);
			assert_in_range(n, 0, SG_RULES);
			assert_memory_equal(x, y, (size_t)n * sizeof(x[0]));
			changes += n;
			p = sg_detect_get(e->d, id);
			q = sg_detect_get(b.d, id);
			assert_ptr_equal(kept[i], q);
			assert_int_equal(p == NULL, q == NULL);
			for (r = 0; p && r < SG_RULES; r++)
				assert_memory_equal(&p->rules[r], &q->rules[r],
						    sizeof(p->rules[r]));
			if (p) {
				assert_int_equal(p->is_new, q->is_new);
				assert_exactly(p->expected, q->expected);
			}
		}
	}
	assert_int_equal(looked_again, 1);
	assert_true(changes >= 2); /* uid:3's alerts, raised and cleared */
	assert_int_equal(sg_baselines_count(e->store), sg_baselines_count(b.store));
	file_a = saved(e->store, dir, "a");
	file_b = saved(b.store, dir, "b");
	assert_string_equal(file_a, file_b);
	free(file_a);
	free(file_b);
	snprintf(id, sizeof(id), "%s/a", dir);
	unlink(id);
	snprintf(id, sizeof(id), "%s/b", dir);
	unlink(id);
	rmdir(dir);
	sg_detector_free(b.d);
	sg_baselines_free(b.store);
}

/* A principal's count of raises saturates at its 32 bits; the detector's total goes on. */
static void test_raised_saturates(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation burst = { .total = 500, .last_1m = 500 }, quiet = { .total = 500 };
	struct sg_rule_state *rs;
	int i;

	assert_int_equal(observe_once(e, "uid:3001", &burst, &rate_only, T0, out), 1);
	rs = (struct sg_rule_state *)&sg_detect_get(e->d, "uid:3001")->rules[SG_RULE_RATE];
	assert_int_equal(rs->raised, 1);
	rs->raised = UINT32_MAX - 1;
	for (i = 1; i <= 2; i++) {
		assert_int_equal(
			observe_once(e, "uid:3001", &quiet, &rate_only, T0 + i * 120 - 60, out), 1);
		assert_false(out[0].raised);
		assert_int_equal(observe_once(e, "uid:3001", &burst, &rate_only, T0 + i * 120, out),
				 1);
		assert_true(out[0].raised);
		assert_int_equal(rs->raised, UINT32_MAX);
	}
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_RATE), 3);
}

/* The rule times are 32-bit seconds: the last second they hold works, the next one changes nothing.
 */
static void test_times_at_bound(void **state)
{
	struct env *e = *state;
	struct sg_alert_change out[SG_RULES];
	struct sg_observation burst = { .total = 500, .last_1m = 500 }, more = { .total = 900 };
	const struct sg_principal *p;
	const struct sg_rule_state *rs;
	const time_t last = UINT32_MAX;

	assert_int_equal(observe_once(e, "uid:3002", &burst, &rate_only, last, out), 1);
	assert_true(out[0].raised);
	p = sg_detect_get(e->d, "uid:3002");
	rs = &p->rules[SG_RULE_RATE];
	assert_int_equal(rs->since, UINT32_MAX);
	assert_int_equal(rs->last_true, UINT32_MAX);
	assert_int_equal(sg_detect_observe(e->d, "uid:3002", &more, &rate_only, last + 1, out),
			 -ERANGE);
	assert_int_equal(sg_detect_observe(e->d, "uid:3002", &more, &rate_only, -1, out), -ERANGE);
	assert_int_equal(sg_detect_observe(e->d, "uid:3003", &burst, &rate_only, last + 1, out),
			 -ERANGE);
	assert_null(sg_detect_get(e->d, "uid:3003"));
	assert_true(rs->active);
	assert_int_equal(rs->since, UINT32_MAX);
	assert_int_equal(rs->last_true, UINT32_MAX);
	assert_int_equal(p->obs.total, 500);
	assert_int_equal(sg_detect_raised(e->d, SG_RULE_RATE), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hour_of_t0),
		cmocka_unit_test_setup_teardown(test_new_sender, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_is_not_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_from_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_ratio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_taint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_total_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_and_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_active, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ten_thousand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_states_when_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rule_states_no_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_after_pause, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_same_as_looked_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raised_saturates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times_at_bound, setup, teardown),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
