/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the MTA backends (postfix.c, exim.c) and containment share:
 * internal to mail/. Tools run with a bounded time, their failures
 * appended to err; the lookup tables smtpguard writes, edited line by
 * line; check-mta's output.
 */
#ifndef SG_BACKEND_H
#define SG_BACKEND_H

#include <stddef.h>
#include <stdio.h>

#include "mail/mta.h"

#define SG_MTA_TOOL_MS 10000

/* The backends, for the registry (mta.c). */
extern const struct sg_mta_ops sg_mta_postfix, sg_mta_exim;

/* Appends a message to err ("; " between), so every failure of a containment is told. */
void sg_mta_note(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs a tool; a failure is noted in err with the tool's own words. */
int sg_mta_run(char *const argv[], const char *input, char *err, size_t errlen);

/* A tool's output, or "" when it cannot run. */
void sg_mta_capture(char *const argv[], char *out, size_t len);

/* Splits [mta] exim ("/usr/sbin/exim4 -C FILE") into argv; returns the count. */
int sg_mta_exim_argv(const struct sg_config *c, char *buf, size_t len, char **argv, int max);

/* A key a lookup table can hold: no blanks, quotes or controls, not a comment. */
int sg_mta_key_ok(const char *k);

/*
 * Sets each entry's key in its table (files[e->table] under dir) to its
 * value (hold), or removes it, keeping every other line; quoted: Exim's
 * "KEY": VALUE lines, else Postfix's KEY<TAB>VALUE. After each file
 * written, taken (may be NULL) makes the MTA see it. e->done for each
 * entry written and taken; returns the first error.
 */
int sg_mta_tables_edit(const struct sg_config *c, const char *dir, const char *const *files,
		       int quoted, struct sg_mta_entry *e, size_t n, int hold,
		       int (*taken)(const struct sg_config *c, const char *path, char *err,
				    size_t errlen),
		       char *err, size_t errlen);

/* The first of n candidate log files that exists, or the first: into out[0]; returns 1. */
int sg_mta_first_log(const char *const *cands, int n, char (*out)[PATH_MAX]);

/* check-mta: one line for a check, with fix under it when it failed; returns !ok. */
int sg_mta_check_line(FILE *out, int ok, const char *what, const char *fix);

/* check-mta: that dir/file followed by suffix exists. */
int sg_mta_check_table(const char *dir, const char *file, const char *suffix, FILE *out);

#endif
