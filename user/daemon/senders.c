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
	sg_senders_count_dests(s, now_ns);
	return 0;
}

static int by_uid_addr(const void *a, const void *b)
{
	const struct sg_dest_seen *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

void sg_senders_count_dests(struct sg_senders *s, __u64 now_ns)
{
	struct sg_uid_row *row = s->rows, *end = s->rows + s->n;
	size_t i, j;
	__u64 last;
	int w;

	for (row = s->rows; row < end; row++)
		memset(row->destinations, 0, sizeof(row->destinations));
	/* Sorted, one address's flows (one per port) are together, and UIDs come in order. */
	qsort(s->dests, s->n_dests, sizeof(*s->dests), by_uid_addr);
	row = s->rows;
	for (i = 0; i < s->n_dests; i = j) {
		last = s->dests[i].last_ns;
		for (j = i + 1; j < s->n_dests && !by_uid_addr(&s->dests[i], &s->dests[j]); j++)
			if (s->dests[j].last_ns > last)
				last = s->dests[j].last_ns;
		while (row < end && row->uid < s->dests[i].uid)
			row++;
		if (row == end)
			break;
		if (row->uid != s->dests[i].uid)
			continue;
		for (w = 0; w < SG_WINDOWS; w++)
			if (last + (__u64)sg_window_seconds[w] * SG_NS_PER_SEC > now_ns)
				row->destinations[w]++;
	}
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

size_t sg_senders_top(struct sg_senders *s, const struct sg_rates *rates, __u64 now_s, __u32 k,
		      struct sg_sender_rate *out)
{
	struct ranked *r;
	size_t i, n;
	int w;

	r = malloc((s->n ? s->n : 1) * sizeof(*r));
	if (!r)
		return 0;
	for (i = 0; i < s->n; i++) {
		r[i].row = &s->rows[i];
		r[i].recent = sg_rates_count(rates, s->rows[i].uid, SG_WIN_10M, now_s);
	}
	qsort(r, s->n, sizeof(*r), by_business);
	n = s->n < k ? s->n : k;
	for (i = 0; i < n; i++) {
		const struct sg_uid_row *row = r[i].row;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].uid = row->uid;
		out[i].attempts = row->attempts;
		out[i].denied = row->denied;
		if (sg_user_name(row->uid, out[i].user, sizeof(out[i].user)))
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
	memset(s, 0, sizeof(*s));
}
