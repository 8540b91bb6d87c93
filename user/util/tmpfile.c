// SPDX-License-Identifier: GPL-2.0
/* The temporary file of a state file; see tmpfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/tmpfile.h"

int sg_tmpfile_open(const char *tmp, mode_t mode)
{
	int fd;

	/* What is there goes: a symlink is removed, never followed, its target untouched. */
	if (unlink(tmp) && errno != ENOENT)
		return -errno;
	/* Put back between the two calls: refused, not written through. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}
