/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smtpguard as a CrowdSec log processor ("machine"): every ban a rule of
 * the daemon makes, and every containment of a mail account, pushed to the
 * Local API as an alert (core/alert.h) so that the fleet's bouncers apply it.
 *
 * The rule's code calls sg_fleetpush_ban or sg_fleetpush_hold, which only
 * queue the alert: a thread of its own logs in (POST /v1/watchers/login,
 * the JWT renewed a minute before its expire, and again on a 401) and
 * posts the queue (POST /v1/alerts), so the daemon's loop never waits for
 * the LAPI. The queue is bounded (SG_FLEETPUSH_QUEUE): an alert that finds
 * it full is dropped and counted, as is one whose decision ended before
 * it could be delivered; a failed post is retried with a back-off doubling
 * from 1 s to a minute. One pusher per process, so that the rules' code
 * needs no handle: sg_fleetpush_apply sets it up from the config.
 *
 * What is pushed is what the daemon banned or contained itself, never a
 * decision applied from the LAPI: its bans are not made through these
 * calls, and a containment by SG_FLEET_RULE is the fleet's hold
 * (daemon/fleet.c), not pushed back. A hold names a mail account ("sasl:" principals): a local UID
 * means nothing on another server, and is never pushed.
 */
#ifndef SG_FLEETPUSH_H
#define SG_FLEETPUSH_H

#include <stdio.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/config.h"
#include "smtpguard.h"

#define SG_FLEETPUSH_QUEUE 1024	      /* alerts waiting at most */
#define SG_FLEET_RULE	   "crowdsec" /* the rule of a containment the fleet's hold made */
#define SG_FLEETPUSH_BATCH 64	      /* alerts per POST */

/*
 * Pushing as [crowdsec] c says, from now on (url and machine_id set; the
 * same connection settings as the bouncer's): reads password_file as the
 * fleet reads its secrets (fleet/lapi.h: root's, mode 600, not empty), then
 * starts the thread or hands it the new settings. Either unset: pushing
 * stops, what is queued is dropped. On failure (-errno, why says what) the
 * previous settings stay.
 */
int sg_fleetpush_apply(const struct sg_crowdsec_cfg *c, char *why, size_t whylen);

/* Stops the thread without waiting for a transfer in flight. */
void sg_fleetpush_stop(void);

/*
 * The ban of key for for_ns that rule (a ban reason's name) just made, with
 * its evidence (core/alert.h; borrowed). Nothing when pushing is off.
 */
void sg_fleetpush_ban(const char *rule, const struct sg_ban_key *key, __u64 for_ns,
		      const json_t *evidence);

/*
 * The containment of principal by rule, done its state entry (mail/contain.h):
 * a hold of the account for [crowdsec] hold when it is a mail account
 * ("sasl:LOGIN"), and a ban of each address of its "bans" for its "ban_for_s".
 */
void sg_fleetpush_contain(const char *principal, const char *rule, const json_t *done,
			  const json_t *evidence);

/*
 * A human's release of principal (`smtpguard release`, seen in the state
 * file: daemon/mailguard.c): when it is a mail account, the fleet's holds
 * on it deleted at the LAPI (DELETE /v1/decisions: that account's holds
 * only), queued after the alerts before it, so that the other servers
 * release it at their next pull, not at the end of [crowdsec] hold.
 */
void sg_fleetpush_release(const char *principal);

/* The pushes' metrics (smtpguard_crowdsec_push_*); -EIO when f fails. */
int sg_fleetpush_render(FILE *f);

#endif
