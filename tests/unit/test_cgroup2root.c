// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup v2 root (kern/state.h) in a private mount namespace: asked
 * again with no mount made, it reads nothing (the daemon asks four times a
 * tick); after each mount or unmount it answers from the new mount table.
 * Needs root (a mount namespace, mounting cgroup2).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "kern/state.h"

#define ASKS	   100
#define MAX_MOUNTS 64

/* Bytes this process has read so far (rchar in /proc/self/io). */
static unsigned long long bytes_read(void)
{
	unsigned long long n = 0;
	char line[128];
	FILE *f = fopen("/proc/self/io", "re");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && sscanf(line, "rchar: %llu", &n) != 1)
		;
	fclose(f);
	return n;
}

/* The size of the mount table as one read gets it. */
static size_t mounts_size(void)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	int fd = open("/proc/self/mounts", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		n += r;
	close(fd);
	return n;
}

static void test_asked_again_reads_nothing(void **state)
{
	char root[PATH_MAX];
	unsigned long long before, after;
	size_t table = mounts_size();
	int i;

	(void)state;
	assert_int_equal(sg_cgroup2_root(root, sizeof(root)), 0);
	before = bytes_read();
	for (i = 0; i < ASKS; i++)
		assert_int_equal(sg_cgroup2_root(root, sizeof(root)), 0);
	after = bytes_read();
	/* What was read is the first /proc/self/io only, shorter than one table. */
	assert_in_range(after - before, 0, table - 1);
}

static void test_follows_mounts(void **state)
{
	char dir[] = "/tmp/sgc2-XXXXXX", root[PATH_MAX];
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sg_cgroup2_root(root, sizeof(root)), 0);
	/* A new mount is last in the table: the root stays the first one. */
	assert_int_equal(mount("cgroup2", dir, "cgroup2", 0, NULL), 0);
	assert_int_equal(sg_cgroup2_root(root, sizeof(root)), 0);
	assert_string_not_equal(root, dir);
	/* Each unmount of the root answered makes the next one the root, up to ours. */
	for (i = 0; i < MAX_MOUNTS && strcmp(root, dir); i++) {
		assert_int_equal(umount2(root, MNT_DETACH), 0);
		assert_int_equal(sg_cgroup2_root(root, sizeof(root)), 0);
	}
	assert_string_equal(root, dir);
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asked_again_reads_nothing),
		cmocka_unit_test(test_follows_mounts),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_cgroup2root: needs root (a mount namespace, cgroup2)\n");
		return 1;
	}
	/* The unmounts stay in this namespace, private so that none reaches the host's. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		fprintf(stderr, "test_cgroup2root: private mount namespace: %s\n", strerror(errno));
		return 1;
	}
	return cmocka_run_group_tests_name("cgroup2root", tests, NULL, NULL);
}
