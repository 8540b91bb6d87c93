// SPDX-License-Identifier: GPL-2.0
/*
 * `make bench`: what the TC and XDP programs cost per packet, measured with
 * BPF_PROG_TEST_RUN next to programs that only return, so that the cost of
 * the test run itself divides out. The packets are the ones that matter on
 * a busy host: the common one that is not mail, a mail SYN (the counting
 * path) and, for XDP, a banned source (the drop path).
 *
 * The kernel's own figure (opts.duration) is whole ns, rounded down: too
 * coarse next to an empty program's 5. The time is this thread's CPU time
 * instead (a test run is spent in the syscall), taken for a run of repeat
 * packets less one of repeat / 10: what a run costs whatever its length
 * (copying the frame in, and for XDP swapping the dispatcher, about 1 ms)
 * cancels out, as the kernel's timer leaves it out.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "../bpf/pkt.h"
#include "empty.skel.h"

#define RUNS	       9 /* the median shrugs off the runs disturbed by the rest of the host */
#define REPEAT_DEFAULT 1000000
#define REPEAT_MIN     20 /* the short run of repeat / 10 still takes XDP's path for repeat > 1 */

#define BAN_PREFIX "203.0.113.0"
#define BAN_LEN	   24
#define BANS_MANY  10000 /* the table's second pass: a busy host's ban list */

#define NON_MAIL   .src = "10.1.2.3", .dst = "192.0.2.80", .dport = 443, .flags = TH_ACK
#define MAIL_SYN   .src = "10.1.2.3", .dst = "192.0.2.25", .dport = 25, .flags = TH_SYN
#define BANNED_SYN .src = "203.0.113.7", .dst = "192.0.2.25", .dport = 25, .flags = TH_SYN

enum hook { HOOK_XDP, HOOK_TC };

static const struct bench_row {
	enum hook hook;
	const char *packet;
	struct pkt_spec spec;
	int verdict; /* of the real program; a different one means the setup is wrong */
	bool banned; /* needs the bans: left out of the pass with none */
} rows[] = {
	{ HOOK_XDP, "non-mail", { NON_MAIL }, XDP_PASS, false },
	{ HOOK_XDP, "mail syn", { MAIL_SYN }, XDP_PASS, false },
	{ HOOK_XDP, "banned", { BANNED_SYN }, XDP_DROP, true },
	{ HOOK_TC, "non-mail", { NON_MAIL }, TC_ACT_UNSPEC, false },
	{ HOOK_TC, "mail syn", { MAIL_SYN }, TC_ACT_UNSPEC, false },
};

static const char *const hook_names[] = { [HOOK_XDP] = "xdp", [HOOK_TC] = "tc" };
static const int empty_verdicts[] = { [HOOK_XDP] = XDP_PASS, [HOOK_TC] = TC_ACT_UNSPEC };

static volatile sig_atomic_t stop;

/* A signal interrupts a test run with -EINTR; the flag catches one between runs. */
static void on_signal(int sig)
{
	stop = 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/* This thread's CPU time in ns. */
static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One test run of repeat packets: its CPU time in ns, in *ns. */
static int run(int prog_fd, const struct pkt *p, int repeat, int verdict, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = p->len,
		    .repeat = repeat);
	double t0;
	int err;

	if (stop)
		return -EINTR;
	t0 = cpu_ns();
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	*ns = cpu_ns() - t0;
	if (err)
		return err;
	if ((int)opts.retval != verdict) {
		fprintf(stderr, "verdict %d, want %d\n", (int)opts.retval, verdict);
		return -EPROTO;
	}
	return 0;
}

/* ns per packet: a run of repeat packets less one of repeat / 10, what each run costs once. */
static int measure(int prog_fd, const struct pkt *p, int repeat, int verdict, double *ns)
{
	int err, short_repeat = repeat / 10;
	double whole, part;

	err = run(prog_fd, p, repeat, verdict, &whole)
		      ?: run(prog_fd, p, short_repeat, verdict, &part);
	*ns = (whole - part) / (repeat - short_repeat);
	return err;
}

/*
 * BAN_PREFIX, then BANS_MANY - 1 more as the daemon would put them (sg_ban_put):
 * half IPv4 /32s in 100.64.0.0/16, half IPv6 /64s in 2001:db8:8000::/48, none
 * of them the benchmark's other sources.
 */
static int ban(const struct pkt_env *env)
{
	int fd = bpf_map__fd(env->ingress->maps.sg_bans), err, i;
	struct sg_ban_key key;
	char addr[64];

	err = pkt_ban_key(BAN_PREFIX, BAN_LEN, &key)
		      ?: sg_ban_put(fd, &key, 0, SG_BAN_MANUAL, NULL, NULL);
	for (i = 1; i < BANS_MANY && !err; i++) {
		if (i % 2)
			snprintf(addr, sizeof(addr), "100.64.%d.%d", i / 256, i % 256);
		else
			snprintf(addr, sizeof(addr), "2001:db8:8000:%x::", i);
		err = pkt_ban_key(addr, i % 2 ? 32 : 64, &key)
			      ?: sg_ban_put(fd, &key, 0, SG_BAN_MANUAL, NULL, NULL);
	}
	return err;
}

static int bench(const struct pkt_env *env, const struct empty_bpf *empty, int repeat, int bans)
{
	const int real_fds[] = {
		[HOOK_XDP] = bpf_program__fd(env->ingress->progs.sg_ingress_prog),
		[HOOK_TC] = bpf_program__fd(env->egress->progs.sg_egress_prog),
	};
	const int empty_fds[] = {
		[HOOK_XDP] = bpf_program__fd(empty->progs.sg_empty_xdp),
		[HOOK_TC] = bpf_program__fd(empty->progs.sg_empty_tc),
	};
	double real_ns[RUNS], empty_ns[RUNS], ratio[RUNS];
	struct pkt p;
	size_t i;
	int j, err;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct bench_row *r = &rows[i];

		if (r->banned && !bans)
			continue;
		err = pkt_build(&r->spec, &p);
		if (err)
			return err;
		/* Interleaved, so that a slower spell of the host weighs on both alike. */
		for (j = 0; j < RUNS; j++) {
			err = measure(real_fds[r->hook], &p, repeat, r->verdict, &real_ns[j])
				      ?: measure(empty_fds[r->hook], &p, repeat,
						 empty_verdicts[r->hook], &empty_ns[j]);
			if (err)
				return err;
			ratio[j] = empty_ns[j] > 0 ? real_ns[j] / empty_ns[j] : 0;
		}
		printf("%-8s %-10s %6d %8.1f %14.1f %7.2f\n", hook_names[r->hook], r->packet, bans,
		       median(real_ns, RUNS), median(empty_ns, RUNS), median(ratio, RUNS));
		fflush(stdout);
	}
	return 0;
}

/*
 * With kernel.bpf_stats_enabled set (by someone's sysctl or BPF_ENABLE_STATS),
 * every program run, the empty one's too, also reads the clock twice: tens
 * of ns that are no program's, which shrink every ratio towards 1.
 */
static void warn_stats(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int on = 0;

	if (!f)
		return;
	if (fscanf(f, "%d", &on) == 1 && on)
		printf("note: kernel.bpf_stats_enabled=1 adds two clock reads to every run, empty "
		       "or not: the ratios read low\n");
	fclose(f);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-r REPEAT]\n  -r  packets per test run (default %d)\n", argv0,
		REPEAT_DEFAULT);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct empty_bpf *empty = NULL;
	long repeat = REPEAT_DEFAULT;
	struct pkt_env env;
	char *end;
	int opt, err, close_err;

	while ((opt = getopt(argc, argv, "r:h")) != -1) {
		switch (opt) {
		case 'r':
			errno = 0;
			repeat = strtol(optarg, &end, 10);
			if (errno || *end || repeat < REPEAT_MIN || repeat > INT_MAX) {
				fprintf(stderr, "bad repeat count: %s (%d to %d)\n", optarg,
					REPEAT_MIN, INT_MAX);
				return 2;
			}
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage(argv[0]);
		return 2;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = pkt_env_open(&env);
	if (err)
		return 1;
	empty = empty_bpf__open_and_load();
	if (!empty) {
		err = -errno;
		fprintf(stderr, "load empty: %s\n", strerror(-err));
		goto out;
	}
	warn_stats();
	printf("%ld packets per run less %ld, CPU time; medians of %d runs, ratio of each pair\n\n",
	       repeat, repeat / 10, RUNS);
	printf("%-8s %-10s %6s %8s %14s %7s\n", "program", "packet", "bans", "ns/pkt",
	       "empty ns/pkt", "ratio");
	err = bench(&env, empty, repeat, 0);
	if (!err) {
		err = ban(&env);
		if (err) {
			fprintf(stderr, "banning %d prefixes: %s\n", BANS_MANY, strerror(-err));
			goto out;
		}
		err = bench(&env, empty, repeat, BANS_MANY);
	}
	if (err)
		fprintf(stderr, "bench: %s\n", strerror(-err));
out:
	empty_bpf__destroy(empty);
	close_err = pkt_env_close(&env);
	if (close_err)
		fprintf(stderr, "removing the private bpffs: %s\n", strerror(-close_err));
	return err || close_err ? 1 : 0;
}
