/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The notice a contained account's owner gets ([notify] owner_mail): at
 * most once per containment, recorded in its entry of the containment
 * state (contain.h) as "notice" before it is sent, so that neither a
 * second verdict nor a restart sends another (a crash while it is sent
 * loses it rather than sending it twice); a new containment after a
 * release gets a new one. The owner's address is the panel's
 * (host/owner.h), else [notify] owner_fallback: never the contained
 * address alone. Sent through the MTA the principal was contained through
 * (its backend's submit, a bounded time). Functions return -errno.
 */
#ifndef SG_OWNERNOTICE_H
#define SG_OWNERNOTICE_H

#include <stddef.h>

#include "core/config.h"
#include "core/notice.h"

enum sg_notice_outcome {
	SG_NOTICE_SENT,
	SG_NOTICE_FAILED,     /* the template, the MTA or the state failed */
	SG_NOTICE_NO_ADDRESS, /* no owner's address, and no fallback */
	SG_NOTICE_OUTCOMES,
	SG_NOTICE_NONE = SG_NOTICE_OUTCOMES, /* sent already, or not contained: nothing to do */
};

extern const char *const sg_notice_outcome_names[SG_NOTICE_OUTCOMES];

/* [notify] owner_template read into *text (malloc'd) and checked; the reason into err. */
int sg_owner_template(const struct sg_config *c, char **text, char *err, size_t errlen);

/*
 * The notice of principal's containment, with what f says (its owner is
 * found here), unless its entry has one already. The address into to ("":
 * none), what went wrong into why. Returns the outcome.
 */
enum sg_notice_outcome sg_owner_notify(const struct sg_config *c, const char *principal,
				       struct sg_notice_facts *f, char *to, size_t tolen, char *why,
				       size_t whylen);

#endif
