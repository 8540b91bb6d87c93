// SPDX-License-Identifier: GPL-2.0
/*
 * The policy service's peer (policypeer.h) with the real postconf on a
 * config directory of the test's own: mail_owner when it names a user,
 * else "postfix"; Exim's user, or -ENOENT on a host without one.
 */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mail/policypeer.h"

static struct sg_config cfg;

static void write_main_cf(const char *text)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/main.cf", cfg.mta.postfix_config);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_user(const char *name, enum sg_mta_type t)
{
	const struct passwd *pw = getpwnam(name);
	uid_t uid = 4242;
	gid_t gid = 4242;

	assert_non_null(pw);
	assert_int_equal(sg_policy_peer(&cfg, t, &uid, &gid), 0);
	assert_int_equal(uid, pw->pw_uid);
	assert_int_equal(gid, pw->pw_gid);
}

static void test_postfix(void **state)
{
	if (!getpwnam("postfix"))
		fail_msg("no user postfix: install Postfix (scripts/install-deps.sh)");
	write_main_cf("mail_owner = nobody\n");
	expect_user("nobody", SG_MTA_POSTFIX);
	/* Postfix's default mail_owner. */
	write_main_cf("");
	expect_user("postfix", SG_MTA_POSTFIX);
	write_main_cf("mail_owner = no-such-user-sgt\n");
	expect_user("postfix", SG_MTA_POSTFIX);
}

static void test_exim_and_none(void **state)
{
	uid_t uid = 4242;
	gid_t gid = 4242;

	if (getpwnam("Debian-exim"))
		expect_user("Debian-exim", SG_MTA_EXIM);
	else if (getpwnam("exim"))
		expect_user("exim", SG_MTA_EXIM);
	else
		assert_int_equal(sg_policy_peer(&cfg, SG_MTA_EXIM, &uid, &gid), -ENOENT);
	assert_int_equal(sg_policy_peer(&cfg, SG_MTA_NONE, &uid, &gid), -EINVAL);
	assert_int_equal(uid, 4242);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_exim_and_none),
	};
	char dir[] = "/tmp/sgt-policypeer.XXXXXX", cmd[64];
	int ret;

	sg_config_default(&cfg);
	if (!mkdtemp(dir))
		return 1;
	snprintf(cfg.mta.postfix_config, sizeof(cfg.mta.postfix_config), "%s", dir);
	ret = cmocka_run_group_tests_name("policypeer", tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : ret;
}
