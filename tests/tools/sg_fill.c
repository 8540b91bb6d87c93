// SPDX-License-Identifier: GPL-2.0
/*
 * sg_fill: puts a big host's worth of entries into the pinned maps, as if
 * UIDS users had each sent to FLOWS destinations from one process: the
 * load `make bench` measures the daemon under. UIDs start at 200000, far
 * from real ones; destinations are in 198.18.0.0/15 (benchmarking addresses).
 *
 * Usage: sg_fill UIDS FLOWS [ROUND [STEP]]   (SMTPGUARD_PIN_DIR pointing at the state)
 * Each ROUND (default 0) adds STEP (default 1000) connections per UID to the
 * previous one's.
 *        sg_fill --buckets
 * fills sg_buckets to its capacity with fresh buckets of UIDs from
 * 3000000000 on: the state a flood of fresh UIDs leaves, where a throttled
 * user without a bucket yet fails closed.
 *        sg_fill --policies
 * fills sg_policies to its capacity with observe policies of UIDs from
 * 3000000000 on, for ever, each with its bit in sg_policy_bits as every
 * writer sets it;
 *        sg_fill --expire N
 * and makes the time of the first N of them up now, all at once;
 *        sg_fill --bans
 * fills sg_bans to its capacity with bans of single addresses no test uses.
 *        sg_fill --subuids N
 * gives N users useradd's sub-UIDs (Debian's /etc/subuid: 65,536 each from
 * 100000 on, the Nth user's owned by UID 1000 + N - 1, below them all)
 * through the daemon's writer: a hosting server's sg_subuids. Up to 30,516
 * users they stay below the benches' senders (2000000001 on).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "kern/maps.h"
#include "kern/policybits.h"
#include "kern/subuids.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "kern/state.h"

#define UID_BASE 200000

static int fill(__u32 uids, __u32 flows, __u32 round, __u32 step)
{
	int stats_fd = sg_pin_open(SG_MAP_UID_STATS), flows_fd = sg_pin_open(SG_MAP_FLOWS);
	int senders_fd = sg_pin_open(SG_MAP_SENDERS), err = 0;
	__u64 now = sg_boot_ns();
	__u8 *marks = NULL, *flow_marks = NULL;
	__u32 i, j;

	if (stats_fd < 0 || flows_fd < 0 || senders_fd < 0) {
		err = stats_fd < 0 ? stats_fd : flows_fd < 0 ? flows_fd : senders_fd;
		goto cleanup;
	}
	/* Marked as the kernel marks its writes (smtpguard.h), or the daemon would not look. */
	err = sg_pin_mmap(SG_MAP_UID_MARKS, SG_UID_MARKS_SIZE, (void **)&marks);
	if (!err)
		err = sg_pin_mmap(SG_MAP_FLOW_MARKS, SG_FLOW_MARKS_SIZE, (void **)&flow_marks);
	for (i = 0; i < uids && !err; i++) {
		__u64 n = 10 + i % 997 + (__u64)round * step;
		struct sg_uid_stats st = {
			.attempts = n, .allowed = n, .first_ns = now, .last_ns = now
		};
		struct sg_uid_stats old;
		struct sg_sender_key sk = { .uid = UID_BASE + i, .tgid = 100000 + i };
		struct sg_sender s = { .first_ns = now, .last_ns = now, .attempts = st.attempts };
		__u32 uid = UID_BASE + i;
		int made;

		snprintf(s.comm, sizeof(s.comm), "php-fpm");
		/* A later round counts on, as the kernel does: the UID's first count stays. */
		made = bpf_map_lookup_elem(stats_fd, &uid, &old) != 0;
		if (round && !made)
			st.first_ns = old.first_ns;
		if (bpf_map_update_elem(stats_fd, &uid, &st, BPF_ANY) ||
		    bpf_map_update_elem(senders_fd, &sk, &s, BPF_ANY))
			err = -errno;
		if (marks) {
			marks[uid & 0xffff] = 1;
			marks[SG_UID_MARK_MADE * 8] |= made;
		}
		for (j = 0; j < flows && !err; j++) {
			struct sg_flow_key k = { .uid = uid, .port = 25 };
			struct sg_flow f = { .attempts = 1, .first_ns = now, .last_ns = now };

			k.addr[2] = htonl(0xffff);
			k.addr[3] = htonl(0xc6120000 + i * flows + j); /* 198.18.0.0/15 */
			if (bpf_map_update_elem(flows_fd, &k, &f, BPF_ANY))
				err = -errno;
			if (flow_marks)
				flow_marks[sg_flow_mark_slot(uid, k.addr)] = 1;
		}
	}
cleanup:
	if (marks)
		munmap(marks, SG_UID_MARKS_SIZE);
	if (flow_marks)
		munmap(flow_marks, SG_FLOW_MARKS_SIZE);
	if (stats_fd >= 0)
		close(stats_fd);
	if (flows_fd >= 0)
		close(flows_fd);
	if (senders_fd >= 0)
		close(senders_fd);
	return err;
}

#define FILL_UID_BASE 3000000000U

/* Writes value for uid as map's writers do: a policy with its bit set first. */
static int put(const char *map, int fd, __u32 uid, const void *value, __u64 flags)
{
	if (!strcmp(map, SG_MAP_POLICIES))
		return sg_policy_put(fd, uid, value, flags);
	return bpf_map_update_elem(fd, &uid, value, flags) ? -errno : 0;
}

/* map (keyed by UID) filled to its capacity with value, for UIDs from FILL_UID_BASE on. */
static int fill_map(const char *map, const void *value)
{
	__u32 uid = FILL_UID_BASE;
	int fd = sg_pin_open(map), err;

	if (fd < 0)
		return fd;
	while (!(err = put(map, fd, uid, value, BPF_NOEXIST)))
		uid++;
	close(fd);
	return err == -E2BIG ? 0 : err;
}

/* sg_bans filled to its capacity with bans of fd00:5347::N/128 (unique local: no test's peer). */
static int fill_bans(void)
{
	struct sg_ban_key k = { .prefixlen = 128, .addr = { htonl(0xfd005347) } };
	struct sg_ban b = { .prefixlen = 128, .reason = SG_BAN_MANUAL, .added_ns = sg_boot_ns() };
	int fd = sg_pin_open(SG_MAP_BANS), err = 0;
	__u32 i = 0;

	if (fd < 0)
		return fd;
	do
		k.addr[3] = htonl(i++);
	while (!bpf_map_update_elem(fd, &k, &b, BPF_NOEXIST));
	if (errno != ENOSPC)
		err = -errno;
	close(fd);
	return err;
}

#define SUBUID_FIRST 100000
#define SUBUID_COUNT 65536
#define SUBUID_OWNER 1000 /* useradd's first user, whose range starts at SUBUID_FIRST */
/* The most users whose ranges end below UID 4294967295, the last sg_subid_read allows. */
#define SUBUID_USERS_MAX ((0xffffffffUL - SUBUID_FIRST) / SUBUID_COUNT)

static int fill_subuids(__u32 n)
{
	struct sg_subid_set set = { .ranges = calloc(n, sizeof(*set.ranges)), .n = n, .cap = n };
	__u32 i;
	int err;

	if (!set.ranges)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		set.ranges[i] = (struct sg_subid_range){ .owner = SUBUID_OWNER + i,
							 .start = SUBUID_FIRST + SUBUID_COUNT * i,
							 .count = SUBUID_COUNT,
							 .line = i + 1 };
	set.outcomes[SG_SUBID_LOADED] = n;
	err = sg_subuids_apply(&set);
	if (!err && set.outcomes[SG_SUBID_FULL]) {
		fprintf(stderr, "sg_fill: %llu of %u ranges found no room in %s\n",
			(unsigned long long)set.outcomes[SG_SUBID_FULL], n, SG_MAP_SUBUIDS);
		err = -ENOSPC;
	}
	sg_subid_free(&set);
	return err;
}

/* The first n fillers' time is up now, together. */
static int expire_policies(__u32 n)
{
	struct sg_policy p;
	__u32 uid;
	int fd = sg_pin_open(SG_MAP_POLICIES), err = 0;
	__u64 now = sg_boot_ns();

	if (fd < 0)
		return fd;
	for (uid = FILL_UID_BASE; uid < FILL_UID_BASE + n && !err; uid++) {
		if (bpf_map_lookup_elem(fd, &uid, &p))
			err = -errno;
		p.expires_ns = now;
		if (!err)
			err = put(SG_MAP_POLICIES, fd, uid, &p, BPF_EXIST);
	}
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	unsigned long n;
	char *end;
	int err;

	if (argc == 2 && !strcmp(argv[1], "--buckets")) {
		err = fill_map(SG_MAP_BUCKETS, &(struct sg_bucket){});
	} else if (argc == 2 && !strcmp(argv[1], "--policies")) {
		err = fill_map(SG_MAP_POLICIES, &(struct sg_policy){ .mode = SG_MODE_OBSERVE,
								     .set_by = SG_SET_CLI,
								     .updated_ns = sg_boot_ns() });
	} else if (argc == 2 && !strcmp(argv[1], "--bans")) {
		err = fill_bans();
	} else if (argc == 3 && !strcmp(argv[1], "--subuids")) {
		n = strtoul(argv[2], &end, 10);
		if (!*argv[2] || *end || !n || n > SUBUID_USERS_MAX) {
			fprintf(stderr,
				"sg_fill: --subuids %s: not a number of users from 1 to %lu\n",
				argv[2], SUBUID_USERS_MAX);
			return 2;
		}
		err = fill_subuids(n);
	} else if (argc == 3 && !strcmp(argv[1], "--expire")) {
		err = expire_policies(strtoul(argv[2], NULL, 10));
	} else if (argc >= 3 && argc <= 5) {
		err = fill(strtoul(argv[1], NULL, 10), strtoul(argv[2], NULL, 10),
			   argc >= 4 ? strtoul(argv[3], NULL, 10) : 0,
			   argc == 5 ? strtoul(argv[4], NULL, 10) : 1000);
	} else {
		fprintf(stderr, "usage: sg_fill UIDS FLOWS [ROUND [STEP]] | sg_fill --buckets | "
				"sg_fill --policies | sg_fill --expire N | sg_fill --bans | "
				"sg_fill --subuids N\n");
		return 2;
	}
	if (err) {
		fprintf(stderr, "sg_fill: %s: %s\n", sg_pin_dir(), strerror(-err));
		return 1;
	}
	return 0;
}
