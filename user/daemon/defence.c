// SPDX-License-Identifier: GPL-2.0
/* Brute-force bans and open-relay alerts, once a tick: see defence.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <jansson.h>

#include "daemon/defence.h"
#include "daemon/dryrun.h"
#include "daemon/fleetpush.h"
#include "host/ownaddr.h"
#include "kern/maps.h"
#include "util/parse.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "kern/state.h"
#include "util/log.h"

#define VERDICTS      256 /* bans given per tick at most; the rest wait a tick */
#define SOURCES_BATCH 1024
#define RELAY_BATCH   64

int sg_defence_init(struct sg_defence *d, const struct sg_bruteforce_cfg *bf, time_t now)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->bf = bf;
	d->brute = sg_brute_new();
	if (!d->brute)
		return -ENOMEM;
	/* What XDP counted before this look is history, not a rate. */
	d->pass_ns = sg_boot_ns();
	if (bf->state[0]) {
		err = sg_brute_load(d->brute, bf->state, now,
				    (time_t)(bf->forget_ns / SG_NS_PER_SEC));
		if (err)
			sg_error("bruteforce: %s: %s; starting with no offenders", bf->state,
				 err == -EINVAL ? "not a JSON object" : strerror(-err));
	}
	return 0;
}

void sg_defence_free(struct sg_defence *d)
{
	sg_brute_free(d->brute);
	d->brute = NULL;
}

void sg_defence_record(struct sg_defence *d, const struct sg_mta_rec *r, time_t now)
{
	if (r->ev != SG_MEV_AUTH_FAIL)
		return;
	sg_brute_fail(d->brute, d->bf, r, now);
	d->failures = 1;
}

/* --- XDP's SYN counts --------------------------------------------------------- */

static int read_sources(struct sg_defence *d, time_t now)
{
	static struct sg_addr keys[SOURCES_BATCH];
	static struct sg_source vals[SOURCES_BATCH];
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 pass = sg_boot_ns();
	/* The hash map's batch token is a bucket number; a key's room is enough. */
	struct sg_addr token;
	void *in = NULL;
	__u32 i, n;
	int fd, err;

	fd = sg_pin_open(SG_MAP_SOURCES);
	if (fd < 0)
		return fd;
	do {
		n = SOURCES_BATCH;
		err = bpf_map_lookup_batch(fd, in, &token, keys, vals, &n, &opts) ? -errno : 0;
		if (err && err != -ENOENT)
			break;
		for (i = 0; i < n; i++)
			sg_brute_syns(d->brute, keys[i].addr, vals[i].login_syns,
				      vals[i].first_ns > d->pass_ns, now);
		in = &token;
	} while (!err);
	close(fd);
	if (err != -ENOENT)
		return err;
	d->pass_ns = pass;
	return 0;
}

/* --- bans ------------------------------------------------------------------- */

/*
 * Puts the ban e audits (daemon/dryrun.h: in dry run told instead, and
 * SG_DRY_TOLD); returns what sg_ban_auto does, after saying a refusal or a
 * failure.
 */
static int ban(struct sg_defence *d, const struct sg_audit_cfg *cfg, const struct sg_audit_entry *e,
	       const struct sg_ban_key *key, __u64 for_ns, __u32 reason)
{
	int err = sg_dry_ban(d->cfg, cfg, e, key, for_ns, reason);

	if (err == SG_DRY_TOLD) {
		d->told[reason]++;
	} else if (err == -EPERM) {
		sg_warn("not banning %s: it covers this host's own address, its gateway, loopback "
			"or [bruteforce] allow",
			e->target);
	} else if (err < 0) {
		d->ban_errors++;
		sg_error("banning %s: %s", e->target, strerror(-err));
	}
	return err;
}

/* The daemon's "ban" entry of addr, its evidence params (taken over). */
static struct sg_audit_entry ban_entry(const char *addr, json_t *params, const char *why,
				       __u64 for_ns)
{
	return (struct sg_audit_entry){ .actor = "daemon",
					.action = "ban",
					.target = addr,
					.params = params,
					.reason = why,
					.expires_ns = sg_boot_ns() + for_ns };
}

static void brute_ban(struct sg_defence *d, const struct sg_audit_cfg *cfg,
		      const struct sg_brute_verdict *v)
{
	const char *rule = sg_ban_reason_name(v->reason);
	/* The login is what a client sent: escaped for the log line and the audit log. */
	char login[SG_ESCAPED_LEN(SG_MTA_LOGIN_MAX)], dur[32], why[sizeof(login) + 128];
	char field[sizeof(login) + 2];
	struct sg_audit_entry e;
	int err;

	sg_escape_id(v->login, login, sizeof(login));
	sg_log_value(v->login, field, sizeof(field));
	if (v->first) {
		sg_info("alert account=%s rule=distributed addresses=%llu limit=%llu", field,
			(unsigned long long)v->value, (unsigned long long)v->limit);
		sg_audit_daemon(cfg, "alert", login,
				json_pack("{s:s, s:I, s:I}", "rule", "distributed", "value",
					  (json_int_t)v->value, "limit", (json_int_t)v->limit),
				"failed logins to one account from many addresses", 0);
	}
	snprintf(why, sizeof(why), "%s: %llu, limit %llu%s%s", rule, (unsigned long long)v->value,
		 (unsigned long long)v->limit, v->login[0] ? ", account " : "", login);
	e = ban_entry(v->addr,
		      json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "rule", rule, "value",
				(json_int_t)v->value, "limit", (json_int_t)v->limit,
				"window_seconds",
				(json_int_t)(v->reason == SG_BAN_SYN_RATE
						     ? SG_BRUTE_SYN_WINDOW
						     : d->bf->window_ns / SG_NS_PER_SEC),
				"offences", (json_int_t)v->offences, "for_seconds",
				(json_int_t)(v->ban_ns / SG_NS_PER_SEC)),
		      why, v->ban_ns);
	if (e.params && v->login[0])
		json_object_set_new(e.params, "account", json_string(login));
	err = ban(d, cfg, &e, &v->key, v->ban_ns, v->reason);
	if (err >= 0 && err != SG_DRY_TOLD) {
		sg_format_duration(v->ban_ns, dur, sizeof(dur));
		sg_info("ban %s rule=%s value=%llu limit=%llu for=%s offences=%u%s%s%s", v->addr,
			rule, (unsigned long long)v->value, (unsigned long long)v->limit, dur,
			v->offences, v->login[0] ? " account=" : "", v->login[0] ? field : "",
			err > 0 ? " (a longer ban stays)" : "");
	}
	if (!err)
		sg_fleetpush_ban(rule, &v->key, v->ban_ns, e.params);
	if (!err && cfg)
		sg_audit_write(cfg, &e);
	json_decref(e.params);
}

static void save_offenders(struct sg_defence *d, const struct sg_bruteforce_cfg *bf)
{
	int err;

	if (!bf->state[0] || !sg_brute_dirty(d->brute))
		return;
	err = sg_brute_save(d->brute, bf->state);
	if (err && !d->state_failed)
		sg_error("bruteforce: writing %s: %s", bf->state, strerror(-err));
	d->state_failed = err != 0;
}

/* --- open relay -------------------------------------------------------------- */

/* rcpt's domain is one of [relay] domains, or under one. */
static int relay_domain(const struct sg_relay_cfg *relay, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t n, m;
	int i;

	if (!at)
		return 0;
	n = strlen(++at);
	for (i = 0; i < relay->n_domains; i++) {
		m = strlen(relay->domains[i]);
		if (n >= m && !strcasecmp(at + n - m, relay->domains[i]) &&
		    (n == m || at[n - m - 1] == '.'))
			return 1;
	}
	return 0;
}

int sg_defence_relay_counts(const struct sg_relay_cfg *relay, const struct sg_mail_relay *r)
{
	return !sg_cidr_list_contains(relay->trusted, relay->n_trusted, r->client) &&
	       !relay_domain(relay, r->rcpt);
}

int sg_defence_relay_alert_due(const struct sg_relay_client *x, time_t now)
{
	return x->messages > x->reported &&
	       (!x->reported || now - x->reported_at >= SG_RELAY_REPORT_EVERY);
}

int sg_defence_relay_ban_due(const struct sg_relay_cfg *relay, const struct sg_relay_client *x,
			     time_t now)
{
	return relay->ban_ns && x->banned_until <= now;
}

static struct sg_relay_client *relay_client(struct sg_defence *d, const struct sg_mail_relay *r)
{
	struct sg_relay_client *x, *idlest = NULL;

	for (x = d->relays; x < d->relays + d->n_relays; x++) {
		if (!memcmp(x->addr, r->client, sizeof(x->addr)))
			return x;
		if (!idlest || x->last < idlest->last)
			idlest = x;
	}
	x = d->n_relays < SG_RELAY_CLIENTS ? &d->relays[d->n_relays++] : idlest;
	memset(x, 0, sizeof(*x));
	memcpy(x->addr, r->client, sizeof(x->addr));
	snprintf(x->ip, sizeof(x->ip), "%s", r->client_ip);
	return x;
}

static void report_relay(struct sg_defence *d, const struct sg_relay_cfg *relay,
			 const struct sg_audit_cfg *cfg, struct sg_relay_client *x, time_t now)
{
	struct sg_ban_key key = { .prefixlen = 128 };
	char dur[32], rcpt[SG_ESCAPED_LEN(SG_MTA_ADDR_MAX) + 2];
	struct sg_audit_entry e;
	int err;

	d->relay_alerts++;
	sg_info("alert open_relay client=%s messages=%llu rcpt=%s", x->ip,
		(unsigned long long)x->messages, sg_log_value(x->rcpt, rcpt, sizeof(rcpt)));
	sg_audit_daemon(cfg, "alert", x->ip,
			json_pack("{s:s, s:I, s:s}", "rule", "open_relay", "messages",
				  (json_int_t)x->messages, "rcpt", x->rcpt),
			"mail from a client that did not log in, relayed to another domain", 0);
	x->reported = x->messages;
	x->reported_at = now;
	if (!sg_defence_relay_ban_due(relay, x, now))
		return;
	memcpy(key.addr, x->addr, sizeof(key.addr));
	e = ban_entry(
		x->ip,
		json_pack("{s:s, s:I}", "rule", "open_relay", "messages", (json_int_t)x->messages),
		"it relayed mail through this host", relay->ban_ns);
	err = ban(d, cfg, &e, &key, relay->ban_ns, SG_BAN_RELAY);
	/* Told: not again until the ban would have ended. */
	if (err >= 0)
		x->banned_until = now + (time_t)(relay->ban_ns / SG_NS_PER_SEC);
	if (err >= 0 && err != SG_DRY_TOLD) {
		d->relay_bans++;
		sg_info("ban %s rule=open_relay for=%s", x->ip,
			sg_format_duration(relay->ban_ns, dur, sizeof(dur)));
		sg_fleetpush_ban("open_relay", &key, relay->ban_ns, e.params);
		if (cfg)
			sg_audit_write(cfg, &e);
	}
	json_decref(e.params);
}

static void relays(struct sg_defence *d, const struct sg_relay_cfg *relay,
		   const struct sg_audit_cfg *cfg, struct sg_mailstats *stats, time_t now)
{
	struct sg_mail_relay batch[RELAY_BATCH];
	struct sg_relay_client *x;
	size_t i, n;

	while ((n = sg_mailstats_relayed(stats, batch, RELAY_BATCH)) > 0) {
		for (i = 0; i < n; i++) {
			if (!sg_defence_relay_counts(relay, &batch[i]))
				continue;
			x = relay_client(d, &batch[i]);
			x->messages++;
			x->last = now;
			snprintf(x->rcpt, sizeof(x->rcpt), "%s", batch[i].rcpt);
			d->relay_messages++;
		}
	}
	for (x = d->relays; x < d->relays + d->n_relays; x++)
		if (sg_defence_relay_alert_due(x, now))
			report_relay(d, relay, cfg, x, now);
}

/* --- the tick ------------------------------------------------------------------ */

static void judge(struct sg_defence *d, const struct sg_bruteforce_cfg *bf,
		  const struct sg_audit_cfg *audit, time_t now)
{
	static struct sg_brute_verdict v[VERDICTS];
	size_t i, n;

	d->failures = 0;
	n = sg_brute_judge(d->brute, bf, now, v, VERDICTS);
	for (i = 0; i < n; i++)
		brute_ban(d, audit, &v[i]);
	save_offenders(d, bf);
}

void sg_defence_react(struct sg_defence *d, const struct sg_bruteforce_cfg *bf,
		      const struct sg_relay_cfg *relay, const struct sg_audit_cfg *audit,
		      struct sg_mailstats *stats, time_t now)
{
	d->bf = bf;
	if (d->failures)
		judge(d, bf, audit, now);
	if (stats)
		relays(d, relay, audit, stats, now);
}

void sg_defence_tick(struct sg_defence *d, const struct sg_bruteforce_cfg *bf,
		     const struct sg_relay_cfg *relay, const struct sg_audit_cfg *audit,
		     struct sg_mailstats *stats, time_t now)
{
	int err;

	d->bf = bf;
	err = read_sources(d, now);
	if (err && !d->sources_failed)
		sg_error("reading %s: %s", SG_MAP_SOURCES, strerror(-err));
	d->sources_failed = err != 0;
	judge(d, bf, audit, now);
	if (stats)
		relays(d, relay, audit, stats, now);
}

void sg_defence_metrics(const struct sg_defence *d, struct sg_brute_totals *tot,
			struct sg_defence_metrics *m)
{
	int i;

	sg_brute_totals(d->brute, tot);
	for (i = 0; i < SG_BAN__MAX; i++)
		tot->bans[i] -= d->told[i];
	tot->bans[SG_BAN_RELAY] = d->relay_bans;
	m->services = sg_brute_service_names;
	m->auth_failures = tot->failures;
	m->n_services = SG_BRUTE_SERVICES;
	m->reasons = sg_ban_reason_names;
	m->n_reasons = SG_BAN__MAX;
	m->bans = d->bans;
	m->banned = tot->bans;
	m->relay_messages = d->relay_messages;
	m->relay_alerts = d->relay_alerts;
	m->ban_errors = d->ban_errors;
	m->ban_protected = sg_bans_refused();
}
