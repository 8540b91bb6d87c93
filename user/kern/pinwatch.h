/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a running daemon checks of the pinned state every tick: the maps
 * and programs it started with, held open, so that a pin removed (rm, a
 * forced detach) can be put back as it was, and one replaced (a detach
 * and a new attach) is noticed and its enforcement state carried over.
 * The cgroup hooks are checked by sg_hooks_check() (loader.h). Functions
 * return -errno.
 */
#ifndef SG_PINWATCH_H
#define SG_PINWATCH_H

#include <linux/types.h>

#define SG_PINWATCH_MAX 64

struct sg_pinwatch {
	struct {
		char name[64];
		__u32 id; /* the object's id, as pinned when last taken */
		int fd;	  /* held open: the object outlives its pin */
	} pins[SG_PINWATCH_MAX];
	int n;
};

enum sg_pins_state {
	SG_PINS_OK,	  /* every pin there, each the object held */
	SG_PINS_MISSING,  /* some gone, none replaced: they can be put back */
	SG_PINS_REPLACED, /* some pin is another object now: a new attach */
};

void sg_pinwatch_init(struct sg_pinwatch *w);

/* Takes (again) every map and program pinned now, releasing what was held. */
int sg_pinwatch_take(struct sg_pinwatch *w);

/* How the pins are now; *first: the name of the first pin not as held (NULL when OK). */
enum sg_pins_state sg_pinwatch_check(const struct sg_pinwatch *w, const char **first);

/* Pins each object held whose pin is gone again, where it was. */
int sg_pinwatch_restore(const struct sg_pinwatch *w);

/*
 * After a replacement: the entries of the held policies, buckets and bans
 * copied into the pinned maps where these lack them (what was set since
 * stands); a map of another layout is left as it is. Returns how many.
 */
int sg_pinwatch_carry(const struct sg_pinwatch *w);

void sg_pinwatch_release(struct sg_pinwatch *w);

#endif
