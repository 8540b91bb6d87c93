// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <ifaddrs.h>
#include <unistd.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "host/ownaddr.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "util/log.h"
#include "util/parse.h"

#define OWN_MAX	  4096 /* a shared host may give each site an IPv6 address of its own */
#define OWN_AGE_S 60   /* addresses come and go (DHCP, failover IPs): read again after this */

static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

size_t sg_own_addrs(__u32 (*out)[4], size_t max)
{
	struct ifaddrs *ifs, *i;
	size_t n = 0;

	if (getifaddrs(&ifs))
		return 0;
	for (i = ifs; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(out[n], mapped, sizeof(mapped));
			memcpy(&out[n++][3], &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(out[n++], &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		}
	}
	freeifaddrs(ifs);
	return n;
}

static int loopback(const __u32 a[4])
{
	static const unsigned char one[16] = { [15] = 1 };

	if (!memcmp(a, mapped, sizeof(mapped)))
		return ((const unsigned char *)a)[12] == 127;
	return !memcmp(a, one, sizeof(one));
}

int sg_own_addr(const __u32 addr[4])
{
	/* The daemon's one thread asks; a cache keeps getifaddrs() off each request. */
	static __u32 own[OWN_MAX][4];
	static size_t n;
	static time_t at;
	time_t now = time(NULL);
	size_t i, got;

	if (loopback(addr))
		return 1;
	if (!at || now - at >= OWN_AGE_S || now < at) {
		/* getifaddrs() failing (no memory, no netlink) keeps the last list. */
		got = sg_own_addrs(own, OWN_MAX);
		n = got ? got : n;
		at = now;
		if (got == OWN_MAX)
			sg_warn("this host has %d addresses or more: those past them are not "
				"known as its own",
				OWN_MAX);
	}
	for (i = 0; i < n; i++)
		if (!memcmp(own[i], addr, sizeof(own[i])))
			return 1;
	return 0;
}

int sg_never_ban(const struct sg_config *c, const __u32 addr[4])
{
	return sg_own_addr(addr) ||
	       (c && (sg_cidr_list_contains(c->bruteforce.allow, c->bruteforce.n_allow, addr) ||
		      sg_cidr_list_contains(c->campaign.webmail, c->campaign.n_webmail, addr)));
}

int sg_ban_auto(const struct sg_config *c, const struct sg_ban_key *key, __u64 for_ns, __u32 reason)
{
	int fd, err;

	if (sg_never_ban(c, key->addr))
		return -EPERM;
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return fd;
	err = sg_ban_raise(fd, key, for_ns, reason);
	close(fd);
	return err;
}
