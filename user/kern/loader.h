/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the kernel programs into pinned state and attaching them. All of
 * it survives the process: programs, maps and links are pinned, TC filters
 * live on the qdisc. Functions return -errno; they print what they changed
 * and, once, what failed.
 */
#ifndef SG_LOADER_H
#define SG_LOADER_H

#include <net/if.h>

/* Interfaces that carry a default route (IPv4 or IPv6), at most max; returns how many. */
int sg_default_ifaces(char names[][IF_NAMESIZE], int max);

/*
 * Load (or reuse) the programs and maps, attach the connect hooks to cgroup
 * (NULL: where they are, or the cgroup2 root) and TC egress + XDP to each
 * interface. Attaching what is already attached changes nothing. On
 * failure, what this call added is undone.
 */
int sg_attach(const char *cgroup, char *const *ifaces, int n_ifaces);

/*
 * Remove every hook, link, filter and qdisc we created, whatever network
 * namespace it is in, then every pin; the pins stay if a filter could not
 * be removed, so that detach can be run again.
 */
int sg_detach(void);

/*
 * 0 when the cgroup hooks are attached to cgroup (NULL: to a live cgroup,
 * wherever), -ENOENT when cgroup is not there, -ENOLINK when a hook is
 * missing, detached or on another cgroup (the cgroup was made again).
 */
int sg_hooks_check(const char *cgroup);

#endif
