// SPDX-License-Identifier: GPL-2.0
/*
 * Walking the kernel's maps (sg_map_for_each) as the daemon and status do:
 * every entry exactly once, across batches, for each kind of map smtpguard
 * pins. The LPM trie's batch token is a whole key: a walk over more than
 * one batch of bans once overran an 8-byte token and stopped after the
 * first 256.
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

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[i] = (struct CMUnitTest){ .name = cases[i].name,
						.test_func = run_case,
						.initial_state = (void *)&cases[i] };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
