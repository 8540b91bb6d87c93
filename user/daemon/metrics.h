/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /metrics in the Prometheus text format 0.0.4. Pure: the daemon collects a
 * struct sg_metrics once per tick and renders it here, so a scrape reads
 * no map and the output can be tested on values made by hand.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "core/baseline.h"
#include "core/brute.h"
#include "core/config.h"
#include "daemon/anyport.h"
#include "daemon/dryrun.h"
#include "daemon/policysrv.h"
#include "mail/dnsbl.h"
#include "core/rates.h"
#include "core/subid.h"
#include "util/render.h"

struct sg_sender_rate {
	__u32 uid;
	char user[64]; /* "" when the UID has no passwd entry */
	__u64 attempts; /* connect() calls to watched ports, ever */
	__u64 denied;
	double rate[SG_WINDOWS]; /* connections per second over the window */
	__u32 destinations[SG_WINDOWS]; /* distinct destination addresses in the window */
	__u64 established, refused, timed_out; /* how its connections ended (sock_ops) */
};

/* An alert in force: one principal, one rule. */
struct sg_alert_metric {
	__u32 uid;
	char user[64];
	const char *rule;
};

/* A mail principal (SASL account or local sender) among the K busiest. */
struct sg_account_metric {
	char principal[SG_PRINCIPAL_MAX]; /* as the client sent it: the labels escape it */
	const char *kind; /* "sasl" or "local" */
	__u64 messages, recipients, sent, bounced, deferred, bounces_in, auth_failures;
	__u32 client_ips_1h, domains_10m;
	int contained;
};

/* Credential stuffing (core/campaign.h): per address, and the host-wide rule. */
struct sg_campaign_metrics {
	__u64 condemned, held, host_alerts, evicted;
	__u64 addresses; /* tracked now */
	__u64 host_active, host_new_senders;
	double host_bounce_share; /* at the rule's last look */
};

/* The mail server's side, host-wide. */
struct sg_mta_metrics {
	const char *type; /* "none", "postfix", "exim" */
	__u64 log_lines;
	__u64 lines_untrusted; /* MTA-tagged journal lines from a sender not trusted */
	const char *const *event_names;
	const __u64 *records; /* [n_events], by event */
	size_t n_events;
	__u64 auth_failures, bounces_in, alerts, contained, releases, held, errors;
	/* Containment and release steps that failed, by step; state entries pruned, by why. */
	const char *const *step_names, *const *pruned_names;
	const __u64 *steps_failed, *pruned;
	size_t n_steps, n_pruned;
	/* Owners' notices of a containment, by outcome. */
	const char *const *notice_outcomes;
	const __u64 *notices;
	size_t n_notice_outcomes;
	/* What each bounded table (mailstats', the brute-force rules') dropped, by table. */
	const char *const *dropped_names;
	__u64 dropped[5 + SG_BRUTE_TABLES];
	size_t n_dropped;
	size_t principals;
	const struct sg_account_metric *accounts; /* the K busiest, busiest first */
	size_t n_accounts, accounts_omitted;
	const struct sg_campaign_metrics *campaign; /* NULL: none */
};

/* Brute-force bans and open-relay alerts (defence.h). */
struct sg_defence_metrics {
	const char *const *services; /* "smtp", "imap", ... */
	const __u64 *auth_failures; /* [n_services] */
	size_t n_services;
	const char *const *reasons; /* enum sg_ban_reason's names */
	const __u64 *bans; /* [n_reasons]: in force now */
	const __u64 *banned; /* [n_reasons]: given by the daemon's rules, ever */
	size_t n_reasons;
	__u64 relay_messages, relay_alerts, ban_errors;
	__u64 ban_protected; /* automatic bans not put: they cover the operator's networks */
};

/* The in-band judge (inband.h): policy requests and what became of them. */
struct sg_inband_metrics {
	__u64 judged;	      /* requests that named a principal */
	__u64 held_budget;    /* messages held over their principal's budget */
	__u64 held_contained; /* HOLD answers for a contained principal */
	__u64 rejected;	      /* REJECT answers for a contained principal ([mta] contain) */
	__u64 condemned;      /* accounts contained on the brute-force signature */
	__u64 released;	      /* held over budget, let go after [mta] hold_grace */
	__u64 unknown;	      /* local submissions whose owner was not found */
	__u64 unremembered;   /* held over budget with no room to remember: a human's */
	__u64 budget_evicted; /* principals dropped from the full budget table */
	__u64 errors;	      /* releases or holds through the MTA that failed */
	size_t held;	      /* held over budget now, waiting for hold_grace */
};

/* The files the daemon writes again and again, for smtpguard_write_errors_total{file}. */
enum sg_written { SG_WRITTEN_AUDIT, SG_WRITTEN_BASELINES, SG_WRITTEN__MAX };
extern const char *const sg_written_names[SG_WRITTEN__MAX]; /* "audit", "baselines" */

struct sg_metrics {
	const struct sg_status *st; /* hooks, interfaces, maps, ports, policies, errors, counters */
	const struct sg_sender_rate *senders; /* the K busiest, busiest first */
	size_t n_senders;
	size_t senders_omitted; /* UIDs with counts that are not among the K */
	__u64 events_read; /* ring-buffer events the daemon consumed */
	double tick_seconds; /* how long the last tick took to read the maps */
	__u64 events_pending; /* left in the ring buffer at the tick */
	__u64 events_unattributed, fpm_skipped; /* over the attribution budget */
	__u64 ticks;
	double tick_interval_seconds; /* from the tick before to this one */
	double turn_max_seconds;      /* the loop's longest turn */
	__u64 stalls;		      /* its turns over a second */
	/* Stale entries the daemon removed from the per-UID maps, by map; NULL: none swept. */
	const char *const *stale_names;
	const __u64 *stale_removed; /* [n_stale] */
	size_t n_stale;
	__u64 recent_evicted;	   /* UIDs whose recent processes gave way to another UID's */
	const __u64 *write_errors; /* [SG_WRITTEN__MAX], by sg_written_names */
	const char *version;

	/* The detector: raised alerts by rule, automatic actions by action and rule. */
	const char *const *rule_names;
	size_t n_rules;
	const __u64 *alerts; /* [n_rules] */
	const char *const *action_names;
	size_t n_actions;
	const __u64 *actions; /* [n_actions][n_rules] */
	const struct sg_dry_count *dry; /* would-actions of a dry run, as {dry_run="true"} */
	size_t n_dry;
	/* Throttles and blocks that could not be written, by why: [2][n_failures]. */
	const char *const *failure_names;
	size_t n_failures;
	const __u64 *failed;
	__u64 connections_cut; /* open connections the daemon's blocks cut */
	const struct sg_alert_metric *active;
	size_t n_active;
	const struct sg_conn_stats *conn; /* host totals from sock_ops; NULL: none read */
	const struct sg_mta_metrics *mta; /* NULL: none */
	const struct sg_defence_metrics *defence; /* NULL: none */
	const struct sg_inband_metrics *inband; /* NULL: none */
	const struct sg_policysrv_stats *policy;  /* NULL: no policy service */
	const __u64 *subuid_ranges; /* [SG_SUBID__MAX]: the sub-UID file's lines; NULL: none */
	const struct sg_anyport *anyport; /* NULL: not read */
};

#define SG_DNSBL_PAIRS (SG_MAX_ZONES * SG_DNSBL_HOST_ADDRS)

/* One address in one zone. */
struct sg_dnsbl_result {
	int zone; /* index into the state's zones */
	char address[INET6_ADDRSTRLEN];
	int known;   /* some lookup answered: listed is the last answer */
	int listed;  /* on the list at the last answered lookup */
	int failing; /* the last lookup failed */
};

struct sg_dnsbl_state {
	char zones[SG_MAX_ZONES][SG_DOMAIN_MAX];
	int n_zones;
	__u64 failures[SG_MAX_ZONES]; /* lookups that failed, by zone, ever */
	struct sg_dnsbl_result results[SG_DNSBL_PAIRS];
	int n_results;
	__u64 last_check; /* when the last round ended, in seconds since the epoch; 0: none yet */
};

#define SG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Writes the whole exposition to f; -EIO when f fails. */
int sg_metrics_render(FILE *f, const struct sg_metrics *m);

/*
 * smtpguard_dnsbl_listed{zone,address} (results never answered are left
 * out), smtpguard_dnsbl_lookup_failures_total{zone} and
 * smtpguard_dnsbl_last_check_timestamp_seconds. -EIO when f fails.
 */
int sg_metrics_render_dnsbl(FILE *f, const struct sg_dnsbl_state *s);


#endif
