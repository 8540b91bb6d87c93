// SPDX-License-Identifier: GPL-2.0
/* attach and detach. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "kern/loader.h"
#include "smtpguard.h"
#include "kern/state.h"

struct attach_opts {
	struct sg_opt_list ifaces;
	const char *cgroup;
};

static const struct sg_option attach_options[] = {
	{ "interface", 'i', SG_LIST(struct attach_opts, ifaces), .max = SG_MAX_IFACES,
	  .too_many = "at most " SG_STR(SG_MAX_IFACES) " interfaces" },
	{ "cgroup", 'c', SG_STRING(struct attach_opts, cgroup) },
	{},
};

static int run_attach(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	struct attach_opts *o = opts;
	char defaults[SG_MAX_IFACES][IF_NAMESIZE], *routed[SG_MAX_IFACES];
	char *const *ifaces = o->ifaces.v;
	int n = o->ifaces.n, none_routed = 0, i;

	if (!n) {
		n = sg_default_ifaces(defaults, SG_MAX_IFACES);
		for (i = 0; i < n; i++)
			routed[i] = defaults[i];
		ifaces = routed;
		none_routed = !n;
	}
	/* sg_attach() has said what failed. */
	if (sg_attach(o->cgroup, ifaces, n))
		return SG_EXIT_FAIL;
	if (none_routed)
		printf("no interface carries a default route: no TC or XDP attached\n");
	printf("attached; pinned state in %s\n", sg_pin_dir());
	return SG_EXIT_OK;
}

static int run_detach(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
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
	.options = attach_options,
	.opts_size = sizeof(struct attach_opts),
	.needs = SG_NEEDS_ROOT,
	.run = run_attach,
};

const struct sg_command sg_cmd_detach = {
	.name = "detach",
	.summary = "remove every program, hook and pin smtpguard added",
	.usage = "usage: smtpguard detach\n"
		 "  Removes the cgroup hooks, the TC filters (and the clsact qdiscs smtpguard\n"
		 "  created), the XDP programs and the pinned maps: all counters and policies.\n"
		 "  Run it in the network namespace the interfaces are in.\n",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_PINS,
	.run = run_detach,
};
