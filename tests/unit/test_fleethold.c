// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's hold callback for the fleet's account decisions, with the
 * real containment (state file and audit log in a temporary directory, no
 * MTA): a hold from the LAPI contains a hosted account and its end releases
 * it; an account this server contained itself (a local rule's hold, which
 * ends with a human's release only) is not taken over (-EEXIST: the
 * decision waits) and stays held when a fleet decision on it ends, such as
 * the one this server pushed for it, which lasts [crowdsec] hold and comes
 * back to it on its own pulls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mailfix.h"
#include "daemon/fleetpush.h"
#include "daemon/run.h"
#include "mail/contain.h"

static struct mail_fixture fx;
static struct daemon d;

static int setup(void **state)
{
	setenv("SMTPGUARD_PIN_DIR", "/nonexistent/smtpguard-test-fleethold", 1);
	if (mail_fixture_open(&fx, &d.mail, "test_fleethold", time(NULL)))
		return -1;
	d.cfg = &fx.cfg;
	d.audit = fx.cfg.audit;
	return sg_daemon_fleet_start(&d) ? -1 : 0;
}

static int teardown(void **state)
{
	sg_daemon_fleet_stop(&d);
	return mail_fixture_close(&fx, &d.mail);
}

/* Whether id is contained in the state file, by rule (NULL: any), not released. */
static int held_by(const char *id, const char *rule)
{
	json_t *s = sg_contain_state(&fx.cfg), *e = json_object_get(s, id);
	const char *r = json_string_value(json_object_get(e, "rule"));
	int held = e && !json_object_get(e, "released") && r && (!rule || !strcmp(r, rule));

	json_decref(s);
	return held;
}

static void test_fleet_hold_and_its_end(void **state)
{
	struct sg_mail_principal *p;

	p = sg_mailstats_principal(d.mail.stats, "sasl:roamer@hosting.test", time(NULL));
	assert_non_null(p);
	assert_int_equal(d.bouncer.hold(d.bouncer.hold_ctx, "roamer@hosting.test", "test", 1), 0);
	assert_true(held_by("sasl:roamer@hosting.test", SG_FLEET_RULE));
	assert_int_equal(d.bouncer.hold(d.bouncer.hold_ctx, "roamer@hosting.test", "test", 0), 0);
	assert_false(held_by("sasl:roamer@hosting.test", NULL));
	/* Not hosted here: no principal known. */
	assert_int_equal(d.bouncer.hold(d.bouncer.hold_ctx, "nobody@hosting.test", "test", 1),
			 -ENOENT);
}

static void test_local_hold_outlives_the_fleets(void **state)
{
	struct sg_mail_principal *p;

	p = sg_mailstats_principal(d.mail.stats, "sasl:victim@hosting.test", time(NULL));
	assert_non_null(p);
	sg_mailguard_contain(&d.mail, &fx.cfg, &d.audit, p, "rate", 300, 100, time(NULL));
	assert_true(held_by("sasl:victim@hosting.test", "rate"));
	/* Its own push, pulled back: a local rule's hold stands, the decision waits. */
	assert_int_equal(d.bouncer.hold(d.bouncer.hold_ctx, "victim@hosting.test", "test", 1),
			 -EEXIST);
	assert_true(held_by("sasl:victim@hosting.test", "rate"));
	/* The decision's day is over, or an operator deleted it at the LAPI: a human's still. */
	d.bouncer.hold(d.bouncer.hold_ctx, "victim@hosting.test", "test", 0);
	assert_true(held_by("sasl:victim@hosting.test", "rate"));
}

/*
 * A human released the account a local rule held, while the hold this
 * server pushed for it still lasts: the decision, waiting for the local
 * containment to end, does not contain it again within the release's
 * grace, as no rule does.
 */
static void test_human_release_stands(void **state)
{
	struct sg_mail_principal *p;
	char err[512];

	p = sg_mailstats_principal(d.mail.stats, "sasl:freed@hosting.test", time(NULL));
	assert_non_null(p);
	sg_mailguard_contain(&d.mail, &fx.cfg, &d.audit, p, "rate", 300, 100, time(NULL));
	assert_int_equal(d.bouncer.hold(d.bouncer.hold_ctx, "freed@hosting.test", "test", 1),
			 -EEXIST);
	/* `smtpguard release`, and the tick reading it back from the state. */
	assert_int_equal(sg_release_principal(&fx.cfg, "sasl:freed@hosting.test", time(NULL), NULL,
					      err, sizeof(err)),
			 0);
	p->contained = 0;
	p->released_until = time(NULL) + 3600;
	assert_int_not_equal(d.bouncer.hold(d.bouncer.hold_ctx, "freed@hosting.test", "test", 1),
			     0);
	assert_false(held_by("sasl:freed@hosting.test", NULL));
	assert_false(p->contained);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fleet_hold_and_its_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_hold_outlives_the_fleets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_human_release_stands, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
