#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, daemon part: the daemon with UIDS users in the maps (default
# 10,000, each with FLOWS destinations, default 6: 60,000 flows). Prints the
# scrape time of /metrics next to /healthz (the same HTTP path with nothing
# to send, the baseline), the per-tick collection time, the exposition size
# and the daemon's RSS. Everything lives in a private network namespace,
# cgroup and bpffs, removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$ROOT/scripts/lib/netlab.sh"
UIDS=${1:-10000}
FLOWS=${2:-6}
SCRAPES=50
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
# Every UID sends again once the daemon has its baseline: each gets a history.
sleep 1.5
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

metrics=$(in_ns curl -s http://127.0.0.1:9025/metrics)
gz=$(in_ns curl -s -H 'Accept-Encoding: gzip' http://127.0.0.1:9025/metrics | wc -c)
health=$(scrape_ms /healthz)
plain=$(scrape_ms /metrics)
gzip=$(scrape_ms /metrics -H 'Accept-Encoding: gzip')
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status")
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
