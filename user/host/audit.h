/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit trail: every policy or ban change, by the CLI or the daemon,
 * as one JSON line appended to the audit log and one line to syslog.
 * Functions return -errno.
 */
#ifndef SG_AUDIT_H
#define SG_AUDIT_H

#include <limits.h>
#include <time.h>
#include <jansson.h>
#include <linux/types.h>

#include "core/config.h" /* struct sg_audit_cfg: the config's [audit] */

struct sg_audit_entry {
	const char *actor;  /* "daemon", or "cli" with the login name: "cli:alice" */
	const char *action; /* throttle, block, release, expire, ban, unban, ban-expire, kill */
	int has_uid;
	__u32 uid;
	const char *user;   /* NULL or "": the UID has no passwd entry */
	const char *target; /* bans: the CIDR; else NULL */
	json_t *params;	    /* borrowed; NULL: none. rate, burst... */
	const char *reason; /* NULL: none given */
	__u64 expires_ns;   /* CLOCK_BOOTTIME; 0: never */
};

/*
 * Where the CLI audits: $SMTPGUARD_AUDIT_LOG, else [audit] of the config file
 * ($SMTPGUARD_CONFIG or SG_CONFIG_PATH) when it exists and loads, else the
 * default. A config that does not load is warned about on stderr, never fatal:
 * the emergency CLI must work.
 */
void sg_audit_cfg_cli(struct sg_audit_cfg *cfg);

/* "cli:LOGIN" (SUDO_USER, else the login name, else the UID's name). */
const char *sg_audit_cli_actor(char *buf, size_t len);

/* The entry as a JSON object; now is the wall-clock time of the change. */
json_t *sg_audit_json(const struct sg_audit_entry *e, const struct timespec *now,
		      __u64 boot_now_ns);

/*
 * Append the entry (one line, one write, O_APPEND) and send it to syslog.
 * The log is opened for each entry, so one renamed away (logrotate) is
 * never written again: the next entry makes the file anew at its path.
 * With cfg->fails, the outcome is noted there (util/writefail.h).
 */
int sg_audit_write(const struct sg_audit_cfg *cfg, const struct sg_audit_entry *e);

/*
 * The log at its path made now if it is not there (after a rotation:
 * SIGUSR1), so that it exists before the next entry and a failure to make
 * it is told at once; noted in cfg->fails as a write is.
 */
int sg_audit_reopen(const struct sg_audit_cfg *cfg);

/*
 * The daemon's own entry (actor "daemon"), written when cfg is not NULL;
 * params (may be NULL) is taken over, written or not.
 */
void sg_audit_daemon(const struct sg_audit_cfg *cfg, const char *action, const char *target,
		     json_t *params, const char *reason, __u64 expires_ns);

/*
 * An entry (as sg_audit_json makes it, or as read back from the log) as one
 * readable line: [time,] actor, action, who, params as k=v, reason,
 * expires. A string that could break the line or the terminal is
 * JSON-quoted. malloc()ed; NULL when out of memory.
 */
#define SG_AUDIT_TEXT_TIME  (1U << 0) /* begin with the time (syslog has its own) */
#define SG_AUDIT_TEXT_ALIGN (1U << 1) /* pad the first columns, for a table */
char *sg_audit_text(const json_t *entry, unsigned int flags);

/*
 * The CLI's audit of a change it made: e with the calling user as actor.
 * A failure is one warning line on stderr and nothing more: the change
 * stands, and the command still succeeds.
 */
void sg_audit_cli(const struct sg_audit_entry *e);

#endif
