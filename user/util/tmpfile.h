/* SPDX-License-Identifier: GPL-2.0 */
/* The temporary file a state file is written to before it is renamed over it. */
#ifndef SG_TMPFILE_H
#define SG_TMPFILE_H

#include <sys/types.h>

/*
 * Creates tmp anew (O_WRONLY, close-on-exec) with mode: never through a
 * symlink and never into a file left there, by a crash or by anyone else.
 * Returns the fd, or -errno.
 */
int sg_tmpfile_open(const char *tmp, mode_t mode);

#endif
