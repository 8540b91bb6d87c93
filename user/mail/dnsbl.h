/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DNS blocklists (RFC 5782): is one of this host's outbound addresses
 * listed? Query names, the classification of an answer and the filter of
 * global addresses are pure, so they are tested on values made by hand;
 * sg_dnsbl_lookup() asks the system resolver and blocks while it waits.
 */
#ifndef SG_DNSBL_H
#define SG_DNSBL_H

#include <netinet/in.h>
#include <stddef.h>

/* The longest zone every query name fits in: 253 less the 64 of an IPv6 address's nibbles. */
#define SG_DNSBL_ZONE_MAX   189
#define SG_DNSBL_QNAME_MAX  254 /* a query name, with its NUL */
#define SG_DNSBL_HOST_ADDRS 64	/* the daemon checks at most this many of the host's addresses */

struct sg_dnsbl_addr {
	int family;		     /* AF_INET (an IPv4-mapped IPv6 address too) or AF_INET6 */
	unsigned char bytes[16];     /* network order; the first 4 for AF_INET */
	char text[INET6_ADDRSTRLEN]; /* canonical: "198.51.100.7", "2001:db8::7" */
};

/* A numeric IPv4 or IPv6 address (no prefix, no scope); -EINVAL otherwise. */
int sg_dnsbl_addr_parse(const char *s, struct sg_dnsbl_addr *a);

/*
 * 1 when a is worth a lookup: not loopback, link-local, multicast, RFC 1918,
 * 100.64.0.0/10, unspecified or reserved; IPv6 only from 2000::/3.
 */
int sg_dnsbl_addr_global(const struct sg_dnsbl_addr *a);

/*
 * A zone name as the CLI and the daemon take it: labels of letters, digits,
 * '-' and '_', 1 to 63 characters, no trailing dot, at most SG_DNSBL_ZONE_MAX
 * characters. 0, or -EINVAL or -ENAMETOOLONG with *why in words.
 */
int sg_dnsbl_zone_check(const char *zone, const char **why);

/*
 * The query name of a in zone: 198.51.100.7 is "7.100.51.198.ZONE", an IPv6
 * address its 32 nibbles reversed. 0, -EINVAL for a bad zone, -ENAMETOOLONG
 * when the name is over 253 characters or does not fit in len.
 */
int sg_dnsbl_qname(const struct sg_dnsbl_addr *a, const char *zone, char *buf, size_t len);

enum sg_dnsbl_status {
	SG_DNSBL_NOT_LISTED,
	SG_DNSBL_LISTED,
	SG_DNSBL_FAILED,
};

struct sg_dnsbl_answer {
	enum sg_dnsbl_status status;
	char detail[128]; /* listed: the codes, "127.0.0.2, 127.0.0.4"; failed: the reason */
};

/* What the DNS response msg (len bytes) to an A query says. */
void sg_dnsbl_classify(const unsigned char *msg, size_t len, struct sg_dnsbl_answer *ans);

/*
 * Looks a up in zone through the system resolver (/etc/resolv.conf); waits
 * for up to its timeout times attempts per server. 0 with *ans set, a
 * failed lookup included; -errno when no query could be sent.
 */
int sg_dnsbl_lookup(const struct sg_dnsbl_addr *a, const char *zone, struct sg_dnsbl_answer *ans);

/*
 * This host's global addresses on interfaces that are up, each once: the
 * first max go to out (NULL when max is 0). Returns how many there are,
 * or -errno.
 */
int sg_dnsbl_host_addrs(struct sg_dnsbl_addr *out, int max);

#endif
