// SPDX-License-Identifier: GPL-2.0
/* The tick's senders: distinct destinations per window, and the busiest UIDs in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "daemon/senders.h"
#include "sg_bucket.h"

#define T0	 999960
#define NOW_NS	 ((__u64)(T0 + 1) * SG_NS_PER_SEC)
#define UID_BASE 3000000 /* no user of the test machine */

static void dest(struct sg_senders *s, __u32 uid, __u32 addr, __u64 ago_s)
{
	s->dests[s->n_dests++] =
		(struct sg_dest_seen){ .key = { .uid = uid, .addr = { 0, 0, 0xffff, addr } },
				       .latest_ns = NOW_NS - ago_s * SG_NS_PER_SEC };
}

/* One address's flows on several ports are one destination, as recent as its latest. */
static void test_destinations(void **state)
{
	struct sg_senders s = { 0 };
	const __u32 *d1, *d2;

	s.rows = calloc(2, sizeof(*s.rows));
	s.dests = calloc(8, sizeof(*s.dests));
	assert_non_null(s.rows);
	assert_non_null(s.dests);
	s.rows[0].uid = 1001;
	s.rows[1].uid = 1002;
	s.n = 2;
	dest(&s, 1001, 1, 300);	 /* port 25, 5 min ago */
	dest(&s, 1001, 1, 5);	 /* the same address on 587, 5 s ago */
	dest(&s, 1001, 2, 7200); /* 2 h ago: in no window */
	dest(&s, 1002, 1, 1200); /* 20 min ago */
	dest(&s, 1002, 3, 30);
	dest(&s, 1003, 4, 1); /* a UID with no counts: nobody's */
	assert_int_equal(sg_senders_count_dests(&s, NOW_NS), 0);
	d1 = s.rows[0].destinations;
	d2 = s.rows[1].destinations;
	assert_int_equal(d1[SG_WIN_1M], 1);
	assert_int_equal(d1[SG_WIN_10M], 1);
	assert_int_equal(d1[SG_WIN_1H], 1);
	assert_int_equal(d2[SG_WIN_1M], 1);
	assert_int_equal(d2[SG_WIN_10M], 1);
	assert_int_equal(d2[SG_WIN_1H], 2);
	sg_senders_free(&s);
}

/* The kernel's maps, as sg_uid_stats and sg_flows are: real ones, written as connect() writes them.
 */
struct maps {
	int stats, flows;
	__u64 now_ns;
};

static void maps_open(struct maps *m)
{
	m->stats = bpf_map_create(BPF_MAP_TYPE_HASH, "test_uid_stats", sizeof(__u32),
				  sizeof(struct sg_uid_stats), 64, NULL);
	m->flows = bpf_map_create(BPF_MAP_TYPE_HASH, "test_flows", sizeof(struct sg_flow_key),
				  sizeof(struct sg_flow), 256, NULL);
	assert_true(m->stats >= 0);
	assert_true(m->flows >= 0);
	m->now_ns = NOW_NS;
}

static struct sg_flow_key flow_key(__u32 uid, __u32 addr, __u16 port)
{
	return (struct sg_flow_key){ .uid = uid, .port = port, .addr = { 0, 0, 0xffff, addr } };
}

/* A connect of uid to addr:port ago_s before now, counted as the kernel counts it. */
static void connect_at(struct maps *m, __u32 uid, __u32 addr, __u16 port, __u64 ago_s)
{
	struct sg_flow_key k = flow_key(uid, addr, port);
	struct sg_uid_stats st = { .first_ns = NOW_NS - 7200 * SG_NS_PER_SEC };
	struct sg_flow f = { .first_ns = m->now_ns };
	__u64 at = m->now_ns - ago_s * SG_NS_PER_SEC;

	bpf_map_lookup_elem(m->stats, &uid, &st);
	st.attempts++;
	st.allowed++;
	st.last_ns = at;
	if (bpf_map_lookup_elem(m->flows, &k, &f))
		st.flows++;
	f.attempts++;
	f.last_ns = at;
	assert_int_equal(bpf_map_update_elem(m->stats, &uid, &st, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(m->flows, &k, &f, BPF_ANY), 0);
}

/* A connect counted with no flow recorded: the UID over its quota of flows. */
static void count_only(struct maps *m, __u32 uid)
{
	struct sg_uid_stats st;

	assert_int_equal(bpf_map_lookup_elem(m->stats, &uid, &st), 0);
	st.attempts++;
	st.allowed++;
	assert_int_equal(bpf_map_update_elem(m->stats, &uid, &st, BPF_ANY), 0);
}

static const __u32 *destinations(const struct sg_senders *s, __u32 uid)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->rows[i].uid == uid)
			return s->rows[i].destinations;
	fail_msg("uid %u has no row", uid);
	return NULL;
}

static void assert_windows(const struct sg_senders *s, __u32 uid, __u32 m1, __u32 m10, __u32 h1)
{
	const __u32 *d = destinations(s, uid);

	assert_int_equal(d[SG_WIN_1M], m1);
	assert_int_equal(d[SG_WIN_10M], m10);
	assert_int_equal(d[SG_WIN_1H], h1);
}

/* A tick seconds after the last, after which whole reads of every flow were made, of flows. */
static void tick(struct maps *m, struct sg_senders *s, struct sg_rates *r, __u64 seconds,
		 __u64 whole, size_t flows)
{
	size_t i;
	int w;

	m->now_ns += seconds * SG_NS_PER_SEC;
	assert_int_equal(sg_senders_read_maps(s, r, m->stats, m->flows, NULL, m->now_ns), 0);
	assert_int_equal(s->whole, whole);
	assert_int_equal(s->n_dests, flows);
	/* Every row's recent counts are the rates' at the read, moved or not. */
	for (i = 0; i < s->n; i++)
		for (w = SG_WIN_1M; w <= SG_WIN_10M; w++)
			assert_int_equal(
				s->rows[i].recent[w],
				sg_rates_count(r, s->rows[i].uid, w, m->now_ns / SG_NS_PER_SEC));
}

/*
 * Reads after the first take only the flows of the UIDs whose counts moved;
 * every figure is what a read of every flow gives: a flow used again counts
 * anew, one idle slides out of its windows, a UID that stopped keeps its
 * counts, and a new flow, a UID made anew or flows removed (forget) make the
 * read whole.
 */
static void test_read_moved(void **state)
{
	const __u32 a = UID_BASE + 1, b = UID_BASE + 2, c = UID_BASE + 3;
	struct sg_rates *r = sg_rates_new();
	struct sg_senders s = { 0 };
	struct sg_flow_key gone = flow_key(b, 3, 25);
	struct maps m;

	assert_non_null(r);
	maps_open(&m);
	connect_at(&m, a, 1, 25, 300);	/* 5 min ago */
	connect_at(&m, a, 1, 587, 30);	/* the same address */
	connect_at(&m, a, 2, 25, 7200); /* in no window */
	connect_at(&m, b, 3, 25, 30);
	tick(&m, &s, r, 0, 1, 4);
	assert_windows(&s, a, 1, 1, 1);
	assert_windows(&s, b, 1, 1, 1);

	/*
	 * a sends to its old address again; b is quiet: its flow slides out of
	 * the minute. Both new at the read before: their flows are looked up.
	 */
	connect_at(&m, a, 2, 25, 0);
	tick(&m, &s, r, 40, 1, 4);
	assert_int_equal(s.looked_up, 4);
	assert_windows(&s, a, 1, 2, 2);
	assert_windows(&s, b, 0, 1, 1);
	assert_int_equal(s.rows[0].attempts, 4);
	assert_int_equal(s.rows[0].recent[SG_WIN_1M], 1);
	assert_int_equal(s.rows[1].recent[SG_WIN_10M], 0);

	/* Nothing moves: a's flows are looked up again (moved at the tick before), b's not. */
	tick(&m, &s, r, 30, 1, 4);
	assert_int_equal(s.looked_up, 7);
	assert_windows(&s, a, 0, 2, 2);
	assert_windows(&s, b, 0, 1, 1);
	tick(&m, &s, r, 1, 1, 4);
	assert_int_equal(s.looked_up, 7);

	/* A new flow of a's: read whole, as a new UID's. */
	connect_at(&m, a, 4, 25, 0);
	tick(&m, &s, r, 1, 2, 5);
	assert_windows(&s, a, 1, 3, 3);
	connect_at(&m, c, 5, 25, 0);
	tick(&m, &s, r, 1, 3, 6);
	assert_windows(&s, c, 1, 1, 1);

	/*
	 * A flow removed under a UID that moves (a connect counted, its flow over
	 * the UID's quota): the lookup misses, the read is whole.
	 */
	connect_at(&m, b, 3, 25, 0);
	tick(&m, &s, r, 1, 3, 6);
	assert_int_equal(bpf_map_delete_elem(m.flows, &gone), 0);
	count_only(&m, b);
	tick(&m, &s, r, 1, 4, 5);
	assert_windows(&s, b, 0, 0, 0);

	/* Removed with no count moving (the sweep's): told by forget. */
	gone = flow_key(a, 2, 25);
	assert_int_equal(bpf_map_delete_elem(m.flows, &gone), 0);
	tick(&m, &s, r, 1, 4, 5);
	sg_senders_forget(&s);
	tick(&m, &s, r, 1, 5, 4);
	assert_windows(&s, a, 1, 2, 2);

	close(m.stats);
	close(m.flows);
	sg_rates_free(r);
	sg_senders_free(&s);
}

/* sg_uid_marks, as the kernel's: a real mmapable array, mapped. */
static __u64 *marks_open(int *fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	void *m;

	*fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_uid_marks", sizeof(__u32), sizeof(__u64),
			     SG_UID_MARK_WORDS + 1, &opts);
	assert_true(*fd >= 0);
	m = mmap(NULL, SG_UID_MARKS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	assert_true(m != MAP_FAILED);
	return m;
}

/* connect_at, and the marks the kernel sets after: the UID's byte, and an entry made. */
static void connect_marked(struct maps *m, __u64 *marks, __u32 uid, __u32 addr)
{
	struct sg_uid_stats st;
	int made = bpf_map_lookup_elem(m->stats, &uid, &st) != 0;

	connect_at(m, uid, addr, 25, 0);
	((__u8 *)marks)[uid & 0xffff] = 1;
	if (made)
		((__u8 *)marks)[SG_UID_MARK_MADE * 8] = 1;
}

/* A tick of both readers: s with the marks, whole reading every entry; their rows the same. */
static void tick_both(struct maps *m, __u64 *marks, struct sg_senders *s, struct sg_rates *r,
		      struct sg_senders *whole, struct sg_rates *rw)
{
	size_t i;

	m->now_ns += SG_NS_PER_SEC;
	assert_int_equal(sg_senders_read_maps(s, r, m->stats, m->flows, marks, m->now_ns), 0);
	assert_int_equal(sg_senders_read_maps(whole, rw, m->stats, m->flows, NULL, m->now_ns), 0);
	assert_int_equal(s->n, whole->n);
	for (i = 0; i < s->n; i++) {
		assert_int_equal(s->rows[i].uid, whole->rows[i].uid);
		assert_int_equal(s->rows[i].attempts, whole->rows[i].attempts);
		assert_int_equal(s->rows[i].denied, whole->rows[i].denied);
		assert_int_equal(s->rows[i].first_ns, whole->rows[i].first_ns);
		assert_int_equal(s->rows[i].flows, whole->rows[i].flows);
		assert_memory_equal(s->rows[i].recent, whole->rows[i].recent,
				    sizeof(s->rows[i].recent));
		assert_memory_equal(s->rows[i].destinations, whole->rows[i].destinations,
				    sizeof(s->rows[i].destinations));
	}
}

/*
 * With the kernel's marks, only the marked UIDs are looked up, and every
 * row is what a whole read gives: two UIDs sharing their low 16 bits (both
 * looked up for one mark), a UID that sends only between two ticks, idle
 * UIDs whose windows slide, a new UID sharing the bits of one that sends at
 * the same tick (the entry made makes the read whole), and a mark of no UID
 * known (a whole read finds its entry).
 */
static void test_read_marked(void **state)
{
	const __u32 a = UID_BASE + 1, alias = a + 65536, b = UID_BASE + 2, late = a + 2 * 65536;
	const __u32 stranger = UID_BASE + 9;
	struct sg_rates *r = sg_rates_new(), *rw = sg_rates_new();
	struct sg_senders s = { 0 }, whole = { 0 };
	struct sg_uid_stats st = { .attempts = 3, .allowed = 3 };
	struct maps m;
	__u64 *marks;
	int fd;

	assert_non_null(r);
	assert_non_null(rw);
	maps_open(&m);
	marks = marks_open(&fd);
	connect_marked(&m, marks, a, 1);
	connect_marked(&m, marks, alias, 2);
	connect_marked(&m, marks, b, 3);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.uids_looked_up, 0);

	/* a's mark is alias's too: both are looked up. */
	connect_marked(&m, marks, a, 1);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.uids_looked_up, 2);
	connect_marked(&m, marks, alias, 4);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.uids_looked_up, 4);

	/* Nothing sends: nothing looked up, the windows slide all the same. */
	tick_both(&m, marks, &s, r, &whole, rw);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.uids_looked_up, 4);

	/* b sends once between two ticks. */
	connect_marked(&m, marks, b, 3);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.uids_looked_up, 5);
	assert_int_equal(s.rows[2].attempts, 2);

	/* late, new, shares a's bits while a sends: its entry made, the read is whole. */
	connect_marked(&m, marks, a, 1);
	connect_marked(&m, marks, late, 5);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.uids_looked_up, 5);

	/* An entry whose UID is marked with no entry made told: no UID known has its bits. */
	assert_int_equal(bpf_map_update_elem(m.stats, &stranger, &st, BPF_NOEXIST), 0);
	((__u8 *)marks)[stranger & 0xffff] = 1;
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.n, 5);
	tick_both(&m, marks, &s, r, &whole, rw);
	assert_int_equal(s.uids_looked_up, 5);

	munmap(marks, SG_UID_MARKS_SIZE);
	close(fd);
	close(m.stats);
	close(m.flows);
	sg_rates_free(r);
	sg_rates_free(rw);
	sg_senders_free(&s);
	sg_senders_free(&whole);
}

#define N    3000
#define TOPK 20

/* Whether UID a is busier than b: more in 10 min, then more ever, then the lower UID. */
static int busier(__u64 ra, __u64 aa, __u32 a, __u64 rb, __u64 ab, __u32 b)
{
	if (ra != rb)
		return ra > rb;
	if (aa != ab)
		return aa > ab;
	return a < b;
}

static __u64 recent_of(size_t i)
{
	return (i * 7919) % 50;
}

/* The k busiest, in order, out of many with ties in both counts; fewer when fewer send. */
static void test_top(void **state)
{
	struct sg_rates *r = sg_rates_new();
	struct sg_senders s = { 0 };
	struct sg_sender_rate out[TOPK];
	int taken[N] = { 0 };
	size_t i, j, best, n;

	assert_non_null(r);
	s.rows = calloc(N, sizeof(*s.rows));
	assert_non_null(s.rows);
	for (i = 0; i < N; i++)
		assert_int_equal(sg_rates_sample(r, UID_BASE + i, 0, T0), 0);
	sg_rates_started(r, T0);
	/* The rows as a read makes them: their recent counts from their samples. */
	for (i = 0; i < N; i++) {
		s.rows[i].uid = UID_BASE + i;
		s.rows[i].attempts = 100 + (i * 31) % 100;
		assert_int_equal(sg_rates_sample_counts(r, UID_BASE + i, recent_of(i), 0, T0 + 1,
							s.rows[i].recent, SG_WIN_10M + 1),
				 0);
	}
	s.n = N;
	n = sg_senders_top(&s, r, T0 + 1, TOPK, out);
	assert_int_equal(n, TOPK);
	for (i = 0; i < TOPK; i++) {
		best = N;
		for (j = 0; j < N; j++)
			if (!taken[j] &&
			    (best == N ||
			     busier(recent_of(j), s.rows[j].attempts, s.rows[j].uid,
				    recent_of(best), s.rows[best].attempts, s.rows[best].uid)))
				best = j;
		taken[best] = 1;
		assert_int_equal(out[i].uid, UID_BASE + best);
		assert_int_equal(out[i].attempts, s.rows[best].attempts);
	}
	s.n = 5;
	assert_int_equal(sg_senders_top(&s, r, T0 + 1, TOPK, out), 5);
	for (i = 1; i < 5; i++)
		assert_true(busier(recent_of(out[i - 1].uid - UID_BASE), out[i - 1].attempts,
				   out[i - 1].uid, recent_of(out[i].uid - UID_BASE),
				   out[i].attempts, out[i].uid));
	sg_rates_free(r);
	sg_senders_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_read_moved),
		cmocka_unit_test(test_read_marked),
		cmocka_unit_test(test_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
