// SPDX-License-Identifier: GPL-2.0
/* The alerts pushed to a CrowdSec LAPI: scopes, evidence, durations, a client's bytes escaped. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/alert.h"
#include "core/mailrec.h"
#include "util/parse.h"

#define T0 1795440000

static struct sg_ban_key key_of(const char *cidr)
{
	struct sg_ban_key key;
	const char *why;

	assert_int_equal(sg_parse_cidr(cidr, &key, &why), 0);
	return key;
}

/* The value of key in the first event's meta, or NULL. */
static const char *meta(json_t *alert, const char *key)
{
	json_t *m = json_object_get(json_array_get(json_object_get(alert, "events"), 0), "meta"),
	       *v;
	size_t i;

	json_array_foreach(
		m, i, v) if (!strcmp(json_string_value(json_object_get(v, "key")),
				     key)) return json_string_value(json_object_get(v, "value"));
	return NULL;
}

static json_t *decision(json_t *alert)
{
	return json_array_get(json_object_get(alert, "decisions"), 0);
}

static const char *field(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_ban_ip(void **state)
{
	struct sg_ban_key key = key_of("198.51.100.7");
	json_t *ev = json_pack("{s:s, s:I, s:I, s:I, s:s}", "rule", "auth_failures", "value",
			       (json_int_t)12, "limit", (json_int_t)10, "window_seconds",
			       (json_int_t)600, "account", "bob@example.org");
	struct sg_alert a;
	json_t *j;

	assert_int_equal(sg_alert_ban(&a, "auth_failures", &key, 3600, ev, T0), 0);
	j = sg_alert_json(&a, T0 + 60);
	assert_non_null(j);
	assert_string_equal(field(j, "scenario"), "smtpguard/auth_failures");
	assert_int_equal(json_integer_value(json_object_get(j, "events_count")), 12);
	assert_int_equal(json_integer_value(json_object_get(j, "capacity")), 10);
	assert_string_equal(field(j, "start_at"), "2026-11-23T13:20:00Z");
	assert_string_equal(field(json_object_get(j, "source"), "scope"), "Ip");
	assert_string_equal(field(json_object_get(j, "source"), "ip"), "198.51.100.7");
	assert_string_equal(meta(j, "value"), "12");
	assert_string_equal(meta(j, "window_seconds"), "600");
	assert_string_equal(meta(j, "account"), "bob@example.org");
	/* Delivered a minute late: the fleet's ban ends when this server's does. */
	assert_string_equal(field(decision(j), "duration"), "3540s");
	assert_string_equal(field(decision(j), "type"), "ban");
	assert_string_equal(field(decision(j), "scope"), "Ip");
	assert_string_equal(field(decision(j), "value"), "198.51.100.7");
	assert_string_equal(field(decision(j), "origin"), "crowdsec");
	assert_string_equal(field(decision(j), "scenario"), "smtpguard/auth_failures");
	json_decref(j);
	/* Its ban over before it could be delivered: nothing to push. */
	assert_null(sg_alert_json(&a, T0 + 3600));
	sg_alert_free(&a);
	json_decref(ev);
}

static void test_ban_range(void **state)
{
	struct sg_ban_key key = key_of("2001:db8:7:1::/64");
	struct sg_alert a;
	json_t *j;

	assert_int_equal(sg_alert_ban(&a, "syn_rate", &key, 600, NULL, T0), 0);
	j = sg_alert_json(&a, T0);
	assert_string_equal(field(decision(j), "scope"), "Range");
	assert_string_equal(field(decision(j), "value"), "2001:db8:7:1::/64");
	assert_string_equal(field(json_object_get(j, "source"), "range"), "2001:db8:7:1::/64");
	assert_string_equal(field(decision(j), "duration"), "600s");
	assert_int_equal(json_integer_value(json_object_get(j, "events_count")), 1);
	json_decref(j);
	sg_alert_free(&a);
}

/* A login is what a client chose: quotes, control bytes, bytes that are not UTF-8. */
static void test_hold_escaped(void **state)
{
	json_t *ev = json_pack("{s:s, s:f, s:f, s:[s]}", "rule", "rate", "value", 120.0, "limit",
			       100.0, "senders", "x@example.org");
	char *text, login[64];
	struct sg_alert a;
	json_t *j;

	assert_int_equal(sg_alert_hold(&a, "rate", "ev\"il\n\xff@example.org", 86400, ev, T0), 0);
	j = sg_alert_json(&a, T0);
	assert_string_equal(field(decision(j), "type"), "hold");
	assert_string_equal(field(decision(j), "scope"), "smtpguard_account");
	assert_string_equal(field(decision(j), "value"), "ev\\x22il\\x0a\\xff@example.org");
	/* Reversible: a bouncer finds the login again (util/render.h). */
	assert_true(sg_unescape_id(field(decision(j), "value"), login, sizeof(login)) > 0);
	assert_string_equal(login, "ev\"il\n\xff@example.org");
	assert_string_equal(field(json_object_get(j, "source"), "value"),
			    "ev\\x22il\\x0a\\xff@example.org");
	assert_null(json_object_get(json_object_get(j, "source"), "ip"));
	assert_string_equal(meta(j, "value"), "120.0");
	assert_string_equal(meta(j, "senders"), "x@example.org");
	assert_int_equal(json_integer_value(json_object_get(j, "capacity")), 100);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_null(strchr(text, '\n'));
	free(text);
	json_decref(j);
	sg_alert_free(&a);
	json_decref(ev);
}

/*
 * A human's release: the DELETE of that account's holds only (scope, value
 * and type each an exact filter), the escaped login percent-encoded, and
 * room for the longest login.
 */
static void test_release_path(void **state)
{
	char path[SG_ALERT_RELEASE_PATH_MAX], login[SG_MTA_LOGIN_MAX + 1];
	struct sg_alert a;

	assert_int_equal(sg_alert_release(&a, "ev\"il&type=ban\xff@example.org", 7200, T0), 0);
	assert_string_equal(a.type, "release");
	assert_int_equal(a.until, T0 + 7200);
	assert_int_equal(sg_alert_release_path(&a, path, sizeof(path)), 0);
	assert_string_equal(path, "/v1/decisions?scopes=smtpguard_account"
				  "&value=ev%5Cx22il%26type%3Dban%5Cxff%40example.org&type=hold");
	assert_int_equal(sg_alert_release_path(&a, path, 40), -ENAMETOOLONG);
	sg_alert_free(&a);

	memset(login, 0x01, sizeof(login) - 1);
	login[sizeof(login) - 1] = '\0';
	assert_int_equal(sg_alert_release(&a, login, 60, T0), 0);
	assert_int_equal(sg_alert_release_path(&a, path, sizeof(path)), 0);
	sg_alert_free(&a);
}

static void test_bad_rule(void **state)
{
	struct sg_ban_key key = key_of("198.51.100.7");
	char rule[80];
	struct sg_alert a;

	memset(rule, 'r', sizeof(rule) - 1);
	rule[sizeof(rule) - 1] = 0;
	assert_int_equal(sg_alert_ban(&a, rule, &key, 60, NULL, T0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_ip),	     cmocka_unit_test(test_ban_range),
		cmocka_unit_test(test_hold_escaped), cmocka_unit_test(test_release_path),
		cmocka_unit_test(test_bad_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
