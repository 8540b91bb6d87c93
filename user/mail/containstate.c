// SPDX-License-Identifier: GPL-2.0
/* The containment state file, read and written under its locks; see containstate.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "mail/contain.h"
#include "mail/containstate.h"
#include "util/tmpfile.h"

int sg_cstate_lock(const struct sg_config *c, const char *suffix, int wait)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s%s", c->mta.contained_path, suffix);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB)) {
		close(fd);
		return -errno;
	}
	return fd;
}

json_t *sg_contain_state(const struct sg_config *c)
{
	json_error_t jerr;
	json_t *s = json_load_file(c->mta.contained_path, 0, &jerr);

	if (s && !json_is_object(s)) {
		json_decref(s);
		s = NULL;
	}
	return s;
}

/* The directory of path synced: the rename of a journal entry survives the machine's crash too. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, err = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/*
 * Written whole, synced and renamed over the state: a rename of unsynced
 * data can leave an empty file after a power loss on file systems without
 * ext4's rename safety, and the whole journal with it. durable: an intent,
 * its directory synced too before the step it announces; a step's record
 * may be lost with the machine, the step is run again, and each is
 * idempotent.
 */
static int state_save(const struct sg_config *c, json_t *s, int durable)
{
	char tmp[PATH_MAX + 8];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", c->mta.contained_path);
	fd = sg_tmpfile_open(tmp, 0600);
	if (fd < 0)
		return fd;
	if (json_dumpfd(s, fd, JSON_INDENT(1) | JSON_SORT_KEYS) || fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, c->mta.contained_path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err || !durable ? err : sync_dir(c->mta.contained_path);
}

int sg_cstate_update(const struct sg_config *c, int (*fn)(json_t *s, void *ctx), void *ctx,
		     int durable)
{
	int lock = sg_cstate_lock(c, ".lock", 1), ret;
	json_t *s;

	if (lock < 0)
		return lock;
	s = sg_contain_state(c);
	/* One there that does not read (cut short by a crash, edited): its holds are not wiped. */
	if (!s && (!access(c->mta.contained_path, F_OK) || errno != ENOENT)) {
		close(lock);
		return -EBADMSG;
	}
	if (!s)
		s = json_object();
	ret = s ? fn(s, ctx) : -ENOMEM;
	if (!ret)
		ret = state_save(c, s, durable);
	json_decref(s);
	close(lock);
	return ret;
}
