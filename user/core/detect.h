/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The detector: once a tick, every principal's counts (a UID today; SASL
 * accounts and local senders share the code) against four rules:
 *
 *   rate          connections in the last minute above
 *                 max(rate_floor, rate_factor x the learned baseline)
 *   destinations  distinct destinations in 10 min above a bound
 *   new_sender    a principal never seen before, sending above a rate
 *                 once it has made new_sender_min connections
 *   failure_ratio failed / finished connections in 10 min above a ratio,
 *                 with at least failure_min finished
 *
 * and, for the mail server's principals (SASL accounts, local senders),
 * whose "connections" are messages and destinations recipient domains:
 *
 *   client_ips    distinct client IPs logging in to the account in 1 h
 *                 above a bound (one account from many IPs: a botnet)
 *   bounce_share  bounced / delivered remotely in 10 min above a share,
 *                 with at least bounce_min outcomes (lists of dead addresses)
 *   bounce_flood  null-sender messages into the account's mailbox in 1 h
 *                 above a bound (the owner drowning in failure notices)
 *
 * A rule raises an alert the tick its condition first holds and clears it
 * after the condition has been false for SG_ALERT_CLEAR_S seconds. While
 * any alert of a principal is active its baseline does not learn. Pure:
 * no maps, no clocks; time is given. Functions return -errno.
 */
#ifndef SG_DETECT_H
#define SG_DETECT_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "core/baseline.h"
#include "smtpguard.h"

#define SG_ALERT_CLEAR_S       60
#define SG_NEW_SENDER_WINDOW_S 3600 /* how long a first-time sender counts as new */

/* In the order they are reported within a tick: the most telling first. */
/* The last three are for mail principals only (mailstats.h): UIDs have none of their counts. */
#define SG_RULE_LIST(X)                                                                            \
	X(SG_RULE_NEW_SENDER, "new_sender")                                                        \
	X(SG_RULE_RATE, "rate")                                                                    \
	X(SG_RULE_DESTINATIONS, "destinations")                                                    \
	X(SG_RULE_FAILURE_RATIO, "failure_ratio")                                                  \
	X(SG_RULE_CLIENT_IPS, "client_ips")                                                        \
	X(SG_RULE_BOUNCE_SHARE, "bounce_share")                                                    \
	X(SG_RULE_BOUNCE_FLOOD, "bounce_flood")

enum sg_rule { SG_RULE_LIST(SG_ENUM_VALUE) SG_RULES };

extern const char *const sg_rule_names[SG_RULES];

/* 0 turns a rule off (rate: both floor and factor). */
struct sg_thresholds {
	double rate_floor; /* connections per minute */
	double rate_factor;
	__u32 destinations;
	double new_sender_rate; /* connections per minute */
	__u32 new_sender_min;
	double failure_ratio;
	__u32 failure_min;
	__u32 client_ips;    /* distinct client IPs logging in to one account in 1 h */
	double bounce_share; /* bounced / (sent + bounced) in 10 min */
	__u32 bounce_min;    /* with at least this many outcomes */
	__u32 bounce_flood;  /* null-sender messages into one mailbox in 1 h */
};

/*
 * One principal at one tick; counts are connection attempts, refused ones
 * included. Every principal keeps its last (10,000 UIDs: the two __u32
 * side by side spare 80 KB of padding).
 */
struct sg_observation {
	__u64 total;	   /* ever, as far as the kernel knows */
	time_t first_seen; /* when the kernel counted the first of them (0: unknown) */
	__u64 last_1m;	   /* in the last minute */
	__u32 destinations_10m;
	__u32 client_ips_1h; /* mail principals: distinct client IPs logging in */
	__u64 finished_10m;  /* connections that ended up established, refused or timed out */
	__u64 failed_10m;    /* refused or timed out */
	/* Mail principals */
	__u64 delivered_10m; /* remote deliveries sent or bounced */
	__u64 bounced_10m;
	__u64 bounces_in_1h;
};

/* What a rule measured and what it compared with, when it last held. */
struct sg_rule_state {
	int active;
	/*
	 * Times raised, saturating: a raise waits for a clear, which takes
	 * SG_ALERT_CLEAR_S, so 2^32 of them take 8,000 years; 4 bytes where
	 * 8 made each of 7 rules 48 bytes for every principal.
	 */
	__u32 raised;
	/*
	 * Seconds since the epoch, which sg_detect_observe keeps within
	 * 0..UINT32_MAX (the year 2106): 4 bytes each where time_t's 8 made
	 * each of 7 rules 40 bytes for every principal.
	 */
	__u32 since; /* raised at */
	__u32 last_true;
	double value, limit; /* at the last tick it held */
};

struct sg_principal {
	const char *id;		      /* its baseline's principal */
	struct sg_baseline *baseline; /* owned by the store, which outlives the principal */
	struct sg_observation obs;    /* the last tick's */
	double expected;	      /* baseline per minute at the last tick; -1 = none */
	int is_new;		      /* first seen within SG_NEW_SENDER_WINDOW_S */
	/*
	 * SG_RULES of them: all zero, shared, until one of its rules first
	 * holds, when the principal gets its own. Most principals never alert:
	 * 128 bytes of heap each where 7 states in every one took 336.
	 */
	const struct sg_rule_state *rules;
};

/* A change of an alert, as sg_detect_observe reports it. */
struct sg_alert_change {
	enum sg_rule rule;
	int raised; /* 1: raised now; 0: cleared now */
	double value, limit;
};

struct sg_detector;

/* store: the baselines, kept by the caller (loaded, saved); not freed here. */
struct sg_detector *sg_detector_new(struct sg_baselines *store);
void sg_detector_free(struct sg_detector *d);

/*
 * A principal seen in the first pass after a start, with its total then:
 * it sent before we looked. Without a baseline record it gets one with no
 * first_seen, so a restart never makes an old sender look new, and only
 * what it sends from now on is learned.
 */
int sg_detect_known(struct sg_detector *d, const char *id, __u64 total, time_t now);

/*
 * Evaluates one principal at now under t; writes the alerts raised and
 * cleared at this tick to out (at most SG_RULES) and returns how many, or
 * -errno (-ERANGE: now before 1970 or after 2106, which the rule times
 * cannot hold; nothing is changed). A principal is remembered from its first non-zero total (or,
 * for a mailbox, its first bounce received), as first seen at
 * o->first_seen when that is earlier: a sender that began while we were
 * not looking (the daemon paused) is as new as it is, and its rate is
 * over the time it has been sending.
 */
int sg_detect_observe(struct sg_detector *d, const char *id, const struct sg_observation *o,
		      const struct sg_thresholds *t, time_t now, struct sg_alert_change *out);

/*
 * sg_detect_observe for the principal *p the caller kept from an earlier
 * call, with no lookup of id; NULL: looked up by id. *p is set to the
 * principal observed (NULL when none is remembered), which stays valid
 * while sg_detect_forgotten() returns what it returned then.
 */
int sg_detect_observe_kept(struct sg_detector *d, struct sg_principal **p, const char *id,
			   const struct sg_observation *o, const struct sg_thresholds *t,
			   time_t now, struct sg_alert_change *out);

/* How many principals were forgotten since the start: a pointer kept from before a change is gone.
 */
__u64 sg_detect_forgotten(const struct sg_detector *d);

/* The principal's state, or NULL if never observed. */
const struct sg_principal *sg_detect_get(const struct sg_detector *d, const char *id);

/* Every principal with at least one active alert, until fn returns non-zero. */
int sg_detect_each_active(const struct sg_detector *d,
			  int (*fn)(const struct sg_principal *p, void *ctx), void *ctx);

/*
 * Retention: forgets the principals, state and baseline record both, that
 * sent nothing for unseen_s (0: no limit), then the least recently seen
 * while more than max records are left (0: no limit). A principal with an
 * alert in force is kept. Adds the records forgotten to *unseen and *over;
 * returns 0 or -ENOMEM.
 */
int sg_detect_prune(struct sg_detector *d, time_t now, time_t unseen_s, size_t max, __u64 *unseen,
		    __u64 *over);

/* Alerts raised since the start, per rule. */
__u64 sg_detect_raised(const struct sg_detector *d, enum sg_rule r);

#endif
