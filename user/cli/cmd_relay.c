// SPDX-License-Identifier: GPL-2.0
/*
 * check-relay: tests this host's mail server for open relaying, as an
 * outside audit would (S5), and only this host's or one the configuration
 * names: never another's.
 *
 * The SMTP dialogue is written here rather than with libcurl: curl's SMTP
 * always goes on to DATA, and a relay test must stop after RCPT TO, or a
 * server that relays would take a message for delivery.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "util/parse.h"
#include "mail/relaytest.h"
#include "util/render.h"

#define DEFAULT_HELO	  "relaytest.example"
#define DEFAULT_TIMEOUT_S 10
#define MAX_TIMEOUT_S	  3600

struct addrs {
	__u32 (*v)[4];
	int n;
};

struct target {
	char host[SG_DOMAIN_MAX]; /* as given, without brackets */
	__u16 port;
	__u32 addr[4];
	/* HOST:PORT, and the address tested when HOST is a name */
	char shown[SG_DOMAIN_MAX + INET6_ADDRSTRLEN + 16];
};

struct opts {
	const char *domain; /* NULL: the server's name, from its greeting */
	const char *helo;
	__u32 timeout_s;
};

static const struct opts relay_defaults = { .helo = DEFAULT_HELO, .timeout_s = DEFAULT_TIMEOUT_S };

static int check_domain(const char *s, const char **why)
{
	*why = "not a domain name";
	return !sg_relay_valid_domain(s);
}

static const struct sg_option relay_options[] = {
	{ "domain", 0, SG_STRING(struct opts, domain), .check = check_domain },
	{ "helo", 0, SG_STRING(struct opts, helo), .check = check_domain },
	{ "timeout", 0, SG_COUNT(struct opts, timeout_s), .max = MAX_TIMEOUT_S,
	  .why = "1 to " SG_STR(MAX_TIMEOUT_S) " seconds" },
	{},
};

struct session {
	int fd;
	int timeout_ms;
	size_t len;  /* bytes in buf */
	size_t used; /* of those, the last reply's: dropped when the next is read */
	char buf[SG_SMTP_REPLY_MAX];
};

static int addrs_add(struct addrs *a, const __u32 addr[4])
{
	__u32(*v)[4] = realloc(a->v, (a->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	memcpy(v[a->n++], addr, sizeof(*v));
	a->v = v;
	return 0;
}

/* An AF_INET or AF_INET6 address as 16 bytes, IPv4 mapped; -EAFNOSUPPORT for others. */
static int from_sockaddr(const struct sockaddr *sa, __u32 addr[4])
{
	memset(addr, 0, 4 * sizeof(addr[0]));
	if (sa && sa->sa_family == AF_INET) {
		addr[2] = htonl(0xffff);
		addr[3] = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		return 0;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static socklen_t to_sockaddr(const __u32 addr[4], __u16 port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!addr[0] && !addr[1] && addr[2] == htonl(0xffff)) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = addr[3];
		return sizeof(*s4);
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, addr, 16);
	return sizeof(*s6);
}

/* This network namespace's addresses, loopback included, in getifaddrs' order. */
static int local_addrs(struct addrs *a)
{
	struct ifaddrs *ifa, *i;
	__u32 addr[4];
	int err = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i && !err; i = i->ifa_next)
		if (!from_sockaddr(i->ifa_addr, addr))
			err = addrs_add(a, addr);
	freeifaddrs(ifa);
	return err;
}

/* Appends host's addresses to a: 0, or getaddrinfo's error (gai_strerror). */
static int resolve(const char *host, struct addrs *a)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *i;
	__u32 addr[4];
	int err;

	err = getaddrinfo(host, NULL, &hints, &ai);
	if (err)
		return err;
	for (i = ai; i && !err; i = i->ai_next)
		if (!from_sockaddr(i->ai_addr, addr) && addrs_add(a, addr))
			err = EAI_MEMORY;
	freeaddrinfo(ai);
	return err;
}

/* Index of the first address of host check-relay may test, or -1. */
static int first_allowed(const struct sg_config *c, const char *host, const struct addrs *cand,
			 const struct addrs *local, const struct addrs *listed,
			 enum sg_relay_allowed *why)
{
	int i;

	for (i = 0; i < cand->n; i++) {
		*why = sg_relay_target_allowed(
			host, cand->v[i], (const __u32(*)[4])local->v, local->n,
			(const char(*)[SG_DOMAIN_MAX])c->relay.targets, c->relay.n_targets,
			(const __u32(*)[4])listed->v, listed->n);
		if (*why != SG_RELAY_NOT_ALLOWED)
			return i;
	}
	return -1;
}

/* t->shown: HOST:PORT, with the address tested when HOST is a name. */
static void show_target(struct target *t)
{
	int v6 = strchr(t->host, ':') != NULL, n;
	char a[INET6_ADDRSTRLEN];

	sg_format_addr(t->addr, a, sizeof(a));
	n = snprintf(t->shown, sizeof(t->shown), "%s%s%s:%u", v6 ? "[" : "", t->host, v6 ? "]" : "",
		     t->port);
	if (strcmp(t->host, a))
		snprintf(t->shown + n, sizeof(t->shown) - n, " (%s)", a);
}

/* This host's first global address, else 127.0.0.1. */
static void default_target(const struct addrs *local, struct target *t)
{
	int k;

	memset(t->addr, 0, sizeof(t->addr));
	t->addr[2] = htonl(0xffff);
	t->addr[3] = htonl(INADDR_LOOPBACK);
	for (k = 0; k < local->n; k++) {
		if (sg_relay_addr_global(local->v[k])) {
			memcpy(t->addr, local->v[k], sizeof(t->addr));
			break;
		}
	}
	sg_format_addr(t->addr, t->host, sizeof(t->host));
}

/* HOST[:PORT]'s first address that check-relay may test; an exit status after one message. */
static int target_of(const struct sg_config *c, const char *arg, const struct addrs *local,
		     struct target *t, enum sg_relay_allowed *why)
{
	struct addrs cand = {}, listed = {};
	const char *bad;
	int err, i, k;

	if (sg_relay_parse_target(arg, t->host, sizeof(t->host), &t->port, &bad))
		return sg_usage_error(&sg_cmd_check_relay, "bad target '%s': %s", arg, bad);
	err = resolve(t->host, &cand);
	if (err)
		return sg_fail("%s: %s", t->host, gai_strerror(err));
	i = first_allowed(c, t->host, &cand, local, &listed, why);
	/* The configured names are looked up only when they can make a difference. */
	for (k = 0; i < 0 && k < c->relay.n_targets; k++)
		resolve(c->relay.targets[k], &listed);
	if (i < 0 && listed.n)
		i = first_allowed(c, t->host, &cand, local, &listed, why);
	if (i >= 0)
		memcpy(t->addr, cand.v[i], sizeof(t->addr));
	free(cand.v);
	free(listed.v);
	if (i < 0)
		return sg_fail("refusing to test %s: not an address of this host, nor in [relay] "
			       "check_targets (check-relay tests only this host's own servers)",
			       t->host);
	return 0;
}

/*
 * The server to test: arg (HOST[:PORT]), which must be this host's or in
 * [relay] check_targets, or by default this host's. An exit status after
 * one message when there is none.
 */
static int pick_target(const struct sg_config *c, const char *arg, struct target *t,
		       enum sg_relay_allowed *why)
{
	struct addrs local = {};
	int err;

	err = local_addrs(&local);
	if (err) {
		free(local.v);
		return sg_fail("listing this host's addresses: %s", strerror(-err));
	}
	*why = SG_RELAY_LOCAL;
	if (arg)
		err = target_of(c, arg, &local, t, why);
	else
		default_target(&local, t);
	free(local.v);
	if (!err)
		show_target(t);
	return err;
}

/* addr is inside [relay] trusted: the server may relay for it as for its own. */
static int trusted(const struct sg_config *c, const __u32 addr[4])
{
	return sg_cidr_list_contains(c->relay.trusted, c->relay.n_trusted, addr);
}

/* CLOCK_MONOTONIC in milliseconds (it cannot fail). */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline (now_ms): 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int n;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int dial(struct session *s, const struct target *t, __u32 src[4], __u16 *sport)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(t->addr, t->port, &ss);
	long long deadline = now_ms() + s->timeout_ms;
	int err;

	s->len = s->used = 0;
	s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (connect(s->fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		return -errno;
	err = wait_fd(s->fd, POLLOUT, deadline);
	len = sizeof(err);
	if (!err && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	if (err)
		return err > 0 ? -err : err;
	len = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len))
		return -errno;
	*sport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return from_sockaddr((struct sockaddr *)&ss, src);
}

/* What the server sent, one line at a time, with control characters as '?'. */
static void echo_reply(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!i || buf[i - 1] == '\n')
			fputs("< ", stdout);
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			continue;
		putchar(buf[i] == '\n' || (buf[i] >= 0x20 && buf[i] < 0x7f) ? buf[i] : '?');
	}
}

/* Sends line and CRLF, echoed as "> line". */
static int say(struct session *s, const char *line)
{
	char buf[SG_SMTP_PATH_MAX + 2];
	size_t len = snprintf(buf, sizeof(buf), "%s\r\n", line), off = 0;
	long long deadline = now_ms() + s->timeout_ms;
	ssize_t n;
	int err = 0;

	printf("> %s\n", line);
	while (!err && off < len) {
		n = send(s->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0)
			off += n;
		else if (errno == EAGAIN)
			err = wait_fd(s->fd, POLLOUT, deadline);
		else if (errno != EINTR)
			err = -errno;
	}
	return err;
}

/* Reads the next reply into s->buf[0, s->used), echoed as "< " lines. */
static int hear(struct session *s, struct sg_smtp_reply *r)
{
	long long deadline = now_ms() + s->timeout_ms;
	ssize_t n;
	int got, err = 0;

	memmove(s->buf, s->buf + s->used, s->len - s->used);
	s->len -= s->used;
	s->used = 0;
	while (!err) {
		got = sg_smtp_parse_reply(s->buf, s->len, r);
		if (got > 0) {
			s->used = got;
			echo_reply(s->buf, got);
			return 0;
		}
		if (got < 0 || s->len == sizeof(s->buf))
			return got < 0 ? got : -EMSGSIZE;
		n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);
		if (n > 0)
			s->len += n;
		else if (!n)
			err = -EPIPE;
		else if (errno == EAGAIN)
			err = wait_fd(s->fd, POLLIN, deadline);
		else if (errno != EINTR)
			err = -errno;
	}
	return err;
}

/*
 * What stands for the server's own domain in the tests: --domain, else the
 * name it gives in its greeting (s->buf), as an outside audit guesses, else
 * its address as a literal.
 */
static void local_domain(const struct opts *o, const struct session *s, const struct target *t,
			 char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (o->domain)
		snprintf(buf, len, "%s", o->domain);
	else if (sg_relay_greeting_domain(s->buf, s->used, buf, len))
		snprintf(buf, len, "[%s%s]",
			 strchr(sg_format_addr(t->addr, a, sizeof(a)), ':') ? "IPv6:" : "", a);
}

/*
 * One test in its own session: greeting, EHLO (HELO after a 5xx), MAIL,
 * RCPT, then RSET and QUIT, never DATA. Fills r; src gets the address the
 * connection came from (untouched when it failed).
 */
static void run_test(const struct opts *o, const struct target *t, const struct sg_relay_test *test,
		     struct session *s, struct sg_relay_result *r, __u32 src[4])
{
	char cmds[SG_STAGE_RCPT + 1][SG_SMTP_PATH_MAX], domain[SG_DOMAIN_MAX], a[INET6_ADDRSTRLEN];
	enum sg_relay_stage st = SG_STAGE_GREETING;
	struct sg_smtp_reply rep;
	__u16 sport = 0;
	int err;

	s->timeout_ms = (int)o->timeout_s * 1000;
	err = dial(s, t, src, &sport);
	if (err) {
		*r = (struct sg_relay_result){ SG_RELAY_ERROR, SG_STAGE_CONNECT, 0, err };
		goto out;
	}
	printf("* connected from %s port %u\n", sg_format_addr(src, a, sizeof(a)), sport);
	snprintf(cmds[SG_STAGE_EHLO], sizeof(cmds[0]), "EHLO %s", o->helo);
	snprintf(cmds[SG_STAGE_HELO], sizeof(cmds[0]), "HELO %s", o->helo);
	for (;;) {
		err = st == SG_STAGE_GREETING ? 0 : say(s, cmds[st]);
		err = err ?: hear(s, &rep);
		if (err) {
			*r = (struct sg_relay_result){ SG_RELAY_ERROR, st, 0, err };
			break;
		}
		if (sg_relay_reply_verdict(st, rep.code, r) != SG_RELAY_PENDING)
			break;
		if (st == SG_STAGE_GREETING) {
			local_domain(o, s, t, domain, sizeof(domain));
			/* Cannot fail: paths and domain are bounded well below a command's size. */
			sg_relay_commands(test, domain, cmds[SG_STAGE_MAIL], cmds[SG_STAGE_RCPT],
					  sizeof(cmds[0]));
		}
		st = st == SG_STAGE_EHLO && rep.code / 100 == 2 ? SG_STAGE_MAIL : st + 1;
	}
	/*
	 * RSET drops the transaction of an accepted recipient: nothing is
	 * queued even by a server that would not take QUIT as the end of it.
	 */
	/* After a timeout or a broken connection, there is no one to say goodbye to. */
	if (r->verdict != SG_RELAY_ERROR || r->code) {
		if (st == SG_STAGE_RCPT && !say(s, "RSET"))
			hear(s, &rep);
		if (!say(s, "QUIT"))
			hear(s, &rep);
	}
out:
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* The ids of the tests whose verdict is v, comma-separated, into buf. */
static char *ids_of(const struct sg_relay_result *res, enum sg_relay_verdict v, char *buf,
		    size_t len)
{
	size_t at = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < sg_relay_n_tests && at < len; i++)
		if (res[i].verdict == v)
			at += snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
				       sg_relay_tests[i].id);
	return buf;
}

/* The address the tests came from: a warning when the server may trust it to relay. */
static void warn_trusted(const struct sg_config *c, const __u32 src[4])
{
	char a[INET6_ADDRSTRLEN];

	if (sg_relay_addr_loopback(src) || trusted(c, src))
		printf("warning: the tests came from %s, %s: the server may trust it to relay, as "
		       "Postfix's mynetworks, and 'relays' may then be legitimate; run check-relay "
		       "from another host that lists this one in [relay] check_targets\n",
		       sg_format_addr(src, a, sizeof(a)),
		       sg_relay_addr_loopback(src) ? "a loopback address"
						   : "inside [relay] trusted");
}

/* Every test against t, each dialogue and verdict, then the summary: the exit status. */
static int run_tests(const struct sg_config *c, const struct opts *o, const struct target *t,
		     struct sg_relay_result *res, struct session *s)
{
	int i, n_relays = 0, n_errors = 0, have_src = 0;
	__u32 src[4] = {}, src_i[4];
	char line[128], ids[256];

	for (i = 0; i < sg_relay_n_tests; i++) {
		printf("\ntest %s: %s\n", sg_relay_tests[i].id, sg_relay_tests[i].what);
		run_test(o, t, &sg_relay_tests[i], s, &res[i], src_i);
		if (!have_src && res[i].stage != SG_STAGE_CONNECT) {
			memcpy(src, src_i, sizeof(src));
			have_src = 1;
		}
		n_relays += res[i].verdict == SG_RELAY_RELAYS;
		n_errors += res[i].verdict == SG_RELAY_ERROR;
		printf("%s: %s\n", sg_relay_tests[i].id,
		       sg_relay_format_result(&res[i], line, sizeof(line)));
	}
	printf("\n");
	if (have_src)
		warn_trusted(c, src);
	printf("check-relay %s: ", t->shown);
	if (n_relays)
		printf("%d of %d tests RELAY: open relay (%s)", n_relays, sg_relay_n_tests,
		       ids_of(res, SG_RELAY_RELAYS, ids, sizeof(ids)));
	else
		printf("%d of %d tests relay", n_relays, sg_relay_n_tests);
	if (n_errors)
		printf("; %d inconclusive (%s)", n_errors,
		       ids_of(res, SG_RELAY_ERROR, ids, sizeof(ids)));
	printf("\n");
	return n_relays || n_errors ? SG_EXIT_FAIL : SG_EXIT_OK;
}

static int run_check_relay(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct opts *o = opts;
	enum sg_relay_allowed allowed = SG_RELAY_NOT_ALLOWED;
	struct target t = { .port = SG_RELAY_PORT };
	struct sg_relay_result *res = NULL;
	struct session *s = NULL;
	struct sg_config *c;
	int rc;

	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	rc = pick_target(c, n_args ? args[0] : NULL, &t, &allowed);
	if (rc)
		goto out;
	printf("check-relay %s: %s, %d tests, EHLO %s\n", t.shown,
	       allowed == SG_RELAY_LOCAL ? "this host" : "in [relay] check_targets",
	       sg_relay_n_tests, o->helo);
	res = calloc(sg_relay_n_tests, sizeof(*res));
	s = malloc(sizeof(*s));
	if (!res || !s)
		rc = sg_fail("%s", strerror(ENOMEM));
	else
		rc = run_tests(c, o, &t, res, s);
out:
	free(s);
	free(res);
	free(c);
	return rc;
}

const struct sg_command sg_cmd_check_relay = {
	.name = "check-relay",
	.summary = "test this host's mail server for open relaying",
	.usage = "usage: smtpguard check-relay [--domain DOMAIN] [--helo NAME]\n"
		 "                             [--timeout SECONDS] [HOST[:PORT]]\n"
		 "  Tests the SMTP server at HOST for open relaying, as an outside audit\n"
		 "  does: a session per test, each asking to relay from an external sender to\n"
		 "  an external recipient its own way (null or spoofed sender, percent hack,\n"
		 "  bang path, quoted local part, source route) and stopping after RCPT TO:\n"
		 "  no message is ever sent. HOST: a name, IPv4, [IPv6] or bare IPv6; PORT\n"
		 "  25; default this host's first global address, else 127.0.0.1. HOST must\n"
		 "  be an address of this host or be listed in [relay] check_targets: any\n"
		 "  other is refused. DOMAIN stands for the server's own domain in the tests\n"
		 "  (default: the name in its greeting); NAME is said in EHLO (default\n"
		 "  " DEFAULT_HELO "); SECONDS bounds the connection and each reply\n"
		 "  (default 10). Prints each dialogue and its verdict: relays (RCPT TO\n"
		 "  accepted), refused (CODE at EHLO|HELO|MAIL|RCPT; 4xx too: Postfix refuses\n"
		 "  relaying with 454) or error (...): the test proved nothing. From a\n"
		 "  loopback address or one in [relay] trusted, 'relays' may only mean that\n"
		 "  the server trusts this host. Exit status 0 when every test was refused,\n"
		 "  else 1.\n",
	.options = relay_options,
	.opts_size = sizeof(struct opts),
	.defaults = &relay_defaults,
	.max_args = 1,
	.run = run_check_relay,
};
