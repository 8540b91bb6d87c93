/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sg_policy_bits, the connect hooks' quick "this UID has no policy of its
 * own" (smtpguard.h), kept a superset of sg_policies: a policy's bit is set
 * before the policy is written, and cleared only by a rebuild from the
 * policies. Writers of policies and rebuilds take one lock (the root-only
 * "_policies" directory: kern/pinlock.h), so that a rebuild never clears the
 * bit of a policy being put. With no sg_policy_bits pinned (programs older
 * than it) there is nothing to keep. Functions return -errno.
 */
#ifndef SG_POLICYBITS_H
#define SG_POLICYBITS_H

#include <linux/types.h>

struct sg_policy;

/*
 * Takes the lock and sets the bits of every policy in the map at fd (of
 * sg_policies' shape), whose entries are to be copied into the pinned one:
 * the lock's fd, for sg_policy_bits_unlock after the copy.
 */
int sg_policy_bits_mark_map(int fd);

/* Releases the lock (nothing when lock < 0). */
void sg_policy_bits_unlock(int lock);

/* Writes uid's policy p into the sg_policies at fd (flags: BPF_ANY...), its bit set first. */
int sg_policy_put(int fd, __u32 uid, const struct sg_policy *p, __u64 flags);

/* Makes the bits those of the policies in sg_policies now: after some are removed, and at load. */
int sg_policy_bits_rebuild(void);

#endif
