/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's side of campaign detection (core/campaign.h), on
 * mailguard's records: each address condemned is banned at XDP for
 * [campaign] ban (reason "campaign"), and each account it used contained
 * through the MTA (rule "campaign") like any rule's, until a human
 * releases it (an account released within [detect] release_grace is left
 * alone); the host-wide alert is logged, audited and exported, and
 * contains nobody. Every verdict is logged and audited with its evidence.
 */
#ifndef SG_MAILCAMPAIGN_H
#define SG_MAILCAMPAIGN_H

#include <time.h>
#include <jansson.h>

#include "core/config.h"
#include "daemon/mailguard.h"
#include "host/audit.h"

/* g->campaign, with this host's addresses (every interface's) never condemned. */
int sg_mailcampaign_init(struct sg_mailguard *g, time_t now);

/* Once a tick, after the logs are read: verdicts acted on, the host-wide rule looked at. */
void sg_mailcampaign_tick(struct sg_mailguard *g, const struct sg_config *c,
			  const struct sg_audit_cfg *audit, time_t now);

/* explain of an address ("198.51.100.7"): its campaign evidence; NULL when id is none. */
json_t *sg_mailcampaign_explain(struct sg_mailguard *g, const struct sg_config *c, const char *id,
				time_t now);

/* The /metrics view into g->campaign_m. */
void sg_mailcampaign_metrics(struct sg_mailguard *g, time_t now);

#endif
