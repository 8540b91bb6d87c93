/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the daemon does about the detector's alerts on UIDs, and the
 * policies the config asks for: it reads the sg_policies map, decides
 * (core/decide.h), and writes what is decided. Precedence, highest first:
 *
 *   a human's policy (the CLI's, a release's grace included): never touched;
 *   the allow list and the MTA's own users: alerts only, never limited;
 *   an override with actions = alert: alerts only;
 *   the rule's response from [actions]: throttle or block (a kernel policy
 *   that expires, keeping the bucket's tokens), kill, or alert;
 *   the config's own policies: overrides' limits, observe for the allow list
 *   and the MTA users, restored whenever nothing above stands.
 *
 * Every automatic action is audited with its evidence. Functions return
 * -errno.
 */
#ifndef SG_RESPOND_H
#define SG_RESPOND_H

#include <linux/types.h>

#include "host/audit.h"
#include "core/config.h"
#include "core/decide.h"
#include "core/detect.h"
#include "smtpguard.h"

struct sg_responder;

struct sg_responder *sg_responder_new(void);
void sg_responder_free(struct sg_responder *r);

/* sg_policies is pinned anew: the next look opens the new map. */
void sg_respond_reopen(struct sg_responder *r);

/* Resolves the config's names to UIDs; with warn, logs those that are no user. */
void sg_respond_resolve(struct sg_responder *r, const struct sg_config *c, int warn);

/*
 * With warn (a config just loaded), sg_respond_resolve() first. Then, every
 * tick, writes the config's policies where no human's stands (lifting the
 * detector's from exempt users), removes those it no longer asks for, and
 * notes the default policy.
 */
int sg_respond_config(struct sg_responder *r, const struct sg_config *c, __u64 now_ns, int warn);

/* The thresholds for uid: its override's, else [detect]'s. */
const struct sg_thresholds *sg_respond_thresholds(const struct sg_responder *r,
						  const struct sg_config *c, __u32 uid);

enum sg_exempt sg_respond_exempt(const struct sg_responder *r, const struct sg_config *c,
				 __u32 uid);

/*
 * The verdict on rule's response for uid where now stands (the caller has
 * read it: sg_standing_policy()), and why not in words (sg_decide()).
 */
enum sg_decision sg_respond_decide(const struct sg_responder *r, const struct sg_config *c,
				   __u32 uid, enum sg_rule rule, const struct sg_standing *now,
				   char *why, size_t len);

/* The evidence an action is audited and logged with. */
struct sg_evidence {
	__u32 uid;
	const char *user; /* "" when none */
	const struct sg_principal *p;
	enum sg_rule rule;
	json_t *processes; /* borrowed: recent processes and scripts, newest first */
};

/*
 * An alert was raised (or is still active and its action has expired):
 * applies the rule's response unless something above it stands. Returns
 * the action taken (SG_ACT_ALERT when none) and logs one line to stdout.
 * A throttle or block that cannot be written (sg_policies full) is tried
 * again while the alert holds, and told, audited ("throttle-failed",
 * "block-failed") and counted once until one of the UID's is written.
 * In dry run the throttle, block or kill is told instead (daemon/dryrun.h)
 * and SG_ACT_ALERT returned; nothing is then pending for the alert.
 */
enum sg_action sg_respond_alert(struct sg_responder *r, const struct sg_config *c,
				const struct sg_audit_cfg *audit, const struct sg_evidence *ev,
				int again, __u64 now_ns);

/*
 * Whether an alert of rule still held on uid calls for its throttle or
 * block to be applied (again): cheap, for every held alert every tick.
 */
int sg_respond_pending(struct sg_responder *r, const struct sg_config *c, __u32 uid,
		       enum sg_rule rule, __u64 now_ns);

/* Automatic actions taken since the start. */
__u64 sg_respond_count(const struct sg_responder *r, enum sg_action a, enum sg_rule rule);

/* Why an automatic throttle or block could not be written. */
enum sg_respond_failure {
	SG_FAIL_FULL,  /* sg_policies had no room */
	SG_FAIL_ERROR, /* any other error */
	SG_FAILURES
};

extern const char *const sg_respond_failure_names[SG_FAILURES];

/* Throttles (a = SG_ACT_THROTTLE) or blocks that failed since the start, by why. */
__u64 sg_respond_failed(const struct sg_responder *r, enum sg_action a,
			enum sg_respond_failure why);

/* Open connections the daemon's blocks cut since the start. */
__u64 sg_respond_cut(const struct sg_responder *r);

#endif
