/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy service's transport: a unix stream socket the MTA asks (Postfix
 * check_policy_service, Exim ${readsocket}), served from the daemon's one
 * epoll loop without ever blocking it. Peers are checked by SO_PEERCRED at
 * accept: root and the MTA's own users only. Connections are persistent
 * (Postfix asks many requests on one) and bounded in number; a request not
 * complete within SG_POLICYSRV_REQ_SECONDS, a malformed or oversized one,
 * and a client that does not read its answers are closed and counted; an
 * idle connection is closed after Postfix's own max_idle. Each request is
 * answered by the judge given at open. Functions return -errno.
 */
#ifndef SG_POLICYSRV_H
#define SG_POLICYSRV_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#include "mail/policyproto.h"

struct sg_policysrv;

#define SG_POLICYSRV_CONNS	  256 /* Postfix's default_process_limit of 100 smtpd, twice, and more */
#define SG_POLICYSRV_UIDS	  4
#define SG_POLICYSRV_REQ_SECONDS  5
#define SG_POLICYSRV_IDLE_SECONDS 300 /* Postfix's smtpd_policy_service_max_idle */

/* Why a connection was refused or closed before its answer. */
/* clang-format off */
#define SG_POLICY_REFUSALS(X)                                                                      \
	X(SG_PREF_PEER, "peer")                                                                    \
	X(SG_PREF_CAPACITY, "capacity")                                                            \
	X(SG_PREF_MALFORMED, "malformed")                                                          \
	X(SG_PREF_OVERSIZED, "oversized")                                                          \
	X(SG_PREF_TIMEOUT, "timeout")                                                              \
	X(SG_PREF_UNREAD, "unread")
/* clang-format on */
enum sg_policy_refusal { SG_POLICY_REFUSALS(SG_ENUM_VALUE) SG_PREF__MAX };
extern const char *const sg_policy_refusal_names[];

struct sg_policysrv_stats {
	__u64 requests[SG_POLICY_VERDICT_KINDS]; /* answered, by verdict */
	__u64 refused[SG_PREF__MAX];
	__u64 values_cut;  /* request values longer than their field, judged cut */
	__u32 connections; /* open now */
};

/* The answer to one request, and its text (NUL-terminated, may stay empty). */
typedef enum sg_policy_verdict (*sg_policy_judge_fn)(void *ctx, const struct sg_policy_req *req,
						     char *why, size_t whylen);

struct sg_policysrv_opts {
	const char *path;
	const uid_t *uids;	/* served besides root: the MTA's users */
	size_t n_uids;		/* at most SG_POLICYSRV_UIDS */
	gid_t group;		/* the socket's group, mode 0660; (gid_t)-1: root's, 0600 */
	unsigned int max_conns; /* 0: SG_POLICYSRV_CONNS */
	sg_policy_judge_fn judge;
	void *ctx;
};

/*
 * Listens at o->path, whose directory (made, 0755, when missing) must be
 * root's or an allowed user's and writable by no one else (-EPERM). A
 * socket left there is replaced; anything else, a symlink included, is
 * left alone: -EEXIST.
 */
int sg_policysrv_open(const struct sg_policysrv_opts *o, struct sg_policysrv **out);

/* Readable when there is work: add it to the loop's epoll. */
int sg_policysrv_fd(const struct sg_policysrv *s);

/* The pending work: accepts, reads, answers; now_ns on CLOCK_MONOTONIC. */
void sg_policysrv_run(struct sg_policysrv *s, __u64 now_ns);

/* Once a tick: requests older than SG_POLICYSRV_REQ_SECONDS and idle connections closed. */
void sg_policysrv_expire(struct sg_policysrv *s, __u64 now_ns);

void sg_policysrv_stats(const struct sg_policysrv *s, struct sg_policysrv_stats *out);

/* Closes every connection and removes the socket, if it is still this one. */
void sg_policysrv_close(struct sg_policysrv *s);

#endif
