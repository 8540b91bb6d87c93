// SPDX-License-Identifier: GPL-2.0
/* The MTA's own user, for the policy service; see policypeer.h. */
#include <errno.h>
#include <pwd.h>
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

int sg_policy_peer(const struct sg_config *c, enum sg_mta_type t, uid_t *uid, gid_t *gid)
{
	char *argv[] = {
		"postconf", "-c", (char *)c->mta.postfix_config, "-h", "mail_owner", NULL
	};
	static const char *const exim[] = { "Debian-exim", "exim" };
	char owner[256];
	const char *postfix[] = { owner, "postfix" };

	if (t == SG_MTA_EXIM)
		return first_user(exim, 2, uid, gid);
	if (t != SG_MTA_POSTFIX)
		return -EINVAL;
	sg_mta_capture(argv, owner, sizeof(owner));
	owner[strcspn(owner, "\n")] = '\0';
	return first_user(postfix, 2, uid, gid);
}
