// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/parse.h"
#include "kern/state.h"
#include "util/log.h"

int sg_usage_error(const struct sg_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "smtpguard %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SG_EXIT_USAGE;
}

int sg_one_arg(const struct sg_command *cmd, int argc, char **argv, const char *what)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(cmd->usage, stdout);
		return -1;
	}
	if (argc != (what ? 2 : 1))
		return what ? sg_usage_error(cmd, "expected one %s", what)
			    : sg_usage_error(cmd, "unexpected argument '%s'", argv[1]);
	return 0;
}

int sg_opt_for(const struct sg_command *cmd, int takes, const char *arg, __u64 *ns)
{
	const char *why;

	if (!takes)
		return sg_usage_error(cmd, "bad duration '%s': %s takes none", arg, cmd->name);
	if (sg_parse_duration(arg, ns, &why))
		return sg_usage_error(cmd, "bad duration '%s': %s", arg, why);
	return 0;
}

int sg_bad_option(const struct sg_command *cmd, char **argv)
{
	return sg_usage_error(cmd,
			      "unknown option or missing value: '%s' (see 'smtpguard %s --help')",
			      argv[optind - 1], cmd->name);
}

int sg_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sg_vlog(SG_LOG_ERROR, fmt, ap);
	va_end(ap);
	return SG_EXIT_FAIL;
}

int sg_need_root(void)
{
	return geteuid() ? sg_fail("must be run as root (the BPF maps are root's)") : 0;
}

int sg_need_state(void)
{
	int err = sg_state_present();

	if (!err)
		return 0;
	if (err == -ENOENT)
		return sg_fail(
			"nothing is attached (no pinned state in %s); run 'smtpguard attach'",
			sg_pin_dir());
	return sg_fail("%s: %s", sg_pin_dir(), strerror(-err));
}

int sg_resolve_user(const char *arg, __u32 *uid, char *name, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	const char *why;

	if (!sg_parse_uid(arg, uid, &why)) {
		getpwuid_r(*uid, &pw, buf, sizeof(buf), &res);
	} else {
		getpwnam_r(arg, &pw, buf, sizeof(buf), &res);
		if (!res)
			return sg_fail("unknown user '%s' (give a user name or a numeric UID)",
				       arg);
		*uid = res->pw_uid;
	}
	snprintf(name, len, "%s", res ? res->pw_name : "");
	return 0;
}

const char *sg_who(__u32 uid, const char *name, char *buf, size_t len)
{
	if (name[0])
		snprintf(buf, len, "%s (uid %u)", name, uid);
	else
		snprintf(buf, len, "uid %u", uid);
	return buf;
}
