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
#                          first budget, its first 20 messages; the other 180
#                          are held, every one the bot's, none lost; the
#                          account is contained, and its release delivers
#                          all 180, each once
#   inband_guessed_password  a bot that failed to log in a few times (not
#                          enough to be banned) then guessed the password:
#                          its 20 messages all held, 0 to the MX, the
#                          account contained by bruteforce_login; released,
#                          the 20 go out
#   inband_legit_untouched a user sending at a human pace and a newsletter
#                          account whose [override] gives it a large budget,
#                          sending 100 messages flat out next to a bot:
#                          every one of theirs delivered, none held, neither
#                          contained; the bot gets its first budget only
#   inband_hold_grace      a new account over its first budget that no rule
#                          condemns: the messages over it held, then let go
#                          after [mta] hold_grace, each audited, all
#                          delivered; the account never contained
#   inband_contain_reject  with [mta] contain = reject, a contained
#                          account's messages are refused with 5xx at the end
#                          of data, on the very session that got it
#                          contained and on the next; nothing queued
#   inband_local_script    a customer's web script talks SMTP to 127.0.0.1:25
#                          (trusted by mynetworks, no login) and sends 40
#                          messages on one connection: judged as its UID
#                          (the kernel's record of the connection), 20 go
#                          out, 20 are held, and the UID is contained
#   inband_daemon_down     the daemon killed (SIGKILL, its socket left
#                          behind): Postfix answers 451 4.3.5 (deferred, the
#                          client keeps the message, nothing queued);
#                          restarted, the client's retry is judged and
#                          delivered, each message once
#
# Each test builds its own lab and removes it on any exit. Sourced by run.sh;
# reuses mta.sh's helpers and bruteforce.sh's bf_guess.

TESTS+=(inband_postfix_bot inband_guessed_password inband_legit_untouched inband_hold_grace
	inband_contain_reject inband_local_script inband_daemon_down)

INBAND_SOCK=private/smtpguard-policy
# [mta] lines for the next inband_for_test, each in place of the built-in
# config's line with its key ("ban = 0", "contain = reject").
INBAND_MTA=()

# The mail lab asking the policy service, and the daemon serving it.
inband_for_test() # [CONFIG-LINE...]
{
	local line

	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	MLAB_POLICY_SOCKET=$INBAND_SOCK mlab_up >"$T/mlab.out" 2>&1 ||
		fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF" "$@"
	for line in "policy_socket = $MLAB_SPOOL/$INBAND_SOCK" "${INBAND_MTA[@]}"; do
		sed -i "/^\[mta\]/,/^\[/{/^${line%% =*} = /d}; /^\[mta\]/a $line" "$MTA_CONF"
	done
	mta_daemon_start postfix "$MLAB_MAILLOG"
	grep -q "policy service at $MLAB_SPOOL/$INBAND_SOCK" "$MTA_DAEMON_LOG" ||
		fail "no policy service: $(grep policy "$MTA_DAEMON_LOG")"
}

# N messages of LOGIN from SRC_IP, P sessions at a time, to okI@ at the MX
# (which takes them all), I from FIRST (default 1); prints how many the
# server refused. Each P sessions end before the next P start: the first
# messages judged are the first ones sent.
inband_flood() # SRC_IP LOGIN PASSWORD N P [FIRST]
{
	local i first=${6:-1} out

	out=$T/flood.$1.refused
	: >"$out"
	for ((i = first; i < first + $4; i++)); do
		{ nl_swaks "$MLAB_NS_INET" "$MLAB_HOST4:587" "$1" "$2" "$3" "$2" \
			"ok$i@remote.test" >/dev/null 2>&1 || echo "$i" >>"$out"; } &
		[ $(((i - first + 1) % $5)) -ne 0 ] || wait
	done
	wait
	wc -l <"$out"
}

# Messages the MX took (DATA accepted).
inband_delivered()
{
	mlab_sink_count data
}

# okFIRST@ to okLAST@remote.test, sorted as the helpers below print them.
inband_oks() # FIRST LAST
{
	seq "$1" "$2" | sed 's/.*/ok&@remote.test/' | sort
}

# The recipients the MX took, sorted, each as often as it was taken.
inband_mx_rcpts()
{
	awk '$1 == "rcpt" && $4 == 250 { gsub(/[<>]/, "", $5); print $5 }' "$MLAB_SINK_LOG" | sort
}

# "SENDER RECIPIENT" of every message in the hold queue, sorted.
inband_held()
{
	mlab_pf postqueue -j | jq -r 'select(.queue_name == "hold") |
		.sender + " " + .recipients[].address' | sort
}

# The recipients of FROM's messages that smtpd held, sorted: at the policy
# service's answer (END-OF-MESSAGE), or at RCPT by smtpguard_sasl_access
# once the account is contained (a message is held, and logged, once).
inband_held_by_smtpd() # FROM
{
	sed -n "s/.*: hold: [A-Z-]* from .* from=<$1> to=<\([^>]*\)>.*/\1/p" "$MLAB_MAILLOG" | sort
}

# Queue ids smtpd held at the policy service's answer, sorted.
inband_hold_qids()
{
	sed -n 's/.*: \([0-9A-Za-z]*\): hold: END-OF-MESSAGE from .*/\1/p' "$MLAB_MAILLOG" | sort
}

# The principals the daemon's state file names as contained.
inband_contained()
{
	jq -r 'keys[]' "$T/contained.json" 2>/dev/null || true
}

# Whether the daemon has counted N failed logins on the mail server.
inband_failures_seen() # N
{
	mta_is "$1" mta_metric smtpguard_mta_auth_failures_total
}

# N failed logins on ACCOUNT from SRC_IP, one session each, seen by the daemon.
inband_failed_logins() # SRC_IP ACCOUNT N
{
	local i

	for ((i = 1; i <= $3; i++)); do
		bf_guess "$1" "$2" "wrong$i" >"$T/guess.$i" 2>&1 || true
		! grep -Eq '^<[-~]  235 ' "$T/guess.$i" || fail "guess $i logged in"
	done
	nl_wait_until 100 inband_failures_seen "$3" ||
		fail "failed logins counted: $(mta_metric smtpguard_mta_auth_failures_total) of $3"
}

test_inband_postfix_bot()
{
	local refused t0

	# No ban of the bot's address: every message it sends reaches the server.
	INBAND_MTA=("ban = 0")
	inband_for_test
	t0=$EPOCHREALTIME
	refused=$(inband_flood "${MLAB_ATTACKERS[0]}" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" 200 4)
	echo "# 200 messages sent in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
	expect_eq "messages refused to the bot" 0 "$refused"
	# The sender learns nothing: every message was accepted; 180 wait in the hold queue.
	nl_wait_until 300 mta_is 180 mlab_queue_count hold ||
		fail "held: $(mlab_queue_count hold), queued: $(mlab_queue_count all)"
	nl_wait_until 300 mta_is 180 mlab_queue_count all || fail "queue: $(mlab_queue_count all)"
	# Held from the 21st message on: the budget went to the first 20 sent.
	expect_eq "held by smtpd" "$(inband_oks 21 200)" \
		"$(inband_held_by_smtpd "$MLAB_VICTIM")"
	expect_eq "the hold queue: the bot's 21st to 200th" \
		"$(inband_oks 21 200 | sed "s/^/$MLAB_VICTIM /")" "$(inband_held)"
	nl_wait_until 300 mta_is 20 inband_delivered || fail "delivered: $(inband_delivered)"
	expect_eq "the MX took the first 20" "$(inband_oks 1 20)" "$(inband_mx_rcpts)"
	nl_wait_until 100 jq -e --arg p "sasl:$MLAB_VICTIM" 'has($p)' "$T/contained.json" >/dev/null ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	# /metrics is rendered at the tick: the last answers show within a second.
	nl_wait_until 30 mta_is 180 mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}' ||
		fail "HOLD answers: $(mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}')"
	expect_eq "answered DUNNO" 20 "$(mta_metric 'smtpguard_policy_requests_total{verdict="DUNNO"}')"
	expect_eq "judged" 200 "$(mta_metric smtpguard_inband_judged_total)"
	expect_eq "held over budget, then as contained" 180 \
		"$(($(mta_metric smtpguard_inband_held_budget_total) + $(mta_metric smtpguard_inband_held_contained_total)))"
	# Released by a human: every held message goes out once, none was lost.
	mta_sg release "sasl:$MLAB_VICTIM" >"$T/release.out" 2>&1 || fail "release: $(cat "$T/release.out")"
	nl_wait_until 600 mta_is 200 inband_delivered || fail "after release: $(inband_delivered) delivered"
	expect_eq "held after release" 0 "$(mlab_queue_count hold)"
	expect_eq "the MX took each of the 200 once" "$(inband_oks 1 200)" "$(inband_mx_rcpts)"
}

test_inband_guessed_password()
{
	local ip=${MLAB_ATTACKERS[0]} p=sasl:$MLAB_VICTIM refused

	# No ban for the account's login addresses: the bot's every message
	# reaches the server, and only the policy service stops them.
	INBAND_MTA=("ban = 0")
	# Dovecot answers the failures at once: their count matters, not their pace.
	# shellcheck disable=SC2034 # mlab_up's
	MLAB_AUTH_FAILURE_DELAY=0
	inband_for_test "[bruteforce]" "state = $T/offenders.json"
	# Fewer failures than [bruteforce] auth_failures (10): its address is not banned.
	inband_failed_logins "$ip" "$MLAB_VICTIM" 3
	expect_eq "bans after the failures" 0 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	# Then the right password, and 20 messages from the address that failed.
	refused=$(inband_flood "$ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" 20 4)
	expect_eq "messages refused to the bot" 0 "$refused"
	nl_wait_until 300 mta_is 20 mlab_queue_count hold || fail "held: $(mlab_queue_count hold)"
	expect_eq "queued" 20 "$(mlab_queue_count all)"
	expect_eq "the hold queue: the bot's 20" \
		"$(inband_oks 1 20 | sed "s/^/$MLAB_VICTIM /")" "$(inband_held)"
	expect_eq "held by smtpd" "$(inband_oks 1 20)" "$(inband_held_by_smtpd "$MLAB_VICTIM")"
	expect_eq "delivered to the MX" 0 "$(inband_delivered)"
	nl_wait_until 50 mta_is "$p" inband_contained || fail "contained: '$(inband_contained)'"
	expect_eq "the state's rule" bruteforce_login \
		"$(jq -r --arg p "$p" '.[$p].rule' "$T/contained.json")"
	expect_eq "audited" bruteforce_login "$(jq -r --arg p "$p" \
		'select(.target == $p and .action == "contain") | .params.rule' "$T/audit.log")"
	nl_wait_until 30 mta_is 20 mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}' ||
		fail "HOLD answers: $(mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}')"
	expect_eq "answered DUNNO" 0 "$(mta_metric 'smtpguard_policy_requests_total{verdict="DUNNO"}')"
	expect_eq "contained by the brute-force signature" 1 \
		"$(mta_metric smtpguard_inband_bruteforce_login_total)"
	expect_eq "held as contained" 20 "$(mta_metric smtpguard_inband_held_contained_total)"
	expect_eq "bans" 0 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	mta_sg release "$p" >"$T/release.out" 2>&1 || fail "release: $(cat "$T/release.out")"
	nl_wait_until 300 mta_is 20 inband_delivered || fail "after release: $(inband_delivered) delivered"
	expect_eq "held after release" 0 "$(mlab_queue_count hold)"
	expect_eq "the MX took the 20" "$(inband_oks 1 20)" "$(inband_mx_rcpts)"
}

test_inband_legit_untouched()
{
	local i refused bot a=${MLAB_ATTACKERS[4]} n=${MLAB_ATTACKERS[3]} b=${MLAB_ATTACKERS[0]}

	# The newsletter's budget and thresholds, as its administrator sets them.
	INBAND_MTA=("ban = 0")
	inband_for_test "[override $MLAB_INFO]" "limit = 6000/h" "burst = 300" \
		"rate_floor = 6000/min" "new_sender_rate = 6000/min"
	# The bot flat out on the victim's account, next to them.
	inband_flood "$b" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" 40 4 1001 >"$T/bot.refused" &
	bot=$!
	refused=$(inband_flood "$n" "$MLAB_INFO" "$MLAB_INFO_PASS" 100 4)
	expect_eq "newsletter messages refused" 0 "$refused"
	# Alice, one message at a time, as a person writes them.
	for i in 1 2 3 4 5; do
		mlab_swaks "$a" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" "ok$((500 + i))@remote.test" \
			>"$T/alice.$i" 2>&1 || fail "alice's message $i refused: $(grep '^<\*\*' "$T/alice.$i")"
		sleep 1
	done
	# Only the bot: the daemon's log stamper runs in the background too.
	wait "$bot"
	expect_eq "bot messages refused" 0 "$(cat "$T/bot.refused")"
	nl_wait_until 300 mta_is 100 mta_escaped "$MLAB_INFO" ||
		fail "newsletter delivered: $(mta_escaped "$MLAB_INFO") of 100"
	nl_wait_until 300 mta_is 5 mta_escaped "$MLAB_ALICE" ||
		fail "alice delivered: $(mta_escaped "$MLAB_ALICE") of 5"
	nl_wait_until 300 mta_is 20 mlab_queue_count hold || fail "held: $(mlab_queue_count hold)"
	expect_eq "the hold queue: the bot's 21st to 40th only" \
		"$(inband_oks 1021 1040 | sed "s/^/$MLAB_VICTIM /")" "$(inband_held)"
	expect_eq "held by smtpd, alice's" "" "$(inband_held_by_smtpd "$MLAB_ALICE")"
	expect_eq "held by smtpd, the newsletter's" "" "$(inband_held_by_smtpd "$MLAB_INFO")"
	expect_eq "the MX took" "$( (inband_oks 1 100; inband_oks 501 505; inband_oks 1001 1020) | sort)" \
		"$(inband_mx_rcpts)"
	expect_eq "contained" "" "$(inband_contained | grep -v "^sasl:$MLAB_VICTIM\$" || true)"
	expect_eq "alice's and the newsletter's alerts and actions" 0 \
		"$(grep -cE "principal=sasl:($MLAB_ALICE|$MLAB_INFO) " "$MTA_DAEMON_LOG" || true)"
	nl_wait_until 30 mta_is 145 mta_metric smtpguard_inband_judged_total ||
		fail "judged: $(mta_metric smtpguard_inband_judged_total)"
	expect_eq "answered DUNNO" 125 "$(mta_metric 'smtpguard_policy_requests_total{verdict="DUNNO"}')"
}

test_inband_hold_grace()
{
	local i

	INBAND_MTA=("hold_grace = 5s")
	inband_for_test "[budget]" "first = 3"
	for i in $(seq 1 8); do
		mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
			"ok$i@remote.test" >"$T/swaks.$i" 2>&1 ||
			fail "message $i refused: $(grep '^<\*\*' "$T/swaks.$i")"
	done
	# Held at the answer, past the first budget of 3; let go on their own and delivered.
	expect_eq "held by smtpd" "$(inband_oks 4 8)" "$(inband_held_by_smtpd "$MLAB_ALICE")"
	nl_wait_until 300 mta_is 8 inband_delivered || fail "delivered: $(inband_delivered) of 8"
	expect_eq "the MX took" "$(inband_oks 1 8)" "$(inband_mx_rcpts)"
	expect_eq "queued" 0 "$(mlab_queue_count all)"
	# One release a message, each after the grace, named by its queue id.
	nl_wait_until 30 mta_is 5 mta_metric smtpguard_inband_released_total ||
		fail "released: $(mta_metric smtpguard_inband_released_total)"
	expect_eq "hold-grace-release audited" \
		"$(inband_hold_qids | sed "s/^/sasl:$MLAB_ALICE /")" \
		"$(jq -r 'select(.action == "hold-grace-release") | "\(.target) \(.params.queue_id)"' \
			"$T/audit.log" | sort)"
	expect_eq "released before the grace" "" "$(jq -r \
		'select(.action == "hold-grace-release" and .params.held_s < 5) | .params.queue_id' \
		"$T/audit.log")"
	expect_eq "held over budget" 5 "$(mta_metric smtpguard_inband_held_budget_total)"
	expect_eq "contained" "" "$(inband_contained)"
	expect_eq "alerts and actions" 0 "$(grep -cE ' (alert|action) ' "$MTA_DAEMON_LOG" || true)"
	mta_sg explain "sasl:$MLAB_ALICE" --json >"$T/explain.json" 2>&1 ||
		fail "explain: $(cat "$T/explain.json")"
	# The daemon's error, if any, said in the failure.
	expect_eq "explain: messages, contained" "8 false" \
		"$(jq -r '"\(.daemon.messages) \(.daemon.contained)\(.daemon_error // "" | if . == "" then "" else " (\(.))" end)"' \
			"$T/explain.json")"
}

test_inband_contain_reject()
{
	local ip=${MLAB_ATTACKERS[0]} out

	INBAND_MTA=("ban = 0" "contain = reject")
	# Dovecot answers the failures at once: their count matters, not their pace.
	# shellcheck disable=SC2034 # mlab_up's
	MLAB_AUTH_FAILURE_DELAY=0
	inband_for_test "[bruteforce]" "state = $T/offenders.json"
	inband_failed_logins "$ip" "$MLAB_VICTIM" 3
	# The bot logs in from the address that failed and sends 3 messages on one
	# session: the first gets the account contained, and each is refused at
	# the end of data; the client learns it.
	out=$(mlab_in_inet php "$ROOT/tests/integration/php/smtp-loop.php" "$MLAB_HOST4" 587 \
		"$MLAB_VICTIM" 3 "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$ip") || fail "the bot's session: $out"
	printf '%s\n' "$out" | sed 's/^/# /'
	expect_eq "the bot's view" "accepted=0 refused=3" "$(printf '%s\n' "$out" | tail -n 1)"
	expect_eq "refused at the end of data with 5xx" "1 2 3" \
		"$(printf '%s\n' "$out" | sed -n 's/^refused \([0-9]*\) at data: 5[0-9][0-9] .*/\1/p' | paste -sd' ')"
	# Contained through the MTA at the tick after the request that condemned it.
	nl_wait_until 50 mta_is "sasl:$MLAB_VICTIM" inband_contained ||
		fail "contained: '$(inband_contained)'"
	# Its next session, from another address with the same password: refused too.
	! mlab_swaks "${MLAB_ATTACKERS[1]}" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" \
		ok4@remote.test >"$T/swaks.out" 2>&1 || fail "accepted after the containment"
	grep -q '^<\*\* 5[0-9][0-9] ' "$T/swaks.out" || fail "not 5xx: $(grep '^<\*\*' "$T/swaks.out")"
	expect_eq "queued" 0 "$(mlab_queue_count all)"
	expect_eq "delivered to the MX" 0 "$(inband_delivered)"
	nl_wait_until 30 mta_is 3 mta_metric smtpguard_inband_rejected_total ||
		fail "rejected: $(mta_metric smtpguard_inband_rejected_total)"
	expect_eq "answered REJECT" 3 "$(mta_metric 'smtpguard_policy_requests_total{verdict="REJECT"}')"
	expect_eq "contained by the brute-force signature" 1 \
		"$(mta_metric smtpguard_inband_bruteforce_login_total)"
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
	expect_eq "the MX took the first 20" "$(inband_oks 1 20)" "$(inband_mx_rcpts)"
	expect_eq "the hold queue: the script's 21st to 40th" \
		"$(inband_oks 21 40 | sed "s/^/web@$MLAB_DOMAIN /")" "$(inband_held)"
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
	local ip=${MLAB_ATTACKERS[1]} pid

	inband_for_test
	mlab_swaks "$ip" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" ok1@remote.test \
		>"$T/swaks1.out" 2>&1 || fail "refused with the daemon up: $(grep '^<\*\*' "$T/swaks1.out")"
	# Killed mid-run, as a crash or the OOM killer does: its socket stays behind.
	pid=$(cat "$T/mta-daemon.pid")
	kill -KILL "$pid"
	nl_wait_until 50 nl_gone "$pid" || fail "the daemon survived SIGKILL"
	rm -f "$T/mta-daemon.pid"
	[ -S "$MLAB_SPOOL/$INBAND_SOCK" ] || fail "no socket left behind to test with"
	! mlab_swaks "$ip" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" ok2@remote.test \
		>"$T/swaks2.out" 2>&1 || fail "accepted with the daemon down"
	grep -q '^<\*\* 451 4.3.5 ' "$T/swaks2.out" || fail "not 451 4.3.5: $(grep '^<\*\*' "$T/swaks2.out")"
	nl_wait_until 300 mta_is 1 inband_delivered || fail "delivered: $(inband_delivered)"
	expect_eq "queued while down" 0 "$(mlab_queue_count all)"
	# Restarted: the client's retry of the deferred message is judged and goes out.
	mta_daemon_start postfix "$MLAB_MAILLOG"
	mlab_swaks "$ip" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" ok2@remote.test \
		>"$T/swaks3.out" 2>&1 || fail "refused after restart: $(grep '^<\*\*' "$T/swaks3.out")"
	nl_wait_until 30 mta_is 1 mta_metric smtpguard_inband_judged_total ||
		fail "judged after restart: $(mta_metric smtpguard_inband_judged_total)"
	nl_wait_until 300 mta_is 2 inband_delivered || fail "delivered: $(inband_delivered)"
	expect_eq "the MX took each once" "$(inband_oks 1 2)" "$(inband_mx_rcpts)"
}
