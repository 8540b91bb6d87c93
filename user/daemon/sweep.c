// SPDX-License-Identifier: GPL-2.0
/* Expired policies and bans out of the maps, audited; see sweep.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "host/attrib.h"
#include "kern/collect.h"
#include "util/render.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "daemon/sweep.h"
#include "util/log.h"

struct kind {
	const char *map;
	size_t key_size;
	__u64 (*expires)(const void *value);
	void (*audit)(const struct sg_audit_cfg *cfg, const void *key, const void *value);
};

/* Keys of expired entries, collected first: deleting during the walk would disturb it. */
struct expired {
	const struct kind *kind;
	char *keys;
	size_t n, cap;
	__u64 now;
};

static int is_expired(__u64 expires, __u64 now)
{
	return expires && expires <= now;
}

static int note_expired(const void *key, const void *value, void *ctx)
{
	struct expired *x = ctx;
	size_t size = x->kind->key_size;
	char *p;

	if (!is_expired(x->kind->expires(value), x->now))
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		p = realloc(x->keys, x->cap * size);
		if (!p)
			return -ENOMEM;
		x->keys = p;
	}
	memcpy(x->keys + x->n++ * size, key, size);
	return 0;
}

/*
 * Remove the entry at key if it is still expired; 0 when it was, with its
 * value. The CLI may have set a new value since the walk. Hash maps (the
 * policies) remove and return in one step, and a value that turns out to
 * be fresh goes back (unless the CLI wrote yet another meanwhile); the LPM
 * trie (the bans) cannot, so there a ban renewed within microseconds of
 * its expiry could be lost.
 */
static int take_expired(int fd, const void *key, void *value, const struct kind *kind, __u64 now)
{
	if (!bpf_map_lookup_and_delete_elem(fd, key, value)) {
		if (is_expired(kind->expires(value), now))
			return 0;
		bpf_map_update_elem(fd, key, value, BPF_NOEXIST);
		return -EAGAIN;
	}
	/* Not supported (the trie's errno is the kernel's ENOTSUPP, 524): the two-step way. */
	if (errno == ENOENT)
		return -ENOENT;
	if (bpf_map_lookup_elem(fd, key, value) || !is_expired(kind->expires(value), now))
		return -EAGAIN;
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

static int sweep(const struct kind *kind, const struct sg_audit_cfg *cfg, __u64 now)
{
	struct expired x = { .kind = kind, .now = now };
	char value[sizeof(struct sg_policy) > sizeof(struct sg_ban) ? sizeof(struct sg_policy)
								    : sizeof(struct sg_ban)];
	int fd, err, removed = 0;
	size_t i;

	fd = sg_pin_open(kind->map);
	if (fd < 0)
		return fd;
	err = sg_map_for_each(fd, note_expired, &x);
	for (i = 0; !err && i < x.n; i++) {
		const void *key = x.keys + i * kind->key_size;

		if (take_expired(fd, key, value, kind, now))
			continue;
		kind->audit(cfg, key, value);
		removed++;
	}
	free(x.keys);
	close(fd);
	return err ? err : removed;
}

/* The daemon's stderr is its log: a change that could not be audited is said there. */
static void audit(const struct sg_audit_cfg *cfg, const struct sg_audit_entry *e)
{
	int err = sg_audit_write(cfg, e);

	if (err)
		sg_error("audit log %s: %s", cfg->path, strerror(-err));
}

static __u64 policy_expires(const void *value)
{
	return ((const struct sg_policy *)value)->expires_ns;
}

static void policy_audit(const struct sg_audit_cfg *cfg, const void *key, const void *value)
{
	const struct sg_policy *p = value;
	struct sg_audit_entry e = { .actor = "daemon", .action = "expire", .has_uid = 1 };
	char user[64];

	e.uid = *(const __u32 *)key;
	if (!sg_user_name(e.uid, user, sizeof(user)))
		e.user = user;
	e.params = json_pack("{s:s}", "mode", sg_mode_name(p->mode));
	e.reason = "its time was up";
	e.expires_ns = p->expires_ns;
	audit(cfg, &e);
	json_decref(e.params);
}

static __u64 ban_expires(const void *value)
{
	return ((const struct sg_ban *)value)->expires_ns;
}

static void ban_audit(const struct sg_audit_cfg *cfg, const void *key, const void *value)
{
	const struct sg_ban *b = value;
	struct sg_audit_entry e = { .actor = "daemon", .action = "ban-expire" };
	char cidr[64];

	e.target = sg_format_cidr(key, cidr, sizeof(cidr));
	e.params = json_pack("{s:I, s:s}", "drops", (json_int_t)b->drops, "reason",
			     sg_ban_reason_name(b->reason));
	e.reason = "its time was up";
	e.expires_ns = b->expires_ns;
	audit(cfg, &e);
	json_decref(e.params);
}

int sg_sweep_policies(const struct sg_audit_cfg *audit, __u64 now_ns)
{
	static const struct kind policies = { SG_MAP_POLICIES, sizeof(__u32), policy_expires,
					      policy_audit };

	return sweep(&policies, audit, now_ns);
}

int sg_sweep_bans(const struct sg_audit_cfg *audit, __u64 now_ns)
{
	static const struct kind bans = { SG_MAP_BANS, sizeof(struct sg_ban_key), ban_expires,
					  ban_audit };

	return sweep(&bans, audit, now_ns);
}
