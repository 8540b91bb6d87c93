// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "smtpguard.h"
#include "connect.skel.h" /* for the embedded objects only */
#include "egress.skel.h"
#include "ingress.skel.h"
#include "sockops.skel.h"
#include "kern/banbits.h"
#include "kern/layout.h"
#include "kern/maps.h"
#include "kern/migrate.h"
#include "kern/pinlock.h"
#include "kern/policybits.h"
#include "kern/programs.h"
#include "kern/state.h"
#include "kern/subuids.h"

static int pin_prog(struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX];
	int err = sg_pin_path(path, sizeof(path), name);

	return err ? err : bpf_program__pin(prog, path);
}

struct sg_object {
	const char *name;
	const void *(*elf)(size_t *size);
	struct {
		const char *prog, *pin;
	} progs[2];
	int (*pin_data)(struct bpf_object *obj); /* pins its global data, if it has any */
};

/* The skeletons embed the objects; only their ELF bytes are needed to load them generically. */
static const struct sg_object objects[] = {
	{ "connect",
	  connect_bpf__elf_bytes,
	  { { "sg_connect4", PIN_PROG_CONNECT4 }, { "sg_connect6", PIN_PROG_CONNECT6 } },
	  NULL },
	{ "egress", egress_bpf__elf_bytes, { { "sg_egress_prog", PIN_PROG_EGRESS } }, NULL },
	{ "ingress",
	  ingress_bpf__elf_bytes,
	  { { "sg_ingress_prog", PIN_PROG_INGRESS } },
	  sg_ban_bits_pin },
	{ "sockops", sockops_bpf__elf_bytes, { { "sg_sockops", PIN_PROG_SOCKOPS } }, NULL },
};

/*
 * Pins the object's programs. One pinned from another build is first
 * swapped for the new one wherever it runs, then its pin is replaced: the
 * hooks are never without a program. Last, the build is recorded.
 */
static int install_programs(const struct sg_object *o, struct bpf_object *obj, __u64 build,
			    sg_swap_fn swap)
{
	struct bpf_program *prog;
	int i, err, swapped = 0;

	for (i = 0; i < 2 && o->progs[i].pin; i++) {
		prog = bpf_object__find_program_by_name(obj, o->progs[i].prog);
		if (!prog)
			return -ENOENT;
		if (!sg_pinned(o->progs[i].pin)) {
			err = pin_prog(prog, o->progs[i].pin);
		} else {
			err = swap(o->progs[i].pin, bpf_program__fd(prog));
			if (!err)
				err = sg_pin_replace(bpf_program__fd(prog), o->progs[i].pin);
			swapped = 1;
		}
		if (err)
			return err;
	}
	if (swapped)
		printf("replaced the %s programs with this build's where they run\n", o->name);
	return sg_layout_put(o->name, &(struct sg_layout){ .build = build });
}

/* Whether the object is to be loaded: not all pinned, another build's, or using a map converted. */
static int needs_load(const struct sg_object *o, const struct bpf_object *obj, __u64 build,
		      const struct sg_migration *m)
{
	struct sg_layout rec;
	int i, err = sg_layout_get(o->name, &rec);

	if (err)
		return err;
	for (i = 0; i < 2 && o->progs[i].pin; i++)
		if (!sg_pinned(o->progs[i].pin))
			return 1;
	return rec.build != build || sg_migrate_uses(m, obj);
}

#define N_OBJECTS (sizeof(objects) / sizeof(objects[0]))

/* Loads the objects that need it, each map to convert made new (migrate.h). */
static int load_objects(struct bpf_object **objs, const __u64 *builds, int *load,
			struct sg_migration *m, char *why, size_t len)
{
	size_t i;
	int err;

	for (i = 0; i < N_OBJECTS; i++) {
		load[i] = needs_load(&objects[i], objs[i], builds[i], m);
		if (load[i] < 0) {
			snprintf(why, len, "reading the build of the %s programs", objects[i].name);
			return load[i];
		}
		if (!load[i])
			continue;
		err = sg_migrate_prepare(m, objs[i]);
		if (!err)
			err = bpf_object__load(objs[i]);
		if (!err)
			err = sg_migrate_adopt(m, objs[i]);
		if (err) {
			snprintf(why, len, "loading the %s programs%s", objects[i].name,
				 err == -EINVAL ? " (the kernel refused them: see libbpf's message "
						  "above)"
						: "");
			return err;
		}
	}
	return 0;
}

int sg_programs_other_build(void)
{
	struct sg_layout rec;
	const void *elf;
	size_t i, size;
	int err;

	for (i = 0; i < N_OBJECTS; i++) {
		if (!sg_pinned(objects[i].progs[0].pin))
			continue;
		err = sg_layout_get(objects[i].name, &rec);
		if (err)
			return err;
		elf = objects[i].elf(&size);
		if (rec.build != sg_layout_build(elf, size))
			return 1;
	}
	return 0;
}

/*
 * The bitmaps' rebuilds after the commit take the bans' and policies'
 * locks: one that cannot be had (on a bpffs open to all, a directory a
 * customer made there first) fails the load before anything pinned has
 * changed. Once root's, no customer can replace it.
 */
static int locks_ready(void)
{
	int (*const take[])(void) = { sg_pins_bans_lock, sg_pins_policies_lock };
	size_t i;
	int fd;

	for (i = 0; i < sizeof(take) / sizeof(take[0]); i++) {
		fd = take[i]();
		if (fd < 0)
			return fd;
		close(fd);
	}
	return 0;
}

int sg_programs_load(sg_swap_fn swap, char *why, size_t len)
{
	struct bpf_object *objs[N_OBJECTS] = { 0 };
	struct sg_migration m = { 0 };
	__u64 builds[N_OBJECTS];
	int load[N_OBJECTS] = { 0 }, err = 0;
	const void *elf;
	size_t i, size;

	for (i = 0; i < N_OBJECTS && !err; i++) {
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = objects[i].name,
			    .pin_root_path = sg_pin_dir());

		elf = objects[i].elf(&size);
		builds[i] = sg_layout_build(elf, size);
		objs[i] = bpf_object__open_mem(elf, size, &opts);
		if (!objs[i]) {
			err = -errno;
			snprintf(why, len, "opening the %s programs", objects[i].name);
		} else if (objects[i].pin_data && (err = objects[i].pin_data(objs[i]))) {
			snprintf(why, len, "pinning the global data of the %s programs",
				 objects[i].name);
		}
	}
	if (!err && (err = sg_migrate_plan(&m, objs, N_OBJECTS)))
		snprintf(why, len, "%s", m.why);
	if (!err)
		err = load_objects(objs, builds, load, &m, why, len);
	if (!err && (err = sg_migrate_copy(&m)))
		snprintf(why, len, "%s", m.why);
	if (!err && (err = locks_ready()))
		snprintf(why, len, "taking the bans' and policies' locks beside the pins "
				   "(a directory of another user's there is refused)");
	/* Nothing pinned has changed so far; from here on, it does. */
	if (!err && (err = sg_migrate_commit(&m)))
		snprintf(why, len, "%s", m.why);
	/* Before this build's programs run: new bitmaps must say what the maps already hold. */
	if (!err && (err = sg_port_bits_rebuild()))
		snprintf(why, len, "marking the watched ports in %s", SG_MAP_PORT_BITS);
	if (!err && (err = sg_ban_bits_rebuild()))
		snprintf(why, len, "marking the banned addresses in %s", SG_MAP_BAN_BITS);
	if (!err && (err = sg_subuid_bits_rebuild()))
		snprintf(why, len, "marking the sub-UID ranges in %s", SG_MAP_SUBUID_BITS);
	if (!err && (err = sg_policy_bits_rebuild()))
		snprintf(why, len, "marking the UIDs with a policy in %s", SG_MAP_POLICY_BITS);
	for (i = 0; i < N_OBJECTS && !err; i++)
		if (load[i] && (err = install_programs(&objects[i], objs[i], builds[i], swap)))
			snprintf(why, len, "installing the %s programs", objects[i].name);
	sg_migrate_free(&m);
	for (i = 0; i < N_OBJECTS; i++)
		bpf_object__close(objs[i]);
	return err;
}
