/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sg_ban_bits, XDP's quick "no ban covers this address" (smtpguard.h), kept
 * a superset of sg_bans: a ban's bits are set before the ban is written, and
 * cleared only by a rebuild from the bans. Writers of bans and rebuilds take
 * one lock (the root-only "_bans" directory: kern/pinlock.h), so that a rebuild never clears
 * the bits of a ban being put. With no sg_ban_bits pinned (programs older
 * than it) there is nothing to keep. Functions return -errno.
 */
#ifndef SG_BANBITS_H
#define SG_BANBITS_H

#include "smtpguard.h"

struct bpf_object;

/*
 * Before the ingress object is loaded: its global data, which is
 * sg_ban_bits, is to be the pinned map (made and pinned if there is none).
 * -ENOENT when obj has no global data of sg_ban_bits' size.
 */
int sg_ban_bits_pin(struct bpf_object *obj);

/* Takes the lock and sets key's bits: the lock's fd, for sg_ban_bits_unlock once the ban is in. */
int sg_ban_bits_mark(const struct sg_ban_key *key);
void sg_ban_bits_unlock(int lock);

/* Makes the bits those of the bans in sg_bans now: after a ban is lifted, or the maps replaced. */
int sg_ban_bits_rebuild(void);

/* Sets key's bits in words (SG_BAN_BITS_WORDS of them). */
void sg_ban_bits_set(__u64 *words, const struct sg_ban_key *key);

#endif
