/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This build's programs on the pinned maps: reused when pinned from this
 * build; else loaded and pinned, and over another build's pins swapped in
 * where the old ones run, with the maps of another layout converted first
 * (migrate.h). Functions return -errno.
 */
#ifndef SG_PROGRAMS_H
#define SG_PROGRAMS_H

#include <stddef.h>

#define PIN_PROG_CONNECT4 "prog_connect4"
#define PIN_PROG_CONNECT6 "prog_connect6"
#define PIN_PROG_EGRESS	  "prog_egress"
#define PIN_PROG_INGRESS  "prog_ingress"
#define PIN_PROG_SOCKOPS  "prog_sockops"

/* Makes whatever runs the program pinned as pin run prog_fd instead, each hook in one step. */
typedef int (*sg_swap_fn)(const char *pin, int prog_fd);

/*
 * Everything that can fail is tried before the first pin changes. On
 * error, why says what failed, for the caller to report; -EPROTO: pins
 * this build cannot take over, and nothing was changed.
 */
int sg_programs_load(sg_swap_fn swap, char *why, size_t len);

/* 1 when programs of another build are pinned (attaching would upgrade them), else 0 or -errno. */
int sg_programs_other_build(void);

#endif
