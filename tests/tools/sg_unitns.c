// SPDX-License-Identifier: GPL-2.0
/*
 * sg_unitns: the mount (and UTS) namespace half of tests/tools/unit-sandbox.sh,
 * which reads dist/smtpguard.service and says here what to build; one
 * process, so that a sandboxed daemon starts in milliseconds.
 *
 * Usage: sg_unitns [--uts] [--private-tmp] [--private-dev] [--hide DIR]...
 *                  [--rule ro:PATH|rw:PATH]... [--keep PATH]... -- CMD [ARG...]
 *   --rule: the mode of every mount at or under PATH (the longest PATH
 *           wins); ro: read-only, rw: as it is in the caller's namespace.
 *   --keep: PATH stays visible at its place under a private /tmp or /var/tmp.
 *   --hide: DIR covered by an empty read-only tmpfs nobody may enter.
 * Makes a new private mount namespace from the caller's, then execs CMD in
 * / with the caller's pid. Read-only is set per mount (mount_setattr): the
 * file systems under them, the caller's mounts, stay as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_PATHS 64

struct rule {
	const char *path;
	int ro;
};

static struct rule rules[MAX_PATHS];
static int n_rules;
static const char *keeps[MAX_PATHS];
static int keep_fds[MAX_PATHS];
static int n_keeps;
static const char *hides[MAX_PATHS];
static int n_hides;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "sg_unitns: %s %s: %s\n", what, path, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sg_unitns [--uts] [--private-tmp] [--private-dev] [--hide DIR]...\n"
		"                 [--rule ro:PATH|rw:PATH]... [--keep PATH]... -- CMD...\n");
	exit(2);
}

/* Whether PATH is DIR or under it. */
static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The longest rule's: 1 read-only, 0 as it is. */
static int ro_for(const char *path)
{
	size_t best = 0;
	int ro = 0, i;

	for (i = 0; i < n_rules; i++) {
		size_t n = strlen(rules[i].path);

		if (under(path, rules[i].path) && n >= best) {
			best = n;
			ro = rules[i].ro;
		}
	}
	return ro;
}

static int is_mount_root(const char *path)
{
	struct statx st;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) < 0)
		return -1;
	return !!(st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			die("mkdir", buf);
		*p = '/';
	}
}

/* A bind of the descriptor FD's file at PATH, made in the private /tmp. */
static void bind_fd_at(int fd, const char *path)
{
	char src[64];
	struct stat st;

	if (fstat(fd, &st) < 0)
		die("fstat", path);
	mkdirs(path);
	if (S_ISDIR(st.st_mode) ? mkdir(path, 0755) < 0 && errno != EEXIST
				: mknod(path, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
		die("mountpoint", path);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind", path);
	close(fd);
}

static int is_private_tmp(const char *path)
{
	return under(path, "/tmp") || under(path, "/var/tmp");
}

/* Descriptors of the kept paths under /tmp or /var/tmp (one per tree), before a tmpfs hides them.
 */
static void open_keeps(void)
{
	int i, j;

	for (i = 0; i < n_keeps; i++) {
		keep_fds[i] = -1;
		if (!is_private_tmp(keeps[i]))
			continue;
		for (j = 0; j < n_keeps; j++)
			if (j != i && under(keeps[i], keeps[j]) && strcmp(keeps[i], keeps[j]) &&
			    is_private_tmp(keeps[j]))
				break;
		if (j < n_keeps)
			continue;
		keep_fds[i] = open(keeps[i], O_PATH | O_CLOEXEC);
		if (keep_fds[i] < 0)
			die("open", keeps[i]);
	}
}

static void private_tmp(void)
{
	int i;

	open_keeps();
	if (mount("sgsandbox-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		die("tmpfs", "/tmp");
	if (mount("sgsandbox-tmp", "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		die("tmpfs", "/var/tmp");
	for (i = 0; i < n_keeps; i++)
		if (keep_fds[i] >= 0)
			bind_fd_at(keep_fds[i], keeps[i]);
}

/* What PrivateDevices=yes leaves in /dev: the pseudo-devices, ptys, shm and links. */
static void private_dev(void)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "pts/ptmx", "/dev/ptmx" },
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
		{ "/run/systemd/journal/dev-log", "/dev/log" },
	};
	dev_t devs[6];
	char path[64];
	int pts, shm;
	size_t i;

	for (i = 0; i < 6; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		if (stat(path, &st) < 0)
			die("stat", path);
		devs[i] = st.st_rdev;
	}
	pts = open("/dev/pts", O_PATH | O_CLOEXEC);
	shm = open("/dev/shm", O_PATH | O_CLOEXEC);
	if (pts < 0 || shm < 0)
		die("open", "/dev/pts, /dev/shm");
	if (mount("sgsandbox-dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0)
		die("tmpfs", "/dev");
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/dev/%s", nodes[i]);
		if (mknod(path, S_IFCHR | 0666, devs[i]) < 0 || chmod(path, 0666) < 0)
			die("mknod", path);
	}
	bind_fd_at(pts, "/dev/pts");
	bind_fd_at(shm, "/dev/shm");
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			die("symlink", links[i][1]);
}

/* mountinfo's escapes (\040 for a space...) decoded in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/* Every mount under a read-only rule made read-only, itself only (not recursive). */
static void apply_ro(void)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	char line[4096], mp[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		die("open", "/proc/self/mountinfo");
	while (fgets(line, sizeof(line), f)) {
		int fd;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (!ro_for(mp))
			continue;
		fd = open(mp, O_PATH | O_CLOEXEC | O_NOFOLLOW);
		/* A mount hidden by a later one at its parent: not reachable, nothing to do. */
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			die("open", mp);
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
			die("read-only", mp);
		close(fd);
	}
	fclose(f);
}

static int by_length(const void *a, const void *b)
{
	return (int)strlen(((const struct rule *)a)->path) -
	       (int)strlen(((const struct rule *)b)->path);
}

int main(int argc, char **argv)
{
	int uts = 0, ptmp = 0, pdev = 0, i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--uts")) {
			uts = 1;
		} else if (!strcmp(argv[i], "--private-tmp")) {
			ptmp = 1;
		} else if (!strcmp(argv[i], "--private-dev")) {
			pdev = 1;
		} else if (i + 1 < argc && n_rules < MAX_PATHS && !strcmp(argv[i], "--rule") &&
			   (!strncmp(argv[i + 1], "ro:/", 4) || !strncmp(argv[i + 1], "rw:/", 4))) {
			rules[n_rules].ro = argv[++i][1] == 'o';
			rules[n_rules++].path = argv[i] + 3;
		} else if (i + 1 < argc && n_keeps < MAX_PATHS && !strcmp(argv[i], "--keep")) {
			keeps[n_keeps++] = argv[++i];
		} else if (i + 1 < argc && n_hides < MAX_PATHS && !strcmp(argv[i], "--hide")) {
			hides[n_hides++] = argv[++i];
		} else {
			usage();
		}
	}
	if (i + 1 >= argc)
		usage();
	if (unshare(CLONE_NEWNS | (uts ? CLONE_NEWUTS : 0)) < 0)
		die("unshare", "");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("private", "/");
	if (ptmp)
		private_tmp();
	if (pdev)
		private_dev();
	for (int h = 0; h < n_hides; h++)
		if (access(hides[h], F_OK) == 0 &&
		    mount("sgsandbox-hidden", hides[h], "tmpfs", MS_RDONLY, "mode=0000") < 0)
			die("hide", hides[h]);
	/* Each rule's path a mount of its own, so that its mode is its own; shortest first. */
	qsort(rules, n_rules, sizeof(rules[0]), by_length);
	for (int r = 0; r < n_rules; r++) {
		int root = is_mount_root(rules[r].path);

		if (root == 0 &&
		    mount(rules[r].path, rules[r].path, NULL, MS_BIND | MS_REC, NULL) < 0)
			die("bind", rules[r].path);
	}
	apply_ro();
	if (chdir("/") < 0)
		die("chdir", "/");
	execvp(argv[i + 1], argv + i + 1);
	die("exec", argv[i + 1]);
}
