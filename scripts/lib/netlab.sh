# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The namespace lab, written once: sourced by scripts/lab.sh, mta-lab.sh,
# exim-lab.sh, bench-daemon.sh and tests/integration/lib.sh, so that every
# network namespace, veth pair, private bpffs, cgroup, sink and test user is
# made and removed the same way. Every name is prefixed nl_/NL_.
#
# What a lab makes is recorded in its directory DIR, one file a kind (pids,
# netns, etcnetns, cgroups, users; the bpffs is DIR/bpffs), so that
# nl_clear and nl_down remove it whatever state the set-up got to, from any
# shell, and twice. The addresses are the callers' (only the documentation
# ranges, inside the namespaces).

NL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NL_SINK_BIN=$NL_ROOT/build/tools/sg_sink
# Set by nl_spawn and nl_sink_start: the pid of what they started.
NL_PID=

# Set-up steps report here; the caller says which of its steps failed.
nl_log()
{
	echo "netlab: $*" >&2
}

# VAR=ID, unique per run (this shell's pid, a random number) and short
# enough for 15-character interface names.
nl_id() # VAR
{
	printf -v "$1" '%x%x' $$ $RANDOM
}

# A two-namespace lab's names, unique per run and short enough for
# 15-character interface names: VAR_ID, VAR_NS_HOST, VAR_NS_INET (NSPREFIX-ID-host,
# -inet), VAR_VETH_HOST, VAR_VETH_INET (DEVPREFIX+ID+h, +i).
nl_names() # VAR NSPREFIX DEVPREFIX
{
	local id

	nl_id id
	printf -v "$1_ID" %s "$id"
	printf -v "$1_NS_HOST" %s "$2-$id-host"
	printf -v "$1_NS_INET" %s "$2-$id-inet"
	printf -v "$1_VETH_HOST" %s "$3${id}h"
	printf -v "$1_VETH_INET" %s "$3${id}i"
}

# The first cgroup2 mount: /sys/fs/cgroup on unified hosts, .../unified on hybrid ones.
nl_cgroup2_root()
{
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

# A lab needs root and its tools; says what is missing, on stdout, for the caller's report.
nl_need() # TOOL...
{
	local tool

	[ "$(id -u)" -eq 0 ] || { echo "must run as root"; return 1; }
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$tool not installed"; return 1; }
	done
}

# Not `ip netns exec`: it remounts /sys, hiding the bpffs and cgroup mounts.
nl_in() # NS CMD...
{
	local ns=$1

	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# Polls CMD every 0.1 s for at most TENTHS tenths of a second: every wait is bounded.
nl_wait_until() # TENTHS CMD...
{
	local n=$1

	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# Whether PID has exited: a zombie has too (PID 1 may reap orphans late).
nl_gone() # PID
{
	local state

	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$state" ] || [ "${state%% *}" = Z ]
}

# SIG to PIDS, then SIGKILL to those still there after 2 s: nothing outlives a teardown.
nl_kill() # SIG PID...
{
	local sig=$1 pid

	shift
	[ $# -gt 0 ] || return 0
	kill -"$sig" "$@" 2>/dev/null || true
	for pid in "$@"; do
		nl_wait_until 20 nl_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	done
}

# What a lab made, in DIR/KIND: teardown finds it from any shell, whatever state set-up got to.
nl_made() # DIR KIND VALUE
{
	echo "$3" >>"$1/$2"
}

# CMD in NS in the background, recorded for teardown; nsenter execs CMD, so
# $NL_PID is CMD's own. The caller's redirections apply.
nl_spawn() # DIR NS CMD...
{
	local dir=$1 ns=$2

	shift 2
	nsenter --net="/run/netns/$ns" -- "$@" &
	NL_PID=$!
	nl_made "$dir" pids "$NL_PID"
}

# What is written to FIFO (made anew), copied to LOG, and to TLOG with the
# wall-clock time each line arrived, so that a reaction can be timed from
# its log line; in the background, recorded.
nl_stamped() # DIR FIFO LOG TLOG
{
	rm -f "$2"
	mkfifo -m 0600 "$2"
	nl_stamp "$2" "$3" "$4" </dev/null >/dev/null 2>&1 &
	nl_made "$1" pids $!
}

# nl_stamped's copier: read line by line, so that each line is stamped when it arrives.
nl_stamp() # FIFO LOG TLOG
{
	local line

	exec 3>>"$2" 4>>"$3" <"$1"
	while IFS= read -r line; do
		printf '%s\n' "$line" >&3
		printf '%s %s\n' "$EPOCHREALTIME" "$line" >&4
	done
}

# --- network -----------------------------------------------------------------

# Namespaces recorded one by one, so that a failure half way leaves none behind.
nl_netns() # DIR NS...
{
	local dir=$1 ns

	shift
	for ns in "$@"; do
		ip netns add "$ns" || return 1
		nl_made "$dir" netns "$ns"
	done
}

# /etc/netns/NS, which `ip netns exec NS` binds over /etc, made and recorded.
nl_netns_etc() # DIR NS
{
	mkdir -p "/etc/netns/$2" || return 1
	nl_made "$1" etcnetns "/etc/netns/$2"
}

# A veth pair from NS_A to NS_B (possibly the same), made inside the
# namespaces so that it never exists among the host's interfaces; both ends
# and both loopbacks up. Deleting the namespaces removes it.
nl_veth() # NS_A DEV_A NS_B DEV_B
{
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set lo up
	ip -n "$3" link set lo up
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# ADDR/PREFIX... on DEV in NS; IPv6 ones without duplicate detection, usable at once.
nl_addrs() # NS DEV ADDR/PREFIX...
{
	local ns=$1 dev=$2 a

	shift 2
	for a in "$@"; do
		if [[ $a == *:* ]]; then
			ip -n "$ns" addr add "$a" dev "$dev" nodad || return 1
		else
			ip -n "$ns" addr add "$a" dev "$dev" || return 1
		fi
	done
}

# Operationally up: the carrier is there, not only the administrative flag.
nl_link_up() # NS DEV
{
	ip -n "$1" link show dev "$2" | grep -q 'state UP'
}

# Until linkwatch sees the carrier (up to a second), a veth drops what it is given.
nl_carrier() # NS DEV [NS DEV]...
{
	while [ $# -ge 2 ]; do
		nl_wait_until 30 nl_link_up "$1" "$2" || { nl_log "$2 never came up"; return 1; }
		shift 2
	done
}

# The mail labs' network (mta-lab.sh, exim-lab.sh): the hosting server's
# HOST4/24 in NS_HOST, its only route out into "the internet", NS_INET, which
# has INET4/24, the ATTACKERS' addresses and the remote MX, MX4/32 on its
# loopback, and routes nowhere.
nl_mail_network() # DIR NS_HOST VETH_HOST NS_INET VETH_INET HOST4 INET4 MX4 ATTACKER...
{
	local dir=$1 nsh=$2 vh=$3 nsi=$4 vi=$5 host4=$6 inet4=$7 mx4=$8

	shift 8
	nl_netns "$dir" "$nsh" "$nsi" &&
		nl_veth "$nsh" "$vh" "$nsi" "$vi" &&
		nl_addrs "$nsh" "$vh" "$host4/24" &&
		nl_addrs "$nsi" "$vi" "$inet4/24" "${@/%//24}" &&
		nl_addrs "$nsi" lo "$mx4/32" &&
		ip -n "$nsh" route add default via "$inet4" &&
		nl_carrier "$nsh" "$vh" "$nsi" "$vi"
}

# Whether something listens on ADDR:PORT (TCP) in NS; asks the kernel, so
# that no probe connection shows in any log.
nl_listening() # NS ADDR PORT
{
	[ -n "$(nl_in "$1" ss -Hltn src "$2" sport = ":$3" 2>/dev/null)" ]
}

# --- bpffs and cgroup --------------------------------------------------------

# A private bpffs on DIR/bpffs: pins never touch /sys/fs/bpf, and unmounting releases them.
nl_bpffs() # DIR
{
	mkdir -p "$1/bpffs"
	mount -t bpf bpf "$1/bpffs" || { nl_log "cannot mount a bpffs on $1/bpffs"; return 1; }
}

# The cgroup CG (a path under nl_cgroup2_root), made and recorded.
nl_cgroup() # DIR CG
{
	mkdir "$2" || return 1
	nl_made "$1" cgroups "$2"
}

# --- the sink ----------------------------------------------------------------

# How many times the sink logging to LOG has started: its "ready" lines.
nl_sink_starts() # LOG
{
	local n

	n=$(grep -cs '^ready$' "$1" || true)
	echo "${n:-0}"
}

# Ready once it logs one more "ready" than before: a restarted sink appends to the same log.
nl_sink_ready() # LOG STARTS-BEFORE
{
	[ "$(nl_sink_starts "$1")" -gt "$2" ]
}

# sg_sink in NS, logging to LOG (appended to on a restart), stderr in
# LOG's .err; returns once it is ready, its pid in $NL_PID.
nl_sink_start() # DIR NS LOG SINK-ARGS...
{
	local dir=$1 ns=$2 log=$3 err=${3%.log}.err n

	shift 3
	n=$(nl_sink_starts "$log")
	# Started from a subshell: not the caller's job, which a bare `wait`
	# would wait for. nsenter execs the sink: $! is the sink.
	NL_PID=$(nsenter --net="/run/netns/$ns" -- "$NL_SINK_BIN" --log "$log" "$@" \
		</dev/null >/dev/null 2>>"$err" & echo $!)
	nl_made "$dir" pids "$NL_PID"
	nl_wait_until 50 nl_sink_ready "$log" "$n" ||
		{ nl_log "the sink did not start: $(cat "$err")"; return 1; }
}

# Stops the sink PID and forgets it, so that teardown never signals a later process with its pid.
nl_sink_stop() # DIR PID
{
	nl_kill TERM "$2"
	grep -vx "$2" "$1/pids" >"$1/pids.new" || true
	mv "$1/pids.new" "$1/pids"
}

# Sink log lines of KIND from source address SRC (all sources without):
# accept (connections), 250 or rcpt250 and 550 or rcpt550 (recipients),
# data (messages).
nl_sink_count() # LOG KIND [SRC]
{
	local log=$1 kind=$2 src=${3:-} pat

	# Any peer without SRC; SRC's dots are literal.
	src=${src:+${src//./\\.}}
	src=${src:-[^ ]*}
	case $kind in
	accept) pat="^accept [0-9]* $src:[0-9]*\$" ;;
	250 | 550 | rcpt250 | rcpt550) pat="^rcpt [0-9]* $src:[0-9]* ${kind#rcpt} " ;;
	data) pat="^data [0-9]* $src:[0-9]* " ;;
	*) nl_log "nl_sink_count: unknown kind $kind"; return 2 ;;
	esac
	grep -c -- "$pat" "$log" || true
}

# --- users -------------------------------------------------------------------

# A system user without a login or mail spool, recorded; with HOME, a home
# only it writes and others may traverse.
nl_user_add() # DIR NAME [HOME [UID]]
{
	local dir=$1 user=$2 home=${3:-} uid=${4:-}

	useradd --system --user-group --no-create-home ${home:+--home-dir "$home"} ${uid:+--uid "$uid"} \
		--shell /usr/sbin/nologin "$user" || { nl_log "useradd $user failed"; return 1; }
	nl_made "$dir" users "$user"
	[ -n "$home" ] || return 0
	mkdir -p "$home"
	chown "$user:" "$home"
	chmod 0711 "$home"
}

# CMD as USER in NS, from DIR (or here), inside cgroup CG: a hosting
# customer's process. The cgroup is joined before root is dropped.
nl_as() # NS CG DIR USER CMD...
{
	local ns=$1 cg=$2 dir=$3 uid gid

	uid=$(id -u "$4") && gid=$(id -g "$4") || return 1
	shift 4
	# shellcheck disable=SC2016 # expanded by the inner sh
	nl_in "$ns" sh -c 'echo $$ >"$0/cgroup.procs" && d=$1 u=$2 g=$3 && shift 3 &&
		cd "${d:-.}" && exec setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"' \
		"$cg" "$dir" "$uid" "$gid" "$@"
}

# One authenticated message (AUTH PLAIN) from SRC_IP in NS to a mail lab's
# SERVER; returns swaks' status (0: accepted).
nl_swaks() # NS SERVER SRC_IP ACCOUNT PASSWORD FROM TO [SWAKS-ARGS...]
{
	local ns=$1 server=$2 src=$3 account=$4 pass=$5 from=$6 to=$7

	shift 7
	nl_in "$ns" swaks --server "$server" --local-interface "$src" --timeout 3 \
		--ehlo "client-$src.example" --auth PLAIN --auth-user "$account" \
		--auth-password "$pass" --from "$from" --to "$to" "$@"
}

# A password of 32 letters and digits, for a mail lab's accounts.
nl_password()
{
	tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32
}

# --- teardown ----------------------------------------------------------------

# Processes of the lab in DIR that nothing recorded (children of daemons,
# clients): in its network namespaces, in mount namespace MNTNS, or with
# their cwd or command line under DIR. Each teardown runs it: it reads
# /proc in four processes, whatever the number of processes on the host,
# not in a few per process (seconds a teardown).
nl_leftovers() # DIR [MNTNS]
{
	local dir=$1 mntns=${2:-} ns

	if [ -f "$dir/netns" ]; then
		while read -r ns; do
			ip netns pids "$ns" 2>/dev/null
		done <"$dir/netns"
	fi
	# "/proc/PID/cwd<TAB>target" and "/proc/PID/ns/mnt<TAB>target", of each process still there.
	find /proc/[0-9]*/cwd /proc/[0-9]*/ns/mnt -maxdepth 0 -printf '%p\t%l\n' 2>/dev/null |
		awk -F '\t' -v dir="$dir" -v mnt="$mntns" '{
			split($1, p, "/")
			if (p[4] == "ns" ? mnt != "" && $2 == mnt : $2 == dir || index($2, dir "/") == 1)
				print p[3]
		}'
	# The pattern from a file: grep's own command line must not name DIR.
	grep -laF -f <(printf '%s/\n' "$dir") /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}

# Ends the leftovers (nl_leftovers) but this shell and PIDS.
nl_kill_leftovers() # DIR MNTNS [PID...]
{
	local dir=$1 mntns=$2 pid pids
	local -a keep=(-e "$$" -e "$BASHPID")

	shift 2
	for pid in "$@"; do
		keep+=(-e "$pid")
	done
	mapfile -t pids < <(nl_leftovers "$dir" "$mntns" | grep -vx "${keep[@]}" | sort -u)
	nl_kill TERM "${pids[@]}"
}

# Ends and removes what runs in DIR's lab: the cgroups' processes, the
# recorded processes (SIG first, TERM by default), the namespaces (their veth
# pairs and TC and XDP programs with them), their /etc/netns, the cgroups
# (their hooks with them). DIR's users, bpffs and files stay.
nl_clear() # DIR [SIG]
{
	local dir=$1 sig=${2:-TERM} cg pids ns d

	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	if [ -f "$dir/cgroups" ]; then
		while read -r cg; do
			[ -d "$cg" ] || continue
			echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
			# cgroup.kill (6.18) passes over a process whose leader exited while a
			# thread runs on; its pid still names it for kill(2).
			xargs -r kill -KILL <"$cg/cgroup.procs" 2>/dev/null || true
			nl_wait_until 50 nl_cgroup_empty "$cg" || true
		done <"$dir/cgroups"
	fi
	if [ -f "$dir/pids" ]; then
		mapfile -t pids <"$dir/pids"
		nl_kill "$sig" "${pids[@]}"
		rm -f "$dir/pids"
	fi
	if [ -f "$dir/netns" ]; then
		while read -r ns; do
			ip netns del "$ns" 2>/dev/null || true
		done <"$dir/netns"
		rm -f "$dir/netns"
	fi
	if [ -f "$dir/etcnetns" ]; then
		while read -r d; do
			case $d in /etc/netns/sg*) rm -rf -- "$d" ;; esac
		done <"$dir/etcnetns"
		rmdir /etc/netns 2>/dev/null || true
		rm -f "$dir/etcnetns"
	fi
	if [ -f "$dir/cgroups" ]; then
		while read -r cg; do
			[ ! -d "$cg" ] || nl_wait_until 30 rmdir "$cg" 2>/dev/null || nl_log "cannot remove $cg"
		done <"$dir/cgroups"
		rm -f "$dir/cgroups"
	fi
}

# cgroup.kill returns before the processes are gone; rmdir fails until they are.
nl_cgroup_empty() # CG
{
	[ -z "$(cat "$1/cgroup.procs" 2>/dev/null)" ]
}

# Removes everything the lab in DIR made, DIR too; safe at any point, and twice.
nl_down() # DIR
{
	local dir=$1 u

	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	nl_clear "$dir"
	# Unmounting the private bpffs releases every pin left.
	if mountpoint -q "$dir/bpffs"; then
		umount "$dir/bpffs" || nl_log "cannot unmount $dir/bpffs"
	fi
	if [ -f "$dir/users" ]; then
		while read -r u; do
			userdel "$u" 2>/dev/null || nl_log "cannot remove user $u"
			# userdel removes the user's group unless another user shares it.
			! getent group "$u" >/dev/null || groupdel "$u" 2>/dev/null || true
		done <"$dir/users"
		rm -f "$dir/users"
	fi
	mountpoint -q "$dir/bpffs" || rm -rf -- "$dir"
}

# CMD on any exit; a signal exits, so that CMD runs then too. A second signal
# (a worker of run.sh -j gets Ctrl-C's INT, then the run's TERM) must not cut
# CMD short, leaving half a lab behind.
nl_trap() # CMD
{
	# shellcheck disable=SC2064 # CMD is the caller's, as given
	trap "trap '' INT TERM HUP; $1" EXIT
	trap 'exit 130' INT TERM HUP
}
