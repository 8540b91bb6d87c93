// SPDX-License-Identifier: GPL-2.0
/*
 * Walking the kernel's maps (sg_map_for_each) as the daemon and status do:
 * every entry exactly once, across batches, for each kind of map smtpguard
 * pins. The LPM trie's batch token is a whole key: a walk over more than
 * one batch of bans once overran an 8-byte token and stopped after the
 * first 256.
 *
 * And a walk spread over calls (sg_map_walk_some), as the daemon's sweep
 * does a share a tick: every entry exactly once a pass, whatever is removed
 * behind the cursor; and a pass whose next key someone else removed is
 * told as lost, never visited twice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern/maps.h"
#include "smtpguard.h"

struct walk_case {
	const char *name;
	enum bpf_map_type type;
	__u32 key_size, value_size, flags;
	__u32 entries;	   /* put in the map; more than one batch of 256 */
	__u32 max_entries; /* an LRU evicts before it is full: room to spare */
};

static const struct walk_case cases[] = {
	{ "lpm trie (sg_bans)", BPF_MAP_TYPE_LPM_TRIE, sizeof(struct sg_ban_key),
	  sizeof(struct sg_ban), BPF_F_NO_PREALLOC, 1000, 1000 },
	{ "hash", BPF_MAP_TYPE_HASH, sizeof(struct sg_addr), sizeof(__u64), 0, 1000, 1000 },
	{ "lru hash", BPF_MAP_TYPE_LRU_HASH, sizeof(struct sg_addr), sizeof(__u64), 0, 1000,
	  16384 },
	{ "per-cpu hash", BPF_MAP_TYPE_PERCPU_HASH, sizeof(__u32), sizeof(__u64), 0, 1000, 1000 },
};

struct tally {
	const struct walk_case *c;
	__u32 seen;
	__u64 key_sum; /* of each entry's index, to catch an entry visited twice or lost */
};

/* Entry i's key: the index sits in the key's last 32 bits, the prefix length covers it all. */
static void make_key(const struct walk_case *c, __u32 i, void *key)
{
	memset(key, 0, c->key_size);
	if (c->type == BPF_MAP_TYPE_LPM_TRIE)
		((struct sg_ban_key *)key)->prefixlen = 128;
	memcpy((char *)key + c->key_size - sizeof(i), &i, sizeof(i));
}

static int count_entry(const void *key, const void *value, void *ctx)
{
	struct tally *t = ctx;
	__u32 i;

	memcpy(&i, (const char *)key + t->c->key_size - sizeof(i), sizeof(i));
	t->seen++;
	t->key_sum += i;
	return 0;
}

static void run_case(void **state)
{
	const struct walk_case *c = *state;
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = c->flags);
	int ncpus = libbpf_num_possible_cpus();
	char key[64], value[4096] = { 0 };
	struct tally t = { .c = c };
	__u32 i;
	int fd;

	assert_true(ncpus > 0 && (size_t)ncpus * 8 <= sizeof(value));
	fd = bpf_map_create(c->type, NULL, c->key_size, c->value_size, c->max_entries, &opts);
	assert_true(fd >= 0);
	for (i = 0; i < c->entries; i++) {
		make_key(c, i, key);
		assert_int_equal(bpf_map_update_elem(fd, key, value, BPF_NOEXIST), 0);
	}
	assert_int_equal(sg_map_for_each(fd, count_entry, &t), 0);
	assert_int_equal(t.seen, c->entries);
	assert_int_equal(t.key_sum, (__u64)c->entries * (c->entries - 1) / 2);
	assert_int_equal(sg_map_count(fd), c->entries);
	close(fd);
}

/* c's map with its entries, each value zero. */
static int make_map(const struct walk_case *c)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = c->flags);
	char key[64], value[4096] = { 0 };
	int fd = bpf_map_create(c->type, NULL, c->key_size, c->value_size, c->max_entries, &opts);
	__u32 i;

	assert_true(fd >= 0);
	for (i = 0; i < c->entries; i++) {
		make_key(c, i, key);
		assert_int_equal(bpf_map_update_elem(fd, key, value, BPF_NOEXIST), 0);
	}
	return fd;
}

/* Keys visited in one call, to remove once it returns, as the sweep does. */
struct visited {
	struct tally t;
	char keys[100][64];
	__u32 n;
};

static int note_visit(const void *key, const void *value, void *ctx)
{
	struct visited *v = ctx;

	memcpy(v->keys[v->n++], key, v->t.c->key_size);
	return count_entry(key, value, &v->t);
}

/*
 * Steps of 100: every entry once, the last step says the pass is done; with
 * remove set, each step's entries are removed as the sweep does, the one
 * the cursor resumes after once the next step has gone past it (the map
 * is empty at the end).
 */
static void walk_in_steps(const struct walk_case *c, int remove)
{
	struct sg_cursor cur = { 0 };
	struct visited v = { .t = { .c = c } };
	int fd = make_map(c), rc = 0, held = 0;
	char held_key[64];
	__u32 calls = 0, i;

	assert_int_equal(c->entries % 100, 0);
	while (rc != 1 && calls <= c->entries / 100 + 1) {
		v.n = 0;
		rc = sg_map_walk_some(fd, &cur, 100, note_visit, &v);
		calls++;
		assert_true(rc == 0 || rc == 1);
		assert_true(v.n > 0 || rc == 1); /* a trie finds its end a call later */
		if (held)
			assert_int_equal(bpf_map_delete_elem(fd, held_key), 0);
		held = 0;
		for (i = 0; remove && i < v.n; i++) {
			if (sg_cursor_after(&cur, v.keys[i], c->key_size)) {
				memcpy(held_key, v.keys[i], c->key_size);
				held = 1;
			} else {
				assert_int_equal(bpf_map_delete_elem(fd, v.keys[i]), 0);
			}
		}
	}
	assert_int_equal(rc, 1);
	assert_false(held);
	assert_int_equal(v.t.seen, c->entries);
	assert_int_equal(v.t.key_sum, (__u64)c->entries * (c->entries - 1) / 2);
	assert_int_equal(sg_map_count(fd), remove ? 0 : c->entries);
	close(fd);
}

static void walk_steps(void **state)
{
	walk_in_steps(*state, 0);
}

static void walk_steps_removing(void **state)
{
	walk_in_steps(*state, 1);
}

/*
 * Someone else removes the key the cursor resumes after (a trie's): the
 * pass is told lost, and the next is whole. A hash's cursor is a bucket,
 * which no removal loses.
 */
static void walk_lost(void **state)
{
	const struct walk_case *c = *state;
	struct sg_cursor cur = { 0 };
	struct visited v = { .t = { .c = c } };
	int fd = make_map(c), rc;

	assert_int_equal(sg_map_walk_some(fd, &cur, 100, note_visit, &v), 0);
	assert_int_equal(bpf_map_delete_elem(fd, v.keys[v.n - 1]), 0);
	assert_int_equal(sg_cursor_after(&cur, v.keys[v.n - 1], c->key_size),
			 c->type == BPF_MAP_TYPE_LPM_TRIE);
	if (c->type == BPF_MAP_TYPE_LPM_TRIE) {
		assert_int_equal(sg_map_walk_some(fd, &cur, 100, note_visit, &v), SG_WALK_LOST);
		v.t = (struct tally){ .c = c };
	}
	do {
		v.n = 0;
		rc = sg_map_walk_some(fd, &cur, 100, note_visit, &v);
	} while (rc == 0);
	assert_int_equal(rc, 1);
	assert_int_equal(v.t.seen, c->type == BPF_MAP_TYPE_LPM_TRIE ? c->entries - 1 : c->entries);
	close(fd);
}

int main(void)
{
	static void (*const runs[])(void **) = { run_case, walk_steps, walk_steps_removing,
						 walk_lost };
	static const char *const names[] = { "for each", "in steps", "in steps, removing",
					     "cursor's key removed" };
	enum { CASES = sizeof(cases) / sizeof(cases[0]), RUNS = sizeof(runs) / sizeof(runs[0]) };
	static char name[CASES * RUNS][96];
	struct CMUnitTest tests[CASES * RUNS];
	size_t i, j;

	for (i = 0; i < CASES; i++)
		for (j = 0; j < RUNS; j++) {
			snprintf(name[i * RUNS + j], sizeof(name[0]), "%s: %s", cases[i].name,
				 names[j]);
			tests[i * RUNS + j] = (struct CMUnitTest){
				.name = name[i * RUNS + j],
				.test_func = runs[j],
				.initial_state = (void *)&cases[i],
			};
		}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
