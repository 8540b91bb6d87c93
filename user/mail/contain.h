/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Containing a mail principal through the mail server, holding its mail
 * rather than destroying it, and undoing it all on release: its line in
 * the MTA's tables, its queued messages held, the client IPs that logged
 * in to the account in the last hour banned at XDP for [mta] ban; each
 * MTA's side is its backend's (mta.h).
 *
 * Only the principal's own submissions are held: the table line is keyed
 * on its SASL login (Postfix check_sasl_access, Exim's $authenticated_id)
 * or its local login name, never on an envelope sender, which anyone may
 * write and which inbound mail carries too. Its next message is held
 * in-band by the policy service (mail/policyproto.h). A login that no
 * table can hold as a key (not UTF-8, a blank, a quote, a backslash, a
 * control byte, or as long as SG_MTA_LOGIN_MAX - 1: sg_mta_key_ok) gets
 * no table line: the policy service's HOLD and the queue holds contain
 * it. (States written by versions that held envelope senders server-wide
 * list them under "senders"; release still removes their lines.)
 *
 * What is contained is kept in [mta] state (JSON, written atomically under
 * a lock), keyed by the principal as sg_escape_id writes it (a login may
 * be any bytes; JSON is UTF-8), so `smtpguard release` undoes it with the
 * daemon down, and the daemon learns of a release from it. Functions
 * return -errno; the message for a failure goes to err.
 */
#ifndef SG_CONTAIN_H
#define SG_CONTAIN_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "core/config.h"
#include "core/mailrec.h"
#include "core/mailstats.h"
#include "mail/containlog.h"
#include "mail/mta.h"
#include "util/render.h"

struct sg_contain_req {
	const char *principal;	 /* "sasl:LOGIN" or "local:UID|USER" */
	const char *rule;	 /* why */
	const char *const *qids; /* its messages in the queue, to hold */
	size_t n_qids;
	const char *const *ips; /* client IPs to ban */
	size_t n_ips;
};

/*
 * What containing a principal does, worked out before anything is done:
 * no I/O but the name of a local UID (uid_name).
 */
struct sg_contain_plan {
	const struct sg_mta_ops *mta;		   /* NULL: no MTA: the bans and the state only */
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)]; /* its key in the state; "": too long */
	/* It has a table key (a SASL login, or a local sender's name) a table can hold. */
	int keyed;
	struct sg_mta_entry entry; /* its line in the MTA's table, when keyed and an MTA */
	const char *const *qids;   /* held */
	size_t n_qids;
	const char *const *ips; /* banned for ban_ns: none when [mta] ban is 0 */
	size_t n_ips;
	__u64 ban_ns;
	const struct sg_config *cfg; /* who is never banned (host/ownaddr.h) */
};

/* The login name of uid into name; -ENOENT when it has none. The system's, from passwd. */
int sg_contain_uid_name(long uid, char *name, size_t len);

/*
 * The plan for req on MTA t (SG_MTA_NONE: none), with uid_name for a
 * "local:UID" principal. Its pointers are req's.
 */
void sg_contain_plan(const struct sg_config *c, enum sg_mta_type t,
		     const struct sg_contain_req *req,
		     int (*uid_name)(long uid, char *name, size_t len),
		     struct sg_contain_plan *plan);

/*
 * Contains req->principal: its plan written to the state as the intent
 * (mail/containlog.h) before any step, then carried out, bans first (they
 * cut the attacker off while the MTA takes up the tables), then the
 * table, the holds, each step recorded once tried. Whatever of it fails is
 * reported in err (by step) and left in the entry's todo, to be tried
 * again (sg_contain_resume), and the rest is still done: a spammer is held
 * as far as possible. *done (may be NULL) gets the entry as written to the
 * state (a new reference). Returns 0 or the first error.
 */
int sg_contain(const struct sg_config *c, enum sg_mta_type t, const struct sg_contain_req *req,
	       json_t **done, char *err, size_t errlen);

/*
 * Holds more queued messages of a principal contained already (they came
 * in before the MTA took up its table), recorded first, through the MTA
 * it was contained through; -ENOENT, holding nothing, when it is no
 * longer contained (released meanwhile). A failed hold is left to resume.
 */
int sg_contain_hold(const struct sg_config *c, const char *principal, const char *const *qids,
		    size_t n, char *err, size_t errlen);

/*
 * Undoes it all: table entries, holds (the messages go on their way),
 * bans; the state marks the principal released at now first, and keeps
 * each undo list until its step has succeeded, so that a failed step is
 * tried again (sg_contain_resume, or this again: a release left undone is
 * carried on, not begun anew). *undone (may be NULL) gets the entry as it
 * was. -ENOENT when it is not contained (nor its release left undone).
 */
int sg_release_principal(const struct sg_config *c, const char *principal, time_t now,
			 json_t **undone, char *err, size_t errlen);

/* Told of each entry resumed: as it was, as it is now (its todo: what failed), err. */
typedef void (*sg_contain_told)(const char *id, const json_t *before, const json_t *after,
				const char *err, void *ctx);

/*
 * Carries on with the containments and releases the state leaves
 * unfinished (a crash between steps, or a step that failed) that are due
 * at now, a few per call, each through its remaining steps; told (may be
 * NULL) of each. Never waits for the CLI's release. Returns when the next
 * is due (0: none).
 */
time_t sg_contain_resume(const struct sg_config *c, time_t now, sg_contain_told told, void *ctx);

/*
 * [mta] contained_keep and contained_max applied to the state at now
 * (sg_clog_prune: never an entry contained or a release left undone);
 * what it drops is counted into pruned.
 */
int sg_contain_prune(const struct sg_config *c, time_t now, __u64 pruned[SG_PRUNED_KINDS]);

/*
 * The state: { principal: { since, rule, mta, held: [], bans: [], released?,
 * and the journal's fields (containlog.h) } }; NULL if none.
 */
json_t *sg_contain_state(const struct sg_config *c);

/*
 * A principal as the CLI takes it: "sasl:X", "local:X", or an address (a
 * SASL login), as sg_escape_id writes it (explain's form); out gets it
 * unescaped. -EILSEQ for a bad escape, -ENAMETOOLONG, -EINVAL for none.
 */
int sg_contain_principal_arg(const char *arg, char *out, size_t len);

#endif
