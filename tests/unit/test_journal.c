// SPDX-License-Identifier: GPL-2.0
/*
 * The journal source's pure parts (the syslog line rebuilt from an
 * entry's fields, the identifiers selected, the trusted _UID check) and
 * which log files are the mail server's own ([mta] trust_syslog), on real
 * files with the real postconf and doveconf. Reading a live journal is
 * tests/integration/journal.sh's.
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
#include "mail/journal.h"
#include "mail/logsource.h"
#include "mail/mtalog.h"

/* 2023-11-14T22:13:20 UTC, and 123456 microseconds. */
#define USEC 1700000000123456ULL

static size_t line(char *buf, size_t size, const char *host, const char *ident, const char *pid,
		   const char *msg)
{
	return sg_journal_line(buf, size, USEC, host, strlen(host), ident, strlen(ident), pid,
			       strlen(pid), msg, strlen(msg));
}

static void test_line(void **state)
{
	char buf[256];

	assert_int_equal(line(buf, sizeof(buf), "mail", "postfix/smtpd", "1234", "connect from x"),
			 68);
	assert_string_equal(buf,
			    "2023-11-14T22:13:20.123456Z mail postfix/smtpd[1234]: connect from x");
	line(buf, sizeof(buf), "", "dovecot", "", "imap-login: x");
	assert_string_equal(buf, "2023-11-14T22:13:20.123456Z localhost dovecot: imap-login: x");
	/* One entry is one line: a newline, a NUL or DEL in any field is a space. */
	assert_int_equal(sg_journal_line(buf, sizeof(buf), USEC, "h\nx", 3, "exim", 4, "1", 1,
					 "a\nb\0c\x7f", 6),
			 47);
	assert_string_equal(buf, "2023-11-14T22:13:20.123456Z h x exim[1]: a b c ");
	/* Cut to the buffer, NUL-terminated; the length is the whole line's, as snprintf's. */
	assert_int_equal(line(buf, 33, "mail", "postfix/smtpd", "1", "text"), 55);
	assert_string_equal(buf, "2023-11-14T22:13:20.123456Z mail");
	assert_int_equal(line(buf, 56, "mail", "postfix/smtpd", "1", "text"), 55);
	assert_string_equal(buf, "2023-11-14T22:13:20.123456Z mail postfix/smtpd[1]: text");
}

/* The parsers read the rebuilt line as a syslog daemon's. */
static void test_line_parsed(void **state)
{
	struct sg_mta_rec rec;
	char buf[512];
	size_t len;

	len = line(buf, sizeof(buf), "mail", "postfix/submission/smtpd", "99",
		   "warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6");
	assert_int_equal(sg_mta_parse(SG_MTA_POSTFIX, buf, len, 1700000000, &rec),
			 SG_MEV_AUTH_FAIL);
	assert_string_equal(rec.client_ip, "192.0.2.66");
	len = line(buf, sizeof(buf), "mail", "dovecot", "7",
		   "imap-login: Disconnected (auth failed, 3 attempts in 2 secs): user=<a@b.test>, "
		   "method=PLAIN, rip=192.0.2.67, lip=198.51.100.1, session=<x>");
	assert_int_equal(sg_mta_parse(SG_MTA_POSTFIX, buf, len, 1700000000, &rec),
			 SG_MEV_AUTH_FAIL);
	assert_string_equal(rec.client_ip, "192.0.2.67");
}

static void test_mta_ident(void **state)
{
	static const char *const yes[] = {
		"postfix/smtpd",
		"postfix/submission/smtpd",
		"postfix-out/qmgr",
		"postfix",
		"dovecot",
		"exim",
		"exim4",
	};
	static const char *const no[] = {
		"postfixx/smtpd", "postfix-", "postfix-/smtpd", "postfix-out",
		"Postfix/smtpd",  "dovecot2", "dove",		"exim5",
		"eximstats",	  "",	      "myapp",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(sg_journal_mta_ident(yes[i], strlen(yes[i])));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(sg_journal_mta_ident(no[i], strlen(no[i])));
	/* The length given, not a NUL, ends it. */
	assert_true(sg_journal_mta_ident("dovecotX", 7));
}

static void test_trusted(void **state)
{
	const struct sg_journal_trust t = { .uids = { 0, 101, 4294967295U }, .n = 3 };
	static const char *const no[] = {
		"",   "00", "01",  "-0",	 "+0",		" 0",
		"0 ", "1",  "100", "4294967296", "99999999999", "10a",
	};
	size_t i;

	assert_true(sg_journal_trusted(&t, "0", 1));
	assert_true(sg_journal_trusted(&t, "101", 3));
	assert_true(sg_journal_trusted(&t, "4294967295", 10));
	assert_true(sg_journal_trusted(&t, "1012", 3));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(sg_journal_trusted(&t, no[i], strlen(no[i])));
}

static void test_trust_init(void **state)
{
	const char names[][64] = { "nobody", "sgt-no-such-user", "nobody", "root" };
	struct sg_journal_trust t;

	sg_journal_trust_init(&t, names, 4);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.uids[0], 0);
	assert_int_equal(t.uids[1], 65534);
	/* Root even with no names. */
	sg_journal_trust_init(&t, names, 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.uids[0], 0);
}

/* --- which files are the mail server's own --------------------------------- */

struct files {
	char dir[64];
	struct sg_config c;
	char logs[2][PATH_MAX];
};

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));
	char path[PATH_MAX], text[PATH_MAX + 64];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sgt-journal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sg_config_default(&f->c);
	snprintf(f->c.mta.postfix_config, PATH_MAX, "%s", f->dir);
	snprintf(path, sizeof(path), "%s/main.cf", f->dir);
	snprintf(text, sizeof(text), "maillog_file = %s/maillog\n", f->dir);
	put_file(path, text);
	snprintf(f->c.mta.dovecot_config, PATH_MAX, "%s/dovecot.conf", f->dir);
	snprintf(text, sizeof(text), "log_path = %s/dovecot.log\n", f->dir);
	put_file(f->c.mta.dovecot_config, text);
	snprintf(f->logs[0], PATH_MAX, "%s/maillog", f->dir);
	snprintf(f->logs[1], PATH_MAX, "%s/dovecot.log", f->dir);
	put_file(f->logs[0], "");
	put_file(f->logs[1], "");
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int trusted(struct files *f, enum sg_mta_type t, int n, char *err, size_t len)
{
	err[0] = '\0';
	return sg_mta_logs_trusted(&f->c, t, (const char(*)[PATH_MAX])f->logs, n, err, len);
}

static void test_own_postfix_dovecot(void **state)
{
	struct files *f = *state;
	char err[PATH_MAX + 256], want[PATH_MAX + 64], path[PATH_MAX];

	/* maillog_file (Debian's postlog is not set-gid) and Dovecot's log_path. */
	assert_int_equal(trusted(f, SG_MTA_POSTFIX, 2, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* Any other file is a syslog daemon's: refused, named, with the key. */
	snprintf(f->logs[1], PATH_MAX, "%s/mail.log", f->dir);
	assert_int_equal(trusted(f, SG_MTA_POSTFIX, 2, err, sizeof(err)), -EPERM);
	snprintf(want, sizeof(want), "%s is not the mail server's own log", f->logs[1]);
	assert_ptr_equal(strstr(err, want), err);
	assert_non_null(strstr(err, "[mta] trust_syslog = yes (unsafe on shared hosting)"));
	/* Postfix's maillog_file is not Exim's. */
	assert_int_equal(trusted(f, SG_MTA_EXIM, 1, err, sizeof(err)), -EPERM);
	f->c.mta.trust_syslog = 1;
	assert_int_equal(trusted(f, SG_MTA_POSTFIX, 2, err, sizeof(err)), 0);
	/*
	 * A set-gid postlog (upstream's permissions) lets any user reach
	 * postlogd with any tag: maillog_file is then no better than syslog.
	 */
	f->c.mta.trust_syslog = 0;
	snprintf(path, sizeof(path), "%s/main.cf", f->dir);
	snprintf(want, sizeof(want), "maillog_file = %s/maillog\ncommand_directory = %s\n", f->dir,
		 f->dir);
	put_file(path, want);
	snprintf(path, sizeof(path), "%s/postlog", f->dir);
	put_file(path, "");
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(trusted(f, SG_MTA_POSTFIX, 1, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 02755), 0);
	assert_int_equal(trusted(f, SG_MTA_POSTFIX, 1, err, sizeof(err)), -EPERM);
	/* A maillog_file that names no path: Postfix logs to syslog. */
	snprintf(path, sizeof(path), "%s/main.cf", f->dir);
	put_file(path, "maillog_file =\n");
	assert_int_equal(trusted(f, SG_MTA_POSTFIX, 1, err, sizeof(err)), -EPERM);
}

/*
 * Exim's own log is asked of Exim (exim -bP log_file_path): with the real
 * Exim in tests/integration/exim.sh. Here, an Exim that cannot be run
 * names no file its own, whoever owns it.
 */
static void test_own_exim_absent(void **state)
{
	struct files *f = *state;
	char err[PATH_MAX + 256];

	snprintf(f->c.mta.exim_command, PATH_MAX, "%s/no-exim -C x", f->dir);
	assert_int_equal(chown(f->logs[0], 65534, 65534), 0);
	assert_int_equal(chmod(f->logs[0], 0640), 0);
	assert_int_equal(trusted(f, SG_MTA_EXIM, 1, err, sizeof(err)), -EPERM);
}

static void test_source_pick(void **state)
{
	struct files *f = *state;
	char why[128], path[PATH_MAX];

	f->c.mta.source = SG_SOURCE_FILES;
	assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_POSTFIX, why, sizeof(why)),
			 SG_SOURCE_FILES);
	assert_string_equal(why, "[mta] source = files");
	f->c.mta.source = SG_SOURCE_JOURNAL;
	assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_EXIM, why, sizeof(why)),
			 SG_SOURCE_JOURNAL);
	assert_string_equal(why, "[mta] source = journal");
	f->c.mta.source = SG_SOURCE_AUTO;
	f->c.mta.n_logs = 1;
	assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_POSTFIX, why, sizeof(why)),
			 SG_SOURCE_FILES);
	assert_string_equal(why, "[mta] logs names files");
	f->c.mta.n_logs = 0;
	/* The rest depends on journald: each state's exact answer. */
	if (!sg_journal_running()) {
		assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_POSTFIX, why, sizeof(why)),
				 SG_SOURCE_FILES);
		assert_string_equal(why, "journald does not run here");
		return;
	}
	/* An Exim that cannot be asked names no file: its lines are taken as syslog's. */
	snprintf(f->c.mta.exim_command, PATH_MAX, "%s/no-exim", f->dir);
	assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_EXIM, why, sizeof(why)),
			 SG_SOURCE_JOURNAL);
	assert_string_equal(why, "journald runs: lines trusted by their sender's _UID");
	assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_POSTFIX, why, sizeof(why)),
			 SG_SOURCE_FILES);
	assert_string_equal(why, "Postfix writes its own maillog_file");
	/* Postfix through syslog: its lines are in the journal. */
	snprintf(path, sizeof(path), "%s/main.cf", f->dir);
	put_file(path, "\n");
	assert_int_equal(sg_mta_source_pick(&f->c, SG_MTA_POSTFIX, why, sizeof(why)),
			 SG_SOURCE_JOURNAL);
	assert_string_equal(why, "journald runs: lines trusted by their sender's _UID");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_line_parsed),
		cmocka_unit_test(test_mta_ident),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_trust_init),
		cmocka_unit_test_setup_teardown(test_own_postfix_dovecot, files_setup,
						files_teardown),
		cmocka_unit_test_setup_teardown(test_own_exim_absent, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_source_pick, files_setup, files_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
