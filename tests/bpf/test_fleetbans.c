// SPDX-License-Identifier: GPL-2.0
/*
 * The bouncer on a real sg_bans (the programs loaded, their maps pinned in
 * a private bpffs): a startup list lifts the fleet's bans that none of its
 * decisions holds, which were deleted at the LAPI while the daemon was not
 * running (its decisions are in its memory only), and leaves a human's ban
 * and the fleet's bans the list holds. Every way a ban is lifted (the
 * bouncer's, the CLI's unban, a release, the sweep) leaves sg_ban_bits as
 * a rebuild from the bans left would make it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "pkt.h"
#include "core/config.h"
#include "daemon/sweep.h"
#include "fleet/bouncer.h"
#include "kern/banbits.h"
#include "kern/maps.h"
#include "kern/state.h"
#include "mail/contain.h"
#include "util/parse.h"
#include "sg_bucket.h"

static struct pkt_env env;
static int bans_fd;

static struct sg_ban_key key_of(const char *s)
{
	struct sg_ban_key k;
	const char *why;

	assert_int_equal(sg_parse_cidr(s, &k, &why), 0);
	return k;
}

/* The reason of s's own ban, or -1 when it has none. */
static int reason(const char *s)
{
	struct sg_ban_key k = key_of(s);
	struct sg_ban b;

	if (bpf_map_lookup_elem(bans_fd, &k, &b) || b.prefixlen != k.prefixlen)
		return -1;
	return (int)b.reason;
}

static void put(const char *s, __u32 why)
{
	struct sg_ban_key k = key_of(s);

	assert_int_equal(sg_ban_put(bans_fd, &k, 3600 * SG_NS_PER_SEC, why, NULL, NULL), 0);
}

static int add_bits(const void *key, const void *value, void *ctx)
{
	sg_ban_bits_set(ctx, key);
	return 0;
}

/*
 * sg_ban_bits is what a rebuild from the bans in sg_bans now would make:
 * no bit of a lifted ban is left. Each test lifts a ban whose /24 no other
 * ban covers, so that a bit left behind shows here.
 */
static void assert_bits_fresh(void)
{
	const size_t size = SG_BAN_BITS_WORDS * sizeof(__u64);
	__u64 *fresh = calloc(SG_BAN_BITS_WORDS, sizeof(__u64)), *words = NULL;

	assert_non_null(fresh);
	assert_int_equal(sg_map_for_each(bans_fd, add_bits, fresh), 0);
	assert_int_equal(sg_pin_mmap(SG_MAP_BAN_BITS, size, (void **)&words), 0);
	assert_non_null(words);
	assert_memory_equal(words, fresh, size);
	munmap(words, size);
	free(fresh);
}

static void test_startup_lifts_orphans(void **state)
{
	static struct sg_config c;
	struct sg_lapi_decision d = { .id = 7,
				      .scope = SG_SCOPE_IP,
				      .origin = SG_ORIGIN_CSCLI,
				      .ban = 1,
				      .remaining_ns = 1800 * SG_NS_PER_SEC };
	struct sg_bouncer b;

	sg_config_default(&c);
	/* As a daemon left them before it stopped. */
	put("198.18.0.1", SG_BAN_FLEET_CROWDSEC); /* deleted at the LAPI meanwhile */
	put("198.18.0.2", SG_BAN_FLEET_CSCLI);	  /* still a decision */
	put("198.18.0.3", SG_BAN_MANUAL);	  /* a human's */
	put("198.18.1.0/24", SG_BAN_FLEET_OTHER); /* deleted at the LAPI meanwhile */

	snprintf(d.value, sizeof(d.value), "198.18.0.2");
	d.key = key_of("198.18.0.2");
	assert_int_equal(sg_bouncer_init(&b, NULL, NULL), 0);
	sg_bouncer_apply(&b, &c, NULL, &d, 1, NULL, 0, 1, 1, sg_boot_ns());

	assert_int_equal(reason("198.18.0.1"), -1);
	assert_int_equal(reason("198.18.0.2"), SG_BAN_FLEET_CSCLI);
	assert_int_equal(reason("198.18.0.3"), SG_BAN_MANUAL);
	assert_int_equal(reason("198.18.1.0/24"), -1);
	assert_int_equal(b.n.lifted[SG_SCOPE_IP], 1);
	assert_int_equal(b.n.lifted[SG_SCOPE_RANGE], 1);
	assert_int_equal(b.n.active[SG_SCOPE_IP], 1);
	assert_bits_fresh();

	/* The deltas after it lift nothing. */
	sg_bouncer_apply(&b, &c, NULL, NULL, 0, NULL, 0, 0, 1, sg_boot_ns());
	assert_int_equal(reason("198.18.0.2"), SG_BAN_FLEET_CSCLI);
	sg_bouncer_free(&b);
}

/* A decision deleted at the LAPI: its ban lifted at the pull that says so. */
static void test_deleted_decision_lifts(void **state)
{
	static struct sg_config c;
	struct sg_lapi_decision d = { .id = 8,
				      .scope = SG_SCOPE_RANGE,
				      .origin = SG_ORIGIN_CROWDSEC,
				      .ban = 1,
				      .remaining_ns = 1800 * SG_NS_PER_SEC,
				      .value = "198.18.2.0/24" };
	struct sg_bouncer b;

	sg_config_default(&c);
	d.key = key_of("198.18.2.0/24");
	assert_int_equal(sg_bouncer_init(&b, NULL, NULL), 0);
	sg_bouncer_apply(&b, &c, NULL, &d, 1, NULL, 0, 1, 1, sg_boot_ns());
	assert_int_equal(reason("198.18.2.0/24"), SG_BAN_FLEET_CROWDSEC);
	assert_bits_fresh();

	sg_bouncer_apply(&b, &c, NULL, NULL, 0, &d, 1, 0, 1, sg_boot_ns());
	assert_int_equal(reason("198.18.2.0/24"), -1);
	assert_int_equal(b.n.lifted[SG_SCOPE_RANGE], 1);
	assert_bits_fresh();
	sg_bouncer_free(&b);
}

/* A human's unban (the CLI's): the exact prefix, its bits rebuilt at once. */
static void test_unban_lifts(void **state)
{
	struct sg_ban_key k = key_of("198.18.3.0/24");
	int bits_err = -1;

	put("198.18.3.0/24", SG_BAN_MANUAL);
	assert_int_equal(sg_ban_lift(bans_fd, &k, &bits_err), 0);
	assert_int_equal(bits_err, 0);
	assert_int_equal(reason("198.18.3.0/24"), -1);
	assert_bits_fresh();
	assert_int_equal(sg_ban_lift(bans_fd, &k, &bits_err), -ENOENT);
}

/* A containment's release lifts the bans of its client addresses. */
static void test_release_lifts(void **state)
{
	static struct sg_config c;
	const char *ips[] = { "198.18.5.7" };
	struct sg_contain_req req = {
		.principal = "sasl:lift@example.com", .rule = "rate", .ips = ips, .n_ips = 1
	};
	char dir[] = "/tmp/sg-test-lift.XXXXXX", err[512];

	assert_non_null(mkdtemp(dir));
	sg_config_default(&c);
	c.mta.ban_ns = 3600 * SG_NS_PER_SEC;
	snprintf(c.mta.contained_path, sizeof(c.mta.contained_path), "%s/contained.json", dir);
	assert_int_equal(sg_contain(&c, SG_MTA_NONE, &req, NULL, err, sizeof(err)), 0);
	assert_int_equal(reason("198.18.5.7"), SG_BAN_CONTAIN);
	assert_int_equal(sg_release_principal(&c, req.principal, 1000, NULL, err, sizeof(err)), 0);
	assert_int_equal(reason("198.18.5.7"), -1);
	assert_bits_fresh();
	unlink(c.mta.contained_path);
	rmdir(dir);
}

/* The sweep's expired bans: its first pass rebuilds (later ones at most once a minute). */
static void test_sweep_lifts(void **state)
{
	char dir[] = "/tmp/sg-test-sweep.XXXXXX";
	struct sg_census census = { 0 };
	struct sg_audit_cfg audit = { 0 };
	struct sg_ban_key k = key_of("198.18.4.0/24");
	int i;

	assert_non_null(mkdtemp(dir));
	snprintf(audit.path, sizeof(audit.path), "%s/audit.log", dir);
	/* For a nanosecond: expired by the time the sweep looks. */
	assert_int_equal(sg_ban_put(bans_fd, &k, 1, SG_BAN_AUTH_FAILURES, NULL, NULL), 0);
	for (i = 0; i < 4 && reason("198.18.4.0/24") >= 0; i++)
		sg_sweep_bans(&audit, sg_boot_ns(), &census);
	assert_int_equal(reason("198.18.4.0/24"), -1);
	assert_bits_fresh();
	unlink(audit.path);
	rmdir(dir);
}

static int group_setup(void **state)
{
	int err = pkt_env_open(&env);

	if (err) {
		print_error("loading the programs: %s\n", strerror(-err));
		return -1;
	}
	bans_fd = bpf_map__fd(env.ingress->maps.sg_bans);
	return 0;
}

static int group_teardown(void **state)
{
	return pkt_env_close(&env) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startup_lifts_orphans),
		cmocka_unit_test(test_deleted_decision_lifts),
		cmocka_unit_test(test_unban_lifts),
		cmocka_unit_test(test_release_lifts),
		cmocka_unit_test(test_sweep_lifts),
	};

	return cmocka_run_group_tests_name("bpf_fleetbans", tests, group_setup, group_teardown);
}
