/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's configuration: an INI file read with inih, over a built-in
 * default (the daemon runs with no file at all). Each key is declared once,
 * with its default, in config_keys.h; dist/smtpguard.conf documents every
 * key. Loading is all or nothing: any unknown section or key, or bad value,
 * fails the whole file with "FILE:LINE: message".
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <linux/types.h>

#include "core/detect.h"
#include "core/mailrec.h"
#include "util/log.h"
#include "smtpguard.h"

#define SG_CONFIG_PATH "/etc/smtpguard/smtpguard.conf"
/* A config larger than this is refused: it is typed by hand, and read whole on every reload. */
#define SG_CONFIG_MAX_BYTES (1 << 20)
/* Outside the Prometheus default-port allocations (9100-9999 and 9090-9094). */
#define SG_EXPORTER_PORT   9025
#define SG_CONTROL_SOCKET  "/run/smtpguard/control.sock" /* [exporter] control */
#define SG_AUDIT_LOG	   "/var/log/smtpguard/audit.log"
#define SG_MAX_FPM	   16
#define SG_MAX_NAMES	   32 /* users in an allow or MTA list */
#define SG_MAX_OVERRIDES   256
#define SG_BASELINES_PATH  "/var/lib/smtpguard/baselines.gz"
#define SG_CONTAINED_PATH  "/var/lib/smtpguard/contained.json"
#define SG_MAX_MTA_LOGS	   8
#define SG_MAX_TOP	   1000 /* [exporter] top_senders at most */
#define SG_MAX_NETS	   64	/* prefixes in an allow or trusted list */
#define SG_MAX_DISTRIBUTED 128	/* [bruteforce] distributed at most: sources kept per account */
#define SG_IPV6_PREFIX_MIN 32	/* [bruteforce] ipv6_prefix at least */
#define SG_MAX_ZONES	   16	/* [dnsbl] zones */
#define SG_MAX_DNSBL_ADDRS 16	/* [dnsbl] addresses */
#define SG_DOMAIN_MAX	   254	/* a DNS name, with its NUL */
#define SG_OFFENDERS_PATH  "/var/lib/smtpguard/offenders.json"

/* [mta] type: enum sg_mta_type (mailrec.h), or detected. */
#define SG_MTA_AUTO SG_MTA__MAX

/* [mta] source: where the MTA's lines are read. */
enum sg_mta_source {
	SG_SOURCE_AUTO,	   /* the journal where journald runs and no logs are named, else files */
	SG_SOURCE_JOURNAL, /* trusted by the sender's _UID */
	SG_SOURCE_FILES,   /* [mta] logs, or the MTA's */
};

/* What the daemon does when a rule raises an alert: [actions]'s words. */
#define SG_ACTION_LIST(X)                                                                          \
	X(SG_ACT_ALERT, "alert") /* log, audit and count only */                                   \
	X(SG_ACT_THROTTLE, "throttle")                                                             \
	X(SG_ACT_BLOCK, "block")                                                                   \
	X(SG_ACT_KILL, "kill") /* SIGKILL the principal's sending processes */

enum sg_action { SG_ACTION_LIST(SG_ENUM_VALUE) SG_ACTIONS };

extern const char *const sg_action_names[SG_ACTIONS];

struct sg_response {
	__u32 kind;	     /* enum sg_action */
	__u32 burst;	     /* throttle */
	__u64 rate_per_hour; /* throttle */
	__u64 for_ns;	     /* throttle and block: the policy expires after this */
};

/* A principal with limits of its own: a known bulk sender. */
struct sg_override {
	char name[64];		/* a user name or a UID, as the section header gives it */
	int line;		/* of the header */
	int has_limit;		/* limit given: the kernel policy instead of the default */
	struct sg_policy limit; /* observe ("none") or throttle */
	struct sg_thresholds t; /* [detect]'s, with the keys the section gives */
	__u32 given;		/* which of the threshold keys the section gives */
	int alert_only;		/* actions = alert: never throttled, blocked or killed by a rule */
};

struct sg_daemon_cfg {
	char interfaces[SG_MAX_IFACES][IF_NAMESIZE];
	int n_interfaces;      /* 0: the interfaces that carry a default route */
	char cgroup[PATH_MAX]; /* "": where the hooks are, else the cgroup2 root */
	int detach_on_exit;    /* 0: SIGTERM leaves the programs attached and enforcing */
	enum sg_log_level log_level;
	char subuid[PATH_MAX]; /* sub-UID ranges policed as their owners'; "": none */
};

struct sg_ports_cfg {
	__u32 outbound[SG_MAX_PORTS];
	int n_outbound;
	__u32 inbound[SG_MAX_PORTS];
	int n_inbound;
	int detect_any; /* a port SMTP is seen on is watched as outbound, by the daemon */
};

/* The default policy, for UIDs with none of their own. */
struct sg_policy_cfg {
	struct sg_policy def; /* expires_ns and updated_ns are 0 */
	__u64 deny_event_interval_ns;
	__u32 uid_flows;   /* a UID's entries in sg_flows: destinations and ports */
	__u32 uid_senders; /* and in sg_senders: processes */
};

struct sg_exporter_cfg {
	int enabled;	      /* 0: no HTTP listener */
	char listen_host[64]; /* numeric IPv4 or IPv6 address */
	__u16 listen_port;
	__u32 top_senders;	   /* K: per-sender series for the K busiest only */
	char control[PATH_MAX];	   /* the root-only unix socket: /senders, /explain, /accounts */
	char web_config[PATH_MAX]; /* TLS and basic auth of listen; "": neither */
};

struct sg_attribution_cfg {
	__u32 recent_uids;    /* UIDs kept in the recent-senders table */
	__u32 recent_per_uid; /* processes kept per UID */
	char cpanel_userdomains[PATH_MAX];
	char cpanel_trueuserowners[PATH_MAX];
	char directadmin_domainowners[PATH_MAX];
	char fpm_sockets[SG_MAX_FPM][PATH_MAX]; /* glob patterns of PHP-FPM pool sockets */
	int n_fpm_sockets;
	char fpm_status_path[128]; /* the pools' pm.status_path; "": no lookup */
};

struct sg_write_fail; /* util/writefail.h */

/* The daemon's and the CLI's audit trail (host/audit.h writes it). */
struct sg_audit_cfg {
	char path[PATH_MAX];
	int syslog;
	/* The daemon's: failed writes counted and logged once a streak; NULL: the caller tells. */
	struct sg_write_fail *fails;
};

struct sg_detect_cfg {
	struct sg_thresholds thresholds;
	char baselines[PATH_MAX];     /* "": not persisted */
	char allow[SG_MAX_NAMES][64]; /* users or UIDs never acted on */
	int n_allow;
	char mta_users[SG_MAX_NAMES][64]; /* the MTA's own users: never acted on per UID */
	int n_mta_users;
	__u64 release_grace_ns; /* after a human release, no automatic action for this long */
	__u64 retention_ns;	/* a principal that sent nothing this long is forgotten; 0: never */
	__u32 baselines_max;	/* records kept; past it the least recently seen go */
};

/* The mail server's logs, and containment through it. */
struct sg_mta_cfg {
	int type;			      /* enum sg_mta_type, or SG_MTA_AUTO */
	char logs[SG_MAX_MTA_LOGS][PATH_MAX]; /* none: detected */
	int n_logs;
	int read_back;		       /* read what the logs hold at start, not only what comes */
	char postfix_config[PATH_MAX]; /* config_directory: postmap, postsuper, postfix -c */
	char exim_dir[PATH_MAX];       /* where the ACL's lookup files are */
	char exim_command[PATH_MAX];   /* the exim binary, with its arguments */
	int reject;		       /* Postfix tables say REJECT, not HOLD */
	__u64 ban_ns;		       /* a contained account's login IPs banned at XDP; 0: not */
	char contained_path[PATH_MAX]; /* what is contained, for release with the daemon down */
	__u64 hold_grace_ns; /* a message held over budget goes on after this unless condemned */
	char policy_socket[108]; /* "auto", "none" or the policy service's socket (sun_path) */
	int source;		 /* enum sg_mta_source */
	int trust_syslog;	 /* follow log files local users can write into */
	char dovecot_config[PATH_MAX]; /* doveconf -c: where Dovecot's own log files are named */
	char journal_users[SG_MAX_NAMES][64]; /* with root: whose journal lines are taken */
	int n_journal_users;
	__u64 contained_keep_ns; /* a released principal's entry in the state kept this long */
	__u32 contained_max;	 /* entries in the state; the oldest released dropped over it */
};

/* Password guessers banned at XDP. */
struct sg_bruteforce_cfg {
	__u32 auth_failures; /* failed logins from one address in window; 0: off */
	__u64 window_ns;
	__u32 syn_rate; /* SYNs a minute from one address to syn_ports; 0: off */
	__u32 syn_ports[SG_MAX_PORTS];
	int n_syn_ports;
	__u32 distributed; /* addresses failing on one account in window; 0: off */
	__u32 guessed; /* failures on an account from an address, then its login: guessed; 0: off */
	__u64 ban_ns;  /* the first ban */
	__u32 ban_factor; /* each repeat offence's ban is this times the last */
	__u64 ban_max_ns;
	__u64 forget_ns; /* an offence older than this no longer counts as a repeat */
	struct sg_ban_key allow[SG_MAX_NETS]; /* the operator's networks: never banned */
	int n_allow;
	char state[PATH_MAX]; /* the offenders, kept across restarts; "": not kept */
	__u32 ipv6_prefix;    /* an IPv6 source is counted and banned as this prefix (32 to 128) */
};

/* Mail relayed for outsiders. */
struct sg_relay_cfg {
	struct sg_ban_key trusted[SG_MAX_NETS]; /* clients allowed to relay (mynetworks) */
	int n_trusted;
	char domains[SG_MAX_NAMES][SG_DOMAIN_MAX]; /* domains relayed on purpose (backup MX) */
	int n_domains;
	__u64 ban_ns; /* a relaying client banned at XDP for this long; 0: alert only */
	char targets[SG_MAX_NAMES][SG_DOMAIN_MAX]; /* check-relay may test these too */
	int n_targets;
};

/* Is this host's address on a blocklist. */
struct sg_dnsbl_cfg {
	char zones[SG_MAX_ZONES][SG_DOMAIN_MAX];
	int n_zones;
	char addresses[SG_MAX_DNSBL_ADDRS][46]; /* none: the host's global addresses */
	int n_addresses;
	__u64 interval_ns; /* the daemon's lookups; 0: none */
};

/* Per-principal message budgets, judged in-band (core/budget.h). */
struct sg_budget_cfg {
	__u32 first; /* a never-seen principal's messages at once, and then per hour */
	/* Floors of the learned limits, per minute and per hour. */
	__u32 messages_minute, messages_hour;
	__u32 recipients_minute, recipients_hour;
	double factor; /* times the learned baseline; 0: the floors only */
};

/*
 * Credential stuffing: one address logging in to many accounts, and the
 * host's bounce share and new senders jumping together (core/campaign.h).
 */
struct sg_campaign_cfg {
	__u32 accounts; /* distinct accounts one address logs in to within window; 0: off */
	__u64 window_ns;
	double bounce_share; /* of its sessions' remote deliveries, with at least bounce_min */
	__u32 bounce_min;
	struct sg_ban_key webmail[SG_MAX_NETS]; /* webmail front ends: never condemned */
	int n_webmail;
	__u64 ban_ns; /* a condemned address banned at XDP for this long; 0: not */
	/* Host-wide: each at least its floor and host_factor times its baseline. */
	double host_bounce_share;
	__u32 host_new_senders; /* 0: the host-wide rule off */
	double host_factor;
};

#define SG_URL_MAX 512
/* Who is told of the daemon's actions: Alertmanager and a hook (notify/notify.h), and the contained
 * account's owner (core/notice.h). */
struct sg_notify_cfg {
	int owner_mail;			      /* the contained account's owner gets a notice */
	char owner_template[PATH_MAX];	      /* its text (core/notice.h) */
	char owner_fallback[SG_MTA_ADDR_MAX]; /* when no owner's address is found; "": none */
	char cpanel_users[PATH_MAX];	      /* cPanel's users/USER files (CONTACTEMAIL=) */
	char directadmin_users[PATH_MAX];     /* DirectAdmin's USER/user.conf files (email=) */
	char alertmanager[SG_URL_MAX];	      /* its base URL; "": none */
	__u64 alertmanager_resend_ns;	      /* alerts posted again this often */
	char exec[PATH_MAX]; /* the hook; "": none. Root's alone (util/safepath.h) */
	__u64 exec_timeout_ns;
};

/*
 * The fleet: a CrowdSec Local API this server pulls decisions from as a
 * bouncer (user/fleet/), and pushes its own bans to as a machine.
 */
#define SG_CROWDSEC_URL_MAX 256
#define SG_CROWDSEC_KEY_MAX 128
struct sg_crowdsec_cfg {
	char url[SG_CROWDSEC_URL_MAX];	   /* http(s)://host:port; "": no fleet */
	char api_key[SG_CROWDSEC_KEY_MAX]; /* the bouncer's key, or in api_key_file */
	char api_key_file[PATH_MAX];
	char ca_file[PATH_MAX];	  /* "": the system's CAs */
	char cert_file[PATH_MAX]; /* the client certificate, with key_file; "": none */
	char key_file[PATH_MAX];
	__u64 interval_ns;		      /* between two pulls */
	char machine_id[SG_CROWDSEC_KEY_MAX]; /* the log processor's login; "": no pushes */
	char password_file[PATH_MAX];
	__u64 hold_ns; /* a contained account's hold, as pushed: its duration in the fleet */
};

/* One member a section; dist/smtpguard.conf documents them in this order. */
struct sg_config {
	struct sg_daemon_cfg daemon;
	struct sg_ports_cfg ports;
	struct sg_policy_cfg policy;
	struct sg_exporter_cfg exporter;
	struct sg_attribution_cfg attribution;
	struct sg_audit_cfg audit;
	struct sg_detect_cfg detect;
	struct sg_response actions[SG_RULES]; /* by enum sg_rule */
	int dry_run; /* [actions] dry_run: automatic actions told, not taken (daemon/dryrun.h) */
	struct sg_mta_cfg mta;
	struct sg_bruteforce_cfg bruteforce;
	struct sg_relay_cfg relay;
	struct sg_dnsbl_cfg dnsbl;
	struct sg_budget_cfg budget;
	struct sg_campaign_cfg campaign;
	struct sg_notify_cfg notify;
	struct sg_crowdsec_cfg crowdsec;
	/* [override NAME] */
	struct sg_override overrides[SG_MAX_OVERRIDES];
	int n_overrides;
};

/* The built-in default. */
void sg_config_default(struct sg_config *c);

/*
 * Reads path over the default into c. On failure returns -EINVAL (bad
 * content) or -errno (unreadable), leaves c untouched and writes the reason
 * to err: "FILE:LINE: message" for content, "FILE: strerror" otherwise.
 */
int sg_config_load(const char *path, struct sg_config *c, char *err, size_t errlen);

/*
 * The CLI's view: $SMTPGUARD_CONFIG, else SG_CONFIG_PATH when it exists,
 * over the default, then sg_config_env. A file that does not load is a
 * warning on stderr and the default stands: the emergency CLI must work.
 */
void sg_config_cli(struct sg_config *c);

/*
 * What the environment overrides, for the CLI and the daemon alike, so that
 * both write, and `smtpguard log` reads, one audit log: $SMTPGUARD_AUDIT_LOG,
 * when set and not empty, for [audit] log.
 */
void sg_config_env(struct sg_config *c);

#endif
