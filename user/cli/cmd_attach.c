// SPDX-License-Identifier: GPL-2.0
/* attach and detach. */
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "kern/loader.h"
#include "smtpguard.h"
#include "kern/state.h"

static int run_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	char defaults[SG_MAX_IFACES][IF_NAMESIZE];
	char *ifaces[SG_MAX_IFACES];
	const char *cgroup = NULL;
	int n = 0, none_routed = 0, c;

	while ((c = getopt_long(argc, argv, "i:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (n == SG_MAX_IFACES)
				return sg_usage_error(&sg_cmd_attach, "at most %d interfaces",
						      SG_MAX_IFACES);
			ifaces[n++] = optarg;
			break;
		case 'c':
			cgroup = optarg;
			break;
		case 'h':
			fputs(sg_cmd_attach.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_attach, argv);
		}
	}
	if (optind < argc)
		return sg_usage_error(&sg_cmd_attach, "unexpected argument '%s'", argv[optind]);
	if (sg_need_root())
		return SG_EXIT_FAIL;
	if (!n) {
		n = sg_default_ifaces(defaults, SG_MAX_IFACES);
		for (c = 0; c < n; c++)
			ifaces[c] = defaults[c];
		none_routed = !n;
	}
	/* sg_attach() has said what failed. */
	if (sg_attach(cgroup, ifaces, n))
		return SG_EXIT_FAIL;
	if (none_routed)
		printf("no interface carries a default route: no TC or XDP attached\n");
	printf("attached; pinned state in %s\n", sg_pin_dir());
	return SG_EXIT_OK;
}

static int run_detach(int argc, char **argv)
{
	int err;

	err = sg_one_arg(&sg_cmd_detach, argc, argv, NULL);
	if (err)
		return err < 0 ? SG_EXIT_OK : err;
	/* Any pin left, even by a half-finished attach, is worth cleaning up. */
	if (sg_need_root())
		return SG_EXIT_FAIL;
	if (!sg_state_any())
		return sg_need_state();
	/* sg_detach() has said what failed. */
	if (sg_detach())
		return SG_EXIT_FAIL;
	printf("detached; %s removed\n", sg_pin_dir());
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_attach = {
	.name = "attach",
	.summary = "load the programs and attach them (cgroup hooks, TC egress, XDP)",
	.usage = "usage: smtpguard attach [-i IFACE]... [--cgroup PATH]\n"
		 "  Loads the kernel programs (or reuses the pinned ones) and attaches:\n"
		 "  cgroup/connect4, connect6 and sock_ops to PATH (default: where they are,\n"
		 "  else the cgroup v2 root), and TC egress and XDP ingress to each IFACE\n"
		 "  (default: the interfaces that carry a default route). Attaching again\n"
		 "  changes nothing; counters and policies are kept. Everything stays\n"
		 "  attached after this command exits.\n",
	.run = run_attach,
};

const struct sg_command sg_cmd_detach = {
	.name = "detach",
	.summary = "remove every program, hook and pin smtpguard added",
	.usage = "usage: smtpguard detach\n"
		 "  Removes the cgroup hooks, the TC filters (and the clsact qdiscs smtpguard\n"
		 "  created), the XDP programs and the pinned maps: all counters and policies.\n"
		 "  Run it in the network namespace the interfaces are in.\n",
	.run = run_detach,
};
