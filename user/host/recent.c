// SPDX-License-Identifier: GPL-2.0
/*
 * The recent senders: a fixed pool of max_uids UID slots, found through a
 * hash table on the UID and kept on a most-recently-seen list, so that
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
#include "util/htab.h"

#define NIL UINT32_MAX

struct uid_slot {
	__u32 uid;
	__u32 prev, next;  /* the recency list, or the free list (next) */
	__u32 n;	   /* entries in use */
	struct packed **e; /* per_uid of them, newest first */
};

/* The table's entry: where uid's slot is. */
struct uid_index {
	__u32 uid;
	__u32 slot;
};

struct sg_recent {
	__u32 max_uids, per_uid;
	struct sg_htab *index; /* of struct uid_index, room for max_uids made at once */
	__u32 newest, oldest, free;
	__u64 evicted; /* UIDs whose slot went to another */
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

struct sg_recent *sg_recent_new(__u32 max_uids, __u32 per_uid)
{
	struct sg_recent *r;
	__u32 i;

	if (!max_uids || !per_uid) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->max_uids = max_uids;
	r->per_uid = per_uid;
	/* All the room at once: adding a UID never fails, nor leaves the list half done. */
	r->index = sg_htab_new(SG_HTAB_BYTES, sizeof(__u32), sizeof(struct uid_index), max_uids,
			       max_uids);
	r->slots = calloc(max_uids, sizeof(*r->slots));
	r->entries = calloc((size_t)max_uids * per_uid, sizeof(*r->entries));
	if (!r->index || !r->slots || !r->entries)
		goto fail;
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
	sg_htab_free(r->index);
	free(r);
}

static __u32 find(const struct sg_recent *r, __u32 uid)
{
	const struct uid_index *x = sg_htab_find(r->index, &uid);

	return x ? x->slot : NIL;
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

/* A slot for uid: a free one, else the least recently seen UID's, emptied. */
static __u32 take_slot(struct sg_recent *r, __u32 uid)
{
	struct uid_index *x;
	struct uid_slot *s;
	__u32 i;

	if (r->free != NIL) {
		i = r->free;
		r->free = r->slots[i].next;
	} else {
		i = r->oldest;
		r->evicted++;
		list_unlink(r, i);
		sg_htab_delete(r->index, &r->slots[i].uid);
	}
	s = &r->slots[i];
	while (s->n)
		free(s->e[--s->n]);
	s->uid = uid;
	/* The index was made with room for every slot: a failure here is a bug. */
	if (sg_htab_add(r->index, &uid, (void **)&x) < 0)
		abort();
	x->slot = i;
	list_push_newest(r, i);
	return i;
}

__u64 sg_recent_evicted(const struct sg_recent *r)
{
	return r->evicted;
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
