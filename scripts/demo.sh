#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: S6 replayed on the lab (scripts/lab.sh), narrated. A shared
# hosting box with two steady customers and a newsletter publisher sending
# normally; then a PHP file uploaded into a WordPress site starts sending
# spam straight to 20 remote MXs. The demo shows the spike, the daemon naming
# the user, process and script, its automatic throttle (log, audit,
# explain), what the script and the MXs saw, and that the legitimate
# senders were left alone. Everything it makes is removed on any exit;
# it takes about 25 s and at most a minute.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lab.sh
. "$ROOT/scripts/lab.sh"

WEB_RATE=100	# connections per second the script tries
WEB_COUNT=1000	# and at most this many,
WEB_SECONDS=10	# in at most this long
NEWS_COUNT=150
NEWS_RATE=20

if [ -t 1 ]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' OFF=$'\e[0m'
else
	BOLD='' DIM='' OFF=''
fi

heading()
{
	printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"
}

say()
{
	printf '   %s\n' "$*"
}

# Command output, indented under its heading.
show()
{
	sed "s/^/   $DIM|$OFF /"
}

# Kernel counts and policy of USER from `top --json`: "attempts allowed denied policy".
counts() # USER
{
	lab_sg top --json | jq -r --argjson uid "$(id -u "$1")" '
		[.[] | select(.uid == $uid)][0] // {attempts: 0, allowed: 0, denied: 0}
		| "\(.attempts) \(.allowed) \(.denied) \(if .policy then .policy.mode
			+ (if .policy.rate then " " + .policy.rate else "" end) else "none" end)"'
}

action_line() # USER
{
	grep -m 1 "^smtpguard: action [a-z]* user=$1 " "$LAB_DAEMON_LOG"
}

# Whatever else the lab left, after lab_down: nothing, or what is there.
leftovers() # ID
{
	local id=$1

	ip netns list | grep -- "sglab-$id" || true
	getent passwd | grep -- "-$id:" | cut -d: -f1 || true
	[ ! -e "$(nl_cgroup2_root)/sglab-$id" ] || echo "cgroup sglab-$id"
	compgen -G "/tmp/sglab-$id.*" || true
	grep -- "sglab-$id" /proc/self/mounts | cut -d' ' -f2 || true
}

cleanup()
{
	lab_down
}
nl_trap cleanup

heading "A shared-hosting box and 'the internet', in network namespaces"
lab_up
say "box $LAB_NS_HOST: $LAB_HOST4 on $LAB_VETH_HOST; customers in cgroup $LAB_CG"
say "internet $LAB_NS_INET: 20 remote MXs ${LAB_MX4[0]} to ${LAB_MX4[19]}, port 25;"
say "  they accept ok*@ recipients and answer 550 to every other"
say "customers: $LAB_USER_STEADY1 and $LAB_USER_STEADY2 (a message every 3-5 s),"
say "  $LAB_USER_NEWS (newsletters), $LAB_USER_WEB (a WordPress site)"

heading "smtpguard run: every customer limited to 20 connections a minute (burst 20) in the"
say "kernel; a never-seen sender above 60/min is throttled to 6/min for an hour; the"
say "newsletter publisher has its own limit (6000/h, burst 300)"
lab_daemon_start "$LAB_CONF"
sed -n '/^\[detect\]/,$p' "$LAB_CONF" | grep -E '^(\[|new_sender|rate|limit|burst)' | show

heading "Normal traffic: the steady customers, and a newsletter of $NEWS_COUNT at $NEWS_RATE/s"
lab_steady_start 40
lab_news_burst "$NEWS_COUNT" "$NEWS_RATE" >"$LAB/out/news.out" 2>&1 &
news_pid=$!
sleep 3
lab_sg top -n 6 | show

heading "The attack (S6): an uploaded PHP file sends spam straight to the MXs"
say "php $LAB_WEB_SCRIPT"
say "  $WEB_RATE connections a second, round-robin over the 20 MXs, random recipients"
lab_web_run "$WEB_RATE" "$WEB_COUNT" "$WEB_SECONDS" >"$LAB/out/web.out" 2>&1 &
web_pid=$!
nl_wait_until 100 action_line "$LAB_USER_WEB" >/dev/null ||
	say "(no automatic action within 10 s: the detector is not in this build)"
sleep 1
lab_sg top -n 6 | show

heading "The daemon names the sender: user, process, script"
grep -m 1 "^smtpguard: new sender uid $(id -u "$LAB_USER_WEB") " "$LAB_DAEMON_LOG" |
	sed 's/ \(exe\|cmdline\|script\|cwd\)=/\n  \1=/g; s/ -> /\n  -> /' | show || true

heading "...and throttles it, in the kernel, on its own"
action_line "$LAB_USER_WEB" | show || say "(no action line)"
lab_sg log -n 5 | cut -c1-160 | show

heading "smtpguard explain $LAB_USER_WEB"
lab_sg explain "$LAB_USER_WEB" | cut -c1-160 | show || true

heading "What the script got, and what reached the MXs"
wait "$web_pid" || true
show <"$LAB/out/web.out"
t0=$(lab_field "$LAB/out/web.out" first_connect)
say "connect() refused with EPERM by the kernel: $(lab_field "$LAB/out/web.out" eperm)" \
	"of $(lab_field "$LAB/out/web.out" attempts), the first $(lab_ms_since "$t0" \
	"$(lab_field "$LAB/out/web.out" first_eperm)") ms after its first connect()" \
	"(the default burst of 20 spent)"
say "the daemon's throttle was written $(lab_ms_since "$t0" "$(lab_action_logged "$LAB_USER_WEB" | cut -d" " -f1)") ms" \
	"after its first connect()"
say "connections the MXs accepted from the web user: $(lab_sink_count accept "$LAB_SRC_WEB")," \
	"messages delivered: $(lab_sink_count data "$LAB_SRC_WEB")"
lab_http_get /metrics | grep -E '^smtpguard_(alerts_total|actions_total|alert_active)' |
	grep -v ' 0$' | show || true

heading "Left alone: the newsletter and the steady customers"
wait "$news_pid" || true
for u in "$LAB_USER_NEWS" "$LAB_USER_STEADY1" "$LAB_USER_STEADY2"; do
	case $u in
	"$LAB_USER_NEWS") src=$LAB_SRC_NEWS ;;
	"$LAB_USER_STEADY1") src=$LAB_SRC_STEADY1 ;;
	*) src=$LAB_SRC_STEADY2 ;;
	esac
	read -r attempts _ denied policy <<<"$(counts "$u")"
	[ "$policy" != none ] || policy="the default, 20/min"
	printf '%-20s %4d connections, %d refused; %3d messages delivered; policy: %s; %s\n' \
		"$u" "$attempts" "$denied" "$(lab_sink_count data "$src")" "$policy" \
		"$(action_line "$u" >/dev/null && echo "ACTED ON" || echo "no action")" | show
done
say "newsletter script: $(cat "$LAB/out/news.out")"

heading "Removing the lab"
id=$LAB_ID
lab_down
left=$(leftovers "$id")
if [ -n "$left" ]; then
	say "left behind:"
	show <<<"$left"
	exit 1
fi
say "no namespace, user, cgroup, bpffs or file of lab $id is left; ${SECONDS}s in all"
