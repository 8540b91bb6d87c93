/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running the mail server's own tools (postmap, postsuper, postfix, exim):
 * no shell, a bounded time, input on stdin, output (stdout and stderr
 * together) captured for the error message.
 */
#ifndef SG_SUBPROC_H
#define SG_SUBPROC_H

#include <stddef.h>

/*
 * Runs argv[0] (an absolute path, or found in PATH) with input (may be
 * NULL) on its stdin; up to outlen - 1 bytes of its output into out
 * (NUL-terminated; may be NULL). Killed after timeout_ms, with its process
 * group (it runs in one of its own). Returns its exit
 * status (0 to 255), or -errno: -ETIMEDOUT when killed, -ENOENT when it
 * could not be run, -EINTR when it died of a signal.
 */
int sg_subproc_run(char *const argv[], const char *input, char *out, size_t outlen, int timeout_ms);

/* argv's words joined by blanks, for messages. */
const char *sg_subproc_line(char *const argv[], char *buf, size_t len);

#endif
