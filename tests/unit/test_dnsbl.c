// SPDX-License-Identifier: GPL-2.0
/* DNS blocklists: query names, answers, the host's addresses, and the metrics of the checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/dnsbl.h"
#include "daemon/dnsblwatch.h"
#include "sg_bucket.h"

static const char *qname_of(const char *addr, const char *zone)
{
	static char buf[SG_DNSBL_QNAME_MAX];
	struct sg_dnsbl_addr a;

	assert_int_equal(sg_dnsbl_addr_parse(addr, &a), 0);
	assert_int_equal(sg_dnsbl_qname(&a, zone, buf, sizeof(buf)), 0);
	return buf;
}

static void test_qname_v4(void **state)
{
	struct sg_dnsbl_addr a;

	assert_string_equal(qname_of("198.51.100.7", "bl.test"), "7.100.51.198.bl.test");
	assert_string_equal(qname_of("192.0.2.99", "zen.spamhaus.org"),
			    "99.2.0.192.zen.spamhaus.org");
	assert_string_equal(qname_of("255.255.255.255", "b_l-1.test"),
			    "255.255.255.255.b_l-1.test");
	assert_int_equal(sg_dnsbl_addr_parse("198.51.100.7", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(a.text, "198.51.100.7");
}

static void test_qname_v6(void **state)
{
	struct sg_dnsbl_addr a;

	/* RFC 5782, section 2.4. */
	assert_string_equal(
		qname_of("2001:db8:1:2:3:4:567:89ab", "dnsbl.example"),
		"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.dnsbl.example");
	assert_string_equal(
		qname_of("2001:DB8::7", "bl.test"),
		"7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test");
	assert_int_equal(sg_dnsbl_addr_parse("2001:DB8::7", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(a.text, "2001:db8::7");
}

static void test_qname_mapped(void **state)
{
	struct sg_dnsbl_addr a;

	assert_string_equal(qname_of("::ffff:198.51.100.7", "bl.test"), "7.100.51.198.bl.test");
	assert_int_equal(sg_dnsbl_addr_parse("::ffff:c633:6407", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(a.text, "198.51.100.7");
	/* IPv4-compatible (deprecated) is not mapped: it stays IPv6. */
	assert_int_equal(sg_dnsbl_addr_parse("::198.51.100.7", &a), 0);
	assert_int_equal(a.family, AF_INET6);
}

static void test_bad_input(void **state)
{
	static const char *const bad_addrs[] = {
		"",
		"1.2.3",
		"1.2.3.4.5",
		"198.51.100.7/32",
		"01.2.3.4",
		" 1.2.3.4",
		"1.2.3.4 ",
		"256.1.1.1",
		"example.com",
		"2001:db8::g",
		"fe80::1%lo",
		"2001:db8::1/64",
		"1:2:3:4:5:6:7:8:9",
	};
	static const char *const bad_zones[] = {
		"",	     "bl..test", ".bl.test",	"bl.test.", "bl test",
		"bl.test\n", "bl/test",	 "2001:db8::1", "bl.tést",  ".",
	};
	char label64[65], buf[SG_DNSBL_QNAME_MAX];
	struct sg_dnsbl_addr a;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		assert_int_equal(sg_dnsbl_addr_parse(bad_addrs[i], &a), -EINVAL);
	assert_int_equal(sg_dnsbl_addr_parse("198.51.100.7", &a), 0);
	for (i = 0; i < sizeof(bad_zones) / sizeof(bad_zones[0]); i++) {
		why = NULL;
		assert_int_equal(sg_dnsbl_zone_check(bad_zones[i], &why), -EINVAL);
		assert_non_null(why);
		assert_int_equal(sg_dnsbl_qname(&a, bad_zones[i], buf, sizeof(buf)), -EINVAL);
	}
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_int_equal(sg_dnsbl_zone_check(label64, &why), -EINVAL);
	assert_string_equal(why, "a label longer than 63 characters");
	assert_int_equal(sg_dnsbl_zone_check(label64 + 1, &why), 0);
	assert_int_equal(sg_dnsbl_zone_check("zen.spamhaus.org", &why), 0);
	assert_int_equal(sg_dnsbl_zone_check("b_l-1.Test", &why), 0);
}

/* A zone of n characters: labels of 50 'a's, dot separated. */
static const char *zone_of(size_t n)
{
	static char z[300];
	size_t i;

	for (i = 0; i < n; i++)
		z[i] = i % 51 == 50 ? '.' : 'a';
	z[n] = '\0';
	return z;
}

static void test_too_long(void **state)
{
	struct sg_dnsbl_addr v4, v6;
	char buf[SG_DNSBL_QNAME_MAX + 8];
	const char *why;

	assert_int_equal(sg_dnsbl_addr_parse("198.51.100.7", &v4), 0);
	assert_int_equal(sg_dnsbl_addr_parse("2001:db8::7", &v6), 0);
	/* 189 characters: the longest zone any query name fits. */
	assert_int_equal(sg_dnsbl_zone_check(zone_of(189), &why), 0);
	assert_int_equal(sg_dnsbl_qname(&v6, zone_of(189), buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 253);
	assert_int_equal(sg_dnsbl_zone_check(zone_of(190), &why), -ENAMETOOLONG);
	assert_int_equal(sg_dnsbl_qname(&v6, zone_of(190), buf, sizeof(buf)), -ENAMETOOLONG);
	/* An IPv4 name is shorter: "7.100.51.198." leaves 240. */
	assert_int_equal(sg_dnsbl_qname(&v4, zone_of(240), buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 253);
	assert_int_equal(sg_dnsbl_qname(&v4, zone_of(241), buf, sizeof(buf)), -ENAMETOOLONG);
	/* The buffer bounds the name too, and nothing is written past it. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(sg_dnsbl_qname(&v4, "bl.test", buf, 20), -ENAMETOOLONG);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(sg_dnsbl_qname(&v4, "bl.test", buf, 21), 0);
	assert_string_equal(buf, "7.100.51.198.bl.test");
	assert_int_equal(buf[21], 'x');
}

/* --- answers, as the wire carries them --------------------------------------- */

struct msg {
	unsigned char b[512];
	size_t len;
};

static void put16(struct msg *m, unsigned int v)
{
	m->b[m->len++] = (unsigned char)(v >> 8);
	m->b[m->len++] = (unsigned char)v;
}

/* A response header with flags and the question "7.100.51.198.bl.test IN A". */
static void response_flags(struct msg *m, unsigned int flags, unsigned int answers)
{
	static const char *const labels[] = { "7", "100", "51", "198", "bl", "test" };
	size_t i;

	m->len = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, 1);
	put16(m, answers);
	put16(m, 0);
	put16(m, 0);
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		m->b[m->len++] = (unsigned char)strlen(labels[i]);
		memcpy(m->b + m->len, labels[i], strlen(labels[i]));
		m->len += strlen(labels[i]);
	}
	m->b[m->len++] = 0;
	put16(m, 1); /* A */
	put16(m, 1); /* IN */
}

/* QR, RD and RA, as a recursive resolver answers. */
static void response(struct msg *m, unsigned int rcode, unsigned int answers)
{
	response_flags(m, 0x8180 | rcode, answers);
}

/* A record named by a pointer to the question's name. */
static void rr(struct msg *m, unsigned int type, const void *rdata, unsigned int rdlen)
{
	put16(m, 0xc00c);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	put16(m, rdlen);
	memcpy(m->b + m->len, rdata, rdlen);
	m->len += rdlen;
}

static void a_rr(struct msg *m, const char *addr)
{
	unsigned char ip[4];

	assert_int_equal(inet_pton(AF_INET, addr, ip), 1);
	rr(m, 1, ip, 4);
}

static void expect(const struct msg *m, enum sg_dnsbl_status status, const char *detail)
{
	struct sg_dnsbl_answer ans;

	sg_dnsbl_classify(m->b, m->len, &ans);
	assert_string_equal(ans.detail, detail);
	assert_int_equal(ans.status, status);
}

static void test_classify(void **state)
{
	static const unsigned char cname[] = { 3, 'b', 'a', 'r', 0 };
	static const unsigned char txt[] = { 4, 's', 'p', 'a', 'm' };
	struct msg m;

	response(&m, 3, 0);
	expect(&m, SG_DNSBL_NOT_LISTED, "");
	response(&m, 0, 0);
	expect(&m, SG_DNSBL_NOT_LISTED, "");
	response(&m, 0, 1);
	rr(&m, 16, txt, sizeof(txt));
	expect(&m, SG_DNSBL_NOT_LISTED, "");
	/* No data from the zone's own server (AA, no RA). */
	response_flags(&m, 0x8500, 0);
	expect(&m, SG_DNSBL_NOT_LISTED, "");
	/* Neither: a server that neither knows nor asks. */
	response_flags(&m, 0x8100, 0);
	expect(&m, SG_DNSBL_FAILED, "empty answer without recursion (a lame server)");

	response(&m, 0, 1);
	a_rr(&m, "127.0.0.2");
	expect(&m, SG_DNSBL_LISTED, "127.0.0.2");
	response(&m, 0, 3);
	a_rr(&m, "127.0.0.2");
	rr(&m, 16, txt, sizeof(txt));
	a_rr(&m, "127.0.0.4");
	expect(&m, SG_DNSBL_LISTED, "127.0.0.2, 127.0.0.4");
	response(&m, 0, 2);
	rr(&m, 5, cname, sizeof(cname));
	a_rr(&m, "127.0.0.10");
	expect(&m, SG_DNSBL_LISTED, "127.0.0.10");

	response(&m, 2, 0);
	expect(&m, SG_DNSBL_FAILED, "SERVFAIL");
	response(&m, 5, 0);
	expect(&m, SG_DNSBL_FAILED, "REFUSED");
	response(&m, 1, 0);
	expect(&m, SG_DNSBL_FAILED, "FORMERR");
	response(&m, 9, 0);
	expect(&m, SG_DNSBL_FAILED, "rcode 9");

	/* Spamhaus' refusals, and a resolver that answers what it should not. */
	response(&m, 0, 1);
	a_rr(&m, "127.255.255.254");
	expect(&m, SG_DNSBL_FAILED, "127.255.255.254: query through a public or open resolver");
	response(&m, 0, 1);
	a_rr(&m, "127.255.255.252");
	expect(&m, SG_DNSBL_FAILED, "127.255.255.252: typing error in the zone name");
	response(&m, 0, 2);
	a_rr(&m, "127.0.0.2");
	a_rr(&m, "127.255.255.255");
	expect(&m, SG_DNSBL_FAILED, "127.255.255.255: excessive number of queries");
	response(&m, 0, 1);
	a_rr(&m, "127.255.255.251");
	expect(&m, SG_DNSBL_LISTED, "127.255.255.251");
	response(&m, 0, 1);
	a_rr(&m, "198.51.100.1");
	expect(&m, SG_DNSBL_FAILED, "answer 198.51.100.1 outside 127.0.0.0/8");
}

static void test_classify_malformed(void **state)
{
	static const unsigned char short_rdata[] = { 127, 0 };
	struct msg m;
	size_t full;

	response(&m, 0, 0);
	m.len = 11;
	expect(&m, SG_DNSBL_FAILED, "malformed answer");
	/* Counts more answers than there are. */
	response(&m, 0, 2);
	a_rr(&m, "127.0.0.2");
	expect(&m, SG_DNSBL_FAILED, "malformed answer");
	/* Cut in the middle of the record's data. */
	response(&m, 0, 1);
	a_rr(&m, "127.0.0.2");
	full = m.len;
	m.len = full - 2;
	expect(&m, SG_DNSBL_FAILED, "malformed answer");
	/* Cut in the question. */
	response(&m, 0, 0);
	m.len -= 3;
	expect(&m, SG_DNSBL_FAILED, "malformed answer");
	/* An answer's name runs off the end. */
	response(&m, 0, 1);
	m.b[m.len++] = 10;
	m.b[m.len++] = 'x';
	expect(&m, SG_DNSBL_FAILED, "malformed answer");
	/* An A record of the wrong length is not an address. */
	response(&m, 0, 1);
	rr(&m, 1, short_rdata, sizeof(short_rdata));
	expect(&m, SG_DNSBL_NOT_LISTED, "");
}

/* --- the host's addresses ---------------------------------------------------- */

static void test_global(void **state)
{
	static const struct {
		const char *addr;
		int global;
	} cases[] = {
		{ "198.51.100.7", 1 },
		{ "8.8.8.8", 1 },
		{ "100.63.255.255", 1 },
		{ "100.128.0.0", 1 },
		{ "172.15.255.255", 1 },
		{ "172.32.0.0", 1 },
		{ "192.169.0.1", 1 },
		{ "223.255.255.255", 1 },
		{ "2001:db8::7", 1 },
		{ "2a00:1450::1", 1 },
		{ "3fff::1", 1 },
		{ "127.0.0.1", 0 },
		{ "127.1.2.3", 0 },
		{ "10.1.2.3", 0 },
		{ "172.16.0.1", 0 },
		{ "172.31.255.255", 0 },
		{ "192.168.1.1", 0 },
		{ "100.64.0.1", 0 },
		{ "100.127.255.255", 0 },
		{ "169.254.1.1", 0 },
		{ "224.0.0.1", 0 },
		{ "239.255.255.250", 0 },
		{ "240.0.0.1", 0 },
		{ "255.255.255.255", 0 },
		{ "0.0.0.0", 0 },
		{ "::", 0 },
		{ "::1", 0 },
		{ "fe80::1", 0 },
		{ "febf::1", 0 },
		{ "fc00::1", 0 },
		{ "fd12:3456::1", 0 },
		{ "ff02::1", 0 },
		{ "::ffff:10.0.0.1", 0 },
		{ "::ffff:198.51.100.7", 1 },
		{ "4000::1", 0 },
	};
	struct sg_dnsbl_addr a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sg_dnsbl_addr_parse(cases[i].addr, &a), 0);
		if (sg_dnsbl_addr_global(&a) != cases[i].global)
			fail_msg("%s: expected global=%d", cases[i].addr, cases[i].global);
	}
}

/* Whatever this machine has: global, once each, and the count without a buffer agrees. */
static void test_host_addrs(void **state)
{
	struct sg_dnsbl_addr a[SG_DNSBL_HOST_ADDRS];
	int n = sg_dnsbl_host_addrs(a, SG_DNSBL_HOST_ADDRS), i, j;

	assert_true(n >= 0);
	assert_int_equal(sg_dnsbl_host_addrs(NULL, 0), n);
	for (i = 0; i < n && i < SG_DNSBL_HOST_ADDRS; i++) {
		assert_true(sg_dnsbl_addr_global(&a[i]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(a[i].text, a[j].text);
	}
}

/* --- the daemon's metrics ------------------------------------------------------ */

static char *rendered(const struct sg_dnsbl_state *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(sg_metrics_render_dnsbl(f, s), 0);
	fclose(f);
	return buf;
}

static void test_render(void **state)
{
	struct sg_dnsbl_state *s = calloc(1, sizeof(*s));
	char *out;

	strcpy(s->zones[0], "bl.test");
	strcpy(s->zones[1], "dead.test");
	s->n_zones = 2;
	s->failures[1] = 3;
	s->results[0] = (struct sg_dnsbl_result){
		.zone = 0, .address = "198.51.100.7", .known = 1, .listed = 1
	};
	s->results[1] =
		(struct sg_dnsbl_result){ .zone = 1, .address = "198.51.100.7", .failing = 1 };
	s->results[2] = (struct sg_dnsbl_result){ .zone = 0, .address = "2001:db8::8", .known = 1 };
	/* The last lookup failed: the last answer stands. */
	s->results[3] = (struct sg_dnsbl_result){
		.zone = 1, .address = "2001:db8::8", .known = 1, .listed = 1, .failing = 1
	};
	s->n_results = 4;
	s->last_check = 1700000000;
	out = rendered(s);
	assert_string_equal(
		out,
		"# HELP smtpguard_dnsbl_listed Whether the address was on the zone's blocklist at "
		"the last lookup that answered.\n"
		"# TYPE smtpguard_dnsbl_listed gauge\n"
		"smtpguard_dnsbl_listed{zone=\"bl.test\",address=\"198.51.100.7\"} 1\n"
		"smtpguard_dnsbl_listed{zone=\"bl.test\",address=\"2001:db8::8\"} 0\n"
		"smtpguard_dnsbl_listed{zone=\"dead.test\",address=\"2001:db8::8\"} 1\n"
		"# HELP smtpguard_dnsbl_lookup_failures_total Blocklist lookups that got no usable "
		"answer (timeout, SERVFAIL, REFUSED, an error code).\n"
		"# TYPE smtpguard_dnsbl_lookup_failures_total counter\n"
		"smtpguard_dnsbl_lookup_failures_total{zone=\"bl.test\"} 0\n"
		"smtpguard_dnsbl_lookup_failures_total{zone=\"dead.test\"} 3\n"
		"# HELP smtpguard_dnsbl_last_check_timestamp_seconds When the last round of "
		"blocklist lookups ended.\n"
		"# TYPE smtpguard_dnsbl_last_check_timestamp_seconds gauge\n"
		"smtpguard_dnsbl_last_check_timestamp_seconds 1700000000\n");
	free(out);
	free(s);
}

/* Before the first round: the families, each zone's counter, and no sample of the rest. */
static void test_render_empty_and_escaped(void **state)
{
	struct sg_dnsbl_state *s = calloc(1, sizeof(*s));
	char *out;

	strcpy(s->zones[0], "a\"b\\c\nd\xff");
	s->n_zones = 1;
	s->results[0] = (struct sg_dnsbl_result){ .zone = 0, .address = "198.51.100.7" };
	s->n_results = 1;
	out = rendered(s);
	assert_null(strstr(out, "\nsmtpguard_dnsbl_listed{"));
	assert_null(strstr(out, "\nsmtpguard_dnsbl_last_check_timestamp_seconds "));
	assert_non_null(strstr(out, "\nsmtpguard_dnsbl_lookup_failures_total"
				    "{zone=\"a\\\\x22b\\\\\\\\c\\\\x0ad\\\\xff\"} 0\n"));
	free(out);
	free(s);
}

/* No zone or no interval: no thread, no metrics. */
static void test_watch_off(void **state)
{
	struct sg_dnsblwatch *w = NULL;
	struct sg_config *c = calloc(1, sizeof(*c));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	sg_config_default(c);
	assert_int_equal(sg_dnsblwatch_apply(&w, &c->dnsbl), 0);
	assert_null(w);
	strcpy(c->dnsbl.zones[0], "bl.test");
	c->dnsbl.n_zones = 1;
	c->dnsbl.interval_ns = 0;
	assert_int_equal(sg_dnsblwatch_apply(&w, &c->dnsbl), 0);
	assert_null(w);
	/* A zone the config takes but no query name can be made of. */
	strcpy(c->dnsbl.zones[0], "2001:db8::1");
	c->dnsbl.interval_ns = 60 * SG_NS_PER_SEC;
	assert_int_equal(sg_dnsblwatch_apply(&w, &c->dnsbl), 0);
	assert_null(w);
	f = open_memstream(&buf, &len);
	assert_int_equal(sg_dnsblwatch_render(NULL, f), 0);
	fclose(f);
	assert_int_equal(len, 0);
	free(buf);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qname_v4),
		cmocka_unit_test(test_qname_v6),
		cmocka_unit_test(test_qname_mapped),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_classify_malformed),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_host_addrs),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_empty_and_escaped),
		cmocka_unit_test(test_watch_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
