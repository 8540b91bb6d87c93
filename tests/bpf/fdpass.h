/* SPDX-License-Identifier: GPL-2.0 */
/* Handing a socket to another process (SCM_RIGHTS), as the kernel tests do with their children's.
 */
#ifndef SG_TEST_FDPASS_H
#define SG_TEST_FDPASS_H

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* fd over the unix socket via; 0 or -1. */
static inline int send_fd(int via, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {}, byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
	return sendmsg(via, &msg, 0) == 1 ? 0 : -1;
}

/* An fd from the unix socket via, or -1. */
static inline int recv_fd(int via)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {}, byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(via, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

#endif
