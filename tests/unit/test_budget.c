// SPDX-License-Identifier: GPL-2.0
/*
 * Message budgets: the exact number let through for a burst and after a
 * refill of exactly N seconds, recipients counting (over budget nothing is
 * spent), overrides by every name they take, limits from the learned
 * baseline, and a flood of new principals against an active one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/budget.h"
#include "sg_bucket.h"

#define T0 (1000 * SG_NS_PER_SEC) /* CLOCK_BOOTTIME; never 0 */

static struct sg_config cfg;

static int setup(void **state)
{
	sg_config_default(&cfg);
	return 0;
}

/* How many of n messages of rcpts recipients each at now are admitted. */
static int admit_n(struct sg_budget *b, const char *id, int n, __u32 rcpts,
		   const struct sg_budget_limits *l, __u64 now)
{
	int i, k = 0, r;

	for (i = 0; i < n; i++) {
		r = sg_budget_admit(b, id, rcpts, l, now);
		assert_true(r >= 0);
		k += r;
	}
	return k;
}

static void test_defaults(void **state)
{
	assert_int_equal(cfg.budget.first, 20);
	assert_int_equal(cfg.budget.messages_minute, 20);
	assert_int_equal(cfg.budget.messages_hour, 200);
	assert_int_equal(cfg.budget.recipients_minute, 100);
	assert_int_equal(cfg.budget.recipients_hour, 1000);
	assert_true(cfg.budget.factor == 5);
	assert_true(cfg.mta.hold_grace_ns == SG_NS_PER_HOUR);
}

/* A never-seen principal: 20 at once, then one every 3 minutes (20/h), to the nanosecond. */
static void test_first_budget(void **state)
{
	struct sg_budget *b = sg_budget_new(0);
	struct sg_budget_limits l;

	sg_budget_limits(&cfg.budget, -1, NULL, &l);
	assert_int_equal(l.burst[SG_BUDGET_MSG_HOUR], 20);
	assert_int_equal(l.rate_per_hour[SG_BUDGET_MSG_HOUR], 20);
	assert_int_equal(l.burst[SG_BUDGET_MSG_MIN], 20);
	assert_int_equal(l.rate_per_hour[SG_BUDGET_MSG_MIN], 1200);
	assert_int_equal(admit_n(b, "sasl:new@example.com", 200, 1, &l, T0), 20);
	/* Flat out for 3 minutes less a nanosecond: nothing more. */
	assert_int_equal(
		admit_n(b, "sasl:new@example.com", 10, 1, &l, T0 + 180 * SG_NS_PER_SEC - 1), 0);
	assert_int_equal(admit_n(b, "sasl:new@example.com", 10, 1, &l, T0 + 180 * SG_NS_PER_SEC),
			 1);
	/* Ten minutes of a bot flat out: 20 + 3 + 1/3, so 23 in all. */
	assert_int_equal(admit_n(b, "sasl:new@example.com", 10, 1, &l, T0 + 600 * SG_NS_PER_SEC),
			 2);
	/* An hour idle refills it all, and no more than it all. */
	assert_int_equal(admit_n(b, "sasl:new@example.com", 50, 1, &l, T0 + 7200 * SG_NS_PER_SEC),
			 20);
	/* Another principal has a budget of its own. */
	assert_int_equal(admit_n(b, "local:1001", 50, 1, &l, T0), 20);
	assert_int_equal(sg_budget_count(b), 2);
	sg_budget_free(b);
}

/* Recipients are spent by recipient_count; a message over budget spends nothing. */
static void test_recipients(void **state)
{
	struct sg_budget *b = sg_budget_new(0);
	struct sg_budget_limits l;
	const char *id = "sasl:known@example.com";

	sg_budget_limits(&cfg.budget, 0, NULL, &l); /* learned: sends nothing; the floors */
	assert_int_equal(l.burst[SG_BUDGET_RCPT_MIN], 100);
	assert_int_equal(l.burst[SG_BUDGET_RCPT_HOUR], 1000);
	assert_int_equal(sg_budget_admit(b, id, 60, &l, T0), 1);
	assert_int_equal(sg_budget_admit(b, id, 41, &l, T0), 0);
	assert_int_equal(sg_budget_admit(b, id, 40, &l, T0), 1);
	assert_int_equal(sg_budget_admit(b, id, 1, &l, T0), 0);
	/* No recipients (Exim before RCPT is counted): the message buckets only. */
	assert_int_equal(admit_n(b, id, 30, 0, &l, T0), 18);
	/* More recipients than a bucket holds never pass. */
	assert_int_equal(sg_budget_admit(b, "sasl:other@example.com", 101, &l, T0), 0);
	assert_int_equal(sg_budget_admit(b, "sasl:other@example.com", 100, &l, T0), 1);
	/* 100 a minute: 0.6 s is one recipient. */
	assert_int_equal(sg_budget_admit(b, id, 1, &l, T0 + 599999999), 0);
	assert_int_equal(sg_budget_admit(b, id, 1, &l, T0 + 600000000 + 180 * SG_NS_PER_SEC), 1);
	assert_int_equal(sg_budget_admit(b, id, 101, &l, T0 + 3600 * SG_NS_PER_SEC), 0);
	sg_budget_free(b);
}

/* max(floor, factor x baseline), recipients raised in the same proportion. */
static void test_baseline_limits(void **state)
{
	static const struct {
		double per_min;
		__u32 msg_min, msg_hour, rcpt_min, rcpt_hour;
	} cases[] = {
		{ 0, 20, 200, 100, 1000 },    /* learned as nothing: the floors */
		{ 0.5, 20, 200, 100, 1000 },  /* 2.5/min and 150/h: under both floors */
		{ 1, 20, 300, 100, 1500 },    /* 5/min under its floor, 300/h over its */
		{ 10, 50, 3000, 250, 15000 }, /* over both */
		{ 0.75, 20, 225, 100, 1125 }, /* 3.75/min, 225/h */
		{ 1e9, 1000000, 1000000, 1000000, 1000000 }, /* at SG_BURST_MAX */
	};
	struct sg_budget_limits l;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sg_budget_limits(&cfg.budget, cases[i].per_min, NULL, &l);
		assert_int_equal(l.burst[SG_BUDGET_MSG_MIN], cases[i].msg_min);
		assert_int_equal(l.rate_per_hour[SG_BUDGET_MSG_MIN], cases[i].msg_min * 60ULL);
		assert_int_equal(l.burst[SG_BUDGET_MSG_HOUR], cases[i].msg_hour);
		assert_int_equal(l.rate_per_hour[SG_BUDGET_MSG_HOUR], cases[i].msg_hour);
		assert_int_equal(l.burst[SG_BUDGET_RCPT_MIN], cases[i].rcpt_min);
		assert_int_equal(l.burst[SG_BUDGET_RCPT_HOUR], cases[i].rcpt_hour);
	}
	/* factor 0: the floors only, whatever was learned. */
	cfg.budget.factor = 0;
	sg_budget_limits(&cfg.budget, 10, NULL, &l);
	assert_int_equal(l.burst[SG_BUDGET_MSG_MIN], 20);
	assert_int_equal(l.burst[SG_BUDGET_MSG_HOUR], 200);
	cfg.budget.factor = 5;
}

/* A known sender gets its larger budget; a spent one learning a baseline gets no new burst. */
static void test_known_sender(void **state)
{
	struct sg_budget *b = sg_budget_new(0);
	struct sg_budget_limits first, known;

	sg_budget_limits(&cfg.budget, -1, NULL, &first);
	sg_budget_limits(&cfg.budget, 10, NULL, &known);
	assert_int_equal(admit_n(b, "sasl:shop@example.com", 100, 1, &known, T0), 50);
	assert_int_equal(admit_n(b, "sasl:new@example.com", 100, 1, &first, T0), 20);
	assert_int_equal(admit_n(b, "sasl:new@example.com", 100, 1, &known, T0 + 1), 0);
	/* At the new rate (50/min) from there: 1.2 s a message. */
	assert_int_equal(admit_n(b, "sasl:new@example.com", 100, 1, &known,
				 T0 + 1 + 12 * SG_NS_PER_SEC / 10),
			 1);
	sg_budget_free(b);
}

static void add_override(const char *name, const char *rate, __u32 burst)
{
	struct sg_override *o = &cfg.overrides[cfg.n_overrides++];

	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	if (!rate)
		return;
	o->has_limit = 1;
	o->limit.mode = strcmp(rate, "none") ? SG_MODE_THROTTLE : SG_MODE_OBSERVE;
	o->limit.rate_per_hour = strcmp(rate, "none") ? strtoull(rate, NULL, 10) : 0;
	o->limit.burst = burst;
}

static void test_overrides(void **state)
{
	static const struct {
		const char *principal, *user, *override; /* NULL: none */
	} cases[] = {
		{ "sasl:news@example.com", NULL, "sasl:news@example.com" },
		{ "sasl:NEWS@example.com", NULL, "sasl:news@example.com" },
		{ "sasl:bulk@example.org", NULL, "bulk@example.org" },
		{ "local:1001", NULL, "1001" },
		{ "local:1003", "alice", "alice" },
		{ "local:2002", NULL, "local:2002" },
		{ "sasl:alice", NULL, NULL }, /* a user's override is not an account's */
		{ "local:1004", "bob", NULL },
		{ "sasl:1001", NULL, NULL },
		{ "local:bulk@example.org", NULL, NULL },
	};
	struct sg_budget *b = sg_budget_new(0);
	const struct sg_override *o;
	struct sg_budget_limits l;
	size_t i;

	add_override("sasl:news@example.com", "6000", 300);
	add_override("bulk@example.org", "none", 0);
	add_override("1001", "60", 1);
	add_override("alice", NULL, 0);
	add_override("local:2002", "60", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = sg_budget_override(&cfg, cases[i].principal, cases[i].user);
		if (!cases[i].override)
			assert_null(o);
		else if (!o || strcmp(o->name, cases[i].override))
			fail_msg("%s: got %s", cases[i].principal, o ? o->name : "none");
	}
	/* Its own rate and burst, recipients unlimited: a newsletter untouched at its rate. */
	sg_budget_limits(&cfg.budget, -1, &cfg.overrides[0], &l);
	assert_int_equal(admit_n(b, "sasl:news@example.com", 400, 5000, &l, T0), 300);
	assert_int_equal(admit_n(b, "sasl:news@example.com", 10, 5000, &l, T0 + 599999999), 0);
	assert_int_equal(admit_n(b, "sasl:news@example.com", 10, 5000, &l, T0 + 600000000), 1);
	/* limit = none: no budget at all. */
	sg_budget_limits(&cfg.budget, -1, &cfg.overrides[1], &l);
	assert_int_equal(admit_n(b, "sasl:bulk@example.org", 5000, 100, &l, T0), 5000);
	/* An override with thresholds only: the ordinary budget. */
	sg_budget_limits(&cfg.budget, -1, &cfg.overrides[3], &l);
	assert_int_equal(admit_n(b, "local:1003", 50, 1, &l, T0), 20);
	cfg.n_overrides = 0;
	sg_budget_free(b);
}

/* 10,000 throwaway principals through a table of 64 never push out one that spent its budget. */
static void test_flood(void **state)
{
	struct sg_budget *b = sg_budget_new(64);
	struct sg_budget_limits l;
	char id[64];
	int i;

	sg_budget_limits(&cfg.budget, -1, NULL, &l);
	assert_int_equal(admit_n(b, "sasl:victim@example.com", 30, 1, &l, T0), 20);
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "sasl:throwaway%d@example.net", i);
		assert_int_equal(sg_budget_admit(b, id, 1, &l, T0 + 1 + (__u64)i), 1);
	}
	assert_int_equal(sg_budget_count(b), 64);
	assert_int_equal(sg_budget_evicted(b), 10000 - 63);
	/* Still spent: eviction would have handed it a fresh 20. */
	assert_int_equal(sg_budget_admit(b, "sasl:victim@example.com", 1, &l, T0 + 20000), 0);
	assert_int_equal(sg_budget_count(b), 64);
	assert_int_equal(sg_budget_evicted(b), 10000 - 63);
	sg_budget_free(b);
}

/* An id longer than the table's keys is refused, for the caller to cut. */
static void test_long_id(void **state)
{
	struct sg_budget *b = sg_budget_new(0);
	char id[SG_PRINCIPAL_MAX + 1];
	struct sg_budget_limits l;

	sg_budget_limits(&cfg.budget, -1, NULL, &l);
	memset(id, 'a', SG_PRINCIPAL_MAX);
	id[SG_PRINCIPAL_MAX] = '\0';
	assert_int_equal(sg_budget_admit(b, id, 1, &l, T0), -ENAMETOOLONG);
	id[SG_PRINCIPAL_MAX - 1] = '\0';
	assert_int_equal(sg_budget_admit(b, id, 1, &l, T0), 1);
	sg_budget_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_first_budget, setup),
		cmocka_unit_test_setup(test_recipients, setup),
		cmocka_unit_test_setup(test_baseline_limits, setup),
		cmocka_unit_test_setup(test_known_sender, setup),
		cmocka_unit_test_setup(test_overrides, setup),
		cmocka_unit_test_setup(test_flood, setup),
		cmocka_unit_test_setup(test_long_id, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
