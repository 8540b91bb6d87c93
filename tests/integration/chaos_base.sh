# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's first scenarios, those that held when tried: the daemon
# killed or restarted, the hooks re-attached, and many UIDs at once, each
# while a customer floods; the kernel's count must stay exact throughout.
# Sourced by run.sh; start_daemon, write_config, metric and expect_metric are
# daemon.sh's.
#
#   chaos_kill9_flood     a throttled user's flood across kill -9 and SIGTERM
#                         restarts gets exactly its burst through
#   chaos_reattach_flood  a blocked user's flood across re-attaches gets 0 out
#   chaos_uids            many UIDs at once, each counted exactly, in the
#                         kernel and in /metrics

TESTS+=(chaos_kill9_flood chaos_reattach_flood chaos_uids)

CHAOS_FLOOD_BATCH=200	 # connects of one batch of a flood
CHAOS_FLOOD_MAX=1000	 # batches of a flood at most, whatever happens
CHAOS_UID_BASE=2100000000 # the first of chaos_uids' UIDs, far from any real one

# USER's flood to $NET4:PORT in the background: one sg_connect batch after
# another, each's line appended to $T/chaos-flood.out, until chaos_flood_stop
# (or CHAOS_FLOOD_MAX batches). The faults happen between batches that
# chaos_flood_more waits for, so that the flood runs before, across and
# after each of them.
chaos_flood_start() # USER PORT
{
	rm -f "$T/chaos-flood.stop"
	: >"$T/chaos-flood.out"
	(
		for ((i = 0; i < CHAOS_FLOOD_MAX; i++)); do
			[ ! -e "$T/chaos-flood.stop" ] || exit 0
			connect_as "$1" -n "$CHAOS_FLOOD_BATCH" "$NET4" "$2" >>"$T/chaos-flood.out"
		done
	) &
	echo $! >"$T/chaos-flood.pid"
	echo $! >>"$T/pids"
}

chaos_batches()
{
	wc -l <"$T/chaos-flood.out"
}

chaos_batches_over() # N
{
	[ "$(chaos_batches)" -gt "$1" ]
}

# Returns once two more batches have ended: one at least wholly after now.
chaos_flood_more()
{
	local n

	n=$(chaos_batches)
	nl_wait_until 100 chaos_batches_over $((n + 1)) ||
		fail "the flood stalled at $(chaos_batches) batches"
	kill -0 "$(cat "$T/chaos-flood.pid")" 2>/dev/null ||
		fail "the flood ended at its $CHAOS_FLOOD_MAX batches before the faults did"
}

# Ends the flood after its batch in progress.
chaos_flood_stop()
{
	touch "$T/chaos-flood.stop"
	wait "$(cat "$T/chaos-flood.pid")"
}

# The flood's "OK EPERM OTHER", summed over its batches.
chaos_flood_sum()
{
	sed 's/[a-z]*=//g' "$T/chaos-flood.out" |
		awk '{ ok += $1; eperm += $2; other += $3 } END { print ok + 0, eperm + 0, other + 0 }'
}

chaos_daemon_gone()
{
	nl_gone "$DAEMON_PID"
}

# The daemon ended with SIG, and started again on the same config.
chaos_restart() # SIG
{
	kill "-$1" "$DAEMON_PID"
	nl_wait_until 50 chaos_daemon_gone || fail "the daemon survived SIG$1"
	start_daemon "$T/smtpguard.conf"
}

# A user throttled to 1/h, burst 25, floods; the daemon is killed with
# kill -9 and restarted, then stopped with SIGTERM and restarted, each in
# the middle of the flood (at_scale times): exactly the burst gets
# through, every other connect is refused, and the counters go on.
test_chaos_kill9_flood()
{
	local i n burst=25 ok eperm other a

	n=$(at_scale 1 5)
	a=$(sender "$USER_A")
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	# 1 an hour: no token comes back during the flood, so exactly the burst passes.
	sg throttle "$USER_A" --rate 1/h --burst "$burst"
	chaos_flood_start "$USER_A" 25
	for ((i = 0; i < n; i++)); do
		chaos_flood_more
		chaos_restart KILL
		chaos_flood_more
		chaos_restart TERM
	done
	chaos_flood_more
	chaos_flood_stop
	read -r ok eperm other < <(chaos_flood_sum)
	figure "kill -9 and SIGTERM mid-flood, $n of each: $ok accepted of" \
		"$((ok + eperm + other)) for a maximum of $burst"
	expect_eq "accepted/other" "$burst 0" "$ok $other"
	expect_eq "sink accepts" "$burst" "$(accepts "$SINK_LOG" 25)"
	expect_top "$USER_A" "$((ok + eperm))/$burst/$eperm/$burst"
	expect_metric "smtpguard_sender_connections_total{$a}" $((ok + eperm))
	expect_metric "smtpguard_sender_denied_total{$a}" "$eperm"
}

# A blocked user floods while `attach` replaces the hooks at_scale times,
# the daemon running: not one connect gets out, and each is counted.
test_chaos_reattach_flood()
{
	local i n ok eperm other

	n=$(at_scale 5 30)
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	chaos_flood_start "$USER_A" 25
	for ((i = 0; i < n; i++)); do
		chaos_flood_more
		sg attach --cgroup "$CG" -i "$VETH_HOST" >/dev/null
	done
	chaos_flood_more
	chaos_flood_stop
	read -r ok eperm other < <(chaos_flood_sum)
	figure "$n re-attaches during a blocked user's flood: $((ok + other)) escaped of" \
		"$((ok + eperm + other))"
	expect_eq "escaped (accepted/other)" "0 0" "$ok $other"
	expect_eq "sink accepts" 0 "$(accepts "$SINK_LOG" 25)"
	expect_top "$USER_A" "$eperm/0/$eperm/0"
	expect_metric "smtpguard_sender_denied_total{$(sender "$USER_A")}" "$eperm"
}

# "COUNTxVALUE ..." of SERIES of chaos_uids' N UIDs in /metrics: how many have each value.
chaos_uid_metric() # SERIES N
{
	http_get /metrics | awk -v s="$1" -v lo="$CHAOS_UID_BASE" -v n="$2" '
		index($1, s "{uid=\"") == 1 {
			split($1, f, "\""); if (f[2] >= lo && f[2] < lo + n) c[$2]++
		}
		END { for (v in c) printf "%s%dx%s", sep, c[v], v; sep = " " }'
}

chaos_uid_metric_is() # SERIES N WANT
{
	[ "$(chaos_uid_metric "$1" "$2")" = "$3" ]
}

# at_scale UIDs (with no passwd entry: the kernel knows senders by UID) at
# once, each making the same number of connects as fast as they go, under
# the default throttle: each UID's count is exact, in the kernel and in
# /metrics, and each got exactly its burst through.
test_chaos_uids()
{
	local n per burst=5 out total denied series want

	n=$(at_scale 100 1000)
	per=$(at_scale 20 100)
	total=$((n * per))
	denied=$((per - burst))
	# The detector's actions would change the policies: here they only alert.
	write_config "$T/smtpguard.conf" "[policy]" "default = throttle" "rate = 1/h" \
		"burst = $burst" "[actions]" "rate = alert" "new_sender = alert" \
		"[exporter]" "top_senders = $n"
	start_daemon "$T/smtpguard.conf"
	# As root in the test cgroup: sg_connect becomes each UID itself.
	# shellcheck disable=SC2016 # expanded by the inner sh
	out=$(nl_in "$NS_HOST" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" \
		"$CONNECT" --uids "$CHAOS_UID_BASE:$n" -n "$per" "$NET4" 25)
	figure "$n UIDs, $total connects: $(awk -F= -v t="$total" \
		'NR == 2 { printf "%s s, %d connects/s", $3, ($3 > 0 ? t / $3 : t) }' <<<"$out")"
	expect_eq "connects" "ok=$((n * burst)) eperm=$((n * denied)) other=0" "$(head -n 1 <<<"$out")"
	expect_eq "sink accepts" $((n * burst)) "$(accepts "$SINK_LOG" 25)"
	expect_eq "sg_uid_stats of the UIDs (attempts/allowed/denied)" \
		"${n}x$per/$burst/$denied" \
		"$(map_dump sg_uid_stats | jq -r --argjson lo "$CHAOS_UID_BASE" --argjson n "$n" '
			[.[].formatted | select(.key >= $lo and .key < $lo + $n) | .value
			 | "\(.attempts)/\(.allowed)/\(.denied)"]
			| group_by(.) | map("\(length)x\(.[0])") | join(" ")')"
	while read -r series want; do
		nl_wait_until 40 chaos_uid_metric_is "$series" "$n" "$want" || true
		expect_eq "$series of the UIDs" "$want" "$(chaos_uid_metric "$series" "$n")"
	done <<-EOF
		smtpguard_sender_connections_total ${n}x$per
		smtpguard_sender_denied_total ${n}x$denied
		smtpguard_sender_connections_established_total ${n}x$burst
	EOF
	expect_metric 'smtpguard_egress_syn_total{port="25"}' $((n * burst))
}
