/* SPDX-License-Identifier: GPL-2.0 */
/*
 * After a restart, the processes still sending that the kernel saw before
 * it (sg_senders) made their one event before this daemon read the ring:
 * nothing would name them in an action's evidence, explain or /senders.
 * They are attributed at start as their events would have been (but for
 * the destination, which sg_senders does not keep: 0), into the recent
 * senders. Functions return -errno.
 */
#ifndef SG_RECALL_H
#define SG_RECALL_H

#include <stddef.h>

#include "host/attrib.h"
#include "host/recent.h"

/* Processes attributed at most: the /proc reads of a start stay bounded. */
#define SG_RECALL_MAX 1024

/*
 * The live processes of sg_senders, the last to connect first, at most
 * SG_RECALL_MAX, into recent; *n gets how many. One the attribution finds
 * gone (its pid another process's since) is left out.
 */
int sg_recall_senders(const struct sg_attrib_cfg *cfg, struct sg_recent *recent, size_t *n);

#endif
