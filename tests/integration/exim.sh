# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The mail-server view end to end on Exim: Debian's Exim 4, unpacked by
# scripts/fetch-exim.sh and run by scripts/exim-lab.sh beside the host's
# Postfix, with SASL accounts, the ACL of dist/exim4-smtpguard.acl, the
# attacker and a sink MX that refuses most recipients in "the internet"
# namespace, and the daemon following Exim's mainlog:
#
#   exim_sasl_contained  a weak password guessed, spam to many dead
#                        addresses: the account contained (the time from
#                        its first message reported), its queued and later
#                        mail frozen
#                        (none deleted), its login IP dropped at XDP; a
#                        legitimate user on the same server untouched;
#                        release thaws the frozen mail, which goes out
#   exim_quoted_sender   a remote sender whose quoted MAIL FROM local part
#                        holds " H=[IP] A=plain:victim@... " or " P=local
#                        U=alice ", 30 times: Exim logs it as given, and
#                        the daemon contains nobody, names no principal
#
# The test builds its own lab and removes it on any exit. It reuses
# mta.sh's helpers that do not name the Postfix lab (mta_config_head,
# mta_daemon_stop, mta_since). Sourced by run.sh.

TESTS+=(exim_sasl_contained exim_quoted_sender)

# shellcheck source=scripts/exim-lab.sh
. "$ROOT/scripts/exim-lab.sh"

# The Exim lab and the daemon for this test, removed however the test ends.
exim_for_test()
{
	local t0

	# Each step in an || list: errexit stops neither the trap nor elab_down half way.
	trap 'mta_daemon_stop || true; elab_down >/dev/null 2>&1 || true' EXIT
	# The project's own script fetches Exim the first time.
	[ -u "$ELAB_EXIM_BIN" ] || "$ROOT/scripts/fetch-exim.sh" >"$T/fetch-exim.out" 2>&1 ||
		fail "fetch-exim: $(tail -n 3 "$T/fetch-exim.out")"
	t0=$EPOCHREALTIME
	# The daemon's sandbox is made in the lab's mount namespace (mta_daemon_start).
	ELAB_KEEP_BPFFS=$BPFFS
	elab_up >"$T/elab.out" 2>&1 || fail "exim lab: $(tail -n 3 "$T/elab.out")"
	echo "# elab_up: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')s"
	MTA_NS=$ELAB_NS_HOST
	MTA_CONF=$T/exim.conf
	exim_write_config "$MTA_CONF"
	mta_daemon_start exim "$ELAB_MAINLOG"
}

exim_write_config() # FILE
{
	mta_config_head "$ELAB_VETH_HOST" >"$1"
	cat >>"$1" <<EOF
[detect]
baselines = $T/baselines.gz
[mta]
type = exim
logs = $ELAB_MAINLOG
exim_dir = $ELAB_EXIM_DIR
exim = $ELAB_EXIM_BIN
state = $T/contained.json
ban = 1h
# Only where a test asks for one (mta_policy_socket), in its lab: never the host's /run.
policy_socket = none
EOF
}

# Frozen messages in Exim's queue from SENDER (exim -bp, in the lab).
exim_frozen_from() # SENDER
{
	elab_exim -bp | grep -cF "<$1> *** frozen ***" || true
}

# Whether every message in the queue is frozen: no delivery under way.
exim_queue_settled()
{
	[ "$(elab_queue_count all)" -eq "$(elab_queue_count frozen)" ]
}



# Whether the victim's mailbox holds a failure notice for each of its refused messages.
exim_notices_delivered()
{
	[ "$(elab_mailbox_count "$ELAB_VICTIM")" -eq "$(exim_bounced "$ELAB_VICTIM")" ]
}

# Whether the state file lists QID among the victim's held messages.
exim_state_holds() # QID
{
	jq -e --arg p "sasl:$ELAB_VICTIM" --arg q "$1" '.[$p].held | index($q) != null' \
		"$T/contained.json" >/dev/null 2>&1
}

# How many of LOGIN's messages the remote MX refused (**): each makes a failure notice.
exim_bounced() # LOGIN
{
	elab_qids_of "$1" >"$T/qids.bounced"
	awk 'NR == FNR { q[$1] = 1; next } ($3 in q) && $4 == "**" { print $3 }' \
		"$T/qids.bounced" "$ELAB_MAINLOG" | sort -u | wc -l
}

# One of the bot's messages, numbered I: every fifth to a live address.
exim_bot_send() # SRC_IP I
{
	elab_swaks "$1" "$ELAB_VICTIM" "$ELAB_VICTIM_PASS" "$ELAB_VICTIM" \
		"$([ $(($2 % 5)) -eq 0 ] && echo ok || echo dead)$2@d$2.example" >/dev/null 2>&1 ||
		return 1
}

# The daemon's lines about holding messages that failed.
exim_hold_errors()
{
	grep -E 'mta: holding|errors: ' "$MTA_DAEMON_LOG" || true
}

test_exim_sasl_contained()
{
	local i j t0 took accepted frozen escaped later n_alice pid refused pids explain
	local ip=${ELAB_ATTACKERS[0]}

	exim_for_test
	# The legitimate user first, as on any evening.
	elab_swaks "${ELAB_ATTACKERS[4]}" "$ELAB_ALICE" "$ELAB_ALICE_PASS" "$ELAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice's first message refused"
	# The bot: the password is the address's local part; then spam to dead
	# addresses, four sessions at a time (Exim answers QUIT 0.2 s late).
	t0=$EPOCHREALTIME
	for ((i = 1; i <= 40; i += 4)); do
		pids=()
		for j in 0 1 2 3; do
			exim_bot_send "$ip" $((i + j)) &
			pids+=($!)
		done
		refused=0
		for pid in "${pids[@]}"; do
			wait "$pid" || refused=$((refused + 1))
		done
		[ "$refused" -eq 0 ] || break
	done
	echo "# bot: $(elab_qids_of "$ELAB_VICTIM" | wc -l) messages accepted before it was cut off"
	nl_wait_until 50 grep -q "action contain principal=sasl:$ELAB_VICTIM " "$MTA_DAEMON_LOG" ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	echo "# $(grep -m1 "action contain principal=sasl:$ELAB_VICTIM " "$MTA_DAEMON_LOG")"
	took=$(mta_since "$t0" "action contain principal=sasl:$ELAB_VICTIM ")
	echo "# contained ${took}s after the first message"

	# Frozen, none deleted: every accepted message either reached the MX before the freeze or waits.
	nl_wait_until 50 exim_queue_settled || fail "deliveries still under way: $(elab_exim -bp)"
	accepted=$(elab_qids_of "$ELAB_VICTIM" | wc -l)
	frozen=$(exim_frozen_from "$ELAB_VICTIM")
	escaped=$(elab_escaped "$ELAB_VICTIM")
	echo "# accepted=$accepted escaped=$escaped frozen=$frozen"
	expect_eq "accepted = escaped + frozen" "$accepted" "$((escaped + frozen))"
	expect_eq "the lookup file" '"'"$ELAB_VICTIM"'": hold' \
		"$(grep -F "\"$ELAB_VICTIM\"" "$ELAB_EXIM_DIR/smtpguard_accounts")"
	expect_eq "audited" "contain" "$(jq -r --arg p "sasl:$ELAB_VICTIM" \
		'select(.target == $p and .action == "contain") | .action' "$T/audit.log")"

	# The bot's address is dropped at XDP: its next connection goes nowhere.
	expect_eq "bans" 1 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	if elab_swaks "$ip" "$ELAB_VICTIM" "$ELAB_VICTIM_PASS" "$ELAB_VICTIM" dead@x.example \
		>/dev/null 2>&1; then
		fail "the banned address still reached the server"
	fi
	nl_wait_until 20 mta_dropped ||
		fail "no packet dropped by the ban"

	# The password works from another address, but the ACL freezes what it sends.
	elab_qids_of "$ELAB_VICTIM" >"$T/qids.before"
	elab_swaks "${ELAB_ATTACKERS[1]}" "$ELAB_VICTIM" "$ELAB_VICTIM_PASS" "$ELAB_VICTIM" \
		dead-later@later.example >/dev/null || fail "the later message was refused"
	later=$(elab_qids_of "$ELAB_VICTIM" | comm -13 "$T/qids.before" -)
	[ -n "$later" ] || fail "no queue id for the later message"
	grep -q "^[-0-9]* [:0-9]* $later frozen by ACL\$" "$ELAB_MAINLOG" ||
		fail "the later message was not frozen by the ACL: $(grep -F "$later" "$ELAB_MAINLOG")"
	accepted=$((accepted + 1))
	frozen=$((frozen + 1))
	nl_wait_until 20 mta_is "$frozen" exim_frozen_from "$ELAB_VICTIM" ||
		fail "frozen: $(exim_frozen_from "$ELAB_VICTIM"), expected $frozen"
	expect_eq "escaped after the freeze" "$escaped" "$(elab_escaped "$ELAB_VICTIM")"
	# The daemon records it with the account's frozen mail, for release to thaw.
	nl_wait_until 30 exim_state_holds "$later" ||
		fail "$later not in the state's held messages: $(jq -c --arg p "sasl:$ELAB_VICTIM" \
			'.[$p].held' "$T/contained.json")"

	# Alice, on the same server, is untouched: her next message goes out.
	elab_swaks "${ELAB_ATTACKERS[4]}" "$ELAB_ALICE" "$ELAB_ALICE_PASS" "$ELAB_ALICE" \
		ok-friend2@partner.example >/dev/null || fail "alice refused after the containment"
	nl_wait_until 50 mta_is 2 elab_escaped "$ELAB_ALICE" ||
		fail "alice's mail not delivered: $(elab_escaped "$ELAB_ALICE") of 2"
	n_alice=$(grep -c "principal=sasl:$ELAB_ALICE " "$MTA_DAEMON_LOG" || true)
	expect_eq "alice's alerts and actions" 0 "$n_alice"
	# Nor is anyone else: Exim's own failure notices (<= <> ... U=Debian-exim) are no sender.
	expect_eq "actions on others" "" \
		"$(grep 'smtpguard: action ' "$MTA_DAEMON_LOG" | grep -v "principal=sasl:$ELAB_VICTIM " || true)"

	# Inbound mail "from" the contained account's address is not frozen: only
	# what the account itself submits is (keyed on $authenticated_id).
	n_alice=$(elab_mailbox_count "$ELAB_ALICE")
	nl_in "$ELAB_NS_INET" swaks --server "$ELAB_HOST4:25" \
		--local-interface "${ELAB_ATTACKERS[3]}" --timeout 3 --ehlo partner.example \
		--from "$ELAB_VICTIM" --to "$ELAB_ALICE" >/dev/null ||
		fail "inbound mail from the contained account's address refused"
	nl_wait_until 50 mta_is $((n_alice + 1)) elab_mailbox_count "$ELAB_ALICE" ||
		fail "inbound mail from $ELAB_VICTIM not delivered (frozen: $(elab_queue_count frozen))"
	expect_eq "frozen from $ELAB_VICTIM, the inbound message not among them" "$frozen" \
		"$(exim_frozen_from "$ELAB_VICTIM")"

	# explain names the account, its messages and its containment (checked at the end).
	mta_sg explain "$ELAB_VICTIM" --json >"$T/explain.json" || fail "explain failed"
	explain=$(jq -r '"\(.daemon.messages) \(.daemon.contained)"' "$T/explain.json")

	# Release: the frozen mail is thawed and goes out, the ban and the lookup entry go.
	mta_sg release "$ELAB_VICTIM" --reason "password changed" >"$T/release.out" 2>&1 ||
		fail "release: $(cat "$T/release.out"); daemon: $(exim_hold_errors | tail -n 2)"
	nl_wait_until 100 mta_is 0 exim_frozen_from "$ELAB_VICTIM" ||
		fail "still frozen after release: $(elab_exim -bp)"
	nl_wait_until 100 mta_is "$accepted" elab_escaped "$ELAB_VICTIM" ||
		fail "thawed mail not delivered: $(elab_escaped "$ELAB_VICTIM") of $accepted"
	# Every failure notice reached the account's mailbox, none frozen.
	nl_wait_until 50 exim_notices_delivered ||
		fail "failure notices in $ELAB_VICTIM's mailbox: $(elab_mailbox_count "$ELAB_VICTIM")," \
			"expected $(exim_bounced "$ELAB_VICTIM"); queue: $(elab_exim -bp | head -n 4)"
	expect_eq "bans after release" 0 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	expect_eq "lookup file after release" "" \
		"$(grep -F "\"$ELAB_VICTIM\"" "$ELAB_EXIM_DIR/smtpguard_accounts" || true)"
	expect_eq "release audited" "release password changed" "$(jq -r --arg p "sasl:$ELAB_VICTIM" \
		'select(.target == $p and .action == "release") | "\(.action) \(.reason)"' "$T/audit.log")"
	# Exim agreed to every freeze and thaw the daemon asked for.
	expect_eq "the daemon's errors holding mail" "" "$(exim_hold_errors)"
	[ "$explain" = "$accepted true" ] ||
		fail "explain: expected '$accepted true', got '$explain':" \
			"$(jq -c '.daemon_error' "$T/explain.json")"
}

# A message to alice from SRC_IP, without AUTH, whose sender's quoted local
# part imitates Exim's keys: an authenticated submission as the victim
# (odd I) or a local one by alice (even I).
exim_forged_send() # SRC_IP I
{
	local forms=(' P=local U=alice ' " H=[6.6.6.6] A=plain:$ELAB_VICTIM ")

	nl_in "$ELAB_NS_INET" swaks --server "$ELAB_HOST4:25" --local-interface "$1" --timeout 3 \
		--ehlo "client-$1.example" --from "\"x${forms[$(($2 % 2))]}$2\"@evil.example" \
		--to "$ELAB_ALICE" >/dev/null 2>&1
}

# The daemon's count of ACCOUNT's messages (0 when it has none).
exim_explained() # ACCOUNT
{
	mta_sg explain "$1" --json 2>/dev/null | jq -r '.daemon.messages // 0'
}

test_exim_quoted_sender()
{
	local i ip=${ELAB_ATTACKERS[2]}

	exim_for_test
	for ((i = 1; i <= 30; i++)); do
		exim_forged_send "$ip" "$i" || fail "forged message $i refused"
	done
	# Exim logs the sender as the client gave it, quotes and all.
	expect_eq "forged <= lines" 30 "$(grep -cE ' <= "x( P=local U=alice | H=\[6\.6\.6\.6\] A=plain:'"$ELAB_VICTIM"' )[0-9]+"@evil\.example H=' "$ELAB_MAINLOG")"
	# Alice's own message after them: once the daemon counts it, it has read them all.
	elab_swaks "${ELAB_ATTACKERS[4]}" "$ELAB_ALICE" "$ELAB_ALICE_PASS" "$ELAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice's message refused"
	nl_wait_until 50 mta_is 1 exim_explained "$ELAB_ALICE" ||
		fail "alice's message not counted: $(exim_explained "$ELAB_ALICE")"
	expect_eq "the victim's messages" 0 "$(exim_explained "$ELAB_VICTIM")"
	expect_eq "alerts and actions" "" \
		"$(grep -E 'smtpguard: (alert|action) ' "$MTA_DAEMON_LOG" || true)"
	expect_eq "contained accounts" "" \
		"$(cat "$ELAB_EXIM_DIR/smtpguard_accounts" 2>/dev/null || true)"
	expect_eq "contained local senders" "" \
		"$(cat "$ELAB_EXIM_DIR/smtpguard_local_senders" 2>/dev/null || true)"
	expect_eq "bans" 0 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
}
