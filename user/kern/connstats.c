// SPDX-License-Identifier: GPL-2.0
/* Per-UID connection outcomes from sock_ops; see connstats.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "kern/collect.h"
#include "kern/connstats.h"

#define N_COUNTERS (sizeof(struct sg_conn_stats) / sizeof(__u64))

struct read_ctx {
	struct sg_conn_row *rows;
	size_t n, cap;
	int ncpus;
};

static void add(struct sg_conn_stats *to, const struct sg_conn_stats *v)
{
	size_t i;

	for (i = 0; i < N_COUNTERS; i++)
		((__u64 *)to)[i] += ((const __u64 *)v)[i];
}

/* A per-CPU value is one struct per possible CPU (8-byte multiple: no padding between). */
static int read_row(const void *key, const void *value, void *ctx)
{
	const struct sg_conn_stats *percpu = value;
	struct read_ctx *c = ctx;
	struct sg_conn_row *row;
	size_t cap;
	void *p;
	int cpu;

	if (c->n == c->cap) {
		cap = c->cap ? c->cap * 2 : 256;
		p = realloc(c->rows, cap * sizeof(*c->rows));
		if (!p)
			return -ENOMEM;
		c->rows = p;
		c->cap = cap;
	}
	row = &c->rows[c->n++];
	memset(row, 0, sizeof(*row));
	row->uid = *(const __u32 *)key;
	for (cpu = 0; cpu < c->ncpus; cpu++)
		add(&row->s, &percpu[cpu]);
	return 0;
}

static int by_uid(const void *a, const void *b)
{
	__u32 x = ((const struct sg_conn_row *)a)->uid, y = ((const struct sg_conn_row *)b)->uid;

	return (x > y) - (x < y);
}

int sg_conn_stats_read(struct sg_conn_row **rows, size_t *n)
{
	struct read_ctx c = { .ncpus = libbpf_num_possible_cpus() };
	int err;

	*rows = NULL;
	*n = 0;
	if (c.ncpus < 0)
		return c.ncpus;
	err = sg_pin_walk(SG_MAP_CONN_STATS, read_row, &c);
	if (err) {
		free(c.rows);
		return err;
	}
	qsort(c.rows, c.n, sizeof(*c.rows), by_uid);
	*rows = c.rows;
	*n = c.n;
	return 0;
}

void sg_conn_stats_total(const struct sg_conn_row *rows, size_t n, struct sg_conn_stats *total)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < n; i++)
		add(total, &rows[i].s);
}
