// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/parse.h"
#include "sg_bucket.h"

#define SG_DURATION_MAX (366ULL * 24 * 3600 * SG_NS_PER_SEC)

static int fail(const char **why, const char *msg, int err)
{
	*why = msg;
	return err;
}

/* Leading decimal digits of s into *v (no sign, no overflow); returns the digits read. */
static int parse_digits(const char *s, __u64 *v)
{
	int n = 0;

	*v = 0;
	for (; isdigit((unsigned char)s[n]); n++) {
		if (*v > (~0ULL - 9) / 10)
			return -1;
		*v = *v * 10 + (s[n] - '0');
	}
	return n;
}

int sg_parse_rate(const char *s, __u64 *per_hour, const char **why)
{
	static const struct {
		const char *name;
		__u64 per_hour;
	} units[] = {
		{ "s", 3600 }, { "sec", 3600 }, { "m", 60 },	{ "min", 60 },
		{ "h", 1 },    { "hour", 1 },	{ "hr", 1 },
	};
	__u64 n;
	size_t i;
	int len = parse_digits(s, &n);

	if (len < 0)
		return fail(why, "number too large", -ERANGE);
	if (len == 0 || s[len] != '/')
		return fail(why, "expected N/s, N/min or N/h", -EINVAL);
	if (n == 0)
		return fail(why, "a rate must be at least 1 (use block to refuse everything)",
			    -ERANGE);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + len + 1, units[i].name))
			continue;
		if (n > SG_RATE_MAX_PER_HOUR / units[i].per_hour)
			return fail(why, "more than a million per second", -ERANGE);
		*per_hour = n * units[i].per_hour;
		return 0;
	}
	return fail(why, "unknown unit (use /s, /min or /h)", -EINVAL);
}

int sg_parse_duration(const char *s, __u64 *ns, const char **why)
{
	static const char units[] = "dhms";
	static const __u64 seconds[] = { 86400, 3600, 60, 1 };
	__u64 total = 0, n;
	const char *u, *last = NULL;
	int len;

	if (!*s)
		return fail(why, "empty duration", -EINVAL);
	while (*s) {
		len = parse_digits(s, &n);
		if (len < 0)
			return fail(why, "longer than a year", -ERANGE);
		if (len == 0)
			return fail(why, "expected a number, as in 90s, 15m, 2h, 1d or 1h30m",
				    -EINVAL);
		s += len;
		/* A bare number could be meant as seconds or as minutes: say which. */
		if (!*s)
			return fail(why, "a number needs its unit (s, m, h or d), as in 90s",
				    -EINVAL);
		u = strchr(units, *s);
		if (!u)
			return fail(why, "unknown unit (use s, m, h or d)", -EINVAL);
		/* 1h1h or 30m1h is a typo, not a sum. */
		if (last && u <= last)
			return fail(why, "each unit once, largest first, as in 1d2h30m", -EINVAL);
		last = u;
		s++;
		/* Compare before multiplying: 213504d must not wrap into minutes. */
		if (n > (SG_DURATION_MAX - total) / (seconds[u - units] * SG_NS_PER_SEC))
			return fail(why, "longer than a year", -ERANGE);
		total += n * seconds[u - units] * SG_NS_PER_SEC;
	}
	if (!total)
		return fail(why, "a duration must be more than zero", -ERANGE);
	*ns = total;
	return 0;
}

int sg_parse_count(const char *s, __u32 max, __u32 *out, const char **why)
{
	__u64 n;
	int len = parse_digits(s, &n);

	if (len <= 0 || s[len])
		return fail(why, len < 0 ? "number too large" : "expected a positive integer",
			    len < 0 ? -ERANGE : -EINVAL);
	if (n == 0 || n > max)
		return fail(why, "out of range", -ERANGE);
	*out = n;
	return 0;
}

int sg_parse_uid(const char *s, __u32 *uid, const char **why)
{
	__u64 n;
	int len = parse_digits(s, &n);

	if (len <= 0 || s[len])
		return fail(why, "not a number", -EINVAL);
	if (n >= 0xffffffffULL)
		return fail(why, "UID out of range", -ERANGE);
	*uid = n;
	return 0;
}

/* Whether any bit after the first len bits of the 16-byte address is set. */
static int host_bits_set(const __u8 *addr, __u32 len)
{
	__u32 i;

	for (i = len; i < 128; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return 1;
	return 0;
}

int sg_parse_cidr(const char *s, struct sg_ban_key *key, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	__u8 *a = (__u8 *)key->addr;
	const char *slash;
	__u32 max, len, base;
	__u64 n;
	int digits;

	if (strlen(s) >= sizeof(buf))
		return fail(why, "too long for an address", -EINVAL);
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = '\0';

	memset(key, 0, sizeof(*key));
	if (inet_pton(AF_INET, buf, &key->addr[3]) == 1) {
		key->addr[2] = htonl(0xffff);
		max = 32;
		base = 96;
	} else if (inet_pton(AF_INET6, buf, key->addr) == 1) {
		max = 128;
		base = 0;
	} else {
		return fail(why, "not an IPv4 or IPv6 address", -EINVAL);
	}

	len = max;
	if (slash) {
		digits = parse_digits(slash + 1, &n);
		if (digits <= 0 || slash[1 + digits])
			return fail(why, "prefix length is not a number", -EINVAL);
		if (n > max)
			return fail(why, max == 32 ? "IPv4 prefix length above 32" :
						     "IPv6 prefix length above 128",
				    -ERANGE);
		len = n;
	}
	key->prefixlen = base + len;
	if (host_bits_set(a, key->prefixlen))
		return fail(why, "address has bits set beyond the prefix length", -EINVAL);
	return 0;
}

int sg_cidr_contains(const struct sg_ban_key *net, const __u32 addr[4])
{
	const unsigned char *n = (const unsigned char *)net->addr, *a = (const unsigned char *)addr;
	__u32 bits = net->prefixlen > 128 ? 128 : net->prefixlen, whole = bits / 8;
	unsigned char mask = (unsigned char)(0xff00 >> (bits % 8));

	if (memcmp(n, a, whole))
		return 0;
	return whole == 16 || !((n[whole] ^ a[whole]) & mask);
}

int sg_cidr_list_contains(const struct sg_ban_key *nets, int n, const __u32 addr[4])
{
	int i;

	for (i = 0; i < n; i++)
		if (sg_cidr_contains(&nets[i], addr))
			return 1;
	return 0;
}
