// SPDX-License-Identifier: GPL-2.0
/*
 * XDP ingress: drop sources on the ban list before the stack spends anything
 * on them, and count SYNs per source to local mail and login ports (the
 * brute-force and relay-abuse signal). An IPv6 source is its prefix
 * (sg_settings.ipv6_prefix), an IPv4 one, mapped or not, its address.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "smtpguard.h"
#include "common.bpf.h"
#include "parse.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_MAX_SOURCES);
	__type(key, struct sg_addr);
	__type(value, struct sg_source);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SG_MAX_BANS);
	__type(key, struct sg_ban_key);
	__type(value, struct sg_ban);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_bans SEC(".maps");

/* See smtpguard.h: an array's lookup is a few instructions inline, the trie's a walk. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_BAN_BITS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_ban_bits SEC(".maps");

/* 0 when the bit is clear; 1 when it is set, or cannot be read. */
static __always_inline int sg_ban_bit(__u32 bit)
{
	__u32 word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&sg_ban_bits, &word);

	return !w || ((*w >> (bit % 64)) & 1);
}

/* An IPv4 address's bit: its /24. */
#define sg_ban_bit4(addr) (bpf_ntohl(addr) >> 8)

/* 0 when no ban can cover saddr; 1 when one may, or the bits cannot be read. */
static __always_inline int sg_ban_possible(const __u32 saddr[4])
{
	__u32 word = SG_BAN_BITS_WIDE;
	__u64 *w;

	if (!saddr[0] && !saddr[1] && saddr[2] == bpf_htonl(0xffff))
		return sg_ban_bit(sg_ban_bit4(saddr[3]));
	w = bpf_map_lookup_elem(&sg_ban_bits, &word);
	if (!w || *w)
		return 1;
	return sg_ban_bit(
		sg_ban_bit48(((__u64)bpf_ntohl(saddr[0]) << 16) | (bpf_ntohl(saddr[1]) >> 16)));
}

/*
 * An unexpired ban covering saddr: count the drop. The trie returns the
 * longest matching prefix only; when that ban has expired, a broader one
 * may still be in force, so look again with a prefix one bit shorter than
 * the expired match. Expired entries are left for user space to remove.
 * The clock is read only on a match: most packets have none.
 */
static __always_inline int sg_banned(const __u32 saddr[4])
{
	struct sg_ban_key key = { .prefixlen = 128 };
	struct sg_ban *ban;
	__u64 now = 0;
	int i;

	if (!sg_ban_possible(saddr))
		return 0;
	__builtin_memcpy(key.addr, saddr, sizeof(key.addr));
	for (i = 0; i < SG_BAN_DEPTH; i++) {
		ban = bpf_map_lookup_elem(&sg_bans, &key);
		if (!ban)
			return 0;
		if (ban->expires_ns && !now)
			now = bpf_ktime_get_boot_ns();
		if (!ban->expires_ns || ban->expires_ns > now) {
			__sync_fetch_and_add(&ban->drops, 1);
			sg_count(&sg_counters, SG_CNT_BAN_DROPS);
			return 1;
		}
		if (!ban->prefixlen || ban->prefixlen > key.prefixlen)
			return 0;
		key.prefixlen = ban->prefixlen - 1;
	}
	return 0;
}

/* saddr as counted: IPv6 cut to the configured prefix, which is never taken past 128. */
static __always_inline void sg_source_key(const __u32 saddr[4], struct sg_addr *key)
{
	__u32 zero = 0, len = SG_IPV6_PREFIX_DEFAULT, i;
	const struct sg_settings *s;

	__builtin_memcpy(key->addr, saddr, sizeof(key->addr));
	if (!saddr[0] && !saddr[1] && saddr[2] == bpf_htonl(0xffff))
		return;
	s = bpf_map_lookup_elem(&sg_settings, &zero);
	if (s && s->ipv6_prefix)
		len = s->ipv6_prefix < 128 ? s->ipv6_prefix : 128;
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (len <= 32 * i)
			key->addr[i] = 0;
		else if (len < 32 * (i + 1))
			key->addr[i] &= bpf_htonl(~0U << (32 * (i + 1) - len));
	}
}

static __always_inline void sg_count_source(const __u32 saddr[4], int login)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct sg_source zero = { .first_ns = now }, *src;
	struct sg_addr key;

	sg_source_key(saddr, &key);
	src = sg_upsert_counted(&sg_sources, &key, &zero, SG_CNT_SOURCES_MADE);
	if (!src)
		return;
	__sync_fetch_and_add(&src->syns, 1);
	if (login)
		__sync_fetch_and_add(&src->login_syns, 1);
	src->last_ns = now;
}

/* A SYN (no ACK): what XDP counts, to inbound ports. */
static __always_inline int sg_is_syn(int parsed, __u8 tcp_flags)
{
	return parsed == SG_PARSED_TCP && (tcp_flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN;
}

/*
 * The verdict on a packet from saddr: a banned source is dropped, a SYN to
 * an inbound port counted for the port and the source.
 */
static __always_inline int sg_ingress(const __u32 saddr[4], int parsed, __u8 tcp_flags, __u16 dport)
{
	struct sg_port *ps;

	if (sg_banned(saddr))
		return XDP_DROP;
	if (!sg_is_syn(parsed, tcp_flags))
		return XDP_PASS;
	ps = sg_port_lookup(dport, SG_PORT_INBOUND);
	if (!ps)
		return XDP_PASS;
	ps->in_syns++; /* softirq: no preemption, a per-CPU add needs no atomic */
	sg_count_source(saddr, ps->flags & SG_PORT_LOGIN);
	return XDP_PASS;
}

SEC("xdp")
int sg_ingress_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct sg_fast f;
	struct sg_pkt pkt;
	__u32 saddr[4];
	int parsed;

	parsed = sg_parse_fast(data, end, &f);
	if (parsed != SG_FAST_MISS) {
		/*
		 * Most packets: IPv4, not a SYN, from a source no ban comes near.
		 * Passed on the address as read, before it is made an array.
		 */
		if (f.v4 && !sg_is_syn(parsed, f.tcp_flags) &&
		    !sg_ban_bit(sg_ban_bit4(((struct iphdr *)f.ip)->saddr)))
			return XDP_PASS;
		sg_fast_addr(&f, SG_FAST_SADDR, saddr);
		return sg_ingress(saddr, parsed, f.tcp_flags, f.dport);
	}
	parsed = sg_parse(data, end, &pkt);
	if (pkt.err != SG_OK)
		sg_error(pkt.err);
	/* Behind more tags than parsed, a banned source would pass unseen. */
	if (pkt.err == SG_ERR_VLAN_LIMIT)
		return XDP_DROP;
	if (parsed == SG_PARSED_NONE)
		return XDP_PASS;
	return sg_ingress(pkt.saddr, parsed, pkt.tcp_flags, pkt.dport);
}

char LICENSE[] SEC("license") = "GPL";
