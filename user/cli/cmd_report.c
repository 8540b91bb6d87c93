// SPDX-License-Identifier: GPL-2.0
/* status and top: read the pinned maps, hand rows to render.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ask.h"
#include "host/attrib.h"
#include "core/baseline.h"
#include "cli/cli.h"
#include "kern/collect.h"
#include "core/config.h"
#include "kern/maps.h"
#include "util/parse.h"
#include "util/render.h"
#include "smtpguard.h"
#include "kern/state.h"

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

	if (p->expires_ns && p->expires_ns <= t->now)
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
	char id[SG_PRINCIPAL_MAX * 4], share[16];
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

static int run_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "accounts", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct top t = {};
	__u32 limit = 0, watch = 0;
	int json = 0, accounts = 0, c, err = 0;
	const char *why;
	json_t *out;

	while ((c = getopt_long(argc, argv, "jn:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'a':
			accounts = 1;
			break;
		case 'n':
			if (sg_parse_count(optarg, 1000000, &limit, &why))
				return sg_usage_error(&sg_cmd_top, "bad -n '%s': %s", optarg, why);
			break;
		case 'w':
			if (sg_parse_count(optarg, 3600, &watch, &why))
				return sg_usage_error(&sg_cmd_top, "bad --watch '%s': %s", optarg,
						      why);
			break;
		case 'h':
			fputs(sg_cmd_top.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_top, argv);
		}
	}
	if (optind < argc)
		return sg_usage_error(&sg_cmd_top, "unexpected argument '%s'", argv[optind]);
	if (json && watch)
		return sg_usage_error(&sg_cmd_top, "--watch is for the terminal, not --json");
	if (!limit && !json)
		limit = 20;
	if (accounts)
		return top_accounts(limit, json, watch);
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		err = collect_top(&t);
		if (err)
			break;
		if (limit && t.n > limit)
			t.n = limit;
		if (json) {
			out = sg_top_json(t.rows, t.n, t.now);
			err = sg_json_print(stdout, out);
			json_decref(out);
			break;
		}
		if (watch)
			printf("\033[H\033[2J");
		sg_top_print(stdout, t.rows, t.n, t.now);
		fflush(stdout);
	} while (watch && !sleep(watch) && !stop);
	free(t.rows);
	return err ? sg_fail("reading %s: %s", sg_pin_dir(), strerror(-err)) : SG_EXIT_OK;
}

static int run_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct sg_status *st;
	int json = 0, c, err;
	json_t *out;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(sg_cmd_status.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_status, argv);
		}
	}
	if (optind < argc)
		return sg_usage_error(&sg_cmd_status, "unexpected argument '%s'", argv[optind]);
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;

	st = malloc(sizeof(*st));
	if (!st)
		return sg_fail("%s", strerror(ENOMEM));
	err = sg_status_collect(st);
	if (!err && json) {
		out = sg_status_json(st);
		err = sg_json_print(stdout, out);
		json_decref(out);
	} else if (!err) {
		sg_status_print(stdout, st);
	}
	free(st);
	return err ? sg_fail("reading %s: %s", sg_pin_dir(), strerror(-err)) : SG_EXIT_OK;
}

const struct sg_command sg_cmd_status = {
	.name = "status",
	.summary = "what is attached where, policies, ports, map fill, errors",
	.usage = "usage: smtpguard status [--json]\n",
	.run = run_status,
};

const struct sg_command sg_cmd_top = {
	.name = "top",
	.summary = "per-user SMTP connection counters, or mail accounts, busiest first",
	.usage = "usage: smtpguard top [--accounts] [--json] [-n N] [--watch SECONDS]\n"
		 "  One row per UID: connect() attempts to SMTP ports, allowed, denied, SYNs\n"
		 "  seen leaving by TC egress, and the UID's policy. Egress traffic with no\n"
		 "  owning socket is shown as '(no socket)' under the overflow UID.\n"
		 "  --accounts: one row per mail account (SASL login or local sender) the\n"
		 "  running daemon has seen in the mail server's logs in the last hour, by\n"
		 "  messages: total messages, messages in the last minute, recipients,\n"
		 "  bounced, the share of its deliveries in 10 min that bounced, recipient\n"
		 "  domains in 10 min, client IPs in 1 h, bounces into its mailbox, and\n"
		 "  whether it is contained. Asked of the daemon's exporter: fails without it.\n"
		 "  -n N: at most N rows (default 20; all with --json).\n"
		 "  --watch SECONDS: redraw every SECONDS until interrupted.\n",
	.run = run_top,
};
