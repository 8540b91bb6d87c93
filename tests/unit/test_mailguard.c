// SPDX-License-Identifier: GPL-2.0
/*
 * Mailguard's choice to contain a mail principal: the first rule held whose
 * response is more than an alert, unless the principal is exempt, contained
 * already, or released by a human within the release's grace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/mailguard.h"

#define N(a)   (sizeof(a) / sizeof((a)[0]))
#define T0     1795440000
#define BIT(r) (1U << (r))

static void test_containing(void **state)
{
	static const struct {
		const char *name;
		unsigned int active; /* BIT(rule) */
		int contained;
		time_t released_until;
		enum sg_exempt ex;
		int expect; /* the rule, or -1 */
	} cases[] = {
		{ "no rule held", 0, 0, 0, SG_EXEMPT_NONE, -1 },
		{ "an alert's rule", BIT(SG_RULE_NEW_SENDER), 0, 0, SG_EXEMPT_NONE, -1 },
		{ "a throttle's rule", BIT(SG_RULE_RATE), 0, 0, SG_EXEMPT_NONE, SG_RULE_RATE },
		{ "a kill's rule", BIT(SG_RULE_NEW_SENDER) | BIT(SG_RULE_DESTINATIONS), 0, 0,
		  SG_EXEMPT_NONE, SG_RULE_DESTINATIONS },
		{ "a block's rule", BIT(SG_RULE_CLIENT_IPS), 0, 0, SG_EXEMPT_NONE,
		  SG_RULE_CLIENT_IPS },
		{ "the first of two", BIT(SG_RULE_CLIENT_IPS) | BIT(SG_RULE_RATE), 0, 0,
		  SG_EXEMPT_NONE, SG_RULE_RATE },
		{ "contained already", BIT(SG_RULE_RATE), 1, 0, SG_EXEMPT_NONE, -1 },
		{ "released, within grace", BIT(SG_RULE_RATE), 0, T0 + 1, SG_EXEMPT_NONE, -1 },
		{ "released, grace ends now", BIT(SG_RULE_RATE), 0, T0, SG_EXEMPT_NONE,
		  SG_RULE_RATE },
		{ "local sender allowed", BIT(SG_RULE_RATE), 0, 0, SG_EXEMPT_ALLOW, -1 },
		{ "local sender an MTA user", BIT(SG_RULE_RATE), 0, 0, SG_EXEMPT_MTA, -1 },
		{ "alert-only override", BIT(SG_RULE_CLIENT_IPS), 0, 0, SG_EXEMPT_ALERT_ONLY, -1 },
	};
	static struct sg_mail_principal p;
	struct sg_rule_state rules[SG_RULES];
	struct sg_principal dp;
	struct sg_config c;
	size_t i;
	int r, got;

	sg_config_default(&c);
	for (r = 0; r < SG_RULES; r++)
		c.actions[r] = (struct sg_response){ .kind = SG_ACT_ALERT };
	c.actions[SG_RULE_RATE] =
		(struct sg_response){ .kind = SG_ACT_THROTTLE, .rate_per_hour = 60 };
	c.actions[SG_RULE_DESTINATIONS] = (struct sg_response){ .kind = SG_ACT_KILL };
	c.actions[SG_RULE_CLIENT_IPS] = (struct sg_response){ .kind = SG_ACT_BLOCK };
	for (i = 0; i < N(cases); i++) {
		memset(&dp, 0, sizeof(dp));
		memset(rules, 0, sizeof(rules));
		for (r = 0; r < SG_RULES; r++)
			rules[r].active = !!(cases[i].active & BIT(r));
		dp.rules = rules;
		p.contained = cases[i].contained;
		p.released_until = cases[i].released_until;
		got = sg_mailguard_containing(&p, &dp, &c, cases[i].ex, T0);
		if (got != cases[i].expect)
			fail_msg("%s: got %d", cases[i].name, got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_containing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
