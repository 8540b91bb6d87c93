/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The journal of a containment and of its release, kept in the principal's
 * entry of the containment state (contain.h): what is to be done is
 * written before anything is done, and each step is struck off once it is
 * done, so that a crash or a failed step leaves a record to resume from. A
 * containment goes on until it holds what it meant to hold; a release goes
 * on until all is undone, its undo lists (held, bans, the table line) kept
 * until the step that undoes each has succeeded. A failed step is tried
 * again after a backoff (SG_CLOG_RETRY_MIN doubling to SG_CLOG_RETRY_MAX).
 * Pure: JSON in, JSON out; contain.c carries the steps out.
 *
 * An entry: { since, rule, mta, held: [QID], bans: [IP], key?, table?,
 * ban_for_s?, released? (a release begun), and while steps remain:
 * todo: [STEP], to_hold: [QID], to_ban: [IP], value (the table line's),
 * tries, retry_at, error (the last failure) }.
 */
#ifndef SG_CONTAINLOG_H
#define SG_CONTAINLOG_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include <linux/types.h>

/* The steps, each in the order it runs; a containment's, then a release's. */
enum sg_contain_step {
	SG_STEP_BAN,	 /* to_ban banned at XDP, each moved to bans */
	SG_STEP_TABLE,	 /* the key's line (value) written in table, the MTA told */
	SG_STEP_HOLD,	 /* to_hold put on hold (frozen) */
	SG_STEP_UNTABLE, /* the key's lines removed */
	SG_STEP_UNHOLD,	 /* held let go */
	SG_STEP_UNBAN,	 /* bans lifted */
	SG_CONTAIN_STEPS,
};

#define SG_CLOG_RETRY_MIN 2   /* seconds before the first retry of a failed step */
#define SG_CLOG_RETRY_MAX 600 /* and the longest wait between two */

/* Their names, as the journal and the metrics write them. */
extern const char *const sg_contain_step_names[SG_CONTAIN_STEPS];

/* The step called name; -1 for none. */
int sg_clog_step(const char *name);

/* A containment's todo from what its intent e names: to_ban, a key, to_hold. */
void sg_clog_begin(json_t *e);

/*
 * Turns e into a release at now: released, and its todo the undoing of
 * what it names (a containment's own steps not done yet are dropped: a
 * line not written is removed all the same, what was not banned needs no
 * lifting). 0, or -EALREADY when a release is begun already and left
 * undone (its todo kept, to be tried again), or -ENOENT when it is
 * released and done.
 */
int sg_clog_release(json_t *e, time_t now);

/* Adds step to e's todo (once; after a failure in a step run alone). */
void sg_clog_add(json_t *e, enum sg_contain_step s);

/* The first step of e's todo, or -1 when all is done. */
int sg_clog_next(const json_t *e);

/* Whether s is in e's todo. */
int sg_clog_pending(const json_t *e, enum sg_contain_step s);

/* s done: struck off, its list cleared; with nothing left, the retry record goes too. */
void sg_clog_done(json_t *e, enum sg_contain_step s);

/* s failed with why at now: kept, its retry put off by the backoff. */
void sg_clog_failed(json_t *e, enum sg_contain_step s, const char *why, time_t now);

/* When e's remaining steps are due: 0 when none remain; 1 (at once) when no step failed yet. */
time_t sg_clog_due(const json_t *e);

/* The earliest due of the state's entries; 0 when none has steps left. */
time_t sg_clog_state_due(const json_t *state);

/* What sg_clog_prune dropped. */
enum sg_clog_pruned {
	SG_PRUNED_AGE, /* released and done longer ago than keep */
	SG_PRUNED_CAP, /* the oldest released, over max entries */
	SG_PRUNED_KINDS,
};

extern const char *const sg_clog_pruned_names[SG_PRUNED_KINDS];

/*
 * Drops from state the entries released and done more than keep_s before
 * now, then, while it has more than max, the ones released longest ago:
 * never one contained, nor a release with steps left. Counts them into
 * pruned; returns how many it dropped.
 */
size_t sg_clog_prune(json_t *state, time_t now, time_t keep_s, size_t max,
		     __u64 pruned[SG_PRUNED_KINDS]);

#endif
