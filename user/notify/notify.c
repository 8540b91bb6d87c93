// SPDX-License-Identifier: GPL-2.0
/* The notifier's thread; see notify.h. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "mail/follow.h"
#include "util/log.h"

#define READ_MAX (1 << 20) /* audit log bytes per turn */

struct sg_notifier {
	pthread_mutex_t lock; /* stop, set, path and st */
	int stop;
	struct sg_notify_cfg set;
	char path[PATH_MAX];
	struct sg_notify_stats st;
	struct sg_hooks *hooks;
	pthread_t thread;
	/* The thread's own. */
	struct sg_follower *follow;
	char following[PATH_MAX];
	int follow_failed;
	struct sg_am *am;
	char host[256];
};

struct turn {
	struct sg_notifier *n;
	struct sg_notify_cfg set;
	time_t now;
};

static void on_entry(int index, const char *line, size_t len, void *ctx)
{
	struct turn *t = ctx;
	json_t *entry = json_loadb(line, len, 0, NULL), *e;

	e = entry ? sg_event_make(entry, t->n->host) : NULL;
	json_decref(entry);
	if (!e)
		return;
	pthread_mutex_lock(&t->n->lock);
	t->n->st.events[sg_event_of(e)]++;
	pthread_mutex_unlock(&t->n->lock);
	if (t->set.exec[0])
		sg_hooks_push(t->n->hooks, json_dumps(e, JSON_COMPACT));
	if (t->set.alertmanager[0])
		sg_am_event(t->n->am, e, t->now);
	json_decref(e);
}

/* The follower of path, from its end: anew when the path changed; told once when it fails. */
static int follow(struct sg_notifier *n, const char *path)
{
	int err;

	if (n->follow && !strcmp(n->following, path))
		return 0;
	sg_follower_free(n->follow);
	snprintf(n->following, sizeof(n->following), "%s", path);
	n->follow = sg_follower_new();
	err = n->follow ? sg_follow_add(n->follow, path, 0) : -ENOMEM;
	if (err < 0) {
		if (!n->follow_failed)
			sg_error("notify: following the audit log %s: %s; retried every second",
				 path, strerror(-err));
		n->follow_failed = 1;
		sg_follower_free(n->follow);
		n->follow = NULL;
		return err;
	}
	if (n->follow_failed)
		sg_info("notify: following the audit log %s", path);
	n->follow_failed = 0;
	return 0;
}

static void *notifier(void *arg)
{
	struct sg_notifier *n = arg;
	struct turn t = { .n = n };
	char path[PATH_MAX];
	struct pollfd p;
	int stop;

	for (;;) {
		pthread_mutex_lock(&n->lock);
		stop = n->stop;
		t.set = n->set;
		strcpy(path, n->path);
		pthread_mutex_unlock(&n->lock);
		if (stop)
			break;
		if (follow(n, path)) {
			sleep(1);
			continue;
		}
		/* At most a second between looks: the resend and a stop are not kept waiting. */
		p = (struct pollfd){ .fd = sg_follower_fd(n->follow), .events = POLLIN };
		poll(&p, 1, 1000);
		t.now = time(NULL);
		if (sg_follower_read(n->follow, READ_MAX, on_entry, &t) < 0)
			n->following[0] = '\0'; /* followed anew at the next turn */
		if (t.set.alertmanager[0])
			sg_am_tick(n->am, &t.set, t.now);
		pthread_mutex_lock(&n->lock);
		sg_am_stats(n->am, &n->st.am);
		pthread_mutex_unlock(&n->lock);
	}
	return NULL;
}

static void set(struct sg_notifier *n, const struct sg_notify_cfg *c, const char *audit_path)
{
	pthread_mutex_lock(&n->lock);
	n->set = *c;
	snprintf(n->path, sizeof(n->path), "%s", audit_path);
	pthread_mutex_unlock(&n->lock);
	sg_hooks_set(n->hooks, c->exec, c->exec_timeout_ns);
}

static void destroy(struct sg_notifier *n)
{
	sg_hooks_stop(n->hooks);
	sg_am_free(n->am);
	sg_follower_free(n->follow);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

int sg_notifier_apply(struct sg_notifier **np, const struct sg_notify_cfg *c,
		      const char *audit_path)
{
	struct sg_notifier *n = *np;
	sigset_t all, saved;
	int err;

	if (n) {
		set(n, c, audit_path);
		return 0;
	}
	if (!c->alertmanager[0] && !c->exec[0])
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->lock, NULL);
	n->am = sg_am_new();
	n->hooks = sg_hooks_start();
	if (!n->am || !n->hooks) {
		err = n->hooks ? -ENOMEM : -errno;
		destroy(n);
		return err;
	}
	if (gethostname(n->host, sizeof(n->host) - 1))
		strcpy(n->host, "localhost");
	set(n, c, audit_path);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = -pthread_create(&n->thread, NULL, notifier, n);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		destroy(n);
		return err;
	}
	*np = n;
	return 0;
}

void sg_notifier_stop(struct sg_notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = 1;
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	destroy(n);
}

void sg_notifier_stats(struct sg_notifier *n, struct sg_notify_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	*out = n->st;
	pthread_mutex_unlock(&n->lock);
	sg_hooks_stats(n->hooks, &out->hooks);
}
