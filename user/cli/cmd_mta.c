// SPDX-License-Identifier: GPL-2.0
/* check-mta: whether the mail server is set up for smtpguard to contain accounts through it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "mail/mta.h"

static int run_check_mta(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mta", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char(*logs)[PATH_MAX] = NULL;
	const struct sg_mta_ops *b;
	enum sg_mta_type t = SG_MTA_NONE;
	int forced = 0, ch, n_logs, failed;
	struct sg_config *c;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			b = sg_mta_backend_named(optarg);
			if (!b)
				return sg_usage_error(&sg_cmd_check_mta,
						      "bad --mta '%s': postfix or exim", optarg);
			t = b->type;
			forced = 1;
			break;
		case 'h':
			fputs(sg_cmd_check_mta.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_check_mta, argv);
		}
	}
	if (optind < argc)
		return sg_usage_error(&sg_cmd_check_mta, "unexpected argument '%s'", argv[optind]);
	if (sg_need_root())
		return SG_EXIT_FAIL;
	c = malloc(sizeof(*c));
	logs = calloc(SG_MAX_MTA_LOGS, sizeof(*logs));
	if (!c || !logs) {
		free(c);
		free(logs);
		return sg_fail("%s", strerror(ENOMEM));
	}
	sg_config_cli(c);
	if (!forced)
		t = sg_mta_detect(c);
	n_logs = sg_mta_logs(c, t, logs, SG_MAX_MTA_LOGS);
	failed = sg_mta_check(c, t, (const char(*)[PATH_MAX])logs, n_logs < 0 ? 0 : n_logs, stdout);
	free(logs);
	free(c);
	if (failed)
		printf("%d check%s failed: see README.md, \"Mail server\"\n", failed,
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
		 "  contain an account through it, as README.md's \"Mail server\" section\n"
		 "  says: the MTA ([mta] type, or the one installed; --mta forces one); for\n"
		 "  Postfix, that postconf runs, that main.cf (or master.cf) has the\n"
		 "  check_sasl_access, check_sender_access and authorized_submit_users\n"
		 "  lines naming smtpguard's tables, and that the tables and their .db files\n"
		 "  exist in [mta] postfix_config; for Exim, that exim -bV runs, that its\n"
		 "  configuration reads the lookup files of dist/exim4-smtpguard.acl, and\n"
		 "  that they exist in [mta] exim_dir; and that the logs the daemon follows\n"
		 "  ([mta] logs, or the MTA's) can be read. One line per check, with what to\n"
		 "  do about a failure. Exit status 0 when every check passes, else 1.\n",
	.run = run_check_mta,
};
