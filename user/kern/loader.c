// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "smtpguard.h"
#include "sg_bucket.h"
#include "kern/collect.h"
#include "kern/loader.h"
#include "kern/maps.h"
#include "kern/netns.h"
#include "kern/programs.h"
#include "kern/state.h"
#include "kern/tc.h"
#include "util/log.h"

static const struct {
	const char *prog, *link;
	enum bpf_attach_type type;
} cgroup_hooks[] = {
	{ PIN_PROG_CONNECT4, "link_connect4", BPF_CGROUP_INET4_CONNECT },
	{ PIN_PROG_CONNECT6, "link_connect6", BPF_CGROUP_INET6_CONNECT },
	{ PIN_PROG_SOCKOPS, "link_sockops", BPF_CGROUP_SOCK_OPS },
};

#define N_HOOKS (sizeof(cgroup_hooks) / sizeof(cgroup_hooks[0]))

/* Every failure is told once, here, with its context; returns err. */
static int report(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int report(int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	sg_error("%s: %s", what, strerror(-err));
	return err;
}

static void unpin(const char *name)
{
	char path[PATH_MAX];

	if (!sg_pin_path(path, sizeof(path), name))
		unlink(path);
}

/* The kernel's overflow UID, the owner it reports for sockets it cannot map. */
static __u32 overflow_uid(void)
{
	unsigned int uid = 65534;
	FILE *f = fopen("/proc/sys/kernel/overflowuid", "r");

	if (f) {
		if (fscanf(f, "%u", &uid) != 1)
			uid = 65534;
		fclose(f);
	}
	return uid;
}

static int init_settings(void)
{
	struct sg_settings s;
	int ports_fd, err;

	err = sg_settings_get(&s);
	/* A zero interval means the maps were just created: write the defaults once. */
	if (err || s.deny_event_interval_ns)
		return err;
	memset(&s, 0, sizeof(s));
	s.default_policy.mode = SG_MODE_OBSERVE;
	s.default_policy.updated_ns = sg_boot_ns();
	s.deny_event_interval_ns = SG_NS_PER_SEC;
	s.overflow_uid = overflow_uid();
	s.uid_flows_max = SG_UID_FLOWS_DEFAULT;
	s.uid_senders_max = SG_UID_SENDERS_DEFAULT;
	s.layout = SG_SETTINGS_LAYOUT;
	ports_fd = sg_pin_open(SG_MAP_PORTS);
	if (ports_fd < 0)
		return ports_fd;
	err = sg_ports_default(ports_fd);
	close(ports_fd);
	return err ? err : sg_settings_set(&s);
}

static void detach_link(const char *name)
{
	int fd = sg_pin_open(name);

	/* Detach even if someone else holds the link open, then drop the pin. */
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	unpin(name);
}

/*
 * The cgroup id of a link, or 0 when it is not a live cgroup link. A removed
 * cgroup keeps its id on the link until the kernel releases it: ask kernfs.
 */
static __u64 link_cgroup_id(const char *link)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = sg_pin_open(link);
	__u64 id = 0;

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP)
		id = info.cgroup.cgroup_id;
	close(fd);
	return sg_cgroup_alive(id) ? id : 0;
}

/*
 * The cgroup hooks (connect4, connect6, sock_ops) on cgroup, or on the
 * cgroup2 root when cgroup is NULL and they are not all attached yet.
 * Hooks already attached stay where they are; naming another cgroup for
 * them is an error.
 */
static int attach_cgroup(const char *cgroup, int *added)
{
	struct stat st;
	struct statfs sfs;
	char path[PATH_MAX], root[PATH_MAX];
	int cg_fd, prog_fd, link_fd, err = 0;
	size_t i;
	__u64 id;

	if (!cgroup) {
		for (i = 0; i < N_HOOKS && link_cgroup_id(cgroup_hooks[i].link); i++)
			;
		if (i == N_HOOKS)
			return 0;
		err = sg_cgroup2_root(root, sizeof(root));
		if (err)
			return report(err, "no cgroup v2 hierarchy");
		cgroup = root;
	}
	cg_fd = open(cgroup, O_RDONLY | O_DIRECTORY);
	if (cg_fd < 0 || fstat(cg_fd, &st) || fstatfs(cg_fd, &sfs)) {
		err = report(-errno, "cgroup %s", cgroup);
		goto cleanup;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		err = report(-ENOTDIR, "%s is not a cgroup v2 directory", cgroup);
		goto cleanup;
	}
	for (i = 0; i < N_HOOKS && !err; i++) {
		if (sg_pinned(cgroup_hooks[i].link)) {
			/* On cgroup2, a cgroup's id is its directory's inode number. */
			id = link_cgroup_id(cgroup_hooks[i].link);
			if (id == st.st_ino)
				continue;
			if (id) {
				sg_error("already attached to cgroup id %llu, not "
					 "%s; detach first",
					 (unsigned long long)id, cgroup);
				err = -EEXIST;
				continue;
			}
			/* Its cgroup was removed: the link is dead, attach afresh. */
			detach_link(cgroup_hooks[i].link);
		}
		prog_fd = sg_pin_open(cgroup_hooks[i].prog);
		link_fd = prog_fd < 0 ? prog_fd :
					bpf_link_create(prog_fd, cg_fd, cgroup_hooks[i].type, NULL);
		err = link_fd < 0 ? -errno : sg_pin_path(path, sizeof(path), cgroup_hooks[i].link);
		if (!err && bpf_obj_pin(link_fd, path))
			err = -errno;
		if (err) {
			report(err, "attaching %s to cgroup %s", cgroup_hooks[i].prog + 5, cgroup);
		} else {
			*added |= 1 << i;
			printf("attached %s to cgroup %s\n", cgroup_hooks[i].prog + 5, cgroup);
		}
		if (link_fd >= 0)
			close(link_fd);
		if (prog_fd >= 0)
			close(prog_fd);
	}
cleanup:
	if (cg_fd >= 0)
		close(cg_fd);
	return err;
}

/* One pin per interface and namespace: ifindexes repeat across namespaces. */
static void xdp_link_name(char *buf, size_t len, const struct sg_iface_key *key)
{
	snprintf(buf, len, "link_xdp_%llu_%u", (unsigned long long)key->netns, key->ifindex);
}

/* XDP in native mode where the driver has it, generic otherwise; returns the mode or -errno. */
static int attach_xdp(const struct sg_iface_key *key)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_DRV_MODE);
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	char name[64], path[PATH_MAX];
	int prog_fd, link_fd, err;

	xdp_link_name(name, sizeof(name), key);
	prog_fd = sg_pin_open(PIN_PROG_INGRESS);
	if (prog_fd < 0)
		return prog_fd;
	link_fd = bpf_link_create(prog_fd, key->ifindex, BPF_XDP, &lo);
	if (link_fd < 0) {
		lo.flags = XDP_FLAGS_SKB_MODE;
		link_fd = bpf_link_create(prog_fd, key->ifindex, BPF_XDP, &lo);
	}
	close(prog_fd);
	if (link_fd < 0)
		return -errno;
	err = sg_pin_path(path, sizeof(path), name);
	if (!err && bpf_obj_pin(link_fd, path))
		err = -errno;
	close(link_fd);
	if (err)
		return err;
	if (bpf_xdp_query(key->ifindex, 0, &q))
		return -errno;
	return q.attach_mode;
}

static int attach_tc(__u32 ifindex, int *qdisc_ours)
{
	int err, prog_fd = sg_pin_open(PIN_PROG_EGRESS);

	if (prog_fd < 0)
		return prog_fd;
	err = sg_tc_attach(ifindex, prog_fd, qdisc_ours);
	close(prog_fd);
	return err;
}

/*
 * fn(ifindex, arg) on our interface, from whichever namespace this runs in:
 * enter the interface's, and check the ifindex still names the interface
 * we attached to. A namespace that is gone took its interfaces with it.
 */
static int on_iface(const struct sg_iface_key *key, const struct sg_iface *rec,
		    int (*fn)(__u32 ifindex, int arg), int arg)
{
	char name[IF_NAMESIZE];
	int back = -1, err = 0, ret;

	if (key->netns != sg_netns_self())
		err = sg_netns_enter(key->netns, &back);
	if (err)
		return err == -ENOENT ? 0 : err;
	if (if_indextoname(key->ifindex, name) && !strcmp(name, rec->name))
		err = fn(key->ifindex, arg);
	if (back >= 0) {
		ret = sg_netns_return(back);
		err = err ? err : ret;
	}
	return err;
}

/* Our TC filter on the interface, and the qdisc when it is ours. */
static int detach_tc(const struct sg_iface_key *key, const struct sg_iface *rec)
{
	return on_iface(key, rec, sg_tc_detach, !!(rec->flags & SG_IFACE_QDISC_OURS));
}

/* Everything on one interface; the record goes only once that worked. */
static int detach_iface(int ifaces_fd, const struct sg_iface_key *key, const struct sg_iface *rec)
{
	char name[64];
	int err;

	if (rec->flags & SG_IFACE_TC) {
		err = detach_tc(key, rec);
		if (err)
			return report(err, "removing the tc filter from %s", rec->name);
	}
	if (rec->flags & SG_IFACE_XDP) {
		xdp_link_name(name, sizeof(name), key);
		detach_link(name);
	}
	bpf_map_delete_elem(ifaces_fd, key);
	return 0;
}

struct iface_list {
	struct sg_iface_key keys[SG_MAX_IFACES];
	struct sg_iface recs[SG_MAX_IFACES];
	int n;
};

static int collect_iface(const void *key, const void *value, void *ctx)
{
	struct iface_list *c = ctx;

	if (c->n < SG_MAX_IFACES) {
		c->keys[c->n] = *(const struct sg_iface_key *)key;
		c->recs[c->n++] = *(const struct sg_iface *)value;
	}
	return 0;
}

/* Switches a pinned link to prog_fd in place; a link whose cgroup is gone is attach_cgroup's. */
static int update_link(const char *link, int prog_fd)
{
	int fd = sg_pin_open(link), err = 0;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (bpf_link_update(fd, prog_fd, NULL) && errno != ENOLINK)
		err = -errno;
	close(fd);
	return err;
}

/* What runs the program pinned as pin, in any namespace, runs prog_fd instead: each in one step. */
static int swap_users(const char *pin, int prog_fd)
{
	int xdp = !strcmp(pin, PIN_PROG_INGRESS), tc = !strcmp(pin, PIN_PROG_EGRESS);
	struct iface_list c = {};
	char name[64];
	int i, fd, err;

	for (i = 0; i < (int)N_HOOKS; i++)
		if (!strcmp(cgroup_hooks[i].prog, pin))
			return update_link(cgroup_hooks[i].link, prog_fd);
	if (!xdp && !tc)
		return 0;
	fd = sg_pin_open(SG_MAP_IFACES);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	err = sg_map_for_each(fd, collect_iface, &c);
	close(fd);
	for (i = 0; !err && i < c.n; i++) {
		if (xdp && (c.recs[i].flags & SG_IFACE_XDP)) {
			xdp_link_name(name, sizeof(name), &c.keys[i]);
			err = update_link(name, prog_fd);
		} else if (tc && (c.recs[i].flags & SG_IFACE_TC)) {
			err = on_iface(&c.keys[i], &c.recs[i], sg_tc_replace, prog_fd);
		}
	}
	return err;
}

/* Whether the link pinned as name, if any, is of type; why says what is wrong. */
static int link_is(const char *name, __u32 type, char *why, size_t len)
{
	struct bpf_link_info info = {};
	__u32 n = sizeof(info);
	int fd = sg_pin_open(name), err = 0;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &n))
		err = fd < 0 ? fd : -errno;
	else if (info.type != type)
		err = -EPROTO;
	if (err)
		snprintf(why, len, "the pinned %s is not a link this build can switch in place",
			 name);
	if (fd >= 0)
		close(fd);
	return err;
}

/* Every pinned link is one swap_users() can switch: checked before anything changes. */
static int check_links(char *why, size_t len)
{
	struct iface_list c = {};
	char name[64];
	int i, fd, err = 0;

	for (i = 0; i < (int)N_HOOKS && !err; i++)
		err = link_is(cgroup_hooks[i].link, BPF_LINK_TYPE_CGROUP, why, len);
	if (err)
		return err;
	fd = sg_pin_open(SG_MAP_IFACES);
	if (fd == -ENOENT)
		return 0;
	err = fd < 0 ? fd : sg_map_for_each(fd, collect_iface, &c);
	if (fd >= 0)
		close(fd);
	if (err) {
		snprintf(why, len, "reading %s", SG_MAP_IFACES);
		return err;
	}
	for (i = 0; !err && i < c.n; i++) {
		if (!(c.recs[i].flags & SG_IFACE_XDP))
			continue;
		xdp_link_name(name, sizeof(name), &c.keys[i]);
		err = link_is(name, BPF_LINK_TYPE_XDP, why, len);
	}
	return err;
}

/* This build's programs (programs.h), then the default settings of maps just made. */
static int load_programs(void)
{
	char why[256];
	int err = check_links(why, sizeof(why));

	if (!err)
		err = sg_programs_load(swap_users, why, sizeof(why));

	if (err == -EPROTO)
		sg_error("%s: nothing was changed ('smtpguard detach' removes the old state, "
			 "counters and policies with it)",
			 why);
	else if (err)
		report(err, "%s", why);
	if (!err && (err = init_settings()))
		report(err, "writing the default settings");
	return err;
}

static const char *xdp_mode_str(int mode)
{
	return mode == XDP_ATTACHED_DRV ? "native" : mode == XDP_ATTACHED_SKB ? "generic" : "other";
}

/* TC and XDP on one interface; returns 1 when something was added, 0 when all was there. */
static int attach_iface(int ifaces_fd, const char *ifname, const struct sg_iface_key *key)
{
	struct sg_iface rec = {};
	int err, mode, qdisc_ours, added = 0;

	if (bpf_map_lookup_elem(ifaces_fd, key, &rec))
		snprintf(rec.name, sizeof(rec.name), "%s", ifname);
	if (!(rec.flags & SG_IFACE_TC)) {
		err = attach_tc(key->ifindex, &qdisc_ours);
		if (err)
			return report(err, "tc egress on %s", ifname);
		rec.flags |= SG_IFACE_TC | (qdisc_ours ? SG_IFACE_QDISC_OURS : 0);
		printf("attached egress to %s (tc clsact)\n", ifname);
		added = 1;
	}
	if (!(rec.flags & SG_IFACE_XDP)) {
		mode = attach_xdp(key);
		if (mode < 0) {
			detach_iface(ifaces_fd, key, &rec);
			return report(mode, "xdp on %s", ifname);
		}
		rec.flags |= SG_IFACE_XDP;
		rec.xdp_mode = mode;
		printf("attached ingress to %s (xdp %s)\n", ifname, xdp_mode_str(mode));
		added = 1;
	}
	if (bpf_map_update_elem(ifaces_fd, key, &rec, BPF_ANY)) {
		err = -errno;
		detach_iface(ifaces_fd, key, &rec);
		return report(err, "recording %s in %s", ifname, SG_MAP_IFACES);
	}
	return added;
}

static void add_name(char names[][IF_NAMESIZE], int *n, int max, const char *name)
{
	int i;

	for (i = 0; i < *n; i++)
		if (!strcmp(names[i], name))
			return;
	if (*n < max)
		snprintf(names[(*n)++], IF_NAMESIZE, "%s", name);
}

int sg_default_ifaces(char names[][IF_NAMESIZE], int max)
{
	char line[512], ifname[IF_NAMESIZE], dest[33];
	unsigned int plen, dst4, mask4;
	int n = 0;
	FILE *f;

	/* IPv4: Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
	f = fopen("/proc/net/route", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %x %*x %*x %*d %*d %*d %x", ifname, &dst4, &mask4) == 3 &&
		    !dst4 && !mask4)
			add_name(names, &n, max, ifname);
	}
	if (f)
		fclose(f);
	/* IPv6: dest plen src srclen nexthop metric refcnt use flags iface */
	f = fopen("/proc/net/ipv6_route", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%32s %x %*s %*s %*s %*s %*s %*s %*s %15s", dest, &plen, ifname) == 3 &&
		    !plen && strspn(dest, "0") == 32 && strcmp(ifname, "lo"))
			add_name(names, &n, max, ifname);
	}
	if (f)
		fclose(f);
	return n;
}

int sg_attach(const char *cgroup, char *const *ifaces, int n_ifaces)
{
	struct sg_iface_key keys[SG_MAX_IFACES];
	int added_if[SG_MAX_IFACES];
	int fresh = sg_state_present() != 0;
	int err, i, ifaces_fd = -1, n_added = 0, cg_added = 0;
	struct sg_iface rec;

	/* Check everything the user named before changing anything. */
	if (n_ifaces > SG_MAX_IFACES)
		return report(-E2BIG, "more than %d interfaces", SG_MAX_IFACES);
	for (i = 0; i < n_ifaces; i++) {
		keys[i] = (struct sg_iface_key){ .netns = sg_netns_self(),
						 .ifindex = if_nametoindex(ifaces[i]) };
		if (!keys[i].ifindex)
			return report(-ENODEV, "interface %s", ifaces[i]);
	}
	err = sg_state_prepare();
	if (err) {
		sg_error("pin directory %s: %s", sg_pin_dir(), sg_state_error(err));
		return err;
	}
	err = load_programs();
	if (err)
		goto cleanup;
	err = attach_cgroup(cgroup, &cg_added);
	if (err)
		goto cleanup;
	ifaces_fd = sg_pin_open(SG_MAP_IFACES);
	if (ifaces_fd < 0) {
		err = report(ifaces_fd, "%s", SG_MAP_IFACES);
		goto cleanup;
	}
	for (i = 0; i < n_ifaces; i++) {
		err = attach_iface(ifaces_fd, ifaces[i], &keys[i]);
		if (err < 0)
			goto cleanup;
		if (err)
			added_if[n_added++] = i;
		err = 0;
	}
cleanup:
	if (err) {
		for (i = 0; i < n_added; i++)
			if (!bpf_map_lookup_elem(ifaces_fd, &keys[added_if[i]], &rec))
				detach_iface(ifaces_fd, &keys[added_if[i]], &rec);
		for (i = 0; i < (int)N_HOOKS; i++)
			if (cg_added & (1 << i))
				detach_link(cgroup_hooks[i].link);
		if (fresh)
			sg_state_remove();
	}
	if (ifaces_fd >= 0)
		close(ifaces_fd);
	return err;
}

int sg_detach(void)
{
	struct iface_list c = {};
	int fd, i, err, failed = 0;

	/* Deleting while walking would disturb the walk: collect first. */
	fd = sg_pin_open(SG_MAP_IFACES);
	if (fd >= 0) {
		err = sg_map_for_each(fd, collect_iface, &c);
		for (i = 0; !err && i < c.n; i++) {
			if (detach_iface(fd, &c.keys[i], &c.recs[i]))
				failed = 1;
			else
				printf("detached from %s\n", c.recs[i].name);
		}
		close(fd);
		if (err)
			return report(err, "reading %s", SG_MAP_IFACES);
	}
	for (i = 0; i < (int)N_HOOKS; i++) {
		if (!sg_pinned(cgroup_hooks[i].link))
			continue;
		detach_link(cgroup_hooks[i].link);
		printf("detached %s\n", cgroup_hooks[i].prog + 5);
	}
	/* Keep the pins while a filter is left, so that detach can be run again. */
	if (failed)
		return -EBUSY;
	err = sg_state_remove();
	return err ? report(err, "removing the pins in %s", sg_pin_dir()) : 0;
}

int sg_hooks_check(const char *cgroup)
{
	struct stat st = {};
	size_t i;
	__u64 id;

	if (cgroup && stat(cgroup, &st))
		return -errno;
	for (i = 0; i < N_HOOKS; i++) {
		id = link_cgroup_id(cgroup_hooks[i].link);
		if (!id || (cgroup && id != st.st_ino))
			return -ENOLINK;
	}
	return 0;
}
