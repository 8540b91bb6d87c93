// SPDX-License-Identifier: GPL-2.0
/*
 * sock_ops: how the connections that the connect hooks let through to
 * watched ports ended, per UID: established, refused or timed out, and the
 * payload the peer acknowledged. It runs for every TCP socket in the cgroup,
 * mostly in softirq where no sender is current: sockets without an
 * sg_sock_owner entry are not ours and are left at once. Never changes what
 * TCP does (skops->reply is left alone).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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

static __always_inline struct sg_sock_owner *sg_owner(struct bpf_sock *sk)
{
	return sk ? bpf_sk_storage_get(&sg_sock_owner, sk, NULL, 0) : NULL;
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
 * State changes are only reported to sockets that ask; the SYN is about to
 * go, so the close that ends this connection, however it comes, is seen.
 * The flags are replaced as a whole: keep those another program set.
 */
static __always_inline void sg_watch_close(struct bpf_sock_ops *skops)
{
	if (sg_owner(skops->sk))
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
							 BPF_SOCK_OPS_STATE_CB_FLAG);
}

static __always_inline void sg_established(struct bpf_sock_ops *skops)
{
	struct sg_sock_owner *o = sg_owner(skops->sk);
	struct sg_conn_stats *st;

	if (!o)
		return;
	o->state |= SG_SOCK_ESTABLISHED;
	st = sg_conn_stats_for(o->uid);
	if (st)
		__sync_fetch_and_add(&st->established, 1);
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
 * Never established: the SYN was answered with a reset or an ICMP error
 * (refused) unless it had to be sent again, which means nobody answered in
 * time (timed out; a reset to a retransmitted SYN lands here too). The
 * entry goes with the count, so that a socket connected again after a
 * failure starts afresh.
 */
static __always_inline void sg_closed(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	struct sg_sock_owner *o;
	struct sg_conn_stats *st;

	if (!sk)
		return;
	o = sg_owner(sk);
	if (!o)
		return;
	st = sg_conn_stats_for(o->uid);
	if (st) {
		if (o->state & SG_SOCK_ESTABLISHED)
			__sync_fetch_and_add(&st->bytes_sent, sg_payload_acked(skops));
		else if (skops->total_retrans)
			__sync_fetch_and_add(&st->timed_out, 1);
		else
			__sync_fetch_and_add(&st->refused, 1);
	}
	bpf_sk_storage_delete(&sg_sock_owner, sk);
}

SEC("sockops")
int sg_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sg_watch_close(skops);
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
