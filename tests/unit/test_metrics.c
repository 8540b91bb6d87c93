// SPDX-License-Identifier: GPL-2.0
/* /metrics exactly as Prometheus reads it, and as promtool judges it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/if_link.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "daemon/metrics.h"
#include "mail/containlog.h"

static struct sg_status st;

static const struct sg_sender_rate senders[] = {
	{ .uid = 1002,
	  .user = "bob",
	  .attempts = 20,
	  .denied = 15,
	  .rate = { 0.25, 1.0 / 60, 1.0 / 3600 },
	  .destinations = { 3, 7, 12 },
	  .established = 5,
	  .refused = 7,
	  .timed_out = 3 },
	{ .uid = 4242, .attempts = 3, .rate = { 0.05, 0.005, 0 }, .destinations = { 1, 1, 1 } },
};

static int setup(void **state)
{
	memset(&st, 0, sizeof(st));
	st.hooks[0] = (struct sg_status_hook){ .name = "connect4", .attached = 1, .cgroup_id = 1 };
	st.hooks[1] = (struct sg_status_hook){ .name = "connect6" };
	st.hooks[2] = (struct sg_status_hook){ .name = "sockops", .attached = 1, .cgroup_id = 1 };
	st.n_hooks = 3;
	st.ifaces[0] = (struct sg_iface){ .name = "eth0",
					  .flags = SG_IFACE_TC | SG_IFACE_XDP,
					  .xdp_mode = XDP_ATTACHED_DRV };
	st.ifaces[1] = (struct sg_iface){ .name = "eth1",
					  .flags = SG_IFACE_XDP,
					  .xdp_mode = XDP_ATTACHED_SKB };
	st.ifaces[2] = (struct sg_iface){ .name = "veth1", .flags = SG_IFACE_TC };
	st.n_ifaces = 3;
	st.maps[0] =
		(struct sg_status_map){ .name = "sg_policies", .entries = 2, .capacity = 65536 };
	st.maps[1] =
		(struct sg_status_map){ .name = "sg_events", .entries = -1, .capacity = 262144 };
	st.maps[2] =
		(struct sg_status_map){ .name = "sg_egress", .entries = 65536, .capacity = 65536 };
	st.n_maps = 3;
	st.ports[0] = (struct sg_status_port){ .port = 25,
					       .v = { .flags = SG_PORT_OUTBOUND | SG_PORT_INBOUND,
						      .connects = 7,
						      .out_syns = 6,
						      .out_packets = 30,
						      .out_bytes = 2000,
						      .in_syns = 1 } };
	st.ports[1] = (struct sg_status_port){ .port = 587,
					       .v = { .flags = SG_PORT_OUTBOUND,
						      .connects = 5,
						      .out_syns = 4,
						      .out_packets = 12,
						      .out_bytes = 900 } };
	st.ports[2] = (struct sg_status_port){ .port = 993,
					       .v = { .flags = SG_PORT_INBOUND, .in_syns = 40 } };
	st.n_ports = 3;
	st.default_policy.mode = SG_MODE_THROTTLE;
	st.policies[SG_MODE_THROTTLE] = 1;
	st.policies[SG_MODE_BLOCK] = 2;
	st.errors[SG_ERR_RINGBUF_FULL] = 11;
	st.errors[SG_ERR_FRAGMENT] = 2;
	st.counters[SG_CNT_BAN_DROPS] = 8;
	st.counters[SG_CNT_DENIED_BLOCK] = 3;
	st.counters[SG_CNT_DENIED_THROTTLE] = 4;
	st.counters[SG_CNT_EVENTS] = 99;
	st.counters[SG_CNT_LOCAL_RECORDED] = 21;
	st.counters[SG_CNT_LOCAL_EVICTED] = 2;
	st.counters[SG_CNT_FLOW_QUOTA] = 98976;
	st.counters[SG_CNT_SENDER_QUOTA] = 3;
	st.counters[SG_CNT_EGRESS_MADE] = 70000;
	st.counters[SG_CNT_SOURCES_MADE] = 9; /* sg_sources unread: nothing known pushed out */
	return 0;
}

/* The whole exposition of m. */
static char *render(const struct sg_metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(sg_metrics_render(f, m), 0);
	fclose(f);
	return buf;
}

static const char *const stale_names[] = { "sg_flows",	   "sg_senders", "sg_buckets",
					   "sg_uid_stats", "baselines",	 "baselines_over_max" };
static const __u64 stale_removed[] = { 40, 12, 2, 5, 3, 1 };
static const __u64 write_errors[SG_WRITTEN__MAX] = { 2, 0 };

static char *rendered(const struct sg_sender_rate *s, size_t n, size_t omitted)
{
	struct sg_metrics m = { .st = &st,
				.stale_names = stale_names,
				.stale_removed = stale_removed,
				.n_stale = 6,
				.write_errors = write_errors,
				.recent_evicted = 6,
				.senders = s,
				.n_senders = n,
				.senders_omitted = omitted,
				.events_read = 9,
				.tick_seconds = 0.0125,
				.events_pending = 3,
				.events_unattributed = 40,
				.fpm_skipped = 1,
				.ticks = 120,
				.tick_interval_seconds = 1.5,
				.turn_max_seconds = 11.25,
				.stalls = 2,
				.version = "0.3.0" };

	return render(&m);
}

/* The exposition from the first sender family on. */
static const char *senders_part(const char *text)
{
	const char *p = strstr(text, "# HELP smtpguard_sender_connections_total ");

	assert_non_null(p);
	return p;
}

/* Feeds text to `promtool check metrics`; returns its exit status, *out its complaints. */
static int promtool(const char *text, char **out)
{
	int in = memfd_create("metrics", 0), res = memfd_create("promtool", 0), status;
	size_t len = strlen(text);
	off_t size;
	pid_t pid;

	assert_true(in >= 0 && res >= 0);
	assert_int_equal(write(in, text, len), (ssize_t)len);
	assert_int_equal(lseek(in, 0, SEEK_SET), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(in, 0);
		dup2(res, 1);
		dup2(res, 2);
		execlp("promtool", "promtool", "check", "metrics", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	size = lseek(res, 0, SEEK_END);
	*out = calloc(1, size + 1);
	assert_int_equal(pread(res, *out, size, 0), size);
	close(in);
	close(res);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 127)
		fail_msg("promtool not found: it comes with the Debian package prometheus");
	return WEXITSTATUS(status);
}

static void assert_promtool_accepts(const char *text)
{
	char *out;

	assert_int_equal(promtool(text, &out), 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_exposition(void **state)
{
	char *s = rendered(senders, 2, 5);

	assert_string_equal(
		s,
		"# HELP smtpguard_build_info The running smtpguard's version, always 1.\n"
		"# TYPE smtpguard_build_info gauge\n"
		"smtpguard_build_info{version=\"0.3.0\"} 1\n"
		"# HELP smtpguard_connect_attempts_total connect() calls to watched ports seen by "
		"the "
		"cgroup hooks.\n"
		"# TYPE smtpguard_connect_attempts_total counter\n"
		"smtpguard_connect_attempts_total 12\n"
		"# HELP smtpguard_connect_denied_total connect() calls to watched ports refused "
		"with "
		"EPERM, by reason.\n"
		"# TYPE smtpguard_connect_denied_total counter\n"
		"smtpguard_connect_denied_total{reason=\"block\"} 3\n"
		"smtpguard_connect_denied_total{reason=\"throttle\"} 4\n"
		"smtpguard_connect_denied_total{reason=\"no_bucket\"} 0\n"
		"smtpguard_connect_denied_total{reason=\"contended\"} 0\n"
		"# HELP smtpguard_egress_syn_total SYNs sent to the port, seen by TC egress.\n"
		"# TYPE smtpguard_egress_syn_total counter\n"
		"smtpguard_egress_syn_total{port=\"25\"} 6\n"
		"smtpguard_egress_syn_total{port=\"587\"} 4\n"
		"# HELP smtpguard_egress_packets_total Packets (GSO segments) sent to the port, "
		"seen by "
		"TC egress.\n"
		"# TYPE smtpguard_egress_packets_total counter\n"
		"smtpguard_egress_packets_total{port=\"25\"} 30\n"
		"smtpguard_egress_packets_total{port=\"587\"} 12\n"
		"# HELP smtpguard_egress_bytes_total Bytes on the wire sent to the port, seen by "
		"TC "
		"egress.\n"
		"# TYPE smtpguard_egress_bytes_total counter\n"
		"smtpguard_egress_bytes_total{port=\"25\"} 2000\n"
		"smtpguard_egress_bytes_total{port=\"587\"} 900\n"
		"# HELP smtpguard_inbound_syn_total SYNs from outside to the local port, seen by "
		"XDP.\n"
		"# TYPE smtpguard_inbound_syn_total counter\n"
		"smtpguard_inbound_syn_total{port=\"25\"} 1\n"
		"smtpguard_inbound_syn_total{port=\"993\"} 40\n"
		"# HELP smtpguard_banned_packets_total Packets from banned addresses dropped by "
		"XDP.\n"
		"# TYPE smtpguard_banned_packets_total counter\n"
		"smtpguard_banned_packets_total 8\n"
		"# HELP smtpguard_policies Unexpired per-UID policies, by mode.\n"
		"# TYPE smtpguard_policies gauge\n"
		"smtpguard_policies{mode=\"observe\"} 0\n"
		"smtpguard_policies{mode=\"throttle\"} 1\n"
		"smtpguard_policies{mode=\"block\"} 2\n"
		"# HELP smtpguard_default_policy The mode of the policy for UIDs with none of "
		"their "
		"own.\n"
		"# TYPE smtpguard_default_policy gauge\n"
		"smtpguard_default_policy{mode=\"throttle\"} 1\n"
		"# HELP smtpguard_events_lost_total Ring-buffer events dropped because the buffer "
		"was "
		"full.\n"
		"# TYPE smtpguard_events_lost_total counter\n"
		"smtpguard_events_lost_total 11\n"
		"# HELP smtpguard_local_conns_total Connections from this host to a watched port "
		"of "
		"its own: their owner recorded, not recorded (no room), or evicted while open.\n"
		"# TYPE smtpguard_local_conns_total counter\n"
		"smtpguard_local_conns_total{outcome=\"recorded\"} 21\n"
		"smtpguard_local_conns_total{outcome=\"unrecorded\"} 0\n"
		"smtpguard_local_conns_total{outcome=\"evicted\"} 2\n"
		"# HELP smtpguard_events_read_total Ring-buffer events the daemon read.\n"
		"# TYPE smtpguard_events_read_total counter\n"
		"smtpguard_events_read_total 9\n"
		"# HELP smtpguard_tick_seconds How long the daemon's last whole tick took: maps "
		"read, rates, detection, /metrics rendered.\n"
		"# TYPE smtpguard_tick_seconds gauge\n"
		"smtpguard_tick_seconds 0.0125\n"
		"# HELP smtpguard_ticks_total Ticks the daemon has run.\n"
		"# TYPE smtpguard_ticks_total counter\n"
		"smtpguard_ticks_total 120\n"
		"# HELP smtpguard_tick_interval_seconds Time from the start of the tick before to "
		"the "
		"start of the last (1 when on time).\n"
		"# TYPE smtpguard_tick_interval_seconds gauge\n"
		"smtpguard_tick_interval_seconds 1.5\n"
		"# HELP smtpguard_events_pending Ring-buffer events waiting to be read at the last "
		"tick.\n"
		"# TYPE smtpguard_events_pending gauge\n"
		"smtpguard_events_pending 3\n"
		"# HELP smtpguard_loop_turn_max_seconds The longest turn of the daemon's loop since it "
		"started, from its wakeup to its next wait: events, the tick, scrapes, policy queries, "
		"the mail logs.\n"
		"# TYPE smtpguard_loop_turn_max_seconds gauge\n"
		"smtpguard_loop_turn_max_seconds 11.25\n"
		"# HELP smtpguard_loop_stalls_total Turns of the loop over 1 s: meanwhile no tick ran, no "
		"scrape and no policy query was answered.\n"
		"# TYPE smtpguard_loop_stalls_total counter\n"
		"smtpguard_loop_stalls_total 2\n"
		"# HELP smtpguard_attribution_skipped_total Events read but not attributed "
		"(event), "
		"and PHP-FPM workers whose script was not asked (php_fpm), because the second's "
		"attribution budget was spent.\n"
		"# TYPE smtpguard_attribution_skipped_total counter\n"
		"smtpguard_attribution_skipped_total{kind=\"event\"} 40\n"
		"smtpguard_attribution_skipped_total{kind=\"php_fpm\"} 1\n"
		"# HELP smtpguard_map_entries Entries in the BPF map.\n"
		"# TYPE smtpguard_map_entries gauge\n"
		"smtpguard_map_entries{map=\"sg_policies\"} 2\n"
		"smtpguard_map_entries{map=\"sg_egress\"} 65536\n"
		"# HELP smtpguard_map_capacity Maximum entries of the BPF map.\n"
		"# TYPE smtpguard_map_capacity gauge\n"
		"smtpguard_map_capacity{map=\"sg_policies\"} 65536\n"
		"smtpguard_map_capacity{map=\"sg_events\"} 262144\n"
		"smtpguard_map_capacity{map=\"sg_egress\"} 65536\n"
		"# HELP smtpguard_errors_total Errors counted by the BPF programs, by kind.\n"
		"# TYPE smtpguard_errors_total counter\n"
		"smtpguard_errors_total{kind=\"map_full\"} 0\n"
		"smtpguard_errors_total{kind=\"ringbuf_full\"} 11\n"
		"smtpguard_errors_total{kind=\"truncated\"} 0\n"
		"smtpguard_errors_total{kind=\"bad_header\"} 0\n"
		"smtpguard_errors_total{kind=\"fragment\"} 2\n"
		"smtpguard_errors_total{kind=\"exthdr_limit\"} 0\n"
		"smtpguard_errors_total{kind=\"vlan_limit\"} 0\n"
		"# HELP smtpguard_quota_refused_total New entries not made in the map because "
		"their UID had its quota of them.\n"
		"# TYPE smtpguard_quota_refused_total counter\n"
		"smtpguard_quota_refused_total{table=\"sg_flows\"} 98976\n"
		"smtpguard_quota_refused_total{table=\"sg_senders\"} 3\n"
		"# HELP smtpguard_lru_evicted_total Entries the LRU map pushed out to make room, as "
		"of the last tick.\n"
		"# TYPE smtpguard_lru_evicted_total counter\n"
		"smtpguard_lru_evicted_total{map=\"sg_egress\"} 4464\n"
		"smtpguard_lru_evicted_total{map=\"sg_sources\"} 0\n"
		"# HELP smtpguard_recent_uids_evicted_total UIDs whose recent processes (/senders, "
		"/explain) gave way to another UID's.\n"
		"# TYPE smtpguard_recent_uids_evicted_total counter\n"
		"smtpguard_recent_uids_evicted_total 6\n"
		"# HELP smtpguard_stale_removed_total Entries the daemon removed from the table as "
		"stale.\n"
		"# TYPE smtpguard_stale_removed_total counter\n"
		"smtpguard_stale_removed_total{table=\"sg_flows\"} 40\n"
		"smtpguard_stale_removed_total{table=\"sg_senders\"} 12\n"
		"smtpguard_stale_removed_total{table=\"sg_buckets\"} 2\n"
		"smtpguard_stale_removed_total{table=\"sg_uid_stats\"} 5\n"
		"smtpguard_stale_removed_total{table=\"baselines\"} 3\n"
		"smtpguard_stale_removed_total{table=\"baselines_over_max\"} 1\n"
		"# HELP smtpguard_write_errors_total Writes of the file that failed (a full disk): "
		"what they record was done all the same.\n"
		"# TYPE smtpguard_write_errors_total counter\n"
		"smtpguard_write_errors_total{file=\"audit\"} 2\n"
		"smtpguard_write_errors_total{file=\"baselines\"} 0\n"
		"# HELP smtpguard_program_attached 1 when the BPF program is attached at its "
		"hook.\n"
		"# TYPE smtpguard_program_attached gauge\n"
		"smtpguard_program_attached{program=\"connect4\",interface=\"\",mode=\"cgroup\"} "
		"1\n"
		"smtpguard_program_attached{program=\"connect6\",interface=\"\",mode=\"cgroup\"} "
		"0\n"
		"smtpguard_program_attached{program=\"sockops\",interface=\"\",mode=\"cgroup\"} "
		"1\n"
		"smtpguard_program_attached{program=\"egress\",interface=\"eth0\",mode=\"tc\"} 1\n"
		"smtpguard_program_attached{program=\"ingress\",interface=\"eth0\",mode=\"native\"}"
		" 1\n"
		"smtpguard_program_attached{program=\"egress\",interface=\"eth1\",mode=\"tc\"} 0\n"
		"smtpguard_program_attached{program=\"ingress\",interface=\"eth1\",mode="
		"\"generic\"} 1\n"
		"smtpguard_program_attached{program=\"egress\",interface=\"veth1\",mode=\"tc\"} 1\n"
		"smtpguard_program_attached{program=\"ingress\",interface=\"veth1\",mode=\"none\"} "
		"0\n"
		"# HELP smtpguard_sender_connections_total connect() calls to watched ports by the "
		"UID.\n"
		"# TYPE smtpguard_sender_connections_total counter\n"
		"smtpguard_sender_connections_total{uid=\"1002\",user=\"bob\"} 20\n"
		"smtpguard_sender_connections_total{uid=\"4242\",user=\"\"} 3\n"
		"# HELP smtpguard_sender_denied_total connect() calls by the UID refused with "
		"EPERM.\n"
		"# TYPE smtpguard_sender_denied_total counter\n"
		"smtpguard_sender_denied_total{uid=\"1002\",user=\"bob\"} 15\n"
		"smtpguard_sender_denied_total{uid=\"4242\",user=\"\"} 0\n"
		"# HELP smtpguard_sender_rate connect() calls per second by the UID, averaged over "
		"the "
		"window.\n"
		"# TYPE smtpguard_sender_rate gauge\n"
		"smtpguard_sender_rate{uid=\"1002\",user=\"bob\",window=\"1m\"} 0.25\n"
		"smtpguard_sender_rate{uid=\"1002\",user=\"bob\",window=\"10m\"} "
		"0.016666666666666666\n"
		"smtpguard_sender_rate{uid=\"1002\",user=\"bob\",window=\"1h\"} "
		"0.0002777777777777778\n"
		"smtpguard_sender_rate{uid=\"4242\",user=\"\",window=\"1m\"} 0.05\n"
		"smtpguard_sender_rate{uid=\"4242\",user=\"\",window=\"10m\"} 0.005\n"
		"smtpguard_sender_rate{uid=\"4242\",user=\"\",window=\"1h\"} 0\n"
		"# HELP smtpguard_sender_destinations Distinct destination addresses the UID "
		"connected "
		"to in the window.\n"
		"# TYPE smtpguard_sender_destinations gauge\n"
		"smtpguard_sender_destinations{uid=\"1002\",user=\"bob\",window=\"1m\"} 3\n"
		"smtpguard_sender_destinations{uid=\"1002\",user=\"bob\",window=\"10m\"} 7\n"
		"smtpguard_sender_destinations{uid=\"1002\",user=\"bob\",window=\"1h\"} 12\n"
		"smtpguard_sender_destinations{uid=\"4242\",user=\"\",window=\"1m\"} 1\n"
		"smtpguard_sender_destinations{uid=\"4242\",user=\"\",window=\"10m\"} 1\n"
		"smtpguard_sender_destinations{uid=\"4242\",user=\"\",window=\"1h\"} 1\n"
		"# HELP smtpguard_sender_connections_established_total The UID's connections to "
		"watched ports that were established.\n"
		"# TYPE smtpguard_sender_connections_established_total counter\n"
		"smtpguard_sender_connections_established_total{uid=\"1002\",user=\"bob\"} 5\n"
		"smtpguard_sender_connections_established_total{uid=\"4242\",user=\"\"} 0\n"
		"# HELP smtpguard_sender_connections_failed_total The UID's connections to watched "
		"ports that failed: refused (reset) or timed out.\n"
		"# TYPE smtpguard_sender_connections_failed_total counter\n"
		"smtpguard_sender_connections_failed_total{uid=\"1002\",user=\"bob\",reason="
		"\"refused\"} 7\n"
		"smtpguard_sender_connections_failed_total{uid=\"1002\",user=\"bob\",reason="
		"\"timed_out\"} 3\n"
		"smtpguard_sender_connections_failed_total{uid=\"4242\",user=\"\",reason="
		"\"refused\"} 0\n"
		"smtpguard_sender_connections_failed_total{uid=\"4242\",user=\"\",reason="
		"\"timed_out\"} 0\n"
		"# HELP smtpguard_senders_omitted UIDs with counts that are not among the senders "
		"listed.\n"
		"# TYPE smtpguard_senders_omitted gauge\n"
		"smtpguard_senders_omitted 5\n");
	assert_promtool_accepts(s);
	free(s);
}

static void test_label_escaping(void **state)
{
	/*
	 * Quote, backslash, newline; a stray byte; a valid two-byte sequence; a surrogate; ESC,
	 * BEL, CR and a C1 CSI: sg_escape_id's escapes, backslashes doubled for the text format.
	 */
	struct sg_sender_rate s = { .uid = 1003,
				    .user = "a\"b\\c\nd\xff\xc3\xa9\xed\xa0\x80\x1b[2J\a\r\xc2\x9b",
				    .attempts = 1,
				    .rate = { 1, 2, 3 },
				    .destinations = { 1, 1, 1 } };
	const char *user =
		"a\\\\x22b\\\\\\\\c\\\\x0ad\\\\xff\xc3\xa9\\\\xed\\\\xa0\\\\x80\\\\x1b[2J\\\\x07"
		"\\\\x0d\\\\xc2\\\\x9b";
	char *text = rendered(&s, 1, 0), *want;

	assert_true(
		asprintf(
			&want,
			"# HELP smtpguard_sender_connections_total connect() calls to watched "
			"ports by the UID.\n"
			"# TYPE smtpguard_sender_connections_total counter\n"
			"smtpguard_sender_connections_total{uid=\"1003\",user=\"%1$s\"} 1\n"
			"# HELP smtpguard_sender_denied_total connect() calls by the UID refused "
			"with EPERM.\n"
			"# TYPE smtpguard_sender_denied_total counter\n"
			"smtpguard_sender_denied_total{uid=\"1003\",user=\"%1$s\"} 0\n"
			"# HELP smtpguard_sender_rate connect() calls per second by the UID, "
			"averaged over the window.\n"
			"# TYPE smtpguard_sender_rate gauge\n"
			"smtpguard_sender_rate{uid=\"1003\",user=\"%1$s\",window=\"1m\"} 1\n"
			"smtpguard_sender_rate{uid=\"1003\",user=\"%1$s\",window=\"10m\"} 2\n"
			"smtpguard_sender_rate{uid=\"1003\",user=\"%1$s\",window=\"1h\"} 3\n"
			"# HELP smtpguard_sender_destinations Distinct destination addresses the "
			"UID connected to in the window.\n"
			"# TYPE smtpguard_sender_destinations gauge\n"
			"smtpguard_sender_destinations{uid=\"1003\",user=\"%1$s\",window=\"1m\"} "
			"1\n"
			"smtpguard_sender_destinations{uid=\"1003\",user=\"%1$s\",window=\"10m\"} "
			"1\n"
			"smtpguard_sender_destinations{uid=\"1003\",user=\"%1$s\",window=\"1h\"} "
			"1\n"
			"# HELP smtpguard_sender_connections_established_total The UID's "
			"connections to watched ports that were established.\n"
			"# TYPE smtpguard_sender_connections_established_total counter\n"
			"smtpguard_sender_connections_established_total{uid=\"1003\",user="
			"\"%1$s\"} 0\n"
			"# HELP smtpguard_sender_connections_failed_total The UID's connections to "
			"watched ports that failed: refused (reset) or timed out.\n"
			"# TYPE smtpguard_sender_connections_failed_total counter\n"
			"smtpguard_sender_connections_failed_total{uid=\"1003\",user=\"%1$s\","
			"reason=\"refused\"} 0\n"
			"smtpguard_sender_connections_failed_total{uid=\"1003\",user=\"%1$s\","
			"reason=\"timed_out\"} 0\n"
			"# HELP smtpguard_senders_omitted UIDs with counts that are not among the "
			"senders listed.\n"
			"# TYPE smtpguard_senders_omitted gauge\n"
			"smtpguard_senders_omitted 0\n",
			user) > 0);
	assert_string_equal(senders_part(text), want);
	assert_promtool_accepts(text);
	free(want);
	free(text);
}

static const char no_senders[] =
	"# HELP smtpguard_sender_connections_total connect() calls to watched ports by the UID.\n"
	"# TYPE smtpguard_sender_connections_total counter\n"
	"# HELP smtpguard_sender_denied_total connect() calls by the UID refused with EPERM.\n"
	"# TYPE smtpguard_sender_denied_total counter\n"
	"# HELP smtpguard_sender_rate connect() calls per second by the UID, averaged over the "
	"window.\n"
	"# TYPE smtpguard_sender_rate gauge\n"
	"# HELP smtpguard_sender_destinations Distinct destination addresses the UID connected to "
	"in the window.\n"
	"# TYPE smtpguard_sender_destinations gauge\n"
	"# HELP smtpguard_sender_connections_established_total The UID's connections to watched "
	"ports that were established.\n"
	"# TYPE smtpguard_sender_connections_established_total counter\n"
	"# HELP smtpguard_sender_connections_failed_total The UID's connections to watched ports "
	"that failed: refused (reset) or timed out.\n"
	"# TYPE smtpguard_sender_connections_failed_total counter\n"
	"# HELP smtpguard_senders_omitted UIDs with counts that are not among the senders listed.\n"
	"# TYPE smtpguard_senders_omitted gauge\n";

static void test_no_senders(void **state)
{
	char *text = rendered(NULL, 0, 0), *want;

	assert_true(asprintf(&want, "%ssmtpguard_senders_omitted 0\n", no_senders) > 0);
	assert_string_equal(senders_part(text), want);
	assert_promtool_accepts(text);
	free(want);
	free(text);
}

static void test_omitted(void **state)
{
	char *text = rendered(NULL, 0, 1234), *want;

	assert_true(asprintf(&want, "%ssmtpguard_senders_omitted 1234\n", no_senders) > 0);
	assert_string_equal(senders_part(text), want);
	free(want);
	free(text);
}

/* The detector's families and the host's connection outcomes, exactly, after the senders. */
static void test_detector(void **state)
{
	static const char *const rules[] = { "rate", "new_sender" };
	static const char *const actions[] = { "alert", "throttle" };
	static const char *const failures[] = { "full", "error" };
	static const __u64 alerts[] = { 2, 1 }, acts[] = { 1, 0, 1, 1 }, failed[] = { 1, 0, 0, 2 };
	static const struct sg_alert_metric active[] = { { 1002, "bob", "new_sender" } };
	static const struct sg_conn_stats conn = { 10, 4, 2, 123456 };
	/* A dry run's would-actions: beside the others, with their own label. */
	static const struct sg_dry_count dry[] = { { "contain", "bounce_share", 2 },
						   { "ban", "auth", 5 } };
	struct sg_metrics m = { .st = &st,
				.version = "0.4.0",
				.rule_names = rules,
				.n_rules = 2,
				.alerts = alerts,
				.action_names = actions,
				.n_actions = 2,
				.actions = acts,
				.dry = dry,
				.n_dry = 2,
				.failure_names = failures,
				.n_failures = 2,
				.failed = failed,
				.connections_cut = 3,
				.active = active,
				.n_active = 1,
				.conn = &conn };
	char *buf = render(&m), *tail;

	tail = strstr(buf, "# HELP smtpguard_connections_established_total");
	assert_non_null(tail);
	assert_string_equal(
		tail,
		"# HELP smtpguard_connections_established_total Connections to watched ports that "
		"were established (sock_ops).\n"
		"# TYPE smtpguard_connections_established_total counter\n"
		"smtpguard_connections_established_total 10\n"
		"# HELP smtpguard_connections_refused_total Connections to watched ports reset "
		"before they were established.\n"
		"# TYPE smtpguard_connections_refused_total counter\n"
		"smtpguard_connections_refused_total 4\n"
		"# HELP smtpguard_connections_timed_out_total Connections to watched ports given "
		"up "
		"unanswered after a SYN retransmission.\n"
		"# TYPE smtpguard_connections_timed_out_total counter\n"
		"smtpguard_connections_timed_out_total 2\n"
		"# HELP smtpguard_sent_bytes_total Payload bytes acknowledged on connections to "
		"watched ports, at their close.\n"
		"# TYPE smtpguard_sent_bytes_total counter\n"
		"smtpguard_sent_bytes_total 123456\n"
		"# HELP smtpguard_alerts_total Alerts the detector raised, by rule.\n"
		"# TYPE smtpguard_alerts_total counter\n"
		"smtpguard_alerts_total{rule=\"rate\"} 2\n"
		"smtpguard_alerts_total{rule=\"new_sender\"} 1\n"
		"# HELP smtpguard_alert_active 1 while the principal's alert for the rule is in "
		"force.\n"
		"# TYPE smtpguard_alert_active gauge\n"
		"smtpguard_alert_active{uid=\"1002\",user=\"bob\",rule=\"new_sender\"} 1\n"
		"# HELP smtpguard_actions_total What the daemon did about alerts, by action and "
		"rule (alert: nothing more; dry_run: told, not done).\n"
		"# TYPE smtpguard_actions_total counter\n"
		"smtpguard_actions_total{action=\"alert\",rule=\"rate\"} 1\n"
		"smtpguard_actions_total{action=\"alert\",rule=\"new_sender\"} 0\n"
		"smtpguard_actions_total{action=\"throttle\",rule=\"rate\"} 1\n"
		"smtpguard_actions_total{action=\"throttle\",rule=\"new_sender\"} 1\n"
		"smtpguard_actions_total{action=\"contain\",rule=\"bounce_share\",dry_run=\"true\"} "
		"2\n"
		"smtpguard_actions_total{action=\"ban\",rule=\"auth\",dry_run=\"true\"} 5\n"
		"# HELP smtpguard_actions_failed_total Automatic throttles and blocks that could not be "
		"written (full: sg_policies had no room), once a user until one of its is "
		"written.\n"
		"# TYPE smtpguard_actions_failed_total counter\n"
		"smtpguard_actions_failed_total{action=\"throttle\",reason=\"full\"} 1\n"
		"smtpguard_actions_failed_total{action=\"throttle\",reason=\"error\"} 0\n"
		"smtpguard_actions_failed_total{action=\"block\",reason=\"full\"} 0\n"
		"smtpguard_actions_failed_total{action=\"block\",reason=\"error\"} 2\n"
		"# HELP smtpguard_connections_cut_total Open connections to watched ports the "
		"daemon's blocks destroyed.\n"
		"# TYPE smtpguard_connections_cut_total counter\n"
		"smtpguard_connections_cut_total 3\n");
	assert_promtool_accepts(buf);
	free(buf);
}

/* SMTP on unwatched ports: the kernel's counts and sg_smtp's sessions by port, at the end. */
static void test_anyport(void **state)
{
	struct sg_anyport a = { .ports = { { 2525, 3, 7 }, { 8025, 1, 1 } },
				.n_ports = 2,
				.ports_omitted = 4 };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .anyport = &a };
	char *buf, *tail;

	st.counters[SG_CNT_SMTP_SEEN] = 9;
	st.counters[SG_CNT_SMTP_REPLACED] = 2;
	st.counters[SG_CNT_SMTP_UNRECORDED] = 1;
	buf = render(&m);
	tail = strstr(buf, "# HELP smtpguard_smtp_sessions_seen_total");
	assert_non_null(tail);
	assert_string_equal(
		tail,
		"# HELP smtpguard_smtp_sessions_seen_total SMTP sessions TC egress saw open (EHLO, "
		"HELO or MAIL) to ports that are not watched.\n"
		"# TYPE smtpguard_smtp_sessions_seen_total counter\n"
		"smtpguard_smtp_sessions_seen_total 9\n"
		"# HELP smtpguard_smtp_sessions_dropped_total Those not kept in sg_smtp: the UID's "
		"slot held another destination, or the table was full.\n"
		"# TYPE smtpguard_smtp_sessions_dropped_total counter\n"
		"smtpguard_smtp_sessions_dropped_total{reason=\"replaced\"} 2\n"
		"smtpguard_smtp_sessions_dropped_total{reason=\"table_full\"} 1\n"
		"# HELP smtpguard_smtp_sessions SMTP sessions in sg_smtp (each destination's within "
		"the hour) by port not watched when they were seen.\n"
		"# TYPE smtpguard_smtp_sessions gauge\n"
		"smtpguard_smtp_sessions{port=\"2525\"} 7\n"
		"smtpguard_smtp_sessions{port=\"8025\"} 1\n"
		"# HELP smtpguard_smtp_ports_omitted Ports in sg_smtp beyond the 64 listed in "
		"smtpguard_smtp_sessions.\n"
		"# TYPE smtpguard_smtp_ports_omitted gauge\n"
		"smtpguard_smtp_ports_omitted 4\n");
	assert_promtool_accepts(buf);
	free(buf);
}

/* Rates print in the shortest form that reads back exactly, never in "%f" padding. */
/* What the bounded tables dropped, a series a table; a principal's label escaped. */
static void test_mail_tables(void **state)
{
	static const char *const names[] = { "mail_principals", "bruteforce_offenders" };
	static const __u64 records[SG_MTA_EVENT_KINDS];
	static const __u64 failed[SG_CONTAIN_STEPS] = { [SG_STEP_HOLD] = 3, [SG_STEP_UNHOLD] = 1 };
	static const __u64 pruned[SG_PRUNED_KINDS] = { 12, 5 };
	struct sg_account_metric a = { .kind = "sasl", .messages = 3 };
	struct sg_mta_metrics mta = { .type = "postfix",
				      .event_names = sg_mta_event_names,
				      .records = records,
				      .n_events = SG_MTA_EVENT_KINDS,
				      .principals = 8192,
				      .dropped_names = names,
				      .dropped = { 11809, 7 },
				      .n_dropped = 2,
				      .accounts = &a,
				      .n_accounts = 1,
				      .step_names = sg_contain_step_names,
				      .steps_failed = failed,
				      .n_steps = SG_CONTAIN_STEPS,
				      .pruned_names = sg_clog_pruned_names,
				      .pruned = pruned,
				      .n_pruned = SG_PRUNED_KINDS };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .mta = &mta };
	static const char *const want[] = {
		/* Containment steps that failed, by step; the state's entries pruned, by why. */
		"\n# TYPE smtpguard_containment_steps_failed_total counter\n"
		"smtpguard_containment_steps_failed_total{step=\"ban\"} 0\n"
		"smtpguard_containment_steps_failed_total{step=\"table\"} 0\n"
		"smtpguard_containment_steps_failed_total{step=\"hold\"} 3\n"
		"smtpguard_containment_steps_failed_total{step=\"release_table\"} 0\n"
		"smtpguard_containment_steps_failed_total{step=\"release_hold\"} 1\n"
		"smtpguard_containment_steps_failed_total{step=\"unban\"} 0\n",
		"\n# TYPE smtpguard_contained_pruned_total counter\n"
		"smtpguard_contained_pruned_total{why=\"age\"} 12\n"
		"smtpguard_contained_pruned_total{why=\"cap\"} 5\n",
		"\nsmtpguard_mta_principals 8192\n"
		"# HELP smtpguard_evicted_total Entries a bounded table dropped.\n"
		"# TYPE smtpguard_evicted_total counter\n"
		"smtpguard_evicted_total{table=\"mail_principals\"} 11809\n"
		"smtpguard_evicted_total{table=\"bruteforce_offenders\"} 7\n",
		/* sg_escape_id's \xe9, its backslash escaped again as the text format asks */
		"\nsmtpguard_account_messages_total{principal=\"sasl:jos\\\\xe9\",kind=\"sasl\"} "
		"3\n",
	};
	char *buf;
	size_t i;

	snprintf(a.principal, sizeof(a.principal), "%s", "sasl:jos\xe9");
	buf = render(&m);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		print_message("%s", want[i] + 1);
		assert_non_null(strstr(buf, want[i]));
	}
	assert_promtool_accepts(buf);
	free(buf);
}

/* Brute-force bans and open-relay alerts: every family, exact. */
static void test_defence(void **state)
{
	static const char *const services[] = { "smtp", "imap" };
	static const __u64 failures[] = { 12, 3 }, bans[SG_BAN__MAX] = { 1, 0, 2, 0, 0, 1, 2 },
			   banned[SG_BAN__MAX] = { 0, 0, 5, 1, 0, 1 };
	struct sg_defence_metrics d = { .services = services,
					.auth_failures = failures,
					.n_services = 2,
					.reasons = sg_ban_reason_names,
					.bans = bans,
					.banned = banned,
					.n_reasons = SG_BAN__MAX,
					.relay_messages = 7,
					.relay_alerts = 2,
					.ban_errors = 0,
					.ban_protected = 4 };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .defence = &d };
	char *buf = render(&m), *tail;

	tail = strstr(buf, "# HELP smtpguard_auth_failures_total");
	assert_non_null(tail);
	assert_string_equal(
		tail,
		"# HELP smtpguard_auth_failures_total Failed logins in the MTA and Dovecot logs, "
		"each "
		"counted once, by service.\n"
		"# TYPE smtpguard_auth_failures_total counter\n"
		"smtpguard_auth_failures_total{service=\"smtp\"} 12\n"
		"smtpguard_auth_failures_total{service=\"imap\"} 3\n"
		"# HELP smtpguard_bans Sources banned at XDP now, by why: a human, a containment, "
		"a rule or the fleet.\n"
		"# TYPE smtpguard_bans gauge\n"
		"smtpguard_bans{reason=\"manual\"} 1\n"
		"smtpguard_bans{reason=\"contain\"} 0\n"
		"smtpguard_bans{reason=\"auth_failures\"} 2\n"
		"smtpguard_bans{reason=\"syn_rate\"} 0\n"
		"smtpguard_bans{reason=\"distributed\"} 0\n"
		"smtpguard_bans{reason=\"open_relay\"} 1\n"
		"smtpguard_bans{reason=\"campaign\"} 2\n"
		"smtpguard_bans{reason=\"fleet_cscli\"} 0\n"
		"smtpguard_bans{reason=\"fleet_crowdsec\"} 0\n"
		"smtpguard_bans{reason=\"fleet_other\"} 0\n"
		"# HELP smtpguard_bruteforce_bans_total Bans the daemon's brute-force and relay "
		"rules "
		"gave, by rule.\n"
		"# TYPE smtpguard_bruteforce_bans_total counter\n"
		"smtpguard_bruteforce_bans_total{reason=\"auth_failures\"} 5\n"
		"smtpguard_bruteforce_bans_total{reason=\"syn_rate\"} 1\n"
		"smtpguard_bruteforce_bans_total{reason=\"distributed\"} 0\n"
		"smtpguard_bruteforce_bans_total{reason=\"open_relay\"} 1\n"
		"# HELP smtpguard_relay_messages_total Messages relayed for clients that did not "
		"log "
		"in and are not trusted.\n"
		"# TYPE smtpguard_relay_messages_total counter\n"
		"smtpguard_relay_messages_total 7\n"
		"# HELP smtpguard_relay_alerts_total Open-relay alerts raised.\n"
		"# TYPE smtpguard_relay_alerts_total counter\n"
		"smtpguard_relay_alerts_total 2\n"
		"# HELP smtpguard_ban_errors_total Bans the daemon's rules gave that could not be "
		"put "
		"in sg_bans (see the log).\n"
		"# TYPE smtpguard_ban_errors_total counter\n"
		"smtpguard_ban_errors_total 0\n"
		"# HELP smtpguard_bans_refused_total Automatic bans not put: they cover this "
		"host's address, its gateway, loopback, [bruteforce] allow or [campaign] webmail.\n"
		"# TYPE smtpguard_bans_refused_total counter\n"
		"smtpguard_bans_refused_total 4\n");
	free(buf);
}

/* Campaigns, after the mail server's families: every one, exact. */
static void test_campaign(void **state)
{
	static const __u64 records[SG_MTA_EVENT_KINDS];
	struct sg_campaign_metrics c = { .condemned = 3,
					 .held = 40,
					 .host_alerts = 1,
					 .evicted = 2,
					 .addresses = 8,
					 .host_active = 1,
					 .host_new_senders = 12,
					 .host_bounce_share = 0.4375 };
	struct sg_mta_metrics mta = { .type = "postfix",
				      .event_names = sg_mta_event_names,
				      .records = records,
				      .n_events = SG_MTA_EVENT_KINDS,
				      .campaign = &c };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .mta = &mta };
	char *buf = render(&m), *tail;

	tail = strstr(buf, "# HELP smtpguard_campaign_addresses_condemned_total");
	assert_non_null(tail);
	assert_string_equal(
		tail,
		"# HELP smtpguard_campaign_addresses_condemned_total Addresses that logged in to "
		"many "
		"accounts, condemned.\n"
		"# TYPE smtpguard_campaign_addresses_condemned_total counter\n"
		"smtpguard_campaign_addresses_condemned_total 3\n"
		"# HELP smtpguard_campaign_accounts_held_total Accounts a condemned address logged "
		"in "
		"to, held for it.\n"
		"# TYPE smtpguard_campaign_accounts_held_total counter\n"
		"smtpguard_campaign_accounts_held_total 40\n"
		"# HELP smtpguard_campaign_host_alerts_total Host-wide alerts: bounce share and "
		"new "
		"senders jumped.\n"
		"# TYPE smtpguard_campaign_host_alerts_total counter\n"
		"smtpguard_campaign_host_alerts_total 1\n"
		"# HELP smtpguard_campaign_evicted_total Addresses, their accounts or verdicts "
		"dropped "
		"at a cap.\n"
		"# TYPE smtpguard_campaign_evicted_total counter\n"
		"smtpguard_campaign_evicted_total 2\n"
		"# HELP smtpguard_campaign_addresses Client addresses whose logins are counted.\n"
		"# TYPE smtpguard_campaign_addresses gauge\n"
		"smtpguard_campaign_addresses 8\n"
		"# HELP smtpguard_campaign_host_alert 1 while the host-wide campaign alert is in "
		"force.\n"
		"# TYPE smtpguard_campaign_host_alert gauge\n"
		"smtpguard_campaign_host_alert 1\n"
		"# HELP smtpguard_campaign_host_new_senders New accounts that sent in the last 10 "
		"minutes.\n"
		"# TYPE smtpguard_campaign_host_new_senders gauge\n"
		"smtpguard_campaign_host_new_senders 12\n"
		"# HELP smtpguard_campaign_host_bounce_share Bounced over remote deliveries of "
		"every "
		"principal in the last 10 minutes.\n"
		"# TYPE smtpguard_campaign_host_bounce_share gauge\n"
		"smtpguard_campaign_host_bounce_share 0.4375\n");
	free(buf);
}

/* The in-band judge's counters: every family, exact, each value its own. */
static void test_inband(void **state)
{
	struct sg_inband_metrics ib = { .judged = 1,
					.held_budget = 2,
					.held_contained = 3,
					.rejected = 4,
					.condemned = 5,
					.released = 6,
					.unknown = 7,
					.unremembered = 8,
					.budget_evicted = 9,
					.errors = 10,
					.held = 11 };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .inband = &ib };
	char *buf = render(&m), *tail;

	tail = strstr(buf, "# HELP smtpguard_inband_judged_total");
	assert_non_null(tail);
	assert_string_equal(
		tail,
		"# HELP smtpguard_inband_judged_total Messages judged at the end of data (policy "
		"requests that named a principal).\n"
		"# TYPE smtpguard_inband_judged_total counter\n"
		"smtpguard_inband_judged_total 1\n"
		"# HELP smtpguard_inband_held_budget_total Messages held over their principal's "
		"budget.\n"
		"# TYPE smtpguard_inband_held_budget_total counter\n"
		"smtpguard_inband_held_budget_total 2\n"
		"# HELP smtpguard_inband_held_contained_total Messages of contained principals "
		"answered HOLD.\n"
		"# TYPE smtpguard_inband_held_contained_total counter\n"
		"smtpguard_inband_held_contained_total 3\n"
		"# HELP smtpguard_inband_rejected_total Requests of contained principals answered "
		"REJECT ([mta] contain = reject).\n"
		"# TYPE smtpguard_inband_rejected_total counter\n"
		"smtpguard_inband_rejected_total 4\n"
		"# HELP smtpguard_inband_bruteforce_login_total Accounts contained for logging in "
		"from "
		"an address that failed to.\n"
		"# TYPE smtpguard_inband_bruteforce_login_total counter\n"
		"smtpguard_inband_bruteforce_login_total 5\n"
		"# HELP smtpguard_inband_released_total Messages held over budget let go after "
		"[mta] "
		"hold_grace.\n"
		"# TYPE smtpguard_inband_released_total counter\n"
		"smtpguard_inband_released_total 6\n"
		"# HELP smtpguard_inband_unknown_local_total Local submissions with no owner "
		"found, "
		"judged as local:unknown.\n"
		"# TYPE smtpguard_inband_unknown_local_total counter\n"
		"smtpguard_inband_unknown_local_total 7\n"
		"# HELP smtpguard_inband_unremembered_total Messages held over budget that no "
		"hold_grace will release (no queue id or no room): a human's to release.\n"
		"# TYPE smtpguard_inband_unremembered_total counter\n"
		"smtpguard_inband_unremembered_total 8\n"
		"# HELP smtpguard_inband_budget_evicted_total Principals dropped from the full "
		"budget "
		"table.\n"
		"# TYPE smtpguard_inband_budget_evicted_total counter\n"
		"smtpguard_inband_budget_evicted_total 9\n"
		"# HELP smtpguard_inband_errors_total Releases or holds through the MTA that "
		"failed.\n"
		"# TYPE smtpguard_inband_errors_total counter\n"
		"smtpguard_inband_errors_total 10\n"
		"# HELP smtpguard_inband_held Messages held over budget now, waiting for [mta] "
		"hold_grace.\n"
		"# TYPE smtpguard_inband_held gauge\n"
		"smtpguard_inband_held 11\n");
	assert_promtool_accepts(buf);
	free(buf);
}

static void test_policy(void **state)
{
	struct sg_policysrv_stats p = { .requests = { 120, 7, 1, 0 },
					.refused = { 3, 0, 1, 2, 4, 5 },
					.values_cut = 6,
					.connections = 9 };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .policy = &p };
	char *buf = render(&m), *tail;

	tail = strstr(buf, "# HELP smtpguard_policy_requests_total");
	assert_non_null(tail);
	assert_string_equal(
		tail, "# HELP smtpguard_policy_requests_total Policy requests the MTA asked and "
		      "the service "
		      "answered, by verdict.\n"
		      "# TYPE smtpguard_policy_requests_total counter\n"
		      "smtpguard_policy_requests_total{verdict=\"DUNNO\"} 120\n"
		      "smtpguard_policy_requests_total{verdict=\"HOLD\"} 7\n"
		      "smtpguard_policy_requests_total{verdict=\"REJECT\"} 1\n"
		      "smtpguard_policy_requests_total{verdict=\"DEFER\"} 0\n"
		      "# HELP smtpguard_policy_refused_total Policy connections refused or closed "
		      "before an "
		      "answer, by why.\n"
		      "# TYPE smtpguard_policy_refused_total counter\n"
		      "smtpguard_policy_refused_total{reason=\"peer\"} 3\n"
		      "smtpguard_policy_refused_total{reason=\"capacity\"} 0\n"
		      "smtpguard_policy_refused_total{reason=\"malformed\"} 1\n"
		      "smtpguard_policy_refused_total{reason=\"oversized\"} 2\n"
		      "smtpguard_policy_refused_total{reason=\"timeout\"} 4\n"
		      "smtpguard_policy_refused_total{reason=\"unread\"} 5\n"
		      "# HELP smtpguard_policy_values_cut_total Request values longer than "
		      "smtpguard keeps, judged cut to their field.\n"
		      "# TYPE smtpguard_policy_values_cut_total counter\n"
		      "smtpguard_policy_values_cut_total 6\n"
		      "# HELP smtpguard_policy_connections Connections to the policy service now.\n"
		      "# TYPE smtpguard_policy_connections gauge\n"
		      "smtpguard_policy_connections 9\n");
	/* Without a policy service, none of its families. */
	free(buf);
	m.policy = NULL;
	buf = render(&m);
	assert_null(strstr(buf, "smtpguard_policy_"));
	free(buf);
}

/* The sub-UID file's lines by outcome, last; none without a daemon that read it. */
static void test_subuid_ranges(void **state)
{
	const __u64 ranges[SG_SUBID__MAX] = { 40, 1, 2, 1, 0, 3, 0 };
	struct sg_metrics m = { .st = &st, .version = "0.4.0", .subuid_ranges = ranges };
	char *buf = render(&m), *tail;

	tail = strstr(buf, "# HELP smtpguard_subuid_ranges");
	assert_non_null(tail);
	assert_string_equal(tail,
			    "# HELP smtpguard_subuid_ranges Lines of the sub-UID file at its last "
			    "read: ranges policed as their owner's (loaded), or refused, by why.\n"
			    "# TYPE smtpguard_subuid_ranges gauge\n"
			    "smtpguard_subuid_ranges{outcome=\"loaded\"} 40\n"
			    "smtpguard_subuid_ranges{outcome=\"malformed\"} 1\n"
			    "smtpguard_subuid_ranges{outcome=\"unknown_owner\"} 2\n"
			    "smtpguard_subuid_ranges{outcome=\"root\"} 1\n"
			    "smtpguard_subuid_ranges{outcome=\"account\"} 0\n"
			    "smtpguard_subuid_ranges{outcome=\"overlap\"} 3\n"
			    "smtpguard_subuid_ranges{outcome=\"full\"} 0\n");
	free(buf);
	m.subuid_ranges = NULL;
	buf = render(&m);
	assert_null(strstr(buf, "smtpguard_subuid_"));
	free(buf);
}

static void test_numbers(void **state)
{
	struct sg_sender_rate s = { .uid = 7, .rate = { 2.0, 1e-5, 123456.789 } };
	char *text = rendered(&s, 1, 0);

	assert_non_null(strstr(text,
			       "smtpguard_sender_rate{uid=\"7\",user=\"\",window=\"1m\"} 2\n"
			       "smtpguard_sender_rate{uid=\"7\",user=\"\",window=\"10m\"} 1e-05\n"
			       "smtpguard_sender_rate{uid=\"7\",user=\"\",window=\"1h\"} "
			       "123456.789\n"));
	assert_promtool_accepts(text);
	free(text);
}

static void test_promtool_rejects(void **state)
{
	char *out;

	/* The check itself works: a counter without _total is a complaint. */
	assert_int_not_equal(promtool("# HELP x y\n# TYPE x counter\nx 1\n", &out), 0);
	assert_string_not_equal(out, "");
	free(out);
}

static void test_write_error(void **state)
{
	struct sg_metrics m = { .st = &st, .version = "0.3.0" };
	FILE *f = fopen("/dev/full", "w");

	assert_non_null(f);
	assert_int_equal(sg_metrics_render(f, &m), -EIO);
	fclose(f);
}

static void test_windows(void **state)
{
	assert_string_equal(sg_window_names[SG_WIN_1M], "1m");
	assert_string_equal(sg_window_names[SG_WIN_10M], "10m");
	assert_string_equal(sg_window_names[SG_WIN_1H], "1h");
	assert_int_equal(sg_window_seconds[SG_WIN_1M], 60);
	assert_int_equal(sg_window_seconds[SG_WIN_10M], 600);
	assert_int_equal(sg_window_seconds[SG_WIN_1H], 3600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_exposition, setup),
		cmocka_unit_test_setup(test_label_escaping, setup),
		cmocka_unit_test_setup(test_no_senders, setup),
		cmocka_unit_test_setup(test_omitted, setup),
		cmocka_unit_test_setup(test_detector, setup),
		cmocka_unit_test_setup(test_defence, setup),
		cmocka_unit_test_setup(test_mail_tables, setup),
		cmocka_unit_test_setup(test_campaign, setup),
		cmocka_unit_test_setup(test_inband, setup),
		cmocka_unit_test_setup(test_policy, setup),
		cmocka_unit_test_setup(test_subuid_ranges, setup),
		cmocka_unit_test_setup(test_anyport, setup),
		cmocka_unit_test_setup(test_numbers, setup),
		cmocka_unit_test(test_promtool_rejects),
		cmocka_unit_test_setup(test_write_error, setup),
		cmocka_unit_test(test_windows),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
