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
 *
 * A field is taken only from the place the MTA writes it, and addresses
 * are read as RFC 5321 paths (quoted strings and backslash escapes), so
 * text a client wrote (a sender, a recipient, a HELO, a login, a subject,
 * a remote server's reply) can never supply another principal, address
 * or outcome than the one the MTA logged. Where the MTA's own form is
 * ambiguous or broken (an Exim "<=" line with keys out of order or
 * twice, a quote left open) the line yields nothing rather than a guess.
 *
 * An SG_MEV_AUTH_FAIL record stands for one failure (attempts is 1),
 * whatever count the line claims: Dovecot's "(auth failed, N attempts)"
 * counts one, so one forged line is one failure (see brute.h for what
 * that costs). The failures: Postfix's "SASL MECH authentication
 * failed" (not "Invalid authentication mechanism" nor a lost auth
 * server: no password tried); Exim's "authenticator failed ... 535";
 * Dovecot's login processes' "(auth failed" and a proxy's "(proxy dest
 * auth failed)", and its auth process's "Password mismatch", "unknown
 * user", "pam_authenticate() failed", LDAP's "invalid credentials" (2.3's
 * "passdb(LOGIN,IP,<S>)" and 2.4's "auth(LOGIN,IP,sasl:MECH)<S>:") and
 * PAM's own "pam_unix(dovecot:auth): authentication failure" (service
 * SG_SVC_OTHER: the same failure as the login process's line).
 */
#ifndef SG_MTALOG_H
#define SG_MTALOG_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "core/mailrec.h"

/*
 * The timestamp at the start of line: RFC 3164 "Mmm dd hh:mm:ss" (the year
 * is the one that puts it nearest to ref, so December lines read in January
 * stay in the old year), RFC 3339 "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm)",
 * Exim's "YYYY-MM-DD hh:mm:ss[.frac][ +hhmm]", or multilog's TAI64N
 * "@4000000068...". Local time unless an offset is given. Returns the length of the timestamp and
 * the blank after it, or 0 (and *when = 0) when the line does not start with one.
 */
size_t sg_mta_parse_time(const char *line, size_t len, time_t ref, time_t *when);

/*
 * One line each. The record is cleared first (uid = -1); the return is its
 * event, SG_MEV_NONE for a line of no interest. line need not be
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
 * Which MTA a line says wrote it, for a log of unknown type: Exim's
 * mainlog stamp, else a syslog tag in the line's first SG_MTA_TAG_SPAN
 * bytes ("postfix/", "exim["); SG_MTA_NONE when it does not say. Each
 * parser's recogniser answers 2 (its own log's form), 1 (its syslog tag)
 * or 0; the highest wins, the first MTA on a tie.
 */
#define SG_MTA_TAG_SPAN 128
enum sg_mta_type sg_mta_writer(const char *line, size_t len);
int sg_mta_postfix_wrote(const char *line, size_t len);
int sg_mta_exim_wrote(const char *line, size_t len);

/*
 * A line of a log of MTA type t: Dovecot's lines are recognised in any
 * log (they share mail.log with Postfix on syslog), the rest go to t's
 * parser.
 */
enum sg_mta_event sg_mta_parse(enum sg_mta_type t, const char *line, size_t len, time_t ref,
			       struct sg_mta_rec *out);

#endif
