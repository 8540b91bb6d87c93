// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern/banbits.h"
#include "kern/bits.h"
#include "kern/maps.h"
#include "kern/state.h"

/* The kernel-internal ENOTSUPP, which bpf(2) returns for unsupported map operations. */
#define KERNEL_ENOTSUPP 524

/* Per-CPU map values are laid out 8-byte aligned, one per possible CPU. */
static size_t percpu_stride(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

static void *percpu_alloc(size_t value_size, int *ncpus)
{
	*ncpus = libbpf_num_possible_cpus();
	if (*ncpus <= 0)
		return NULL;
	return calloc(*ncpus, percpu_stride(value_size));
}

int sg_percpu_sum(int fd, const void *key, size_t value_size, size_t off, __u64 *sum, size_t n)
{
	int ncpus, cpu, err = 0;
	size_t i, stride = percpu_stride(value_size);
	char *vals = percpu_alloc(value_size, &ncpus);

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, vals)) {
		err = -errno;
		goto cleanup;
	}
	memset(sum, 0, n * sizeof(*sum));
	for (cpu = 0; cpu < ncpus; cpu++) {
		const __u64 *v = (const __u64 *)(vals + cpu * stride + off);

		for (i = 0; i < n; i++)
			sum[i] += v[i];
	}
cleanup:
	free(vals);
	return err;
}

#define PORT_BITS_BYTES (SG_PORT_BITS_WORDS * sizeof(__u64))

static void port_bits_put(__u64 *words, __u32 port, __u32 flags)
{
	static const __u32 kinds[] = { SG_PORT_OUTBOUND, SG_PORT_INBOUND };
	__u32 bit;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		bit = sg_port_bit(port, kinds[i]);
		if (flags & kinds[i])
			__atomic_fetch_or(&words[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&words[bit / 64], ~(1ULL << (bit % 64)), __ATOMIC_RELAXED);
	}
}

/* With no sg_port_bits pinned (programs older than it) there is nothing to keep. */
static int port_bits_set(__u32 port, __u32 flags)
{
	__u64 *words;
	int err = sg_pin_mmap(SG_MAP_PORT_BITS, PORT_BITS_BYTES, (void **)&words);

	if (err || !words)
		return err;
	port_bits_put(words, port, flags);
	munmap(words, PORT_BITS_BYTES);
	return 0;
}

static int port_bits_entry(const void *key, const void *value, void *ctx)
{
	/* Flags are the same on every CPU: the first one's will do. */
	port_bits_put(ctx, *(const __u32 *)key, ((const struct sg_port *)value)->flags);
	return 0;
}

int sg_port_bits_rebuild(void)
{
	return sg_bits_rebuild(SG_MAP_PORT_BITS, SG_PORT_BITS_WORDS, SG_MAP_PORTS, port_bits_entry,
			       0);
}

int sg_port_set(int fd, __u32 port, __u32 flags)
{
	size_t stride = percpu_stride(sizeof(struct sg_port));
	int ncpus, cpu, err = 0;
	char *vals = percpu_alloc(sizeof(struct sg_port), &ncpus);

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &port, vals) && errno != ENOENT) {
		err = -errno;
		goto cleanup;
	}
	for (cpu = 0; cpu < ncpus; cpu++)
		((struct sg_port *)(vals + cpu * stride))->flags = flags;
	if (port > 65535)
		err = -ERANGE;
	else if (bpf_map_update_elem(fd, &port, vals, BPF_ANY))
		err = -errno;
	else
		err = port_bits_set(port, flags);
cleanup:
	free(vals);
	return err;
}

int sg_port_remove(int fd, __u32 port)
{
	if (bpf_map_delete_elem(fd, &port) && errno != ENOENT)
		return -errno;
	return port < 65536 ? port_bits_set(port, 0) : 0;
}

void sg_port_sum(const void *percpu, struct sg_port *out)
{
	const size_t first = offsetof(struct sg_port, connects) / sizeof(__u64);
	const size_t n = sizeof(struct sg_port) / sizeof(__u64);
	size_t stride = percpu_stride(sizeof(struct sg_port)), i;
	int cpu, ncpus = libbpf_num_possible_cpus();

	/* Flags are the same on every CPU; the counters add up. */
	memset(out, 0, sizeof(*out));
	out->flags = ((const struct sg_port *)percpu)->flags;
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = first; i < n; i++)
			((__u64 *)out)[i] += ((const __u64 *)((const char *)percpu + cpu * stride))[i];
}

int sg_port_get(int fd, __u32 port, struct sg_port *out)
{
	int ncpus, err = 0;
	char *vals = percpu_alloc(sizeof(struct sg_port), &ncpus);

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &port, vals))
		err = -errno;
	else
		sg_port_sum(vals, out);
	free(vals);
	return err;
}

int sg_ports_default(int fd)
{
	static const struct {
		__u32 port, flags;
	} defaults[] = {
		{ 25, SG_PORT_OUTBOUND | SG_PORT_INBOUND },
		{ 465, SG_PORT_OUTBOUND | SG_PORT_INBOUND | SG_PORT_LOGIN },
		{ 587, SG_PORT_OUTBOUND | SG_PORT_INBOUND | SG_PORT_LOGIN },
		{ 110, SG_PORT_INBOUND | SG_PORT_LOGIN },
		{ 143, SG_PORT_INBOUND | SG_PORT_LOGIN },
		{ 993, SG_PORT_INBOUND | SG_PORT_LOGIN },
		{ 995, SG_PORT_INBOUND | SG_PORT_LOGIN },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		err = sg_port_set(fd, defaults[i].port, defaults[i].flags);
		if (err)
			return err;
	}
	return 0;
}

static void watch(__u8 *bits, __u32 port)
{
	if (port < 65536)
		bits[port / 8] |= 1U << (port % 8);
}

static int port_entry(const void *key, const void *value, void *ctx)
{
	/* Flags are the same on every CPU: the first one's will do. */
	if (((const struct sg_port *)value)->flags & SG_PORT_OUTBOUND)
		watch(ctx, *(const __u32 *)key);
	return 0;
}

int sg_watched_ports(__u8 *bits)
{
	int fd = sg_pin_open(SG_MAP_PORTS), err;

	memset(bits, 0, SG_PORT_BITS);
	if (fd == -ENOENT) {
		watch(bits, 25);
		watch(bits, 465);
		watch(bits, 587);
		return 0;
	}
	if (fd < 0)
		return fd;
	err = sg_map_for_each(fd, port_entry, bits);
	close(fd);
	return err;
}

int sg_counter_get(int fd, __u32 idx, __u64 *out)
{
	return sg_percpu_sum(fd, &idx, sizeof(__u64), 0, out, 1);
}

static int is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

struct walk {
	int fd;
	__u32 key_size;
	size_t value_size;
	sg_entry_fn fn;
	void *ctx;
};

/*
 * Returns -EOPNOTSUPP, before calling fn, when the map has no batch lookups.
 * The kernel writes its resume token into batch: a bucket number for hash
 * maps, but a whole key for the others (the LPM trie's), so it gets a key's
 * room.
 */
static int walk_batch(const struct walk *w)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 chunk = 256, count, i;
	char *batch = calloc(1, w->key_size > sizeof(__u64) ? w->key_size : sizeof(__u64));
	char *keys = malloc((size_t)chunk * w->key_size);
	char *vals = malloc((size_t)chunk * w->value_size);
	int err = 0, done = 0, calls = 0;

	while (!done) {
		if (!batch || !keys || !vals) {
			err = -ENOMEM;
			break;
		}
		count = chunk;
		err = bpf_map_lookup_batch(w->fd, calls ? batch : NULL, batch, keys, vals, &count,
					   &opts);
		/* One hash bucket holds more entries than fit: retry it with room. */
		if (err == -ENOSPC && chunk < (1U << 20)) {
			chunk *= 2;
			free(keys);
			free(vals);
			keys = malloc((size_t)chunk * w->key_size);
			vals = malloc((size_t)chunk * w->value_size);
			continue;
		}
		if (!calls && (err == -EINVAL || err == -KERNEL_ENOTSUPP || err == -EOPNOTSUPP)) {
			err = -EOPNOTSUPP;
			break;
		}
		calls++;
		done = err == -ENOENT;
		if (err && !done)
			break;
		for (err = 0, i = 0; i < count && !err; i++)
			err = w->fn(keys + (size_t)i * w->key_size, vals + (size_t)i * w->value_size,
				    w->ctx);
		if (err)
			break;
	}
	free(batch);
	free(keys);
	free(vals);
	return err;
}

/* For maps with no batch lookups (the LPM trie), whose entries only user space removes. */
static int walk_keys(const struct walk *w)
{
	char *key = malloc(w->key_size), *next = malloc(w->key_size), *val = malloc(w->value_size);
	void *prev = NULL;
	int err = 0;

	if (!key || !next || !val) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (!err && !bpf_map_get_next_key(w->fd, prev, next)) {
		memcpy(key, next, w->key_size);
		prev = key;
		if (!bpf_map_lookup_elem(w->fd, key, val))
			err = w->fn(key, val, w->ctx);
	}
	if (!err && errno != ENOENT)
		err = -errno;
cleanup:
	free(key);
	free(next);
	free(val);
	return err;
}

/* w's sizes, from the map's: a per-CPU value comes one per possible CPU. */
static int walk_init(struct walk *w, int fd, sg_entry_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int ncpus = libbpf_num_possible_cpus();

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (ncpus <= 0)
		return -EINVAL;
	*w = (struct walk){ .fd = fd, .fn = fn, .ctx = ctx, .key_size = info.key_size };
	w->value_size =
		is_percpu(info.type) ? percpu_stride(info.value_size) * ncpus : info.value_size;
	return 0;
}

int sg_map_for_each(int fd, sg_entry_fn fn, void *ctx)
{
	struct walk w;
	int err = walk_init(&w, fd, fn, ctx);

	if (err)
		return err;
	err = walk_batch(&w);
	return err == -EOPNOTSUPP ? walk_keys(&w) : err;
}

static int is_hash(__u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/*
 * Up to *count entries from where c stopped, into keys and vals; 0, -ENOENT
 * at the end of the pass (entries still read), or -errno. A hash bucket
 * larger than *count is read with room for it.
 */
static int batch_some(const struct walk *w, struct sg_cursor *c, char **keys, char **vals,
		      __u32 *count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 want = *count;
	int err;

	for (;;) {
		*count = want;
		err = bpf_map_lookup_batch(w->fd, c->started ? c->token : NULL, c->token, *keys,
					   *vals, count, &opts);
		if (err != -ENOSPC || want >= (1U << 20))
			return err;
		want *= 2;
		free(*keys);
		free(*vals);
		*keys = malloc((size_t)want * w->key_size);
		*vals = malloc((size_t)want * w->value_size);
		if (!*keys || !*vals)
			return -ENOMEM;
	}
}

int sg_map_walk_some(int fd, struct sg_cursor *c, size_t max, sg_entry_fn fn, void *ctx)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), count = max, i;
	__u8 first[sizeof(c->token)];
	struct walk w;
	char *keys = NULL, *vals = NULL;
	int err = walk_init(&w, fd, fn, ctx), end;

	if (!err && bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	if (err)
		return err;
	if (w.key_size > sizeof(c->token) || !max || max > (1U << 20))
		return -EINVAL;
	/* Resuming after a key: one whose successor is the first is no longer there. */
	c->by_key = !is_hash(info.type);
	if (c->started && c->by_key && bpf_map_get_next_key(fd, NULL, first)) {
		c->started = 0;
		return errno == ENOENT ? SG_WALK_LOST : -errno;
	}
	keys = malloc(max * w.key_size);
	vals = malloc(max * w.value_size);
	err = keys && vals ? batch_some(&w, c, &keys, &vals, &count) : -ENOMEM;
	end = err == -ENOENT;
	if (!err || end) {
		err = 0;
		if (c->started && c->by_key && count && !memcmp(keys, first, w.key_size))
			err = SG_WALK_LOST;
		for (i = 0; !err && i < count; i++)
			err = fn(keys + (size_t)i * w.key_size, vals + (size_t)i * w.value_size,
				 ctx);
	}
	c->started = !err && !end;
	free(keys);
	free(vals);
	return err ? err : end;
}

static int count_one(const void *key, const void *value, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

int sg_map_count(int fd)
{
	int n = 0, err = sg_map_for_each(fd, count_one, &n);

	return err ? err : n;
}

int sg_cursor_after(const struct sg_cursor *c, const void *key, size_t key_size)
{
	return c->started && c->by_key && !memcmp(c->token, key, key_size);
}

const char *sg_map_write_error(int fd, int err, char *buf, size_t len)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);

	/* A hash map full says E2BIG, the LPM trie (sg_bans) ENOSPC. */
	if ((err == -E2BIG || err == -ENOSPC) && !bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(buf, len, "%s is full (%u entries)", info.name, info.max_entries);
	else
		snprintf(buf, len, "%s", strerror(-err));
	return buf;
}

__u64 sg_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int sg_ban_put(int fd, const struct sg_ban_key *key, __u64 for_ns, __u32 reason, int *renewed,
	       __u64 *expires_ns)
{
	struct sg_ban ban = { .reason = reason }, old;
	int again, lock, err = 0;

	/* XDP asks the bits first: they cover the ban before the trie has it. */
	lock = sg_ban_bits_mark(key);
	if (lock < 0)
		return lock;
	/* The trie answers with the longest match: only the same prefix is this ban. */
	again = !bpf_map_lookup_elem(fd, key, &old) && old.prefixlen == key->prefixlen;
	if (again)
		ban.drops = old.drops;
	ban.prefixlen = key->prefixlen;
	ban.added_ns = sg_boot_ns();
	ban.expires_ns = for_ns ? ban.added_ns + for_ns : 0;
	if (bpf_map_update_elem(fd, key, &ban, BPF_ANY))
		err = -errno;
	sg_ban_bits_unlock(lock);
	if (err)
		return err;
	if (renewed)
		*renewed = again;
	if (expires_ns)
		*expires_ns = ban.expires_ns;
	return 0;
}

int sg_ban_lift(int fd, const struct sg_ban_key *key, int *bits_err)
{
	if (bpf_map_delete_elem(fd, key))
		return -errno;
	if (bits_err)
		*bits_err = sg_ban_bits_rebuild();
	return 0;
}

int sg_ban_raise(int fd, const struct sg_ban_key *key, __u64 for_ns, __u32 reason)
{
	struct sg_ban old;

	if (!bpf_map_lookup_elem(fd, key, &old) && old.prefixlen == key->prefixlen &&
	    (!old.expires_ns || old.expires_ns >= sg_boot_ns() + for_ns))
		return 1;
	return sg_ban_put(fd, key, for_ns, reason, NULL, NULL);
}
