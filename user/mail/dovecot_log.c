// SPDX-License-Identifier: GPL-2.0
/* Dovecot log lines to records; see mtalog.h, and logline.h for how a line is read. */
#include <string.h>
#include <strings.h>

#include "mail/logline.h"

/* "dovecot:" or "dovecot[PID]:", syslog's tag. */
static int dovecot_tag(struct cur w)
{
	return left(&w) >= 8 && at(&w, "dovecot") && w.end[-1] == ':' &&
	       (left(&w) == 8 || (w.p[7] == '[' && w.end[-2] == ']'));
}

/* "auth:", "auth-worker(123):", "imap-login:": svc is the name without the parenthesis. */
static int dovecot_name(struct cur w, struct cur *svc)
{
	const char *q = w.p;

	if (left(&w) < 2 || w.end[-1] != ':')
		return 0;
	while (q < w.end - 1 && ((*q >= 'a' && *q <= 'z') || is_digit(*q) || *q == '-'))
		q++;
	if (q == w.p || (q != w.end - 1 && *q != '('))
		return 0;
	svc->p = w.p;
	svc->end = q;
	return 1;
}

/*
 * Its own log file: "TIME SERVICE: LEVEL: TEXT"; syslog: "TIME HOST
 * dovecot[PID]: SERVICE: TEXT" (1.x: "dovecot: dovecot: auth(default): ...").
 */
static int dovecot_head(struct cur *c, struct cur *svc)
{
	struct cur w = next_word(c);

	if (dovecot_tag(w) || !dovecot_name(w, svc)) {
		/* Syslog's: the host (unless the writer left it out), then the tag. */
		if (!dovecot_tag(w))
			w = next_word(c);
		if (!dovecot_tag(w))
			return 0;
		w = next_word(c);
		if (dovecot_tag(w))
			w = next_word(c);
		if (!dovecot_name(w, svc))
			return 0;
	}
	eat(c, " ");
	if (!eat(c, "Info: "))
		eat(c, "Warning: ");
	return 1;
}

/*
 * The passdb's "MECH(" in "[conn ... (pid=..): auth-worker<1>: ]MECH(LOGIN,IP[,<SESSION>]):
 * MESSAGE": the first '(' right after a lower-case word that follows a
 * blank or starts the text, which puts it before the client's login.
 */
static const char *dovecot_mech(const char *p, const char *end)
{
	const char *o = p, *w;

	while ((o = find_ch(o, end, '('))) {
		for (w = o; w > p && ((w[-1] >= 'a' && w[-1] <= 'z') || is_digit(w[-1]) ||
				      w[-1] == '-' || w[-1] == '_');
		     w--)
			;
		if (w < o && (w == p || w[-1] == ' '))
			return o;
		o++;
	}
	return NULL;
}

/* "passwd-file(LOGIN,IP[,<SESSION>]): Password mismatch" and the like (auth_verbose). */
static enum sg_mta_event dovecot_auth(struct cur *c, struct sg_mta_rec *r)
{
	static const char *const fails[] = { "Password mismatch", "unknown user",
					     "pam_authenticate() failed" };
	const char *o = dovecot_mech(c->p, c->end), *cl, *comma;
	struct cur msg;
	size_t i;

	if (!o || !(cl = find(o, c->end, "): ")))
		return SG_MEV_NONE;
	msg.p = cl + 3;
	msg.end = c->end;
	for (i = 0; i < sizeof(fails) / sizeof(fails[0]) && !at(&msg, fails[i]); i++)
		;
	if (i == sizeof(fails) / sizeof(fails[0]))
		return SG_MEV_NONE;
	/* The login may hold commas; the address and the session id cannot. */
	comma = rfind_ch(o + 1, cl, ',');
	if (comma && cl - comma >= 3 && comma[1] == '<' && cl[-1] == '>') {
		cl = comma;
		comma = rfind_ch(o + 1, cl, ',');
	}
	if (comma) {
		sg_line_set_ip(r->client_ip, comma + 1, cl);
		COPY(r->login, o + 1, comma);
	} else {
		COPY(r->login, o + 1, cl);
	}
	r->service = SG_SVC_OTHER;
	return SG_MEV_AUTH_FAIL;
}

/*
 * "Disconnected (auth failed, 1 attempts in 2 secs): user=<LOGIN>,
 * method=PLAIN, rip=IP, lip=IP, ..." and its variants ("Aborted login
 * (auth failed...", "Login aborted: ... (auth failed..."). The login comes
 * before rip=, so the last ", rip=" is Dovecot's.
 */
static enum sg_mta_event dovecot_login(struct cur *c, struct cur svc, struct sg_mta_rec *r)
{
	static const struct {
		const char *name;
		enum sg_mta_service svc;
	} svcs[] = {
		{ "imap-login", SG_SVC_IMAP },
		{ "pop3-login", SG_SVC_POP3 },
		{ "submission-login", SG_SVC_SUBMISSION },
	};
	const char *user = find(c->p, c->end, "user=<"),
		   *rip = sg_line_rfind(c->p, c->end, ", rip=");
	const char *head = user ? user : rip ? rip : c->end, *p, *q;
	size_t i, n = left(&svc);

	p = find(c->p, head, "(auth failed");
	if (!p)
		return SG_MEV_NONE;
	/* "(auth failed, 3 attempts in 12 secs)": one line at the end of a session. */
	p += strlen("(auth failed");
	if (p + 2 < head && p[0] == ',' && p[1] == ' ' && is_digit(p[2])) {
		for (p += 2; p < head && is_digit(*p) && r->attempts < 100000; p++)
			r->attempts = r->attempts * 10 + (__u32)(*p - '0');
		if ((p < head && is_digit(*p)) || !lit_at(p, head, " attempt"))
			r->attempts = 0;
	}
	if (rip) {
		p = rip + strlen(", rip=");
		q = find_ch(p, c->end, ',');
		sg_line_set_ip(r->client_ip, p, q ? q : c->end);
	}
	if (user) {
		p = user + strlen("user=<");
		/* Without rip= to bound it, the login ends at the first ">,". */
		q = rip && rip > p ? rip : find(p, c->end, ">,");
		q = rfind_ch(p, q ? q + 1 : c->end, '>');
		if (q)
			COPY(r->login, p, q);
	}
	r->service = SG_SVC_OTHER;
	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++)
		if (n == strlen(svcs[i].name) && !memcmp(svc.p, svcs[i].name, n))
			r->service = svcs[i].svc;
	return SG_MEV_AUTH_FAIL;
}

enum sg_mta_event sg_mta_parse_dovecot(const char *line, size_t len, time_t ref,
				       struct sg_mta_rec *out)
{
	struct cur c = sg_line_begin(line, len, ref, out), svc;
	size_t n;

	if (!dovecot_head(&c, &svc))
		return sg_line_finish(out, SG_MEV_NONE);
	n = left(&svc);
	if ((n == 4 && !memcmp(svc.p, "auth", 4)) || (n == 11 && !memcmp(svc.p, "auth-worker", 11)))
		return sg_line_finish(out, dovecot_auth(&c, out));
	if (n > 6 && !memcmp(svc.end - 6, "-login", 6))
		return sg_line_finish(out, dovecot_login(&c, svc, out));
	return sg_line_finish(out, SG_MEV_NONE);
}
