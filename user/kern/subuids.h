/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's copy of the sub-UID ranges (sg_subuids). Functions return -errno. */
#ifndef SG_SUBUIDS_H
#define SG_SUBUIDS_H

#include "core/subid.h"

/*
 * Makes sg_subuids hold exactly set's ranges, each as its prefixes: the
 * prefixes no range has any more go first, making room, then each range's
 * are put. A range that finds no room is taken out of the map and of set
 * whole, and counted full there. A range being moved may match under its
 * old owner or its new one meanwhile; one left alone never stops matching.
 * sg_subuid_bits (smtpguard.h) gets the blocks of the old prefixes and the
 * new before the trie changes, and once it has, those of the ranges kept
 * alone; after a failure it keeps both.
 */
int sg_subuids_apply(struct sg_subid_set *set);

/*
 * Sets the bits of sg_subuid_bits for every prefix sg_subuids holds, as the
 * programs are loaded and before they run: pins of a build older than the
 * bits leave a trie with none. It clears no bit, so that it can never undo
 * the daemon's writer setting those of a prefix it is putting; the
 * writer clears the blocks that no range touches any more.
 */
int sg_subuid_bits_rebuild(void);

/* The UID that uid is policed as, by the pinned sg_subuids open at fd (< 0: none): itself or its
 * range's owner. */
__u32 sg_subuids_owner(int fd, __u32 uid);

#endif
