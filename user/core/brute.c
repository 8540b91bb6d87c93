// SPDX-License-Identifier: GPL-2.0
/* Password guessing per source and per account: see brute.h. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "core/brute.h"
#include "sg_bucket.h"
#include "util/htab.h"
#include "util/parse.h"
#include "util/render.h"
#include "util/tmpfile.h"

#define NEAR 32 /* sources a new one may replace at the cap: the idlest of them */

const char *const sg_brute_table_names[SG_BRUTE_TABLES] = {
	[SG_BRUTE_TAB_SOURCES] = "sources",
	[SG_BRUTE_TAB_ACCOUNTS] = "accounts",
	[SG_BRUTE_TAB_OFFENDERS] = "offenders",
};

const char *const sg_brute_service_names[SG_BRUTE_SERVICES] = {
	[SG_BRUTE_SMTP] = "smtp",
	[SG_BRUTE_IMAP] = "imap",
	[SG_BRUTE_POP3] = "pop3",
	[SG_BRUTE_SUBMISSION] = "submission",
};

/* A count over a sliding window of SG_BRUTE_SLOTS slots of width seconds. */
struct wcount {
	__u32 n[SG_BRUTE_SLOTS];
	time_t slot; /* the newest slot's number: time / width */
	time_t width;
};

struct source {
	__u32 addr[4];	     /* the key */
	time_t last;	     /* of its last failure or SYN: the idlest goes at the cap */
	time_t banned_until; /* judged: left alone until then */
	struct wcount fails, syns;
	__u64 syns_seen; /* XDP's count at the last pass */
	int syns_known;	 /* syns_seen is XDP's count */
};

struct account {
	char login[SG_MTA_LOGIN_MAX]; /* lower-cased: logins are matched without case */
	int used;
	time_t last;
	time_t attack_until; /* while under attack, each new source is banned at once */
	struct {
		__u32 addr[4];
		time_t last;
		time_t judged_until; /* its ban's end: then a new failure judges it again */
		__u32 fails;	     /* on this account from there, since a window's quiet */
	} src[SG_BRUTE_ACCOUNT_SOURCES];
	size_t n;
};

struct offender {
	__u32 addr[4]; /* the key */
	time_t last;
	__u32 offences;
};

struct sg_brute {
	struct sg_htab *sources;  /* of struct source, deleted from only at the cap */
	struct account *accounts; /* the first n_accounts used */
	size_t n_accounts;
	struct sg_htab *by_login;  /* of struct login_entry: accounts by login */
	struct sg_htab *offenders; /* of struct offender, deleted from only at the cap */
	int dirty;
	struct sg_brute_totals t;
};

struct login_entry {
	const char *login; /* its account's */
	struct account *a;
};

struct sg_brute *sg_brute_new(void)
{
	struct sg_brute *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->sources = sg_htab_new(SG_HTAB_BYTES, sizeof(((struct source *)0)->addr),
				 sizeof(struct source), 1024, SG_BRUTE_MAX_SOURCES);
	b->accounts = calloc(SG_BRUTE_MAX_ACCOUNTS, sizeof(*b->accounts));
	b->by_login = sg_htab_new(SG_HTAB_STRING_REF, SG_MTA_LOGIN_MAX, sizeof(struct login_entry),
				  64, 0);
	b->offenders = sg_htab_new(SG_HTAB_BYTES, sizeof(((struct offender *)0)->addr),
				   sizeof(struct offender), 64, SG_BRUTE_MAX_OFFENDERS);
	if (!b->sources || !b->accounts || !b->by_login || !b->offenders) {
		sg_brute_free(b);
		return NULL;
	}
	return b;
}

void sg_brute_free(struct sg_brute *b)
{
	if (!b)
		return;
	sg_htab_free(b->sources);
	free(b->accounts);
	sg_htab_free(b->by_login);
	sg_htab_free(b->offenders);
	free(b);
}

/* --- windows ---------------------------------------------------------------- */

static time_t width_of(time_t window_s)
{
	time_t w = (window_s + SG_BRUTE_SLOTS - 1) / SG_BRUTE_SLOTS;

	return w ? w : 1;
}

/* Moves w to now's slot, clearing the slots it passes; a new width starts it afresh. */
static void wc_advance(struct wcount *w, time_t width, time_t now)
{
	time_t s = now / width, i;

	if (w->width != width || s - w->slot >= SG_BRUTE_SLOTS || s < w->slot) {
		memset(w->n, 0, sizeof(w->n));
		w->width = width;
		w->slot = s;
		return;
	}
	for (i = w->slot + 1; i <= s; i++)
		w->n[i % SG_BRUTE_SLOTS] = 0;
	w->slot = s;
}

static void wc_add(struct wcount *w, time_t width, time_t now, __u64 k)
{
	__u64 v;

	wc_advance(w, width, now);
	v = (__u64)w->n[w->slot % SG_BRUTE_SLOTS] + k;
	w->n[w->slot % SG_BRUTE_SLOTS] = v > 0xffffffffu ? 0xffffffffu : (__u32)v;
}

static __u64 wc_sum(struct wcount *w, time_t width, time_t now)
{
	__u64 sum = 0;
	size_t i;

	wc_advance(w, width, now);
	for (i = 0; i < SG_BRUTE_SLOTS; i++)
		sum += w->n[i];
	return sum;
}

/* --- tables ----------------------------------------------------------------- */

/*
 * An entry of a table keyed by address (entries start with addr[4] and
 * last), made if absent; at the cap, the idlest of a sample near it gives
 * way (a sample, not a search: a flood of new addresses costs no more
 * than it adds), counted for tab.
 */
static void *by_addr(struct sg_brute *b, struct sg_htab *h, enum sg_brute_table tab,
		     const __u32 addr[4])
{
	struct source *s, *near[NEAR];
	size_t i, n, idlest = 0;
	int ret;

	/* A source's and an offender's first fields are the same: the key, then last. */
	_Static_assert(offsetof(struct source, last) == offsetof(struct offender, last),
		       "by_addr reads last at one offset");
	ret = sg_htab_add(h, addr, (void **)&s);
	if (ret == -ENOSPC) {
		n = sg_htab_near(h, addr, (void **)near, NEAR);
		for (i = 1; i < n; i++)
			if (near[i]->last < near[idlest]->last)
				idlest = i;
		sg_htab_delete(h, near[idlest]->addr);
		b->t.evicted[tab]++;
		ret = sg_htab_add(h, addr, (void **)&s);
	}
	return ret < 0 ? NULL : s;
}

static struct source *source(struct sg_brute *b, const __u32 addr[4], int add)
{
	return add ? by_addr(b, b->sources, SG_BRUTE_TAB_SOURCES, addr)
		   : sg_htab_find(b->sources, addr);
}

/* login lower-cased into key (SG_MTA_LOGIN_MAX bytes), as accounts are found; its length. */
static size_t login_key(const char *login, char *key)
{
	size_t i;

	for (i = 0; login[i] && i + 1 < SG_MTA_LOGIN_MAX; i++)
		key[i] = (char)tolower((unsigned char)login[i]);
	key[i] = '\0';
	return i;
}

static struct account *find_account(const struct sg_brute *b, const char *key)
{
	const struct login_entry *e = sg_htab_find(b->by_login, key);

	return e ? e->a : NULL;
}

/* login's account, made if absent; at the cap the idlest gives way. */
static struct account *account(struct sg_brute *b, const char *login, time_t now)
{
	struct account *a, *end = b->accounts + SG_BRUTE_MAX_ACCOUNTS;
	struct login_entry *e;
	char key[SG_MTA_LOGIN_MAX];
	size_t i = login_key(login, key);

	a = find_account(b, key);
	if (a)
		return a;
	a = b->accounts + b->n_accounts;
	/* Only a new account at the cap looks at them all, for the idlest. */
	if (a == end) {
		struct account *x;

		for (a = x = b->accounts; x < end; x++)
			if (x->last < a->last)
				a = x;
		sg_htab_delete(b->by_login, a->login);
		b->t.evicted[SG_BRUTE_TAB_ACCOUNTS]++;
	}
	memset(a, 0, sizeof(*a));
	memcpy(a->login, key, i + 1);
	/* Keyed by its own copy; on failure it stays unused. */
	if (sg_htab_add(b->by_login, a->login, (void **)&e) < 0)
		return NULL;
	b->n_accounts += a == b->accounts + b->n_accounts;
	e->a = a;
	a->used = 1;
	a->last = now;
	return a;
}

static void account_source(struct sg_brute *b, struct account *a, const __u32 addr[4],
			   time_t window, time_t now)
{
	size_t i, idlest = 0;

	a->last = now;
	for (i = 0; i < a->n; i++) {
		if (!memcmp(a->src[i].addr, addr, 16)) {
			a->src[i].fails = now - a->src[i].last < window ? a->src[i].fails + 1 : 1;
			a->src[i].last = now;
			return;
		}
		if (a->src[i].last < a->src[idlest].last)
			idlest = i;
	}
	i = a->n < SG_BRUTE_ACCOUNT_SOURCES ? a->n++ : idlest;
	memcpy(a->src[i].addr, addr, 16);
	a->src[i].last = now;
	a->src[i].judged_until = 0;
	a->src[i].fails = 1;
}

/* --- counting --------------------------------------------------------------- */

/*
 * The source of addr into key: IPv6 cut to [bruteforce] ipv6_prefix (a
 * site picks any address in its /64; XDP counts it so too), IPv4 and
 * IPv4-mapped IPv6 a host prefix.
 */
static void source_of(const struct sg_bruteforce_cfg *c, const __u32 addr[4],
		      struct sg_ban_key *key)
{
	unsigned char *a = (unsigned char *)key->addr;
	__u32 i;

	memcpy(key->addr, addr, sizeof(key->addr));
	key->prefixlen = 128;
	if (!addr[0] && !addr[1] && addr[2] == htonl(0xffff))
		return;
	if (c->ipv6_prefix && c->ipv6_prefix < 128)
		key->prefixlen = c->ipv6_prefix;
	for (i = key->prefixlen; i < 128; i++)
		a[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
}

/* source_of() the address ip, and ip itself in host; -EINVAL when it is not one. */
static int source_key(const struct sg_bruteforce_cfg *c, const char *ip, struct sg_ban_key *key,
		      struct sg_ban_key *host)
{
	const char *why;

	if (sg_parse_cidr(ip, host, &why) || host->prefixlen != 128)
		return -EINVAL;
	source_of(c, host->addr, key);
	return 0;
}

/*
 * The source (an IPv6 prefix, or an address) shares an address with an allowed network:
 * it is never judged, as a ban of it would be refused (it covers the allowed).
 */
static int allowed_source(const struct sg_bruteforce_cfg *c, const __u32 addr[4])
{
	struct sg_ban_key src;
	int i;

	source_of(c, addr, &src);
	for (i = 0; i < c->n_allow; i++)
		if (sg_cidr_contains(&c->allow[i], src.addr) ||
		    sg_cidr_contains(&src, c->allow[i].addr))
			return 1;
	return 0;
}

static int service_of(enum sg_mta_service svc)
{
	switch (svc) {
	case SG_SVC_SMTP:
		return SG_BRUTE_SMTP;
	case SG_SVC_IMAP:
		return SG_BRUTE_IMAP;
	case SG_SVC_POP3:
		return SG_BRUTE_POP3;
	case SG_SVC_SUBMISSION:
		return SG_BRUTE_SUBMISSION;
	default:
		return -1;
	}
}

void sg_brute_fail(struct sg_brute *b, const struct sg_bruteforce_cfg *c,
		   const struct sg_mta_rec *r, time_t now)
{
	int svc = service_of(r->service);
	struct sg_ban_key key, host;
	struct account *a;
	struct source *s;

	/* One record, one failure, whatever count its line claims: see brute.h. */
	if (svc < 0)
		return;
	b->t.failures[svc]++;
	/* The address itself: an allowed host is never counted, whatever its prefix holds. */
	if (!r->client_ip[0] || source_key(c, r->client_ip, &key, &host) ||
	    sg_cidr_list_contains(c->allow, c->n_allow, host.addr))
		return;
	s = source(b, key.addr, 1);
	if (!s)
		return;
	s->last = now;
	wc_add(&s->fails, width_of(c->window_ns / SG_NS_PER_SEC), now, 1);
	a = r->login[0] ? account(b, r->login, now) : NULL;
	if (a)
		account_source(b, a, key.addr, (time_t)(c->window_ns / SG_NS_PER_SEC), now);
}

void sg_brute_syns(struct sg_brute *b, const __u32 addr[4], __u64 login_syns, int fresh, time_t now)
{
	struct source *s = source(b, addr, login_syns > 0);

	if (!s)
		return;
	/* A count from before this daemon looked, or one that went down (the LRU map dropped it).
	 */
	if ((!s->syns_known && !fresh) || login_syns < s->syns_seen) {
		s->syns_known = 1;
		s->syns_seen = login_syns;
		return;
	}
	s->syns_known = 1;
	if (login_syns == s->syns_seen)
		return;
	wc_add(&s->syns, width_of(SG_BRUTE_SYN_WINDOW), now, login_syns - s->syns_seen);
	s->syns_seen = login_syns;
	s->last = now;
}

/* --- verdicts --------------------------------------------------------------- */

/* The ban for the offence at now: longer for each repeat within forget. */
static void sentence(struct sg_brute *b, const struct sg_bruteforce_cfg *c,
		     struct sg_brute_verdict *v, time_t now)
{
	struct offender *o = by_addr(b, b->offenders, SG_BRUTE_TAB_OFFENDERS, v->key.addr);
	__u64 ban = c->ban_ns;
	__u32 i;

	/* Without memory to count it, a first offence. */
	if (!o) {
		v->offences = 1;
		v->ban_ns = ban < c->ban_max_ns ? ban : c->ban_max_ns;
		return;
	}
	if (o->last && (__u64)(now - o->last) * SG_NS_PER_SEC > c->forget_ns)
		o->offences = 0;
	o->offences++;
	o->last = now;
	b->dirty = 1;
	for (i = 1; i < o->offences && ban < c->ban_max_ns; i++)
		ban = ban > c->ban_max_ns / c->ban_factor ? c->ban_max_ns : ban * c->ban_factor;
	v->offences = o->offences;
	v->ban_ns = ban < c->ban_max_ns ? ban : c->ban_max_ns;
}

static void verdict(struct sg_brute *b, const struct sg_bruteforce_cfg *c, const __u32 addr[4],
		    __u32 reason, __u64 value, __u64 limit, time_t now, struct sg_brute_verdict *v)
{
	struct source *s = source(b, addr, 1);

	memset(v, 0, sizeof(*v));
	/* An IPv6 source is banned as it was counted: its whole prefix. */
	source_of(c, addr, &v->key);
	if (v->key.prefixlen == 128)
		sg_format_addr(addr, v->addr, sizeof(v->addr));
	else
		sg_format_cidr(&v->key, v->addr, sizeof(v->addr));
	v->reason = reason;
	v->value = value;
	v->limit = limit;
	sentence(b, c, v, now);
	b->t.bans[reason]++;
	/* Without memory to keep it, it is banned all the same, only not left alone after. */
	if (!s)
		return;
	/* Its counts start again when the ban is over. */
	memset(&s->fails, 0, sizeof(s->fails));
	memset(&s->syns, 0, sizeof(s->syns));
	s->banned_until = now + (time_t)(v->ban_ns / SG_NS_PER_SEC);
}

/* Sources of a when more of them than the limit failed within the window, each once. */
static size_t judge_account(struct sg_brute *b, const struct sg_bruteforce_cfg *c,
			    struct account *a, time_t now, time_t window,
			    struct sg_brute_verdict *out, size_t max)
{
	size_t i, n = 0, active = 0;
	struct source *s;
	int first;

	for (i = 0; i < a->n; i++)
		active += now - a->src[i].last < window;
	if (active >= c->distributed) {
		first = a->attack_until <= now;
		a->attack_until = now + window;
	} else if (a->attack_until > now) {
		first = 0;
	} else {
		return 0;
	}
	for (i = 0; i < a->n && n < max; i++) {
		if (a->src[i].judged_until > now || now - a->src[i].last >= window ||
		    allowed_source(c, a->src[i].addr))
			continue;
		s = source(b, a->src[i].addr, 0);
		if (s && s->banned_until > now) {
			a->src[i].judged_until = s->banned_until;
			continue;
		}
		verdict(b, c, a->src[i].addr, SG_BAN_DISTRIBUTED, active, c->distributed, now,
			&out[n]);
		a->src[i].judged_until = now + (time_t)(out[n].ban_ns / SG_NS_PER_SEC);
		snprintf(out[n].login, sizeof(out[n].login), "%s", a->login);
		out[n].first = first;
		first = 0;
		n++;
	}
	return n;
}

size_t sg_brute_judge(struct sg_brute *b, const struct sg_bruteforce_cfg *c, time_t now,
		      struct sg_brute_verdict *out, size_t max)
{
	time_t window = (time_t)(c->window_ns / SG_NS_PER_SEC);
	time_t fw = width_of(window), sw = width_of(SG_BRUTE_SYN_WINDOW);
	struct source *s;
	__u64 fails, syns;
	size_t i, n = 0, pos = 0;

	/* Judging a source that is there adds none: the iteration stays whole. */
	while (n < max && (s = sg_htab_next(b->sources, &pos))) {
		if (s->banned_until > now || now - s->last > window + fw ||
		    allowed_source(c, s->addr))
			continue;
		fails = c->auth_failures ? wc_sum(&s->fails, fw, now) : 0;
		syns = c->syn_rate ? wc_sum(&s->syns, sw, now) : 0;
		if (c->auth_failures && fails >= c->auth_failures)
			verdict(b, c, s->addr, SG_BAN_AUTH_FAILURES, fails, c->auth_failures, now,
				&out[n++]);
		else if (c->syn_rate && syns >= c->syn_rate)
			verdict(b, c, s->addr, SG_BAN_SYN_RATE, syns, c->syn_rate, now, &out[n++]);
	}
	/* Accounts are taken in order: the room past them is never read, so never made resident. */
	for (i = 0; c->distributed && i < b->n_accounts && n < max; i++)
		if (b->accounts[i].used)
			n += judge_account(b, c, &b->accounts[i], now, window, out + n, max - n);
	return n;
}

void sg_brute_totals(const struct sg_brute *b, struct sg_brute_totals *out)
{
	*out = b->t;
}

/* --- offenders file --------------------------------------------------------- */

int sg_brute_load(struct sg_brute *b, const char *path, time_t now, time_t forget_s)
{
	json_t *root, *v, *n, *t;
	struct sg_ban_key key;
	struct offender *o;
	json_error_t jerr;
	const char *addr, *why;

	root = json_load_file(path, 0, &jerr);
	if (!root)
		return access(path, F_OK) ? 0 : -EINVAL;
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(root, addr, v)
	{
		n = json_object_get(v, "offences");
		t = json_object_get(v, "last");
		if (!json_is_integer(n) || !json_is_integer(t) || json_integer_value(n) <= 0 ||
		    sg_parse_cidr(addr, &key, &why) || key.prefixlen != 128 ||
		    now - (time_t)json_integer_value(t) > forget_s)
			continue;
		o = by_addr(b, b->offenders, SG_BRUTE_TAB_OFFENDERS, key.addr);
		if (!o)
			break;
		o->offences = (__u32)json_integer_value(n);
		o->last = (time_t)json_integer_value(t);
	}
	json_decref(root);
	return 0;
}

int sg_brute_save(struct sg_brute *b, const char *path)
{
	char tmp[PATH_MAX + 8], addr[INET6_ADDRSTRLEN];
	json_t *root = json_object();
	const struct offender *o;
	size_t pos = 0;
	int fd, ret = 0;

	if (!root)
		return -ENOMEM;
	while ((o = sg_htab_next(b->offenders, &pos))) {
		sg_format_addr(o->addr, addr, sizeof(addr));
		json_object_set_new(root, addr,
				    json_pack("{s:I, s:I}", "offences", (json_int_t)o->offences,
					      "last", (json_int_t)o->last));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Addresses and their offences are root's business: 0600. */
	fd = sg_tmpfile_open(tmp, 0600);
	if (fd < 0)
		ret = fd;
	errno = 0;
	if (!ret && json_dumpfd(root, fd, JSON_COMPACT))
		ret = -(errno ? errno : EIO);
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret && fd >= 0)
		unlink(tmp);
	json_decref(root);
	if (!ret)
		b->dirty = 0;
	return ret;
}

int sg_brute_dirty(const struct sg_brute *b)
{
	return b->dirty;
}

int sg_brute_failed_on(const struct sg_brute *b, const struct sg_bruteforce_cfg *c,
		       const char *login, const char *client_ip, time_t now)
{
	char name[SG_MTA_LOGIN_MAX];
	const struct account *a;
	struct sg_ban_key key, host;
	size_t i;

	if (!*login || source_key(c, client_ip, &key, &host))
		return 0;
	login_key(login, name);
	a = find_account(b, name);
	for (i = 0; a && i < a->n; i++)
		if (!memcmp(a->src[i].addr, key.addr, 16))
			return now - a->src[i].last < (time_t)(c->window_ns / SG_NS_PER_SEC) &&
			       c->guessed &&
			       (a->src[i].fails >= c->guessed || a->attack_until > now);
	return 0;
}
