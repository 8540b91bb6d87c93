// SPDX-License-Identifier: GPL-2.0
/*
 * The dispatcher of the subcommands: command lines parsed against rows of
 * every option type, with exact exit statuses, messages and parsed values.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "core/config.h"

struct t_opts {
	int flag;
	const char *str;
	struct sg_opt_list items;
	__u64 for_ns, rate;
	__u32 burst, n, timeout;
	int mta;
};

static int check_no_x(const char *value, const char **why)
{
	*why = "no x in it";
	return !!strchr(value, 'x');
}

static const struct sg_opt_choice mtas[] = {
	{ "postfix", SG_MTA_POSTFIX },
	{ "exim", SG_MTA_EXIM },
	{ "auto", SG_MTA_AUTO },
	{},
};

static const struct sg_option t_options[] = {
	{ "flag", 'f', SG_FLAG(struct t_opts, flag) },
	{ "str", 's', SG_STRING(struct t_opts, str), .check = check_no_x },
	{ "item", 'i', SG_LIST(struct t_opts, items), .label = "item", .max = 2,
	  .too_many = "at most 2 items", .check = check_no_x },
	{ "for", 0, SG_DURATION(struct t_opts, for_ns), .label = "duration" },
	{ "rate", 'r', SG_RATE(struct t_opts, rate), .label = "rate" },
	{ "burst", 'b', SG_COUNT(struct t_opts, burst), .label = "burst", .max = 10, .range = 1 },
	{ NULL, 'n', SG_COUNT(struct t_opts, n), .label = "-n", .max = 5, .zero = 1 },
	{ "timeout", 0, SG_COUNT(struct t_opts, timeout), .max = 60, .why = "1 to 60 seconds" },
	{ "mta", 0, SG_CHOICE(struct t_opts, mta), .choices = mtas },
	{ "until", 0, SG_REFUSED, .label = "duration", .why = "takes none" },
	{ "cap", 0, SG_REFUSED, .label = "burst", .why = "takes no burst", .max = 10, .range = 1 },
	{},
};

/* What run saw, as one line; "" when it was not called. */
static char seen[512];

static int record(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct t_opts *o = opts;
	size_t at;
	int i;

	at = snprintf(seen, sizeof(seen),
		      "flag=%d str=%s for=%llu rate=%llu burst=%u n=%u timeout=%u mta=%d items=",
		      o->flag, o->str ? o->str : "-", (unsigned long long)o->for_ns,
		      (unsigned long long)o->rate, o->burst, o->n, o->timeout, o->mta);
	for (i = 0; i < o->items.n; i++)
		at += snprintf(seen + at, sizeof(seen) - at, "%s%s", i ? "," : "", o->items.v[i]);
	at += snprintf(seen + at, sizeof(seen) - at, " args=");
	for (i = 0; i < n_args; i++)
		at += snprintf(seen + at, sizeof(seen) - at, "%s%s", i ? "," : "", args[i]);
	return SG_EXIT_OK;
}

static const struct t_opts t_defaults = { .str = "dflt", .timeout = 10 };

static const struct sg_command cmd_t = {
	.name = "t",
	.usage = "usage: smtpguard t [options] [ARG]\n",
	.options = t_options,
	.opts_size = sizeof(struct t_opts),
	.defaults = &t_defaults,
	.max_args = 1,
	.run = record,
};

static const struct sg_option one_options[] = {
	{ "rate", 'r', SG_RATE(struct t_opts, rate), .label = "rate", .required = 1 },
	{},
};

/* "bad" is a usage error; "mail" needs no pinned state. */
static int prepare_one(const struct sg_command *cmd, void *opts, char **args, int n_args,
		       unsigned *needs)
{
	if (!strcmp(args[0], "bad"))
		return sg_usage_error(cmd, "bad THING '%s'", args[0]);
	if (!strcmp(args[0], "mail"))
		*needs &= ~SG_NEEDS_STATE;
	return 0;
}

static const struct sg_command cmd_one = {
	.name = "one",
	.usage = "usage: smtpguard one THING --rate R\n",
	.options = one_options,
	.opts_size = sizeof(struct t_opts),
	.min_args = 1,
	.max_args = 1,
	.args = "one THING",
	.needs = SG_NEEDS_STATE,
	.prepare = prepare_one,
	.run = record,
};

static const struct sg_command cmd_many = {
	.name = "many",
	.usage = "usage: smtpguard many FILE...\n",
	.opts_size = sizeof(struct t_opts),
	.min_args = 1,
	.max_args = -1,
	.args = "one or more FILEs",
	.run = record,
};

static const struct sg_command cmd_root = {
	.name = "root",
	.usage = "usage: smtpguard root\n",
	.needs = SG_NEEDS_ROOT,
	.run = record,
};

/* What fd printed while f ran, from a file in its place. */
struct capture {
	FILE *f;
	int saved;
};

static void capture_start(struct capture *c, int fd)
{
	c->f = tmpfile();
	assert_non_null(c->f);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->f), fd) >= 0);
}

static void capture_end(struct capture *c, int fd, char *buf, size_t len)
{
	size_t n;

	assert_true(dup2(c->saved, fd) >= 0);
	close(c->saved);
	rewind(c->f);
	n = fread(buf, 1, len - 1, c->f);
	buf[n] = '\0';
	fclose(c->f);
}

struct outcome {
	int status;
	char out[4096], err[1024];
};

/* cmd run on the words of line, split at spaces, as argv after "smtpguard". */
static void dispatch(const struct sg_command *cmd, const char *line, struct outcome *r)
{
	char words[512], *argv[32], *save = NULL, *w;
	struct capture out, err;
	int argc = 0;

	snprintf(words, sizeof(words), "%s", line);
	for (w = strtok_r(words, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	seen[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	capture_start(&out, STDOUT_FILENO);
	capture_start(&err, STDERR_FILENO);
	r->status = sg_dispatch(cmd, argc, argv);
	fflush(stdout);
	fflush(stderr);
	capture_end(&err, STDERR_FILENO, r->err, sizeof(r->err));
	capture_end(&out, STDOUT_FILENO, r->out, sizeof(r->out));
}

struct dispatch_case {
	const struct sg_command *cmd;
	const char *line; /* after "smtpguard" */
	int status;
	const char *err;
	const char *seen; /* "": run not called */
};

#define SEEN(flag, str, for_s, rate, burst, n, timeout, mta, items, args)                          \
	"flag=" #flag " str=" str " for=" #for_s "000000000 rate=" #rate " burst=" #burst " n=" #n \
	" timeout=" #timeout " mta=" #mta " items=" items " args=" args
#define DEFAULTS(args) "flag=0 str=dflt for=0 rate=0 burst=0 n=0 timeout=10 mta=0 items= args=" args
#define UNKNOWN(cmd, opt)                                                                          \
	"smtpguard " cmd ": unknown option or missing value: '" opt "' (see 'smtpguard " cmd       \
	" --help')\n"

static void run_cases(const struct dispatch_case *cases, size_t n)
{
	struct outcome r;
	size_t i;

	for (i = 0; i < n; i++) {
		dispatch(cases[i].cmd, cases[i].line, &r);
		assert_string_equal(r.err, cases[i].err);
		assert_int_equal(r.status, cases[i].status);
		assert_string_equal(seen, cases[i].seen);
		assert_string_equal(r.out, "");
	}
}

static void test_option_types(void **state)
{
	static const struct dispatch_case cases[] = {
		{ &cmd_t, "t", 0, "", DEFAULTS("") },
		{ &cmd_t, "t arg", 0, "", DEFAULTS("arg") },
		{ &cmd_t,
		  "t --flag -s abc -i a --item=b --for 90s -r 5/min -b 3 -n 0 --timeout 5 --mta "
		  "exim",
		  0, "", SEEN(1, "abc", 90, 300, 3, 0, 5, 2, "a,b", "") },
		/* Options after the argument, abbreviated, grouped; the last one given wins. */
		{ &cmd_t, "t x -fn4 --fo=1m --ti 7 --mta auto --mta postfix -s q", 0, "",
		  SEEN(1, "q", 60, 0, 0, 4, 7, 1, "", "x") },
		/* After "--", an argument however it looks. */
		{ &cmd_t, "t -- --flag", 0, "", DEFAULTS("--flag") },
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bad_values(void **state)
{
	static const struct dispatch_case cases[] = {
		{ &cmd_t, "t -s axe", 2, "smtpguard t: bad --str 'axe': no x in it\n", "" },
		{ &cmd_t, "t -i a -i b -i c", 2, "smtpguard t: at most 2 items\n", "" },
		{ &cmd_t, "t -i x", 2, "smtpguard t: bad item 'x': no x in it\n", "" },
		{ &cmd_t, "t --for 3x", 2,
		  "smtpguard t: bad duration '3x': unknown unit (use s, m, h or d)\n", "" },
		{ &cmd_t, "t --rate 5/week", 2,
		  "smtpguard t: bad rate '5/week': unknown unit (use /s, /min or /h)\n", "" },
		{ &cmd_t, "t -b 11", 2, "smtpguard t: bad burst '11': out of range (1 to 10)\n",
		  "" },
		{ &cmd_t, "t -b 0", 2, "smtpguard t: bad burst '0': out of range (1 to 10)\n", "" },
		{ &cmd_t, "t -n x", 2, "smtpguard t: bad -n 'x': expected a positive integer\n",
		  "" },
		{ &cmd_t, "t --timeout 61", 2, "smtpguard t: bad --timeout '61': 1 to 60 seconds\n",
		  "" },
		{ &cmd_t, "t --mta qmail", 2,
		  "smtpguard t: bad --mta 'qmail': postfix, exim or auto\n", "" },
		{ &cmd_t, "t --until 1h", 2, "smtpguard t: bad duration '1h': t takes none\n", "" },
		{ &cmd_t, "t --cap 3", 2,
		  "smtpguard t: bad burst '3': t takes no burst (1 to 10)\n", "" },
		/* The first bad one is the one said. */
		{ &cmd_t, "t -b 0 --for 3x", 2,
		  "smtpguard t: bad burst '0': out of range (1 to 10)\n", "" },
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_unknown_and_missing(void **state)
{
	static const struct dispatch_case cases[] = {
		{ &cmd_t, "t --x", 2, UNKNOWN("t", "--x"), "" },
		{ &cmd_t, "t -z", 2, UNKNOWN("t", "-z"), "" },
		{ &cmd_t, "t --for", 2, UNKNOWN("t", "--for"), "" },
		{ &cmd_t, "t -s", 2, UNKNOWN("t", "-s"), "" },
		/* A flag takes no value. */
		{ &cmd_t, "t --flag=1", 2, UNKNOWN("t", "--flag=1"), "" },
		/* --help and -h come before what follows them, not what precedes. */
		{ &cmd_t, "t --x --help", 2, UNKNOWN("t", "--x"), "" },
		{ &cmd_many, "many", 2, "smtpguard many: expected one or more FILEs\n", "" },
		{ &cmd_many, "many --json a", 2, UNKNOWN("many", "--json"), "" },
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_arguments(void **state)
{
	static const struct dispatch_case cases[] = {
		{ &cmd_t, "t a b", 2, "smtpguard t: unexpected argument 'b'\n", "" },
		{ &cmd_t, "t a b c", 2, "smtpguard t: unexpected argument 'b'\n", "" },
		{ &cmd_many, "many a", 0, "",
		  "flag=0 str=- for=0 rate=0 burst=0 n=0 timeout=0 mta=0 items= args=a" },
		{ &cmd_many, "many a b c", 0, "",
		  "flag=0 str=- for=0 rate=0 burst=0 n=0 timeout=0 mta=0 items= args=a,b,c" },
		/* The arguments are counted before a required option is missed. */
		{ &cmd_one, "one", 2, "smtpguard one: expected one THING\n", "" },
		{ &cmd_one, "one a b --rate 1/s", 2, "smtpguard one: expected one THING\n", "" },
		{ &cmd_one, "one a", 2, "smtpguard one: --rate is required\n", "" },
		{ &cmd_one, "one bad --rate 1/s", 2, "smtpguard one: bad THING 'bad'\n", "" },
		{ &cmd_one, "one mail -r 1/s", 0, "",
		  "flag=0 str=- for=0 rate=3600 burst=0 n=0 timeout=0 mta=0 items= args=mail" },
	};

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_help(void **state)
{
	static const char *const lines[] = {
		"t --help", "t -h", "t a --help", "t --flag -h x y", "t --he",
	};
	struct outcome r;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		dispatch(&cmd_t, lines[i], &r);
		assert_int_equal(r.status, 0);
		assert_string_equal(r.out, cmd_t.usage);
		assert_string_equal(r.err, "");
		assert_string_equal(seen, "");
	}
}

static void test_preconditions(void **state)
{
	char dir[] = "/tmp/sg-test-cli-XXXXXX", want[256];
	struct outcome r;
	uid_t euid = geteuid();

	assert_non_null(mkdtemp(dir));
	setenv("SMTPGUARD_PIN_DIR", dir, 1);
	/* No pinned state: refused after the arguments are checked, before run. */
	dispatch(&cmd_one, "one user -r 1/s", &r);
	snprintf(want, sizeof(want),
		 "smtpguard: nothing is attached (no pinned state in %s); run 'smtpguard attach'\n",
		 dir);
	assert_string_equal(r.err, want);
	assert_int_equal(r.status, 1);
	assert_string_equal(seen, "");
	/* The usage error of prepare comes first. */
	dispatch(&cmd_one, "one bad -r 1/s", &r);
	assert_int_equal(r.status, 2);
	unsetenv("SMTPGUARD_PIN_DIR");
	rmdir(dir);

	/* Not root: as nobody, for the time of the call, when the test runs as root. */
	if (!euid)
		assert_int_equal(seteuid(65534), 0);
	dispatch(&cmd_root, "root", &r);
	if (!euid)
		assert_int_equal(seteuid(0), 0);
	assert_string_equal(r.err, "smtpguard: must be run as root (the BPF maps are root's)\n");
	assert_int_equal(r.status, 1);
	assert_string_equal(seen, "");
}

/* The real commands' rows: the messages of bad usage, as before the dispatcher. */
static void test_commands(void **state)
{
	static const struct dispatch_case cases[] = {
		{ &sg_cmd_throttle, "throttle", 2, "smtpguard throttle: expected one USER or UID\n",
		  "" },
		{ &sg_cmd_throttle, "throttle a", 2, "smtpguard throttle: --rate is required\n",
		  "" },
		{ &sg_cmd_throttle, "throttle a --rate 5/week", 2,
		  "smtpguard throttle: bad rate '5/week': unknown unit (use /s, /min or /h)\n",
		  "" },
		{ &sg_cmd_throttle, "throttle a --rate 5/min --burst 1000001", 2,
		  "smtpguard throttle: bad burst '1000001': out of range (1 to 1000000)\n", "" },
		{ &sg_cmd_block, "block a --rate 5/min", 2,
		  "smtpguard block: bad rate '5/min': block takes no rate\n", "" },
		{ &sg_cmd_block, "block a --burst 3", 2,
		  "smtpguard block: bad burst '3': block takes no burst (1 to 1000000)\n", "" },
		{ &sg_cmd_release, "release a --for 1h", 2,
		  "smtpguard release: bad duration '1h': release takes none\n", "" },
		{ &sg_cmd_unban, "unban 1.2.3.4 --for 1h", 2,
		  "smtpguard unban: bad duration '1h': unban takes none\n", "" },
		{ &sg_cmd_ban, "ban 10.0.0.1/33", 2,
		  "smtpguard ban: bad CIDR '10.0.0.1/33': IPv4 prefix length above 32\n", "" },
		{ &sg_cmd_log, "log -n x", 2,
		  "smtpguard log: bad -n 'x': expected a positive integer\n", "" },
		{ &sg_cmd_log, "log x", 2, "smtpguard log: unexpected argument 'x'\n", "" },
		{ &sg_cmd_top, "top --json --watch 2", 2,
		  "smtpguard top: --watch is for the terminal, not --json\n", "" },
		{ &sg_cmd_top, "top --watch 5000", 2,
		  "smtpguard top: bad --watch '5000': out of range\n", "" },
		{ &sg_cmd_check_mta, "check-mta --mta qmail", 2,
		  "smtpguard check-mta: bad --mta 'qmail': postfix or exim\n", "" },
		{ &sg_cmd_replay, "replay", 2,
		  "smtpguard replay: expected one or more FILEs (- for standard input), oldest "
		  "first\n",
		  "" },
		{ &sg_cmd_replay, "replay --mta qmail x", 2,
		  "smtpguard replay: bad --mta 'qmail': postfix, exim or auto\n", "" },
		{ &sg_cmd_check_dnsbl, "check-dnsbl 198.51.100.0/24", 2,
		  "smtpguard check-dnsbl: bad address '198.51.100.0/24': not a numeric IPv4 or "
		  "IPv6 "
		  "address\n",
		  "" },
		{ &sg_cmd_check_dnsbl, "check-dnsbl --zone bad..zone 1.2.3.4", 2,
		  "smtpguard check-dnsbl: bad zone 'bad..zone': an empty label\n", "" },
		{ &sg_cmd_check_relay, "check-relay --timeout 0", 2,
		  "smtpguard check-relay: bad --timeout '0': 1 to 3600 seconds\n", "" },
		{ &sg_cmd_check_relay, "check-relay --helo a..b", 2,
		  "smtpguard check-relay: bad --helo 'a..b': not a domain name\n", "" },
		{ &sg_cmd_check_relay, "check-relay a b", 2,
		  "smtpguard check-relay: unexpected argument 'b'\n", "" },
		{ &sg_cmd_check_config, "check-config a b", 2,
		  "smtpguard check-config: unexpected argument 'b'\n", "" },
		{ &sg_cmd_attach, "attach x", 2, "smtpguard attach: unexpected argument 'x'\n",
		  "" },
		{ &sg_cmd_detach, "detach x", 2, "smtpguard detach: unexpected argument 'x'\n",
		  "" },
		{ &sg_cmd_run, "run x", 2, "smtpguard run: unexpected argument 'x'\n", "" },
		{ &sg_cmd_explain, "explain a b", 2,
		  "smtpguard explain: expected one USER, UID, ACCOUNT or IP\n", "" },
		{ &sg_cmd_kill, "kill", 2, "smtpguard kill: expected one USER or UID\n", "" },
		{ &sg_cmd_status, "status --bogus", 2, UNKNOWN("status", "--bogus"), "" },
		{ &sg_cmd_bans, "bans x", 2, "smtpguard bans: unexpected argument 'x'\n", "" },
	};
	static const struct sg_command *const all[] = {
		&sg_cmd_run,	     &sg_cmd_check_config, &sg_cmd_attach,    &sg_cmd_detach,
		&sg_cmd_status,	     &sg_cmd_top,	   &sg_cmd_throttle,  &sg_cmd_block,
		&sg_cmd_release,     &sg_cmd_kill,	   &sg_cmd_ban,	      &sg_cmd_unban,
		&sg_cmd_log,	     &sg_cmd_explain,	   &sg_cmd_check_mta, &sg_cmd_replay,
		&sg_cmd_check_dnsbl, &sg_cmd_check_relay, &sg_cmd_bans,
	};
	char line[64];
	struct outcome r;
	size_t i;

	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		snprintf(line, sizeof(line), "%s --help", all[i]->name);
		dispatch(all[i], line, &r);
		assert_int_equal(r.status, 0);
		assert_string_equal(r.out, all[i]->usage);
		assert_string_equal(r.err, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option_types),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_preconditions),
		cmocka_unit_test(test_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
