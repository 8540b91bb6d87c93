// SPDX-License-Identifier: GPL-2.0
/*
 * Cutting a UID's connections (host/conncut.h) on real sockets, in a
 * network namespace of the test's own with loopback only: the UID's
 * connections to a watched port, IPv4, IPv6 and v4-mapped, are destroyed
 * (its next read gets ECONNABORTED, its next write EPIPE, the server side
 * a reset) and counted exactly; its connection to an unwatched port and
 * another UID's to the watched one carry data as before. The sockets are
 * made under the test UIDs' fsuid, which is what makes them theirs.
 * Needs root (CAP_NET_ADMIN, and a namespace).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "host/conncut.h"
#include "kern/maps.h"

#define UID_A	40001
#define UID_B	40002
#define WATCHED 2525
#define OTHER	8080

struct conn {
	int client, server;
};

/* A listener on lo, v6only off so that a v4-mapped client reaches it too. */
static int listener(__u16 port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a6, sizeof(a6)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/* A connection from a socket uid owns to ADDR:port, and its accepted end. */
static struct conn connect_as(__u32 uid, int lfd, const char *addr, __u16 port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	int v6 = strchr(addr, ':') != NULL;
	struct conn c;

	setfsuid(uid);
	c.client = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setfsuid(0);
	assert_true(c.client >= 0);
	if (v6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1);
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &a4->sin_addr), 1);
	}
	assert_int_equal(connect(c.client, (struct sockaddr *)&ss, v6 ? sizeof(*a6) : sizeof(*a4)),
			 0);
	c.server = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c.server >= 0);
	return c;
}

/* Both ways, a line each: the connection works. */
static void assert_open(const struct conn *c)
{
	char buf[8];

	assert_int_equal(send(c->client, "EHLO\n", 5, MSG_NOSIGNAL), 5);
	assert_int_equal(recv(c->server, buf, sizeof(buf), 0), 5);
	assert_int_equal(send(c->server, "250\n", 4, MSG_NOSIGNAL), 4);
	assert_int_equal(recv(c->client, buf, sizeof(buf), 0), 4);
}

static void assert_cut(const struct conn *c)
{
	char buf[8];

	errno = 0;
	assert_int_equal(recv(c->client, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, ECONNABORTED);
	errno = 0;
	assert_int_equal(send(c->client, "EHLO\n", 5, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	/* The peer was told with a reset. */
	errno = 0;
	assert_int_equal(recv(c->server, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
}

static void close_conn(const struct conn *c)
{
	close(c->client);
	close(c->server);
}

static void test_cut_only_the_uids_to_watched_ports(void **state)
{
	int watched_l = listener(WATCHED), other_l = listener(OTHER);
	struct conn a4, a6, amapped, a_other, b4;
	__u8 watched[SG_PORT_BITS] = { 0 };

	watched[WATCHED / 8] |= 1U << (WATCHED % 8);
	a4 = connect_as(UID_A, watched_l, "127.0.0.1", WATCHED);
	a6 = connect_as(UID_A, watched_l, "::1", WATCHED);
	amapped = connect_as(UID_A, watched_l, "::ffff:127.0.0.1", WATCHED);
	a_other = connect_as(UID_A, other_l, "127.0.0.1", OTHER);
	b4 = connect_as(UID_B, watched_l, "127.0.0.1", WATCHED);

	assert_int_equal(sg_cut_connections(UID_A, watched), 3);
	assert_cut(&a4);
	assert_cut(&a6);
	assert_cut(&amapped);
	assert_open(&a_other);
	assert_open(&b4);
	/* Nothing of A's left to cut, and B's alone when asked for B. */
	assert_int_equal(sg_cut_connections(UID_A, watched), 0);
	assert_int_equal(sg_cut_connections(UID_B, watched), 1);
	assert_cut(&b4);
	assert_open(&a_other);

	close_conn(&a4);
	close_conn(&a6);
	close_conn(&amapped);
	close_conn(&a_other);
	close_conn(&b4);
	close(watched_l);
	close(other_l);
}

/* A client that closed with its data still unacknowledged can still deliver it: cut too. */
static void test_cut_closed_with_data_queued(void **state)
{
	int l = listener(WATCHED);
	__u8 watched[SG_PORT_BITS] = { 0 };
	struct conn a;
	char buf[8];

	watched[WATCHED / 8] |= 1U << (WATCHED % 8);
	a = connect_as(UID_A, l, "127.0.0.1", WATCHED);
	/* The server closes first: the client is in CLOSE_WAIT and may still send. */
	close(a.server);
	assert_int_equal(recv(a.client, buf, sizeof(buf), 0), 0);
	assert_int_equal(sg_cut_connections(UID_A, watched), 1);
	errno = 0;
	assert_int_equal(send(a.client, "DATA\n", 5, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, ECONNABORTED);
	close(a.client);
	close(l);
}

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_only_the_uids_to_watched_ports),
		cmocka_unit_test(test_cut_closed_with_data_queued),
	};
	int err;

	if (geteuid() != 0) {
		fprintf(stderr,
			"test_conncut: needs root (CAP_NET_ADMIN and a network namespace)\n");
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "test_conncut: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	err = lo_up();
	if (err) {
		fprintf(stderr, "test_conncut: bringing lo up: %s\n", strerror(-err));
		return 1;
	}
	return cmocka_run_group_tests_name("conncut", tests, NULL, NULL);
}
