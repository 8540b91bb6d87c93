/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The owner of a mail principal, to notify of its containment: the panel
 * account behind it (a SASL login's domain in cPanel's userdomains or
 * DirectAdmin's domainowners, a bare login or a local sender's user name
 * as the panel user itself) and that account's contact address: cPanel's
 * CONTACTEMAIL= in [notify] cpanel_users/USER, DirectAdmin's email= in
 * directadmin_users/USER/user.conf. The customer writes that address in
 * the panel: it is used only when it is a plain address
 * (core/notice.h). Functions return -errno.
 */
#ifndef SG_OWNER_H
#define SG_OWNER_H

#include <stddef.h>

#include "core/config.h"

/*
 * The contact address of principal's panel account into addr, and where
 * it came from into how ("cpanel user bob"); else -ENOENT (no panel
 * account, or none with a contact address) or -EINVAL (its address is not
 * a plain one), how saying which.
 */
int sg_owner_contact(const struct sg_config *c, const char *principal, char *addr, size_t len,
		     char *how, size_t howlen);

#endif
