// SPDX-License-Identifier: GPL-2.0
/* Whether only root can change a program; see safepath.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "util/safepath.h"

/* One step of the path: root's, and writable by root alone (or sticky, for a directory). */
static int check(const char *at, int dir, char *why, size_t len)
{
	struct stat st;

	if (stat(at, &st)) {
		snprintf(why, len, "%s: %s", at, strerror(errno));
		return -errno;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(why, len, "%s is not a %s", at, dir ? "directory" : "regular file");
		return -EINVAL;
	}
	if (!dir && !(st.st_mode & S_IXUSR)) {
		snprintf(why, len, "%s is not executable", at);
		return -EACCES;
	}
	if (st.st_uid != 0) {
		snprintf(why, len, "%s is owned by uid %u, not root", at, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st.st_mode & S_ISVTX))) {
		snprintf(why, len, "%s is writable by %s", at,
			 st.st_mode & S_IWOTH ? "everyone" : "its group");
		return -EPERM;
	}
	return 0;
}

#define LINKS_MAX 40 /* as the kernel's own bound on a path's symbolic links */

/* The link at, followed: its target before the rest of the path, from "/" when absolute. */
static int follow(const char *at, char rest[PATH_MAX], char cur[PATH_MAX], char *why, size_t len)
{
	char target[PATH_MAX], joined[2 * PATH_MAX];
	ssize_t t = readlink(at, target, sizeof(target) - 1);

	if (t < 0) {
		snprintf(why, len, "%s: %s", at, strerror(errno));
		return -errno;
	}
	target[t] = '\0';
	if ((size_t)snprintf(joined, sizeof(joined), "%s%s", target, rest) >= PATH_MAX) {
		snprintf(why, len, "%s: %s", at, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	strcpy(rest, joined);
	if (target[0] == '/')
		strcpy(cur, "/");
	return 0;
}

/*
 * The path walked as the kernel walks it, one name at a time from "/":
 * each directory on the way checked, a symbolic link followed from where it
 * is (its directory checked already, so that no one else can repoint it),
 * then the file the walk ends at. Checking the names as written, each
 * stat()ed through its links, would pass a link to a root-owned directory
 * or file inside a customer's directory, which the customer can rename
 * away and replace. What is said is the file's fault first, else the
 * deepest directory's: the one nearest to what the customer put there.
 */
int sg_path_root_only(const char *path, char *why, size_t len)
{
	char cur[PATH_MAX], rest[PATH_MAX], next[PATH_MAX], name[NAME_MAX + 1];
	char dir_why[PATH_MAX + 128], step_why[PATH_MAX + 128];
	int links = 0, err, dir_err = 0, last, final;
	struct stat st;
	const char *c;
	size_t n;

	if (path[0] != '/' || strlen(path) >= sizeof(rest)) {
		snprintf(why, len, "'%s' is not an absolute path", path);
		return -EINVAL;
	}
	strcpy(rest, path);
	strcpy(cur, "/");
	err = 0;
	next[0] = '\0';
	for (last = 0; !last;) {
		/* A directory someone else may change: said unless something deeper is. */
		err = check(cur, 1, step_why, sizeof(step_why));
		if (err == -EPERM) {
			dir_err = err;
			strcpy(dir_why, step_why);
		} else if (err) {
			snprintf(why, len, "%s", step_why);
			return err;
		}
		c = rest + strspn(rest, "/");
		n = strcspn(c, "/");
		if (!n) {
			snprintf(why, len, "%s is not a regular file", path);
			return -EINVAL;
		}
		if (n > NAME_MAX) {
			snprintf(why, len, "%s: %s", path, strerror(ENAMETOOLONG));
			return -ENAMETOOLONG;
		}
		memcpy(name, c, n);
		name[n] = '\0';
		c += n;
		final = !c[strspn(c, "/")];
		memmove(rest, c, strlen(c) + 1);
		if (final && (!strcmp(name, ".") || !strcmp(name, ".."))) {
			snprintf(why, len, "%s is not a regular file", path);
			return -EINVAL;
		}
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			/* cur has no links in it: its parent is its own text's. */
			*(strrchr(cur, '/') + (strrchr(cur, '/') == cur)) = '\0';
			continue;
		}
		if ((size_t)snprintf(next, sizeof(next), "%s%s%s", cur, strcmp(cur, "/") ? "/" : "",
				     name) >= sizeof(next)) {
			snprintf(why, len, "%s: %s", path, strerror(ENAMETOOLONG));
			return -ENAMETOOLONG;
		}
		if (lstat(next, &st)) {
			snprintf(why, len, "%s: %s", next, strerror(errno));
			return -errno;
		}
		if (S_ISLNK(st.st_mode)) {
			err = ++links > LINKS_MAX ? -ELOOP : follow(next, rest, cur, why, len);
			if (err == -ELOOP)
				snprintf(why, len, "%s: %s", next, strerror(ELOOP));
			if (err)
				return err;
			continue;
		}
		last = final;
		if (!last)
			strcpy(cur, next);
	}
	err = check(next, 0, why, len);
	if (!err && dir_err) {
		snprintf(why, len, "%s", dir_why);
		err = dir_err;
	}
	return err;
}
