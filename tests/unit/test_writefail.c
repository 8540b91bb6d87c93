// SPDX-License-Identifier: GPL-2.0
/*
 * Failed writes of a file: every one counted, the first of a streak and
 * the first success after it logged, to the letter. The child logs, its
 * stderr a pipe: the logger finds its sink once per process.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "util/log.h"
#include "util/writefail.h"

/* Writes that fail (-errno) or work (0), in turn. */
static const int outcomes[] = { 0, -ENOSPC, -ENOSPC, -EIO, 0, 0, -ENOSPC };

static void test_streaks(void **state)
{
	struct sg_write_fail w = { 0 };
	char out[1024];
	int fds[2], status;
	size_t i, n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		unsetenv("JOURNAL_STREAM");
		for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
			sg_write_note(&w, "audit log /x/audit.log", outcomes[i]);
		_exit(w.errors == 4 && w.streak == 1 ? 0 : 1);
	}
	close(fds[1]);
	while ((r = read(fds[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += r;
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(out, "smtpguard: writing audit log /x/audit.log: No space left on "
				 "device; what depends on it goes on, this is told again when a "
				 "write works\n"
				 "smtpguard: writing audit log /x/audit.log works again, after 3 "
				 "failed writes\n"
				 "smtpguard: writing audit log /x/audit.log: No space left on "
				 "device; what depends on it goes on, this is told again when a "
				 "write works\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
