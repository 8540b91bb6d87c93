/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What is normal for a principal: per hour of the week (local time), the
 * mean connections per minute, as an EWMA over the weeks. The current hour
 * is accumulated as it goes and learned when it ends; an hour in which the
 * principal raised an alert is not learned, so spam never becomes normal.
 * The store persists as a gzip stream in a versioned format, written to a
 * temporary file and renamed over the old one; a file that is corrupt,
 * truncated or not ours is reported and the store starts fresh.
 * Functions return -errno.
 */
#ifndef SG_BASELINE_H
#define SG_BASELINE_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "core/mailrec.h"

/* "uid:1001", "local:1001", "sasl:" and a login of any length the MTA takes */
#define SG_PRINCIPAL_MAX   (5 + SG_MTA_LOGIN_MAX) /* 5: strlen("sasl:") */
#define SG_HOURS_PER_WEEK  168
#define SG_BASELINE_WEIGHT 0.3 /* of the newest week's hour in the EWMA */

struct sg_baseline {
	__s64 first_seen; /* unix time of the first connection counted */
	__s64 last_seen;  /* of the last: what retention goes by (sg_detect_prune) */
	__s64 hour;	  /* unix time / 3600 of the hour being accumulated */
	__u64 acc;	  /* connections counted in that hour so far */
	__u8 tainted;	  /* an alert was active in that hour: do not learn it */
	__u8 learned[SG_HOURS_PER_WEEK / 8]; /* bitmap of slots with a value */
	float per_min[SG_HOURS_PER_WEEK];    /* by hour of the week: Sunday 00:00 is 0 */
	/* Under SG_PRINCIPAL_MAX, allocated to its length: 10,000 UIDs' ids, not 10 MB. */
	char principal[];
};

struct sg_baselines;

struct sg_baselines *sg_baselines_new(void);
void sg_baselines_free(struct sg_baselines *s);

/* The principal's record, or NULL; with create, a new one (first_seen = now) when absent. */
struct sg_baseline *sg_baselines_get(struct sg_baselines *s, const char *principal, int create,
				     time_t now);

size_t sg_baselines_count(const struct sg_baselines *s);

/* Frees the principal's record; -ENOENT when there is none. */
int sg_baselines_remove(struct sg_baselines *s, const char *principal);

/* Calls fn on every record, in no particular order, until it returns non-zero. */
int sg_baselines_each(struct sg_baselines *s, int (*fn)(struct sg_baseline *b, void *ctx),
		      void *ctx);

/* n connections counted at now; an ended hour is learned first (as sg_baseline_roll). */
void sg_baseline_add(struct sg_baseline *b, __u64 n, time_t now);

/*
 * Learns every hour of b that has ended by now: the hour's count / 60 into
 * its slot (the first value of a slot is taken whole), skipped when tainted;
 * hours with no record at all in between are learned as 0, at most one week
 * of them. Then b accumulates the hour of now from 0.
 */
void sg_baseline_roll(struct sg_baseline *b, time_t now);
void sg_baselines_roll(struct sg_baselines *s, time_t now);

/* Whether b has a value for the hour of the week how (0 to 167). */
int sg_baseline_learned(const struct sg_baseline *b, int how);

/* Hour of the week of t in local time, 0 to 167. */
int sg_hour_of_week(time_t t);

/*
 * The expected connections per minute at now: the slot of now's hour of the
 * week when learned, else the mean of the learned slots; -1 when nothing is
 * learned yet.
 */
double sg_baseline_per_min(const struct sg_baseline *b, time_t now);
/* The same for how, the hour of the week (sg_hour_of_week) the caller worked out. */
double sg_baseline_per_min_in(const struct sg_baseline *b, int how);

/*
 * Writes the store to path (path.tmp, fsync, rename). err gets "PATH: why"
 * on failure.
 */
int sg_baselines_save(const struct sg_baselines *s, const char *path, char *err, size_t errlen);

/*
 * Replaces the store's records with path's. Returns 0 when loaded, 0 with
 * an empty store when path does not exist, 1 when path is corrupt,
 * truncated, of another version or not a baseline file: the store is then
 * empty and warn says "PATH: why; starting with no baselines". -errno only
 * when the file exists but cannot be read (warn says so too).
 */
int sg_baselines_load(struct sg_baselines *s, const char *path, char *warn, size_t warnlen);

#endif
