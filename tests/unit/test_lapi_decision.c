// SPDX-License-Identifier: GPL-2.0
/* The LAPI's decisions as its stream gives them: accepted, left out, refused, exactly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "fleet/decision.h"

static void test_go_durations(void **state)
{
	static const struct {
		const char *in;
		__s64 ns;
	} ok[] = {
		{ "59m58.725533016s", 3598725533016LL },
		{ "1h59m56.066178007s", 7196066178007LL },
		{ "-103.184271ms", -103184271LL },
		{ "4h0m0s", 14400000000000LL },
		{ "1.5\xc2\xb5s", 1500 },
		{ "250us", 250000 },
		{ "7ns", 7 },
		{ "0s", 0 },
		{ "0", 0 },
	};
	static const char *const bad[] = { "",	    "-",    "5",	  "1x",	 "h",
					   "1h 2m", "1e3s", "999999999h", "nan", "inf" };
	__s64 ns;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(sg_go_duration(ok[i].in, &ns), 0);
		assert_int_equal(ns, ok[i].ns);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sg_go_duration(bad[i], &ns), -EINVAL);
}

static int parse(const char *text, struct sg_lapi_decision *d, char *why)
{
	json_t *j = json_loads(text, 0, NULL);
	int err;

	assert_non_null(j);
	err = sg_lapi_decision_parse(j, d, why, 160);
	json_decref(j);
	return err;
}

/* As crowdsec 1.4.6 sends them (tests/integration/fleet.sh pulls the real ones). */
static void test_accepted(void **state)
{
	struct sg_lapi_decision d;
	char why[160];

	assert_int_equal(parse("{\"duration\":\"59m56.06s\",\"id\":1,\"origin\":\"cscli\","
			       "\"scenario\":\"test\",\"scope\":\"Ip\",\"type\":\"ban\","
			       "\"value\":\"192.0.2.7\"}",
			       &d, why),
			 0);
	assert_int_equal(d.id, 1);
	assert_int_equal(d.scope, SG_SCOPE_IP);
	assert_int_equal(d.origin, SG_ORIGIN_CSCLI);
	assert_int_equal(d.ban, 1);
	assert_int_equal(d.remaining_ns, 3596060000000LL);
	assert_int_equal(d.key.prefixlen, 128);
	assert_string_equal(d.scenario, "test");

	assert_int_equal(parse("{\"duration\":\"2h\",\"id\":2,\"origin\":\"crowdsec\",\"scope\":"
			       "\"Range\",\"type\":\"ban\",\"value\":\"198.51.100.0/24\"}",
			       &d, why),
			 0);
	assert_int_equal(d.scope, SG_SCOPE_RANGE);
	assert_int_equal(d.origin, SG_ORIGIN_CROWDSEC);
	assert_int_equal(d.key.prefixlen, 96 + 24);
	assert_string_equal(d.scenario, "");

	assert_int_equal(parse("{\"duration\":\"1h\",\"id\":3,\"origin\":\"CAPI\",\"scope\":"
			       "\"smtpguard_account\",\"type\":\"hold\",\"value\":"
			       "\"alice@example.com\"}",
			       &d, why),
			 0);
	assert_int_equal(d.scope, SG_SCOPE_MAIL_ACCOUNT);
	assert_int_equal(d.origin, SG_ORIGIN_OTHER);
	assert_int_equal(d.ban, 0);
	assert_string_equal(d.value, "alice@example.com");

	/* A login's escape, as a server's push sends it: kept as given, unescaped where held. */
	assert_int_equal(parse("{\"duration\":\"1h\",\"id\":12,\"scope\":\"smtpguard_account\","
			       "\"type\":\"hold\",\"value\":\"x\\\\\\\\y\\\\x22@example.com\"}",
			       &d, why),
			 0);
	assert_string_equal(d.value, "x\\\\y\\x22@example.com");
}

static void test_left_out(void **state)
{
	static const char *const unsupported[] = {
		"{\"duration\":\"1h\",\"id\":4,\"scope\":\"Ip\",\"type\":\"captcha\",\"value\":"
		"\"192.0.2.7\"}",
		"{\"duration\":\"1h\",\"id\":5,\"scope\":\"Country\",\"type\":\"ban\",\"value\":"
		"\"FR\"}",
		"{\"duration\":\"1h\",\"id\":6,\"scope\":\"smtpguard_account\",\"type\":\"ban\","
		"\"value\":\"bob\"}",
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "{\"id\":7,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.7\"}",
		  "a decision without id, scope, type, value or duration" },
		{ "{\"duration\":\"1h\",\"id\":0,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":"
		  "\"x\"}",
		  "a decision without id, scope, type, value or duration" },
		{ "{\"duration\":\"1h\",\"id\":8,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"10."
		  "0.0.0/8\"}",
		  "Ip '10.0.0.0/8': not one address" },
		{ "{\"duration\":\"1h\",\"id\":9,\"scope\":\"Range\",\"type\":\"ban\",\"value\":"
		  "\"300.1.1.1\"}",
		  "Range '300.1.1.1': not an IPv4 or IPv6 address" },
		{ "{\"duration\":\"soon\",\"id\":10,\"scope\":\"Ip\",\"type\":\"ban\",\"value\":"
		  "\"192.0.2.7\"}",
		  "decision 10: bad duration 'soon'" },
		{ "{\"duration\":\"1h\",\"id\":11,\"scope\":\"smtpguard_account\",\"type\":"
		  "\"hold\","
		  "\"value\":\"a b\"}",
		  "account 'a b': a character no login has" },
		{ "{\"duration\":\"1h\",\"id\":13,\"scope\":\"smtpguard_account\",\"type\":"
		  "\"hold\",\"value\":\"a\\\\qb\"}",
		  "account 'a\\\\qb': a character no login has" },
	};
	struct sg_lapi_decision d;
	char why[160];
	size_t i;

	/* What the LAPI sends is shown escaped: no line of the log is forged. */
	assert_int_equal(parse("{\"duration\":\"1h\",\"id\":12,\"scope\":\"Ip\",\"type\":\"ban\","
			       "\"value\":\"192.0.2.7\\nsmtpguard: forged\"}",
			       &d, why),
			 -EINVAL);
	assert_null(strchr(why, '\n'));
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		assert_int_equal(parse(unsupported[i], &d, why), -ENOTSUP);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].in, &d, why), -EINVAL);
		assert_string_equal(why, bad[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_durations),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
