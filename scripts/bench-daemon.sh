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
UIDS=${1:-10000}
FLOWS=${2:-6}
SCRAPES=50
ID=$(printf '%x%x' $$ $RANDOM)
NS=sgb-$ID
VETH=sgb${ID}a
T=$(mktemp -d /tmp/sgb-"$ID".XXXXXX)
CG=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)/sgb-$ID
DAEMON=

cleanup()
{
	[ -z "$DAEMON" ] || kill -KILL "$DAEMON" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	[ ! -d "$CG" ] || rmdir "$CG" 2>/dev/null || true
	mountpoint -q "$T/bpffs" && umount "$T/bpffs"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }

mkdir "$T/bpffs" "$CG"
mount -t bpf bpf "$T/bpffs"
export SMTPGUARD_PIN_DIR=$T/bpffs/smtpguard
ip netns add "$NS"
ip -n "$NS" link add "$VETH" type veth peer name "${VETH%a}b"
ip -n "$NS" link set lo up
ip -n "$NS" link set "$VETH" up
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
# nsenter execs smtpguard: $! is the daemon itself.
nsenter --net="/run/netns/$NS" -- "$ROOT/smtpguard" run -c "$T/smtpguard.conf" >"$T/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do
	[ "$(in_ns curl -s --max-time 2 http://127.0.0.1:9025/healthz 2>/dev/null)" = ok ] && break
	sleep 0.1
done
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
