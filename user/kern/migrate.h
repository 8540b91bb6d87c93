/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Taking over pinned maps of an older layout: the plan (what is reused,
 * what is converted, what cannot be and is refused before anything is
 * touched), the new maps filled with every entry converted, and the pins
 * moved over to them. Functions return -errno.
 */
#ifndef SG_MIGRATE_H
#define SG_MIGRATE_H

#include <bpf/libbpf.h>

#include "kern/layout.h"

#define SG_MIGRATE_MAX 48

struct sg_converter;

struct sg_migrate_map {
	char name[SG_LAYOUT_NAME];	 /* its pin's */
	char map[SG_LAYOUT_NAME];	 /* the object's name for it: another for global data */
	__u32 from, to;			 /* layout versions: the pinned map's and this build's */
	__u32 type;			 /* BPF_MAP_TYPE_* */
	int migrate;			 /* to a new map; else reused as it is, or made afresh */
	const struct sg_converter *conv; /* NULL: the entries are copied as they are */
	int new_fd; /* the new map, once an object using it is loaded; else -1 */
	int copied; /* entries */
};

struct sg_migration {
	int n;
	struct sg_migrate_map maps[SG_MIGRATE_MAX];
	char why[256]; /* what the plan refused, and why: for the caller to report */
};

/*
 * Compares every pinned map the objects use with this build's layout. An
 * error when one can be neither reused nor converted, with m->why saying
 * which and why; nothing is changed either way.
 */
int sg_migrate_plan(struct sg_migration *m, struct bpf_object *const *objs, size_t n);

/* Whether obj uses a map that is to be converted. */
int sg_migrate_uses(const struct sg_migration *m, const struct bpf_object *obj);

/*
 * Before obj is loaded: its maps to be converted are the new ones an
 * earlier object made, or made afresh and left unpinned.
 */
int sg_migrate_prepare(const struct sg_migration *m, struct bpf_object *obj);

/* After obj is loaded: keeps the new maps it made. */
int sg_migrate_adopt(struct sg_migration *m, const struct bpf_object *obj);

/* Copies every entry of the pinned maps into the new ones, converted; pins nothing. */
int sg_migrate_copy(struct sg_migration *m);

/*
 * Pins each new map over its old one (a rename: the name is never
 * missing) and records every map's layout in sg_layout.
 */
int sg_migrate_commit(struct sg_migration *m);

void sg_migrate_free(struct sg_migration *m);

#endif
