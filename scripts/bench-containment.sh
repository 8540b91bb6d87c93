#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, containment part: how fast a never-seen spam sender is
# stopped, and how much gets out first. For each case, a fresh lab
# (scripts/lab.sh: a new web user, never seen by the detector) runs the
# daemon, then the compromised PHP script at RATE connections a second for
# SECONDS. Reported, relative to the script's own first connect():
#   first EPERM    the first connect() the kernel refused, as the script saw it
#   action line    when the daemon's "smtpguard: action ..." line was written
#   audit record   the time in the daemon's audit entry for that action
# and the connections that escaped (accepted by the MXs from the web user,
# from the sink log), the messages delivered, and the configured burst.
#
# The cases: the lab config as it is (a default kernel throttle of 20/min,
# burst 20, plus the detector), and the same with `[policy] default =
# observe` (the detector alone), each at 100/s and 1000/s.
#
# Usage: scripts/bench-containment.sh [SECONDS]   (default 6, at most 30)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"

SECONDS_PER_RUN=${1:-6}
if ! [[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_RUN" -lt 1 ] ||
	[ "$SECONDS_PER_RUN" -gt 30 ]; then
	echo "usage: bench-containment.sh [SECONDS] (1 to 30)" >&2
	exit 2
fi
RESULTS=$(mktemp /tmp/sgbc.XXXXXX)

cleanup()
{
	lab_down
	rm -f "$RESULTS"
}
nl_trap cleanup

# The time of the daemon's first audit entry about USER, in epoch seconds, or empty.
action_audited() # USER
{
	local t

	t=$(jq -r --arg u "$1" 'select(.actor == "daemon" and .user == $u) | .time' \
		"$LAB_AUDIT" 2>/dev/null | head -n 1)
	[ -z "$t" ] || date -d "$t" +%s.%N
}

# One case: a fresh lab, the daemon on its config (POLICY: throttle, the
# lab's; observe: no default limit), the web script at RATE; one result line.
run_case() # POLICY RATE
{
	local policy=$1 rate=$2 out t0 logged audited burst rule

	lab_up
	if [ "$policy" = observe ]; then
		sed -i '/^\[policy\]/,/^\[/{s/^default = .*/default = observe/; /^rate = /d; /^burst = /d}' \
			"$LAB_CONF"
	fi
	lab_daemon_start "$LAB_CONF"
	# One tick past the start: the daemon has made its first pass.
	sleep 1.5
	out=$LAB/out/web.out
	lab_web_run "$rate" $((rate * SECONDS_PER_RUN)) "$SECONDS_PER_RUN" >"$out" 2>&1
	# The daemon acts at its next tick at the latest.
	nl_wait_until 30 test -n "$(lab_action_logged "$LAB_USER_WEB")" || true
	t0=$(lab_field "$out" first_connect)
	read -r logged rule <<<"$(lab_action_logged "$LAB_USER_WEB")"
	audited=$(action_audited "$LAB_USER_WEB")
	burst=$(sed -n '/^\[policy\]/,/^\[/s/^burst = //p' "$LAB_CONF")
	printf '%s %s %s %s %s %s %s %s %s %s %s\n' "$policy" "$rate" \
		"$(lab_field "$out" attempts)" "$(lab_field "$out" eperm)" \
		"$(lab_ms_since "$t0" "$(lab_field "$out" first_eperm)")" \
		"$(lab_ms_since "$t0" "$logged")" "$(lab_ms_since "$t0" "$audited")" "${rule:--}" \
		"$(lab_sink_count accept "$LAB_SRC_WEB")" "$(lab_sink_count data "$LAB_SRC_WEB")" \
		"${burst:--}" >>"$RESULTS"
	lab_down
}

for policy in throttle observe; do
	for rate in 100 1000; do
		run_case "$policy" "$rate"
	done
done

echo "containment of a never-seen sender (the lab's PHP script, ${SECONDS_PER_RUN}s per run);"
echo "times from the script's first connect(); escaped: connections the MXs accepted"
printf '  %-22s %6s %8s %7s %11s %11s %12s %-11s %7s %9s %5s\n' "default policy" "rate/s" \
	attempts EPERM "first EPERM" "action line" "audit entry" rule escaped delivered burst
while read -r policy rate attempts eperm first logged audited rule escaped delivered burst; do
	[ "$policy" = throttle ] && policy="throttle 20/min" || policy="observe (detector)"
	printf '  %-22s %6s %8s %7s %8s ms %8s ms %9s ms %-11s %7s %9s %5s\n' "$policy" "$rate" \
		"$attempts" "$eperm" "$first" "$logged" "$audited" "$rule" "$escaped" "$delivered" "$burst"
done <"$RESULTS"
