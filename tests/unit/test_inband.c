// SPDX-License-Identifier: GPL-2.0
/*
 * The in-band judge with the daemon's real objects (mailstats, detector and
 * baselines, brute force, containment with its state file and the audit log
 * in a temporary directory), no MTA: a new account flat out gets exactly its
 * first budget, a known one its learned budget, an override its own rate;
 * a login from an address that failed on the account is held from its
 * first message and contained; held mail is let go after hold_grace and not
 * before, unless its principal was contained meanwhile; a contained account
 * gets HOLD (or REJECT) from its next request; an account that logs in from
 * an address a campaign verdict condemned is held from its first message;
 * an account's [override] thresholds and actions = alert are the mail
 * detector's for it.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mailfix.h"
#include "daemon/inband.h"
#include "daemon/run.h"
#include "daemon/mailcampaign.h"
#include "mail/contain.h"
#include "sg_bucket.h"

#define T0    1795440000 /* a whole hour */
#define NS(t) ((__u64)((t)-T0 + 1000) * SG_NS_PER_SEC)

static struct mail_fixture fx;
static struct sg_mailguard mail;
static struct sg_inband *ib;

static int setup(void **state)
{
	if (mail_fixture_open(&fx, &mail, "test_inband", T0))
		return -1;
	ib = sg_inband_new(&mail, &fx.cfg);
	return ib ? 0 : -1;
}

static int teardown(void **state)
{
	sg_inband_free(ib);
	return mail_fixture_close(&fx, &mail);
}

/* A request at END-OF-MESSAGE (state NULL) or state, as Postfix sends it. */
static struct sg_policy_req *req(const char *login, const char *client, const char *state,
				 const char *qid, __u32 rcpts)
{
	static struct sg_policy_req r;

	memset(&r, 0, sizeof(r));
	snprintf(r.request, sizeof(r.request), "smtpd_access_policy");
	snprintf(r.protocol_state, sizeof(r.protocol_state), "%s",
		 state ? state : "END-OF-MESSAGE");
	snprintf(r.sasl_username, sizeof(r.sasl_username), "%s", login);
	snprintf(r.client_address, sizeof(r.client_address), "%s", client);
	snprintf(r.server_address, sizeof(r.server_address), "192.0.2.1");
	snprintf(r.sender, sizeof(r.sender), "%s", login);
	snprintf(r.queue_id, sizeof(r.queue_id), "%s", qid);
	r.client_port = r.server_port = -1;
	r.recipient_count = rcpts;
	r.caller_uid = -1;
	return &r;
}

static enum sg_policy_verdict judge(const struct sg_policy_req *r, time_t t)
{
	char why[128];

	return sg_inband_judge(ib, &fx.cfg, &fx.cfg.audit, r, t, NS(t), why, sizeof(why));
}

/* n messages of login from client at t, queue ids PREFIX0...; how many got DUNNO. */
static int send_n(const char *login, const char *client, const char *prefix, int n, __u32 rcpts,
		  time_t t)
{
	char qid[SG_MTA_QID_MAX];
	int i, dunno = 0;

	for (i = 0; i < n; i++) {
		snprintf(qid, sizeof(qid), "%s%d", prefix, i);
		dunno += judge(req(login, client, NULL, qid, rcpts), t) == SG_POLICY_DUNNO;
	}
	return dunno;
}

static struct sg_inband_metrics metrics(void)
{
	struct sg_inband_metrics m;

	sg_inband_metrics(ib, &m);
	return m;
}

static int file_has(const char *name, const char *text)
{
	char path[PATH_MAX], buf[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.tmp, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static void test_new_account_flat_out(void **state)
{
	struct sg_mail_principal *p;
	struct sg_inband_metrics m;
	int i, verdicts[SG_POLICY_VERDICT_KINDS] = {};
	char qid[16];

	for (i = 0; i < 200; i++) {
		snprintf(qid, sizeof(qid), "6B%03d", i);
		verdicts[judge(req("bot@hosting.test", "203.0.113.9", NULL, qid, 1), T0)]++;
		/* The first 20, and only they, go through. */
		if (i == 19 || i == 20)
			assert_int_equal(verdicts[SG_POLICY_DUNNO], 20);
	}
	assert_int_equal(verdicts[SG_POLICY_DUNNO], 20);
	assert_int_equal(verdicts[SG_POLICY_HOLD], 180);
	m = metrics();
	assert_int_equal(m.judged, 200);
	assert_int_equal(m.held_budget, 180);
	assert_int_equal(m.held, 180);
	assert_int_equal(m.held_contained, 0);
	/* Every message counted for the detector, held ones too. */
	p = sg_mailstats_get(mail.stats, "sasl:bot@hosting.test");
	assert_non_null(p);
	assert_int_equal(p->t.messages, 200);
	/* Three minutes on: one more (20 an hour). */
	assert_int_equal(send_n("bot@hosting.test", "203.0.113.9", "6C", 5, 1, T0 + 179), 0);
	assert_int_equal(send_n("bot@hosting.test", "203.0.113.9", "6D", 5, 1, T0 + 180), 1);
}

/* Inbound mail (no login, a remote client) is not judged; RCPT is answered, not counted. */
static void test_not_judged(void **state)
{
	assert_int_equal(judge(req("", "203.0.113.5", NULL, "7A1", 1), T0), SG_POLICY_DUNNO);
	assert_int_equal(judge(req("", "", NULL, "7A2", 1), T0), SG_POLICY_DUNNO);
	assert_int_equal(metrics().judged, 0);
	assert_int_equal(judge(req("user@hosting.test", "203.0.113.5", "RCPT", "", 0), T0),
			 SG_POLICY_DUNNO);
	/* A message is judged at its end of data: RCPT (once per recipient) is no message. */
	assert_int_equal(metrics().judged, 0);
	assert_int_equal(sg_mailstats_get(mail.stats, "sasl:user@hosting.test")->t.messages, 0);
}

/* From this host without a login: its owner's UID, else local:unknown, counted. */
static void test_local(void **state)
{
	struct sg_policy_req *r;
	int i, dunno = 0;
	char qid[16];

	assert_int_equal(send_n("", "127.0.0.1", "8A", 30, 1, T0), 20);
	assert_int_equal(send_n("", "::1", "8B", 3, 1, T0), 0);
	assert_int_equal(metrics().unknown, 33);
	assert_non_null(sg_mailstats_get(mail.stats, "local:unknown"));
	/* Exim's sendmail path names its caller: a budget of its own. */
	for (i = 0; i < 25; i++) {
		snprintf(qid, sizeof(qid), "8C%d", i);
		r = req("", "", NULL, qid, 1);
		r->caller_uid = 1234;
		dunno += judge(r, T0) == SG_POLICY_DUNNO;
	}
	assert_int_equal(dunno, 20);
	assert_int_equal(sg_mailstats_get(mail.stats, "local:1234")->uid, 1234);
	assert_int_equal(metrics().unknown, 33);
}

/* The MTA's own users (its failure notices) and [detect] allow are never held. */
static void test_exempt(void **state)
{
	struct passwd *pw = getpwnam("postfix");
	struct sg_policy_req *r;
	int i, dunno = 0;
	char qid[16];

	/* scripts/install-deps.sh installs Postfix, whose user [detect] mta_users names. */
	if (!pw)
		fail_msg("no user 'postfix': run scripts/install-deps.sh");
	for (i = 0; i < 50; i++) {
		snprintf(qid, sizeof(qid), "8D%d", i);
		r = req("", "", NULL, qid, 1);
		r->caller_uid = i % 2 ? 0 : pw->pw_uid;
		dunno += judge(r, T0) == SG_POLICY_DUNNO;
	}
	assert_int_equal(dunno, 50);
	assert_int_equal(metrics().judged, 0);
	assert_null(sg_mailstats_get(mail.stats, "local:0"));
}

/* A known account gets max(floor, factor x baseline): 10 a minute learned, 50 at once. */
static void test_known_account(void **state)
{
	const char *id = "sasl:shop@hosting.test";
	struct sg_baseline *b = sg_baselines_get(fx.store, id, 1, T0 - 7200);

	assert_non_null(b);
	sg_baseline_add(b, 600, T0 - 3600);
	sg_baseline_roll(b, T0);
	assert_int_equal(sg_detect_known(fx.det, id, 600, T0), 0);
	assert_true(sg_detect_get(fx.det, id)->expected == 10);
	assert_int_equal(send_n("shop@hosting.test", "203.0.113.20", "9A", 80, 1, T0), 50);
}

/* An override's own rate and burst: a newsletter sending at its rate is never held. */
static void test_override_account(void **state)
{
	struct sg_override *o = &fx.cfg.overrides[fx.cfg.n_overrides++];
	char qid[16], why[64];
	int i, dunno = 0;

	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "news@hosting.test");
	o->has_limit = 1;
	o->limit =
		(struct sg_policy){ .mode = SG_MODE_THROTTLE, .rate_per_hour = 6000, .burst = 300 };
	/* 1,000 messages of 5,000 recipients each, one every 0.6 s: its rate exactly. */
	for (i = 0; i < 1000; i++) {
		snprintf(qid, sizeof(qid), "AA%d", i);
		dunno += sg_inband_judge(ib, &fx.cfg, &fx.cfg.audit,
					 req("news@hosting.test", "203.0.113.30", NULL, qid, 5000),
					 T0 + i * 6 / 10, NS(T0) + (__u64)i * 600000000, why,
					 sizeof(why)) == SG_POLICY_DUNNO;
	}
	assert_int_equal(dunno, 1000);
	assert_int_equal(metrics().held_budget, 0);
}

/* An account's own override in the mail detector too: its thresholds, and actions = alert. */
static void test_override_rules(void **state)
{
	static const char *const logins[] = { "bot@hosting.test", "news@hosting.test",
					      "alerts@hosting.test" };
	struct sg_override *o;
	char id[64];
	size_t i;

	for (i = 1; i < 3; i++) {
		o = &fx.cfg.overrides[fx.cfg.n_overrides++];
		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", logins[i]);
		o->has_limit = 1;
		o->limit = (struct sg_policy){ .mode = SG_MODE_THROTTLE,
					       .rate_per_hour = 6000,
					       .burst = 300 };
		o->t = fx.cfg.detect.thresholds;
	}
	fx.cfg.overrides[0].t.new_sender_rate = 10000;
	fx.cfg.overrides[1].alert_only = 1;
	/* 100 messages at once each: a new sender's rule for all three. */
	assert_int_equal(send_n(logins[0], "203.0.113.60", "EA", 100, 1, T0), 20);
	assert_int_equal(send_n(logins[1], "203.0.113.61", "EB", 100, 1, T0), 100);
	assert_int_equal(send_n(logins[2], "203.0.113.62", "EC", 100, 1, T0), 100);
	sg_mailguard_tick(&mail, &fx.cfg, &fx.cfg.audit, T0 + 1);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "sasl:%s", logins[i]);
		if (sg_mailstats_get(mail.stats, id)->contained != (i == 0))
			fail_msg("%s contained: %d", id,
				 sg_mailstats_get(mail.stats, id)->contained);
	}
	assert_true(file_has("audit.log", "\"action\":\"alert\",\"uid\":null,\"user\":null,"
					  "\"target\":\"sasl:alerts@hosting.test\""));
	assert_false(file_has("audit.log", "\"target\":\"sasl:news@hosting.test\""));
}

/* Logged in from an address that failed to log in to it: held from its first message, contained. */
static void test_bruteforce_then_login(void **state)
{
	struct sg_mta_rec r = {
		.ev = SG_MEV_AUTH_FAIL, .uid = -1, .service = SG_SVC_SUBMISSION, .attempts = 1
	};
	struct sg_mail_principal *p;
	json_t *s;

	snprintf(r.client_ip, sizeof(r.client_ip), "198.51.100.7");
	snprintf(r.login, sizeof(r.login), "victim@hosting.test");
	/* Two failures are typos: its login from there is let through. */
	sg_brute_fail(fx.defence.brute, &fx.cfg.bruteforce, &r, T0);
	sg_brute_fail(fx.defence.brute, &fx.cfg.bruteforce, &r, T0);
	assert_int_equal(judge(req("victim@hosting.test", "198.51.100.7", "RCPT", "", 0), T0 + 1),
			 SG_POLICY_DUNNO);
	/* The third ([bruteforce] guessed) makes a guess. */
	sg_brute_fail(fx.defence.brute, &fx.cfg.bruteforce, &r, T0);
	/* Another account from that address, and this one from another address: not the signature.
	 */
	assert_int_equal(judge(req("other@hosting.test", "198.51.100.7", NULL, "BA1", 1), T0 + 60),
			 SG_POLICY_DUNNO);
	assert_int_equal(judge(req("victim@hosting.test", "198.51.100.8", NULL, "BA2", 1), T0 + 60),
			 SG_POLICY_DUNNO);
	assert_int_equal(judge(req("victim@hosting.test", "198.51.100.7", "RCPT", "", 0), T0 + 60),
			 SG_POLICY_HOLD);
	p = sg_mailstats_get(mail.stats, "sasl:victim@hosting.test");
	assert_non_null(p);
	/* Answered as contained at once; the MTA's tools run at the tick, not in the request. */
	assert_false(p->contained);
	assert_int_equal(judge(req("victim@hosting.test", "198.51.100.9", "RCPT", "", 0), T0 + 60),
			 SG_POLICY_HOLD);
	sg_inband_tick(ib, &fx.cfg, &fx.cfg.audit, T0 + 60, NS(T0 + 60));
	assert_true(p->contained);
	assert_int_equal(metrics().condemned, 1);
	/* Its messages from anywhere, from the first: nothing goes out. */
	assert_int_equal(send_n("victim@hosting.test", "198.51.100.7", "BB", 10, 1, T0 + 61), 0);
	assert_int_equal(send_n("victim@hosting.test", "198.51.100.9", "BC", 10, 1, T0 + 61), 0);
	/* Messages: the 20 sent, not the RCPT requests. */
	assert_int_equal(metrics().held_contained, 20);
	assert_int_equal(metrics().held_budget, 0);
	assert_int_equal(metrics().condemned, 1);
	s = sg_contain_state(&fx.cfg);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(s, "sasl:victim@hosting.test"), "rule")),
			    "bruteforce_login");
	json_decref(s);
	assert_true(file_has("audit.log", "\"rule\":\"bruteforce_login\""));
	/* It stays held: the next tick releases nothing of it. */
	sg_inband_tick(ib, &fx.cfg, &fx.cfg.audit, T0 + 7200, NS(T0 + 7200));
	assert_int_equal(metrics().released, 0);
	assert_true(p->contained);
}

static int times_in(json_t *a, const char *s)
{
	json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach(a, i, v) n += !strcmp(json_string_value(v), s);
	return n;
}

static void test_hold_grace(void **state)
{
	struct sg_mail_principal *p;
	json_t *s, *held;

	assert_int_equal(send_n("first@hosting.test", "203.0.113.40", "CA", 21, 1, T0), 20);
	assert_int_equal(send_n("later@hosting.test", "203.0.113.41", "CB", 22, 1, T0 + 10), 20);
	assert_int_equal(metrics().held, 3);
	sg_inband_tick(ib, &fx.cfg, &fx.cfg.audit, T0 + 3599, NS(T0 + 3599));
	assert_int_equal(metrics().released, 0);
	assert_int_equal(metrics().held, 3);
	assert_false(file_has("audit.log", "hold-grace-release"));
	/* "later" is condemned meanwhile: its held messages stay, with its containment. */
	p = sg_mailstats_get(mail.stats, "sasl:later@hosting.test");
	sg_mailguard_contain(&mail, &fx.cfg, &fx.cfg.audit, p, "rate", 300, 100, T0 + 3599);
	sg_inband_tick(ib, &fx.cfg, &fx.cfg.audit, T0 + 3600, NS(T0 + 3600));
	assert_int_equal(metrics().released, 1);
	assert_int_equal(metrics().held, 0);
	assert_true(file_has("audit.log", "\"action\":\"hold-grace-release\""));
	assert_true(file_has("audit.log", "\"queue_id\":\"CA20\""));
	assert_false(file_has("audit.log", "\"queue_id\":\"CB2"));
	sg_inband_tick(ib, &fx.cfg, &fx.cfg.audit, T0 + 7200, NS(T0 + 7200));
	assert_int_equal(metrics().released, 1);
	/* In its containment's list of held messages, once each, for a human's release. */
	s = sg_contain_state(&fx.cfg);
	held = json_object_get(json_object_get(s, "sasl:later@hosting.test"), "held");
	assert_int_equal(json_array_size(held), 22);
	assert_int_equal(times_in(held, "CB20"), 1);
	assert_int_equal(times_in(held, "CB21"), 1);
	json_decref(s);
}

/* Contained by a rule: HOLD from the very next request, or REJECT with contain = reject. */
static void test_contained(void **state)
{
	struct sg_mail_principal *p;

	assert_int_equal(send_n("spam@hosting.test", "203.0.113.50", "DA", 3, 1, T0), 3);
	p = sg_mailstats_get(mail.stats, "sasl:spam@hosting.test");
	sg_mailguard_contain(&mail, &fx.cfg, &fx.cfg.audit, p, "bounce_share", 0.9, 0.5, T0 + 1);
	assert_int_equal(judge(req("spam@hosting.test", "203.0.113.50", "RCPT", "", 0), T0 + 1),
			 SG_POLICY_HOLD);
	assert_int_equal(judge(req("spam@hosting.test", "203.0.113.50", NULL, "DB1", 1), T0 + 1),
			 SG_POLICY_HOLD);
	fx.cfg.mta.reject = 1;
	assert_int_equal(judge(req("spam@hosting.test", "203.0.113.50", "RCPT", "", 0), T0 + 2),
			 SG_POLICY_REJECT);
	assert_int_equal(judge(req("spam@hosting.test", "203.0.113.50", NULL, "DB2", 1), T0 + 2),
			 SG_POLICY_REJECT);
	/* Per message, at the end of data: RCPT is once a recipient. */
	assert_int_equal(metrics().held_contained, 1);
	assert_int_equal(metrics().rejected, 1);
	/* A rejected message is not queued: not counted. */
	assert_int_equal(p->t.messages, 4);
}

/*
 * Dry run: the account over budget and contained is answered DUNNO every
 * time, nothing is held or remembered to let go, the containment is told
 * once and not made, and each would-action is in the audit log.
 */
static void test_dry_run(void **state)
{
	struct sg_mail_principal *p;

	fx.cfg.dry_run = 1;
	assert_int_equal(send_n("bot@hosting.test", "203.0.113.9", "DR", 30, 1, T0), 30);
	assert_int_equal(metrics().held_budget, 0);
	assert_int_equal(metrics().held, 0);
	p = sg_mailstats_get(mail.stats, "sasl:bot@hosting.test");
	sg_mailguard_contain(&mail, &fx.cfg, &fx.cfg.audit, p, "bounce_share", 0.9, 0.5, T0 + 1);
	sg_mailguard_contain(&mail, &fx.cfg, &fx.cfg.audit, p, "bounce_share", 0.9, 0.5, T0 + 2);
	assert_int_equal(p->contained, 0);
	assert_int_equal(judge(req("bot@hosting.test", "203.0.113.9", "RCPT", "", 0), T0 + 2),
			 SG_POLICY_DUNNO);
	assert_int_equal(judge(req("bot@hosting.test", "203.0.113.9", NULL, "DR30", 1), T0 + 2),
			 SG_POLICY_DUNNO);
	assert_int_equal(metrics().held_contained, 0);
	assert_true(file_has("audit.log", "\"action\":\"would-hold\",\"uid\":null,\"user\":null,"
					  "\"target\":\"sasl:bot@hosting.test\",\"params\":{\"queue_id\":"
					  "\"DR29\""));
	assert_true(file_has("audit.log", "\"queue_id\":\"DR29\",\"sender\":\"bot@hosting.test\","
					  "\"client_address\":\"203.0.113.9\",\"recipients\":1},"
					  "\"reason\":\"over budget\""));
	/* Told contained: its next message would be held as a contained account's. */
	assert_true(file_has("audit.log", "\"queue_id\":\"DR30\",\"sender\":\"bot@hosting.test\","
					  "\"client_address\":\"203.0.113.9\",\"recipients\":1},"
					  "\"reason\":\"contained\""));
	assert_true(file_has("audit.log", "\"action\":\"would-contain\""));
	assert_false(file_has("audit.log", "\"action\":\"contain\""));
	assert_false(file_has("contained.json", "bot@"));
	/* Turned off (a reload): the next message's answer is real again. */
	fx.cfg.dry_run = 0;
	sg_mailguard_contain(&mail, &fx.cfg, &fx.cfg.audit, p, "bounce_share", 0.9, 0.5, T0 + 3);
	assert_int_equal(judge(req("bot@hosting.test", "203.0.113.9", NULL, "DR31", 1), T0 + 3),
			 SG_POLICY_HOLD);
}

/*
 * A fleet hold told in dry run is not made, and stays to be made: the first
 * pull after dry run is turned off contains the account.
 */
static void test_dry_run_fleet_hold(void **state)
{
	struct sg_lapi_decision hold = { .id = 9,
					 .scope = SG_SCOPE_MAIL_ACCOUNT,
					 .origin = SG_ORIGIN_CROWDSEC,
					 .remaining_ns = 3600 * (__s64)SG_NS_PER_SEC,
					 .value = "fleet@hosting.test",
					 .scenario = "smtpguard/campaign" };
	static struct daemon d;
	struct sg_mail_principal *p;

	fx.cfg.dry_run = 1;
	assert_int_equal(send_n("fleet@hosting.test", "203.0.113.9", "FH", 1, 1, T0), 1);
	p = sg_mailstats_get(mail.stats, "sasl:fleet@hosting.test");
	assert_non_null(p);
	d.cfg = &fx.cfg;
	d.audit = fx.cfg.audit;
	d.mail = mail;
	assert_int_equal(sg_daemon_fleet_start(&d), 0);
	sg_bouncer_apply(&d.bouncer, &fx.cfg, NULL, &hold, 1, NULL, 0, 1, 1, 1000 * SG_NS_PER_SEC);
	assert_int_equal(p->contained, 0);
	fx.cfg.dry_run = 0;
	sg_bouncer_apply(&d.bouncer, &fx.cfg, NULL, NULL, 0, NULL, 0, 0, 1, 1001 * SG_NS_PER_SEC);
	assert_int_equal(p->contained, 1);
	sg_bouncer_free(&d.bouncer);
}

/* A record through mailstats and the campaign view, as mailguard feeds them. */
static void record(struct sg_mta_rec *r, time_t t)
{
	r->uid = -1;
	assert_int_equal(sg_mailstats_add(mail.stats, r, t, NULL), 0);
	sg_campaign_record(mail.campaign, &fx.cfg, mail.stats, r, t);
}

/*
 * 198.51.100.20 logs in to 10 accounts, each message bounced: condemned at
 * the tick, its accounts contained. An account it logs in to next is held
 * from that request, contained with rule campaign; another address's login
 * is not.
 */
static void test_campaign_address(void **state)
{
	struct sg_mta_rec r;
	json_t *s;
	int k;

	fx.cfg.campaign.ban_ns = 0; /* no sg_bans here */
	for (k = 0; k < 10; k++) {
		memset(&r, 0, sizeof(r));
		r.ev = SG_MEV_SUBMIT;
		snprintf(r.qid, sizeof(r.qid), "CQ%d", k);
		snprintf(r.client_ip, sizeof(r.client_ip), "198.51.100.20");
		snprintf(r.login, sizeof(r.login), "u%d@hosting.test", k);
		record(&r, T0 + k);
		memset(&r, 0, sizeof(r));
		r.ev = SG_MEV_DELIVERY;
		snprintf(r.qid, sizeof(r.qid), "CQ%d", k);
		snprintf(r.rcpt, sizeof(r.rcpt), "dead%d@far.example", k);
		snprintf(r.relay, sizeof(r.relay), "mx.far.example[192.0.2.200]:25");
		snprintf(r.dsn, sizeof(r.dsn), "5.1.1");
		r.outcome = SG_OUT_BOUNCED;
		record(&r, T0 + k + 1);
	}
	sg_mailcampaign_tick(&mail, &fx.cfg, &fx.cfg.audit, T0 + 20);
	assert_true(sg_mailstats_get(mail.stats, "sasl:u0@hosting.test")->contained);
	assert_true(sg_mailstats_get(mail.stats, "sasl:u9@hosting.test")->contained);
	assert_int_equal(judge(req("fresh@hosting.test", "198.51.100.20", "RCPT", "", 0), T0 + 30),
			 SG_POLICY_HOLD);
	sg_inband_tick(ib, &fx.cfg, &fx.cfg.audit, T0 + 30, NS(T0 + 30));
	assert_true(sg_mailstats_get(mail.stats, "sasl:fresh@hosting.test")->contained);
	assert_int_equal(metrics().condemned, 1);
	assert_int_equal(judge(req("other@hosting.test", "198.51.100.21", NULL, "CR1", 1), T0 + 30),
			 SG_POLICY_DUNNO);
	s = sg_contain_state(&fx.cfg);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(s, "sasl:fresh@hosting.test"), "rule")),
			    "campaign");
	json_decref(s);
	assert_true(file_has("audit.log", "\"target\":\"198.51.100.20\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_account_flat_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_judged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bruteforce_then_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_campaign_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_fleet_hold, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
