// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the whole log pipeline on any bytes. The first byte picks the
 * log (Postfix's, Exim's, or Dovecot's alone), the rest is split into
 * lines, and each line goes through its parser, core/mailstats
 * (sg_mailstats_add) and core/brute (sg_brute_fail); after each input,
 * as the daemon does once a tick, sg_brute_judge and the detector
 * (sg_mailstats_observe + sg_detect_observe for every principal). After
 * each line:
 *
 *   - the record is well formed: strings NUL-terminated, a failure stands
 *     for exactly one (attempts 1), anything else for none;
 *   - one line adds at most one failure to any count, brute force's or
 *     the mail statistics', one record to its event's count, and no total
 *     ever goes down;
 *
 * and after each input:
 *
 *   - no verdict names an address in [bruteforce] allow, and every
 *     verdict's address and login and every principal id is a
 *     NUL-terminated string within its field, the ids non-empty;
 *   - the detector answers at most one change per rule.
 *
 * Small caps (64 principals) so eviction runs too. The state lives across
 * inputs, as the daemon's does across lines: setting it up costs some 30
 * ms under ASan, a hundred times a short input, and the checks are of one
 * line's or one input's effect. Time starts at REF and only moves
 * forward: by the line's own stamp when it is within a day, else by a few
 * seconds a line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/baseline.h"
#include "core/brute.h"
#include "core/config.h"
#include "core/detect.h"
#include "core/mailstats.h"
#include "mail/mtalog.h"
#include "util/parse.h"

#define REF	 1795476241 /* 2026-11-23 23:24:01 UTC */
#define MAX_PRIN 64

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define CHECK_STR(field) CHECK(memchr(field, '\0', sizeof(field)))

struct run {
	struct sg_mailstats *m;
	struct sg_baselines *bl;
	struct sg_detector *det;
	struct sg_brute *b;
	const struct sg_config *cfg;
	time_t now;
};

static void check_rec(const struct sg_mta_rec *r, enum sg_mta_event ev)
{
	CHECK(r->ev == ev);
	CHECK(r->attempts == (ev == SG_MEV_AUTH_FAIL));
	CHECK_STR(r->qid);
	CHECK_STR(r->client_ip);
	CHECK_STR(r->login);
	CHECK_STR(r->user);
	CHECK_STR(r->sender);
	CHECK_STR(r->rcpt);
	CHECK_STR(r->dsn);
	CHECK_STR(r->relay);
}

static __u64 brute_sum(const struct sg_brute_totals *t)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < SG_BRUTE_SERVICES; i++)
		n += t->failures[i];
	return n;
}

static void check_grew(const struct sg_brute_totals *a, const struct sg_brute_totals *b)
{
	int i;

	for (i = 0; i < SG_BRUTE_SERVICES; i++)
		CHECK(b->failures[i] >= a->failures[i]);
	for (i = 0; i < SG_BAN__MAX; i++)
		CHECK(b->bans[i] >= a->bans[i]);
	CHECK(b->allowed >= a->allowed);
	for (i = 0; i < SG_BRUTE_TABLES; i++)
		CHECK(b->evicted[i] >= a->evicted[i]);
	CHECK(brute_sum(b) - brute_sum(a) <= 1);
}

static int observe(struct sg_mail_principal *p, void *ctx)
{
	struct run *run = ctx;
	struct sg_alert_change ch[SG_RULES];
	struct sg_observation ob;
	int n;

	CHECK_STR(p->id);
	CHECK(p->id[0]);
	sg_mailstats_observe(p, run->now, &ob);
	n = sg_detect_observe(run->det, p->id, &ob, &run->cfg->detect.thresholds, run->now, ch);
	CHECK(n >= -ENOMEM && n <= SG_RULES);
	return 0;
}

static void judge(struct run *run)
{
	const struct sg_bruteforce_cfg *c = &run->cfg->bruteforce;
	struct sg_brute_verdict v[8];
	size_t n, i;

	n = sg_brute_judge(run->b, c, run->now, v, 8);
	CHECK(n <= 8);
	for (i = 0; i < n; i++) {
		CHECK_STR(v[i].addr);
		CHECK_STR(v[i].login);
		CHECK(v[i].reason < SG_BAN__MAX);
		CHECK(!sg_cidr_list_contains(c->allow, c->n_allow, v[i].key.addr));
	}
}

static void line(struct run *run, enum sg_mta_type t, const char *l, size_t len)
{
	struct sg_mailstats_host h0, h1;
	struct sg_brute_totals b0, b1;
	struct sg_mta_rec r;
	enum sg_mta_event ev;
	size_t i;

	ev = sg_mta_parse(t, l, len, run->now, &r);
	check_rec(&r, ev);
	if (r.when > run->now && r.when < run->now + 86400)
		run->now = r.when;
	else
		run->now += 3;
	sg_mailstats_host(run->m, &h0);
	sg_brute_totals(run->b, &b0);
	CHECK(sg_mailstats_add(run->m, &r, run->now, NULL) <= 0);
	if (ev == SG_MEV_AUTH_FAIL)
		sg_brute_fail(run->b, &run->cfg->bruteforce, &r, run->now);
	sg_mailstats_host(run->m, &h1);
	sg_brute_totals(run->b, &b1);
	check_grew(&b0, &b1);
	CHECK(h1.auth_failures - h0.auth_failures <= 1 && h1.auth_failures >= h0.auth_failures);
	CHECK(h1.bounces_in >= h0.bounces_in && h1.principals_evicted >= h0.principals_evicted &&
	      h1.principals_refused >= h0.principals_refused && h1.qids_evicted >= h0.qids_evicted);
	for (i = 0; i < SG_MTA_EVENT_KINDS; i++)
		CHECK(h1.records[i] - h0.records[i] == (i == (size_t)ev));
	CHECK(h1.principals <= MAX_PRIN);
}

/* The operator's networks, never banned: the documentation ranges most fixtures use. */
static void allow(struct sg_bruteforce_cfg *c)
{
	static const char *const nets[] = { "198.51.100.0/24", "2001:db8::/32" };
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		CHECK(!sg_parse_cidr(nets[i], &c->allow[c->n_allow++], &why));
	c->auth_failures = 3;
	c->distributed = 2;
	c->state[0] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum sg_mta_type types[] = { SG_MTA_POSTFIX, SG_MTA_EXIM, SG_MTA_NONE };
	static struct sg_config cfg; /* large: not on the stack */
	static struct run run = { .cfg = &cfg, .now = REF };
	const char *p, *end, *nl;
	char *buf;

	if (!size)
		return 0;
	if (!run.m) {
		sg_config_default(&cfg);
		allow(&cfg.bruteforce);
		run.m = sg_mailstats_new(MAX_PRIN);
		run.bl = sg_baselines_new();
		run.det = run.bl ? sg_detector_new(run.bl) : NULL;
		run.b = sg_brute_new();
		CHECK(run.m && run.det && run.b);
	}
	/* Its own copy, exactly the input's size: a read past a line is an ASan report. */
	buf = malloc(size - 1 ? size - 1 : 1);
	CHECK(buf);
	memcpy(buf, data + 1, size - 1);
	for (p = buf, end = buf + size - 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		line(&run, types[data[0] % 3], p, (size_t)(nl - p));
	}
	/* Once an input, as the daemon does once a tick: both scan every entry. */
	judge(&run);
	sg_mailstats_all(run.m, observe, &run);
	free(buf);
	return 0;
}
