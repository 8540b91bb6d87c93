// SPDX-License-Identifier: GPL-2.0
/*
 * The logger as the journal and the tests read it: the exact line for each
 * level, the levels dropped, the syslog priority when stderr is the
 * journal's stream, and a line too long for its buffer cut with its
 * newline kept. Each case runs in a child whose stderr is a pipe, since
 * the logger finds its sink once per process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "util/log.h"

struct log_case {
	const char *name;
	int journal; /* $JOURNAL_STREAM names the pipe */
	enum sg_log_level max;
	enum sg_log_level level;
	const char *msg;
	const char *want;
};

static const struct log_case cases[] = {
	{ "info", 0, SG_LOG_INFO, SG_LOG_INFO, "ban 192.0.2.1", "smtpguard: ban 192.0.2.1\n" },
	{ "error at info", 0, SG_LOG_INFO, SG_LOG_ERROR, "x: No such file",
	  "smtpguard: x: No such file\n" },
	{ "debug dropped at info", 0, SG_LOG_INFO, SG_LOG_DEBUG, "detail", "" },
	{ "info dropped at warn", 0, SG_LOG_WARN, SG_LOG_INFO, "alert", "" },
	{ "debug at debug", 0, SG_LOG_DEBUG, SG_LOG_DEBUG, "detail", "smtpguard: detail\n" },
	{ "journal: error", 1, SG_LOG_INFO, SG_LOG_ERROR, "bad", "<3>smtpguard: bad\n" },
	{ "journal: warn", 1, SG_LOG_INFO, SG_LOG_WARN, "careful", "<4>smtpguard: careful\n" },
	{ "journal: info", 1, SG_LOG_INFO, SG_LOG_INFO, "news", "<6>smtpguard: news\n" },
	{ "journal: debug", 1, SG_LOG_DEBUG, SG_LOG_DEBUG, "more", "<7>smtpguard: more\n" },
};

/* What the child wrote on stderr when it logged c (at most len - 1 bytes). */
static size_t run_child(const struct log_case *c, const char *msg, char *out, size_t len)
{
	char stream[64];
	struct stat st;
	int fds[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		unsetenv("JOURNAL_STREAM");
		if (c->journal && !fstat(STDERR_FILENO, &st)) {
			snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
			setenv("JOURNAL_STREAM", stream, 1);
		}
		sg_log_set_level(c->max);
		sg_log(c->level, "%s", msg);
		_exit(0);
	}
	close(fds[1]);
	while (n < len - 1 && (r = read(fds[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && !WEXITSTATUS(status));
	return n;
}

static void test_lines(void **state)
{
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_child(&cases[i], cases[i].msg, out, sizeof(out));
		if (strcmp(out, cases[i].want))
			fail_msg("%s: got '%s', want '%s'", cases[i].name, out, cases[i].want);
	}
}

/* A line longer than the logger's buffer: cut, one newline at its end, nothing after. */
static void test_long_line(void **state)
{
	const struct log_case c = { "long", 0, SG_LOG_INFO, SG_LOG_INFO, NULL, NULL };
	static char msg[10000], out[16384];
	size_t n;

	memset(msg, 'a', sizeof(msg) - 1);
	n = run_child(&c, msg, out, sizeof(out));
	assert_int_equal(n, 4095);
	assert_memory_equal(out, "smtpguard: aaa", 14);
	assert_int_equal(out[n - 1], '\n');
	assert_null(memchr(out, '\n', n - 1));
}

static void test_parse(void **state)
{
	static const struct {
		const char *s;
		int ret;
		enum sg_log_level level;
	} rows[] = {
		{ "error", 0, SG_LOG_ERROR }, { "warn", 0, SG_LOG_WARN },
		{ "info", 0, SG_LOG_INFO },   { "debug", 0, SG_LOG_DEBUG },
		{ "INFO", -EINVAL, 0 },	      { "verbose", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	enum sg_log_level level;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		level = SG_LOG_N_LEVELS;
		assert_int_equal(sg_log_level_parse(rows[i].s, &level), rows[i].ret);
		if (!rows[i].ret)
			assert_int_equal(level, rows[i].level);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
