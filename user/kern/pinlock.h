/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One daemon per pin directory: an flock on a directory beside it (the pin
 * directory's name and "_daemon"), which bpffs allows like any other file
 * system (it has no regular files to lock) and which a forced detach
 * leaves, so that a daemon holds it even while its pins are gone, and a
 * second `run` started then is refused all the same. `run` takes it before it
 * changes anything; `detach` asks for it and so knows when a daemon would
 * lose its hooks. Both locks are directories only root may open (-EPERM
 * when one is another user's or open to others). Functions return -errno.
 */
#ifndef SG_PINLOCK_H
#define SG_PINLOCK_H

#include <sys/types.h>
#include <linux/types.h>

/* The lock directories: the pin directory's name and these. */
#define SG_PIN_LOCK_DAEMON   "_daemon"
#define SG_PIN_LOCK_CHANGE   "_change"
#define SG_PIN_LOCK_BANS     "_bans"
#define SG_PIN_LOCK_POLICIES "_policies"

/*
 * Locks the pin directory's daemon lock, made when missing (its parent
 * must exist): the fd that holds the lock, or -EWOULDBLOCK when another
 * process holds it (*holder: its pid as /proc/locks says, 0 when
 * unknown), or -errno.
 */
int sg_pin_lock(pid_t *holder);

/*
 * The pid holding the daemon lock (/proc/locks), 0 when none or unknown;
 * asked without locking, so that a daemon starting meanwhile is not refused.
 */
pid_t sg_pin_lock_holder(void);

/* Removes the daemon lock's directory (detach, the pins gone, no daemon) and releases it. */
void sg_pin_lock_remove(int fd);

/* The pin directory's inode, which changes when it is removed and made again; 0 when none. */
__u64 sg_pin_dir_ino(void);

/*
 * Changes to the pins one at a time: attach, detach, a daemon's start,
 * reload and repair hold an flock on the "_change" lock directory while
 * they make them, so that a daemon never puts a pin back under an attach
 * that is making it. The fd that holds it, or -errno (-EWOULDBLOCK: nonblock, and
 * a change is under way).
 */
int sg_pins_change_lock(int nonblock);

/*
 * Every writer of sg_bans and sg_ban_bits, one at a time (kern/banbits.h):
 * the "_bans" lock directory's flock, not the pin directory's, which a
 * customer may open and hold when the directory is readable by all.
 */
int sg_pins_bans_lock(void);

/* Every writer of sg_policies and sg_policy_bits, one at a time (kern/policybits.h), likewise. */
int sg_pins_policies_lock(void);

#endif
