// SPDX-License-Identifier: GPL-2.0
/* The mail server's principals from log records: exact counts, windows, holds. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/mailstats.h"

#define T0 1763940000 /* a whole hour */

static struct sg_mta_rec rec(enum sg_mta_event ev, const char *qid)
{
	struct sg_mta_rec r = { .ev = ev, .uid = -1 };

	snprintf(r.qid, sizeof(r.qid), "%s", qid);
	return r;
}

/* An authenticated message from ip by login, then its sender and one delivery per rcpt. */
static void message(struct sg_mailstats *m, const char *qid, const char *login, const char *ip,
		    const char *const *rcpts, const enum sg_mta_outcome *outcomes, size_t n,
		    time_t t)
{
	struct sg_mta_rec r = rec(SG_MEV_SUBMIT, qid);
	size_t i;

	snprintf(r.login, sizeof(r.login), "%s", login);
	snprintf(r.client_ip, sizeof(r.client_ip), "%s", ip);
	assert_int_equal(sg_mailstats_add(m, &r, t, NULL), 0);
	r = rec(SG_MEV_QUEUED, qid);
	snprintf(r.sender, sizeof(r.sender), "%s", login);
	r.nrcpt = (__u32)n;
	sg_mailstats_add(m, &r, t, NULL);
	for (i = 0; i < n; i++) {
		r = rec(SG_MEV_DELIVERY, qid);
		snprintf(r.rcpt, sizeof(r.rcpt), "%s", rcpts[i]);
		r.outcome = outcomes[i];
		sg_mailstats_add(m, &r, t, NULL);
	}
}

static void test_account_windows(void **state)
{
	static const char *const rcpts[] = { "ok1@a.example", "dead@b.example", "x@c.example" };
	static const enum sg_mta_outcome out[] = { SG_OUT_SENT, SG_OUT_BOUNCED, SG_OUT_BOUNCED };
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mail_principal *p;
	struct sg_observation o;
	char qid[16];
	int i;

	/* 30 messages in 30 s from 3 addresses, each to 3 domains: 1 sent, 2 bounced. */
	for (i = 0; i < 30; i++) {
		snprintf(qid, sizeof(qid), "4AB%02dCDEF", i);
		message(m, qid, "victim@hosting.test",
			i % 3 == 0   ? "198.51.100.10"
			: i % 3 == 1 ? "198.51.100.11"
				     : "198.51.100.12",
			rcpts, out, 3, T0 + i);
	}
	p = sg_mailstats_get(m, "sasl:victim@hosting.test");
	assert_non_null(p);
	assert_int_equal(p->kind, SG_MAIL_KIND_SASL);
	assert_int_equal(p->t.messages, 30);
	assert_int_equal(p->t.recipients, 90);
	assert_int_equal(p->t.sent, 30);
	assert_int_equal(p->t.bounced, 60);
	assert_int_equal(p->n_senders, 1);
	assert_string_equal(p->senders[0], "victim@hosting.test");

	sg_mailstats_observe(p, T0 + 29, &o);
	assert_int_equal(o.total, 30);
	assert_int_equal(o.last_1m, 30);
	assert_int_equal(o.destinations_10m, 3);
	assert_int_equal(o.client_ips_1h, 3);
	assert_int_equal(o.delivered_10m, 90);
	assert_int_equal(o.bounced_10m, 60);
	assert_int_equal(o.bounces_in_1h, 0);

	/* A minute on, the last minute is empty; ten minutes on, outcomes and domains too. */
	sg_mailstats_observe(p, T0 + 29 + 60, &o);
	assert_int_equal(o.last_1m, 0);
	assert_int_equal(o.destinations_10m, 3);
	sg_mailstats_observe(p, T0 + 29 + 660, &o);
	assert_int_equal(o.destinations_10m, 0);
	assert_int_equal(o.delivered_10m, 0);
	assert_int_equal(o.client_ips_1h, 3);
	sg_mailstats_observe(p, T0 + 29 + 3600, &o);
	assert_int_equal(o.client_ips_1h, 0);
	assert_int_equal(o.total, 30);
	/* Two hours on, the per-minute slots of the first hour are empty again. */
	message(m, "4ABFFCDEF", "victim@hosting.test", "198.51.100.10", rcpts, out, 1, T0 + 7200);
	sg_mailstats_observe(p, T0 + 7200, &o);
	assert_int_equal(o.delivered_10m, 1);
	assert_int_equal(o.bounced_10m, 0);

	/* A failed login naming the account counts on it. */
	{
		struct sg_mta_rec f = rec(SG_MEV_AUTH_FAIL, "");

		strcpy(f.login, "victim@hosting.test");
		strcpy(f.client_ip, "198.51.100.13");
		f.service = SG_SVC_SMTP;
		f.attempts = 1;
		sg_mailstats_add(m, &f, T0 + 7201, NULL);
		assert_int_equal(p->t.auth_failures, 1);
		/* Dovecot's "3 attempts" line counts 3; its auth process's line repeats one. */
		f.service = SG_SVC_IMAP;
		f.attempts = 3;
		sg_mailstats_add(m, &f, T0 + 7202, NULL);
		f.service = SG_SVC_OTHER;
		f.attempts = 1;
		sg_mailstats_add(m, &f, T0 + 7202, NULL);
		assert_int_equal(p->t.auth_failures, 4);
	}
	sg_mailstats_free(m);
}

static void test_local_and_bounces_in(void **state)
{
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mta_rec r = rec(SG_MEV_LOCAL, "1A2B3C");
	struct sg_mail_principal *p;
	struct sg_observation o;
	char qid[16];
	int i;

	r.uid = 1001;
	strcpy(r.sender, "web@hosting.test");
	sg_mailstats_add(m, &r, T0, NULL);
	p = sg_mailstats_get(m, "local:1001");
	assert_non_null(p);
	assert_int_equal(p->kind, SG_MAIL_KIND_LOCAL);
	assert_int_equal(p->uid, 1001);
	assert_int_equal(p->t.messages, 1);

	/* 5 failure notices (null sender) delivered locally to info@: its bounce flood. */
	for (i = 0; i < 5; i++) {
		snprintf(qid, sizeof(qid), "9F%02d", i);
		r = rec(SG_MEV_SUBMIT, qid);
		strcpy(r.client_ip, "203.0.113.10");
		sg_mailstats_add(m, &r, T0 + i, NULL);
		r = rec(SG_MEV_QUEUED, qid);
		r.null_sender = 1;
		sg_mailstats_add(m, &r, T0 + i, NULL);
		r = rec(SG_MEV_DELIVERY, qid);
		strcpy(r.rcpt, "info@hosting.test");
		r.local = 1;
		r.outcome = SG_OUT_SENT;
		sg_mailstats_add(m, &r, T0 + i, NULL);
	}
	/* A local delivery with a sender is ordinary mail, not a bounce. */
	r = rec(SG_MEV_QUEUED, "9F00");
	r.null_sender = 0;
	strcpy(r.sender, "friend@a.example");
	sg_mailstats_add(m, &r, T0 + 6, NULL);
	r = rec(SG_MEV_DELIVERY, "9F00");
	strcpy(r.rcpt, "info@hosting.test");
	r.local = 1;
	r.outcome = SG_OUT_SENT;
	sg_mailstats_add(m, &r, T0 + 6, NULL);

	p = sg_mailstats_get(m, "sasl:info@hosting.test");
	assert_non_null(p);
	assert_int_equal(p->t.bounces_in, 5);
	assert_int_equal(p->t.messages, 0);
	sg_mailstats_observe(p, T0 + 10, &o);
	assert_int_equal(o.bounces_in_1h, 5);
	assert_int_equal(o.total, 0);
	sg_mailstats_free(m);
}

static int count_qid(const char *qid, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_qids_and_holds(void **state)
{
	static const char *const rcpts[] = { "dead@b.example" };
	static const enum sg_mta_outcome out[] = { SG_OUT_DEFERRED };
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mail_pending pending[8];
	struct sg_mail_principal *p;
	struct sg_mta_rec r;
	int n = 0;

	message(m, "AAA1", "victim@hosting.test", "198.51.100.10", rcpts, out, 1, T0);
	message(m, "AAA2", "victim@hosting.test", "198.51.100.10", rcpts, out, 1, T0);
	message(m, "BBB1", "alice@hosting.test", "198.51.100.20", rcpts, out, 1, T0);
	p = sg_mailstats_get(m, "sasl:victim@hosting.test");
	sg_mailstats_qids(m, p, count_qid, &n);
	assert_int_equal(n, 2);
	/* Deferred: no final outcome, no recipient counted yet, no domain. */
	assert_int_equal(p->t.recipients, 0);
	assert_int_equal(p->t.deferred, 2);

	r = rec(SG_MEV_DONE, "AAA1");
	sg_mailstats_add(m, &r, T0 + 1, NULL);
	n = 0;
	sg_mailstats_qids(m, p, count_qid, &n);
	assert_int_equal(n, 1);

	/* Contained: its next message waits to be held; alice's does not. */
	p->contained = 1;
	assert_int_equal(sg_mailstats_pending_hold(m, pending, 8), 0);
	message(m, "AAA3", "victim@hosting.test", "198.51.100.11", rcpts, out, 1, T0 + 2);
	message(m, "BBB2", "alice@hosting.test", "198.51.100.20", rcpts, out, 1, T0 + 2);
	assert_int_equal(sg_mailstats_pending_hold(m, pending, 8), 1);
	assert_string_equal(pending[0].qid, "AAA3");
	assert_ptr_equal(pending[0].p, p);
	assert_int_equal(sg_mailstats_pending_hold(m, pending, 8), 0);
	assert_int_equal(p->t.messages, 3);
	sg_mailstats_free(m);
}

/* A deferred message stays tracked however many others come and go after it. */
static void test_long_deferred(void **state)
{
	static const char *const rcpts[] = { "dead@b.example" };
	static const enum sg_mta_outcome out[] = { SG_OUT_DEFERRED };
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mailstats_host h;
	struct sg_mail_principal *p;
	struct sg_mta_rec r;
	char qid[16];
	int i, n = 0;

	message(m, "DEFER1", "spam@x.example", "198.51.100.10", rcpts, out, 1, T0);
	for (i = 0; i < 3 * SG_MAIL_MAX_QIDS; i++) {
		snprintf(qid, sizeof(qid), "Q%07X", i);
		r = rec(SG_MEV_QUEUED, qid);
		sg_mailstats_add(m, &r, T0 + 1, NULL);
		r = rec(SG_MEV_DONE, qid);
		sg_mailstats_add(m, &r, T0 + 1, NULL);
	}
	p = sg_mailstats_get(m, "sasl:spam@x.example");
	sg_mailstats_qids(m, p, count_qid, &n);
	assert_int_equal(n, 1);
	sg_mailstats_host(m, &h);
	assert_int_equal(h.qids_evicted, 0);
	assert_int_equal(h.qids, 1);
	sg_mailstats_free(m);
}

/* A message of login submitted under queue id Q<n> (hex), not yet removed. */
static void submit_n(struct sg_mailstats *m, const char *login, unsigned n)
{
	struct sg_mta_rec r;
	char qid[16];

	snprintf(qid, sizeof(qid), "Q%07X", n);
	r = rec(SG_MEV_SUBMIT, qid);
	snprintf(r.login, sizeof(r.login), "%s", login);
	assert_int_equal(sg_mailstats_add(m, &r, T0, NULL), 0);
}

static const struct sg_mail_principal *submitter_n(struct sg_mailstats *m, unsigned n)
{
	__u32 client[4];
	char qid[16];

	snprintf(qid, sizeof(qid), "Q%07X", n);
	return sg_mailstats_submitter(m, qid, client);
}

/*
 * 80,000 messages in flight, past the 65,536 tracked: each one past the
 * bound pushes out the oldest, looking at one entry of the order to find
 * it (the whole table was rescanned for each before).
 */
static void test_in_flight_past_the_bound(void **state)
{
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mailstats_host h;
	struct sg_mail_principal *p;
	unsigned i, past = 80000 - SG_MAIL_MAX_QIDS;

	for (i = 0; i < 80000; i++)
		submit_n(m, "bulk@x.example", i);
	sg_mailstats_host(m, &h);
	assert_int_equal(h.qids, SG_MAIL_MAX_QIDS);
	assert_int_equal(h.qids_evicted, past);
	assert_int_equal(h.qids_scanned, past);
	p = sg_mailstats_get(m, "sasl:bulk@x.example");
	assert_non_null(p);
	assert_int_equal(p->t.messages, 80000);
	assert_null(submitter_n(m, 0));
	assert_null(submitter_n(m, past - 1));
	assert_ptr_equal(submitter_n(m, past), p);
	assert_ptr_equal(submitter_n(m, 79999), p);
	sg_mailstats_free(m);
}

/*
 * 65,000 in flight, just under the bound, and 196,608 more that come and
 * go: none of the 65,000 goes, and the order is rid of the done ones twice
 * in all (2 x 131,072 entries looked at), not every 536 messages.
 */
static void test_in_flight_near_the_bound(void **state)
{
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mailstats_host h;
	struct sg_mta_rec r;
	char qid[16];
	unsigned i;

	for (i = 0; i < 65000; i++)
		submit_n(m, "bulk@x.example", i);
	for (i = 0; i < 3 * SG_MAIL_MAX_QIDS; i++) {
		snprintf(qid, sizeof(qid), "T%07X", i);
		r = rec(SG_MEV_QUEUED, qid);
		sg_mailstats_add(m, &r, T0 + 1, NULL);
		r = rec(SG_MEV_DONE, qid);
		sg_mailstats_add(m, &r, T0 + 1, NULL);
	}
	sg_mailstats_host(m, &h);
	assert_int_equal(h.qids, 65000);
	assert_int_equal(h.qids_evicted, 0);
	assert_int_equal(h.qids_scanned, 2 * 2 * SG_MAIL_MAX_QIDS);
	assert_non_null(submitter_n(m, 0));
	sg_mailstats_free(m);
}

static void test_bad_ids(void **state)
{
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mta_rec r = rec(SG_MEV_SUBMIT, "");

	/* No queue id, no login: nothing to count, nothing made. */
	strcpy(r.login, "x@y.example");
	sg_mailstats_add(m, &r, T0, NULL);
	r = rec(SG_MEV_SUBMIT, "CCC1");
	sg_mailstats_add(m, &r, T0, NULL);
	assert_null(sg_mailstats_get(m, "sasl:x@y.example"));
	/* Exim's own failure notice, "<= <> U=Debian-exim P=local": no local sender made. */
	assert_int_equal(sg_mailstats_mta_user(m, "Debian-exim", 64901), 0);
	r = rec(SG_MEV_LOCAL, "1rABcD-000Abc-Xy");
	strcpy(r.user, "Debian-exim");
	r.null_sender = 1;
	sg_mailstats_add(m, &r, T0, NULL);
	assert_null(sg_mailstats_get(m, "local:Debian-exim"));
	/* A customer's "sendmail -f '<>'" is still the customer's. */
	r = rec(SG_MEV_LOCAL, "1rABcD-000Abd-Xy");
	r.uid = 1002;
	r.null_sender = 1;
	sg_mailstats_add(m, &r, T0, NULL);
	assert_non_null(sg_mailstats_get(m, "local:1002"));
	assert_null(sg_mailstats_principal(m, "uid:1", T0));
	assert_non_null(sg_mailstats_principal(m, "local:web", T0));
	sg_mailstats_free(m);
}

/* A message from a client that did not log in, sent on to another server: relayed, once. */
static void test_relayed(void **state)
{
	static const char *const one[] = { "x@far.example" };
	static const enum sg_mta_outcome sent[] = { SG_OUT_SENT };
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mail_relay out[4];
	struct sg_mailstats_host h;
	struct sg_mta_rec r;

	assert_non_null(m);
	/* Relayed: no login, remote recipients; the second recipient is the same message. */
	message(m, "R1", "", "198.51.100.20", one, sent, 1, T0);
	r = rec(SG_MEV_DELIVERY, "R1");
	strcpy(r.rcpt, "y@far.example");
	r.outcome = SG_OUT_BOUNCED;
	sg_mailstats_add(m, &r, T0 + 1, NULL);
	/* From IPv6. */
	message(m, "R2", "", "2001:db8::20", one, sent, 1, T0 + 2);
	/* Logged in; delivered into a mailbox here; an alias's target; a local submission. */
	message(m, "N1", "alice@hosting.test", "198.51.100.21", one, sent, 1, T0 + 3);
	r = rec(SG_MEV_SUBMIT, "N2");
	strcpy(r.client_ip, "198.51.100.22");
	sg_mailstats_add(m, &r, T0 + 3, NULL);
	r = rec(SG_MEV_DELIVERY, "N2");
	strcpy(r.rcpt, "alice@hosting.test");
	r.outcome = SG_OUT_SENT;
	r.local = 1;
	sg_mailstats_add(m, &r, T0 + 3, NULL);
	r.local = 0;
	r.forwarded = 1;
	strcpy(r.rcpt, "alice@far.example");
	sg_mailstats_add(m, &r, T0 + 3, NULL);
	/* Handed to a content filter on loopback: not a relay (yet). */
	r = rec(SG_MEV_SUBMIT, "N4");
	strcpy(r.client_ip, "198.51.100.23");
	sg_mailstats_add(m, &r, T0 + 3, NULL);
	r = rec(SG_MEV_DELIVERY, "N4");
	strcpy(r.rcpt, "x@far.example");
	strcpy(r.relay, "127.0.0.1[127.0.0.1]:10024");
	r.filter = 1;
	r.outcome = SG_OUT_SENT;
	sg_mailstats_add(m, &r, T0 + 3, NULL);
	r = rec(SG_MEV_LOCAL, "N3");
	r.uid = 1001;
	sg_mailstats_add(m, &r, T0 + 3, NULL);
	r = rec(SG_MEV_DELIVERY, "N3");
	strcpy(r.rcpt, "x@far.example");
	r.outcome = SG_OUT_SENT;
	sg_mailstats_add(m, &r, T0 + 3, NULL);

	assert_int_equal(sg_mailstats_relayed(m, out, 1), 1);
	assert_string_equal(out[0].client_ip, "198.51.100.20");
	assert_string_equal(out[0].qid, "R1");
	assert_string_equal(out[0].rcpt, "x@far.example");
	assert_int_equal(out[0].when, T0);
	assert_int_equal(out[0].client[2], htonl(0xffff));
	assert_int_equal(out[0].client[3], htonl(0xc6336414)); /* 198.51.100.20 */
	assert_int_equal(sg_mailstats_relayed(m, out, 4), 1);
	assert_string_equal(out[0].client_ip, "2001:db8::20");
	assert_int_equal(sg_mailstats_relayed(m, out, 4), 0);
	sg_mailstats_host(m, &h);
	assert_int_equal(h.relayed, 2);
	assert_int_equal(h.relays_dropped, 0);
	sg_mailstats_free(m);
}

/* At the bound: inbound-only and idle principals give way first, contained ones never. */
static void test_principals_at_the_bound(void **state)
{
	static const char *const rcpts[] = { "r@example.com" };
	static const enum sg_mta_outcome out[] = { SG_OUT_SENT };
	struct sg_mailstats *m = sg_mailstats_new(3);
	struct sg_mailstats_host h;
	struct sg_mta_rec r;

	assert_non_null(sg_mailstats_principal(m, "sasl:a", T0));
	assert_non_null(sg_mailstats_principal(m, "sasl:b", T0 + 1));
	message(m, "S1", "s@h.test", "198.51.100.10", rcpts, out, 1, T0 + 2);
	/* Full: the idlest inbound-only one gives way, however recent; the sender stays. */
	assert_non_null(sg_mailstats_principal(m, "sasl:c", T0 + 100));
	assert_null(sg_mailstats_get(m, "sasl:a"));
	assert_non_null(sg_mailstats_get(m, "sasl:s@h.test"));
	/* A contained one never gives way. */
	sg_mailstats_get(m, "sasl:b")->contained = 1;
	assert_non_null(sg_mailstats_principal(m, "sasl:d", T0 + 200));
	assert_null(sg_mailstats_get(m, "sasl:c"));
	assert_non_null(sg_mailstats_get(m, "sasl:b"));
	/* A sender silent for an hour is idle, and idler than d: it goes. */
	assert_non_null(sg_mailstats_principal(m, "sasl:e", T0 + 3602));
	assert_null(sg_mailstats_get(m, "sasl:s@h.test"));
	assert_non_null(sg_mailstats_get(m, "sasl:d"));
	/* Its message is no one's now: its outcome counts for nobody, its end is taken. */
	r = rec(SG_MEV_DELIVERY, "S1");
	strcpy(r.rcpt, "r@example.com");
	r.outcome = SG_OUT_SENT;
	sg_mailstats_add(m, &r, T0 + 3603, NULL);
	r = rec(SG_MEV_DONE, "S1");
	sg_mailstats_add(m, &r, T0 + 3603, NULL);
	/* Only contained ones left: the new one is not tracked, and that is counted. */
	sg_mailstats_get(m, "sasl:d")->contained = 1;
	sg_mailstats_get(m, "sasl:e")->contained = 1;
	assert_null(sg_mailstats_principal(m, "sasl:f", T0 + 4000));
	assert_string_equal(sg_mailstats_get(m, "sasl:e")->id, "sasl:e");
	sg_mailstats_host(m, &h);
	assert_int_equal(h.principals, 3);
	assert_int_equal(h.qids, 0);
	assert_int_equal(h.principals_evicted, 3);
	assert_int_equal(h.principals_refused, 1);
	sg_mailstats_free(m);

	/* Nothing but active senders: the idlest of them goes, its queued message unlinked. */
	m = sg_mailstats_new(2);
	message(m, "S1", "s1@h.test", "198.51.100.10", rcpts, out, 1, T0);
	message(m, "S2", "s2@h.test", "198.51.100.10", rcpts, out, 1, T0 + 10);
	message(m, "S1B", "s1@h.test", "198.51.100.10", rcpts, out, 1, T0 + 20);
	message(m, "S3", "s3@h.test", "198.51.100.10", rcpts, out, 1, T0 + 30);
	assert_null(sg_mailstats_get(m, "sasl:s2@h.test"));
	assert_int_equal(sg_mailstats_get(m, "sasl:s1@h.test")->t.messages, 2);
	assert_int_equal(sg_mailstats_get(m, "sasl:s3@h.test")->t.messages, 1);
	/* A message of the evicted one, named again, is counted for no one. */
	r = rec(SG_MEV_HOLD, "S2");
	sg_mailstats_add(m, &r, T0 + 31, NULL);
	sg_mailstats_host(m, &h);
	assert_int_equal(h.principals_evicted, 1);
	assert_int_equal(h.qids, 4);
	sg_mailstats_free(m);
}

/*
 * Null-sender mail to a catch-all, 20,000 mailboxes in 2,000 s, each a
 * principal through its bounce, while one account sends a message a
 * minute: the account keeps every count, exactly the overflow is
 * evicted, and an account seen after the flood is tracked.
 */
static void test_bounce_flood(void **state)
{
	static const char *const rcpts[] = { "friend@example.com" };
	static const enum sg_mta_outcome out[] = { SG_OUT_SENT };
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mailstats_host h;
	struct sg_mail_principal *p;
	struct sg_mta_rec r;
	char qid[16];
	time_t t;
	int i;

	for (i = 0; i < 20000; i++) {
		t = T0 + i / 10;
		if (i % 600 == 0) {
			snprintf(qid, sizeof(qid), "A%07d", i);
			message(m, qid, "steady@hosting.test", "198.51.100.7", rcpts, out, 1, t);
		}
		snprintf(qid, sizeof(qid), "B%07d", i);
		r = rec(SG_MEV_QUEUED, qid);
		r.null_sender = 1;
		sg_mailstats_add(m, &r, t, NULL);
		r = rec(SG_MEV_DELIVERY, qid);
		snprintf(r.rcpt, sizeof(r.rcpt), "box%05d@catchall.test", i);
		r.outcome = SG_OUT_SENT;
		r.local = 1;
		sg_mailstats_add(m, &r, t, NULL);
		r = rec(SG_MEV_DONE, qid);
		sg_mailstats_add(m, &r, t, NULL);
	}
	p = sg_mailstats_get(m, "sasl:steady@hosting.test");
	assert_non_null(p);
	assert_int_equal(p->t.messages, 34);
	assert_int_equal(p->t.recipients, 34);
	assert_int_equal(p->t.sent, 34);
	assert_int_equal(p->t.bounces_in, 0);
	assert_non_null(sg_mailstats_get(m, "sasl:box19999@catchall.test"));
	assert_null(sg_mailstats_get(m, "sasl:box11808@catchall.test"));
	assert_non_null(sg_mailstats_get(m, "sasl:box11809@catchall.test"));
	sg_mailstats_host(m, &h);
	assert_int_equal(h.bounces_in, 20000);
	assert_int_equal(h.principals, 8192);
	assert_int_equal(h.principals_evicted, 20000 - 8191);
	assert_int_equal(h.principals_refused, 0);
	assert_int_equal(h.qids, 34);

	message(m, "NEW1", "new@hosting.test", "198.51.100.8", rcpts, out, 1, T0 + 2001);
	assert_non_null(sg_mailstats_get(m, "sasl:new@hosting.test"));
	assert_int_equal(sg_mailstats_get(m, "sasl:steady@hosting.test")->t.messages, 34);
	sg_mailstats_host(m, &h);
	assert_int_equal(h.principals_evicted, 20000 - 8191 + 1);
	sg_mailstats_free(m);
}

/* A message judged in-band and logged too is one message, in either order; held if contained. */
static void test_judged(void **state)
{
	static const char *const rcpts[] = { "a@x.example" };
	static const enum sg_mta_outcome out[] = { SG_OUT_SENT };
	struct sg_mailstats *m = sg_mailstats_new(0);
	struct sg_mail_principal *p = sg_mailstats_principal(m, "sasl:bot@hosting.test", T0);
	struct sg_mail_pending pend[4];
	struct sg_observation o;

	assert_non_null(p);
	assert_int_equal(sg_mailstats_judged(m, p, "5AA01", "bot@hosting.test", "203.0.113.9", T0),
			 0);
	message(m, "5AA01", "bot@hosting.test", "203.0.113.9", rcpts, out, 1, T0 + 1);
	message(m, "5AA02", "bot@hosting.test", "203.0.113.9", rcpts, out, 1, T0 + 2);
	assert_int_equal(
		sg_mailstats_judged(m, p, "5AA02", "bot@hosting.test", "203.0.113.9", T0 + 2), 0);
	assert_int_equal(
		sg_mailstats_judged(m, p, "5AA03", "other@hosting.test", "203.0.113.10", T0 + 3),
		0);
	assert_int_equal(p->t.messages, 3);
	assert_int_equal(p->t.recipients, 2); /* counted at their outcome, as logged */
	assert_int_equal(p->n_senders, 2);
	assert_string_equal(p->senders[1], "other@hosting.test");
	assert_int_equal(p->n_ips, 2);
	sg_mailstats_observe(p, T0 + 3, &o);
	assert_int_equal(o.last_1m, 3);
	/* Contained: what it is judged to send next is held as a logged message is. */
	p->contained = 1;
	assert_int_equal(sg_mailstats_judged(m, p, "5AA04", "", "203.0.113.9", T0 + 4), 0);
	assert_int_equal(sg_mailstats_pending_hold(m, pend, 4), 1);
	assert_string_equal(pend[0].qid, "5AA04");
	assert_ptr_equal(pend[0].p, p);
	sg_mailstats_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_windows),
		cmocka_unit_test(test_local_and_bounces_in),
		cmocka_unit_test(test_qids_and_holds),
		cmocka_unit_test(test_long_deferred),
		cmocka_unit_test(test_in_flight_past_the_bound),
		cmocka_unit_test(test_in_flight_near_the_bound),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_relayed),
		cmocka_unit_test(test_principals_at_the_bound),
		cmocka_unit_test(test_bounce_flood),
		cmocka_unit_test(test_judged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
