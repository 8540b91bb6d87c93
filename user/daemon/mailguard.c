// SPDX-License-Identifier: GPL-2.0
/* The daemon's mail-server side; see mailguard.h. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/budget.h"
#include "host/attrib.h"
#include "mail/contain.h"
#include "daemon/dryrun.h"
#include "daemon/fleetpush.h"
#include "daemon/mailcampaign.h"
#include "mail/logsource.h"
#include "daemon/mailguard.h"
#include "daemon/mailnotice.h"
#include "daemon/mailresume.h"
#include "mail/mtalog.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "util/log.h"

#define READ_BUDGET (4 << 20) /* bytes of log per call: a backlog cannot stall a tick */
#define HOLD_BATCH  256

#define JOURNAL_BUDGET 16384 /* journal entries of any kind per call, for the same reason */

static int open_journal(struct sg_mailguard *g, const struct sg_config *c)
{
	struct sg_journal_trust t;
	int ret;

	sg_journal_trust_init(&t, (const char(*)[64])c->mta.journal_users, c->mta.n_journal_users);
	ret = sg_journal_open(&g->journal, &t, c->mta.read_back);
	if (ret)
		snprintf(g->err, sizeof(g->err), "opening the journal: %s", strerror(-ret));
	return ret;
}

int sg_mailguard_init(struct sg_mailguard *g, const struct sg_config *c, struct sg_detector *det,
		      const struct sg_responder *resp, struct sg_defence *defence)
{
	struct passwd *pw;
	int i, ret;

	memset(g, 0, sizeof(*g));
	g->det = det;
	g->resp = resp;
	g->defence = defence;
	g->type = sg_mta_detect(c);
	g->cfg = c;
	g->stats = sg_mailstats_new(0);
	if (!g->stats)
		return -ENOMEM;
	ret = sg_mailcampaign_init(g, time(NULL));
	if (ret)
		return ret;
	for (i = 0; i < c->detect.n_mta_users; i++) {
		pw = getpwnam(c->detect.mta_users[i]);
		sg_mailstats_mta_user(g->stats, c->detect.mta_users[i],
				      pw ? (__s64)pw->pw_uid : -1);
	}
	if (g->type == SG_MTA_NONE)
		return 0;
	if (sg_mta_source_pick(c, g->type, g->source_why, sizeof(g->source_why)) ==
	    SG_SOURCE_JOURNAL)
		return open_journal(g, c);
	g->n_logs = sg_mta_logs(c, g->type, g->logs, SG_MAX_MTA_LOGS);
	ret = sg_mta_logs_trusted(c, g->type, (const char(*)[PATH_MAX])g->logs, g->n_logs, g->err,
				  sizeof(g->err));
	if (ret && c->mta.n_logs)
		return ret;
	if (ret) {
		/* Found, not named: the kernel side runs; the mail view waits for a source. */
		sg_warn("mta: %s", g->err);
		g->err[0] = '\0';
		g->n_logs = 0;
		return 0;
	}
	g->follow = sg_follower_new();
	if (!g->follow)
		return -ENOMEM;
	for (i = 0; i < g->n_logs; i++) {
		ret = sg_follow_add(g->follow, g->logs[i], c->mta.read_back);
		if (ret < 0)
			sg_error("mta: following %s: %s", g->logs[i], strerror(-ret));
	}
	return 0;
}

void sg_mailguard_free(struct sg_mailguard *g)
{
	sg_follower_free(g->follow);
	sg_journal_free(g->journal);
	sg_mailstats_free(g->stats);
	sg_campaign_free(g->campaign);
	g->follow = NULL;
	g->journal = NULL;
	g->stats = NULL;
	g->campaign = NULL;
}

int sg_mailguard_fd(const struct sg_mailguard *g)
{
	if (g->journal)
		return sg_journal_fd(g->journal);
	return g->follow ? sg_follower_fd(g->follow) : -1;
}

static __s64 uid_of_user(const char *user)
{
	struct passwd *pw = getpwnam(user);

	return pw ? (__s64)pw->pw_uid : -1;
}

struct read_ctx {
	struct sg_mailguard *g;
	time_t now;
};

static void on_line(int index, const char *line, size_t len, void *ctx)
{
	struct read_ctx *r = ctx;
	struct sg_mta_rec rec;

	/* Live, the clock is the time: a log's own stamps may be in another zone, or late. */
	if (sg_mta_parse(r->g->type, line, len, r->now, &rec) == SG_MEV_NONE)
		return;
	sg_mailstats_add(r->g->stats, &rec, r->now, uid_of_user);
	if (r->g->campaign)
		sg_campaign_record(r->g->campaign, r->g->cfg, r->g->stats, &rec, r->now);
	if (r->g->defence)
		sg_defence_record(r->g->defence, &rec, r->now);
}

void sg_mailguard_read(struct sg_mailguard *g, time_t now)
{
	struct read_ctx r = { g, now };
	int ret;

	if (g->journal) {
		ret = sg_journal_read(g->journal, JOURNAL_BUDGET, on_line, &r);
		if (ret < 0)
			sg_error("mta: reading the journal: %s", strerror(-ret));
		return;
	}
	if (!g->follow)
		return;
	ret = sg_follower_read(g->follow, READ_BUDGET, on_line, &r);
	if (ret < 0)
		sg_error("mta: reading the logs: %s", strerror(-ret));
}

/* --- the containment state, shared with the CLI ---------------------------- */

static int uncontain_absent(struct sg_mail_principal *p, void *state)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];

	sg_escape_id(p->id, id, sizeof(id));
	if (p->contained && !json_object_get(state, id))
		p->contained = 0;
	return 0;
}

/* Takes up releases (and containments) the state file records, when it has changed. */
static void sync_state(struct sg_mailguard *g, const struct sg_config *c, time_t now)
{
	struct stat st;
	struct stat_key k = {};
	struct sg_mail_principal *p;
	char raw[SG_PRINCIPAL_MAX];
	const char *id;
	json_t *s, *e, *rel;

	if (!stat(c->mta.contained_path, &st))
		k = (struct stat_key){ st.st_dev, st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
				       st.st_size };
	if (!memcmp(&k, &g->state_seen, sizeof(k)))
		return;
	g->state_seen = k;
	s = sg_contain_state(c);
	/* One there that does not read (cut short by a crash): not a release of everyone in it. */
	if (!s && k.ino) {
		sg_error("mta: %s does not read as a state: who is contained stays so",
			 c->mta.contained_path);
		return;
	}
	/* What the file no longer names (reset by hand) is not contained any more. */
	sg_mailstats_all(g->stats, uncontain_absent, s);
	json_object_foreach(s, id, e)
	{
		/* Keys are sg_escape_id's: a login may be any bytes. */
		p = sg_unescape_id(id, raw, sizeof(raw)) < 0
			    ? NULL
			    : sg_mailstats_principal(g->stats, raw, now);
		if (!p)
			continue;
		rel = json_object_get(e, "released");
		/* Not the fleet's (fleet.c clears contained): a human's, the fleet's too. */
		if (rel && p->contained) {
			g->releases++;
			sg_fleetpush_release(raw);
		}
		if (rel)
			p->released_until = (time_t)json_integer_value(rel) +
					    c->detect.release_grace_ns / SG_NS_PER_SEC;
		p->contained = !rel;
	}
	/* Steps a crash or a failure left, ours or the CLI's: carried on when due. */
	g->resume_at = sg_clog_state_due(s);
	json_decref(s);
}

/* --- alerts and containment ------------------------------------------------ */

struct collect {
	const char **v;
	size_t n, max;
};

static int collect_qid(const char *qid, void *ctx)
{
	struct collect *c = ctx;

	if (c->n < c->max)
		c->v[c->n++] = qid;
	return 0;
}

static void log_principal(const struct sg_mail_principal *p, char *buf, size_t len)
{
	struct passwd *pw = p->uid >= 0 ? getpwuid((uid_t)p->uid) : NULL;
	char safe[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX) + 2];

	sg_log_value(p->id, safe, sizeof(safe));
	if (pw)
		snprintf(buf, len, "principal=%s uid=%lld user=%s", safe, (long long)p->uid,
			 pw->pw_name);
	else
		snprintf(buf, len, "principal=%s", safe);
}

static struct sg_audit_entry mail_entry(const struct sg_mail_principal *p, const char *action,
					json_t *params, char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)])
{
	sg_escape_id(p->id, id, SG_ESCAPED_LEN(SG_PRINCIPAL_MAX));
	return (struct sg_audit_entry){ .actor = "daemon",
					.action = action,
					.has_uid = p->uid >= 0,
					.uid = p->uid >= 0 ? (__u32)p->uid : 0,
					.target = id,
					.params = params };
}

static void audit_mail(const struct sg_audit_cfg *audit, const char *action,
		       const struct sg_mail_principal *p, json_t *params)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct sg_audit_entry e = mail_entry(p, action, params, id);

	if (audit)
		sg_audit_write(audit, &e);
	json_decref(params);
}

static json_t *evidence(const struct sg_mail_principal *p, const struct sg_observation *o,
			const char *rule, double value, double limit)
{
	json_t *ips = json_array(), *senders = json_array();
	size_t i;

	for (i = 0; i < p->n_ips; i++)
		json_array_append_new(ips, json_string(p->ips[i].ip));
	for (i = 0; i < p->n_senders; i++)
		json_array_append_new(senders, json_string(p->senders[i]));
	return json_pack("{s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "rule", rule,
			 "value", value, "limit", limit, "messages", (json_int_t)p->t.messages,
			 "last_1m", (json_int_t)o->last_1m, "recipients",
			 (json_int_t)p->t.recipients, "bounced", (json_int_t)p->t.bounced,
			 "domains_10m", (json_int_t)o->destinations_10m, "bounces_in_1h",
			 (json_int_t)o->bounces_in_1h, "client_ips", ips, "senders", senders);
}

static void contain(struct sg_mailguard *g, const struct sg_config *c,
		    const struct sg_audit_cfg *audit, struct sg_mail_principal *p,
		    const struct sg_observation *o, const char *rule, double value, double limit,
		    time_t now)
{
	const char *qids[SG_MAIL_MAX_QIDS / 16], *ips[SG_MAIL_MAX_IPS];
	struct collect q = { qids, 0, sizeof(qids) / sizeof(qids[0]) };
	struct sg_contain_req req = { .principal = p->id, .rule = rule };
	char err[1024], who[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX) + 96];
	json_t *ev, *done = NULL, *failed;
	struct sg_audit_entry e;
	size_t i;
	int ret;

	sg_mailstats_qids(g->stats, p, collect_qid, &q);
	ev = evidence(p, o, rule, value, limit);
	json_object_set_new(ev, "queued", json_integer((json_int_t)q.n));
	/* In dry run, told once with what it would hold, and not made (daemon/dryrun.h). */
	e = mail_entry(p, "contain", ev, who);
	if (sg_dry_run_once(c, audit, &e, rule, &p->would_contain)) {
		json_decref(ev);
		return;
	}
	failed = json_array();
	for (i = 0; i < p->n_ips; i++)
		if (now - p->ips[i].last < 3600)
			ips[req.n_ips++] = p->ips[i].ip;
	req.qids = qids;
	req.n_qids = q.n;
	req.ips = ips;
	ret = sg_contain(c, g->type, &req, &done, err, sizeof(err));
	p->contained = 1;
	g->contained++;
	g->holds += q.n;
	if (ret)
		g->errors++;
	sg_mailresume_count(g, done, failed);
	log_principal(p, who, sizeof(who));
	sg_info("action contain %s rule=%s value=%.1f limit=%.1f messages=%llu "
		"held=%zu banned=%zu mta=%s%s%s",
		who, rule, value, limit, (unsigned long long)p->t.messages, q.n,
		json_array_size(json_object_get(done, "bans")), sg_mta_type_names[g->type],
		ret ? " errors: " : "", ret ? err : "");
	json_object_set(ev, "held", json_object_get(done, "held"));
	json_object_set(ev, "bans", json_object_get(done, "bans"));
	if (ret)
		json_object_set_new(ev, "errors", json_string(err));
	/* Steps left to resume: the entry is marked failed, by step. */
	json_object_set_new(ev, "failed", failed);
	sg_mailnotice_contained(g, c, p, rule, done, ev);
	audit_mail(audit, "contain", p, ev);
	json_decref(done);
	/* What the state file now says is ours already; one more entry, maybe over the cap. */
	g->state_seen = (struct stat_key){};
	g->prune_at = 0;
}

void sg_mailguard_contain(struct sg_mailguard *g, const struct sg_config *c,
			  const struct sg_audit_cfg *audit, struct sg_mail_principal *p,
			  const char *rule, double value, double limit, time_t now)
{
	struct sg_observation o;

	sg_mailstats_observe(p, now, &o);
	contain(g, c, audit, p, &o, rule, value, limit, now);
}

struct tick_ctx {
	struct sg_mailguard *g;
	const struct sg_config *c;
	const struct sg_audit_cfg *audit;
	time_t now;
};

int sg_mailguard_containing(const struct sg_mail_principal *p, const struct sg_principal *dp,
			    const struct sg_config *c, enum sg_exempt ex, time_t now)
{
	struct sg_standing s;
	struct sg_proposal want;
	char why[160];
	int i;

	sg_standing_mail(p->contained, p->released_until, now, &s);
	for (i = 0; i < SG_RULES; i++) {
		sg_proposal_mail(c->actions[i].kind, ex, &want);
		if (dp->rules[i].active &&
		    sg_decide(&s, &want, why, sizeof(why)) == SG_DECIDE_APPLY)
			return i;
	}
	return -1;
}

/* p's [override], by its name, its address or, for a local sender, its UID or user. */
static const struct sg_override *override_of(const struct sg_config *c,
					     const struct sg_mail_principal *p)
{
	char user[64];
	int named = p->uid >= 0 && p->uid <= 0xffffffffLL && sg_budget_names_user(c) &&
		    !sg_user_name_cached((__u32)p->uid, user, sizeof(user));

	return c->n_overrides ? sg_budget_override(c, p->id, named ? user : NULL) : NULL;
}

static int judge(struct sg_mail_principal *p, void *ctx)
{
	struct tick_ctx *t = ctx;
	struct sg_alert_change changes[SG_RULES];
	const struct sg_override *ov = override_of(t->c, p);
	const struct sg_principal *dp;
	enum sg_exempt ex;
	char who[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX) + 96];
	struct sg_observation o;
	const char *rule;
	int n, i;

	sg_mailstats_observe(p, t->now, &o);
	n = sg_detect_observe(t->g->det, p->id, &o, ov ? &ov->t : &t->c->detect.thresholds, t->now,
			      changes);
	for (i = 0; i < n; i++) {
		if (!changes[i].raised)
			continue;
		rule = sg_rule_names[changes[i].rule];
		t->g->alerts++;
		log_principal(p, who, sizeof(who));
		sg_info("alert %s rule=%s value=%.1f limit=%.1f messages=%llu", who, rule,
			changes[i].value, changes[i].limit, (unsigned long long)p->t.messages);
		audit_mail(t->audit, "alert", p,
			   evidence(p, &o, rule, changes[i].value, changes[i].limit));
	}
	/* A rule still holding after a release's grace contains again. */
	dp = sg_detect_get(t->g->det, p->id);
	ex = p->uid >= 0 && t->g->resp ? sg_respond_exempt(t->g->resp, t->c, (__u32)p->uid)
				       : SG_EXEMPT_NONE;
	/* An account's own override only alerts too. */
	if (ex == SG_EXEMPT_NONE && ov && ov->alert_only)
		ex = SG_EXEMPT_ALERT_ONLY;
	i = dp ? sg_mailguard_containing(p, dp, t->c, ex, t->now) : -1;
	if (i >= 0)
		contain(t->g, t->c, t->audit, p, &o, sg_rule_names[i], dp->rules[i].value,
			dp->rules[i].limit, t->now);
	return 0;
}

/* Messages a contained principal queued after its containment: held as they come. */
static void hold_pending(struct sg_mailguard *g, const struct sg_config *c)
{
	struct sg_mail_pending batch[HOLD_BATCH];
	struct sg_mail_principal *p;
	const char *v[HOLD_BATCH];
	char err[1024], who[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	size_t n, i, j, k;
	int ret;

	n = sg_mailstats_pending_hold(g->stats, batch, HOLD_BATCH);
	/* One call per principal, for the state's record of what it holds. */
	for (i = 0; i < n; i++) {
		p = batch[i].p;
		if (!p)
			continue;
		/* Released in this very tick: its messages go on their way. */
		if (!p->contained) {
			for (j = i; j < n; j++)
				if (batch[j].p == p)
					batch[j].p = NULL;
			continue;
		}
		for (k = 0, j = i; j < n; j++) {
			if (batch[j].p == p) {
				v[k++] = batch[j].qid;
				batch[j].p = NULL;
			}
		}
		ret = sg_contain_hold(c, p->id, v, k, err, sizeof(err));
		if (ret == -ENOENT)
			continue;
		if (ret) {
			g->errors++;
			g->steps_failed[SG_STEP_HOLD]++;
			sg_escape_id(p->id, who, sizeof(who));
			sg_error("mta: holding %zu message%s of %s: %s", k, k == 1 ? "" : "s", who,
				 *err ? err : strerror(-ret));
		}
		g->holds += k;
		g->state_seen = (struct stat_key){};
	}
}

void sg_mailguard_tick(struct sg_mailguard *g, const struct sg_config *c,
		       const struct sg_audit_cfg *audit, time_t now)
{
	struct tick_ctx t = { g, c, audit, now };

	if (!g->stats)
		return;
	g->cfg = c;
	sg_mailguard_read(g, now);
	sync_state(g, c, now);
	sg_mailresume_tick(g, c, audit, now);
	sg_mailstats_each(g->stats, now, judge, &t);
	sg_mailcampaign_tick(g, c, audit, now);
	hold_pending(g, c);
}

/* --- explain and top ------------------------------------------------------- */

static json_t *principal_json(struct sg_mail_principal *p, time_t now)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct sg_observation o;
	json_t *ips = json_array();
	size_t i;

	sg_escape_id(p->id, id, sizeof(id));
	sg_mailstats_observe(p, now, &o);
	for (i = 0; i < p->n_ips; i++)
		json_array_append_new(ips, json_pack("{s:s, s:I, s:I}", "ip", p->ips[i].ip, "first",
						     (json_int_t)p->ips[i].first, "last",
						     (json_int_t)p->ips[i].last));
	return json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
		"s:o, s:b, s:I}",
		"principal", id, "kind", p->kind == SG_MAIL_KIND_SASL ? "sasl" : "local", "uid",
		(json_int_t)p->uid, "messages", (json_int_t)p->t.messages, "last_1m",
		(json_int_t)o.last_1m, "recipients", (json_int_t)p->t.recipients, "sent",
		(json_int_t)p->t.sent, "bounced", (json_int_t)p->t.bounced, "deferred",
		(json_int_t)p->t.deferred, "bounces_in", (json_int_t)p->t.bounces_in,
		"auth_failures", (json_int_t)p->t.auth_failures, "domains_10m",
		(json_int_t)o.destinations_10m, "client_ips_1h", (json_int_t)o.client_ips_1h,
		"bounce_share",
		o.delivered_10m ? (double)o.bounced_10m / (double)o.delivered_10m : 0.0,
		"client_ips", ips, "contained", p->contained, "first", (json_int_t)p->first);
}

json_t *sg_mailguard_explain(struct sg_mailguard *g, const struct sg_config *c, const char *id,
			     time_t now)
{
	struct sg_mail_principal *p = g->stats ? sg_mailstats_get(g->stats, id) : NULL;
	const struct sg_principal *dp = sg_detect_get(g->det, id);
	json_t *v, *rules;
	int r;

	if (!p)
		return sg_mailcampaign_explain(g, c, id, now);
	v = principal_json(p, now);
	rules = json_object();
	for (r = 0; dp && rules && r < SG_RULES; r++)
		json_object_set_new(rules, sg_rule_names[r],
				    json_pack("{s:b, s:f, s:f, s:I}", "active", dp->rules[r].active,
					      "value", dp->rules[r].value, "limit",
					      dp->rules[r].limit, "raised",
					      (json_int_t)dp->rules[r].raised));
	json_object_set_new(v, "rules", rules);
	json_object_set_new(v, "mta", json_string(sg_mta_type_names[g->type]));
	json_object_set_new(v, "expected_per_min", json_real(dp ? dp->expected : -1));
	json_object_set_new(v, "new", json_boolean(dp && dp->is_new));
	if (g->campaign)
		json_object_set_new(v, "campaign", sg_campaign_principal_json(g->campaign, id));
	return v;
}

struct top_ctx {
	struct sg_mail_principal **v;
	size_t n, cap;
};

static int gather(struct sg_mail_principal *p, void *ctx)
{
	struct top_ctx *t = ctx;
	struct sg_mail_principal **v;

	if (t->n == t->cap) {
		v = realloc(t->v, (t->cap ? t->cap * 2 : 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = t->cap ? t->cap * 2 : 64;
	}
	t->v[t->n++] = p;
	return 0;
}

static int busier(const void *a, const void *b)
{
	const struct sg_mail_principal *x = *(const struct sg_mail_principal *const *)a;
	const struct sg_mail_principal *y = *(const struct sg_mail_principal *const *)b;

	return x->t.messages != y->t.messages	    ? (x->t.messages < y->t.messages ? 1 : -1)
	       : x->t.bounces_in != y->t.bounces_in ? (x->t.bounces_in < y->t.bounces_in ? 1 : -1)
						    : strcmp(x->id, y->id);
}

/* The principals active in the last hour (or contained), busiest first; free t->v. */
static void busiest(struct sg_mailguard *g, time_t now, struct top_ctx *t)
{
	if (g->stats)
		sg_mailstats_each(g->stats, now, gather, t);
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), busier);
}

json_t *sg_mailguard_top(struct sg_mailguard *g, time_t now, size_t max)
{
	struct top_ctx t = {};
	json_t *rows = json_array();
	size_t i;

	busiest(g, now, &t);
	for (i = 0; rows && i < t.n && i < max; i++)
		json_array_append_new(rows, principal_json(t.v[i], now));
	free(t.v);
	return rows;
}

/* What the bounded tables dropped: mailstats' (its queues too), then the brute-force rules'. */
static void dropped(const struct sg_mailguard *g, const struct sg_mailstats_host *h,
		    struct sg_mta_metrics *m)
{
	static const char *const names[] = {
		"mail_principals",     "mail_principals_refused",
		"mail_qids",	       "mail_holds",
		"mail_relays",	       "bruteforce_sources",
		"bruteforce_accounts", "bruteforce_offenders",
	};
	struct sg_brute_totals t = {};
	int i;

	if (g->defence && g->defence->brute)
		sg_brute_totals(g->defence->brute, &t);
	m->dropped[0] = h->principals_evicted;
	m->dropped[1] = h->principals_refused;
	m->dropped[2] = h->qids_evicted;
	m->dropped[3] = h->holds_dropped;
	m->dropped[4] = h->relays_dropped;
	for (i = 0; i < SG_BRUTE_TABLES; i++)
		m->dropped[5 + i] = t.evicted[i];
	m->dropped_names = names;
	m->n_dropped = 5 + SG_BRUTE_TABLES;
	_Static_assert(sizeof(names) / sizeof(names[0]) == 5 + SG_BRUTE_TABLES, "a name a table");
}

void sg_mailguard_metrics(struct sg_mailguard *g, time_t now, struct sg_mta_metrics *m,
			  struct sg_account_metric *rows, size_t max, __u64 *records)
{
	struct sg_mailstats_host h = {};
	struct sg_follow_stats fs;
	struct sg_journal_stats js;
	struct sg_observation o;
	struct top_ctx t = {};
	size_t i;
	int f;

	if (g->stats)
		sg_mailstats_host(g->stats, &h);
	memset(m, 0, sizeof(*m));
	m->type = sg_mta_type_names[g->type];
	for (f = 0; g->follow && f < g->n_logs; f++) {
		sg_follower_stats(g->follow, f, &fs);
		m->log_lines += fs.lines;
	}
	if (g->journal) {
		sg_journal_stats(g->journal, &js);
		m->log_lines = js.lines;
		m->lines_untrusted = js.untrusted;
	}
	memcpy(records, h.records, sizeof(h.records));
	m->event_names = sg_mta_event_names;
	m->records = records;
	m->n_events = SG_MTA_EVENT_KINDS;
	m->auth_failures = h.auth_failures;
	dropped(g, &h, m);
	m->bounces_in = h.bounces_in;
	m->alerts = g->alerts;
	m->contained = g->contained;
	m->releases = g->releases;
	m->held = g->holds;
	m->errors = g->errors;
	m->step_names = sg_contain_step_names;
	m->steps_failed = g->steps_failed;
	m->n_steps = SG_CONTAIN_STEPS;
	m->pruned_names = sg_clog_pruned_names;
	m->pruned = g->pruned;
	m->n_pruned = SG_PRUNED_KINDS;
	m->notice_outcomes = sg_notice_outcome_names;
	m->notices = g->notices;
	m->n_notice_outcomes = SG_NOTICE_OUTCOMES;
	m->principals = h.principals;
	busiest(g, now, &t);
	for (i = 0; i < t.n && i < max; i++) {
		struct sg_mail_principal *p = t.v[i];

		sg_mailstats_observe(p, now, &o);
		rows[i] = (struct sg_account_metric){
			.kind = p->kind == SG_MAIL_KIND_SASL ? "sasl" : "local",
			.messages = p->t.messages,
			.recipients = p->t.recipients,
			.sent = p->t.sent,
			.bounced = p->t.bounced,
			.deferred = p->t.deferred,
			.bounces_in = p->t.bounces_in,
			.auth_failures = p->t.auth_failures,
			.client_ips_1h = o.client_ips_1h,
			.domains_10m = o.destinations_10m,
			.contained = p->contained,
		};
		snprintf(rows[i].principal, sizeof(rows[i].principal), "%s", p->id);
	}
	sg_mailcampaign_metrics(g, now);
	m->campaign = g->campaign ? &g->campaign_m : NULL;
	m->accounts = rows;
	m->n_accounts = i;
	m->accounts_omitted = t.n - i;
	free(t.v);
}
