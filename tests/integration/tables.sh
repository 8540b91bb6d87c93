# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kernel's per-UID tables against a hostile customer: what one user does
# cannot push another user's counts out. Sourced by run.sh.

TESTS+=(tables_flood)

# Entries of USER in the pinned map MAP (its keys lead with the UID).
uid_entries() # MAP USER
{
	map_dump "$1" |
		jq --argjson uid "$(id -u "$2")" '[.[] | select(.formatted.key.uid == $uid)] | length'
}

# USER's distinct destinations in the last 10 minutes, as the daemon exports them.
destinations_10m() # USER
{
	metric "smtpguard_sender_destinations{$(sender "$1"),window=\"10m\"}" |
		awk '/^absent$/ { print; next } { printf "%d\n", $1 }'
}

# The IPv4 address 10.0.0.1 + N, dotted.
ten_plus() # N
{
	local a=$((0x0a000001 + $1))

	echo "$((a >> 24 & 255)).$((a >> 16 & 255)).$((a >> 8 & 255)).$((a & 255))"
}

destinations_are() # USER N
{
	[ "$(destinations_10m "$1")" = "$2" ]
}

# A blocked user's 140,000 refused connects to as many destinations, twice
# what sg_flows holds, from every CPU (an LRU map keeps a free list per CPU),
# leave another user's 10-minute destination count as it was: the flooder
# gets its quota of entries (the config's), and each one more is counted.
# The quota's check and count are not one step: a CPU that checks while
# another makes the last entry makes one more (the kernel's bound: one per
# CPU but the first), so every connect is asserted made or refused, exactly.
test_tables_flood()
{
	local cpus per i quota=512 made pids=()

	cpus=$(nproc)
	per=$((140000 / cpus))

	write_config "$T/smtpguard.conf" "[policy]" "default = observe" "uid_flows = $quota"
	start_daemon "$T/smtpguard.conf"
	# 60 destinations with no route from here: each connect() is counted, then fails at once.
	expect_connects "$USER_B" "ok=0 eperm=0 other=60" -n 60 --spread 60 192.0.2.1 25
	nl_wait_until 40 destinations_are "$USER_B" 60 || true
	expect_eq "B's destinations in 10 min" 60 "$(destinations_10m "$USER_B")"

	sg block "$USER_A"
	for ((i = 0; i < cpus; i++)); do
		as_user "$USER_A" taskset -c "$i" "$CONNECT" -n "$per" --spread "$per" \
			"$(ten_plus $((i * per)))" 25 >"$T/flood.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 0; i < cpus; i++)); do
		expect_eq "flood from CPU $i" "ok=0 eperm=$per other=0" "$(cat "$T/flood.$i")"
	done
	made=$(uid_entries sg_flows "$USER_A")
	((made >= quota && made < quota + cpus)) ||
		fail "sg_flows entries of A: $made, not $quota to $((quota + cpus - 1))"
	expect_metric 'smtpguard_quota_refused_total{table="sg_flows"}' $((per * cpus - made))
	expect_eq "B's destinations in 10 min after the flood" 60 "$(destinations_10m "$USER_B")"
	expect_eq "sg_flows entries of B" 60 "$(uid_entries sg_flows "$USER_B")"
	expect_metric 'smtpguard_map_entries{map="sg_flows"}' $((made + 60))
}
