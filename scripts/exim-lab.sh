#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Exim lab: a real hosting mail server running Debian's Exim 4 in two
# network namespaces, for end-to-end tests of the Exim log parser and of
# containment through Exim (dist/exim4-smtpguard.acl, exim -Mf/-Mt). Exim is
# not installed: scripts/fetch-exim.sh unpacks Debian's packages into
# build/exim/root, and the lab runs that copy beside the host's Postfix.
# Sourced only; every name is prefixed elab_/ELAB_, so that it can be
# sourced next to lab.sh, mta-lab.sh and the test libs.
#
#   netns $ELAB_NS_HOST  the hosting server: $ELAB_VETH_HOST with
#                        198.51.100.1/24, default route via 198.51.100.2;
#                        Exim (config $ELAB_CONF, spool $ELAB_SPOOL, log
#                        $ELAB_MAINLOG) listening on 198.51.100.1:25 and
#                        :587 with AUTH PLAIN and LOGIN against an lsearch
#                        file, relaying what is not for hosting.test to
#                        203.0.113.10:25, delivering hosting.test into mbox
#                        files under $ELAB/mail, a queue run every
#                        $ELAB_QUEUE_INTERVAL
#   netns $ELAB_NS_INET  "the internet": 198.51.100.2/24 and the attackers'
#                        addresses $ELAB_ATTACKERS (198.51.100.10 to .14);
#                        the remote MX 203.0.113.10 on its loopback, where
#                        sg_sink takes recipients ok*@ and answers 550 to
#                        every other ($ELAB_SINK_LOG)
#   accounts             $ELAB_VICTIM (weak password "victim"), $ELAB_ALICE
#                        and $ELAB_INFO (long random passwords)
#   mount namespace      Debian's exim4 needs the user Debian-exim before it
#                        reads any config, looks for its config at
#                        /etc/exim4/exim4.conf, and is set-uid root, so that
#                        the loader ignores LD_LIBRARY_PATH (libidn12 is not
#                        on the host). A holder process ($ELAB_HOLDER_PID,
#                        in the hosting server's netns) keeps a private
#                        mount namespace with an overlay on /etc whose upper
#                        layer ($ELAB/etc-upper) adds Debian-exim (a free
#                        UID, $ELAB_EXIM_UID) to copies of passwd and group,
#                        a linker cache that includes the unpacked
#                        libraries, and exim4/exim4.conf -> $ELAB_CONF.
#                        Every Exim process runs there; the host's /etc is
#                        never written.
#   $ELAB_EXIM_CMD       a wrapper that runs the lab's exim with its
#                        arguments in that namespace (and the hosting
#                        server's netns): what smtpguard's [mta] exim names
#                        outside it; a daemon run inside it (the tests',
#                        under the unit's sandbox) names $ELAB_EXIM_BIN
#   $ELAB_EXIM_DIR       where the ACL of dist/exim4-smtpguard.acl finds
#                        smtpguard_accounts and smtpguard_local_senders
#                        (absent at first): smtpguard's [mta] exim_dir
#
# Nothing routes out of the namespaces, and only 198.51.100.0/24 and
# 203.0.113.10 are used. Names are unique per run (namespaces
# sgexim-ID-*). Functions: elab_up, elab_down (safe at any point, and
# twice), elab_exim, elab_exim_as, elab_swaks,
# elab_sink_stop, elab_sink_start, elab_queue_count, elab_sink_count,
# elab_qids_of, elab_escaped, elab_mailbox_count. The caller sets its own
# traps. The namespaces, veth and sink are made and removed by
# scripts/lib/netlab.sh (nl_*).

ELAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$ELAB_ROOT/scripts/lib/netlab.sh"
# Where scripts/fetch-exim.sh unpacked Debian's Exim.
ELAB_EXIM_DIST=${ELAB_EXIM_DIST:-$ELAB_ROOT/build/exim}
ELAB_EXIM_BIN=$ELAB_EXIM_DIST/root/usr/sbin/exim4

ELAB_HOST4=198.51.100.1
ELAB_INET4=198.51.100.2
ELAB_MX4=203.0.113.10
# shellcheck disable=SC2034 # for the scripts that source this file
ELAB_ATTACKERS=(198.51.100.10 198.51.100.11 198.51.100.12 198.51.100.13 198.51.100.14)
ELAB_DOMAIN=hosting.test
ELAB_VICTIM=victim@$ELAB_DOMAIN
# Guessable from the address: what a password-spraying bot finds.
ELAB_VICTIM_PASS=victim
ELAB_ALICE=alice@$ELAB_DOMAIN
ELAB_INFO=info@$ELAB_DOMAIN
# How often Exim's daemon starts a queue run (thawed mail goes out at the next).
ELAB_QUEUE_INTERVAL=${ELAB_QUEUE_INTERVAL:-2s}
# A socket path: the lab's Exim includes dist/exim4-smtpguard-policy.acl
# and asks the policy service there for every message, SMTP (DATA ACL) and
# local (non-SMTP ACL); while nothing answers, it defers. Empty: no policy
# service. Set before elab_up.
ELAB_POLICY_SOCKET=${ELAB_POLICY_SOCKET:-}
# How long the sink and the namespace holder live at most: longer than any
# test, bounded all the same.
ELAB_SINK_SECONDS=3600
ELAB_HOLD_SECONDS=3600
# A bpffs mount (a test's pins) that the lab's mount namespace keeps, so
# that a daemon sandboxed there sees the pins; every other bpffs and
# namespace mount is left out of it. Set before elab_up.
ELAB_KEEP_BPFFS=${ELAB_KEEP_BPFFS:-}
# The first UID (and GID) tried for Debian-exim, which the host must not use.
ELAB_EXIM_UID_MIN=64901

# Set by elab_up; empty while no lab is up.
ELAB_ID=
ELAB=
ELAB_NS_HOST=
ELAB_NS_INET=
ELAB_VETH_HOST=
ELAB_VETH_INET=
ELAB_CONF=
ELAB_SPOOL=
ELAB_MAINLOG=
ELAB_PANICLOG=
ELAB_EXIM_DIR=
ELAB_EXIM_CMD=
ELAB_EXIM_UID=
ELAB_EXIM_PID=
ELAB_HOLDER_PID=
ELAB_MNTNS=
ELAB_SINK_LOG=
ELAB_SINK_PID=
ELAB_ALICE_PASS=
ELAB_INFO_PASS=

# --- helpers -----------------------------------------------------------------

elab_log()
{
	echo "exim-lab: $*" >&2
}

# The lab's exim with ARGS, in the lab's namespaces, as root: elab_exim -bp.
elab_exim() # ARGS...
{
	"$ELAB_EXIM_CMD" "$@"
}

# The lab's exim as USER (a host user: the overlay's passwd copies the
# host's at elab_up), e.g. a local submission: elab_exim_as web -bm -t.
elab_exim_as() # USER ARGS...
{
	local uid gid

	uid=$(id -u "$1") && gid=$(id -g "$1") || return 1
	shift
	nsenter --mount="/proc/$ELAB_HOLDER_PID/ns/mnt" --net="/proc/$ELAB_HOLDER_PID/ns/net" -- \
		setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		env -i PATH=/usr/sbin:/usr/bin:/bin "$ELAB_EXIM_BIN" "$@"
}

elab_check()
{
	local why

	why=$(nl_need ip nsenter unshare setpriv ldconfig mount swaks ss) ||
		{ elab_log "$why"; return 1; }
	[ -x "$NL_SINK_BIN" ] || { elab_log "$NL_SINK_BIN missing (make build/tools/sg_sink)"; return 1; }
	[ -u "$ELAB_EXIM_BIN" ] ||
		{ elab_log "$ELAB_EXIM_BIN missing or not set-uid (scripts/fetch-exim.sh)"; return 1; }
	# Exim re-execs itself for every delivery and queue run: set-uid must work there.
	if findmnt -n -o OPTIONS -T "$ELAB_EXIM_BIN" | tr ',' '\n' | grep -qx nosuid; then
		elab_log "$ELAB_EXIM_DIST is on a nosuid mount: exim cannot regain root"
		return 1
	fi
	if ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
		elab_log "no overlay filesystem"
		return 1
	fi
}

# --- the remote MX -----------------------------------------------------------

# Starts the remote MX, sg_sink on 203.0.113.10:25 (again after
# elab_sink_stop: deferred mail then goes out at a later queue run). Its log
# goes on in $ELAB_SINK_LOG.
elab_sink_start()
{
	[ -z "$ELAB_SINK_PID" ] || return 0
	nl_sink_start "$ELAB" "$ELAB_NS_INET" "$ELAB_SINK_LOG" --listen "$ELAB_MX4:25" --accept ok \
		--max-seconds "$ELAB_SINK_SECONDS" || return 1
	ELAB_SINK_PID=$NL_PID
}

# Stops the remote MX: the hosting server's mail is deferred ("Connection refused").
elab_sink_stop()
{
	[ -n "$ELAB_SINK_PID" ] || return 0
	nl_sink_stop "$ELAB" "$ELAB_SINK_PID"
	ELAB_SINK_PID=
}

# --- the private /etc --------------------------------------------------------

# A UID and GID the host's passwd and group leave free, for Debian-exim.
elab_free_uid()
{
	local u=$ELAB_EXIM_UID_MIN

	while getent passwd "$u" >/dev/null || getent group "$u" >/dev/null; do
		u=$((u + 1))
		[ "$u" -lt 65534 ] || return 1
	done
	echo "$u"
}

# The overlay's upper layer: passwd and group with Debian-exim, the linker
# cache, the config at Exim's compiled-in path.
elab_etc()
{
	local up=$ELAB/etc-upper lib

	ELAB_EXIM_UID=$(elab_free_uid) || { elab_log "no free UID for Debian-exim"; return 1; }
	mkdir -p "$up/exim4" "$ELAB/etc-work"
	cp /etc/passwd /etc/group "$up/" || return 1
	echo "Debian-exim:x:$ELAB_EXIM_UID:$ELAB_EXIM_UID:Exim lab $ELAB_ID:$ELAB_SPOOL:/usr/sbin/nologin" \
		>>"$up/passwd"
	echo "Debian-exim:x:$ELAB_EXIM_UID:" >>"$up/group"
	# A set-uid exim ignores LD_LIBRARY_PATH: libidn12 comes through the cache.
	lib=$(find "$ELAB_EXIM_DIST/root" -name 'libidn.so.12*' -printf '%h\n' -quit)
	[ -n "$lib" ] || { elab_log "no libidn.so.12 under $ELAB_EXIM_DIST/root"; return 1; }
	printf 'include /etc/ld.so.conf.d/*.conf\n%s\n' "$lib" >"$ELAB/ld.so.conf"
	# ldconfig rewrites /var/cache/ldconfig/aux-cache whatever its options:
	# under a private tmpfs, so that the host's stays as it was.
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare --mount --propagation private -- sh -c '
		[ ! -d /var/cache/ldconfig ] || mount -t tmpfs sgexim-ldconfig /var/cache/ldconfig &&
		exec ldconfig -X -C "$1" -f "$2"' sh "$up/ld.so.cache" "$ELAB/ld.so.conf" \
		2>>"$ELAB/ldconfig.err" ||
		{ elab_log "ldconfig failed: $(tail -n 2 "$ELAB/ldconfig.err")"; return 1; }
	ln -s "$ELAB_CONF" "$up/exim4/exim4.conf"
}

elab_mounted() # PID
{
	awk '$5 == "/etc" && / - overlay sgexim-/ { found = 1 } END { exit !found }' \
		"/proc/$1/mountinfo" 2>/dev/null
}

# The holder: a process in the hosting server's netns and in a new mount
# namespace with the overlay on /etc, sleeping until elab_down. The copies
# of the network namespaces' and bpffs mounts (but $ELAB_KEEP_BPFFS) go
# first there, so that the lab keeps no other namespace or pinned map alive.
elab_holder_start()
{
	# nsenter, unshare and bash exec in turn: $! is the holder itself.
	# shellcheck disable=SC2016 # expanded by the inner bash
	nsenter --net="/run/netns/$ELAB_NS_HOST" -- unshare --mount --propagation private -- \
		bash -c 'awk -v keep="$5" '\''$3 == "nsfs" || ($3 == "bpf" && $2 != keep) { print $2 }'\'' \
				/proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
			mount -t overlay "sgexim-$1" -o "lowerdir=/etc,upperdir=$2,workdir=$3" /etc &&
			exec sleep "$4"' elab-holder "$ELAB_ID" "$ELAB/etc-upper" "$ELAB/etc-work" \
		"$ELAB_HOLD_SECONDS" "$ELAB_KEEP_BPFFS" </dev/null >/dev/null 2>>"$ELAB/holder.err" &
	ELAB_HOLDER_PID=$!
	nl_made "$ELAB" pids "$ELAB_HOLDER_PID"
	nl_wait_until 50 elab_mounted "$ELAB_HOLDER_PID" ||
		{ elab_log "no overlay on /etc: $(cat "$ELAB/holder.err")"; return 1; }
	ELAB_MNTNS=$(readlink "/proc/$ELAB_HOLDER_PID/ns/mnt") || return 1
	echo "$ELAB_MNTNS" >"$ELAB/mntns"
}

# $ELAB_EXIM_CMD: the lab's exim, for smtpguard and the tests.
elab_write_wrapper()
{
	cat >"$ELAB_EXIM_CMD" <<EOF
#!/bin/bash
# The Exim lab $ELAB_ID's exim (scripts/exim-lab.sh): runs $ELAB_EXIM_BIN
# with its arguments in the lab's mount namespace (the overlay on /etc) and
# the hosting server's netns, which the holder process $ELAB_HOLDER_PID keeps.
h=$ELAB_HOLDER_PID
if [ "\$(readlink /proc/\$h/ns/mnt 2>/dev/null)" != "$ELAB_MNTNS" ]; then
	echo "exim lab $ELAB_ID is down" >&2
	exit 69
fi
exec nsenter --mount=/proc/\$h/ns/mnt --net=/proc/\$h/ns/net -- $ELAB_EXIM_BIN "\$@"
EOF
	chmod 0755 "$ELAB_EXIM_CMD"
}

# --- Exim --------------------------------------------------------------------

# The config. The RCPT and non-SMTP ACLs hold the conditions of
# dist/exim4-smtpguard.acl, with the lab's lookup directory.
elab_write_config()
{
	local d=$ELAB_EXIM_DIR policy_main='' policy_data='' policy_local='' policy_acl='' policy_rcpt=''

	if [ -n "$ELAB_POLICY_SOCKET" ]; then
		policy_main="SMTPGUARD_POLICY_SOCKET = $ELAB_POLICY_SOCKET
acl_smtp_data = acl_check_data"
		policy_data="acl_check_data:
  require acl = acl_smtpguard_policy_data
  accept
"
		policy_local="  require acl = acl_smtpguard_policy_local"
		policy_rcpt="  require acl = acl_smtpguard_policy_rcpt"
		policy_acl=".include $ELAB_ROOT/dist/exim4-smtpguard-policy.acl"
	fi

	cat >"$ELAB_CONF" <<EOF
# The smtpguard Exim lab $ELAB_ID: test only (no TLS, AUTH in clear text).
primary_hostname = mail.$ELAB_DOMAIN
qualify_domain = $ELAB_DOMAIN
domainlist local_domains = $ELAB_DOMAIN
exim_user = Debian-exim
exim_group = Debian-exim
exim_path = $ELAB_EXIM_BIN
spool_directory = $ELAB_SPOOL
log_file_path = $ELAB/log/%slog
pid_file_path = $ELAB/exim.pid
local_interfaces = $ELAB_HOST4
daemon_smtp_ports = 25 : 587
never_users = root
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
auth_advertise_hosts = *
keep_environment =
log_selector = +smtp_connection +subject -host_lookup_failed
queue_only = false
delay_warning = 0s
timeout_frozen_after = 0s
ignore_bounce_errors_after = 1h

acl_smtp_rcpt = acl_check_rcpt
acl_not_smtp = acl_smtpguard_not_smtp
$policy_main

begin acl

$policy_acl

$policy_data

acl_check_rcpt:
  # smtpguard (dist/exim4-smtpguard.acl), before the accept that lets
  # authenticated clients relay.
  warn    authenticated = *
          condition     = \${if exists{$d/smtpguard_accounts}\\
                            {\${lookup{\$authenticated_id}lsearch\\
                            {$d/smtpguard_accounts}{yes}{no}}}{no}}
          control       = freeze/no_tell
          log_message   = smtpguard: \$authenticated_id is contained; message frozen
$policy_rcpt
  accept  hosts = :
  accept  domains = +local_domains
          local_parts = victim : alice : info : postmaster
  accept  authenticated = *
  deny    message = relay not permitted

acl_smtpguard_not_smtp:
  warn    condition     = \${if exists{$d/smtpguard_local_senders}\\
                            {\${lookup{\$sender_ident}lsearch\\
                            {$d/smtpguard_local_senders}{yes}{no}}}{no}}
          control       = freeze/no_tell
          log_message   = smtpguard: local sender \$sender_ident is contained; message frozen
$policy_local
  accept

begin routers

local_user:
  driver = accept
  domains = +local_domains
  local_parts = victim : alice : info : postmaster
  transport = local_mbox

to_mx:
  driver = manualroute
  domains = ! +local_domains
  route_list = * $ELAB_MX4
  transport = remote_smtp

begin transports

remote_smtp:
  driver = smtp
  interface = $ELAB_HOST4
  connect_timeout = 5s
  hosts_try_chunking =
  hosts_try_fastopen =

local_mbox:
  driver = appendfile
  file = $ELAB/mail/\$local_part_data
  user = Debian-exim
  group = Debian-exim
  mode = 0600
  delivery_date_add
  envelope_to_add
  return_path_add

begin retry

# Deferred mail (the sink stopped) is tried again at every queue run.
*  *  F,2h,2s

begin authenticators

plain_auth:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if eq{\$auth3}{\${lookup{\$auth2}lsearch{$ELAB/passwd}{\$value}fail}}}
  server_set_id = \$auth2

login_auth:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if eq{\$auth2}{\${lookup{\$auth1}lsearch{$ELAB/passwd}{\$value}fail}}}
  server_set_id = \$auth1
EOF
	chmod 0644 "$ELAB_CONF"
}

# Spool, logs, mailboxes (Debian-exim's), the accounts, the lookup directory.
elab_exim_setup()
{
	local u=$ELAB_EXIM_UID

	mkdir -p "$ELAB_SPOOL" "$ELAB/log" "$ELAB/mail" "$ELAB_EXIM_DIR"
	chown "$u:$u" "$ELAB_SPOOL" "$ELAB/log" "$ELAB/mail"
	chmod 0750 "$ELAB_SPOOL" "$ELAB/mail"
	chmod 0755 "$ELAB/log" "$ELAB_EXIM_DIR"
	ELAB_ALICE_PASS=$(nl_password)
	ELAB_INFO_PASS=$(nl_password)
	install -m 0640 -g "$u" /dev/null "$ELAB/passwd"
	printf '%s: %s\n' "$ELAB_VICTIM" "$ELAB_VICTIM_PASS" "$ELAB_ALICE" "$ELAB_ALICE_PASS" \
		"$ELAB_INFO" "$ELAB_INFO_PASS" >"$ELAB/passwd"
	elab_write_config
}

elab_exim_start()
{
	local out

	# The config as Exim reads it, before the daemon.
	out=$(elab_exim -bV 2>&1) || { elab_log "exim -bV failed: $(tail -n 3 <<<"$out")"; return 1; }
	grep -q "^Configuration file is /etc/exim4/exim4.conf" <<<"$out" ||
		{ elab_log "exim reads another config: $(grep -i '^Configuration' <<<"$out")"; return 1; }
	# In the foreground (-bdf), started by nsenter itself: $! is the daemon.
	nsenter --mount="/proc/$ELAB_HOLDER_PID/ns/mnt" --net="/proc/$ELAB_HOLDER_PID/ns/net" -- \
		"$ELAB_EXIM_BIN" -bdf -q"$ELAB_QUEUE_INTERVAL" </dev/null >>"$ELAB/exim.out" 2>&1 &
	ELAB_EXIM_PID=$!
	nl_made "$ELAB" pids "$ELAB_EXIM_PID"
	if ! nl_wait_until 100 nl_listening "$ELAB_NS_HOST" "$ELAB_HOST4" 587 ||
		! nl_listening "$ELAB_NS_HOST" "$ELAB_HOST4" 25; then
		elab_log "Exim does not answer on $ELAB_HOST4:587: $(tail -n 3 "$ELAB/exim.out" \
			"$ELAB_PANICLOG" 2>/dev/null)"
		return 1
	fi
	nl_wait_until 50 grep -qs ' daemon started: ' "$ELAB_MAINLOG" ||
		{ elab_log "no 'daemon started' in $ELAB_MAINLOG"; return 1; }
}

# --- sending and reading -----------------------------------------------------

# One authenticated message (AUTH PLAIN) from SRC_IP in "the internet" to
# the submission port; returns swaks' status (0: accepted).
elab_swaks() # SRC_IP ACCOUNT PASSWORD FROM TO [SWAKS-ARGS...]
{
	nl_swaks "$ELAB_NS_INET" "$ELAB_HOST4:587" "$@"
}

# The messages in Exim's queue: all, or only the frozen ones (exim -bp).
elab_queue_count() # [all|frozen]
{
	local out

	out=$(elab_exim -bp) || return 1
	case ${1:-all} in
	all) grep -cE '^ *[0-9]+[smhdw] +[0-9.]+[KM]? +[0-9A-Za-z]{6}-' <<<"$out" || true ;;
	frozen) grep -c '\*\*\* frozen \*\*\*$' <<<"$out" || true ;;
	*) elab_log "elab_queue_count: all or frozen, not $1"; return 2 ;;
	esac
}

# Queue ids of the messages Exim accepted from LOGIN ("<= ... A=AUTH:LOGIN").
elab_qids_of() # LOGIN
{
	awk -v login="$1" '$4 == "<=" {
			for (i = 5; i <= NF; i++)
				if ($i ~ /^A=/ && substr($i, index($i, ":") + 1) == login) { print $3; break }
		}' "$ELAB_MAINLOG" | sort -u
}

# Of those, how many had a final outcome at the remote MX (=>, -> or **
# through it): sent or bounced there.
elab_escaped() # LOGIN
{
	elab_qids_of "$1" >"$ELAB/qids.tmp"
	awk -v mx="[$ELAB_MX4]" 'NR == FNR { q[$1] = 1; next }
		($3 in q) && ($4 == "=>" || $4 == "->" || $4 == "**") && index($0, " " mx) { print $3 }' \
		"$ELAB/qids.tmp" "$ELAB_MAINLOG" | sort -u | wc -l
}

# Sink log lines of KIND from source address SRC (all sources without):
# 250 and 550 (recipients taken and refused), data (messages), accept
# (connections). The hosting server's every message comes from 198.51.100.1.
elab_sink_count() # 250|550|data|accept [SRC]
{
	nl_sink_count "$ELAB_SINK_LOG" "$@"
}

# The messages in ACCOUNT's mailbox (an mbox file).
elab_mailbox_count() # ACCOUNT
{
	grep -cs '^From ' "$ELAB/mail/${1%@*}" || true
}

# --- up and down -------------------------------------------------------------

# Builds the lab: namespaces, sink, the private /etc and its holder, Exim
# started and answering. Returns non-zero, with a reason on stderr, if any
# step fails: the caller's elab_down removes what was made.
elab_up()
{
	[ -z "$ELAB" ] || { elab_log "a lab is up ($ELAB): elab_down first"; return 1; }
	elab_check || return 1
	nl_names ELAB sgexim sge
	ELAB=$(mktemp -d /tmp/sgexim-"$ELAB_ID".XXXXXX) || return 1
	# Debian-exim must traverse it.
	chmod 0711 "$ELAB"
	ELAB_CONF=$ELAB/exim.conf
	ELAB_SPOOL=$ELAB/spool
	ELAB_MAINLOG=$ELAB/log/mainlog
	ELAB_PANICLOG=$ELAB/log/paniclog
	ELAB_EXIM_DIR=$ELAB/exim4
	ELAB_EXIM_CMD=$ELAB/exim-cmd
	ELAB_SINK_LOG=$ELAB/sink.log

	nl_mail_network "$ELAB" "$ELAB_NS_HOST" "$ELAB_VETH_HOST" "$ELAB_NS_INET" \
		"$ELAB_VETH_INET" "$ELAB_HOST4" "$ELAB_INET4" "$ELAB_MX4" "${ELAB_ATTACKERS[@]}" || { elab_log "cannot build the network"; return 1; }
	elab_sink_start || return 1
	elab_etc || { elab_log "cannot write the private /etc"; return 1; }
	elab_exim_setup || { elab_log "cannot configure Exim"; return 1; }
	elab_holder_start || return 1
	elab_write_wrapper
	elab_exim_start || return 1
}

# The lab's mount namespace while the holder keeps it (so that its number
# is not another's), or nothing.
elab_mntns()
{
	if [ -s "$ELAB/mntns" ] && [ -n "$ELAB_HOLDER_PID" ] &&
		[ "$(readlink "/proc/$ELAB_HOLDER_PID/ns/mnt" 2>/dev/null)" = "$(cat "$ELAB/mntns")" ]; then
		cat "$ELAB/mntns"
	fi
}

# Removes everything elab_up made, whatever state it got to; safe to run twice.
elab_down()
{
	local _

	if [ -z "$ELAB" ] || [ ! -d "$ELAB" ]; then
		ELAB=
		return 0
	fi
	# Exim's daemon first, so that it starts nothing more.
	[ -z "$ELAB_EXIM_PID" ] || nl_kill TERM "$ELAB_EXIM_PID"
	# Then whatever runs in the lab (deliveries, queue runs, the sink), the
	# holder last: with it the mount namespace and its overlay go.
	for _ in 1 2; do
		nl_kill_leftovers "$ELAB" "$(elab_mntns)" "${ELAB_HOLDER_PID:-0}"
	done
	nl_down "$ELAB"
	ELAB=
	ELAB_EXIM_PID=
	ELAB_HOLDER_PID=
	ELAB_SINK_PID=
	ELAB_MNTNS=
}
