// SPDX-License-Identifier: GPL-2.0
/* The owner's notice: its template checked and filled in; see notice.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/notice.h"
#include "util/render.h"

enum field {
	F_ACCOUNT,
	F_RULE,
	F_HOST,
	F_OWNER,
	F_MESSAGES,
	F_RECIPIENTS,
	F_DELIVERED,
	F_BOUNCED,
	F_BOUNCE_SHARE,
	F_HELD,
	F_CLIENT_IPS,
	F_FIRST,
	F_LAST,
	F_COUNT,
};

const char *const sg_notice_fields[F_COUNT + 1] = {
	[F_ACCOUNT] = "account",
	[F_RULE] = "rule",
	[F_HOST] = "host",
	[F_OWNER] = "owner",
	[F_MESSAGES] = "messages",
	[F_RECIPIENTS] = "recipients",
	[F_DELIVERED] = "delivered",
	[F_BOUNCED] = "bounced",
	[F_BOUNCE_SHARE] = "bounce_share",
	[F_HELD] = "held",
	[F_CLIENT_IPS] = "client_ips",
	[F_FIRST] = "first",
	[F_LAST] = "last",
};

/* Header names a template may not set: the owner is the one recipient, and -t reads these. */
static const char *const recipient_headers[] = { "to", "cc", "bcc", "resent-" };

#define ATEXT_PUNCT	 "!#$%&'*+/=?^_`{|}~-"
#define LOCAL_MAX	 64
#define ADDRESS_MAX	 254
#define HEADER_VALUE_MAX 200 /* bytes of one value's escape in a header line */

static int dot_atoms(const char *s, size_t n, int domain)
{
	size_t i, label = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!label || (domain && s[i - 1] == '-'))
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) &&
		    !(domain ? s[i] == '-' && label : strchr(ATEXT_PUNCT, s[i]) != NULL))
			return 0;
		label++;
	}
	return label > 0 && (!domain || s[n - 1] != '-');
}

int sg_notice_address_ok(const char *a)
{
	const char *at = a ? strrchr(a, '@') : NULL;
	size_t n = a ? strlen(a) : 0;

	if (!at || n > ADDRESS_MAX || at == a || (size_t)(at - a) > LOCAL_MAX)
		return 0;
	return dot_atoms(a, (size_t)(at - a), 0) && dot_atoms(at + 1, strlen(at + 1), 1) &&
	       strchr(at + 1, '.') != NULL;
}

/* The placeholder at s ("{name}"): its field, its length in *len; -1: not one (text as it is). */
static int placeholder(const char *s, size_t *len, int *unknown)
{
	size_t n = strspn(s + 1, "abcdefghijklmnopqrstuvwxyz_");
	int f;

	*unknown = 0;
	if (*s != '{' || !n || s[1 + n] != '}')
		return -1;
	*len = n + 2;
	for (f = 0; f < F_COUNT; f++)
		if (strlen(sg_notice_fields[f]) == n && !strncmp(s + 1, sg_notice_fields[f], n))
			return f;
	*unknown = 1;
	return -1;
}

static int header_line(const char *line, size_t n, int *subject, char *err, size_t errlen,
		       int lineno)
{
	size_t name =
		strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
	size_t i;

	/* A folded line goes on the header above. */
	if (lineno > 1 && (*line == ' ' || *line == '\t'))
		return 0;
	if (!name || name >= n || line[name] != ':') {
		snprintf(err, errlen,
			 "line %d: not a header line (Name: value) before the blank line", lineno);
		return -EINVAL;
	}
	for (i = 0; i < sizeof(recipient_headers) / sizeof(recipient_headers[0]); i++) {
		if (!strncasecmp(line, recipient_headers[i], strlen(recipient_headers[i])) &&
		    (recipient_headers[i][strlen(recipient_headers[i]) - 1] == '-' ||
		     name == strlen(recipient_headers[i]))) {
			snprintf(err, errlen,
				 "line %d: %.*s: the owner's address is the notice's one recipient",
				 lineno, (int)name, line);
			return -EINVAL;
		}
	}
	if (name == 7 && !strncasecmp(line, "subject", 7))
		*subject = 1;
	return 0;
}

int sg_notice_check(const char *tmpl, char *err, size_t errlen)
{
	const char *line = tmpl, *end, *s;
	int lineno = 1, subject = 0, body = 0, unknown;
	size_t n, len;

	for (; *line; line = *end ? end + 1 : end, lineno++) {
		end = line + strcspn(line, "\n");
		n = (size_t)(end - line);
		for (s = line; s < end; s++) {
			if (placeholder(s, &len, &unknown) < 0 && unknown) {
				snprintf(err, errlen, "line %d: unknown placeholder %.*s", lineno,
					 (int)len, s);
				return -EINVAL;
			}
		}
		if (body)
			continue;
		if (!n || (n == 1 && *line == '\r')) {
			body = lineno;
			continue;
		}
		if (header_line(line, n, &subject, err, errlen, lineno))
			return -EINVAL;
	}
	if (!subject) {
		snprintf(err, errlen,
			 "no Subject: line before the blank line that starts the body");
		return -EINVAL;
	}
	if (!body || lineno <= body + 1) {
		snprintf(err, errlen, "no body after the header lines and a blank line");
		return -EINVAL;
	}
	return 0;
}

/* s escaped, cut with "..." past max bytes of escape (whole escapes only). */
static void put_escaped(FILE *out, const char *s, size_t max)
{
	char esc[SG_ESCAPE_CHAR_MAX];
	size_t used, n, put = 0;

	while (s && *s) {
		n = sg_escape_char(s, esc, &used);
		if (put + n > max) {
			fputs("...", out);
			return;
		}
		fwrite(esc, 1, n, out);
		put += n;
		s += used;
	}
}

static void put_time(FILE *out, time_t t)
{
	char buf[64];
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
		fputs("unknown", out);
	else
		fputs(buf, out);
}

static void put_field(FILE *out, int f, const struct sg_notice_facts *x, size_t max)
{
	const char *strs[] = { [F_ACCOUNT] = x->account,
			       [F_RULE] = x->rule,
			       [F_HOST] = x->host,
			       [F_OWNER] = x->owner };
	const __u64 nums[] = { [F_MESSAGES] = x->messages,
			       [F_RECIPIENTS] = x->recipients,
			       [F_DELIVERED] = x->delivered,
			       [F_BOUNCED] = x->bounced,
			       [F_HELD] = x->held };
	size_t i;

	if (f <= F_OWNER) {
		put_escaped(out, strs[f], max);
	} else if (f <= F_BOUNCED || f == F_HELD) {
		fprintf(out, "%llu", (unsigned long long)nums[f]);
	} else if (f == F_BOUNCE_SHARE) {
		fprintf(out, "%llu%%",
			x->delivered ? (unsigned long long)((x->bounced * 100 + x->delivered / 2) /
							    x->delivered)
				     : 0ULL);
	} else if (f == F_CLIENT_IPS) {
		for (i = 0; i < x->n_ips; i++) {
			fputs(i ? ", " : "", out);
			put_escaped(out, x->ips[i], max);
		}
		fputs(x->n_ips ? "" : "none", out);
	} else {
		put_time(out, f == F_FIRST ? x->first : x->last);
	}
}

/* Where the body starts: after the first blank line (the template is checked: there is one). */
static const char *body_of(const char *tmpl)
{
	const char *s;

	for (s = tmpl; *s; s += strcspn(s, "\n") + !!s[strcspn(s, "\n")])
		if (*s == '\n' || (s[0] == '\r' && s[1] == '\n'))
			return s;
	return s;
}

int sg_notice_render(const char *tmpl, const struct sg_notice_facts *f, char **out)
{
	char err[160], *buf = NULL;
	size_t size = 0, len;
	int field, unknown;
	const char *s, *body;
	FILE *m;

	*out = NULL;
	if (!sg_notice_address_ok(f->owner) || sg_notice_check(tmpl, err, sizeof(err)))
		return -EINVAL;
	m = open_memstream(&buf, &size);
	if (!m)
		return -ENOMEM;
	fprintf(m, "To: %s\n", f->owner);
	body = body_of(tmpl);
	for (s = tmpl; *s;) {
		field = placeholder(s, &len, &unknown);
		if (field < 0) {
			fputc(*s++, m);
			continue;
		}
		/* A header line stays within what every MTA takes whole (RFC 5322: 998). */
		put_field(m, field, f, s < body ? HEADER_VALUE_MAX : (size_t)-1);
		s += len;
	}
	if (fclose(m) || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
