// SPDX-License-Identifier: GPL-2.0
/* attach and detach. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "kern/loader.h"
#include "kern/pinlock.h"
#include "kern/programs.h"
#include "kern/state.h"
#include "smtpguard.h"

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
	int n = o->ifaces.n, none_routed = 0, i, change, err;
	pid_t holder;

	if (!n) {
		n = sg_default_ifaces(defaults, SG_MAX_IFACES);
		for (i = 0; i < n; i++)
			routed[i] = defaults[i];
		ifaces = routed;
		none_routed = !n;
	}
	/*
	 * A running daemon repairs the pins to its own build's: an upgrade is
	 * its restart with the new binary, which upgrades them itself.
	 */
	holder = sg_pin_lock_holder();
	if (holder && sg_programs_other_build() > 0)
		return sg_fail(
			"the programs pinned in %s are another build's and a daemon (pid %d) "
			"runs on them: upgrade by restarting it with this binary (systemctl "
			"restart smtpguard); nothing changed",
			sg_pin_dir(), (int)holder);
	/* Fails when there is no bpffs yet: then no daemon runs to repair either. */
	change = sg_pins_change_lock(0);
	/* sg_attach() has said what failed. */
	err = sg_attach(o->cgroup, ifaces, n);
	if (change >= 0)
		close(change);
	if (err)
		return SG_EXIT_FAIL;
	if (none_routed)
		printf("no interface carries a default route: no TC or XDP attached\n");
	printf("attached; pinned state in %s\n", sg_pin_dir());
	return SG_EXIT_OK;
}

struct detach_opts {
	int force;
};

static const struct sg_option detach_options[] = {
	{ "force", 0, SG_FLAG(struct detach_opts, force) },
	{},
};

static int run_detach(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct detach_opts *o = opts;
	pid_t holder;
	int lock = sg_pin_lock(&holder), ret = SG_EXIT_OK, change;
	char pid[32] = "";

	/* Held until the pins are gone: no daemon starts on a half-removed directory. */
	if (lock == -EWOULDBLOCK && !o->force) {
		if (holder)
			snprintf(pid, sizeof(pid), " (pid %d)", (int)holder);
		return sg_fail("a daemon%s runs on %s: stop it first (systemctl stop smtpguard); "
			       "--force detaches all the same, and the daemon puts it all back",
			       pid, sg_pin_dir());
	}
	change = sg_pins_change_lock(0);
	/* sg_detach() has said what failed. */
	if (sg_detach())
		ret = SG_EXIT_FAIL;
	else
		printf("detached; %s removed\n", sg_pin_dir());
	if (change >= 0)
		close(change);
	/* No daemon: its lock goes with the pins. */
	if (lock >= 0 && ret == SG_EXIT_OK)
		sg_pin_lock_remove(lock);
	else if (lock >= 0)
		close(lock);
	return ret;
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
	.usage = "usage: smtpguard detach [--force]\n"
		 "  Removes the cgroup hooks, the TC filters (and the clsact qdiscs smtpguard\n"
		 "  created), the XDP programs and the pinned maps: all counters and policies.\n"
		 "  Run it in the network namespace the interfaces are in. Refused while a\n"
		 "  daemon runs on the pins: stop it first. --force detaches all the same;\n"
		 "  the daemon then puts everything back at once.\n",
	.options = detach_options,
	.opts_size = sizeof(struct detach_opts),
	.needs = SG_NEEDS_ROOT | SG_NEEDS_PINS,
	.run = run_detach,
};
