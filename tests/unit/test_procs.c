// SPDX-License-Identifier: GPL-2.0
/*
 * /proc parsers on text captured from a real kernel (tests/unit/fixtures/procs:
 * tcp and tcp6 of a namespace holding listening, established, half-closed
 * and connecting sockets, v4-mapped included), and the readers on this
 * process itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/procs.h"

/* Run from the top of the tree, as make does. */
#define FIXTURES "tests/unit/fixtures/procs/"

static char *fixture(const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(name, "r"), *out = open_memstream(&buf, &len);
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, out);
	fclose(f);
	fclose(out);
	return buf;
}

/* Line n (0: the header) of a fixture. */
static char *fixture_line(const char *name, int n)
{
	char *text = fixture(name), *line = text, *end, *copy;

	while (n-- > 0) {
		line = strchr(line, '\n');
		assert_non_null(line);
		line++;
	}
	end = strchr(line, '\n');
	copy = strndup(line, end ? (size_t)(end - line) : strlen(line));
	free(text);
	return copy;
}

/* addr[4] as smtpguard keeps it: network order, IPv4 mapped. */
static void addr_of(const char *s, __u32 addr[4])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, &addr[3]) == 1)
		addr[2] = htonl(0xffff);
	else
		assert_int_equal(inet_pton(AF_INET6, s, addr), 1);
}

static void check_sock(const char *table, int line, const char *local, __u16 lport,
		       const char *remote, __u16 rport, __u32 state, __u64 inode)
{
	char *text = fixture_line(table, line);
	struct sg_tcp_sock s;
	__u32 want[4];

	assert_int_equal(sg_tcp_parse(text, &s), 0);
	addr_of(local, want);
	assert_memory_equal(s.local, want, sizeof(want));
	addr_of(remote, want);
	assert_memory_equal(s.remote, want, sizeof(want));
	assert_int_equal(s.local_port, lport);
	assert_int_equal(s.remote_port, rport);
	assert_int_equal(s.state, state);
	assert_int_equal(s.uid, 0);
	assert_int_equal(s.inode, inode);
	free(text);
}

/* The kernel prints words in host order: these captures are from a little-endian machine. */
static void skip_unless_little_endian(void)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	skip();
#endif
}

static void test_tcp4(void **state)
{
	struct sg_tcp_sock s;
	char *header;

	skip_unless_little_endian();
	header = fixture_line(FIXTURES "tcp", 0);
	assert_int_equal(sg_tcp_parse(header, &s), -EINVAL);
	free(header);
	check_sock(FIXTURES "tcp", 1, "198.51.100.1", 25, "0.0.0.0", 0, SG_TCP_LISTEN, 167786);
	check_sock(FIXTURES "tcp", 2, "198.51.100.1", 51474, "198.51.100.1", 25, 1, 167788);
	/* close-wait: the server closed, the client still holds it */
	check_sock(FIXTURES "tcp", 3, "198.51.100.1", 51480, "198.51.100.1", 25, 8, 167796);
	/* fin-wait-2 with no file: the short line of an orphaned socket, inode 0 */
	check_sock(FIXTURES "tcp", 5, "198.51.100.1", 25, "198.51.100.1", 51480, 5, 0);
	/* syn-sent, to a port other than 25 */
	check_sock(FIXTURES "tcp", 7, "192.0.2.1", 38814, "192.0.2.9", 465, 2, 167794);
}

static void test_tcp6(void **state)
{
	struct sg_tcp_sock s;
	char *header;

	skip_unless_little_endian();
	header = fixture_line(FIXTURES "tcp6", 0);
	assert_int_equal(sg_tcp_parse(header, &s), -EINVAL);
	free(header);
	check_sock(FIXTURES "tcp6", 1, "::", 587, "::", 0, SG_TCP_LISTEN, 167787);
	check_sock(FIXTURES "tcp6", 2, "2001:db8:1::1", 47536, "2001:db8:1::9", 465, 2, 167795);
	check_sock(FIXTURES "tcp6", 3, "2001:db8::1", 60410, "2001:db8::1", 587, 1, 167790);
	/* v4-mapped: the same addresses as the IPv4 table's */
	check_sock(FIXTURES "tcp6", 4, "198.51.100.1", 51476, "198.51.100.1", 25, 1, 167792);
}

static void test_tcp_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		/* local and remote of different families */
		"   1: 016433C6:C912 00000000000000000000000000000000:0019 01 00000000:00000000 "
		"00:00000000 00000000     0        0 167788 2 00000000ace26d90 20 0 0 10 -1",
		/* an address of neither length */
		"   1: 016433C6AA:C912 016433C6AA:0019 01 00000000:00000000 00:00000000 00000000 "
		"    0        0 167788 2",
		/* cut before the inode */
		"   1: 016433C6:C912 016433C6:0019 01 00000000:00000000 00:00000000 00000000     0",
	};
	struct sg_tcp_sock s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sg_tcp_parse(bad[i], &s), -EINVAL);
}

static void test_tcp_state_names(void **state)
{
	assert_string_equal(sg_tcp_state_name(1), "established");
	assert_string_equal(sg_tcp_state_name(2), "syn-sent");
	assert_string_equal(sg_tcp_state_name(8), "close-wait");
	assert_string_equal(sg_tcp_state_name(SG_TCP_LISTEN), "listen");
	assert_string_equal(sg_tcp_state_name(12), "new-syn-recv");
	assert_string_equal(sg_tcp_state_name(0), "unknown");
	assert_string_equal(sg_tcp_state_name(99), "unknown");
}

static void test_status(void **state)
{
	char *text = fixture(FIXTURES "status");
	__u32 uid = 0;

	/* Real 1001, effective 0: the real one. */
	assert_int_equal(sg_status_ruid(text, &uid), 0);
	assert_int_equal(uid, 1001);
	free(text);
	assert_int_equal(sg_status_ruid("Uid:\t7\t8\t9\t10\n", &uid), 0);
	assert_int_equal(uid, 7);
	assert_int_equal(sg_status_ruid("Name:\tx\nGid:\t7\t7\t7\t7\n", &uid), -EINVAL);
	assert_int_equal(sg_status_ruid("Name:\tx\nUid:\n", &uid), -EINVAL);
}

static void test_stat(void **state)
{
	char *text = fixture(FIXTURES "stat");
	struct sg_proc_stat st;

	/* The name "x) S 1 (y" looks like fields; only the last ')' ends it. */
	assert_int_equal(sg_stat_parse(text, &st), 0);
	assert_string_equal(st.comm, "x) S 1 (y");
	assert_int_equal(st.ppid, 4200);
	assert_int_equal(st.start_ticks, 431117);
	free(text);

	assert_int_equal(
		sg_stat_parse("1 (a-very-long-process-name) S 0 1 1 0 -1 4194560 1 0 0 0 0 "
			      "0 0 0 20 0 1 0 77 1 1",
			      &st),
		0);
	assert_string_equal(st.comm, "a-very-long-pro");
	assert_int_equal(st.start_ticks, 77);
	assert_int_equal(sg_stat_parse("1 (sh) S 0 1 1 0 -1 4194560 1 0", &st), -EINVAL);
	assert_int_equal(sg_stat_parse("1 sh S 0", &st), -EINVAL);
}

static void test_socket_inode(void **state)
{
	static const char *const bad[] = {
		"pipe:[12345]", "socket:[12345", "socket:[12345]x", "socket:[]", "/dev/null", "",
	};
	__u64 ino = 0;
	size_t i;

	assert_int_equal(sg_socket_inode("socket:[12345]", &ino), 0);
	assert_int_equal(ino, 12345);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sg_socket_inode(bad[i], &ino), -EINVAL);
}

static int find_inode(__u64 inode, void *ctx)
{
	return inode == *(__u64 *)ctx;
}

static int find_listener(const struct sg_tcp_sock *s, void *ctx)
{
	const struct sg_tcp_sock *want = ctx;

	return s->inode == want->inode && s->state == SG_TCP_LISTEN &&
	       s->local_port == want->local_port && !memcmp(s->local, want->local, 16);
}

/* The readers on this very process, with a socket listening on loopback. */
static void test_self(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	struct sg_tcp_sock want = {};
	struct sg_proc_stat st;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned long budget;
	struct stat sb, ns;
	__u64 netns;
	__u32 uid;

	assert_int_equal(sg_proc_ruid(getpid(), &uid), 0);
	assert_int_equal(uid, getuid());
	assert_int_equal(sg_proc_stat(getpid(), &st), 0);
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(sg_task_netns(getpid(), gettid(), &netns), 0);
	assert_int_equal(stat("/proc/self/ns/net", &ns), 0);
	assert_int_equal(netns, ns.st_ino);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(fstat(fd, &sb), 0);
	want.inode = sb.st_ino;
	want.local_port = ntohs(sin.sin_port);
	addr_of("127.0.0.1", want.local);
	budget = ~0UL;
	assert_int_equal(sg_task_sockets(getpid(), gettid(), &budget, find_inode, &want.inode), 1);
	/* The budget ends at the socket: descriptors 0 to fd - 1 are open, read first. */
	budget = fd;
	assert_int_equal(sg_task_sockets(getpid(), gettid(), &budget, find_inode, &want.inode),
			 -E2BIG);
	assert_int_equal(budget, 0);
	assert_int_equal(sg_task_tcp(getpid(), gettid(), find_listener, &want), 1);
	close(fd);
	budget = ~0UL;
	assert_int_equal(sg_task_sockets(getpid(), gettid(), &budget, find_inode, &want.inode), 0);
	assert_int_equal(sg_proc_ruid(0, &uid), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp4),	      cmocka_unit_test(test_tcp6),
		cmocka_unit_test(test_tcp_malformed), cmocka_unit_test(test_tcp_state_names),
		cmocka_unit_test(test_status),	      cmocka_unit_test(test_stat),
		cmocka_unit_test(test_socket_inode),  cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
