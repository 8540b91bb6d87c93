// SPDX-License-Identifier: GPL-2.0
/*
 * Exim as an MTA backend (mta.h): [mta] exim_dir E holds
 * E/smtpguard_accounts ("LOGIN": hold) and E/smtpguard_local_senders
 * ("USER": hold), read by the ACL in dist/exim4-smtpguard.acl at every
 * message (no reload); queued messages are frozen with `exim -Mf` (thawed
 * with -Mt).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail/backend.h"
#include "mail/policyproto.h"
#include "util/subproc.h"

#define MAX_ARGS 64

static const char *const tables[SG_TAB_KINDS] = {
	[SG_TAB_ACCOUNT] = "smtpguard_accounts",
	[SG_TAB_LOCAL] = "smtpguard_local_senders",
};

static int installed(const struct sg_config *c)
{
	return !access(c->mta.exim_dir, F_OK);
}

static int discover(const struct sg_config *c, char (*logs)[PATH_MAX], int max)
{
	static const char *const cands[] = { "/var/log/exim4/mainlog", "/var/log/exim/main.log" };

	return sg_mta_first_log(cands, 2, logs);
}

/* The ACL only looks the key up. */
static void entry_value(enum sg_mta_table t, const char *action, const char *principal,
			const char *rule, char *buf, size_t len)
{
	snprintf(buf, len, "hold");
}

static int set_entries(const struct sg_config *c, struct sg_mta_entry *e, size_t n, int hold,
		       char *err, size_t errlen)
{
	return sg_mta_tables_edit(c, c->mta.exim_dir, tables, 1, e, n, hold, NULL, err, errlen);
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

int sg_mta_exim_argv(const struct sg_config *c, char *buf, size_t len, char **argv, int max)
{
	char *save, *tok;
	int n = 0;

	snprintf(buf, len, "%s", c->mta.exim_command);
	for (tok = strtok_r(buf, " \t", &save); tok && n < max - 1;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	return n;
}

/* Whether line is "Message ID is locked" for one of the ids from argv[first]: its index. */
static int locked_id(char *const argv[], int first, const char *line)
{
	size_t len;
	int j;

	for (j = first; argv[j]; j++) {
		len = strlen(argv[j]);
		if (!strncmp(line, "Message ", 8) && !strncmp(line + 8, argv[j], len) &&
		    !strcmp(line + 8 + len, " is locked"))
			return j;
	}
	return -1;
}

/*
 * exim -Mf/-Mt ID...: Exim prints one line per message ("Message ID is now
 * frozen") and exits 1 if any was not done. Done enough: frozen already
 * (-Mf: the ACL froze it), not frozen (-Mt), gone (delivered or removed
 * since: "Spool data file for ID does not exist"). A message under
 * delivery is locked: tried again on those, a few times, since a delivery
 * takes milliseconds; -Mf so that a deferred message does not escape, -Mt
 * since every queue run locks each frozen message in turn to find it
 * frozen, and a release must not leave any behind. Anything else is
 * noted in err.
 */
static int run_exim_m(char *const argv[], int first_id, char *err, size_t errlen)
{
	static const char *const done[] = { " is now frozen",	    " is already frozen",
					    " is no longer frozen", " is not frozen",
					    " does not exist",	    NULL };
	char out[8192], cmd[256], *line, *save, *again[MAX_ARGS + 4];
	int ret, bad = 0, tries, n, j;
	size_t i;

	for (n = 0; argv[n]; n++)
		again[n] = argv[n];
	again[n] = NULL;
	for (tries = 0;; tries++) {
		ret = sg_subproc_run(again, NULL, out, sizeof(out), SG_MTA_TOOL_MS);
		if (ret < 0)
			sg_mta_note(err, errlen, "%s: %s", sg_subproc_line(again, cmd, sizeof(cmd)),
				    strerror(-ret));
		if (ret <= 0)
			return ret;
		n = first_id;
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			for (i = 0; done[i] && !strstr(line, done[i]); i++)
				;
			if (done[i])
				continue;
			j = tries < 5 ? locked_id(argv, first_id, line) : -1;
			if (j >= 0) {
				again[n++] = argv[j];
				continue;
			}
			sg_mta_note(err, errlen, "%s: %s", sg_subproc_line(again, cmd, sizeof(cmd)),
				    line);
			bad = 1;
		}
		again[n] = NULL;
		if (n == first_id)
			return bad ? -EIO : 0;
		usleep(100 * 1000);
	}
}

/* Exim takes ids as arguments: in batches, every one whatever the one before said. */
static int queue_op(const struct sg_config *c, int hold, const char *const *qids, size_t n,
		    char *err, size_t errlen)
{
	char *argv[MAX_ARGS + 4], buf[PATH_MAX];
	int argc, first, ret = 0, r;
	size_t i;

	for (i = 0; i < n;) {
		argc = sg_mta_exim_argv(c, buf, sizeof(buf), argv, 8);
		argv[argc++] = hold ? "-Mf" : "-Mt";
		first = argc;
		while (i < n && argc < MAX_ARGS)
			argv[argc++] = (char *)qids[i++];
		argv[argc] = NULL;
		r = run_exim_m(argv, first, err, errlen);
		ret = ret ? ret : r;
	}
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

/* The configuration file exim -bV names, into conf; 0 when it names none. */
static int config_file(const struct sg_config *c, char *conf, size_t len)
{
	char *argv[MAX_ARGS], buf[PATH_MAX], info[4096], *line;
	int argc;

	argc = sg_mta_exim_argv(c, buf, sizeof(buf), argv, MAX_ARGS - 1);
	argv[argc++] = "-bV";
	argv[argc] = NULL;
	sg_mta_capture(argv, info, sizeof(info));
	line = strstr(info, "Configuration file is ");
	if (!line)
		return 0;
	snprintf(conf, len, "%s", line + strlen("Configuration file is "));
	conf[strcspn(conf, "\n")] = '\0';
	return 1;
}

/* The configuration asks the policy service (dist/exim4-smtpguard-policy.acl) where it listens. */
static int check_policy(const struct sg_config *c, const char *conf, const char *text, FILE *out)
{
	static const char *const acls[] = { "acl = acl_smtpguard_policy_rcpt",
					    "acl = acl_smtpguard_policy_data",
					    "acl = acl_smtpguard_policy_local" };
	const char *path = sg_policy_socket(c->mta.policy_socket, SG_MTA_EXIM);
	char what[PATH_MAX + 512], macro[256];
	int failed = 0, i;

	if (!path)
		return 0;
	for (i = 0; i < (int)(sizeof(acls) / sizeof(acls[0])); i++) {
		snprintf(what, sizeof(what), "%s has require %s", conf, acls[i]);
		failed += sg_mta_check_line(
			out, text && strstr(text, acls[i]), what,
			"add the lines of dist/exim4-smtpguard-policy.acl, then update-exim4.conf");
	}
	if (strcmp(path, SG_POLICY_SOCKET_EXIM)) {
		snprintf(macro, sizeof(macro), "SMTPGUARD_POLICY_SOCKET = %s", path);
		snprintf(what, sizeof(what), "%s sets %s", conf, macro);
		failed += sg_mta_check_line(out, text && strstr(text, macro), what,
					    "set the macro in Exim's main section");
	}
	sg_mta_check_line(out, 1,
			  "daemon down: the ACL defers an SMTP message (451 4.3.5: the client "
			  "retries) and freezes a local one: none lost",
			  NULL);
	return failed;
}

static int check(const struct sg_config *c, FILE *out)
{
	char conf[PATH_MAX], what[3 * PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;
	int failed = 0, named, i;

	named = config_file(c, conf, sizeof(conf));
	failed += sg_mta_check_line(
		out, named, "exim -bV names its configuration file",
		"install Exim, or set [mta] exim to the exim binary and its arguments");
	if (!named)
		return failed;
	f = fopen(conf, "re");
	if (f) {
		if (getdelim(&text, &len, '\0', f) < 0) {
			free(text);
			text = NULL;
		}
		fclose(f);
	}
	for (i = SG_TAB_ACCOUNT; i <= SG_TAB_LOCAL; i++) {
		snprintf(what, sizeof(what), "%s reads %s/%s (dist/exim4-smtpguard.acl)", conf,
			 c->mta.exim_dir, tables[i]);
		failed += sg_mta_check_line(
			out, text && strstr(text, tables[i]), what,
			"add the ACL lines of dist/exim4-smtpguard.acl, then update-exim4.conf");
		failed += sg_mta_check_table(c->mta.exim_dir, tables[i], "", out);
	}
	failed += check_policy(c, conf, text, out);
	free(text);
	return failed;
}

/* [mta] exim, as for its other tasks: -t takes the recipient from the To: line. */
static int submit(const struct sg_config *c, const char *message, char *err, size_t errlen)
{
	char *argv[MAX_ARGS + 4], buf[PATH_MAX];
	int argc = sg_mta_exim_argv(c, buf, sizeof(buf), argv, 8);

	argv[argc++] = "-i";
	argv[argc++] = "-t";
	argv[argc] = NULL;
	return sg_mta_run(argv, message, err, errlen);
}

const struct sg_mta_ops sg_mta_exim = {
	.name = "exim",
	.type = SG_MTA_EXIM,
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
