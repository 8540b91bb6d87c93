// SPDX-License-Identifier: GPL-2.0
/* run: the daemon in the foreground (systemd's Type=notify, or a terminal). */
#include <stdio.h>

#include "cli/cli.h"
#include "core/config.h"
#include "daemon/daemon.h"

struct run_opts {
	const char *config;
};

static const struct sg_option run_options[] = {
	{ "config", 'c', SG_STRING(struct run_opts, config) },
	{},
};

static int run_daemon(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	return sg_daemon_run(((struct run_opts *)opts)->config);
}

const struct sg_command sg_cmd_run = {
	.name = "run",
	.summary = "the daemon: attach, attribute, expire, export metrics (foreground)",
	.usage = "usage: smtpguard run [-c FILE]\n"
		 "  Loads or reuses the pinned state, attaches (as 'attach' does, to the\n"
		 "  interfaces of the config, by default those carrying the default routes),\n"
		 "  then names the user, account, process and script behind every new sender\n"
		 "  and refusal, removes expired policies and bans (audited), and serves\n"
		 "  /metrics and /healthz (default http://127.0.0.1:9025), and /senders,\n"
		 "  /explain and /accounts to root only ([exporter] control).\n"
		 "  FILE: default $SMTPGUARD_CONFIG, else " SG_CONFIG_PATH "\n"
		 "  if it exists, else the built-in default. SIGHUP reloads FILE (a bad one\n"
		 "  is logged and the running configuration stays); SIGTERM and SIGINT stop\n"
		 "  the daemon and leave the programs attached and enforcing, unless\n"
		 "  [daemon] detach_on_exit = yes.\n",
	.options = run_options,
	.opts_size = sizeof(struct run_opts),
	.needs = SG_NEEDS_ROOT,
	.run = run_daemon,
};
