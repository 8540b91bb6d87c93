/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The order in which the mail statistics' principals give way at their
 * bound (mailstats.h). A flood of throwaway principals (a catch-all's
 * mailboxes, each a principal through the bounces it receives) must not
 * push out an account that is sending, so there are two lists, each
 * idlest first: the principals that never submitted a message, by their
 * last bounce, and those that did, by their last message. The one to go
 * is the idlest of the inbound-only ones and of the senders silent for
 * SG_MAIL_SENDER_ACTIVE; an active sender only when there is neither; a
 * contained one never. Pure; constant time but for passing over
 * contained principals.
 */
#ifndef SG_MAILORDER_H
#define SG_MAILORDER_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "core/mailstats.h"

#define SG_MAIL_SENDER_ACTIVE 3600 /* s: a sender within this is not evicted first */

/* A principal as mailstats allocates it: the principal, then its place in the order. */
struct sg_mail_node {
	struct sg_mail_principal p; /* first: a principal's address is its node's */
	struct sg_mail_node *prev, *next;
	int sender;	/* in the senders' list */
	time_t sent_at; /* its last message */
	/* mailstats': a number new each time the node is reused for another principal */
	__u64 serial;
	struct sg_mail_node *older, *newer; /* mailstats': in order of first appearance */
};

struct sg_mail_order {
	struct {
		struct sg_mail_node *first, *last;
	} lists[2]; /* inbound-only, senders */
};

static inline struct sg_mail_node *sg_mail_node_of(struct sg_mail_principal *p)
{
	return (struct sg_mail_node *)p;
}

/* A new principal, inbound-only until it submits, the last to go of its list. */
void sg_mail_order_add(struct sg_mail_order *o, struct sg_mail_node *n);

/* n submitted a message at now: the last of the senders to go. */
void sg_mail_order_sent(struct sg_mail_order *o, struct sg_mail_node *n, time_t now);

/* n received a bounce: the last of the inbound-only ones to go, if it is one. */
void sg_mail_order_bounced(struct sg_mail_order *o, struct sg_mail_node *n);

void sg_mail_order_remove(struct sg_mail_order *o, struct sg_mail_node *n);

/* The principal to give way at now, as above; NULL when every one is contained. */
struct sg_mail_node *sg_mail_order_victim(const struct sg_mail_order *o, time_t now);

#endif
