// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: the exporter's request handling, whole, with no network, and
 * its parsers of outside text alone. The input's first byte chooses, by its
 * value modulo 4: 0 and 1, a request; 2, a web config; 3, an Authorization
 * field.
 *
 * A request is a client's bytes, handed to the TCP side's libmicrohttpd through
 * one end of a socketpair (MHD_add_connection), the other end shut for
 * writing, and run until the exporter closes it or a bounded number of
 * runs (libmicrohttpd 0.9.75 keeps a request cut short by the client's
 * EOF until its idle timeout: each input gets an exporter of its own):
 * for 0 without users, for 1 with basic auth (one user, a real bcrypt hash
 * at the lowest cost). Invariants: an answer is an HTTP/1.x status line
 * with a 3-digit code; a detail (/senders, /explain) is never served on
 * TCP; with users, nothing is 200 without the password.
 *
 * A web config (a heap buffer of its exact size) is either refused with a
 * "LINE: " message or accepted with every path absolute, both or neither
 * TLS file, each user named, colon-free and unique, each hash bcrypt's. An
 * Authorization field is either refused or gives a user without ':' and a
 * password that fit.
 */
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "daemon/exporter_impl.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

#define RUNS	  200
#define REPLY_MAX 65536
#define PASS	  "s3cret"

static const char metrics[] = "smtpguard_up 1\n";
static struct sg_webconfig w;
static char reply[REPLY_MAX + 1];

static unsigned int explain(void *ctx, const char *arg, char **body, size_t *len)
{
	*body = strdup("{\"detail\":\"private\"}");
	*len = strlen(*body);
	return 200;
}

static struct sg_exporter *start(const struct sg_webconfig *w)
{
	struct sg_exporter_opts o = { .host = "127.0.0.1", .web = w };
	struct sg_exporter *ex;
	char err[256];

	CHECK(!sg_exporter_start(&o, &ex, err, sizeof(err)));
	CHECK(!sg_exporter_publish(ex, "/metrics", "text/plain", metrics, strlen(metrics), 1, 200));
	CHECK(!sg_exporter_publish(ex, "/healthz", "text/plain", "ok\n", 3, 1, 200));
	CHECK(!sg_exporter_publish(ex, "/senders", "application/json", "{\"p\":1}\n", 8, 0, 200));
	CHECK(!sg_exporter_query(ex, "/explain", explain, NULL));
	return ex;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	char salt[64];

	CHECK(data && crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
	strcpy(w.users[0].name, "prometheus");
	strcpy(w.users[0].hash, crypt_r(PASS, salt, data));
	w.n_users = 1;
	free(data);
	return 0;
}

#define CHECK_STR(field) CHECK(memchr(field, '\0', sizeof(field)))

static struct sg_webconfig parsed;

static void check_config(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), err[256] = "";
	size_t i, j;
	int ret;

	CHECK(buf);
	memcpy(buf, data, size);
	ret = sg_webconfig_parse(buf, size, &parsed, err, sizeof(err));
	free(buf);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENOMEM);
		CHECK(ret == -ENOMEM || (err[0] >= '1' && err[0] <= '9' && strstr(err, ": ")));
		return;
	}
	CHECK_STR(parsed.cert_file);
	CHECK_STR(parsed.key_file);
	CHECK(!*parsed.cert_file == !*parsed.key_file);
	CHECK(!*parsed.cert_file || (parsed.cert_file[0] == '/' && parsed.key_file[0] == '/'));
	CHECK(parsed.n_users <= SG_WEB_USERS);
	for (i = 0; i < parsed.n_users; i++) {
		CHECK_STR(parsed.users[i].name);
		CHECK_STR(parsed.users[i].hash);
		CHECK(*parsed.users[i].name && !strchr(parsed.users[i].name, ':'));
		CHECK(!strncmp(parsed.users[i].hash, "$2", 2));
		for (j = 0; j < i; j++)
			CHECK(strcmp(parsed.users[i].name, parsed.users[j].name));
	}
}

static void check_authorization(const uint8_t *data, size_t size)
{
	char *value = malloc(size + 1), user[SG_WEB_NAME_MAX], pass[SG_WEB_PASS_MAX];

	CHECK(value);
	memcpy(value, data, size);
	value[size] = '\0';
	if (!sg_webauth_parse(value, user, pass)) {
		CHECK(memchr(user, '\0', sizeof(user)) && !strchr(user, ':'));
		CHECK(memchr(pass, '\0', sizeof(pass)));
		CHECK(strcasestr(value, "basic"));
	}
	free(value);
}

/* The exporter's answer to req, NUL-terminated in reply; its length. */
static size_t exchange(struct sg_exporter *ex, const uint8_t *req, size_t len)
{
	struct sockaddr_in peer = { .sin_family = AF_INET,
				    .sin_port = htons(40000),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t got = 0;
	ssize_t n;
	int sv[2], i;

	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
	n = len ? write(sv[0], req, len) : 0;
	CHECK(n == (ssize_t)len);
	shutdown(sv[0], SHUT_WR);
	CHECK(MHD_add_connection(ex->tcp.mhd, sv[1], (struct sockaddr *)&peer, sizeof(peer)) ==
	      MHD_YES);
	for (i = 0; i < RUNS; i++) {
		sg_exporter_run(ex);
		n = read(sv[0], reply + got, REPLY_MAX - got);
		if (n == 0 || got == REPLY_MAX)
			break;
		if (n > 0)
			got += (size_t)n;
	}
	close(sv[0]);
	reply[got] = '\0';
	return got;
}

static void check_request(const uint8_t *data, size_t size, int auth)
{
	struct sg_exporter *ex;
	int status;
	size_t len;

	ex = start(auth ? &w : NULL);
	len = exchange(ex, data + 1, size - 1);
	sg_exporter_stop(ex);
	if (!len)
		return;
	CHECK(sscanf(reply, "HTTP/1.%*1[01] %3d ", &status) == 1);
	CHECK(status >= 100 && status <= 599);
	CHECK(!strstr(reply, "private") && !strstr(reply, "\"p\":1"));
	if (auth && status == 200)
		CHECK(memmem(data, size, "cHJvbWV0aGV1czpzM2NyZX", 22)); /* prometheus:s3cre... */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] % 4 < 2)
		check_request(data, size, data[0] % 4);
	else if (data[0] % 4 == 2)
		check_config(data + 1, size - 1);
	else
		check_authorization(data + 1, size - 1);
	return 0;
}
