// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "smtpguard.h"
#include "kern/banbits.h"
#include "kern/pinwatch.h"
#include "kern/policybits.h"
#include "kern/state.h"

/* What a replacement must not lose: who is limited, the tokens they have left, who is banned. */
static const char *const carried[] = { SG_MAP_POLICIES, SG_MAP_BUCKETS, SG_MAP_BANS };

/*
 * The maps (sg_*) and programs (prog_*); links are the hooks' business
 * (sg_hooks_check): a detached one is made again, not put back. Anything
 * else someone put there is not the daemon's to keep.
 */
static int watched(const struct dirent *de)
{
	return (de->d_type == DT_REG || de->d_type == DT_UNKNOWN) &&
	       (!strncmp(de->d_name, "sg_", 3) || !strncmp(de->d_name, "prog_", 5));
}

static int is_prog(const char *name)
{
	return !strncmp(name, "prog_", 5);
}

/* The id of a pinned map or program (both infos start with type, then id); 0 when none. */
static __u32 object_id(int fd, const char *name)
{
	struct bpf_prog_info p = {};
	struct bpf_map_info m = {};
	__u32 len = is_prog(name) ? sizeof(p) : sizeof(m);

	if (bpf_obj_get_info_by_fd(fd, is_prog(name) ? (void *)&p : (void *)&m, &len))
		return 0;
	return is_prog(name) ? p.id : m.id;
}

static __u32 pinned_id(const char *name)
{
	int fd = sg_pin_open(name);
	__u32 id;

	if (fd < 0)
		return 0;
	id = object_id(fd, name);
	close(fd);
	return id;
}

void sg_pinwatch_init(struct sg_pinwatch *w)
{
	w->n = 0;
}

void sg_pinwatch_release(struct sg_pinwatch *w)
{
	int i;

	for (i = 0; i < w->n; i++)
		close(w->pins[i].fd);
	w->n = 0;
}

int sg_pinwatch_take(struct sg_pinwatch *w)
{
	DIR *dir = opendir(sg_pin_dir());
	struct dirent *de;
	int fd, err = 0;

	sg_pinwatch_release(w);
	if (!dir)
		return -errno;
	while (!err && (de = readdir(dir))) {
		if (!watched(de))
			continue;
		if (w->n == SG_PINWATCH_MAX || strlen(de->d_name) >= sizeof(w->pins[0].name)) {
			err = -E2BIG;
			break;
		}
		fd = sg_pin_open(de->d_name);
		/* Unpinned since the directory was read: the next check finds what replaced it. */
		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			err = fd;
			break;
		}
		snprintf(w->pins[w->n].name, sizeof(w->pins[0].name), "%s", de->d_name);
		w->pins[w->n].fd = fd;
		w->pins[w->n++].id = object_id(fd, de->d_name);
	}
	closedir(dir);
	if (err)
		sg_pinwatch_release(w);
	return err;
}

enum sg_pins_state sg_pinwatch_check(const struct sg_pinwatch *w, const char **first)
{
	enum sg_pins_state state = SG_PINS_OK;
	__u32 id;
	int i;

	*first = NULL;
	for (i = 0; i < w->n && state != SG_PINS_REPLACED; i++) {
		id = pinned_id(w->pins[i].name);
		if (id == w->pins[i].id)
			continue;
		if (!*first || id)
			*first = w->pins[i].name;
		state = id ? SG_PINS_REPLACED : SG_PINS_MISSING;
	}
	return state;
}

int sg_pinwatch_restore(const struct sg_pinwatch *w)
{
	char path[PATH_MAX];
	int i, err;

	for (i = 0; i < w->n; i++) {
		if (pinned_id(w->pins[i].name))
			continue;
		err = sg_pin_path(path, sizeof(path), w->pins[i].name);
		if (!err && bpf_obj_pin(w->pins[i].fd, path) && errno != EEXIST)
			err = -errno;
		if (err)
			return err;
	}
	return 0;
}

/* Old's entries into new where new has none; bounded by old's size. Returns how many. */
static int copy_entries(int old, int new)
{
	struct bpf_map_info a = {}, b = {};
	__u32 la = sizeof(a), lb = sizeof(b), i;
	char *key, *next, *value, *swap;
	int n = 0, err = 0;

	if (bpf_obj_get_info_by_fd(old, &a, &la) || bpf_obj_get_info_by_fd(new, &b, &lb))
		return -errno;
	/* Another layout (an upgrade's): its own migration's business, not a copy's. */
	if (a.type != b.type || a.key_size != b.key_size || a.value_size != b.value_size)
		return 0;
	key = calloc(1, a.key_size);
	next = calloc(1, a.key_size);
	value = calloc(1, a.value_size);
	if (!key || !next || !value) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; !err && i < a.max_entries && !bpf_map_get_next_key(old, i ? key : NULL, next);
	     i++) {
		swap = key;
		key = next;
		next = swap;
		if (bpf_map_lookup_elem(old, key, value))
			continue;
		if (!bpf_map_update_elem(new, key, value, BPF_NOEXIST))
			n++;
		else if (errno != EEXIST)
			err = -errno;
	}
out:
	free(key);
	free(next);
	free(value);
	return err ? err : n;
}

/* Old's entries into new, the map pinned as name: a policy's bit is set before it is copied. */
static int carry_entries(const char *name, int old, int new)
{
	int lock = -1, n;

	if (!strcmp(name, SG_MAP_POLICIES) && (lock = sg_policy_bits_mark_map(old)) < 0)
		return lock;
	n = copy_entries(old, new);
	sg_policy_bits_unlock(lock);
	return n;
}

int sg_pinwatch_carry(const struct sg_pinwatch *w)
{
	int i, j, fd, n, total = 0;

	for (i = 0; i < w->n; i++) {
		for (j = 0; j < (int)(sizeof(carried) / sizeof(carried[0])); j++)
			if (!strcmp(w->pins[i].name, carried[j]))
				break;
		if (j == (int)(sizeof(carried) / sizeof(carried[0])))
			continue;
		fd = sg_pin_open(w->pins[i].name);
		if (fd < 0)
			return fd;
		n = object_id(fd, w->pins[i].name) == w->pins[i].id
			    ? 0
			    : carry_entries(w->pins[i].name, w->pins[i].fd, fd);
		close(fd);
		if (n < 0)
			return n;
		total += n;
	}
	/* Bans copied in are XDP's only once their bits are set. */
	n = sg_ban_bits_rebuild();
	return n ? n : total;
}
