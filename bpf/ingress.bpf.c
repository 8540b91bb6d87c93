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

/*
 * sg_ban_bits (smtpguard.h) is this object's global data, the whole of its
 * .bss: read with a load, where a map lookup costs a call and a NULL test.
 * User space pins the .bss map as sg_ban_bits before the load
 * (sg_ban_bits_pin), so that every writer finds it; no other global may
 * join it there.
 */
__u64 sg_ban_bits[SG_BAN_BITS_WORDS];

static __always_inline int sg_ban_bit(__u32 bit)
{
	return (sg_ban_bits[bit / 64] >> (bit % 64)) & 1;
}

/* An IPv4 address's bit: its /24. */
#define sg_ban_bit4(addr) (bpf_ntohl(addr) >> 8)

/* 0 when no ban can cover saddr, not IPv4; 1 when one may. */
static __always_inline int sg_ban_possible6(const __u32 saddr[4])
{
	if (sg_ban_bits[SG_BAN_BITS_WIDE])
		return 1;
	return sg_ban_bit(
		sg_ban_bit48(((__u64)bpf_ntohl(saddr[0]) << 16) | (bpf_ntohl(saddr[1]) >> 16)));
}

/* 0 when no ban can cover saddr; 1 when one may. */
static __always_inline int sg_ban_possible(const __u32 saddr[4])
{
	if (!saddr[0] && !saddr[1] && saddr[2] == bpf_htonl(0xffff))
		return sg_ban_bit(sg_ban_bit4(saddr[3]));
	return sg_ban_possible6(saddr);
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
static __always_inline int sg_ingress(const __u32 saddr[4], int syn, __u16 dport)
{
	struct sg_port *ps;

	if (sg_banned(saddr))
		return XDP_DROP;
	if (!syn)
		return XDP_PASS;
	ps = sg_port_lookup(dport, SG_PORT_INBOUND);
	if (!ps)
		return XDP_PASS;
	ps->in_syns++; /* softirq: no preemption, a per-CPU add needs no atomic */
	sg_count_source(saddr, ps->flags & SG_PORT_LOGIN);
	return XDP_PASS;
}

/* sg_ban_possible() for the source of a frame sg_parse_fast() took, as it is in the packet. */
static __always_inline int sg_ban_possible_fast(const struct sg_fast *f)
{
	if (f->v4)
		return sg_ban_bit(sg_ban_bit4(((struct iphdr *)f->ip)->saddr));
	return sg_ban_possible((__u32 *)&((struct ipv6hdr *)f->ip)->saddr);
}

/*
 * A frame sg_parse_fast() does not take (a tag, options, an extension
 * header, not IP ...): a function of its own, so that the registers and
 * stack sg_parse() needs are set up on its path alone.
 */
static __noinline int sg_ingress_slow(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct sg_pkt pkt;
	int parsed;

	parsed = sg_parse(data, end, &pkt);
	if (pkt.err != SG_OK)
		sg_error(pkt.err);
	/* Behind more tags than parsed, a banned source would pass unseen. */
	if (pkt.err == SG_ERR_VLAN_LIMIT)
		return XDP_DROP;
	if (parsed == SG_PARSED_NONE)
		return XDP_PASS;
	return sg_ingress(pkt.saddr, sg_is_syn(parsed, pkt.tcp_flags), pkt.dport);
}

/*
 * A frame sg_parse_fast() took that is a SYN, or from a source a ban may
 * cover: its source made an array, and the verdict.
 */
static __noinline int sg_ingress_fast(void *ip, int v4, int syn, __u16 dport)
{
	struct sg_fast f = { .ip = ip, .v4 = v4 };
	__u32 saddr[4];

	sg_fast_addr(&f, SG_FAST_SADDR, saddr);
	return sg_ingress(saddr, syn, dport);
}

/*
 * Most packets are not SYNs, from sources no ban comes near: passed on the
 * frame as sg_parse_fast() reads it in place, in the program's own frame.
 * What every other packet needs is set up in the functions it calls.
 */
SEC("xdp")
int sg_ingress_prog(struct xdp_md *ctx)
{
	struct sg_fast f;
	int parsed, syn;

	parsed = sg_parse_fast((void *)(long)ctx->data, (void *)(long)ctx->data_end, &f);
	if (parsed == SG_FAST_MISS)
		return sg_ingress_slow(ctx);
	syn = sg_is_syn(parsed, f.tcp_flags);
	if (!syn && !sg_ban_possible_fast(&f))
		return XDP_PASS;
	return sg_ingress_fast(f.ip, f.v4, syn, f.dport);
}

char LICENSE[] SEC("license") = "GPL";
