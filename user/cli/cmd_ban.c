// SPDX-License-Identifier: GPL-2.0
/* ban and unban: source prefixes XDP drops on arrival, audited. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "host/audit.h"
#include "cli/cli.h"
#include "kern/maps.h"
#include "util/parse.h"
#include "util/render.h"
#include "smtpguard.h"
#include "kern/state.h"

struct ban_args {
	const char *cidr; /* as given */
	struct sg_ban_key key;
	/* As stored, for the audit: a ban and its unban match however each was typed. */
	char prefix[INET6_ADDRSTRLEN + 8];
	const char *reason; /* NULL: not given */
	__u64 for_ns;	    /* 0: no expiry */
};

/* Options of ban and unban; returns 0, -1 after --help, or an exit status. */
static int parse_ban_args(const struct sg_command *cmd, int argc, char **argv, struct ban_args *a)
{
	static const struct option longopts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int ban = cmd == &sg_cmd_ban;
	const char *why;
	int c, err;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, ban ? "f:h" : "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			err = sg_opt_for(cmd, ban, optarg, &a->for_ns);
			if (err)
				return err;
			break;
		case 'R':
			a->reason = optarg;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return -1;
		default:
			return sg_bad_option(cmd, argv);
		}
	}
	if (optind != argc - 1)
		return sg_usage_error(cmd, "expected one CIDR");
	a->cidr = argv[optind];
	if (sg_parse_cidr(a->cidr, &a->key, &why))
		return sg_usage_error(cmd, "bad CIDR '%s': %s", a->cidr, why);
	sg_format_cidr(&a->key, a->prefix, sizeof(a->prefix));
	return 0;
}

/* After the change is made: its failure is a warning, never the command's. */
static void audit(const struct sg_command *cmd, const struct ban_args *a, json_t *params,
		  __u64 expires_ns)
{
	struct sg_audit_entry e = {
		.action = cmd->name,
		.target = a->prefix,
		.params = params,
		.reason = a->reason,
		.expires_ns = expires_ns,
	};

	sg_audit_cli(&e);
	json_decref(params);
}

static int run_ban(int argc, char **argv)
{
	struct ban_args a;
	int fd, err, renewed;
	__u64 expires_ns;
	char dur[32];

	err = parse_ban_args(&sg_cmd_ban, argc, argv, &a);
	if (err)
		return err < 0 ? SG_EXIT_OK : err;
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;

	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	err = sg_ban_put(fd, &a.key, a.for_ns, SG_BAN_MANUAL, &renewed, &expires_ns);
	close(fd);
	if (err)
		return sg_fail("banning %s: %s", a.cidr, strerror(-err));
	printf("banned %s", a.cidr);
	if (a.for_ns)
		printf(" for %s", sg_format_duration(a.for_ns, dur, sizeof(dur)));
	printf("\n");
	audit(&sg_cmd_ban, &a, json_pack("{s:s, s:b}", "cidr", a.prefix, "renewed", renewed),
	      expires_ns);
	return SG_EXIT_OK;
}

static int run_unban(int argc, char **argv)
{
	struct ban_args a;
	int fd, err;

	err = parse_ban_args(&sg_cmd_unban, argc, argv, &a);
	if (err)
		return err < 0 ? SG_EXIT_OK : err;
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;

	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	err = bpf_map_delete_elem(fd, &a.key) ? -errno : 0;
	close(fd);
	if (err == -ENOENT)
		return sg_fail("%s is not banned (unban takes the exact prefix that was banned)",
			       a.cidr);
	if (err)
		return sg_fail("unbanning %s: %s", a.cidr, strerror(-err));
	printf("unbanned %s\n", a.cidr);
	audit(&sg_cmd_unban, &a, NULL, 0);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_ban = {
	.name = "ban",
	.summary = "drop all packets from an address or prefix at XDP",
	.usage = "usage: smtpguard ban CIDR [--for DURATION] [--reason TEXT]\n"
		 "  CIDR: 198.51.100.7, 198.51.100.0/24, 2001:db8::/48. Packets from it are\n"
		 "  dropped on arrival on the attached interfaces until 'smtpguard unban' or\n"
		 "  the end of DURATION (90s, 15m, 2h, 1d, 1h30m).\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.run = run_ban,
};

const struct sg_command sg_cmd_unban = {
	.name = "unban",
	.summary = "lift a ban",
	.usage = "usage: smtpguard unban CIDR [--reason TEXT]\n"
		 "  Removes the ban on exactly this prefix.\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.run = run_unban,
};
