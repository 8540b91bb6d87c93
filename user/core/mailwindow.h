/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mail principal's sliding windows (mailstats.h: per second for 1 min,
 * per minute for 1 h), kept as rings that time moves on, and what the
 * detector reads from them. sg_mailstats_ips and sg_mailstats_observe,
 * declared in mailstats.h, are here. Pure.
 */
#ifndef SG_MAILWINDOW_H
#define SG_MAILWINDOW_H

#include <time.h>

#include "core/mailstats.h"

/* Moves p's rings to now, clearing the slots time has passed over. */
void sg_mail_advance(struct sg_mail_principal *p, time_t now);

#endif
