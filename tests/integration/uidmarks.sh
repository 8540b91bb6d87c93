# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The daemon looks up only the UIDs the kernel marked since the last tick,
# by their low 16 bits (sg_uid_marks): two users whose UIDs share those bits,
# one of them new while the other sends, users that send only between two
# ticks or go idle, and a process that sends again with nothing new for the
# kernel to make, each counted exactly. Sourced by run.sh.

TESTS+=(uid_marks_exact)

sender_total() # USER
{
	metric "smtpguard_sender_connections_total{$(sender "$1")}"
}

test_uid_marks_exact()
{
	local alias=${USER_A}m pid job

	# A's UID plus 65,536: the same byte of the marks. Removed with the test's users.
	nl_user_add "$T" "$alias" "" "$(($(id -u "$USER_A") + 65536))" || fail "useradd $alias"
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=3 eperm=0 other=0" -n 3 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_A")}" 3
	# The alias is new; A sends too, so its byte is set by a UID the daemon knows.
	expect_connects "$alias" "ok=2 eperm=0 other=0" -n 2 "$NET4" 25
	expect_connects "$USER_A" "ok=1 eperm=0 other=0" -n 1 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$(sender "$alias")}" 2
	# A tick may have read the alias's connects before A's: waited for, well under the
	# minute after which a whole read would show a count the marks missed.
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_A")}" 4
	# B sends once, between two ticks; then only the alias, which A's byte names too.
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 587
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 1
	expect_connects "$alias" "ok=3 eperm=0 other=0" -n 3 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$(sender "$alias")}" 5
	expect_eq "A's connections, idle" 4 "$(sender_total "$USER_A")"
	expect_eq "B's connections, idle" 1 "$(sender_total "$USER_B")"

	# One process of B's connects again each time it is told to: to a flow and as a
	# process the kernel already has, so only the mark of its count's write tells the daemon.
	# shellcheck disable=SC2016 # expanded by the customer's bash
	as_user "$USER_B" bash -c 'trap ": 3<>/dev/tcp/$0/587" USR1; : 3<>/dev/tcp/$0/587
		for _ in $(seq 300); do sleep 0.1; done' "$NET4" &
	job=$!
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 2
	pid=$(pgrep -u "$USER_B" -x bash) || fail "B's bash is not running"
	kill -USR1 "$pid"
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 3
	kill -USR1 "$pid"
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 4
	kill "$pid"
	wait "$job" || true
}
