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

/* The windows rates are kept over. */
enum sg_window {
	SG_WIN_1M,
	SG_WIN_10M,
	SG_WIN_1H,
	SG_WINDOWS,
};

extern const char *const sg_window_names[SG_WINDOWS]; /* "1m", "10m", "1h" */
extern const __u32 sg_window_seconds[SG_WINDOWS];

struct sg_rates;

struct sg_rates *sg_rates_new(void);
void sg_rates_free(struct sg_rates *r);

/*
 * The UID's cumulative count at now_s (not before the previous sample);
 * times are seconds under 2^32 (since boot: 136 years), -ERANGE past them.
 * Until sg_rates_started, samples are the baseline: counted before we
 * looked, not a burst. After it, a UID's first sample counts whole (a new
 * UID), and a count that went down means the kernel's entry was recreated:
 * it counts whole. What a sample adds is spread evenly over the seconds
 * since the UID's previous sample (a new UID's: since the pass before),
 * so that after a pause of the sampler the last minute holds a minute's
 * share of the pause, not all of it.
 */
int sg_rates_sample(struct sg_rates *r, __u32 uid, __u64 total, __u64 now_s);

/* The same, when the counting began at since_s (0: unknown): nothing was counted before it. */
int sg_rates_sample_since(struct sg_rates *r, __u32 uid, __u64 total, __u64 since_s, __u64 now_s);

/*
 * The same, and with the one lookup the UID's counts at now_s (as
 * sg_rates_count's) in its first n windows into counts: a tick that
 * samples every UID has their counts for nothing more.
 */
int sg_rates_sample_counts(struct sg_rates *r, __u32 uid, __u64 total, __u64 since_s, __u64 now_s,
			   __u64 *counts, unsigned int n);

/*
 * A pass of samples (one per UID) begins at now_s, whether or not it has
 * any: a UID first sampled in it was not there at the pass before. A
 * sample at a later second begins one too.
 */
void sg_rates_pass(struct sg_rates *r, __u64 now_s);

/* The first full pass of samples, taken at now_s, is done: the baseline is set. */
void sg_rates_started(struct sg_rates *r, __u64 now_s);

/* Connections in the window ending at now_s, and per second over the time the window covers. */
__u64 sg_rates_count(const struct sg_rates *r, __u32 uid, enum sg_window w, __u64 now_s);
double sg_rates_rate(const struct sg_rates *r, __u32 uid, enum sg_window w, __u64 now_s);

/* Forget UIDs with nothing in the last hour; returns how many are left. */
__u32 sg_rates_expire(struct sg_rates *r, __u64 now_s);

#endif
