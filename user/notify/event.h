/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The events notifications tell, made from the audit log's entries (every
 * action of the daemon and of the CLI is one: host/audit.h), so that what
 * is notified is what is audited, whoever acted.
 */
#ifndef SG_NOTIFY_EVENT_H
#define SG_NOTIFY_EVENT_H

#include <jansson.h>

enum sg_notify_event {
	SG_EVENT_CONTAIN, /* the daemon's throttle, block or mail containment */
	SG_EVENT_RELEASE, /* release or expire, by anyone */
	SG_EVENT_BAN,	  /* the daemon's ban of an address */
	SG_EVENT_UNBAN,	  /* unban or ban-expire, by anyone */
	SG_EVENT_ALERT,	  /* the daemon's alert or kill */
	SG_EVENT__MAX,
};
extern const char *const sg_event_names[SG_EVENT__MAX];

/*
 * The event of an audit entry, as the hook gets it (smtpguard(8), NOTIFICATIONS,
 * has its schema): event, action, actor, principal, kind, uid, user, rule,
 * reason, evidence, explain, summary, time, expires, host. NULL for an
 * entry that is no event (another action, or a start made by the CLI).
 */
json_t *sg_event_make(const json_t *entry, const char *host);

/* Its enum sg_notify_event (the event made it, so it is known). */
enum sg_notify_event sg_event_of(const json_t *event);

#endif
