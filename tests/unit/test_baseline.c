// SPDX-License-Identifier: GPL-2.0
/*
 * Baselines: the hour of the week, learning over synthetic hours with exact
 * values, and the file: a round trip, saves that fail and leave the old
 * file, and loads of files that are missing, foreign, of another version,
 * truncated at every offset, flipped at every byte or subtly wrong inside.
 * All in UTC but for one check of local time.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "core/baseline.h"

#define H   3600
#define W   (7 * 24 * H)
#define SUN 1704585600 /* 2024-01-07 00:00 UTC, a Sunday: hour of the week 0 */

/* Where the sample file's first record starts, after magic, version and count. */
#define FIRST 16
/* A record after its principal: first_seen, last_seen, hour, acc, tainted, learned, per_min. */
#define FIXED (8 + 8 + 8 + 8 + 1 + 21 + 4 * SG_HOURS_PER_WEEK)

static char tmp[64]; /* this run's scratch directory */

static const char *path_in(char *buf, const char *name)
{
	assert_in_range(snprintf(buf, PATH_MAX, "%s/%s", tmp, name), 0, PATH_MAX - 1);
	return buf;
}

static int n_learned(const struct sg_baseline *b)
{
	int w, n = 0;

	for (w = 0; w < SG_HOURS_PER_WEEK; w++)
		n += sg_baseline_learned(b, w);
	return n;
}

static void test_hour_of_week(void **state)
{
	/* 1970-01-04 00:00 UTC was a Sunday. */
	assert_int_equal(sg_hour_of_week(3 * 86400), 0);
	assert_int_equal(sg_hour_of_week(3 * 86400 - 1), 6 * 24 + 23);
	assert_int_equal(sg_hour_of_week(SUN), 0);
	assert_int_equal(sg_hour_of_week(SUN + W - 1), 167);
	/* 2024-01-03 13:45 UTC, a Wednesday. */
	assert_int_equal(sg_hour_of_week(1704289500), 3 * 24 + 13);
	/* Local time: two hours east of UTC, Sunday begins at 22:00 UTC on Saturday. */
	setenv("TZ", "<+02>-2", 1);
	tzset();
	assert_int_equal(sg_hour_of_week(SUN - 2 * H), 0);
	assert_int_equal(sg_hour_of_week(SUN), 2);
	setenv("TZ", "UTC", 1);
	tzset();
}

static int count_uids(struct sg_baseline *b, void *ctx)
{
	return ++*(int *)ctx == 2 ? 7 : 0;
}

static void test_get_and_each(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	char longest[SG_PRINCIPAL_MAX + 1];
	struct sg_baseline *b;
	int n = 0;

	assert_null(sg_baselines_get(s, "uid:1001", 0, SUN));
	b = sg_baselines_get(s, "uid:1001", 1, SUN + 5);
	assert_non_null(b);
	assert_string_equal(b->principal, "uid:1001");
	/* Sized to its id, not to the longest login: 10,000 UIDs' records are MBs, not tens. */
	assert_true(malloc_usable_size(b) < 1024);
	assert_int_equal(b->first_seen, SUN + 5);
	assert_int_equal(b->hour, 0);
	assert_int_equal(n_learned(b), 0);
	assert_ptr_equal(sg_baselines_get(s, "uid:1001", 1, SUN + 9), b);
	assert_int_equal(b->first_seen, SUN + 5);
	assert_non_null(sg_baselines_get(s, "uid:1002", 1, SUN));
	/* The longest principal kept whole, and one longer that would have to be cut. */
	memset(longest, 'x', SG_PRINCIPAL_MAX);
	longest[SG_PRINCIPAL_MAX - 1] = '\0';
	assert_non_null(sg_baselines_get(s, longest, 1, SUN));
	longest[SG_PRINCIPAL_MAX - 1] = 'x';
	longest[SG_PRINCIPAL_MAX] = '\0';
	assert_null(sg_baselines_get(s, longest, 1, SUN));
	assert_int_equal(sg_baselines_count(s), 3);
	/* each stops at the first non-zero answer and passes it on. */
	assert_int_equal(sg_baselines_each(s, count_uids, &n), 7);
	assert_int_equal(n, 2);
	sg_baselines_free(s);
}

static void test_learning(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1001", 1, SUN + 10 * H + 5);

	/* Sunday 10:00 to 11:00: 360 connections, 6 a minute. */
	sg_baseline_add(b, 120, SUN + 10 * H + 5);
	assert_int_equal(b->hour, SUN / H + 10);
	sg_baseline_add(b, 240, SUN + 10 * H + 1800);
	assert_int_equal(b->acc, 360);
	assert_true(sg_baseline_per_min(b, SUN + 10 * H + 1800) == -1);
	/* The first value of a slot is taken whole. */
	sg_baseline_add(b, 30, SUN + 11 * H);
	assert_int_equal(n_learned(b), 1);
	assert_true(b->per_min[10] == 6.0f);
	assert_int_equal(b->hour, SUN / H + 11);
	assert_int_equal(b->acc, 30);
	sg_baseline_roll(b, SUN + 12 * H + 59);
	assert_true(b->per_min[11] == 0.5f);
	assert_int_equal(b->acc, 0);
	/* A week later: hours 12 to 9 had no record and are learned as 0; 10 and 11 keep theirs. */
	sg_baseline_add(b, 120, SUN + W + 10 * H);
	assert_int_equal(n_learned(b), SG_HOURS_PER_WEEK);
	assert_true(b->per_min[10] == 6.0f);
	assert_true(b->per_min[11] == 0.5f);
	assert_true(b->per_min[12] == 0.0f);
	assert_true(b->per_min[9] == 0.0f);
	/* Then the EWMA: 6 + 0.3 x (2 - 6), and 0.5 + 0.3 x (1.5 - 0.5). */
	sg_baseline_add(b, 90, SUN + W + 11 * H);
	assert_true(b->per_min[10] == 4.8f);
	assert_true(b->per_min[10] == (float)(6.0 + 0.3 * (2.0 - 6.0)));
	sg_baselines_roll(s, SUN + W + 12 * H);
	assert_true(b->per_min[11] == 0.8f);
	/* Week three, 4 a minute at 10:00: from the float 4.8, as kept. */
	sg_baseline_add(b, 240, SUN + 2 * W + 10 * H);
	sg_baseline_roll(b, SUN + 2 * W + 11 * H);
	assert_true(b->per_min[10] == (float)((double)4.8f + 0.3 * (4.0 - (double)4.8f)));
	assert_true(b->per_min[10] == 4.56f);
	/* The hours of silence since were other hours of the week. */
	assert_true(b->per_min[11] == 0.8f);
	sg_baselines_free(s);
}

static void test_tainted_hour(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1001", 1, SUN);

	/* An alert marked before the first count is about the first hour. */
	b->tainted = 1;
	sg_baseline_add(b, 6000, SUN + 5 * H);
	assert_int_equal(b->tainted, 1);
	sg_baseline_add(b, 60, SUN + 6 * H);
	assert_false(sg_baseline_learned(b, 5));
	assert_int_equal(b->tainted, 0);
	assert_int_equal(b->acc, 60);
	sg_baseline_add(b, 0, SUN + 7 * H);
	assert_true(b->per_min[6] == 1.0f);
	/* A learned slot is kept as it was through a tainted hour. */
	sg_baseline_add(b, 6000, SUN + W + 6 * H);
	b->tainted = 1;
	sg_baseline_add(b, 120, SUN + W + 7 * H);
	assert_true(b->per_min[6] == 1.0f);
	/* The taint went with its hour: 2 a minute on a slot learned as 0 a week ago. */
	sg_baseline_roll(b, SUN + W + 8 * H);
	assert_true(b->per_min[7] == (float)(0.3 * 2.0));
	assert_true(sg_baseline_per_min(b, SUN + W + 6 * H + 10) == 1.0);
	sg_baselines_free(s);
}

static void test_gap_of_zeros(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1001", 1, SUN);

	sg_baseline_add(b, 360, SUN + 3 * H);
	sg_baseline_roll(b, SUN + 4 * H);
	assert_true(b->per_min[3] == 6.0f);
	/* Nothing from 4:00 until 8:00: 4, 5, 6 and 7 are learned as 0, 8 is going on. */
	sg_baseline_add(b, 120, SUN + 8 * H + 10);
	assert_int_equal(n_learned(b), 5);
	assert_true(sg_baseline_learned(b, 4) && sg_baseline_learned(b, 7) &&
		    !sg_baseline_learned(b, 8));
	assert_true(b->per_min[4] == 0.0f && b->per_min[7] == 0.0f);
	/* Hour 8 is not learned yet: the mean of 6, 0, 0, 0, 0. */
	assert_true(sg_baseline_per_min(b, SUN + 8 * H + 10) == 6.0 / 5);
	/* A zero hour on a learned slot: 6 + 0.3 x (0 - 6). */
	sg_baseline_add(b, 0, SUN + W + 4 * H);
	assert_true(b->per_min[3] == (float)(6.0 - 0.3 * 6.0));
	assert_true(b->per_min[3] == 4.2f);
	assert_true(b->per_min[8] == 2.0f);
	sg_baselines_free(s);
}

static void test_gap_longer_than_a_week(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1001", 1, SUN);
	int w;

	sg_baseline_add(b, 360, SUN + 10 * H);
	sg_baseline_add(b, 180, SUN + 20 * H);
	assert_int_equal(n_learned(b), 10);
	/* Three weeks of silence after 20:00: each slot has one zero, not three. */
	sg_baseline_add(b, 60, SUN + 3 * W + 5 * H + 7);
	assert_int_equal(n_learned(b), SG_HOURS_PER_WEEK);
	assert_true(b->per_min[10] == (float)(6.0 - 0.3 * 6.0));
	assert_true(b->per_min[20] == (float)(3.0 - 0.3 * 3.0));
	assert_true(b->per_min[20] == 2.1f);
	for (w = 0; w < SG_HOURS_PER_WEEK; w++)
		if (w != 10 && w != 20)
			assert_true(b->per_min[w] == 0.0f);
	assert_int_equal(b->hour, (SUN + 3 * W) / H + 5);
	assert_int_equal(b->acc, 60);
	assert_int_equal(b->tainted, 0);
	sg_baselines_free(s);
}

static void test_clock_stepped_back(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1001", 1, SUN);

	/* A minute back: the same hour goes on, but is not learned. */
	sg_baseline_add(b, 360, SUN + 10 * H + 5);
	sg_baseline_add(b, 60, SUN + 10 * H - 60);
	assert_int_equal(b->hour, SUN / H + 10);
	assert_int_equal(b->acc, 420);
	assert_int_equal(b->tainted, 1);
	sg_baseline_add(b, 120, SUN + 11 * H);
	assert_int_equal(n_learned(b), 0);
	assert_int_equal(b->tainted, 0);
	/* Eight days back: the hour of now starts over, not learned either. */
	sg_baseline_add(b, 5, SUN + 11 * H - 8 * 24 * H);
	assert_int_equal(b->hour, SUN / H + 11 - 8 * 24);
	assert_int_equal(b->acc, 5);
	assert_int_equal(b->tainted, 1);
	sg_baseline_add(b, 60, SUN + 12 * H - 8 * 24 * H);
	sg_baseline_roll(b, SUN + 13 * H - 8 * 24 * H);
	assert_int_equal(n_learned(b), 1);
	/* Saturday 12:00, eight days before Sunday 12:00. */
	assert_true(b->per_min[6 * 24 + 12] == 1.0f);
	sg_baselines_free(s);
}

static void test_per_min_fallback(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1001", 1, SUN);

	assert_true(sg_baseline_per_min(b, SUN) == -1);
	sg_baseline_add(b, 360, SUN + 3 * H);
	assert_true(sg_baseline_per_min(b, SUN + 3 * H) == -1);
	sg_baseline_add(b, 180, SUN + 4 * H);
	sg_baseline_roll(b, SUN + 5 * H);
	assert_true(sg_baseline_per_min(b, SUN + 3 * H + 59) == 6.0);
	assert_true(sg_baseline_per_min(b, SUN + W + 4 * H) == 3.0);
	/* Unlearned slots: the mean of the learned ones. */
	assert_true(sg_baseline_per_min(b, SUN + 100 * H) == 4.5);
	assert_true(sg_baseline_per_min(b, SUN + 5 * H) == 4.5);
	sg_baselines_free(s);
}

static void assert_same(const struct sg_baseline *a, const struct sg_baseline *b)
{
	assert_string_equal(a->principal, b->principal);
	assert_int_equal(a->first_seen, b->first_seen);
	assert_int_equal(a->last_seen, b->last_seen);
	assert_int_equal(a->hour, b->hour);
	assert_int_equal(a->acc, b->acc);
	assert_int_equal(a->tainted, b->tainted);
	assert_memory_equal(a->learned, b->learned, sizeof(a->learned));
	assert_memory_equal(a->per_min, b->per_min, sizeof(a->per_min));
}

/* Records in every state worth keeping, with extreme values. */
static struct sg_baselines *sample(void)
{
	struct sg_baselines *s = sg_baselines_new();
	char longest[SG_PRINCIPAL_MAX];
	struct sg_baseline *b;
	int w;

	sg_baselines_get(s, "uid:1001", 1, SUN);
	b = sg_baselines_get(s, "uid:1002", 1, SUN + 1);
	sg_baseline_add(b, 360, SUN + 3 * H);
	sg_baseline_add(b, 12345, SUN + W + 4 * H + 5);
	b->tainted = 1;
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memcpy(longest, "sasl:", 5);
	b = sg_baselines_get(s, longest, 1, -1);
	b->hour = INT64_MAX;
	b->acc = UINT64_MAX;
	for (w = 0; w < SG_HOURS_PER_WEEK; w++)
		b->per_min[w] = (float)w / 7;
	b->per_min[1] = 3.4028235e38f; /* the largest float */
	b->per_min[2] = 1.4e-45f;      /* the smallest, denormal */
	memset(b->learned, 0xa5, sizeof(b->learned));
	return s;
}

static int save(const struct sg_baselines *s, const char *path)
{
	char err[PATH_MAX + 64] = "";
	int ret = sg_baselines_save(s, path, err, sizeof(err));

	assert_true(ret || !*err);
	return ret;
}

static int compare_each(struct sg_baseline *a, void *ctx)
{
	struct sg_baseline *b = sg_baselines_get(ctx, a->principal, 0, SUN);

	assert_non_null(b);
	assert_same(a, b);
	return 0;
}

/* path loads as exactly the records of want. */
static void assert_loads_as(const char *path, struct sg_baselines *want)
{
	struct sg_baselines *s = sg_baselines_new();
	char warn[PATH_MAX + 128];

	/* A record from before the load does not survive it. */
	sg_baselines_get(s, "uid:666", 1, SUN);
	assert_int_equal(sg_baselines_load(s, path, warn, sizeof(warn)), 0);
	assert_int_equal(sg_baselines_count(s), sg_baselines_count(want));
	assert_int_equal(sg_baselines_each(want, compare_each, s), 0);
	sg_baselines_free(s);
}

static void test_round_trip(void **state)
{
	struct sg_baselines *s = sample(), *t = sg_baselines_new();
	char path[PATH_MAX], other[PATH_MAX], warn[PATH_MAX + 128];
	struct stat st;

	path_in(path, "round-trip");
	assert_int_equal(save(s, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	path_in(other, "round-trip.tmp");
	assert_int_equal(access(other, F_OK), -1);
	sg_baselines_get(t, "uid:666", 1, SUN);
	assert_int_equal(sg_baselines_load(t, path, warn, sizeof(warn)), 0);
	assert_int_equal(sg_baselines_count(t), 3);
	assert_null(sg_baselines_get(t, "uid:666", 0, SUN));
	assert_int_equal(sg_baselines_each(s, compare_each, t), 0);
	/* Saved again from what was loaded, it loads as the same again. */
	path_in(other, "round-trip-again");
	assert_int_equal(save(t, other), 0);
	assert_int_equal(sg_baselines_load(s, other, warn, sizeof(warn)), 0);
	assert_int_equal(sg_baselines_each(t, compare_each, s), 0);
	/* An empty store makes a file that loads as empty. */
	sg_baselines_free(t);
	t = sg_baselines_new();
	assert_int_equal(save(t, path), 0);
	assert_int_equal(sg_baselines_load(s, path, warn, sizeof(warn)), 0);
	assert_int_equal(sg_baselines_count(s), 0);
	sg_baselines_free(s);
	sg_baselines_free(t);
}

static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static struct sg_baselines *many(size_t n)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *b;
	char principal[32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(principal, sizeof(principal), "uid:%zu", i);
		b = sg_baselines_get(s, principal, 1, SUN + i);
		assert_non_null(b);
		sg_baseline_add(b, i, SUN + i % 24 * H);
		sg_baseline_add(b, 2 * i, SUN + W + i % 24 * H);
	}
	return s;
}

static void test_save_keeps_the_old_file(void **state)
{
	struct sg_baselines *old = many(3), *new = many(10000);
	char path[PATH_MAX], tmp_path[PATH_MAX], err[PATH_MAX + 64], want[PATH_MAX + 64];
	struct rlimit was, small;

	/* The temporary file cannot be created: no directory, or a file where it should be. */
	path_in(path, "nowhere/baseline");
	assert_int_equal(sg_baselines_save(old, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	path_in(path, "round-trip-file/baseline");
	assert_int_equal(save(old, path_in(tmp_path, "round-trip-file")), 0);
	assert_int_equal(sg_baselines_save(old, path, err, sizeof(err)), -ENOTDIR);
	snprintf(want, sizeof(want), "%s: Not a directory", path);
	assert_string_equal(err, want);

	path_in(path, "kept");
	path_in(tmp_path, "kept.tmp");
	assert_int_equal(save(old, path), 0);
	/* The temporary name is taken by a directory. */
	assert_int_equal(mkdir(tmp_path, 0700), 0);
	assert_int_equal(sg_baselines_save(new, path, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: Is a directory", path);
	assert_string_equal(err, want);
	assert_int_equal(rmdir(tmp_path), 0);
	assert_loads_as(path, old);

	/* The disk fills up half way: the partial file goes. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = was;
	small.rlim_cur = 4096;
	assert_true(file_size(path) < small.rlim_cur);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(sg_baselines_save(new, path, err, sizeof(err)), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	signal(SIGXFSZ, SIG_DFL);
	snprintf(want, sizeof(want), "%s: File too large", path);
	assert_string_equal(err, want);
	assert_int_equal(access(tmp_path, F_OK), -1);
	assert_loads_as(path, old);

	/* The rename fails: a directory with something in it is where the file should go. */
	path_in(path, "is-a-dir");
	path_in(tmp_path, "is-a-dir/x");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mkdir(tmp_path, 0700), 0);
	assert_int_equal(sg_baselines_save(old, path, err, sizeof(err)), -EISDIR);
	assert_int_equal(access(path_in(tmp_path, "is-a-dir.tmp"), F_OK), -1);
	sg_baselines_free(old);
	sg_baselines_free(new);
}

/* fn(path) as a user whom permissions apply to, unlike root; its result via the exit status. */
static int unprivileged(int (*fn)(const char *path), const char *path)
{
	int status;
	pid_t pid;

	if (geteuid())
		return fn(path);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(0);
		_exit(128 + fn(path));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) - 128;
}

static int save_one(const char *path)
{
	struct sg_baselines *s = sg_baselines_new();
	char err[PATH_MAX + 64];
	int ret;

	sg_baselines_get(s, "uid:1", 1, SUN);
	ret = sg_baselines_save(s, path, err, sizeof(err));
	sg_baselines_free(s);
	return ret;
}

static int load_one(const char *path)
{
	struct sg_baselines *s = sg_baselines_new();
	char warn[PATH_MAX + 128], want[PATH_MAX + 128];
	int ret;

	sg_baselines_get(s, "uid:1", 1, SUN);
	ret = sg_baselines_load(s, path, warn, sizeof(warn));
	snprintf(want, sizeof(want), "%s: %s", path, strerror(-ret));
	/* A failure says so, and leaves nothing behind. */
	if (ret < 0 && (strcmp(warn, want) || sg_baselines_count(s)))
		ret = -EBADMSG;
	sg_baselines_free(s);
	return ret;
}

static void test_permissions(void **state)
{
	struct sg_baselines *old = many(2);
	char dir[PATH_MAX], path[PATH_MAX];

	path_in(dir, "read-only");
	path_in(path, "read-only/baseline");
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(save(old, path), 0);
	assert_int_equal(chmod(tmp, 0711), 0);
	assert_int_equal(chmod(dir, 0555), 0);
	assert_int_equal(unprivileged(save_one, path), -EACCES);
	assert_int_equal(chmod(path, 0), 0);
	assert_int_equal(unprivileged(load_one, path), -EACCES);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(tmp, 0700), 0);
	assert_loads_as(path, old);
	/* A directory opens but does not read. */
	assert_int_equal(load_one(dir), -EISDIR);
	sg_baselines_free(old);
}

static unsigned char *read_gz(const char *path, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0;
	int got;

	assert_non_null(gz);
	*len = 0;
	do {
		if (*len + 65536 > cap) {
			cap = 2 * cap + 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		got = gzread(gz, buf + *len, 65536);
		assert_true(got >= 0);
		*len += got;
	} while (got > 0);
	assert_int_equal(gzclose(gz), Z_OK);
	return buf;
}

static void write_gz(const char *path, const void *data, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, data, len), len);
	assert_int_equal(gzclose(gz), Z_OK);
}

static unsigned char *read_raw(const char *path, size_t *len)
{
	unsigned char *buf;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	*len = file_size(path);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void write_raw(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void set_le(unsigned char *p, __u64 v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = v >> (8 * i);
}

static void fix_crc(unsigned char *data, size_t len)
{
	set_le(data + len - 4, crc32(0, data, len - 4), 4);
}

/* Loading path gives 1, an empty store and "PATH: why; starting with no baselines". */
static void assert_rejected(const char *path, const char *why)
{
	struct sg_baselines *s = sg_baselines_new();
	char warn[PATH_MAX + 128], want[PATH_MAX + 128];

	sg_baselines_get(s, "uid:666", 1, SUN);
	assert_int_equal(sg_baselines_load(s, path, warn, sizeof(warn)), 1);
	assert_int_equal(sg_baselines_count(s), 0);
	snprintf(want, sizeof(want), "%s: %s; starting with no baselines", path, why);
	assert_string_equal(warn, want);
	sg_baselines_free(s);
}

static void test_load_missing_and_foreign(void **state)
{
	static const char conf[] = "[detect]\nrate_floor = 30\n";
	struct sg_baselines *s = sg_baselines_new();
	char path[PATH_MAX], warn[PATH_MAX + 128];
	unsigned char *data;
	size_t len;

	sg_baselines_get(s, "uid:666", 1, SUN);
	assert_int_equal(sg_baselines_load(s, path_in(path, "missing"), warn, sizeof(warn)), 0);
	assert_int_equal(sg_baselines_count(s), 0);
	sg_baselines_free(s);

	write_raw(path_in(path, "foreign"), conf, sizeof(conf) - 1);
	assert_rejected(path, "not a smtpguard baseline file");
	write_raw(path, "", 0);
	assert_rejected(path, "corrupt (truncated)");
	/* gzip, but not ours. */
	write_gz(path, conf, sizeof(conf) - 1);
	assert_rejected(path, "not a smtpguard baseline file");

	s = sample();
	assert_int_equal(save(s, path_in(path, "other")), 0);
	data = read_gz(path, &len);
	data[5] = 'X';
	fix_crc(data, len);
	write_gz(path, data, len);
	assert_rejected(path, "not a smtpguard baseline file");
	memcpy(data, "SGBASE\0\0", 8);
	set_le(data + 8, 4, 4);
	fix_crc(data, len);
	write_gz(path, data, len);
	assert_rejected(path, "baseline format version 4, this smtpguard reads 1 to 3");
	set_le(data + 8, 0, 4);
	fix_crc(data, len);
	write_gz(path, data, len);
	assert_rejected(path, "baseline format version 0, this smtpguard reads 1 to 3");
	set_le(data + 8, 3, 4);
	fix_crc(data, len);
	write_gz(path, data, len);
	assert_loads_as(path, s);
	free(data);
	sg_baselines_free(s);
}

/*
 * The file at path rewritten as version (1 or 2): each record without
 * last_seen, which those versions have not.
 */
static void save_old(const char *path, __u32 version)
{
	unsigned char *data, *to, *from, *end;
	size_t len, plen;

	data = read_gz(path, &len);
	assert_int_equal(data[8], 3); /* written as the newest */
	set_le(data + 8, version, 4);
	end = data + len - 4;
	for (to = from = data + FIRST; from < end; from += 2 + plen + FIXED) {
		plen = from[0] | from[1] << 8;
		memmove(to, from, 2 + plen + 8);
		memmove(to + 2 + plen + 8, from + 2 + plen + 16, FIXED - 16);
		to += 2 + plen + FIXED - 8;
	}
	len = to - data + 4;
	fix_crc(data, len);
	write_gz(path, data, len);
	free(data);
}

/* A store of one principal of n bytes, saved as version 1 (principals under 128 bytes). */
static void save_v1(const char *path, struct sg_baselines *s, size_t n)
{
	char id[SG_PRINCIPAL_MAX];
	struct sg_baseline *b;

	memset(id, 'y', n);
	id[n] = '\0';
	memcpy(id, "sasl:", 5);
	b = sg_baselines_get(s, id, 1, SUN);
	sg_baseline_add(b, 600, SUN + 2 * H);
	sg_baseline_roll(b, SUN + 3 * H);
	/* What loading a version without it gives: the hour the record was counting. */
	b->last_seen = SUN + 3 * H;
	assert_int_equal(save(s, path), 0);
	save_old(path, 1);
}

/* Files of the version before longer principals still load, within that version's limit. */
static void test_load_version_1(void **state)
{
	struct sg_baselines *s = sg_baselines_new(), *t = sg_baselines_new();
	char path[PATH_MAX];

	save_v1(path_in(path, "v1"), s, 127);
	assert_loads_as(path, s);
	save_v1(path, t, 128);
	assert_rejected(path, "corrupt (record 0: principal length 128)");
	sg_baselines_free(s);
	sg_baselines_free(t);
}

/* Version 2's records, with no last_seen, load as last seen in the hour they were counting. */
static void test_load_version_2(void **state)
{
	struct sg_baselines *s = sample(), *t = sg_baselines_new();
	struct sg_baseline *b = sg_baselines_get(s, "uid:1002", 0, SUN);
	char path[PATH_MAX], warn[PATH_MAX + 128];

	assert_int_equal(save(s, path_in(path, "v2")), 0);
	save_old(path, 2);
	assert_int_equal(sg_baselines_load(t, path, warn, sizeof(warn)), 0);
	assert_int_equal(sg_baselines_count(t), 3);
	assert_int_equal(sg_baselines_get(t, "uid:1002", 0, SUN)->last_seen, b->hour * 3600);
	assert_int_equal(sg_baselines_get(t, "uid:1001", 0, SUN)->last_seen, SUN);
	sg_baselines_free(s);
	sg_baselines_free(t);
}

static void test_load_truncated(void **state)
{
	struct sg_baselines *s = sample();
	char path[PATH_MAX], cut[PATH_MAX];
	unsigned char *data;
	size_t len, at, rec;

	assert_int_equal(save(s, path_in(path, "whole")), 0);
	/* Cut anywhere, in the gzip header, the deflate data or the gzip trailer. */
	data = read_raw(path, &len);
	path_in(cut, "cut");
	for (at = 0; at < len; at++) {
		write_raw(cut, data, at);
		assert_rejected(cut, "corrupt (truncated)");
	}
	free(data);
	/* Cut at each record's end and compressed again, as if it were whole. */
	data = read_gz(path, &len);
	for (at = FIRST; at < len - 4; at += rec) {
		write_gz(cut, data, at);
		assert_rejected(cut, "corrupt (truncated)");
		rec = 2 + (data[at] | data[at + 1] << 8) + FIXED;
	}
	assert_int_equal(at, len - 4);
	/* Without the CRC, or with half of it. */
	write_gz(cut, data, len - 4);
	assert_rejected(cut, "corrupt (truncated)");
	write_gz(cut, data, len - 2);
	assert_rejected(cut, "corrupt (truncated)");
	free(data);
	sg_baselines_free(s);
}

static void test_load_flipped(void **state)
{
	struct sg_baselines *s = sample(), *t = sg_baselines_new();
	char path[PATH_MAX], flipped[PATH_MAX], warn[PATH_MAX + 128], want[PATH_MAX + 8];
	unsigned char *data;
	size_t len, at;
	int ret;

	assert_int_equal(save(s, path_in(path, "whole")), 0);
	data = read_raw(path, &len);
	path_in(flipped, "flipped");
	snprintf(want, sizeof(want), "%s: ", flipped);
	for (at = 0; at < len; at++) {
		data[at] ^= 0xff;
		write_raw(flipped, data, len);
		data[at] ^= 0xff;
		ret = sg_baselines_load(t, flipped, warn, sizeof(warn));
		/* The gzip header's time, flags for extra compression and OS do not matter. */
		if (at >= 4 && at < 10 && !ret) {
			assert_int_equal(sg_baselines_count(t), 3);
			assert_int_equal(sg_baselines_each(s, compare_each, t), 0);
			continue;
		}
		assert_int_equal(ret, 1);
		assert_int_equal(sg_baselines_count(t), 0);
		assert_memory_equal(warn, want, strlen(want));
	}
	free(data);
	sg_baselines_free(s);
	sg_baselines_free(t);
}

/* s saved with its first record changed, and the CRC made right unless told. */
static void assert_edit_rejected(struct sg_baselines *s, size_t off, __u64 v, int bytes, int crc,
				 const char *why)
{
	char path[PATH_MAX];
	unsigned char *data;
	size_t len;

	assert_int_equal(save(s, path_in(path, "edited")), 0);
	data = read_gz(path, &len);
	set_le(data + off, v, bytes);
	if (crc)
		fix_crc(data, len);
	write_gz(path, data, len);
	assert_rejected(path, why);
	free(data);
}

static void test_load_bad_content(void **state)
{
	struct sg_baselines *s = sample();
	char path[PATH_MAX];
	unsigned char *data;
	size_t len, fixed, plen;

	/* Where the first record's fields are depends on its principal's length. */
	assert_int_equal(save(s, path_in(path, "edited")), 0);
	data = read_gz(path, &len);
	fixed = FIRST + 2 + (data[FIRST] | data[FIRST + 1] << 8);
	free(data);

	assert_edit_rejected(s, fixed + 24, 7, 1, 0, "corrupt (CRC mismatch)");
	assert_edit_rejected(s, FIRST, 0, 2, 1, "corrupt (record 0: principal length 0)");
	assert_edit_rejected(s, FIRST, 65535, 2, 1, "corrupt (record 0: principal length 65535)");
	assert_edit_rejected(s, FIRST, SG_PRINCIPAL_MAX, 2, 1,
			     "corrupt (record 0: principal length 1029)");
	assert_edit_rejected(s, FIRST + 3, 0, 1, 1, "corrupt (record 0: a NUL in the principal)");
	assert_edit_rejected(s, 12, 10000001, 4, 1, "corrupt (10000001 records)");
	assert_edit_rejected(s, 12, UINT32_MAX, 4, 1, "corrupt (4294967295 records)");
	/* A count one short leaves a record where the CRC should be. */
	assert_edit_rejected(s, 12, 2, 4, 1, "corrupt (CRC mismatch)");
	assert_edit_rejected(s, fixed + 16, INT64_MIN, 8, 1,
			     "corrupt (record 0: hour -9223372036854775808)");
	assert_edit_rejected(s, fixed + 32, 2, 1, 1, "corrupt (record 0: tainted 2)");
	assert_edit_rejected(s, fixed + 54, 0x7fc00000, 4, 1, "corrupt (record 0: nan per minute)");
	assert_edit_rejected(s, fixed + 54, 0x7f800000, 4, 1, "corrupt (record 0: inf per minute)");
	assert_edit_rejected(s, fixed + 54 + 4 * 167, 0xbf800000, 4, 1,
			     "corrupt (record 0: -1 per minute)");
	sg_baselines_free(s);

	/* Two records, the second given the first's principal. */
	s = many(2);
	assert_int_equal(save(s, path), 0);
	data = read_gz(path, &len);
	plen = data[FIRST] | data[FIRST + 1] << 8;
	assert_memory_equal(data + FIRST + 2 + plen + FIXED, data + FIRST, 2);
	memcpy(data + FIRST + 2 + plen + FIXED + 2, data + FIRST + 2, plen);
	fix_crc(data, len);
	write_gz(path, data, len);
	assert_rejected(path, "corrupt (record 1: a principal seen before)");
	free(data);
	/* Whole, then more. */
	assert_int_equal(save(s, path), 0);
	data = read_gz(path, &len);
	data = realloc(data, len + 1);
	assert_non_null(data);
	data[len] = 0;
	write_gz(path, data, len + 1);
	assert_rejected(path, "corrupt (data after the end)");
	free(data);
	sg_baselines_free(s);
}

static void test_ten_thousand(void **state)
{
	struct sg_baselines *s = sg_baselines_new();
	struct sg_baseline *first = sg_baselines_get(s, "first", 1, SUN), *b;
	char path[PATH_MAX], principal[32];
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(principal, sizeof(principal), "uid:%d", i);
		b = sg_baselines_get(s, principal, 1, SUN + i);
		assert_non_null(b);
		sg_baseline_add(b, i, SUN + i % 168 * H);
		sg_baseline_add(b, 1, SUN + W);
	}
	assert_int_equal(sg_baselines_count(s), 10001);
	/* A record of "uid:1000": 744 bytes usable, 752 of heap (768 with an int for tainted). */
	assert_int_equal(malloc_usable_size(sg_baselines_get(s, "uid:1000", 0, SUN)), 744);
	/* The first record stayed where it was as the table grew around it. */
	assert_ptr_equal(sg_baselines_get(s, "first", 0, SUN), first);
	assert_string_equal(first->principal, "first");
	assert_int_equal(save(s, path_in(path, "many")), 0);
	assert_loads_as(path, s);
	sg_baselines_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hour_of_week),
		cmocka_unit_test(test_get_and_each),
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_tainted_hour),
		cmocka_unit_test(test_gap_of_zeros),
		cmocka_unit_test(test_gap_longer_than_a_week),
		cmocka_unit_test(test_clock_stepped_back),
		cmocka_unit_test(test_per_min_fallback),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_save_keeps_the_old_file),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_load_missing_and_foreign),
		cmocka_unit_test(test_load_truncated),
		cmocka_unit_test(test_load_version_1),
		cmocka_unit_test(test_load_version_2),
		cmocka_unit_test(test_load_flipped),
		cmocka_unit_test(test_load_bad_content),
		cmocka_unit_test(test_ten_thousand),
	};
	char cmd[128];
	int rc;

	setenv("TZ", "UTC", 1);
	tzset();
	snprintf(tmp, sizeof(tmp), "/tmp/sg-baseline.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		rc = 1;
	return rc;
}
