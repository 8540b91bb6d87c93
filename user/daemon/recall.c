// SPDX-License-Identifier: GPL-2.0
/* The running senders attributed at start; see recall.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/recall.h"
#include "kern/collect.h"
#include "smtpguard.h"
#include "util/procs.h"

struct seen {
	struct sg_sender_key k;
	struct sg_sender s;
};

struct walk {
	struct seen *all;
	size_t n, cap;
};

static int collect(const void *key, const void *value, void *ctx)
{
	struct walk *w = ctx;
	struct seen *p;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		p = realloc(w->all, w->cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		w->all = p;
	}
	memcpy(&w->all[w->n].k, key, sizeof(w->all[w->n].k));
	memcpy(&w->all[w->n].s, value, sizeof(w->all[w->n].s));
	w->n++;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	__u64 x = ((const struct seen *)a)->s.last_ns, y = ((const struct seen *)b)->s.last_ns;

	return (x < y) - (x > y);
}

/* The event the process made when it first connected, as far as the kernel kept it. */
static int as_event(const struct sg_attrib_cfg *cfg, const struct seen *p, struct sg_event *e)
{
	char path[PATH_MAX];
	struct stat st;
	__u32 ruid;
	int dfd, err = 0;

	/* One directory for both reads: the same process, or none. */
	snprintf(path, sizeof(path), "%s/%u", cfg->proc, p->k.tgid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	/* Its /proc entry is owned by its effective IDs; gone, there is nothing to attribute. */
	if (fstat(dfd, &st))
		err = -errno;
	else if (sg_proc_ruid_at(dfd, &ruid))
		err = -ESRCH;
	close(dfd);
	if (err)
		return err;
	*e = (struct sg_event){
		.ts_ns = p->s.last_ns,
		.kind = SG_EV_NEW_SENDER,
		.verdict = SG_VERDICT_ALLOW,
		.pid = p->k.tgid,
		.tgid = p->k.tgid,
		.uid = p->k.uid,
		.gid = st.st_gid,
		.real_uid = ruid,
	};
	memcpy(e->comm, p->s.comm, sizeof(e->comm));
	return 0;
}

int sg_recall_senders(const struct sg_attrib_cfg *cfg, struct sg_recent *recent, size_t *n)
{
	struct walk w = { 0 };
	struct sg_sender_info *info;
	struct sg_event *ev;
	size_t i, live = 0;
	int err;

	*n = 0;
	err = sg_pin_walk(SG_MAP_SENDERS, collect, &w);
	ev = calloc(SG_RECALL_MAX, sizeof(*ev));
	info = malloc(sizeof(*info));
	if (!err && (!ev || !info))
		err = -ENOMEM;
	if (!err)
		qsort(w.all, w.n, sizeof(*w.all), newest_first);
	for (i = 0; !err && i < w.n && live < SG_RECALL_MAX; i++)
		live += !as_event(cfg, &w.all[i], &ev[live]);
	/* The oldest first: the recent senders keep the last added first. */
	while (!err && live--) {
		sg_attrib_resolve(cfg, &ev[live], info);
		/* Its pid another's since (another user's, or started after its last connect). */
		if (info->gone)
			continue;
		err = sg_recent_add(recent, info);
		*n += !err;
	}
	free(info);
	free(ev);
	free(w.all);
	return err;
}
