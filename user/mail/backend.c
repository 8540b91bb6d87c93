// SPDX-License-Identifier: GPL-2.0
/* What the MTA backends share; see backend.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mail/backend.h"
#include "util/render.h"
#include "util/subproc.h"
#include "util/tmpfile.h"

void sg_mta_note(char *err, size_t len, const char *fmt, ...)
{
	size_t off = strlen(err);
	va_list ap;

	if (off && off + 2 < len) {
		strcpy(err + off, "; ");
		off += 2;
	}
	va_start(ap, fmt);
	vsnprintf(err + off, len - off, fmt, ap);
	va_end(ap);
}

int sg_mta_run(char *const argv[], const char *input, char *err, size_t errlen)
{
	char out[512], cmd[256];
	int ret = sg_subproc_run(argv, input, out, sizeof(out), SG_MTA_TOOL_MS);

	if (!ret)
		return 0;
	out[strcspn(out, "\n")] = '\0';
	sg_mta_note(err, errlen, "%s: %s", sg_subproc_line(argv, cmd, sizeof(cmd)),
		    ret < 0 ? strerror(-ret)
		    : *out  ? out
			    : "failed");
	return ret < 0 ? ret : -EIO;
}

void sg_mta_capture(char *const argv[], char *out, size_t len)
{
	if (sg_subproc_run(argv, NULL, out, len, SG_MTA_TOOL_MS))
		out[0] = '\0';
}

int sg_mta_key_ok(const char *k)
{
	char esc[SG_ESCAPED_LEN(SG_MTA_LOGIN_MAX)];
	size_t len = strlen(k);

	/*
	 * Its own escape: UTF-8 (with smtputf8_enable on, Postfix 3.7's
	 * default, postmap skips a line that is not: "non-UTF-8 input ...
	 * ignoring this line"), no control byte and no backslash.
	 */
	/* SG_MTA_LOGIN_MAX - 1 bytes may be a login cut to fit: not its key. */
	if (!*k || *k == '#' || len >= SG_MTA_LOGIN_MAX - 1 ||
	    sg_escape_id(k, esc, sizeof(esc)) != (int)len)
		return 0;
	for (; *k; k++)
		if (isspace((unsigned char)*k) || *k == '"')
			return 0;
	return 1;
}

/* The key of a table line: Postfix's first word, or Exim's quoted key. */
static size_t line_key(const char *line, int quoted, const char **key)
{
	const char *end;

	if (quoted && *line == '"') {
		*key = line + 1;
		end = strchr(line + 1, '"');
		return end ? (size_t)(end - line - 1) : 0;
	}
	*key = line;
	return strcspn(line, quoted ? " \t:" : " \t\n");
}

/*
 * Sets key's line of the table at path to value (NULL: removes it), keeping
 * every other line; written whole to a temporary file and renamed.
 */
static int table_edit(const char *path, int quoted, const char *key, const char *value)
{
	FILE *in = fopen(path, "re"), *out;
	char tmp[PATH_MAX + 128], *line = NULL;
	size_t kl, room = 0;
	const char *k;
	int fd, err = 0;

	if (!in && errno != ENOENT)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = sg_tmpfile_open(tmp, 0644);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		err = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		if (in)
			fclose(in);
		return err;
	}
	if (!in)
		fprintf(out, "# Written by smtpguard: the principals it contains. "
			     "`smtpguard release` removes them.\n");
	/* Whole lines however long: a line cut in two would be read as two keys. */
	while (in && getline(&line, &room, in) > 0) {
		kl = line_key(line, quoted, &k);
		if (*line != '#' && kl == strlen(key) && !strncasecmp(k, key, kl))
			continue;
		fputs(line, out);
	}
	free(line);
	if (value)
		fprintf(out, quoted ? "\"%s\": %s\n" : "%s\t%s\n", key, value);
	if (in)
		fclose(in);
	if (fflush(out) || fsync(fileno(out)))
		err = -errno;
	if (fclose(out) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* One entry set or removed, and taken up. */
static int entry_edit(const struct sg_config *c, const char *dir, const char *file, int quoted,
		      const struct sg_mta_entry *e, int hold,
		      int (*taken)(const struct sg_config *c, const char *path, char *err,
				   size_t errlen),
		      char *err, size_t errlen)
{
	char path[PATH_MAX + 64], safe[SG_ESCAPED_LEN(SG_MTA_LOGIN_MAX)];
	int ret;

	if (!sg_mta_key_ok(e->key)) {
		sg_escape_id(e->key, safe, sizeof(safe));
		sg_mta_note(err, errlen, "'%s' cannot be a key of %s", safe, file);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ret = table_edit(path, quoted, e->key, hold ? e->value : NULL);
	if (ret) {
		sg_mta_note(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	return taken ? taken(c, path, err, errlen) : 0;
}

int sg_mta_tables_edit(const struct sg_config *c, const char *dir, const char *const *files,
		       int quoted, struct sg_mta_entry *e, size_t n, int hold,
		       int (*taken)(const struct sg_config *c, const char *path, char *err,
				    size_t errlen),
		       char *err, size_t errlen)
{
	size_t i;
	int ret = 0, r;

	for (i = 0; i < n; i++) {
		if (files[e[i].table]) {
			r = entry_edit(c, dir, files[e[i].table], quoted, &e[i], hold, taken, err,
				       errlen);
		} else {
			sg_mta_note(err, errlen, "no table for '%s'", e[i].key);
			r = -EINVAL;
		}
		e[i].done = !r;
		ret = ret ? ret : r;
	}
	return ret;
}

int sg_mta_first_log(const char *const *cands, int n, char (*out)[PATH_MAX])
{
	int i;

	for (i = 0; i < n; i++) {
		if (!access(cands[i], F_OK)) {
			snprintf(out[0], PATH_MAX, "%s", cands[i]);
			return 1;
		}
	}
	snprintf(out[0], PATH_MAX, "%s", cands[0]);
	return 1;
}

int sg_mta_check_line(FILE *out, int ok, const char *what, const char *fix)
{
	fprintf(out, "%-4s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok && fix)
		fprintf(out, "     %s\n", fix);
	return !ok;
}

int sg_mta_check_table(const char *dir, const char *file, const char *suffix, FILE *out)
{
	char path[PATH_MAX + 64], what[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s%s", dir, file, suffix);
	snprintf(what, sizeof(what), "%s exists", path);
	return sg_mta_check_line(out, !access(path, R_OK), what,
				 "it is made at the first containment; to make it now: touch the "
				 "table (and postmap it, for Postfix)");
}
