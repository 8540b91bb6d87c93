// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon: load or reuse the pinned state, attach, then one epoll loop.
 * Ring-buffer events are attributed the moment they are read; every second
 * the maps are read once, rates advance, expired entries go and /metrics is
 * rendered for the exporter to serve. Enforcement never depends on this
 * process: the programs and maps stay pinned when it exits or dies.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "host/attrib.h"
#include "host/recent.h"
#include "host/audit.h"
#include "kern/collect.h"
#include "core/config.h"
#include "daemon/daemon.h"
#include "daemon/dnsblwatch.h"
#include "daemon/exporter.h"
#include "daemon/guard.h"
#include "daemon/mailguard.h"
#include "kern/loader.h"
#include "kern/maps.h"
#include "daemon/metrics.h"
#include "util/log.h"
#include "util/parse.h"
#include "core/rates.h"
#include "daemon/senders.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "daemon/sweep.h"
#include "daemon/defence.h"

#define SENDERS_EVERY 5 /* ticks */
#define ACTIVE_SHOWN 200 /* smtpguard_alert_active series at most */
#define ACCOUNTS_SERVED 100 /* rows of /accounts */

struct daemon {
	const char *path; /* NULL: running on the built-in default */
	struct sg_config *cfg;
	struct sg_attrib_cfg attrib;
	const char *fpm_sockets[SG_MAX_FPM];
	struct sg_audit_cfg audit;

	int epfd, timerfd, sigfd;
	struct ring_buffer *rb;
	struct sg_exporter *ex;

	struct sg_rates *rates;
	struct sg_recent *recent;
	int recent_changed;
	struct sg_senders senders;
	struct sg_sender_rate *top;
	struct sg_status st;
	struct sg_guard guard;
	struct sg_mailguard mail;
	struct sg_defence defence;
	struct sg_defence_metrics defence_m;
	struct sg_brute_totals brute_totals;
	struct sg_alert_metric *active; /* [ACTIVE_SHOWN] */
	struct sg_account_metric *accounts; /* [top_senders] */
	__u64 mta_records[SG_MTA_EVENT_KINDS];
	struct sg_mta_metrics mta;
	__u64 events_read;
	__u64 ticks;
	__u64 senders_tick; /* when /senders was last published */
	int rates_started;
	int tick_failed; /* the last tick could not read the maps */
	struct sg_dnsblwatch *dnsbl; /* NULL: no blocklist checks */
};

/* What the epoll events carry, to tell the sources apart. */
enum source { SRC_RING, SRC_TIMER, SRC_SIGNAL, SRC_EXPORTER, SRC_MTA };

/* The parts of the config that other modules take as plain pointers. */
static void derive(struct daemon *d)
{
	const struct sg_config *c = d->cfg;
	int i;

	for (i = 0; i < c->attribution.n_fpm_sockets; i++)
		d->fpm_sockets[i] = c->attribution.fpm_sockets[i];
	d->attrib = (struct sg_attrib_cfg){
		.proc = "/proc",
		.cpanel_userdomains = c->attribution.cpanel_userdomains,
		.cpanel_trueuserowners = c->attribution.cpanel_trueuserowners,
		.directadmin_domainowners = c->attribution.directadmin_domainowners,
		.fpm_sockets = d->fpm_sockets,
		.n_fpm = c->attribution.n_fpm_sockets,
		.fpm_status_path = c->attribution.fpm_status_path,
	};
	d->audit = c->audit;
}

static int load_config(const char *path, struct sg_config *c)
{
	char err[PATH_MAX + 256];
	int ret;

	sg_config_default(c);
	if (!path)
		return 0;
	ret = sg_config_load(path, c, err, sizeof(err));
	if (ret)
		sg_error("%s", err);
	else
		sg_log_set_level(c->daemon.log_level);
	return ret;
}

static __u32 port_flags(const struct sg_config *c, __u32 port)
{
	__u32 flags = 0;
	int i;

	for (i = 0; i < c->ports.n_outbound; i++)
		flags |= c->ports.outbound[i] == port ? SG_PORT_OUTBOUND : 0;
	for (i = 0; i < c->ports.n_inbound; i++)
		flags |= c->ports.inbound[i] == port ? SG_PORT_INBOUND : 0;
	for (i = 0; (flags & SG_PORT_INBOUND) && i < c->bruteforce.n_syn_ports; i++)
		flags |= c->bruteforce.syn_ports[i] == port ? SG_PORT_LOGIN : 0;
	return flags;
}

struct port_fix {
	const struct sg_config *c;
	int fd, err;
	__u32 unlisted[SG_MAX_PORTS]; /* ports the config no longer lists */
	int n_unlisted;
};

/* A port in the map whose flags the config changes. */
static int fix_port(const void *key, const void *value, void *ctx)
{
	struct port_fix *f = ctx;
	__u32 port = *(const __u32 *)key, want = port_flags(f->c, port);

	if (!want) {
		if (f->n_unlisted < SG_MAX_PORTS)
			f->unlisted[f->n_unlisted++] = port;
		return 0;
	}
	/* Rewriting a per-CPU entry loses what is counted meanwhile: only when it changes. */
	if (((const struct sg_port *)value)->flags != want)
		f->err = sg_port_set(f->fd, port, want);
	return f->err;
}

static int add_port(int fd, const struct sg_config *c, __u32 port)
{
	struct sg_port v;
	int err = sg_port_get(fd, port, &v);

	if (err == -ENOENT)
		return sg_port_set(fd, port, port_flags(c, port));
	return err;
}

/*
 * The map holds the listed ports only: an unlisted port goes (its counters
 * with it, as its series in /metrics), so that changing the list on reload
 * never fills the map.
 */
static int apply_ports(const struct sg_config *c)
{
	struct port_fix f = { .c = c };
	int err, i;

	f.fd = sg_pin_open(SG_MAP_PORTS);
	if (f.fd < 0)
		return f.fd;
	err = sg_map_for_each(f.fd, fix_port, &f);
	for (i = 0; !err && i < f.n_unlisted; i++)
		if (bpf_map_delete_elem(f.fd, &f.unlisted[i]) && errno != ENOENT)
			err = -errno;
	for (i = 0; !err && i < c->ports.n_outbound; i++)
		err = add_port(f.fd, c, c->ports.outbound[i]);
	for (i = 0; !err && i < c->ports.n_inbound; i++)
		err = add_port(f.fd, c, c->ports.inbound[i]);
	close(f.fd);
	return err;
}

/* The kernel side of the config: default policy, denial-event interval, watched ports. */
static int apply_settings(const struct sg_config *c)
{
	struct sg_settings s;
	int err = sg_settings_get(&s);

	if (err)
		return err;
	/* Only a different default refills the buckets of the UIDs it governs. */
	if (s.default_policy.mode != c->policy.def.mode ||
	    s.default_policy.burst != c->policy.def.burst ||
	    s.default_policy.rate_per_hour != c->policy.def.rate_per_hour ||
	    s.default_policy.expires_ns) {
		s.default_policy = c->policy.def;
		s.default_policy.updated_ns = sg_boot_ns();
	}
	s.deny_event_interval_ns = c->policy.deny_event_interval_ns;
	err = sg_settings_set(&s);
	return err ? err : apply_ports(c);
}

static int attach(const struct sg_config *c)
{
	char defaults[SG_MAX_IFACES][IF_NAMESIZE];
	char *ifaces[SG_MAX_IFACES];
	int i, n = c->daemon.n_interfaces;

	for (i = 0; i < n; i++)
		ifaces[i] = (char *)c->daemon.interfaces[i];
	if (!n) {
		n = sg_default_ifaces(defaults, SG_MAX_IFACES);
		for (i = 0; i < n; i++)
			ifaces[i] = defaults[i];
		if (!n)
			sg_warn("no interface carries a default route: no TC or XDP");
	}
	/* sg_attach() says what failed. */
	return sg_attach(c->daemon.cgroup[0] ? c->daemon.cgroup : NULL, ifaces, n);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	struct sg_sender_info info;
	struct sg_event e;
	char line[2048];

	/* The ring buffer is the kernel's; still, never read past what it handed over. */
	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	d->events_read++;
	sg_attrib_resolve(&d->attrib, &e, &info);
	if (sg_recent_add(d->recent, &info))
		sg_error("recent senders: %s", strerror(ENOMEM));
	d->recent_changed = 1;
	sg_sender_info_line(&info, line, sizeof(line));
	sg_info("%s", line);
	return 0;
}

/* Render with fn into a memory stream and publish the result at path. */
static void publish_rendered(struct daemon *d, const char *path, const char *type,
			     int (*fn)(FILE *f, const void *arg), const void *arg)
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
		err = sg_exporter_publish(d->ex, path, type, buf, len);
	if (err)
		sg_error("publishing %s: %s", path, strerror(-err));
	free(buf);
}

struct metrics_arg {
	const struct sg_metrics *m;
	struct sg_dnsblwatch *dnsbl;
};

static int render_metrics(FILE *f, const void *arg)
{
	const struct metrics_arg *a = arg;
	int err = sg_metrics_render(f, a->m);

	return err ? err : sg_dnsblwatch_render(a->dnsbl, f);
}

static int render_json(FILE *f, const void *arg)
{
	json_t *v = (json_t *)arg;

	return json_dumpf(v, f, JSON_COMPACT) || fputc('\n', f) == EOF ? -EIO : 0;
}

static int render_health(FILE *f, const void *arg)
{
	const struct daemon *d = arg;

	fprintf(f, "%s\n", d->tick_failed ? "error: cannot read the pinned maps" : "ok");
	return ferror(f) ? -EIO : 0;
}

static void publish_senders(struct daemon *d)
{
	json_t *v = sg_recent_json(d->recent, 0, 0);

	if (!v) {
		sg_error("rendering /senders: %s", strerror(ENOMEM));
		return;
	}
	publish_rendered(d, "/senders", "application/json", render_json, v);
	json_decref(v);
	d->recent_changed = 0;
}

/* The detector's and the responder's counts, and the top senders' connection outcomes. */
static void detector_metrics(struct daemon *d, struct sg_metrics *m, __u64 *alerts,
			     __u64 *actions)
{
	struct sg_conn_stats cs;
	size_t i;
	int r;

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

/* GET /accounts: the busiest mail principals, for `top --accounts`. */
static unsigned int accounts_query(void *ctx, const char *arg, char **body, size_t *len)
{
	struct daemon *d = ctx;

	return answer("out of memory", sg_mailguard_top(&d->mail, time(NULL), ACCOUNTS_SERVED),
		      body, len, 500);
}

static void mail_announce(const struct sg_mailguard *m)
{
	int i;

	if (m->type == SG_MTA_NONE) {
		sg_warn("mta: no mail server found ([mta] type): UIDs only");
		return;
	}
	for (i = 0; i < m->n_logs; i++)
		sg_info("mta: %s, following %s", sg_mta_type_names[m->type], m->logs[i]);
}

/* Once a second: expiry, counts, rates, and what the exporter serves. */
static void tick(struct daemon *d)
{
	__u64 now = sg_boot_ns(), now_s = now / SG_NS_PER_SEC;
	struct sg_metrics m = { .st = &d->st, .version = SG_VERSION };
	__u64 alerts[SG_RULES], actions[SG_ACTIONS * SG_RULES];
	int err;

	d->ticks++;
	err = sg_sweep_policies(&d->audit, now);
	if (err > 0)
		sg_info("%d expired polic%s removed", err, err == 1 ? "y" : "ies");
	err = sg_sweep_bans(&d->audit, now);
	if (err > 0)
		sg_info("%d expired ban%s removed", err, err == 1 ? "" : "s");

	err = sg_senders_read(&d->senders, d->rates, now);
	if (!err)
		sg_guard_tick(&d->guard, d->cfg, &d->senders, d->rates, d->recent, &d->audit, now,
			      time(NULL));
	sg_mailguard_tick(&d->mail, d->cfg, &d->audit, time(NULL));
	sg_defence_tick(&d->defence, &d->cfg->bruteforce, &d->cfg->relay, &d->audit, d->mail.stats,
			time(NULL));
	/* The first pass is the baseline: what was counted before the daemon looked. */
	if (!err && !d->rates_started) {
		sg_rates_started(d->rates, now_s);
		d->rates_started = 1;
	}
	if (!err)
		err = sg_status_collect(&d->st);
	m.tick_seconds = (double)(sg_boot_ns() - now) / SG_NS_PER_SEC;
	if (err) {
		if (!d->tick_failed)
			sg_error("reading %s: %s", sg_pin_dir(), strerror(-err));
		d->tick_failed = 1;
	} else {
		d->tick_failed = 0;
		m.n_senders = sg_senders_top(&d->senders, d->rates, now_s,
					     d->cfg->exporter.top_senders, d->top);
		m.senders = d->top;
		m.senders_omitted = d->senders.n - m.n_senders;
		m.events_read = d->events_read;
		detector_metrics(d, &m, alerts, actions);
		sg_mailguard_metrics(&d->mail, time(NULL), &d->mta, d->accounts,
				     d->cfg->exporter.top_senders, d->mta_records);
		m.mta = &d->mta;
		sg_defence_metrics(&d->defence, &d->brute_totals, &d->defence_m);
		m.defence = &d->defence_m;
		if (d->ex)
			publish_rendered(d, "/metrics", SG_METRICS_CONTENT_TYPE, render_metrics,
					 &(struct metrics_arg){ &m, d->dnsbl });
	}
	if (d->ticks % 60 == 0)
		sg_rates_expire(d->rates, now_s);
	if (d->ex) {
		publish_rendered(d, "/healthz", "text/plain; charset=utf-8", render_health, d);
		/* The whole table is a few MB at its bound: not more often than every 5 s. */
		if (d->recent_changed &&
		    (!d->senders_tick || d->ticks >= d->senders_tick + SENDERS_EVERY)) {
			publish_senders(d);
			d->senders_tick = d->ticks;
		}
		sg_exporter_run(d->ex);
	}
	sd_notify(0, "WATCHDOG=1");
}

static int epoll_add(int epfd, int fd, enum source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The exporter for config c, started and added to the loop; *out NULL when c has none. */
static int exporter_start(struct daemon *d, const struct sg_config *c, struct sg_exporter **out)
{
	char err[256];
	int ret;

	*out = NULL;
	if (!c->exporter.enabled)
		return 0;
	ret = sg_exporter_start(c->exporter.listen_host, c->exporter.listen_port, out, err,
				sizeof(err));
	if (ret) {
		sg_error("%s", err);
		return ret;
	}
	ret = epoll_add(d->epfd, sg_exporter_fd(*out), SRC_EXPORTER);
	if (ret) {
		sg_error("exporter: %s", strerror(-ret));
		sg_exporter_stop(*out);
		*out = NULL;
		return ret;
	}
	sg_exporter_query(*out, "/explain", explain_query, d);
	sg_exporter_query(*out, "/accounts", accounts_query, d);
	return 0;
}

static void exporter_stop(struct daemon *d, struct sg_exporter *ex)
{
	if (!ex)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, sg_exporter_fd(ex), NULL);
	sg_exporter_stop(ex);
}

static int listen_changed(const struct sg_config *a, const struct sg_config *b)
{
	return a->exporter.enabled != b->exporter.enabled ||
	       a->exporter.listen_port != b->exporter.listen_port ||
	       strcmp(a->exporter.listen_host, b->exporter.listen_host);
}

/*
 * The exporter for a reloaded config c into *ex: the running one if the
 * address is the same, else a new one. Moving to another address on the
 * same port (127.0.0.1:9025 to 0.0.0.0:9025) needs the port first: the
 * running exporter stops, and comes back if the new one cannot start.
 */
static int exporter_swap(struct daemon *d, const struct sg_config *c, struct sg_exporter **ex)
{
	int err;

	*ex = d->ex;
	if (!listen_changed(d->cfg, c))
		return 0;
	err = exporter_start(d, c, ex);
	if (err != -EADDRINUSE || !d->ex || c->exporter.listen_port != d->cfg->exporter.listen_port)
		return err;
	exporter_stop(d, d->ex);
	d->ex = NULL;
	err = exporter_start(d, c, ex);
	if (err && exporter_start(d, d->cfg, &d->ex))
		sg_warn("the metrics exporter is down until the next reload");
	return err;
}

/*
 * SIGHUP: the new file is read whole first; a bad one is logged and the
 * running config stays. The exporter, attaching and the kernel settings
 * are tried before the config is replaced; interfaces that a failed
 * reload attached stay attached (as after `attach`).
 */
static void reload(struct daemon *d)
{
	struct sg_config *c = malloc(sizeof(*c));
	struct sg_sender_rate *top = NULL;
	struct sg_recent *recent = NULL;
	struct sg_exporter *ex = NULL;
	int resize, err;

	sd_notify(0, "RELOADING=1");
	if (!c || load_config(d->path, c))
		goto failed;
	top = calloc(c->exporter.top_senders, sizeof(*top));
	resize = c->attribution.recent_uids != d->cfg->attribution.recent_uids ||
		 c->attribution.recent_per_uid != d->cfg->attribution.recent_per_uid;
	if (resize)
		recent = sg_recent_new(c->attribution.recent_uids, c->attribution.recent_per_uid);
	if (!top || (resize && !recent)) {
		sg_error("reload: %s", strerror(ENOMEM));
		goto failed;
	}
	if (exporter_swap(d, c, &ex))
		goto failed;
	if (attach(c) || apply_settings(c)) {
		if (ex != d->ex)
			exporter_stop(d, ex);
		if (!d->ex && d->cfg->exporter.enabled && exporter_start(d, d->cfg, &d->ex))
			sg_warn("the metrics exporter is down until the next reload");
		apply_settings(d->cfg);
		goto failed;
	}
	if (ex != d->ex) {
		exporter_stop(d, d->ex);
		d->ex = ex;
	}
	if (recent) {
		sg_recent_free(d->recent);
		d->recent = recent;
		recent = NULL;
		d->recent_changed = 1;
	}
	free(d->top);
	d->top = top;
	top = NULL;
	free(d->cfg);
	d->cfg = c;
	c = NULL;
	derive(d);
	sg_guard_config(&d->guard, d->cfg, sg_boot_ns());
	/* The log's next line is judged on the new file, not on the one just freed. */
	d->defence.bf = &d->cfg->bruteforce;
	err = sg_dnsblwatch_apply(&d->dnsbl, &d->cfg->dnsbl);
	if (err)
		sg_error("dnsbl: %s; the previous checks go on", strerror(-err));
	sg_info("reloaded %s", d->path);
	goto out;
failed:
	sg_error("reload failed; the running configuration stays in force");
out:
	sg_recent_free(recent);
	free(top);
	free(c);
	sd_notify(0, "READY=1");
}

/* Returns 1 when the loop should end. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		if (d->path)
			reload(d);
		else
			sg_info("SIGHUP: running on the built-in default, no file to "
				"reload");
		return 0;
	}
	sg_info("%s: stopping", strsignal(si.ssi_signo));
	return 1;
}

static int loop(struct daemon *d)
{
	struct epoll_event evs[8];
	__u64 expirations;
	int n, i, err;

	for (;;) {
		n = epoll_wait(d->epfd, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case SRC_RING:
				err = ring_buffer__consume(d->rb);
				if (err < 0)
					sg_error("ring buffer: %s", strerror(-err));
				break;
			case SRC_TIMER:
				if (read(d->timerfd, &expirations, sizeof(expirations)) > 0)
					tick(d);
				break;
			case SRC_SIGNAL:
				if (on_signal(d))
					return 0;
				break;
			case SRC_EXPORTER:
				if (d->ex)
					sg_exporter_run(d->ex);
				break;
			case SRC_MTA:
				sg_mailguard_read(&d->mail, time(NULL));
				/* A guesser is banned as its failure is logged, not at the tick. */
				sg_defence_react(&d->defence, &d->cfg->bruteforce, &d->cfg->relay,
						 &d->audit, d->mail.stats, time(NULL));
				break;
			}
		}
	}
}

static int open_loop(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;
	int fd, err;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	d->timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->timerfd < 0 || timerfd_settime(d->timerfd, 0, &its, NULL))
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return -errno;
	fd = sg_pin_open(SG_MAP_EVENTS);
	if (fd < 0)
		return fd;
	d->rb = ring_buffer__new(fd, handle_event, d, NULL);
	err = d->rb ? 0 : -errno;
	close(fd);
	if (err)
		return err;
	err = epoll_add(d->epfd, ring_buffer__epoll_fd(d->rb), SRC_RING);
	if (!err)
		err = epoll_add(d->epfd, d->timerfd, SRC_TIMER);
	if (!err)
		err = epoll_add(d->epfd, d->sigfd, SRC_SIGNAL);
	if (!err && sg_mailguard_fd(&d->mail) >= 0)
		err = epoll_add(d->epfd, sg_mailguard_fd(&d->mail), SRC_MTA);
	return err;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

int sg_daemon_run(const char *path)
{
	struct daemon d = { .epfd = -1, .timerfd = -1, .sigfd = -1 };
	int err, status = 1;

	/* As check-config reads it: an explicit file must be there; the default may be absent. */
	if (!path && getenv("SMTPGUARD_CONFIG") && *getenv("SMTPGUARD_CONFIG"))
		path = getenv("SMTPGUARD_CONFIG");
	if (!path && !access(SG_CONFIG_PATH, F_OK))
		path = SG_CONFIG_PATH;
	d.path = path;
	/* Under systemd stdout is the journal's pipe: a line is news, not a block's worth. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	d.cfg = malloc(sizeof(*d.cfg));
	if (!d.cfg) {
		sg_error("%s", strerror(ENOMEM));
		return 1;
	}
	if (load_config(path, d.cfg))
		goto cleanup;
	derive(&d);
	d.rates = sg_rates_new();
	d.recent = sg_recent_new(d.cfg->attribution.recent_uids, d.cfg->attribution.recent_per_uid);
	d.top = calloc(d.cfg->exporter.top_senders, sizeof(*d.top));
	d.active = calloc(ACTIVE_SHOWN, sizeof(*d.active));
	/* For the largest top_senders a reload may ask for. */
	d.accounts = calloc(SG_MAX_TOP, sizeof(*d.accounts));
	if (!d.rates || !d.recent || !d.top || !d.active || !d.accounts ||
	    sg_guard_init(&d.guard, d.cfg)) {
		sg_error("%s", strerror(ENOMEM));
		goto cleanup;
	}
	err = sg_state_prepare();
	if (err) {
		sg_error("preparing %s: %s", sg_pin_dir(), strerror(-err));
		goto cleanup;
	}
	if (attach(d.cfg))
		goto cleanup;
	err = apply_settings(d.cfg);
	if (err) {
		sg_error("applying the configuration: %s", strerror(-err));
		goto cleanup;
	}
	sg_guard_config(&d.guard, d.cfg, sg_boot_ns());
	err = sg_defence_init(&d.defence, &d.cfg->bruteforce, time(NULL));
	if (!err)
		err = sg_mailguard_init(&d.mail, d.cfg, d.guard.det, d.guard.resp, &d.defence);
	if (err) {
		sg_error("the mail server's logs: %s", strerror(-err));
		goto cleanup;
	}
	mail_announce(&d.mail);
	err = open_loop(&d);
	if (err) {
		sg_error("setting up the event loop: %s", strerror(-err));
		goto cleanup;
	}
	if (exporter_start(&d, d.cfg, &d.ex))
		goto cleanup;
	err = sg_dnsblwatch_apply(&d.dnsbl, &d.cfg->dnsbl);
	if (err) {
		sg_error("starting the blocklist checks: %s", strerror(-err));
		goto cleanup;
	}
	sg_info("%s running on %s; pinned state in %s", SG_VERSION,
		path ? path : "the built-in default", sg_pin_dir());
	if (d.ex)
		sg_info("metrics at http://%s%s%s:%u/metrics",
			strchr(d.cfg->exporter.listen_host, ':') ? "[" : "",
			d.cfg->exporter.listen_host,
			strchr(d.cfg->exporter.listen_host, ':') ? "]" : "",
			d.cfg->exporter.listen_port);
	tick(&d);
	sd_notify(0, "READY=1");
	err = loop(&d);
	sd_notify(0, "STOPPING=1");
	sg_guard_save(&d.guard, d.cfg, time(NULL));
	if (err) {
		sg_error("event loop: %s", strerror(-err));
		goto cleanup;
	}
	status = 0;
	if (d.cfg->daemon.detach_on_exit) {
		if (sg_detach())
			status = 1;
	} else {
		sg_info("the programs stay attached and enforcing ('smtpguard detach' "
			"removes them)");
	}
cleanup:
	sg_dnsblwatch_stop(d.dnsbl);
	exporter_stop(&d, d.ex);
	ring_buffer__free(d.rb);
	close_fd(d.sigfd);
	close_fd(d.timerfd);
	close_fd(d.epfd);
	sg_senders_free(&d.senders);
	sg_recent_free(d.recent);
	sg_rates_free(d.rates);
	sg_mailguard_free(&d.mail);
	sg_defence_free(&d.defence);
	sg_guard_free(&d.guard);
	free(d.active);
	free(d.accounts);
	free(d.top);
	free(d.cfg);
	return status;
}
