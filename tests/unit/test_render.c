// SPDX-License-Identifier: GPL-2.0
/* top and status output, exactly as scripts and administrators read it. */
#include <errno.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/if_link.h>

#include "util/render.h"
#include "sg_bucket.h"

#define NOW (5000 * SG_NS_PER_SEC)

static char *json_text(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(v);
	return s;
}

static char *printed(void (*print)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	print(f, arg);
	fclose(f);
	return buf;
}

static void test_formats(void **state)
{
	__u32 v4[4] = { 0, 0, htonl(0xffff), htonl(0xc6336407) }, v6[4];
	char buf[64];

	assert_string_equal(sg_format_rate(3600, buf, sizeof(buf)), "1/s");
	assert_string_equal(sg_format_rate(600, buf, sizeof(buf)), "10/min");
	assert_string_equal(sg_format_rate(10, buf, sizeof(buf)), "10/h");
	assert_string_equal(sg_format_duration(5400 * SG_NS_PER_SEC, buf, sizeof(buf)), "1h30m");
	assert_string_equal(sg_format_duration(93784 * SG_NS_PER_SEC, buf, sizeof(buf)),
			    "1d2h3m4s");
	assert_string_equal(sg_format_duration(86400 * SG_NS_PER_SEC, buf, sizeof(buf)), "1d");
	assert_string_equal(sg_format_duration(SG_NS_PER_SEC - 1, buf, sizeof(buf)), "0s");
	assert_string_equal(sg_format_addr(v4, buf, sizeof(buf)), "198.51.100.7");
	inet_pton(AF_INET6, "2001:db8::25", v6);
	assert_string_equal(sg_format_addr(v6, buf, sizeof(buf)), "2001:db8::25");
}

static const struct sg_top_row rows[] = {
	{ .uid = 1001, .user = "alice", .attempts = 3, .allowed = 3, .egress_syns = 3 },
	{ .uid = 65534, .no_socket = 1, .egress_syns = 4 },
	{ .uid = 1002,
	  .user = "bob",
	  .attempts = 20,
	  .allowed = 5,
	  .denied = 15,
	  .egress_syns = 5,
	  .has_policy = 1,
	  .policy = { .mode = SG_MODE_THROTTLE, .burst = 5, .rate_per_hour = 60,
		      .expires_ns = NOW + 3600 * SG_NS_PER_SEC } },
	{ .uid = 4242, .attempts = 3, .denied = 3, .has_policy = 1,
	  .policy = { .mode = SG_MODE_BLOCK } },
};

static void test_top_json(void **state)
{
	struct sg_top_row r[4];
	char *s;

	memcpy(r, rows, sizeof(r));
	sg_top_sort(r, 4);
	s = json_text(sg_top_json(r, 4, NOW));
	assert_string_equal(
		s,
		"[{\"uid\":1002,\"user\":\"bob\",\"no_socket\":false,\"attempts\":20,\"allowed\":5,"
		"\"denied\":15,\"egress_syns\":5,\"policy\":{\"mode\":\"throttle\",\"rate\":\"1/min\","
		"\"burst\":5,\"expires_in_s\":3600}},"
		"{\"uid\":1001,\"user\":\"alice\",\"no_socket\":false,\"attempts\":3,\"allowed\":3,"
		"\"denied\":0,\"egress_syns\":3,\"policy\":null},"
		"{\"uid\":4242,\"user\":null,\"no_socket\":false,\"attempts\":3,\"allowed\":0,"
		"\"denied\":3,\"egress_syns\":0,\"policy\":{\"mode\":\"block\",\"expires_in_s\":null}},"
		"{\"uid\":65534,\"user\":null,\"no_socket\":true,\"attempts\":0,\"allowed\":0,"
		"\"denied\":0,\"egress_syns\":4,\"policy\":null}]");
	free(s);
	s = json_text(sg_top_json(r, 0, NOW));
	assert_string_equal(s, "[]");
	free(s);
}

static void print_top(FILE *f, const void *arg)
{
	sg_top_print(f, arg, 4, NOW);
}

static void test_top_text(void **state)
{
	char *s = printed(print_top, rows);

	assert_string_equal(
		s,
		"       UID USER               ATTEMPTS    ALLOWED     DENIED EGRESS_SYN  POLICY\n"
		"      1001 alice                     3          3          0          3  -\n"
		"     65534 (no socket)               0          0          0          4  -\n"
		"      1002 bob                      20          5         15          5  throttle 1/min burst 5 for 1h\n"
		"      4242 -                         3          0          3          0  block\n");
	free(s);
}

static void fill_status(struct sg_status *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->pin_dir, sizeof(st->pin_dir), "/sys/fs/bpf/smtpguard");
	st->hooks[0] = (struct sg_status_hook){ .name = "connect4", .attached = 1,
						.cgroup_id = 1, .cgroup = "/sys/fs/cgroup" };
	st->hooks[1] = (struct sg_status_hook){ .name = "connect6" };
	st->hooks[2] = (struct sg_status_hook){ .name = "sockops", .attached = 1, .cgroup_id = 7 };
	st->n_hooks = 3;
	st->ifaces[0] = (struct sg_iface){ .name = "eth0", .flags = SG_IFACE_TC | SG_IFACE_XDP,
					   .xdp_mode = XDP_ATTACHED_SKB };
	st->iface_keys[0] = (struct sg_iface_key){ .netns = 4026531840ULL, .ifindex = 2 };
	st->ifaces[1] = (struct sg_iface){ .name = "veth1", .flags = SG_IFACE_TC };
	st->iface_keys[1] = (struct sg_iface_key){ .netns = 4026532999ULL, .ifindex = 2 };
	st->n_ifaces = 2;
	st->netns = 4026531840ULL;
	st->maps[0] = (struct sg_status_map){ .name = "sg_policies", .entries = 2, .capacity = 65536 };
	st->maps[1] = (struct sg_status_map){ .name = "sg_events", .entries = -1, .capacity = 262144 };
	st->n_maps = 2;
	st->ports[0] = (struct sg_status_port){
		.port = 25,
		.v = { .flags = SG_PORT_OUTBOUND | SG_PORT_INBOUND, .connects = 7, .out_syns = 6,
		       .out_packets = 30, .out_bytes = 2000, .in_syns = 1 }
	};
	st->n_ports = 1;
	st->policies[SG_MODE_THROTTLE] = 1;
	st->policies[SG_MODE_BLOCK] = 1;
	st->errors[SG_ERR_FRAGMENT] = 2;
	st->counters[SG_CNT_EVENTS] = 9;
	st->counters[SG_CNT_DENIED_THROTTLE] = 4;
}

static void test_status_json(void **state)
{
	struct sg_status st;
	char *s;

	fill_status(&st);
	s = json_text(sg_status_json(&st));
	assert_string_equal(
		s,
		"{\"pin_dir\":\"/sys/fs/bpf/smtpguard\",\"cgroup_hooks\":["
		"{\"program\":\"connect4\",\"attached\":true,\"cgroup_id\":1,\"cgroup\":\"/sys/fs/cgroup\"},"
		"{\"program\":\"connect6\",\"attached\":false,\"cgroup_id\":null,\"cgroup\":null},"
		"{\"program\":\"sockops\",\"attached\":true,\"cgroup_id\":7,\"cgroup\":null}],"
		"\"interfaces\":[{\"interface\":\"eth0\",\"ifindex\":2,\"netns\":4026531840,"
		"\"tc_egress\":true,\"xdp\":\"generic\"},{\"interface\":\"veth1\",\"ifindex\":2,"
		"\"netns\":4026532999,\"tc_egress\":true,\"xdp\":\"none\"}],"
		"\"policies\":{\"default\":{\"mode\":\"observe\",\"expires_in_s\":null},\"observe\":0,"
		"\"throttle\":1,\"block\":1},"
		"\"ports\":[{\"port\":25,\"outbound\":true,\"inbound\":true,\"connects\":7,\"out_syns\":6,"
		"\"out_packets\":30,\"out_bytes\":2000,\"in_syns\":1}],"
		"\"maps\":[{\"map\":\"sg_policies\",\"entries\":2,\"capacity\":65536},"
		"{\"map\":\"sg_events\",\"entries\":null,\"capacity\":262144}],"
		"\"errors\":{\"map_full\":0,\"ringbuf_full\":0,\"truncated\":0,\"bad_header\":0,"
		"\"fragment\":2,\"exthdr_limit\":0,\"vlan_limit\":0},\"counters\":{\"ban_drops\":0,\"events\":9,"
		"\"denied_block\":0,\"denied_throttle\":4,\"denied_no_bucket\":0,"
		"\"local_recorded\":0,\"local_unrecorded\":0,\"local_evicted\":0,\"smtp_seen\":0,"
		"\"smtp_replaced\":0,\"smtp_unrecorded\":0,"
		"\"flow_quota\":0,\"sender_quota\":0,\"egress_made\":0,\"sources_made\":0,"
		"\"denied_contended\":0},"
		"\"fail_closed\":null}");
	free(s);
}

static void print_status(FILE *f, const void *arg)
{
	sg_status_print(f, arg);
}

static void test_status_text(void **state)
{
	struct sg_status st;
	char *s;

	fill_status(&st);
	s = printed(print_status, &st);
	assert_string_equal(
		s,
		"pinned state: /sys/fs/bpf/smtpguard\n\n"
		"cgroup hooks:\n"
		"  connect4  cgroup id 1, /sys/fs/cgroup\n"
		"  connect6  not attached\n"
		"  sockops   cgroup id 7\n\n"
		"interfaces:\n"
		"  eth0             tc egress: yes  xdp: generic\n"
		"  veth1            tc egress: yes  xdp: none  (network namespace 4026532999)\n\n"
		"policies: default observe; 1 throttled, 1 blocked, 0 observed\n\n"
		"  PORT WATCH       CONNECTS   OUT_SYNS  OUT_PACKETS      OUT_BYTES    IN_SYNS\n"
		"    25 out,in             7          6           30           2000          1\n\n"
		"MAP               ENTRIES   CAPACITY\n"
		"sg_policies             2      65536\n\n"
		"errors: map_full=0 ringbuf_full=0 truncated=0 bad_header=0 fragment=2 exthdr_limit=0 "
		"vlan_limit=0\n"
		"counters: ban_drops=0 events=9 denied_block=0 denied_throttle=4 denied_no_bucket=0 "
		"local_recorded=0 local_unrecorded=0 local_evicted=0 smtp_seen=0 smtp_replaced=0 "
		"smtp_unrecorded=0 flow_quota=0 sender_quota=0 egress_made=0 sources_made=0 "
		"denied_contended=0\n");
	free(s);
}

/*
 * Failing closed comes first in status (and top): the refusals counted,
 * and each full map that fails closed with what it costs; in JSON too.
 */
static void test_fail_closed(void **state)
{
	static const char want[] =
		"FAIL CLOSED: 20 connect()s refused for want of room for a token bucket "
		"(denied_no_bucket)\n"
		"FULL: sg_buckets 65536 of 65536: a throttled user with no bucket yet is refused "
		"every connect()\n"
		"FULL: sg_uid_stats 65536 of 65536: a user not counted yet is left uncounted, "
		"and out of top\n\n"
		"pinned state:";
	struct sg_status st;
	char *s;

	fill_status(&st);
	st.maps[2] = (struct sg_status_map){ .name = "sg_buckets", .entries = 65536,
					     .capacity = 65536 };
	st.maps[3] = (struct sg_status_map){ .name = "sg_uid_stats", .entries = 65535,
					     .capacity = 65536 };
	st.n_maps = 4;
	s = json_text(sg_fail_closed_json(&st));
	assert_string_equal(s, "{\"denied_no_bucket\":0,\"full_maps\":[\"sg_buckets\"]}");
	free(s);
	st.maps[3].entries = 65536;
	st.counters[SG_CNT_DENIED_NO_BUCKET] = 20;
	s = json_text(sg_fail_closed_json(&st));
	assert_string_equal(s, "{\"denied_no_bucket\":20,\"full_maps\":[\"sg_buckets\","
			       "\"sg_uid_stats\"]}");
	free(s);
	s = printed(print_status, &st);
	assert_true(strlen(s) > strlen(want));
	s[strlen(want)] = '\0';
	assert_string_equal(s, want);
	free(s);
}

/* One id escaped as want, and back. */
static void assert_escapes(const char *id, const char *want)
{
	char esc[SG_ESCAPED_LEN(64)], back[64];
	json_t *j;

	assert_int_equal(sg_escape_id(id, esc, sizeof(esc)), strlen(want));
	assert_string_equal(esc, want);
	j = json_string(esc);
	assert_non_null(j); /* what JSON takes */
	json_decref(j);
	assert_int_equal(sg_unescape_id(esc, back, sizeof(back)), strlen(id));
	assert_string_equal(back, id);
}

static void test_escape_id(void **state)
{
	char buf[8], longest[SG_ESCAPED_LEN(3)];

	assert_escapes("sasl:info@example.com", "sasl:info@example.com");
	assert_escapes("sasl:jos\xc3\xa9", "sasl:jos\xc3\xa9"); /* UTF-8 stays */
	assert_escapes("sasl:\xe2\x82\xac\xf0\x9f\x98\x80", "sasl:\xe2\x82\xac\xf0\x9f\x98\x80");
	/* Latin-1, a lone continuation, cut, overlong, surrogate, past U+10FFFF: escaped. */
	assert_escapes("sasl:jos\xe9", "sasl:jos\\xe9");
	assert_escapes("\x80"
		       "a",
		       "\\x80a");
	assert_escapes("\xe2\x82", "\\xe2\\x82");
	assert_escapes("\xc0\xaf", "\\xc0\\xaf");
	assert_escapes("\xed\xa0\x80", "\\xed\\xa0\\x80");
	assert_escapes("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	/* Control bytes and DEL, for a log line; the escape character itself. */
	assert_escapes("a\nb\tc\x7f", "a\\x0ab\\x09c\\x7f");
	assert_escapes("a\\xe9", "a\\\\xe9");
	assert_escapes("", "");
	/* A quote ends no quoted field; C1 controls (CSI U+009B) reach no terminal. */
	assert_escapes("a\"b", "a\\x22b");
	assert_escapes("\xc2\x9b"
		       "2J\xc2\x80\xc2\x9f\xc2\xa0",
		       "\\xc2\\x9b2J\\xc2\\x80\\xc2\\x9f\xc2\xa0");

	/* The escape fits exactly, or is refused whole. */
	assert_int_equal(sg_escape_id("\xff\xff\xff", longest, sizeof(longest)), 12);
	assert_int_equal(sg_escape_id("\xff\xff\xff", longest, sizeof(longest) - 1), -ENOSPC);
	assert_int_equal(sg_escape_id("abcdefgh", buf, sizeof(buf)), -ENOSPC);
	assert_string_equal(buf, "abcdefg");
	assert_int_equal(sg_escape_id("ab\xff\xff", buf, sizeof(buf)), -ENOSPC);
	assert_string_equal(buf, "ab\\xff");
	assert_int_equal(sg_escape_id("abcdefg", buf, sizeof(buf)), 7);
	assert_int_equal(sg_escape_id("a\\", buf, 3), -ENOSPC);
	/* Not an escape: refused, not guessed. */
	assert_int_equal(sg_unescape_id("a\\", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_unescape_id("a\\q", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_unescape_id("a\\xg0", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_unescape_id("a\\xE9", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_unescape_id("a\\x00", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_unescape_id("a\\x4", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sg_unescape_id("abcdefgh", buf, sizeof(buf)), -ENOSPC);
}

/* A field of a log line: plain when it is one token and its own escape, else quoted. */
static void test_log_value(void **state)
{
	char buf[64], small[8];

	assert_string_equal(sg_log_value("bob", buf, sizeof(buf)), "bob");
	assert_string_equal(sg_log_value("", buf, sizeof(buf)), "\"\"");
	assert_string_equal(sg_log_value("/tmp/a b", buf, sizeof(buf)), "\"/tmp/a b\"");
	assert_string_equal(sg_log_value("jos\xc3\xa9", buf, sizeof(buf)), "jos\xc3\xa9");
	assert_string_equal(sg_log_value("a\\b", buf, sizeof(buf)), "\"a\\\\b\"");
	/* The hostile title: no byte of it a control, no field of it outside the quotes. */
	assert_string_equal(
		sg_log_value("x\x1b[2J\a\r\n\" action=ban ip=1.2.3.4", buf, sizeof(buf)),
		"\"x\\x1b[2J\\x07\\x0d\\x0a\\x22 action=ban ip=1.2.3.4\"");
	/* Cut to whole escapes, the quotes kept. */
	assert_string_equal(sg_log_value("a b\x01", small, sizeof(small)), "\"a b\"");
	assert_string_equal(sg_log_value("abcdefgh", small, sizeof(small)), "\"abcde\"");
	assert_string_equal(sg_printable("a\x1b\xc2\x9b", buf, sizeof(buf)), "a\\x1b\\xc2\\x9b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),	    cmocka_unit_test(test_top_json),
		cmocka_unit_test(test_top_text),    cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_status_text), cmocka_unit_test(test_escape_id),
		cmocka_unit_test(test_fail_closed),
		cmocka_unit_test(test_log_value),
	};

	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}
