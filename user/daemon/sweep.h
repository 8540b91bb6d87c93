/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Removing what has expired: per-UID policies and bans whose time is up
 * (the kernel already treats them as absent), each audited as expired,
 * at most 4096 and 100 ms a call (the rest at the next ticks, so that no
 * tick is held long); then their bits leave sg_policy_bits or sg_ban_bits,
 * made again from the map at most once a minute. Returns how many were
 * removed, or -errno.
 *
 * And what has gone stale, so that the per-UID tables never fill with the
 * idle: entries of sg_flows unused for stale_ns; of sg_senders unused for
 * stale_ns or whose process is gone (each credited back to its UID's quota
 * in sg_uid_swept); token buckets of UIDs with no policy of their own,
 * unused for stale_ns and full again under the default (a new one starts
 * full); and a UID's sg_uid_stats entry once it has none of these, no
 * policy, and was unused for stale_ns. Its counters then start again from
 * zero: for Prometheus a series that disappears and comes back.
 */
#ifndef SG_SWEEP_H
#define SG_SWEEP_H

#include <linux/types.h>

#include "host/audit.h"
#include "kern/maps.h"

/*
 * Neither sweep walks its whole table in one call, whatever its fill (a
 * hostile outsider with many addresses fills sg_bans): each goes on from
 * where the last stopped, SG_WALK_PER_TICK entries a call, so that a full
 * table is looked at in four ticks and an expired entry removed at most
 * that late. The same walk counts the table: its entries, and those in
 * force by class (a policy's mode, a ban's reason), as of the last
 * complete pass.
 */
#define SG_WALK_PER_TICK  16384
#define SG_CENSUS_CLASSES 16

struct sg_census {
	struct sg_cursor cursor;
	__u64 entries, in_force[SG_CENSUS_CLASSES]; /* of the pass under way */
	int counted; /* a pass has completed: the last_ fields hold its counts */
	int held;    /* an expired key whose removal waits for the walk to go past it */
	__u8 held_key[SG_CURSOR_KEY_MAX];
	__u64 last_entries, last_in_force[SG_CENSUS_CLASSES];
	/* Expired entries removed since their bitmap was last made again, and when it was. */
	__u64 removed, rebuilt_ns;
};

int sg_sweep_policies(const struct sg_audit_cfg *audit, __u64 now_ns, struct sg_census *c);
int sg_sweep_bans(const struct sg_audit_cfg *audit, __u64 now_ns, struct sg_census *c);

/* Unused this long is stale: the daemon's longest window (1 h, destinations), and 10 min more. */
#define SG_STALE_NS (70ULL * 60 * 1000000000ULL)

enum sg_stale_table {
	SG_STALE_FLOWS,
	SG_STALE_SENDERS,
	SG_STALE_BUCKETS,
	SG_STALE_UIDS,
	/* Not maps: the detector's principals, counted by the guard (sg_guard_save). */
	SG_STALE_BASELINES,	     /* unseen for [detect] retention */
	SG_STALE_BASELINES_OVER_MAX, /* the least recently seen, past [detect] baselines_max */
	SG_STALE__MAX
};

/* The tables' names, by enum sg_stale_table. */
extern const char *const sg_stale_names[SG_STALE__MAX];

/* Adds to removed[] what it removed; 0 or -errno. */
int sg_sweep_stale(__u64 now_ns, __u64 stale_ns, __u64 removed[SG_STALE__MAX]);

#endif
