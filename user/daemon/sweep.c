// SPDX-License-Identifier: GPL-2.0
/* Expired policies and bans, and stale per-UID entries, out of the maps; see sweep.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "core/decide.h"
#include "host/attrib.h"
#include "kern/banbits.h"
#include "kern/collect.h"
#include "kern/policybits.h"
#include "util/render.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "daemon/sweep.h"
#include "sg_bucket.h"
#include "util/log.h"

/*
 * Expired policies or bans removed a tick, and the time that may take, the
 * rest the ticks after: each is audited (an NSS lookup and a write, up to
 * a millisecond), and 65,520 policies expiring together held the loop for
 * 10 s. The kernel applies none of them past its time meanwhile.
 */
#define EXPIRE_PER_TICK	 4096
#define EXPIRE_BUDGET_NS (100 * 1000 * 1000ULL)
/* What note_picked returns when it has enough: the walk stops, no error. */
#define PICKED_ENOUGH 1

struct kind {
	const char *map;
	size_t key_size;
	__u64 (*expires)(const void *value);
	void (*audit)(const struct sg_audit_cfg *cfg, const void *key, const void *value);
	/* The census class of an entry in force at now, or -1. */
	int (*class)(const void *value, __u64 now);
	int (*lift)(int fd, const void *key); /* see struct picked */
	int (*put)(int fd, const void *key, const void *value); /* see struct picked */
	const char *bits; /* the bitmap that keeps a bit of each entry, made again by rebuild */
	int (*rebuild)(void);
};

/* Whether the entry (key, value) is to go. */
typedef int (*pick_fn)(const void *key, const void *value, const void *arg);

/* Keys of the entries to remove, collected first: deleting during the walk would disturb it. */
struct picked {
	size_t key_size;
	pick_fn pick;
	const void *arg;
	char *keys;
	size_t n, cap, max; /* max: 0 for all */
	/* The entry's own remover (a ban's: sg_ban_lift); NULL: a hash map's, in one step. */
	int (*lift)(int fd, const void *key);
	/*
	 * What puts back a value that turned out fresh, when not a plain write:
	 * a policy's sets its bit first (kern/policybits.h), or a rebuild
	 * meanwhile could leave it unseen.
	 */
	int (*put)(int fd, const void *key, const void *value);
};

static int add_key(struct picked *x, const void *key)
{
	char *p;

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		p = realloc(x->keys, x->cap * x->key_size);
		if (!p)
			return -ENOMEM;
		x->keys = p;
	}
	memcpy(x->keys + x->n++ * x->key_size, key, x->key_size);
	return 0;
}

static int note_picked(const void *key, const void *value, void *ctx)
{
	struct picked *x = ctx;

	if (!x->pick(key, value, x->arg))
		return 0;
	if (x->max && x->n == x->max)
		return PICKED_ENOUGH;
	return add_key(x, key);
}

/*
 * Remove the entry at key if it is still to go; 0 when it was, with its
 * value. The CLI or the kernel may have written a new value since the
 * walk. Hash maps remove and return in one step (Linux 5.14), and a value
 * that turns out to be fresh goes back (unless another was written
 * meanwhile); the LPM trie (the bans, with a remover of their own) and
 * older kernels cannot, so there an entry renewed within microseconds of
 * the check could be lost.
 */
static int take(int fd, const void *key, void *value, const struct picked *x)
{
	if (!x->lift && !bpf_map_lookup_and_delete_elem(fd, key, value)) {
		if (x->pick(key, value, x->arg))
			return 0;
		if (x->put)
			x->put(fd, key, value);
		else
			bpf_map_update_elem(fd, key, value, BPF_NOEXIST);
		return -EAGAIN;
	}
	/* Not supported (before Linux 5.14): the two-step way. */
	if (!x->lift && errno == ENOENT)
		return -ENOENT;
	if (bpf_map_lookup_elem(fd, key, value) || !x->pick(key, value, x->arg))
		return -EAGAIN;
	if (x->lift)
		return x->lift(fd, key);
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

_Static_assert(sizeof(struct sg_uid_stats) <= 128 && sizeof(struct sg_sender) <= 128 &&
		       sizeof(struct sg_policy) <= 128 && sizeof(struct sg_ban) <= 128,
	       "a value swept fits remove_picked()'s buffer");

/*
 * Remove what x picked and is still to go, until the clock passes
 * deadline_ns (0: none); removed() is told of each. Returns how many.
 */
static int remove_listed(int fd, const struct picked *x, __u64 deadline_ns,
			 void (*removed)(const void *key, const void *value, void *ctx), void *ctx)
{
	char value[128]; /* the largest value swept is sg_uid_stats' */
	int n = 0;
	size_t i;

	for (i = 0; i < x->n && (!deadline_ns || sg_boot_ns() < deadline_ns); i++) {
		const void *key = x->keys + i * x->key_size;

		if (take(fd, key, value, x))
			continue;
		removed(key, value, ctx);
		n++;
	}
	return n;
}

/* Walk fd whole, remove what pick chooses, removed() told of each; how many, or -errno. */
static int remove_picked(int fd, size_t key_size, pick_fn pick, const void *arg,
			 void (*removed)(const void *key, const void *value, void *ctx), void *ctx)
{
	struct picked x = { .key_size = key_size, .pick = pick, .arg = arg };
	int err = sg_map_for_each(fd, note_picked, &x);

	if (!err)
		err = remove_listed(fd, &x, 0, removed, ctx);
	free(x.keys);
	return err;
}

struct expired {
	const struct kind *kind;
	const struct sg_audit_cfg *cfg;
	__u64 now;
	struct sg_census *census;
	struct picked picked;
};

static int is_expired(const void *key, const void *value, const void *arg)
{
	const struct expired *x = arg;
	__u64 expires = x->kind->expires(value);

	return expires && expires <= x->now;
}

static void expired_audit(const void *key, const void *value, void *ctx)
{
	const struct expired *x = ctx;

	x->kind->audit(x->cfg, key, value);
}

/* An entry of this tick's share: counted, and noted if its time is up (EXPIRE_PER_TICK at most). */
static int census_entry(const void *key, const void *value, void *ctx)
{
	struct expired *x = ctx;
	int class = x->kind->class(value, x->now), err;

	x->census->entries++;
	if (class >= 0)
		x->census->in_force[class]++;
	err = note_picked(key, value, &x->picked);
	return err == PICKED_ENOUGH ? 0 : err;
}

/* The pass's counts, kept once it is complete, and a new one begun. */
static void census_pass_done(struct sg_census *c, int complete)
{
	if (complete) {
		c->last_entries = c->entries;
		memcpy(c->last_in_force, c->in_force, sizeof(c->in_force));
		c->counted = 1;
	}
	c->entries = 0;
	memset(c->in_force, 0, sizeof(c->in_force));
}

/*
 * The last key picked is held back when the walk resumes after it (its
 * removal would lose the walk's place); the one held before is picked,
 * now that the walk has gone past it.
 */
static int swap_held(struct sg_census *c, struct picked *x)
{
	__u8 was[sizeof(c->held_key)];
	int had = c->held;
	const char *last;

	memcpy(was, c->held_key, x->key_size);
	c->held = 0;
	if (x->n) {
		last = x->keys + (x->n - 1) * x->key_size;
		c->held = sg_cursor_after(&c->cursor, last, x->key_size);
	}
	if (c->held) {
		memcpy(c->held_key, last, x->key_size);
		x->n--;
	}
	return had ? add_key(x, was) : 0;
}

/* A rebuild of a bitmap walks its whole map: after expiries, at most this often. */
#define BITS_EVERY_NS (60 * SG_NS_PER_SEC)

/*
 * The expired entries' bits go too: left, the lookups they let through
 * would go on until the next start, the fast path lost bit by bit.
 */
static void drop_bits(const struct kind *kind, struct sg_census *c, int n, __u64 now_ns)
{
	int err;

	if (n > 0)
		c->removed += (__u64)n;
	if (!c->removed || (c->rebuilt_ns && now_ns - c->rebuilt_ns < BITS_EVERY_NS))
		return;
	c->rebuilt_ns = now_ns;
	err = kind->rebuild();
	if (err)
		sg_warn("clearing expired entries of %s from %s: %s", kind->map, kind->bits,
			strerror(-err));
	else
		c->removed = 0;
}

static int sweep(const struct kind *kind, const struct sg_audit_cfg *cfg, __u64 now,
		 struct sg_census *census)
{
	struct expired x = { .kind = kind, .cfg = cfg, .now = now, .census = census };
	int fd, n;

	x.picked = (struct picked){ .key_size = kind->key_size,
				    .pick = is_expired,
				    .arg = &x,
				    .max = EXPIRE_PER_TICK,
				    .lift = kind->lift,
				    .put = kind->put };
	fd = sg_pin_open(kind->map);
	if (fd < 0)
		return fd;
	n = sg_map_walk_some(fd, &census->cursor, SG_WALK_PER_TICK, census_entry, &x);
	/* Anything but 0 ends the pass: complete (1), or to be dropped. */
	if (n)
		census_pass_done(census, n == 1);
	if (n >= 0)
		n = swap_held(census, &x.picked);
	if (n >= 0)
		n = remove_listed(fd, &x.picked, sg_boot_ns() + EXPIRE_BUDGET_NS, expired_audit,
				  &x);
	free(x.picked.keys);
	close(fd);
	drop_bits(kind, census, n, now);
	return n;
}

static __u64 policy_expires(const void *value)
{
	return ((const struct sg_policy *)value)->expires_ns;
}

static int policy_class(const void *value, __u64 now)
{
	const struct sg_policy *p = value;

	return sg_policy_in_force(p, now) && p->mode < SG_MODE__MAX ? (int)p->mode : -1;
}

static int put_policy(int fd, const void *key, const void *value)
{
	return sg_policy_put(fd, *(const __u32 *)key, value, BPF_NOEXIST);
}

static void policy_audit(const struct sg_audit_cfg *cfg, const void *key, const void *value)
{
	const struct sg_policy *p = value;
	struct sg_audit_entry e = { .actor = "daemon", .action = "expire", .has_uid = 1 };
	char user[64];

	e.uid = *(const __u32 *)key;
	if (!sg_user_name(e.uid, user, sizeof(user)))
		e.user = user;
	e.params = json_pack("{s:s}", "mode", sg_mode_name(p->mode));
	e.reason = "its time was up";
	e.expires_ns = p->expires_ns;
	/* A failure is told and counted by the audit log's own note (cfg->fails). */
	sg_audit_write(cfg, &e);
	json_decref(e.params);
}

static __u64 ban_expires(const void *value)
{
	return ((const struct sg_ban *)value)->expires_ns;
}

static int ban_class(const void *value, __u64 now)
{
	const struct sg_ban *b = value;

	return b->reason < SG_BAN__MAX && (!b->expires_ns || b->expires_ns > now) ? (int)b->reason
										  : -1;
}

static void ban_audit(const struct sg_audit_cfg *cfg, const void *key, const void *value)
{
	const struct sg_ban *b = value;
	struct sg_audit_entry e = { .actor = "daemon", .action = "ban-expire" };
	char cidr[64];

	e.target = sg_format_cidr(key, cidr, sizeof(cidr));
	e.params = json_pack("{s:I, s:s}", "drops", (json_int_t)b->drops, "reason",
			     sg_ban_reason_name(b->reason));
	e.reason = "its time was up";
	e.expires_ns = b->expires_ns;
	/* A failure is told and counted by the audit log's own note (cfg->fails). */
	sg_audit_write(cfg, &e);
	json_decref(e.params);
}

_Static_assert(SG_MODE__MAX <= SG_CENSUS_CLASSES && SG_BAN__MAX <= SG_CENSUS_CLASSES,
	       "a census has a class for every mode and every reason");

int sg_sweep_policies(const struct sg_audit_cfg *audit, __u64 now_ns, struct sg_census *c)
{
	static const struct kind policies = { .map = SG_MAP_POLICIES,
					      .key_size = sizeof(__u32),
					      .expires = policy_expires,
					      .audit = policy_audit,
					      .class = policy_class,
					      .put = put_policy,
					      .bits = SG_MAP_POLICY_BITS,
					      .rebuild = sg_policy_bits_rebuild };

	return sweep(&policies, audit, now_ns, c);
}

/* Expired bans are a batch: their bits go at the sweep's next rebuild. */
static int ban_lift(int fd, const void *key)
{
	return sg_ban_lift(fd, key, NULL);
}

int sg_sweep_bans(const struct sg_audit_cfg *audit, __u64 now_ns, struct sg_census *c)
{
	static const struct kind bans = { .map = SG_MAP_BANS,
					  .key_size = sizeof(struct sg_ban_key),
					  .expires = ban_expires,
					  .audit = ban_audit,
					  .class = ban_class,
					  .lift = ban_lift,
					  .bits = SG_MAP_BAN_BITS,
					  .rebuild = sg_ban_bits_rebuild };

	return sweep(&bans, audit, now_ns, c);
}

const char *const sg_stale_names[SG_STALE__MAX] = { "sg_flows",	  "sg_senders",
						    "sg_buckets", "sg_uid_stats",
						    "baselines",  "baselines_over_max" };

/* What the stale-entry sweep looks at; fds of the pinned maps. */
struct stale {
	__u64 now, stale_ns;
	int policies, buckets, swept;
	struct sg_policy def; /* the default policy, which governs a UID with none of its own */
	/* UIDs whose entries were removed, one per entry, and which table's. */
	__u32 *uids;
	size_t n, cap;
};

static int idle(const struct stale *s, __u64 last_ns)
{
	return last_ns + s->stale_ns <= s->now;
}

static int flow_stale(const void *key, const void *value, const void *arg)
{
	return idle(arg, ((const struct sg_flow *)value)->last_ns);
}

/*
 * A process unused for long, or gone (its pid reused since only keeps it
 * longer). The kernel records pids of the host's PID namespace: the daemon's.
 */
static int sender_stale(const void *key, const void *value, const void *arg)
{
	const struct sg_sender_key *k = key;

	if (idle(arg, ((const struct sg_sender *)value)->last_ns))
		return 1;
	return kill(k->tgid, 0) && errno == ESRCH;
}

static void note_uid(const void *key, const void *value, void *ctx)
{
	struct stale *s = ctx;
	__u32 *p;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		p = realloc(s->uids, s->cap * sizeof(*p));
		if (!p)
			return; /* the UID's count stays higher: it may make fewer entries */
		s->uids = p;
	}
	s->uids[s->n++] = *(const __u32 *)key; /* uid leads both keys */
}

static int by_value(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

/*
 * Add the entries removed per UID to its sg_uid_swept count, flows or
 * senders, written in one batch: a sweep of 10,000 UIDs' processes is one
 * write, not 10,000. -errno.
 */
static int charge_back(struct stale *s, int senders)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct sg_uid_swept *sw = calloc(s->n ? s->n : 1, sizeof(*sw));
	__u32 n = 0;
	size_t i, j;
	int err = 0;

	if (!sw)
		return -ENOMEM;
	qsort(s->uids, s->n, sizeof(*s->uids), by_value);
	/* Each UID once, at the front of s->uids, its new count at the same index of sw. */
	for (i = 0; i < s->n; i = j) {
		for (j = i + 1; j < s->n && s->uids[j] == s->uids[i]; j++)
			;
		bpf_map_lookup_elem(s->swept, &s->uids[i], &sw[n]);
		if (senders)
			sw[n].senders += j - i;
		else
			sw[n].flows += j - i;
		s->uids[n++] = s->uids[i];
	}
	if (n && bpf_map_update_batch(s->swept, s->uids, sw, &n, &opts))
		err = -errno;
	free(sw);
	s->n = 0;
	return err;
}

static int has_policy(const struct stale *s, __u32 uid)
{
	struct sg_policy p;

	return !bpf_map_lookup_elem(s->policies, &uid, &p);
}

/*
 * A bucket of a UID with no policy of its own, unused for long and full
 * again under the default (its TAT passed): a new one would start full too.
 */
static int bucket_stale(const void *key, const void *value, const void *arg)
{
	const struct sg_bucket *b = value;
	const struct stale *s = arg;

	if (has_policy(s, *(const __u32 *)key) || !idle(s, b->last_ns))
		return 0;
	return s->def.mode != SG_MODE_THROTTLE || b->tat_ns <= s->now;
}

/* A UID with no policy, no bucket, no entry left in sg_flows or sg_senders, unused for long. */
static int uid_stale(const void *key, const void *value, const void *arg)
{
	const struct sg_uid_stats *st = value;
	const struct stale *s = arg;
	struct sg_uid_swept sw = {};
	struct sg_bucket b;
	__u32 uid = *(const __u32 *)key;

	if (!idle(s, st->last_ns) || has_policy(s, uid) ||
	    !bpf_map_lookup_elem(s->buckets, &uid, &b))
		return 0;
	bpf_map_lookup_elem(s->swept, &uid, &sw);
	return st->flows <= sw.flows && st->senders <= sw.senders;
}

static void uid_gone(const void *key, const void *value, void *ctx)
{
	bpf_map_delete_elem(((struct stale *)ctx)->swept, key);
}

static void no_note(const void *key, const void *value, void *ctx)
{
}

/* Sweep one map: name's entries that pick chooses; their count into *removed. */
static int sweep_map(const char *name, size_t key_size, pick_fn pick, struct stale *s,
		     void (*removed)(const void *key, const void *value, void *ctx), __u64 *total)
{
	int fd = sg_pin_open(name), n;

	if (fd < 0)
		return fd;
	n = remove_picked(fd, key_size, pick, s, removed, s);
	close(fd);
	if (n < 0)
		return n;
	*total += n;
	return 0;
}

static int sweep_stale(struct stale *s, __u64 removed[SG_STALE__MAX])
{
	int err;

	err = sweep_map(SG_MAP_FLOWS, sizeof(struct sg_flow_key), flow_stale, s, note_uid,
			&removed[SG_STALE_FLOWS]);
	if (!err)
		err = charge_back(s, 0);
	if (!err)
		err = sweep_map(SG_MAP_SENDERS, sizeof(struct sg_sender_key), sender_stale, s,
				note_uid, &removed[SG_STALE_SENDERS]);
	if (!err)
		err = charge_back(s, 1);
	if (!err)
		err = sweep_map(SG_MAP_BUCKETS, sizeof(__u32), bucket_stale, s, no_note,
				&removed[SG_STALE_BUCKETS]);
	if (!err)
		err = sweep_map(SG_MAP_UID_STATS, sizeof(__u32), uid_stale, s, uid_gone,
				&removed[SG_STALE_UIDS]);
	return err;
}

int sg_sweep_stale(__u64 now_ns, __u64 stale_ns, __u64 removed[SG_STALE__MAX])
{
	struct stale s = { .now = now_ns, .stale_ns = stale_ns };
	struct sg_settings settings;
	int err;

	err = sg_settings_get(&settings);
	if (err)
		return err;
	s.def = settings.default_policy;
	s.policies = sg_pin_open(SG_MAP_POLICIES);
	s.buckets = sg_pin_open(SG_MAP_BUCKETS);
	s.swept = sg_pin_open(SG_MAP_UID_SWEPT);
	if (s.policies < 0 || s.buckets < 0 || s.swept < 0)
		err = s.policies < 0 ? s.policies : s.buckets < 0 ? s.buckets : s.swept;
	else
		err = sweep_stale(&s, removed);
	if (s.policies >= 0)
		close(s.policies);
	if (s.buckets >= 0)
		close(s.buckets);
	if (s.swept >= 0)
		close(s.swept);
	free(s.uids);
	return err;
}
