/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's blocklist checks: a thread of their own looks up every
 * address in every [dnsbl] zone at start and every [dnsbl] interval, and
 * publishes each round under a mutex; the daemon's tick only renders what
 * is published, so its loop never waits for DNS. The rendering is pure
 * (sg_metrics_render_dnsbl) so that it is tested on values made by hand.
 */
#ifndef SG_DNSBLWATCH_H
#define SG_DNSBLWATCH_H

#include <stdio.h>
#include <linux/types.h>

#include "core/config.h"
#include "mail/dnsbl.h"
#include "daemon/metrics.h"

struct sg_dnsblwatch;

/*
 * The checks for [dnsbl] c into *w: none when c sets no zone or no interval;
 * the running ones when c is theirs; else new ones, which keep the running
 * ones' results for the zones and addresses c still names, then the running
 * ones are stopped. On failure (-errno) *w is left as it was.
 */
int sg_dnsblwatch_apply(struct sg_dnsblwatch **w, const struct sg_dnsbl_cfg *c);

/* Ends the checks without waiting for a lookup in flight; the thread frees what it still uses. */
void sg_dnsblwatch_stop(struct sg_dnsblwatch *w);

/* The last round's metrics; nothing for NULL. -EIO when f fails. */
int sg_dnsblwatch_render(struct sg_dnsblwatch *w, FILE *f);

#endif
