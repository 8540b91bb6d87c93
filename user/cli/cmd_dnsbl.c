// SPDX-License-Identifier: GPL-2.0
/* check-dnsbl: whether this host's outbound addresses are on DNS blocklists. */
#include <errno.h>
#include <getopt.h>
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
		return sg_fail("listing this host's addresses: %s", strerror(-*n));
	}
	/* An address that came between the two calls waits for the next run. */
	if (*n > want)
		*n = want;
	return 0;
}

static int run_check_dnsbl(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "zone", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *zones[SG_MAX_ZONES], *why;
	struct sg_dnsbl_addr *addrs = NULL;
	struct sg_config *c = NULL;
	int n_zones = 0, n_addrs = 0, ch, i, j, status;
	struct tally t = { 0 };

	while ((ch = getopt_long(argc, argv, "z:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'z':
			if (n_zones == SG_MAX_ZONES)
				return sg_usage_error(&sg_cmd_check_dnsbl, "more than %d zones",
						      SG_MAX_ZONES);
			if (sg_dnsbl_zone_check(optarg, &why))
				return sg_usage_error(&sg_cmd_check_dnsbl, "bad zone '%s': %s",
						      optarg, why);
			zones[n_zones++] = optarg;
			break;
		case 'h':
			fputs(sg_cmd_check_dnsbl.usage, stdout);
			return SG_EXIT_OK;
		default:
			return sg_bad_option(&sg_cmd_check_dnsbl, argv);
		}
	}
	if (optind < argc) {
		addrs = calloc((size_t)(argc - optind), sizeof(*addrs));
		if (!addrs)
			return sg_fail("%s", strerror(ENOMEM));
	}
	for (i = optind; i < argc; i++) {
		if (sg_dnsbl_addr_parse(argv[i], &addrs[n_addrs++])) {
			free(addrs);
			return sg_usage_error(
				&sg_cmd_check_dnsbl,
				"bad address '%s': not a numeric IPv4 or IPv6 address", argv[i]);
		}
	}
	/* The config only for what the arguments leave out: its warnings are noise otherwise. */
	if (!n_zones || !n_addrs) {
		c = malloc(sizeof(*c));
		if (!c) {
			free(addrs);
			return sg_fail("%s", strerror(ENOMEM));
		}
		sg_config_cli(c);
	}
	status = SG_EXIT_OK;
	for (i = 0; !n_zones && i < c->dnsbl.n_zones; i++) {
		if (sg_dnsbl_zone_check(c->dnsbl.zones[i], &why)) {
			status =
				sg_fail("[dnsbl] zones: bad zone '%s': %s", c->dnsbl.zones[i], why);
			goto out;
		}
	}
	if (!n_zones && !c->dnsbl.n_zones) {
		status = sg_usage_error(&sg_cmd_check_dnsbl,
					"no zone to look up in: set [dnsbl] zones or give --zone");
		goto out;
	}
	if (!n_addrs && c->dnsbl.n_addresses) {
		addrs = calloc((size_t)c->dnsbl.n_addresses, sizeof(*addrs));
		if (!addrs) {
			status = sg_fail("%s", strerror(ENOMEM));
			goto out;
		}
		for (i = 0; i < c->dnsbl.n_addresses; i++) {
			if (sg_dnsbl_addr_parse(c->dnsbl.addresses[i], &addrs[n_addrs++])) {
				status = sg_fail("[dnsbl] addresses: bad address '%s'",
						 c->dnsbl.addresses[i]);
				goto out;
			}
		}
	} else if (!n_addrs) {
		status = host_addrs(&addrs, &n_addrs);
		if (status)
			goto out;
	}
	for (i = 0; i < n_addrs; i++)
		for (j = 0; j < (n_zones ? n_zones : c->dnsbl.n_zones); j++)
			check_one(&addrs[i], n_zones ? zones[j] : c->dnsbl.zones[j], &t);
	printf("%d lookup%s: %d listed, %d not listed, %d failed\n", t.listed + t.clean + t.failed,
	       t.listed + t.clean + t.failed == 1 ? "" : "s", t.listed, t.clean, t.failed);
	status = t.listed || t.failed ? SG_EXIT_FAIL : SG_EXIT_OK;
out:
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
	.run = run_check_dnsbl,
};
