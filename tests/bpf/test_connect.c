// SPDX-License-Identifier: GPL-2.0
/*
 * The connect hooks, loaded and attached for real: children join a test
 * cgroup, take a test UID and call connect() (or sendto() with
 * MSG_FASTOPEN) on loopback in a private network namespace. Asserts the
 * exact verdicts, map contents and ring-buffer events. Each test uses its
 * own UID, so their counters never mix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kern/connstats.h"
#include "daemon/sweep.h"
#include "kern/collect.h"
#include "kern/loader.h"
#include "kern/maps.h"
#include "kern/policybits.h"
#include "kern/subuids.h"
#include "sg_bucket.h"
#include "sandbox.h"
#include "smtpguard.h"
#include "kern/state.h"

#define MAX_EVENTS 64

static struct {
	struct sandbox sb;
	int listen_fd;
	__u16 port, other_port;
	int other_fd;
	struct ring_buffer *rb;
	struct sg_event events[MAX_EVENTS];
	int n_events;
} t;

/* VIA_KEPT4: connect() over IPv4 on one socket kept while refused (a flood's way: fast). */
enum connect_how {
	VIA_CONNECT4,
	VIA_CONNECT6_MAPPED,
	VIA_CONNECT6,
	VIA_FASTOPEN,
	VIA_UDP,
	VIA_KEPT4
};

struct result {
	int ok, eperm, other;
};

static int map_fd(const char *name)
{
	int fd = sg_pin_open(name);

	assert_true(fd >= 0);
	return fd;
}

static void lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static int listener(__u16 *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	socklen_t len = sizeof(a);
	int qlen = 16, off = 0, fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen));
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 256), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin6_port);
	return fd;
}

/* Accept whatever is queued so the backlog never fills between tests. */
static void drain(int fd)
{
	int c;

	while ((c = accept(fd, NULL, NULL)) >= 0)
		close(c);
}

static int on_event(void *ctx, void *data, size_t size)
{
	assert_int_equal(size, sizeof(struct sg_event));
	if (t.n_events < MAX_EVENTS)
		memcpy(&t.events[t.n_events++], data, sizeof(struct sg_event));
	return 0;
}

static void read_events(void)
{
	t.n_events = 0;
	assert_true(ring_buffer__consume(t.rb) >= 0);
}

static int do_setup(void)
{
	int fd;

	if (sandbox_enter(&t.sb, "connect"))
		return -1;
	lo_up();

	/* TC egress on our loopback too, for the kernel's replies. */
	if (sg_attach(t.sb.cgroup, (char *[]){ "lo" }, 1)) {
		fprintf(stderr, "the kernel did not accept the connect hooks (see above)\n");
		return -1;
	}
	t.listen_fd = listener(&t.port);
	t.other_fd = listener(&t.other_port);
	fd = map_fd(SG_MAP_PORTS);
	if (sg_port_set(fd, t.port, SG_PORT_OUTBOUND))
		return -1;
	close(fd);
	fd = map_fd(SG_MAP_EVENTS);
	t.rb = ring_buffer__new(fd, on_event, NULL, NULL);
	close(fd);
	return t.rb ? 0 : -1;
}

/* Undoes whatever part of do_setup() got done. */
static int teardown(void **state)
{
	ring_buffer__free(t.rb);
	if (t.listen_fd > 0)
		close(t.listen_fd);
	if (t.other_fd > 0)
		close(t.other_fd);
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

/* One connect() to port; over IPv4 to 127.0.0.1 + offset, a loopback address of its own. */
static int attempt(enum connect_how how, __u16 port, __u32 offset)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK + offset) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int v6 = how == VIA_CONNECT6 || how == VIA_CONNECT6_MAPPED;
	struct sockaddr *sa = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
	socklen_t len = v6 ? sizeof(a6) : sizeof(a4);
	static int kept = -1; /* VIA_KEPT4's, in the child */
	int fd, rc;

	inet_pton(AF_INET6, how == VIA_CONNECT6 ? "::1" : "::ffff:127.0.0.1", &a6.sin6_addr);
	fd = how == VIA_KEPT4 && kept >= 0 ? kept
					   : socket(v6 ? AF_INET6 : AF_INET,
						    how == VIA_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0)
		return errno;
	if (how == VIA_FASTOPEN)
		rc = sendto(fd, "QUIT\r\n", 6, MSG_FASTOPEN, sa, len) < 0 ? errno : 0;
	else
		rc = connect(fd, sa, len) ? errno : 0;
	kept = how == VIA_KEPT4 && rc == EPERM ? fd : -1;
	if (kept < 0)
		close(fd);
	return rc;
}

/*
 * A child in the test cgroup running as uid (gid = uid + 1) making n
 * attempts over IPv4 to `spread` addresses in turn from 127.0.0.1 + first,
 * once it reads a byte from go (when go >= 0). It reports through a pipe,
 * whose read end is returned in *out.
 */
static pid_t spawn(__u32 uid, enum connect_how how, __u16 port, __u32 first, __u32 spread, int n,
		   int go, int *out)
{
	struct result r = {};
	int p[2], i, err;
	char path[PATH_MAX + 16], buf[16];
	pid_t child;

	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup.procs", t.sb.cgroup);
		fd = open(path, O_WRONLY);
		snprintf(buf, sizeof(buf), "%d", getpid());
		if (fd < 0 || write(fd, buf, strlen(buf)) < 0 || setgid(uid + 1) || setuid(uid))
			_exit(100);
		if (go >= 0 && read(go, buf, 1) != 1)
			_exit(102);
		for (i = 0; i < n; i++) {
			err = attempt(how, port, first + i % spread);
			if (!err)
				r.ok++;
			else if (err == EPERM)
				r.eperm++;
			else
				r.other++;
		}
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 101);
	}
	close(p[1]);
	*out = p[0];
	return child;
}

/* What a spawned child reported, once it exited. */
static struct result reap(pid_t child, int out)
{
	struct result r = {};
	int status;

	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(out, &r, sizeof(r)), sizeof(r));
	close(out);
	drain(t.listen_fd);
	drain(t.other_fd);
	return r;
}

/* n attempts from a child (see spawn()) at once; its pid is returned in *pid. */
static struct result run_how(__u32 uid, enum connect_how how, __u16 port, __u32 first, __u32 spread,
			     int n, pid_t *pid)
{
	int out;
	pid_t child = spawn(uid, how, port, first, spread, n, -1, &out);

	if (pid)
		*pid = child;
	return reap(child, out);
}

static struct result run_as(__u32 uid, enum connect_how how, __u16 port, int n, pid_t *pid)
{
	return run_how(uid, how, port, 0, 1, n, pid);
}

/* n connects as uid to port t.port of spread addresses from 127.0.0.1 + first. */
static struct result run_spread(__u32 uid, __u32 first, __u32 spread, int n)
{
	return run_how(uid, VIA_CONNECT4, t.port, first, spread, n, NULL);
}

static void expect_result(struct result r, int ok, int eperm)
{
	assert_int_equal(r.ok, ok);
	assert_int_equal(r.eperm, eperm);
	assert_int_equal(r.other, 0);
}

/* The UID's sg_uid_stats entry, which must be there. */
static struct sg_uid_stats uid_stats_of(__u32 uid)
{
	struct sg_uid_stats st;
	int fd = map_fd(SG_MAP_UID_STATS);

	assert_int_equal(bpf_map_lookup_elem(fd, &uid, &st), 0);
	close(fd);
	return st;
}

static void expect_uid_stats(__u32 uid, __u64 attempts, __u64 allowed, __u64 denied)
{
	struct sg_uid_stats st = uid_stats_of(uid);

	assert_int_equal(st.attempts, attempts);
	assert_int_equal(st.allowed, allowed);
	assert_int_equal(st.denied, denied);
}

static __u64 clock_ns(clockid_t clock)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(clock, &ts), 0);
	return ts.tv_sec * SG_NS_PER_SEC + ts.tv_nsec;
}

/* The connect hooks' global data, struct sg_boot_clock: the one map of prog_connect4 its size. */
static int boot_clock_fd(void)
{
	__u32 ids[32], i, len;
	struct bpf_prog_info info = { .nr_map_ids = 32, .map_ids = (unsigned long)ids };
	struct bpf_map_info m;
	int prog = map_fd("prog_connect4"), fd, found = -1;

	len = sizeof(info);
	assert_int_equal(bpf_obj_get_info_by_fd(prog, &info, &len), 0);
	close(prog);
	for (i = 0; i < info.nr_map_ids && i < 32; i++) {
		fd = bpf_map_get_fd_by_id(ids[i]);
		assert_true(fd >= 0);
		memset(&m, 0, sizeof(m));
		len = sizeof(m);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &m, &len), 0);
		if (m.value_size == sizeof(struct sg_boot_clock) && strstr(m.name, ".bss")) {
			assert_int_equal(found, -1);
			found = fd;
		} else {
			close(fd);
		}
	}
	assert_true(found >= 0);
	return found;
}

/*
 * A first connect of uid, now: its sg_uid_stats' times, less off, are no
 * later than after and no further behind before than the hooks' clock lags.
 */
static void expect_clock(__u32 uid, __s64 off)
{
	__u64 before = sg_boot_ns(), after;
	struct sg_uid_stats st;

	expect_result(run_as(uid, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	after = sg_boot_ns();
	st = uid_stats_of(uid);
	assert_int_equal(st.first_ns, st.last_ns);
	assert_in_range(st.first_ns, before + off - SG_HOOK_CLOCK_SLACK_NS, after + off);
}

/* The offset the hooks read, as the one read here (boot first too): within a millisecond. */
static void expect_offset(__u64 offset_ns, __u64 slept_ns)
{
	assert_true(llabs((long long)(offset_ns - slept_ns)) < 1000000);
}

/*
 * The hooks take the time at the tick (sg_boot_coarse_ns): boot time, never
 * ahead of it, whose offset over the monotonic clock (the time slept) is kept
 * for a second of monotonic time and then read again, as after a resume.
 */
static void test_boot_clock(void **state)
{
	struct sg_boot_clock c;
	int fd = boot_clock_fd();
	__u32 zero = 0;
	__u64 slept;

	expect_clock(61030, 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &c), 0);
	slept = sg_boot_ns() - clock_ns(CLOCK_MONOTONIC);
	expect_offset(c.offset_ns, slept);

	/*
	 * An offset read just now is kept: one an hour short, as it is once the host has slept
	 * an hour, shows in every time.
	 */
	c.offset_ns -= 3600 * SG_NS_PER_SEC;
	c.read_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
	assert_int_equal(bpf_map_update_elem(fd, &zero, &c, BPF_ANY), 0);
	expect_clock(61031, -3600 * (__s64)SG_NS_PER_SEC);

	/* One a second old is read again: boot time once more. */
	c.read_ns = clock_ns(CLOCK_MONOTONIC_COARSE) - SG_NS_PER_SEC;
	assert_int_equal(bpf_map_update_elem(fd, &zero, &c, BPF_ANY), 0);
	expect_clock(61032, 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &c), 0);
	expect_offset(c.offset_ns, slept);
	close(fd);
}

static void expect_no_uid_stats(__u32 uid)
{
	struct sg_uid_stats st;
	int fd = map_fd(SG_MAP_UID_STATS);

	assert_int_not_equal(bpf_map_lookup_elem(fd, &uid, &st), 0);
	close(fd);
}

static void flow_key(struct sg_flow_key *k, __u32 uid, const char *addr)
{
	memset(k, 0, sizeof(*k));
	k->uid = uid;
	k->port = t.port;
	assert_int_equal(inet_pton(AF_INET6, addr, k->addr), 1);
}

/* The key of uid's flow to 127.0.0.1 + offset, t.port. */
static void flow_key_at(struct sg_flow_key *k, __u32 uid, __u32 offset)
{
	flow_key(k, uid, "::ffff:127.0.0.1");
	k->addr[3] = htonl(INADDR_LOOPBACK + offset);
}

static void expect_flow_key(const struct sg_flow_key *k, __u64 attempts, __u64 denied)
{
	struct sg_flow f;
	int fd = map_fd(SG_MAP_FLOWS);

	assert_int_equal(bpf_map_lookup_elem(fd, k, &f), 0);
	close(fd);
	assert_int_equal(f.attempts, attempts);
	assert_int_equal(f.denied, denied);
	assert_true(f.first_ns && f.first_ns <= f.last_ns);
}

static void expect_flow(__u32 uid, const char *addr, __u64 attempts, __u64 denied)
{
	struct sg_flow_key k;

	flow_key(&k, uid, addr);
	expect_flow_key(&k, attempts, denied);
}

static void expect_flow_at(__u32 uid, __u32 offset, __u64 attempts, __u64 denied)
{
	struct sg_flow_key k;

	flow_key_at(&k, uid, offset);
	expect_flow_key(&k, attempts, denied);
}

static void expect_no_flow_at(__u32 uid, __u32 offset)
{
	struct sg_flow_key k;
	struct sg_flow f;
	int fd = map_fd(SG_MAP_FLOWS);

	flow_key_at(&k, uid, offset);
	assert_int_not_equal(bpf_map_lookup_elem(fd, &k, &f), 0);
	close(fd);
}

static void set_policy(__u32 uid, __u32 mode, __u32 burst, __u64 rate_per_hour, __s64 expires_in)
{
	struct sg_policy p = { .mode = mode, .burst = burst, .rate_per_hour = rate_per_hour,
			       .updated_ns = sg_boot_ns() };
	int fd = map_fd(SG_MAP_POLICIES);

	if (expires_in)
		p.expires_ns = p.updated_ns + expires_in;
	assert_int_equal(sg_policy_put(fd, uid, &p, BPF_ANY), 0);
	close(fd);
}

/* uid: the policed one; real: the caller's own (run_as gives it gid real + 1). */
static void expect_event_as(const struct sg_event *e, __u32 kind, __u32 verdict, __u32 uid,
			    __u32 real, pid_t pid)
{
	__u32 want[4];

	inet_pton(AF_INET6, "::ffff:127.0.0.1", want);
	assert_int_equal(e->kind, kind);
	assert_int_equal(e->verdict, verdict);
	assert_int_equal(e->uid, uid);
	assert_int_equal(e->real_uid, real);
	assert_int_equal(e->gid, real + 1);
	assert_int_equal(e->pid, pid);
	assert_int_equal(e->tgid, pid);
	assert_int_equal(e->cgroup_id, t.sb.cgroup_id);
	assert_memory_equal(e->addr, want, sizeof(want));
	assert_int_equal(e->port, t.port);
	assert_string_equal(e->comm, "test_connect");
	assert_true(e->ts_ns > 0);
}

static void expect_event(const struct sg_event *e, __u32 kind, __u32 verdict, __u32 uid, pid_t pid)
{
	expect_event_as(e, kind, verdict, uid, uid, pid);
}

static void test_counts_and_new_sender_event(void **state)
{
	__u32 uid = 61001;
	struct sg_sender_key sk = { .uid = uid };
	struct sg_sender s;
	pid_t pid;
	int fd;

	read_events();
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 7, &pid), 7, 0);
	expect_uid_stats(uid, 7, 7, 0);
	expect_flow(uid, "::ffff:127.0.0.1", 7, 0);

	sk.tgid = pid;
	fd = map_fd(SG_MAP_SENDERS);
	assert_int_equal(bpf_map_lookup_elem(fd, &sk, &s), 0);
	close(fd);
	assert_int_equal(s.attempts, 7);
	assert_int_equal(s.denied, 0);
	assert_string_equal(s.comm, "test_connect");

	/* One event: the first sighting of this process; allowed connects emit nothing more. */
	read_events();
	assert_int_equal(t.n_events, 1);
	expect_event(&t.events[0], SG_EV_NEW_SENDER, SG_VERDICT_ALLOW, uid, pid);
}

static void test_unwatched_and_udp_are_ignored(void **state)
{
	__u32 uid = 61002;

	read_events();
	expect_result(run_as(uid, VIA_CONNECT4, t.other_port, 3, NULL), 3, 0);
	expect_result(run_as(uid, VIA_UDP, t.port, 3, NULL), 3, 0);
	expect_no_uid_stats(uid);
	read_events();
	assert_int_equal(t.n_events, 0);
}

static __u64 per_cpu_total(const char *map, __u32 idx)
{
	int fd = map_fd(map);
	__u64 n;

	assert_int_equal(sg_counter_get(fd, idx, &n), 0);
	close(fd);
	return n;
}

static __u64 map_full_errors(void)
{
	return per_cpu_total(SG_MAP_ERRORS, SG_ERR_MAP_FULL);
}

/* Denials so far by reason: block, throttle, no bucket. */
struct denials {
	__u64 block, throttle, no_bucket;
};

static struct denials denials(void)
{
	return (struct denials){ per_cpu_total(SG_MAP_COUNTERS, SG_CNT_DENIED_BLOCK),
				 per_cpu_total(SG_MAP_COUNTERS, SG_CNT_DENIED_THROTTLE),
				 per_cpu_total(SG_MAP_COUNTERS, SG_CNT_DENIED_NO_BUCKET) };
}

static void expect_denials(struct denials before, __u64 block, __u64 throttle, __u64 no_bucket)
{
	struct denials now = denials();

	assert_int_equal(now.block - before.block, block);
	assert_int_equal(now.throttle - before.throttle, throttle);
	assert_int_equal(now.no_bucket - before.no_bucket, no_bucket);
}

/*
 * A bucket whose whole burst comes back within a tick (1,000 a second, a
 * burst of 1: a token a millisecond) takes the fine clock: connects 2 ms
 * apart each find their token. On the tick's clock, two in one tick (4 ms at
 * 250 Hz) would find one.
 */
static void test_throttle_fast_bucket(void **state)
{
	struct timespec gap = { .tv_nsec = 2000000 };
	__u32 uid = 61033;
	int i;

	set_policy(uid, SG_MODE_THROTTLE, 1, 3600 * 1000, 0);
	for (i = 0; i < 20; i++) {
		expect_result(run_as(uid, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
		nanosleep(&gap, NULL);
	}
	expect_uid_stats(uid, 20, 20, 0);
}

static void test_throttle_grants_burst_then_eperm(void **state)
{
	struct denials before = denials();
	__u32 uid = 61003;
	pid_t pid;

	set_policy(uid, SG_MODE_THROTTLE, 3, 1, 0);
	read_events();
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 10, &pid), 3, 7);
	expect_uid_stats(uid, 10, 3, 7);
	expect_flow(uid, "::ffff:127.0.0.1", 10, 7);
	expect_denials(before, 0, 7, 0);

	/* New sender (allowed), then one denial event: the rest fall in the 1 s rate limit. */
	read_events();
	assert_int_equal(t.n_events, 2);
	expect_event(&t.events[0], SG_EV_NEW_SENDER, SG_VERDICT_ALLOW, uid, pid);
	expect_event(&t.events[1], SG_EV_DENIED, SG_VERDICT_DENY, uid, pid);

	/* A new throttle refills the bucket: its burst again. */
	set_policy(uid, SG_MODE_THROTTLE, 2, 1, 0);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 5, NULL), 2, 3);
	expect_uid_stats(uid, 15, 5, 10);
}

/*
 * The bucket has no lock: 4 processes of one throttled UID connecting at
 * once, 10000 each, against a burst of 20000 and a rate too slow to refill.
 * Each token is spent exactly once: 20000 allowed, 20000 refused, none for
 * want of a compare-and-swap won. The port is watched but closed, so that
 * what is allowed is refused by the kernel at once (ECONNREFUSED) and the
 * processes keep racing for the bucket.
 */
static void test_throttle_concurrent_exact(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct denials before = denials();
	__u64 contended = per_cpu_total(SG_MAP_COUNTERS, SG_CNT_DENIED_CONTENDED);
	struct result r, sum = {};
	int go[2], out[4], i, closed, ports = map_fd(SG_MAP_PORTS);
	__u32 uid = 61040;
	pid_t child[4];

	/* Bound, never listening: the port stays ours and refuses. */
	closed = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(closed >= 0);
	assert_int_equal(bind(closed, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(closed, (struct sockaddr *)&a, &len), 0);
	assert_int_equal(sg_port_set(ports, ntohs(a.sin_port), SG_PORT_OUTBOUND), 0);
	set_policy(uid, SG_MODE_THROTTLE, 20000, 1, 0);
	assert_int_equal(pipe(go), 0);
	for (i = 0; i < 4; i++)
		child[i] = spawn(uid, VIA_CONNECT4, ntohs(a.sin_port), 0, 1, 10000, go[0], &out[i]);
	assert_int_equal(write(go[1], "GOGO", 4), 4);
	close(go[0]);
	close(go[1]);
	for (i = 0; i < 4; i++) {
		r = reap(child[i], out[i]);
		sum.ok += r.ok;
		sum.eperm += r.eperm;
		sum.other += r.other;
	}
	assert_int_equal(sg_port_remove(ports, ntohs(a.sin_port)), 0);
	close(ports);
	close(closed);
	/* Allowed, then refused by the closed port. */
	assert_int_equal(sum.ok, 0);
	assert_int_equal(sum.other, 20000);
	assert_int_equal(sum.eperm, 20000);
	expect_uid_stats(uid, 40000, 20000, 20000);
	expect_denials(before, 0, 20000, 0);
	assert_int_equal(per_cpu_total(SG_MAP_COUNTERS, SG_CNT_DENIED_CONTENDED) - contended, 0);
}

static void test_block_release_and_expiry(void **state)
{
	struct denials before = denials();
	__u32 uid = 61004;
	int fd;
	pid_t pid;

	set_policy(uid, SG_MODE_BLOCK, 0, 0, 0);
	read_events();
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 4, &pid), 0, 4);
	expect_uid_stats(uid, 4, 0, 4);
	expect_denials(before, 4, 0, 0);
	/* The first sighting was itself a denial: one event says both. */
	read_events();
	assert_int_equal(t.n_events, 1);
	expect_event(&t.events[0], SG_EV_NEW_SENDER, SG_VERDICT_DENY, uid, pid);

	fd = map_fd(SG_MAP_POLICIES);
	assert_int_equal(bpf_map_delete_elem(fd, &uid), 0);
	close(fd);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 4, NULL), 4, 0);
	expect_uid_stats(uid, 8, 4, 4);

	/* A block whose time is up acts as absent: up by as much as the hooks' clock may lag. */
	set_policy(uid, SG_MODE_BLOCK, 0, 0, -(__s64)SG_HOOK_CLOCK_SLACK_NS);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	set_policy(uid, SG_MODE_BLOCK, 0, 0, 3600 * SG_NS_PER_SEC);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, NULL), 0, 2);
	expect_uid_stats(uid, 12, 6, 6);
}

/* Every word of sg_uid_marks, mapped at m, swapped with 0 as the daemon does at a tick. */
static void take_marks(__u8 *m)
{
	size_t i;

	for (i = 0; i <= SG_UID_MARK_MADE; i++)
		__atomic_exchange_n(&((__u64 *)m)[i], 0, __ATOMIC_ACQ_REL);
}

/* The bytes set in m: 1 for uid's, and whether the entry-made word is set. */
static void expect_marks(const __u8 *m, __u32 uid, int made)
{
	size_t i, set = 0;

	for (i = 0; i < SG_UID_MARK_WORDS * 8; i++)
		set += m[i];
	assert_int_equal(m[uid & 0xffff], 1);
	assert_int_equal(set, 1);
	assert_int_equal(m[SG_UID_MARK_MADE * 8], made);
}

/*
 * The daemon looks up only the UIDs the kernel marked: a connect counted,
 * allowed or denied, marks its UID's byte (uid & 0xffff, so 61020 + 65536's
 * is 61020's), and the first one of a UID also the word that says an entry
 * was made.
 */
static void test_uid_marks(void **state)
{
	__u32 uid = 61020 + 65536;
	__u8 *m = NULL;

	assert_int_equal(sg_pin_mmap(SG_MAP_UID_MARKS, SG_UID_MARKS_SIZE, (void **)&m), 0);
	assert_non_null(m);
	take_marks(m);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	expect_marks(m, 61020, 1);
	take_marks(m);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	expect_marks(m, 61020, 0);
	set_policy(uid, SG_MODE_BLOCK, 0, 0, 0);
	take_marks(m);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 1, NULL), 0, 1);
	expect_marks(m, 61020, 0);
	expect_uid_stats(uid, 4, 3, 1);
	munmap(m, SG_UID_MARKS_SIZE);
}

/* sg_flow_marks, mapped at m: one byte set, the slot of uid's flow to addr. */
static void expect_flow_mark(const __u8 *m, __u32 uid, const char *addr)
{
	struct sg_flow_key k;
	size_t i, set = 0;

	flow_key(&k, uid, addr);
	for (i = 0; i < SG_FLOW_MARKS_SIZE; i++)
		set += m[i];
	assert_int_equal(m[sg_flow_mark_slot(uid, k.addr)], 1);
	assert_int_equal(set, 1);
}

static void clear_flow_marks(__u64 *m)
{
	size_t i;

	for (i = 0; i < SG_FLOW_MARK_WORDS; i++)
		__atomic_exchange_n(&m[i], 0, __ATOMIC_ACQ_REL);
}

/*
 * The daemon looks a flow up only when the kernel marked its address: a
 * connect counted in a flow, allowed or denied, marks the slot of its UID
 * and address, the one the daemon computes (sg_flow_mark_slot), and only it.
 */
static void test_flow_marks(void **state)
{
	__u32 uid = 61021;
	__u64 *m = NULL;

	assert_int_equal(sg_pin_mmap(SG_MAP_FLOW_MARKS, SG_FLOW_MARKS_SIZE, (void **)&m), 0);
	assert_non_null(m);
	clear_flow_marks(m);
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	expect_flow_mark((const __u8 *)m, uid, "::ffff:127.0.0.1");
	clear_flow_marks(m);
	set_policy(uid, SG_MODE_BLOCK, 0, 0, 0);
	expect_result(run_as(uid, VIA_CONNECT6_MAPPED, t.port, 1, NULL), 0, 1);
	expect_flow_mark((const __u8 *)m, uid, "::ffff:127.0.0.1");
	expect_flow(uid, "::ffff:127.0.0.1", 3, 1);
	munmap(m, SG_FLOW_MARKS_SIZE);
}

static void test_default_policy_and_override(void **state)
{
	__u32 uid = 61005, other = 61006, zero = 0;
	struct sg_settings s, saved;
	int fd = map_fd(SG_MAP_SETTINGS);

	assert_int_equal(bpf_map_lookup_elem(fd, &zero, &saved), 0);
	s = saved;
	s.default_policy = (struct sg_policy){ .mode = SG_MODE_THROTTLE, .burst = 2,
					       .rate_per_hour = 1, .updated_ns = sg_boot_ns() };
	assert_int_equal(bpf_map_update_elem(fd, &zero, &s, BPF_ANY), 0);

	expect_result(run_as(uid, VIA_CONNECT4, t.port, 5, NULL), 2, 3);
	/* An explicit observe policy exempts a UID from a throttling default. */
	set_policy(other, SG_MODE_OBSERVE, 0, 0, 0);
	expect_result(run_as(other, VIA_CONNECT4, t.port, 5, NULL), 5, 0);

	assert_int_equal(bpf_map_update_elem(fd, &zero, &saved, BPF_ANY), 0);
	close(fd);
	expect_uid_stats(uid, 5, 2, 3);
	expect_uid_stats(other, 5, 5, 0);
}

static void test_ipv6_and_v4_mapped(void **state)
{
	__u32 uid = 61007;

	expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	/* A v4-mapped destination on an AF_INET6 socket is the IPv4 destination. */
	expect_result(run_as(uid, VIA_CONNECT6_MAPPED, t.port, 3, NULL), 3, 0);
	expect_result(run_as(uid, VIA_CONNECT6, t.port, 4, NULL), 4, 0);
	expect_uid_stats(uid, 9, 9, 0);
	expect_flow(uid, "::ffff:127.0.0.1", 5, 0);
	expect_flow(uid, "::1", 4, 0);

	set_policy(uid, SG_MODE_BLOCK, 0, 0, 0);
	expect_result(run_as(uid, VIA_CONNECT6_MAPPED, t.port, 2, NULL), 0, 2);
	expect_result(run_as(uid, VIA_CONNECT6, t.port, 2, NULL), 0, 2);
	expect_flow(uid, "::ffff:127.0.0.1", 7, 2);
}

static void test_fastopen_is_policed(void **state)
{
	__u32 uid = 61008;

	expect_result(run_as(uid, VIA_FASTOPEN, t.port, 3, NULL), 3, 0);
	expect_uid_stats(uid, 3, 3, 0);
	set_policy(uid, SG_MODE_BLOCK, 0, 0, 0);
	expect_result(run_as(uid, VIA_FASTOPEN, t.port, 3, NULL), 0, 3);
	expect_uid_stats(uid, 6, 3, 3);
}

static void test_port_totals(void **state)
{
	struct sg_port p;
	int fd = map_fd(SG_MAP_PORTS);

	/* Every watched connect() above, by every test, counted once per port. */
	assert_int_equal(sg_port_get(fd, t.port, &p), 0);
	close(fd);
	assert_int_equal(p.flags, SG_PORT_OUTBOUND);
	assert_int_equal(p.connects, 7 + 10 + 20 + 5 + 12 + 10 + 13 + 6);
}

/*
 * The kernel answers a SYN to a closed port with a RST from its TCP control
 * socket (raw, root's): not root's traffic, no socket's. It must land on the
 * overflow UID, flagged.
 */
static void test_kernel_reply_has_no_socket(void **state)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(25),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in to = from;
	struct sg_flow_key k;
	struct sg_egress e;
	unsigned int overflow;
	int fd, one = 1;
	FILE *f;

	f = fopen("/proc/sys/kernel/overflowuid", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u", &overflow), 1);
	fclose(f);

	/* From port 25 to a port nothing listens on: the RST goes back to port 25. */
	to.sin_port = htons(t.other_port + 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);

	flow_key(&k, overflow, "::ffff:127.0.0.1");
	k.port = 25;
	k.flags = SG_FLOW_NO_SOCKET;
	fd = map_fd(SG_MAP_EGRESS);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &e), 0);
	assert_int_equal(e.syns, 0);
	assert_int_equal(e.packets, 1);
	/* Nothing filed under root for it. */
	k.uid = 0;
	k.flags = 0;
	assert_int_not_equal(bpf_map_lookup_elem(fd, &k, &e), 0);
	close(fd);
}


/* Fill map (u32 keys) to capacity with keys from base on; returns how many were added. */
static __u32 fill(const char *map, size_t value_size, __u32 base)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key, added = 0;
	char value[128] = {};
	int fd = map_fd(map);

	assert_true(value_size <= sizeof(value));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	for (key = base; bpf_map_update_elem(fd, &key, value, BPF_NOEXIST) == 0; key++)
		added++;
	assert_int_equal(errno, E2BIG);
	close(fd);
	return added;
}

static void unfill(const char *map, __u32 base, __u32 n)
{
	int fd = map_fd(map);
	__u32 key;

	for (key = base; key < base + n; key++)
		assert_int_equal(bpf_map_delete_elem(fd, &key), 0);
	close(fd);
}

/*
 * Full maps are counted, never crash or miscount: an observed UID is still
 * allowed, a throttled UID whose bucket cannot be kept is refused (fail
 * closed), and the map_full error counts each failed insert.
 */
static void test_full_maps(void **state)
{
	__u32 observed = 61009, throttled = 61010, base = 3000000000U, n_stats, n_buckets;
	__u64 before = map_full_errors();
	struct denials denied_before = denials();

	n_stats = fill(SG_MAP_UID_STATS, sizeof(struct sg_uid_stats), base);
	expect_result(run_as(observed, VIA_CONNECT4, t.port, 3, NULL), 3, 0);
	expect_no_uid_stats(observed);
	assert_int_equal(map_full_errors() - before, 3);

	set_policy(throttled, SG_MODE_THROTTLE, 5, 3600, 0);
	n_buckets = fill(SG_MAP_BUCKETS, sizeof(struct sg_bucket), base);
	expect_result(run_as(throttled, VIA_CONNECT4, t.port, 2, NULL), 0, 2);
	/* Each attempt: no bucket, then no stats entry. */
	assert_int_equal(map_full_errors() - before, 3 + 2 * 2);
	expect_denials(denied_before, 0, 0, 2);

	unfill(SG_MAP_UID_STATS, base, n_stats);
	unfill(SG_MAP_BUCKETS, base, n_buckets);
	expect_result(run_as(throttled, VIA_CONNECT4, t.port, 7, NULL), 5, 2);
	expect_uid_stats(throttled, 7, 5, 2);
	expect_denials(denied_before, 0, 2, 2);
}

/* The owner's sub-UIDs are [first, first + count) alone: through the daemon's writer. */
static void set_subuids(__u32 owner, __u32 first, __u32 count)
{
	struct sg_subid_range r = { .owner = owner, .start = first, .count = count, .line = 1 };
	struct sg_subid_set set = { .ranges = &r, .n = count ? 1 : 0, .cap = 1 };

	set.outcomes[SG_SUBID_LOADED] = set.n;
	assert_int_equal(sg_subuids_apply(&set), 0);
	assert_int_equal(set.outcomes[SG_SUBID_LOADED], set.n);
}

static __u64 egress_syns(__u32 uid)
{
	struct sg_flow_key k;
	struct sg_egress e;
	int fd = map_fd(SG_MAP_EGRESS), err;

	flow_key(&k, uid, "::ffff:127.0.0.1");
	err = bpf_map_lookup_elem(fd, &k, &e);
	close(fd);
	return err ? 0 : e.syns;
}

static __u64 established(__u32 uid)
{
	struct sg_conn_row *rows;
	__u64 n_est = 0;
	size_t n, i;

	assert_int_equal(sg_conn_stats_read(&rows, &n), 0);
	for (i = 0; i < n; i++)
		if (rows[i].uid == uid)
			n_est = rows[i].s.established;
	free(rows);
	return n_est;
}

/*
 * Debian gives each user 65,536 sub-UIDs from 100000 on (not aligned: 12
 * prefixes). A process running as any of them (a user namespace's, through
 * newuidmap) is its owner to every program: the owner's policy and one
 * bucket, the owner's counts, flows, senders, egress and outcomes; the
 * event names both. Just past the range, and once the range is gone, a
 * UID is its own again.
 */
static void test_subuid_is_its_owner(void **state)
{
	__u32 owner = 61014, first = 100000, last = first + 65535;
	__u32 sub[] = { first, first + 4242, last };
	struct sg_subuid_key k = { .prefixlen = 32, .uid = htonl(last) };
	struct denials before = denials();
	__u32 got;
	pid_t pid;
	int fd;

	set_subuids(owner, first, 65536);
	fd = map_fd(SG_MAP_SUBUIDS);
	assert_int_equal(sg_map_count(fd), 12);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &got), 0);
	assert_int_equal(got, owner);
	close(fd);

	set_policy(owner, SG_MODE_THROTTLE, 3, 1, 0);
	read_events();
	expect_result(run_as(sub[0], VIA_CONNECT4, t.port, 2, &pid), 2, 0);
	expect_result(run_as(sub[1], VIA_CONNECT4, t.port, 2, NULL), 1, 1);
	expect_result(run_as(sub[2], VIA_CONNECT6_MAPPED, t.port, 2, NULL), 0, 2);
	expect_uid_stats(owner, 6, 3, 3);
	expect_flow(owner, "::ffff:127.0.0.1", 6, 3);
	expect_denials(before, 0, 3, 0);
	assert_int_equal(egress_syns(owner), 3);
	assert_int_equal(established(owner), 3);
	for (got = 0; got < 3; got++) {
		expect_no_uid_stats(sub[got]);
		assert_int_equal(egress_syns(sub[got]), 0);
		assert_int_equal(established(sub[got]), 0);
	}

	/* Each process is a new sender of the owner's; the event keeps the real UID too. */
	read_events();
	assert_int_equal(t.n_events, 4);
	expect_event_as(&t.events[0], SG_EV_NEW_SENDER, SG_VERDICT_ALLOW, owner, sub[0], pid);
	assert_int_equal(t.events[1].kind, SG_EV_NEW_SENDER);
	assert_int_equal(t.events[1].uid, owner);
	assert_int_equal(t.events[1].real_uid, sub[1]);
	assert_int_equal(t.events[2].kind, SG_EV_DENIED);
	assert_int_equal(t.events[2].real_uid, sub[1]);
	assert_int_equal(t.events[3].kind, SG_EV_NEW_SENDER);
	assert_int_equal(t.events[3].verdict, SG_VERDICT_DENY);
	assert_int_equal(t.events[3].uid, owner);
	assert_int_equal(t.events[3].real_uid, sub[2]);

	/* One past the range, and the range removed: the UID's own default (observe). */
	expect_result(run_as(last + 1, VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	expect_uid_stats(last + 1, 2, 2, 0);
	set_subuids(owner, 0, 0);
	fd = map_fd(SG_MAP_SUBUIDS);
	assert_int_equal(sg_map_count(fd), 0);
	close(fd);
	expect_result(run_as(sub[1], VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	expect_uid_stats(sub[1], 2, 2, 0);
	expect_uid_stats(owner, 6, 3, 3);
}

/* The pinned sg_subuid_bits are the blocks (uid >> 16) first to last: none if first > last. */
static void expect_subuid_blocks(__u32 first, __u32 last)
{
	const size_t bytes = SG_SUBUID_BITS_WORDS * sizeof(__u64);
	__u64 *words;
	__u32 b;

	assert_int_equal(sg_pin_mmap(SG_MAP_SUBUID_BITS, bytes, (void **)&words), 0);
	assert_non_null(words);
	for (b = 0; b < 65536; b++)
		assert_int_equal((words[b / 64] >> (b % 64)) & 1, b >= first && b <= last);
	munmap(words, bytes);
}

/*
 * The programs walk the trie for a UID only when a range touches its block
 * of 65,536 (sg_subuid_bits): a UID in a block no range touches is its own.
 * With the bits lost, as pins of a build older than them leave a full trie,
 * a sub-UID counts as itself; the load's rebuild puts them back from the
 * trie, and it is its owner's again.
 */
static void test_subuid_bits(void **state)
{
	__u32 owner = 61015, first = 1000000, sub = first + 777, alone = 1200000;
	const size_t bytes = SG_SUBUID_BITS_WORDS * sizeof(__u64);
	__u64 *words;

	set_subuids(owner, first, 65536);
	expect_subuid_blocks(15, 16); /* 1000000 >> 16 to 1065535 >> 16 */
	expect_result(run_as(sub, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	expect_uid_stats(owner, 1, 1, 0);
	expect_no_uid_stats(sub);
	expect_result(run_as(alone, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	expect_uid_stats(alone, 1, 1, 0);

	assert_int_equal(sg_pin_mmap(SG_MAP_SUBUID_BITS, bytes, (void **)&words), 0);
	assert_non_null(words);
	memset(words, 0, bytes);
	munmap(words, bytes);
	expect_result(run_as(sub, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	expect_uid_stats(sub, 1, 1, 0);
	expect_uid_stats(owner, 1, 1, 0);

	assert_int_equal(sg_subuid_bits_rebuild(), 0);
	expect_subuid_blocks(15, 16);
	expect_result(run_as(sub, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	expect_uid_stats(owner, 2, 2, 0);
	expect_uid_stats(sub, 1, 1, 0);

	set_subuids(owner, 0, 0);
	expect_subuid_blocks(1, 0);
}

struct uid_count {
	__u32 uid, n;
};

static int count_uid(const void *key, const void *value, void *ctx)
{
	struct uid_count *c = ctx;

	c->n += *(const __u32 *)key == c->uid; /* the uid leads every per-UID key */
	return 0;
}

/* Entries of uid in map. */
static __u32 uid_entries(const char *map, __u32 uid)
{
	struct uid_count c = { .uid = uid };
	int fd = map_fd(map);

	assert_int_equal(sg_map_for_each(fd, count_uid, &c), 0);
	close(fd);
	return c.n;
}

static void expect_uid_made(__u32 uid, __u64 flows, __u64 senders)
{
	struct sg_uid_stats st = uid_stats_of(uid);

	assert_int_equal(st.flows, flows);
	assert_int_equal(st.senders, senders);
}

/* The per-UID quotas; returns the settings they replace. */
static struct sg_settings set_quotas(__u32 flows, __u32 senders)
{
	struct sg_settings s, saved;

	assert_int_equal(sg_settings_get(&saved), 0);
	s = saved;
	s.uid_flows_max = flows;
	s.uid_senders_max = senders;
	assert_int_equal(sg_settings_set(&s), 0);
	return saved;
}

/*
 * A blocked UID's refused connects to more destinations than sg_flows holds
 * make its quota of entries and no more, so another UID's entries stay as
 * they were; every entry not made is counted.
 */
/* Word w of the pinned sg_policy_bits. */
static __u64 policy_word(__u32 w)
{
	const size_t bytes = SG_POLICY_BITS_WORDS * sizeof(__u64);
	__u64 *words, v;

	assert_int_equal(sg_pin_mmap(SG_MAP_POLICY_BITS, bytes, (void **)&words), 0);
	assert_non_null(words);
	v = words[w];
	munmap(words, bytes);
	return v;
}

/*
 * The hooks look a UID's policy up only when its bit in sg_policy_bits is
 * set (uid modulo 2^20): set by every writer before the policy, cleared by
 * a rebuild from sg_policies. A policy put in the map without its bit is
 * not seen, which is why every writer sets it; the load's rebuild puts
 * lost bits back. The UIDs' word (61184 to 61247) is theirs alone.
 */
static void test_policy_bits(void **state)
{
	__u32 flagged = 61200, plain = 61201, hand = 61202, twin = flagged + SG_POLICY_BITS;
	const __u32 word = 61200 / 64, bit = 61200 % 64;
	const size_t bytes = SG_POLICY_BITS_WORDS * sizeof(__u64);
	struct sg_policy block = { .mode = SG_MODE_BLOCK, .updated_ns = sg_boot_ns() };
	struct sg_policy observe = { .mode = SG_MODE_OBSERVE, .updated_ns = block.updated_ns };
	struct sg_settings saved, s;
	__u64 *words;
	int fd;

	assert_int_equal(sg_policy_bit(twin), sg_policy_bit(flagged));
	assert_int_equal(policy_word(word), 0);
	set_policy(flagged, SG_MODE_BLOCK, 0, 0, 0);
	assert_int_equal(policy_word(word), 1ULL << bit);
	expect_result(run_as(flagged, VIA_CONNECT4, t.port, 2, NULL), 0, 2);
	/* Its twin shares the bit: looked up, no policy of its own, the default (observe). */
	expect_result(run_as(twin, VIA_CONNECT4, t.port, 2, NULL), 2, 0);
	expect_result(run_as(plain, VIA_CONNECT4, t.port, 2, NULL), 2, 0);

	/* A bit clear is the default's at once, whatever it is: a blocking one here. */
	assert_int_equal(sg_settings_get(&saved), 0);
	s = saved;
	s.default_policy = block;
	assert_int_equal(sg_settings_set(&s), 0);
	expect_result(run_as(plain, VIA_CONNECT4, t.port, 1, NULL), 0, 1);
	assert_int_equal(sg_settings_set(&saved), 0);

	/* Written by hand with no bit: the hooks never look. */
	fd = map_fd(SG_MAP_POLICIES);
	assert_int_equal(bpf_map_update_elem(fd, &hand, &block, BPF_ANY), 0);
	assert_int_equal(policy_word(word), 1ULL << bit);
	expect_result(run_as(hand, VIA_CONNECT4, t.port, 2, NULL), 2, 0);

	/* Zeroed, as new over an older build's policies: attaching again sets them. */
	assert_int_equal(sg_pin_mmap(SG_MAP_POLICY_BITS, bytes, (void **)&words), 0);
	assert_non_null(words);
	memset(words, 0, bytes);
	munmap(words, bytes);
	expect_result(run_as(flagged, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	assert_int_equal(sg_attach(t.sb.cgroup, (char *[]){ "lo" }, 1), 0);
	assert_int_equal(policy_word(word), 1ULL << bit | 1ULL << (hand % 64));
	expect_result(run_as(flagged, VIA_CONNECT4, t.port, 1, NULL), 0, 1);
	expect_result(run_as(hand, VIA_CONNECT4, t.port, 1, NULL), 0, 1);
	expect_result(run_as(twin, VIA_CONNECT4, t.port, 1, NULL), 1, 0);

	/* A policy removed keeps its bit until a rebuild, which clears it. */
	assert_int_equal(bpf_map_delete_elem(fd, &hand), 0);
	assert_int_equal(policy_word(word), 1ULL << bit | 1ULL << (hand % 64));
	assert_int_equal(sg_policy_bits_rebuild(), 0);
	assert_int_equal(policy_word(word), 1ULL << bit);
	expect_result(run_as(hand, VIA_CONNECT4, t.port, 1, NULL), 1, 0);

	/* The twin's own policy: both looked up, each its own verdict. */
	assert_int_equal(sg_policy_put(fd, twin, &observe, BPF_ANY), 0);
	expect_result(run_as(twin, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	expect_result(run_as(flagged, VIA_CONNECT4, t.port, 1, NULL), 0, 1);
	assert_int_equal(bpf_map_delete_elem(fd, &flagged), 0);
	assert_int_equal(sg_policy_bits_rebuild(), 0);
	/* The twin's policy keeps the shared bit. */
	assert_int_equal(policy_word(word), 1ULL << bit);
	expect_result(run_as(flagged, VIA_CONNECT4, t.port, 1, NULL), 1, 0);
	assert_int_equal(bpf_map_delete_elem(fd, &twin), 0);
	assert_int_equal(sg_policy_bits_rebuild(), 0);
	assert_int_equal(policy_word(word), 0);
	close(fd);
	expect_uid_stats(flagged, 6, 2, 4);
	expect_uid_stats(twin, 4, 4, 0);
	expect_uid_stats(plain, 3, 2, 1);
	expect_uid_stats(hand, 4, 3, 1);
}

static void test_flow_quota(void **state)
{
	__u32 victim = 61011, flooder = 61012, i, flood = 140000;
	__u64 refused = per_cpu_total(SG_MAP_COUNTERS, SG_CNT_FLOW_QUOTA);
	cpu_set_t all, one;

	/* Both on one CPU: an LRU map pushes out what that CPU's lists hold first. */
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_true(flood > 2 * SG_MAX_FLOWS);
	expect_result(run_spread(victim, 100, 5, 5), 5, 0);
	set_policy(flooder, SG_MODE_BLOCK, 0, 0, 0);
	expect_result(run_how(flooder, VIA_KEPT4, t.port, 1000, flood, flood, NULL), 0, flood);
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);

	assert_int_equal(uid_entries(SG_MAP_FLOWS, victim), 5);
	for (i = 0; i < 5; i++)
		expect_flow_at(victim, 100 + i, 1, 0);
	assert_int_equal(uid_entries(SG_MAP_FLOWS, flooder), SG_UID_FLOWS_DEFAULT);
	expect_flow_at(flooder, 1000, 1, 1);
	expect_flow_at(flooder, 1000 + SG_UID_FLOWS_DEFAULT - 1, 1, 1);
	expect_no_flow_at(flooder, 1000 + SG_UID_FLOWS_DEFAULT);
	assert_int_equal(per_cpu_total(SG_MAP_COUNTERS, SG_CNT_FLOW_QUOTA) - refused,
			 flood - SG_UID_FLOWS_DEFAULT);
	expect_uid_stats(flooder, flood, 0, flood);
	expect_uid_made(flooder, SG_UID_FLOWS_DEFAULT, 1);
}

/* The settings with deny_event_interval_ns at ns; returns those they replace. */
static struct sg_settings set_event_interval(__u64 ns)
{
	struct sg_settings s, saved;

	assert_int_equal(sg_settings_get(&saved), 0);
	s = saved;
	s.deny_event_interval_ns = ns;
	assert_int_equal(sg_settings_set(&s), 0);
	return saved;
}

/* n events from first on: a new sender of uid's, by the process pid, flagged so. */
static void expect_senders(int first, int n, __u32 uid, const pid_t *pid, __u32 flags)
{
	int i;

	for (i = first; i < first + n; i++) {
		expect_event(&t.events[i], SG_EV_NEW_SENDER, SG_VERDICT_ALLOW, uid, pid[i]);
		assert_int_equal(t.events[i].flags, flags);
	}
}

/*
 * Past its quota of processes, a UID's new ones are not recorded, but still
 * announced, flagged so: one event per UID per interval (an hour here, so the
 * clock cannot make one due twice), and one per connect with no interval.
 */
static void test_sender_quota(void **state)
{
	__u64 refused = per_cpu_total(SG_MAP_COUNTERS, SG_CNT_SENDER_QUOTA);
	struct sg_settings saved = set_quotas(SG_UID_FLOWS_DEFAULT, 3);
	__u32 uid = 61013;
	pid_t pid[7], twice[4];
	int i;

	set_event_interval(3600ULL * 1000000000);
	set_policy(uid, SG_MODE_OBSERVE, 0, 0, 0);
	read_events();
	for (i = 0; i < 5; i++)
		expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, &pid[i]), 2, 0);
	read_events();
	assert_int_equal(t.n_events, 4);
	expect_senders(0, 3, uid, pid, 0);
	expect_senders(3, 1, uid, pid, SG_EVENT_UNRECORDED_QUOTA);

	set_event_interval(0);
	for (i = 5; i < 7; i++)
		expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, &pid[i]), 2, 0);
	assert_int_equal(sg_settings_set(&saved), 0);
	read_events();
	assert_int_equal(t.n_events, 4);
	for (i = 0; i < 4; i++)
		twice[i] = pid[5 + i / 2];
	expect_senders(0, 4, uid, twice, SG_EVENT_UNRECORDED_QUOTA);

	assert_int_equal(uid_entries(SG_MAP_SENDERS, uid), 3);
	expect_uid_made(uid, 1, 3);
	/* Each of the last four processes tried twice. */
	assert_int_equal(per_cpu_total(SG_MAP_COUNTERS, SG_CNT_SENDER_QUOTA) - refused, 8);
}

/* Other UIDs' processes fill sg_senders: a UID's new one is not recorded, but announced. */
static void test_senders_full(void **state)
{
	struct sg_settings saved = set_event_interval(3600ULL * 1000000000);
	struct sg_sender_key k = { .uid = 3000000001U };
	struct sg_sender v = {};
	int fd = map_fd(SG_MAP_SENDERS);
	__u32 uid = 61016, n;
	pid_t pid;

	for (k.tgid = 1; !bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST); k.tgid++)
		;
	assert_int_equal(errno, E2BIG);
	n = k.tgid - 1;
	read_events();
	expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, &pid), 2, 0);
	read_events();
	assert_int_equal(t.n_events, 1);
	expect_senders(0, 1, uid, &pid, SG_EVENT_UNRECORDED_FULL);
	assert_int_equal(uid_entries(SG_MAP_SENDERS, uid), 0);
	expect_uid_made(uid, 1, 0);

	for (k.tgid = 1; k.tgid <= n; k.tgid++)
		assert_int_equal(bpf_map_delete_elem(fd, &k), 0);
	close(fd);
	assert_int_equal(sg_settings_set(&saved), 0);
}

/*
 * A blocked UID at its quota of one process: its recorded process's denials
 * take the interval's denial event, and its next process is still announced,
 * flagged not recorded; a decoy's denials hide no other process.
 */
static void test_unrecorded_apart_from_denials(void **state)
{
	struct sg_settings saved = set_quotas(SG_UID_FLOWS_DEFAULT, 1);
	__u32 uid = 61017;
	pid_t pid[3];
	int i;

	set_event_interval(3600ULL * 1000000000);
	set_policy(uid, SG_MODE_BLOCK, 0, 0, 0);
	read_events();
	for (i = 0; i < 3; i++)
		expect_result(run_as(uid, VIA_CONNECT4, t.port, 2, &pid[i]), 0, 2);
	assert_int_equal(sg_settings_set(&saved), 0);
	read_events();
	assert_int_equal(t.n_events, 2);
	expect_event(&t.events[0], SG_EV_NEW_SENDER, SG_VERDICT_DENY, uid, pid[0]);
	assert_int_equal(t.events[0].flags, 0);
	expect_event(&t.events[1], SG_EV_NEW_SENDER, SG_VERDICT_DENY, uid, pid[1]);
	assert_int_equal(t.events[1].flags, SG_EVENT_UNRECORDED_QUOTA);
	assert_int_equal(uid_entries(SG_MAP_SENDERS, uid), 1);
}

static void set_flow_last(__u32 uid, __u32 offset, __u64 last_ns)
{
	struct sg_flow_key k;
	struct sg_flow f;
	int fd = map_fd(SG_MAP_FLOWS);

	flow_key_at(&k, uid, offset);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &f), 0);
	f.last_ns = last_ns;
	assert_int_equal(bpf_map_update_elem(fd, &k, &f, BPF_EXIST), 0);
	close(fd);
}

/* uid's entries swept from sg_flows and sg_senders, as sg_uid_swept has them; -1: no entry. */
static void expect_swept(__u32 uid, long long flows, long long senders)
{
	struct sg_uid_swept sw;
	int fd = map_fd(SG_MAP_UID_SWEPT), err;

	err = bpf_map_lookup_elem(fd, &uid, &sw);
	close(fd);
	if (flows < 0) {
		assert_int_not_equal(err, 0);
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(sw.flows, flows);
	assert_int_equal(sw.senders, senders);
}

static void expect_sweep(__u64 now, __u64 flows, __u64 senders, __u64 buckets, __u64 uids)
{
	__u64 removed[SG_STALE__MAX] = { 0 };

	assert_int_equal(sg_sweep_stale(now, SG_STALE_NS, removed), 0);
	assert_int_equal(removed[SG_STALE_FLOWS], flows);
	assert_int_equal(removed[SG_STALE_SENDERS], senders);
	assert_int_equal(removed[SG_STALE_BUCKETS], buckets);
	assert_int_equal(removed[SG_STALE_UIDS], uids);
}

/*
 * The daemon's sweep, on maps of this group alone, at an injected clock
 * SG_STALE_NS ahead: unused entries go and are credited back to their UID's
 * quota; a UID's counters go once it has nothing left and no policy.
 */
static void test_stale_entries_swept(void **state)
{
	__u32 used = 61101, blocked = 61102, throttled = 61103;
	struct sg_settings saved;
	struct sg_bucket b;
	__u64 later, refused;
	int fd;

	expect_result(run_spread(used, 0, 3, 3), 3, 0);
	set_policy(blocked, SG_MODE_BLOCK, 0, 0, 0);
	expect_result(run_spread(blocked, 10, 2, 2), 0, 2);
	set_policy(throttled, SG_MODE_THROTTLE, 5, 3600, 0);
	expect_result(run_spread(throttled, 20, 1, 1), 1, 0);
	fd = map_fd(SG_MAP_POLICIES);
	assert_int_equal(bpf_map_delete_elem(fd, &throttled), 0);
	close(fd);

	/* One of used's flows was used at the later time; every process has exited. */
	later = sg_boot_ns() + SG_STALE_NS;
	set_flow_last(used, 2, later);
	expect_sweep(later, 5, 3, 1, 1);
	assert_int_equal(uid_entries(SG_MAP_FLOWS, used), 1);
	expect_flow_at(used, 2, 1, 0);
	assert_int_equal(uid_entries(SG_MAP_FLOWS, blocked), 0);
	expect_swept(used, 2, 1);
	expect_swept(blocked, 2, 1);
	expect_uid_made(used, 3, 1);
	/* throttled: no policy of its own, its bucket full again, nothing left: gone. */
	expect_no_uid_stats(throttled);
	expect_swept(throttled, -1, -1);
	fd = map_fd(SG_MAP_BUCKETS);
	assert_int_not_equal(bpf_map_lookup_elem(fd, &throttled, &b), 0);
	close(fd);

	/* The two places swept are used's again: with a quota of 2, one of 3 new flows is made. */
	refused = per_cpu_total(SG_MAP_COUNTERS, SG_CNT_FLOW_QUOTA);
	saved = set_quotas(2, SG_UID_SENDERS_DEFAULT);
	expect_result(run_spread(used, 3, 3, 3), 3, 0);
	assert_int_equal(sg_settings_set(&saved), 0);
	assert_int_equal(per_cpu_total(SG_MAP_COUNTERS, SG_CNT_FLOW_QUOTA) - refused, 2);
	assert_int_equal(uid_entries(SG_MAP_FLOWS, used), 2);
	expect_flow_at(used, 3, 1, 0);

	/* Later still, nothing used: used's entries and counters go; blocked keeps its own. */
	expect_sweep(later + SG_STALE_NS, 2, 1, 0, 1);
	expect_no_uid_stats(used);
	expect_swept(used, -1, -1);
	expect_uid_stats(blocked, 2, 0, 2);
	expect_swept(blocked, 2, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_new_sender_event),
		cmocka_unit_test(test_unwatched_and_udp_are_ignored),
		cmocka_unit_test(test_throttle_grants_burst_then_eperm),
		cmocka_unit_test(test_throttle_fast_bucket),
		cmocka_unit_test(test_throttle_concurrent_exact),
		cmocka_unit_test(test_block_release_and_expiry),
		cmocka_unit_test(test_default_policy_and_override),
		cmocka_unit_test(test_ipv6_and_v4_mapped),
		cmocka_unit_test(test_fastopen_is_policed),
		cmocka_unit_test(test_port_totals),
		cmocka_unit_test(test_boot_clock),
		cmocka_unit_test(test_kernel_reply_has_no_socket),
		cmocka_unit_test(test_full_maps),
		cmocka_unit_test(test_subuid_is_its_owner),
		cmocka_unit_test(test_subuid_bits),
		cmocka_unit_test(test_policy_bits),
		cmocka_unit_test(test_flow_quota),
		cmocka_unit_test(test_sender_quota),
		cmocka_unit_test(test_senders_full),
		cmocka_unit_test(test_unrecorded_apart_from_denials),
		cmocka_unit_test(test_uid_marks),
		cmocka_unit_test(test_flow_marks),
	};
	/* In maps of their own, so that every entry the sweep sees is theirs. */
	const struct CMUnitTest sweep[] = {
		cmocka_unit_test(test_stale_entries_swept),
	};
	int failed = cmocka_run_group_tests_name("connect_hooks", tests, setup, teardown);

	return failed + cmocka_run_group_tests_name("stale_entries", sweep, setup, teardown);
}
