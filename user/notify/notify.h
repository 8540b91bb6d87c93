/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's notifications ([notify]): a thread of their own follows the
 * audit log from its end, as `tail -F` would (mail/follow.h), and turns
 * each new entry that is an event (notify/event.h) into a post to
 * Alertmanager (notify/alertmgr.h) and a run of the exec hook
 * (notify/hooks.h). Following the log, not the daemon's calls, it tells the
 * CLI's releases and unbans as well as the daemon's actions, and the
 * daemon's loop never waits for it. Alerts known live as long as the
 * daemon: one started before a restart is resolved by Alertmanager when it
 * is not posted again.
 */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

#include "core/config.h"
#include "notify/alertmgr.h"
#include "notify/event.h"
#include "notify/hooks.h"

struct sg_notify_stats {
	__u64 events[SG_EVENT__MAX];
	struct sg_hooks_stats hooks;
	struct sg_am_stats am;
};

struct sg_notifier;

/*
 * Notifications as c says, of the audit log at audit_path, into *n: none
 * while c names neither Alertmanager nor a hook; started at the first that
 * does; else the running ones told of c (a reload). -errno when they cannot
 * start, *n left as it was.
 */
int sg_notifier_apply(struct sg_notifier **n, const struct sg_notify_cfg *c,
		      const char *audit_path);

/* Ends them (waiting for hooks running, each within its timeout) and frees n; NULL: nothing. */
void sg_notifier_stop(struct sg_notifier *n);

/* Counters so far; all 0 for NULL. */
void sg_notifier_stats(struct sg_notifier *n, struct sg_notify_stats *out);

#endif
