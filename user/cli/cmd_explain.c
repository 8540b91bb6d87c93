// SPDX-License-Identifier: GPL-2.0
/*
 * explain: why a user is in the state it is in. The kernel's side (policy,
 * who set it, the bucket's tokens, counts) is read from the pinned maps, so
 * it works with the daemon down; the detector's side (rates against the
 * baseline, the rules and their numbers, recent processes and scripts) is
 * asked of the daemon's exporter; the audit log says who did what and why.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <jansson.h>

#include "cli/ask.h"
#include "host/attrib.h"
#include "host/audit.h"
#include "cli/cli.h"
#include "kern/collect.h"
#include "core/config.h"
#include "mail/contain.h"
#include "core/detect.h"
#include "daemon/guard.h"
#include "core/mailstats.h"
#include "util/parse.h"
#include "util/render.h"
#include "sg_bucket.h"
#include "smtpguard.h"
#include "kern/state.h"
#include "core/decide.h"

#define AUDIT_SHOWN 5

static int lookup(const char *map, const void *key, void *value)
{
	int fd = sg_pin_open(map), err;

	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
	close(fd);
	return err;
}

/* The policy in force for uid, its own or the default, and the bucket's tokens now. */
static json_t *kernel_json(__u32 uid, __u64 now)
{
	struct sg_policy p, *eff = &p;
	struct sg_settings s;
	struct sg_uid_stats st;
	struct sg_bucket b;
	int own = !lookup(SG_MAP_POLICIES, &uid, &p) && sg_policy_in_force(&p, now);
	char rate[32];
	json_t *o;

	if (!own) {
		if (sg_settings_get(&s))
			return NULL;
		eff = &s.default_policy;
	}
	sg_format_rate(eff->rate_per_hour, rate, sizeof(rate));
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "policy_of", own ? "own" : "default",
		      "mode", sg_mode_name(eff->mode), "rate",
		      eff->mode == SG_MODE_THROTTLE ? rate : "", "burst", (json_int_t)eff->burst,
		      "set_by", own ? sg_setter_name(p.set_by) : "the default policy",
		      "expires_in_s",
		      (json_int_t)(own && p.expires_ns ? (p.expires_ns - now) / SG_NS_PER_SEC : 0));
	if (!o)
		return NULL;
	/*
	 * A bucket of another policy is full again at the next connect, unless that keeps it:
	 * then the tokens it has left are carried to this policy, as the hooks will.
	 */
	if (eff->mode == SG_MODE_THROTTLE && !lookup(SG_MAP_BUCKETS, &uid, &b) &&
	    (b.policy_ns == eff->updated_ns || eff->flags & SG_POLICY_KEEP_TOKENS))
		json_object_set_new(
			o, "tokens",
			json_real(sg_bucket_tokens(
				sg_bucket_tat_for(&b, eff, sg_bucket_interval(eff->rate_per_hour), now),
				now, eff->rate_per_hour, eff->burst)));
	else if (eff->mode == SG_MODE_THROTTLE)
		json_object_set_new(o, "tokens", json_integer(eff->burst)); /* a full bucket */
	if (!lookup(SG_MAP_UID_STATS, &uid, &st))
		json_object_set_new(
			o, "counts",
			json_pack("{s:I, s:I, s:I}", "attempts", (json_int_t)st.attempts, "allowed",
				  (json_int_t)st.allowed, "denied", (json_int_t)st.denied));
	return o;
}

/* The daemon's view of uid from its exporter; NULL with why set when it cannot be had. */
static json_t *daemon_json(const struct sg_config *c, __u32 uid, char *why, size_t whylen)
{
	char path[64];

	snprintf(path, sizeof(path), "/explain?principal=" SG_UID_PRINCIPAL "%u", uid);
	return sg_ask_daemon(c, path, why, whylen);
}

/* The last AUDIT_SHOWN entries about uid, or whose target is target when not NULL, oldest first. */
static json_t *audit_json(__u32 uid, const char *target)
{
	struct sg_audit_cfg cfg;
	json_t *a = json_array(), *e, *u;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	sg_audit_cfg_cli(&cfg);
	f = fopen(cfg.path, "re");
	if (!f || !a)
		return a;
	while (getline(&line, &cap, f) > 0) {
		e = json_loads(line, 0, NULL);
		u = e ? json_object_get(e, target ? "target" : "uid") : NULL;
		if (target ? json_is_string(u) && !strcmp(json_string_value(u), target)
			   : json_is_integer(u) && json_integer_value(u) == uid) {
			json_array_append(a, e);
			if (json_array_size(a) > AUDIT_SHOWN)
				json_array_remove(a, 0);
		}
		json_decref(e);
	}
	free(line);
	fclose(f);
	return a;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void print_kernel(const json_t *k)
{
	const json_t *counts = json_object_get(k, "counts");

	printf("policy:   %s", str(k, "mode"));
	if (!strcmp(str(k, "mode"), "throttle"))
		printf(" %s, burst %.0f", str(k, "rate"), num(k, "burst"));
	printf(", set by %s", str(k, "set_by"));
	if (num(k, "expires_in_s") > 0)
		printf(", %.0f s left", num(k, "expires_in_s"));
	printf("\n");
	if (json_object_get(k, "tokens"))
		printf("bucket:   %.2f of %.0f tokens\n", num(k, "tokens"), num(k, "burst"));
	if (counts)
		printf("kernel:   %.0f connection attempts, %.0f allowed, %.0f refused\n",
		       num(counts, "attempts"), num(counts, "allowed"), num(counts, "denied"));
}

static void print_rule(const char *name, const json_t *r, time_t now)
{
	int active = json_is_true(json_object_get(r, "active"));
	double raised = num(r, "raised");

	printf("  %-14s ", name);
	if (active && json_object_get(r, "since"))
		printf("FIRING since %.0f s ago: %.1f > %.1f", (double)now - num(r, "since"),
		       num(r, "value"), num(r, "limit"));
	else if (active) /* a mail principal's rules say not since when */
		printf("FIRING: %.1f > %.1f", num(r, "value"), num(r, "limit"));
	else if (raised)
		printf("quiet now; raised %.0f time%s, last at %.1f > %.1f", raised,
		       raised == 1 ? "" : "s", num(r, "value"), num(r, "limit"));
	else
		printf("never fired");
	printf("\n");
}

static void print_daemon(const json_t *d)
{
	const json_t *counts = json_object_get(d, "counts"), *th = json_object_get(d, "thresholds");
	const json_t *conn = json_object_get(d, "connections"), *bl, *p;
	time_t now = json_integer_value(json_object_get(d, "now"));
	size_t i;

	printf("rates:    %.0f in the last minute, %.0f in 10 min, %.0f in 1 h\n",
	       num(counts, "1m"), num(counts, "10m"), num(counts, "1h"));
	bl = json_object_get(d, "baseline_per_min");
	if (json_is_number(bl))
		printf("baseline: %.2f a minute at this hour of the week; the rate rule fires "
		       "above max(%.0f, %g x %.2f) a minute\n",
		       json_number_value(bl), num(th, "rate_floor"), num(th, "rate_factor"),
		       json_number_value(bl));
	else
		printf("baseline: none learned yet; the rate rule fires above %.0f a minute\n",
		       num(th, "rate_floor"));
	if (json_is_true(json_object_get(d, "new_sender")))
		printf("new:      first seen sending %.0f s ago: the new-sender rule applies "
		       "(above %.0f a minute once %.0f connections are made)\n",
		       (double)now - num(d, "first_seen"), num(th, "new_sender_rate"),
		       num(th, "new_sender_min"));
	printf("outcomes: %.0f established, %.0f refused, %.0f timed out, %.0f bytes sent; "
	       "10 min: %.0f of %.0f failed\n",
	       num(conn, "established"), num(conn, "refused"), num(conn, "timed_out"),
	       num(conn, "bytes_sent"), num(d, "failed_10m"), num(d, "finished_10m"));
	printf("destinations: %.0f in 10 min (bound %.0f)\n", num(d, "destinations_10m"),
	       num(th, "destinations"));
	if (json_string_value(json_object_get(d, "exempt")))
		printf("exempt:   %s: alerts only, never limited automatically\n",
		       str(d, "exempt"));
	if (json_is_true(json_object_get(d, "known"))) {
		printf("rules:\n");
		for (i = 0; i < SG_RULES; i++)
			print_rule(sg_rule_names[i],
				   json_object_get(json_object_get(d, "rules"), sg_rule_names[i]),
				   now);
	} else {
		printf("rules:    nothing sent since the daemon started; no rule has looked\n");
	}
	printf("processes:%s\n",
	       json_array_size(json_object_get(d, "processes")) ? "" : " none seen");
	json_array_foreach(json_object_get(d, "processes"), i, p)
	{
		const json_t *pr = json_object_get(p, "process");
		char comm[16], exe[PATH_MAX], cwd[PATH_MAX], script[PATH_MAX], cmdline[1024];

		/* What a customer's process calls itself reaches root's terminal only printable. */
		printf("  pid %.0f %s exe=%s cwd=%s%s%s\n    cmdline: %s\n", num(p, "tgid"),
		       sg_printable(str(p, "comm"), comm, sizeof(comm)),
		       sg_printable(str(pr, "exe"), exe, sizeof(exe)),
		       sg_printable(str(pr, "cwd"), cwd, sizeof(cwd)),
		       *str(pr, "script") ? " script=" : "",
		       sg_printable(str(pr, "script"), script, sizeof(script)),
		       sg_printable(str(pr, "cmdline"), cmdline, sizeof(cmdline)));
	}
}

/* --- mail principals ------------------------------------------------------ */

/* "2024-05-01 12:00:00 (3m20s ago)", local time; without "ago" when now is 0. */
static const char *when(time_t t, time_t now, char *buf, size_t len)
{
	char dur[32];
	struct tm tm;
	size_t n;

	if (t <= 0 || !localtime_r(&t, &tm) || !(n = strftime(buf, len, "%F %T", &tm))) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (now && now >= t)
		snprintf(buf + n, len - n, " (%s ago)",
			 sg_format_duration((__u64)(now - t) * SG_NS_PER_SEC, dur, sizeof(dur)));
	return buf;
}

/* What kind of principal id is, for the first line: "SASL account", "local sender, bob (uid 1001)".
 */
static const char *mail_kind_text(const char *id, char *buf, size_t len)
{
	const char *rest = id + strlen(SG_MAIL_LOCAL);
	char name[64], who[96], *end;
	unsigned long uid;

	if (strncmp(id, SG_MAIL_LOCAL, strlen(SG_MAIL_LOCAL))) {
		snprintf(buf, len, "SASL account");
		return buf;
	}
	errno = 0;
	uid = strtoul(rest, &end, 10);
	if (*rest && !*end && !errno && uid <= UINT_MAX) {
		if (sg_user_name((__u32)uid, name, sizeof(name)))
			name[0] = '\0';
		snprintf(buf, len, "local sender, %s", sg_who((__u32)uid, name, who, sizeof(who)));
	} else {
		snprintf(buf, len, "local sender, user %s", rest);
	}
	return buf;
}

/* What the daemon's campaign view says of an account: held for an address, the host-wide alert. */
static void print_mail_campaign(const json_t *cp, time_t now)
{
	const json_t *h = json_object_get(cp, "host");
	char buf[96], ip[64];

	if (json_is_true(json_object_get(cp, "held")))
		printf("campaign: held since %s: it logged in from %s, condemned for logging in to "
		       "many accounts (smtpguard explain %s)\n",
		       when((time_t)num(cp, "held_at"), now, buf, sizeof(buf)),
		       sg_printable(str(cp, "by"), ip, sizeof(ip)), ip);
	if (json_is_true(json_object_get(h, "active")))
		printf("host:     campaign alert since %s: bounce share %.2f >= %.2f, %.0f new "
		       "senders >= %.1f\n",
		       when((time_t)num(h, "raised"), now, buf, sizeof(buf)),
		       num(h, "bounce_share"), num(h, "share_limit"), num(h, "new_senders"),
		       num(h, "new_limit"));
}

static void print_mail_daemon(const json_t *d, time_t now)
{
	const json_t *rules = json_object_get(d, "rules"), *ip;
	double expected = num(d, "expected_per_min");
	char buf[64], first[96], last[96];
	size_t i;

	printf("mail:     %.0f messages (%.0f in the last minute) to %.0f recipients: %.0f sent, "
	       "%.0f bounced, %.0f deferred\n",
	       num(d, "messages"), num(d, "last_1m"), num(d, "recipients"), num(d, "sent"),
	       num(d, "bounced"), num(d, "deferred"));
	printf("bounces:  %.0f%% of its deliveries in 10 min bounced; %.0f bounces came into "
	       "its mailbox\n",
	       100 * num(d, "bounce_share"), num(d, "bounces_in"));
	printf("domains:  %.0f recipient domains in 10 min\n", num(d, "domains_10m"));
	printf("clients:  %.0f IPs in 1 h; %.0f authentication failures\n", num(d, "client_ips_1h"),
	       num(d, "auth_failures"));
	json_array_foreach(json_object_get(d, "client_ips"), i, ip)
	{
		printf("  %-39s first %s, last %s\n", sg_printable(str(ip, "ip"), buf, sizeof(buf)),
		       when((time_t)num(ip, "first"), now, first, sizeof(first)),
		       when((time_t)num(ip, "last"), now, last, sizeof(last)));
	}
	if (expected >= 0)
		printf("expected: %.2f messages a minute at this hour of the week\n", expected);
	else
		printf("expected: no baseline learned yet\n");
	if (json_is_true(json_object_get(d, "new")))
		printf("new:      first seen %s: the new-sender rule applies\n",
		       when((time_t)num(d, "first"), now, first, sizeof(first)));
	printf("mta:      %s\n", str(d, "mta"));
	print_mail_campaign(json_object_get(d, "campaign"), now);
	if (!json_object_size(rules)) {
		printf("rules:    not looked at yet\n");
		return;
	}
	printf("rules:\n");
	for (i = 0; i < SG_RULES; i++)
		if (json_object_get(rules, sg_rule_names[i]))
			print_rule(sg_rule_names[i], json_object_get(rules, sg_rule_names[i]), now);
}

/* A JSON array of strings as "a, b, c" (printable), into buf. */
static const char *joined(const json_t *a, char *buf, size_t len)
{
	char item[128];
	size_t i, n = 0;
	const json_t *v;

	buf[0] = '\0';
	json_array_foreach(a, i, v)
	{
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", i ? ", " : "",
			      sg_printable(json_string_value(v) ?: "?", item, sizeof(item)));
		if (n >= len)
			break;
	}
	return buf;
}

/* A containment or release left unfinished (mail/containlog.h): what is left, and why. */
static void print_pending(const json_t *e, time_t now)
{
	char list[1024], at[96], why[1024];

	if (!json_array_size(json_object_get(e, "todo")))
		return;
	printf("  steps left: %s", joined(json_object_get(e, "todo"), list, sizeof(list)));
	if (num(e, "tries") > 0)
		printf(" (failed %lld time%s, next try %s: %s)", (long long)num(e, "tries"),
		       num(e, "tries") == 1 ? "" : "s",
		       when((time_t)num(e, "retry_at"), now, at, sizeof(at)),
		       sg_printable(str(e, "error"), why, sizeof(why)));
	printf("; the daemon carries them on\n");
}

static void print_contained(const json_t *e, const char *path, int unreadable, time_t now)
{
	char since[96], released[96], list[1024], dur[32];
	size_t held = json_array_size(json_object_get(e, "held"));
	const json_t *bans = json_object_get(e, "bans"), *senders = json_object_get(e, "senders");

	if (!e) {
		if (unreadable)
			printf("contained: unknown: %s cannot be read or is not JSON\n", path);
		else
			printf("contained: no\n");
		return;
	}
	if (json_object_get(e, "released")) {
		printf("contained: no; released %s, after containment from %s by rule %s\n",
		       when((time_t)num(e, "released"), now, released, sizeof(released)),
		       when((time_t)num(e, "since"), 0, since, sizeof(since)), str(e, "rule"));
		print_pending(e, now);
		return;
	}
	when((time_t)num(e, "since"), now, since, sizeof(since));
	printf("contained: yes, since %s, by rule %s, through %s\n", since, str(e, "rule"),
	       *str(e, "mta") ? str(e, "mta") : "?");
	printf("  %zu held message%s%s\n", held, held == 1 ? "" : "s",
	       held ? " (they go on their way at 'smtpguard release')" : "");
	if (json_array_size(bans))
		printf("  client IPs banned%s%s: %s\n", num(e, "ban_for_s") > 0 ? " for " : "",
		       num(e, "ban_for_s") > 0
			       ? sg_format_duration((__u64)num(e, "ban_for_s") * SG_NS_PER_SEC, dur,
						    sizeof(dur))
			       : "",
		       joined(bans, list, sizeof(list)));
	else
		printf("  no client IP banned\n");
	if (json_array_size(senders))
		printf("  its envelope senders in the Postfix sender table: %s\n",
		       joined(senders, list, sizeof(list)));
	print_pending(e, now);
}

static void print_audit(const json_t *audit, const char *none)
{
	const json_t *e;
	size_t i;

	printf("audit:%s\n", json_array_size(audit) ? "" : none);
	json_array_foreach(audit, i, e)
	{
		char *line = sg_audit_text(e, SG_AUDIT_TEXT_TIME);

		printf("  %s\n", line ? line : "?");
		free(line);
	}
}

/*
 * explain of a mail principal: the daemon's counts and rules (when it
 * runs), the containment state and the audit log (daemon or not).
 */
static int explain_mail(const char *id, int json)
{
	char path[SG_PRINCIPAL_MAX * 3 + 32], arg[SG_PRINCIPAL_MAX * 3], why[512] = "";
	char safe[SG_ESCAPED_LEN(SG_PRINCIPAL_MAX)], kind[SG_PRINCIPAL_MAX * 4 + 64];
	char state_path[PATH_MAX];
	json_t *daemon = NULL, *state, *entry, *audit, *out;
	time_t now = time(NULL);
	struct sg_config *c;
	int unknown = 0, unreadable;

	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	if (sg_query_escape(id, arg, sizeof(arg))) {
		snprintf(why, sizeof(why), "%s", strerror(ENAMETOOLONG));
	} else {
		snprintf(path, sizeof(path), "/explain?principal=%s", arg);
		daemon = sg_ask_daemon(c, path, why, sizeof(why));
		unknown = !daemon && errno == ENOENT;
	}
	state = sg_contain_state(c);
	unreadable = !state && !access(c->mta.contained_path, F_OK);
	snprintf(state_path, sizeof(state_path), "%s", c->mta.contained_path);
	free(c);
	/* The state's key and the audit log's target: the id as sg_escape_id writes it. */
	sg_escape_id(id, safe, sizeof(safe));
	entry = json_object_get(state, safe);
	audit = audit_json(0, safe);
	/* jansson takes the "o" values even when it fails: nothing is used after but out. */
	out = json_pack("{s:s, s:s, s:o, s:o, s:O, s:o}", "principal", safe, "kind",
			strncmp(id, SG_MAIL_SASL, strlen(SG_MAIL_SASL)) ? "local" : "sasl",
			"daemon", daemon ? daemon : json_null(), "daemon_error",
			daemon ? json_null() : sg_json_text(why), "contained",
			entry ? entry : json_null(), "audit", audit ? audit : json_array());
	json_decref(state);
	if (!out)
		return sg_fail("%s", strerror(ENOMEM));
	daemon = json_object_get(out, "daemon");
	entry = json_object_get(out, "contained");
	audit = json_object_get(out, "audit");
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(out);
		return SG_EXIT_OK;
	}
	printf("%s: %s\n", safe, mail_kind_text(safe, kind, sizeof(kind)));
	if (!json_is_null(daemon))
		print_mail_daemon(daemon, now);
	else if (unknown)
		printf("daemon:   %s: nothing from it since the daemon started\n", why);
	else
		printf("daemon:   not reachable (%s): counts, client IPs and rules unknown\n", why);
	print_contained(json_is_null(entry) ? NULL : entry, state_path, unreadable, now);
	print_audit(audit, "    no entry about this account");
	json_decref(out);
	return SG_EXIT_OK;
}

/* The daemon's campaign evidence on a client address as text. */
static void print_address(const json_t *d, time_t now)
{
	char t1[96], t2[96], list[1024];

	if (json_is_true(json_object_get(d, "exempt"))) {
		printf("campaign: never condemned: loopback, this host's, [bruteforce] allow or "
		       "[campaign] webmail\n");
		return;
	}
	if (!json_is_true(json_object_get(d, "tracked"))) {
		printf("campaign: no login from it since the daemon started, or forgotten\n");
		return;
	}
	printf("campaign: logged in to %.0f accounts in the window: %.0f sent, %.0f bounced; "
	       "first seen %s%s\n",
	       num(d, "accounts"), num(d, "sent"), num(d, "bounced"),
	       when((time_t)num(d, "first"), now, t1, sizeof(t1)),
	       json_is_true(json_object_get(d, "new")) ? " (new)" : "");
	printf("accounts: %s\n", joined(json_object_get(d, "logged_in"), list, sizeof(list)));
	if (num(d, "condemned_at") > 0)
		printf("verdict:  condemned %s, %s %s: every account it uses is held\n",
		       when((time_t)num(d, "condemned_at"), now, t1, sizeof(t1)),
		       json_is_true(json_object_get(d, "condemned")) ? "until" : "ended",
		       when((time_t)num(d, "condemned_until"), 0, t2, sizeof(t2)));
	else
		printf("verdict:  not condemned\n");
}

/* explain of a client address: the campaign view (daemon) and the audit entries on it. */
static int explain_address(const char *addr, int json)
{
	char path[128], why[512] = "";
	json_t *daemon, *out;
	struct sg_config *c = malloc(sizeof(*c));

	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	snprintf(path, sizeof(path), "/explain?principal=%s", addr);
	daemon = sg_ask_daemon(c, path, why, sizeof(why));
	free(c);
	out = json_pack("{s:s, s:o, s:o, s:o}", "address", addr, "daemon",
			daemon ? daemon : json_null(), "daemon_error",
			daemon ? json_null() : sg_json_text(why), "audit", audit_json(0, addr));
	if (!out)
		return sg_fail("%s", strerror(ENOMEM));
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("%s: client address\n", addr);
		if (daemon)
			print_address(json_object_get(out, "daemon"), time(NULL));
		else
			printf("daemon:   not reachable (%s): logins and verdicts unknown\n", why);
		print_audit(json_object_get(out, "audit"), "    no entry about this address");
	}
	json_decref(out);
	return SG_EXIT_OK;
}

struct explain_opts {
	int json;
	char id[SG_PRINCIPAL_MAX];   /* a mail account's principal; "": a user's */
	char addr[INET6_ADDRSTRLEN]; /* a client address, as given; "": none */
};

static const struct sg_option explain_options[] = {
	{ "json", 0, SG_FLAG(struct explain_opts, json) },
	{},
};

static int prepare_explain(const struct sg_command *cmd, void *opts, char **args, int n_args,
			   unsigned *needs)
{
	struct explain_opts *o = opts;
	struct sg_ban_key key;
	const char *why;

	if (!strchr(args[0], '/') && strlen(args[0]) < sizeof(o->addr) &&
	    !sg_parse_cidr(args[0], &key, &why)) {
		strcpy(o->addr, args[0]);
		*needs &= ~SG_NEEDS_STATE;
		return 0;
	}
	return sg_principal_arg(cmd, args[0], o->id, sizeof(o->id), needs);
}

static int run_explain(const struct sg_command *cmd, void *opts, char **args, int n_args)
{
	const struct explain_opts *o = opts;
	char name[64], who[96], why[512] = "";
	json_t *kernel, *daemon, *audit, *out;
	struct sg_config *c;
	__u32 uid;

	if (o->addr[0])
		return explain_address(o->addr, o->json);
	if (o->id[0])
		return explain_mail(o->id, o->json);
	if (sg_resolve_user(args[0], &uid, name, sizeof(name)))
		return SG_EXIT_FAIL;
	sg_who(uid, name, who, sizeof(who));
	c = malloc(sizeof(*c));
	if (!c)
		return sg_fail("%s", strerror(ENOMEM));
	sg_config_cli(c);
	kernel = kernel_json(uid, sg_boot_ns());
	daemon = daemon_json(c, uid, why, sizeof(why));
	audit = audit_json(uid, NULL);
	free(c);
	if (!kernel) {
		json_decref(daemon);
		json_decref(audit);
		return sg_fail("reading the pinned maps in %s", sg_pin_dir());
	}
	/* jansson takes the "o" values even when it fails: nothing is used after but out. */
	out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "uid", (json_int_t)uid, "user",
			sg_json_text(name), "kernel", kernel, "daemon",
			daemon ? daemon : json_null(), "daemon_error",
			daemon ? json_null() : sg_json_text(why), "audit",
			audit ? audit : json_array());
	if (!out)
		return sg_fail("%s", strerror(ENOMEM));
	kernel = json_object_get(out, "kernel");
	daemon = json_object_get(out, "daemon");
	audit = json_object_get(out, "audit");
	if (o->json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("%s\n", who);
		print_kernel(kernel);
		if (!json_is_null(daemon))
			print_daemon(daemon);
		else
			printf("daemon:   not reachable (%s): rates, baseline and rules unknown\n",
			       why);
		print_audit(audit, "    no entry about this user");
	}
	json_decref(out);
	return SG_EXIT_OK;
}

const struct sg_command sg_cmd_explain = {
	.name = "explain",
	.summary = "why a user or mail account is limited, or not: policy, rates, rules",
	.usage = "usage: smtpguard explain USER|UID|ACCOUNT|IP [--json]\n"
		 "  For a user: the policy in force and who set it, the bucket's tokens, the\n"
		 "  kernel's counts (from the pinned maps, daemon or not); the rates against\n"
		 "  the learned baseline, every rule with its numbers, connection outcomes and\n"
		 "  the recent processes and scripts (from the running daemon's exporter);\n"
		 "  and the last audit entries about the user.\n"
		 "  For a mail account (ACCOUNT: sasl:LOGIN, local:UID or local:USER, or an\n"
		 "  address, which means a SASL login): what the daemon has counted from the\n"
		 "  mail server's logs (messages, recipients, sent, bounced and deferred, the\n"
		 "  bounce share, recipient domains, client IPs, bounces into its mailbox,\n"
		 "  authentication failures) and every rule with its numbers; whether it is\n"
		 "  contained through the mail server ([mta] state: since when, why, held\n"
		 "  messages, banned IPs) or was released; and the last audit entries about\n"
		 "  it. Without the daemon, the containment and the audit entries only.\n"
		 "  Both say whether a campaign verdict holds the account, and the host-wide\n"
		 "  campaign alert when it is in force.\n"
		 "  For a client address (IP): the accounts it logged in to within [campaign]\n"
		 "  window, what their mail did, whether it is new or condemned (daemon), and\n"
		 "  the last audit entries about it.\n"
		 "  --json: all of it as one JSON object.\n",
	.options = explain_options,
	.opts_size = sizeof(struct explain_opts),
	.min_args = 1,
	.max_args = 1,
	.args = "one USER, UID, ACCOUNT or IP",
	.needs = SG_NEEDS_ROOT | SG_NEEDS_STATE,
	.prepare = prepare_explain,
	.run = run_explain,
};
