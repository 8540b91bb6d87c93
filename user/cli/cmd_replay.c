// SPDX-License-Identifier: GPL-2.0
/*
 * replay: the mail logs already written, through the parsers and the
 * detector as if live (replay.h): what happened last night, and what the
 * rules would have said under the configured thresholds.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/config.h"
#include "mail/mta.h"
#include "mail/replay.h"

/* As the daemon does: the logs are this host's, so are its users. */
static __s64 uid_of_user(const char *user)
{
	struct passwd *pw = getpwnam(user);

	return pw ? (__s64)pw->pw_uid : -1;
}

struct replay_opts {
	int mta; /* 0: [mta] type */
	int json;
};

static const struct sg_opt_choice mtas[] = {
	{ "postfix", SG_MTA_POSTFIX },
	{ "exim", SG_MTA_EXIM },
	{ "auto", SG_MTA_AUTO },
	{},
};

static const struct sg_option replay_options[] = {
	{ "mta", 0, SG_CHOICE(struct replay_opts, mta), .choices = mtas },
	{ "json", 0, SG_FLAG(struct replay_opts, json) },
	{},
};

static int run_replay(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct replay_opts *ro = opts;
	struct sg_replay_opts o = { .uid_of_user = uid_of_user };
	struct sg_thresholds th;
	struct sg_config *c;
	json_t *report;
	char err[1024];
	int mta, ret;

	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	mta = ro->mta ? ro->mta : c->mta.type;
	th = c->detect.thresholds;
	o.type = sg_mta_backend((enum sg_mta_type)mta) ? (enum sg_mta_type)mta : SG_MTA_NONE;
	o.th = &th;
	o.mta_users = c->detect.mta_users;
	o.n_mta_users = c->detect.n_mta_users;
	o.config = c;
	ret = sg_replay((const char *const *)args, (size_t)n_args, &o, &report, err, sizeof(err));
	free(c);
	if (ret)
		return sg_fail("replay: %s", err);
	if (ro->json) {
		ret = json_dumpf(json_object_get(report, "principals"), stdout,
				 JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
		putchar('\n');
	} else {
		sg_replay_print(stdout, report);
	}
	json_decref(report);
	if (ret || fflush(stdout))
		return sg_fail("writing the report: %s", strerror(errno));
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_replay = {
	.name = "replay",
	.summary = "the mail logs through the detector: what happened, which rules would fire",
	.usage = "usage: smtpguard replay [--mta postfix|exim|auto] [--json] FILE...\n"
		 "  Reads mail logs already written (Postfix or Exim, with Dovecot's lines)\n"
		 "  through the same parsers and detector as the daemon, as if they were\n"
		 "  being written now, under the [detect] thresholds of the config: what\n"
		 "  each SASL account and local sender did, and which rules would have\n"
		 "  fired and when. Nothing is acted on, loaded or saved.\n"
		 "  FILE: plain or gzip, '-' for standard input; give them oldest first, as\n"
		 "  in 'smtpguard replay mail.log.2.gz mail.log.1 mail.log'. Each line's own\n"
		 "  time is the clock; a syslog time has no year: it takes the one nearest\n"
		 "  the file's modification time. Lines longer than 8192 bytes are cut.\n"
		 "  --mta   the logs' format: default [mta] type, else told by each file's\n"
		 "          lines (auto: always so)\n"
		 "  --json  an array, one object per principal, in order of appearance\n"
		 "  No baselines are read: every principal is new at its first message in\n"
		 "  the replay (new_sender can fire for an old account that starts with a\n"
		 "  burst), and the rate rule's limit is its floor until an hour is learned.\n"
		 "  client_ips counts every distinct address the account logged in from over\n"
		 "  the whole replay (the rule itself counts those of the last hour).\n"
		 "  Exit status: 0 when the replay ran, alerts or not; 1 when a file cannot\n"
		 "  be read; 2 on bad usage.\n",
	.options = replay_options,
	.opts_size = sizeof(struct replay_opts),
	.min_args = 1,
	.max_args = -1,
	.args = "one or more FILEs (- for standard input), oldest first",
	.run = run_replay,
};
