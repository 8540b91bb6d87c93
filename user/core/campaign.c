// SPDX-License-Identifier: GPL-2.0
/* Credential stuffing per address, and the host-wide rule: see campaign.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/campaign.h"
#include "sg_bucket.h"
#include "util/htab.h"
#include "util/parse.h"
#include "util/render.h"

#define NEAR	   32	/* entries a new one may replace at a cap: the idlest of them */
#define QUEUE	   4096 /* verdicts waiting for judge() */
#define HOST_MINS  (SG_CAMPAIGN_HOST_WINDOW / 60)
#define HOST_LEARN 60.0 /* the host baselines' EWMA: a new minute weighs 1/60 */

/* An account that logged in from an address, and its sessions' outcomes. */
struct acct {
	__u64 h; /* of the principal's id */
	time_t last;
	__u32 sent, bounced;
};

struct address {
	__u32 addr[4];
	time_t first, last;
	time_t condemned_at, condemned_until; /* 0: never condemned */
	int dirty;			      /* a login or an outcome since the last judge */
	struct acct acc[SG_CAMPAIGN_ADDR_ACCOUNTS];
	size_t n;
};

/* The address table's entries: the addresses themselves stay put. */
struct aslot {
	__u32 addr[4];
	struct address *a;
};

struct principal {
	char id[SG_PRINCIPAL_MAX];
	__u64 h;
	time_t last; /* of anything: the idlest goes at the cap */
	time_t first_msg, last_msg;
	int held;
	__u32 by[4]; /* the address that condemned it */
	time_t held_at;
};

struct sg_campaign {
	time_t started;
	struct sg_htab *addrs; /* of struct aslot */
	struct sg_htab *ps;    /* of struct principal */
	struct sg_htab *held;  /* hashes of the principals held */
	int dirty;	       /* some address is */
	sg_campaign_exempt_fn exempt;
	struct sg_campaign_verdict *q;
	size_t q_head, q_n;
	/* Host-wide: remote deliveries per minute over HOST_MINS. */
	__u32 sent_m[HOST_MINS], bounced_m[HOST_MINS];
	time_t min_at, judged_min;
	int learned; /* the baselines have had a minute */
	struct sg_campaign_host host;
	struct sg_campaign_totals t;
};

static __u64 hash(const char *s)
{
	__u64 h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

struct sg_campaign *sg_campaign_new(time_t now, sg_campaign_exempt_fn exempt)
{
	struct sg_campaign *cg = calloc(1, sizeof(*cg));

	if (!cg)
		return NULL;
	cg->exempt = exempt;
	cg->started = now;
	cg->min_at = now / 60;
	cg->addrs = sg_htab_new(SG_HTAB_BYTES, sizeof(((struct aslot *)0)->addr),
				sizeof(struct aslot), 256, SG_CAMPAIGN_MAX_ADDRS);
	cg->ps = sg_htab_new(SG_HTAB_STRING, SG_PRINCIPAL_MAX, sizeof(struct principal), 256,
			     SG_CAMPAIGN_MAX_ACCOUNTS);
	cg->held = sg_htab_new(SG_HTAB_BYTES, sizeof(__u64), sizeof(__u64), 256,
			       SG_CAMPAIGN_MAX_ACCOUNTS);
	cg->q = calloc(QUEUE, sizeof(*cg->q));
	if (!cg->addrs || !cg->ps || !cg->held || !cg->q) {
		sg_campaign_free(cg);
		return NULL;
	}
	return cg;
}

void sg_campaign_free(struct sg_campaign *cg)
{
	struct aslot *s;
	size_t pos = 0;

	if (!cg)
		return;
	while (cg->addrs && (s = sg_htab_next(cg->addrs, &pos)))
		free(s->a);
	sg_htab_free(cg->addrs);
	sg_htab_free(cg->ps);
	sg_htab_free(cg->held);
	free(cg->q);
	free(cg);
}

int sg_campaign_exempt(const struct sg_campaign *cg, const struct sg_config *c, const __u32 addr[4])
{
	return cg->exempt(c, addr);
}

static time_t window_of(const struct sg_config *c)
{
	return (time_t)(c->campaign.window_ns / SG_NS_PER_SEC);
}

/* First seen at first, within the window of now, after a whole window of watching. */
static int is_new(const struct sg_campaign *cg, const struct sg_config *c, time_t first, time_t now)
{
	return first - cg->started >= window_of(c) && now - first < window_of(c);
}

/* --- tables ------------------------------------------------------------------ */

/* Makes room at the cap: the idlest of the entries near key, the condemned last. */
static void evict_address(struct sg_campaign *cg, const __u32 addr[4])
{
	void *near[NEAR];
	struct aslot *s, *best = NULL;
	size_t i, n = sg_htab_near(cg->addrs, addr, near, NEAR);
	__u32 key[4];

	for (i = 0; i < n; i++) {
		s = near[i];
		if (!best || (!!s->a->condemned_at < !!best->a->condemned_at) ||
		    (!!s->a->condemned_at == !!best->a->condemned_at && s->a->last < best->a->last))
			best = s;
	}
	if (!best)
		return;
	memcpy(key, best->addr, sizeof(key));
	free(best->a);
	sg_htab_delete(cg->addrs, key);
	cg->t.evicted++;
}

static struct address *address(struct sg_campaign *cg, const __u32 addr[4], time_t now)
{
	struct aslot *s = sg_htab_find(cg->addrs, addr);
	struct address *a;

	if (s)
		return s->a;
	if (sg_htab_count(cg->addrs) >= SG_CAMPAIGN_MAX_ADDRS)
		evict_address(cg, addr);
	a = calloc(1, sizeof(*a));
	if (!a || sg_htab_add(cg->addrs, addr, (void **)&s) < 0) {
		free(a);
		return NULL;
	}
	s->a = a;
	memcpy(a->addr, addr, sizeof(a->addr));
	a->first = a->last = now;
	return a;
}

static void evict_principal(struct sg_campaign *cg, const char *id)
{
	void *near[NEAR];
	struct principal *p, *best = NULL;
	size_t i, n = sg_htab_near(cg->ps, id, near, NEAR);
	char key[SG_PRINCIPAL_MAX];

	for (i = 0; i < n; i++) {
		p = near[i];
		if (!best || p->held < best->held ||
		    (p->held == best->held && p->last < best->last))
			best = p;
	}
	if (!best)
		return;
	memcpy(key, best->id, sizeof(key));
	sg_htab_delete(cg->ps, key);
	cg->t.evicted++;
}

/* id's entry, made when absent; NULL for an id too long, or ENOMEM. Valid until the next add. */
static struct principal *principal(struct sg_campaign *cg, const char *id, time_t now)
{
	struct principal *p = sg_htab_find(cg->ps, id);

	if (!p) {
		if (strlen(id) >= SG_PRINCIPAL_MAX)
			return NULL;
		if (sg_htab_count(cg->ps) >= SG_CAMPAIGN_MAX_ACCOUNTS)
			evict_principal(cg, id);
		if (sg_htab_add(cg->ps, id, (void **)&p) < 0)
			return NULL;
		p->h = hash(id);
	}
	p->last = now;
	return p;
}

static struct acct *acct_of(struct address *a, __u64 h)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->acc[i].h == h)
			return &a->acc[i];
	return NULL;
}

/* --- verdicts ---------------------------------------------------------------- */

/* a's accounts within the window into v: how many, how many held, their sessions' outcomes. */
static void tally(const struct sg_campaign *cg, const struct address *a, time_t now, time_t window,
		  struct sg_campaign_verdict *v)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		if (now - a->acc[i].last >= window)
			continue;
		v->accounts++;
		v->held += sg_htab_find(cg->held, &a->acc[i].h) != NULL;
		v->sent += a->acc[i].sent;
		v->bounced += a->acc[i].bounced;
	}
}

/* -ENOSPC, counted, when the queue is full: the caller leaves its state as it was. */
static int push(struct sg_campaign *cg, const struct sg_campaign_verdict *v)
{
	if (cg->q_n == QUEUE) {
		cg->t.evicted++;
		return -ENOSPC;
	}
	cg->q[(cg->q_head + cg->q_n++) % QUEUE] = *v;
	return 0;
}

/*
 * p held because of a (the verdict v's address part filled): queued once.
 * One the full queue refused is held at its next login from a.
 */
static void hold(struct sg_campaign *cg, struct principal *p, const struct address *a,
		 struct sg_campaign_verdict *v, time_t now)
{
	void *x;

	if (p->held)
		return;
	v->account = 1;
	snprintf(v->principal, sizeof(v->principal), "%s", p->id);
	if (push(cg, v))
		return;
	sg_htab_add(cg->held, &p->h, &x);
	p->held = 1;
	p->held_at = now;
	memcpy(p->by, a->addr, sizeof(p->by));
	cg->t.held++;
}

static void fill(const struct sg_campaign *cg, const struct sg_config *c, const struct address *a,
		 time_t now, struct sg_campaign_verdict *v)
{
	memset(v, 0, sizeof(*v));
	memcpy(v->addr, a->addr, sizeof(v->addr));
	sg_format_addr(a->addr, v->ip, sizeof(v->ip));
	tally(cg, a, now, window_of(c), v);
	v->is_new = is_new(cg, c, a->first, now);
	v->ban_ns = c->campaign.ban_ns;
	v->at = now;
}

/*
 * Held evidence counts only for an address seen for less than a window: an
 * office whose staff's accounts a botnet used goes on logging in to them.
 */
static int condemns(const struct sg_campaign_verdict *v, const struct address *a,
		    const struct sg_config *c, time_t now)
{
	__u32 need = c->campaign.accounts < SG_CAMPAIGN_ADDR_ACCOUNTS ? c->campaign.accounts
								      : SG_CAMPAIGN_ADDR_ACCOUNTS;
	__u64 out = v->sent + v->bounced;

	if (!need || v->accounts < need)
		return 0;
	return v->is_new || (v->held >= need && now - a->first < window_of(c)) ||
	       (out && out >= c->campaign.bounce_min &&
		(double)v->bounced >= c->campaign.bounce_share * (double)out);
}

/*
 * a is condemned: it, then every account it logged in to within the
 * window, in the order of a's table (nothing is added meanwhile: the
 * principals' addresses hold).
 */
static void condemn(struct sg_campaign *cg, const struct sg_config *c, struct address *a,
		    const struct sg_campaign_verdict *av, time_t now)
{
	time_t window = window_of(c), ban = (time_t)(c->campaign.ban_ns / SG_NS_PER_SEC);
	struct principal *p, *at[SG_CAMPAIGN_ADDR_ACCOUNTS] = { NULL };
	struct sg_campaign_verdict v = *av;
	struct aslot *s;
	struct acct *x;
	size_t pos = 0, i;

	/* A full queue: judged again at its next login or outcome. */
	if (push(cg, &v))
		return;
	a->condemned_at = now;
	a->condemned_until = now + (ban > window ? ban : window);
	cg->t.condemned++;
	while ((p = sg_htab_next(cg->ps, &pos)))
		if ((x = acct_of(a, p->h)) && now - x->last < window)
			at[x - a->acc] = p;
	for (i = 0; i < a->n; i++)
		if (at[i])
			hold(cg, at[i], a, &v, now);
	/* The addresses that used those accounts are judged again, on their held evidence. */
	for (pos = 0; (s = sg_htab_next(cg->addrs, &pos));)
		s->a->dirty = 1;
	cg->dirty = 1;
}

size_t sg_campaign_judge(struct sg_campaign *cg, const struct sg_config *c, time_t now,
			 struct sg_campaign_verdict *out, size_t max)
{
	struct sg_campaign_verdict v;
	struct aslot *s;
	size_t pos = 0, n;

	/* A condemnation marks every address again: judged at the next call. */
	if (cg->dirty) {
		cg->dirty = 0;
		while ((s = sg_htab_next(cg->addrs, &pos))) {
			if (!s->a->dirty)
				continue;
			s->a->dirty = 0;
			if (now < s->a->condemned_until)
				continue;
			fill(cg, c, s->a, now, &v);
			if (condemns(&v, s->a, c, now))
				condemn(cg, c, s->a, &v, now);
		}
	}
	for (n = 0; n < max && cg->q_n; n++, cg->q_n--) {
		out[n] = cg->q[cg->q_head];
		cg->q_head = (cg->q_head + 1) % QUEUE;
	}
	return n;
}

/* --- what comes in ----------------------------------------------------------- */

static int login(struct sg_campaign *cg, const struct sg_config *c, const __u32 addr[4],
		 const char *id, time_t now)
{
	struct sg_campaign_verdict v;
	struct principal *p;
	struct address *a;
	struct acct *x;
	size_t i, oldest = 0;

	if (sg_campaign_exempt(cg, c, addr)) {
		cg->t.exempt++;
		return 0;
	}
	a = address(cg, addr, now);
	p = a ? principal(cg, id, now) : NULL;
	if (!p)
		return -ENOMEM;
	a->last = now;
	a->dirty = cg->dirty = 1;
	x = acct_of(a, p->h);
	if (!x) {
		for (i = 1; i < a->n; i++)
			if (a->acc[i].last < a->acc[oldest].last)
				oldest = i;
		if (a->n == SG_CAMPAIGN_ADDR_ACCOUNTS)
			cg->t.evicted++;
		x = &a->acc[a->n < SG_CAMPAIGN_ADDR_ACCOUNTS ? a->n++ : oldest];
		*x = (struct acct){ .h = p->h };
	}
	x->last = now;
	if (now >= a->condemned_until)
		return 0;
	fill(cg, c, a, now, &v);
	hold(cg, p, a, &v, now);
	return 1;
}

/* ip as 16 bytes, IPv4 mapped; -EINVAL when it is no single address. */
static int addr_of(const char *ip, __u32 out[4])
{
	struct sg_ban_key k;
	const char *why;

	if (!*ip || strchr(ip, '/') || sg_parse_cidr(ip, &k, &why))
		return -EINVAL;
	memcpy(out, k.addr, sizeof(k.addr));
	return 0;
}

int sg_campaign_login(struct sg_campaign *cg, const struct sg_config *c, const char *ip,
		      const char *id, time_t now)
{
	__u32 addr[4];

	if (addr_of(ip, addr))
		return -EINVAL;
	return login(cg, c, addr, id, now);
}

/* Moves the host's rings to now's minute, clearing the minutes passed. */
static void host_advance(struct sg_campaign *cg, time_t now)
{
	time_t min = now / 60, m;

	for (m = cg->min_at + 1; m <= min && m <= cg->min_at + HOST_MINS; m++) {
		cg->sent_m[m % HOST_MINS] = 0;
		cg->bounced_m[m % HOST_MINS] = 0;
	}
	if (min > cg->min_at)
		cg->min_at = min;
}

static void outcome(struct sg_campaign *cg, const struct sg_config *c,
		    const struct sg_mail_principal *mp, const __u32 client[4],
		    enum sg_mta_outcome o, time_t now)
{
	static const __u32 none[4];
	struct aslot *s;
	struct acct *x;

	host_advance(cg, now);
	if (o == SG_OUT_SENT)
		cg->sent_m[cg->min_at % HOST_MINS]++;
	else
		cg->bounced_m[cg->min_at % HOST_MINS]++;
	if (!memcmp(client, none, sizeof(none)) || sg_campaign_exempt(cg, c, client))
		return;
	s = sg_htab_find(cg->addrs, client);
	x = s ? acct_of(s->a, hash(mp->id)) : NULL;
	if (!x)
		return; /* its login was dropped at a cap, or came before the daemon looked */
	if (o == SG_OUT_SENT)
		x->sent++;
	else
		x->bounced++;
	s->a->dirty = cg->dirty = 1;
}

void sg_campaign_record(struct sg_campaign *cg, const struct sg_config *c,
			const struct sg_mailstats *m, const struct sg_mta_rec *r, time_t now)
{
	const struct sg_mail_principal *mp;
	struct principal *p;
	__u32 client[4];

	if ((r->ev != SG_MEV_SUBMIT && r->ev != SG_MEV_LOCAL && r->ev != SG_MEV_DELIVERY) ||
	    !r->qid[0])
		return;
	mp = sg_mailstats_submitter(m, r->qid, client);
	if (!mp)
		return;
	if (r->ev == SG_MEV_DELIVERY) {
		if (!r->local && !r->filter &&
		    (r->outcome == SG_OUT_SENT || r->outcome == SG_OUT_BOUNCED))
			outcome(cg, c, mp, client, r->outcome, now);
		return;
	}
	/* A message: its sender's first makes it a new one. */
	p = principal(cg, mp->id, now);
	if (p) {
		p->first_msg = p->first_msg ? p->first_msg : now;
		p->last_msg = now;
	}
	if (r->ev == SG_MEV_SUBMIT && r->login[0] && addr_of(r->client_ip, client) == 0)
		login(cg, c, client, mp->id, now);
}

/* --- the host-wide rule ------------------------------------------------------ */

static __u32 new_senders(const struct sg_campaign *cg, const struct sg_config *c, time_t now)
{
	const struct principal *p;
	size_t pos = 0;
	__u32 n = 0;

	while ((p = sg_htab_next(cg->ps, &pos)))
		n += p->first_msg && is_new(cg, c, p->first_msg, now) &&
		     now - p->last_msg < SG_CAMPAIGN_HOST_WINDOW;
	return n;
}

static double max2(double a, double b)
{
	return a > b ? a : b;
}

int sg_campaign_host_judge(struct sg_campaign *cg, const struct sg_config *c, time_t now,
			   struct sg_campaign_host *out)
{
	const struct sg_campaign_cfg *cc = &c->campaign;
	struct sg_campaign_host *h = &cg->host;
	int i, cond, change = 0;

	if (now / 60 != cg->judged_min) {
		cg->judged_min = now / 60;
		host_advance(cg, now);
		h->sent = h->bounced = 0;
		for (i = 0; i < HOST_MINS; i++) {
			h->sent += cg->sent_m[i];
			h->bounced += cg->bounced_m[i];
		}
		h->bounce_share = h->sent + h->bounced
					  ? (double)h->bounced / (double)(h->sent + h->bounced)
					  : 0;
		h->new_senders = new_senders(cg, c, now);
		h->share_limit = max2(cc->host_bounce_share, cc->host_factor * h->bounce_base);
		h->new_limit = max2(cc->host_new_senders, cc->host_factor * h->new_base);
		cond = cc->host_new_senders && h->sent + h->bounced >= cc->bounce_min &&
		       h->bounce_share >= h->share_limit && h->new_senders >= h->new_limit;
		if (cond != h->active) {
			change = cond ? 1 : -1;
			h->active = cond;
			if (cond) {
				h->raised = now;
				cg->t.host_alerts++;
			}
		}
		/* Learned while quiet: a campaign never becomes the baseline. */
		if (!h->active) {
			h->bounce_base += (h->bounce_share - h->bounce_base) / HOST_LEARN;
			h->new_base += (h->new_senders - h->new_base) / HOST_LEARN;
		}
	}
	if (out)
		*out = *h;
	return change;
}

/* --- views ------------------------------------------------------------------- */

int sg_campaign_held(const struct sg_campaign *cg, const char *id, char *ip, size_t len)
{
	const struct principal *p = sg_htab_find(cg->ps, id);

	if (!p || !p->held)
		return 0;
	if (ip)
		sg_format_addr(p->by, ip, len);
	return 1;
}

json_t *sg_campaign_address_json(const struct sg_campaign *cg, const struct sg_config *c,
				 const char *ip, time_t now)
{
	const struct principal *p;
	const struct acct *x;
	struct sg_campaign_verdict v;
	struct aslot *s;
	json_t *o, *accounts;
	__u32 addr[4];
	size_t pos = 0;

	if (addr_of(ip, addr))
		return NULL;
	s = sg_htab_find(cg->addrs, addr);
	if (!s)
		return json_pack("{s:s, s:b, s:b}", "address", ip, "exempt",
				 sg_campaign_exempt(cg, c, addr), "tracked", 0);
	fill(cg, c, s->a, now, &v);
	accounts = json_array();
	while (accounts && (p = sg_htab_next(cg->ps, &pos)))
		if ((x = acct_of(s->a, p->h)) && now - x->last < window_of(c))
			json_array_append_new(accounts, sg_json_text(p->id));
	o = json_pack("{s:s, s:b, s:b, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:f, s:b, s:I, s:I, s:o}",
		      "address", v.ip, "exempt", 0, "tracked", 1, "first", (json_int_t)s->a->first,
		      "last", (json_int_t)s->a->last, "new", v.is_new, "accounts",
		      (json_int_t)v.accounts, "held", (json_int_t)v.held, "sent",
		      (json_int_t)v.sent, "bounced", (json_int_t)v.bounced, "bounce_share",
		      v.sent + v.bounced ? (double)v.bounced / (double)(v.sent + v.bounced) : 0.0,
		      "condemned", now < s->a->condemned_until, "condemned_at",
		      (json_int_t)s->a->condemned_at, "condemned_until",
		      (json_int_t)s->a->condemned_until, "logged_in", accounts);
	return o;
}

json_t *sg_campaign_principal_json(const struct sg_campaign *cg, const char *id)
{
	const struct principal *p = sg_htab_find(cg->ps, id);
	char ip[INET6_ADDRSTRLEN];
	const struct sg_campaign_host *h = &cg->host;

	return json_pack(
		"{s:b, s:o, s:I, s:{s:b, s:f, s:f, s:i, s:f, s:I}}", "held", p && p->held, "by",
		p && p->held ? json_string(sg_format_addr(p->by, ip, sizeof(ip))) : json_null(),
		"held_at", (json_int_t)(p && p->held ? p->held_at : 0), "host", "active", h->active,
		"bounce_share", h->bounce_share, "share_limit", h->share_limit, "new_senders",
		(int)h->new_senders, "new_limit", h->new_limit, "raised", (json_int_t)h->raised);
}

void sg_campaign_totals(const struct sg_campaign *cg, time_t now, struct sg_campaign_totals *t)
{
	const struct aslot *s;
	size_t pos = 0;

	*t = cg->t;
	t->addresses = sg_htab_count(cg->addrs);
	t->principals = sg_htab_count(cg->ps);
	t->evicted += sg_htab_refused(cg->addrs) + sg_htab_refused(cg->ps);
	t->condemned_now = 0;
	t->host = cg->host;
	while ((s = sg_htab_next(cg->addrs, &pos)))
		t->condemned_now += now < s->a->condemned_until;
}
