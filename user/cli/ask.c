// SPDX-License-Identifier: GPL-2.0
/* Asking the running daemon through its exporter; see ask.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cli/ask.h"
#include "util/curl.h"
#include "util/render.h"

#define DAEMON_TIMEOUT_MS 2000L
#define BODY_MAX	  (1 << 20)

struct body {
	char *buf;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t add = size * n;
	char *p;

	if (b->len + add > BODY_MAX)
		return 0;
	p = realloc(b->buf, b->len + add + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, add);
	b->buf = p;
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

/* The "error" of a JSON answer, printable, or "". */
static const char *answer_error(const struct body *b, char *buf, size_t len)
{
	json_t *v = json_loadb(b->buf ? b->buf : "", b->len, 0, NULL);
	const char *e = json_string_value(json_object_get(v, "error"));

	sg_printable(e ? e : "", buf, len);
	json_decref(v);
	return buf;
}

json_t *sg_ask_daemon(const struct sg_config *c, const char *path_and_query, char *why,
		      size_t whylen)
{
	const struct sg_curl *cu = sg_curl();
	struct body b = { 0 };
	char url[PATH_MAX], error[256];
	json_t *v = NULL;
	long status = 0;
	int err = 0;
	CURLcode rc;
	CURL *h;

	if (!cu) {
		snprintf(why, whylen, "%s: %s", SG_LIBCURL, strerror(errno));
		return NULL;
	}
	/* The details name customers' processes: the daemon serves them to root, on its socket. */
	snprintf(url, sizeof(url), "http://localhost%s", path_and_query);
	h = cu->easy_init();
	if (!h) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	cu->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->exporter.control);
	cu->easy_setopt(h, CURLOPT_URL, url);
	cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, DAEMON_TIMEOUT_MS);
	cu->easy_setopt(h, CURLOPT_NOPROXY, "*");
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
	rc = cu->easy_perform(h);
	cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	cu->easy_cleanup(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s: %s%s", c->exporter.control, cu->easy_strerror(rc),
			 geteuid() ? " (root only)" : "");
		err = ECONNREFUSED;
	} else if (status == 404 && *answer_error(&b, error, sizeof(error))) {
		snprintf(why, whylen, "unknown to the daemon: %s", error);
		err = ENOENT;
	} else if (status == 404) {
		snprintf(why, whylen,
			 "%s: HTTP 404: the daemon has no such page (older than this CLI?)", url);
		err = EPROTO;
	} else if (status != 200) {
		answer_error(&b, error, sizeof(error));
		snprintf(why, whylen, "%s: HTTP %ld%s%s", url, status, *error ? ": " : "", error);
		err = EPROTO;
	} else if (!(v = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL))) {
		snprintf(why, whylen, "%s: not JSON", url);
		err = EPROTO;
	}
	free(b.buf);
	if (!v)
		errno = err;
	return v;
}
