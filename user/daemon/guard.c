// SPDX-License-Identifier: GPL-2.0
/* The detection tick for UIDs; see guard.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/guard.h"
#include "util/parse.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "util/log.h"
#include "util/writefail.h"

#define RECENT_SHOWN 4 /* processes an action's evidence names */

int sg_guard_init(struct sg_guard *g, const struct sg_config *c)
{
	char warn[PATH_MAX + 256];
	int ret;

	memset(g, 0, sizeof(*g));
	g->store = sg_baselines_new();
	g->det = g->store ? sg_detector_new(g->store) : NULL;
	g->resp = sg_responder_new();
	g->failed = sg_rates_new();
	g->finished = sg_rates_new();
	if (!g->det || !g->resp || !g->failed || !g->finished)
		return -ENOMEM;
	if (!c->detect.baselines[0])
		return 0;
	ret = sg_baselines_load(g->store, c->detect.baselines, warn, sizeof(warn));
	if (ret)
		sg_warn("warning: %s", warn);
	else
		sg_info("%zu baselines from %s", sg_baselines_count(g->store), c->detect.baselines);
	g->saved = time(NULL);
	return 0;
}

void sg_guard_free(struct sg_guard *g)
{
	sg_detector_free(g->det);
	sg_baselines_free(g->store);
	sg_responder_free(g->resp);
	sg_rates_free(g->failed);
	sg_rates_free(g->finished);
	free(g->conn);
	free(g->conn_recent);
	free(g->kept);
	free(g->kept_next);
}

void sg_guard_config(struct sg_guard *g, const struct sg_config *c, __u64 now_ns)
{
	int err = sg_respond_config(g->resp, c, now_ns, 1);

	if (err)
		sg_error("writing the config's policies: %s", strerror(-err));
}

/* What retention lets go, before the store is written. */
static void prune(struct sg_guard *g, const struct sg_config *c, time_t now)
{
	int err = sg_detect_prune(g->det, now, (time_t)(c->detect.retention_ns / SG_NS_PER_SEC),
				  c->detect.baselines_max, &g->pruned_unseen, &g->pruned_over);

	if (err)
		sg_error("forgetting unseen principals: %s", strerror(-err));
}

void sg_guard_save(struct sg_guard *g, const struct sg_config *c, time_t now)
{
	char err[PATH_MAX + 256], what[PATH_MAX + 16];
	char dir[PATH_MAX], *slash;
	int ret;

	prune(g, c, now);
	g->saved = now;
	if (!c->detect.baselines[0])
		return;
	/* Outside systemd (make run), nothing made StateDirectory: make it, private. */
	snprintf(dir, sizeof(dir), "%s", c->detect.baselines);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	/* Written aside and renamed over: a failure leaves the last good file whole. */
	ret = sg_baselines_save(g->store, c->detect.baselines, err, sizeof(err));
	snprintf(what, sizeof(what), "baselines %s", c->detect.baselines);
	sg_write_note(&g->save_fails, what, ret);
}

static const struct sg_conn_row *conn_row(const struct sg_guard *g, __u32 uid)
{
	size_t lo = 0, hi = g->n_conn, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (g->conn[mid].uid == uid)
			return &g->conn[mid];
		if (g->conn[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void sg_guard_conn(const struct sg_guard *g, __u32 uid, struct sg_conn_stats *out)
{
	const struct sg_conn_row *row = conn_row(g, uid);

	memset(out, 0, sizeof(*out));
	if (row)
		*out = row->s;
}

/* The sock_ops outcomes as cumulative counts, fed to their rates; each row's 10 min counts kept. */
static int read_conn(struct sg_guard *g, __u64 now_s)
{
	__u64 counts[SG_WIN_10M + 1];
	size_t i;
	int err;

	free(g->conn);
	free(g->conn_recent);
	g->conn = NULL;
	g->conn_recent = NULL;
	err = sg_conn_stats_read(&g->conn, &g->n_conn);
	if (!err && g->n_conn) {
		g->conn_recent = calloc(g->n_conn, sizeof(*g->conn_recent));
		err = g->conn_recent ? 0 : -ENOMEM;
	}
	g->conn_read = !err;
	if (err) {
		g->n_conn = 0;
		return err;
	}
	sg_conn_stats_total(g->conn, g->n_conn, &g->conn_total);
	sg_rates_pass(g->failed, now_s);
	sg_rates_pass(g->finished, now_s);
	for (i = 0; !err && i < g->n_conn; i++) {
		const struct sg_conn_stats *s = &g->conn[i].s;

		err = sg_rates_sample_counts(g->failed, g->conn[i].uid, s->refused + s->timed_out,
					     0, now_s, counts, SG_WIN_10M + 1);
		g->conn_recent[i].failed_10m = counts[SG_WIN_10M];
		if (!err)
			err = sg_rates_sample_counts(g->finished, g->conn[i].uid,
						     s->established + s->refused + s->timed_out, 0,
						     now_s, counts, SG_WIN_10M + 1);
		g->conn_recent[i].finished_10m = counts[SG_WIN_10M];
	}
	if (err) {
		/* The rows left unsampled have no counts: observe takes the rates' history. */
		free(g->conn_recent);
		g->conn_recent = NULL;
	}
	return err;
}

static void principal_id(__u32 uid, char *buf, size_t len)
{
	snprintf(buf, len, SG_UID_PRINCIPAL "%u", uid);
}

int sg_guard_uid_of(const char *id, __u32 *uid)
{
	size_t n = strlen(SG_UID_PRINCIPAL);
	const char *why;

	if (!strncmp(id, SG_UID_PRINCIPAL, n))
		id += n;
	return sg_parse_uid(id, uid, &why) ? -EINVAL : 0;
}

struct active_ctx {
	struct sg_alert_metric *out;
	size_t n, max;
};

static int add_active(const struct sg_principal *p, void *ctx)
{
	struct active_ctx *a = ctx;
	__u32 uid;
	int r;

	if (sg_guard_uid_of(p->id, &uid))
		return 0;
	for (r = 0; r < SG_RULES && a->n < a->max; r++) {
		if (!p->rules[r].active)
			continue;
		a->out[a->n].uid = uid;
		a->out[a->n].user[0] = '\0';
		sg_user_name_cached(uid, a->out[a->n].user, sizeof(a->out[a->n].user));
		a->out[a->n++].rule = sg_rule_names[r];
	}
	return a->n == a->max;
}

size_t sg_guard_active(const struct sg_guard *g, struct sg_alert_metric *out, size_t max)
{
	struct active_ctx a = { out, 0, max };

	sg_detect_each_active(g->det, add_active, &a);
	return a.n;
}

/*
 * The row's observation. *conn walks g->conn alongside the rows (both by
 * UID): a UID the read of sg_conn_stats had comes with its counts; one it
 * had not may still have some in its rates' history.
 */
static void observe(const struct sg_guard *g, const struct sg_uid_row *row, size_t *conn,
		    __u64 now_ns, time_t now, struct sg_observation *o)
{
	__u64 now_s = now_ns / SG_NS_PER_SEC;

	while (*conn < g->n_conn && g->conn[*conn].uid < row->uid)
		++*conn;
	/* Whole: the mail principals' counts stay 0 for a UID. */
	*o = (struct sg_observation){
		.total = row->attempts,
		.last_1m = row->recent[SG_WIN_1M],
		.destinations_10m = row->destinations[SG_WIN_10M],
	};
	if (g->conn_recent && *conn < g->n_conn && g->conn[*conn].uid == row->uid) {
		o->finished_10m = g->conn_recent[*conn].finished_10m;
		o->failed_10m = g->conn_recent[*conn].failed_10m;
	} else {
		o->finished_10m = sg_rates_count(g->finished, row->uid, SG_WIN_10M, now_s);
		o->failed_10m = sg_rates_count(g->failed, row->uid, SG_WIN_10M, now_s);
	}
	/* The kernel's clock is the boot's: its first count, in wall time. */
	if (row->first_ns && row->first_ns <= now_ns)
		o->first_seen = now - (time_t)((now_ns - row->first_ns) / SG_NS_PER_SEC);
}

static json_t *recent_json(const struct sg_recent *recent, __u32 uid)
{
	struct sg_sender_info *info = calloc(RECENT_SHOWN, sizeof(*info));
	json_t *a = json_array();
	size_t i, n;

	if (!info || !a) {
		free(info);
		json_decref(a);
		return NULL;
	}
	n = sg_recent_get(recent, uid, info, RECENT_SHOWN);
	for (i = 0; i < n; i++)
		json_array_append_new(a, sg_sender_info_json(&info[i]));
	free(info);
	return a;
}

struct act_ctx {
	struct sg_guard *g;
	const struct sg_config *c;
	const struct sg_recent *recent;
	const struct sg_audit_cfg *audit;
	__u64 now_ns;
};

static void act(struct act_ctx *a, __u32 uid, const struct sg_principal *p, enum sg_rule rule,
		int again)
{
	char user[64] = "";
	struct sg_evidence ev = { .uid = uid, .user = user, .p = p, .rule = rule };

	sg_user_name_cached(uid, user, sizeof(user));
	ev.processes = recent_json(a->recent, uid);
	sg_respond_alert(a->g->resp, a->c, a->audit, &ev, again, a->now_ns);
	json_decref(ev.processes);
}

/* An active alert whose action has run out is acted on again while it holds. */
static int hold(const struct sg_principal *p, void *ctx)
{
	struct act_ctx *a = ctx;
	__u32 uid;
	int r;

	if (sg_guard_uid_of(p->id, &uid))
		return 0;
	for (r = 0; r < SG_RULES; r++)
		if (p->rules[r].active && sg_respond_pending(a->g->resp, a->c, uid, r, a->now_ns))
			act(a, uid, p, r, 1);
	return 0;
}

/* Every customer's mail leaves through the MTA: its users would page for it. */
const struct sg_thresholds *sg_guard_thresholds(const struct sg_guard *g, const struct sg_config *c,
						__u32 uid)
{
	static const struct sg_thresholds off;
	enum sg_exempt ex = sg_respond_exempt(g->resp, c, uid);

	return ex == SG_EXEMPT_ALLOW || ex == SG_EXEMPT_MTA
		       ? &off
		       : sg_respond_thresholds(g->resp, c, uid);
}

/* Room for this tick's n principals kept; -ENOMEM: none is kept, every UID is looked up. */
static int kept_reserve(struct sg_guard *g, size_t n)
{
	struct sg_guard_kept *p;

	if (n <= g->cap_kept)
		return 0;
	p = realloc(g->kept, n * sizeof(*p));
	if (p)
		g->kept = p;
	p = p ? realloc(g->kept_next, n * sizeof(*p)) : NULL;
	if (!p) {
		g->n_kept = 0;
		return -ENOMEM;
	}
	g->kept_next = p;
	g->cap_kept = n;
	return 0;
}

/* uid's principal as the last tick kept it, walking g->kept (by UID, as the rows) from *k on. */
static struct sg_principal *kept_principal(const struct sg_guard *g, __u32 uid, size_t *k)
{
	while (*k < g->n_kept && g->kept[*k].uid < uid)
		++*k;
	return *k < g->n_kept && g->kept[*k].uid == uid ? g->kept[*k].p : NULL;
}

void sg_guard_tick(struct sg_guard *g, const struct sg_config *c, const struct sg_senders *s,
		   const struct sg_recent *recent, const struct sg_audit_cfg *audit, __u64 now_ns,
		   time_t now)
{
	struct act_ctx a = { g, c, recent, audit, now_ns };
	struct sg_alert_change changes[SG_RULES];
	__u64 now_s = now_ns / SG_NS_PER_SEC;
	struct sg_observation o;
	char id[SG_PRINCIPAL_MAX], user[64], field[SG_ESCAPED_LEN(64) + 2];
	struct sg_principal *p;
	size_t i, conn = 0, k = 0;
	int n, j, err, keep;

	err = read_conn(g, now_s);
	if (err)
		sg_error("reading %s: %s", SG_MAP_CONN_STATS, strerror(-err));
	if (g->hour && now / 3600 != g->hour) {
		sg_baselines_roll(g->store, now);
		sg_guard_save(g, c, now);
	} else if (now - g->saved >= SG_BASELINE_SAVE_S) {
		sg_guard_save(g, c, now);
	}
	g->hour = now / 3600;
	/* Principals forgotten (retention, above) free what was kept: all are looked up anew. */
	if (g->kept_forgotten != sg_detect_forgotten(g->det))
		g->n_kept = 0;
	keep = g->started && !kept_reserve(g, s->n);
	for (i = 0; i < s->n; i++) {
		p = keep ? kept_principal(g, s->rows[i].uid, &k) : NULL;
		if (!p)
			principal_id(s->rows[i].uid, id, sizeof(id));
		if (!g->started) {
			if (s->rows[i].attempts &&
			    sg_detect_known(g->det, id, s->rows[i].attempts, now))
				sg_error("detector: %s", strerror(ENOMEM));
			continue;
		}
		observe(g, &s->rows[i], &conn, now_ns, now, &o);
		n = sg_detect_observe_kept(g->det, &p, id, &o,
					   sg_guard_thresholds(g, c, s->rows[i].uid), now, changes);
		if (keep)
			g->kept_next[i] = (struct sg_guard_kept){ s->rows[i].uid, p };
		if (n < 0) {
			sg_error("detector: %s", strerror(-n));
			continue;
		}
		for (j = 0; j < n; j++) {
			if (changes[j].raised) {
				act(&a, s->rows[i].uid, p, changes[j].rule, 0);
				continue;
			}
			user[0] = '\0';
			sg_user_name_cached(s->rows[i].uid, user, sizeof(user));
			sg_info("alert cleared user=%s uid=%u rule=%s",
				user[0] ? sg_log_value(user, field, sizeof(field)) : "-",
				s->rows[i].uid, sg_rule_names[changes[j].rule]);
		}
	}
	if (!g->started) {
		sg_rates_started(g->failed, now_s);
		sg_rates_started(g->finished, now_s);
		g->started = 1;
		return;
	}
	if (keep) {
		struct sg_guard_kept *t = g->kept;

		g->kept = g->kept_next;
		g->kept_next = t;
		g->n_kept = s->n;
		g->kept_forgotten = sg_detect_forgotten(g->det);
	}
	sg_detect_each_active(g->det, hold, &a);
	/* What a detector's policy running out, or a release's grace ending, leaves: the config's.
	 */
	err = sg_respond_config(g->resp, c, now_ns, 0);
	if (err)
		sg_error("writing the config's policies: %s", strerror(-err));
}

static json_t *rules_json(const struct sg_principal *p, const struct sg_thresholds *t)
{
	json_t *o = json_object();
	const struct sg_rule_state *rs;
	int r;

	for (r = 0; o && r < SG_RULES; r++) {
		rs = &p->rules[r];
		json_object_set_new(o, sg_rule_names[r],
				    json_pack("{s:b, s:I, s:I, s:f, s:f, s:I}", "active",
					      rs->active, "since", (json_int_t)rs->since,
					      "last_true", (json_int_t)rs->last_true, "value",
					      rs->value, "limit", rs->limit, "raised",
					      (json_int_t)rs->raised));
	}
	return o;
}

json_t *sg_guard_explain(const struct sg_guard *g, const struct sg_config *c,
			 const struct sg_rates *rates, const struct sg_recent *recent, __u32 uid,
			 __u64 now_ns, time_t now)
{
	const struct sg_thresholds *t = sg_respond_thresholds(g->resp, c, uid);
	enum sg_exempt ex = sg_respond_exempt(g->resp, c, uid);
	__u64 now_s = now_ns / SG_NS_PER_SEC;
	const struct sg_principal *p;
	struct sg_conn_stats cs;
	char id[SG_PRINCIPAL_MAX];
	json_t *o, *w;
	int i;

	principal_id(uid, id, sizeof(id));
	p = sg_detect_get(g->det, id);
	sg_guard_conn(g, uid, &cs);
	o = json_pack("{s:s, s:I, s:s?, s:o, s:{s:f, s:f, s:I, s:f, s:I, s:f, s:I}, s:{s:I, s:I, "
		      "s:I, s:I}}",
		      "principal", id, "uid", (json_int_t)uid, "exempt", sg_exempt_text(ex),
		      "processes", recent_json(recent, uid) ?: json_array(), "thresholds",
		      "rate_floor", t->rate_floor, "rate_factor", t->rate_factor, "destinations",
		      (json_int_t)t->destinations, "new_sender_rate", t->new_sender_rate,
		      "new_sender_min", (json_int_t)t->new_sender_min, "failure_ratio",
		      t->failure_ratio, "failure_min", (json_int_t)t->failure_min, "connections",
		      "established", (json_int_t)cs.established, "refused", (json_int_t)cs.refused,
		      "timed_out", (json_int_t)cs.timed_out, "bytes_sent",
		      (json_int_t)cs.bytes_sent);
	if (!o)
		return NULL;
	w = json_object();
	for (i = 0; w && i < SG_WINDOWS; i++)
		json_object_set_new(w, sg_window_names[i],
				    json_integer(sg_rates_count(rates, uid, i, now_s)));
	json_object_set_new(o, "counts", w ?: json_null());
	json_object_set_new(o, "now", json_integer(now));
	if (!p) {
		json_object_set_new(o, "known", json_false());
		return o;
	}
	json_object_set_new(o, "known", json_true());
	json_object_set_new(o, "total", json_integer(p->obs.total));
	json_object_set_new(o, "destinations_10m", json_integer(p->obs.destinations_10m));
	json_object_set_new(o, "finished_10m", json_integer(p->obs.finished_10m));
	json_object_set_new(o, "failed_10m", json_integer(p->obs.failed_10m));
	json_object_set_new(o, "baseline_per_min",
			    p->expected < 0 ? json_null() : json_real(p->expected));
	json_object_set_new(o, "first_seen",
			    p->baseline->first_seen ? json_integer(p->baseline->first_seen)
						    : json_null());
	json_object_set_new(o, "new_sender", json_boolean(p->is_new));
	json_object_set_new(o, "rules", rules_json(p, t) ?: json_null());
	return o;
}
