/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Token bucket arithmetic, shared by the connect hooks and the unit tests.
 *
 * Tokens are kept scaled by SG_NS_PER_HOUR: one nanosecond at a rate of r
 * connections per hour adds exactly r units and a connection costs
 * SG_NS_PER_HOUR units, so the refill needs no division by time and loses
 * nothing to rounding. With burst <= SG_BURST_MAX the full bucket
 * (3.6e18) fits in a __u64, and refill multiplies only an elapsed time
 * already bounded by what is missing, so nothing overflows.
 */
#ifndef SG_BUCKET_H
#define SG_BUCKET_H

#include <linux/bpf.h>
#include <linux/types.h>

#include "smtpguard.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SG_NS_PER_SEC 1000000000ULL
#define SG_NS_PER_HOUR (3600ULL * SG_NS_PER_SEC)
#define SG_BURST_MAX 1000000U
#define SG_RATE_MAX_PER_HOUR (3600ULL * 1000000ULL) /* a million per second */

/* sg_buckets: key __u32 uid. */
struct sg_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tokens; /* scaled by SG_NS_PER_HOUR */
	__u64 last_ns; /* CLOCK_BOOTTIME of the last refill; 0 = never used */
	__u64 policy_ns; /* updated_ns of the policy the tokens belong to */
};

/* A throttle given no burst: one minute's worth at once, at least one, at most SG_BURST_MAX. */
static __always_inline __u32 sg_bucket_default_burst(__u64 rate_per_hour)
{
	__u64 burst = rate_per_hour / 60;

	return burst < 1 ? 1 : burst > SG_BURST_MAX ? SG_BURST_MAX : (__u32)burst;
}

static __always_inline __u64 sg_bucket_capacity(__u32 burst)
{
	return (__u64)burst * SG_NS_PER_HOUR;
}

/* Tokens after elapsed_ns at rate_per_hour, never above the burst. */
static __always_inline __u64 sg_bucket_refill(__u64 tokens, __u64 elapsed_ns,
					      __u64 rate_per_hour, __u32 burst)
{
	__u64 cap = sg_bucket_capacity(burst);

	if (tokens >= cap)
		return cap;
	if (!rate_per_hour)
		return tokens;
	if (elapsed_ns > (cap - tokens) / rate_per_hour)
		return cap;
	return tokens + elapsed_ns * rate_per_hour;
}

/*
 * One connection attempt at time now under policy p: returns 1 and spends
 * a token when allowed. A bucket that is new or belongs to an older policy
 * starts full, so a fresh throttle grants its burst and then its rate;
 * unless the policy keeps the tokens (the detector's throttle), so a sender
 * that has spent its burst is not handed a new one.
 */
static __always_inline int sg_bucket_admit(struct sg_bucket *b, const struct sg_policy *p,
					   __u64 now)
{
	__u64 cap = sg_bucket_capacity(p->burst);

	if (!b->last_ns) {
		b->policy_ns = p->updated_ns;
		b->tokens = cap;
	} else if (b->policy_ns != p->updated_ns) {
		b->policy_ns = p->updated_ns;
		if (!(p->flags & SG_POLICY_KEEP_TOKENS) || b->tokens > cap)
			b->tokens = cap;
	} else if (now > b->last_ns) {
		b->tokens = sg_bucket_refill(b->tokens, now - b->last_ns, p->rate_per_hour,
					     p->burst);
	}
	if (now > b->last_ns)
		b->last_ns = now;
	if (b->tokens < SG_NS_PER_HOUR)
		return 0;
	b->tokens -= SG_NS_PER_HOUR;
	return 1;
}

#endif /* SG_BUCKET_H */
