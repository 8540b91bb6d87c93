/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns the other end of a loopback TCP connection: the kernel's
 * socket table asked through NETLINK_SOCK_DIAG (inet_diag's exact lookup,
 * idiag_uid), so a local server can tell one local user from another where
 * they all come from 127.0.0.1. Functions return -errno.
 */
#ifndef SG_SOCKOWNER_H
#define SG_SOCKOWNER_H

#include <sys/socket.h>
#include <sys/types.h>

/* A NETLINK_SOCK_DIAG socket for sg_sockowner_uid, or -errno. */
int sg_sockowner_open(void);

/*
 * The UID owning the TCP socket in this network namespace whose own address
 * is peer and whose remote is local: the client end of a connection our
 * socket at local accepted from peer. -ENOENT when there is none (the
 * client is on another host or namespace, or gone already).
 */
int sg_sockowner_uid(int fd, const struct sockaddr *peer, const struct sockaddr *local, uid_t *uid);

#endif
