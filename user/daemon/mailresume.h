/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's side of the containment journal (mail/containlog.h): the
 * containments and releases that a crash or a failed step left unfinished
 * are carried on when due, each failed step logged with the MTA's words,
 * audited as failed and counted by step
 * (smtpguard_containment_steps_failed_total), and tried again after its
 * backoff until it succeeds; the state is pruned ([mta] contained_keep,
 * contained_max) at start, after each containment and hourly.
 */
#ifndef SG_MAILRESUME_H
#define SG_MAILRESUME_H

#include <time.h>
#include <jansson.h>

#include "core/config.h"
#include "daemon/mailguard.h"
#include "host/audit.h"

/* Once a tick, after the state is read: what is due resumed, the state pruned when due. */
void sg_mailresume_tick(struct sg_mailguard *g, const struct sg_config *c,
			const struct sg_audit_cfg *audit, time_t now);

/* The steps e (an entry just run) has left, counted as failed; into failed (may be NULL). */
void sg_mailresume_count(struct sg_mailguard *g, const json_t *e, json_t *failed);

#endif
