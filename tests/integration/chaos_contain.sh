# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's containment tests, on the real Postfix lab (mta.sh):
#
#   chaos_restart_mid_containment  a containment whose hold step fails for
#                                  real (postsuper cannot move into an
#                                  immutable hold directory), the daemon
#                                  killed with SIGKILL before its retry, then
#                                  restarted: it resumes and holds exactly the
#                                  account's queued messages; a release whose
#                                  postsuper -H fails alike keeps its undo
#                                  list and is completed by the daemon's retry:
#                                  exactly those messages let go
#
# Sourced by run.sh.

TESTS+=(chaos_restart_mid_containment)

# The hold directory made immutable (even root's postsuper cannot move a
# queue file in or out), or mutable again.
chaos_hold_frozen() # +i|-i
{
	chattr "$1" "$MLAB_SPOOL/hold"
}

test_chaos_restart_mid_containment()
{
	local n i pid want released pids=() ip=${MLAB_ATTACKERS[0]}

	n=$(at_scale 5 50)
	# A new sender over 1 a minute is contained at its n-th message: n queued to hold.
	mta_for_test "new_sender_min = $n" "new_sender_rate = 1/min"
	trap 'chattr -i "$MLAB_SPOOL/hold" 2>/dev/null; mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	# The remote MX down: every message waits in the queue, for the holds to find.
	mlab_sink_stop
	chaos_hold_frozen +i
	# Five at a time: all n within the minute the rule counts, however slow the host
	# (waited for by pid: the daemon and its log's copier are this shell's too).
	: >"$T/refused"
	for i in $(seq 1 "$n"); do
		{ mlab_swaks "$ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" \
			"ok$i@d$i.example" >"$T/swaks.$i" 2>&1 || echo "$i" >>"$T/refused"; } &
		pids+=($!)
		[ $((i % 5)) -ne 0 ] || { wait "${pids[@]}"; pids=(); }
	done
	[ ${#pids[@]} -eq 0 ] || wait "${pids[@]}"
	expect_eq "messages refused" "" "$(paste -sd' ' "$T/refused")"
	nl_wait_until 100 grep -q "action contain principal=sasl:$MLAB_VICTIM " "$MTA_DAEMON_LOG" ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	want=$(mta_qids_of "$MLAB_VICTIM")
	expect_eq "messages queued" "$n" "$(echo "$want" | wc -l)"
	# The hold step failed, by name and with postsuper's words; the rest was done.
	grep -q "action contain principal=sasl:$MLAB_VICTIM .* errors: hold: postsuper .*: fatal: rename file" \
		"$MTA_DAEMON_LOG" || fail "no failed hold step: $(grep 'action contain' "$MTA_DAEMON_LOG")"
	expect_eq "the table" HOLD \
		"$(awk -v k="$MLAB_VICTIM" '$1 == k { print $2 }' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
	expect_eq "steps left in the state" '["hold"]' \
		"$(jq -c --arg p "sasl:$MLAB_VICTIM" '.[$p].todo' "$T/contained.json")"
	expect_eq "audited as failed" '["hold"]' "$(jq -c --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "contain" and (.params.resumed | not)) |
		.params.failed' "$T/audit.log")"
	# Banned, so that the release's unban below is one.
	expect_eq "banned: the client it logged in from" "$ip" \
		"$(jq -r --arg p "sasl:$MLAB_VICTIM" '.[$p].bans[]' "$T/contained.json")"
	expect_eq "bans in force" 1 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"

	# SIGKILL between the steps: the hold still to do.
	pid=$(cat "$T/mta-daemon.pid")
	kill -KILL "$pid"
	nl_wait_until 50 nl_gone "$pid" || fail "daemon $pid outlived SIGKILL"
	rm -f "$T/mta-daemon.pid"
	expect_eq "held while the daemon is down" 0 "$(mlab_queue_count hold)"
	chaos_hold_frozen -i
	cp "$MTA_DAEMON_LOG" "$T/mta-daemon.killed.log"
	mta_daemon_start postfix "$MLAB_MAILLOG"
	nl_wait_until 100 grep -q "mta: resumed contain of sasl:$MLAB_VICTIM: done" "$MTA_DAEMON_LOG" ||
		fail "not resumed: $(grep mta: "$MTA_DAEMON_LOG" | tail -n 3)"
	expect_eq "held after the restart: the account's queued messages" "$want" "$(mta_held_qids)"
	expect_eq "steps left after the restart" null \
		"$(jq -c --arg p "sasl:$MLAB_VICTIM" '.[$p].todo' "$T/contained.json")"
	figure "kill -9 mid-containment (hold step failing): $(mta_held_qids | wc -l) of $(echo "$want" | wc -l) queued messages held after the restart"

	# A release whose postsuper -H fails: released in part, its undo list kept.
	chaos_hold_frozen +i
	if mta_sg release "$MLAB_VICTIM" >"$T/release.out" 2>&1; then
		fail "release succeeded with the hold queue immutable: $(cat "$T/release.out")"
	fi
	grep -q "release_hold: postsuper .*: fatal: rename file hold/" "$T/release.out" ||
		fail "release's failure: $(cat "$T/release.out")"
	expect_eq "steps left after the failed release" '["release_hold"]' \
		"$(jq -c --arg p "sasl:$MLAB_VICTIM" '.[$p].todo' "$T/contained.json")"
	expect_eq "its undo list" "$want" \
		"$(jq -r --arg p "sasl:$MLAB_VICTIM" '.[$p].held[]' "$T/contained.json" | sort)"
	chaos_hold_frozen -i
	# The daemon's retry completes it, after its backoff.
	nl_wait_until 100 grep -q "mta: resumed release of sasl:$MLAB_VICTIM: done" "$MTA_DAEMON_LOG" ||
		fail "release not retried: $(grep mta: "$MTA_DAEMON_LOG" | tail -n 3)"
	expect_eq "held after the retry" "" "$(mta_held_qids)"
	released=$(cd "$MLAB_SPOOL" && find deferred active incoming -type f -printf '%f\n' | sort)
	expect_eq "let go: the account's messages, all in the queue again" "$want" "$released"
	expect_eq "the table after release" "" \
		"$(awk -v k="$MLAB_VICTIM" '$1 == k' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
	expect_eq "bans after release" 0 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	# The daemon's retries audited: any before the fault went failed as the CLI's, the last done.
	jq -r --arg p "sasl:$MLAB_VICTIM" 'select(.target == $p and .action == "release" and
		.params.resumed) | "\(.params.done | tojson) \(.params.failed | tojson)"' \
		"$T/audit.log" >"$T/retries"
	expect_eq "the last retry audited" '["release_hold"] []' "$(tail -n 1 "$T/retries")"
	expect_eq "the retries before it" "" "$(head -n -1 "$T/retries" | grep -vx '\[\] \["release_hold"\]')"
	# The remote MX back: exactly those messages delivered.
	mlab_sink_start
	mlab_pf postqueue -f
	nl_wait_until 300 mta_is "$want" mta_delivered_qids "$MLAB_VICTIM" ||
		fail "delivered after release: $(mta_delivered_qids "$MLAB_VICTIM" | wc -l) of $(echo "$want" | wc -l)"
	figure "release with postsuper -H failing once: $(echo "$released" | wc -l) of $(echo "$want" | wc -l) held messages let go after $(wc -l <"$T/retries") daemon retr$([ "$(wc -l <"$T/retries")" -eq 1 ] && echo y || echo ies), all delivered"
}
