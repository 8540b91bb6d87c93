/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One daemon per pin directory: an flock on the directory itself, which
 * bpffs allows like any other file system (it has no regular files to
 * lock). `run` takes it before it changes anything; `detach` asks for it
 * and so knows when a daemon would lose its hooks. Functions return -errno.
 */
#ifndef SG_PINLOCK_H
#define SG_PINLOCK_H

#include <sys/types.h>

/*
 * Locks the pin directory, which must exist: the fd that holds the lock,
 * or -EWOULDBLOCK when another process holds it (*holder: its pid as
 * /proc/locks says, 0 when unknown), or -errno.
 */
int sg_pin_lock(pid_t *holder);

/* 1 while fd (from sg_pin_lock) is still the pin directory: not removed nor replaced. */
int sg_pin_lock_current(int fd);

/*
 * Changes to the pins one at a time: attach, detach and a daemon's repair
 * hold an flock on the pin directory's parent (the bpffs) while they make
 * them, so that a daemon never puts a pin back under an attach that is
 * making it. The fd that holds it, or -errno (-EWOULDBLOCK: nonblock, and
 * a change is under way).
 */
int sg_pins_change_lock(int nonblock);

#endif
