// SPDX-License-Identifier: GPL-2.0
/* The policy service's socket, connections and answers; see policysrv.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "daemon/policysrv.h"
#include "util/unixsock.h"

const char *const sg_policy_refusal_names[] = { SG_POLICY_REFUSALS(SG_ENUM_NAME) };

#define NS	       1000000000ULL
#define LISTENER       UINT32_MAX
#define EVENTS	       32
#define ACCEPTS	       64 /* per run: a flood of connections never holds the loop */
#define WHY_MAX	       200
#define LISTEN_BACKLOG 128

struct conn {
	int fd; /* -1: a free slot */
	struct sg_policy_parser p;
	struct sg_policy_req req;
	__u64 since_ns; /* the first byte of the request being read */
	__u64 last_ns;	/* the last answer, or the accept */
};

struct sg_policysrv {
	int epfd, lfd;
	struct sg_unixsock sock;
	uid_t uids[SG_POLICYSRV_UIDS];
	size_t n_uids;
	sg_policy_judge_fn judge;
	void *ctx;
	struct conn *conns;
	unsigned int max;
	struct sg_policysrv_stats st;
};

static void conn_close(struct sg_policysrv *s, struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	s->st.connections--;
}

static void conn_refuse(struct sg_policysrv *s, struct conn *c, enum sg_policy_refusal why)
{
	s->st.refused[why]++;
	conn_close(s, c);
}

static int peer_allowed(const struct sg_policysrv *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred))
		return 0;
	if (cred.uid == 0)
		return 1;
	for (i = 0; i < s->n_uids; i++)
		if (cred.uid == s->uids[i])
			return 1;
	return 0;
}

static struct conn *free_slot(struct sg_policysrv *s)
{
	unsigned int i;

	for (i = 0; i < s->max; i++)
		if (s->conns[i].fd < 0)
			return &s->conns[i];
	return NULL;
}

static void accept_some(struct sg_policysrv *s, __u64 now_ns)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	int fd, i;

	for (i = 0; i < ACCEPTS; i++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!peer_allowed(s, fd)) {
			s->st.refused[SG_PREF_PEER]++;
			close(fd);
			continue;
		}
		c = free_slot(s);
		ev.data.u32 = c ? (__u32)(c - s->conns) : 0;
		if (!c || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			s->st.refused[SG_PREF_CAPACITY]++;
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->last_ns = now_ns;
		s->st.connections++;
	}
}

/* The judge's answer, whole in one write: a client whose socket is full does not read. */
static int answer(struct sg_policysrv *s, struct conn *c)
{
	char why[WHY_MAX] = "", out[WHY_MAX + 32];
	enum sg_policy_verdict v;
	int len;

	v = s->judge(s->ctx, &c->req, why, sizeof(why));
	len = sg_policy_answer(v, why, out, sizeof(out));
	if (len < 0)
		return len;
	if (send(c->fd, out, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) != len)
		return -EAGAIN;
	s->st.requests[v]++;
	s->st.values_cut += c->req.truncated;
	return 0;
}

/* One read of a connection: every request it completes answered, in order. */
static void serve(struct sg_policysrv *s, struct conn *c, __u64 now_ns)
{
	char buf[4096];
	size_t off = 0, used;
	ssize_t n;
	int ret;

	n = read(c->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(s, c);
		return;
	}
	while (off < (size_t)n) {
		if (!c->p.have)
			c->since_ns = now_ns;
		ret = sg_policy_parse(&c->p, buf + off, (size_t)n - off, &used, &c->req);
		off += used;
		if (ret == SG_POLICY_MORE)
			return;
		if (ret < 0) {
			conn_refuse(s, c, ret == -E2BIG ? SG_PREF_OVERSIZED : SG_PREF_MALFORMED);
			return;
		}
		if (answer(s, c)) {
			conn_refuse(s, c, SG_PREF_UNREAD);
			return;
		}
		c->last_ns = now_ns;
	}
}

void sg_policysrv_run(struct sg_policysrv *s, __u64 now_ns)
{
	struct epoll_event evs[EVENTS];
	struct conn *c;
	int n, i;

	n = epoll_wait(s->epfd, evs, EVENTS, 0);
	for (i = 0; i < n; i++) {
		if (evs[i].data.u32 == LISTENER) {
			accept_some(s, now_ns);
			continue;
		}
		c = &s->conns[evs[i].data.u32];
		if (c->fd >= 0)
			serve(s, c, now_ns);
	}
}

void sg_policysrv_expire(struct sg_policysrv *s, __u64 now_ns)
{
	struct conn *c;
	unsigned int i;

	for (i = 0; i < s->max; i++) {
		c = &s->conns[i];
		if (c->fd < 0)
			continue;
		if (c->p.have && now_ns - c->since_ns >= SG_POLICYSRV_REQ_SECONDS * NS)
			conn_refuse(s, c, SG_PREF_TIMEOUT);
		else if (!c->p.have && now_ns - c->last_ns >= SG_POLICYSRV_IDLE_SECONDS * NS)
			conn_close(s, c);
	}
}

static int setup(struct sg_policysrv *s, const struct sg_policysrv_opts *o)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LISTENER };
	unsigned int i;

	if (!o->judge || o->n_uids > SG_POLICYSRV_UIDS)
		return -EINVAL;
	memcpy(s->uids, o->uids, o->n_uids * sizeof(*o->uids));
	s->n_uids = o->n_uids;
	s->judge = o->judge;
	s->ctx = o->ctx;
	s->max = o->max_conns ? o->max_conns : SG_POLICYSRV_CONNS;
	s->conns = calloc(s->max, sizeof(*s->conns));
	if (!s->conns)
		return -ENOMEM;
	for (i = 0; i < s->max; i++)
		s->conns[i].fd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	/* The directory may be a served user's: Postfix's private/ is its mail_owner's. */
	s->lfd = sg_unixsock_listen(&s->sock, o->path, o->uids, o->n_uids,
				    o->group == (gid_t)-1 ? 0600 : 0660, o->group, LISTEN_BACKLOG);
	if (s->lfd < 0)
		return s->lfd;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) ? -errno : 0;
}

int sg_policysrv_open(const struct sg_policysrv_opts *o, struct sg_policysrv **out)
{
	struct sg_policysrv *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->epfd = s->lfd = -1;
	s->sock = (struct sg_unixsock)SG_UNIXSOCK_INIT;
	err = setup(s, o);
	if (err) {
		sg_policysrv_close(s);
		return err;
	}
	*out = s;
	return 0;
}

int sg_policysrv_fd(const struct sg_policysrv *s)
{
	return s->epfd;
}

void sg_policysrv_stats(const struct sg_policysrv *s, struct sg_policysrv_stats *out)
{
	*out = s->st;
}

void sg_policysrv_close(struct sg_policysrv *s)
{
	unsigned int i;

	if (!s)
		return;
	for (i = 0; s->conns && i < s->max; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	if (s->lfd >= 0)
		close(s->lfd);
	sg_unixsock_remove(&s->sock);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->conns);
	free(s);
}
