// SPDX-License-Identifier: GPL-2.0
/*
 * The in-band judge; see inband.h. Choices made here:
 *
 * - A submission from this host that did not log in, whose connection the
 *   kernel has no owner for (the sock_ops program not attached, the entry
 *   evicted, a connection made before the programs were, or no client
 *   port in the request), is judged
 *   as the one principal "local:unknown", with a budget like any other and
 *   counted: never let through unjudged. Its messages over budget are held
 *   and let go after hold_grace, so nothing is lost.
 * - Contained and brute-forced principals are answered at every protocol
 *   state (a REJECT at RCPT spares the MTA the data); the budget is spent,
 *   and the message counted, at END-OF-MESSAGE only, when the message has
 *   its queue id and its recipient_count: RCPT comes once per recipient.
 * - Local senders the kernel view exempts (the MTA's own users, whose
 *   submissions are its failure notices, and [detect] allow) are not
 *   judged: as the log's view, which counts them as nobody's.
 * - A principal id holds any login a request carries (SG_PRINCIPAL_MAX is
 *   "sasl:" and SG_MTA_LOGIN_MAX); a longer login is cut by the parser to
 *   SG_POLICY_LOGIN_MAX - 1 bytes, as the logs' parsers cut it
 *   (core/mailrec.h): two such logins share a budget, stricter, never
 *   looser.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/budget.h"
#include "daemon/dryrun.h"
#include "daemon/inband.h"
#include "host/attrib.h"
#include "host/ownaddr.h"
#include "kern/localconn.h"
#include "mail/contain.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/render.h"
#include "sg_bucket.h"

#define HELD_MAX      65536 /* messages held over budget remembered at once */
#define RELEASE_BATCH 256
#define RELEASE_TRIES 3	  /* refused this often, a held message is a human's */
#define PENDING_MAX   256 /* condemned between two ticks */
#define RULE_BRUTE    "bruteforce_login"
#define RULE_CAMPAIGN "campaign"

/* A message held over budget, waiting for hold_grace. */
struct held {
	char principal[SG_PRINCIPAL_MAX];
	char qid[SG_MTA_QID_MAX];
	time_t when;
	int tries;	 /* releases the MTA refused so far */
	time_t retry_at; /* after a refusal: not asked again before */
};

/* A principal condemned by a request, contained at the next tick. */
struct condemned {
	char principal[SG_PRINCIPAL_MAX];
	const char *rule;
	double value, limit;
};

struct sg_inband {
	struct sg_mailguard *mail;
	struct sg_budget *budget;
	int conns_fd;	   /* sg_local_conns, or -1 */
	struct held *held; /* oldest first */
	size_t n_held;
	/*
	 * Containing runs the MTA's tools (postmap, postsuper: seconds at
	 * worst): never while a request waits, but at the tick; meanwhile its
	 * principal's requests are answered as contained.
	 */
	struct condemned pending[PENDING_MAX];
	size_t n_pending;
	struct sg_inband_metrics n;
};

struct sg_inband *sg_inband_new(struct sg_mailguard *mail, const struct sg_config *c)
{
	struct sg_inband *ib = calloc(1, sizeof(*ib));

	if (!ib)
		return NULL;
	ib->mail = mail;
	ib->conns_fd = -1;
	ib->budget = sg_budget_new(0);
	ib->held = calloc(HELD_MAX, sizeof(*ib->held));
	if (!ib->budget || !ib->held) {
		sg_inband_free(ib);
		return NULL;
	}
	return ib;
}

void sg_inband_free(struct sg_inband *ib)
{
	if (!ib)
		return;
	sg_budget_free(ib->budget);
	free(ib->held);
	free(ib);
}

void sg_inband_set_conns(struct sg_inband *ib, int map_fd)
{
	ib->conns_fd = map_fd;
}

/* Loopback, or an address of this host. */
static int from_this_host(const char *ip)
{
	struct sg_ban_key key;
	const char *why;

	return !sg_parse_cidr(ip, &key, &why) && key.prefixlen == 128 && sg_own_addr(key.addr);
}

/*
 * The request's principal into id, from what the MTA vouches for: 0, or 1
 * when it names none (mail from the internet that did not log in).
 */
static int principal_of(struct sg_inband *ib, const struct sg_policy_req *req, char *id, size_t len,
			__s64 *uid)
{
	struct sg_local_owner o;

	*uid = -1;
	if (req->sasl_username[0]) {
		snprintf(id, len, "%s%s", SG_MAIL_SASL, req->sasl_username);
		return 0;
	}
	if (req->caller_uid >= 0) {
		*uid = req->caller_uid;
	} else if (!req->client_address[0] || !from_this_host(req->client_address)) {
		return 1;
	} else if (ib->conns_fd >= 0 &&
		   !sg_localconn_owner(ib->conns_fd, req->client_address, req->client_port,
				       req->server_address, req->server_port, &o)) {
		*uid = o.uid;
	} else {
		ib->n.unknown++;
		snprintf(id, len, "%s", SG_MAIL_LOCAL_UNKNOWN);
		return 0;
	}
	snprintf(id, len, "%s%lld", SG_MAIL_LOCAL, (long long)*uid);
	return 0;
}

/*
 * The MTA's own users (its failure notices) and [detect] allow: never
 * limited per UID, nor here.
 */
static int exempt(const struct sg_inband *ib, const struct sg_config *c, __s64 uid)
{
	enum sg_exempt ex;

	if (uid < 0 || uid > 0xffffffffLL || !ib->mail->resp)
		return 0;
	ex = sg_respond_exempt(ib->mail->resp, c, (__u32)uid);
	return ex == SG_EXEMPT_MTA || ex == SG_EXEMPT_ALLOW;
}

/*
 * In dry run, the answer v (HOLD or REJECT) to id's message told at its
 * end of data (once a message, not once a recipient), and DUNNO answered
 * instead (daemon/dryrun.h): 1; else 0.
 */
static int told(const struct sg_config *c, const struct sg_audit_cfg *audit, const char *id,
		const struct sg_policy_req *req, int eom, enum sg_policy_verdict v,
		const char *rule, const char *why)
{
	char target[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], sender[SG_ESCAPED_LEN(SG_MTA_ADDR_MAX)];
	struct sg_audit_entry e = { .actor = "daemon",
				    .action = v == SG_POLICY_REJECT ? "reject" : "hold",
				    .target = target,
				    .reason = why };
	int ret;

	if (!eom)
		return c->dry_run;
	sg_escape_id(id, target, sizeof(target));
	/* The sender is what the client wrote: escaped, as every id in the audit log. */
	sg_escape_id(req->sender, sender, sizeof(sender));
	e.params = json_pack("{s:s, s:s, s:s, s:I}", "queue_id", req->queue_id, "sender", sender,
			     "client_address", req->client_address, "recipients",
			     (json_int_t)req->recipient_count);
	ret = sg_dry_run(c, audit, &e, rule);
	json_decref(e.params);
	return ret;
}

/* Counted per message: at the end of data, where RCPT (once a recipient) is not. */
static enum sg_policy_verdict contained(struct sg_inband *ib, const struct sg_config *c,
					const struct sg_audit_cfg *audit, const char *id,
					const struct sg_policy_req *req, int eom, char *why,
					size_t len)
{
	snprintf(why, len, "contained");
	if (told(c, audit, id, req, eom, c->mta.reject ? SG_POLICY_REJECT : SG_POLICY_HOLD,
		 "contained", why))
		return SG_POLICY_DUNNO;
	if (c->mta.reject) {
		ib->n.rejected += eom;
		return SG_POLICY_REJECT;
	}
	ib->n.held_contained += eom;
	return SG_POLICY_HOLD;
}

static int pending(const struct sg_inband *ib, const char *id)
{
	size_t i;

	for (i = 0; i < ib->n_pending; i++)
		if (!strcmp(ib->pending[i].principal, id))
			return 1;
	return 0;
}

/* p condemned by rule: answered as contained from now, contained at the tick. */
static void condemn(struct sg_inband *ib, const struct sg_config *c, struct sg_mail_principal *p,
		    const char *rule, double value, double limit, time_t now)
{
	struct condemned *k;

	/* Full: answered as contained all the same, and condemned again by its next request. */
	if (ib->n_pending == PENDING_MAX)
		return;
	ib->n.condemned++;
	k = &ib->pending[ib->n_pending++];
	snprintf(k->principal, sizeof(k->principal), "%s", p->id);
	k->rule = rule;
	k->value = value;
	k->limit = limit;
}

void sg_inband_contain_pending(struct sg_inband *ib, const struct sg_config *c,
			       const struct sg_audit_cfg *audit, time_t now)
{
	struct sg_mail_principal *p;
	const struct condemned *k;
	size_t i;

	for (i = 0; i < ib->n_pending; i++) {
		k = &ib->pending[i];
		p = sg_mailstats_get(ib->mail->stats, k->principal);
		if (p && !p->contained && p->released_until <= now)
			sg_mailguard_contain(ib->mail, c, audit, p, k->rule, k->value, k->limit,
					     now);
	}
	ib->n_pending = 0;
}

/*
 * The brute-force signature: the account logged in from an address that
 * failed to log in to it [bruteforce] guessed times within its window.
 * Condemned as a rule condemns, so it stays held until a human releases
 * it; not within a release's grace, nor for an account whose override only
 * alerts, nor from an address no rule may act on (this host's, a webmail
 * front end's, the operator's: host/ownaddr.h), where anyone's typos meet.
 */
static int brute_forced(struct sg_inband *ib, const struct sg_config *c,
			const struct sg_policy_req *req, struct sg_mail_principal *p, time_t now)
{
	const struct sg_defence *d = ib->mail->defence;
	char who[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX) + 2];
	const struct sg_override *o;
	struct sg_ban_key key;
	const char *why;

	if (p->kind != SG_MAIL_KIND_SASL || !d || !d->brute || p->released_until > now ||
	    sg_parse_cidr(req->client_address, &key, &why) || sg_never_ban(c, key.addr) ||
	    !sg_brute_failed_on(d->brute, &c->bruteforce, req->sasl_username, req->client_address,
				now))
		return 0;
	o = sg_budget_override(c, p->id, NULL);
	if (o && o->alert_only) {
		sg_log_value(p->id, who, sizeof(who));
		sg_info("alert principal=%s rule=%s client=%s", who, RULE_BRUTE,
			req->client_address);
		return 0;
	}
	condemn(ib, c, p, RULE_BRUTE, c->bruteforce.guessed, c->bruteforce.guessed, now);
	return 1;
}

/*
 * The login fed to the campaign view (core/campaign.h), as the log's are;
 * from an address a campaign verdict condemned, the account is contained
 * as the verdict contains it, from this message (value and limit: the
 * verdict's [campaign] accounts). Not within a release's grace, nor for an
 * account whose override only alerts.
 */
static int campaign_used(struct sg_inband *ib, const struct sg_config *c,
			 const struct sg_policy_req *req, struct sg_mail_principal *p, time_t now)
{
	const struct sg_override *o;

	if (p->kind != SG_MAIL_KIND_SASL || !ib->mail->campaign || !req->client_address[0] ||
	    sg_campaign_login(ib->mail->campaign, c, req->client_address, p->id, now) != 1 ||
	    p->released_until > now)
		return 0;
	o = sg_budget_override(c, p->id, NULL);
	if (o && o->alert_only)
		return 0;
	condemn(ib, c, p, RULE_CAMPAIGN, c->campaign.accounts, c->campaign.accounts, now);
	return 1;
}

/* The limits of id: its override's, its learned baseline's, or the first budget. */
static void limits_of(struct sg_inband *ib, const struct sg_config *c, const char *id, __s64 uid,
		      struct sg_budget_limits *lim)
{
	const struct sg_principal *dp = sg_detect_get(ib->mail->det, id);
	char user[64];
	/* A user's name only matters to an override that names one (and may ask LDAP). */
	int named = uid >= 0 && uid <= 0xffffffffLL && sg_budget_names_user(c) &&
		    !sg_user_name_cached((__u32)uid, user, sizeof(user));

	sg_budget_limits(&c->budget, dp ? dp->expected : -1,
			 sg_budget_override(c, id, named ? user : NULL), lim);
}

/* Over budget: held, and remembered to be let go after hold_grace. */
static enum sg_policy_verdict over_budget(struct sg_inband *ib, const struct sg_config *c,
					  const struct sg_audit_cfg *audit, const char *id,
					  const struct sg_policy_req *req, time_t now, char *why,
					  size_t len)
{
	struct held *h;

	snprintf(why, len, "over budget");
	/* Told, not held: nothing to let go after hold_grace. */
	if (told(c, audit, id, req, 1, SG_POLICY_HOLD, "budget", why))
		return SG_POLICY_DUNNO;
	ib->n.held_budget++;
	if (!req->queue_id[0] || ib->n_held == HELD_MAX) {
		ib->n.unremembered++;
		return SG_POLICY_HOLD;
	}
	h = &ib->held[ib->n_held++];
	*h = (struct held){ .when = now };
	snprintf(h->principal, sizeof(h->principal), "%.*s", SG_PRINCIPAL_MAX - 1, id);
	snprintf(h->qid, sizeof(h->qid), "%s", req->queue_id);
	return SG_POLICY_HOLD;
}

enum sg_policy_verdict sg_inband_judge(struct sg_inband *ib, const struct sg_config *c,
				       const struct sg_audit_cfg *audit,
				       const struct sg_policy_req *req, time_t now, __u64 now_ns,
				       char *why, size_t whylen)
{
	int eom = !strcasecmp(req->protocol_state, "END-OF-MESSAGE");
	char id[sizeof(SG_MAIL_SASL) + SG_POLICY_LOGIN_MAX];
	enum sg_policy_verdict v = SG_POLICY_DUNNO;
	struct sg_mail_principal *p;
	struct sg_budget_limits lim;
	__s64 uid;
	int held;

	snprintf(why, whylen, "not a submission");
	if (principal_of(ib, req, id, sizeof(id), &uid))
		return SG_POLICY_DUNNO;
	if (exempt(ib, c, uid)) {
		snprintf(why, whylen, "exempt");
		return SG_POLICY_DUNNO;
	}
	ib->n.judged += eom;
	/* Cut to the tables' size: see the top of the file. */
	id[SG_PRINCIPAL_MAX - 1] = '\0';
	p = sg_mailstats_principal(ib->mail->stats, id, now);
	if (p && uid >= 0)
		p->uid = uid;
	snprintf(why, whylen, "within budget");
	/* A containment a dry run told: its messages are told as held too. */
	held = p && (p->contained || (c->dry_run && p->would_contain) || pending(ib, p->id) ||
		     brute_forced(ib, c, req, p, now) || campaign_used(ib, c, req, p, now));
	if (held)
		v = contained(ib, c, audit, id, req, eom, why, whylen);
	if (!eom || v == SG_POLICY_REJECT)
		return v;
	/* A contained principal's message (held, or told in dry run) spends no budget. */
	if (!held) {
		limits_of(ib, c, id, uid, &lim);
		if (sg_budget_admit(ib->budget, id, req->recipient_count, &lim, now_ns) <= 0)
			v = over_budget(ib, c, audit, id, req, now, why, whylen);
	}
	if (p && req->queue_id[0])
		sg_mailstats_judged(ib->mail->stats, p, req->queue_id, req->sender,
				    req->client_address, now);
	return v;
}

/* --- hold_grace ----------------------------------------------------------- */

static void audit_release(const struct sg_audit_cfg *audit, const struct held *h, time_t now)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];

	/* As every audit entry names a principal: sg_escape_id's. */
	sg_escape_id(h->principal, id, sizeof(id));
	sg_audit_daemon(
		audit, "hold-grace-release", id,
		json_pack("{s:s, s:I}", "queue_id", h->qid, "held_s", (json_int_t)(now - h->when)),
		NULL, 0);
}

/* The MTA lets n held messages go: 0, or what it said into err. */
static int let_go(struct sg_inband *ib, const struct sg_config *c, const struct held *h, size_t n,
		  char *err, size_t errlen)
{
	const struct sg_mta_ops *mta = sg_mta_backend(ib->mail->type);
	const char *qids[RELEASE_BATCH];
	size_t i;

	for (i = 0; i < n; i++)
		qids[i] = h[i].qid;
	return mta && n ? mta->release_queued(c, qids, n, err, errlen) : 0;
}

/*
 * Lets batch go: each audited and counted when the MTA takes it. A refused
 * batch is tried again message by message, and a message refused is asked
 * again later and later (1 s, 2 s, 4 s... at most a minute) until another
 * hold_grace has gone by, then left held for a human: an MTA being
 * upgraded or a full disk strands no one's mail.
 */
static void release(struct sg_inband *ib, const struct sg_config *c,
		    const struct sg_audit_cfg *audit, struct held *batch, size_t n, time_t now,
		    time_t grace, size_t *kept)
{
	char err[1024] = "";
	int all = let_go(ib, c, batch, n, err, sizeof(err)), ret;
	size_t i;

	for (i = 0; i < n; i++) {
		ret = all;
		/* A refused batch: each of its messages asked on its own. */
		if (ret && n > 1)
			ret = let_go(ib, c, &batch[i], 1, err, sizeof(err));
		if (!ret) {
			audit_release(audit, &batch[i], now);
			ib->n.released++;
			continue;
		}
		ib->n.errors++;
		sg_error("mta: releasing %s held over budget: %s", batch[i].qid,
			 *err ? err : strerror(-ret));
		if (now - batch[i].when >= 2 * grace && batch[i].tries >= RELEASE_TRIES) {
			sg_error("mta: %s stays held: release it by hand", batch[i].qid);
			continue;
		}
		batch[i].retry_at = now + (batch[i].tries < 6 ? 1 << batch[i].tries : 60);
		batch[i].tries++;
		ib->held[(*kept)++] = batch[i];
	}
}

/* A held message of a principal contained since: it joins the containment. */
static int join(struct sg_inband *ib, const struct sg_config *c, const struct held *h)
{
	const char *qid = h->qid;
	char err[1024] = "";
	int ret = sg_contain_hold(c, h->principal, &qid, 1, err, sizeof(err));

	if (ret && ret != -ENOENT) {
		ib->n.errors++;
		ib->mail->steps_failed[SG_STEP_HOLD]++;
		sg_error("mta: holding %s for its containment: %s", h->qid,
			 *err ? err : strerror(-ret));
	}
	return ret != -ENOENT;
}

void sg_inband_tick(struct sg_inband *ib, const struct sg_config *c,
		    const struct sg_audit_cfg *audit, time_t now, __u64 now_ns)
{
	time_t grace = (time_t)(c->mta.hold_grace_ns / SG_NS_PER_SEC);
	struct held batch[RELEASE_BATCH];
	const struct sg_mail_principal *p;
	const struct held *h;
	size_t i, kept = 0, n = 0;

	/* First: a principal condemned since keeps its held messages. */
	sg_inband_contain_pending(ib, c, audit, now);
	for (i = 0; i < ib->n_held; i++) {
		h = &ib->held[i];
		p = sg_mailstats_get(ib->mail->stats, h->principal);
		if (p && p->contained && join(ib, c, h))
			continue;
		if (now - h->when < grace || now < h->retry_at) {
			ib->held[kept++] = *h;
			continue;
		}
		if (n == RELEASE_BATCH) {
			release(ib, c, audit, batch, n, now, grace, &kept);
			n = 0;
		}
		batch[n++] = *h;
	}
	if (n)
		release(ib, c, audit, batch, n, now, grace, &kept);
	ib->n_held = kept;
}

void sg_inband_metrics(const struct sg_inband *ib, struct sg_inband_metrics *out)
{
	*out = ib->n;
	out->budget_evicted = sg_budget_evicted(ib->budget);
	out->held = ib->n_held;
}
