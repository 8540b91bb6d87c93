/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the mail server's log says, as the rest of smtpguard sees it: one
 * record per line of interest. The parsers (mail/mtalog.h) fill records;
 * the mail statistics, the brute-force rules and the replay read them.
 */
#ifndef SG_MAILREC_H
#define SG_MAILREC_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "smtpguard.h"

#define SG_MTA_QID_MAX	 32
#define SG_MTA_IP_MAX	 46  /* INET6_ADDRSTRLEN */
#define SG_MTA_ADDR_MAX	 256 /* an e-mail address */
/*
 * A SASL login, NUL included. The MTAs take logins as long as an AUTH
 * line's base64 allows (Postfix's line_length_limit is 2048 bytes); a
 * longer login is cut to SG_MTA_LOGIN_MAX - 1 bytes by the parsers and
 * counted under that id: logins alike in that many bytes share one
 * principal (an attacker gains nothing: they share its budget too), and
 * a login that long is never a table key (backend.h), so such a
 * principal is held in-band and by queue id.
 */
#define SG_MTA_LOGIN_MAX 1024
#define SG_MTA_USER_MAX	 64
#define SG_MTA_DSN_MAX	 12 /* "5.1.1" */
#define SG_MTA_RELAY_MAX 64
#define SG_MTA_LINE_MAX	 8192 /* longer lines are cut here by the readers */

#define SG_MTA_TYPES(X) X(SG_MTA_NONE, "none") X(SG_MTA_POSTFIX, "postfix") X(SG_MTA_EXIM, "exim")

enum sg_mta_type {
	SG_MTA_TYPES(SG_ENUM_VALUE)
	SG_MTA__MAX
};

/*
 * What a log line says, with the record's fields each kind fills:
 * - SUBMIT: a message accepted from an SMTP client: qid, client_ip, login if
 *   it authenticated. Postfix smtpd "QID: client=NAME[IP][, sasl_method=M,
 *   sasl_username=LOGIN]"; Exim "QID <= SENDER H=... [IP] ... A=AUTH:LOGIN
 *   ... P=esmtpsa" (sender and null_sender too: Exim says it all at once).
 * - LOCAL: a local submission (sendmail, PHP mail()): qid, uid or user,
 *   sender. Postfix pickup "QID: uid=1001 from=<SENDER>"; Exim "QID <= SENDER
 *   U=USER P=local ...".
 * - QUEUED: Postfix qmgr "QID: from=<SENDER>, size=N, nrcpt=N (queue
 *   active)": sender, nrcpt.
 * - DELIVERY: one recipient's outcome: qid, rcpt, outcome, dsn ("" when
 *   none), relay (Postfix relay= host or transport; Exim T= transport), local
 *   (delivered on this host: Postfix relay=local|virtual|dovecot|lmtp...
 *   or an lmtp/pipe to dovecot; Exim a local transport such as
 *   *local_delivery*, *appendfile*, *maildir*, *dovecot*, *lmtp*).
 *   Postfix "QID: to=<R>, ..., relay=..., dsn=X.Y.Z, status=sent|deferred|
 *   bounced|expired (...)"; Exim "QID => R ..." (sent), "-> R" (sent,
 *   another address of the same delivery), "** R ..." (bounced), "== R
 *   ..." (deferred); Exim's DSN is the X.Y.Z after the SMTP code in the
 *   text when there is one, else "5.0.0" for ** and "4.0.0" for ==.
 * - DONE: Postfix qmgr "QID: removed"; Exim "QID Completed".
 * - AUTH_FAIL: an authentication failure: client_ip, login when the line
 *   names it, service. Postfix smtpd "warning: NAME[IP]: SASL LOGIN|PLAIN|...
 *   authentication failed: ..." (with ", sasl_username=LOGIN" on 3.x);
 *   Exim "AUTHNAME authenticator failed for H ([HELO]) [IP]:PORT ...: 535
 *   Incorrect authentication data (set_id=LOGIN)"; Dovecot "auth:
 *   passwd-file(LOGIN,IP...): Password mismatch" / "unknown user" and the
 *   imap-login/pop3-login/submission-login "Disconnected (auth failed, N
 *   attempts...): user=<LOGIN>, method=..., rip=IP, ..." / "Aborted login
 *   (auth failed...)". With auth_verbose one failed IMAP or POP3 login
 *   gives both lines: the auth process's (service SG_SVC_OTHER) and the
 *   login process's (SG_SVC_IMAP...); one SMTP failure through Dovecot
 *   SASL gives the MTA's line (SG_SVC_SMTP) and the auth process's.
 * - HOLD: a message put on hold or frozen by the MTA: qid. Postfix "QID:
 *   hold: ..." (cleanup) or "NOQUEUE: hold: RCPT from NAME[IP]: ...;
 *   from=<S> to=<R>" (smtpd, 3.7: logged before the queue id exists, so qid
 *   is "" and client_ip, sender and rcpt say which); Exim "QID frozen".
 * NONE is a line of no interest, or not understood.
 */
#define SG_MTA_EVENTS(X)                                                                           \
	X(SG_MEV_NONE, "none") X(SG_MEV_SUBMIT, "submit") X(SG_MEV_LOCAL, "local")                \
	X(SG_MEV_QUEUED, "queued") X(SG_MEV_DELIVERY, "delivery") X(SG_MEV_DONE, "done")          \
	X(SG_MEV_AUTH_FAIL, "auth_fail") X(SG_MEV_HOLD, "hold")

enum sg_mta_event {
	SG_MTA_EVENTS(SG_ENUM_VALUE)
	SG_MTA_EVENT_KINDS
};

/* Postfix's bounced or expired and Exim's ** are SG_OUT_BOUNCED. */
#define SG_MTA_OUTCOMES(X)                                                                         \
	X(SG_OUT_NONE, "none") X(SG_OUT_SENT, "sent") X(SG_OUT_DEFERRED, "deferred")              \
	X(SG_OUT_BOUNCED, "bounced")

enum sg_mta_outcome {
	SG_MTA_OUTCOMES(SG_ENUM_VALUE)
};

enum sg_mta_service {
	SG_SVC_NONE,
	SG_SVC_SMTP,
	SG_SVC_IMAP,
	SG_SVC_POP3,
	SG_SVC_SUBMISSION, /* Dovecot's submission service */
	SG_SVC_OTHER,
};

struct sg_mta_rec {
	enum sg_mta_event ev;
	time_t when; /* the line's timestamp; 0 when it has none that parses */
	char qid[SG_MTA_QID_MAX];
	char client_ip[SG_MTA_IP_MAX]; /* numeric, as logged; "" when none */
	char login[SG_MTA_LOGIN_MAX];  /* SASL login (SUBMIT, AUTH_FAIL); "" when none */
	char user[SG_MTA_USER_MAX];    /* Exim U= of a local submission */
	__s64 uid;		       /* Postfix pickup uid=; -1 when none */
	char sender[SG_MTA_ADDR_MAX];  /* "" for the null sender, see null_sender */
	int null_sender;	       /* the line gave the sender, and it is <> */
	__u32 nrcpt;
	char rcpt[SG_MTA_ADDR_MAX];
	enum sg_mta_outcome outcome;
	char dsn[SG_MTA_DSN_MAX];
	char relay[SG_MTA_RELAY_MAX];
	int local; /* DELIVERY: delivered into a mailbox on this host */
	/*
	 * DELIVERY: rcpt is where another address of the message led (Postfix
	 * orig_to=, Exim's <ORIGINAL>): an alias or a forward, not an address
	 * the client gave for another domain.
	 */
	int forwarded;
	/*
	 * DELIVERY: handed to a content filter on this host (Postfix
	 * relay=127.0.0.1[127.0.0.1]:10024, amavis's): the message comes back
	 * under another queue id, so this is no outcome.
	 */
	int filter;
	enum sg_mta_service service;
	__u32 attempts; /* AUTH_FAIL: the failures the line stands for (Dovecot's "N attempts") */
};

extern const char *const sg_mta_event_names[];	 /* "none", "submit", ... */
extern const char *const sg_mta_outcome_names[]; /* "none", "sent", "deferred", "bounced" */
extern const char *const sg_mta_type_names[];	 /* "none", "postfix", "exim" */

#endif
