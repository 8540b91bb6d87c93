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

/* The lock directory beside the pins: the pin directory's name and suffix. */
static int lock_path(char *buf, size_t len, const char *suffix)
{
	return snprintf(buf, len, "%s%s", sg_pin_dir(), suffix) >= (int)len ? -ENAMETOOLONG : 0;
}

/*
 * The lock directory with suffix, made when missing, opened: -EPERM when
 * it is not this user's alone. On a bpffs mounted open to all (a plain
 * `mount -t bpf` gives 1777) a customer could otherwise make it first, or
 * open it and hold its lock, and so keep every attach, detach and repair
 * waiting.
 */
static int open_lock_dir(const char *suffix)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err = lock_path(path, sizeof(path), suffix);

	if (err)
		return err;
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int sg_pin_lock(pid_t *holder)
{
	struct stat st;
	int fd = open_lock_dir(SG_PIN_LOCK_DAEMON), err;

	*holder = 0;
	if (fd < 0)
		return fd;
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	err = -errno;
	if (err == -EWOULDBLOCK && !fstat(fd, &st))
		*holder = lock_holder(&st);
	close(fd);
	return err;
}

static int take(const char *suffix, int nonblock)
{
	int fd = open_lock_dir(suffix), err;

	if (fd < 0)
		return fd;
	if (!flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)))
		return fd;
	err = -errno;
	close(fd);
	return err;
}

int sg_pins_change_lock(int nonblock)
{
	return take(SG_PIN_LOCK_CHANGE, nonblock);
}

int sg_pins_bans_lock(void)
{
	return take(SG_PIN_LOCK_BANS, 0);
}

int sg_pins_policies_lock(void)
{
	return take(SG_PIN_LOCK_POLICIES, 0);
}

pid_t sg_pin_lock_holder(void)
{
	char path[PATH_MAX];
	struct stat st;

	if (lock_path(path, sizeof(path), SG_PIN_LOCK_DAEMON) || stat(path, &st))
		return 0;
	return lock_holder(&st);
}

/*
 * The "_change" directory stays: an attach waiting on it would otherwise
 * take a lock on a removed directory while a newcomer locks a new one.
 */
void sg_pin_lock_remove(int fd)
{
	char path[PATH_MAX];

	if (!lock_path(path, sizeof(path), SG_PIN_LOCK_DAEMON))
		rmdir(path);
	close(fd);
}

__u64 sg_pin_dir_ino(void)
{
	struct stat st;

	return stat(sg_pin_dir(), &st) ? 0 : st.st_ino;
}
