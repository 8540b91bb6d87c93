/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one log of the daemon and the commands: leveled lines on stderr,
 * "smtpguard: MESSAGE". When stderr is the journal's stream (systemd's
 * $JOURNAL_STREAM names it), each line starts with its syslog priority
 * ("<4>"), which journald takes as the level and strips, and carries no
 * timestamp of ours: the journal stamps it. Elsewhere it is the bare line,
 * as the tests and the labs read it. libbpf's own messages go through it
 * too.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdarg.h>

/* The levels, with their names in [daemon] log_level and their syslog priorities. */
#define SG_LOG_LEVELS(X)                                                                           \
	X(SG_LOG_ERROR, "error", 3)                                                                \
	X(SG_LOG_WARN, "warn", 4)                                                                  \
	X(SG_LOG_INFO, "info", 6)                                                                  \
	X(SG_LOG_DEBUG, "debug", 7)

enum sg_log_level {
#define X(e, s, prio) e,
	SG_LOG_LEVELS(X)
#undef X
	SG_LOG_N_LEVELS
};

extern const char *const sg_log_level_names[SG_LOG_N_LEVELS];

/* Lines above level are dropped; info by default. */
void sg_log_set_level(enum sg_log_level level);

/* "error", "warn", "info" or "debug": 0 with *level set, else -EINVAL. */
int sg_log_level_parse(const char *s, enum sg_log_level *level);

/* Sends libbpf's messages here at their own levels: warn and info show, as libbpf's own printer. */
void sg_log_libbpf(void);

void sg_log(enum sg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_vlog(enum sg_log_level level, const char *fmt, va_list ap);

#define sg_error(...) sg_log(SG_LOG_ERROR, __VA_ARGS__)
#define sg_warn(...)  sg_log(SG_LOG_WARN, __VA_ARGS__)
#define sg_info(...)  sg_log(SG_LOG_INFO, __VA_ARGS__)
#define sg_debug(...) sg_log(SG_LOG_DEBUG, __VA_ARGS__)

#endif
