// SPDX-License-Identifier: GPL-2.0
/* smtpguard: git-style dispatch to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/daemon.h"
#include "util/log.h"

static const struct sg_command *const commands[] = {
	&sg_cmd_run, &sg_cmd_check_config, &sg_cmd_attach, &sg_cmd_detach,  &sg_cmd_status,
	&sg_cmd_top, &sg_cmd_throttle,	   &sg_cmd_block,  &sg_cmd_release, &sg_cmd_kill,
	&sg_cmd_ban, &sg_cmd_unban,	   &sg_cmd_log,	   &sg_cmd_explain, &sg_cmd_check_mta,
	&sg_cmd_replay, &sg_cmd_check_dnsbl, &sg_cmd_check_relay, &sg_cmd_bans,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: smtpguard COMMAND [ARGS]\n\n"
		   "Counts and limits outbound SMTP per local user, in the kernel.\n\n"
		   "commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'smtpguard COMMAND --help' describes each one; 'smtpguard --version'.\n"
		   "SMTPGUARD_PIN_DIR overrides the pin directory (default /sys/fs/bpf/smtpguard).\n");
}

int main(int argc, char **argv)
{
	size_t i;

	sg_log_libbpf();
	if (argc < 2) {
		usage(stderr);
		return SG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return SG_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("smtpguard %s\n", SG_VERSION);
		return SG_EXIT_OK;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i]->name))
			return sg_dispatch(commands[i], argc - 1, argv + 1);
	fprintf(stderr, "smtpguard: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return SG_EXIT_USAGE;
}
