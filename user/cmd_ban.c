// SPDX-License-Identifier: GPL-2.0
/* ban and unban: source prefixes XDP drops on arrival. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "maps.h"
#include "parse.h"
#include "render.h"
#include "smtpguard.h"
#include "state.h"

static int run_ban(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct sg_ban ban = {}, old;
	struct sg_ban_key key;
	const char *why;
	__u64 for_ns = 0;
	char dur[32];
	int c, fd, err;

	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (sg_parse_duration(optarg, &for_ns, &why))
				return sg_usage_error(&sg_cmd_ban, "bad duration '%s': %s", optarg, why);
			break;
		case 'h':
			fputs(sg_cmd_ban.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_ban, argv);
		}
	}
	if (optind != argc - 1)
		return sg_usage_error(&sg_cmd_ban, "expected one CIDR");
	if (sg_parse_cidr(argv[optind], &key, &why))
		return sg_usage_error(&sg_cmd_ban, "bad CIDR '%s': %s", argv[optind], why);
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;

	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	/* Renewing a ban keeps its drop count. */
	if (!bpf_map_lookup_elem(fd, &key, &old))
		ban.drops = old.drops;
	ban.prefixlen = key.prefixlen;
	ban.added_ns = sg_boot_ns();
	ban.expires_ns = for_ns ? ban.added_ns + for_ns : 0;
	err = bpf_map_update_elem(fd, &key, &ban, BPF_ANY) ? -errno : 0;
	close(fd);
	if (err)
		return sg_fail("banning %s: %s", argv[optind], strerror(-err));
	printf("banned %s", argv[optind]);
	if (for_ns)
		printf(" for %s", sg_format_duration(for_ns, dur, sizeof(dur)));
	printf("\n");
	return SG_EXIT_OK;
}

static int run_unban(int argc, char **argv)
{
	struct sg_ban_key key;
	const char *why;
	int fd, err;

	err = sg_one_arg(&sg_cmd_unban, argc, argv, "CIDR");
	if (err)
		return err < 0 ? SG_EXIT_OK : err;
	if (sg_parse_cidr(argv[1], &key, &why))
		return sg_usage_error(&sg_cmd_unban, "bad CIDR '%s': %s", argv[1], why);
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;

	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	if (err == -ENOENT)
		return sg_fail("%s is not banned (unban takes the exact prefix that was banned)",
			       argv[1]);
	if (err)
		return sg_fail("unbanning %s: %s", argv[1], strerror(-err));
	printf("unbanned %s\n", argv[1]);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_ban = {
	.name = "ban",
	.summary = "drop all packets from an address or prefix at XDP",
	.usage = "usage: smtpguard ban CIDR [--for DURATION]\n"
		 "  CIDR: 198.51.100.7, 198.51.100.0/24, 2001:db8::/48. Packets from it are\n"
		 "  dropped on arrival on the attached interfaces until 'smtpguard unban' or\n"
		 "  the end of DURATION (90s, 15m, 2h, 1d, 1h30m).\n",
	.run = run_ban,
};

const struct sg_command sg_cmd_unban = {
	.name = "unban",
	.summary = "lift a ban",
	.usage = "usage: smtpguard unban CIDR\n"
		 "  Removes the ban on exactly this prefix.\n",
	.run = run_unban,
};
