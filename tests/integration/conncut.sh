# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A block cuts the user's SMTP sessions already open, from the CLI and from
# the detector: the customer's next read is aborted and its next write
# fails, and another user's session on the same port carries on. Sourced
# by run.sh; start_as and alive are kill.sh's.

TESTS+=(block_cuts_sessions detect_block_cuts_sessions)

# USER's session to the sink's port 25, holding after the banner: once cut, it
# writes "read=STATUS" and "write=STATUS" to FILE, and bash's own complaints to FILE.err.
start_session() # USER FILE
{
	# shellcheck disable=SC2016 # expanded by the user's bash
	start_as "$1" "$2" 'trap "" PIPE; exec 3<>/dev/tcp/$0/25 && read -r banner <&3 && echo $$ &&
		{ read -r -t 60 line <&3; echo "read=$?"; printf "EHLO x\r\n" >&3; echo "write=$?"; }'
}

# USER's established connections to port 25 in the client namespace.
sessions() # USER
{
	nl_in "$NS_HOST" ss -Htne state established '( dport = :25 )' |
		grep -c " uid:$(id -u "$1") " || true
}

# The cut session saw its read aborted and its write refused.
expect_session_cut() # FILE
{
	nl_wait_until 50 grep -q '^write=' "$1" || fail "the session was never cut: $(cat "$1.err")"
	expect_eq "session after the cut" "read=1 write=1" "$(tail -n 2 "$1" | xargs)"
	expect_eq "what the customer's shell saw" \
		"read error: 0: Software caused connection abort|write error: Broken pipe" \
		"$(sed -n 's/.*\(read error: .*\|write error: .*\)/\1/p' "$1.err" | paste -sd'|')"
}

test_block_cuts_sessions()
{
	local b out

	start_session "$USER_A" "$T/a.session"
	start_session "$USER_B" "$T/b.session"
	read -r b <"$T/b.session"
	expect_eq "A's sessions before" 1 "$(sessions "$USER_A")"

	out=$(sg block "$USER_A" --reason "spam in an open session")
	expect_eq "block output" "blocked $USER_A (uid $(id -u "$USER_A")), 1 open connection cut" "$out"
	expect_session_cut "$T/a.session"
	expect_eq "A's sessions after" 0 "$(sessions "$USER_A")"
	expect_eq "B's sessions after" 1 "$(sessions "$USER_B")"
	alive "$b" || fail "B's session ended"
	expect_eq "audit of the block" '{"connections_cut":1}' \
		"$(tail -n 1 "$T/audit.log" | jq -c .params)"
	# Blocked: no new session to replace the one cut, and nothing left to cut.
	expect_connects "$USER_A" "ok=0 eperm=1 other=0" -n 1 "$NET4" 25
	expect_eq "block again" "blocked $USER_A (uid $(id -u "$USER_A")), 0 open connections cut" \
		"$(sg block "$USER_A")"
}

# The detector's block: a new sender hammering port 25 while it holds a session.
test_detect_block_cuts_sessions()
{
	local b

	write_config "$T/smtpguard.conf" "[actions]" "new_sender = block for 1h"
	start_daemon "$T/smtpguard.conf"
	start_session "$USER_A" "$T/a.session"
	start_session "$USER_B" "$T/b.session"
	read -r b <"$T/b.session"
	connect_as "$USER_A" -n 60 "$NET4" 25 >/dev/null
	nl_wait_until 30 has_action "$USER_A" block || fail "no block: $(tail -n 5 "$T/daemon.log")"
	expect_session_cut "$T/a.session"
	expect_eq "B's sessions after" 1 "$(sessions "$USER_B")"
	alive "$b" || fail "B's session ended"
	expect_eq "audit of the block" "new_sender 1" \
		"$(daemon_actions "$USER_A" | jq -r 'select(.action == "block") | "\(.reason) \(.params.connections_cut)"')"
	grep -q "action block user=$USER_A uid=$(id -u "$USER_A") rule=new_sender .* for=1h cut=1" \
		"$T/daemon.log" || fail "no action line with cut=1: $(grep action "$T/daemon.log")"
	expect_metric smtpguard_connections_cut_total 1
}
