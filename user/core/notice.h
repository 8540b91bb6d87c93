/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The notice to a contained account's owner ([notify] owner_mail): its
 * template checked, and filled in with what the containment saw. A
 * template is a message's header lines (Subject: at least; never To:, Cc:
 * or Bcc:, since the owner's address, set here, is its one recipient),
 * a blank line and the body; {name} stands for one of the facts
 * (sg_notice_fields). Every value is escaped as sg_escape_id writes it
 * (util/render.h), so that a login or an address a customer chose cannot
 * end a header line, add one or add a recipient. Pure: no I/O.
 */
#ifndef SG_NOTICE_H
#define SG_NOTICE_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

/* What a containment saw, for its notice. */
struct sg_notice_facts {
	const char *account; /* the login, or the local user */
	const char *rule;
	const char *host;  /* this server */
	const char *owner; /* the address the notice goes to */
	__u64 messages, recipients;
	__u64 delivered, bounced; /* remote deliveries: all those done, those bounced */
	__u64 held;		  /* queued messages held */
	const char *const *ips;	  /* the client addresses that logged in to it */
	size_t n_ips;
	time_t first, last; /* its first and last message */
};

/* The placeholders, "{name}" in a template; NULL-terminated. */
extern const char *const sg_notice_fields[];

/*
 * Whether a is a plain address: local@domain, the local part dot-atoms
 * (RFC 5322 atext), the domain letters, digits and hyphens in dotted
 * labels; nothing else (no blank, comma, angle bracket, quote, control).
 */
int sg_notice_address_ok(const char *a);

/* 0 when tmpl is a template; else -EINVAL with why ("line N: ...") in err. */
int sg_notice_check(const char *tmpl, char *err, size_t errlen);

/*
 * The message for sendmail -t: "To: OWNER" and tmpl filled in with f, in
 * *out (malloc'd). -EINVAL when f->owner is not a plain address or tmpl
 * is not a template, -ENOMEM.
 */
int sg_notice_render(const char *tmpl, const struct sg_notice_facts *f, char **out);

#endif
