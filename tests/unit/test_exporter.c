// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter over real HTTP on 127.0.0.1, driven the way the daemon drives it: its fd in
 * an epoll set, sg_exporter_run when the fd is readable or the loop's tick comes round.
 */
#include <arpa/inet.h>
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
#include <sys/socket.h>
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

static int setup(void **state)
{
	struct sg_exporter *ex;
	char err[128];

	assert_int_equal(sg_exporter_start("127.0.0.1", 0, &ex, err, sizeof(err)), 0);
	assert_int_not_equal(sg_exporter_port(ex), 0);
	assert_int_equal(
		sg_exporter_publish(ex, "/metrics", METRICS_TYPE, metrics, strlen(metrics)), 0);
	assert_int_equal(
		sg_exporter_publish(ex, "/healthz", "text/plain; charset=utf-8", "ok\n", 3), 0);
	*state = ex;
	return 0;
}

static int teardown(void **state)
{
	sg_exporter_stop(*state);
	return 0;
}

/* Connects to the exporter and sends req whole; the reply is read by pump(). */
static void client_open(struct client *c, struct sg_exporter *ex, const char *req, int rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(sg_exporter_port(ex)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	size_t len = strlen(req);

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
				 0);
	/* Completes from the listen backlog, before the exporter accepts. */
	assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(c->fd, req, len), (ssize_t)len);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
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
	struct epoll_event ev = {.events = EPOLLIN}, evs[2];
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
	z_stream zs = {0};
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
		{"Accept-Encoding: gzip;q=0\r\n", 0},
		{"Accept-Encoding: gzip; q=0.000\r\n", 0},
		{"Accept-Encoding: GZIP;Q=0.5\r\n", 1},
		{"Accept-Encoding: br, deflate;q=0.9, gzip;q=0.8\r\n", 1},
		{"Accept-Encoding: x-gzip\r\n", 1},
		{"Accept-Encoding: gzipx, deflate\r\n", 0},
		{"Accept-Encoding: identity\r\n", 0},
		{"Accept-Encoding: \r\n", 0},
		{"Accept-Encoding: *\r\n", 1},
		{"Accept-Encoding: *;q=0\r\n", 0},
		{"Accept-Encoding: gzip;q=0, *\r\n", 0},
		{"Accept-Encoding: *;q=0, gzip\r\n", 1},
		{"Accept-Encoding: br\r\naccept-encoding: gzip\r\n", 1},
		{"", 0},
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
	assert_int_equal(sg_exporter_publish(ex, "/metrics", "text/plain", next, strlen(next)), 0);
	exchange(ex, "GET /metrics HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n", &c, &r);
	assert_gzip(&r, "text/plain", next, strlen(next));
	reply_free(&c, &r);
	exchange(ex, "GET /metrics HTTP/1.0\r\n\r\n", &c, &r);
	assert_plain(&r, "text/plain", next, strlen(next));
	reply_free(&c, &r);

	assert_int_equal(sg_exporter_publish(ex, "/metrics", "text/plain", "", 0), 0);
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
	assert_int_equal(sg_exporter_publish(ex, "/metrics", METRICS_TYPE, big, len), 0);

	client_open(&c, ex, "GET /metrics HTTP/1.0\r\n\r\n", 4096);
	pump(ex, &c, 1);
	assert_int_equal(
		sg_exporter_publish(ex, "/metrics", METRICS_TYPE, metrics, strlen(metrics)), 0);
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
		assert_int_equal(sg_exporter_publish(ex, path, "text/plain", "x", 1), 0);
	}
	assert_int_equal(sg_exporter_publish(ex, "/one-too-many", "text/plain", "x", 1), -ENOSPC);
	assert_int_equal(sg_exporter_publish(ex, "/doc5", "text/plain", "y", 1), 0);
	assert_error(ex, "GET /one-too-many HTTP/1.0\r\n\r\n", 404, "not found\n");
}

static void test_address_in_use(void **state)
{
	struct sg_exporter *ex = *state, *second = (void *)1;
	char err[128], want[128];

	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use",
		 sg_exporter_port(ex));
	assert_int_equal(
		sg_exporter_start("127.0.0.1", sg_exporter_port(ex), &second, err, sizeof(err)),
		-EADDRINUSE);
	assert_string_equal(err, want);
	assert_null(second);
}

static void test_bad_address(void **state)
{
	struct sg_exporter *ex = (void *)1;
	char err[128];

	assert_int_equal(sg_exporter_start("localhost", 9025, &ex, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "cannot listen on localhost:9025: not a numeric IPv4 or IPv6 address");
	assert_null(ex);
	assert_int_equal(sg_exporter_start("192.0.2.1", 9025, &ex, err, sizeof(err)),
			 -EADDRNOTAVAIL);
	assert_string_equal(err,
			    "cannot listen on 192.0.2.1:9025: Cannot assign requested address");
	assert_int_equal(sg_exporter_start("2001:db8::1", 9025, &ex, err, sizeof(err)),
			 -EADDRNOTAVAIL);
	assert_string_equal(err,
			    "cannot listen on [2001:db8::1]:9025: Cannot assign requested address");
}

static void test_ipv6(void **state)
{
	struct sg_exporter *ex;
	char err[128];

	assert_int_equal(sg_exporter_start("::1", 0, &ex, err, sizeof(err)), 0);
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
	assert_int_equal(sg_exporter_start("127.0.0.1", port, &ex, err, sizeof(err)), 0);
	*state = ex;
	assert_int_equal(sg_exporter_port(ex), port);
	assert_error(ex, "GET /metrics HTTP/1.0\r\n\r\n", 404, "not found\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
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
	};

	/* A backstop: every wait in the tests is bounded already. */
	alarm(60);
	return cmocka_run_group_tests_name("exporter", tests, NULL, NULL);
}
