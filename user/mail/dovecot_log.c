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

/* The auth process under the name PAM's syslog gives it. */
static int dovecot_auth_name(struct cur w, struct cur *svc)
{
	return dovecot_name(w, svc) && ((left(svc) == 4 && !memcmp(svc->p, "auth", 4)) ||
					(left(svc) == 12 && !memcmp(svc->p, "dovecot-auth", 12)));
}

/*
 * Its own log file: "TIME SERVICE: LEVEL: TEXT"; syslog: "TIME HOST
 * dovecot[PID]: SERVICE: TEXT" (1.x: "dovecot: dovecot: auth(default):
 * ...") or "TIME HOST auth: TEXT" (PAM logging from the auth process).
 * *whole is the service's word: 2.4 puts the request in it,
 * "auth(LOGIN,IP,sasl:MECH)<SESSION>:".
 */
static int dovecot_head(struct cur *c, struct cur *svc, struct cur *whole)
{
	struct cur w = next_word(c);

	if (dovecot_tag(w) || !dovecot_name(w, svc)) {
		/* Syslog's: the host (unless the writer left it out), then the tag. */
		if (!dovecot_tag(w))
			w = next_word(c);
		if (!dovecot_auth_name(w, svc)) {
			if (!dovecot_tag(w))
				return 0;
			w = next_word(c);
			if (dovecot_tag(w))
				w = next_word(c);
			if (!dovecot_name(w, svc))
				return 0;
		}
	}
	*whole = w;
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

/*
 * A passdb's request, "LOGIN,IP[,<SESSION>]", "LOGIN,IP," (LDAP with no
 * session) or 2.4's "LOGIN,IP,sasl:MECH" ("?" before the login is known).
 * The login may hold commas; what follows it cannot.
 */
static void dovecot_request(const char *p, const char *q, struct sg_mta_rec *r)
{
	const char *comma = rfind_ch(p, q, ',');

	if (comma && (q - comma == 1 || lit_at(comma + 1, q, "sasl:") ||
		      (q - comma >= 3 && comma[1] == '<' && q[-1] == '>'))) {
		q = comma;
		comma = rfind_ch(p, q, ',');
	}
	if (comma) {
		sg_line_set_ip(r->client_ip, comma + 1, q);
		q = comma;
	}
	if (q - p != 1 || *p != '?')
		COPY(r->login, p, q);
}

/*
 * "pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0
 * tty=dovecot ruser=LOGIN rhost=IP[  user=LOGIN]": Dovecot gives PAM the
 * login as ruser and user, the address as rhost. Both logins are the
 * client's text, so the address is taken only where the line reads the
 * same login on both sides of it.
 */
static enum sg_mta_event dovecot_pam(struct cur *c, struct sg_mta_rec *r)
{
	const char *ruser = find(c->p, c->end, " ruser="), *login, *h;
	size_t all, n, iplen;

	if (!ruser)
		return SG_MEV_NONE;
	login = ruser + strlen(" ruser=");
	/* LOGIN " rhost=" IP "  user=" LOGIN: one split per length of IP. */
	all = (size_t)(c->end - login);
	for (iplen = 1; iplen < SG_MTA_IP_MAX && all >= 14 + iplen; iplen++) {
		if ((all - 14 - iplen) % 2)
			continue;
		n = (all - 14 - iplen) / 2;
		h = login + n;
		if (lit_at(h, c->end, " rhost=") && lit_at(h + 7 + iplen, c->end, "  user=") &&
		    !memcmp(login, c->end - n, n)) {
			sg_line_set_ip(r->client_ip, h + 7, h + 7 + iplen);
			COPY(r->login, login, h);
			break;
		}
	}
	/* No user= (PAM did not know it yet): the address is the last word, the rest the login. */
	h = sg_line_rfind(login, c->end, " rhost=");
	if (!r->client_ip[0] && !find(login, c->end, "  user=") && h) {
		sg_line_set_ip(r->client_ip, h + strlen(" rhost="), c->end);
		COPY(r->login, login, h);
	}
	r->service = SG_SVC_OTHER;
	return SG_MEV_AUTH_FAIL;
}

/* A passdb's answer that refuses the password or the user. */
static int dovecot_failed(struct cur msg)
{
	static const char *const fails[] = { "Password mismatch", "unknown user",
					     "pam_authenticate() failed", "invalid credentials" };
	size_t i;

	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
		if (at(&msg, fails[i]))
			return 1;
	return 0;
}

/*
 * The auth process (auth_verbose): "passwd-file(LOGIN,IP[,<SESSION>]):
 * Password mismatch" and the like, or 2.4's "auth(LOGIN,IP,sasl:MECH)
 * <SESSION>: passwd-file: Password mismatch" with the request in the
 * service's word; PAM's own line.
 */
static enum sg_mta_event dovecot_auth(struct cur *c, struct cur whole, struct sg_mta_rec *r)
{
	const char *o = dovecot_mech(c->p, c->end), *cl = o ? find(o, c->end, "): ") : NULL, *q;
	struct cur msg = *c;
	int hops;

	if (eat(&msg, "pam_unix(dovecot:auth): authentication failure;"))
		return dovecot_pam(&msg, r);
	if (cl) {
		msg.p = cl + 3;
	} else {
		/*
		 * 2.4: the request in the service's word, "auth(LOGIN,IP,sasl:MECH)<S>:"
		 * or "auth-worker(LOGIN)<PID>:", then up to "request [N]: PASSDB: ".
		 */
		o = find_ch(whole.p, whole.end, '(');
		cl = o ? rfind_ch(o, whole.end, ')') : NULL;
		if (!cl)
			return SG_MEV_NONE;
		for (hops = 0; hops < 2 && !dovecot_failed(msg) && (q = find(msg.p, msg.end, ": "));
		     hops++)
			msg.p = q + 2;
	}
	if (!dovecot_failed(msg))
		return SG_MEV_NONE;
	dovecot_request(o + 1, cl, r);
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

	/*
	 * "(auth failed, 3 attempts in 12 secs)" ends a session: one failure,
	 * whatever number it claims (see mtalog.h). A proxy's "(proxy dest
	 * auth failed)": the backend refused the password.
	 */
	if (!find(c->p, head, "(auth failed") && !find(c->p, head, "(proxy dest auth failed)"))
		return SG_MEV_NONE;
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
	struct cur c = sg_line_begin(line, len, ref, out), svc, whole;
	size_t n;

	if (!dovecot_head(&c, &svc, &whole))
		return sg_line_finish(out, SG_MEV_NONE);
	n = left(&svc);
	if ((n == 4 && !memcmp(svc.p, "auth", 4)) ||
	    (n == 11 && !memcmp(svc.p, "auth-worker", 11)) ||
	    (n == 12 && !memcmp(svc.p, "dovecot-auth", 12)))
		return sg_line_finish(out, dovecot_auth(&c, whole, out));
	if (n > 6 && !memcmp(svc.end - 6, "-login", 6))
		return sg_line_finish(out, dovecot_login(&c, svc, out));
	return sg_line_finish(out, SG_MEV_NONE);
}
