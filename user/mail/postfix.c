// SPDX-License-Identifier: GPL-2.0
/*
 * Postfix as an MTA backend (mta.h). Its config directory D ([mta]
 * postfix_config) holds smtpguard's tables:
 *   D/smtpguard_sasl_access    LOGIN  HOLD ...   check_sasl_access
 *   D/smtpguard_submit_users   USER   contained  authorized_submit_users
 *                                                (!hash:..., local senders)
 * rebuilt with postmap and taken up with `postfix reload`; queued messages
 * are put on hold with `postsuper -h` (released with -H). Envelope senders
 * are not held: D/smtpguard_sender_access, which earlier versions wrote
 * (check_sender_access holds everyone's mail from an address, inbound
 * too), is only cleaned on release, and check-mta asks for it to go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mail/backend.h"
#include "mail/policyproto.h"
#include "util/subproc.h"

static const char *const tables[SG_TAB_KINDS] = {
	[SG_TAB_ACCOUNT] = "smtpguard_sasl_access",
	[SG_TAB_SENDER] = "smtpguard_sender_access",
	[SG_TAB_LOCAL] = "smtpguard_submit_users",
};

static int installed(const struct sg_config *c)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/main.cf", c->mta.postfix_config);
	return !access(path, R_OK);
}

static int discover(const struct sg_config *c, char (*logs)[PATH_MAX], int max)
{
	static const char *const cands[] = { "/var/log/mail.log", "/var/log/maillog" };
	char *argv[] = {
		"postconf", "-c", (char *)c->mta.postfix_config, "-h", "maillog_file", NULL
	};
	char file[PATH_MAX];

	/* Postfix 3.4+ may write its own file (maillog_file) instead of syslog. */
	if (!sg_subproc_run(argv, NULL, file, sizeof(file), 5000)) {
		file[strcspn(file, "\n")] = '\0';
		if (*file == '/') {
			snprintf(logs[0], PATH_MAX, "%s", file);
			return 1;
		}
	}
	return sg_mta_first_log(cands, 2, logs);
}

/* Postfix logs an access action's text; the submit table only needs the key. */
static void entry_value(enum sg_mta_table t, const char *action, const char *principal,
			const char *rule, char *buf, size_t len)
{
	if (t == SG_TAB_ACCOUNT)
		snprintf(buf, len, "%s smtpguard: %s contained (%s)", action, principal, rule);
	else
		snprintf(buf, len, "contained");
}

static int postmap(const struct sg_config *c, const char *path, char *err, size_t errlen)
{
	char arg[PATH_MAX + 72];
	char *argv[] = { "postmap", "-c", (char *)c->mta.postfix_config, arg, NULL };

	snprintf(arg, sizeof(arg), "hash:%s", path);
	return sg_mta_run(argv, NULL, err, errlen);
}

/* The tables edited and postmapped, then one reload when any was. */
static int set_entries(const struct sg_config *c, struct sg_mta_entry *e, size_t n, int hold,
		       char *err, size_t errlen)
{
	char *argv[] = { "postfix", "-c", (char *)c->mta.postfix_config, "reload", NULL };
	size_t i;
	int ret, r;

	ret = sg_mta_tables_edit(c, c->mta.postfix_config, tables, 0, e, n, hold, postmap, err,
				 errlen);
	/* No table changed: nothing for Postfix to reload. */
	for (i = 0; i < n && !e[i].done; i++)
		;
	if (i == n)
		return ret;
	r = sg_mta_run(argv, NULL, err, errlen);
	return ret ? ret : r;
}

static int hold_account(const struct sg_config *c, struct sg_mta_entry *e, size_t n, char *err,
			size_t errlen)
{
	return set_entries(c, e, n, 1, err, errlen);
}

static int release_account(const struct sg_config *c, struct sg_mta_entry *e, size_t n, char *err,
			   size_t errlen)
{
	return set_entries(c, e, n, 0, err, errlen);
}

/* postsuper -h|-H - with the ids on its input: any number at once. */
static int queue_op(const struct sg_config *c, int hold, const char *const *qids, size_t n,
		    char *err, size_t errlen)
{
	char *argv[] = {
		"postsuper", "-c", (char *)c->mta.postfix_config, hold ? "-h" : "-H", "-", NULL
	};
	char *input;
	size_t i, off = 0;
	int ret;

	if (!n)
		return 0;
	input = malloc(n * SG_MTA_QID_MAX + 1);
	if (!input)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(input + off, "%s\n", qids[i]);
	ret = sg_mta_run(argv, input, err, errlen);
	free(input);
	return ret;
}

static int hold_queued(const struct sg_config *c, const char *const *qids, size_t n, char *err,
		       size_t errlen)
{
	return queue_op(c, 1, qids, n, err, errlen);
}

static int release_queued(const struct sg_config *c, const char *const *qids, size_t n, char *err,
			  size_t errlen)
{
	return queue_op(c, 0, qids, n, err, errlen);
}

/* main.cf (or master.cf) names the two tables where README says, and not the old sender table. */
static int check_lines(const struct sg_config *c, FILE *out)
{
	char *params[] = { "postconf",
			   "-c",
			   (char *)c->mta.postfix_config,
			   "-x",
			   "-h",
			   "smtpd_client_restrictions",
			   "smtpd_helo_restrictions",
			   "smtpd_sender_restrictions",
			   "smtpd_relay_restrictions",
			   "smtpd_recipient_restrictions",
			   "authorized_submit_users",
			   NULL };
	char *master[] = { "postconf", "-c", (char *)c->mta.postfix_config, "-P", NULL };
	static const char *const kinds[] = { "check_sasl_access hash:", "!hash:" };
	static const enum sg_mta_table tabs[] = { SG_TAB_ACCOUNT, SG_TAB_LOCAL };
	char main[8192], svc[16384], want[2][PATH_MAX + 128], fix[2][3 * PATH_MAX];
	char old[PATH_MAX + 64], what[PATH_MAX + 96];
	int failed = 0, i;

	sg_mta_capture(params, main, sizeof(main));
	sg_mta_capture(master, svc, sizeof(svc));
	for (i = 0; i < 2; i++)
		snprintf(want[i], sizeof(want[i]), "%s%s/%s", kinds[i], c->mta.postfix_config,
			 tables[tabs[i]]);
	snprintf(fix[0], sizeof(fix[0]),
		 "add to main.cf: smtpd_sender_restrictions = %s (then your own)", want[0]);
	snprintf(fix[1], sizeof(fix[1]),
		 "add to main.cf: authorized_submit_users = %s, static:anyone", want[1]);
	for (i = 0; i < 2; i++)
		failed += sg_mta_check_line(out,
					    strstr(main, want[i]) || (!i && strstr(svc, want[i])),
					    want[i], fix[i]);
	snprintf(old, sizeof(old), "%s/%s", c->mta.postfix_config, tables[SG_TAB_SENDER]);
	snprintf(what, sizeof(what), "no check_sender_access of %s", old);
	failed += sg_mta_check_line(
		out, !strstr(main, old) && !strstr(svc, old), what,
		"remove it from main.cf (and master.cf): it held everyone's mail from an address a "
		"contained account used, inbound mail too; the account is held by its login");
	return failed;
}

/* What smtpd does while the policy service does not answer, and what that means. */
static void policy_down(const char *action, FILE *out)
{
	char what[512];

	snprintf(what, sizeof(what),
		 "daemon down: smtpd answers smtpd_policy_service_default_action = %s: %s", action,
		 action[0] == '4' ? "mail deferred (the client retries), never lost"
		 : !strncasecmp(action, "DUNNO", 5)
			 ? "mail accepted unjudged (no account is limited until it is back)"
			 : "see postconf(5)");
	sg_mta_check_line(out, 1, what, NULL);
}

/*
 * smtpd_end_of_data_restrictions asks [mta] policy_socket, named as smtpd
 * (chrooted in the queue directory by default) reaches it, in main.cf and in
 * every master.cf service that overrides the list.
 */
static int check_policy(const struct sg_config *c, FILE *out)
{
	char *dir = (char *)c->mta.postfix_config;
	char *params[] = { "postconf",
			   "-c",
			   dir,
			   "-x",
			   "-h",
			   "queue_directory",
			   "smtpd_policy_service_default_action",
			   "smtpd_end_of_data_restrictions",
			   NULL };
	char *master[] = { "postconf", "-c", dir, "-P", NULL };
	const char *path = sg_policy_socket(c->mta.policy_socket, SG_MTA_POSTFIX), *name;
	char got[8192], svc[16384], want[256], fix[512], *line, *save, *v[3] = { 0 };
	int failed, i;

	if (!path)
		return 0;
	sg_mta_capture(params, got, sizeof(got));
	sg_mta_capture(master, svc, sizeof(svc));
	for (i = 0, line = strtok_r(got, "\n", &save); line && i < 3;
	     line = strtok_r(NULL, "\n", &save))
		v[i++] = line;
	/* An empty end-of-data list is an empty line, which strtok_r skips. */
	if (i == 2)
		v[2] = "";
	if (i < 2)
		return sg_mta_check_line(out, 0, "postconf gives queue_directory", NULL);
	name = path;
	if (!strncmp(path, v[0], strlen(v[0])) && path[strlen(v[0])] == '/')
		name = path + strlen(v[0]) + 1;
	snprintf(want, sizeof(want), "check_policy_service unix:%s", name);
	snprintf(fix, sizeof(fix),
		 "add to main.cf: smtpd_end_of_data_restrictions = %s "
		 "(dist/postfix-main.cf.smtpguard)",
		 want);
	failed = sg_mta_check_line(out, strstr(v[2], want) != NULL,
				   "smtpd_end_of_data_restrictions asks the policy service", fix);
	for (line = strtok_r(svc, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "/smtpd_end_of_data_restrictions =") && !strstr(line, want)) {
			snprintf(fix, sizeof(fix), "add %s to master.cf's %s", want, line);
			failed += sg_mta_check_line(out, 0, "every smtpd asks the policy service",
						    fix);
		}
	policy_down(v[1], out);
	return failed;
}

static int check(const struct sg_config *c, FILE *out)
{
	char *version[] = {
		"postconf", "-c", (char *)c->mta.postfix_config, "-h", "mail_version", NULL
	};
	static const enum sg_mta_table tabs[] = { SG_TAB_ACCOUNT, SG_TAB_LOCAL };
	char ver[64], what[PATH_MAX + 128];
	int failed = 0, i;

	sg_mta_capture(version, ver, sizeof(ver));
	ver[strcspn(ver, "\n")] = '\0';
	snprintf(what, sizeof(what), "postconf -c %s runs%s%s%s", c->mta.postfix_config,
		 *ver ? " (Postfix " : "", ver, *ver ? ")" : "");
	failed +=
		sg_mta_check_line(out, *ver, what, "install Postfix, or set [mta] postfix_config");
	if (!*ver)
		return failed;
	failed += check_lines(c, out);
	failed += check_policy(c, out);
	for (i = 0; i < 2; i++) {
		failed += sg_mta_check_table(c->mta.postfix_config, tables[tabs[i]], "", out);
		failed += sg_mta_check_table(c->mta.postfix_config, tables[tabs[i]], ".db", out);
	}
	return failed;
}

/* Postfix's sendmail_path (where its sendmail is), on its config directory. */
static int submit(const struct sg_config *c, const char *message, char *err, size_t errlen)
{
	char *ask[] = {
		"postconf", "-c", (char *)c->mta.postfix_config, "-h", "sendmail_path", NULL
	};
	char path[PATH_MAX];
	char *argv[] = { path, "-C", (char *)c->mta.postfix_config, "-i", "-t", NULL };

	sg_mta_capture(ask, path, sizeof(path));
	path[strcspn(path, "\n")] = '\0';
	if (*path != '/')
		snprintf(path, sizeof(path), "/usr/sbin/sendmail");
	return sg_mta_run(argv, message, err, errlen);
}

const struct sg_mta_ops sg_mta_postfix = {
	.name = "postfix",
	.type = SG_MTA_POSTFIX,
	.tables = tables,
	.installed = installed,
	.discover = discover,
	.entry_value = entry_value,
	.hold_account = hold_account,
	.release_account = release_account,
	.hold_queued = hold_queued,
	.release_queued = release_queued,
	.submit = submit,
	.check = check,
};
