# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The tick's per-UID counts, taken with each UID's one sample a tick (the
# last minute's connects, sock_ops' outcomes over 10 min), against what
# the kernel counted: exact for a UID that sent at this tick and for one
# that did not. Sourced by run.sh.

TESTS+=(tick_counts_exact)

# USER's finished and failed connections over 10 min, as the detector last observed them.
observed() # USER
{
	control_get "/explain?principal=uid:$(id -u "$1")" | jq -r '"\(.finished_10m) \(.failed_10m)"'
}

observed_is() # USER WANT
{
	[ "$(observed "$1")" = "$2" ]
}

test_tick_counts_exact()
{
	# 2525 is watched but nobody listens on it: its connects are refused.
	write_config "$T/smtpguard.conf" "[ports]" "outbound = 25 465 587 2525"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=4 eperm=0 other=0" -n 4 "$NET4" 25
	expect_connects "$USER_A" "ok=0 eperm=0 other=3" -n 3 "$NET4" 2525
	expect_connects "$USER_B" "ok=2 eperm=0 other=0" -n 2 "$NET4" 587
	nl_wait_until 50 observed_is "$USER_A" "7 3" || true
	expect_eq "A finished failed" "7 3" "$(observed "$USER_A")"
	expect_eq "B finished failed" "2 0" "$(observed "$USER_B")"
	# Only A sends: B, idle at these ticks, keeps its counts.
	expect_connects "$USER_A" "ok=0 eperm=0 other=2" -n 2 "$NET4" 2525
	nl_wait_until 50 observed_is "$USER_A" "9 5" || true
	expect_eq "A finished failed, later" "9 5" "$(observed "$USER_A")"
	expect_eq "B finished failed, idle" "2 0" "$(observed "$USER_B")"
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_A")}" 9
}
