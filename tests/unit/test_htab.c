// SPDX-License-Identifier: GPL-2.0
/* The hash table: scripted adds, finds and deletes with exact answers; growth, wrap-around, bounds.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/htab.h"

#define KEY_MAX 8

struct str_entry {
	char key[KEY_MAX];
	int value;
};

struct u32_entry {
	__u32 key;
	__u32 value;
};

/* END first: the steps a script leaves out are zero. */
enum op { END, ADD, FIND, DELETE, CLEAR };

/* One step and its exact answer: ADD's and DELETE's return, FIND's 1 (found) or 0. */
struct step {
	enum op op;
	const char *key;
	int expect;
};

static const struct {
	const char *name;
	size_t max;
	struct step steps[12];
	size_t count;
	__u64 refused;
} scripts[] = {
	{ "add then find",
	  0,
	  { { ADD, "a", 1 }, { ADD, "b", 1 }, { ADD, "a", 0 }, { FIND, "a", 1 }, { FIND, "c", 0 } },
	  2,
	  0 },
	{ "delete",
	  0,
	  { { ADD, "a", 1 },
	    { ADD, "b", 1 },
	    { DELETE, "a", 0 },
	    { DELETE, "a", -ENOENT },
	    { FIND, "a", 0 },
	    { FIND, "b", 1 },
	    { ADD, "a", 1 } },
	  2,
	  0 },
	{ "bound reached",
	  2,
	  { { ADD, "a", 1 },
	    { ADD, "b", 1 },
	    { ADD, "c", -ENOSPC },
	    { ADD, "a", 0 },
	    { FIND, "c", 0 },
	    { DELETE, "a", 0 },
	    { ADD, "c", 1 },
	    { ADD, "d", -ENOSPC } },
	  2,
	  2 },
	{ "string keys whole",
	  0,
	  { { ADD, "ab", 1 }, { FIND, "abc", 0 }, { FIND, "a", 0 }, { FIND, "ab", 1 } },
	  1,
	  0 },
	{ "string key too long",
	  0,
	  { { ADD, "1234567", 1 },
	    { ADD, "12345678", -ENAMETOOLONG },
	    { FIND, "12345678", 0 },
	    { DELETE, "12345678", -ENOENT } },
	  1,
	  0 },
	{ "clear",
	  0,
	  { { ADD, "a", 1 },
	    { ADD, "b", 1 },
	    { CLEAR, NULL, 0 },
	    { FIND, "a", 0 },
	    { ADD, "b", 1 } },
	  1,
	  0 },
};

static void test_scripts(void **state)
{
	struct str_entry *e;
	size_t i, k;

	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		struct sg_htab *h =
			sg_htab_new(SG_HTAB_STRING, KEY_MAX, sizeof(*e), 0, scripts[i].max);

		print_message("%s\n", scripts[i].name);
		assert_non_null(h);
		for (k = 0; k < 12 && scripts[i].steps[k].op != END; k++) {
			const struct step *s = &scripts[i].steps[k];

			switch (s->op) {
			case ADD:
				assert_int_equal(sg_htab_add(h, s->key, (void **)&e), s->expect);
				if (s->expect >= 0)
					assert_string_equal(e->key, s->key);
				break;
			case FIND:
				e = sg_htab_find(h, s->key);
				assert_int_equal(e != NULL, s->expect);
				if (e)
					assert_string_equal(e->key, s->key);
				break;
			case DELETE:
				assert_int_equal(sg_htab_delete(h, s->key), s->expect);
				break;
			case CLEAR:
				sg_htab_clear(h);
				break;
			case END:
				break;
			}
		}
		assert_int_equal(sg_htab_count(h), scripts[i].count);
		assert_int_equal(sg_htab_refused(h), scripts[i].refused);
		sg_htab_free(h);
	}
}

/* A new entry is zero but for its key, and what is written in it is there when found again. */
static void test_entries_hold_values(void **state)
{
	struct sg_htab *h =
		sg_htab_new(SG_HTAB_BYTES, sizeof(__u32), sizeof(struct u32_entry), 4, 0);
	struct u32_entry *e;
	__u32 k = 1001;

	assert_int_equal(sg_htab_add(h, &k, (void **)&e), 1);
	assert_int_equal(e->key, 1001);
	assert_int_equal(e->value, 0);
	e->value = 77;
	e = sg_htab_find(h, &k);
	assert_non_null(e);
	assert_int_equal(e->value, 77);
	sg_htab_free(h);
}

/* From room for none to 10,000 entries: every one found with its value, iterated once. */
static void test_grow_and_iterate(void **state)
{
	static unsigned char seen[10000];
	struct sg_htab *h =
		sg_htab_new(SG_HTAB_BYTES, sizeof(__u32), sizeof(struct u32_entry), 0, 0);
	struct u32_entry *e;
	size_t pos = 0, n = 0;
	__u32 k;

	assert_non_null(h);
	for (k = 0; k < 10000; k++) {
		assert_int_equal(sg_htab_add(h, &k, (void **)&e), 1);
		e->value = k * 3;
	}
	assert_int_equal(sg_htab_count(h), 10000);
	for (k = 0; k < 10000; k++) {
		e = sg_htab_find(h, &k);
		assert_non_null(e);
		assert_int_equal(e->value, k * 3);
	}
	while ((e = sg_htab_next(h, &pos))) {
		assert_true(e->key < 10000);
		assert_int_equal(seen[e->key], 0);
		seen[e->key] = 1;
		n++;
	}
	assert_int_equal(n, 10000);
	/* Half of them gone: the rest are still found past the holes. */
	for (k = 0; k < 10000; k += 2)
		assert_int_equal(sg_htab_delete(h, &k), 0);
	for (k = 0; k < 10000; k++)
		assert_int_equal(sg_htab_find(h, &k) != NULL, k % 2);
	assert_int_equal(sg_htab_count(h), 5000);
	sg_htab_free(h);
}

/* Bytes malloc has handed out and not had back. */
static size_t allocated(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/*
 * 10,000 entries (the UIDs of a big host) fill 16,384 slots: a tag and an
 * entry each, and at most a page of malloc's own for each of the two
 * arrays; half full, they took 32,768.
 */
static void test_ten_thousand_in_16k_slots(void **state)
{
	size_t before = allocated(), slots = 16384, used;
	struct sg_htab *h =
		sg_htab_new(SG_HTAB_BYTES, sizeof(__u32), sizeof(struct u32_entry), 0, 0);
	struct u32_entry *e;
	__u32 k;

	assert_non_null(h);
	for (k = 0; k < 10000; k++)
		assert_int_equal(sg_htab_add(h, &k, (void **)&e), 1);
	used = allocated() - before;
	assert_in_range(used, slots * (sizeof(__u32) + sizeof(*e)),
			slots * (sizeof(__u32) + sizeof(*e)) + 2 * 4096);
	sg_htab_free(h);
}

/* The slot a key goes to in an empty table of 8 slots (room for 6), as iteration shows it. */
static size_t home(__u32 key)
{
	struct sg_htab *h = sg_htab_new(SG_HTAB_BYTES, sizeof(key), sizeof(struct u32_entry), 4, 4);
	size_t pos = 0;
	void *e;

	assert_int_equal(sg_htab_add(h, &key, &e), 1);
	assert_non_null(sg_htab_next(h, &pos));
	sg_htab_free(h);
	return pos - 1;
}

/* The keys of the table in slot order, as "k@slot" words. */
static void layout(const struct sg_htab *h, char *buf, size_t len)
{
	const struct u32_entry *e;
	size_t pos = 0, at = 0;

	buf[0] = '\0';
	while ((e = sg_htab_next(h, &pos)))
		at += snprintf(buf + at, len - at, "%s%u@%zu", at ? " " : "", e->key, pos - 1);
}

/*
 * A and B both at home in the last slot, B wrapping to slot 0, and C at
 * home in slot 0 pushed to 1. Deleting A must bring B back to the last
 * slot and C to its home, across the end of the table.
 */
static void test_delete_across_the_end(void **state)
{
	__u32 last[2], first = 0, k;
	size_t n_last = 0, found_first = 0;
	struct sg_htab *h;
	char want[64], got[64];
	void *e;

	for (k = 1; n_last < 2 || !found_first; k++) {
		if (home(k) == 7 && n_last < 2)
			last[n_last++] = k;
		else if (home(k) == 0 && !found_first)
			first = k, found_first = 1;
	}
	h = sg_htab_new(SG_HTAB_BYTES, sizeof(k), sizeof(struct u32_entry), 4, 4);
	assert_int_equal(sg_htab_add(h, &last[0], &e), 1);
	assert_int_equal(sg_htab_add(h, &last[1], &e), 1);
	assert_int_equal(sg_htab_add(h, &first, &e), 1);
	snprintf(want, sizeof(want), "%u@0 %u@1 %u@7", last[1], first, last[0]);
	layout(h, got, sizeof(got));
	assert_string_equal(got, want);

	assert_int_equal(sg_htab_delete(h, &last[0]), 0);
	snprintf(want, sizeof(want), "%u@0 %u@7", first, last[1]);
	layout(h, got, sizeof(got));
	assert_string_equal(got, want);
	assert_non_null(sg_htab_find(h, &last[1]));
	assert_non_null(sg_htab_find(h, &first));

	/* C at home stays where it is when B goes. */
	assert_int_equal(sg_htab_delete(h, &last[1]), 0);
	snprintf(want, sizeof(want), "%u@0", first);
	layout(h, got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(sg_htab_count(h), 1);
	sg_htab_free(h);
}

/* The sample near a key: in probe order from its home, wrapping, never more than there are. */
static void test_near(void **state)
{
	__u32 keys[3] = { 0 }, k;
	size_t n = 0, i;
	struct sg_htab *h;
	void *e, *out[8];

	for (k = 1; n < 3; k++)
		if (home(k) == 6 - n)
			keys[n++] = k;
	/* At home in slots 6, 5, 4: from 6, probe order is 6, then 4 and 5 after the wrap. */
	h = sg_htab_new(SG_HTAB_BYTES, sizeof(k), sizeof(struct u32_entry), 4, 4);
	assert_int_equal(sg_htab_near(h, &keys[0], out, 8), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(sg_htab_add(h, &keys[i], &e), 1);
	assert_int_equal(sg_htab_near(h, &keys[0], out, 8), 3);
	assert_ptr_equal(out[0], sg_htab_find(h, &keys[0]));
	assert_ptr_equal(out[1], sg_htab_find(h, &keys[2]));
	assert_ptr_equal(out[2], sg_htab_find(h, &keys[1]));
	assert_int_equal(sg_htab_near(h, &keys[0], out, 1), 1);
	assert_ptr_equal(out[0], sg_htab_find(h, &keys[0]));
	sg_htab_free(h);
}

struct ref_entry {
	const char *key;
	int value;
};

/* Keys kept by the caller: compared as strings, through growth and deletes. */
static void test_string_ref(void **state)
{
	static char owned[1000][16];
	struct sg_htab *h = sg_htab_new(SG_HTAB_STRING_REF, 16, sizeof(struct ref_entry), 0, 0);
	struct ref_entry *e;
	char key[16];
	int i;

	assert_non_null(h);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "id-%d", i);
		assert_int_equal(sg_htab_add(h, key, (void **)&e), 1);
		assert_ptr_equal(e->key, key);
		strcpy(owned[i], key);
		e->key = owned[i];
		e->value = i;
	}
	memset(key, 0, sizeof(key));
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "id-%d", i);
		e = sg_htab_find(h, key);
		assert_non_null(e);
		assert_ptr_equal(e->key, owned[i]);
		assert_int_equal(e->value, i);
		assert_int_equal(sg_htab_add(h, key, (void **)&e), 0);
	}
	assert_null(sg_htab_find(h, "id-"));
	assert_null(sg_htab_find(h, "id-10000"));
	assert_int_equal(sg_htab_add(h, "0123456789abcdef", (void **)&e), -ENAMETOOLONG);
	assert_int_equal(sg_htab_delete(h, "id-5"), 0);
	assert_null(sg_htab_find(h, "id-5"));
	assert_int_equal(((struct ref_entry *)sg_htab_find(h, "id-6"))->value, 6);
	assert_int_equal(sg_htab_count(h), 999);
	sg_htab_free(h);
	/* A long key, but an entry that holds only its pointer. */
	h = sg_htab_new(SG_HTAB_STRING_REF, 4096, sizeof(char *), 0, 0);
	assert_non_null(h);
	sg_htab_free(h);
	errno = 0;
	assert_null(sg_htab_new(SG_HTAB_STRING_REF, 4096, sizeof(char *) - 1, 0, 0));
	assert_int_equal(errno, EINVAL);
}

static void test_bad_sizes(void **state)
{
	static const struct {
		const char *name;
		size_t key_size, entry_size, min, max;
	} cases[] = {
		{ "no key", 0, 8, 0, 0 },
		{ "key larger than the entry", 16, 8, 0, 0 },
		{ "room beyond the bound", 4, 8, 10, 5 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].name);
		errno = 0;
		assert_null(sg_htab_new(SG_HTAB_BYTES, cases[i].key_size, cases[i].entry_size,
					cases[i].min, cases[i].max));
		assert_int_equal(errno, EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_entries_hold_values),
		cmocka_unit_test(test_grow_and_iterate),
		cmocka_unit_test(test_ten_thousand_in_16k_slots),
		cmocka_unit_test(test_delete_across_the_end),
		cmocka_unit_test(test_near),
		cmocka_unit_test(test_string_ref),
		cmocka_unit_test(test_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
