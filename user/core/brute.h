/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Password guessing, per source and per account: failed logins
 * from the MTA's and Dovecot's logs, and the SYNs XDP counts to the login
 * ports. A source is an IPv4 address or an IPv6 prefix ([bruteforce]
 * ipv6_prefix: a site picks any address in its /64). A source over a limit gets a verdict: ban it,
 * for a time that grows with each repeat offence ([bruteforce] in config.h). Addresses in
 * [bruteforce] allow are counted but never judged.
 *
 * Pure: no I/O but the offenders file, time given. Counts are kept in
 * SG_BRUTE_SLOTS slots of a twelfth of their window, so a window is
 * exact to a twelfth of its length. Memory is bounded: sources, accounts
 * and offenders have caps, the idlest going first. Functions return -errno.
 */
#ifndef SG_BRUTE_H
#define SG_BRUTE_H

#include <stddef.h>
#include <time.h>
#include <netinet/in.h>
#include <linux/types.h>

#include "core/config.h"
#include "core/mailrec.h"
#include "smtpguard.h"

#define SG_BRUTE_SLOTS		 12
#define SG_BRUTE_MAX_SOURCES	 16384		    /* sources counted at once */
#define SG_BRUTE_MAX_ACCOUNTS	 1024		    /* accounts with failures counted at once */
#define SG_BRUTE_ACCOUNT_SOURCES SG_MAX_DISTRIBUTED /* sources kept per account */
#define SG_BRUTE_MAX_OFFENDERS	 65536
#define SG_BRUTE_SYN_WINDOW	 60 /* syn_rate is per minute */

enum sg_brute_service {
	SG_BRUTE_SMTP,
	SG_BRUTE_IMAP,
	SG_BRUTE_POP3,
	SG_BRUTE_SUBMISSION, /* Dovecot's */
	SG_BRUTE_SERVICES,
};

extern const char *const sg_brute_service_names[SG_BRUTE_SERVICES]; /* "smtp", ... */

/* A source to ban. */
struct sg_brute_verdict {
	struct sg_ban_key key; /* the source: an address, an IPv6 one's [bruteforce] ipv6_prefix */
	char addr[INET6_ADDRSTRLEN];
	__u32 reason;	    /* SG_BAN_AUTH_FAILURES, SG_BAN_SYN_RATE or SG_BAN_DISTRIBUTED */
	__u64 value, limit; /* failures in window, SYNs a minute, or addresses on the account */
	char login[SG_MTA_LOGIN_MAX]; /* distributed: the account */
	int first;		     /* distributed: the account's first verdict in this attack */
	__u32 offences;		     /* this one included, within [bruteforce] forget */
	__u64 ban_ns;
};

/* The bounded tables, each dropping the idlest at its cap. */
enum sg_brute_table {
	SG_BRUTE_TAB_SOURCES,
	SG_BRUTE_TAB_ACCOUNTS,
	SG_BRUTE_TAB_OFFENDERS,
	SG_BRUTE_TABLES,
};

extern const char *const sg_brute_table_names[SG_BRUTE_TABLES]; /* "sources", ... */

/* Host-wide, since the start. */
struct sg_brute_totals {
	__u64 failures[SG_BRUTE_SERVICES];
	__u64 bans[SG_BAN__MAX]; /* verdicts, by reason */
	__u64 allowed;		 /* verdicts not given: the source is in [bruteforce] allow */
	__u64 evicted[SG_BRUTE_TABLES]; /* dropped at the table's cap for a new one */
};

struct sg_brute;

struct sg_brute *sg_brute_new(void);
void sg_brute_free(struct sg_brute *b);

/*
 * A failed login (an SG_MEV_AUTH_FAIL record) at now: one failure, never
 * more, whatever count the line claimed. A forged Dovecot line claiming
 * 99999 attempts is then one failure; the price is that a client trying
 * N passwords in one IMAP session ("auth failed, N attempts") counts
 * once, so a guesser gets up to Dovecot's per-session limit of tries per
 * counted failure (auth_failure_delay still slows each). Dovecot's auth
 * process's lines (SG_SVC_OTHER: auth_verbose's "Password mismatch",
 * PAM's own line) are left out: the login process or the MTA logs the
 * same failure, and counting both would count it twice. Records without
 * a client address count host-wide only.
 */
void sg_brute_fail(struct sg_brute *b, const struct sg_bruteforce_cfg *c,
		   const struct sg_mta_rec *r, time_t now);

/*
 * XDP's count of SYNs from addr to the login ports, which only grows while
 * the source stays in sg_sources. A source not seen before is taken as
 * counted from zero when fresh (it appeared in the map since the last
 * pass), else its count is where it starts.
 */
void sg_brute_syns(struct sg_brute *b, const __u32 addr[4], __u64 login_syns, int fresh,
		   time_t now);

/*
 * The sources to ban at now, up to max into out, each once: a source
 * judged is left alone for its ban, its counts cleared, and its offence
 * recorded (see sg_brute_dirty). Returns how many.
 */
size_t sg_brute_judge(struct sg_brute *b, const struct sg_bruteforce_cfg *c, time_t now,
		      struct sg_brute_verdict *out, size_t max);

void sg_brute_totals(const struct sg_brute *b, struct sg_brute_totals *out);

/*
 * The offenders, for repeat bans across restarts: a JSON object of
 * address -> { "offences": N, "last": UNIX-TIME }. Load drops those older
 * than forget_s at now; a missing file is an empty list. Save writes
 * atomically (a temporary file, renamed) and clears the dirty mark.
 */
int sg_brute_load(struct sg_brute *b, const char *path, time_t now, time_t forget_s);
int sg_brute_save(struct sg_brute *b, const char *path);
int sg_brute_dirty(const struct sg_brute *b);

/*
 * Whether client_ip failed to log in to login (case aside) at least
 * [bruteforce] guessed times, the last within window of now -- or once,
 * while the account is under a distributed attack (a botnet spreading its
 * guesses below that count over many addresses): a login from it may use a
 * guessed password (one typo is not a guess). Sources in [bruteforce]
 * allow are never counted, so never match.
 */
int sg_brute_failed_on(const struct sg_brute *b, const struct sg_bruteforce_cfg *c,
		       const char *login, const char *client_ip, time_t now);

#endif
