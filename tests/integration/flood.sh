# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A customer cannot starve the daemon's loop: a fork+connect flood makes a
# ring-buffer event for every new process, and the tick (detection,
# containment, expiry, the watchdog) still runs every second. Sourced by
# run.sh; start_daemon, write_config, http_get, expect_metric and
# has_sender are daemon.sh's, fpm_cleanup fpm.sh's.

TESTS+=(daemon_fork_flood)

FLOODERS=16	   # fork+connect loops at once, as the customer
FLOOD_LINGER_MS=5  # each child's life after its connect, to be seen alive
FLOOD_SECONDS=5	   # each loop stops starting connects after this
FLOOD_MAX=20000	   # and after this many
FLOOD_BURST=20	   # the throttle's burst: what the flood gets through
FLOOD_POOLS=8	   # PHP-FPM pools on the host, one worker each

# "ok eperm other" summed over the flooders' "ok=N eperm=N other=N" lines.
flood_sum()
{
	cat "$T"/flood.[0-9]* | sed 's/[a-z]*=//g' |
		awk '{ ok += $1; eperm += $2; other += $3 } END { print ok + 0, eperm + 0, other + 0 }'
}

# FLOOD_POOLS PHP-FPM pools of one static worker each, run by $USER_B,
# sockets $T/fpm/pool*.sock, as on a host with a pool per customer; the
# pool's status page answers every lookup. Stopped by fpm_cleanup.
flood_pools()
{
	local i

	mkdir "$T/fpm"
	printf '[global]\npid = %s\nerror_log = %s\ndaemonize = no\n' \
		"$T/fpm/php-fpm.pid" "$T/fpm/error.log" >"$T/fpm/php-fpm.conf"
	for ((i = 0; i < FLOOD_POOLS; i++)); do
		printf '[pool%d]\nuser = %s\ngroup = %s\nlisten = %s\npm = static\n' \
			"$i" "$USER_B" "$(id -gn "$USER_B")" "$T/fpm/pool$i.sock"
		printf 'pm.max_children = 1\npm.status_path = /status\n'
	done >>"$T/fpm/php-fpm.conf"
	spawn_in "$NS_HOST" php-fpm8.2 -F -y "$T/fpm/php-fpm.conf"
	nl_wait_until 50 test -S "$T/fpm/pool$((FLOOD_POOLS - 1)).sock" ||
		fail "php-fpm did not start: $(cat "$T/fpm/error.log" 2>/dev/null)"
}

# SERIES now as metric says, or "unanswered" when the exporter (served by
# the daemon's loop) does not answer within curl's 5 s.
scrape() # SERIES
{
	local page

	page=$(http_get /metrics 2>/dev/null) || {
		echo unanswered
		return
	}
	awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }' <<<"$page"
}

# The flooders still running.
flooding()
{
	local pid

	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

# The tick period stays under 2 s, per the daemon's own metric sampled while
# FLOODERS fork+connect loops of one throttled customer run, each child
# titled "php-fpm: pool x" and alive for a moment, on a host with PHP-FPM
# pools: the title buys no status query (its exe is no PHP-FPM), and what
# attribution the flood gets is its share of the tick's, another customer's
# new sender still attributed. The flood is throttled exactly: its burst
# through, every other connect refused.
test_daemon_fork_flood()
{
	local i v pids=() samples=() ok eperm other ticks0 ticks1

	trap fpm_cleanup EXIT
	flood_pools
	write_config "$T/smtpguard.conf" "[attribution]" "php_fpm_sockets = $T/fpm/pool*.sock" \
		"php_fpm_status_path = /status"
	start_daemon "$T/smtpguard.conf"
	# 1 an hour: no token comes back during the flood, so exactly the burst passes.
	sg throttle "$USER_A" --rate 1/h --burst "$FLOOD_BURST"
	ticks0=$(scrape smtpguard_ticks_total)
	for ((i = 0; i < FLOODERS; i++)); do
		# Each child titled as a PHP-FPM worker: exec -a sets the title they share.
		# shellcheck disable=SC2016 # expanded by the inner bash
		as_user "$USER_A" bash -c 'exec -a "php-fpm: pool x" "$0" "$@"' "$CONNECT" \
			--fork --linger-ms "$FLOOD_LINGER_MS" --seconds "$FLOOD_SECONDS" \
			-n "$FLOOD_MAX" --timeout-ms 1000 "$NET4" 25 >"$T/flood.$i" 2>&1 &
		pids+=($!)
	done
	# Sampled until the flood ends (bounded by FLOOD_SECONDS, and curl's 5 s each).
	while flooding "${pids[@]}"; do
		samples+=("$(scrape smtpguard_tick_interval_seconds)")
		# Another customer's new sender, in the middle of the flood.
		if [ "${#samples[@]}" -eq 2 ]; then
			expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 587
		fi
		sleep 0.5
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	ticks1=$(scrape smtpguard_ticks_total)
	read -r ok eperm other < <(flood_sum)
	echo "# fork flood: $FLOODERS loops, $((ok + eperm + other)) connects in ${FLOOD_SECONDS} s;" \
		"ticks $ticks0 -> $ticks1; tick periods sampled: ${samples[*]}"
	for v in "${samples[@]}"; do
		awk -v v="$v" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && v < 2) }' ||
			fail "tick period during the flood: ${samples[*]} (want each < 2 s)"
	done
	[ "${#samples[@]}" -ge 4 ] || fail "only ${#samples[@]} samples of the tick period"
	[ "$ok $other" = "$FLOOD_BURST 0" ] ||
		fail "flood ok/other: expected '$FLOOD_BURST 0', got '$ok $other';" \
			"A's policy: $(sg explain "$USER_A" --json | jq -c .kernel);" \
			"hooks on $CG: $(bpftool -j cgroup show "$CG" | jq -c '[.[].attach_type]');" \
			"daemon: $(tail -n 4 "$T/daemon.log" | tr '\n' '|')"
	[ "$eperm" -gt 0 ] || fail "no connect of the flood was refused"
	expect_top "$USER_A" "$((ok + eperm))/$FLOOD_BURST/$eperm/$FLOOD_BURST"
	expect_metric 'smtpguard_attribution_skipped_total{kind="php_fpm"}' 0
	# Not one line per event: a sum, at most once a minute.
	expect_eq "reports of events not attributed" 1 "$(grep -c 'events not attributed' "$T/daemon.log")"
	# The flood spent its own share of attribution, not B's.
	nl_wait_until 80 has_sender "$USER_B" || fail "$USER_B's sender was not attributed"
	expect_eq "B's sender" "$USER_B 587" "$(newest_sender "$USER_B" '"\(.user) \(.port)"')"
	http_get /metrics | grep -E '^smtpguard_(events_(read|lost)_total|attribution_skipped)' |
		sed 's/^/# /'
}
