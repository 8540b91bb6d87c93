// SPDX-License-Identifier: GPL-2.0
/*
 * The defence's open-relay decisions: which relayed messages count against
 * their client, when a client is alerted on again, when its alert bans it.
 * (Brute-force ban lengths are core/brute.c's, in test_brute.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/defence.h"
#include "util/parse.h"
#include "sg_bucket.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define T0   1795440000

static void test_relay_counts(void **state)
{
	static const struct {
		const char *client, *rcpt;
		int counts;
	} cases[] = {
		{ "203.0.113.9", "victim@example.org", 1 },
		{ "203.0.113.9", "someone@backup.test", 0 },
		{ "203.0.113.9", "someone@mx.backup.test", 0 },
		{ "203.0.113.9", "someone@MX.Backup.TEST", 0 },
		{ "203.0.113.9", "someone@notbackup.test", 1 },
		{ "203.0.113.9", "someone@backup.test.example.org", 1 },
		{ "203.0.113.9", "no-domain", 1 },
		{ "192.0.2.77", "victim@example.org", 0 },
		{ "127.0.0.1", "victim@example.org", 0 },
		{ "::1", "victim@example.org", 0 },
		{ "2001:db8::1", "victim@example.org", 1 },
	};
	struct sg_config c;
	struct sg_mail_relay r;
	struct sg_ban_key key;
	const char *why;
	size_t i;

	sg_config_default(&c);
	assert_int_equal(sg_parse_cidr("192.0.2.0/24", &c.relay.trusted[c.relay.n_trusted++], &why),
			 0);
	strcpy(c.relay.domains[c.relay.n_domains++], "backup.test");
	for (i = 0; i < N(cases); i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(sg_parse_cidr(cases[i].client, &key, &why), 0);
		memcpy(r.client, key.addr, sizeof(r.client));
		snprintf(r.client_ip, sizeof(r.client_ip), "%s", cases[i].client);
		snprintf(r.rcpt, sizeof(r.rcpt), "%s", cases[i].rcpt);
		if (sg_defence_relay_counts(&c.relay, &r) != cases[i].counts)
			fail_msg("%s to %s: expected %d", cases[i].client, cases[i].rcpt,
				 cases[i].counts);
	}
}

static void test_relay_due(void **state)
{
	static const struct {
		const char *name;
		__u64 messages, reported;
		time_t reported_at, banned_until;
		__u64 ban_ns; /* [relay] ban */
		int alert, ban;
	} cases[] = {
		{ "nothing relayed", 0, 0, 0, 0, 3600 * SG_NS_PER_SEC, 0, 1 },
		{ "first message", 1, 0, 0, 0, 3600 * SG_NS_PER_SEC, 1, 1 },
		{ "first message, ban off", 1, 0, 0, 0, 0, 1, 0 },
		{ "nothing new", 5, 5, T0 - 600, 0, 3600 * SG_NS_PER_SEC, 0, 1 },
		{ "new, alerted 59 s ago", 6, 5, T0 - 59, 0, 3600 * SG_NS_PER_SEC, 0, 1 },
		{ "new, alerted 60 s ago", 6, 5, T0 - SG_RELAY_REPORT_EVERY, 0,
		  3600 * SG_NS_PER_SEC, 1, 1 },
		{ "banned still", 9, 5, T0 - 600, T0 + 1, 3600 * SG_NS_PER_SEC, 1, 0 },
		{ "ban over now", 9, 5, T0 - 600, T0, 3600 * SG_NS_PER_SEC, 1, 1 },
	};
	struct sg_relay_client x;
	struct sg_config c;
	int alert, ban;
	size_t i;

	sg_config_default(&c);
	for (i = 0; i < N(cases); i++) {
		memset(&x, 0, sizeof(x));
		x.messages = cases[i].messages;
		x.reported = cases[i].reported;
		x.reported_at = cases[i].reported_at;
		x.banned_until = cases[i].banned_until;
		c.relay.ban_ns = cases[i].ban_ns;
		alert = sg_defence_relay_alert_due(&x, T0);
		ban = sg_defence_relay_ban_due(&c.relay, &x, T0);
		if (alert != cases[i].alert || ban != cases[i].ban)
			fail_msg("%s: alert %d, ban %d", cases[i].name, alert, ban);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_counts),
		cmocka_unit_test(test_relay_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
