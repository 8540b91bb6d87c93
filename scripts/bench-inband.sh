#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, in-band part: the daemon's policy service judging real mail
# before it is queued, with the real Postfix (scripts/mta-lab.sh) and Exim
# (scripts/exim-lab.sh) asking it, one lab at a time.
#
#   escaped   a bot with a leaked password logs in from "the internet" and
#             sends at 10 messages a second (one connection) and at 100 (four
#             connections of 25), each for RUN_S seconds, under an account
#             of its own that the daemon has never seen; escaped = messages
#             the remote MX received from it minus the first budget
#             ([budget] first, 20). The rate the server let the bot reach
#             is printed beside the one it aimed at. Held: frozen or in
#             the hold queue, nothing lost. Exim queues what one connection
#             sends beyond its tenth message (smtp_accept_queue_per_connection)
#             for the next queue run, so the account's containment may
#             freeze some of its first budget before they leave: escaped
#             can then be below 0.
#   answers   build/tools/sg_policy bench on the daemon's socket (Postfix
#             lab): N requests at 1,000 a second over 1 and 8 connections
#             and flat out over 8, logins spread over 1,000 accounts, each
#             a message of its own: answers a second, 50th and 99th
#             percentile answer time, the verdicts.
#
# Numbers, never assertions: the machine's load shows in them. Everything
# (labs, namespaces, cgroup, bpffs, the daemon) is removed on exit.
#
# Usage: scripts/bench-inband.sh [N [RUN_S]]   (default 5000 requests, 5 s)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/mta-lab.sh
. "$ROOT/scripts/mta-lab.sh"
# shellcheck source=scripts/exim-lab.sh
. "$ROOT/scripts/exim-lab.sh"

N=${1:-5000}
RUN_S=${2:-5}
if ! [[ $N =~ ^[0-9]+$ && $RUN_S =~ ^[0-9]+$ ]] || [ "$N" -lt 100 ] || [ "$RUN_S" -lt 1 ] ||
	[ "$RUN_S" -gt 60 ]; then
	echo "usage: bench-inband.sh [N [RUN_S]] (N at least 100, RUN_S 1 to 60)" >&2
	exit 2
fi
FIRST=20
BOT=$ROOT/tests/integration/php/smtp-bot.php
TOOL=$ROOT/build/tools/sg_policy
SG_BIN=$ROOT/smtpguard
for f in "$SG_BIN" "$TOOL"; do
	[ -x "$f" ] || { echo "bench-inband: $f missing (make all $TOOL)" >&2; exit 1; }
done
command -v php >/dev/null || { echo "bench-inband: php missing (scripts/install-deps.sh)" >&2; exit 1; }
[ -u "$ELAB_EXIM_BIN" ] || "$ROOT/scripts/fetch-exim.sh" >/dev/null ||
	{ echo "bench-inband: scripts/fetch-exim.sh failed" >&2; exit 1; }

nl_id ID
T=$(mktemp -d /tmp/sgb-inband-"$ID".XXXXXX)
# Debian-exim reaches the policy socket here.
chmod 0755 "$T"
CG=$(nl_cgroup2_root)/sgb-$ID
NS=
DAEMON=
RESULTS=$T/results

daemon_stop()
{
	[ -n "$DAEMON" ] || return 0
	nl_kill TERM "$DAEMON"
	DAEMON=
}

cleanup()
{
	daemon_stop
	mlab_down >/dev/null 2>&1 || true
	elab_down >/dev/null 2>&1 || true
	nl_down "$T"
}
nl_trap cleanup

nl_bpffs "$T"
nl_cgroup "$T" "$CG"
export SMTPGUARD_PIN_DIR=$T/bpffs/smtpguard
export SMTPGUARD_AUDIT_LOG=$T/audit.log

healthy() { [ "$(nl_in "$NS" curl -s --max-time 1 http://127.0.0.1:9025/healthz)" = ok ]; }

# The daemon in NS on the config: the lab's uplink VETH, then [mta] LINE...
daemon_start() # VETH LINE...
{
	local conf=$T/smtpguard.conf

	printf '[daemon]\ninterfaces = %s\ncgroup = %s\n[exporter]\nlisten = 127.0.0.1:9025\ncontrol = %s\n' \
		"$1" "$CG" "$T/run/control.sock" >"$conf"
	printf '[audit]\nlog = %s\nsyslog = no\n[detect]\nbaselines = %s\n[mta]\n' \
		"$T/audit.log" "$T/baselines.gz" >>"$conf"
	shift
	printf '%s\n' "$@" "state = $T/contained.json" "ban = 0" >>"$conf"
	rm -f "$T/baselines.gz" "$T/contained.json"
	nl_spawn "$T" "$NS" "$SG_BIN" run -c "$conf" </dev/null >"$T/daemon.log" 2>&1
	DAEMON=$NL_PID
	nl_wait_until 100 healthy || { echo "bench-inband: daemon: $(tail -n 3 "$T/daemon.log")" >&2; exit 1; }
	grep -q "policy service at " "$T/daemon.log" ||
		{ echo "bench-inband: no policy service: $(grep policy "$T/daemon.log")" >&2; exit 1; }
}

# PARALLEL bots as LOGIN to SERVER from the internet namespace INET, at RATE
# a second in all for RUN_S seconds; prints "accepted seconds" (the slowest bot's).
bots() # INET SERVER LOGIN PASSWORD RATE PARALLEL
{
	local i each=$(($5 * RUN_S / $6)) per=$(($5 / $6))

	for ((i = 0; i < $6; i++)); do
		nl_in "$1" php "$BOT" "$2" 587 "$3" "$4" "$each" "$per" >"$T/bot.$i" 2>&1 &
	done
	wait
	sed -n 's/^accepted=\([0-9]*\) refused=[0-9]* seconds=\([0-9.]*\)$/\1 \2/p' "$T"/bot.* |
		awk '{ n += $1; if ($2 > s) s = $2 } END { printf "%d %.2f\n", n, s }'
	rm -f "$T"/bot.*
}

# Whether CMD prints the same twice a second apart: the queue has settled.
steady() # CMD...
{
	local a

	a=$("$@")
	sleep 1
	[ "$a" = "$("$@")" ]
}

pf_settled() { echo "$(mlab_queue_count all) $(mlab_queue_count hold) $(mlab_sink_count data)"; }
pf_moving() { [ "$(mlab_queue_count all)" != "$(mlab_queue_count hold)" ]; }
ex_settled() { echo "$(elab_queue_count all) $(elab_queue_count frozen) $(elab_sink_count data)"; }
ex_moving() { [ "$(elab_queue_count all)" != "$(elab_queue_count frozen)" ]; }

# One case: the bot at RATE, what the MX got from it, one result line.
run_case() # MTA RATE PARALLEL LOGIN PASSWORD
{
	local inet server before after accepted secs

	if [ "$1" = postfix ]; then
		inet=$MLAB_NS_INET server=$MLAB_HOST4 before=$(mlab_sink_count data)
	else
		inet=$ELAB_NS_INET server=$ELAB_HOST4 before=$(elab_sink_count data)
	fi
	read -r accepted secs <<<"$(bots "$inet" "$server" "$4" "$5" "$2" "$3")"
	# Everything accepted either went out or waits held (frozen).
	if [ "$1" = postfix ]; then
		nl_wait_until 600 eval '! pf_moving && steady pf_settled' || true
		after=$(mlab_sink_count data)
	else
		nl_wait_until 600 eval '! ex_moving && steady ex_settled' || true
		after=$(elab_sink_count data)
	fi
	echo "$1 $2 $3 $accepted $secs $((after - before))" >>"$RESULTS"
}

: >"$RESULTS"
MLAB_POLICY_SOCKET=private/smtpguard-policy
mlab_up >"$T/mlab.out" 2>&1 || { echo "bench-inband: mail lab: $(tail -n 3 "$T/mlab.out")" >&2; exit 1; }
NS=$MLAB_NS_HOST
daemon_start "$MLAB_VETH_HOST" "type = postfix" "logs = $MLAB_MAILLOG $MLAB_DOVECOT_LOG" \
	"postfix_config = $MLAB_POSTFIX_DIR" "dovecot_config = $MLAB_DOVECOT_CONF" \
	"policy_socket = $MLAB_SPOOL/private/smtpguard-policy"
run_case postfix 10 1 "$MLAB_VICTIM" "$MLAB_VICTIM_PASS"
run_case postfix 100 4 "$MLAB_ALICE" "$MLAB_ALICE_PASS"
echo "policy service of the daemon (Postfix lab): $N requests a run, logins over 1,000 accounts" \
	>"$T/answers"
for args in "-r 1000 -c 1" "-r 1000 -c 8" "-c 8"; do
	# shellcheck disable=SC2086 # the options, split
	"$TOOL" bench "$MLAB_SPOOL/private/smtpguard-policy" -n "$N" $args -a 1000 >>"$T/answers"
done
# The loop answers no request while it ticks: the tail of the answer times.
nl_in "$NS" curl -s --max-time 2 http://127.0.0.1:9025/metrics |
	awk '$1 == "smtpguard_tick_seconds" { printf "the daemon'\''s last tick: %.1f ms\n", $2 * 1000 }' \
		>>"$T/answers"
daemon_stop
mlab_down >/dev/null 2>&1

ELAB_POLICY_SOCKET=$T/exim-policy.sock
elab_up >"$T/elab.out" 2>&1 || { echo "bench-inband: exim lab: $(tail -n 3 "$T/elab.out")" >&2; exit 1; }
NS=$ELAB_NS_HOST
daemon_start "$ELAB_VETH_HOST" "type = exim" "logs = $ELAB_MAINLOG" "exim_dir = $ELAB_EXIM_DIR" \
	"exim = $ELAB_EXIM_CMD" "policy_socket = $ELAB_POLICY_SOCKET"
run_case exim 10 1 "$ELAB_VICTIM" "$ELAB_VICTIM_PASS"
run_case exim 100 4 "$ELAB_ALICE" "$ELAB_ALICE_PASS"
daemon_stop

echo "in-band budget: a bot with a leaked password, ${RUN_S}s at each rate, an account never seen;"
echo "escaped: messages the remote MX got beyond the first budget ($FIRST)"
printf '  %-8s %7s %11s %5s %9s %9s %5s %8s\n' MTA "aim/s" "achieved/s" conns accepted delivered held escaped
while read -r mta rate conns accepted secs delivered; do
	printf '  %-8s %7s %11s %5s %9s %9s %5s %8s\n' "$mta" "$rate" \
		"$(awk -v n="$accepted" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')" \
		"$conns" "$accepted" "$delivered" "$((accepted - delivered))" "$((delivered - FIRST))"
done <"$RESULTS"
cat "$T/answers"
