#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, daemon part: the daemon with UIDS users in the maps (default
# 10,000, each with FLOWS destinations, default 6: 60,000 flows). Prints the
# scrape time of /metrics next to /healthz (the same HTTP path with nothing
# to send, the baseline), the per-tick collection time, the exposition size
# and the daemon's RSS. Before that, its CPU time per second (on-CPU time
# from /proc: the machine may be busy with other work, the daemon's own time
# is what counts) and RSS in two scenarios, from the 12th tick on (past the
# first stale sweep, which removes sg_fill's made-up processes once): few
# UIDs send (10 of them, each a connection a second) and all UIDS do.
# Everything lives in a private network namespace, cgroup and bpffs,
# removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$ROOT/scripts/lib/netlab.sh"
UIDS=${1:-10000}
FLOWS=${2:-6}
SCRAPES=50
CPU_SECONDS=60 # the period of its work: a whole read of the maps a minute, a sweep each 10 s
nl_id ID
NS=sgb-$ID
VETH=sgb${ID}a
T=$(mktemp -d /tmp/sgb-"$ID".XXXXXX)
CG=$(nl_cgroup2_root)/sgb-$ID

# shellcheck disable=SC2016 # expanded at exit
nl_trap 'nl_down "$T"'

in_ns() { nl_in "$NS" "$@"; }
healthy() { [ "$(in_ns curl -s --max-time 2 http://127.0.0.1:9025/healthz 2>/dev/null)" = ok ]; }

nl_bpffs "$T"
nl_cgroup "$T" "$CG"
export SMTPGUARD_PIN_DIR=$T/bpffs/smtpguard
nl_netns "$T" "$NS"
nl_veth "$NS" "$VETH" "$NS" "${VETH%a}b"
cat >"$T/smtpguard.conf" <<CONF
[daemon]
interfaces = $VETH
cgroup = $CG
[audit]
log = $T/audit.log
syslog = no
CONF
in_ns "$ROOT/smtpguard" attach --cgroup "$CG" -i "$VETH" >/dev/null
"$ROOT/build/tools/sg_fill" "$UIDS" "$FLOWS"
nl_spawn "$T" "$NS" "$ROOT/smtpguard" run -c "$T/smtpguard.conf" >"$T/daemon.log" 2>&1
DAEMON=$NL_PID
nl_wait_until 100 healthy || true
[ -z "${PD_PERF:-}" ] || { perf record -g -o /tmp/pd-perf.data -p "$DAEMON" -- sleep 24 >/dev/null 2>&1 & }

# The daemon's CPU time in ms, its threads' on-CPU nanoseconds: utime and
# stime count whole clock ticks (10 ms), too coarse for a few ms a second.
cpu_ms() { cat "/proc/$DAEMON"/task/*/schedstat | awk '{ ns += $1 } END { printf "%.3f", ns / 1e6 }'; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status"; }
# PD_SMAPS=DIR keeps the daemon's memory map at each RSS figure, per mapping (DIR/NAME.smaps).
smaps() { [ -z "${PD_SMAPS:-}" ] || cp "/proc/$DAEMON/smaps" "$PD_SMAPS/$1.smaps"; }

second=0
# CPU ms per second over CPU_SECONDS seconds while the first N UIDs each connect once a second.
cpu_per_second() # N
{
	local start i

	start=$(cpu_ms)
	for ((i = 0; i < CPU_SECONDS; i++)); do
		second=$((second + 1))
		"$ROOT/build/tools/sg_fill" "$1" "$FLOWS" "$second" 1
		sleep 1
	done
	awk -v a="$start" -v b="$(cpu_ms)" -v n="$CPU_SECONDS" 'BEGIN { printf "%.2f", (b - a) / n }'
}

# The first stale sweep (tick 10) removes the 10,000 processes sg_fill made up, once:
# the steady state is measured, after it.
ticks() { in_ns curl -s --max-time 2 http://127.0.0.1:9025/metrics | awk '$1 == "smtpguard_ticks_total" { print $2 }'; }
past_first_sweep() { [ "$(ticks)" -ge 12 ] 2>/dev/null; }
nl_wait_until 300 past_first_sweep || { echo "bench: the daemon does not tick" >&2; exit 1; }
few=$(cpu_per_second 10)
few_rss=$(rss_kib)
smaps few
all=$(cpu_per_second "$UIDS")
all_rss=$(rss_kib)
smaps all
# Every UID sends again, a burst: each gets a history, and alerts.
"$ROOT/build/tools/sg_fill" "$UIDS" "$FLOWS" 1
# Two ticks with the full maps, so that /metrics shows them.
sleep 2.5

# The median of SCRAPES requests, in ms.
scrape_ms() # PATH [CURL-ARGS...]
{
	local path=$1 i

	shift
	for ((i = 0; i < SCRAPES; i++)); do
		in_ns curl -s -o /dev/null -w '%{time_total}\n' "$@" "http://127.0.0.1:9025$path"
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] * 1000 }'
}

# A tick acting on 10,000 alerts holds the loop: a scrape may need a retry.
fetch() { in_ns curl -sf --max-time 10 "$@" http://127.0.0.1:9025/metrics; }
nl_wait_until 20 fetch -o /dev/null || { echo "bench: /metrics not served" >&2; exit 1; }
metrics=$(fetch)
gz=$(fetch -H 'Accept-Encoding: gzip' | wc -c)
health=$(scrape_ms /healthz)
plain=$(scrape_ms /metrics)
gzip=$(scrape_ms /metrics -H 'Accept-Encoding: gzip')
rss=$(rss_kib)
smaps scraped
grep -q "^Name:.*smtpguard" "/proc/$DAEMON/status" || { echo "bench: $DAEMON is not the daemon" >&2; exit 1; }
tick=$(awk '$1 == "smtpguard_tick_seconds" { printf "%.1f", $2 * 1000 }' <<<"$metrics")
uids=$(awk '$1 == "smtpguard_map_entries{map=\"sg_uid_stats\"}" { print $2 }' <<<"$metrics")
flows=$(awk '$1 == "smtpguard_map_entries{map=\"sg_flows\"}" { print $2 }' <<<"$metrics")

echo "daemon with $uids UIDs and $flows flows in the maps (median of $SCRAPES scrapes):"
printf '  %-28s %8s ms\n' "/healthz (baseline)" "$health"
printf '  %-28s %8s ms  (%s x baseline, %d bytes)\n' "/metrics" "$plain" \
	"$(awk -v a="$plain" -v b="$health" 'BEGIN { printf "%.2f", a / b }')" "${#metrics}"
printf '  %-28s %8s ms  (%s x baseline, %d bytes)\n' "/metrics gzip" "$gzip" \
	"$(awk -v a="$gzip" -v b="$health" 'BEGIN { printf "%.2f", a / b }')" "$gz"
printf '  %-28s %8s ms\n' "tick (maps read, rendered)" "$tick"
printf '  %-28s %8s KiB\n' "daemon RSS" "$rss"
echo "daemon CPU time per second (on-CPU time over $CPU_SECONDS s, /proc schedstat) and RSS:"
printf '  %-28s %8s ms/s %8s KiB\n' "10 UIDs send each second" "$few" "$few_rss" \
	"$UIDS UIDs send each second" "$all" "$all_rss"
