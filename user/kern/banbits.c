// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "kern/banbits.h"
#include "kern/bits.h"
#include "kern/maps.h"
#include "kern/pinlock.h"
#include "kern/state.h"

#define BITS_BYTES ((size_t)SG_BAN_BITS_WORDS * sizeof(__u64))

static void set_bit(__u64 *words, __u32 bit)
{
	__atomic_fetch_or(&words[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELAXED);
}

/* Bits first to first + n - 1, n a power of two and first a multiple of it. */
static void set_range(__u64 *words, __u32 first, __u32 n)
{
	__u32 i;

	if (n < 64) {
		for (i = 0; i < n; i++)
			set_bit(words, first + i);
		return;
	}
	for (i = first / 64; i < (first + n) / 64; i++)
		__atomic_store_n(&words[i], ~0ULL, __ATOMIC_RELAXED);
}

/* The first len bits of a and b (host order, 128 bits as four words) agree. */
static int same_prefix(const __u32 a[4], const __u32 b[4], __u32 len)
{
	__u32 i, n;

	for (i = 0; i < 4 && len; i++, len -= n) {
		n = len < 32 ? len : 32;
		if ((a[i] ^ b[i]) >> (32 - n))
			return 0;
	}
	return 1;
}

void sg_ban_bits_set(__u64 *words, const struct sg_ban_key *key)
{
	static const __u32 mapped[4] = { 0, 0, 0xffff, 0 };
	__u32 len = key->prefixlen < 128 ? key->prefixlen : 128, a[4], i, l4;
	__u64 p48;

	for (i = 0; i < 4; i++)
		a[i] = ntohl(key->addr[i]);
	/* IPv4, mapped: the /24s the ban covers, all of them for a ban of the mapped range or
	 * wider. */
	if (same_prefix(a, mapped, len < 96 ? len : 96)) {
		l4 = len > 96 ? len - 96 : 0;
		if (l4 >= 24)
			set_bit(words, a[3] >> 8);
		else
			set_range(words, (a[3] >> 8) & ~((1U << (24 - l4)) - 1), 1U << (24 - l4));
		if (len >= 96)
			return;
	}
	/* Other addresses: each /48 the ban covers, or, wider than /32, all of them. */
	if (len < 32) {
		__atomic_store_n(&words[SG_BAN_BITS_WIDE], 1, __ATOMIC_RELAXED);
		return;
	}
	p48 = ((__u64)a[0] << 16) | (a[1] >> 16);
	if (len >= 48) {
		set_bit(words, sg_ban_bit48(p48));
		return;
	}
	p48 &= ~((1ULL << (48 - len)) - 1);
	for (i = 0; i < 1U << (48 - len); i++)
		set_bit(words, sg_ban_bit48(p48 | i));
}

int sg_ban_bits_pin(struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".bss");
	char path[PATH_MAX];
	int err;

	if (!map || bpf_map__value_size(map) != BITS_BYTES)
		return -ENOENT;
	err = sg_pin_path(path, sizeof(path), SG_MAP_BAN_BITS);
	return err ? err : bpf_map__set_pin_path(map, path);
}

void sg_ban_bits_unlock(int lock)
{
	if (lock >= 0)
		close(lock);
}

int sg_ban_bits_mark(const struct sg_ban_key *key)
{
	int fd = sg_pins_bans_lock(), err;
	__u64 *words;

	if (fd < 0)
		return fd;
	err = sg_pin_mmap(SG_MAP_BAN_BITS, BITS_BYTES, (void **)&words);
	if (err) {
		close(fd);
		return err;
	}
	if (words) {
		sg_ban_bits_set(words, key);
		munmap(words, BITS_BYTES);
	}
	return fd;
}

static int add_ban(const void *key, const void *value, void *ctx)
{
	sg_ban_bits_set(ctx, key);
	return 0;
}

/* Under the bans' lock: no ban is put between the walk and the store. */
int sg_ban_bits_rebuild(void)
{
	int fd = sg_pins_bans_lock(), err;

	if (fd < 0)
		return fd;
	err = sg_bits_rebuild(SG_MAP_BAN_BITS, SG_BAN_BITS_WORDS, SG_MAP_BANS, add_ban, 0);
	sg_ban_bits_unlock(fd);
	return err;
}
