// SPDX-License-Identifier: GPL-2.0
/* The mail server's families on /metrics; see metrics.h. */
#include <stddef.h>

#include "daemon/exposition.h"

/* One sample per account, of the __u64 at offset in struct sg_account_metric. */
static void account_counter(FILE *f, const struct sg_mta_metrics *m, const char *name,
			    const char *help, size_t offset)
{
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, name,
			   LABELS({ "principal", m->accounts[i].principal },
				  { "kind", m->accounts[i].kind }),
			   *(const __u64 *)((const char *)&m->accounts[i] + offset));
}

static void account_metrics(FILE *f, const struct sg_mta_metrics *m)
{
	static const char deliveries[] = "smtpguard_account_deliveries_total";
	static const char *const outcomes[] = { "sent", "bounced", "deferred" };
	const struct sg_account_metric *a;
	char n[16];
	size_t i;
	int o;

	account_counter(f, m, "smtpguard_account_messages_total",
			"Messages the mail principal (SASL account or local sender) submitted.",
			offsetof(struct sg_account_metric, messages));
	account_counter(f, m, "smtpguard_account_recipients_total",
			"Recipients of the principal's messages that reached a final outcome.",
			offsetof(struct sg_account_metric, recipients));
	family(f, deliveries, "counter",
	       "Remote deliveries of the principal's messages, by outcome (bounced: 5.x.x).");
	for (i = 0; i < m->n_accounts; i++) {
		a = &m->accounts[i];
		for (o = 0; o < 3; o++)
			sample_u64(f, deliveries,
				   LABELS({ "principal", a->principal }, { "kind", a->kind },
					  { "outcome", outcomes[o] }),
				   o == 0   ? a->sent
				   : o == 1 ? a->bounced
					    : a->deferred);
	}
	account_counter(f, m, "smtpguard_account_bounces_in_total",
			"Null-sender messages (bounces) delivered into the account's mailbox.",
			offsetof(struct sg_account_metric, bounces_in));
	account_counter(f, m, "smtpguard_account_auth_failures_total",
			"Failed logins naming the account.",
			offsetof(struct sg_account_metric, auth_failures));
	family(f, "smtpguard_account_client_ips", "gauge",
	       "Distinct client IPs that logged in to the account in the last hour.");
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, "smtpguard_account_client_ips",
			   LABELS({ "principal", m->accounts[i].principal },
				  { "kind", m->accounts[i].kind }, { "window", "1h" }),
			   m->accounts[i].client_ips_1h);
	family(f, "smtpguard_account_domains", "gauge",
	       "Distinct recipient domains of the principal in the last 10 minutes.");
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, "smtpguard_account_domains",
			   LABELS({ "principal", m->accounts[i].principal },
				  { "kind", m->accounts[i].kind }, { "window", "10m" }),
			   m->accounts[i].domains_10m);
	family(f, "smtpguard_account_contained", "gauge",
	       "1 while the principal is contained through the mail server.");
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, "smtpguard_account_contained",
			   LABELS({ "principal", m->accounts[i].principal },
				  { "kind", m->accounts[i].kind }),
			   (__u64)m->accounts[i].contained);
	family(f, "smtpguard_accounts_omitted", "gauge",
	       "Mail principals active in the last hour that are not among the K shown.");
	snprintf(n, sizeof(n), "%zu", m->accounts_omitted);
	sample(f, "smtpguard_accounts_omitted", NO_LABELS, n);
}

#define CAMPAIGN(f) offsetof(struct sg_campaign_metrics, f)
static void campaign_metrics(FILE *f, const struct sg_campaign_metrics *m)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} t[] = {
		{ "smtpguard_campaign_addresses_condemned_total", "counter",
		  "Addresses that logged in to many accounts, condemned.", CAMPAIGN(condemned) },
		{ "smtpguard_campaign_accounts_held_total", "counter",
		  "Accounts a condemned address logged in to, held for it.", CAMPAIGN(held) },
		{ "smtpguard_campaign_host_alerts_total", "counter",
		  "Host-wide alerts: bounce share and new senders jumped.", CAMPAIGN(host_alerts) },
		{ "smtpguard_campaign_evicted_total", "counter",
		  "Addresses, their accounts or verdicts dropped at a cap.", CAMPAIGN(evicted) },
		{ "smtpguard_campaign_addresses", "gauge",
		  "Client addresses whose logins are counted.", CAMPAIGN(addresses) },
		{ "smtpguard_campaign_host_alert", "gauge",
		  "1 while the host-wide campaign alert is in force.", CAMPAIGN(host_active) },
		{ "smtpguard_campaign_host_new_senders", "gauge",
		  "New accounts that sent in the last 10 minutes.", CAMPAIGN(host_new_senders) },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		family_u64(f, t[i].name, t[i].type, t[i].help,
			   *(const __u64 *)((const char *)m + t[i].off));
	}
	family(f, "smtpguard_campaign_host_bounce_share", "gauge",
	       "Bounced over remote deliveries of every principal in the last 10 minutes.");
	sample_double(f, "smtpguard_campaign_host_bounce_share", NO_LABELS, m->host_bounce_share);
}

void sg_metrics_render_mta(FILE *f, const struct sg_mta_metrics *m)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} totals[] = {
		{ "smtpguard_mta_auth_failures_total", "Failed logins in the MTA and Dovecot logs.",
		  offsetof(struct sg_mta_metrics, auth_failures) },
		{ "smtpguard_mta_bounces_in_total",
		  "Null-sender messages delivered to mailboxes here.",
		  offsetof(struct sg_mta_metrics, bounces_in) },
		{ "smtpguard_mta_alerts_total", "Alerts raised on mail principals.",
		  offsetof(struct sg_mta_metrics, alerts) },
		{ "smtpguard_mta_containments_total", "Mail principals contained through the MTA.",
		  offsetof(struct sg_mta_metrics, contained) },
		{ "smtpguard_mta_releases_total", "Contained mail principals a human released.",
		  offsetof(struct sg_mta_metrics, releases) },
		{ "smtpguard_mta_held_total", "Queued messages put on hold or frozen.",
		  offsetof(struct sg_mta_metrics, held) },
		{ "smtpguard_mta_errors_total", "Containment steps that failed (see the log).",
		  offsetof(struct sg_mta_metrics, errors) },
	};
	char n[16];
	size_t i;

	family(f, "smtpguard_mta_info", "gauge",
	       "The mail server whose logs are followed, always 1.");
	sample_u64(f, "smtpguard_mta_info", LABELS({ "mta", m->type }), 1);
	family_u64(f, "smtpguard_mta_log_lines_total", "counter", "Lines read from the MTA's logs.",
		   m->log_lines);
	family_u64(f, "smtpguard_mta_lines_untrusted_total", "counter",
		   "Journal lines tagged as the MTA's or Dovecot's from a sender not trusted, "
		   "refused.",
		   m->lines_untrusted);
	named_family(f, "smtpguard_mta_records_total", "counter",
		     "Log lines understood, by what they record.", "event", m->event_names,
		     m->records, m->n_events);
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		family_u64(f, totals[i].name, "counter", totals[i].help,
			   *(const __u64 *)((const char *)m + totals[i].off));
	}
	named_family(f, "smtpguard_containment_steps_failed_total", "counter",
		     "Containment and release steps that failed, each tried again after a backoff.",
		     "step", m->step_names, m->steps_failed, m->n_steps);
	named_family(f, "smtpguard_contained_pruned_total", "counter",
		     "Released principals dropped from [mta] state: past contained_keep (age), or "
		     "the oldest over contained_max (cap).",
		     "why", m->pruned_names, m->pruned, m->n_pruned);
	named_family(f, "smtpguard_owner_notices_total", "counter",
		     "Notices to a contained account's owner ([notify] owner_mail), by outcome.",
		     "outcome", m->notice_outcomes, m->notices, m->n_notice_outcomes);
	family(f, "smtpguard_mta_principals", "gauge",
	       "SASL accounts and local senders the daemon keeps counts for.");
	snprintf(n, sizeof(n), "%zu", m->principals);
	sample(f, "smtpguard_mta_principals", NO_LABELS, n);
	named_family(f, "smtpguard_evicted_total", "counter", "Entries a bounded table dropped.",
		     "table", m->dropped_names, m->dropped, m->n_dropped);
	account_metrics(f, m);
	if (m->campaign)
		campaign_metrics(f, m->campaign);
}

static void inband_metrics(FILE *f, const struct sg_inband_metrics *m)
{
#define IB(f) offsetof(struct sg_inband_metrics, f)
	static const struct {
		const char *name, *help;
		size_t off;
	} totals[] = {
		{ "smtpguard_inband_judged_total",
		  "Messages judged at the end of data (policy requests that named a principal).",
		  IB(judged) },
		{ "smtpguard_inband_held_budget_total",
		  "Messages held over their principal's budget.", IB(held_budget) },
		{ "smtpguard_inband_held_contained_total",
		  "Messages of contained principals answered HOLD.", IB(held_contained) },
		{ "smtpguard_inband_rejected_total",
		  "Requests of contained principals answered REJECT ([mta] contain = reject).",
		  IB(rejected) },
		{ "smtpguard_inband_bruteforce_login_total",
		  "Accounts contained for logging in from an address that failed to.",
		  IB(condemned) },
		{ "smtpguard_inband_released_total",
		  "Messages held over budget let go after [mta] hold_grace.", IB(released) },
		{ "smtpguard_inband_unknown_local_total",
		  "Local submissions with no owner found, judged as local:unknown.", IB(unknown) },
		{ "smtpguard_inband_unremembered_total",
		  "Messages held over budget that no hold_grace will release (no queue id or no "
		  "room): a human's to release.",
		  IB(unremembered) },
		{ "smtpguard_inband_budget_evicted_total",
		  "Principals dropped from the full budget table.", IB(budget_evicted) },
		{ "smtpguard_inband_errors_total", "Releases or holds through the MTA that failed.",
		  IB(errors) },
	};
#undef IB
	char n[24];
	size_t i;

	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		family_u64(f, totals[i].name, "counter", totals[i].help,
			   *(const __u64 *)((const char *)m + totals[i].off));
	}
	family(f, "smtpguard_inband_held", "gauge",
	       "Messages held over budget now, waiting for [mta] hold_grace.");
	snprintf(n, sizeof(n), "%zu", m->held);
	sample(f, "smtpguard_inband_held", NO_LABELS, n);
}

static void policy_metrics(FILE *f, const struct sg_policysrv_stats *p)
{
	named_family(f, "smtpguard_policy_requests_total", "counter",
		     "Policy requests the MTA asked and the service answered, by verdict.",
		     "verdict", sg_policy_verdict_names, p->requests, SG_POLICY_VERDICT_KINDS);
	named_family(f, "smtpguard_policy_refused_total", "counter",
		     "Policy connections refused or closed before an answer, by why.", "reason",
		     sg_policy_refusal_names, p->refused, SG_PREF__MAX);
	family_u64(f, "smtpguard_policy_values_cut_total", "counter",
		   "Request values longer than smtpguard keeps, judged cut to their field.",
		   p->values_cut);
	family_u64(f, "smtpguard_policy_connections", "gauge",
		   "Connections to the policy service now.", p->connections);
}

void sg_metrics_render_inband(FILE *f, const struct sg_metrics *m)
{
	if (m->inband)
		inband_metrics(f, m->inband);
	if (m->policy)
		policy_metrics(f, m->policy);
}
