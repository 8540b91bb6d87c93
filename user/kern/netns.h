/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network namespaces named by inode, as sg_ifaces records them, so that
 * detach can reach an interface from whichever namespace it is run in.
 * Functions return -errno.
 */
#ifndef SG_NETNS_H
#define SG_NETNS_H

#include <linux/types.h>

/* The inode of this process's network namespace, or 0 if it cannot be read. */
__u64 sg_netns_self(void);

/*
 * Enter the namespace with inode ino, found through /run/netns or any
 * process in it: 0 and *back, an fd to return by; -ENOENT when no such
 * namespace is left.
 */
int sg_netns_enter(__u64 ino, int *back);

/* Return to the namespace entered from, and close back. */
int sg_netns_return(int back);

#endif
