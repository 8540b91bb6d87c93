# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The detector in the daemon, on the built-in defaults: a never-seen user
# hammering port 25 is throttled automatically, audited with its evidence;
# a human release wins and holds through the grace period. Sourced by run.sh.

TESTS+=(detect_new_sender detect_release_wins detect_restart_keeps_baselines detect_never_loosens
	detect_allow_lifts)

# The audit entries the daemon wrote about USER, one compact JSON per line.
daemon_actions() # USER
{
	jq -c --argjson uid "$(id -u "$1")" \
		'select(.actor == "daemon" and .uid == $uid and .action != "expire")' "$T/audit.log" 2>/dev/null
}

has_action() # USER ACTION
{
	daemon_actions "$1" | jq -e --arg a "$2" 'select(.action == $a)' >/dev/null 2>&1
}

test_detect_new_sender()
{
	local out ok

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	out=$(connect_as "$USER_A" -n 100 "$NET4" 25)
	ok=$(sed -n 's/^ok=\([0-9]*\) .*/\1/p' <<<"$out")
	# The default bucket lets 20 through at once; the rest are refused in the kernel.
	expect_eq "connects" "ok=20 eperm=80 other=0" "$out"
	nl_wait_until 30 has_action "$USER_A" throttle || fail "no throttle: $(tail -n 5 "$T/daemon.log")"
	expect_eq "rule" new_sender "$(daemon_actions "$USER_A" | jq -r 'select(.action == "throttle") | .reason')"
	expect_eq "evidence last_1m" 100 "$(daemon_actions "$USER_A" | jq -r 'select(.action == "throttle") | .params.last_1m')"
	expect_eq "policy" "throttle 6/min by the detector" \
		"$(sg explain "$USER_A" --json | jq -r '"\(.kernel.mode) \(.kernel.rate) by \(.kernel.set_by)"')"
	expect_eq "sink accepted" "$ok" "$(accepts "$SINK_LOG" 25)"
	# B sends one message: never new-sender material.
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 25
	sleep 2
	expect_eq "B actions" "" "$(daemon_actions "$USER_B")"
	expect_metric 'smtpguard_alerts_total{rule="new_sender"}' 1
	expect_metric 'smtpguard_actions_total{action="throttle",rule="new_sender"}' 1
	expect_metric "smtpguard_alert_active{$(sender "$USER_A"),rule=\"new_sender\"}" 1
}

test_detect_release_wins()
{
	write_config "$T/smtpguard.conf" "release_grace = 1h"
	start_daemon "$T/smtpguard.conf"
	connect_as "$USER_A" -n 60 "$NET4" 25 >/dev/null
	nl_wait_until 30 has_action "$USER_A" throttle || fail "no throttle"
	SMTPGUARD_CONFIG=$T/smtpguard.conf sg release "$USER_A" --reason "customer verified"
	expect_eq "after release" "observe by an administrator (CLI)" \
		"$(sg explain "$USER_A" --json | jq -r '"\(.kernel.mode) by \(.kernel.set_by)"')"
	# Still hammering: the alert holds, but the human's release stands.
	expect_connects "$USER_A" "ok=60 eperm=0 other=0" -n 60 "$NET4" 25
	sleep 2
	expect_eq "throttles" 1 "$(daemon_actions "$USER_A" | jq -r 'select(.action == "throttle")' | jq -s length)"
	expect_eq "still observe" observe "$(sg explain "$USER_A" --json | jq -r .kernel.mode)"
}

first_seen() # USER
{
	sg explain "$1" --json | jq -r .daemon.first_seen
}

seen() # USER
{
	[ "$(first_seen "$1")" != null ]
}

# SIGTERM saves the baselines; the next daemon starts from them; a bad file is no crash.
test_detect_restart_keeps_baselines()
{
	local before

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=3 eperm=0 other=0" -n 3 "$NET4" 25
	nl_wait_until 30 seen "$USER_A" || fail "A has no first_seen: $(sg explain "$USER_A" --json)"
	before=$(first_seen "$USER_A")
	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" || fail "daemon did not stop"
	expect_eq "format" SGBASE "$(gzip -dc "$T/baselines.gz" | head -c 6)"
	start_daemon "$T/smtpguard.conf"
	grep -q "baselines from $T/baselines.gz" "$T/daemon.log" || fail "not loaded"
	expect_eq "first_seen kept" "$before" "$(first_seen "$USER_A")"
	expect_eq "still new" true "$(sg explain "$USER_A" --json | jq -r .daemon.new_sender)"

	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" || fail "daemon did not stop"
	echo "not a baseline file" | gzip >"$T/baselines.gz"
	start_daemon "$T/smtpguard.conf"
	grep -q "$T/baselines.gz: not a smtpguard baseline file; starting with no baselines" \
		"$T/daemon.log" || fail "no warning: $(tail -n 5 "$T/daemon.log")"
}

# A rule's throttle never loosens what is in force: here a default block.
test_detect_never_loosens()
{
	write_config "$T/smtpguard.conf" "[policy]" "default = block"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=0 eperm=40 other=0" -n 40 "$NET4" 25
	nl_wait_until 30 has_action "$USER_A" alert || fail "no alert: $(tail -n 3 "$T/daemon.log")"
	expect_eq "note" "no action: already block by the default policy" \
		"$(daemon_actions "$USER_A" | jq -r 'select(.action == "alert") | .params.note' | head -n 1)"
	expect_eq "no throttle" "" "$(daemon_actions "$USER_A" | jq -r 'select(.action == "throttle")')"
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25
}

# A user put on the allow list by a reload is let go at once, and never judged again.
test_detect_allow_lifts()
{
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	connect_as "$USER_A" -n 40 "$NET4" 25 >/dev/null
	nl_wait_until 30 has_action "$USER_A" throttle || fail "no throttle"
	write_config "$T/smtpguard.conf" "allow = root $USER_A"
	kill -HUP "$DAEMON_PID"
	nl_wait_until 30 grep -q "the detector's throttle is lifted" "$T/daemon.log" ||
		fail "not lifted: $(tail -n 3 "$T/daemon.log")"
	expect_eq "policy" "observe by the config file" \
		"$(sg explain "$USER_A" --json | jq -r '"\(.kernel.mode) by \(.kernel.set_by)"')"
	expect_connects "$USER_A" "ok=40 eperm=0 other=0" -n 40 "$NET4" 25
	sleep 2
	expect_eq "throttles" 1 "$(daemon_actions "$USER_A" | jq -r 'select(.action == "throttle")' | jq -s length)"
}
