// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <sys/socket.h>
#include <zlib.h>

#include "daemon/exporter_impl.h"
#include "sg_bucket.h"

static const char not_found_body[] = "not found\n";
static const char not_allowed_body[] = "method not allowed\n";
static const char forbidden_body[] = "forbidden: root only\n";
static const char unauthorized_body[] = "unauthorized\n";
static const char too_large_body[] = "request header fields too large\n";
static const char too_many_body[] = "too many password checks: try again in a second\n";

/* r with the fields added (one whose value is NULL is left out); NULL on failure. */
static struct MHD_Response *with_fields(struct MHD_Response *r, const char *const (*fields)[2],
					size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++) {
		if (fields[i][1] &&
		    MHD_add_response_header(r, fields[i][0], fields[i][1]) != MHD_YES) {
			MHD_destroy_response(r);
			return NULL;
		}
	}
	return r;
}

/* A response serving buf, which it frees; NULL, with buf freed, when memory runs out. */
static struct MHD_Response *buffer_response(void *buf, size_t len, const char *content_type,
					    const char *encoding)
{
	const char *const fields[][2] = {
		{ MHD_HTTP_HEADER_CONTENT_TYPE, content_type },
		{ MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING },
		{ MHD_HTTP_HEADER_CONTENT_ENCODING, encoding },
	};
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, buf, free);

	if (!r)
		free(buf);
	return with_fields(r, fields, sizeof(fields) / sizeof(fields[0]));
}

static struct MHD_Response *error_response(const char *body, const char *allow)
{
	const char *const fields[][2] = {
		{ MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8" },
		{ MHD_HTTP_HEADER_ALLOW, allow },
	};

	return with_fields(
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT),
		fields, sizeof(fields) / sizeof(fields[0]));
}

static struct MHD_Response *gzip_response(struct sg_doc *d)
{
	z_stream zs = { 0 };
	unsigned char *out;
	uLong bound;
	int ret;

	if (d->gzip)
		return d->gzip;
	/* windowBits 15 + 16: a gzip wrapper, which is what Content-Encoding: gzip names. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return NULL;
	bound = deflateBound(&zs, d->len);
	out = malloc(bound);
	if (!out) {
		deflateEnd(&zs);
		return NULL;
	}
	zs.next_in = (Bytef *)d->body;
	zs.avail_in = d->len;
	zs.next_out = out;
	zs.avail_out = bound;
	ret = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (ret != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	d->gzip = buffer_response(out, zs.total_out, d->content_type, "gzip");
	return d->gzip;
}

static int token_is(const char *tok, size_t len, const char *name)
{
	return len == strlen(name) && !strncasecmp(tok, name, len);
}

/* What the Accept-Encoding fields say: -1 nothing, 0 not acceptable, 1 acceptable. */
struct gzip_pref {
	int gzip;
	int any; /* the "*" coding */
};

/*
 * RFC 9110 12.5.3: a list of codings, each with optional parameters of which only q
 * counts; q=0 (0.0, 0.000) means "not acceptable", and a coding named outright takes
 * precedence over "*".
 */
static void parse_accept_encoding(const char *v, struct gzip_pref *p)
{
	static const char ws[] = " \t";

	while (*v) {
		const char *tok;
		size_t len;
		int accepted = 1;

		v += strspn(v, ", \t");
		tok = v;
		len = strcspn(v, ",; \t");
		v += len;
		for (v += strspn(v, ws); *v == ';'; v += strspn(v, ws)) {
			v += 1 + strspn(v + 1, ws);
			if ((*v == 'q' || *v == 'Q') && v[1] == '=')
				accepted = strtod(v + 2, NULL) > 0;
			v += strcspn(v, ";,");
		}
		v += strcspn(v, ",");
		if (token_is(tok, len, "gzip") || token_is(tok, len, "x-gzip"))
			p->gzip = accepted;
		else if (token_is(tok, len, "*"))
			p->any = accepted;
	}
}

static enum MHD_Result accept_encoding_field(void *cls, enum MHD_ValueKind kind, const char *key,
					     const char *value)
{
	if (value && !strcasecmp(key, MHD_HTTP_HEADER_ACCEPT_ENCODING))
		parse_accept_encoding(value, cls);
	return MHD_YES;
}

/* Every Accept-Encoding field counts: a list may be split over several. */
static int accepts_gzip(struct MHD_Connection *conn)
{
	struct gzip_pref p = { -1, -1 };

	MHD_get_connection_values(conn, MHD_HEADER_KIND, accept_encoding_field, &p);
	return p.gzip >= 0 ? p.gzip : p.any == 1;
}

static struct sg_doc *find_doc(struct sg_exporter *ex, const char *path)
{
	size_t i;

	for (i = 0; i < ex->n_docs; i++)
		if (!strcmp(ex->docs[i].path, path))
			return &ex->docs[i];
	return NULL;
}

/* A document made for this request from its query string: small, never cached. */
static enum MHD_Result answer_query(struct sg_exporter *ex, const struct sg_query *q,
				    struct MHD_Connection *conn, const char *method)
{
	const char *arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, SG_QUERY_ARG);
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;
	unsigned int status;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, ex->not_allowed);
	status = q->fn(q->ctx, arg, &body, &len);
	if (!body)
		return MHD_NO;
	r = buffer_response(body, len, "application/json", NULL);
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result add_field_size(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	*(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": ", CRLF */
	return MHD_YES;
}

/* The request line's URL and the header fields, about as they came. */
static size_t request_size(struct MHD_Connection *conn, const char *url)
{
	size_t n = strlen(url);

	MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, add_field_size,
				  &n);
	return n;
}

/* The control socket's peer is root: its mode keeps others out, and this says so again. */
static int peer_is_root(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return i && !getsockopt(i->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) &&
	       len == sizeof(cred) && cred.uid == 0;
}

/* Equal strings, in time that depends on neither where they differ nor by how much. */
static int same_secret(const char *kept, const char *given)
{
	size_t n = strlen(kept), m = strlen(given), i;
	unsigned char d = n != m;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(kept[i] ^ (i < m ? given[i] : 0));
	return !d;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SG_NS_PER_SEC + (__u64)ts.tv_nsec;
}

static struct sg_check_bar *bar_of(struct sg_exporter *ex, const struct sg_client_key *who)
{
	size_t i;

	for (i = 0; i < SG_EXPORTER_CONNECTIONS; i++)
		if (ex->bars[i].until_ns && ex->bars[i].who.local == who->local &&
		    ex->bars[i].who.key == who->key)
			return &ex->bars[i];
	return NULL;
}

/*
 * 1: the client may spend a password check now: not barred by a wrong password of its own,
 * and within its share of this second's, the second counted from the first check in it.
 */
static int check_allowed(struct sg_exporter *ex, const struct sg_client_key *who, __u64 now)
{
	const struct sg_check_bar *bar = bar_of(ex, who);

	if (now - ex->checks_start_ns >= SG_NS_PER_SEC) {
		ex->checks_start_ns = now;
		sg_quota_tick(&ex->checks[0]);
		sg_quota_tick(&ex->checks[1]);
	}
	return (!bar || bar->until_ns <= now) && sg_quota_take(&ex->checks[who->local], who->key);
}

static void bar_client(struct sg_exporter *ex, const struct sg_client_key *who, __u64 now)
{
	struct sg_check_bar *bar = bar_of(ex, who);

	if (!bar) {
		bar = &ex->bars[ex->next_bar];
		ex->next_bar = (ex->next_bar + 1) % SG_EXPORTER_CONNECTIONS;
	}
	bar->who = *who;
	bar->until_ns = now + SG_EXPORTER_FAILED_S * SG_NS_PER_SEC;
}

/*
 * Basic auth against the web config's bcrypt hashes: 1 let in, 0 refused, -EAGAIN when
 * the client may not have its password checked now. bcrypt takes tens of milliseconds at
 * the usual costs, on the loop's time: a user's last Authorization value that matched is
 * kept and compared first, as the exporter-toolkit does, so a scraper costs one hash; any
 * other value is hashed only within the client's share (SG_EXPORTER_CHECKS), and a client
 * whose password was wrong waits SG_EXPORTER_FAILED_S for its next check. An unknown user
 * is answered as a known one: within the share, barred alike.
 */
static int authorized(struct sg_exporter *ex, struct MHD_Connection *conn)
{
	const char *v =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char user[SG_WEB_NAME_MAX], pass[SG_WEB_PASS_MAX];
	struct sg_client_key who;
	__u64 now = mono_ns();
	size_t i;
	int ok;

	if (!v)
		return 0;
	for (i = 0; i < ex->web.n_users; i++)
		if (ex->auth_ok[i] && same_secret(ex->auth_ok[i], v))
			return 1;
	if (sg_webauth_parse(v, user, pass) || !info || !info->client_addr)
		return 0;
	who = sg_exporter_client_key(ex, info->client_addr);
	if (!check_allowed(ex, &who, now)) {
		explicit_bzero(pass, sizeof(pass));
		ex->refused++;
		return -EAGAIN;
	}
	ok = !sg_webauth_check(&ex->web, user, pass);
	explicit_bzero(pass, sizeof(pass));
	if (!ok)
		bar_client(ex, &who, now);
	for (i = 0; ok && i < ex->web.n_users; i++) {
		if (!strcmp(ex->web.users[i].name, user)) {
			free(ex->auth_ok[i]);
			ex->auth_ok[i] = strdup(v);
		}
	}
	return ok;
}

enum MHD_Result sg_exporter_handle(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **req)
{
	const struct sg_side *side = cls;
	struct sg_exporter *ex = side->ex;
	struct MHD_Response *r = NULL;
	struct sg_doc *d;
	size_t i;

	/*
	 * Answered on the headers, the first call: MHD then calls no more for this request and
	 * discards a body that follows (closing the connection after the response).
	 */
	if (request_size(conn, url) > SG_EXPORTER_HEADERS_MAX)
		return MHD_queue_response(conn, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
					  ex->too_large);
	if (side->control && !peer_is_root(conn))
		return MHD_queue_response(conn, MHD_HTTP_FORBIDDEN, ex->forbidden);
	if (!side->control && ex->web.n_users) {
		int a = authorized(ex, conn);

		if (a < 0)
			return MHD_queue_response(conn, MHD_HTTP_TOO_MANY_REQUESTS, ex->too_many);
		if (!a)
			return MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, ex->unauthorized);
	}
	for (i = 0; side->control && i < ex->n_queries; i++)
		if (!strcmp(url, ex->queries[i].path))
			return answer_query(ex, &ex->queries[i], conn, method);
	d = find_doc(ex, url);
	if (!d || (!side->control && !d->public))
		return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, ex->not_found);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, ex->not_allowed);
	if (accepts_gzip(conn))
		r = gzip_response(d);
	return MHD_queue_response(conn, d->status, r ? r : d->plain);
}

struct sg_exporter *sg_exporter_new(void)
{
	const char *const basic[][2] = {
		{ MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"smtpguard\"" },
	};
	const char *const retry[][2] = { { MHD_HTTP_HEADER_RETRY_AFTER, "1" } };
	struct sg_exporter *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return NULL;
	ex->epoll_fd = ex->diag_fd = ex->subuids_fd = -1;
	ex->ctl_sock = (struct sg_unixsock)SG_UNIXSOCK_INIT;
	ex->tcp.ex = ex->ctl.ex = ex;
	ex->ctl.control = 1;
	ex->not_found = error_response(not_found_body, NULL);
	ex->not_allowed = error_response(not_allowed_body, "GET, HEAD");
	ex->forbidden = error_response(forbidden_body, NULL);
	ex->unauthorized = with_fields(error_response(unauthorized_body, NULL), basic, 1);
	ex->too_large = error_response(too_large_body, NULL);
	ex->too_many = with_fields(error_response(too_many_body, NULL), retry, 1);
	sg_quota_init(&ex->checks[0], SG_EXPORTER_CHECKS, 1);
	sg_quota_init(&ex->checks[1], SG_EXPORTER_CHECKS, 1);
	if (!ex->not_found || !ex->not_allowed || !ex->forbidden || !ex->unauthorized ||
	    !ex->too_large || !ex->too_many) {
		sg_exporter_free(ex);
		return NULL;
	}
	return ex;
}

static void doc_clear(struct sg_doc *d)
{
	if (d->plain)
		MHD_destroy_response(d->plain);
	if (d->gzip)
		MHD_destroy_response(d->gzip);
	free(d->path);
	free(d->content_type);
	memset(d, 0, sizeof(*d));
}

int sg_exporter_publish(struct sg_exporter *ex, const char *path, const char *content_type,
			const char *body, size_t len, int public, unsigned int status)
{
	struct sg_doc *d = find_doc(ex, path), next = { 0 };
	char *copy;

	if (!d && ex->n_docs == SG_EXPORTER_DOCS)
		return -ENOSPC;
	copy = malloc(len ? len : 1);
	if (copy)
		memcpy(copy, body, len);
	next.path = strdup(path);
	next.content_type = strdup(content_type);
	next.body = copy;
	next.len = len;
	next.public = public;
	next.status = status;
	next.plain = copy ? buffer_response(copy, len, content_type, NULL) : NULL;
	if (!next.path || !next.content_type || !next.plain) {
		doc_clear(&next);
		return -ENOMEM;
	}
	if (d)
		doc_clear(d);
	else
		d = &ex->docs[ex->n_docs++];
	*d = next;
	return 0;
}

int sg_exporter_query(struct sg_exporter *ex, const char *path, sg_query_fn fn, void *ctx)
{
	if (ex->n_queries == SG_EXPORTER_QUERIES)
		return -ENOSPC;
	ex->queries[ex->n_queries++] = (struct sg_query){ path, fn, ctx };
	return 0;
}

/* What sg_exporter_new made; the MHD daemons are stopped first, dropping their references. */
void sg_exporter_free(struct sg_exporter *ex)
{
	struct MHD_Response *shared[] = { ex->not_found,    ex->not_allowed, ex->forbidden,
					  ex->unauthorized, ex->too_large,   ex->too_many };
	size_t i;

	for (i = 0; i < ex->n_docs; i++)
		doc_clear(&ex->docs[i]);
	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (shared[i])
			MHD_destroy_response(shared[i]);
	for (i = 0; i < SG_WEB_USERS; i++)
		free(ex->auth_ok[i]);
	free(ex->tls_cert);
	if (ex->tls_key)
		explicit_bzero(ex->tls_key, strlen(ex->tls_key));
	free(ex->tls_key);
	free(ex);
}
