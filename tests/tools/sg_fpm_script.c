// SPDX-License-Identifier: GPL-2.0
/*
 * sg_fpm_script: what the PHP-FPM worker PID runs, per the status page of
 * the pool behind SOCKET (a unix socket path, or HOST:PORT): prints the
 * script and exits 0, or prints "none" and exits 1 when the pool has no
 * such busy worker; other failures are named on stderr (exit 2).
 *
 * Usage: sg_fpm_script [--timeout-ms MS] SOCKET STATUS_PATH PID
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/fpm.h"

static void usage(void)
{
	fprintf(stderr, "usage: sg_fpm_script [--timeout-ms MS] SOCKET STATUS_PATH PID\n");
	exit(2);
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 1 || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	char script[PATH_MAX];
	long timeout_ms = 2000;
	int err;

	if (argc == 6 && !strcmp(argv[1], "--timeout-ms")) {
		timeout_ms = parse_num(argv[2], 60000);
		argv += 2;
		argc -= 2;
	}
	if (argc != 4)
		usage();
	err = sg_fpm_script(argv[1], argv[2], parse_num(argv[3], INT_MAX), script, sizeof(script),
			    timeout_ms);
	if (err == -ENOENT) {
		puts("none");
		return 1;
	}
	if (err) {
		fprintf(stderr, "sg_fpm_script: %s: %s\n", argv[1], strerror(-err));
		return 2;
	}
	puts(script);
	return 0;
}
