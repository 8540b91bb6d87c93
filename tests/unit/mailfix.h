/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the unit tests of the daemon's mail side share (test_inband,
 * test_fleethold): its real objects (mailstats, detector and baselines,
 * brute force, the responder, containment with its state file and the
 * audit log in a temporary directory), no MTA and no sg_bans.
 */
#ifndef SG_TEST_MAILFIX_H
#define SG_TEST_MAILFIX_H

#include <time.h>

#include "daemon/run.h"

struct mail_fixture {
	char tmp[64]; /* the temporary directory */
	struct sg_config cfg;
	struct sg_baselines *store;
	struct sg_detector *det;
	struct sg_defence defence;
	struct sg_responder *resp;
};

/* fx made at now, mail its mailguard, in a new /tmp/NAME.XXXXXX: 0, or -1 (cmocka's setup). */
int mail_fixture_open(struct mail_fixture *fx, struct sg_mailguard *mail, const char *name,
		      time_t now);
/* Everything open undid, the directory removed: 0, or -1 (cmocka's teardown). */
int mail_fixture_close(struct mail_fixture *fx, struct sg_mailguard *mail);

#endif
