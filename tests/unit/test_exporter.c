// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter over real HTTP on 127.0.0.1, driven the way the daemon drives it: its fd in
 * an epoll set, sg_exporter_run when the fd is readable or the loop's tick comes round.
 */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <zlib.h>

#include "daemon/exporter.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TICK_MS	     1000
#define DEADLINE_S   5

static const char metrics[] = "# HELP smtpguard_up 1\n# TYPE smtpguard_up gauge\nsmtpguard_up 1\n";

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	int eof;
};

struct reply {
	int status;
	char *head; /* status line and fields, each ending in \r\n */
	const char *body;
	size_t body_len;
};

/* The exporter on TCP alone, at host:port. */
static int start_at(const char *host, __u16 port, struct sg_exporter **ex, char *err, size_t errlen)
{
	struct sg_exporter_opts o = { .host = host, .port = port };

	return sg_exporter_start(&o, ex, err, errlen);
}

static int setup(void **state)
{
	struct sg_exporter *ex;
	char err[128];

	assert_int_equal(start_at("127.0.0.1", 0, &ex, err, sizeof(err)), 0);
	assert_int_not_equal(sg_exporter_port(ex), 0);
	assert_int_equal(
		sg_exporter_publish(ex, "/metrics", METRICS_TYPE, metrics, strlen(metrics), 1, 200),
		0);
	assert_int_equal(
		sg_exporter_publish(ex, "/healthz", "text/plain; charset=utf-8", "ok\n", 3, 1, 200),
		0);
	*state = ex;
	return 0;
}

static int teardown(void **state)
{
	sg_exporter_stop(*state);
	return 0;
}

/* Connects to a and sends req whole; the reply is read by pump(). */
static void client_open_at(struct client *c, const struct sockaddr *a, socklen_t alen,
			   const char *req, int rcvbuf)
{
	size_t len = strlen(req);

	memset(c, 0, sizeof(*c));
	c->fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
				 0);
	/* Completes from the listen backlog, before the exporter accepts. */
	assert_int_equal(connect(c->fd, a, alen), 0);
	assert_int_equal(write(c->fd, req, len), (ssize_t)len);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
}

/* Connects to the exporter's TCP port and sends req whole. */
static void client_open(struct client *c, struct sg_exporter *ex, const char *req, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(sg_exporter_port(ex)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	client_open_at(c, (struct sockaddr *)&a, sizeof(a), req, rcvbuf);
}

static void client_read(struct client *c)
{
	ssize_t n;

	for (;;) {
		if (c->cap - c->len < 4096) {
			c->cap = c->cap * 2 + 4096;
			c->buf = realloc(c->buf, c->cap + 1);
			assert_non_null(c->buf);
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EAGAIN)
			return;
		assert_true(n >= 0);
		if (!n) {
			c->eof = 1;
			return;
		}
		c->len += n;
	}
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->buf);
}

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Runs the loop until the reply is whole (the server closes) or has at least until bytes. */
static void pump(struct sg_exporter *ex, struct client *c, size_t until)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[2];
	int ep = epoll_create1(EPOLL_CLOEXEC), n, i, run;
	time_t deadline = now_s() + DEADLINE_S;

	ev.data.u32 = 0;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, sg_exporter_fd(ex), &ev), 0);
	ev.data.u32 = 1;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev), 0);
	while (!c->eof && c->len < until) {
		if (now_s() > deadline)
			fail_msg("no reply within %d s (%zu bytes so far)", DEADLINE_S, c->len);
		n = epoll_wait(ep, evs, 2, TICK_MS);
		assert_true(n >= 0);
		run = !n; /* the tick */
		for (i = 0; i < n; i++) {
			if (evs[i].data.u32)
				client_read(c);
			else
				run = 1;
		}
		if (run)
			assert_int_equal(sg_exporter_run(ex), 0);
	}
	close(ep);
}

static void parse_reply(struct client *c, struct reply *r)
{
	char *end;

	assert_non_null(c->buf);
	c->buf[c->len] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	assert_non_null(end);
	assert_int_equal(sscanf(c->buf, "HTTP/1.%*d %d ", &r->status), 1);
	r->head = strndup(c->buf, end + 2 - c->buf);
	r->body = end + 4;
	r->body_len = c->len - (r->body - c->buf);
}

/* The value of field name (a static copy), NULL when absent. */
static const char *field(const struct reply *r, const char *name)
{
	static char value[256];
	const char *p = strstr(r->head, "\r\n");

	for (; p && p[2]; p = strstr(p + 2, "\r\n")) {
		size_t len = strlen(name);

		if (!strncasecmp(p + 2, name, len) && p[2 + len] == ':') {
			p += 2 + len + 1 + strspn(p + 3 + len, " ");
			snprintf(value, sizeof(value), "%.*s", (int)strcspn(p, "\r"), p);
			return value;
		}
	}
	return NULL;
}

/* One whole exchange: req sent, the reply read to the end. */
static void exchange(struct sg_exporter *ex, const char *req, struct client *c, struct reply *r)
{
	client_open(c, ex, req, 0);
	pump(ex, c, SIZE_MAX);
	parse_reply(c, r);
}

static void reply_free(struct client *c, struct reply *r)
{
	free(r->head);
	client_close(c);
}

static char *inflated(const char *data, size_t len, size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = 4096;
	char *out = malloc(cap);
	int ret;

	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)data;
	zs.avail_in = len;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		zs.next_out = (Bytef *)out + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		ret = inflate(&zs, Z_NO_FLUSH);
	} while (ret == Z_OK);
	assert_int_equal(ret, Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	*out_len = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void assert_plain(const struct reply *r, const char *type, const char *body, size_t len)
{
	char n[24];

	snprintf(n, sizeof(n), "%zu", len);
	assert_int_equal(r->status, 200);
	assert_string_equal(field(r, "Content-Type"), type);
	assert_string_equal(field(r, "Content-Length"), n);
	assert_string_equal(field(r, "Vary"), "Accept-Encoding");
	assert_null(field(r, "Content-Encoding"));
	assert_int_equal(r->body_len, len);
	assert_memory_equal(r->body, body, len);
}

static void assert_gzip(const struct reply *r, const char *type, const char *body, size_t len)
{
	size_t got_len;
	char *got;

	assert_int_equal(r->status, 200);
	assert_string_equal(field(r, "Content-Type"), type);
	assert_string_equal(field(r, "Content-Encoding"), "gzip");
	assert_string_equal(field(r, "Vary"), "Accept-Encoding");
	got = inflated(r->body, r->body_len, &got_len);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, body, len);
	free(got);
}

static void test_get(void **state)
{
	struct client c;
	struct reply r;

	exchange(*state, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);

	exchange(*state, "GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, "text/plain; charset=utf-8", "ok\n", 3);
	reply_free(&c, &r);
}

/* A failing /healthz: its body with 503, for probes that read only the status. */
static void test_status(void **state)
{
	struct client c;
	struct reply r;

	assert_int_equal(sg_exporter_publish(*state, "/healthz", "text/plain; charset=utf-8",
					     "error: x\n", 9, 1, 503),
			 0);
	exchange(*state, "GET /healthz HTTP/1.0\r\n\r\n", &c, &r);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.body_len, 9);
	assert_memory_equal(r.body, "error: x\n", 9);
	reply_free(&c, &r);
}

static void test_head(void **state)
{
	struct client c;
	struct reply r;
	char n[24];

	exchange(*state, "HEAD /metrics HTTP/1.0\r\n\r\n", &c, &r);
	snprintf(n, sizeof(n), "%zu", strlen(metrics));
	assert_int_equal(r.status, 200);
	assert_string_equal(field(&r, "Content-Type"), METRICS_TYPE);
	assert_string_equal(field(&r, "Content-Length"), n);
	assert_int_equal(r.body_len, 0);
	reply_free(&c, &r);
}

static void test_gzip(void **state)
{
	struct client c;
	struct reply r;

	exchange(*state, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", &c, &r);
	assert_gzip(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);
}

static void test_accept_encoding(void **state)
{
	static const struct {
		const char *fields;
		int gzip;
	} cases[] = {
		{ "Accept-Encoding: gzip;q=0\r\n", 0 },
		{ "Accept-Encoding: gzip; q=0.000\r\n", 0 },
		{ "Accept-Encoding: GZIP;Q=0.5\r\n", 1 },
		{ "Accept-Encoding: br, deflate;q=0.9, gzip;q=0.8\r\n", 1 },
		{ "Accept-Encoding: x-gzip\r\n", 1 },
		{ "Accept-Encoding: gzipx, deflate\r\n", 0 },
		{ "Accept-Encoding: identity\r\n", 0 },
		{ "Accept-Encoding: \r\n", 0 },
		{ "Accept-Encoding: *\r\n", 1 },
		{ "Accept-Encoding: *;q=0\r\n", 0 },
		{ "Accept-Encoding: gzip;q=0, *\r\n", 0 },
		{ "Accept-Encoding: *;q=0, gzip\r\n", 1 },
		{ "Accept-Encoding: br\r\naccept-encoding: gzip\r\n", 1 },
		{ "", 0 },
	};
	struct client c;
	struct reply r;
	char *req;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(asprintf(&req, "GET /metrics HTTP/1.0\r\n%s\r\n", cases[i].fields) > 0);
		exchange(*state, req, &c, &r);
		if (cases[i].gzip)
			assert_gzip(&r, METRICS_TYPE, metrics, strlen(metrics));
		else
			assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
		reply_free(&c, &r);
		free(req);
	}
}

static void assert_error(struct sg_exporter *ex, const char *req, int status, const char *body)
{
	struct client c;
	struct reply r;

	exchange(ex, req, &c, &r);
	assert_int_equal(r.status, status);
	assert_string_equal(field(&r, "Content-Type"), "text/plain; charset=utf-8");
	assert_int_equal(r.body_len, strlen(body));
	assert_memory_equal(r.body, body, r.body_len);
	if (status == 405)
		assert_string_equal(field(&r, "Allow"), "GET, HEAD");
	reply_free(&c, &r);
}

static void test_not_found(void **state)
{
	assert_error(*state, "GET /nope HTTP/1.0\r\n\r\n", 404, "not found\n");
	assert_error(*state, "GET /metrics/ HTTP/1.0\r\n\r\n", 404, "not found\n");
	assert_error(*state, "GET /metricsx HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", 404,
		     "not found\n");
	assert_error(*state, "POST /nope HTTP/1.0\r\n\r\n", 404, "not found\n");
}

static void test_method_not_allowed(void **state)
{
	assert_error(*state, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", 405,
		     "method not allowed\n");
	assert_error(*state, "DELETE /metrics HTTP/1.0\r\n\r\n", 405, "method not allowed\n");
	assert_error(*state,
		     "PUT /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		     "Content-Length: 3\r\n\r\nabc",
		     405, "method not allowed\n");
}

static void test_republish(void **state)
{
	static const char next[] = "smtpguard_up 2\n";
	struct sg_exporter *ex = *state;
	struct client c;
	struct reply r;

	/* The gzip form of the first body is cached now... */
	exchange(ex, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", &c, &r);
	assert_gzip(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);

	/* ...and goes with it. */
	assert_int_equal(
		sg_exporter_publish(ex, "/metrics", "text/plain", next, strlen(next), 1, 200), 0);
	exchange(ex, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", &c, &r);
	assert_gzip(&r, "text/plain", next, strlen(next));
	reply_free(&c, &r);
	exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, "text/plain", next, strlen(next));
	reply_free(&c, &r);

	assert_int_equal(sg_exporter_publish(ex, "/metrics", "text/plain", "", 0, 1, 200), 0);
	exchange(ex, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", &c, &r);
	assert_gzip(&r, "text/plain", "", 0);
	reply_free(&c, &r);
}

/* A client that reads slowly keeps the body it started on, whatever is published meanwhile. */
static void test_publish_during_transfer(void **state)
{
	struct sg_exporter *ex = *state;
	size_t len = 4 << 20, i;
	char *big = malloc(len);
	struct client c;
	struct reply r;

	for (i = 0; i < len; i++)
		big[i] = 'a' + i * 7919 % 26;
	assert_int_equal(sg_exporter_publish(ex, "/metrics", METRICS_TYPE, big, len, 1, 200), 0);

	client_open(&c, ex, "GET /metrics HTTP/1.0\r\n\r\n", 4096);
	pump(ex, &c, 1);
	assert_int_equal(
		sg_exporter_publish(ex, "/metrics", METRICS_TYPE, metrics, strlen(metrics), 1, 200),
		0);
	memset(big, 0, len);
	pump(ex, &c, SIZE_MAX);
	parse_reply(&c, &r);
	for (i = 0; i < len; i++)
		big[i] = 'a' + i * 7919 % 26;
	assert_plain(&r, METRICS_TYPE, big, len);
	reply_free(&c, &r);
	free(big);

	exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);
}

static void test_table_full(void **state)
{
	struct sg_exporter *ex = *state;
	char path[16];
	int i;

	/* /metrics and /healthz are two of the eight. */
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/doc%d", i);
		assert_int_equal(sg_exporter_publish(ex, path, "text/plain", "x", 1, 1, 200), 0);
	}
	assert_int_equal(sg_exporter_publish(ex, "/one-too-many", "text/plain", "x", 1, 1, 200),
			 -ENOSPC);
	assert_int_equal(sg_exporter_publish(ex, "/doc5", "text/plain", "y", 1, 1, 200), 0);
	assert_error(ex, "GET /one-too-many HTTP/1.0\r\n\r\n", 404, "not found\n");
}

static void test_address_in_use(void **state)
{
	struct sg_exporter *ex = *state, *second = (void *)1;
	char err[128], want[128];

	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use",
		 sg_exporter_port(ex));
	assert_int_equal(start_at("127.0.0.1", sg_exporter_port(ex), &second, err, sizeof(err)),
			 -EADDRINUSE);
	assert_string_equal(err, want);
	assert_null(second);
}

static void test_bad_address(void **state)
{
	struct sg_exporter *ex = (void *)1;
	char err[128];

	assert_int_equal(start_at("localhost", 9025, &ex, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "cannot listen on localhost:9025: not a numeric IPv4 or IPv6 address");
	assert_null(ex);
	assert_int_equal(start_at("192.0.2.1", 9025, &ex, err, sizeof(err)), -EADDRNOTAVAIL);
	assert_string_equal(err,
			    "cannot listen on 192.0.2.1:9025: Cannot assign requested address");
	assert_int_equal(start_at("2001:db8::1", 9025, &ex, err, sizeof(err)), -EADDRNOTAVAIL);
	assert_string_equal(err,
			    "cannot listen on [2001:db8::1]:9025: Cannot assign requested address");
}

static void test_ipv6(void **state)
{
	struct sg_exporter *ex;
	char err[128];

	assert_int_equal(start_at("::1", 0, &ex, err, sizeof(err)), 0);
	assert_int_not_equal(sg_exporter_port(ex), 0);
	sg_exporter_stop(ex);
}

/* Stopping closes the listening socket: the same port binds again at once. */
static void test_restart(void **state)
{
	struct sg_exporter *ex = *state;
	__u16 port = sg_exporter_port(ex);
	struct client c;
	struct reply r;
	char err[128];

	exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	reply_free(&c, &r);
	sg_exporter_stop(ex);
	*state = NULL;
	assert_int_equal(start_at("127.0.0.1", port, &ex, err, sizeof(err)), 0);
	*state = ex;
	assert_int_equal(sg_exporter_port(ex), port);
	assert_error(ex, "GET /metrics HTTP/1.0\r\n\r\n", 404, "not found\n");
}

/* --- the control socket, the per-client limit, oversized requests, basic auth --- */

static char ctl_dir[] = "/tmp/sg-exporter-XXXXXX";
static char ctl_path[sizeof(ctl_dir) + 16];

static unsigned int explain(void *ctx, const char *arg, char **body, size_t *len)
{
	*body = strdup(arg ? "{\"principal\":\"given\"}" : "{}");
	*len = strlen(*body);
	return 200;
}

/* TCP and the control socket, with the web config w if given: the daemon's set of documents. */
static int start_full(struct sg_exporter **ex, const struct sg_webconfig *w)
{
	struct sg_exporter_opts o = { .host = "127.0.0.1", .control = ctl_path, .web = w };
	char err[256];

	assert_non_null(mkdtemp(ctl_dir));
	/* Traversable by all, so that only the socket's own mode keeps others out. */
	assert_int_equal(chmod(ctl_dir, 0755), 0);
	snprintf(ctl_path, sizeof(ctl_path), "%s/control.sock", ctl_dir);
	if (sg_exporter_start(&o, ex, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(sg_exporter_publish(*ex, "/metrics", METRICS_TYPE, metrics,
					     strlen(metrics), 1, 200),
			 0);
	assert_int_equal(
		sg_exporter_publish(*ex, "/senders", "application/json", "{}\n", 3, 0, 200), 0);
	assert_int_equal(sg_exporter_query(*ex, "/explain", explain, NULL), 0);
	return 0;
}

static int setup_full(void **state)
{
	struct sg_exporter *ex;

	start_full(&ex, NULL);
	*state = ex;
	return 0;
}

static int teardown_full(void **state)
{
	sg_exporter_stop(*state);
	/* Stopping removed the socket: the directory is empty again. */
	assert_int_equal(rmdir(ctl_dir), 0);
	strcpy(ctl_dir + strlen(ctl_dir) - 6, "XXXXXX");
	return 0;
}

static void control_exchange(struct sg_exporter *ex, const char *req, struct client *c,
			     struct reply *r)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	strcpy(a.sun_path, ctl_path);
	client_open_at(c, (struct sockaddr *)&a, sizeof(a), req, 0);
	pump(ex, c, SIZE_MAX);
	parse_reply(c, r);
}

/* Runs the exporter until the child exits; its exit status. */
static int serve_child(struct sg_exporter *ex, pid_t pid)
{
	time_t deadline = now_s() + DEADLINE_S;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_s() > deadline) {
			kill(pid, SIGKILL);
			fail_msg("the child did not finish within %d s", DEADLINE_S);
		}
		assert_int_equal(sg_exporter_run(ex), 0);
		usleep(1000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The HTTP status (modulo 256) of req sent to the exporter by UID 65534, from a child. */
static int status_as_nobody(struct sg_exporter *ex, const char *req)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(sg_exporter_port(ex)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		char buf[64] = "";
		int fd, status = 0;

		/* A socket is its creator's: made after the change of UID. */
		if (setgid(65534) || setuid(65534))
			_exit(1);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
			_exit(4);
		if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
			_exit(5);
		if (read(fd, buf, sizeof(buf) - 1) <= 0 ||
		    sscanf(buf, "HTTP/1.1 %d ", &status) != 1)
			_exit(6);
		_exit(status % 256);
	}
	return serve_child(ex, pid);
}

/* The details on the control socket only, and only for root. */
static void test_control_socket(void **state)
{
	struct sg_exporter *ex = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct client c;
	struct reply r;
	struct stat st;
	pid_t pid;

	assert_error(ex, "GET /senders HTTP/1.0\r\n\r\n", 404, "not found\n");
	assert_error(ex, "GET /explain?principal=1 HTTP/1.0\r\n\r\n", 404, "not found\n");
	control_exchange(ex, "GET /senders HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, "application/json", "{}\n", 3);
	reply_free(&c, &r);
	control_exchange(ex, "GET /explain?principal=1 HTTP/1.0\r\n\r\n", &c, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "{\"principal\":\"given\"}", r.body_len);
	reply_free(&c, &r);
	control_exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);

	assert_int_equal(lstat(ctl_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	/* Anyone else: refused by the socket's mode. */
	strcpy(a.sun_path, ctl_path);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1 && errno == EACCES ? 0
											     : 1);
	}
	assert_int_equal(serve_child(ex, pid), 0);
}

/* Runs the exporter until fd is closed by it; what it said before (nothing: 0). */
static size_t until_closed(struct sg_exporter *ex, int fd)
{
	time_t deadline = now_s() + DEADLINE_S;
	size_t got = 0;
	char buf[4096];
	ssize_t n;

	for (;;) {
		if (now_s() > deadline)
			fail_msg("the connection was not closed within %d s", DEADLINE_S);
		assert_int_equal(sg_exporter_run(ex), 0);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return got;
		if (n > 0)
			got += (size_t)n;
		else
			usleep(1000);
	}
}

/*
 * One local user's slow connections fill its own share, not the exporter: every client
 * on 127.0.0.1 is told apart by the UID owning its socket.
 */
static void test_per_client_limit(void **state)
{
	struct sg_exporter *ex = *state;
	struct client slow[SG_EXPORTER_PER_CLIENT], c;
	struct reply r;
	size_t i;

	for (i = 0; i < SG_EXPORTER_PER_CLIENT; i++) {
		client_open(&slow[i], ex, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a", 0);
		assert_int_equal(sg_exporter_run(ex), 0);
	}
	/* The same UID once more: closed unanswered. */
	client_open(&c, ex, "GET /metrics HTTP/1.0\r\n\r\n", 0);
	assert_int_equal(until_closed(ex, c.fd), 0);
	client_close(&c);
	assert_int_equal(sg_exporter_refused(ex), 1);
	/* Another UID on the same address is served. */
	assert_int_equal(status_as_nobody(ex, "GET /metrics HTTP/1.0\r\n\r\n"), 200);
	/* One slot given back: the first UID is served again. */
	client_close(&slow[0]);
	assert_int_equal(sg_exporter_run(ex), 0);
	exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);
	for (i = 1; i < SG_EXPORTER_PER_CLIENT; i++)
		client_close(&slow[i]);
}

/* Headers past the limit are answered 431 at once, not left to time out. */
static void test_oversized(void **state)
{
	size_t big = 40 * 1024;
	char *req = malloc(big + 64);
	struct client c;
	struct reply r;

	size_t at;

	strcpy(req, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	at = strlen(req);
	memset(req + at, 'a', big);
	strcpy(req + at + big, "\r\n\r\n");
	exchange(*state, req, &c, &r);
	assert_int_equal(r.status, 431);
	reply_free(&c, &r);
	free(req);
}

/* Basic auth on TCP from the web config's bcrypt hashes; the control socket needs none. */
static void test_basic_auth(void **state)
{
	struct sg_webconfig *w = calloc(1, sizeof(*w));
	struct crypt_data *data = calloc(1, sizeof(*data));
	struct sg_exporter *ex;
	struct client c;
	struct reply r;
	char salt[64];
	int i;

	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	strcpy(w->users[0].name, "prometheus");
	strcpy(w->users[0].hash, crypt_r("s3cret", salt, data));
	w->n_users = 1;
	start_full(&ex, w);
	free(w);
	free(data);
	assert_error(ex, "GET /metrics HTTP/1.0\r\n\r\n", 401, "unauthorized\n");
	exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_string_equal(field(&r, "WWW-Authenticate"), "Basic realm=\"smtpguard\"");
	reply_free(&c, &r);
	/*
	 * prometheus:s3cre from root: refused, and root barred from checks for a while, so
	 * prometheus:s3cret from root is not checked (429, Retry-After: 1), nor nobody:s3cret
	 * (an unknown user is answered as a known one). Another UID has its own share: let in,
	 * and the value it was let in with is kept, so root's same value matches it, unchecked.
	 */
	assert_error(
		ex,
		"GET /metrics HTTP/1.0\r\nAuthorization: Basic cHJvbWV0aGV1czpzM2NyZQ==\r\n\r\n",
		401, "unauthorized\n");
	exchange(ex,
		 "GET /metrics HTTP/1.0\r\nAuthorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n\r\n",
		 &c, &r);
	assert_int_equal(r.status, 429);
	assert_string_equal(field(&r, "Retry-After"), "1");
	reply_free(&c, &r);
	exchange(ex, "GET /metrics HTTP/1.0\r\nAuthorization: Basic bm9ib2R5OnMzY3JldA==\r\n\r\n",
		 &c, &r);
	assert_int_equal(r.status, 429);
	reply_free(&c, &r);
	assert_int_equal(sg_exporter_refused(ex), 2);
	assert_int_equal(status_as_nobody(ex,
					  "GET /metrics HTTP/1.0\r\n"
					  "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n\r\n"),
			 200);
	for (i = 0; i < 2; i++) {
		exchange(ex,
			 "GET /metrics HTTP/1.0\r\n"
			 "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n\r\n",
			 &c, &r);
		assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
		reply_free(&c, &r);
	}
	/* Authenticated or not, the details stay off TCP. */
	assert_error(ex,
		     "GET /senders HTTP/1.0\r\n"
		     "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n\r\n",
		     404, "not found\n");
	control_exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, METRICS_TYPE, metrics, strlen(metrics));
	reply_free(&c, &r);
	*state = ex;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_republish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_during_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_in_use, setup, teardown),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_socket, setup_full, teardown_full),
		cmocka_unit_test_setup_teardown(test_per_client_limit, setup_full, teardown_full),
		cmocka_unit_test_setup_teardown(test_oversized, setup_full, teardown_full),
		cmocka_unit_test_teardown(test_basic_auth, teardown_full),
	};

	/* A backstop: every wait in the tests is bounded already. */
	alarm(60);
	return cmocka_run_group_tests_name("exporter", tests, NULL, NULL);
}
