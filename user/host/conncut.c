// SPDX-License-Identifier: GPL-2.0
/*
 * Cutting a UID's open SMTP connections, so that a block stops a session
 * already under way (a long or pipelined one carries any number of
 * messages) and not only the next connect(). The kernel's socket destroy
 * through NETLINK_SOCK_DIAG (CONFIG_INET_DIAG_DESTROY, set in Debian's
 * kernels): a dump of the TCP sockets, those of the UID to a watched port
 * kept, and each destroyed by its cookie, so that a four-tuple reused
 * meanwhile is never hit. The peer gets a reset, the owner's next read or
 * write ECONNABORTED. With [ports] detect_any, the destinations the UID was
 * seen speaking SMTP to on other ports (sg_smtp), which the connect hooks
 * police for it, are cut too. sock_diag sees one network namespace: the
 * caller's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <bpf/bpf.h>

#include "host/conncut.h"
#include "kern/collect.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "kern/subuids.h"
#include "util/log.h"

/* Every state in which mail can still leave: opening, open, or closed with data queued. */
#define LIVE_STATES                                                                                \
	((1U << TCP_SYN_SENT) | (1U << TCP_ESTABLISHED) | (1U << TCP_CLOSE_WAIT) |                 \
	 (1U << TCP_FIN_WAIT1) | (1U << TCP_LAST_ACK))

/* Large enough for a dump's batch: the kernel fills what it is given. */
#define RECV_BYTES (32 * 1024)

struct diag_req {
	struct nlmsghdr nh;
	struct inet_diag_req_v2 r;
};

struct target {
	__u8 family;
	struct inet_diag_sockid id; /* its cookie included */
};

struct cut_ctx {
	int fd;
	__u32 uid, seq;
	int subuids; /* sg_subuids, or -1: a sub-UID's sockets are its owner's */
	const __u8 *watched;
	struct sg_smtp dests[SG_SMTP_SLOTS]; /* detect_any: the UID's SMTP on other ports */
	int n_dests;
	struct target *targets;
	size_t n, cap;
	char buf[RECV_BYTES];
};

static int send_req(struct cut_ctx *c, __u16 type, __u16 flags, __u8 family,
		    const struct inet_diag_sockid *id)
{
	struct diag_req req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | flags,
			.nlmsg_seq = ++c->seq },
		.r = { .sdiag_family = family,
		       .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = LIVE_STATES },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (id)
		req.r.id = *id;
	if (sendto(c->fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/* The socket's destination is one the UID was seen speaking SMTP to. */
static int detected(const struct cut_ctx *c, const struct inet_diag_msg *m)
{
	__u32 addr[4] = { 0, 0, htonl(0xffff), m->id.idiag_dst[0] };
	int i;

	if (m->idiag_family == AF_INET6)
		memcpy(addr, m->id.idiag_dst, sizeof(addr));
	for (i = 0; i < c->n_dests; i++)
		if (c->dests[i].port == ntohs(m->id.idiag_dport) &&
		    !memcmp(c->dests[i].addr, addr, sizeof(addr)))
			return 1;
	return 0;
}

/* A socket of the UID to a watched port; never trusts the message's length. */
static const struct inet_diag_msg *ours(const struct cut_ctx *c, const struct nlmsghdr *nh)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nh);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
	    sg_subuids_owner(c->subuids, m->idiag_uid) != c->uid ||
	    !(sg_port_watched(c->watched, ntohs(m->id.idiag_dport)) || detected(c, m)))
		return NULL;
	return m;
}

/* With detect_any on, the UID's sg_smtp entries: at most one a slot. */
static int load_dests(struct cut_ctx *c)
{
	struct sg_smtp_key key = { .uid = c->uid };
	struct sg_settings s;
	int fd, err = sg_settings_get(&s);

	if (err || !(s.flags & SG_SETTING_DETECT_ANY))
		return err == -ENOENT ? 0 : err;
	fd = sg_pin_open(SG_MAP_SMTP);
	if (fd < 0)
		return fd;
	for (key.slot = 0; key.slot < SG_SMTP_SLOTS; key.slot++)
		if (!bpf_map_lookup_elem(fd, &key, &c->dests[c->n_dests]))
			c->n_dests++;
	close(fd);
	return 0;
}

static int keep(struct cut_ctx *c, const struct inet_diag_msg *m)
{
	struct target *t;

	if (c->n == c->cap) {
		t = realloc(c->targets, (c->cap ? c->cap * 2 : 16) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		c->targets = t;
		c->cap = c->cap ? c->cap * 2 : 16;
	}
	c->targets[c->n].family = m->idiag_family;
	c->targets[c->n++].id = m->id;
	return 0;
}

/*
 * Messages answering request seq, each given to fn until the answer ends
 * (NLMSG_DONE, an error or ack, or a single message when not a dump).
 * Returns fn's or the kernel's -errno, or 0.
 */
static int receive(struct cut_ctx *c, int dump,
		   int (*fn)(struct cut_ctx *c, const struct nlmsghdr *nh))
{
	const struct nlmsgerr *e;
	struct nlmsghdr *nh;
	ssize_t len;
	int err;

	for (;;) {
		len = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		if (!len)
			return -EPROTO;
		for (nh = (struct nlmsghdr *)c->buf; NLMSG_OK(nh, (size_t)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != c->seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				e = NLMSG_DATA(nh);
				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error;
			}
			err = fn(c, nh);
			if (err || !dump)
				return err;
		}
	}
}

static int collect(struct cut_ctx *c, const struct nlmsghdr *nh)
{
	const struct inet_diag_msg *m = ours(c, nh);

	return m ? keep(c, m) : 0;
}

/* The answer to one socket's lookup: -ESRCH unless it is still the UID's. */
static int still_ours(struct cut_ctx *c, const struct nlmsghdr *nh)
{
	return ours(c, nh) ? 0 : -ESRCH;
}

static int no_message(struct cut_ctx *c, const struct nlmsghdr *nh)
{
	return -EPROTO;
}

/* 1 when cut, 0 when gone or no longer the UID's, or -errno. */
static int cut_one(struct cut_ctx *c, const struct target *t)
{
	int err = send_req(c, SOCK_DIAG_BY_FAMILY, 0, t->family, &t->id);

	/* The owner again, right before: the UID match is what makes this safe. */
	if (!err)
		err = receive(c, 0, still_ours);
	if (!err)
		err = send_req(c, SOCK_DESTROY, NLM_F_ACK, t->family, &t->id);
	if (!err)
		err = receive(c, 0, no_message);
	if (err == -ENOENT || err == -ESRCH)
		return 0;
	return err ? err : 1;
}

static int dump(struct cut_ctx *c, __u8 family)
{
	int err = send_req(c, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family, NULL);

	if (!err)
		err = receive(c, 1, collect);
	/* No IPv6 in this kernel: no IPv6 sockets either. */
	return err == -ENOENT && family == AF_INET6 ? 0 : err;
}

int sg_cut_connections(__u32 uid, const __u8 *watched)
{
	struct cut_ctx *c = calloc(1, sizeof(*c));
	__u8 *ports = NULL;
	int err = 0, cut = 0, r;
	size_t i;

	if (!c)
		return -ENOMEM;
	c->uid = uid;
	c->watched = watched;
	c->subuids = sg_pin_open(SG_MAP_SUBUIDS);
	if (!watched) {
		ports = malloc(SG_PORT_BITS);
		err = ports ? sg_watched_ports(ports) : -ENOMEM;
		c->watched = ports;
		if (!err)
			err = load_dests(c);
	}
	c->fd = err ? -1 : socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (!err && c->fd < 0)
		err = -errno;
	if (!err)
		err = dump(c, AF_INET);
	if (!err)
		err = dump(c, AF_INET6);
	for (i = 0; i < c->n; i++) {
		r = cut_one(c, &c->targets[i]);
		if (r < 0) {
			sg_error("cutting a connection of uid %u: %s", uid, strerror(-r));
			err = r;
		}
		cut += r > 0;
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->subuids >= 0)
		close(c->subuids);
	free(c->targets);
	free(c);
	free(ports);
	return cut || !err ? cut : err;
}
