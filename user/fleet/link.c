// SPDX-License-Identifier: GPL-2.0
/* The bouncer's pulls from the LAPI, in a thread of their own: see link.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet/link.h"
#include "util/log.h"
#include "util/render.h"
#include "sg_bucket.h"

struct sg_link {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop; /* under lock */
	int refs; /* under lock: the daemon's and the thread's */
	struct sg_crowdsec_cfg set;
	struct sg_link_batch inbox; /* under lock: a pull the tick has not taken */
	int full;		    /* under lock: inbox holds one */
	struct sg_link_status st;   /* under lock */
	/* The thread's own. */
	struct sg_lapi *lapi;
	char auth[SG_CROWDSEC_KEY_MAX + 16];
	int startup; /* the next pull asks for the full list */
	unsigned fails;
	int said; /* the failure kind said last; -1: none */
};

static int stopping(struct sg_link *k)
{
	int stop;

	pthread_mutex_lock(&k->lock);
	stop = k->stop;
	pthread_mutex_unlock(&k->lock);
	return stop;
}

void sg_link_batch_free(struct sg_link_batch *b)
{
	free(b->added);
	free(b->deleted);
	memset(b, 0, sizeof(*b));
}

/* The checked decisions of a, into *out and *n; what is left out counted in b. */
static int decisions(const json_t *a, struct sg_lapi_decision **out, size_t *n,
		     struct sg_link_batch *b)
{
	size_t i, m = json_array_size(a);
	char why[160];
	int err;

	*out = NULL;
	*n = 0;
	if (!m)
		return 0;
	*out = calloc(m, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < m; i++) {
		err = sg_lapi_decision_parse(json_array_get(a, i), &(*out)[*n], why, sizeof(why));
		if (!err) {
			(*n)++;
		} else if (err == -ENOTSUP) {
			b->unsupported++;
		} else {
			/* Said once a pull: a LAPI that sends garbage must not flood the log. */
			if (!b->malformed)
				sg_warn("crowdsec: decision left out: %s", why);
			b->malformed++;
		}
	}
	return 0;
}

/* A stream reply into b: {"new": [...] or null, "deleted": [...] or null}. */
static int batch(const json_t *j, struct sg_link_batch *b, char *why, size_t whylen)
{
	const json_t *added = json_object_get(j, "new"), *deleted = json_object_get(j, "deleted");
	int err;

	if (!json_is_object(j) || (added && !json_is_array(added) && !json_is_null(added)) ||
	    (deleted && !json_is_array(deleted) && !json_is_null(deleted))) {
		snprintf(why, whylen,
			 "the stream's reply is not {\"new\": [...], \"deleted\": [...]}");
		return -EINVAL;
	}
	err = decisions(added, &b->added, &b->n_added, b);
	if (!err)
		err = decisions(deleted, &b->deleted, &b->n_deleted, b);
	if (err) {
		snprintf(why, whylen, "%s", strerror(-err));
		sg_link_batch_free(b);
	}
	return err;
}

/* The key, from the config or its file, as the header the LAPI wants. */
static int load_key(struct sg_link *k, char *why, size_t whylen)
{
	char key[SG_CROWDSEC_KEY_MAX];
	int err;

	if (*k->set.api_key) {
		snprintf(k->auth, sizeof(k->auth), "X-Api-Key: %s", k->set.api_key);
		return 0;
	}
	err = sg_lapi_read_secret(k->set.api_key_file, key, sizeof(key), why, whylen);
	if (!err && key[strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-_.")]) {
		snprintf(why, whylen, "%.200s: not a key (letters and digits)",
			 k->set.api_key_file);
		err = -EINVAL;
	}
	if (!err)
		snprintf(k->auth, sizeof(k->auth), "X-Api-Key: %s", key);
	return err;
}

/* One pull: 0 with the decisions in b, else the failure's kind and reason. */
static int pull(struct sg_link *k, struct sg_link_batch *b, enum sg_lapi_error *kind, char *why,
		size_t whylen)
{
	char path[128];
	struct sg_lapi_reply r;
	int err;

	memset(b, 0, sizeof(*b));
	*kind = SG_LAPI_SECRET;
	if (!*k->auth && load_key(k, why, whylen))
		return -EPERM;
	snprintf(path, sizeof(path), "/v1/decisions/stream?startup=%s&scopes=%s",
		 k->startup ? "true" : "false", SG_DECISION_SCOPES);
	err = sg_lapi_call(k->lapi, "GET", path, k->auth, NULL, &r);
	*kind = r.kind;
	if (err) {
		snprintf(why, whylen, "%s", r.error);
	} else {
		*kind = SG_LAPI_REPLY;
		err = batch(r.json, b, why, whylen);
		b->startup = k->startup;
	}
	json_decref(r.json);
	/* A refused key may be replaced in its file meanwhile: read again next time. */
	if (*kind == SG_LAPI_AUTH)
		k->auth[0] = '\0';
	return err;
}

/* The outcome of a pull, for the status and the log: said once a kind, and once it works again. */
static void record(struct sg_link *k, int err, enum sg_lapi_error kind, const char *why,
		   struct sg_link_batch *b)
{
	pthread_mutex_lock(&k->lock);
	if (!err) {
		k->st.pulls++;
		k->st.last_pull = (__u64)time(NULL);
		k->st.failing = 0;
		k->inbox = *b;
		k->full = 1;
	} else {
		k->st.errors[kind]++;
		k->st.failing = 1;
		snprintf(k->st.last_error, sizeof(k->st.last_error), "%s", why);
	}
	pthread_mutex_unlock(&k->lock);
	if (!err && k->said >= 0)
		sg_info("crowdsec: pulling decisions from %s again", k->set.url);
	else if (err && k->said != (int)kind)
		sg_error("crowdsec: %s (%s); retrying with back-off, the bans in force stay", why,
			 sg_lapi_error_names[kind]);
	k->said = err ? (int)kind : -1;
	if (!err)
		k->startup = 0;
	k->fails = err ? k->fails + 1 : 0;
}

static void release(struct sg_link *k)
{
	int last;

	pthread_mutex_lock(&k->lock);
	last = !--k->refs;
	pthread_mutex_unlock(&k->lock);
	if (!last)
		return;
	sg_link_batch_free(&k->inbox);
	sg_lapi_close(k->lapi);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* The wait before the next pull: the interval, doubled at each failure in a row, up to a bound. */
static __u64 wait_ns(const struct sg_link *k)
{
	__u64 ns = k->set.interval_ns, max = (__u64)SG_LINK_BACKOFF_MAX_S * SG_NS_PER_SEC;
	unsigned i;

	for (i = 0; i < k->fails && ns < max; i++)
		ns *= 2;
	if (ns > max)
		ns = max > k->set.interval_ns ? max : k->set.interval_ns;
	return ns;
}

static void *run(void *arg)
{
	struct sg_link *k = arg;
	struct sg_link_batch b;
	enum sg_lapi_error kind;
	struct timespec until;
	char why[256];
	__u64 ns;
	int err, full;

	while (!stopping(k)) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		pthread_mutex_lock(&k->lock);
		full = k->full;
		pthread_mutex_unlock(&k->lock);
		/* The tick has not taken the last pull (the loop held up): not before it has. */
		if (!full) {
			err = pull(k, &b, &kind, why, sizeof(why));
			if (stopping(k)) {
				sg_link_batch_free(&b);
				break;
			}
			record(k, err, kind, why, &b);
		}
		ns = wait_ns(k);
		until.tv_sec += (time_t)(ns / SG_NS_PER_SEC);
		until.tv_nsec += (long)(ns % SG_NS_PER_SEC);
		if (until.tv_nsec >= (long)SG_NS_PER_SEC) {
			until.tv_sec++;
			until.tv_nsec -= (long)SG_NS_PER_SEC;
		}
		pthread_mutex_lock(&k->lock);
		while (!k->stop && pthread_cond_timedwait(&k->wake, &k->lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&k->lock);
	}
	release(k);
	return NULL;
}

static int start(struct sg_link *k)
{
	pthread_condattr_t ca;
	sigset_t all, saved;
	pthread_t t;
	int err;

	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->wake, &ca);
	pthread_condattr_destroy(&ca);
	k->refs = 2;
	/* The daemon reads its signals from a signalfd: none may be delivered to this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = pthread_create(&t, NULL, run, k);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		pthread_cond_destroy(&k->wake);
		pthread_mutex_destroy(&k->lock);
		return -err;
	}
	/* Never joined: stopping must not wait for a request in flight. */
	pthread_detach(t);
	return 0;
}

int sg_link_apply(struct sg_link **kp, const struct sg_crowdsec_cfg *c)
{
	struct sg_link *k, *old = *kp;
	char dur[32];
	int err;

	if (old && !memcmp(&old->set, c, sizeof(*c)))
		return 0;
	if (!*c->url) {
		sg_link_stop(old);
		*kp = NULL;
		return 0;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->set = *c;
	k->startup = 1;
	k->said = -1;
	snprintf(k->st.url, sizeof(k->st.url), "%s", c->url);
	err = sg_lapi_open(c, &k->lapi);
	if (!err)
		err = start(k);
	if (err) {
		sg_lapi_close(k->lapi);
		free(k);
		return err;
	}
	sg_info("crowdsec: pulling decisions from %s every %s", c->url,
		sg_format_duration(c->interval_ns, dur, sizeof(dur)));
	sg_link_stop(old);
	*kp = k;
	return 0;
}

void sg_link_stop(struct sg_link *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = 1;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
	release(k);
}

int sg_link_take(struct sg_link *k, struct sg_link_batch *b)
{
	int full;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	full = k->full;
	if (full) {
		*b = k->inbox;
		memset(&k->inbox, 0, sizeof(k->inbox));
		k->full = 0;
	}
	pthread_mutex_unlock(&k->lock);
	return full;
}

void sg_link_status(struct sg_link *k, struct sg_link_status *s)
{
	memset(s, 0, sizeof(*s));
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	*s = k->st;
	pthread_mutex_unlock(&k->lock);
}
