// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <net/route.h>
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
#include "util/render.h"

#define OWN_MAX	     4096 /* a shared host may give each site an IPv6 address of its own */
#define OWN_AGE_S    60	  /* addresses come and go (DHCP, failover IPs): read again after this */
#define GATEWAYS_MAX 16	  /* default routes with a gateway: several with ECMP or per table */

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

/* A default route's gateway on a line of /proc/net/route: the __be32 printed as a host integer. */
static int gateway4(const char *line, __u32 out[4])
{
	unsigned int dst, via, flags, mask;

	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
	if (sscanf(line, "%*s %x %x %x %*d %*d %*d %x", &dst, &via, &flags, &mask) != 4 || dst ||
	    mask || !via || !(flags & RTF_GATEWAY))
		return 0;
	memcpy(out, mapped, sizeof(mapped));
	memcpy(&out[3], &via, 4);
	return 1;
}

/* A default route's gateway on a line of /proc/net/ipv6_route: 32 hex digits in network order. */
static int gateway6(const char *line, __u32 out[4])
{
	unsigned char *a = (unsigned char *)out;
	char dst[33], via[33];
	unsigned int plen;
	int i;

	/* dst dst_len src src_len next_hop metric ...: a default has dst ::/0. */
	if (sscanf(line, "%32s %x %*32s %*x %32s", dst, &plen, via) != 3 || strlen(dst) != 32 ||
	    strlen(via) != 32 || plen || strspn(dst, "0") != 32 || strspn(via, "0") == 32)
		return 0;
	for (i = 0; i < 16 && sscanf(via + 2 * i, "%2hhx", &a[i]) == 1; i++)
		;
	return i == 16;
}

/* The default routes' gateways in one routing table file, its lines read by gateway. */
static size_t gateways_in(const char *path, int (*gateway)(const char *, __u32[4]), __u32 (*out)[4],
			  size_t max)
{
	char line[512];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		n += gateway(line, out[n]);
	fclose(f);
	return n;
}

size_t sg_default_gateways(const char *route4, const char *route6, __u32 (*out)[4], size_t max)
{
	size_t n = gateways_in(route4, gateway4, out, max);

	return n + gateways_in(route6, gateway6, out + n, max - n);
}

/* A list read again when OWN_AGE_S old; a read finding none keeps the last, unless empty_ok. */
struct addr_list {
	__u32 (*a)[4];
	size_t n, max;
	time_t at;
	int empty_ok;
	const char *what; /* for the warning at max */
	size_t (*read)(__u32 (*out)[4], size_t max);
};

static size_t read_gateways(__u32 (*out)[4], size_t max)
{
	return sg_default_gateways("/proc/net/route", "/proc/net/ipv6_route", out, max);
}

/* The daemon's one thread asks; a cache keeps getifaddrs() and /proc off each request. */
static const struct addr_list *fresh(struct addr_list *l)
{
	time_t now = time(NULL);
	size_t got;

	if (l->at && now - l->at < OWN_AGE_S && now >= l->at)
		return l;
	got = l->read(l->a, l->max);
	l->n = got || l->empty_ok ? got : l->n;
	l->at = now;
	if (got == l->max)
		sg_warn("this host has %zu %s or more: those past them are not known", l->max,
			l->what);
	return l;
}

static const struct addr_list *own_list(void)
{
	static __u32 own[OWN_MAX][4];
	static struct addr_list l = {
		.a = own, .max = OWN_MAX, .what = "addresses", .read = sg_own_addrs
	};

	return fresh(&l);
}

static const struct addr_list *gateway_list(void)
{
	static __u32 gw[GATEWAYS_MAX][4];
	static struct addr_list l = { .a = gw,
				      .max = GATEWAYS_MAX,
				      .empty_ok = 1,
				      .what = "default gateways",
				      .read = read_gateways };

	return fresh(&l);
}

static int in_list(const struct addr_list *l, const __u32 addr[4])
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!memcmp(l->a[i], addr, sizeof(l->a[i])))
			return 1;
	return 0;
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
	return loopback(addr) || in_list(own_list(), addr);
}

int sg_never_ban(const struct sg_config *c, const __u32 addr[4])
{
	return sg_own_addr(addr) || in_list(gateway_list(), addr) ||
	       (c && (sg_cidr_list_contains(c->bruteforce.allow, c->bruteforce.n_allow, addr) ||
		      sg_cidr_list_contains(c->campaign.webmail, c->campaign.n_webmail, addr)));
}

/* The two prefixes share an address: the broader one holds the other's first. */
static int overlap(const struct sg_ban_key *a, const struct sg_ban_key *b)
{
	return a->prefixlen <= b->prefixlen ? sg_cidr_contains(a, b->addr)
					    : sg_cidr_contains(b, a->addr);
}

/* The first address of l that key holds, said in what as "LABEL ADDR". */
static int covers_one(const struct sg_ban_key *key, const struct addr_list *l, const char *label,
		      char *what, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (sg_cidr_contains(key, l->a[i])) {
			snprintf(what, len, "%s %s", label,
				 sg_format_addr(l->a[i], addr, sizeof(addr)));
			return 1;
		}
	return 0;
}

/* The first of the nets key overlaps, said in what as "LABEL NET". */
static int covers_net(const struct sg_ban_key *key, const struct sg_ban_key *nets, int n,
		      const char *label, char *what, size_t len)
{
	char net[INET6_ADDRSTRLEN + 8];
	int i;

	for (i = 0; i < n; i++)
		if (overlap(key, &nets[i])) {
			snprintf(what, len, "%s %s", label,
				 sg_format_cidr(&nets[i], net, sizeof(net)));
			return 1;
		}
	return 0;
}

int sg_ban_covers_own(const struct sg_config *c, const struct sg_ban_key *key, char *what,
		      size_t len)
{
	struct sg_ban_key ipv4, lo[2];
	char buf[INET6_ADDRSTRLEN + 64];
	const char *why;

	if (!what) {
		what = buf;
		len = sizeof(buf);
	}
	/* Loopback whatever the interfaces say; ::ffff:0:0/96 is every IPv4 address. */
	sg_parse_cidr("::ffff:0:0/96", &ipv4, &why);
	sg_parse_cidr("127.0.0.0/8", &lo[0], &why);
	sg_parse_cidr("::1", &lo[1], &why);
	if (key->prefixlen <= ipv4.prefixlen && sg_cidr_contains(key, ipv4.addr)) {
		snprintf(what, len, "every IPv4 address (::ffff:0:0/96)");
		return 1;
	}
	return covers_net(key, lo, 2, "loopback", what, len) ||
	       covers_one(key, own_list(), "this host's address", what, len) ||
	       covers_one(key, gateway_list(), "the default route's gateway", what, len) ||
	       (c && (covers_net(key, c->bruteforce.allow, c->bruteforce.n_allow,
				 "[bruteforce] allow", what, len) ||
		      covers_net(key, c->campaign.webmail, c->campaign.n_webmail,
				 "[campaign] webmail", what, len)));
}

/* The daemon's automatic bans refused since it started: one process, one count. */
static __u64 refused;

__u64 sg_bans_refused(void)
{
	return refused;
}

int sg_ban_auto(const struct sg_config *c, const struct sg_ban_key *key, __u64 for_ns, __u32 reason)
{
	int fd, err;

	if (sg_ban_covers_own(c, key, NULL, 0)) {
		refused++;
		return -EPERM;
	}
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return fd;
	err = sg_ban_raise(fd, key, for_ns, reason);
	close(fd);
	return err;
}
