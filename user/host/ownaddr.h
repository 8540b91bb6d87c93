/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This host's own addresses, and the addresses no automatic rule may ban:
 * a webmail front end on loopback or on the host's own address logs in to
 * many accounts and fails some logins every day, and the operator's
 * networks ([bruteforce] allow) must stay reachable whatever a log says.
 * Every automatic ban (brute force, open relay, containment, campaign)
 * asks sg_never_ban() first; only a human's `smtpguard ban` does not.
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

/* sg_own_addr(), or within [bruteforce] allow. */
int sg_never_ban(const struct sg_bruteforce_cfg *bf, const __u32 addr[4]);

#endif
