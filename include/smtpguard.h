/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between smtpguard's kernel programs, the CLI and the daemon:
 * map names, keys and values. Plain __u types only, so that BPF C and user
 * space include the same file. Every map is pinned by this name under the
 * pin directory, and user space finds it there.
 *
 * Addresses are always stored as 16 bytes in network order; IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d), so a v4-mapped IPv6 destination and the
 * plain IPv4 one are the same key.
 */
#ifndef SMTPGUARD_H
#define SMTPGUARD_H

#include <linux/types.h>

#define SG_PIN_DIR_DEFAULT "/sys/fs/bpf/smtpguard"

/* Map names (= pin names). */
#define SG_MAP_PORTS "sg_ports"
#define SG_MAP_SETTINGS "sg_settings"
#define SG_MAP_POLICIES "sg_policies"
#define SG_MAP_POLICY_BITS "sg_policy_bits"
#define SG_MAP_BUCKETS "sg_buckets"
#define SG_MAP_UID_STATS "sg_uid_stats"
#define SG_MAP_SENDERS "sg_senders"
#define SG_MAP_FLOWS "sg_flows"
#define SG_MAP_EVENTS "sg_events"
#define SG_MAP_EGRESS "sg_egress"
#define SG_MAP_SOURCES "sg_sources"
#define SG_MAP_BANS "sg_bans"
#define SG_MAP_ERRORS "sg_errors"
#define SG_MAP_COUNTERS "sg_counters"
#define SG_MAP_IFACES "sg_ifaces"
#define SG_MAP_CONN_STATS "sg_conn_stats"
#define SG_MAP_SOCK_OWNER "sg_sock_owner"
#define SG_MAP_LOCAL_CONNS "sg_local_conns"
#define SG_MAP_SUBUIDS "sg_subuids"
#define SG_MAP_SUBUID_BITS "sg_subuid_bits"
#define SG_MAP_SMTP "sg_smtp"
#define SG_MAP_UID_SWEPT "sg_uid_swept"
#define SG_MAP_LAYOUT "sg_layout"
#define SG_MAP_BAN_BITS "sg_ban_bits"
#define SG_MAP_PORT_BITS "sg_port_bits"
#define SG_MAP_UID_MARKS "sg_uid_marks"
#define SG_MAP_FLOW_MARKS "sg_flow_marks"
#define SG_MAP_LOCAL_STASH "sg_local_stash"

/* Capacities. */
#define SG_MAX_PORTS 64
#define SG_MAX_UIDS 65536
#define SG_MAX_SENDERS 16384
#define SG_MAX_FLOWS 65536
#define SG_MAX_SOURCES 65536
#define SG_MAX_BANS 65536
#define SG_MAX_IFACES 64
#define SG_MAX_LOCAL_CONNS 16384 /* live at once: entries go when the connection closes */
#define SG_MAX_SMTP 16384
#define SG_SMTP_SLOTS 32 /* sg_smtp entries one UID can hold */
#define SG_RINGBUF_BYTES (256 * 1024)
/* Prefixes, not ranges: Debian's 65,536 from 100000 on are 12, so ~20,000 users' worth. */
#define SG_MAX_SUBUID_PREFIXES 262144
/* One UID's share of sg_flows and sg_senders, unless [policy] says otherwise. */
#define SG_UID_FLOWS_DEFAULT   1024
#define SG_UID_SENDERS_DEFAULT 256

/* sg_ports: key __u32 port (host order), value struct sg_port, per CPU. */
#define SG_PORT_OUTBOUND (1U << 0) /* counted and policed when users connect to it */
#define SG_PORT_INBOUND (1U << 1) /* SYNs to it from outside are counted per source */
#define SG_PORT_LOGIN (1U << 2) /* inbound, and a source's SYNs to it are its login rate */

/*
 * sg_port_bits (array of __u64, mmapable): the ports sg_ports has
 * SG_PORT_OUTBOUND for, a bit each, then those it has SG_PORT_INBOUND for.
 * Asked first, inline: a port nobody watches costs no hash lookup, and
 * sock_ops, which needs no counter, asks nothing else. Set by whoever sets
 * sg_ports' flags (sg_port_set) or removes a port (sg_port_remove), and made
 * again from sg_ports when the programs are loaded.
 */
#define SG_PORT_BITS_WORDS (2 * 65536 / 64)

static inline __u32 sg_port_bit(__u16 port, __u32 flag)
{
	return (flag == SG_PORT_INBOUND ? 65536 : 0) + port;
}

/*
 * sg_uid_marks (array of __u64, mmapable): a byte for each uid & 0xffff,
 * set to 1 by the kernel after each write to that UID's sg_uid_stats entry
 * (a connect counted, a flow or process made), then the word
 * SG_UID_MARK_MADE, set to 1 after it made an entry. The daemon swaps each
 * word with 0 at every tick and looks up only the UIDs it knows whose byte
 * is set (all of the UIDs that share it); an entry made, or a byte of no UID
 * it knows, and it reads the map whole. A byte, not a bit: a connect tests
 * it and stores only when it is clear, with no locked instruction on the
 * connect path and the cache line left shared while the byte stays set.
 */
#define SG_UID_MARK_WORDS (65536 / 8)
#define SG_UID_MARK_MADE SG_UID_MARK_WORDS
#define SG_UID_MARKS_SIZE ((SG_UID_MARK_WORDS + 1) * 8)

/*
 * sg_flow_marks (array of __u64, mmapable): a byte for each slot that
 * sg_flow_mark_slot() gives a UID and destination address (its flows on
 * every port share it), set by the kernel after each connect counted in one
 * of those flows, and after the UID's own mark. The daemon swaps each word
 * with 0 at every tick, before it swaps sg_uid_marks: a flow marked at a
 * tick is a UID's marked at that tick or the one before. A marked address
 * may have been sent to since the flows were read (or shares its slot with
 * one that was): the daemon looks its flows up only when that decides
 * whether it is in a window.
 */
#define SG_FLOW_MARK_WORDS (65536 / 8)
#define SG_FLOW_MARKS_SIZE (SG_FLOW_MARK_WORDS * 8)

static inline __u32 sg_flow_mark_slot(__u32 uid, const __u32 addr[4])
{
	__u32 h = uid * 0x9e3779b1U;

	h = (h ^ addr[0]) * 0x85ebca6bU;
	h = (h ^ addr[1]) * 0xc2b2ae35U;
	h = (h ^ addr[2]) * 0x85ebca6bU;
	h = (h ^ addr[3]) * 0xc2b2ae35U;
	return (h ^ (h >> 16)) & 0xffff;
}

struct sg_port {
	__u32 flags; /* SG_PORT_*, the same on every CPU */
	__u32 pad;
	__u64 connects; /* connect() calls seen by the cgroup hooks */
	__u64 out_syns;
	__u64 out_packets;
	__u64 out_bytes;
	__u64 in_syns;
};

/*
 * The connect hooks' clock (sg_boot_coarse_ns, bpf/connect.bpf.c), their
 * object's global data: boot time's offset over CLOCK_MONOTONIC (the time
 * the host slept) and the monotonic time it was read at.
 */
struct sg_boot_clock {
	__u64 offset_ns;
	__u64 read_ns;
};

/*
 * How far behind boot time the connect hooks' times may be: their clock
 * moves at the kernel's tick, so a jiffy (4 ms at Debian's 250 Hz), more
 * when a tick comes late. They are never ahead. User space allows this
 * much before it takes a process for one started after a connect.
 */
#define SG_HOOK_CLOCK_SLACK_NS 100000000ULL

/* sg_policies: key __u32 uid, value struct sg_policy. */
/*
 * The ABI's enums are X-macros, so that user space takes their names from
 * the same list (SG_ENUM_NAME); their order is their value, which the
 * kernel side and pinned maps depend on: append only.
 */
#define SG_ENUM_VALUE(e, name) e,
#define SG_ENUM_NAME(e, name)  [e] = name,

#define SG_MODES(X)                                                                                \
	X(SG_MODE_OBSERVE, "observe")                                                              \
	X(SG_MODE_THROTTLE, "throttle")                                                            \
	X(SG_MODE_BLOCK, "block")

enum sg_mode { SG_MODES(SG_ENUM_VALUE) SG_MODE__MAX };

/* Who wrote a policy: explain tells the administrator, and the detector never overrides a human. */
/*
 * CLI: a human, with the CLI; DETECTOR: the daemon, on a rule's verdict;
 * CONFIG: the daemon, from the config (allow list, MTA users, overrides).
 */
#define SG_SETTERS(X)                                                                              \
	X(SG_SET_UNKNOWN, "unknown")                                                               \
	X(SG_SET_CLI, "an administrator (CLI)")                                                    \
	X(SG_SET_DETECTOR, "the detector")                                                         \
	X(SG_SET_CONFIG, "the config file")

enum sg_setter { SG_SETTERS(SG_ENUM_VALUE) SG_SET__MAX };

/* The bucket carries over from the previous policy instead of starting full. */
#define SG_POLICY_KEEP_TOKENS (1U << 0)

struct sg_policy {
	__u32 mode; /* enum sg_mode */
	__u32 burst; /* bucket size, in connections */
	__u64 rate_per_hour; /* refill; per hour so that 10/h is exact */
	__u64 expires_ns; /* CLOCK_BOOTTIME; 0 = never */
	__u64 updated_ns; /* CLOCK_BOOTTIME of the change; a new value refills the bucket */
	__u32 set_by; /* enum sg_setter */
	__u32 flags; /* SG_POLICY_* */
};

/*
 * sg_policy_bits (array of __u64, mmapable): a bit for each UID modulo
 * SG_POLICY_BITS, set for every UID sg_policies has an entry for. Asked
 * first, inline: most UIDs have no policy of their own, and a clear bit
 * sends them to the default with no hash lookup, which misses. Hosting
 * UIDs are allocated in sequence, so that UIDs below SG_POLICY_BITS never
 * share a bit; a shared one only costs the lookup. Every writer of
 * sg_policies takes the "_policies" lock and sets the bit before the entry
 * is written; bits are cleared only by a rebuild from sg_policies under
 * that lock, after policies are removed and when the programs are loaded.
 */
#define SG_POLICY_BITS (1U << 20)
#define SG_POLICY_BITS_WORDS (SG_POLICY_BITS / 64)

static inline __u32 sg_policy_bit(__u32 uid)
{
	return uid & (SG_POLICY_BITS - 1);
}

/* sg_settings: one entry, key 0. */
struct sg_settings {
	struct sg_policy default_policy; /* for UIDs with no (unexpired) policy */
	__u64 deny_event_interval_ns;	 /* per UID, one denial and one unrecorded sender event */
	__u32 overflow_uid; /* /proc/sys/kernel/overflowuid: the UID of egress with no owner */
	__u16 flags; /* SG_SETTING_* */
	/*
	 * XDP counts an IPv6 source by this prefix of its address ([bruteforce]
	 * ipv6_prefix): a site gets a /64 and picks any address in it. 0 is
	 * SG_IPV6_PREFIX_DEFAULT; above 128 is 128. IPv4 is always /32.
	 */
	__u16 ipv6_prefix;
	/* A UID's entries in sg_flows and sg_senders: past these, a new one is not made. */
	__u32 uid_flows_max;
	__u32 uid_senders_max;
	/* SG_SETTINGS_LAYOUT of the build that wrote the entry: a dump of the pins says so. */
	__u32 layout;
	__u32 pad;
};

/*
 * The layout version of sg_settings (sg_layout, user/kern/layout.c): 1 was
 * the value without .layout. Bump it with any change of struct sg_settings
 * and give user/kern/migrate.c a converter from the previous version.
 */
#define SG_SETTINGS_LAYOUT 2

#define SG_IPV6_PREFIX_DEFAULT 64

/*
 * [ports] detect_any: a UID's connect() to a destination it was seen
 * speaking SMTP to (its sg_smtp entry) is counted and policed as to a
 * watched port.
 */
#define SG_SETTING_DETECT_ANY (1U << 0)

/* sg_uid_stats: key __u32 uid. */
struct sg_uid_stats {
	__u64 attempts;
	__u64 allowed;
	__u64 denied;
	__u64 first_ns;
	__u64 last_ns;
	__u64 last_event_ns; /* rate limit of denial events */
	/* Entries of this UID made in sg_flows and sg_senders, ever; less sg_uid_swept's: now. */
	__u64 flows;
	__u64 senders;
	__u64 last_unrecorded_ns; /* rate limit of unrecorded sender events, apart from denials' */
};

/*
 * sg_uid_swept: key __u32 uid. The UID's entries of sg_flows and sg_senders
 * the daemon removed, ever. Written by the daemon only, so that neither side
 * overwrites the other's counts; gone with the UID's sg_uid_stats entry.
 */
struct sg_uid_swept {
	__u64 flows;
	__u64 senders;
};

/* sg_senders: one entry per process seen connecting, at most uid_senders_max per UID. */
struct sg_sender_key {
	__u32 uid;
	__u32 tgid;
};

struct sg_sender {
	__u64 first_ns;
	__u64 last_ns;
	__u64 attempts;
	__u64 denied;
	char comm[16];
};

/*
 * sg_flows (connect hooks; at most uid_flows_max per UID) and sg_egress (LRU,
 * TC): per uid, destination, port.
 */
/* egress: no owning socket (none, not a full one, or the kernel's TCP control socket that
 * sends RSTs and time-wait ACKs); uid is the overflow uid */
#define SG_FLOW_NO_SOCKET (1U << 0)

struct sg_flow_key {
	__u32 uid;
	__u16 port; /* host order */
	__u16 flags; /* SG_FLOW_* */
	__u32 addr[4]; /* destination, network order, IPv4 mapped */
};

struct sg_flow {
	__u64 attempts;
	__u64 denied;
	__u64 first_ns;
	__u64 last_ns;
};

struct sg_egress {
	__u64 syns;
	__u64 packets; /* GSO segments, not skbs */
	__u64 bytes; /* on the wire, headers of every segment included */
	__u64 last_ns;
};

/*
 * sg_sock_owner (socket storage): whose a connection the connect hooks let
 * through is, for sock_ops, which runs mostly in softirq with no process to
 * ask. Most need none: a connection to a watched port is ours, and the
 * socket's owner (sk_uid) is its connect()'s caller. The hooks set an entry
 * only where that does not hold: the caller's UID is not the socket's (made
 * by another user, or before a setuid()), or the port is watched for the
 * caller alone ([ports] detect_any). sock_ops sets one on a connection to
 * this host that sg_local_conns could not take. pid, comm, at_ns and netns
 * are the connect()'s, for sg_local_conns.
 */
struct sg_sock_owner {
	__u32 uid;
	__u16 port; /* host order */
	__u16 state; /* SG_SOCK_*: what has been counted for this socket */
	__u32 pid; /* thread group */
	char comm[16];
	__u32 pad;
	__u64 at_ns; /* CLOCK_BOOTTIME */
	__u64 netns; /* the network namespace's cookie */
};

/* Bit 0 was "established": sock_ops reads that from the socket now. */
#define SG_SOCK_LOCAL (1U << 1) /* in sg_local_conns, to be removed when it closes */

/*
 * sg_local_conns (LRU hash): a connection made on this host to a watched
 * port of this host (loopback, or an address of its own), recorded by
 * sock_ops as it is established, so the policy service can name the UID
 * behind an SMTP session from 127.0.0.1. Addresses IPv4-mapped, ports host
 * order.
 */
struct sg_local_conn_key {
	__u32 client[4];
	__u32 server[4];
	__u16 client_port;
	__u16 server_port;
	__u32 pad;
	/*
	 * The cookie (SO_NETNS_COOKIE) of the connection's network namespace:
	 * a loopback four-tuple is only unique within one, and any user can
	 * make a namespace of their own.
	 */
	__u64 netns;
};

struct sg_local_owner {
	__u32 uid;
	__u32 pid; /* the thread group of the connect() */
	char comm[16];
	/*
	 * CLOCK_BOOTTIME of the record: the establishment, or the connect() for
	 * one recorded then or marked by the connect hooks.
	 */
	__u64 at_ns;
};

/*
 * sg_local_stash (array of 1 << SG_LOCAL_STASH_BITS): a local connection's
 * caller, kept by sock_ops from TCP_CONNECT_CB, which runs in the
 * connect()'s task, to its establishment, which mostly runs in softirq
 * where no caller is current. A slot is its socket's while cookie is the
 * socket's: claimed by a compare-and-swap from 0, and freed by one back
 * to 0 once read, so two handshakes never mix their callers in one slot
 * and no lock (with interrupts off) is taken.
 */
struct sg_local_stash {
	__u64 cookie; /* the socket's (never 0), or 0: free */
	__u32 pid;
	__u32 pad;
	char comm[16];
};

/* Layout 1 had a bpf_spin_lock first and kept at_ns (see user/kern/migrate.c). */
#define SG_LOCAL_STASH_BITS   10
#define SG_LOCAL_STASH_LAYOUT 2

/* sg_conn_stats: key __u32 uid, per CPU: outcomes of those connections (sock_ops). */
struct sg_conn_stats {
	__u64 established;
	__u64 refused; /* closed before established, with no SYN retransmitted: a reset */
	__u64 timed_out; /* closed before established after retransmitting the SYN */
	__u64 bytes_sent; /* acknowledged payload, added when the connection closes */
};

/*
 * sg_subuids (LPM trie, written by the daemon from /etc/subuid): the
 * sub-UID ranges a user may map in a user namespace (subuid(5)), each as
 * the prefixes that cover it, to the owner's UID. A connect from a sub-UID
 * is policed and counted as its owner's, so a range is not 65,536 fresh
 * bursts. The trie matches from the first byte: the UID is stored in
 * network order.
 */
struct sg_subuid_key {
	__u32 prefixlen; /* of the UID's 32 bits */
	__u32 uid;	 /* network order */
};

/*
 * sg_subuid_bits (array of __u64, mmapable): a bit for each block of 65,536
 * UIDs (uid >> 16) that some prefix of sg_subuids touches. Asked first,
 * inline: a UID in no range (every account's) costs no walk of the trie,
 * which a host with thousands of users' ranges makes deep. Kept by the
 * writer of sg_subuids (sg_subuids_apply: set before the trie gains a
 * prefix, cleared once it has lost the last of a block), and set from
 * sg_subuids when the programs are loaded.
 */
#define SG_SUBUID_BITS_WORDS (65536 / 64)

/*
 * sg_sources (LRU, XDP): key struct sg_addr, SYNs to inbound ports. An
 * IPv6 source is cut to sg_settings.ipv6_prefix, IPv4 (mapped) is whole.
 */
struct sg_addr {
	__u32 addr[4];
};

struct sg_source {
	__u64 syns;
	__u64 first_ns;
	__u64 last_ns;
	__u64 login_syns; /* to SG_PORT_LOGIN ports: the brute-force signal */
};

/* sg_bans (LPM trie). IPv4 prefixes are stored as ::ffff:0:0/96 + len. */
struct sg_ban_key {
	__u32 prefixlen;
	__u32 addr[4];
};

/* Why a source is banned, for smtpguard_bans{reason} and the audit. */
#define SG_BAN_REASONS(X)                                                                          \
	X(SG_BAN_MANUAL, "manual") /* smtpguard ban */                                             \
	X(SG_BAN_CONTAIN, "contain") /* it logged in to an account the daemon contained */         \
	X(SG_BAN_AUTH_FAILURES, "auth_failures") /* password guessing from this address */         \
	X(SG_BAN_SYN_RATE, "syn_rate") /* connections to login ports at a guesser's rate */        \
	X(SG_BAN_DISTRIBUTED, "distributed") /* one of many addresses guessing one password */     \
	X(SG_BAN_RELAY, "open_relay") /* it relayed mail through this host */                      \
	X(SG_BAN_CAMPAIGN, "campaign") /* it logged in to many accounts: a credential stuffer */   \
	/* A CrowdSec LAPI's decision, by its origin (user/fleet/decision.h), in that order. */    \
	X(SG_BAN_FLEET_CSCLI, "fleet_cscli") /* an operator's `cscli decisions add` */             \
	X(SG_BAN_FLEET_CROWDSEC, "fleet_crowdsec") /* an alert a server of the fleet pushed */     \
	X(SG_BAN_FLEET_OTHER, "fleet_other") /* the central API, a list, the console */

enum sg_ban_reason { SG_BAN_REASONS(SG_ENUM_VALUE) SG_BAN__MAX };

struct sg_ban {
	__u64 expires_ns; /* CLOCK_BOOTTIME; 0 = never */
	__u64 added_ns;
	__u64 drops;
	__u32 prefixlen; /* the key's: a lookup returns only the value */
	__u32 reason; /* enum sg_ban_reason */
};

/* Expired bans nested in one another that XDP looks past to a broader one. */
#define SG_BAN_DEPTH 8

/*
 * sg_ban_bits (SG_BAN_BITS_WORDS __u64 words: the XDP object's global data,
 * an array of one value, mmapable): which addresses a ban may cover,
 * asked before the trie so that most packets need no trie lookup. A set bit
 * only sends the packet on to sg_bans; every ban's bits are set before the
 * ban is written, and cleared only by a rebuild from sg_bans. An IPv4
 * (mapped) address has a bit for its /24; a ban wider than /24 sets all the
 * bits it covers. Any other address has a bit for its /48, hashed; a ban
 * from /32 to /47 sets each /48's, and one wider than /32 sets the word
 * SG_BAN_BITS_WIDE, which sends every such address on to the trie.
 */
#define SG_BAN_BITS_V4 (1U << 24)
#define SG_BAN_BITS_V6_ORDER 20
#define SG_BAN_BITS_WIDE ((SG_BAN_BITS_V4 + (1U << SG_BAN_BITS_V6_ORDER)) / 64)
#define SG_BAN_BITS_WORDS (SG_BAN_BITS_WIDE + 1)
#define SG_BAN_BITS_LAYOUT 2 /* 1: an array of SG_BAN_BITS_WORDS one-word values */

/* The bit of an address's /48 (its first 48 bits, host order): the top bits of a product. */
static inline __u32 sg_ban_bit48(__u64 prefix48)
{
	__u64 mixed = prefix48 * 0x9E3779B97F4A7C15ULL;

	return SG_BAN_BITS_V4 + (__u32)(mixed >> (64 - SG_BAN_BITS_V6_ORDER));
}

/* sg_errors: per-CPU array indexed by enum sg_error. */
#define SG_ERRORS(X)                                                                               \
	X(SG_ERR_MAP_FULL, "map_full")                                                             \
	X(SG_ERR_RINGBUF_FULL, "ringbuf_full")                                                     \
	X(SG_ERR_TRUNCATED, "truncated") /* a header runs past the end of the packet */            \
	X(SG_ERR_BAD_HEADER, "bad_header") /* IP version, IHL or TCP data offset out of range */   \
	X(SG_ERR_FRAGMENT, "fragment") /* IP fragment: no trustworthy L4 header, not counted */    \
	X(SG_ERR_EXTHDR_LIMIT, "exthdr_limit") /* more IPv6 extension headers than allowed */  \
	X(SG_ERR_VLAN_LIMIT, "vlan_limit") /* more VLAN tags than parsed: dropped at XDP */

enum sg_error { SG_ERRORS(SG_ENUM_VALUE) SG_ERR__MAX };

/* sg_counters: per-CPU array indexed by enum sg_counter. */
#define SG_COUNTERS(X)                                                                             \
	X(SG_CNT_BAN_DROPS, "ban_drops")                                                           \
	X(SG_CNT_EVENTS, "events")                                                                 \
	X(SG_CNT_DENIED_BLOCK, "denied_block") /* the UID is blocked */                            \
	X(SG_CNT_DENIED_THROTTLE, "denied_throttle") /* the UID's bucket is empty */               \
	X(SG_CNT_DENIED_NO_BUCKET, "denied_no_bucket") /* no room for a bucket: fail closed */   \
	X(SG_CNT_LOCAL_RECORDED, "local_recorded") /* sg_local_conns: a connection recorded */     \
	X(SG_CNT_LOCAL_UNRECORDED, "local_unrecorded") /* one that could not be */                 \
	X(SG_CNT_LOCAL_EVICTED, "local_evicted") /* one pushed out before it closed */         \
	X(SG_CNT_SMTP_SEEN, "smtp_seen") /* an SMTP session on an unwatched port (sg_smtp) */      \
	X(SG_CNT_SMTP_REPLACED, "smtp_replaced") /* its slot held another destination */           \
	X(SG_CNT_SMTP_UNRECORDED, "smtp_unrecorded") /* no room in sg_smtp */                      \
	X(SG_CNT_FLOW_QUOTA, "flow_quota") /* a UID's new sg_flows entry over its quota */         \
	X(SG_CNT_SENDER_QUOTA, "sender_quota") /* a UID's new sg_senders entry over its quota */   \
	X(SG_CNT_EGRESS_MADE, "egress_made") /* entries made in sg_egress (LRU) */                 \
	X(SG_CNT_SOURCES_MADE, "sources_made") /* entries made in sg_sources (LRU) */              \
	X(SG_CNT_DENIED_CONTENDED, "denied_contended") /* lost every try at its bucket: fail closed */

enum sg_counter { SG_COUNTERS(SG_ENUM_VALUE) SG_CNT__MAX };

/* sg_events (ring buffer). */
enum sg_event_kind {
	/* first connect to a watched port by this (uid, tgid); or, with an
	 * SG_EVENT_UNRECORDED_* flag, a connect of a process sg_senders could not
	 * take, at most one per UID per interval (with the denials) */
	SG_EV_NEW_SENDER = 1,
	SG_EV_DENIED = 2, /* a connect was refused; at most one per UID per interval */
};

enum sg_verdict {
	SG_VERDICT_ALLOW = 0,
	SG_VERDICT_DENY = 1,
};

struct sg_event {
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u32 kind; /* enum sg_event_kind */
	__u32 verdict; /* enum sg_verdict */
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u32 gid;
	__u32 addr[4];
	__u16 port;
	__u16 pad[3];
	char comm[16];
	__u32 real_uid; /* the caller's own UID; uid is its owner's when it is a sub-UID */
	__u32 flags;	/* SG_EVENT_* */
};

/* sg_event.flags: the process is not in sg_senders, because... */
#define SG_EVENT_UNRECORDED_QUOTA (1U << 0) /* its UID is at its quota of processes */
#define SG_EVENT_UNRECORDED_FULL  (1U << 1) /* there was no room in sg_senders (or sg_uid_stats) */

/*
 * sg_ifaces: written by user space only, to know what to detach. An ifindex
 * is only unique within its network namespace, hence the namespace's inode.
 */
struct sg_iface_key {
	__u64 netns;
	__u32 ifindex;
	__u32 pad;
};

#define SG_IFACE_TC (1U << 0) /* our filter is on the clsact egress hook */
#define SG_IFACE_QDISC_OURS (1U << 1) /* we created the clsact qdisc */
#define SG_IFACE_XDP (1U << 2) /* the XDP link is pinned */

struct sg_iface {
	char name[16];
	__u32 flags; /* SG_IFACE_* */
	__u32 xdp_mode; /* XDP_ATTACHED_DRV or XDP_ATTACHED_SKB */
};

/*
 * sg_smtp (hash, TC egress): SMTP sessions to ports that are not watched,
 * told by the client's first command (EHLO, HELO or MAIL, in any case), per UID
 * and destination. A UID holds at most SG_SMTP_SLOTS entries, one per slot
 * its destinations' address and port hash to: a new destination in a
 * taken slot replaces the older one (SG_CNT_SMTP_REPLACED), so no UID can
 * push out another's; with the table full a UID's first is not recorded
 * (SG_CNT_SMTP_UNRECORDED). With SG_SETTING_DETECT_ANY the connect hooks
 * police the UID's connections to its entries' destinations, and refresh
 * last_ns as they do. The daemon removes entries idle for an hour.
 */
struct sg_smtp_key {
	__u32 uid;
	__u32 slot;
};

struct sg_smtp {
	__u32 addr[4]; /* destination, network order, IPv4 mapped */
	__u16 port; /* host order */
	__u16 pad[3];
	__u64 sessions;
	__u64 first_ns;
	__u64 last_ns;
};

/*
 * sg_layout (hash, user space only): the layout version of each pinned map
 * and the build of each object's pinned programs, keyed by the map's or the
 * object's name, so that an attach over older pins knows what it can reuse,
 * must convert or has to refuse before it touches anything. Pins with no
 * sg_layout are version 1 everywhere: the builds before it.
 */
#define SG_LAYOUT_NAME 32
#define SG_MAX_LAYOUTS 64

struct sg_layout {
	__u32 version; /* a map's: its SG_*_LAYOUT, 1 when it has none */
	__u32 pad;
	__u64 build; /* an object's: a hash of the ELF its programs were loaded from */
};

/* Packet parsing bounds. */
#define SG_MAX_VLANS 3
#define SG_MAX_EXTHDRS 6

#endif /* SMTPGUARD_H */
