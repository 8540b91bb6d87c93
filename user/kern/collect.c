// SPDX-License-Identifier: GPL-2.0
/* Reading the pinned maps into what status, the daemon and /metrics show. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "kern/collect.h"
#include "kern/maps.h"
#include "kern/netns.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "core/decide.h"

int sg_pin_walk(const char *map, sg_entry_fn fn, void *ctx)
{
	int fd = sg_pin_open(map), err;

	if (fd < 0)
		return fd;
	err = sg_map_for_each(fd, fn, ctx);
	close(fd);
	return err;
}

static int status_policy(const void *key, const void *value, void *ctx)
{
	const struct sg_policy *p = value;
	struct sg_status *st = ctx;

	if (sg_policy_in_force(p, sg_boot_ns()) && p->mode < SG_MODE__MAX)
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
	static const char *const names[] = { "connect4", "connect6", "sockops" };
	char root[PATH_MAX], link[32];
	struct bpf_link_info info;
	struct stat sb;
	__u32 len;
	size_t i;
	int fd, have_root = !sg_cgroup2_root(root, sizeof(root)) && !stat(root, &sb);

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct sg_status_hook *h = &st->hooks[st->n_hooks++];

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

/* sg_settings holds one entry, at key 0. */
static int settings_io(struct sg_settings *s, int write)
{
	__u32 zero = 0;
	int fd = sg_pin_open(SG_MAP_SETTINGS), err;

	if (fd < 0)
		return fd;
	err = write ? bpf_map_update_elem(fd, &zero, s, BPF_ANY)
		    : bpf_map_lookup_elem(fd, &zero, s);
	err = err ? -errno : 0;
	close(fd);
	return err;
}

int sg_settings_get(struct sg_settings *s)
{
	return settings_io(s, 0);
}

int sg_settings_set(const struct sg_settings *s)
{
	return settings_io((struct sg_settings *)s, 1);
}

/*
 * The kernel keeps the ring's consumer position on its first page and the
 * producer's on the second; anyone holding the map may map them read-only.
 * What lies between is records of one struct sg_event each, with a header.
 */
int sg_events_pending(__u64 *events)
{
	const size_t record = (BPF_RINGBUF_HDR_SZ + sizeof(struct sg_event) + 7) / 8 * 8;
	long page = sysconf(_SC_PAGESIZE);
	int fd = sg_pin_open(SG_MAP_EVENTS), err = 0;
	unsigned long *cons, *prod = MAP_FAILED;

	if (fd < 0)
		return fd;
	cons = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	if (cons != MAP_FAILED)
		prod = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	if (prod == MAP_FAILED) {
		err = -errno;
	} else {
		*events = (__atomic_load_n(prod, __ATOMIC_ACQUIRE) -
			   __atomic_load_n(cons, __ATOMIC_ACQUIRE)) /
			  record;
		munmap(prod, page);
	}
	if (cons != MAP_FAILED)
		munmap(cons, page);
	close(fd);
	return err;
}

int sg_status_collect(struct sg_status *st, int own_counts)
{
	/* countable: 0 the ring buffer, 2 counted by the caller when it has its own counts */
	static const struct {
		const char *name;
		int countable;
	} maps[] = {
		{ SG_MAP_POLICIES, 2 },	  { SG_MAP_BUCKETS, 1 },     { SG_MAP_UID_STATS, 2 },
		{ SG_MAP_SENDERS, 1 },	  { SG_MAP_FLOWS, 2 },	     { SG_MAP_EGRESS, 1 },
		{ SG_MAP_SOURCES, 1 },	  { SG_MAP_BANS, 2 },	     { SG_MAP_EVENTS, 0 },
		{ SG_MAP_CONN_STATS, 2 }, { SG_MAP_LOCAL_CONNS, 1 }, { SG_MAP_SUBUIDS, 1 },
		{ SG_MAP_SMTP, 2 },	  { SG_MAP_UID_SWEPT, 2 },
	};
	struct sg_settings settings;
	__u32 i;
	int fd, err;

	memset(st, 0, sizeof(*st));
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%s", sg_pin_dir());
	st->netns = sg_netns_self();
	status_hooks(st);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		status_map(st, maps[i].name,
			   maps[i].countable == 1 || (maps[i].countable && !own_counts));

	err = sg_settings_get(&settings);
	if (err)
		return err;
	st->default_policy = settings.default_policy;

	err = own_counts ? 0 : sg_pin_walk(SG_MAP_POLICIES, status_policy, st);
	if (!err)
		err = sg_pin_walk(SG_MAP_IFACES, status_iface, st);
	if (!err)
		err = sg_pin_walk(SG_MAP_PORTS, status_port, st);
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
