// SPDX-License-Identifier: GPL-2.0
/* run: the daemon in the foreground (systemd's Type=notify, or a terminal). */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "core/config.h"
#include "daemon/daemon.h"

static int run_daemon(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *path = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			fputs(sg_cmd_run.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_run, argv);
		}
	}
	if (optind < argc)
		return sg_usage_error(&sg_cmd_run, "unexpected argument '%s'", argv[optind]);
	if (sg_need_root())
		return SG_EXIT_FAIL;
	return sg_daemon_run(path);
}

const struct sg_command sg_cmd_run = {
	.name = "run",
	.summary = "the daemon: attach, attribute, expire, export metrics (foreground)",
	.usage = "usage: smtpguard run [-c FILE]\n"
		 "  Loads or reuses the pinned state, attaches (as 'attach' does, to the\n"
		 "  interfaces of the config, by default those carrying the default routes),\n"
		 "  then names the user, account, process and script behind every new sender\n"
		 "  and refusal, removes expired policies and bans (audited), and serves\n"
		 "  /metrics, /healthz and /senders (default http://127.0.0.1:9025).\n"
		 "  FILE: default $SMTPGUARD_CONFIG, else " SG_CONFIG_PATH "\n"
		 "  if it exists, else the built-in default. SIGHUP reloads FILE (a bad one\n"
		 "  is logged and the running configuration stays); SIGTERM and SIGINT stop\n"
		 "  the daemon and leave the programs attached and enforcing, unless\n"
		 "  [daemon] detach_on_exit = yes.\n",
	.run = run_daemon,
};
