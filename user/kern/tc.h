/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smtpguard's filter on an interface's clsact egress hook, through libbpf's
 * netlink TC API (Debian 12's libbpf 1.1 has no tcx links). Works in the
 * caller's network namespace. Functions return -errno.
 */
#ifndef SG_TC_H
#define SG_TC_H

#include <linux/types.h>

/* Ours is the filter with this handle at this priority. */
#define SG_TC_HANDLE 0x5347
#define SG_TC_PRIORITY 1

/* Our filter on ifindex; *qdisc_ours says whether clsact had to be created. */
int sg_tc_attach(__u32 ifindex, int prog_fd, int *qdisc_ours);

/*
 * Our filter on ifindex's egress runs prog_fd from now on: the filter is
 * changed in place (same priority and handle, NLM_F_REPLACE), so no packet
 * passes between the old program and the new.
 */
int sg_tc_replace(__u32 ifindex, int prog_fd);

/*
 * Remove our filter, and the clsact qdisc too when we created it and no
 * other filter has been put on it since.
 */
int sg_tc_detach(__u32 ifindex, int qdisc_ours);

#endif
