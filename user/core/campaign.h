/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Credential stuffing: the mirror image of the per-account view. Per
 * client address, the distinct accounts that logged in from it within
 * [campaign] window, what those sessions' messages did (remote deliveries
 * sent and bounced, tied to the session through the queue id, mailstats.h)
 * and whether the address is new. An address condemns itself when it
 * logged in to at least `accounts` accounts AND (its sessions' bounce share
 * is at least `bounce_share` over `bounce_min` outcomes, OR it is new, OR
 * it was first seen within the window and at least `accounts` of them are
 * held already by a campaign verdict: the same botnet's next address,
 * whose mail is held so never bounces);
 * then every account it logged in to within the window, and every one it
 * logs in to while condemned, is to be held, and the address banned.
 * Loopback, this host's own addresses, [bruteforce] allow and [campaign]
 * webmail are never condemned, nor tracked: a webmail front end logs in
 * to every account.
 *
 * New: first seen within the window, after a whole window of watching (a
 * restart forgets the history, and an office behind a NAT address must
 * not look new then; only the bounces condemn in the first window).
 *
 * Host-wide, once a minute: the bounce share of every principal's remote
 * deliveries over the last 10 minutes and the active new senders (first
 * message within the window, by the same rule, and one in the last 10
 * minutes), each against its floor and host_factor times its own
 * baseline (an EWMA over minutes, learned while the alert is down). The
 * alert names no culprit, so it contains nobody: an alert, a metric and
 * explain.
 *
 * An account's outcomes count for the address while the account's last
 * login from it is within the window.
 *
 * Pure: no I/O, time given. Tables are bounded, the idlest going first,
 * and what they drop is counted. Functions return -errno.
 */
#ifndef SG_CAMPAIGN_H
#define SG_CAMPAIGN_H

#include <stddef.h>
#include <time.h>
#include <netinet/in.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/config.h"
#include "core/mailrec.h"
#include "core/mailstats.h"
#include "smtpguard.h"

#define SG_CAMPAIGN_MAX_ADDRS	  4096	/* addresses tracked at once */
#define SG_CAMPAIGN_ADDR_ACCOUNTS 128	/* accounts kept per address (the newest) */
#define SG_CAMPAIGN_MAX_ACCOUNTS  16384 /* principals named at once */
#define SG_CAMPAIGN_HOST_WINDOW	  600	/* the host-wide rule's: 10 minutes */

/* An address condemned, or an account to hold because of one. */
struct sg_campaign_verdict {
	int account; /* 0: the address (ban it, ban_ns 0: not); 1: principal to hold */
	__u32 addr[4];
	char ip[INET6_ADDRSTRLEN];
	char principal[SG_PRINCIPAL_MAX];
	__u32 accounts;	     /* distinct accounts of the address within the window */
	__u32 held;	     /* of them, held by a campaign verdict already */
	__u64 sent, bounced; /* its sessions' remote deliveries within the window */
	int is_new;
	__u64 ban_ns;
	time_t at;
};

/* The host-wide rule's state, at its last look. */
struct sg_campaign_host {
	__u64 sent, bounced; /* last 10 minutes */
	double bounce_share, bounce_base;
	__u32 new_senders;
	double new_base;
	int active;
	time_t raised; /* of the alert in force, or the last one; 0: never */
	double share_limit, new_limit;
};

/* Since the start. */
struct sg_campaign_totals {
	__u64 condemned;   /* addresses */
	__u64 held;	   /* account verdicts */
	__u64 host_alerts; /* host-wide alerts raised */
	__u64 exempt;	   /* logins from loopback, own, allowed or webmail addresses */
	__u64 evicted;	   /* addresses, accounts of an address, or principals dropped at a cap */
	size_t addresses, principals;
	__u32 condemned_now; /* addresses condemned and still within their time */
	struct sg_campaign_host host;
};

struct sg_campaign;

/*
 * Whether an address (IPv4 mapped) may never be condemned: the daemon and
 * the replay give host/ownaddr.h's sg_never_ban (loopback, this host's own
 * addresses, [bruteforce] allow, [campaign] webmail), which core cannot
 * call itself: it asks the host for its addresses.
 */
typedef int (*sg_campaign_exempt_fn)(const struct sg_config *c, const __u32 addr[4]);

struct sg_campaign *sg_campaign_new(time_t now, sg_campaign_exempt_fn exempt);
void sg_campaign_free(struct sg_campaign *cg);

/* What the campaign's exemption says of addr. */
int sg_campaign_exempt(const struct sg_campaign *cg, const struct sg_config *c,
		       const __u32 addr[4]);

/*
 * A login to principal id ("sasl:LOGIN") from ip (numeric) at now: a SUBMIT
 * record's, or a policy request's. Returns 1 when ip is condemned (the
 * account is held: a verdict follows), 0 when not, -EINVAL for no address.
 */
int sg_campaign_login(struct sg_campaign *cg, const struct sg_config *c, const char *ip,
		      const char *id, time_t now);

/*
 * A record of the MTA's log, after mailstats m took it: logins of SUBMIT
 * records, messages (new senders), and remote deliveries' outcomes, tied
 * to their session through the queue id.
 */
void sg_campaign_record(struct sg_campaign *cg, const struct sg_config *c,
			const struct sg_mailstats *m, const struct sg_mta_rec *r, time_t now);

/*
 * The verdicts at now, up to max into out, each once: an address's first,
 * then the accounts it used; the rest wait for the next call. Returns how
 * many.
 */
size_t sg_campaign_judge(struct sg_campaign *cg, const struct sg_config *c, time_t now,
			 struct sg_campaign_verdict *out, size_t max);

/*
 * The host-wide rule, looked at once a minute (other calls return 0):
 * 1 when raised at now, -1 when cleared, 0 no change; *h its state.
 */
int sg_campaign_host_judge(struct sg_campaign *cg, const struct sg_config *c, time_t now,
			   struct sg_campaign_host *h);

/* The principal is held by a campaign verdict: the address that condemned it into ip. */
int sg_campaign_held(const struct sg_campaign *cg, const char *id, char *ip, size_t len);

/* An address's evidence for explain (NULL when unknown or not an address). */
json_t *sg_campaign_address_json(const struct sg_campaign *cg, const struct sg_config *c,
				 const char *ip, time_t now);

/* A principal's campaign evidence for explain: held, by whom, the host-wide state. */
json_t *sg_campaign_principal_json(const struct sg_campaign *cg, const char *id);

void sg_campaign_totals(const struct sg_campaign *cg, time_t now, struct sg_campaign_totals *t);

#endif
