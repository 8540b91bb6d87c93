// SPDX-License-Identifier: GPL-2.0
/*
 * Mail logs replayed through the parsers, mailstats and the detector; see
 * replay.h.
 *
 * Skipping seconds. The daemon looks at every principal with a message in
 * the last hour (sg_mailstats_each) once a second. Here such a principal
 * is looked at in second s only when its counts changed at s, when s
 * starts a minute, or while one of its alerts is active; a second in which
 * none is looked at is jumped over. That changes nothing the detector
 * decides. Between changes of a principal's counts, what its rules measure
 * by the second only falls: messages in the last minute (and the new-sender
 * rate, over a span that grows), recipient domains in 10 min, client IPs in
 * an hour. What can rise moves at the start of a minute: the per-minute
 * windows (the bounce share, bounces in) and the rate rule's limit, from
 * the baseline of the hour of the week. So no alert can be raised between
 * changes but at the start of a minute. An alert clears only when looked
 * at, every second while one is active. And the baseline learns the same:
 * what a skipped second adds is 0, and an hour is tainted only while an
 * alert is active. opts.every_second looks at every principal every
 * second, as the daemon does: the tests' reference.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/baseline.h"
#include "core/campaign.h"
#include "core/mailstats.h"
#include "util/htab.h"
#include "util/render.h"
#include "mail/logread.h"
#include "host/ownaddr.h"
#include "mail/replay.h"

#define MINUTE(t) ((((t) % 60) + 60) % 60 == 0) /* t starts a minute */

/* What a principal's windows are made of: when none moved, no window gained. */
struct counts {
	__u64 messages, recipients, sent, bounced, deferred, bounces_in, held;
	__u64 n_ips;
};

struct entry {
	char id[SG_PRINCIPAL_MAX];
	const struct sg_mail_principal *p; /* mailstats' record, when last seen */
	struct counts seen;		   /* at the last tick */
	time_t changed;			   /* the tick its counts last changed at */
	time_t first_msg, last_msg;
	int active; /* alerts active now */
	__u64 alerts;
	__u64 ips; /* distinct client IPs */
	unsigned fired_mask;
	enum sg_rule order[SG_RULES]; /* rules in order of first firing */
	int n_fired;
	struct {
		time_t at;
		double value, limit;
	} fired[SG_RULES];
};

struct replay {
	const struct sg_replay_opts *o;
	struct sg_mailstats *m;
	struct sg_baselines *bl;
	struct sg_detector *det;

	struct entry **es; /* in order of creation */
	size_t n_es, cap_es;
	struct sg_htab *index; /* struct slot by id */
	struct entry **by_p;   /* a cache on mailstats' record's address; a miss costs a lookup */
	size_t cap_by_p;
	struct sg_htab *ipset;	  /* hashes of (principal, IP) seen */
	struct sg_campaign *cg;	  /* NULL: no campaign view */
	json_t *condemned, *host; /* its verdicts and host-wide alerts, as reported */
	__u64 held;

	int started;
	int dirty;	   /* records were fed at now since its tick */
	time_t now;	   /* the second records are fed at */
	time_t first;	   /* the first time on any line */
	time_t seen;	   /* the latest time on any line */
	time_t live_until; /* sg_mailstats_each returns none from then on */
	time_t tick_at;
	/* Alerts active at the last tick, of principals it looked at: no other can clear. */
	int n_active;
	__u64 ticks, alerts, out_of_order, untimed, lines, cut;
	__u64 records[SG_MTA_EVENT_KINDS];
};

/* FNV-1a, 64 bits */
static __u64 hash_more(__u64 h, const char *s)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static __u64 hash(const char *s)
{
	return hash_more(14695981039346656037ULL, s);
}

/* --- principals' entries --------------------------------------------------- */

/* The index's entries: the entries themselves stay put in es. */
struct slot {
	const char *id; /* e's */
	struct entry *e;
};

/* id's entry; made when absent with create, else NULL. */
static struct entry *entry_of(struct replay *r, const char *id, int create)
{
	struct entry *e, **es;
	struct slot *x;
	int ret;

	x = sg_htab_find(r->index, id);
	if (x)
		return x->e;
	if (!create || strlen(id) >= SG_PRINCIPAL_MAX)
		return NULL;
	if (r->n_es == r->cap_es) {
		es = realloc(r->es, (r->cap_es ? r->cap_es * 2 : 64) * sizeof(*es));
		if (!es)
			return NULL;
		r->es = es;
		r->cap_es = r->cap_es ? r->cap_es * 2 : 64;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	ret = sg_htab_add(r->index, id, (void **)&x);
	if (ret < 0) {
		free(e);
		return NULL;
	}
	x->e = e;
	strcpy(e->id, id);
	x->id = e->id;
	e->changed = r->now;
	r->es[r->n_es++] = e;
	return e;
}

/* p's entry, made when absent: by its address when that still holds its id, else by id. */
static struct entry *entry_at(struct replay *r, const struct sg_mail_principal *p)
{
	size_t i, cap;
	struct entry *e;

	/* Twice the entries at least, a power of two: the cache's hit rate keeps up. */
	if ((r->n_es + 1) * 2 > r->cap_by_p) {
		for (cap = r->cap_by_p ? r->cap_by_p : 1024; cap < (r->n_es + 1) * 2; cap *= 2)
			;
		free(r->by_p);
		r->by_p = calloc(cap, sizeof(*r->by_p));
		if (!r->by_p) {
			r->cap_by_p = 0;
			return entry_of(r, p->id, 1);
		}
		r->cap_by_p = cap;
	}
	i = (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ULL >> 20) & (r->cap_by_p - 1);
	e = r->by_p[i];
	/* An address freed by mailstats may be a new principal's now: the id says. */
	if (e && e->p == p && !strcmp(e->id, p->id))
		return e;
	e = entry_of(r, p->id, 1);
	if (e) {
		e->p = p;
		r->by_p[i] = e;
	}
	return e;
}

/* 1 when key is new, 0 when seen before, -ENOMEM. */
static int ipset_add(struct replay *r, __u64 key)
{
	void *x;

	return sg_htab_add(r->ipset, &key, &x);
}

/* --- the clock -------------------------------------------------------------- */

static void counts_of(const struct sg_mail_principal *p, struct counts *c)
{
	memset(c, 0, sizeof(*c));
	c->messages = p->t.messages;
	c->recipients = p->t.recipients;
	c->sent = p->t.sent;
	c->bounced = p->t.bounced;
	c->deferred = p->t.deferred;
	c->bounces_in = p->t.bounces_in;
	c->held = p->t.held;
	c->n_ips = p->n_ips;
}

static int judge(struct sg_mail_principal *p, void *ctx)
{
	struct replay *r = ctx;
	struct entry *e = entry_at(r, p);
	struct sg_alert_change ch[SG_RULES];
	struct sg_observation ob;
	time_t s = r->tick_at;
	struct counts c;
	int n, i;

	if (!e)
		return -ENOMEM;
	counts_of(p, &c);
	if (memcmp(&c, &e->seen, sizeof(c))) {
		if (c.messages > e->seen.messages) {
			e->first_msg = e->first_msg ? e->first_msg : s;
			e->last_msg = s;
		}
		e->seen = c;
		e->changed = s;
	}
	if (!r->o->every_second && s != e->changed && !e->active && !MINUTE(s))
		return 0;
	sg_mailstats_observe(p, s, &ob);
	n = sg_detect_observe(r->det, p->id, &ob, r->o->th, s, ch);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (!ch[i].raised) {
			e->active--;
			continue;
		}
		e->active++;
		e->alerts++;
		r->alerts++;
		if (e->fired_mask & (1u << ch[i].rule))
			continue;
		e->fired_mask |= 1u << ch[i].rule;
		e->order[e->n_fired++] = ch[i].rule;
		e->fired[ch[i].rule].at = s;
		e->fired[ch[i].rule].value = ch[i].value;
		e->fired[ch[i].rule].limit = ch[i].limit;
	}
	r->n_active += e->active;
	return 0;
}

/* --- campaigns --------------------------------------------------------------- */

static json_t *when(time_t t);

/* A verdict into the report: an address, or an account held under its address. */
static int campaign_verdict(struct replay *r, const struct sg_campaign_verdict *v)
{
	json_t *a, *held = NULL;
	size_t i;

	if (!v->account)
		return json_array_append_new(
			r->condemned,
			json_pack("{s:s, s:o, s:I, s:I, s:I, s:b, s:[]}", "address", v->ip, "at",
				  when(v->at), "accounts", (json_int_t)v->accounts, "sent",
				  (json_int_t)v->sent, "bounced", (json_int_t)v->bounced, "new",
				  v->is_new, "held"));
	for (i = json_array_size(r->condemned); i-- > 0 && !held;) {
		a = json_array_get(r->condemned, i);
		if (!strcmp(json_string_value(json_object_get(a, "address")), v->ip))
			held = json_object_get(a, "held");
	}
	r->held++;
	return json_array_append_new(held,
				     json_pack("{s:o, s:o}", "principal",
					       sg_json_text(v->principal), "at", when(v->at)));
}

static int campaign_tick(struct replay *r, time_t s)
{
	struct sg_campaign_verdict v[64];
	struct sg_campaign_host h;
	json_t *last;
	size_t i, n;
	int change;

	if (!r->cg)
		return 0;
	while ((n = sg_campaign_judge(r->cg, r->o->config, s, v, 64)) > 0)
		for (i = 0; i < n; i++)
			if (campaign_verdict(r, &v[i]))
				return -ENOMEM;
	change = sg_campaign_host_judge(r->cg, r->o->config, s, &h);
	if (change < 0) {
		last = json_array_get(r->host, json_array_size(r->host) - 1);
		return json_object_set_new(last, "cleared", when(s)) ? -ENOMEM : 0;
	}
	if (change > 0 &&
	    json_array_append_new(r->host,
				  json_pack("{s:o, s:n, s:f, s:f, s:I, s:f}", "raised", when(s),
					    "cleared", "bounce_share", h.bounce_share,
					    "share_limit", h.share_limit, "new_senders",
					    (json_int_t)h.new_senders, "new_limit", h.new_limit)))
		return -ENOMEM;
	return 0;
}

/* The ticks of the seconds from now up to (not including) to; now becomes to. */
static int advance(struct replay *r, time_t to)
{
	time_t s;
	int ret;

	for (s = r->now; s < to; s++) {
		if (!r->o->every_second && !(s == r->now && r->dirty) && !r->n_active) {
			/* Only the start of a minute, while a principal may be looked at. */
			while (!MINUTE(s) && s < to)
				s++;
			if (s >= to || s >= r->live_until)
				break; /* nothing can change before to */
		}
		r->tick_at = s;
		r->ticks++;
		r->n_active = 0;
		ret = sg_mailstats_each(r->m, s, judge, r);
		if (!ret)
			ret = campaign_tick(r, s);
		if (ret)
			return ret;
	}
	r->now = to;
	r->dirty = 0;
	return 0;
}

/* One record at t: the seconds before it ticked first. */
static int feed(struct replay *r, const struct sg_mta_rec *rec, time_t t)
{
	char id[SG_PRINCIPAL_MAX];
	struct entry *e;
	int ret, n;

	if (!r->started) {
		r->started = 1;
		r->now = t;
		if (r->o->config && !(r->cg = sg_campaign_new(t, sg_never_ban)))
			return -ENOMEM;
	} else if (t > r->now) {
		ret = advance(r, t);
		if (ret)
			return ret;
	} else if (t < r->now) {
		r->out_of_order++;
	}
	ret = sg_mailstats_add(r->m, rec, r->now, r->o->uid_of_user);
	if (ret)
		return ret;
	if (r->cg)
		sg_campaign_record(r->cg, r->o->config, r->m, rec, r->now);
	r->dirty = 1;
	/* A principal's last activity is at most now: it leaves the each() an hour after. */
	r->live_until = r->now + 3600;
	/* mailstats keeps the newest SG_MAIL_MAX_IPS: the distinct ones are counted here. */
	if (rec->ev != SG_MEV_SUBMIT || !rec->qid[0] || !rec->login[0] || !rec->client_ip[0])
		return 0;
	n = snprintf(id, sizeof(id), SG_MAIL_SASL "%s", rec->login);
	if (n < 0 || (size_t)n >= sizeof(id))
		return 0; /* mailstats takes no such principal either */
	ret = ipset_add(r, hash_more(hash(id) * 31, rec->client_ip));
	if (ret <= 0)
		return ret;
	e = entry_of(r, id, 1);
	if (!e)
		return -ENOMEM;
	e->ips++;
	return 0;
}

/* --- reading ---------------------------------------------------------------- */

/* One file, parsed as *type until a line says otherwise (when detecting). */
static int replay_file(struct replay *r, struct sg_logread *rd, enum sg_mta_type *type,
		       json_t *files, char *err, size_t errlen)
{
	int confirmed = r->o->type != SG_MTA_NONE, cut, ret;
	__u64 lines = 0, cuts = 0, records = 0;
	struct sg_mta_rec rec;
	enum sg_mta_type d;
	enum sg_mta_event ev;
	size_t len = 0;
	time_t t;

	while ((ret = sg_logread_line(rd, &len, &cut, err, errlen)) > 0) {
		lines++;
		cuts += cut;
		if (!confirmed && (d = sg_mta_writer(rd->line, len)) != SG_MTA_NONE) {
			*type = d;
			confirmed = 1;
		}
		ev = sg_mta_parse(*type, rd->line, len, rd->ref, &rec);
		if (rec.when && !r->first)
			r->first = rec.when;
		if (rec.when > r->seen)
			r->seen = rec.when;
		if (ev == SG_MEV_NONE || (unsigned)ev > SG_MEV_HOLD)
			continue;
		r->records[ev]++;
		records++;
		t = rec.when ? rec.when : r->seen;
		if (!t) {
			r->untimed++;
			continue;
		}
		ret = feed(r, &rec, t);
		if (ret) {
			snprintf(err, errlen, "%s: %s", sg_logread_name(rd), strerror(-ret));
			return ret;
		}
	}
	r->lines += lines;
	r->cut += cuts;
	if (ret < 0)
		return ret;
	ret = json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:I, s:I}", "file", rd->name,
						     "mta", sg_mta_type_names[*type], "lines",
						     (json_int_t)lines, "cut", (json_int_t)cuts,
						     "records", (json_int_t)records));
	if (ret) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

/* --- the report ------------------------------------------------------------- */

char *sg_replay_iso(time_t t, char *buf, size_t len)
{
	char z[16];
	struct tm tm;
	size_t n;

	if (!localtime_r(&t, &tm) || !(n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)) ||
	    strftime(z, sizeof(z), "%z", &tm) != 5) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf + n, len - n, "%.3s:%s", z, z + 3);
	return buf;
}

static json_t *when(time_t t)
{
	char buf[40];

	return t ? json_string(sg_replay_iso(t, buf, sizeof(buf))) : json_null();
}

struct build {
	struct replay *r;
	json_t *list;
	int failed;
};

/* Sets key to v (taken), noting a failure. */
static void set(struct build *b, json_t *o, const char *key, json_t *v)
{
	if (!v || json_object_set_new(o, key, v))
		b->failed = 1;
}

static void push(struct build *b, json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v))
		b->failed = 1;
}

static int report_principal(struct sg_mail_principal *p, void *ctx)
{
	struct build *b = ctx;
	struct entry *e = entry_of(b->r, p->id, 0);
	json_t *o = json_object(), *rules = json_array(), *fired = json_array();
	__u64 out = p->t.sent + p->t.bounced;
	double share = out ? (double)p->t.bounced / (double)out : 0;
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	char ip[INET6_ADDRSTRLEN];
	enum sg_rule rule;
	size_t i;
	int k;

	if (!o || !rules || !fired) {
		json_decref(o);
		json_decref(rules);
		json_decref(fired);
		b->failed = 1;
		return 0;
	}
	push(b, b->list, o);
	sg_escape_id(p->id, id, sizeof(id));
	set(b, o, "principal", json_string(id));
	set(b, o, "kind", json_string(p->kind == SG_MAIL_KIND_SASL ? "sasl" : "local"));
	set(b, o, "messages", json_integer((json_int_t)p->t.messages));
	set(b, o, "recipients", json_integer((json_int_t)p->t.recipients));
	set(b, o, "sent", json_integer((json_int_t)p->t.sent));
	set(b, o, "bounced", json_integer((json_int_t)p->t.bounced));
	set(b, o, "deferred", json_integer((json_int_t)p->t.deferred));
	/* Four decimals: a share, not a float's last digits. */
	set(b, o, "bounce_share", json_real((double)(__u64)(share * 10000 + 0.5) / 10000));
	set(b, o, "client_ips", json_integer((json_int_t)(e ? e->ips : p->n_ips)));
	set(b, o, "bounces_in", json_integer((json_int_t)p->t.bounces_in));
	set(b, o, "auth_failures", json_integer((json_int_t)p->t.auth_failures));
	set(b, o, "held", json_integer((json_int_t)p->t.held));
	set(b, o, "senders", json_array());
	for (i = 0; i < p->n_senders; i++)
		push(b, json_object_get(o, "senders"), sg_json_text(p->senders[i]));
	set(b, o, "first", when(e ? e->first_msg : p->first));
	set(b, o, "last", when(e ? e->last_msg : 0));
	set(b, o, "first_alert", when(e && e->n_fired ? e->fired[e->order[0]].at : 0));
	set(b, o, "alerts", json_integer(e ? (json_int_t)e->alerts : 0));
	set(b, o, "rules", rules);
	set(b, o, "fired", fired);
	if (b->r->cg)
		set(b, o, "held_by",
		    sg_campaign_held(b->r->cg, p->id, ip, sizeof(ip)) ? json_string(ip)
								      : json_null());
	for (k = 0; e && k < e->n_fired; k++) {
		rule = e->order[k];
		push(b, rules, json_string(sg_rule_names[rule]));
		push(b, fired,
		     json_pack("{s:s, s:o, s:f, s:f}", "rule", sg_rule_names[rule], "at",
			       when(e->fired[rule].at), "value", e->fired[rule].value, "limit",
			       e->fired[rule].limit));
	}
	return 0;
}

static json_t *report(struct replay *r, json_t *files)
{
	struct build b = { r, json_array(), 0 };
	json_t *o = json_object(), *records = json_object();
	struct sg_mailstats_host h;
	int ev;

	if (!o || !records || !b.list) {
		json_decref(o);
		json_decref(records);
		json_decref(b.list);
		return NULL;
	}
	set(&b, o, "files", json_incref(files));
	set(&b, o, "lines", json_integer((json_int_t)r->lines));
	set(&b, o, "cut", json_integer((json_int_t)r->cut));
	set(&b, o, "untimed", json_integer((json_int_t)r->untimed));
	set(&b, o, "out_of_order", json_integer((json_int_t)r->out_of_order));
	sg_mailstats_host(r->m, &h);
	set(&b, o, "principals_evicted",
	    json_integer((json_int_t)(h.principals_evicted + h.principals_refused)));
	set(&b, o, "records", records);
	for (ev = SG_MEV_SUBMIT; ev <= SG_MEV_HOLD; ev++)
		set(&b, records, sg_mta_event_names[ev], json_integer((json_int_t)r->records[ev]));
	set(&b, o, "from", when(r->first));
	set(&b, o, "to", when(r->seen));
	set(&b, o, "ticks", json_integer((json_int_t)r->ticks));
	set(&b, o, "alerts", json_integer((json_int_t)r->alerts));
	set(&b, o, "principals", b.list);
	sg_mailstats_all(r->m, report_principal, &b);
	if (r->cg)
		set(&b, o, "campaign",
		    json_pack("{s:O, s:I, s:O}", "addresses", r->condemned, "held",
			      (json_int_t)r->held, "host_alerts", r->host));
	if (b.failed) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void replay_free(struct replay *r)
{
	size_t i;

	for (i = 0; i < r->n_es; i++)
		free(r->es[i]);
	free(r->es);
	sg_htab_free(r->index);
	free(r->by_p);
	sg_htab_free(r->ipset);
	sg_campaign_free(r->cg);
	json_decref(r->condemned);
	json_decref(r->host);
	sg_detector_free(r->det);
	sg_baselines_free(r->bl);
	sg_mailstats_free(r->m);
}

int sg_replay(const char *const *files, size_t n, const struct sg_replay_opts *o, json_t **out,
	      char *err, size_t errlen)
{
	struct replay r = { .o = o };
	enum sg_mta_type type = o->type;
	struct sg_logread *rds;
	json_t *done = NULL;
	size_t i;
	int ret = 0;

	*out = NULL;
	if (!n) {
		snprintf(err, errlen, "no file to replay");
		return -EINVAL;
	}
	rds = calloc(n, sizeof(*rds));
	if (!rds) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* All opened first: a missing file fails the replay before any time is spent on it. */
	for (i = 0; i < n && !ret; i++)
		ret = sg_logread_open(&rds[i], files[i], err, errlen);
	r.index = ret ? NULL
		      : sg_htab_new(SG_HTAB_STRING_REF, SG_PRINCIPAL_MAX, sizeof(struct slot), 1024,
				    0);
	r.ipset =
		r.index ? sg_htab_new(SG_HTAB_BYTES, sizeof(__u64), sizeof(__u64), 1024, 0) : NULL;
	r.m = r.ipset ? sg_mailstats_new(0) : NULL;
	for (i = 0; r.m && (int)i < o->n_mta_users; i++)
		sg_mailstats_mta_user(r.m, o->mta_users[i],
				      o->uid_of_user ? o->uid_of_user(o->mta_users[i]) : -1);
	r.bl = r.m ? sg_baselines_new() : NULL;
	r.det = r.bl ? sg_detector_new(r.bl) : NULL;
	r.condemned = json_array();
	r.host = json_array();
	done = r.det && r.condemned && r.host ? json_array() : NULL;
	if (!ret && !done) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		ret = -ENOMEM;
	}
	for (i = 0; i < n && !ret; i++)
		ret = replay_file(&r, &rds[i], &type, done, err, errlen);
	/* The last second's tick, and those after it while something could still change. */
	if (!ret && r.started) {
		ret = advance(&r, (r.seen > r.now ? r.seen : r.now) + 1);
		if (ret)
			snprintf(err, errlen, "%s", strerror(-ret));
	}
	if (!ret) {
		*out = report(&r, done);
		if (!*out) {
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			ret = -ENOMEM;
		}
	}
	for (i = 0; i < n; i++)
		sg_logread_close(&rds[i]);
	free(rds);
	json_decref(done);
	replay_free(&r);
	return ret;
}
