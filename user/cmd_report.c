// SPDX-License-Identifier: GPL-2.0
/* status and top: read the pinned maps, hand rows to render.c. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "maps.h"
#include "netns.h"
#include "parse.h"
#include "render.h"
#include "smtpguard.h"
#include "state.h"

static int map_walk(const char *map, sg_entry_fn fn, void *ctx)
{
	int fd = sg_pin_open(map), err;

	if (fd < 0)
		return fd;
	err = sg_map_for_each(fd, fn, ctx);
	close(fd);
	return err;
}

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
	struct passwd pw, *res;
	char buf[4096];
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->rows[i].no_socket)
			continue;
		res = NULL;
		getpwuid_r(t->rows[i].uid, &pw, buf, sizeof(buf), &res);
		if (res)
			snprintf(t->rows[i].user, sizeof(t->rows[i].user), "%s", res->pw_name);
	}
}

static int collect_top(struct top *t)
{
	int err;

	t->n = 0;
	t->now = sg_boot_ns();
	err = map_walk(SG_MAP_UID_STATS, top_stats, t);
	if (!err)
		err = map_walk(SG_MAP_EGRESS, top_egress, t);
	if (!err)
		err = map_walk(SG_MAP_POLICIES, top_policy, t);
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

static int run_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct top t = {};
	__u32 limit = 0, watch = 0;
	int json = 0, c, err = 0;
	const char *why;
	json_t *out;

	while ((c = getopt_long(argc, argv, "jn:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'n':
			if (sg_parse_count(optarg, 1000000, &limit, &why))
				return sg_usage_error(&sg_cmd_top, "bad -n '%s': %s", optarg, why);
			break;
		case 'w':
			if (sg_parse_count(optarg, 3600, &watch, &why))
				return sg_usage_error(&sg_cmd_top, "bad --watch '%s': %s", optarg, why);
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
	if (sg_need_root() || sg_need_state())
		return SG_EXIT_FAIL;
	if (!limit && !json)
		limit = 20;

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

static int status_policy(const void *key, const void *value, void *ctx)
{
	const struct sg_policy *p = value;
	struct sg_status *st = ctx;

	if ((!p->expires_ns || p->expires_ns > sg_boot_ns()) && p->mode < 3)
		st->policies[p->mode]++;
	return 0;
}

static int status_port(const void *key, const void *value, void *ctx)
{
	struct sg_status *st = ctx;
	struct sg_status_port *p;

	if (st->n_ports == SG_MAX_PORTS)
		return 0;
	p = &st->ports[st->n_ports++];
	p->port = *(const __u32 *)key;
	sg_port_sum(value, &p->v);
	return 0;
}

static int port_cmp(const void *a, const void *b)
{
	const struct sg_status_port *x = a, *y = b;

	return (x->port > y->port) - (x->port < y->port);
}

static int status_iface(const void *key, const void *value, void *ctx)
{
	struct sg_status *st = ctx;

	if (st->n_ifaces < SG_MAX_IFACES) {
		st->iface_keys[st->n_ifaces] = *(const struct sg_iface_key *)key;
		st->ifaces[st->n_ifaces++] = *(const struct sg_iface *)value;
	}
	return 0;
}

static void status_hooks(struct sg_status *st)
{
	static const char *const names[2] = { "connect4", "connect6" };
	char root[PATH_MAX], link[32];
	struct bpf_link_info info;
	struct stat sb;
	__u32 len;
	int i, fd, have_root = !sg_cgroup2_root(root, sizeof(root)) && !stat(root, &sb);

	for (i = 0; i < 2; i++) {
		struct sg_status_hook *h = &st->hooks[i];

		h->name = names[i];
		snprintf(link, sizeof(link), "link_%s", names[i]);
		fd = sg_pin_open(link);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP &&
		    sg_cgroup_alive(info.cgroup.cgroup_id)) {
			h->attached = 1;
			h->cgroup_id = info.cgroup.cgroup_id;
			if (have_root && sb.st_ino == h->cgroup_id)
				snprintf(h->cgroup, sizeof(h->cgroup), "%s", root);
		}
		close(fd);
	}
}

static void status_map(struct sg_status *st, const char *name, int countable)
{
	struct sg_status_map *m = &st->maps[st->n_maps++];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = sg_pin_open(name);

	m->name = name;
	m->entries = -1;
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		m->capacity = info.max_entries;
	if (countable)
		m->entries = sg_map_count(fd);
	close(fd);
}

static int collect_status(struct sg_status *st)
{
	static const struct {
		const char *name;
		int countable; /* not the ring buffer */
	} maps[] = {
		{ SG_MAP_POLICIES, 1 }, { SG_MAP_BUCKETS, 1 }, { SG_MAP_UID_STATS, 1 },
		{ SG_MAP_SENDERS, 1 },	{ SG_MAP_FLOWS, 1 },   { SG_MAP_EGRESS, 1 },
		{ SG_MAP_SOURCES, 1 },	{ SG_MAP_BANS, 1 },    { SG_MAP_EVENTS, 0 },
	};
	struct sg_settings settings;
	__u32 i, zero = 0;
	int fd, err;

	memset(st, 0, sizeof(*st));
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%s", sg_pin_dir());
	st->netns = sg_netns_self();
	status_hooks(st);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		status_map(st, maps[i].name, maps[i].countable);

	fd = sg_pin_open(SG_MAP_SETTINGS);
	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &zero, &settings) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	st->default_policy = settings.default_policy;

	err = map_walk(SG_MAP_POLICIES, status_policy, st);
	if (!err)
		err = map_walk(SG_MAP_IFACES, status_iface, st);
	if (!err)
		err = map_walk(SG_MAP_PORTS, status_port, st);
	if (err)
		return err;
	qsort(st->ports, st->n_ports, sizeof(st->ports[0]), port_cmp);

	fd = sg_pin_open(SG_MAP_ERRORS);
	if (fd < 0)
		return fd;
	for (i = 0; i < SG_ERR__MAX && !err; i++)
		err = sg_counter_get(fd, i, &st->errors[i]);
	close(fd);
	fd = sg_pin_open(SG_MAP_COUNTERS);
	if (fd < 0)
		return fd;
	for (i = 0; i < SG_CNT__MAX && !err; i++)
		err = sg_counter_get(fd, i, &st->counters[i]);
	close(fd);
	return err;
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
	err = collect_status(st);
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
	.summary = "per-user SMTP connection counters, busiest first",
	.usage = "usage: smtpguard top [--json] [-n N] [--watch SECONDS]\n"
		 "  One row per UID: connect() attempts to SMTP ports, allowed, denied, SYNs\n"
		 "  seen leaving by TC egress, and the UID's policy. Egress traffic with no\n"
		 "  owning socket is shown as '(no socket)' under the overflow UID.\n"
		 "  -n N: at most N rows (default 20; all with --json).\n"
		 "  --watch SECONDS: redraw every SECONDS until interrupted.\n",
	.run = run_top,
};
