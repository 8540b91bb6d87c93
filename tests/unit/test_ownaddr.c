// SPDX-License-Identifier: GPL-2.0
/* The addresses no automatic rule may ban: loopback, this host's own, allow, webmail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "host/ownaddr.h"
#include "util/parse.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_allow),
	};

	return cmocka_run_group_tests_name("ownaddr", tests, NULL, NULL);
}
