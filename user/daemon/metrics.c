// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>

#include "daemon/metrics.h"

#include "daemon/exposition.h"

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
	static const char *const reasons[] = {"block", "throttle", "no_bucket", "contended"};
	const __u64 denied[] = {st->counters[SG_CNT_DENIED_BLOCK],
				st->counters[SG_CNT_DENIED_THROTTLE],
				st->counters[SG_CNT_DENIED_NO_BUCKET],
				st->counters[SG_CNT_DENIED_CONTENDED]};
	__u64 connects = 0;
	size_t i;

	for (i = 0; i < st->n_ports; i++)
		connects += st->ports[i].v.connects;
	family_u64(f, "smtpguard_connect_attempts_total", "counter",
		   "connect() calls to watched ports seen by the cgroup hooks.", connects);
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

	family_u64(f, "smtpguard_banned_packets_total", "counter",
		   "Packets from banned addresses dropped by XDP.", st->counters[SG_CNT_BAN_DROPS]);

	family(f, "smtpguard_policies", "gauge", "Unexpired per-UID policies, by mode.");
	for (i = 0; i < 3; i++)
		sample_u64(f, "smtpguard_policies", LABELS({"mode", sg_mode_name(i)}),
			   st->policies[i]);
	family(f, "smtpguard_default_policy", "gauge",
	       "The mode of the policy for UIDs with none of their own.");
	sample_u64(f, "smtpguard_default_policy",
		   LABELS({"mode", sg_mode_name(st->default_policy.mode)}), 1);

	family_u64(f, "smtpguard_events_lost_total", "counter",
		   "Ring-buffer events dropped because the buffer was full.",
		   st->errors[SG_ERR_RINGBUF_FULL]);
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

/* Entries an LRU map pushed out: those it made less those it holds (none are deleted). */
static __u64 lru_evicted(const struct sg_status *st, const char *map, __u64 made)
{
	size_t i;

	for (i = 0; i < st->n_maps; i++)
		if (!strcmp(st->maps[i].name, map) && st->maps[i].entries >= 0)
			return made > (__u64)st->maps[i].entries ? made - st->maps[i].entries : 0;
	return 0;
}

const char *const sg_written_names[SG_WRITTEN__MAX] = { "audit", "baselines" };

/*
 * The bounded maps: entries a UID could not make over its quota, stale ones
 * removed (and the detector's principals forgotten), and those the LRU maps
 * pushed out; the daemon's files that could not be written.
 */
static void table_metrics(FILE *f, const struct sg_metrics *m)
{
	static const char *const tables[] = {"sg_flows", "sg_senders"};
	static const char *const lru[] = {SG_MAP_EGRESS, SG_MAP_SOURCES};
	const __u64 refused[] = {m->st->counters[SG_CNT_FLOW_QUOTA],
				 m->st->counters[SG_CNT_SENDER_QUOTA]};
	const __u64 evicted[] = {
		lru_evicted(m->st, SG_MAP_EGRESS, m->st->counters[SG_CNT_EGRESS_MADE]),
		lru_evicted(m->st, SG_MAP_SOURCES, m->st->counters[SG_CNT_SOURCES_MADE])};

	named_family(f, "smtpguard_quota_refused_total", "counter",
		     "New entries not made in the map because their UID had its quota of them.",
		     "table", tables, refused, sizeof(refused) / sizeof(refused[0]));
	named_family(f, "smtpguard_lru_evicted_total", "counter",
		     "Entries the LRU map pushed out to make room, as of the last tick.", "map", lru,
		     evicted, sizeof(evicted) / sizeof(evicted[0]));
	family_u64(f, "smtpguard_recent_uids_evicted_total", "counter",
		   "UIDs whose recent processes (/senders, /explain) gave way to another UID's.",
		   m->recent_evicted);
	if (m->stale_removed)
		named_family(f, "smtpguard_stale_removed_total", "counter",
			     "Entries the daemon removed from the table as stale.", "table",
			     m->stale_names, m->stale_removed, m->n_stale);
	if (m->write_errors)
		named_family(f, "smtpguard_write_errors_total", "counter",
			     "Writes of the file that failed (a full disk): what they record was "
			     "done all the same.",
			     "file", sg_written_names, m->write_errors, SG_WRITTEN__MAX);
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
	family_u64(f, "smtpguard_senders_omitted", "gauge",
		   "UIDs with counts that are not among the senders listed.", m->senders_omitted);
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
		family_u64(f, fams[i].name, "counter", fams[i].help,
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
	       "What the daemon did about alerts, by action and rule (alert: nothing more; "
	       "dry_run: told, not done).");
	for (i = 0; i < m->n_actions; i++)
		for (j = 0; j < m->n_rules; j++)
			sample_u64(f, "smtpguard_actions_total",
				   LABELS({"action", m->action_names[i]},
					  {"rule", m->rule_names[j]}),
				   m->actions[i * m->n_rules + j]);
	for (i = 0; i < m->n_dry; i++)
		sample_u64(f, "smtpguard_actions_total",
			   LABELS({"action", m->dry[i].action}, {"rule", m->dry[i].rule},
				  {"dry_run", "true"}),
			   m->dry[i].n);
	family(f, "smtpguard_actions_failed_total", "counter",
	       "Automatic throttles and blocks that could not be written (full: sg_policies had "
	       "no room), once a user until one of its is written.");
	for (i = 0; i < 2; i++)
		for (j = 0; j < m->n_failures; j++)
			sample_u64(f, "smtpguard_actions_failed_total",
				   LABELS({ "action", i ? "block" : "throttle" },
					  { "reason", m->failure_names[j] }),
				   m->failed[i * m->n_failures + j]);
	family_u64(f, "smtpguard_connections_cut_total", "counter",
		   "Open connections to watched ports the daemon's blocks destroyed.",
		   m->connections_cut);
}

static void defence_metrics(FILE *f, const struct sg_defence_metrics *m)
{
	size_t i;

	named_family(f, "smtpguard_auth_failures_total", "counter",
		     "Failed logins in the MTA and Dovecot logs, each counted once, by service.",
		     "service", m->services, m->auth_failures, m->n_services);
	named_family(f, "smtpguard_bans", "gauge",
		     "Sources banned at XDP now, by why: a human, a containment, a rule or the fleet.",
		     "reason", m->reasons, m->bans, m->n_reasons);
	family(f, "smtpguard_bruteforce_bans_total", "counter",
	       "Bans the daemon's brute-force and relay rules gave, by rule.");
	for (i = 0; i < m->n_reasons; i++)
		if (i >= SG_BAN_AUTH_FAILURES && i <= SG_BAN_RELAY)
			sample_u64(f, "smtpguard_bruteforce_bans_total",
				   LABELS({"reason", m->reasons[i]}), m->banned[i]);
	family_u64(f, "smtpguard_relay_messages_total", "counter",
		   "Messages relayed for clients that did not log in and are not trusted.",
		   m->relay_messages);
	family_u64(f, "smtpguard_relay_alerts_total", "counter", "Open-relay alerts raised.",
		   m->relay_alerts);
	family_u64(f, "smtpguard_ban_errors_total", "counter",
		   "Bans the daemon's rules gave that could not be put in sg_bans (see the log).",
		   m->ban_errors);
	family_u64(f, "smtpguard_bans_refused_total", "counter",
		   "Automatic bans not put: they cover this host's address, its gateway, loopback, "
		   "[bruteforce] allow or [campaign] webmail.",
		   m->ban_protected);
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

/* Whether a flood of events holds the loop back: ticks, their period, what waits or was skipped. */
static void loop_metrics(FILE *f, const struct sg_metrics *m)
{
	static const char *const kinds[] = {"event", "php_fpm"};
	const __u64 skipped[] = {m->events_unattributed, m->fpm_skipped};

	family_u64(f, "smtpguard_ticks_total", "counter", "Ticks the daemon has run.", m->ticks);
	family(f, "smtpguard_tick_interval_seconds", "gauge",
	       "Time from the start of the tick before to the start of the last (1 when on time).");
	sample_double(f, "smtpguard_tick_interval_seconds", NO_LABELS, m->tick_interval_seconds);
	family_u64(f, "smtpguard_events_pending", "gauge",
		   "Ring-buffer events waiting to be read at the last tick.", m->events_pending);
	family(f, "smtpguard_loop_turn_max_seconds", "gauge",
	       "The longest turn of the daemon's loop since it started, from its wakeup to its "
	       "next wait: events, the tick, scrapes, policy queries, the mail logs.");
	sample_double(f, "smtpguard_loop_turn_max_seconds", NO_LABELS, m->turn_max_seconds);
	family_u64(
		f, "smtpguard_loop_stalls_total", "counter",
		"Turns of the loop over 1 s: meanwhile no tick ran, no scrape and no policy query "
		"was answered.",
		m->stalls);
	named_family(f, "smtpguard_attribution_skipped_total", "counter",
		     "Events read but not attributed (event), and PHP-FPM workers whose script was "
		     "not asked (php_fpm), because the second's attribution budget was spent.",
		     "kind", kinds, skipped, sizeof(skipped) / sizeof(skipped[0]));
}

static void anyport_metrics(FILE *f, const struct sg_status *st, const struct sg_anyport *a)
{
	static const char *const reasons[] = { "replaced", "table_full" };
	const __u64 dropped[] = { st->counters[SG_CNT_SMTP_REPLACED],
				  st->counters[SG_CNT_SMTP_UNRECORDED] };
	char port[12];
	int i;

	family_u64(f, "smtpguard_smtp_sessions_seen_total", "counter",
		   "SMTP sessions TC egress saw open (EHLO, HELO or MAIL) to ports that are not "
		   "watched.",
		   st->counters[SG_CNT_SMTP_SEEN]);
	named_family(f, "smtpguard_smtp_sessions_dropped_total", "counter",
		     "Those not kept in sg_smtp: the UID's slot held another destination, or the "
		     "table was full.",
		     "reason", reasons, dropped, 2);
	family(f, "smtpguard_smtp_sessions", "gauge",
	       "SMTP sessions in sg_smtp (each destination's within the hour) by port not watched "
	       "when they were seen.");
	for (i = 0; i < a->n_ports; i++) {
		snprintf(port, sizeof(port), "%u", a->ports[i].port);
		sample_u64(f, "smtpguard_smtp_sessions", LABELS({ "port", port }),
			   a->ports[i].sessions);
	}
	family_u64(f, "smtpguard_smtp_ports_omitted", "gauge",
		   "Ports in sg_smtp beyond the 64 listed in smtpguard_smtp_sessions.",
		   a->ports_omitted);
}

int sg_metrics_render(FILE *f, const struct sg_metrics *m)
{
	family(f, "smtpguard_build_info", "gauge", "The running smtpguard's version, always 1.");
	sample_u64(f, "smtpguard_build_info", LABELS({"version", m->version ? m->version : ""}), 1);
	status_metrics(f, m->st);
	family_u64(f, "smtpguard_events_read_total", "counter",
		   "Ring-buffer events the daemon read.", m->events_read);
	family(f, "smtpguard_tick_seconds", "gauge",
	       "How long the daemon's last whole tick took: maps read, rates, detection, "
	       "/metrics rendered.");
	sample_double(f, "smtpguard_tick_seconds", NO_LABELS, m->tick_seconds);
	loop_metrics(f, m);
	map_metrics(f, m->st);
	table_metrics(f, m);
	program_metrics(f, m->st);
	sender_metrics(f, m);
	conn_metrics(f, m->conn);
	detector_metrics(f, m);
	if (m->mta)
		sg_metrics_render_mta(f, m->mta);
	if (m->defence)
		defence_metrics(f, m->defence);
	sg_metrics_render_inband(f, m);
	if (m->subuid_ranges)
		named_family(f, "smtpguard_subuid_ranges", "gauge",
			     "Lines of the sub-UID file at its last read: ranges policed as their "
			     "owner's (loaded), or refused, by why.",
			     "outcome", sg_subid_outcome_names, m->subuid_ranges, SG_SUBID__MAX);
	if (m->anyport)
		anyport_metrics(f, m->st, m->anyport);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
