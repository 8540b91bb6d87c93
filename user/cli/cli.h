/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The subcommands and what they share. A command returns its exit status:
 * 0 done, 1 failed (one message on stderr, nothing changed), 2 bad usage.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stddef.h>
#include <linux/types.h>

#define SG_EXIT_OK 0
#define SG_EXIT_FAIL 1
#define SG_EXIT_USAGE 2

struct sg_command {
	const char *name;
	const char *summary;
	const char *usage; /* printed by --help and on bad usage */
	int (*run)(int argc, char **argv);
};

extern const struct sg_command sg_cmd_run, sg_cmd_check_config, sg_cmd_attach, sg_cmd_detach,
	sg_cmd_status, sg_cmd_top, sg_cmd_throttle, sg_cmd_block, sg_cmd_release, sg_cmd_kill,
	sg_cmd_ban, sg_cmd_unban, sg_cmd_log, sg_cmd_explain, sg_cmd_check_mta;
extern const struct sg_command sg_cmd_replay, sg_cmd_check_relay;
extern const struct sg_command sg_cmd_check_dnsbl;

/* Print "smtpguard CMD: message" to stderr, one line; returns SG_EXIT_USAGE. */
int sg_usage_error(const struct sg_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Commands that take --help or exactly one argument (what names it; NULL:
 * none): 0 to go on, -1 when help was printed, else the usage exit status.
 */
int sg_one_arg(const struct sg_command *cmd, int argc, char **argv, const char *what);

/*
 * --for DURATION of a command that takes one (takes != 0): 0 with *ns set,
 * else the usage exit status after one message.
 */
int sg_opt_for(const struct sg_command *cmd, int takes, const char *arg, __u64 *ns);

/* For getopt's '?' (main sets opterr = 0, so this is the only message). */
int sg_bad_option(const struct sg_command *cmd, char **argv);

/* Print a failure "smtpguard: ..." to stderr; returns SG_EXIT_FAIL. */
int sg_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 0 when running as root, else a message and SG_EXIT_FAIL. */
int sg_need_root(void);

/* 0 when pinned state exists, else a message and SG_EXIT_FAIL. */
int sg_need_state(void);

/* USER name or numeric UID; name gets the user name or "" when the UID has none. */
int sg_resolve_user(const char *arg, __u32 *uid, char *name, size_t len);

/* "bob (uid 1001)" or "uid 1001". */
const char *sg_who(__u32 uid, const char *name, char *buf, size_t len);

#endif
