// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "core/quota.h"

void sg_quota_init(struct sg_quota *q, __u32 per_tick, __u32 per_key)
{
	memset(q, 0, sizeof(*q));
	q->per_tick = per_tick < SG_QUOTA_MAX ? per_tick : SG_QUOTA_MAX;
	q->per_key = per_key && per_key < q->per_tick ? per_key : q->per_tick;
}

int sg_quota_take(struct sg_quota *q, __u32 key)
{
	__u32 i;

	if (q->used >= q->per_tick) {
		q->refused++;
		return 0;
	}
	/* A tick has at most per_tick keys: a short scan. */
	for (i = 0; i < q->n_keys && q->keys[i] != key; i++)
		;
	if (i < q->n_keys && q->counts[i] >= q->per_key) {
		q->refused++;
		return 0;
	}
	if (i == q->n_keys) {
		q->keys[i] = key;
		q->counts[i] = 0;
		q->n_keys++;
	}
	q->counts[i]++;
	q->used++;
	return 1;
}

void sg_quota_tick(struct sg_quota *q)
{
	q->used = 0;
	q->n_keys = 0;
}
