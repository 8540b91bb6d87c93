// SPDX-License-Identifier: GPL-2.0
/*
 * The journal of a containment and its release (mail/containlog.h): a
 * crash after each step, as the state file then holds it (written out
 * and read back), resumes with exactly the steps left and keeps exactly
 * what each undo needs; a release begun mid-containment undoes what was
 * done; failed steps back off; and pruning drops only released entries.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail/containlog.h"

#define NOW 1000000

/* A containment's intent: one IP to ban, a table line, two messages to hold. */
static json_t *intent(void)
{
	json_t *e = json_pack("{s:I, s:s, s:s, s:[ss], s:[ss], s:[], s:[s], s:I, s:s, s:s, s:s}",
			      "since", (json_int_t)NOW, "rule", "rate", "mta", "postfix", "held",
			      "4F2A81C0D2", "4F2A81C0D3", "to_hold", "4F2A81C0D2", "4F2A81C0D3",
			      "bans", "to_ban", "198.51.100.7", "ban_for_s", (json_int_t)3600,
			      "key", "info@example.com", "table", "smtpguard_sasl_access", "value",
			      "HOLD smtpguard: sasl:info@example.com contained (rate)");

	assert_non_null(e);
	sg_clog_begin(e);
	return e;
}

/* What a crash leaves: the entry as last written to the state file, read back. */
static json_t *crash(json_t *e)
{
	char *text = json_dumps(e, JSON_SORT_KEYS);
	json_t *back;

	assert_non_null(text);
	back = json_loads(text, 0, NULL);
	assert_non_null(back);
	free(text);
	json_decref(e);
	return back;
}

/* The step s done as contain.c does it: a ban step moves what it banned to bans. */
static void done(json_t *e, enum sg_contain_step s)
{
	if (s == SG_STEP_BAN)
		json_array_extend(json_object_get(e, "bans"), json_object_get(e, "to_ban"));
	sg_clog_done(e, s);
}

/* The next n steps left done, in order; every one left when n is negative. */
static void run_steps(json_t *e, int n)
{
	for (; n && sg_clog_next(e) >= 0; n--)
		done(e, (enum sg_contain_step)sg_clog_next(e));
}

static void expect_list(const json_t *e, const char *key, const char *want)
{
	char *got =
		json_dumps(json_object_get(e, key) ?: json_null(), JSON_COMPACT | JSON_ENCODE_ANY);

	assert_string_equal(got, want);
	free(got);
}

/* The intent names every step; a plan with nothing to ban or key has fewer. */
static void test_begin(void **state)
{
	json_t *e = intent();

	expect_list(e, "todo", "[\"ban\",\"table\",\"hold\"]");
	assert_int_equal(sg_clog_next(e), SG_STEP_BAN);
	/* Never tried: due at once, whoever reads it (the daemon at start). */
	assert_int_equal(sg_clog_due(e), 1);
	json_object_del(e, "key");
	json_object_set_new(e, "to_ban", json_array());
	sg_clog_begin(e);
	expect_list(e, "todo", "[\"hold\"]");
	json_object_set_new(e, "to_hold", json_array());
	sg_clog_begin(e);
	expect_list(e, "todo", "null");
	assert_int_equal(sg_clog_due(e), 0);
	json_decref(e);
}

/* A crash after each containment step: the steps left are exactly the rest, in order. */
static void test_contain_crash(void **state)
{
	static const char *const left[] = { "[\"ban\",\"table\",\"hold\"]", "[\"table\",\"hold\"]",
					    "[\"hold\"]", "null" };
	static const char *const bans[] = { "[]", "[\"198.51.100.7\"]", "[\"198.51.100.7\"]",
					    "[\"198.51.100.7\"]" };
	json_t *e;
	int k;

	for (k = 0; k <= 3; k++) {
		e = intent();
		run_steps(e, k);
		e = crash(e);
		expect_list(e, "todo", left[k]);
		expect_list(e, "bans", bans[k]);
		/* What is held stays named for the release, whatever is left to do. */
		expect_list(e, "held", "[\"4F2A81C0D2\",\"4F2A81C0D3\"]");
		expect_list(e, "to_hold", k < 3 ? "[\"4F2A81C0D2\",\"4F2A81C0D3\"]" : "null");
		expect_list(e, "value",
			    k < 2 ? "\"HOLD smtpguard: sasl:info@example.com "
				    "contained (rate)\""
				  : "null");
		assert_int_equal(sg_clog_due(e), k < 3 ? 1 : 0);
		/* Resumed: the rest run to the end. */
		run_steps(e, -1);
		expect_list(e, "bans", "[\"198.51.100.7\"]");
		expect_list(e, "todo", "null");
		json_decref(e);
	}
}

/*
 * Released after a crash after each containment step: the release undoes
 * the line (written or not), lets go every message named, lifts only the
 * bans put; the containment's own steps left are dropped.
 */
static void test_release_mid_contain(void **state)
{
	static const char *const want[] = {
		"[\"release_table\",\"release_hold\"]",
		"[\"release_table\",\"release_hold\",\"unban\"]",
		"[\"release_table\",\"release_hold\",\"unban\"]",
		"[\"release_table\",\"release_hold\",\"unban\"]",
	};
	json_t *e;
	int k;

	for (k = 0; k <= 3; k++) {
		e = intent();
		run_steps(e, k);
		e = crash(e);
		assert_int_equal(sg_clog_release(e, NOW + 60), 0);
		expect_list(e, "todo", want[k]);
		expect_list(e, "to_ban", "null");
		expect_list(e, "to_hold", "null");
		assert_int_equal(json_integer_value(json_object_get(e, "released")), NOW + 60);
		json_decref(e);
	}
}

/*
 * A crash after each release step: the undo lists are kept until their
 * own step is done; a release asked again carries on (-EALREADY) and
 * keeps its time; once all is done, it is released (-ENOENT).
 */
static void test_release_crash(void **state)
{
	static const char *const left[] = { "[\"release_table\",\"release_hold\",\"unban\"]",
					    "[\"release_hold\",\"unban\"]", "[\"unban\"]", "null" };
	json_t *e;
	int k;

	for (k = 0; k <= 3; k++) {
		e = intent();
		run_steps(e, -1);
		assert_int_equal(sg_clog_release(e, NOW + 60), 0);
		run_steps(e, k);
		e = crash(e);
		expect_list(e, "todo", left[k]);
		expect_list(e, "held", k < 2 ? "[\"4F2A81C0D2\",\"4F2A81C0D3\"]" : "[]");
		expect_list(e, "bans", k < 3 ? "[\"198.51.100.7\"]" : "[]");
		/* The line's key stays: explain and the audit name it. */
		expect_list(e, "key", "\"info@example.com\"");
		assert_int_equal(sg_clog_release(e, NOW + 120), k < 3 ? -EALREADY : -ENOENT);
		expect_list(e, "todo", left[k]);
		assert_int_equal(json_integer_value(json_object_get(e, "released")), NOW + 60);
		json_decref(e);
	}
}

/* A failed step stays, first in line, put off 2 s, then 4, 8... up to 600; done clears it all. */
static void test_backoff(void **state)
{
	static const time_t waits[] = { 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600 };
	json_t *e = intent();
	size_t i;

	done(e, SG_STEP_BAN);
	done(e, SG_STEP_TABLE);
	assert_int_equal(sg_clog_release(e, NOW), 0);
	done(e, SG_STEP_UNTABLE);
	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		sg_clog_failed(e, SG_STEP_UNHOLD, "postsuper: fatal: chdir(/x): No such file", NOW);
		assert_int_equal(json_integer_value(json_object_get(e, "tries")), i + 1);
		assert_int_equal(sg_clog_due(e), NOW + waits[i]);
	}
	expect_list(e, "todo", "[\"release_hold\",\"unban\"]");
	expect_list(e, "error", "\"release_hold: postsuper: fatal: chdir(/x): No such file\"");
	/* A failure of a step run alone (a later hold) puts it back in its place. */
	sg_clog_failed(e, SG_STEP_UNBAN, "sg_bans: No such file", NOW);
	expect_list(e, "todo", "[\"release_hold\",\"unban\"]");
	done(e, SG_STEP_UNHOLD);
	assert_int_equal(sg_clog_due(e), NOW + 600);
	done(e, SG_STEP_UNBAN);
	expect_list(e, "todo", "null");
	assert_null(json_object_get(e, "tries"));
	assert_null(json_object_get(e, "retry_at"));
	assert_null(json_object_get(e, "error"));
	assert_int_equal(sg_clog_due(e), 0);
	json_decref(e);
}

/* The state's next due is its earliest entry's; none when nothing is left. */
static void test_state_due(void **state)
{
	json_t *s = json_object(), *a = intent(), *b = intent();

	assert_int_equal(sg_clog_state_due(s), 0);
	sg_clog_failed(a, SG_STEP_BAN, "x", NOW);
	json_object_set_new(s, "sasl:a", a);
	assert_int_equal(sg_clog_state_due(s), NOW + 2);
	sg_clog_failed(b, SG_STEP_BAN, "x", NOW - 1);
	json_object_set_new(s, "sasl:b", b);
	assert_int_equal(sg_clog_state_due(s), NOW + 1);
	while (sg_clog_next(a) >= 0)
		done(a, (enum sg_contain_step)sg_clog_next(a));
	while (sg_clog_next(b) >= 0)
		done(b, (enum sg_contain_step)sg_clog_next(b));
	assert_int_equal(sg_clog_state_due(s), 0);
	json_decref(s);
}

static void add(json_t *s, const char *id, json_int_t released, int pending)
{
	json_t *e = intent();

	run_steps(e, -1);
	if (released)
		assert_int_equal(sg_clog_release(e, (time_t)released), 0);
	if (released && !pending)
		run_steps(e, -1);
	json_object_set_new(s, id, e);
}

/*
 * Past keep: released and done entries dropped; over max: the oldest
 * released first; never a contained one nor a release left undone, even
 * when those alone are over max.
 */
static void test_prune(void **state)
{
	__u64 pruned[SG_PRUNED_KINDS] = {};
	json_t *s = json_object();
	const char *id;
	json_t *e;
	char got[256] = "";

	add(s, "sasl:active", 0, 0);
	add(s, "sasl:undone", NOW - 90 * 86400, 1);
	add(s, "sasl:old", NOW - 31 * 86400, 0);
	add(s, "sasl:r1", NOW - 300, 0);
	add(s, "sasl:r2", NOW - 200, 0);
	add(s, "sasl:r3", NOW - 100, 0);
	assert_int_equal(sg_clog_prune(s, NOW, 30 * 86400, 3, pruned), 3);
	assert_int_equal(pruned[SG_PRUNED_AGE], 1);
	assert_int_equal(pruned[SG_PRUNED_CAP], 2);
	json_object_foreach(s, id, e)
	{
		strcat(got, id);
		strcat(got, " ");
	}
	assert_string_equal(got, "sasl:active sasl:undone sasl:r3 ");
	/* Then only a contained one and an undone release, over max: kept. */
	assert_int_equal(sg_clog_prune(s, NOW, 30 * 86400, 1, pruned), 1);
	assert_int_equal(sg_clog_prune(s, NOW, 30 * 86400, 1, pruned), 0);
	assert_int_equal(json_object_size(s), 2);
	assert_int_equal(pruned[SG_PRUNED_CAP], 3);
	json_decref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_begin),
		cmocka_unit_test(test_contain_crash),
		cmocka_unit_test(test_release_mid_contain),
		cmocka_unit_test(test_release_crash),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_state_due),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
