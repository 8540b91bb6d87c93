// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>

#include "daemon/metrics.h"

struct label {
	const char *name;
	const char *value;
};

#define LABELS(...)                                                                                \
	(const struct label[]){__VA_ARGS__},                                                       \
		sizeof((const struct label[]){__VA_ARGS__}) / sizeof(struct label)
#define NO_LABELS NULL, 0

/*
 * Length of the valid UTF-8 sequence at s, 0 when s does not start one (Go's rules, which
 * Prometheus applies: no overlong forms, no surrogates, nothing above U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++, lo = 0x80, hi = 0xbf)
		if (s[i] < lo || s[i] > hi)
			return 0;
	return n;
}

/*
 * Label values are user names and interface names, which may hold any byte: Prometheus
 * rejects the whole scrape on one invalid UTF-8 value, so such bytes become U+FFFD.
 */
static void put_label_value(FILE *f, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t n;

	while (*s) {
		if (*s == '\\' || *s == '"') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
			s++;
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fputs("\xef\xbf\xbd", f);
			s++;
		}
	}
}

/* The shortest form that reads back as the same double, in Prometheus's spelling. */
static const char *format_double(double v, char *buf, size_t len)
{
	int prec;

	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const struct label *labels, size_t n,
		   const char *value)
{
	size_t i;

	fputs(name, f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%c%s=\"", i ? ',' : '{', labels[i].name);
		put_label_value(f, labels[i].value);
		fputc('"', f);
	}
	fprintf(f, "%s %s\n", n ? "}" : "", value);
}

static void sample_u64(FILE *f, const char *name, const struct label *labels, size_t n, __u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	sample(f, name, labels, n, buf);
}

static void sample_double(FILE *f, const char *name, const struct label *labels, size_t n, double v)
{
	char buf[32];

	sample(f, name, labels, n, format_double(v, buf, sizeof(buf)));
}

/* One sample per name, labelled label=names[i]. */
static void named_family(FILE *f, const char *name, const char *type, const char *help,
			 const char *label, const char *const *names, const __u64 *v, size_t n)
{
	size_t i;

	family(f, name, type, help);
	for (i = 0; i < n; i++)
		sample_u64(f, name, LABELS({label, names[i]}), v[i]);
}

/* One sample per port with flag set, of the struct sg_port counter at offset. */
static void port_family(FILE *f, const struct sg_status *st, const char *name, const char *help,
			__u32 flag, size_t offset)
{
	char port[12];
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < st->n_ports; i++) {
		if (!(st->ports[i].v.flags & flag))
			continue;
		snprintf(port, sizeof(port), "%u", st->ports[i].port);
		sample_u64(f, name, LABELS({"port", port}),
			   *(const __u64 *)((const char *)&st->ports[i].v + offset));
	}
}

/* sg_local_conns: the owners of connections from this host to itself, for the policy service. */
static void local_conn_metrics(FILE *f, const struct sg_status *st)
{
	static const char *const outcomes[] = {"recorded", "unrecorded", "evicted"};
	const __u64 v[] = {st->counters[SG_CNT_LOCAL_RECORDED],
			   st->counters[SG_CNT_LOCAL_UNRECORDED],
			   st->counters[SG_CNT_LOCAL_EVICTED]};

	named_family(f, "smtpguard_local_conns_total", "counter",
		     "Connections from this host to a watched port of its own: their owner "
		     "recorded, not recorded (no room), or evicted while open.",
		     "outcome", outcomes, v, sizeof(v) / sizeof(v[0]));
}

static void status_metrics(FILE *f, const struct sg_status *st)
{
	static const char *const reasons[] = {"block", "throttle", "no_bucket"};
	const __u64 denied[] = {st->counters[SG_CNT_DENIED_BLOCK],
				st->counters[SG_CNT_DENIED_THROTTLE],
				st->counters[SG_CNT_DENIED_NO_BUCKET]};
	__u64 connects = 0;
	size_t i;

	for (i = 0; i < st->n_ports; i++)
		connects += st->ports[i].v.connects;
	family(f, "smtpguard_connect_attempts_total", "counter",
	       "connect() calls to watched ports seen by the cgroup hooks.");
	sample_u64(f, "smtpguard_connect_attempts_total", NO_LABELS, connects);
	named_family(f, "smtpguard_connect_denied_total", "counter",
		     "connect() calls to watched ports refused with EPERM, by reason.", "reason",
		     reasons, denied, sizeof(denied) / sizeof(denied[0]));

	port_family(f, st, "smtpguard_egress_syn_total",
		    "SYNs sent to the port, seen by TC egress.", SG_PORT_OUTBOUND,
		    offsetof(struct sg_port, out_syns));
	port_family(f, st, "smtpguard_egress_packets_total",
		    "Packets (GSO segments) sent to the port, seen by TC egress.", SG_PORT_OUTBOUND,
		    offsetof(struct sg_port, out_packets));
	port_family(f, st, "smtpguard_egress_bytes_total",
		    "Bytes on the wire sent to the port, seen by TC egress.", SG_PORT_OUTBOUND,
		    offsetof(struct sg_port, out_bytes));
	port_family(f, st, "smtpguard_inbound_syn_total",
		    "SYNs from outside to the local port, seen by XDP.", SG_PORT_INBOUND,
		    offsetof(struct sg_port, in_syns));

	family(f, "smtpguard_banned_packets_total", "counter",
	       "Packets from banned addresses dropped by XDP.");
	sample_u64(f, "smtpguard_banned_packets_total", NO_LABELS, st->counters[SG_CNT_BAN_DROPS]);

	family(f, "smtpguard_policies", "gauge", "Unexpired per-UID policies, by mode.");
	for (i = 0; i < 3; i++)
		sample_u64(f, "smtpguard_policies", LABELS({"mode", sg_mode_name(i)}),
			   st->policies[i]);
	family(f, "smtpguard_default_policy", "gauge",
	       "The mode of the policy for UIDs with none of their own.");
	sample_u64(f, "smtpguard_default_policy",
		   LABELS({"mode", sg_mode_name(st->default_policy.mode)}), 1);

	family(f, "smtpguard_events_lost_total", "counter",
	       "Ring-buffer events dropped because the buffer was full.");
	sample_u64(f, "smtpguard_events_lost_total", NO_LABELS, st->errors[SG_ERR_RINGBUF_FULL]);
	local_conn_metrics(f, st);
}

static void map_metrics(FILE *f, const struct sg_status *st)
{
	size_t i;

	family(f, "smtpguard_map_entries", "gauge", "Entries in the BPF map.");
	for (i = 0; i < st->n_maps; i++)
		if (st->maps[i].entries >= 0)
			sample_u64(f, "smtpguard_map_entries", LABELS({"map", st->maps[i].name}),
				   st->maps[i].entries);
	family(f, "smtpguard_map_capacity", "gauge", "Maximum entries of the BPF map.");
	for (i = 0; i < st->n_maps; i++)
		sample_u64(f, "smtpguard_map_capacity", LABELS({"map", st->maps[i].name}),
			   st->maps[i].capacity);
	named_family(f, "smtpguard_errors_total", "counter",
		     "Errors counted by the BPF programs, by kind.", "kind", sg_error_names,
		     st->errors, SG_ERR__MAX);
}

static void attached(FILE *f, const char *program, const char *iface, const char *mode, int on)
{
	sample_u64(f, "smtpguard_program_attached",
		   LABELS({"program", program}, {"interface", iface}, {"mode", mode}), !!on);
}

static void program_metrics(FILE *f, const struct sg_status *st)
{
	size_t i;

	family(f, "smtpguard_program_attached", "gauge",
	       "1 when the BPF program is attached at its hook.");
	for (i = 0; i < st->n_hooks; i++)
		attached(f, st->hooks[i].name, "", "cgroup", st->hooks[i].attached);
	for (i = 0; i < st->n_ifaces; i++) {
		const struct sg_iface *fc = &st->ifaces[i];
		int xdp = fc->flags & SG_IFACE_XDP;

		attached(f, "egress", fc->name, "tc", fc->flags & SG_IFACE_TC);
		attached(f, "ingress", fc->name, xdp ? sg_xdp_mode_name(fc->xdp_mode) : "none", xdp);
	}
}

static double sender_rate(const struct sg_sender_rate *s, enum sg_window w)
{
	return s->rate[w];
}

static double sender_destinations(const struct sg_sender_rate *s, enum sg_window w)
{
	return s->destinations[w];
}

/* One sample per sender, of the __u64 at offset in struct sg_sender_rate. */
static void sender_counter(FILE *f, const struct sg_metrics *m, const char *name, const char *help,
			   size_t offset)
{
	char uid[12];
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < m->n_senders; i++) {
		const struct sg_sender_rate *s = &m->senders[i];

		snprintf(uid, sizeof(uid), "%u", s->uid);
		sample_u64(f, name, LABELS({"uid", uid}, {"user", s->user}),
			   *(const __u64 *)((const char *)s + offset));
	}
}

/* One sample per sender and window. */
static void sender_gauge(FILE *f, const struct sg_metrics *m, const char *name, const char *help,
			 double (*value)(const struct sg_sender_rate *, enum sg_window))
{
	char uid[12];
	size_t i;
	int w;

	family(f, name, "gauge", help);
	for (i = 0; i < m->n_senders; i++) {
		const struct sg_sender_rate *s = &m->senders[i];

		snprintf(uid, sizeof(uid), "%u", s->uid);
		for (w = 0; w < SG_WINDOWS; w++)
			sample_double(f, name,
				      LABELS({"uid", uid}, {"user", s->user},
					     {"window", sg_window_names[w]}),
				      value(s, w));
	}
}

static void sender_failed(FILE *f, const struct sg_metrics *m)
{
	static const char name[] = "smtpguard_sender_connections_failed_total";
	char uid[12];
	size_t i;

	family(f, name, "counter",
	       "The UID's connections to watched ports that failed: refused (reset) or timed "
	       "out.");
	for (i = 0; i < m->n_senders; i++) {
		const struct sg_sender_rate *s = &m->senders[i];

		snprintf(uid, sizeof(uid), "%u", s->uid);
		sample_u64(f, name, LABELS({"uid", uid}, {"user", s->user}, {"reason", "refused"}),
			   s->refused);
		sample_u64(f, name, LABELS({"uid", uid}, {"user", s->user}, {"reason", "timed_out"}),
			   s->timed_out);
	}
}

static void sender_metrics(FILE *f, const struct sg_metrics *m)
{
	sender_counter(f, m, "smtpguard_sender_connections_total",
		       "connect() calls to watched ports by the UID.",
		       offsetof(struct sg_sender_rate, attempts));
	sender_counter(f, m, "smtpguard_sender_denied_total",
		       "connect() calls by the UID refused with EPERM.",
		       offsetof(struct sg_sender_rate, denied));
	sender_gauge(f, m, "smtpguard_sender_rate",
		     "connect() calls per second by the UID, averaged over the window.",
		     sender_rate);
	sender_gauge(f, m, "smtpguard_sender_destinations",
		     "Distinct destination addresses the UID connected to in the window.",
		     sender_destinations);
	sender_counter(f, m, "smtpguard_sender_connections_established_total",
		       "The UID's connections to watched ports that were established.",
		       offsetof(struct sg_sender_rate, established));
	sender_failed(f, m);
	family(f, "smtpguard_senders_omitted", "gauge",
	       "UIDs with counts that are not among the senders listed.");
	sample_u64(f, "smtpguard_senders_omitted", NO_LABELS, m->senders_omitted);
}

static void conn_metrics(FILE *f, const struct sg_conn_stats *c)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fams[] = {
		{ "smtpguard_connections_established_total",
		  "Connections to watched ports that were established (sock_ops).",
		  offsetof(struct sg_conn_stats, established) },
		{ "smtpguard_connections_refused_total",
		  "Connections to watched ports reset before they were established.",
		  offsetof(struct sg_conn_stats, refused) },
		{ "smtpguard_connections_timed_out_total",
		  "Connections to watched ports given up unanswered after a SYN retransmission.",
		  offsetof(struct sg_conn_stats, timed_out) },
		{ "smtpguard_sent_bytes_total",
		  "Payload bytes acknowledged on connections to watched ports, at their close.",
		  offsetof(struct sg_conn_stats, bytes_sent) },
	};
	size_t i;

	for (i = 0; c && i < sizeof(fams) / sizeof(fams[0]); i++) {
		family(f, fams[i].name, "counter", fams[i].help);
		sample_u64(f, fams[i].name, NO_LABELS,
			   *(const __u64 *)((const char *)c + fams[i].off));
	}
}

static void detector_metrics(FILE *f, const struct sg_metrics *m)
{
	char uid[12];
	size_t i, j;

	if (!m->n_rules)
		return;
	family(f, "smtpguard_alerts_total", "counter", "Alerts the detector raised, by rule.");
	for (i = 0; i < m->n_rules; i++)
		sample_u64(f, "smtpguard_alerts_total", LABELS({"rule", m->rule_names[i]}),
			   m->alerts[i]);
	family(f, "smtpguard_alert_active", "gauge",
	       "1 while the principal's alert for the rule is in force.");
	for (i = 0; i < m->n_active; i++) {
		snprintf(uid, sizeof(uid), "%u", m->active[i].uid);
		sample_u64(f, "smtpguard_alert_active",
			   LABELS({"uid", uid}, {"user", m->active[i].user},
				  {"rule", m->active[i].rule}),
			   1);
	}
	family(f, "smtpguard_actions_total", "counter",
	       "What the daemon did about alerts, by action and rule (alert: nothing more).");
	for (i = 0; i < m->n_actions; i++)
		for (j = 0; j < m->n_rules; j++)
			sample_u64(f, "smtpguard_actions_total",
				   LABELS({"action", m->action_names[i]},
					  {"rule", m->rule_names[j]}),
				   m->actions[i * m->n_rules + j]);
}

/* One sample per account, of the __u64 at offset in struct sg_account_metric. */
static void account_counter(FILE *f, const struct sg_mta_metrics *m, const char *name,
			    const char *help, size_t offset)
{
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, name,
			   LABELS({"principal", m->accounts[i].principal},
				  {"kind", m->accounts[i].kind}),
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
				   LABELS({"principal", a->principal}, {"kind", a->kind},
					  {"outcome", outcomes[o]}),
				   o == 0 ? a->sent : o == 1 ? a->bounced : a->deferred);
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
			   LABELS({"principal", m->accounts[i].principal},
				  {"kind", m->accounts[i].kind}, {"window", "1h"}),
			   m->accounts[i].client_ips_1h);
	family(f, "smtpguard_account_domains", "gauge",
	       "Distinct recipient domains of the principal in the last 10 minutes.");
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, "smtpguard_account_domains",
			   LABELS({"principal", m->accounts[i].principal},
				  {"kind", m->accounts[i].kind}, {"window", "10m"}),
			   m->accounts[i].domains_10m);
	family(f, "smtpguard_account_contained", "gauge",
	       "1 while the principal is contained through the mail server.");
	for (i = 0; i < m->n_accounts; i++)
		sample_u64(f, "smtpguard_account_contained",
			   LABELS({"principal", m->accounts[i].principal},
				  {"kind", m->accounts[i].kind}),
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
		family(f, t[i].name, t[i].type, t[i].help);
		sample_u64(f, t[i].name, NO_LABELS, *(const __u64 *)((const char *)m + t[i].off));
	}
	family(f, "smtpguard_campaign_host_bounce_share", "gauge",
	       "Bounced over remote deliveries of every principal in the last 10 minutes.");
	sample_double(f, "smtpguard_campaign_host_bounce_share", NO_LABELS, m->host_bounce_share);
}

static void mta_metrics(FILE *f, const struct sg_mta_metrics *m)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} totals[] = {
		{ "smtpguard_mta_auth_failures_total", "Failed logins in the MTA and Dovecot logs.",
		  offsetof(struct sg_mta_metrics, auth_failures) },
		{ "smtpguard_mta_bounces_in_total", "Null-sender messages delivered to mailboxes here.",
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
	size_t i;

	family(f, "smtpguard_mta_info", "gauge", "The mail server whose logs are followed, always 1.");
	sample_u64(f, "smtpguard_mta_info", LABELS({"mta", m->type}), 1);
	family(f, "smtpguard_mta_log_lines_total", "counter", "Lines read from the MTA's logs.");
	sample_u64(f, "smtpguard_mta_log_lines_total", NO_LABELS, m->log_lines);
	named_family(f, "smtpguard_mta_records_total", "counter",
		     "Log lines understood, by what they record.", "event", m->event_names,
		     m->records, m->n_events);
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		family(f, totals[i].name, "counter", totals[i].help);
		sample_u64(f, totals[i].name, NO_LABELS,
			   *(const __u64 *)((const char *)m + totals[i].off));
	}
	family(f, "smtpguard_mta_principals", "gauge",
	       "SASL accounts and local senders the daemon keeps counts for.");
	sample_u64(f, "smtpguard_mta_principals", NO_LABELS, m->principals);
	named_family(f, "smtpguard_evicted_total", "counter", "Entries a bounded table dropped.",
		     "table", m->dropped_names, m->dropped, m->n_dropped);
	account_metrics(f, m);
	if (m->campaign)
		campaign_metrics(f, m->campaign);
}

static void defence_metrics(FILE *f, const struct sg_defence_metrics *m)
{
	size_t i;

	named_family(f, "smtpguard_auth_failures_total", "counter",
		     "Failed logins in the MTA and Dovecot logs, each counted once, by service.",
		     "service", m->services, m->auth_failures, m->n_services);
	named_family(f, "smtpguard_bans", "gauge",
		     "Sources banned at XDP now, by why: a human, a containment or a rule.",
		     "reason", m->reasons, m->bans, m->n_reasons);
	family(f, "smtpguard_bruteforce_bans_total", "counter",
	       "Bans the daemon's brute-force and relay rules gave, by rule.");
	for (i = 0; i < m->n_reasons; i++)
		if (i >= SG_BAN_AUTH_FAILURES && i != SG_BAN_CAMPAIGN)
			sample_u64(f, "smtpguard_bruteforce_bans_total",
				   LABELS({"reason", m->reasons[i]}), m->banned[i]);
	family(f, "smtpguard_relay_messages_total", "counter",
	       "Messages relayed for clients that did not log in and are not trusted.");
	sample_u64(f, "smtpguard_relay_messages_total", NO_LABELS, m->relay_messages);
	family(f, "smtpguard_relay_alerts_total", "counter", "Open-relay alerts raised.");
	sample_u64(f, "smtpguard_relay_alerts_total", NO_LABELS, m->relay_alerts);
	family(f, "smtpguard_ban_errors_total", "counter",
	       "Bans the daemon's rules gave that could not be put in sg_bans (see the log).");
	sample_u64(f, "smtpguard_ban_errors_total", NO_LABELS, m->ban_errors);
}

static void inband_metrics(FILE *f, const struct sg_inband_metrics *m)
{
#define IB(f) offsetof(struct sg_inband_metrics, f)
	static const struct {
		const char *name, *help;
		size_t off;
	} totals[] = {
		{ "smtpguard_inband_judged_total", "Policy requests that named a mail principal.",
		  IB(judged) },
		{ "smtpguard_inband_held_budget_total", "Messages held over their principal's budget.",
		  IB(held_budget) },
		{ "smtpguard_inband_held_contained_total",
		  "Messages of contained principals answered HOLD.", IB(held_contained) },
		{ "smtpguard_inband_rejected_total",
		  "Requests of contained principals answered REJECT ([mta] contain = reject).",
		  IB(rejected) },
		{ "smtpguard_inband_bruteforce_login_total",
		  "Accounts contained for logging in from an address that failed to.", IB(condemned) },
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
		family(f, totals[i].name, "counter", totals[i].help);
		sample_u64(f, totals[i].name, NO_LABELS,
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
	family(f, "smtpguard_policy_connections", "gauge",
	       "Connections to the policy service now.");
	sample_u64(f, "smtpguard_policy_connections", NO_LABELS, p->connections);
}

int sg_metrics_render_dnsbl(FILE *f, const struct sg_dnsbl_state *s)
{
	const struct sg_dnsbl_result *r;
	int i;

	family(f, "smtpguard_dnsbl_listed", "gauge",
	       "Whether the address was on the zone's blocklist at the last lookup that answered.");
	for (i = 0; i < s->n_results; i++) {
		r = &s->results[i];
		if (r->known)
			sample_u64(f, "smtpguard_dnsbl_listed",
				   LABELS({ "zone", s->zones[r->zone] }, { "address", r->address }),
				   (__u64)r->listed);
	}
	family(f, "smtpguard_dnsbl_lookup_failures_total", "counter",
	       "Blocklist lookups that got no usable answer (timeout, SERVFAIL, REFUSED, an error "
	       "code).");
	for (i = 0; i < s->n_zones; i++)
		sample_u64(f, "smtpguard_dnsbl_lookup_failures_total", LABELS({ "zone", s->zones[i] }),
			   s->failures[i]);
	family(f, "smtpguard_dnsbl_last_check_timestamp_seconds", "gauge",
	       "When the last round of blocklist lookups ended.");
	if (s->last_check)
		sample_u64(f, "smtpguard_dnsbl_last_check_timestamp_seconds", NO_LABELS,
			   s->last_check);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

int sg_metrics_render(FILE *f, const struct sg_metrics *m)
{
	family(f, "smtpguard_build_info", "gauge", "The running smtpguard's version, always 1.");
	sample_u64(f, "smtpguard_build_info", LABELS({"version", m->version ? m->version : ""}), 1);
	status_metrics(f, m->st);
	family(f, "smtpguard_events_read_total", "counter", "Ring-buffer events the daemon read.");
	sample_u64(f, "smtpguard_events_read_total", NO_LABELS, m->events_read);
	family(f, "smtpguard_tick_seconds", "gauge",
	       "How long the daemon's last tick took to read the maps and compute the rates.");
	sample_double(f, "smtpguard_tick_seconds", NO_LABELS, m->tick_seconds);
	map_metrics(f, m->st);
	program_metrics(f, m->st);
	sender_metrics(f, m);
	conn_metrics(f, m->conn);
	detector_metrics(f, m);
	if (m->mta)
		mta_metrics(f, m->mta);
	if (m->defence)
		defence_metrics(f, m->defence);
	if (m->inband)
		inband_metrics(f, m->inband);
	if (m->policy)
		policy_metrics(f, m->policy);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
