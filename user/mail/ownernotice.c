// SPDX-License-Identifier: GPL-2.0
/* The contained account's owner told, once; see ownernotice.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/mailstats.h"
#include "host/owner.h"
#include "mail/containstate.h"
#include "mail/mta.h"
#include "mail/ownernotice.h"
#include "util/render.h"

/* A notice is a page of text: a template file longer than this is not one. */
#define TEMPLATE_MAX (64 << 10)

const char *const sg_notice_outcome_names[SG_NOTICE_OUTCOMES] = {
	[SG_NOTICE_SENT] = "sent",
	[SG_NOTICE_FAILED] = "failed",
	[SG_NOTICE_NO_ADDRESS] = "no_address",
};

int sg_owner_template(const struct sg_config *c, char **text, char *err, size_t errlen)
{
	const char *path = c->notify.owner_template;
	char why[160];
	FILE *in = fopen(path, "re");
	size_t n;
	int ret;

	*text = NULL;
	if (!in) {
		ret = -errno;
		snprintf(err, errlen, "[notify] owner_template %s: %s", path, strerror(-ret));
		return ret;
	}
	*text = malloc(TEMPLATE_MAX + 1);
	n = *text ? fread(*text, 1, TEMPLATE_MAX + 1, in) : 0;
	ret = !*text ? -ENOMEM : ferror(in) ? -EIO : n > TEMPLATE_MAX ? -EFBIG : 0;
	fclose(in);
	if (!ret) {
		(*text)[n] = '\0';
		if (strlen(*text) != n)
			snprintf(why, sizeof(why), "a NUL byte in it"), ret = -EINVAL;
		else
			ret = sg_notice_check(*text, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "%s", strerror(-ret));
	}
	if (ret) {
		snprintf(err, errlen, "[notify] owner_template %s: %s", path, why);
		free(*text);
		*text = NULL;
	}
	return ret;
}

struct mark_ctx {
	const char *id;
	json_t *notice; /* what to record; on a claim, NULL */
	char mta[16];	/* the entry's MTA, on a claim */
};

/* Claims the notice of id's containment (-EALREADY: it has one; -ENOENT: not contained). */
static int claim(json_t *s, void *ctx)
{
	struct mark_ctx *m = ctx;
	json_t *e = json_object_get(s, m->id);

	if (!e || json_object_get(e, "released"))
		return -ENOENT;
	if (json_object_get(e, "notice"))
		return -EALREADY;
	snprintf(m->mta, sizeof(m->mta), "%s", json_string_value(json_object_get(e, "mta")) ?: "");
	return json_object_set_new(e, "notice", json_pack("{s:I}", "at", (json_int_t)time(NULL)))
		       ? -ENOMEM
		       : 0;
}

static int record(json_t *s, void *ctx)
{
	struct mark_ctx *m = ctx;
	json_t *e = json_object_get(s, m->id);

	/* Released meanwhile: nothing to record on. */
	return !e ? -ENOENT : json_object_set(e, "notice", m->notice) ? -ENOMEM : 0;
}

/*
 * The owner's address into to: the panel's, unless it is the contained
 * login; else the fallback. Where it came from, or why there is none, into why.
 */
static int owner_address(const struct sg_config *c, const char *principal, char *to, size_t len,
			 char *why, size_t whylen)
{
	const char *login = !strncmp(principal, SG_MAIL_SASL, strlen(SG_MAIL_SASL))
				    ? principal + strlen(SG_MAIL_SASL)
				    : "";
	char how[512];
	int ret = sg_owner_contact(c, principal, to, len, how, sizeof(how));

	if (!ret && strcasecmp(to, login)) {
		snprintf(why, whylen, "%s", how);
		return 0;
	}
	if (!ret)
		snprintf(how + strlen(how), sizeof(how) - strlen(how),
			 ": its address is the contained one");
	if (!*c->notify.owner_fallback || !strcasecmp(c->notify.owner_fallback, login)) {
		snprintf(why, whylen, "%s; %s", how,
			 *c->notify.owner_fallback
				 ? "[notify] owner_fallback is the contained address"
				 : "no [notify] owner_fallback");
		to[0] = '\0';
		return -ENOENT;
	}
	snprintf(why, whylen, "the fallback, as %s", how);
	snprintf(to, len, "%s", c->notify.owner_fallback);
	return 0;
}

/* Sent to f->owner; on failure, why says what failed instead of where the address came from. */
static enum sg_notice_outcome send_notice(const struct sg_config *c, const char *mta,
					  struct sg_notice_facts *f, char *why, size_t whylen)
{
	const struct sg_mta_ops *b = sg_mta_backend_named(mta);
	char *tmpl, *msg, err[1024] = "";
	int ret;

	if (!b || !b->submit) {
		snprintf(why, whylen, "no MTA to send it through");
		return SG_NOTICE_FAILED;
	}
	if (sg_owner_template(c, &tmpl, why, whylen))
		return SG_NOTICE_FAILED;
	ret = sg_notice_render(tmpl, f, &msg);
	free(tmpl);
	if (ret) {
		snprintf(why, whylen, "rendering it: %s", strerror(-ret));
		return SG_NOTICE_FAILED;
	}
	ret = b->submit(c, msg, err, sizeof(err));
	free(msg);
	if (ret)
		snprintf(why, whylen, "%s", err);
	return ret ? SG_NOTICE_FAILED : SG_NOTICE_SENT;
}

enum sg_notice_outcome sg_owner_notify(const struct sg_config *c, const char *principal,
				       struct sg_notice_facts *f, char *to, size_t tolen, char *why,
				       size_t whylen)
{
	char id[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)];
	struct mark_ctx m = { id, NULL, "" };
	enum sg_notice_outcome out;
	int ret;

	to[0] = why[0] = '\0';
	if (sg_escape_id(principal, id, sizeof(id)) < 0)
		return SG_NOTICE_NONE;
	/* Claimed first: whatever happens next, this containment's notice is this one. */
	ret = sg_cstate_update(c, claim, &m, 1);
	if (ret == -EALREADY || ret == -ENOENT)
		return SG_NOTICE_NONE;
	if (ret) {
		snprintf(why, whylen, "%s: %s", c->mta.contained_path, strerror(-ret));
		return SG_NOTICE_FAILED;
	}
	if (owner_address(c, principal, to, tolen, why, whylen)) {
		out = SG_NOTICE_NO_ADDRESS;
	} else {
		f->owner = to;
		out = send_notice(c, m.mta, f, why, whylen);
	}
	m.notice = json_pack("{s:I, s:s, s:s}", "at", (json_int_t)time(NULL), "to", to, "outcome",
			     sg_notice_outcome_names[out]);
	if (m.notice && out != SG_NOTICE_SENT)
		json_object_set_new(m.notice, "error", sg_json_text(why));
	/* The claim stands if this is not written: the notice is not sent again either way. */
	sg_cstate_update(c, record, &m, 0);
	json_decref(m.notice);
	return out;
}
