/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who the policy service serves besides root: the MTA's own user, the one
 * its smtpd (Postfix) or receiving process (Exim, SMTP and local alike)
 * connects as. Functions return -errno.
 */
#ifndef SG_POLICYPEER_H
#define SG_POLICYPEER_H

#include <sys/types.h>

#include "core/config.h"

/*
 * Postfix: its mail_owner (postconf -c [mta] postfix_config), else the
 * user "postfix"; Exim: the exim_user its binary ([mta] exim) reports
 * ($exim_uid and $exim_gid), else "Debian-exim", else "exim". Its UID and primary
 * group (the socket's group) into *uid and *gid; -ENOENT when the MTA has
 * no such user, -EINVAL for no MTA.
 */
int sg_policy_peer(const struct sg_config *c, enum sg_mta_type t, uid_t *uid, gid_t *gid);

#endif
