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
	__u32 truncated; /* attributes whose (last) value was longer than its field: cut, counted */
};

/*
 * Where a request stands between reads of one connection: a line may be
 * split across reads anywhere, so the parser keeps the name read so far,
 * or, past its '=', which field the value goes to and how much of it came.
 * Zero it before a connection's first read.
 */
#define SG_POLICY_NAME_MAX 24 /* longer names are none smtpguard keeps */
struct sg_policy_parser {
	size_t have;  /* bytes of the request so far */
	int last_nl;  /* the last byte taken was a newline */
	int in_value; /* past the line's '=' */
	int attr;     /* in a value: the kept attribute it fills, -1 when ignored */
	size_t len;   /* bytes of the name, or of the value, so far */
	char name[SG_POLICY_NAME_MAX];
	__u64 num;   /* a numeric value so far */
	int num_bad; /* ... holds a non-digit, or is out of range */
	__u32 cut;   /* kept attributes whose last value was cut, one bit each */
};

enum sg_policy_parse {
	SG_POLICY_MORE = 0, /* the request is not complete yet */
	SG_POLICY_DONE = 1, /* *out holds a complete request */
};

/*
 * Takes len bytes of a connection's stream. Returns SG_POLICY_DONE with
 * *used the bytes of it the request took (the rest is the next request's),
 * SG_POLICY_MORE when all of buf was taken, -E2BIG past SG_POLICY_REQ_MAX,
 * -EINVAL on a line that is not name=value or holds a NUL, or on an empty
 * line with no attribute before it. out is cleared at a request's first
 * byte. A port, caller_uid or recipient_count that is not a decimal number
 * in its range is taken as not given (-1; 0 recipients): the parse goes
 * on. After an error the connection is done with: its parser holds no
 * request.
 */
int sg_policy_parse(struct sg_policy_parser *p, const char *buf, size_t len, size_t *used,
		    struct sg_policy_req *out);

/* The answers smtpguard gives. */
#define SG_POLICY_VERDICTS(X)                                                                      \
	X(SG_POLICY_DUNNO, "DUNNO")                                                                \
	X(SG_POLICY_HOLD, "HOLD") X(SG_POLICY_REJECT, "REJECT") X(SG_POLICY_DEFER, "DEFER")
enum sg_policy_verdict { SG_POLICY_VERDICTS(SG_ENUM_VALUE) SG_POLICY_VERDICT_KINDS };
extern const char *const sg_policy_verdict_names[];

/*
 * The answer "action=VERDICT[ TEXT]\n\n" into buf; text (may be NULL) is
 * cut to printable ASCII. Returns its length, or -ENOSPC.
 */
int sg_policy_answer(enum sg_policy_verdict v, const char *text, char *buf, size_t len);

/*
 * Where each MTA asks by default ([mta] policy_socket = auto): under
 * Postfix's queue directory, which its chrooted smtpd names
 * unix:private/smtpguard-policy; Exim's in /run.
 */
#define SG_POLICY_SOCKET_POSTFIX "/var/spool/postfix/private/smtpguard-policy"
#define SG_POLICY_SOCKET_EXIM	 "/run/smtpguard/policy.sock"

/* [mta] policy_socket for this MTA, "auto" resolved: NULL when there is none to serve. */
const char *sg_policy_socket(const char *setting, enum sg_mta_type mta);

#endif
