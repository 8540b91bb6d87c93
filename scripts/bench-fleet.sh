#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, fleet part: the real CrowdSec LAPI (scripts/crowdsec-lab.sh)
# and the daemon as its bouncer, in a private network namespace, cgroup and
# bpffs, removed on exit.
#   start-up   DECISIONS (default 10,000) Ip decisions at the LAPI when the
#              daemon starts: the time from its start to the startup
#              pull's decisions in sg_bans, and within it the time the
#              daemon's loop spent applying them (its log line's "in N ms";
#              the HTTP request and the JSON are the link's thread's)
#   operator   an operator's `cscli decisions add --ip` to the ban in
#              sg_bans, at the default [crowdsec] interval (10 s), SAMPLES
#              times (default 5): the fleet's propagation of a decision
#              already at the LAPI (a server's push adds its own delay)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/crowdsec-lab.sh
. "$ROOT/scripts/crowdsec-lab.sh"
DECISIONS=${1:-10000}
SAMPLES=${2:-5}
nl_id ID
NS=sgb-$ID
VETH=sgb${ID}a
T=$(mktemp -d /tmp/sgb-"$ID".XXXXXX)
CG=$(nl_cgroup2_root)/sgb-$ID

# shellcheck disable=SC2016 # expanded at exit
nl_trap 'nl_down "$T"'

in_ns() { nl_in "$NS" "$@"; }
bans() { bpftool -j map dump pinned "$SMTPGUARD_PIN_DIR/sg_bans" | jq length; }
bans_are() { [ "$(bans)" -ge "$1" ]; }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

nl_bpffs "$T"
nl_cgroup "$T" "$CG"
export SMTPGUARD_PIN_DIR=$T/bpffs/smtpguard
nl_netns "$T" "$NS"
nl_veth "$NS" "$VETH" "$NS" "${VETH%a}b"
cs_up "$T" "$NS" 127.0.0.1 8080
(umask 077 && cs_bouncer_add "bench-$ID" >"$T/bouncer.key")
jq -nc --argjson n "$DECISIONS" '[range($n) | {duration: "4h", scope: "ip", type: "ban",
	value: "10.\(. / 65536 | floor).\(. / 256 % 256 | floor).\(. % 256)", reason: "bench"}]' \
	>"$T/import.json"
t0=$(now_ms)
cs_cscli decisions import -i "$T/import.json" >/dev/null 2>&1
import_ms=$(($(now_ms) - t0))
cat >"$T/smtpguard.conf" <<CONF
[daemon]
interfaces = $VETH
cgroup = $CG
[audit]
log = $T/audit.log
syslog = no
[crowdsec]
url = $CS_URL
api_key_file = $T/bouncer.key
CONF
in_ns "$ROOT/smtpguard" attach --cgroup "$CG" -i "$VETH" >/dev/null

t0=$(now_ms)
nl_spawn "$T" "$NS" "$ROOT/smtpguard" run -c "$T/smtpguard.conf" >"$T/daemon.log" 2>&1
nl_wait_until 600 bans_are "$DECISIONS" ||
	{ echo "bench-fleet: $(bans) of $DECISIONS bans after 60 s" >&2; exit 1; }
startup_ms=$(($(now_ms) - t0))
nl_wait_until 50 grep -q "(startup): .* in [0-9]* ms" "$T/daemon.log" || true
apply_ms=$(sed -n 's/.*(startup): .* in \([0-9]*\) ms$/\1/p' "$T/daemon.log" | head -n 1)

total=0 max=0
for ((i = 1; i <= SAMPLES; i++)); do
	# A random phase against the 10 s pulls, as an operator's decision has:
	# the last sample's ban came just after a pull.
	sleep "$((RANDOM % 10)).$((RANDOM % 10))"
	want=$((DECISIONS + i))
	t0=$(now_ms)
	cs_cscli decisions add --ip "172.16.0.$i" --duration 1h >/dev/null 2>&1
	nl_wait_until 300 bans_are "$want" || { echo "bench-fleet: decision $i not applied in 30 s" >&2; exit 1; }
	ms=$(($(now_ms) - t0))
	total=$((total + ms))
	[ "$ms" -le "$max" ] || max=$ms
done

echo "fleet (CrowdSec $(cat "$CS_DIST/VERSION") LAPI on loopback, [crowdsec] interval 10 s):"
printf '  %-44s %8d ms  (cscli decisions import, %d decisions)\n' "decisions put at the LAPI" \
	"$import_ms" "$DECISIONS"
printf '  %-44s %8d ms  (daemon start to %d bans in sg_bans)\n' "start-up with $DECISIONS decisions" \
	"$startup_ms" "$DECISIONS"
printf '  %-44s %8s ms  (in the loop: sg_bans writes and audit entries)\n' "  of which applying them" \
	"${apply_ms:-?}"
printf '  %-44s %8d ms  (mean of %d; max %d ms)\n' "operator's decision to the ban" \
	"$((total / SAMPLES))" "$SAMPLES" "$max"
