/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HTTP side of the daemon: libmicrohttpd run from the daemon's own
 * epoll loop (no threads), serving documents the loop publishes. Two
 * listeners: TCP ([exporter] listen) serves the public documents only
 * (/metrics, gzip through zlib when the client accepts it, and /healthz),
 * optionally over TLS and behind basic auth, with a per-client connection
 * limit; the root-only unix socket ([exporter] control) serves every
 * document and the queries (/senders, /explain, /accounts), which name
 * customers' processes. A request never reads a map. Functions return
 * -errno.
 */
#ifndef SG_EXPORTER_H
#define SG_EXPORTER_H

#include <stddef.h>
#include <linux/types.h>

#include "core/webconfig.h"

struct sg_exporter;

/* At most this many connections at once on TCP, and from one client (a local UID, or an address).
 */
#define SG_EXPORTER_CONNECTIONS 64U
#define SG_EXPORTER_PER_CLIENT	4U
/*
 * Basic-auth password checks (bcrypt, ~60 ms each at cost 10, on the loop's time) a second,
 * for local clients and as many for remote ones; one client (a local UID with its sub-UIDs,
 * or a remote address, an IPv6 /64) gets one of them, and none for SG_EXPORTER_FAILED_S
 * after a wrong password.
 */
#define SG_EXPORTER_CHECKS   2U
#define SG_EXPORTER_FAILED_S 5U
/* Request line and header fields at most; past it, 431. A body is never read. */
#define SG_EXPORTER_HEADERS_MAX (16U * 1024)

struct sg_exporter_opts {
	const char *host; /* numeric IPv4 or IPv6 address; NULL: no TCP listener */
	__u16 port;
	const char *control; /* the unix socket's path; NULL: none */
	/* TLS (cert_file, key_file) and basic auth on TCP; NULL or empty: neither. */
	const struct sg_webconfig *web;
	__u64 refused; /* where sg_exporter_refused starts: the count of the exporter replaced */
};

/* Listen as o says; err gets the reason on failure, and nothing is left listening. */
int sg_exporter_start(const struct sg_exporter_opts *o, struct sg_exporter **out, char *err,
		      size_t errlen);

/* An fd that becomes readable when the exporter has work: add it to the loop's epoll. */
int sg_exporter_fd(const struct sg_exporter *ex);

/* Do the pending work; call when the fd is readable and once per tick (timeouts). */
int sg_exporter_run(struct sg_exporter *ex);

/* The TCP port listened on: the one the kernel chose when started with port 0. */
__u16 sg_exporter_port(const struct sg_exporter *ex);

/* TCP connections closed at once: their client already held SG_EXPORTER_PER_CLIENT. */
__u64 sg_exporter_refused(const struct sg_exporter *ex);

/*
 * Serve body (copied) at path with this content type and HTTP status from
 * now on, on the control socket, and on TCP too when public; 404 for paths
 * never published. Replacing a document drops its cached gzip form.
 */
int sg_exporter_publish(struct sg_exporter *ex, const char *path, const char *content_type,
			const char *body, size_t len, int public, unsigned int status);

/*
 * Answer GET path?principal=ARG on the control socket with fn: it sets
 * *body (malloc()ed JSON, freed by the exporter) and *len, and returns the
 * HTTP status. arg is NULL when the request has none. ctx and path must
 * outlive the exporter. At most SG_EXPORTER_QUERIES paths; -ENOSPC past them.
 */
#define SG_EXPORTER_QUERIES 4
#define SG_QUERY_ARG	    "principal"
typedef unsigned int (*sg_query_fn)(void *ctx, const char *arg, char **body, size_t *len);
int sg_exporter_query(struct sg_exporter *ex, const char *path, sg_query_fn fn, void *ctx);

void sg_exporter_stop(struct sg_exporter *ex);

/* sg_subuids is pinned anew: the next local client's owner is asked of the new map. */
void sg_exporter_reopen_maps(struct sg_exporter *ex);

#endif
