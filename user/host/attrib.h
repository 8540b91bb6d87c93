/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who is behind a ring-buffer event: the user and hosting account of the
 * UID, and the process (comm, exe, cmdline, cwd, and for PHP-FPM workers
 * the script being run). Resolved the moment the event is read, before
 * the process can exit; when it is already gone, that is said, not guessed.
 */
#ifndef SG_ATTRIB_H
#define SG_ATTRIB_H

#include <limits.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/quota.h"
#include "smtpguard.h"

struct sg_attrib_cfg {
	const char *proc; /* "/proc"; tests point it elsewhere */
	const char *cpanel_userdomains; /* "domain: user" lines */
	const char *cpanel_trueuserowners; /* "user: owner" lines */
	const char *directadmin_domainowners; /* "domain: user" lines */
	const char *const *fpm_sockets; /* glob patterns of PHP-FPM pool sockets */
	int n_fpm;
	const char *fpm_status_path; /* NULL or "": no PHP-FPM lookup */
	/* PHP-FPM lookups (up to 250 ms each) allowed per UID and tick; NULL: unbounded */
	struct sg_quota *fpm_quota;
};

struct sg_sender_info {
	/* From the event. */
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u32 kind, verdict; /* enum sg_event_kind, enum sg_verdict */
	__u32 uid, gid, pid, tgid;
	__u32 real_uid; /* the process's own UID when uid is its sub-UID range's owner; else 0 or uid */
	__u32 flags;	/* SG_EVENT_*: the process could not be recorded in sg_senders, and why */
	__u32 addr[4];
	__u16 port;
	char comm[16];

	/* The account. */
	char user[64]; /* passwd name; "" when the UID has none */
	char account[64]; /* the panel's account, else the passwd name */
	char owner[64]; /* cPanel reseller (trueuserowners); "" */
	char panel[16]; /* "cpanel", "directadmin", "" (plain passwd) */
	char domains[512]; /* space-separated, sorted; "" */

	/* The process, from /proc. */
	int gone; /* exited before it could be looked at: the fields below are "" */
	char exe[PATH_MAX];
	char cmdline[1024]; /* arguments joined by spaces */
	char cwd[PATH_MAX];
	/* PHP-FPM: SCRIPT_FILENAME of the worker's request; an interpreter (php,
	 * perl, python...): the script it was given; "" */
	char script[PATH_MAX];
};

/* The UID's passwd name into name: 0, -ENOENT (none), -ENAMETOOLONG or -errno. */
int sg_user_name(__u32 uid, char *name, size_t len);

/*
 * The same, from a cache kept a minute and emptied when /etc/passwd,
 * /etc/group or /etc/nsswitch.conf change (looked at once a second): for
 * the daemon's loop, where a lookup through LDAP or sssd must not come once
 * a message or a tick, and a user the admin adds is named at the next one.
 */
int sg_user_name_cached(__u32 uid, char *name, size_t len);

/* Everything that can be learnt about the event now. */
void sg_attrib_resolve(const struct sg_attrib_cfg *cfg, const struct sg_event *e,
		       struct sg_sender_info *out);

/* The parts, for tests and for callers with only a UID or a pid. */
void sg_attrib_account(const struct sg_attrib_cfg *cfg, __u32 uid, struct sg_sender_info *out);
void sg_attrib_process(const struct sg_attrib_cfg *cfg, __u32 tgid, struct sg_sender_info *out);

/*
 * The panel user a domain belongs to (cPanel's userdomains, then
 * DirectAdmin's domainowners, as cfg names them): 0 with its name in user
 * and "cpanel" or "directadmin" in *panel; -ENOENT when neither lists it.
 */
int sg_panel_domain_user(const struct sg_attrib_cfg *cfg, const char *domain, char *user,
			 size_t len, const char **panel);

json_t *sg_sender_info_json(const struct sg_sender_info *s);

/* One line for the daemon's log: who, what process, what script. */
void sg_sender_info_line(const struct sg_sender_info *s, char *buf, size_t len);

#endif
