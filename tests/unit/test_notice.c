// SPDX-License-Identifier: GPL-2.0
/*
 * The owner's notice (core/notice.h) and the owner's address
 * (host/owner.h): a template filled in to the letter, templates refused
 * with the reason, addresses a customer could write to add a header or a
 * recipient refused, and the panels' files of a fixture tree read as
 * cPanel and DirectAdmin write them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/notice.h"
#include "host/owner.h"

static const char *const ips[] = { "198.51.100.10", "2001:db8:bad::10" };

static struct sg_notice_facts facts(const char *account, const char *owner)
{
	return (struct sg_notice_facts){
		.account = account,
		.rule = "rate",
		.host = "mx1.example.net",
		.owner = owner,
		.messages = 40,
		.recipients = 43,
		.delivered = 30,
		.bounced = 24,
		.held = 9,
		.ips = ips,
		.n_ips = 2,
		.first = 1796590800, /* 2026-12-06 21:00:00 UTC */
		.last = 1796590865,
	};
}

static void test_render(void **state)
{
	struct sg_notice_facts f = facts("victim@hosting.test", "owner@example.org");
	char *out;

	assert_int_equal(sg_notice_render("Subject: {account} held on {host}\n\n"
					  "{messages} messages to {recipients} recipients, "
					  "{bounced} of {delivered} bounced ({bounce_share}); "
					  "{held} held; from {client_ips}; {first} to {last}; "
					  "{rule} {owner} {unknown text} {\n",
					  &f, &out),
			 0);
	assert_string_equal(out,
			    "To: owner@example.org\n"
			    "Subject: victim@hosting.test held on mx1.example.net\n\n"
			    "40 messages to 43 recipients, 24 of 30 bounced (80%); 9 held; "
			    "from 198.51.100.10, 2001:db8:bad::10; 2026-12-06 21:00:00 UTC to "
			    "2026-12-06 21:01:05 UTC; rate owner@example.org {unknown text} {\n");
	free(out);
}

/* A login with CR LF in it stays on its header line: no Bcc, no second recipient. */
static void test_header_injection(void **state)
{
	struct sg_notice_facts f =
		facts("x@hosting.test\r\nBcc: victim@elsewhere.example", "o@e.org");
	char *out, login[1023];

	assert_int_equal(sg_notice_render("Subject: {account}\n\nbody {account}\n", &f, &out), 0);
	assert_string_equal(out,
			    "To: o@e.org\n"
			    "Subject: x@hosting.test\\x0d\\x0aBcc: victim@elsewhere.example\n\n"
			    "body x@hosting.test\\x0d\\x0aBcc: victim@elsewhere.example\n");
	free(out);
	/* A login as long as one can be: cut in the Subject, whole in the body. */
	memset(login, 'a', sizeof(login) - 1);
	login[sizeof(login) - 1] = '\0';
	f.account = login;
	assert_int_equal(sg_notice_render("Subject: {account}\n\n{account}\n", &f, &out), 0);
	assert_int_equal(strcspn(out + strlen("To: o@e.org\nSubject: "), "\n"), 200 + 3);
	assert_non_null(strstr(out, "\n\n"));
	assert_int_equal(strlen(strstr(out, "\n\n") + 2), sizeof(login));
	free(out);
	f.owner = "o@e.org\nBcc: victim@elsewhere.example";
	assert_int_equal(sg_notice_render("Subject: x\n\nbody\n", &f, &out), -EINVAL);
	assert_null(out);
}

static void test_address(void **state)
{
	static const char *const good[] = { "a@b.c", "first.last+tag@mail.example.com",
					    "o'neil@x-y.example", "UPPER@EXAMPLE.ORG" };
	static const char *const bad[] = {
		"",
		"nobody",
		"a@b",
		"@b.c",
		"a@",
		"a b@c.d",
		"a@c.d\r\nBcc: v@e.f",
		"a@c.d\r",
		"a@c.d, v@e.f",
		"<a@c.d>",
		"\"a\"@c.d",
		"a..b@c.d",
		".a@c.d",
		"a@-c.d",
		"a@c-.d",
		"a@c..d",
		"a@c.d.",
		"a@c_d.e",
		"Name <a@c.d>",
		"a@b.c@d.e",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(sg_notice_address_ok(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sg_notice_address_ok(bad[i]))
			fail_msg("'%s' taken as a plain address", bad[i]);
	}
}

static void expect_refused(const char *tmpl, const char *why)
{
	char err[160];

	assert_int_equal(sg_notice_check(tmpl, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, why);
}

static void test_check(void **state)
{
	char err[160];

	assert_int_equal(
		sg_notice_check("Subject: a\n  folded\nX-A: b\n\nbody\n", err, sizeof(err)), 0);
	expect_refused("Subject: {acount}\n\nbody\n", "line 1: unknown placeholder {acount}");
	expect_refused("Subject: a\n\n{messages} {mesages}\n",
		       "line 3: unknown placeholder {mesages}");
	expect_refused("Subject: a\nBcc: boss@example.org\n\nbody\n",
		       "line 2: Bcc: the owner's address is the notice's one recipient");
	expect_refused("To: x@y.z\nSubject: a\n\nbody\n",
		       "line 1: To: the owner's address is the notice's one recipient");
	expect_refused("Subject: a\nresent-to: x@y.z\n\nbody\n",
		       "line 2: resent-to: the owner's address is the notice's one recipient");
	expect_refused("Hello,\n\nbody\n",
		       "line 1: not a header line (Name: value) before the blank line");
	expect_refused("From: x@y.z\n\nbody\n",
		       "no Subject: line before the blank line that starts the body");
	expect_refused("Subject: a\n\n", "no body after the header lines and a blank line");
	expect_refused("Subject: a\n", "no body after the header lines and a blank line");
}

static void test_shipped_template(void **state)
{
	struct sg_notice_facts f = facts("victim@hosting.test", "owner@example.org");
	char text[16384], err[160], *out;
	FILE *in = fopen("dist/owner-notice.txt", "r");
	size_t n;

	assert_non_null(in);
	n = fread(text, 1, sizeof(text) - 1, in);
	fclose(in);
	text[n] = '\0';
	assert_int_equal(sg_notice_check(text, err, sizeof(err)), 0);
	assert_int_equal(sg_notice_render(text, &f, &out), 0);
	assert_non_null(strstr(out, "messages sent:           40\n"));
	assert_non_null(strstr(out, "bounced:                 24 (80% of those delivered)\n"));
	assert_non_null(strstr(out, "logged in from:          198.51.100.10, 2001:db8:bad::10\n"));
	assert_null(strchr(out, '{'));
	free(out);
}

/* --- the owner's address, from fixture trees ---------------------------------------------- */

static char root[] = "/tmp/sg-test-owner.XXXXXX";
static struct sg_config cfg;

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int panels_up(void **state)
{
	char path[512];

	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/cpanel", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/da", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/da/dauser", root);
	mkdir(path, 0700);
	put("userdomains", "# cPanel\nshop.example: bob\nbob.example: bob\nevil.example: eve\n"
			   "self.example: sam\n*: nobody\n");
	put("domainowners", "da.example: dauser\n");
	put("cpanel/bob", "DNS=bob.example\nCONTACTEMAIL=bob.owner@gmail.example\n"
			  "CONTACTEMAIL2=second@x.example\n");
	put("cpanel/eve", "CONTACTEMAIL=eve@x.example\rBcc: victim@elsewhere.example\n");
	put("cpanel/sam", "CONTACTEMAIL=info@self.example\n");
	/* A customer may pick the panel name "unknown". */
	put("cpanel/unknown", "CONTACTEMAIL=unknown.owner@x.example\n");
	put("da/dauser/user.conf", "username=dauser\nemail=da.owner@mail.example\n");
	sg_config_default(&cfg);
	snprintf(cfg.attribution.cpanel_userdomains, PATH_MAX, "%s/userdomains", root);
	snprintf(cfg.attribution.directadmin_domainowners, PATH_MAX, "%s/domainowners", root);
	snprintf(cfg.notify.cpanel_users, PATH_MAX, "%s/cpanel", root);
	snprintf(cfg.notify.directadmin_users, PATH_MAX, "%s/da", root);
	return 0;
}

static int panels_down(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void expect_contact(const char *principal, int ret, const char *addr, const char *how)
{
	char a[256] = "", h[512];

	assert_int_equal(sg_owner_contact(&cfg, principal, a, sizeof(a), h, sizeof(h)), ret);
	if (!ret)
		assert_string_equal(a, addr);
	assert_string_equal(h, how);
}

static void test_contact(void **state)
{
	char how[600];

	expect_contact("sasl:info@shop.example", 0, "bob.owner@gmail.example", "cpanel user bob");
	expect_contact("sasl:Info@SHOP.example", 0, "bob.owner@gmail.example", "cpanel user bob");
	expect_contact("sasl:bob", 0, "bob.owner@gmail.example", "cpanel user bob");
	expect_contact("local:bob", 0, "bob.owner@gmail.example", "cpanel user bob");
	/* The policy service's unattributed local mail: every user's, never that customer's. */
	expect_contact("local:unknown", -ENOENT, NULL, "no panel account");
	expect_contact("sasl:a@da.example", 0, "da.owner@mail.example", "directadmin user dauser");
	expect_contact("sasl:x@evil.example", -EINVAL, NULL,
		       "cpanel user eve's CONTACTEMAIL is not a plain address");
	/* Found: that it is the contained address itself is the caller's to judge. */
	expect_contact("sasl:info@self.example", 0, "info@self.example", "cpanel user sam");
	expect_contact("sasl:x@unknown.example", -ENOENT, NULL, "no panel account");
	expect_contact("sasl:x@../../etc", -ENOENT, NULL, "no panel account");
	snprintf(how, sizeof(how), "panel user nobody-here has no contact address");
	expect_contact("sasl:nobody-here", -ENOENT, NULL, how);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),		 cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_address),		 cmocka_unit_test(test_check),
		cmocka_unit_test(test_shipped_template), cmocka_unit_test(test_contact),
	};

	return cmocka_run_group_tests(tests, panels_up, panels_down);
}
