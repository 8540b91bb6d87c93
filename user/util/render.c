// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_link.h>

#include "util/render.h"
#include "sg_bucket.h"

const char *const sg_error_names[SG_ERR__MAX] = { SG_ERRORS(SG_ENUM_NAME) };
const char *const sg_counter_names[SG_CNT__MAX] = { SG_COUNTERS(SG_ENUM_NAME) };
const char *const sg_ban_reason_names[SG_BAN__MAX] = { SG_BAN_REASONS(SG_ENUM_NAME) };
static const char *const sg_mode_names[SG_MODE__MAX] = { SG_MODES(SG_ENUM_NAME) };
static const char *const sg_setter_names[SG_SET__MAX] = { SG_SETTERS(SG_ENUM_NAME) };

const char *sg_ban_reason_name(__u32 reason)
{
	return reason < SG_BAN__MAX ? sg_ban_reason_names[reason] : "unknown";
}

const char *sg_setter_name(__u32 setter)
{
	return sg_setter_names[setter < SG_SET__MAX ? setter : SG_SET_UNKNOWN];
}

const char *sg_mode_name(__u32 mode)
{
	return mode < SG_MODE__MAX ? sg_mode_names[mode] : "unknown";
}

char *sg_format_rate(__u64 per_hour, char *buf, size_t len)
{
	if (per_hour && per_hour % 3600 == 0)
		snprintf(buf, len, "%llu/s", (unsigned long long)(per_hour / 3600));
	else if (per_hour && per_hour % 60 == 0)
		snprintf(buf, len, "%llu/min", (unsigned long long)(per_hour / 60));
	else
		snprintf(buf, len, "%llu/h", (unsigned long long)per_hour);
	return buf;
}

char *sg_format_duration(__u64 ns, char *buf, size_t len)
{
	static const struct {
		char unit;
		__u64 secs;
	} parts[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	__u64 secs = ns / SG_NS_PER_SEC;
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && used < len; i++) {
		if (secs < parts[i].secs && !(parts[i].secs == 1 && !used))
			continue;
		used += snprintf(buf + used, len - used, "%llu%c",
				 (unsigned long long)(secs / parts[i].secs), parts[i].unit);
		secs %= parts[i].secs;
		if (!secs)
			break;
	}
	return buf;
}

char *sg_format_addr(const __u32 addr[4], char *buf, size_t len)
{
	if (!addr[0] && !addr[1] && addr[2] == htonl(0xffff))
		inet_ntop(AF_INET, &addr[3], buf, len);
	else
		inet_ntop(AF_INET6, addr, buf, len);
	return buf;
}

char *sg_format_cidr(const struct sg_ban_key *key, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int v4 = !key->addr[0] && !key->addr[1] && key->addr[2] == htonl(0xffff) &&
		 key->prefixlen >= 96;

	snprintf(buf, len, "%s/%u", sg_format_addr(key->addr, addr, sizeof(addr)),
		 v4 ? key->prefixlen - 96 : key->prefixlen);
	return buf;
}

static int top_cmp(const void *a, const void *b)
{
	const struct sg_top_row *x = a, *y = b;

	if (x->attempts != y->attempts)
		return x->attempts < y->attempts ? 1 : -1;
	if (x->egress_syns != y->egress_syns)
		return x->egress_syns < y->egress_syns ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->no_socket - y->no_socket;
}

void sg_top_sort(struct sg_top_row *rows, size_t n)
{
	qsort(rows, n, sizeof(*rows), top_cmp);
}

static json_t *policy_json(const struct sg_policy *p, __u64 now)
{
	char rate[32];
	json_t *o = json_object();

	json_object_set_new(o, "mode", json_string(sg_mode_name(p->mode)));
	if (p->mode == SG_MODE_THROTTLE) {
		json_object_set_new(o, "rate", json_string(sg_format_rate(p->rate_per_hour, rate,
									  sizeof(rate))));
		json_object_set_new(o, "burst", json_integer(p->burst));
	}
	json_object_set_new(o, "expires_in_s",
			    p->expires_ns ? json_integer(p->expires_ns > now ?
								 (p->expires_ns - now) / SG_NS_PER_SEC :
								 0) :
					    json_null());
	return o;
}

json_t *sg_top_json(const struct sg_top_row *rows, size_t n, __u64 now)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sg_top_row *r = &rows[i];
		json_t *o = json_object();

		json_object_set_new(o, "uid", json_integer(r->uid));
		json_object_set_new(o, "user", r->user[0] ? json_string(r->user) : json_null());
		json_object_set_new(o, "no_socket", json_boolean(r->no_socket));
		json_object_set_new(o, "attempts", json_integer(r->attempts));
		json_object_set_new(o, "allowed", json_integer(r->allowed));
		json_object_set_new(o, "denied", json_integer(r->denied));
		json_object_set_new(o, "egress_syns", json_integer(r->egress_syns));
		json_object_set_new(o, "policy",
				    r->has_policy ? policy_json(&r->policy, now) : json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

static char *policy_text(const struct sg_policy *p, __u64 now, char *buf, size_t len)
{
	char rate[32], left[32];
	int n;

	if (p->mode == SG_MODE_THROTTLE)
		n = snprintf(buf, len, "throttle %s burst %u",
			     sg_format_rate(p->rate_per_hour, rate, sizeof(rate)), p->burst);
	else
		n = snprintf(buf, len, "%s", sg_mode_name(p->mode));
	if (p->expires_ns && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " for %s",
			 sg_format_duration(p->expires_ns > now ? p->expires_ns - now : 0, left,
					    sizeof(left)));
	return buf;
}

void sg_top_print(FILE *f, const struct sg_top_row *rows, size_t n, __u64 now)
{
	char user[80], policy[96];
	size_t i;

	fprintf(f, "%10s %-16s %10s %10s %10s %10s  %s\n", "UID", "USER", "ATTEMPTS", "ALLOWED",
		"DENIED", "EGRESS_SYN", "POLICY");
	for (i = 0; i < n; i++) {
		const struct sg_top_row *r = &rows[i];

		if (r->no_socket)
			snprintf(user, sizeof(user), "(no socket)");
		else
			snprintf(user, sizeof(user), "%s", r->user[0] ? r->user : "-");
		fprintf(f, "%10u %-16s %10llu %10llu %10llu %10llu  %s\n", r->uid, user,
			(unsigned long long)r->attempts, (unsigned long long)r->allowed,
			(unsigned long long)r->denied, (unsigned long long)r->egress_syns,
			r->has_policy ? policy_text(&r->policy, now, policy, sizeof(policy)) : "-");
	}
}

const char *sg_xdp_mode_name(__u32 mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	default:
		return "none";
	}
}

static json_t *named_counters_json(const char *const *names, const __u64 *v, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, names[i], json_integer(v[i]));
	return o;
}

json_t *sg_status_json(const struct sg_status *st)
{
	json_t *o = json_object(), *arr, *e;
	size_t i;

	json_object_set_new(o, "pin_dir", json_string(st->pin_dir));

	arr = json_array();
	for (i = 0; i < st->n_hooks; i++) {
		const struct sg_status_hook *h = &st->hooks[i];

		e = json_object();
		json_object_set_new(e, "program", json_string(h->name));
		json_object_set_new(e, "attached", json_boolean(h->attached));
		json_object_set_new(e, "cgroup_id",
				    h->attached ? json_integer(h->cgroup_id) : json_null());
		json_object_set_new(e, "cgroup", h->cgroup[0] ? json_string(h->cgroup) : json_null());
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "cgroup_hooks", arr);

	arr = json_array();
	for (i = 0; i < st->n_ifaces; i++) {
		const struct sg_iface *f = &st->ifaces[i];

		e = json_object();
		json_object_set_new(e, "interface", json_string(f->name));
		json_object_set_new(e, "ifindex", json_integer(st->iface_keys[i].ifindex));
		json_object_set_new(e, "netns", json_integer(st->iface_keys[i].netns));
		json_object_set_new(e, "tc_egress", json_boolean(f->flags & SG_IFACE_TC));
		json_object_set_new(e, "xdp", json_string(f->flags & SG_IFACE_XDP ?
								  sg_xdp_mode_name(f->xdp_mode) :
								  "none"));
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "interfaces", arr);

	e = json_object();
	json_object_set_new(e, "default", policy_json(&st->default_policy, 0));
	for (i = 0; i < 3; i++)
		json_object_set_new(e, sg_mode_name(i), json_integer(st->policies[i]));
	json_object_set_new(o, "policies", e);

	arr = json_array();
	for (i = 0; i < st->n_ports; i++) {
		const struct sg_status_port *p = &st->ports[i];

		e = json_object();
		json_object_set_new(e, "port", json_integer(p->port));
		json_object_set_new(e, "outbound", json_boolean(p->v.flags & SG_PORT_OUTBOUND));
		json_object_set_new(e, "inbound", json_boolean(p->v.flags & SG_PORT_INBOUND));
		json_object_set_new(e, "connects", json_integer(p->v.connects));
		json_object_set_new(e, "out_syns", json_integer(p->v.out_syns));
		json_object_set_new(e, "out_packets", json_integer(p->v.out_packets));
		json_object_set_new(e, "out_bytes", json_integer(p->v.out_bytes));
		json_object_set_new(e, "in_syns", json_integer(p->v.in_syns));
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "ports", arr);

	arr = json_array();
	for (i = 0; i < st->n_maps; i++) {
		const struct sg_status_map *m = &st->maps[i];

		e = json_object();
		json_object_set_new(e, "map", json_string(m->name));
		json_object_set_new(e, "entries",
				    m->entries < 0 ? json_null() : json_integer(m->entries));
		json_object_set_new(e, "capacity", json_integer(m->capacity));
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "maps", arr);
	json_object_set_new(o, "errors", named_counters_json(sg_error_names, st->errors, SG_ERR__MAX));
	json_object_set_new(o, "counters",
			    named_counters_json(sg_counter_names, st->counters, SG_CNT__MAX));
	json_object_set_new(o, "fail_closed", sg_fail_closed_json(st));
	return o;
}

/* The map that failing closed comes from, when it is full; NULL otherwise. */
static const struct sg_status_map *full_map(const struct sg_status *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->n_maps; i++)
		if (!strcmp(st->maps[i].name, name) && st->maps[i].entries >= 0 &&
		    (__u32)st->maps[i].entries >= st->maps[i].capacity)
			return &st->maps[i];
	return NULL;
}

/* The maps whose being full fails closed, and what it costs. */
static const struct {
	const char *name, *cost;
} fail_closed_maps[] = {
	{ SG_MAP_BUCKETS, "a throttled user with no bucket yet is refused every connect()" },
	{ SG_MAP_UID_STATS, "a user not counted yet is left uncounted, and out of top" },
};

json_t *sg_fail_closed_json(const struct sg_status *st)
{
	json_t *o, *full = json_array();
	size_t i;

	for (i = 0; i < sizeof(fail_closed_maps) / sizeof(fail_closed_maps[0]); i++)
		if (full_map(st, fail_closed_maps[i].name))
			json_array_append_new(full, json_string(fail_closed_maps[i].name));
	if (!st->counters[SG_CNT_DENIED_NO_BUCKET] && !json_array_size(full)) {
		json_decref(full);
		return json_null();
	}
	o = json_object();
	json_object_set_new(o, "denied_no_bucket",
			    json_integer(st->counters[SG_CNT_DENIED_NO_BUCKET]));
	json_object_set_new(o, "full_maps", full);
	return o;
}

int sg_fail_closed_print(FILE *f, const struct sg_status *st)
{
	const struct sg_status_map *m;
	__u64 refused = st->counters[SG_CNT_DENIED_NO_BUCKET];
	int said = 0;
	size_t i;

	if (refused) {
		fprintf(f,
			"FAIL CLOSED: %llu connect()%s refused for want of room for a token "
			"bucket (denied_no_bucket)\n",
			(unsigned long long)refused, refused == 1 ? "" : "s");
		said = 1;
	}
	for (i = 0; i < sizeof(fail_closed_maps) / sizeof(fail_closed_maps[0]); i++) {
		m = full_map(st, fail_closed_maps[i].name);
		if (!m)
			continue;
		fprintf(f, "FULL: %s %d of %u: %s\n", m->name, m->entries, m->capacity,
			fail_closed_maps[i].cost);
		said = 1;
	}
	return said;
}

void sg_status_print(FILE *f, const struct sg_status *st)
{
	char policy[96];
	size_t i;

	if (sg_fail_closed_print(f, st))
		fputc('\n', f);
	fprintf(f, "pinned state: %s\n\ncgroup hooks:\n", st->pin_dir);
	for (i = 0; i < st->n_hooks; i++) {
		const struct sg_status_hook *h = &st->hooks[i];

		if (!h->attached)
			fprintf(f, "  %-9s not attached\n", h->name);
		else
			fprintf(f, "  %-9s cgroup id %llu%s%s\n", h->name,
				(unsigned long long)h->cgroup_id, h->cgroup[0] ? ", " : "", h->cgroup);
	}
	fprintf(f, "\ninterfaces:\n");
	if (!st->n_ifaces)
		fprintf(f, "  none\n");
	for (i = 0; i < st->n_ifaces; i++) {
		fprintf(f, "  %-16s tc egress: %-3s  xdp: %s", st->ifaces[i].name,
			st->ifaces[i].flags & SG_IFACE_TC ? "yes" : "no",
			st->ifaces[i].flags & SG_IFACE_XDP ? sg_xdp_mode_name(st->ifaces[i].xdp_mode) :
							     "none");
		if (st->iface_keys[i].netns != st->netns)
			fprintf(f, "  (network namespace %llu)",
				(unsigned long long)st->iface_keys[i].netns);
		fputc('\n', f);
	}

	fprintf(f, "\npolicies: default %s; %u throttled, %u blocked, %u observed\n",
		policy_text(&st->default_policy, 0, policy, sizeof(policy)),
		st->policies[SG_MODE_THROTTLE], st->policies[SG_MODE_BLOCK],
		st->policies[SG_MODE_OBSERVE]);

	fprintf(f, "\n%6s %-9s %10s %10s %12s %14s %10s\n", "PORT", "WATCH", "CONNECTS", "OUT_SYNS",
		"OUT_PACKETS", "OUT_BYTES", "IN_SYNS");
	for (i = 0; i < st->n_ports; i++) {
		const struct sg_status_port *p = &st->ports[i];

		fprintf(f, "%6u %-9s %10llu %10llu %12llu %14llu %10llu\n", p->port,
			(p->v.flags & SG_PORT_OUTBOUND) ?
				((p->v.flags & SG_PORT_INBOUND) ? "out,in" : "out") :
				"in",
			(unsigned long long)p->v.connects, (unsigned long long)p->v.out_syns,
			(unsigned long long)p->v.out_packets, (unsigned long long)p->v.out_bytes,
			(unsigned long long)p->v.in_syns);
	}

	fprintf(f, "\n%-14s %10s %10s\n", "MAP", "ENTRIES", "CAPACITY");
	for (i = 0; i < st->n_maps; i++) {
		if (st->maps[i].entries < 0)
			continue;
		fprintf(f, "%-14s %10d %10u\n", st->maps[i].name, st->maps[i].entries,
			st->maps[i].capacity);
	}

	fprintf(f, "\nerrors:");
	for (i = 0; i < SG_ERR__MAX; i++)
		fprintf(f, " %s=%llu", sg_error_names[i], (unsigned long long)st->errors[i]);
	fprintf(f, "\ncounters:");
	for (i = 0; i < SG_CNT__MAX; i++)
		fprintf(f, " %s=%llu", sg_counter_names[i], (unsigned long long)st->counters[i]);
	fprintf(f, "\n");
}

json_t *sg_json_text(const char *s)
{
	char *copy, *p;
	json_t *v;

	if (!s || !*s)
		return json_null();
	v = json_string(s);
	if (v || !(copy = strdup(s)))
		return v;
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

int sg_json_print(FILE *f, json_t *v)
{
	int err = json_dumpf(v, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? -EIO : 0;

	fputc('\n', f);
	return err;
}

/* The length of the well-formed UTF-8 sequence of 2 to 4 bytes at s, else 0 (RFC 3629). */
static int utf8_seq(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n, i;

	if (*s >= 0xc2 && *s <= 0xdf)
		n = 2;
	else if (*s >= 0xe0 && *s <= 0xef)
		n = 3;
	else if (*s >= 0xf0 && *s <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (*s == 0xe0)
		lo = 0xa0;
	else if (*s == 0xed)
		hi = 0x9f;
	else if (*s == 0xf0)
		lo = 0x90;
	else if (*s == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

size_t sg_escape_char(const char *c, char out[SG_ESCAPE_CHAR_MAX], size_t *used)
{
	const unsigned char *s = (const unsigned char *)c;
	int n = *s >= 0x80 ? utf8_seq(s) : 1;

	/* C1 controls (U+0080..U+009F) act on a terminal as their C0 forms do. */
	if (n == 2 && *s == 0xc2 && s[1] <= 0x9f) {
		*used = 2;
		return (size_t)sprintf(out, "\\x%02x\\x%02x", s[0], s[1]);
	}
	if (!n || *s < 0x20 || *s == 0x7f || *s == '"') {
		*used = 1;
		return (size_t)sprintf(out, "\\x%02x", *s);
	}
	*used = (size_t)n;
	if (*s == '\\')
		return (size_t)sprintf(out, "\\\\");
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return (size_t)n;
}

int sg_escape_id(const char *id, char *buf, size_t len)
{
	char piece[SG_ESCAPE_CHAR_MAX];
	size_t o = 0, w, used;

	if (!len)
		return -ENOSPC;
	for (; *id; id += used) {
		w = sg_escape_char(id, piece, &used);
		if (o + w >= len) {
			buf[o] = '\0';
			return -ENOSPC;
		}
		memcpy(buf + o, piece, w);
		o += w;
	}
	buf[o] = '\0';
	return (int)o;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sg_unescape_id(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	int hi, lo;

	for (; *s; s++) {
		if (o + 1 >= len)
			return -ENOSPC;
		if (*s != '\\') {
			buf[o++] = *s;
			continue;
		}
		if (s[1] == '\\') {
			buf[o++] = *++s;
			continue;
		}
		if (s[1] != 'x' || (hi = hex(s[2])) < 0 || (lo = hex(s[3])) < 0 || !(hi | lo))
			return -EINVAL;
		buf[o++] = (char)(hi << 4 | lo);
		s += 3;
	}
	if (!len)
		return -ENOSPC;
	buf[o] = '\0';
	return (int)o;
}

char *sg_printable(const char *s, char *buf, size_t len)
{
	sg_escape_id(s, buf, len);
	return buf;
}

char *sg_log_value(const char *s, char *buf, size_t len)
{
	int n;

	if (len < 3) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	n = sg_escape_id(s, buf + 1, len - 2);
	if (n < 0)
		n = (int)strlen(buf + 1);
	/* Plain when it is one token already and its own escape. */
	if (n && !strchr(buf + 1, ' ') && !strncmp(buf + 1, s, (size_t)n) && !s[n]) {
		memmove(buf, buf + 1, (size_t)n + 1);
		return buf;
	}
	buf[0] = '"';
	buf[n + 1] = '"';
	buf[n + 2] = '\0';
	return buf;
}

int sg_query_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	for (; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			if (n + 1 >= len)
				return -ENAMETOOLONG;
			out[n++] = (char)*p;
			continue;
		}
		if (n + 3 >= len)
			return -ENAMETOOLONG;
		out[n++] = '%';
		out[n++] = hex[*p >> 4];
		out[n++] = hex[*p & 15];
	}
	if (n >= len)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}
