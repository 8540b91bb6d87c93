/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A CrowdSec decision as the LAPI's bouncer stream gives it (GET
 * /v1/decisions/stream: {"new": [...], "deleted": [...]}), checked and
 * made into what the bouncer acts on: pure, no I/O, unit-tested on the
 * LAPI's own JSON. Nothing in a decision is trusted: a value that is not
 * an address, a range or an account, a duration that does not parse, an
 * over-long string, is refused with the reason.
 */
#ifndef SG_FLEET_DECISION_H
#define SG_FLEET_DECISION_H

#include <stddef.h>
#include <jansson.h>
#include <linux/types.h>

#include "smtpguard.h"

/* The scopes asked for: the stream's scopes= parameter, and each decision's "scope". */
#define SG_SCOPE_ACCOUNT   "smtpguard_account"
#define SG_DECISION_SCOPES "ip,range," SG_SCOPE_ACCOUNT

#define SG_DECISION_SCOPE_LIST(X)                                                                  \
	X(SG_SCOPE_IP, "ip")                                                                       \
	X(SG_SCOPE_RANGE, "range")                                                                 \
	X(SG_SCOPE_MAIL_ACCOUNT, "account")
enum sg_decision_scope { SG_DECISION_SCOPE_LIST(SG_ENUM_VALUE) SG_SCOPE__MAX };
extern const char *const sg_decision_scope_names[SG_SCOPE__MAX];

/* Who made it, as the LAPI says: smtpguard_crowdsec_decisions_*{origin}. */
#define SG_DECISION_ORIGIN_LIST(X)                                                                 \
	X(SG_ORIGIN_CSCLI, "cscli")	  /* an operator, with cscli */                            \
	X(SG_ORIGIN_CROWDSEC, "crowdsec") /* a machine's alert: a server of the fleet */           \
	X(SG_ORIGIN_OTHER, "other")	  /* the central API, a list, the console */
enum sg_decision_origin { SG_DECISION_ORIGIN_LIST(SG_ENUM_VALUE) SG_ORIGIN__MAX };
extern const char *const sg_decision_origin_names[SG_ORIGIN__MAX];

#define SG_DECISION_VALUE_MAX	 256
#define SG_DECISION_SCENARIO_MAX 128

struct sg_lapi_decision {
	__u64 id;
	enum sg_decision_scope scope;
	enum sg_decision_origin origin;
	int ban;			   /* type "ban"; else a "hold" (an account's scope only) */
	__s64 remaining_ns;		   /* from the pull; <= 0 for a deleted one */
	struct sg_ban_key key;		   /* an Ip's or a Range's prefix */
	char value[SG_DECISION_VALUE_MAX]; /* as given: the address, range or account */
	char scenario[SG_DECISION_SCENARIO_MAX];
};

/*
 * One element of "new" or "deleted" into d: 0; -EINVAL with the reason in
 * why (at most whylen bytes) for one that is malformed; -ENOTSUP for a
 * well-formed one this server does not act on (another scope, a type but
 * ban in Ip and Range or hold in the account scope).
 */
int sg_lapi_decision_parse(const json_t *j, struct sg_lapi_decision *d, char *why, size_t whylen);

/*
 * A Go duration as the LAPI writes it ("3h59m58.7s", "-103.18ms", "0s")
 * into ns: 0, or -EINVAL. Beyond ±100 years is refused.
 */
int sg_go_duration(const char *s, __s64 *ns);

#endif
