// SPDX-License-Identifier: GPL-2.0
/* Per-UID counts, destinations and the busiest senders; see senders.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "host/attrib.h"
#include "kern/collect.h"
#include "kern/maps.h"
#include "kern/state.h"
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

/* Reads between two whole ones: entries removed behind the daemon's back are seen within this. */
#define WHOLE_EVERY 60
/* A lookup costs some eight flows of a whole read: flows a tick may look up, beyond an eighth. */
#define LOOKUPS_MIN 64

/* A row for uid, with its counts st. */
static int add_row(struct sg_senders *s, __u32 uid, const struct sg_uid_stats *st)
{
	struct sg_uid_row *row;
	int err;

	err = reserve((void **)&s->rows, &s->cap, s->n, sizeof(*s->rows));
	if (err)
		return err;
	row = &s->rows[s->n++];
	memset(row, 0, sizeof(*row));
	row->uid = uid;
	row->attempts = st->attempts;
	row->denied = st->denied;
	row->first_ns = st->first_ns;
	row->flows = st->flows;
	return 0;
}

static int read_uid(const void *key, const void *value, void *ctx)
{
	return add_row(ctx, *(const __u32 *)key, value);
}

/* Each row's count to the rates, and its last 1 and 10 min back. */
static int sample_rows(struct sg_senders *s, struct sg_rates *rates, __u64 now_s)
{
	struct sg_uid_row *row;
	size_t i;
	int err = 0;

	for (i = 0; !err && i < s->n; i++) {
		row = &s->rows[i];
		err = sg_rates_sample_counts(rates, row->uid, row->attempts,
					     row->first_ns / SG_NS_PER_SEC, now_s, row->recent,
					     SG_WIN_10M + 1);
	}
	return err;
}

static int read_flow(const void *key, const void *value, void *ctx)
{
	struct sg_senders *s = ctx;
	struct sg_dest_seen *d;
	int err;

	err = reserve((void **)&s->dests, &s->cap_dests, s->n_dests, sizeof(*s->dests));
	if (err)
		return err;
	d = &s->dests[s->n_dests++];
	memcpy(&d->key, key, sizeof(d->key));
	d->latest_ns = ((const struct sg_flow *)value)->last_ns;
	d->maybe_s = 0;
	return 0;
}

static int by_uid(const void *a, const void *b)
{
	__u32 x = ((const struct sg_uid_row *)a)->uid, y = ((const struct sg_uid_row *)b)->uid;

	return (x > y) - (x < y);
}

/*
 * This tick's rows against the tick before's: 1 when they are the same
 * UIDs, none made anew nor with a new flow, so that the flows read before
 * are all there are. Their flows and what moved carried over into rows.
 */
static int same_flows(struct sg_senders *s)
{
	const struct sg_uid_row *old;
	struct sg_uid_row *row;
	size_t i;

	if (s->n != s->n_prev)
		return 0;
	for (i = 0; i < s->n; i++) {
		row = &s->rows[i];
		old = &s->prev[i];
		if (row->uid != old->uid || row->first_ns != old->first_ns ||
		    row->flows != old->flows)
			return 0;
		row->first_dest = old->first_dest;
		row->changed = row->attempts != old->attempts || row->denied != old->denied;
	}
	return 1;
}

static int moved(const struct sg_senders *s, size_t i)
{
	return s->rows[i].changed || s->prev[i].changed;
}

/* A connect since the read may put the address d heads in a window its latest read does not. */
static int undecided(const struct sg_dest_seen *d, __u64 now_ns)
{
	__u64 ws;
	int w;

	if (!d->maybe_s)
		return 0;
	for (w = 0; w < SG_WINDOWS; w++) {
		ws = (__u64)sg_window_seconds[w] * SG_NS_PER_SEC;
		if (d->latest_ns + ws <= now_ns && (__u64)d->maybe_s * SG_NS_PER_SEC + ws > now_ns)
			return 1;
	}
	return 0;
}

/* The flows of the address h heads looked up again: its latest as it is now. */
static int look_up_address(struct sg_senders *s, int flows_fd, size_t h, size_t *budget)
{
	struct sg_dest_seen *d, *head = &s->dests[h];
	struct sg_flow f;
	__u64 latest = 0;
	__u32 j;

	for (j = s->rows[head->row].first_dest; j; j = d->next) {
		d = &s->dests[j - 1];
		if (d->head != h)
			continue;
		if (!*budget || bpf_map_lookup_elem(flows_fd, &d->key, &f))
			return -EAGAIN;
		(*budget)--;
		s->looked_up++;
		if (f.last_ns > latest)
			latest = f.last_ns;
	}
	head->latest_ns = latest;
	head->maybe_s = 0;
	return 0;
}

/*
 * The addresses the kernel marked in sg_flow_marks (s->flow_marked) may
 * have been sent to before now + 2 s: a mark taken at this read was set
 * before it, and when that was a second or more after now sg_senders_read()
 * reads the next tick whole.
 * Only those of rows that moved at this tick or the one before are looked
 * at: the kernel marks a UID before its flow, and the flows' marks are taken
 * first. Then every address whose place in a window that may change has
 * its flows looked up again. One pass in the order of dests, which a row's
 * list is not: a tick of 60,000 flows walks them in cache order. -EAGAIN
 * when the lookups are more than a whole read costs or one is gone: the
 * caller reads them all.
 */
static int look_up_marked(struct sg_senders *s, int flows_fd, __u64 now_ns)
{
	const __u8 *marked = (const __u8 *)s->flow_marked;
	size_t i, budget = s->n_dests / 8 + LOOKUPS_MIN;
	struct sg_dest_seen *d;
	int err = 0;

	for (i = 0; !err && i < s->n_dests; i++) {
		d = &s->dests[i];
		if (d->head != i || d->row == SG_NO_ROW)
			continue;
		if (moved(s, d->row) && marked[sg_flow_mark_slot(d->key.uid, d->key.addr)])
			d->maybe_s = (__u32)(now_ns / SG_NS_PER_SEC + 2);
		if (undecided(d, now_ns))
			err = look_up_address(s, flows_fd, i, &budget);
	}
	return err;
}

/* After a whole read: the rows whose counts moved since the tick before, or are new. */
static void mark_moved(struct sg_senders *s)
{
	size_t i, j = 0;

	for (i = 0; i < s->n; i++) {
		while (j < s->n_prev && s->prev[j].uid < s->rows[i].uid)
			j++;
		s->rows[i].changed = j == s->n_prev || s->prev[j].uid != s->rows[i].uid ||
				     s->prev[j].attempts != s->rows[i].attempts ||
				     s->prev[j].denied != s->rows[i].denied;
	}
}

static int read_whole(struct sg_senders *s, int flows_fd, __u64 now_ns)
{
	int err;

	s->stale = 1;
	s->n_dests = 0;
	err = sg_map_for_each(flows_fd, read_flow, s);
	if (!err)
		err = sg_senders_count_dests(s, now_ns);
	if (err)
		return err;
	mark_moved(s);
	s->whole++;
	s->stale = 0;
	s->ticks_cached = 0;
	return 0;
}

static void count_windows(struct sg_senders *s, __u64 now_ns);

/* The kernel's marks (words of them) into *copy, each word swapped with 0. */
static int take_marks(__u64 **copy, __u64 *marks, size_t words)
{
	size_t i;

	if (!*copy && !(*copy = malloc(words * sizeof(**copy))))
		return -ENOMEM;
	for (i = 0; i < words; i++)
		(*copy)[i] = __atomic_load_n(&marks[i], __ATOMIC_RELAXED)
				     ? __atomic_exchange_n(&marks[i], 0, __ATOMIC_ACQ_REL)
				     : 0;
	return 0;
}

/*
 * This tick's rows from the tick before's: the UIDs whose byte s->marked
 * has set looked up again, every one that shares it, the others as they
 * were, for the kernel marks a UID after each write to its entry. -EAGAIN
 * when a whole read is needed: an entry was made, a byte is set that no
 * UID of the tick before has, a marked UID is gone, or there are more to
 * look up than a whole read costs.
 */
static int read_marked(struct sg_senders *s, int stats_fd)
{
	__u8 *marked = (__u8 *)s->marked;
	const struct sg_uid_row *old;
	struct sg_uid_stats st;
	size_t i, n = 0;
	int err;

	if (s->marked[SG_UID_MARK_MADE])
		return -EAGAIN;
	for (i = 0; i < s->n_prev; i++)
		n += marked[s->prev[i].uid & 0xffff];
	if (n > s->n_prev / 8 + LOOKUPS_MIN)
		return -EAGAIN;
	for (i = 0; i < s->n_prev; i++) {
		old = &s->prev[i];
		st = (struct sg_uid_stats){ .attempts = old->attempts,
					    .denied = old->denied,
					    .first_ns = old->first_ns,
					    .flows = old->flows };
		if (marked[old->uid & 0xffff]) {
			if (bpf_map_lookup_elem(stats_fd, &old->uid, &st))
				return -EAGAIN;
			s->uids_looked_up++;
		}
		err = add_row(s, old->uid, &st);
		if (err)
			return err;
	}
	for (i = 0; i < s->n_prev; i++)
		marked[s->prev[i].uid & 0xffff] = 0;
	for (i = 0; i < SG_UID_MARK_WORDS; i++)
		if (s->marked[i])
			return -EAGAIN;
	return 0;
}

/*
 * This tick's rows, by UID: with marks (the kernel's sg_uid_marks, mapped),
 * only the UIDs marked since the last read are looked up when that is all
 * that may have changed and whole is 0; else the map is read whole.
 */
static int read_uids(struct sg_senders *s, int stats_fd, __u64 *marks, int whole)
{
	int err = marks ? take_marks(&s->marked, marks, SG_UID_MARK_WORDS + 1) : 0;

	if (err)
		return err;
	if (marks && !whole) {
		err = read_marked(s, stats_fd);
		if (err != -EAGAIN)
			return err;
		s->n = 0;
	}
	err = sg_map_for_each(stats_fd, read_uid, s);
	if (!err)
		qsort(s->rows, s->n, sizeof(*s->rows), by_uid);
	return err;
}

int sg_senders_read_maps(struct sg_senders *s, struct sg_rates *rates, int stats_fd, int flows_fd,
			 __u64 *marks, __u64 *flow_marks, __u64 now_ns)
{
	struct sg_uid_row *rows = s->prev;
	size_t cap = s->cap_prev;
	int err, whole;

	/* Before the UIDs' marks: a flow's mark then always comes with its UID's or after it. */
	err = flow_marks ? take_marks(&s->flow_marked, flow_marks, SG_FLOW_MARK_WORDS) : 0;
	if (err)
		return err;
	s->flow_marks_ns = sg_boot_ns();

	/* This tick's rows go where the tick before the last's were. */
	s->prev = s->rows;
	s->cap_prev = s->cap;
	s->n_prev = s->n;
	s->rows = rows;
	s->cap = cap;
	s->n = 0;
	sg_rates_pass(rates, now_ns / SG_NS_PER_SEC);
	whole = !s->whole || s->stale || ++s->ticks_cached >= WHOLE_EVERY;
	err = read_uids(s, stats_fd, marks, whole);
	if (!err)
		err = sample_rows(s, rates, now_ns / SG_NS_PER_SEC);
	if (err) {
		s->stale = 1;
		return err;
	}
	if (whole || !flow_marks || !same_flows(s))
		return read_whole(s, flows_fd, now_ns);
	if (look_up_marked(s, flows_fd, now_ns))
		return read_whole(s, flows_fd, now_ns);
	count_windows(s, now_ns);
	return 0;
}

/* The handles open_maps() took, those it could: each closed or unmapped. */
static void drop_maps(struct sg_senders *s)
{
	if (s->uid_marks)
		munmap(s->uid_marks, SG_UID_MARKS_SIZE);
	if (s->flow_marks)
		munmap(s->flow_marks, SG_FLOW_MARKS_SIZE);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	if (s->flows_fd >= 0)
		close(s->flows_fd);
	s->uid_marks = s->flow_marks = NULL;
	s->maps_open = 0;
}

/*
 * The pinned maps, opened and mapped at a read and kept until
 * sg_senders_reopen(): a tick opens and maps nothing. A mark map not pinned
 * (programs of a version before it) stays NULL: its map is read whole.
 */
static int open_maps(struct sg_senders *s)
{
	int err;

	if (s->maps_open)
		return 0;
	s->stats_fd = sg_pin_open(SG_MAP_UID_STATS);
	s->flows_fd = sg_pin_open(SG_MAP_FLOWS);
	s->uid_marks = s->flow_marks = NULL;
	err = s->stats_fd < 0 ? s->stats_fd : s->flows_fd < 0 ? s->flows_fd : 0;
	if (!err)
		err = sg_pin_mmap(SG_MAP_UID_MARKS, SG_UID_MARKS_SIZE, (void **)&s->uid_marks);
	if (!err)
		err = sg_pin_mmap(SG_MAP_FLOW_MARKS, SG_FLOW_MARKS_SIZE, (void **)&s->flow_marks);
	if (err)
		drop_maps(s);
	else
		s->maps_open = 1;
	return err;
}

int sg_senders_read(struct sg_senders *s, struct sg_rates *rates, __u64 now_ns)
{
	int err = open_maps(s);

	if (!err)
		err = sg_senders_read_maps(s, rates, s->stats_fd, s->flows_fd, s->uid_marks,
					   s->flow_marks, now_ns);
	/*
	 * Marks taken a second or more after now may be of connects after the bound look_up_marked
	 * keeps: the next read is whole. This one is exact all the same: it looked up every marked
	 * address out of a window at now.
	 */
	if (!err && s->flow_marks && s->flow_marks_ns - now_ns >= SG_NS_PER_SEC)
		s->stale = 1;
	return err;
}

void sg_senders_forget(struct sg_senders *s)
{
	s->stale = 1;
}

void sg_senders_reopen(struct sg_senders *s)
{
	if (s->maps_open)
		drop_maps(s);
	s->stale = 1;
}

static __u32 dest_hash(const struct sg_dest_seen *d)
{
	__u64 h = d->key.uid;
	int i;

	for (i = 0; i < 4; i++)
		h = (h ^ d->key.addr[i]) * 0x9e3779b97f4a7c15ULL;
	return (__u32)(h >> 32);
}

static int same_dest(const struct sg_dest_seen *x, const struct sg_dest_seen *y)
{
	return x->key.uid == y->key.uid && x->key.addr[3] == y->key.addr[3] &&
	       x->key.addr[2] == y->key.addr[2] && x->key.addr[1] == y->key.addr[1] &&
	       x->key.addr[0] == y->key.addr[0];
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

static __u32 row_of(const struct sg_senders *s, __u32 uid)
{
	size_t slot;

	for (slot = uid_hash(uid) & (s->n_row_slots - 1); s->row_slots[slot];
	     slot = NEXT_SLOT(slot, s->n_row_slots))
		if (s->rows[s->row_slots[slot] - 1].uid == uid)
			return s->row_slots[slot] - 1;
	return SG_NO_ROW;
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

		d->head = i;
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
		if (d->latest_ns > first->latest_ns)
			first->latest_ns = d->latest_ns;
		d->head = s->slots[slot] - 1;
	}
	return 0;
}

/* Each flow to its UID's row, and onto the row's list. */
static int link_rows(struct sg_senders *s)
{
	struct sg_dest_seen *d;
	size_t i;
	int err = index_rows(s);

	if (err)
		return err;
	for (i = 0; i < s->n; i++)
		s->rows[i].first_dest = 0;
	for (i = 0; i < s->n_dests; i++) {
		d = &s->dests[i];
		d->row = row_of(s, d->key.uid);
		d->next = 0;
		if (d->row == SG_NO_ROW)
			continue;
		d->next = s->rows[d->row].first_dest;
		s->rows[d->row].first_dest = i + 1;
	}
	return 0;
}

static void count_windows(struct sg_senders *s, __u64 now_ns)
{
	const struct sg_dest_seen *d;
	size_t i;
	int w;

	for (i = 0; i < s->n; i++)
		memset(s->rows[i].destinations, 0, sizeof(s->rows[i].destinations));
	for (i = 0; i < s->n_dests; i++) {
		d = &s->dests[i];
		if (d->head != i || d->row == SG_NO_ROW)
			continue;
		for (w = 0; w < SG_WINDOWS; w++)
			if (d->latest_ns + (__u64)sg_window_seconds[w] * SG_NS_PER_SEC > now_ns)
				s->rows[d->row].destinations[w]++;
	}
}

int sg_senders_count_dests(struct sg_senders *s, __u64 now_ns)
{
	int err = merge_dests(s);

	if (!err)
		err = link_rows(s);
	if (err)
		return err;
	count_windows(s, now_ns);
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
static size_t busiest(const struct sg_senders *s, size_t k, struct ranked *r)
{
	size_t i, n = s->n < k ? s->n : k;
	struct ranked cur;

	for (i = 0; i < s->n; i++) {
		cur.row = &s->rows[i];
		cur.recent = s->rows[i].recent[SG_WIN_10M];
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
	n = busiest(s, k, r);
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
	free(s->prev);
	free(s->dests);
	free(s->slots);
	free(s->row_slots);
	free(s->marked);
	free(s->flow_marked);
	sg_senders_reopen(s);
	memset(s, 0, sizeof(*s));
}
