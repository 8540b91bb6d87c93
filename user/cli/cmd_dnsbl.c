// SPDX-License-Identifier: GPL-2.0
/* check-dnsbl: whether this host's outbound addresses are on DNS blocklists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "mail/dnsbl.h"

struct tally {
	int listed, clean, failed;
};

static void check_one(const struct sg_dnsbl_addr *a, const char *zone, struct tally *t)
{
	struct sg_dnsbl_answer ans;
	int err = sg_dnsbl_lookup(a, zone, &ans);

	if (err) {
		ans.status = SG_DNSBL_FAILED;
		snprintf(ans.detail, sizeof(ans.detail), "%s", strerror(-err));
	}
	switch (ans.status) {
	case SG_DNSBL_LISTED:
		printf("%s %s listed (%s)\n", a->text, zone, ans.detail);
		t->listed++;
		break;
	case SG_DNSBL_NOT_LISTED:
		printf("%s %s not listed\n", a->text, zone);
		t->clean++;
		break;
	case SG_DNSBL_FAILED:
		printf("%s %s lookup failed (%s)\n", a->text, zone, ans.detail);
		t->failed++;
		break;
	}
	/* A line as soon as its lookup ends: a zone that times out must not hide the others. */
	fflush(stdout);
}

/* The host's global addresses, all of them; 0 with *out and *n set, or an exit status. */
static int host_addrs(struct sg_dnsbl_addr **out, int *n)
{
	int want = sg_dnsbl_host_addrs(NULL, 0);

	if (want < 0)
		return sg_fail("listing this host's addresses: %s", strerror(-want));
	if (!want)
		return sg_fail("this host has no global address: give ADDRESS or set [dnsbl] "
			       "addresses");
	*out = calloc((size_t)want, sizeof(**out));
	if (!*out)
		return sg_fail("%s", strerror(ENOMEM));
	*n = sg_dnsbl_host_addrs(*out, want);
	if (*n < 0) {
		free(*out);
		*out = NULL;
		return sg_fail("listing this host's addresses: %s", strerror(-*n));
	}
	/* An address that came between the two calls waits for the next run. */
	if (*n > want)
		*n = want;
	return 0;
}

/* ADDRESS arguments; 0 with *out set (NULL for none), or an exit status. */
static int arg_addrs(const struct sg_command *cmd, char **args, int n, struct sg_dnsbl_addr **out)
{
	int i;

	*out = NULL;
	if (!n)
		return 0;
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out)
		return sg_fail("%s", strerror(ENOMEM));
	for (i = 0; i < n; i++) {
		if (sg_dnsbl_addr_parse(args[i], &(*out)[i])) {
			free(*out);
			*out = NULL;
			return sg_usage_error(
				cmd, "bad address '%s': not a numeric IPv4 or IPv6 address",
				args[i]);
		}
	}
	return 0;
}

/* [dnsbl] zones: 0 with zones and *n set, or an exit status. */
static int config_zones(const struct sg_command *cmd, const struct sg_config *c, const char **zones,
			int *n)
{
	const char *why;

	for (*n = 0; *n < c->dnsbl.n_zones; ++*n) {
		zones[*n] = c->dnsbl.zones[*n];
		if (sg_dnsbl_zone_check(zones[*n], &why))
			return sg_fail("[dnsbl] zones: bad zone '%s': %s", zones[*n], why);
	}
	if (!*n)
		return sg_usage_error(cmd,
				      "no zone to look up in: set [dnsbl] zones or give --zone");
	return 0;
}

/* [dnsbl] addresses, else the host's: 0 with *out and *n set, or an exit status. */
static int config_addrs(const struct sg_config *c, struct sg_dnsbl_addr **out, int *n)
{
	int i;

	if (!c->dnsbl.n_addresses)
		return host_addrs(out, n);
	*out = calloc((size_t)c->dnsbl.n_addresses, sizeof(**out));
	if (!*out)
		return sg_fail("%s", strerror(ENOMEM));
	for (i = 0; i < c->dnsbl.n_addresses; i++) {
		if (sg_dnsbl_addr_parse(c->dnsbl.addresses[i], &(*out)[i])) {
			free(*out);
			*out = NULL;
			return sg_fail("[dnsbl] addresses: bad address '%s'",
				       c->dnsbl.addresses[i]);
		}
	}
	*n = i;
	return 0;
}

/* Each address in each zone, a line each, then the summary: the exit status. */
static int lookup_all(const struct sg_dnsbl_addr *addrs, int n_addrs, const char *const *zones,
		      int n_zones)
{
	struct tally t = { 0 };
	int i, j;

	for (i = 0; i < n_addrs; i++)
		for (j = 0; j < n_zones; j++)
			check_one(&addrs[i], zones[j], &t);
	printf("%d lookup%s: %d listed, %d not listed, %d failed\n", t.listed + t.clean + t.failed,
	       t.listed + t.clean + t.failed == 1 ? "" : "s", t.listed, t.clean, t.failed);
	return t.listed || t.failed ? SG_EXIT_FAIL : SG_EXIT_OK;
}

struct dnsbl_opts {
	struct sg_opt_list zones;
};

static const struct sg_option dnsbl_options[] = {
	{ "zone", 'z', SG_LIST(struct dnsbl_opts, zones), .label = "zone", .max = SG_MAX_ZONES,
	  .too_many = "more than " SG_STR(SG_MAX_ZONES) " zones", .check = sg_dnsbl_zone_check },
	{},
};

static int run_check_dnsbl(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct dnsbl_opts *o = opts;
	const char *const *zones = (const char *const *)o->zones.v;
	const char *configured[SG_MAX_ZONES];
	int n_zones = o->zones.n, n_addrs = n_args, status;
	struct sg_dnsbl_addr *addrs;
	struct sg_config *c = NULL;

	status = arg_addrs(cmd, args, n_args, &addrs);
	if (status)
		return status;
	/* The config only for what the arguments leave out: its warnings are noise otherwise. */
	if (!n_zones || !n_addrs) {
		c = malloc(sizeof(*c));
		if (!c) {
			free(addrs);
			return sg_fail("%s", strerror(ENOMEM));
		}
		sg_config_cli(c);
	}
	if (!n_zones) {
		status = config_zones(cmd, c, configured, &n_zones);
		zones = configured;
	}
	if (!status && !n_addrs)
		status = config_addrs(c, &addrs, &n_addrs);
	if (!status)
		status = lookup_all(addrs, n_addrs, zones, n_zones);
	free(addrs);
	free(c);
	return status;
}

const struct sg_command sg_cmd_check_dnsbl = {
	.name = "check-dnsbl",
	.summary = "whether this host's addresses are on DNS blocklists",
	.usage = "usage: smtpguard check-dnsbl [--zone ZONE]... [ADDRESS...]\n"
		 "  Looks each ADDRESS up in each blocklist ZONE (RFC 5782) through the\n"
		 "  system resolver (/etc/resolv.conf). Without ADDRESS: [dnsbl] addresses,\n"
		 "  else this host's global addresses; without --zone: [dnsbl] zones\n"
		 "  (zen.spamhaus.org, bl.spamcop.net, ...). One line per address and zone:\n"
		 "  \"listed (127.0.0.2)\", \"not listed\" or \"lookup failed (REASON)\": a\n"
		 "  timeout, SERVFAIL, REFUSED, an answer outside 127.0.0.0/8, or a list's\n"
		 "  refusal (Spamhaus answers 127.255.255.254 to public resolvers). Then a\n"
		 "  summary. Exit status 0 when nothing is listed and every lookup\n"
		 "  answered, 1 when an address is listed or a lookup failed, 2 on bad\n"
		 "  usage or when no zone is set.\n",
	.options = dnsbl_options,
	.opts_size = sizeof(struct dnsbl_opts),
	.max_args = -1,
	.run = run_check_dnsbl,
};
