/* SPDX-License-Identifier: GPL-2.0 */
/* Killing a UID's mail senders (kill.c). */
#ifndef SG_KILL_H
#define SG_KILL_H

#include <jansson.h>
#include <linux/types.h>

/*
 * SIGKILL every process of uid that holds a connection to a watched port or
 * was seen connecting to one in the last minute, each checked through its
 * pidfd; never this process or its parents. The pids killed are appended
 * to pids (a JSON array), each printed when print. Returns how many, or
 * -errno when none was killed and something failed.
 */
int sg_kill_senders(__u32 uid, int print, json_t *pids);

#endif
