// SPDX-License-Identifier: GPL-2.0
/* The LAPI's decisions applied to this server: see bouncer.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "fleet/bouncer.h"
#include "host/ownaddr.h"
#include "kern/banbits.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "util/log.h"
#include "util/render.h"

const char *const sg_fleet_skip_names[SG_SKIP__MAX] = { SG_FLEET_SKIPS(SG_ENUM_NAME) };

enum state {
	ST_NEW,	    /* not tried yet */
	ST_APPLIED, /* banned or held here by this decision */
	ST_PENDING, /* a local ban stands, sg_bans was full, or a write failed: again next pull */
	ST_REFUSED, /* allow list or this host: never */
	ST_NOT_HOSTED, /* an account this server does not know (yet): again next pull */
};

struct entry {
	__u64 id;
	struct sg_lapi_decision d;
	__u64 expires_ns; /* CLOCK_BOOTTIME */
	enum state state;
	int skipped; /* counted in skipped[] once */
	int told;    /* a dry run's would-ban said once */
	int listed;  /* in the startup list being applied */
};

/* How many applied decisions share a ban key, or a held account. */
struct keyref {
	struct sg_ban_key key;
	__u32 n;
};

struct holdref {
	char account[SG_DECISION_VALUE_MAX];
	__u32 n;
};

struct pass {
	struct sg_bouncer *b;
	const struct sg_config *c;
	const struct sg_audit_cfg *audit;
	int fd; /* sg_bans, or -errno */
	__u64 now;
	int lifted; /* bans lifted: their bits go in one rebuild at the pass's end */
};

int sg_bouncer_init(struct sg_bouncer *b, sg_fleet_hold_fn hold, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->hold = hold;
	b->hold_ctx = ctx;
	b->byid = sg_htab_new(SG_HTAB_BYTES, sizeof(__u64), sizeof(struct entry), 64,
			      SG_FLEET_DECISIONS_MAX);
	b->bykey =
		sg_htab_new(SG_HTAB_BYTES, sizeof(struct sg_ban_key), sizeof(struct keyref), 64, 0);
	b->holds =
		sg_htab_new(SG_HTAB_STRING, SG_DECISION_VALUE_MAX, sizeof(struct holdref), 16, 0);
	if (!b->byid || !b->bykey || !b->holds) {
		sg_bouncer_free(b);
		return -ENOMEM;
	}
	return 0;
}

void sg_bouncer_free(struct sg_bouncer *b)
{
	sg_htab_free(b->byid);
	sg_htab_free(b->bykey);
	sg_htab_free(b->holds);
	b->byid = b->bykey = b->holds = NULL;
}

static int fleet_reason(__u32 reason)
{
	return reason >= SG_BAN_FLEET_CSCLI && reason <= SG_BAN_FLEET_OTHER;
}

static void skip(struct pass *p, struct entry *e, enum sg_fleet_skip why)
{
	if (!e->skipped)
		p->b->n.skipped[why]++;
	e->skipped = 1;
}

/* One more (add) or one fewer applied decision on e's key or account: how many now. */
static __u32 ref(struct pass *p, const struct entry *e, int add)
{
	struct sg_htab *h = e->d.ban ? p->b->bykey : p->b->holds;
	const void *key = e->d.ban ? (const void *)&e->d.key : (const void *)e->d.value;
	__u32 *n, left;
	void *r;

	if (sg_htab_add(h, key, &r) < 0)
		return add; /* no memory: as if alone, which at worst lifts it early */
	n = e->d.ban ? &((struct keyref *)r)->n : &((struct holdref *)r)->n;
	*n += add ? 1 : -1;
	/* Read before the delete, which may move another entry into its place. */
	left = *n;
	if (!left)
		sg_htab_delete(h, key);
	return left;
}

static void audit_ban(struct pass *p, const struct entry *e, const char *action, __u64 for_ns)
{
	char cidr[64], why[SG_DECISION_SCENARIO_MAX + 64];
	const char *origin = sg_decision_origin_names[e->d.origin];

	sg_format_cidr(&e->d.key, cidr, sizeof(cidr));
	snprintf(why, sizeof(why), "crowdsec decision %llu from %s: %s",
		 (unsigned long long)e->d.id, origin, e->d.scenario);
	sg_audit_daemon(p->audit, action, cidr,
			json_pack("{s:s, s:I, s:s, s:s}", "rule", "crowdsec", "decision",
				  (json_int_t)e->d.id, "origin", origin, "scenario", e->d.scenario),
			why, for_ns ? p->now + for_ns : 0);
}

/* A dry run's ban: audited and logged as "would-ban", as daemon/dryrun.h tells the daemon's. */
static void dry_ban(struct pass *p, const struct entry *e, __u64 for_ns)
{
	char cidr[64], scenario[SG_ESCAPED_LEN(SG_DECISION_SCENARIO_MAX)];

	sg_format_cidr(&e->d.key, cidr, sizeof(cidr));
	sg_log_value(e->d.scenario, scenario, sizeof(scenario));
	sg_info("would ban target=%s because crowdsec: decision %llu from %s: %s", cidr,
		(unsigned long long)e->d.id, sg_decision_origin_names[e->d.origin], scenario);
	audit_ban(p, e, "would-ban", for_ns);
	p->b->n.told++;
}

/* Puts e's ban unless a ban of a human's or a local rule's, or a longer one, stands. */
static void ban(struct pass *p, struct entry *e)
{
	__u64 for_ns = e->expires_ns - p->now;
	struct sg_ban old;
	int err;

	if (sg_ban_covers_own(p->c, &e->d.key, NULL, 0)) {
		e->state = ST_REFUSED;
		skip(p, e, SG_SKIP_ALLOW);
		return;
	}
	if (p->fd < 0)
		return;
	/*
	 * [actions] dry_run: sg_bans untouched, as for every automatic ban
	 * (daemon/dryrun.h); told once, and put at the first pull after it is off.
	 */
	if (p->c->dry_run) {
		if (!e->told)
			dry_ban(p, e, for_ns);
		e->told = 1;
		e->state = ST_PENDING;
		return;
	}
	if (!bpf_map_lookup_elem(p->fd, &e->d.key, &old) && old.prefixlen == e->d.key.prefixlen &&
	    (!old.expires_ns || old.expires_ns > p->now)) {
		if (!fleet_reason(old.reason)) {
			e->state = ST_PENDING;
			skip(p, e, SG_SKIP_LOCAL_BAN);
			return;
		}
		if (!old.expires_ns || old.expires_ns >= e->expires_ns)
			goto applied;
	}
	err = sg_ban_put(p->fd, &e->d.key, for_ns, SG_BAN_FLEET_CSCLI + e->d.origin, NULL, NULL);
	if (err == -E2BIG || err == -ENOSPC) {
		e->state = ST_PENDING;
		skip(p, e, SG_SKIP_MAP_FULL);
		return;
	}
	if (err) {
		p->b->n.ban_errors++;
		e->state = ST_PENDING;
		return;
	}
	audit_ban(p, e, "ban", for_ns);
applied:
	e->state = ST_APPLIED;
	p->b->n.applied[e->d.origin][e->d.scope]++;
	ref(p, e, 1);
}

static void hold(struct pass *p, struct entry *e)
{
	int err;

	/* Another decision holds it already: this one only keeps it held. */
	if (sg_htab_find(p->b->holds, e->d.value)) {
		err = 0;
	} else {
		err = p->b->hold ? p->b->hold(p->b->hold_ctx, e->d.value, e->d.scenario, 1)
				 : -ENOENT;
	}
	if (err == -ENOENT) {
		e->state = ST_NOT_HOSTED;
		skip(p, e, SG_SKIP_NOT_HOSTED);
		return;
	}
	if (err) {
		e->state = ST_PENDING;
		if (err == -EEXIST)
			skip(p, e, SG_SKIP_LOCAL_HOLD);
		return;
	}
	e->state = ST_APPLIED;
	p->b->n.applied[e->d.origin][e->d.scope]++;
	ref(p, e, 1);
}

static void apply(struct pass *p, struct entry *e)
{
	if (e->d.ban)
		ban(p, e);
	else
		hold(p, e);
}

/*
 * Undoes e when it is the last applied decision on its key or account. A
 * ban whose time is up is left to the daemon's sweep, which removes and
 * audits it as it does every ban's end; an account is released either way.
 */
static void lift(struct pass *p, struct entry *e)
{
	int expired = e->expires_ns <= p->now;
	struct sg_ban old;

	if (e->state != ST_APPLIED || ref(p, e, 0))
		return;
	if (!expired)
		p->b->n.lifted[e->d.scope]++;
	if (!e->d.ban) {
		if (p->b->hold)
			p->b->hold(p->b->hold_ctx, e->d.value, e->d.scenario, 0);
		return;
	}
	/* Only the fleet's own ban: a human may have banned it since. */
	if (!expired && p->fd >= 0 && !bpf_map_lookup_elem(p->fd, &e->d.key, &old) &&
	    old.prefixlen == e->d.key.prefixlen && fleet_reason(old.reason) &&
	    !sg_ban_lift(p->fd, &e->d.key, NULL)) {
		p->lifted++;
		audit_ban(p, e, "unban", 0);
	}
}

static void forget(struct pass *p, __u64 id)
{
	struct entry *e = sg_htab_find(p->b->byid, &id);

	if (!e)
		return;
	lift(p, e);
	sg_htab_delete(p->b->byid, &id);
}

static void add(struct pass *p, const struct sg_lapi_decision *d, int startup)
{
	struct entry *e;
	int err;

	p->b->n.received[d->origin][d->scope]++;
	if (d->remaining_ns <= 0)
		return;
	err = sg_htab_add(p->b->byid, &d->id, (void **)&e);
	if (err < 0) {
		p->b->n.skipped[SG_SKIP_TABLE_FULL]++;
		return;
	}
	e->listed = startup;
	if (!err) {
		/* Known: the same decision again (a startup list after a reload). */
		e->expires_ns = p->now + (__u64)d->remaining_ns;
		return;
	}
	e->d = *d;
	e->expires_ns = p->now + (__u64)d->remaining_ns;
	e->state = ST_NEW;
	apply(p, e);
}

/*
 * The ids to forget: expired ones, and with startup those the list lacked.
 * The marks of a startup list are cleared once it is applied: the next one
 * (a link started anew) keeps only what it lists itself.
 */
static size_t stale(struct pass *p, int startup, __u64 *ids, size_t max)
{
	size_t pos = 0, n = 0;
	struct entry *e;

	while (n < max && (e = sg_htab_next(p->b->byid, &pos))) {
		if (e->expires_ns <= p->now || (startup && !e->listed))
			ids[n++] = e->id;
		else if (startup)
			e->listed = 0;
	}
	return n;
}

struct orphans {
	struct pass *p;
	struct sg_ban_key *keys;
	size_t n, cap;
};

/* A fleet's ban in force that no applied decision holds. */
static int orphan(const void *key, const void *value, void *ctx)
{
	const struct sg_ban *ban = value;
	struct orphans *o = ctx;
	struct sg_ban_key *more;

	if (!fleet_reason(ban->reason) || (ban->expires_ns && ban->expires_ns <= o->p->now) ||
	    sg_htab_find(o->p->b->bykey, key))
		return 0;
	if (o->n == o->cap) {
		more = realloc(o->keys, (o->cap ? 2 * o->cap : 64) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		o->keys = more;
		o->cap = o->cap ? 2 * o->cap : 64;
	}
	o->keys[o->n++] = *(const struct sg_ban_key *)key;
	return 0;
}

/*
 * After a startup list, the fleet's bans in sg_bans that no decision of it
 * holds lifted: the decisions live in this daemon's memory only, so those
 * deleted at the LAPI while it was not running (a restart, an upgrade)
 * would otherwise stay until they expire. A ban the sweep would end anyway
 * is left to it.
 */
static void lift_orphans(struct pass *p)
{
	struct orphans o = { .p = p };
	char cidr[64];
	struct sg_ban ban;
	size_t i;

	if (sg_map_for_each(p->fd, orphan, &o) < 0) {
		free(o.keys);
		return;
	}
	for (i = 0; i < o.n; i++) {
		/* Looked at again: a human may have banned it meanwhile. */
		if (bpf_map_lookup_elem(p->fd, &o.keys[i], &ban) ||
		    ban.prefixlen != o.keys[i].prefixlen || !fleet_reason(ban.reason) ||
		    sg_ban_lift(p->fd, &o.keys[i], NULL))
			continue;
		p->lifted++;
		p->b->n.lifted[o.keys[i].prefixlen == 128 ? SG_SCOPE_IP : SG_SCOPE_RANGE]++;
		sg_format_cidr(&o.keys[i], cidr, sizeof(cidr));
		sg_audit_daemon(
			p->audit, "unban", cidr,
			json_pack("{s:s, s:s}", "rule", "crowdsec", "origin",
				  sg_decision_origin_names[ban.reason - SG_BAN_FLEET_CSCLI]),
			"no decision of the LAPI's startup list holds it: deleted while this "
			"daemon was not pulling",
			0);
	}
	free(o.keys);
}

/* Pending decisions tried again, expired ones forgotten, and the counts of what is in force. */
static void settle(struct pass *p, int startup)
{
	__u64 *ids = NULL;
	struct entry *e;
	size_t pos = 0, n, i;

	/* Forgotten first: what is in force is counted without them. */
	n = sg_htab_count(p->b->byid);
	ids = n ? malloc(n * sizeof(*ids)) : NULL;
	n = ids ? stale(p, startup, ids, n) : 0;
	for (i = 0; i < n; i++)
		forget(p, ids[i]);
	free(ids);
	memset(p->b->n.active, 0, sizeof(p->b->n.active));
	while ((e = sg_htab_next(p->b->byid, &pos))) {
		/* An account not hosted yet may show up: its first message names it here. */
		if ((e->state == ST_PENDING || e->state == ST_NOT_HOSTED) && e->expires_ns > p->now)
			apply(p, e);
		if (e->state == ST_APPLIED && e->expires_ns > p->now)
			p->b->n.active[e->d.scope]++;
	}
	if (startup && p->fd >= 0)
		lift_orphans(p);
	p->b->n.known = sg_htab_count(p->b->byid);
}

void sg_bouncer_apply(struct sg_bouncer *b, const struct sg_config *c,
		      const struct sg_audit_cfg *audit, const struct sg_lapi_decision *added,
		      size_t n_added, const struct sg_lapi_decision *deleted, size_t n_deleted,
		      int startup, int last, __u64 now)
{
	struct pass p = { .b = b, .c = c, .audit = audit, .now = now };
	size_t i;
	int err;

	p.fd = sg_pin_open(SG_MAP_BANS);
	if (p.fd < 0)
		sg_error("crowdsec: opening %s: %s; bans wait for the next pull", SG_MAP_BANS,
			 strerror(-p.fd));
	for (i = 0; i < n_deleted; i++)
		forget(&p, deleted[i].id);
	for (i = 0; i < n_added; i++)
		add(&p, &added[i], startup);
	if (last)
		settle(&p, startup);
	if (p.fd >= 0)
		close(p.fd);
	/* Left, the lifted bans' bits would cost only the trie lookups they let through. */
	if (p.lifted && (err = sg_ban_bits_rebuild()))
		sg_warn("crowdsec: lifted bans' addresses still go through the ban list: %s",
			strerror(-err));
}
