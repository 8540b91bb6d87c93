/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the exporter (exporter.c: documents and requests; exporter_net.c:
 * listeners and who may connect); nothing else includes this.
 */
#ifndef SG_EXPORTER_IMPL_H
#define SG_EXPORTER_IMPL_H

#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/quota.h"
#include "daemon/exporter.h"
#include "util/unixsock.h"

#define SG_EXPORTER_DOCS 8

union sg_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

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
	int public;		   /* served on TCP too */
	unsigned int status;	   /* its HTTP status: a failing /healthz is 503 */
};

/* Who a TCP connection counts against: its local UID, or its address when it is not local. */
struct sg_client {
	int local;
	uid_t uid;
	union sg_sockaddr addr; /* port 0 */
	unsigned int conns;	/* 0: a free slot */
};

/* One listener's MHD daemon and what its requests need to know of it. */
struct sg_side {
	struct sg_exporter *ex;
	struct MHD_Daemon *mhd;
	int control; /* the unix socket: root only, every document */
};

struct sg_exporter {
	struct sg_side tcp, ctl;
	int epoll_fd;		/* both MHD daemons' epoll fds */
	union sg_sockaddr addr; /* TCP's, as bound */
	struct MHD_Response *not_found, *not_allowed, *forbidden, *unauthorized, *too_large,
		*too_many;
	struct sg_doc docs[SG_EXPORTER_DOCS];
	size_t n_docs;
	struct sg_query {
		const char *path; /* answered by fn, per request */
		sg_query_fn fn;
		void *ctx;
	} queries[SG_EXPORTER_QUERIES];
	size_t n_queries;
	/* TLS and basic auth on TCP; each user's last Authorization value that matched. */
	struct sg_webconfig web;
	char *auth_ok[SG_WEB_USERS];
	/*
	 * A bcrypt check costs tens of milliseconds of the loop: shares a second for local and
	 * remote clients apart (see SG_EXPORTER_CHECKS), and the clients whose last check
	 * failed, each barred until its time (a ring: the oldest bar gives way).
	 */
	struct sg_quota checks[2]; /* [local] */
	__u64 checks_start_ns;	   /* the second the shares are for began */
	struct sg_check_bar {
		struct sg_client_key {
			int local;
			__u32 key;
		} who;
		__u64 until_ns;
	} bars[SG_EXPORTER_CONNECTIONS];
	unsigned int next_bar;
	char *tls_cert, *tls_key;
	/* TCP connections per client, and the one being accepted (see exporter_net.c). */
	int diag_fd;
	int subuids_fd; /* sg_subuids, opened at the first local client: -1 until then */
	struct sg_client clients[SG_EXPORTER_CONNECTIONS], admitted;
	__u64 refused; /* connections closed by the per-client limit, checks deferred (429) */
	/* The control socket, removed at stop if it is still ours. */
	struct sg_unixsock ctl_sock;
};

/* exporter.c: a request to either side (cls: its struct sg_side). */
enum MHD_Result sg_exporter_handle(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **req);

/* exporter_net.c: who the client at addr is, for its share of costly work. */
struct sg_client_key sg_exporter_client_key(struct sg_exporter *ex, const struct sockaddr *addr);

/* exporter.c: the parts that outlive both listeners; exporter_net.c starts these. */
struct sg_exporter *sg_exporter_new(void);
void sg_exporter_free(struct sg_exporter *ex);

#endif
