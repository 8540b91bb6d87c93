// SPDX-License-Identifier: GPL-2.0
/*
 * The policy service's test and bench tool.
 *
 *   sg_policy serve PATH [--allow UID]... [--group GID] [--answer VERDICT] [--quiet yes]
 *     The service's transport (daemon/policysrv.h) on PATH, answering every
 *     request with VERDICT (default DUNNO), until SIGTERM or SIGINT. Each
 *     request is printed as one line of the attributes smtpguard keeps
 *     (not with --quiet); the counters at exit. Until the daemon serves it, what an MTA lab
 *     and the bench talk to.
 *
 *   sg_policy bench PATH -n N [-r RATE] [-c K] [-a ACCOUNTS]
 *     N requests over K connections (default 1), one outstanding per
 *     connection as Postfix asks, started at RATE a second in all (0, the
 *     default: flat out). Request i logs in as bench<i % ACCOUNTS>@
 *     (default 1: all the same account) with a queue id of its own, so
 *     that the daemon judges each as a message of its own. Prints answers
 *     a second and the 50th and 99th percentile answer time, from when
 *     each request was due (a request that waits for its connection counts
 *     its wait), and the answers by verdict.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "daemon/policysrv.h"

#define MAX_CONNS 256
#define NS	  1000000000ULL
#define REQUEST                                                                                    \
	"request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nprotocol_name=ESMTP\n"        \
	"client_address=198.51.100.10\nclient_port=40163\nserver_address=198.51.100.1\n"           \
	"server_port=587\nsender=bench%zu@hosting.test\nrecipient=ok1@remote.test\n"               \
	"recipient_count=1\nqueue_id=B%010zX\nsasl_method=PLAIN\n"                                 \
	"sasl_username=bench%zu@hosting.test\n\n"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NS + (__u64)ts.tv_nsec;
}

struct judge {
	enum sg_policy_verdict verdict;
	int quiet;
};

static enum sg_policy_verdict answer_all(void *ctx, const struct sg_policy_req *r, char *why,
					 size_t whylen)
{
	const struct judge *j = ctx;

	snprintf(why, whylen, "sg_policy");
	if (j->quiet)
		return j->verdict;
	printf("request state=%s sasl=%s client=%s:%d server=%s:%d sender=%s rcpts=%u qid=%s "
	       "caller_uid=%lld truncated=%u\n",
	       r->protocol_state, r->sasl_username, r->client_address, r->client_port,
	       r->server_address, r->server_port, r->sender, r->recipient_count, r->queue_id,
	       (long long)r->caller_uid, r->truncated);
	fflush(stdout);
	return j->verdict;
}

static int serve(int argc, char **argv)
{
	struct sg_policysrv_opts o = { .path = argv[2], .group = (gid_t)-1, .judge = answer_all };
	struct judge j = { .verdict = SG_POLICY_DUNNO };
	uid_t uids[SG_POLICYSRV_UIDS];
	struct sg_policysrv_stats st;
	struct sg_policysrv *s;
	struct pollfd p;
	__u64 last = 0;
	int i, err;

	for (i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--allow") && o.n_uids < SG_POLICYSRV_UIDS)
			uids[o.n_uids++] = (uid_t)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--group"))
			o.group = (gid_t)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--quiet"))
			j.quiet = !strcmp(argv[i + 1], "yes");
		else if (!strcmp(argv[i], "--answer"))
			for (j.verdict = 0; j.verdict < SG_POLICY_VERDICT_KINDS &&
					    strcmp(argv[i + 1], sg_policy_verdict_names[j.verdict]);
			     j.verdict++)
				;
		else
			break;
	}
	if (i != argc || j.verdict == SG_POLICY_VERDICT_KINDS) {
		fprintf(stderr, "sg_policy serve: bad arguments\n");
		return 2;
	}
	o.uids = uids;
	o.ctx = &j;
	err = sg_policysrv_open(&o, &s);
	if (err) {
		fprintf(stderr, "sg_policy serve: %s: %s\n", o.path, strerror(-err));
		return 1;
	}
	printf("listening on %s\n", o.path);
	fflush(stdout);
	p.fd = sg_policysrv_fd(s);
	p.events = POLLIN;
	while (!stop) {
		if (poll(&p, 1, 1000) > 0)
			sg_policysrv_run(s, now_ns());
		if (now_ns() - last >= NS) {
			last = now_ns();
			sg_policysrv_expire(s, last);
		}
	}
	sg_policysrv_stats(s, &st);
	printf("answered DUNNO %llu HOLD %llu REJECT %llu DEFER %llu; refused",
	       (unsigned long long)st.requests[0], (unsigned long long)st.requests[1],
	       (unsigned long long)st.requests[2], (unsigned long long)st.requests[3]);
	for (i = 0; i < SG_PREF__MAX; i++)
		printf(" %s %llu", sg_policy_refusal_names[i], (unsigned long long)st.refused[i]);
	printf("\n");
	sg_policysrv_close(s);
	return 0;
}

struct client {
	int fd;
	__u64 due; /* when its outstanding request was due; 0: none outstanding */
	size_t got;
	char buf[256];
};

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("sg_policy bench: connect");
		exit(1);
	}
	return fd;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The reply so far ends the answer: its latency recorded, the connection free again. */
static int take_reply(struct client *c, __u64 *lat, size_t *done, size_t *verdicts)
{
	int v;
	ssize_t n = read(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got);

	if (n <= 0)
		return -1;
	c->got += (size_t)n;
	c->buf[c->got] = '\0';
	if (!strstr(c->buf, "\n\n"))
		return c->got < sizeof(c->buf) - 1 ? 0 : -1;
	if (strncmp(c->buf, "action=", 7))
		return -1;
	for (v = 0; v < SG_POLICY_VERDICT_KINDS; v++)
		if (!strncmp(c->buf + 7, sg_policy_verdict_names[v],
			     strlen(sg_policy_verdict_names[v])))
			verdicts[v]++;
	lat[(*done)++] = now_ns() - c->due;
	c->due = 0;
	c->got = 0;
	return 0;
}

static int bench(int argc, char **argv)
{
	static struct client cl[MAX_CONNS];
	static struct pollfd pf[MAX_CONNS];
	size_t n = 0, k = 1, accounts = 1, sent = 0, done = 0, i, len;
	size_t verdicts[SG_POLICY_VERDICT_KINDS] = { 0 };
	double rate = 0, secs;
	char how[32] = "flat out", req[sizeof(REQUEST) + 64];
	const char *path;
	__u64 *lat, start, next, now;
	int opt, timeout;

	while ((opt = getopt(argc - 1, argv + 1, "n:r:c:a:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			rate = strtod(optarg, NULL);
		else if (opt == 'c')
			k = strtoul(optarg, NULL, 10);
		else if (opt == 'a')
			accounts = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (!n || !k || !accounts || k > MAX_CONNS || rate < 0 || optind + 1 != argc - 1) {
		fprintf(stderr,
			"usage: sg_policy bench PATH -n N [-r RATE] [-c K] [-a ACCOUNTS]\n");
		return 2;
	}
	/* getopt moved PATH after the options. */
	path = argv[1 + optind];
	if (rate > 0)
		snprintf(how, sizeof(how), "%.0f/s", rate);
	lat = calloc(n, sizeof(*lat));
	if (!lat)
		return 1;
	for (i = 0; i < k; i++) {
		cl[i].fd = connect_to(path);
		pf[i].fd = cl[i].fd;
		pf[i].events = POLLIN;
	}
	start = now_ns();
	while (done < n) {
		now = now_ns();
		for (i = 0; i < k && sent < n; i++) {
			next = rate > 0 ? start + (__u64)((double)sent * NS / rate) : now;
			if (cl[i].due || next > now)
				continue;
			cl[i].due = next;
			len = (size_t)snprintf(req, sizeof(req), REQUEST, sent % accounts, sent,
					       sent % accounts);
			if (write(cl[i].fd, req, len) != (ssize_t)len) {
				perror("sg_policy bench: write");
				return 1;
			}
			sent++;
		}
		next = rate > 0 && sent < n ? start + (__u64)((double)sent * NS / rate) : 0;
		timeout = next ? (int)((next > now ? next - now : 0) / 1000000) : 1000;
		if (poll(pf, k, timeout) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < k; i++)
			if ((pf[i].revents & (POLLIN | POLLHUP)) &&
			    take_reply(&cl[i], lat, &done, verdicts)) {
				fprintf(stderr,
					"sg_policy bench: connection %zu closed or bad answer\n",
					i);
				return 1;
			}
	}
	secs = (double)(now_ns() - start) / NS;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("%zu requests over %zu connections at %s: %.0f answers/s, p50 %.1f us, p99 %.1f us, "
	       "max %.1f us;",
	       n, k, how, (double)n / secs, (double)lat[n / 2] / 1000,
	       (double)lat[n * 99 / 100] / 1000, (double)lat[n - 1] / 1000);
	for (i = 0; i < SG_POLICY_VERDICT_KINDS; i++)
		printf(" %s %zu", sg_policy_verdict_names[i], verdicts[i]);
	printf("\n");
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "bench"))
		return bench(argc, argv);
	fprintf(stderr, "usage: sg_policy serve PATH [--allow UID]... [--group GID] "
			"[--answer DUNNO|HOLD|REJECT|DEFER] [--quiet yes]\n"
			"       sg_policy bench PATH -n N [-r RATE] [-c K] [-a ACCOUNTS]\n");
	return 2;
}
