/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Token bucket arithmetic, shared by the connect hooks, the daemon's
 * message budgets and the unit tests: GCRA (the generic cell rate
 * algorithm). A bucket is one time, its TAT ("theoretical arrival time"):
 * the CLOCK_BOOTTIME at which it is full again. Each token pushes it one
 * interval T further; a connection is admitted while the TAT, brought up
 * to now, is no more than (burst - 1) * T ahead. One 64-bit word, so the
 * connect hooks update it by compare-and-swap with no lock.
 *
 * T is SG_NS_PER_HOUR / rate rounded up, so the rate is never exceeded:
 * the error is under 1 ns a token, so at most 0.1 % near the highest rate
 * (a million a second, T = 1000 ns), and none at rates that divide 3.6e12.
 *
 * No overflow: the TAT is at most now + burst * T, and burst <=
 * SG_BURST_MAX (1e6) with T <= 3.6e12 (one an hour) makes that at most
 * now + 3.6e18, within a __u64 for any uptime (4.7 centuries of it); so
 * is a TAT carried to a new policy (sg_bucket_carry), a burst at most.
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
	__u64 tat_ns;	   /* CLOCK_BOOTTIME at which the bucket is full again; 0 = new, full */
	__u64 last_ns;	   /* the last attempt: how long the bucket has been idle */
	__u64 policy_ns;   /* updated_ns of the policy the bucket belongs to */
	/* That policy's interval and burst: the tokens a TAT leaves, carried to another. */
	__u64 interval_ns;
	__u32 burst;
	__u32 pad;
};

/*
 * The layout version of sg_buckets (sg_layout, user/kern/layout.c): 1 was
 * the bucket under a bpf_spin_lock, its tokens scaled by SG_NS_PER_HOUR
 * (user/kern/migrate.c converts it).
 */
#define SG_BUCKETS_LAYOUT 2

/*
 * Compare-and-swaps a connect tries before it is refused: each failed one
 * means another CPU took a token, so 8 fail only under 8 others' takes in
 * the instant of one.
 */
#define SG_BUCKET_TRIES 8

/* The unit tests replace it to make a compare-and-swap fail. */
#ifndef sg_bucket_cas
#define sg_bucket_cas(p, old, new) __sync_val_compare_and_swap(p, old, new)
#endif

/* sg_bucket_admit's verdicts. */
enum sg_bucket_verdict {
	SG_BUCKET_DENY, /* no token */
	SG_BUCKET_ALLOW,
	SG_BUCKET_CONTENDED, /* every try lost to another CPU: refused (fail closed) */
};

/* A throttle given no burst: one minute's worth at once, at least one, at most SG_BURST_MAX. */
static __always_inline __u32 sg_bucket_default_burst(__u64 rate_per_hour)
{
	__u64 burst = rate_per_hour / 60;

	return burst < 1 ? 1 : burst > SG_BURST_MAX ? SG_BURST_MAX : (__u32)burst;
}

/* Nanoseconds a token takes to come back, rounded up; 0 for no rate, which admits nothing. */
static __always_inline __u64 sg_bucket_interval(__u64 rate_per_hour)
{
	return rate_per_hour ? (SG_NS_PER_HOUR + rate_per_hour - 1) / rate_per_hour : 0;
}

/*
 * The TAT after cost tokens are taken at now from a bucket full again at
 * tat, or 0 when they are not there (0 is never a TAT after a take). A
 * burst above SG_BURST_MAX, which no writer makes, counts as SG_BURST_MAX
 * to keep the bound above.
 */
static __always_inline __u64 sg_bucket_take(__u64 tat, __u64 now, __u64 interval, __u32 burst,
					    __u32 cost)
{
	__u64 from = tat > now ? tat : now;

	if (burst > SG_BURST_MAX)
		burst = SG_BURST_MAX;
	if (!interval || cost > burst || from - now > (__u64)(burst - cost) * interval)
		return 0;
	return from + (__u64)cost * interval;
}

/*
 * A TAT of a bucket of burst old_burst at interval old, carried at now to
 * a policy of burst and interval new: the tokens it had left (rounded down,
 * so that a change never hands one back), at most the new burst, left
 * under the new one. The same TAT when nothing changed, or when the old is
 * not known (old 0: a new bucket, full).
 */
static __always_inline __u64 sg_bucket_carry(__u64 tat, __u64 now, __u64 old, __u32 old_burst,
					     __u64 new, __u32 burst)
{
	__u64 owed = 0, left;

	if (!old || (old == new && old_burst == burst))
		return tat;
	if (burst > SG_BURST_MAX)
		burst = SG_BURST_MAX;
	if (tat > now)
		owed = (tat - now + old - 1) / old;
	left = owed < old_burst ? old_burst - owed : 0;
	return left >= burst ? now : now + (burst - left) * new;
}

/*
 * b's TAT under policy p, whose interval is interval, at now: its own when
 * it is p's; else, as a new policy finds it, full (0), or with the tokens
 * it had left when p keeps them (sg_bucket_carry).
 */
static __always_inline __u64 sg_bucket_tat_for(const struct sg_bucket *b,
						const struct sg_policy *p, __u64 interval, __u64 now)
{
	if (b->policy_ns == p->updated_ns)
		return b->tat_ns;
	if (!(p->flags & SG_POLICY_KEEP_TOKENS))
		return 0;
	return sg_bucket_carry(b->tat_ns, now, b->interval_ns, b->burst, interval, p->burst);
}

/*
 * One connection attempt at time now under policy p. A bucket that is new
 * or belongs to an older policy is full, so a fresh throttle grants its
 * burst and then its rate; unless the policy keeps the tokens (the
 * detector's throttle), so that a sender that has spent its burst is not
 * handed a new one: the tokens it had left, it keeps under the new rate
 * and burst (sg_bucket_carry).
 *
 * The policy's and the time's fields are plain stores racing other CPUs:
 * a CPU may take a token by compare-and-swap just before another's reset
 * at a policy change writes TAT 0 over it, and two CPUs both seeing the
 * change both reset it: an admission or two more at a policy change. The
 * TAT itself only moves by compare-and-swap from the value a try read, so
 * no token is spent twice or lost.
 */
static __always_inline enum sg_bucket_verdict sg_bucket_admit(struct sg_bucket *b,
							      const struct sg_policy *p, __u64 now)
{
	__u64 interval = sg_bucket_interval(p->rate_per_hour), tat, next, seen;
	int i;

	if (b->policy_ns != p->updated_ns) {
		b->tat_ns = sg_bucket_tat_for(b, p, interval, now);
		b->policy_ns = p->updated_ns;
		b->interval_ns = interval;
		b->burst = p->burst;
	}
	b->last_ns = now;
	tat = b->tat_ns;
	for (i = 0; i < SG_BUCKET_TRIES; i++) {
		next = sg_bucket_take(tat, now, interval, p->burst, 1);
		if (!next)
			return SG_BUCKET_DENY;
		seen = sg_bucket_cas(&b->tat_ns, tat, next);
		if (seen == tat)
			return SG_BUCKET_ALLOW;
		tat = seen;
	}
	return SG_BUCKET_CONTENDED;
}

#ifndef __bpf__
/* Tokens in a bucket full again at tat, at now: a real number, for people (explain, budgets). */
static inline double sg_bucket_tokens(__u64 tat, __u64 now, __u64 rate_per_hour, __u32 burst)
{
	__u64 interval = sg_bucket_interval(rate_per_hour);
	double owed;

	if (!interval)
		return 0;
	if (tat <= now)
		return burst;
	owed = (double)(tat - now) / (double)interval;
	return owed < burst ? burst - owed : 0;
}
#endif

#endif /* SG_BUCKET_H */
