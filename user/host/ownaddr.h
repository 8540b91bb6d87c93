/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This host's own addresses, and the addresses no automatic rule may ban:
 * a webmail front end on loopback or on the host's own address logs in to
 * many accounts and fails some logins every day ([campaign] webmail names
 * one elsewhere), and the operator's networks ([bruteforce] allow) must
 * stay reachable whatever a log says.
 * Every automatic ban (brute force, open relay, containment, campaign)
 * goes through sg_ban_auto(); only a human's `smtpguard ban` does not.
 * Addresses are IPv4-mapped IPv6, as in struct sg_ban_key.
 */
#ifndef SG_OWNADDR_H
#define SG_OWNADDR_H

#include <stddef.h>
#include <linux/types.h>

#include "core/config.h"

/* Every address of this host's interfaces, up to max into out; how many. */
size_t sg_own_addrs(__u32 (*out)[4], size_t max);

/* 127.0.0.0/8, ::1, or an address of this host (read again when a minute old). */
int sg_own_addr(const __u32 addr[4]);

/* sg_own_addr(), or within [bruteforce] allow or [campaign] webmail (c may be NULL). */
int sg_never_ban(const struct sg_config *c, const __u32 addr[4]);

/*
 * An automatic ban of key for for_ns (kern/maps.h's sg_ban_raise): -EPERM,
 * nothing put, for an address sg_never_ban() keeps; 1 when a ban at least
 * as long stays; 0 when put; else -errno.
 */
int sg_ban_auto(const struct sg_config *c, const struct sg_ban_key *key, __u64 for_ns,
		__u32 reason);

#endif
