/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The containment state file ([mta] state, contain.h): written whole and
 * renamed over, under a lock beside it, for contain.c's journal.
 */
#ifndef SG_CONTAINSTATE_H
#define SG_CONTAINSTATE_H

#include <jansson.h>

#include "core/config.h"

/*
 * Locks beside the state file: ".lock" for the state, ".tables.lock" for
 * the whole of a containment's or release's steps (taken first), so
 * the daemon and the CLI never write a table, or run one entry's steps, at
 * once; without wait, -EWOULDBLOCK when the other holds it. Returns its fd.
 */
int sg_cstate_lock(const struct sg_config *c, const char *suffix, int wait);

/*
 * Runs fn on the state under the ".lock" and saves it when fn returns 0:
 * durable, an intent, synced (the file and its directory) before the step
 * it announces. -EBADMSG, changing nothing, when the state is there but
 * does not read as one.
 */
int sg_cstate_update(const struct sg_config *c, int (*fn)(json_t *s, void *ctx), void *ctx,
		     int durable);

#endif
