/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The link to the fleet's CrowdSec LAPI ([crowdsec] url): a thread of its
 * own pulls GET /v1/decisions/stream (startup=true first, then the changes)
 * every [crowdsec] interval with the bouncer's key, checks the decisions
 * (fleet/decision.h) and leaves them for the daemon's tick to take
 * (sg_link_take), which applies them (fleet/bouncer.h). It does not pull
 * again until the tick has taken the last pull: nothing is dropped, and a
 * loop held up never makes the thread pile up pulls.
 *
 * A LAPI down, slow or answering errors costs the daemon nothing: the
 * thread waits up to lapi.h's timeouts, backs off (the interval doubled at
 * each failure, up to SG_LINK_BACKOFF_MAX_S), says each new kind of failure
 * once (a bad key: "HTTP 403: access forbidden") and once when it pulls
 * again; the bans in force stay until they expire.
 */
#ifndef SG_FLEET_LINK_H
#define SG_FLEET_LINK_H

#include <stddef.h>
#include <linux/types.h>

#include "core/config.h"
#include "fleet/decision.h"
#include "fleet/lapi.h"

#define SG_LINK_BACKOFF_MAX_S 60

struct sg_link;

/* What one pull brought, checked. */
struct sg_link_batch {
	struct sg_lapi_decision *added, *deleted;
	size_t n_added, n_deleted;
	int startup;		      /* the full list of active decisions */
	__u64 malformed, unsupported; /* left out, by why */
};

struct sg_link_status {
	char url[SG_CROWDSEC_URL_MAX];
	__u64 pulls;		    /* successful */
	__u64 last_pull;	    /* Unix time of the last successful one; 0: none yet */
	__u64 errors[SG_LAPI__MAX]; /* failed pulls, by kind */
	int failing;		    /* the last pull failed */
	char last_error[256];	    /* its reason; "" when none failed yet */
};

/*
 * The link for [crowdsec] c into *k: none when c has no url; the running one
 * when c is its config; else a new one (its thread started), then the
 * running one stopped. -errno, *k left as it was, when the thread cannot start.
 */
int sg_link_apply(struct sg_link **k, const struct sg_crowdsec_cfg *c);

/* Ends the link without waiting for a request in flight; the thread frees what it still uses. */
void sg_link_stop(struct sg_link *k);

/* The last pull's decisions into b, the caller's to free (sg_link_batch_free): 1; 0 when none. */
int sg_link_take(struct sg_link *k, struct sg_link_batch *b);
void sg_link_batch_free(struct sg_link_batch *b);

/* How the link fares; zeros for NULL. */
void sg_link_status(struct sg_link *k, struct sg_link_status *s);

#endif
