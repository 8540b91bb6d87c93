/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Postfix policy delegation protocol (SMTPD_POLICY_README), as the
 * MTA speaks it to smtpguard's policy service: a request is name=value
 * lines ended by an empty line; the answer is "action=..." and an empty
 * line. Exim's ACL speaks the same through ${readsocket}. Unknown
 * attributes are ignored, as the protocol asks; the ones smtpguard judges
 * by are kept, each bounded. Pure: no I/O, no allocation.
 *
 * The peer is the MTA (the server checks SO_PEERCRED), but what it relays
 * was written by the SMTP client: a value may hold anything but a newline.
 */
#ifndef SG_POLICYPROTO_H
#define SG_POLICYPROTO_H

#include <stddef.h>
#include <linux/types.h>

#include "core/mailrec.h"

#define SG_POLICY_REQ_MAX   16384 /* bytes of one request, its empty line included */
#define SG_POLICY_LOGIN_MAX SG_MTA_LOGIN_MAX
#define SG_POLICY_STATE_MAX 32

struct sg_policy_req {
	char request[SG_POLICY_STATE_MAX];	  /* "smtpd_access_policy" */
	char protocol_state[SG_POLICY_STATE_MAX]; /* "RCPT", "DATA", "END-OF-MESSAGE" */
	char sasl_username[SG_POLICY_LOGIN_MAX];  /* "" when the client did not log in */
	char client_address[SG_MTA_IP_MAX];	  /* "" for a local (non-SMTP) submission */
	int client_port;			  /* -1: not given */
	char server_address[SG_MTA_IP_MAX];
	int server_port; /* -1: not given */
	char sender[SG_MTA_ADDR_MAX];
	char recipient[SG_MTA_ADDR_MAX];
	__u32 recipient_count; /* DATA and END-OF-MESSAGE: the message's recipients */
	char queue_id[SG_MTA_QID_MAX];
	/*
	 * smtpguard's own, sent by its Exim ACL for a non-SMTP submission
	 * (sendmail, PHP mail()): Exim's $caller_uid. -1: not given.
	 */
	__s64 caller_uid;
	__u32 truncated; /* attributes whose value was longer than its field: cut, counted */
};

/* Where a request stands between reads of one connection. */
struct sg_policy_parser {
	size_t have; /* bytes of the request so far */
	int last_nl; /* the last byte taken was a newline */
};

enum sg_policy_parse {
	SG_POLICY_MORE = 0,	/* the request is not complete yet */
	SG_POLICY_DONE = 1,	/* *out holds a complete request */
};

/*
 * Takes len bytes of a connection's stream. Returns SG_POLICY_DONE with
 * *used the bytes of it the request took (the rest is the next request's),
 * SG_POLICY_MORE when all of buf was taken, -E2BIG past SG_POLICY_REQ_MAX,
 * -EINVAL on a line that is not name=value or holds a NUL. out is cleared
 * at a request's first byte.
 */
int sg_policy_parse(struct sg_policy_parser *p, const char *buf, size_t len, size_t *used,
		    struct sg_policy_req *out);

/* The answers smtpguard gives. */
#define SG_POLICY_VERDICTS(X)                                                                      \
	X(SG_POLICY_DUNNO, "DUNNO") X(SG_POLICY_HOLD, "HOLD") X(SG_POLICY_REJECT, "REJECT")        \
	X(SG_POLICY_DEFER, "DEFER")
enum sg_policy_verdict {
	SG_POLICY_VERDICTS(SG_ENUM_VALUE)
	SG_POLICY_VERDICT_KINDS
};
extern const char *const sg_policy_verdict_names[];

/*
 * The answer "action=VERDICT[ TEXT]\n\n" into buf; text (may be NULL) is
 * cut to printable ASCII. Returns its length, or -ENOSPC.
 */
int sg_policy_answer(enum sg_policy_verdict v, const char *text, char *buf, size_t len);

#endif
