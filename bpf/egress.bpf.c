// SPDX-License-Identifier: GPL-2.0
/*
 * TC egress: what actually leaves for watched ports, per socket owner,
 * destination and port. Sees sockets opened before smtpguard started and
 * in cgroups the connect hooks do not cover. SMTP to any other port is
 * told by the client's first command and recorded per UID and destination
 * (sg_smtp). Never changes a verdict.
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
 * The owning socket's UID (its range's owner, for a sub-UID). Packets with
 * no full socket, and the kernel's own replies (RSTs, time-wait ACKs), which
 * leave through the per-namespace TCP control socket (raw, TCP, root's),
 * have no user: they go to the overflow UID, flagged, never to root or
 * nobody.
 */
static __always_inline void sg_owner(struct __sk_buff *skb, struct sg_flow_key *key)
{
	struct bpf_sock *sk = skb->sk;
	struct sg_settings *s;
	__u32 zero = 0;

	key->uid = bpf_get_socket_uid(skb);
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk && !(sk->type == SG_SOCK_RAW && sk->protocol == IPPROTO_TCP && !key->uid)) {
		key->uid = sg_policed_uid(key->uid);
		return;
	}
	key->flags |= SG_FLOW_NO_SOCKET;
	s = bpf_map_lookup_elem(&sg_settings, &zero);
	if (s)
		key->uid = s->overflow_uid;
}

enum { SG_SMTP_NONE, SG_SMTP_HELLO, SG_SMTP_MAIL };

#define SG_SMTP_CMD_LEN 5 /* "EHLO ", "HELO ", "MAIL " */

/*
 * What b opens with, in any case: "EHLO " or "HELO " (SG_SMTP_HELLO), "MAIL "
 * (SG_SMTP_MAIL), else SG_SMTP_NONE. Either is an SMTP client's first command
 * (Postfix and Exim take MAIL FROM with no greeting first).
 */
static __always_inline int sg_smtp_command(__u8 b[SG_SMTP_CMD_LEN])
{
	int i;

	/* A letter's lower case is itself with 0x20 set. */
	for (i = 0; i < 4; i++)
		b[i] |= 0x20;
	if (b[4] != ' ')
		return SG_SMTP_NONE;
	if (b[0] == 'm')
		return b[1] == 'a' && b[2] == 'i' && b[3] == 'l' ? SG_SMTP_MAIL : SG_SMTP_NONE;
	if (((b[0] == 'e' && b[1] == 'h') || (b[0] == 'h' && b[1] == 'e')) && b[2] == 'l' &&
	    b[3] == 'o')
		return SG_SMTP_HELLO;
	return SG_SMTP_NONE;
}

/*
 * An SMTP command of key's UID to key's destination. A greeting opens a
 * session, counted. MAIL comes once per message, after a greeting or none:
 * it opens one only for a destination with no entry, and is otherwise
 * part of the session already counted (a greeting-less session to a
 * destination with an entry is not counted again).
 */
static __always_inline void sg_smtp_record(const struct sg_flow_key *key, int cmd)
{
	struct sg_smtp_key sk = { .uid = key->uid, .slot = sg_smtp_slot(key->addr, key->port) };
	__u64 now = bpf_ktime_get_boot_ns();
	struct sg_smtp fresh = { .port = key->port,
				 .sessions = 1,
				 .first_ns = now,
				 .last_ns = now },
		       *s;

	s = bpf_map_lookup_elem(&sg_smtp, &sk);
	if (s && sg_smtp_is(s, key->addr, key->port)) {
		s->last_ns = now;
		if (cmd == SG_SMTP_HELLO) {
			sg_count(&sg_counters, SG_CNT_SMTP_SEEN);
			__sync_fetch_and_add(&s->sessions, 1);
		}
		return;
	}
	sg_count(&sg_counters, SG_CNT_SMTP_SEEN);
	if (s)
		sg_count(&sg_counters, SG_CNT_SMTP_REPLACED);
	__builtin_memcpy(fresh.addr, key->addr, sizeof(fresh.addr));
	if (bpf_map_update_elem(&sg_smtp, &sk, &fresh, BPF_ANY))
		sg_count(&sg_counters, SG_CNT_SMTP_UNRECORDED);
}

/*
 * A segment to a port that is not watched, to key's destination, its
 * payload hdr_len bytes in: an SMTP session when it opens with EHLO, HELO or
 * MAIL. The payload is read with a helper, which checks the offset and
 * length against the packet, paged or not. A global function, which the
 * verifier checks once on its own rather than again behind every path
 * through the parser; key is whole (the old verifier reads all of it).
 */
__noinline int sg_smtp_seen(struct __sk_buff *skb, struct sg_flow_key *key, __u32 hdr_len)
{
	__u8 b[SG_SMTP_CMD_LEN];
	int cmd;

	if (!key || bpf_skb_load_bytes(skb, hdr_len, b, sizeof(b)))
		return 0;
	cmd = sg_smtp_command(b);
	if (cmd == SG_SMTP_NONE)
		return 0;
	sg_owner(skb, key);
	sg_smtp_record(key, cmd);
	return 1;
}

/*
 * A TCP segment to a watched port (ps): counted for the port, and for its
 * owner and destination in sg_egress. Else, one to a port nobody watches,
 * looked at as SMTP (sg_smtp_seen).
 */
static __always_inline void sg_egress_count(struct __sk_buff *skb, struct sg_port *ps,
					    const struct sg_pkt *pkt)
{
	struct sg_flow_key key = { .port = pkt->dport };
	struct sg_egress zero = {}, *e;
	__u32 segs;
	__u64 bytes;
	int syn;

	__builtin_memcpy(key.addr, pkt->daddr, sizeof(key.addr));
	if (!ps) {
		sg_smtp_seen(skb, &key, pkt->hdr_len);
		return;
	}

	segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	bytes = skb->len + (__u64)(segs - 1) * pkt->hdr_len;
	syn = (pkt->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN;
	/* Transmit runs with bottom halves off: nothing preempts these per-CPU adds. */
	ps->out_syns += syn;
	ps->out_packets += segs;
	ps->out_bytes += bytes;

	sg_owner(skb, &key);
	e = sg_upsert_counted(&sg_egress, &key, &zero, SG_CNT_EGRESS_MADE);
	if (!e)
		return;
	if (syn)
		__sync_fetch_and_add(&e->syns, 1);
	__sync_fetch_and_add(&e->packets, segs);
	__sync_fetch_and_add(&e->bytes, bytes);
	e->last_ns = bpf_ktime_get_boot_ns();
}

SEC("tc")
int sg_egress_prog(struct __sk_buff *skb)
{
	struct sg_fast f;
	struct sg_pkt pkt;
	struct sg_port *ps;
	int parsed;

	parsed = sg_parse_fast((void *)(long)skb->data, (void *)(long)skb->data_end, &f);
	if (parsed == SG_FAST_MISS) {
		parsed = sg_parse_skb(skb, &pkt);
		if (pkt.err != SG_OK)
			sg_error(pkt.err);
		if (parsed != SG_PARSED_TCP)
			return TC_ACT_UNSPEC;
	} else {
		if (parsed != SG_PARSED_TCP)
			return TC_ACT_UNSPEC;
		/* The fields the rest reads, where the slow path leaves them. */
		pkt.dport = f.dport;
		pkt.hdr_len = f.hdr_len;
		pkt.tcp_flags = f.tcp_flags;
		sg_fast_addr(&f, SG_FAST_DADDR, pkt.daddr);
	}
	ps = sg_port_lookup(pkt.dport, SG_PORT_OUTBOUND);
	/* Not watched, and too short to open with a command: nothing to count. */
	if (ps || skb->len >= (__u32)pkt.hdr_len + SG_SMTP_CMD_LEN)
		sg_egress_count(skb, ps, &pkt);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
