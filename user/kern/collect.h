/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the pinned maps by name. Functions return -errno. */
#ifndef SG_COLLECT_H
#define SG_COLLECT_H

#include "kern/maps.h"
#include "util/render.h"

/* sg_map_for_each over the pinned map name. */
int sg_pin_walk(const char *map, sg_entry_fn fn, void *ctx);

int sg_settings_get(struct sg_settings *s);
int sg_settings_set(const struct sg_settings *s);

/* Events in the ring buffer (sg_events) that nobody has read yet. */
int sg_events_pending(__u64 *events);

/*
 * What is attached and counted: hooks, interfaces, maps, ports, policies,
 * errors, counters. With own_counts, sg_policies, sg_bans, sg_uid_stats,
 * sg_flows, sg_conn_stats, sg_smtp and sg_uid_swept are not walked (their
 * entries left at -1, policies[] at 0): the daemon counts them itself, the
 * first two a share a tick (sg_census), sg_uid_swept after the sweep that
 * alone writes it, the others in the tick's reads of them.
 */
int sg_status_collect(struct sg_status *st, int own_counts);

#endif
