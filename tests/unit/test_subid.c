// SPDX-License-Identifier: GPL-2.0
/* The sub-UID file read into ranges, each refusal by its reason, and ranges cut into prefixes. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/subid.h"

/* alice and bob have accounts 1001 and 1002; so do daemon 1 and carol 165540. */
static int owner(const char *name, __u32 *uid, void *ctx)
{
	if (!strcmp(name, "alice"))
		*uid = 1001;
	else if (!strcmp(name, "bob"))
		*uid = 1002;
	else if (!strcmp(name, "root"))
		*uid = 0;
	else
		return -ENOENT;
	return 0;
}

static int account(__u32 start, __u32 count, __u32 *uid, void *ctx)
{
	static const __u32 uids[] = { 0, 1, 1001, 1002, 165540 };
	size_t i;

	for (i = 0; i < sizeof(uids) / sizeof(uids[0]); i++)
		if (uids[i] >= start && (__u64)uids[i] < (__u64)start + count) {
			*uid = uids[i];
			return 1;
		}
	return 0;
}

static void read_text(const char *text, struct sg_subid_set *set)
{
	struct sg_subid_env env = { .owner = owner, .account = account };
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	memset(set, 0, sizeof(*set));
	assert_int_equal(sg_subid_read(f, "subuid", &env, set), 0);
	fclose(f);
}

static void expect_range(const struct sg_subid_range *r, __u32 owner, __u32 start, __u32 count,
			 unsigned line)
{
	assert_int_equal(r->owner, owner);
	assert_int_equal(r->start, start);
	assert_int_equal(r->count, count);
	assert_int_equal(r->line, line);
}

static void test_lines(void **state)
{
	char text[2048], big[600];
	struct sg_subid_set set;
	int n;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = snprintf(text, sizeof(text),
		     "bob:231072:65536\n"   /* 1: loaded */
		     "alice:100000:65536\n" /* 2: loaded */
		     "# a comment\n"	    /* 3 */
		     "\n"		    /* 4 */
		     "1003:300000:10\n"	    /* 5: by UID, loaded */
		     "alice:100000\n"	    /* 6: two fields */
		     "alice:1e5:10\n"	    /* 7: not a number */
		     "alice:400000:0\n"	    /* 8: empty */
		     "alice:4294967290:6\n" /* 9: past 4294967294 */
		     "alice:400000:10:x\n"  /* 10: four fields */
		     "mallory:400000:10\n"  /* 11: no such user */
		     "root:500000:65536\n"  /* 12: root's */
		     "alice:165536:10\n"    /* 13: holds carol's UID */
		     "bob:0:1000\n"	    /* 14: holds root's and daemon's */
		     "bob:165535:2\n"	    /* 15: overlaps line 2 */
		     "alice:231072:1\n"	    /* 16: same start as line 1: later line */
		     ":600000:10\n"	    /* 17: no owner */
		     "alice:%s\n"	    /* 18: too long */
		     "alice:700000:1\n",    /* 19: loaded */
		     big);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	read_text(text, &set);
	assert_int_equal(set.n, 4);
	expect_range(&set.ranges[0], 1001, 100000, 65536, 2);
	expect_range(&set.ranges[1], 1002, 231072, 65536, 1);
	expect_range(&set.ranges[2], 1003, 300000, 10, 5);
	expect_range(&set.ranges[3], 1001, 700000, 1, 19);
	assert_int_equal(set.outcomes[SG_SUBID_LOADED], 4);
	assert_int_equal(set.outcomes[SG_SUBID_MALFORMED], 7);
	assert_int_equal(set.outcomes[SG_SUBID_UNKNOWN_OWNER], 1);
	assert_int_equal(set.outcomes[SG_SUBID_ROOT], 1);
	assert_int_equal(set.outcomes[SG_SUBID_ACCOUNT], 2);
	assert_int_equal(set.outcomes[SG_SUBID_OVERLAP], 2);
	assert_int_equal(set.outcomes[SG_SUBID_FULL], 0);
	sg_subid_free(&set);

	/* The last line needs no newline; the highest UID a range may hold is 4294967294. */
	read_text("alice:4294967290:5", &set);
	assert_int_equal(set.n, 1);
	expect_range(&set.ranges[0], 1001, 4294967290U, 5, 1);
	sg_subid_free(&set);
}

/* The prefixes tile the range exactly, each aligned to its size. */
static int expect_tiling(__u32 start, __u32 count)
{
	struct sg_subuid_key k[SG_SUBID_MAX_PREFIXES];
	int n = sg_subid_prefixes(start, count, k), i;
	__u64 at = start, size;

	for (i = 0; i < n; i++) {
		assert_true(k[i].prefixlen <= 32);
		size = 1ULL << (32 - k[i].prefixlen);
		assert_int_equal(ntohl(k[i].uid), at);
		assert_int_equal(at % size, 0);
		at += size;
	}
	assert_int_equal(at, (__u64)start + count);
	return n;
}

static void test_prefixes(void **state)
{
	struct sg_subuid_key k[SG_SUBID_MAX_PREFIXES];

	/* Debian's first range: 32 from 100000, then 64, 256, ... up to 32768, then down. */
	assert_int_equal(expect_tiling(100000, 65536), 12);
	assert_int_equal(sg_subid_prefixes(100000, 65536, k), 12);
	assert_int_equal(k[0].prefixlen, 27);
	assert_int_equal(k[7].prefixlen, 17);
	assert_int_equal(expect_tiling(65536, 65536), 1);
	assert_int_equal(expect_tiling(7, 1), 1);
	assert_int_equal(expect_tiling(0, 0xffffffffU), 32);
	/* The worst case: up from 1 to 2^31, then down to 2^32 - 1. */
	assert_int_equal(expect_tiling(1, 0xfffffffeU), 62);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests_name("subid", tests, NULL, NULL);
}
