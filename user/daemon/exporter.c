// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <zlib.h>

#include "daemon/exporter.h"

#define SG_EXPORTER_DOCS	8
#define SG_EXPORTER_CONNECTIONS 64U
#define SG_EXPORTER_TIMEOUT_S	10U

/*
 * A published document. The responses are MHD's, reference counted: a connection still
 * sending an old body holds its own reference, so replacing a document never pulls the
 * buffer from under a slow transfer.
 */
struct sg_doc {
	char *path;
	char *content_type;
	const char *body; /* plain's buffer, valid while plain is held */
	size_t len;
	struct MHD_Response *plain;
	struct MHD_Response *gzip; /* made by the first request that accepts it */
};

struct sg_exporter {
	struct MHD_Daemon *mhd;
	int epoll_fd;
	__u16 port;
	struct MHD_Response *not_found;
	struct MHD_Response *not_allowed;
	struct sg_doc docs[SG_EXPORTER_DOCS];
	size_t n_docs;
	struct sg_query {
		const char *path; /* answered by fn, per request */
		sg_query_fn fn;
		void *ctx;
	} queries[SG_EXPORTER_QUERIES];
	size_t n_queries;
};

static const char not_found_body[] = "not found\n";
static const char not_allowed_body[] = "method not allowed\n";

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
		{MHD_HTTP_HEADER_CONTENT_TYPE, content_type},
		{MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING},
		{MHD_HTTP_HEADER_CONTENT_ENCODING, encoding},
	};
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, buf, free);

	if (!r)
		free(buf);
	return with_fields(r, fields, sizeof(fields) / sizeof(fields[0]));
}

static struct MHD_Response *error_response(const char *body, const char *allow)
{
	const char *const fields[][2] = {
		{MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8"},
		{MHD_HTTP_HEADER_ALLOW, allow},
	};

	return with_fields(
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT),
		fields, sizeof(fields) / sizeof(fields[0]));
}

static struct MHD_Response *gzip_response(struct sg_doc *d)
{
	z_stream zs = {0};
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
	struct gzip_pref p = {-1, -1};

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
	const char *arg = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						      SG_QUERY_ARG);
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req)
{
	struct sg_exporter *ex = cls;
	struct MHD_Response *r = NULL;
	struct sg_doc *d;
	size_t i;

	/*
	 * Answered on the headers, the first call: MHD then calls no more for this request and
	 * discards a body that follows (closing the connection after the response).
	 */
	for (i = 0; i < ex->n_queries; i++)
		if (!strcmp(url, ex->queries[i].path))
			return answer_query(ex, &ex->queries[i], conn, method);
	d = find_doc(ex, url);
	if (!d)
		return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, ex->not_found);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, ex->not_allowed);
	if (accepts_gzip(conn))
		r = gzip_response(d);
	return MHD_queue_response(conn, MHD_HTTP_OK, r ? r : d->plain);
}

union sg_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* A bound, listening, non-blocking socket; -errno. */
static int listen_socket(union sg_sockaddr *addr, socklen_t len)
{
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
	int err;

	if (fd < 0)
		return -errno;
	/*
	 * SO_REUSEADDR: a restarted daemon binds while its old connections sit in TIME_WAIT (a
	 * second listener still gets EADDRINUSE). IPV6_V6ONLY: "::" serves IPv6 only, as the
	 * address written says, and leaves 0.0.0.0 to whoever binds it.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    (addr->sa.sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on))) ||
	    bind(fd, &addr->sa, len) || listen(fd, SOMAXCONN) || getsockname(fd, &addr->sa, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static struct sg_exporter *exporter_new(void)
{
	struct sg_exporter *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return NULL;
	ex->not_found = error_response(not_found_body, NULL);
	ex->not_allowed = error_response(not_allowed_body, "GET, HEAD");
	if (!ex->not_found || !ex->not_allowed) {
		sg_exporter_stop(ex);
		return NULL;
	}
	return ex;
}

int sg_exporter_start(const char *host, __u16 port, struct sg_exporter **out, char *err,
		      size_t errlen)
{
	union sg_sockaddr addr = {0};
	struct sg_exporter *ex;
	char where[INET6_ADDRSTRLEN + 16];
	socklen_t len;
	int fd;

	*out = NULL;
	if (inet_pton(AF_INET, host, &addr.in.sin_addr) == 1) {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons(port);
		len = sizeof(addr.in);
		snprintf(where, sizeof(where), "%s:%u", host, port);
	} else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(port);
		len = sizeof(addr.in6);
		snprintf(where, sizeof(where), "[%s]:%u", host, port);
	} else {
		snprintf(err, errlen, "cannot listen on %s:%u: not a numeric IPv4 or IPv6 address",
			 host, port);
		return -EINVAL;
	}

	fd = listen_socket(&addr, len);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(-fd));
		return fd;
	}
	ex = exporter_new();
	if (!ex) {
		close(fd);
		snprintf(err, errlen, "cannot serve on %s: %s", where, strerror(ENOMEM));
		return -ENOMEM;
	}
	ex->port = ntohs(addr.sa.sa_family == AF_INET ? addr.in.sin_port : addr.in6.sin6_port);
	/* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no thread, our loop runs it. */
	ex->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, handle, ex,
				   MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				   SG_EXPORTER_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
				   SG_EXPORTER_TIMEOUT_S, MHD_OPTION_END);
	if (!ex->mhd) {
		close(fd);
		sg_exporter_stop(ex);
		snprintf(err, errlen, "cannot serve on %s: libmicrohttpd failed to start", where);
		return -EIO;
	}
	ex->epoll_fd = MHD_get_daemon_info(ex->mhd, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	*out = ex;
	return 0;
}

int sg_exporter_fd(const struct sg_exporter *ex)
{
	return ex->epoll_fd;
}

__u16 sg_exporter_port(const struct sg_exporter *ex)
{
	return ex->port;
}

int sg_exporter_run(struct sg_exporter *ex)
{
	return MHD_run(ex->mhd) == MHD_YES ? 0 : -EIO;
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
			const char *body, size_t len)
{
	struct sg_doc *d = find_doc(ex, path), next = {0};
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

void sg_exporter_stop(struct sg_exporter *ex)
{
	size_t i;

	if (!ex)
		return;
	/* The daemon first: its connections drop their references to the responses. */
	if (ex->mhd)
		MHD_stop_daemon(ex->mhd);
	for (i = 0; i < ex->n_docs; i++)
		doc_clear(&ex->docs[i]);
	if (ex->not_found)
		MHD_destroy_response(ex->not_found);
	if (ex->not_allowed)
		MHD_destroy_response(ex->not_allowed);
	free(ex);
}
