#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The MTA lab: a real hosting mail server (Postfix and Dovecot) in two
# network namespaces, for end-to-end tests of the log followers and of the
# Postfix tables smtpguard maintains. Sourced only; every name is prefixed
# mlab_/MLAB_, so that it can be sourced next to lab.sh and the test libs.
#
#   netns $MLAB_NS_HOST  the hosting server: $MLAB_VETH_HOST with
#                        198.51.100.1/24 and 2001:db8:100::1/64, default
#                        routes via 198.51.100.2 and 2001:db8:100::2;
#                        a private Postfix (config $MLAB_POSTFIX_DIR, queue
#                        $MLAB/spool, log $MLAB_MAILLOG) on 198.51.100.1:25,
#                        198.51.100.1:587 (submission, AUTH required) and
#                        127.0.0.1:25, relaying everything not for
#                        hosting.test to [203.0.113.10]:25 (on port 25
#                        only for 127.0.0.0/8 and logged-in clients; for
#                        anyone with MLAB_OPEN_RELAY=yes); a private Dovecot
#                        (imap 143, pop3 110, on both addresses, log
#                        $MLAB_DOVECOT_LOG) that
#                        holds the hosting.test mailboxes under $MLAB/mail
#                        and is Postfix's SASL server
#   netns $MLAB_NS_INET  "the internet": 198.51.100.2/24 and the attackers'
#                        addresses $MLAB_ATTACKERS (198.51.100.10 to .14);
#                        2001:db8:100::2/64, and $MLAB_ATTACKERS6, ten
#                        addresses of one /64 (2001:db8:bad::10 to ::19);
#                        the remote MX 203.0.113.10 on its loopback, where
#                        sg_sink takes recipients ok*@ and answers 550 to
#                        every other ($MLAB_SINK_LOG)
#   accounts             $MLAB_VICTIM (weak password "victim"), $MLAB_ALICE
#                        and $MLAB_INFO (random passwords $MLAB_ALICE_PASS,
#                        $MLAB_INFO_PASS); all mailboxes belong to one
#                        system user, $MLAB_VMAIL_USER
#   /etc/netns/$MLAB_NS_HOST/postfix -> $MLAB_POSTFIX_DIR, so that under
#                        `ip netns exec $MLAB_NS_HOST` (mlab_in_host_etc) the
#                        default /etc/postfix is this instance: local users'
#                        sendmail (set-gid postdrop) only submits to the
#                        default config directory
#
# The lab's Postfix has the lines a hosting administrator adds for smtpguard
# (see mlab_write_main_cf); their two tables start empty. Run Postfix's
# commands on this instance with mlab_pf (postqueue, postsuper, postmap,
# postfix reload...). As observed with Postfix 3.7: an idle smtpd that
# finds a table changed by postmap exits instead of taking the next
# connection ("table ... has changed -- restarting"), so the next session
# applies it without a reload; HOLD is not final (a later
# restriction that rejects still does); a local user refused by
# authorized_submit_users gets sendmail's exit 75 and a message on stderr,
# and nothing reaches $MLAB_MAILLOG (sendmail is not set-gid: no postlogd).
#
# Nothing routes out of the namespaces, and only 198.51.100.0/24,
# 203.0.113.10, 2001:db8:100::/64 and 2001:db8:bad::/64 are used. Names are unique per run (namespaces sgmta-ID-*,
# users *-ID). Functions: mlab_up, mlab_down (safe at any point, and twice),
# mlab_in_host, mlab_in_inet, mlab_in_host_etc, mlab_pf, mlab_add_local_user,
# mlab_sendmail, mlab_swaks, mlab_imap, mlab_sink_stop, mlab_sink_start,
# mlab_queue_count, mlab_sink_count, mlab_mailbox_count. The caller sets
# its own traps. The namespaces, veth, sink and users are made and removed
# by scripts/lib/netlab.sh (nl_*).

MLAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$MLAB_ROOT/scripts/lib/netlab.sh"

MLAB_HOST4=198.51.100.1
MLAB_INET4=198.51.100.2
MLAB_HOST6=2001:db8:100::1
MLAB_INET6=2001:db8:100::2
MLAB_MX4=203.0.113.10
# shellcheck disable=SC2034 # for the scripts that source this file
MLAB_ATTACKERS=(198.51.100.10 198.51.100.11 198.51.100.12 198.51.100.13 198.51.100.14)
# One customer of an IPv6 provider: a /64, and any address in it.
# shellcheck disable=SC2034 # for the scripts that source this file
MLAB_ATTACKERS6=(2001:db8:bad::1{0..9})
MLAB_DOMAIN=hosting.test
MLAB_VICTIM=victim@$MLAB_DOMAIN
# Guessable from the address: what a password-spraying bot finds.
MLAB_VICTIM_PASS=victim
MLAB_ALICE=alice@$MLAB_DOMAIN
MLAB_INFO=info@$MLAB_DOMAIN
# Dovecot's brute-force brakes: the delay of every failed login (Dovecot's
# default), and the per-address penalty (doubling up to 15 s), off unless
# "yes". Set before mlab_up.
MLAB_AUTH_FAILURE_DELAY=${MLAB_AUTH_FAILURE_DELAY:-2 secs}
MLAB_AUTH_PENALTY=${MLAB_AUTH_PENALTY:-no}
# How long the sink lives at most: longer than any test, bounded all the same.
MLAB_SINK_SECONDS=3600
# How late the MX answers each recipient (ms): set before mlab_up for a
# tarpitting MX, under which the server's queue builds up as it does on a
# real spam run.
MLAB_SINK_RCPT_DELAY_MS=${MLAB_SINK_RCPT_DELAY_MS:-0}
# How many deliveries Postfix makes to the MX at once (its default 20 when
# empty). A real spam run outnumbers any limit, so most of it waits in the
# queue; a test's forty messages do only under a limit this low. Set before
# mlab_up.
MLAB_SMTP_CONCURRENCY=${MLAB_SMTP_CONCURRENCY:-}
# "yes": Postfix relays for anyone (S5), as a botched update leaves it:
# mynetworks = 0.0.0.0/0, which its default smtpd_relay_restrictions
# (permit_mynetworks first) let through. Not a relay restriction list
# ending in permit: smtpd refuses to start on one ("specify at least one
# working instance of: reject_unauth_destination..."). Set before mlab_up.
MLAB_OPEN_RELAY=${MLAB_OPEN_RELAY:-no}
# A socket name under the queue directory (private/smtpguard-policy, as
# dist/postfix-main.cf.smtpguard has it): smtpd asks the policy service
# there at the end of each message (port 25 and submission) and, while
# nothing answers, defers it with smtpd_policy_service_default_action's
# default, 451 4.3.5. Empty: no policy service. Set before mlab_up.
MLAB_POLICY_SOCKET=${MLAB_POLICY_SOCKET:-}

# Set by mlab_up; empty while no lab is up.
MLAB_ID=
MLAB=
MLAB_NS_HOST=
MLAB_NS_INET=
MLAB_VETH_HOST=
MLAB_VETH_INET=
MLAB_POSTFIX_DIR=
MLAB_SPOOL=
MLAB_MAILLOG=
MLAB_DOVECOT_CONF=
MLAB_DOVECOT_LOG=
MLAB_SINK_LOG=
MLAB_SINK_PID=
MLAB_VMAIL_USER=
MLAB_ETC_NETNS=
MLAB_ALICE_PASS=
MLAB_INFO_PASS=

# --- helpers -----------------------------------------------------------------

mlab_log()
{
	echo "mta-lab: $*" >&2
}

# Runs CMD in the hosting server's network namespace (only: /etc and /sys are the host's).
mlab_in_host() # CMD...
{
	nl_in "$MLAB_NS_HOST" "$@"
}

# Runs CMD in "the internet".
mlab_in_inet() # CMD...
{
	nl_in "$MLAB_NS_INET" "$@"
}

# Runs CMD in the hosting server through `ip netns exec`: /etc/postfix is the
# lab's instance there (and /sys is remounted, hiding cgroup and bpffs mounts).
mlab_in_host_etc() # CMD...
{
	ip netns exec "$MLAB_NS_HOST" "$@"
}

# A Postfix command on the lab's instance, in the hosting server: mlab_pf postqueue -j.
mlab_pf() # postfix|postqueue|postsuper|postmap|postconf|postcat ARGS...
{
	local cmd=$1

	shift
	mlab_in_host "$cmd" -c "$MLAB_POSTFIX_DIR" "$@"
}

mlab_check()
{
	local why

	why=$(nl_need ip nsenter setpriv useradd userdel swaks curl postfix postmap postqueue \
		postsuper dovecot doveadm) || { mlab_log "$why (scripts/install-deps.sh)"; return 1; }
	[ -x "$NL_SINK_BIN" ] || { mlab_log "$NL_SINK_BIN missing (make build/tools/sg_sink)"; return 1; }
	[ -f /usr/share/postfix/master.cf.dist ] || { mlab_log "/usr/share/postfix/master.cf.dist missing"; return 1; }
}

# Names for a new lab: unique per run, short enough for 15-character interface names.
mlab_names()
{
	nl_names MLAB sgmta sgm
	MLAB_VMAIL_USER=vmail-$MLAB_ID
	MLAB_ETC_NETNS=/etc/netns/$MLAB_NS_HOST
}

# --- the remote MX -----------------------------------------------------------

# Starts the remote MX, sg_sink on 203.0.113.10:25 (again after
# mlab_sink_stop: deferred mail then goes out at the next queue run, within
# seconds). Its log goes on in $MLAB_SINK_LOG.
mlab_sink_start()
{
	[ -z "$MLAB_SINK_PID" ] || return 0
	nl_sink_start "$MLAB" "$MLAB_NS_INET" "$MLAB_SINK_LOG" --listen "$MLAB_MX4:25" --accept ok \
		--max-seconds "$MLAB_SINK_SECONDS" --rcpt-delay-ms "$MLAB_SINK_RCPT_DELAY_MS" || return 1
	MLAB_SINK_PID=$NL_PID
}

# Stops the remote MX: the hosting server's mail is deferred ("Connection refused").
mlab_sink_stop()
{
	[ -n "$MLAB_SINK_PID" ] || return 0
	nl_sink_stop "$MLAB" "$MLAB_SINK_PID"
	MLAB_SINK_PID=
}

# --- users -------------------------------------------------------------------

# A local hosting customer (a Unix user, as PHP's mail() runs as) named
# NAME-ID, with a home under $MLAB; prints the name.
mlab_add_local_user() # NAME
{
	local user=$1-$MLAB_ID

	nl_user_add "$MLAB" "$user" "$MLAB/home/$user" >&2 || return 1
	echo "$user"
}

# The Unix name of USER: as given, or NAME-ID for a NAME given to mlab_add_local_user.
mlab_user_name() # USER
{
	if id -u "$1-$MLAB_ID" >/dev/null 2>&1; then
		echo "$1-$MLAB_ID"
	else
		echo "$1"
	fi
}

# --- Postfix -----------------------------------------------------------------

# Every address and mailbox of hosting.test, for virtual(8).
mlab_write_vmailbox()
{
	local a

	for a in "$MLAB_VICTIM" "$MLAB_ALICE" "$MLAB_INFO"; do
		printf '%s %s/%s/\n' "$a" "$MLAB_DOMAIN" "${a%@*}"
	done >"$MLAB_POSTFIX_DIR/vmailbox"
}

mlab_write_main_cf()
{
	local uid gid mynetworks=127.0.0.0/8

	uid=$(id -u "$MLAB_VMAIL_USER") && gid=$(id -g "$MLAB_VMAIL_USER") || return 1
	[ "$MLAB_OPEN_RELAY" != yes ] || mynetworks=0.0.0.0/0
	cat >"$MLAB_POSTFIX_DIR/main.cf" <<EOF
# The smtpguard MTA lab $MLAB_ID: test only (no TLS, AUTH in clear text).
compatibility_level = 3.6
queue_directory = $MLAB_SPOOL
data_directory = $MLAB/lib
maillog_file = $MLAB_MAILLOG
maillog_file_prefixes = $MLAB/
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.$MLAB_DOMAIN
mydomain = $MLAB_DOMAIN
myorigin = \$myhostname
mydestination = localhost
inet_interfaces = all
inet_protocols = ipv4
mynetworks = $mynetworks
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
readme_directory = no
smtpd_banner = \$myhostname ESMTP
relayhost = [$MLAB_MX4]:25
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_connect_timeout = 5s
smtp_destination_concurrency_limit = ${MLAB_SMTP_CONCURRENCY:-20}
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
# AUTH on port 25 too, as hosting servers offer it: without SASL, an smtpd
# logs "restriction \`check_sasl_access' ignored: no SASL support" per session.
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
virtual_mailbox_domains = $MLAB_DOMAIN
virtual_mailbox_base = $MLAB/mail
virtual_mailbox_maps = texthash:$MLAB_POSTFIX_DIR/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = $uid
# Deferred and released mail is tried again within seconds.
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
# What a hosting administrator adds for smtpguard, which maintains the tables.
smtpd_sender_restrictions = check_sasl_access hash:$MLAB_POSTFIX_DIR/smtpguard_sasl_access
authorized_submit_users = !hash:$MLAB_POSTFIX_DIR/smtpguard_submit_users, static:anyone
EOF
	# End of data, not DATA: a client that sends BDAT (CHUNKING) skips smtpd_data_restrictions.
	[ -z "$MLAB_POLICY_SOCKET" ] ||
		echo "smtpd_end_of_data_restrictions = check_policy_service unix:$MLAB_POLICY_SOCKET" \
			>>"$MLAB_POSTFIX_DIR/main.cf"
}

# master.cf: the distribution's, no service chrooted, the public services
# on the lab's addresses only, and the submission service.
mlab_write_master_cf()
{
	awk -v h="$MLAB_HOST4" '
		/^[a-z0-9]/ && NF >= 8 {
			$5 = "n"
			if ($1 == "smtp" && $2 == "inet") {
				print "127.0.0.1:smtp inet n - n - - smtpd"
				$1 = h ":smtp"
			}
		}
		{ print }' /usr/share/postfix/master.cf.dist >"$MLAB_POSTFIX_DIR/master.cf"
	cat >>"$MLAB_POSTFIX_DIR/master.cf" <<EOF
$MLAB_HOST4:submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
EOF
	grep -q '^postlog[[:space:]]*unix-dgram' "$MLAB_POSTFIX_DIR/master.cf" ||
		echo 'postlog unix-dgram n - n - 1 postlogd' >>"$MLAB_POSTFIX_DIR/master.cf"
}

# The instance: config (with copies of the files Postfix keeps in its
# meta_directory, /etc/postfix, which is this directory under
# mlab_in_host_etc), the smtpguard tables, empty, and the queue.
mlab_postfix_setup()
{
	local t

	mkdir -p "$MLAB_POSTFIX_DIR" "$MLAB/lib" "$MLAB_SPOOL"
	chmod 0755 "$MLAB_POSTFIX_DIR"
	chown postfix: "$MLAB/lib"
	cp -a /etc/postfix/dynamicmaps.cf /etc/postfix/dynamicmaps.cf.d /etc/postfix/postfix-files \
		/etc/postfix/postfix-files.d /etc/postfix/postfix-script /etc/postfix/post-install \
		"$MLAB_POSTFIX_DIR/" || { mlab_log "cannot copy Postfix's meta files"; return 1; }
	mlab_write_main_cf || { mlab_log "cannot write main.cf"; return 1; }
	# Postfix reads a main.cf changed in the last second again and again, for
	# up to 2 s, lest it be half written: this one is whole.
	touch -d "@$((EPOCHSECONDS - 2))" "$MLAB_POSTFIX_DIR/main.cf"
	mlab_write_master_cf
	mlab_write_vmailbox
	for t in smtpguard_sasl_access smtpguard_submit_users; do
		install -m 0644 /dev/null "$MLAB_POSTFIX_DIR/$t"
		postmap -c "$MLAB_POSTFIX_DIR" "hash:$MLAB_POSTFIX_DIR/$t" ||
			{ mlab_log "postmap $t failed"; return 1; }
	done
	# The queue's directories, owned as Postfix wants them, before Dovecot
	# puts its socket in private/. That is all of `postfix check` a new
	# instance of a config of ours needs, and `postfix start` skips its own
	# (check-fatal and check-warn: seconds a test) with quick-start there.
	postfix -c "$MLAB_POSTFIX_DIR" post-install create-missing >>"$MLAB/postfix.out" 2>&1 ||
		{ mlab_log "cannot create Postfix's queue: $(tail -n 3 "$MLAB/postfix.out")"; return 1; }
	touch "$MLAB_SPOOL/quick-start"
	# The host's /etc/postfix is this instance under `ip netns exec`.
	nl_netns_etc "$MLAB" "$MLAB_NS_HOST" || return 1
	ln -s "$MLAB_POSTFIX_DIR" "$MLAB_ETC_NETNS/postfix"
}

mlab_postfix_start()
{
	mlab_pf postfix start >>"$MLAB/postfix.out" 2>&1 ||
		{ mlab_log "postfix start failed: $(tail -n 3 "$MLAB/postfix.out")"; return 1; }
	nl_made "$MLAB" started postfix
	nl_wait_until 100 nl_listening "$MLAB_NS_HOST" "$MLAB_HOST4" 587 ||
		{ mlab_log "Postfix does not answer on $MLAB_HOST4:587"; return 1; }
}

mlab_master_pid()
{
	local pid

	read -r pid 2>/dev/null <"$MLAB_SPOOL/pid/master.pid" && [ -n "$pid" ] && echo "$pid"
}

# --- Dovecot -----------------------------------------------------------------

mlab_dovecot_setup()
{
	local uid gid a

	uid=$(id -u "$MLAB_VMAIL_USER") && gid=$(id -g "$MLAB_VMAIL_USER") || return 1
	MLAB_ALICE_PASS=$(nl_password)
	MLAB_INFO_PASS=$(nl_password)
	mkdir -p "$MLAB/dovecot/run" "$MLAB/dovecot/state" "$MLAB_SPOOL/private"
	chmod 0755 "$MLAB/dovecot" "$MLAB/dovecot/run"
	install -m 0640 -g dovecot /dev/null "$MLAB/dovecot/users"
	printf '%s:{PLAIN}%s\n' "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_ALICE" "$MLAB_ALICE_PASS" \
		"$MLAB_INFO" "$MLAB_INFO_PASS" >"$MLAB/dovecot/users"
	# The mailboxes, made now so that they count 0 before any delivery.
	for a in "$MLAB_VICTIM" "$MLAB_ALICE" "$MLAB_INFO"; do
		mkdir -p "$MLAB/mail/$MLAB_DOMAIN/${a%@*}/"{new,cur,tmp}
	done
	chown -R "$uid:$gid" "$MLAB/mail"
	chmod 0700 "$MLAB/mail"
	cat >"$MLAB_DOVECOT_CONF" <<EOF
# The smtpguard MTA lab $MLAB_ID: test only (no TLS, plain text passwords).
instance_name = sgmta-$MLAB_ID
base_dir = $MLAB/dovecot/run
state_dir = $MLAB/dovecot/state
log_path = $MLAB_DOVECOT_LOG
protocols = imap pop3
listen = $MLAB_HOST4, $MLAB_HOST6
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_verbose_passwords = no
first_valid_uid = $uid
last_valid_uid = $uid
mail_location = maildir:$MLAB/mail/%d/%n
passdb {
  driver = passwd-file
  args = scheme=PLAIN $MLAB/dovecot/users
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$MLAB/mail/%d/%n
}
auth_failure_delay = $MLAB_AUTH_FAILURE_DELAY
service auth {
  unix_listener $MLAB_SPOOL/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
	# Without this, a failure from an address delays even good logins from
	# it by 2 to 15 s, which outlasts mlab_swaks' 3 s.
	[ "$MLAB_AUTH_PENALTY" = yes ] || cat >>"$MLAB_DOVECOT_CONF" <<EOF
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

mlab_dovecot_start()
{
	mlab_in_host dovecot -c "$MLAB_DOVECOT_CONF" >>"$MLAB/dovecot.out" 2>&1 ||
		{ mlab_log "dovecot failed: $(tail -n 3 "$MLAB/dovecot.out")"; return 1; }
	nl_made "$MLAB" started dovecot
	nl_wait_until 100 test -S "$MLAB_SPOOL/private/auth" ||
		{ mlab_log "no Dovecot auth socket: $(tail -n 3 "$MLAB_DOVECOT_LOG" 2>/dev/null)"; return 1; }
	nl_wait_until 50 nl_listening "$MLAB_NS_HOST" "$MLAB_HOST4" 143 ||
		{ mlab_log "Dovecot does not answer on $MLAB_HOST4:143"; return 1; }
}

mlab_dovecot_pid()
{
	local pid

	read -r pid 2>/dev/null <"$MLAB/dovecot/run/master.pid" && [ -n "$pid" ] && echo "$pid"
}

# --- sending and reading -----------------------------------------------------

# One authenticated message (AUTH PLAIN) from SRC_IP in "the internet" to
# the submission port; returns swaks' status (0: accepted).
mlab_swaks() # SRC_IP ACCOUNT PASSWORD FROM TO [SWAKS-ARGS...]
{
	nl_swaks "$MLAB_NS_INET" "$MLAB_HOST4:587" "$@"
}

# One IMAP login (and INBOX listing) from SRC_IP; returns curl's status (67: login denied).
mlab_imap() # SRC_IP ACCOUNT PASSWORD [CURL-ARGS...]
{
	local src=$1 account=$2 pass=$3 server=$MLAB_HOST4

	shift 3
	[[ $src != *:* ]] || server="[$MLAB_HOST6]"
	mlab_in_inet curl -sS --max-time 5 --interface "$src" --user "$account:$pass" "$@" \
		"imap://$server/INBOX"
}

# A local submission with /usr/sbin/sendmail (as PHP's mail() does) by Unix
# user USER into the lab's Postfix; returns sendmail's status.
mlab_sendmail() # USER FROM TO...
{
	local user from=$2 uid gid

	user=$(mlab_user_name "$1")
	uid=$(id -u "$user") && gid=$(id -g "$user") || return 1
	shift 2
	printf 'From: %s\nTo: %s\nSubject: mta-lab local %s\n\nSent by %s with sendmail.\n' \
		"$from" "$*" "$RANDOM" "$user" |
		mlab_in_host_etc setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
			env -i PATH=/usr/sbin:/usr/bin:/bin HOME="$MLAB/home/$user" USER="$user" \
			LOGNAME="$user" /usr/sbin/sendmail -f "$from" -- "$@"
}

# The messages in the instance's queue QUEUE (default all), from the queue files.
mlab_queue_count() # [hold|deferred|active|incoming|maildrop|all]
{
	local q=${1:-all} dirs=()

	case $q in
	all) dirs=(maildrop incoming active deferred hold) ;;
	hold | deferred | active | incoming | maildrop) dirs=("$q") ;;
	*) mlab_log "mlab_queue_count: unknown queue $q"; return 2 ;;
	esac
	(cd "$MLAB_SPOOL" && find "${dirs[@]}" -type f 2>/dev/null | wc -l)
}

# Sink log lines of KIND from source address SRC (all sources without):
# 250 and 550 (recipients taken and refused), data (messages), accept
# (connections). The hosting server's every message comes from 198.51.100.1.
mlab_sink_count() # 250|550|data|accept [SRC]
{
	nl_sink_count "$MLAB_SINK_LOG" "$@"
}

# The messages in ACCOUNT's mailbox (new and cur).
mlab_mailbox_count() # ACCOUNT
{
	local box=$MLAB/mail/${1#*@}/${1%@*}

	find "$box/new" "$box/cur" -type f 2>/dev/null | wc -l
}

# --- up and down -------------------------------------------------------------

# Builds the lab: namespaces, sink, vmail user, Postfix and Dovecot, both
# started and answering. Returns non-zero, with a reason on stderr, if any
# step fails: the caller's mlab_down removes what was made.
mlab_up()
{
	[ -z "$MLAB" ] || { mlab_log "a lab is up ($MLAB): mlab_down first"; return 1; }
	mlab_check || return 1
	mlab_names
	MLAB=$(mktemp -d /tmp/sgmta-"$MLAB_ID".XXXXXX) || return 1
	# Postfix, Dovecot, the vmail and local users must traverse it.
	chmod 0711 "$MLAB"
	mkdir "$MLAB/home"
	MLAB_POSTFIX_DIR=$MLAB/postfix
	MLAB_SPOOL=$MLAB/spool
	MLAB_MAILLOG=$MLAB/maillog
	MLAB_DOVECOT_CONF=$MLAB/dovecot/dovecot.conf
	MLAB_DOVECOT_LOG=$MLAB/dovecot.log
	MLAB_SINK_LOG=$MLAB/sink.log

	nl_mail_network "$MLAB" "$MLAB_NS_HOST" "$MLAB_VETH_HOST" "$MLAB_NS_INET" \
		"$MLAB_VETH_INET" "$MLAB_HOST4" "$MLAB_INET4" "$MLAB_MX4" "${MLAB_ATTACKERS[@]}" || { mlab_log "cannot build the network"; return 1; }
	nl_addrs "$MLAB_NS_HOST" "$MLAB_VETH_HOST" "$MLAB_HOST6/64" &&
		nl_addrs "$MLAB_NS_INET" "$MLAB_VETH_INET" "$MLAB_INET6/64" "${MLAB_ATTACKERS6[@]/%//64}" &&
		ip -n "$MLAB_NS_HOST" -6 route add default via "$MLAB_INET6" || { mlab_log "cannot add IPv6"; return 1; }
	mlab_sink_start || return 1
	nl_user_add "$MLAB" "$MLAB_VMAIL_USER" "$MLAB/mail" || return 1
	mlab_postfix_setup || return 1
	mlab_dovecot_setup || { mlab_log "cannot configure Dovecot"; return 1; }
	mlab_dovecot_start || return 1
	mlab_postfix_start || return 1
}

# Removes everything mlab_up made, whatever state it got to; safe to run twice.
mlab_down()
{
	local pid

	if [ -z "$MLAB" ] || [ ! -d "$MLAB" ]; then
		MLAB=
		return 0
	fi
	if grep -qsx postfix "$MLAB/started"; then
		mlab_pf postfix stop >/dev/null 2>&1 || true
		pid=$(mlab_master_pid) && nl_kill TERM "$pid"
	fi
	if grep -qsx dovecot "$MLAB/started"; then
		# SIGTERM to its master ends it within about a second (doveadm stop: 2.5 s).
		if pid=$(mlab_dovecot_pid); then
			nl_kill TERM "$pid"
		else
			mlab_in_host doveadm -c "$MLAB_DOVECOT_CONF" stop >/dev/null 2>&1 || true
		fi
	fi
	# Whatever is still running of the lab: Postfix and Dovecot children, sendmail, swaks.
	nl_kill_leftovers "$MLAB" ""
	nl_down "$MLAB"
	MLAB=
	MLAB_SINK_PID=
}
