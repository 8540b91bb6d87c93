// SPDX-License-Identifier: GPL-2.0
/* Password guessing per source and per account: exact verdicts, bans that grow, the file. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/brute.h"
#include "util/parse.h"
#include "sg_bucket.h"

#define T0   1795440000
#define HOUR (3600 * SG_NS_PER_SEC)

static struct sg_config config;
static struct sg_bruteforce_cfg cfg;

static int setup(void **state)
{
	sg_config_default(&config);
	cfg = config.bruteforce;
	cfg.auth_failures = 5;
	cfg.syn_rate = 300;
	cfg.distributed = 4;
	return 0;
}

static void fail_from(struct sg_brute *b, const char *ip, const char *login,
		      enum sg_mta_service svc, __u32 attempts, time_t now)
{
	struct sg_mta_rec r = {
		.ev = SG_MEV_AUTH_FAIL, .uid = -1, .service = svc, .attempts = attempts
	};

	snprintf(r.client_ip, sizeof(r.client_ip), "%s", ip);
	snprintf(r.login, sizeof(r.login), "%s", login);
	sg_brute_fail(b, &cfg, &r, now);
}

/* n lines of one failure each. */
static void fails_from(struct sg_brute *b, const char *ip, enum sg_mta_service svc, int n,
		       time_t now)
{
	while (n-- > 0)
		fail_from(b, ip, "", svc, 1, now);
}

static const __u32 *addr_of(const char *ip)
{
	static struct sg_ban_key key;
	const char *why;

	assert_int_equal(sg_parse_cidr(ip, &key, &why), 0);
	return key.addr;
}

static void test_auth_failures(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[8];
	struct sg_brute_totals t;
	int i;

	assert_non_null(b);
	for (i = 0; i < 4; i++)
		fail_from(b, "198.51.100.10", "", SG_SVC_SMTP, 1, T0 + i);
	/* Dovecot's auth process repeats a failure the MTA logged: not counted. */
	fail_from(b, "198.51.100.10", "", SG_SVC_OTHER, 1, T0 + 4);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 4, v, 8), 0);
	fail_from(b, "198.51.100.10", "", SG_SVC_IMAP, 1, T0 + 5);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 5, v, 8), 1);
	assert_string_equal(v[0].addr, "198.51.100.10");
	assert_int_equal(v[0].key.prefixlen, 128);
	assert_int_equal(v[0].reason, SG_BAN_AUTH_FAILURES);
	assert_int_equal(v[0].value, 5);
	assert_int_equal(v[0].limit, 5);
	assert_int_equal(v[0].offences, 1);
	assert_int_equal(v[0].ban_ns, HOUR);
	assert_true(sg_brute_dirty(b));
	/* Judged once; what comes in while banned (late log lines) does not judge it again. */
	fail_from(b, "198.51.100.10", "", SG_SVC_SMTP, 9, T0 + 6);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 6, v, 8), 0);

	/* One line claiming 99999 attempts is one failure; four more make five. IPv6. */
	fail_from(b, "2001:db8::7", "", SG_SVC_POP3, 99999, T0 + 7);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 7, v, 8), 0);
	for (i = 0; i < 3; i++)
		fail_from(b, "2001:db8::7", "", SG_SVC_POP3, 1, T0 + 7);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 7, v, 8), 0);
	fail_from(b, "2001:db8::7", "", SG_SVC_POP3, 1, T0 + 7);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 7, v, 8), 1);
	assert_string_equal(v[0].addr, "2001:db8::/64");
	assert_int_equal(v[0].key.prefixlen, 64);
	assert_int_equal(v[0].value, 5);

	/* Spread wider than the window (10 min): never 5 at once. */
	for (i = 0; i < 10; i++)
		fail_from(b, "198.51.100.11", "", SG_SVC_SMTP, 1, T0 + i * 200);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 2000, v, 8), 0);

	/* The operator's network is counted, never banned. */
	assert_int_equal(
		sg_parse_cidr("203.0.113.0/24", &cfg.allow[cfg.n_allow++], &(const char *){ NULL }),
		0);
	fail_from(b, "203.0.113.9", "", SG_SVC_SMTP, 50, T0 + 8);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 8, v, 8), 0);
	cfg.n_allow--;

	sg_brute_totals(b, &t);
	/* Lines, not the counts they claim: 4, then 1 (claiming 9), 10, 1 (claiming 50). */
	assert_int_equal(t.failures[SG_BRUTE_SMTP], 4 + 1 + 10 + 1);
	assert_int_equal(t.failures[SG_BRUTE_IMAP], 1);
	assert_int_equal(t.failures[SG_BRUTE_POP3], 5);
	assert_int_equal(t.bans[SG_BAN_AUTH_FAILURES], 2);
	sg_brute_free(b);
}

/* 1h, 4h, 16h, then ban_max; an offence older than forget starts again at 1h. */
static void test_repeat_offenders(void **state)
{
	static const __u64 want[] = { 1 * HOUR, 4 * HOUR, 16 * HOUR, 24 * HOUR, 24 * HOUR };
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[2];
	time_t now = T0;
	size_t i;

	cfg.ban_max_ns = 24 * HOUR;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		fails_from(b, "198.51.100.12", SG_SVC_SMTP, 5, now);
		assert_int_equal(sg_brute_judge(b, &cfg, now, v, 2), 1);
		assert_int_equal(v[0].offences, i + 1);
		assert_int_equal(v[0].ban_ns, want[i]);
		now += (time_t)(v[0].ban_ns / SG_NS_PER_SEC) + 1;
	}
	now += 8 * 86400;
	fails_from(b, "198.51.100.12", SG_SVC_SMTP, 5, now);
	assert_int_equal(sg_brute_judge(b, &cfg, now, v, 2), 1);
	assert_int_equal(v[0].offences, 1);
	assert_int_equal(v[0].ban_ns, HOUR);
	cfg.ban_max_ns = 7 * 24 * HOUR;
	sg_brute_free(b);
}

static void test_syn_rate(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[2];

	/* In sg_sources before the daemon looked: where its count starts. */
	sg_brute_syns(b, addr_of("198.51.100.13"), 1000, 0, T0);
	sg_brute_syns(b, addr_of("198.51.100.13"), 1299, 0, T0 + 30);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 30, v, 2), 0);
	sg_brute_syns(b, addr_of("198.51.100.13"), 1300, 0, T0 + 31);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 31, v, 2), 1);
	assert_int_equal(v[0].reason, SG_BAN_SYN_RATE);
	assert_int_equal(v[0].value, 300);
	assert_int_equal(v[0].limit, 300);

	/* New since the last pass: all of its SYNs are this minute's. */
	sg_brute_syns(b, addr_of("198.51.100.14"), 400, 1, T0 + 40);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 40, v, 2), 1);
	assert_string_equal(v[0].addr, "198.51.100.14");

	/* 299 a minute for three minutes: a busy client, never over the limit. */
	sg_brute_syns(b, addr_of("198.51.100.15"), 0, 1, T0);
	sg_brute_syns(b, addr_of("198.51.100.15"), 299, 1, T0 + 60);
	sg_brute_syns(b, addr_of("198.51.100.15"), 598, 1, T0 + 120);
	sg_brute_syns(b, addr_of("198.51.100.15"), 897, 1, T0 + 180);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 180, v, 2), 0);
	/* The LRU map dropped it and it came back: counted from its new count on. */
	sg_brute_syns(b, addr_of("198.51.100.15"), 10, 1, T0 + 181);
	sg_brute_syns(b, addr_of("198.51.100.15"), 300, 1, T0 + 182);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 182, v, 2), 1);
	assert_int_equal(v[0].value, 299 + 290);

	/* The operator's own network: its SYNs are counted, never judged. */
	assert_int_equal(
		sg_parse_cidr("203.0.113.0/24", &cfg.allow[cfg.n_allow++], &(const char *){ NULL }),
		0);
	sg_brute_syns(b, addr_of("203.0.113.5"), 5000, 1, T0 + 200);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 200, v, 2), 0);
	cfg.n_allow--;
	sg_brute_free(b);
}

/* One account, a failure each from many addresses: each address banned, the account alerted once.
 */
static void test_distributed(void **state)
{
	static const char *const ips[] = { "198.51.100.20", "198.51.100.21", "198.51.100.22",
					   "2001:db8::23" };
	/* An IPv6 source is its /64. */
	static const char *const banned[] = { "198.51.100.20", "198.51.100.21", "198.51.100.22",
					      "2001:db8::/64" };
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[8];
	size_t i;

	for (i = 0; i < 3; i++)
		fail_from(b, ips[i], "victim@hosting.test", SG_SVC_SMTP, 1, T0 + (time_t)i);
	fail_from(b, "198.51.100.29", "alice@hosting.test", SG_SVC_SMTP, 1, T0 + 3);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 3, v, 8), 0);
	fail_from(b, ips[3], "VICTIM@hosting.test", SG_SVC_IMAP, 1, T0 + 4);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 4, v, 8), 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(v[i].addr, banned[i]);
		assert_int_equal(v[i].reason, SG_BAN_DISTRIBUTED);
		assert_string_equal(v[i].login, "victim@hosting.test");
		assert_int_equal(v[i].value, 4);
		assert_int_equal(v[i].limit, 4);
		assert_int_equal(v[i].first, i == 0);
	}
	/* Under attack: the next address is banned at its first failure, with no new alert. */
	fail_from(b, "198.51.100.24", "victim@hosting.test", SG_SVC_SMTP, 1, T0 + 30);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 30, v, 8), 1);
	assert_string_equal(v[0].addr, "198.51.100.24");
	assert_int_equal(v[0].first, 0);
	assert_int_equal(v[0].value, 5);
	/* The attack over (a window with fewer than 4): one more failure is one failure. */
	fail_from(b, "198.51.100.25", "victim@hosting.test", SG_SVC_SMTP, 1, T0 + 2000);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 2000, v, 8), 0);
	/* Back after their bans, four again: banned again, for longer. */
	for (i = 0; i < 4; i++)
		fail_from(b, ips[i], "victim@hosting.test", SG_SVC_SMTP, 1, T0 + 4000 + (time_t)i);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 4003, v, 8), 4);
	assert_int_equal(v[0].first, 1);
	assert_int_equal(v[0].offences, 2);
	assert_int_equal(v[0].ban_ns, 4 * HOUR);
	sg_brute_free(b);
}

static void test_offenders_file(void **state)
{
	char path[] = "/tmp/sg-brute-XXXXXX", tmp[64], victim[64], text[16];
	struct sg_brute *b = sg_brute_new(), *c = sg_brute_new();
	struct stat st;
	struct sg_brute_verdict v[2];
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	fails_from(b, "198.51.100.30", SG_SVC_SMTP, 5, T0);
	assert_int_equal(sg_brute_judge(b, &cfg, T0, v, 2), 1);
	/* A symlink planted where the temporary file goes: removed, its target untouched. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s.victim", path);
	f = fopen(victim, "w");
	assert_non_null(f);
	fputs("root's", f);
	fclose(f);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(sg_brute_save(b, path), 0);
	assert_false(sg_brute_dirty(b));
	/* Root's only, a regular file; the symlink gone, the victim as it was. */
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lstat(tmp, &st), -1);
	f = fopen(victim, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_string_equal(text, "root's");
	unlink(victim);

	/* Read back a day later: the second offence is the second. */
	assert_int_equal(sg_brute_load(c, path, T0 + 86400, 7 * 86400), 0);
	fails_from(c, "198.51.100.30", SG_SVC_SMTP, 5, T0 + 86400);
	assert_int_equal(sg_brute_judge(c, &cfg, T0 + 86400, v, 2), 1);
	assert_int_equal(v[0].offences, 2);
	assert_int_equal(v[0].ban_ns, 4 * HOUR);
	sg_brute_free(c);

	/* Past forget, the file's offence is dropped on load. */
	c = sg_brute_new();
	assert_int_equal(sg_brute_load(c, path, T0 + 8 * 86400, 7 * 86400), 0);
	fails_from(c, "198.51.100.30", SG_SVC_SMTP, 5, T0 + 8 * 86400);
	assert_int_equal(sg_brute_judge(c, &cfg, T0 + 8 * 86400, v, 2), 1);
	assert_int_equal(v[0].offences, 1);
	sg_brute_free(c);

	/* Not JSON: an error, and nothing loaded; no file: nothing to load. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not json", f);
	fclose(f);
	c = sg_brute_new();
	assert_int_equal(sg_brute_load(c, path, T0, 86400), -EINVAL);
	unlink(path);
	assert_int_equal(sg_brute_load(c, path, T0, 86400), 0);
	sg_brute_free(c);
	sg_brute_free(b);
}

/* At the cap, a new source takes the place of an idle one: counted, and judged on its own. */
static void test_sources_at_the_cap(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[8];
	struct sg_brute_totals t;
	char ip[32];
	int i;

	assert_non_null(b);
	for (i = 0; i < SG_BRUTE_MAX_SOURCES; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		fail_from(b, ip, "", SG_SVC_SMTP, 1, T0);
	}
	sg_brute_totals(b, &t);
	assert_int_equal(t.evicted[SG_BRUTE_TAB_SOURCES], 0);
	fails_from(b, "198.51.100.10", SG_SVC_SMTP, 5, T0 + 1);
	sg_brute_totals(b, &t);
	assert_int_equal(t.evicted[SG_BRUTE_TAB_SOURCES], 1);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 1, v, 8), 1);
	assert_string_equal(v[0].addr, "198.51.100.10");
	assert_int_equal(v[0].value, 5);
	sg_brute_free(b);
}

/* Accounts: matched without case; at the cap the idlest gives way, counted. */
static void test_accounts_at_the_cap(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[8];
	struct sg_brute_totals t;
	char login[64];
	int i;

	assert_non_null(b);
	for (i = 0; i < SG_BRUTE_MAX_ACCOUNTS; i++) {
		snprintf(login, sizeof(login), "user%d@hosting.test", i);
		fail_from(b, "192.0.2.1", login, SG_SVC_IMAP, 1, T0 + i);
	}
	/* The victim's failures come in under every case: one account, four sources. */
	fail_from(b, "198.51.100.1", "Victim@Hosting.Test", SG_SVC_IMAP, 1, T0 + 2000);
	fail_from(b, "198.51.100.2", "victim@hosting.test", SG_SVC_IMAP, 1, T0 + 2000);
	fail_from(b, "198.51.100.3", "VICTIM@hosting.test", SG_SVC_IMAP, 1, T0 + 2000);
	fail_from(b, "198.51.100.4", "victim@HOSTING.test", SG_SVC_IMAP, 1, T0 + 2000);
	sg_brute_totals(b, &t);
	assert_int_equal(t.evicted[SG_BRUTE_TAB_ACCOUNTS], 1);
	assert_int_equal(t.evicted[SG_BRUTE_TAB_SOURCES], 0);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 2000, v, 8), 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(v[i].reason, SG_BAN_DISTRIBUTED);
		assert_string_equal(v[i].login, "victim@hosting.test");
	}
	sg_brute_free(b);
}

/* Offenders past the cap, from the file: the oldest of a sample give way, counted, none twice. */
static void test_offenders_at_the_cap(void **state)
{
	struct sg_brute *b = sg_brute_new();
	char path[] = "/tmp/sg-brute-XXXXXX";
	struct sg_brute_totals t;
	json_t *root = json_object(), *saved;
	char ip[32];
	int fd, i, n = SG_BRUTE_MAX_OFFENDERS + 100;

	assert_non_null(b);
	assert_non_null(root);
	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		json_object_set_new(root, ip,
				    json_pack("{s:i, s:I}", "offences", 1, "last", (json_int_t)T0));
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(json_dump_file(root, path, JSON_COMPACT), 0);
	json_decref(root);
	assert_int_equal(sg_brute_load(b, path, T0 + 1, 86400), 0);
	sg_brute_totals(b, &t);
	assert_int_equal(t.evicted[SG_BRUTE_TAB_OFFENDERS], 100);
	assert_int_equal(sg_brute_save(b, path), 0);
	saved = json_load_file(path, 0, NULL);
	assert_non_null(saved);
	assert_int_equal(json_object_size(saved), SG_BRUTE_MAX_OFFENDERS);
	json_decref(saved);
	unlink(path);
	sg_brute_free(b);
}

/* The brute-force signature: this address failed on this account, within the window. */
static void test_failed_on(void **state)
{
	struct sg_brute *b = sg_brute_new();
	time_t window = (time_t)(cfg.window_ns / SG_NS_PER_SEC);

	assert_non_null(b);
	assert_int_equal(cfg.guessed, 3);
	/* One typo, then two: no guess yet; the third failure makes one. */
	fail_from(b, "198.51.100.10", "Victim@example.com", SG_SVC_SUBMISSION, 1, T0 - 2);
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.10", T0 - 2));
	fail_from(b, "198.51.100.10", "victim@example.com", SG_SVC_IMAP, 1, T0 - 1);
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.10", T0 - 1));
	fail_from(b, "198.51.100.10", "victim@example.com", SG_SVC_SUBMISSION, 1, T0);
	for (int i = 0; i < 3; i++) {
		fail_from(b, "2001:db8::5", "victim@example.com", SG_SVC_IMAP, 1, T0 + 10);
		fail_from(b, "127.0.0.1", "victim@example.com", SG_SVC_SMTP, 1, T0);
	}
	assert_true(sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.10", T0 + 1));
	assert_true(sg_brute_failed_on(b, &cfg, "VICTIM@example.com", "2001:db8::5", T0 + 11));
	/* The window's last second, and the one after it. */
	assert_true(sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.10",
				       T0 + window - 1));
	assert_false(
		sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.10", T0 + window));
	/* After a window's quiet the count starts again: one failure is no guess. */
	fail_from(b, "198.51.100.10", "victim@example.com", SG_SVC_SUBMISSION, 1, T0 + window);
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.10",
					T0 + window + 1));
	/* Another address, another account, an allowed address, no address. */
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "198.51.100.11", T0 + 1));
	assert_false(sg_brute_failed_on(b, &cfg, "other@example.com", "198.51.100.10", T0 + 1));
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "127.0.0.1", T0 + 1));
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "", T0 + 1));
	assert_false(sg_brute_failed_on(b, &cfg, "", "198.51.100.10", T0 + 1));
	sg_brute_free(b);
}

/* A botnet spreading its guesses, one an address: under that attack, one failure is a guess. */
static void test_failed_on_spread(void **state)
{
	struct sg_brute_verdict v[16];
	struct sg_brute *b = sg_brute_new();
	char ip[32];
	int i;

	assert_non_null(b);
	for (i = 0; i < (int)cfg.distributed; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", 10 + i);
		fail_from(b, ip, "spread@example.com", SG_SVC_SUBMISSION, 1, T0);
	}
	/* Before the distributed rule has judged the account: one failure is a typo. */
	assert_false(sg_brute_failed_on(b, &cfg, "spread@example.com", "203.0.113.10", T0 + 1));
	assert_true(sg_brute_judge(b, &cfg, T0 + 1, v, 16) > 0);
	assert_true(sg_brute_failed_on(b, &cfg, "spread@example.com", "203.0.113.10", T0 + 2));
	assert_true(sg_brute_failed_on(b, &cfg, "spread@example.com", "203.0.113.13", T0 + 2));
	/* An address that never failed on it is no guesser, attack or not. */
	assert_false(sg_brute_failed_on(b, &cfg, "spread@example.com", "203.0.113.99", T0 + 2));
	sg_brute_free(b);
}

/* Five addresses of one /64, one failure each: one source of five failures, banned whole. */
static void test_ipv6_prefix(void **state)
{
	static const char *const ips[] = { "2001:db8:1::1", "2001:db8:1::2",
					   "2001:db8:1:0:1::", "2001:db8:1:0:ffff:ffff:ffff:ffff",
					   "2001:db8:1::5" };
	struct sg_brute *b = sg_brute_new(), *per_address = sg_brute_new();
	struct sg_brute_verdict v[8];
	size_t i;

	for (i = 0; i < 5; i++) {
		fail_from(b, ips[i], "", SG_SVC_SMTP, 1, T0);
		assert_int_equal(sg_brute_judge(b, &cfg, T0, v, 8), i == 4);
	}
	assert_string_equal(v[0].addr, "2001:db8:1::/64");
	assert_int_equal(v[0].key.prefixlen, 64);
	assert_memory_equal(v[0].key.addr, addr_of("2001:db8:1::"), 16);
	assert_int_equal(v[0].reason, SG_BAN_AUTH_FAILURES);
	assert_int_equal(v[0].value, 5);
	/* The next /64 is another source; IPv4-mapped IPv6 is its IPv4 address. */
	fail_from(b, "2001:db8:1:1::1", "", SG_SVC_SMTP, 1, T0 + 1);
	for (i = 0; i < 4; i++)
		fail_from(b, "::ffff:198.51.100.40", "", SG_SVC_SMTP, 1, T0 + 1);
	fail_from(b, "198.51.100.40", "", SG_SVC_SMTP, 1, T0 + 1);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 1, v, 8), 1);
	assert_string_equal(v[0].addr, "198.51.100.40");
	assert_int_equal(v[0].key.prefixlen, 128);

	/* ipv6_prefix = 56: the whole /56 is one; 128: each address is its own. */
	cfg.ipv6_prefix = 56;
	for (i = 0; i < 5; i++)
		fail_from(b, i % 2 ? "2001:db8:2:ff::1" : "2001:db8:2:1::1", "", SG_SVC_SMTP, 1,
			  T0 + 2);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 2, v, 8), 1);
	assert_string_equal(v[0].addr, "2001:db8:2::/56");
	cfg.ipv6_prefix = 128;
	for (i = 0; i < 5; i++)
		fail_from(per_address, ips[i], "", SG_SVC_SMTP, 1, T0);
	assert_int_equal(sg_brute_judge(per_address, &cfg, T0, v, 8), 0);
	sg_brute_free(per_address);
	sg_brute_free(b);
}

/*
 * The allow list holds addresses, not prefixes: ::1 (allowed by default) and an allowed
 * /128 are never counted, though their /64 would hold them; a sibling's /64 holds the
 * allowed host, so it is never judged (its ban would be refused). Another /64 is.
 */
static void test_ipv6_allowed(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[8];

	assert_true(sg_cidr_list_contains(cfg.allow, cfg.n_allow, addr_of("::1")));
	assert_int_equal(sg_parse_cidr("2001:db8:9::5/128", &cfg.allow[cfg.n_allow++],
				       &(const char *){ NULL }),
			 0);
	fails_from(b, "::1", SG_SVC_IMAP, 6, T0);
	fails_from(b, "2001:db8:9::5", SG_SVC_IMAP, 6, T0);
	assert_int_equal(sg_brute_judge(b, &cfg, T0, v, 8), 0);
	fails_from(b, "2001:db8:9::6", SG_SVC_IMAP, 6, T0);
	assert_int_equal(sg_brute_judge(b, &cfg, T0, v, 8), 0);
	fails_from(b, "2001:db8:8::1", SG_SVC_IMAP, 6, T0);
	assert_int_equal(sg_brute_judge(b, &cfg, T0, v, 8), 1);
	assert_string_equal(v[0].addr, "2001:db8:8::/64");
	/* One account failed from 4 sources, one the allowed host's /64: only 3 judged. */
	fail_from(b, "2001:db8:9::7", "victim", SG_SVC_IMAP, 1, T0 + 1);
	fail_from(b, "2001:db8:a::1", "victim", SG_SVC_IMAP, 1, T0 + 1);
	fail_from(b, "2001:db8:b::1", "victim", SG_SVC_IMAP, 1, T0 + 1);
	fail_from(b, "2001:db8:c::1", "victim", SG_SVC_IMAP, 1, T0 + 1);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 1, v, 8), 3);
	assert_int_equal(v[0].reason, SG_BAN_DISTRIBUTED);
	assert_string_not_equal(v[0].addr, "2001:db8:9::/64");
	assert_string_not_equal(v[1].addr, "2001:db8:9::/64");
	assert_string_not_equal(v[2].addr, "2001:db8:9::/64");
	cfg.n_allow--;
	sg_brute_free(b);
}

/*
 * Ten addresses of one /64 failing once each on an account are one source,
 * not a distributed attack: an innocent user's typo after them is a typo.
 */
static void test_ipv6_distributed(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[16];
	char ip[INET6_ADDRSTRLEN];
	int i;

	cfg.auth_failures = 50;
	for (i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:bad::%x", 0x10 + i);
		fail_from(b, ip, "victim@hosting.test", SG_SVC_IMAP, 1, T0 + i);
	}
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 10, v, 16), 0);
	fail_from(b, "198.51.100.50", "victim@hosting.test", SG_SVC_SMTP, 1, T0 + 11);
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 11, v, 16), 0);
	assert_false(sg_brute_failed_on(b, &cfg, "victim@hosting.test", "198.51.100.50", T0 + 12));
	/* Three more sources (four with the /64) make it distributed: the /64 banned once. */
	for (i = 0; i < 3; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", 60 + i);
		fail_from(b, ip, "victim@hosting.test", SG_SVC_SMTP, 1, T0 + 20);
	}
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 20, v, 16), 5);
	assert_string_equal(v[0].addr, "2001:db8:bad::/64");
	assert_int_equal(v[0].value, 5);
	sg_brute_free(b);
}

/* A guess spread over a /64's addresses is the /64's: its next login from any of them too. */
static void test_ipv6_failed_on(void **state)
{
	struct sg_brute *b = sg_brute_new();

	fail_from(b, "2001:db8:3::1", "victim@example.com", SG_SVC_SUBMISSION, 1, T0);
	fail_from(b, "2001:db8:3::2", "victim@example.com", SG_SVC_SUBMISSION, 1, T0);
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "2001:db8:3::99", T0));
	fail_from(b, "2001:db8:3::3", "victim@example.com", SG_SVC_SUBMISSION, 1, T0);
	assert_true(sg_brute_failed_on(b, &cfg, "victim@example.com", "2001:db8:3::99", T0));
	assert_false(sg_brute_failed_on(b, &cfg, "victim@example.com", "2001:db8:3:1::1", T0));
	sg_brute_free(b);
}

/* This process's resident memory in KiB. */
static long rss_kib(void)
{
	long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * The table of accounts is 6 MB, allocated whole: judging reads the
 * accounts there are, not the empty room, which reading would make
 * resident (4 MB of the daemon's RSS). Run first: the table is then fresh
 * memory, as the daemon's is, not the heap an earlier test freed.
 */
static void test_judge_reads_used_accounts(void **state)
{
	struct sg_brute *b = sg_brute_new();
	struct sg_brute_verdict v[8];
	long before;

	fail_from(b, "192.0.2.1", "victim@example.com", SG_SVC_SMTP, 1, T0);
	before = rss_kib();
	assert_int_equal(sg_brute_judge(b, &cfg, T0 + 1, v, 8), 0);
	assert_in_range(rss_kib() - before, 0, 256);
	sg_brute_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_judge_reads_used_accounts, setup),
		cmocka_unit_test_setup(test_auth_failures, setup),
		cmocka_unit_test_setup(test_accounts_at_the_cap, setup),
		cmocka_unit_test_setup(test_offenders_at_the_cap, setup),
		cmocka_unit_test_setup(test_repeat_offenders, setup),
		cmocka_unit_test_setup(test_syn_rate, setup),
		cmocka_unit_test_setup(test_distributed, setup),
		cmocka_unit_test_setup(test_offenders_file, setup),
		cmocka_unit_test_setup(test_sources_at_the_cap, setup),
		cmocka_unit_test_setup(test_failed_on, setup),
		cmocka_unit_test_setup(test_failed_on_spread, setup),
		cmocka_unit_test_setup(test_ipv6_prefix, setup),
		cmocka_unit_test_setup(test_ipv6_allowed, setup),
		cmocka_unit_test_setup(test_ipv6_distributed, setup),
		cmocka_unit_test_setup(test_ipv6_failed_on, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
