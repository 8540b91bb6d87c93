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
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ini.h>

#include "config.h"
#include "parse.h"
#include "sg_bucket.h"

#define LIST_SEPS " \t,"
#define GLOB_SEPS " \t"

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
	N_KEYS,
};

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
	int seen[N_KEYS];	/* line each key was given on */
	char msg[512];
};

static const char *const sections[] = {
	"daemon", "ports", "policy", "exporter", "attribution", "audit",
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

	memset(c, 0, sizeof(*c));
	memcpy(c->outbound, out, sizeof(out));
	c->n_outbound = sizeof(out) / sizeof(out[0]);
	memcpy(c->inbound, in, sizeof(in));
	c->n_inbound = sizeof(in) / sizeof(in[0]);
	c->default_policy.mode = SG_MODE_OBSERVE;
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

static void *field(struct load *l, size_t off)
{
	return (char *)l->c + off;
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
	return set_str(l, field(l, k->off), k->size, v);
}

static int parse_bool(struct load *l, const struct key *k, const char *v)
{
	static const char *const words[] = { "no", "yes", "false", "true", "0", "1" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcasecmp(v, words[i])) {
			*(int *)field(l, k->off) = i % 2;
			return 0;
		}
	}
	return bad(l, "bad boolean '%s' (yes, no, true, false, 1 or 0)", v);
}

static int parse_count(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (sg_parse_count(v, k->max, field(l, k->off), &why))
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
	__u32 *ports = field(l, k->off), port;
	int *n = field(l, k->n_off), i;
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
	const char *why;

	if (sg_parse_count(v, SG_BURST_MAX, &l->c->default_policy.burst, &why))
		return bad(l, "bad burst '%s': %s (1 to %u)", v, why, SG_BURST_MAX);
	return 0;
}

static int parse_duration(struct load *l, const struct key *k, const char *v)
{
	const char *why;

	if (sg_parse_duration(v, &l->c->deny_event_interval_ns, &why))
		return bad(l, "bad duration '%s': %s", v, why);
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
#define PORTS(f)    offsetof(struct sg_config, f), 0, offsetof(struct sg_config, n_##f)
#define COUNT(f, m) offsetof(struct sg_config, f), 0, 0, m

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
	[KEY_DENY_EVENT_INTERVAL] = { "policy", "deny_event_interval", parse_duration },
	[KEY_LISTEN] = { "exporter", "listen", parse_listen },
	[KEY_TOP_SENDERS] = { "exporter", "top_senders", parse_count, COUNT(top_senders, 1000) },
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

	if (p->mode == SG_MODE_THROTTLE) {
		if (!l->seen[KEY_RATE]) {
			bad(l, "throttle needs a rate (rate = N/s, N/min or N/h)");
			failed(l, l->seen[KEY_DEFAULT], &keys[KEY_DEFAULT]);
		} else if (!l->seen[KEY_BURST]) {
			p->burst = sg_bucket_default_burst(p->rate_per_hour);
		}
		return;
	}
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
		ret = l.err_line ? -EINVAL : 0;
	}
	if (!ret)
		memcpy(c, l.c, sizeof(*c));
	fclose(l.f);
	free(l.buf);
	free(l.c);
	return ret;
}
