/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the BPF_PROG_TEST_RUN tests and the benchmark share: byte-exact
 * frames built from a declarative spec, so that a table row says what is
 * odd about its packet and nothing else, and the programs loaded against a
 * private bpffs, so that their pins never meet a running smtpguard.
 *
 * Frames are valid on the wire unless the spec asks for a lie (a wrong
 * version, IHL or data offset, a cut): lengths and checksums are filled in,
 * options are real padding, so a frame can be replayed or dumped as is.
 */
#ifndef SG_TEST_PKT_H
#define SG_TEST_PKT_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/mount.h>
#include <linux/if_ether.h>
#include <bpf/libbpf.h>

#include "smtpguard.h"
#include "kern/banbits.h"
#include "kern/maps.h"
#include "egress.skel.h"
#include "ingress.skel.h"

/* Test runs take a frame that fits a page less the head- and tailroom. */
#define PKT_MAX 3072
#define PKT_MAX_TAGS 4 /* one more than the parser follows */
#define PKT_MAX_EXTS 8 /* two more than the parser follows */
#define PKT_SPORT 49152 /* when the spec leaves it 0 */

struct pkt_ext {
	__u8 type; /* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS, _AH or _FRAGMENT */
	__u8 hdrlen; /* the length field: 8-octet units - 1, for AH 4-octet units - 2 */
	__u16 frag; /* fragment header: offset << 3 | res << 1 | M */
};

struct pkt_spec {
	__u16 tpid[PKT_MAX_TAGS]; /* VLAN tags, outermost first; 0 ends the list */
	__u16 ethertype; /* 0: the IP version's; ETH_P_ARP builds an ARP request */
	const char *src, *dst; /* the address family of src picks IPv4 or IPv6 */
	__u8 version; /* IP version field, when it is to lie */
	__u8 ihl; /* IPv4 IHL, when it is to lie */
	__u8 ip_opts; /* IPv4 option bytes, a multiple of 4 */
	__u16 frag; /* IPv4 flags and fragment offset, host order */
	struct pkt_ext ext[PKT_MAX_EXTS]; /* IPv6 extension headers, in order */
	__u8 exts;
	__u8 l4; /* IPPROTO_UDP, else TCP */
	__u16 sport, dport;
	__u8 flags; /* TH_* */
	__u8 doff; /* TCP data offset, when it is to lie */
	__u8 tcp_opts; /* TCP option bytes, a multiple of 4 */
	__u16 payload;
	const char *text; /* the payload's first bytes, at most payload of them; NULL: zeros */
	__u16 len; /* cut the frame to this many bytes; 0 keeps it whole */
	bool ip_len_set; /* the IPv4 total or IPv6 payload length is to lie: */
	__u16 ip_len; /* this instead (0: unknown, as in BIG TCP) */
};

struct pkt {
	__u8 data[PKT_MAX];
	__u32 len;
	__u32 hdr_len; /* L2 + L3 + L4 header bytes, what every GSO segment repeats */
};

/*
 * s as smtpguard keys addresses: 16 bytes, network order, IPv4 mapped.
 * Returns AF_INET or AF_INET6, or -EINVAL.
 */
static inline int pkt_addr(const char *s, __u32 addr[4])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		addr[0] = 0;
		addr[1] = 0;
		addr[2] = htonl(0xffff);
		addr[3] = a4.s_addr;
		return AF_INET;
	}
	return inet_pton(AF_INET6, s, addr) == 1 ? AF_INET6 : -EINVAL;
}

/* The sg_bans key for prefix/len, where len counts in the address's own family. */
static inline int pkt_ban_key(const char *prefix, __u32 len, struct sg_ban_key *key)
{
	int family = pkt_addr(prefix, key->addr);

	if (family < 0)
		return family;
	key->prefixlen = family == AF_INET ? 96 + len : len;
	return key->prefixlen > 128 ? -EINVAL : 0;
}

/* Append n zeroed bytes; NULL when the frame would not fit. */
static inline __u8 *pkt_put(struct pkt *p, size_t n)
{
	__u8 *at = p->data + p->len;

	if (n > sizeof(p->data) - p->len)
		return NULL;
	memset(at, 0, n);
	p->len += n;
	return at;
}

static inline void pkt_be16(__u8 *at, __u16 v)
{
	at[0] = v >> 8;
	at[1] = v;
}

static inline __u32 pkt_csum_add(__u32 sum, const __u8 *b, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += b[n - 1] << 8;
	return sum;
}

static inline __u16 pkt_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static inline size_t pkt_ext_len(const struct pkt_ext *e)
{
	if (e->type == IPPROTO_AH)
		return (e->hdrlen + 2) * 4;
	if (e->type == IPPROTO_FRAGMENT)
		return 8;
	return (e->hdrlen + 1) * 8;
}

static inline size_t pkt_l4_len(const struct pkt_spec *s)
{
	if (s->l4 == IPPROTO_UDP)
		return sizeof(struct udphdr) + s->payload;
	return sizeof(struct tcphdr) + s->tcp_opts + s->payload;
}

/* TCP or UDP header and payload; the checksum covers the pseudo-header of src and dst. */
static inline int pkt_l4(const struct pkt_spec *s, struct pkt *p, const void *src,
			 const void *dst, size_t alen)
{
	/* MSS first, as on a SYN, then NOPs: real options of any length. */
	static const __u8 mss[] = { TCPOPT_MAXSEG, TCPOLEN_MAXSEG, 1460 >> 8, 1460 & 0xff };
	__u8 proto = s->l4 ?: IPPROTO_TCP;
	size_t len = pkt_l4_len(s), hl = len - s->payload, sum_at;
	__u8 *at = pkt_put(p, len);
	__u32 sum;

	if (!at)
		return -ENOSPC;
	if (proto == IPPROTO_UDP) {
		struct udphdr uh = {
			.uh_sport = htons(s->sport ?: PKT_SPORT),
			.uh_dport = htons(s->dport),
			.uh_ulen = htons(len),
		};

		memcpy(at, &uh, sizeof(uh));
		sum_at = offsetof(struct udphdr, uh_sum);
	} else {
		struct tcphdr th = {
			.th_sport = htons(s->sport ?: PKT_SPORT),
			.th_dport = htons(s->dport),
			.th_seq = htonl(1000),
			.th_ack = htonl(s->flags & TH_ACK ? 2000 : 0),
			.th_off = s->doff ?: hl / 4,
			.th_flags = s->flags,
			.th_win = htons(65535),
		};

		if (s->tcp_opts % 4 || (s->tcp_opts && s->tcp_opts < sizeof(mss)))
			return -EINVAL;
		memcpy(at, &th, sizeof(th));
		if (s->tcp_opts) {
			memcpy(at + sizeof(th), mss, sizeof(mss));
			memset(at + sizeof(th) + sizeof(mss), TCPOPT_NOP,
			       s->tcp_opts - sizeof(mss));
		}
		sum_at = offsetof(struct tcphdr, th_sum);
	}
	if (s->text)
		memcpy(at + hl, s->text, strnlen(s->text, s->payload));
	sum = pkt_csum_add(pkt_csum_add(proto + len, src, alen), dst, alen);
	pkt_be16(at + sum_at, pkt_csum_fold(pkt_csum_add(sum, at, len)));
	p->hdr_len = at + hl - p->data;
	return 0;
}

static inline int pkt_ipv4(const struct pkt_spec *s, struct pkt *p, const __u32 src[4],
			   const __u32 dst[4])
{
	size_t hl = sizeof(struct ip) + s->ip_opts;
	__u8 *at = pkt_put(p, hl);
	struct ip ip = {
		.ip_v = s->version ?: 4,
		.ip_hl = s->ihl ?: hl / 4,
		.ip_len = htons(hl + pkt_l4_len(s)),
		.ip_id = htons(0x5347),
		.ip_off = htons(s->frag),
		.ip_ttl = 64,
		.ip_p = s->l4 ?: IPPROTO_TCP,
	};

	if (!at)
		return -ENOSPC;
	if (s->ip_opts % 4)
		return -EINVAL;
	if (s->ip_len_set)
		ip.ip_len = htons(s->ip_len);
	memcpy(&ip.ip_src, &src[3], 4);
	memcpy(&ip.ip_dst, &dst[3], 4);
	memcpy(at, &ip, sizeof(ip));
	if (s->ip_opts) {
		memset(at + sizeof(ip), IPOPT_NOP, s->ip_opts - 1);
		at[hl - 1] = IPOPT_EOL;
	}
	pkt_be16(at + offsetof(struct ip, ip_sum), pkt_csum_fold(pkt_csum_add(0, at, hl)));
	return pkt_l4(s, p, &src[3], &dst[3], 4);
}

/* One extension header of e's kind and length, padded as the kind requires. */
static inline int pkt_ipv6_ext(struct pkt *p, const struct pkt_ext *e, __u8 next)
{
	size_t len = pkt_ext_len(e);
	__u8 *at = pkt_put(p, len);

	if (!at)
		return -ENOSPC;
	at[0] = next;
	switch (e->type) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_DSTOPTS:
		at[1] = e->hdrlen;
		at[2] = IP6OPT_PADN;
		at[3] = len - 4;
		break;
	case IPPROTO_ROUTING:
		/* Type 0 with no segments left: receivers ignore it, parsers must walk it. */
		at[1] = e->hdrlen;
		break;
	case IPPROTO_AH:
		at[1] = e->hdrlen;
		at[7] = 0x01; /* SPI 256 */
		at[11] = 0x01; /* sequence 1 */
		break;
	case IPPROTO_FRAGMENT:
		pkt_be16(at + 2, e->frag);
		at[7] = 0x47; /* identification */
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static inline int pkt_ipv6(const struct pkt_spec *s, struct pkt *p, const __u32 src[4],
			   const __u32 dst[4])
{
	__u8 *at = pkt_put(p, sizeof(struct ip6_hdr)), next;
	struct ip6_hdr ip6 = { .ip6_hlim = 64 };
	size_t plen = pkt_l4_len(s);
	int i, err;

	if (!at)
		return -ENOSPC;
	if (s->exts > PKT_MAX_EXTS)
		return -EINVAL;
	for (i = 0; i < s->exts; i++)
		plen += pkt_ext_len(&s->ext[i]);
	ip6.ip6_flow = htonl((s->version ?: 6) << 28);
	ip6.ip6_plen = htons(s->ip_len_set ? s->ip_len : plen);
	ip6.ip6_nxt = s->exts ? s->ext[0].type : s->l4 ?: IPPROTO_TCP;
	memcpy(&ip6.ip6_src, src, 16);
	memcpy(&ip6.ip6_dst, dst, 16);
	memcpy(at, &ip6, sizeof(ip6));
	for (i = 0; i < s->exts; i++) {
		next = i + 1 < s->exts ? s->ext[i + 1].type : s->l4 ?: IPPROTO_TCP;
		err = pkt_ipv6_ext(p, &s->ext[i], next);
		if (err)
			return err;
	}
	return pkt_l4(s, p, src, dst, 16);
}

static inline int pkt_arp(struct pkt *p, const __u32 src[4], const __u32 dst[4])
{
	static const __u8 head[] = { 0, 1, 8, 0, 6, 4, 0, 1 }; /* Ethernet, IPv4, request */
	__u8 *at = pkt_put(p, 28);

	if (!at)
		return -ENOSPC;
	memcpy(at, head, sizeof(head));
	memcpy(at + 8, p->data + ETH_ALEN, ETH_ALEN);
	memcpy(at + 14, &src[3], 4);
	memcpy(at + 24, &dst[3], 4);
	return 0;
}

/* Build the frame s describes into p; returns -errno for a spec that makes no frame. */
static inline int pkt_build(const struct pkt_spec *s, struct pkt *p)
{
	static const __u8 macs[2 * ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 };
	__u32 src[4], dst[4];
	int family, i, err;
	__u16 ethertype;
	__u8 *at;

	memset(p, 0, sizeof(*p));
	family = pkt_addr(s->src, src);
	if (family < 0 || pkt_addr(s->dst, dst) < 0)
		return -EINVAL;
	if (family == AF_INET && !IN6_IS_ADDR_V4MAPPED((struct in6_addr *)dst))
		return -EINVAL;
	ethertype = s->ethertype ?: family == AF_INET ? ETH_P_IP : ETH_P_IPV6;

	/* The link header always fits: only what follows can overflow. */
	at = pkt_put(p, sizeof(macs));
	memcpy(at, macs, sizeof(macs));
	for (i = 0; i < PKT_MAX_TAGS && s->tpid[i]; i++) {
		at = pkt_put(p, 4);
		pkt_be16(at, s->tpid[i]);
		pkt_be16(at + 2, 100 + i); /* VLAN id */
	}
	pkt_be16(pkt_put(p, 2), ethertype);

	if (ethertype == ETH_P_ARP)
		err = family == AF_INET ? pkt_arp(p, src, dst) : -EINVAL;
	else if (family == AF_INET)
		err = pkt_ipv4(s, p, src, dst);
	else
		err = pkt_ipv6(s, p, src, dst);
	if (err)
		return err;
	if (s->len > p->len)
		return -EINVAL;
	if (s->len)
		p->len = s->len;
	return 0;
}

/* The programs under test, loaded with their maps pinned in a bpffs of their own. */
struct pkt_env {
	char dir[32];
	bool mounted;
	struct egress_bpf *egress;
	struct ingress_bpf *ingress;
};

static inline int pkt_env_unpin(struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		/* Maps the objects share were pinned once, and are gone after the first unpin. */
		err = bpf_map__is_pinned(map) ? bpf_map__unpin(map, NULL) : 0;
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

/*
 * Unpin every map and remove the bpffs; safe on a partly opened env.
 * Returns the first -errno.
 */
static inline int pkt_env_close(struct pkt_env *env)
{
	int err = env->egress ? pkt_env_unpin(env->egress->obj) : 0;
	int ret = env->ingress ? pkt_env_unpin(env->ingress->obj) : 0;

	err = err ?: ret;
	egress_bpf__destroy(env->egress);
	ingress_bpf__destroy(env->ingress);
	env->egress = NULL;
	env->ingress = NULL;
	if (env->mounted && umount2(env->dir, 0) && !err)
		err = -errno;
	env->mounted = false;
	if (env->dir[0] && rmdir(env->dir) && !err)
		err = -errno;
	env->dir[0] = '\0';
	return err;
}

/*
 * Mount a private bpffs, load egress then ingress (the second reuses the
 * shared maps the first pinned) and set the default ports. Says on stderr
 * which step failed; libbpf has already printed why.
 */
static inline int pkt_env_open(struct pkt_env *env)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = env->dir);
	const char *step;
	int err;

	memset(env, 0, sizeof(*env));
	strcpy(env->dir, "/tmp/smtpguard-bpffs-XXXXXX");
	step = "mkdtemp";
	if (!mkdtemp(env->dir)) {
		err = -errno;
		env->dir[0] = '\0';
		goto fail;
	}
	step = "mount bpffs";
	if (mount("bpf", env->dir, "bpf", 0, NULL)) {
		err = -errno;
		goto fail;
	}
	env->mounted = true;
	/* The library's writers (sg_ban_put) find the maps by their pins. */
	step = "setenv";
	if (setenv("SMTPGUARD_PIN_DIR", env->dir, 1)) {
		err = -errno;
		goto fail;
	}
	step = "open egress";
	env->egress = egress_bpf__open_opts(&opts);
	if (!env->egress) {
		err = -errno;
		goto fail;
	}
	step = "load egress";
	err = egress_bpf__load(env->egress);
	if (err)
		goto fail;
	step = "open ingress";
	env->ingress = ingress_bpf__open_opts(&opts);
	if (!env->ingress) {
		err = -errno;
		goto fail;
	}
	step = "pin ingress's ban bits";
	err = sg_ban_bits_pin(env->ingress->obj);
	if (err)
		goto fail;
	step = "load ingress";
	err = ingress_bpf__load(env->ingress);
	if (err)
		goto fail;
	step = "set default ports";
	err = sg_ports_default(bpf_map__fd(env->egress->maps.sg_ports));
	if (err)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "%s: %s\n", step, strerror(-err));
	pkt_env_close(env);
	return err;
}

#endif /* SG_TEST_PKT_H */
