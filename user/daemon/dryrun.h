/* SPDX-License-Identifier: GPL-2.0 */
/*
 * [actions] dry_run: where each automatic action of the daemon is either
 * taken or only told. Every function that acts (a throttle or a block, a
 * kill, a containment, a ban, a policy answer that holds or refuses) asks
 * sg_dry_run() first, with the audit entry it would write; in dry run the
 * entry is written as "would-ACTION", the log says "would ACTION [user=U
 * uid=N] [target=T] because RULE: EVIDENCE-JSON", it is counted for
 * smtpguard_actions_total{dry_run="true"}, and the caller returns having
 * touched neither the kernel maps, the MTA nor a process. A human's
 * commands never come here: they act. The config is read at each call, so
 * a reload that turns dry run off acts from the next alert on.
 */
#ifndef SG_DRYRUN_H
#define SG_DRYRUN_H

#include <stddef.h>
#include <linux/types.h>

#include "core/config.h"
#include "host/audit.h"
#include "smtpguard.h"

/* Would-actions told, by action and rule; past SG_DRY_PAIRS - 1 pairs, under "other". */
#define SG_DRY_PAIRS 64

struct sg_dry_count {
	char action[24], rule[40];
	__u64 n;
};

/*
 * 0 when c acts (the caller goes on); 1 when it is in dry run and e (its
 * action the plain verb: "throttle", "contain"...) was told instead, its
 * rule counted. e->params is borrowed.
 */
int sg_dry_run(const struct sg_config *c, const struct sg_audit_cfg *audit,
	       const struct sg_audit_entry *e, const char *rule);

/*
 * For an action due again every tick its rule holds (a principal's
 * containment): sg_dry_run() while *told is 0, which it then sets; after,
 * only whether c is in dry run.
 */
int sg_dry_run_once(const struct sg_config *c, const struct sg_audit_cfg *audit,
		    const struct sg_audit_entry *e, const char *rule, int *told);

/* sg_dry_ban()'s answer when it told the ban instead of putting it. */
#define SG_DRY_TOLD 2

/*
 * An automatic ban: sg_ban_auto() (host/ownaddr.h), or in dry run, for a
 * prefix it would not refuse, e (action "ban") told and SG_DRY_TOLD.
 */
int sg_dry_ban(const struct sg_config *c, const struct sg_audit_cfg *audit,
	       const struct sg_audit_entry *e, const struct sg_ban_key *key, __u64 for_ns,
	       __u32 reason);

/* n would-actions told elsewhere (the fleet's bouncer: "ban", "crowdsec"), counted. */
void sg_dry_counted(const char *action, const char *rule, __u64 n);

/* The counts so far (this process's), in the order first told. */
const struct sg_dry_count *sg_dry_counts(size_t *n);

#endif
