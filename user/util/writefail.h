/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A file the daemon writes again and again (the audit log, a state file):
 * its failed writes counted, for smtpguard_write_errors_total{file}, and
 * logged once per streak, not once a write, so that a full disk does not
 * also flood the journal. The first write that works after a streak says
 * how many failed.
 */
#ifndef SG_WRITEFAIL_H
#define SG_WRITEFAIL_H

#include <linux/types.h>

struct sg_write_fail {
	__u64 errors; /* writes that failed, ever */
	__u64 streak; /* of them, since the last that worked */
};

/* A write of what ("audit log /var/log/smtpguard/audit.log") ended in err (0 or -errno). */
void sg_write_note(struct sg_write_fail *w, const char *what, int err);

#endif
