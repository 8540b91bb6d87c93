/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout version of each pinned map and the build of each object's
 * pinned programs, recorded in sg_layout (smtpguard.h). Functions return -errno.
 */
#ifndef SG_LAYOUT_H
#define SG_LAYOUT_H

#include <stddef.h>
#include <linux/types.h>

#include "smtpguard.h"

/* This build's layout version of map: its SG_*_LAYOUT, or 1. */
__u32 sg_layout_version(const char *map);

/*
 * The record of name (a map or an object) in the pinned sg_layout: version
 * 1 and build 0 when there is none, as pins made before sg_layout have.
 */
int sg_layout_get(const char *name, struct sg_layout *out);

/* Records name's layout, making and pinning sg_layout first when it is not there. */
int sg_layout_put(const char *name, const struct sg_layout *l);

/* What identifies a build of an object: a hash of its ELF bytes. */
__u64 sg_layout_build(const void *elf, size_t size);

#endif
