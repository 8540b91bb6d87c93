// SPDX-License-Identifier: GPL-2.0
/* The fleet and the owner of a contained account told; see mailnotice.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fleetpush.h"
#include "daemon/mailnotice.h"
#include "host/attrib.h"
#include "mail/ownernotice.h"
#include "util/log.h"
#include "util/render.h"

int sg_mailnotice_check(const struct sg_config *c, char *err, size_t errlen)
{
	char *text;
	int ret;

	if (!c->notify.owner_mail)
		return 0;
	ret = sg_owner_template(c, &text, err, errlen);
	free(text);
	return ret;
}

void sg_mailnotice_contained(struct sg_mailguard *g, const struct sg_config *c,
			     const struct sg_mail_principal *p, const char *rule,
			     const json_t *done, const json_t *ev)
{
	const char *ips[SG_MAIL_MAX_IPS];
	char host[256] = "", user[64], to[SG_MTA_ADDR_MAX], why[1024],
	     who[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct sg_notice_facts f = {
		.account = strchr(p->id, ':') ? strchr(p->id, ':') + 1 : p->id,
		.rule = rule,
		.host = host,
		.messages = p->t.messages,
		.recipients = p->t.recipients,
		.delivered = p->t.sent + p->t.bounced,
		.bounced = p->t.bounced,
		.held = json_array_size(json_object_get(done, "held")),
		.ips = ips,
		.first = p->first,
		.last = p->last,
	};
	enum sg_notice_outcome out;
	size_t i;

	sg_fleetpush_contain(p->id, rule, done, ev);
	if (!c->notify.owner_mail)
		return;
	/* A local sender is its user to its owner, not a UID. */
	if (p->uid >= 0 && p->uid <= 0xffffffffLL &&
	    !sg_user_name_cached((__u32)p->uid, user, sizeof(user)))
		f.account = user;
	for (i = 0; i < p->n_ips; i++)
		ips[f.n_ips++] = p->ips[i].ip;
	gethostname(host, sizeof(host) - 1);
	out = sg_owner_notify(c, p->id, &f, to, sizeof(to), why, sizeof(why));
	if (out == SG_NOTICE_NONE)
		return;
	g->notices[out]++;
	sg_log_value(p->id, who, sizeof(who));
	if (out == SG_NOTICE_SENT)
		sg_info("notice principal=%s owner=%s sent (%s)", who, to, why);
	else if (out == SG_NOTICE_NO_ADDRESS)
		sg_warn("notice principal=%s not sent: no owner's address (%s)", who, why);
	else
		sg_error("notice principal=%s owner=%s failed: %s", who, *to ? to : "-", why);
}
