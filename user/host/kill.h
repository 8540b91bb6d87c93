/* SPDX-License-Identifier: GPL-2.0 */
/* Killing a UID's mail senders (kill.c). */
#ifndef SG_KILL_H
#define SG_KILL_H

#include <jansson.h>
#include <linux/types.h>

/*
 * A kill's work is bounded, whatever the customer's threads and tables:
 * descriptors read plus descriptor tables compared (kcmp). Past it the
 * search stops, and kills what it found.
 */
#define SG_KILL_BUDGET 1000000UL

/* What a kill searched: threads sharing a descriptor table have it searched once. */
struct sg_kill_scan {
	unsigned threads;    /* live threads of the UID's processes */
	unsigned tables;     /* descriptor tables searched for SMTP connections */
	unsigned unsearched; /* threads left when the search hit SG_KILL_BUDGET */
};

/*
 * SIGKILL every process of uid (or of one of its sub-UIDs) that holds a
 * connection to a watched port or was seen connecting to one in the last
 * minute, each checked through its pidfd; never this process or its
 * parents. The pids killed are appended to pids (a JSON array), each
 * printed when print; what was searched goes to scan unless NULL. Returns
 * how many, or -errno when none was killed and something failed.
 */
int sg_kill_senders(__u32 uid, int print, json_t *pids, struct sg_kill_scan *scan);

#endif
