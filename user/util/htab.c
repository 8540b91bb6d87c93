// SPDX-License-Identifier: GPL-2.0
/*
 * The hash table; see htab.h. Each slot has a tag beside its entry: the
 * key's 32-bit hash, never 0, so 0 marks an empty slot, and a probe
 * compares keys only where the tags agree. The home slot of an entry is
 * its tag's low bits, so growing and shifting never hash a key again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/htab.h"

#define MIN_SLOTS 8
/* Tags are 32 bits: more slots would leave some homes unreachable. */
#define MAX_SLOTS (1UL << 31)

struct sg_htab {
	enum sg_htab_key kind;
	size_t key_size, entry_size;
	size_t max;  /* entries; 0: no bound */
	size_t mask; /* slots - 1, slots a power of two */
	size_t n;
	__u64 refused;
	__u32 *tags;
	unsigned char *entries;
};

static void *entry_at(const struct sg_htab *h, size_t i)
{
	return h->entries + i * h->entry_size;
}

/* The key's length as stored and hashed; key_size when a string key does not fit. */
static size_t key_len(const struct sg_htab *h, const void *key)
{
	return h->kind == SG_HTAB_BYTES ? h->key_size : strnlen(key, h->key_size);
}

/* The key of the entry in slot i, as given to sg_htab_add. */
static const void *key_at(const struct sg_htab *h, size_t i)
{
	const void *e = entry_at(h, i);

	return h->kind == SG_HTAB_STRING_REF ? *(const char *const *)e : e;
}

/* FNV-1a, folded to 32 bits; never 0, which marks an empty slot. */
static __u32 tag_of(const void *key, size_t len)
{
	const unsigned char *p = key;
	__u64 x = 14695981039346656037ULL;
	__u32 t;

	while (len--)
		x = (x ^ *p++) * 1099511628211ULL;
	t = (__u32)(x ^ (x >> 32));
	return t ? t : 1;
}

/* The slot of key, or the empty slot where it would go. */
static size_t probe(const struct sg_htab *h, const void *key, size_t len, __u32 tag)
{
	size_t i = tag & h->mask;

	/* A string key's NUL is compared too: "ab" is not "abc". */
	while (h->tags[i] &&
	       (h->tags[i] != tag || memcmp(key_at(h, i), key, len + (h->kind != SG_HTAB_BYTES))))
		i = (i + 1) & h->mask;
	return i;
}

static int alloc_slots(struct sg_htab *h, size_t slots)
{
	h->tags = calloc(slots, sizeof(*h->tags));
	h->entries = calloc(slots, h->entry_size);
	if (!h->tags || !h->entries) {
		free(h->tags);
		free(h->entries);
		return -ENOMEM;
	}
	h->mask = slots - 1;
	return 0;
}

/*
 * Whether slots can hold n entries: three quarters full at most. The tags
 * keep the longer probes cheap (16 to a cache line, keys compared only where
 * one agrees), and 10,000 UIDs take 16,384 slots where half full took 32,768.
 */
static int room(size_t slots, size_t n)
{
	return n <= slots / 4 * 3;
}

/* Slots for n entries. */
static size_t slots_for(size_t n)
{
	size_t slots = MIN_SLOTS;

	while (slots < MAX_SLOTS && !room(slots, n))
		slots *= 2;
	return slots;
}

struct sg_htab *sg_htab_new(enum sg_htab_key kind, size_t key_size, size_t entry_size, size_t min,
			    size_t max)
{
	struct sg_htab *h;

	if (!key_size || (kind == SG_HTAB_STRING_REF ? sizeof(char *) : key_size) > entry_size ||
	    (max && min > max) || min > MAX_SLOTS / 2) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct sg_htab){
		.kind = kind, .key_size = key_size, .entry_size = entry_size, .max = max
	};
	if (alloc_slots(h, slots_for(min))) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	return h;
}

void sg_htab_free(struct sg_htab *h)
{
	if (!h)
		return;
	free(h->tags);
	free(h->entries);
	free(h);
}

void *sg_htab_find(const struct sg_htab *h, const void *key)
{
	size_t len = key_len(h, key), i;

	if (len == h->key_size && h->kind != SG_HTAB_BYTES)
		return NULL;
	i = probe(h, key, len, tag_of(key, len));
	return h->tags[i] ? entry_at(h, i) : NULL;
}

static int grow(struct sg_htab *h)
{
	struct sg_htab old = *h;
	size_t i, j;

	if (old.mask + 1 >= MAX_SLOTS || alloc_slots(h, (old.mask + 1) * 2)) {
		*h = old;
		return -ENOMEM;
	}
	for (i = 0; i <= old.mask; i++) {
		if (!old.tags[i])
			continue;
		for (j = old.tags[i] & h->mask; h->tags[j]; j = (j + 1) & h->mask)
			;
		h->tags[j] = old.tags[i];
		memcpy(entry_at(h, j), entry_at(&old, i), h->entry_size);
	}
	free(old.tags);
	free(old.entries);
	return 0;
}

int sg_htab_add(struct sg_htab *h, const void *key, void **entry)
{
	size_t len = key_len(h, key), i;
	__u32 tag = tag_of(key, len);

	if (len == h->key_size && h->kind != SG_HTAB_BYTES)
		return -ENAMETOOLONG;
	i = probe(h, key, len, tag);
	if (h->tags[i]) {
		*entry = entry_at(h, i);
		return 0;
	}
	if (h->max && h->n == h->max) {
		h->refused++;
		return -ENOSPC;
	}
	if (!room(h->mask + 1, h->n + 1)) {
		if (grow(h))
			return -ENOMEM;
		i = probe(h, key, len, tag);
	}
	h->tags[i] = tag;
	*entry = entry_at(h, i);
	memset(*entry, 0, h->entry_size);
	if (h->kind == SG_HTAB_STRING_REF)
		*(const void **)*entry = key;
	else
		memcpy(*entry, key, len);
	h->n++;
	return 1;
}

int sg_htab_delete(struct sg_htab *h, const void *key)
{
	size_t len = key_len(h, key), i, j;

	if (len == h->key_size && h->kind != SG_HTAB_BYTES)
		return -ENOENT;
	i = probe(h, key, len, tag_of(key, len));
	if (!h->tags[i])
		return -ENOENT;
	h->tags[i] = 0;
	h->n--;
	/* Move back every later entry of the run that the hole would hide from its home. */
	for (j = (i + 1) & h->mask; h->tags[j]; j = (j + 1) & h->mask) {
		if (((j - (h->tags[j] & h->mask)) & h->mask) < ((j - i) & h->mask))
			continue;
		h->tags[i] = h->tags[j];
		memcpy(entry_at(h, i), entry_at(h, j), h->entry_size);
		h->tags[j] = 0;
		i = j;
	}
	return 0;
}

void sg_htab_clear(struct sg_htab *h)
{
	memset(h->tags, 0, (h->mask + 1) * sizeof(*h->tags));
	h->n = 0;
}

size_t sg_htab_count(const struct sg_htab *h)
{
	return h->n;
}

__u64 sg_htab_refused(const struct sg_htab *h)
{
	return h->refused;
}

void *sg_htab_next(const struct sg_htab *h, size_t *pos)
{
	for (; *pos <= h->mask; ++*pos)
		if (h->tags[*pos])
			return entry_at(h, (*pos)++);
	return NULL;
}

size_t sg_htab_near(const struct sg_htab *h, const void *key, void **out, size_t n)
{
	size_t i = tag_of(key, key_len(h, key)) & h->mask, seen, k = 0;

	for (seen = 0; seen <= h->mask && k < n; seen++, i = (i + 1) & h->mask)
		if (h->tags[i])
			out[k++] = entry_at(h, i);
	return k;
}
