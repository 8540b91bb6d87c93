// SPDX-License-Identifier: GPL-2.0
/*
 * The config keys' parsers and table (config_keys.h lists the keys), and
 * the built-in default, which is each key's default value parsed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <ini.h>

#include "core/config_keys.h"
#include "util/parse.h"
#include "sg_bucket.h"
#include "util/log.h"
#include "util/render.h"

#define LIST_SEPS " \t,"
#define GLOB_SEPS " \t"

const char *const sg_action_names[SG_ACTIONS] = { SG_ACTION_LIST(SG_ENUM_NAME) };

static void *field(struct load *l, const struct key *k, size_t off)
{
	return (k->in_override ? (char *)l->ov : (char *)l->c) + off;
}

/* Zero-filled past the end, so equal configs compare equal with memcmp. */
static int set_str(struct load *l, char *dst, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len >= size)
		return bad(l, "longer than %zu characters", size - 1);
	memset(dst, 0, size);
	memcpy(dst, s, len);
	return 0;
}

static int parse_path(struct load *l, const struct key *k, const char *v)
{
	if (*v && *v != '/')
		return bad(l, "'%s' is not an absolute path", v);
	return set_str(l, field(l, k, k->off), k->size, v);
}

static int parse_bool(struct load *l, const struct key *k, const char *v)
{
	static const char *const words[] = { "no", "yes", "false", "true", "0", "1" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcasecmp(v, words[i])) {
			*(int *)field(l, k, k->off) = i % 2;
			return 0;
		}
	}
	return bad(l, "bad boolean '%s' (yes, no, true, false, 1 or 0)", v);
}

/* The names as "a, b or c", each between pre and post. */
const char *sg_cfg_join(const char *const *names, size_t n, const char *pre, const char *post,
			char *buf, size_t len)
{
	size_t i, off = 0;
	const char *sep;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		sep = !i ? "" : i < n - 1 ? ", " : " or ";
		off += snprintf(buf + off, len - off, "%s%s%s%s", sep, pre, names[i], post);
	}
	return buf;
}

static int parse_log_level(struct load *l, const struct key *k, const char *v)
{
	char list[64];

	if (sg_log_level_parse(v, field(l, k, k->off)))
		return bad(l, "bad level '%s' (%s)", v,
			   sg_cfg_join(sg_log_level_names, SG_LOG_N_LEVELS, "", "", list,
				       sizeof(list)));
	return 0;
}

static int parse_count(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (sg_parse_count(v, k->max, field(l, k, k->off), &why))
		return bad(l, "bad number '%s': %s (1 to %u)", v, why, k->max);
	return 0;
}

/* Interface names as the kernel accepts them (dev_valid_name()). */
static int parse_interfaces(struct load *l, const struct key *k, const char *v)
{
	char *names = field(l, k, k->off), buf[INI_MAX_LINE], *tok, *save;
	int *n = field(l, k, k->n_off), i;

	memset(names, 0, k->max * k->size);
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (strlen(tok) >= k->size)
			return bad(l, "interface name '%s' is longer than %zu characters", tok,
				   k->size - 1);
		if (strpbrk(tok, "/:") || !strcmp(tok, ".") || !strcmp(tok, ".."))
			return bad(l, "bad interface name '%s'", tok);
		for (i = 0; i < *n; i++)
			if (!strcmp(names + i * k->size, tok))
				return bad(l, "'%s' listed twice", tok);
		if ((__u32)*n == k->max)
			return bad(l, "more than %u interfaces", k->max);
		strcpy(names + (*n)++ * k->size, tok);
	}
	return 0;
}

static int parse_ports(struct load *l, const struct key *k, const char *v)
{
	__u32 *ports = field(l, k, k->off), port;
	int *n = field(l, k, k->n_off), i;
	char buf[INI_MAX_LINE], *tok, *save;
	const char *why;

	memset(ports, 0, k->max * sizeof(*ports));
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (sg_parse_count(tok, 65535, &port, &why))
			return bad(l, "bad port '%s' (1 to 65535)", tok);
		for (i = 0; i < *n; i++)
			if (ports[i] == port)
				return bad(l, "port %u listed twice", port);
		if ((__u32)*n == k->max)
			return bad(l, "more than %u ports", k->max);
		ports[(*n)++] = port;
	}
	return 0;
}

static int parse_mode(struct load *l, const struct key *k, const char *v)
{
	__u32 m;

	for (m = SG_MODE_OBSERVE; m <= SG_MODE_BLOCK; m++) {
		if (!strcmp(v, sg_mode_name(m))) {
			*(__u32 *)field(l, k, k->off) = m;
			return 0;
		}
	}
	return bad(l, "bad mode '%s' (observe, throttle or block)", v);
}

static int parse_rate(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (sg_parse_rate(v, field(l, k, k->off), &why))
		return bad(l, "bad rate '%s': %s", v, why);
	return 0;
}

static int parse_burst(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (sg_parse_count(v, SG_BURST_MAX, field(l, k, k->off), &why))
		return bad(l, "bad burst '%s': %s (1 to %u)", v, why, SG_BURST_MAX);
	return 0;
}

static int parse_duration(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (!strcmp(v, "0") && (k->flags & ZERO)) {
		*(__u64 *)field(l, k, k->off) = 0;
		return 0;
	}
	if (sg_parse_duration(v, field(l, k, k->off), &why))
		return bad(l, "bad duration '%s': %s", v, why);
	return 0;
}

/* A threshold given as a rate ("120/min"), kept per minute; off: 0. */
static int parse_per_min(struct load *l, const struct key *k, const char *v)
{
	const char *why;
	__u64 per_hour = 0;

	if (strcmp(v, "off") && sg_parse_rate(v, &per_hour, &why))
		return bad(l, "bad rate '%s': %s, or off", v, why);
	*(double *)field(l, k, k->off) = (double)per_hour / 60;
	return 0;
}

/* A non-negative number, at most max; off: 0. */
static int parse_real(struct load *l, const struct key *k, const char *v, double max)
{
	char *end;
	double d = 0;

	if (strcmp(v, "off")) {
		errno = 0;
		d = strtod(v, &end);
		if (errno || end == v || *end || !isfinite(d) || d < 0 || d > max)
			return bad(l, "bad number '%s' (0 to %g, or off)", v, max);
	}
	*(double *)field(l, k, k->off) = d;
	return 0;
}

static int parse_factor(struct load *l, const struct key *k, const char *v)
{
	return parse_real(l, k, v, 1000000);
}

static int parse_ratio(struct load *l, const struct key *k, const char *v)
{
	return parse_real(l, k, v, 1);
}

/* A count threshold; off: 0. */
static int parse_threshold(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (!strcmp(v, "off")) {
		*(__u32 *)field(l, k, k->off) = 0;
		return 0;
	}
	if (sg_parse_count(v, 10000000, field(l, k, k->off), &why))
		return bad(l, "bad number '%s': %s (1 to 10000000, or off)", v, why);
	return 0;
}

/* User names or UIDs; checked against passwd when applied, since users come and go. */
static int parse_names(struct load *l, const struct key *k, const char *v)
{
	char (*names)[64] = field(l, k, k->off), buf[INI_MAX_LINE], *tok, *save;
	int *n = field(l, k, k->n_off), i;

	memset(names, 0, k->max * sizeof(*names));
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (strlen(tok) >= sizeof(*names))
			return bad(l, "name '%s' is longer than %zu characters", tok,
				   sizeof(*names) - 1);
		for (i = 0; i < *n; i++)
			if (!strcmp(names[i], tok))
				return bad(l, "'%s' listed twice", tok);
		if ((__u32)*n == k->max)
			return bad(l, "more than %u names", k->max);
		strcpy(names[(*n)++], tok);
	}
	return 0;
}

/* A list of prefixes: "203.0.113.0/24, 2001:db8::/32, 198.51.100.7". */
static int parse_nets(struct load *l, const struct key *k, const char *v)
{
	struct sg_ban_key *nets = field(l, k, k->off), net;
	int *n = field(l, k, k->n_off), i;
	char buf[INI_MAX_LINE], *tok, *save;
	const char *why;

	memset(nets, 0, k->max * sizeof(*nets));
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (sg_parse_cidr(tok, &net, &why))
			return bad(l, "bad prefix '%s': %s", tok, why);
		for (i = 0; i < *n; i++)
			if (!memcmp(&nets[i], &net, sizeof(net)))
				return bad(l, "'%s' listed twice", tok);
		if ((__u32)*n == k->max)
			return bad(l, "more than %u prefixes", k->max);
		nets[(*n)++] = net;
	}
	return 0;
}

/* DNS names (letters, digits, '-', '.', '_'), or numeric addresses. */
static int parse_hosts(struct load *l, const struct key *k, const char *v, int numeric)
{
	char *names = field(l, k, k->off), buf[INI_MAX_LINE], *tok, *save, *e;
	int *n = field(l, k, k->n_off), i;
	unsigned char addr[16];

	memset(names, 0, k->max * k->size);
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (strlen(tok) >= k->size)
			return bad(l, "'%s' is longer than %zu characters", tok, k->size - 1);
		if (numeric) {
			if (inet_pton(AF_INET, tok, addr) != 1 && inet_pton(AF_INET6, tok, addr) != 1)
				return bad(l, "'%s' is not a numeric IPv4 or IPv6 address", tok);
		} else if (inet_pton(AF_INET6, tok, addr) != 1) {
			for (e = tok; *e && (isalnum((unsigned char)*e) || strchr("-._", *e)); e++)
				;
			if (*e || *tok == '.' || strstr(tok, ".."))
				return bad(l, "'%s' is not a host or domain name", tok);
		}
		for (i = 0; i < *n; i++)
			if (!strcasecmp(names + i * k->size, tok))
				return bad(l, "'%s' listed twice", tok);
		if ((__u32)*n == k->max)
			return bad(l, "more than %u entries", k->max);
		strcpy(names + (*n)++ * k->size, tok);
	}
	return 0;
}

static int parse_names_dns(struct load *l, const struct key *k, const char *v)
{
	return parse_hosts(l, k, v, 0);
}

static int parse_addresses(struct load *l, const struct key *k, const char *v)
{
	return parse_hosts(l, k, v, 1);
}

static int parse_mta_type(struct load *l, const struct key *k, const char *v)
{
	int i;

	for (i = 0; i <= SG_MTA_AUTO; i++) {
		if (!strcmp(v, i == SG_MTA_AUTO ? "auto" : sg_mta_type_names[i])) {
			*(int *)field(l, k, k->off) = i;
			return 0;
		}
	}
	return bad(l, "bad MTA '%s' (auto, postfix, exim or none)", v);
}

/* A program's absolute path, and its arguments: "/usr/sbin/exim4 -C /etc/exim4/test.conf". */
static int parse_command(struct load *l, const struct key *k, const char *v)
{
	if (*v != '/')
		return bad(l, "'%s' does not start with an absolute path", v);
	return set_str(l, field(l, k, k->off), k->size, v);
}

/* The LAPI's base URL: http or https, a host, no spaces, nothing after the port but a path. */
static int parse_url(struct load *l, const struct key *k, const char *v)
{
	const char *host = !strncmp(v, "https://", 8) ? v + 8 : !strncmp(v, "http://", 7) ? v + 7 : NULL;

	if (!*v)
		return set_str(l, field(l, k, k->off), k->size, v);
	if (!host || !*host || *host == '/')
		return bad(l, "'%s' is not an http:// or https:// URL with a host", v);
	if (v[strcspn(v, " \t\"'\\?#")])
		return bad(l, "'%s': a URL without spaces, quotes, query or fragment", v);
	return set_str(l, field(l, k, k->off), k->size, v);
}

/* A key or a login as CrowdSec makes them: letters, digits, '-', '_', '.' and '@'. */
static int parse_token(struct load *l, const struct key *k, const char *v)
{
	if (v[strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.@")])
		return bad(l, "'%s': only letters, digits, '-', '_', '.' and '@'", v);
	return set_str(l, field(l, k, k->off), k->size, v);
}

static int parse_mta_source(struct load *l, const struct key *k, const char *v)
{
	static const char *const words[] = {
		[SG_SOURCE_AUTO] = "auto",
		[SG_SOURCE_JOURNAL] = "journal",
		[SG_SOURCE_FILES] = "files",
	};
	int i;

	for (i = 0; i < (int)(sizeof(words) / sizeof(words[0])); i++) {
		if (!strcmp(v, words[i])) {
			*(int *)field(l, k, k->off) = i;
			return 0;
		}
	}
	return bad(l, "bad log source '%s' (auto, journal or files)", v);
}

static int parse_contain(struct load *l, const struct key *k, const char *v)
{
	if (strcmp(v, "hold") && strcmp(v, "reject"))
		return bad(l, "bad containment '%s' (hold or reject)", v);
	*(int *)field(l, k, k->off) = !strcmp(v, "reject");
	return 0;
}

/* "auto" (the MTA's own place), "none" (no policy service) or a socket's absolute path. */
static int parse_policy_socket(struct load *l, const struct key *k, const char *v)
{
	if (strcmp(v, "auto") && strcmp(v, "none") && *v != '/')
		return bad(l, "bad policy_socket '%s' (auto, none or an absolute path)", v);
	if (strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return bad(l, "policy_socket '%s' is longer than a unix socket's path may be", v);
	return set_str(l, field(l, k, k->off), k->size, v);
}

/* "alert", "kill", "block for D" or "throttle R [burst N] for D". */
static int parse_response(struct load *l, const struct key *k, const char *v)
{
	struct sg_response r = { 0 };
	char buf[INI_MAX_LINE], *tok[8], *save;
	const char *why;
	int n = 0, i = 1;

	/* At most "throttle R burst N for D" and one more, to be refused. */
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok[n] = strtok_r(buf, " \t", &save); tok[n] && n < 7;
	     tok[++n] = strtok_r(NULL, " \t", &save))
		;
	for (r.kind = 0; r.kind < SG_ACTIONS && strcmp(tok[0], sg_action_names[r.kind]); r.kind++)
		;
	if (r.kind == SG_ACTIONS)
		return bad(l, "bad action '%s' (alert, throttle RATE for DURATION, block for "
			      "DURATION or kill)", tok[0]);
	if (r.kind == SG_ACT_THROTTLE) {
		if (n < 2 || sg_parse_rate(tok[1], &r.rate_per_hour, &why))
			return bad(l, "throttle needs a rate: 'throttle 6/min for 1h'");
		r.burst = sg_bucket_default_burst(r.rate_per_hour);
		i = 2;
		if (i < n && !strcmp(tok[i], "burst")) {
			if (i + 1 >= n || sg_parse_count(tok[i + 1], SG_BURST_MAX, &r.burst, &why))
				return bad(l, "bad burst (1 to %u)", SG_BURST_MAX);
			i += 2;
		}
	}
	if (r.kind == SG_ACT_THROTTLE || r.kind == SG_ACT_BLOCK) {
		if (i + 2 != n || strcmp(tok[i], "for") ||
		    sg_parse_duration(tok[i + 1], &r.for_ns, &why))
			return bad(l, "%s needs 'for DURATION' at the end: actions expire",
				   sg_action_names[r.kind]);
	} else if (n != 1) {
		return bad(l, "'%s' takes nothing after it", sg_action_names[r.kind]);
	}
	*(struct sg_response *)field(l, k, k->off) = r;
	return 0;
}

/* An override's kernel policy: none (never limited) or a rate. */
static int parse_limit(struct load *l, const struct key *k, const char *v)
{
	struct sg_policy *p = &l->ov->limit;
	const char *why;

	l->ov->has_limit = 1;
	p->mode = SG_MODE_OBSERVE;
	if (!strcmp(v, "none"))
		return 0;
	if (sg_parse_rate(v, &p->rate_per_hour, &why))
		return bad(l, "bad rate '%s': %s, or none", v, why);
	p->mode = SG_MODE_THROTTLE;
	if (!p->burst)
		p->burst = sg_bucket_default_burst(p->rate_per_hour);
	return 0;
}

static int parse_actions(struct load *l, const struct key *k, const char *v)
{
	if (strcmp(v, "alert") && strcmp(v, "default"))
		return bad(l, "bad value '%s' (alert: the rules only alert for this account; "
			      "default: as [actions] says)", v);
	*(int *)field(l, k, k->off) = !strcmp(v, "alert");
	return 0;
}

/*
 * "HOST:PORT" or "[HOST]:PORT", HOST numeric (nothing resolves names): into
 * host and port; forms says what the key takes, for the message.
 */
static int parse_addr(struct load *l, const char *v, const char *forms, char *host, size_t hostlen,
		      __u16 *port)
{
	const char *start = v, *colon, *why;
	char addr[sizeof(struct in6_addr)];
	int v6 = *v == '[';
	__u32 p;
	size_t len;

	if (v6) {
		start++;
		colon = strchr(start, ']');
		colon = colon && colon[1] == ':' ? colon + 1 : NULL;
	} else {
		colon = strrchr(v, ':');
	}
	if (!colon)
		return bad(l, "expected %s, got '%s'", forms, v);
	len = colon - start - v6;
	if (len >= hostlen)
		return bad(l, "bad address '%.*s'", (int)len, start);
	memcpy(host, start, len);
	host[len] = 0;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1)
		return bad(l, "bad address '%s' (a numeric IPv4 address, or IPv6 in brackets)",
			   host);
	if (sg_parse_count(colon + 1, 65535, &p, &why))
		return bad(l, "bad port '%s' (1 to 65535)", colon + 1);
	*port = p;
	return 0;
}

/* "off" or an address: the exporter's. */
static int parse_listen(struct load *l, const struct key *k, const char *v)
{
	struct sg_exporter_cfg *e = field(l, k, k->off);

	memset(e->listen_host, 0, sizeof(e->listen_host));
	e->listen_port = 0;
	e->enabled = 0;
	if (!strcmp(v, "off"))
		return 0;
	if (parse_addr(l, v, "HOST:PORT, [IPv6]:PORT or off", e->listen_host,
		       sizeof(e->listen_host), &e->listen_port))
		return -1;
	e->enabled = 1;
	return 0;
}

/*
 * Blank-separated absolute paths (globs too): the MTA's logs; or with
 * sockets set, PHP-FPM pools, HOST:PORT naming a pool listening on TCP
 * (listen = 127.0.0.1:9000).
 */
static int path_list(struct load *l, const struct key *k, const char *v, int sockets)
{
	char *paths = field(l, k, k->off), buf[INI_MAX_LINE], *tok, *save, host[INET6_ADDRSTRLEN];
	int *n = field(l, k, k->n_off);
	__u16 port;

	memset(paths, 0, k->max * k->size);
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, GLOB_SEPS, &save); tok; tok = strtok_r(NULL, GLOB_SEPS, &save)) {
		if (*tok != '/' && !sockets)
			return bad(l, "'%s' is not an absolute path", tok);
		if (*tok != '/' && parse_addr(l, tok, "an absolute path, HOST:PORT or [IPv6]:PORT",
					      host, sizeof(host), &port))
			return -1;
		if ((__u32)*n == k->max)
			return bad(l, "more than %u %s", k->max, sockets ? "patterns" : "logs");
		if (set_str(l, paths + (*n)++ * k->size, k->size, tok))
			return -1;
	}
	return 0;
}

static int parse_logs(struct load *l, const struct key *k, const char *v)
{
	return path_list(l, k, v, 0);
}

static int parse_globs(struct load *l, const struct key *k, const char *v)
{
	return path_list(l, k, v, 1);
}

#define KEY(sec, key, fn, where, fl, dflt)                                                         \
	[KEY_##sec##_##key] = { #sec, #key, fn, where, .flags = (fl), .def = (dflt) },
const struct key sg_cfg_keys[N_KEYS] = { SG_CONFIG_KEYS(KEY) };
#undef KEY

void sg_config_default(struct sg_config *c)
{
	struct load l = { .c = c };
	const struct key *k;

	memset(c, 0, sizeof(*c));
	for (k = sg_cfg_keys; k < sg_cfg_keys + N_KEYS; k++) {
		if (k->def && k->parse(&l, k, k->def)) {
			/* test_config parses every default: only a bad edit of the list gets here. */
			sg_error("built-in [%s] %s = %s: %s", k->section, k->name, k->def, l.msg);
			abort();
		}
	}
}
