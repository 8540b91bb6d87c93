/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's side of the owner's notice (mail/ownernotice.h): a
 * containment's figures put in it, its outcome logged and counted
 * (smtpguard_owner_notices_total{outcome}).
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

/* With [notify] owner_mail: p's owner told of its containment for rule, done its state entry. */
void sg_mailnotice_contained(struct sg_mailguard *g, const struct sg_config *c,
			     const struct sg_mail_principal *p, const char *rule,
			     const json_t *done);

#endif
