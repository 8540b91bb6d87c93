// SPDX-License-Identifier: GPL-2.0
/* The policy delegation protocol, byte by byte; see policyproto.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mail/policyproto.h"

const char *const sg_policy_verdict_names[] = { SG_POLICY_VERDICTS(SG_ENUM_NAME) };

enum kind { TEXT, PORT, UID, COUNT };

#define FIELD(f) offsetof(struct sg_policy_req, f), sizeof(((struct sg_policy_req *)0)->f)

/* The attributes smtpguard keeps; every other one is read past. */
static const struct attr {
	const char *name;
	size_t off, size;
	enum kind kind;
} attrs[] = {
	{ "request", FIELD(request), TEXT },
	{ "protocol_state", FIELD(protocol_state), TEXT },
	{ "sasl_username", FIELD(sasl_username), TEXT },
	{ "client_address", FIELD(client_address), TEXT },
	{ "client_port", FIELD(client_port), PORT },
	{ "server_address", FIELD(server_address), TEXT },
	{ "server_port", FIELD(server_port), PORT },
	{ "sender", FIELD(sender), TEXT },
	{ "recipient", FIELD(recipient), TEXT },
	{ "recipient_count", FIELD(recipient_count), COUNT },
	{ "queue_id", FIELD(queue_id), TEXT },
	{ "caller_uid", FIELD(caller_uid), UID },
};

#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))
_Static_assert(NATTRS <= 32, "one bit of sg_policy_parser.cut per attribute");

static void clear(struct sg_policy_req *r)
{
	memset(r, 0, sizeof(*r));
	r->client_port = -1;
	r->server_port = -1;
	r->caller_uid = -1;
}

static int lookup(const char *name, size_t len)
{
	size_t i;

	if (len >= SG_POLICY_NAME_MAX)
		return -1;
	for (i = 0; i < NATTRS; i++)
		if (strlen(attrs[i].name) == len && !memcmp(attrs[i].name, name, len))
			return (int)i;
	return -1;
}

/* '=' seen: the value goes to its field, emptied (the last of a repeated name wins). */
static void start_value(struct sg_policy_parser *p, struct sg_policy_req *r)
{
	p->in_value = 1;
	p->attr = lookup(p->name, p->len);
	p->len = 0;
	p->num = 0;
	p->num_bad = 0;
	if (p->attr < 0 || attrs[p->attr].kind != TEXT)
		return;
	memset((char *)r + attrs[p->attr].off, 0, attrs[p->attr].size);
	/* A repeated name replaces the value: a cut counts once, for the value kept. */
	p->cut &= ~(1U << p->attr);
	r->truncated = (__u32)__builtin_popcount(p->cut);
}

static void value_byte(struct sg_policy_parser *p, struct sg_policy_req *r, char c)
{
	const struct attr *a;

	if (p->attr < 0)
		return;
	a = &attrs[p->attr];
	if (a->kind == TEXT) {
		/* Counted once, at the first byte that does not fit. */
		if (p->len + 1 < a->size)
			((char *)r + a->off)[p->len] = c;
		else if (p->len + 1 == a->size)
			r->truncated = (__u32)__builtin_popcount(p->cut |= 1U << p->attr);
	} else if (c < '0' || c > '9' || p->num > 0xffffffffULL / 10) {
		p->num_bad = 1;
	} else {
		p->num = p->num * 10 + (__u64)(c - '0');
	}
	p->len++;
}

static void end_value(const struct sg_policy_parser *p, struct sg_policy_req *r)
{
	int ok = p->attr >= 0 && !p->num_bad && p->len > 0;
	void *f;

	if (p->attr < 0)
		return;
	f = (char *)r + attrs[p->attr].off;
	switch (attrs[p->attr].kind) {
	case TEXT:
		break;
	case PORT:
		*(int *)f = ok && p->num <= 65535 ? (int)p->num : -1;
		break;
	case UID:
		*(__s64 *)f = ok && p->num <= 0xffffffffULL ? (__s64)p->num : -1;
		break;
	case COUNT:
		*(__u32 *)f = ok && p->num <= 0xffffffffULL ? (__u32)p->num : 0;
		break;
	}
}

static void reset(struct sg_policy_parser *p)
{
	memset(p, 0, sizeof(*p));
}

/* One byte: 0 to go on, SG_POLICY_DONE at the request's empty line, or -errno. */
static int take(struct sg_policy_parser *p, struct sg_policy_req *r, char c)
{
	int line_start = p->have == 0 || p->last_nl;

	if (p->have == 0)
		clear(r);
	if (++p->have > SG_POLICY_REQ_MAX)
		return -E2BIG;
	if (c == '\0')
		return -EINVAL;
	p->last_nl = c == '\n';
	if (c == '\n') {
		if (line_start)
			return p->have > 1 ? SG_POLICY_DONE : -EINVAL;
		if (!p->in_value)
			return -EINVAL;
		end_value(p, r);
		p->in_value = 0;
		p->len = 0;
		return 0;
	}
	if (p->in_value) {
		value_byte(p, r, c);
	} else if (c == '=') {
		if (!p->len)
			return -EINVAL;
		start_value(p, r);
	} else {
		if (p->len < SG_POLICY_NAME_MAX)
			p->name[p->len] = c;
		p->len++;
	}
	return 0;
}

int sg_policy_parse(struct sg_policy_parser *p, const char *buf, size_t len, size_t *used,
		    struct sg_policy_req *out)
{
	size_t i;
	int ret;

	for (i = 0; i < len; i++) {
		ret = take(p, out, buf[i]);
		if (ret == 0)
			continue;
		*used = i + 1;
		reset(p);
		return ret;
	}
	*used = len;
	return SG_POLICY_MORE;
}

int sg_policy_answer(enum sg_policy_verdict v, const char *text, char *buf, size_t len)
{
	size_t n = 0;
	int w;

	if ((unsigned int)v >= SG_POLICY_VERDICT_KINDS)
		return -EINVAL;
	/* Postfix takes no text after DUNNO. */
	if (v == SG_POLICY_DUNNO)
		text = NULL;
	while (text && text[n] >= 0x20 && text[n] <= 0x7e)
		n++;
	w = snprintf(buf, len, "action=%s%s%.*s\n\n", sg_policy_verdict_names[v], n ? " " : "",
		     (int)n, n ? text : "");
	return w < 0 || (size_t)w >= len ? -ENOSPC : w;
}

const char *sg_policy_socket(const char *setting, enum sg_mta_type mta)
{
	if (!strcmp(setting, "none"))
		return NULL;
	if (strcmp(setting, "auto"))
		return setting;
	if (mta == SG_MTA_POSTFIX)
		return SG_POLICY_SOCKET_POSTFIX;
	return mta == SG_MTA_EXIM ? SG_POLICY_SOCKET_EXIM : NULL;
}
