// SPDX-License-Identifier: GPL-2.0
/* HTTP to a CrowdSec LAPI through libcurl: see lapi.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fleet/lapi.h"
#include "util/curl.h"
#include "util/render.h"

const char *const sg_lapi_error_names[SG_LAPI__MAX] = { SG_LAPI_ERRORS(SG_ENUM_NAME) };

struct sg_lapi {
	CURL *h;
	char url[SG_CROWDSEC_URL_MAX];
	char curl_error[CURL_ERROR_SIZE];
};

struct body {
	char *buf;
	size_t len, cap;
	int too_large;
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n, cap;
	char *p;

	if (b->len + add + 1 > SG_LAPI_REPLY_MAX) {
		b->too_large = 1;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		for (cap = b->cap ? b->cap : 16384; cap < b->len + add + 1; cap *= 2)
			;
		p = realloc(b->buf, cap);
		if (!p)
			return 0;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, add);
	b->len += add;
	b->buf[b->len] = '\0';
	return add;
}

int sg_lapi_open(const struct sg_crowdsec_cfg *c, struct sg_lapi **out)
{
	const struct sg_curl *cu = sg_curl();
	struct sg_lapi *l;
	CURLcode rc = CURLE_OK;

	if (!cu)
		return -errno;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->h = cu->easy_init();
	if (!l->h) {
		free(l);
		return -ENOMEM;
	}
	snprintf(l->url, sizeof(l->url), "%s", c->url);
	/* The base URL may end in '/': the paths begin with one. */
	if (*l->url && l->url[strlen(l->url) - 1] == '/')
		l->url[strlen(l->url) - 1] = '\0';
	cu->easy_setopt(l->h, CURLOPT_ERRORBUFFER, l->curl_error);
	cu->easy_setopt(l->h, CURLOPT_NOSIGNAL, 1L);
	cu->easy_setopt(l->h, CURLOPT_CONNECTTIMEOUT, (long)SG_LAPI_CONNECT_TIMEOUT_S);
	cu->easy_setopt(l->h, CURLOPT_TIMEOUT, (long)SG_LAPI_TIMEOUT_S);
	/* A proxy from the environment would be a surprise: the LAPI is the operator's own. */
	cu->easy_setopt(l->h, CURLOPT_NOPROXY, "*");
	cu->easy_setopt(l->h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(l->h, CURLOPT_SSL_VERIFYPEER, 1L);
	cu->easy_setopt(l->h, CURLOPT_SSL_VERIFYHOST, 2L);
	cu->easy_setopt(l->h, CURLOPT_WRITEFUNCTION, collect);
	if (*c->ca_file)
		rc = cu->easy_setopt(l->h, CURLOPT_CAINFO, c->ca_file);
	if (!rc && *c->cert_file)
		rc = cu->easy_setopt(l->h, CURLOPT_SSLCERT, c->cert_file);
	if (!rc && *c->key_file)
		rc = cu->easy_setopt(l->h, CURLOPT_SSLKEY, c->key_file);
	if (rc) {
		sg_lapi_close(l);
		return -EINVAL;
	}
	*out = l;
	return 0;
}

void sg_lapi_close(struct sg_lapi *l)
{
	if (!l)
		return;
	/* Opened: libcurl is loaded. */
	sg_curl()->easy_cleanup(l->h);
	free(l);
}

static enum sg_lapi_error curl_kind(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return SG_LAPI_TLS;
	default:
		return SG_LAPI_DOWN;
	}
}

/* The status's kind, and the server's own words when its JSON has a message. */
static void judge(struct sg_lapi_reply *r, const char *method, const char *path)
{
	const char *msg = json_string_value(json_object_get(r->json, "message"));
	char shown[160]; /* the server's words, as a log line may show them */

	if (r->status >= 200 && r->status < 300)
		return;
	r->kind = r->status == 401 || r->status == 403 ? SG_LAPI_AUTH : SG_LAPI_HTTP;
	snprintf(r->error, sizeof(r->error), "%s %s: HTTP %ld%s%s", method, path, r->status,
		 msg ? ": " : "", msg ? sg_printable(msg, shown, sizeof(shown)) : "");
}

static void parse(struct sg_lapi_reply *r, const struct body *b, const char *method,
		  const char *path)
{
	json_error_t jerr;

	r->kind = SG_LAPI_OK;
	if (b->too_large) {
		r->kind = SG_LAPI_REPLY;
		snprintf(r->error, sizeof(r->error), "%s %s: the reply is over %u MB", method, path,
			 SG_LAPI_REPLY_MAX >> 20);
		return;
	}
	if (b->len) {
		r->json = json_loadb(b->buf, b->len, 0, &jerr);
		if (!r->json && r->status >= 200 && r->status < 300) {
			r->kind = SG_LAPI_REPLY;
			snprintf(r->error, sizeof(r->error), "%s %s: the reply is not JSON: %s",
				 method, path, jerr.text);
			return;
		}
	}
	judge(r, method, path);
}

int sg_lapi_call(struct sg_lapi *l, const char *method, const char *path, const char *auth,
		 const json_t *body, struct sg_lapi_reply *r)
{
	const struct sg_curl *cu = sg_curl(); /* loaded: l is open */
	char url[SG_CROWDSEC_URL_MAX + SG_LAPI_PATH_MAX], *text = NULL;
	struct curl_slist *hdrs = NULL;
	struct body b = {};
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	if ((size_t)snprintf(url, sizeof(url), "%s%s", l->url, path) >= sizeof(url)) {
		snprintf(r->error, sizeof(r->error), "%s %.120s...: the path is too long", method,
			 path);
		return -ENAMETOOLONG;
	}
	hdrs = cu->slist_append(hdrs, "Accept: application/json");
	if (auth)
		hdrs = cu->slist_append(hdrs, auth);
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		hdrs = cu->slist_append(hdrs, "Content-Type: application/json");
	}
	if (!hdrs || (body && !text)) {
		cu->slist_free_all(hdrs);
		free(text);
		return -ENOMEM;
	}
	cu->easy_setopt(l->h, CURLOPT_URL, url);
	cu->easy_setopt(l->h, CURLOPT_HTTPHEADER, hdrs);
	/* Back to a GET, then a body makes it a POST, and the method names the verb. */
	cu->easy_setopt(l->h, CURLOPT_HTTPGET, 1L);
	if (text)
		cu->easy_setopt(l->h, CURLOPT_POSTFIELDS, text);
	cu->easy_setopt(l->h, CURLOPT_CUSTOMREQUEST, method);
	cu->easy_setopt(l->h, CURLOPT_WRITEDATA, &b);
	l->curl_error[0] = '\0';
	rc = cu->easy_perform(l->h);
	cu->easy_getinfo(l->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc && !b.too_large) {
		r->kind = curl_kind(rc);
		snprintf(r->error, sizeof(r->error), "%s %.120s: %.120s", method, url,
			 *l->curl_error ? l->curl_error : cu->easy_strerror(rc));
	} else {
		parse(r, &b, method, path);
	}
	cu->easy_setopt(l->h, CURLOPT_HTTPHEADER, NULL);
	cu->easy_setopt(l->h, CURLOPT_POSTFIELDS, NULL);
	cu->slist_free_all(hdrs);
	free(text);
	free(b.buf);
	return r->kind == SG_LAPI_OK ? 0 : -EIO;
}

int sg_lapi_read_secret(const char *path, char *buf, size_t len, char *why, size_t whylen)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", path);
		err = -EINVAL;
	} else if (st.st_uid != 0 || (st.st_mode & 077)) {
		snprintf(why, whylen,
			 "%s is owned by UID %u with mode %04o: it must be root's and not readable "
			 "by a group or others (chown root %s; chmod 600 %s)",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), path, path);
		err = -EPERM;
	} else {
		n = read(fd, buf, len);
		if (n < 0) {
			err = -errno;
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
		} else {
			buf[(size_t)n < len ? (size_t)n : len - 1] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			if (!*buf || (size_t)n >= len) {
				snprintf(why, whylen, "%s: %s", path,
					 *buf ? "longer than a key" : "empty");
				err = -EINVAL;
			}
		}
	}
	close(fd);
	return err;
}
