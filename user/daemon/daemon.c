// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's start-up, reload and shutdown: the config, the pinned state
 * made or reused, the programs attached and the kernel's settings; then
 * the loop (loop.c), with what the exporter serves (publish.c).
 * Enforcement never depends on this process: the programs and maps stay
 * pinned when it exits or dies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "core/config.h"
#include "core/rates.h"
#include "daemon/daemon.h"
#include "daemon/mailnotice.h"
#include "daemon/fleetpush.h"
#include "daemon/recall.h"
#include "daemon/run.h"
#include "kern/loader.h"
#include "kern/maps.h"
#include "kern/pinlock.h"
#include "kern/state.h"
#include "util/log.h"
#include "smtpguard.h"

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
		.fpm_quota = &d->fpm_quota,
	};
	d->audit = c->audit;
	d->audit.fails = &d->audit_fails;
	sg_log_set_level(c->daemon.log_level);
}

static int load_config(const char *path, struct sg_config *c)
{
	char err[PATH_MAX + 256];
	int ret;

	sg_config_default(c);
	ret = path ? sg_config_load(path, c, err, sizeof(err)) : 0;
	if (!ret)
		ret = sg_mailnotice_check(c, err, sizeof(err));
	if (ret)
		sg_error("%s", err);
	else
		sg_config_env(c);
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
		err = sg_port_remove(f.fd, f.unlisted[i]);
	for (i = 0; !err && i < c->ports.n_outbound; i++)
		err = add_port(f.fd, c, c->ports.outbound[i]);
	for (i = 0; !err && i < c->ports.n_inbound; i++)
		err = add_port(f.fd, c, c->ports.inbound[i]);
	close(f.fd);
	return err;
}

/* The kernel side of the config: default policy, denial-event interval, watched ports. */
int sg_daemon_apply_settings(const struct sg_config *c)
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
	s.flags = c->ports.detect_any ? s.flags | SG_SETTING_DETECT_ANY
				      : s.flags & ~SG_SETTING_DETECT_ANY;
	s.ipv6_prefix = c->bruteforce.ipv6_prefix;
	s.uid_flows_max = c->policy.uid_flows;
	s.uid_senders_max = c->policy.uid_senders;
	err = sg_settings_set(&s);
	return err ? err : apply_ports(c);
}

int sg_daemon_attach_hooks(const struct sg_config *c)
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

/*
 * The hooks attached and c's settings applied, in turn with attach, detach
 * and repairs (pinlock.h); says what failed.
 */
static int attach_in_turn(const struct sg_config *c)
{
	int change = sg_pins_change_lock(0), err;

	err = sg_daemon_attach_hooks(c);
	if (!err) {
		err = sg_daemon_apply_settings(c);
		if (err)
			sg_error("applying the configuration: %s", strerror(-err));
	}
	if (change >= 0)
		close(change);
	return err;
}

static void mail_announce(const struct sg_mailguard *m)
{
	int i;

	if (m->type == SG_MTA_NONE) {
		sg_warn("mta: no mail server found ([mta] type): UIDs only");
		return;
	}
	if (m->journal)
		sg_info("mta: %s, reading the journal (%s)", sg_mta_type_names[m->type],
			m->source_why);
	else
		sg_info("mta: %s, log files (%s)", sg_mta_type_names[m->type], m->source_why);
	for (i = 0; i < m->n_logs; i++)
		sg_info("mta: %s, following %s", sg_mta_type_names[m->type], m->logs[i]);
}

/*
 * SIGHUP: the new file is read whole first; a bad one is logged and the
 * running config stays. The exporter, attaching and the kernel settings
 * are tried before the config is replaced; interfaces that a failed
 * reload attached stay attached (as after `attach`).
 */
/*
 * [crowdsec] machine_id: this server's bans and holds pushed to the LAPI
 * (fleetpush.h). A password file it cannot use is said; enforcement goes on.
 */
static void fleet_push(const struct sg_crowdsec_cfg *c, const char *then)
{
	char why[512];

	if (sg_fleetpush_apply(c, why, sizeof(why)))
		sg_error("crowdsec: password_file %s; %s", why, then);
	else if (c->url[0] && c->machine_id[0])
		sg_info("crowdsec: bans and holds pushed to %s as machine %s", c->url,
			c->machine_id);
}

void sg_daemon_reload(struct daemon *d)
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
	if (sg_daemon_exporter_swap(d, c, &ex))
		goto failed;
	if (attach_in_turn(c)) {
		/* The new exporter took the control socket's name: the old one starts again. */
		if (ex != d->ex) {
			sg_daemon_exporter_stop(d, ex);
			sg_daemon_exporter_stop(d, d->ex);
			d->ex = NULL;
		}
		if (!d->ex && sg_daemon_exporter_start(d, d->cfg, &d->ex))
			sg_warn("the metrics exporter is down until the next reload");
		sg_daemon_apply_settings(d->cfg);
		goto failed;
	}
	if (ex != d->ex) {
		sg_daemon_exporter_stop(d, d->ex);
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
	sg_subids_refresh(&d->subids, d->cfg->daemon.subuid, 1);
	/* The log's next line is judged on the new file, not on the one just freed. */
	d->defence.bf = &d->cfg->bruteforce;
	d->defence.cfg = d->cfg;
	d->mail.cfg = d->cfg;
	sg_daemon_policy_reload(d);
	err = sg_dnsblwatch_apply(&d->dnsbl, &d->cfg->dnsbl);
	if (err)
		sg_error("dnsbl: %s; the previous checks go on", strerror(-err));
	err = sg_notifier_apply(&d->notify, &d->cfg->notify, d->audit.path);
	if (err)
		sg_error("notify: %s; no notifications", strerror(-err));
	sg_daemon_fleet_reload(d);
	fleet_push(&d->cfg->crowdsec, "the previous settings stay");
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

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The config (path: as check-config finds it) and what the daemon keeps, before the kernel. */
static int daemon_open(struct daemon *d, const char *path)
{
	int err;

	/* As check-config reads it: an explicit file must be there; the default may be absent. */
	if (!path && getenv("SMTPGUARD_CONFIG") && *getenv("SMTPGUARD_CONFIG"))
		path = getenv("SMTPGUARD_CONFIG");
	if (!path && !access(SG_CONFIG_PATH, F_OK))
		path = SG_CONFIG_PATH;
	d->path = path;
	d->cfg = malloc(sizeof(*d->cfg));
	if (!d->cfg) {
		sg_error("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	err = load_config(path, d->cfg);
	if (err)
		return err;
	derive(d);
	d->rates = sg_rates_new();
	d->recent =
		sg_recent_new(d->cfg->attribution.recent_uids, d->cfg->attribution.recent_per_uid);
	d->top = calloc(d->cfg->exporter.top_senders, sizeof(*d->top));
	d->active = calloc(ACTIVE_SHOWN, sizeof(*d->active));
	/* For the largest top_senders a reload may ask for. */
	d->accounts = calloc(SG_MAX_TOP, sizeof(*d->accounts));
	if (!d->rates || !d->recent || !d->top || !d->active || !d->accounts ||
	    sg_guard_init(&d->guard, d->cfg)) {
		sg_error("%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

/* The pinned state made or reused (its directory locked), the programs attached, config applied. */
static int daemon_attach(struct daemon *d)
{
	int err = attach_in_turn(d->cfg);

	if (err)
		return err;
	sg_guard_config(&d->guard, d->cfg, sg_boot_ns());
	sg_subids_refresh(&d->subids, d->cfg->daemon.subuid, 1);
	return sg_daemon_watch_pins(d);
}

/* After a restart, who is sending already; a failure only leaves them unnamed. */
static void recall(struct daemon *d)
{
	size_t n;
	int err = sg_recall_senders(&d->attrib, d->recent, &n);

	if (err)
		sg_warn("the processes already sending (%s): %s", SG_MAP_SENDERS, strerror(-err));
	else if (n)
		sg_info("%zu processes already sending attributed (%s)", n, SG_MAP_SENDERS);
}

/* What the loop watches and serves: the mail server's logs, the exporter, blocklist checks. */
static int daemon_configure_loop(struct daemon *d)
{
	/* First, so that it follows the audit log before anything is audited. */
	int err = sg_notifier_apply(&d->notify, &d->cfg->notify, d->audit.path);

	if (err) {
		sg_error("starting the notifications: %s", strerror(-err));
		return err;
	}
	err = sg_defence_init(&d->defence, &d->cfg->bruteforce, time(NULL));

	d->defence.cfg = d->cfg;
	if (!err)
		err = sg_mailguard_init(&d->mail, d->cfg, d->guard.det, d->guard.resp, &d->defence);
	if (err) {
		sg_error("the mail server's logs: %s", *d->mail.err ? d->mail.err : strerror(-err));
		return err;
	}
	mail_announce(&d->mail);
	err = sg_daemon_open_loop(d);
	if (!err)
		err = sg_daemon_notify_pins(d);
	if (err) {
		sg_error("setting up the event loop: %s", strerror(-err));
		return err;
	}
	recall(d);
	err = sg_daemon_policy_start(d);
	if (err) {
		sg_error("the policy service: %s", strerror(-err));
		return err;
	}
	err = sg_daemon_exporter_start(d, d->cfg, &d->ex);
	if (err)
		return err;
	err = sg_dnsblwatch_apply(&d->dnsbl, &d->cfg->dnsbl);
	if (err)
		sg_error("starting the blocklist checks: %s", strerror(-err));
	if (!err)
		err = sg_daemon_fleet_start(d);
	fleet_push(&d->cfg->crowdsec, "no alert is pushed");
	return err;
}

/* The loop until a signal stops it; 0 when it ended well. */
static int daemon_loop(struct daemon *d)
{
	const char *host = d->cfg->exporter.listen_host;
	int err;

	sg_info("version %s, running on %s; pinned state in %s", SG_VERSION,
		d->path ? d->path : "the built-in default", sg_pin_dir());
	if (d->cfg->exporter.enabled)
		sg_info("metrics at %s%s%s:%u/metrics%s%s", strchr(host, ':') ? "[" : "", host,
			strchr(host, ':') ? "]" : "", d->cfg->exporter.listen_port,
			*d->cfg->exporter.web_config ? ", web config " : "",
			d->cfg->exporter.web_config);
	sg_info("details (/senders, /explain) for root at %s", d->cfg->exporter.control);
	sg_daemon_tick(d);
	sd_notify(0, "READY=1");
	err = sg_daemon_loop(d);
	sd_notify(0, "STOPPING=1");
	sg_guard_save(&d->guard, d->cfg, time(NULL));
	if (err)
		sg_error("event loop: %s", strerror(-err));
	return err;
}

static void daemon_close(struct daemon *d)
{
	sg_dnsblwatch_stop(d->dnsbl);
	sg_notifier_stop(d->notify);
	sg_daemon_fleet_stop(d);
	sg_fleetpush_stop();
	sg_daemon_policy_stop(d);
	sg_daemon_exporter_stop(d, d->ex);
	ring_buffer__free(d->rb);
	close_fd(d->sigfd);
	close_fd(d->timerfd);
	close_fd(d->epfd);
	sg_senders_free(&d->senders);
	sg_recent_free(d->recent);
	sg_rates_free(d->rates);
	sg_mailguard_free(&d->mail);
	sg_defence_free(&d->defence);
	sg_guard_free(&d->guard);
	sg_pinwatch_release(&d->pins);
	close_fd(d->pins_settle);
	close_fd(d->pins_notify);
	close_fd(d->lock_fd);
	free(d->active);
	free(d->accounts);
	free(d->top);
	free(d->cfg);
}

/* As libbpf-bootstrap's tools go: open, configure, attach, loop; one way out. */
int sg_daemon_run(const char *path)
{
	struct daemon d = { .epfd = -1,
			    .timerfd = -1,
			    .sigfd = -1,
			    .conns_fd = -1,
			    .lock_fd = -1,
			    .pins_notify = -1,
			    .pins_wd = -1,
			    .pins_settle = -1 };
	int status = 1;

	/* Under systemd stdout is the journal's pipe: a line is news, not a block's worth. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The lock first: a second daemon must change nothing, not even its config's ports. */
	if (sg_daemon_lock(&d) || daemon_open(&d, path) || daemon_attach(&d) ||
	    daemon_configure_loop(&d) || daemon_loop(&d))
		goto cleanup;
	status = 0;
	if (d.cfg->daemon.detach_on_exit) {
		if (sg_detach())
			status = 1;
	} else {
		sg_info("the programs stay attached and enforcing ('smtpguard detach' "
			"removes them)");
	}
cleanup:
	daemon_close(&d);
	return status;
}
