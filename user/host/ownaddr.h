/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This host's own addresses, and the addresses no automatic rule may ban:
 * a webmail front end on loopback or on the host's own address logs in to
 * many accounts and fails some logins every day ([campaign] webmail names
 * one elsewhere), and the operator's networks ([bruteforce] allow) must
 * stay reachable whatever a log says.
 * Every automatic ban (brute force, open relay, containment, campaign)
 * goes through sg_ban_auto(), which never bans a network covering any of
 * them; a human's `smtpguard ban` needs --force for one.
 * Addresses are IPv4-mapped IPv6, as in struct sg_ban_key.
 */
#ifndef SG_OWNADDR_H
#define SG_OWNADDR_H

#include <stddef.h>
#include <linux/types.h>

#include "core/config.h"

/* Every address of this host's interfaces, up to max into out; how many. */
size_t sg_own_addrs(__u32 (*out)[4], size_t max);

/*
 * The gateways of the default routes in route4 and route6, files in the
 * formats of /proc/net/route and /proc/net/ipv6_route, up to max into out;
 * how many (a missing file has none).
 */
size_t sg_default_gateways(const char *route4, const char *route6, __u32 (*out)[4], size_t max);

/* 127.0.0.0/8, ::1, or an address of this host (read again when a minute old). */
int sg_own_addr(const __u32 addr[4]);

/*
 * sg_own_addr(), a default route's gateway (read again when a minute old),
 * or within [bruteforce] allow or [campaign] webmail (c may be NULL).
 */
int sg_never_ban(const struct sg_config *c, const __u32 addr[4]);

/*
 * Whether a ban of key would cut the operator off: it covers (holds, not
 * only equals) every IPv4 address (::ffff:0:0/96), loopback, an address of
 * this host or a default route's gateway, or shares an address with a
 * network of [bruteforce] allow or [campaign] webmail (c may be NULL).
 * 1, and the first one found said in what (len bytes; what may be NULL),
 * e.g. "loopback 127.0.0.0/8"; else 0.
 */
int sg_ban_covers_own(const struct sg_config *c, const struct sg_ban_key *key, char *what,
		      size_t len);

/*
 * An automatic ban of key for for_ns (kern/maps.h's sg_ban_raise): -EPERM,
 * nothing put, for a prefix sg_ban_covers_own() refuses; 1 when a ban at least
 * as long stays; 0 when put; else -errno.
 */
int sg_ban_auto(const struct sg_config *c, const struct sg_ban_key *key, __u64 for_ns,
		__u32 reason);

/* How many sg_ban_auto() refused in this process: smtpguard_bans_refused_total. */
__u64 sg_bans_refused(void);

#endif
