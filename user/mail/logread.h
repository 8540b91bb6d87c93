/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mail log read line by line, as replay reads it: a file or standard
 * input ("-"), plain or gzip (zlib tells), lines cut at SG_MTA_LINE_MAX.
 * Functions return -errno, with "NAME: why" in err.
 */
#ifndef SG_LOGREAD_H
#define SG_LOGREAD_H

#include <stddef.h>
#include <time.h>
#include <zlib.h>

#include "core/mailrec.h"

#define SG_LOGREAD_CHUNK 65536

struct sg_logread {
	const char *name;
	gzFile gz;
	time_t ref; /* the file's mtime (now for a pipe): the year of a syslog stamp */
	char buf[SG_LOGREAD_CHUNK];
	size_t pos, len;
	int eof;
	char line[SG_MTA_LINE_MAX + 1]; /* the line read last */
};

/* Opens name (rd zeroed by the caller); a directory is -EISDIR. */
int sg_logread_open(struct sg_logread *rd, const char *name, char *err, size_t errlen);

/*
 * The next line into rd->line, without its newline and cut at
 * SG_MTA_LINE_MAX (*cut set): 1, its length in *len; 0 at the end; -EIO.
 */
int sg_logread_line(struct sg_logread *rd, size_t *len, int *cut, char *err, size_t errlen);

/* The name as told to a person: "standard input" for "-". */
const char *sg_logread_name(const struct sg_logread *rd);

void sg_logread_close(struct sg_logread *rd);

#endif
