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

/* What a command needs before it runs, checked by the dispatcher. */
#define SG_NEEDS_ROOT  (1u << 0) /* the BPF maps are root's */
#define SG_NEEDS_STATE (1u << 1) /* the pinned state of an attach */
#define SG_NEEDS_PINS  (1u << 2) /* some pin, even one a half-finished attach left */

enum sg_opt_type {
	SG_OPT_FLAG,	 /* int, set to 1 */
	SG_OPT_STRING,	 /* const char *, the last one given; .check may refuse it */
	SG_OPT_LIST,	 /* struct sg_opt_list: each one given, at most .max; .check */
	SG_OPT_DURATION, /* __u64 nanoseconds (sg_parse_duration) */
	SG_OPT_RATE,	 /* __u64 per hour (sg_parse_rate) */
	SG_OPT_COUNT,	 /* __u32, 1 to .max (sg_parse_count); 0 too with .zero */
	SG_OPT_CHOICE,	 /* int, the value of the one of .choices named */
	SG_OPT_REFUSED,	 /* takes a value and refuses it: another command's option */
};

#define SG_OPT_LIST_MAX 64

struct sg_opt_list {
	char *v[SG_OPT_LIST_MAX]; /* argv's */
	int n;
};

struct sg_opt_choice {
	const char *name;
	int value; /* not 0: 0 is "not given" */
};

struct sg_option {
	const char *name; /* --NAME; NULL: a short option only */
	char short_name;  /* -C; 0: none */
	enum sg_opt_type type;
	size_t offset;	   /* of the target in the command's options (SG_AT) */
	const char *label; /* in "bad LABEL 'VALUE': WHY"; NULL: --NAME */
	/* WHY in place of the parser's; of a REFUSED option, what the command takes */
	const char *why;
	__u32 max;	      /* COUNT: the largest value; LIST: how many */
	int range;	      /* " (1 to MAX)" after WHY */
	int zero;	      /* COUNT: "0" is a value too */
	int required;	      /* "--NAME is required" without it */
	const char *too_many; /* LIST: the message for one more than .max */
	int (*check)(const char *value, const char **why);
	const struct sg_opt_choice *choices; /* ended by { NULL } */
};

/* The offset of field of T, a compile error unless it has type type. */
#define SG_AT(T, field, type)                                                                      \
	(offsetof(T, field) +                                                                      \
	 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((T *)0)->field), type) ? 1       \
											 : -1]))

#define SG_STR_(x) #x
/* A macro's value as a string literal: SG_STR(SG_MAX_IFACES) is "64". */
#define SG_STR(x) SG_STR_(x)

/* The type and target of an option row, checked against each other. */
#define SG_FLAG(T, f)	  .type = SG_OPT_FLAG, .offset = SG_AT(T, f, int)
#define SG_STRING(T, f)	  .type = SG_OPT_STRING, .offset = SG_AT(T, f, const char *)
#define SG_LIST(T, f)	  .type = SG_OPT_LIST, .offset = SG_AT(T, f, struct sg_opt_list)
#define SG_DURATION(T, f) .type = SG_OPT_DURATION, .offset = SG_AT(T, f, __u64)
#define SG_RATE(T, f)	  .type = SG_OPT_RATE, .offset = SG_AT(T, f, __u64)
#define SG_COUNT(T, f)	  .type = SG_OPT_COUNT, .offset = SG_AT(T, f, __u32)
#define SG_CHOICE(T, f)	  .type = SG_OPT_CHOICE, .offset = SG_AT(T, f, int)
#define SG_REFUSED	  .type = SG_OPT_REFUSED

/*
 * A command as data: its options, arguments and preconditions; sg_dispatch
 * parses a command line against it and calls run.
 */
struct sg_command {
	const char *name;
	const char *summary;
	const char *usage;		 /* printed by --help */
	const struct sg_option *options; /* ended by { NULL }; NULL: none */
	size_t opts_size;		 /* of the struct the options fill */
	const void *defaults;		 /* what it holds before them; NULL: zeros */
	int min_args, max_args;		 /* positional arguments; max_args -1: any number */
	const char *args;		 /* what they are, after "expected " */
	unsigned needs;			 /* SG_NEEDS_* */
	/*
	 * Checks of the arguments that are usage errors, before the
	 * preconditions: 0, or the usage exit status after one message. May
	 * fill opts and change needs. NULL: none.
	 */
	int (*prepare)(const struct sg_command *cmd, void *opts, char **args, int n_args,
		       unsigned *needs);
	/* The command's exit status. */
	int (*run)(const struct sg_command *cmd, void *opts, char **args, int n_args);
};

extern const struct sg_command sg_cmd_run, sg_cmd_check_config, sg_cmd_attach, sg_cmd_detach,
	sg_cmd_status, sg_cmd_top, sg_cmd_throttle, sg_cmd_block, sg_cmd_release, sg_cmd_kill,
	sg_cmd_ban, sg_cmd_unban, sg_cmd_log, sg_cmd_explain, sg_cmd_check_mta;
extern const struct sg_command sg_cmd_replay, sg_cmd_check_relay;
extern const struct sg_command sg_cmd_check_dnsbl;
extern const struct sg_command sg_cmd_bans;

/*
 * argv[0] is the command's name: --help, options and arguments parsed
 * against cmd, its preconditions checked, then cmd->run. The exit status:
 * 2 after one message on bad usage, 1 when a precondition fails.
 */
int sg_dispatch(const struct sg_command *cmd, int argc, char **argv);

/* Print "smtpguard CMD: message" to stderr, one line; returns SG_EXIT_USAGE. */
int sg_usage_error(const struct sg_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a failure "smtpguard: ..." to stderr; returns SG_EXIT_FAIL. */
int sg_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 0 when every SG_NEEDS_* of needs holds, else a message and SG_EXIT_FAIL. */
int sg_require(unsigned needs);

/*
 * The USER, UID or ACCOUNT of release and explain: a mail account's
 * principal into id, and needs without SG_NEEDS_STATE (a mail account needs
 * no attach); else "" for a user. 0, or the usage exit status when arg is
 * too long to be an account.
 */
int sg_principal_arg(const struct sg_command *cmd, const char *arg, char *id, size_t len,
		     unsigned *needs);

/* USER name or numeric UID; name gets the user name or "" when the UID has none. */
int sg_resolve_user(const char *arg, __u32 *uid, char *name, size_t len);

/* "bob (uid 1001)" or "uid 1001". */
const char *sg_who(__u32 uid, const char *name, char *buf, size_t len);

#endif
