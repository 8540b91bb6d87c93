/* SPDX-License-Identifier: GPL-2.0 */
/*
 * check-relay's logic, without sockets: the relay tests an outside audit
 * (abuse.net, rlytest) runs against a mail server, SMTP reply parsing, the
 * HOST[:PORT] argument, which targets may be tested at all, and the verdict
 * of each reply. Addresses are 16 bytes in network order, IPv4 mapped
 * (::ffff:a.b.c.d), as in struct sg_ban_key.
 */
#ifndef SG_RELAYTEST_H
#define SG_RELAYTEST_H

#include <stddef.h>
#include <linux/types.h>

#include "core/config.h"

/*
 * Bounds of one reply: RFC 5321 allows 512 octets a reply line; this is its
 * text line limit (4.5.3.1.6), for servers that overrun the first.
 */
#define SG_SMTP_LINE_MAX    1000
#define SG_SMTP_REPLY_LINES 64
#define SG_SMTP_REPLY_MAX   (SG_SMTP_LINE_MAX * SG_SMTP_REPLY_LINES)
#define SG_SMTP_PATH_MAX    512 /* a MAIL FROM or RCPT TO command, with its CRLF */

#define SG_RELAY_PORT 25
/* The placeholder in the table's paths for the server's own domain. */
#define SG_RELAY_LOCALDOMAIN "LOCALDOMAIN"

struct sg_relay_test {
	const char *id; /* short, for the verdict lines: "ext-ext" */
	const char *what;
	const char *from; /* MAIL FROM path; SG_RELAY_LOCALDOMAIN is replaced */
	const char *to;	  /* RCPT TO path; likewise */
};

extern const struct sg_relay_test sg_relay_tests[];
extern const int sg_relay_n_tests;

/*
 * test's "MAIL FROM:<...>" and "RCPT TO:<...>" (no CRLF) for the server's
 * domain; 0, or -ENAMETOOLONG when a command would not fit in len.
 */
int sg_relay_commands(const struct sg_relay_test *test, const char *domain, char *mail, char *rcpt,
		      size_t len);

struct sg_smtp_reply {
	int code;
	int lines;
};

/*
 * One reply at the start of buf: the number of bytes it takes (its last
 * CRLF or LF included) with r filled, 0 when buf holds only part of it,
 * -EPROTO when a line does not start with the same 3-digit code (first
 * digit 2 to 5) followed by ' ', '-' or the line's end, -EMSGSIZE when a
 * line is longer than SG_SMTP_LINE_MAX or the reply has more than
 * SG_SMTP_REPLY_LINES lines.
 */
int sg_smtp_parse_reply(const char *buf, size_t len, struct sg_smtp_reply *r);

/* A domain fit to send in a command: letters, digits, '-', '.', or an [address literal]. */
int sg_relay_valid_domain(const char *s);

/*
 * The server's name, the first word of its greeting line (220 NAME ...),
 * into buf; -EINVAL when there is none or it is not a valid domain.
 */
int sg_relay_greeting_domain(const char *line, size_t len, char *buf, size_t buflen);

/*
 * HOST[:PORT]: a name, an IPv4 address, [IPv6] or a bare IPv6 address (no
 * port then); port defaults to SG_RELAY_PORT. host gets the name or the
 * address without brackets. 0, or -EINVAL with *why.
 */
int sg_relay_parse_target(const char *s, char *host, size_t hostlen, __u16 *port, const char **why);

int sg_relay_addr_loopback(const __u32 addr[4]);
/* Neither loopback nor link-local: an address others can reach this host on. */
int sg_relay_addr_global(const __u32 addr[4]);
int sg_relay_addr_in(const __u32 addr[4], const __u32 (*list)[4], int n);

enum sg_relay_allowed {
	SG_RELAY_NOT_ALLOWED,
	SG_RELAY_LOCAL,	 /* an address of this host */
	SG_RELAY_LISTED, /* in [relay] check_targets */
};

/*
 * Whether check-relay may connect to addr, which host (as typed) resolved
 * to: it is an address of this host (local, or any loopback address), or
 * host is listed in targets ([relay] check_targets; case does not matter),
 * or addr is among listed, the addresses the listed names resolve to.
 */
enum sg_relay_allowed sg_relay_target_allowed(const char *host, const __u32 addr[4],
					      const __u32 (*local)[4], int n_local,
					      const char (*targets)[SG_DOMAIN_MAX], int n_targets,
					      const __u32 (*listed)[4], int n_listed);

/* The steps of a test's session, in order. */
enum sg_relay_stage {
	SG_STAGE_CONNECT,
	SG_STAGE_GREETING,
	SG_STAGE_EHLO,
	SG_STAGE_HELO, /* after a 5xx to EHLO */
	SG_STAGE_MAIL,
	SG_STAGE_RCPT,
};

enum sg_relay_verdict {
	SG_RELAY_PENDING, /* the session goes on */
	SG_RELAY_RELAYS,
	SG_RELAY_REFUSED,
	SG_RELAY_ERROR,
};

struct sg_relay_result {
	enum sg_relay_verdict verdict;
	enum sg_relay_stage stage; /* where it was decided */
	int code;		   /* the reply that decided it; 0: err did */
	int err;		   /* -errno of the connection; -EPIPE: closed by the server */
};

/*
 * The reply code at stage, into r: SG_RELAY_PENDING to go on (to HELO after
 * a 5xx to EHLO), else the verdict. Only a 2xx to RCPT relays. A 4xx refuses
 * as a 5xx does: Postfix's default refusal to relay is 454
 * (defer_unauth_destination). 421, the server ending the session, proves
 * nothing, like a greeting other than 220 or a 1xx or 3xx: an error.
 */
enum sg_relay_verdict sg_relay_reply_verdict(enum sg_relay_stage stage, int code,
					     struct sg_relay_result *r);

/* "relays", "refused (554 at RCPT)", "error (temporary 451 at MAIL)", "error (connect: ...)". */
char *sg_relay_format_result(const struct sg_relay_result *r, char *buf, size_t len);

#endif
