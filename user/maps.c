// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"

/* Per-CPU map values are laid out 8-byte aligned, one per possible CPU. */
static size_t percpu_stride(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

static void *percpu_alloc(size_t value_size, int *ncpus)
{
	*ncpus = libbpf_num_possible_cpus();
	if (*ncpus <= 0)
		return NULL;
	return calloc(*ncpus, percpu_stride(value_size));
}

int sg_percpu_sum(int fd, const void *key, size_t value_size, size_t off, __u64 *sum, size_t n)
{
	int ncpus, cpu, err = 0;
	size_t i, stride = percpu_stride(value_size);
	char *vals = percpu_alloc(value_size, &ncpus);

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, vals)) {
		err = -errno;
		goto cleanup;
	}
	memset(sum, 0, n * sizeof(*sum));
	for (cpu = 0; cpu < ncpus; cpu++) {
		const __u64 *v = (const __u64 *)(vals + cpu * stride + off);

		for (i = 0; i < n; i++)
			sum[i] += v[i];
	}
cleanup:
	free(vals);
	return err;
}

int sg_port_set(int fd, __u32 port, __u32 flags)
{
	size_t stride = percpu_stride(sizeof(struct sg_port));
	int ncpus, cpu, err = 0;
	char *vals = percpu_alloc(sizeof(struct sg_port), &ncpus);

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &port, vals) && errno != ENOENT) {
		err = -errno;
		goto cleanup;
	}
	for (cpu = 0; cpu < ncpus; cpu++)
		((struct sg_port *)(vals + cpu * stride))->flags = flags;
	if (bpf_map_update_elem(fd, &port, vals, BPF_ANY))
		err = -errno;
cleanup:
	free(vals);
	return err;
}

int sg_port_get(int fd, __u32 port, struct sg_port *out)
{
	const size_t first = offsetof(struct sg_port, connects) / sizeof(__u64);
	const size_t n = sizeof(struct sg_port) / sizeof(__u64);
	size_t stride = percpu_stride(sizeof(struct sg_port));
	int ncpus, cpu, err = 0;
	char *vals = percpu_alloc(sizeof(struct sg_port), &ncpus);
	size_t i;

	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &port, vals)) {
		err = -errno;
		goto cleanup;
	}
	/* Flags are the same on every CPU; the counters add up. */
	memset(out, 0, sizeof(*out));
	out->flags = ((struct sg_port *)vals)->flags;
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = first; i < n; i++)
			((__u64 *)out)[i] += ((__u64 *)(vals + cpu * stride))[i];
cleanup:
	free(vals);
	return err;
}

int sg_ports_default(int fd)
{
	static const struct {
		__u32 port, flags;
	} defaults[] = {
		{ 25, SG_PORT_OUTBOUND | SG_PORT_INBOUND },
		{ 465, SG_PORT_OUTBOUND | SG_PORT_INBOUND },
		{ 587, SG_PORT_OUTBOUND | SG_PORT_INBOUND },
		{ 110, SG_PORT_INBOUND },
		{ 143, SG_PORT_INBOUND },
		{ 993, SG_PORT_INBOUND },
		{ 995, SG_PORT_INBOUND },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		err = sg_port_set(fd, defaults[i].port, defaults[i].flags);
		if (err)
			return err;
	}
	return 0;
}

int sg_counter_get(int fd, __u32 idx, __u64 *out)
{
	return sg_percpu_sum(fd, &idx, sizeof(__u64), 0, out, 1);
}

int sg_map_count(int fd, __u32 key_size)
{
	char key[64], next[64];
	void *prev = NULL;
	int n = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

__u64 sg_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
