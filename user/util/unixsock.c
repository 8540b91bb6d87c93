// SPDX-License-Identifier: GPL-2.0
/* A unix socket only its owners can have put there; see unixsock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util/unixsock.h"

static int open_dir(struct sg_unixsock *u, const char *dir, const uid_t *owners, size_t n)
{
	struct stat st;
	size_t i;
	int fd;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	for (i = 0; i < n && st.st_uid != owners[i]; i++)
		;
	if ((st.st_uid != 0 && i == n) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	u->dirfd = fd;
	return 0;
}

/* A socket left by an earlier run is replaced; anything else is not ours to remove. */
static int clear_name(const struct sg_unixsock *u)
{
	struct stat st;

	if (fstatat(u->dirfd, u->name, &st, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	return unlinkat(u->dirfd, u->name, 0) ? -errno : 0;
}

static int bind_listen(struct sg_unixsock *u, const struct sockaddr_un *sa, mode_t mode,
		       gid_t group, int backlog)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;
	struct stat st;
	mode_t old;

	if (fd < 0)
		return -errno;
	old = umask(~mode & 0777);
	err = bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	umask(old);
	if (!err && fstatat(u->dirfd, u->name, &st, AT_SYMLINK_NOFOLLOW))
		err = -errno;
	if (!err)
		u->ino = st.st_ino;
	if (!err && group != (gid_t)-1 &&
	    fchownat(u->dirfd, u->name, 0, group, AT_SYMLINK_NOFOLLOW))
		err = -errno;
	if (!err && listen(fd, backlog))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int sg_unixsock_listen(struct sg_unixsock *u, const char *path, const uid_t *owners,
		       size_t n_owners, mode_t mode, gid_t group, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash = strrchr(path, '/');
	char dir[sizeof(sa.sun_path)];
	int err;

	if (path[0] != '/' || !slash[1] || strlen(slash + 1) > NAME_MAX)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	strcpy(u->name, slash + 1);
	err = open_dir(u, dir, owners, n_owners);
	if (!err)
		err = clear_name(u);
	return err ? err : bind_listen(u, &sa, mode, group, backlog);
}

void sg_unixsock_remove(struct sg_unixsock *u)
{
	struct stat st;

	if (u->dirfd < 0)
		return;
	if (u->ino && !fstatat(u->dirfd, u->name, &st, AT_SYMLINK_NOFOLLOW) &&
	    st.st_ino == u->ino && S_ISSOCK(st.st_mode))
		unlinkat(u->dirfd, u->name, 0);
	close(u->dirfd);
	u->dirfd = -1;
}
