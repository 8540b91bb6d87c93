/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's detection tick for UIDs: each UID's counts (from the maps
 * the tick has read) into the detector, its alerts to the responder, the
 * baselines kept and saved, and what explain and /metrics show of it.
 * Functions return -errno.
 */
#ifndef SG_GUARD_H
#define SG_GUARD_H

#include <jansson.h>
#include <linux/types.h>

#include "host/attrib.h"
#include "host/recent.h"
#include "host/audit.h"
#include "core/config.h"
#include "kern/connstats.h"
#include "core/detect.h"
#include "core/rates.h"
#include "daemon/respond.h"
#include "daemon/senders.h"
#include "util/writefail.h"

#define SG_BASELINE_SAVE_S 600	  /* and at every hour's end, and at exit */
#define SG_UID_PRINCIPAL   "uid:" /* a UID's principal id: "uid:1001" */

struct sg_conn_recent {
	__u64 finished_10m, failed_10m;
};

struct sg_guard_kept {
	__u32 uid;
	struct sg_principal *p;
};

struct sg_guard {
	struct sg_baselines *store;
	struct sg_detector *det;
	struct sg_responder *resp;
	struct sg_rates *failed, *finished; /* sock_ops outcomes, as rates */
	struct sg_conn_row *conn;
	size_t n_conn;
	struct sg_conn_recent *conn_recent; /* conn's rows' 10 min counts, at the read */
	int conn_read; /* conn is the last tick's read of sg_conn_stats, whole */
	struct sg_conn_stats conn_total;
	int started;
	__s64 hour;   /* of the last tick, unix time / 3600 */
	time_t saved; /* when the baselines were last written */
	struct sg_write_fail save_fails;
	__u64 pruned_unseen,
		pruned_over; /* principals forgotten by [detect] retention, baselines_max */
	/*
	 * The last tick's UIDs with their principals, by UID, and a buffer for
	 * this tick's: the detector looks up a UID's principal once, not by its
	 * name every tick. Valid while the detector's forgotten count is kept_forgotten.
	 */
	struct sg_guard_kept *kept, *kept_next;
	size_t n_kept, cap_kept;
	__u64 kept_forgotten;
};

/* Loads the baselines named by c (a bad file is a warning, on stdout). */
int sg_guard_init(struct sg_guard *g, const struct sg_config *c);
void sg_guard_free(struct sg_guard *g);

/* On start and reload: resolve the config's names and write its policies. */
void sg_guard_config(struct sg_guard *g, const struct sg_config *c, __u64 now_ns);

/*
 * One tick: s has been read at now_ns (boot) and now (wall), its rows'
 * recent counts with it.
 * The first call takes every UID as already known.
 */
void sg_guard_tick(struct sg_guard *g, const struct sg_config *c, const struct sg_senders *s,
		   const struct sg_recent *recent, const struct sg_audit_cfg *audit, __u64 now_ns,
		   time_t now);

/*
 * The thresholds uid is judged by: none for the allow list's and the MTA's
 * users, watched for their baselines only; else sg_respond_thresholds().
 */
const struct sg_thresholds *sg_guard_thresholds(const struct sg_guard *g, const struct sg_config *c,
						__u32 uid);

/*
 * Forgets what [detect] retention and baselines_max let go, then writes
 * the baselines when c names a file; a failure is counted in save_fails
 * and logged once a streak.
 */
void sg_guard_save(struct sg_guard *g, const struct sg_config *c, time_t now);

/* The UID of a principal id, "uid:N" (or a bare N, as explain may ask): 0, or -EINVAL. */
int sg_guard_uid_of(const char *id, __u32 *uid);

/* The UIDs' alerts in force, at most max, with the users' names; returns how many. */
size_t sg_guard_active(const struct sg_guard *g, struct sg_alert_metric *out, size_t max);

/* The connection outcomes of uid (zero when none). */
void sg_guard_conn(const struct sg_guard *g, __u32 uid, struct sg_conn_stats *out);

/*
 * What the daemon knows of uid, for explain: rates, baseline, rules with
 * their numbers and state, thresholds, exemption, connection outcomes,
 * recent processes. NULL on ENOMEM.
 */
json_t *sg_guard_explain(const struct sg_guard *g, const struct sg_config *c,
			 const struct sg_rates *rates, const struct sg_recent *recent, __u32 uid,
			 __u64 now_ns, time_t now);

#endif
