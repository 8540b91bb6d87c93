// SPDX-License-Identifier: GPL-2.0
/*
 * The pusher's own checks, without a LAPI: the password file refused when
 * others may read it, and the queue bounded, what it cannot take counted.
 * The URL is a loopback port nothing listens on: every post really fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "daemon/fleetpush.h"
#include "util/parse.h"
#include "sg_bucket.h"

static char dir[] = "/tmp/sg-fleetpush-XXXXXX";

static void settings(struct sg_crowdsec_cfg *c, const char *password_file)
{
	memset(c, 0, sizeof(*c));
	/* Port 9 (discard) on loopback: refused at once. */
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:9");
	snprintf(c->machine_id, sizeof(c->machine_id), "test");
	snprintf(c->password_file, sizeof(c->password_file), "%s/%s", dir, password_file);
	c->hold_ns = 3600 * SG_NS_PER_SEC;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* The value of one series in the pusher's metrics, or -1. */
static long long series(const char *name)
{
	char *buf = NULL, line[256];
	size_t len = 0;
	long long v = -1;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(sg_fleetpush_render(f), 0);
	fclose(f);
	f = fmemopen(buf, len, "r");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name)) && line[strlen(name)] == ' ')
			v = atoll(line + strlen(name) + 1);
	fclose(f);
	free(buf);
	return v;
}

static void test_password_file(void **state)
{
	struct sg_crowdsec_cfg c;
	char why[512];

	write_file("open.pass", "secret\n", 0644);
	settings(&c, "open.pass");
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "open.pass is owned by UID 0 with mode 0644"));
	write_file("group.pass", "secret\n", 0640);
	settings(&c, "group.pass");
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), -EPERM);
	write_file("empty.pass", "\n", 0600);
	settings(&c, "empty.pass");
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), -EINVAL);
	settings(&c, "missing.pass");
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), -ENOENT);
	settings(&c, ".");
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), -EINVAL);
	/* Refused, nothing applied: a ban is not queued. */
	sg_fleetpush_ban("syn_rate", &(struct sg_ban_key){ .prefixlen = 128 }, SG_NS_PER_SEC, NULL);
	assert_int_equal(series("smtpguard_crowdsec_push_queue"), 0);
}

static void test_queue_full(void **state)
{
	struct sg_crowdsec_cfg c;
	char why[512];
	struct sg_ban_key key;
	const char *bad;
	int i;

	write_file("ok.pass", "secret\n", 0600);
	settings(&c, "ok.pass");
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), 0);
	assert_int_equal(sg_parse_cidr("198.51.100.7", &key, &bad), 0);
	for (i = 0; i < SG_FLEETPUSH_QUEUE + 5; i++)
		sg_fleetpush_ban("syn_rate", &key, 600 * SG_NS_PER_SEC, NULL);
	assert_int_equal(series("smtpguard_crowdsec_push_queue"), SG_FLEETPUSH_QUEUE);
	assert_int_equal(series("smtpguard_crowdsec_alerts_dropped_total{reason=\"full\"}"), 5);
	assert_int_equal(series("smtpguard_crowdsec_alerts_pushed_total"), 0);
	/*
	 * The queue full, every alert offered is counted: a local UID is no
	 * account of the fleet's, and offers none; a mail account one.
	 */
	sg_fleetpush_contain("local:1001", "rate", NULL, NULL);
	assert_int_equal(series("smtpguard_crowdsec_alerts_dropped_total{reason=\"full\"}"), 5);
	sg_fleetpush_contain("sasl:bob@example.org", "rate", NULL, NULL);
	assert_int_equal(series("smtpguard_crowdsec_alerts_dropped_total{reason=\"full\"}"), 6);
	/* The fleet's own hold, applied here, is not pushed back. */
	sg_fleetpush_contain("sasl:bob@example.org", SG_FLEET_RULE, NULL, NULL);
	assert_int_equal(series("smtpguard_crowdsec_alerts_dropped_total{reason=\"full\"}"), 6);
	/* Pushing turned off: what waited is dropped. */
	c.url[0] = 0;
	assert_int_equal(sg_fleetpush_apply(&c, why, sizeof(why)), 0);
	assert_int_equal(series("smtpguard_crowdsec_push_queue"), 0);
	sg_fleetpush_stop();
}

static int cleanup(void **state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_queue_full),
	};

	if (!mkdtemp(dir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
