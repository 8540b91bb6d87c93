/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Removing what has expired: per-UID policies and bans whose time is up
 * (the kernel already treats them as absent), each audited as expired.
 * Returns how many were removed, or -errno.
 */
#ifndef SG_SWEEP_H
#define SG_SWEEP_H

#include <linux/types.h>

#include "host/audit.h"

int sg_sweep_policies(const struct sg_audit_cfg *audit, __u64 now_ns);
int sg_sweep_bans(const struct sg_audit_cfg *audit, __u64 now_ns);

#endif
