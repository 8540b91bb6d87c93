/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One hash table for every module that keeps entries by key: open
 * addressing with linear probing, at most three quarters full, deletion by backward
 * shift (no tombstones, so probes stay short however many come and go).
 * Entries are the caller's structs, stored in the table, each starting
 * with its key: key_size bytes compared as they are, or a NUL-terminated
 * string of fewer than key_size bytes. The table doubles as it fills, up
 * to an optional bound of entries; what is refused at the bound is
 * counted, for the callers' drop metrics.
 *
 * An entry's address holds until the next add or delete, which may move
 * entries; a caller that keeps pointers across them stores pointers.
 * Functions return -errno.
 */
#ifndef SG_HTAB_H
#define SG_HTAB_H

#include <stddef.h>
#include <linux/types.h>

enum sg_htab_key {
	SG_HTAB_BYTES,	/* key_size bytes */
	SG_HTAB_STRING, /* a string, NUL included, within key_size bytes */
	/*
	 * The entry starts with a const char * to its key, a string as above
	 * kept by the caller (long keys, few entries: not a key_size copy in
	 * every slot). sg_htab_add points a new entry at the key it was
	 * given; the caller points it at its own copy before the next call.
	 */
	SG_HTAB_STRING_REF,
};

struct sg_htab;

/*
 * entry_size bytes an entry, its key first. Room for min entries to begin
 * with; max bounds the entries (0: only memory does). NULL on ENOMEM or
 * when the sizes make no table (EINVAL), errno set.
 */
struct sg_htab *sg_htab_new(enum sg_htab_key kind, size_t key_size, size_t entry_size, size_t min,
			    size_t max);
void sg_htab_free(struct sg_htab *h);

/* The entry of key, or NULL. */
void *sg_htab_find(const struct sg_htab *h, const void *key);

/*
 * The entry of key into *entry: 0 when it was there, 1 when added now (all
 * zero but its key). -ENOSPC at max (counted as refused), -ENOMEM, or
 * -ENAMETOOLONG for a string key that does not fit.
 */
int sg_htab_add(struct sg_htab *h, const void *key, void **entry);

/* 0, or -ENOENT when key has no entry. */
int sg_htab_delete(struct sg_htab *h, const void *key);

/* Deletes every entry; the room stays. */
void sg_htab_clear(struct sg_htab *h);

size_t sg_htab_count(const struct sg_htab *h);

/* Adds refused at max since the table was made. */
__u64 sg_htab_refused(const struct sg_htab *h);

/*
 * Iteration: the entry at or after *pos in the table's order, *pos moved
 * past it; NULL at the end. Start with *pos = 0. Each entry is seen once
 * provided nothing is added or deleted meanwhile.
 */
void *sg_htab_next(const struct sg_htab *h, size_t *pos);

/*
 * Up to n entries stored from key's place on, in probe order, into out;
 * returns how many. A sample for a bounded table that makes room by
 * dropping the idlest of a few entries rather than searching them all.
 */
size_t sg_htab_near(const struct sg_htab *h, const void *key, void **out, size_t n);

#endif
