#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, connect part: what each way of policing senders costs
# connect(), as connects a second over those of a cgroup and namespace with
# no hooks or rules. One sender (UID 2000000001, 2000000002 throttled,
# 2000000003 for observeconn; root's child with that UID
# only: build/tools/sg_connect --uids) does socket/connect/close to
# 127.0.0.1:25, closed, in a network namespace of its own (one packet each
# way, no accept) for SECONDS a run. Compared, the runs interleaved, the median of ROUNDS each:
# programs that do nothing on the same hooks as smtpguard's (empty:
# build/empty.bpf.o's connect4, connect6 and sock_ops, attached with
# bpftool), the kernel's dispatch alone, a floor no program goes under,
# and the empty connect4 and connect6 alone (emptyconn);
# smtpguard's hooks (observe: no policy; throttle: its own, never refused),
# and its connect hooks alone, without sock_ops (observeconn, a UID of its
# own, also without a policy): smtpguard's sock_ops program costs what
# observe has over observeconn less what empty has over emptyconn, the
# kernel's calls of a sock_ops program at all
# with sg_policies full (65,536 policies) and sg_subuids holding a hosting
# server's sub-UID ranges (10,000 users' of /etc/subuid, the sender in none
# of them: sg_fill --subuids); iptables with owner rules for
# 100, 1,000 and 10,000 other UIDs; nftables with one set of 10,000 UIDs
# (meta skuid). Outbound mail goes to other hosts, where a connection to
# this host itself is also a local one for sock_ops (sg_local_conns): the
# rows marked "veth" connect instead to port 25, closed, of a second
# namespace over a veth pair (a reset back), each a ratio to its own
# baseline with no hooks. Beside the rate, the sender's CPU time a connect
# (user and system, its own packets' softirq work included) and its ratio,
# which the load of other processes sways less. Last, for each of none,
# empty, observe and throttle, five runs under `perf record`: the median share of
# the sender's samples below the cgroup BPF dispatchers (the programs, the
# helpers they call and the dispatch itself), and the CPU ratio that share
# over none's gives, a figure of the hooks' own cost that other processes
# hardly sway; what observe's share has over empty's is smtpguard's own.
# Then, for empty, observe and throttle, the programs' own run time a
# connect as the kernel times it (kernel.bpf_stats_enabled), the steadiest.
# Numbers, not assertions: the machine's load shows in them.
#
# Usage: scripts/bench-connect.sh [SECONDS [ROUNDS]]   (default 1 and 9)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$ROOT/scripts/lib/netlab.sh"
SECONDS_RUN=${1:-1}
ROUNDS=${2:-9}
SG=$ROOT/smtpguard
CONNECT=$ROOT/build/tools/sg_connect
FILL=$ROOT/build/tools/sg_fill
EMPTY=$ROOT/build/empty.bpf.o
SENDER=2000000001
SENDER_CONN=2000000003 # observeconn's: sg_senders' quota counts each UID's runs
THROTTLED=2000000002
OTHERS=3000000000 # the firewalls' UIDs: none of them the sender's
for x in "$SG" "$CONNECT" "$FILL"; do
	[ -x "$x" ] || { echo "bench-connect: $x missing (make bench builds it)" >&2; exit 1; }
done
[ -f "$EMPTY" ] || { echo "bench-connect: $EMPTY missing (make bench builds it)" >&2; exit 1; }
nl_need iptables-restore nft perf bpftool taskset
nl_id ID
T=$(mktemp -d /tmp/sgc-"$ID".XXXXXX)
CG_NONE=$(nl_cgroup2_root)/sgc-$ID-none
CG_SG=$(nl_cgroup2_root)/sgc-$ID-sg
CG_EMPTY=$(nl_cgroup2_root)/sgc-$ID-empty
CG_EMPTY_CONN=$(nl_cgroup2_root)/sgc-$ID-emptyconn
CG_SG_CONN=$(nl_cgroup2_root)/sgc-$ID-sgconn
NAMES=(none empty emptyconn observe observeconn throttle ipt100 ipt1000 ipt10000 nft10000)
VETH=(none empty emptyconn observe observeconn throttle nft10000) # also run to the second namespace
MX=198.18.0.2                         # RFC 2544's benchmarking range

STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
# shellcheck disable=SC2016 # expanded at exit
nl_trap '"$SG" detach >/dev/null 2>&1 || true; nl_down "$T"; sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS" || true'

nl_bpffs "$T"
nl_cgroup "$T" "$CG_NONE"
nl_cgroup "$T" "$CG_SG"
nl_cgroup "$T" "$CG_EMPTY"
nl_cgroup "$T" "$CG_EMPTY_CONN"
nl_cgroup "$T" "$CG_SG_CONN"
export SMTPGUARD_PIN_DIR=$T/bpffs/smtpguard SMTPGUARD_AUDIT_LOG=$T/audit.log
nl_netns "$T" "sgc-$ID-mx"
for c in "${NAMES[@]}"; do
	nl_netns "$T" "sgc-$ID-$c"
	nl_in "sgc-$ID-$c" ip link set lo up
done
# One /30 per namespace, the destination's address on the second namespace's loopback.
nl_addrs "sgc-$ID-mx" lo "$MX/32"
for i in "${!VETH[@]}"; do
	c=${VETH[i]}
	nl_veth "sgc-$ID-$c" out "sgc-$ID-mx" "c$i" &&
		nl_addrs "sgc-$ID-$c" out "198.18.1.$((4 * i + 1))/30" &&
		nl_addrs "sgc-$ID-mx" "c$i" "198.18.1.$((4 * i + 2))/30" &&
		ip -n "sgc-$ID-$c" route add "$MX/32" via "198.18.1.$((4 * i + 2))" &&
		nl_carrier "sgc-$ID-$c" out "sgc-$ID-mx" "c$i" || exit 1
done

# The empty programs on a cgroup of their own, pinned in the private bpffs: removing the
# cgroup detaches them and unmounting the bpffs (nl_down) releases them.
bpftool prog loadall "$EMPTY" "$T/bpffs/empty"
for hook in connect4 connect6 sock_ops; do # sock_ops' program is sg_empty_sockops
	bpftool cgroup attach "$CG_EMPTY" "$hook" pinned "$T/bpffs/empty/sg_empty_${hook/_/}"
done
for hook in connect4 connect6; do
	bpftool cgroup attach "$CG_EMPTY_CONN" "$hook" pinned "$T/bpffs/empty/sg_empty_$hook"
done

# The connect hooks and sock_ops on their own cgroup; XDP and TC on a namespace nobody uses.
nl_netns "$T" "sgc-$ID-hooks"
nl_in "sgc-$ID-hooks" "$SG" attach -i lo --cgroup "$CG_SG" >"$T/attach.out" 2>&1 ||
	{ cat "$T/attach.out" >&2; exit 1; }
"$SG" throttle "$THROTTLED" --rate 1000000/s --burst 1000000 >/dev/null
"$FILL" --policies >/dev/null
"$FILL" --subuids 10000 >/dev/null
# The same connect hooks on a cgroup of their own without sock_ops: what sock_ops adds, apart.
for hook in connect4 connect6; do
	bpftool cgroup attach "$CG_SG_CONN" "$hook" pinned "$SMTPGUARD_PIN_DIR/prog_$hook"
done

owner_rules() # COUNT
{
	echo '*filter'
	seq "$OTHERS" $((OTHERS + $1 - 1)) | sed 's/.*/-A OUTPUT -m owner --uid-owner & -j DROP/'
	echo COMMIT
}
for n in 100 1000 10000; do
	owner_rules "$n" | nl_in "sgc-$ID-ipt$n" iptables-restore
done
{
	echo 'table inet sgc {'
	echo '	set others { typeof meta skuid; elements = {'
	seq "$OTHERS" $((OTHERS + 9999)) | paste -sd,
	echo '	} }'
	echo '	chain out { type filter hook output priority 0; meta skuid @others drop; }'
	echo '}'
} | nl_in "sgc-$ID-nft10000" nft -f -

# CONFIG [PREFIX...] DEST: the sender of CONFIG, in its namespace and cgroup, run under PREFIX.
sender() # NAME [PREFIX...] DEST
{
	local name=$1 cg=$CG_NONE uid=$SENDER

	shift
	case $name in
	empty) cg=$CG_EMPTY ;;
	emptyconn) cg=$CG_EMPTY_CONN ;;
	observe) cg=$CG_SG ;;
	observeconn) cg=$CG_SG_CONN uid=$SENDER_CONN ;;
	throttle) cg=$CG_SG uid=$THROTTLED ;;
	esac
	# shellcheck disable=SC2016 # expanded by the inner sh
	nl_in "sgc-$ID-$name" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "${@:1:$#-1}" \
		"$CONNECT" --uids "$uid:1" -n 200000 --seconds "$SECONDS_RUN" --timeout-ms 1000 \
		"${!#}" 25
}

run() # NAME DEST OUT: OUT.s gets connects a second, OUT.cpu the CPU time a connect (ns)
{
	local out TIMEFORMAT='%3U %3S'

	# The sender's user and system time (its children's: time waits for them), the softirq
	# work of its own packets included: what the load of other processes shows least in.
	out=$({ time sender "$1" "$2" 2>/dev/null; } 2>"$T/time")
	# Every connect refused by the closed port: none by smtpguard or a rule.
	[[ $out =~ ok=0\ eperm=0\ other=([0-9]+).*seconds=([0-9.]+) ]] ||
		{ echo "bench-connect: $1: $out" >&2; return 1; }
	awk -v n="${BASH_REMATCH[1]}" -v s="${BASH_REMATCH[2]}" 'BEGIN { printf "%.0f\n", n / s }' \
		>>"$3.s"
	awk -v n="${BASH_REMATCH[1]}" '{ printf "%.0f\n", ($1 + $2) * 1e9 / n }' "$T/time" >>"$3.cpu"
}

for ((r = 0; r < ROUNDS; r++)); do
	for c in "${NAMES[@]}"; do
		run "$c" 127.0.0.1 "$T/$c"
	done
	for c in "${VETH[@]}"; do
		run "$c" "$MX" "$T/$c-veth"
	done
done

# The share (%) of the sender's CPU spent under the cgroup BPF hooks: perf's samples of it
# below their dispatchers (the programs, the helpers they call, the dispatch). A share of
# its own time, which the load of other processes sways much less than a rate.
hooks_share() # NAME DEST
{
	local f=$T/perf.$1.${2//./_}

	sender "$1" perf record -q -g -o "$f" -- "$2" >/dev/null 2>&1 ||
		{ echo "bench-connect: perf record of $1 to $2 failed" >&2; return 1; }
	perf report -i "$f" --children --sort sym --stdio -g none 2>/dev/null |
		awk '$NF ~ /^__cgroup_bpf_run_filter_sock_(addr|ops)$/ { s += $1 }
		     END { printf "%.2f\n", s }'
}

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rows() # SUFFIX NAME...: each NAME's medians against those of none
{
	local sfx=$1 c

	shift
	for c in "$@"; do
		awk -v c="$c$sfx" -v r="$(median "$T/$c$sfx.s")" -v b="$(median "$T/none$sfx.s")" \
			-v u="$(median "$T/$c$sfx.cpu")" -v v="$(median "$T/none$sfx.cpu")" \
			'BEGIN { printf "%-17s %12d %10.3f %12d %10.3f\n", c, r, r / b, u, v / u }'
	done
}
printf 'connect() a second, %d s runs, median of %d interleaved\n\n' "$SECONDS_RUN" "$ROUNDS"
printf '%-17s %12s %10s %12s %10s\n' hooks connects/s "vs none" "CPU ns/conn" "vs none"
rows "" "${NAMES[@]}"
rows -veth "${VETH[@]}"

PERF_ROUNDS=5
# The programs' own run time a connect: the kernel times each run of a program
# (kernel.bpf_stats_enabled, a clock read either side, which the empty row
# shows), so that this leaves out all but the programs; the sender pinned to
# one CPU, the median of PERF_ROUNDS runs. The steadiest figure here.
prog_runs() # PIN: its run_time_ns and run_cnt, 0 0 before any timed run
{
	bpftool prog show pinned "$1" |
		awk '{ for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i + 1);
			if ($i == "run_cnt") n = $(i + 1) } } END { print t + 0, n + 0 }'
}
prog_ns() # NAME DEST: connect4's and sock_ops' ns a connect, into NAME[-veth].ns
{
	local dir=$SMTPGUARD_PIN_DIR c4=prog_connect4 ops=prog_sockops sfx=-veth t0 n0 s0 t1 n1 s1

	[ "$2" = 127.0.0.1 ] && sfx=
	[ "$1" = empty ] && dir=$T/bpffs/empty c4=sg_empty_connect4 ops=sg_empty_sockops
	read -r t0 n0 < <(prog_runs "$dir/$c4")
	read -r s0 _ < <(prog_runs "$dir/$ops")
	sender "$1" taskset -c "$(($(nproc) - 1))" "$2" >/dev/null 2>&1
	read -r t1 n1 < <(prog_runs "$dir/$c4")
	read -r s1 _ < <(prog_runs "$dir/$ops")
	[ "$n1" -gt "$n0" ] || { echo "bench-connect: $1 to $2: no connect timed" >&2; return 1; }
	awk -v t="$((t1 - t0))" -v s="$((s1 - s0))" -v n="$((n1 - n0))" \
		'BEGIN { printf "%.0f %.0f\n", t / n, s / n }' >>"$T/$1$sfx.ns"
}
sysctl -qw kernel.bpf_stats_enabled=1
for ((r = 0; r < PERF_ROUNDS; r++)); do
	for dest in 127.0.0.1 "$MX"; do
		for c in empty observe throttle; do
			prog_ns "$c" "$dest"
		done
	done
done
sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"

# One run's share sways by about a third of a point: the median of PERF_ROUNDS, interleaved.
for ((r = 0; r < PERF_ROUNDS; r++)); do
	for dest in 127.0.0.1 "$MX"; do
		sfx=; [ "$dest" = 127.0.0.1 ] || sfx=-veth
		for c in none empty observe throttle; do
			hooks_share "$c" "$dest" >>"$T/$c$sfx.share"
		done
	done
done
echo
echo "the sender's CPU under the cgroup hooks (perf samples, median of $PERF_ROUNDS ${SECONDS_RUN} s runs):"
printf '%-17s %10s %12s\n' hooks "share %" "CPU vs none"
for sfx in "" -veth; do
	base=$(median "$T/none$sfx.share")
	for c in none empty observe throttle; do
		# The rest of a connect's CPU is the same: none's CPU over c's is (100 - s) / (100 - b).
		awk -v c="$c$sfx" -v s="$(median "$T/$c$sfx.share")" -v b="$base" \
			'BEGIN { printf "%-17s %10.2f %12.3f\n", c, s, (100 - s) / (100 - b) }'
	done
done

echo
echo "the programs' own run time a connect (kernel.bpf_stats_enabled, median of $PERF_ROUNDS runs):"
printf '%-17s %10s %10s %10s\n' hooks "connect4" "sock_ops" "ns"
for sfx in "" -veth; do
	for c in empty observe throttle; do
		awk -v c="$c$sfx" -v a="$(cut -d' ' -f1 "$T/$c$sfx.ns" | median /dev/stdin)" \
			-v b="$(cut -d' ' -f2 "$T/$c$sfx.ns" | median /dev/stdin)" \
			'BEGIN { printf "%-17s %10d %10d %10d\n", c, a, b, a + b }'
	done
done
