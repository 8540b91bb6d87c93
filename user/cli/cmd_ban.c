// SPDX-License-Identifier: GPL-2.0
/* ban, unban and bans: source prefixes XDP drops on arrival, audited, and their list. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "host/audit.h"
#include "host/ownaddr.h"
#include "cli/cli.h"
#include "kern/maps.h"
#include "util/parse.h"
#include "util/render.h"
#include "smtpguard.h"
#include "kern/state.h"

struct ban_args {
	const char *cidr; /* as given */
	struct sg_ban_key key;
	/* As stored, for the audit: a ban and its unban match however each was typed. */
	char prefix[INET6_ADDRSTRLEN + 8];
	const char *reason; /* NULL: not given */
	__u64 for_ns;	    /* 0: no expiry */
	int force;	    /* ban it even if it cuts the operator off */
};

static const struct sg_option ban_options[] = {
	{ "for", 'f', SG_DURATION(struct ban_args, for_ns), .label = "duration" },
	{ "reason", 0, SG_STRING(struct ban_args, reason) },
	{ "force", 0, SG_FLAG(struct ban_args, force) },
	{},
};

static const struct sg_option unban_options[] = {
	{ "for", 0, SG_REFUSED, .label = "duration", .why = "takes none" },
	{ "reason", 0, SG_STRING(struct ban_args, reason) },
	{},
};

/* The CIDR, a usage error when it is not one. */
static int prepare_ban(const struct sg_command *cmd, void *opts, char **args, int n_args,
		       unsigned *needs)
{
	struct ban_args *a = opts;
	const char *why;

	a->cidr = args[0];
	if (sg_parse_cidr(a->cidr, &a->key, &why))
		return sg_usage_error(cmd, "bad CIDR '%s': %s", a->cidr, why);
	sg_format_cidr(&a->key, a->prefix, sizeof(a->prefix));
	return 0;
}

/* After the change is made: its failure is a warning, never the command's. */
static void audit(const struct sg_command *cmd, const struct ban_args *a, json_t *params,
		  __u64 expires_ns)
{
	struct sg_audit_entry e = {
		.action = cmd->name,
		.target = a->prefix,
		.params = params,
		.reason = a->reason,
		.expires_ns = expires_ns,
	};

	sg_audit_cli(&e);
	json_decref(params);
}

static int run_ban(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	/* Static: some 90 KiB of paths. */
	static struct sg_config c;
	const struct ban_args *a = opts;
	char dur[32], what[INET6_ADDRSTRLEN + 64], why[96];
	int fd, err, renewed;
	__u64 expires_ns;
	json_t *params;

	/* The allow lists are the config's: the operator's networks, as the daemon knows them. */
	sg_config_cli(&c);
	if (!a->force && sg_ban_covers_own(&c, &a->key, what, sizeof(what)))
		return sg_fail("not banning %s: it covers %s, and would cut this host off from it "
			       "(--force bans it all the same)",
			       a->prefix, what);
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	err = sg_ban_put(fd, &a->key, a->for_ns, SG_BAN_MANUAL, &renewed, &expires_ns);
	if (err)
		sg_map_write_error(fd, err, why, sizeof(why));
	close(fd);
	if (err)
		return sg_fail("banning %s: %s", a->cidr, why);
	printf("banned %s", a->cidr);
	if (a->for_ns)
		printf(" for %s", sg_format_duration(a->for_ns, dur, sizeof(dur)));
	printf("\n");
	params = json_pack("{s:s, s:b}", "cidr", a->prefix, "renewed", renewed);
	/* The audit says when a human overrode the check. */
	if (params && a->force && sg_ban_covers_own(&c, &a->key, what, sizeof(what)))
		json_object_set_new(params, "forced", json_string(what));
	audit(cmd, a, params, expires_ns);
	return SG_EXIT_OK;
}

static int run_unban(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct ban_args *a = opts;
	int fd, err, bits_err;

	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	err = sg_ban_lift(fd, &a->key, &bits_err);
	close(fd);
	if (err == -ENOENT)
		return sg_fail("%s is not banned (unban takes the exact prefix that was banned)",
			       a->cidr);
	if (err)
		return sg_fail("unbanning %s: %s", a->cidr, strerror(-err));
	/* Left, its bits would cost only the trie lookups they let through. */
	if (bits_err)
		sg_warn("unbanned %s, but its addresses still go through the ban list: %s", a->cidr,
			strerror(-bits_err));
	printf("unbanned %s\n", a->cidr);
	audit(cmd, a, NULL, 0);
	return SG_EXIT_OK;
}

struct bans_args {
	int json;
};

static const struct sg_option bans_options[] = {
	{ "json", 0, SG_FLAG(struct bans_args, json) },
	{},
};

struct bans_list {
	json_t *rows;
	__u64 now; /* CLOCK_BOOTTIME */
};

/* A ban in force (an expired one stays until the daemon sweeps it) as a row. */
static int bans_add(const void *key, const void *value, void *ctx)
{
	const struct sg_ban *b = value;
	struct bans_list *l = ctx;
	char cidr[INET6_ADDRSTRLEN + 8];

	if (b->expires_ns && b->expires_ns <= l->now)
		return 0;
	return json_array_append_new(
		       l->rows,
		       json_pack("{s:s, s:s, s:o, s:I}", "prefix",
				 sg_format_cidr(key, cidr, sizeof(cidr)), "reason",
				 sg_ban_reason_name(b->reason), "expires_in_s",
				 b->expires_ns
					 ? json_integer((json_int_t)((b->expires_ns - l->now) /
								     1000000000ull))
					 : json_null(),
				 "drops", (json_int_t)b->drops))
		       ? -ENOMEM
		       : 0;
}

static void bans_print(const json_t *rows)
{
	char dur[32];
	const json_t *r, *in;
	size_t i;

	printf("%-43s %-14s %-12s %s\n", "PREFIX", "REASON", "EXPIRES_IN", "DROPS");
	json_array_foreach(rows, i, r)
	{
		in = json_object_get(r, "expires_in_s");
		printf("%-43s %-14s %-12s %" JSON_INTEGER_FORMAT "\n",
		       json_string_value(json_object_get(r, "prefix")),
		       json_string_value(json_object_get(r, "reason")),
		       json_is_null(in)
			       ? "never"
			       : sg_format_duration((__u64)json_integer_value(in) * 1000000000ull,
						    dur, sizeof(dur)),
		       json_integer_value(json_object_get(r, "drops")));
	}
	if (!json_array_size(rows))
		printf("(no ban in force)\n");
}

static int run_bans(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct bans_args *a = opts;
	struct bans_list l = { .rows = json_array(), .now = sg_boot_ns() };
	int fd, err;

	if (!l.rows)
		return sg_fail("%s", strerror(ENOMEM));
	fd = sg_pin_open(SG_MAP_BANS);
	if (fd < 0) {
		json_decref(l.rows);
		return sg_fail("%s: %s", SG_MAP_BANS, strerror(-fd));
	}
	err = sg_map_for_each(fd, bans_add, &l);
	close(fd);
	if (err) {
		json_decref(l.rows);
		return sg_fail("reading %s: %s", SG_MAP_BANS, strerror(-err));
	}
	if (a->json)
		sg_json_print(stdout, l.rows);
	else
		bans_print(l.rows);
	json_decref(l.rows);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_ban = {
	.name = "ban",
	.summary = "drop all packets from an address or prefix at XDP",
	.usage = "usage: smtpguard ban CIDR [--for DURATION] [--reason TEXT] [--force]\n"
		 "  CIDR: 198.51.100.7, 198.51.100.0/24, 2001:db8::/48. Packets from it are\n"
		 "  dropped on arrival on the attached interfaces until 'smtpguard unban' or\n"
		 "  the end of DURATION (90s, 15m, 2h, 1d, 1h30m). A prefix that covers\n"
		 "  loopback, an address of this host, the default route's gateway, every\n"
		 "  IPv4 address (::ffff:0:0/96) or a network of [bruteforce] allow or\n"
		 "  [campaign] webmail is refused without --force.\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.options = ban_options,
	.opts_size = sizeof(struct ban_args),
	.min_args = 1,
	.max_args = 1,
	.args = "one CIDR",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.prepare = prepare_ban,
	.run = run_ban,
};

const struct sg_command sg_cmd_unban = {
	.name = "unban",
	.summary = "lift a ban",
	.usage = "usage: smtpguard unban CIDR [--reason TEXT]\n"
		 "  Removes the ban on exactly this prefix.\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.options = unban_options,
	.opts_size = sizeof(struct ban_args),
	.min_args = 1,
	.max_args = 1,
	.args = "one CIDR",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.prepare = prepare_ban,
	.run = run_unban,
};

const struct sg_command sg_cmd_bans = {
	.name = "bans",
	.summary = "list the bans in force",
	.usage = "usage: smtpguard bans [--json]\n"
		 "  One row per banned prefix: why (manual, or the daemon's rule), how long\n"
		 "  it has to run ('never' for a ban until 'smtpguard unban') and the packets\n"
		 "  dropped. Read from the pinned ban list, daemon or not.\n"
		 "  --json: an array of the rows.\n",
	.options = bans_options,
	.opts_size = sizeof(struct bans_args),
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.run = run_bans,
};
