/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the connections to watched ports ended, per UID (sg_conn_stats, kept
 * by sock_ops): established, refused, timed out, bytes sent. Functions
 * return -errno.
 */
#ifndef SG_CONNSTATS_H
#define SG_CONNSTATS_H

#include <stddef.h>
#include <linux/types.h>

#include "smtpguard.h"

struct sg_conn_row {
	__u32 uid;
	struct sg_conn_stats s; /* summed over CPUs */
};

/* Every UID's row, by UID, into *rows (the caller frees it; NULL when n is 0). */
int sg_conn_stats_read(struct sg_conn_row **rows, size_t *n);

/* Every UID's counts added up. */
void sg_conn_stats_total(const struct sg_conn_row *rows, size_t n, struct sg_conn_stats *total);

#endif
