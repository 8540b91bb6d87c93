/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SG_RECENT_H
#define SG_RECENT_H

#include <stddef.h>
#include <jansson.h>
#include <linux/types.h>

#include "host/attrib.h"

/*
 * The recent senders: per UID the last per_uid distinct processes (a
 * process seen again replaces its entry), for at most max_uids UIDs, the
 * least recently seen UID giving way.
 */
struct sg_recent;

struct sg_recent *sg_recent_new(__u32 max_uids, __u32 per_uid);
void sg_recent_free(struct sg_recent *r);
int sg_recent_add(struct sg_recent *r, const struct sg_sender_info *s);

/* UIDs whose processes gave way to another UID's, the table being full, ever. */
__u64 sg_recent_evicted(const struct sg_recent *r);
/*
 * Copies uid's entries, newest first, to out; returns how many (at most
 * max). Copies, not pointers: the table keeps its entries packed.
 */
size_t sg_recent_get(const struct sg_recent *r, __u32 uid, struct sg_sender_info *out, size_t max);
/* {"uid": [..newest first..], ...} for all UIDs, or only uid when has_uid. */
json_t *sg_recent_json(const struct sg_recent *r, int has_uid, __u32 uid);

#endif
