# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The daemon looks up only the UIDs the kernel marked since the last tick,
# by their low 16 bits (sg_uid_marks): two users whose UIDs share those bits,
# one of them new while the other sends, and users that send only between
# two ticks or go idle, each counted exactly. Sourced by run.sh.

TESTS+=(uid_marks_exact)

sender_total() # USER
{
	metric "smtpguard_sender_connections_total{$(sender "$1")}"
}

test_uid_marks_exact()
{
	local alias=${USER_A}m

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
	expect_eq "A's connections" 4 "$(sender_total "$USER_A")"
	# B sends once, between two ticks; then only the alias, which A's byte names too.
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 587
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 1
	expect_connects "$alias" "ok=3 eperm=0 other=0" -n 3 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$(sender "$alias")}" 5
	expect_eq "A's connections, idle" 4 "$(sender_total "$USER_A")"
	expect_eq "B's connections, idle" 1 "$(sender_total "$USER_B")"
}
