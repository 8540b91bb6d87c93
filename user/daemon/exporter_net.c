// SPDX-License-Identifier: GPL-2.0
/*
 * The exporter's listeners (see exporter.h): TCP, with TLS when the web
 * config has a certificate, and a per-client connection limit; the
 * root-only unix socket; both MHD daemons run from one epoll fd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "daemon/exporter_impl.h"
#include "host/sockowner.h"
#include "kern/state.h"
#include "kern/subuids.h"
#include "util/log.h"

/*
 * Idle seconds before MHD closes a connection. Headers dripped slowly keep one open: the
 * per-client limit, not this, is what keeps a slow client from holding every slot.
 */
#define TIMEOUT_S 5U
/*
 * A connection's memory: room for requests well past SG_EXPORTER_HEADERS_MAX, which the
 * handler answers with 431 at once. MHD 0.9.75 answers a request that overflows the pool
 * itself (431, or 414 for the URI) only when the connection times out: it is not sent
 * while the client has nothing more to send.
 */
#define POOL_SIZE (4 * SG_EXPORTER_HEADERS_MAX)
#define PEM_MAX	  (1U << 20)
#define RUNS	  8 /* MHD_run calls per sg_exporter_run, at most */

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

void sg_exporter_reopen_maps(struct sg_exporter *ex)
{
	if (ex->subuids_fd >= 0)
		close(ex->subuids_fd);
	ex->subuids_fd = -1;
}

/*
 * The client a connection from addr counts against: its owner's UID where it is local,
 * a sub-UID's range owner's (a customer's user namespace is still that one customer).
 */
static void client_of(struct sg_exporter *ex, const struct sockaddr *addr, struct sg_client *c)
{
	memset(c, 0, sizeof(*c));
	c->local = ex->diag_fd >= 0 && !sg_sockowner_uid(ex->diag_fd, addr, &ex->addr.sa, &c->uid);
	if (c->local) {
		if (ex->subuids_fd < 0)
			ex->subuids_fd = sg_pin_open(SG_MAP_SUBUIDS);
		c->uid = sg_subuids_owner(ex->subuids_fd, c->uid);
		return;
	}
	if (addr->sa_family == AF_INET6)
		c->addr.in6.sin6_addr = ((const struct sockaddr_in6 *)addr)->sin6_addr;
	else if (addr->sa_family == AF_INET)
		c->addr.in.sin_addr = ((const struct sockaddr_in *)addr)->sin_addr;
	c->addr.sa.sa_family = addr->sa_family;
}

struct sg_client_key sg_exporter_client_key(struct sg_exporter *ex, const struct sockaddr *addr)
{
	struct sg_client_key k = { 0 };
	struct sg_client c;
	const unsigned char *a;
	size_t i, n;

	client_of(ex, addr, &c);
	k.local = c.local;
	if (c.local) {
		k.key = c.uid;
		return k;
	}
	/* FNV-1a over the address, an IPv6 /64 as one (a site picks any address in it). */
	a = c.addr.sa.sa_family == AF_INET6 ? (const unsigned char *)&c.addr.in6.sin6_addr
					    : (const unsigned char *)&c.addr.in.sin_addr;
	n = c.addr.sa.sa_family == AF_INET6 ? 8 : 4;
	k.key = 2166136261U;
	for (i = 0; i < n; i++)
		k.key = (k.key ^ a[i]) * 16777619U;
	return k;
}

static struct sg_client *client_slot(struct sg_exporter *ex, const struct sg_client *c)
{
	struct sg_client *free_slot = NULL;
	size_t i;

	for (i = 0; i < SG_EXPORTER_CONNECTIONS; i++) {
		struct sg_client *s = &ex->clients[i];

		if (!s->conns) {
			free_slot = free_slot ? free_slot : s;
			continue;
		}
		if (s->local == c->local &&
		    (c->local ? s->uid == c->uid : !memcmp(&s->addr, &c->addr, sizeof(c->addr))))
			return s;
	}
	return free_slot;
}

/*
 * MHD's accept policy: all local users share 127.0.0.1, so a limit per address would let
 * one customer's slow connections lock a local Prometheus out. The client is the UID that
 * owns the other end (sock_diag), or the address for a remote one.
 */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct sg_exporter *ex = cls;
	struct sg_client *s;

	client_of(ex, addr, &ex->admitted);
	s = client_slot(ex, &ex->admitted);
	if (!s || s->conns >= SG_EXPORTER_PER_CLIENT) {
		ex->refused++;
		sg_debug("exporter: connection refused: its client already holds %u",
			 SG_EXPORTER_PER_CLIENT);
		return MHD_NO;
	}
	return MHD_YES;
}

/* The connection admit() let in starts (MHD calls this right after it), and later ends. */
static void count_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			     enum MHD_ConnectionNotificationCode code)
{
	struct sg_exporter *ex = cls;
	struct sg_client *s;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		s = *socket_context;
		if (s)
			s->conns--;
		return;
	}
	s = client_slot(ex, &ex->admitted);
	if (s && !s->conns)
		*s = ex->admitted;
	if (s)
		s->conns++;
	*socket_context = s;
}

/* The whole of a PEM file, NUL-terminated as MHD takes it; NULL with errno. */
static char *read_pem(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), err;
	char *buf = fd < 0 ? NULL : malloc(PEM_MAX + 1);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0)
		return NULL;
	while (buf && len < PEM_MAX && (n = read(fd, buf + len, PEM_MAX - len)) > 0)
		len += (size_t)n;
	err = !buf ? ENOMEM : n < 0 ? errno : len == PEM_MAX ? EFBIG : !len ? ENODATA : 0;
	close(fd);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* MHD serving side on the listening fd (which it then owns), added to the exporter's epoll. */
static int serve(struct sg_exporter *ex, struct sg_side *side, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const int tls = !side->control && ex->tls_cert;
	struct MHD_OptionItem opts[9] = {
		{ MHD_OPTION_LISTEN_SOCKET, fd, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, TIMEOUT_S, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, POOL_SIZE, NULL },
		/* The read buffer grows in one step: each step waits for MHD's next run. */
		{ MHD_OPTION_CONNECTION_MEMORY_INCREMENT, POOL_SIZE / 2, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, SG_EXPORTER_CONNECTIONS, NULL },
	};
	size_t n = 5;

	if (!side->control)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
						     (intptr_t)count_connection, ex };
	if (tls) {
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, ex->tls_cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, ex->tls_key };
	}
	opts[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	/* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no thread, our loop runs it. */
	side->mhd = MHD_start_daemon(MHD_USE_EPOLL | (tls ? MHD_USE_TLS : 0), 0,
				     side->control ? NULL : admit, ex, sg_exporter_handle, side,
				     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!side->mhd) {
		close(fd);
		return -EIO;
	}
	ev.data.ptr = side;
	fd = MHD_get_daemon_info(side->mhd, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
	return epoll_ctl(ex->epoll_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The TCP listener at host:port, with the web config's TLS and users. */
static int start_tcp(struct sg_exporter *ex, const struct sg_exporter_opts *o, char *err,
		     size_t errlen)
{
	union sg_sockaddr *a = &ex->addr;
	char where[INET6_ADDRSTRLEN + 16];
	socklen_t len;
	int fd, ret;

	if (inet_pton(AF_INET, o->host, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->in.sin_port = htons(o->port);
		len = sizeof(a->in);
		snprintf(where, sizeof(where), "%s:%u", o->host, o->port);
	} else if (inet_pton(AF_INET6, o->host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(o->port);
		len = sizeof(a->in6);
		snprintf(where, sizeof(where), "[%s]:%u", o->host, o->port);
	} else {
		snprintf(err, errlen, "cannot listen on %s:%u: not a numeric IPv4 or IPv6 address",
			 o->host, o->port);
		return -EINVAL;
	}
	if (o->web)
		ex->web = *o->web;
	if (*ex->web.cert_file) {
		ex->tls_cert = read_pem(ex->web.cert_file);
		ex->tls_key = ex->tls_cert ? read_pem(ex->web.key_file) : NULL;
		if (!ex->tls_key) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s",
				 ex->tls_cert ? ex->web.key_file : ex->web.cert_file,
				 strerror(-ret));
			return ret;
		}
	}
	/* Without it every client counts against its address: 127.0.0.1 for all local users. */
	ex->diag_fd = sg_sockowner_open();
	if (ex->diag_fd < 0)
		sg_warn("exporter: no NETLINK_SOCK_DIAG (%s): local clients limited as one",
			strerror(-ex->diag_fd));
	fd = listen_socket(a, len);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(-fd));
		return fd;
	}
	ret = serve(ex, &ex->tcp, fd);
	if (ret)
		snprintf(err, errlen, "cannot serve on %s: %s", where,
			 ret == -EIO ? "libmicrohttpd failed to start (a bad certificate or key?)"
				     : strerror(-ret));
	return ret;
}

static int start_control(struct sg_exporter *ex, const char *path, char *err, size_t errlen)
{
	/* Mode 0600 in a directory of root's alone: the details are root's to read. */
	int fd = sg_unixsock_listen(&ex->ctl_sock, path, NULL, 0, 0600, (gid_t)-1, SOMAXCONN), ret;

	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s%s", path, strerror(-fd),
			 fd == -EPERM ? " (its directory must be root's, writable by no one else)"
				      : "");
		return fd;
	}
	ret = serve(ex, &ex->ctl, fd);
	if (ret)
		snprintf(err, errlen, "cannot serve on %s: %s", path,
			 ret == -EIO ? "libmicrohttpd failed to start" : strerror(-ret));
	return ret;
}

int sg_exporter_start(const struct sg_exporter_opts *o, struct sg_exporter **out, char *err,
		      size_t errlen)
{
	struct sg_exporter *ex = sg_exporter_new();
	int ret = 0;

	*out = NULL;
	if (!ex) {
		snprintf(err, errlen, "exporter: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ex->refused = o->refused;
	ex->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ex->epoll_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "exporter: %s", strerror(-ret));
	}
	if (!ret && o->host)
		ret = start_tcp(ex, o, err, errlen);
	if (!ret && o->control)
		ret = start_control(ex, o->control, err, errlen);
	if (ret) {
		sg_exporter_stop(ex);
		return ret;
	}
	*out = ex;
	return 0;
}

int sg_exporter_fd(const struct sg_exporter *ex)
{
	return ex->epoll_fd;
}

__u16 sg_exporter_port(const struct sg_exporter *ex)
{
	return ntohs(ex->addr.sa.sa_family == AF_INET6 ? ex->addr.in6.sin6_port
						       : ex->addr.in.sin_port);
}

/*
 * MHD's epoll is edge-triggered: a connection whose buffer filled before it read all that
 * was sent gets no new event for the rest, and says so by a timeout of 0. It is run again
 * at once, a bounded number of times, rather than at the next tick.
 */
static int run_side(struct MHD_Daemon *mhd)
{
	MHD_UNSIGNED_LONG_LONG timeout;
	int i;

	for (i = 0; i < RUNS; i++) {
		if (MHD_run(mhd) != MHD_YES)
			return -EIO;
		if (MHD_get_timeout(mhd, &timeout) != MHD_YES || timeout)
			break;
	}
	return 0;
}

__u64 sg_exporter_refused(const struct sg_exporter *ex)
{
	return ex->refused;
}

int sg_exporter_run(struct sg_exporter *ex)
{
	int err = 0;

	if (ex->tcp.mhd)
		err = run_side(ex->tcp.mhd);
	if (ex->ctl.mhd && run_side(ex->ctl.mhd))
		err = -EIO;
	return err;
}

void sg_exporter_stop(struct sg_exporter *ex)
{
	if (!ex)
		return;
	/* The daemons first: their connections drop their references to the responses. */
	if (ex->tcp.mhd)
		MHD_stop_daemon(ex->tcp.mhd);
	if (ex->ctl.mhd)
		MHD_stop_daemon(ex->ctl.mhd);
	/* The socket is removed only if it is still ours: a newer exporter may have replaced it. */
	sg_unixsock_remove(&ex->ctl_sock);
	if (ex->diag_fd >= 0)
		close(ex->diag_fd);
	if (ex->subuids_fd >= 0)
		close(ex->subuids_fd);
	if (ex->epoll_fd >= 0)
		close(ex->epoll_fd);
	sg_exporter_free(ex);
}
