// SPDX-License-Identifier: GPL-2.0
/* The rules over principals' counts; see detect.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/detect.h"
#include "util/htab.h"

const char *const sg_rule_names[SG_RULES] = { SG_RULE_LIST(SG_ENUM_NAME) };

/* The table's entry: the detector hands out pointers, so entries hold them. */
struct slot {
	const char *id; /* p's */
	struct sg_principal *p;
};

/* The rule states of a principal none of whose rules has held. */
static const struct sg_rule_state no_rules[SG_RULES];

struct sg_detector {
	struct sg_baselines *store;
	struct sg_htab *t; /* of struct slot, deleted from by sg_detect_prune */
	size_t n_active;   /* principals with a rule active: sg_detect_each_active's stop */
	__u64 forgotten;   /* principals freed: see sg_detect_forgotten */
	__u64 raised[SG_RULES];
	/*
	 * SG_RULES states for the next principal whose rule first holds, set
	 * aside before its observation changes anything: no ENOMEM halfway.
	 */
	struct sg_rule_state *spare;
	/* The hour of the week of how_at: a tick's principals share one conversion. */
	time_t how_at;
	int how; /* -1: none yet */
};

struct sg_detector *sg_detector_new(struct sg_baselines *store)
{
	struct sg_detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->store = store;
	d->how = -1;
	d->t = sg_htab_new(SG_HTAB_STRING_REF, SG_PRINCIPAL_MAX, sizeof(struct slot), 128, 0);
	if (!d->t) {
		free(d);
		return NULL;
	}
	return d;
}

static void principal_free(struct sg_principal *p)
{
	if (p->rules != no_rules)
		free((void *)p->rules);
	free(p);
}

void sg_detector_free(struct sg_detector *d)
{
	struct slot *e;
	size_t pos = 0;

	if (!d)
		return;
	while ((e = sg_htab_next(d->t, &pos)))
		principal_free(e->p);
	sg_htab_free(d->t);
	free(d->spare);
	free(d);
}

/* The principal, created with its baseline record when absent; NULL on ENOMEM or a bad id. */
static struct sg_principal *principal(struct sg_detector *d, const char *id, time_t now)
{
	struct slot *e = sg_htab_find(d->t, id);
	struct sg_principal *p;

	if (e)
		return e->p;
	if (strlen(id) >= SG_PRINCIPAL_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->baseline = sg_baselines_get(d->store, id, 1, now);
	if (!p->baseline || sg_htab_add(d->t, id, (void **)&e) < 0) {
		free(p);
		return NULL;
	}
	p->id = p->baseline->principal;
	p->expected = -1;
	p->rules = no_rules;
	e->id = p->id;
	e->p = p;
	return p;
}

static int hour_of_week(struct sg_detector *d, time_t now)
{
	if (d->how < 0 || d->how_at != now) {
		d->how = sg_hour_of_week(now);
		d->how_at = now;
	}
	return d->how;
}

/* What the baseline says at now: the expected rate, and whether the principal is new. */
static void refresh(struct sg_detector *d, struct sg_principal *p, time_t now)
{
	p->expected = sg_baseline_per_min_in(p->baseline, hour_of_week(d, now));
	p->is_new =
		p->baseline->first_seen && now - p->baseline->first_seen < SG_NEW_SENDER_WINDOW_S;
}

int sg_detect_known(struct sg_detector *d, const char *id, __u64 total, time_t now)
{
	int fresh = !sg_baselines_get(d->store, id, 0, now);
	struct sg_principal *p = principal(d, id, now);

	if (!p)
		return -ENOMEM;
	/* Sent before we kept records: not new, whenever that was. */
	if (fresh)
		p->baseline->first_seen = 0;
	p->obs.total = total;
	refresh(d, p, now);
	return 0;
}

/* Per minute, over the time a new sender has been sending (at least a second, at most a minute). */
static double new_sender_rate(const struct sg_principal *p, const struct sg_observation *o,
			      time_t now)
{
	time_t span = now - p->baseline->first_seen + 1;

	span = span < 1 ? 1 : span > 60 ? 60 : span;
	return (double)o->last_1m * 60 / (double)span;
}

/* Whether rule r holds; its measure and limit into *value and *limit. */
static int holds(const struct sg_principal *p, enum sg_rule r, const struct sg_observation *o,
		 const struct sg_thresholds *t, time_t now, double *value, double *limit)
{
	double expected = p->expected > 0 ? p->expected : 0;

	switch (r) {
	case SG_RULE_RATE:
		*value = (double)o->last_1m;
		*limit = t->rate_factor * expected > t->rate_floor ? t->rate_factor * expected
								   : t->rate_floor;
		/* With no floor, nothing learned (or a silent hour) is no limit of 0. */
		return *limit > 0 && *value > *limit;
	case SG_RULE_DESTINATIONS:
		*value = o->destinations_10m;
		*limit = t->destinations;
		return t->destinations && *value > *limit;
	case SG_RULE_NEW_SENDER:
		*value = new_sender_rate(p, o, now);
		*limit = t->new_sender_rate;
		return p->is_new && t->new_sender_rate > 0 && o->last_1m >= t->new_sender_min &&
		       *value > *limit;
	case SG_RULE_FAILURE_RATIO:
		*value = o->finished_10m ? (double)o->failed_10m / (double)o->finished_10m : 0;
		*limit = t->failure_ratio;
		return t->failure_ratio > 0 && o->finished_10m >= t->failure_min &&
		       o->finished_10m && *value > *limit;
	case SG_RULE_CLIENT_IPS:
		*value = o->client_ips_1h;
		*limit = t->client_ips;
		return t->client_ips && *value > *limit;
	case SG_RULE_BOUNCE_SHARE:
		*value = o->delivered_10m ? (double)o->bounced_10m / (double)o->delivered_10m : 0;
		*limit = t->bounce_share;
		return t->bounce_share > 0 && o->delivered_10m >= t->bounce_min &&
		       o->delivered_10m && *value > *limit;
	case SG_RULE_BOUNCE_FLOOD:
		*value = (double)o->bounces_in_1h;
		*limit = t->bounce_flood;
		return t->bounce_flood && *value > *limit;
	default:
		return 0;
	}
}

static int any_active(const struct sg_principal *p)
{
	int r;

	for (r = 0; r < SG_RULES; r++)
		if (p->rules[r].active)
			return 1;
	return 0;
}

/* The principal's rule states to write: its own, the spare the first time. */
static struct sg_rule_state *own_rules(struct sg_detector *d, struct sg_principal *p)
{
	if (p->rules == no_rules) {
		p->rules = d->spare;
		d->spare = NULL;
	}
	/* Only the shared no_rules are const. */
	return (struct sg_rule_state *)p->rules;
}

int sg_detect_observe(struct sg_detector *d, const char *id, const struct sg_observation *o,
		      const struct sg_thresholds *t, time_t now, struct sg_alert_change *out)
{
	struct sg_principal *p = NULL;

	return sg_detect_observe_kept(d, &p, id, o, t, now, out);
}

static int observe(struct sg_detector *d, struct sg_principal **kept, const char *id,
		   const struct sg_observation *o, const struct sg_thresholds *t, time_t now,
		   struct sg_alert_change *out)
{
	/* A mailbox that only receives bounces is judged too: bounce_flood is about it. */
	int seen = o->total || o->bounces_in_1h;
	/* A principal has its baseline in the store: one lookup a tick for those already met. */
	const struct slot *e = *kept ? NULL : sg_htab_find(d->t, id);
	int known = *kept || e || sg_baselines_get(d->store, id, 0, now) != NULL;
	struct sg_principal *p = *kept ? *kept : e ? e->p : NULL;
	struct sg_rule_state *rs;
	double value, limit;
	__u64 delta;
	int r, n = 0, was_active;

	/* Before a principal is made: one made and not observed would lose its first_seen. */
	if ((p ? p->rules == no_rules : known || seen) && !d->spare &&
	    !(d->spare = calloc(SG_RULES, sizeof(*d->spare))))
		return -ENOMEM;
	if (!p && (known || seen))
		p = principal(d, id, now);
	*kept = p;
	if (!p)
		return seen ? -ENOMEM : 0;
	was_active = any_active(p);
	if (!known && o->first_seen > 0 && o->first_seen < now)
		p->baseline->first_seen = o->first_seen;
	/* A total that went down is a kernel entry made anew: all of it is new. */
	delta = o->total >= p->obs.total ? o->total - p->obs.total : o->total;
	p->obs = *o;
	if (delta || o->bounces_in_1h)
		p->baseline->last_seen = now;
	sg_baseline_add(p->baseline, delta, now);
	refresh(d, p, now);
	for (r = 0; r < SG_RULES; r++) {
		if (holds(p, r, o, t, now, &value, &limit)) {
			rs = own_rules(d, p) + r;
			rs->value = value;
			rs->limit = limit;
			rs->last_true = now;
			if (!rs->active) {
				rs->active = 1;
				rs->since = now;
				rs->raised += rs->raised < UINT32_MAX;
				d->raised[r]++;
				out[n++] = (struct sg_alert_change){ r, 1, value, limit };
			}
		} else if (p->rules[r].active && now - p->rules[r].last_true >= SG_ALERT_CLEAR_S) {
			own_rules(d, p)[r].active = 0;
			out[n++] = (struct sg_alert_change){ r, 0, value, limit };
		}
	}
	/* Spam is not normal: an hour with an alert in it is not learned. */
	if (any_active(p)) {
		p->baseline->tainted = 1;
		d->n_active += !was_active;
	} else {
		d->n_active -= was_active;
	}
	return n;
}

int sg_detect_observe_kept(struct sg_detector *d, struct sg_principal **kept, const char *id,
			   const struct sg_observation *o, const struct sg_thresholds *t,
			   time_t now, struct sg_alert_change *out)
{
	/* The rule times are 32 bits: a time they cannot hold changes nothing. */
	if (now < 0 || (unsigned long long)now > UINT32_MAX)
		return -ERANGE;
	return observe(d, kept, id, o, t, now, out);
}

const struct sg_principal *sg_detect_get(const struct sg_detector *d, const char *id)
{
	const struct slot *e = sg_htab_find(d->t, id);

	return e ? e->p : NULL;
}

int sg_detect_each_active(const struct sg_detector *d,
			  int (*fn)(const struct sg_principal *p, void *ctx), void *ctx)
{
	const struct slot *e;
	size_t pos = 0, left = d->n_active;
	int ret;

	/* Past the last active one the rest holds none: with no alert, nothing is visited. */
	while (left && (e = sg_htab_next(d->t, &pos))) {
		if (!any_active(e->p))
			continue;
		left--;
		ret = fn(e->p, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

static int collect(struct sg_baseline *b, void *ctx)
{
	struct sg_baseline ***end = ctx;

	*(*end)++ = b;
	return 0;
}

static int by_last_seen(const void *a, const void *b)
{
	__s64 x = (*(struct sg_baseline *const *)a)->last_seen,
	      y = (*(struct sg_baseline *const *)b)->last_seen;

	return (x > y) - (x < y);
}

/* The principal's state and record gone; each table's key is its entry's own string until then. */
static void forget(struct sg_detector *d, struct sg_baseline *b)
{
	struct slot *e = sg_htab_find(d->t, b->principal);
	struct sg_principal *p = e ? e->p : NULL;

	if (p) {
		sg_htab_delete(d->t, b->principal);
		principal_free(p);
		d->forgotten++;
	}
	sg_baselines_remove(d->store, b->principal);
}

int sg_detect_prune(struct sg_detector *d, time_t now, time_t unseen_s, size_t max, __u64 *unseen,
		    __u64 *over)
{
	size_t n = sg_baselines_count(d->store), left = n, i;
	struct sg_baseline **all, **end;
	const struct slot *e;

	if (!unseen_s && (!max || n <= max))
		return 0;
	all = malloc((n ? n : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	end = all;
	sg_baselines_each(d->store, collect, &end);
	/* The least recently seen first: they go first. */
	qsort(all, n, sizeof(*all), by_last_seen);
	for (i = 0; i < n; i++) {
		int stale = unseen_s && now - all[i]->last_seen >= unseen_s;

		if (!stale && (!max || left <= max))
			break;
		e = sg_htab_find(d->t, all[i]->principal);
		if (e && any_active(e->p))
			continue;
		forget(d, all[i]);
		left--;
		++*(stale ? unseen : over);
	}
	free(all);
	return 0;
}

__u64 sg_detect_forgotten(const struct sg_detector *d)
{
	return d->forgotten;
}

__u64 sg_detect_raised(const struct sg_detector *d, enum sg_rule r)
{
	return r < SG_RULES ? d->raised[r] : 0;
}
