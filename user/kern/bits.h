/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pinned bitmaps the programs ask before a map (sg_port_bits,
 * sg_ban_bits, sg_subuid_bits, sg_policy_bits: smtpguard.h), as user space
 * keeps them.
 * Functions return -errno.
 */
#ifndef SG_KERN_BITS_H
#define SG_KERN_BITS_H

#include <stddef.h>
#include <linux/types.h>

#include "kern/maps.h"

/*
 * Writes bits into the n mapped words, only those that change: ORed in
 * (add) or as they are. A bit set in both the old and the new never reads
 * clear meanwhile, and an OR never undoes another writer's bit.
 */
void sg_bits_store(__u64 *words, const __u64 *bits, size_t n, int add);

/*
 * The bits of every entry of the pinned map src (mark sets an entry's in
 * ctx, a zeroed array of n words), stored into the pinned bitmap bits by
 * sg_bits_store; nothing when no bitmap is pinned (programs older than it).
 */
int sg_bits_rebuild(const char *bits, size_t n, const char *src, sg_entry_fn mark, int add);

#endif
