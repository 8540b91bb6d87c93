// SPDX-License-Identifier: GPL-2.0
/* The exec hook's threads; see hooks.h. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/hooks.h"
#include "util/log.h"
#include "util/subproc.h"

const char *const sg_hook_outcome_names[SG_HOOK__MAX] = {
	[SG_HOOK_OK] = "ok",
	[SG_HOOK_FAILED] = "failed",
	[SG_HOOK_TIMEOUT] = "timeout",
	[SG_HOOK_UNRUNNABLE] = "unrunnable",
};

struct sg_hooks {
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t wake;
	int stop;
	char path[PATH_MAX];
	__u64 timeout_ns;
	char *queue[SG_HOOKS_QUEUE]; /* a ring: head, then n */
	int head, n;
	struct sg_hooks_stats st;
	pthread_t threads[SG_HOOKS_MAX];
	int n_threads;
};

/* The outcome of one run, logged when it failed. */
static enum sg_hook_outcome run(const char *path, const char *text, __u64 timeout_ns)
{
	__u64 ms = timeout_ns / 1000000;
	char *argv[] = { (char *)path, NULL }, out[512];
	/* A timeout of weeks is as good as none: what an int of ms holds. */
	int ret = sg_subproc_run(argv, text, out, sizeof(out), ms > INT_MAX ? INT_MAX : (int)ms);

	out[strcspn(out, "\n")] = '\0';
	if (!ret)
		return SG_HOOK_OK;
	if (ret == -ETIMEDOUT) {
		sg_error("notify: hook %s still running after %llu ms: killed", path,
			 (unsigned long long)(timeout_ns / 1000000));
		return SG_HOOK_TIMEOUT;
	}
	if (ret < 0 && ret != -EINTR) {
		sg_error("notify: hook %s could not run: %s", path, strerror(-ret));
		return SG_HOOK_UNRUNNABLE;
	}
	if (ret > 0)
		sg_error("notify: hook %s exited with %d%s%s", path, ret, *out ? ": " : "", out);
	else
		sg_error("notify: hook %s was killed by a signal", path);
	return SG_HOOK_FAILED;
}

static void *worker(void *arg)
{
	struct sg_hooks *h = arg;
	char path[PATH_MAX], *text;
	enum sg_hook_outcome o;
	__u64 timeout_ns;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->stop && !h->n)
			pthread_cond_wait(&h->wake, &h->lock);
		if (h->stop)
			break;
		text = h->queue[h->head];
		h->head = (h->head + 1) % SG_HOOKS_QUEUE;
		h->n--;
		strcpy(path, h->path);
		timeout_ns = h->timeout_ns;
		pthread_mutex_unlock(&h->lock);
		o = run(path, text, timeout_ns);
		free(text);
		pthread_mutex_lock(&h->lock);
		h->st.runs[o]++;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct sg_hooks *sg_hooks_start(void)
{
	struct sg_hooks *h = calloc(1, sizeof(*h));
	sigset_t all, saved;
	int err = 0;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	/* The daemon's signals are for its loop (signalfd), never for these threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	while (h->n_threads < SG_HOOKS_MAX && !err) {
		err = pthread_create(&h->threads[h->n_threads], NULL, worker, h);
		h->n_threads += !err;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		sg_hooks_stop(h);
		errno = err;
		return NULL;
	}
	return h;
}

void sg_hooks_set(struct sg_hooks *h, const char *path, __u64 timeout_ns)
{
	pthread_mutex_lock(&h->lock);
	snprintf(h->path, sizeof(h->path), "%s", path);
	h->timeout_ns = timeout_ns;
	pthread_mutex_unlock(&h->lock);
}

void sg_hooks_push(struct sg_hooks *h, char *text)
{
	pthread_mutex_lock(&h->lock);
	if (!h->path[0]) {
		free(text);
	} else if (!text || h->n == SG_HOOKS_QUEUE) {
		h->st.dropped++;
		free(text);
	} else {
		h->queue[(h->head + h->n++) % SG_HOOKS_QUEUE] = text;
		pthread_cond_signal(&h->wake);
	}
	pthread_mutex_unlock(&h->lock);
}

void sg_hooks_stop(struct sg_hooks *h)
{
	int i;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
	for (i = 0; i < h->n_threads; i++)
		pthread_join(h->threads[i], NULL);
	for (i = 0; i < h->n; i++)
		free(h->queue[(h->head + i) % SG_HOOKS_QUEUE]);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void sg_hooks_stats(struct sg_hooks *h, struct sg_hooks_stats *out)
{
	pthread_mutex_lock(&h->lock);
	*out = h->st;
	pthread_mutex_unlock(&h->lock);
}
