/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps used by more than one object and the helpers around them. Every
 * object declares these with LIBBPF_PIN_BY_NAME, so whichever loads first
 * creates and pins them and the others reuse the same map.
 */
#ifndef SG_COMMON_BPF_H
#define SG_COMMON_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "smtpguard.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SG_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct sg_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_ports SEC(".maps");

/* See smtpguard.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_PORT_BITS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_port_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_ERR__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_IFACES);
	__type(key, struct sg_iface_key);
	__type(value, struct sg_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_ifaces SEC(".maps");

/*
 * Written by the connect hooks only for the connections sock_ops could not
 * tell as theirs from the socket alone (sg_sock_owner in smtpguard.h), and
 * by sock_ops for a local connection it could not record; read by sock_ops:
 * one map, whichever object creates it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sg_sock_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_sock_owner SEC(".maps");

/*
 * The kernel's own structures, only the fields read here: libbpf relocates
 * them (CO-RE) to the running kernel's layout.
 */
struct sg_kuid {
	__u32 val;
};

struct sock___sg {
	struct sg_kuid sk_uid;
} __attribute__((preserve_access_index));

struct cred___sg {
	struct sg_kuid uid;
} __attribute__((preserve_access_index));

struct task_struct___sg {
	int tgid;
	char comm[16];
	const struct cred___sg *cred;
} __attribute__((preserve_access_index));

/*
 * The UID that owns a TCP socket (sk_uid: its creator's, as
 * `ss -e` shows it), or -1 for any other socket.
 */
static __always_inline __s64 sg_sock_uid(void *sk)
{
	struct sock___sg *s = (struct sock___sg *)bpf_skc_to_tcp_sock(sk);

	return s ? s->sk_uid.val : -1;
}

/* Sub-UID ranges to their owner (see smtpguard.h); LPM tries are never preallocated. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SG_MAX_SUBUID_PREFIXES);
	__type(key, struct sg_subuid_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_subuids SEC(".maps");

/* See smtpguard.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_SUBUID_BITS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_subuid_bits SEC(".maps");

/* Bit bit of an array of __u64 words (sg_port_bits, sg_subuid_bits, sg_policy_bits). */
static __always_inline int sg_bit_in(void *words, __u32 bit)
{
	__u32 word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(words, &word);

	return w && ((*w >> (bit % 64)) & 1);
}

/*
 * The UID that is policed and counted for uid: the owner of the sub-UID
 * range it falls in, else itself. Every program keyed by UID asks here, so
 * a user namespace's UIDs share their owner's policy, bucket and counts.
 * The trie is walked only for a UID whose block of 65,536 some range
 * touches (sg_subuid_bits): an array lookup, which the verifier inlines.
 */
static __always_inline __u32 sg_policed_uid(__u32 uid)
{
	struct sg_subuid_key key = { .prefixlen = 32, .uid = bpf_htonl(uid) };
	__u32 *owner;

	if (!sg_bit_in(&sg_subuid_bits, uid >> 16))
		return uid;
	owner = bpf_map_lookup_elem(&sg_subuids, &key);
	return owner ? *owner : uid;
}

/* SMTP seen on ports not watched: written by TC egress, read by the connect hooks. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_SMTP);
	__type(key, struct sg_smtp_key);
	__type(value, struct sg_smtp);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_smtp SEC(".maps");

/* Which of a UID's sg_smtp slots a destination takes: its address and port, mixed. */
static __always_inline __u32 sg_smtp_slot(const __u32 addr[4], __u16 port)
{
	__u32 h = addr[0] ^ addr[1] ^ addr[2] ^ addr[3] ^ port;

	return (h * 2654435761U) >> 27; /* the top 5 bits: SG_SMTP_SLOTS */
}

/* The entry is this destination's. */
static __always_inline int sg_smtp_is(const struct sg_smtp *s, const __u32 addr[4], __u16 port)
{
	return s->port == port && s->addr[0] == addr[0] && s->addr[1] == addr[1] &&
	       s->addr[2] == addr[2] && s->addr[3] == addr[3];
}

/*
 * Per-CPU slots still need an atomic add here: the connect hooks run in
 * process context, where a preemptible kernel can switch tasks on this
 * CPU between the load and the store.
 */
static __always_inline void sg_count(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

#define sg_error(kind) sg_count(&sg_errors, kind)

/*
 * Whether port carries flag (SG_PORT_OUTBOUND or SG_PORT_INBOUND): its bit
 * in sg_port_bits, which every writer of sg_ports keeps with it (smtpguard.h),
 * so that a caller with no use for the entry's counters needs no per-CPU
 * hash lookup.
 */
static __always_inline int sg_port_watched(__u16 port, __u32 flag)
{
	return sg_bit_in(&sg_port_bits, sg_port_bit(port, flag));
}

/* The port's entry when it carries flag, else NULL: most ports are nobody's, told by the bit. */
static __always_inline struct sg_port *sg_port_lookup(__u16 port, __u32 flag)
{
	__u32 key = port;
	struct sg_port *p;

	if (!sg_port_watched(port, flag))
		return NULL;
	p = bpf_map_lookup_elem(&sg_ports, &key);
	return p && (p->flags & flag) ? p : NULL;
}

/*
 * Find key in a hash map (LRU or not), inserting zero if absent. NULL only
 * when the insert failed; that is counted as a full map. Each entry made is
 * counted in sg_counters[made] unless made is SG_CNT__MAX: an LRU map makes
 * room by pushing out its least recently used entry, silently, so the
 * entries it made less those it holds are the ones pushed out.
 */
static __always_inline void *sg_upsert_counted(void *map, const void *key, const void *zero,
					       __u32 made)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	if (!bpf_map_update_elem(map, key, zero, BPF_NOEXIST) && made < SG_CNT__MAX)
		sg_count(&sg_counters, made);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		sg_error(SG_ERR_MAP_FULL);
	return v;
}

#define sg_upsert(map, key, zero) sg_upsert_counted(map, key, zero, SG_CNT__MAX)

/* See smtpguard.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_UID_MARK_WORDS + 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_uid_marks SEC(".maps");

/* Byte i of marks (sg_uid_marks, sg_flow_marks) set; one already set is not written, its cache
 * line left shared. */
static __always_inline void sg_mark_in(void *marks, __u32 i)
{
	__u32 word = i / 8;
	__u8 *w = bpf_map_lookup_elem(marks, &word);

	if (w && !w[i % 8])
		w[i % 8] = 1;
}

#define sg_mark(i) sg_mark_in(&sg_uid_marks, i)

/* After a write to uid's sg_uid_stats entry. */
#define sg_mark_uid(uid) sg_mark((uid)&0xffff)

/*
 * *c += 1, then uid's mark. The add fetches: arm64 runs a fetching add
 * fully ordered (LDADDAL) where a plain one (STADD) may be passed by the
 * mark's store, and the daemon would read the count without it. Its result
 * is used (nonzero short of a 2^64 wrap) so that the compiler keeps it.
 */
static __always_inline void sg_add_mark_uid(__u64 *c, __u32 uid)
{
	if (__sync_fetch_and_add(c, 1) + 1)
		sg_mark_uid(uid);
}
/* After an sg_uid_stats entry was made. */
#define sg_mark_made() sg_mark(SG_UID_MARK_MADE * 8)

#endif /* SG_COMMON_BPF_H */
