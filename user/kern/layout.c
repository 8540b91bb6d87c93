// SPDX-License-Identifier: GPL-2.0
/*
 * Why a recorded number and not the maps' shapes alone: the kernel tells a
 * pinned map's type, key and value sizes, capacity and flags, and the
 * loader compares them too (user/kern/migrate.c), but a field reordered or
 * given a new meaning keeps every size. The number is the author's word
 * that the layout changed; the shape catches a change made without it.
 * Programs need no number: a new build's programs replace the pinned ones
 * whenever their ELF differs, so the hash of the ELF is their record.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kern/layout.h"
#include "kern/state.h"
#include "sg_bucket.h"

/*
 * The maps whose layout changed since pins carried no version (version 1).
 * To change a map's key or value: bump its SG_*_LAYOUT next to its struct in
 * smtpguard.h (add one, listed here, if it has none), and add a converter
 * from the previous version to user/kern/migrate.c. A new capacity alone
 * (max_entries, as when a counter is appended to an enum) needs neither:
 * the entries are copied as they are.
 */
static const struct {
	const char *map;
	__u32 version;
} versions[] = {
	{ SG_MAP_SETTINGS, SG_SETTINGS_LAYOUT },
	{ SG_MAP_BAN_BITS, SG_BAN_BITS_LAYOUT },
	{ SG_MAP_LOCAL_STASH, SG_LOCAL_STASH_LAYOUT },
	{ SG_MAP_BUCKETS, SG_BUCKETS_LAYOUT },
};

__u32 sg_layout_version(const char *map)
{
	size_t i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(versions[i].map, map))
			return versions[i].version;
	return 1;
}

static int layout_key(char key[SG_LAYOUT_NAME], const char *name)
{
	if (strlen(name) >= SG_LAYOUT_NAME)
		return -ENAMETOOLONG;
	memset(key, 0, SG_LAYOUT_NAME);
	strcpy(key, name);
	return 0;
}

int sg_layout_get(const char *name, struct sg_layout *out)
{
	char key[SG_LAYOUT_NAME];
	int fd, err = layout_key(key, name);

	*out = (struct sg_layout){ .version = 1 };
	if (err)
		return err;
	fd = sg_pin_open(SG_MAP_LAYOUT);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, key, out))
		err = errno == ENOENT ? 0 : -errno;
	close(fd);
	return err;
}

/* The pinned sg_layout, made and pinned if there is none. */
static int layout_open(void)
{
	char path[PATH_MAX];
	int fd = sg_pin_open(SG_MAP_LAYOUT), err;

	if (fd != -ENOENT)
		return fd;
	err = sg_pin_path(path, sizeof(path), SG_MAP_LAYOUT);
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, SG_MAP_LAYOUT, SG_LAYOUT_NAME,
			    sizeof(struct sg_layout), SG_MAX_LAYOUTS, NULL);
	if (fd < 0)
		return -errno;
	if (!bpf_obj_pin(fd, path))
		return fd;
	err = -errno;
	close(fd);
	/* Another attach pinned one first: use it. */
	return err == -EEXIST ? sg_pin_open(SG_MAP_LAYOUT) : err;
}

int sg_layout_put(const char *name, const struct sg_layout *l)
{
	char key[SG_LAYOUT_NAME];
	int fd, err = layout_key(key, name);

	if (err)
		return err;
	fd = layout_open();
	if (fd < 0)
		return fd;
	err = bpf_map_update_elem(fd, key, l, BPF_ANY) ? -errno : 0;
	close(fd);
	return err;
}

/* FNV-1a, 64 bits: only equal ELFs need to compare equal. */
__u64 sg_layout_build(const void *elf, size_t size)
{
	const unsigned char *p = elf;
	__u64 h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}
