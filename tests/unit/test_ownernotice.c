// SPDX-License-Identifier: GPL-2.0
/*
 * The owner's notice through the containment state (mail/ownernotice.h):
 * once per containment (a second verdict on a principal still contained
 * sends none, a new containment after a release does), recorded in the
 * entry with its outcome; no address without a fallback, and never the
 * contained address as its own fallback. With no MTA, sending fails and is
 * recorded so.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/contain.h"
#include "mail/ownernotice.h"

static char tmp[64];
static struct sg_config cfg;

static int make_tmp(void **state)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_ownernotice.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	sg_config_default(&cfg);
	cfg.mta.ban_ns = 0;
	cfg.notify.owner_mail = 1;
	snprintf(cfg.mta.contained_path, PATH_MAX, "%s/contained.json", tmp);
	/* No panel: every owner is the fallback's. */
	snprintf(cfg.attribution.cpanel_userdomains, PATH_MAX, "%s/none", tmp);
	snprintf(cfg.attribution.directadmin_domainowners, PATH_MAX, "%s/none", tmp);
	snprintf(cfg.notify.cpanel_users, PATH_MAX, "%s/none", tmp);
	snprintf(cfg.notify.directadmin_users, PATH_MAX, "%s/none", tmp);
	snprintf(cfg.notify.owner_template, PATH_MAX, "dist/owner-notice.txt");
	return 0;
}

static int remove_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) ? -1 : 0;
}

static void contain(const char *principal)
{
	struct sg_contain_req req = { .principal = principal, .rule = "rate" };
	char err[512];

	assert_int_equal(sg_contain(&cfg, SG_MTA_NONE, &req, NULL, err, sizeof(err)), 0);
}

static enum sg_notice_outcome notify(const char *principal, char *to, char *why)
{
	struct sg_notice_facts f = { .account = principal, .rule = "rate", .host = "mx" };

	return sg_owner_notify(&cfg, principal, &f, to, 256, why, 512);
}

/* The entry's notice as the state file has it: "OUTCOME TO", or "" when it has none. */
static const char *recorded(const char *principal, char *buf, size_t len)
{
	json_t *s = sg_contain_state(&cfg), *n;

	n = json_object_get(json_object_get(s, principal), "notice");
	snprintf(buf, len, "%s%s%s", n ? json_string_value(json_object_get(n, "outcome")) : "",
		 n ? " " : "", n ? json_string_value(json_object_get(n, "to")) : "");
	json_decref(s);
	return buf;
}

static void test_once(void **state)
{
	const char *p = "sasl:x@unknown.example";
	char to[256], why[512], buf[600];

	contain(p);
	assert_int_equal(notify(p, to, why), SG_NOTICE_NO_ADDRESS);
	assert_string_equal(to, "");
	assert_string_equal(why, "no panel account; no [notify] owner_fallback");
	assert_string_equal(recorded(p, buf, sizeof(buf)), "no_address ");
	assert_int_equal(notify(p, to, why), SG_NOTICE_NONE);

	/* A second verdict while contained: the same containment, its notice kept. */
	contain(p);
	assert_string_equal(recorded(p, buf, sizeof(buf)), "no_address ");
	assert_int_equal(notify(p, to, why), SG_NOTICE_NONE);

	/* Released: nothing to tell. Contained anew: a new notice, to the fallback. */
	assert_int_equal(sg_release_principal(&cfg, p, 1000, NULL, why, sizeof(why)), 0);
	assert_int_equal(notify(p, to, why), SG_NOTICE_NONE);
	contain(p);
	assert_string_equal(recorded(p, buf, sizeof(buf)), "");
	snprintf(cfg.notify.owner_fallback, sizeof(cfg.notify.owner_fallback), "admin@example.net");
	assert_int_equal(notify(p, to, why), SG_NOTICE_FAILED);
	assert_string_equal(to, "admin@example.net");
	assert_string_equal(why, "no MTA to send it through");
	assert_string_equal(recorded(p, buf, sizeof(buf)), "failed admin@example.net");
	cfg.notify.owner_fallback[0] = '\0';
}

/* The fallback is never the contained address itself. */
static void test_fallback_not_self(void **state)
{
	const char *p = "sasl:Admin@Example.net";
	char to[256], why[512], buf[600];

	snprintf(cfg.notify.owner_fallback, sizeof(cfg.notify.owner_fallback), "admin@example.net");
	contain(p);
	assert_int_equal(notify(p, to, why), SG_NOTICE_NO_ADDRESS);
	assert_string_equal(to, "");
	assert_string_equal(why,
			    "no panel account; [notify] owner_fallback is the contained address");
	assert_string_equal(recorded(p, buf, sizeof(buf)), "no_address ");
	cfg.notify.owner_fallback[0] = '\0';
}

/* Not contained: nothing sent, nothing written. */
static void test_not_contained(void **state)
{
	char to[256], why[512], buf[600];

	assert_int_equal(notify("sasl:never@example.org", to, why), SG_NOTICE_NONE);
	assert_string_equal(recorded("sasl:never@example.org", buf, sizeof(buf)), "");
}

static void test_template(void **state)
{
	char *text, err[600];

	assert_int_equal(sg_owner_template(&cfg, &text, err, sizeof(err)), 0);
	free(text);
	snprintf(cfg.notify.owner_template, PATH_MAX, "%s/missing.txt", tmp);
	assert_int_equal(sg_owner_template(&cfg, &text, err, sizeof(err)), -ENOENT);
	assert_null(text);
	assert_non_null(strstr(err, "missing.txt: No such file or directory"));
	snprintf(cfg.notify.owner_template, PATH_MAX, "dist/owner-notice.txt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_fallback_not_self),
		cmocka_unit_test(test_not_contained),
		cmocka_unit_test(test_template),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
