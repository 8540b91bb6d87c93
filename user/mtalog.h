/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsers of mail-server log lines: Postfix (syslog or maillog_file), Exim
 * (mainlog) and Dovecot (syslog or its own log_path). One line in, one
 * record out. Pure: no I/O, no allocation, no clock (the year of a syslog
 * timestamp comes from a reference time the caller gives); every field is
 * copied, bounded and NUL-terminated, so a record outlives its line. A
 * line may hold anything: the log is written by daemons that copy what
 * clients send.
 *
 * Queue ids tie the lines of one message together; the parsers do not:
 * the caller (mailstats.c) keeps that state.
 */
#ifndef SG_MTALOG_H
#define SG_MTALOG_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#define SG_MTA_QID_MAX	 32
#define SG_MTA_IP_MAX	 46  /* INET6_ADDRSTRLEN */
#define SG_MTA_ADDR_MAX	 256 /* an e-mail address or a login */
#define SG_MTA_USER_MAX	 64
#define SG_MTA_DSN_MAX	 12 /* "5.1.1" */
#define SG_MTA_RELAY_MAX 64
#define SG_MTA_LINE_MAX	 8192 /* longer lines are cut here by the readers */

enum sg_mta_type {
	SG_MTA_NONE,
	SG_MTA_POSTFIX,
	SG_MTA_EXIM,
};

enum sg_mta_event {
	SG_EV_NONE, /* nothing of interest, or not understood */
	/*
	 * A message accepted from an SMTP client: qid, client_ip, login if
	 * it authenticated. Postfix smtpd "QID: client=NAME[IP][, sasl_method=M,
	 * sasl_username=LOGIN]"; Exim "QID <= SENDER H=... [IP] ... A=AUTH:LOGIN
	 * ... P=esmtpsa" (sender and null_sender too: Exim says it all at once).
	 */
	SG_EV_SUBMIT,
	/*
	 * A local submission (sendmail, PHP mail()): qid, uid or user, sender.
	 * Postfix pickup "QID: uid=1001 from=<SENDER>"; Exim "QID <= SENDER
	 * U=USER P=local ...".
	 */
	SG_EV_LOCAL,
	/* Postfix qmgr "QID: from=<SENDER>, size=N, nrcpt=N (queue active)": sender, nrcpt. */
	SG_EV_QUEUED,
	/*
	 * One recipient's outcome: qid, rcpt, outcome, dsn ("" when none),
	 * relay (Postfix relay= host or transport; Exim T= transport), local
	 * (delivered on this host: Postfix relay=local|virtual|dovecot|lmtp...
	 * or an lmtp/pipe to dovecot; Exim a local transport such as
	 * *local_delivery*, *appendfile*, *maildir*, *dovecot*, *lmtp*).
	 * Postfix "QID: to=<R>, ..., relay=..., dsn=X.Y.Z, status=sent|deferred|
	 * bounced|expired (...)"; Exim "QID => R ..." (sent), "-> R" (sent,
	 * another address of the same delivery), "** R ..." (bounced), "== R
	 * ..." (deferred); Exim's DSN is the X.Y.Z after the SMTP code in the
	 * text when there is one, else "5.0.0" for ** and "4.0.0" for ==.
	 */
	SG_EV_DELIVERY,
	/* Postfix qmgr "QID: removed"; Exim "QID Completed". */
	SG_EV_DONE,
	/*
	 * An authentication failure: client_ip, login when the line names it,
	 * service. Postfix smtpd "warning: NAME[IP]: SASL LOGIN|PLAIN|...
	 * authentication failed: ..." (with ", sasl_username=LOGIN" on 3.x);
	 * Exim "AUTHNAME authenticator failed for H ([HELO]) [IP]:PORT ...: 535
	 * Incorrect authentication data (set_id=LOGIN)"; Dovecot "auth:
	 * passwd-file(LOGIN,IP...): Password mismatch" / "unknown user" and the
	 * imap-login/pop3-login/submission-login "Disconnected (auth failed, N
	 * attempts...): user=<LOGIN>, method=..., rip=IP, ..." / "Aborted login
	 * (auth failed...)". With auth_verbose one failed IMAP or POP3 login
	 * gives both lines: the auth process's (service SG_SVC_OTHER) and the
	 * login process's (SG_SVC_IMAP...); one SMTP failure through Dovecot
	 * SASL gives the MTA's line (SG_SVC_SMTP) and the auth process's.
	 */
	SG_EV_AUTH_FAIL,
	/*
	 * A message put on hold or frozen by the MTA: qid. Postfix "QID: hold: ..."
	 * (cleanup) or "NOQUEUE: hold: RCPT from NAME[IP]: ...; from=<S> to=<R>"
	 * (smtpd, 3.7: logged before the queue id exists, so qid is "" and
	 * client_ip, sender and rcpt say which); Exim "QID frozen".
	 */
	SG_EV_HOLD,
};

enum sg_mta_outcome {
	SG_OUT_NONE,
	SG_OUT_SENT,
	SG_OUT_DEFERRED,
	SG_OUT_BOUNCED, /* Postfix bounced or expired; Exim ** */
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
	char login[SG_MTA_ADDR_MAX];   /* SASL login (SUBMIT, AUTH_FAIL); "" when none */
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

/*
 * The timestamp at the start of line: RFC 3164 "Mmm dd hh:mm:ss" (the year
 * is the one that puts it nearest to ref, so December lines read in January
 * stay in the old year), RFC 3339 "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm)",
 * or Exim's "YYYY-MM-DD hh:mm:ss[.frac][ +hhmm]". Local time unless an
 * offset is given. Returns the length of the timestamp and the blank after
 * it, or 0 (and *when = 0) when the line does not start with one.
 */
size_t sg_mta_parse_time(const char *line, size_t len, time_t ref, time_t *when);

/*
 * One line each. The record is cleared first (uid = -1); the return is its
 * event, SG_EV_NONE for a line of no interest. line need not be
 * NUL-terminated; a trailing newline is ignored.
 *
 * sg_mta_parse_postfix takes a syslog line ("TIME HOST postfix[-X]/SERVICE[PID]:
 * TEXT"); sg_mta_parse_exim a mainlog line ("TIME [PID] TEXT"); and
 * sg_mta_parse_dovecot a syslog line ("TIME HOST dovecot[PID]: TEXT") or a
 * line of Dovecot's own log file ("TIME SERVICE: Info: TEXT").
 */
enum sg_mta_event sg_mta_parse_postfix(const char *line, size_t len, time_t ref,
				       struct sg_mta_rec *out);
enum sg_mta_event sg_mta_parse_exim(const char *line, size_t len, time_t ref,
				    struct sg_mta_rec *out);
enum sg_mta_event sg_mta_parse_dovecot(const char *line, size_t len, time_t ref,
				       struct sg_mta_rec *out);

/*
 * A line of a log of MTA type t: Dovecot's lines are recognised in any
 * log (they share mail.log with Postfix on syslog), the rest go to t's
 * parser.
 */
enum sg_mta_event sg_mta_parse(enum sg_mta_type t, const char *line, size_t len, time_t ref,
			       struct sg_mta_rec *out);

extern const char *const sg_mta_event_names[];	 /* "none", "submit", ... */
extern const char *const sg_mta_outcome_names[]; /* "none", "sent", "deferred", "bounced" */
extern const char *const sg_mta_type_names[];	 /* "none", "postfix", "exim" */

#endif
