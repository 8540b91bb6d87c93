// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal FastCGI client (FastCGI 1.0, role RESPONDER, one request per
 * connection) that asks a PHP-FPM pool for its status page with ?full&json.
 * No Debian library has the client side (libfcgi is the application side),
 * and the part needed here is small.
 *
 * The pool is a local daemon, but its answer is still input: every length
 * read from the socket is checked against what was asked for and bounded,
 * and every wait is bounded by what remains of the caller's timeout.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>

#include "host/fpm.h"
#include "kern/maps.h"

#define FCGI_VERSION_1	      1
#define FCGI_BEGIN_REQUEST    1
#define FCGI_END_REQUEST      3
#define FCGI_PARAMS	      4
#define FCGI_STDIN	      5
#define FCGI_STDOUT	      6
#define FCGI_STDERR	      7
#define FCGI_RESPONDER	      1
#define FCGI_REQUEST_COMPLETE 0
#define FCGI_HEADER_LEN	      8
#define FCGI_MAX_CONTENT      65535
#define FCGI_MAX_PADDING      255
/* Any number but 0, which is for management records; one request per connection. */
#define REQUEST_ID 1

/* A status page lists every worker in ~300 bytes: this is room for thousands. */
#define MAX_RESPONSE (4 << 20)

struct fcgi_buf {
	unsigned char *p;
	size_t len, cap;
};

static int buf_put(struct fcgi_buf *b, const void *data, size_t len, size_t limit)
{
	size_t cap;
	void *p;

	if (len > limit - b->len)
		return -EMSGSIZE;
	if (!len)
		return 0;
	if (b->len + len > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static int put_record(struct fcgi_buf *b, int type, const void *content, size_t len)
{
	/* The request id is below 256: its high byte is 0. */
	unsigned char h[FCGI_HEADER_LEN] = { FCGI_VERSION_1, type,     0,
					     REQUEST_ID,     len >> 8, len & 0xff };
	int err;

	if (len > FCGI_MAX_CONTENT)
		return -EMSGSIZE;
	err = buf_put(b, h, sizeof(h), SIZE_MAX);
	return err ? err : buf_put(b, content, len, SIZE_MAX);
}

/* Name-value pair lengths: one byte below 128, else four with the top bit set. */
static size_t put_nv_len(unsigned char *p, size_t len)
{
	if (len < 128) {
		p[0] = len;
		return 1;
	}
	p[0] = 0x80 | (len >> 24);
	p[1] = len >> 16;
	p[2] = len >> 8;
	p[3] = len;
	return 4;
}

static int put_param(struct fcgi_buf *params, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), n;
	unsigned char lens[8];
	int err;

	n = put_nv_len(lens, nlen);
	n += put_nv_len(lens + n, vlen);
	err = buf_put(params, lens, n, FCGI_MAX_CONTENT);
	if (!err)
		err = buf_put(params, name, nlen, FCGI_MAX_CONTENT);
	if (!err)
		err = buf_put(params, value, vlen, FCGI_MAX_CONTENT);
	return err;
}

/* The whole request: begin, the parameters, their end, and an empty stdin. */
static int build_request(struct fcgi_buf *req, const char *status_path)
{
	static const unsigned char begin[8] = { 0, FCGI_RESPONDER, 0 /* close when done */ };
	struct fcgi_buf params = { 0 };
	int err;

	err = put_param(&params, "SCRIPT_NAME", status_path);
	if (!err)
		err = put_param(&params, "SCRIPT_FILENAME", status_path);
	if (!err)
		err = put_param(&params, "REQUEST_METHOD", "GET");
	if (!err)
		err = put_param(&params, "QUERY_STRING", "full&json");
	if (!err)
		err = put_record(req, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	if (!err)
		err = put_record(req, FCGI_PARAMS, params.p, params.len);
	if (!err)
		err = put_record(req, FCGI_PARAMS, NULL, 0);
	if (!err)
		err = put_record(req, FCGI_STDIN, NULL, 0);
	free(params.p);
	return err;
}

/* Waits for events on fd until the deadline (sg_boot_ns): 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, __u64 deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	__u64 now;
	int n;

	for (;;) {
		now = sg_boot_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Rounded up, so that less than a millisecond left is not a busy loop. */
		n = poll(&pfd, 1, (deadline - now + 999999) / 1000000);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int write_all(int fd, const unsigned char *p, size_t len, __u64 deadline)
{
	ssize_t n;
	int err;

	while (len) {
		err = wait_fd(fd, POLLOUT, deadline);
		if (err)
			return err;
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Exactly len bytes; the peer closing before that is a protocol error. */
static int read_all(int fd, unsigned char *p, size_t len, __u64 deadline)
{
	ssize_t n;
	int err;

	while (len) {
		err = wait_fd(fd, POLLIN, deadline);
		if (err)
			return err;
		n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPROTO;
		p += n;
		len -= n;
	}
	return 0;
}

/* "/path" is a unix socket; else "HOST:PORT" or "[HOST6]:PORT", numeric only. */
static int fpm_connect(const char *socket_name, __u64 deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	struct addrinfo *ai = NULL;
	char host[64];
	const char *colon;
	socklen_t alen, elen = sizeof(int);
	size_t hlen;
	int fd, err, soerr;

	if (socket_name[0] == '/') {
		if (strlen(socket_name) >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, socket_name);
		alen = sizeof(*sun);
	} else {
		colon = strrchr(socket_name, ':');
		if (!colon)
			return -EINVAL;
		hlen = colon - socket_name;
		if (hlen >= 2 && socket_name[0] == '[' && socket_name[hlen - 1] == ']') {
			socket_name++;
			hlen -= 2;
		}
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, socket_name, hlen);
		host[hlen] = '\0';
		if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai) {
			freeaddrinfo(ai);
			return -EINVAL;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		alen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, alen) == 0)
		return fd;
	err = -errno;
	/* -ENOENT means "no such worker" to the caller: a missing socket is a missing pool. */
	if (err == -ENOENT)
		err = -ECONNREFUSED;
	if (err == -EINPROGRESS) {
		err = wait_fd(fd, POLLOUT, deadline);
		if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen))
			err = -errno;
		else if (!err)
			err = -soerr;
		if (!err)
			return fd;
	}
	close(fd);
	return err;
}

/*
 * Sends the request and collects FCGI_STDOUT until FCGI_END_REQUEST. Stderr
 * (PHP warnings) is read and dropped; records for other request ids are
 * skipped, as the spec allows a peer to send management records.
 */
static int fpm_exchange(int fd, const char *status_path, struct fcgi_buf *out, __u64 deadline)
{
	unsigned char h[FCGI_HEADER_LEN], body[FCGI_MAX_CONTENT + FCGI_MAX_PADDING];
	struct fcgi_buf req = { 0 };
	size_t clen, plen;
	int err;

	err = build_request(&req, status_path);
	if (!err)
		err = write_all(fd, req.p, req.len, deadline);
	free(req.p);
	if (err)
		return err;

	for (;;) {
		err = read_all(fd, h, sizeof(h), deadline);
		if (err)
			return err;
		if (h[0] != FCGI_VERSION_1)
			return -EPROTO;
		clen = h[4] << 8 | h[5];
		plen = h[6];
		err = read_all(fd, body, clen + plen, deadline);
		if (err)
			return err;
		if ((h[2] << 8 | h[3]) != REQUEST_ID)
			continue;
		switch (h[1]) {
		case FCGI_STDOUT:
			err = buf_put(out, body, clen, MAX_RESPONSE);
			if (err)
				return err;
			break;
		case FCGI_STDERR:
			break;
		case FCGI_END_REQUEST:
			/* appStatus (4 bytes), protocolStatus: overloaded, unknown role... */
			if (clen < 8)
				return -EPROTO;
			return body[4] == FCGI_REQUEST_COMPLETE ? 0 : -EBUSY;
		default:
			return -EPROTO;
		}
	}
}

/*
 * The CGI response: headers, a blank line, the JSON. A "Status:" other
 * than 200 (a wrong pm.status_path is run as a script: "404 Not Found")
 * means this pool cannot answer.
 */
static int parse_response(struct fcgi_buf *out, json_t **status)
{
	char *crlf, *lf, *body, *line, *next, *code = NULL;
	int err;

	err = buf_put(out, "", 1, MAX_RESPONSE + 1);
	if (err)
		return err;
	crlf = strstr((char *)out->p, "\r\n\r\n");
	lf = strstr((char *)out->p, "\n\n");
	if (lf && (!crlf || lf < crlf))
		body = lf + 2;
	else if (crlf)
		body = crlf + 4;
	else
		return -EPROTO;
	body[-1] = '\0';
	for (line = (char *)out->p; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncasecmp(line, "Status:", 7))
			code = line + 7;
	}
	if (code && strtol(code, NULL, 10) != 200)
		return -EPROTO;
	*status = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	return *status ? 0 : -EPROTO;
}

/* A request URI worth showing: not absent, and not a status request like ours. */
static int meaningful_uri(const char *uri, const char *status_path)
{
	size_t n = strlen(status_path);

	if (!uri || !*uri || !strcmp(uri, "-"))
		return 0;
	return strncmp(uri, status_path, n) || (uri[n] && uri[n] != '?');
}

static int find_script(json_t *status, pid_t pid, const char *status_path, char *script, size_t len)
{
	json_t *procs = json_object_get(status, "processes"), *p;
	const char *state, *s, *uri;
	size_t i;

	if (!json_is_array(procs))
		return -EPROTO;
	for (i = 0; i < json_array_size(procs); i++) {
		p = json_array_get(procs, i);
		if (json_integer_value(json_object_get(p, "pid")) != pid)
			continue;
		/* An idle worker still shows its last request's script. */
		state = json_string_value(json_object_get(p, "state"));
		if (!state || strcmp(state, "Running"))
			return -ENOENT;
		s = json_string_value(json_object_get(p, "script"));
		uri = json_string_value(json_object_get(p, "request uri"));
		if (!s || !*s || !strcmp(s, "-")) {
			if (!meaningful_uri(uri, status_path))
				return -ENOENT;
			s = uri;
		}
		if (strlen(s) >= len)
			return -ENAMETOOLONG;
		strcpy(script, s);
		return 0;
	}
	return -ENOENT;
}

int sg_fpm_script(const char *socket, const char *status_path, pid_t pid, char *script, size_t len,
		  int timeout_ms)
{
	__u64 deadline = sg_boot_ns() + (__u64)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
	struct fcgi_buf out = { 0 };
	json_t *status = NULL;
	int fd, err;

	if (!status_path || !*status_path || !len)
		return -EINVAL;
	fd = fpm_connect(socket, deadline);
	if (fd < 0)
		return fd;
	err = fpm_exchange(fd, status_path, &out, deadline);
	close(fd);
	if (!err)
		err = parse_response(&out, &status);
	if (!err) {
		err = find_script(status, pid, status_path, script, len);
		json_decref(status);
	}
	free(out.p);
	return err;
}

/*
 * The directories above the socket at path: root's, writable by root only (the socket's
 * own) or also sticky (those above). With links, a directory on the way may be a symlink
 * of root's (Debian's /var/run), whose own directory is checked next.
 */
static int dirs_trusted(const char *path, int links)
{
	char dir[PATH_MAX], *slash;
	struct stat st;
	int parent = 1;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) || dir[0] != '/')
		return 0;
	do {
		slash = strrchr(dir, '/');
		slash[slash == dir] = '\0';
		/* lstat: a symlink on the way could be a customer's, and is not followed. */
		if (lstat(dir, &st) || st.st_uid)
			return 0;
		if (links && S_ISLNK(st.st_mode)) {
			parent = 0;
			continue;
		}
		if (!S_ISDIR(st.st_mode) ||
		    ((st.st_mode & (S_IWGRP | S_IWOTH)) && (parent || !(st.st_mode & S_ISVTX))))
			return 0;
		parent = 0;
	} while (slash != dir);
	return 1;
}

int sg_fpm_socket_trusted(const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	/* The path as written (its root-owned links allowed), then where it leads. */
	return dirs_trusted(path, 1) && realpath(path, real) && !lstat(real, &st) &&
	       S_ISSOCK(st.st_mode) && dirs_trusted(real, 0) && !lstat(path, &st) &&
	       S_ISSOCK(st.st_mode);
}
