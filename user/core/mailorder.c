// SPDX-License-Identifier: GPL-2.0
/* The order in which mail principals give way at the bound; see mailorder.h. */
#include "core/mailorder.h"

void sg_mail_order_remove(struct sg_mail_order *o, struct sg_mail_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		o->lists[n->sender].first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		o->lists[n->sender].last = n->prev;
	n->prev = n->next = NULL;
}

/* n, in no list, appended to the list of its kind. */
static void append(struct sg_mail_order *o, struct sg_mail_node *n)
{
	n->prev = o->lists[n->sender].last;
	if (n->prev)
		n->prev->next = n;
	else
		o->lists[n->sender].first = n;
	o->lists[n->sender].last = n;
}

void sg_mail_order_add(struct sg_mail_order *o, struct sg_mail_node *n)
{
	n->sender = 0;
	n->prev = n->next = NULL;
	append(o, n);
}

void sg_mail_order_sent(struct sg_mail_order *o, struct sg_mail_node *n, time_t now)
{
	sg_mail_order_remove(o, n);
	n->sender = 1;
	n->sent_at = now;
	append(o, n);
}

void sg_mail_order_bounced(struct sg_mail_order *o, struct sg_mail_node *n)
{
	if (n->sender)
		return;
	sg_mail_order_remove(o, n);
	append(o, n);
}

/* The idlest of a list that may go. */
static struct sg_mail_node *idlest(const struct sg_mail_order *o, int sender)
{
	struct sg_mail_node *n = o->lists[sender].first;

	while (n && n->p.contained)
		n = n->next;
	return n;
}

struct sg_mail_node *sg_mail_order_victim(const struct sg_mail_order *o, time_t now)
{
	struct sg_mail_node *in = idlest(o, 0), *out = idlest(o, 1);

	/* Among the inbound-only and the idle senders, the idlest; p.last is the last bounce. */
	if (in && out && now - out->sent_at >= SG_MAIL_SENDER_ACTIVE && out->sent_at < in->p.last)
		return out;
	return in ? in : out;
}
