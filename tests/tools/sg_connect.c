// SPDX-License-Identifier: GPL-2.0
/*
 * sg_connect: COUNT sequential SMTP sessions to ADDR PORT, each: connect()
 * (or, with --fastopen, sendto() of the QUIT with MSG_FASTOPEN), read the
 * 220 banner, QUIT, read the 221, close. Prints one line
 * "ok=N eperm=N other=N": EPERM is how smtpguard's connect hooks refuse,
 * anything else is "other" and the first such errno is named on stderr.
 * Exits 0 whenever it ran; the caller judges the counts. Every wait is
 * bounded by --timeout-ms.
 *
 * ADDR containing ':' is IPv6 (also ::ffff:a.b.c.d) on an AF_INET6 socket.
 * With --spread N, session i goes to ADDR + i mod N (the address's last 32
 * bits counted up): N destinations in turn.
 *
 * --fork runs each session in a new child process that exits after it, as
 * a fork+connect flood does: the kernel sees a new sender every time; with
 * --linger-ms, the child stays that long after its session, to be seen
 * alive (it shares the title of its parent: exec -a TITLE sg_connect ...).
 * --seconds stops starting sessions once that many seconds have passed.
 *
 * --uids BASE:N (as root) is N senders at once, as many customers of one
 * host: a child per UID, BASE to BASE + N - 1 (no passwd entry needed: the
 * kernel knows a sender by its UID), each with that UID as its only
 * identity, each doing the COUNT sessions; all start together once all
 * exist. The line sums them, and a second one says how long they took
 * from their start to the last one's end: "uids=N seconds=S".
 *
 * Usage: sg_connect [--fastopen] [--fork [--linger-ms MS]] [-n COUNT] [--spread N]
 *                   [--seconds S] [--timeout-ms MS] [--uids BASE:N] ADDR PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT      200000
#define MAX_TIMEOUT_MS 60000
#define MAX_SECONDS    60
#define MAX_UIDS       10000
#define QUIT	       "QUIT\r\n"

struct target {
	struct sockaddr_storage addr;
	socklen_t len;
};

/* Reply bytes received but not yet consumed. */
struct reader {
	size_t len;
	char buf[512];
};

static void usage(void)
{
	fprintf(stderr,
		"usage: sg_connect [--fastopen] [--fork [--linger-ms MS]] [-n COUNT] [--spread N]\n"
		"                  [--seconds S] [--timeout-ms MS] [--uids BASE:N] ADDR PORT\n"
		"  COUNT and N 1 to %d (default 1), S 1 to %d (default: no limit),\n"
		"  MS 1 to %d (default 2000), BASE 1 to %u and N (of --uids) 1 to %d\n",
		MAX_COUNT, MAX_SECONDS, MAX_TIMEOUT_MS, UINT32_MAX - 1 - MAX_UIDS, MAX_UIDS);
	exit(2);
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > max)
		usage();
	return v;
}

static void parse_target(const char *host, const char *port, struct target *t)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;
	long p = parse_num(port, 65535);

	memset(t, 0, sizeof(*t));
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			usage();
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		t->len = sizeof(*sin6);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			usage();
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		t->len = sizeof(*sin);
	}
}

/* base's address with n added to its last 32 bits. */
static struct target nth_target(const struct target *base, long n)
{
	struct sockaddr_in6 *sin6;
	struct sockaddr_in *sin;
	struct target t = *base;

	if (t.addr.ss_family == AF_INET6) {
		sin6 = (struct sockaddr_in6 *)&t.addr;
		sin6->sin6_addr.s6_addr32[3] = htonl(ntohl(sin6->sin6_addr.s6_addr32[3]) + n);
	} else {
		sin = (struct sockaddr_in *)&t.addr;
		sin->sin_addr.s_addr = htonl(ntohl(sin->sin_addr.s_addr) + n);
	}
	return t;
}

/* 0 when fd is ready for events within timeout_ms, else -ETIMEDOUT or -errno. */
static int wait_for(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/*
 * Start the connection. With --fastopen the QUIT rides in the SYN when the
 * kernel has a cookie (*quit_sent set); without one the kernel sends a
 * plain SYN and the QUIT goes after the handshake.
 */
static int open_session(int fd, const struct target *t, int fastopen, int timeout_ms,
			int *quit_sent)
{
	const struct sockaddr *sa = (const struct sockaddr *)&t->addr;
	socklen_t len = sizeof(int);
	int err = 0;
	ssize_t n;

	*quit_sent = 0;
	if (fastopen) {
		n = sendto(fd, QUIT, strlen(QUIT), MSG_FASTOPEN | MSG_NOSIGNAL, sa, t->len);
		if (n == (ssize_t)strlen(QUIT)) {
			*quit_sent = 1;
			return 0;
		}
		if (n >= 0)
			return -EIO;
	} else if (!connect(fd, sa, t->len)) {
		return 0;
	}
	if (errno != EINPROGRESS)
		return -errno;
	err = wait_for(fd, POLLOUT, timeout_ms);
	if (err)
		return err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

/* Read reply lines up to the final one ("NNN " rather than "NNN-"); 0 when it is code. */
static int expect(int fd, struct reader *r, const char *code, int timeout_ms)
{
	char *nl;
	size_t n;
	ssize_t got;
	int err, final, match;

	for (;;) {
		nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			n = nl - r->buf + 1;
			if (n < 4)
				return -EPROTO;
			final = r->buf[3] != '-';
			match = !memcmp(r->buf, code, 3);
			memmove(r->buf, nl + 1, r->len - n);
			r->len -= n;
			if (final)
				return match ? 0 : -EPROTO;
			continue;
		}
		if (r->len == sizeof(r->buf))
			return -EPROTO;
		err = wait_for(fd, POLLIN, timeout_ms);
		if (err)
			return err;
		got = recv(fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (got < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (got == 0)
			return -ECONNRESET;
		if (got > 0)
			r->len += got;
	}
}

/* QUIT is tiny: it fits the empty send buffer at once, or the peer is gone. */
static int send_quit(int fd)
{
	ssize_t n = send(fd, QUIT, strlen(QUIT), MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(QUIT) ? 0 : -EIO;
}

/* One whole session on a fresh socket; 0 or -errno. */
static int session(const struct target *t, int fastopen, int timeout_ms)
{
	struct reader r = { 0 };
	int fd, err, quit_sent;

	fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = open_session(fd, t, fastopen, timeout_ms, &quit_sent);
	if (!err)
		err = expect(fd, &r, "220", timeout_ms);
	if (!err && !quit_sent)
		err = send_quit(fd);
	if (!err)
		err = expect(fd, &r, "221", timeout_ms);
	close(fd);
	return err;
}

struct child_args {
	const struct target *t;
	int fastopen, timeout_ms, linger_ms;
};

static int child_session(void *arg)
{
	const struct child_args *a = arg;
	int err = session(a->t, a->fastopen, a->timeout_ms);

	poll(NULL, 0, a->linger_ms);
	_exit(-err);
}

/*
 * The session in a child process that exits with its errno (0: ok); 0 or
 * -errno as session() gives. The child shares the memory and the parent
 * waits for it to exit (posix_spawn's way): a new process at a fraction of
 * fork()'s cost, so the flood is as fast as a customer's can be.
 */
static int forked_session(const struct target *t, int fastopen, int timeout_ms, int linger_ms)
{
	static char stack[256 * 1024] __attribute__((aligned(16)));
	struct child_args a = { t, fastopen, timeout_ms, linger_ms };
	pid_t pid =
		clone(child_session, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	int status;

	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -ECHILD;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the sessions are: the command line's options but --uids. */
struct run {
	struct target t;
	long count, spread, seconds;
	int fastopen, forked, timeout_ms, linger_ms;
};

/* Their outcome; a child of --uids sends its own through a pipe. */
struct tally {
	long ok, eperm, other;
	int first_other, setid_err;
};

static void run_sessions(const struct run *r, struct tally *n)
{
	double end = now_s() + r->seconds;
	struct target to;
	long i;
	int err;

	for (i = 0; i < r->count && (!r->seconds || now_s() < end); i++) {
		to = nth_target(&r->t, i % r->spread);
		err = r->forked ? -forked_session(&to, r->fastopen, r->timeout_ms, r->linger_ms)
				: -session(&to, r->fastopen, r->timeout_ms);
		if (!err) {
			n->ok++;
		} else if (err == EPERM) {
			n->eperm++;
		} else {
			n->other++;
			if (!n->first_other)
				n->first_other = err;
		}
	}
}

/* uid as every id of this process, and no supplementary group; 0 or errno. */
static int become(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return errno;
	return 0;
}

/* Child i of run_as_uids: waits at the gate (its end of file), runs, reports. */
static void uid_child(const struct run *r, uid_t uid, int gate, int out)
{
	struct tally n = { .setid_err = become(uid) };
	char c;

	while (read(gate, &c, 1) < 0 && errno == EINTR)
		;
	if (!n.setid_err)
		run_sessions(r, &n);
	/* Smaller than PIPE_BUF: the children's writes do not interleave. */
	if (write(out, &n, sizeof(n)) != sizeof(n))
		_exit(1);
	_exit(0);
}

/* Adds the children's tallies into sum, until every child has closed the pipe. */
static int collect(int in, struct tally *sum, long *reports)
{
	struct tally n;
	ssize_t got;

	for (;;) {
		got = read(in, &n, sizeof(n));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : 0;
		if (got != sizeof(n))
			return -EPROTO;
		sum->ok += n.ok;
		sum->eperm += n.eperm;
		sum->other += n.other;
		if (!sum->first_other)
			sum->first_other = n.first_other;
		if (!sum->setid_err)
			sum->setid_err = n.setid_err;
		(*reports)++;
	}
}

/* The sessions in n children at once, child i as UID base + i; 0 or -errno. */
static int run_as_uids(const struct run *r, uid_t base, long n, struct tally *sum, double *seconds)
{
	int gate[2], res[2], err = 0;
	long i, reports = 0;
	double start;
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC))
		return -errno;
	if (pipe2(res, O_CLOEXEC)) {
		err = -errno;
		close(gate[0]);
		close(gate[1]);
		return err;
	}
	for (i = 0; i < n && !err; i++) {
		pid = fork();
		if (pid < 0)
			err = -errno;
		if (pid == 0) {
			close(gate[1]);
			close(res[0]);
			uid_child(r, base + i, gate[0], res[1]);
		}
	}
	close(gate[0]);
	close(res[1]);
	/* Those forked run even when a fork failed: the gate opens for them all at once. */
	start = now_s();
	close(gate[1]);
	if (!err)
		err = collect(res[0], sum, &reports);
	*seconds = now_s() - start;
	close(res[0]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	if (!err && reports != n)
		err = -ECHILD;
	return err;
}

/* --uids BASE:N */
static void parse_uids(const char *s, uid_t *base, long *n)
{
	char *colon = strchr(s, ':');

	if (!colon)
		usage();
	*colon = '\0';
	*base = parse_num(s, UINT32_MAX - 1 - MAX_UIDS);
	*n = parse_num(colon + 1, MAX_UIDS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fastopen", no_argument, NULL, 'f' },
		{ "fork", no_argument, NULL, 'F' },
		{ "seconds", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "linger-ms", required_argument, NULL, 'l' },
		{ "spread", required_argument, NULL, 'p' },
		{ "uids", required_argument, NULL, 'u' },
		{},
	};
	struct run r = { .count = 1, .spread = 1, .timeout_ms = 2000 };
	struct tally sum = { 0 };
	long uids = 0;
	uid_t base = 0;
	double seconds = 0;
	int c, err = 0;

	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			r.fastopen = 1;
			break;
		case 'F':
			r.forked = 1;
			break;
		case 'n':
			r.count = parse_num(optarg, MAX_COUNT);
			break;
		case 's':
			r.seconds = parse_num(optarg, MAX_SECONDS);
			break;
		case 't':
			r.timeout_ms = parse_num(optarg, MAX_TIMEOUT_MS);
			break;
		case 'l':
			r.linger_ms = parse_num(optarg, MAX_TIMEOUT_MS);
			break;
		case 'p':
			r.spread = parse_num(optarg, MAX_COUNT);
			break;
		case 'u':
			parse_uids(optarg, &base, &uids);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || (r.linger_ms && !r.forked))
		usage();
	parse_target(argv[optind], argv[optind + 1], &r.t);

	if (uids)
		err = run_as_uids(&r, base, uids, &sum, &seconds);
	else
		run_sessions(&r, &sum);
	if (err) {
		fprintf(stderr, "sg_connect: --uids: %s\n", strerror(-err));
		return 1;
	}
	if (sum.setid_err) {
		fprintf(stderr, "sg_connect: --uids: cannot become a UID: %s\n",
			strerror(sum.setid_err));
		return 1;
	}
	printf("ok=%ld eperm=%ld other=%ld\n", sum.ok, sum.eperm, sum.other);
	if (uids)
		printf("uids=%ld seconds=%.3f\n", uids, seconds);
	if (sum.first_other)
		fprintf(stderr, "sg_connect: first other error: %s (%s)\n",
			strerrorname_np(sum.first_other), strerror(sum.first_other));
	return 0;
}
