// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/dnsblwatch.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "util/log.h"

/* [dnsbl] as the config gives it: a reload that leaves it alone leaves the checks alone. */
struct sg_dnsblwatch {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop; /* under lock */
	int refs; /* under lock: the daemon's and the thread's */
	struct sg_dnsbl_cfg set;
	struct sg_dnsbl_addr addrs[SG_MAX_DNSBL_ADDRS]; /* [dnsbl] addresses; none: the host's */
	int n_addrs;
	struct sg_dnsbl_state pub;  /* what /metrics shows: the thread writes it, under lock */
	struct sg_dnsbl_state next; /* the round in progress: the thread's own */
};

static int stopping(struct sg_dnsblwatch *w)
{
	int stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static const struct sg_dnsbl_result *find(const struct sg_dnsbl_state *s, int zone,
					  const char *address)
{
	int i;

	for (i = 0; i < s->n_results; i++)
		if (s->results[i].zone == zone && !strcmp(s->results[i].address, address))
			return &s->results[i];
	return NULL;
}

/* A line when a pair's state changes: news for the operator, not one line per round. */
static void log_change(const struct sg_dnsbl_state *s, const struct sg_dnsbl_result *was,
		       const struct sg_dnsbl_result *r, const char *detail)
{
	const char *zone = s->zones[r->zone];

	if (r->failing) {
		if (!was || !was->failing)
			sg_error("dnsbl: %s on %s: lookup failed (%s)", r->address, zone, detail);
	} else if (r->listed && (!was || !was->known || !was->listed)) {
		sg_warn("dnsbl: %s is listed on %s (%s)", r->address, zone, detail);
	} else if (!r->listed && was && was->known && was->listed) {
		sg_info("dnsbl: %s is no longer listed on %s", r->address, zone);
	}
}

/* One round: every address in every zone, published whole at its end unless stopped. */
static void check(struct sg_dnsblwatch *w)
{
	struct sg_dnsbl_addr host[SG_DNSBL_HOST_ADDRS];
	const struct sg_dnsbl_addr *addrs = w->addrs;
	struct sg_dnsbl_state *next = &w->next;
	const struct sg_dnsbl_result *was;
	struct sg_dnsbl_answer ans;
	struct sg_dnsbl_result *r;
	int n = w->n_addrs, i, z, err;

	if (!n) {
		n = sg_dnsbl_host_addrs(host, SG_DNSBL_HOST_ADDRS);
		if (n < 0) {
			sg_error("dnsbl: listing the host's addresses: %s", strerror(-n));
			return;
		}
		if (n > SG_DNSBL_HOST_ADDRS) {
			sg_info("dnsbl: %d global addresses, the first %d checked "
				"([dnsbl] addresses names others)",
				n, SG_DNSBL_HOST_ADDRS);
			n = SG_DNSBL_HOST_ADDRS;
		}
		addrs = host;
	}
	memcpy(next->failures, w->pub.failures, sizeof(next->failures));
	next->n_results = 0;
	for (i = 0; i < n; i++) {
		for (z = 0; z < next->n_zones; z++) {
			err = sg_dnsbl_lookup(&addrs[i], next->zones[z], &ans);
			/* Stopped while it waited (a reload): the new thread reports. */
			if (stopping(w))
				return;
			if (err) {
				ans.status = SG_DNSBL_FAILED;
				snprintf(ans.detail, sizeof(ans.detail), "%s", strerror(-err));
			}
			/* Only this thread writes pub: it reads it without the lock. */
			was = find(&w->pub, z, addrs[i].text);
			r = &next->results[next->n_results++];
			if (ans.status == SG_DNSBL_FAILED) {
				*r = was ? *was : (struct sg_dnsbl_result){ 0 };
				r->failing = 1;
				next->failures[z]++;
			} else {
				r->known = 1;
				r->listed = ans.status == SG_DNSBL_LISTED;
				r->failing = 0;
			}
			r->zone = z;
			snprintf(r->address, sizeof(r->address), "%s", addrs[i].text);
			log_change(next, was, r, ans.detail);
		}
	}
	pthread_mutex_lock(&w->lock);
	memcpy(w->pub.results, next->results, next->n_results * sizeof(*next->results));
	w->pub.n_results = next->n_results;
	memcpy(w->pub.failures, next->failures, sizeof(next->failures));
	w->pub.last_check = (__u64)time(NULL);
	pthread_mutex_unlock(&w->lock);
}

static void release(struct sg_dnsblwatch *w)
{
	int last;

	pthread_mutex_lock(&w->lock);
	last = !--w->refs;
	pthread_mutex_unlock(&w->lock);
	if (!last)
		return;
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void *watch(void *arg)
{
	struct sg_dnsblwatch *w = arg;
	struct timespec until;

	while (!stopping(w)) {
		/* Every interval from the start of a round: a slow round does not push the next. */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(w->set.interval_ns / SG_NS_PER_SEC);
		until.tv_nsec += (long)(w->set.interval_ns % SG_NS_PER_SEC);
		if (until.tv_nsec >= (long)SG_NS_PER_SEC) {
			until.tv_sec++;
			until.tv_nsec -= (long)SG_NS_PER_SEC;
		}
		check(w);
		pthread_mutex_lock(&w->lock);
		while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&w->lock);
	}
	release(w);
	return NULL;
}

/*
 * The zones and addresses of w's settings. The config takes any DNS name
 * as a zone; one no query name can be made of is said once and left out.
 */
static void configure(struct sg_dnsblwatch *w)
{
	const struct sg_dnsbl_cfg *s = &w->set;
	struct sg_dnsbl_addr a;
	const char *why;
	int i, j;

	for (i = 0; i < s->n_zones; i++) {
		if (sg_dnsbl_zone_check(s->zones[i], &why)) {
			sg_warn("dnsbl: zone '%s' left out: %s", s->zones[i], why);
			continue;
		}
		strcpy(w->pub.zones[w->pub.n_zones++], s->zones[i]);
	}
	memcpy(w->next.zones, w->pub.zones, sizeof(w->pub.zones));
	w->next.n_zones = w->pub.n_zones;
	/* The config checks the addresses; "::ffff:198.51.100.7" and "198.51.100.7" are one. */
	for (i = 0; i < s->n_addresses; i++) {
		if (sg_dnsbl_addr_parse(s->addresses[i], &a))
			continue;
		for (j = 0; j < w->n_addrs && strcmp(w->addrs[j].text, a.text); j++)
			;
		if (j == w->n_addrs)
			w->addrs[w->n_addrs++] = a;
	}
}

static int named(const struct sg_dnsblwatch *w, const char *address)
{
	int i;

	for (i = 0; i < w->n_addrs; i++)
		if (!strcmp(w->addrs[i].text, address))
			return 1;
	return !w->n_addrs;
}

/* What old knows of the zones and addresses w still checks: a reload forgets nothing. */
static void inherit(struct sg_dnsblwatch *w, struct sg_dnsblwatch *old)
{
	const struct sg_dnsbl_result *r;
	struct sg_dnsbl_state *s = &w->pub;
	int map[SG_MAX_ZONES], i, z;

	pthread_mutex_lock(&old->lock);
	for (i = 0; i < old->pub.n_zones; i++) {
		for (z = 0; z < s->n_zones && strcmp(s->zones[z], old->pub.zones[i]); z++)
			;
		map[i] = z < s->n_zones ? z : -1;
		if (map[i] >= 0)
			s->failures[z] = old->pub.failures[i];
	}
	for (i = 0; i < old->pub.n_results; i++) {
		r = &old->pub.results[i];
		if (map[r->zone] < 0 || !named(w, r->address))
			continue;
		s->results[s->n_results] = *r;
		s->results[s->n_results++].zone = map[r->zone];
	}
	s->last_check = old->pub.last_check;
	pthread_mutex_unlock(&old->lock);
}

static int start(struct sg_dnsblwatch *w)
{
	pthread_condattr_t ca;
	sigset_t all, saved;
	pthread_t t;
	int err;

	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	w->refs = 2;
	/* The daemon reads its signals from a signalfd: none may be delivered to this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = pthread_create(&t, NULL, watch, w);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		return -err;
	}
	/* Never joined: stopping must not wait for a lookup in flight. */
	pthread_detach(t);
	return 0;
}

int sg_dnsblwatch_apply(struct sg_dnsblwatch **wp, const struct sg_dnsbl_cfg *c)
{
	struct sg_dnsblwatch *w = NULL, *old = *wp;
	char dur[32];
	int err;

	if (c->n_zones && c->interval_ns) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->set = *c;
		if (old && !memcmp(&w->set, &old->set, sizeof(w->set))) {
			free(w);
			return 0;
		}
		configure(w);
		if (!w->pub.n_zones) {
			free(w);
			w = NULL;
		}
	}
	if (w) {
		if (old)
			inherit(w, old);
		err = start(w);
		if (err) {
			free(w);
			return err;
		}
		if (w->n_addrs)
			sg_info("dnsbl: %d address%s in %d zone%s every %s", w->n_addrs,
				w->n_addrs == 1 ? "" : "es", w->pub.n_zones,
				w->pub.n_zones == 1 ? "" : "s",
				sg_format_duration(w->set.interval_ns, dur, sizeof(dur)));
		else
			sg_info("dnsbl: the host's global addresses in %d zone%s every "
				"%s",
				w->pub.n_zones, w->pub.n_zones == 1 ? "" : "s",
				sg_format_duration(w->set.interval_ns, dur, sizeof(dur)));
	}
	sg_dnsblwatch_stop(old);
	*wp = w;
	return 0;
}

void sg_dnsblwatch_stop(struct sg_dnsblwatch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	release(w);
}

int sg_dnsblwatch_render(struct sg_dnsblwatch *w, FILE *f)
{
	int err;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	err = sg_metrics_render_dnsbl(f, &w->pub);
	pthread_mutex_unlock(&w->lock);
	return err;
}
