// SPDX-License-Identifier: GPL-2.0
/* Leveled lines on stderr, journald-aware; see log.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>

#include "util/log.h"

#define X(e, s, prio) [e] = s,
const char *const sg_log_level_names[SG_LOG_N_LEVELS] = { SG_LOG_LEVELS(X) };
#undef X

#define X(e, s, prio) [e] = prio,
static const int priorities[SG_LOG_N_LEVELS] = { SG_LOG_LEVELS(X) };
#undef X

enum sink { SINK_UNKNOWN, SINK_JOURNAL, SINK_PLAIN };

static enum sg_log_level max_level = SG_LOG_INFO;
static enum sink sink;

void sg_log_set_level(enum sg_log_level level)
{
	max_level = level;
}

int sg_log_level_parse(const char *s, enum sg_log_level *level)
{
	int i;

	for (i = 0; i < SG_LOG_N_LEVELS; i++) {
		if (!strcmp(s, sg_log_level_names[i])) {
			*level = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected stderr to. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	       st.st_dev == dev && st.st_ino == ino;
}

void sg_vlog(enum sg_log_level level, const char *fmt, va_list ap)
{
	if (level > max_level)
		return;
	if (sink == SINK_UNKNOWN)
		sink = stderr_is_journal() ? SINK_JOURNAL : SINK_PLAIN;
	/* One write per line, so that lines of concurrent writers never interleave. */
	flockfile(stderr);
	if (sink == SINK_JOURNAL)
		fprintf(stderr, "<%d>", priorities[level]);
	fputs("smtpguard: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void sg_log(enum sg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sg_vlog(level, fmt, ap);
	va_end(ap);
}

/* libbpf's lines end in a newline of their own, and name themselves ("libbpf: ..."). */
static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	enum sg_log_level level = lvl == LIBBPF_WARN ? SG_LOG_WARN : SG_LOG_DEBUG;
	char line[1024];
	size_t n;

	if (level > max_level)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	sg_log(level, "%s", line);
	return 0;
}

void sg_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
