/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The running daemon's state, shared by its files: daemon.c starts it,
 * reloads its config and stops it (config, kernel settings, attaching),
 * loop.c runs the epoll loop (events, the tick, signals), publish.c makes
 * what the exporter serves. Nothing outside them includes this. Functions return
 * -errno, and say what failed where noted.
 */
#ifndef SG_DAEMON_RUN_H
#define SG_DAEMON_RUN_H

#include <bpf/libbpf.h>

#include "core/config.h"
#include "core/quota.h"
#include "daemon/anyport.h"
#include "daemon/defence.h"
#include "daemon/dnsblwatch.h"
#include "daemon/exporter.h"
#include "daemon/guard.h"
#include "daemon/inband.h"
#include "daemon/mailguard.h"
#include "daemon/metrics.h"
#include "daemon/policysrv.h"
#include "daemon/senders.h"
#include "daemon/subids.h"
#include "daemon/sweep.h"
#include "fleet/bouncer.h"
#include "fleet/link.h"
#include "host/attrib.h"
#include "host/audit.h"
#include "host/recent.h"
#include "notify/notify.h"
#include "kern/collect.h"
#include "kern/pinwatch.h"

#define SENDERS_EVERY	5   /* ticks */
#define STALE_EVERY	10  /* ticks: a walk of the per-UID maps, and a kill(pid, 0) per process */
#define ACTIVE_SHOWN	200 /* smtpguard_alert_active series at most */
#define ACCOUNTS_SERVED 100 /* rows of /accounts */

/* What a tick found not enforced as configured (repair.c). */
enum sg_broken { SG_BROKEN_PINS, SG_BROKEN_HOOKS, SG_BROKEN_CGROUP, SG_BROKEN__MAX };
extern const char *const sg_broken_names[SG_BROKEN__MAX];

struct daemon {
	const char *path; /* NULL: running on the built-in default */
	struct sg_config *cfg;
	struct sg_attrib_cfg attrib;
	const char *fpm_sockets[SG_MAX_FPM];
	struct sg_audit_cfg audit;
	struct sg_write_fail audit_fails; /* the audit log's, through audit.fails */

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
	struct sg_alert_metric *active;	    /* [ACTIVE_SHOWN] */
	struct sg_account_metric *accounts; /* [top_senders] */
	__u64 mta_records[SG_MTA_EVENT_KINDS];
	struct sg_mta_metrics mta;
	__u64 events_read;
	__u32 turn_events;		     /* read in this turn of the loop */
	__u64 events_pending;		     /* left in the ring at the last tick */
	struct sg_quota attrib_quota;	     /* events attributed a tick */
	struct sg_quota fpm_quota;	     /* PHP-FPM lookups a tick */
	__u64 attrib_reported, fpm_reported; /* refusals logged so far */
	__u64 reported_tick;		     /* when */
	__u64 stale_removed[SG_STALE__MAX];  /* by sg_stale_names */
	/* sg_policies and sg_bans, counted by the sweep */
	struct sg_census policies_census, bans_census;
	/* sg_uid_swept, which only the stale sweep writes: counted after it; -1 until then */
	int swept_entries;
	__u64 ticks;
	__u64 last_tick_ns, tick_interval_ns; /* when the last tick began; since the one before */
	__u64 tick_ns;	    /* the last whole tick's time, its rendering of /metrics included */
	__u64 turn_max_ns;  /* the longest turn of the loop, from epoll's wakeup to the next wait */
	__u64 stalls;	    /* turns of it over a second: nothing else ran meanwhile */
	__u64 senders_tick; /* when /senders was last published */
	int rates_started;
	int tick_failed;	     /* the last tick could not read the maps */
	struct sg_dnsblwatch *dnsbl; /* NULL: no blocklist checks */
	struct sg_notifier *notify;  /* NULL: no notifications yet */
	struct sg_inband *inband;    /* NULL: no MTA */
	struct sg_policysrv *policy; /* NULL: no policy service */
	char policy_path[108];	     /* where policy listens */
	int conns_fd;		     /* sg_local_conns, or -1 */
	struct sg_policysrv_stats policy_st;
	struct sg_inband_metrics inband_m;
	struct sg_subids subids;
	struct sg_anyport anyport;
	int anyport_failed; /* the last tick could not read sg_smtp or sg_ports */
	/* The pinned state under the daemon (repair.c). */
	int lock_fd;			  /* holds the pin directory's lock; -1 before */
	__u64 pins_ino;			  /* the pin directory's inode, as last taken up */
	struct sg_pinwatch pins;	  /* the maps and programs enforcement goes through */
	int broken;			  /* enum sg_broken + 1 while not repaired; 0: none */
	char broken_why[PATH_MAX + 128];  /* what is broken, for /healthz */
	__u64 repairs[SG_BROKEN__MAX];	  /* repairs made, by what was broken */
	int pins_notify, pins_wd;	  /* inotify on the pin directory; -1: none */
	int pins_settle;		  /* timerfd: the pins quiet for a moment, check them */
	__u64 repair_tick;		  /* a failed repair is tried again from this tick */
	int change_waits;		  /* ticks in a row the pins' lock was held by another */
	struct sg_link *link;		  /* [crowdsec]: NULL when no url */
	struct sg_bouncer bouncer;	  /* what the link's pulls brought, applied */
	struct sg_link_batch fleet_batch; /* the pull being applied, a slice a tick (fleet.c) */
	int fleet_busy;			  /* fleet_batch not all applied yet */
	size_t fleet_done[2];		  /* of it applied: new, deleted */
	__u64 fleet_applied, fleet_lifted, fleet_took_ns; /* for its log line */
};

/* What the epoll events carry, to tell the sources apart. */
enum source { SRC_RING, SRC_TIMER, SRC_SIGNAL, SRC_EXPORTER, SRC_MTA, SRC_POLICY, SRC_PINS };

/* daemon.c: SIGHUP's reload; a config that cannot apply is logged, the running one stays. */
void sg_daemon_reload(struct daemon *d);
/* daemon.c: c's programs attached (what failed is said), and its kernel settings and ports. */
int sg_daemon_attach_hooks(const struct sg_config *c);
int sg_daemon_apply_settings(const struct sg_config *c);

/*
 * repair.c: the pin directory made and locked before anything else (a
 * daemon already there is named); the pins held once attached; every
 * tick, the pins and hooks checked and repaired (see there).
 */
int sg_daemon_lock(struct daemon *d);
int sg_daemon_watch_pins(struct daemon *d);
void sg_daemon_check_pins(struct daemon *d);
/*
 * A change in the pin directory is checked as soon as the pins have been
 * quiet for a moment, not at the next tick: both fds are SRC_PINS.
 */
int sg_daemon_notify_pins(struct daemon *d);
void sg_daemon_pins_event(struct daemon *d);

/* loop.c: the epoll set, the timer, the signals and the ring buffer; then the loop until a stop. */
int sg_daemon_open_loop(struct daemon *d);
/* The ring buffer on the sg_events pinned now, in the loop; the old one's events read first. */
int sg_daemon_open_ring(struct daemon *d);
int sg_daemon_watch(struct daemon *d, int fd, enum source src);
void sg_daemon_tick(struct daemon *d);
int sg_daemon_loop(struct daemon *d);

/*
 * policyd.c: the policy service and its in-band judge, for the MTA found
 * (none without one): started once the loop is open, its socket made
 * again when a reload names another, run when the socket has work, its
 * timeouts and hold_grace at the tick (now: CLOCK_BOOTTIME).
 */
int sg_daemon_policy_start(struct daemon *d);
void sg_daemon_policy_reload(struct daemon *d);
void sg_daemon_policy_run(struct daemon *d);
void sg_daemon_policy_tick(struct daemon *d, __u64 now);
/* The principals its judge condemned, contained: before the tick's mail rules (inband.h). */
void sg_daemon_policy_contain(struct daemon *d);
void sg_daemon_policy_stop(struct daemon *d);
/* sg_local_conns as pinned now, for the in-band judge. */
void sg_daemon_policy_reopen(struct daemon *d);

/*
 * fleet.c: the CrowdSec link started with the daemon, swapped on reload,
 * stopped at the end; its decisions applied at the tick; /fleet's JSON for
 * status; its /metrics families (nothing without [crowdsec] url).
 */
int sg_daemon_fleet_start(struct daemon *d);
void sg_daemon_fleet_reload(struct daemon *d);
void sg_daemon_fleet_stop(struct daemon *d);
void sg_daemon_fleet_tick(struct daemon *d, __u64 now);
json_t *sg_daemon_fleet_json(struct daemon *d);
void sg_daemon_fleet_render(FILE *f, struct daemon *d);

/* publish.c: /metrics for this tick (now: its start); then /healthz and /senders, and serving. */
void sg_daemon_publish_metrics(struct daemon *d, __u64 now);
void sg_daemon_publish(struct daemon *d);
/*
 * The exporter for config c, started and added to the loop (the error
 * logged); *out NULL when c has none. Swap: the exporter for a reloaded c
 * into *ex (see publish.c). Stop: NULL is none.
 */
int sg_daemon_exporter_start(struct daemon *d, const struct sg_config *c, struct sg_exporter **out);
int sg_daemon_exporter_swap(struct daemon *d, const struct sg_config *c, struct sg_exporter **ex);
void sg_daemon_exporter_stop(struct daemon *d, struct sg_exporter *ex);

#endif
