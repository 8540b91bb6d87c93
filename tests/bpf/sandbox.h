/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a kernel test runs its programs on real sockets: a temporary
 * directory, a private bpffs in it for the pins (SMTPGUARD_PIN_DIR), a
 * cgroup of its own under the cgroup2 root (wherever that is mounted), and
 * a network namespace of its own, so nothing else listens and nothing
 * leaves the machine. Shared by the connect-hook and sock_ops tests.
 */
#ifndef SG_TEST_SANDBOX_H
#define SG_TEST_SANDBOX_H

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kern/loader.h"
#include "kern/state.h"

struct sandbox {
	char dir[64], bpffs[96], cgroup[PATH_MAX];
	__u64 cgroup_id;
};

/* A command run by the shell, in our network namespace; returns its exit status. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "'%s' failed (status %d)\n", cmd, rc);
	return rc;
}

/* Makes it all and enters the namespace; on failure says why, and sandbox_leave() undoes it. */
static int sandbox_enter(struct sandbox *s, const char *name)
{
	char root[PATH_MAX - 64]; /* room for our cgroup's name */
	struct stat st;

	snprintf(s->dir, sizeof(s->dir), "/tmp/sg-%s.XXXXXX", name);
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -1;
	}
	snprintf(s->bpffs, sizeof(s->bpffs), "%s/bpffs", s->dir);
	if (mkdir(s->bpffs, 0700) || mount("bpf", s->bpffs, "bpf", 0, NULL)) {
		fprintf(stderr, "cannot mount a private bpffs at %s: %s\n", s->bpffs,
			strerror(errno));
		return -1;
	}
	setenv("SMTPGUARD_PIN_DIR", strcat(strcpy(root, s->bpffs), "/smtpguard"), 1);
	if (sg_cgroup2_root(root, sizeof(root))) {
		fprintf(stderr, "no cgroup v2 hierarchy\n");
		return -1;
	}
	snprintf(s->cgroup, sizeof(s->cgroup), "%s/sg-%s-%d", root, name, getpid());
	if (mkdir(s->cgroup, 0755) || stat(s->cgroup, &st)) {
		fprintf(stderr, "mkdir %s: %s\n", s->cgroup, strerror(errno));
		s->cgroup[0] = '\0';
		return -1;
	}
	s->cgroup_id = st.st_ino;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Undoes whatever part of sandbox_enter() got done, and detaches what the test attached. */
static void sandbox_leave(struct sandbox *s)
{
	if (s->bpffs[0]) {
		sg_detach();
		umount(s->bpffs);
		rmdir(s->bpffs);
	}
	if (s->cgroup[0])
		rmdir(s->cgroup);
	if (s->dir[0])
		rmdir(s->dir);
}

#endif
