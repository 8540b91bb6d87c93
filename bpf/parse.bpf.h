/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet parsing for the XDP and TC programs: Ethernet, up to SG_MAX_VLANS
 * 802.1Q/802.1ad tags (a frame with more is SG_ERR_VLAN_LIMIT), IPv4 with
 * options, IPv6 with up to SG_MAX_EXTHDRS extension headers, TCP. Every
 * header is bounds-checked against data_end before it is read; lengths taken
 * from the packet (IHL, extension header length, TCP data offset) only move
 * the cursor, and the next read is checked again. The TCP header must also
 * lie inside the datagram the IP length announces (bytes past it are link
 * padding or garbage). Fragments stop at L3: only an unfragmented packet (or
 * an IPv6 atomic fragment) is trusted to carry the TCP header.
 *
 * sg_parse_fast() takes the common frame first, in place; sg_parse() reads
 * every other one whole, and says what is wrong with it.
 *
 * Rule for every program: no read of a stack value that is not written on
 * every path to the read, even where the C only uses it when it was: clang
 * may turn a `||` or a `?:` into branch-free code that loads the field
 * anyway. Newer verifiers let a privileged program read unwritten stack;
 * older ones refuse it ("invalid read from stack"; Debian 12's 6.1.170 does,
 * its 6.1.192 does not), so an object that loads on one kernel is refused
 * on another (tests/kernels/ boots both). Hence sg_parse() zeroes all of its
 * output before parsing, whatever it returns, and sg_parse_fast() writes all
 * of its own on every path its callers read it.
 */
#ifndef SG_PARSE_BPF_H
#define SG_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>

#include "smtpguard.h"

#define SG_TCP_FIN 0x01
#define SG_TCP_SYN 0x02
#define SG_TCP_ACK 0x10

#define SG_IP_MF	 0x2000
#define SG_IP_OFFSET	 0x1fff
#define SG_IP6_FRAG_MASK 0xfff9 /* offset and M flag */
/*
 * IP length 0: a BIG TCP GSO packet or a jumbogram. Less the extension
 * headers before TCP (SG_MAX_EXTHDRS, 2,048 bytes each at most), it still
 * passes every length check: no branch on it, so one verifier path fewer
 * per header.
 */
#define SG_LEN_UNKNOWN 0xffffffffU

enum sg_parsed {
	SG_PARSED_NONE, /* not IP, or broken before the addresses */
	SG_PARSED_IP,	/* addresses valid; no TCP header to trust */
	SG_PARSED_TCP,	/* addresses, ports, flags and hdr_len valid */
};

struct sg_pkt {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport; /* host order */
	__u16 dport; /* host order */
	__u8 tcp_flags;
	__u8 pad;
	__u16 hdr_len; /* L2 + L3 + L4 header bytes, repeated in every GSO segment */
	int err;       /* enum sg_error when parsing stopped on a bad packet, else SG_OK */
};

#define SG_OK -1

struct sg_cursor {
	void *pos;
	void *end;
};

struct sg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct sg_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

static __always_inline int sg_fail(struct sg_pkt *pkt, int err, int parsed)
{
	pkt->err = err;
	return parsed;
}

static __always_inline void sg_addr4(__u32 dst[4], __be32 a)
{
	dst[0] = 0;
	dst[1] = 0;
	dst[2] = bpf_htonl(0xffff);
	dst[3] = a;
}

static __always_inline int sg_parse_eth(struct sg_cursor *c, __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct sg_vlan_hdr *vh;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	*proto = eth->h_proto;
	c->pos = eth + 1;

#pragma unroll
	for (i = 0; i < SG_MAX_VLANS; i++) {
		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return -1;
		*proto = vh->proto;
		c->pos = vh + 1;
	}
	/* A tag still to come hides what follows: never passed on as unparsed. */
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD))
		return -2;
	return 0;
}

/*
 * The TCP header at th, left: the bytes the IP header says follow it, or
 * SG_LEN_UNKNOWN. SG_OK with pkt's TCP fields written, else the enum
 * sg_error that stops the parse (pkt's TCP fields then half written).
 */
static __always_inline int sg_read_tcp(struct tcphdr *th, void *end, void *data, struct sg_pkt *pkt,
				       __u32 left)
{
	__u32 len;

	if ((void *)(th + 1) > end)
		return SG_ERR_TRUNCATED;
	len = th->doff * 4;
	if (len < sizeof(*th) || len > left)
		return SG_ERR_BAD_HEADER;
	if ((void *)th + len > end)
		return SG_ERR_TRUNCATED;
	pkt->sport = bpf_ntohs(th->source);
	pkt->dport = bpf_ntohs(th->dest);
	pkt->tcp_flags = ((__u8 *)th)[13];
	pkt->hdr_len = (void *)th + len - data;
	return SG_OK;
}

static __always_inline int sg_parse_tcp(struct sg_cursor *c, void *data, struct sg_pkt *pkt,
					__u32 left)
{
	int err = sg_read_tcp(c->pos, c->end, data, pkt, left);

	return err == SG_OK ? SG_PARSED_TCP : sg_fail(pkt, err, SG_PARSED_IP);
}

static __always_inline int sg_parse_ipv4(struct sg_cursor *c, void *data, struct sg_pkt *pkt)
{
	struct iphdr *ip = c->pos;
	__u32 len, total;

	if ((void *)(ip + 1) > c->end)
		return sg_fail(pkt, SG_ERR_TRUNCATED, SG_PARSED_NONE);
	if (ip->version != 4 || ip->ihl < 5)
		return sg_fail(pkt, SG_ERR_BAD_HEADER, SG_PARSED_NONE);
	sg_addr4(pkt->saddr, ip->saddr);
	sg_addr4(pkt->daddr, ip->daddr);
	len = ip->ihl * 4;
	if (c->pos + len > c->end)
		return sg_fail(pkt, SG_ERR_TRUNCATED, SG_PARSED_IP);
	if (ip->frag_off & bpf_htons(SG_IP_MF | SG_IP_OFFSET))
		return sg_fail(pkt, SG_ERR_FRAGMENT, SG_PARSED_IP);
	if (ip->protocol != IPPROTO_TCP)
		return SG_PARSED_IP;
	total = bpf_ntohs(ip->tot_len);
	if (total && total < len)
		return sg_fail(pkt, SG_ERR_BAD_HEADER, SG_PARSED_IP);
	c->pos += len;
	return sg_parse_tcp(c, data, pkt, total ? total - len : SG_LEN_UNKNOWN);
}

static __always_inline int sg_parse_ipv6(struct sg_cursor *c, void *data, struct sg_pkt *pkt)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *opt;
	struct sg_ip6_frag *frag;
	__u32 len, left;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return sg_fail(pkt, SG_ERR_TRUNCATED, SG_PARSED_NONE);
	if (ip6->version != 6)
		return sg_fail(pkt, SG_ERR_BAD_HEADER, SG_PARSED_NONE);
	__builtin_memcpy(pkt->saddr, &ip6->saddr, 16);
	__builtin_memcpy(pkt->daddr, &ip6->daddr, 16);
	nexthdr = ip6->nexthdr;
	left = ip6->payload_len ? bpf_ntohs(ip6->payload_len) : SG_LEN_UNKNOWN;
	c->pos = ip6 + 1;

	for (i = 0; i <= SG_MAX_EXTHDRS; i++) { /* the last turn only finds TCP */
		switch (nexthdr) {
		case IPPROTO_TCP:
			return sg_parse_tcp(c, data, pkt, left);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			opt = c->pos;
			if ((void *)(opt + 1) > c->end)
				return sg_fail(pkt, SG_ERR_TRUNCATED, SG_PARSED_IP);
			/* AH counts 4-octet units minus 2, the others 8-octet units minus 1. */
			len = nexthdr == IPPROTO_AH ? (opt->hdrlen + 2) * 4 : (opt->hdrlen + 1) * 8;
			if (c->pos + len > c->end)
				return sg_fail(pkt, SG_ERR_TRUNCATED, SG_PARSED_IP);
			if (len > left)
				return sg_fail(pkt, SG_ERR_BAD_HEADER, SG_PARSED_IP);
			nexthdr = opt->nexthdr;
			c->pos += len;
			left -= len;
			break;
		case IPPROTO_FRAGMENT:
			frag = c->pos;
			if ((void *)(frag + 1) > c->end)
				return sg_fail(pkt, SG_ERR_TRUNCATED, SG_PARSED_IP);
			if (frag->frag_off & bpf_htons(SG_IP6_FRAG_MASK))
				return sg_fail(pkt, SG_ERR_FRAGMENT, SG_PARSED_IP);
			if (sizeof(*frag) > left)
				return sg_fail(pkt, SG_ERR_BAD_HEADER, SG_PARSED_IP);
			nexthdr = frag->nexthdr;
			c->pos = frag + 1;
			left -= sizeof(*frag);
			break;
		default:
			return SG_PARSED_IP;
		}
	}
	return sg_fail(pkt, SG_ERR_EXTHDR_LIMIT, SG_PARSED_IP);
}

/* Parse the frame in [data, data_end) into pkt; returns enum sg_parsed. */
static __always_inline int sg_parse(void *data, void *data_end, struct sg_pkt *pkt)
{
	struct sg_cursor c = { .pos = data, .end = data_end };
	__be16 proto;
	int ret;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->err = SG_OK;
	ret = sg_parse_eth(&c, &proto);
	if (ret)
		return sg_fail(pkt, ret == -2 ? SG_ERR_VLAN_LIMIT : SG_ERR_TRUNCATED,
			       SG_PARSED_NONE);
	if (proto == bpf_htons(ETH_P_IP))
		return sg_parse_ipv4(&c, data, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return sg_parse_ipv6(&c, data, pkt);
	return SG_PARSED_NONE;
}

#define SG_FAST_MISS -1

/*
 * What sg_parse_fast() reads of the common frame: a few scalars, which stay
 * in registers, and where the addresses are in the packet.
 */
struct sg_fast {
	void *ip;	/* the IPv4 header when v4, else the IPv6 one */
	__u16 dport;	/* host order; 0 when not TCP */
	__u16 hdr_len;	/* as sg_pkt's; 0 when not TCP */
	__u8 tcp_flags; /* 0 when not TCP */
	__u8 v4;
};

/* The TCP header at th, as sg_parse_fast() reads it: SG_PARSED_TCP with f's TCP fields. */
static __always_inline int sg_fast_tcp(void *th, void *end, void *data, struct sg_fast *f,
				       __u32 left)
{
	struct sg_pkt tcp;

	if (sg_read_tcp(th, end, data, &tcp, left) != SG_OK)
		return SG_FAST_MISS;
	f->dport = tcp.dport;
	f->hdr_len = tcp.hdr_len;
	f->tcp_flags = tcp.tcp_flags;
	return SG_PARSED_TCP;
}

/*
 * sg_parse_fast() for an IPv4 frame, whose Ethernet and IP headers lie
 * inside [data, end): no options, no fragment bits.
 */
static __always_inline int sg_parse_fast4(void *data, void *end, struct sg_fast *f)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 left;

	/* Version 4, IHL 5. */
	if (*(__u8 *)ip != 0x45 || ip->frag_off & bpf_htons(SG_IP_MF | SG_IP_OFFSET))
		return SG_FAST_MISS;
	f->ip = ip;
	f->v4 = 1;
	if (ip->protocol != IPPROTO_TCP) {
		f->dport = 0;
		f->hdr_len = 0;
		f->tcp_flags = 0;
		return SG_PARSED_IP;
	}
	/*
	 * 1 to 19 is no datagram; 0 (unknown) wraps to a length above any
	 * header's, as SG_LEN_UNKNOWN: one test, no branch on it.
	 */
	left = bpf_ntohs(ip->tot_len);
	if (left - 1 < sizeof(*ip) - 1)
		return SG_FAST_MISS;
	return sg_fast_tcp(ip + 1, end, data, f, left - sizeof(*ip));
}

/* sg_parse_fast() for an IPv6 frame: the next header is TCP. */
static __always_inline int sg_parse_fast6(void *data, void *end, struct sg_fast *f)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

	if ((void *)(ip6 + 1) > end || ip6->version != 6 || ip6->nexthdr != IPPROTO_TCP)
		return SG_FAST_MISS;
	f->ip = ip6;
	f->v4 = 0;
	return sg_fast_tcp(ip6 + 1, end, data, f,
			   ip6->payload_len ? bpf_ntohs(ip6->payload_len) : SG_LEN_UNKNOWN);
}

/*
 * The common frame, read in place: Ethernet with no tag, then IPv4 with no
 * options and no fragment bits, or IPv6 whose next header is TCP; then TCP,
 * checked as sg_parse() checks it. Returns SG_PARSED_IP (IPv4, not TCP) or
 * SG_PARSED_TCP, as sg_parse() would for the same frame, with no error; all
 * of f is written then. Any other frame (a tag, options, an extension
 * header, a fragment, a header cut short or out of range, not IP) is
 * SG_FAST_MISS, for sg_parse() to read whole and say what is wrong with it.
 * Each IP version reads its TCP header on a path of its own: joined before
 * it, the two versions' values were live at once and went to the stack,
 * which XDP's fast exit then had to set up for every packet.
 */
static __always_inline int sg_parse_fast(void *data, void *end, struct sg_fast *f)
{
	__be16 proto;

	if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) > end)
		return SG_FAST_MISS;
	/* One load: struct ethhdr is packed, and read through it the field is two. */
	proto = *(__be16 *)(data + offsetof(struct ethhdr, h_proto));
	if (proto == bpf_htons(ETH_P_IP))
		return sg_parse_fast4(data, end, f);
	if (proto == bpf_htons(ETH_P_IPV6))
		return sg_parse_fast6(data, end, f);
	return SG_FAST_MISS;
}

/* The address of f's frame that `which` says, as sg_pkt holds it: IPv4 mapped. */
enum { SG_FAST_SADDR, SG_FAST_DADDR };

static __always_inline void sg_fast_addr(const struct sg_fast *f, int which, __u32 addr[4])
{
	struct iphdr *ip = f->ip;
	struct ipv6hdr *ip6 = f->ip;

	if (f->v4)
		sg_addr4(addr, which == SG_FAST_SADDR ? ip->saddr : ip->daddr);
	else
		__builtin_memcpy(addr, which == SG_FAST_SADDR ? &ip6->saddr : &ip6->daddr, 16);
}

#endif /* SG_PARSE_BPF_H */
