/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SMTP on ports that are not watched: what TC egress recorded in sg_smtp
 * (a client's EHLO, HELO or MAIL, per UID and destination), told once per new
 * destination, reported per port, and forgotten after an hour unused
 * (with [ports] detect_any, a connect() to the destination uses it).
 */
#ifndef SG_ANYPORT_H
#define SG_ANYPORT_H

#include <linux/types.h>

#include "smtpguard.h"

/* One port's SMTP sessions in sg_smtp. */
struct sg_smtp_port {
	__u32 port;
	__u32 destinations; /* (UID, address) pairs */
	__u64 sessions;
};

struct sg_anyport {
	__u64 last_ns; /* the last tick: an entry first seen since is new */
	struct sg_smtp_port ports[SG_MAX_PORTS]; /* the first ports met, this tick */
	int n_ports;
	__u64 ports_omitted; /* ports of sg_smtp beyond those, this tick */
	__u64 entries;	     /* in sg_smtp after this tick's removals, when last_ns is now */
};

/* Once a tick; returns -errno when sg_smtp could not be read. */
int sg_anyport_tick(struct sg_anyport *a, __u64 now_ns);

#endif
