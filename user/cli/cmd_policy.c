// SPDX-License-Identifier: GPL-2.0
/*
 * throttle, block and release: the per-UID policies the connect hooks
 * enforce, audited; and release of a mail account contained through the
 * mail server (contain.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "host/attrib.h"
#include "host/audit.h"
#include "host/conncut.h"
#include "core/config.h"
#include "mail/contain.h"
#include "cli/cli.h"
#include "core/mailstats.h"
#include "kern/maps.h"
#include "kern/policybits.h"
#include "kern/subuids.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "core/decide.h"

struct policy_args {
	const char *reason;	   /* NULL: not given */
	__u64 rate_per_hour;	   /* 0: not given */
	__u32 burst;		   /* 0: not given */
	__u64 for_ns;		   /* 0: no expiry */
	int force;		   /* root's own connections may be limited */
	char id[SG_PRINCIPAL_MAX]; /* release of a mail account: its principal; "": a user's */
};

/* Rows of more than one table. */
#define OPT_REASON "reason", 0, SG_STRING(struct policy_args, reason)
#define OPT_FOR	   "for", 'f', SG_DURATION(struct policy_args, for_ns), .label = "duration"
#define OPT_FORCE  "force", 0, SG_FLAG(struct policy_args, force)
/* Another command's options: refused rather than unknown, with a word on who takes them. */
#define OPT_NO_RATE  "rate", 0, SG_REFUSED, .label = "rate", .why = "takes no rate"
#define OPT_NO_BURST "burst", 0, SG_REFUSED, .label = "burst", .why = "takes no burst"

static const struct sg_option throttle_options[] = {
	{ "rate", 'r', SG_RATE(struct policy_args, rate_per_hour), .label = "rate", .required = 1 },
	{ "burst", 'b', SG_COUNT(struct policy_args, burst), .label = "burst", .max = SG_BURST_MAX,
	  .range = 1 },
	{ OPT_FOR },
	{ OPT_FORCE },
	{ OPT_REASON },
	{},
};

static const struct sg_option block_options[] = {
	{ OPT_NO_RATE }, { OPT_NO_BURST, .max = SG_BURST_MAX, .range = 1 },
	{ OPT_FOR },	 { OPT_FORCE },
	{ OPT_REASON },	 {},
};

static const struct sg_option release_options[] = {
	{ OPT_NO_RATE },
	{ OPT_NO_BURST, .max = SG_BURST_MAX, .range = 1 },
	{ "for", 0, SG_REFUSED, .label = "duration", .why = "takes none" },
	{ OPT_REASON },
	{},
};

static int prepare_release(const struct sg_command *cmd, void *opts, char **args, int n_args,
			   unsigned *needs)
{
	struct policy_args *a = opts;

	return sg_principal_arg(cmd, args[0], a->id, sizeof(a->id), needs);
}

/* After the change is made: its failure is a warning, never the command's. */
static void audit(const struct sg_command *cmd, __u32 uid, const char *name,
		  const struct policy_args *a, json_t *params, __u64 expires_ns)
{
	struct sg_audit_entry e = {
		.action = cmd->name,
		.has_uid = 1,
		.uid = uid,
		.user = name,
		.params = params,
		.reason = a->reason,
		.expires_ns = expires_ns,
	};

	sg_audit_cli(&e);
	json_decref(params);
}

/* The owner of uid's range if uid is a sub-UID (/etc/subuid, as sg_subuids holds it), else uid. */
static __u32 range_owner(__u32 uid, char *owner_name, size_t len)
{
	int fd = sg_pin_open(SG_MAP_SUBUIDS);
	__u32 owner = sg_subuids_owner(fd, uid);

	if (fd >= 0)
		close(fd);
	if (owner != uid && sg_user_name(owner, owner_name, len))
		snprintf(owner_name, len, "uid %u", owner);
	return owner;
}

/*
 * The hooks police a sub-UID as its range's owner and never look up a
 * policy of its own: one written would do nothing while the command said
 * it did. Refused, naming the owner.
 */
static int refuse_subuid(const struct sg_command *cmd, __u32 uid, const char *name)
{
	char who[96], owner_name[64];

	if (range_owner(uid, owner_name, sizeof(owner_name)) == uid)
		return 0;
	return sg_usage_error(cmd, "%s is a sub-UID of %s (/etc/subuid): limit %s",
			      sg_who(uid, name, who, sizeof(who)), owner_name, owner_name);
}

/*
 * Writing who's policy to fd failed with err, while doing ("setting the
 * policy of", "releasing"): the map full is said so, with what to do.
 */
static int policy_write_failed(int fd, int err, const char *doing, const char *who)
{
	char why[96];

	sg_map_write_error(fd, err, why, sizeof(why));
	close(fd);
	if (err == -E2BIG)
		return sg_fail("%s %s: %s: release some policies, or wait for timed ones to expire",
			       doing, who, why);
	return sg_fail("%s %s: %s", doing, who, why);
}

/* throttle and block. */
static int write_policy(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	__u32 mode = cmd == &sg_cmd_throttle ? SG_MODE_THROTTLE : SG_MODE_BLOCK;
	char name[64], who[96], rate[32], dur[32];
	struct sg_policy p = { .mode = mode };
	const struct policy_args *a = opts;
	int fd, err, cut = 0;
	__u32 uid;

	if (sg_resolve_user(args[0], &uid, name, sizeof(name)))
		return SG_EXIT_FAIL;
	err = refuse_subuid(cmd, uid, name);
	if (err)
		return err;
	/* Root's connections are the system's own mail: a typo must not cut them. */
	if (!uid && !a->force)
		return sg_usage_error(cmd,
				      "%s is root: its connections are the system's mail "
				      "(give --force if that is meant)",
				      sg_who(uid, name, who, sizeof(who)));

	p.set_by = SG_SET_CLI;
	p.rate_per_hour = a->rate_per_hour;
	p.burst = a->burst ? a->burst : sg_bucket_default_burst(a->rate_per_hour);
	p.updated_ns = sg_boot_ns();
	p.expires_ns = a->for_ns ? p.updated_ns + a->for_ns : 0;

	fd = sg_pin_open(SG_MAP_POLICIES);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_POLICIES, strerror(-fd));
	err = sg_policy_put(fd, uid, &p, BPF_ANY);
	if (err)
		return policy_write_failed(fd, err, "setting the policy of",
					   sg_who(uid, name, who, sizeof(who)));
	close(fd);

	/* Set first: a session cut cannot be replaced by a new one. */
	if (mode == SG_MODE_BLOCK)
		cut = sg_cut_connections(uid, NULL);
	sg_who(uid, name, who, sizeof(who));
	sg_format_rate(p.rate_per_hour, rate, sizeof(rate));
	if (mode == SG_MODE_THROTTLE)
		printf("throttled %s to %s, burst %u", who, rate, p.burst);
	else
		printf("blocked %s", who);
	if (a->for_ns)
		printf(" for %s", sg_format_duration(a->for_ns, dur, sizeof(dur)));
	if (mode == SG_MODE_BLOCK && cut >= 0)
		printf(", %d open connection%s cut", cut, cut == 1 ? "" : "s");
	printf("\n");
	audit(cmd, uid, name, a,
	      mode == SG_MODE_THROTTLE
		      ? json_pack("{s:s, s:I, s:I}", "rate", rate, "rate_per_hour",
				  (json_int_t)p.rate_per_hour, "burst", (json_int_t)p.burst)
		      : json_pack("{s:i}", "connections_cut", cut > 0 ? cut : 0),
	      p.expires_ns);
	if (cut < 0)
		return sg_fail("blocked %s, but its open connections could not be cut: %s", who,
			       strerror(-cut));
	return SG_EXIT_OK;
}

/* "17 held messages", "1 ban". */
static const char *count(size_t n, const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "%zu %s%s", n, what, n == 1 ? "" : "s");
	return buf;
}

/* release of a mail account: its containment through the mail server undone. */
static int release_mail(const char *id, const struct policy_args *a)
{
	char err[1024], safe[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], held[48], bans[48], when[64],
		name[64];
	json_t *was = NULL, *state, *rel, *bans_v;
	/* The state's key and the audit log's target: the id as sg_escape_id writes it. */
	struct sg_audit_entry e = {
		.action = sg_cmd_release.name,
		.target = safe,
		.reason = a->reason,
	};
	const char *uid_text = id + strlen(SG_MAIL_LOCAL);
	struct sg_config *c;
	unsigned long uid;
	struct tm tm;
	time_t t;
	char *end;
	int ret;

	sg_escape_id(id, safe, sizeof(safe));
	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	ret = sg_release_principal(c, id, time(NULL), &was, err, sizeof(err));
	/* -ENOENT with nothing undone: not contained (a later step's ENOENT comes with was). */
	if (ret == -ENOENT && !was) {
		state = sg_contain_state(c);
		free(c);
		rel = json_object_get(json_object_get(state, safe), "released");
		t = (time_t)json_integer_value(rel);
		if (rel && localtime_r(&t, &tm) && strftime(when, sizeof(when), "%F %T", &tm))
			ret = sg_fail("%s is not contained (released at %s)", safe, when);
		else
			ret = sg_fail("%s is not contained", safe);
		json_decref(state);
		return ret;
	}
	free(c);
	if (!was)
		return sg_fail("releasing %s: %s", safe, *err ? err : strerror(-ret));
	count(json_array_size(json_object_get(was, "held")), "held message", held, sizeof(held));
	count(json_array_size(json_object_get(was, "bans")), "ban", bans, sizeof(bans));
	if (!ret)
		printf("released %s: %s released, %s lifted%s\n", safe, held, bans,
		       json_object_get(was, "table") ? ", table entries removed" : "");
	else /* what failed is in err: the rest is done */
		printf("released %s in part (of %s, %s%s)\n", safe, held, bans,
		       json_object_get(was, "table") ? ", its table entries" : "");
	fflush(stdout);
	/* A local sender's UID, as the daemon's own entries about it have. */
	errno = 0;
	uid = strtoul(uid_text, &end, 10);
	if (!strncmp(id, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL)) && *uid_text && !*end && !errno &&
	    uid <= UINT_MAX) {
		e.has_uid = 1;
		e.uid = (__u32)uid;
		e.user = sg_user_name(e.uid, name, sizeof(name)) ? NULL : name;
	}
	bans_v = json_object_get(was, "bans");
	e.params = json_pack("{s:I, s:o, s:s}", "held",
			     (json_int_t)json_array_size(json_object_get(was, "held")), "bans",
			     json_is_array(bans_v) ? json_incref(bans_v) : json_array(), "mta",
			     json_string_value(json_object_get(was, "mta")) ?: "none");
	if (ret && e.params)
		json_object_set_new(e.params, "errors", sg_json_text(err));
	sg_audit_cli(&e);
	json_decref(e.params);
	json_decref(was);
	if (ret)
		return sg_fail(
			"releasing %s, not all of it was undone (what is left stays in [mta] "
			"state: the daemon tries it again, as does this command): %s",
			safe, err);
	return SG_EXIT_OK;
}

/*
 * A human's release wins: the user is left unlimited (observe), and the
 * detector keeps its hands off, for the grace period; then the default
 * policy applies again. With no grace, the policy is simply removed.
 */
static int run_release(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	struct sg_policy old, p = { .mode = SG_MODE_OBSERVE, .set_by = SG_SET_CLI };
	char name[64], who[96], dur[32];
	const struct policy_args *a = opts;
	char owner_name[64];
	const char *previous = NULL;
	struct sg_config *c;
	int fd, err, sub;
	__u32 uid;

	if (a->id[0])
		return release_mail(a->id, a);
	if (sg_resolve_user(args[0], &uid, name, sizeof(name)))
		return SG_EXIT_FAIL;
	sg_who(uid, name, who, sizeof(who));
	/*
	 * A sub-UID's policy, written before its range was loaded, does
	 * nothing now, but removing it is always safe: it is simply removed,
	 * no grace written in its place.
	 */
	sub = range_owner(uid, owner_name, sizeof(owner_name)) != uid;
	if (sub)
		sg_warn("%s is a sub-UID of %s: its own policy is not consulted while the range is "
			"loaded",
			who, owner_name);
	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	p.updated_ns = sg_boot_ns();
	p.expires_ns =
		c->detect.release_grace_ns && !sub ? p.updated_ns + c->detect.release_grace_ns : 0;
	sg_format_duration(c->detect.release_grace_ns, dur, sizeof(dur));
	free(c);

	fd = sg_pin_open(SG_MAP_POLICIES);
	if (fd < 0)
		return sg_fail("%s: %s", SG_MAP_POLICIES, strerror(-fd));
	/* For the audit: a policy whose time was up already acted as none. */
	if (!bpf_map_lookup_elem(fd, &uid, &old) && sg_policy_in_force(&old, p.updated_ns))
		previous = sg_mode_name(old.mode);
	/* Releasing twice changes nothing: the first grace period stands. */
	if (previous && old.set_by == SG_SET_CLI && old.mode == SG_MODE_OBSERVE && !sub) {
		close(fd);
		printf("%s is already released\n", who);
		return SG_EXIT_OK;
	}
	if (!previous && !p.expires_ns) {
		close(fd);
		printf("%s has no policy of its own; nothing to release\n", who);
		return SG_EXIT_OK;
	}
	if (p.expires_ns)
		err = sg_policy_put(fd, uid, &p, BPF_ANY);
	else
		err = bpf_map_delete_elem(fd, &uid) && errno != ENOENT ? -errno : 0;
	if (err)
		return policy_write_failed(fd, err, "releasing", who);
	close(fd);
	/* Its bit goes too: left, each connect of every UID sharing it would look in the hash. */
	if (!p.expires_ns && (err = sg_policy_bits_rebuild()))
		sg_warn("released %s, but its bit stays in %s: %s", who, SG_MAP_POLICY_BITS,
			strerror(-err));
	if (p.expires_ns)
		printf("released %s: not limited, and no automatic action, for %s; then the "
		       "default policy\n",
		       who, dur);
	else
		printf("released %s\n", who);
	audit(cmd, uid, name, a,
	      json_pack("{s:s?, s:s?}", "previous", previous, "grace", p.expires_ns ? dur : NULL),
	      p.expires_ns);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_throttle = {
	.name = "throttle",
	.summary = "limit a user's SMTP connections to a rate",
	.usage = "usage: smtpguard throttle USER|UID --rate N/s|N/min|N/h [--burst N]\n"
		 "                          [--for DURATION] [--force] [--reason TEXT]\n"
		 "  Lets the user open at most --burst connections at once (default: one\n"
		 "  minute's worth of the rate, at least 1), refilled at --rate; beyond that\n"
		 "  connect() to SMTP ports fails with EPERM. Takes effect at once, in the\n"
		 "  kernel, with or without the daemon. DURATION: 90s, 15m, 2h, 1d, 1h30m\n"
		 "  (each unit once, largest first). UID 0 needs --force.\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.options = throttle_options,
	.opts_size = sizeof(struct policy_args),
	.min_args = 1,
	.max_args = 1,
	.args = "one USER or UID",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.run = write_policy,
};

const struct sg_command sg_cmd_block = {
	.name = "block",
	.summary = "refuse all of a user's SMTP connections",
	.usage = "usage: smtpguard block USER|UID [--for DURATION] [--force] [--reason TEXT]\n"
		 "  Every connect() the user makes to an SMTP port fails with EPERM until\n"
		 "  'smtpguard release' or the end of DURATION (90s, 15m, 2h, 1d, 1h30m).\n"
		 "  UID 0 needs --force.\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.options = block_options,
	.opts_size = sizeof(struct policy_args),
	.min_args = 1,
	.max_args = 1,
	.args = "one USER or UID",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.run = write_policy,
};

const struct sg_command sg_cmd_release = {
	.name = "release",
	.summary = "remove a user's throttle or block, or release a contained mail account",
	.usage = "usage: smtpguard release USER|UID|ACCOUNT [--reason TEXT]\n"
		 "  Lifts the user's throttle or block, whoever set it, and keeps the user\n"
		 "  unlimited and out of the detector's automatic actions for [detect]\n"
		 "  release_grace (1h by default); then the default policy applies again.\n"
		 "  With release_grace = 0 the user's policy is simply removed.\n"
		 "  A mail account (ACCOUNT: sasl:LOGIN, local:UID or local:USER, or an\n"
		 "  address, which means a SASL login) the daemon contained is let go: its\n"
		 "  entries leave the mail server's smtpguard tables, its held (Postfix) or\n"
		 "  frozen (Exim) messages go on their way, the bans of its client IPs are\n"
		 "  lifted, and [mta] state records the release, so the daemon leaves it\n"
		 "  alone for release_grace too. Works with the daemon down.\n"
		 "  The change and TEXT go to the audit log ('smtpguard log').\n",
	.options = release_options,
	.opts_size = sizeof(struct policy_args),
	.min_args = 1,
	.max_args = 1,
	.args = "one USER, UID or ACCOUNT",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.prepare = prepare_release,
	.run = run_release,
};
