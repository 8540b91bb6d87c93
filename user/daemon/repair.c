// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned state under a running daemon. One daemon per pin directory:
 * its lock is taken before anything else, so a second `run` changes
 * nothing. Then every tick a look at what enforcement goes through: the
 * maps and programs the daemon holds, still pinned; the cgroup hooks on
 * the configured cgroup. Pins removed (rm, `detach --force`) are put back
 * as they were; pins replaced (a detach and a new attach) are taken up,
 * the old maps' policies, buckets and bans carried into the new ones; the
 * hooks are attached again (to a cgroup made again), the config applied
 * again, and the daemon's own map handles and ring buffer opened anew.
 * Until that works, /healthz says why and smtpguard_enforcement_broken
 * says what. A change in the pin directory (or the configured cgroup's
 * parent) is looked at once the pins have been quiet for PINS_SETTLE_MS,
 * so that a forced detach is undone in milliseconds, not at the next tick;
 * never while an attach or a detach is making its changes
 * (sg_pins_change_lock).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/run.h"
#include "kern/loader.h"
#include "kern/maps.h"
#include "kern/pinlock.h"
#include "kern/state.h"
#include "util/log.h"

#define PINS_SETTLE_MS 20
/* A repair that failed (and logged why) is tried again this many ticks later, or at a change. */
#define REPAIR_RETRY_TICKS 10
/* Ticks an attach or a detach may hold the pins' lock before what is broken under it is said. */
#define CHANGE_WAIT_TICKS 5
#define PINS_EVENTS                                                                                \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

const char *const sg_broken_names[SG_BROKEN__MAX] = {
	[SG_BROKEN_PINS] = "pins",
	[SG_BROKEN_HOOKS] = "hooks",
	[SG_BROKEN_CGROUP] = "cgroup",
};

/* The pin directory as it is now watched; a replaced one's watch went with it. */
static void watch_dir(struct daemon *d)
{
	if (d->pins_wd >= 0)
		inotify_rm_watch(d->pins_notify, d->pins_wd);
	d->pins_wd = inotify_add_watch(d->pins_notify, sg_pin_dir(), PINS_EVENTS);
}

int sg_daemon_lock(struct daemon *d)
{
	pid_t holder;
	int err = sg_state_prepare();

	if (err) {
		sg_error("preparing %s: %s", sg_pin_dir(), sg_state_error(err));
		return err;
	}
	d->lock_fd = sg_pin_lock(&holder);
	err = d->lock_fd < 0 ? d->lock_fd : 0;
	d->pins_ino = sg_pin_dir_ino();
	if (err == -EWOULDBLOCK && holder)
		sg_error("another smtpguard run (pid %d) holds %s: one daemon per pin directory; "
			 "nothing changed",
			 (int)holder, sg_pin_dir());
	else if (err == -EWOULDBLOCK)
		sg_error("another smtpguard run holds %s: one daemon per pin directory; nothing "
			 "changed",
			 sg_pin_dir());
	else if (err)
		sg_error("locking %s: %s", sg_pin_dir(), sg_state_error(err));
	return err;
}

int sg_daemon_watch_pins(struct daemon *d)
{
	int err = sg_pinwatch_take(&d->pins);

	if (err)
		sg_error("holding the pinned maps and programs of %s: %s", sg_pin_dir(),
			 strerror(-err));
	return err;
}

/* The daemon's own handles on the maps, on the ones pinned now. */
static int reopen_maps(struct daemon *d)
{
	int err = sg_daemon_open_ring(d);

	sg_respond_reopen(d->guard.resp);
	sg_senders_reopen(&d->senders);
	d->swept_entries = -1;
	sg_daemon_policy_reopen(d);
	if (d->ex)
		sg_exporter_reopen_maps(d->ex);
	sg_guard_config(&d->guard, d->cfg, sg_boot_ns());
	sg_subids_refresh(&d->subids, d->cfg->daemon.subuid, 1);
	return err;
}

static int repair(struct daemon *d, enum sg_pins_state pins, int moved, const char *cgroup)
{
	int err = 0, n;

	if (moved)
		err = sg_state_prepare();
	if (!err && moved) {
		d->pins_ino = sg_pin_dir_ino();
		watch_dir(d);
	}
	if (!err && pins == SG_PINS_MISSING)
		err = sg_pinwatch_restore(&d->pins);
	if (err)
		return err;
	if (cgroup && access(cgroup, F_OK))
		return -ENOENT;
	err = sg_daemon_attach_hooks(d->cfg);
	if (!err)
		err = sg_daemon_apply_settings(d->cfg);
	if (!err && pins == SG_PINS_REPLACED) {
		n = sg_pinwatch_carry(&d->pins);
		if (n < 0)
			sg_error("carrying policies, buckets and bans into the new maps: %s",
				 strerror(-n));
		else
			sg_info("%d policies, buckets and bans carried into the new maps", n);
		err = reopen_maps(d);
	}
	return err ? err : sg_pinwatch_take(&d->pins);
}

/* What is wrong, in words for /healthz and the log. */
static enum sg_broken diagnose(struct daemon *d, enum sg_pins_state pins, const char *first,
			       int moved, int hooks, const char *cgroup)
{
	if (moved || pins != SG_PINS_OK) {
		snprintf(d->broken_why, sizeof(d->broken_why), "%s %s",
			 moved ? sg_pin_dir() : first,
			 pins == SG_PINS_REPLACED ? "replaced" : "removed");
		return SG_BROKEN_PINS;
	}
	if (hooks == -ENOENT) {
		snprintf(d->broken_why, sizeof(d->broken_why),
			 "cgroup %s is gone: the connect hooks police nothing", cgroup);
		return SG_BROKEN_CGROUP;
	}
	snprintf(d->broken_why, sizeof(d->broken_why), "the cgroup hooks are not attached to %s",
		 cgroup ? cgroup : "a live cgroup");
	return SG_BROKEN_HOOKS;
}

/* Told once for each thing that goes wrong, not every second. */
static void set_broken(struct daemon *d, enum sg_broken what)
{
	if (d->broken != (int)what + 1)
		sg_error("enforcement broken: %s", d->broken_why);
	d->broken = what + 1;
}

/*
 * An attach or a detach has held the pins' lock for CHANGE_WAIT_TICKS: what
 * is broken meanwhile is said (/healthz, the metric), not repaired under it.
 */
static void check_waiting(struct daemon *d)
{
	const char *cgroup = d->cfg->daemon.cgroup[0] ? d->cfg->daemon.cgroup : NULL, *first;
	enum sg_pins_state pins = sg_pinwatch_check(&d->pins, &first);
	int moved = sg_pin_dir_ino() != d->pins_ino, hooks = sg_hooks_check(cgroup);
	enum sg_broken what;
	size_t len;

	if (pins == SG_PINS_OK && !moved && !hooks)
		return;
	what = diagnose(d, pins, first, moved, hooks, cgroup);
	len = strlen(d->broken_why);
	snprintf(d->broken_why + len, sizeof(d->broken_why) - len,
		 "; not repaired while an attach or a detach holds the pins' lock (%d s)",
		 d->change_waits);
	set_broken(d, what);
}

static void check_pins(struct daemon *d, int changed)
{
	const char *cgroup = d->cfg->daemon.cgroup[0] ? d->cfg->daemon.cgroup : NULL, *first;
	enum sg_pins_state pins = sg_pinwatch_check(&d->pins, &first);
	int moved = sg_pin_dir_ino() != d->pins_ino, hooks = sg_hooks_check(cgroup), err;
	enum sg_broken what;

	if (pins == SG_PINS_OK && !moved && !hooks) {
		if (d->broken)
			sg_info("enforcement as configured again");
		d->broken = 0;
		return;
	}
	/*
	 * A repair that failed waits, unless the pins changed since; a cgroup
	 * gone is looked for every tick (its return is a mkdir nothing here sees).
	 */
	if (d->broken && !changed && hooks != -ENOENT && d->ticks < d->repair_tick)
		return;
	what = diagnose(d, pins, first, moved, hooks, cgroup);
	err = repair(d, pins, moved, cgroup);
	if (!err) {
		d->repairs[what]++;
		sg_warn("%s: repaired (pins put back or taken up, hooks attached, configuration "
			"applied)",
			d->broken_why);
		d->broken = 0;
		return;
	}
	if (err == -ENOENT && cgroup && access(cgroup, F_OK))
		what = diagnose(d, SG_PINS_OK, NULL, 0, -ENOENT, cgroup);
	else
		snprintf(d->broken_why + strlen(d->broken_why),
			 sizeof(d->broken_why) - strlen(d->broken_why), "; repair failed: %s",
			 strerror(-err));
	/* The cgroup's return is repaired at the tick that sees it. */
	d->repair_tick = what == SG_BROKEN_CGROUP ? 0 : d->ticks + REPAIR_RETRY_TICKS;
	set_broken(d, what);
}

static void settle(struct daemon *d)
{
	struct itimerspec its = { .it_value = { 0, PINS_SETTLE_MS * 1000000L } };

	timerfd_settime(d->pins_settle, 0, &its, NULL);
}

/*
 * An attach or a detach under way: looked at again once it is done. One
 * that holds the lock for ticks on end (hung, or anyone else's flock on
 * the bpffs) does not hide what is broken meanwhile.
 */
static void check_locked(struct daemon *d, int changed)
{
	int change = sg_pins_change_lock(1);

	if (change == -EWOULDBLOCK) {
		settle(d);
		if (!changed && ++d->change_waits > CHANGE_WAIT_TICKS)
			check_waiting(d);
		return;
	}
	d->change_waits = 0;
	check_pins(d, changed);
	if (change >= 0)
		close(change);
}

void sg_daemon_check_pins(struct daemon *d)
{
	check_locked(d, 0);
}

/*
 * The configured cgroup removed or made again is seen in its parent: the
 * hooks follow it within PINS_SETTLE_MS. A reload cannot move the hooks,
 * so the cgroup of the start is the one watched.
 */
static int watch_cgroup_parent(struct daemon *d)
{
	char parent[PATH_MAX];

	if (!d->cfg->daemon.cgroup[0] ||
	    sg_parent_dir(d->cfg->daemon.cgroup, parent, sizeof(parent)))
		return 0;
	return inotify_add_watch(d->pins_notify, parent, IN_CREATE | IN_DELETE | IN_MOVE) < 0
		       ? -errno
		       : 0;
}

int sg_daemon_notify_pins(struct daemon *d)
{
	int err;

	d->pins_notify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	d->pins_settle = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->pins_notify < 0 || d->pins_settle < 0)
		return -errno;
	watch_dir(d);
	if (d->pins_wd < 0)
		return -errno;
	err = watch_cgroup_parent(d);
	if (!err)
		err = sg_daemon_watch(d, d->pins_notify, SRC_PINS);
	return err ? err : sg_daemon_watch(d, d->pins_settle, SRC_PINS);
}

void sg_daemon_pins_event(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	__u64 expirations;
	int changed = 0;

	/* What changed does not matter: the check looks at every pin. */
	while (read(d->pins_notify, buf, sizeof(buf)) > 0)
		changed = 1;
	if (changed)
		settle(d);
	else if (read(d->pins_settle, &expirations, sizeof(expirations)) > 0)
		check_locked(d, 1);
}
