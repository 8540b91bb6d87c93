// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern/netns.h"

__u64 sg_netns_self(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
}

/* An fd of a namespace file under dir (NAME, or NAME/ns/net for /proc) with inode ino. */
static int find_in(const char *dir, const char *suffix, __u64 ino)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int fd = -ENOENT;
	DIR *d = opendir(dir);

	while (d && fd < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix);
		if (!stat(path, &st) && st.st_ino == ino)
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (d)
		closedir(d);
	return fd;
}

int sg_netns_enter(__u64 ino, int *back)
{
	int fd = find_in("/run/netns", "", ino);

	if (fd < 0)
		fd = find_in("/proc", "/ns/net", ino);
	if (fd < 0)
		return -ENOENT;
	*back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*back < 0 || setns(fd, CLONE_NEWNET)) {
		int err = -errno;

		if (*back >= 0)
			close(*back);
		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

int sg_netns_return(int back)
{
	int err = setns(back, CLONE_NEWNET) ? -errno : 0;

	close(back);
	return err;
}
