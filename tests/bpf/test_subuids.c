// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's sub-UID writer (sg_subuids_apply) against a full LPM trie:
 * an sg_subuids of 8 entries pinned in a private bpffs, with its
 * sg_subuid_bits. A trie at max_entries answers ENOSPC; the range that
 * finds no room is taken out whole and counted full, and the ranges after
 * it are still loaded. Written again unchanged into the full trie, nothing
 * moves (some kernels refuse even to rewrite a key a full trie holds;
 * Debian's 6.1.170 does not). The bits name exactly the blocks of 65,536
 * UIDs the ranges kept touch, follow the ranges as they change, come back
 * from the trie alone (the load's rebuild), and are none of the writer's
 * business when no sg_subuid_bits is pinned (programs older than it).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "kern/maps.h"
#include "kern/state.h"
#include "kern/subuids.h"
#include "smtpguard.h"

#define TRIE_ENTRIES 8

static struct {
	char dir[64], bpffs[96], pin[160], bits_pin[160];
} fx;

#define BITS_BYTES (SG_SUBUID_BITS_WORDS * sizeof(__u64))

/*
 * Sorted by start, as the reader gives them. 2 + 1 + 3 + 2 prefixes fill the
 * trie exactly; the 65,536 from 300000 (Debian's size, not aligned) need 12
 * and find 6 places.
 */
static const struct sg_subid_range ranges[] = {
	{ .owner = 5001, .start = 200000, .count = 3, .line = 1 },
	{ .owner = 5002, .start = 300000, .count = 65536, .line = 2 },
	{ .owner = 5003, .start = 400000, .count = 1, .line = 3 },
	{ .owner = 5004, .start = 500001, .count = 5, .line = 4 },
	{ .owner = 5005, .start = 600000, .count = 3, .line = 5 },
};

#define N_RANGES (sizeof(ranges) / sizeof(ranges[0]))
#define FULL	 1 /* ranges[FULL] finds no room */

static int setup(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	char dir[128];
	int fd;

	strcpy(fx.dir, "/tmp/sg-subuids.XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.bpffs, sizeof(fx.bpffs), "%s/bpffs", fx.dir);
	if (mkdir(fx.bpffs, 0700) || mount("bpf", fx.bpffs, "bpf", 0, NULL)) {
		fprintf(stderr, "cannot mount a private bpffs at %s: %s\n", fx.bpffs,
			strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/smtpguard", fx.bpffs);
	if (mkdir(dir, 0700))
		return -1;
	setenv("SMTPGUARD_PIN_DIR", dir, 1);
	snprintf(fx.pin, sizeof(fx.pin), "%s/%s", dir, SG_MAP_SUBUIDS);
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, SG_MAP_SUBUIDS, sizeof(struct sg_subuid_key),
			    sizeof(__u32), TRIE_ENTRIES, &opts);
	if (fd < 0 || bpf_obj_pin(fd, fx.pin)) {
		fprintf(stderr, "cannot make %s: %s\n", fx.pin, strerror(errno));
		return -1;
	}
	close(fd);
	/* As the programs declare it (bpf/common.bpf.h). */
	snprintf(fx.bits_pin, sizeof(fx.bits_pin), "%s/%s", dir, SG_MAP_SUBUID_BITS);
	opts.map_flags = BPF_F_MMAPABLE;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, SG_MAP_SUBUID_BITS, sizeof(__u32), sizeof(__u64),
			    SG_SUBUID_BITS_WORDS, &opts);
	if (fd < 0 || bpf_obj_pin(fd, fx.bits_pin)) {
		fprintf(stderr, "cannot make %s: %s\n", fx.bits_pin, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	char dir[128];

	if (fx.pin[0])
		unlink(fx.pin);
	if (fx.bits_pin[0])
		unlink(fx.bits_pin);
	if (fx.bpffs[0]) {
		snprintf(dir, sizeof(dir), "%s/smtpguard", fx.bpffs);
		rmdir(dir);
		umount(fx.bpffs);
		rmdir(fx.bpffs);
	}
	if (fx.dir[0])
		rmdir(fx.dir);
	return 0;
}

static int prefixes(const struct sg_subid_range *r)
{
	struct sg_subuid_key keys[SG_SUBID_MAX_PREFIXES];

	return sg_subid_prefixes(r->start, r->count, keys);
}

/* The pinned sg_subuid_bits, mapped; munmap(BITS_BYTES) when done. */
static __u64 *bits_map(void)
{
	__u64 *words;

	assert_int_equal(sg_pin_mmap(SG_MAP_SUBUID_BITS, BITS_BYTES, (void **)&words), 0);
	assert_non_null(words);
	return words;
}

/*
 * The bits are exactly these (word, value) pairs, every other word 0. A
 * block is uid >> 16: UID 200000 is in block 3, the bit 1 << 3 of word 0.
 */
static void expect_bits(const __u64 (*want)[2], size_t n)
{
	__u64 *words = bits_map();
	size_t i, j;

	for (i = 0; i < SG_SUBUID_BITS_WORDS; i++) {
		for (j = 0; j < n && want[j][0] != i; j++)
			;
		assert_int_equal(words[i], j < n ? want[j][1] : 0);
	}
	munmap(words, BITS_BYTES);
}

/* The blocks of ranges but the full one: 200000 (3), 400000 (6), 500001 (7), 600000 (9). */
static const __u64 kept_bits[][2] = { { 0, 1 << 3 | 1 << 6 | 1 << 7 | 1 << 9 } };

/* All of ranges, through the daemon's writer; its outcomes and what it kept must be exact. */
static void apply_all(void)
{
	struct sg_subid_range kept[N_RANGES];
	struct sg_subid_set set = { .ranges = kept, .n = N_RANGES, .cap = N_RANGES };
	size_t i;

	memcpy(kept, ranges, sizeof(kept));
	set.outcomes[SG_SUBID_LOADED] = N_RANGES;
	assert_int_equal(sg_subuids_apply(&set), 0);
	assert_int_equal(set.outcomes[SG_SUBID_LOADED], N_RANGES - 1);
	assert_int_equal(set.outcomes[SG_SUBID_FULL], 1);
	assert_int_equal(set.n, N_RANGES - 1);
	for (i = 0; i < set.n; i++)
		assert_int_equal(set.ranges[i].line, ranges[i < FULL ? i : i + 1].line);
}

/* The trie holds every kept range's prefixes, each naming its owner, and none of the full one's. */
static void expect_trie(void)
{
	int fd = sg_pin_open(SG_MAP_SUBUIDS);
	const struct sg_subid_range *r;
	size_t i;

	assert_true(fd >= 0);
	assert_int_equal(sg_map_count(fd), TRIE_ENTRIES);
	for (i = 0; i < N_RANGES; i++) {
		r = &ranges[i];
		if (i == FULL) {
			assert_int_equal(sg_subuids_owner(fd, r->start), r->start);
			assert_int_equal(sg_subuids_owner(fd, r->start + 4242), r->start + 4242);
			assert_int_equal(sg_subuids_owner(fd, r->start + r->count - 1),
					 r->start + r->count - 1);
			continue;
		}
		assert_int_equal(sg_subuids_owner(fd, r->start), r->owner);
		assert_int_equal(sg_subuids_owner(fd, r->start + r->count - 1), r->owner);
		assert_int_equal(sg_subuids_owner(fd, r->start + r->count), r->start + r->count);
	}
	close(fd);
}

static void test_full_trie(void **state)
{
	int fd = sg_pin_open(SG_MAP_SUBUIDS), need = 0;
	struct sg_subuid_key k = { .prefixlen = 32, .uid = 1 };
	__u32 owner = 1;
	size_t i;

	/* The figures the test rests on: the others fill the trie, the full one needs more. */
	for (i = 0; i < N_RANGES; i++)
		need += i == FULL ? 0 : prefixes(&ranges[i]);
	assert_int_equal(need, TRIE_ENTRIES);
	assert_int_equal(prefixes(&ranges[FULL]), 12);

	apply_all();
	expect_trie();
	/* Not the full range's blocks 4 and 5: asked for before the puts, cleared after. */
	expect_bits(kept_bits, 1);
	/* Full indeed: the kernel's answer, which the writer must take for no room. */
	assert_true(fd >= 0);
	assert_int_not_equal(bpf_map_update_elem(fd, &k, &owner, BPF_ANY), 0);
	assert_int_equal(errno, ENOSPC);
	close(fd);

	/* Again, unchanged: the same outcomes, the same entries. */
	apply_all();
	expect_trie();
	expect_bits(kept_bits, 1);
}

/* Through the daemon's writer: exactly n of rs, every one loaded. */
static void apply(const struct sg_subid_range *rs, size_t n)
{
	struct sg_subid_range kept[N_RANGES];
	struct sg_subid_set set = { .ranges = kept, .n = n, .cap = N_RANGES };

	memcpy(kept, rs, n * sizeof(*rs));
	set.outcomes[SG_SUBID_LOADED] = n;
	assert_int_equal(sg_subuids_apply(&set), 0);
	assert_int_equal(set.outcomes[SG_SUBID_LOADED], n);
	assert_int_equal(set.n, n);
}

/*
 * A range removed clears its block's bit, unless another range shares the
 * block; one added sets its blocks', however far up or wide.
 */
static void test_bits_follow_ranges(void **state)
{
	/* 7 prefixes in all: room in the trie of 8. */
	static const struct sg_subid_range changed[] = {
		{ .owner = 5001, .start = 200000, .count = 3, .line = 1 },
		{ .owner = 5006, .start = 262143, .count = 2, .line = 2 }, /* blocks 3 and 4 */
		{ .owner = 5005, .start = 600000, .count = 3, .line = 3 },
		{ .owner = 5007, .start = 4294901760U, .count = 1, .line = 4 }, /* block 65535 */
	};
	static const __u64 changed_bits[][2] = {
		{ 0, 1 << 3 | 1 << 4 | 1 << 9 },
		{ SG_SUBUID_BITS_WORDS - 1, 1ULL << 63 },
	};
	static const __u64 first_bits[][2] = { { 0, 1 << 3 } };
	int fd;

	apply_all();
	expect_bits(kept_bits, 1);
	apply(changed, 4);
	expect_bits(changed_bits, 2);
	fd = sg_pin_open(SG_MAP_SUBUIDS);
	assert_true(fd >= 0);
	assert_int_equal(sg_subuids_owner(fd, 262144), 5006);
	assert_int_equal(sg_subuids_owner(fd, 4294901760U), 5007);
	assert_int_equal(sg_subuids_owner(fd, 400000), 400000);
	close(fd);
	apply(changed, 1);
	expect_bits(first_bits, 1);
	apply(changed, 0);
	expect_bits(NULL, 0);
}

/*
 * The load's rebuild: bits lost (pins of a build older than them) come
 * back from the trie alone, and bits already right stay as they are.
 */
static void test_bits_rebuilt(void **state)
{
	__u64 *words;

	apply_all();
	words = bits_map();
	memset(words, 0, BITS_BYTES);
	munmap(words, BITS_BYTES);
	expect_bits(NULL, 0);
	assert_int_equal(sg_subuid_bits_rebuild(), 0);
	expect_bits(kept_bits, 1);
	assert_int_equal(sg_subuid_bits_rebuild(), 0);
	expect_bits(kept_bits, 1);
}

/* Under programs older than the bits, the writer and the rebuild keep the trie alone. */
static void test_no_bits_pinned(void **state)
{
	assert_int_equal(unlink(fx.bits_pin), 0);
	fx.bits_pin[0] = '\0';
	assert_int_equal(sg_subuid_bits_rebuild(), 0);
	apply_all();
	expect_trie();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_trie),
		cmocka_unit_test(test_bits_follow_ranges),
		cmocka_unit_test(test_bits_rebuilt),
		cmocka_unit_test(test_no_bits_pinned),
	};

	return cmocka_run_group_tests_name("subuids_full", tests, setup, teardown);
}
