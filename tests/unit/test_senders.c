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

/*
 * The kernel's maps, as sg_uid_stats, sg_flows, sg_uid_marks and
 * sg_flow_marks are: real ones (the marks mmapable arrays, mapped), written
 * as connect() writes them.
 */
struct maps {
	int stats, flows, uid_marks_fd, flow_marks_fd;
	__u64 *uid_marks, *flow_marks;
	__u64 now_ns;
};

/* An mmapable array of words, as the kernel's marks, mapped. */
static __u64 *marks_open(int *fd, __u32 words)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	void *m;

	*fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_marks", sizeof(__u32), sizeof(__u64), words,
			     &opts);
	assert_true(*fd >= 0);
	m = mmap(NULL, words * sizeof(__u64), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	assert_true(m != MAP_FAILED);
	return m;
}

static void maps_open(struct maps *m)
{
	m->stats = bpf_map_create(BPF_MAP_TYPE_HASH, "test_uid_stats", sizeof(__u32),
				  sizeof(struct sg_uid_stats), 64, NULL);
	m->flows = bpf_map_create(BPF_MAP_TYPE_HASH, "test_flows", sizeof(struct sg_flow_key),
				  sizeof(struct sg_flow), 256, NULL);
	assert_true(m->stats >= 0);
	assert_true(m->flows >= 0);
	m->uid_marks = marks_open(&m->uid_marks_fd, SG_UID_MARK_WORDS + 1);
	m->flow_marks = marks_open(&m->flow_marks_fd, SG_FLOW_MARK_WORDS);
	m->now_ns = NOW_NS;
}

static void maps_close(struct maps *m)
{
	munmap(m->uid_marks, SG_UID_MARKS_SIZE);
	munmap(m->flow_marks, SG_FLOW_MARKS_SIZE);
	close(m->uid_marks_fd);
	close(m->flow_marks_fd);
	close(m->stats);
	close(m->flows);
}

static struct sg_flow_key flow_key(__u32 uid, __u32 addr, __u16 port)
{
	return (struct sg_flow_key){ .uid = uid, .port = port, .addr = { 0, 0, 0xffff, addr } };
}

/* A connect counted for uid, ago_s before now (no flow: over its quota); its mark. */
static void count_only(struct maps *m, __u32 uid, __u64 ago_s)
{
	struct sg_uid_stats st = { .first_ns = NOW_NS - 7200 * SG_NS_PER_SEC };

	if (bpf_map_lookup_elem(m->stats, &uid, &st))
		((__u8 *)m->uid_marks)[SG_UID_MARK_MADE * 8] = 1;
	st.attempts++;
	st.allowed++;
	st.last_ns = m->now_ns - ago_s * SG_NS_PER_SEC;
	assert_int_equal(bpf_map_update_elem(m->stats, &uid, &st, BPF_ANY), 0);
	((__u8 *)m->uid_marks)[uid & 0xffff] = 1;
}

/* The same connect's flow to addr:port, as connect() counts it after the UID: its mark. */
static void count_flow(struct maps *m, __u32 uid, __u32 addr, __u16 port, __u64 ago_s)
{
	struct sg_flow_key k = flow_key(uid, addr, port);
	struct sg_flow f = { .first_ns = m->now_ns };
	struct sg_uid_stats st;

	if (bpf_map_lookup_elem(m->flows, &k, &f)) {
		assert_int_equal(bpf_map_lookup_elem(m->stats, &uid, &st), 0);
		st.flows++;
		assert_int_equal(bpf_map_update_elem(m->stats, &uid, &st, BPF_ANY), 0);
		((__u8 *)m->uid_marks)[uid & 0xffff] = 1;
	}
	f.attempts++;
	f.last_ns = m->now_ns - ago_s * SG_NS_PER_SEC;
	assert_int_equal(bpf_map_update_elem(m->flows, &k, &f, BPF_ANY), 0);
	((__u8 *)m->flow_marks)[sg_flow_mark_slot(uid, k.addr)] = 1;
}

/* A connect of uid to addr:port ago_s before now, counted and marked as the kernel does. */
static void connect_at(struct maps *m, __u32 uid, __u32 addr, __u16 port, __u64 ago_s)
{
	count_only(m, uid, ago_s);
	count_flow(m, uid, addr, port, ago_s);
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

/*
 * A tick seconds after the last, of two readers: s with the flows' marks
 * (and the UIDs' when uid_marks), whole reading every entry of both maps;
 * their rows the same, and each row's recent counts the rates' at the read.
 */
static void tick_both(struct maps *m, int uid_marks, struct sg_senders *s, struct sg_rates *r,
		      struct sg_senders *whole, struct sg_rates *rw, __u64 seconds)
{
	size_t i;
	int w;

	m->now_ns += seconds * SG_NS_PER_SEC;
	assert_int_equal(sg_senders_read_maps(s, r, m->stats, m->flows,
					      uid_marks ? m->uid_marks : NULL, m->flow_marks,
					      m->now_ns),
			 0);
	assert_int_equal(sg_senders_read_maps(whole, rw, m->stats, m->flows, NULL, NULL, m->now_ns),
			 0);
	assert_int_equal(s->n, whole->n);
	assert_int_equal(s->n_dests, whole->n_dests);
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
		for (w = SG_WIN_1M; w <= SG_WIN_10M; w++)
			assert_int_equal(
				s->rows[i].recent[w],
				sg_rates_count(r, s->rows[i].uid, w, m->now_ns / SG_NS_PER_SEC));
	}
}

/* An address of uid's, from 100 on, whose flows share the mark of uid's flows to addr. */
static __u32 same_mark(__u32 uid, __u32 addr)
{
	struct sg_flow_key k = flow_key(uid, addr, 25), x;
	__u32 a;

	for (a = 100; a < (1U << 24); a++) {
		x = flow_key(uid, a, 25);
		if (a != addr && sg_flow_mark_slot(uid, x.addr) == sg_flow_mark_slot(uid, k.addr))
			return a;
	}
	fail_msg("no address shares the mark of %u's", addr);
	return 0;
}

/*
 * After the first read, the flows are looked up only where the kernel
 * marked their address and the time of the mark puts it in a window its
 * last read does not; every figure is what a read of every flow gives: an
 * old address used again, an idle one sliding out of its windows, one that
 * shares its mark with an address used, a flow counted after its UID's
 * count was read (the tick after still looks), and a new flow, a new UID
 * or the sweep's removal (forget) making the read whole.
 */
static void test_read_flow_marks(void **state)
{
	const __u32 a = UID_BASE + 1, b = UID_BASE + 2, c = UID_BASE + 3;
	struct sg_rates *r = sg_rates_new(), *rw = sg_rates_new();
	struct sg_senders s = { 0 }, whole = { 0 };
	struct sg_flow_key gone = flow_key(a, 2, 25);
	__u32 alias = same_mark(c, 5);
	struct maps m;

	assert_non_null(r);
	assert_non_null(rw);
	maps_open(&m);
	connect_at(&m, a, 1, 25, 300);	/* 5 min ago */
	connect_at(&m, a, 1, 587, 30);	/* the same address */
	connect_at(&m, a, 2, 25, 7200); /* in no window */
	connect_at(&m, b, 3, 25, 30);
	connect_at(&m, c, 5, 25, 30);
	connect_at(&m, c, alias, 25, 7200);
	tick_both(&m, 0, &s, r, &whole, rw, 0);
	assert_int_equal(s.whole, 1);
	assert_windows(&s, a, 1, 1, 1);
	assert_windows(&s, b, 1, 1, 1);
	assert_windows(&s, c, 1, 1, 1);

	/* a sends to its address of 2 h ago, in no window as read: its flow is looked up. b's
	 * slides out of the minute, c's too, with no lookup. */
	connect_at(&m, a, 2, 25, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 40);
	assert_int_equal(s.looked_up, 1);
	assert_windows(&s, a, 1, 2, 2);
	assert_windows(&s, b, 0, 1, 1);
	assert_windows(&s, c, 0, 1, 1);

	/* a sends to address 1, out of the minute as read: both its ports are looked up. */
	connect_at(&m, a, 1, 25, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.looked_up, 3);
	assert_windows(&s, a, 2, 2, 2);

	/* Nothing sends: nothing looked up; a's addresses leave the minute on time. */
	tick_both(&m, 0, &s, r, &whole, rw, 30);
	tick_both(&m, 0, &s, r, &whole, rw, 30);
	assert_int_equal(s.looked_up, 3);
	assert_windows(&s, a, 0, 2, 2);

	/* c sends to 5, in every window but the minute: 5 is looked up, and alias, which shares
	 * its mark, is too and stays in no window. */
	connect_at(&m, c, 5, 25, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.looked_up, 5);
	assert_windows(&s, c, 1, 1, 1);

	/* b's count is read at one tick, its flow counted just after: the next tick looks. */
	count_only(&m, b, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.looked_up, 5);
	count_flow(&m, b, 3, 25, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.looked_up, 6);
	assert_windows(&s, b, 1, 1, 1);
	assert_int_equal(s.whole, 1);

	/* A new flow of a's: read whole, as a new UID's. */
	connect_at(&m, a, 4, 25, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.whole, 2);
	assert_windows(&s, a, 1, 3, 3);
	connect_at(&m, UID_BASE + 4, 6, 25, 0);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.whole, 3);

	/* Removed with no count moving (the sweep's): told by forget. */
	assert_int_equal(bpf_map_delete_elem(m.flows, &gone), 0);
	sg_senders_forget(&s);
	tick_both(&m, 0, &s, r, &whole, rw, 1);
	assert_int_equal(s.whole, 4);
	assert_windows(&s, a, 1, 2, 2);

	maps_close(&m);
	sg_rates_free(r);
	sg_rates_free(rw);
	sg_senders_free(&s);
	sg_senders_free(&whole);
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

	assert_non_null(r);
	assert_non_null(rw);
	maps_open(&m);
	connect_at(&m, a, 1, 25, 0);
	connect_at(&m, alias, 2, 25, 0);
	connect_at(&m, b, 3, 25, 0);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.uids_looked_up, 0);

	/* a's mark is alias's too: both are looked up. */
	connect_at(&m, a, 1, 25, 0);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.uids_looked_up, 2);
	connect_at(&m, alias, 4, 25, 0);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.uids_looked_up, 4);

	/* Nothing sends: nothing looked up, the windows slide all the same. */
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.uids_looked_up, 4);

	/* b sends once between two ticks. */
	connect_at(&m, b, 3, 25, 0);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.uids_looked_up, 5);
	assert_int_equal(s.rows[2].attempts, 2);

	/* late, new, shares a's bits while a sends: its entry made, the read is whole. */
	connect_at(&m, a, 1, 25, 0);
	connect_at(&m, late, 5, 25, 0);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.uids_looked_up, 5);

	/* An entry whose UID is marked with no entry made told: no UID known has its bits. */
	assert_int_equal(bpf_map_update_elem(m.stats, &stranger, &st, BPF_NOEXIST), 0);
	((__u8 *)m.uid_marks)[stranger & 0xffff] = 1;
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.n, 5);
	tick_both(&m, 1, &s, r, &whole, rw, 1);
	assert_int_equal(s.uids_looked_up, 5);

	maps_close(&m);
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
		cmocka_unit_test(test_read_flow_marks),
		cmocka_unit_test(test_read_marked),
		cmocka_unit_test(test_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
