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

/*
 * A line is formatted whole and written at once: stderr is unbuffered, and
 * the daemon's children (postconf, exim) share it, so a line written in
 * pieces could be cut by theirs. A longer line is cut, its newline kept.
 */
void sg_vlog(enum sg_log_level level, const char *fmt, va_list ap)
{
	char line[4096];
	size_t n = 0;
	int w;

	if (level > max_level)
		return;
	if (sink == SINK_UNKNOWN)
		sink = stderr_is_journal() ? SINK_JOURNAL : SINK_PLAIN;
	if (sink == SINK_JOURNAL)
		n = (size_t)snprintf(line, sizeof(line), "<%d>", priorities[level]);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "smtpguard: ");
	w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (w > 0)
		n += (size_t)w;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
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
	enum sg_log_level level = lvl == LIBBPF_WARN ? SG_LOG_WARN :
				  lvl == LIBBPF_INFO ? SG_LOG_INFO :
						       SG_LOG_DEBUG;
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
