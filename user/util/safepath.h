/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A program root runs for the daemon (a [notify] exec hook) must be root's
 * alone: were it, or a directory on its way, writable by anyone else, a
 * customer could plant a program for root to run.
 */
#ifndef SG_SAFEPATH_H
#define SG_SAFEPATH_H

#include <stddef.h>

/*
 * 0 when path (absolute) is an executable regular file and it and every
 * directory on the way to it (symbolic links followed, each from a
 * directory already checked) are owned by root and writable by no one else (a
 * root-owned directory with the sticky bit, such as /tmp, may be writable
 * by all: no one else can rename or remove root's files in it). Else
 * -errno (-EPERM for a path someone else could change) and why in why.
 */
int sg_path_root_only(const char *path, char *why, size_t len);

#endif
