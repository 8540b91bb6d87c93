// SPDX-License-Identifier: GPL-2.0
/* kill: the emergency command over kill.c, audited. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/audit.h"
#include "cli/cli.h"
#include "host/kill.h"
#include "util/log.h"

static void audit(__u32 uid, const char *name, const char *reason, json_t *pids)
{
	struct sg_audit_entry e = {
		.action = "kill",
		.has_uid = 1,
		.uid = uid,
		.user = name,
		.params = json_pack("{s:O}", "pids", pids),
		.reason = reason,
	};

	sg_audit_cli(&e);
	json_decref(e.params);
}

struct kill_opts {
	int force;
	const char *reason;
};

static const struct sg_option kill_options[] = {
	{ "force", 0, SG_FLAG(struct kill_opts, force) },
	{ "reason", 0, SG_STRING(struct kill_opts, reason) },
	{},
};

static int run_kill(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct kill_opts *o = opts;
	struct sg_kill_scan scan;
	char name[64], who[96];
	int killed;
	__u32 uid;
	json_t *pids;

	if (sg_resolve_user(args[0], &uid, name, sizeof(name)))
		return SG_EXIT_FAIL;
	sg_who(uid, name, who, sizeof(who));
	if (!uid && !o->force)
		return sg_usage_error(cmd,
				      "%s is root: its mail processes are the system's "
				      "(give --force if that is meant)",
				      who);
	pids = json_array();
	if (!pids)
		return sg_fail("%s", strerror(ENOMEM));
	killed = sg_kill_senders(uid, 1, pids, &scan);
	/* What the search cost: the customer sets the thread count, not the tables searched. */
	sg_info("searched %u descriptor table%s of %u thread%s", scan.tables,
		scan.tables == 1 ? "" : "s", scan.threads, scan.threads == 1 ? "" : "s");
	if (killed > 0) {
		printf("killed %d process%s\n", killed, killed == 1 ? "" : "es");
		audit(uid, name, o->reason, pids);
	} else if (!killed) {
		printf("no process of %s holds or is opening an SMTP connection\n", who);
	} else if (!json_array_size(pids)) {
		sg_fail("finding or killing the processes of %s: %s", who, strerror(-killed));
	}
	json_decref(pids);
	return killed < 0 ? SG_EXIT_FAIL : SG_EXIT_OK;
}

const struct sg_command sg_cmd_kill = {
	.name = "kill",
	.summary = "kill a user's processes that are sending mail",
	.usage = "usage: smtpguard kill USER|UID [--force] [--reason TEXT]\n"
		 "  Sends SIGKILL to each process whose real UID is the user's, or one of its\n"
		 "  sub-UIDs (/etc/subuid), and that holds a connection to a watched SMTP\n"
		 "  port (in any of its threads' descriptor tables, its leader gone or not),\n"
		 "  or was seen connecting to one in the last minute (a process refused by a\n"
		 "  block holds none), and lists them. Never a process of another user, nor\n"
		 "  this command or its parents. UID 0 needs --force. What was killed, and\n"
		 "  TEXT, go to the audit log.\n",
	.options = kill_options,
	.opts_size = sizeof(struct kill_opts),
	.min_args = 1,
	.max_args = 1,
	.args = "one USER or UID",
	.needs = SG_NEEDS_ROOT,
	.run = run_kill,
};
