// SPDX-License-Identifier: GPL-2.0
/* The mail server's principals from its log records; see mailstats.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mailstats.h"
#include "core/mailorder.h"
#include "core/mailwindow.h"
#include "util/htab.h"
#include "util/render.h"

#define PENDING_MAX   1024
#define RELAYS_MAX    1024 /* relayed messages between two ticks */
#define DEFAULT_MAXP  8192 /* 17 KB each */
#define MAX_MTA_USERS 32
/*
 * The insertion order of queue ids: twice the ids tracked, so that when it
 * is full at least half of it is done messages, and one pass that drops
 * them serves as many insertions as it frees (O(1) amortised at any fill).
 */
#define ORDER_MAX (2 * SG_MAIL_MAX_QIDS)

struct qid_entry {
	char qid[SG_MTA_QID_MAX];    /* the key */
	__u64 seq;		     /* of its insertion: a reused id is another message */
	struct sg_mail_principal *p; /* NULL: not a principal's (an inbound message) */
	__u64 p_serial;		     /* p's when set: its node holding another since, nobody's */
	int null_sender;
	/* From an SMTP client that did not log in: a remote delivery of it is relayed. */
	int unauth, relayed;
	__u32 client[4]; /* IPv4 mapped; all zero: no SMTP client */
};

/* The index's entry: principals are kept in a list, in order, and found through this. */
struct id_entry {
	const char *id; /* p's */
	struct sg_mail_principal *p;
};

struct sg_mailstats {
	struct sg_htab *qids; /* of struct qid_entry */
	struct qid_order {
		char qid[SG_MTA_QID_MAX];
		__u64 seq;
	} * order; /* insertion order ring, to drop the oldest */
	size_t order_head, order_n;
	__u64 seq;

	struct sg_mail_node *oldest, *newest; /* in order of first appearance */
	size_t n_ps, max_ps;
	__u64 serial;
	struct sg_htab *by_id;		/* of struct id_entry: principals by id */
	struct sg_mail_order order_out; /* which principal gives way at the bound */

	struct sg_mail_pending *pending;
	size_t n_pending;
	struct sg_mail_relay *relays;
	size_t n_relays;

	struct sg_mailstats_host host;

	struct {
		char user[SG_MTA_USER_MAX];
		__s64 uid;
	} mta_users[MAX_MTA_USERS];
	size_t n_mta_users;
};

static __u32 hash_lower(const char *s)
{
	__u32 h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s)) * 16777619u;
	return h;
}

struct sg_mailstats *sg_mailstats_new(size_t max_principals)
{
	struct sg_mailstats *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->max_ps = max_principals ? max_principals : DEFAULT_MAXP;
	m->by_id = sg_htab_new(SG_HTAB_STRING_REF, SG_PRINCIPAL_MAX, sizeof(struct id_entry), 0,
			       m->max_ps);
	m->qids = sg_htab_new(SG_HTAB_STRING, SG_MTA_QID_MAX, sizeof(struct qid_entry), 1024,
			      SG_MAIL_MAX_QIDS);
	m->order = calloc(ORDER_MAX, sizeof(*m->order));
	m->pending = calloc(PENDING_MAX, sizeof(*m->pending));
	m->relays = calloc(RELAYS_MAX, sizeof(*m->relays));
	if (!m->by_id || !m->qids || !m->order || !m->pending || !m->relays) {
		sg_mailstats_free(m);
		return NULL;
	}
	return m;
}

void sg_mailstats_free(struct sg_mailstats *m)
{
	struct sg_mail_node *n, *next;

	if (!m)
		return;
	for (n = m->oldest; n; n = next) {
		next = n->newer;
		free(n);
	}
	sg_htab_free(m->by_id);
	sg_htab_free(m->qids);
	free(m->order);
	free(m->pending);
	free(m->relays);
	free(m);
}

int sg_mailstats_mta_user(struct sg_mailstats *m, const char *user, __s64 uid)
{
	if (m->n_mta_users == MAX_MTA_USERS)
		return -ENOSPC;
	snprintf(m->mta_users[m->n_mta_users].user, SG_MTA_USER_MAX, "%s", user);
	m->mta_users[m->n_mta_users++].uid = uid;
	return 0;
}

static int mta_user(const struct sg_mailstats *m, const struct sg_mta_rec *r)
{
	size_t i;

	for (i = 0; i < m->n_mta_users; i++)
		if ((r->user[0] && !strcmp(r->user, m->mta_users[i].user)) ||
		    (r->uid >= 0 && r->uid == m->mta_users[i].uid))
			return 1;
	return 0;
}

/* --- queue ids ------------------------------------------------------------ */

/* Who submitted e's message: NULL when nobody, or when that principal has given way since. */
static struct sg_mail_principal *owner(const struct qid_entry *e)
{
	return e->p && sg_mail_node_of(e->p)->serial == e->p_serial ? e->p : NULL;
}

static int live(struct sg_mailstats *m, const struct qid_order *o)
{
	struct qid_entry *e = sg_htab_find(m->qids, o->qid);

	m->host.qids_scanned++;
	return e && e->seq == o->seq;
}

/* The oldest message still tracked goes: a lost "removed" line most likely. */
static void drop_oldest(struct sg_mailstats *m)
{
	struct qid_order *o;

	while (m->order_n) {
		o = &m->order[m->order_head];
		m->order_head = (m->order_head + 1) % ORDER_MAX;
		m->order_n--;
		if (live(m, o)) {
			sg_htab_delete(m->qids, o->qid);
			m->host.qids_evicted++;
			return;
		}
	}
}

/* Drops from the ring the messages done since (removed). */
static void compact(struct sg_mailstats *m)
{
	size_t i, n = 0, from;

	for (i = 0; i < m->order_n; i++) {
		from = (m->order_head + i) % ORDER_MAX;
		if (live(m, &m->order[from]))
			m->order[(m->order_head + n++) % ORDER_MAX] = m->order[from];
	}
	m->order_n = n;
}

static struct qid_entry *qid_add(struct sg_mailstats *m, const char *qid)
{
	struct qid_entry *e = sg_htab_find(m->qids, qid);
	size_t tail;

	if (e)
		return e;
	if (sg_htab_count(m->qids) == SG_MAIL_MAX_QIDS)
		drop_oldest(m);
	/* Fewer than SG_MAIL_MAX_QIDS of the ring's ORDER_MAX are live: half or more go. */
	if (m->order_n == ORDER_MAX)
		compact(m);
	if (sg_htab_add(m->qids, qid, (void **)&e) < 0)
		return NULL;
	tail = (m->order_head + m->order_n) % ORDER_MAX;
	snprintf(m->order[tail].qid, SG_MTA_QID_MAX, "%s", qid);
	m->order[tail].seq = ++m->seq;
	m->order_n++;
	e->seq = m->seq;
	return e;
}

/* --- principals ----------------------------------------------------------- */

struct sg_mail_principal *sg_mailstats_get(struct sg_mailstats *m, const char *id)
{
	struct id_entry *e = sg_htab_find(m->by_id, id);

	return e ? e->p : NULL;
}

/*
 * A node for one more principal: a new one, or at the bound the one that
 * gives way as mailorder.h says, counted either way. Its queue ids become
 * nobody's through its serial, renewed by the caller.
 */
static struct sg_mail_node *node_for_one_more(struct sg_mailstats *m, time_t now)
{
	struct sg_mail_node *v;

	if (m->n_ps < m->max_ps) {
		v = calloc(1, sizeof(*v));
		if (v)
			m->n_ps++;
		return v;
	}
	v = sg_mail_order_victim(&m->order_out, now);
	if (!v) {
		m->host.principals_refused++;
		return NULL;
	}
	if (v->older)
		v->older->newer = v->newer;
	else
		m->oldest = v->newer;
	if (v->newer)
		v->newer->older = v->older;
	else
		m->newest = v->older;
	sg_htab_delete(m->by_id, v->p.id);
	sg_mail_order_remove(&m->order_out, v);
	memset(v, 0, sizeof(*v));
	m->host.principals_evicted++;
	return v;
}

static struct sg_mail_principal *principal(struct sg_mailstats *m, enum sg_mail_kind kind,
					   const char *name, time_t now)
{
	char id[SG_PRINCIPAL_MAX];
	struct sg_mail_principal *p;
	struct id_entry *e;
	struct sg_mail_node *node;
	int n;

	n = snprintf(id, sizeof(id), "%s%s",
		     kind == SG_MAIL_KIND_SASL ? SG_MAIL_SASL : SG_MAIL_LOCAL, name);
	if (n < 0 || (size_t)n >= sizeof(id) || !*name)
		return NULL;
	p = sg_mailstats_get(m, id);
	if (p)
		return p;
	node = node_for_one_more(m, now);
	if (!node)
		return NULL;
	if (sg_htab_add(m->by_id, id, (void **)&e) < 0) {
		free(node);
		m->n_ps--;
		return NULL;
	}
	node->serial = ++m->serial;
	node->older = m->newest;
	if (m->newest)
		m->newest->newer = node;
	else
		m->oldest = node;
	m->newest = node;
	p = &node->p;
	sg_mail_order_add(&m->order_out, node);
	e->p = p;
	memcpy(p->id, id, (size_t)n + 1);
	e->id = p->id;
	p->kind = kind;
	p->uid = -1;
	p->sec_at = now;
	p->min_at = now / 60;
	p->last = now;
	return p;
}

struct sg_mail_principal *sg_mailstats_principal(struct sg_mailstats *m, const char *id, time_t now)
{
	if (!strncmp(id, SG_MAIL_SASL, strlen(SG_MAIL_SASL)))
		return principal(m, SG_MAIL_KIND_SASL, id + strlen(SG_MAIL_SASL), now);
	if (!strncmp(id, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL)))
		return principal(m, SG_MAIL_KIND_LOCAL, id + strlen(SG_MAIL_LOCAL), now);
	return NULL;
}

/* --- records -------------------------------------------------------------- */

static void add_ip(struct sg_mail_principal *p, const char *ip, time_t now)
{
	size_t i, oldest = 0;

	if (!*ip)
		return;
	for (i = 0; i < p->n_ips; i++) {
		if (!strcmp(p->ips[i].ip, ip)) {
			p->ips[i].last = now;
			return;
		}
		if (p->ips[i].last < p->ips[oldest].last)
			oldest = i;
	}
	i = p->n_ips < SG_MAIL_MAX_IPS ? p->n_ips++ : oldest;
	snprintf(p->ips[i].ip, sizeof(p->ips[i].ip), "%s", ip);
	p->ips[i].first = p->ips[i].last = now;
}

static void add_sender(struct sg_mail_principal *p, const char *sender)
{
	size_t i;

	if (!*sender)
		return;
	for (i = 0; i < p->n_senders; i++)
		if (!strcasecmp(p->senders[i], sender))
			return;
	if (p->n_senders == SG_MAIL_MAX_SENDERS)
		return;
	snprintf(p->senders[p->n_senders++], SG_MTA_ADDR_MAX, "%s", sender);
}

static void add_domain(struct sg_mail_principal *p, const char *rcpt, time_t now)
{
	const char *at = strrchr(rcpt, '@');
	size_t i, oldest = 0;
	__u32 h;

	if (!at || !at[1])
		return;
	h = hash_lower(at + 1);
	for (i = 0; i < p->n_domains; i++) {
		if (p->domains[i].hash == h) {
			p->domains[i].last = now;
			return;
		}
		if (p->domains[i].last < p->domains[oldest].last)
			oldest = i;
	}
	i = p->n_domains < SG_MAIL_MAX_DOMAINS ? p->n_domains++ : oldest;
	p->domains[i] = (struct sg_mail_domain){ h, now };
}

/* A new message of p: counted, and held at once if p is contained. */
static void message(struct sg_mailstats *m, struct sg_mail_principal *p, struct qid_entry *e,
		    time_t now)
{
	if (owner(e) == p)
		return; /* Exim and Postfix may both name it twice; count once */
	e->p = p;
	e->p_serial = sg_mail_node_of(p)->serial;
	sg_mail_order_sent(&m->order_out, sg_mail_node_of(p), now);
	sg_mail_advance(p, now);
	p->t.messages++;
	p->msg_s[now % 60]++;
	p->msg_m[(now / 60) % 60]++;
	if (!p->first)
		p->first = now;
	p->last = now;
	if (!p->contained)
		return;
	if (m->n_pending == PENDING_MAX) {
		m->host.holds_dropped++;
		return;
	}
	snprintf(m->pending[m->n_pending].qid, SG_MTA_QID_MAX, "%s", e->qid);
	m->pending[m->n_pending++].p = p;
}

/* Up to max of the *n queued items of size bytes at q into out, oldest first. */
static size_t drain(void *out, void *q, size_t *n, size_t max, size_t size)
{
	size_t k = *n < max ? *n : max;

	memcpy(out, q, k * size);
	memmove(q, (char *)q + k * size, (*n - k) * size);
	*n -= k;
	return k;
}

/* s as 16 bytes, IPv4 mapped; 0 when it is no address. */
static int mail_addr(const char *s, __u32 out[4])
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (inet_pton(AF_INET6, s, out) == 1)
		return 1;
	memcpy(out, mapped, sizeof(mapped));
	return inet_pton(AF_INET, s, &out[3]) == 1;
}

/* A message that did not log in, sent on to another server for a recipient the client named. */
static void relayed(struct sg_mailstats *m, struct qid_entry *e, const struct sg_mta_rec *r,
		    time_t now)
{
	struct sg_mail_relay *x;

	e->relayed = 1;
	m->host.relayed++;
	if (m->n_relays == RELAYS_MAX) {
		m->host.relays_dropped++;
		return;
	}
	x = &m->relays[m->n_relays++];
	memset(x, 0, sizeof(*x));
	memcpy(x->client, e->client, sizeof(x->client));
	sg_format_addr(e->client, x->client_ip, sizeof(x->client_ip));
	snprintf(x->qid, sizeof(x->qid), "%s", e->qid);
	snprintf(x->rcpt, sizeof(x->rcpt), "%s", r->rcpt);
	x->when = now;
}

static void submit(struct sg_mailstats *m, const struct sg_mta_rec *r, time_t now,
		   __s64 (*uid_of_user)(const char *user))
{
	struct qid_entry *e = r->qid[0] ? qid_add(m, r->qid) : NULL;
	struct sg_mail_principal *p = NULL;
	char name[SG_MTA_USER_MAX + 24];
	__s64 uid = r->uid;
	int has_client;

	/* Without a queue id there is no message to count. */
	if (!e)
		return;
	if (r->sender[0] || r->null_sender)
		e->null_sender = r->null_sender;
	if (r->ev == SG_MEV_SUBMIT) {
		has_client = mail_addr(r->client_ip, e->client);
		if (!has_client)
			memset(e->client, 0, sizeof(e->client));
		e->unauth = has_client && !r->login[0];
	}
	/* The MTA's own failure notice (Exim: "<= <> U=Debian-exim P=local"): nobody's message. */
	if (r->ev == SG_MEV_LOCAL && mta_user(m, r))
		return;
	if (r->ev == SG_MEV_SUBMIT && r->login[0]) {
		p = principal(m, SG_MAIL_KIND_SASL, r->login, now);
		if (p)
			add_ip(p, r->client_ip, now);
	} else if (r->ev == SG_MEV_LOCAL) {
		if (uid < 0 && r->user[0] && uid_of_user)
			uid = uid_of_user(r->user);
		if (uid >= 0)
			snprintf(name, sizeof(name), "%lld", (long long)uid);
		else
			snprintf(name, sizeof(name), "%s", r->user);
		p = principal(m, SG_MAIL_KIND_LOCAL, name, now);
		if (p)
			p->uid = uid;
	}
	if (!p)
		return;
	message(m, p, e, now);
	add_sender(p, r->sender);
}

size_t sg_mailstats_relayed(struct sg_mailstats *m, struct sg_mail_relay *out, size_t max)
{
	return drain(out, m->relays, &m->n_relays, max, sizeof(*out));
}

static void delivery(struct sg_mailstats *m, const struct sg_mta_rec *r, time_t now)
{
	struct qid_entry *e = r->qid[0] ? sg_htab_find(m->qids, r->qid) : NULL;
	struct sg_mail_principal *p = e ? owner(e) : NULL, *box;
	__u32 slot = (now / 60) % 60;

	/* Counted at the final outcome: qmgr names nrcpt again at every retry. */
	if (p && (r->outcome == SG_OUT_SENT || r->outcome == SG_OUT_BOUNCED))
		p->t.recipients++;
	if (r->local) {
		if (!e || !e->null_sender || r->outcome != SG_OUT_SENT)
			return;
		/* A failure notice into a mailbox here: the owner's bounce flood. */
		box = principal(m, SG_MAIL_KIND_SASL, r->rcpt, now);
		if (!box)
			return;
		sg_mail_advance(box, now);
		box->t.bounces_in++;
		box->bounce_in_m[slot]++;
		box->last = now > box->last ? now : box->last;
		sg_mail_order_bounced(&m->order_out, sg_mail_node_of(box));
		m->host.bounces_in++;
		return;
	}
	if (e && e->unauth && !e->relayed && !r->forwarded && !r->filter)
		relayed(m, e, r, now);
	if (!p)
		return;
	sg_mail_advance(p, now);
	if (r->outcome != SG_OUT_DEFERRED)
		add_domain(p, r->rcpt, now);
	switch (r->outcome) {
	case SG_OUT_SENT:
		p->t.sent++;
		p->sent_m[slot]++;
		break;
	case SG_OUT_BOUNCED:
		p->t.bounced++;
		p->bounced_m[slot]++;
		break;
	case SG_OUT_DEFERRED:
		p->t.deferred++;
		p->deferred_m[slot]++;
		break;
	default:
		break;
	}
}

int sg_mailstats_add(struct sg_mailstats *m, const struct sg_mta_rec *r, time_t now,
		     __s64 (*uid_of_user)(const char *user))
{
	struct qid_entry *e;
	struct sg_mail_principal *p;
	char id[SG_PRINCIPAL_MAX];

	if ((unsigned)r->ev <= SG_MEV_HOLD)
		m->host.records[r->ev]++;
	switch (r->ev) {
	case SG_MEV_SUBMIT:
	case SG_MEV_LOCAL:
		submit(m, r, now, uid_of_user);
		break;
	case SG_MEV_QUEUED:
		e = r->qid[0] ? qid_add(m, r->qid) : NULL;
		if (!e)
			break;
		e->null_sender = r->null_sender;
		if (owner(e))
			add_sender(owner(e), r->sender);
		break;
	case SG_MEV_DELIVERY:
		delivery(m, r, now);
		break;
	case SG_MEV_DONE:
		e = r->qid[0] ? sg_htab_find(m->qids, r->qid) : NULL;
		if (e)
			sg_htab_delete(m->qids, e->qid);
		break;
	case SG_MEV_AUTH_FAIL:
		/* Dovecot's auth process logs again what a login process or the MTA logs. */
		if (r->service == SG_SVC_OTHER)
			break;
		m->host.auth_failures += r->attempts;
		if (r->login[0] &&
		    snprintf(id, sizeof(id), "%s%s", SG_MAIL_SASL, r->login) < (int)sizeof(id)) {
			p = sg_mailstats_get(m, id);
			if (p)
				p->t.auth_failures += r->attempts;
		}
		break;
	case SG_MEV_HOLD:
		e = r->qid[0] ? sg_htab_find(m->qids, r->qid) : NULL;
		if (e && owner(e))
			owner(e)->t.held++;
		break;
	default:
		break;
	}
	return 0;
}

/* --- views ---------------------------------------------------------------- */

int sg_mailstats_each(struct sg_mailstats *m, time_t now,
		      int (*fn)(struct sg_mail_principal *p, void *ctx), void *ctx)
{
	struct sg_mail_node *n;
	int ret;

	for (n = m->oldest; n; n = n->newer) {
		if (now - n->p.last >= 3600 && !n->p.contained)
			continue;
		ret = fn(&n->p, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int sg_mailstats_all(struct sg_mailstats *m, int (*fn)(struct sg_mail_principal *p, void *ctx),
		     void *ctx)
{
	struct sg_mail_node *n;
	int ret;

	for (n = m->oldest; n; n = n->newer) {
		ret = fn(&n->p, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int sg_mailstats_qids(const struct sg_mailstats *m, const struct sg_mail_principal *p,
		      int (*fn)(const char *qid, void *ctx), void *ctx)
{
	const struct qid_entry *e;
	size_t pos = 0;
	int ret;

	while ((e = sg_htab_next(m->qids, &pos))) {
		if (owner(e) != p)
			continue;
		ret = fn(e->qid, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

const struct sg_mail_principal *sg_mailstats_submitter(const struct sg_mailstats *m,
						       const char *qid, __u32 client[4])
{
	const struct qid_entry *e = *qid ? sg_htab_find(m->qids, qid) : NULL;

	memset(client, 0, 16);
	if (!e || !owner(e))
		return NULL;
	memcpy(client, e->client, 16);
	return owner(e);
}

size_t sg_mailstats_pending_hold(struct sg_mailstats *m, struct sg_mail_pending *out, size_t max)
{
	return drain(out, m->pending, &m->n_pending, max, sizeof(*out));
}

void sg_mailstats_host(const struct sg_mailstats *m, struct sg_mailstats_host *out)
{
	*out = m->host;
	out->principals = m->n_ps;
	out->qids = sg_htab_count(m->qids);
}

int sg_mailstats_judged(struct sg_mailstats *m, struct sg_mail_principal *p, const char *qid,
			const char *sender, const char *client_ip, time_t now)
{
	struct qid_entry *e = qid_add(m, qid);

	if (!e)
		return -ENOMEM;
	message(m, p, e, now);
	add_sender(p, sender);
	if (p->kind == SG_MAIL_KIND_SASL)
		add_ip(p, client_ip, now);
	return 0;
}
