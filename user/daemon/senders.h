/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every UID's counts, read once per tick: attempts and denials from
 * sg_uid_stats (fed to the rates), distinct destinations per window from
 * sg_flows, and the K busiest for /metrics. Functions return -errno.
 */
#ifndef SG_SENDERS_H
#define SG_SENDERS_H

#include <stddef.h>
#include <linux/types.h>

#include "daemon/metrics.h"
#include "core/rates.h"

struct sg_uid_row {
	__u32 uid;
	__u64 attempts;
	__u64 denied;
	__u64 first_ns; /* the kernel's first count of the UID (CLOCK_BOOTTIME) */
	__u32 destinations[SG_WINDOWS];
};

/* A destination a UID connected to, and when last (CLOCK_BOOTTIME). */
struct sg_dest_seen {
	__u32 uid;
	__u32 addr[4];
	__u32 merged; /* another flow of the same address holds the address's latest time */
	__u64 last_ns;
};

struct sg_senders {
	struct sg_uid_row *rows; /* by UID */
	size_t n, cap;
	struct sg_dest_seen *dests; /* one per (uid, address, port) flow */
	size_t n_dests, cap_dests;
	__u32 *slots; /* merging one address's flows: indices in dests, plus one */
	size_t cap_slots;
	__u32 *row_slots; /* rows by UID, for the flows: indices in rows, plus one */
	size_t n_row_slots, cap_row_slots;
};

/* Read the maps at now_ns; rates gets each UID's count. */
int sg_senders_read(struct sg_senders *s, struct sg_rates *rates, __u64 now_ns);

/*
 * From s->dests, the distinct addresses per UID and window ending at now_ns;
 * one address's flows are merged into one of them. -ENOMEM or 0.
 */
int sg_senders_count_dests(struct sg_senders *s, __u64 now_ns);

/*
 * The k busiest into out (k entries): most connections in the last 10 min,
 * then most ever, then lowest UID; user names looked up. Returns how many.
 */
size_t sg_senders_top(struct sg_senders *s, const struct sg_rates *rates, __u64 now_s, __u32 k,
		      struct sg_sender_rate *out);

void sg_senders_free(struct sg_senders *s);

#endif
