// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/libbpf.h>

#include "kern/tc.h"

static void tc_hook(struct bpf_tc_hook *hook, __u32 ifindex, enum bpf_tc_attach_point where)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = where;
}

int sg_tc_attach(__u32 ifindex, int prog_fd, int *qdisc_ours)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY,
		    .prog_fd = prog_fd);
	struct bpf_tc_hook hook;
	int err;

	tc_hook(&hook, ifindex, BPF_TC_EGRESS);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	*qdisc_ours = !err;
	err = bpf_tc_attach(&hook, &opts);
	if (err && *qdisc_ours) {
		tc_hook(&hook, ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
		bpf_tc_hook_destroy(&hook);
	}
	return err;
}

int sg_tc_replace(__u32 ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	struct bpf_tc_hook hook;

	tc_hook(&hook, ifindex, BPF_TC_EGRESS);
	return bpf_tc_attach(&hook, &opts);
}

/* Filters on one clsact hook (minor: TC_H_MIN_INGRESS or _EGRESS), from an RTM_GETTFILTER dump. */
static int count_filters(__u32 ifindex, __u32 minor)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
			.nlmsg_type = RTM_GETTFILTER,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			.tcm_parent = TC_H_MAKE(TC_H_CLSACT, minor) },
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct nlmsghdr *nh;
	int fd, len, n = 0, done = 0, err = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		err = -errno;
	while (!err && !done) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			err = -errno;
			break;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (__u32)len); nh = NLMSG_NEXT(nh, len)) {
			struct tcmsg *t = NLMSG_DATA(nh);

			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				break;
			}
			/* Handle 0 is a priority's chain head, not a filter. */
			if (nh->nlmsg_type == RTM_NEWTFILTER && t->tcm_handle)
				n++;
		}
	}
	close(fd);
	return err ? err : n;
}

int sg_tc_detach(__u32 ifindex, int qdisc_ours)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SG_TC_HANDLE, .priority = SG_TC_PRIORITY);
	struct bpf_tc_hook hook;
	int err, in, out;

	tc_hook(&hook, ifindex, BPF_TC_EGRESS);
	err = bpf_tc_detach(&hook, &opts);
	if (err && err != -ENOENT)
		return err;
	if (!qdisc_ours)
		return 0;
	in = count_filters(ifindex, TC_H_MIN_INGRESS);
	out = count_filters(ifindex, TC_H_MIN_EGRESS);
	if (in < 0 || out < 0)
		return in < 0 ? in : out;
	/* Someone else's filters live on it now: leave the qdisc to them. */
	if (in || out)
		return 0;
	tc_hook(&hook, ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
	return bpf_tc_hook_destroy(&hook);
}
