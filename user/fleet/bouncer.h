/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bouncer's side of the fleet, in the daemon's loop: the decisions a
 * pull brought (fleet/link.h) applied to this server.
 *
 *   Ip, Range "ban"   put in sg_bans for the decision's remaining time,
 *                     with its origin as the ban's reason (fleet_cscli,
 *                     fleet_crowdsec, fleet_other); lifted when deleted
 *   account "hold"    the account contained here if this server hosts it
 *                     (the daemon's hold callback), released when deleted
 *
 * What a decision never does: touch a ban a human or a local rule put
 * (the ban's reason tells: only a fleet_* ban is the fleet's), shorten a
 * longer ban, or ban what sg_ban_covers_own() refuses ([bruteforce]
 * allow, [campaign] webmail, this host, its gateway, loopback). A decision
 * a local ban covers, or that found sg_bans full, or a hold of an account
 * this server has not seen yet, is tried again at every pull until it
 * expires; each such decision is counted once.
 */
#ifndef SG_FLEET_BOUNCER_H
#define SG_FLEET_BOUNCER_H

#include <linux/types.h>

#include "core/config.h"
#include "fleet/decision.h"
#include "host/audit.h"
#include "util/htab.h"

#define SG_FLEET_DECISIONS_MAX 1000000 /* decisions remembered; more are counted as table_full */

/* Why a decision received is not (yet) in force: smtpguard_crowdsec_decisions_skipped_total. */
#define SG_FLEET_SKIPS(X)                                                                          \
	X(SG_SKIP_ALLOW, "allow") /* it covers [bruteforce] allow, this host or its gateway */     \
	X(SG_SKIP_LOCAL_BAN, "local_ban")   /* a ban of a human's or a local rule's stands */      \
	X(SG_SKIP_LOCAL_HOLD, "local_hold") /* a local rule's containment of the account stands */ \
	X(SG_SKIP_MAP_FULL, "map_full")	    /* sg_bans had no room: tried again at each pull */    \
	X(SG_SKIP_TABLE_FULL, "table_full") /* over SG_FLEET_DECISIONS_MAX */                      \
	X(SG_SKIP_NOT_HOSTED, "not_hosted") /* an account unknown here: tried again */             \
	X(SG_SKIP_MALFORMED, "malformed")   /* a value, duration or field that does not parse */   \
	X(SG_SKIP_UNSUPPORTED, "unsupported") /* another type or scope */
enum sg_fleet_skip { SG_FLEET_SKIPS(SG_ENUM_VALUE) SG_SKIP__MAX };
extern const char *const sg_fleet_skip_names[SG_SKIP__MAX];

/*
 * Contains (on) or releases (off) account here for the fleet's decision
 * (its scenario says why): 0 when done or already so; -ENOENT when this
 * server does not host it; -EEXIST when a local rule or a human contained
 * it, which the fleet neither takes over nor releases; else -errno, tried
 * again at the next pull.
 */
typedef int (*sg_fleet_hold_fn)(void *ctx, const char *account, const char *scenario, int on);

struct sg_fleet_counts {
	__u64 received[SG_ORIGIN__MAX][SG_SCOPE__MAX];
	__u64 applied[SG_ORIGIN__MAX][SG_SCOPE__MAX];
	__u64 lifted[SG_SCOPE__MAX]; /* deleted decisions undone here */
	__u64 skipped[SG_SKIP__MAX];
	__u64 active[SG_SCOPE__MAX]; /* in force here now */
	__u64 known;		     /* decisions remembered, in force or not */
	__u64 ban_errors;	     /* sg_bans writes that failed otherwise */
	__u64 told;		     /* bans a dry run told instead of putting */
};

struct sg_bouncer {
	struct sg_htab *byid;  /* struct entry, by decision id */
	struct sg_htab *bykey; /* decisions per ban key: lifted with the last one */
	struct sg_htab *holds; /* decisions per held account: released with the last one */
	sg_fleet_hold_fn hold; /* NULL: holds are not_hosted */
	void *hold_ctx;
	struct sg_fleet_counts n;
};

int sg_bouncer_init(struct sg_bouncer *b, sg_fleet_hold_fn hold, void *ctx);
void sg_bouncer_free(struct sg_bouncer *b);

/*
 * A pull's decisions at now (CLOCK_BOOTTIME ns), or a slice of them:
 * deleted ones undone, new ones applied; with last, the pull's last slice,
 * the pending ones tried again, the expired forgotten and the counts made,
 * and with startup (the slices of a full list) what this bouncer holds and
 * the list lacked undone (deleted while it was not listening), and the
 * fleet's bans in sg_bans that no decision holds lifted (deleted while no
 * daemon ran: the decisions are remembered in memory only). c says what
 * is never banned; audit (may be NULL) gets one entry per ban put or lifted.
 */
void sg_bouncer_apply(struct sg_bouncer *b, const struct sg_config *c,
		      const struct sg_audit_cfg *audit, const struct sg_lapi_decision *added,
		      size_t n_added, const struct sg_lapi_decision *deleted, size_t n_deleted,
		      int startup, int last, __u64 now);

#endif
