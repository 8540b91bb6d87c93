/* SPDX-License-Identifier: GPL-2.0 */
/* Where smtpguard's pinned state lives, and getting at it. Functions return -errno. */
#ifndef SG_STATE_H
#define SG_STATE_H

#include <stddef.h>
#include <linux/types.h>

/* The pin directory: $SMTPGUARD_PIN_DIR (tests use a private bpffs) or SG_PIN_DIR_DEFAULT. */
const char *sg_pin_dir(void);

int sg_pin_path(char *buf, size_t len, const char *name);

/* The directory path is in (for the pin directory: the bpffs); -EINVAL for "/" or a bare name. */
int sg_parent_dir(const char *path, char *buf, size_t len);

/* fd of the pinned object name, or -errno. */
int sg_pin_open(const char *name);

/*
 * The pinned array name (BPF_F_MMAPABLE) mapped for reading and writing, size
 * bytes of it, in *out (munmap it); *out NULL, and 0, when nothing is pinned
 * as name.
 */
int sg_pin_mmap(const char *name, size_t size, void **out);

/* 1 when something is pinned as name. */
int sg_pinned(const char *name);

/*
 * Pins fd as name, replacing what is pinned there: pinned under a
 * temporary name, then renamed over it, so the name is never missing.
 */
int sg_pin_replace(int fd, const char *name);

/* 0 when pinned state exists; -ENOENT (nothing attached) otherwise. */
int sg_state_present(void);

/* 1 when the pin directory holds any pin, even one a half-finished attach left. */
int sg_state_any(void);

/*
 * Make sure the pin directory exists on a bpffs, mounting one at /sys/fs/bpf
 * if needed; -EPERM when it is another user's or others may write it.
 */
int sg_state_prepare(void);

/* err from sg_state_prepare or the pin locks (pinlock.h) in words, -EPERM's with its remedy. */
const char *sg_state_error(int err);

/* Remove the pin directory's entries and the directory. */
int sg_state_remove(void);

/* The cgroup v2 root: the first cgroup2 mount, or one we mount under /run/smtpguard. */
int sg_cgroup2_root(char *buf, size_t len);

/* 1 when the cgroup with this id (a cgroup2 directory's inode) still exists. */
int sg_cgroup_alive(__u64 id);

#endif
