/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who hears of a mail account's containment beyond the audit log: the
 * fleet (daemon/fleetpush.h), and the owner (mail/ownernotice.h): a
 * containment's figures put in the owner's notice, its outcome logged and
 * counted (smtpguard_owner_notices_total{outcome}).
 */
#ifndef SG_MAILNOTICE_H
#define SG_MAILNOTICE_H

#include <jansson.h>

#include "core/config.h"
#include "core/mailstats.h"
#include "daemon/mailguard.h"

/*
 * With [notify] owner_mail, its template read and checked, so that one that
 * would fail at the first containment fails the start or the reload
 * instead; the reason into err.
 */
int sg_mailnotice_check(const struct sg_config *c, char *err, size_t errlen);

/*
 * p's containment for rule, done its state entry and ev its evidence, told
 * to the fleet and, with [notify] owner_mail, to p's owner.
 */
void sg_mailnotice_contained(struct sg_mailguard *g, const struct sg_config *c,
			     const struct sg_mail_principal *p, const char *rule,
			     const json_t *done, const json_t *ev);

#endif
