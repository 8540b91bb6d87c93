// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "smtpguard.h"
#include "kern/state.h"

#define SG_CGROUP2_FALLBACK "/run/smtpguard/cgroup2"
#define SG_FILEID_KERNFS 0xfe /* include/linux/exportfs.h, not in UAPI */

const char *sg_pin_dir(void)
{
	const char *dir = getenv("SMTPGUARD_PIN_DIR");

	return dir && *dir ? dir : SG_PIN_DIR_DEFAULT;
}

int sg_pin_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", sg_pin_dir(), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sg_parent_dir(const char *path, char *buf, size_t len)
{
	char *slash;

	if (snprintf(buf, len, "%s", path) >= (int)len)
		return -ENAMETOOLONG;
	slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return -EINVAL;
	*slash = '\0';
	return 0;
}

int sg_pin_mmap(const char *name, size_t size, void **out)
{
	int fd = sg_pin_open(name);
	void *m;

	*out = NULL;
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	*out = m;
	return 0;
}

int sg_pin_open(const char *name)
{
	char path[PATH_MAX];
	int err = sg_pin_path(path, sizeof(path), name);
	int fd;

	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int sg_pinned(const char *name)
{
	char path[PATH_MAX];

	return !sg_pin_path(path, sizeof(path), name) && !access(path, F_OK);
}

int sg_pin_replace(int fd, const char *name)
{
	char path[PATH_MAX], tmp[PATH_MAX], tmp_name[NAME_MAX];
	int err = sg_pin_path(path, sizeof(path), name);

	/* Not name.new: bpffs refuses dots in names. */
	if (!err &&
	    snprintf(tmp_name, sizeof(tmp_name), "upgrade_%s", name) >= (int)sizeof(tmp_name))
		err = -ENAMETOOLONG;
	if (!err)
		err = sg_pin_path(tmp, sizeof(tmp), tmp_name);
	if (err)
		return err;
	/* One a crash left behind. */
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

int sg_state_present(void)
{
	char path[PATH_MAX];
	int err = sg_pin_path(path, sizeof(path), SG_MAP_PORTS);

	if (err)
		return err;
	return access(path, F_OK) ? -ENOENT : 0;
}

int sg_state_any(void)
{
	struct dirent *de;
	int any = 0;
	DIR *d = opendir(sg_pin_dir());

	while (d && !any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	if (d)
		closedir(d);
	return any;
}

static int is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int sg_state_prepare(void)
{
	const char *dir = sg_pin_dir();
	char parent[PATH_MAX];
	struct stat st;
	int err = sg_parent_dir(dir, parent, sizeof(parent));

	if (err)
		return err;
	if (!is_bpffs(parent)) {
		/* Only the standard location is ours to mount; a custom one must already be bpffs. */
		if (strcmp(dir, SG_PIN_DIR_DEFAULT))
			return -ENOTSUP;
		err = mkdir_p(parent);
		if (err)
			return err;
		if (mount("bpf", parent, "bpf", 0, "mode=0700"))
			return -errno;
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	/* Made first by a customer, on a bpffs mounted open to all: not ours to pin into. */
	if (lstat(dir, &st))
		return -errno;
	return S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022) ? 0 : -EPERM;
}

const char *sg_state_error(int err)
{
	return err == -EPERM ? "another user's, or open to others: remove it and mount the bpffs "
			       "with mode=0700"
			     : strerror(-err);
}

int sg_state_remove(void)
{
	const char *dir = sg_pin_dir();
	struct dirent *de;
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}

/* The first cgroup2 mount in the mount table; -ENOENT: none. */
static int cgroup2_mount(char *buf, size_t len)
{
	struct mntent *m;
	FILE *f;

	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return -errno;
	while ((m = getmntent(f)) && strcmp(m->mnt_type, "cgroup2"))
		;
	if (m)
		snprintf(buf, len, "%s", m->mnt_dir);
	endmntent(f);
	return m ? 0 : -ENOENT;
}

/*
 * The daemon asks for the root four times a tick; the mount table is read
 * again only when it changed: poll() on an open /proc/self/mounts reports
 * POLLPRI once for the changes made since the poll before.
 */
static struct {
	pthread_mutex_t lock;
	int fd;		     /* /proc/self/mounts, or -1 */
	char root[PATH_MAX]; /* the answer at the last read; "" for none */
} cgroup2 = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

static int cgroup2_root(char *buf, size_t len)
{
	struct pollfd p = { .fd = cgroup2.fd, .events = POLLPRI };
	int err;

	if (cgroup2.fd < 0)
		cgroup2.fd = p.fd = open("/proc/self/mounts", O_RDONLY | O_CLOEXEC);
	/* A descriptor just opened reports no change: the root, still unknown, is read below. */
	if (p.fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLPRI))
		cgroup2.root[0] = 0;
	if (cgroup2.fd < 0 || !cgroup2.root[0]) {
		err = cgroup2_mount(cgroup2.root, sizeof(cgroup2.root));
		if (err == -ENOENT) {
			err = mkdir_p(SG_CGROUP2_FALLBACK);
			if (!err && mount("cgroup2", SG_CGROUP2_FALLBACK, "cgroup2", 0, NULL))
				err = -errno;
			if (!err)
				snprintf(cgroup2.root, sizeof(cgroup2.root), "%s",
					 SG_CGROUP2_FALLBACK);
		}
		if (err) {
			cgroup2.root[0] = 0;
			return err;
		}
	}
	snprintf(buf, len, "%s", cgroup2.root);
	return 0;
}

int sg_cgroup2_root(char *buf, size_t len)
{
	int err;

	pthread_mutex_lock(&cgroup2.lock);
	err = cgroup2_root(buf, len);
	pthread_mutex_unlock(&cgroup2.lock);
	return err;
}

int sg_cgroup_alive(__u64 id)
{
	/* A kernfs file handle is the node id: open_by_handle_at refuses removed nodes. */
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(__u64)];
	} h = { .fh = { .handle_bytes = sizeof(__u64), .handle_type = SG_FILEID_KERNFS } };
	char root[PATH_MAX];
	int mfd, fd;

	if (!id || sg_cgroup2_root(root, sizeof(root)))
		return 0;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	mfd = open(root, O_RDONLY | O_DIRECTORY);
	if (mfd < 0)
		return 0;
	fd = open_by_handle_at(mfd, &h.fh, O_RDONLY);
	close(mfd);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}
