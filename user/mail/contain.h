/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Containing a mail principal through the mail server, holding its mail
 * rather than destroying it, and undoing it all on release.
 *
 * Postfix (config directory D, [mta] postfix_config):
 *   D/smtpguard_sasl_access    LOGIN  HOLD ...   check_sasl_access
 *   D/smtpguard_sender_access  ADDR   HOLD ...   check_sender_access: the
 *                                                envelope senders it used
 *   D/smtpguard_submit_users   USER   contained  authorized_submit_users
 *                                                (!hash:..., local senders)
 *   rebuilt with postmap and taken up with `postfix reload`; its queued
 *   messages put on hold with `postsuper -h` (released with -H).
 * Exim ([mta] exim_dir E): E/smtpguard_accounts ("LOGIN": hold) and
 *   E/smtpguard_local_senders ("USER": hold), read by the ACL in
 *   dist/exim4-smtpguard.acl at every message (no reload); queued messages
 *   frozen with `exim -Mf` (thawed with -Mt).
 * Both: the client IPs that logged in to the account in the last hour are
 *   banned at XDP for [mta] ban.
 *
 * What is contained is kept in [mta] state (JSON, written atomically under
 * a lock), so `smtpguard release` undoes it with the daemon down, and the
 * daemon learns of a release from it. Functions return -errno; the
 * message for a failure goes to err.
 */
#ifndef SG_CONTAIN_H
#define SG_CONTAIN_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "core/config.h"
#include "core/mailrec.h"

struct sg_contain_req {
	const char *principal;	 /* "sasl:LOGIN" or "local:UID|USER" */
	const char *rule;	 /* why */
	const char *const *qids; /* its messages in the queue, to hold */
	size_t n_qids;
	const char *const *senders; /* envelope senders it used (Postfix sender table) */
	size_t n_senders;
	const char *const *ips; /* client IPs to ban */
	size_t n_ips;
};

/* The MTA the config names, or the one installed (postfix, then exim), or none. */
enum sg_mta_type sg_contain_mta(const struct sg_config *c);

/*
 * Contains req->principal: tables, holds, bans, state. Whatever of it
 * fails is reported in err, and the rest is still done: a spammer is held
 * as far as possible. *done (may be NULL) gets the entry written to the
 * state (a new reference). Returns 0 or the first error.
 */
int sg_contain(const struct sg_config *c, enum sg_mta_type t, const struct sg_contain_req *req,
	       json_t **done, char *err, size_t errlen);

/*
 * Holds more queued messages of a principal contained already (they came
 * in before the MTA took up its table) and records them; -ENOENT, holding
 * nothing, when it is no longer contained (released meanwhile).
 */
int sg_contain_hold(const struct sg_config *c, enum sg_mta_type t, const char *principal,
		    const char *const *qids, size_t n, char *err, size_t errlen);

/*
 * Undoes it all: table entries, holds (the messages go on their way),
 * bans; the state keeps the principal as released at now. *undone (may be
 * NULL) gets the entry as it was. -ENOENT when it is not contained.
 */
int sg_release_principal(const struct sg_config *c, const char *principal, time_t now,
			 json_t **undone, char *err, size_t errlen);

/* The state: { principal: { since, rule, mta, held: [], bans: [], released? } }; NULL if none. */
json_t *sg_contain_state(const struct sg_config *c);

/* A principal as the CLI takes it: "sasl:X", "local:X", or an address (a SASL login). */
int sg_contain_principal_arg(const char *arg, char *out, size_t len);

/*
 * check-mta: whether the MTA is configured for containment (the lines
 * README gives are in place, the tables exist, the tools run, the logs
 * (sg_mailguard_logs) can be read). Prints one
 * line per check to out; returns the number of checks that failed.
 */
int sg_contain_check(const struct sg_config *c, enum sg_mta_type t, const char (*logs)[PATH_MAX],
		     int n_logs, FILE *out);

#endif
