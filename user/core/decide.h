/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether a rule's response is carried out on a principal: one order for
 * UIDs, whose standing is a kernel policy, and for mail principals (SASL
 * accounts, local senders), whose standing is a containment. Pure: the
 * caller reads what is in force, decides, then applies.
 *
 * Precedence, highest first:
 *   a human's standing (the CLI's policy, a release's grace included);
 *   the detector's (a rule's response in force);
 *   the config's (overrides' limits, observe for the allow list and the
 *   MTA's users);
 *   the default policy.
 * A rule's response never overrides a human and never loosens what stands,
 * whoever set it; an exempt principal (allow list, MTA user, override with
 * actions = alert) is only alerted on; root's processes are never killed.
 * The config's own policies replace the default and lift the detector's
 * from the exempt, never a human's.
 */
#ifndef SG_DECIDE_H
#define SG_DECIDE_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "core/config.h"
#include "smtpguard.h"

/* Why a principal is exempt from automatic limits (sg_exempt_text() says it in words). */
enum sg_exempt {
	SG_EXEMPT_NONE,
	SG_EXEMPT_ALLOW,
	SG_EXEMPT_MTA,
	SG_EXEMPT_ALERT_ONLY,
};

/* NULL for SG_EXEMPT_NONE. */
const char *sg_exempt_text(enum sg_exempt e);

/* Who stands behind what is in force, lowest first. */
enum sg_owner {
	SG_OWNER_DEFAULT, /* nothing of the principal's own */
	SG_OWNER_CONFIG,
	SG_OWNER_DETECTOR,
	SG_OWNER_HUMAN,
};

/* What is in force for a principal. */
struct sg_standing {
	enum sg_owner owner;
	__u32 mode;	     /* enum sg_mode; a human's observe is a release */
	__u64 rate_per_hour; /* throttle */
};

/* What a rule's response asks for a principal. */
struct sg_proposal {
	enum sg_action kind;
	__u64 rate_per_hour; /* throttle */
	enum sg_exempt exempt;
	int root; /* UID 0: its processes are the system's */
};

enum sg_decision {
	SG_DECIDE_APPLY,
	SG_DECIDE_ALERT,    /* the response is an alert */
	SG_DECIDE_EXEMPT,   /* the principal only alerts */
	SG_DECIDE_HUMAN,    /* a human's policy or release stands */
	SG_DECIDE_ROOT,	    /* no kill of root's processes */
	SG_DECIDE_STRICTER, /* what stands is as strict already, or stricter */
};

/*
 * The verdict on want where now stands; why says in words what stops it
 * ("" when applied or an alert): the alert's log line and audit note.
 */
enum sg_decision sg_decide(const struct sg_standing *now, const struct sg_proposal *want, char *why,
			   size_t len);

/* p is unexpired at now_ns (0: never expires). */
int sg_policy_in_force(const struct sg_policy *p, __u64 now_ns);

/*
 * What stands for a UID: own, its sg_policies entry (NULL: none), while
 * unexpired at now_ns; dflt, the default policy, otherwise.
 */
void sg_standing_policy(const struct sg_policy *own, const struct sg_policy *dflt, __u64 now_ns,
			struct sg_standing *s);

/*
 * What stands for a mail principal: a containment holds all its mail (a
 * block), a human's release leaves it be until released_until.
 */
void sg_standing_mail(int contained, time_t released_until, time_t now, struct sg_standing *s);

/* For a mail principal any response but an alert is a containment: a block. */
void sg_proposal_mail(enum sg_action kind, enum sg_exempt exempt, struct sg_proposal *want);

/* What the config does with its policy for a principal. */
enum sg_config_step {
	SG_CONFIG_KEEP,	 /* what stands stays */
	SG_CONFIG_WRITE, /* its policy is written */
	SG_CONFIG_LIFT,	 /* written, lifting the detector's from an exempt principal */
};

/*
 * The config's step for want where cur (NULL: nothing in force) stands;
 * exempt: the config exempts the principal from the detector's policies.
 */
enum sg_config_step sg_decide_config(const struct sg_policy *cur, const struct sg_policy *want,
				     int exempt);

#endif
