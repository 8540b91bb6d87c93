// SPDX-License-Identifier: GPL-2.0
/*
 * The addresses no automatic rule may ban, and the prefixes no ban may
 * cover without --force: loopback, this host's own, its default gateways,
 * allow, webmail. The tests run in a network namespace of their own.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "host/ownaddr.h"
#include "util/parse.h"
#include "util/render.h"

/* The sandbox's network: one interface (a veth: no dummy module everywhere) with an address and a
 * default route of each family. */
#define NET4 "192.0.2.10"
#define GW4  "192.0.2.1"
#define NET6 "2001:db8:9::10"
#define GW6  "2001:db8:9::1"

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "'%s' failed (status %d)\n", cmd, rc);
	return rc;
}

/*
 * A network namespace of this process's own, gone when it exits: the
 * addresses and gateways the tests expect are the only ones there.
 */
static int own_network(void **state)
{
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (the tests need root)\n",
			strerror(errno));
		return -1;
	}
	return sh("ip link set lo up && ip link add sg0 type veth peer name sg1 && "
		  "ip addr add " NET4 "/24 dev sg0 && ip addr add " NET6 "/64 dev sg0 nodad && "
		  "ip link set sg0 up && ip link set sg1 up && ip route add default via " GW4 " && "
		  "ip -6 route add default via " GW6);
}

static void addr(const char *s, __u32 out[4])
{
	struct sg_ban_key k;
	const char *why;

	assert_int_equal(sg_parse_cidr(s, &k, &why), 0);
	memcpy(out, k.addr, 16);
}

static void test_loopback(void **state)
{
	__u32 a[4];

	addr("127.0.0.1", a);
	assert_int_equal(sg_own_addr(a), 1);
	addr("127.45.6.7", a);
	assert_int_equal(sg_own_addr(a), 1);
	addr("::1", a);
	assert_int_equal(sg_own_addr(a), 1);
	addr("::ffff:127.0.0.2", a);
	assert_int_equal(sg_own_addr(a), 1);
	/* RFC 5737 and 3849 documentation ranges: no host here has them. */
	addr("192.0.2.1", a);
	assert_int_equal(sg_own_addr(a), 0);
	addr("2001:db8::1", a);
	assert_int_equal(sg_own_addr(a), 0);
	addr("128.0.0.1", a);
	assert_int_equal(sg_own_addr(a), 0);
}

/* Every address the interfaces have is this host's, and its neighbour is not. */
static void test_interfaces(void **state)
{
	__u32 own[64][4], next[4];
	size_t n = sg_own_addrs(own, 64), i, j;
	int others = 0, ours;

	assert_true(n >= 1); /* lo at least */
	for (i = 0; i < n; i++) {
		assert_int_equal(sg_own_addr(own[i]), 1);
		memcpy(next, own[i], sizeof(next));
		/* The same address with its last byte changed, unless that one is ours too. */
		((unsigned char *)next)[15] ^= 0x80;
		if (!memcmp(next, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f", 13))
			continue;
		ours = 0;
		for (j = 0; j < n; j++)
			ours |= !memcmp(own[j], next, 16);
		if (!ours) {
			assert_int_equal(sg_own_addr(next), 0);
			others++;
		}
	}
	assert_true(others >= 1);
}

static void test_allow(void **state)
{
	static struct sg_config c = { .bruteforce.n_allow = 2, .campaign.n_webmail = 1 };
	const char *why;
	__u32 a[4];

	assert_int_equal(sg_parse_cidr("203.0.113.0/24", &c.bruteforce.allow[0], &why), 0);
	assert_int_equal(sg_parse_cidr("2001:db8:5::/48", &c.bruteforce.allow[1], &why), 0);
	assert_int_equal(sg_parse_cidr("198.51.100.25", &c.campaign.webmail[0], &why), 0);
	addr("198.51.100.25", a);
	assert_int_equal(sg_never_ban(&c, a), 1);
	addr("198.51.100.26", a);
	assert_int_equal(sg_never_ban(&c, a), 0);
	addr("203.0.113.9", a);
	assert_int_equal(sg_never_ban(&c, a), 1);
	addr("2001:db8:5:1::7", a);
	assert_int_equal(sg_never_ban(&c, a), 1);
	addr("203.0.114.9", a);
	assert_int_equal(sg_never_ban(&c, a), 0);
	addr("2001:db8:6::7", a);
	assert_int_equal(sg_never_ban(&c, a), 0);
	addr("127.0.0.1", a);
	assert_int_equal(sg_never_ban(&c, a), 1);
	assert_int_equal(sg_never_ban(NULL, a), 1);
	addr("203.0.113.9", a);
	assert_int_equal(sg_never_ban(NULL, a), 0);
}

/* The routing tables' formats: only a default route through a gateway counts. */
static void test_gateways_parsed(void **state)
{
	char r4[] = "/tmp/sg-route4-XXXXXX", r6[] = "/tmp/sg-route6-XXXXXX", s[INET6_ADDRSTRLEN];
	__u32 gw[4][4];
	FILE *f4, *f6;
	size_t n;

	f4 = fdopen(mkstemp(r4), "w");
	f6 = fdopen(mkstemp(r6), "w");
	assert_non_null(f4);
	assert_non_null(f6);
	fputs("Iface\tDestination\tGateway "
	      "\tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	      "tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n",
	      f4);
	fputs("20010db8000900000000000000000000 40 00000000000000000000000000000000 00 "
	      "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
	      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	      "fe800000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
	      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	      "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n",
	      f6);
	fclose(f4);
	fclose(f6);
	n = sg_default_gateways(r4, r6, gw, 4);
	unlink(r4);
	unlink(r6);
	assert_int_equal(n, 2);
	assert_string_equal(sg_format_addr(gw[0], s, sizeof(s)), "192.0.2.1");
	assert_string_equal(sg_format_addr(gw[1], s, sizeof(s)), "fe80::1");
	assert_int_equal(sg_default_gateways("/nonexistent", "/nonexistent", gw, 4), 0);
}

/* A ban and what it covers ("" when nothing: it may be put). */
static const struct {
	const char *ban, *covers;
} bans[] = {
	/* The five: each locked the operator out. */
	{ "0.0.0.0/0", "every IPv4 address (::ffff:0:0/96)" },
	{ "::/0", "every IPv4 address (::ffff:0:0/96)" },
	{ "::ffff:0:0/96", "every IPv4 address (::ffff:0:0/96)" },
	{ "127.0.0.1", "loopback 127.0.0.0/8" },
	{ "::1", "loopback ::1/128" },
	{ "126.0.0.0/7", "loopback 127.0.0.0/8" },
	{ "::/127", "loopback ::1/128" },
	/* This host's addresses, and the networks holding them. */
	{ NET4, "this host's address " NET4 },
	{ "192.0.0.0/16", "this host's address " NET4 },
	{ "2001:db8:9::/64", "this host's address " NET6 },
	{ "2001:db8::/32", "this host's address " NET6 },
	/* The default routes' gateways (the sandbox's, read from the kernel). */
	{ GW4, "the default route's gateway " GW4 },
	{ GW6, "the default route's gateway " GW6 },
	/* Networks of the operator's: within, or holding one. */
	{ "10.1.2.3", "[bruteforce] allow 10.1.0.0/16" },
	{ "10.0.0.0/8", "[bruteforce] allow 10.1.0.0/16" },
	{ "2001:db8:5:1::/64", "[bruteforce] allow 2001:db8:5::/48" },
	{ "198.51.100.0/24", "[campaign] webmail 198.51.100.25/32" },
	/* Strangers. */
	{ "8.8.8.0/24", "" },
	{ "192.0.2.99", "" },
	{ "10.2.0.0/16", "" },
	{ "2001:db8:9:1::/64", "" },
	{ "2001:db8:6::/48", "" },
	{ "::ffff:8.8.4.0/120", "" }, /* 8.8.4.0/24, written mapped */
};

static void test_covers(void **state)
{
	static struct sg_config c = { .bruteforce.n_allow = 2, .campaign.n_webmail = 1 };
	char what[128];
	struct sg_ban_key k;
	const char *why;
	size_t i;
	int got;

	assert_int_equal(sg_parse_cidr("10.1.0.0/16", &c.bruteforce.allow[0], &why), 0);
	assert_int_equal(sg_parse_cidr("2001:db8:5::/48", &c.bruteforce.allow[1], &why), 0);
	assert_int_equal(sg_parse_cidr("198.51.100.25", &c.campaign.webmail[0], &why), 0);
	for (i = 0; i < sizeof(bans) / sizeof(bans[0]); i++) {
		assert_int_equal(sg_parse_cidr(bans[i].ban, &k, &why), 0);
		what[0] = '\0';
		got = sg_ban_covers_own(&c, &k, what, sizeof(what));
		if (got != !!*bans[i].covers || strcmp(what, bans[i].covers))
			fail_msg("%s: covers %d '%s', expected '%s'", bans[i].ban, got, what,
				 bans[i].covers);
	}
	/* Without a config, loopback and the host's own still are. */
	assert_int_equal(sg_parse_cidr("10.1.2.3", &k, &why), 0);
	assert_int_equal(sg_ban_covers_own(NULL, &k, NULL, 0), 0);
	assert_int_equal(sg_parse_cidr("::1", &k, &why), 0);
	assert_int_equal(sg_ban_covers_own(NULL, &k, NULL, 0), 1);
}

/* An automatic ban covering the operator's network: refused before any map, and counted. */
static void test_ban_auto_refused(void **state)
{
	static const char *const refused[] = { "0.0.0.0/0", "::/0", "127.0.0.1", GW4, NET6 };
	__u64 before = sg_bans_refused();
	struct sg_ban_key k;
	const char *why;
	size_t i;

	/* No pinned maps here: a ban that got past the check would fail otherwise. */
	setenv("SMTPGUARD_PIN_DIR", "/nonexistent", 1);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(sg_parse_cidr(refused[i], &k, &why), 0);
		assert_int_equal(sg_ban_auto(NULL, &k, 0, SG_BAN_CONTAIN), -EPERM);
	}
	assert_int_equal(sg_bans_refused(), before + 5);
	assert_int_equal(sg_parse_cidr("8.8.8.8", &k, &why), 0);
	assert_int_not_equal(sg_ban_auto(NULL, &k, 0, SG_BAN_CONTAIN), -EPERM);
	assert_int_equal(sg_bans_refused(), before + 5);
}

/* The gateway is never banned by a rule either, address by address. */
static void test_gateway_never_banned(void **state)
{
	__u32 a[4];

	addr(GW4, a);
	assert_int_equal(sg_own_addr(a), 0);
	assert_int_equal(sg_never_ban(NULL, a), 1);
	addr(GW6, a);
	assert_int_equal(sg_never_ban(NULL, a), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_gateways_parsed),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_ban_auto_refused),
		cmocka_unit_test(test_gateway_never_banned),
	};

	return cmocka_run_group_tests_name("ownaddr", tests, own_network, NULL);
}
