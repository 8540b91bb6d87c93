// SPDX-License-Identifier: GPL-2.0
/* Parsers of rates, durations, counts, UIDs and CIDRs: accepted forms and exact rejections. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/parse.h"
#include "sg_bucket.h"

static void test_rate_units(void **state)
{
	static const struct {
		const char *in;
		__u64 per_hour;
	} ok[] = {
		{ "1/h", 1 },	       { "10/hour", 10 },     { "7/hr", 7 },	    { "5/min", 300 },
		{ "5/m", 300 },	       { "2/s", 7200 },	      { "3/sec", 10800 },   { "1000000/s", 3600000000ULL },
	};
	const char *why;
	__u64 v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(sg_parse_rate(ok[i].in, &v, &why), 0);
		assert_int_equal(v, ok[i].per_hour);
	}
}

static void test_rate_rejects(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *why;
	} bad[] = {
		{ "", -EINVAL, "expected N/s, N/min or N/h" },
		{ "5", -EINVAL, "expected N/s, N/min or N/h" },
		{ "/min", -EINVAL, "expected N/s, N/min or N/h" },
		{ "-5/min", -EINVAL, "expected N/s, N/min or N/h" },
		{ "5/fortnight", -EINVAL, "unknown unit (use /s, /min or /h)" },
		{ "5/min ", -EINVAL, "unknown unit (use /s, /min or /h)" },
		{ "0/min", -ERANGE, "a rate must be at least 1 (use block to refuse everything)" },
		{ "1000001/s", -ERANGE, "more than a million per second" },
		{ "99999999999999999999999/h", -ERANGE, "number too large" },
	};
	const char *why;
	__u64 v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sg_parse_rate(bad[i].in, &v, &why), bad[i].err);
		assert_string_equal(why, bad[i].why);
		assert_int_equal(v, 42);
	}
}

static void test_duration(void **state)
{
	static const struct {
		const char *in;
		__u64 secs;
	} ok[] = {
		{ "90s", 90 },	  { "15m", 900 },	  { "2h", 7200 },
		{ "1d", 86400 },   { "1h30m", 5400 },	  { "1d2h3m4s", 93784 }, { "366d", 31622400 },
	};
	static const struct {
		const char *in;
		int err;
	} bad[] = {
		{ "", -EINVAL },  { "3x", -EINVAL },   { "h", -EINVAL },    { "1h-", -EINVAL },
		{ "0s", -ERANGE }, { "0h0s", -ERANGE }, { "367d", -ERANGE }, { "99999999999999999999", -ERANGE },
		/* n * unit * 1e9 would wrap 64 bits to minutes without the check before it. */
		{ "213504d", -ERANGE }, { "5124096h", -ERANGE }, { "366d1s", -ERANGE },
		/* A bare number is no duration; each unit once, largest first. */
		{ "5", -EINVAL }, { "0", -EINVAL }, { "1h30", -EINVAL }, { "1h1h", -EINVAL },
		{ "30m1h", -EINVAL }, { "1s1d", -EINVAL }, { "1m1m", -EINVAL },
	};
	const char *why;
	__u64 v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(sg_parse_duration(ok[i].in, &v, &why), 0);
		assert_int_equal(v, ok[i].secs * SG_NS_PER_SEC);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sg_parse_duration(bad[i].in, &v, &why), bad[i].err);
}

static void test_count_and_uid(void **state)
{
	const char *why;
	__u32 v;

	assert_int_equal(sg_parse_count("5", 10, &v, &why), 0);
	assert_int_equal(v, 5);
	assert_int_equal(sg_parse_count("10", 10, &v, &why), 0);
	assert_int_equal(sg_parse_count("11", 10, &v, &why), -ERANGE);
	assert_int_equal(sg_parse_count("0", 10, &v, &why), -ERANGE);
	assert_int_equal(sg_parse_count("5x", 10, &v, &why), -EINVAL);

	assert_int_equal(sg_parse_uid("0", &v, &why), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sg_parse_uid("4294967294", &v, &why), 0);
	assert_int_equal(v, 4294967294U);
	assert_int_equal(sg_parse_uid("4294967295", &v, &why), -ERANGE);
	assert_int_equal(sg_parse_uid("bob", &v, &why), -EINVAL);
	assert_int_equal(sg_parse_uid("", &v, &why), -EINVAL);
}

static void expect_cidr(const char *in, __u32 prefixlen, const char *mapped_or_v6)
{
	struct sg_ban_key key, want = { .prefixlen = prefixlen };
	const char *why = NULL;

	assert_int_equal(inet_pton(AF_INET6, mapped_or_v6, want.addr), 1);
	assert_int_equal(sg_parse_cidr(in, &key, &why), 0);
	assert_memory_equal(&key, &want, sizeof(key));
}

static void test_cidr(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "300.1.2.3/24", "not an IPv4 or IPv6 address" },
		{ "10.0.0.1/33", "IPv4 prefix length above 32" },
		{ "2001:db8::/129", "IPv6 prefix length above 128" },
		{ "10.0.0.1/24", "address has bits set beyond the prefix length" },
		{ "2001:db8::1/64", "address has bits set beyond the prefix length" },
		{ "10.0.0.0/", "prefix length is not a number" },
		{ "10.0.0.0/2x", "prefix length is not a number" },
		{ "bob", "not an IPv4 or IPv6 address" },
		{ "", "not an IPv4 or IPv6 address" },
	};
	struct sg_ban_key key;
	const char *why;
	size_t i;

	expect_cidr("198.51.100.7", 128, "::ffff:198.51.100.7");
	expect_cidr("198.51.100.0/24", 120, "::ffff:198.51.100.0");
	expect_cidr("0.0.0.0/0", 96, "::ffff:0.0.0.0");
	expect_cidr("2001:db8::/32", 32, "2001:db8::");
	expect_cidr("2001:db8::5", 128, "2001:db8::5");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(sg_parse_cidr(bad[i].in, &key, &why), 0);
		assert_string_equal(why, bad[i].why);
	}
}

static void test_cidr_contains(void **state)
{
	static const struct {
		const char *net, *addr;
		int in;
	} rows[] = {
		{ "198.51.100.0/24", "198.51.100.200", 1 }, { "198.51.100.0/24", "198.51.101.1", 0 },
		{ "198.51.100.0/25", "198.51.100.127", 1 }, { "198.51.100.0/25", "198.51.100.128", 0 },
		{ "127.0.0.0/8", "127.255.0.1", 1 },	     { "0.0.0.0/0", "203.0.113.9", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },	     { "2001:db8::/32", "2001:db8:ff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },	     { "::1", "::1", 1 },
		{ "::1", "::2", 0 },			     { "198.51.100.7", "198.51.100.7", 1 },
		{ "::/0", "198.51.100.7", 1 },
	};
	struct sg_ban_key net, addr;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(sg_parse_cidr(rows[i].net, &net, &why), 0);
		assert_int_equal(sg_parse_cidr(rows[i].addr, &addr, &why), 0);
		if (sg_cidr_contains(&net, addr.addr) != rows[i].in)
			fail_msg("%s in %s: %d", rows[i].addr, rows[i].net, !rows[i].in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_units),    cmocka_unit_test(test_rate_rejects),
		cmocka_unit_test(test_duration),      cmocka_unit_test(test_count_and_uid),
		cmocka_unit_test(test_cidr),	      cmocka_unit_test(test_cidr_contains),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
