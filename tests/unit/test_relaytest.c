// SPDX-License-Identifier: GPL-2.0
/* check-relay's logic: replies, targets, the target check, the tests' commands and verdicts. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/parse.h"
#include "mail/relaytest.h"

static int parse(const char *s, struct sg_smtp_reply *r)
{
	return sg_smtp_parse_reply(s, strlen(s), r);
}

static void test_reply_single(void **state)
{
	struct sg_smtp_reply r;

	assert_int_equal(parse("220 mail.example.org ESMTP\r\n", &r), 28);
	assert_int_equal(r.code, 220);
	assert_int_equal(r.lines, 1);
	/* A code alone, a bare LF, and what follows the reply left for the next. */
	assert_int_equal(parse("250\r\n", &r), 5);
	assert_int_equal(r.code, 250);
	assert_int_equal(parse("554 no\n", &r), 7);
	assert_int_equal(r.code, 554);
	assert_int_equal(parse("250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n", &r), 14);
	assert_int_equal(r.code, 250);
	/* Not all there yet. */
	assert_int_equal(parse("", &r), 0);
	assert_int_equal(parse("25", &r), 0);
	assert_int_equal(parse("250 Ok\r", &r), 0);
}

static void test_reply_multiline(void **state)
{
	static const char ehlo[] = "250-mail.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
	struct sg_smtp_reply r;

	assert_int_equal(parse(ehlo, &r), sizeof(ehlo) - 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.lines, 3);
	assert_int_equal(parse("250-a\r\n250-b\r\n", &r), 0);
	assert_int_equal(parse("250-a\r\n250", &r), 0);
	assert_int_equal(parse("220-first\r\n220\r\n", &r), 16);
	assert_int_equal(r.lines, 2);
}

static void test_reply_garbage(void **state)
{
	static const char *const bad[] = {
		"HTTP/1.1 400 Bad Request\r\n",
		"25x Ok\r\n",
		"2500 Ok\r\n",
		"250_Ok\r\n",
		"600 Ok\r\n",
		"199 Ok\r\n",
		"099 Ok\r\n",
		"\r\n",
		"25\r\n",
		"250-a\r\n251 b\r\n",
		"250-a\r\nfoo\r\n",
	};
	struct sg_smtp_reply r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &r), -EPROTO);
}

/* A reply of n lines of len bytes each (CRLF included), the last one "250 ...". */
static char *lines(char *buf, int n, size_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(buf + i * len, 'x', len);
		memcpy(buf + i * len, i == n - 1 ? "250 " : "250-", 4);
		memcpy(buf + (i + 1) * len - 2, "\r\n", 2);
	}
	buf[n * len] = '\0';
	return buf;
}

static void test_reply_too_long(void **state)
{
	static char buf[(SG_SMTP_REPLY_LINES + 1) * (SG_SMTP_LINE_MAX + 1) + 1];
	struct sg_smtp_reply r;

	assert_int_equal(parse(lines(buf, 1, SG_SMTP_LINE_MAX), &r), SG_SMTP_LINE_MAX);
	assert_int_equal(parse(lines(buf, 1, SG_SMTP_LINE_MAX + 1), &r), -EMSGSIZE);
	/* A line fails as soon as it is too long, ended or not. */
	lines(buf, 1, SG_SMTP_LINE_MAX + 1);
	assert_int_equal(sg_smtp_parse_reply(buf, SG_SMTP_LINE_MAX, &r), 0);
	assert_int_equal(sg_smtp_parse_reply(buf, SG_SMTP_LINE_MAX + 1, &r), -EMSGSIZE);
	assert_int_equal(parse(lines(buf, SG_SMTP_REPLY_LINES, 8), &r), SG_SMTP_REPLY_LINES * 8);
	assert_int_equal(r.lines, SG_SMTP_REPLY_LINES);
	assert_int_equal(parse(lines(buf, SG_SMTP_REPLY_LINES + 1, 8), &r), -EMSGSIZE);
	assert_int_equal(sg_smtp_parse_reply(buf, SG_SMTP_REPLY_LINES * 8, &r), -EMSGSIZE);
}

static void test_greeting_domain(void **state)
{
	static const char cut[] = "220 mail.example.orgXYZ";
	char d[SG_DOMAIN_MAX];

	assert_int_equal(sg_relay_greeting_domain("220 mail.example.org ESMTP Postfix\r\n", 36, d,
						  sizeof(d)),
			 0);
	assert_string_equal(d, "mail.example.org");
	assert_int_equal(sg_relay_greeting_domain("220-mx.example\r\n", 16, d, sizeof(d)), 0);
	assert_string_equal(d, "mx.example");
	assert_int_equal(sg_relay_greeting_domain("220 [198.51.100.1]\r\n", 20, d, sizeof(d)), 0);
	assert_string_equal(d, "[198.51.100.1]");
	/* The reply is not NUL-terminated in the session's buffer. */
	assert_int_equal(sg_relay_greeting_domain(cut, sizeof(cut) - 4, d, sizeof(d)), 0);
	assert_string_equal(d, "mail.example.org");
	assert_int_equal(sg_relay_greeting_domain("220\r\n", 5, d, sizeof(d)), -EINVAL);
	assert_int_equal(sg_relay_greeting_domain("220 \r\n", 6, d, sizeof(d)), -EINVAL);
	assert_int_equal(sg_relay_greeting_domain("220 a<b>@c ESMTP\r\n", 18, d, sizeof(d)),
			 -EINVAL);
	assert_int_equal(sg_relay_greeting_domain("220 mail.example.org\r\n", 22, d, 8), -EINVAL);
}

static void test_valid_domain(void **state)
{
	char long_name[SG_DOMAIN_MAX + 1];

	assert_true(sg_relay_valid_domain("hosting.test"));
	assert_true(sg_relay_valid_domain("mail-1.example_net"));
	assert_true(sg_relay_valid_domain("[198.51.100.1]"));
	assert_true(sg_relay_valid_domain("[IPv6:2001:db8::1]"));
	assert_false(sg_relay_valid_domain(""));
	assert_false(sg_relay_valid_domain(".example"));
	assert_false(sg_relay_valid_domain("a..example"));
	assert_false(sg_relay_valid_domain("a example"));
	assert_false(sg_relay_valid_domain("example\r\nDATA"));
	assert_false(sg_relay_valid_domain("[2001:db8::1]"));
	assert_false(sg_relay_valid_domain("[198.51.100.1"));
	memset(long_name, 'a', SG_DOMAIN_MAX);
	long_name[SG_DOMAIN_MAX] = '\0';
	assert_false(sg_relay_valid_domain(long_name));
	long_name[SG_DOMAIN_MAX - 1] = '\0';
	assert_true(sg_relay_valid_domain(long_name));
}

static void test_target_parse(void **state)
{
	static const struct {
		const char *in, *host;
		__u16 port;
	} ok[] = {
		{ "198.51.100.1", "198.51.100.1", 25 },
		{ "198.51.100.1:587", "198.51.100.1", 587 },
		{ "mail.example.org", "mail.example.org", 25 },
		{ "mail.example.org:2525", "mail.example.org", 2525 },
		{ "[2001:db8::1]:587", "2001:db8::1", 587 },
		{ "[2001:db8::1]", "2001:db8::1", 25 },
		{ "2001:db8::1", "2001:db8::1", 25 },
		{ "::1", "::1", 25 },
		{ "localhost:65535", "localhost", 65535 },
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "", "not a host name or address" },
		{ ":25", "not a host name or address" },
		{ "a b", "not a host name or address" },
		{ "mail!example:25", "not a host name or address" },
		{ "mail.example.org:", "PORT must be a number from 1 to 65535" },
		{ "mail.example.org:0", "PORT must be a number from 1 to 65535" },
		{ "mail.example.org:65536", "PORT must be a number from 1 to 65535" },
		{ "mail.example.org:2x", "PORT must be a number from 1 to 65535" },
		{ "[2001:db8::1", "missing ']'" },
		{ "[2001:db8::1]x", "expected ':PORT' after ']'" },
		{ "[2001:db8::1]:", "PORT must be a number from 1 to 65535" },
		{ "[198.51.100.1]:25", "not an IPv6 address between '[' and ']'" },
		{ "[mail.example.org]", "not an IPv6 address between '[' and ']'" },
		{ "2001:db8::zz", "not an IPv6 address (write [IPv6]:PORT)" },
		{ "198.51.100.1:25:26", "not an IPv6 address (write [IPv6]:PORT)" },
	};
	char host[SG_DOMAIN_MAX], long_host[400];
	const char *why;
	__u16 port;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		port = 0;
		assert_int_equal(sg_relay_parse_target(ok[i].in, host, sizeof(host), &port, &why),
				 0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sg_relay_parse_target(bad[i].in, host, sizeof(host), &port, &why),
				 -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	assert_int_equal(sg_relay_parse_target(long_host, host, sizeof(host), &port, &why),
			 -EINVAL);
	assert_string_equal(why, "host too long");
}

/* s as 16 bytes, IPv4 mapped. */
static const __u32 *addr(const char *s, struct sg_ban_key *k)
{
	const char *why;

	assert_int_equal(sg_parse_cidr(s, k, &why), 0);
	return k->addr;
}

static void test_addr_kinds(void **state)
{
	struct sg_ban_key k;

	assert_true(sg_relay_addr_global(addr("198.51.100.1", &k)));
	assert_true(sg_relay_addr_global(addr("10.0.0.1", &k)));
	assert_true(sg_relay_addr_global(addr("2001:db8::1", &k)));
	assert_false(sg_relay_addr_global(addr("127.0.0.1", &k)));
	assert_false(sg_relay_addr_global(addr("127.1.2.3", &k)));
	assert_false(sg_relay_addr_global(addr("::1", &k)));
	assert_false(sg_relay_addr_global(addr("169.254.7.1", &k)));
	assert_false(sg_relay_addr_global(addr("fe80::1", &k)));
	assert_true(sg_relay_addr_loopback(addr("127.255.0.1", &k)));
	assert_false(sg_relay_addr_loopback(addr("128.0.0.1", &k)));
	assert_false(sg_relay_addr_loopback(addr("::2", &k)));
	/* ::127.0.0.1 (IPv4-compatible) is not IPv4's loopback. */
	assert_false(sg_relay_addr_loopback(addr("::7f00:1", &k)));
}

static void test_target_allowed(void **state)
{
	static const char targets[][SG_DOMAIN_MAX] = { "mail.example.org", "192.0.2.9" };
	static const struct {
		const char *host, *addr;
		enum sg_relay_allowed want;
	} cases[] = {
		{ "198.51.100.1", "198.51.100.1", SG_RELAY_LOCAL },
		{ "mx.hosting.test", "2001:db8::1", SG_RELAY_LOCAL },
		/* Loopback is this host's, in lo's list or not. */
		{ "127.0.0.2", "127.0.0.2", SG_RELAY_LOCAL },
		{ "::1", "::1", SG_RELAY_LOCAL },
		{ "192.0.2.9", "192.0.2.9", SG_RELAY_LISTED },
		{ "MAIL.Example.ORG", "203.0.113.5", SG_RELAY_LISTED },
		/* An address a listed name resolves to, however it was named. */
		{ "other.example", "192.0.2.10", SG_RELAY_LISTED },
		{ "192.0.2.10", "192.0.2.10", SG_RELAY_LISTED },
		{ "203.0.113.77", "203.0.113.77", SG_RELAY_NOT_ALLOWED },
		{ "other.example", "192.0.2.11", SG_RELAY_NOT_ALLOWED },
		{ "mail.example.org.evil", "203.0.113.5", SG_RELAY_NOT_ALLOWED },
		{ "198.51.100.2", "198.51.100.2", SG_RELAY_NOT_ALLOWED },
	};
	struct sg_ban_key k;
	__u32 local[3][4], listed[1][4];
	size_t i;

	memcpy(local[0], addr("127.0.0.1", &k), 16);
	memcpy(local[1], addr("198.51.100.1", &k), 16);
	memcpy(local[2], addr("2001:db8::1", &k), 16);
	memcpy(listed[0], addr("192.0.2.10", &k), 16);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(sg_relay_target_allowed(cases[i].host, addr(cases[i].addr, &k),
							 (const __u32(*)[4])local, 3, targets, 2,
							 (const __u32(*)[4])listed, 1),
				 cases[i].want);
	/* Nothing configured, nothing resolved: only this host's own. */
	assert_int_equal(sg_relay_target_allowed("192.0.2.9", addr("192.0.2.9", &k),
						 (const __u32(*)[4])local, 3, NULL, 0, NULL, 0),
			 SG_RELAY_NOT_ALLOWED);
	assert_int_equal(sg_relay_target_allowed("198.51.100.1", addr("198.51.100.1", &k),
						 (const __u32(*)[4])local, 3, NULL, 0, NULL, 0),
			 SG_RELAY_LOCAL);
}

static void test_commands(void **state)
{
	static const char *const want[][3] = {
		{ "ext-ext", "MAIL FROM:<relaytest@example.com>",
		  "RCPT TO:<relaytest@example.net>" },
		{ "null-ext", "MAIL FROM:<>", "RCPT TO:<relaytest@example.net>" },
		{ "local-ext", "MAIL FROM:<relaytest@hosting.test>",
		  "RCPT TO:<relaytest@example.net>" },
		{ "unqual-ext", "MAIL FROM:<relaytest>", "RCPT TO:<relaytest@example.net>" },
		{ "percent", "MAIL FROM:<relaytest@example.com>",
		  "RCPT TO:<relaytest%example.net@hosting.test>" },
		{ "bang-local", "MAIL FROM:<relaytest@example.com>",
		  "RCPT TO:<example.net!relaytest@hosting.test>" },
		{ "bang", "MAIL FROM:<relaytest@example.com>", "RCPT TO:<example.net!relaytest>" },
		{ "quoted", "MAIL FROM:<relaytest@example.com>",
		  "RCPT TO:<\"relaytest@example.net\">" },
		{ "quoted-local", "MAIL FROM:<relaytest@example.com>",
		  "RCPT TO:<\"relaytest@example.net\"@hosting.test>" },
		{ "route", "MAIL FROM:<relaytest@example.com>",
		  "RCPT TO:<@hosting.test:relaytest@example.net>" },
	};
	char mail[SG_SMTP_PATH_MAX], rcpt[SG_SMTP_PATH_MAX], longest[SG_DOMAIN_MAX];
	int i;

	assert_int_equal(sg_relay_n_tests, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sg_relay_n_tests; i++) {
		assert_string_equal(sg_relay_tests[i].id, want[i][0]);
		assert_int_equal(sg_relay_commands(&sg_relay_tests[i], "hosting.test", mail, rcpt,
						   sizeof(mail)),
				 0);
		assert_string_equal(mail, want[i][1]);
		assert_string_equal(rcpt, want[i][2]);
	}
	/* The longest domain fits every command; a short buffer fails whole. */
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	for (i = 0; i < sg_relay_n_tests; i++)
		assert_int_equal(
			sg_relay_commands(&sg_relay_tests[i], longest, mail, rcpt, sizeof(mail)),
			0);
	assert_int_equal(sg_relay_commands(&sg_relay_tests[2], "hosting.test", mail, rcpt, 30),
			 -ENAMETOOLONG);
	assert_int_equal(sg_relay_commands(&sg_relay_tests[4], "hosting.test", mail, rcpt, 40),
			 -ENAMETOOLONG);
	assert_int_equal(sg_relay_commands(&sg_relay_tests[4], "hosting.test", mail, rcpt, 45), 0);
}

static void test_verdicts(void **state)
{
	static const struct {
		enum sg_relay_stage stage;
		int code;
		enum sg_relay_verdict v;
		const char *text; /* NULL: pending */
	} cases[] = {
		{ SG_STAGE_GREETING, 220, SG_RELAY_PENDING, NULL },
		{ SG_STAGE_GREETING, 554, SG_RELAY_ERROR, "error (unexpected 554 at greeting)" },
		{ SG_STAGE_GREETING, 421, SG_RELAY_ERROR, "error (temporary 421 at greeting)" },
		{ SG_STAGE_GREETING, 250, SG_RELAY_ERROR, "error (unexpected 250 at greeting)" },
		{ SG_STAGE_EHLO, 250, SG_RELAY_PENDING, NULL },
		{ SG_STAGE_EHLO, 502, SG_RELAY_PENDING, NULL },
		{ SG_STAGE_EHLO, 450, SG_RELAY_REFUSED, "refused (450 at EHLO)" },
		{ SG_STAGE_EHLO, 421, SG_RELAY_ERROR, "error (temporary 421 at EHLO)" },
		{ SG_STAGE_HELO, 250, SG_RELAY_PENDING, NULL },
		{ SG_STAGE_HELO, 501, SG_RELAY_REFUSED, "refused (501 at HELO)" },
		{ SG_STAGE_MAIL, 250, SG_RELAY_PENDING, NULL },
		{ SG_STAGE_MAIL, 553, SG_RELAY_REFUSED, "refused (553 at MAIL)" },
		{ SG_STAGE_MAIL, 451, SG_RELAY_REFUSED, "refused (451 at MAIL)" },
		{ SG_STAGE_MAIL, 354, SG_RELAY_ERROR, "error (unexpected 354 at MAIL)" },
		{ SG_STAGE_RCPT, 250, SG_RELAY_RELAYS, "relays" },
		{ SG_STAGE_RCPT, 251, SG_RELAY_RELAYS, "relays" },
		{ SG_STAGE_RCPT, 454, SG_RELAY_REFUSED, "refused (454 at RCPT)" },
		{ SG_STAGE_RCPT, 554, SG_RELAY_REFUSED, "refused (554 at RCPT)" },
		{ SG_STAGE_RCPT, 421, SG_RELAY_ERROR, "error (temporary 421 at RCPT)" },
		{ SG_STAGE_RCPT, 354, SG_RELAY_ERROR, "error (unexpected 354 at RCPT)" },
	};
	static const struct {
		struct sg_relay_result r;
		const char *text;
	} errs[] = {
		{ { SG_RELAY_ERROR, SG_STAGE_CONNECT, 0, -ECONNREFUSED },
		  "error (connect: Connection refused)" },
		{ { SG_RELAY_ERROR, SG_STAGE_CONNECT, 0, -ENETUNREACH },
		  "error (connect: Network is unreachable)" },
		{ { SG_RELAY_ERROR, SG_STAGE_GREETING, 0, -ETIMEDOUT },
		  "error (greeting: Connection timed out)" },
		{ { SG_RELAY_ERROR, SG_STAGE_RCPT, 0, -EPIPE },
		  "error (RCPT: connection closed by the server)" },
		{ { SG_RELAY_ERROR, SG_STAGE_EHLO, 0, -EPROTO }, "error (EHLO: malformed reply)" },
		{ { SG_RELAY_ERROR, SG_STAGE_EHLO, 0, -EMSGSIZE }, "error (EHLO: reply too long)" },
	};
	struct sg_relay_result r;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sg_relay_reply_verdict(cases[i].stage, cases[i].code, &r),
				 cases[i].v);
		assert_int_equal(r.verdict, cases[i].v);
		assert_int_equal(r.stage, cases[i].stage);
		assert_int_equal(r.code, cases[i].code);
		assert_int_equal(r.err, 0);
		if (cases[i].text)
			assert_string_equal(sg_relay_format_result(&r, buf, sizeof(buf)),
					    cases[i].text);
	}
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		assert_string_equal(sg_relay_format_result(&errs[i].r, buf, sizeof(buf)),
				    errs[i].text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_single),	cmocka_unit_test(test_reply_multiline),
		cmocka_unit_test(test_reply_garbage),	cmocka_unit_test(test_reply_too_long),
		cmocka_unit_test(test_greeting_domain), cmocka_unit_test(test_valid_domain),
		cmocka_unit_test(test_target_parse),	cmocka_unit_test(test_addr_kinds),
		cmocka_unit_test(test_target_allowed),	cmocka_unit_test(test_commands),
		cmocka_unit_test(test_verdicts),
	};

	return cmocka_run_group_tests_name("relaytest", tests, NULL, NULL);
}
