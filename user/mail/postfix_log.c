// SPDX-License-Identifier: GPL-2.0
/* Postfix log lines to records; see mtalog.h, and logline.h for how a line is read. */
#include <string.h>
#include <strings.h>

#include "mail/logline.h"

/* "postfix[-X][/NAME]/SERVICE[PID]:": svc is SERVICE. */
static int postfix_tag(struct cur w, struct cur *svc)
{
	const char *o, *slash, *d;

	if (left(&w) < 2 || w.end[-1] != ':' || !at(&w, "postfix"))
		return 0;
	w.end--;
	if (w.end[-1] == ']') {
		o = rfind_ch(w.p, w.end, '[');
		if (!o)
			return 0;
		for (d = o + 1; d < w.end - 1; d++)
			if (!is_digit(*d))
				return 0;
		w.end = o;
	}
	slash = rfind_ch(w.p, w.end, '/');
	if (!slash || slash + 1 == w.end)
		return 0;
	svc->p = slash + 1;
	svc->end = w.end;
	return 1;
}

/* "HOST TAG " (or "TAG " when the writer left the host out): the cursor moves to the text. */
static int postfix_head(struct cur *c, struct cur *svc)
{
	if (!postfix_tag(next_word(c), svc) && !postfix_tag(next_word(c), svc))
		return 0;
	eat(c, " ");
	return 1;
}

/*
 * "QID: ". Short ids are upper-case hex, long ones mixed case with digits;
 * the words Postfix puts in that place ("warning", "NOQUEUE", "fatal")
 * are neither.
 */
static int postfix_qid(struct cur *c, struct sg_mta_rec *r)
{
	const char *q = c->p;
	int digit = 0, hex = 1;

	for (; q < c->end && is_alnum(*q); q++) {
		digit |= is_digit(*q);
		hex &= is_digit(*q) || (*q >= 'A' && *q <= 'F');
	}
	if (q - c->p < 6 || q - c->p >= SG_MTA_QID_MAX || q == c->end || *q != ':' ||
	    (!digit && !hex))
		return 0;
	COPY(r->qid, c->p, q);
	c->p = q + 1;
	eat(c, " ");
	return 1;
}

/*
 * "NAME[IP][:PORT][, sasl_method=M, sasl_username=LOGIN][, sasl_sender=S]
 * [, orig_queue_id=Q, orig_client=C]" (smtpd). NAME is a checked DNS
 * name, so the first ", sasl_username=" is Postfix's. The login is the
 * SASL server's (Dovecot's auth_username_chars has no comma or blank by
 * default); the sender after it is the client's (MAIL FROM's AUTH=), so
 * the login ends at the first ", sasl_sender=", else before Postfix's own
 * trailing fields, else at the end: never at a comma of its own.
 */
static enum sg_mta_event pf_client(struct cur *c, struct sg_mta_rec *r)
{
	const char *comma = find_ch(c->p, c->end, ','), *p, *q;
	struct cur w = { c->p, comma ? comma : c->end };

	sg_line_bracket_ip(r->client_ip, w);
	p = find(w.end, c->end, ", sasl_username=");
	if (p) {
		p += strlen(", sasl_username=");
		q = find(p, c->end, ", sasl_sender=");
		if (!q)
			q = sg_line_rfind(p, c->end, ", orig_queue_id=");
		COPY(r->login, p, q ? q : c->end);
	}
	return SG_MEV_SUBMIT;
}

/* "uid=N from=<SENDER>" (pickup: sendmail, PHP mail()); the sender may be a bare user name. */
static enum sg_mta_event pf_pickup(struct cur *c, struct sg_mta_rec *r)
{
	unsigned long long uid;

	if (!sg_line_number(c, 0xffffffffULL, &uid) || !eat(c, " from=<") ||
	    !sg_line_angle(c, r->sender, sizeof(r->sender), &r->null_sender))
		return SG_MEV_NONE;
	r->uid = (__s64)uid;
	return SG_MEV_LOCAL;
}

/*
 * "from=<SENDER>, size=N, nrcpt=N (queue active)" (qmgr); "from=<>,
 * status=expired" is not. Nothing the client wrote follows the count:
 * the last ", nrcpt=" is Postfix's.
 */
static enum sg_mta_event pf_queued(struct cur *c, struct sg_mta_rec *r)
{
	unsigned long long n;
	const char *p;

	if (!sg_line_angle(c, r->sender, sizeof(r->sender), &r->null_sender))
		return SG_MEV_NONE;
	p = sg_line_rfind(c->p, c->end, ", nrcpt=");
	if (!p)
		return SG_MEV_NONE;
	c->p = p + strlen(", nrcpt=");
	if (!sg_line_number(c, 0xffffffffULL, &n))
		return SG_MEV_NONE;
	r->nrcpt = (__u32)n;
	return SG_MEV_QUEUED;
}

/* The value after key (", relay=") from c on, up to ", "; c moves past it when found. */
static int pf_field(struct cur *c, const char *key, char *dst, size_t size)
{
	const char *p = find(c->p, c->end, key), *q;

	if (!p)
		return 0;
	p += strlen(key);
	q = find(p, c->end, ", ");
	if (!q)
		q = c->end;
	sg_line_copy(dst, size, p, q);
	c->p = q;
	return 1;
}

/*
 * Into a mailbox here: the local and virtual delivery agents, LMTP, or
 * a relay that names Dovecot (relay=dovecot for a pipe to dovecot-lda,
 * relay=HOST[private/dovecot-lmtp] for LMTP on a socket).
 */
static int pf_local(struct cur svc, const char *relay)
{
	static const char *const svcs[] = { "local", "virtual", "lmtp" };
	static const char *const words[] = { "lmtp", "dovecot", NULL };
	size_t i, n = left(&svc);

	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++)
		if (n == strlen(svcs[i]) && !memcmp(svc.p, svcs[i], n))
			return 1;
	return !strcmp(relay, "local") || !strcmp(relay, "virtual") ||
	       sg_line_holds_any(relay, words);
}

/* A hop to this host's loopback, a content filter there: relay=NAME[127.x.x.x]:PORT. */
static int pf_filter(const char *relay)
{
	const char *end = relay + strlen(relay);

	return find(relay, end, "[127.") || find(relay, end, "[::1]");
}

/*
 * "to=<R>, [orig_to=<O>,] relay=X, [conn_use=N,] delay=D, delays=a/b/c/d,
 * dsn=X.Y.Z, status=WORD (TEXT)" (smtp, lmtp, local, virtual, pipe, error).
 * Address verification probes (status=deliverable) are not deliveries.
 */
static enum sg_mta_event pf_delivery(struct cur *c, struct cur svc, struct sg_mta_rec *r)
{
	static const struct {
		const char *word;
		enum sg_mta_outcome out;
	} statuses[] = {
		{ "sent", SG_OUT_SENT },
		{ "deferred", SG_OUT_DEFERRED },
		{ "bounced", SG_OUT_BOUNCED },
		{ "expired", SG_OUT_BOUNCED },
	};
	char status[16], orig[SG_MTA_ADDR_MAX];
	const char *p, *q;
	size_t i;

	if (!sg_line_angle(c, r->rcpt, sizeof(r->rcpt), NULL) || !r->rcpt[0])
		return SG_MEV_NONE;
	/* Right after the recipient, where the client's own text ends. */
	if (eat(c, ", orig_to=<") && sg_line_angle(c, orig, sizeof(orig), NULL))
		r->forwarded = strcasecmp(orig, r->rcpt) != 0;
	pf_field(c, ", relay=", r->relay, sizeof(r->relay));
	pf_field(c, ", dsn=", r->dsn, sizeof(r->dsn));
	p = find(c->p, c->end, ", status=");
	if (!p)
		return SG_MEV_NONE;
	p += strlen(", status=");
	for (q = p; q < c->end && is_alnum(*q); q++)
		;
	COPY(status, p, q);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (!strcmp(status, statuses[i].word))
			r->outcome = statuses[i].out;
	if (r->outcome == SG_OUT_NONE)
		return SG_MEV_NONE;
	r->local = pf_local(svc, r->relay);
	r->filter = !r->local && pf_filter(r->relay);
	return SG_MEV_DELIVERY;
}

/*
 * "[NOQUEUE: ]hold: RCPT from NAME[IP]: <R>: ...; from=<S> to=<R> proto=P
 * helo=<H>" (smtpd access HOLD) or "hold: header NAME: VALUE from
 * NAME[IP]; from=<S> to=<R> ..." (cleanup). The client's text comes
 * first, so the search starts from the daemon's "; from=<" at the right.
 */
static enum sg_mta_event pf_hold(struct cur *c, struct sg_mta_rec *r)
{
	const char *semi = sg_line_rfind(c->p, c->end, "; from=<"), *f;
	struct cur s;

	if (!semi)
		return SG_MEV_HOLD;
	f = sg_line_rfind(c->p, semi, " from ");
	if (f) {
		s.p = f + strlen(" from ");
		s.end = semi;
		sg_line_bracket_ip(r->client_ip, word(&s));
	}
	s.p = semi + strlen("; from=<");
	s.end = c->end;
	if (sg_line_angle(&s, r->sender, sizeof(r->sender), &r->null_sender) && eat(&s, " to=<"))
		sg_line_angle(&s, r->rcpt, sizeof(r->rcpt), NULL);
	return SG_MEV_HOLD;
}

/*
 * "warning: NAME[IP][:PORT]: SASL MECH authentication failed: REASON[,
 * sasl_username=LOGIN]": REASON is the SASL server's, the login last.
 * Postfix's other lines about the same AUTH ("lost connection after
 * AUTH", "disconnect from ... auth=0/1") and the Cyrus library's own
 * "SASL authentication failure: ..." are not counted again.
 */
static enum sg_mta_event pf_warning(struct cur *c, struct sg_mta_rec *r)
{
	struct cur client = word(c);
	const char *p;

	if (!eat(c, " SASL "))
		return SG_MEV_NONE;
	word(c);
	if (!eat(c, " authentication failed"))
		return SG_MEV_NONE;
	eat(c, ":");
	eat(c, " ");
	/* The server's trouble, or a client probing mechanisms: no password was tried. */
	if (at(c, "Connection lost to authentication server") ||
	    at(c, "Invalid authentication mechanism") || at(c, "no mechanism available"))
		return SG_MEV_NONE;
	sg_line_bracket_ip(r->client_ip, client);
	p = find(c->p, c->end, "sasl_username=");
	if (p)
		COPY(r->login, p + strlen("sasl_username="), c->end);
	r->service = SG_SVC_SMTP;
	return SG_MEV_AUTH_FAIL;
}

static enum sg_mta_event postfix_text(struct cur *c, struct cur svc, struct sg_mta_rec *r)
{
	if (eat(c, "warning: "))
		return pf_warning(c, r);
	/* smtpd logs an access HOLD before the queue file (and its id) exists. */
	if (eat(c, "NOQUEUE: "))
		return eat(c, "hold: ") ? pf_hold(c, r) : SG_MEV_NONE;
	if (!postfix_qid(c, r))
		return SG_MEV_NONE;
	if (eat(c, "client="))
		return pf_client(c, r);
	if (eat(c, "uid="))
		return pf_pickup(c, r);
	if (eat(c, "from=<"))
		return pf_queued(c, r);
	if (eat(c, "to=<"))
		return pf_delivery(c, svc, r);
	if (eat(c, "removed") && c->p == c->end)
		return SG_MEV_DONE;
	if (eat(c, "hold: "))
		return pf_hold(c, r);
	return SG_MEV_NONE;
}

enum sg_mta_event sg_mta_parse_postfix(const char *line, size_t len, time_t ref,
				       struct sg_mta_rec *out)
{
	struct cur c = sg_line_begin(line, len, ref, out), svc;

	if (!postfix_head(&c, &svc))
		return sg_line_finish(out, SG_MEV_NONE);
	return sg_line_finish(out, postfix_text(&c, svc, out));
}

int sg_mta_postfix_wrote(const char *line, size_t len)
{
	size_t n = len < SG_MTA_TAG_SPAN ? len : SG_MTA_TAG_SPAN;

	return memmem(line, n, " postfix/", 9) || memmem(line, n, " postfix-", 9);
}
