/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smtpguard run: one epoll loop over the ring buffer, a 1 s timer, signals
 * and the exporter. Returns the exit status: 0 after a clean stop, 1 when
 * it could not start or its loop failed (the reason logged).
 */
#ifndef SG_DAEMON_H
#define SG_DAEMON_H

#define SG_VERSION "0.3.0"

/* path: the config file; NULL: SG_CONFIG_PATH if it exists, else the built-in default. */
int sg_daemon_run(const char *path);

#endif
