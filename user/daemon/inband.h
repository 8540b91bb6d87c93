/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-band judge: each policy request (mail/policyproto.h) is a message
 * about to be queued, judged before it is: its principal named from what
 * the MTA vouches for (the SASL login; for a submission from this host,
 * the UID that owns the client socket, kern/localconn.h; Exim's
 * $caller_uid for sendmail), then, in order: contained (HOLD, or REJECT
 * with [mta] contain = reject), logged in from an address that failed to
 * log in to it [bruteforce] guessed times (the brute-force signature),
 * used by an address a campaign rule condemned -- both condemned: answered
 * as contained at once, contained through the MTA at the next tick, never
 * while a request waits -- over its budget (core/budget.h: HOLD, let go
 * after [mta] hold_grace unless a rule condemns it), else DUNNO. Every
 * message judged is counted for its principal (mailstats), so the
 * detector sees held mail too. Functions return -errno.
 */
#ifndef SG_INBAND_H
#define SG_INBAND_H

#include <time.h>

#include "core/config.h"
#include "daemon/mailguard.h"
#include "mail/policyproto.h"

struct sg_inband;

struct sg_inband *sg_inband_new(struct sg_mailguard *mail, const struct sg_config *c);
void sg_inband_free(struct sg_inband *ib);

/*
 * One request at now (CLOCK_REALTIME seconds and CLOCK_BOOTTIME ns): the
 * answer and why. In dry run a HOLD or REJECT is told to audit and DUNNO
 * answered (daemon/dryrun.h).
 */
enum sg_policy_verdict sg_inband_judge(struct sg_inband *ib, const struct sg_config *c,
				       const struct sg_audit_cfg *audit,
				       const struct sg_policy_req *req, time_t now, __u64 now_ns,
				       char *why, size_t whylen);

/*
 * The principals condemned at a request since the last tick (the brute-force
 * signature, a campaign verdict), contained under the rule that condemned
 * them. Before the tick's rules: else one of those (new_sender, over a
 * bot's first burst) would contain the principal first and be named.
 */
void sg_inband_contain_pending(struct sg_inband *ib, const struct sg_config *c,
			       const struct sg_audit_cfg *audit, time_t now);

/* Once a tick: held messages past hold_grace of principals no rule condemned, released. */
void sg_inband_tick(struct sg_inband *ib, const struct sg_config *c,
		    const struct sg_audit_cfg *audit, time_t now, __u64 now_ns);

/* Its counters, for /metrics (metrics.h). */
void sg_inband_metrics(const struct sg_inband *ib, struct sg_inband_metrics *out);

/*
 * The sg_local_conns map (kern/localconn.h) to name local senders by, or
 * -1: none (every local submission is then "local:unknown"). Not owned.
 */
void sg_inband_set_conns(struct sg_inband *ib, int map_fd);
#endif
