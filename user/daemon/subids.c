// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/subids.h"
#include "kern/maps.h"
#include "kern/subuids.h"
#include "sg_bucket.h"
#include "util/log.h"

/* Every account's UID, sorted: a range holding one is refused. */
struct accounts {
	__u32 *uids;
	size_t n;
};

static int uid_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

static int accounts_read(struct accounts *a)
{
	size_t cap = 0;
	struct passwd *pw;
	__u32 *grown;

	setpwent();
	while ((pw = getpwent())) {
		if (a->n == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(a->uids, cap * sizeof(*grown));
			if (!grown) {
				endpwent();
				return -ENOMEM;
			}
			a->uids = grown;
		}
		a->uids[a->n++] = pw->pw_uid;
	}
	endpwent();
	qsort(a->uids, a->n, sizeof(*a->uids), uid_cmp);
	return 0;
}

static int owner_of(const char *name, __u32 *uid, void *ctx)
{
	struct passwd *pw = getpwnam(name);

	if (!pw)
		return -ENOENT;
	*uid = pw->pw_uid;
	return 0;
}

/* The first account UID at or above start, by bisection. */
static int account_in(__u32 start, __u32 count, __u32 *uid, void *ctx)
{
	const struct accounts *a = ctx;
	size_t lo = 0, hi = a->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->uids[mid] < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->n || (__u64)a->uids[lo] >= (__u64)start + count)
		return 0;
	*uid = a->uids[lo];
	return 1;
}

/* path's ranges (none when it is absent) into set; -errno when it cannot be read. */
static int read_file(const char *path, struct sg_subid_set *set)
{
	struct accounts a = {};
	struct sg_subid_env env = { .owner = owner_of, .account = account_in, .ctx = &a };
	FILE *f = *path ? fopen(path, "re") : NULL;
	int err;

	if (!f)
		return !*path || errno == ENOENT ? 0 : -errno;
	err = accounts_read(&a);
	if (!err)
		err = sg_subid_read(f, path, &env, set);
	fclose(f);
	free(a.uids);
	return err;
}

static int changed(const struct sg_subids *s, const struct stat *now, int seen)
{
	if (seen != s->seen)
		return 1;
	return seen &&
	       (now->st_ino != s->st.st_ino || now->st_dev != s->st.st_dev ||
		now->st_size != s->st.st_size || now->st_mtim.tv_sec != s->st.st_mtim.tv_sec ||
		now->st_mtim.tv_nsec != s->st.st_mtim.tv_nsec ||
		now->st_ctim.tv_sec != s->st.st_ctim.tv_sec ||
		now->st_ctim.tv_nsec != s->st.st_ctim.tv_nsec);
}

void sg_subids_refresh(struct sg_subids *s, const char *path, int force)
{
	struct sg_subid_set set = {};
	struct stat st = {};
	int seen = *path && !stat(path, &st), err;
	__u64 refused = 0, now = sg_boot_ns();
	size_t i;

	if (!force && (s->failures ? now < s->retry_ns : !changed(s, &st, seen)))
		return;
	s->seen = seen;
	s->st = st;
	/* Each try reads the file and walks the trie: after a failed write, not every tick. */
	s->retry_ns = now + (s->failures ? 60 : 10) * SG_NS_PER_SEC;
	err = read_file(path, &set);
	if (err) {
		sg_error("sub-UIDs: reading %s: %s; the ranges in the kernel stay", path,
			 strerror(-err));
		goto out;
	}
	err = sg_subuids_apply(&set);
	if (err) {
		if (!s->failures)
			sg_error("sub-UIDs: writing %s: %s; tried again in 10 s, then every 60 s",
				 SG_MAP_SUBUIDS, strerror(-err));
		s->failures++;
	} else {
		if (s->failures)
			sg_info("sub-UIDs: %s written, after %u failed write%s", SG_MAP_SUBUIDS,
				s->failures, s->failures == 1 ? "" : "s");
		s->failures = 0;
		memcpy(s->outcomes, set.outcomes, sizeof(s->outcomes));
		for (i = SG_SUBID_LOADED + 1; i < SG_SUBID__MAX; i++)
			refused += set.outcomes[i];
		sg_info("sub-UIDs: %llu range%s of %s policed as their owners', %llu refused",
			(unsigned long long)set.outcomes[SG_SUBID_LOADED],
			set.outcomes[SG_SUBID_LOADED] == 1 ? "" : "s", *path ? path : "(none)",
			(unsigned long long)refused);
		if (set.outcomes[SG_SUBID_FULL])
			sg_warn("sub-UIDs: %llu range%s found no room in %s",
				(unsigned long long)set.outcomes[SG_SUBID_FULL],
				set.outcomes[SG_SUBID_FULL] == 1 ? "" : "s", SG_MAP_SUBUIDS);
	}
out:
	sg_subid_free(&set);
}
