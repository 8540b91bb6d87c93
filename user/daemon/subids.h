/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sub-UID file ([daemon] subuid, /etc/subuid) kept in the kernel's
 * sg_subuids: read at start, at each reload, and at the tick after it
 * changes (useradd writes a new file and renames it, so its inode, size
 * or time changes), so a new user's range is its owner's within a second.
 */
#ifndef SG_SUBIDS_H
#define SG_SUBIDS_H

#include <sys/stat.h>
#include <linux/types.h>

#include "core/subid.h"

struct sg_subids {
	int seen;		       /* the file was there at the last look */
	struct stat st;		       /* as it was then */
	__u64 outcomes[SG_SUBID__MAX]; /* its lines at the last read, by outcome */
	unsigned int failures;	       /* writes failed since the last that worked */
	__u64 retry_ns;		       /* after a failed write, the next try's boot time */
};

/*
 * Reads path ("": none, the map emptied) when force is set or it changed
 * since the last look. An absent file is no range; one that cannot be read
 * is logged and the map keeps what it has; one that cannot be written is
 * logged once and tried again 10 s later, then every 60 s (force tries at
 * once), until a write works, which says how many failed.
 */
void sg_subids_refresh(struct sg_subids *s, const char *path, int force);

#endif
