// SPDX-License-Identifier: GPL-2.0
/*
 * The precedence of responses: a human's policy or release, the detector's,
 * the config's, the default; never loosen; the exempt only alert. Exact
 * verdicts and the exact "why" that logs and the audit show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/decide.h"
#include "sg_bucket.h"

#define NOW   (1000 * SG_NS_PER_SEC)
#define LATER (NOW + 3600 * SG_NS_PER_SEC)
#define N(a)  (sizeof(a) / sizeof((a)[0]))

// clang-format off
#define POLICY(who, m, rate, until) \
	{ .mode = SG_MODE_##m, .rate_per_hour = rate, .expires_ns = until, .set_by = SG_SET_##who }
#define OBSERVE        { .mode = SG_MODE_OBSERVE }
#define THROTTLE(rate) { .kind = SG_ACT_THROTTLE, .rate_per_hour = rate }
#define BLOCK          { .kind = SG_ACT_BLOCK }
#define KILL           { .kind = SG_ACT_KILL }
#define ALERT          { .kind = SG_ACT_ALERT }
// clang-format on

/* sg_decide() on s and want says d, and why exactly. */
static void expect(const char *name, const struct sg_standing *s, const struct sg_proposal *want,
		   enum sg_decision d, const char *why)
{
	enum sg_decision got;
	char text[160];

	memset(text, 'x', sizeof(text));
	got = sg_decide(s, want, text, sizeof(text));
	if (got != d || strcmp(text, why))
		fail_msg("%s: got %d \"%s\", expected %d \"%s\"", name, got, text, d, why);
}

static void test_uid_precedence(void **state)
{
	static const struct {
		const char *name;
		int has_own; /* an sg_policies entry, expired or not */
		struct sg_policy own, dflt;
		struct sg_proposal want;
		enum sg_decision expect;
		const char *why;
	} cases[] = {
		{ "no policy, throttle", 0, {}, OBSERVE, THROTTLE(60), SG_DECIDE_APPLY, "" },
		{ "no policy, block", 0, {}, OBSERVE, BLOCK, SG_DECIDE_APPLY, "" },
		{ "no policy, kill", 0, {}, OBSERVE, KILL, SG_DECIDE_APPLY, "" },
		{ "no policy, alert", 0, {}, OBSERVE, ALERT, SG_DECIDE_ALERT, "" },
		{ "default block, throttle",
		  0,
		  {},
		  POLICY(UNKNOWN, BLOCK, 0, 0),
		  THROTTLE(60),
		  SG_DECIDE_STRICTER,
		  "no action: already block by the default policy" },
		{ "default slower throttle",
		  0,
		  {},
		  POLICY(UNKNOWN, THROTTLE, 10, 0),
		  THROTTLE(60),
		  SG_DECIDE_STRICTER,
		  "no action: already throttle by the default policy" },
		{ "default faster throttle",
		  0,
		  {},
		  POLICY(UNKNOWN, THROTTLE, 100, 0),
		  THROTTLE(60),
		  SG_DECIDE_APPLY,
		  "" },
		{ "default throttle, block",
		  0,
		  {},
		  POLICY(UNKNOWN, THROTTLE, 10, 0),
		  BLOCK,
		  SG_DECIDE_APPLY,
		  "" },
		{ "human throttle, throttle", 1, POLICY(CLI, THROTTLE, 600, 0), OBSERVE,
		  THROTTLE(60), SG_DECIDE_HUMAN, "no action: an administrator's throttle stands" },
		{ "human throttle, block", 1, POLICY(CLI, THROTTLE, 600, LATER), OBSERVE, BLOCK,
		  SG_DECIDE_HUMAN, "no action: an administrator's throttle stands" },
		{ "human block, block", 1, POLICY(CLI, BLOCK, 0, 0), OBSERVE, BLOCK,
		  SG_DECIDE_HUMAN, "no action: an administrator's block stands" },
		{ "human block, kill", 1, POLICY(CLI, BLOCK, 0, 0), OBSERVE, KILL, SG_DECIDE_HUMAN,
		  "no action: an administrator's block stands" },
		{ "release within grace, throttle", 1, POLICY(CLI, OBSERVE, 0, LATER), OBSERVE,
		  THROTTLE(60), SG_DECIDE_HUMAN, "no action: an administrator's release stands" },
		{ "release within grace, kill", 1, POLICY(CLI, OBSERVE, 0, NOW + 1), OBSERVE, KILL,
		  SG_DECIDE_HUMAN, "no action: an administrator's release stands" },
		{ "release, grace ends now", 1, POLICY(CLI, OBSERVE, 0, NOW), OBSERVE, THROTTLE(60),
		  SG_DECIDE_APPLY, "" },
		{ "release after grace, default block", 1, POLICY(CLI, OBSERVE, 0, NOW - 1),
		  POLICY(UNKNOWN, BLOCK, 0, 0), BLOCK, SG_DECIDE_STRICTER,
		  "no action: already block by the default policy" },
		{ "human throttle expired", 1, POLICY(CLI, THROTTLE, 1, NOW - 1), OBSERVE, BLOCK,
		  SG_DECIDE_APPLY, "" },
		{ "detector throttle, same", 1, POLICY(DETECTOR, THROTTLE, 60, LATER), OBSERVE,
		  THROTTLE(60), SG_DECIDE_STRICTER, "no action: already throttle by the detector" },
		{ "detector throttle, looser proposed", 1, POLICY(DETECTOR, THROTTLE, 10, LATER),
		  OBSERVE, THROTTLE(60), SG_DECIDE_STRICTER,
		  "no action: already throttle by the detector" },
		{ "detector throttle, stricter proposed", 1, POLICY(DETECTOR, THROTTLE, 100, LATER),
		  OBSERVE, THROTTLE(60), SG_DECIDE_APPLY, "" },
		{ "detector throttle, block", 1, POLICY(DETECTOR, THROTTLE, 10, LATER), OBSERVE,
		  BLOCK, SG_DECIDE_APPLY, "" },
		{ "detector block, throttle", 1, POLICY(DETECTOR, BLOCK, 0, LATER), OBSERVE,
		  THROTTLE(60), SG_DECIDE_STRICTER, "no action: already block by the detector" },
		{ "detector block, block", 1, POLICY(DETECTOR, BLOCK, 0, LATER), OBSERVE, BLOCK,
		  SG_DECIDE_STRICTER, "no action: already block by the detector" },
		{ "detector block, kill", 1, POLICY(DETECTOR, BLOCK, 0, LATER), OBSERVE, KILL,
		  SG_DECIDE_APPLY, "" },
		{ "detector block expired", 1, POLICY(DETECTOR, BLOCK, 0, NOW), OBSERVE,
		  THROTTLE(60), SG_DECIDE_APPLY, "" },
		{ "detector block expired, default throttle", 1,
		  POLICY(DETECTOR, BLOCK, 0, NOW - 1), POLICY(UNKNOWN, THROTTLE, 30, 0),
		  THROTTLE(60), SG_DECIDE_STRICTER,
		  "no action: already throttle by the default policy" },
		{ "config throttle, looser proposed", 1, POLICY(CONFIG, THROTTLE, 30, 0), OBSERVE,
		  THROTTLE(60), SG_DECIDE_STRICTER, "no action: already throttle by the config" },
		{ "config throttle, stricter proposed", 1, POLICY(CONFIG, THROTTLE, 100, 0),
		  OBSERVE, THROTTLE(60), SG_DECIDE_APPLY, "" },
		{ "config observe over a default block", 1, POLICY(CONFIG, OBSERVE, 0, 0),
		  POLICY(UNKNOWN, BLOCK, 0, 0), BLOCK, SG_DECIDE_APPLY, "" },
		{ "setter unknown: as the config", 1, POLICY(UNKNOWN, BLOCK, 0, 0), OBSERVE, BLOCK,
		  SG_DECIDE_STRICTER, "no action: already block by the config" },
		{ "alert under a human's policy", 1, POLICY(CLI, BLOCK, 0, 0), OBSERVE, ALERT,
		  SG_DECIDE_ALERT, "" },
	};
	struct sg_standing s;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		sg_standing_policy(cases[i].has_own ? &cases[i].own : NULL, &cases[i].dflt, NOW,
				   &s);
		expect(cases[i].name, &s, &cases[i].want, cases[i].expect, cases[i].why);
	}
}

/* Exemptions and root: told before anything in force, and only an alert is not stopped. */
static void test_uid_exempt_and_root(void **state)
{
	static const struct {
		const char *name;
		enum sg_owner owner;
		__u32 mode;
		enum sg_action kind;
		enum sg_exempt exempt;
		int root;
		enum sg_decision expect;
		const char *why;
	} cases[] = {
		{ "allow, throttle", SG_OWNER_DEFAULT, SG_MODE_OBSERVE, SG_ACT_THROTTLE,
		  SG_EXEMPT_ALLOW, 0, SG_DECIDE_EXEMPT, "no action: on the allow list" },
		{ "allow, alert", SG_OWNER_DEFAULT, SG_MODE_OBSERVE, SG_ACT_ALERT, SG_EXEMPT_ALLOW,
		  0, SG_DECIDE_ALERT, "" },
		{ "mta user, kill", SG_OWNER_CONFIG, SG_MODE_OBSERVE, SG_ACT_KILL, SG_EXEMPT_MTA, 0,
		  SG_DECIDE_EXEMPT,
		  "no action: the MTA's own user: its customers are told apart by SASL account" },
		{ "alert-only override, block", SG_OWNER_CONFIG, SG_MODE_THROTTLE, SG_ACT_BLOCK,
		  SG_EXEMPT_ALERT_ONLY, 0, SG_DECIDE_EXEMPT,
		  "no action: its override says actions = alert" },
		{ "allow under a human's block", SG_OWNER_HUMAN, SG_MODE_BLOCK, SG_ACT_BLOCK,
		  SG_EXEMPT_ALLOW, 0, SG_DECIDE_EXEMPT, "no action: on the allow list" },
		{ "root, kill", SG_OWNER_DEFAULT, SG_MODE_OBSERVE, SG_ACT_KILL, SG_EXEMPT_NONE, 1,
		  SG_DECIDE_ROOT, "no action: root's processes are the system's" },
		{ "root, throttle", SG_OWNER_DEFAULT, SG_MODE_OBSERVE, SG_ACT_THROTTLE,
		  SG_EXEMPT_NONE, 1, SG_DECIDE_APPLY, "" },
		{ "root, kill under a human's release", SG_OWNER_HUMAN, SG_MODE_OBSERVE,
		  SG_ACT_KILL, SG_EXEMPT_NONE, 1, SG_DECIDE_HUMAN,
		  "no action: an administrator's release stands" },
		{ "root allowed, kill", SG_OWNER_DEFAULT, SG_MODE_OBSERVE, SG_ACT_KILL,
		  SG_EXEMPT_ALLOW, 1, SG_DECIDE_EXEMPT, "no action: on the allow list" },
	};
	struct sg_standing s;
	struct sg_proposal want;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		s = (struct sg_standing){ cases[i].owner, cases[i].mode, 0 };
		want = (struct sg_proposal){ .kind = cases[i].kind,
					     .rate_per_hour = 60,
					     .exempt = cases[i].exempt,
					     .root = cases[i].root };
		expect(cases[i].name, &s, &want, cases[i].expect, cases[i].why);
	}
}

/* A mail principal's standing is its containment; any response but an alert contains. */
static void test_mail_precedence(void **state)
{
	static const struct {
		const char *name;
		int contained;
		time_t released_until;
		enum sg_action kind;
		enum sg_exempt exempt;
		enum sg_decision expect;
		const char *why;
	} cases[] = {
		{ "nothing, throttle", 0, 0, SG_ACT_THROTTLE, SG_EXEMPT_NONE, SG_DECIDE_APPLY, "" },
		{ "nothing, block", 0, 0, SG_ACT_BLOCK, SG_EXEMPT_NONE, SG_DECIDE_APPLY, "" },
		{ "nothing, kill", 0, 0, SG_ACT_KILL, SG_EXEMPT_NONE, SG_DECIDE_APPLY, "" },
		{ "nothing, alert", 0, 0, SG_ACT_ALERT, SG_EXEMPT_NONE, SG_DECIDE_ALERT, "" },
		{ "contained, throttle", 1, 0, SG_ACT_THROTTLE, SG_EXEMPT_NONE, SG_DECIDE_STRICTER,
		  "no action: already block by the detector" },
		{ "contained, kill", 1, 0, SG_ACT_KILL, SG_EXEMPT_NONE, SG_DECIDE_STRICTER,
		  "no action: already block by the detector" },
		{ "released within grace", 0, 1001, SG_ACT_BLOCK, SG_EXEMPT_NONE, SG_DECIDE_HUMAN,
		  "no action: an administrator's release stands" },
		{ "released, grace ends now", 0, 1000, SG_ACT_BLOCK, SG_EXEMPT_NONE,
		  SG_DECIDE_APPLY, "" },
		{ "released, grace over", 0, 999, SG_ACT_THROTTLE, SG_EXEMPT_NONE, SG_DECIDE_APPLY,
		  "" },
		{ "local sender allowed", 0, 0, SG_ACT_THROTTLE, SG_EXEMPT_ALLOW, SG_DECIDE_EXEMPT,
		  "no action: on the allow list" },
		{ "local sender an MTA user", 0, 0, SG_ACT_BLOCK, SG_EXEMPT_MTA, SG_DECIDE_EXEMPT,
		  "no action: the MTA's own user: its customers are told apart by SASL account" },
		{ "alert-only override", 0, 0, SG_ACT_KILL, SG_EXEMPT_ALERT_ONLY, SG_DECIDE_EXEMPT,
		  "no action: its override says actions = alert" },
		{ "exempt, alert", 0, 0, SG_ACT_ALERT, SG_EXEMPT_ALLOW, SG_DECIDE_ALERT, "" },
	};
	struct sg_standing s;
	struct sg_proposal want;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		sg_standing_mail(cases[i].contained, cases[i].released_until, 1000, &s);
		sg_proposal_mail(cases[i].kind, cases[i].exempt, &want);
		expect(cases[i].name, &s, &want, cases[i].expect, cases[i].why);
	}
}

/* The config's own policies: over the default, never over a human, over the detector if exempt. */
static void test_config_step(void **state)
{
	static const struct sg_policy want = POLICY(CONFIG, THROTTLE, 600, 0);
	static const struct {
		const char *name;
		int has_cur; /* in force */
		struct sg_policy cur;
		int exempt;
		enum sg_config_step expect;
	} cases[] = {
		{ "nothing in force", 0, {}, 0, SG_CONFIG_WRITE },
		{ "human throttle", 1, POLICY(CLI, THROTTLE, 10, 0), 0, SG_CONFIG_KEEP },
		{ "human release, exempt", 1, POLICY(CLI, OBSERVE, 0, LATER), 1, SG_CONFIG_KEEP },
		{ "detector block", 1, POLICY(DETECTOR, BLOCK, 0, LATER), 0, SG_CONFIG_KEEP },
		{ "detector block, exempt", 1, POLICY(DETECTOR, BLOCK, 0, LATER), 1,
		  SG_CONFIG_LIFT },
		{ "its own, unchanged", 1, POLICY(CONFIG, THROTTLE, 600, 0), 0, SG_CONFIG_KEEP },
		{ "its own, another rate", 1, POLICY(CONFIG, THROTTLE, 60, 0), 0, SG_CONFIG_WRITE },
		{ "its own, another mode", 1, POLICY(CONFIG, OBSERVE, 600, 0), 0, SG_CONFIG_WRITE },
		{ "its own, expiring", 1, POLICY(CONFIG, THROTTLE, 600, LATER), 0,
		  SG_CONFIG_WRITE },
		{ "setter unknown", 1, POLICY(UNKNOWN, BLOCK, 0, 0), 0, SG_CONFIG_WRITE },
	};
	struct sg_policy other_burst = want;
	size_t i;

	for (i = 0; i < N(cases); i++)
		if (sg_decide_config(cases[i].has_cur ? &cases[i].cur : NULL, &want,
				     cases[i].exempt) != cases[i].expect)
			fail_msg("%s", cases[i].name);
	other_burst.burst = 5;
	assert_int_equal(sg_decide_config(&other_burst, &want, 0), SG_CONFIG_WRITE);
}

static void test_standing_policy(void **state)
{
	static const struct sg_policy dflt = POLICY(UNKNOWN, THROTTLE, 7, 0);
	static const struct {
		const char *name;
		struct sg_policy own;
		enum sg_owner owner;
		__u32 mode;
		__u64 rate;
	} cases[] = {
		{ "human, never expires", POLICY(CLI, BLOCK, 0, 0), SG_OWNER_HUMAN, SG_MODE_BLOCK,
		  0 },
		{ "detector, in force", POLICY(DETECTOR, THROTTLE, 60, NOW + 1), SG_OWNER_DETECTOR,
		  SG_MODE_THROTTLE, 60 },
		{ "config", POLICY(CONFIG, OBSERVE, 0, 0), SG_OWNER_CONFIG, SG_MODE_OBSERVE, 0 },
		{ "unknown", POLICY(UNKNOWN, THROTTLE, 5, 0), SG_OWNER_CONFIG, SG_MODE_THROTTLE,
		  5 },
		{ "expired: the default", POLICY(CLI, BLOCK, 0, NOW), SG_OWNER_DEFAULT,
		  SG_MODE_THROTTLE, 7 },
	};
	struct sg_standing s;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		sg_standing_policy(&cases[i].own, &dflt, NOW, &s);
		if (s.owner != cases[i].owner || s.mode != cases[i].mode ||
		    s.rate_per_hour != cases[i].rate)
			fail_msg("%s: got %d %u %llu", cases[i].name, s.owner, s.mode,
				 (unsigned long long)s.rate_per_hour);
	}
	sg_standing_policy(NULL, &dflt, NOW, &s);
	assert_int_equal(s.owner, SG_OWNER_DEFAULT);
	assert_int_equal(s.mode, SG_MODE_THROTTLE);
	assert_int_equal(s.rate_per_hour, 7);
}

static void test_exempt_text(void **state)
{
	assert_null(sg_exempt_text(SG_EXEMPT_NONE));
	assert_string_equal(sg_exempt_text(SG_EXEMPT_ALLOW), "on the allow list");
	assert_string_equal(sg_exempt_text(SG_EXEMPT_ALERT_ONLY),
			    "its override says actions = alert");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_precedence),	cmocka_unit_test(test_uid_exempt_and_root),
		cmocka_unit_test(test_mail_precedence), cmocka_unit_test(test_config_step),
		cmocka_unit_test(test_standing_policy), cmocka_unit_test(test_exempt_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
