/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-principal message budgets, judged before a message is queued: four
 * token buckets a principal, messages and recipients, per minute and per
 * hour, with the kernel's arithmetic (sg_bucket.h). A message is admitted
 * only when all four have room for it (one message, recipient_count
 * recipients); over budget nothing is spent.
 *
 * The limits ([budget], config.h): a principal with a learned baseline of
 * b messages a minute gets max(floor, factor x b) messages a minute and
 * max(floor, factor x b x 60) an hour, its recipients the floors raised
 * by the same proportion; one never seen gets the first budget (first
 * messages at once, then first an hour), its recipients the floors; an
 * [override NAME] with a limit gets that rate and burst on its messages
 * and no recipient limit, with limit = none no budget at all.
 *
 * Pure: no I/O, time given. The table is bounded: at the cap a new
 * principal replaces the fullest of the 32 stored near it (an idle one's
 * buckets are full, and a full bucket is what a new one starts with, so
 * nothing is lost by it). A principal that has spent some of its budget
 * goes only when all 32 have, and then gets a fresh budget when it comes
 * back: that takes tens of thousands of principals sending at once, and
 * principals are logins and local UIDs, which no customer can make by
 * the thousand. Evictions are counted. Functions return -errno.
 */
#ifndef SG_BUDGET_H
#define SG_BUDGET_H

#include <stddef.h>
#include <linux/types.h>

#include "core/config.h"

#define SG_BUDGET_MAX 16384 /* principals with buckets at once */

enum sg_budget_bucket {
	SG_BUDGET_MSG_MIN,
	SG_BUDGET_MSG_HOUR,
	SG_BUDGET_RCPT_MIN,
	SG_BUDGET_RCPT_HOUR,
	SG_BUDGET_BUCKETS,
};

/* A principal's limits: burst 0 is no limit on that bucket. */
struct sg_budget_limits {
	__u32 burst[SG_BUDGET_BUCKETS];
	__u64 rate_per_hour[SG_BUDGET_BUCKETS];
};

/*
 * The limits of a principal whose learned baseline is per_min messages a
 * minute (-1: never seen), under override o (NULL: none).
 */
void sg_budget_limits(const struct sg_budget_cfg *c, double per_min, const struct sg_override *o,
		      struct sg_budget_limits *out);

/*
 * The override of principal ("sasl:LOGIN" or "local:UID"): a section named
 * as the principal, or for an account its address (the login) alone, or
 * for a local sender its UID or user (its login name, NULL when none).
 */
const struct sg_override *sg_budget_override(const struct sg_config *c, const char *principal,
					     const char *user);

/* Whether an override is named by a user name: only then is a UID's name worth looking up. */
int sg_budget_names_user(const struct sg_config *c);

struct sg_budget;

/* max: principals kept at once (0: SG_BUDGET_MAX). */
struct sg_budget *sg_budget_new(size_t max);
void sg_budget_free(struct sg_budget *b);

/*
 * One message of principal with rcpts recipients at now_ns (CLOCK_BOOTTIME,
 * never 0) under lim: 1 admitted and spent, 0 over budget (nothing spent),
 * -ENAMETOOLONG for an id longer than SG_PRINCIPAL_MAX, -ENOMEM.
 */
int sg_budget_admit(struct sg_budget *b, const char *principal, __u32 rcpts,
		    const struct sg_budget_limits *lim, __u64 now_ns);

size_t sg_budget_count(const struct sg_budget *b);
__u64 sg_budget_evicted(const struct sg_budget *b);

#endif
