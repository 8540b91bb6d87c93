// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "smtpguard.h"
#include "kern/bits.h"
#include "kern/maps.h"
#include "kern/pinlock.h"
#include "kern/policybits.h"
#include "kern/state.h"

#define BITS_BYTES ((size_t)SG_POLICY_BITS_WORDS * sizeof(__u64))

/* A policy's bit, into words no program reads yet (a rebuild's). */
static int add_policy(const void *key, const void *value, void *ctx)
{
	__u64 *words = ctx;
	__u32 bit = sg_policy_bit(*(const __u32 *)key);

	words[bit / 64] |= 1ULL << (bit % 64);
	return 0;
}

/* Sets one UID's bit in the pinned words, which the programs read meanwhile. */
static int set_uid(__u64 *words, const void *arg)
{
	__u32 bit = sg_policy_bit(*(const __u32 *)arg);

	__atomic_fetch_or(&words[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELAXED);
	return 0;
}

/* ORs the bits of every policy of the map at *arg into the pinned words. */
static int set_map(__u64 *words, const void *arg)
{
	__u64 *fresh = calloc(SG_POLICY_BITS_WORDS, sizeof(__u64));
	int err = fresh ? sg_map_for_each(*(const int *)arg, add_policy, fresh) : -ENOMEM;

	if (!err)
		sg_bits_store(words, fresh, SG_POLICY_BITS_WORDS, 1);
	free(fresh);
	return err;
}

/* Takes the lock, then set puts its bits into the pinned bitmap, if there is one: the lock's fd. */
static int lock_and_set(int (*set)(__u64 *words, const void *arg), const void *arg)
{
	int fd = sg_pins_policies_lock(), err;
	__u64 *words;

	if (fd < 0)
		return fd;
	err = sg_pin_mmap(SG_MAP_POLICY_BITS, BITS_BYTES, (void **)&words);
	if (!err && words) {
		err = set(words, arg);
		munmap(words, BITS_BYTES);
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Takes the lock and sets uid's bit: the lock's fd, for sg_policy_bits_unlock after the write. */
static int mark_uid(__u32 uid)
{
	return lock_and_set(set_uid, &uid);
}

int sg_policy_bits_mark_map(int fd)
{
	return lock_and_set(set_map, &fd);
}

void sg_policy_bits_unlock(int lock)
{
	if (lock >= 0)
		close(lock);
}

int sg_policy_put(int fd, __u32 uid, const struct sg_policy *p, __u64 flags)
{
	int lock = mark_uid(uid), err;

	if (lock < 0)
		return lock;
	err = bpf_map_update_elem(fd, &uid, p, flags) ? -errno : 0;
	sg_policy_bits_unlock(lock);
	return err;
}

/* Under the policies' lock: no policy is put between the walk and the store. */
int sg_policy_bits_rebuild(void)
{
	int fd = sg_pins_policies_lock(), err;

	if (fd < 0)
		return fd;
	err = sg_bits_rebuild(SG_MAP_POLICY_BITS, SG_POLICY_BITS_WORDS, SG_MAP_POLICIES, add_policy,
			      0);
	sg_policy_bits_unlock(fd);
	return err;
}
