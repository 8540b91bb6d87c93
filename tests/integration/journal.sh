# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The journal as the mail server's log source ([mta] source = journal): a
# real systemd-journald, started in a private mount namespace of its own
# (tmpfs over /run/systemd, /run/log and /var/log/journal, so the host's
# are untouched), and the daemon in that namespace under the unit's
# bounding set, reading it:
#
#   journal_forged_lines  a hostile local user writes what the MTA would:
#                         ten Postfix SASL failures naming one address, a
#                         Dovecot line claiming 99999 attempts, six client=
#                         lines with another customer's login (syslog, with
#                         logger -t), and a native entry that claims _UID=0
#                         (logger --journald): nothing banned at XDP, nothing
#                         contained, each refused and counted exactly; the
#                         same lines written by root (the MTA's stand-in)
#                         are read: the ten failures' guesser banned (the
#                         99999-attempt line is one failure), the account
#                         contained (and its six login IPs banned); the
#                         journal moved from /run/log/journal to
#                         /var/log/journal, rotated and vacuumed between
#   journal_syslog_refused  a log file a syslog daemon writes (root's, not
#                         the MTA's own) named in [mta] logs is refused at
#                         start-up, naming the file and the key; taken with
#                         trust_syslog = yes; found, not named, it is left
#                         out with a warning and the daemon runs
#   postlog_forged_lines  on the mail lab's Postfix (maillog_file written by
#                         postlogd), a local user's postlog, tagged
#                         postfix/smtpd, writes nothing (Debian's postlog is
#                         not set-gid); with group postdrop, what a set-gid
#                         postlog gives, it would: why the daemon trusts
#                         maillog_file only while postlog is not set-gid
#
# Sourced by run.sh; uses daemon.sh's unit_sandbox, metric and expect_metric.

TESTS+=(journal_forged_lines journal_syslog_refused postlog_forged_lines)

JR_HOLDER= # a process holding the private mount namespace

# CMD in the private mount namespace (and the host's network namespace).
jr_in() # CMD...
{
	nsenter --mount="/proc/$JR_HOLDER/ns/mnt" -- "$@"
}

# The namespace, its tmpfs mounts and journald; everything is recorded, so
# that teardown ends the processes and the mounts go with the namespace.
jr_start()
{
	unshare --mount --propagation private -- sleep 600 &
	JR_HOLDER=$!
	nl_made "$T" pids "$JR_HOLDER"
	nl_wait_until 50 jr_private || fail "no private mount namespace"
	jr_in mount -t tmpfs -o mode=0755 sgt-journal /run/systemd
	jr_in mount -t tmpfs -o mode=0755 sgt-journal /run/log
	jr_in mount -t tmpfs -o mode=2755 sgt-journal /var/log/journal
	jr_in mkdir -p /run/systemd/journal /run/log/journal
	# nsenter itself, not a subshell, so that the pid recorded is journald's.
	nsenter --mount="/proc/$JR_HOLDER/ns/mnt" -- /lib/systemd/systemd-journald \
		</dev/null >"$T/journald.log" 2>&1 &
	nl_made "$T" pids $!
	nl_wait_until 100 jr_in test -S /run/systemd/journal/dev-log ||
		fail "journald did not start: $(tail -n 3 "$T/journald.log")"
}

jr_private()
{
	[ "$(readlink "/proc/$JR_HOLDER/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
}

# The daemon in the private mount namespace and $NS_HOST, as the unit runs it.
jr_daemon_start() # CONF
{
	unit_sandbox
	nsenter --mount="/proc/$JR_HOLDER/ns/mnt" --net="/run/netns/$NS_HOST" -- \
		"${SANDBOX[@]}" "$SG_BIN" run -c "$1" >>"$T/daemon.log" 2>&1 &
	nl_made "$T" pids $!
	nl_wait_until 100 healthy || fail "daemon not healthy: $(tail -n 3 "$T/daemon.log")"
}

# The forged lines, written by USER to syslog's socket; a line per call, so each is an entry.
jr_write_lines() # USER
{
	local uid gid i as=()

	uid=$(id -u "$1") gid=$(id -g "$1")
	[ "$uid" = 0 ] || as=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
	for ((i = 0; i < 10; i++)); do
		jr_in "${as[@]}" logger -u /run/systemd/journal/dev-log -t postfix/submission/smtpd \
			"warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
	done
	jr_in "${as[@]}" logger -u /run/systemd/journal/dev-log -t dovecot \
		"imap-login: Disconnected (auth failed, 99999 attempts in 2 secs): user=<admin@hosting.test>, method=PLAIN, rip=192.0.2.67, lip=198.51.100.1, session=<x>"
	for ((i = 0; i < 6; i++)); do
		jr_in "${as[@]}" logger -u /run/systemd/journal/dev-log -t postfix/submission/smtpd \
			"4ShKq21nXbz9sW$i: client=unknown[192.0.2.$((80 + i))], sasl_method=PLAIN, sasl_username=victim@hosting.test"
	done
}

# Entries in the XDP ban map.
jr_bans()
{
	map_dump sg_bans | jq length
}

# The targets of the daemon's bans in the audit log, sorted, on one line.
jr_banned()
{
	[ -s "$T/audit.log" ] || return 0
	jq -r 'select(.action == "ban") | .target' "$T/audit.log" | sort | paste -sd' '
}

jr_bans_are() # N
{
	[ "$(jr_bans)" = "$1" ]
}

# check-mta, in the journal's namespace, on [mta] source = auto and Postfix's DIR, says WANT.
jr_source_is() # DIR WANT
{
	printf '[mta]\ntype = postfix\nsource = auto\npostfix_config = %s\n' "$1" >"$T/auto.conf"
	jr_in env SMTPGUARD_CONFIG="$T/auto.conf" "$SG_BIN" check-mta >"$T/check-mta.out" || true
	grep -qxF "log source: $2" "$T/check-mta.out" ||
		fail "check-mta on $1: $(grep 'log source' "$T/check-mta.out")"
}

test_journal_forged_lines()
{
	local conf=$T/journal.conf

	jr_start
	mkdir -p "$T/postfix"
	: >"$T/postfix/main.cf"
	write_config "$conf" "[mta]" "type = postfix" "source = journal" \
		"postfix_config = $T/postfix" "state = $T/contained.json" "policy_socket = none" \
		"[bruteforce]" "state = $T/offenders.json"
	jr_daemon_start "$conf"
	grep -q "mta: postfix, reading the journal (\[mta\] source = journal)" "$T/daemon.log" ||
		fail "not reading the journal: $(grep mta: "$T/daemon.log")"
	jr_in env SMTPGUARD_CONFIG="$conf" "$SG_BIN" check-mta >"$T/check-mta.out" || true
	grep -qx "log source: the journal (\[mta\] source = journal)" "$T/check-mta.out" ||
		fail "check-mta: $(grep -i journal "$T/check-mta.out")"
	grep -qx "ok   journald runs (its socket is there)" "$T/check-mta.out" ||
		fail "check-mta: $(grep -i journal "$T/check-mta.out")"
	# auto: the journal where journald runs, unless Postfix writes its own file.
	jr_source_is "$T/postfix" "the journal (journald runs: lines trusted by their sender's _UID)"
	mkdir -p "$T/postfix-own"
	echo "maillog_file = $T/maillog" >"$T/postfix-own/main.cf"
	jr_source_is "$T/postfix-own" "files (Postfix writes its own maillog_file)"

	# The hostile customer: syslog lines with the MTA's tags, a native entry
	# claiming root's _UID (journald drops it), and a line of its own.
	jr_write_lines "$USER_A"
	printf '_UID=0\nSYSLOG_IDENTIFIER=dovecot\nMESSAGE=%s\n' \
		"imap-login: Disconnected (auth failed, 99999 attempts in 2 secs): user=<x@hosting.test>, method=PLAIN, rip=192.0.2.68, lip=198.51.100.1, session=<y>" |
		jr_in setpriv --reuid="$(id -u "$USER_A")" --regid="$(id -g "$USER_A")" \
			--clear-groups -- logger --journald
	jr_in setpriv --reuid="$(id -u "$USER_A")" --regid="$(id -g "$USER_A")" --clear-groups -- \
		logger -u /run/systemd/journal/dev-log -t myapp "not the MTA's"
	expect_metric smtpguard_mta_lines_untrusted_total 18
	expect_metric smtpguard_mta_log_lines_total 0
	expect_metric smtpguard_mta_containments_total 0
	expect_eq "bans at XDP after the forged lines" 0 "$(jr_bans)"
	expect_eq "bans audited after the forged lines" "" "$(jr_banned)"
	[ ! -s "$T/contained.json" ] || fail "contained: $(cat "$T/contained.json")"

	# Moved to /var/log/journal (as at boot), rotated, and the old files
	# removed under the reader.
	jr_in journalctl --flush
	jr_in journalctl --rotate
	jr_in journalctl --vacuum-files=1 >/dev/null 2>&1
	expect_eq "volatile journal files after the flush" 0 \
		"$(jr_in find /run/log/journal -name '*.journal' | wc -l)"
	expect_eq "persistent journal files after the vacuum" 1 \
		"$(jr_in find /var/log/journal -name '*.journal' | wc -l)"

	# The same lines from root, as the MTA writes them: read. The ten SASL
	# failures ban their guesser; the Dovecot line that claims 99999 attempts
	# is one failure, as any single line is, and bans nobody.
	jr_write_lines root
	# 17 and those of the containment's commands (`postfix reload` on this
	# empty main.cf 4, `postsuper -h` 1), which log through /dev/log: the
	# unit's private /dev links it to the journal, as systemd does. With no
	# Postfix running here the reload fails and is tried again, 4 lines each
	# time: every MTA line in the journal from root or the MTA's users is
	# read, once.
	nl_wait_until 100 jr_read_all ||
		fail "MTA lines read: $(metric smtpguard_mta_log_lines_total), in the journal: $(jr_mta_lines)"
	[ "$(jr_mta_lines)" -ge 22 ] || fail "MTA lines in the journal: $(jr_mta_lines), not 17 + 5"
	expect_metric smtpguard_mta_lines_untrusted_total 18
	# One guesser, and the six login IPs of the account the client= lines contain.
	nl_wait_until 100 jr_bans_are 7 || true
	expect_eq "bans at XDP after root's lines" 7 "$(jr_bans)"
	expect_eq "guessers banned" "192.0.2.66" "$(jr_banned)"
	expect_metric smtpguard_mta_containments_total 1
}

# The entries in the private journal the daemon takes: from root or one of the
# default journal_users (postsuper logs as postfix), with a SYSLOG_IDENTIFIER
# naming the MTA or Dovecot (sg_journal_mta_ident).
jr_mta_lines()
{
	local u trusted=0

	for u in postfix Debian-exim exim mailnull dovecot dovenull; do
		! id -u "$u" >/dev/null 2>&1 || trusted+=" $(id -u "$u")"
	done
	jr_in journalctl -o json --no-pager |
		jq -r --arg t "$trusted" 'select(._UID as $u | $t | split(" ") | index($u)) |
			.SYSLOG_IDENTIFIER // ""' |
		grep -cE '^(postfix(/.*)?|postfix-[^/]+/.*|dovecot|exim4?)$'
}

# The daemon has read every one of them, and no other line.
jr_read_all()
{
	metric_is smtpguard_mta_log_lines_total "$(jr_mta_lines)"
}

# Starts the daemon on CONF in $NS_HOST, in the foreground: its status, its output in $T/daemon.log.
jr_daemon_run() # CONF
{
	local rc=0

	unit_sandbox
	nl_in "$NS_HOST" timeout 20 "${SANDBOX[@]}" "$SG_BIN" run -c "$1" >"$T/daemon.log" 2>&1 || rc=$?
	echo "$rc"
}

test_journal_syslog_refused()
{
	local conf=$T/syslog.conf

	mkdir -p "$T/postfix"
	: >"$T/postfix/main.cf"
	: >"$T/mail.log"
	write_config "$conf" "[bruteforce]" "state = $T/offenders.json" \
		"[mta]" "type = postfix" "source = auto" "logs = $T/mail.log" \
		"postfix_config = $T/postfix" "state = $T/contained.json" "policy_socket = none"
	expect_eq "exit status, syslog file" 1 "$(jr_daemon_run "$conf")"
	grep -qF "the mail server's logs: $T/mail.log is not the mail server's own log" \
		"$T/daemon.log" || fail "message: $(tail -n 2 "$T/daemon.log")"
	grep -qF "[mta] trust_syslog = yes (unsafe on shared hosting)" "$T/daemon.log" ||
		fail "message: $(tail -n 2 "$T/daemon.log")"
	# check-mta says the same, and which source.
	env SMTPGUARD_CONFIG="$conf" "$SG_BIN" check-mta >"$T/check-mta.out" || true
	grep -qx "log source: files (\[mta\] logs names files)" "$T/check-mta.out" ||
		fail "check-mta: $(cat "$T/check-mta.out")"
	grep -qxF "FAIL $T/mail.log is the mail server's own log (the daemon refuses it)" \
		"$T/check-mta.out" || fail "check-mta: $(cat "$T/check-mta.out")"

	# Postfix's own maillog_file is taken as it is.
	echo "maillog_file = $T/mail.log" >"$T/postfix/main.cf"
	jr_trusted_start "$conf"

	# Any file, with the unsafe key.
	: >"$T/postfix/main.cf"
	printf '%s\n' "[mta]" "trust_syslog = yes" >>"$conf"
	jr_trusted_start "$conf"

	# Not named but found (Postfix through syslog: /var/log/mail.log or
	# maillog): left out with a warning, and the daemon runs.
	write_config "$conf" "[bruteforce]" "state = $T/offenders.json" \
		"[mta]" "type = postfix" "source = files" \
		"postfix_config = $T/postfix" "state = $T/contained.json" "policy_socket = none"
	: >"$T/daemon.log"
	unit_sandbox
	spawn_in "$NS_HOST" "${SANDBOX[@]}" "$SG_BIN" run -c "$conf" >>"$T/daemon.log" 2>&1
	nl_wait_until 100 healthy || fail "daemon not healthy: $(tail -n 3 "$T/daemon.log")"
	grep -qE "^smtpguard: mta: /var/log/(mail.log|maillog) is not the mail server's own log" \
		"$T/daemon.log" || fail "no warning: $(grep mta: "$T/daemon.log")"
	! grep -q "mta: postfix, following" "$T/daemon.log" ||
		fail "follows: $(grep following "$T/daemon.log")"
	nl_kill TERM "$NL_PID"
}

# The daemon on CONF starts and follows $T/mail.log; stopped again.
jr_trusted_start() # CONF
{
	: >"$T/daemon.log"
	unit_sandbox
	spawn_in "$NS_HOST" "${SANDBOX[@]}" "$SG_BIN" run -c "$1" >>"$T/daemon.log" 2>&1
	nl_wait_until 100 healthy || fail "daemon not healthy: $(tail -n 3 "$T/daemon.log")"
	grep -qF "mta: postfix, following $T/mail.log" "$T/daemon.log" ||
		fail "not following: $(grep mta: "$T/daemon.log")"
	nl_kill TERM "$NL_PID"
}

# postlog as USER in the lab's server (its default config is the lab's); extra setpriv options.
jr_postlog_as() # USER TEXT [SETPRIV-OPTION...]
{
	local user=$1 text=$2

	shift 2
	mlab_in_host_etc setpriv --reuid="$user" --regid="$user" "${@:---clear-groups}" -- \
		/usr/sbin/postlog -t postfix/smtpd "$text"
}

jr_logged() # TEXT
{
	grep -cF "$1" "$MLAB_MAILLOG" || true
}

test_postlog_forged_lines()
{
	local u rc=0 fail="warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: UGFz"

	trap 'mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	u=$(mlab_add_local_user forger)
	[ ! -g /usr/sbin/postlog ] || fail "/usr/sbin/postlog is set-gid here"
	jr_postlog_as "$u" "$fail user" >"$T/postlog.out" 2>&1 || rc=$?
	expect_eq "postlog's status as $u" 1 "$rc"
	rc=0
	mlab_in_host_etc setpriv --reuid="$u" --regid="$u" --clear-groups -- \
		/usr/sbin/postlog -c "$MLAB_POSTFIX_DIR" -t postfix/smtpd "$fail user -c" \
		>>"$T/postlog.out" 2>&1 || rc=$?
	expect_eq "postlog -c's status as $u" 1 "$rc"
	# The group a set-gid postlog runs with reaches postlogd.
	jr_postlog_as "$u" "$fail postdrop" --groups "$(getent group postdrop | cut -d: -f3)"
	# Root's line last: once it is in, postlogd has taken every line sent before.
	mlab_in_host_etc /usr/sbin/postlog -t postfix/smtpd "$fail root"
	nl_wait_until 100 grep -qF "$fail root" "$MLAB_MAILLOG" || fail "root's line never logged"
	expect_eq "the user's lines in maillog_file" 0 "$(jr_logged "$fail user")"
	expect_eq "the postdrop group's line" 1 "$(jr_logged "$fail postdrop")"
}
