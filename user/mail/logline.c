// SPDX-License-Identifier: GPL-2.0
/* The parsers' cursor helpers and the timestamps of log lines; see logline.h and mtalog.h. */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/logline.h"

const char *sg_line_rfind(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit), i;

	if (p >= end || (size_t)(end - p) < n)
		return NULL;
	for (i = (size_t)(end - p) - n + 1; i-- > 0;)
		if (p[i] == lit[0] && !memcmp(p + i, lit, n))
			return p + i;
	return NULL;
}

void sg_line_copy(char *dst, size_t size, const char *p, const char *q)
{
	size_t n = q > p ? (size_t)(q - p) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, p, n);
	dst[n] = '\0';
}

void sg_line_set_ip(char *dst, const char *p, const char *q)
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

void sg_line_bracket_ip(char *dst, struct cur w)
{
	const char *o = rfind_ch(w.p, w.end, '['), *cl;

	if (!o)
		return;
	cl = find_ch(o, w.end, ']');
	if (cl)
		sg_line_set_ip(dst, o + 1, cl);
}

const char *sg_line_path_end(const char *p, const char *end)
{
	int quoted = 0;

	for (; p < end; p++) {
		if (quoted && *p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (!quoted && *p == ' ') {
			break;
		}
	}
	return quoted ? NULL : p;
}

int sg_line_angle(struct cur *c, char *dst, size_t size, int *null)
{
	const char *q = c->p;
	int quoted = 0;

	for (; q < c->end; q++) {
		if (quoted && *q == '\\')
			q++;
		else if (*q == '"')
			quoted = !quoted;
		else if (!quoted && *q == '>' && (q + 1 == c->end || q[1] == ' ' || q[1] == ','))
			break;
	}
	if (q >= c->end)
		return 0;
	sg_line_copy(dst, size, c->p, q);
	if (null)
		*null = q == c->p;
	c->p = q + 1;
	return 1;
}

int sg_line_number(struct cur *c, unsigned long long max, unsigned long long *v)
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

int sg_line_holds_any(const char *s, const char *const *words)
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

/*
 * multilog's "@" and 24 hex digits (TAI64N): the label is 2^62 + TAI
 * seconds, then nanoseconds. TAI is taken as UTC + 10 s, as daemontools'
 * tai64nlocal does.
 */
static size_t time_tai64n(const char *p, const char *end, time_t *when)
{
	unsigned long long label = 0;
	int i, d;

	if (end - p < 25 || *p != '@')
		return 0;
	for (i = 1; i <= 24; i++) {
		d = is_digit(p[i]) ? p[i] - '0' : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 : -1;
		if (d < 0)
			return 0;
		if (i <= 16)
			label = label << 4 | (unsigned long long)d;
	}
	if (label < (1ULL << 62) + 10 ||
	    label - (1ULL << 62) - 10 > (unsigned long long)INT32_MAX * 2)
		return 0;
	*when = (time_t)(label - (1ULL << 62) - 10);
	return ended(p, p + 25, end);
}

size_t sg_mta_parse_time(const char *line, size_t len, time_t ref, time_t *when)
{
	const char *end;
	size_t n;

	*when = 0;
	if (!line || !len)
		return 0;
	end = line + len;
	if (*line == '@')
		n = time_tai64n(line, end, when);
	else
		n = is_digit(*line) ? time_iso(line, end, when) : time_3164(line, end, ref, when);
	if (!n)
		*when = 0;
	return n;
}

/* ---- The line ---- */

struct cur sg_line_begin(const char *line, size_t len, time_t ref, struct sg_mta_rec *r)
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

enum sg_mta_event sg_line_finish(struct sg_mta_rec *r, enum sg_mta_event ev)
{
	if (ev == SG_MEV_NONE) {
		time_t when = r->when;

		memset(r, 0, sizeof(*r));
		r->uid = -1;
		r->when = when;
	}
	/* One line, at most one failure: see mtalog.h. */
	if (ev == SG_MEV_AUTH_FAIL)
		r->attempts = 1;
	r->ev = ev;
	return ev;
}
