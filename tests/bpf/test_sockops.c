// SPDX-License-Identifier: GPL-2.0
/*
 * sock_ops, loaded and attached for real with the connect hooks: children
 * join a test cgroup, drop to a test UID and open real TCP connections in a
 * private network namespace: established and closed with a known number of
 * bytes, refused by a closed port, and timed out on a veth whose neighbour
 * never answers. Asserts the exact per-UID outcomes. Each test has its own
 * UID, so their counters never mix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "fdpass.h"
#include "kern/connstats.h"
#include "kern/loader.h"
#include "kern/maps.h"
#include "kern/policybits.h"
#include "sandbox.h"
#include "smtpguard.h"
#include "kern/state.h"

/* Watched by default: 25 has a listener, 587 none; 465 goes to the silent neighbour. */
#define PORT_OPEN      25
#define PORT_CLOSED    587
#define PORT_SILENT    465
#define PORT_UNWATCHED 8080

#define VETH_ADDR   "203.0.113.1/24"
#define SILENT_ADDR "203.0.113.99"
#define SILENT_MAC  "02:00:00:00:00:99"

static struct {
	struct sandbox sb;
	char veth[IF_NAMESIZE], peer[IF_NAMESIZE];
	pid_t peer_ns; /* sleeps in the network namespace that holds the veth's peer */
	int listen_fd, unwatched_fd;
} t = { .listen_fd = -1, .unwatched_fd = -1 };

/* How the child ends a connection: each leaves TCP through another state. */
enum close_how {
	CLOSE_FIRST,	  /* close() at once: FIN_WAIT2, then CLOSE when the server's FIN comes */
	CLOSE_AFTER_PEER, /* wait for the server's FIN, then close(): LAST_ACK, then CLOSE */
	CLOSE_RESET,	  /* once all is acknowledged, SO_LINGER 0: a reset from ESTABLISHED */
	CLOSE_PASS_FD,	  /* hand the socket to the parent, which closes it as CLOSE_FIRST */
};

/* One connection a child makes. */
struct dial {
	const char *addr; /* IPv4 or IPv6 literal */
	__u16 port;
	size_t send; /* bytes written once connected */
	enum close_how close;
	int syncnt;	 /* TCP_SYNCNT; 0 keeps the default */
	int root_socket; /* the socket is made as root, before the child takes its UID */
	int fill_optmem; /* the child fills the socket's option memory before it connects */
};

/* What the child saw. */
struct outcome {
	int err; /* of connect(): 0 or an errno */
	size_t sent;
};

static int map_fd(const char *name)
{
	int fd = sg_pin_open(name);

	assert_true(fd >= 0);
	return fd;
}

static int link_up(const char *name)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(stderr, "bringing %s up: %s\n", name, strerror(-err));
	return err;
}

static int listener(__u16 port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int off = 0, fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		fprintf(stderr, "listening on port %u: %s\n", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * A veth whose peer lives in a namespace of its own, and a permanent
 * neighbour entry for an address nobody has: SYNs to it leave and are
 * never answered.
 */
static int silent_neighbour(void)
{
	char path[64];
	int ready[2], self, peer_ns, err;
	char c;

	if (pipe(ready))
		return -1;
	t.peer_ns = fork();
	if (t.peer_ns < 0)
		return -1;
	if (!t.peer_ns) {
		close(ready[0]);
		if (unshare(CLONE_NEWNET) || write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	err = read(ready[0], &c, 1) == 1 ? 0 : -1;
	close(ready[0]);
	if (err)
		return -1;

	snprintf(t.veth, sizeof(t.veth), "sgs%d", getpid());
	snprintf(t.peer, sizeof(t.peer), "sgsp%d", getpid());
	if (sh("ip link add %s type veth peer name %s", t.veth, t.peer) ||
	    sh("ip link set dev %s netns %d", t.peer, t.peer_ns) ||
	    sh("ip addr add %s dev %s", VETH_ADDR, t.veth) || link_up(t.veth) ||
	    sh("ip neigh add %s lladdr %s dev %s nud permanent", SILENT_ADDR, SILENT_MAC, t.veth))
		return -1;

	/* The peer up too, so that our side has a carrier and really transmits. */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", t.peer_ns);
	self = open("/proc/self/ns/net", O_RDONLY);
	peer_ns = open(path, O_RDONLY);
	err = self < 0 || peer_ns < 0 || setns(peer_ns, CLONE_NEWNET) ? -1 : link_up(t.peer);
	if (self >= 0 && setns(self, CLONE_NEWNET))
		err = -1;
	if (self >= 0)
		close(self);
	if (peer_ns >= 0)
		close(peer_ns);
	return err;
}

static int do_setup(void)
{
	if (sandbox_enter(&t.sb, "sockops"))
		return -1;
	if (link_up("lo") || silent_neighbour())
		return -1;

	if (sg_attach(t.sb.cgroup, NULL, 0)) {
		fprintf(stderr, "the kernel did not accept the programs (see above)\n");
		return -1;
	}
	t.listen_fd = listener(PORT_OPEN);
	t.unwatched_fd = listener(PORT_UNWATCHED);
	return t.listen_fd < 0 || t.unwatched_fd < 0 ? -1 : 0;
}

/* Undoes whatever part of do_setup() got done. */
static int teardown(void **state)
{
	if (t.listen_fd >= 0)
		close(t.listen_fd);
	if (t.unwatched_fd >= 0)
		close(t.unwatched_fd);
	if (t.veth[0])
		sh("ip link del %s 2>/dev/null || true", t.veth);
	if (t.peer_ns > 0) {
		kill(t.peer_ns, SIGKILL);
		waitpid(t.peer_ns, NULL, 0);
	}
	sandbox_leave(&t.sb);
	return 0;
}

static int setup(void **state)
{
	int err = do_setup();

	if (err)
		teardown(state);
	return err;
}

/* The socket d needs, made by whoever calls. */
static int dial_socket(const struct dial *d)
{
	return socket(strchr(d->addr, ':') ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
}

/*
 * fd's option memory (net.core.optmem_max, what socket storage is charged
 * to) filled to within one key, as any socket's user may: TCP MD5 keys for
 * addresses never dialled, until one more does not fit. 0 or -errno.
 */
static int fill_optmem(int fd)
{
	struct tcp_md5sig md5 = { .tcpm_keylen = 1 };
	struct sockaddr_in *a = (struct sockaddr_in *)&md5.tcpm_addr;
	__u32 i;

	a->sin_family = AF_INET;
	for (i = 0; i < 100000; i++) {
		a->sin_addr.s_addr = htonl(0x0a000000 + i); /* 10/8: never dialled here */
		if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)))
			return errno == ENOMEM ? 0 : -errno;
	}
	return -ENOSPC;
}

/* A connection as d says, on fd (closed on failure); fd or -errno. */
static int dial(const struct dial *d, int fd, size_t *sent)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(d->port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(d->port) };
	int v6 = !!strchr(d->addr, ':');
	struct sockaddr *sa = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, d->addr,
		      v6 ? (void *)&a6.sin6_addr : &a4.sin_addr) != 1) {
		close(fd);
		return -EINVAL;
	}
	if (d->syncnt && setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &d->syncnt, sizeof(d->syncnt)))
		goto fail;
	if (connect(fd, sa, v6 ? sizeof(a6) : sizeof(a4)))
		goto fail;
	memset(buf, 'x', sizeof(buf));
	for (*sent = 0; *sent < d->send; *sent += n) {
		n = write(fd, buf, d->send - *sent < sizeof(buf) ? d->send - *sent : sizeof(buf));
		if (n <= 0)
			goto fail;
	}
	return fd;
fail:
	n = -errno;
	close(fd);
	return n;
}

/* Whatever the connection is to end with, short of the close itself. */
static int before_close(const struct dial *d, int fd)
{
	struct linger abort = { .l_onoff = 1, .l_linger = 0 };
	char buf[64];
	int i, unacked = 0;

	switch (d->close) {
	case CLOSE_AFTER_PEER:
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		return 0;
	case CLOSE_RESET:
		/* Every byte acknowledged before the reset, or bytes_acked would fall short. */
		for (i = 0; i < 500 && !ioctl(fd, SIOCOUTQ, &unacked) && unacked; i++)
			usleep(10000);
		return unacked ? -1 : setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
	default:
		return 0;
	}
}

/* The server's end: accept one connection, read it to the end or limit bytes, close. */
static size_t serve_one(int listen_fd, size_t limit)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n = 1;
	int c = accept(listen_fd, NULL, NULL);

	assert_true(c >= 0);
	while (total < limit && (n = read(c, buf, sizeof(buf))) > 0)
		total += n;
	assert_true(n >= 0);
	close(c);
	return total;
}

/*
 * One connection from a child in the test cgroup running as uid (gid
 * uid + 1). With CLOSE_PASS_FD, the parent's copy of the socket is
 * returned in *fd; with CLOSE_AFTER_PEER, the server side is served here.
 */
static struct outcome run_as(__u32 uid, const struct dial *d, int *fd)
{
	struct outcome o = {};
	int p[2], sv[2], status;
	char path[PATH_MAX + 16], buf[16];
	pid_t child;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		int cg, s = -1;

		snprintf(path, sizeof(path), "%s/cgroup.procs", t.sb.cgroup);
		cg = open(path, O_WRONLY);
		snprintf(buf, sizeof(buf), "%d", getpid());
		if (cg < 0 || write(cg, buf, strlen(buf)) < 0)
			_exit(100);
		if (d->root_socket && (s = dial_socket(d)) < 0)
			_exit(104);
		if (setgroups(0, NULL) || setresgid(uid + 1, uid + 1, uid + 1) ||
		    setresuid(uid, uid, uid))
			_exit(100);
		if (d->fill_optmem && fill_optmem(s))
			_exit(105);
		s = dial(d, d->root_socket ? s : dial_socket(d), &o.sent);
		o.err = s < 0 ? -s : 0;
		if (s >= 0 && d->close == CLOSE_PASS_FD && send_fd(sv[1], s))
			_exit(101);
		if (s >= 0 && before_close(d, s))
			_exit(103);
		if (s >= 0)
			close(s);
		_exit(write(p[1], &o, sizeof(o)) == sizeof(o) ? 0 : 102);
	}
	close(p[1]);
	close(sv[1]);
	if (d->close == CLOSE_AFTER_PEER)
		assert_int_equal(serve_one(t.listen_fd, d->send), d->send);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(p[0], &o, sizeof(o)), sizeof(o));
	close(p[0]);
	if (fd)
		*fd = d->close == CLOSE_PASS_FD && !o.err ? recv_fd(sv[0]) : -1;
	close(sv[0]);
	return o;
}

/* The UID's row through the reader the daemon uses; 0, or -ENOENT when it has none. */
static int conn_stats(__u32 uid, struct sg_conn_stats *out)
{
	struct sg_conn_row *rows;
	size_t n, i;
	int err = -ENOENT;

	assert_int_equal(sg_conn_stats_read(&rows, &n), 0);
	for (i = 0; i < n; i++)
		if (rows[i].uid == uid) {
			*out = rows[i].s;
			err = 0;
		}
	free(rows);
	return err;
}

/* sg_errors' map_full count: what the connect hooks could not store. */
static __u64 map_full_errors(void)
{
	int fd = map_fd(SG_MAP_ERRORS);
	__u64 n = 0;

	assert_int_equal(sg_counter_get(fd, SG_ERR_MAP_FULL, &n), 0);
	close(fd);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The UID's row once the connection has been counted as closed: the last
 * packets of a close can still be in flight on loopback when we look.
 */
static struct sg_conn_stats closed_stats(__u32 uid, int want_bytes)
{
	struct sg_conn_stats s = {};
	int i;

	for (i = 0; i < 500; i++) {
		if (!conn_stats(uid, &s) &&
		    (want_bytes ? s.bytes_sent > 0 : s.refused + s.timed_out > 0))
			break;
		sleep_ms(10);
	}
	return s;
}

static void expect_stats(struct sg_conn_stats s, __u64 established, __u64 refused, __u64 timed_out,
			 __u64 bytes_sent)
{
	assert_int_equal(s.established, established);
	assert_int_equal(s.refused, refused);
	assert_int_equal(s.timed_out, timed_out);
	assert_int_equal(s.bytes_sent, bytes_sent);
}

static void expect_no_stats(__u32 uid)
{
	struct sg_conn_stats s;

	/* Anything counted would have been by now: the close was over when we got here. */
	sleep_ms(100);
	assert_int_equal(conn_stats(uid, &s), -ENOENT);
}

/* (a) Established, exactly N bytes sent and acknowledged, closed cleanly. */
static void test_established_bytes(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_OPEN, .send = 100000, .close = CLOSE_PASS_FD };
	__u32 uid = 62001;
	struct sg_sock_owner owner;
	struct outcome o;
	int fd, owner_fd;

	o = run_as(uid, &d, &fd);
	assert_int_equal(o.err, 0);
	assert_int_equal(o.sent, d.send);
	assert_true(fd >= 0);

	/* Made and connected by the UID: sock_ops knows whose it is from the socket alone. */
	owner_fd = map_fd(SG_MAP_SOCK_OWNER);
	assert_int_equal(bpf_map_lookup_elem(owner_fd, &fd, &owner), -ENOENT);
	close(owner_fd);

	close(fd);
	assert_int_equal(serve_one(t.listen_fd, SIZE_MAX), d.send);
	expect_stats(closed_stats(uid, 1), 1, 0, 0, d.send);
}

/*
 * A socket root made, connected by the UID it then took (a daemon that
 * drops privileges after socket()): the outcome is the connecting UID's,
 * through the entry the connect hooks keep for it, and none is root's.
 */
static void test_root_socket_connected_by_uid(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_OPEN, .send = 4321, .close = CLOSE_PASS_FD,
				.root_socket = 1 };
	__u32 uid = 62009;
	struct sg_sock_owner owner;
	struct sg_conn_stats root;
	int fd, owner_fd, had_root = !conn_stats(0, &root);

	assert_int_equal(run_as(uid, &d, &fd).err, 0);
	assert_true(fd >= 0);

	owner_fd = map_fd(SG_MAP_SOCK_OWNER);
	assert_int_equal(bpf_map_lookup_elem(owner_fd, &fd, &owner), 0);
	close(owner_fd);
	assert_int_equal(owner.uid, uid);
	assert_int_equal(owner.port, PORT_OPEN);
	assert_int_equal(owner.state, SG_SOCK_LOCAL); /* to 127.0.0.1 */

	close(fd);
	assert_int_equal(serve_one(t.listen_fd, SIZE_MAX), d.send);
	expect_stats(closed_stats(uid, 1), 1, 0, 0, d.send);
	assert_false(had_root);
	expect_no_stats(0);
}

/*
 * The same root socket, its option memory filled by the UID first, so that
 * the connect hooks cannot mark it: the connection is nobody's, not root's
 * (a customer would charge its connections, and a local one's mail, to
 * whoever made a socket it was handed).
 */
static void test_unmarked_socket_not_its_maker(void **state)
{
	const struct dial d = { "127.0.0.1",	  PORT_OPEN,
				.send = 999,	  .close = CLOSE_PASS_FD,
				.root_socket = 1, .fill_optmem = 1 };
	__u64 errors_before, errors_after;
	__u32 uid = 62010;
	struct sg_conn_stats root;
	int fd;

	assert_int_equal(conn_stats(0, &root), -ENOENT);
	errors_before = map_full_errors();
	assert_int_equal(run_as(uid, &d, &fd).err, 0);
	assert_true(fd >= 0);
	errors_after = map_full_errors();
	/* The hooks tried to mark it, and could not. */
	assert_int_equal(errors_after, errors_before + 1);

	close(fd);
	assert_int_equal(serve_one(t.listen_fd, SIZE_MAX), d.send);
	expect_no_stats(0);
	expect_no_stats(uid);
}

/* The same over IPv6, through connect6. */
static void test_established_ipv6(void **state)
{
	const struct dial d = { "::1", PORT_OPEN, .send = 1234 };
	__u32 uid = 62002;
	struct outcome o;

	o = run_as(uid, &d, NULL);
	assert_int_equal(o.err, 0);
	assert_int_equal(serve_one(t.listen_fd, SIZE_MAX), d.send);
	expect_stats(closed_stats(uid, 1), 1, 0, 0, d.send);
}

/* The server closes first: the FIN acknowledged last is ours, from LAST_ACK. */
static void test_closed_by_peer(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_OPEN, .send = 777, .close = CLOSE_AFTER_PEER };
	__u32 uid = 62007;

	assert_int_equal(run_as(uid, &d, NULL).err, 0);
	expect_stats(closed_stats(uid, 1), 1, 0, 0, d.send);
}

/* An abortive close sends no FIN: only the SYN is taken off. */
static void test_reset_by_sender(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_OPEN, .send = 4321, .close = CLOSE_RESET };
	__u32 uid = 62008;

	assert_int_equal(run_as(uid, &d, NULL).err, 0);
	expect_stats(closed_stats(uid, 1), 1, 0, 0, d.send);
	close(accept(t.listen_fd, NULL, NULL));
}

/* (b) A closed port answers the SYN with a reset. */
static void test_refused(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_CLOSED, .send = 0 };
	__u32 uid = 62003;

	assert_int_equal(run_as(uid, &d, NULL).err, ECONNREFUSED);
	expect_stats(closed_stats(uid, 0), 0, 1, 0, 0);
}

/* (c) Nobody answers: one SYN retransmission (TCP_SYNCNT 1), then ETIMEDOUT after ~3 s. */
static void test_timed_out(void **state)
{
	const struct dial d = { SILENT_ADDR, PORT_SILENT, .syncnt = 1 };
	__u32 uid = 62004;

	assert_int_equal(run_as(uid, &d, NULL).err, ETIMEDOUT);
	expect_stats(closed_stats(uid, 0), 0, 0, 1, 0);
}

/* (d) A connection to a port nobody watches is none of our business. */
static void test_unwatched_port(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_UNWATCHED, .send = 500 };
	__u32 uid = 62005;

	assert_int_equal(run_as(uid, &d, NULL).err, 0);
	assert_int_equal(serve_one(t.unwatched_fd, SIZE_MAX), d.send);
	expect_no_stats(uid);
}

/* (e) A refused connect() never reached TCP: no outcome, not even "refused". */
static void test_denied(void **state)
{
	const struct dial d = { "127.0.0.1", PORT_OPEN, .send = 0 };
	struct sg_policy block = { .mode = SG_MODE_BLOCK, .updated_ns = sg_boot_ns() };
	struct sg_uid_stats us;
	__u32 uid = 62006;
	int fd = map_fd(SG_MAP_POLICIES);

	assert_int_equal(sg_policy_put(fd, uid, &block, BPF_ANY), 0);
	close(fd);
	assert_int_equal(run_as(uid, &d, NULL).err, EPERM);
	expect_no_stats(uid);

	/* The connect hooks did see it. */
	fd = map_fd(SG_MAP_UID_STATS);
	assert_int_equal(bpf_map_lookup_elem(fd, &uid, &us), 0);
	close(fd);
	assert_int_equal(us.denied, 1);
}

/* The id of the map called name among those prog uses, or 0. */
static __u32 prog_map_id(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	struct bpf_map_info mi;
	__u32 len = sizeof(info), ids[32], i, found = 0;
	int fd;

	info.nr_map_ids = 32;
	info.map_ids = (__u64)(unsigned long)ids;
	assert_int_equal(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	assert_true(info.nr_map_ids <= 32);
	for (i = 0; i < info.nr_map_ids; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		assert_true(fd >= 0);
		memset(&mi, 0, sizeof(mi));
		len = sizeof(mi);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &mi, &len), 0);
		close(fd);
		if (!strcmp(mi.name, name))
			found = ids[i];
	}
	return found;
}

/* (f) The connect hooks write the very map sock_ops reads. */
static void test_one_owner_map(void **state)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), via_connect4, via_connect6, via_sockops;
	int fd;

	fd = map_fd("prog_connect4");
	via_connect4 = prog_map_id(fd, SG_MAP_SOCK_OWNER);
	close(fd);
	fd = map_fd("prog_connect6");
	via_connect6 = prog_map_id(fd, SG_MAP_SOCK_OWNER);
	close(fd);
	fd = map_fd("prog_sockops");
	via_sockops = prog_map_id(fd, SG_MAP_SOCK_OWNER);
	close(fd);
	fd = map_fd(SG_MAP_SOCK_OWNER);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &mi, &len), 0);
	close(fd);

	assert_int_not_equal(mi.id, 0);
	assert_int_equal(mi.type, BPF_MAP_TYPE_SK_STORAGE);
	assert_int_equal(via_connect4, mi.id);
	assert_int_equal(via_connect6, mi.id);
	assert_int_equal(via_sockops, mi.id);
}

/* Every UID above, added up: nothing else was counted. */
static void test_totals(void **state)
{
	struct sg_conn_row *rows;
	struct sg_conn_stats total;
	size_t n;

	assert_int_equal(sg_conn_stats_read(&rows, &n), 0);
	sg_conn_stats_total(rows, n, &total);
	assert_int_equal(n, 7);
	assert_int_equal(rows[0].uid, 62001);
	assert_int_equal(rows[3].uid, 62004);
	assert_int_equal(rows[4].uid, 62007);
	assert_int_equal(rows[5].uid, 62008);
	assert_int_equal(rows[6].uid, 62009);
	free(rows);
	expect_stats(total, 5, 1, 1, 100000 + 1234 + 777 + 4321 + 4321);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_established_bytes),
		cmocka_unit_test(test_root_socket_connected_by_uid),
		cmocka_unit_test(test_unmarked_socket_not_its_maker),
		cmocka_unit_test(test_established_ipv6),
		cmocka_unit_test(test_closed_by_peer),
		cmocka_unit_test(test_reset_by_sender),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_timed_out),
		cmocka_unit_test(test_unwatched_port),
		cmocka_unit_test(test_denied),
		cmocka_unit_test(test_one_owner_map),
		cmocka_unit_test(test_totals),
	};

	return cmocka_run_group_tests_name("sockops", tests, setup, teardown);
}
