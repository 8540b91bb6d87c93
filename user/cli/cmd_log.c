// SPDX-License-Identifier: GPL-2.0
/* log: the audit trail, oldest of the last N entries first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/audit.h"
#include "cli/cli.h"

#define TAIL_BLOCK 65536

struct out {
	int json;
	size_t shown;
};

static void show(struct out *o, const json_t *entry)
{
	char *s, *p;

	if (!o->json) {
		s = sg_audit_text(entry, SG_AUDIT_TEXT_TIME | SG_AUDIT_TEXT_ALIGN);
		if (s)
			puts(s);
	} else {
		/* An element of an array printed as sg_json_print would, one at a time. */
		s = json_dumps(entry, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputs(o->shown ? ",\n  " : "[\n  ", stdout);
		for (p = s; p && *p; p++) {
			putchar(*p);
			if (*p == '\n')
				fputs("  ", stdout);
		}
	}
	free(s);
	o->shown++;
}

static void finish(const struct out *o)
{
	if (o->json)
		puts(o->shown ? "\n]" : "[]");
	else if (!o->shown)
		puts("no audit entries");
}

/* An entry, or NULL for a line that is not one. */
static json_t *parse_entry(const char *line, size_t len)
{
	json_t *e = json_loadb(line, len, 0, NULL);

	if (json_is_object(e))
		return e;
	json_decref(e);
	return NULL;
}

static void bad_line(const char *path, unsigned long long n)
{
	fprintf(stderr, "smtpguard: %s:%llu: not a JSON audit entry, skipped\n", path, n);
}

static int read_all(FILE *f, const char *path, struct out *o)
{
	unsigned long long n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	json_t *e;
	int err;

	while ((len = getline(&line, &cap, f)) >= 0) {
		n++;
		if (len && line[len - 1] == '\n')
			len--;
		e = parse_entry(line, len);
		if (!e) {
			bad_line(path, n);
			continue;
		}
		show(o, e);
		json_decref(e);
	}
	err = ferror(f) ? -EIO : 0;
	free(line);
	return err;
}

/*
 * The log read backwards in blocks, one line at a time: it grows without
 * bound, and only its end is wanted.
 */
struct tail {
	int fd;
	off_t pos; /* file offset of the first byte held */
	char *buf; /* buf[head, head + have) holds [pos, pos + have) */
	size_t cap, head, have;
	int at_start; /* no line left before those taken */
};

/* Reads the block before what is held. */
static int tail_read(struct tail *t)
{
	size_t chunk = t->pos < TAIL_BLOCK ? t->pos : TAIL_BLOCK, need = t->have + chunk;
	char *buf = t->buf;
	ssize_t n;

	/* Room before what is held, for the block before it; more only for a line that long. */
	if (t->head < chunk) {
		if (t->cap < need) {
			buf = malloc(2 * need);
			if (!buf)
				return -ENOMEM;
			t->cap = 2 * need;
		}
		if (t->have)
			memmove(buf + t->cap - t->have, t->buf + t->head, t->have);
		if (buf != t->buf)
			free(t->buf);
		t->buf = buf;
		t->head = t->cap - t->have;
	}
	n = pread(t->fd, t->buf + t->head - chunk, chunk, t->pos - chunk);
	if (n < 0)
		return -errno;
	/* Truncated under us, by a rotation. */
	if ((size_t)n != chunk)
		return -EIO;
	t->pos -= chunk;
	t->head -= chunk;
	t->have += chunk;
	return 0;
}

/* 1 and the line before those taken, 0 at the start of the file, or -errno. */
static int tail_prev(struct tail *t, const char **line, size_t *len)
{
	char *start, *nl;
	int err;

	for (;;) {
		start = t->buf + t->head;
		nl = t->have ? memrchr(start, '\n', t->have) : NULL;
		if (nl || !t->pos)
			break;
		err = tail_read(t);
		if (err)
			return err;
	}
	if (t->at_start)
		return 0;
	*line = nl ? nl + 1 : start;
	*len = start + t->have - *line;
	/* What remains ends before the newline that ended the line before. */
	t->have = nl ? (size_t)(nl - start) : 0;
	t->at_start = !nl;
	return 1;
}

/* Lines of the file before those taken; reads all of it, so only for reporting bad lines. */
static int tail_lines_before(const struct tail *t, unsigned long long *lines)
{
	char *buf = malloc(TAIL_BLOCK), *p;
	off_t off = 0;
	ssize_t n = 0;
	size_t i;

	if (!buf)
		return -ENOMEM;
	/* The one, maybe empty, that the newline before the first taken ends, if any. */
	*lines = !t->at_start;
	while (off < t->pos && (n = pread(t->fd, buf, TAIL_BLOCK, off)) > 0) {
		if (off + n > t->pos)
			n = t->pos - off;
		for (p = buf; (p = memchr(p, '\n', buf + n - p)); p++)
			++*lines;
		off += n;
	}
	for (i = 0; i < t->have; i++)
		*lines += t->buf[t->head + i] == '\n';
	free(buf);
	return n < 0 ? -errno : 0;
}

/* Where an entry's line is: the entries are parsed again to be shown, not kept. */
struct span {
	off_t off;
	size_t len;
};

static json_t *entry_at(int fd, const struct span *s)
{
	char *buf = malloc(s->len);
	json_t *e = NULL;

	if (buf && pread(fd, buf, s->len, s->off) == (ssize_t)s->len)
		e = parse_entry(buf, s->len);
	free(buf);
	return e;
}

static int read_tail(FILE *f, const char *path, size_t limit, struct out *o)
{
	struct tail t = { .fd = fileno(f) };
	unsigned long long *bad = NULL, *grown, before = 0;
	size_t n_got = 0, n_bad = 0, lines = 0, len = 0;
	struct span *got = calloc(limit, sizeof(*got));
	const char *line = NULL;
	struct stat sb;
	int err = 0;
	json_t *e;
	char c;

	if (!got || fstat(t.fd, &sb)) {
		err = got ? -errno : -ENOMEM;
		free(got);
		return err;
	}
	t.pos = sb.st_size;
	t.at_start = !sb.st_size;
	/* The newline that ends the file begins no line. */
	if (t.pos && pread(t.fd, &c, 1, t.pos - 1) == 1 && c == '\n')
		t.pos--;
	while (!err && n_got < limit && (err = tail_prev(&t, &line, &len)) > 0) {
		err = 0;
		lines++;
		e = parse_entry(line, len);
		if (e) {
			json_decref(e);
			got[n_got].off = t.pos + (line - (t.buf + t.head));
			got[n_got++].len = len;
			continue;
		}
		/* Lines counted from the end, numbered once the whole count is known. */
		grown = realloc(bad, (n_bad + 1) * sizeof(*bad));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		bad = grown;
		bad[n_bad++] = lines;
	}
	if (!err && n_bad)
		err = tail_lines_before(&t, &before);
	if (!err) {
		while (n_bad--)
			bad_line(path, before + lines - bad[n_bad] + 1);
		while (n_got--) {
			e = entry_at(t.fd, &got[n_got]);
			/* Rewritten under us, by a rotation. */
			if (!e) {
				err = -EIO;
				break;
			}
			show(o, e);
			json_decref(e);
		}
	}
	free(got);
	free(bad);
	free(t.buf);
	return err;
}

struct log_opts {
	int json;
	__u32 limit; /* 0: all */
};

static const struct sg_option log_options[] = {
	{ "json", 'j', SG_FLAG(struct log_opts, json) },
	{ NULL, 'n', SG_COUNT(struct log_opts, limit), .label = "-n", .max = 1000000, .zero = 1 },
	{},
};

static const struct log_opts log_defaults = { .limit = 20 };

static int run_log(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct log_opts *lo = opts;
	struct out o = { .json = lo->json };
	struct sg_audit_cfg cfg;
	int err;
	FILE *f;

	sg_audit_cfg_cli(&cfg);
	f = fopen(cfg.path, "re");
	if (!f && errno != ENOENT)
		return sg_fail("audit log %s: %s", cfg.path, strerror(errno));
	err = !f	  ? 0
	      : lo->limit ? read_tail(f, cfg.path, lo->limit, &o)
			  : read_all(f, cfg.path, &o);
	if (f)
		fclose(f);
	if (err)
		return sg_fail("reading the audit log %s: %s", cfg.path, strerror(-err));
	finish(&o);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_log = {
	.name = "log",
	.summary = "show the audit log of policy changes",
	.usage = "usage: smtpguard log [--json] [-n N]\n"
		 "  The last N changes (default 20; 0: all), oldest first: when, who made\n"
		 "  it, what, to whom, with which settings and reason, and until when.\n"
		 "  --json: an array of the entries as logged. The log is\n"
		 "  /var/log/smtpguard/audit.log, [audit] log in the config file, or\n"
		 "  $SMTPGUARD_AUDIT_LOG.\n",
	.options = log_options,
	.opts_size = sizeof(struct log_opts),
	.defaults = &log_defaults,
	.run = run_log,
};
