// SPDX-License-Identifier: GPL-2.0
/*
 * sock_ops: how the connections that the connect hooks let through to
 * watched ports ended, per UID: established, refused or timed out, and the
 * payload the peer acknowledged; and, for a connection to this host itself
 * (a script talking SMTP to 127.0.0.1:25), whose it is, in sg_local_conns,
 * from its establishment for as long as it is open. It runs for every TCP socket in the cgroup,
 * mostly in softirq where no sender is current: a connection is ours when
 * the connect hooks said so in sg_sock_owner, or else when it is to a
 * watched port, whose is then the socket's owner (see sg_sock_owner in
 * smtpguard.h); the rest are left at once. Never changes what TCP does
 * (skops->reply is left alone).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "smtpguard.h"
#include "common.bpf.h"

/* Not preallocated: a per-CPU value for every possible UID would cost megabytes per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SG_MAX_UIDS);
	__type(key, __u32);
	__type(value, struct sg_conn_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_conn_stats SEC(".maps");

/* Preallocated (LRU maps are): an insert never fails for want of memory. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SG_MAX_LOCAL_CONNS);
	__type(key, struct sg_local_conn_key);
	__type(value, struct sg_local_owner);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_local_conns SEC(".maps");

/*
 * See smtpguard.h. A local connection's record is made only at its
 * establishment, so one refused or never answered (as every one to a
 * closed port is) costs none; one whose slot another handshake holds is
 * recorded at once.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << SG_LOCAL_STASH_BITS);
	__type(key, __u32);
	__type(value, struct sg_local_stash);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sg_local_stash SEC(".maps");

#define SG_AF_INET  2
#define SG_AF_INET6 10

/*
 * Whose the connection is, when it is ours: the connect hooks' entry for
 * it (*stored is 1), or else, for one to a watched port, cur filled from
 * the socket. A port that stops being watched while its connections are
 * open leaves their ends uncounted.
 */
static __always_inline struct sg_sock_owner *sg_whose(struct bpf_sock_ops *skops,
						      struct sg_sock_owner *cur, int *stored)
{
	struct bpf_sock *sk = skops->sk;
	struct sg_sock_owner *o;
	__u16 port;
	__s64 uid;

	if (!sk)
		return NULL;
	o = bpf_sk_storage_get(&sg_sock_owner, sk, NULL, 0);
	*stored = !!o;
	if (o)
		return o;
	port = bpf_ntohl(skops->remote_port);
	if (!sg_port_watched(port, SG_PORT_OUTBOUND))
		return NULL;
	uid = sg_sock_uid(sk);
	if (uid < 0)
		return NULL;
	cur->uid = sg_policed_uid(uid);
	cur->port = port;
	return cur;
}

/*
 * What the connect hooks would have stored, from the caller: at
 * TCP_CONNECT_CB, sock_ops runs in the connect()'s own task. The time is
 * taken when the record is made: a refused connection needs none.
 */
static __always_inline void sg_caller(struct sg_sock_owner *o)
{
	struct task_struct___sg *task = (struct task_struct___sg *)bpf_get_current_task_btf();

	o->pid = task->tgid;
	__builtin_memcpy(o->comm, task->comm, sizeof(o->comm));
}

/*
 * The UID's counters on this CPU. Adds stay atomic: sock_ops also runs in
 * process context (connect(), close(), the socket backlog), where a
 * preemptible kernel can switch to another task on this CPU mid-update.
 */
static __always_inline struct sg_conn_stats *sg_conn_stats_for(__u32 uid)
{
	struct sg_conn_stats zero = {};

	return sg_upsert(&sg_conn_stats, &uid, &zero);
}

/*
 * The connection's key in sg_local_conns; 1 when it is to this host: to
 * loopback (127/8, ::1), or to the very address it is from, which is what
 * routing picks for a connection to one of the host's own addresses (exact
 * and one comparison; a client that binds another of them is missed). An
 * IPv6 socket speaking IPv4 (a v4-mapped peer) is keyed by its IPv4 fields,
 * which tcp_v4_connect() has filled by TCP_CONNECT_CB, at connect and close
 * alike: one key for both families. The caller sets its netns, once it is
 * known to be local.
 */
static __always_inline int sg_local_key(struct bpf_sock_ops *skops, struct sg_local_conn_key *k)
{
	/* Every field read once, up front: clang would otherwise index ctx by a computed offset. */
	__u32 family = skops->family, l4 = skops->local_ip4, r4 = skops->remote_ip4;
	__u32 l6[4] = { skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
			skops->local_ip6[3] };
	__u32 r6[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2],
			skops->remote_ip6[3] };
	__u32 ffff = bpf_htonl(0xffff);
	int v4 = family == SG_AF_INET;

	if (family == SG_AF_INET6)
		v4 = !r6[0] && !r6[1] && r6[2] == ffff;
	else if (!v4)
		return 0;
	if (v4) {
		k->client[2] = k->server[2] = ffff;
		k->client[3] = l4;
		k->server[3] = r4;
	} else {
		__builtin_memcpy(k->client, l6, sizeof(l6));
		__builtin_memcpy(k->server, r6, sizeof(r6));
	}
	k->client_port = skops->local_port;
	k->server_port = bpf_ntohl(skops->remote_port);
	if (v4 && (bpf_ntohl(r4) >> 24) == 127)
		return 1;
	if (!v4 && !r6[0] && !r6[1] && !r6[2] && r6[3] == bpf_htonl(1))
		return 1;
	return k->client[0] == k->server[0] && k->client[1] == k->server[1] &&
	       k->client[2] == k->server[2] && k->client[3] == k->server[3];
}

/* The socket's slot in sg_local_stash. */
static __always_inline struct sg_local_stash *sg_stash_slot(__u64 cookie)
{
	__u32 i = (cookie * 0x9E3779B97F4A7C15ULL) >> (64 - SG_LOCAL_STASH_BITS);

	return bpf_map_lookup_elem(&sg_local_stash, &i);
}

/* 1 when o's caller is kept in the socket's slot; 0 when another connection holds it. */
static __always_inline int sg_stash_caller(struct bpf_sock_ops *skops,
					   const struct sg_sock_owner *o)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct sg_local_stash *s = sg_stash_slot(cookie);

	if (!s || __sync_val_compare_and_swap(&s->cookie, 0, cookie))
		return 0;
	s->pid = o->pid;
	__builtin_memcpy(s->comm, o->comm, sizeof(s->comm));
	return 1;
}

/*
 * 1 when the socket's slot held its caller, now in o, and is free again;
 * else 0. Only the socket frees its slot, its callbacks one at a time
 * under its lock. The compare-and-swap (sequentially consistent, where
 * __sync_lock_test_and_set only acquires) keeps the reads before the slot
 * is anyone's to claim and write.
 */
static __always_inline int sg_stash_take(struct bpf_sock_ops *skops, struct sg_sock_owner *o)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct sg_local_stash *s = sg_stash_slot(cookie);

	if (!s || s->cookie != cookie)
		return 0;
	o->pid = s->pid;
	__builtin_memcpy(o->comm, s->comm, sizeof(o->comm));
	__sync_val_compare_and_swap(&s->cookie, cookie, 0);
	return 1;
}

/*
 * The connection at key is o's (its caller and netns filled in). A
 * connection o describes from the socket alone (stored is 0) and that
 * could not be recorded gets an sg_sock_owner entry, so that its close does
 * not count it as pushed out.
 */
static __always_inline void sg_record_local(struct bpf_sock_ops *skops,
					    struct sg_local_conn_key *key, struct sg_sock_owner *o,
					    int stored)
{
	struct bpf_sock *sk = skops->sk;
	struct sg_local_owner who;

	key->netns = o->netns;
	if (!stored)
		o->at_ns = bpf_ktime_get_boot_ns();
	who = (struct sg_local_owner){ .uid = o->uid, .pid = o->pid, .at_ns = o->at_ns };
	__builtin_memcpy(who.comm, o->comm, sizeof(who.comm));
	if (bpf_map_update_elem(&sg_local_conns, key, &who, BPF_ANY)) {
		sg_count(&sg_counters, SG_CNT_LOCAL_UNRECORDED);
		if (!stored && sk &&
		    !bpf_sk_storage_get(&sg_sock_owner, sk, o, BPF_SK_STORAGE_GET_F_CREATE))
			sg_error(SG_ERR_MAP_FULL);
		return;
	}
	o->state |= SG_SOCK_LOCAL;
	sg_count(&sg_counters, SG_CNT_LOCAL_RECORDED);
}

/*
 * At TCP_CONNECT_CB the source port is chosen and the SYN not yet sent. A
 * connection the connect hooks marked has its caller in its mark; another
 * keeps it in sg_local_stash, or is recorded now when its slot is taken.
 */
static __always_inline void sg_connect_local(struct bpf_sock_ops *skops, struct sg_sock_owner *o,
					     int stored)
{
	struct sg_local_conn_key key = {};

	if (stored || !sg_local_key(skops, &key))
		return;
	sg_caller(o);
	if (sg_stash_caller(skops, o))
		return;
	o->netns = bpf_get_netns_cookie(skops);
	sg_record_local(skops, &key, o, stored);
}

/*
 * Established, before its ACK lets the server accept it: recorded, unless
 * that was done at its connect (its slot was taken, or the programs that
 * saw its connect recorded every connection then).
 */
static __always_inline void sg_established_local(struct bpf_sock_ops *skops,
						 struct sg_sock_owner *o, int stored)
{
	struct sg_local_conn_key key = {};

	if ((stored && (o->state & SG_SOCK_LOCAL)) || !sg_local_key(skops, &key))
		return;
	if (!stored) {
		if (!sg_stash_take(skops, o))
			return;
		o->netns = bpf_get_netns_cookie(skops);
	}
	sg_record_local(skops, &key, o, stored);
}

/*
 * Closed: one still in its slot was never recorded, and frees it; else its
 * record (made at its establishment, or at its connect) goes. 0, or
 * -ENOENT when there was none.
 */
static __always_inline long sg_unrecord(struct bpf_sock_ops *skops, struct sg_local_conn_key *key,
					__u64 netns)
{
	struct sg_sock_owner unused;

	if (sg_stash_take(skops, &unused))
		return 0;
	key->netns = netns;
	return bpf_map_delete_elem(&sg_local_conns, key);
}

/*
 * Its entry goes with it. One already gone was pushed out by the LRU while
 * it was open, if a server could have looked it up: it was established
 * (every such one without an sg_sock_owner entry was recorded) or marked
 * recorded. A refused one recorded at its connect goes quietly.
 */
static __always_inline void sg_forget_local(struct bpf_sock_ops *skops,
					    const struct sg_sock_owner *o, int stored)
{
	struct sg_local_conn_key key = {};

	if ((stored && !(o->state & SG_SOCK_LOCAL)) || !sg_local_key(skops, &key))
		return;
	if (sg_unrecord(skops, &key, stored ? o->netns : bpf_get_netns_cookie(skops)) &&
	    (stored || skops->bytes_acked))
		sg_count(&sg_counters, SG_CNT_LOCAL_EVICTED);
}

/* The caller's real UID, as the connect hooks take it: at TCP_CONNECT_CB, the connect()'s. */
static __always_inline __u32 sg_caller_uid(void)
{
	struct task_struct___sg *task = (struct task_struct___sg *)bpf_get_current_task_btf();

	return task->cred->uid.val;
}

/*
 * One of ours is connecting. State changes are only reported to sockets
 * that ask; the SYN is about to go, so the close that ends this connection,
 * however it comes, is seen. The flags are replaced as a whole: keep those
 * another program set. A socket its caller did not make and the connect
 * hooks could not mark (its option memory full, as its user can make it)
 * is left: whose it is is not known, and not its maker's.
 */
static __always_inline void sg_connecting(struct bpf_sock_ops *skops)
{
	struct sg_sock_owner cur = {}, *o;
	struct bpf_sock *sk = skops->sk;
	int stored;

	o = sg_whose(skops, &cur, &stored);
	if (!o || !sk || (!stored && sg_sock_uid(sk) != sg_caller_uid()))
		return;
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
	sg_connect_local(skops, o, stored);
}

/* Only a connection sg_connecting took: its port may have become watched since. */
static __always_inline void sg_established(struct bpf_sock_ops *skops)
{
	struct sg_sock_owner cur = {}, *o;
	struct sg_conn_stats *st;
	int stored;

	if (!(skops->bpf_sock_ops_cb_flags & BPF_SOCK_OPS_STATE_CB_FLAG))
		return;
	o = sg_whose(skops, &cur, &stored);
	if (!o)
		return;
	st = sg_conn_stats_for(o->uid);
	if (st)
		__sync_fetch_and_add(&st->established, 1);
	sg_established_local(skops, o, stored);
}

/*
 * tp->bytes_acked counts sequence space, where the SYN and the FIN take one
 * each. The SYN was acknowledged: the connection was established. The FIN
 * was when the socket closes from FIN_WAIT2, CLOSING or LAST_ACK (the
 * states an acknowledged FIN ends) with nothing outstanding. The one
 * miscount, a byte short: a reset in CLOSING or LAST_ACK before our FIN
 * could even be sent (the peer's window shut).
 */
static __always_inline __u64 sg_payload_acked(struct bpf_sock_ops *skops)
{
	__u32 old = skops->args[0];
	__u64 acked = skops->bytes_acked, ctl = 1;

	if ((old == BPF_TCP_FIN_WAIT2 || old == BPF_TCP_CLOSING || old == BPF_TCP_LAST_ACK) &&
	    skops->snd_una == skops->snd_nxt)
		ctl++;
	return acked > ctl ? acked - ctl : 0;
}

/*
 * Established when its SYN was acknowledged. Never established: the SYN
 * was answered with a reset or an ICMP error (refused) unless it had to be
 * sent again, which means nobody answered in time (timed out; a reset to a
 * retransmitted SYN lands here too). The entry goes with the count, so
 * that a socket connected again after a failure starts afresh.
 */
static __always_inline void sg_closed(struct bpf_sock_ops *skops)
{
	struct sg_local_conn_key key = {};
	struct sg_sock_owner cur = {}, *o;
	struct bpf_sock *sk = skops->sk;
	struct sg_conn_stats *st;
	int stored;

	o = sg_whose(skops, &cur, &stored);
	if (!o) {
		/* Its port no longer watched: not counted, but not left to name another. */
		if (sg_local_key(skops, &key))
			sg_unrecord(skops, &key, bpf_get_netns_cookie(skops));
		return;
	}
	st = sg_conn_stats_for(o->uid);
	if (st) {
		if (skops->bytes_acked)
			__sync_fetch_and_add(&st->bytes_sent, sg_payload_acked(skops));
		else if (skops->total_retrans)
			__sync_fetch_and_add(&st->timed_out, 1);
		else
			__sync_fetch_and_add(&st->refused, 1);
	}
	sg_forget_local(skops, o, stored);
	if (stored && sk)
		bpf_sk_storage_delete(&sg_sock_owner, sk);
}

SEC("sockops")
int sg_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sg_connecting(skops);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		sg_established(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			sg_closed(skops);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
