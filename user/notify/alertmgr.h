/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Alertmanager (POST /api/v2/alerts): each containment and ban an alert
 * while it lasts, posted again every [notify] alertmanager_resend
 * (Alertmanager resolves an alert not posted again within its
 * resolve_timeout, 5 minutes by default), and resolved (endsAt now) at its
 * release, unban or expiry; each of the daemon's alerts posted once, firing
 * for SG_AM_ALERT_S. Every post sends every alert known, so one that failed
 * is retried by the next; an ending is forgotten once posted. At most
 * SG_AM_MAX alerts are known: one more is dropped, counted. For the
 * notifier's thread alone: a post blocks it for up to SG_AM_TIMEOUT_S.
 */
#ifndef SG_ALERTMGR_H
#define SG_ALERTMGR_H

#include <time.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/config.h"

#define SG_AM_ALERT_S	3600
#define SG_AM_TIMEOUT_S 5
#define SG_AM_MAX	1024

struct sg_am_stats {
	__u64 posts_ok, posts_failed;
	__u64 dropped; /* alerts not kept: SG_AM_MAX were */
	__u64 active;  /* alerts known: firing, or ending and not yet posted */
};

struct sg_am;

struct sg_am *sg_am_new(void);
void sg_am_free(struct sg_am *a);

/* An event (notify/event.h) changes the alerts, posted at the next sg_am_tick. */
void sg_am_event(struct sg_am *a, const json_t *event, time_t now);

/*
 * Posts the alerts to c's Alertmanager when events changed them, or when
 * alertmanager_resend has passed since the last post: one post however many
 * events came, so a slow Alertmanager holds the thread once a turn.
 */
void sg_am_tick(struct sg_am *a, const struct sg_notify_cfg *c, time_t now);

void sg_am_stats(const struct sg_am *a, struct sg_am_stats *out);

#endif
