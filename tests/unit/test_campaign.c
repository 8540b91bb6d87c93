// SPDX-License-Identifier: GPL-2.0
/*
 * Campaigns: records through mailstats and the campaign view as the daemon
 * feeds them, a judge every second; every verdict and its time worked out
 * from the timelines below with the shipped defaults (accounts 10, window
 * 1h, bounce_share 0.5, bounce_min 10, host floors 0.3 and 10, factor 3).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/campaign.h"
#include "host/ownaddr.h"
#include "util/parse.h"
#include "sg_bucket.h"

#define T0   1795440000 /* a minute's start */
#define HOUR 3600

struct world {
	struct sg_config c;
	struct sg_mailstats *m;
	struct sg_campaign *cg;
	struct sg_campaign_verdict v[256];
	size_t n; /* verdicts so far */
	__u64 qid;
};

/* The daemon's exemption, with 198.51.100.200 standing for an address of this host's. */
static int exempt(const struct sg_config *c, const __u32 addr[4])
{
	static const unsigned char own[16] = { [10] = 0xff, [11] = 0xff, 198, 51, 100, 200 };

	return sg_never_ban(c, addr) || !memcmp(addr, own, sizeof(own));
}

static struct world *world_new(time_t start)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	sg_config_default(&w->c);
	w->m = sg_mailstats_new(0);
	w->cg = sg_campaign_new(start, exempt);
	assert_non_null(w->m);
	assert_non_null(w->cg);
	return w;
}

static void world_free(struct world *w)
{
	sg_campaign_free(w->cg);
	sg_mailstats_free(w->m);
	free(w);
}

static void feed(struct world *w, struct sg_mta_rec *r, time_t t)
{
	r->uid = -1;
	assert_int_equal(sg_mailstats_add(w->m, r, t, NULL), 0);
	sg_campaign_record(w->cg, &w->c, w->m, r, t);
}

/* A message submitted at t by login from ip: its queue id's number. */
static __u64 message(struct world *w, const char *ip, const char *login, time_t t)
{
	struct sg_mta_rec r = { .ev = SG_MEV_SUBMIT };
	char qid[SG_MTA_QID_MAX];

	snprintf(qid, sizeof(qid), "Q%llX", (unsigned long long)++w->qid);
	snprintf(r.qid, sizeof(r.qid), "%s", qid);
	snprintf(r.client_ip, sizeof(r.client_ip), "%s", ip);
	snprintf(r.login, sizeof(r.login), "%s", login);
	snprintf(r.sender, sizeof(r.sender), "%s", login);
	feed(w, &r, t);
	return w->qid;
}

static void outcome(struct world *w, __u64 qid, int bounced, time_t t)
{
	struct sg_mta_rec r = { .ev = SG_MEV_DELIVERY };

	snprintf(r.qid, sizeof(r.qid), "Q%llX", (unsigned long long)qid);
	snprintf(r.rcpt, sizeof(r.rcpt), "someone@far.example");
	snprintf(r.relay, sizeof(r.relay), "mx.far.example[192.0.2.200]:25");
	r.outcome = bounced ? SG_OUT_BOUNCED : SG_OUT_SENT;
	snprintf(r.dsn, sizeof(r.dsn), bounced ? "5.1.1" : "2.0.0");
	feed(w, &r, t);
	memset(&r, 0, sizeof(r));
	r.ev = SG_MEV_DONE;
	snprintf(r.qid, sizeof(r.qid), "Q%llX", (unsigned long long)qid);
	feed(w, &r, t);
}

static void judge(struct world *w, time_t now)
{
	w->n += sg_campaign_judge(w->cg, &w->c, now, w->v + w->n,
				  sizeof(w->v) / sizeof(w->v[0]) - w->n);
}

static const struct sg_campaign_verdict *address_verdict(const struct world *w, const char *ip)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (!w->v[i].account && !strcmp(w->v[i].ip, ip))
			return &w->v[i];
	return NULL;
}

static size_t count(const struct world *w, int account)
{
	size_t i, n = 0;

	for (i = 0; i < w->n; i++)
		n += w->v[i].account == account;
	return n;
}

/*
 * Stuffing: 40 accounts, each 5 messages an hour, from 198.51.100.1-3 in
 * turn: message k (0-199) at T0 + 18k from address k % 3 as account k %
 * 40, bounced unless k % 5 == 0 (80%), delivered a second later. Address
 * .1 has k = 0, 3, ..., 27 by its 10th account: 10 outcomes, k = 0 and 15
 * sent, 8 bounced, the last at T0 + 27 x 18 + 1 = T0 + 487: condemned
 * then, and its 10 accounts held. .2 (k = 1 ... 28, 10 and 25 sent) at
 * T0 + 505, .3 (k = 2 ... 29, 5 and 20 sent) at T0 + 523. Every account
 * logs in from each address within the hour: all 40 held, each once.
 * Beside them five customers from addresses of their own send as much,
 * mostly delivered: nothing. At T0 + 3000 + 2k (k 0-9) a fourth address
 * logs in to user0-9, all held by then: its mail is held, never bounces,
 * but it logged in to 10 held accounts: the same botnet, condemned at T0 +
 * 3018 with held=10 (no new verdict on the accounts).
 */
static void test_stuffing(void **state)
{
	struct world *w = world_new(T0);
	const struct sg_campaign_verdict *v;
	static const char *ips[] = { "198.51.100.1", "198.51.100.2", "198.51.100.3" };
	static const time_t at[] = { T0 + 487, T0 + 505, T0 + 523 };
	struct sg_campaign_totals tot;
	char login[64], ip[64], held[41] = { 0 };
	__u64 bot = 0, owner = 0;
	time_t t;
	size_t i;
	int k, a;

	for (t = T0; t < T0 + HOUR; t++) {
		if ((t - T0) % 18 == 1 && (t - T0) / 18 < 200)
			outcome(w, bot, ((t - T0) / 18) % 5 != 0, t);
		if ((t - T0) % 18 == 0 && (k = (int)((t - T0) / 18)) < 200) {
			snprintf(login, sizeof(login), "user%d@victim.example", k % 40);
			bot = message(w, ips[k % 3], login, t);
		}
		if ((t - T0) % 60 == 30) {
			a = (int)((t - T0) / 60) % 5;
			snprintf(login, sizeof(login), "owner%d@shop.example", a);
			snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + a);
			owner = message(w, ip, login, t);
		}
		if ((t - T0) % 60 == 31)
			outcome(w, owner, 0, t);
		if (t >= T0 + 3000 && t < T0 + 3020 && (t - T0) % 2 == 0) {
			snprintf(login, sizeof(login), "user%d@victim.example",
				 (int)(t - T0 - 3000) / 2);
			message(w, "198.51.100.4", login, t);
		}
		judge(w, t);
	}
	assert_int_equal(count(w, 0), 4);
	v = address_verdict(w, "198.51.100.4");
	assert_non_null(v);
	assert_int_equal(v->at, T0 + 3018);
	assert_int_equal(v->accounts, 10);
	assert_int_equal(v->held, 10);
	assert_int_equal(v->sent + v->bounced, 0);
	assert_int_equal(v->is_new, 0);
	assert_int_equal(count(w, 1), 40);
	for (i = 0; i < 3; i++) {
		v = address_verdict(w, ips[i]);
		assert_non_null(v);
		assert_int_equal(v->at, at[i]);
		assert_int_equal(v->accounts, 10);
		assert_int_equal(v->sent, 2);
		assert_int_equal(v->bounced, 8);
		assert_int_equal(v->held, 0);
		assert_int_equal(v->is_new, 0);
		assert_int_equal(v->ban_ns, HOUR * SG_NS_PER_SEC);
	}
	for (i = 0; i < w->n; i++) {
		if (!w->v[i].account)
			continue;
		assert_int_equal(sscanf(w->v[i].principal, "sasl:user%d@victim.example", &k), 1);
		assert_in_range(k, 0, 39);
		assert_int_equal(held[k], 0);
		held[k] = 1;
		assert_true(sg_campaign_held(w->cg, w->v[i].principal, ip, sizeof(ip)));
	}
	/* Held at .1's verdict: its 10 accounts in the order they logged in, right after it. */
	assert_int_equal(w->v[0].account, 0);
	assert_string_equal(w->v[0].ip, "198.51.100.1");
	for (i = 1; i <= 10; i++) {
		snprintf(login, sizeof(login), "sasl:user%zu@victim.example", 3 * (i - 1));
		assert_int_equal(w->v[i].account, 1);
		assert_string_equal(w->v[i].ip, "198.51.100.1");
		assert_string_equal(w->v[i].principal, login);
		assert_int_equal(w->v[i].at, T0 + 487);
	}
	assert_false(sg_campaign_held(w->cg, "sasl:owner0@shop.example", NULL, 0));
	sg_campaign_totals(w->cg, T0 + HOUR, &tot);
	assert_int_equal(tot.condemned, 4);
	assert_int_equal(tot.held, 40);
	assert_int_equal(tot.condemned_now, 4);
	assert_int_equal(tot.addresses, 9);
	assert_int_equal(tot.evicted, 0);
	world_free(w);
}

/*
 * An office behind 192.0.2.50, seen since T0, three weeks later logs in to
 * 30 accounts in an hour, 4 messages each, one in 20 bounced: nothing. An
 * address first seen then (after a whole window of watching) logging in
 * to as many with the same mail is new with no history: condemned at its
 * 10th account's login, T0 + 21d + 2h + 9 x 60 + 1, and its accounts held.
 * The office goes on logging in to them: 30 held accounts, but an address
 * seen for weeks is not the botnet's next one: nothing.
 */
static void test_office_and_new(void **state)
{
	struct world *w = world_new(T0);
	time_t day21 = T0 + 21 * 24 * HOUR, t;
	const struct sg_campaign_verdict *v;
	char login[64];
	json_t *j;
	int k;

	outcome(w, message(w, "192.0.2.50", "boss@office.example", T0), 0, T0 + 1);
	judge(w, T0 + 1);
	for (k = 0; k < 120; k++) {
		t = day21 + k * 30;
		snprintf(login, sizeof(login), "staff%d@office.example", k % 30);
		outcome(w, message(w, "192.0.2.50", login, t), k % 20 == 0, t + 1);
		judge(w, t + 1);
	}
	assert_int_equal(w->n, 0);
	j = sg_campaign_address_json(w->cg, &w->c, "192.0.2.50", day21 + HOUR);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "accounts")), 30);
	assert_int_equal(json_integer_value(json_object_get(j, "bounced")), 6);
	assert_int_equal(json_integer_value(json_object_get(j, "sent")), 114);
	assert_false(json_is_true(json_object_get(j, "new")));
	assert_false(json_is_true(json_object_get(j, "condemned")));
	assert_int_equal(json_array_size(json_object_get(j, "logged_in")), 30);
	json_decref(j);

	for (k = 0; k < 30; k++) {
		t = day21 + 2 * HOUR + k * 60;
		snprintf(login, sizeof(login), "staff%d@office.example", k);
		message(w, "203.0.113.99", login, t + 1);
		judge(w, t + 1);
		/* The staff go on working from the office: held accounts, an old address. */
		outcome(w, message(w, "192.0.2.50", login, t + 30), 0, t + 31);
		judge(w, t + 31);
	}
	v = address_verdict(w, "203.0.113.99");
	assert_non_null(v);
	assert_int_equal(v->at, day21 + 2 * HOUR + 9 * 60 + 1);
	assert_int_equal(v->is_new, 1);
	assert_int_equal(v->accounts, 10);
	/* Its 10 accounts at once, then each later one at its login; never the office. */
	assert_int_equal(count(w, 0), 1);
	assert_int_equal(count(w, 1), 30);
	j = sg_campaign_address_json(w->cg, &w->c, "192.0.2.50", day21 + 2 * HOUR + 30 * 60);
	assert_int_equal(json_integer_value(json_object_get(j, "accounts")), 30);
	assert_int_equal(json_integer_value(json_object_get(j, "held")), 30);
	assert_false(json_is_true(json_object_get(j, "condemned")));
	json_decref(j);
	world_free(w);
}

/*
 * A webmail front end on 127.0.0.1, another on an allow-listed address and
 * one on this host's own address each log in to 500 accounts within the
 * hour, every message bounced: nothing, and nothing tracked.
 */
static void test_webmail(void **state)
{
	struct world *w = world_new(T0 - 2 * HOUR);
	struct sg_campaign_totals tot;
	const char *why;
	char login[64];
	json_t *j;
	__u32 k;
	int i;

	assert_int_equal(sg_parse_cidr("203.0.113.0/28", &w->c.campaign.webmail[0], &why), 0);
	w->c.campaign.n_webmail = 1;
	for (k = 0; k < 500; k++) {
		snprintf(login, sizeof(login), "box%u@hosted.example", k);
		for (i = 0; i < 3; i++) {
			outcome(w,
				message(w,
					i == 0	 ? "127.0.0.1"
					: i == 1 ? "203.0.113.5"
						 : "198.51.100.200",
					login, T0 + k * 7),
				1, T0 + k * 7 + 1);
		}
		judge(w, T0 + k * 7 + 1);
	}
	assert_int_equal(w->n, 0);
	sg_campaign_totals(w->cg, T0 + HOUR, &tot);
	assert_int_equal(tot.exempt, 1500);
	assert_int_equal(tot.addresses, 0);
	assert_int_equal(sg_campaign_login(w->cg, &w->c, "::1", "sasl:x@y", T0), 0);
	assert_int_equal(sg_campaign_login(w->cg, &w->c, "not an address", "sasl:x@y", T0),
			 -EINVAL);
	j = sg_campaign_address_json(w->cg, &w->c, "127.0.0.1", T0);
	assert_true(json_is_true(json_object_get(j, "exempt")));
	json_decref(j);
	world_free(w);
}

/*
 * Host-wide, looked at each second before its records: from T0, ten
 * accounts each send a message a minute (account a at second a, delivered
 * at once; account 0's bounced in even minutes: 5 bounced in 100 outcomes
 * each 10 minutes). None is new (first seen in the first window). At T0 +
 * 3h + 5s twelve new accounts send 5 messages each, all bounced a second
 * later. The look at T0 + 3h + 60 sees minutes 172-181 (181 has had no
 * outcome yet): 90 of the old outcomes (5 bounced) and the 60 bounces: 65 / 150 >= max(0.3, 3 x
 * ~0.05) with 12 new senders >= max(10, 3 x 0): raised. At T0 + 3h + 600 the minute of the bounces
 * has left the 10 minutes: cleared. At T0 + 5h the old accounts bounce as much with no new sender:
 * nothing (the two must jump together).
 */
static void test_host_wide(void **state)
{
	struct world *w = world_new(T0);
	struct sg_campaign_host h = {};
	time_t t, raised = 0, cleared = 0, s;
	char login[64];
	__u64 first = 0, q;
	int a, r, n = 0;

	for (t = T0; t < T0 + 6 * HOUR; t++) {
		s = t - T0;
		r = sg_campaign_host_judge(w->cg, &w->c, t, &h);
		if (r == 1) {
			n++;
			raised = t;
			assert_int_equal(h.new_senders, 12);
			assert_int_equal(h.bounced, 65);
			assert_int_equal(h.sent, 85);
			assert_float_equal(h.share_limit, 0.3, 1e-9);
			assert_float_equal(h.new_limit, 10, 1e-9);
			assert_true(h.active);
		} else if (r == -1) {
			cleared = t;
		}
		if (s % 60 < 10) {
			a = (int)(s % 60);
			snprintf(login, sizeof(login), "old%d@host.example", a);
			outcome(w, message(w, "192.0.2.7", login, t),
				(a == 0 && (s / 60) % 2 == 0) || (s >= 5 * HOUR && a < 7), t);
		}
		for (a = 0; t == T0 + 3 * HOUR + 5 && a < 60; a++) {
			snprintf(login, sizeof(login), "new%d@host.example", a % 12);
			q = message(w, "192.0.2.8", login, t);
			first = a ? first : q;
		}
		for (a = 0; t == T0 + 3 * HOUR + 6 && a < 60; a++)
			outcome(w, first + (__u64)a, 1, t);
	}
	assert_int_equal(n, 1);
	assert_int_equal(raised, T0 + 3 * HOUR + 60);
	assert_int_equal(cleared, T0 + 3 * HOUR + 600);
	assert_false(h.active);
	world_free(w);
}

/*
 * The bounds: an address's 130th account pushes out its oldest (the count
 * stays at 128), and the 4097th address pushes out an idle one; each drop
 * counted. Logins without mail condemn nothing in the first window.
 */
static void test_bounds(void **state)
{
	struct world *w = world_new(T0);
	struct sg_campaign_totals tot;
	char login[64], ip[64];
	json_t *j;
	int k;

	/* Not 192.0.2.1: a test machine's default gateway may be that, and none is condemned. */
	for (k = 0; k < 130; k++) {
		snprintf(login, sizeof(login), "sasl:box%d@hosted.example", k);
		assert_int_equal(sg_campaign_login(w->cg, &w->c, "192.0.2.201", login, T0 + k), 0);
	}
	sg_campaign_totals(w->cg, T0 + 130, &tot);
	assert_int_equal(tot.evicted, 2);
	j = sg_campaign_address_json(w->cg, &w->c, "192.0.2.201", T0 + 130);
	assert_int_equal(json_integer_value(json_object_get(j, "accounts")), 128);
	json_decref(j);
	for (k = 0; k < SG_CAMPAIGN_MAX_ADDRS; k++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", k / 256, k % 256);
		assert_int_equal(sg_campaign_login(w->cg, &w->c, ip, "sasl:one@hosted.example",
						   T0 + 200 + k),
				 0);
	}
	sg_campaign_totals(w->cg, T0 + 5000, &tot);
	assert_int_equal(tot.addresses, SG_CAMPAIGN_MAX_ADDRS);
	assert_int_equal(tot.evicted, 3);
	judge(w, T0 + 5000);
	assert_int_equal(w->n, 0);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stuffing), cmocka_unit_test(test_office_and_new),
		cmocka_unit_test(test_webmail),	 cmocka_unit_test(test_host_wide),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
