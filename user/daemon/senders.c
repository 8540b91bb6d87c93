// SPDX-License-Identifier: GPL-2.0
/* Per-UID counts, destinations and the busiest senders; see senders.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/attrib.h"
#include "kern/collect.h"
#include "daemon/senders.h"
#include "sg_bucket.h"
#include "smtpguard.h"

/* Grow *buf (of *cap elements of size) to hold one more than n. */
static int reserve(void **buf, size_t *cap, size_t n, size_t size)
{
	size_t cap2;
	void *p;

	if (n < *cap)
		return 0;
	cap2 = *cap ? *cap * 2 : 1024;
	p = realloc(*buf, cap2 * size);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = cap2;
	return 0;
}

struct read_ctx {
	struct sg_senders *s;
	struct sg_rates *rates;
	__u64 now_s;
};

static int read_uid(const void *key, const void *value, void *ctx)
{
	const struct sg_uid_stats *st = value;
	struct read_ctx *c = ctx;
	struct sg_senders *s = c->s;
	struct sg_uid_row *row;
	int err;

	err = reserve((void **)&s->rows, &s->cap, s->n, sizeof(*s->rows));
	if (err)
		return err;
	row = &s->rows[s->n++];
	memset(row, 0, sizeof(*row));
	row->uid = *(const __u32 *)key;
	row->attempts = st->attempts;
	row->denied = st->denied;
	row->first_ns = st->first_ns;
	return sg_rates_sample_since(c->rates, row->uid, st->attempts, st->first_ns / SG_NS_PER_SEC,
				     c->now_s);
}

static int read_flow(const void *key, const void *value, void *ctx)
{
	const struct sg_flow_key *k = key;
	struct sg_senders *s = ((struct read_ctx *)ctx)->s;
	struct sg_dest_seen *d;
	int err;

	err = reserve((void **)&s->dests, &s->cap_dests, s->n_dests, sizeof(*s->dests));
	if (err)
		return err;
	d = &s->dests[s->n_dests++];
	d->uid = k->uid;
	memcpy(d->addr, k->addr, sizeof(d->addr));
	d->last_ns = ((const struct sg_flow *)value)->last_ns;
	return 0;
}

static int by_uid(const void *a, const void *b)
{
	__u32 x = ((const struct sg_uid_row *)a)->uid, y = ((const struct sg_uid_row *)b)->uid;

	return (x > y) - (x < y);
}

int sg_senders_read(struct sg_senders *s, struct sg_rates *rates, __u64 now_ns)
{
	struct read_ctx c = { s, rates, now_ns / SG_NS_PER_SEC };
	int err;

	s->n = s->n_dests = 0;
	sg_rates_pass(rates, c.now_s);
	err = sg_pin_walk(SG_MAP_UID_STATS, read_uid, &c);
	if (!err)
		err = sg_pin_walk(SG_MAP_FLOWS, read_flow, &c);
	if (err)
		return err;
	qsort(s->rows, s->n, sizeof(*s->rows), by_uid);
	return sg_senders_count_dests(s, now_ns);
}

static __u32 dest_hash(const struct sg_dest_seen *d)
{
	__u64 h = d->uid;
	int i;

	for (i = 0; i < 4; i++)
		h = (h ^ d->addr[i]) * 0x9e3779b97f4a7c15ULL;
	return (__u32)(h >> 32);
}

static int same_dest(const struct sg_dest_seen *x, const struct sg_dest_seen *y)
{
	return x->uid == y->uid && x->addr[3] == y->addr[3] && x->addr[2] == y->addr[2] &&
	       x->addr[1] == y->addr[1] && x->addr[0] == y->addr[0];
}

/* Open addressing over a power-of-two table of size: the next slot of probe. */
#define NEXT_SLOT(probe, size) (((probe) + 1) & ((size)-1))

/* A table of at least twice n slots, all empty; -ENOMEM. */
static int clear_slots(__u32 **slots, size_t *cap, size_t n, size_t *size)
{
	__u32 *t;

	*size = 1024;
	while (*size < 2 * n)
		*size *= 2;
	if (*size > *cap) {
		t = realloc(*slots, *size * sizeof(*t));
		if (!t)
			return -ENOMEM;
		*slots = t;
		*cap = *size;
	}
	memset(*slots, 0, *size * sizeof(**slots));
	return 0;
}

static __u32 uid_hash(__u32 uid)
{
	return (__u32)(((__u64)uid * 0x9e3779b97f4a7c15ULL) >> 32);
}

/* rows indexed by UID: a flow finds its row in a probe or two, not a binary search. */
static int index_rows(struct sg_senders *s)
{
	size_t i, slot;
	int err = clear_slots(&s->row_slots, &s->cap_row_slots, s->n, &s->n_row_slots);

	for (i = 0; !err && i < s->n; i++) {
		for (slot = uid_hash(s->rows[i].uid) & (s->n_row_slots - 1); s->row_slots[slot];
		     slot = NEXT_SLOT(slot, s->n_row_slots))
			;
		s->row_slots[slot] = i + 1;
	}
	return err;
}

static struct sg_uid_row *row_of(struct sg_senders *s, __u32 uid)
{
	size_t slot;

	for (slot = uid_hash(uid) & (s->n_row_slots - 1); s->row_slots[slot];
	     slot = NEXT_SLOT(slot, s->n_row_slots))
		if (s->rows[s->row_slots[slot] - 1].uid == uid)
			return &s->rows[s->row_slots[slot] - 1];
	return NULL;
}

/*
 * One address's flows (one per port) merged into the first met, which
 * keeps their latest time, in an open-addressing table of dests' indices
 * plus one: a tick's work grows with the flows, not with their sort.
 * Returns -ENOMEM when the table cannot be had.
 */
static int merge_dests(struct sg_senders *s)
{
	size_t size, i, slot;
	int err = clear_slots(&s->slots, &s->cap_slots, s->n_dests, &size);

	if (err)
		return err;
	for (i = 0; i < s->n_dests; i++) {
		struct sg_dest_seen *d = &s->dests[i], *first;

		d->merged = 0;
		for (slot = dest_hash(d) & (size - 1); s->slots[slot];
		     slot = NEXT_SLOT(slot, size)) {
			first = &s->dests[s->slots[slot] - 1];
			if (same_dest(first, d))
				break;
		}
		if (!s->slots[slot]) {
			s->slots[slot] = i + 1;
			continue;
		}
		if (d->last_ns > first->last_ns)
			first->last_ns = d->last_ns;
		d->merged = 1;
	}
	return 0;
}

int sg_senders_count_dests(struct sg_senders *s, __u64 now_ns)
{
	struct sg_uid_row *row;
	size_t i;
	int w, err;

	for (i = 0; i < s->n; i++)
		memset(s->rows[i].destinations, 0, sizeof(s->rows[i].destinations));
	err = merge_dests(s);
	if (!err)
		err = index_rows(s);
	if (err)
		return err;
	for (i = 0; i < s->n_dests; i++) {
		const struct sg_dest_seen *d = &s->dests[i];

		if (d->merged)
			continue;
		row = row_of(s, d->uid);
		if (!row)
			continue;
		for (w = 0; w < SG_WINDOWS; w++)
			if (d->last_ns + (__u64)sg_window_seconds[w] * SG_NS_PER_SEC > now_ns)
				row->destinations[w]++;
	}
	return 0;
}

struct ranked {
	const struct sg_uid_row *row;
	__u64 recent;
};

static int by_business(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->recent != y->recent)
		return x->recent < y->recent ? 1 : -1;
	if (x->row->attempts != y->row->attempts)
		return x->row->attempts < y->row->attempts ? 1 : -1;
	return (x->row->uid > y->row->uid) - (x->row->uid < y->row->uid);
}

/* Moves heap[i] down the heap of n, whose top is its least busy (the last of by_business). */
static void sift_down(struct ranked *heap, size_t n, size_t i)
{
	struct ranked tmp;
	size_t c;

	for (; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && by_business(&heap[c + 1], &heap[c]) > 0)
			c++;
		if (by_business(&heap[c], &heap[i]) <= 0)
			return;
		tmp = heap[i];
		heap[i] = heap[c];
		heap[c] = tmp;
	}
}

/*
 * The k busiest of s's rows into r, in order: a heap of k, so that a tick
 * sorts k rows, not every UID. Returns how many (k or fewer).
 */
static size_t busiest(const struct sg_senders *s, const struct sg_rates *rates, __u64 now_s,
		      size_t k, struct ranked *r)
{
	size_t i, n = s->n < k ? s->n : k;
	struct ranked cur;

	for (i = 0; i < s->n; i++) {
		cur.row = &s->rows[i];
		cur.recent = sg_rates_count(rates, s->rows[i].uid, SG_WIN_10M, now_s);
		if (i < n) {
			r[i] = cur;
			continue;
		}
		if (i == n)
			for (size_t j = n / 2; j-- > 0;)
				sift_down(r, n, j);
		if (n && by_business(&cur, &r[0]) < 0) {
			r[0] = cur;
			sift_down(r, n, 0);
		}
	}
	qsort(r, n, sizeof(*r), by_business);
	return n;
}

size_t sg_senders_top(struct sg_senders *s, const struct sg_rates *rates, __u64 now_s, __u32 k,
		      struct sg_sender_rate *out)
{
	struct ranked *r;
	size_t i, n;
	int w;

	r = malloc((k ? k : 1) * sizeof(*r));
	if (!r)
		return 0;
	n = busiest(s, rates, now_s, k, r);
	for (i = 0; i < n; i++) {
		const struct sg_uid_row *row = r[i].row;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].uid = row->uid;
		out[i].attempts = row->attempts;
		out[i].denied = row->denied;
		if (sg_user_name_cached(row->uid, out[i].user, sizeof(out[i].user)))
			out[i].user[0] = 0;
		for (w = 0; w < SG_WINDOWS; w++) {
			out[i].rate[w] = sg_rates_rate(rates, row->uid, w, now_s);
			out[i].destinations[w] = row->destinations[w];
		}
	}
	free(r);
	return n;
}

void sg_senders_free(struct sg_senders *s)
{
	free(s->rows);
	free(s->dests);
	free(s->slots);
	free(s->row_slots);
	memset(s, 0, sizeof(*s));
}
