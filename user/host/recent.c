// SPDX-License-Identifier: GPL-2.0
/*
 * The recent senders: a fixed pool of max_uids UID slots, found through a
 * chained hash on the UID and kept on a most-recently-seen list, so that
 * adding is O(per_uid) whatever the number of UIDs. Each slot holds up to
 * per_uid entries, newest first. An entry is packed to the length of its
 * strings (a few hundred bytes): an sg_sender_info is ~13 KiB, three
 * PATH_MAX paths that are mostly empty, and the default 4096 UIDs of 8
 * processes each would be 450 MiB of them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/recent.h"

#define NIL UINT32_MAX

struct uid_slot {
	__u32 uid;
	__u32 hnext;	   /* next slot in the hash chain */
	__u32 prev, next;  /* the recency list, or the free list (next) */
	__u32 n;	   /* entries in use */
	struct packed **e; /* per_uid of them, newest first */
};

struct sg_recent {
	__u32 max_uids, per_uid;
	__u32 shift;	/* 32 - log2(buckets) */
	__u32 *buckets; /* head slot of each chain */
	__u32 newest, oldest, free;
	struct uid_slot *slots;
	struct packed **entries; /* every slot's e, one block */
};

/* An sg_sender_info: the fields before comm as they are, then the strings one after another. */
struct packed {
	__u32 tgid; /* what identifies an entry within its UID, also in head */
	int gone;
	unsigned char head[offsetof(struct sg_sender_info, comm)];
	char text[];
};

#define TEXT(f)                                                                                    \
	{                                                                                          \
		offsetof(struct sg_sender_info, f), sizeof(((struct sg_sender_info *)0)->f)        \
	}

static const struct {
	size_t off, size;
} texts[] = {
	TEXT(comm),    TEXT(user), TEXT(account), TEXT(owner), TEXT(panel),
	TEXT(domains), TEXT(exe),  TEXT(cmdline), TEXT(cwd),   TEXT(script),
};

#define N_TEXTS (sizeof(texts) / sizeof(texts[0]))

/* A field is cut at its size, so that it always fits back. */
static struct packed *pack(const struct sg_sender_info *s)
{
	size_t len[N_TEXTS], total = 0, i;
	struct packed *p;
	char *t;

	for (i = 0; i < N_TEXTS; i++) {
		len[i] = strnlen((const char *)s + texts[i].off, texts[i].size - 1);
		total += len[i] + 1;
	}
	p = malloc(sizeof(*p) + total);
	if (!p)
		return NULL;
	memcpy(p->head, s, sizeof(p->head));
	p->tgid = s->tgid;
	p->gone = s->gone;
	for (i = 0, t = p->text; i < N_TEXTS; t += len[i++] + 1) {
		memcpy(t, (const char *)s + texts[i].off, len[i]);
		t[len[i]] = '\0';
	}
	return p;
}

/* Every field is written; the bytes past each string's NUL are left as they were. */
static void unpack(const struct packed *p, struct sg_sender_info *s)
{
	const char *t = p->text;
	size_t i;

	memcpy(s, p->head, sizeof(p->head));
	s->gone = p->gone;
	for (i = 0; i < N_TEXTS; i++) {
		strcpy((char *)s + texts[i].off, t);
		t += strlen(t) + 1;
	}
}

static __u32 bucket(const struct sg_recent *r, __u32 uid)
{
	/* Fibonacci hashing: UIDs come in runs (1000, 1001...), which its top bits spread. */
	return (__u32)(uid * 2654435769U) >> r->shift;
}

struct sg_recent *sg_recent_new(__u32 max_uids, __u32 per_uid)
{
	struct sg_recent *r;
	__u64 nb = 2;
	__u32 i, shift = 31;

	if (!max_uids || !per_uid) {
		errno = EINVAL;
		return NULL;
	}
	/* At least two buckets a slot keeps chains short. */
	while (nb < 2ULL * max_uids) {
		nb <<= 1;
		shift--;
	}
	r = calloc(1, sizeof(*r));
	if (!r || nb > UINT32_MAX)
		goto fail;
	r->max_uids = max_uids;
	r->per_uid = per_uid;
	r->shift = shift;
	r->buckets = malloc(nb * sizeof(*r->buckets));
	r->slots = calloc(max_uids, sizeof(*r->slots));
	r->entries = calloc((size_t)max_uids * per_uid, sizeof(*r->entries));
	if (!r->buckets || !r->slots || !r->entries)
		goto fail;
	memset(r->buckets, 0xff, nb * sizeof(*r->buckets));
	for (i = 0; i < max_uids; i++) {
		r->slots[i].e = r->entries + (size_t)i * per_uid;
		r->slots[i].next = i + 1 < max_uids ? i + 1 : NIL;
	}
	r->free = 0;
	r->newest = r->oldest = NIL;
	return r;
fail:
	sg_recent_free(r);
	errno = ENOMEM;
	return NULL;
}

void sg_recent_free(struct sg_recent *r)
{
	size_t i;

	if (!r)
		return;
	if (r->entries)
		for (i = 0; i < (size_t)r->max_uids * r->per_uid; i++)
			free(r->entries[i]);
	free(r->entries);
	free(r->slots);
	free(r->buckets);
	free(r);
}

static __u32 find(const struct sg_recent *r, __u32 uid)
{
	__u32 i;

	for (i = r->buckets[bucket(r, uid)]; i != NIL; i = r->slots[i].hnext)
		if (r->slots[i].uid == uid)
			return i;
	return NIL;
}

static void list_unlink(struct sg_recent *r, __u32 i)
{
	struct uid_slot *s = &r->slots[i];

	if (s->prev != NIL)
		r->slots[s->prev].next = s->next;
	else
		r->newest = s->next;
	if (s->next != NIL)
		r->slots[s->next].prev = s->prev;
	else
		r->oldest = s->prev;
}

static void list_push_newest(struct sg_recent *r, __u32 i)
{
	struct uid_slot *s = &r->slots[i];

	s->prev = NIL;
	s->next = r->newest;
	if (r->newest != NIL)
		r->slots[r->newest].prev = i;
	else
		r->oldest = i;
	r->newest = i;
}

static void hash_unlink(struct sg_recent *r, __u32 i)
{
	__u32 *p = &r->buckets[bucket(r, r->slots[i].uid)];

	while (*p != i)
		p = &r->slots[*p].hnext;
	*p = r->slots[i].hnext;
}

/* A slot for uid: a free one, else the least recently seen UID's, emptied. */
static __u32 take_slot(struct sg_recent *r, __u32 uid)
{
	struct uid_slot *s;
	__u32 i, b;

	if (r->free != NIL) {
		i = r->free;
		r->free = r->slots[i].next;
	} else {
		i = r->oldest;
		list_unlink(r, i);
		hash_unlink(r, i);
	}
	s = &r->slots[i];
	while (s->n)
		free(s->e[--s->n]);
	s->uid = uid;
	b = bucket(r, uid);
	s->hnext = r->buckets[b];
	r->buckets[b] = i;
	list_push_newest(r, i);
	return i;
}

int sg_recent_add(struct sg_recent *r, const struct sg_sender_info *info)
{
	/* Packed before anything changes, so that -ENOMEM leaves the table as it was. */
	struct packed *e = pack(info);
	__u32 i = find(r, info->uid), k;
	struct uid_slot *s;

	if (!e)
		return -ENOMEM;
	if (i == NIL)
		i = take_slot(r, info->uid);
	s = &r->slots[i];
	/* The same process again replaces its entry; else the oldest gives way when full. */
	for (k = 0; k < s->n && s->e[k]->tgid != info->tgid; k++)
		;
	if (k == s->n && s->n == r->per_uid)
		k = s->n - 1;
	if (k < s->n)
		free(s->e[k]);
	else
		s->n++;
	memmove(&s->e[1], &s->e[0], k * sizeof(*s->e));
	s->e[0] = e;
	if (r->newest != i) {
		list_unlink(r, i);
		list_push_newest(r, i);
	}
	return 0;
}

size_t sg_recent_get(const struct sg_recent *r, __u32 uid, struct sg_sender_info *out, size_t max)
{
	__u32 i = find(r, uid);
	size_t n;

	if (i == NIL)
		return 0;
	for (n = 0; n < max && n < r->slots[i].n; n++)
		unpack(r->slots[i].e[n], &out[n]);
	return n;
}

/* "uid": [...], with tmp for unpacking. */
static int put_uid(json_t *o, const struct uid_slot *s, struct sg_sender_info *tmp)
{
	json_t *a = json_array();
	char key[16];
	__u32 k;

	if (!a)
		return -ENOMEM;
	for (k = 0; k < s->n; k++) {
		unpack(s->e[k], tmp);
		if (json_array_append_new(a, sg_sender_info_json(tmp))) {
			json_decref(a);
			return -ENOMEM;
		}
	}
	snprintf(key, sizeof(key), "%u", s->uid);
	return json_object_set_new(o, key, a) ? -ENOMEM : 0;
}

/*
 * Most recently seen UID first. An unknown uid asked for alone is there
 * with no senders: {"1001": []}.
 */
json_t *sg_recent_json(const struct sg_recent *r, int has_uid, __u32 uid)
{
	struct sg_sender_info *tmp = malloc(sizeof(*tmp));
	struct uid_slot none = { .uid = uid };
	json_t *o = json_object();
	__u32 i;
	int err = !o || !tmp;

	if (has_uid) {
		i = find(r, uid);
		err = err || put_uid(o, i == NIL ? &none : &r->slots[i], tmp);
	} else {
		for (i = r->newest; !err && i != NIL; i = r->slots[i].next)
			err = put_uid(o, &r->slots[i], tmp);
	}
	free(tmp);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}
