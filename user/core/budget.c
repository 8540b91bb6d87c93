// SPDX-License-Identifier: GPL-2.0
/* Per-principal message budgets: see budget.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/baseline.h"
#include "core/budget.h"
#include "core/mailstats.h"
#include "sg_bucket.h"
#include "util/htab.h"

#define NEAR 32 /* principals a new one may replace at the cap: the fullest of them */

struct entry {
	char id[SG_PRINCIPAL_MAX]; /* the key */
	__u64 tat_ns[SG_BUDGET_BUCKETS]; /* each bucket's, as sg_bucket.h has it */
	struct sg_budget_limits lim; /* of the last message: how full it is, at the cap */
};

struct sg_budget {
	struct sg_htab *h; /* of struct entry */
	__u64 evicted;
};

/* v rounded up, within a bucket's bounds. */
static __u32 clamp_burst(double v)
{
	__u32 n;

	if (v >= SG_BURST_MAX)
		return SG_BURST_MAX;
	if (v < 1)
		return 1;
	n = (__u32)v;
	return n < v ? n + 1 : n;
}

static double at_least_1(double v)
{
	return v > 1 ? v : 1;
}

/* A bucket of n a minute (hour = 0) or an hour. */
static void set(struct sg_budget_limits *l, enum sg_budget_bucket i, __u32 n, int hour)
{
	l->burst[i] = n;
	l->rate_per_hour[i] = hour ? n : (__u64)n * 60;
}

void sg_budget_limits(const struct sg_budget_cfg *c, double per_min, const struct sg_override *o,
		      struct sg_budget_limits *out)
{
	double up_min, up_hour;

	memset(out, 0, sizeof(*out));
	if (o && o->has_limit) {
		/* A known bulk sender: its own rate on messages, or nothing. */
		if (o->limit.mode == SG_MODE_THROTTLE) {
			out->burst[SG_BUDGET_MSG_MIN] = o->limit.burst;
			out->rate_per_hour[SG_BUDGET_MSG_MIN] = o->limit.rate_per_hour;
		}
		return;
	}
	set(out, SG_BUDGET_MSG_MIN, c->messages_minute, 0);
	set(out, SG_BUDGET_RCPT_MIN, c->recipients_minute, 0);
	set(out, SG_BUDGET_RCPT_HOUR, c->recipients_hour, 1);
	if (per_min < 0) {
		set(out, SG_BUDGET_MSG_HOUR, c->first, 1);
		return;
	}
	/* How far the learned rate lifts each window above its floor; recipients follow. */
	up_min = at_least_1(c->factor * per_min / c->messages_minute);
	up_hour = at_least_1(c->factor * per_min * 60 / c->messages_hour);
	set(out, SG_BUDGET_MSG_MIN, clamp_burst(c->messages_minute * up_min), 0);
	set(out, SG_BUDGET_MSG_HOUR, clamp_burst(c->messages_hour * up_hour), 1);
	set(out, SG_BUDGET_RCPT_MIN, clamp_burst(c->recipients_minute * up_min), 0);
	set(out, SG_BUDGET_RCPT_HOUR, clamp_burst(c->recipients_hour * up_hour), 1);
}

static int numeric(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

const struct sg_override *sg_budget_override(const struct sg_config *c, const char *principal,
					     const char *user)
{
	size_t sasl = strlen(SG_MAIL_SASL), local = strlen(SG_MAIL_LOCAL);
	const char *name;
	int i;

	for (i = 0; i < c->n_overrides; i++) {
		name = c->overrides[i].name;
		if (!strcasecmp(name, principal))
			return &c->overrides[i];
		if (!strncmp(principal, SG_MAIL_SASL, sasl) && strchr(name, '@') &&
		    !strcasecmp(name, principal + sasl))
			return &c->overrides[i];
		if (!strncmp(principal, SG_MAIL_LOCAL, local) && !strchr(name, ':') &&
		    (numeric(name) ? !strcmp(name, principal + local)
				   : user && !strcmp(name, user)))
			return &c->overrides[i];
	}
	return NULL;
}

int sg_budget_names_user(const struct sg_config *c)
{
	int i;

	for (i = 0; i < c->n_overrides; i++)
		if (!strchr(c->overrides[i].name, '@') && !strchr(c->overrides[i].name, ':') &&
		    !numeric(c->overrides[i].name))
			return 1;
	return 0;
}

struct sg_budget *sg_budget_new(size_t max)
{
	struct sg_budget *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->h = sg_htab_new(SG_HTAB_STRING, SG_PRINCIPAL_MAX, sizeof(struct entry), 64,
			   max ? max : SG_BUDGET_MAX);
	if (!b->h) {
		free(b);
		return NULL;
	}
	return b;
}

void sg_budget_free(struct sg_budget *b)
{
	if (!b)
		return;
	sg_htab_free(b->h);
	free(b);
}

/* How full e's fullest-spent bucket is at now, 0 to 1: an idle principal's are all full. */
static double fullness(const struct entry *e, __u64 now)
{
	double least = 1, f;
	int i;

	for (i = 0; i < SG_BUDGET_BUCKETS; i++) {
		if (!e->lim.burst[i])
			continue;
		f = sg_bucket_tokens(e->tat_ns[i], now, e->lim.rate_per_hour[i], e->lim.burst[i]) /
		    e->lim.burst[i];
		least = f < least ? f : least;
	}
	return least;
}

static struct entry *entry(struct sg_budget *b, const char *id, __u64 now)
{
	struct entry *e, *near[NEAR];
	size_t i, n, best = 0;
	int ret;

	ret = sg_htab_add(b->h, id, (void **)&e);
	if (ret == -ENOSPC) {
		n = sg_htab_near(b->h, id, (void **)near, NEAR);
		for (i = 1; i < n; i++)
			if (fullness(near[i], now) > fullness(near[best], now))
				best = i;
		sg_htab_delete(b->h, near[best]->id);
		b->evicted++;
		ret = sg_htab_add(b->h, id, (void **)&e);
	}
	return ret < 0 ? NULL : e;
}

int sg_budget_admit(struct sg_budget *b, const char *principal, __u32 rcpts,
		    const struct sg_budget_limits *lim, __u64 now_ns)
{
	__u64 next[SG_BUDGET_BUCKETS] = { 0 };
	struct entry *e;
	__u32 cost;
	int i;

	if (strlen(principal) >= SG_PRINCIPAL_MAX)
		return -ENAMETOOLONG;
	e = entry(b, principal, now_ns);
	if (!e)
		return -ENOMEM;
	/* A new limit keeps the tokens left under the old: a spent sender gets no new burst. */
	for (i = 0; i < SG_BUDGET_BUCKETS; i++)
		e->tat_ns[i] = sg_bucket_carry(e->tat_ns[i], now_ns,
					       sg_bucket_interval(e->lim.rate_per_hour[i]),
					       e->lim.burst[i], sg_bucket_interval(lim->rate_per_hour[i]),
					       lim->burst[i]);
	e->lim = *lim;
	/* All or nothing: over budget, nothing is spent. */
	for (i = 0; i < SG_BUDGET_BUCKETS; i++) {
		cost = i < SG_BUDGET_RCPT_MIN ? 1 : rcpts;
		if (!lim->burst[i] || !cost)
			continue;
		next[i] = sg_bucket_take(e->tat_ns[i], now_ns,
					 sg_bucket_interval(lim->rate_per_hour[i]), lim->burst[i],
					 cost);
		if (!next[i])
			return 0;
	}
	for (i = 0; i < SG_BUDGET_BUCKETS; i++)
		if (next[i])
			e->tat_ns[i] = next[i];
	return 1;
}

size_t sg_budget_count(const struct sg_budget *b)
{
	return sg_htab_count(b->h);
}

__u64 sg_budget_evicted(const struct sg_budget *b)
{
	return b->evicted;
}
