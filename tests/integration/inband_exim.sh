# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Mail judged in-band on Exim: the real Exim 4 of scripts/exim-lab.sh asks
# the daemon's policy service through dist/exim4-smtpguard-policy.acl (the
# DATA ACL for SMTP, the non-SMTP ACL for sendmail), and the daemon
# answers from the principal's budget and its containment. The daemon
# runs under the unit's sandbox in the lab's mount namespace (mta.sh's
# mta_daemon_start), where Debian-exim has its passwd entry, as on a real
# Exim server, and its policy socket's directory stands in for /run/smtpguard.
#
#   inband_exim_bot    a bot with a leaked password sends 200 messages as
#                      fast as it can: the remote MX gets exactly the first
#                      budget (20), the other 180 are frozen and counted,
#                      none lost; the account is contained, and its release
#                      delivers all 180
#   inband_exim_local  a local user's sendmail (acl_not_smtp, $caller_uid)
#                      flat out, 40 messages: judged as local:UID, 20 go
#                      out, 20 are frozen, and the UID is contained
#   inband_exim_down   the daemon killed: an SMTP submission is deferred
#                      (451 4.3.5, nothing queued), a local one is frozen
#                      by the ACL (accepted, nothing lost, nothing sent);
#                      restarted, the next message is judged
#
# Each test builds its own lab and removes it on any exit. Sourced by
# run.sh; reuses exim.sh's and mta.sh's helpers.

TESTS+=(inband_exim_bot inband_exim_local inband_exim_down)

# The socket's directory and the test's local user; set by inband_exim_for_test.
IEX_DIR=
IEX_USER=

# The Exim lab asking the policy service, with a local user, and the daemon
# serving it; [mta] ban = BAN (1h without).
inband_exim_for_test() # [BAN]
{
	# Debian-exim must reach the socket: not under the test's own directory (0700).
	IEX_DIR=$(mktemp -d /tmp/sgt-iex.XXXXXX)
	chmod 0755 "$IEX_DIR"
	# shellcheck disable=SC2064 # the directory now: the trap runs after this function returns
	trap "mta_daemon_stop || true; elab_down >/dev/null 2>&1 || true; nl_down '$IEX_DIR'" EXIT
	# Before elab_up: the lab's /etc copies the host's passwd then.
	IEX_USER=sgtiex${IEX_DIR##*.}
	nl_user_add "$IEX_DIR" "$IEX_USER" || fail "no local user"
	[ -u "$ELAB_EXIM_BIN" ] || "$ROOT/scripts/fetch-exim.sh" >"$T/fetch-exim.out" 2>&1 ||
		fail "fetch-exim: $(tail -n 3 "$T/fetch-exim.out")"
	ELAB_POLICY_SOCKET=$IEX_DIR/policy.sock
	ELAB_KEEP_BPFFS=$BPFFS
	elab_up >"$T/elab.out" 2>&1 ||
		fail "exim lab: $(tail -n 3 "$T/elab.out")"
	MTA_NS=$ELAB_NS_HOST
	MTA_CONF=$T/exim.conf
	exim_write_config "$MTA_CONF"
	mta_policy_socket "$MTA_CONF" "$ELAB_POLICY_SOCKET"
	sed -i "s/^ban = 1h\$/ban = ${1:-1h}/" "$MTA_CONF"
	inband_exim_start
}

inband_exim_start()
{
	mta_daemon_start exim "$ELAB_MAINLOG"
	grep -q "policy service at $ELAB_POLICY_SOCKET, for exim (uid $ELAB_EXIM_UID)" \
		"$MTA_DAEMON_LOG" || fail "no policy service for Debian-exim: $(grep policy "$MTA_DAEMON_LOG")"
}

# N messages of LOGIN from SRC_IP, P sessions at a time, to ok*@ at the MX
# (which takes them all); prints how many the server refused.
inband_exim_flood() # SRC_IP LOGIN PASSWORD N P
{
	local i

	: >"$T/flood.refused"
	for ((i = 1; i <= $4; i++)); do
		{ elab_swaks "$1" "$2" "$3" "$2" "ok$i@remote.test" >/dev/null 2>&1 ||
			echo "$i" >>"$T/flood.refused"; } &
		[ $((i % $5)) -ne 0 ] || wait
	done
	wait
	wc -l <"$T/flood.refused"
}

# One local message from the test's user through Exim's sendmail to TO.
inband_exim_sendmail() # TO
{
	printf 'Subject: local\n\nfrom a script\n' | elab_exim_as "$IEX_USER" -odb "$1"
}

# Messages the MX took (DATA accepted).
inband_exim_delivered()
{
	elab_sink_count data
}

# How many of the queued messages are frozen, and how many are not.
inband_exim_queue()
{
	local all frozen

	all=$(elab_queue_count all) && frozen=$(elab_queue_count frozen) || return 1
	echo "frozen=$frozen other=$((all - frozen))"
}

test_inband_exim_bot()
{
	local refused t0

	# No ban of the bot's address: every message it sends reaches the server.
	inband_exim_for_test 0
	t0=$EPOCHREALTIME
	refused=$(inband_exim_flood "${ELAB_ATTACKERS[0]}" "$ELAB_VICTIM" "$ELAB_VICTIM_PASS" 200 4)
	echo "# 200 messages sent in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
	expect_eq "messages refused to the bot" 0 "$refused"
	expect_eq "messages Exim accepted" 200 "$(elab_qids_of "$ELAB_VICTIM" | wc -l)"
	# The sender learns nothing: every message was accepted; 180 wait frozen.
	nl_wait_until 300 mta_is "frozen=180 other=0" inband_exim_queue ||
		fail "queue: $(inband_exim_queue)"
	nl_wait_until 100 mta_is 20 inband_exim_delivered || fail "delivered: $(inband_exim_delivered)"
	nl_wait_until 100 jq -e --arg p "sasl:$ELAB_VICTIM" 'has($p)' "$T/contained.json" >/dev/null ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	# Asked at RCPT as well: the messages judged are what the end of data asks.
	nl_wait_until 30 mta_is 200 mta_metric smtpguard_inband_judged_total ||
		fail "judged: $(mta_metric smtpguard_inband_judged_total)"
	expect_eq "frozen by the ACL" 180 "$(grep -c "smtpguard: held (action=HOLD" "$ELAB_MAINLOG")"
	# Released by a human: every frozen message goes out, none was lost.
	mta_sg release "sasl:$ELAB_VICTIM" >"$T/release.out" 2>&1 || fail "release: $(cat "$T/release.out")"
	nl_wait_until 600 mta_is 200 inband_exim_delivered ||
		fail "after release: $(inband_exim_delivered) delivered, queue $(inband_exim_queue)"
	nl_wait_until 100 mta_is "frozen=0 other=0" inband_exim_queue || fail "queue: $(inband_exim_queue)"
	expect_eq "escaped before the release" 200 "$(elab_escaped "$ELAB_VICTIM")"
}

test_inband_exim_local()
{
	local i uid refused=0

	inband_exim_for_test
	uid=$(id -u "$IEX_USER")
	for ((i = 1; i <= 40; i++)); do
		inband_exim_sendmail "ok$i@remote.test" || refused=$((refused + 1))
	done
	expect_eq "local messages refused" 0 "$refused"
	nl_wait_until 300 mta_is "frozen=20 other=0" inband_exim_queue ||
		fail "queue: $(inband_exim_queue)"
	nl_wait_until 100 mta_is 20 inband_exim_delivered || fail "delivered: $(inband_exim_delivered)"
	mta_sg explain "local:$uid" --json >"$T/explain.json" 2>&1 || fail "explain: $(cat "$T/explain.json")"
	expect_eq "messages of local:$uid" 40 "$(jq -r .daemon.messages "$T/explain.json")"
	nl_wait_until 100 jq -e --arg p "local:$uid" 'has($p)' "$T/contained.json" >/dev/null ||
		fail "local:$uid not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	nl_wait_until 30 mta_is 20 mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}' ||
		fail "HOLD answers: $(mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}')"
	expect_eq "judged" 40 "$(mta_metric smtpguard_inband_judged_total)"
	expect_eq "local:unknown" 0 "$(mta_metric smtpguard_inband_unknown_local_total)"
}

test_inband_exim_down()
{
	inband_exim_for_test
	mta_daemon_stop
	# SMTP: deferred, the client keeps the message.
	! elab_swaks "${ELAB_ATTACKERS[1]}" "$ELAB_ALICE" "$ELAB_ALICE_PASS" "$ELAB_ALICE" \
		ok1@remote.test >"$T/swaks1.out" 2>&1 || fail "accepted with the daemon down"
	grep -q '^<\*\* 451 4.3.5 ' "$T/swaks1.out" || fail "not 451 4.3.5: $(grep '^<\*\*' "$T/swaks1.out")"
	expect_eq "queued while down" "frozen=0 other=0" "$(inband_exim_queue)"
	# Local: Exim cannot defer it; the ACL accepts it frozen, unjudged and unsent.
	inband_exim_sendmail ok2@remote.test || fail "local message refused while down"
	expect_eq "queued while down" "frozen=1 other=0" "$(inband_exim_queue)"
	grep -q "smtpguard: held (action=HOLD no answer from $ELAB_POLICY_SOCKET)" "$ELAB_MAINLOG" ||
		fail "no 'held (no answer)' in the mainlog: $(grep smtpguard "$ELAB_MAINLOG")"

	inband_exim_start
	elab_swaks "${ELAB_ATTACKERS[1]}" "$ELAB_ALICE" "$ELAB_ALICE_PASS" "$ELAB_ALICE" \
		ok3@remote.test >"$T/swaks2.out" 2>&1 || fail "refused after restart: $(grep '^<\*\*' "$T/swaks2.out")"
	nl_wait_until 30 mta_is 1 mta_metric smtpguard_inband_judged_total ||
		fail "judged after restart: $(mta_metric smtpguard_inband_judged_total)"
	nl_wait_until 100 mta_is 1 inband_exim_delivered || fail "delivered: $(inband_exim_delivered)"
	# The message frozen while the daemon was down is no held message of its: a human thaws it.
	expect_eq "queued after restart" "frozen=1 other=0" "$(inband_exim_queue)"
}
