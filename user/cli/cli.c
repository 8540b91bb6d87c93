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
#include "mail/contain.h"
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

int sg_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sg_vlog(SG_LOG_ERROR, fmt, ap);
	va_end(ap);
	return SG_EXIT_FAIL;
}

static int need_state(void)
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

/* Any pin left, even by a half-finished attach, is worth cleaning up. */
static int need_pins(void)
{
	return sg_state_any() ? 0 : need_state();
}

int sg_require(unsigned needs)
{
	if ((needs & SG_NEEDS_ROOT) && geteuid())
		return sg_fail("must be run as root (the BPF maps are root's)");
	if ((needs & SG_NEEDS_STATE) && need_state())
		return SG_EXIT_FAIL;
	if ((needs & SG_NEEDS_PINS) && need_pins())
		return SG_EXIT_FAIL;
	return 0;
}

int sg_principal_arg(const struct sg_command *cmd, const char *arg, char *id, size_t len,
		     unsigned *needs)
{
	int err = sg_contain_principal_arg(arg, id, len);

	if (err == -ENAMETOOLONG)
		return sg_usage_error(cmd, "account '%s' is too long", arg);
	if (err == -EILSEQ)
		return sg_usage_error(cmd, "account '%s': a backslash starts \\\\ or \\xNN there",
				      arg);
	if (err)
		id[0] = '\0';
	else
		*needs &= ~SG_NEEDS_STATE;
	return 0;
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
