// SPDX-License-Identifier: GPL-2.0
/*
 * The journal source (see journal.h). No sd_journal match: identifiers
 * such as postfix/submission/smtpd cannot be listed ahead, and the
 * forged entries must be seen to be counted; every entry is looked at,
 * a bounded number per call.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "core/mailrec.h"
#include "mail/journal.h"

#define JOURNALD_SOCKET "/run/systemd/journal/socket"

struct sg_journal {
	sd_journal *sd;
	int fd;
	struct sg_journal_trust trust;
	struct sg_journal_stats st;
	char line[SG_MTA_LINE_MAX + 1];
};

void sg_journal_trust_init(struct sg_journal_trust *t, const char (*names)[64], int n)
{
	struct passwd *pw;
	size_t k;
	int i;

	t->uids[0] = 0;
	t->n = 1;
	for (i = 0; i < n && t->n < SG_JOURNAL_MAX_TRUSTED; i++) {
		pw = getpwnam(names[i]);
		if (!pw)
			continue;
		for (k = 0; k < t->n && t->uids[k] != pw->pw_uid; k++)
			;
		if (k == t->n)
			t->uids[t->n++] = pw->pw_uid;
	}
}

int sg_journal_trusted(const struct sg_journal_trust *t, const char *uid, size_t len)
{
	unsigned long long v = 0;
	size_t i, k;

	/* Decimal digits only, no sign, no leading zero: journald writes it so. */
	if (!len || len > 10 || (uid[0] == '0' && len > 1))
		return 0;
	for (i = 0; i < len; i++) {
		if (uid[i] < '0' || uid[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(uid[i] - '0');
	}
	if (v > UINT32_MAX)
		return 0;
	for (k = 0; k < t->n; k++)
		if (t->uids[k] == v)
			return 1;
	return 0;
}

static int has_prefix(const char *s, size_t len, const char *p, size_t plen)
{
	return len >= plen && !memcmp(s, p, plen);
}

int sg_journal_mta_ident(const char *ident, size_t len)
{
	size_t i;

	if (has_prefix(ident, len, "postfix", 7)) {
		/* postfix/smtpd, postfix/submission/smtpd, postfix-out/qmgr (multi-instance). */
		if (len == 7 || ident[7] == '/')
			return 1;
		if (ident[7] != '-')
			return 0;
		for (i = 8; i < len && ident[i] != '/'; i++)
			;
		return i > 8 && i < len;
	}
	if (len == 7 && !memcmp(ident, "dovecot", 7))
		return 1;
	return (len == 4 && !memcmp(ident, "exim", 4)) || (len == 5 && !memcmp(ident, "exim4", 5));
}

/*
 * Appends len bytes of s at *off, control characters as spaces, within
 * size - 1; *off counts what did not fit too.
 */
static void put(char *buf, size_t size, size_t *off, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++, (*off)++) {
		unsigned char ch = (unsigned char)s[i];

		if (*off + 1 < size)
			buf[*off] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
}

size_t sg_journal_line(char *buf, size_t size, __u64 realtime_usec, const char *host,
		       size_t hostlen, const char *ident, size_t identlen, const char *pid,
		       size_t pidlen, const char *msg, size_t msglen)
{
	time_t sec = (time_t)(realtime_usec / 1000000);
	char stamp[40];
	size_t off = 0;
	struct tm tm;
	int n;

	if (!gmtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	n = snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned)(realtime_usec % 1000000));
	put(buf, size, &off, stamp, n > 0 ? (size_t)n : 0);
	if (hostlen)
		put(buf, size, &off, host, hostlen);
	else
		put(buf, size, &off, "localhost", 9);
	put(buf, size, &off, " ", 1);
	put(buf, size, &off, ident, identlen);
	if (pidlen) {
		put(buf, size, &off, "[", 1);
		put(buf, size, &off, pid, pidlen);
		put(buf, size, &off, "]", 1);
	}
	put(buf, size, &off, ": ", 2);
	put(buf, size, &off, msg, msglen);
	buf[off < size ? off : size - 1] = '\0';
	return off;
}

int sg_journal_running(void)
{
	return !access(JOURNALD_SOCKET, F_OK);
}

int sg_journal_open(struct sg_journal **out, const struct sg_journal_trust *t, int from_start)
{
	struct sg_journal *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->trust = *t;
	err = sd_journal_open(&j->sd, SD_JOURNAL_LOCAL_ONLY);
	if (err < 0)
		goto fail;
	/* Watching starts here: nothing written from now on is missed. */
	j->fd = sd_journal_get_fd(j->sd);
	if (j->fd < 0) {
		err = j->fd;
		goto fail;
	}
	if (from_start) {
		err = sd_journal_seek_head(j->sd);
	} else {
		/* At the last entry, so that the next one read is the first new one. */
		err = sd_journal_seek_tail(j->sd);
		if (err >= 0)
			err = sd_journal_previous(j->sd);
	}
	if (err < 0)
		goto fail;
	*out = j;
	return 0;
fail:
	sg_journal_free(j);
	return err;
}

void sg_journal_free(struct sg_journal *j)
{
	if (!j)
		return;
	if (j->sd)
		sd_journal_close(j->sd);
	free(j);
}

int sg_journal_fd(const struct sg_journal *j)
{
	return j ? j->fd : -EINVAL;
}

/*
 * FIELD's value ("FIELD=value") copied into buf (cut to size - 1); an
 * empty one when the entry has none. The library's pointer is valid only
 * until its next call, hence the copy.
 */
static size_t field(sd_journal *sd, const char *name, char *buf, size_t size)
{
	size_t nl = strlen(name), len;
	const void *d;
	size_t l;

	if (sd_journal_get_data(sd, name, &d, &l) < 0 || l <= nl) {
		buf[0] = '\0';
		return 0;
	}
	len = l - nl - 1 < size - 1 ? l - nl - 1 : size - 1;
	memcpy(buf, (const char *)d + nl + 1, len);
	buf[len] = '\0';
	return len;
}

/* The current entry: 1 when a line was given to fn. */
static int take(struct sg_journal *j, sg_follow_fn fn, void *ctx)
{
	char ident[128], uid[16], host[256], pid[16];
	size_t il, ul, hl, pl, len;
	const void *d;
	size_t l;
	uint64_t usec = 0;

	il = field(j->sd, "SYSLOG_IDENTIFIER", ident, sizeof(ident));
	if (!sg_journal_mta_ident(ident, il))
		return 0;
	ul = field(j->sd, "_UID", uid, sizeof(uid));
	if (!sg_journal_trusted(&j->trust, uid, ul)) {
		j->st.untrusted++;
		return 0;
	}
	if (sd_journal_get_realtime_usec(j->sd, &usec) < 0)
		usec = 0;
	hl = field(j->sd, "_HOSTNAME", host, sizeof(host));
	/* What the sender said it is, as a syslog daemon writes it; else what it is. */
	pl = field(j->sd, "SYSLOG_PID", pid, sizeof(pid));
	if (!pl)
		pl = field(j->sd, "_PID", pid, sizeof(pid));
	if (sd_journal_get_data(j->sd, "MESSAGE", &d, &l) < 0 || l < 8) {
		d = "MESSAGE=";
		l = 8;
	}
	len = sg_journal_line(j->line, sizeof(j->line), usec, host, hl, ident, il, pid, pl,
			      (const char *)d + 8, l - 8);
	if (len >= sizeof(j->line)) {
		j->st.cut++;
		len = sizeof(j->line) - 1;
	}
	j->st.lines++;
	if (fn)
		fn(0, j->line, len, ctx);
	return 1;
}

int sg_journal_read(struct sg_journal *j, size_t max_entries, sg_follow_fn fn, void *ctx)
{
	size_t n;
	int ret, lines = 0;

	if (!j)
		return -EINVAL;
	/* Drains the descriptor; files added, rotated or vacuumed are taken up by the library. */
	ret = sd_journal_process(j->sd);
	if (ret < 0)
		return ret;
	for (n = 0; !max_entries || n < max_entries; n++) {
		ret = sd_journal_next(j->sd);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		j->st.entries++;
		lines += take(j, fn, ctx);
	}
	return lines;
}

void sg_journal_stats(const struct sg_journal *j, struct sg_journal_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (j)
		*out = j->st;
}
