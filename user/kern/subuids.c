// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "kern/bits.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "kern/subuids.h"

#define BITS_BYTES ((size_t)SG_SUBUID_BITS_WORDS * sizeof(__u64))

struct wanted {
	struct sg_subuid_key *keys; /* every range's prefixes, sorted */
	size_t n;
	struct sg_subuid_key *stale; /* in the map, in no range */
	size_t n_stale, cap_stale;
	__u64 *bits; /* the blocks of the map's prefixes and the ranges' */
};

/* Sets the bit of every block of 65,536 UIDs that [first, first + count) touches. */
static void mark_blocks(__u64 *bits, __u32 first, __u64 count)
{
	__u32 b, last = (__u32)((first + count - 1) >> 16);

	for (b = first >> 16; b <= last; b++)
		bits[b / 64] |= 1ULL << (b % 64);
}

static void mark_key(__u64 *bits, const struct sg_subuid_key *k)
{
	mark_blocks(bits, ntohl(k->uid), 1ULL << (32 - k->prefixlen));
}

static int mark_entry(const void *key, const void *value, void *ctx)
{
	mark_key(ctx, key);
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct sg_subuid_key *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}

static int note_key(const void *key, const void *value, void *ctx)
{
	struct wanted *w = ctx;
	struct sg_subuid_key *grown;

	mark_key(w->bits, key);
	if (bsearch(key, w->keys, w->n, sizeof(*w->keys), key_cmp))
		return 0;
	if (w->n_stale == w->cap_stale) {
		w->cap_stale = w->cap_stale ? w->cap_stale * 2 : 64;
		grown = realloc(w->stale, w->cap_stale * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		w->stale = grown;
	}
	w->stale[w->n_stale++] = *(const struct sg_subuid_key *)key;
	return 0;
}

static int wanted_keys(const struct sg_subid_set *set, struct wanted *w)
{
	size_t i;

	w->keys = malloc((set->n ? set->n : 1) * SG_SUBID_MAX_PREFIXES * sizeof(*w->keys));
	w->bits = calloc(SG_SUBUID_BITS_WORDS, sizeof(*w->bits));
	if (!w->keys || !w->bits)
		return -ENOMEM;
	for (i = 0; i < set->n; i++) {
		w->n += sg_subid_prefixes(set->ranges[i].start, set->ranges[i].count,
					  w->keys + w->n);
		mark_blocks(w->bits, set->ranges[i].start, set->ranges[i].count);
	}
	qsort(w->keys, w->n, sizeof(*w->keys), key_cmp);
	return 0;
}

/*
 * Puts one range's prefixes, skipping those that already name its owner
 * (some kernels refuse even to rewrite a key a full trie holds); with no room
 * (ENOSPC from an LPM trie at max_entries), takes the range's prefixes out:
 * 1 then, else 0 or -errno.
 */
static int put_range(int fd, const struct sg_subid_range *r)
{
	struct sg_subuid_key keys[SG_SUBID_MAX_PREFIXES];
	int n = sg_subid_prefixes(r->start, r->count, keys), i, err = 0;
	__u32 owner;

	/*
	 * An LPM trie's lookup gives the longest prefix containing the key, not
	 * the key itself; it names this key's entry only because the ranges
	 * never overlap (sg_subid_read refuses overlaps) and the stale keys are
	 * deleted before any is put (sg_subuids_apply).
	 */
	for (i = 0; i < n && !err; i++)
		if ((bpf_map_lookup_elem(fd, &keys[i], &owner) || owner != r->owner) &&
		    bpf_map_update_elem(fd, &keys[i], &r->owner, BPF_ANY))
			err = -errno;
	if (err != -ENOSPC && err != -E2BIG && err != -ENOMEM)
		return err;
	while (--i >= 0)
		bpf_map_delete_elem(fd, &keys[i]);
	return 1;
}

int sg_subuids_apply(struct sg_subid_set *set)
{
	struct wanted w = {};
	size_t i, out = 0;
	int fd = sg_pin_open(SG_MAP_SUBUIDS), err;
	__u64 *words = NULL;

	if (fd < 0)
		return fd;
	err = wanted_keys(set, &w);
	if (!err)
		err = sg_map_for_each(fd, note_key, &w);
	/* With no sg_subuid_bits pinned (programs older than it) there are no bits to keep. */
	if (!err)
		err = sg_pin_mmap(SG_MAP_SUBUID_BITS, BITS_BYTES, (void **)&words);
	/* Every prefix, live or to come, is asked for before the trie changes. */
	if (words)
		sg_bits_store(words, w.bits, SG_SUBUID_BITS_WORDS, 1);
	for (i = 0; !err && i < w.n_stale; i++)
		if (bpf_map_delete_elem(fd, &w.stale[i]) && errno != ENOENT)
			err = -errno;
	for (i = 0; !err && i < set->n; i++) {
		err = put_range(fd, &set->ranges[i]);
		if (err == 1) {
			set->outcomes[SG_SUBID_LOADED]--;
			set->outcomes[SG_SUBID_FULL]++;
			err = 0;
			continue;
		}
		set->ranges[out++] = set->ranges[i];
	}
	if (!err)
		set->n = out;
	/* Then the ranges kept alone, unless a failure left old and new prefixes in the trie. */
	if (!err && words) {
		memset(w.bits, 0, BITS_BYTES);
		for (i = 0; i < set->n; i++)
			mark_blocks(w.bits, set->ranges[i].start, set->ranges[i].count);
		sg_bits_store(words, w.bits, SG_SUBUID_BITS_WORDS, 0);
	}
	if (words)
		munmap(words, BITS_BYTES);
	free(w.keys);
	free(w.stale);
	free(w.bits);
	close(fd);
	return err;
}

int sg_subuid_bits_rebuild(void)
{
	return sg_bits_rebuild(SG_MAP_SUBUID_BITS, SG_SUBUID_BITS_WORDS, SG_MAP_SUBUIDS, mark_entry,
			       1);
}

__u32 sg_subuids_owner(int fd, __u32 uid)
{
	struct sg_subuid_key key = { .prefixlen = 32, .uid = htonl(uid) };
	__u32 owner;

	return fd >= 0 && !bpf_map_lookup_elem(fd, &key, &owner) ? owner : uid;
}
