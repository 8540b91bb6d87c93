/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-UID connection rates from the kernel's cumulative per-UID counts,
 * sampled once per tick. The last minute is kept per second, so the 1 min
 * window slides by the second; the 10 min and 1 h windows are kept per
 * minute and slide by the minute, their current minute counted as far as
 * it has gone. A UID idle for an hour keeps only its last count, so its
 * history costs nothing until it sends again. Functions return -errno.
 */
#ifndef SG_RATES_H
#define SG_RATES_H

#include <linux/types.h>

#include "metrics.h"

struct sg_rates;

/* start_s: the first tick's time (any monotonic seconds); its samples are the baseline. */
struct sg_rates *sg_rates_new(__u64 start_s);
void sg_rates_free(struct sg_rates *r);

/*
 * The UID's cumulative count at now_s (not before the previous sample). The
 * first sample of a UID since start is a baseline when it comes at start_s
 * (counted before we looked); later first samples count whole (a new UID).
 * A count that went down means the kernel's entry was recreated: it counts whole.
 */
int sg_rates_sample(struct sg_rates *r, __u32 uid, __u64 total, __u64 now_s);

/* Connections in the window ending at now_s, and per second over the time the window covers. */
__u64 sg_rates_count(const struct sg_rates *r, __u32 uid, enum sg_window w, __u64 now_s);
double sg_rates_rate(const struct sg_rates *r, __u32 uid, enum sg_window w, __u64 now_s);

/* Forget UIDs with nothing in the last hour; returns how many are left. */
__u32 sg_rates_expire(struct sg_rates *r, __u64 now_s);

#endif
