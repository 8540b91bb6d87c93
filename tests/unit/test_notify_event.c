// SPDX-License-Identifier: GPL-2.0
/* Audit entries as notification events: which are events, their fields, and the explain line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "notify/event.h"

/* The event of ENTRY (JSON text), as compact JSON; NULL when it is none. */
static char *event_of(const char *entry)
{
	json_t *in = json_loads(entry, 0, NULL), *e;
	char *s;

	assert_non_null(in);
	e = sg_event_make(in, "mx1");
	json_decref(in);
	if (!e)
		return NULL;
	s = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	return s;
}

static const char *get(const char *event, const char *key, char *buf, size_t len)
{
	json_t *e = json_loads(event, 0, NULL), *v = json_object_get(e, key);
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	snprintf(buf, len, "%s", s ? s : "(none)");
	free(s);
	json_decref(e);
	return buf;
}

static void test_uid_contain(void **state)
{
	char *e = event_of("{\"time\":\"2026-11-23T10:00:00.123Z\",\"actor\":\"daemon\","
			   "\"action\":\"throttle\",\"uid\":1001,\"user\":\"bob\",\"target\":null,"
			   "\"params\":{\"last_1m\":100},\"reason\":\"new_sender\","
			   "\"expires\":null}");
	char buf[256];

	assert_non_null(e);
	assert_string_equal(get(e, "event", buf, sizeof(buf)), "\"contain\"");
	assert_string_equal(get(e, "principal", buf, sizeof(buf)), "\"bob\"");
	assert_string_equal(get(e, "kind", buf, sizeof(buf)), "\"uid\"");
	assert_string_equal(get(e, "rule", buf, sizeof(buf)), "\"new_sender\"");
	assert_string_equal(get(e, "evidence", buf, sizeof(buf)), "{\"last_1m\":100}");
	assert_string_equal(get(e, "explain", buf, sizeof(buf)), "\"smtpguard explain bob\"");
	assert_string_equal(get(e, "host", buf, sizeof(buf)), "\"mx1\"");
	assert_string_equal(get(e, "time", buf, sizeof(buf)), "\"2026-11-23T10:00:00.123Z\"");
	free(e);
}

/* A customer's login, quotes and $(...) in it, is one single-quoted word for the shell. */
static void test_hostile_account(void **state)
{
	char *e = event_of("{\"actor\":\"daemon\",\"action\":\"contain\",\"uid\":null,"
			   "\"user\":null,\"target\":\"sasl:a'b$(reboot)\\\\x0a\","
			   "\"params\":{\"rule\":\"bounce_share\"},\"reason\":null}");
	char buf[256];

	assert_non_null(e);
	assert_string_equal(get(e, "kind", buf, sizeof(buf)), "\"account\"");
	assert_string_equal(get(e, "rule", buf, sizeof(buf)), "\"bounce_share\"");
	assert_string_equal(get(e, "explain", buf, sizeof(buf)),
			    "\"smtpguard explain 'sasl:a'\\\\''b$(reboot)\\\\x0a'\"");
	free(e);
}

/* A ban names its address, and explain takes the address without its prefix length. */
static void test_ban_and_unban(void **state)
{
	char *e = event_of("{\"actor\":\"daemon\",\"action\":\"ban\",\"uid\":null,\"user\":null,"
			   "\"target\":\"2001:db8::/64\",\"params\":{},\"reason\":\"bruteforce\"}");
	char buf[256];

	assert_non_null(e);
	assert_string_equal(get(e, "kind", buf, sizeof(buf)), "\"address\"");
	assert_string_equal(get(e, "explain", buf, sizeof(buf)),
			    "\"smtpguard explain 2001:db8::\"");
	free(e);
	e = event_of(
		"{\"actor\":\"cli:alice\",\"action\":\"unban\",\"target\":\"203.0.113.0/24\"}");
	assert_non_null(e);
	assert_string_equal(get(e, "event", buf, sizeof(buf)), "\"unban\"");
	free(e);
	e = event_of(
		"{\"actor\":\"daemon\",\"action\":\"ban-expire\",\"target\":\"198.51.100.7/32\"}");
	assert_non_null(e);
	assert_string_equal(get(e, "event", buf, sizeof(buf)), "\"unban\"");
	free(e);
}

/*
 * A rule's ban names its address plain, its expiry and `unban` with the
 * prefix length: the same principal, so that the ending resolves the alert
 * the ban made in Alertmanager (its key is kind and principal).
 */
static void test_ban_ends_name_the_same(void **state)
{
	static const char *const entries[] = {
		"{\"actor\":\"daemon\",\"action\":\"ban\",\"target\":\"198.51.100.7\"}",
		"{\"actor\":\"daemon\",\"action\":\"ban-expire\",\"target\":\"198.51.100.7/32\"}",
		"{\"actor\":\"cli:alice\",\"action\":\"unban\",\"target\":\"198.51.100.7/32\"}",
		"{\"actor\":\"daemon\",\"action\":\"ban\",\"target\":\"2001:db8::7\"}",
		"{\"actor\":\"daemon\",\"action\":\"ban-expire\",\"target\":\"2001:db8::7/128\"}",
	};
	static const char *const want[] = { "\"198.51.100.7\"", "\"198.51.100.7\"",
					    "\"198.51.100.7\"", "\"2001:db8::7\"",
					    "\"2001:db8::7\"" };
	char buf[256], *e;
	size_t i;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		e = event_of(entries[i]);
		assert_non_null(e);
		assert_string_equal(get(e, "principal", buf, sizeof(buf)), want[i]);
		assert_string_equal(get(e, "kind", buf, sizeof(buf)), "\"address\"");
		free(e);
	}
	/* A prefix keeps its length. */
	e = event_of("{\"actor\":\"daemon\",\"action\":\"ban-expire\",\"target\":"
		     "\"2001:db8::/64\"}");
	assert_string_equal(get(e, "principal", buf, sizeof(buf)), "\"2001:db8::/64\"");
	free(e);
}

/* Starts are the daemon's alone; endings anyone's; other actions no event. */
static void test_not_events(void **state)
{
	char *e;

	assert_null(event_of("{\"actor\":\"cli:alice\",\"action\":\"block\",\"uid\":1001}"));
	assert_null(
		event_of("{\"actor\":\"cli:alice\",\"action\":\"ban\",\"target\":\"10.0.0.1\"}"));
	assert_null(event_of("{\"actor\":\"daemon\",\"action\":\"resume\",\"target\":\"x\"}"));
	assert_null(event_of("{\"actor\":\"daemon\",\"action\":\"throttle\"}"));
	e = event_of("{\"actor\":\"daemon\",\"action\":\"expire\",\"uid\":1001,\"user\":null}");
	assert_non_null(e);
	assert_non_null(strstr(e, "\"principal\":\"uid 1001\""));
	assert_non_null(strstr(e, "\"event\":\"release\""));
	free(e);
	e = event_of("{\"actor\":\"daemon\",\"action\":\"alert\",\"target\":\"host\"}");
	assert_non_null(e);
	assert_non_null(strstr(e, "\"kind\":\"host\""));
	assert_non_null(strstr(e, "\"explain\":\"smtpguard log\""));
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_contain),   cmocka_unit_test(test_hostile_account),
		cmocka_unit_test(test_ban_and_unban), cmocka_unit_test(test_ban_ends_name_the_same),
		cmocka_unit_test(test_not_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
