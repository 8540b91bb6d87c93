// SPDX-License-Identifier: GPL-2.0
/*
 * sg_local_conns, with the connect hooks and sock_ops loaded and attached
 * for real: children join a test cgroup, take real test UIDs, name
 * themselves (comm) and connect() on loopback, to the namespace's own
 * address, and to another namespace; the socket comes back to the parent
 * (SCM_RIGHTS), which reads its four-tuple as the MTA would and asks
 * sg_localconn_owner whose it is. Asserts the exact map contents, owners
 * and counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "fdpass.h"
#include "kern/loader.h"
#include "kern/localconn.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "sandbox.h"
#include "smtpguard.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define PORT_SMTP      25 /* watched by default */
#define PORT_UNWATCHED 8080
#define PORT_CLOSED    587	     /* watched by default; nothing listens on it */
#define OWN_ADDR       "203.0.113.1" /* this namespace's veth */
#define PEER_ADDR      "203.0.113.2" /* the other end, in a namespace of its own */
#define MANY	       100	     /* connections per UID in test_many */

static struct {
	struct sandbox sb;
	char veth[IF_NAMESIZE];
	pid_t peer; /* listens on PEER_ADDR:25 in its own namespace */
	int smtp_fd, unwatched_fd, early_fd, map;
} t = { .smtp_fd = -1, .unwatched_fd = -1, .early_fd = -1, .map = -1 };

/* What a child does: n connections to addr:port, from bind_port if not 0. */
struct client {
	__u32 uid;
	const char *addr;
	__u16 port, bind_port;
	int n;
	int userns; /* connect as root of a user namespace that maps 0 to uid */
	int netns;  /* connect from a network namespace of its own, loopback up */
};

/* A child's connection, back in the parent. */
struct conn {
	int fd;
	__u32 uid;
	pid_t pid;
	char comm[16];
	/* CLOCK_BOOTTIME before its connect and after its establishment. */
	__u64 since_ns, until_ns;
};

static int listener(const char *addr, __u16 port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int off = 0, fd = socket(AF_INET6, SOCK_STREAM, 0);

	/* "::" takes IPv4 too (v4-mapped); a v4 address is bound as ::ffff:a.b.c.d. */
	if (strchr(addr, ':'))
		inet_pton(AF_INET6, addr, &a.sin6_addr);
	else if (inet_pton(AF_INET6, "::ffff:0.0.0.0", &a.sin6_addr) == 1)
		inet_pton(AF_INET, addr, &a.sin6_addr.s6_addr32[3]);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4 * MANY)) {
		fprintf(stderr, "listening on %s port %u: %s\n", addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A connected socket to addr:port (from bind_port when not 0), or -errno. */
static int dial(const char *addr, __u16 port, __u16 bind_port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in b4 = { .sin_family = AF_INET, .sin_port = htons(bind_port) };
	int v6 = !!strchr(addr, ':'), fd, err;

	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, v6 ? (void *)&a6.sin6_addr : &a4.sin_addr) !=
	    1)
		return -EINVAL;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	b4.sin_addr.s_addr = a4.sin_addr.s_addr;
	if ((bind_port && bind(fd, (struct sockaddr *)&b4, sizeof(b4))) ||
	    connect(fd, v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4,
		    v6 ? sizeof(a6) : sizeof(a4))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The child's own network namespace, with loopback up and a listener on PORT_SMTP. */
static int own_netns(void)
{
	return unshare(CLONE_NEWNET) || system("ip link set lo up") || listener("::", PORT_SMTP) < 0
		       ? -1
		       : 0;
}

/* Root of a new user namespace in which 0 is uid: the parent writes the map (via ready). */
static int own_userns(int ready)
{
	char c;

	if (unshare(CLONE_NEWUSER) || write(ready, "u", 1) != 1 || read(ready, &c, 1) != 1)
		return -1;
	return setresgid(0, 0, 0) || setresuid(0, 0, 0) ? -1 : 0;
}

static void child(const struct client *c, int via, int go)
{
	char path[PATH_MAX + 16], buf[16];
	int cg, fd, i;

	snprintf(path, sizeof(path), "%s/cgroup.procs", t.sb.cgroup);
	cg = open(path, O_WRONLY);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (cg < 0 || write(cg, buf, strlen(buf)) < 0)
		_exit(100);
	snprintf(buf, sizeof(buf), "sglc-%u", c->uid);
	if (prctl(PR_SET_NAME, buf) || (c->netns && own_netns()))
		_exit(101);
	if (c->userns ? own_userns(via)
		      : c->uid && (setgroups(0, NULL) || setresgid(c->uid, c->uid, c->uid) ||
				   setresuid(c->uid, c->uid, c->uid)))
		_exit(102);
	if (go >= 0 && read(go, buf, 1) != 1)
		_exit(103);
	for (i = 0; i < c->n; i++) {
		fd = dial(c->addr, c->port, c->bind_port);
		if (fd < 0)
			_exit(110 + -fd % 100);
		if (send_fd(via, fd))
			_exit(104);
		close(fd);
	}
	_exit(0);
}

/* The user namespace child's map: 0 inside is c->uid outside. */
static void map_userns(const struct client *c, pid_t pid, int via)
{
	char path[64], map[64], ch;
	int i, fd;

	assert_int_equal(read(via, &ch, 1), 1);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, i ? "gid_map" : "uid_map");
		snprintf(map, sizeof(map), "0 %u 1\n", c->uid);
		fd = open(path, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, map, strlen(map)), (ssize_t)strlen(map));
		close(fd);
	}
	assert_int_equal(write(via, "g", 1), 1);
}

struct running {
	pid_t pid;
	int via;
	__u64 since_ns;
};

/* Starts c; with go >= 0 it waits for a byte there before connecting. */
static struct running start(const struct client *c, int go)
{
	struct running r;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r.since_ns = sg_boot_ns();
	r.pid = fork();
	assert_true(r.pid >= 0);
	if (!r.pid) {
		close(sv[0]);
		child(c, sv[1], go);
	}
	close(sv[1]);
	r.via = sv[0];
	if (c->userns)
		map_userns(c, r.pid, r.via);
	return r;
}

/* Collects c's connections into out, and its exit. */
static void finish(const struct client *c, struct running r, struct conn *out)
{
	int i, status;

	for (i = 0; i < c->n; i++) {
		out[i] = (struct conn){ .fd = recv_fd(r.via), .uid = c->uid, .pid = r.pid };
		out[i].since_ns = r.since_ns;
		out[i].until_ns = sg_boot_ns();
		snprintf(out[i].comm, sizeof(out[i].comm), "sglc-%u", c->uid);
		assert_true(out[i].fd >= 0);
	}
	assert_int_equal(waitpid(r.pid, &status, 0), r.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(r.via);
}

static void run(const struct client *c, struct conn *out)
{
	finish(c, start(c, -1), out);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Accepts and closes every connection waiting on fd. */
static void drain(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 0) == 1)
		close(accept(fd, NULL, NULL));
}

/* Entries in sg_local_conns once it holds want, or what it holds after 5 s of waiting. */
static int entries_when(int want)
{
	int i, n = -1;

	for (i = 0; i < 500 && (n = sg_map_count(t.map)) != want; i++)
		sleep_ms(10);
	return n;
}

static __u64 counter(__u32 idx)
{
	int fd = sg_pin_open(SG_MAP_COUNTERS);
	__u64 n = 0;

	assert_true(fd >= 0);
	assert_int_equal(sg_counter_get(fd, idx, &n), 0);
	close(fd);
	return n;
}

/* The conn's four-tuple as the MTA would pass it: numeric strings and ports. */
struct tuple {
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];
	int client_port, server_port;
};

static void name_of(const struct sockaddr_storage *ss, char *addr, int *port)
{
	const struct sockaddr_in *a4 = (const void *)ss;
	const struct sockaddr_in6 *a6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &a4->sin_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(a4->sin_port);
	} else {
		inet_ntop(AF_INET6, &a6->sin6_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(a6->sin6_port);
	}
}

static struct tuple tuple_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct tuple tu;

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	name_of(&ss, tu.client, &tu.client_port);
	len = sizeof(ss);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&ss, &len), 0);
	name_of(&ss, tu.server, &tu.server_port);
	return tu;
}

/*
 * sg_localconn_owner finds the conn by its strings, with its owner's uid,
 * pid and comm, and a time between its connect and its fd's arrival.
 */
static void expect_owner(const struct conn *c)
{
	struct tuple tu = tuple_of(c->fd);
	struct sg_local_owner o;

	assert_int_equal(
		sg_localconn_owner(t.map, tu.client, tu.client_port, tu.server, tu.server_port, &o),
		0);
	assert_int_equal(o.uid, c->uid);
	assert_int_equal(o.pid, c->pid);
	assert_string_equal(o.comm, c->comm);
	assert_true(o.at_ns >= c->since_ns && o.at_ns <= c->until_ns);
}

static void close_all(struct conn *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(c[i].fd);
}

/* The peer's end: in a namespace of its own, PEER_ADDR on the veth end it is given, listening. */
static void peer(int up, int down)
{
	char name[IF_NAMESIZE], b;
	int fd;

	if (unshare(CLONE_NEWNET) || write(up, "x", 1) != 1 || read(down, &b, 1) != 1)
		_exit(1);
	snprintf(name, sizeof(name), "sglp%d", getppid());
	if (sh("ip link set lo up && ip addr add %s/24 dev %s && ip link set %s up", PEER_ADDR,
	       name, name))
		_exit(1);
	fd = listener(PEER_ADDR, PORT_SMTP);
	if (fd < 0 || write(up, "x", 1) != 1)
		_exit(1);
	for (;;)
		close(accept(fd, NULL, NULL));
}

/* A veth to the peer's namespace, OWN_ADDR on our end. */
static int remote_peer(void)
{
	char name[IF_NAMESIZE], b;
	int up[2], down[2], err;

	if (pipe(up) || pipe(down))
		return -1;
	t.peer = fork();
	if (t.peer < 0)
		return -1;
	if (!t.peer)
		peer(up[1], down[0]);
	snprintf(t.veth, sizeof(t.veth), "sgl%d", getpid());
	snprintf(name, sizeof(name), "sglp%d", getpid());
	err = read(up[0], &b, 1) != 1 ||
	      sh("ip link add %s type veth peer name %s && ip link set dev %s netns %d && "
		 "ip addr add %s/24 dev %s && ip link set %s up",
		 t.veth, name, name, t.peer, OWN_ADDR, t.veth, t.veth) ||
	      write(down[1], "x", 1) != 1 || read(up[0], &b, 1) != 1;
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	if (t.map >= 0)
		close(t.map);
	if (t.early_fd >= 0)
		close(t.early_fd);
	if (t.smtp_fd >= 0)
		close(t.smtp_fd);
	if (t.unwatched_fd >= 0)
		close(t.unwatched_fd);
	if (t.veth[0])
		sh("ip link del %s 2>/dev/null || true", t.veth);
	if (t.peer > 0) {
		kill(t.peer, SIGKILL);
		waitpid(t.peer, NULL, 0);
	}
	sandbox_leave(&t.sb);
	return 0;
}

/*
 * Before the programs are attached, one connection is made and kept open:
 * what the daemon finds for a session older than itself.
 */
static int do_setup(void)
{
	const struct client early = { 62109, "127.0.0.1", PORT_SMTP, .n = 1 };
	struct running r;
	struct conn c;
	int status;

	if (sandbox_enter(&t.sb, "localconn") || sh("ip link set lo up") || remote_peer())
		return -1;
	t.smtp_fd = listener("::", PORT_SMTP);
	t.unwatched_fd = listener("::", PORT_UNWATCHED);
	if (t.smtp_fd < 0 || t.unwatched_fd < 0)
		return -1;
	r = start(&early, -1);
	t.early_fd = c.fd = recv_fd(r.via);
	close(r.via);
	if (c.fd < 0 || waitpid(r.pid, &status, 0) != r.pid || status)
		return -1;
	if (sg_attach(t.sb.cgroup, NULL, 0)) {
		fprintf(stderr, "the kernel did not accept the programs (see above)\n");
		return -1;
	}
	t.map = sg_pin_open(SG_MAP_LOCAL_CONNS);
	return t.map < 0 ? -1 : 0;
}

static int setup(void **state)
{
	int err = do_setup();

	if (err)
		teardown(state);
	return err;
}

/* Made before the hooks were there: nothing to find, and nothing made up. */
static void test_before_attach(void **state)
{
	struct tuple tu = tuple_of(t.early_fd);
	struct sg_local_owner o;

	assert_int_equal(sg_map_count(t.map), 0);
	assert_int_equal(
		sg_localconn_owner(t.map, tu.client, tu.client_port, tu.server, tu.server_port, &o),
		-ENOENT);
}

/*
 * Two UIDs, root, a v4-mapped IPv6 socket, the namespace's own address, and
 * root of a user namespace (recorded as the UID it is outside, 62105):
 * exactly those six, each with its owner, and gone once closed.
 */
static void test_owners(void **state)
{
	const struct client cl[] = {
		{ 62101, "127.0.0.1", PORT_SMTP, .n = 1 },
		{ 62102, "::1", PORT_SMTP, .n = 1 },
		{ 0, "127.0.0.1", PORT_SMTP, .n = 1 },
		{ 62103, "::ffff:127.0.0.1", PORT_SMTP, .n = 1 },
		{ 62104, OWN_ADDR, PORT_SMTP, .n = 1 },
		{ 62105, "127.0.0.1", PORT_SMTP, .n = 1, .userns = 1 },
	};
	const int n = sizeof(cl) / sizeof(cl[0]);
	__u64 recorded = counter(SG_CNT_LOCAL_RECORDED);
	struct conn c[sizeof(cl) / sizeof(cl[0])];
	int i;

	for (i = 0; i < n; i++)
		run(&cl[i], &c[i]);
	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED) - recorded, n);
	assert_int_equal(entries_when(n), n);
	for (i = 0; i < n; i++)
		expect_owner(&c[i]);

	close_all(c, n);
	drain(t.smtp_fd);
	assert_int_equal(entries_when(0), 0);
}

/* To a port nobody watches, or to another host (namespace): no record. */
static void test_not_recorded(void **state)
{
	const struct client cl[] = {
		{ 62106, "127.0.0.1", PORT_UNWATCHED, .n = 1 },
		{ 62106, PEER_ADDR, PORT_SMTP, .n = 1 },
	};
	__u64 recorded = counter(SG_CNT_LOCAL_RECORDED);
	struct sg_local_owner o;
	struct tuple tu;
	struct conn c[2];
	int i;

	for (i = 0; i < 2; i++) {
		run(&cl[i], &c[i]);
		tu = tuple_of(c[i].fd);
		assert_int_equal(sg_localconn_owner(t.map, tu.client, tu.client_port, tu.server,
						    tu.server_port, &o),
				 -ENOENT);
	}
	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED), recorded);
	assert_int_equal(sg_map_count(t.map), 0);
	close_all(c, 2);
	drain(t.unwatched_fd);
}

/*
 * A hostile user's namespace reuses our four-tuple (127.0.0.1:40001 to
 * 127.0.0.1:25) and closes it: our entry is neither replaced nor removed.
 */
static void test_other_netns(void **state)
{
	const struct client ours = { 62107, "127.0.0.1", PORT_SMTP, 40001, .n = 1 };
	const struct client theirs = { 62108, "127.0.0.1", PORT_SMTP, 40001, .n = 1, .netns = 1 };
	__u64 recorded = counter(SG_CNT_LOCAL_RECORDED), evicted = counter(SG_CNT_LOCAL_EVICTED);
	struct conn a, b;

	run(&ours, &a);
	run(&theirs, &b);
	close(b.fd);
	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED) - recorded, 2);
	assert_int_equal(entries_when(1), 1);
	expect_owner(&a);
	assert_int_equal(counter(SG_CNT_LOCAL_EVICTED), evicted);
	close(a.fd);
	drain(t.smtp_fd);
	assert_int_equal(entries_when(0), 0);
}

/*
 * How exact the join is: two UIDs connect MANY times each at once, to the
 * same 127.0.0.1:25; every connection resolves to its own UID and process.
 */
static void test_many(void **state)
{
	const struct client cl[] = {
		{ 62111, "127.0.0.1", PORT_SMTP, .n = MANY },
		{ 62112, "127.0.0.1", PORT_SMTP, .n = MANY },
	};
	static struct conn c[2 * MANY];
	__u64 recorded = counter(SG_CNT_LOCAL_RECORDED);
	struct running r[2];
	int go[2], i;

	assert_int_equal(pipe(go), 0);
	for (i = 0; i < 2; i++)
		r[i] = start(&cl[i], go[0]);
	assert_int_equal(write(go[1], "gg", 2), 2);
	for (i = 0; i < 2; i++)
		finish(&cl[i], r[i], c + i * MANY);
	close(go[0]);
	close(go[1]);

	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED) - recorded, 2 * MANY);
	assert_int_equal(entries_when(2 * MANY), 2 * MANY);
	for (i = 0; i < 2 * MANY; i++)
		expect_owner(&c[i]);
	printf("test_many: %d of %d connections from 2 UIDs at once resolved to their own UID\n",
	       2 * MANY, 2 * MANY);
	close_all(c, 2 * MANY);
	drain(t.smtp_fd);
	assert_int_equal(entries_when(0), 0);
}

/* c's connection, refused: nothing listens on its port. */
static void refused(const struct client *c)
{
	struct running r = start(c, -1);
	int status;

	assert_int_equal(waitpid(r.pid, &status, 0), r.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 110 + ECONNREFUSED % 100);
	close(r.via);
}

/*
 * Refused by a closed watched port of this host: never established, so no
 * server saw it and nothing was recorded (it was, and removed at its close,
 * when every connection was recorded at its connect).
 */
static void test_refused(void **state)
{
	const struct client cl = { 62113, "127.0.0.1", PORT_CLOSED, .n = 1 };
	__u64 recorded = counter(SG_CNT_LOCAL_RECORDED), evicted = counter(SG_CNT_LOCAL_EVICTED);
	int i;

	for (i = 0; i < 3; i++)
		refused(&cl);
	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED), recorded);
	assert_int_equal(counter(SG_CNT_LOCAL_EVICTED), evicted);
	assert_int_equal(sg_map_count(t.map), 0);
}

/* Every slot of sg_local_stash held (as by handshakes that never end), or every one free. */
static void stash_fill(int held)
{
	int fd = sg_pin_open(SG_MAP_LOCAL_STASH);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), i;
	char v[256];

	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_true(info.value_size <= sizeof(v));
	memset(v, held ? 0xff : 0, sizeof(v)); /* a cookie no socket has */
	for (i = 0; i < info.max_entries; i++)
		assert_int_equal(bpf_map_update_elem(fd, &i, v, BPF_ANY), 0);
	close(fd);
}

/*
 * No slot to keep the caller in until establishment: the connection is
 * recorded at its connect, exactly, and its record goes at its close;
 * a refused one's too, with nothing counted as pushed out.
 */
static void test_stash_full(void **state)
{
	const struct client cl = { 62114, "127.0.0.1", PORT_SMTP, .n = 1 };
	const struct client no = { 62114, "127.0.0.1", PORT_CLOSED, .n = 1 };
	__u64 recorded = counter(SG_CNT_LOCAL_RECORDED), evicted = counter(SG_CNT_LOCAL_EVICTED);
	struct conn c;

	stash_fill(1);
	run(&cl, &c);
	assert_int_equal(entries_when(1), 1);
	expect_owner(&c);
	close_all(&c, 1);
	drain(t.smtp_fd);
	assert_int_equal(entries_when(0), 0);
	refused(&no);
	assert_int_equal(entries_when(0), 0);
	stash_fill(0);
	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED) - recorded, 2);
	assert_int_equal(counter(SG_CNT_LOCAL_EVICTED), evicted);
}

/* What the MTA could send that names nothing: -EINVAL; a well-formed stranger: -ENOENT. */
static void test_lookup_errors(void **state)
{
	static const char *const bad[] = { "garbage",	   "",
					   "127.0.0.1/32", "::1%lo",
					   "127.0.0.1 ",   "1.2.3.4.5",
					   "[::1]",	   "2001:db8::1/128" };
	struct sg_local_owner o;
	size_t i;

	assert_int_equal(sg_localconn_owner(t.map, "127.0.0.1", 1, "127.0.0.1", 25, &o), -ENOENT);
	assert_int_equal(sg_localconn_owner(t.map, "::1", 65535, "::1", 587, &o), -ENOENT);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sg_localconn_owner(t.map, bad[i], 40000, "127.0.0.1", 25, &o),
				 -EINVAL);
		assert_int_equal(sg_localconn_owner(t.map, "127.0.0.1", 40000, bad[i], 25, &o),
				 -EINVAL);
	}
	assert_int_equal(sg_localconn_owner(t.map, NULL, 40000, "127.0.0.1", 25, &o), -EINVAL);
	assert_int_equal(sg_localconn_owner(t.map, "127.0.0.1", 40000, NULL, 25, &o), -EINVAL);
	assert_int_equal(sg_localconn_owner(t.map, "127.0.0.1", 0, "127.0.0.1", 25, &o), -EINVAL);
	assert_int_equal(sg_localconn_owner(t.map, "127.0.0.1", 65536, "127.0.0.1", 25, &o),
			 -EINVAL);
	assert_int_equal(sg_localconn_owner(t.map, "127.0.0.1", 40000, "127.0.0.1", -25, &o),
			 -EINVAL);
}

/* Every record above made and every one removed by its own close: none lost, none pushed out. */
/*
 * Its port unwatched while the connection is open: the record still goes
 * when it closes, rather than stay until the LRU pushes it out, naming
 * whoever next has that four-tuple (no longer recorded on that port).
 */
static void test_unwatched_before_close(void **state)
{
	const struct client cl = { 62110, "127.0.0.1", PORT_SMTP, .n = 1 };
	int ports = sg_pin_open(SG_MAP_PORTS);
	struct sg_port was;
	struct conn c;

	assert_true(ports >= 0);
	assert_int_equal(sg_port_get(ports, PORT_SMTP, &was), 0);
	run(&cl, &c);
	assert_int_equal(entries_when(1), 1);
	assert_int_equal(sg_port_set(ports, PORT_SMTP, 0), 0);
	close_all(&c, 1);
	drain(t.smtp_fd);
	assert_int_equal(entries_when(0), 0);
	assert_int_equal(sg_port_set(ports, PORT_SMTP, was.flags), 0);
	close(ports);
}

static void test_totals(void **state)
{
	assert_int_equal(counter(SG_CNT_LOCAL_RECORDED), 6 + 2 + 2 * MANY + 2 + 1);
	assert_int_equal(counter(SG_CNT_LOCAL_UNRECORDED), 0);
	assert_int_equal(counter(SG_CNT_LOCAL_EVICTED), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_before_attach),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_not_recorded),
		cmocka_unit_test(test_other_netns),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_stash_full),
		cmocka_unit_test(test_lookup_errors),
		cmocka_unit_test(test_unwatched_before_close),
		cmocka_unit_test(test_totals),
	};

	return cmocka_run_group_tests_name("localconn", tests, setup, teardown);
}
