// SPDX-License-Identifier: GPL-2.0
/* check-mta: whether the mail server is set up for smtpguard to contain accounts through it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "mail/mta.h"

struct mta_opts {
	int mta; /* 0: the configured or installed one */
};

static const struct sg_opt_choice mtas[] = {
	{ "postfix", SG_MTA_POSTFIX },
	{ "exim", SG_MTA_EXIM },
	{},
};

static const struct sg_option mta_options[] = {
	{ "mta", 0, SG_CHOICE(struct mta_opts, mta), .choices = mtas },
	{},
};

static int run_check_mta(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct mta_opts *o = opts;
	char(*logs)[PATH_MAX] = NULL;
	enum sg_mta_type t;
	int n_logs, failed;
	struct sg_config *c;

	c = malloc(sizeof(*c));
	logs = calloc(SG_MAX_MTA_LOGS, sizeof(*logs));
	if (!c || !logs) {
		free(c);
		free(logs);
		return sg_fail("%s", strerror(ENOMEM));
	}
	sg_config_cli(c);
	t = o->mta ? (enum sg_mta_type)o->mta : sg_mta_detect(c);
	n_logs = sg_mta_logs(c, t, logs, SG_MAX_MTA_LOGS);
	failed = sg_mta_check(c, t, (const char(*)[PATH_MAX])logs, n_logs < 0 ? 0 : n_logs, stdout);
	free(logs);
	free(c);
	if (failed)
		printf("%d check%s failed: see smtpguard(8), MAIL SERVER\n", failed,
		       failed == 1 ? "" : "s");
	else
		printf("all checks passed\n");
	return failed ? SG_EXIT_FAIL : SG_EXIT_OK;
}

const struct sg_command sg_cmd_check_mta = {
	.name = "check-mta",
	.summary = "whether the mail server is set up for containing accounts",
	.usage = "usage: smtpguard check-mta [--mta postfix|exim]\n"
		 "  Whether the mail server is set up for the daemon to watch it and to\n"
		 "  contain an account through it, as smtpguard(8) says under MAIL SERVER:\n"
		 "  the MTA ([mta] type, or the one installed; --mta forces one); for\n"
		 "  Postfix, that postconf runs, that main.cf (or master.cf) has the\n"
		 "  check_sasl_access, check_sender_access and authorized_submit_users\n"
		 "  lines naming smtpguard's tables, and that the tables and their .db files\n"
		 "  exist in [mta] postfix_config; for Exim, that exim -bV runs, that its\n"
		 "  configuration reads the lookup files of dist/exim4-smtpguard.acl, and\n"
		 "  that they exist in [mta] exim_dir; unless [mta] policy_socket is none,\n"
		 "  that the MTA asks the policy service there (Postfix:\n"
		 "  smtpd_end_of_data_restrictions in main.cf and every master.cf override;\n"
		 "  Exim: the require lines of dist/exim4-smtpguard-policy.acl), and what it\n"
		 "  does while the daemon is down; which log source the daemon reads\n"
		 "  ([mta] source) and why; for the journal, that journald runs and the\n"
		 "  journal can be read; for files ([mta] logs, or the MTA's), that each can\n"
		 "  be read and is the mail server's own, not a syslog file any local user\n"
		 "  can write into (unless [mta] trust_syslog). One line per check, with\n"
		 "  what to do about a failure. Exit status 0 when every check passes,\n"
		 "  else 1.\n",
	.options = mta_options,
	.opts_size = sizeof(struct mta_opts),
	.needs = SG_NEEDS_ROOT,
	.run = run_check_mta,
};
