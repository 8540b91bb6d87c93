// SPDX-License-Identifier: GPL-2.0
/*
 * The bouncer on a real sg_bans (the programs loaded, their maps pinned in
 * a private bpffs): a startup list lifts the fleet's bans that none of its
 * decisions holds, which were deleted at the LAPI while the daemon was not
 * running (its decisions are in its memory only), and leaves a human's ban
 * and the fleet's bans the list holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "pkt.h"
#include "core/config.h"
#include "fleet/bouncer.h"
#include "kern/maps.h"
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

	/* The deltas after it lift nothing. */
	sg_bouncer_apply(&b, &c, NULL, NULL, 0, NULL, 0, 0, 1, sg_boot_ns());
	assert_int_equal(reason("198.18.0.2"), SG_BAN_FLEET_CSCLI);
	sg_bouncer_free(&b);
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
	};

	return cmocka_run_group_tests_name("bpf_fleetbans", tests, group_setup, group_teardown);
}
