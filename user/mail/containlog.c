// SPDX-License-Identifier: GPL-2.0
/* The journal of a containment and of its release; see containlog.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mail/containlog.h"

const char *const sg_contain_step_names[SG_CONTAIN_STEPS] = {
	[SG_STEP_BAN] = "ban",
	[SG_STEP_TABLE] = "table",
	[SG_STEP_HOLD] = "hold",
	[SG_STEP_UNTABLE] = "release_table",
	[SG_STEP_UNHOLD] = "release_hold",
	[SG_STEP_UNBAN] = "unban",
};

const char *const sg_clog_pruned_names[SG_PRUNED_KINDS] = {
	[SG_PRUNED_AGE] = "age",
	[SG_PRUNED_CAP] = "cap",
};

int sg_clog_step(const char *name)
{
	int s;

	for (s = 0; name && s < SG_CONTAIN_STEPS; s++)
		if (!strcmp(name, sg_contain_step_names[s]))
			return s;
	return -1;
}

int sg_clog_pending(const json_t *e, enum sg_contain_step s)
{
	json_t *todo = json_object_get(e, "todo"), *v;
	size_t i;

	json_array_foreach(todo, i, v) if (sg_clog_step(json_string_value(v)) == (int)s) return 1;
	return 0;
}

/* Into its place in the order of the steps, so that resuming runs them as the first run would. */
void sg_clog_add(json_t *e, enum sg_contain_step s)
{
	json_t *todo = json_object_get(e, "todo");
	size_t i;

	if (!json_is_array(todo)) {
		todo = json_array();
		json_object_set_new(e, "todo", todo);
	}
	if (sg_clog_pending(e, s))
		return;
	for (i = 0; i < json_array_size(todo); i++)
		if (sg_clog_step(json_string_value(json_array_get(todo, i))) > (int)s)
			break;
	json_array_insert_new(todo, i, json_string(sg_contain_step_names[s]));
}

static int named(const json_t *e, const char *list)
{
	return json_array_size(json_object_get(e, list)) > 0;
}

static void retry_clear(json_t *e)
{
	json_object_del(e, "tries");
	json_object_del(e, "retry_at");
	json_object_del(e, "error");
}

void sg_clog_begin(json_t *e)
{
	json_object_set_new(e, "todo", json_array());
	if (named(e, "to_ban"))
		sg_clog_add(e, SG_STEP_BAN);
	if (json_object_get(e, "key"))
		sg_clog_add(e, SG_STEP_TABLE);
	if (named(e, "to_hold"))
		sg_clog_add(e, SG_STEP_HOLD);
	if (!json_array_size(json_object_get(e, "todo")))
		json_object_del(e, "todo");
}

int sg_clog_release(json_t *e, time_t now)
{
	if (json_object_get(e, "released"))
		return sg_clog_next(e) >= 0 ? -EALREADY : -ENOENT;
	json_object_set_new(e, "released", json_integer((json_int_t)now));
	json_object_set_new(e, "todo", json_array());
	retry_clear(e);
	json_object_del(e, "to_ban");
	json_object_del(e, "to_hold");
	json_object_del(e, "value");
	/* An earlier version's envelope senders have lines to remove too. */
	if (json_object_get(e, "key") || named(e, "senders"))
		sg_clog_add(e, SG_STEP_UNTABLE);
	if (named(e, "held"))
		sg_clog_add(e, SG_STEP_UNHOLD);
	if (named(e, "bans"))
		sg_clog_add(e, SG_STEP_UNBAN);
	if (!json_array_size(json_object_get(e, "todo")))
		json_object_del(e, "todo");
	return 0;
}

int sg_clog_next(const json_t *e)
{
	json_t *todo = json_object_get(e, "todo");

	return json_array_size(todo) ? sg_clog_step(json_string_value(json_array_get(todo, 0)))
				     : -1;
}

void sg_clog_done(json_t *e, enum sg_contain_step s)
{
	static const char *const cleared[SG_CONTAIN_STEPS] = {
		[SG_STEP_BAN] = "to_ban",   [SG_STEP_TABLE] = "value",
		[SG_STEP_HOLD] = "to_hold", [SG_STEP_UNTABLE] = "senders",
		[SG_STEP_UNHOLD] = "held",  [SG_STEP_UNBAN] = "bans",
	};
	json_t *todo = json_object_get(e, "todo");
	size_t i;

	for (i = 0; i < json_array_size(todo); i++)
		if (sg_clog_step(json_string_value(json_array_get(todo, i))) == (int)s)
			json_array_remove(todo, i--);
	/* A release's lists stay, empty, as the state has always shown them. */
	if (s == SG_STEP_UNHOLD || s == SG_STEP_UNBAN)
		json_object_set_new(e, cleared[s], json_array());
	else
		json_object_del(e, cleared[s]);
	if (!json_array_size(todo)) {
		json_object_del(e, "todo");
		retry_clear(e);
	}
}

void sg_clog_failed(json_t *e, enum sg_contain_step s, const char *why, time_t now)
{
	json_int_t tries = json_integer_value(json_object_get(e, "tries")) + 1;
	time_t wait = SG_CLOG_RETRY_MIN;
	json_int_t i;

	for (i = 1; i < tries && wait < SG_CLOG_RETRY_MAX; i++)
		wait *= 2;
	if (wait > SG_CLOG_RETRY_MAX)
		wait = SG_CLOG_RETRY_MAX;
	sg_clog_add(e, s);
	json_object_set_new(e, "tries", json_integer(tries));
	json_object_set_new(e, "retry_at", json_integer((json_int_t)(now + wait)));
	json_object_set_new(e, "error", json_pack("s++", sg_contain_step_names[s], ": ", why));
}

time_t sg_clog_due(const json_t *e)
{
	json_t *at = json_object_get(e, "retry_at");

	if (sg_clog_next(e) < 0)
		return 0;
	return at && json_integer_value(at) > 1 ? (time_t)json_integer_value(at) : 1;
}

time_t sg_clog_state_due(const json_t *state)
{
	const char *id;
	json_t *e;
	time_t due = 0, t;

	json_object_foreach((json_t *)state, id, e)
	{
		t = sg_clog_due(e);
		if (t && (!due || t < due))
			due = t;
	}
	return due;
}

struct released {
	const char *id;
	json_int_t at;
};

static int older(const void *a, const void *b)
{
	const struct released *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at ? 1 : strcmp(x->id, y->id);
}

size_t sg_clog_prune(json_t *state, time_t now, time_t keep_s, size_t max,
		     __u64 pruned[SG_PRUNED_KINDS])
{
	size_t n = 0, i, over, dropped = 0;
	struct released *v;
	const char *id;
	void *tmp;
	json_t *e;

	v = calloc(json_object_size(state) + 1, sizeof(*v));
	if (!v)
		return 0;
	json_object_foreach_safe(state, tmp, id, e)
	{
		if (!json_object_get(e, "released") || sg_clog_next(e) >= 0)
			continue;
		if (json_integer_value(json_object_get(e, "released")) + keep_s < now) {
			json_object_del(state, id);
			pruned[SG_PRUNED_AGE]++;
			dropped++;
			continue;
		}
		v[n++] =
			(struct released){ id, json_integer_value(json_object_get(e, "released")) };
	}
	over = json_object_size(state) > max ? json_object_size(state) - max : 0;
	if (over > n)
		over = n;
	qsort(v, n, sizeof(*v), older);
	/* Deleting frees the key v[i].id points to: each is read before its own deletion only. */
	for (i = 0; i < over; i++)
		json_object_del(state, v[i].id);
	pruned[SG_PRUNED_CAP] += over;
	free(v);
	return dropped + over;
}
