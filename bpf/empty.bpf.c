// SPDX-License-Identifier: GPL-2.0
/*
 * Programs that do nothing: the baseline `make bench` measures the real ones against,
 * at the packet hooks (tests/bench) and at the cgroup ones (scripts/bench-connect.sh),
 * where what they cost is the kernel's dispatch alone.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int sg_empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int sg_empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

/* 1 lets the connect through. */
SEC("cgroup/connect4")
int sg_empty_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect6")
int sg_empty_connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("sockops")
int sg_empty_sockops(struct bpf_sock_ops *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
