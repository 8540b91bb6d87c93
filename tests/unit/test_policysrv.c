// SPDX-License-Identifier: GPL-2.0
/*
 * The policy service's transport (policysrv.h) on a real socket in a
 * temporary directory, with real clients: exact answers to whole, split
 * and pipelined requests on persistent connections; oversized and binary
 * requests closed and counted; a slow request and an idle connection
 * closed at their deadlines (the clock is the test's); a peer that
 * setuid()s to nobody refused and counted; connections past capacity
 * refused; a client that never reads closed while another is answered;
 * the socket file made safely. The judge is the test's own: this is the
 * transport, not the judging. Needs root (SO_PEERCRED of another UID).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "daemon/policysrv.h"

#define NS	   1000000000ULL
#define T0	   (1000 * NS)
#define NOBODY	   65534
#define REQ(s)	   "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsender=" s "\n\n"
#define HOLD_ANS   "action=HOLD over budget: hold@x\n\n"
#define DUNNO_ANS  "action=DUNNO\n\n"
#define REJECT_ANS "action=REJECT contained\n\n"

struct fixture {
	char dir[64], path[96];
	struct sg_policysrv *s;
	unsigned int judged;
};

static enum sg_policy_verdict judge(void *ctx, const struct sg_policy_req *req, char *why,
				    size_t whylen)
{
	struct fixture *fx = ctx;

	fx->judged++;
	if (!strncmp(req->sender, "hold@", 5)) {
		snprintf(why, whylen, "over budget: %s", req->sender);
		return SG_POLICY_HOLD;
	}
	if (!strncmp(req->sender, "reject@", 7)) {
		snprintf(why, whylen, "contained");
		return SG_POLICY_REJECT;
	}
	return SG_POLICY_DUNNO;
}

static int open_srv(struct fixture *fx, unsigned int max_conns)
{
	struct sg_policysrv_opts o = {
		.path = fx->path,
		.group = NOBODY,
		.max_conns = max_conns,
		.judge = judge,
		.ctx = fx,
	};

	return sg_policysrv_open(&o, &fx->s);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/sgt-policysrv.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	/* nobody traverses it, for the refused peer. */
	assert_int_equal(chmod(fx->dir, 0711), 0);
	snprintf(fx->path, sizeof(fx->path), "%s/policy.sock", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	sg_policysrv_close(fx->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd))
		return -1;
	free(fx);
	return 0;
}

/* Everything the server has to do now, done. */
static void pump(struct sg_policysrv *s, __u64 now)
{
	struct pollfd p = { .fd = sg_policysrv_fd(s), .events = POLLIN };

	while (poll(&p, 1, 0) > 0)
		sg_policysrv_run(s, now);
}

static int client(const struct fixture *fx)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, fx->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void read_exact(int fd, const char *want)
{
	char buf[512];
	size_t len = strlen(want), got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, buf + got, len - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	buf[got] = '\0';
	assert_string_equal(buf, want);
}

/* Exactly want, then nothing more waiting, the connection still open. */
static void expect(int fd, const char *want)
{
	char c;

	read_exact(fd, want);
	assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* The server closed it: end of file, or a reset when it left bytes of ours unread. */
static void expect_closed(int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		assert_int_equal(errno, ECONNRESET);
	else
		assert_int_equal(n, 0);
}

static void test_answers(void **state)
{
	struct fixture *fx = *state;
	static const char three[] = REQ("hold@x") REQ("a@b") REQ("reject@y");
	const char *req = REQ("hold@x");
	struct sg_policysrv_stats st;
	struct stat sb;
	size_t i;
	int fd;

	assert_int_equal(open_srv(fx, 0), 0);
	assert_int_equal(lstat(fx->path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(sb.st_gid, NOBODY);
	fd = client(fx);
	send_all(fd, req, strlen(req));
	pump(fx->s, T0);
	expect(fd, HOLD_ANS);
	/* Split anywhere: byte by byte, on the same (persistent) connection. */
	for (i = 0; i < strlen(req); i++) {
		send_all(fd, req + i, 1);
		pump(fx->s, T0);
	}
	expect(fd, HOLD_ANS);
	/* Three in one write: three answers, in order. */
	send_all(fd, three, sizeof(three) - 1);
	pump(fx->s, T0);
	expect(fd, HOLD_ANS DUNNO_ANS REJECT_ANS);
	for (i = 0; i < 100; i++) {
		send_all(fd, REQ("a@b"), sizeof(REQ("a@b")) - 1);
		pump(fx->s, T0);
		expect(fd, DUNNO_ANS);
	}
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.requests[SG_POLICY_HOLD], 3);
	assert_int_equal(st.requests[SG_POLICY_DUNNO], 101);
	assert_int_equal(st.requests[SG_POLICY_REJECT], 1);
	assert_int_equal(st.requests[SG_POLICY_DEFER], 0);
	assert_int_equal(st.connections, 1);
	for (i = 0; i < SG_PREF__MAX; i++)
		assert_int_equal(st.refused[i], 0);
	close(fd);
	pump(fx->s, T0);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.connections, 0);
}

static void test_bad_requests(void **state)
{
	struct fixture *fx = *state;
	static const char nul[] = "sender=a\0b\n\n";
	struct sg_policysrv_stats st;
	size_t i, n = SG_POLICY_REQ_MAX + 4;
	char *big = malloc(n);
	int a, b, c;

	assert_non_null(big);
	assert_int_equal(open_srv(fx, 0), 0);
	a = client(fx);
	b = client(fx);
	c = client(fx);
	/* The first request is answered, then the connection closed at the oversized one. */
	for (i = 0; i + 4 <= n; i += 4)
		memcpy(big + i, "a=b\n", 4);
	send_all(a, REQ("a@b"), sizeof(REQ("a@b")) - 1);
	send_all(a, big, n);
	send_all(b, nul, sizeof(nul) - 1);
	send_all(c, "no equals\n\n", 11);
	pump(fx->s, T0);
	read_exact(a, DUNNO_ANS);
	expect_closed(a);
	expect_closed(b);
	expect_closed(c);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.refused[SG_PREF_OVERSIZED], 1);
	assert_int_equal(st.refused[SG_PREF_MALFORMED], 2);
	assert_int_equal(st.requests[SG_POLICY_DUNNO], 1);
	assert_int_equal(st.connections, 0);
	close(a);
	close(b);
	close(c);
	free(big);
}

static void test_deadlines(void **state)
{
	struct fixture *fx = *state;
	const char *req = REQ("a@b");
	struct sg_policysrv_stats st;
	int slow, idle;

	assert_int_equal(open_srv(fx, 0), 0);
	slow = client(fx);
	idle = client(fx);
	pump(fx->s, T0);
	send_all(idle, req, strlen(req));
	send_all(slow, req, 20);
	pump(fx->s, T0);
	expect(idle, DUNNO_ANS);
	/* The slow request's first byte came at T0: closed 5 s later, not before. */
	sg_policysrv_expire(fx->s, T0 + SG_POLICYSRV_REQ_SECONDS * NS - 1);
	send_all(slow, req + 20, 10);
	pump(fx->s, T0 + SG_POLICYSRV_REQ_SECONDS * NS - 1);
	sg_policysrv_expire(fx->s, T0 + SG_POLICYSRV_REQ_SECONDS * NS);
	expect_closed(slow);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.refused[SG_PREF_TIMEOUT], 1);
	assert_int_equal(st.connections, 1);
	/* Idle since its answer at T0: Postfix's max_idle, 300 s, then closed, not counted. */
	sg_policysrv_expire(fx->s, T0 + SG_POLICYSRV_IDLE_SECONDS * NS - 1);
	send_all(idle, req, strlen(req));
	pump(fx->s, T0 + 10 * NS);
	expect(idle, DUNNO_ANS);
	sg_policysrv_expire(fx->s, T0 + 10 * NS + SG_POLICYSRV_IDLE_SECONDS * NS - 1);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.connections, 1);
	sg_policysrv_expire(fx->s, T0 + 10 * NS + SG_POLICYSRV_IDLE_SECONDS * NS);
	expect_closed(idle);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.refused[SG_PREF_TIMEOUT], 1);
	close(slow);
	close(idle);
}

/* A customer's process (nobody) that can reach the socket is refused by its credentials. */
static void test_peer_refused(void **state)
{
	struct fixture *fx = *state;
	struct sg_policysrv_stats st;
	struct pollfd p;
	int status, i;
	pid_t pid;

	assert_int_equal(open_srv(fx, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char buf[64];
		int fd;

		/* No cmocka assertion here: the child only exits with what it saw. */
		if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
			_exit(3);
		strcpy(sa.sun_path, fx->path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(2);
		/* Closed before or after the request is sent: never an answer. */
		if (send(fd, REQ("a@b"), sizeof(REQ("a@b")) - 1, MSG_NOSIGNAL) < 0 &&
		    errno != EPIPE && errno != ECONNRESET)
			_exit(4);
		_exit(recv(fd, buf, sizeof(buf), 0) <= 0 ? 0 : 1);
	}
	p.fd = sg_policysrv_fd(fx->s);
	p.events = POLLIN;
	for (i = 0; i < 100; i++) {
		sg_policysrv_stats(fx->s, &st);
		if (st.refused[SG_PREF_PEER])
			break;
		if (poll(&p, 1, 100) > 0)
			sg_policysrv_run(fx->s, T0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.refused[SG_PREF_PEER], 1);
	assert_int_equal(st.connections, 0);
	assert_int_equal(fx->judged, 0);
}

static void test_capacity(void **state)
{
	struct fixture *fx = *state;
	struct sg_policysrv_stats st;
	int a, b, c;

	assert_int_equal(open_srv(fx, 2), 0);
	a = client(fx);
	b = client(fx);
	c = client(fx);
	pump(fx->s, T0);
	expect_closed(c);
	send_all(b, REQ("hold@x"), sizeof(REQ("hold@x")) - 1);
	pump(fx->s, T0);
	expect(b, HOLD_ANS);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.refused[SG_PREF_CAPACITY], 1);
	assert_int_equal(st.connections, 2);
	/* A slot given back takes the next connection. */
	close(a);
	pump(fx->s, T0);
	close(c);
	c = client(fx);
	send_all(c, REQ("a@b"), sizeof(REQ("a@b")) - 1);
	pump(fx->s, T0);
	expect(c, DUNNO_ANS);
	close(b);
	close(c);
}

/* A client that sends and never reads fills its socket: closed, and the others answered. */
static void test_unread(void **state)
{
	struct fixture *fx = *state;
	static const char req[] = REQ("hold@x");
	struct sg_policysrv_stats st;
	int deaf, other, i;

	assert_int_equal(open_srv(fx, 0), 0);
	deaf = client(fx);
	other = client(fx);
	for (i = 0; i < 1000000; i++) {
		if (send(deaf, req, sizeof(req) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
		pump(fx->s, T0);
	}
	pump(fx->s, T0);
	sg_policysrv_stats(fx->s, &st);
	assert_int_equal(st.refused[SG_PREF_UNREAD], 1);
	assert_int_equal(st.connections, 1);
	assert_true(st.requests[SG_POLICY_HOLD] > 0);
	send_all(other, REQ("reject@y"), sizeof(REQ("reject@y")) - 1);
	pump(fx->s, T0);
	expect(other, REJECT_ANS);
	close(deaf);
	close(other);
}

static void test_socket_file(void **state)
{
	struct fixture *fx = *state;
	struct sg_policysrv *old;
	char target[128];
	struct stat sb;
	int fd;

	/* A symlink planted at the path: left alone, its target untouched. */
	snprintf(target, sizeof(target), "%s/target", fx->dir);
	fd = open(target, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(target, fx->path), 0);
	assert_int_equal(open_srv(fx, 0), -EEXIST);
	assert_int_equal(lstat(fx->path, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(sb.st_gid, 0);
	/* A regular file: the same. */
	assert_int_equal(unlink(fx->path), 0);
	assert_int_equal(rename(target, fx->path), 0);
	assert_int_equal(open_srv(fx, 0), -EEXIST);
	assert_int_equal(unlink(fx->path), 0);
	/* A directory others can write to: refused. */
	assert_int_equal(chmod(fx->dir, 0777), 0);
	assert_int_equal(open_srv(fx, 0), -EPERM);
	assert_int_equal(chmod(fx->dir, 0711), 0);
	/* A socket left by an earlier daemon: replaced; that one's close leaves the new one. */
	assert_int_equal(open_srv(fx, 0), 0);
	old = fx->s;
	fx->s = NULL;
	assert_int_equal(open_srv(fx, 0), 0);
	sg_policysrv_close(old);
	fd = client(fx);
	send_all(fd, REQ("a@b"), sizeof(REQ("a@b")) - 1);
	pump(fx->s, T0);
	expect(fd, DUNNO_ANS);
	close(fd);
	/* Closing removes it. */
	sg_policysrv_close(fx->s);
	fx->s = NULL;
	assert_int_equal(lstat(fx->path, &sb), -1);
	assert_int_equal(errno, ENOENT);
	/* A missing directory is made; a bad path is refused. */
	snprintf(fx->path, sizeof(fx->path), "%s/run/policy.sock", fx->dir);
	assert_int_equal(open_srv(fx, 0), 0);
	assert_int_equal(stat(fx->path, &sb), 0);
	strcpy(fx->path, "policy.sock");
	assert_int_equal(open_srv(fx, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_policysrv: needs root (a peer of another UID)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("policysrv", tests, NULL, NULL);
}
