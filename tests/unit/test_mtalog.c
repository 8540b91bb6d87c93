// SPDX-License-Identifier: GPL-2.0
/*
 * The mail-log parsers (mtalog.h): every field of the record, exactly, for
 * each line of a table per parser (Postfix, Exim, Dovecot); timestamps and
 * the year of a syslog stamp; hostile lines (cut anywhere, NUL inside,
 * fields longer than the record, 1 MB); every fixture log
 * (tests/unit/fixtures/mta) counted by event; and every authentication
 * failure form, annotated (tests/unit/fixtures/authfail). Each line is handed over in
 * a heap buffer of its exact length, never NUL-terminated. TZ is UTC
 * except where a test names another zone.
 */
#include <dirent.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "mail/mtalog.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The reference "now" of every parse: 2026-11-23 23:24:01 UTC. */
#define REF 1795476241
/* Debian 12's rsyslog stamp, "2026-11-23T23:24:01.123456+09:00" = 14:24:01 UTC. */
#define PF	"2026-11-23T23:24:01.123456+09:00 web1 "
#define PF_WHEN 1795443841
/* Exim's mainlog stamp and Dovecot's log_path one, local time (UTC here) = REF. */
#define EX "2026-11-23 23:24:01 "
#define DV "Nov 23 23:24:01 "

static char fixtures[1024]; /* tests/unit/fixtures/mta, next to this file */

typedef enum sg_mta_event (*parser_fn)(const char *line, size_t len, time_t ref,
				       struct sg_mta_rec *out);

/* What a line must give. Strings left NULL must be "", uid is -1 unless has_uid. */
struct want {
	const char *line;
	enum sg_mta_event ev;
	time_t when;
	const char *qid, *ip, *login, *user, *sender, *rcpt, *dsn, *relay;
	long long uid;
	int has_uid, null_sender, local, forwarded, filter;
	unsigned int nrcpt;
	enum sg_mta_outcome out;
	enum sg_mta_service svc;
};

#define UID(n) .uid = (n), .has_uid = 1

/* len bytes of line in a buffer of exactly that size: a read past it is a heap overflow. */
static enum sg_mta_event parse_exact(parser_fn fn, const char *line, size_t len, time_t ref,
				     struct sg_mta_rec *r)
{
	char *buf = malloc(len ? len : 1);
	enum sg_mta_event ev;

	assert_non_null(buf);
	memcpy(buf, line, len);
	ev = fn(buf, len, ref, r);
	free(buf);
	return ev;
}

static enum sg_mta_event parse_pf_any(const char *l, size_t n, time_t ref, struct sg_mta_rec *r)
{
	return sg_mta_parse(SG_MTA_POSTFIX, l, n, ref, r);
}

static enum sg_mta_event parse_ex_any(const char *l, size_t n, time_t ref, struct sg_mta_rec *r)
{
	return sg_mta_parse(SG_MTA_EXIM, l, n, ref, r);
}

static enum sg_mta_event parse_none(const char *l, size_t n, time_t ref, struct sg_mta_rec *r)
{
	return sg_mta_parse(SG_MTA_NONE, l, n, ref, r);
}

/* Whatever the line, the record is well formed: strings end in their arrays, enums in range. */
static void assert_sane(const struct sg_mta_rec *r, enum sg_mta_event ev)
{
	unsigned char bin[16];

	assert_int_equal(r->ev, ev);
	assert_in_range(ev, SG_MEV_NONE, SG_MEV_HOLD);
	assert_in_range(r->outcome, SG_OUT_NONE, SG_OUT_BOUNCED);
	assert_in_range(r->service, SG_SVC_NONE, SG_SVC_OTHER);
	assert_non_null(memchr(r->qid, '\0', sizeof(r->qid)));
	assert_non_null(memchr(r->client_ip, '\0', sizeof(r->client_ip)));
	assert_non_null(memchr(r->login, '\0', sizeof(r->login)));
	assert_non_null(memchr(r->user, '\0', sizeof(r->user)));
	assert_non_null(memchr(r->sender, '\0', sizeof(r->sender)));
	assert_non_null(memchr(r->rcpt, '\0', sizeof(r->rcpt)));
	assert_non_null(memchr(r->dsn, '\0', sizeof(r->dsn)));
	assert_non_null(memchr(r->relay, '\0', sizeof(r->relay)));
	assert_int_equal(strspn(r->qid, "0123456789abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ-"),
			 strlen(r->qid));
	if (r->client_ip[0])
		assert_true(inet_pton(AF_INET, r->client_ip, bin) == 1 ||
			    inet_pton(AF_INET6, r->client_ip, bin) == 1);
	assert_int_equal(r->outcome != SG_OUT_NONE, ev == SG_MEV_DELIVERY);
	assert_int_equal(r->service != SG_SVC_NONE, ev == SG_MEV_AUTH_FAIL);
	assert_true(r->uid == -1 || (ev == SG_MEV_LOCAL && r->uid >= 0 && r->uid <= 0xffffffffLL));
	assert_true(!r->null_sender || (r->null_sender == 1 && !r->sender[0]));
	assert_true(!r->local || (r->local == 1 && ev == SG_MEV_DELIVERY));
	if (ev == SG_MEV_NONE)
		assert_true(!r->qid[0] && !r->client_ip[0] && !r->login[0] && !r->user[0] &&
			    !r->sender[0] && !r->rcpt[0] && !r->dsn[0] && !r->relay[0] &&
			    !r->nrcpt && !r->null_sender);
}

#define EXPECT_STR(field, want)                                                                    \
	do {                                                                                       \
		const char *w_ = (want) ? (want) : "";                                             \
		if (strcmp(r.field, w_))                                                           \
			fail_msg("row %zu: " #field " is \"%s\", not \"%s\"\n  %s", i, r.field,    \
				 w_, w->line);                                                     \
	} while (0)

#define EXPECT_INT(field, want)                                                                    \
	do {                                                                                       \
		long long g_ = (long long)(r.field), w_ = (long long)(want);                       \
		if (g_ != w_)                                                                      \
			fail_msg("row %zu: " #field " is %lld, not %lld\n  %s", i, g_, w_,         \
				 w->line);                                                         \
	} while (0)

static void expect_rows(parser_fn fn, const struct want *rows, size_t n)
{
	struct sg_mta_rec r;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct want *w = &rows[i];
		enum sg_mta_event ev = parse_exact(fn, w->line, strlen(w->line), REF, &r);

		if (ev != w->ev)
			fail_msg("row %zu: %s, not %s\n  %s", i, sg_mta_event_names[ev],
				 sg_mta_event_names[w->ev], w->line);
		assert_sane(&r, ev);
		EXPECT_INT(when, w->when);
		EXPECT_STR(qid, w->qid);
		EXPECT_STR(client_ip, w->ip);
		EXPECT_STR(login, w->login);
		EXPECT_STR(user, w->user);
		EXPECT_INT(uid, w->has_uid ? w->uid : -1);
		EXPECT_STR(sender, w->sender);
		EXPECT_INT(null_sender, w->null_sender);
		EXPECT_INT(nrcpt, w->nrcpt);
		EXPECT_STR(rcpt, w->rcpt);
		EXPECT_INT(outcome, w->out);
		EXPECT_STR(dsn, w->dsn);
		EXPECT_STR(relay, w->relay);
		EXPECT_INT(forwarded, w->forwarded);
		EXPECT_INT(filter, w->filter);
		EXPECT_INT(attempts, ev == SG_MEV_AUTH_FAIL);
		EXPECT_INT(local, w->local);
		EXPECT_INT(service, w->svc);
	}
}

static void test_postfix(void **state)
{
	static const struct want rows[] = {
		{ PF "postfix/submission/smtpd[2211]: 4F2A81C0D2: client=unknown[198.51.100.10], "
		     "sasl_method=PLAIN, sasl_username=victim@hosting.test",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "4F2A81C0D2", .ip = "198.51.100.10",
		  .login = "victim@hosting.test" },
		/* Inbound: no login. */
		{ PF "postfix/smtpd[2260]: 6C1E01C0F5: client=mx1.example.com[203.0.113.25]",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "6C1E01C0F5", .ip = "203.0.113.25" },
		/* Long queue id, IPv6 client. */
		{ PF
		  "postfix/submission/smtpd[2240]: 4Xyz1234ABz2Qw: client=unknown[2001:db8::10], "
		  "sasl_method=LOGIN, sasl_username=victim@hosting.test",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "4Xyz1234ABz2Qw", .ip = "2001:db8::10",
		  .login = "victim@hosting.test" },
		{ PF "postfix/smtpd[2240]: 7A19C1C0F1: client=unknown[IPv6:2001:db8::10], "
		     "sasl_method=LOGIN, sasl_username=victim@hosting.test, "
		     "sasl_sender=other@hosting.test",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "7A19C1C0F1", .ip = "2001:db8::10",
		  .login = "victim@hosting.test" },
		/* smtpd_client_port_logging = yes; syslog_name with two slashes. */
		{ PF "postfix/smtps/smtpd[42]: 9B5F31C0B2: client=unknown[198.51.100.23]:52011, "
		     "sasl_method=LOGIN, sasl_username=victim@hosting.test",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "9B5F31C0B2", .ip = "198.51.100.23",
		  .login = "victim@hosting.test" },
		/* Not an address: no IP rather than a wrong one. */
		{ PF "postfix/smtpd[2260]: 0C6A41C0D7: client=unknown[198.51.100.300]",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "0C6A41C0D7" },
		{ PF "postfix/pickup[1190]: 2E8C61C0F9: uid=1001 from=<shopuser>", SG_MEV_LOCAL,
		  PF_WHEN, .qid = "2E8C61C0F9", UID(1001), .sender = "shopuser" },
		{ DV "mail postfix/pickup[1190]: 3F9D71C0A1: uid=0 from=<root@web1.hosting.test>",
		  SG_MEV_LOCAL, REF, .qid = "3F9D71C0A1", UID(0),
		  .sender = "root@web1.hosting.test" },
		{ PF
		  "postfix/qmgr[1187]: 4F2A81C0D2: from=<victim@hosting.test>, size=2213, nrcpt=4 "
		  "(queue active)",
		  SG_MEV_QUEUED, PF_WHEN, .qid = "4F2A81C0D2", .sender = "victim@hosting.test",
		  .nrcpt = 4 },
		{ PF "postfix/qmgr[1187]: 5B7D91C0E4: from=<>, size=6131, nrcpt=1 (queue active)",
		  SG_MEV_QUEUED, PF_WHEN, .qid = "5B7D91C0E4", .null_sender = 1, .nrcpt = 1 },
		{ PF "postfix/qmgr[1187]: 5E0A81C0C3: from=<victim@hosting.test>, status=expired, "
		     "returned to sender",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF
		  "postfix/smtp[2216]: 4F2A81C0D2: to=<alice@example.com>, "
		  "relay=mx1.example.com[203.0.113.25]:25, delay=1.1, delays=0.04/0.01/0.61/0.44, "
		  "dsn=5.1.1, status=bounced (host mx1.example.com[203.0.113.25] said: 550 5.1.1 "
		  "mailbox unavailable (in reply to RCPT TO command))",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "4F2A81C0D2", .rcpt = "alice@example.com",
		  .out = SG_OUT_BOUNCED, .dsn = "5.1.1",
		  .relay = "mx1.example.com[203.0.113.25]:25" },
		{ PF "postfix/smtp[2216]: 4F2A81C0D2: to=<dave@example.com>, "
		     "orig_to=<dave@example.com>, "
		     "relay=mx1.example.com[203.0.113.25]:25, conn_use=2, delay=1.4, "
		     "delays=0.04/1/0.01/0.35, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
		     "4Hn2Kc0lYwz9sWB)",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "4F2A81C0D2", .rcpt = "dave@example.com",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "mx1.example.com[203.0.113.25]:25" },
		{ PF "postfix/smtp[2219]: 7A19C1C0F1: to=<judy@example.org>, relay=none, delay=30, "
		     "delays=0.03/0/30/0, dsn=4.4.1, status=deferred (connect to "
		     "mx.example.org[203.0.113.45]:25: Connection timed out)",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "7A19C1C0F1", .rcpt = "judy@example.org",
		  .out = SG_OUT_DEFERRED, .dsn = "4.4.1", .relay = "none" },
		{ PF "postfix/qmgr[1187]: 7A19C1C0F1: to=<judy@example.org>, relay=none, "
		     "delay=432000, "
		     "delays=431970/0.01/30/0, dsn=4.4.1, status=expired, returned to sender",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "7A19C1C0F1", .rcpt = "judy@example.org",
		  .out = SG_OUT_BOUNCED, .dsn = "4.4.1", .relay = "none" },
		{ PF "postfix/lmtp[2231]: 5B7D91C0E4: to=<victim@hosting.test>, "
		     "relay=web1.hosting.test[private/dovecot-lmtp], delay=0.08, "
		     "delays=0.01/0.01/0.02/0.04, dsn=2.0.0, status=sent (250 2.0.0 "
		     "<victim@hosting.test> 8DzJMBX1gmWJFAAAbp7cbA Saved)",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "5B7D91C0E4", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .dsn = "2.0.0",
		  .relay = "web1.hosting.test[private/dovecot-lmtp]", .local = 1 },
		{ PF "postfix/virtual[2262]: 6C1E01C0F5: to=<victim@hosting.test>, relay=virtual, "
		     "delay=0.12, delays=0.07/0.01/0/0.04, dsn=2.0.0, status=sent (delivered to "
		     "maildir)",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "6C1E01C0F5", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "virtual", .local = 1 },
		{ DV "mail postfix/pipe[1252]: 4ShKq23Yb2z9sWH: to=<victim@hosting.test>, "
		     "relay=dovecot, "
		     "delay=0.06, delays=0.02/0.01/0/0.03, dsn=2.0.0, status=sent (delivered via "
		     "dovecot "
		     "service)",
		  SG_MEV_DELIVERY, REF, .qid = "4ShKq23Yb2z9sWH", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "dovecot", .local = 1 },
		{ DV "mail postfix/local[1262]: 4ShKq29Tt8z9sWJ: to=<blog@mail.hosting.test>, "
		     "orig_to=<blog>, relay=local, delay=0.04, delays=0.02/0.01/0/0.01, dsn=5.1.1, "
		     "status=bounced (unknown user: \"blog\")",
		  SG_MEV_DELIVERY, REF, .qid = "4ShKq29Tt8z9sWJ", .rcpt = "blog@mail.hosting.test",
		  .out = SG_OUT_BOUNCED, .dsn = "5.1.1", .relay = "local", .local = 1,
		  .forwarded = 1 },
		/* Handed to amavis on loopback: it comes back under another queue id. */
		{ DV "mail postfix/smtp[1271]: 4ShKq29Tt8z9sWL: to=<x@far.example>, "
		     "relay=127.0.0.1[127.0.0.1]:10024, delay=0.2, delays=0/0/0/0.2, dsn=2.0.0, "
		     "status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok)",
		  SG_MEV_DELIVERY, REF, .qid = "4ShKq29Tt8z9sWL", .rcpt = "x@far.example",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "127.0.0.1[127.0.0.1]:10024",
		  .filter = 1 },
		/* An alias of a local address to another domain: forwarded, not relayed. */
		{ DV "mail postfix/smtp[1270]: 4ShKq29Tt8z9sWK: to=<info.owner@example.org>, "
		     "orig_to=<info@hosting.test>, relay=203.0.113.10[203.0.113.10]:25, delay=0.1, "
		     "delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
		  SG_MEV_DELIVERY, REF, .qid = "4ShKq29Tt8z9sWK", .rcpt = "info.owner@example.org",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "203.0.113.10[203.0.113.10]:25",
		  .forwarded = 1 },
		/* An instance: postfix-out/SERVICE; LMTP over TCP is local by its service. */
		{ DV
		  "mail postfix-out/smtp[1242]: 4ShKq22Mn4z9sWD: to=<rupert@example.net>, "
		  "relay=mx.example.net[2001:db8:30::25]:25, delay=1, delays=0.01/0.01/0.5/0.48, "
		  "dsn=5.1.1, status=bounced (host mx.example.net[2001:db8:30::25] said: 550 5.1.1 "
		  "mailbox unavailable (in reply to RCPT TO command))",
		  SG_MEV_DELIVERY, REF, .qid = "4ShKq22Mn4z9sWD", .rcpt = "rupert@example.net",
		  .out = SG_OUT_BOUNCED, .dsn = "5.1.1",
		  .relay = "mx.example.net[2001:db8:30::25]:25" },
		{ DV
		  "mail postfix/lmtp[1270]: 4ShKq22Mn4z9sWD: to=<victim@hosting.test>, "
		  "relay=127.0.0.1[127.0.0.1]:24, delay=0.05, delays=0.01/0/0.02/0.02, dsn=2.0.0, "
		  "status=sent (250 2.0.0 <victim@hosting.test> Saved)",
		  SG_MEV_DELIVERY, REF, .qid = "4ShKq22Mn4z9sWD", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "127.0.0.1[127.0.0.1]:24",
		  .local = 1 },
		/* A quoted local part may hold '>': the address ends at '>' before ", ". */
		{ PF
		  "postfix/smtp[2216]: 4F2A81C0D2: to=<\"odd>user\"@example.com>, relay=none, "
		  "delay=0.1, delays=0.1/0/0/0, dsn=5.4.4, status=bounced (Host or domain name not "
		  "found)",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "4F2A81C0D2", .rcpt = "\"odd>user\"@example.com",
		  .out = SG_OUT_BOUNCED, .dsn = "5.4.4", .relay = "none" },
		/* Address verification probes are not deliveries. */
		{ PF "postfix/smtp[2216]: 4F2A81C0D3: to=<alice@example.com>, "
		     "relay=mx1.example.com[203.0.113.25]:25, delay=0.5, delays=0/0/0.3/0.2, "
		     "dsn=2.1.5, "
		     "status=deliverable (250 2.1.5 Ok)",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF "postfix/qmgr[1187]: 4F2A81C0D2: removed", SG_MEV_DONE, PF_WHEN,
		  .qid = "4F2A81C0D2" },
		{ PF "postfix/qmgr[1187]: 4F2A81C0D2: removed from queue", SG_MEV_NONE, PF_WHEN,
		  .qid = NULL },
		{ PF "postfix/submission/smtpd[2245]: 0C6A41C0D7: hold: RCPT from "
		     "unknown[198.51.100.10]: <oscar@example.com>: Sender address triggers HOLD "
		     "action; "
		     "from=<victim@hosting.test> to=<oscar@example.com> proto=ESMTP "
		     "helo=<DESKTOP-4K2LQ9>",
		  SG_MEV_HOLD, PF_WHEN, .qid = "0C6A41C0D7", .ip = "198.51.100.10",
		  .sender = "victim@hosting.test", .rcpt = "oscar@example.com" },
		/* Postfix 3.7 logs smtpd's HOLD before the queue id exists. */
		{ PF "postfix/submission/smtpd[7648]: NOQUEUE: hold: RCPT from "
		     "unknown[198.51.100.11]: "
		     "<victim@hosting.test>: SASL login name triggers HOLD action; "
		     "from=<victim@hosting.test> to=<ok-held@a.example> proto=ESMTP "
		     "helo=<client-198.51.100.11.example>",
		  SG_MEV_HOLD, PF_WHEN, .ip = "198.51.100.11", .sender = "victim@hosting.test",
		  .rcpt = "ok-held@a.example" },
		/* The subject is the client's: its " from unknown[...]" does not count. */
		{ PF "postfix/cleanup[2214]: 1D7B51C0E8: hold: header Subject: from "
		     "unknown[203.0.113.9]; from=<x> from unknown[203.0.113.77]; from=<> "
		     "to=<peggy@example.net> proto=ESMTP helo=<[203.0.113.77]>: held for review",
		  SG_MEV_HOLD, PF_WHEN, .qid = "1D7B51C0E8", .ip = "203.0.113.77", .null_sender = 1,
		  .rcpt = "peggy@example.net" },
		{ PF "postfix/cleanup[2214]: 2E8C61C0F8: hold: header Subject: Invoice from local; "
		     "from=<shopuser@web1.hosting.test> to=<a@example.com>",
		  SG_MEV_HOLD, PF_WHEN, .qid = "2E8C61C0F8", .sender = "shopuser@web1.hosting.test",
		  .rcpt = "a@example.com" },
		{ PF "postfix/submission/smtpd[2250]: warning: unknown[203.0.113.200]: SASL LOGIN "
		     "authentication failed: UGFzc3dvcmQ6",
		  SG_MEV_AUTH_FAIL, PF_WHEN, .ip = "203.0.113.200", .svc = SG_SVC_SMTP },
		{ PF "postfix/submission/smtpd[2250]: warning: unknown[203.0.113.200]: SASL PLAIN "
		     "authentication failed: , sasl_username=victim@hosting.test",
		  SG_MEV_AUTH_FAIL, PF_WHEN, .ip = "203.0.113.200", .login = "victim@hosting.test",
		  .svc = SG_SVC_SMTP },
		{ DV
		  "mail postfix/smtpd[7]: warning: client.example.net[2001:db8::66]: SASL login "
		  "authentication failed: (reason unavailable), sasl_username=victim@hosting.test",
		  SG_MEV_AUTH_FAIL, REF, .ip = "2001:db8::66", .login = "victim@hosting.test",
		  .svc = SG_SVC_SMTP },
		/* The auth server's trouble, not the client's. */
		{ PF
		  "postfix/smtpd[2251]: warning: unknown[203.0.113.202]: SASL LOGIN authentication "
		  "failed: Connection lost to authentication server",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF "postfix/smtpd[2251]: warning: hostname x.example does not resolve to address "
		     "203.0.113.3",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF "postfix/smtpd[2260]: NOQUEUE: reject: RCPT from unknown[203.0.113.99]: 554 "
		     "5.7.1 "
		     "<rcpt@example.com>: Relay access denied; from=<spam@example.net> "
		     "to=<rcpt@example.com> proto=ESMTP helo=<example.net>",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF "postfix/smtpd[2260]: connect from unknown[198.51.100.10]", SG_MEV_NONE,
		  PF_WHEN, .qid = NULL },
		/* Not Postfix, and a queue id of characters Postfix never uses. */
		{ PF "sshd[812]: 4F2A81C0D2: client=unknown[198.51.100.10]", SG_MEV_NONE, PF_WHEN,
		  .qid = NULL },
		{ PF "postfix/smtpd[2260]: 4F2A8_C0D2: client=unknown[198.51.100.10]", SG_MEV_NONE,
		  PF_WHEN, .qid = NULL },
		/* A login with a comma of its own is kept whole: never another account's. */
		{ PF "postfix/smtpd[2260]: 4F2A81C0D2: client=unknown[198.51.100.10], "
		     "sasl_method=PLAIN, sasl_username=victim@hosting.test, x",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "4F2A81C0D2", .ip = "198.51.100.10",
		  .login = "victim@hosting.test, x" },
		/* The client's AUTH= sender posing as Postfix's fields: the login is the SASL one.
		 */
		{ PF "postfix/smtpd[2260]: 4F2A81C0D2: client=unknown[198.51.100.10], "
		     "sasl_method=PLAIN, sasl_username=mallory@hosting.test, "
		     "sasl_sender=x, sasl_username=victim@hosting.test, orig_queue_id=1",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "4F2A81C0D2", .ip = "198.51.100.10",
		  .login = "mallory@hosting.test" },
		{ PF "postfix/smtpd[2260]: 4F2A81C0D2: client=unknown[198.51.100.10], "
		     "sasl_method=PLAIN, sasl_username=mallory@hosting.test, "
		     "orig_queue_id=4F2A81C0D1, orig_client=unknown[192.0.2.1]",
		  SG_MEV_SUBMIT, PF_WHEN, .qid = "4F2A81C0D2", .ip = "198.51.100.10",
		  .login = "mallory@hosting.test" },
		/* A quoted recipient cannot make an outbound delivery look local. */
		{ PF "postfix/smtp[2270]: 4F2A81C0D2: to=<\"a>, relay=local, dsn=2.0.0, "
		     "status=sent\"@gmail.example>, relay=mx.gmail.example[203.0.113.5]:25, "
		     "delay=1, delays=0.1/0/0.4/0.5, dsn=2.0.0, status=sent (250 ok)",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "4F2A81C0D2",
		  .rcpt = "\"a>, relay=local, dsn=2.0.0, status=sent\"@gmail.example",
		  .relay = "mx.gmail.example[203.0.113.5]:25", .dsn = "2.0.0", .out = SG_OUT_SENT },
		/* A quoted sender cannot set the count. */
		{ PF "postfix/qmgr[2280]: 4F2A81C0D2: from=<\"a>, size=1, nrcpt=1\"@evil.example>, "
		     "size=900, nrcpt=500 (queue active)",
		  SG_MEV_QUEUED, PF_WHEN, .qid = "4F2A81C0D2",
		  .sender = "\"a>, size=1, nrcpt=1\"@evil.example", .nrcpt = 500 },
		/* Mechanism probing and AUTH refused by the server: no password tried. */
		{ PF "postfix/smtpd[2290]: warning: host[192.0.2.5]: SASL CRAM-MD5 authentication "
		     "failed: Invalid authentication mechanism",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
	};

	expect_rows(sg_mta_parse_postfix, rows, ARRAY_SIZE(rows));
}

static void test_exim(void **state)
{
	static const struct want rows[] = {
		{ EX
		  "1rABcD-0003Xy-1a <= victim@hosting.test H=(DESKTOP-4K2LQ9) "
		  "[198.51.100.10]:51401 I=[198.51.100.1]:587 P=esmtpsa "
		  "X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_plain:victim@hosting.test "
		  "S=2213 id=20261123141201.4F2A81C0D2@hosting.test",
		  SG_MEV_SUBMIT, REF, .qid = "1rABcD-0003Xy-1a", .ip = "198.51.100.10",
		  .login = "victim@hosting.test", .sender = "victim@hosting.test" },
		/* Inbound: a host name, no authentication, an ident U= that is not a local user. */
		{ EX "1rACeK-0003a5-9Z <= news@example.net H=mx1.example.com (mx1) [203.0.113.25] "
		     "U=nobody P=esmtps S=5120 id=x@example.net",
		  SG_MEV_SUBMIT, REF, .qid = "1rACeK-0003a5-9Z", .ip = "203.0.113.25",
		  .sender = "news@example.net" },
		{ EX "1rACeK-0003a5-9Z <= <> H=mx1.example.com [203.0.113.25]:41877 "
		     "I=[198.51.100.1]:25 P=esmtps S=5120",
		  SG_MEV_SUBMIT, REF, .qid = "1rACeK-0003a5-9Z", .ip = "203.0.113.25",
		  .null_sender = 1 },
		{ EX "1rACdU-0003a1-3J <= www-data@web1.hosting.test U=www-data P=local S=1402 "
		     "id=3f2a9c1e7b@web1.hosting.test T=\"Contact form\"",
		  SG_MEV_LOCAL, REF, .qid = "1rACdU-0003a1-3J", .user = "www-data",
		  .sender = "www-data@web1.hosting.test" },
		{ EX "1rAC4k-0003Ya-2b <= <> R=1rABcD-0003Xy-1a U=Debian-exim P=local S=3120",
		  SG_MEV_LOCAL, REF, .qid = "1rAC4k-0003Ya-2b", .user = "Debian-exim",
		  .null_sender = 1 },
		/* log_selector +pid; an IPv6 client; a HELO that looks like an address. */
		{ EX "[3412] 1rACbQ-0003Zk-5m <= victim@hosting.test H=([203.0.113.9]) "
		     "[2001:db8::10]:50022 P=esmtpsa A=dovecot_login:victim@hosting.test S=2230",
		  SG_MEV_SUBMIT, REF, .qid = "1rACbQ-0003Zk-5m", .ip = "2001:db8::10",
		  .login = "victim@hosting.test", .sender = "victim@hosting.test" },
		/* After id= the words are the client's: its subject does not log it in. */
		{ EX "1rACaB-0003Zc-7Q <= victim@hosting.test H=(x) [198.51.100.10] P=esmtpsa "
		     "A=dovecot_plain:victim@hosting.test S=1 id=a@b T=\"A=plain:admin "
		     "H=[203.0.113.9]\"",
		  SG_MEV_SUBMIT, REF, .qid = "1rACaB-0003Zc-7Q", .ip = "198.51.100.10",
		  .login = "victim@hosting.test", .sender = "victim@hosting.test" },
		/* Exim 4.97's id, +millisec, log_timezone. */
		{ "2026-11-23 23:30:05.118 +0900 1rADxY-00000000Pq4-0AbC <= victim@hosting.test "
		  "H=(DESKTOP-4K2LQ9) [198.51.100.10]:52011 P=esmtpsa "
		  "A=dovecot_plain:victim@hosting.test S=2201",
		  SG_MEV_SUBMIT, 1795444205, .qid = "1rADxY-00000000Pq4-0AbC",
		  .ip = "198.51.100.10", .login = "victim@hosting.test",
		  .sender = "victim@hosting.test" },
		{ EX "1rABcD-0003Xy-1a => carol@example.org R=dnslookup T=remote_smtp "
		     "H=mail.example.org [203.0.113.41] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes "
		     "C=\"250 2.0.0 Ok: queued as 4Hn2Kc0lYwz9sWB\"",
		  SG_MEV_DELIVERY, REF, .qid = "1rABcD-0003Xy-1a", .rcpt = "carol@example.org",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "remote_smtp" },
		{ EX "1rABcD-0003Xy-1a -> dan@example.org R=dnslookup T=remote_smtp "
		     "H=mail.example.org [203.0.113.41] C=\"250 OK\"",
		  SG_MEV_DELIVERY, REF, .qid = "1rABcD-0003Xy-1a", .rcpt = "dan@example.org",
		  .out = SG_OUT_SENT, .relay = "remote_smtp" },
		/* Cutthrough delivery. */
		{ EX "1rABcD-0003Xy-1a >> ed@example.org R=dnslookup T=remote_smtp "
		     "H=mail.example.org [203.0.113.41] C=\"250 2.0.0 OK\"",
		  SG_MEV_DELIVERY, REF, .qid = "1rABcD-0003Xy-1a", .rcpt = "ed@example.org",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "remote_smtp" },
		{ EX "1rABcD-0003Xy-1a ** alice@example.com R=dnslookup T=remote_smtp "
		     "H=mx1.example.com [203.0.113.25] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes: "
		     "SMTP "
		     "error from remote mail server after RCPT TO:<alice@example.com>: 550 5.1.1 "
		     "<alice@example.com>: Recipient address rejected",
		  SG_MEV_DELIVERY, REF, .qid = "1rABcD-0003Xy-1a", .rcpt = "alice@example.com",
		  .out = SG_OUT_BOUNCED, .dsn = "5.1.1", .relay = "remote_smtp" },
		{ EX
		  "1rABcD-0003Xy-1a ** bob@example.net R=dnslookup T=remote_smtp "
		  "H=mx.example.net [203.0.113.30]: SMTP error from remote mail server after RCPT "
		  "TO:<bob@example.net>: 550-5.1.1 The email account that you tried to reach does "
		  "not exist",
		  SG_MEV_DELIVERY, REF, .qid = "1rABcD-0003Xy-1a", .rcpt = "bob@example.net",
		  .out = SG_OUT_BOUNCED, .dsn = "5.1.1", .relay = "remote_smtp" },
		{ EX "1rACdU-0003a1-3J ** nobody@hosting.test: Unrouteable address",
		  SG_MEV_DELIVERY, REF, .qid = "1rACdU-0003a1-3J", .rcpt = "nobody@hosting.test",
		  .out = SG_OUT_BOUNCED, .dsn = "5.0.0" },
		{ EX "1rACaB-0003Zc-7Q == henry@example.org R=dnslookup T=remote_smtp defer (-44) "
		     "H=mail.example.org [203.0.113.41]: SMTP error from remote mail server after "
		     "RCPT "
		     "TO:<henry@example.org>: 451 4.3.0 try later",
		  SG_MEV_DELIVERY, REF, .qid = "1rACaB-0003Zc-7Q", .rcpt = "henry@example.org",
		  .out = SG_OUT_DEFERRED, .dsn = "4.3.0", .relay = "remote_smtp" },
		{ EX "1rACbQ-0003Zk-5m == judy@example.org R=dnslookup T=remote_smtp defer (110): "
		     "Connection timed out",
		  SG_MEV_DELIVERY, REF, .qid = "1rACbQ-0003Zk-5m", .rcpt = "judy@example.org",
		  .out = SG_OUT_DEFERRED, .dsn = "4.0.0", .relay = "remote_smtp" },
		/* Local deliveries: the original address in <> is the recipient. */
		{ EX "1rACeK-0003a5-9Z => victim <victim@hosting.test> R=local_user T=maildir_home",
		  SG_MEV_DELIVERY, REF, .qid = "1rACeK-0003a5-9Z", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .relay = "maildir_home", .local = 1 },
		{ EX "1rAC4k-0003Ya-2b => victim@hosting.test R=virtual_user T=dovecot_lmtp "
		     "C=\"250 2.0.0 <victim@hosting.test> 8DzJMBX1gmWJFAAAbp7cbA Saved\"",
		  SG_MEV_DELIVERY, REF, .qid = "1rAC4k-0003Ya-2b", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "dovecot_lmtp", .local = 1 },
		{ EX
		  "1rAC4k-0003Ya-2b => sguser1 <sguser1@hosting.example> R=local_user T=local_mbox",
		  SG_MEV_DELIVERY, REF, .qid = "1rAC4k-0003Ya-2b",
		  .rcpt = "sguser1@hosting.example", .out = SG_OUT_SENT, .relay = "local_mbox",
		  .local = 1 },
		/* A pipe: the command has blanks; the recipient is still the <> address. */
		{ EX "1hQkUr-0016NY-2h => |/usr/bin/autorespond victim@hosting.test /home/v/.ar "
		     "(victim@hosting.test) <victim@hosting.test> R=virtual_aliases T=address_pipe",
		  SG_MEV_DELIVERY, REF, .qid = "1hQkUr-0016NY-2h", .rcpt = "victim@hosting.test",
		  .out = SG_OUT_SENT, .relay = "address_pipe" },
		/* +sender_on_delivery, +return_path_on_delivery: F=<..> P=<> are not the recipient.
		 */
		{ EX "1dhdXn-0005zU-EV => list@example.net (list@example.net) <owner@example.net> "
		     "F=<victim@hosting.test> P=<> R=dnslookup T=remote_smtp S=8451 "
		     "H=mx.example.net [203.0.113.30]:25 C=\"250 2.0.0 Ok\" QT=1s DT=0s",
		  SG_MEV_DELIVERY, REF, .qid = "1dhdXn-0005zU-EV", .rcpt = "owner@example.net",
		  .out = SG_OUT_SENT, .dsn = "2.0.0", .relay = "remote_smtp", .forwarded = 1 },
		{ EX "1rABcD-0003Xy-1a Completed", SG_MEV_DONE, REF, .qid = "1rABcD-0003Xy-1a" },
		{ EX "1rABcD-0003Xy-1a Completed QT=2s", SG_MEV_DONE, REF,
		  .qid = "1rABcD-0003Xy-1a" },
		{ EX "1rACcW-0003Zr-0C frozen by ACL", SG_MEV_HOLD, REF,
		  .qid = "1rACcW-0003Zr-0C" },
		{ EX "1rAC4m-0003Yb-4c Frozen (delivery error message)", SG_MEV_HOLD, REF,
		  .qid = "1rAC4m-0003Yb-4c" },
		{ EX "1xVcrR-0000Be-3C Message is frozen", SG_MEV_HOLD, REF,
		  .qid = "1xVcrR-0000Be-3C" },
		{ EX "1xVcrR-0000AI-2V unfrozen by root", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1xVcrQ-00007N-01 H=(blog.example) [198.51.100.21] Warning: frozen, account "
		     "contained",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ EX
		  "dovecot_plain authenticator failed for (DESKTOP-4K2LQ9) [203.0.113.200]:51334 "
		  "I=[198.51.100.1]:587: 535 Incorrect authentication data "
		  "(set_id=victim@hosting.test)",
		  SG_MEV_AUTH_FAIL, REF, .ip = "203.0.113.200", .login = "victim@hosting.test",
		  .svc = SG_SVC_SMTP },
		{ EX "[7513] login authenticator failed for scan.example.net (USER) "
		     "[203.0.113.201]: 535 "
		     "Incorrect authentication data: 1 Time(s)",
		  SG_MEV_AUTH_FAIL, REF, .ip = "203.0.113.201", .svc = SG_SVC_SMTP },
		/* set_id is the client's: it may hold blanks and parentheses. */
		{ EX "plain authenticator failed for ([203.0.113.9]) [2001:db8::5]:40000: 535 "
		     "Incorrect "
		     "authentication data (set_id=a (b) c)",
		  SG_MEV_AUTH_FAIL, REF, .ip = "2001:db8::5", .login = "a (b) c",
		  .svc = SG_SVC_SMTP },
		/* A HELO of several words (helo_accept_junk_hosts) naming another address. */
		{ EX "plain authenticator failed for (x) [8.8.8.8] (y) [203.0.113.203]: 535 "
		     "Incorrect authentication data",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ EX "dovecot_plain authenticator failed for (x) [203.0.113.202]:5555 "
		     "I=[198.51.100.1]:587: 435 Unable to authenticate at present "
		     "(set_id=victim@hosting.test)",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* Exim to syslog: the syslog stamp, then Exim's own. */
		{ "Nov 23 23:24:00 web1 exim[3412]: 2026-11-23 23:24:01 1rABcD-0003Xy-1a Completed",
		  SG_MEV_DONE, REF, .qid = "1rABcD-0003Xy-1a" },
		{ EX "1rABcD-0003X!-1a Completed", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy1-1a Completed", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "Start queue run: pid=3520", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "H=(example.net) [203.0.113.99]:50211 F=<spam@example.net> rejected RCPT "
		     "<rcpt@example.com>: relay not permitted",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* A remote sender's quoted local part posing as keys: part of the address. */
		{ EX "1rABcD-0003Xy-1a <= \"x H=[6.6.6.6] A=plain:victim@hosting.test P=local "
		     "U=alice \"@evil.example H=mx.evil.example [203.0.113.66]:40000 P=esmtp "
		     "S=900 id=1@evil.example",
		  SG_MEV_SUBMIT, REF, .qid = "1rABcD-0003Xy-1a", .ip = "203.0.113.66",
		  .sender = "\"x H=[6.6.6.6] A=plain:victim@hosting.test P=local U=alice "
			    "\"@evil.example" },
		{ EX "1rABcD-0003Xy-1a <= \"a\\\" P=local U=alice \"@evil.example "
		     "H=(evil) [203.0.113.66] P=esmtp S=900",
		  SG_MEV_SUBMIT, REF, .qid = "1rABcD-0003Xy-1a", .ip = "203.0.113.66",
		  .sender = "\"a\\\" P=local U=alice \"@evil.example" },
		/* A quote left open: no address Exim accepted, nothing taken. */
		{ EX "1rABcD-0003Xy-1a <= \"x P=local U=alice S=1", SG_MEV_NONE, REF, .qid = NULL },
		/* Keys out of order or twice: a client's text (ident, DN) imitating them. */
		{ EX
		  "1rABcD-0003Xy-1a <= a@evil.example H=(evil) [203.0.113.66] U=x A=plain:victim "
		  "P=esmtp S=1",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a <= a@evil.example H=(evil) [203.0.113.66] U=x P=local "
		     "P=esmtp S=1",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a <= a@evil.example H=(evil) [203.0.113.66] P=esmtps "
		     "DN=\"CN=x A=plain:victim\" S=1",
		  SG_MEV_SUBMIT, REF, .qid = "1rABcD-0003Xy-1a", .ip = "203.0.113.66",
		  .sender = "a@evil.example" },
		/* A HELO of several words (helo_accept_junk_hosts) hiding an address. */
		{ EX "1rABcD-0003Xy-1a <= a@evil.example H=(x) [6.6.6.6] P=local U=alice (y) "
		     "[203.0.113.66] P=esmtp S=1",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* An S= before P= (an ident reply "x S=1"): not Exim's form. */
		{ EX "1rABcD-0003Xy-1a <= a@hosting.test H=(pc) [203.0.113.67] U=x S=1 P=esmtpa "
		     "A=plain:a@hosting.test S=900",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* Keys and flags Exim adds that are not read: skipped. */
		{ EX "1rABcD-0003Xy-1a <= a@hosting.test H=(pc) [203.0.113.67]:5000 TFO* "
		     "I=[198.51.100.1]:587 P=esmtpsa K X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no "
		     "SNI=mail.hosting.test A=dovecot_plain:a@hosting.test S=1 M8S=0",
		  SG_MEV_SUBMIT, REF, .qid = "1rABcD-0003Xy-1a", .ip = "203.0.113.67",
		  .login = "a@hosting.test", .sender = "a@hosting.test" },
		/* After S= the client writes: id=, T= never supply a key. */
		{ EX "1rABcD-0003Xy-1a <= a@evil.example H=(evil) [203.0.113.66] P=esmtp S=1 "
		     "id=x@y T=\"A=plain:victim P=local U=alice\"",
		  SG_MEV_SUBMIT, REF, .qid = "1rABcD-0003Xy-1a", .ip = "203.0.113.66",
		  .sender = "a@evil.example" },
		/* A quoted recipient cannot name a local transport for a remote delivery. */
		{ EX "1rABcD-0003Xy-1a => \"x R=local_user T=dovecot_lmtp:\"@gmail.example "
		     "R=dnslookup T=remote_smtp H=mx.gmail.example [203.0.113.5] "
		     "C=\"250 2.0.0 T=local_delivery:\"",
		  SG_MEV_DELIVERY, REF, .qid = "1rABcD-0003Xy-1a",
		  .rcpt = "\"x R=local_user T=dovecot_lmtp:\"@gmail.example",
		  .relay = "remote_smtp", .dsn = "2.0.0", .out = SG_OUT_SENT },
	};

	expect_rows(sg_mta_parse_exim, rows, ARRAY_SIZE(rows));
}

static void test_dovecot(void **state)
{
	static const struct want rows[] = {
		{ DV "web1 dovecot[901]: auth: passwd-file(victim@hosting.test,198.51.100.10): "
		     "Password mismatch",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.10", .login = "victim@hosting.test",
		  .svc = SG_SVC_OTHER },
		{ DV "auth: Info: passwd-file(victim@hosting.test,198.51.100.10,<Hx9Ab12Q>): "
		     "Password mismatch",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.10", .login = "victim@hosting.test",
		  .svc = SG_SVC_OTHER },
		{ PF "dovecot: auth: sql(nobody@hosting.test,2001:db8::7,<ZpQ81cGQ>): unknown user",
		  SG_MEV_AUTH_FAIL, PF_WHEN, .ip = "2001:db8::7", .login = "nobody@hosting.test",
		  .svc = SG_SVC_OTHER },
		{ DV "auth-worker(1234): Info: conn unix:auth-worker (pid=1233,uid=111): "
		     "auth-worker<1>: pam(shopuser,203.0.113.201,<mUq2GQbP>): pam_authenticate() "
		     "failed: Authentication failure (Password mismatch?)",
		  SG_MEV_AUTH_FAIL, REF, .ip = "203.0.113.201", .login = "shopuser",
		  .svc = SG_SVC_OTHER },
		/* Dovecot 1.x through syslog. */
		{ DV "web1 dovecot[442]: dovecot: auth(default): pam(account@hosting.test,"
		     "198.51.100.30): pam_authenticate() failed: User not known to the underlying "
		     "authentication module",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.30", .login = "account@hosting.test",
		  .svc = SG_SVC_OTHER },
		/* log_timestamp = "%Y-%m-%d %H:%M:%S ". */
		{ EX
		  "auth-worker(7): Info: pam(webmaster,198.51.100.31): pam_authenticate() failed: "
		  "Authentication failure (password mismatch?)",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.31", .login = "webmaster",
		  .svc = SG_SVC_OTHER },
		/* A login may hold commas; the address is the last field before the session. */
		{ DV
		  "auth: Info: passwd-file(a,b@hosting.test,198.51.100.32,<s1>): Password mismatch",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.32", .login = "a,b@hosting.test",
		  .svc = SG_SVC_OTHER },
		{ DV "auth: Info: passwd-file(victim@hosting.test,not-an-ip): Password mismatch",
		  SG_MEV_AUTH_FAIL, REF, .login = "victim@hosting.test", .svc = SG_SVC_OTHER },
		{ DV
		  "web1 dovecot[901]: imap-login: Disconnected (auth failed, 1 attempts in 2 "
		  "secs): "
		  "user=<victim@hosting.test>, method=PLAIN, rip=203.0.113.201, lip=198.51.100.1, "
		  "TLS, session=<c0Y3mGQb1sTLcXHJ>",
		  SG_MEV_AUTH_FAIL, REF, .ip = "203.0.113.201", .login = "victim@hosting.test",
		  .svc = SG_SVC_IMAP },
		{ DV
		  "pop3-login: Info: Aborted login (auth failed, 3 attempts in 12 secs): "
		  "user=<admin@hosting.test>, method=PLAIN, rip=2001:db8:ff::7, lip=198.51.100.1, "
		  "session=<9mUq2GQbPNEgAQ24>",
		  SG_MEV_AUTH_FAIL, REF, .ip = "2001:db8:ff::7", .login = "admin@hosting.test",
		  .svc = SG_SVC_POP3 },
		{ DV "submission-login: Info: Login aborted: Connection closed (auth failed, 3 "
		     "attempts "
		     "in 9 secs) (auth_failed): user=<victim@hosting.test>, method=LOGIN, "
		     "rip=2001:db8::10, lip=2001:db8::1, TLS, session=<4k2LQ9dX>",
		  SG_MEV_AUTH_FAIL, REF, .ip = "2001:db8::10", .login = "victim@hosting.test",
		  .svc = SG_SVC_SUBMISSION },
		/* One line is one failure, whatever count it claims ("3 attempts" above too). */
		{ DV "imap-login: Info: Disconnected (auth failed, 1234567 attempts in 2 secs): "
		     "user=<v@h.test>, method=PLAIN, rip=198.51.100.34, lip=198.51.100.1",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.34", .login = "v@h.test",
		  .svc = SG_SVC_IMAP },
		{ DV "web1 dovecot: managesieve-login: Disconnected (auth failed, 1 attempts in 2 "
		     "secs): user=<victim@hosting.test>, method=PLAIN, rip=198.51.100.33, "
		     "lip=198.51.100.1",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.33", .login = "victim@hosting.test",
		  .svc = SG_SVC_OTHER },
		{ DV "imap-login: Info: Disconnected (auth failed, 1 attempts in 8 secs): "
		     "method=PLAIN, "
		     "rip=198.51.100.34, lip=198.51.100.1, TLS: Disconnected",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.34", .svc = SG_SVC_IMAP },
		/* The user name is the client's; the last ", rip=" is Dovecot's. */
		{ DV
		  "imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): "
		  "user=<x>, rip=203.0.113.9>, method=PLAIN, rip=198.51.100.35, lip=198.51.100.1",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.35", .login = "x>, rip=203.0.113.9",
		  .svc = SG_SVC_IMAP },
		{ DV "imap-login: Info: Disconnected (no auth attempts in 0 secs): user=<>, "
		     "rip=203.0.113.50, lip=198.51.100.1, session=<q1W2e3R4>",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* 2.4: the request in the service's word. */
		{ DV "auth(victim@hosting.test,198.51.100.40,sasl:plain)<Hx9Ab12Q>: Info: "
		     "passwd-file: Password mismatch",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.40", .login = "victim@hosting.test",
		  .svc = SG_SVC_OTHER },
		{ DV "web1 dovecot[901]: auth(?,198.51.100.41,sasl:login)<Kq1>: unknown user",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.41", .svc = SG_SVC_OTHER },
		{ DV "auth(?,198.51.100.41,sasl:oauthbearer): Info: sasl(oauthbearer): Invalid "
		     "gs2-header in request",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* LDAP's bind, with an empty trailing field. */
		{ DV "auth: Info: ldap(dog,198.51.100.42,): invalid credentials", SG_MEV_AUTH_FAIL,
		  REF, .ip = "198.51.100.42", .login = "dog", .svc = SG_SVC_OTHER },
		/* A proxy's backend refused the password. */
		{ DV
		  "web1 dovecot: imap-login: Disconnected (proxy dest auth failed): "
		  "user=<victim@hosting.test>, method=PLAIN, rip=198.51.100.43, lip=198.51.100.1",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.43", .login = "victim@hosting.test",
		  .svc = SG_SVC_IMAP },
		/* PAM's own line: the address only where both logins agree around it. */
		{ DV "web1 auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 "
		     "euid=0 tty=dovecot ruser=shopuser rhost=198.51.100.44  user=shopuser",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.44", .login = "shopuser",
		  .svc = SG_SVC_OTHER },
		{ DV "web1 auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 "
		     "euid=0 tty=dovecot ruser=a rhost=6.6.6.6 rhost=198.51.100.45  user=a "
		     "rhost=6.6.6.6",
		  SG_MEV_AUTH_FAIL, REF, .ip = "198.51.100.45", .login = "a rhost=6.6.6.6",
		  .svc = SG_SVC_OTHER },
		{ "@400000006925e8a50a1b2c3d dovecot-auth: pam_unix(dovecot:auth): authentication "
		  "failure; logname= uid=0 euid=0 tty=dovecot ruser=rhost=6.6.6.6 "
		  "rhost=198.51.100.46",
		  /* 0x6925e8a5 - 10: TAI is taken as UTC + 10 s, as tai64nlocal does. */
		  SG_MEV_AUTH_FAIL, 1764092059, .ip = "198.51.100.46", .login = "rhost=6.6.6.6",
		  .svc = SG_SVC_OTHER },
		{ DV "imap-login: Info: Login: user=<victim@hosting.test>, method=PLAIN, "
		     "rip=198.51.100.10, lip=198.51.100.1, mpid=2311, TLS, session=<aB3dE5gH>",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ DV "auth: Error: passwd-file /etc/dovecot/users: User victim@hosting.test is "
		     "missing "
		     "password",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ DV "imap(victim@hosting.test)<2311><aB3dE5gH>: Info: Logged out in=120 out=1093",
		  SG_MEV_NONE, REF, .qid = NULL },
		/* Postfix's and Exim's lines are not Dovecot's, even when they mention it. */
		{ DV "web1 postfix/smtpd[1]: warning: unknown[203.0.113.200]: SASL LOGIN "
		     "authentication "
		     "failed: UGFzc3dvcmQ6",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ EX "dovecot_plain authenticator failed for (x) [203.0.113.200]:1: 535 Incorrect "
		     "authentication data",
		  SG_MEV_NONE, REF, .qid = NULL },
	};

	expect_rows(sg_mta_parse_dovecot, rows, ARRAY_SIZE(rows));
}

/* sg_mta_parse: Dovecot's lines in any log, the rest by the log's MTA. */
static void test_dispatch(void **state)
{
	static const struct {
		enum sg_mta_type t;
		const char *line;
		enum sg_mta_event ev;
	} rows[] = {
		{ SG_MTA_POSTFIX, PF "postfix/qmgr[1187]: 4F2A81C0D2: removed", SG_MEV_DONE },
		{ SG_MTA_POSTFIX,
		  DV "web1 dovecot[901]: auth: passwd-file(v@hosting.test,198.51.100.10): "
		     "Password mismatch",
		  SG_MEV_AUTH_FAIL },
		{ SG_MTA_POSTFIX, EX "1rABcD-0003Xy-1a Completed", SG_MEV_NONE },
		{ SG_MTA_EXIM, EX "1rABcD-0003Xy-1a Completed", SG_MEV_DONE },
		{ SG_MTA_EXIM,
		  DV "imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): "
		     "user=<v@hosting.test>, method=PLAIN, rip=198.51.100.10",
		  SG_MEV_AUTH_FAIL },
		{ SG_MTA_EXIM, PF "postfix/qmgr[1187]: 4F2A81C0D2: removed", SG_MEV_NONE },
		{ SG_MTA_NONE, PF "postfix/qmgr[1187]: 4F2A81C0D2: removed", SG_MEV_NONE },
		{ SG_MTA_NONE,
		  DV "pop3-login: Info: Aborted login (auth failed, 1 attempts in 4 secs): "
		     "user=<shopuser>, method=PLAIN, rip=203.0.113.201",
		  SG_MEV_AUTH_FAIL },
	};
	struct sg_mta_rec r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		enum sg_mta_event ev =
			sg_mta_parse(rows[i].t, rows[i].line, strlen(rows[i].line), REF, &r);

		if (ev != rows[i].ev)
			fail_msg("row %zu: %s, not %s", i, sg_mta_event_names[ev],
				 sg_mta_event_names[rows[i].ev]);
		assert_sane(&r, ev);
	}
	assert_string_equal(sg_mta_event_names[SG_MEV_NONE], "none");
	assert_string_equal(sg_mta_event_names[SG_MEV_AUTH_FAIL], "auth_fail");
	assert_string_equal(sg_mta_event_names[SG_MEV_HOLD], "hold");
	assert_string_equal(sg_mta_outcome_names[SG_OUT_BOUNCED], "bounced");
	assert_string_equal(sg_mta_type_names[SG_MTA_EXIM], "exim");
}

struct time_row {
	const char *line;
	time_t ref;
	size_t len; /* 0: not a timestamp */
	time_t when;
};

static void expect_times(const struct time_row *rows, size_t n)
{
	size_t i, len;
	char *buf;
	time_t when;

	for (i = 0; i < n; i++) {
		buf = malloc(strlen(rows[i].line) + 1);
		assert_non_null(buf);
		memcpy(buf, rows[i].line, strlen(rows[i].line));
		when = 42;
		len = sg_mta_parse_time(buf, strlen(rows[i].line), rows[i].ref, &when);
		free(buf);
		if (len != rows[i].len || when != rows[i].when)
			fail_msg("row %zu: %zu, %lld, not %zu, %lld: \"%s\"", i, len,
				 (long long)when, rows[i].len, (long long)rows[i].when,
				 rows[i].line);
	}
}

static void test_time(void **state)
{
	static const struct time_row rows[] = {
		{ "Nov 23 23:24:01 web1 postfix", REF, 16, REF },
		{ "Nov 23 23:24:01", REF, 15, REF },
		{ "Nov  3 01:02:03 web1", REF, 16, 1793667723 },
		{ "Nov 3 01:02:03 web1", REF, 15, 1793667723 },
		/* December read in January stays in December's year, and the other way round. */
		{ "Dec 31 23:59:59 web1", 1798761610, 16, 1798761599 },
		{ "Jan  1 00:00:01 web1", 1798761540, 16, 1798761601 },
		/* Half a year either way: the nearer. */
		{ "Dec  1 12:00:00 web1", 1780272000, 16, 1764590400 },
		/* 29 February: in 2028 read on 2027-12-20; no leap year within a year of
		   2027-01-10. */
		{ "Feb 29 12:00:00 web1", 1829260800, 16, 1835438400 },
		{ "Feb 29 12:00:00 web1", 1799539200, 0, 0 },
		{ "2026-11-23T23:24:01.123456+09:00 web1", REF, 33, 1795443841 },
		{ "2026-11-23T23:24:01-05:00 web1", REF, 26, 1795494241 },
		{ "2026-11-23T23:24:01Z web1", REF, 21, REF },
		{ "2026-11-23t23:24:01.5z", REF, 22, REF },
		{ "2026-11-23T23:24:01 web1", REF, 20, REF },
		{ "2026-12-31T23:59:60Z x", REF, 21, 1798761600 },
		{ "1970-01-01T00:00:00Z x", REF, 21, 0 },
		{ "2026-11-23 23:24:01 1rABcD-0003Xy-1a", REF, 20, REF },
		{ "2026-11-23 23:24:01.123 +0900 1rAB", REF, 30, 1795443841 },
		{ "2026-11-23 23:24:01 -0330 1rAB", REF, 26, 1795488841 },
		/* "+09001" is not an offset, so the stamp ends before it. */
		{ "2026-11-23 23:24:01 +09001 x", REF, 20, REF },
		{ "2026-11-23 23:24:01 +09", REF, 20, REF },
		{ "Nov 31 00:00:00 web1", REF, 0, 0 },
		{ "Nov 23 24:00:00 web1", REF, 0, 0 },
		{ "Nov 23 23:60:00 web1", REF, 0, 0 },
		{ "Foo 23 23:24:01 web1", REF, 0, 0 },
		{ "nov 23 23:24:01 web1", REF, 0, 0 },
		{ "Nov 23 23:24:01x", REF, 0, 0 },
		{ "Nov 23 23:24", REF, 0, 0 },
		{ "2026-13-01 00:00:00 x", REF, 0, 0 },
		{ "2026-02-29 00:00:00 x", REF, 0, 0 },
		{ "2026-11-23T23:24:61Z x", REF, 0, 0 },
		{ "2026-11-23X23:24:01 x", REF, 0, 0 },
		{ "2026-11-23 23:24:01x", REF, 0, 0 },
		{ "2026-11-23T23:24:01+9:00 x", REF, 0, 0 },
		{ "2026-11-23T23:24:01.Z x", REF, 0, 0 },
		{ "1969-12-31 23:59:59 x", REF, 0, 0 },
		{ "", REF, 0, 0 },
		{ "23:24:01", REF, 0, 0 },
	};

	expect_times(rows, ARRAY_SIZE(rows));
}

/* Without an offset the stamp is local time; with one, the zone does not matter. */
static void test_time_zone(void **state)
{
	static const struct time_row rows[] = {
		{ "Nov 23 23:24:01 web1", REF, 16, 1795443841 },
		{ "2026-11-23 23:24:01 x", REF, 20, 1795443841 },
		{ "2026-11-23T23:24:01 x", REF, 20, 1795443841 },
		{ "2026-11-23T23:24:01Z x", REF, 21, REF },
		{ "2026-11-23 23:24:01 +0000 x", REF, 26, REF },
	};

	setenv("TZ", "JST-9", 1);
	tzset();
	expect_times(rows, ARRAY_SIZE(rows));
	setenv("TZ", "UTC", 1);
	tzset();
}

/* Every prefix of these lines, each in a buffer of its exact size: no read past it. */
static void test_truncated(void **state)
{
	static const struct {
		parser_fn fn;
		const char *line;
	} lines[] = {
		{ sg_mta_parse_postfix, PF "postfix/submission/smtpd[2211]: 4F2A81C0D2: "
					   "client=unknown[198.51.100.10], sasl_method=PLAIN, "
					   "sasl_username=victim@hosting.test" },
		{ sg_mta_parse_postfix,
		  PF "postfix/smtp[2216]: 4F2A81C0D2: to=<alice@example.com>, "
		     "orig_to=<a@example.com>, relay=mx1.example.com"
		     "[203.0.113.25]:25, delay=1.1, delays=0.04/0.01/0.61/0.44, "
		     "dsn=5.1.1, status=bounced (host said: 550 5.1.1 no)" },
		{ sg_mta_parse_postfix, DV "mail postfix/cleanup[2214]: 1D7B51C0E8: hold: header "
					   "Subject: x from unknown[203.0.113.77]; from=<v@h.test> "
					   "to=<p@example.net> proto=ESMTP helo=<h>" },
		{ sg_mta_parse_postfix,
		  PF "postfix/smtpd[2250]: warning: unknown[2001:db8::1]: SASL "
		     "PLAIN authentication failed: , sasl_username=v@h.test" },
		{ sg_mta_parse_postfix,
		  PF "postfix/pickup[1190]: 2E8C61C0F9: uid=1001 from=<shopuser>" },
		{ sg_mta_parse_exim,
		  "2026-11-23 23:30:05.118 +0900 [12] 1rADxY-00000000Pq4-0AbC <= "
		  "v@h.test H=n (h) [198.51.100.10]:52011 P=esmtpsa "
		  "A=dovecot_plain:v@h.test S=1 id=x" },
		{ sg_mta_parse_exim,
		  EX "1rABcD-0003Xy-1a ** r@example.com <r@example.com> R=dnslookup "
		     "T=remote_smtp H=mx [203.0.113.25]: SMTP error: 550-5.1.1 no" },
		{ sg_mta_parse_exim, EX "plain authenticator failed for n (h) [203.0.113.9]:4 "
					"I=[198.51.100.1]:587: 535 Incorrect authentication data "
					"(set_id=v@h.test)" },
		{ sg_mta_parse_dovecot, DV "web1 dovecot[9]: auth-worker(3): conn unix:auth-worker "
					   "(pid=1,uid=2): auth-worker<1>: pam(v@h.test,"
					   "2001:db8::1,<s>): pam_authenticate() failed: x" },
		{ sg_mta_parse_dovecot,
		  DV "imap-login: Info: Disconnected (auth failed, 1 attempts in "
		     "2 secs): user=<v@h.test>, method=PLAIN, rip=198.51.100.1, "
		     "lip=198.51.100.2, session=<s>" },
	};
	struct sg_mta_rec r;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		for (n = 0; n <= strlen(lines[i].line); n++)
			assert_sane(&r, parse_exact(lines[i].fn, lines[i].line, n, REF, &r));
	assert_sane(&r, sg_mta_parse_postfix(NULL, 0, REF, &r));
	assert_int_equal(r.ev, SG_MEV_NONE);
	assert_int_equal(r.when, 0);
}

/* Lines cut or broken at the places that matter. */
static void test_broken(void **state)
{
	static const struct want pf[] = {
		{ PF "postfix/smtpd[2211]: 4F2A81C0D2: client=unknown[198.51.100.10", SG_MEV_SUBMIT,
		  PF_WHEN, .qid = "4F2A81C0D2" },
		{ PF "postfix/smtpd[2211]: 4F2A81C0D2: client=unknown198.51.100.10]", SG_MEV_SUBMIT,
		  PF_WHEN, .qid = "4F2A81C0D2" },
		{ PF "postfix/smtp[2216]: 4F2A81C0D2: to=<alice@example.com", SG_MEV_NONE, PF_WHEN,
		  .qid = NULL },
		{ PF
		  "postfix/smtp[2216]: 4F2A81C0D2: to=<alice@example.com>, relay=none, dsn=5.1.1, "
		  "status=",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF "postfix/smtp[2216]: 4F2A81C0D2: to=<alice@example.com>, status=sent",
		  SG_MEV_DELIVERY, PF_WHEN, .qid = "4F2A81C0D2", .rcpt = "alice@example.com",
		  .out = SG_OUT_SENT },
		{ PF
		  "postfix/qmgr[1187]: 4F2A81C0D2: from=<victim@hosting.test>, size=2213, nrcpt=",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF
		  "postfix/qmgr[1187]: 4F2A81C0D2: from=<v@h.test>, size=1, nrcpt=99999999999 (q)",
		  SG_MEV_NONE, PF_WHEN, .qid = NULL },
		{ PF "postfix/pickup[1190]: 2E8C61C0F9: uid=4294967296 from=<x>", SG_MEV_NONE,
		  PF_WHEN, .qid = NULL },
		{ PF "postfix/pickup[1190]: 2E8C61C0F9: uid=-1 from=<x>", SG_MEV_NONE, PF_WHEN,
		  .qid = NULL },
		{ PF "postfix/pickup[1190]: 2E8C61C0F9: uid=4294967295 from=<x>", SG_MEV_LOCAL,
		  PF_WHEN, .qid = "2E8C61C0F9", UID(4294967295LL), .sender = "x" },
		{ PF
		  "postfix/smtpd[2250]: warning: unknown198.51.100.10: SASL LOGIN authentication "
		  "failed: x",
		  SG_MEV_AUTH_FAIL, PF_WHEN, .svc = SG_SVC_SMTP },
		{ PF "postfix/submission/smtpd[2245]: 0C6A41C0D7: hold: RCPT from "
		     "unknown[198.51.100.10]",
		  SG_MEV_HOLD, PF_WHEN, .qid = "0C6A41C0D7" },
		{ PF "postfix/smtpd[2211]: 4F2A81C0D2:client=unknown[198.51.100.10]", SG_MEV_SUBMIT,
		  PF_WHEN, .qid = "4F2A81C0D2", .ip = "198.51.100.10" },
		{ PF "postfix/smtpd[22x1]: 4F2A81C0D2: client=unknown[198.51.100.10]", SG_MEV_NONE,
		  PF_WHEN, .qid = NULL },
		{ PF "postfix/: 4F2A81C0D2: client=unknown[198.51.100.10]", SG_MEV_NONE, PF_WHEN,
		  .qid = NULL },
		{ "Nov 23 23:24:01 web1", SG_MEV_NONE, REF, .qid = NULL },
		/* No timestamp: when is 0, the rest still reads. */
		{ "web1 postfix/qmgr[1187]: 4F2A81C0D2: removed", SG_MEV_DONE, 0,
		  .qid = "4F2A81C0D2" },
	};
	static const struct want ex[] = {
		/* Cut before S=, or a HELO of two words: not Exim's own form, nothing taken. */
		{ EX "1rABcD-0003Xy-1a <= v@h.test H=(helo) [198.51.100.10", SG_MEV_NONE, REF,
		  .qid = NULL },
		{ EX "1rABcD-0003Xy-1a <= v@h.test H=(helo [198.51.100.10] P=esmtpa", SG_MEV_NONE,
		  REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a <= v@h.test P=esmtpa", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a <=", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a ** ", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a ** : Unrouteable address", SG_MEV_NONE, REF, .qid = NULL },
		{ EX "1rABcD-0003Xy-1a ** r@d R=dnslookup T=remote_smtp: 550 5.1", SG_MEV_DELIVERY,
		  REF, .qid = "1rABcD-0003Xy-1a", .rcpt = "r@d", .out = SG_OUT_BOUNCED,
		  .dsn = "5.0.0", .relay = "remote_smtp" },
		{ EX "1rABcD-0003Xy-1a ** r@d: 550 4.1.1 mismatched class", SG_MEV_DELIVERY, REF,
		  .qid = "1rABcD-0003Xy-1a", .rcpt = "r@d", .out = SG_OUT_BOUNCED, .dsn = "5.0.0" },
		{ EX "1rABcD-0003Xy-1a Completedx", SG_MEV_NONE, REF, .qid = NULL },
		/* No address where Exim writes one: not its form. */
		{ EX "plain authenticator failed for (h) [203.0.113.9:4: 535 x", SG_MEV_NONE, REF,
		  .qid = NULL },
		{ EX "plain authenticator failed for (h) [203.0.113.9]:4", SG_MEV_NONE, REF,
		  .qid = NULL },
		{ EX "plain authenticator failed for (h) [203.0.113.9]:4: 535 x (set_id=v@h.test",
		  SG_MEV_AUTH_FAIL, REF, .ip = "203.0.113.9", .login = "v@h.test",
		  .svc = SG_SVC_SMTP },
	};
	static const struct want dv[] = {
		{ DV "imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): "
		     "user=<victim@hosting.test",
		  SG_MEV_AUTH_FAIL, REF, .svc = SG_SVC_IMAP },
		{ DV "imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): "
		     "user=<v@h.test>, method=PLAIN, session=<abc>",
		  SG_MEV_AUTH_FAIL, REF, .login = "v@h.test", .svc = SG_SVC_IMAP },
		{ DV "auth: Info: passwd-file(victim@hosting.test,198.51.100.10", SG_MEV_NONE, REF,
		  .qid = NULL },
		{ DV "auth: Info: passwd-file(victim@hosting.test): unknown user", SG_MEV_AUTH_FAIL,
		  REF, .login = "victim@hosting.test", .svc = SG_SVC_OTHER },
		{ DV "auth: Info: (victim@hosting.test,198.51.100.10): Password mismatch",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ DV
		  "web1 dovecot[901] auth: passwd-file(v@h.test,198.51.100.10): Password mismatch",
		  SG_MEV_NONE, REF, .qid = NULL },
		{ DV "web1 dovecot[901]:", SG_MEV_NONE, REF, .qid = NULL },
	};

	expect_rows(sg_mta_parse_postfix, pf, ARRAY_SIZE(pf));
	expect_rows(sg_mta_parse_exim, ex, ARRAY_SIZE(ex));
	expect_rows(sg_mta_parse_dovecot, dv, ARRAY_SIZE(dv));
}

/* A run of c, n long. */
static char *run(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Fields longer than the record's arrays are cut to fit; ids that long are refused. */
static void test_overlong(void **state)
{
	char *a = run('a', 1000), *line = malloc(4096);
	struct sg_mta_rec r;

	assert_non_null(line);
	snprintf(line, 4096,
		 PF "postfix/smtpd[1]: 4F2A81C0D2: client=unknown[198.51.100.10], "
		    "sasl_method=PLAIN, sasl_username=%s@hosting.test",
		 a);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
			 SG_MEV_SUBMIT);
	/* A login of 1013 bytes is whole; one past SG_MTA_LOGIN_MAX is cut, see logline.h. */
	assert_int_equal(strlen(r.login), 1000 + strlen("@hosting.test"));
	assert_memory_equal(r.login, a, 1000);
	snprintf(line, 4096,
		 PF "postfix/smtpd[1]: 4F2A81C0D2: client=unknown[198.51.100.10], "
		    "sasl_method=PLAIN, sasl_username=%s%s@hosting.test",
		 a, a);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
			 SG_MEV_SUBMIT);
	assert_int_equal(strlen(r.login), SG_MTA_LOGIN_MAX - 1);
	assert_memory_equal(r.login, a, 1000);

	snprintf(line, 4096,
		 PF "postfix/smtp[1]: 4F2A81C0D2: to=<%s@example.com>, relay=%s[203.0.113.25]:25, "
		    "delay=1, delays=0/0/0/1, dsn=5.1.1111111111111111, status=bounced (x)",
		 a, a);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
			 SG_MEV_DELIVERY);
	assert_int_equal(strlen(r.rcpt), SG_MTA_ADDR_MAX - 1);
	assert_int_equal(strlen(r.relay), SG_MTA_RELAY_MAX - 1);
	assert_string_equal(r.dsn, "5.1.1111111");
	assert_int_equal(r.outcome, SG_OUT_BOUNCED);

	snprintf(line, 4096, EX "1rABcD-0003Xy-1a <= %s@h.test U=%s P=local S=1", a, a);
	assert_int_equal(parse_exact(sg_mta_parse_exim, line, strlen(line), REF, &r), SG_MEV_LOCAL);
	assert_int_equal(strlen(r.sender), SG_MTA_ADDR_MAX - 1);
	assert_int_equal(strlen(r.user), SG_MTA_USER_MAX - 1);

	/* An "address" too long to be one is none. */
	snprintf(line, 4096, PF "postfix/smtpd[1]: 4F2A81C0D2: client=unknown[2001:db8::%.60s]", a);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
			 SG_MEV_SUBMIT);
	assert_string_equal(r.client_ip, "");

	/* Queue ids: 31 characters fit, 32 do not. */
	snprintf(line, 4096, PF "postfix/qmgr[1]: 4%.30s: removed", a);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
			 SG_MEV_DONE);
	assert_int_equal(strlen(r.qid), SG_MTA_QID_MAX - 1);
	snprintf(line, 4096, PF "postfix/qmgr[1]: 4%.31s: removed", a);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
			 SG_MEV_NONE);
	free(line);
	free(a);
}

/* A NUL ends the line (as it ended the daemon's string); NULs before a line are skipped. */
static void test_nul(void **state)
{
	static const char inside[] =
		PF "postfix/smtpd[1]: 4F2A81C0D2: client=unknown[198.51.100.10]"
		   ", sasl_method=PLAIN, sasl_username=vic\0tim@hosting.test";
	static const char before[] = "\0\0\0" PF "postfix/qmgr[1]: 4F2A81C0D2: removed";
	static const char stamp[] = "Nov 23 23:2\0:01 web1 postfix/qmgr[1]: 4F2A81C0D2: removed";
	static const char nuls[64] = { 0 };
	struct sg_mta_rec r;

	assert_int_equal(parse_exact(sg_mta_parse_postfix, inside, sizeof(inside) - 1, REF, &r),
			 SG_MEV_SUBMIT);
	assert_string_equal(r.login, "vic");
	assert_int_equal(parse_exact(sg_mta_parse_postfix, before, sizeof(before) - 1, REF, &r),
			 SG_MEV_DONE);
	assert_string_equal(r.qid, "4F2A81C0D2");
	assert_int_equal(r.when, PF_WHEN);
	assert_int_equal(parse_exact(sg_mta_parse_postfix, stamp, sizeof(stamp) - 1, REF, &r),
			 SG_MEV_NONE);
	assert_int_equal(r.when, 0);
	assert_int_equal(parse_exact(parse_pf_any, nuls, sizeof(nuls), REF, &r), SG_MEV_NONE);
	assert_int_equal(parse_exact(parse_ex_any, nuls, sizeof(nuls), REF, &r), SG_MEV_NONE);
}

/* The readers' newline, or a CRLF, changes nothing. */
static void test_newline(void **state)
{
	static const char *const ends[] = { "", "\n", "\r\n" };
	struct sg_mta_rec r;
	char line[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ends); i++) {
		snprintf(line, sizeof(line), "%s%s", PF "postfix/qmgr[1187]: 4F2A81C0D2: removed",
			 ends[i]);
		assert_int_equal(parse_exact(sg_mta_parse_postfix, line, strlen(line), REF, &r),
				 SG_MEV_DONE);
		snprintf(line, sizeof(line), "%s%s", EX "1rABcD-0003Xy-1a Completed", ends[i]);
		assert_int_equal(parse_exact(sg_mta_parse_exim, line, strlen(line), REF, &r),
				 SG_MEV_DONE);
		snprintf(line, sizeof(line), "%s%s",
			 DV "auth: Info: passwd-file(v@h.test,198.51.100.10): unknown user",
			 ends[i]);
		assert_int_equal(parse_exact(sg_mta_parse_dovecot, line, strlen(line), REF, &r),
				 SG_MEV_AUTH_FAIL);
		assert_string_equal(r.client_ip, "198.51.100.10");
	}
}

/*
 * 1 MB lines built to make a careless parser quadratic (a search restarted
 * at every candidate) or to walk off the end: each must come back at once.
 */
static void test_megabyte(void **state)
{
	static const struct {
		parser_fn fn;
		const char *head, *unit, *tail;
		enum sg_mta_event ev;
	} rows[] = {
		{ sg_mta_parse_postfix, PF "postfix/smtp[1]: 4F2A81C0D2: to=<", "a",
		  ">, relay=none, dsn=5.1.1, status=bounced (x)", SG_MEV_DELIVERY },
		{ sg_mta_parse_postfix, PF "postfix/smtp[1]: 4F2A81C0D2: to=<", ">x", "",
		  SG_MEV_NONE },
		{ sg_mta_parse_postfix, PF "postfix/cleanup[1]: 4F2A81C0D2: hold: ", " from [",
		  "; from=<> to=<x>", SG_MEV_HOLD },
		{ sg_mta_parse_postfix, PF "postfix/smtpd[1]: warning: ", "[", ": SASL x",
		  SG_MEV_NONE },
		{ parse_pf_any, PF "postfix/smtpd[1]: 4F2A81C0D2: client=", "[1.", "",
		  SG_MEV_SUBMIT },
		{ sg_mta_parse_exim, EX "1rABcD-0003Xy-1a <= x H=", "(", "", SG_MEV_NONE },
		{ sg_mta_parse_exim, EX "1rABcD-0003Xy-1a ** r@d", " R=x", "", SG_MEV_DELIVERY },
		{ sg_mta_parse_exim, EX "1rABcD-0003Xy-1a == r@d R=x ", "550 5.", "",
		  SG_MEV_DELIVERY },
		{ sg_mta_parse_exim, EX "a authenticator failed for ", ": 5", "", SG_MEV_NONE },
		{ sg_mta_parse_dovecot, DV "auth: :", "a(", "): Password mismatch", SG_MEV_NONE },
		{ sg_mta_parse_dovecot, DV "auth: pam(", ",", "): Password mismatch",
		  SG_MEV_AUTH_FAIL },
		{ sg_mta_parse_dovecot, DV "imap-login: (auth failed ", ", rip=", "",
		  SG_MEV_AUTH_FAIL },
		{ parse_none, "", " ", "", SG_MEV_NONE },
	};
	const size_t size = 1 << 20;
	char *line = malloc(size);
	struct sg_mta_rec r;
	size_t i, n, u;
	clock_t t0 = clock();

	assert_non_null(line);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		n = strlen(rows[i].head);
		memcpy(line, rows[i].head, n);
		u = strlen(rows[i].unit);
		while (n + u + strlen(rows[i].tail) <= size) {
			memcpy(line + n, rows[i].unit, u);
			n += u;
		}
		memcpy(line + n, rows[i].tail, strlen(rows[i].tail));
		n += strlen(rows[i].tail);
		if (parse_exact(rows[i].fn, line, n, REF, &r) != rows[i].ev)
			fail_msg("row %zu: %s", i, sg_mta_event_names[r.ev]);
		assert_sane(&r, r.ev);
	}
	/* Linear parsers take milliseconds here; quadratic ones, hours. */
	assert_true(clock() - t0 < 20 * CLOCKS_PER_SEC);
	free(line);
}

/* A fixture log and the number of lines of each event it gives, counted by hand. */
struct fixture {
	const char *name;
	enum sg_mta_type type;
	time_t ref;
	unsigned int lines, count[SG_MTA_EVENT_KINDS]; /* none, submit, local, queued, delivery,
						      done, auth_fail, hold */
};

static const struct fixture fixture_logs[] = {
	{ "postfix.log", SG_MTA_POSTFIX, REF, 83, { 26, 7, 2, 11, 20, 9, 6, 2 } },
	{ "postfix-maillog.log", SG_MTA_POSTFIX, REF, 29, { 6, 3, 1, 5, 8, 5, 1, 0 } },
	{ "exim-mainlog.log", SG_MTA_EXIM, REF, 39, { 5, 5, 3, 0, 15, 6, 3, 2 } },
	{ "exim497-mainlog.log", SG_MTA_EXIM, REF, 6, { 1, 1, 0, 0, 2, 1, 1, 0 } },
	{ "postfix-real.log", SG_MTA_POSTFIX, REF, 80, { 38, 6, 1, 10, 11, 9, 3, 2 } },
	{ "exim-real.log", SG_MTA_EXIM, REF, 70, { 26, 4, 7, 0, 14, 11, 2, 6 } },
	{ "dovecot.log", SG_MTA_NONE, REF, 15, { 7, 0, 0, 0, 0, 0, 8, 0 } },
	{ "dovecot-real.log", SG_MTA_NONE, REF, 53, { 14, 0, 0, 0, 0, 0, 39, 0 } },
};

static void count_fixture(const struct fixture *f)
{
	unsigned int count[SG_MTA_EVENT_KINDS] = { 0 }, lines = 0, ev;
	char path[1200], *line = NULL;
	struct sg_mta_rec r;
	size_t cap = 0;
	ssize_t n;
	FILE *in;

	snprintf(path, sizeof(path), "%s/%s", fixtures, f->name);
	in = fopen(path, "r");
	if (!in)
		fail_msg("%s: cannot open", path);
	while ((n = getline(&line, &cap, in)) > 0) {
		ev = parse_exact(f->type == SG_MTA_POSTFIX ? parse_pf_any
				 : f->type == SG_MTA_EXIM  ? parse_ex_any
							   : parse_none,
				 line, (size_t)n, f->ref, &r);
		assert_sane(&r, ev);
		if (ev != SG_MEV_NONE && !r.when)
			fail_msg("%s:%u: no time", f->name, lines + 1);
		count[ev]++;
		lines++;
	}
	free(line);
	fclose(in);
	assert_int_equal(lines, f->lines);
	for (ev = 0; ev <= SG_MEV_HOLD; ev++)
		if (count[ev] != f->count[ev])
			fail_msg("%s: %u %s lines, not %u", f->name, count[ev],
				 sg_mta_event_names[ev], f->count[ev]);
}

/* Every fixture log, each line's event counted; a new .log without a row here fails. */
static void test_fixture_counts(void **state)
{
	struct dirent *d;
	size_t i, n;
	DIR *dir;

	for (i = 0; i < ARRAY_SIZE(fixture_logs); i++)
		count_fixture(&fixture_logs[i]);
	dir = opendir(fixtures);
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		n = strlen(d->d_name);
		if (n < 5 || strcmp(d->d_name + n - 4, ".log"))
			continue;
		for (i = 0; i < ARRAY_SIZE(fixture_logs); i++)
			if (!strcmp(fixture_logs[i].name, d->d_name))
				break;
		if (i == ARRAY_SIZE(fixture_logs))
			fail_msg("%s/%s has no row in fixture_logs: count its events by hand and "
				 "add one",
				 fixtures, d->d_name);
	}
	closedir(dir);
}

/*
 * One annotated fixture of tests/unit/fixtures/authfail (see its README):
 * every log line has its "#> fail login=<L> ip=IP" or "#> none" and gives
 * exactly that; returns the failures.
 */
static unsigned int check_authfail(const char *name, parser_fn fn)
{
	char path[1200], want_login[512], want_ip[64], *line = NULL, *note = NULL, *p, *q;
	unsigned int fails = 0, no = 0;
	struct sg_mta_rec r;
	size_t cap = 0;
	ssize_t n;
	FILE *in;

	snprintf(path, sizeof(path), "%s/../authfail/%s", fixtures, name);
	in = fopen(path, "r");
	if (!in)
		fail_msg("%s: cannot open", path);
	while ((n = getline(&line, &cap, in)) > 0) {
		no++;
		if (!strncmp(line, "#> ", 3)) {
			free(note);
			note = strdup(line + 3);
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!note)
			fail_msg("%s:%u: a log line with no annotation", name, no);
		if (!strncmp(note, "none", 4)) {
			if (parse_exact(fn, line, (size_t)n, REF, &r) == SG_MEV_AUTH_FAIL)
				fail_msg("%s:%u: counted as a failure", name, no);
		} else {
			p = strstr(note, "login=<");
			q = p ? strstr(p, "> ip=") : NULL;
			if (strncmp(note, "fail ", 5) || !q)
				fail_msg("%s:%u: bad annotation %s", name, no, note);
			snprintf(want_login, sizeof(want_login), "%.*s", (int)(q - p - 7), p + 7);
			snprintf(want_ip, sizeof(want_ip), "%.*s", (int)strcspn(q + 5, "\n"),
				 q + 5);
			if (!strcmp(want_ip, "-"))
				want_ip[0] = '\0';
			if (parse_exact(fn, line, (size_t)n, REF, &r) != SG_MEV_AUTH_FAIL ||
			    strcmp(r.login, want_login) || strcmp(r.client_ip, want_ip) ||
			    r.attempts != 1)
				fail_msg("%s:%u: %s login <%s> ip %s attempts %u, not <%s> %s",
					 name, no, sg_mta_event_names[r.ev], r.login, r.client_ip,
					 r.attempts, want_login, want_ip);
			fails++;
		}
		free(note);
		note = NULL;
	}
	free(line);
	free(note);
	fclose(in);
	return fails;
}

static void test_authfail_fixtures(void **state)
{
	assert_int_equal(check_authfail("postfix.log", parse_pf_any), 6);
	assert_int_equal(check_authfail("exim.log", parse_ex_any), 5);
	assert_int_equal(check_authfail("dovecot.log", parse_pf_any), 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),	       cmocka_unit_test(test_exim),
		cmocka_unit_test(test_dovecot),	       cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_time),	       cmocka_unit_test(test_time_zone),
		cmocka_unit_test(test_truncated),      cmocka_unit_test(test_broken),
		cmocka_unit_test(test_overlong),       cmocka_unit_test(test_nul),
		cmocka_unit_test(test_newline),	       cmocka_unit_test(test_megabyte),
		cmocka_unit_test(test_fixture_counts), cmocka_unit_test(test_authfail_fixtures),
	};
	char src[] = __FILE__;

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(fixtures, sizeof(fixtures), "%s/fixtures/mta", dirname(src));
	return cmocka_run_group_tests_name("mtalog", tests, NULL, NULL);
}
