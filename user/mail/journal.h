/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The MTA's and Dovecot's lines from the systemd journal, the one log a
 * customer cannot forge into: journald stamps each entry with the
 * sender's _UID from the kernel's credentials of the socket (SO_PEERCRED
 * and SCM_CREDENTIALS), and drops any field a client sends whose name
 * starts with '_'. An entry is selected by its SYSLOG_IDENTIFIER (what
 * anyone may claim: postfix/..., dovecot, exim) and taken only when its
 * _UID is trusted (root, or one of the mail servers' users); the rest are
 * counted as refused. Each one taken is rebuilt as the syslog line the
 * parsers read ("TIME HOST IDENT[PID]: MESSAGE", mtalog.h), stamped with
 * the entry's own time. Functions return -errno.
 */
#ifndef SG_JOURNAL_H
#define SG_JOURNAL_H

#include <stddef.h>
#include <linux/types.h>

#include "mail/follow.h"

#define SG_JOURNAL_MAX_TRUSTED 33 /* root and [mta] journal_users */

/* The UIDs whose lines are taken. */
struct sg_journal_trust {
	__u32 uids[SG_JOURNAL_MAX_TRUSTED];
	size_t n;
};

/* Root and the users named (those with no passwd entry here are left out). */
void sg_journal_trust_init(struct sg_journal_trust *t, const char (*names)[64], int n);

/* Whether a _UID field's value (len bytes, not NUL-terminated) is a trusted UID. */
int sg_journal_trusted(const struct sg_journal_trust *t, const char *uid, size_t len);

/* Whether a SYSLOG_IDENTIFIER names the MTA or Dovecot: postfix[-NAME]/..., dovecot, exim[4]. */
int sg_journal_mta_ident(const char *ident, size_t len);

/*
 * "TIME HOST IDENT[PID]: MESSAGE" into buf (size >= 2), TIME as RFC 3339
 * in UTC to the microsecond; no "[PID]" when pid is empty, "localhost"
 * for an empty host. Control characters in any field become spaces (one
 * entry is one line). As snprintf: cut to size - 1 bytes, and returns
 * the whole line's length (>= size: it was cut).
 */
size_t sg_journal_line(char *buf, size_t size, __u64 realtime_usec, const char *host,
		       size_t hostlen, const char *ident, size_t identlen, const char *pid,
		       size_t pidlen, const char *msg, size_t msglen);

/* Whether journald runs here: its native socket exists. */
int sg_journal_running(void);

struct sg_journal;

/*
 * Opens the local journal's files (system and users', volatile and
 * persistent), at its tail or, from_start, at its head; t is copied.
 */
int sg_journal_open(struct sg_journal **out, const struct sg_journal_trust *t, int from_start);
void sg_journal_free(struct sg_journal *j);

/* The descriptor for the caller's epoll: readable when the journal may have grown. */
int sg_journal_fd(const struct sg_journal *j);

/*
 * Takes up the journal's changes (new, rotated or removed files), then
 * reads at most max_entries entries (0: no bound) and gives fn each line
 * taken, with index 0. Returns the number of lines given, or -errno.
 */
int sg_journal_read(struct sg_journal *j, size_t max_entries, sg_follow_fn fn, void *ctx);

struct sg_journal_stats {
	__u64 entries;	 /* read, of any identifier */
	__u64 lines;	 /* MTA lines taken */
	__u64 untrusted; /* MTA-tagged entries refused: _UID missing or not trusted */
	__u64 cut;	 /* lines cut to SG_MTA_LINE_MAX */
};
void sg_journal_stats(const struct sg_journal *j, struct sg_journal_stats *out);

#endif
