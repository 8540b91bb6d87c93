// SPDX-License-Identifier: GPL-2.0
/*
 * TC egress: what actually leaves for watched ports, per socket owner,
 * destination and port. Sees sockets opened before smtpguard started and
 * in cgroups the connect hooks do not cover. Never changes a verdict.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "smtpguard.h"
#include "common.bpf.h"
#include "parse.bpf.h"

/* Enough for Ethernet, three VLAN tags, IPv6 with extension headers and TCP with options. */
#define SG_PULL_BYTES 256

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_MAX_FLOWS);
	__type(key, struct sg_flow_key);
	__type(value, struct sg_egress);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_egress SEC(".maps");

/* Parse the linear part; pull more only when headers run past it. */
static __always_inline int sg_parse_skb(struct __sk_buff *skb, struct sg_pkt *pkt)
{
	int parsed = sg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);
	__u32 linear = skb->data_end - skb->data;

	if (pkt->err != SG_ERR_TRUNCATED || skb->len <= linear)
		return parsed;
	if (bpf_skb_pull_data(skb, skb->len < SG_PULL_BYTES ? skb->len : SG_PULL_BYTES))
		return parsed;
	return sg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);
}

#define SG_SOCK_RAW 3

/*
 * The owning socket's UID. Packets with no full socket, and the kernel's own
 * replies (RSTs, time-wait ACKs), which leave through the per-namespace TCP
 * control socket (raw, TCP, root's), have no user: they go to the overflow
 * UID, flagged, never to root or nobody.
 */
static __always_inline void sg_owner(struct __sk_buff *skb, struct sg_flow_key *key)
{
	struct bpf_sock *sk = skb->sk;
	struct sg_settings *s;
	__u32 zero = 0;

	key->uid = bpf_get_socket_uid(skb);
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk && !(sk->type == SG_SOCK_RAW && sk->protocol == IPPROTO_TCP && !key->uid))
		return;
	key->flags |= SG_FLOW_NO_SOCKET;
	s = bpf_map_lookup_elem(&sg_settings, &zero);
	if (s)
		key->uid = s->overflow_uid;
}

SEC("tc")
int sg_egress_prog(struct __sk_buff *skb)
{
	struct sg_egress zero = {}, *e;
	struct sg_flow_key key = {};
	struct sg_pkt pkt;
	struct sg_port *ps;
	__u32 segs;
	__u64 bytes;
	int syn;

	if (sg_parse_skb(skb, &pkt) != SG_PARSED_TCP) {
		if (pkt.err >= 0)
			sg_error(pkt.err);
		return TC_ACT_UNSPEC;
	}
	ps = sg_port_lookup(pkt.dport, SG_PORT_OUTBOUND);
	if (!ps)
		return TC_ACT_UNSPEC;

	segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	bytes = skb->len + (__u64)(segs - 1) * pkt.hdr_len;
	syn = (pkt.tcp_flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN;
	/* Transmit runs with bottom halves off: nothing preempts these per-CPU adds. */
	ps->out_syns += syn;
	ps->out_packets += segs;
	ps->out_bytes += bytes;

	key.port = pkt.dport;
	__builtin_memcpy(key.addr, pkt.daddr, sizeof(key.addr));
	sg_owner(skb, &key);
	e = sg_upsert(&sg_egress, &key, &zero);
	if (!e)
		return TC_ACT_UNSPEC;
	if (syn)
		__sync_fetch_and_add(&e->syns, 1);
	__sync_fetch_and_add(&e->packets, segs);
	__sync_fetch_and_add(&e->bytes, bytes);
	e->last_ns = bpf_ktime_get_boot_ns();
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
