// SPDX-License-Identifier: GPL-2.0
/* check-relay's logic: the tests, reply parsing, targets and verdicts (see relaytest.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/parse.h"
#include "mail/relaytest.h"

#define EXT_FROM "<relaytest@example.com>"
#define EXT_TO	 "<relaytest@example.net>"

/*
 * RFC 2606 domains only, example.com sending to example.net, which take no
 * mail (null MX): safe even against a server that queues before DATA. Each
 * test varies the sender, or disguises the recipient, in a way some servers
 * have been fooled by.
 */
const struct sg_relay_test sg_relay_tests[] = {
	{ "ext-ext", "external sender, external recipient", EXT_FROM, EXT_TO },
	{ "null-ext", "null sender, external recipient", "<>", EXT_TO },
	{ "local-ext", "local sender (spoofed), external recipient", "<relaytest@LOCALDOMAIN>",
	  EXT_TO },
	{ "unqual-ext", "unqualified sender, external recipient", "<relaytest>", EXT_TO },
	{ "percent", "percent hack", EXT_FROM, "<relaytest%example.net@LOCALDOMAIN>" },
	{ "bang-local", "bang path at the local domain", EXT_FROM,
	  "<example.net!relaytest@LOCALDOMAIN>" },
	{ "bang", "bang path", EXT_FROM, "<example.net!relaytest>" },
	{ "quoted", "quoted local part", EXT_FROM, "<\"relaytest@example.net\">" },
	{ "quoted-local", "quoted local part at the local domain", EXT_FROM,
	  "<\"relaytest@example.net\"@LOCALDOMAIN>" },
	{ "route", "source route through the local domain", EXT_FROM,
	  "<@LOCALDOMAIN:relaytest@example.net>" },
};

const int sg_relay_n_tests = sizeof(sg_relay_tests) / sizeof(sg_relay_tests[0]);

/* Appends s[0, n) at *at, keeping buf NUL-terminated; -ENAMETOOLONG when it does not fit. */
static int put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
	if (n >= len - *at)
		return -ENAMETOOLONG;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
	return 0;
}

/* verb and path, with each SG_RELAY_LOCALDOMAIN in path replaced by domain. */
static int command(const char *verb, const char *path, const char *domain, char *buf, size_t len)
{
	size_t at = 0, n = strlen(SG_RELAY_LOCALDOMAIN);
	int err = put(buf, len, &at, verb, strlen(verb));
	const char *p;

	while (!err && (p = strstr(path, SG_RELAY_LOCALDOMAIN))) {
		err = put(buf, len, &at, path, p - path)
			      ?: put(buf, len, &at, domain, strlen(domain));
		path = p + n;
	}
	return err ?: put(buf, len, &at, path, strlen(path));
}

int sg_relay_commands(const struct sg_relay_test *test, const char *domain, char *mail, char *rcpt,
		      size_t len)
{
	return command("MAIL FROM:", test->from, domain, mail, len)
		       ?: command("RCPT TO:", test->to, domain, rcpt, len);
}

/* The code of one reply line (CR and LF stripped), -EPROTO when it has none. */
static int line_code(const char *line, size_t n)
{
	if (n < 3 || line[0] < '2' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -EPROTO;
	if (n > 3 && line[3] != ' ' && line[3] != '-')
		return -EPROTO;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

int sg_smtp_parse_reply(const char *buf, size_t len, struct sg_smtp_reply *r)
{
	size_t pos = 0, n;
	const char *nl;
	int code = 0, lines = 0, c;

	for (;;) {
		nl = memchr(buf + pos, '\n', len - pos);
		/* A line that can no longer end within the bound fails before it ends. */
		if ((nl ? (size_t)(nl - buf) + 1 : len) - pos > SG_SMTP_LINE_MAX)
			return -EMSGSIZE;
		if (!nl)
			return 0;
		n = nl - (buf + pos);
		if (n && buf[pos + n - 1] == '\r')
			n--;
		c = line_code(buf + pos, n);
		if (c < 0 || (lines && c != code))
			return -EPROTO;
		code = c;
		lines++;
		if (n == 3 || buf[pos + 3] == ' ') {
			r->code = code;
			r->lines = lines;
			return nl - buf + 1;
		}
		if (lines == SG_SMTP_REPLY_LINES)
			return -EMSGSIZE;
		pos = nl - buf + 1;
	}
}

int sg_relay_valid_domain(const char *s)
{
	size_t n = strlen(s);
	unsigned char a[16];
	char lit[INET6_ADDRSTRLEN + 5];

	if (!n || n >= SG_DOMAIN_MAX)
		return 0;
	if (s[0] == '[') {
		if (s[n - 1] != ']' || n - 2 >= sizeof(lit))
			return 0;
		snprintf(lit, sizeof(lit), "%.*s", (int)(n - 2), s + 1);
		return inet_pton(AF_INET, lit, a) == 1 ||
		       (!strncmp(lit, "IPv6:", 5) && inet_pton(AF_INET6, lit + 5, a) == 1);
	}
	if (s[0] == '.' || strstr(s, ".."))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == n;
}

int sg_relay_greeting_domain(const char *line, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	if (len <= 4)
		return -EINVAL;
	line += 4;
	len -= 4;
	while (n < len && line[n] != ' ' && line[n] != '\r' && line[n] != '\n')
		n++;
	if (n >= buflen)
		return -EINVAL;
	memcpy(buf, line, n);
	buf[n] = '\0';
	return sg_relay_valid_domain(buf) ? 0 : -EINVAL;
}

static int why_fail(const char **why, const char *msg)
{
	*why = msg;
	return -EINVAL;
}

/* s[0, n) into host, NUL-terminated. */
static int copy_host(const char *s, size_t n, char *host, size_t hostlen, const char **why)
{
	if (n >= hostlen)
		return why_fail(why, "host too long");
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

int sg_relay_parse_target(const char *s, char *host, size_t hostlen, __u16 *port, const char **why)
{
	const char *end, *colon = strchr(s, ':');
	unsigned char a[16];
	__u32 p;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end)
			return why_fail(why, "missing ']'");
		if (copy_host(s + 1, end - s - 1, host, hostlen, why))
			return -EINVAL;
		if (inet_pton(AF_INET6, host, a) != 1)
			return why_fail(why, "not an IPv6 address between '[' and ']'");
		if (end[1] && end[1] != ':')
			return why_fail(why, "expected ':PORT' after ']'");
		colon = end[1] ? end + 1 : NULL;
	} else if (colon && strchr(colon + 1, ':')) {
		if (inet_pton(AF_INET6, s, a) != 1)
			return why_fail(why, "not an IPv6 address (write [IPv6]:PORT)");
		if (copy_host(s, strlen(s), host, hostlen, why))
			return -EINVAL;
		colon = NULL;
	} else {
		if (copy_host(s, colon ? (size_t)(colon - s) : strlen(s), host, hostlen, why))
			return -EINVAL;
		if (!sg_relay_valid_domain(host) || host[0] == '[')
			return why_fail(why, "not a host name or address");
	}
	if (!colon) {
		*port = SG_RELAY_PORT;
		return 0;
	}
	if (sg_parse_count(colon + 1, 65535, &p, why))
		return why_fail(why, "PORT must be a number from 1 to 65535");
	*port = p;
	return 0;
}

static int addr_v4(const __u32 a[4])
{
	return !a[0] && !a[1] && a[2] == htonl(0xffff);
}

int sg_relay_addr_loopback(const __u32 a[4])
{
	if (addr_v4(a))
		return ntohl(a[3]) >> 24 == 127;
	return !a[0] && !a[1] && !a[2] && a[3] == htonl(1);
}

int sg_relay_addr_global(const __u32 a[4])
{
	int link_local =
		addr_v4(a) ? ntohl(a[3]) >> 16 == 0xa9fe : (ntohl(a[0]) & 0xffc00000) == 0xfe800000;

	return !link_local && !sg_relay_addr_loopback(a);
}

int sg_relay_addr_in(const __u32 addr[4], const __u32 (*list)[4], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!memcmp(addr, list[i], sizeof(list[i])))
			return 1;
	return 0;
}

enum sg_relay_allowed sg_relay_target_allowed(const char *host, const __u32 addr[4],
					      const __u32 (*local)[4], int n_local,
					      const char (*targets)[SG_DOMAIN_MAX], int n_targets,
					      const __u32 (*listed)[4], int n_listed)
{
	int i;

	/* A loopback address is this host's whether or not lo holds it: 127.0.0.2 is local. */
	if (sg_relay_addr_loopback(addr) || sg_relay_addr_in(addr, local, n_local))
		return SG_RELAY_LOCAL;
	for (i = 0; i < n_targets; i++)
		if (!strcasecmp(targets[i], host))
			return SG_RELAY_LISTED;
	return sg_relay_addr_in(addr, listed, n_listed) ? SG_RELAY_LISTED : SG_RELAY_NOT_ALLOWED;
}

enum sg_relay_verdict sg_relay_reply_verdict(enum sg_relay_stage stage, int code,
					     struct sg_relay_result *r)
{
	enum sg_relay_verdict v;

	if (stage == SG_STAGE_GREETING)
		v = code == 220 ? SG_RELAY_PENDING : SG_RELAY_ERROR;
	else if (code / 100 == 2)
		v = stage == SG_STAGE_RCPT ? SG_RELAY_RELAYS : SG_RELAY_PENDING;
	else if (code / 100 == 5 && stage == SG_STAGE_EHLO)
		v = SG_RELAY_PENDING;
	else if ((code / 100 == 4 && code != 421) || code / 100 == 5)
		v = SG_RELAY_REFUSED;
	else
		v = SG_RELAY_ERROR;
	*r = (struct sg_relay_result){ .verdict = v, .stage = stage, .code = code };
	return v;
}

static const char *const stage_names[] = {
	[SG_STAGE_CONNECT] = "connect", [SG_STAGE_GREETING] = "greeting", [SG_STAGE_EHLO] = "EHLO",
	[SG_STAGE_HELO] = "HELO",	[SG_STAGE_MAIL] = "MAIL",	  [SG_STAGE_RCPT] = "RCPT",
};

char *sg_relay_format_result(const struct sg_relay_result *r, char *buf, size_t len)
{
	const char *stage = stage_names[r->stage], *msg;

	if (r->verdict == SG_RELAY_RELAYS) {
		snprintf(buf, len, "relays");
	} else if (r->verdict == SG_RELAY_REFUSED) {
		snprintf(buf, len, "refused (%d at %s)", r->code, stage);
	} else if (r->code) {
		snprintf(buf, len, "error (%s %d at %s)",
			 r->code / 100 == 4 ? "temporary" : "unexpected", r->code, stage);
	} else {
		switch (-r->err) {
		case EPIPE:
			msg = "connection closed by the server";
			break;
		case EPROTO:
			msg = "malformed reply";
			break;
		case EMSGSIZE:
			msg = "reply too long";
			break;
		default:
			msg = strerror(-r->err);
		}
		snprintf(buf, len, "error (%s: %s)", stage, msg);
	}
	return buf;
}
