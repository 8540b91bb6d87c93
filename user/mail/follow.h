/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Follows log files as `tail -F` does, for the MTA logs: one inotify
 * descriptor (for the caller's epoll) on the files' directories, so a file
 * that appears, is rotated (renamed away, a new one created) or truncated
 * (copytruncate) is noticed. Each read also checks the path's inode and
 * size, so a missed event costs at most one call's delay and never a
 * line: a rotated file is read to its end before the new one is opened
 * (from its start), then still read, before the new one, until it has not
 * grown for 10 s (a writer not yet told of the rotation); a file shorter
 * than the offset read is read again from its start. A partial last line
 * waits for its newline (a rotated file's is a line when the new one is
 * opened); lines longer than SG_MTA_LINE_MAX are cut there (the rest
 * dropped, counted).
 * Functions return -errno.
 */
#ifndef SG_FOLLOW_H
#define SG_FOLLOW_H

#include <stddef.h>
#include <linux/types.h>

#define SG_FOLLOW_MAX 8 /* files per follower */

struct sg_follower;

/*
 * fn gets each complete line without its newline (NUL-terminated too, valid
 * during the call); index is the file's, in sg_follow_add order. fn must not
 * call sg_follower_read.
 */
typedef void (*sg_follow_fn)(int index, const char *line, size_t len, void *ctx);

struct sg_follower *sg_follower_new(void);
void sg_follower_free(struct sg_follower *f);

/*
 * Follows path (which may not exist yet; its directory must). from_start:
 * read what the file holds already; else start at its end (after the line
 * being written there, if any); a file that appears later is read from its
 * start. Returns the file's index; -ENOSPC past SG_FOLLOW_MAX, -errno when
 * the directory cannot be watched or the file is there but cannot be opened.
 */
int sg_follow_add(struct sg_follower *f, const char *path, int from_start);

/* The inotify descriptor: readable when a followed file may have changed. */
int sg_follower_fd(const struct sg_follower *f);

/*
 * Drains the inotify descriptor, then reads every file's new lines, at most
 * max_bytes in all per call (so a huge backlog cannot starve the caller's
 * loop; 0: no bound), and gives them to fn. Returns the number of lines,
 * or -errno for an error that stops following (a file that cannot be read
 * is retried at the next call, not an error).
 */
int sg_follower_read(struct sg_follower *f, size_t max_bytes, sg_follow_fn fn, void *ctx);

/* Counters, for /metrics and tests. */
struct sg_follow_stats {
	__u64 lines;
	__u64 bytes;
	__u64 rotations;   /* a new inode at the path */
	__u64 truncations; /* the file shrank below what was read */
	__u64 cut;	   /* lines cut at SG_MTA_LINE_MAX */
};
void sg_follower_stats(const struct sg_follower *f, int index, struct sg_follow_stats *out);

#endif
