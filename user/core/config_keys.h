/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the config loader (config.c, config_load.c): every key once, with
 * its section, name, parser, field and built-in default. The default is
 * written as the file would give it and read by the key's own parser, so
 * sg_config_default() is what dist/smtpguard.conf documents by
 * construction; the enum of keys and the table both come from this list.
 */
#ifndef SG_CONFIG_KEYS_H
#define SG_CONFIG_KEYS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "core/config.h"

#define CFG(f)	    offsetof(struct sg_config, f)
#define CFG_SIZE(f) sizeof(((struct sg_config *)0)->f)
#define OV(f)	    offsetof(struct sg_override, f)
#define OV_SIZE(f)  sizeof(((struct sg_override *)0)->f)

/* Where a key's value goes: a field; a count from 1 to m; a list with its count n_<f>. */
#define FIELD(f)    .off = CFG(f), .size = CFG_SIZE(f)
#define COUNT(f, m) .off = CFG(f), .max = (m)
#define LIST(sec, f)                                                                               \
	.off = CFG(sec.f), .size = CFG_SIZE(sec.f[0]), .n_off = CFG(sec.n_##f),                    \
	.max = CFG_SIZE(sec.f) / CFG_SIZE(sec.f[0])
/* A field of the [override NAME] being read. */
#define OVERRIDE(f) .off = OV(f), .size = OV_SIZE(f), .in_override = 1

#define EMPTY 1U /* the value may be empty */
#define ZERO  2U /* a duration may be 0 */

#define STRINGIFY(x) #x
#define STR(x)	     STRINGIFY(x)

/* The rules' thresholds: keys of [detect], which gives the default, and of [override NAME]. */
#define DETECT_T(f)   FIELD(detect.thresholds.f)
#define OVERRIDE_T(f) OVERRIDE(t.f)
#define GIVEN(v)      v
#define NO_DEFAULT(v) NULL
#define THRESHOLD_KEYS(X, sec, at, def)                                                            \
	X(sec, rate_floor, parse_per_min, at(rate_floor), 0, def("120/min"))                       \
	X(sec, rate_factor, parse_factor, at(rate_factor), 0, def("5"))                            \
	X(sec, destinations, parse_threshold, at(destinations), 0, def("50"))                      \
	X(sec, new_sender_rate, parse_per_min, at(new_sender_rate), 0, def("60/min"))              \
	X(sec, new_sender_min, parse_threshold, at(new_sender_min), 0, def("20"))                  \
	X(sec, failure_ratio, parse_ratio, at(failure_ratio), 0, def("0.5"))                       \
	X(sec, failure_min, parse_threshold, at(failure_min), 0, def("20"))                        \
	X(sec, client_ips, parse_threshold, at(client_ips), 0, def("5"))                           \
	X(sec, bounce_share, parse_ratio, at(bounce_share), 0, def("0.5"))                         \
	X(sec, bounce_min, parse_threshold, at(bounce_min), 0, def("20"))                          \
	X(sec, bounce_flood, parse_threshold, at(bounce_flood), 0, def("100"))

/*
 * X(section, name, parser, where, flags, default). A section's keys are
 * listed together, as an unknown key's message lists them; [override NAME]'s
 * come last.
 */
#define SG_CONFIG_KEYS(X)                                                                          \
	X(daemon, interfaces, parse_interfaces, LIST(daemon, interfaces), EMPTY, "")               \
	X(daemon, cgroup, parse_path, FIELD(daemon.cgroup), EMPTY, "")                             \
	X(daemon, detach_on_exit, parse_bool, FIELD(daemon.detach_on_exit), 0, "no")               \
	X(daemon, log_level, parse_log_level, FIELD(daemon.log_level), 0, "info")                  \
	X(daemon, subuid, parse_path, FIELD(daemon.subuid), EMPTY, "/etc/subuid")                  \
	/* No outbound port would silently turn the sensor off. */                                 \
	X(ports, outbound, parse_ports, LIST(ports, outbound), 0, "25 465 587")                    \
	X(ports, inbound, parse_ports, LIST(ports, inbound), EMPTY, "25 465 587 110 143 993 995")  \
	X(ports, detect_any, parse_bool, FIELD(ports.detect_any), 0, "no")                         \
	/*                                                                                         \
	 * Built for the shared host no one has tuned: each user may open 20                       \
	 * connections at once and 20 a minute after that, which one message                       \
	 * every few seconds never reaches; a script that starts at tens a                         \
	 * second has spent its 20 before the detector's first look, and is                        \
	 * throttled within two ticks.                                                             \
	 */                                                                                        \
	X(policy, default, parse_mode, FIELD(policy.def.mode), 0, "throttle")                      \
	X(policy, rate, parse_rate, FIELD(policy.def.rate_per_hour), 0, "20/min")                  \
	X(policy, burst, parse_burst, FIELD(policy.def.burst), 0, "20")                            \
	X(policy, deny_event_interval, parse_duration, FIELD(policy.deny_event_interval_ns), 0,    \
	  "1s")                                                                                    \
	X(policy, uid_flows, parse_count, COUNT(policy.uid_flows, SG_MAX_FLOWS), 0,                \
	  STR(SG_UID_FLOWS_DEFAULT))                                                               \
	X(policy, uid_processes, parse_count, COUNT(policy.uid_senders, SG_MAX_SENDERS), 0,        \
	  STR(SG_UID_SENDERS_DEFAULT))                                                             \
	X(exporter, listen, parse_listen, FIELD(exporter), 0, "127.0.0.1:" STR(SG_EXPORTER_PORT))  \
	X(exporter, top_senders, parse_count, COUNT(exporter.top_senders, SG_MAX_TOP), 0, "20")    \
	X(exporter, control, parse_path, FIELD(exporter.control), 0, SG_CONTROL_SOCKET)           \
	X(exporter, web_config, parse_path, FIELD(exporter.web_config), EMPTY, "")                 \
	X(attribution, recent_uids, parse_count, COUNT(attribution.recent_uids, 1000000), 0,       \
	  "4096")                                                                                  \
	X(attribution, recent_per_uid, parse_count, COUNT(attribution.recent_per_uid, 64), 0, "8") \
	X(attribution, cpanel_userdomains, parse_path, FIELD(attribution.cpanel_userdomains), 0,   \
	  "/etc/userdomains")                                                                      \
	X(attribution, cpanel_trueuserowners, parse_path,                                          \
	  FIELD(attribution.cpanel_trueuserowners), 0, "/etc/trueuserowners")                      \
	X(attribution, directadmin_domainowners, parse_path,                                       \
	  FIELD(attribution.directadmin_domainowners), 0, "/etc/virtual/domainowners")             \
	X(attribution, php_fpm_sockets, parse_globs, LIST(attribution, fpm_sockets), EMPTY, "")    \
	X(attribution, php_fpm_status_path, parse_path, FIELD(attribution.fpm_status_path), EMPTY, \
	  "")                                                                                      \
	X(audit, log, parse_path, FIELD(audit.path), 0, SG_AUDIT_LOG)                              \
	X(audit, syslog, parse_bool, FIELD(audit.syslog), 0, "yes")                                \
	THRESHOLD_KEYS(X, detect, DETECT_T, GIVEN)                                                 \
	X(detect, baselines, parse_path, FIELD(detect.baselines), EMPTY, SG_BASELINES_PATH)        \
	X(detect, allow, parse_names, LIST(detect, allow), EMPTY, "root")                          \
	X(detect, mta_users, parse_names, LIST(detect, mta_users), EMPTY,                          \
	  "postfix Debian-exim exim mailnull")                                                     \
	X(detect, release_grace, parse_duration, FIELD(detect.release_grace_ns), ZERO, "1h")       \
	X(detect, retention, parse_duration, FIELD(detect.retention_ns), ZERO, "7d")               \
	X(detect, baselines_max, parse_count, COUNT(detect.baselines_max, 10000000), 0, "50000")   \
	X(actions, rate, parse_response, FIELD(actions[SG_RULE_RATE]), 0,                          \
	  "throttle 6/min burst 1 for 1h")                                                         \
	X(actions, destinations, parse_response, FIELD(actions[SG_RULE_DESTINATIONS]), 0, "alert") \
	X(actions, new_sender, parse_response, FIELD(actions[SG_RULE_NEW_SENDER]), 0,              \
	  "throttle 6/min burst 1 for 1h")                                                         \
	X(actions, failure_ratio, parse_response, FIELD(actions[SG_RULE_FAILURE_RATIO]), 0,        \
	  "alert")                                                                                 \
	X(actions, client_ips, parse_response, FIELD(actions[SG_RULE_CLIENT_IPS]), 0,              \
	  "block for 1h")                                                                          \
	X(actions, bounce_share, parse_response, FIELD(actions[SG_RULE_BOUNCE_SHARE]), 0, "alert") \
	X(actions, bounce_flood, parse_response, FIELD(actions[SG_RULE_BOUNCE_FLOOD]), 0, "alert") \
	X(actions, dry_run, parse_bool, FIELD(dry_run), 0, "no")                                   \
	X(mta, type, parse_mta_type, FIELD(mta.type), 0, "auto")                                   \
	X(mta, logs, parse_logs, LIST(mta, logs), EMPTY, "")                                       \
	X(mta, read_back, parse_bool, FIELD(mta.read_back), 0, "no")                               \
	X(mta, postfix_config, parse_path, FIELD(mta.postfix_config), 0, "/etc/postfix")           \
	X(mta, exim_dir, parse_path, FIELD(mta.exim_dir), 0, "/etc/exim4")                         \
	X(mta, exim, parse_command, FIELD(mta.exim_command), 0, "/usr/sbin/exim4")                 \
	X(mta, contain, parse_contain, FIELD(mta.reject), 0, "hold")                               \
	X(mta, ban, parse_duration, FIELD(mta.ban_ns), ZERO, "1h")                                 \
	X(mta, state, parse_path, FIELD(mta.contained_path), 0, SG_CONTAINED_PATH)                 \
	X(mta, hold_grace, parse_duration, FIELD(mta.hold_grace_ns), 0, "1h")                      \
	X(mta, policy_socket, parse_policy_socket, FIELD(mta.policy_socket), 0, "auto")            \
	X(mta, source, parse_mta_source, FIELD(mta.source), 0, "auto")                             \
	X(mta, trust_syslog, parse_bool, FIELD(mta.trust_syslog), 0, "no")                         \
	X(mta, dovecot_config, parse_path, FIELD(mta.dovecot_config), 0,                           \
	  "/etc/dovecot/dovecot.conf")                                                             \
	X(mta, journal_users, parse_names, LIST(mta, journal_users), EMPTY,                        \
	  "postfix Debian-exim exim mailnull dovecot dovenull")                                    \
	X(mta, contained_keep, parse_duration, FIELD(mta.contained_keep_ns), 0, "30d")             \
	X(mta, contained_max, parse_count, COUNT(mta.contained_max, 1000000), 0, "10000")          \
	/*                                                                                         \
	 * A guesser is banned at its 10th failure in 10 minutes, where a user                     \
	 * who forgot a password gives up long before; a mail client opens a                       \
	 * few connections a minute, a scanner hundreds. Port 25 is where other                    \
	 * servers deliver.                                                                        \
	 */                                                                                        \
	X(bruteforce, auth_failures, parse_threshold, FIELD(bruteforce.auth_failures), 0, "10")    \
	X(bruteforce, window, parse_duration, FIELD(bruteforce.window_ns), 0, "10m")               \
	X(bruteforce, syn_rate, parse_threshold, FIELD(bruteforce.syn_rate), 0, "300")             \
	X(bruteforce, syn_ports, parse_ports, LIST(bruteforce, syn_ports), EMPTY,                  \
	  "465, 587, 110, 143, 993, 995")                                                          \
	X(bruteforce, distributed, parse_threshold, FIELD(bruteforce.distributed), 0, "10")        \
	X(bruteforce, guessed, parse_threshold, FIELD(bruteforce.guessed), 0, "3")               \
	X(bruteforce, ban, parse_duration, FIELD(bruteforce.ban_ns), 0, "1h")                      \
	X(bruteforce, ban_factor, parse_count, COUNT(bruteforce.ban_factor, 100), 0, "4")          \
	X(bruteforce, ban_max, parse_duration, FIELD(bruteforce.ban_max_ns), 0, "7d")              \
	X(bruteforce, forget, parse_duration, FIELD(bruteforce.forget_ns), 0, "7d")                \
	X(bruteforce, allow, parse_nets, LIST(bruteforce, allow), EMPTY, "127.0.0.0/8, ::1")       \
	X(bruteforce, state, parse_path, FIELD(bruteforce.state), EMPTY, SG_OFFENDERS_PATH)        \
	X(bruteforce, ipv6_prefix, parse_count, COUNT(bruteforce.ipv6_prefix, 128), 0,             \
	  STR(SG_IPV6_PREFIX_DEFAULT))                                                             \
	X(relay, trusted, parse_nets, LIST(relay, trusted), EMPTY, "127.0.0.0/8, ::1")             \
	X(relay, domains, parse_names_dns, LIST(relay, domains), EMPTY, "")                        \
	X(relay, ban, parse_duration, FIELD(relay.ban_ns), ZERO, "0")                              \
	X(relay, check_targets, parse_names_dns, LIST(relay, targets), EMPTY, "")                  \
	X(dnsbl, zones, parse_names_dns, LIST(dnsbl, zones), EMPTY, "")                            \
	X(dnsbl, addresses, parse_addresses, LIST(dnsbl, addresses), EMPTY, "")                    \
	X(dnsbl, interval, parse_duration, FIELD(dnsbl.interval_ns), ZERO, "1h")                   \
	/*                                                                                         \
	 * A new account may send 20 messages at once (the kernel's burst for                      \
	 * a UID), then 20 an hour: a bot flat out gets 20, plus one every 3                       \
	 * minutes, before the detector's verdict; a first-day user is delayed                     \
	 * by [mta] hold_grace at most.                                                            \
	 */                                                                                        \
	X(budget, first, parse_burst, FIELD(budget.first), 0, "20")                                \
	X(budget, messages_minute, parse_burst, FIELD(budget.messages_minute), 0, "20")            \
	X(budget, messages_hour, parse_burst, FIELD(budget.messages_hour), 0, "200")               \
	X(budget, recipients_minute, parse_burst, FIELD(budget.recipients_minute), 0, "100")       \
	X(budget, recipients_hour, parse_burst, FIELD(budget.recipients_hour), 0, "1000")          \
	X(budget, factor, parse_factor, FIELD(budget.factor), 0, "5")                              \
	/*                                                                                         \
	 * A botnet logs in to tens of accounts from each address; an office                       \
	 * behind one NAT address to as many, but its mail does not bounce.                        \
	 */                                                                                        \
	X(campaign, accounts, parse_threshold, FIELD(campaign.accounts), 0, "10")                  \
	X(campaign, window, parse_duration, FIELD(campaign.window_ns), 0, "1h")                    \
	X(campaign, bounce_share, parse_ratio, FIELD(campaign.bounce_share), 0, "0.5")             \
	X(campaign, bounce_min, parse_threshold, FIELD(campaign.bounce_min), 0, "10")              \
	X(campaign, webmail, parse_nets, LIST(campaign, webmail), EMPTY, "")                       \
	X(campaign, ban, parse_duration, FIELD(campaign.ban_ns), ZERO, "1h")                       \
	X(campaign, host_bounce_share, parse_ratio, FIELD(campaign.host_bounce_share), 0, "0.3")   \
	X(campaign, host_new_senders, parse_threshold, FIELD(campaign.host_new_senders), 0, "10")  \
	X(campaign, host_factor, parse_factor, FIELD(campaign.host_factor), 0, "3")                \
	X(notify, owner_mail, parse_bool, FIELD(notify.owner_mail), 0, "no")                       \
	X(notify, owner_template, parse_path, FIELD(notify.owner_template), 0,                     \
	  "/etc/smtpguard/owner-notice.txt")                                                       \
	X(notify, owner_fallback, parse_mail_address, FIELD(notify.owner_fallback), EMPTY, "")     \
	X(notify, cpanel_users, parse_path, FIELD(notify.cpanel_users), 0, "/var/cpanel/users")    \
	X(notify, directadmin_users, parse_path, FIELD(notify.directadmin_users), 0,               \
	  "/usr/local/directadmin/data/users")                                                     \
	X(notify, alertmanager, parse_url, FIELD(notify.alertmanager), EMPTY, "")                  \
	X(notify, alertmanager_resend, parse_duration, FIELD(notify.alertmanager_resend_ns), 0,    \
	  "1m")                                                                                    \
	X(notify, exec, parse_hook, FIELD(notify.exec), EMPTY, "")                                 \
	X(notify, exec_timeout, parse_duration, FIELD(notify.exec_timeout_ns), 0, "5s")            \
	X(crowdsec, url, parse_url, FIELD(crowdsec.url), EMPTY, "")                                \
	X(crowdsec, api_key, parse_token, FIELD(crowdsec.api_key), EMPTY, "")                      \
	X(crowdsec, api_key_file, parse_path, FIELD(crowdsec.api_key_file), EMPTY, "")             \
	X(crowdsec, ca_file, parse_path, FIELD(crowdsec.ca_file), EMPTY, "")                       \
	X(crowdsec, cert_file, parse_path, FIELD(crowdsec.cert_file), EMPTY, "")                   \
	X(crowdsec, key_file, parse_path, FIELD(crowdsec.key_file), EMPTY, "")                     \
	X(crowdsec, interval, parse_duration, FIELD(crowdsec.interval_ns), 0, "10s")               \
	X(crowdsec, machine_id, parse_token, FIELD(crowdsec.machine_id), EMPTY, "")                \
	X(crowdsec, password_file, parse_path, FIELD(crowdsec.password_file), EMPTY, "")           \
	X(crowdsec, hold, parse_duration, FIELD(crowdsec.hold_ns), 0, "1d")                        \
	X(override, limit, parse_limit, OVERRIDE(limit), 0, NULL)                                  \
	X(override, burst, parse_burst, OVERRIDE(limit.burst), 0, NULL)                            \
	X(override, actions, parse_actions, OVERRIDE(alert_only), 0, NULL)                         \
	THRESHOLD_KEYS(X, override, OVERRIDE_T, NO_DEFAULT)

#define KEY_ENUM(sec, name, ...) KEY_##sec##_##name,
enum {
	SG_CONFIG_KEYS(KEY_ENUM) N_KEYS,
};
#undef KEY_ENUM

/* The keys an [override NAME] section may give, each once per section. */
#define KEY_O_FIRST KEY_override_limit

struct load;

struct key {
	const char *section;
	const char *name;
	int (*parse)(struct load *l, const struct key *k, const char *v);
	size_t off;   /* the field in struct sg_config, or in_override in struct sg_override */
	size_t size;  /* strings: the field's size; lists: an entry's */
	size_t n_off; /* lists: the count's field */
	__u32 max;    /* counts: the largest; lists: the most entries */
	unsigned int flags; /* EMPTY, ZERO */
	int in_override;
	const char *def; /* the built-in value as the file gives it; NULL: none */
};

extern const struct key sg_cfg_keys[N_KEYS];

struct load {
	const char *path;
	FILE *f;
	struct sg_config *c;
	char *err;
	size_t errlen;
	int err_line; /* of the first error; 0: none */
	int read_err; /* errno of a failed read */
	size_t bytes; /* read so far, at most SG_CONFIG_MAX_BYTES */

	char *buf; /* the line being parsed, trimmed once inih has its copy */
	size_t cap;
	const char *text; /* buf without leading whitespace */
	int lineno;
	int pair_line;		/* last line the handler was called for */
	int want_pair;		/* the current line is neither blank, comment nor header */
	const char *section;	/* NULL: before any header */
	const struct key *prev; /* the key above, since the last header */
	struct sg_override *ov; /* in an [override NAME] section */
	int seen[N_KEYS];	/* line each key was given on */
	char msg[512];
};

/* Sets the message of an error; returns -1 for the parsers to pass up. */
static inline int __attribute__((format(printf, 2, 3))) bad(struct load *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The names as "a, b or c", each between pre and post. */
const char *sg_cfg_join(const char *const *names, size_t n, const char *pre, const char *post,
			char *buf, size_t len);

#endif
