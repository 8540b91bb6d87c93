// SPDX-License-Identifier: GPL-2.0
/* Automatic actions on alerts, and the config's policies; see respond.h. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kern/collect.h"
#include "kern/maps.h"
#include "kern/policybits.h"
#include "util/parse.h"
#include "host/conncut.h"
#include "host/kill.h"
#include "util/htab.h"
#include "util/render.h"
#include "daemon/dryrun.h"
#include "daemon/respond.h"
#include "kern/state.h"
#include "util/log.h"

#define NO_UID ((__u32)-1)
/* UIDs whose throttle or block is failing, told once until one is written. */
#define FAILING_MAX 4096

struct sg_responder {
	__u32 allow[SG_MAX_NAMES], mta[SG_MAX_NAMES]; /* NO_UID: no such user */
	__u32 override_uid[SG_MAX_OVERRIDES];
	__u64 counts[SG_ACTIONS][SG_RULES];
	__u64 failed[2][SG_FAILURES]; /* throttles, blocks */
	struct sg_htab *failing;      /* of __u32 UIDs; past FAILING_MAX told each time */
	__u64 cut;		      /* open connections cut by blocks */
	int policies_fd;	      /* sg_policies, opened once: a tick may look up thousands */
	struct sg_policy default_policy; /* as of the last sg_respond_config */
};

struct sg_responder *sg_responder_new(void)
{
	struct sg_responder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->policies_fd = -1;
	r->failing = sg_htab_new(SG_HTAB_BYTES, sizeof(__u32), sizeof(__u32), 0, FAILING_MAX);
	if (!r->failing) {
		free(r);
		return NULL;
	}
	return r;
}

void sg_responder_free(struct sg_responder *r)
{
	if (!r)
		return;
	if (r->policies_fd >= 0)
		close(r->policies_fd);
	sg_htab_free(r->failing);
	free(r);
}

void sg_respond_reopen(struct sg_responder *r)
{
	if (r->policies_fd >= 0)
		close(r->policies_fd);
	r->policies_fd = -1;
}

static int policies_fd(struct sg_responder *r)
{
	if (r->policies_fd < 0)
		r->policies_fd = sg_pin_open(SG_MAP_POLICIES);
	return r->policies_fd;
}

/* A UID number or a user name. */
static __u32 resolve(const char *name)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	const char *why;
	__u32 uid;

	if (!sg_parse_uid(name, &uid, &why))
		return uid;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res)
		return NO_UID;
	return res->pw_uid;
}

static void resolve_all(const char (*names)[64], int n, __u32 *uids, const char *what, int warn)
{
	int i;

	for (i = 0; i < n; i++) {
		uids[i] = resolve(names[i]);
		if (uids[i] == NO_UID && warn)
			sg_info("%s: no user '%s'", what, names[i]);
	}
}

static int listed(const __u32 *uids, int n, __u32 uid)
{
	int i;

	for (i = 0; i < n; i++)
		if (uids[i] == uid)
			return 1;
	return 0;
}

static const struct sg_override *override_of(const struct sg_responder *r,
					     const struct sg_config *c, __u32 uid)
{
	int i;

	for (i = 0; i < c->n_overrides; i++)
		if (r->override_uid[i] == uid)
			return &c->overrides[i];
	return NULL;
}

/* What the config wants in force for uid; 0 when nothing of its own. */
static int config_policy(const struct sg_responder *r, const struct sg_config *c, __u32 uid,
			 struct sg_policy *p)
{
	const struct sg_override *o = override_of(r, c, uid);

	memset(p, 0, sizeof(*p));
	p->set_by = SG_SET_CONFIG;
	if (listed(r->allow, c->detect.n_allow, uid) || listed(r->mta, c->detect.n_mta_users, uid))
		return 1;
	if (!o || !o->has_limit)
		return 0;
	p->mode = o->limit.mode;
	p->rate_per_hour = o->limit.rate_per_hour;
	p->burst = o->limit.burst;
	return 1;
}

/* Writes the config's policy of uid as sg_decide_config() says. */
static int put_config_policy(int fd, const struct sg_policy *want, __u32 uid, int exempt,
			     __u64 now_ns)
{
	struct sg_policy cur, p = *want;
	int found = !bpf_map_lookup_elem(fd, &uid, &cur) && sg_policy_in_force(&cur, now_ns);

	switch (sg_decide_config(found ? &cur : NULL, want, exempt)) {
	case SG_CONFIG_KEEP:
		return 0;
	case SG_CONFIG_LIFT:
		sg_info("uid %u is exempt now: the detector's %s is lifted", uid,
			sg_mode_name(cur.mode));
		break;
	case SG_CONFIG_WRITE:
		break;
	}
	p.updated_ns = now_ns;
	return sg_policy_put(fd, uid, &p, BPF_ANY);
}

/* Removes uid's policy from fd, counted in *removed. */
static int remove_policy(int fd, __u32 uid, int *removed)
{
	if (!bpf_map_delete_elem(fd, &uid))
		++*removed;
	else if (errno != ENOENT)
		return -errno;
	return 0;
}

/* An alert-only override with no limit of its own: the detector's policy goes. */
static int lift_detector_policy(int fd, __u32 uid, int *removed)
{
	struct sg_policy cur;

	if (bpf_map_lookup_elem(fd, &uid, &cur) || cur.set_by != SG_SET_DETECTOR)
		return 0;
	sg_info("uid %u is exempt now: the detector's %s is lifted", uid, sg_mode_name(cur.mode));
	return remove_policy(fd, uid, removed);
}

struct stale {
	const struct sg_responder *r;
	const struct sg_config *c;
	__u32 uids[256];
	int n;
};

static int find_stale(const void *key, const void *value, void *ctx)
{
	const struct sg_policy *p = value;
	struct stale *s = ctx;
	struct sg_policy want;
	__u32 uid = *(const __u32 *)key;

	if (p->set_by == SG_SET_CONFIG && !config_policy(s->r, s->c, uid, &want) &&
	    s->n < (int)(sizeof(s->uids) / sizeof(s->uids[0])))
		s->uids[s->n++] = uid;
	return 0;
}

void sg_respond_resolve(struct sg_responder *r, const struct sg_config *c, int warn)
{
	int i;

	resolve_all(c->detect.allow, c->detect.n_allow, r->allow, "[detect] allow", warn);
	/* The MTAs not installed here are expected: nothing to say. */
	resolve_all(c->detect.mta_users, c->detect.n_mta_users, r->mta, "[detect] mta_users", 0);
	for (i = 0; i < c->n_overrides; i++) {
		r->override_uid[i] = resolve(c->overrides[i].name);
		/* A mail account's (sasl:LOGIN, an address) is the in-band judge's, no user's. */
		if (r->override_uid[i] == NO_UID && warn && !strpbrk(c->overrides[i].name, ":@"))
			sg_info("[override %s]: no such user", c->overrides[i].name);
	}
}

int sg_respond_config(struct sg_responder *r, const struct sg_config *c, __u64 now_ns, int warn)
{
	struct stale s = { .r = r, .c = c };
	struct sg_settings settings;
	struct sg_policy want, cur;
	int i, fd, err = 0, removed = 0, bits_err;
	__u32 uid;

	if (warn)
		sg_respond_resolve(r, c, warn);
	if (!sg_settings_get(&settings))
		r->default_policy = settings.default_policy;
	fd = policies_fd(r);
	if (fd < 0)
		return fd;
	for (i = 0; !err && i < c->detect.n_allow; i++)
		if (r->allow[i] != NO_UID && config_policy(r, c, r->allow[i], &want))
			err = put_config_policy(fd, &want, r->allow[i], 1, now_ns);
	for (i = 0; !err && i < c->detect.n_mta_users; i++)
		if (r->mta[i] != NO_UID && config_policy(r, c, r->mta[i], &want))
			err = put_config_policy(fd, &want, r->mta[i], 1, now_ns);
	for (i = 0; !err && i < c->n_overrides; i++) {
		uid = r->override_uid[i];
		if (uid == NO_UID)
			continue;
		if (config_policy(r, c, uid, &want))
			err = put_config_policy(fd, &want, uid, c->overrides[i].alert_only, now_ns);
		else if (c->overrides[i].alert_only)
			err = lift_detector_policy(fd, uid, &removed);
	}
	if (!err)
		err = sg_map_for_each(fd, find_stale, &s);
	/* Looked at again just before: a human may have set a policy since the walk. */
	for (i = 0; !err && i < s.n; i++)
		if (!bpf_map_lookup_elem(fd, &s.uids[i], &cur) && cur.set_by == SG_SET_CONFIG)
			err = remove_policy(fd, s.uids[i], &removed);
	/* Their bits go too: left, every connect of their UIDs would look in the hash for nothing. */
	if (removed && (bits_err = sg_policy_bits_rebuild()))
		sg_warn("removing the lifted policies' bits from %s: %s", SG_MAP_POLICY_BITS,
			strerror(-bits_err));
	return err;
}

const struct sg_thresholds *sg_respond_thresholds(const struct sg_responder *r,
						  const struct sg_config *c, __u32 uid)
{
	const struct sg_override *o = override_of(r, c, uid);

	return o ? &o->t : &c->detect.thresholds;
}

enum sg_exempt sg_respond_exempt(const struct sg_responder *r, const struct sg_config *c, __u32 uid)
{
	const struct sg_override *o = override_of(r, c, uid);

	if (listed(r->mta, c->detect.n_mta_users, uid))
		return SG_EXEMPT_MTA;
	if (listed(r->allow, c->detect.n_allow, uid))
		return SG_EXEMPT_ALLOW;
	return o && o->alert_only ? SG_EXEMPT_ALERT_ONLY : SG_EXEMPT_NONE;
}

enum sg_decision sg_respond_decide(const struct sg_responder *r, const struct sg_config *c,
				   __u32 uid, enum sg_rule rule, const struct sg_standing *now,
				   char *why, size_t len)
{
	const struct sg_response *resp = &c->actions[rule];
	struct sg_proposal want = {
		.kind = resp->kind,
		.rate_per_hour = resp->rate_per_hour,
		.exempt = sg_respond_exempt(r, c, uid),
		.root = uid == 0,
	};

	return sg_decide(now, &want, why, len);
}

/* What stands for uid; returns whether it has an entry, expired or not. */
static int standing(struct sg_responder *r, __u32 uid, __u64 now_ns, struct sg_standing *s)
{
	struct sg_policy own;
	int fd = policies_fd(r), exists = fd >= 0 && !bpf_map_lookup_elem(fd, &uid, &own);

	sg_standing_policy(exists ? &own : NULL, &r->default_policy, now_ns, s);
	return exists;
}

int sg_respond_pending(struct sg_responder *r, const struct sg_config *c, __u32 uid,
		       enum sg_rule rule, __u64 now_ns)
{
	const struct sg_response *resp = &c->actions[rule];
	struct sg_standing now;
	char why[160];

	/* Dry run applied nothing, so nothing is applied again: told once, when raised. */
	if (c->dry_run || (resp->kind != SG_ACT_THROTTLE && resp->kind != SG_ACT_BLOCK))
		return 0;
	standing(r, uid, now_ns, &now);
	return sg_respond_decide(r, c, uid, rule, &now, why, sizeof(why)) == SG_DECIDE_APPLY;
}

static json_t *evidence_json(const struct sg_evidence *ev)
{
	const struct sg_principal *p = ev->p;
	const struct sg_rule_state *rs = &p->rules[ev->rule];

	return json_pack("{s:s, s:f, s:f, s:I, s:o, s:I, s:I, s:I, s:b, s:o}", "rule",
			 sg_rule_names[ev->rule], "value", rs->value, "limit", rs->limit, "last_1m",
			 (json_int_t)p->obs.last_1m, "baseline_per_min",
			 p->expected < 0 ? json_null() : json_real(p->expected), "destinations_10m",
			 (json_int_t)p->obs.destinations_10m, "finished_10m",
			 (json_int_t)p->obs.finished_10m, "failed_10m",
			 (json_int_t)p->obs.failed_10m, "new_sender", p->is_new, "processes",
			 ev->processes ? json_incref(ev->processes) : json_array());
}

static void audit(const struct sg_audit_cfg *cfg, const struct sg_evidence *ev, const char *action,
		  json_t *params, __u64 expires_ns)
{
	struct sg_audit_entry e = {
		.actor = "daemon",
		.action = action,
		.has_uid = 1,
		.uid = ev->uid,
		.user = ev->user,
		.params = params,
		.reason = sg_rule_names[ev->rule],
		.expires_ns = expires_ns,
	};

	/* The daemon's cfg counts a failure and tells it once a streak (cfg->fails). */
	sg_audit_write(cfg, &e);
}

/* "action throttle user=bob uid=1001 rule=new_sender value=6000 limit=60 ..." */
static void log_action(const struct sg_evidence *ev, const char *what, const char *detail)
{
	const struct sg_rule_state *rs = &ev->p->rules[ev->rule];
	json_t *first = ev->processes ? json_array_get(ev->processes, 0) : NULL;
	json_t *proc = first ? json_object_get(first, "process") : NULL;
	const char *exe = proc ? json_string_value(json_object_get(proc, "exe")) : NULL;
	const char *script = proc ? json_string_value(json_object_get(proc, "script")) : NULL;
	char user[SG_ESCAPED_LEN(64) + 2], exe_buf[SG_ESCAPED_LEN(PATH_MAX) + 2],
		script_buf[sizeof(exe_buf)];

	/* A customer names its files and its processes: nothing of theirs forges a line. */
	sg_info("%s user=%s uid=%u rule=%s value=%.1f limit=%.1f%s%s%s%s%s%s", what,
		ev->user && *ev->user ? sg_log_value(ev->user, user, sizeof(user)) : "-", ev->uid,
		sg_rule_names[ev->rule], rs->value, rs->limit, detail ? " " : "",
		detail ? detail : "", exe ? " exe=" : "",
		exe ? sg_log_value(exe, exe_buf, sizeof(exe_buf)) : "", script ? " script=" : "",
		script ? sg_log_value(script, script_buf, sizeof(script_buf)) : "");
}

const char *const sg_respond_failure_names[SG_FAILURES] = { "full", "error" };

/*
 * A throttle or block that could not be written: logged, audited as failed
 * and counted, once until one of the UID's is written.
 */
static void limit_failed(struct sg_responder *r, const struct sg_audit_cfg *cfg,
			 const struct sg_evidence *ev, enum sg_action a, int err)
{
	char why[96], value[SG_ESCAPED_LEN(96) + 2], detail[sizeof(value) + 8], action[32];
	json_t *params;
	void *entry;

	if (!sg_htab_add(r->failing, &ev->uid, &entry))
		return;
	params = evidence_json(ev);
	sg_map_write_error(policies_fd(r), err, why, sizeof(why));
	r->failed[a == SG_ACT_BLOCK][err == -E2BIG ? SG_FAIL_FULL : SG_FAIL_ERROR]++;
	snprintf(action, sizeof(action), "action %s failed", sg_action_names[a]);
	snprintf(detail, sizeof(detail), "error=%s", sg_log_value(why, value, sizeof(value)));
	log_action(ev, action, detail);
	if (params)
		json_object_set_new(params, "error", json_string(why));
	snprintf(action, sizeof(action), "%s-failed", sg_action_names[a]);
	audit(cfg, ev, action, params, 0);
	json_decref(params);
}

/*
 * Throttle or block as resp says, for its time; the bucket keeps its tokens.
 * Where the UID had no policy, only a new entry is written: a human's that
 * appeared since the decision stands. -errno when it could not be written.
 */
static int limit(struct sg_responder *r, const struct sg_response *resp,
		 const struct sg_audit_cfg *cfg, const struct sg_evidence *ev, int exists,
		 __u64 now_ns)
{
	struct sg_policy p = {
		.mode = resp->kind == SG_ACT_BLOCK ? SG_MODE_BLOCK : SG_MODE_THROTTLE,
		.burst = resp->burst,
		.rate_per_hour = resp->kind == SG_ACT_BLOCK ? 0 : resp->rate_per_hour,
		.updated_ns = now_ns,
		.expires_ns = now_ns + resp->for_ns,
		.set_by = SG_SET_DETECTOR,
		.flags = SG_POLICY_KEEP_TOKENS,
	};
	enum sg_action a = resp->kind == SG_ACT_BLOCK ? SG_ACT_BLOCK : SG_ACT_THROTTLE;
	char rate[32], dur[32], detail[96];
	json_t *params;
	int cut = 0, err;

	err = sg_policy_put(policies_fd(r), ev->uid, &p, exists ? BPF_ANY : BPF_NOEXIST);
	if (err) {
		limit_failed(r, cfg, ev, a, err);
		return err;
	}
	sg_htab_delete(r->failing, &ev->uid);
	/* After the block is in force: no new session replaces one cut. */
	if (a == SG_ACT_BLOCK)
		cut = sg_cut_connections(ev->uid, NULL);
	if (cut < 0)
		sg_error("block uid %u: cutting its open connections: %s", ev->uid, strerror(-cut));
	else
		r->cut += cut;
	sg_format_rate(p.rate_per_hour, rate, sizeof(rate));
	sg_format_duration(resp->for_ns, dur, sizeof(dur));
	if (a == SG_ACT_THROTTLE)
		snprintf(detail, sizeof(detail), "rate=%s burst=%u for=%s", rate, p.burst, dur);
	else
		snprintf(detail, sizeof(detail), "for=%s cut=%d", dur, cut > 0 ? cut : 0);
	log_action(ev, a == SG_ACT_THROTTLE ? "action throttle" : "action block", detail);
	params = evidence_json(ev);
	if (params && a == SG_ACT_THROTTLE) {
		json_object_set_new(params, "rate", json_string(rate));
		json_object_set_new(params, "burst", json_integer(p.burst));
	}
	if (params && a == SG_ACT_BLOCK)
		json_object_set_new(params, "connections_cut", json_integer(cut > 0 ? cut : 0));
	audit(cfg, ev, sg_action_names[a], params, p.expires_ns);
	json_decref(params);
	return a;
}

static enum sg_action kill_senders(const struct sg_audit_cfg *cfg, const struct sg_evidence *ev)
{
	json_t *pids = json_array(), *params;
	char detail[32];
	int n = pids ? sg_kill_senders(ev->uid, 0, pids, NULL) : -ENOMEM;

	snprintf(detail, sizeof(detail), "killed=%d", n > 0 ? n : 0);
	log_action(ev, "action kill", detail);
	params = evidence_json(ev);
	if (params && pids)
		json_object_set(params, "pids", pids);
	audit(cfg, ev, sg_action_names[SG_ACT_KILL], params, 0);
	json_decref(params);
	json_decref(pids);
	return SG_ACT_KILL;
}

/* In dry run, the throttle, block or kill told with its evidence, not taken (daemon/dryrun.h). */
static int told(const struct sg_config *c, const struct sg_audit_cfg *cfg,
		const struct sg_evidence *ev, const struct sg_response *resp, __u64 now_ns)
{
	struct sg_audit_entry e = {
		.actor = "daemon",
		.action = sg_action_names[resp->kind],
		.has_uid = 1,
		.uid = ev->uid,
		.user = ev->user,
		.params = evidence_json(ev),
		.reason = sg_rule_names[ev->rule],
		.expires_ns = resp->kind == SG_ACT_KILL ? 0 : now_ns + resp->for_ns,
	};
	char rate[32];
	int ret;

	if (e.params && resp->kind == SG_ACT_THROTTLE) {
		sg_format_rate(resp->rate_per_hour, rate, sizeof(rate));
		json_object_set_new(e.params, "rate", json_string(rate));
		json_object_set_new(e.params, "burst", json_integer(resp->burst));
	}
	ret = sg_dry_run(c, cfg, &e, sg_rule_names[ev->rule]);
	json_decref(e.params);
	return ret;
}

enum sg_action sg_respond_alert(struct sg_responder *r, const struct sg_config *c,
				const struct sg_audit_cfg *audit_cfg, const struct sg_evidence *ev,
				int again, __u64 now_ns)
{
	const struct sg_response *resp = &c->actions[ev->rule];
	enum sg_action a = SG_ACT_ALERT;
	struct sg_standing now;
	char why[160];
	int exists, apply, ret;
	json_t *params;

	if (again && (resp->kind == SG_ACT_ALERT || resp->kind == SG_ACT_KILL))
		return SG_ACT_ALERT;
	exists = standing(r, ev->uid, now_ns, &now);
	apply = sg_respond_decide(r, c, ev->uid, ev->rule, &now, why, sizeof(why)) ==
		SG_DECIDE_APPLY;
	/* Told instead: an alert is what was done. */
	if (apply && told(c, audit_cfg, ev, resp, now_ns)) {
		r->counts[SG_ACT_ALERT][ev->rule]++;
		return SG_ACT_ALERT;
	}
	if (apply && resp->kind == SG_ACT_KILL)
		a = kill_senders(audit_cfg, ev);
	else if (apply) {
		ret = limit(r, resp, audit_cfg, ev, exists, now_ns);
		/* Failed: audited as such; an alert is all that was done. */
		if (ret < 0 && !again)
			r->counts[SG_ACT_ALERT][ev->rule]++;
		if (ret < 0)
			return SG_ACT_ALERT;
		a = ret;
	}
	if (a == SG_ACT_ALERT) {
		/* Held alerts are told once, when raised. */
		if (again)
			return a;
		log_action(ev, "alert", why[0] ? why : NULL);
		params = evidence_json(ev);
		if (params && why[0])
			json_object_set_new(params, "note", json_string(why));
		audit(audit_cfg, ev, sg_action_names[SG_ACT_ALERT], params, 0);
		json_decref(params);
	}
	r->counts[a][ev->rule]++;
	return a;
}

__u64 sg_respond_count(const struct sg_responder *r, enum sg_action a, enum sg_rule rule)
{
	return a < SG_ACTIONS && rule < SG_RULES ? r->counts[a][rule] : 0;
}

__u64 sg_respond_failed(const struct sg_responder *r, enum sg_action a, enum sg_respond_failure why)
{
	return (a == SG_ACT_THROTTLE || a == SG_ACT_BLOCK) && why < SG_FAILURES
		       ? r->failed[a == SG_ACT_BLOCK][why]
		       : 0;
}

__u64 sg_respond_cut(const struct sg_responder *r)
{
	return r->cut;
}
