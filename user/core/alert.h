/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The alerts smtpguard pushes to a CrowdSec Local API as a log processor
 * (POST /v1/alerts, the model of CrowdSec 1.4.6). Each carries one
 * decision, with the scenario "smtpguard/RULE" (RULE a ban reason's or a
 * containment rule's name): a ban of an address (scope Ip) or a prefix
 * (Range), or a hold of a mail account in the custom scope
 * SG_ALERT_SCOPE_ACCOUNT, whose value is the account's login in the
 * project's one escape (util/render.h), so that any bytes a client chose
 * reach the JSON as printable text. The evidence (counts, limit, window,
 * the account) is the event's meta. Pure: values in, JSON out.
 */
#ifndef SG_ALERT_H
#define SG_ALERT_H

#include <time.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/baseline.h"
#include "util/render.h"
#include "smtpguard.h"

#define SG_ALERT_SCENARIO_PREFIX "smtpguard/"
#define SG_ALERT_SCOPE_ACCOUNT	 "smtpguard_account"
#define SG_ALERT_TYPE_HOLD	 "hold"
#define SG_ALERT_TYPE_RELEASE	 "release" /* not an alert: see sg_alert_release */

struct sg_alert {
	char scenario[64];
	const char *type;  /* "ban", SG_ALERT_TYPE_HOLD or SG_ALERT_TYPE_RELEASE */
	const char *scope; /* "Ip", "Range" or SG_ALERT_SCOPE_ACCOUNT */
	char value[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	time_t at;    /* when smtpguard decided (the wall clock) */
	time_t until; /* when its decision ends */
	__u64 count;  /* the evidence's count: failures, SYNs, addresses, messages ... */
	__u64 limit;  /* the rule's limit, the alert's capacity */
	json_t *meta; /* [{"key", "value"}, ...]: the evidence, every value a string */
};

/*
 * A ban of key for for_s seconds, made at now by rule; evidence a JSON
 * object of the facts (numbers, booleans, strings already escaped, arrays
 * of them), whose "value" and "limit" are also the count and the
 * capacity. evidence is borrowed. -EINVAL for a rule too long, -ENOMEM.
 */
int sg_alert_ban(struct sg_alert *a, const char *rule, const struct sg_ban_key *key, __u64 for_s,
		 const json_t *evidence, time_t now);

/* A hold of the mail account login (as the client sent it) for for_s; as sg_alert_ban. */
int sg_alert_hold(struct sg_alert *a, const char *rule, const char *login, __u64 for_s,
		  const json_t *evidence, time_t now);

/*
 * Not an alert: a human's release of the mail account login, asked at now,
 * for the LAPI to delete the fleet's holds on it (DELETE
 * sg_alert_release_path). Queued with the alerts, in order, it goes after
 * a hold pushed before it; for_s: how long it matters (a pushed hold's
 * length, [crowdsec] hold). -EINVAL for a login too long.
 */
int sg_alert_release(struct sg_alert *a, const char *login, __u64 for_s, time_t now);

/*
 * The path and query of DELETE /v1/decisions for release a: the decisions
 * of type hold in the account scope on a's account, no other type, scope
 * or value. SG_ALERT_RELEASE_PATH_MAX is room for any; -ENAMETOOLONG when
 * len is short.
 */
#define SG_ALERT_RELEASE_PATH_MAX (3 * sizeof(((struct sg_alert *)0)->value) + 128)
int sg_alert_release_path(const struct sg_alert *a, char *buf, size_t len);

/*
 * a as one alert of POST /v1/alerts at now: its decision's duration is what
 * is left of it ("3540s"). NULL when nothing is left (delivered too late
 * to matter) or out of memory.
 */
json_t *sg_alert_json(const struct sg_alert *a, time_t now);

void sg_alert_free(struct sg_alert *a);

#endif
