// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: sg_mta_parse_time on any bytes (in a heap buffer of exactly
 * their size) against references around a year's turn, the epoch and year
 * 9999. What it consumes is within the line and ends at a blank or at the
 * end; nothing consumed means when = 0; an RFC 3164 stamp, which has no
 * year, lands within a year of the reference; the same input gives the
 * same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/mtalog.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static const time_t refs[] = {
	1795476241,   /* 2026-11-23 23:24:01 UTC */
	1798761610,   /* 2027-01-01 00:00:10 */
	1798761540,   /* 2026-12-31 23:59:00 */
	0,	      /* the epoch: a year before it is 1969 */
	253402300799, /* 9999-12-31 23:59:59 */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	time_t when, again;
	size_t i, n;

	CHECK(line);
	if (size)
		memcpy(line, data, size);
	for (i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		when = 42;
		n = sg_mta_parse_time(line, size, refs[i], &when);
		CHECK(n <= size);
		CHECK(n || when == 0);
		CHECK(!n || n == size || line[n - 1] == ' ');
		if (n && line[0] >= 'A' && line[0] <= 'Z') {
			long long d = (long long)when - (long long)refs[i];

			CHECK(d > -370LL * 86400 && d < 370LL * 86400);
		}
		CHECK(sg_mta_parse_time(line, size, refs[i], &again) == n && again == when);
	}
	free(line);
	return 0;
}
