// SPDX-License-Identifier: GPL-2.0
/* The MTA's own user, for the policy service; see policypeer.h. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "mail/backend.h"
#include "mail/policypeer.h"

static int first_user(const char *const *names, size_t n, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!names[i][0])
			continue;
		pw = getpwnam(names[i]);
		if (pw) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The user Exim runs as, asked of the [mta] exim binary itself: its
 * compiled-in or configured exim_user, as numbers, so that a name the
 * daemon's passwd lacks (another mount namespace, a container) or one no
 * fallback lists (cPanel's mailnull) still names the right UID.
 */
static int exim_ids(const struct sg_config *c, uid_t *uid, gid_t *gid)
{
	char *argv[16], buf[PATH_MAX], out[128];
	unsigned long u, g;
	int argc, end = 0;

	argc = sg_mta_exim_argv(c, buf, sizeof(buf), argv, 16 - 2);
	argv[argc++] = "-be";
	argv[argc++] = "$exim_uid $exim_gid";
	argv[argc] = NULL;
	sg_mta_capture(argv, out, sizeof(out));
	if (sscanf(out, "%lu %lu%n", &u, &g, &end) != 2 || (out[end] && out[end] != '\n') || !u ||
	    u >= (uid_t)-1 || g >= (gid_t)-1)
		return -ENOENT;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int sg_policy_peer(const struct sg_config *c, enum sg_mta_type t, uid_t *uid, gid_t *gid)
{
	char *argv[] = {
		"postconf", "-c", (char *)c->mta.postfix_config, "-h", "mail_owner", NULL
	};
	static const char *const exim[] = { "Debian-exim", "exim" };
	char owner[256];
	const char *postfix[] = { owner, "postfix" };

	if (t == SG_MTA_EXIM)
		return exim_ids(c, uid, gid) ? first_user(exim, 2, uid, gid) : 0;
	if (t != SG_MTA_POSTFIX)
		return -EINVAL;
	sg_mta_capture(argv, owner, sizeof(owner));
	owner[strcspn(owner, "\n")] = '\0';
	return first_user(postfix, 2, uid, gid);
}
