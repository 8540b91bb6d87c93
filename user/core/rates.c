// SPDX-License-Identifier: GPL-2.0
/* Per-UID rates over 1 min, 10 min and 1 h from cumulative counts; see rates.h. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rates.h"
#include "util/htab.h"

const char *const sg_window_names[SG_WINDOWS] = {
	[SG_WIN_1M] = "1m",
	[SG_WIN_10M] = "10m",
	[SG_WIN_1H] = "1h",
};

const __u32 sg_window_seconds[SG_WINDOWS] = {
	[SG_WIN_1M] = 60,
	[SG_WIN_10M] = 600,
	[SG_WIN_1H] = 3600,
};

#define SLOTS 60

/*
 * What a UID's last hour looks like; freed when the hour has been idle. The
 * counts are kept in 16 bits until one needs more (65,536 connections in a
 * minute): the history is then made wide, for good. A second's count is
 * part of its minute's, so a minute that fits has seconds that fit. 256
 * bytes of heap a sending UID where 32-bit minutes took 384.
 */
struct history {
	int wide; /* the counts are in w */
	/* [MINS][m % 60]: the count of minute m; [SECS][t % 60]: of second t. */
	union {
		__u16 n[2][SLOTS];
		__u32 w[2][SLOTS]; /* 2^32 connections in one second do not happen */
	};
};

enum { MINS, SECS };

#define NARROW_SIZE (offsetof(struct history, n) + sizeof(((struct history *)0)->n))

/*
 * Kept for every UID ever seen, so a UID idle for a day is not mistaken for
 * a new one: 32 bytes, times in 32 bits (seconds since boot: 2^32 of them
 * are 136 years), where 64 made it 48 in a table twice the UIDs' number.
 */
struct uid_rate {
	__u32 uid;	 /* the key */
	__u32 sampled_s; /* the last sample's time */
	__u32 last_s;	 /* the time the history was last advanced to */
	__u32 active_s;	 /* the time of the last non-zero count */
	__u64 total;	 /* the last sample */
	struct history *h;
};

struct sg_rates {
	struct sg_htab *uids; /* of struct uid_rate, never deleted from */
	int started;
	__u64 start_s; /* when the baseline was taken */
	/* The second of the newest samples, and of the pass before: a new UID counted since. */
	__u64 pass_s, prev_pass_s;
};

struct sg_rates *sg_rates_new(void)
{
	struct sg_rates *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->uids = sg_htab_new(SG_HTAB_BYTES, sizeof(__u32), sizeof(struct uid_rate), 512, 0);
	if (!r->uids) {
		free(r);
		return NULL;
	}
	return r;
}

void sg_rates_free(struct sg_rates *r)
{
	struct uid_rate *e;
	size_t pos = 0;

	if (!r)
		return;
	while ((e = sg_htab_next(r->uids, &pos)))
		free(e->h);
	sg_htab_free(r->uids);
	free(r);
}

/* The count of minute (MINS) or second (SECS) i. */
static __u32 at(const struct history *h, int k, __u64 i)
{
	return h->wide ? h->w[k][i % SLOTS] : h->n[k][i % SLOTS];
}

static void set(struct history *h, int k, __u64 i, __u32 v)
{
	if (h->wide)
		h->w[k][i % SLOTS] = v;
	else
		h->n[k][i % SLOTS] = (__u16)v;
}

/* The counts in 32 bits from now on. */
static int widen(struct uid_rate *e)
{
	struct history *h = realloc(e->h, sizeof(*h));
	__u16 narrow[2][SLOTS];
	int k, i;

	if (!h)
		return -ENOMEM;
	memcpy(narrow, h->n, sizeof(narrow));
	for (k = MINS; k <= SECS; k++)
		for (i = 0; i < SLOTS; i++)
			h->w[k][i] = narrow[k][i];
	h->wide = 1;
	e->h = h;
	return 0;
}

/* Zero the slots of the seconds and minutes in (e->last_s, now]: nothing was counted then. */
static void advance(struct uid_rate *e, __u64 now)
{
	__u64 t, last = e->last_s;

	if (now <= last)
		return;
	for (t = last + 1; t <= now && t <= last + SLOTS; t++)
		set(e->h, SECS, t, 0);
	for (t = e->last_s / 60 + 1; t <= now / 60 && t <= e->last_s / 60 + SLOTS; t++)
		set(e->h, MINS, t, 0);
	e->last_s = now;
}

/* Of delta counted evenly over the seconds (from, from + span], those in (from, from + t]. */
static __u64 share(__u64 delta, __u64 t, __u64 span)
{
	return (__u64)((unsigned __int128)delta * t / span);
}

/* Of delta counted evenly over the seconds (from, from + span], those in second t. */
static __u32 second_share(__u64 delta, __u64 t, __u64 from, __u64 span)
{
	return (__u32)(share(delta, t - from, span) - share(delta, t - from - 1, span));
}

/* Of delta counted evenly over the seconds (from, now], those in minute m. */
static __u32 minute_share(__u64 delta, __u64 m, __u64 from, __u64 now)
{
	__u64 lo = m * 60 > from + 1 ? m * 60 - 1 : from;
	__u64 hi = m * 60 + 59 < now ? m * 60 + 59 : now;

	return (__u32)(share(delta, hi - from, now - from) - share(delta, lo - from, now - from));
}

/*
 * delta connections made in the seconds (from, now]: spread evenly over
 * them, since nothing tells when within them each was made. A tick apart,
 * that is the second of now; after a pause of the daemon, the whole pause,
 * so that a minute's window holds a minute's worth of it and not all.
 */
static int add(struct uid_rate *e, __u64 delta, __u64 from, __u64 now)
{
	__u64 span, t, first, m, first_m;
	int err;

	if (!e->h) {
		e->h = calloc(1, NARROW_SIZE);
		if (!e->h)
			return -ENOMEM;
		e->last_s = now;
	}
	advance(e, now);
	if (from >= now)
		from = now - 1;
	span = now - from;
	first = now > from + SLOTS ? now - SLOTS + 1 : from + 1;
	/* The minutes the history holds that (from, now] falls in. */
	first_m = now / 60 >= SLOTS && from / 60 <= now / 60 - SLOTS ? now / 60 - SLOTS + 1
								     : from / 60;
	/*
	 * Made wide before a minute's count would pass 16 bits: nothing is half
	 * added. A minute's share is at most delta: most samples need no share.
	 */
	for (m = first_m; m <= now / 60 && !e->h->wide; m++)
		if ((__u64)at(e->h, MINS, m) + delta > UINT16_MAX &&
		    (__u64)at(e->h, MINS, m) + minute_share(delta, m, from, now) > UINT16_MAX) {
			err = widen(e);
			if (err)
				return err;
		}
	for (t = first; t <= now; t++)
		set(e->h, SECS, t, at(e->h, SECS, t) + second_share(delta, t, from, span));
	for (m = first_m; m <= now / 60; m++)
		set(e->h, MINS, m, at(e->h, MINS, m) + minute_share(delta, m, from, now));
	e->active_s = now;
	return 0;
}

void sg_rates_pass(struct sg_rates *r, __u64 now_s)
{
	if (now_s > r->pass_s) {
		r->prev_pass_s = r->pass_s;
		r->pass_s = now_s;
	}
}

/* The sample of sg_rates_sample_since, its UID's entry into *out. */
static int sample(struct sg_rates *r, __u32 uid, __u64 total, __u64 since_s, __u64 now_s,
		  struct uid_rate **out)
{
	struct uid_rate *e;
	__u64 delta, from;
	int ret;

	if (now_s > UINT32_MAX || since_s > UINT32_MAX)
		return -ERANGE;
	sg_rates_pass(r, now_s);
	ret = sg_htab_add(r->uids, &uid, (void **)&e);
	if (ret < 0)
		return ret;
	*out = e;
	if (ret) {
		/* New: it was not there at the pass before. */
		from = r->prev_pass_s;
		delta = r->started ? total : 0;
	} else {
		from = e->sampled_s;
		delta = total >= e->total ? total - e->total : total;
	}
	e->total = total;
	e->sampled_s = now_s;
	/* The kernel's first count of the UID: nothing was counted before it. */
	if (since_s && since_s - 1 > from)
		from = since_s - 1;
	ret = delta ? add(e, delta, from, now_s) : 0;
	/* Not added (ENOMEM): the next sample adds it, spread from the same second. */
	if (ret) {
		e->total = total - delta;
		e->sampled_s = from;
	}
	return ret;
}

int sg_rates_sample_since(struct sg_rates *r, __u32 uid, __u64 total, __u64 since_s, __u64 now_s)
{
	struct uid_rate *e;

	return sample(r, uid, total, since_s, now_s, &e);
}

int sg_rates_sample(struct sg_rates *r, __u32 uid, __u64 total, __u64 now_s)
{
	return sg_rates_sample_since(r, uid, total, 0, now_s);
}

static const __u32 window_minutes[SG_WINDOWS] = { 0, 10, 60 };

void sg_rates_started(struct sg_rates *r, __u64 now_s)
{
	r->started = 1;
	r->start_s = now_s;
}

/* sg_rates_count of the entry e (NULL: a UID never sampled). */
static __u64 count(const struct uid_rate *e, enum sg_window w, __u64 now_s)
{
	__u64 t, from, to, sum = 0;

	if (!e || !e->h)
		return 0;
	if (w == SG_WIN_1M) {
		/* Seconds in (now - 60, now] that the history still holds. */
		from = now_s >= SLOTS - 1 ? now_s - (SLOTS - 1) : 0;
		if (e->last_s >= SLOTS - 1 && from < e->last_s - (SLOTS - 1))
			from = e->last_s - (SLOTS - 1);
		to = e->last_s < now_s ? e->last_s : now_s;
		for (t = from; t <= to; t++)
			sum += at(e->h, SECS, t);
		return sum;
	}
	from = now_s / 60 >= window_minutes[w] - 1 ? now_s / 60 - (window_minutes[w] - 1) : 0;
	if (e->last_s / 60 >= SLOTS - 1 && from < e->last_s / 60 - (SLOTS - 1))
		from = e->last_s / 60 - (SLOTS - 1);
	to = e->last_s / 60 < now_s / 60 ? e->last_s / 60 : now_s / 60;
	for (t = from; t <= to; t++)
		sum += at(e->h, MINS, t);
	return sum;
}

__u64 sg_rates_count(const struct sg_rates *r, __u32 uid, enum sg_window w, __u64 now_s)
{
	return count(sg_htab_find(r->uids, &uid), w, now_s);
}

int sg_rates_sample_counts(struct sg_rates *r, __u32 uid, __u64 total, __u64 since_s, __u64 now_s,
			   __u64 *counts, unsigned int n)
{
	struct uid_rate *e = NULL;
	int ret = sample(r, uid, total, since_s, now_s, &e);
	unsigned int w;

	for (w = 0; w < n && w < SG_WINDOWS; w++)
		counts[w] = count(e, w, now_s);
	return ret;
}

double sg_rates_rate(const struct sg_rates *r, __u32 uid, enum sg_window w, __u64 now_s)
{
	__u64 span = w == SG_WIN_1M ? SLOTS : (window_minutes[w] - 1) * 60 + now_s % 60 + 1;
	__u64 watched = r->started && now_s > r->start_s ? now_s - r->start_s : 0;

	/* Right after start, the window is only as long as we have been looking. */
	if (watched < span)
		span = watched;
	return span ? (double)sg_rates_count(r, uid, w, now_s) / (double)span : 0.0;
}

__u32 sg_rates_expire(struct sg_rates *r, __u64 now_s)
{
	struct uid_rate *e;
	size_t pos = 0;
	__u32 left = 0;

	while ((e = sg_htab_next(r->uids, &pos))) {
		if (!e->h)
			continue;
		if (now_s - e->active_s >= 3600) {
			free(e->h);
			e->h = NULL;
			continue;
		}
		left++;
	}
	return left;
}
