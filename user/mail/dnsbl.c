// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mail/dnsbl.h"

#define DNS_NAME_MAX 253

/* bytes as family's address; an IPv4-mapped IPv6 address is the IPv4 address it carries. */
static void addr_set(struct sg_dnsbl_addr *a, int family, const unsigned char *bytes)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(a, 0, sizeof(*a));
	if (family == AF_INET6 && !memcmp(bytes, mapped, sizeof(mapped))) {
		family = AF_INET;
		bytes += sizeof(mapped);
	}
	a->family = family;
	memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
	inet_ntop(family, a->bytes, a->text, sizeof(a->text));
}

int sg_dnsbl_addr_parse(const char *s, struct sg_dnsbl_addr *a)
{
	unsigned char bytes[16];

	if (inet_pton(AF_INET, s, bytes) == 1)
		addr_set(a, AF_INET, bytes);
	else if (inet_pton(AF_INET6, s, bytes) == 1)
		addr_set(a, AF_INET6, bytes);
	else
		return -EINVAL;
	return 0;
}

int sg_dnsbl_addr_global(const struct sg_dnsbl_addr *a)
{
	const unsigned char *b = a->bytes;

	/* IANA allocates global unicast from 2000::/3 only: not ::1, ULA, link-local. */
	if (a->family != AF_INET)
		return (b[0] & 0xe0) == 0x20;
	return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224 ||
		 (b[0] == 100 && (b[1] & 0xc0) == 64) || (b[0] == 169 && b[1] == 254) ||
		 (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168));
}

/* Labels and characters only: the length a name may have depends on what goes before it. */
static int zone_syntax(const char *zone, const char **why)
{
	size_t label = 0;
	const char *p;

	if (!*zone) {
		*why = "empty";
		return -EINVAL;
	}
	for (p = zone; *p; p++) {
		if (*p == '.') {
			if (!label) {
				*why = "an empty label";
				return -EINVAL;
			}
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
			if (++label > 63) {
				*why = "a label longer than 63 characters";
				return -EINVAL;
			}
		} else {
			*why = "a character other than a letter, digit, '-', '_' or '.'";
			return -EINVAL;
		}
	}
	if (!label) {
		*why = "a trailing dot";
		return -EINVAL;
	}
	return 0;
}

int sg_dnsbl_zone_check(const char *zone, const char **why)
{
	int err = zone_syntax(zone, why);

	if (err)
		return err;
	if (strlen(zone) > SG_DNSBL_ZONE_MAX) {
		*why = "longer than 189 characters (an IPv6 query name would exceed 253)";
		return -ENAMETOOLONG;
	}
	return 0;
}

int sg_dnsbl_qname(const struct sg_dnsbl_addr *a, const char *zone, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char rev[64]; /* 32 nibbles, each with its dot; or "255.255.255.255." */
	const char *why;
	size_t n = 0;
	int i;

	if (zone_syntax(zone, &why))
		return -EINVAL;
	if (a->family == AF_INET) {
		n = (size_t)snprintf(rev, sizeof(rev), "%u.%u.%u.%u.", a->bytes[3], a->bytes[2],
				     a->bytes[1], a->bytes[0]);
	} else {
		for (i = 15; i >= 0; i--) {
			rev[n++] = hex[a->bytes[i] & 0xf];
			rev[n++] = '.';
			rev[n++] = hex[a->bytes[i] >> 4];
			rev[n++] = '.';
		}
	}
	if (n + strlen(zone) > DNS_NAME_MAX || n + strlen(zone) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, rev, n);
	strcpy(buf + n, zone);
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
set(struct sg_dnsbl_answer *ans, enum sg_dnsbl_status status, const char *fmt, ...)
{
	va_list ap;

	ans->status = status;
	va_start(ap, fmt);
	vsnprintf(ans->detail, sizeof(ans->detail), fmt, ap);
	va_end(ap);
}

/* An A record of a listing: 127.0.0.0/8, where Spamhaus also puts the errors of a query. */
static int add_code(struct sg_dnsbl_answer *ans, const unsigned char *rdata)
{
	/* Spamhaus' return codes for a query it will not answer: 127.255.255.252 to .255. */
	static const char *const errors[] = {
		"typing error in the zone name",
		"query refused",
		"query through a public or open resolver",
		"excessive number of queries",
	};
	char text[INET_ADDRSTRLEN];
	size_t used = strlen(ans->detail);

	inet_ntop(AF_INET, rdata, text, sizeof(text));
	if (rdata[0] != 127) {
		set(ans, SG_DNSBL_FAILED, "answer %s outside 127.0.0.0/8", text);
		return -1;
	}
	if (rdata[1] == 255 && rdata[2] == 255 && rdata[3] >= 252) {
		set(ans, SG_DNSBL_FAILED, "%s: %s", text, errors[rdata[3] - 252]);
		return -1;
	}
	snprintf(ans->detail + used, sizeof(ans->detail) - used, "%s%s", used ? ", " : "", text);
	ans->status = SG_DNSBL_LISTED;
	return 0;
}

void sg_dnsbl_classify(const unsigned char *msg, size_t len, struct sg_dnsbl_answer *ans)
{
	static const char *const rcodes[] = {
		[ns_r_formerr] = "FORMERR",
		[ns_r_servfail] = "SERVFAIL",
		[ns_r_notimpl] = "NOTIMP",
		[ns_r_refused] = "REFUSED",
	};
	const unsigned char *p = msg + NS_HFIXEDSZ, *end = msg + len;
	unsigned int rcode, qd, an, type, class, rdlen, i;
	int skip;

	set(ans, SG_DNSBL_NOT_LISTED, "%s", "");
	if (len < NS_HFIXEDSZ)
		goto malformed;
	rcode = msg[3] & 0xf;
	if (rcode == ns_r_nxdomain)
		return;
	if (rcode != ns_r_noerror) {
		if (rcode < sizeof(rcodes) / sizeof(rcodes[0]) && rcodes[rcode])
			set(ans, SG_DNSBL_FAILED, "%s", rcodes[rcode]);
		else
			set(ans, SG_DNSBL_FAILED, "rcode %u", rcode);
		return;
	}
	qd = (unsigned int)msg[4] << 8 | msg[5];
	an = (unsigned int)msg[6] << 8 | msg[7];
	/* glibc's test for a lame server: no records, neither authoritative nor recursive. */
	if (!an && !(msg[2] & 0x04) && !(msg[3] & 0x80) && !msg[10] && !msg[11]) {
		set(ans, SG_DNSBL_FAILED, "empty answer without recursion (a lame server)");
		return;
	}
	for (i = 0; i < qd; i++) {
		skip = dn_skipname(p, end);
		if (skip < 0 || end - p < skip + NS_QFIXEDSZ)
			goto malformed;
		p += skip + NS_QFIXEDSZ;
	}
	/* Every A record counts, a CNAME's target's included; NOERROR with none is "no data". */
	for (i = 0; i < an; i++) {
		skip = dn_skipname(p, end);
		if (skip < 0 || end - p < skip + NS_RRFIXEDSZ)
			goto malformed;
		p += skip;
		type = (unsigned int)p[0] << 8 | p[1];
		class = (unsigned int)p[2] << 8 | p[3];
		rdlen = (unsigned int)p[8] << 8 | p[9];
		p += NS_RRFIXEDSZ;
		if (end - p < rdlen)
			goto malformed;
		if (type == ns_t_a && class == ns_c_in && rdlen == 4 && add_code(ans, p))
			return;
		p += rdlen;
	}
	return;
malformed:
	set(ans, SG_DNSBL_FAILED, "malformed answer");
}

/*
 * res_nmkquery() and res_nsend() rather than getaddrinfo(): getaddrinfo
 * folds a timeout, SERVFAIL and REFUSED into one EAI_AGAIN, reads
 * /etc/hosts and the nscd cache first, and would hide the answer codes of
 * an error. res_nsend() asks the servers of /etc/resolv.conf with its
 * timeout and attempts, as the MTA's own lookups do, and returns the whole
 * response; a private res_state keeps it safe in the daemon's thread.
 */
int sg_dnsbl_lookup(const struct sg_dnsbl_addr *a, const char *zone, struct sg_dnsbl_answer *ans)
{
	unsigned char query[NS_PACKETSZ], answer[4096];
	char name[SG_DNSBL_QNAME_MAX];
	struct __res_state res;
	int err, qlen, alen;

	err = sg_dnsbl_qname(a, zone, name, sizeof(name));
	if (err)
		return err;
	memset(&res, 0, sizeof(res));
	errno = 0;
	if (res_ninit(&res))
		return errno ? -errno : -EIO;
	/*
	 * Set, as dig sets it, so that glibc returns a SERVFAIL, NOTIMP or
	 * REFUSED answer rather than try the next server and, with none left,
	 * report a timeout: the reason is then the server's. A server that
	 * does not answer is still skipped for the next.
	 */
	res.pfcode = RES_PRF_HEAD1;
	qlen = res_nmkquery(&res, ns_o_query, name, ns_c_in, ns_t_a, NULL, 0, NULL, query,
			    sizeof(query));
	if (qlen < 0) {
		res_nclose(&res);
		return -EMSGSIZE;
	}
	errno = 0;
	alen = res_nsend(&res, query, qlen, answer, sizeof(answer));
	err = errno;
	res_nclose(&res);
	if (alen >= 0)
		sg_dnsbl_classify(
			answer, (size_t)alen < sizeof(answer) ? (size_t)alen : sizeof(answer), ans);
	else if (err == ETIMEDOUT)
		set(ans, SG_DNSBL_FAILED, "timed out");
	else
		set(ans, SG_DNSBL_FAILED, "%s", strerror(err ? err : EIO));
	return 0;
}

/* ifa's address into a: 1 when it is a global address on an interface that is up. */
static int usable(const struct ifaddrs *ifa, struct sg_dnsbl_addr *a)
{
	const struct sockaddr *sa = ifa->ifa_addr;

	if (!sa || !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
		return 0;
	if (sa->sa_family == AF_INET)
		addr_set(a, AF_INET,
			 (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
	else if (sa->sa_family == AF_INET6)
		addr_set(a, AF_INET6,
			 (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
	else
		return 0;
	return sg_dnsbl_addr_global(a);
}

int sg_dnsbl_host_addrs(struct sg_dnsbl_addr *out, int max)
{
	struct ifaddrs *ifs, *i, *j;
	struct sg_dnsbl_addr a, b;
	int n = 0;

	if (getifaddrs(&ifs))
		return -errno;
	for (i = ifs; i; i = i->ifa_next) {
		if (!usable(i, &a))
			continue;
		/* An address on two interfaces is one lookup: the first entry of it counts. */
		for (j = ifs; j != i; j = j->ifa_next)
			if (usable(j, &b) && !strcmp(a.text, b.text))
				break;
		if (j != i)
			continue;
		if (n < max)
			out[n] = a;
		n++;
	}
	freeifaddrs(ifs);
	return n;
}
