/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sub-UID ranges of /etc/subuid (subuid(5): "owner:start:count", the
 * owner a login name or a UID), read into the ranges the kernel maps to
 * their owner (sg_subuids), and each range cut into the prefixes an LPM
 * trie holds. Pure: the caller says who a name is and which UIDs are
 * real accounts. Functions return -errno.
 *
 * A line is refused, logged with its file and line, and counted by why:
 * - malformed: not three fields, a number out of range, a count of 0, or a
 *   range that runs past UID 4294967294;
 * - unknown_owner: a name with no account;
 * - root: root's ranges (the container runtimes') stay UID by UID, as
 *   root is never limited and would take them all with it;
 * - account: the range holds a real account's UID (its owner's included),
 *   which would be policed as another user;
 * - overlap: it overlaps a range that starts before it (or at the same
 *   UID on an earlier line), which keeps its UIDs;
 * - full: no room left in the kernel's map.
 */
#ifndef SG_SUBID_H
#define SG_SUBID_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "smtpguard.h"

#define SG_SUBID_OUTCOMES(X)                                                                       \
	X(SG_SUBID_LOADED, "loaded")                                                               \
	X(SG_SUBID_MALFORMED, "malformed")                                                         \
	X(SG_SUBID_UNKNOWN_OWNER, "unknown_owner")                                                 \
	X(SG_SUBID_ROOT, "root")                                                                   \
	X(SG_SUBID_ACCOUNT, "account")                                                             \
	X(SG_SUBID_OVERLAP, "overlap")                                                             \
	X(SG_SUBID_FULL, "full")

enum sg_subid_outcome { SG_SUBID_OUTCOMES(SG_ENUM_VALUE) SG_SUBID__MAX };

extern const char *const sg_subid_outcome_names[SG_SUBID__MAX];

/* A range [start, start + count) and its owner; line: where the file gave it. */
struct sg_subid_range {
	__u32 owner, start, count;
	unsigned line;
};

/* What the file gave: the ranges kept, and every line by outcome. */
struct sg_subid_set {
	struct sg_subid_range *ranges;
	size_t n, cap;
	__u64 outcomes[SG_SUBID__MAX];
};

/* Who the first field names: 0 with *uid set, or -ENOENT. */
typedef int (*sg_subid_owner_fn)(const char *name, __u32 *uid, void *ctx);
/* 1 with *uid set to a real account's UID in [start, start + count), else 0. */
typedef int (*sg_subid_account_fn)(__u32 start, __u32 count, __u32 *uid, void *ctx);

struct sg_subid_env {
	sg_subid_owner_fn owner;
	sg_subid_account_fn account;
	void *ctx;
};

/*
 * Reads f (its name path, for the messages) into set, which must be
 * empty; refused lines are logged (warn) and counted, never fatal. The
 * ranges kept are sorted by start and never overlap. -ENOMEM, or -EIO
 * when f fails.
 */
int sg_subid_read(FILE *f, const char *path, const struct sg_subid_env *env,
		  struct sg_subid_set *set);

void sg_subid_free(struct sg_subid_set *set);

/* The largest aligned blocks that tile a range, at most 64: returns how many. */
#define SG_SUBID_MAX_PREFIXES 64
int sg_subid_prefixes(__u32 start, __u32 count, struct sg_subuid_key *out);

#endif
