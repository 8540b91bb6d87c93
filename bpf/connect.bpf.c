// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup/connect4 and cgroup/connect6: who is opening SMTP connections, and
 * the per-UID policy that may refuse them. Runs in the caller's context, so
 * uid, pid and comm are the sender's own; a sub-UID (sg_subuids) is policed
 * and counted as its range's owner, the event carrying both. Returning 0
 * makes connect() (or sendto() with MSG_FASTOPEN) fail with EPERM.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "smtpguard.h"
#include "sg_bucket.h"
#include "common.bpf.h"

#define SG_SOCK_STREAM 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_UIDS);
	__type(key, __u32);
	__type(value, struct sg_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_policies SEC(".maps");

/* See smtpguard.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_POLICY_BITS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_policy_bits SEC(".maps");

/*
 * A plain hash, not LRU: entries exist only for throttled UIDs, and one must
 * not be pushed out by others' (its sender would be handed a full bucket).
 * The daemon removes the stale ones.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_UIDS);
	__type(key, __u32);
	__type(value, struct sg_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_UIDS);
	__type(key, __u32);
	__type(value, struct sg_uid_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_uid_stats SEC(".maps");

/*
 * Plain hashes, not LRU: in an LRU map one UID's new entries push out
 * everyone's. Each UID may make its quota of entries (sg_settings); the
 * daemon removes stale ones and counts them in sg_uid_swept.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_SENDERS);
	__type(key, struct sg_sender_key);
	__type(value, struct sg_sender);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_senders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_FLOWS);
	__type(key, struct sg_flow_key);
	__type(value, struct sg_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_flows SEC(".maps");

/* See smtpguard.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_FLOW_MARK_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_flow_marks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SG_MAX_UIDS);
	__type(key, __u32);
	__type(value, struct sg_uid_swept);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_uid_swept SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SG_RINGBUF_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_events SEC(".maps");

/* See smtpguard.h. The object's own global data: a load starts it afresh. */
struct sg_boot_clock sg_boot_clock;

/*
 * Boot time, at the tick: what a connect's time is for (a UID's, process's
 * and destination's last use, a policy's expiry, a bucket's refill, an
 * event) counts in seconds, and the fine clock (bpf_ktime_get_boot_ns)
 * costs a serialising TSC read (smtpguard(8)). The coarse clock is
 * CLOCK_MONOTONIC's, which stops while the host sleeps: the time slept is
 * added, read again after each second of monotonic time, so within a second
 * of a resume. It is read boot first, monotonic second, so that the result
 * is never after bpf_ktime_get_boot_ns() at the same instant; it is behind
 * by a jiffy, more when a tick is late (SG_HOOK_CLOCK_SLACK_NS). CPUs racing
 * to read it again store offsets that differ by nanoseconds; one that sees
 * the new time before the new offset is the time slept behind, that once.
 */
static __always_inline __u64 sg_boot_coarse_ns(void)
{
	__u64 mono = bpf_ktime_get_coarse_ns(), boot;

	if (mono - sg_boot_clock.read_ns >= SG_NS_PER_SEC) {
		boot = bpf_ktime_get_boot_ns();
		sg_boot_clock.offset_ns = boot - bpf_ktime_get_ns();
		sg_boot_clock.read_ns = mono;
	}
	return mono + sg_boot_clock.offset_ns;
}

/*
 * The UID's own policy unless absent or expired, then the default (never NULL in practice).
 * The hash is looked in only when the UID's bit says it may hold a policy: most UIDs have none.
 */
static __always_inline const struct sg_policy *sg_policy_for(__u32 uid, __u64 now)
{
	const struct sg_policy *p = NULL;
	const struct sg_settings *s;
	__u32 zero = 0;

	if (sg_bit_in(&sg_policy_bits, sg_policy_bit(uid)))
		p = bpf_map_lookup_elem(&sg_policies, &uid);
	if (p && (!p->expires_ns || p->expires_ns > now))
		return p;
	s = bpf_map_lookup_elem(&sg_settings, &zero);
	return s ? &s->default_policy : NULL;
}

/*
 * Throttled UIDs pay a token; with no room to track the bucket, refuse (fail
 * closed). The hooks' clock moves once a tick (sg_boot_coarse_ns), when a
 * bucket gets back a tick's tokens at once: one whose whole burst comes back
 * in less than the clock may lag (burst * interval, at 1,000 a second with a
 * burst of 1: 1 ms) would lose what overflows it, and slow the rate below
 * the policy's. Such a bucket takes the fine clock; the others, nearly every
 * throttle, need no finer.
 */
static __always_inline int sg_throttle(__u32 uid, const struct sg_policy *p, __u64 now)
{
	struct sg_bucket zero = {}, *b;

	/* burst * SG_NS_PER_HOUR / rate, the burst's time, without a division. */
	if ((__u64)p->burst * SG_NS_PER_HOUR < SG_HOOK_CLOCK_SLACK_NS * p->rate_per_hour)
		now = bpf_ktime_get_boot_ns();

	b = bpf_map_lookup_elem(&sg_buckets, &uid);
	if (!b) {
		bpf_map_update_elem(&sg_buckets, &uid, &zero, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&sg_buckets, &uid);
		if (!b) {
			sg_error(SG_ERR_MAP_FULL);
			sg_count(&sg_counters, SG_CNT_DENIED_NO_BUCKET);
			return SG_VERDICT_DENY;
		}
	}
	switch (sg_bucket_admit(b, p, now)) {
	case SG_BUCKET_ALLOW:
		return SG_VERDICT_ALLOW;
	case SG_BUCKET_CONTENDED:
		sg_count(&sg_counters, SG_CNT_DENIED_CONTENDED);
		return SG_VERDICT_DENY;
	default:
		sg_count(&sg_counters, SG_CNT_DENIED_THROTTLE);
		return SG_VERDICT_DENY;
	}
}

static __always_inline int sg_decide(__u32 uid, __u64 now)
{
	const struct sg_policy *p = sg_policy_for(uid, now);

	if (!p)
		return SG_VERDICT_ALLOW;
	switch (p->mode) {
	case SG_MODE_BLOCK:
		sg_count(&sg_counters, SG_CNT_DENIED_BLOCK);
		return SG_VERDICT_DENY;
	case SG_MODE_THROTTLE:
		return sg_throttle(uid, p, now);
	default:
		return SG_VERDICT_ALLOW;
	}
}

/*
 * 1 when the UID may have an event of a kind now (a denial, or a process not
 * recorded), last being that kind's time in its sg_uid_stats: at most one per
 * deny_event_interval_ns, so no customer floods the ring. Racing CPUs may
 * both pass this check; an extra event is harmless.
 */
static __always_inline int sg_event_due(__u64 *last, __u64 now)
{
	const struct sg_settings *s;
	__u32 key = 0;

	s = bpf_map_lookup_elem(&sg_settings, &key);
	if (*last && s && now - *last < s->deny_event_interval_ns)
		return 0;
	*last = now;
	return 1;
}

/* Count the attempt for the UID; returns 1 when a denial event is due. */
static __always_inline int sg_count_uid(__u32 uid, int verdict, __u64 now)
{
	struct sg_uid_stats zero = { .first_ns = now }, *st;

	st = bpf_map_lookup_elem(&sg_uid_stats, &uid);
	if (!st) {
		if (!bpf_map_update_elem(&sg_uid_stats, &uid, &zero, BPF_NOEXIST))
			sg_mark_made();
		st = bpf_map_lookup_elem(&sg_uid_stats, &uid);
		if (!st) {
			sg_error(SG_ERR_MAP_FULL);
			return verdict == SG_VERDICT_DENY;
		}
	}
	__sync_fetch_and_add(&st->attempts, 1);
	st->last_ns = now;
	if (verdict == SG_VERDICT_ALLOW) {
		sg_add_mark_uid(&st->allowed, uid);
		return 0;
	}
	sg_add_mark_uid(&st->denied, uid);
	return sg_event_due(&st->last_event_ns, now);
}

/* What sg_uid_insert did: the entry was there (or another CPU made it), it made it, or none. */
enum sg_entry { SG_ENTRY_THERE, SG_ENTRY_MADE, SG_ENTRY_OVER_QUOTA, SG_ENTRY_NO_ROOM };

/*
 * The UID's count of entries made in sg_flows (or sg_senders) when it may
 * make one more: its entries now (made less swept) are under its quota.
 * Else NULL, and an entry over the quota is counted (*how says so); with no
 * stats entry (already counted as a full map) there is nothing to charge it
 * to. CPUs racing for the last place may each take it: a UID can go over
 * its quota by as many connect() calls as run at once.
 */
static __always_inline __u64 *sg_uid_room(__u32 uid, int senders, enum sg_entry *how)
{
	const struct sg_uid_swept *gone = bpf_map_lookup_elem(&sg_uid_swept, &uid);
	struct sg_uid_stats *st = bpf_map_lookup_elem(&sg_uid_stats, &uid);
	const struct sg_settings *s;
	__u64 made, swept = 0;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&sg_settings, &zero);
	if (!st || !s)
		return NULL;
	made = senders ? st->senders : st->flows;
	if (gone)
		swept = senders ? gone->senders : gone->flows;
	if (made > swept && made - swept >= (senders ? s->uid_senders_max : s->uid_flows_max)) {
		sg_count(&sg_counters, senders ? SG_CNT_SENDER_QUOTA : SG_CNT_FLOW_QUOTA);
		*how = SG_ENTRY_OVER_QUOTA;
		return NULL;
	}
	return senders ? &st->senders : &st->flows;
}

/*
 * Insert zero at key when the UID has room for it, charged to the UID; the
 * entry at key, or NULL. *how says what this call did.
 */
static __always_inline void *sg_uid_insert(void *map, const void *key, const void *zero, __u32 uid,
					   int senders, enum sg_entry *how)
{
	__u64 *made;
	void *v;

	*how = SG_ENTRY_NO_ROOM;
	made = sg_uid_room(uid, senders, how);
	if (!made)
		return NULL;
	*how = SG_ENTRY_THERE;
	if (!bpf_map_update_elem(map, key, zero, BPF_NOEXIST)) {
		sg_add_mark_uid(made, uid);
		*how = SG_ENTRY_MADE;
	}
	v = bpf_map_lookup_elem(map, key);
	if (!v) {
		sg_error(SG_ERR_MAP_FULL);
		*how = SG_ENTRY_NO_ROOM;
	}
	return v;
}

static __always_inline void sg_count_flow(__u32 uid, const __u32 addr[4], __u16 port, int verdict,
					  __u64 now)
{
	struct sg_flow_key key = { .uid = uid, .port = port };
	struct sg_flow zero = { .first_ns = now }, *f;
	enum sg_entry how;
	__u64 made;

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	f = bpf_map_lookup_elem(&sg_flows, &key);
	if (!f)
		f = sg_uid_insert(&sg_flows, &key, &zero, uid, 0, &how);
	if (!f)
		return;
	/*
	 * The time before the fetching add, which arm64 orders before the flow's mark along with
	 * the UID's (see sg_add_mark_uid): a daemon that takes the mark reads this time or a later.
	 */
	f->last_ns = now;
	made = __sync_fetch_and_add(&f->attempts, 1) + 1;
	if (verdict == SG_VERDICT_DENY)
		__sync_fetch_and_add(&f->denied, 1);
	if (made)
		sg_mark_in(&sg_flow_marks, sg_flow_mark_slot(uid, addr));
}

/* Count the attempt for the process: whether it was known, is new, or could not be recorded. */
static __always_inline enum sg_entry sg_count_sender(__u32 uid, __u32 tgid, int verdict, __u64 now)
{
	struct sg_sender_key key = { .uid = uid, .tgid = tgid };
	struct sg_sender fresh = { .first_ns = now }, *s;
	enum sg_entry how = SG_ENTRY_THERE;

	s = bpf_map_lookup_elem(&sg_senders, &key);
	if (!s) {
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		s = sg_uid_insert(&sg_senders, &key, &fresh, uid, 1, &how);
		if (!s)
			return how;
	}
	__sync_fetch_and_add(&s->attempts, 1);
	if (verdict == SG_VERDICT_DENY)
		__sync_fetch_and_add(&s->denied, 1);
	s->last_ns = now;
	return how;
}

/*
 * A process sg_senders could not take still makes an event, or a customer
 * keeping its quota of processes alive (or UIDs filling the map) would hide
 * every other one from the log, attribution and kill: one per UID per
 * interval, of its own, so that no denial (a decoy's) can take its place.
 */
static __always_inline __u32 sg_unrecorded_event(__u32 uid, enum sg_entry how, __u64 now)
{
	struct sg_uid_stats *st;

	if (how != SG_ENTRY_OVER_QUOTA && how != SG_ENTRY_NO_ROOM)
		return 0;
	st = bpf_map_lookup_elem(&sg_uid_stats, &uid);
	if (!st || !sg_event_due(&st->last_unrecorded_ns, now))
		return 0;
	return how == SG_ENTRY_OVER_QUOTA ? SG_EVENT_UNRECORDED_QUOTA : SG_EVENT_UNRECORDED_FULL;
}

static __always_inline void sg_emit(__u32 kind, __u32 flags, int verdict, const __u32 addr[4],
				    __u16 port, __u64 now, __u64 pid_tgid, __u64 uid_gid, __u32 uid)
{
	struct sg_event *e;

	e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);
	if (!e) {
		sg_error(SG_ERR_RINGBUF_FULL);
		return;
	}
	e->ts_ns = now;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->kind = kind;
	e->verdict = verdict;
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->uid = uid;
	e->real_uid = (__u32)uid_gid;
	e->flags = flags;
	e->gid = uid_gid >> 32;
	__builtin_memcpy(e->addr, addr, sizeof(e->addr));
	e->port = port;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	sg_count(&sg_counters, SG_CNT_EVENTS);
}

/*
 * Tell sock_ops whose connection this is where it cannot tell from the
 * socket (see sg_sock_owner in smtpguard.h): it runs mostly in softirq,
 * where the current task is nobody's. The value only initialises a new
 * entry, so a second connect() on the socket (EALREADY, EISCONN) keeps what
 * sock_ops has recorded. Failing to store costs only the outcome counts and
 * the local connection's record, never the connect.
 */
static __always_inline void sg_own_socket(struct bpf_sock_addr *ctx, __u32 uid, __u16 port,
					  __u64 pid_tgid, __u64 now)
{
	struct sg_sock_owner owner = { .uid = uid,
				       .port = port,
				       .pid = pid_tgid >> 32,
				       .at_ns = now,
				       .netns = bpf_get_netns_cookie(ctx) };

	bpf_get_current_comm(owner.comm, sizeof(owner.comm));
	if (!bpf_sk_storage_get(&sg_sock_owner, ctx->sk, &owner, BPF_SK_STORAGE_GET_F_CREATE))
		sg_error(SG_ERR_MAP_FULL);
}

/* [ports] detect_any is on: a connect to a port that is not watched may still be. */
static __always_inline int sg_detect_any(void)
{
	const struct sg_settings *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&sg_settings, &zero);
	return s && (s->flags & SG_SETTING_DETECT_ANY);
}

/*
 * [ports] detect_any: the caller's UID was seen speaking SMTP to this
 * destination (sg_smtp), so it is watched for that UID; the attempt keeps
 * the entry fresh, a blocked sender's retries included. Only the UID's own
 * connections to that one destination: no customer can get another's, or
 * a whole port's, connections policed.
 */
static __always_inline int sg_smtp_watched(__u32 uid, const __u32 addr[4], __u16 port)
{
	struct sg_smtp_key key = { .uid = uid, .slot = sg_smtp_slot(addr, port) };
	struct sg_smtp *e;

	e = bpf_map_lookup_elem(&sg_smtp, &key);
	if (!e || !sg_smtp_is(e, addr, port))
		return 0;
	e->last_ns = bpf_ktime_get_boot_ns();
	return 1;
}

static __always_inline int sg_connect(struct bpf_sock_addr *ctx, const __u32 addr[4])
{
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	__u64 now, uid_gid, pid_tgid;
	struct sg_port *ps;
	int verdict, deny_event;
	enum sg_entry sender;
	__u32 uid, flags;

	if (ctx->type != SG_SOCK_STREAM)
		return 1;
	/* The port first: the UID's trie lookup is for connects that may be watched, not all. */
	ps = sg_port_lookup(port, SG_PORT_OUTBOUND);
	if (!ps && !sg_detect_any())
		return 1;
	/* TC egress files sg_smtp under the policed UID too: a sub-UID is its owner. */
	uid_gid = bpf_get_current_uid_gid();
	uid = sg_policed_uid((__u32)uid_gid);
	if (ps)
		__sync_fetch_and_add(&ps->connects, 1); /* preemptible context: see sg_count() */
	else if (!sg_smtp_watched(uid, addr, port))
		return 1;

	now = sg_boot_coarse_ns();
	pid_tgid = bpf_get_current_pid_tgid();

	verdict = sg_decide(uid, now);
	if (verdict == SG_VERDICT_ALLOW && (!ps || sg_sock_uid(ctx->sk) != (__u32)uid_gid))
		sg_own_socket(ctx, uid, port, pid_tgid, now);
	deny_event = sg_count_uid(uid, verdict, now);
	sg_count_flow(uid, addr, port, verdict, now);
	sender = sg_count_sender(uid, pid_tgid >> 32, verdict, now);
	flags = sg_unrecorded_event(uid, sender, now);
	if (sender == SG_ENTRY_MADE || flags)
		sg_emit(SG_EV_NEW_SENDER, flags, verdict, addr, port, now, pid_tgid, uid_gid, uid);
	else if (deny_event)
		sg_emit(SG_EV_DENIED, 0, verdict, addr, port, now, pid_tgid, uid_gid, uid);
	return verdict == SG_VERDICT_ALLOW;
}

SEC("cgroup/connect4")
int sg_connect4(struct bpf_sock_addr *ctx)
{
	__u32 addr[4] = { 0, 0, bpf_htonl(0xffff), ctx->user_ip4 };

	return sg_connect(ctx, addr);
}

SEC("cgroup/connect6")
int sg_connect6(struct bpf_sock_addr *ctx)
{
	__u32 addr[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };

	return sg_connect(ctx, addr);
}

char LICENSE[] SEC("license") = "GPL";
