# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Mail judged in-band, before it is queued: the real Postfix of
# scripts/mta-lab.sh asks the daemon's policy service at the end of each
# message (check_policy_service unix:private/smtpguard-policy), and the
# daemon answers from the principal's budget, its containment and the
# brute-force signature:
#
#   inband_postfix_bot     a bot with a leaked password sends 200 messages as
#                          fast as it can: the remote MX gets exactly the
#                          first budget (20), the other 180 are held and
#                          counted, none lost; the account is contained, and
#                          its release delivers all 180
#   inband_local_script    a customer's web script talks SMTP to 127.0.0.1:25
#                          (trusted by mynetworks, no login) and sends 40
#                          messages on one connection: judged as its UID
#                          (the kernel's record of the connection), 20 go
#                          out, 20 are held, and the UID is contained
#   inband_daemon_down     the daemon killed: Postfix answers 451 4.3.5
#                          (deferred, the client keeps the message, nothing
#                          queued); restarted, the next message is judged
#
# Each test builds its own lab and removes it on any exit. Sourced by run.sh;
# reuses mta.sh's helpers.

TESTS+=(inband_postfix_bot inband_local_script inband_daemon_down)

INBAND_SOCK=private/smtpguard-policy

# The mail lab asking the policy service, and the daemon serving it.
inband_for_test() # [CONFIG-LINE...]
{
	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	MLAB_POLICY_SOCKET=$INBAND_SOCK mlab_up >"$T/mlab.out" 2>&1 ||
		fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF" "$@"
	sed -i "/^\[mta\]/a policy_socket = $MLAB_SPOOL/$INBAND_SOCK" "$MTA_CONF"
	mta_daemon_start postfix "$MLAB_MAILLOG"
	grep -q "policy service at $MLAB_SPOOL/$INBAND_SOCK" "$MTA_DAEMON_LOG" ||
		fail "no policy service: $(grep policy "$MTA_DAEMON_LOG")"
}

# N messages of LOGIN from SRC_IP, P sessions at a time, to ok*@ at the MX
# (which takes them all); prints how many the server refused.
inband_flood() # SRC_IP LOGIN PASSWORD N P
{
	local i

	: >"$T/flood.refused"
	for ((i = 1; i <= $4; i++)); do
		{ nl_swaks "$MLAB_NS_INET" "$MLAB_HOST4:587" "$1" "$2" "$3" "$2" \
			"ok$i@remote.test" >/dev/null 2>&1 || echo "$i" >>"$T/flood.refused"; } &
		[ $((i % $5)) -ne 0 ] || wait
	done
	wait
	wc -l <"$T/flood.refused"
}

# Messages the MX took (DATA accepted).
inband_delivered()
{
	mlab_sink_count data
}

test_inband_postfix_bot()
{
	local refused t0

	# No ban of the bot's address: every message it sends reaches the server.
	inband_for_test
	sed -i 's/^ban = 1h$/ban = 0/' "$MTA_CONF"
	mta_daemon_stop
	mta_daemon_start postfix "$MLAB_MAILLOG"
	t0=$EPOCHREALTIME
	refused=$(inband_flood "${MLAB_ATTACKERS[0]}" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" 200 4)
	echo "# 200 messages sent in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
	expect_eq "messages refused to the bot" 0 "$refused"
	# The sender learns nothing: every message was accepted; 180 wait in the hold queue.
	nl_wait_until 300 mta_is 180 mlab_queue_count hold ||
		fail "held: $(mlab_queue_count hold), queued: $(mlab_queue_count all)"
	nl_wait_until 300 mta_is 180 mlab_queue_count all || fail "queue: $(mlab_queue_count all)"
	expect_eq "delivered to the MX" 20 "$(inband_delivered)"
	nl_wait_until 100 jq -e --arg p "sasl:$MLAB_VICTIM" 'has($p)' "$T/contained.json" >/dev/null ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	# /metrics is rendered at the tick: the last answers show within a second.
	nl_wait_until 30 mta_is 180 mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}' ||
		fail "HOLD answers: $(mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}')"
	expect_eq "answered DUNNO" 20 "$(mta_metric 'smtpguard_policy_requests_total{verdict="DUNNO"}')"
	expect_eq "judged" 200 "$(mta_metric smtpguard_inband_judged_total)"
	# Released by a human: every held message goes out, none was lost.
	mta_sg release "sasl:$MLAB_VICTIM" >"$T/release.out" 2>&1 || fail "release: $(cat "$T/release.out")"
	nl_wait_until 600 mta_is 200 inband_delivered || fail "after release: $(inband_delivered) delivered"
	expect_eq "held after release" 0 "$(mlab_queue_count hold)"
}

test_inband_local_script()
{
	local user uid out

	inband_for_test
	user=$(mlab_add_local_user web) || fail "no local user"
	uid=$(id -u "$(mlab_user_name "$user")")
	out=$(nl_as "$MLAB_NS_HOST" "$CG" "" "$(mlab_user_name "$user")" \
		php "$ROOT/tests/integration/php/smtp-loop.php" 127.0.0.1 25 "web@$MLAB_DOMAIN" 40)
	expect_eq "the script's view" "accepted=40 refused=0" "$out"
	nl_wait_until 300 mta_is 20 mlab_queue_count hold || fail "held: $(mlab_queue_count hold)"
	nl_wait_until 300 mta_is 20 inband_delivered || fail "delivered: $(inband_delivered)"
	# Contained at the tick after the detector sees its 40 messages.
	nl_wait_until 100 jq -e --arg p "local:$uid" 'has($p)' "$T/contained.json" >/dev/null ||
		fail "local:$uid not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	mta_sg explain "local:$uid" --json >"$T/explain.json" 2>&1 || fail "explain: $(cat "$T/explain.json")"
	expect_eq "messages of local:$uid" 40 "$(jq -r .daemon.messages "$T/explain.json")"
	expect_eq "local:$uid contained" true "$(jq -r .daemon.contained "$T/explain.json")"
	expect_eq "local:unknown" 0 "$(mta_metric smtpguard_inband_unknown_local_total)"
}

test_inband_daemon_down()
{
	inband_for_test
	mta_daemon_stop
	! mlab_swaks "${MLAB_ATTACKERS[1]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok1@remote.test >"$T/swaks1.out" 2>&1 || fail "accepted with the daemon down"
	grep -q '^<\*\* 451 4.3.5 ' "$T/swaks1.out" || fail "not 451 4.3.5: $(grep '^<\*\*' "$T/swaks1.out")"
	expect_eq "queued while down" 0 "$(mlab_queue_count all)"
	mta_daemon_start postfix "$MLAB_MAILLOG"
	mlab_swaks "${MLAB_ATTACKERS[1]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok2@remote.test >"$T/swaks2.out" 2>&1 || fail "refused after restart: $(grep '^<\*\*' "$T/swaks2.out")"
	nl_wait_until 30 mta_is 1 mta_metric smtpguard_inband_judged_total ||
		fail "judged after restart: $(mta_metric smtpguard_inband_judged_total)"
	nl_wait_until 300 mta_is 1 inband_delivered || fail "delivered: $(inband_delivered)"
}
