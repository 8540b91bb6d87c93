/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's defence of the mail server itself, once a tick:
 *   brute force  failed logins (from mailguard's records) and XDP's SYN
 *                counts to the login ports (sg_sources) through brute.h;
 *                each verdict a ban in sg_bans with its reason, logged and
 *                audited; the offenders kept in [bruteforce] state
 *   open relay   messages relayed for clients outside [relay] trusted
 *                (mailstats.h), alerted per client as the log line is
 *                read, and banned when [relay] ban is set
 * Expired bans are removed, and audited, by the daemon's sweep.
 */
#ifndef SG_DEFENCE_H
#define SG_DEFENCE_H

#include <time.h>
#include <linux/types.h>

#include "host/audit.h"
#include "core/brute.h"
#include "core/config.h"
#include "core/mailstats.h"
#include "daemon/metrics.h"
#include "core/mailrec.h"

#define SG_RELAY_CLIENTS      256 /* relaying clients remembered, the idlest going first */
#define SG_RELAY_REPORT_EVERY 60  /* seconds between two alerts about one client */

struct sg_defence {
	struct sg_brute *brute;
	const struct sg_bruteforce_cfg *bf; /* the daemon's, as of the last tick */
	const struct sg_config *cfg;	    /* the same: who is never banned (host/ownaddr.h) */
	__u64 pass_ns;			  /* CLOCK_BOOTTIME of the last read of sg_sources */
	int sources_failed, state_failed; /* each said once until it works again */
	int failures;			  /* failed logins recorded since the last verdicts */
	struct sg_relay_client {
		char ip[INET6_ADDRSTRLEN];
		__u32 addr[4];
		char rcpt[SG_MTA_ADDR_MAX]; /* the last one */
		__u64 messages, reported;
		time_t last, reported_at;
		time_t banned_until; /* its ban's end: relaying again after it bans again */
	} relays[SG_RELAY_CLIENTS];
	size_t n_relays;
	__u64 relay_messages, relay_alerts, relay_bans, ban_errors;
	/* in sg_bans, unexpired, by reason: the sweep's count (sg_census) */
	__u64 bans[SG_BAN__MAX];
	__u64 told[SG_BAN__MAX]; /* verdicts a dry run told, not bans given (daemon/dryrun.h) */
};

/* Reads the offenders file; a bad one is said, and the defence starts without it. */
int sg_defence_init(struct sg_defence *d, const struct sg_bruteforce_cfg *bf, time_t now);
void sg_defence_free(struct sg_defence *d);

/* A record from the MTA's logs, as mailguard reads it. */
void sg_defence_record(struct sg_defence *d, const struct sg_mta_rec *r, time_t now);

/* After reading the logs: the verdicts on the failures and the relays read, at once. */
void sg_defence_react(struct sg_defence *d, const struct sg_bruteforce_cfg *bf,
		      const struct sg_relay_cfg *relay, const struct sg_audit_cfg *audit,
		      struct sg_mailstats *stats, time_t now);

/* Once a tick; stats is mailguard's, for its relayed messages. */
void sg_defence_tick(struct sg_defence *d, const struct sg_bruteforce_cfg *bf,
		     const struct sg_relay_cfg *relay, const struct sg_audit_cfg *audit,
		     struct sg_mailstats *stats, time_t now);

/*
 * Whether a message relayed for r counts against its client: not from
 * [relay] trusted, nor to one of [relay] domains or under one.
 */
int sg_defence_relay_counts(const struct sg_relay_cfg *relay, const struct sg_mail_relay *r);

/* Whether x relayed since its last alert, which is SG_RELAY_REPORT_EVERY old (or none). */
int sg_defence_relay_alert_due(const struct sg_relay_client *x, time_t now);

/* Whether x's alert at now bans it too: [relay] ban set, and no ban of it standing. */
int sg_defence_relay_ban_due(const struct sg_relay_cfg *relay, const struct sg_relay_client *x,
			     time_t now);

/* The /metrics view; points into d and into tot, which must outlive m. */
void sg_defence_metrics(const struct sg_defence *d, struct sg_brute_totals *tot,
			struct sg_defence_metrics *m);

#endif
