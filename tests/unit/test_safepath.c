// SPDX-License-Identifier: GPL-2.0
/*
 * The root-only check of a hook's path, on a tree made here (as root: the
 * owners are the point): a file of root's in directories of root's passes,
 * also through a link of root's; one reached through a link into a
 * directory a customer owns does not, whoever owns what the link names,
 * since the customer can rename it away and put their own in its place.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "util/safepath.h"

#define CUSTOMER 65534 /* nobody */

static char base[64];

static void path(char *buf, const char *rel)
{
	snprintf(buf, 256, "%s/%s", base, rel);
}

static void make_dir(const char *rel, uid_t owner)
{
	char p[256];

	path(p, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chown(p, owner, 0), 0);
	assert_int_equal(chmod(p, 0755), 0);
}

static void make_exe(const char *rel)
{
	char p[256];
	FILE *f;

	path(p, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	assert_int_equal(chmod(p, 0755), 0);
}

static void make_link(const char *target, const char *rel)
{
	char p[256];

	path(p, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int check(const char *rel, char *why)
{
	char p[256];

	path(p, rel);
	return sg_path_root_only(p, why, 512);
}

static int setup(void **state)
{
	if (geteuid())
		return 0;
	snprintf(base, sizeof(base), "/tmp/test_safepath.XXXXXX");
	if (!mkdtemp(base) || chmod(base, 0755))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	if (!base[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) ? -1 : 0;
}

static void test_links(void **state)
{
	char why[512], want[512];

	if (geteuid())
		skip();
	make_dir("root", 0);
	make_dir("root/bin", 0);
	make_exe("root/bin/hook");
	make_dir("cust", CUSTOMER);
	make_dir("cust/hooks", 0); /* root's, as `sudo mkdir` makes it */
	make_exe("cust/hooks/hook");
	make_link("bin", "root/bin-link");
	make_link("bin/hook", "root/hook-link");
	make_link("../cust/hooks", "root/hooks");
	make_link("../cust/hooks/hook", "root/cust-hook");
	make_link("loop", "root/loop");

	assert_int_equal(check("root/bin/hook", why), 0);
	assert_int_equal(check("root/bin-link/hook", why), 0);
	assert_int_equal(check("root/hook-link", why), 0);
	assert_int_equal(check("root/./bin/../bin/hook", why), 0);

	snprintf(want, sizeof(want), "%s/cust is owned by uid %d, not root", base, CUSTOMER);
	assert_int_equal(check("cust/hooks/hook", why), -EPERM);
	assert_string_equal(why, want);
	assert_int_equal(check("root/hooks/hook", why), -EPERM);
	assert_string_equal(why, want);
	assert_int_equal(check("root/cust-hook", why), -EPERM);
	assert_string_equal(why, want);
	/* The file's fault is said first, as the nearest to what a customer put there. */
	make_exe("cust/own");
	path(want, "cust/own");
	assert_int_equal(chown(want, CUSTOMER, 0), 0);
	snprintf(want, sizeof(want), "%s/cust/own is owned by uid %d, not root", base, CUSTOMER);
	assert_int_equal(check("cust/own", why), -EPERM);
	assert_string_equal(why, want);
	make_link("../cust/hooks/../own", "root/own-link");
	assert_int_equal(check("root/own-link", why), -EPERM);
	assert_string_equal(why, want);
	assert_int_equal(check("root/bin/.", why), -EINVAL);
	assert_int_equal(check("root/loop", why), -ELOOP);
	assert_int_equal(check("root/bin", why), -EINVAL);
	assert_int_equal(check("root/none", why), -ENOENT);
	assert_int_equal(sg_path_root_only("bin/hook", why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
