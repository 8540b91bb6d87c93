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
#include "smtpguard.h"
#include "core/rates.h"

struct sg_uid_row { /* the 64-bit fields first, no padding between: 72 bytes, not 80 */
	__u64 attempts;
	__u64 denied;
	__u64 first_ns;		      /* the kernel's first count of the UID (CLOCK_BOOTTIME) */
	__u64 flows;		      /* sg_flows entries the kernel made for the UID, ever */
	__u64 recent[SG_WIN_10M + 1]; /* its connections in the last 1 and 10 min, at the read */
	__u32 uid;
	__u32 destinations[SG_WINDOWS];
	__u32 first_dest; /* its flows: an index in dests plus one, then each one's next */
	int changed;	  /* its counts moved since the tick before */
};

/* A flow a UID made: a destination and port (CLOCK_BOOTTIME). */
struct sg_dest_seen {
	struct sg_flow_key key;
	__u64 latest_ns; /* at the address's first flow (head): the latest of its flows */
	__u32 maybe_s;	 /* at the head: marked since, so maybe sent to before this second; 0 */
	__u32 head;	 /* index in dests of the first flow of the same UID and address */
	__u32 next;	 /* the UID's next flow, an index plus one; 0: none */
	__u32 row;	 /* index in rows; SG_NO_ROW for a UID with no counts */
};

#define SG_NO_ROW ((__u32)-1)

/*
 * The flows are read whole only when what the kernel counts says they may
 * have changed in a way a lookup cannot see: a UID came or went, made a new
 * flow, or was made anew; or the sweep removed some, or the maps were
 * replaced (sg_senders_reopen), or a minute went by. Else the addresses the
 * kernel marked in sg_flow_marks are known to have been sent to since, by a
 * second after the tick's at the latest: their flows are looked up again only when
 * that time and the one read disagree on a window, when they are few.
 * sg_uid_stats likewise: only the UIDs the kernel marked in sg_uid_marks
 * since the last read are looked up, when they are few, no entry was made
 * and none removed (sg_senders_forget), and a minute has not gone by.
 */
struct sg_senders {
	struct sg_uid_row *rows, *prev; /* by UID: this tick's, the tick before's */
	size_t n, cap, n_prev, cap_prev;
	struct sg_dest_seen *dests; /* one per (uid, address, port) flow */
	size_t n_dests, cap_dests;
	__u32 *slots; /* merging one address's flows: indices in dests, plus one */
	size_t cap_slots;
	__u32 *row_slots; /* rows by UID, for the flows: indices in rows, plus one */
	size_t n_row_slots, cap_row_slots;
	int stale;		/* the next read is whole */
	__u64 ticks_cached;	/* reads since the last whole one */
	__u64 whole, looked_up; /* reads of every flow, and flows looked up one by one, ever */
	__u64 *marked;		/* the kernel's sg_uid_marks as the last read took them */
	__u64 *flow_marked;	/* and its sg_flow_marks */
	__u64 flow_marks_ns;	/* when it took them (sg_boot_ns) */
	__u64 uids_looked_up;	/* UIDs looked up one by one for their marks, ever */
	/* The pinned maps, kept open (and the marks mapped) from one read to the next. */
	int maps_open, stats_fd, flows_fd;
	__u64 *uid_marks, *flow_marks;
};

/* Read the maps at now_ns; rates gets each UID's count. */
int sg_senders_read(struct sg_senders *s, struct sg_rates *rates, __u64 now_ns);

/*
 * The same from sg_uid_stats and sg_flows open as stats_fd and flows_fd,
 * sg_uid_marks mapped at marks (NULL: sg_uid_stats is read whole) and
 * sg_flow_marks at flow_marks (NULL: sg_flows is read whole).
 */
int sg_senders_read_maps(struct sg_senders *s, struct sg_rates *rates, int stats_fd, int flows_fd,
			 __u64 *marks, __u64 *flow_marks, __u64 now_ns);

/* Flows or UIDs were removed: the next read takes every entry. */
void sg_senders_forget(struct sg_senders *s);

/* The maps were replaced: the next read opens the pinned ones and takes every entry. */
void sg_senders_reopen(struct sg_senders *s);

/*
 * From s->dests (their keys and latest_ns) and s->rows, the distinct
 * addresses per UID and window ending at now_ns; one address's flows are
 * merged into the first of them. -ENOMEM or 0.
 */
int sg_senders_count_dests(struct sg_senders *s, __u64 now_ns);

/*
 * The k busiest of s's rows (as read at now_s, their recent counts with
 * them) into out (k entries): most connections in the last 10 min, then
 * most ever, then lowest UID; user names looked up. Returns how many.
 */
size_t sg_senders_top(struct sg_senders *s, const struct sg_rates *rates, __u64 now_s, __u32 k,
		      struct sg_sender_rate *out);

void sg_senders_free(struct sg_senders *s);

#endif
