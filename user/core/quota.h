/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A per-tick allowance of costly work, shared fairly: at most per_tick
 * takes between two calls of sg_quota_tick, and at most per_key of them for
 * one key (a UID), so that one customer's flood spends its own share and
 * leaves the rest to everyone else. What is refused is counted. Pure: no
 * I/O, no clock; the caller says when a tick begins.
 */
#ifndef SG_QUOTA_H
#define SG_QUOTA_H

#include <linux/types.h>

#define SG_QUOTA_MAX 256 /* per_tick at most: every key that took has a slot */

struct sg_quota {
	__u32 per_tick, per_key;
	__u32 used;		  /* taken this tick */
	__u32 n_keys;		  /* keys that took this tick */
	__u32 keys[SG_QUOTA_MAX]; /* and how many each */
	__u32 counts[SG_QUOTA_MAX];
	__u64 refused; /* ever */
};

/* per_tick is capped at SG_QUOTA_MAX; per_key 0 or above per_tick is per_tick. */
void sg_quota_init(struct sg_quota *q, __u32 per_tick, __u32 per_key);

/* 1: key may do one more this tick (taken); 0: its share or the tick's is spent (counted). */
int sg_quota_take(struct sg_quota *q, __u32 key);

/* A new tick: every share is whole again. */
void sg_quota_tick(struct sg_quota *q);

#endif
