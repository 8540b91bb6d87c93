// SPDX-License-Identifier: GPL-2.0
/*
 * The config file, parsed by inih through a line reader of our own. inih as
 * Debian builds it reports only the number of the first bad line, never
 * shows the handler a section header, takes an indented line as the
 * continuation of the key above it (keeping any comment in it) and splits
 * lines longer than its buffer in two. So the reader counts lines, checks
 * section headers itself, refuses indented continuations and long lines,
 * and notices a line inih rejected by the handler not being called for it.
 * The first error stops the parse: the reader returns EOF.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <ini.h>

#include "core/config.h"
#include "util/parse.h"
#include "sg_bucket.h"
#include "util/log.h"

#define LIST_SEPS " \t,"
#define GLOB_SEPS " \t"

const char *const sg_action_names[SG_ACTIONS] = { SG_ACTION_LIST(SG_ENUM_NAME) };

/* The rules' thresholds, keys of [detect] and of every [override NAME]. */
#define THRESHOLDS(X)                                               \
	X(RATE_FLOOR, "rate_floor", parse_per_min, rate_floor)      \
	X(RATE_FACTOR, "rate_factor", parse_factor, rate_factor)    \
	X(DESTINATIONS, "destinations", parse_threshold, destinations) \
	X(NEW_RATE, "new_sender_rate", parse_per_min, new_sender_rate) \
	X(NEW_MIN, "new_sender_min", parse_threshold, new_sender_min) \
	X(FAIL_RATIO, "failure_ratio", parse_ratio, failure_ratio)  \
	X(FAIL_MIN, "failure_min", parse_threshold, failure_min)    \
	X(CLIENT_IPS, "client_ips", parse_threshold, client_ips)    \
	X(BOUNCE_SHARE, "bounce_share", parse_ratio, bounce_share)  \
	X(BOUNCE_MIN, "bounce_min", parse_threshold, bounce_min)    \
	X(BOUNCE_FLOOD, "bounce_flood", parse_threshold, bounce_flood)

#define DETECT_ENUM(id, name, fn, f)   KEY_D_##id,
#define OVERRIDE_ENUM(id, name, fn, f) KEY_O_##id,

enum {
	KEY_INTERFACES,
	KEY_CGROUP,
	KEY_DETACH_ON_EXIT,
	KEY_OUTBOUND,
	KEY_INBOUND,
	KEY_DEFAULT,
	KEY_RATE,
	KEY_BURST,
	KEY_DENY_EVENT_INTERVAL,
	KEY_LISTEN,
	KEY_TOP_SENDERS,
	KEY_RECENT_UIDS,
	KEY_RECENT_PER_UID,
	KEY_USERDOMAINS,
	KEY_TRUEUSEROWNERS,
	KEY_DOMAINOWNERS,
	KEY_FPM_SOCKETS,
	KEY_FPM_STATUS_PATH,
	KEY_AUDIT_LOG,
	KEY_AUDIT_SYSLOG,
	THRESHOLDS(DETECT_ENUM)
	KEY_BASELINES,
	KEY_ALLOW,
	KEY_MTA_USERS,
	KEY_RELEASE_GRACE,
	KEY_ACT_RATE,
	KEY_ACT_DESTINATIONS,
	KEY_ACT_NEW_SENDER,
	KEY_ACT_FAILURE_RATIO,
	KEY_ACT_CLIENT_IPS,
	KEY_ACT_BOUNCE_SHARE,
	KEY_ACT_BOUNCE_FLOOD,
	KEY_MTA_TYPE,
	KEY_MTA_LOGS,
	KEY_MTA_READ_BACK,
	KEY_MTA_POSTFIX_CONFIG,
	KEY_MTA_EXIM_DIR,
	KEY_MTA_EXIM,
	KEY_MTA_CONTAIN,
	KEY_MTA_BAN,
	KEY_MTA_STATE,
	KEY_BF_AUTH_FAILURES,
	KEY_BF_WINDOW,
	KEY_BF_SYN_RATE,
	KEY_BF_SYN_PORTS,
	KEY_BF_DISTRIBUTED,
	KEY_BF_BAN,
	KEY_BF_BAN_FACTOR,
	KEY_BF_BAN_MAX,
	KEY_BF_FORGET,
	KEY_BF_ALLOW,
	KEY_BF_STATE,
	KEY_RELAY_TRUSTED,
	KEY_RELAY_DOMAINS,
	KEY_RELAY_BAN,
	KEY_RELAY_TARGETS,
	KEY_DNSBL_ZONES,
	KEY_DNSBL_ADDRESSES,
	KEY_DNSBL_INTERVAL,
	KEY_O_LIMIT,
	KEY_O_BURST,
	KEY_O_ACTIONS,
	THRESHOLDS(OVERRIDE_ENUM)
	N_KEYS,
};

/* The keys an [override NAME] section may give, each once per section. */
#define KEY_O_FIRST KEY_O_LIMIT

struct load;

struct key {
	const char *section;
	const char *name;
	int (*parse)(struct load *l, const struct key *k, const char *v);
	size_t off;   /* the field in struct sg_config */
	size_t size;  /* strings: the field's size */
	size_t n_off; /* port lists: the count's field */
	__u32 max;    /* counts */
	int empty_ok;
	int zero_ok; /* durations: 0 is allowed */
	int in_override; /* off is in the current struct sg_override */
	size_t toff;	 /* thresholds: the field in struct sg_thresholds */
};

struct load {
	const char *path;
	FILE *f;
	struct sg_config *c;
	char *err;
	size_t errlen;
	int err_line; /* of the first error; 0: none */
	int read_err; /* errno of a failed read */

	char *buf; /* the line being parsed, trimmed once inih has its copy */
	size_t cap;
	const char *text; /* buf without leading whitespace */
	int lineno;
	int pair_line;		/* last line the handler was called for */
	int want_pair;		/* the current line is neither blank, comment nor header */
	const char *section;	/* NULL: before any header */
	const struct key *prev; /* the key above, since the last header */
	struct sg_override *ov; /* in an [override NAME] section */
	int seen[N_KEYS];	/* line each key was given on */
	char msg[512];
};

static const char *const sections[] = {
	"daemon", "ports", "policy", "exporter", "attribution", "audit", "detect", "actions",
	"mta", "bruteforce", "relay", "dnsbl", "override NAME",
};
#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))
static const char *const modes[] = {
	[SG_MODE_OBSERVE] = "observe",
	[SG_MODE_THROTTLE] = "throttle",
	[SG_MODE_BLOCK] = "block",
};

void sg_config_default(struct sg_config *c)
{
	static const __u32 out[] = { 25, 465, 587 }, in[] = { 25, 465, 587, 110, 143, 993, 995 };
	static const char *const mta[] = { "postfix", "Debian-exim", "exim", "mailnull" };
	/* Submission and the mailbox logins: port 25 is where other servers deliver. */
	static const __u32 login[] = { 465, 587, 110, 143, 993, 995 };
	static const char *const loopback[] = { "127.0.0.0/8", "::1" };
	const char *why;
	size_t i;

	memset(c, 0, sizeof(*c));
	memcpy(c->outbound, out, sizeof(out));
	c->n_outbound = sizeof(out) / sizeof(out[0]);
	memcpy(c->inbound, in, sizeof(in));
	c->n_inbound = sizeof(in) / sizeof(in[0]);
	c->deny_event_interval_ns = SG_NS_PER_SEC;
	c->exporter = 1;
	strcpy(c->listen_host, "127.0.0.1");
	c->listen_port = SG_EXPORTER_PORT;
	c->top_senders = 20;
	c->recent_uids = 4096;
	c->recent_per_uid = 8;
	strcpy(c->cpanel_userdomains, "/etc/userdomains");
	strcpy(c->cpanel_trueuserowners, "/etc/trueuserowners");
	strcpy(c->directadmin_domainowners, "/etc/virtual/domainowners");
	strcpy(c->audit_log, SG_AUDIT_LOG);
	c->audit_syslog = 1;
	/*
	 * Built for the shared host no one has tuned: each user may open 20
	 * connections at once and 20 a minute after that, which one message
	 * every few seconds never reaches; a script that starts at tens a
	 * second has spent its 20 before the detector's first look, and is
	 * throttled within two ticks.
	 */
	c->default_policy = (struct sg_policy){ .mode = SG_MODE_THROTTLE,
						.rate_per_hour = 20 * 60,
						.burst = 20 };
	c->thresholds = (struct sg_thresholds){
		.rate_floor = 120,
		.rate_factor = 5,
		.destinations = 50,
		.new_sender_rate = 60,
		.new_sender_min = 20,
		.failure_ratio = 0.5,
		.failure_min = 20,
		.client_ips = 5,
		.bounce_share = 0.5,
		.bounce_min = 20,
		.bounce_flood = 100,
	};
	strcpy(c->baselines, SG_BASELINES_PATH);
	strcpy(c->allow[c->n_allow++], "root");
	for (i = 0; i < sizeof(mta) / sizeof(mta[0]); i++)
		strcpy(c->mta_users[c->n_mta_users++], mta[i]);
	c->release_grace_ns = 3600 * SG_NS_PER_SEC;
	for (i = 0; i < SG_RULES; i++)
		c->responses[i] = (struct sg_response){ .kind = SG_ACT_THROTTLE,
							.rate_per_hour = 6 * 60,
							.burst = 1,
							.for_ns = 3600 * SG_NS_PER_SEC };
	c->responses[SG_RULE_DESTINATIONS] = (struct sg_response){ .kind = SG_ACT_ALERT };
	c->responses[SG_RULE_FAILURE_RATIO] = (struct sg_response){ .kind = SG_ACT_ALERT };
	c->responses[SG_RULE_CLIENT_IPS] =
		(struct sg_response){ .kind = SG_ACT_BLOCK, .for_ns = 3600 * SG_NS_PER_SEC };
	c->responses[SG_RULE_BOUNCE_SHARE] = (struct sg_response){ .kind = SG_ACT_ALERT };
	c->responses[SG_RULE_BOUNCE_FLOOD] = (struct sg_response){ .kind = SG_ACT_ALERT };
	c->mta_type = SG_MTA_AUTO;
	strcpy(c->postfix_config, "/etc/postfix");
	strcpy(c->exim_dir, "/etc/exim4");
	strcpy(c->exim_command, "/usr/sbin/exim4");
	c->mta_ban_ns = 3600 * SG_NS_PER_SEC;
	strcpy(c->contained_path, SG_CONTAINED_PATH);
	/*
	 * A guesser is banned at its 10th failure in 10 minutes, where a user
	 * who forgot a password gives up long before; a mail client opens a
	 * few connections a minute, a scanner hundreds.
	 */
	c->bf_auth_failures = 10;
	c->bf_window_ns = 600 * SG_NS_PER_SEC;
	c->bf_syn_rate = 300;
	memcpy(c->bf_syn_ports, login, sizeof(login));
	c->n_bf_syn_ports = sizeof(login) / sizeof(login[0]);
	c->bf_distributed = 10;
	c->bf_ban_ns = 3600 * SG_NS_PER_SEC;
	c->bf_ban_factor = 4;
	c->bf_ban_max_ns = 7 * 86400 * SG_NS_PER_SEC;
	c->bf_forget_ns = 7 * 86400 * SG_NS_PER_SEC;
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		sg_parse_cidr(loopback[i], &c->bf_allow[c->n_bf_allow++], &why);
	strcpy(c->bf_state, SG_OFFENDERS_PATH);
	for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
		sg_parse_cidr(loopback[i], &c->relay_trusted[c->n_relay_trusted++], &why);
	c->dnsbl_interval_ns = 3600 * SG_NS_PER_SEC;
}

/* Sets the message of an error; returns -1 for the parsers to pass up. */
static int __attribute__((format(printf, 2, 3))) bad(struct load *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Records the error in l->msg, at line, about key k (NULL: the line); returns 0 for inih. */
static int failed(struct load *l, int line, const struct key *k)
{
	if (k)
		snprintf(l->err, l->errlen, "%s:%d: [%s] %s: %s", l->path, line, k->section,
			 k->name, l->msg);
	else
		snprintf(l->err, l->errlen, "%s:%d: %s", l->path, line, l->msg);
	l->err_line = line;
	return 0;
}

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
	struct sg_config *c = l->c;
	char buf[INI_MAX_LINE], *tok, *save;
	int i;

	memset(c->interfaces, 0, sizeof(c->interfaces));
	c->n_interfaces = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (strlen(tok) >= IF_NAMESIZE)
			return bad(l, "interface name '%s' is longer than %d characters", tok,
				   IF_NAMESIZE - 1);
		if (strpbrk(tok, "/:") || !strcmp(tok, ".") || !strcmp(tok, ".."))
			return bad(l, "bad interface name '%s'", tok);
		for (i = 0; i < c->n_interfaces; i++)
			if (!strcmp(c->interfaces[i], tok))
				return bad(l, "'%s' listed twice", tok);
		if (c->n_interfaces == SG_MAX_IFACES)
			return bad(l, "more than %d interfaces", SG_MAX_IFACES);
		strcpy(c->interfaces[c->n_interfaces++], tok);
	}
	return 0;
}

static int parse_ports(struct load *l, const struct key *k, const char *v)
{
	__u32 *ports = field(l, k, k->off), port;
	int *n = field(l, k, k->n_off), i;
	char buf[INI_MAX_LINE], *tok, *save;
	const char *why;

	memset(ports, 0, SG_MAX_PORTS * sizeof(*ports));
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (sg_parse_count(tok, 65535, &port, &why))
			return bad(l, "bad port '%s' (1 to 65535)", tok);
		for (i = 0; i < *n; i++)
			if (ports[i] == port)
				return bad(l, "port %u listed twice", port);
		if (*n == SG_MAX_PORTS)
			return bad(l, "more than %d ports", SG_MAX_PORTS);
		ports[(*n)++] = port;
	}
	return 0;
}

static int parse_mode(struct load *l, const struct key *k, const char *v)
{
	__u32 m;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		if (!strcmp(v, modes[m])) {
			l->c->default_policy.mode = m;
			return 0;
		}
	}
	return bad(l, "bad mode '%s' (observe, throttle or block)", v);
}

static int parse_rate(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (sg_parse_rate(v, &l->c->default_policy.rate_per_hour, &why))
		return bad(l, "bad rate '%s': %s", v, why);
	return 0;
}

static int parse_burst(struct load *l, const struct key *k, const char *v)
{
	struct sg_policy *p = l->ov ? &l->ov->limit : &l->c->default_policy;
	const char *why;

	if (sg_parse_count(v, SG_BURST_MAX, &p->burst, &why))
		return bad(l, "bad burst '%s': %s (1 to %u)", v, why, SG_BURST_MAX);
	return 0;
}

static int parse_duration(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (!strcmp(v, "0") && k->zero_ok) {
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

	memset(names, 0, SG_MAX_NAMES * sizeof(*names));
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (strlen(tok) >= sizeof(*names))
			return bad(l, "name '%s' is longer than %zu characters", tok,
				   sizeof(*names) - 1);
		for (i = 0; i < *n; i++)
			if (!strcmp(names[i], tok))
				return bad(l, "'%s' listed twice", tok);
		if (*n == SG_MAX_NAMES)
			return bad(l, "more than %d names", SG_MAX_NAMES);
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

	memset(nets, 0, SG_MAX_NETS * sizeof(*nets));
	*n = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, LIST_SEPS, &save); tok; tok = strtok_r(NULL, LIST_SEPS, &save)) {
		if (sg_parse_cidr(tok, &net, &why))
			return bad(l, "bad prefix '%s': %s", tok, why);
		for (i = 0; i < *n; i++)
			if (!memcmp(&nets[i], &net, sizeof(net)))
				return bad(l, "'%s' listed twice", tok);
		if (*n == SG_MAX_NETS)
			return bad(l, "more than %d prefixes", SG_MAX_NETS);
		nets[(*n)++] = net;
	}
	return 0;
}

/*
 * DNS names (letters, digits, '-', '.', '_'), or with k->max set numeric
 * addresses too: k->size is the entry's size, k->max the number of entries.
 */
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
	static const char *const types[] = { [SG_MTA_AUTO] = "auto",
					     [SG_MTA_NONE] = "none",
					     [SG_MTA_POSTFIX] = "postfix",
					     [SG_MTA_EXIM] = "exim" };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i] && !strcmp(v, types[i])) {
			l->c->mta_type = (int)i;
			return 0;
		}
	}
	return bad(l, "bad MTA '%s' (auto, postfix, exim or none)", v);
}

static int parse_logs(struct load *l, const struct key *k, const char *v)
{
	struct sg_config *c = l->c;
	char buf[INI_MAX_LINE], *tok, *save;

	memset(c->mta_logs, 0, sizeof(c->mta_logs));
	c->n_mta_logs = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, GLOB_SEPS, &save); tok; tok = strtok_r(NULL, GLOB_SEPS, &save)) {
		if (*tok != '/')
			return bad(l, "'%s' is not an absolute path", tok);
		if (c->n_mta_logs == SG_MAX_MTA_LOGS)
			return bad(l, "more than %d logs", SG_MAX_MTA_LOGS);
		if (set_str(l, c->mta_logs[c->n_mta_logs++], PATH_MAX, tok))
			return -1;
	}
	return 0;
}

/* A program's absolute path, and its arguments: "/usr/sbin/exim4 -C /etc/exim4/test.conf". */
static int parse_command(struct load *l, const struct key *k, const char *v)
{
	if (*v != '/')
		return bad(l, "'%s' does not start with an absolute path", v);
	return set_str(l, field(l, k, k->off), k->size, v);
}

static int parse_contain(struct load *l, const struct key *k, const char *v)
{
	if (strcmp(v, "hold") && strcmp(v, "reject"))
		return bad(l, "bad containment '%s' (hold or reject)", v);
	l->c->mta_reject = !strcmp(v, "reject");
	return 0;
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
	l->ov->alert_only = !strcmp(v, "alert");
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
	struct sg_config *c = l->c;

	memset(c->listen_host, 0, sizeof(c->listen_host));
	c->listen_port = 0;
	c->exporter = 0;
	if (!strcmp(v, "off"))
		return 0;
	if (parse_addr(l, v, "HOST:PORT, [IPv6]:PORT or off", c->listen_host,
		       sizeof(c->listen_host), &c->listen_port))
		return -1;
	c->exporter = 1;
	return 0;
}

static int parse_globs(struct load *l, const struct key *k, const char *v)
{
	struct sg_config *c = l->c;
	char buf[INI_MAX_LINE], *tok, *save, host[INET6_ADDRSTRLEN];
	__u16 port;

	memset(c->fpm_sockets, 0, sizeof(c->fpm_sockets));
	c->n_fpm = 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, GLOB_SEPS, &save); tok; tok = strtok_r(NULL, GLOB_SEPS, &save)) {
		/* A pool listening on TCP (listen = 127.0.0.1:9000) is named by its address. */
		if (*tok != '/' && parse_addr(l, tok, "an absolute path, HOST:PORT or [IPv6]:PORT",
					      host, sizeof(host), &port))
			return -1;
		if (c->n_fpm == SG_MAX_FPM)
			return bad(l, "more than %d patterns", SG_MAX_FPM);
		if (set_str(l, c->fpm_sockets[c->n_fpm++], PATH_MAX, tok))
			return -1;
	}
	return 0;
}

#define FIELD(f)    offsetof(struct sg_config, f), sizeof(((struct sg_config *)0)->f)
#define NAMES(f)    offsetof(struct sg_config, f), 0, offsetof(struct sg_config, n_##f)
#define TH(f)	    offsetof(struct sg_thresholds, f)
#define DETECT_KEY(id, name, fn, f)                                                         \
	[KEY_D_##id] = { "detect", name, fn, offsetof(struct sg_config, thresholds) + TH(f), \
			 sizeof(((struct sg_thresholds *)0)->f), .toff = TH(f) },
#define OVERRIDE_KEY(id, name, fn, f)                                                         \
	[KEY_O_##id] = { "override", name, fn, offsetof(struct sg_override, t) + TH(f),        \
			 sizeof(((struct sg_thresholds *)0)->f), .toff = TH(f), .in_override = 1 },
#define PORTS(f)    offsetof(struct sg_config, f), 0, offsetof(struct sg_config, n_##f)
#define COUNT(f, m) offsetof(struct sg_config, f), 0, 0, m
/* A list of strings: entry size, count field, number of entries. */
#define HOSTS(f)                                                              \
	offsetof(struct sg_config, f), sizeof(((struct sg_config *)0)->f[0]),   \
		offsetof(struct sg_config, n_##f),                                \
		sizeof(((struct sg_config *)0)->f) / sizeof(((struct sg_config *)0)->f[0])

static const struct key keys[N_KEYS] = {
	[KEY_INTERFACES] = { "daemon", "interfaces", parse_interfaces, .empty_ok = 1 },
	[KEY_CGROUP] = { "daemon", "cgroup", parse_path, FIELD(cgroup), .empty_ok = 1 },
	[KEY_DETACH_ON_EXIT] = { "daemon", "detach_on_exit", parse_bool, FIELD(detach_on_exit) },
	/* No outbound port would silently turn the sensor off. */
	[KEY_OUTBOUND] = { "ports", "outbound", parse_ports, PORTS(outbound) },
	[KEY_INBOUND] = { "ports", "inbound", parse_ports, PORTS(inbound), .empty_ok = 1 },
	[KEY_DEFAULT] = { "policy", "default", parse_mode },
	[KEY_RATE] = { "policy", "rate", parse_rate },
	[KEY_BURST] = { "policy", "burst", parse_burst },
	[KEY_DENY_EVENT_INTERVAL] = { "policy", "deny_event_interval", parse_duration,
				      FIELD(deny_event_interval_ns) },
	[KEY_LISTEN] = { "exporter", "listen", parse_listen },
	[KEY_TOP_SENDERS] = { "exporter", "top_senders", parse_count, COUNT(top_senders, SG_MAX_TOP) },
	[KEY_RECENT_UIDS] = { "attribution", "recent_uids", parse_count,
			      COUNT(recent_uids, 1000000) },
	[KEY_RECENT_PER_UID] = { "attribution", "recent_per_uid", parse_count,
				 COUNT(recent_per_uid, 64) },
	[KEY_USERDOMAINS] = { "attribution", "cpanel_userdomains", parse_path,
			      FIELD(cpanel_userdomains) },
	[KEY_TRUEUSEROWNERS] = { "attribution", "cpanel_trueuserowners", parse_path,
				 FIELD(cpanel_trueuserowners) },
	[KEY_DOMAINOWNERS] = { "attribution", "directadmin_domainowners", parse_path,
			       FIELD(directadmin_domainowners) },
	[KEY_FPM_SOCKETS] = { "attribution", "php_fpm_sockets", parse_globs, .empty_ok = 1 },
	[KEY_FPM_STATUS_PATH] = { "attribution", "php_fpm_status_path", parse_path,
				  FIELD(fpm_status_path), .empty_ok = 1 },
	[KEY_AUDIT_LOG] = { "audit", "log", parse_path, FIELD(audit_log) },
	[KEY_AUDIT_SYSLOG] = { "audit", "syslog", parse_bool, FIELD(audit_syslog) },
	THRESHOLDS(DETECT_KEY)
	[KEY_BASELINES] = { "detect", "baselines", parse_path, FIELD(baselines), .empty_ok = 1 },
	[KEY_ALLOW] = { "detect", "allow", parse_names, NAMES(allow), .empty_ok = 1 },
	[KEY_MTA_USERS] = { "detect", "mta_users", parse_names, NAMES(mta_users), .empty_ok = 1 },
	[KEY_RELEASE_GRACE] = { "detect", "release_grace", parse_duration,
				FIELD(release_grace_ns), .zero_ok = 1 },
	[KEY_ACT_RATE] = { "actions", "rate", parse_response, FIELD(responses[SG_RULE_RATE]) },
	[KEY_ACT_DESTINATIONS] = { "actions", "destinations", parse_response,
				   FIELD(responses[SG_RULE_DESTINATIONS]) },
	[KEY_ACT_NEW_SENDER] = { "actions", "new_sender", parse_response,
				 FIELD(responses[SG_RULE_NEW_SENDER]) },
	[KEY_ACT_FAILURE_RATIO] = { "actions", "failure_ratio", parse_response,
				    FIELD(responses[SG_RULE_FAILURE_RATIO]) },
	[KEY_ACT_CLIENT_IPS] = { "actions", "client_ips", parse_response,
				 FIELD(responses[SG_RULE_CLIENT_IPS]) },
	[KEY_ACT_BOUNCE_SHARE] = { "actions", "bounce_share", parse_response,
				   FIELD(responses[SG_RULE_BOUNCE_SHARE]) },
	[KEY_ACT_BOUNCE_FLOOD] = { "actions", "bounce_flood", parse_response,
				   FIELD(responses[SG_RULE_BOUNCE_FLOOD]) },
	[KEY_MTA_TYPE] = { "mta", "type", parse_mta_type },
	[KEY_MTA_LOGS] = { "mta", "logs", parse_logs, .empty_ok = 1 },
	[KEY_MTA_READ_BACK] = { "mta", "read_back", parse_bool, FIELD(mta_read_back) },
	[KEY_MTA_POSTFIX_CONFIG] = { "mta", "postfix_config", parse_path, FIELD(postfix_config) },
	[KEY_MTA_EXIM_DIR] = { "mta", "exim_dir", parse_path, FIELD(exim_dir) },
	[KEY_MTA_EXIM] = { "mta", "exim", parse_command, FIELD(exim_command) },
	[KEY_MTA_CONTAIN] = { "mta", "contain", parse_contain },
	[KEY_MTA_BAN] = { "mta", "ban", parse_duration, FIELD(mta_ban_ns), .zero_ok = 1 },
	[KEY_MTA_STATE] = { "mta", "state", parse_path, FIELD(contained_path) },
	[KEY_BF_AUTH_FAILURES] = { "bruteforce", "auth_failures", parse_threshold,
				   FIELD(bf_auth_failures) },
	[KEY_BF_WINDOW] = { "bruteforce", "window", parse_duration, FIELD(bf_window_ns) },
	[KEY_BF_SYN_RATE] = { "bruteforce", "syn_rate", parse_threshold, FIELD(bf_syn_rate) },
	[KEY_BF_SYN_PORTS] = { "bruteforce", "syn_ports", parse_ports, PORTS(bf_syn_ports),
			       .empty_ok = 1 },
	[KEY_BF_DISTRIBUTED] = { "bruteforce", "distributed", parse_threshold,
				 FIELD(bf_distributed) },
	[KEY_BF_BAN] = { "bruteforce", "ban", parse_duration, FIELD(bf_ban_ns) },
	[KEY_BF_BAN_FACTOR] = { "bruteforce", "ban_factor", parse_count, COUNT(bf_ban_factor, 100) },
	[KEY_BF_BAN_MAX] = { "bruteforce", "ban_max", parse_duration, FIELD(bf_ban_max_ns) },
	[KEY_BF_FORGET] = { "bruteforce", "forget", parse_duration, FIELD(bf_forget_ns) },
	[KEY_BF_ALLOW] = { "bruteforce", "allow", parse_nets, NAMES(bf_allow), .empty_ok = 1 },
	[KEY_BF_STATE] = { "bruteforce", "state", parse_path, FIELD(bf_state), .empty_ok = 1 },
	[KEY_RELAY_TRUSTED] = { "relay", "trusted", parse_nets, NAMES(relay_trusted),
				.empty_ok = 1 },
	[KEY_RELAY_DOMAINS] = { "relay", "domains", parse_names_dns, HOSTS(relay_domains),
				.empty_ok = 1 },
	[KEY_RELAY_BAN] = { "relay", "ban", parse_duration, FIELD(relay_ban_ns), .zero_ok = 1 },
	[KEY_RELAY_TARGETS] = { "relay", "check_targets", parse_names_dns, HOSTS(relay_targets),
				.empty_ok = 1 },
	[KEY_DNSBL_ZONES] = { "dnsbl", "zones", parse_names_dns, HOSTS(dnsbl_zones),
			      .empty_ok = 1 },
	[KEY_DNSBL_ADDRESSES] = { "dnsbl", "addresses", parse_addresses, HOSTS(dnsbl_addresses),
				  .empty_ok = 1 },
	[KEY_DNSBL_INTERVAL] = { "dnsbl", "interval", parse_duration, FIELD(dnsbl_interval_ns),
				 .zero_ok = 1 },
	[KEY_O_LIMIT] = { "override", "limit", parse_limit, .in_override = 1 },
	[KEY_O_BURST] = { "override", "burst", parse_burst, .in_override = 1 },
	[KEY_O_ACTIONS] = { "override", "actions", parse_actions, .in_override = 1 },
	THRESHOLDS(OVERRIDE_KEY)
};

/* The names as "a, b or c", each between pre and post. */
static const char *join(const char *const *names, size_t n, const char *pre, const char *post,
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

static int handle(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	const struct key *k = NULL;
	const char *names[N_KEYS];
	char list[512];
	int i, n = 0;

	/* Not inih's section: header() has checked it and trimmed it. */
	l->pair_line = l->lineno;
	if (!l->section) {
		bad(l, "'%s' comes before any [section]", name);
		return failed(l, l->lineno, NULL);
	}
	for (i = 0; i < N_KEYS && !k; i++)
		if (!strcmp(keys[i].section, l->section) && !strcmp(keys[i].name, name))
			k = &keys[i];
	if (!k) {
		for (i = 0; i < N_KEYS; i++)
			if (!strcmp(keys[i].section, l->section))
				names[n++] = keys[i].name;
		bad(l, "[%s] unknown key '%s' (expected %s)", l->section, name,
		    join(names, n, "", "", list, sizeof(list)));
		return failed(l, l->lineno, NULL);
	}
	l->prev = k;
	if (l->seen[k - keys]) {
		bad(l, "given twice (first on line %d)", l->seen[k - keys]);
		return failed(l, l->lineno, k);
	}
	l->seen[k - keys] = l->lineno;
	if (l->ov)
		l->ov->given |= 1U << (k - &keys[KEY_O_FIRST]);
	if (!*value && !k->empty_ok) {
		bad(l, "no value");
		return failed(l, l->lineno, k);
	}
	return k->parse(l, k, value) ? failed(l, l->lineno, k) : 1;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* "[override NAME]": a new override, named once; its keys may be given again. */
static int override_header(struct load *l, const char *name)
{
	struct sg_config *c = l->c;
	struct sg_override *o;
	int i;

	if (!*name || strpbrk(name, " \t")) {
		bad(l, "expected [override NAME], NAME a user or a UID, got [override %s]", name);
		return failed(l, l->lineno, NULL);
	}
	for (i = 0; i < c->n_overrides; i++) {
		if (!strcmp(c->overrides[i].name, name)) {
			bad(l, "[override %s] given twice (first on line %d)", name,
			    c->overrides[i].line);
			return failed(l, l->lineno, NULL);
		}
	}
	if (c->n_overrides == SG_MAX_OVERRIDES || strlen(name) >= sizeof(o->name)) {
		bad(l, c->n_overrides == SG_MAX_OVERRIDES ? "more than %d overrides" :
							      "override name longer than 63 characters",
		    SG_MAX_OVERRIDES);
		return failed(l, l->lineno, NULL);
	}
	o = &c->overrides[c->n_overrides++];
	memset(o, 0, sizeof(*o));
	strcpy(o->name, name);
	o->line = l->lineno;
	for (i = KEY_O_FIRST; i < N_KEYS; i++)
		l->seen[i] = 0;
	l->section = "override";
	l->ov = o;
	l->prev = NULL;
	return 1;
}

/* A "[name]" line: the name must be known. */
static int header(struct load *l, char *s)
{
	char *end = strchr(s, ']'), list[256];
	size_t i;

	if (!end) {
		bad(l, "section header without ']': '%s'", s);
		return failed(l, l->lineno, NULL);
	}
	*end = '\0';
	s = trim(s + 1);
	l->ov = NULL;
	if (!strncmp(s, "override", 8) && (!s[8] || isspace((unsigned char)s[8])))
		return override_header(l, trim(s + 8));
	for (i = 0; i < N_SECTIONS; i++) {
		if (!strcmp(s, sections[i])) {
			l->section = sections[i];
			l->prev = NULL;
			return 1;
		}
	}
	bad(l, "unknown section [%s] (expected %s)", s,
	    join(sections, N_SECTIONS, "[", "]", list, sizeof(list)));
	return failed(l, l->lineno, NULL);
}

/* Classifies the line in l->buf as inih will see it; 0 when it is an error. */
static int classify(struct load *l)
{
	char *p = l->buf, *s;

	if (l->lineno == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	s = trim(p);
	l->text = s;
	l->want_pair = 0;
	if (!*s || strchr(";#", *s))
		return 1;
	if (s > p && l->prev) {
		bad(l,
		    "continued on an indented line ('%s'); put the value on one line, "
		    "without indentation",
		    s);
		return failed(l, l->lineno, l->prev);
	}
	if (*s == '[')
		return header(l, s);
	l->want_pair = 1;
	return 1;
}

static char *read_line(char *str, int num, void *stream)
{
	struct load *l = stream;
	ssize_t len;

	if (l->err_line)
		return NULL;
	/* inih calls the handler for every key = value line it accepts. */
	if (l->want_pair && l->pair_line != l->lineno) {
		if (l->section)
			bad(l, "[%s] expected 'key = value', got '%s'", l->section, l->text);
		else
			bad(l, "expected '[section]' or 'key = value', got '%s'", l->text);
		failed(l, l->lineno, NULL);
		return NULL;
	}
	len = getline(&l->buf, &l->cap, l->f);
	if (len < 0) {
		if (ferror(l->f))
			l->read_err = errno ? errno : EIO;
		return NULL;
	}
	l->lineno++;
	/* inih would split a line that does not fit its buffer with the newline. */
	if (len - (l->buf[len - 1] == '\n') > num - 2) {
		bad(l, "line longer than %d characters", num - 2);
		failed(l, l->lineno, NULL);
		return NULL;
	}
	memcpy(str, l->buf, len + 1);
	return classify(l) ? str : NULL;
}

/* What no single line shows: how rate and burst go with the default mode. */
static void check_policy(struct load *l)
{
	struct sg_policy *p = &l->c->default_policy;
	int i;

	/* With no rate given, the built-in one stands, with its burst. */
	if (p->mode == SG_MODE_THROTTLE) {
		if (l->seen[KEY_RATE] && !l->seen[KEY_BURST])
			p->burst = sg_bucket_default_burst(p->rate_per_hour);
		return;
	}
	p->rate_per_hour = 0;
	p->burst = 0;
	for (i = KEY_RATE; i <= KEY_BURST; i++) {
		if (l->seen[i]) {
			bad(l, "only for default = throttle (the default here is %s)",
			    modes[p->mode]);
			failed(l, l->seen[i], &keys[i]);
			return;
		}
	}
}

/* The kernel's sg_ports holds SG_MAX_PORTS ports, outbound and inbound together. */
static void check_ports(struct load *l)
{
	const struct sg_config *c = l->c;
	int i, j, n = c->n_outbound;
	int line = l->seen[KEY_INBOUND] > l->seen[KEY_OUTBOUND] ? KEY_INBOUND : KEY_OUTBOUND;

	for (i = 0; i < c->n_inbound; i++) {
		for (j = 0; j < c->n_outbound && c->outbound[j] != c->inbound[i]; j++)
			;
		n += j == c->n_outbound;
	}
	if (n <= SG_MAX_PORTS)
		return;
	bad(l, "%d distinct ports in outbound and inbound together; at most %d", n, SG_MAX_PORTS);
	failed(l, l->seen[line], &keys[line]);
}

/* [bruteforce]: the keys that depend on one another, or on [ports]. */
static void check_bruteforce(struct load *l)
{
	const struct sg_config *c = l->c;
	int i, j, line;

	/* XDP counts a source's SYNs on inbound ports only; the default's are left out quietly. */
	line = l->seen[KEY_INBOUND] > l->seen[KEY_BF_SYN_PORTS] ? KEY_INBOUND : KEY_BF_SYN_PORTS;
	for (i = 0; l->seen[KEY_BF_SYN_PORTS] && i < c->n_bf_syn_ports; i++) {
		for (j = 0; j < c->n_inbound && c->inbound[j] != c->bf_syn_ports[i]; j++)
			;
		if (j == c->n_inbound) {
			bad(l, "[bruteforce] syn_ports has %u, which is not in [ports] inbound",
			    c->bf_syn_ports[i]);
			failed(l, l->seen[line], NULL);
			return;
		}
	}
	if (c->bf_distributed > SG_MAX_DISTRIBUTED) {
		bad(l, "at most %d", SG_MAX_DISTRIBUTED);
		failed(l, l->seen[KEY_BF_DISTRIBUTED], &keys[KEY_BF_DISTRIBUTED]);
		return;
	}
	if (c->bf_ban_max_ns < c->bf_ban_ns) {
		line = l->seen[KEY_BF_BAN_MAX] > l->seen[KEY_BF_BAN] ? KEY_BF_BAN_MAX : KEY_BF_BAN;
		bad(l, "ban_max is shorter than ban");
		failed(l, l->seen[line], &keys[line]);
	}
}

/* An override's thresholds are [detect]'s but for the keys it gives, wherever [detect] is. */
static void merge_overrides(struct load *l)
{
	struct sg_config *c = l->c;
	struct sg_override *o;
	const struct key *k;
	int i;

	for (o = c->overrides; o < c->overrides + c->n_overrides; o++) {
		for (i = KEY_O_FIRST; i < N_KEYS; i++) {
			k = &keys[i];
			if (k->size && !(o->given & (1U << (i - KEY_O_FIRST))))
				memcpy((char *)&o->t + k->toff, (char *)&c->thresholds + k->toff,
				       k->size);
		}
		if (o->given & (1U << (KEY_O_BURST - KEY_O_FIRST)) &&
		    o->limit.mode != SG_MODE_THROTTLE) {
			bad(l, "[override %s] burst needs a rate in 'limit'", o->name);
			failed(l, o->line, NULL);
			return;
		}
	}
}

int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen)
{
	struct load l = { .path = path, .err = err, .errlen = errlen };
	int ret;

	l.c = malloc(sizeof(*l.c));
	if (!l.c) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	l.f = fopen(path, "re");
	if (!l.f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		free(l.c);
		return ret;
	}
	sg_config_default(l.c);
	ret = ini_parse_stream(read_line, &l, handle, &l);
	if (l.read_err) {
		snprintf(err, errlen, "%s: %s", path, strerror(l.read_err));
		ret = -l.read_err;
	} else {
		/* The reader sees every error inih reports; this is in case it missed one. */
		if (ret && !l.err_line) {
			bad(&l, "cannot parse this line");
			failed(&l, ret > 0 ? ret : l.lineno, NULL);
		}
		if (!l.err_line)
			check_policy(&l);
		if (!l.err_line)
			check_ports(&l);
		if (!l.err_line)
			check_bruteforce(&l);
		if (!l.err_line)
			merge_overrides(&l);
		ret = l.err_line ? -EINVAL : 0;
	}
	if (!ret)
		memcpy(c, l.c, sizeof(*c));
	fclose(l.f);
	free(l.buf);
	free(l.c);
	return ret;
}

void sg_config_cli(struct sg_config *c)
{
	const char *path = getenv("SMTPGUARD_CONFIG");
	char err[PATH_MAX + 256];

	if (!path || !*path)
		path = SG_CONFIG_PATH;
	/* On failure c keeps the defaults: a broken config must not stop an emergency command. */
	sg_config_default(c);
	if (!access(path, F_OK) && sg_config_load(path, c, err, sizeof(err)))
		sg_warn("warning: %s; going on with the default settings", err);
}
