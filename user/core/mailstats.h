/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mail server's principals, from its log records (mailrec.h): SASL
 * accounts ("sasl:LOGIN") and local senders ("local:UID", or "local:USER"
 * when Exim names a user that has no UID here). Queue ids tie a message's
 * lines together: who submitted it, its sender, its outcomes. Per
 * principal, over sliding windows:
 *
 *   messages    submitted (one per queue id), the rate rules' unit
 *   recipients  final outcomes (sent or bounced), one per recipient
 *   domains     distinct recipient domains in 10 min (the destinations rule)
 *   outcomes    remote deliveries sent, bounced (5.x.x) and deferred, 10 min
 *   client IPs  distinct addresses that logged in to the account in 1 h
 *   bounces in  null-sender messages delivered into the mailbox of the
 *               same address in 1 h (a mailbox counts as the account of
 *               its address, as hosting logins are)
 *
 * Pure: no I/O, time given (the log line's in a replay, the clock's when
 * live). Memory is bounded: queue ids, principals and the sets have caps,
 * the oldest going first. Functions return -errno.
 */
#ifndef SG_MAILSTATS_H
#define SG_MAILSTATS_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "core/detect.h"
#include "core/mailrec.h"

#define SG_MAIL_SASL  "sasl:"
#define SG_MAIL_LOCAL "local:"
/* The policy service's local sender it could not attribute: everyone's, no user's. */
#define SG_MAIL_LOCAL_UNKNOWN SG_MAIL_LOCAL "unknown"

#define SG_MAIL_MAX_IPS	    64	  /* client IPs kept per account (the newest) */
#define SG_MAIL_MAX_DOMAINS 512	  /* recipient domains kept per principal */
#define SG_MAIL_MAX_SENDERS 8	  /* envelope senders kept per principal */
#define SG_MAIL_MAX_QIDS    65536 /* messages in flight tracked, the oldest dropped */

enum sg_mail_kind {
	SG_MAIL_KIND_SASL,
	SG_MAIL_KIND_LOCAL,
};

struct sg_mail_ip {
	char ip[SG_MTA_IP_MAX];
	time_t first, last;
};

/* Totals since the start (or since the replay's first line). */
struct sg_mail_totals {
	__u64 messages, recipients;
	__u64 sent, bounced, deferred; /* remote deliveries */
	__u64 bounces_in;	       /* null-sender messages into its mailbox */
	__u64 auth_failures;	       /* failed logins naming it */
	__u64 held;		       /* messages the MTA held or froze */
};

struct sg_mail_principal {
	char id[SG_PRINCIPAL_MAX];
	enum sg_mail_kind kind;
	struct sg_mail_totals t;
	time_t first, last; /* first and last message */
	__s64 uid;	    /* local senders: the UID when known, else -1 */
	struct sg_mail_ip ips[SG_MAIL_MAX_IPS];
	size_t n_ips;
	char senders[SG_MAIL_MAX_SENDERS][SG_MTA_ADDR_MAX];
	size_t n_senders;
	/* Windows: per second for 1 min, per minute for 1 h. */
	__u32 msg_s[60], msg_m[60], bounce_in_m[60];
	__u32 sent_m[60], bounced_m[60], deferred_m[60];
	time_t sec_at, min_at; /* the time the rings were last moved to */
	struct sg_mail_domain {
		__u32 hash;
		time_t last;
	} domains[SG_MAIL_MAX_DOMAINS];
	size_t n_domains;
	int contained;	       /* set by the caller: new queue ids go to pending_hold */
	time_t released_until; /* set by the caller: a human released it, leave it be */
	int would_contain;     /* set by the caller: a dry run told its containment */
};

struct sg_mailstats;

/*
 * max_principals (0: 8192): at the bound a new one takes the place of the
 * idlest that is neither contained nor a sender within the last hour,
 * else of the idlest sender; counted in principals_evicted, or in
 * principals_refused when all are contained.
 */
struct sg_mailstats *sg_mailstats_new(size_t max_principals);
void sg_mailstats_free(struct sg_mailstats *m);

/*
 * The MTA's own users ([detect] mta_users): their local submissions are the
 * MTA's failure notices (Exim's "<= <> U=Debian-exim P=local"), nobody's
 * messages. user as Exim logs it, uid as Postfix does (-1: none). At most
 * 32; -ENOSPC past them.
 */
int sg_mailstats_mta_user(struct sg_mailstats *m, const char *user, __s64 uid);

/*
 * Takes one record at now. uid_of_user resolves an Exim U= user name to a
 * UID (NULL, or -1 returned: unknown, the principal is "local:USER").
 */
int sg_mailstats_add(struct sg_mailstats *m, const struct sg_mta_rec *r, time_t now,
		     __s64 (*uid_of_user)(const char *user));

/* The detector's view of p at now (finished/failed stay 0: bounce_share is the mail rule). */
void sg_mailstats_observe(struct sg_mail_principal *p, time_t now, struct sg_observation *o);

struct sg_mail_principal *sg_mailstats_get(struct sg_mailstats *m, const char *id);

/* The principal of a full id ("sasl:..." or "local:..."), made if absent; NULL on a bad id. */
struct sg_mail_principal *sg_mailstats_principal(struct sg_mailstats *m, const char *id,
						 time_t now);

/* Every principal with a message or a bounce within the last hour of now, or contained. */
int sg_mailstats_each(struct sg_mailstats *m, time_t now,
		      int (*fn)(struct sg_mail_principal *p, void *ctx), void *ctx);

/* Every principal ever seen (a replay's report), in order of first appearance. */
int sg_mailstats_all(struct sg_mailstats *m, int (*fn)(struct sg_mail_principal *p, void *ctx),
		     void *ctx);

/* p's messages still in the queue (not yet removed), each to fn. */
int sg_mailstats_qids(const struct sg_mailstats *m, const struct sg_mail_principal *p,
		      int (*fn)(const char *qid, void *ctx), void *ctx);

/*
 * Who submitted the message of queue id qid, and from which SMTP client
 * (IPv4 mapped; all zero when none: a local submission): a delivery's
 * outcome tied to the session that sent it (core/campaign.h). NULL when
 * the id is unknown or the message nobody's (inbound).
 */
const struct sg_mail_principal *sg_mailstats_submitter(const struct sg_mailstats *m,
						       const char *qid, __u32 client[4]);

/* A message of a contained principal, queued after its containment. */
struct sg_mail_pending {
	char qid[SG_MTA_QID_MAX];
	struct sg_mail_principal *p;
};

/* Those seen since the last call, to be held: up to max into out; returns how many. */
size_t sg_mailstats_pending_hold(struct sg_mailstats *m, struct sg_mail_pending *out, size_t max);

/* Client IPs of p seen since now - window_s. */
size_t sg_mailstats_ips(const struct sg_mail_principal *p, time_t now, time_t window_s);

/*
 * A message from an SMTP client that did not log in, delivered to another
 * server for a recipient the client named (not an alias's or a forward's
 * target): relayed. Whether the client may relay ([relay] trusted) is the
 * caller's to judge.
 */
struct sg_mail_relay {
	char client_ip[SG_MTA_IP_MAX];
	__u32 client[4]; /* the same, IPv4 mapped */
	char qid[SG_MTA_QID_MAX];
	char rcpt[SG_MTA_ADDR_MAX];
	time_t when;
};

/* Those seen since the last call, once per message, oldest first: up to max into out. */
size_t sg_mailstats_relayed(struct sg_mailstats *m, struct sg_mail_relay *out, size_t max);

/* Host-wide counters, for /metrics. */
struct sg_mailstats_host {
	__u64 records[SG_MTA_EVENT_KINDS]; /* by event */
	__u64 auth_failures; /* each counted once: Dovecot's auth process's lines are left out */
	__u64 bounces_in;
	__u64 relayed, relays_dropped; /* the latter: past the queue between two calls */
	size_t principals, qids;
	/* Dropped at a bound: each table's, counted. */
	__u64 principals_evicted; /* to make room for another */
	__u64 principals_refused; /* not tracked: every one kept is contained */
	__u64 qids_evicted;	  /* the oldest message, still tracked (a lost "removed" line) */
	__u64 holds_dropped;	  /* messages of a contained one not queued for holding */
	/* The work of keeping queue ids in order: entries looked at, O(1) amortised a message. */
	__u64 qids_scanned;
};
void sg_mailstats_host(const struct sg_mailstats *m, struct sg_mailstats_host *out);

/*
 * A message of p the policy service judged before it was queued, counted
 * once by its queue id: the log's line for the same id adds nothing after
 * (nor before). Held at once if p is contained, as a logged one is. The
 * sender and, for an account, the client IP are kept as the log's are.
 * -ENOMEM when the queue id cannot be tracked.
 */
int sg_mailstats_judged(struct sg_mailstats *m, struct sg_mail_principal *p, const char *qid,
			const char *sender, const char *client_ip, time_t now);

#endif
