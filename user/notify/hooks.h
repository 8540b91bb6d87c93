/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The [notify] exec hook: each event's JSON on its standard input, run by
 * SG_HOOKS_MAX threads of their own, so that at most that many run at
 * once and the daemon's loop never waits for one. Events wait in a queue
 * of SG_HOOKS_QUEUE; one more is dropped, counted. A hook still running at
 * its timeout is killed with what it started (its process group). Each
 * failure is logged, with the first line of its output, and counted.
 */
#ifndef SG_HOOKS_H
#define SG_HOOKS_H

#include <linux/types.h>

#define SG_HOOKS_MAX   4
#define SG_HOOKS_QUEUE 256

enum sg_hook_outcome {
	SG_HOOK_OK,
	SG_HOOK_FAILED,	    /* exit status not 0, or killed by a signal */
	SG_HOOK_TIMEOUT,    /* killed at exec_timeout */
	SG_HOOK_UNRUNNABLE, /* could not be run */
	SG_HOOK__MAX,
};
extern const char *const sg_hook_outcome_names[SG_HOOK__MAX];

struct sg_hooks_stats {
	__u64 runs[SG_HOOK__MAX];
	__u64 dropped; /* the queue was full */
};

struct sg_hooks;

/* The threads, waiting for events; NULL with errno when they cannot start. */
struct sg_hooks *sg_hooks_start(void);

/* The hook from now on ("": none, events are not queued) and its timeout. */
void sg_hooks_set(struct sg_hooks *h, const char *path, __u64 timeout_ns);

/* Queues the event's JSON text (taken over) for the hook. */
void sg_hooks_push(struct sg_hooks *h, char *text);

/* Ends the threads once the hooks running are done (each within its timeout); frees h. */
void sg_hooks_stop(struct sg_hooks *h);

void sg_hooks_stats(struct sg_hooks *h, struct sg_hooks_stats *out);

#endif
