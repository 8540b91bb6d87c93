// SPDX-License-Identifier: GPL-2.0
/*
 * sg_sink: the SMTP server the integration tests and the lab send to. It
 * listens on every --listen address (IPv4 "a.b.c.d:port", IPv6
 * "[addr]:port"), greets, takes envelopes and messages and discards them.
 *
 * Without --accept every recipient is taken. With --accept PREFIX (given
 * up to MAX_ACCEPT times) only recipients whose local part starts with one
 * of the prefixes are; every other gets "550 5.1.1 mailbox unavailable", as
 * a remote MX answers mail to dead addresses, and DATA with none taken gets
 * 554.
 *
 * The log has one line per event, so a test counts exactly:
 *   ready                     once all listeners are up
 *   accept PORT PEER          a connection taken
 *   rcpt PORT PEER 250 ADDR   a recipient taken (ADDR as sent, made printable)
 *   rcpt PORT PEER 550 ADDR   a recipient refused
 *   data PORT PEER N          a message delivered to N recipients
 * PORT is the listener's port, PEER the client's "addr:port" ("[v6]:port").
 *
 * With --rcpt-delay-ms N it answers each recipient N ms late, as a
 * tarpitting MX does; the whole sink waits meanwhile, so it takes one
 * recipient at a time.
 *
 * It exits by itself after --max-seconds, or on SIGTERM or SIGINT, so a
 * sink a test forgot cannot outlive it for long.
 *
 * Usage: sg_sink --listen ADDR:PORT... [--accept PREFIX]... [--log FILE] [--max-seconds N]
 *                [--rcpt-delay-ms N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 32 /* the lab's 20 MX addresses, and an IPv6 one */
/* At once: sg_connect --uids starts a sender per UID together, up to 1000 in the fault suite. */
#define MAX_CLIENTS  1024
#define MAX_SECONDS  3600
#define LINE_LEN     1000 /* RFC 5321: a text line, CRLF included */
#define TFO_QLEN     64
#define PEER_LEN     (INET6_ADDRSTRLEN + 8)
#define MAX_ACCEPT   16
#define PREFIX_LEN   64	 /* an RFC 5321 local part is at most 64 octets */
#define ADDR_LOG_LEN 256 /* a recipient as logged: an RFC 5321 path is at most 256 */

struct listener {
	struct sockaddr_storage addr;
	socklen_t len;
	unsigned int port;
};

struct client {
	int in_data;	    /* between DATA and the lone "." */
	unsigned int port;  /* the listener's, for the log */
	unsigned int rcpts; /* recipients taken in this transaction */
	char peer[PEER_LEN];
	size_t len;
	char line[LINE_LEN];
};

/* pfds[0] is the signalfd, then the listeners, then one slot per client (fd -1 when free). */
static struct pollfd pfds[1 + MAX_LISTEN + MAX_CLIENTS];
static struct client clients[MAX_CLIENTS];
static struct listener listeners[MAX_LISTEN];
static int nlisten;
static int log_fd = STDOUT_FILENO;
static const char *accept_prefix[MAX_ACCEPT];
static int naccept;
static long rcpt_delay_ms;

static void die(const char *what)
{
	fprintf(stderr, "sg_sink: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sg_sink --listen ADDR:PORT... [--accept PREFIX]... [--log FILE]\n"
		"               [--max-seconds N] [--rcpt-delay-ms N]\n"
		"  ADDR is a.b.c.d or [IPv6]; N is 1 to %d (default 120); at most %d\n"
		"  listeners and %d prefixes of 1 to %d characters\n",
		MAX_SECONDS, MAX_LISTEN, MAX_ACCEPT, PREFIX_LEN);
	exit(2);
}

/* "a.b.c.d:port" or "[v6]:port"; the brackets keep the last colon unambiguous. */
static int parse_listen(const char *arg, struct listener *l)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	const char *colon = strrchr(arg, ':');
	char host[INET6_ADDRSTRLEN];
	unsigned long port;
	size_t hlen;
	char *end;

	if (!colon || !colon[1])
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -1;
	hlen = colon - arg;
	if (arg[0] == '[') {
		if (hlen < 3 || arg[hlen - 1] != ']')
			return -1;
		arg++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';

	memset(l, 0, sizeof(*l));
	l->port = port;
	if (colon[-1] == ']' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		l->len = sizeof(*sin6);
		return 0;
	}
	if (colon[-1] != ']' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		l->len = sizeof(*sin);
		return 0;
	}
	return -1;
}

static int open_listener(const struct listener *l)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, qlen = TFO_QLEN;

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("SO_REUSEADDR");
	/* An IPv6 listener must not also take the IPv4 port another --listen may want. */
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		die("IPV6_V6ONLY");
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len))
		die("bind");
	/* Lets MSG_FASTOPEN clients put their first bytes in the SYN. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)))
		die("TCP_FASTOPEN");
	if (listen(fd, MAX_CLIENTS))
		die("listen");
	return fd;
}

static void log_line(const char *line)
{
	ssize_t len = strlen(line);

	/* One write per line with O_APPEND: lines never interleave or tear. */
	if (write(log_fd, line, len) != len)
		die("log");
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	const struct sockaddr_in *sin = (const void *)ss;
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sin->sin_port));
	}
}

/* Returns -1 when the reply could not be sent and the client is to be dropped. */
static int say(int fd, const char *msg)
{
	size_t len = strlen(msg);

	/* Replies are short and one at a time: they fit the socket buffer or the peer is gone. */
	return send(fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/*
 * The address of "RCPT TO:<addr>" (or without brackets, as lax clients
 * send it), copied printable into out: no space or control character can
 * split or forge a log line.
 */
static void rcpt_addr(const char *line, char *out, size_t len)
{
	const char *p = line + 4;
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (!strncasecmp(p, "TO:", 3))
		p += 3;
	while (*p == ' ')
		p++;
	if (*p == '<')
		p++;
	for (; *p && *p != '>' && *p != ' ' && n < len - 1; p++)
		out[n++] = (unsigned char)*p > ' ' && (unsigned char)*p < 0x7f ? *p : '?';
	if (!n)
		out[n++] = '-';
	out[n] = '\0';
}

/* Whether the local part of addr starts with one of the --accept prefixes; all do without any. */
static int rcpt_wanted(const char *addr)
{
	size_t local = strcspn(addr, "@"), plen;
	int i;

	if (!naccept)
		return 1;
	for (i = 0; i < naccept; i++) {
		plen = strlen(accept_prefix[i]);
		if (plen <= local && !strncasecmp(addr, accept_prefix[i], plen))
			return 1;
	}
	return 0;
}

/* RCPT: taken or refused as --accept says, and logged either way. */
static int smtp_rcpt(int fd, struct client *c, const char *line)
{
	char addr[ADDR_LOG_LEN], msg[PEER_LEN + ADDR_LOG_LEN + 32];
	int wanted;

	rcpt_addr(line, addr, sizeof(addr));
	wanted = rcpt_wanted(addr);
	snprintf(msg, sizeof(msg), "rcpt %u %s %d %s\n", c->port, c->peer, wanted ? 250 : 550,
		 addr);
	log_line(msg);
	if (!wanted)
		return say(fd, "550 5.1.1 mailbox unavailable\r\n");
	c->rcpts++;
	return say(fd, "250 2.1.5 ok\r\n");
}

/* One line without its CRLF; returns -1 when the session is over. */
static int smtp_line(int fd, struct client *c, const char *line)
{
	char msg[PEER_LEN + 32];

	if (c->in_data) {
		if (strcmp(line, "."))
			return 0;
		c->in_data = 0;
		snprintf(msg, sizeof(msg), "data %u %s %u\n", c->port, c->peer, c->rcpts);
		log_line(msg);
		c->rcpts = 0;
		return say(fd, "250 2.0.0 queued\r\n");
	}
	if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4))
		return say(fd, "250 sg-sink\r\n");
	if (!strncasecmp(line, "RCPT", 4)) {
		if (rcpt_delay_ms)
			nanosleep(&(struct timespec){ rcpt_delay_ms / 1000,
						      rcpt_delay_ms % 1000 * 1000000 },
				  NULL);
		return smtp_rcpt(fd, c, line);
	}
	/* MAIL and RSET start a new transaction. */
	if (!strncasecmp(line, "MAIL", 4) || !strncasecmp(line, "RSET", 4)) {
		c->rcpts = 0;
		return say(fd, "250 2.0.0 ok\r\n");
	}
	if (!strncasecmp(line, "NOOP", 4))
		return say(fd, "250 2.0.0 ok\r\n");
	if (!strncasecmp(line, "DATA", 4)) {
		/* As a real MX does; without --accept, DATA is taken as before. */
		if (naccept && !c->rcpts)
			return say(fd, "554 5.5.1 no valid recipients\r\n");
		c->in_data = 1;
		return say(fd, "354 end with <CRLF>.<CRLF>\r\n");
	}
	if (!strncasecmp(line, "QUIT", 4)) {
		say(fd, "221 2.0.0 bye\r\n");
		return -1;
	}
	return say(fd, "502 5.5.2 unknown command\r\n");
}

/* Feed what the client sent to the line parser; returns -1 when the client is to be closed. */
static int client_input(int fd, struct client *c)
{
	char buf[4096];
	ssize_t n, i;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		/* A line longer than allowed is cut and handled as if it had ended there. */
		if (buf[i] != '\n' && c->len < sizeof(c->line) - 1) {
			c->line[c->len++] = buf[i];
			continue;
		}
		if (c->len && c->line[c->len - 1] == '\r')
			c->len--;
		c->line[c->len] = '\0';
		c->len = 0;
		if (smtp_line(fd, c, c->line))
			return -1;
	}
	return 0;
}

static void client_close(int slot)
{
	close(pfds[slot].fd);
	pfds[slot].fd = -1;
}

static void accept_all(const struct listener *l, int lfd)
{
	char peer[PEER_LEN], line[PEER_LEN + 32];
	struct sockaddr_storage ss;
	struct client *c;
	socklen_t len;
	int fd, slot;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		format_peer(&ss, peer, sizeof(peer));
		snprintf(line, sizeof(line), "accept %u %s\n", l->port, peer);
		log_line(line);
		for (slot = 1 + nlisten; slot < 1 + nlisten + MAX_CLIENTS; slot++)
			if (pfds[slot].fd < 0)
				break;
		if (slot == 1 + nlisten + MAX_CLIENTS) {
			say(fd, "421 4.3.2 too many clients\r\n");
			close(fd);
			continue;
		}
		pfds[slot].fd = fd;
		pfds[slot].events = POLLIN;
		c = &clients[slot - 1 - nlisten];
		memset(c, 0, sizeof(*c));
		c->port = l->port;
		memcpy(c->peer, peer, sizeof(c->peer));
		if (say(fd, "220 sg-sink ESMTP\r\n"))
			client_close(slot);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int open_signalfd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die("sigprocmask");
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd < 0)
		die("signalfd");
	return fd;
}

static void parse_args(int argc, char **argv, long *max_seconds)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "accept", required_argument, NULL, 'a' },
		{ "log", required_argument, NULL, 'o' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "rcpt-delay-ms", required_argument, NULL, 'd' },
		{},
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (nlisten == MAX_LISTEN || parse_listen(optarg, &listeners[nlisten]))
				usage();
			nlisten++;
			break;
		case 'a':
			if (naccept == MAX_ACCEPT || !*optarg || strlen(optarg) > PREFIX_LEN ||
			    strchr(optarg, '@'))
				usage();
			accept_prefix[naccept++] = optarg;
			break;
		case 'o':
			log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (log_fd < 0)
				die(optarg);
			break;
		case 't':
			*max_seconds = strtol(optarg, &end, 10);
			if (*end || *max_seconds < 1 || *max_seconds > MAX_SECONDS)
				usage();
			break;
		case 'd':
			rcpt_delay_ms = strtol(optarg, &end, 10);
			if (*end || rcpt_delay_ms < 0 || rcpt_delay_ms > 10000)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !nlisten)
		usage();
}

int main(int argc, char **argv)
{
	long long deadline, left;
	long max_seconds = 120;
	int i, n, slot;

	parse_args(argc, argv, &max_seconds);
	deadline = now_ms() + max_seconds * 1000;

	pfds[0].fd = open_signalfd();
	pfds[0].events = POLLIN;
	for (i = 0; i < nlisten; i++) {
		pfds[1 + i].fd = open_listener(&listeners[i]);
		pfds[1 + i].events = POLLIN;
	}
	for (i = 0; i < MAX_CLIENTS; i++)
		pfds[1 + nlisten + i].fd = -1;
	log_line("ready\n");

	while (!(pfds[0].revents & POLLIN) && (left = deadline - now_ms()) > 0) {
		n = poll(pfds, 1 + nlisten + MAX_CLIENTS, left);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		for (i = 0; i < nlisten; i++)
			if (pfds[1 + i].revents & POLLIN)
				accept_all(&listeners[i], pfds[1 + i].fd);
		for (slot = 1 + nlisten; slot < 1 + nlisten + MAX_CLIENTS; slot++) {
			if (pfds[slot].fd < 0 || !pfds[slot].revents)
				continue;
			if (client_input(pfds[slot].fd, &clients[slot - 1 - nlisten]))
				client_close(slot);
		}
	}
	return 0;
}
