// SPDX-License-Identifier: GPL-2.0
/* A log file read line by line, plain or gzip; see logread.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "mail/logread.h"

static const char *shown(const char *name)
{
	return strcmp(name, "-") ? name : "standard input";
}

const char *sg_logread_name(const struct sg_logread *rd)
{
	return shown(rd->name);
}

int sg_logread_open(struct sg_logread *rd, const char *name, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	rd->name = name;
	fd = strcmp(name, "-") ? open(name, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	e = fd < 0 || fstat(fd, &st) ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
	if (e) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: %s", shown(name), strerror(e));
		return -e;
	}
	rd->ref = S_ISREG(st.st_mode) ? st.st_mtime : time(NULL);
	rd->gz = gzdopen(fd, "rb");
	if (!rd->gz) {
		close(fd);
		snprintf(err, errlen, "%s: %s", shown(name), strerror(ENOMEM));
		return -ENOMEM;
	}
	gzbuffer(rd->gz, SG_LOGREAD_CHUNK);
	return 0;
}

/* Why gz failed, into err; -EIO. */
static int read_error(struct sg_logread *rd, char *err, size_t errlen)
{
	int errnum;
	const char *msg = gzerror(rd->gz, &errnum);

	snprintf(err, errlen, "%s: %s", shown(rd->name),
		 errnum == Z_ERRNO ? strerror(errno)
		 : msg && *msg	   ? msg
				   : "read error");
	return -EIO;
}

int sg_logread_line(struct sg_logread *rd, size_t *len, int *cut, char *err, size_t errlen)
{
	size_t have = 0, take, room;
	const char *nl;
	int any = 0, n, errnum;

	*cut = 0;
	for (;;) {
		if (rd->pos == rd->len) {
			if (rd->eof)
				break;
			n = gzread(rd->gz, rd->buf, sizeof(rd->buf));
			if (n < 0)
				return read_error(rd, err, errlen);
			if (n == 0) {
				/* A gzip stream cut short ends without more data, but with an
				 * error. */
				gzerror(rd->gz, &errnum);
				if (errnum != Z_OK)
					return read_error(rd, err, errlen);
				rd->eof = 1;
				break;
			}
			rd->pos = 0;
			rd->len = (size_t)n;
		}
		any = 1;
		nl = memchr(rd->buf + rd->pos, '\n', rd->len - rd->pos);
		take = (nl ? (size_t)(nl - rd->buf) : rd->len) - rd->pos;
		room = SG_MTA_LINE_MAX - have;
		if (take > room)
			*cut = 1;
		memcpy(rd->line + have, rd->buf + rd->pos, take < room ? take : room);
		have += take < room ? take : room;
		rd->pos += take;
		if (nl) {
			rd->pos++;
			break;
		}
	}
	rd->line[have] = '\0';
	*len = have;
	return any;
}

void sg_logread_close(struct sg_logread *rd)
{
	if (rd->gz)
		gzclose(rd->gz);
	rd->gz = NULL;
}
