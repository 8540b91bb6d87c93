// SPDX-License-Identifier: GPL-2.0
/*
 * The one parser of command lines: a command's row (cli.h) says what its
 * options set, how many arguments it takes and what it needs; getopt_long
 * does the scanning, so abbreviations, --opt=value and "--" work alike for
 * every command.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/parse.h"

/* parse_options printed --help: the command is done, and it went well. */
#define HELP_SHOWN (-1)

/* Options of a row that are read: a row's end, or this many. */
#define MAX_OPTIONS 32
/* getopt_long's value for a long option with no short one: past every char. */
#define LONG_ONLY 256

struct parser {
	const struct sg_command *cmd;
	struct option longopts[MAX_OPTIONS + 2];
	char shorts[2 * MAX_OPTIONS + 2];
	unsigned long given; /* bit i: options[i] was given */
};

static int n_options(const struct sg_command *cmd)
{
	int n = 0;

	while (n < MAX_OPTIONS && cmd->options &&
	       (cmd->options[n].name || cmd->options[n].short_name))
		n++;
	return n;
}

static void build(struct parser *p)
{
	const struct sg_option *o;
	int i, n = 0, s = 0;

	memset(p->longopts, 0, sizeof(p->longopts));
	for (i = 0; i < n_options(p->cmd); i++) {
		o = &p->cmd->options[i];
		if (o->name)
			p->longopts[n++] = (struct option){
				o->name, o->type == SG_OPT_FLAG ? no_argument : required_argument,
				NULL, LONG_ONLY + i
			};
		if (o->short_name) {
			p->shorts[s++] = o->short_name;
			if (o->type != SG_OPT_FLAG)
				p->shorts[s++] = ':';
		}
	}
	p->longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	p->shorts[s++] = 'h';
	p->shorts[s] = '\0';
}

/* "bad LABEL 'VALUE': WHY", WHY the option's own when it has one. */
static int bad_value(const struct sg_command *cmd, const struct sg_option *o, const char *value,
		     const char *why)
{
	char label[64], range[32] = "";

	if (o->label)
		snprintf(label, sizeof(label), "%s", o->label);
	else
		snprintf(label, sizeof(label), "--%s", o->name);
	if (o->range)
		snprintf(range, sizeof(range), " (1 to %u)", o->max);
	if (o->type == SG_OPT_REFUSED)
		return sg_usage_error(cmd, "bad %s '%s': %s %s%s", label, value, cmd->name, o->why,
				      range);
	return sg_usage_error(cmd, "bad %s '%s': %s%s", label, value, o->why ? o->why : why, range);
}

/* "bad --mta 'VALUE': postfix, exim or auto". */
static int bad_choice(const struct sg_command *cmd, const struct sg_option *o, const char *value)
{
	char names[256];
	size_t at = 0;
	int i;

	names[0] = '\0';
	for (i = 0; o->choices[i].name && at < sizeof(names); i++)
		at += snprintf(names + at, sizeof(names) - at, "%s%s",
			       !i			? ""
			       : o->choices[i + 1].name ? ", "
							: " or ",
			       o->choices[i].name);
	return bad_value(cmd, o, value, names);
}

static int set_choice(const struct sg_command *cmd, const struct sg_option *o, const char *value,
		      int *target)
{
	int i;

	for (i = 0; o->choices[i].name; i++) {
		if (!strcmp(value, o->choices[i].name)) {
			*target = o->choices[i].value;
			return 0;
		}
	}
	return bad_choice(cmd, o, value);
}

static int set_list(const struct sg_command *cmd, const struct sg_option *o, char *value,
		    struct sg_opt_list *l)
{
	const char *why;

	if (l->n == (int)o->max || l->n == SG_OPT_LIST_MAX)
		return sg_usage_error(cmd, "%s", o->too_many);
	if (o->check && o->check(value, &why))
		return bad_value(cmd, o, value, why);
	l->v[l->n++] = value;
	return 0;
}

/* The value of option o into its target in opts: 0, or the usage exit status. */
static int set(const struct sg_command *cmd, const struct sg_option *o, char *value, void *opts)
{
	void *target = (char *)opts + o->offset;
	const char *why = NULL;
	int err = 0;

	switch (o->type) {
	case SG_OPT_FLAG:
		*(int *)target = 1;
		break;
	case SG_OPT_STRING:
		err = o->check ? o->check(value, &why) : 0;
		if (!err)
			*(const char **)target = value;
		break;
	case SG_OPT_LIST:
		return set_list(cmd, o, value, target);
	case SG_OPT_DURATION:
		err = sg_parse_duration(value, target, &why);
		break;
	case SG_OPT_RATE:
		err = sg_parse_rate(value, target, &why);
		break;
	case SG_OPT_COUNT:
		if (o->zero && !strcmp(value, "0"))
			*(__u32 *)target = 0;
		else
			err = sg_parse_count(value, o->max, target, &why);
		break;
	case SG_OPT_CHOICE:
		return set_choice(cmd, o, value, target);
	case SG_OPT_REFUSED:
		err = 1;
		break;
	}
	return err ? bad_value(cmd, o, value, why) : 0;
}

/* The row of getopt_long's answer c, or NULL for an unknown option or a missing value. */
static const struct sg_option *option_of(const struct parser *p, int c)
{
	int i;

	if (c >= LONG_ONLY)
		return &p->cmd->options[c - LONG_ONLY];
	for (i = 0; c != '?' && c != ':' && i < n_options(p->cmd); i++)
		if (p->cmd->options[i].short_name == c)
			return &p->cmd->options[i];
	return NULL;
}

/* The options of argv into opts: 0, -1 after --help, or the usage exit status. */
static int parse_options(struct parser *p, int argc, char **argv, void *opts)
{
	const struct sg_option *o;
	int c, err;

	/* 0, not 1: getopt starts afresh, for each command a test dispatches. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, p->shorts, p->longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(p->cmd->usage, stdout);
			return HELP_SHOWN;
		}
		o = option_of(p, c);
		if (!o)
			return sg_usage_error(p->cmd,
					      "unknown option or missing value: '%s' (see "
					      "'smtpguard %s --help')",
					      argv[optind - 1], p->cmd->name);
		err = set(p->cmd, o, optarg, opts);
		if (err)
			return err;
		p->given |= 1ul << (o - p->cmd->options);
	}
	return 0;
}

static int check_required(const struct parser *p)
{
	int i;

	for (i = 0; i < n_options(p->cmd); i++)
		if (p->cmd->options[i].required && !(p->given & (1ul << i)))
			return sg_usage_error(p->cmd, "--%s is required", p->cmd->options[i].name);
	return 0;
}

/* Too few or too many arguments: the usage exit status after one message. */
static int check_args(const struct sg_command *cmd, char **args, int n)
{
	int over = cmd->max_args >= 0 && n > cmd->max_args;

	/* A command of a fixed number of arguments says how many, whichever way it is off. */
	if (n < cmd->min_args || (over && cmd->min_args == cmd->max_args && cmd->min_args))
		return sg_usage_error(cmd, "expected %s", cmd->args);
	if (over)
		return sg_usage_error(cmd, "unexpected argument '%s'", args[cmd->max_args]);
	return 0;
}

int sg_dispatch(const struct sg_command *cmd, int argc, char **argv)
{
	struct parser p = { .cmd = cmd };
	unsigned needs = cmd->needs;
	void *opts;
	int err, n;

	build(&p);
	opts = calloc(1, cmd->opts_size ? cmd->opts_size : 1);
	if (!opts)
		return sg_fail("%s", strerror(ENOMEM));
	if (cmd->defaults)
		memcpy(opts, cmd->defaults, cmd->opts_size);
	err = parse_options(&p, argc, argv, opts);
	n = argc - optind;
	if (!err)
		err = check_args(cmd, argv + optind, n);
	if (!err)
		err = check_required(&p);
	if (!err && cmd->prepare)
		err = cmd->prepare(cmd, opts, argv + optind, n, &needs);
	if (!err)
		err = sg_require(needs);
	if (!err)
		err = cmd->run(cmd, opts, argv + optind, n);
	free(opts);
	return err == HELP_SHOWN ? SG_EXIT_OK : err;
}
