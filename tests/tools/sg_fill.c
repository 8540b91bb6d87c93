// SPDX-License-Identifier: GPL-2.0
/*
 * sg_fill: puts a big host's worth of entries into the pinned maps, as if
 * UIDS users had each sent to FLOWS destinations from one process: the
 * load `make bench` measures the daemon under. UIDs start at 200000, far
 * from real ones; destinations are in 198.18.0.0/15 (benchmarking addresses).
 *
 * Usage: sg_fill UIDS FLOWS [ROUND]   (SMTPGUARD_PIN_DIR pointing at the state)
 * Each ROUND (default 0) adds 1000 connections per UID to the previous one's.
 *        sg_fill --buckets
 * fills sg_buckets to its capacity with fresh buckets of UIDs from
 * 3000000000 on: the state a flood of fresh UIDs leaves, where a throttled
 * user without a bucket yet fails closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kern/maps.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "kern/state.h"

#define UID_BASE 200000

static int fill(__u32 uids, __u32 flows, __u32 round)
{
	int stats_fd = sg_pin_open(SG_MAP_UID_STATS), flows_fd = sg_pin_open(SG_MAP_FLOWS);
	int senders_fd = sg_pin_open(SG_MAP_SENDERS), err = 0;
	__u64 now = sg_boot_ns();
	__u32 i, j;

	if (stats_fd < 0 || flows_fd < 0 || senders_fd < 0) {
		err = stats_fd < 0 ? stats_fd : flows_fd < 0 ? flows_fd : senders_fd;
		goto cleanup;
	}
	for (i = 0; i < uids && !err; i++) {
		__u64 n = 10 + i % 997 + round * 1000ULL;
		struct sg_uid_stats st = {
			.attempts = n, .allowed = n, .first_ns = now, .last_ns = now
		};
		struct sg_sender_key sk = { .uid = UID_BASE + i, .tgid = 100000 + i };
		struct sg_sender s = { .first_ns = now, .last_ns = now, .attempts = st.attempts };
		__u32 uid = UID_BASE + i;

		snprintf(s.comm, sizeof(s.comm), "php-fpm");
		if (bpf_map_update_elem(stats_fd, &uid, &st, BPF_ANY) ||
		    bpf_map_update_elem(senders_fd, &sk, &s, BPF_ANY))
			err = -errno;
		for (j = 0; j < flows && !err; j++) {
			struct sg_flow_key k = { .uid = uid, .port = 25 };
			struct sg_flow f = { .attempts = 1, .first_ns = now, .last_ns = now };

			k.addr[2] = htonl(0xffff);
			k.addr[3] = htonl(0xc6120000 + i * flows + j); /* 198.18.0.0/15 */
			if (bpf_map_update_elem(flows_fd, &k, &f, BPF_ANY))
				err = -errno;
		}
	}
cleanup:
	if (stats_fd >= 0)
		close(stats_fd);
	if (flows_fd >= 0)
		close(flows_fd);
	if (senders_fd >= 0)
		close(senders_fd);
	return err;
}

static int fill_buckets(void)
{
	struct sg_bucket b = {};
	__u32 uid = 3000000000U;
	int fd = sg_pin_open(SG_MAP_BUCKETS), err = 0;

	if (fd < 0)
		return fd;
	while (!bpf_map_update_elem(fd, &uid, &b, BPF_NOEXIST))
		uid++;
	if (errno != E2BIG)
		err = -errno;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	int err;

	if (argc == 2 && !strcmp(argv[1], "--buckets")) {
		err = fill_buckets();
	} else if (argc == 3 || argc == 4) {
		err = fill(strtoul(argv[1], NULL, 10), strtoul(argv[2], NULL, 10),
			   argc == 4 ? strtoul(argv[3], NULL, 10) : 0);
	} else {
		fprintf(stderr, "usage: sg_fill UIDS FLOWS [ROUND] | sg_fill --buckets\n");
		return 2;
	}
	if (err) {
		fprintf(stderr, "sg_fill: %s: %s\n", sg_pin_dir(), strerror(-err));
		return 1;
	}
	return 0;
}
