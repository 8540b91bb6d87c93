# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's full tables: the policy map filled to capacity under the
# running daemon (the CLI and the detector say "full", the expiry of
# thousands at once holds no turn of the loop), and the mail statistics
# past the 65,536 messages in flight they track. Sourced by run.sh.

TESTS+=(chaos_maps_full chaos_bans_full chaos_mail_in_flight)

# What the daemon and the CLI say of sg_policies full, as text and as an ERE.
POLICY_FULL="sg_policies is full (65536 entries)"
POLICY_FULL_RE="sg_policies is full \\(65536 entries\\)"

# The daemon's audit entries of ACTION, one compact JSON a line.
tables_entries() # ACTION
{
	jq -c --arg a "$1" 'select(.actor == "daemon" and .action == $a)' "$T/audit.log" 2>/dev/null
}

tables_has_entry() # ACTION
{
	[ -n "$(tables_entries "$1")" ]
}

# Audit entries of anyone but the daemon (the CLI's).
others_entries()
{
	if [ -e "$T/audit.log" ]; then
		jq -s '[.[] | select(.actor != "daemon")] | length' "$T/audit.log"
	else
		echo 0
	fi
}

expired_count()
{
	tables_entries expire | jq -s length
}

expired_at_least() # COUNT
{
	[ "$(expired_count)" -ge "$1" ]
}

# sg_policies filled to its 65,536 entries with the daemon running:
# throttle, block and release of a user say the map is full, exit 1 and
# change nothing; the detector's throttle of a flooding new sender is
# audited as failed, once, and counted. Then N of the fillers expire
# together: their removal is spread over ticks, no turn of the loop takes
# a second, and there is room again.
test_chaos_maps_full()
{
	local n uid_a uid_b turn start

	n=$(at_scale 500 65520)
	uid_a=$(id -u "$USER_A")
	uid_b=$(id -u "$USER_B")
	write_config "$T/smtpguard.conf" "release_grace = 1h"
	start_daemon "$T/smtpguard.conf"
	start=$(date +%s.%N)
	"$ROOT/build/tools/sg_fill" --policies
	figure "sg_policies filled to its capacity in $(echo "$(date +%s.%N) - $start" | bc) s"
	expect_eq "sg_policies entries" 65536 "$(map_dump sg_policies | jq length)"

	expect_refused "^smtpguard: setting the policy of $USER_B \\(uid $uid_b\\): $POLICY_FULL_RE: release some policies, or wait for timed ones to expire\$" \
		sg throttle "$USER_B" --rate 10/min
	expect_refused "^smtpguard: setting the policy of $USER_B \\(uid $uid_b\\): $POLICY_FULL_RE: " \
		sg block "$USER_B"
	expect_refused "^smtpguard: releasing $USER_B \\(uid $uid_b\\): $POLICY_FULL_RE: " \
		sg release "$USER_B"
	expect_eq "B's policy" "default" "$(sg explain "$USER_B" --json | jq -r '.kernel.policy_of')"
	expect_eq "audit entries of the CLI" 0 "$(others_entries)"

	# A new sender floods: the detector's throttle cannot be written.
	expect_connects "$USER_A" "ok=20 eperm=80 other=0" -n 100 "$NET4" 25
	nl_wait_until 50 tables_has_entry throttle-failed ||
		fail "no failed throttle audited: $(tail -n 3 "$T/daemon.log")"
	expect_eq "failed throttle" "$uid_a new_sender $POLICY_FULL" \
		"$(tables_entries throttle-failed | jq -r '"\(.uid) \(.reason) \(.params.error)"')"
	grep -qE "action throttle failed user=$USER_A uid=$uid_a rule=new_sender .*error=\"$POLICY_FULL_RE\"" \
		"$T/daemon.log" || fail "no log line of the failed throttle: $(grep -m1 failed "$T/daemon.log")"
	expect_metric 'smtpguard_actions_failed_total{action="throttle",reason="full"}' 1
	expect_metric 'smtpguard_actions_total{action="alert",rule="new_sender"}' 1
	expect_metric 'smtpguard_actions_total{action="throttle",rule="new_sender"}' 0

	# N fillers' time is up at once: removed a bounded share a tick.
	"$ROOT/build/tools/sg_fill" --expire "$n"
	start=$(date +%s.%N)
	nl_wait_until $((200 + n / 5)) expired_at_least "$n" ||
		fail "$(expired_count) of $n expiries audited"
	figure "$n policies expiring together: all removed and audited in $(echo "$(date +%s.%N) - $start" | bc) s, over $(grep -c 'expired policies removed' "$T/daemon.log") ticks"
	expect_eq "expiries audited" "$n" "$(expired_count)"
	expect_eq "failed throttles audited (told once)" 1 "$(tables_entries throttle-failed | jq -s length)"
	turn=$(metric smtpguard_loop_turn_max_seconds)
	figure "longest turn of the loop: $turn s; stalls over 1 s: $(metric smtpguard_loop_stalls_total)"
	expect_metric smtpguard_loop_stalls_total 0
	awk -v t="$turn" 'BEGIN { exit !(t < 1) }' || fail "a turn of the loop took $turn s"
	# Room again: the CLI's throttle goes in.
	sg throttle "$USER_B" --rate 10/min >/dev/null
	expect_eq "B's policy" "throttle 10/min by an administrator (CLI)" \
		"$(sg explain "$USER_B" --json | jq -r '"\(.kernel.mode) \(.kernel.rate) by \(.kernel.set_by)"')"
}

# sg_bans filled to its 65,536 entries, as an outsider with many addresses
# could, with the daemon running: a ban says the map is full, exits 1 and
# audits nothing; over N ticks the bans and the trie's entries are exported
# exactly, a ban of 2 s put in the one room made expires and is audited,
# and no turn of the loop stalls (the tick reads a share of the trie;
# three whole walks a tick took 0.27 s on an idle machine, stalls of up to
# 1.7 s under load; the longest turn is the figure).
test_chaos_bans_full()
{
	local n ticks turn

	n=$(at_scale 5 60)
	# It succeeds only once the trie refuses one more for want of room.
	"$ROOT/build/tools/sg_fill" --bans
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	ticks=$(metric smtpguard_ticks_total)
	expect_refused "^smtpguard: banning 192\\.0\\.2\\.99: sg_bans is full \\(65536 entries\\)\$" \
		sg ban 192.0.2.99
	expect_eq "audit entries" 0 "$(others_entries)"
	# One room made, taken by a ban of 2 s: the daemon finds it expired in the full trie.
	sg unban fd00:5347::7 >/dev/null
	sg ban 192.0.2.99 --for 2s >/dev/null
	expect_metric 'smtpguard_map_entries{map="sg_bans"}' 65536
	nl_wait_until 100 tables_has_entry ban-expire || fail "no ban-expire audited"
	expect_eq "bans expired" "192.0.2.99/32" "$(tables_entries ban-expire | jq -r .target)"
	nl_wait_until $((50 + n * 20)) ticks_past $((ticks + n)) ||
		fail "the daemon made $(($(metric smtpguard_ticks_total) - ticks)) of $n ticks"
	# Counted by the passes after the removal: the one under way had seen the ban.
	expect_metric 'smtpguard_bans{reason="manual"}' 65535
	nl_wait_until 90 metric_is 'smtpguard_map_entries{map="sg_bans"}' 65535 || true
	expect_metric 'smtpguard_map_entries{map="sg_bans"}' 65535
	turn=$(metric smtpguard_loop_turn_max_seconds)
	figure "sg_bans full, $n ticks of the daemon: longest turn $turn s; stalls over 1 s: $(metric smtpguard_loop_stalls_total)"
	expect_metric smtpguard_loop_stalls_total 0
}

ticks_past() # COUNT
{
	[ "$(metric smtpguard_ticks_total)" -ge "$1" ]
}

# A Postfix log of N messages submitted and never removed (a queue that
# does not drain), replayed: past the 65,536 tracked, each pushes out the
# oldest at a constant cost. Replay time is the figure; the exact counts
# are the unit tests' (test_mailstats).
test_chaos_mail_in_flight()
{
	local n start secs

	n=$(at_scale 70000 80000)
	awk -v n="$n" 'BEGIN {
		for (i = 0; i < n; i++) {
			t = sprintf("Nov 23 10:%02d:%02d", int(i / 6000) % 60, int(i / 100) % 60)
			q = sprintf("Q%09X", i)
			printf "%s mail postfix/smtpd[100]: %s: client=unknown[198.51.100.7], sasl_method=LOGIN, sasl_username=bulk@x.example\n", t, q
			printf "%s mail postfix/qmgr[101]: %s: from=<bulk@x.example>, size=300, nrcpt=1 (queue active)\n", t, q
		}
	}' >"$T/maillog"
	start=$(date +%s.%N)
	sg replay --mta postfix --json "$T/maillog" >"$T/replay.json"
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	figure "replay of $n messages in flight: $secs s (65,536 tracked)"
	expect_eq "messages counted" "sasl:bulk@x.example $n" \
		"$(jq -r '.[] | "\(.principal) \(.messages)"' "$T/replay.json")"
}
