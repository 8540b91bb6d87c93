// SPDX-License-Identifier: GPL-2.0
/*
 * What the daemon's exporter serves: /metrics rendered once a tick from
 * what the tick read, /healthz, /senders, and the queries (/explain,
 * /accounts); and the exporter itself, started, stopped and swapped on a
 * reload. A scrape reads no map: it is served what was rendered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>

#include "daemon/daemon.h"
#include "daemon/exposition.h"
#include "daemon/fleetpush.h"
#include "daemon/run.h"
#include "kern/maps.h"
#include "sg_bucket.h"
#include "util/log.h"

/*
 * Render with fn into a memory stream and publish the result at path with
 * HTTP status: on TCP too when public, else on the root-only control socket
 * alone.
 */
static void publish_rendered(struct daemon *d, const char *path, const char *type, int public,
			     unsigned int status, int (*fn)(FILE *f, const void *arg),
			     const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = open_memstream(&buf, &len);
	if (!f) {
		sg_error("rendering %s: %s", path, strerror(errno));
		return;
	}
	err = fn(f, arg);
	if (fclose(f) && !err)
		err = -EIO;
	if (!err)
		err = sg_exporter_publish(d->ex, path, type, buf, len, public, status);
	if (err)
		sg_error("publishing %s: %s", path, strerror(-err));
	free(buf);
}

struct metrics_arg {
	const struct sg_metrics *m;
	struct sg_dnsblwatch *dnsbl;
	__u64 exporter_refused;
	const struct daemon *d;
};

/* The pinned state under the daemon (repair.c): what is broken now, and repairs made. */
static void render_repairs(FILE *f, const struct daemon *d)
{
	int i;

	family(f, "smtpguard_enforcement_broken", "gauge",
	       "1 while enforcement is not as configured and the daemon cannot repair it: pins "
	       "removed or replaced, cgroup hooks detached, the configured cgroup gone.");
	for (i = 0; i < SG_BROKEN__MAX; i++)
		sample_u64(f, "smtpguard_enforcement_broken",
			   LABELS({ "what", sg_broken_names[i] }), d->broken == i + 1);
	family(f, "smtpguard_repairs_total", "counter",
	       "Times the daemon found its pins or hooks gone or replaced and repaired them.");
	for (i = 0; i < SG_BROKEN__MAX; i++)
		sample_u64(f, "smtpguard_repairs_total", LABELS({ "what", sg_broken_names[i] }),
			   d->repairs[i]);
}

/* [notify]: events told, hook runs by outcome, Alertmanager's posts and what was dropped. */
static void render_notify(FILE *f, struct sg_notifier *n)
{
	static const char *const results[] = { "ok", "failed" };
	struct sg_notify_stats st;
	__u64 posts[2];

	sg_notifier_stats(n, &st);
	posts[0] = st.am.posts_ok;
	posts[1] = st.am.posts_failed;
	named_family(f, "smtpguard_notify_events_total", "counter",
		     "Audited actions notified ([notify]), by event.", "event", sg_event_names,
		     st.events, SG_EVENT__MAX);
	named_family(f, "smtpguard_notify_hook_runs_total", "counter",
		     "Runs of the [notify] exec hook, by outcome.", "outcome",
		     sg_hook_outcome_names, st.hooks.runs, SG_HOOK__MAX);
	named_family(f, "smtpguard_notify_alertmanager_posts_total", "counter",
		     "Posts to Alertmanager, by result.", "result", results, posts, 2);
	family(f, "smtpguard_notify_alertmanager_alerts", "gauge",
	       "Alerts the daemon keeps posting to Alertmanager (firing, or resolved and not yet "
	       "posted).");
	sample_u64(f, "smtpguard_notify_alertmanager_alerts", NO_LABELS, st.am.active);
	family(f, "smtpguard_notify_dropped_total", "counter",
	       "Notifications dropped: the hook's queue full, or Alertmanager's alerts at their "
	       "cap.");
	sample_u64(f, "smtpguard_notify_dropped_total", LABELS({ "to", "exec" }), st.hooks.dropped);
	sample_u64(f, "smtpguard_notify_dropped_total", LABELS({ "to", "alertmanager" }),
		   st.am.dropped);
}

static int render_metrics(FILE *f, const void *arg)
{
	const struct metrics_arg *a = arg;
	int err = sg_metrics_render(f, a->m);

	if (!err)
		err = sg_dnsblwatch_render(a->dnsbl, f);
	if (!err)
		err = sg_fleetpush_render(f);
	if (err)
		return err;
	family(f, "smtpguard_exporter_refused_total", "counter",
	       "TCP connections to the exporter closed at once, and password checks deferred "
	       "(429): their client (a local UID, or a remote address) already held its share.");
	sample_u64(f, "smtpguard_exporter_refused_total", NO_LABELS, a->exporter_refused);
	render_repairs(f, a->d);
	render_notify(f, a->d->notify);
	sg_daemon_fleet_render(f, (struct daemon *)a->d);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

static int render_json(FILE *f, const void *arg)
{
	json_t *v = (json_t *)arg;

	return json_dumpf(v, f, JSON_COMPACT) || fputc('\n', f) == EOF ? -EIO : 0;
}

/* What keeps the daemon from enforcing or reading now; NULL when nothing does. */
static const char *health_error(const struct daemon *d)
{
	if (d->broken)
		return d->broken_why;
	return d->tick_failed ? "cannot read the pinned maps" : NULL;
}

static int render_health(FILE *f, const void *arg)
{
	const char *why = health_error(arg);

	if (why)
		fprintf(f, "error: %s\n", why);
	else
		fputs("ok\n", f);
	return ferror(f) ? -EIO : 0;
}

static void publish_senders(struct daemon *d)
{
	json_t *v = sg_recent_json(d->recent, 0, 0);

	if (!v) {
		sg_error("rendering /senders: %s", strerror(ENOMEM));
		return;
	}
	publish_rendered(d, "/senders", "application/json", 0, 200, render_json, v);
	json_decref(v);
	d->recent_changed = 0;
}

/* The detector's and the responder's counts, and the top senders' connection outcomes. */
static void detector_metrics(struct daemon *d, struct sg_metrics *m, __u64 *alerts, __u64 *actions,
			     __u64 *failed)
{
	struct sg_conn_stats cs;
	size_t i;
	int r;

	for (r = 0; r < SG_FAILURES; r++) {
		failed[r] = sg_respond_failed(d->guard.resp, SG_ACT_THROTTLE, r);
		failed[SG_FAILURES + r] = sg_respond_failed(d->guard.resp, SG_ACT_BLOCK, r);
	}
	m->failure_names = sg_respond_failure_names;
	m->n_failures = SG_FAILURES;
	m->failed = failed;

	for (r = 0; r < SG_RULES; r++) {
		alerts[r] = sg_detect_raised(d->guard.det, r);
		for (i = 0; i < SG_ACTIONS; i++)
			actions[i * SG_RULES + r] = sg_respond_count(d->guard.resp, i, r);
	}
	for (i = 0; i < m->n_senders; i++) {
		sg_guard_conn(&d->guard, d->top[i].uid, &cs);
		d->top[i].established = cs.established;
		d->top[i].refused = cs.refused;
		d->top[i].timed_out = cs.timed_out;
	}
	m->rule_names = sg_rule_names;
	m->n_rules = SG_RULES;
	m->alerts = alerts;
	m->action_names = sg_action_names;
	m->n_actions = SG_ACTIONS;
	m->actions = actions;
	m->dry = sg_dry_counts(&m->n_dry);
	m->connections_cut = sg_respond_cut(d->guard.resp);
	m->active = d->active;
	m->n_active = sg_guard_active(&d->guard, d->active, ACTIVE_SHOWN);
	m->conn = &d->guard.conn_total;
}

static unsigned int answer(const char *error, json_t *v, char **body, size_t *len,
			   unsigned int status)
{
	int ok = v != NULL;

	if (!v)
		v = json_pack("{s:s}", "error", error);
	*body = v ? json_dumps(v, JSON_COMPACT) : NULL;
	*len = *body ? strlen(*body) : 0;
	json_decref(v);
	return ok ? 200 : status;
}

/*
 * GET /explain?principal=ID: what the detector knows of a UID ("uid:N" or
 * N) or of a mail principal ("sasl:LOGIN", "local:UID").
 */
static unsigned int explain_query(void *ctx, const char *arg, char **body, size_t *len)
{
	struct daemon *d = ctx;
	__u32 uid;

	if (!arg)
		return answer("expected ?principal=UID, uid:UID, sasl:LOGIN or local:UID", NULL,
			      body, len, 400);
	if (!sg_guard_uid_of(arg, &uid))
		return answer(NULL,
			      sg_guard_explain(&d->guard, d->cfg, d->rates, d->recent, uid,
					       sg_boot_ns(), time(NULL)),
			      body, len, 500);
	return answer("no such principal in the mail server's logs",
		      sg_mailguard_explain(&d->mail, d->cfg, arg, time(NULL)), body, len, 404);
}

/* GET /mode: whether the daemon acts or, in dry run, only tells (`smtpguard status`). */
static unsigned int mode_query(void *ctx, const char *arg, char **body, size_t *len)
{
	const struct daemon *d = ctx;

	return answer("out of memory", json_pack("{s:b}", "dry_run", d->cfg->dry_run), body, len,
		      500);
}

/* GET /accounts: the busiest mail principals, for `top --accounts`. */
static unsigned int accounts_query(void *ctx, const char *arg, char **body, size_t *len)
{
	struct daemon *d = ctx;

	return answer("out of memory", sg_mailguard_top(&d->mail, time(NULL), ACCOUNTS_SERVED),
		      body, len, 500);
}

/* GET /fleet: the CrowdSec link, for `status`. */
static unsigned int fleet_query(void *ctx, const char *arg, char **body, size_t *len)
{
	return answer("out of memory", sg_daemon_fleet_json(ctx), body, len, 500);
}

void sg_daemon_publish_metrics(struct daemon *d, __u64 now)
{
	struct sg_metrics m = { .st = &d->st, .version = SG_VERSION };
	__u64 alerts[SG_RULES], actions[SG_ACTIONS * SG_RULES], failed[2 * SG_FAILURES];
	const __u64 write_errors[SG_WRITTEN__MAX] = { d->audit_fails.errors,
						      d->guard.save_fails.errors };

	m.tick_seconds = (double)d->tick_ns / SG_NS_PER_SEC;
	m.n_senders = sg_senders_top(&d->senders, d->rates, now / SG_NS_PER_SEC,
				     d->cfg->exporter.top_senders, d->top);
	m.senders = d->top;
	m.senders_omitted = d->senders.n - m.n_senders;
	m.events_read = d->events_read;
	m.subuid_ranges = d->subids.outcomes;
	m.events_pending = d->events_pending;
	m.events_unattributed = d->attrib_quota.refused;
	m.fpm_skipped = d->fpm_quota.refused;
	m.ticks = d->ticks;
	m.tick_interval_seconds = (double)d->tick_interval_ns / SG_NS_PER_SEC;
	m.turn_max_seconds = (double)d->turn_max_ns / SG_NS_PER_SEC;
	m.stalls = d->stalls;
	m.anyport = &d->anyport;
	m.stale_names = sg_stale_names;
	d->stale_removed[SG_STALE_BASELINES] = d->guard.pruned_unseen;
	d->stale_removed[SG_STALE_BASELINES_OVER_MAX] = d->guard.pruned_over;
	m.stale_removed = d->stale_removed;
	m.write_errors = write_errors;
	m.n_stale = SG_STALE__MAX;
	m.recent_evicted = sg_recent_evicted(d->recent);
	detector_metrics(d, &m, alerts, actions, failed);
	sg_mailguard_metrics(&d->mail, time(NULL), &d->mta, d->accounts,
			     d->cfg->exporter.top_senders, d->mta_records);
	m.mta = &d->mta;
	sg_defence_metrics(&d->defence, &d->brute_totals, &d->defence_m);
	m.defence = &d->defence_m;
	if (d->inband) {
		sg_inband_metrics(d->inband, &d->inband_m);
		m.inband = &d->inband_m;
	}
	if (d->policy) {
		sg_policysrv_stats(d->policy, &d->policy_st);
		m.policy = &d->policy_st;
	}
	if (d->ex)
		publish_rendered(
			d, "/metrics", SG_METRICS_CONTENT_TYPE, 1, 200, render_metrics,
			&(struct metrics_arg){ &m, d->dnsbl, sg_exporter_refused(d->ex), d });
}

void sg_daemon_publish(struct daemon *d)
{
	if (!d->ex)
		return;
	/* A probe that reads only the status (a load balancer's, blackbox's) sees it fail. */
	publish_rendered(d, "/healthz", "text/plain; charset=utf-8", 1,
			 health_error(d) ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
			 render_health, d);
	/* The whole table is a few MB at its bound: not more often than every 5 s. */
	if (d->recent_changed &&
	    (!d->senders_tick || d->ticks >= d->senders_tick + SENDERS_EVERY)) {
		publish_senders(d);
		d->senders_tick = d->ticks;
	}
	sg_exporter_run(d->ex);
}

int sg_daemon_exporter_start(struct daemon *d, const struct sg_config *c, struct sg_exporter **out)
{
	/* On a reload d->ex is still the running exporter: its count goes on in the new one. */
	struct sg_exporter_opts o = { .control = c->exporter.control,
				      .refused = d->ex ? sg_exporter_refused(d->ex) : 0 };
	struct sg_webconfig *web = NULL;
	char err[512];
	int ret = 0;

	*out = NULL;
	if (c->exporter.enabled) {
		o.host = c->exporter.listen_host;
		o.port = c->exporter.listen_port;
	}
	if (*c->exporter.web_config) {
		o.web = web = malloc(sizeof(*web));
		ret = web ? sg_webconfig_load(c->exporter.web_config, web, err, sizeof(err))
			  : -ENOMEM;
		if (ret == -ENOMEM)
			snprintf(err, sizeof(err), "exporter: %s", strerror(ENOMEM));
	}
	if (!ret)
		ret = sg_exporter_start(&o, out, err, sizeof(err));
	free(web);
	if (ret) {
		sg_error("%s", err);
		return ret;
	}
	ret = sg_daemon_watch(d, sg_exporter_fd(*out), SRC_EXPORTER);
	if (ret) {
		sg_error("exporter: %s", strerror(-ret));
		sg_exporter_stop(*out);
		*out = NULL;
		return ret;
	}
	sg_exporter_query(*out, "/explain", explain_query, d);
	sg_exporter_query(*out, "/accounts", accounts_query, d);
	sg_exporter_query(*out, "/mode", mode_query, d);
	sg_exporter_query(*out, "/fleet", fleet_query, d);
	/* A new exporter has no documents yet: /senders is published at the next tick. */
	d->recent_changed = 1;
	d->senders_tick = 0;
	return 0;
}

void sg_daemon_exporter_stop(struct daemon *d, struct sg_exporter *ex)
{
	if (!ex)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, sg_exporter_fd(ex), NULL);
	sg_exporter_stop(ex);
}

/* A web config is read again on every reload: its file may have changed under the same name. */
static int listen_changed(const struct sg_config *a, const struct sg_config *b)
{
	return a->exporter.enabled != b->exporter.enabled ||
	       a->exporter.listen_port != b->exporter.listen_port ||
	       strcmp(a->exporter.listen_host, b->exporter.listen_host) ||
	       strcmp(a->exporter.control, b->exporter.control) || *a->exporter.web_config ||
	       *b->exporter.web_config;
}

/*
 * The exporter for a reloaded config c into *ex: the running one if the
 * address is the same, else a new one. Moving to another address on the
 * same port (127.0.0.1:9025 to 0.0.0.0:9025) needs the port first: the
 * running exporter stops, and comes back if the new one cannot start.
 */
int sg_daemon_exporter_swap(struct daemon *d, const struct sg_config *c, struct sg_exporter **ex)
{
	int err;

	*ex = d->ex;
	if (!listen_changed(d->cfg, c))
		return 0;
	err = sg_daemon_exporter_start(d, c, ex);
	if (err != -EADDRINUSE || !d->ex || c->exporter.listen_port != d->cfg->exporter.listen_port)
		return err;
	sg_daemon_exporter_stop(d, d->ex);
	d->ex = NULL;
	err = sg_daemon_exporter_start(d, c, ex);
	if (err && sg_daemon_exporter_start(d, d->cfg, &d->ex))
		sg_warn("the metrics exporter is down until the next reload");
	return err;
}
