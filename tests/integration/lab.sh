# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The scenarios on the lab (scripts/lab.sh, the box `make demo` shows), with
# the daemon on the lab's config: S6, a PHP file uploaded to a WordPress site
# sending straight to remote MXs, throttled and named (the time reported:
# `make bench` measures it) with no more than the default burst getting out; S2, the newsletter's burst within its
# override drawing no action. Each test builds its own lab and removes it on
# any exit. Sourced by run.sh.

TESTS+=(lab_s6_direct_to_mx lab_s2_newsletter)

# shellcheck source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"

# The lab for this test, removed however the test ends; its daemon under
# the unit's sandbox, the lab's directory standing in for the state
# directory (its pins, config and audit log are there). Extra config lines
# (whole sections) go at the end of the lab's config.
# shellcheck disable=SC2120 # dryrun.sh's tests pass config lines
lab_for_test() # [CONFIG-LINE...]
{
	trap 'lab_down >/dev/null 2>&1' EXIT
	lab_up >"$T/lab.out" 2>&1 || fail "lab: $(tail -n 3 "$T/lab.out")"
	[ $# -eq 0 ] || lab_write_config "$LAB_CONF" "$@"
	unit_sandbox "/var/lib/smtpguard=$LAB" "/sys/fs/bpf=$LAB_BPFFS"
	LAB_DAEMON_WRAP=("${SANDBOX[@]}")
	lab_daemon_start || fail "daemon: $(tail -n 3 "$LAB_DAEMON_LOG")"
}

# The daemon's audit entries about USER, compact, one a line.
lab_daemon_actions() # USER
{
	jq -c --argjson uid "$(id -u "$1")" 'select(.actor == "daemon" and .uid == $uid)' \
		"$LAB_AUDIT" 2>/dev/null || true
}

# Seconds (3 decimals) from the script's first connect to the daemon's first action line.
lab_reaction() # SCRIPT-OUTPUT
{
	local t0 t1

	t0=$(sed -n 's/.* first_connect=\([0-9.]*\).*/\1/p' <<<"$1")
	t1=$(lab_action_logged "$LAB_USER_WEB" | cut -d' ' -f1)
	[ -n "$t0" ] && [ -n "$t1" ] || return 1
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

test_lab_s6_direct_to_mx()
{
	local out connected eperm took audit uid

	lab_for_test
	# 100 connections a second for 3 s from the uploaded file, as the web user.
	out=$(lab_web_run 100 300 3)
	connected=$(sed -n 's/.* connected=\([0-9]*\).*/\1/p' <<<"$out")
	eperm=$(sed -n 's/.* eperm=\([0-9]*\).*/\1/p' <<<"$out")
	uid=$(id -u "$LAB_USER_WEB")
	nl_wait_until 30 grep -q "action throttle user=$LAB_USER_WEB " "$LAB_DAEMON_LOG" ||
		fail "no throttle: $out; $(grep smtpguard: "$LAB_DAEMON_LOG" | tail -n 3)"
	took=$(lab_reaction "$out") || fail "no timing: $out"
	echo "# S6: $out; action after ${took}s"
	# At most the default burst (20) got through: the kernel's bucket held until the action.
	[ "$connected" -le 20 ] || fail "$connected connections escaped, more than the burst of 20"
	expect_eq "attempts" 300 "$((connected + eperm))"
	expect_eq "accepted by the MXs" "$connected" "$(lab_sink_count accept "$LAB_SRC_WEB")"
	# The right UID, rule, process and script, in the log line and the audit.
	grep -q "action throttle user=$LAB_USER_WEB uid=$uid rule=new_sender .* script=$LAB_WEB_SCRIPT\$" \
		"$LAB_DAEMON_LOG" || fail "action line: $(grep -m1 'action throttle' "$LAB_DAEMON_LOG")"
	audit=$(lab_daemon_actions "$LAB_USER_WEB" | jq -c 'select(.action == "throttle")')
	expect_eq "audited" "new_sender $LAB_WEB_SCRIPT 6/min" \
		"$(jq -r '"\(.reason) \(.params.processes[0].process.script) \(.params.rate)"' <<<"$audit")"
	expect_eq "explain" "throttle the detector FIRING" \
		"$(lab_sg explain "$LAB_USER_WEB" | awk '/^policy:/ { p = $2 } /^policy:/ && /the detector/ { s = "the detector" } /new_sender +FIRING/ { f = "FIRING" } END { print p, s, f }')"
	# Nobody else was touched.
	expect_eq "others' actions" "" "$(lab_daemon_actions "$LAB_USER_STEADY1")$(lab_daemon_actions "$LAB_USER_NEWS")"
}

test_lab_s2_newsletter()
{
	local out

	lab_for_test
	lab_steady_start 15
	# The daily newsletter: 150 messages at 20 a second, within its override.
	out=$(lab_news_burst 150 20)
	echo "# S2: $out"
	echo "$out" >"$T/news.out"
	expect_eq "newsletter" "150 0 0 150" "$(lab_field "$T/news.out" sent) \
$(lab_field "$T/news.out" eperm) $(lab_field "$T/news.out" other) \
$(($(lab_field "$T/news.out" delivered) + $(lab_field "$T/news.out" refused)))"
	sleep 2
	expect_eq "newsletter actions" "" "$(lab_daemon_actions "$LAB_USER_NEWS")"
	expect_eq "steady actions" "" \
		"$(lab_daemon_actions "$LAB_USER_STEADY1")$(lab_daemon_actions "$LAB_USER_STEADY2")"
	expect_eq "alerts" 0 "$(lab_metric 'smtpguard_alerts_total{rule="rate"}')"
	expect_eq "newsletter refused" 0 \
		"$(lab_sg top --json | jq --argjson uid "$(id -u "$LAB_USER_NEWS")" '.[] | select(.uid == $uid) | .denied')"
}
