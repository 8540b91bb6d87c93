// SPDX-License-Identifier: GPL-2.0
/* status and top: read the pinned maps, hand rows to render.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/ask.h"
#include "host/attrib.h"
#include "core/baseline.h"
#include "cli/cli.h"
#include "kern/collect.h"
#include "core/config.h"
#include "kern/maps.h"
#include "util/render.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "core/decide.h"

/*
 * Each map adds rows of its own for a (uid, no_socket); one sort then folds
 * the rows of a UID together, so a box with thousands of accounts and tens
 * of thousands of flows costs n log n, not n squared.
 */
struct top {
	struct sg_top_row *rows;
	size_t n, cap;
	__u64 now;
};

static struct sg_top_row *top_add(struct top *t, __u32 uid, int no_socket)
{
	struct sg_top_row *r;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;

		r = realloc(t->rows, cap * sizeof(*r));
		if (!r)
			return NULL;
		t->rows = r;
		t->cap = cap;
	}
	r = &t->rows[t->n++];
	memset(r, 0, sizeof(*r));
	r->uid = uid;
	r->no_socket = no_socket;
	return r;
}

static int by_owner(const void *a, const void *b)
{
	const struct sg_top_row *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->no_socket - y->no_socket;
}

static void top_fold(struct top *t)
{
	size_t i, out = 0;

	qsort(t->rows, t->n, sizeof(t->rows[0]), by_owner);
	for (i = 0; i < t->n; i++) {
		struct sg_top_row *r = &t->rows[i], *o = out ? &t->rows[out - 1] : NULL;

		if (!o || by_owner(o, r)) {
			t->rows[out++] = *r;
			continue;
		}
		o->attempts += r->attempts;
		o->allowed += r->allowed;
		o->denied += r->denied;
		o->egress_syns += r->egress_syns;
		if (r->has_policy) {
			o->has_policy = 1;
			o->policy = r->policy;
		}
	}
	t->n = out;
}

static int top_stats(const void *key, const void *value, void *ctx)
{
	const struct sg_uid_stats *st = value;
	struct sg_top_row *r = top_add(ctx, *(const __u32 *)key, 0);

	if (!r)
		return -ENOMEM;
	r->attempts = st->attempts;
	r->allowed = st->allowed;
	r->denied = st->denied;
	return 0;
}

static int top_egress(const void *key, const void *value, void *ctx)
{
	const struct sg_flow_key *k = key;
	struct sg_top_row *r = top_add(ctx, k->uid, !!(k->flags & SG_FLOW_NO_SOCKET));

	if (!r)
		return -ENOMEM;
	r->egress_syns = ((const struct sg_egress *)value)->syns;
	return 0;
}

static int top_policy(const void *key, const void *value, void *ctx)
{
	const struct sg_policy *p = value;
	struct top *t = ctx;
	struct sg_top_row *r;

	if (!sg_policy_in_force(p, t->now))
		return 0;
	r = top_add(t, *(const __u32 *)key, 0);
	if (!r)
		return -ENOMEM;
	r->has_policy = 1;
	r->policy = *p;
	return 0;
}

static void name_users(struct top *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!t->rows[i].no_socket &&
		    sg_user_name(t->rows[i].uid, t->rows[i].user, sizeof(t->rows[i].user)))
			t->rows[i].user[0] = 0;
}

static int collect_top(struct top *t)
{
	int err;

	t->n = 0;
	t->now = sg_boot_ns();
	err = sg_pin_walk(SG_MAP_UID_STATS, top_stats, t);
	if (!err)
		err = sg_pin_walk(SG_MAP_EGRESS, top_egress, t);
	if (!err)
		err = sg_pin_walk(SG_MAP_POLICIES, top_policy, t);
	if (err)
		return err;
	top_fold(t);
	name_users(t);
	sg_top_sort(t->rows, t->n);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* --- top --accounts: the daemon's busiest mail principals ----------------- */

#define PRINCIPAL_COLUMN_MAX 48

static double field(const json_t *row, const char *key)
{
	return json_number_value(json_object_get(row, key));
}

static void accounts_print(FILE *f, const json_t *rows)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], share[16];
	int width = (int)strlen("PRINCIPAL"), w;
	const json_t *r;
	size_t i;

	json_array_foreach(rows, i, r)
	{
		w = (int)strlen(sg_printable(
			json_string_value(json_object_get(r, "principal")) ?: "?", id, sizeof(id)));
		if (w > width)
			width = w < PRINCIPAL_COLUMN_MAX ? w : PRINCIPAL_COLUMN_MAX;
	}
	fprintf(f, "%-*s %-5s %8s %6s %8s %8s %6s %11s %6s %10s  %s\n", width, "PRINCIPAL", "KIND",
		"MSGS", "1M", "RCPTS", "BOUNCED", "SHARE", "DOMAINS_10M", "IPS_1H", "BOUNCES_IN",
		"CONTAINED");
	json_array_foreach(rows, i, r)
	{
		snprintf(share, sizeof(share), "%.0f%%", 100 * field(r, "bounce_share"));
		/* An account's name comes from the mail server's logs, so from its clients. */
		sg_printable(json_string_value(json_object_get(r, "principal")) ?: "?", id,
			     sizeof(id));
		fprintf(f, "%-*s %-5s %8.0f %6.0f %8.0f %8.0f %6s %11.0f %6.0f %10.0f  %s\n", width,
			id, json_string_value(json_object_get(r, "kind")) ?: "?",
			field(r, "messages"), field(r, "last_1m"), field(r, "recipients"),
			field(r, "bounced"), share, field(r, "domains_10m"),
			field(r, "client_ips_1h"), field(r, "bounces_in"),
			json_is_true(json_object_get(r, "contained")) ? "yes" : "no");
	}
	if (!json_array_size(rows))
		fprintf(f, "(no mail account active in the last hour)\n");
}

/* Only the daemon knows the mail accounts: no daemon, no view. */
static int top_accounts(__u32 limit, int json, __u32 watch)
{
	char path[64], why[512];
	struct sg_config *c;
	json_t *rows;
	int err = 0;

	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	if (limit)
		snprintf(path, sizeof(path), "/accounts?n=%u", limit);
	else
		snprintf(path, sizeof(path), "/accounts");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		rows = sg_ask_daemon(c, path, why, sizeof(why));
		if (!json_is_array(rows)) {
			if (rows)
				snprintf(why, sizeof(why), "%s: not a list of accounts", path);
			json_decref(rows);
			err = -EPROTO;
			break;
		}
		while (limit && json_array_size(rows) > limit)
			json_array_remove(rows, json_array_size(rows) - 1);
		if (json) {
			err = sg_json_print(stdout, rows);
			json_decref(rows);
			free(c);
			return err ? sg_fail("writing: %s", strerror(-err)) : SG_EXIT_OK;
		}
		if (watch)
			printf("\033[H\033[2J");
		accounts_print(stdout, rows);
		fflush(stdout);
		json_decref(rows);
	} while (watch && !sleep(watch) && !stop);
	free(c);
	return err ? sg_fail("the mail accounts are the daemon's view, and it cannot be asked: %s",
			     why)
		   : SG_EXIT_OK;
}

struct top_opts {
	int json, accounts;
	__u32 limit, watch; /* 0: not given */
};

static const struct sg_option top_options[] = {
	{ "json", 'j', SG_FLAG(struct top_opts, json) },
	{ NULL, 'n', SG_COUNT(struct top_opts, limit), .label = "-n", .max = 1000000 },
	{ "watch", 'w', SG_COUNT(struct top_opts, watch), .max = 3600 },
	{ "accounts", 0, SG_FLAG(struct top_opts, accounts) },
	{},
};

/* The mail accounts are the daemon's: --accounts needs no attach, nor root. */
static int prepare_top(const struct sg_command *cmd, void *opts, char **args, int n_args,
		       unsigned *needs)
{
	struct top_opts *o = opts;

	if (o->json && o->watch)
		return sg_usage_error(cmd, "--watch is for the terminal, not --json");
	if (!o->limit && !o->json)
		o->limit = 20;
	if (o->accounts)
		*needs = 0;
	return 0;
}

/* A user failing closed is in no row: said above the table, as status says it. */
static int top_fail_closed(FILE *f)
{
	struct sg_status *st = malloc(sizeof(*st));
	int err = st ? sg_status_collect(st, 0) : -ENOMEM;

	if (!err && sg_fail_closed_print(f, st))
		fputc('\n', f);
	free(st);
	return err;
}

static int run_top(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct top_opts *o = opts;
	struct top t = {};
	json_t *out;
	int err = 0;

	if (o->accounts)
		return top_accounts(o->limit, o->json, o->watch);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		err = collect_top(&t);
		if (err)
			break;
		if (o->limit && t.n > o->limit)
			t.n = o->limit;
		if (o->json) {
			out = sg_top_json(t.rows, t.n, t.now);
			err = sg_json_print(stdout, out);
			json_decref(out);
			break;
		}
		if (o->watch)
			printf("\033[H\033[2J");
		err = top_fail_closed(stdout);
		if (err)
			break;
		sg_top_print(stdout, t.rows, t.n, t.now);
		fflush(stdout);
	} while (o->watch && !sleep(o->watch) && !stop);
	free(t.rows);
	return err ? sg_fail("reading %s: %s", sg_pin_dir(), strerror(-err)) : SG_EXIT_OK;
}

struct status_opts {
	int json;
};

static const struct sg_option status_options[] = {
	{ "json", 'j', SG_FLAG(struct status_opts, json) },
	{},
};

/*
 * The fleet's link as the daemon has it (/fleet), when [crowdsec] url is
 * set; NULL otherwise. A daemon that cannot be asked is said in "error".
 */
static json_t *fleet_status(void)
{
	struct sg_config *c = malloc(sizeof(*c));
	char why[256] = "not a JSON object";
	json_t *f = NULL;

	if (!c)
		return NULL;
	sg_config_cli(c);
	if (*c->crowdsec.url) {
		f = sg_ask_daemon(c, "/fleet", why, sizeof(why));
		if (!json_is_object(f)) {
			json_decref(f);
			f = json_pack("{s:b, s:s, s:s}", "configured", 0, "url", c->crowdsec.url,
				      "error", why);
		} else if (!json_is_true(json_object_get(f, "configured"))) {
			json_object_set_new(f, "url", json_string(c->crowdsec.url));
		}
	}
	free(c);
	return f;
}

/* "fleet: URL: last pull TIME (N s ago), N decisions in force (ip N, range N, account N)". */
static void fleet_print(FILE *out, const json_t *f)
{
	const json_t *active = json_object_get(f, "active");
	const char *url = json_string_value(json_object_get(f, "url")),
		   *error = json_string_value(json_object_get(f, "error"));
	time_t last = (time_t)json_integer_value(json_object_get(f, "last_pull"));
	json_int_t ip = json_integer_value(json_object_get(active, "ip")),
		   range = json_integer_value(json_object_get(active, "range")),
		   account = json_integer_value(json_object_get(active, "account"));
	char when[64] = "never";

	if (!json_is_true(json_object_get(f, "configured"))) {
		if (error)
			fprintf(out, "fleet: %s: cannot ask the daemon: %s\n", url, error);
		else
			fprintf(out, "fleet: %s: the daemon runs without it (reloaded since?)\n",
				url);
		return;
	}
	if (last)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&last));
	fprintf(out, "fleet: %s: last pull %s", url, when);
	if (last)
		fprintf(out, " (%lld s ago)", (long long)(time(NULL) - last));
	fprintf(out, ", %lld decision%s in force (ip %lld, range %lld, account %lld)",
		(long long)(ip + range + account), ip + range + account == 1 ? "" : "s",
		(long long)ip, (long long)range, (long long)account);
	if (json_is_true(json_object_get(f, "failing")))
		fprintf(out, "; failing: %s", error);
	fputc('\n', out);
}

static int run_status(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	int json = ((const struct status_opts *)opts)->json, err;
	struct sg_status *st;
	json_t *out, *fleet;

	st = malloc(sizeof(*st));
	if (!st)
		return sg_fail("%s", strerror(ENOMEM));
	err = sg_status_collect(st, 0);
	fleet = err ? NULL : fleet_status();
	if (!err && json) {
		out = sg_status_json(st);
		if (fleet)
			json_object_set(out, "fleet", fleet);
		err = sg_json_print(stdout, out);
		json_decref(out);
	} else if (!err) {
		sg_status_print(stdout, st);
		if (fleet)
			fleet_print(stdout, fleet);
	}
	json_decref(fleet);
	free(st);
	return err ? sg_fail("reading %s: %s", sg_pin_dir(), strerror(-err)) : SG_EXIT_OK;
}

const struct sg_command sg_cmd_status = {
	.name = "status",
	.summary = "what is attached where, policies, ports, map fill, errors",
	.usage = "usage: smtpguard status [--json]\n",
	.options = status_options,
	.opts_size = sizeof(struct status_opts),
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.run = run_status,
};

const struct sg_command sg_cmd_top = {
	.name = "top",
	.summary = "per-user SMTP connection counters, or mail accounts, busiest first",
	.usage = "usage: smtpguard top [--accounts] [--json] [-n N] [--watch SECONDS]\n"
		 "  One row per UID: connect() attempts to SMTP ports, allowed, denied, SYNs\n"
		 "  seen leaving by TC egress, and the UID's policy. Egress traffic with no\n"
		 "  owning socket is shown as '(no socket)' under the overflow UID.\n"
		 "  Users refused for want of room for a bucket, or left uncounted, are\n"
		 "  in no row: a FAIL CLOSED or FULL line above the table says so.\n"
		 "  --accounts: one row per mail account (SASL login or local sender) the\n"
		 "  running daemon has seen in the mail server's logs in the last hour, by\n"
		 "  messages: total messages, messages in the last minute, recipients,\n"
		 "  bounced, the share of its deliveries in 10 min that bounced, recipient\n"
		 "  domains in 10 min, client IPs in 1 h, bounces into its mailbox, and\n"
		 "  whether it is contained. Asked of the daemon's exporter: fails without it.\n"
		 "  -n N: at most N rows (default 20; all with --json).\n"
		 "  --watch SECONDS: redraw every SECONDS until interrupted.\n",
	.options = top_options,
	.opts_size = sizeof(struct top_opts),
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.prepare = prepare_top,
	.run = run_top,
};
