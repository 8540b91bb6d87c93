// SPDX-License-Identifier: GPL-2.0
/*
 * Attribution: accounts from panel files (fixtures), processes from a
 * made-up /proc tree and from the real one, the PHP-FPM status client
 * against fake pools speaking FastCGI (with status pages captured from
 * PHP-FPM 8.2), the JSON and log line of a sender, and the recent-senders
 * table. Only unix sockets and loopback are used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "host/attrib.h"
#include "host/recent.h"
#include "host/fpm.h"
#include "util/procs.h"

/* A UID with no passwd entry anywhere. */
#define NO_PASSWD_UID 4000000000U
/* The busy worker of the captured status pages, and the one that served the page. */
#define BUSY_PID    12459
#define STATUS_PID  12460
#define BUSY_SCRIPT "/home/bob/public_html/slow.php"

static char fixtures[1024];	/* tests/unit/fixtures/attrib, next to this file */
static char tmp[64];		/* this run's scratch directory */
static char self_cmdline[1024]; /* how this test was started, as attrib joins it */

static const char *path_in(char *buf, const char *dir, const char *rel)
{
	if (!rel)
		return NULL;
	assert_in_range(snprintf(buf, PATH_MAX, "%s/%s", dir, rel), 0, PATH_MAX - 1);
	return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
	char *buf = NULL;
	FILE *f = fopen(path, "r");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

/* --- accounts ---------------------------------------------------------------- */

/* The account of uid per the panel files given relative to the fixtures (NULL: none). */
static void account(const char *userdomains, const char *owners, const char *domainowners,
		    __u32 uid, struct sg_sender_info *s)
{
	char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	struct sg_attrib_cfg cfg = {
		.proc = "/proc",
		.cpanel_userdomains = path_in(p1, fixtures, userdomains),
		.cpanel_trueuserowners = path_in(p2, fixtures, owners),
		.directadmin_domainowners = path_in(p3, fixtures, domainowners),
	};

	memset(s, 0x55, sizeof(*s));
	sg_attrib_account(&cfg, uid, s);
	assert_int_equal(s->uid, uid);
}

#define assert_account(s, user_, account_, owner_, panel_, domains_)                               \
	do {                                                                                       \
		assert_string_equal((s)->user, user_);                                             \
		assert_string_equal((s)->account, account_);                                       \
		assert_string_equal((s)->owner, owner_);                                           \
		assert_string_equal((s)->panel, panel_);                                           \
		assert_string_equal((s)->domains, domains_);                                       \
	} while (0)

static void test_account_cpanel(void **state)
{
	struct sg_sender_info s;

	account("cpanel/userdomains", "cpanel/trueuserowners", "directadmin/domainowners", 0, &s);
	assert_account(&s, "root", "root", "res1", "cpanel",
		       "alpha.example example.org www.example.org");
	/* An account with no domain left is still cPanel's, with its reseller. */
	account("other/userdomains", "cpanel/trueuserowners", NULL, 0, &s);
	assert_account(&s, "root", "root", "res1", "cpanel", "");
}

static void test_account_directadmin(void **state)
{
	struct sg_sender_info s;

	account(NULL, NULL, "directadmin/domainowners", 0, &s);
	assert_account(&s, "root", "root", "", "directadmin", "beta.example zeta.example");
	account("other/userdomains", "other/trueuserowners", "directadmin/domainowners", 0, &s);
	assert_account(&s, "root", "root", "", "directadmin", "beta.example zeta.example");
}

static void test_account_plain(void **state)
{
	struct sg_sender_info s;

	/* Panel files that do not name the user. */
	account("other/userdomains", "other/trueuserowners", "other/domainowners", 0, &s);
	assert_account(&s, "root", "root", "", "", "");
	/* No panel at all: files missing, or not configured. */
	account("missing/userdomains", "missing/trueuserowners", "missing/domainowners", 0, &s);
	assert_account(&s, "root", "root", "", "", "");
	account(NULL, NULL, NULL, 0, &s);
	assert_account(&s, "root", "root", "", "", "");
}

static void test_account_no_passwd(void **state)
{
	struct sg_sender_info s;

	account("cpanel/userdomains", "cpanel/trueuserowners", "directadmin/domainowners",
		NO_PASSWD_UID, &s);
	assert_account(&s, "", "", "", "", "");
}

/* Comments, blank lines, CRLF, "*: nobody", no colon, empty or spaced fields, too long. */
static void test_account_messy(void **state)
{
	struct sg_sender_info s;

	account("messy/userdomains", "messy/trueuserowners", NULL, 0, &s);
	assert_account(&s, "root", "root", "", "cpanel",
		       "dup.example good.example last.example padded.example tab.example");
}

/* Thousands of lines; the user's 200 domains come sorted and cut at a whole domain. */
static void test_account_many_domains(void **state)
{
	char path[PATH_MAX], want[sizeof(((struct sg_sender_info *)0)->domains)] = "";
	struct sg_attrib_cfg cfg = { .cpanel_userdomains = path };
	struct sg_sender_info s;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/userdomains-many", tmp);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 4999; i >= 0; i--) {
		fprintf(f, "site%d.example.net: user%d\n", i, i % 97);
		if (i < 200)
			fprintf(f, "d%03d.example: root\n", (i * 7) % 200);
	}
	assert_int_equal(fclose(f), 0);

	sg_attrib_account(&cfg, 0, &s);
	/* "dNNN.example" is 12 characters: 39 of them and " ..." are 510. */
	for (i = 0; i < 39; i++)
		sprintf(want + strlen(want), "%sd%03d.example", i ? " " : "", i);
	strcat(want, " ...");
	assert_string_equal(s.panel, "cpanel");
	assert_string_equal(s.domains, want);
	unlink(path);
}

/* The cache follows the file: new size, new mtime, new inode, gone. */
static void test_account_reread(void **state)
{
	char path[PATH_MAX], next[PATH_MAX];
	struct sg_attrib_cfg cfg = { .cpanel_userdomains = path };
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = 1000000000 } };
	struct sg_sender_info s;
	struct stat st;

	snprintf(path, sizeof(path), "%s/userdomains-changing", tmp);
	snprintf(next, sizeof(next), "%s/userdomains-next", tmp);
	write_file(path, "one.example: root\n", 19);
	sg_attrib_account(&cfg, 0, &s);
	assert_string_equal(s.domains, "one.example");

	write_file(path, "two.example: root\nthree.example: root\n", 38);
	sg_attrib_account(&cfg, 0, &s);
	assert_string_equal(s.domains, "three.example two.example");

	/* Same size, same inode: the mtime tells. */
	write_file(path, "six.example: root\nfour.example: root\n", 37);
	write_file(path, "ten.example: root\nfive.example: root\n", 37);
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	sg_attrib_account(&cfg, 0, &s);
	assert_string_equal(s.domains, "five.example ten.example");

	/* Same size and mtime, another file renamed over it. */
	write_file(next, "ten.example: root\nnine.example: root\n", 37);
	assert_int_equal(utimensat(AT_FDCWD, next, times, 0), 0);
	assert_int_equal(rename(next, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	sg_attrib_account(&cfg, 0, &s);
	assert_string_equal(s.domains, "nine.example ten.example");

	unlink(path);
	sg_attrib_account(&cfg, 0, &s);
	assert_account(&s, "root", "root", "", "", "");
}

/* --- a fake PHP-FPM pool ------------------------------------------------------ */

struct blob {
	unsigned char *p;
	size_t len;
};

static void blob_add(struct blob *b, const void *data, size_t len)
{
	b->p = realloc(b->p, b->len + len);
	assert_non_null(b->p);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void blob_record(struct blob *b, int type, int id, const void *content, size_t len, int pad)
{
	unsigned char h[8] = { 1, type, id >> 8, id, len >> 8, len, pad, 0 };
	static const unsigned char zeros[255];

	blob_add(b, h, sizeof(h));
	blob_add(b, content, len);
	blob_add(b, zeros, pad);
}

static void blob_end(struct blob *b, int protocol_status)
{
	unsigned char end[8] = { 0, 0, 0, 0, protocol_status };

	blob_record(b, 3, 1, end, sizeof(end), 0);
}

/*
 * A response as PHP-FPM may send it: stderr noise, a management record,
 * stdout in records of chunk bytes with padding, the end of the request.
 */
static struct blob response(const char *text, size_t len, size_t chunk)
{
	static const unsigned char unknown_type[8] = { 99 };
	struct blob b = { 0 };
	size_t off, n;

	blob_record(&b, 7, 1, "PHP Warning: noise", 18, 6);
	blob_record(&b, 11, 0, unknown_type, sizeof(unknown_type), 0);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		blob_record(&b, 6, 1, text + off, n, (8 - n % 8) % 8);
	}
	blob_record(&b, 6, 1, NULL, 0, 0);
	blob_end(&b, 0);
	return b;
}

static struct blob fixture_response(const char *name)
{
	char path[PATH_MAX];
	struct blob b;
	size_t len;
	char *text = read_file(path_in(path, fixtures, name), &len);

	b = response(text, len, 100);
	free(text);
	return b;
}

static struct blob text_response(const char *text)
{
	return response(text, strlen(text), 65535);
}

/* What the fake pool expects to be asked for. */
static const char *want_status_path = "/status";

static int read_full(int fd, unsigned char *p, size_t len)
{
	ssize_t n;

	for (; len; p += n, len -= n) {
		n = read(fd, p, len);
		if (n <= 0)
			return -1;
	}
	return 0;
}

static size_t nv_len(const unsigned char **p, const unsigned char *end)
{
	size_t n;

	if (*p >= end)
		return SIZE_MAX;
	if (!(**p & 0x80))
		return *(*p)++;
	if (end - *p < 4)
		return SIZE_MAX;
	n = ((size_t)((*p)[0] & 0x7f) << 24) | (*p)[1] << 16 | (*p)[2] << 8 | (*p)[3];
	*p += 4;
	return n;
}

/* Exactly the four parameters of a status request. */
static int check_params(const unsigned char *p, size_t len)
{
	const char *want[][2] = {
		{ "SCRIPT_NAME", want_status_path },
		{ "SCRIPT_FILENAME", want_status_path },
		{ "REQUEST_METHOD", "GET" },
		{ "QUERY_STRING", "full&json" },
	};
	const unsigned char *end = p + len;
	size_t nlen, vlen, i, found = 0;

	while (p < end) {
		nlen = nv_len(&p, end);
		vlen = nv_len(&p, end);
		if (nlen == SIZE_MAX || vlen == SIZE_MAX || nlen + vlen > (size_t)(end - p))
			return -1;
		for (i = 0; i < 4; i++)
			if (strlen(want[i][0]) == nlen && !memcmp(p, want[i][0], nlen) &&
			    strlen(want[i][1]) == vlen && !memcmp(p + nlen, want[i][1], vlen))
				break;
		if (i == 4)
			return -1;
		found++;
		p += nlen + vlen;
	}
	return found == 4 ? 0 : -1;
}

/* A FastCGI request: BEGIN_REQUEST as responder, PARAMS, their end, then an empty STDIN. */
static int check_request(int fd)
{
	unsigned char h[8], c[65535 + 255], params[65536];
	size_t plen = 0, n;
	int begun = 0, params_done = 0;

	for (;;) {
		if (read_full(fd, h, sizeof(h)))
			return 1;
		n = h[4] << 8 | h[5];
		if (read_full(fd, c, n + h[6]))
			return 2;
		if (h[0] != 1 || (h[2] << 8 | h[3]) != 1)
			return 3;
		if (h[1] == 1 && !begun && n == 8 && c[0] == 0 && c[1] == 1 && c[2] == 0)
			begun = 1;
		else if (h[1] == 4 && begun && !params_done && n && plen + n <= sizeof(params))
			memcpy(params + plen, c, n), plen += n;
		else if (h[1] == 4 && begun && !n)
			params_done = 1;
		else if (h[1] == 5 && params_done && !n)
			break;
		else
			return 4;
	}
	return check_params(params, plen) ? 5 : 0;
}

/* A made-up /proc/PID that the next fake pool removes before it answers: its worker reaped. */
static char reap_first[PATH_MAX + 16];

/*
 * A pool on lfd that serves one request: checks it, sends reply (NULL:
 * never answers) and exits 0 if the request was right.
 */
static pid_t fake_pool(int lfd, const struct blob *reply)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	size_t off;
	ssize_t n;
	pid_t pid = fork();
	int fd, bad;

	assert_true(pid >= 0);
	if (pid)
		return pid;
	alarm(10);
	if (poll(&pfd, 1, 5000) != 1)
		_exit(10);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(11);
	bad = check_request(fd);
	if (*reap_first) {
		char cmd[sizeof(reap_first) + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", reap_first);
		if (system(cmd))
			_exit(13);
	}
	if (!reply)
		pause();
	for (off = 0; off < reply->len; off += n) {
		n = send(fd, reply->p + off, reply->len - off, MSG_NOSIGNAL);
		if (n <= 0)
			_exit(12);
	}
	close(fd);
	_exit(bad);
}

/* Its exit status: 0 when it was asked the right thing and answered it all. */
static int pool_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* A connection is waiting on the listening socket: somebody asked this pool. */
static int asked(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* sg_fpm_script on a fresh fake pool answering reply; the pool's verdict in *pool_st. */
static int ask(const struct blob *reply, pid_t pid, char *script, size_t len, int *pool_st)
{
	char sock[PATH_MAX];
	int lfd, err;
	pid_t pool;

	snprintf(sock, sizeof(sock), "%s/pool.sock", tmp);
	lfd = listen_unix(sock);
	pool = fake_pool(lfd, reply);
	err = sg_fpm_script(sock, "/status", pid, script, len, 2000);
	if (!reply)
		kill(pool, SIGKILL);
	*pool_st = pool_status(pool);
	close(lfd);
	unlink(sock);
	return err;
}

/* Asks, expecting the pool to have been asked the right thing. */
static int ask_ok(const struct blob *reply, pid_t pid, char *script, size_t len)
{
	int st, err = ask(reply, pid, script, len, &st);

	assert_int_equal(st, 0);
	return err;
}

/* The status pages PHP-FPM 8.2 gave, for a busy worker and after its request. */
static void test_fpm_captured(void **state)
{
	struct blob busy = fixture_response("fpm/busy.txt");
	struct blob idle = fixture_response("fpm/idle.txt");
	char script[PATH_MAX] = "";

	assert_int_equal(ask_ok(&busy, BUSY_PID, script, sizeof(script)), 0);
	assert_string_equal(script, BUSY_SCRIPT);
	/* The worker serving the status page runs no script of a customer's. */
	assert_int_equal(ask_ok(&busy, STATUS_PID, script, sizeof(script)), -ENOENT);
	assert_int_equal(ask_ok(&busy, 4242, script, sizeof(script)), -ENOENT);
	/* Idle, though the page still shows the script of its last request. */
	assert_int_equal(ask_ok(&idle, BUSY_PID, script, sizeof(script)), -ENOENT);
	/* Room for the script, or nothing. */
	assert_int_equal(ask_ok(&busy, BUSY_PID, script, strlen(BUSY_SCRIPT)), -ENAMETOOLONG);
	free(busy.p);
	free(idle.p);
}

static void test_fpm_request_uri(void **state)
{
	static const char page[] =
		"Content-Type: application/json\n\n"
		"{\"pool\":\"www\",\"processes\":["
		"{\"pid\":10,\"state\":\"Running\",\"request "
		"uri\":\"/index.php?p=1\",\"script\":\"-\"},"
		"{\"pid\":11,\"state\":\"Running\",\"request uri\":\"-\",\"script\":\"\"},"
		"{\"pid\":12,\"state\":\"Reading headers\",\"request "
		"uri\":\"/x\",\"script\":\"/x.php\"},"
		"{\"pid\":13,\"state\":\"Running\",\"request uri\":\"/status-page.php\"}]}";
	struct blob b = text_response(page);
	char script[PATH_MAX] = "";

	/* No script name (a front end that sets none): the URI says what runs. */
	assert_int_equal(ask_ok(&b, 10, script, sizeof(script)), 0);
	assert_string_equal(script, "/index.php?p=1");
	assert_int_equal(ask_ok(&b, 11, script, sizeof(script)), -ENOENT);
	assert_int_equal(ask_ok(&b, 12, script, sizeof(script)), -ENOENT);
	/* Only the status path itself is ours, not what merely starts like it. */
	assert_int_equal(ask_ok(&b, 13, script, sizeof(script)), 0);
	assert_string_equal(script, "/status-page.php");
	free(b.p);
}

static void test_fpm_bad_answers(void **state)
{
	struct blob notfound = fixture_response("fpm/notfound.txt");
	struct blob busy = fixture_response("fpm/busy.txt");
	struct blob not_json = text_response("Content-Type: application/json\r\n\r\n{\"pool\":");
	struct blob no_procs = text_response("Content-Type: application/json\r\n\r\n{\"pool\":1}");
	struct blob no_body = text_response("Content-Type: application/json\r\n");
	struct blob overloaded = { 0 }, bad_version, truncated = { 0 }, huge = { 0 };
	char script[PATH_MAX], *big;
	size_t i;
	int st;

	/* A wrong pm.status_path runs as a script and is not found. */
	assert_int_equal(ask_ok(&notfound, BUSY_PID, script, sizeof(script)), -EPROTO);
	assert_int_equal(ask_ok(&not_json, BUSY_PID, script, sizeof(script)), -EPROTO);
	assert_int_equal(ask_ok(&no_procs, BUSY_PID, script, sizeof(script)), -EPROTO);
	assert_int_equal(ask_ok(&no_body, BUSY_PID, script, sizeof(script)), -EPROTO);

	blob_end(&overloaded, 2);
	assert_int_equal(ask_ok(&overloaded, BUSY_PID, script, sizeof(script)), -EBUSY);

	bad_version = fixture_response("fpm/busy.txt");
	bad_version.p[0] = 2;
	assert_int_equal(ask_ok(&bad_version, BUSY_PID, script, sizeof(script)), -EPROTO);

	/* The peer closing in the middle of a record, or before the end of the request. */
	blob_add(&truncated, busy.p, 40);
	assert_int_equal(ask_ok(&truncated, BUSY_PID, script, sizeof(script)), -EPROTO);
	truncated.len = 0;
	blob_add(&truncated, busy.p, busy.len - 16);
	assert_int_equal(ask_ok(&truncated, BUSY_PID, script, sizeof(script)), -EPROTO);

	/* Past 4 MiB of status page the client stops listening. */
	big = malloc(5 << 20);
	assert_non_null(big);
	for (i = 0; i < 5 << 20; i++)
		big[i] = ' ';
	huge = response(big, 5 << 20, 65535);
	free(big);
	assert_int_equal(ask(&huge, BUSY_PID, script, sizeof(script), &st), -EMSGSIZE);

	free(notfound.p);
	free(busy.p);
	free(not_json.p);
	free(no_procs.p);
	free(no_body.p);
	free(overloaded.p);
	free(bad_version.p);
	free(truncated.p);
	free(huge.p);
}

static void test_fpm_unreachable(void **state)
{
	char script[PATH_MAX], sock[PATH_MAX];
	long long t0;
	int st;

	/* A pool that never answers costs the timeout, no more. */
	t0 = ms_now();
	assert_int_equal(ask(NULL, BUSY_PID, script, sizeof(script), &st), -ETIMEDOUT);
	assert_in_range(ms_now() - t0, 1900, 3000);
	snprintf(sock, sizeof(sock), "%s/nobody.sock", tmp);
	assert_int_equal(sg_fpm_script(sock, "/status", 1, script, sizeof(script), 100),
			 -ECONNREFUSED);
	assert_int_equal(sg_fpm_script("127.0.0.1", "/status", 1, script, sizeof(script), 100),
			 -EINVAL);
	assert_int_equal(sg_fpm_script("localhost:9000", "/status", 1, script, sizeof(script), 100),
			 -EINVAL);
}

static void test_fpm_tcp(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct blob busy = fixture_response("fpm/busy.txt");
	socklen_t slen = sizeof(sin);
	char script[PATH_MAX] = "", addr[32];
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pool;

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	pool = fake_pool(lfd, &busy);
	assert_int_equal(sg_fpm_script(addr, "/status", BUSY_PID, script, sizeof(script), 2000), 0);
	assert_int_equal(pool_status(pool), 0);
	assert_string_equal(script, BUSY_SCRIPT);
	close(lfd);
	free(busy.p);
}

/* A status path of more than 127 bytes: name-value lengths of four bytes. */
static void test_fpm_long_params(void **state)
{
	struct blob busy = fixture_response("fpm/busy.txt");
	char script[PATH_MAX] = "", sock[PATH_MAX], path[300];
	int lfd;
	pid_t pool;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	want_status_path = path;
	snprintf(sock, sizeof(sock), "%s/pool.sock", tmp);
	lfd = listen_unix(sock);
	pool = fake_pool(lfd, &busy);
	assert_int_equal(sg_fpm_script(sock, path, BUSY_PID, script, sizeof(script), 2000), 0);
	assert_int_equal(pool_status(pool), 0);
	assert_string_equal(script, BUSY_SCRIPT);
	want_status_path = "/status";
	close(lfd);
	unlink(sock);
	free(busy.p);
}

/* --- processes ------------------------------------------------------------------ */

/* A /proc/PID of the made-up tree: links and files; NULL leaves one out. */
static void make_proc(const char *proc, int pid, const char *exe, const char *cwd,
		      const char *cmdline, size_t cmdline_len, const char *comm)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/%d", proc, pid);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (exe) {
		snprintf(path, sizeof(path), "%s/exe", dir);
		assert_int_equal(symlink(exe, path), 0);
	}
	if (cwd) {
		snprintf(path, sizeof(path), "%s/cwd", dir);
		assert_int_equal(symlink(cwd, path), 0);
	}
	if (cmdline) {
		snprintf(path, sizeof(path), "%s/cmdline", dir);
		write_file(path, cmdline, cmdline_len);
	}
	if (comm) {
		snprintf(path, sizeof(path), "%s/comm", dir);
		write_file(path, comm, strlen(comm));
	}
}

static void remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#define assert_process(s, exe_, cmdline_, cwd_, script_)                                           \
	do {                                                                                       \
		assert_int_equal((s)->gone, 0);                                                    \
		assert_string_equal((s)->exe, exe_);                                               \
		assert_string_equal((s)->cmdline, cmdline_);                                       \
		assert_string_equal((s)->cwd, cwd_);                                               \
		assert_string_equal((s)->script, script_);                                         \
	} while (0)

#define assert_gone(s)                                                                             \
	do {                                                                                       \
		assert_int_equal((s)->gone, 1);                                                    \
		assert_process_empty(s);                                                           \
	} while (0)

static void assert_process_empty(const struct sg_sender_info *s)
{
	assert_string_equal(s->exe, "");
	assert_string_equal(s->cmdline, "");
	assert_string_equal(s->cwd, "");
	assert_string_equal(s->script, "");
}

static void test_process_fixture(void **state)
{
	static const char cmdline[] = "perl\0/tmp/.x/spam.pl\0--to\0list";
	static const char php[] = "php\0-d\0memory_limit=-1\0wp-content/uploads/x.php\0003";
	static const char inline_code[] = "php\0-r\0mail();";
	static const char shred[] = "shred\0x";
	char proc[PATH_MAX];
	struct sg_attrib_cfg cfg = { .proc = proc };
	struct sg_sender_info s;

	snprintf(proc, sizeof(proc), "%s/proc", tmp);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, 4242, "/usr/bin/perl (deleted)", "/home/bob/public_html", cmdline,
		  sizeof(cmdline), "perl\n");
	make_proc(proc, 4245, "/usr/bin/php8.2", "/home/bob/public_html", php, sizeof(php),
		  "php\n");
	make_proc(proc, 4246, "/usr/bin/php8.2", "/home/bob", inline_code, sizeof(inline_code),
		  "php\n");
	make_proc(proc, 4247, "/usr/bin/shred", "/home/bob", shred, sizeof(shred), "shred\n");
	/* A zombie: the task has exited, neither exe nor cwd is left. */
	make_proc(proc, 4244, NULL, NULL, "", 0, "mailer\n");

	memset(&s, 0x55, sizeof(s));
	sg_attrib_process(&cfg, 4242, &s);
	assert_int_equal(s.tgid, 4242);
	assert_process(&s, "/usr/bin/perl (deleted)", "perl /tmp/.x/spam.pl --to list",
		       "/home/bob/public_html", "/tmp/.x/spam.pl");
	memset(&s, 0x55, sizeof(s));
	sg_attrib_process(&cfg, 4245, &s);
	assert_process(&s, "/usr/bin/php8.2", "php -d memory_limit=-1 wp-content/uploads/x.php 3",
		       "/home/bob/public_html", "/home/bob/public_html/wp-content/uploads/x.php");
	memset(&s, 0x55, sizeof(s));
	sg_attrib_process(&cfg, 4246, &s);
	assert_process(&s, "/usr/bin/php8.2", "php -r mail();", "/home/bob", "");
	memset(&s, 0x55, sizeof(s));
	sg_attrib_process(&cfg, 4247, &s);
	assert_process(&s, "/usr/bin/shred", "shred x", "/home/bob", "");
	memset(&s, 0x55, sizeof(s));
	sg_attrib_process(&cfg, 4243, &s);
	assert_gone(&s);
	memset(&s, 0x55, sizeof(s));
	sg_attrib_process(&cfg, 4244, &s);
	assert_gone(&s);
	remove_tree(proc);
}

static void test_process_self(void **state)
{
	struct sg_attrib_cfg cfg = { .proc = "/proc" };
	char exe[PATH_MAX], cwd[PATH_MAX];
	struct sg_sender_info s;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	sg_attrib_process(&cfg, getpid(), &s);
	assert_process(&s, exe, self_cmdline, cwd, "");
}

/* Real processes that have exited: a zombie, then reaped. */
static void test_process_gone(void **state)
{
	struct sg_attrib_cfg cfg = { .proc = "/proc" };
	struct sg_sender_info s;
	siginfo_t si;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(0);
	assert_int_equal(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
	sg_attrib_process(&cfg, pid, &s);
	assert_gone(&s);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	sg_attrib_process(&cfg, pid, &s);
	assert_gone(&s);
}

/*
 * PHP-FPM workers in the made-up tree, pools at tmp/run/{bob,www}.sock:
 * only www's knows the worker, bob's never answers.
 */
static void test_process_fpm(void **state)
{
	static const char pool_title[] = "php-fpm: pool www\0\0\0\0\0\0";
	static const char plain_title[] = "/usr/sbin/php-fpm8.2\0--nodaemonize";
	static const char master_title[] =
		"php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)";
	char proc[PATH_MAX], run[PATH_MAX], pattern[PATH_MAX], bob[PATH_MAX], www[PATH_MAX];
	char own[PATH_MAX];
	const char *sockets[] = { pattern, "127.0.0.1:1" };
	struct sg_attrib_cfg cfg = {
		.proc = proc,
		.fpm_sockets = sockets,
		.n_fpm = 2,
		.fpm_status_path = "/status",
	};
	struct blob busy = fixture_response("fpm/busy.txt");
	struct sg_sender_info s;
	struct sg_quota quota;
	int bob_fd, www_fd;
	long long t0;
	pid_t pool;

	snprintf(proc, sizeof(proc), "%s/proc", tmp);
	path_in(run, tmp, "run");
	path_in(pattern, run, "*.sock");
	assert_int_equal(mkdir(proc, 0755), 0);
	assert_int_equal(mkdir(run, 0755), 0);
	bob_fd = listen_unix(path_in(bob, run, "bob.sock"));
	www_fd = listen_unix(path_in(www, run, "www.sock"));

	/* The pool named in the title is asked first, and alone when it knows. */
	make_proc(proc, BUSY_PID, "/usr/sbin/php-fpm8.2", "/", pool_title, sizeof(pool_title),
		  "php-fpm8.2\n");
	pool = fake_pool(www_fd, &busy);
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_int_equal(pool_status(pool), 0);
	assert_process(&s, "/usr/sbin/php-fpm8.2", "php-fpm: pool www", "/", BUSY_SCRIPT);
	assert_false(asked(bob_fd));

	/* No pool in the title: glob order, past a pool that does not answer in time. */
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/sbin/php-fpm8.2", "/", plain_title, sizeof(plain_title),
		  "php-fpm8.2\n");
	pool = fake_pool(www_fd, &busy);
	t0 = ms_now();
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_int_equal(pool_status(pool), 0);
	/* bob.sock had its 100 ms; a longer wait would have left www.sock no time. */
	assert_true(ms_now() - t0 >= 100);
	assert_process(&s, "/usr/sbin/php-fpm8.2", "/usr/sbin/php-fpm8.2 --nodaemonize", "/",
		       BUSY_SCRIPT);
	assert_true(asked(bob_fd));
	close(bob_fd);
	bob_fd = listen_unix(bob);

	/* bob.sock timed out: it rests, and the next lookup goes straight to www.sock. */
	pool = fake_pool(www_fd, &busy);
	t0 = ms_now();
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_int_equal(pool_status(pool), 0);
	assert_true(ms_now() - t0 < 100);
	assert_string_equal(s.script, BUSY_SCRIPT);
	assert_false(asked(bob_fd));

	/* The master runs no script: nobody is asked. */
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/sbin/php-fpm8.2", "/", master_title, sizeof(master_title),
		  "php-fpm8.2\n");
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_string_equal(s.script, "");
	assert_false(asked(bob_fd));
	assert_false(asked(www_fd));

	/* Nor for a process that is not PHP-FPM's: PHP's command line names its script. */
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/bin/php8.2", "/", "php\0x.php", 10, "php\n");
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_process(&s, "/usr/bin/php8.2", "php x.php", "/", "/x.php");
	assert_false(asked(bob_fd));
	assert_false(asked(www_fd));

	/*
	 * A title and a comm are anyone's to set: a program retitled as a
	 * worker, or a customer's own binary named php-fpm, asks no pool.
	 */
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/bin/sleep", "/", pool_title, sizeof(pool_title),
		  "php-fpm8.2\n");
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_process(&s, "/usr/bin/sleep", "php-fpm: pool www", "/", "");
	path_in(own, tmp, "php-fpm8.2");
	write_file(own, "#!/bin/sh\n", 10);
	if (!geteuid())
		assert_int_equal(chown(own, 65534, 65534), 0);
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, own, "/", pool_title, sizeof(pool_title), "php-fpm8.2\n");
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_process(&s, own, "php-fpm: pool www", "/", "");
	assert_false(asked(bob_fd));
	assert_false(asked(www_fd));
	unlink(own);

	/* A real worker past the tick's allowance of lookups: nobody is asked, and it is counted.
	 */
	sg_quota_init(&quota, 0, 0);
	cfg.fpm_quota = &quota;
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/sbin/php-fpm8.2", "/", pool_title, sizeof(pool_title),
		  "php-fpm8.2\n");
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_string_equal(s.script, "");
	assert_false(asked(www_fd));
	assert_int_equal(quota.refused, 1);

	/*
	 * The worker reaped while its pool was asked, by pid number: that pid was
	 * free for another process, whose script the pool may have given.
	 */
	cfg.fpm_quota = NULL;
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/sbin/php-fpm8.2", "/", pool_title, sizeof(pool_title),
		  "php-fpm8.2\n");
	snprintf(reap_first, sizeof(reap_first), "%s/%d", proc, BUSY_PID);
	pool = fake_pool(www_fd, &busy);
	sg_attrib_process(&cfg, BUSY_PID, &s);
	reap_first[0] = '\0';
	assert_int_equal(pool_status(pool), 0);
	assert_process(&s, "/usr/sbin/php-fpm8.2", "php-fpm: pool www", "/", "");

	/* The sockets' directory writable by others: what answers there could be anyone's. */
	remove_tree(proc);
	assert_int_equal(mkdir(proc, 0755), 0);
	make_proc(proc, BUSY_PID, "/usr/sbin/php-fpm8.2", "/", pool_title, sizeof(pool_title),
		  "php-fpm8.2\n");
	assert_int_equal(chmod(run, 01777), 0);
	sg_attrib_process(&cfg, BUSY_PID, &s);
	assert_string_equal(s.script, "");
	assert_false(asked(bob_fd));
	assert_false(asked(www_fd));

	close(bob_fd);
	close(www_fd);
	remove_tree(proc);
	remove_tree(run);
	free(busy.p);
}

/* Only a socket where no one but root can have put it. */
static void test_fpm_socket_trusted(void **state)
{
	char top[PATH_MAX], run[PATH_MAX], sock[PATH_MAX], file[PATH_MAX], link[PATH_MAX];
	char vrun[PATH_MAX], via[PATH_MAX];
	int fd;

	path_in(top, tmp, "trust");
	path_in(run, top, "run");
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(mkdir(run, 0755), 0);
	fd = listen_unix(path_in(sock, run, "www.sock"));
	write_file(path_in(file, run, "file"), "x", 1);
	assert_int_equal(symlink(sock, path_in(link, run, "link.sock")), 0);

	assert_true(sg_fpm_socket_trusted(sock));
	assert_false(sg_fpm_socket_trusted(file));	     /* not a socket */
	assert_false(sg_fpm_socket_trusted(link));	     /* a symlink, not followed */
	assert_false(sg_fpm_socket_trusted("run/www.sock")); /* relative */
	/* Its directory: writable by a group, by everyone, sticky or not, or a customer's. */
	assert_int_equal(chmod(run, 0775), 0);
	assert_false(sg_fpm_socket_trusted(sock));
	assert_int_equal(chmod(run, 01777), 0);
	assert_false(sg_fpm_socket_trusted(sock));
	assert_int_equal(chmod(run, 0755), 0);
	assert_int_equal(chown(run, 1234, 0), 0);
	assert_false(sg_fpm_socket_trusted(sock));
	assert_int_equal(chown(run, 0, 0), 0);
	/* Above it: writable by others only if sticky, as /tmp is; a customer's never. */
	assert_int_equal(chmod(top, 0777), 0);
	assert_false(sg_fpm_socket_trusted(sock));
	assert_int_equal(chmod(top, 01777), 0);
	assert_true(sg_fpm_socket_trusted(sock));
	assert_int_equal(chmod(top, 0755), 0);
	assert_int_equal(chown(top, 1234, 0), 0);
	assert_false(sg_fpm_socket_trusted(sock));
	assert_int_equal(chown(top, 0, 0), 0);
	/*
	 * A directory on the way that is root's symlink (Debian's /var/run) leads to the
	 * same socket; a customer's symlink, or one leading to a writable directory, not.
	 */
	assert_int_equal(symlink(run, path_in(vrun, top, "varrun")), 0);
	assert_true(sg_fpm_socket_trusted(path_in(via, vrun, "www.sock")));
	assert_int_equal(lchown(vrun, 1234, 0), 0);
	assert_false(sg_fpm_socket_trusted(via));
	assert_int_equal(lchown(vrun, 0, 0), 0);
	assert_int_equal(chmod(run, 01777), 0);
	assert_false(sg_fpm_socket_trusted(via));

	close(fd);
	remove_tree(top);
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* This very process as the sender of an event. */
static void test_resolve(void **state)
{
	struct sg_event e = {
		.ts_ns = boot_ns(),
		.kind = SG_EV_DENIED,
		.verdict = SG_VERDICT_DENY,
		.pid = getpid() + 1,
		.tgid = getpid(),
		.uid = 0,
		.gid = 0,
		.addr = { 0, 0, htonl(0xffff), htonl(0xcb007105) },
		.port = 587,
		.comm = "test_attrib",
	};
	struct sg_attrib_cfg cfg = { .proc = "/proc" };
	struct sg_sender_info s;
	struct sg_proc_stat st;
	char cwd[PATH_MAX];
	__u64 start_ns;

	memset(&s, 0x55, sizeof(s));
	sg_attrib_resolve(&cfg, &e, &s);
	assert_int_equal(s.ts_ns, e.ts_ns);
	assert_int_equal(s.kind, SG_EV_DENIED);
	assert_int_equal(s.verdict, SG_VERDICT_DENY);
	assert_int_equal(s.pid, getpid() + 1);
	assert_int_equal(s.tgid, getpid());
	assert_int_equal(s.uid, 0);
	assert_memory_equal(s.addr, e.addr, sizeof(e.addr));
	assert_int_equal(s.port, 587);
	assert_string_equal(s.comm, "test_attrib");
	assert_account(&s, "root", "root", "", "", "");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(s.gone, 0);
	assert_string_equal(s.cwd, cwd);
	assert_string_equal(s.cmdline, self_cmdline);

	/*
	 * The hooks' time may lag by SG_HOOK_CLOCK_SLACK_NS: an event that much
	 * before this process's start (in ticks, as /proc gives it) is still its.
	 */
	assert_int_equal(sg_proc_stat(getpid(), &st), 0);
	start_ns = st.start_ticks * (1000000000ULL / sysconf(_SC_CLK_TCK));
	e.ts_ns = start_ns - SG_HOOK_CLOCK_SLACK_NS;
	sg_attrib_resolve(&cfg, &e, &s);
	assert_int_equal(s.gone, 0);
	assert_string_equal(s.cmdline, self_cmdline);

	/* An event from before this process started: its pid was another's then. */
	e.ts_ns = start_ns - SG_HOOK_CLOCK_SLACK_NS - 1;
	sg_attrib_resolve(&cfg, &e, &s);
	assert_gone(&s);
	e.ts_ns = 77;
	sg_attrib_resolve(&cfg, &e, &s);
	assert_gone(&s);
	assert_account(&s, "root", "root", "", "", "");
}

/*
 * A pid the event's caller had, now another customer's process (pid reuse
 * within the start-time check's slack): its real UID is not the event's,
 * so nothing of it is shown as the event's. The same process under the
 * caller's own real UID is named.
 */
static void test_resolve_other_uid(void **state)
{
	const __u32 owner = 2000000011, other = 2000000012;
	struct sg_attrib_cfg cfg = { .proc = "/proc" };
	struct sg_event e = { .kind = SG_EV_NEW_SENDER, .uid = other, .real_uid = other };
	char *pins = getenv("SMTPGUARD_PIN_DIR") ? strdup(getenv("SMTPGUARD_PIN_DIR")) : NULL;
	struct sg_sender_info s;
	pid_t parent = getpid(), pid;
	__u32 ruid = 0;
	int i;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		/*
		 * Gone with the test, should an assertion end it first: the parent-death
		 * signal is set after setresuid(), which clears it.
		 */
		alarm(10);
		if (setresuid(owner, owner, owner) || prctl(PR_SET_PDEATHSIG, SIGKILL) ||
		    getppid() != parent)
			_exit(1);
		pause();
		_exit(0);
	}
	for (i = 0; i < 200 && (sg_proc_ruid(pid, &ruid) || ruid != owner); i++)
		usleep(10000);
	assert_int_equal(ruid, owner);
	/* No sub-UID ranges: the host's own pins, if any, are not this test's. */
	setenv("SMTPGUARD_PIN_DIR", "/nonexistent/smtpguard-test", 1);
	e.tgid = e.pid = pid;
	e.ts_ns = boot_ns();
	sg_attrib_resolve(&cfg, &e, &s);
	assert_gone(&s);

	e.uid = e.real_uid = owner;
	sg_attrib_resolve(&cfg, &e, &s);
	assert_int_equal(s.gone, 0);
	assert_string_equal(s.cmdline, self_cmdline);
	if (pins)
		setenv("SMTPGUARD_PIN_DIR", pins, 1);
	else
		unsetenv("SMTPGUARD_PIN_DIR");
	free(pins);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* --- JSON and log line ---------------------------------------------------------- */

static void sample(struct sg_sender_info *s)
{
	memset(s, 0, sizeof(*s));
	*s = (struct sg_sender_info){
		.ts_ns = 123456789012,
		.kind = SG_EV_NEW_SENDER,
		.verdict = SG_VERDICT_ALLOW,
		.uid = 1001,
		.gid = 1002,
		.pid = 4243,
		.tgid = 4242,
		.addr = { 0, 0, htonl(0xffff), htonl(0xcb007105) },
		.port = 25,
		.comm = "php-fpm8.2",
		.user = "bob",
		.account = "bob",
		.owner = "res1",
		.panel = "cpanel",
		.domains = "example.com www.example.org",
		.exe = "/usr/sbin/php-fpm8.2",
		.cmdline = "php-fpm: pool bob",
		.cwd = "/home/bob/public_html",
		.script = "/home/bob/public_html/x.php",
	};
}

/* Gone, denied, no passwd entry, IPv6, a comm that is not UTF-8. */
static void sample_gone(struct sg_sender_info *s)
{
	memset(s, 0, sizeof(*s));
	s->ts_ns = 5;
	s->kind = SG_EV_DENIED;
	s->verdict = SG_VERDICT_DENY;
	s->uid = s->gid = NO_PASSWD_UID;
	s->pid = s->tgid = 4242;
	inet_pton(AF_INET6, "2001:db8::25", s->addr);
	s->port = 587;
	strcpy(s->comm, "mail\xff");
	s->gone = 1;
}

static char *json_text(json_t *v)
{
	char *s;

	assert_non_null(v);
	s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	assert_non_null(s);
	return s;
}

static void test_json(void **state)
{
	struct sg_sender_info s;
	char *text;

	sample(&s);
	text = json_text(sg_sender_info_json(&s));
	assert_string_equal(
		text, "{\"ts_ns\":123456789012,\"kind\":\"new_sender\",\"verdict\":\"allow\","
		      "\"not_recorded\":null,\"uid\":1001,"
		      "\"gid\":1002,\"pid\":4243,\"tgid\":4242,\"destination\":\"203.0.113.5\","
		      "\"port\":25,\"comm\":\"php-fpm8.2\",\"user\":\"bob\",\"account\":\"bob\","
		      "\"owner\":\"res1\",\"panel\":\"cpanel\","
		      "\"domains\":[\"example.com\",\"www.example.org\"],"
		      "\"process\":{\"gone\":false,\"exe\":\"/usr/sbin/php-fpm8.2\","
		      "\"cmdline\":\"php-fpm: pool bob\",\"cwd\":\"/home/bob/public_html\","
		      "\"script\":\"/home/bob/public_html/x.php\"}}");
	free(text);

	sample_gone(&s);
	text = json_text(sg_sender_info_json(&s));
	assert_string_equal(
		text,
		"{\"ts_ns\":5,\"kind\":\"denied\",\"verdict\":\"deny\",\"not_recorded\":null,"
		"\"uid\":4000000000,"
		"\"gid\":4000000000,\"pid\":4242,\"tgid\":4242,\"destination\":\"2001:db8::25\","
		"\"port\":587,\"comm\":\"mail?\",\"user\":null,\"account\":null,\"owner\":null,"
		"\"panel\":null,\"domains\":[],"
		"\"process\":{\"gone\":true,\"exe\":null,\"cmdline\":null,\"cwd\":null,"
		"\"script\":null}}");
	free(text);

	/* A process the kernel could not record says why. */
	s.kind = SG_EV_NEW_SENDER;
	s.flags = SG_EVENT_UNRECORDED_QUOTA;
	text = json_text(sg_sender_info_json(&s));
	assert_non_null(strstr(text, "\"kind\":\"new_sender\",\"verdict\":\"deny\","
				     "\"not_recorded\":\"process_quota\",\"uid\":4000000000,"));
	free(text);
	s.flags = SG_EVENT_UNRECORDED_FULL;
	text = json_text(sg_sender_info_json(&s));
	assert_non_null(strstr(text, "\"not_recorded\":\"no_room\",\"uid\":4000000000,"));
	free(text);
}

static void test_line(void **state)
{
	static const char full[] =
		"new sender uid 1001 (bob, cpanel account bob of reseller res1, example.com "
		"www.example.org) pid 4242 php-fpm8.2 exe=/usr/sbin/php-fpm8.2 "
		"cmdline=\"php-fpm: pool bob\" script=/home/bob/public_html/x.php "
		"cwd=/home/bob/public_html -> 203.0.113.5:25";
	struct sg_sender_info s;
	char buf[1024];

	sample(&s);
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, full);

	/* Cut anywhere, still a string. */
	memset(buf, 'z', sizeof(buf));
	sg_sender_info_line(&s, buf, 40);
	assert_int_equal(strlen(buf), 39);
	assert_memory_equal(buf, full, 39);
	sg_sender_info_line(&s, buf, 1);
	assert_string_equal(buf, "");

	sample_gone(&s);
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "denied uid 4000000000 (no passwd entry) pid 4242 \"mail\\xff\" "
				 "(process already gone) -> [2001:db8::25]:587");

	/* Values the process chose cannot forge a field or a line. */
	sample(&s);
	strcpy(s.owner, "root");
	strcpy(s.comm, "a\nb");
	strcpy(s.exe, "/tmp/x (deleted)");
	strcpy(s.cmdline, "sh -c \"echo \\1\"");
	s.script[0] = '\0';
	strcpy(s.cwd, "/tmp/\x1b[31m\xc2\x9b");
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(
		buf, "new sender uid 1001 (bob, cpanel account bob, example.com "
		     "www.example.org) pid 4242 \"a\\x0ab\" exe=\"/tmp/x (deleted)\" "
		     "cmdline=\"sh -c \\x22echo \\\\1\\x22\" cwd=\"/tmp/\\x1b[31m\\xc2\\x9b\" "
		     "-> 203.0.113.5:25");

	/* Plain passwd: no panel, no domains. */
	sample(&s);
	s.account[0] = s.owner[0] = s.panel[0] = s.domains[0] = '\0';
	strcpy(s.account, "bob");
	s.exe[0] = s.cmdline[0] = s.script[0] = s.cwd[0] = '\0';
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "new sender uid 1001 (bob) pid 4242 php-fpm8.2 -> 203.0.113.5:25");

	/* A sub-UID's connect is its owner's, and says which of the owner's UIDs it was. */
	s.real_uid = 165536;
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "new sender uid 1001 (bob) as sub-UID 165536 pid 4242 php-fpm8.2 "
				 "-> 203.0.113.5:25");
	s.real_uid = s.uid;
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "new sender uid 1001 (bob) pid 4242 php-fpm8.2 -> 203.0.113.5:25");

	/* A process the kernel could not record: the line says so, and why. */
	s.flags = SG_EVENT_UNRECORDED_QUOTA;
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "new sender uid 1001 (bob) pid 4242 php-fpm8.2 -> 203.0.113.5:25, "
				 "not recorded: over its process quota");
	s.flags = SG_EVENT_UNRECORDED_FULL;
	sg_sender_info_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "new sender uid 1001 (bob) pid 4242 php-fpm8.2 -> 203.0.113.5:25, "
				 "not recorded: no room in sg_senders");
}

/* --- recent senders --------------------------------------------------------------- */

static void sender(struct sg_sender_info *s, __u32 uid, __u32 tgid, const char *comm)
{
	memset(s, 0, sizeof(*s));
	s->kind = SG_EV_NEW_SENDER;
	s->uid = uid;
	s->pid = s->tgid = tgid;
	snprintf(s->comm, sizeof(s->comm), "%s", comm);
	snprintf(s->cwd, sizeof(s->cwd), "/home/u%u", uid);
}

static void add(struct sg_recent *r, __u32 uid, __u32 tgid, const char *comm)
{
	struct sg_sender_info s;

	sender(&s, uid, tgid, comm);
	assert_int_equal(sg_recent_add(r, &s), 0);
}

/* "tgid:comm ..." of uid's entries, newest first. */
static const char *recent_of(struct sg_recent *r, __u32 uid)
{
	static char buf[256];
	struct sg_sender_info got[8];
	size_t n = sg_recent_get(r, uid, got, 8), i;
	char cwd[32];

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		assert_int_equal(got[i].uid, uid);
		snprintf(cwd, sizeof(cwd), "/home/u%u", uid);
		assert_string_equal(got[i].cwd, cwd);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%u:%s", i ? " " : "",
			 got[i].tgid, got[i].comm);
	}
	return buf;
}

static void test_recent_per_uid(void **state)
{
	struct sg_recent *r = sg_recent_new(4, 3);
	struct sg_sender_info got[2];

	assert_non_null(r);
	add(r, 1000, 1, "a");
	add(r, 1000, 2, "b");
	add(r, 1000, 3, "c");
	assert_string_equal(recent_of(r, 1000), "3:c 2:b 1:a");
	/* A fourth process pushes out the oldest. */
	add(r, 1000, 4, "d");
	assert_string_equal(recent_of(r, 1000), "4:d 3:c 2:b");
	/* The same process again: its entry, refreshed and newest; nothing pushed out. */
	add(r, 1000, 2, "b2");
	assert_string_equal(recent_of(r, 1000), "2:b2 4:d 3:c");
	add(r, 1000, 2, "b3");
	assert_string_equal(recent_of(r, 1000), "2:b3 4:d 3:c");
	assert_int_equal(sg_recent_get(r, 1000, got, 2), 2);
	assert_int_equal(got[1].tgid, 4);
	assert_int_equal(sg_recent_get(r, 1001, got, 2), 0);
	sg_recent_free(r);

	assert_null(sg_recent_new(0, 3));
	assert_null(sg_recent_new(3, 0));
}

static void test_recent_lru(void **state)
{
	struct sg_recent *r = sg_recent_new(4, 2);
	__u32 uid;

	assert_non_null(r);
	for (uid = 1; uid <= 4; uid++)
		add(r, uid, 100 + uid, "x");
	/* UID 1 is seen again: UID 2 is now the least recently seen. */
	add(r, 1, 201, "y");
	add(r, 5, 105, "x");
	assert_string_equal(recent_of(r, 2), "");
	assert_string_equal(recent_of(r, 1), "201:y 101:x");
	add(r, 6, 106, "x");
	assert_string_equal(recent_of(r, 3), "");
	assert_string_equal(recent_of(r, 4), "104:x");
	/* A UID that comes back after eviction starts afresh. */
	add(r, 2, 302, "z");
	assert_string_equal(recent_of(r, 2), "302:z");
	assert_string_equal(recent_of(r, 4), "");
	assert_string_equal(recent_of(r, 5), "105:x");
	/* UIDs 2, 3 and 4 gave way. */
	assert_int_equal(sg_recent_evicted(r), 3);
	sg_recent_free(r);
}

static void test_recent_json(void **state)
{
	struct sg_recent *r = sg_recent_new(4, 2);
	struct sg_sender_info s;
	char *text, *one;

	assert_non_null(r);
	text = json_text(sg_recent_json(r, 0, 0));
	assert_string_equal(text, "{}");
	free(text);

	sample(&s);
	assert_int_equal(sg_recent_add(r, &s), 0);
	add(r, 7, 70, "a");
	add(r, 7, 71, "b");
	one = json_text(sg_sender_info_json(&s));
	text = json_text(sg_recent_json(r, 1, 1001));
	assert_int_equal(strlen(text), strlen("{\"1001\":[]}") + strlen(one));
	assert_memory_equal(text, "{\"1001\":[", 9);
	assert_memory_equal(text + 9, one, strlen(one));
	free(text);
	free(one);

	/* The most recently seen UID first, each newest first. */
	text = json_text(sg_recent_json(r, 0, 0));
	assert_memory_equal(text, "{\"7\":[{\"ts_ns\":0,", 17);
	assert_true(strstr(text, "\"tgid\":71") < strstr(text, "\"tgid\":70"));
	assert_true(strstr(text, "\"tgid\":70") < strstr(text, "\"1001\":["));
	free(text);

	text = json_text(sg_recent_json(r, 1, 55));
	assert_string_equal(text, "{\"55\":[]}");
	free(text);
	sg_recent_free(r);
}

/* 10,000 UIDs in, every one found; 10,000 more push out the first. */
static void test_recent_many(void **state)
{
	struct sg_recent *r = sg_recent_new(10000, 2);
	struct sg_sender_info got[2];
	__u32 uid;

	assert_non_null(r);
	for (uid = 0; uid < 10000; uid++)
		add(r, 1000 + uid * 3, uid, "p");
	for (uid = 0; uid < 10000; uid++) {
		assert_int_equal(sg_recent_get(r, 1000 + uid * 3, got, 2), 1);
		assert_int_equal(got[0].tgid, uid);
	}
	assert_int_equal(sg_recent_get(r, 1001, got, 2), 0);
	for (uid = 0; uid < 10000; uid++)
		add(r, 100000 + uid, uid, "q");
	for (uid = 0; uid < 10000; uid++) {
		assert_int_equal(sg_recent_get(r, 1000 + uid * 3, got, 2), 0);
		assert_int_equal(sg_recent_get(r, 100000 + uid, got, 2), 1);
	}
	sg_recent_free(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_cpanel),
		cmocka_unit_test(test_account_directadmin),
		cmocka_unit_test(test_account_plain),
		cmocka_unit_test(test_account_no_passwd),
		cmocka_unit_test(test_account_messy),
		cmocka_unit_test(test_account_many_domains),
		cmocka_unit_test(test_account_reread),
		cmocka_unit_test(test_fpm_captured),
		cmocka_unit_test(test_fpm_request_uri),
		cmocka_unit_test(test_fpm_bad_answers),
		cmocka_unit_test(test_fpm_unreachable),
		cmocka_unit_test(test_fpm_tcp),
		cmocka_unit_test(test_fpm_long_params),
		cmocka_unit_test(test_fpm_socket_trusted),
		cmocka_unit_test(test_process_fixture),
		cmocka_unit_test(test_process_self),
		cmocka_unit_test(test_process_gone),
		cmocka_unit_test(test_process_fpm),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_other_uid),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_recent_per_uid),
		cmocka_unit_test(test_recent_lru),
		cmocka_unit_test(test_recent_json),
		cmocka_unit_test(test_recent_many),
	};
	char src[] = __FILE__;
	int i, rc;

	snprintf(fixtures, sizeof(fixtures), "%s/fixtures/attrib", dirname(src));
	for (i = 0; i < argc; i++)
		snprintf(self_cmdline + strlen(self_cmdline),
			 sizeof(self_cmdline) - strlen(self_cmdline), "%s%s", i ? " " : "",
			 argv[i]);
	snprintf(tmp, sizeof(tmp), "/tmp/sg-attrib.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	remove_tree(tmp);
	return rc;
}
