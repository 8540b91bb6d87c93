// SPDX-License-Identifier: GPL-2.0
/* Audit entries as events; see event.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "notify/event.h"
#include "host/audit.h"
#include "util/parse.h"
#include "util/render.h"

const char *const sg_event_names[SG_EVENT__MAX] = {
	[SG_EVENT_CONTAIN] = "contain", [SG_EVENT_RELEASE] = "release", [SG_EVENT_BAN] = "ban",
	[SG_EVENT_UNBAN] = "unban",	[SG_EVENT_ALERT] = "alert",
};

/* Audit actions that are events; only the ending ones count whoever made them. */
static const struct {
	const char *action;
	enum sg_notify_event event;
	int any_actor;
} actions[] = {
	{ "throttle", SG_EVENT_CONTAIN, 0 }, { "block", SG_EVENT_CONTAIN, 0 },
	{ "contain", SG_EVENT_CONTAIN, 0 },  { "release", SG_EVENT_RELEASE, 1 },
	{ "expire", SG_EVENT_RELEASE, 1 },   { "ban", SG_EVENT_BAN, 0 },
	{ "unban", SG_EVENT_UNBAN, 1 },	     { "ban-expire", SG_EVENT_UNBAN, 1 },
	{ "alert", SG_EVENT_ALERT, 0 },	     { "kill", SG_EVENT_ALERT, 0 },
};

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An address or prefix ("198.51.100.7", "2001:db8::/64"), as bans name theirs. */
static int is_address(const char *s)
{
	return strspn(s, "0123456789abcdefABCDEF.:/") == strlen(s) && strpbrk(s, ".:");
}

/* What was acted on, and its kind: the target (account, address, "host"), else the user. */
static json_t *principal(const json_t *entry, const char **kind)
{
	const json_t *uid = json_object_get(entry, "uid");
	const char *target = str(entry, "target"), *user = str(entry, "user"), *why;
	char addr[INET6_ADDRSTRLEN + 8];
	struct sg_ban_key key;

	if (target) {
		*kind = !strcmp(target, "host") ? "host"
			: is_address(target)	? "address"
						: "account";
		/*
		 * One address, one name: a rule's ban names "198.51.100.7", its
		 * expiry and `unban` "198.51.100.7/32"; the ending must find the
		 * alert the start made.
		 */
		if (!strcmp(*kind, "address") && !sg_parse_cidr(target, &key, &why))
			return json_string(key.prefixlen == 128
						   ? sg_format_addr(key.addr, addr, sizeof(addr))
						   : sg_format_cidr(&key, addr, sizeof(addr)));
		return json_string(target);
	}
	*kind = "uid";
	if (user)
		return json_string(user);
	return json_is_integer(uid)
		       ? json_sprintf("uid %" JSON_INTEGER_FORMAT, json_integer_value(uid))
		       : NULL;
}

/*
 * "smtpguard explain WHO", to be pasted into a root shell: WHO (which a
 * customer may have chosen) single-quoted unless it is plain. An address's
 * prefix length goes: explain takes the address. The host-wide alert names
 * no one: its line is in the audit log.
 */
static json_t *explain(const char *who, const char *kind)
{
	size_t len = strcspn(who, !strcmp(kind, "address") ? "/" : ""), i, off;
	int plain = len && strspn(who, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789@._+:-") >= len;
	char *buf;
	json_t *v;

	if (!strcmp(kind, "host"))
		return json_string("smtpguard log");
	buf = malloc(4 * len + 32);
	if (!buf)
		return NULL;
	off = (size_t)sprintf(buf, "smtpguard explain %s", plain ? "" : "'");
	for (i = 0; i < len; i++)
		off += (size_t)(who[i] == '\'' ? sprintf(buf + off, "'\\''")
					       : sprintf(buf + off, "%c", who[i]));
	strcpy(buf + off, plain ? "" : "'");
	v = json_string(buf);
	free(buf);
	return v;
}

/* The rule: the evidence's for a mail account, the reason for a user's. */
static json_t *rule(const json_t *entry)
{
	const char *r = str(json_object_get(entry, "params"), "rule");

	if (!r)
		r = str(entry, "reason");
	return r ? json_string(r) : json_null();
}

static json_t *field(const json_t *entry, const char *key)
{
	json_t *v = json_object_get(entry, key);

	return v ? json_incref(v) : json_null();
}

json_t *sg_event_make(const json_t *entry, const char *host)
{
	const char *action = str(entry, "action"), *actor = str(entry, "actor"), *kind;
	size_t i, n = sizeof(actions) / sizeof(actions[0]);
	json_t *e, *who;
	char *summary;

	for (i = 0; i < n && (!action || strcmp(actions[i].action, action)); i++)
		;
	if (i == n || !actor || (!actions[i].any_actor && strcmp(actor, "daemon")))
		return NULL;
	who = principal(entry, &kind);
	if (!who)
		return NULL;
	summary = sg_audit_text(entry, 0);
	e = json_pack(
		"{s:s, s:s, s:s, s:O, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s?, s:o, s:o, s:s}",
		"event", sg_event_names[actions[i].event], "action", action, "actor", actor,
		"principal", who, "kind", kind, "uid", field(entry, "uid"), "user",
		field(entry, "user"), "rule", rule(entry), "reason", field(entry, "reason"),
		"evidence", field(entry, "params"), "explain",
		explain(json_string_value(who), kind), "summary", summary, "time",
		field(entry, "time"), "expires", field(entry, "expires"), "host", host);
	free(summary);
	json_decref(who);
	return e;
}

enum sg_notify_event sg_event_of(const json_t *event)
{
	const char *name = str(event, "event");
	int i;

	for (i = 0; i < SG_EVENT__MAX - 1 && strcmp(sg_event_names[i], name); i++)
		;
	return (enum sg_notify_event)i;
}
