// SPDX-License-Identifier: GPL-2.0
/* Campaign verdicts acted on by the daemon: see mailcampaign.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "daemon/dryrun.h"
#include "daemon/fleetpush.h"
#include "daemon/mailcampaign.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "sg_bucket.h"
#include "host/ownaddr.h"
#include "util/log.h"
#include "util/render.h"

#define VERDICTS 256 /* acted on per tick at most; the rest wait a tick */

int sg_mailcampaign_init(struct sg_mailguard *g, time_t now)
{
	g->campaign = sg_campaign_new(now, sg_never_ban);
	return g->campaign ? 0 : -ENOMEM;
}

/* An address condemned: said, audited, and banned for [campaign] ban (or told: dryrun.h). */
static void condemned(struct sg_mailguard *g, const struct sg_config *c,
		      const struct sg_audit_cfg *audit, const struct sg_campaign_verdict *v)
{
	struct sg_ban_key key = { .prefixlen = 128 };
	struct sg_audit_entry e = {
		.actor = "daemon",
		.action = "ban",
		.target = v->ip,
		.params = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "rule", "campaign",
				    "value", (json_int_t)v->accounts, "limit",
				    (json_int_t)c->campaign.accounts, "held", (json_int_t)v->held,
				    "sent", (json_int_t)v->sent, "bounced", (json_int_t)v->bounced,
				    "new", v->is_new, "for_seconds",
				    (json_int_t)(v->ban_ns / SG_NS_PER_SEC)),
		.reason = "it logged in to many accounts",
		.expires_ns = v->ban_ns ? sg_boot_ns() + v->ban_ns : 0,
	};
	char dur[32] = "0";
	int err = 0;

	memcpy(key.addr, v->addr, sizeof(key.addr));
	if (v->ban_ns) {
		err = sg_dry_ban(c, audit, &e, &key, v->ban_ns, SG_BAN_CAMPAIGN);
		if (err == -EPERM)
			sg_warn("not banning %s: this host's own address, loopback, [bruteforce] "
				"allow or [campaign] webmail",
				v->ip);
		else if (err < 0) {
			g->errors++;
			sg_error("banning %s: %s", v->ip, strerror(-err));
		}
		sg_format_duration(v->ban_ns, dur, sizeof(dur));
	}
	sg_info("campaign %s condemned accounts=%u limit=%u held=%u sent=%llu bounced=%llu new=%s "
		"ban=%s%s",
		v->ip, v->accounts, c->campaign.accounts, v->held, (unsigned long long)v->sent,
		(unsigned long long)v->bounced, v->is_new ? "yes" : "no", dur,
		err == SG_DRY_TOLD ? " (dry run)"
		: err > 0	   ? " (a longer ban stays)"
				   : "");
	/* Not banned (none asked, refused, failed or told): an alert is what was done. */
	if (!v->ban_ns || err < 0 || err == SG_DRY_TOLD)
		e.action = "alert";
	if (v->ban_ns && !err)
		sg_fleetpush_ban("campaign", &key, v->ban_ns, e.params);
	if (audit)
		sg_audit_write(audit, &e);
	json_decref(e.params);
}

/* An account the condemned address used: contained, unless contained or released already. */
static void held(struct sg_mailguard *g, const struct sg_config *c,
		 const struct sg_audit_cfg *audit, const struct sg_campaign_verdict *v, time_t now)
{
	struct sg_mail_principal *p = sg_mailstats_principal(g->stats, v->principal, now);
	char who[SG_PRINCIPAL_MAX * 4];

	sg_printable(v->principal, who, sizeof(who));
	if (!p || p->contained || now < p->released_until) {
		sg_info("campaign %s used %s: %s", v->ip, who,
			!p	       ? "not tracked"
			: p->contained ? "contained already"
				       : "released");
		return;
	}
	sg_info("campaign %s used %s: contained", v->ip, who);
	sg_mailguard_contain(g, c, audit, p, "campaign", v->accounts, c->campaign.accounts, now);
}

static void host_rule(struct sg_mailguard *g, const struct sg_config *c,
		      const struct sg_audit_cfg *audit, time_t now)
{
	struct sg_campaign_host h;
	int change = sg_campaign_host_judge(g->campaign, c, now, &h);

	if (!change)
		return;
	sg_info("%s host-wide rule=campaign_host bounce_share=%.2f limit=%.2f new_senders=%u "
		"limit=%.1f outcomes=%llu",
		change > 0 ? "alert" : "clear", h.bounce_share, h.share_limit, h.new_senders,
		h.new_limit, (unsigned long long)(h.sent + h.bounced));
	if (change > 0)
		sg_audit_daemon(audit, "alert", "host",
				json_pack("{s:s, s:f, s:f, s:I, s:f, s:I, s:I}", "rule",
					  "campaign_host", "bounce_share", h.bounce_share,
					  "share_limit", h.share_limit, "new_senders",
					  (json_int_t)h.new_senders, "new_limit", h.new_limit,
					  "sent", (json_int_t)h.sent, "bounced",
					  (json_int_t)h.bounced),
				"the host's bounce share and new senders jumped together", 0);
}

void sg_mailcampaign_tick(struct sg_mailguard *g, const struct sg_config *c,
			  const struct sg_audit_cfg *audit, time_t now)
{
	static struct sg_campaign_verdict v[VERDICTS];
	size_t i, n;

	if (!g->campaign)
		return;
	n = sg_campaign_judge(g->campaign, c, now, v, VERDICTS);
	for (i = 0; i < n; i++) {
		if (v[i].account)
			held(g, c, audit, &v[i], now);
		else
			condemned(g, c, audit, &v[i]);
	}
	host_rule(g, c, audit, now);
}

json_t *sg_mailcampaign_explain(struct sg_mailguard *g, const struct sg_config *c, const char *id,
				time_t now)
{
	return g->campaign ? sg_campaign_address_json(g->campaign, c, id, now) : NULL;
}

void sg_mailcampaign_metrics(struct sg_mailguard *g, time_t now)
{
	struct sg_campaign_totals t;

	if (!g->campaign)
		return;
	sg_campaign_totals(g->campaign, now, &t);
	g->campaign_m = (struct sg_campaign_metrics){
		.condemned = t.condemned,
		.held = t.held,
		.host_alerts = t.host_alerts,
		.evicted = t.evicted,
		.addresses = t.addresses,
		.host_active = t.host.active,
		.host_bounce_share = t.host.bounce_share,
		.host_new_senders = t.host.new_senders,
	};
}
