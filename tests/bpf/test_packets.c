// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_TEST_RUN tables for the TC egress and XDP ingress programs: every
 * parse branch, the counting rules and the ban list. Each row runs against
 * freshly reset maps and then asserts everything the programs can touch
 * (verdict, every error and counter, every port, the egress, source, SMTP
 * session and ban entries), so a row also proves that nothing else moved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "pkt.h"
#include "daemon/sweep.h"
#include "fleet/bouncer.h"
#include "kern/banbits.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Header lengths, to say where a row cuts its frame. */
#define HL_ETH	ETH_HLEN
#define HL_VLAN 4
#define HL_IP4	20
#define HL_IP6	40
#define HL_TCP	20

#define V4	  .src = "10.1.2.3", .dst = "192.0.2.25"
#define V6	  .src = "2001:db8:1::3", .dst = "2001:db8:25::25"
#define FROM4(a)  .src = (a), .dst = "192.0.2.25"
#define FROM6(a)  .src = (a), .dst = "2001:db8:25::25"
#define SYN(port) .dport = (port), .flags = TH_SYN
#define IP_LEN(n) .ip_len_set = true, .ip_len = (n)
/* A data segment to port carrying text. */
#define DATA(port, t)                                                                              \
	.dport = (port), .flags = TH_ACK | TH_PUSH, .text = (t), .payload = sizeof(t) - 1
#define TAGS(...) .tpid = { __VA_ARGS__ }
#define HOP(n)                                                                                     \
	{                                                                                          \
		IPPROTO_HOPOPTS, (n), 0                                                            \
	}
#define RT(n)                                                                                      \
	{                                                                                          \
		IPPROTO_ROUTING, (n), 0                                                            \
	}
#define DST(n)                                                                                     \
	{                                                                                          \
		IPPROTO_DSTOPTS, (n), 0                                                            \
	}
#define AH(n)                                                                                      \
	{                                                                                          \
		IPPROTO_AH, (n), 0                                                                 \
	}
#define FRAG(f)                                                                                    \
	{                                                                                          \
		IPPROTO_FRAGMENT, 0, (f)                                                           \
	}
#define EXTS(...)                                                                                  \
	.ext = { __VA_ARGS__ },                                                                    \
	.exts = sizeof((struct pkt_ext[]){ __VA_ARGS__ }) / sizeof(struct pkt_ext)

/* Expectations */
#define ERR(e)		  (1U << (e))
#define TRUNCATED	  .errs = ERR(SG_ERR_TRUNCATED)
#define BAD_HEADER	  .errs = ERR(SG_ERR_BAD_HEADER)
#define FRAGMENT	  .errs = ERR(SG_ERR_FRAGMENT)
#define SYN_COUNTED(port) .out = (port), .syn = true, .in = (port) /* by both programs */
#define XDP_ONLY	  .progs = RUN_XDP
#define TC_ONLY		  .progs = RUN_TC

enum { RUN_TC = 1, RUN_XDP = 2 };

enum ban_id {
	BAN_NONE,
	BAN_V4_24,
	BAN_V6_48,
	BAN_V4_32,
	BAN_EXPIRED,
	BAN_EXPIRED_IN_24,
	BAN_V6_64,
	BAN_V4_8,
	BAN_V6_128,
	BAN_V6_32,
	BAN__MAX
};

/* Installed afresh for every row, so drops start at 0 and expiry is relative to the row. */
static const struct {
	const char *prefix;
	__u32 len;
	int ttl_s; /* 0: never expires; negative: expired that long ago */
} bans[BAN__MAX] = {
	[BAN_V4_24] = { "203.0.113.0", 24, 3600 },
	[BAN_V6_48] = { "2001:db8:bad::", 48, 0 },
	[BAN_V4_32] = { "192.0.2.66", 32, 0 },
	[BAN_EXPIRED] = { "198.51.100.0", 24, -1 },
	/* Expired, but inside BAN_V4_24, which still holds. */
	[BAN_EXPIRED_IN_24] = { "203.0.113.8", 30, -1 },
	/* An IPv6 source's ban, as the daemon puts it: its /64. */
	[BAN_V6_64] = { "2001:db8:64:1::", 64, 3600 },
	/* Wider than the /24 and /48 of sg_ban_bits: each sets every bit it covers. */
	[BAN_V4_8] = { "100.0.0.0", 8, 0 },
	[BAN_V6_32] = { "2001:db9::", 32, 3600 },
	[BAN_V6_128] = { "2001:db8:128::7", 128, 0 },
};

struct row {
	const char *name;
	struct pkt_spec pkt;
	unsigned int progs;	  /* RUN_* the row applies to; 0: both */
	__u32 gso_segs, gso_size; /* TC: the skb is a GSO packet */
	unsigned int errs;	  /* ERR(enum sg_error): each counted exactly once, the rest not */
	__u16 out;		  /* TC: the packet is counted for this outbound port... */
	bool syn;		  /* ...and as a SYN */
	__u16 in;		  /* XDP: a SYN counted for this inbound port and the source */
	bool smtp;		  /* TC: an SMTP session to the destination and port, in sg_smtp */
	enum ban_id ban;	  /* XDP: dropped by this ban */
	/* XDP: the sg_sources key; NULL: the source, IPv6 cut to the default /64 */
	const char *source;
	const char *sibling; /* XDP: the same SYN from this source ran first */
	__u32 sources;	     /* XDP: sg_sources entries then; 0: one */
	__u32 v6_prefix;     /* sg_settings.ipv6_prefix for the row; 0: the default */
	bool drop;	     /* XDP: dropped, by no ban */
};

_Static_assert(SG_MAX_EXTHDRS == 6, "the extension header limit rows build 6 and 7 headers");
_Static_assert(SG_MAX_VLANS == 3, "the vlan rows build 3 and 4 tags");

static const struct row rows[] = {
	{ "arp request: not IP", .pkt = { V4, .ethertype = ETH_P_ARP } },
	{ "four vlan tags: counted, dropped at XDP",
	  .pkt = { V4, TAGS(ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q, ETH_P_8021Q), SYN(25) },
	  .errs = ERR(SG_ERR_VLAN_LIMIT), .drop = true },
	{ "four vlan tags from a banned source: dropped all the same",
	  .pkt = { FROM4("203.0.113.9"), TAGS(ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q, ETH_P_8021Q),
		   SYN(25) },
	  .errs = ERR(SG_ERR_VLAN_LIMIT), .drop = true, XDP_ONLY },

	{ "v4 syn to 25", .pkt = { V4, SYN(25) }, SYN_COUNTED(25) },
	{ "v4 syn to 465", .pkt = { V4, SYN(465) }, SYN_COUNTED(465) },
	{ "v4 syn to 587 with mss", .pkt = { V4, SYN(587), .tcp_opts = 4 }, SYN_COUNTED(587) },
	{ "v4 syn to 110: inbound only", .pkt = { V4, SYN(110) }, .in = 110 },
	{ "v4 syn to 143: inbound only", .pkt = { V4, SYN(143) }, .in = 143 },
	{ "v4 syn to 993: inbound only", .pkt = { V4, SYN(993) }, .in = 993 },
	{ "v4 syn to 995: inbound only", .pkt = { V4, SYN(995) }, .in = 995 },
	{ "v4 syn to 80: not watched", .pkt = { V4, SYN(80) } },
	{ "v4 syn with ece and cwr is a syn", .pkt = { V4, .dport = 25, .flags = TH_SYN | 0xc0 },
	  SYN_COUNTED(25) },
	{ "v4 syn-ack is not a syn", .pkt = { V4, .dport = 25, .flags = TH_SYN | TH_ACK },
	  .out = 25 },
	{ "v4 ack with 512 bytes",
	  .pkt = { V4, .dport = 25, .flags = TH_ACK | TH_PUSH, .payload = 512 }, .out = 25 },
	{ "v4 df is not a fragment", .pkt = { V4, SYN(25), .frag = IP_DF }, SYN_COUNTED(25) },
	{ "v4 40 option bytes", .pkt = { V4, SYN(25), .ip_opts = 40 }, SYN_COUNTED(25) },
	{ "v4 udp to 25: not tcp", .pkt = { V4, .l4 = IPPROTO_UDP, .dport = 25 } },

	{ "802.1q", .pkt = { V4, TAGS(ETH_P_8021Q), SYN(25) }, SYN_COUNTED(25) },
	{ "802.1ad + 802.1q", .pkt = { V4, TAGS(ETH_P_8021AD, ETH_P_8021Q), SYN(587) },
	  SYN_COUNTED(587) },
	{ "802.1q + 802.1q v6", .pkt = { V6, TAGS(ETH_P_8021Q, ETH_P_8021Q), SYN(25) },
	  SYN_COUNTED(25) },
	{ "three vlan tags", .pkt = { V4, TAGS(ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q), SYN(25) },
	  SYN_COUNTED(25) },
	{ "three vlan tags from a banned source",
	  .pkt = { FROM4("203.0.113.9"), TAGS(ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q), SYN(25) },
	  .ban = BAN_V4_24, XDP_ONLY },

	{ "v6 syn to 25", .pkt = { V6, SYN(25) }, SYN_COUNTED(25) },
	{ "v6 syn to a v4-mapped destination",
	  .pkt = { .src = "2001:db8:1::3", .dst = "::ffff:192.0.2.25", SYN(587) },
	  SYN_COUNTED(587) },
	{ "v6 hop-by-hop", .pkt = { V6, SYN(25), EXTS(HOP(0)) }, SYN_COUNTED(25) },
	{ "v6 routing, 24 bytes", .pkt = { V6, SYN(25), EXTS(RT(2)) }, SYN_COUNTED(25) },
	{ "v6 destination options, 16 bytes", .pkt = { V6, SYN(25), EXTS(DST(1)) },
	  SYN_COUNTED(25) },
	{ "v6 ah, 24 bytes in 4-octet units", .pkt = { V6, SYN(25), EXTS(AH(4)) },
	  SYN_COUNTED(25) },
	{ "v6 atomic fragment", .pkt = { V6, SYN(25), EXTS(FRAG(0)) }, SYN_COUNTED(25) },
	{ "v6 atomic fragment, reserved bits set", .pkt = { V6, SYN(25), EXTS(FRAG(0x6)) },
	  SYN_COUNTED(25) },
	{ "v6 six extension headers",
	  .pkt = { V6, SYN(25), EXTS(HOP(0), DST(1), RT(2), AH(4), FRAG(0), DST(0)) },
	  SYN_COUNTED(25) },
	{ "v6 seven extension headers",
	  .pkt = { V6, SYN(25), EXTS(HOP(0), DST(1), RT(2), AH(4), FRAG(0), DST(0), DST(0)) },
	  .errs = ERR(SG_ERR_EXTHDR_LIMIT) },
	{ "v6 udp to 25: not tcp", .pkt = { V6, .l4 = IPPROTO_UDP, .dport = 25 } },
	{ "v6 hop-by-hop then udp: not tcp",
	  .pkt = { V6, .l4 = IPPROTO_UDP, .dport = 25, EXTS(HOP(0)) } },

	{ "v4 first fragment", .pkt = { V4, SYN(25), .frag = IP_MF }, FRAGMENT },
	{ "v4 last fragment", .pkt = { V4, SYN(25), .frag = 185 }, FRAGMENT },
	{ "v6 first fragment", .pkt = { V6, SYN(25), EXTS(FRAG(1)) }, FRAGMENT },
	{ "v6 last fragment", .pkt = { V6, SYN(25), EXTS(FRAG(185 << 3)) }, FRAGMENT },
	{ "v6 fragment after hop-by-hop", .pkt = { V6, SYN(25), EXTS(HOP(0), FRAG(1)) }, FRAGMENT },

	/*
	 * test_run refuses a frame under ETH_HLEN even behind XDP metadata, so the
	 * Ethernet header check cannot be reached; the tag cuts take the same exit.
	 */
	{ "802.1q tag cut", .pkt = { V4, TAGS(ETH_P_8021Q), SYN(25), .len = HL_ETH + 3 },
	  TRUNCATED },
	{ "802.1q inner tag cut",
	  .pkt = { V4, TAGS(ETH_P_8021AD, ETH_P_8021Q), SYN(25), .len = HL_ETH + HL_VLAN + 3 },
	  TRUNCATED },
	/* TC test_run refuses a short IP header of its own accord unless a tag hides it. */
	{ "v4 header cut behind a tag",
	  .pkt = { V4, TAGS(ETH_P_8021Q), SYN(25), .len = HL_ETH + HL_VLAN + HL_IP4 - 1 },
	  TRUNCATED },
	{ "v4 options cut", .pkt = { V4, SYN(25), .ip_opts = 12, .len = HL_ETH + HL_IP4 + 8 },
	  TRUNCATED },
	{ "v4 tcp header cut", .pkt = { V4, SYN(25), .len = HL_ETH + HL_IP4 + HL_TCP - 1 },
	  TRUNCATED },
	{ "v4 tcp options cut",
	  .pkt = { V4, SYN(25), .tcp_opts = 12, .len = HL_ETH + HL_IP4 + HL_TCP + 4 }, TRUNCATED },
	{ "v6 header cut behind a tag",
	  .pkt = { V6, TAGS(ETH_P_8021Q), SYN(25), .len = HL_ETH + HL_VLAN + HL_IP6 - 1 },
	  TRUNCATED },
	{ "v6 hop-by-hop cut in its first bytes",
	  .pkt = { V6, SYN(25), EXTS(HOP(0)), .len = HL_ETH + HL_IP6 + 1 }, TRUNCATED },
	{ "v6 destination options longer than the frame",
	  .pkt = { V6, SYN(25), EXTS(DST(1)), .len = HL_ETH + HL_IP6 + 10 }, TRUNCATED },
	/* The whole extension header is checked, not just its first bytes, whatever follows it. */
	{ "v6 dest options cut before a udp header",
	  .pkt = { V6, .l4 = IPPROTO_UDP, .dport = 25, EXTS(DST(1)), .len = HL_ETH + HL_IP6 + 10 },
	  TRUNCATED },
	/* What lies past the IP length is padding, whatever it looks like. */
	{ "v4 syn past the total length", .pkt = { V4, SYN(25), IP_LEN(HL_IP4) }, BAD_HEADER },
	{ "v4 total length inside the tcp options",
	  .pkt = { V4, SYN(25), .tcp_opts = 8, IP_LEN(HL_IP4 + HL_TCP + 4) }, BAD_HEADER },
	{ "v4 total length below the ihl", .pkt = { V4, SYN(25), .ip_opts = 8, IP_LEN(HL_IP4) },
	  BAD_HEADER },
	{ "v4 total length 0 (big tcp gso) counts", .pkt = { V4, SYN(25), IP_LEN(0) },
	  SYN_COUNTED(25) },
	{ "v6 syn past the payload length", .pkt = { V6, SYN(25), IP_LEN(HL_TCP - 1) },
	  BAD_HEADER },
	{ "v6 payload length inside an extension header",
	  .pkt = { V6, SYN(25), EXTS(DST(1)), IP_LEN(8) }, BAD_HEADER },
	{ "v6 payload length inside the fragment header",
	  .pkt = { V6, SYN(25), EXTS(FRAG(0)), IP_LEN(4) }, BAD_HEADER },
	{ "v6 payload length 0 (jumbo) counts", .pkt = { V6, SYN(25), IP_LEN(0) },
	  SYN_COUNTED(25) },
	{ "v6 fragment header cut",
	  .pkt = { V6, SYN(25), EXTS(FRAG(0)), .len = HL_ETH + HL_IP6 + 7 }, TRUNCATED },
	{ "v6 tcp header cut", .pkt = { V6, SYN(25), .len = HL_ETH + HL_IP6 + HL_TCP - 1 },
	  TRUNCATED },
	{ "v6 tcp options cut",
	  .pkt = { V6, SYN(25), .tcp_opts = 12, .len = HL_ETH + HL_IP6 + HL_TCP + 11 }, TRUNCATED },

	{ "v4 ihl 4", .pkt = { V4, SYN(25), .ihl = 4 }, BAD_HEADER },
	{ "v4 version 6", .pkt = { V4, SYN(25), .version = 6 }, BAD_HEADER },
	{ "v6 version 4", .pkt = { V6, SYN(25), .version = 4 }, BAD_HEADER },
	{ "v4 tcp doff 4", .pkt = { V4, SYN(25), .doff = 4 }, BAD_HEADER },
	{ "v6 tcp doff 1", .pkt = { V6, SYN(25), .doff = 1 }, BAD_HEADER },

	{ "gso 802.1q v4 with tcp options, 4 segments",
	  .pkt = { V4, TAGS(ETH_P_8021Q), .dport = 587, .flags = TH_ACK, .tcp_opts = 12,
		   .payload = 2000 },
	  TC_ONLY, .gso_segs = 4, .gso_size = 500, .out = 587 },
	{ "gso v6 with hop-by-hop and destination options, 4 segments",
	  .pkt = { V6, .dport = 25, .flags = TH_ACK, EXTS(HOP(0), DST(1)), .payload = 2000 },
	  TC_ONLY, .gso_segs = 4, .gso_size = 500, .out = 25 },

	{ "banned v4 /24: syn dropped", .pkt = { FROM4("203.0.113.7"), SYN(25) }, XDP_ONLY,
	  .ban = BAN_V4_24 },
	{ "banned v4 /24: last address, ack dropped",
	  .pkt = { FROM4("203.0.113.255"), .dport = 587, .flags = TH_ACK }, XDP_ONLY,
	  .ban = BAN_V4_24 },
	{ "banned v4 /24: an expired /30 inside does not lift it",
	  .pkt = { FROM4("203.0.113.9"), SYN(25) }, XDP_ONLY, .ban = BAN_V4_24 },
	{ "banned v4 /24: neighbour above passes", .pkt = { FROM4("203.0.114.0"), SYN(25) },
	  XDP_ONLY, .in = 25 },
	{ "banned v4 /24: neighbour below passes", .pkt = { FROM4("203.0.112.255"), SYN(25) },
	  XDP_ONLY, .in = 25 },
	{ "banned v4 /24: fragment dropped",
	  .pkt = { FROM4("203.0.113.7"), SYN(25), .frag = IP_MF }, XDP_ONLY, FRAGMENT,
	  .ban = BAN_V4_24 },
	{ "banned v4 /24: udp dropped",
	  .pkt = { FROM4("203.0.113.7"), .l4 = IPPROTO_UDP, .dport = 53 }, XDP_ONLY,
	  .ban = BAN_V4_24 },
	{ "banned v4 /24: cut tcp header dropped",
	  .pkt = { FROM4("203.0.113.7"), SYN(25), .len = HL_ETH + HL_IP4 + 8 }, XDP_ONLY, TRUNCATED,
	  .ban = BAN_V4_24 },
	{ "banned v4 /24: ihl 4 passes, no address to match",
	  .pkt = { FROM4("203.0.113.7"), SYN(25), .ihl = 4 }, XDP_ONLY, BAD_HEADER },
	{ "banned v4 /24: as a v4-mapped v6 source",
	  .pkt = { FROM6("::ffff:203.0.113.7"), SYN(25) }, XDP_ONLY, .ban = BAN_V4_24 },
	{ "banned v4 /24: only as a source",
	  .pkt = { .src = "10.1.2.3", .dst = "203.0.113.7", SYN(25) }, XDP_ONLY, .in = 25 },
	{ "banned v6 /48: syn dropped", .pkt = { FROM6("2001:db8:bad:ffff::7"), SYN(587) },
	  XDP_ONLY, .ban = BAN_V6_48 },
	{ "banned v6 /48: neighbour passes", .pkt = { FROM6("2001:db8:bae::7"), SYN(587) },
	  XDP_ONLY, .in = 587 },
	{ "banned v6 /48: fragment dropped",
	  .pkt = { FROM6("2001:db8:bad::7"), SYN(25), EXTS(FRAG(185 << 3)) }, XDP_ONLY, FRAGMENT,
	  .ban = BAN_V6_48 },
	{ "banned v6 /48: too many extension headers dropped",
	  .pkt = { FROM6("2001:db8:bad::7"), SYN(25),
		   EXTS(HOP(0), DST(0), DST(0), DST(0), DST(0), DST(0), DST(0)) },
	  XDP_ONLY, .errs = ERR(SG_ERR_EXTHDR_LIMIT), .ban = BAN_V6_48 },
	{ "banned v4 /32 for ever: dropped", .pkt = { FROM4("192.0.2.66"), SYN(110) }, XDP_ONLY,
	  .ban = BAN_V4_32 },
	{ "banned v4 /32 for ever: neighbour passes", .pkt = { FROM4("192.0.2.67"), SYN(110) },
	  XDP_ONLY, .in = 110 },
	{ "banned v4 /8: syn dropped", .pkt = { FROM4("100.200.3.4"), SYN(25) }, XDP_ONLY,
	  .ban = BAN_V4_8 },
	{ "banned v4 /8: first address, non-syn dropped",
	  .pkt = { FROM4("100.0.0.0"), .dport = 443, .flags = TH_ACK }, XDP_ONLY, .ban = BAN_V4_8 },
	{ "banned v4 /8: last address dropped", .pkt = { FROM4("100.255.255.255"), SYN(25) },
	  XDP_ONLY, .ban = BAN_V4_8 },
	{ "banned v4 /8: neighbour above passes", .pkt = { FROM4("101.0.0.0"), SYN(25) }, XDP_ONLY,
	  .in = 25 },
	{ "banned v4 /8: neighbour below passes", .pkt = { FROM4("99.255.255.255"), SYN(25) },
	  XDP_ONLY, .in = 25 },
	{ "banned v6 /128: dropped", .pkt = { FROM6("2001:db8:128::7"), SYN(587) }, XDP_ONLY,
	  .ban = BAN_V6_128 },
	{ "banned v6 /128: the next address passes", .pkt = { FROM6("2001:db8:128::8"), SYN(587) },
	  XDP_ONLY, .in = 587, .source = "2001:db8:128::" },
	{ "banned v6 /32: its last /48 dropped", .pkt = { FROM6("2001:db9:ffff:1::1"), SYN(587) },
	  XDP_ONLY, .ban = BAN_V6_32 },
	{ "banned v6 /32: non-syn to an unwatched port dropped",
	  .pkt = { FROM6("2001:db9::1"), .dport = 443, .flags = TH_ACK }, XDP_ONLY,
	  .ban = BAN_V6_32 },
	{ "banned v6 /32: the next /32 passes", .pkt = { FROM6("2001:dba::1"), SYN(587) }, XDP_ONLY,
	  .in = 587, .source = "2001:dba::" },
	{ "clean source: non-syn to an unwatched port passes uncounted",
	  .pkt = { FROM4("10.9.9.9"), .dport = 443, .flags = TH_ACK } },
	{ "clean source: syn to an unwatched port passes uncounted",
	  .pkt = { FROM6("2001:db8:9::9"), SYN(8080) } },
	{ "expired ban passes", .pkt = { FROM4("198.51.100.9"), SYN(993) }, XDP_ONLY, .in = 993 },

	/* SMTP on a port that is not watched, told by the client's first command. */
	{ "v4 EHLO to 2525: an smtp session", .pkt = { V4, DATA(2525, "EHLO relay.example\r\n") },
	  TC_ONLY, .smtp = true },
	{ "v6 helo to 2525: an smtp session", .pkt = { V6, DATA(2525, "helo box\r\n") }, TC_ONLY,
	  .smtp = true },
	{ "v4 eHlO to 8025: any case", .pkt = { V4, DATA(8025, "eHlO x\r\n") }, TC_ONLY,
	  .smtp = true },
	{ "v4 EHLO behind two tags, with tcp options",
	  .pkt = { V4, TAGS(ETH_P_8021AD, ETH_P_8021Q), DATA(2525, "EHLO x\r\n"), .tcp_opts = 12 },
	  TC_ONLY, .smtp = true },
	{ "v6 EHLO after hop-by-hop and destination options",
	  .pkt = { V6, DATA(2525, "EHLO x\r\n"), EXTS(HOP(0), DST(1)) }, TC_ONLY, .smtp = true },
	{ "v4 MAIL FROM to 2525, no greeting: an smtp session",
	  .pkt = { V4, DATA(2525, "MAIL FROM:<a@example.com>\r\n") }, TC_ONLY, .smtp = true },
	{ "v6 mail from to 2525: any case", .pkt = { V6, DATA(2525, "mail FROM:<>\r\n") }, TC_ONLY,
	  .smtp = true },
	{ "v4 EHLO to 25: watched, egress counts it", .pkt = { V4, DATA(25, "EHLO x\r\n") },
	  TC_ONLY, .out = 25 },
	{ "v4 http to 8080: not smtp", .pkt = { V4, DATA(8080, "GET / HTTP/1.1\r\n") }, TC_ONLY },
	{ "v4 EHLOX: no space, not smtp", .pkt = { V4, DATA(2525, "EHLOX\r\n") }, TC_ONLY },
	{ "v4 HELL: not smtp", .pkt = { V4, DATA(2525, "HELL x\r\n") }, TC_ONLY },
	{ "v4 ELHO: not smtp", .pkt = { V4, DATA(2525, "ELHO x\r\n") }, TC_ONLY },
	{ "v4 MAILX: no space, not smtp", .pkt = { V4, DATA(2525, "MAILX x\r\n") }, TC_ONLY },
	{ "v4 MAIN: not smtp", .pkt = { V4, DATA(2525, "MAIN x\r\n") }, TC_ONLY },
	{ "v4 RCPT first: not smtp", .pkt = { V4, DATA(2525, "RCPT TO:<a@b>\r\n") }, TC_ONLY },
	{ "v4 4 bytes of EHLO: too short", .pkt = { V4, DATA(2525, "EHLO") }, TC_ONLY },
	{ "v4 ack with no payload to 2525", .pkt = { V4, .dport = 2525, .flags = TH_ACK },
	  TC_ONLY },
	{ "v4 EHLO cut by the frame's end",
	  .pkt = { V4, DATA(2525, "EHLO x\r\n"), .len = HL_ETH + HL_IP4 + HL_TCP + 4 }, TC_ONLY },
	{ "v4 EHLO past a tcp header cut", .pkt = { V4, DATA(2525, "EHLO x\r\n"), .doff = 15 },
	  TC_ONLY, BAD_HEADER },
	{ "v4 EHLO in a fragment", .pkt = { V4, DATA(2525, "EHLO x\r\n"), .frag = IP_MF }, TC_ONLY,
	  FRAGMENT },

	/*
	 * The fast path (sg_parse_fast: no tag, IPv4 IHL 5 unfragmented, IPv6 straight
	 * to TCP) at its edges, and the same packets one step off it, which sg_parse()
	 * takes: the two must agree on every verdict and count.
	 */
	{ "fast: v4 reserved flag is not a fragment", .pkt = { V4, SYN(25), .frag = IP_RF },
	  SYN_COUNTED(25) },
	{ "fast: v4 total length 19, no options", .pkt = { V4, SYN(25), IP_LEN(HL_IP4 - 1) },
	  BAD_HEADER },
	{ "fast: v4 total length ends with the tcp header",
	  .pkt = { V4, SYN(25), IP_LEN(HL_IP4 + HL_TCP) }, SYN_COUNTED(25) },
	/* TC's test_run refuses these frames itself (see the cuts above). */
	{ "fast: v4 header cut", .pkt = { V4, SYN(25), .len = HL_ETH + HL_IP4 - 1 }, XDP_ONLY,
	  TRUNCATED },
	{ "fast: v6 header cut", .pkt = { V6, SYN(25), .len = HL_ETH + HL_IP6 - 1 }, XDP_ONLY,
	  TRUNCATED },
	{ "fast: v6 header cut where a v4 one would end",
	  .pkt = { V6, SYN(25), .len = HL_ETH + HL_IP4 }, XDP_ONLY, TRUNCATED },
	{ "fast: v4 tcp header cut after the flags",
	  .pkt = { V4, SYN(25), .len = HL_ETH + HL_IP4 + 14 }, TRUNCATED },
	{ "fast: v4 tcp options cut",
	  .pkt = { V4, SYN(25), .tcp_opts = 4, .len = HL_ETH + HL_IP4 + HL_TCP }, TRUNCATED },
	{ "fast: v6 jumbo with hop-by-hop counts", .pkt = { V6, SYN(25), EXTS(HOP(0)), IP_LEN(0) },
	  SYN_COUNTED(25) },
	{ "slow: v4 4 option bytes, syn to 993", .pkt = { V4, SYN(993), .ip_opts = 4 }, .in = 993 },
	{ "slow: v4 4 option bytes, non-syn to 25",
	  .pkt = { V4, .dport = 25, .flags = TH_ACK, .ip_opts = 4 }, .out = 25 },
	{ "slow: 802.1q non-syn to an unwatched port",
	  .pkt = { V4, TAGS(ETH_P_8021Q), .dport = 443, .flags = TH_ACK } },
	{ "slow: 802.1q v6 syn to an unwatched port", .pkt = { V6, TAGS(ETH_P_8021Q), SYN(8080) } },
	{ "slow: v6 hop-by-hop non-syn to 587",
	  .pkt = { V6, .dport = 587, .flags = TH_ACK, EXTS(HOP(0)) }, .out = 587 },
	{ "slow: v4 fragment to an unwatched port", .pkt = { V4, SYN(80), .frag = IP_MF },
	  FRAGMENT },
	{ "slow: banned v4 /24 with options: non-syn dropped",
	  .pkt = { FROM4("203.0.113.7"), .dport = 443, .flags = TH_ACK, .ip_opts = 4 }, XDP_ONLY,
	  .ban = BAN_V4_24 },
	{ "slow: banned v4 /32 behind a tag",
	  .pkt = { FROM4("192.0.2.66"), TAGS(ETH_P_8021Q), SYN(110) }, XDP_ONLY, .ban = BAN_V4_32 },
	{ "slow: banned v4 /8 with options, udp dropped",
	  .pkt = { FROM4("100.1.2.3"), .l4 = IPPROTO_UDP, .dport = 53, .ip_opts = 8 }, XDP_ONLY,
	  .ban = BAN_V4_8 },
	{ "slow: banned v6 /48 after hop-by-hop",
	  .pkt = { FROM6("2001:db8:bad::7"), SYN(587), EXTS(HOP(0)) }, XDP_ONLY, .ban = BAN_V6_48 },
	{ "slow: banned v6 /128 behind a tag",
	  .pkt = { FROM6("2001:db8:128::7"), TAGS(ETH_P_8021AD), .dport = 443, .flags = TH_ACK },
	  XDP_ONLY, .ban = BAN_V6_128 },
	{ "slow: banned v6 /128, udp dropped",
	  .pkt = { FROM6("2001:db8:128::7"), .l4 = IPPROTO_UDP, .dport = 53 }, XDP_ONLY,
	  .ban = BAN_V6_128 },
	{ "fast: banned v6 /48, non-syn to an unwatched port dropped",
	  .pkt = { FROM6("2001:db8:bad:1::7"), .dport = 443, .flags = TH_ACK }, XDP_ONLY,
	  .ban = BAN_V6_48 },
	{ "fast: banned v4 /32, ack to an unwatched port dropped",
	  .pkt = { FROM4("192.0.2.66"), .dport = 443, .flags = TH_ACK }, XDP_ONLY,
	  .ban = BAN_V4_32 },
	{ "fast: banned v4 /24 as v4-mapped v6, non-syn dropped",
	  .pkt = { FROM6("::ffff:203.0.113.200"), .dport = 443, .flags = TH_ACK }, XDP_ONLY,
	  .ban = BAN_V4_24 },
	/* A bit set by a ban that does not cover the source: past the fast exit, passed. */
	{ "fast: v4 ack beside a /32 ban, its /24's bit set: passes",
	  .pkt = { FROM4("192.0.2.67"), .dport = 443, .flags = TH_ACK }, XDP_ONLY },
	{ "fast: v4 udp beside a /32 ban, its /24's bit set: passes",
	  .pkt = { FROM4("192.0.2.67"), .l4 = IPPROTO_UDP, .dport = 53 }, XDP_ONLY },
	{ "fast: v6 ack beside a /128 ban, its /48's bit set: passes",
	  .pkt = { FROM6("2001:db8:128::8"), .dport = 443, .flags = TH_ACK }, XDP_ONLY },
	/* The shortest command, and one byte short: TC's early exit on the payload length. */
	{ "fast: 'EHLO ' alone to 2525, 5 bytes: an smtp session",
	  .pkt = { V4, DATA(2525, "EHLO ") }, TC_ONLY, .smtp = true },
	{ "slow: 'MAIL ' alone behind a tag, 5 bytes: an smtp session",
	  .pkt = { V4, TAGS(ETH_P_8021Q), DATA(2525, "MAIL ") }, TC_ONLY, .smtp = true },
	{ "slow: v4 'EHLO' with options, 4 bytes: too short",
	  .pkt = { V4, DATA(2525, "EHLO"), .ip_opts = 4 }, TC_ONLY },
	{ "fast: v6 EHLO to 2525 with tcp options",
	  .pkt = { V6, DATA(2525, "EHLO x\r\n"), .tcp_opts = 12 }, TC_ONLY, .smtp = true },

	/* A source is an IPv6 /64 (sg_settings.ipv6_prefix), an IPv4 address, mapped or not. */
	{ "v6 /64: a sibling's syn counts for the same source",
	  .pkt = { FROM6("2001:db8:1::3"), SYN(993) }, XDP_ONLY, .in = 993,
	  .sibling = "2001:db8:1:0:ffff:ffff:ffff:ffff", .source = "2001:db8:1::" },
	{ "v6 /64: the next /64 is another source", .pkt = { FROM6("2001:db8:1::3"), SYN(993) },
	  XDP_ONLY, .in = 993, .sibling = "2001:db8:1:1::3",
	  .source = "2001:db8:1::", .sources = 2 },
	{ "v6 prefix 48: a sibling /64 counts for the same source",
	  .pkt = { FROM6("2001:db8:1::3"), SYN(587) }, XDP_ONLY, .in = 587,
	  .sibling = "2001:db8:1:ffff::9", .source = "2001:db8:1::", .v6_prefix = 48 },
	{ "v6 prefix 61: cut inside a word", .pkt = { FROM6("2001:db8:1:7::3"), SYN(587) },
	  XDP_ONLY, .in = 587, .sibling = "2001:db8:1:0::9",
	  .source = "2001:db8:1::", .v6_prefix = 61 },
	{ "v6 prefix 128: a sibling is another source", .pkt = { FROM6("2001:db8:1::3"), SYN(587) },
	  XDP_ONLY, .in = 587, .sibling = "2001:db8:1::4", .source = "2001:db8:1::3", .sources = 2,
	  .v6_prefix = 128 },
	{ "v6 prefix 4096 is taken as 128", .pkt = { FROM6("2001:db8:1::3"), SYN(587) }, XDP_ONLY,
	  .in = 587, .sibling = "2001:db8:1::4", .source = "2001:db8:1::3", .sources = 2,
	  .v6_prefix = 4096 },
	{ "v4-mapped v6: counted as its v4 address, not a /64",
	  .pkt = { FROM6("::ffff:10.1.2.3"), SYN(993) }, XDP_ONLY, .in = 993,
	  .sibling = "::ffff:10.1.2.4", .source = "10.1.2.3", .sources = 2 },
	{ "v4: a neighbour is another source", .pkt = { FROM4("10.1.2.3"), SYN(993) }, XDP_ONLY,
	  .in = 993, .sibling = "10.1.2.4", .source = "10.1.2.3", .sources = 2 },
	{ "v4: the same address as v4-mapped v6 is the same source",
	  .pkt = { FROM4("10.1.2.3"), SYN(993) }, XDP_ONLY, .in = 993, .sibling = "::ffff:10.1.2.3",
	  .source = "10.1.2.3" },
	{ "banned v6 /64: a sibling address dropped",
	  .pkt = { FROM6("2001:db8:64:1:abcd:ef01:2345:6789"), SYN(587) }, XDP_ONLY,
	  .ban = BAN_V6_64 },
	{ "banned v6 /64: the next /64 passes", .pkt = { FROM6("2001:db8:64:2::7"), SYN(587) },
	  XDP_ONLY, .in = 587, .source = "2001:db8:64:2::" },
};

struct test {
	const struct row *row;
	int prog; /* RUN_* */
	char name[96];
};

static struct {
	struct pkt_env env;
	int tc_fd, xdp_fd;
	int ports_fd, errors_fd, counters_fd, egress_fd, sources_fd, bans_fd, smtp_fd, settings_fd;
	int port_bits_fd;
} fx;

/* What a failing check needs to say: the row, and the frame it ran. */
struct run {
	const char *name;
	struct pkt pkt;
};

/* The headers say what went wrong; a long payload of zeros would only bury them. */
#define DUMP_MAX 128

static void dump(const struct pkt *p)
{
	__u32 i, n = p->len < DUMP_MAX ? p->len : DUMP_MAX;

	for (i = 0; i < n; i++)
		print_error("%s%02x%s", i % 16 ? "" : "  ", p->data[i],
			    i % 16 == 15 || i + 1 == n ? "\n" : " ");
	if (n < p->len)
		print_error("  ... %u more bytes\n", p->len - n);
}

static void check_eq(const struct run *c, long long got, long long want, const char *file, int line,
		     const char *fmt, ...)
{
	char what[128];
	va_list ap;

	if (got == want)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	print_error("%s: %s is %lld, want %lld; frame of %u bytes:\n", c->name, what, got, want,
		    c->pkt.len);
	dump(&c->pkt);
	_fail(file, line);
}

#define check(c, got, want, ...) check_eq(c, got, want, __FILE__, __LINE__, __VA_ARGS__)

/* Delete every entry; key is scratch space of the map's key size. */
static int clear_map(int fd, void *key)
{
	while (!bpf_map_get_next_key(fd, NULL, key)) {
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int zero_percpu_array(int fd, __u32 entries)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;
	__u64 *zero;
	__u32 i;

	if (ncpus <= 0)
		return ncpus ?: -EINVAL;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (i = 0; i < entries && !err; i++) {
		if (bpf_map_update_elem(fd, &i, zero, BPF_ANY))
			err = -errno;
	}
	free(zero);
	return err;
}

static int install_bans(void)
{
	__u64 now = sg_boot_ns();
	struct sg_ban_key key;
	int i, err, lock;

	for (i = BAN_NONE + 1; i < BAN__MAX; i++) {
		__s64 ttl_ns = bans[i].ttl_s * 1000000000LL;
		struct sg_ban ban = { .expires_ns = ttl_ns ? now + ttl_ns : 0, .added_ns = now };

		err = pkt_ban_key(bans[i].prefix, bans[i].len, &key);
		if (err)
			return err;
		ban.prefixlen = key.prefixlen;
		/* As sg_ban_put writes them, whose expiry cannot be in the past. */
		lock = sg_ban_bits_mark(&key);
		if (lock < 0)
			return lock;
		err = bpf_map_update_elem(fx.bans_fd, &key, &ban, BPF_ANY) ? -errno : 0;
		sg_ban_bits_unlock(lock);
		if (err)
			return err;
	}
	return 0;
}

static int set_v6_prefix(__u32 len)
{
	struct sg_settings s = { .ipv6_prefix = len };
	__u32 zero = 0;

	return bpf_map_update_elem(fx.settings_fd, &zero, &s, BPF_ANY) ? -errno : 0;
}

/*
 * Back to what the group setup left: no flows or sources, default ports, zero
 * counts; the row's IPv6 prefix (NULL: the default).
 */
static int reset_maps(const struct row *r)
{
	union {
		struct sg_flow_key flow;
		struct sg_addr addr;
		struct sg_smtp_key smtp;
		__u32 port;
	} key;

	return clear_map(fx.egress_fd, &key) ?: clear_map(fx.sources_fd, &key) ?:
	       clear_map(fx.smtp_fd, &key) ?:
	       clear_map(fx.ports_fd, &key) ?: sg_ports_default(fx.ports_fd) ?:
	       zero_percpu_array(fx.errors_fd, SG_ERR__MAX) ?:
	       zero_percpu_array(fx.counters_fd, SG_CNT__MAX) ?: install_bans() ?:
	       set_v6_prefix(r ? r->v6_prefix : 0);
}

static int run_tc(const struct row *r, const struct pkt *p, __u32 *retval)
{
	struct __sk_buff skb = { .gso_segs = r->gso_segs, .gso_size = r->gso_size };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = &skb, .ctx_size_in = sizeof(skb));
	int err = bpf_prog_test_run_opts(fx.tc_fd, &opts);

	*retval = opts.retval;
	return err;
}

static int run_xdp(const struct pkt *p, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len);
	int err = bpf_prog_test_run_opts(fx.xdp_fd, &opts);

	*retval = opts.retval;
	return err;
}

/* What one row leaves behind under one program, all else being zero. */
struct want {
	int verdict;
	__u32 port; /* whose counters moved to counts; 0: none did */
	struct sg_port counts;
	bool flow; /* an sg_egress entry for port and the destination, holding egress */
	struct sg_egress egress;
	bool source;	 /* an sg_sources entry for the source... */
	__u32 sources;	 /* ...of this many */
	__u64 syns;	 /* with this many SYNs */
	bool login;	 /* and they are to a login port */
	bool smtp;	 /* an sg_smtp entry for the destination and port, with one session */
	enum ban_id ban; /* whose drops moved */
};

static void expect(const struct test *t, const struct pkt *p, struct want *w)
{
	const struct row *r = t->row;
	__u64 segs = r->gso_segs > 1 ? r->gso_segs : 1;

	memset(w, 0, sizeof(*w));
	if (t->prog == RUN_TC) {
		w->verdict = TC_ACT_UNSPEC;
		w->port = r->out;
		w->flow = r->out;
		if (w->flow) {
			w->egress.syns = r->syn;
			w->egress.packets = segs;
			w->egress.bytes = p->len + (segs - 1) * p->hdr_len;
		}
		w->smtp = r->smtp;
		w->counts.out_syns = w->egress.syns;
		w->counts.out_packets = w->egress.packets;
		w->counts.out_bytes = w->egress.bytes;
	} else {
		w->verdict = r->ban || r->drop ? XDP_DROP : XDP_PASS;
		w->port = r->in;
		/* A sibling's SYN is the same packet from another source. */
		w->counts.in_syns = r->in ? 1 + !!r->sibling : 0;
		w->source = r->in;
		w->sources = r->sources ?: w->source;
		w->syns = w->sources == 1 ? w->counts.in_syns : 1;
		/* sg_ports_default: every inbound port but 25 (where servers deliver) is a login
		 * port. */
		w->login = r->in && r->in != 25;
		w->ban = r->ban;
	}
}

static void check_errors(const struct run *c, const struct row *r, const struct want *w)
{
	__u64 got;
	__u32 i;

	for (i = 0; i < SG_ERR__MAX; i++) {
		check(c, sg_counter_get(fx.errors_fd, i, &got), 0, "sg_counter_get(sg_errors)");
		check(c, got, !!(r->errs & ERR(i)), "sg_errors[%u]", i);
	}
	for (i = 0; i < SG_CNT__MAX; i++) {
		check(c, sg_counter_get(fx.counters_fd, i, &got), 0, "sg_counter_get(sg_counters)");
		/* The LRU maps count each entry they make: one flow at most, each source. */
		if (i == SG_CNT_SOURCES_MADE)
			check(c, got, w->sources, "sg_counters[%u]", i);
		else
			check(c, got,
			      (i == SG_CNT_BAN_DROPS && w->ban) ||
				      (i == SG_CNT_SMTP_SEEN && w->smtp) ||
				      (i == SG_CNT_EGRESS_MADE && w->flow),
			      "sg_counters[%u]", i);
	}
}

static void check_ports(const struct run *c, const struct want *w)
{
	static const struct sg_port zero;
	const struct sg_port *exp;
	__u32 key, *prev = NULL;
	struct sg_port got;
	bool seen = false;

	while (!bpf_map_get_next_key(fx.ports_fd, prev, &key)) {
		prev = &key;
		exp = &zero;
		if (key == w->port) {
			exp = &w->counts;
			seen = true;
		}
		check(c, sg_port_get(fx.ports_fd, key, &got), 0, "sg_port_get(%u)", key);
		check(c, got.connects, exp->connects, "sg_ports[%u].connects", key);
		check(c, got.out_syns, exp->out_syns, "sg_ports[%u].out_syns", key);
		check(c, got.out_packets, exp->out_packets, "sg_ports[%u].out_packets", key);
		check(c, got.out_bytes, exp->out_bytes, "sg_ports[%u].out_bytes", key);
		check(c, got.in_syns, exp->in_syns, "sg_ports[%u].in_syns", key);
	}
	check(c, errno, ENOENT, "sg_ports walk errno");
	check(c, seen || !w->port, true, "sg_ports[%u] present", w->port);
}

static void check_time(const struct run *c, __u64 ns, __u64 t0, __u64 t1, const char *what)
{
	check(c, ns >= t0 && ns <= t1, true, "%s (%llu) within the run [%llu, %llu]", what, ns, t0,
	      t1);
}

static void check_egress(const struct run *c, const struct row *r, const struct want *w, __u64 t0,
			 __u64 t1)
{
	/*
	 * test_run hangs a dummy socket on the skb (sock_init_data() with no
	 * struct socket): a full socket owned by uid 0, so the owner is uid 0
	 * and SG_FLOW_NO_SOCKET cannot be set from here.
	 */
	struct sg_flow_key key = { .uid = 0, .port = w->port };
	struct sg_egress got;

	check(c, sg_map_count(fx.egress_fd), w->flow, "sg_egress entries");
	if (!w->flow)
		return;
	check(c, pkt_addr(r->pkt.dst, key.addr) > 0, true, "pkt_addr(%s)", r->pkt.dst);
	check(c, bpf_map_lookup_elem(fx.egress_fd, &key, &got), 0,
	      "sg_egress lookup {uid %u, port %u, flags %#x, %s}", key.uid, key.port, key.flags,
	      r->pkt.dst);
	check(c, got.syns, w->egress.syns, "sg_egress.syns");
	check(c, got.packets, w->egress.packets, "sg_egress.packets");
	check(c, got.bytes, w->egress.bytes, "sg_egress.bytes");
	check_time(c, got.last_ns, t0, t1, "sg_egress.last_ns");
}

static void check_sources(const struct run *c, const struct row *r, const struct want *w, __u64 t0,
			  __u64 t1)
{
	struct sg_source got;
	struct sg_addr key;

	const char *src = r->source ?: r->pkt.src;
	int family;

	check(c, sg_map_count(fx.sources_fd), w->sources, "sg_sources entries");
	if (!w->source)
		return;
	family = pkt_addr(src, key.addr);
	check(c, family > 0, true, "pkt_addr(%s)", src);
	/* The rows that count an IPv6 source without naming its key: the default /64. */
	if (!r->source && family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED((struct in6_addr *)key.addr))
		memset(&key.addr[2], 0, 8);
	check(c, bpf_map_lookup_elem(fx.sources_fd, &key, &got), 0, "sg_sources lookup %s", src);
	check(c, got.syns, w->syns, "sg_sources.syns");
	check(c, got.login_syns, w->login ? w->syns : 0, "sg_sources.login_syns");
	if (!r->sibling || w->sources > 1)
		check(c, got.first_ns, got.last_ns, "sg_sources.first_ns against last_ns");
	check_time(c, got.last_ns, t0, t1, "sg_sources.last_ns");
}

static void check_smtp(const struct run *c, const struct row *r, const struct want *w, __u64 t0,
		       __u64 t1)
{
	struct sg_smtp_key key;
	__u32 addr[4];
	struct sg_smtp got;

	check(c, sg_map_count(fx.smtp_fd), w->smtp, "sg_smtp entries");
	if (!w->smtp)
		return;
	check(c, bpf_map_get_next_key(fx.smtp_fd, NULL, &key), 0, "sg_smtp first key");
	check(c, bpf_map_lookup_elem(fx.smtp_fd, &key, &got), 0, "sg_smtp lookup");
	/* test_run's dummy socket is uid 0's (check_egress). */
	check(c, key.uid, 0, "sg_smtp key uid");
	check(c, key.slot < SG_SMTP_SLOTS, true, "sg_smtp slot %u in range", key.slot);
	check(c, pkt_addr(r->pkt.dst, addr) > 0, true, "pkt_addr(%s)", r->pkt.dst);
	check(c, !memcmp(got.addr, addr, sizeof(addr)), true, "sg_smtp.addr is %s", r->pkt.dst);
	check(c, got.port, r->pkt.dport, "sg_smtp.port");
	check(c, got.sessions, 1, "sg_smtp.sessions");
	check(c, got.first_ns, got.last_ns, "sg_smtp.first_ns against last_ns");
	check_time(c, got.last_ns, t0, t1, "sg_smtp.last_ns");
}

static void check_bans(const struct run *c, const struct want *w)
{
	struct sg_ban_key key;
	struct sg_ban got;
	int i;

	check(c, sg_map_count(fx.bans_fd), BAN__MAX - 1, "sg_bans entries");
	for (i = BAN_NONE + 1; i < BAN__MAX; i++) {
		check(c, pkt_ban_key(bans[i].prefix, bans[i].len, &key), 0, "pkt_ban_key(%s)",
		      bans[i].prefix);
		check(c, bpf_map_lookup_elem(fx.bans_fd, &key, &got), 0, "sg_bans lookup %s/%u",
		      bans[i].prefix, bans[i].len);
		check(c, got.drops, (int)w->ban == i, "sg_bans[%s/%u].drops", bans[i].prefix,
		      bans[i].len);
	}
}

static void run_row(void **state)
{
	const struct test *t = *state;
	const struct row *r = t->row;
	struct run c = { .name = t->name };
	__u64 t0, t1;
	struct want w;
	__u32 retval;
	int err;

	check(&c, pkt_build(&r->pkt, &c.pkt), 0, "pkt_build");
	check(&c, reset_maps(r), 0, "resetting the maps");
	expect(t, &c.pkt, &w);
	t0 = sg_boot_ns();
	if (r->sibling) {
		struct pkt_spec spec = r->pkt;
		struct pkt sib;

		spec.src = r->sibling;
		check(&c, pkt_build(&spec, &sib), 0, "pkt_build(sibling %s)", r->sibling);
		check(&c, run_xdp(&sib, &retval), 0, "bpf_prog_test_run_opts(sibling)");
		check(&c, (int)retval, w.verdict, "sibling's verdict");
	}
	err = t->prog == RUN_TC ? run_tc(r, &c.pkt, &retval) : run_xdp(&c.pkt, &retval);
	t1 = sg_boot_ns();
	check(&c, err, 0, "bpf_prog_test_run_opts");
	check(&c, (int)retval, w.verdict, "verdict");
	check_errors(&c, r, &w);
	check_ports(&c, &w);
	check_egress(&c, r, &w, t0, t1);
	check_sources(&c, r, &w, t0, t1);
	check_smtp(&c, r, &w, t0, t1);
	check_bans(&c, &w);
}

/* The command text (EHLO, MAIL ...) from uid 0 to dst:port through TC egress. */
static void send_smtp(const char *dst, __u16 port, const char *text)
{
	struct run c = { .name = text };
	struct row row = { .pkt = { DATA(0, "") } };
	__u32 retval;

	row.pkt.src = "10.1.2.3";
	row.pkt.dst = dst;
	row.pkt.dport = port;
	row.pkt.text = text;
	row.pkt.payload = strlen(text);
	check(&c, pkt_build(&row.pkt, &c.pkt), 0, "pkt_build");
	check(&c, run_tc(&row, &c.pkt, &retval), 0, "bpf_prog_test_run_opts");
}

static void send_ehlo(const char *dst, __u16 port)
{
	send_smtp(dst, port, "EHLO x\r\n");
}

static __u64 counter(enum sg_counter i)
{
	__u64 v = 0;

	assert_int_equal(sg_counter_get(fx.counters_fd, i, &v), 0);
	return v;
}

/* common.bpf.h's sg_smtp_slot, written again: the test checks the kernel's, not its own. */
static __u32 smtp_slot(const __u32 addr[4], __u16 port)
{
	__u32 h = addr[0] ^ addr[1] ^ addr[2] ^ addr[3] ^ port;

	return (h * 2654435761U) >> 27;
}

/*
 * One UID's sessions to 128 destinations keep at most its 32 slots, each in
 * the slot its destination hashes to, and more than 16 of them are used; a
 * repeat counts on its entry.
 */
static void test_smtp_per_uid_bound(void **state)
{
	struct sg_smtp_key key, *prev = NULL;
	struct sg_smtp got;
	__u16 port;
	int n;

	assert_int_equal(reset_maps(NULL), 0);
	for (port = 3000; port < 3000 + 4 * SG_SMTP_SLOTS; port++)
		send_ehlo("192.0.2.25", port);
	n = sg_map_count(fx.smtp_fd);
	assert_in_range(n, 17, SG_SMTP_SLOTS);
	while (!bpf_map_get_next_key(fx.smtp_fd, prev, &key)) {
		assert_int_equal(bpf_map_lookup_elem(fx.smtp_fd, &key, &got), 0);
		assert_int_equal(key.uid, 0);
		assert_int_equal(key.slot, smtp_slot(got.addr, got.port));
		prev = &key;
	}
	assert_int_equal(counter(SG_CNT_SMTP_SEEN), 4 * SG_SMTP_SLOTS);
	assert_int_equal(counter(SG_CNT_SMTP_REPLACED), 4 * SG_SMTP_SLOTS - n);
	assert_int_equal(counter(SG_CNT_SMTP_UNRECORDED), 0);
	/* The last one sent holds its slot: sent again, it counts 2 there. */
	send_ehlo("192.0.2.25", 3000 + 4 * SG_SMTP_SLOTS - 1);
	assert_int_equal(sg_map_count(fx.smtp_fd), n);
	assert_int_equal(counter(SG_CNT_SMTP_REPLACED), 4 * SG_SMTP_SLOTS - n);
	while (!bpf_map_get_next_key(fx.smtp_fd, NULL, &key) &&
	       !bpf_map_lookup_elem(fx.smtp_fd, &key, &got) &&
	       got.port != 3000 + 4 * SG_SMTP_SLOTS - 1)
		assert_int_equal(bpf_map_delete_elem(fx.smtp_fd, &key), 0);
	assert_int_equal(got.port, 3000 + 4 * SG_SMTP_SLOTS - 1);
	assert_int_equal(got.sessions, 2);
}

/* The sessions sg_smtp holds for uid 0 to dst:port, 0 with no entry. */
static __u64 smtp_sessions(const char *dst, __u16 port)
{
	struct sg_smtp_key key, *prev = NULL;
	struct sg_smtp got;
	__u32 addr[4];

	assert_true(pkt_addr(dst, addr) > 0);
	while (!bpf_map_get_next_key(fx.smtp_fd, prev, &key)) {
		assert_int_equal(bpf_map_lookup_elem(fx.smtp_fd, &key, &got), 0);
		if (got.port == port && !memcmp(got.addr, addr, sizeof(addr)))
			return got.sessions;
		prev = &key;
	}
	return 0;
}

/*
 * MAIL comes once per message: after EHLO to the same destination it is the
 * session already counted; with no greeting it opens one for a destination
 * with no entry, and a second MAIL there is part of that one.
 */
static void test_smtp_mail_in_session(void **state)
{
	assert_int_equal(reset_maps(NULL), 0);
	send_ehlo("192.0.2.25", 2525);
	send_smtp("192.0.2.25", 2525, "MAIL FROM:<a@example.com>\r\n");
	send_smtp("192.0.2.25", 2525, "MAIL FROM:<b@example.com>\r\n");
	assert_int_equal(smtp_sessions("192.0.2.25", 2525), 1);
	assert_int_equal(counter(SG_CNT_SMTP_SEEN), 1);

	send_smtp("192.0.2.26", 2525, "MAIL FROM:<a@example.com>\r\n");
	assert_int_equal(smtp_sessions("192.0.2.26", 2525), 1);
	assert_int_equal(counter(SG_CNT_SMTP_SEEN), 2);
	send_smtp("192.0.2.26", 2525, "mail FROM:<>\r\n");
	assert_int_equal(smtp_sessions("192.0.2.26", 2525), 1);
	assert_int_equal(counter(SG_CNT_SMTP_SEEN), 2);

	/* A greeting opens a new session on the entry MAIL made. */
	send_ehlo("192.0.2.26", 2525);
	assert_int_equal(smtp_sessions("192.0.2.26", 2525), 2);
	assert_int_equal(counter(SG_CNT_SMTP_SEEN), 3);
	assert_int_equal(sg_map_count(fx.smtp_fd), 2);
	assert_int_equal(counter(SG_CNT_SMTP_REPLACED), 0);
}

/* Other UIDs filled the table: a new UID's session is not recorded, and that is counted. */
static void test_smtp_table_full(void **state)
{
	struct sg_smtp v = { .port = 2525, .sessions = 1 };
	struct sg_smtp_key key;
	__u32 i;

	assert_int_equal(reset_maps(NULL), 0);
	for (i = 0; i < SG_MAX_SMTP; i++) {
		key = (struct sg_smtp_key){ .uid = 1000 + i / SG_SMTP_SLOTS,
					    .slot = i % SG_SMTP_SLOTS };
		assert_int_equal(bpf_map_update_elem(fx.smtp_fd, &key, &v, BPF_NOEXIST), 0);
	}
	send_ehlo("192.0.2.25", 2525);
	assert_int_equal(sg_map_count(fx.smtp_fd), SG_MAX_SMTP);
	assert_int_equal(counter(SG_CNT_SMTP_SEEN), 1);
	assert_int_equal(counter(SG_CNT_SMTP_UNRECORDED), 1);
	assert_int_equal(counter(SG_CNT_SMTP_REPLACED), 0);
}

static __u32 xdp_verdict(const char *src)
{
	struct pkt_spec spec = { FROM6(src), SYN(587) };
	struct pkt p;
	__u32 verdict;

	assert_int_equal(pkt_build(&spec, &p), 0);
	assert_int_equal(run_xdp(&p, &verdict), 0);
	return verdict;
}

/* sg_ban_bits is the ingress object's global data: the skeleton maps it. */
static __u64 ban_bits_word(__u32 word)
{
	return __atomic_load_n(&fx.env.ingress->bss->sg_ban_bits[word], __ATOMIC_RELAXED);
}

/*
 * An IPv6 ban wider than /32, put by sg_ban_put, sends every IPv6 source on
 * to the trie, which finds it; lifted and the bits rebuilt, nothing is left.
 */
static void test_ban_wide_v6(void **state)
{
	struct sg_ban_key key;

	assert_int_equal(reset_maps(NULL), 0);
	assert_int_equal(ban_bits_word(SG_BAN_BITS_WIDE), 0);
	assert_int_equal(xdp_verdict("3fff:fff:1::1"), XDP_PASS);
	assert_int_equal(pkt_ban_key("3fff::", 20, &key), 0);
	assert_int_equal(sg_ban_put(fx.bans_fd, &key, 0, SG_BAN_MANUAL, NULL, NULL), 0);
	assert_int_equal(ban_bits_word(SG_BAN_BITS_WIDE), 1);
	assert_int_equal(xdp_verdict("3fff:fff:1::1"), XDP_DROP);
	assert_int_equal(xdp_verdict("3fff:1000::1"), XDP_PASS);
	assert_int_equal(xdp_verdict("2001:db8:bad::1"), XDP_DROP); /* BAN_V6_48 all the same */

	assert_int_equal(bpf_map_delete_elem(fx.bans_fd, &key), 0);
	assert_int_equal(sg_ban_bits_rebuild(), 0);
	assert_int_equal(ban_bits_word(SG_BAN_BITS_WIDE), 0);
	assert_int_equal(xdp_verdict("3fff:fff:1::1"), XDP_PASS);
	assert_int_equal(xdp_verdict("2001:db8:bad::1"), XDP_DROP);
}

/* An expired ban's bits go with it when the daemon's sweep removes it. */
static void test_ban_bits_expire(void **state)
{
	__u32 bit = 198U << 16 | 18 << 8 | 7; /* 198.18.7.0/24 */
	char dir[] = "/tmp/sg-test-sweep.XXXXXX";
	struct sg_census census = { 0 };
	struct sg_audit_cfg audit = { 0 };
	struct sg_ban_key key;
	int i;

	assert_int_equal(reset_maps(NULL), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(audit.path, sizeof(audit.path), "%s/audit.log", dir);
	assert_int_equal(pkt_ban_key("198.18.7.0", 24, &key), 0);
	/* For a nanosecond: expired by the time the sweep looks. */
	assert_int_equal(sg_ban_put(fx.bans_fd, &key, 1, SG_BAN_AUTH_FAILURES, NULL, NULL), 0);
	assert_int_not_equal(ban_bits_word(bit / 64) & (1ULL << (bit % 64)), 0);
	for (i = 0; i < 4 && !bpf_map_lookup_elem(fx.bans_fd, &key, &(struct sg_ban){ 0 }); i++)
		sg_sweep_bans(&audit, sg_boot_ns(), &census);
	assert_int_not_equal(bpf_map_lookup_elem(fx.bans_fd, &key, &(struct sg_ban){ 0 }), 0);
	assert_int_equal(ban_bits_word(bit / 64) & (1ULL << (bit % 64)), 0);
	unlink(audit.path);
	rmdir(dir);
}

/*
 * [actions] dry_run: a CrowdSec decision's ban is told, not put, as every
 * automatic ban; with dry run off, the next pull puts it.
 */
static void test_fleet_dry_run(void **state)
{
	struct sg_lapi_decision d = { .id = 7,
				      .origin = SG_ORIGIN_CROWDSEC,
				      .ban = 1,
				      .remaining_ns = 3600 * 1000000000LL,
				      .value = "3fff:abc::7",
				      .scenario = "smtpguard/bruteforce_login" };
	struct sg_bouncer b;
	struct sg_config c;
	struct sg_ban ban;

	assert_int_equal(reset_maps(NULL), 0);
	sg_config_default(&c);
	c.dry_run = 1;
	assert_int_equal(pkt_ban_key("3fff:abc::7", 128, &d.key), 0);
	assert_int_equal(sg_bouncer_init(&b, NULL, NULL), 0);
	sg_bouncer_apply(&b, &c, NULL, &d, 1, NULL, 0, 1, 1, sg_boot_ns());
	assert_int_not_equal(bpf_map_lookup_elem(fx.bans_fd, &d.key, &ban), 0);
	assert_int_equal(xdp_verdict("3fff:abc::7"), XDP_PASS);
	/* Told once, however many pulls find it pending. */
	sg_bouncer_apply(&b, &c, NULL, NULL, 0, NULL, 0, 0, 1, sg_boot_ns());
	assert_int_equal(b.n.told, 1);

	c.dry_run = 0;
	sg_bouncer_apply(&b, &c, NULL, NULL, 0, NULL, 0, 0, 1, sg_boot_ns());
	assert_int_equal(bpf_map_lookup_elem(fx.bans_fd, &d.key, &ban), 0);
	assert_int_equal(ban.reason, SG_BAN_FLEET_CROWDSEC);
	assert_int_equal(xdp_verdict("3fff:abc::7"), XDP_DROP);
	sg_bouncer_free(&b);
}

/* A rebuild after a ban is lifted clears its bits and keeps every other ban's. */
static void test_ban_bits_rebuild(void **state)
{
	__u32 bit = 198U << 16 | 51 << 8 | 100; /* BAN_EXPIRED, 198.51.100.0/24 */
	struct sg_ban_key key;

	assert_int_equal(reset_maps(NULL), 0);
	assert_int_equal(sg_ban_bits_rebuild(), 0);
	assert_int_not_equal(ban_bits_word(bit / 64) & (1ULL << (bit % 64)), 0);
	assert_int_equal(pkt_ban_key("198.51.100.0", 24, &key), 0);
	assert_int_equal(bpf_map_delete_elem(fx.bans_fd, &key), 0);
	assert_int_equal(sg_ban_bits_rebuild(), 0);
	assert_int_equal(ban_bits_word(bit / 64) & (1ULL << (bit % 64)), 0);
	bit = 203U << 16 | 0 << 8 | 113; /* BAN_V4_24 */
	assert_int_not_equal(ban_bits_word(bit / 64) & (1ULL << (bit % 64)), 0);
	assert_int_equal(ban_bits_word((100U << 16) / 64), ~0ULL); /* BAN_V4_8 */
}

/* TC's count of SYNs to port after one more from a clean source. */
static __u64 tc_syns_to(__u16 port)
{
	struct pkt_spec spec = { V4, SYN(port) };
	struct row r = { 0 };
	struct sg_port got;
	struct pkt p;
	__u32 verdict;

	assert_int_equal(pkt_build(&spec, &p), 0);
	assert_int_equal(run_tc(&r, &p, &verdict), 0);
	assert_int_equal((int)verdict, TC_ACT_UNSPEC);
	if (sg_port_get(fx.ports_fd, port, &got) == -ENOENT)
		return 0;
	return got.out_syns;
}

/*
 * sg_port_bits decides before sg_ports: sg_port_set keeps both, a port
 * whose bit is clear is not watched whatever sg_ports says, a rebuild (at
 * load) makes the bits sg_ports's again, and sg_port_remove clears them.
 */
static void test_port_bits(void **state)
{
	__u32 bit = sg_port_bit(2526, SG_PORT_OUTBOUND), word = bit / 64;
	__u64 v;

	assert_int_equal(reset_maps(NULL), 0);
	assert_int_equal(tc_syns_to(2526), 0);
	assert_int_equal(sg_port_set(fx.ports_fd, 2526, SG_PORT_OUTBOUND), 0);
	assert_int_equal(tc_syns_to(2526), 1);
	assert_int_equal(sg_port_set(fx.ports_fd, 2526, SG_PORT_INBOUND), 0);
	assert_int_equal(tc_syns_to(2526), 1);
	assert_int_equal(sg_port_set(fx.ports_fd, 2526, SG_PORT_OUTBOUND), 0);
	assert_int_equal(tc_syns_to(2526), 2);

	assert_int_equal(bpf_map_lookup_elem(fx.port_bits_fd, &word, &v), 0);
	v &= ~(1ULL << (bit % 64));
	assert_int_equal(bpf_map_update_elem(fx.port_bits_fd, &word, &v, BPF_ANY), 0);
	assert_int_equal(tc_syns_to(2526), 2);
	assert_int_equal(sg_port_bits_rebuild(), 0);
	assert_int_equal(tc_syns_to(2526), 3);
	assert_int_equal(tc_syns_to(25), 1); /* the defaults' bits, rebuilt too */

	/* A port removed takes its bits with it: sock_ops asks its bit alone. */
	assert_int_equal(sg_port_remove(fx.ports_fd, 2526), 0);
	assert_int_equal(bpf_map_lookup_elem(fx.port_bits_fd, &word, &v), 0);
	assert_int_equal((v >> (bit % 64)) & 1, 0);
	assert_int_equal(tc_syns_to(2526), 0);
	assert_int_equal(sg_port_remove(fx.ports_fd, 2526), 0);
}

static int group_setup(void **state)
{
	int err = pkt_env_open(&fx.env);

	if (err) {
		print_error("loading the programs: %s\n", strerror(-err));
		return -1;
	}
	fx.tc_fd = bpf_program__fd(fx.env.egress->progs.sg_egress_prog);
	fx.xdp_fd = bpf_program__fd(fx.env.ingress->progs.sg_ingress_prog);
	fx.ports_fd = bpf_map__fd(fx.env.egress->maps.sg_ports);
	fx.errors_fd = bpf_map__fd(fx.env.egress->maps.sg_errors);
	fx.counters_fd = bpf_map__fd(fx.env.egress->maps.sg_counters);
	fx.egress_fd = bpf_map__fd(fx.env.egress->maps.sg_egress);
	fx.sources_fd = bpf_map__fd(fx.env.ingress->maps.sg_sources);
	fx.smtp_fd = bpf_map__fd(fx.env.egress->maps.sg_smtp);
	fx.bans_fd = bpf_map__fd(fx.env.ingress->maps.sg_bans);
	fx.settings_fd = bpf_map__fd(fx.env.ingress->maps.sg_settings);
	fx.port_bits_fd = bpf_map__fd(fx.env.egress->maps.sg_port_bits);
	return 0;
}

static int group_teardown(void **state)
{
	int err = pkt_env_close(&fx.env);

	if (err)
		print_error("removing the private bpffs: %s\n", strerror(-err));
	return err ? -1 : 0;
}

int main(void)
{
	static struct test tests[2 * ARRAY_SIZE(rows)];
	static struct CMUnitTest units[2 * ARRAY_SIZE(rows) + 8];
	static const struct {
		int prog;
		const char *name;
	} progs[] = { { RUN_TC, "tc" }, { RUN_XDP, "xdp" } };
	size_t i, j, n = 0;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		for (j = 0; j < ARRAY_SIZE(progs); j++) {
			if (rows[i].progs && !(rows[i].progs & progs[j].prog))
				continue;
			tests[n].row = &rows[i];
			tests[n].prog = progs[j].prog;
			snprintf(tests[n].name, sizeof(tests[n].name), "%-3s %s", progs[j].name,
				 rows[i].name);
			units[n].name = tests[n].name;
			units[n].test_func = run_row;
			units[n].initial_state = &tests[n];
			n++;
		}
	}
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_smtp_per_uid_bound);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_smtp_table_full);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_smtp_mail_in_session);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_ban_wide_v6);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_ban_bits_rebuild);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_fleet_dry_run);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_ban_bits_expire);
	units[n++] = (struct CMUnitTest)cmocka_unit_test(test_port_bits);
	/* Rows for one program leave unused slots at the end, which cmocka passes over. */
	return cmocka_run_group_tests_name("bpf_packets", units, group_setup, group_teardown);
}
