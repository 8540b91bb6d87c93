# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# SMTP on a port that is not watched (a relay's 2525): TC egress tells it by
# the client's EHLO and the daemon reports it; with [ports] detect_any the
# connect hooks police that user's next connections to that destination,
# and nobody else's, and a block cuts that user's session there. Sourced by
# run.sh; start_as is kill.sh's.

TESTS+=(detect_any_port)

# An SMTP session of USER to the sink's PORT, as a mail client opens one, with
# two messages' MAIL FROM: one session, not three.
smtp_session() # USER PORT
{
	# shellcheck disable=SC2016 # expanded by the user's bash
	as_user "$1" timeout 10 bash -c 'exec 3<>/dev/tcp/$0/$1 && read -r l <&3 &&
		printf "EHLO client.example\r\n" >&3 && read -r l <&3 &&
		printf "MAIL FROM:<a@client.example>\r\n" >&3 && read -r l <&3 &&
		printf "MAIL FROM:<b@client.example>\r\n" >&3 && read -r l <&3 &&
		printf "QUIT\r\n" >&3 && cat <&3 >/dev/null' "$NET4" "$2"
}

reloads()
{
	grep -c 'reloaded' "$T/daemon.log" || true
}

# Whether the daemon has said N reloads; a command of its own, so that each
# try of nl_wait_until counts them anew.
reloads_are() # N
{
	[ "$(reloads)" = "$1" ]
}

test_detect_any_port()
{
	local uid

	uid=$(id -u "$USER_A")
	start_sink "$NS_NET" "$T/sink2525.log" "$NET4:2525"
	write_config "$T/smtpguard.conf" "[ports]" "detect_any = yes"
	start_daemon "$T/smtpguard.conf"
	# Not SMTP: a session to 2525 with no EHLO is nothing.
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 2525
	smtp_session "$USER_A" 2525 || fail "A's session to 2525 failed"
	nl_wait_until 30 grep -q "smtp on unwatched port 2525" "$T/daemon.log" ||
		fail "2525 not told: $(tail -n 3 "$T/daemon.log")"
	expect_eq "daemon line" "smtp on unwatched port 2525: uid $uid ($USER_A) to $NET4, 1 session" \
		"$(grep -o 'smtp on unwatched.*' "$T/daemon.log")"
	expect_metric 'smtpguard_smtp_sessions{port="2525"}' 1
	expect_metric smtpguard_smtp_sessions_seen_total 1
	# The session that told was not a watched connect; A's next ones are, B's are not.
	expect_eq "A before" absent "$(top_counts "$USER_A")"
	expect_connects "$USER_A" "ok=2 eperm=0 other=0" -n 2 "$NET4" 2525
	expect_connects "$USER_B" "ok=2 eperm=0 other=0" -n 2 "$NET4" 2525
	expect_eq "A after" 2/2/0/0 "$(top_counts "$USER_A")"
	expect_eq "B after" absent "$(top_counts "$USER_B")"
	# Each holds a session there: the block cuts A's, B's is no SMTP of B's.
	start_as "$USER_A" "$T/a.hold" "exec 3<>/dev/tcp/\$0/2525 && echo \$\$ && exec sleep 60"
	start_as "$USER_B" "$T/b.hold" "exec 3<>/dev/tcp/\$0/2525 && echo \$\$ && exec sleep 60"
	expect_eq "block A" "blocked $USER_A (uid $uid), 1 open connection cut" "$(sg block "$USER_A")"
	expect_eq "block B" "blocked $USER_B (uid $(id -u "$USER_B")), 0 open connections cut" \
		"$(sg block "$USER_B")"
	expect_connects "$USER_A" "ok=0 eperm=1 other=0" -n 1 "$NET4" 2525
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 2525
	# A reload keeps it while detect_any is on, and turning it off lets A's through.
	kill -HUP "$DAEMON_PID"
	nl_wait_until 30 reloads_are 1 || fail "no reload: $(tail -n 2 "$T/daemon.log")"
	expect_connects "$USER_A" "ok=0 eperm=1 other=0" -n 1 "$NET4" 2525
	write_config "$T/smtpguard.conf"
	kill -HUP "$DAEMON_PID"
	nl_wait_until 30 reloads_are 2 || fail "no second reload"
	expect_connects "$USER_A" "ok=1 eperm=0 other=0" -n 1 "$NET4" 2525
	expect_eq "A at last" 5/3/2/0 "$(top_counts "$USER_A")"
}
