// SPDX-License-Identifier: GPL-2.0
/* Whether only root can change a program; see safepath.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/safepath.h"

/* One step of the path: root's, and writable by root alone (or sticky, for a directory). */
static int check(const char *at, int dir, char *why, size_t len)
{
	struct stat st;

	if (stat(at, &st)) {
		snprintf(why, len, "%s: %s", at, strerror(errno));
		return -errno;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a %s", at, dir ? "directory" : "regular file");
		return -EINVAL;
	}
	if (!dir && !(st.st_mode & S_IXUSR)) {
		snprintf(why, len, "%s is not executable", at);
		return -EACCES;
	}
	if (st.st_uid != 0) {
		snprintf(why, len, "%s is owned by uid %u, not root", at, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st.st_mode & S_ISVTX))) {
		snprintf(why, len, "%s is writable by %s", at,
			 st.st_mode & S_IWOTH ? "everyone" : "its group");
		return -EPERM;
	}
	return 0;
}

int sg_path_root_only(const char *path, char *why, size_t len)
{
	char at[PATH_MAX], *slash;
	int err;

	if (path[0] != '/' || strlen(path) >= sizeof(at)) {
		snprintf(why, len, "'%s' is not an absolute path", path);
		return -EINVAL;
	}
	strcpy(at, path);
	err = check(at, 0, why, len);
	/* The file's own directory, then each above it, up to "/". */
	while (!err && (slash = strrchr(at, '/'))) {
		slash[slash == at] = '\0';
		err = check(at, 1, why, len);
		if (slash == at)
			break;
	}
	return err;
}
