// SPDX-License-Identifier: GPL-2.0
/* The config file: defaults, dist/smtpguard.conf, every key, and each error to the letter. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "core/config.h"
#include "util/render.h"
#include "sg_bucket.h"

/* make test runs from the repository root. */
#define DIST_CONF "dist/smtpguard.conf"

static char path[64];

/* Writes text to a fresh temporary file, named in path. */
static void write_conf(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Loads text as a file into c; err gets the message with the file name cut off. */
static int load(const char *text, struct sg_config *c, char *err, size_t len)
{
	char buf[1024];
	int ret;

	write_conf(text);
	ret = sg_config_load(path, c, buf, sizeof(buf));
	unlink(path);
	if (ret) {
		assert_memory_equal(buf, path, strlen(path));
		snprintf(err, len, "%s", buf + strlen(path));
	}
	return ret;
}

static struct sg_config *new_config(void)
{
	struct sg_config *c = malloc(sizeof(*c));

	assert_non_null(c);
	sg_config_default(c);
	return c;
}

static void test_defaults(void **state)
{
	struct sg_config *c = new_config();

	assert_int_equal(c->daemon.n_interfaces, 0);
	assert_string_equal(c->daemon.cgroup, "");
	assert_int_equal(c->daemon.detach_on_exit, 0);
	assert_int_equal(c->daemon.log_level, SG_LOG_INFO);
	assert_string_equal(c->daemon.subuid, "/etc/subuid");
	assert_int_equal(c->ports.n_outbound, 3);
	assert_int_equal(c->ports.outbound[0], 25);
	assert_int_equal(c->ports.outbound[1], 465);
	assert_int_equal(c->ports.outbound[2], 587);
	assert_int_equal(c->ports.n_inbound, 7);
	assert_int_equal(c->ports.inbound[0], 25);
	assert_int_equal(c->ports.inbound[1], 465);
	assert_int_equal(c->ports.inbound[2], 587);
	assert_int_equal(c->ports.inbound[3], 110);
	assert_int_equal(c->ports.inbound[4], 143);
	assert_int_equal(c->ports.inbound[5], 993);
	assert_int_equal(c->ports.inbound[6], 995);
	assert_int_equal(c->policy.def.mode, SG_MODE_THROTTLE);
	assert_int_equal(c->policy.def.burst, 20);
	assert_int_equal(c->policy.def.rate_per_hour, 1200);
	assert_int_equal(c->policy.def.expires_ns, 0);
	assert_int_equal(c->policy.def.updated_ns, 0);
	assert_int_equal(c->policy.deny_event_interval_ns, SG_NS_PER_SEC);
	assert_int_equal(c->policy.uid_flows, 1024);
	assert_int_equal(c->policy.uid_senders, 256);
	assert_int_equal(c->exporter.enabled, 1);
	assert_string_equal(c->exporter.listen_host, "127.0.0.1");
	assert_int_equal(c->exporter.listen_port, 9025);
	assert_int_equal(c->exporter.top_senders, 20);
	assert_int_equal(c->attribution.recent_uids, 4096);
	assert_int_equal(c->attribution.recent_per_uid, 8);
	assert_string_equal(c->attribution.cpanel_userdomains, "/etc/userdomains");
	assert_string_equal(c->attribution.cpanel_trueuserowners, "/etc/trueuserowners");
	assert_string_equal(c->attribution.directadmin_domainowners, "/etc/virtual/domainowners");
	assert_int_equal(c->attribution.n_fpm_sockets, 0);
	assert_string_equal(c->attribution.fpm_status_path, "");
	assert_string_equal(c->audit.path, "/var/log/smtpguard/audit.log");
	assert_int_equal(c->audit.syslog, 1);
	assert_true(c->detect.thresholds.rate_floor == 120 &&
		    c->detect.thresholds.rate_factor == 5);
	assert_int_equal(c->detect.thresholds.destinations, 50);
	assert_true(c->detect.thresholds.new_sender_rate == 60);
	assert_int_equal(c->detect.thresholds.new_sender_min, 20);
	assert_true(c->detect.thresholds.failure_ratio == 0.5);
	assert_int_equal(c->detect.thresholds.failure_min, 20);
	assert_string_equal(c->detect.baselines, "/var/lib/smtpguard/baselines.gz");
	assert_int_equal(c->detect.n_allow, 1);
	assert_string_equal(c->detect.allow[0], "root");
	assert_int_equal(c->detect.n_mta_users, 4);
	assert_string_equal(c->detect.mta_users[1], "Debian-exim");
	assert_int_equal(c->detect.release_grace_ns, 3600 * SG_NS_PER_SEC);
	assert_int_equal(c->actions[SG_RULE_RATE].kind, SG_ACT_THROTTLE);
	assert_int_equal(c->actions[SG_RULE_RATE].rate_per_hour, 360);
	assert_int_equal(c->actions[SG_RULE_RATE].burst, 1);
	assert_int_equal(c->actions[SG_RULE_NEW_SENDER].for_ns, 3600 * SG_NS_PER_SEC);
	assert_int_equal(c->actions[SG_RULE_DESTINATIONS].kind, SG_ACT_ALERT);
	assert_int_equal(c->actions[SG_RULE_FAILURE_RATIO].kind, SG_ACT_ALERT);
	assert_int_equal(c->n_overrides, 0);
	assert_int_equal(c->campaign.accounts, 10);
	assert_int_equal(c->campaign.window_ns, 3600 * SG_NS_PER_SEC);
	assert_float_equal(c->campaign.bounce_share, 0.5, 0);
	assert_int_equal(c->campaign.bounce_min, 10);
	assert_int_equal(c->campaign.n_webmail, 0);
	assert_int_equal(c->campaign.ban_ns, 3600 * SG_NS_PER_SEC);
	assert_float_equal(c->campaign.host_bounce_share, 0.3, 0);
	assert_int_equal(c->campaign.host_new_senders, 10);
	assert_float_equal(c->campaign.host_factor, 3, 0);
	free(c);
}

/* [budget], [mta] hold_grace, and an account's override by login and by address. */
static void test_budget_keys(void **state)
{
	struct sg_config *c = new_config();
	char err[1024];

	assert_int_equal(load("[mta]\nhold_grace = 30m\n"
			      "[budget]\nfirst = 5\nmessages_minute = 7\nmessages_hour = 70\n"
			      "recipients_minute = 9\nrecipients_hour = 90\nfactor = 2.5\n"
			      "[override sasl:news@example.com]\nlimit = 6000/h\nburst = 300\n"
			      "[override bulk@example.org]\nlimit = none\n",
			      c, err, sizeof(err)),
			 0);
	assert_true(c->mta.hold_grace_ns == 30 * 60 * SG_NS_PER_SEC);
	assert_int_equal(c->budget.first, 5);
	assert_int_equal(c->budget.messages_minute, 7);
	assert_int_equal(c->budget.messages_hour, 70);
	assert_int_equal(c->budget.recipients_minute, 9);
	assert_int_equal(c->budget.recipients_hour, 90);
	assert_true(c->budget.factor == 2.5);
	assert_int_equal(c->n_overrides, 2);
	assert_string_equal(c->overrides[0].name, "sasl:news@example.com");
	assert_int_equal(c->overrides[0].limit.mode, SG_MODE_THROTTLE);
	assert_int_equal(c->overrides[0].limit.rate_per_hour, 6000);
	assert_int_equal(c->overrides[0].limit.burst, 300);
	assert_string_equal(c->overrides[1].name, "bulk@example.org");
	assert_int_equal(c->overrides[1].limit.mode, SG_MODE_OBSERVE);
	assert_int_equal(load("[budget]\nfirst = 0\n", c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, ":2: [budget] first: bad burst '0': out of range (1 to 1000000)");
	assert_int_equal(load("[mta]\nhold_grace = 0s\n", c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, ":2: [mta] hold_grace: bad duration '0s': a duration must be more "
				 "than zero");
	/* Seconds or minutes? A bare number is refused, not guessed. */
	assert_int_equal(load("[mta]\nhold_grace = 5\n", c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, ":2: [mta] hold_grace: bad duration '5': a number needs its unit "
				 "(s, m, h or d), as in 90s");
	free(c);
}

/*
 * The shipped file loads as the default, and so does it with every
 * documented "#key = value" uncommented: the file tells the truth about the
 * defaults. rate and burst are for default = throttle only.
 */
static void test_dist_file(void **state)
{
	struct sg_config *def = new_config(), *c = new_config();
	char err[1024], *line = NULL, *text = NULL;
	size_t cap = 0, len = 0, n;
	FILE *in, *out;
	int uncommented = 0;

	memset(c, 0xff, sizeof(*c));
	assert_int_equal(sg_config_load(DIST_CONF, c, err, sizeof(err)), 0);
	assert_memory_equal(c, def, sizeof(*c));

	in = fopen(DIST_CONF, "r");
	assert_non_null(in);
	out = open_memstream(&text, &len);
	while (getline(&line, &cap, in) > 0) {
		n = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (line[0] == '#' && n && !strncmp(line + 1 + n, " =", 2)) {
			fputs(line + 1, out);
			uncommented++;
		} else {
			fputs(line, out);
		}
	}
	fclose(out);
	fclose(in);
	assert_int_equal(uncommented, 123); /* every key but [override NAME]'s */
	memset(c, 0xff, sizeof(*c));
	assert_int_equal(load(text, c, err, sizeof(err)), 0);
	assert_memory_equal(c, def, sizeof(*c));
	free(text);
	free(line);
	free(def);
	free(c);
}

/* Every key set, with the syntax inih allows: ':' for '=', comments, odd spacing, CRLF. */
static void test_every_key(void **state)
{
	static const char text[] = "\xef\xbb\xbf; a custom file\r\n"
				   "[daemon]\r\n"
				   "interfaces = eth0, bond0.100 ,veth-a\tlo\n"
				   "cgroup=/sys/fs/cgroup/hosting.slice\n"
				   "detach_on_exit : Yes ; all gone on stop\n"
				   "log_level=debug\n"
				   "subuid =\n"
				   "[ ports ]\n"
				   "outbound = 25,2525\n"
				   "# inbound left out: not so in the other tests\n"
				   "inbound =\n"
				   "\n"
				   "[policy]\n"
				   "rate = 30/min\n"
				   "default = throttle\n"
				   "burst = 7\n"
				   "deny_event_interval = 1m30s\n"
				   "uid_flows = 65536\n"
				   "uid_processes = 1\n"
				   "[exporter]\n"
				   "listen = [::1]:9100\n"
				   "top_senders = 1000\n"
				   "control = /run/sg/ctl.sock\n"
				   "web_config = /etc/smtpguard/web.yml\n"
				   "[attribution]\n"
				   "recent_uids = 1000000\n"
				   "recent_per_uid = 64\n"
				   "cpanel_userdomains = /srv/cp/userdomains\n"
				   "cpanel_trueuserowners = /srv/cp/trueuserowners\n"
				   "directadmin_domainowners = /srv/da/domainowners#1\n"
				   "php_fpm_sockets = /run/php/*.sock   "
				   "/opt/cpanel/ea-php*/root/usr/var/run/php-fpm/*.sock 127.0.0.1:9000\n"
				   "php_fpm_status_path = /fpm-status\n"
				   "[audit]\n"
				   "log = /var/log/sg.log\n"
				   "syslog = 0\n";
	struct sg_config *c = new_config(), *want = new_config();
	char err[1024] = "";

	memset(c, 0xff, sizeof(*c));
	strcpy(want->daemon.interfaces[0], "eth0");
	strcpy(want->daemon.interfaces[1], "bond0.100");
	strcpy(want->daemon.interfaces[2], "veth-a");
	strcpy(want->daemon.interfaces[3], "lo");
	want->daemon.n_interfaces = 4;
	strcpy(want->daemon.cgroup, "/sys/fs/cgroup/hosting.slice");
	want->daemon.detach_on_exit = 1;
	want->daemon.log_level = SG_LOG_DEBUG;
	memset(want->daemon.subuid, 0, sizeof(want->daemon.subuid));
	memset(want->ports.outbound, 0, sizeof(want->ports.outbound));
	want->ports.outbound[0] = 25;
	want->ports.outbound[1] = 2525;
	want->ports.n_outbound = 2;
	memset(want->ports.inbound, 0, sizeof(want->ports.inbound));
	want->ports.n_inbound = 0;
	want->policy.def =
		(struct sg_policy){ .mode = SG_MODE_THROTTLE, .burst = 7, .rate_per_hour = 1800 };
	want->policy.deny_event_interval_ns = 90 * SG_NS_PER_SEC;
	want->policy.uid_flows = 65536;
	want->policy.uid_senders = 1;
	memset(want->exporter.listen_host, 0, sizeof(want->exporter.listen_host));
	strcpy(want->exporter.listen_host, "::1");
	want->exporter.listen_port = 9100;
	want->exporter.top_senders = 1000;
	memset(want->exporter.control, 0, PATH_MAX);
	strcpy(want->exporter.control, "/run/sg/ctl.sock");
	strcpy(want->exporter.web_config, "/etc/smtpguard/web.yml");
	want->attribution.recent_uids = 1000000;
	want->attribution.recent_per_uid = 64;
	memset(want->attribution.cpanel_userdomains, 0, PATH_MAX);
	strcpy(want->attribution.cpanel_userdomains, "/srv/cp/userdomains");
	memset(want->attribution.cpanel_trueuserowners, 0, PATH_MAX);
	strcpy(want->attribution.cpanel_trueuserowners, "/srv/cp/trueuserowners");
	memset(want->attribution.directadmin_domainowners, 0, PATH_MAX);
	strcpy(want->attribution.directadmin_domainowners, "/srv/da/domainowners#1");
	strcpy(want->attribution.fpm_sockets[0], "/run/php/*.sock");
	strcpy(want->attribution.fpm_sockets[1],
	       "/opt/cpanel/ea-php*/root/usr/var/run/php-fpm/*.sock");
	strcpy(want->attribution.fpm_sockets[2], "127.0.0.1:9000");
	want->attribution.n_fpm_sockets = 3;
	strcpy(want->attribution.fpm_status_path, "/fpm-status");
	memset(want->audit.path, 0, PATH_MAX);
	strcpy(want->audit.path, "/var/log/sg.log");
	want->audit.syslog = 0;

	assert_int_equal(load(text, c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_memory_equal(c, want, sizeof(*c));
	free(want);
	free(c);
}

/* [bruteforce], [relay] and [dnsbl], every key. */
static void test_defence_keys(void **state)
{
	static const char text[] = "[ports]\ninbound = 25 587 993\n"
				   "[bruteforce]\n"
				   "auth_failures = 5\nwindow = 5m\nsyn_rate = off\n"
				   "syn_ports = 587, 993\ndistributed = 4\nban = 30m\n"
				   "ban_factor = 2\nban_max = 1d\nforget = 2d\n"
				   "allow = 203.0.113.0/24, 2001:db8::/32\nstate =\n"
				   "ipv6_prefix = 56\n"
				   "[relay]\ntrusted = 198.51.100.0/24\ndomains = backup.test\n"
				   "ban = 2h\ncheck_targets = mx2.hosting.test 2001:db8::25\n"
				   "[dnsbl]\nzones = bl.test, dnsbl-2.example\n"
				   "addresses = 198.51.100.7 2001:db8::7\ninterval = 0\n";
	struct sg_config *c = new_config();
	char err[1024] = "";
	char buf[INET6_ADDRSTRLEN + 8];

	assert_int_equal(load(text, c, err, sizeof(err)), 0);
	assert_int_equal(c->bruteforce.auth_failures, 5);
	assert_int_equal(c->bruteforce.window_ns, 300 * SG_NS_PER_SEC);
	assert_int_equal(c->bruteforce.syn_rate, 0);
	assert_int_equal(c->bruteforce.n_syn_ports, 2);
	assert_int_equal(c->bruteforce.syn_ports[1], 993);
	assert_int_equal(c->bruteforce.distributed, 4);
	assert_int_equal(c->bruteforce.ban_ns, 1800 * SG_NS_PER_SEC);
	assert_int_equal(c->bruteforce.ban_factor, 2);
	assert_int_equal(c->bruteforce.ban_max_ns, 86400 * SG_NS_PER_SEC);
	assert_int_equal(c->bruteforce.forget_ns, 2 * 86400 * SG_NS_PER_SEC);
	assert_int_equal(c->bruteforce.n_allow, 2);
	assert_string_equal(sg_format_cidr(&c->bruteforce.allow[0], buf, sizeof(buf)),
			    "203.0.113.0/24");
	assert_string_equal(sg_format_cidr(&c->bruteforce.allow[1], buf, sizeof(buf)),
			    "2001:db8::/32");
	assert_string_equal(c->bruteforce.state, "");
	assert_int_equal(c->bruteforce.ipv6_prefix, 56);
	assert_int_equal(c->relay.n_trusted, 1);
	assert_string_equal(sg_format_cidr(&c->relay.trusted[0], buf, sizeof(buf)),
			    "198.51.100.0/24");
	assert_int_equal(c->relay.n_domains, 1);
	assert_string_equal(c->relay.domains[0], "backup.test");
	assert_int_equal(c->relay.ban_ns, 7200 * SG_NS_PER_SEC);
	assert_int_equal(c->relay.n_targets, 2);
	assert_string_equal(c->relay.targets[1], "2001:db8::25");
	assert_int_equal(c->dnsbl.n_zones, 2);
	assert_string_equal(c->dnsbl.zones[1], "dnsbl-2.example");
	assert_int_equal(c->dnsbl.n_addresses, 2);
	assert_string_equal(c->dnsbl.addresses[1], "2001:db8::7");
	assert_int_equal(c->dnsbl.interval_ns, 0);
	free(c);
}

/* [daemon] log_level: each of the logger's levels, by its name. */
static void test_log_level(void **state)
{
	static const struct {
		const char *text;
		enum sg_log_level level;
	} cases[] = {
		{ "[daemon]\nlog_level = error\n", SG_LOG_ERROR },
		{ "[daemon]\nlog_level = warn\n", SG_LOG_WARN },
		{ "[daemon]\nlog_level = info\n", SG_LOG_INFO },
		{ "[daemon]\nlog_level = debug\n", SG_LOG_DEBUG },
	};
	struct sg_config *c = new_config();
	char err[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(cases[i].text, c, err, sizeof(err)), 0);
		assert_int_equal(c->daemon.log_level, cases[i].level);
	}
	free(c);
}

static void test_policy_and_listen(void **state)
{
	struct sg_config *c = new_config();
	char err[1024];

	/* A throttle without a burst gets a minute's worth, at least one, as the CLI gives. */
	assert_int_equal(load("[policy]\ndefault = throttle\nrate = 10/h\n", c, err, sizeof(err)),
			 0);
	assert_int_equal(c->policy.def.mode, SG_MODE_THROTTLE);
	assert_int_equal(c->policy.def.rate_per_hour, 10);
	assert_int_equal(c->policy.def.burst, 1);
	assert_int_equal(load("[policy]\ndefault = throttle\nrate = 30/min\n", c, err, sizeof(err)),
			 0);
	assert_int_equal(c->policy.def.burst, 30);

	/* Loading starts from the default, not from what c held. */
	assert_int_equal(
		load("[policy]\ndefault = block\n[exporter]\nlisten = off\n", c, err, sizeof(err)),
		0);
	assert_int_equal(c->policy.def.mode, SG_MODE_BLOCK);
	assert_int_equal(c->policy.def.rate_per_hour, 0);
	assert_int_equal(c->policy.def.burst, 0);
	assert_int_equal(c->exporter.enabled, 0);
	assert_string_equal(c->exporter.listen_host, "");
	assert_int_equal(c->exporter.listen_port, 0);

	assert_int_equal(load("[exporter]\nlisten = 0.0.0.0:80\n", c, err, sizeof(err)), 0);
	assert_int_equal(c->policy.def.mode, SG_MODE_THROTTLE);
	assert_int_equal(c->exporter.enabled, 1);
	assert_string_equal(c->exporter.listen_host, "0.0.0.0");
	assert_int_equal(c->exporter.listen_port, 80);
	free(c);
}

/* [mta] policy_socket: auto by default, none, a path; anything else refused with why. */
static void test_policy_socket(void **state)
{
	struct sg_config *c = new_config();
	char err[1024] = "", longer[200];

	assert_string_equal(c->mta.policy_socket, "auto");
	assert_int_equal(load("[mta]\npolicy_socket = none\n", c, err, sizeof(err)), 0);
	assert_string_equal(c->mta.policy_socket, "none");
	assert_int_equal(load("[mta]\npolicy_socket = /run/sg/p.sock\n", c, err, sizeof(err)), 0);
	assert_string_equal(c->mta.policy_socket, "/run/sg/p.sock");
	assert_int_equal(load("[mta]\npolicy_socket = private/x\n", c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, ":2: [mta] policy_socket: bad policy_socket 'private/x' (auto, "
				 "none or an absolute path)");
	snprintf(longer, sizeof(longer), "[mta]\npolicy_socket = /%0108d\n", 0);
	assert_int_equal(load(longer, c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err + strlen(err) - 42, "is longer than a unix socket's path may be");
	free(c);
}

/* Where the MTA's lines are read, and whom they are believed from. */
static void test_mta_source_keys(void **state)
{
	static const char text[] = "[mta]\nsource = journal\ntrust_syslog = yes\n"
				   "journal_users = postfix, dovecot\n"
				   "dovecot_config = /srv/dovecot.conf\n";
	struct sg_config *c = new_config(), *want = new_config();
	char err[1024] = "";

	want->mta.source = SG_SOURCE_JOURNAL;
	want->mta.trust_syslog = 1;
	memset(want->mta.journal_users, 0, sizeof(want->mta.journal_users));
	strcpy(want->mta.journal_users[0], "postfix");
	strcpy(want->mta.journal_users[1], "dovecot");
	want->mta.n_journal_users = 2;
	memset(want->mta.dovecot_config, 0, PATH_MAX);
	strcpy(want->mta.dovecot_config, "/srv/dovecot.conf");
	memset(c, 0xff, sizeof(*c));
	assert_int_equal(load(text, c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_memory_equal(c, want, sizeof(*c));
	/* The defaults: auto, no trust in syslog files, the MTAs' and Dovecot's users. */
	assert_int_equal(want->mta.source, SG_SOURCE_JOURNAL);
	sg_config_default(want);
	assert_int_equal(want->mta.source, SG_SOURCE_AUTO);
	assert_int_equal(want->mta.trust_syslog, 0);
	assert_int_equal(want->mta.n_journal_users, 6);
	assert_string_equal(want->mta.journal_users[5], "dovenull");
	free(want);
	free(c);
}

static void test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *err; /* after the file name */
	} bad[] = {
		{ "[daemon]\n[mail]\n",
		  ":2: unknown section [mail] (expected [daemon], [ports], [policy], [exporter], "
		  "[attribution], [audit], [detect], [actions], [mta], [bruteforce], [relay], "
		  "[dnsbl], [budget], [campaign], [notify], [crowdsec] "
		  "or [override NAME])" },
		{ "[actions]\nrate = block\n",
		  ":2: [actions] rate: block needs 'for DURATION' at the end: actions expire" },
		{ "[actions]\nnew_sender = throttle 6/min burst 0 for 1h\n",
		  ":2: [actions] new_sender: bad burst (1 to 1000000)" },
		{ "[actions]\nfailure_ratio = kill now\n",
		  ":2: [actions] failure_ratio: 'kill' takes nothing after it" },
		{ "[actions]\ndestinations = ban\n", ":2: [actions] destinations: bad action 'ban' "
						     "(alert, throttle RATE for DURATION, "
						     "block for DURATION or kill)" },
		{ "[mta]\nsource = syslog\n",
		  ":2: [mta] source: bad log source 'syslog' (auto, journal or files)" },
		{ "[detect]\nfailure_ratio = 2\n",
		  ":2: [detect] failure_ratio: bad number '2' (0 to 1, or off)" },
		{ "[detect]\nrate_floor = 5\n",
		  ":2: [detect] rate_floor: bad rate '5': expected N/s, N/min or N/h, or off" },
		{ "[override bob]\nburst = 5\n",
		  ":1: [override bob] burst needs a rate in 'limit'" },
		{ "[override bob]\n[override bob]\n",
		  ":2: [override bob] given twice (first on line 1)" },
		{ "[override]\n",
		  ":1: expected [override NAME], NAME a user, a UID, sasl:LOGIN or an address, got "
		  "[override ]" },
		{ "[override bob]\nlimit = 1/h\nlimit = 2/h\n",
		  ":3: [override] limit: given twice (first on line 2)" },
		{ "[daemon]\ninterface = eth0\n",
		  ":2: [daemon] unknown key 'interface' (expected interfaces, cgroup, "
		  "detach_on_exit, log_level or subuid)" },
		{ "[exporter]\n\nlisten = 127.0.0.1:99999\n",
		  ":3: [exporter] listen: bad port '99999' (1 to 65535)" },
		{ "[ports]\noutbound = 25\n; again\noutbound = 587\n",
		  ":4: [ports] outbound: given twice (first on line 2)" },
		{ "[daemon]\ninterfaces = eth0\ncgroup /sys/fs/cgroup\n",
		  ":3: [daemon] expected 'key = value', got 'cgroup /sys/fs/cgroup'" },
		{ "[daemon]\ninterfaces = eth0\ncgroup /sys/fs/cgroup",
		  ":3: [daemon] expected 'key = value', got 'cgroup /sys/fs/cgroup'" },
		{ "[audit]\nsyslog = maybe\n",
		  ":2: [audit] syslog: bad boolean 'maybe' (yes, no, true, false, 1 or 0)" },
		{ "[policy]\ndefault = observe\nburst = 5\n",
		  ":3: [policy] burst: only for default = throttle (the default here is observe)" },
		{ "[policy]\nrate = 5/min\ndefault = block\n",
		  ":2: [policy] rate: only for default = throttle (the default here is block)" },
		/* 40 + 25 distinct (two inbound are outbound too): one more than sg_ports holds. */
		{ "[ports]\ninbound = 200 201 202 203 204 205 206 207 208 209 210 211 212 213 214 "
		  "215 216 217 218 219 220 221 222 223 224 100 101\n"
		  "outbound = 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 "
		  "117 118 119 120 121 122 123 124 125 126 127 128 129 130 131 132 133 134 135 136 "
		  "137 138 139\n",
		  ":3: [ports] outbound: 65 distinct ports in outbound and inbound together; at "
		  "most 64" },
		{ "[attribution]\ncpanel_userdomains = etc/userdomains\n",
		  ":2: [attribution] cpanel_userdomains: 'etc/userdomains' is not an absolute "
		  "path" },
		{ "[daemon]\ninterfaces = 0 1 2 3 4 5 6 7 8 9 a b c d e f g h i j k l m n o p q r "
		  "s "
		  "t "
		  "u v w x y z aa ab ac ad ae af ag ah ai aj ak al am an ao ap aq ar as at au av "
		  "aw "
		  "ax ay az ba bb bc\n",
		  ":2: [daemon] interfaces: more than 64 interfaces" },
		{ "[daemon]\ninterfaces = eth0 eth0\n",
		  ":2: [daemon] interfaces: 'eth0' listed twice" },
		{ "[daemon]\ninterfaces = a-very-long-name\n",
		  ":2: [daemon] interfaces: interface name 'a-very-long-name' is longer than 15 "
		  "characters" },
		{ "[daemon]\nlog_level = verbose\n",
		  ":2: [daemon] log_level: bad level 'verbose' (error, warn, info or debug)" },
		{ "[daemon]\nlog_level = INFO\n",
		  ":2: [daemon] log_level: bad level 'INFO' (error, warn, info or debug)" },
		{ "[daemon]\ninterfaces = eth0:1\n",
		  ":2: [daemon] interfaces: bad interface name 'eth0:1'" },
		{ "[daemon]\ninterfaces = eth0\n  eth1\n",
		  ":3: [daemon] interfaces: continued on an indented line ('eth1'); put the value "
		  "on "
		  "one line, without indentation" },
		{ "interfaces = eth0\n", ":1: 'interfaces' comes before any [section]" },
		{ "nothing\n", ":1: expected '[section]' or 'key = value', got 'nothing'" },
		{ "[daemon\n", ":1: section header without ']': '[daemon'" },
		{ "[daemon]\ncgroup = /"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "a"
		  "aaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "a"
		  "aaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaa\n",
		  ":2: line longer than 198 characters" },
		{ "[ports]\noutbound =\n", ":2: [ports] outbound: no value" },
		{ "[crowdsec]\nurl = lapi:8080\n",
		  ":2: [crowdsec] url: 'lapi:8080' is not an http:// or https:// URL with a host" },
		{ "[crowdsec]\nurl = http://lapi:8080/x?y\n",
		  ":2: [crowdsec] url: 'http://lapi:8080/x?y': a URL without spaces, quotes, query "
		  "or fragment" },
		{ "[crowdsec]\napi_key = a\"b\n",
		  ":2: [crowdsec] api_key: 'a\"b': only letters, digits, '-', '_', '.' and '@'" },
		{ "[crowdsec]\nurl = https://lapi:8080\n",
		  ":2: [crowdsec] url: [crowdsec] url needs api_key_file (or api_key): the "
		  "bouncer's key" },
		{ "[crowdsec]\napi_key_file = /k\napi_key = abc\n",
		  ":3: [crowdsec] api_key: [crowdsec] api_key and api_key_file: one of them, not "
		  "both" },
		{ "[crowdsec]\nkey_file = /k\n",
		  ":2: [crowdsec] key_file: [crowdsec] cert_file and key_file go together" },
		{ "[crowdsec]\ncert_file = /c\nkey_file = /k\nmachine_id = web1\n",
		  ":4: [crowdsec] machine_id: [crowdsec] machine_id and password_file go together" },
		{ "[ports]\ninbound = 25 110 25\n", ":2: [ports] inbound: port 25 listed twice" },
		{ "[ports]\noutbound = 0\n", ":2: [ports] outbound: bad port '0' (1 to 65535)" },
		{ "[policy]\ndefault = slow\n",
		  ":2: [policy] default: bad mode 'slow' (observe, throttle or block)" },
		{ "[policy]\ndefault = throttle\nrate = 5/week\n",
		  ":3: [policy] rate: bad rate '5/week': unknown unit (use /s, /min or /h)" },
		{ "[policy]\ndefault = throttle\nrate = 5/s\nburst = 1000001\n",
		  ":4: [policy] burst: bad burst '1000001': out of range (1 to 1000000)" },
		{ "[policy]\ndeny_event_interval = 0s\n",
		  ":2: [policy] deny_event_interval: bad duration '0s': a duration must be more "
		  "than "
		  "zero" },
		{ "[exporter]\nlisten = localhost:9025\n",
		  ":2: [exporter] listen: bad address 'localhost' (a numeric IPv4 address, or IPv6 "
		  "in "
		  "brackets)" },
		{ "[exporter]\nlisten = ::1:9025\n",
		  ":2: [exporter] listen: bad address '::1' (a numeric IPv4 address, or IPv6 in "
		  "brackets)" },
		{ "[exporter]\nlisten = [::1]9025\n", ":2: [exporter] listen: expected HOST:PORT, "
						      "[IPv6]:PORT or off, got '[::1]9025'" },
		{ "[policy]\nuid_flows = 65537\n",
		  ":2: [policy] uid_flows: bad number '65537': out of range (1 to 65536)" },
		{ "[policy]\nuid_processes = 0\n",
		  ":2: [policy] uid_processes: bad number '0': out of range (1 to 16384)" },
		{ "[exporter]\ntop_senders = 0\n",
		  ":2: [exporter] top_senders: bad number '0': out of range (1 to 1000)" },
		{ "[attribution]\nrecent_per_uid = 8x\n",
		  ":2: [attribution] recent_per_uid: bad number '8x': expected a positive integer "
		  "(1 "
		  "to 64)" },
		{ "[attribution]\nphp_fpm_status_path = status\n",
		  ":2: [attribution] php_fpm_status_path: 'status' is not an absolute path" },
		{ "[attribution]\nphp_fpm_status_path = /"
		  "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
		  "s"
		  "ssss"
		  "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss\n",
		  ":2: [attribution] php_fpm_status_path: longer than 127 characters" },
		{ "[attribution]\nphp_fpm_sockets = /1 /2 /3 /4 /5 /6 /7 /8 /9 /10 /11 /12 /13 /14 "
		  "/15 "
		  "/16 /17\n",
		  ":2: [attribution] php_fpm_sockets: more than 16 patterns" },
		{ "[attribution]\nphp_fpm_sockets = /run/php/*.sock run/*.sock\n",
		  ":2: [attribution] php_fpm_sockets: expected an absolute path, HOST:PORT or "
		  "[IPv6]:PORT, got 'run/*.sock'" },
		{ "[attribution]\nphp_fpm_sockets = localhost:9000\n",
		  ":2: [attribution] php_fpm_sockets: bad address 'localhost' (a numeric IPv4 "
		  "address, or IPv6 in brackets)" },
		{ "[bruteforce]\nallow = 10.0.0.0/8 10.0.0.0/33\n",
		  ":2: [bruteforce] allow: bad prefix '10.0.0.0/33': IPv4 prefix length above 32" },
		{ "[bruteforce]\nallow = 10.0.0.0/8, 10.0.0.0/8\n",
		  ":2: [bruteforce] allow: '10.0.0.0/8' listed twice" },
		{ "[bruteforce]\nsyn_ports = 993 2525\n",
		  ":2: [bruteforce] syn_ports has 2525, which is not in [ports] inbound" },
		{ "[bruteforce]\nban = 2h\nban_max = 1h\n",
		  ":3: [bruteforce] ban_max: ban_max is shorter than ban" },
		{ "[bruteforce]\nban_factor = 0\n",
		  ":2: [bruteforce] ban_factor: bad number '0': out of range (1 to 100)" },
		{ "[bruteforce]\nipv6_prefix = 129\n",
		  ":2: [bruteforce] ipv6_prefix: bad number '129': out of range (1 to 128)" },
		{ "[bruteforce]\nipv6_prefix = 31\n",
		  ":2: [bruteforce] ipv6_prefix: 31 is broader than a /32, the shortest a provider "
		  "gives one site" },
		{ "[relay]\ntrusted = mynetworks\n",
		  ":2: [relay] trusted: bad prefix 'mynetworks': not an IPv4 or IPv6 address" },
		{ "[relay]\ncheck_targets = mx1.example.net mx/2\n",
		  ":2: [relay] check_targets: 'mx/2' is not a host or domain name" },
		{ "[dnsbl]\nzones = zen.spamhaus.org ..bl\n",
		  ":2: [dnsbl] zones: '..bl' is not a host or domain name" },
		{ "[dnsbl]\naddresses = mail.example.net\n",
		  ":2: [dnsbl] addresses: 'mail.example.net' is not a numeric IPv4 or IPv6 "
		  "address" },
		{ "[dnsbl]\ninterval = soon\n",
		  ":2: [dnsbl] interval: bad duration 'soon': expected a number, as in 90s, 15m, "
		  "2h, 1d or 1h30m" },
		{ "[notify]\nalertmanager = 127.0.0.1:9093\n",
		  ":2: [notify] alertmanager: '127.0.0.1:9093' is not an http:// or https:// URL "
		  "with a host" },
		{ "[notify]\nalertmanager = http://am/\"x\n",
		  ":2: [notify] alertmanager: 'http://am/\"x': a URL without spaces, quotes, query "
		  "or fragment" },
		{ "[notify]\nexec = hooks/lock\n",
		  ":2: [notify] exec: 'hooks/lock' is not an absolute path (the hook runs as root: "
		  "it and its directories must be root's and writable by no one else)" },
		{ "[notify]\nexec = /etc/passwd\n",
		  ":2: [notify] exec: /etc/passwd is not executable (the hook runs as root: it and "
		  "its directories must be root's and writable by no one else)" },
		{ "[notify]\nexec_timeout = 0s\n",
		  ":2: [notify] exec_timeout: bad duration '0s': a duration must be more than zero" },
		/* The first error is the one reported. */
		{ "[daemon]\nbad line\n[nowhere]\n",
		  ":2: [daemon] expected 'key = value', got 'bad line'" },
		{ "[policy]\nburst = 5\n[daemon]\nnope = 1\n",
		  ":4: [daemon] unknown key 'nope' (expected interfaces, cgroup, "
		  "detach_on_exit, log_level or subuid)" },
		{ "[notify]\nowner_fallback = admin@example.net, x@example.org\n",
		  ":2: [notify] owner_fallback: 'admin@example.net, x@example.org' is not a plain "
		  "address (local@domain)" },
		{ "[notify]\nowner_fallback = Admin <admin@example.net>\n",
		  ":2: [notify] owner_fallback: 'Admin <admin@example.net>' is not a plain address "
		  "(local@domain)" },
	};
	struct sg_config *c = new_config();
	char err[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i].text, c, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].err);
	}
	free(c);
}

/* A file that fails, anywhere, changes nothing. */
/* An override takes [detect]'s thresholds but for the ones it gives, wherever [detect] is. */
static void test_overrides(void **state)
{
	struct sg_config *c = new_config();
	char err[1024];

	assert_int_equal(load("[override news]\nlimit = 6000/h\nburst = 300\nrate_floor = 600/min\n"
			      "[override 1234]\nlimit = none\nactions = alert\n"
			      "[detect]\nrate_floor = 10/s\ndestinations = off\n",
			      c, err, sizeof(err)),
			 0);
	assert_int_equal(c->n_overrides, 2);
	assert_string_equal(c->overrides[0].name, "news");
	assert_int_equal(c->overrides[0].limit.mode, SG_MODE_THROTTLE);
	assert_int_equal(c->overrides[0].limit.rate_per_hour, 6000);
	assert_int_equal(c->overrides[0].limit.burst, 300);
	assert_true(c->overrides[0].t.rate_floor == 600);
	assert_int_equal(c->overrides[0].t.destinations, 0);
	assert_true(c->overrides[0].t.new_sender_rate == 60);
	assert_int_equal(c->overrides[0].alert_only, 0);
	assert_int_equal(c->overrides[1].limit.mode, SG_MODE_OBSERVE);
	assert_int_equal(c->overrides[1].alert_only, 1);
	assert_true(c->overrides[1].t.rate_floor == 600);
	assert_true(c->detect.thresholds.rate_floor == 600);
	free(c);
}

static void test_failure_changes_nothing(void **state)
{
	struct sg_config *c = new_config(), *before = malloc(sizeof(*c));
	char err[1024];

	assert_non_null(before);
	assert_int_equal(load("[daemon]\ninterfaces = eth9\n[policy]\ndefault = block\n", c, err,
			      sizeof(err)),
			 0);
	memcpy(before, c, sizeof(*c));
	assert_int_equal(load("[daemon]\ninterfaces = eth0 eth1\ncgroup = /x\n[ports]\n"
			      "outbound = 2525\n[policy]\ndefault = throttle\nburst = x\n",
			      c, err, sizeof(err)),
			 -EINVAL);
	assert_memory_equal(c, before, sizeof(*c));
	assert_int_equal(sg_config_load("/nonexistent/smtpguard.conf", c, err, sizeof(err)),
			 -ENOENT);
	assert_memory_equal(c, before, sizeof(*c));
	free(before);
	free(c);
}

static void test_unreadable(void **state)
{
	struct sg_config *c = new_config();
	char err[1024];

	assert_int_equal(sg_config_load("/nonexistent/smtpguard.conf", c, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/smtpguard.conf: No such file or directory");
	assert_int_equal(sg_config_load("/", c, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: Is a directory");
	free(c);
}

/*
 * Loads FILE in a child, which must see it refused as want says (after the path) within a
 * second and with less than 16 MiB more memory; SIGALRM ends a child that reads on.
 */
static void assert_refused_early(const char *file, const char *want)
{
	struct sg_config *c = malloc(sizeof(*c));
	struct rusage before, after;
	char err[1024];
	int status;
	pid_t pid;

	assert_non_null(c);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		alarm(1);
		getrusage(RUSAGE_SELF, &before);
		if (sg_config_load(file, c, err, sizeof(err)) != -EINVAL ||
		    strcmp(err + strlen(file), want)) {
			fprintf(stderr, "%s: got '%s', want '%s'\n", file, err, want);
			_exit(1);
		}
		getrusage(RUSAGE_SELF, &after);
		_exit(after.ru_maxrss - before.ru_maxrss < 16 * 1024 ? 0 : 2);
	}
	free(c);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFSIGNALED(status)); /* SIGALRM: still reading after a second */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A child writing 'a' into a pipe, 256 MiB at most: a line that never ends. */
static pid_t endless_line(char *file, size_t len, int *rd)
{
	static char block[65536];
	int fds[2], i;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(fds[0]);
		memset(block, 'a', sizeof(block));
		for (i = 0; i < 4096 && write(fds[1], block, sizeof(block)) > 0; i++)
			;
		_exit(0);
	}
	close(fds[1]);
	*rd = fds[0];
	snprintf(file, len, "/proc/self/fd/%d", fds[0]);
	return pid;
}

/*
 * What is read is bounded: a line is refused once it is longer than a line may be, before the
 * rest of it is read; a NUL byte is refused where it is; and the whole file has a size limit.
 */
static void test_bounded_reading(void **state)
{
	static const char nul[] = "[daemon]\nlog_level = in\0fo\n";
	char file[64];
	FILE *f;
	pid_t pid;
	int fd, i;

	assert_refused_early("/dev/zero", ":1: a NUL byte in the line");

	pid = endless_line(file, sizeof(file), &fd);
	assert_refused_early(file, ":1: line longer than 198 characters");
	close(fd);
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	write_conf("");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, f), sizeof(nul) - 1);
	fclose(f);
	assert_refused_early(path, ":2: a NUL byte in the line");

	/* 4-byte comment lines: the 262145th passes 1 MiB. */
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < 300000; i++)
		fputs("; c\n", f);
	fclose(f);
	assert_refused_early(path, ":262145: the file is larger than 1048576 bytes");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_budget_keys),
		cmocka_unit_test(test_dist_file),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_defence_keys),
		cmocka_unit_test(test_policy_and_listen),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_policy_socket),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bounded_reading),
		cmocka_unit_test(test_mta_source_keys),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_failure_changes_nothing),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
