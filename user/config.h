/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's configuration: an INI file read with inih, over a built-in
 * default (the daemon runs with no file at all). dist/smtpguard.conf
 * documents every key. Loading is all or nothing: any unknown section or
 * key, or bad value, fails the whole file with "FILE:LINE: message".
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <linux/types.h>

#include "smtpguard.h"

#define SG_CONFIG_PATH "/etc/smtpguard/smtpguard.conf"
/* Outside the Prometheus default-port allocations (9100-9999 and 9090-9094). */
#define SG_EXPORTER_PORT 9025
#define SG_AUDIT_LOG "/var/log/smtpguard/audit.log"
#define SG_MAX_FPM 16

struct sg_config {
	/* [daemon] */
	char interfaces[SG_MAX_IFACES][IF_NAMESIZE];
	int n_interfaces; /* 0: the interfaces that carry a default route */
	char cgroup[PATH_MAX]; /* "": where the hooks are, else the cgroup2 root */
	int detach_on_exit; /* 0: SIGTERM leaves the programs attached and enforcing */

	/* [ports] */
	__u32 outbound[SG_MAX_PORTS];
	int n_outbound;
	__u32 inbound[SG_MAX_PORTS];
	int n_inbound;

	/* [policy]: the default policy, for UIDs with none of their own */
	struct sg_policy default_policy; /* expires_ns and updated_ns are 0 */
	__u64 deny_event_interval_ns;

	/* [exporter] */
	int exporter; /* 0: no HTTP listener */
	char listen_host[64]; /* numeric IPv4 or IPv6 address */
	__u16 listen_port;
	__u32 top_senders; /* K: per-sender series for the K busiest only */

	/* [attribution] */
	__u32 recent_uids; /* UIDs kept in the recent-senders table */
	__u32 recent_per_uid; /* processes kept per UID */
	char cpanel_userdomains[PATH_MAX];
	char cpanel_trueuserowners[PATH_MAX];
	char directadmin_domainowners[PATH_MAX];
	char fpm_sockets[SG_MAX_FPM][PATH_MAX]; /* glob patterns of PHP-FPM pool sockets */
	int n_fpm;
	char fpm_status_path[128]; /* the pools' pm.status_path; "": no lookup */

	/* [audit] */
	char audit_log[PATH_MAX];
	int audit_syslog;
};

/* The built-in default. */
void sg_config_default(struct sg_config *c);

/*
 * Reads path over the default into c. On failure returns -EINVAL (bad
 * content) or -errno (unreadable), leaves c untouched and writes the reason
 * to err: "FILE:LINE: message" for content, "FILE: strerror" otherwise.
 */
int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen);

#endif
