// SPDX-License-Identifier: GPL-2.0
/*
 * The bouncer's bookkeeping of the fleet's decisions, with no kernel: holds
 * (a callback) only, and SMTPGUARD_PIN_DIR a directory that does not exist,
 * so that no ban ever reaches a real sg_bans.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "fleet/bouncer.h"
#include "sg_bucket.h"

#define NOW (1000 * SG_NS_PER_SEC)

/* What the hold callback was asked, as "+login" or "-login" lines. */
static char calls[1024];

static int hold(void *ctx, const char *account, const char *scenario, int on)
{
	(void)ctx;
	(void)scenario;
	snprintf(calls + strlen(calls), sizeof(calls) - strlen(calls), "%c%s\n", on ? '+' : '-',
		 account);
	return 0;
}

static struct sg_lapi_decision held(__u64 id, const char *login)
{
	struct sg_lapi_decision d = { .id = id,
				      .scope = SG_SCOPE_MAIL_ACCOUNT,
				      .origin = SG_ORIGIN_CSCLI,
				      .remaining_ns = 3600 * SG_NS_PER_SEC };

	snprintf(d.value, sizeof(d.value), "%s", login);
	snprintf(d.scenario, sizeof(d.scenario), "test");
	return d;
}

static int setup(void **state)
{
	static struct sg_config c;

	setenv("SMTPGUARD_PIN_DIR", "/nonexistent/smtpguard-test-bouncer", 1);
	sg_config_default(&c);
	*state = &c;
	calls[0] = '\0';
	return 0;
}

/*
 * A second startup list (the link started anew: a reload with another
 * [crowdsec] url or key) undoes what it lacks, as the first one does: the
 * decisions listed by the first are not kept for having been listed then.
 */
static void test_second_startup_undoes_what_it_lacks(void **state)
{
	const struct sg_config *c = *state;
	struct sg_lapi_decision first[2] = { held(1, "alice"), held(2, "bob") },
				second[1] = { held(2, "bob") };
	struct sg_bouncer b;

	assert_int_equal(sg_bouncer_init(&b, hold, NULL), 0);
	sg_bouncer_apply(&b, c, NULL, first, 2, NULL, 0, 1, 1, NOW);
	assert_string_equal(calls, "+alice\n+bob\n");
	assert_int_equal(b.n.known, 2);

	/* Deltas in between: nothing new. */
	sg_bouncer_apply(&b, c, NULL, NULL, 0, NULL, 0, 0, 1, NOW + SG_NS_PER_SEC);

	calls[0] = '\0';
	sg_bouncer_apply(&b, c, NULL, second, 1, NULL, 0, 1, 1, NOW + 2 * SG_NS_PER_SEC);
	assert_string_equal(calls, "-alice\n");
	assert_int_equal(b.n.known, 1);
	assert_int_equal(b.n.active[SG_SCOPE_MAIL_ACCOUNT], 1);

	/* And a third, empty, undoes bob: he was listed by the second only. */
	calls[0] = '\0';
	sg_bouncer_apply(&b, c, NULL, NULL, 0, NULL, 0, 1, 1, NOW + 3 * SG_NS_PER_SEC);
	assert_string_equal(calls, "-bob\n");
	assert_int_equal(b.n.known, 0);
	sg_bouncer_free(&b);
}

/* Accounts this server hosts, for hosting(): a hold of another is -ENOENT. */
static const char *hosted = "";

static int hosting(void *ctx, const char *account, const char *scenario, int on)
{
	if (!strstr(hosted, account))
		return -ENOENT;
	return hold(ctx, account, scenario, on);
}

/*
 * A hold of an account this server has not seen yet (its mail logs know
 * no message of it since the daemon started) applies once the account
 * shows up, at the next pull: the intruder who moves to this server is
 * held here too.
 */
static void test_hold_of_an_account_seen_later(void **state)
{
	const struct sg_config *c = *state;
	struct sg_lapi_decision d[1] = { held(1, "roamer") };
	struct sg_bouncer b;

	assert_int_equal(sg_bouncer_init(&b, hosting, NULL), 0);
	hosted = "";
	sg_bouncer_apply(&b, c, NULL, d, 1, NULL, 0, 1, 1, NOW);
	assert_string_equal(calls, "");
	assert_int_equal(b.n.skipped[SG_SKIP_NOT_HOSTED], 1);
	assert_int_equal(b.n.active[SG_SCOPE_MAIL_ACCOUNT], 0);

	sg_bouncer_apply(&b, c, NULL, NULL, 0, NULL, 0, 0, 1, NOW + SG_NS_PER_SEC);
	assert_int_equal(b.n.skipped[SG_SKIP_NOT_HOSTED], 1); /* counted once */

	hosted = "roamer";
	sg_bouncer_apply(&b, c, NULL, NULL, 0, NULL, 0, 0, 1, NOW + 2 * SG_NS_PER_SEC);
	assert_string_equal(calls, "+roamer\n");
	assert_int_equal(b.n.active[SG_SCOPE_MAIL_ACCOUNT], 1);
	assert_int_equal(b.n.applied[SG_ORIGIN_CSCLI][SG_SCOPE_MAIL_ACCOUNT], 1);

	calls[0] = '\0';
	sg_bouncer_apply(&b, c, NULL, NULL, 0, d, 1, 0, 1, NOW + 3 * SG_NS_PER_SEC);
	assert_string_equal(calls, "-roamer\n");
	sg_bouncer_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_second_startup_undoes_what_it_lacks, setup),
		cmocka_unit_test_setup(test_hold_of_an_account_seen_later, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
