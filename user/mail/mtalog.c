// SPDX-License-Identifier: GPL-2.0
/*
 * Mail-server log lines to records (mtalog.h). Each parser walks a cursor
 * over [p, end) and never reads past end: the line is not NUL-terminated,
 * and parts of it were written by strangers (addresses, HELO names,
 * logins, the replies of remote servers). A field is found by the text
 * the daemon writes around it, searching from the side the daemon
 * controls, so that a stranger's text imitating that text does as little
 * as possible. Every search is linear in the line: lines may be 1 MB.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/mtalog.h"

struct cur {
	const char *p, *end;
};

static size_t left(const struct cur *c)
{
	return (size_t)(c->end - c->p);
}

static int at(const struct cur *c, const char *lit)
{
	size_t n = strlen(lit);

	return left(c) >= n && !memcmp(c->p, lit, n);
}

static int eat(struct cur *c, const char *lit)
{
	if (!at(c, lit))
		return 0;
	c->p += strlen(lit);
	return 1;
}

static void skip_blanks(struct cur *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* The run of non-blanks at the cursor; the cursor moves to the blank after it. */
static struct cur word(struct cur *c)
{
	struct cur w = { c->p, c->p };

	while (w.end < c->end && *w.end != ' ')
		w.end++;
	c->p = w.end;
	return w;
}

/* The next word, the blanks before it skipped. */
static struct cur next_word(struct cur *c)
{
	skip_blanks(c);
	return word(c);
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alnum(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* lit starts at p. */
static int lit_at(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(end - p) >= n && !memcmp(p, lit, n);
}

static const char *find(const char *p, const char *end, const char *lit)
{
	if (p >= end)
		return NULL;
	return memmem(p, (size_t)(end - p), lit, strlen(lit));
}

static const char *rfind(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit), i;

	if (p >= end || (size_t)(end - p) < n)
		return NULL;
	for (i = (size_t)(end - p) - n + 1; i-- > 0;)
		if (p[i] == lit[0] && !memcmp(p + i, lit, n))
			return p + i;
	return NULL;
}

static const char *find_ch(const char *p, const char *end, char ch)
{
	return p < end ? memchr(p, ch, (size_t)(end - p)) : NULL;
}

static const char *rfind_ch(const char *p, const char *end, char ch)
{
	return p < end ? memrchr(p, ch, (size_t)(end - p)) : NULL;
}

/* [p, q) into dst, cut to fit: a record holds its own copy. */
static void copy(char *dst, size_t size, const char *p, const char *q)
{
	size_t n = q > p ? (size_t)(q - p) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, p, n);
	dst[n] = '\0';
}

#define COPY(field, p, q) copy(field, sizeof(field), p, q)

/*
 * [p, q) as the client address if it is one ("IPv6:" prefix dropped, as
 * Postfix and Exim may write it); anything else leaves dst empty, so a
 * HELO name dressed as an address never reaches a ban list.
 */
static void set_ip(char *dst, const char *p, const char *q)
{
	char buf[SG_MTA_IP_MAX];
	unsigned char bin[16];
	size_t n;

	if (q - p > 5 && !strncasecmp(p, "IPv6:", 5))
		p += 5;
	if (q <= p || (size_t)(q - p) >= sizeof(buf))
		return;
	n = (size_t)(q - p);
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1)
		memcpy(dst, buf, n + 1);
}

/* "NAME[IP]", "[IP]:PORT", "[IP]:": the address in the last brackets of w. */
static void bracket_ip(char *dst, struct cur w)
{
	const char *o = rfind_ch(w.p, w.end, '['), *cl;

	if (!o)
		return;
	cl = find_ch(o, w.end, ']');
	if (cl)
		set_ip(dst, o + 1, cl);
}

/*
 * An address after its '<': it ends at the first '>' followed by the end,
 * a blank or a comma (a quoted local part may hold a '>'). The null
 * address "<>" sets *null.
 */
static int angle(struct cur *c, char *dst, size_t size, int *null)
{
	const char *q = c->p;

	for (;;) {
		q = find_ch(q, c->end, '>');
		if (!q)
			return 0;
		if (q + 1 == c->end || q[1] == ' ' || q[1] == ',')
			break;
		q++;
	}
	copy(dst, size, c->p, q);
	if (null)
		*null = q == c->p;
	c->p = q + 1;
	return 1;
}

/* Decimal digits at the cursor as an unsigned value up to max; 0 when none or too large. */
static int number(struct cur *c, unsigned long long max, unsigned long long *v)
{
	const char *p = c->p;

	*v = 0;
	while (p < c->end && is_digit(*p)) {
		*v = *v * 10 + (unsigned long long)(*p - '0');
		if (*v > max)
			return 0;
		p++;
	}
	if (p == c->p)
		return 0;
	c->p = p;
	return 1;
}

/* Case-insensitive: does s hold any of the words? (s is a field already copied, so bounded.) */
static int holds_any(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcasestr(s, *words))
			return 1;
	return 0;
}

/* ---- Time ---- */

static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in(int mon, int year)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return days[mon] + (mon == 1 && leap(year));
}

/* Exactly n digits at p into *v. */
static int fixed(const char *p, const char *end, int n, int *v)
{
	int i;

	if (end - p < n)
		return 0;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return 0;
		*v = *v * 10 + (p[i] - '0');
	}
	return 1;
}

/* "hh:mm:ss" into tm. */
static int clock_at(const char *p, const char *end, struct tm *tm)
{
	if (!fixed(p, end, 2, &tm->tm_hour) || end - p < 8 || p[2] != ':' ||
	    !fixed(p + 3, end, 2, &tm->tm_min) || p[5] != ':' || !fixed(p + 6, end, 2, &tm->tm_sec))
		return 0;
	/* 60: a leap second, which mktime and timegm carry into the next minute. */
	return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

/* The timestamp ends at a blank or at the end of the line; the blank is consumed with it. */
static size_t ended(const char *p, const char *q, const char *end)
{
	if (q == end)
		return (size_t)(q - p);
	if (*q == ' ')
		return (size_t)(q - p) + 1;
	return 0;
}

/*
 * RFC 3164 "Mmm dd hh:mm:ss" (the day may be " d" or "d"): the year is the
 * one that puts it nearest to ref, so a December line read in January
 * stays in December's year; a 29 February more than a year from ref (no
 * leap year near) is refused.
 */
static size_t time_3164(const char *p, const char *end, time_t ref, time_t *when)
{
	const char *q = p + 4;
	struct tm now, tm = { 0 };
	time_t t, got = 0;
	int mon, year, found = 0;
	long long dist = 0;

	if (end - p < 14 || p[3] != ' ')
		return 0;
	for (mon = 0; mon < 12 && memcmp(p, months[mon], 3); mon++)
		;
	if (mon == 12)
		return 0;
	if (*q == ' ')
		q++;
	if (end - q >= 2 && is_digit(q[0]) && is_digit(q[1])) {
		tm.tm_mday = (q[0] - '0') * 10 + (q[1] - '0');
		q += 2;
	} else if (end - q >= 1 && is_digit(q[0])) {
		tm.tm_mday = q[0] - '0';
		q++;
	} else {
		return 0;
	}
	if (q == end || *q != ' ' || !clock_at(q + 1, end, &tm) || tm.tm_mday < 1)
		return 0;
	q += 9;
	/* A ref beyond year 9999 would overflow tm_year below. */
	if (!localtime_r(&ref, &now) || now.tm_year < 0 || now.tm_year > 9999 - 1900)
		return 0;
	for (year = now.tm_year - 1; year <= now.tm_year + 1; year++) {
		struct tm try = tm;

		if (tm.tm_mday > days_in(mon, year + 1900))
			continue;
		try.tm_mon = mon;
		try.tm_year = year;
		try.tm_isdst = -1;
		t = mktime(&try);
		if (t == (time_t)-1)
			continue;
		if (!found || (t > ref ? t - ref : ref - t) < dist) {
			dist = t > ref ? t - ref : ref - t;
			got = t;
			found = 1;
		}
	}
	/* Only a 29 February can be further: a stamp a year off is not this log's. */
	if (!found || dist > 366LL * 24 * 3600)
		return 0;
	*when = got;
	return ended(p, q, end);
}

/* "+hh:mm", "+hhmm" (or '-') into seconds east of UTC. */
static int offset_at(const char *p, const char *end, int colon, const char **q, long *off)
{
	int h, m;

	if (end - p < 5 || (*p != '+' && *p != '-') || !fixed(p + 1, end, 2, &h))
		return 0;
	if (colon) {
		if (end - p < 6 || p[3] != ':' || !fixed(p + 4, end, 2, &m))
			return 0;
		*q = p + 6;
	} else {
		if (!fixed(p + 3, end, 2, &m))
			return 0;
		*q = p + 5;
	}
	if (h > 23 || m > 59)
		return 0;
	*off = (h * 3600L + m * 60L) * (*p == '-' ? -1 : 1);
	return 1;
}

/*
 * "YYYY-MM-DD" then 'T' (RFC 3339: "hh:mm:ss[.frac](Z|+hh:mm|+hhmm)", or
 * no zone: local) or ' ' (Exim, Dovecot: "hh:mm:ss[.frac][ +hhmm]").
 */
static size_t time_iso(const char *p, const char *end, time_t *when)
{
	const char *q = p + 19;
	struct tm tm = { 0 };
	int year, mon, iso, zoned = 0;
	long off = 0;
	time_t t;

	if (!fixed(p, end, 4, &year) || end - p < 19 || p[4] != '-' ||
	    !fixed(p + 5, end, 2, &mon) || p[7] != '-' || !fixed(p + 8, end, 2, &tm.tm_mday))
		return 0;
	iso = p[10] == 'T' || p[10] == 't';
	if ((!iso && p[10] != ' ') || !clock_at(p + 11, end, &tm))
		return 0;
	if (year < 1970 || mon < 1 || mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > days_in(mon - 1, year))
		return 0;
	if (q < end && *q == '.') {
		if (++q == end || !is_digit(*q))
			return 0;
		while (q < end && is_digit(*q))
			q++;
	}
	if (iso && q < end && (*q == 'Z' || *q == 'z')) {
		q++;
		zoned = 1;
	} else if (iso && q < end && (*q == '+' || *q == '-')) {
		zoned = offset_at(q, end, end - q >= 6 && q[3] == ':', &q, &off);
		if (!zoned)
			return 0;
	} else if (!iso && end - q >= 6 && q[0] == ' ') {
		const char *z;

		/* Exim's log_timezone: only when the offset is a word of its own. */
		if (offset_at(q + 1, end, 0, &z, &off) && (z == end || *z == ' ')) {
			q = z;
			zoned = 1;
		}
	}
	tm.tm_mon = mon - 1;
	tm.tm_year = year - 1900;
	tm.tm_isdst = -1;
	if (!ended(p, q, end))
		return 0;
	t = zoned ? timegm(&tm) - off : mktime(&tm);
	if (t == (time_t)-1)
		return 0;
	*when = t;
	return ended(p, q, end);
}

size_t sg_mta_parse_time(const char *line, size_t len, time_t ref, time_t *when)
{
	const char *end;
	size_t n;

	*when = 0;
	if (!line || !len)
		return 0;
	end = line + len;
	n = is_digit(*line) ? time_iso(line, end, when) : time_3164(line, end, ref, when);
	if (!n)
		*when = 0;
	return n;
}

/* ---- Common ---- */

/*
 * The line as the parsers read it. NUL bytes at its start are skipped (a
 * log file cut short by a crash has a run of them before the next line);
 * one inside ends it, as it would end the C string the daemon wrote.
 */
static struct cur begin(const char *line, size_t len, time_t ref, struct sg_mta_rec *r)
{
	struct cur c;
	const char *nul;

	memset(r, 0, sizeof(*r));
	r->uid = -1;
	if (!line) {
		line = "";
		len = 0;
	}
	while (len && !*line) {
		line++;
		len--;
	}
	nul = len ? memchr(line, '\0', len) : NULL;
	if (nul)
		len = (size_t)(nul - line);
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	c.p = line;
	c.end = line + len;
	c.p += sg_mta_parse_time(c.p, len, ref, &r->when);
	return c;
}

/* A line of no interest keeps only its time, so no half-filled record reaches the caller. */
static enum sg_mta_event finish(struct sg_mta_rec *r, enum sg_mta_event ev)
{
	if (ev == SG_MEV_NONE) {
		time_t when = r->when;

		memset(r, 0, sizeof(*r));
		r->uid = -1;
		r->when = when;
	}
	if (ev == SG_MEV_AUTH_FAIL && !r->attempts)
		r->attempts = 1;
	r->ev = ev;
	return ev;
}

/* ---- Postfix ---- */

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

/* "NAME[IP][:PORT][, sasl_method=M, sasl_username=LOGIN][, ...]" (smtpd). */
static enum sg_mta_event pf_client(struct cur *c, struct sg_mta_rec *r)
{
	const char *comma = find_ch(c->p, c->end, ','), *p, *q;
	struct cur w = { c->p, comma ? comma : c->end };

	bracket_ip(r->client_ip, w);
	p = find(w.end, c->end, ", sasl_username=");
	if (p) {
		p += strlen(", sasl_username=");
		q = find(p, c->end, ", ");
		COPY(r->login, p, q ? q : c->end);
	}
	return SG_MEV_SUBMIT;
}

/* "uid=N from=<SENDER>" (pickup: sendmail, PHP mail()); the sender may be a bare user name. */
static enum sg_mta_event pf_pickup(struct cur *c, struct sg_mta_rec *r)
{
	unsigned long long uid;

	if (!number(c, 0xffffffffULL, &uid) || !eat(c, " from=<") ||
	    !angle(c, r->sender, sizeof(r->sender), &r->null_sender))
		return SG_MEV_NONE;
	r->uid = (__s64)uid;
	return SG_MEV_LOCAL;
}

/* "from=<SENDER>, size=N, nrcpt=N (queue active)" (qmgr); "from=<>, status=expired" is not. */
static enum sg_mta_event pf_queued(struct cur *c, struct sg_mta_rec *r)
{
	unsigned long long n;
	const char *p;

	if (!angle(c, r->sender, sizeof(r->sender), &r->null_sender))
		return SG_MEV_NONE;
	p = find(c->p, c->end, ", nrcpt=");
	if (!p)
		return SG_MEV_NONE;
	c->p = p + strlen(", nrcpt=");
	if (!number(c, 0xffffffffULL, &n))
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
	copy(dst, size, p, q);
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
	return !strcmp(relay, "local") || !strcmp(relay, "virtual") || holds_any(relay, words);
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

	if (!angle(c, r->rcpt, sizeof(r->rcpt), NULL) || !r->rcpt[0])
		return SG_MEV_NONE;
	/* Right after the recipient, where the client's own text ends. */
	if (eat(c, ", orig_to=<") && angle(c, orig, sizeof(orig), NULL))
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
	const char *semi = rfind(c->p, c->end, "; from=<"), *f;
	struct cur s;

	if (!semi)
		return SG_MEV_HOLD;
	f = rfind(c->p, semi, " from ");
	if (f) {
		s.p = f + strlen(" from ");
		s.end = semi;
		bracket_ip(r->client_ip, word(&s));
	}
	s.p = semi + strlen("; from=<");
	s.end = c->end;
	if (angle(&s, r->sender, sizeof(r->sender), &r->null_sender) && eat(&s, " to=<"))
		angle(&s, r->rcpt, sizeof(r->rcpt), NULL);
	return SG_MEV_HOLD;
}

/*
 * "warning: NAME[IP]: SASL MECH authentication failed: REASON[,
 * sasl_username=LOGIN]". A lost connection to the auth server is the
 * server's failure, not the client's.
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
	if (at(c, "Connection lost to authentication server"))
		return SG_MEV_NONE;
	bracket_ip(r->client_ip, client);
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
	struct cur c = begin(line, len, ref, out), svc;

	if (!postfix_head(&c, &svc))
		return finish(out, SG_MEV_NONE);
	return finish(out, postfix_text(&c, svc, out));
}

/* ---- Exim ---- */

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
 * "H=[NAME ][(HELO) ][IP][:PORT]": the IP is the first bracketed word
 * outside parentheses (a HELO may be "[IP]" too). The words are consumed
 * up to the IP, and never the next KEY=.
 */
static void exim_host(struct cur *c, struct cur w, struct sg_mta_rec *r)
{
	int in_paren = 0, words = 0;
	struct cur peek;

	w.p += 2;
	for (;;) {
		if (!in_paren && left(&w) && *w.p == '[') {
			bracket_ip(r->client_ip, w);
			return;
		}
		if (!in_paren && left(&w) && *w.p == '(')
			in_paren = 1;
		if (in_paren && left(&w) && w.end[-1] == ')')
			in_paren = 0;
		if (++words == 8)
			return;
		peek = *c;
		w = next_word(&peek);
		if (!left(&w) || (!in_paren && find_ch(w.p, w.end, '=')))
			return;
		*c = peek;
	}
}

static int is(struct cur w, const char *lit)
{
	return left(&w) == strlen(lit) && !memcmp(w.p, lit, left(&w));
}

/*
 * "<= SENDER [R=ID] [H=HOST [(HELO)] [IP]:PORT] [U=USER] P=PROTO [A=AUTH:LOGIN]
 * S=N id=MSGID [T="SUBJECT"] [from <..>] [for R..]": a local submission
 * when the protocol is local*. The scan stops at the message id: from
 * there on the client wrote the words.
 */
static enum sg_mta_event exim_in(struct cur *c, struct sg_mta_rec *r)
{
	struct cur w = word(c);
	int host = 0, local = 0;
	const char *colon;

	if (is(w, "<>"))
		r->null_sender = 1;
	else
		COPY(r->sender, w.p, w.end);
	while (c->p < c->end) {
		w = next_word(c);
		if (at(&w, "id=") || at(&w, "T=\"") || is(w, "for") || is(w, "from"))
			break;
		if (at(&w, "H=")) {
			host = 1;
			exim_host(c, w, r);
		} else if (at(&w, "U=")) {
			COPY(r->user, w.p + 2, w.end);
		} else if (at(&w, "P=")) {
			local = left(&w) >= 7 && !memcmp(w.p + 2, "local", 5);
		} else if (at(&w, "A=")) {
			colon = find_ch(w.p, w.end, ':');
			if (colon)
				COPY(r->login, colon + 1, w.end);
		}
	}
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
	copy(dst, size, p + 4, q);
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

	return holds_any(transport, words) || !strcmp(router, "local_user");
}

/*
 * "=> RCPT [(PARENT)] [<ORIGINAL>] R=ROUTER T=TRANSPORT [H=HOST [IP]] ... [C="250 ..."]"
 * and the same after ->, >>, ** and == (with ": ERROR" at the end). The
 * recipient is the original address in angle brackets when Exim gives
 * one (a local delivery names the local part first, a pipe its command).
 */
static enum sg_mta_event exim_out(struct cur *c, struct sg_mta_rec *r, enum sg_mta_outcome out)
{
	const char *stop = exim_rcpt_end(c->p, c->end), *o;
	char router[64] = "";
	struct cur w, rc = { c->p, stop };

	if (stop > c->p && stop[-1] == '>' && (o = rfind_ch(c->p, stop - 1, '<')) &&
	    (o == c->p || o[-1] == ' ')) {
		COPY(r->rcpt, o + 1, stop - 1);
		/* A local delivery names the local part first; another address, a forward. */
		w = word(&rc);
		r->forwarded = find_ch(w.p, w.end, '@') &&
			       (left(&w) != strlen(r->rcpt) || strncasecmp(w.p, r->rcpt, left(&w)));
	} else {
		w = word(&rc);
		COPY(r->rcpt, w.p, w.end);
	}
	if (!r->rcpt[0])
		return SG_MEV_NONE;
	c->p = stop;
	/* The keys end where the error text begins, at the first word ending in ':'. */
	while (c->p < c->end) {
		w = next_word(c);
		if (left(&w) && w.end[-1] == ':') {
			w.end--;
			if (at(&w, "T="))
				COPY(r->relay, w.p + 2, w.end);
			break;
		}
		if (at(&w, "R="))
			COPY(router, w.p + 2, w.end);
		else if (at(&w, "T="))
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
	const char *p, *q, *from = c->p;
	int in_paren = 0, words;
	struct cur w;

	for (words = 0; words < 8 && c->p < c->end; words++) {
		w = next_word(c);
		if (!in_paren && left(&w) && *w.p == '[') {
			bracket_ip(r->client_ip, w);
			/* Without a port the reply follows the address: "[IP]: 535 ...". */
			from = w.p;
			break;
		}
		if (!in_paren && left(&w) && *w.p == '(')
			in_paren = 1;
		if (in_paren && left(&w) && w.end[-1] == ')')
			in_paren = 0;
	}
	for (p = from; (p = find(p, c->end, ": ")); p += 2)
		if (c->end - p >= 6 && is_digit(p[2]) && is_digit(p[3]) && is_digit(p[4]) &&
		    p[5] == ' ')
			break;
	if (!p || p[2] != '5')
		return SG_MEV_NONE;
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
	struct cur c = begin(line, len, ref, out), w, pid;

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
		return finish(out, exim_msg(&c, out));
	}
	if (eat(&c, " authenticator failed for "))
		return finish(out, exim_auth(&c, out));
	return finish(out, SG_MEV_NONE);
}

/* ---- Dovecot ---- */

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
		set_ip(r->client_ip, comma + 1, cl);
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
	const char *user = find(c->p, c->end, "user=<"), *rip = rfind(c->p, c->end, ", rip=");
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
		set_ip(r->client_ip, p, q ? q : c->end);
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
	struct cur c = begin(line, len, ref, out), svc;
	size_t n;

	if (!dovecot_head(&c, &svc))
		return finish(out, SG_MEV_NONE);
	n = left(&svc);
	if ((n == 4 && !memcmp(svc.p, "auth", 4)) || (n == 11 && !memcmp(svc.p, "auth-worker", 11)))
		return finish(out, dovecot_auth(&c, out));
	if (n > 6 && !memcmp(svc.end - 6, "-login", 6))
		return finish(out, dovecot_login(&c, svc, out));
	return finish(out, SG_MEV_NONE);
}

enum sg_mta_event sg_mta_parse(enum sg_mta_type t, const char *line, size_t len, time_t ref,
			       struct sg_mta_rec *out)
{
	enum sg_mta_event ev = sg_mta_parse_dovecot(line, len, ref, out);

	if (ev != SG_MEV_NONE)
		return ev;
	switch (t) {
	case SG_MTA_POSTFIX:
		return sg_mta_parse_postfix(line, len, ref, out);
	case SG_MTA_EXIM:
		return sg_mta_parse_exim(line, len, ref, out);
	default:
		return ev;
	}
}
