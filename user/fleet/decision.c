// SPDX-License-Identifier: GPL-2.0
/* The LAPI's decisions, checked: see decision.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleet/decision.h"
#include "util/parse.h"
#include "util/render.h"

const char *const sg_decision_scope_names[SG_SCOPE__MAX] = { SG_DECISION_SCOPE_LIST(SG_ENUM_NAME) };
const char *const sg_decision_origin_names[SG_ORIGIN__MAX] = { SG_DECISION_ORIGIN_LIST(
	SG_ENUM_NAME) };

#define GO_DURATION_MAX (100LL * 365 * 24 * 3600 * 1000000000LL)

/* The unit at s (longest first: "ms" before "m"), its length into *len; 0 when none. */
static __s64 unit_ns(const char *s, size_t *len)
{
	static const struct {
		const char *name;
		__s64 ns;
	} units[] = { { "ns", 1 },	  { "us", 1000 },	    { "\xc2\xb5s", 1000 },
		      { "ms", 1000000 },  { "h", 3600000000000LL }, { "m", 60000000000LL },
		      { "s", 1000000000 } };
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		*len = strlen(units[i].name);
		if (!strncmp(s, units[i].name, *len))
			return units[i].ns;
	}
	return 0;
}

int sg_go_duration(const char *s, __s64 *ns)
{
	int neg = *s == '-';
	double total = 0;
	char num[32];
	size_t n, len;
	__s64 unit;

	s += neg || *s == '+';
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		/* Digits and a point only: strtod alone would take "1e3", "inf" or hex. */
		n = strspn(s, "0123456789.");
		if (!n || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n);
		num[n] = '\0';
		unit = unit_ns(s + n, &len);
		if (!unit)
			return -EINVAL;
		total += strtod(num, NULL) * (double)unit;
		if (total > (double)GO_DURATION_MAX)
			return -EINVAL;
		s += n + len;
	}
	*ns = (__s64)total * (neg ? -1 : 1);
	return 0;
}

static const char *field(const json_t *j, const char *name)
{
	return json_string_value(json_object_get(j, name));
}

static enum sg_decision_origin origin_of(const char *o)
{
	if (o && !strcmp(o, "cscli"))
		return SG_ORIGIN_CSCLI;
	if (o && !strcmp(o, "crowdsec"))
		return SG_ORIGIN_CROWDSEC;
	return SG_ORIGIN_OTHER;
}

/* The value for its scope: an address or range into d->key, or an account. */
static int value_of(struct sg_lapi_decision *d, const char *scope, const char *type, char *why,
		    size_t whylen)
{
	char shown[72], /* the value as a log line may show it */
		raw[SG_DECISION_VALUE_MAX];
	const char *err = NULL;
	int bad;

	if (!strcasecmp(scope, "ip") || !strcasecmp(scope, "range")) {
		d->scope = !strcasecmp(scope, "ip") ? SG_SCOPE_IP : SG_SCOPE_RANGE;
		if (strcmp(type, "ban"))
			return -ENOTSUP;
		d->ban = 1;
		if (!sg_parse_cidr(d->value, &d->key, &err)) {
			if (d->scope == SG_SCOPE_RANGE || d->key.prefixlen == 128)
				return 0;
			err = "not one address";
		}
		snprintf(why, whylen, "%s '%s': %s", scope,
			 sg_printable(d->value, shown, sizeof(shown)), err);
		return -EINVAL;
	}
	if (strcmp(scope, SG_SCOPE_ACCOUNT))
		return -ENOTSUP;
	d->scope = SG_SCOPE_MAIL_ACCOUNT;
	if (strcmp(type, "hold"))
		return -ENOTSUP;
	/*
	 * An account is a login's escape (core/alert.h), unescaped where it is
	 * held: no spaces, controls or quotes, and a backslash only as an escape.
	 */
	bad = sg_unescape_id(d->value, raw, sizeof(raw)) == -EINVAL;
	for (err = d->value; !bad && *err; err++)
		bad = (unsigned char)*err <= ' ' || *err == '"' || *err == 0x7f;
	if (bad) {
		snprintf(why, whylen, "account '%s': a character no login has",
			 sg_printable(d->value, shown, sizeof(shown)));
		return -EINVAL;
	}
	return 0;
}

int sg_lapi_decision_parse(const json_t *j, struct sg_lapi_decision *d, char *why, size_t whylen)
{
	const char *scope = field(j, "scope"), *type = field(j, "type"), *value = field(j, "value"),
		   *dur = field(j, "duration"), *scenario = field(j, "scenario");
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	char shown[40];

	memset(d, 0, sizeof(*d));
	if (!json_is_object(j) || !scope || !type || !value || !dur || id <= 0) {
		snprintf(why, whylen, "a decision without id, scope, type, value or duration");
		return -EINVAL;
	}
	d->id = (__u64)id;
	if (!*value || strlen(value) >= sizeof(d->value)) {
		snprintf(why, whylen, "decision %llu: a value empty or over %zu bytes",
			 (unsigned long long)d->id, sizeof(d->value) - 1);
		return -EINVAL;
	}
	strcpy(d->value, value);
	snprintf(d->scenario, sizeof(d->scenario), "%s", scenario ? scenario : "");
	d->origin = origin_of(field(j, "origin"));
	if (sg_go_duration(dur, &d->remaining_ns)) {
		snprintf(why, whylen, "decision %llu: bad duration '%s'", (unsigned long long)d->id,
			 sg_printable(dur, shown, sizeof(shown)));
		return -EINVAL;
	}
	return value_of(d, scope, type, why, whylen);
}
