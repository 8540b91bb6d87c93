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
 */
int sg_subuids_apply(struct sg_subid_set *set);

/* The UID that uid is policed as, by the pinned sg_subuids open at fd (< 0: none): itself or its
 * range's owner. */
__u32 sg_subuids_owner(int fd, __u32 uid);

#endif
