// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kern/bits.h"
#include "kern/state.h"

void sg_bits_store(__u64 *words, const __u64 *bits, size_t n, int add)
{
	__u64 now;
	size_t i;

	for (i = 0; i < n; i++) {
		now = __atomic_load_n(&words[i], __ATOMIC_RELAXED);
		if (add && (bits[i] & ~now))
			__atomic_fetch_or(&words[i], bits[i], __ATOMIC_RELAXED);
		else if (!add && bits[i] != now)
			__atomic_store_n(&words[i], bits[i], __ATOMIC_RELAXED);
	}
}

int sg_bits_rebuild(const char *bits, size_t n, const char *src, sg_entry_fn mark, int add)
{
	__u64 *words, *fresh = calloc(n, sizeof(__u64));
	int err = fresh ? sg_pin_mmap(bits, n * sizeof(__u64), (void **)&words) : -ENOMEM;
	int fd = -1;

	if (!err && words) {
		fd = sg_pin_open(src);
		err = fd < 0 ? fd : sg_map_for_each(fd, mark, fresh);
		if (!err)
			sg_bits_store(words, fresh, n, add);
		munmap(words, n * sizeof(__u64));
	}
	if (fd >= 0)
		close(fd);
	free(fresh);
	return err;
}
