# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's test of the pins' change lock (the flock attach and
# detach hold on the bpffs) held for long: what breaks meanwhile is still
# said. Sourced by run.sh; uses daemon.sh's helpers.

TESTS+=(chaos_change_lock_held chaos_two_daemons_detached chaos_customer_lock)

# An flock on PATH taken by root, or through PREFIX (as_user USER), and
# kept: its holder's pid in the caller's holder, killed at exit unless
# flock_release ends it first. -o: the lock is flock's own, gone with it,
# not its child's.
flock_hold() # PATH [PREFIX...]
{
	local path=$1

	shift
	"$@" flock -o "$path" sleep 60 &
	holder=$!
	# shellcheck disable=SC2064 # this holder: the bpffs is unmounted after the test
	trap "kill $holder 2>/dev/null || true" EXIT
	nl_wait_until 30 grep -q "FLOCK.*:$(stat -c %i "$path") " /proc/locks ||
		fail "no flock on $path${*:+ taken by $*}"
}

flock_release()
{
	kill "$holder"
	wait "$holder" 2>/dev/null || true
}

# An attach that hangs holding the lock (or anyone's flock on the bpffs):
# the daemon cannot repair under it, but /healthz and the metric say what
# is broken within seconds; once the lock is free, it repairs.
test_chaos_change_lock_held()
{
	local holder n start ms

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	flock_hold "${PIN}_change"
	nl_wait_until 30 rmdir "$CG" || fail "cannot remove $CG"
	start=$(date +%s%N)
	nl_wait_until 100 eval '! healthy' || fail "/healthz still ok with $CG gone under the lock"
	ms=$((($(date +%s%N) - start) / 1000000))
	http_get /healthz | grep -qx "error: cgroup $CG is gone: the connect hooks police nothing; not repaired while an attach or a detach holds the pins' lock ([0-9]* s)" ||
		fail "/healthz: $(http_get /healthz)"
	expect_metric 'smtpguard_enforcement_broken{what="cgroup"}' 1
	mkdir "$CG"
	flock_release
	nl_wait_until 50 healthy || fail "not healthy with the lock free: $(http_get /healthz)"
	expect_metric 'smtpguard_enforcement_broken{what="cgroup"}' 0
	n=$(at_scale 20 200)
	expect_connects "$USER_A" "ok=0 eperm=$n other=0" -n "$n" "$NET4" 25
	figure "pins' lock held by another: /healthz said the cgroup gone $ms ms after its removal, the blocked user 0 of $n through once the lock is free"
}

# A forced detach while the daemon is held (SIGSTOP: any turn of its loop
# that takes long) removes the pin directory under it: a second `run`
# started before the daemon has put it back is refused all the same, and
# the daemon then repairs as the only one.
test_chaos_two_daemons_detached()
{
	local rc=0 out

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	kill -STOP "$DAEMON_PID"
	sg detach --force >/dev/null
	sed "s|^control = .*|control = $T/run2/control.sock\nlisten = 127.0.0.1:9027|" \
		"$T/smtpguard.conf" >"$T/second.conf"
	out=$(timeout 10 nsenter --net="/run/netns/$NS_HOST" -- "$SG_BIN" run -c "$T/second.conf" 2>&1) ||
		rc=$?
	kill -CONT "$DAEMON_PID"
	expect_eq "second run's exit status" 1 "$rc"
	printf '%s\n' "$out" | grep -q "another smtpguard run (pid $DAEMON_PID) holds $PIN" ||
		fail "second run's message names no pid $DAEMON_PID: $out"
	nl_wait_until 50 metric_is 'smtpguard_repairs_total{what="pins"}' 1 ||
		fail "no repair: $(tail -n 3 "$T/daemon.log")"
	nl_wait_until 30 healthy || fail "not healthy after the repair: $(http_get /healthz)"
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25
	# With no daemon, detach removes the lock's directory with the pins.
	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 nl_gone "$DAEMON_PID" || fail "daemon did not stop"
	sg detach >/dev/null
	expect_eq "pins and daemon lock after a detach" "absent absent" \
		"$([ -e "$PIN" ] && echo present || echo absent) $([ -e "${PIN}_daemon" ] && echo present || echo absent)"
	figure "forced detach under a stopped daemon: a second run refused (exit 1), the first repaired alone"
}

# A bpffs mounted open to all (a plain `mount -t bpf` is 1777): a customer
# who takes an flock on it, or tries the lock directories beside the pins,
# keeps no attach, detach or repair waiting; a pin directory others may write
# is refused, naming the remedy.
test_chaos_customer_lock()
{
	local holder rc=0 out d before

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	# The customer reaches the bpffs as on a host where it is mounted at /sys/fs/bpf.
	chmod 0711 "$T"
	chmod 1777 "$BPFFS"
	flock_hold "$BPFFS" as_user "$USER_B"
	for d in "${PIN}_change" "${PIN}_daemon" "${PIN}_bans" "${PIN}_policies"; do
		if as_user "$USER_B" flock -n -o "$d" true 2>/dev/null; then
			fail "the customer could lock $d"
		fi
	done
	timeout 20 nsenter --net="/run/netns/$NS_HOST" -- \
		"$SG_BIN" attach --cgroup "$CG" -i "$VETH_HOST" >/dev/null 2>&1 || rc=$?
	expect_eq "attach with the customer's flock held: exit status" 0 "$rc"
	timeout 20 nsenter --net="/run/netns/$NS_HOST" -- "$SG_BIN" detach --force >/dev/null 2>&1 ||
		fail "detach --force held or failed with the customer's flock"
	nl_wait_until 50 metric_is 'smtpguard_repairs_total{what="pins"}' 1 ||
		fail "not repaired with the customer's flock: $(http_get /healthz)"
	nl_wait_until 50 healthy || fail "not healthy after the repair: $(http_get /healthz)"
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25
	flock_release
	# A pin directory readable by all is accepted: the customer's flock on it
	# holds no ban (ban writers lock "_bans", which only root may open).
	chmod 0755 "$PIN"
	flock_hold "$PIN" as_user "$USER_B"
	rc=0
	timeout 10 nsenter --net="/run/netns/$NS_HOST" -- "$SG_BIN" ban 198.51.100.77 >/dev/null 2>&1 ||
		rc=$?
	expect_eq "ban with the customer's flock on the pin directory: exit status" 0 "$rc"
	flock_release
	chmod 0700 "$PIN" "$T"

	chmod 0777 "$PIN"
	rc=0
	out=$(sg attach --cgroup "$CG" -i "$VETH_HOST" 2>&1) || rc=$?
	chmod 0700 "$PIN"
	expect_eq "attach on a pin directory others may write: exit status" 1 "$rc"
	expect_eq "its message" "smtpguard: pin directory $PIN: another user's, or open to others: remove it and mount the bpffs with mode=0700" "$out"

	# A lock directory a customer made first, before an upgrade made it: the
	# load is refused before any pin changes (the programs stay as they were).
	rmdir "${PIN}_policies"
	chmod 0711 "$T"
	as_user "$USER_B" mkdir "${PIN}_policies"
	chmod 0700 "$T"
	before=$(bpftool prog show pinned "$PIN/prog_connect4" | sed -n 1p)
	rc=0
	out=$(sg attach --cgroup "$CG" -i "$VETH_HOST" 2>&1) || rc=$?
	expect_eq "attach with a customer's _policies: exit status" 1 "$rc"
	case $out in
	*"taking the bans' and policies' locks beside the pins"*) ;;
	*) fail "attach with a customer's _policies: $out" ;;
	esac
	expect_eq "the programs after it" "$before" "$(bpftool prog show pinned "$PIN/prog_connect4" | sed -n 1p)"
	rmdir "${PIN}_policies"
	figure "a customer's flock on a bpffs open to all: attach and detach not held, the daemon's repair made, the blocked user 0 of 5; a customer's lock directory refuses the load, nothing changed"
}
