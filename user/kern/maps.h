/* SPDX-License-Identifier: GPL-2.0 */
/* Reading and writing smtpguard's maps from user space. Functions return -errno. */
#ifndef SG_MAPS_H
#define SG_MAPS_H

#include <stddef.h>
#include <linux/types.h>

#include "smtpguard.h"

/* Per-CPU values: sum over CPUs of an array of n __u64 counters starting at byte offset off. */
int sg_percpu_sum(int fd, const void *key, size_t value_size, size_t off, __u64 *sum, size_t n);

/* sg_ports: set a port's flags on every CPU, keeping its counters, and its sg_port_bits. */
int sg_port_set(int fd, __u32 port, __u32 flags);
/* sg_ports: remove a port (none is no error), and clear its sg_port_bits. */
int sg_port_remove(int fd, __u32 port);

/* sg_port_bits made again from sg_ports, as the programs are loaded and before they run. */
int sg_port_bits_rebuild(void);

/* sg_ports: one port's per-CPU values summed (flags from CPU 0). */
void sg_port_sum(const void *percpu, struct sg_port *out);
int sg_port_get(int fd, __u32 port, struct sg_port *out);

/* The defaults: outbound 25, 465, 587; inbound 25, 465, 587, 110, 143, 993, 995. */
int sg_ports_default(int fd);

/* The outbound ports, a bit each (SG_PORT_BITS bytes): sg_ports's, or 25, 465, 587 unattached. */
#define SG_PORT_BITS (65536 / 8)
int sg_watched_ports(__u8 *bits);

static inline int sg_port_watched(const __u8 *bits, __u16 port)
{
	return bits[port / 8] & (1U << (port % 8));
}

/* sg_errors or sg_counters: index summed over CPUs. */
int sg_counter_get(int fd, __u32 idx, __u64 *out);

typedef int (*sg_entry_fn)(const void *key, const void *value, void *ctx);

/*
 * Calls fn for every entry until it returns non-zero. Hash maps are read in
 * batches: a get_next_key walk restarts from the first key when an LRU
 * evicts its cursor, and would count entries twice. Per-CPU values come
 * whole: one per possible CPU, 8-byte aligned.
 */
int sg_map_for_each(int fd, sg_entry_fn fn, void *ctx);

/* Entries in a map, or -errno. */
int sg_map_count(int fd);

#define SG_CURSOR_KEY_MAX 64

/* Where a walk spread over calls (sg_map_walk_some) stopped. */
struct sg_cursor {
	/* The batch token: a hash map's bucket number, another map's last key visited. */
	__u8 token[SG_CURSOR_KEY_MAX];
	int by_key;
	int started; /* a pass is under way */
};

/* What sg_map_walk_some returns when the key it was to resume after was removed meanwhile. */
#define SG_WALK_LOST 2

/*
 * Calls fn for at most max entries of fd (read in one batch), from where
 * the last call on c stopped, until fn returns non-zero (that, returned).
 * Returns 0 when it stopped at max, 1 when the pass reached the last entry
 * (the next call starts a new one), or SG_WALK_LOST when the key it was to
 * resume after was removed by someone else since: the kernel would go on
 * from the first key and visit entries twice, so the pass ends there
 * unvisited, and what the caller gathered of it is to be dropped (the
 * next call starts a new one). The caller may remove entries fn was given
 * once the call returns, except one sg_cursor_after names: that one waits
 * until the next call has gone past it. Keys up to SG_CURSOR_KEY_MAX bytes.
 */
int sg_map_walk_some(int fd, struct sg_cursor *c, size_t max, sg_entry_fn fn, void *ctx);

/* Whether the next call on c resumes after key: a map's (not a hash's) last key visited. */
int sg_cursor_after(const struct sg_cursor *c, const void *key, size_t key_size);

/*
 * Why writing a new entry to fd failed with err, for a message: "sg_policies
 * is full (65536 entries)" where the map had no room (-E2BIG, or -ENOSPC
 * from the LPM trie), else the errno's text. Returns buf.
 */
const char *sg_map_write_error(int fd, int err, char *buf, size_t len);

/*
 * sg_bans: bans key for for_ns (0: until lifted), from now, for reason
 * (enum sg_ban_reason). Renewing a ban keeps its drop count; *renewed (may
 * be NULL) says whether there was one.
 */
int sg_ban_put(int fd, const struct sg_ban_key *key, __u64 for_ns, __u32 reason, int *renewed,
	       __u64 *expires_ns);

/*
 * sg_bans: lifts the ban of exactly key's prefix: 0, -ENOENT when there is
 * none, or -errno. Its bits leave sg_ban_bits only with a rebuild, which
 * walks every ban: with bits_err, done here once the ban is gone, its
 * result in *bits_err; a batch passes NULL to each lift and calls
 * sg_ban_bits_rebuild() once after its last.
 */
int sg_ban_lift(int fd, const struct sg_ban_key *key, int *bits_err);

/*
 * sg_ban_put, unless a ban at least as long is there already (a human's,
 * or one for good), which stays as it is: 1 then, 0 when put, or -errno.
 */
int sg_ban_raise(int fd, const struct sg_ban_key *key, __u64 for_ns, __u32 reason);

/* CLOCK_BOOTTIME in ns, the clock the kernel side uses for expiry. */
__u64 sg_boot_ns(void);

#endif
