// SPDX-License-Identifier: GPL-2.0
/*
 * sg_subproc_run's bound on time (util/subproc.h): it holds when the tool
 * reads none of a long input (a hung sendmail given a notice), and when it
 * closes its output but goes on running; what it prints is captured.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util/subproc.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_output(void **state)
{
	char *argv[] = { "cat", NULL }, out[64];

	assert_int_equal(sg_subproc_run(argv, "hello\n", out, sizeof(out), 5000), 0);
	assert_string_equal(out, "hello\n");
}

/* More than a pipe holds, to a tool that never reads it: killed at the deadline. */
static void test_unread_input(void **state)
{
	char *argv[] = { "sleep", "4", NULL }, out[64];
	size_t n = 1 << 20;
	char *input = malloc(n + 1);
	double t0;
	int ret;

	assert_non_null(input);
	memset(input, 'x', n);
	input[n] = '\0';
	t0 = now_s();
	ret = sg_subproc_run(argv, input, out, sizeof(out), 300);
	free(input);
	assert_int_equal(ret, -ETIMEDOUT);
	assert_true(now_s() - t0 < 2);
}

/* Its output closed, the tool still runs: killed at the deadline all the same. */
static void test_closed_output(void **state)
{
	char *argv[] = { "sh", "-c", "exec >/dev/null 2>&1 </dev/null; sleep 4", NULL };
	double t0 = now_s();

	assert_int_equal(sg_subproc_run(argv, NULL, NULL, 0, 300), -ETIMEDOUT);
	assert_true(now_s() - t0 < 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_unread_input),
		cmocka_unit_test(test_closed_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
