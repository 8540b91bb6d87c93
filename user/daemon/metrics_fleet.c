// SPDX-License-Identifier: GPL-2.0
/* The fleet's families on /metrics: the LAPI link and the decisions applied; see metrics.h. */
#include "daemon/exposition.h"
#include "fleet/bouncer.h"
#include "fleet/link.h"

static void per_origin_scope(FILE *f, const char *name, const char *help,
			     const __u64 v[SG_ORIGIN__MAX][SG_SCOPE__MAX])
{
	int o, s;

	family(f, name, "counter", help);
	for (o = 0; o < SG_ORIGIN__MAX; o++)
		for (s = 0; s < SG_SCOPE__MAX; s++)
			sample_u64(f, name,
				   LABELS({ "origin", sg_decision_origin_names[o] },
					  { "scope", sg_decision_scope_names[s] }),
				   v[o][s]);
}

void sg_metrics_render_fleet(FILE *f, const struct sg_fleet_counts *n,
			     const struct sg_link_status *st)
{
	per_origin_scope(f, "smtpguard_crowdsec_decisions_received_total",
			 "Decisions the CrowdSec LAPI's stream brought, by origin and scope.",
			 n->received);
	per_origin_scope(f, "smtpguard_crowdsec_decisions_applied_total",
			 "Decisions put in force here (a ban at XDP, an account held).",
			 n->applied);
	named_family(f, "smtpguard_crowdsec_decisions_skipped_total", "counter",
		     "Decisions received and not in force here, each counted once, by why.",
		     "reason", sg_fleet_skip_names, n->skipped, SG_SKIP__MAX);
	named_family(f, "smtpguard_crowdsec_decisions_lifted_total", "counter",
		     "Decisions deleted at the LAPI whose ban or hold was undone here.", "scope",
		     sg_decision_scope_names, n->lifted, SG_SCOPE__MAX);
	named_family(f, "smtpguard_crowdsec_decisions_active", "gauge",
		     "The LAPI's decisions in force here now, by scope.", "scope",
		     sg_decision_scope_names, n->active, SG_SCOPE__MAX);
	named_family(f, "smtpguard_crowdsec_pull_errors_total", "counter",
		     "Pulls from the LAPI that failed, by kind (auth: a wrong or revoked key).",
		     "kind", sg_lapi_error_names, st->errors, SG_LAPI__MAX);
	family_u64(f, "smtpguard_crowdsec_pulls_total", "counter",
		   "Successful pulls of the LAPI's decision stream.", st->pulls);
	family_u64(f, "smtpguard_crowdsec_last_pull_timestamp_seconds", "gauge",
		   "When the last pull from the LAPI succeeded (Unix time; 0: none yet).",
		   st->last_pull);
	family_u64(f, "smtpguard_crowdsec_up", "gauge",
		   "1 when the last pull from the LAPI succeeded.", st->pulls && !st->failing);
}
