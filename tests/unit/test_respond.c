// SPDX-License-Identifier: GPL-2.0
/*
 * The responder's and the guard's decisions on UIDs from the config:
 * exemptions by allow list, MTA user and alert-only override; the rule's
 * response and its rate; root; the thresholds each UID is judged by; the
 * UID of a principal id. No map: the standing is given.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/dryrun.h"
#include "daemon/guard.h"
#include "daemon/respond.h"
#include "sg_bucket.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { ALLOWED = 2001, MTA = 2002, ALERT_ONLY = 2003, BULK = 2004, PLAIN = 1001 };

static struct sg_config cfg;
static struct sg_responder *resp;

static int setup(void **state)
{
	sg_config_default(&cfg);
	cfg.detect.n_allow = 1;
	strcpy(cfg.detect.allow[0], "2001");
	cfg.detect.n_mta_users = 2;
	strcpy(cfg.detect.mta_users[0], "2002");
	strcpy(cfg.detect.mta_users[1], "no-such-user-here");
	cfg.n_overrides = 2;
	strcpy(cfg.overrides[0].name, "2003");
	cfg.overrides[0].alert_only = 1;
	cfg.overrides[0].t = cfg.detect.thresholds;
	cfg.overrides[0].t.rate_floor = 500;
	strcpy(cfg.overrides[1].name, "2004");
	cfg.overrides[1].t = cfg.detect.thresholds;
	cfg.overrides[1].t.destinations = 900;
	cfg.actions[SG_RULE_NEW_SENDER] =
		(struct sg_response){ .kind = SG_ACT_THROTTLE, .rate_per_hour = 60, .burst = 5 };
	cfg.actions[SG_RULE_RATE] = (struct sg_response){ .kind = SG_ACT_BLOCK };
	cfg.actions[SG_RULE_DESTINATIONS] = (struct sg_response){ .kind = SG_ACT_KILL };
	cfg.actions[SG_RULE_FAILURE_RATIO] = (struct sg_response){ .kind = SG_ACT_ALERT };
	resp = sg_responder_new();
	if (!resp)
		return -1;
	sg_respond_resolve(resp, &cfg, 0);
	return 0;
}

static int teardown(void **state)
{
	sg_responder_free(resp);
	return 0;
}

static void test_decide(void **state)
{
	static const struct sg_standing none = { SG_OWNER_DEFAULT, SG_MODE_OBSERVE, 0 };
	static const struct sg_standing detector_60 = { SG_OWNER_DETECTOR, SG_MODE_THROTTLE, 60 };
	static const struct sg_standing detector_120 = { SG_OWNER_DETECTOR, SG_MODE_THROTTLE, 120 };
	static const struct sg_standing release = { SG_OWNER_HUMAN, SG_MODE_OBSERVE, 0 };
	static const struct {
		const char *name;
		__u32 uid;
		enum sg_rule rule;
		const struct sg_standing *now;
		enum sg_decision expect;
		const char *why;
	} cases[] = {
		{ "throttle", PLAIN, SG_RULE_NEW_SENDER, &none, SG_DECIDE_APPLY, "" },
		{ "block", PLAIN, SG_RULE_RATE, &none, SG_DECIDE_APPLY, "" },
		{ "kill", PLAIN, SG_RULE_DESTINATIONS, &none, SG_DECIDE_APPLY, "" },
		{ "alert", PLAIN, SG_RULE_FAILURE_RATIO, &none, SG_DECIDE_ALERT, "" },
		{ "its rate in force", PLAIN, SG_RULE_NEW_SENDER, &detector_60, SG_DECIDE_STRICTER,
		  "no action: already throttle by the detector" },
		{ "a faster rate in force", PLAIN, SG_RULE_NEW_SENDER, &detector_120,
		  SG_DECIDE_APPLY, "" },
		{ "a release", PLAIN, SG_RULE_RATE, &release, SG_DECIDE_HUMAN,
		  "no action: an administrator's release stands" },
		{ "allow list", ALLOWED, SG_RULE_RATE, &none, SG_DECIDE_EXEMPT,
		  "no action: on the allow list" },
		{ "MTA user", MTA, SG_RULE_DESTINATIONS, &none, SG_DECIDE_EXEMPT,
		  "no action: the MTA's own user: its customers are told apart by SASL account" },
		{ "alert-only override", ALERT_ONLY, SG_RULE_NEW_SENDER, &none, SG_DECIDE_EXEMPT,
		  "no action: its override says actions = alert" },
		{ "override with limits", BULK, SG_RULE_RATE, &none, SG_DECIDE_APPLY, "" },
		{ "root, kill", 0, SG_RULE_DESTINATIONS, &none, SG_DECIDE_ROOT,
		  "no action: root's processes are the system's" },
		{ "root, block", 0, SG_RULE_RATE, &none, SG_DECIDE_APPLY, "" },
	};
	enum sg_decision got;
	char why[160];
	size_t i;

	for (i = 0; i < N(cases); i++) {
		got = sg_respond_decide(resp, &cfg, cases[i].uid, cases[i].rule, cases[i].now, why,
					sizeof(why));
		if (got != cases[i].expect || strcmp(why, cases[i].why))
			fail_msg("%s: got %d \"%s\"", cases[i].name, got, why);
	}
}

static void test_exempt(void **state)
{
	static const struct {
		__u32 uid;
		enum sg_exempt ex;
	} cases[] = {
		{ PLAIN, SG_EXEMPT_NONE }, { ALLOWED, SG_EXEMPT_ALLOW },
		{ MTA, SG_EXEMPT_MTA },	   { ALERT_ONLY, SG_EXEMPT_ALERT_ONLY },
		{ BULK, SG_EXEMPT_NONE },  { 0, SG_EXEMPT_NONE },
	};
	size_t i;

	for (i = 0; i < N(cases); i++)
		assert_int_equal(sg_respond_exempt(resp, &cfg, cases[i].uid), cases[i].ex);
}

/* Explain shows the override's thresholds or [detect]'s; the guard judges allow and MTA by none. */
static void test_thresholds(void **state)
{
	static const struct sg_thresholds off;
	struct sg_guard g = { .resp = resp };
	const struct {
		__u32 uid;
		const struct sg_thresholds *shown, *judged;
	} cases[] = {
		{ PLAIN, &cfg.detect.thresholds, &cfg.detect.thresholds },
		{ ALLOWED, &cfg.detect.thresholds, NULL },
		{ MTA, &cfg.detect.thresholds, NULL },
		{ ALERT_ONLY, &cfg.overrides[0].t, &cfg.overrides[0].t },
		{ BULK, &cfg.overrides[1].t, &cfg.overrides[1].t },
	};
	const struct sg_thresholds *judged;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		assert_ptr_equal(sg_respond_thresholds(resp, &cfg, cases[i].uid), cases[i].shown);
		judged = sg_guard_thresholds(&g, &cfg, cases[i].uid);
		if (cases[i].judged)
			assert_ptr_equal(judged, cases[i].judged);
		else
			assert_memory_equal(judged, &off, sizeof(off));
	}
}

/* The guard's principal ids for UIDs, and the bare numbers explain may be given. */
static void test_uid_of(void **state)
{
	static const struct {
		const char *id;
		int ret;
		__u32 uid;
	} cases[] = {
		{ "uid:1001", 0, 1001 },
		{ "1001", 0, 1001 },
		{ "uid:0", 0, 0 },
		{ "uid:4294967294", 0, 4294967294U },
		{ "uid:", -EINVAL, 7 },
		{ "uid:bob", -EINVAL, 7 },
		{ "bob", -EINVAL, 7 },
		{ "uid:1001 ", -EINVAL, 7 },
		{ "uid:uid:1", -EINVAL, 7 },
		{ "-1", -EINVAL, 7 },
		{ "uid:4294967295", -EINVAL, 7 },
		{ "UID:1001", -EINVAL, 7 },
	};
	__u32 uid;
	size_t i;
	int ret;

	for (i = 0; i < N(cases); i++) {
		uid = 7;
		ret = sg_guard_uid_of(cases[i].id, &uid);
		if (ret != cases[i].ret || uid != cases[i].uid)
			fail_msg("%s: got %d, uid %u", cases[i].id, ret, uid);
	}
}

/*
 * Dry run: the throttle is told as would-throttle with its evidence, not
 * made (nothing written: no map), and counted as the alert that was all.
 */
static void test_dry_run_told(void **state)
{
	char dir[] = "/tmp/test_respond.XXXXXX", line[8192];
	struct sg_audit_cfg audit = { 0 };
	static const struct sg_rule_state rules[SG_RULES];
	struct sg_principal p = { .id = "uid:1001", .expected = -1, .rules = rules };
	struct sg_evidence ev = { .uid = PLAIN, .user = "", .p = &p, .rule = SG_RULE_NEW_SENDER };
	int would = 0, alert = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	/* No pinned sg_policies: nothing stands, and nothing could be written. */
	setenv("SMTPGUARD_PIN_DIR", "/nonexistent/smtpguard", 1);
	snprintf(audit.path, sizeof(audit.path), "%s/audit.log", dir);
	cfg.dry_run = 1;
	assert_int_equal(sg_respond_alert(resp, &cfg, &audit, &ev, 0, 1), SG_ACT_ALERT);
	cfg.dry_run = 0;
	assert_int_equal(sg_respond_count(resp, SG_ACT_ALERT, SG_RULE_NEW_SENDER), 1);
	assert_int_equal(sg_respond_count(resp, SG_ACT_THROTTLE, SG_RULE_NEW_SENDER), 0);
	f = fopen(audit.path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		would += strstr(line, "\"action\":\"would-throttle\"") != NULL;
		alert += strstr(line, "\"action\":\"alert\"") != NULL;
	}
	fclose(f);
	unlink(audit.path);
	rmdir(dir);
	assert_int_equal(would, 1);
	assert_int_equal(alert, 0);
}

/* The would-actions counted for smtpguard_actions_total{dry_run="true"}: the bouncer's too. */
static void test_dry_counts(void **state)
{
	const struct sg_dry_count *k;
	size_t n, i, throttle = 0, ban = 0;

	sg_dry_counted("ban", "crowdsec", 3);
	sg_dry_counted("ban", "crowdsec", 0);
	k = sg_dry_counts(&n);
	for (i = 0; i < n; i++) {
		if (!strcmp(k[i].action, "throttle") && !strcmp(k[i].rule, "new_sender"))
			throttle = k[i].n;
		if (!strcmp(k[i].action, "ban") && !strcmp(k[i].rule, "crowdsec"))
			ban = k[i].n;
	}
	assert_int_equal(throttle, 1); /* test_dry_run_told's */
	assert_int_equal(ban, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),	     cmocka_unit_test(test_exempt),
		cmocka_unit_test(test_thresholds),   cmocka_unit_test(test_uid_of),
		cmocka_unit_test(test_dry_run_told), cmocka_unit_test(test_dry_counts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
