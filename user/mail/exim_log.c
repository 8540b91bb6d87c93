// SPDX-License-Identifier: GPL-2.0
/* Exim mainlog lines to records; see mtalog.h, and logline.h for how a line is read. */
#include <string.h>
#include <strings.h>

#include "mail/logline.h"

/* Old ids are 6-6-2 base 62 (16 characters), 4.97's 6-11-4 (23). */
static int exim_id(struct cur w)
{
	size_t n = left(&w), i, d1 = 6, d2 = n == 16 ? 13 : 18;

	if (n != 16 && n != 23)
		return 0;
	for (i = 0; i < n; i++)
		if (i == d1 || i == d2 ? w.p[i] != '-' : !is_alnum(w.p[i]))
			return 0;
	return 1;
}

/*
 * "H=[NAME ][(HELO) ][IP][:PORT]" (w the first word, "H=" dropped) and
 * the same after "authenticator failed for", as Exim writes it: the name a resolved
 * one, the HELO one word in parentheses (Exim refuses a HELO with blanks
 * unless helo_accept_junk_hosts says otherwise), then the bracketed
 * address. Anything else is not Exim's own H=: 0, and the line's keys are
 * not trusted.
 */
static int exim_host(struct cur *c, struct cur w, struct sg_mta_rec *r)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (left(&w) && *w.p == '[') {
			sg_line_bracket_ip(r->client_ip, w);
			return r->client_ip[0] != '\0';
		}
		/* A name only first; a HELO only as one word in parentheses. */
		if (left(&w) && *w.p == '(' ? left(&w) < 2 || w.end[-1] != ')' : i > 0)
			return 0;
		w = next_word(c);
	}
	return 0;
}

/* The keys of a "<=" line before S=, in the order Exim writes them; each at most once. */
static const char *const in_keys[] = { "R=", "H=", "U=", "I=", "P=", "X=", "CV=", "DN=", "A=" };
#define N_IN_KEYS (sizeof(in_keys) / sizeof(in_keys[0]))

/* Which of in_keys w starts with; N_IN_KEYS for another word. */
static size_t in_key(struct cur w)
{
	size_t k;

	for (k = 0; k < N_IN_KEYS && !at(&w, in_keys[k]); k++)
		;
	return k;
}

/* A key Exim adds that smtpguard does not read: KEY=VALUE, or a flag ("K", "TFO*"). */
static int exim_flag(struct cur w)
{
	const char *q;

	if (!left(&w) || *w.p < 'A' || *w.p > 'Z')
		return 0;
	if (find_ch(w.p, w.end, '='))
		return 1;
	for (q = w.p; q < w.end; q++)
		if (!((*q >= 'A' && *q <= 'Z') || is_digit(*q) || *q == '*'))
			return 0;
	return 1;
}

/*
 * The keys after the sender up to S=: H=, U=, P=, A= only where Exim puts
 * them. A key out of order or twice, S= before the P= Exim always
 * writes, or a word that is no key (other than those Exim adds, see
 * exim_flag) means a client's text (an ident reply, a certificate's DN, a
 * junk HELO) imitates them: -1, nothing taken.
 */
static int exim_in_keys(struct cur *c, struct sg_mta_rec *r, int *host, int *local)
{
	size_t next = 0, k;
	const char *colon, *q;
	struct cur w;

	for (;;) {
		w = next_word(c);
		if (!left(&w))
			return -1;
		/* Exim always writes P=: an S= before it is a client's. */
		if (at(&w, "S="))
			return next > 4 ? 0 : -1;
		k = in_key(w);
		if (k == N_IN_KEYS) {
			if (!exim_flag(w))
				return -1;
			continue;
		}
		if (k < next)
			return -1;
		next = k + 1;
		if (k == 1 && !(*host = exim_host(c, (struct cur){ w.p + 2, w.end }, r)))
			return -1;
		if (k == 2)
			COPY(r->user, w.p + 2, w.end);
		if (k == 4)
			*local = left(&w) >= 7 && !memcmp(w.p + 2, "local", 5);
		if (k == 7) {
			/* DN="...": its own blanks are inside the quotes. */
			q = left(&w) >= 4 && w.p[3] == '"' ? find(w.p + 4, c->end, "\" ") : NULL;
			if (!q)
				return -1;
			c->p = q + 1;
		}
		if (k == 8 && (colon = find_ch(w.p, w.end, ':')))
			COPY(r->login, colon + 1, w.end);
	}
}

/*
 * "<= SENDER [R=ID] [H=HOST] [U=USER] [I=IF] P=PROTO [X=..] [CV=..]
 * [DN=".."] [A=AUTH:LOGIN] S=N [id=MSGID] [T="SUBJECT"] [from <..>] [for
 * R..]": a local submission when the protocol is local*. The sender is a
 * remote client's text: read as an RFC 5321 path, quoted strings and all,
 * so a quoted local part holding " H=[IP] A=plain:victim " is part of the
 * address. From S= on the client wrote the words again: the scan stops.
 */
static enum sg_mta_event exim_in(struct cur *c, struct sg_mta_rec *r)
{
	const char *stop = sg_line_path_end(c->p, c->end);
	int host = 0, local = 0;

	if (!stop || stop == c->p)
		return SG_MEV_NONE;
	if (stop - c->p == 2 && !memcmp(c->p, "<>", 2))
		r->null_sender = 1;
	else
		COPY(r->sender, c->p, stop);
	c->p = stop;
	if (exim_in_keys(c, r, &host, &local) < 0)
		return SG_MEV_NONE;
	if (local || (!host && r->user[0])) {
		r->client_ip[0] = r->login[0] = '\0';
		return SG_MEV_LOCAL;
	}
	if (!host)
		return SG_MEV_NONE;
	r->user[0] = '\0';
	return SG_MEV_SUBMIT;
}

/* Where the recipient ends: the first " KEY=" (R=, T=, F=, P=...) or ": ". */
static const char *exim_rcpt_end(const char *p, const char *end)
{
	const char *k;

	for (; p < end; p++) {
		if (*p == ':' && p + 1 < end && p[1] == ' ')
			return p;
		if (*p != ' ')
			continue;
		for (k = p + 1; k < end && k - p <= 3 && *k >= 'A' && *k <= 'Z'; k++)
			;
		if (k > p + 1 && k < end && *k == '=')
			return p;
	}
	return end;
}

/* "NNN X.Y.Z" (or "NNN-X.Y.Z") with the same class in both, at p: the X.Y.Z into dst. */
static int dsn_at(const char *p, const char *end, char *dst, size_t size)
{
	const char *q;
	int dots = 0, run = 0;

	/* "550-5.1.1" is the first line of a multi-line reply. */
	if (end - p < 9 || (*p != '2' && *p != '4' && *p != '5') || !is_digit(p[1]) ||
	    !is_digit(p[2]) || (p[3] != ' ' && p[3] != '-') || p[4] != p[0] || p[5] != '.')
		return 0;
	for (q = p + 6; q < end && (is_digit(*q) || *q == '.') && q - p < 14; q++) {
		if (*q == '.') {
			if (!run || ++dots > 1)
				return 0;
			run = 0;
		} else if (++run > 3) {
			return 0;
		}
	}
	if (dots != 1 || !run || (q < end && (is_digit(*q) || *q == '.')))
		return 0;
	sg_line_copy(dst, size, p + 4, q);
	return 1;
}

/* The first SMTP reply code followed by an enhanced status code in the text. */
static int exim_dsn(const char *p, const char *end, char *dst, size_t size)
{
	const char *q;

	for (q = p; q < end; q++)
		if ((q == p || !is_alnum(q[-1])) && dsn_at(q, end, dst, size))
			return 1;
	return 0;
}

/* Transports and routers that put the message into a mailbox on this host. */
static int exim_local(const char *transport, const char *router)
{
	static const char *const words[] = { "local_delivery", "appendfile",	    "maildir",
					     "mail_spool",     "dovecot",	    "lmtp",
					     "address_file",   "address_directory", NULL };

	return sg_line_holds_any(transport, words) || !strcmp(router, "local_user");
}

/*
 * Where the recipient's part ends: "RCPT [(PARENT)] [<ORIGINAL>]", each an
 * RFC 5321 path, so a quoted local part cannot end it early; a pipe or a
 * file (the host's own configuration) at the first " KEY=" or ": ".
 * NULL when the addresses do not parse.
 */
static const char *exim_rcpt_part(const char *p, const char *end)
{
	const char *q;

	if (p < end && (*p == '|' || *p == '/'))
		return exim_rcpt_end(p, end);
	q = sg_line_path_end(p, end);
	/* "** RCPT: ERROR" */
	if (q && q > p && q[-1] == ':')
		return q - 1;
	if (q && end - q > 2 && q[1] == '(') {
		q = sg_line_path_end(q + 2, end);
		if (!q || q[-1] != ')')
			return NULL;
	}
	if (q && end - q > 2 && q[1] == '<') {
		q = sg_line_path_end(q + 2, end);
		if (!q || q[-1] != '>')
			return NULL;
	}
	return q;
}

/*
 * "=> RCPT [(PARENT)] [<ORIGINAL>] R=ROUTER T=TRANSPORT [H=HOST [IP]] ... [C="250 ..."]"
 * and the same after ->, >>, ** and == (with ": ERROR" at the end). The
 * recipient is the original address in angle brackets when Exim gives
 * one (a local delivery names the local part first, a pipe its command).
 * R= and T= are the first keys: the first of each is Exim's, the rest
 * (H=, C=) name and quote the remote server.
 */
static enum sg_mta_event exim_out(struct cur *c, struct sg_mta_rec *r, enum sg_mta_outcome out)
{
	const char *stop = exim_rcpt_part(c->p, c->end), *o;
	char router[64] = "";
	struct cur w, rc;

	if (!stop)
		return SG_MEV_NONE;
	rc.p = c->p;
	rc.end = stop;
	if (stop > c->p && stop[-1] == '>' && (o = sg_line_rfind(c->p, stop, " <"))) {
		COPY(r->rcpt, o + 2, stop - 1);
		/* A local delivery names the local part first; another address, a forward. */
		w = word(&rc);
		r->forwarded = find_ch(w.p, w.end, '@') &&
			       (left(&w) != strlen(r->rcpt) || strncasecmp(w.p, r->rcpt, left(&w)));
	} else {
		w = word(&rc);
		COPY(r->rcpt, w.p, sg_line_path_end(w.p, stop) ?: stop);
	}
	if (!r->rcpt[0])
		return SG_MEV_NONE;
	c->p = stop;
	/* The keys end where the error text begins, at the first word ending in ':'. */
	while (c->p < c->end) {
		w = next_word(c);
		if (at(&w, "H=") || at(&w, "C="))
			break;
		if (left(&w) && w.end[-1] == ':') {
			w.end--;
			if (at(&w, "T=") && !r->relay[0])
				COPY(r->relay, w.p + 2, w.end);
			break;
		}
		if (at(&w, "R=") && !router[0])
			COPY(router, w.p + 2, w.end);
		else if (at(&w, "T=") && !r->relay[0])
			COPY(r->relay, w.p + 2, w.end);
	}
	if (!exim_dsn(stop, c->end, r->dsn, sizeof(r->dsn)) && out != SG_OUT_SENT)
		strcpy(r->dsn, out == SG_OUT_BOUNCED ? "5.0.0" : "4.0.0");
	r->outcome = out;
	r->local = exim_local(r->relay, router);
	return SG_MEV_DELIVERY;
}

/* "QID frozen by ACL", "QID Frozen (delivery error message)", "QID Message is frozen". */
static int exim_frozen(struct cur *c)
{
	struct cur w = *c, f = word(&w);

	return (left(&f) == 6 && !strncasecmp(f.p, "frozen", 6)) || at(c, "Message is frozen");
}

static enum sg_mta_event exim_msg(struct cur *c, struct sg_mta_rec *r)
{
	if (eat(c, "<= "))
		return exim_in(c, r);
	if (eat(c, "=> ") || eat(c, "-> ") || eat(c, ">> "))
		return exim_out(c, r, SG_OUT_SENT);
	if (eat(c, "** "))
		return exim_out(c, r, SG_OUT_BOUNCED);
	if (eat(c, "== "))
		return exim_out(c, r, SG_OUT_DEFERRED);
	if (eat(c, "Completed") && (c->p == c->end || *c->p == ' '))
		return SG_MEV_DONE;
	if (exim_frozen(c))
		return SG_MEV_HOLD;
	return SG_MEV_NONE;
}

/*
 * "AUTHNAME authenticator failed for [NAME ][(HELO) ][IP]:PORT [I=[IP]:PORT]:
 * 535 Incorrect authentication data[ (set_id=LOGIN)]". A 4xx reply is
 * the server's trouble (its auth daemon down), not a wrong password.
 */
static enum sg_mta_event exim_auth(struct cur *c, struct sg_mta_rec *r)
{
	const char *p, *q;
	struct cur w;

	/* The host as in H=: a HELO of several words could name any address. */
	if (!exim_host(c, next_word(c), r))
		return SG_MEV_NONE;
	/* The reply right after the address ("[IP]: 535") or after I=[IP]:PORT. */
	p = c->p - 1;
	if (*p != ':') {
		w = next_word(c);
		p = w.end - 1;
		if (!at(&w, "I=") || *p != ':')
			p = NULL;
	}
	if (!p || c->end - p < 5 || p[1] != ' ' || p[2] != '5' || !is_digit(p[3]) ||
	    !is_digit(p[4]) || (c->end - p > 5 && p[5] != ' ')) {
		r->client_ip[0] = '\0';
		return SG_MEV_NONE;
	}
	q = find(p, c->end, " (set_id=");
	if (q) {
		q += strlen(" (set_id=");
		p = rfind_ch(q, c->end, ')');
		COPY(r->login, q, p ? p : c->end);
	}
	r->service = SG_SVC_SMTP;
	return SG_MEV_AUTH_FAIL;
}

/* Exim logging to syslog: "HOST exim[PID]: " before its own timestamp. */
static void exim_syslog(struct cur *c, time_t ref, struct sg_mta_rec *r)
{
	struct cur s = *c, w;
	time_t t;

	next_word(&s);
	w = next_word(&s);
	if (left(&w) < 5 || w.end[-1] != ':' || !at(&w, "exim"))
		return;
	skip_blanks(&s);
	s.p += sg_mta_parse_time(s.p, left(&s), ref, &t);
	if (t)
		r->when = t;
	*c = s;
}

enum sg_mta_event sg_mta_parse_exim(const char *line, size_t len, time_t ref,
				    struct sg_mta_rec *out)
{
	struct cur c = sg_line_begin(line, len, ref, out), w, pid;

	exim_syslog(&c, ref, out);
	/* log_selector +pid: "[PID] " after the time. */
	pid = c;
	w = word(&pid);
	if (left(&w) >= 3 && *w.p == '[' && w.end[-1] == ']')
		c = pid;
	w = next_word(&c);
	if (exim_id(w)) {
		COPY(out->qid, w.p, w.end);
		eat(&c, " ");
		return sg_line_finish(out, exim_msg(&c, out));
	}
	if (eat(&c, " authenticator failed for "))
		return sg_line_finish(out, exim_auth(&c, out));
	return sg_line_finish(out, SG_MEV_NONE);
}

int sg_mta_exim_wrote(const char *line, size_t len)
{
	static const char form[] = "dddd-dd-dd dd:dd:dd";
	size_t i, n = len < SG_MTA_TAG_SPAN ? len : SG_MTA_TAG_SPAN;

	for (i = 0; i < sizeof(form) - 1 && i < len; i++)
		if (form[i] == 'd' ? line[i] < '0' || line[i] > '9' : line[i] != form[i])
			break;
	if (i == sizeof(form) - 1 && len > i && (line[i] == ' ' || line[i] == '.'))
		return 2;
	return memmem(line, n, " exim[", 6) || memmem(line, n, " exim4[", 7);
}
