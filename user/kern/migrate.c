// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/decide.h"
#include "kern/collect.h"
#include "kern/layout.h"
#include "kern/maps.h"
#include "kern/migrate.h"
#include "kern/state.h"
#include "sg_bucket.h"

/*
 * Turns one value (one CPU's, for a per-CPU map) of version from into this
 * build's, zeroed, with its key; -errno. Other maps it reads are still the
 * pinned ones, of the older build: the pins move only after every copy.
 */
typedef int (*sg_convert_fn)(const void *key, const void *old, void *new);

struct sg_converter {
	const char *map;
	__u32 from;
	__u32 key_size, value_size; /* the map's at version from */
	sg_convert_fn fn;
};

/* The name a map is pinned by: its own, but for global data pinned in another's (sg_ban_bits). */
static const char *pin_name(const struct bpf_map *map)
{
	const char *slash = strrchr(bpf_map__pin_path(map), '/');

	return slash ? slash + 1 : bpf_map__name(map);
}

/* sg_settings 1 -> 2: .layout appended. */
static int settings_from_1(const void *key, const void *old, void *new)
{
	struct sg_settings *s = new;

	memcpy(s, old, offsetof(struct sg_settings, layout));
	s->layout = SG_SETTINGS_LAYOUT;
	return 0;
}

/* sg_buckets' value at layout 1: a token bucket under a lock. */
struct bucket_1 {
	__u32 lock; /* struct bpf_spin_lock */
	__u32 pad;
	__u64 tokens;  /* scaled by SG_NS_PER_HOUR */
	__u64 last_ns; /* of the last refill; 0 = never used */
	__u64 policy_ns;
};

/*
 * The policy in force for uid, as the connect hooks find it: its own in
 * sg_policies, else sg_settings' default (the pinned sg_settings may still
 * be of layout 1, whose default_policy comes first too).
 */
static int policy_in_force(__u32 uid, struct sg_policy *p)
{
	struct sg_settings s;
	int fd = sg_pin_open(SG_MAP_POLICIES), own, err;

	if (fd < 0)
		return fd;
	own = !bpf_map_lookup_elem(fd, &uid, p);
	err = own || errno == ENOENT ? 0 : -errno;
	close(fd);
	if (err || (own && sg_policy_in_force(p, sg_boot_ns())))
		return err;
	err = sg_settings_get(&s);
	if (!err)
		*p = s.default_policy;
	return err;
}

/*
 * sg_buckets 1 -> 2: the TAT is when the old bucket would have been full,
 * at the rate and burst of the policy in force for its UID, so that no
 * throttled sender is handed a fresh burst by the upgrade. A bucket never
 * used, or of an older policy that does not keep its tokens (the old code
 * would have filled it at the next connect), is full: TAT 0.
 */
static int buckets_from_1(const void *key, const void *old, void *new)
{
	const struct bucket_1 *o = old;
	struct sg_bucket *b = new;
	struct sg_policy p;
	__u64 cap, tokens;
	int err = policy_in_force(*(const __u32 *)key, &p);

	if (err)
		return err;
	b->last_ns = o->last_ns;
	b->policy_ns = o->policy_ns;
	if (!o->last_ns || !p.rate_per_hour ||
	    (o->policy_ns != p.updated_ns && !(p.flags & SG_POLICY_KEEP_TOKENS)))
		return 0;
	/* As the hooks take a burst above the bound. */
	cap = (__u64)(p.burst < SG_BURST_MAX ? p.burst : SG_BURST_MAX) * SG_NS_PER_HOUR;
	tokens = o->tokens < cap ? o->tokens : cap;
	b->tat_ns = o->last_ns + (cap - tokens + p.rate_per_hour - 1) / p.rate_per_hour;
	b->interval_ns = sg_bucket_interval(p.rate_per_hour);
	b->burst = p.burst;
	return 0;
}

/*
 * One row per map and older version this build can convert (see
 * user/kern/layout.c for when to add one). A converter turns its version
 * into this build's: when a layout is bumped again, the rows from older
 * versions are brought along to the new one, or removed (then pins of
 * that version are refused, and say so). The old value size must differ
 * from the new: a map of this build's shape still recorded at an older
 * version is one whose upgrade stopped between its pin's rename and the
 * record, and is taken as converted. No fn: nothing is copied, the map
 * being made again from others after every load (sg_ban_bits from
 * sg_bans) or starting empty (sg_local_stash).
 */
static const struct sg_converter converters[] = {
	{ SG_MAP_SETTINGS, 1, sizeof(__u32), offsetof(struct sg_settings, layout),
	  settings_from_1 },
	/* 1 -> 2: an array of SG_BAN_BITS_WORDS words became the ingress object's global data. */
	{ SG_MAP_BAN_BITS, 1, sizeof(__u32), sizeof(__u64), NULL },
	/*
	 * 1 -> 2: a lock and the connect's time dropped from each 40-byte slot. Its slots start
	 * free: one a handshake frees in the old map after the copy would stay held for good.
	 */
	{ SG_MAP_LOCAL_STASH, 1, sizeof(__u32), 40, NULL },
	/* 1 -> 2: a token bucket under a lock became a TAT with its policy's interval and burst. */
	{ SG_MAP_BUCKETS, 1, sizeof(__u32), sizeof(struct bucket_1), buckets_from_1 },
};

static const struct sg_converter *converter(const char *map, __u32 from)
{
	size_t i;

	for (i = 0; i < sizeof(converters) / sizeof(converters[0]); i++)
		if (!strcmp(converters[i].map, map) && converters[i].from == from)
			return &converters[i];
	return NULL;
}

/* Maps whose entries user space can walk and write: the others cannot be carried over. */
static int copyable(__u32 type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LPM_TRIE:
		return 1;
	default:
		return 0;
	}
}

/* Maps whose entries are read once and gone: a new one starts empty, and nothing is copied. */
static int transient(__u32 type)
{
	return type == BPF_MAP_TYPE_RINGBUF;
}

static int percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static int is_array(__u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static struct sg_migrate_map *find(struct sg_migration *m, const char *name)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->maps[i].name, name))
			return &m->maps[i];
	return NULL;
}

static int refuse(struct sg_migration *m, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct sg_migration *m, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
	return err;
}

/* What to do with the pinned map name that this build declares as map. */
static int plan_map(struct sg_migration *m, const struct bpf_map *map, struct sg_migrate_map *e)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct sg_layout rec;
	int fd, err, same_shape;

	e->to = sg_layout_version(e->name);
	fd = sg_pin_open(e->name);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return refuse(m, fd, "opening the pinned %s", e->name);
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (err)
		return refuse(m, err, "reading the pinned %s", e->name);
	err = sg_layout_get(e->name, &rec);
	if (err)
		return refuse(m, err, "reading the layout of %s in %s", e->name, SG_MAP_LAYOUT);
	e->from = rec.version;
	e->type = info.type;
	if (info.type != bpf_map__type(map) || info.map_flags != bpf_map__map_flags(map) ||
	    info.key_size != bpf_map__key_size(map))
		return refuse(m, -EPROTO,
			      "the pinned %s is of another type or key than this build's", e->name);
	same_shape = info.value_size == bpf_map__value_size(map);
	if (e->from == e->to) {
		if (!same_shape)
			return refuse(
				m, -EPROTO,
				"the pinned %s has %u-byte values, not %u as its layout %u has",
				e->name, info.value_size, bpf_map__value_size(map), e->to);
		/* A new capacity alone: the entries are copied as they are. */
		e->migrate = info.max_entries != bpf_map__max_entries(map);
	} else {
		e->conv = e->from < e->to ? converter(e->name, e->from) : NULL;
		if (!e->conv)
			return refuse(m, -EPROTO,
				      "the pinned %s has layout %u, which this build (layout %u) "
				      "cannot convert",
				      e->name, e->from, e->to);
		/* A crash between the pin's rename and the record: it is converted already. */
		if (same_shape && info.max_entries == bpf_map__max_entries(map)) {
			e->from = e->to;
			e->conv = NULL;
			return 0;
		}
		if (info.value_size != e->conv->value_size)
			return refuse(
				m, -EPROTO,
				"the pinned %s has %u-byte values, not %u as its layout %u has",
				e->name, info.value_size, e->conv->value_size, e->from);
		e->migrate = 1;
	}
	if (e->migrate && !copyable(info.type) && !transient(info.type))
		return refuse(m, -EPROTO, "the pinned %s changed, and its entries cannot be copied",
			      e->name);
	return 0;
}

int sg_migrate_plan(struct sg_migration *m, struct bpf_object *const *objs, size_t n)
{
	struct sg_migrate_map *e;
	struct bpf_map *map;
	size_t i;
	int err;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < n; i++) {
		bpf_object__for_each_map (map, objs[i]) {
			if (!bpf_map__pin_path(map) || find(m, pin_name(map)))
				continue;
			if (m->n == SG_MIGRATE_MAX)
				return refuse(m, -E2BIG, "more than %d pinned maps",
					      SG_MIGRATE_MAX);
			e = &m->maps[m->n++];
			*e = (struct sg_migrate_map){ .new_fd = -1 };
			snprintf(e->name, sizeof(e->name), "%s", pin_name(map));
			snprintf(e->map, sizeof(e->map), "%s", bpf_map__name(map));
			err = plan_map(m, map, e);
			if (err)
				return err;
		}
	}
	return 0;
}

int sg_migrate_uses(const struct sg_migration *m, const struct bpf_object *obj)
{
	struct bpf_map *map;
	int i;

	bpf_object__for_each_map (map, obj)
		for (i = 0; i < m->n; i++)
			if (m->maps[i].migrate && !strcmp(m->maps[i].map, bpf_map__name(map)))
				return 1;
	return 0;
}

int sg_migrate_prepare(const struct sg_migration *m, struct bpf_object *obj)
{
	struct bpf_map *map;
	int i, err;

	bpf_object__for_each_map (map, obj) {
		for (i = 0; i < m->n; i++) {
			if (!m->maps[i].migrate || strcmp(m->maps[i].map, bpf_map__name(map)))
				continue;
			/* Not the pinned one: libbpf would refuse its old layout. */
			err = bpf_map__set_pin_path(map, NULL);
			if (!err && m->maps[i].new_fd >= 0)
				err = bpf_map__reuse_fd(map, m->maps[i].new_fd);
			if (err)
				return err;
		}
	}
	return 0;
}

int sg_migrate_adopt(struct sg_migration *m, const struct bpf_object *obj)
{
	struct sg_migrate_map *e;
	struct bpf_map *map;
	int i;

	for (i = 0; i < m->n; i++) {
		e = &m->maps[i];
		map = bpf_object__find_map_by_name(obj, e->map);
		if (!map || !e->migrate || e->new_fd >= 0)
			continue;
		e->new_fd = dup(bpf_map__fd(map));
		if (e->new_fd < 0)
			return -errno;
	}
	return 0;
}

struct copy {
	const struct sg_migrate_map *e;
	int fd, ncpus;
	struct bpf_map_info old, new;
	char *value; /* the converted value, all CPUs' */
	int copied;
};

static int copy_one(const void *key, const void *value, void *ctx)
{
	struct copy *c = ctx;
	int cpus = percpu(c->new.type) ? c->ncpus : 1, cpu;
	size_t old_stride = (c->old.value_size + 7) & ~(size_t)7;
	size_t new_stride = (c->new.value_size + 7) & ~(size_t)7;
	int err;

	/* A smaller array keeps the indices it has room for. */
	if (is_array(c->new.type) && *(const __u32 *)key >= c->new.max_entries)
		return 0;
	memset(c->value, 0, new_stride * cpus);
	for (cpu = 0; cpu < cpus; cpu++) {
		const char *from = (const char *)value + cpu * old_stride;
		char *to = c->value + cpu * new_stride;

		if (!c->e->conv)
			memcpy(to, from, c->new.value_size);
		else if ((err = c->e->conv->fn(key, from, to)))
			return err;
	}
	if (bpf_map_update_elem(c->fd, key, c->value, BPF_ANY))
		return -errno;
	c->copied++;
	return 0;
}

static int copy_map(struct sg_migrate_map *e)
{
	struct copy c = { .e = e, .fd = e->new_fd, .ncpus = libbpf_num_possible_cpus() };
	__u32 len = sizeof(c.old);
	int old_fd, err;

	if (c.ncpus <= 0)
		return -EINVAL;
	old_fd = sg_pin_open(e->name);
	if (old_fd < 0)
		return old_fd;
	err = bpf_obj_get_info_by_fd(old_fd, &c.old, &len) ? -errno : 0;
	len = sizeof(c.new);
	if (!err && bpf_obj_get_info_by_fd(e->new_fd, &c.new, &len))
		err = -errno;
	c.value = err ? NULL : calloc(c.ncpus, (c.new.value_size + 7) & ~(size_t)7);
	if (!err && !c.value)
		err = -ENOMEM;
	if (!err)
		err = sg_map_for_each(old_fd, copy_one, &c);
	e->copied = c.copied;
	free(c.value);
	close(old_fd);
	return err;
}

int sg_migrate_copy(struct sg_migration *m)
{
	int i, err;

	for (i = 0; i < m->n; i++) {
		if (!m->maps[i].migrate || transient(m->maps[i].type) ||
		    (m->maps[i].conv && !m->maps[i].conv->fn))
			continue;
		if (m->maps[i].new_fd < 0)
			return refuse(m, -ENOENT, "no program of this build uses %s",
				      m->maps[i].name);
		err = copy_map(&m->maps[i]);
		if (err)
			return refuse(m, err, "copying %s into its new layout", m->maps[i].name);
	}
	return 0;
}

int sg_migrate_commit(struct sg_migration *m)
{
	struct sg_migrate_map *e;
	int i, err;

	for (i = 0; i < m->n; i++) {
		e = &m->maps[i];
		if (e->migrate) {
			err = sg_pin_replace(e->new_fd, e->name);
			if (err)
				return refuse(m, err, "pinning the new %s", e->name);
			if (e->from != e->to)
				printf("converted %s from layout %u to %u: %d %s\n", e->name,
				       e->from, e->to, e->copied,
				       e->copied == 1 ? "entry" : "entries");
			else
				printf("copied %s into its new capacity: %d %s\n", e->name,
				       e->copied, e->copied == 1 ? "entry" : "entries");
		}
		err = sg_layout_put(e->name, &(struct sg_layout){ .version = e->to });
		if (err)
			return refuse(m, err, "recording the layout of %s", e->name);
	}
	return 0;
}

void sg_migrate_free(struct sg_migration *m)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->maps[i].new_fd >= 0)
			close(m->maps[i].new_fd);
	m->n = 0;
}
