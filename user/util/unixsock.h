/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A listening unix socket that only its owners can have put there: the
 * policy service's and the exporter's control socket. Functions return -errno.
 */
#ifndef SG_UNIXSOCK_H
#define SG_UNIXSOCK_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct sg_unixsock {
	int dirfd;		 /* the socket's directory, held open; -1: none */
	char name[NAME_MAX + 1]; /* the socket's, in dirfd */
	ino_t ino;		 /* the socket made, to remove it only while it is ours */
};

#define SG_UNIXSOCK_INIT                                                                           \
	{                                                                                          \
		.dirfd = -1                                                                        \
	}

/*
 * Listens at the absolute path: its directory, made (0755) when missing,
 * must be root's or one of owners' and writable by no one else (-EPERM);
 * a socket left there by an earlier run is replaced, anything else, a
 * symlink included, left alone (-EEXIST). The socket is made with mode
 * (no chmod after bind, which a symlink put there since would redirect)
 * and, unless group is (gid_t)-1, given that group. Returns the listening,
 * non-blocking fd.
 */
int sg_unixsock_listen(struct sg_unixsock *u, const char *path, const uid_t *owners,
		       size_t n_owners, mode_t mode, gid_t group, int backlog);

/* Removes the socket if it is still the one made (a newer one may have replaced it). */
void sg_unixsock_remove(struct sg_unixsock *u);

#endif
