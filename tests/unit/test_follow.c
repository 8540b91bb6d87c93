// SPDX-License-Identifier: GPL-2.0
/*
 * The log follower: appends, start at end or from the start, partial and
 * long lines, rotation by rename and by copytruncate, files that come and
 * go, the byte budget, several files, the inotify fd. Each test in its own
 * temporary directory.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mail/follow.h"
#include "mail/mtalog.h"

struct got {
	int n, cap;
	char **line;
	int *idx;
};

struct t {
	char dir[64];
	struct sg_follower *f;
	struct got got;
};

static void collect(int index, const char *line, size_t len, void *ctx)
{
	struct got *g = ctx;

	/* No newline in a line, and it is NUL-terminated. */
	assert_null(memchr(line, '\n', len));
	assert_int_equal(line[len], '\0');
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->line = realloc(g->line, g->cap * sizeof(*g->line));
		g->idx = realloc(g->idx, g->cap * sizeof(*g->idx));
		assert_non_null(g->line);
		assert_non_null(g->idx);
	}
	g->line[g->n] = strndup(line, len);
	assert_non_null(g->line[g->n]);
	g->idx[g->n++] = index;
}

static void got_clear(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->line[i]);
	g->n = 0;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/test_follow.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	t->f = sg_follower_new();
	if (!t->f)
		return -1;
	*state = t;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct t *t = *state;

	sg_follower_free(t->f);
	got_clear(&t->got);
	free(t->got.line);
	free(t->got.idx);
	nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* dir/name, in a static buffer of four (enough for the arguments of one call). */
static const char *at(struct t *t, const char *name)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", t->dir, name);
	return p;
}

static void write_to(const char *path, int flags, const char *s, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	close(fd);
}

static void append(const char *path, const char *s)
{
	write_to(path, O_APPEND, s, strlen(s));
}

/* Reads with no budget; checks the number of lines read. */
static void read_n(struct t *t, int n)
{
	assert_int_equal(sg_follower_read(t->f, 0, collect, &t->got), n);
}

/* The lines got since the last check are exactly these (NULL-terminated); then forgets them. */
static void expect(struct t *t, ...)
{
	const char *want;
	va_list ap;
	int i = 0;

	va_start(ap, t);
	while ((want = va_arg(ap, const char *))) {
		assert_true(i < t->got.n);
		assert_string_equal(t->got.line[i], want);
		i++;
	}
	va_end(ap);
	assert_int_equal(t->got.n, i);
	got_clear(&t->got);
}

static struct sg_follow_stats stats(struct t *t, int index)
{
	struct sg_follow_stats st;

	sg_follower_stats(t->f, index, &st);
	return st;
}

static void expect_stats(struct t *t, int index, __u64 lines, __u64 bytes, __u64 rotations,
			 __u64 truncations, __u64 cut)
{
	struct sg_follow_stats st = stats(t, index);

	assert_int_equal(st.lines, lines);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.rotations, rotations);
	assert_int_equal(st.truncations, truncations);
	assert_int_equal(st.cut, cut);
}

static void test_appends_in_order(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");

	append(log, "");
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	read_n(t, 0);
	append(log, "one\ntwo\n");
	read_n(t, 2);
	expect(t, "one", "two", NULL);
	append(log, "three\n");
	append(log, "\n"); /* an empty line is a line */
	append(log, "four\n");
	read_n(t, 3);
	expect(t, "three", "", "four", NULL);
	read_n(t, 0);
	expect_stats(t, 0, 5, 20, 0, 0, 0);
}

static void test_start_at_end(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");
	const char *log2 = at(t, "exim.log");

	append(log, "old one\nold two\n");
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	read_n(t, 0);
	append(log, "new\n");
	read_n(t, 1);
	expect(t, "new", NULL);
	expect_stats(t, 0, 1, 4, 0, 0, 0);

	/* Started in the middle of a line: its end is old too. */
	append(log2, "old\nhalf a li");
	assert_int_equal(sg_follow_add(t->f, log2, 0), 1);
	append(log2, "ne\nnew2\n");
	read_n(t, 1);
	expect(t, "new2", NULL);
	assert_int_equal(t->got.n, 0);
}

static void test_from_start(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");

	append(log, "old one\nold two\n");
	assert_int_equal(sg_follow_add(t->f, log, 1), 0);
	read_n(t, 2);
	expect(t, "old one", "old two", NULL);
	append(log, "new\n");
	read_n(t, 1);
	expect(t, "new", NULL);
	expect_stats(t, 0, 3, 20, 0, 0, 0);
}

static void test_partial_line(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");

	append(log, "");
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	append(log, "hel");
	read_n(t, 0);
	append(log, "lo wor");
	read_n(t, 0);
	append(log, "ld\nnext");
	read_n(t, 1);
	expect(t, "hello world", NULL);
	append(log, "\n");
	read_n(t, 1);
	expect(t, "next", NULL);
	expect_stats(t, 0, 2, 17, 0, 0, 0);
}

/*
 * logrotate's create mode: renamed away, lines still written to the old
 * file (the MTA has not reopened), a new file created. None is lost, the
 * old file's come first, its unterminated tail is a line.
 */
static void test_rename_rotation(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log"), *old = at(t, "mail.log.1");

	append(log, "a1\n");
	assert_int_equal(sg_follow_add(t->f, log, 1), 0);
	read_n(t, 1);
	expect(t, "a1", NULL);

	assert_int_equal(rename(log, old), 0);
	append(old, "a2\n");
	read_n(t, 1); /* the path is missing for a while */
	expect(t, "a2", NULL);
	append(old, "a3\n");
	read_n(t, 1);
	expect(t, "a3", NULL);
	append(old, "a4\ntail");
	append(log, "b1\nb2\n");
	read_n(t, 4);
	/* The old file is read to its end, its unterminated tail a line, before the new one. */
	expect(t, "a4", "tail", "b1", "b2", NULL);
	expect_stats(t, 0, 7, 22, 1, 0, 0);

	/* Still written to after the new file appeared (not reopened yet): not lost. */
	append(old, "a5\n");
	read_n(t, 1);
	expect(t, "a5", NULL);
	expect_stats(t, 0, 8, 25, 1, 0, 0);
}

static void test_rename_rotation_order(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log"), *old = at(t, "mail.log.1");

	append(log, "a1\n");
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	append(log, "a2\n");
	read_n(t, 1);
	expect(t, "a2", NULL);

	/* No read between the rename and the new file: still old before new. */
	assert_int_equal(rename(log, old), 0);
	append(old, "a3\na4\n");
	append(log, "b1\n");
	read_n(t, 3);
	expect(t, "a3", "a4", "b1", NULL);
	expect_stats(t, 0, 4, 12, 1, 0, 0);

	/* A writer not told yet still writes to the old file: read for a while. */
	append(old, "a5\n");
	append(log, "b2\n");
	read_n(t, 2);
	expect(t, "a5", "b2", NULL);

	/* A second rotation: the first old file is no longer followed. */
	assert_int_equal(rename(old, at(t, "mail.log.2")), 0);
	assert_int_equal(rename(log, old), 0);
	append(log, "c1\n");
	append(old, "b3\n");
	read_n(t, 2);
	expect(t, "b3", "c1", NULL);
	expect_stats(t, 0, 8, 24, 2, 0, 0);
}

static void test_copytruncate(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");
	const char *tmp = at(t, "new");

	append(log, "one\ntwo\nthree\n");
	assert_int_equal(sg_follow_add(t->f, log, 1), 0);
	read_n(t, 3);
	expect(t, "one", "two", "three", NULL);

	/* copytruncate: same inode, shorter than what was read. */
	assert_int_equal(truncate(log, 0), 0);
	read_n(t, 0);
	append(log, "four\n");
	read_n(t, 1);
	expect(t, "four", NULL);
	expect_stats(t, 0, 4, 19, 0, 1, 0);

	/* Truncated and rewritten before a read; a partial line is delivered first. */
	append(log, "fi");
	read_n(t, 0);
	write_to(log, O_TRUNC, "six\n", 4);
	read_n(t, 2);
	expect(t, "fi", "six", NULL);
	expect_stats(t, 0, 6, 25, 0, 2, 0);

	/* Replaced by a shorter file (another inode): from its start too. */
	append(tmp, "x\n");
	assert_int_equal(rename(tmp, log), 0);
	read_n(t, 1);
	expect(t, "x", NULL);
	expect_stats(t, 0, 7, 27, 1, 2, 0);
}

static void test_missing_at_add(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");

	/* Not there yet: read from its start once it is, even when following from the end. */
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	read_n(t, 0);
	read_n(t, 0);
	append(log, "first\nsecond\n");
	read_n(t, 2);
	expect(t, "first", "second", NULL);
	append(log, "third\n");
	read_n(t, 1);
	expect(t, "third", NULL);
	expect_stats(t, 0, 3, 19, 0, 0, 0);
}

static void test_delete_recreate(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");

	append(log, "a\n");
	assert_int_equal(sg_follow_add(t->f, log, 1), 0);
	read_n(t, 1);
	expect(t, "a", NULL);

	/* Deleted, a read while it is missing, created again. */
	append(log, "b\n");
	assert_int_equal(unlink(log), 0);
	read_n(t, 1);
	expect(t, "b", NULL);
	read_n(t, 0);
	append(log, "c\n");
	read_n(t, 1);
	expect(t, "c", NULL);
	expect_stats(t, 0, 3, 6, 1, 0, 0);

	/* Deleted and created again between two reads. */
	append(log, "d\n");
	assert_int_equal(unlink(log), 0);
	append(log, "e\n");
	read_n(t, 2);
	expect(t, "d", "e", NULL);
	expect_stats(t, 0, 5, 10, 2, 0, 0);
}

static char *repeat(char c, size_t n, const char *after)
{
	size_t alen = strlen(after);
	char *s = malloc(n + alen + 1);

	assert_non_null(s);
	memset(s, c, n);
	memcpy(s + n, after, alen + 1);
	return s;
}

static void test_long_line(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");
	char *exact = repeat('x', SG_MTA_LINE_MAX, "\n");
	char *over = repeat('y', 3 * SG_MTA_LINE_MAX, "\nshort\n");
	char *half = repeat('z', SG_MTA_LINE_MAX / 2 + 1, "");
	char *head = repeat('z', SG_MTA_LINE_MAX, "");
	char *more = repeat('w', SG_MTA_LINE_MAX + 100, "");
	char *whead = repeat('w', SG_MTA_LINE_MAX, "");
	size_t bytes;

	append(log, "");
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);

	/* SG_MTA_LINE_MAX bytes fit; more are cut there, the rest dropped. */
	append(log, exact);
	append(log, over);
	read_n(t, 3);
	assert_int_equal(t->got.n, 3);
	assert_int_equal(strlen(t->got.line[0]), SG_MTA_LINE_MAX);
	assert_memory_equal(t->got.line[0], exact, SG_MTA_LINE_MAX);
	assert_memory_equal(t->got.line[1], over, SG_MTA_LINE_MAX);
	assert_int_equal(strlen(t->got.line[1]), SG_MTA_LINE_MAX);
	assert_string_equal(t->got.line[2], "short");
	got_clear(&t->got);
	bytes = strlen(exact) + strlen(over);
	expect_stats(t, 0, 3, bytes, 0, 0, 1);

	/* SG_MTA_LINE_MAX bytes in two writes (through the partial line buffer): not cut. */
	append(log, half + 1);
	read_n(t, 0);
	append(log, half + 1);
	append(log, "\n");
	read_n(t, 1);
	assert_int_equal(t->got.n, 1);
	assert_string_equal(t->got.line[0], head);
	got_clear(&t->got);
	bytes += SG_MTA_LINE_MAX + 1;
	expect_stats(t, 0, 4, bytes, 0, 0, 1);

	/* Cut while it waits for its newline, written in two halves. */
	append(log, half);
	read_n(t, 0);
	append(log, half);
	read_n(t, 1);
	append(log, "rest\nafter\n");
	read_n(t, 1);
	assert_int_equal(t->got.n, 2);
	assert_string_equal(t->got.line[0], head);
	assert_string_equal(t->got.line[1], "after");
	got_clear(&t->got);
	bytes += 2 * strlen(half) + 11;
	expect_stats(t, 0, 6, bytes, 0, 0, 2);

	/* Longer than a line from the start, no newline yet: delivered once. */
	append(log, more);
	read_n(t, 1);
	append(log, more);
	read_n(t, 0);
	append(log, "w\nend\n");
	read_n(t, 1);
	assert_int_equal(t->got.n, 2);
	assert_string_equal(t->got.line[0], whead);
	assert_string_equal(t->got.line[1], "end");
	got_clear(&t->got);
	bytes += 2 * strlen(more) + 6;
	expect_stats(t, 0, 8, bytes, 0, 0, 3);

	free(exact);
	free(over);
	free(half);
	free(head);
	free(more);
	free(whead);
}

#define MANY 10000

static void write_many(const char *path, const char *fmt)
{
	size_t cap = MANY * 32, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	for (int i = 0; i < MANY; i++)
		len += snprintf(s + len, cap - len, fmt, i);
	write_to(path, O_APPEND, s, len);
	free(s);
}

/* A backlog larger than the budget: split across calls, no line lost or twice. */
static void test_budget(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");
	const size_t budget = 4096, total = MANY * 11;
	size_t last = 0;
	int calls = 0, n;
	char want[32];

	write_many(log, "line %05d\n");
	assert_int_equal(sg_follow_add(t->f, log, 1), 0);
	do {
		struct sg_follow_stats st;

		n = sg_follower_read(t->f, budget, collect, &t->got);
		assert_true(n >= 0);
		st = stats(t, 0);
		assert_true(st.bytes - last <= budget);
		last = st.bytes;
		calls++;
	} while (n > 0);
	assert_int_equal(last, total);
	assert_int_equal(calls, (total + budget - 1) / budget + 1);
	assert_int_equal(t->got.n, MANY);
	for (int i = 0; i < MANY; i++) {
		snprintf(want, sizeof(want), "line %05d", i);
		assert_string_equal(t->got.line[i], want);
	}
	expect_stats(t, 0, MANY, total, 0, 0, 0);
}

/* Two files' backlogs share the budget: each gets its part in every call. */
static void test_budget_fair(void **state)
{
	struct t *t = *state;
	const char *a = at(t, "a.log"), *b = at(t, "b.log");
	int next[2] = { 0, 0 }, calls = 0;
	char want[32];

	write_many(a, "a %07d\n");
	write_many(b, "b %07d\n");
	assert_int_equal(sg_follow_add(t->f, a, 1), 0);
	assert_int_equal(sg_follow_add(t->f, b, 1), 1);
	while (next[0] < MANY || next[1] < MANY) {
		__u64 before[2] = { stats(t, 0).bytes, stats(t, 1).bytes };

		assert_true(sg_follower_read(t->f, 1000, collect, &t->got) > 0);
		for (int k = 0; k < 2; k++) {
			__u64 d = stats(t, k).bytes - before[k];

			if (next[k] < MANY - 100)
				assert_int_equal(d, 500);
		}
		for (int i = 0; i < t->got.n; i++) {
			int k = t->got.idx[i];

			snprintf(want, sizeof(want), "%c %07d", 'a' + k, next[k]++);
			assert_string_equal(t->got.line[i], want);
		}
		got_clear(&t->got);
		assert_true(++calls <= 2 * MANY * 10 / 1000 + 2);
	}
	read_n(t, 0);
	expect_stats(t, 0, MANY, MANY * 10, 0, 0, 0);
	expect_stats(t, 1, MANY, MANY * 10, 0, 0, 0);
}

/* The inotify watches of this follower, from /proc. */
static int watches(struct t *t)
{
	char path[64], line[512];
	int n = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", sg_follower_fd(t->f));
	fp = fopen(path, "re");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		n += !strncmp(line, "inotify wd:", 11);
	fclose(fp);
	return n;
}

static void test_two_dirs(void **state)
{
	struct t *t = *state;
	char d1[128], d2[128], p1[160], p2[160], p3[160];

	snprintf(d1, sizeof(d1), "%s/postfix", t->dir);
	snprintf(d2, sizeof(d2), "%s/exim", t->dir);
	assert_int_equal(mkdir(d1, 0755), 0);
	assert_int_equal(mkdir(d2, 0755), 0);
	snprintf(p1, sizeof(p1), "%s/mail.log", d1);
	snprintf(p2, sizeof(p2), "%s/mainlog", d2);
	snprintf(p3, sizeof(p3), "%s/mail.err", d1);
	append(p1, "p-old\n");
	assert_int_equal(sg_follow_add(t->f, p1, 1), 0);
	assert_int_equal(sg_follow_add(t->f, p2, 0), 1); /* not there yet */
	assert_int_equal(sg_follow_add(t->f, p3, 0), 2);
	assert_int_equal(watches(t), 2); /* one per directory */

	append(p2, "e1\n");
	append(p1, "p1\n");
	append(p3, "x1\n");
	append(p2, "e2\n");
	read_n(t, 5);
	assert_int_equal(t->got.n, 5);
	for (int i = 0, seen[3] = { 0 }; i < t->got.n; i++) {
		static const char *const want[3][2] = {
			{ "p-old", "p1" },
			{ "e1", "e2" },
			{ "x1", NULL },
		};
		int k = t->got.idx[i];

		assert_true(k >= 0 && k < 3);
		assert_non_null(want[k][seen[k]]);
		assert_string_equal(t->got.line[i], want[k][seen[k]++]);
	}
	got_clear(&t->got);
	expect_stats(t, 0, 2, 9, 0, 0, 0);
	expect_stats(t, 1, 2, 6, 0, 0, 0);
	expect_stats(t, 2, 1, 3, 0, 0, 0);

	/* A rotation in one directory leaves the others alone. */
	assert_int_equal(rename(p2, at(t, "mainlog.1")), 0);
	append(p2, "e3\n");
	append(p1, "p2\n");
	read_n(t, 2);
	for (int i = 0; i < 2; i++)
		assert_string_equal(t->got.line[i], t->got.idx[i] == 0 ? "p2" : "e3");
	assert_int_not_equal(t->got.idx[0], t->got.idx[1]);
	got_clear(&t->got);
	expect_stats(t, 1, 3, 9, 1, 0, 0);
	expect_stats(t, 0, 3, 12, 0, 0, 0);
}

static int readable(struct t *t)
{
	struct pollfd p = { .fd = sg_follower_fd(t->f), .events = POLLIN };

	assert_true(poll(&p, 1, 0) >= 0);
	return !!(p.revents & POLLIN);
}

static void test_fd_readable(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "mail.log");

	append(log, "");
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	assert_true(sg_follower_fd(t->f) >= 0);
	assert_int_equal(fcntl(sg_follower_fd(t->f), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	read_n(t, 0);
	assert_false(readable(t));
	append(log, "x\n");
	assert_true(readable(t));
	read_n(t, 1); /* drains the events */
	expect(t, "x", NULL);
	assert_false(readable(t));

	/* A file created in the directory: readable too. */
	append(at(t, "other"), "");
	assert_true(readable(t));
	read_n(t, 0);
	assert_false(readable(t));
}

/* The directory removed and made again: watched again, the file read. */
static void test_dir_recreated(void **state)
{
	struct t *t = *state;
	char sub[128], log[160];

	snprintf(sub, sizeof(sub), "%s/sub", t->dir);
	snprintf(log, sizeof(log), "%s/mail.log", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	append(log, "a\n");
	assert_int_equal(sg_follow_add(t->f, log, 1), 0);
	read_n(t, 1);
	expect(t, "a", NULL);
	assert_int_equal(unlink(log), 0);
	assert_int_equal(rmdir(sub), 0);
	read_n(t, 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	read_n(t, 0);
	assert_int_equal(watches(t), 1);
	assert_false(readable(t));
	append(log, "b\n");
	assert_true(readable(t));
	read_n(t, 1);
	expect(t, "b", NULL);
	expect_stats(t, 0, 2, 4, 1, 0, 0);
}

/* A FIFO at the path: nothing blocks. */
static void test_fifo(void **state)
{
	struct t *t = *state;
	const char *log = at(t, "fifo");
	int w;

	assert_int_equal(mkfifo(log, 0600), 0);
	assert_int_equal(sg_follow_add(t->f, log, 0), 0);
	read_n(t, 0);
	w = open(log, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w >= 0);
	read_n(t, 0);
	assert_int_equal(write(w, "one\ntw", 6), 6);
	read_n(t, 1);
	expect(t, "one", NULL);
	assert_int_equal(write(w, "o\n", 2), 2);
	read_n(t, 1);
	expect(t, "two", NULL);
	close(w);
	read_n(t, 0);
	expect_stats(t, 0, 2, 8, 0, 0, 0);
}

static void test_errors(void **state)
{
	struct t *t = *state;
	struct sg_follow_stats st;
	char name[16];

	assert_int_equal(sg_follow_add(t->f, at(t, "nodir/mail.log"), 0), -ENOENT);
	assert_int_equal(sg_follow_add(t->f, at(t, "sub/"), 0), -EISDIR);
	assert_int_equal(sg_follow_add(t->f, "", 0), -EINVAL);
	assert_int_equal(mkdir(at(t, "sub"), 0755), 0);
	assert_int_equal(sg_follow_add(t->f, at(t, "sub"), 0), -EISDIR);
	for (int i = 0; i < SG_FOLLOW_MAX; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(sg_follow_add(t->f, at(t, name), 0), i);
	}
	assert_int_equal(sg_follow_add(t->f, at(t, "more"), 0), -ENOSPC);
	read_n(t, 0);
	memset(&st, 0xff, sizeof(st));
	sg_follower_stats(t->f, SG_FOLLOW_MAX, &st);
	assert_int_equal(st.lines + st.bytes + st.rotations + st.truncations + st.cut, 0);
	assert_int_equal(sg_follower_read(NULL, 0, collect, &t->got), -EINVAL);
	/* No callback: the lines are still counted. */
	append(at(t, "f3"), "a\nb\n");
	assert_int_equal(sg_follower_read(t->f, 0, NULL, NULL), 2);
	expect_stats(t, 3, 2, 4, 0, 0, 0);
	sg_follower_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_appends_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_at_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_rotation_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_at_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_recreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_fair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_readable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_recreated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
