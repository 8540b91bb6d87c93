// SPDX-License-Identifier: GPL-2.0
/* The owner of a connection's other end, from the kernel's socket table; see sockowner.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/time.h>

#include "host/sockowner.h"

/* The kernel answers an exact lookup at once: a wait this long means something is wrong. */
#define REPLY_TIMEOUT_US 100000

int sg_sockowner_open(void)
{
	struct timeval tv = { .tv_usec = REPLY_TIMEOUT_US };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), err;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* addr's family, address and port into the id's half; -EAFNOSUPPORT for other families. */
static int id_half(const struct sockaddr *addr, __be32 ip[4], __be16 *port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;

	if (addr->sa_family == AF_INET) {
		ip[0] = in->sin_addr.s_addr;
		*port = in->sin_port;
	} else if (addr->sa_family == AF_INET6) {
		memcpy(ip, &in6->sin6_addr, sizeof(in6->sin6_addr));
		*port = in6->sin6_port;
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int sg_sockowner_uid(int fd, const struct sockaddr *peer, const struct sockaddr *local, uid_t *uid)
{
	static __u32 seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST,
			 .nlmsg_seq = ++seq },
		.r = { .sdiag_family = peer->sa_family,
		       .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ~0U,
		       .id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } },
	};
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} reply;
	struct inet_diag_msg *msg = NLMSG_DATA(&reply.nlh);
	ssize_t n;
	int err;

	if (peer->sa_family != local->sa_family)
		return -ENOENT;
	err = id_half(peer, req.r.id.idiag_src, &req.r.id.idiag_sport);
	if (!err)
		err = id_half(local, req.r.id.idiag_dst, &req.r.id.idiag_dport);
	if (err)
		return err;
	if (send(fd, &req, sizeof(req), 0) != sizeof(req))
		return -errno;
	/* Replies to earlier requests that timed out are skipped by their sequence number. */
	do {
		n = recv(fd, &reply, sizeof(reply), 0);
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
	} while (!NLMSG_OK(&reply.nlh, (size_t)n) || reply.nlh.nlmsg_seq != seq);
	if (reply.nlh.nlmsg_type == NLMSG_ERROR) {
		err = ((struct nlmsgerr *)NLMSG_DATA(&reply.nlh))->error;
		return err ? err : -ENOENT;
	}
	if (reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    reply.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(*msg)))
		return -EPROTO;
	*uid = msg->idiag_uid;
	return 0;
}
