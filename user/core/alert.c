// SPDX-License-Identifier: GPL-2.0
/* The alerts pushed to a CrowdSec Local API: see alert.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alert.h"

/* One meta value: a number, a boolean, a string, or an array of them joined by commas. */
static json_t *meta_value(const json_t *v)
{
	char buf[1024] = "";
	const json_t *w;
	size_t i, n = 0;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.1f", json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
		break;
	case JSON_STRING:
		return sg_json_text(json_string_value(v));
	case JSON_ARRAY:
		json_array_foreach(v, i, w)
		{
			if (!json_is_string(w) || n >= sizeof(buf))
				continue;
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "," : "",
					      json_string_value(w));
		}
		return sg_json_text(buf);
	default:
		return NULL;
	}
	return json_string(buf);
}

static json_t *meta_of(const json_t *evidence)
{
	json_t *meta = json_array(), *v;
	const char *k;

	if (!meta)
		return NULL;
	json_object_foreach((json_t *)evidence, k, v)
	{
		json_t *s = meta_value(v);

		if (s && json_string_length(s))
			json_array_append_new(meta, json_pack("{s:s, s:o}", "key", k, "value", s));
		else
			json_decref(s);
	}
	return meta;
}

static __u64 number(const json_t *evidence, const char *key)
{
	const json_t *v = json_object_get(evidence, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (__u64)json_integer_value(v);
	return json_is_real(v) && json_real_value(v) > 0 ? (__u64)json_real_value(v) : 0;
}

static int fill(struct sg_alert *a, const char *rule, __u64 for_s, const json_t *evidence,
		time_t now)
{
	if ((size_t)snprintf(a->scenario, sizeof(a->scenario), SG_ALERT_SCENARIO_PREFIX "%s",
			     rule) >= sizeof(a->scenario))
		return -EINVAL;
	a->at = now;
	a->until = now + (time_t)for_s;
	a->count = number(evidence, "value");
	a->limit = number(evidence, "limit");
	a->meta = meta_of(evidence);
	return a->meta ? 0 : -ENOMEM;
}

int sg_alert_ban(struct sg_alert *a, const char *rule, const struct sg_ban_key *key, __u64 for_s,
		 const json_t *evidence, time_t now)
{
	memset(a, 0, sizeof(*a));
	a->type = "ban";
	if (key->prefixlen == 128) {
		a->scope = "Ip";
		sg_format_addr(key->addr, a->value, sizeof(a->value));
	} else {
		a->scope = "Range";
		sg_format_cidr(key, a->value, sizeof(a->value));
	}
	return fill(a, rule, for_s, evidence, now);
}

/* a of type on the mail account login, in the account scope. */
static int on_account(struct sg_alert *a, const char *type, const char *login)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->scope = SG_ALERT_SCOPE_ACCOUNT;
	return sg_escape_id(login, a->value, sizeof(a->value)) < 0 ? -EINVAL : 0;
}

int sg_alert_hold(struct sg_alert *a, const char *rule, const char *login, __u64 for_s,
		  const json_t *evidence, time_t now)
{
	return on_account(a, SG_ALERT_TYPE_HOLD, login) ?: fill(a, rule, for_s, evidence, now);
}

int sg_alert_release(struct sg_alert *a, const char *login, __u64 for_s, time_t now)
{
	if (on_account(a, SG_ALERT_TYPE_RELEASE, login))
		return -EINVAL;
	a->at = now;
	a->until = now + (time_t)for_s;
	return 0;
}

int sg_alert_release_path(const struct sg_alert *a, char *buf, size_t len)
{
	char value[3 * sizeof(a->value)];
	int err = sg_query_escape(a->value, value, sizeof(value));

	/* The delete filters of CrowdSec 1.4.6: scopes, value and type, each an exact match. */
	if (!err && (size_t)snprintf(buf, len, "/v1/decisions?scopes=%s&value=%s&type=%s",
				     SG_ALERT_SCOPE_ACCOUNT, value, SG_ALERT_TYPE_HOLD) >= len)
		err = -ENAMETOOLONG;
	return err;
}

static void rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *sg_alert_json(const struct sg_alert *a, time_t now)
{
	char at[32], left[32], msg[sizeof(a->value) + sizeof(a->scenario) + 64];
	json_t *source;

	if (a->until <= now)
		return NULL;
	rfc3339(a->at, at, sizeof(at));
	snprintf(left, sizeof(left), "%llds", (long long)(a->until - now));
	snprintf(msg, sizeof(msg), "smtpguard: %s %s %s (%s)", a->type, a->scope, a->value,
		 a->scenario);
	source = json_pack("{s:s, s:s}", "scope", a->scope, "value", a->value);
	if (source && strcmp(a->scope, SG_ALERT_SCOPE_ACCOUNT))
		json_object_set_new(source, !strcmp(a->scope, "Ip") ? "ip" : "range",
				    json_string(a->value));
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:s, s:b, s:b, "
			 "s:[{s:s, s:O}], s:o, s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}",
			 "scenario", a->scenario, "scenario_hash", "", "scenario_version", "",
			 "message", msg, "events_count", (json_int_t)(a->count ? a->count : 1),
			 "start_at", at, "stop_at", at, "capacity", (json_int_t)a->limit,
			 "leakspeed", "0s", "simulated", 0, "remediation", 1, "events", "timestamp",
			 at, "meta", a->meta, "source", source, "decisions", "duration", left,
			 "type", a->type, "scope", a->scope, "value", a->value, "origin",
			 "crowdsec", "scenario", a->scenario);
}

void sg_alert_free(struct sg_alert *a)
{
	json_decref(a->meta);
	a->meta = NULL;
}
