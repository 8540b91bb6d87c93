// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's one epoll loop: ring-buffer events, attributed the moment
 * they are read; the 1 s tick (expiry, the maps read once, rates, the
 * detector, what the exporter serves); the mail server's logs; signals
 * (SIGHUP reloads the config, SIGUSR1 reopens the audit log after
 * logrotate moved it, SIGTERM and SIGINT stop the loop).
 *
 * No customer can hold the loop: a fork+connect flood makes an event for
 * every new process, and libbpf reads the ring for as long as events keep
 * coming. So a turn of the loop reads at most EVENTS_PER_TURN events, the
 * rest waiting in the ring until the timer and the other sources have had
 * their turn; and attributing an event (the /proc reads, the account, a
 * PHP-FPM status query of up to 250 ms) is allowed ATTRIB_PER_TICK times a
 * tick, ATTRIB_PER_UID for one UID, PHP-FPM FPM_PER_TICK times, FPM_PER_UID
 * for one UID. An event past that is counted, not attributed nor logged:
 * the kernel has counted and policed its connect all the same.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "core/quota.h"
#include "core/rates.h"
#include "daemon/run.h"
#include "daemon/sweep.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "sg_bucket.h"
#include "util/log.h"

#define EVENTS_PER_TURN 256
#define ATTRIB_PER_TICK 64
#define ATTRIB_PER_UID	16
#define FPM_PER_TICK	2
#define FPM_PER_UID	1
/* Events not attributed are logged as a sum, at most once a minute. */
#define UNATTRIBUTED_LOG_TICKS 60
/* What handle_event returns when the turn's events are read: libbpf stops at a negative one. */
#define TURN_DONE (-EAGAIN)
/* A turn this long held back everything: the tick, scrapes, the MTA's policy queries. */
#define STALL_NS SG_NS_PER_SEC

static int handle_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	struct sg_sender_info info;
	struct sg_event e;
	char line[2048];

	/* libbpf has consumed the event whatever this returns: it counts against the turn. */
	d->turn_events++;
	/* The ring buffer is the kernel's; still, never read past what it handed over. */
	if (size >= sizeof(e)) {
		memcpy(&e, data, sizeof(e));
		d->events_read++;
		if (sg_quota_take(&d->attrib_quota, e.uid)) {
			sg_attrib_resolve(&d->attrib, &e, &info);
			if (sg_recent_add(d->recent, &info))
				sg_error("recent senders: %s", strerror(ENOMEM));
			d->recent_changed = 1;
			sg_sender_info_line(&info, line, sizeof(line));
			sg_info("%s", line);
		}
	}
	return d->turn_events < EVENTS_PER_TURN ? 0 : TURN_DONE;
}

/* Up to EVENTS_PER_TURN events; more left in the ring make its fd ready for the next turn. */
static void read_events(struct daemon *d)
{
	int err;

	d->turn_events = 0;
	err = ring_buffer__consume(d->rb);
	if (err < 0 && err != TURN_DONE)
		sg_error("ring buffer: %s", strerror(-err));
}

/* A new tick's allowance of attribution; what the last ones refused, in the log now and then. */
static void attrib_tick(struct daemon *d)
{
	__u64 events = d->attrib_quota.refused - d->attrib_reported,
	      fpm = d->fpm_quota.refused - d->fpm_reported;

	sg_quota_tick(&d->attrib_quota);
	sg_quota_tick(&d->fpm_quota);
	if ((!events && !fpm) ||
	    (d->reported_tick && d->ticks < d->reported_tick + UNATTRIBUTED_LOG_TICKS))
		return;
	sg_warn("%llu events not attributed and %llu PHP-FPM lookups not made since the last "
		"report: over %d events (%d of one UID) or %d lookups (%d of one UID) a second",
		(unsigned long long)events, (unsigned long long)fpm, ATTRIB_PER_TICK,
		ATTRIB_PER_UID, FPM_PER_TICK, FPM_PER_UID);
	d->attrib_reported = d->attrib_quota.refused;
	d->fpm_reported = d->fpm_quota.refused;
	d->reported_tick = d->ticks;
}

/* SMTP on unwatched ports; a failure is told once, until a tick succeeds again. */
static void anyport_tick(struct daemon *d, __u64 now)
{
	int err = sg_anyport_tick(&d->anyport, now);

	if (err && !d->anyport_failed)
		sg_error("smtp on unwatched ports: %s", strerror(-err));
	d->anyport_failed = err != 0;
}

/* sg_uid_swept's entries, counted anew after a sweep or when the maps were replaced. */
static int swept_entries(struct daemon *d)
{
	int fd;

	if (d->swept_entries < 0) {
		fd = sg_pin_open(SG_MAP_UID_SWEPT);
		d->swept_entries = fd < 0 ? fd : sg_map_count(fd);
		if (fd >= 0)
			close(fd);
	}
	return d->swept_entries < 0 ? -1 : d->swept_entries;
}

/*
 * sg_policies' and sg_bans' counts: the sweep's, of its last complete pass
 * over each; sg_uid_stats', sg_flows', sg_conn_stats' and sg_smtp's: this
 * tick's reads of them (the guard's, SMTP on unwatched ports'); sg_uid_swept's
 * after the sweep, the one that writes it.
 */
static void census_into_status(struct daemon *d)
{
	const struct sg_census *c;
	const char *name;
	size_t i;

	for (i = 0; i < d->st.n_maps; i++) {
		name = d->st.maps[i].name;
		c = !strcmp(name, SG_MAP_POLICIES) ? &d->policies_census
		    : !strcmp(name, SG_MAP_BANS)   ? &d->bans_census
						   : NULL;
		if (c && c->counted)
			d->st.maps[i].entries = c->last_entries;
		if (!strcmp(name, SG_MAP_UID_STATS))
			d->st.maps[i].entries = d->senders.n;
		if (!strcmp(name, SG_MAP_FLOWS))
			d->st.maps[i].entries = d->senders.n_dests;
		if (!strcmp(name, SG_MAP_CONN_STATS) && d->guard.conn_read)
			d->st.maps[i].entries = d->guard.n_conn;
		if (!strcmp(name, SG_MAP_SMTP) && d->anyport.last_ns == d->last_tick_ns)
			d->st.maps[i].entries = d->anyport.entries;
		if (!strcmp(name, SG_MAP_UID_SWEPT))
			d->st.maps[i].entries = swept_entries(d);
	}
	for (i = 0; i < SG_MODE__MAX; i++)
		d->st.policies[i] = d->policies_census.last_in_force[i];
	for (i = 0; i < SG_BAN__MAX; i++)
		d->defence.bans[i] = d->bans_census.last_in_force[i];
}

/* Once a second: expiry, counts, rates, and what the exporter serves. */
void sg_daemon_tick(struct daemon *d)
{
	__u64 now = sg_boot_ns(), now_s = now / SG_NS_PER_SEC, flows_removed, uids_removed;
	int err;

	d->ticks++;
	d->tick_interval_ns = d->last_tick_ns ? now - d->last_tick_ns : 0;
	d->last_tick_ns = now;
	/* First: the rest of the tick must read and write what the kernel enforces with. */
	sg_daemon_check_pins(d);
	attrib_tick(d);
	err = sg_sweep_policies(&d->audit, now, &d->policies_census);
	if (err > 0)
		sg_info("%d expired polic%s removed", err, err == 1 ? "y" : "ies");
	err = sg_sweep_bans(&d->audit, now, &d->bans_census);
	if (err > 0)
		sg_info("%d expired ban%s removed", err, err == 1 ? "" : "s");
	sg_subids_refresh(&d->subids, d->cfg->daemon.subuid, 0);
	if (d->ticks % STALE_EVERY == 0) {
		flows_removed = d->stale_removed[SG_STALE_FLOWS];
		uids_removed = d->stale_removed[SG_STALE_UIDS];
		err = sg_sweep_stale(now, SG_STALE_NS, d->stale_removed);
		if (err)
			sg_error("removing stale entries: %s", strerror(-err));
		/* Entries gone from under the tick's copy, which no count or mark of the kernel's
		 * tells. */
		if (err || d->stale_removed[SG_STALE_FLOWS] != flows_removed ||
		    d->stale_removed[SG_STALE_UIDS] != uids_removed)
			sg_senders_forget(&d->senders);
		d->swept_entries = -1;
	}

	err = sg_senders_read(&d->senders, d->rates, now);
	if (!err)
		sg_guard_tick(&d->guard, d->cfg, &d->senders, d->recent, &d->audit, now,
			      time(NULL));
	sg_daemon_policy_contain(d);
	sg_mailguard_tick(&d->mail, d->cfg, &d->audit, time(NULL));
	sg_daemon_policy_tick(d, now);
	sg_defence_tick(&d->defence, &d->cfg->bruteforce, &d->cfg->relay, &d->audit, d->mail.stats,
			time(NULL));
	sg_daemon_fleet_tick(d, now);
	anyport_tick(d, now);
	/* The first pass is the baseline: what was counted before the daemon looked. */
	if (!err && !d->rates_started) {
		sg_rates_started(d->rates, now_s);
		d->rates_started = 1;
	}
	if (!err)
		err = sg_status_collect(&d->st, 1);
	if (!err)
		census_into_status(d);
	if (!err)
		err = sg_events_pending(&d->events_pending);
	if (err) {
		if (!d->tick_failed)
			sg_error("reading %s: %s", sg_pin_dir(), strerror(-err));
		d->tick_failed = 1;
	} else {
		d->tick_failed = 0;
		sg_daemon_publish_metrics(d, now);
	}
	if (d->ticks % 60 == 0)
		sg_rates_expire(d->rates, now_s);
	sg_daemon_publish(d);
	/* Shown by the next tick's /metrics: this one's is rendered already. */
	d->tick_ns = sg_boot_ns() - now;
	sd_notify(0, "WATCHDOG=1");
}

int sg_daemon_watch(struct daemon *d, int fd, enum source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Returns 1 when the loop should end. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		if (d->path)
			sg_daemon_reload(d);
		else
			sg_info("SIGHUP: running on the built-in default, no file to "
				"reload");
		return 0;
	}
	if (si.ssi_signo == SIGUSR1) {
		/* A failure is told by the audit log's own note (d->audit.fails). */
		if (!sg_audit_reopen(&d->audit))
			sg_info("SIGUSR1: audit log %s reopened", d->audit.path);
		return 0;
	}
	sg_info("%s: stopping", strsignal(si.ssi_signo));
	return 1;
}

/*
 * A turn of the loop that began at start, serving the sources in the bits
 * of served, is over: the longest kept, a stall counted and told with what
 * the turn served.
 */
static void turn_done(struct daemon *d, __u64 start, unsigned int served)
{
	static const char *const names[] = {
		[SRC_RING] = " events",	    [SRC_TIMER] = " tick",   [SRC_SIGNAL] = " signal",
		[SRC_EXPORTER] = " scrape", [SRC_MTA] = " mail log", [SRC_POLICY] = " policy query",
		[SRC_PINS] = " pins",
	};
	__u64 ns = sg_boot_ns() - start;
	char what[96] = "";
	size_t i;

	if (ns > d->turn_max_ns)
		d->turn_max_ns = ns;
	if (ns <= STALL_NS)
		return;
	d->stalls++;
	/* A source with no name here is left out of the line, not a crash. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((served & (1U << i)) && names[i])
			strncat(what, names[i], sizeof(what) - strlen(what) - 1);
	sg_warn("the loop was held for %.1f s (by:%s): nothing else was served meanwhile",
		(double)ns / SG_NS_PER_SEC, what);
}

int sg_daemon_loop(struct daemon *d)
{
	struct epoll_event evs[8];
	__u64 expirations, start;
	unsigned int served;
	int n, i;

	for (;;) {
		n = epoll_wait(d->epfd, evs, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		start = sg_boot_ns();
		served = 0;
		for (i = 0; i < n; i++) {
			served |= 1U << evs[i].data.u32;
			switch (evs[i].data.u32) {
			case SRC_RING:
				read_events(d);
				break;
			case SRC_TIMER:
				if (read(d->timerfd, &expirations, sizeof(expirations)) > 0)
					sg_daemon_tick(d);
				break;
			case SRC_SIGNAL:
				if (on_signal(d))
					return 0;
				break;
			case SRC_EXPORTER:
				if (d->ex)
					sg_exporter_run(d->ex);
				break;
			case SRC_POLICY:
				sg_daemon_policy_run(d);
				break;
			case SRC_PINS:
				sg_daemon_pins_event(d);
				break;
			case SRC_MTA:
				sg_mailguard_read(&d->mail, time(NULL));
				/* A guesser is banned as its failure is logged, not at the tick. */
				sg_defence_react(&d->defence, &d->cfg->bruteforce, &d->cfg->relay,
						 &d->audit, d->mail.stats, time(NULL));
				break;
			}
		}
		turn_done(d, start, served);
	}
}

int sg_daemon_open_ring(struct daemon *d)
{
	struct ring_buffer *rb;
	int fd = sg_pin_open(SG_MAP_EVENTS), err;

	if (fd < 0)
		return fd;
	rb = ring_buffer__new(fd, handle_event, d, NULL);
	err = rb ? 0 : -errno;
	close(fd);
	if (!err)
		err = sg_daemon_watch(d, ring_buffer__epoll_fd(rb), SRC_RING);
	if (err) {
		ring_buffer__free(rb);
		return err;
	}
	/* Freeing closes its epoll fd, which takes it out of the loop's. */
	if (d->rb) {
		read_events(d);
		ring_buffer__free(d->rb);
	}
	d->rb = rb;
	return 0;
}

int sg_daemon_open_loop(struct daemon *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;
	int err;

	sg_quota_init(&d->attrib_quota, ATTRIB_PER_TICK, ATTRIB_PER_UID);
	sg_quota_init(&d->fpm_quota, FPM_PER_TICK, FPM_PER_UID);
	d->swept_entries = -1;
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
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return -errno;
	err = sg_daemon_open_ring(d);
	if (!err)
		err = sg_daemon_watch(d, d->timerfd, SRC_TIMER);
	if (!err)
		err = sg_daemon_watch(d, d->sigfd, SRC_SIGNAL);
	if (!err && sg_mailguard_fd(&d->mail) >= 0)
		err = sg_daemon_watch(d, sg_mailguard_fd(&d->mail), SRC_MTA);
	return err;
}
