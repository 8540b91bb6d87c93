// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kern/pinlock.h"
#include "kern/state.h"

/* The pid of the FLOCK on st's inode: "1: FLOCK  ADVISORY  WRITE 4242 00:2a:1234 0 EOF". */
static pid_t lock_holder(const struct stat *st)
{
	unsigned int maj, min;
	unsigned long ino;
	char line[256], kind[16];
	pid_t pid = 0, p;
	FILE *f = fopen("/proc/locks", "r");

	while (f && !pid && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %15s %*s %*s %d %x:%x:%lu", kind, &p, &maj, &min, &ino) ==
			    5 &&
		    !strcmp(kind, "FLOCK") && makedev(maj, min) == st->st_dev && ino == st->st_ino)
			pid = p;
	if (f)
		fclose(f);
	return pid;
}

int sg_pin_lock(pid_t *holder)
{
	struct stat st;
	int fd = open(sg_pin_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	*holder = 0;
	if (fd < 0)
		return -errno;
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	err = -errno;
	if (err == -EWOULDBLOCK && !fstat(fd, &st))
		*holder = lock_holder(&st);
	close(fd);
	return err;
}

int sg_pins_change_lock(int nonblock)
{
	char parent[PATH_MAX];
	int fd, err = sg_parent_dir(sg_pin_dir(), parent, sizeof(parent));

	if (err)
		return err;
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)))
		return fd;
	err = -errno;
	close(fd);
	return err;
}

int sg_pin_lock_current(int fd)
{
	struct stat held, now;

	return !fstat(fd, &held) && !stat(sg_pin_dir(), &now) && held.st_dev == now.st_dev &&
	       held.st_ino == now.st_ino;
}
