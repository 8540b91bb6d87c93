# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's test of the pins' change lock (the flock attach and
# detach hold on the bpffs) held for long: what breaks meanwhile is still
# said. Sourced by run.sh; uses daemon.sh's helpers.

TESTS+=(chaos_change_lock_held)

# An attach that hangs holding the lock (or anyone's flock on the bpffs):
# the daemon cannot repair under it, but /healthz and the metric say what
# is broken within seconds; once the lock is free, it repairs.
test_chaos_change_lock_held()
{
	local holder n start ms

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	# -o: the lock is flock's own, gone with it, not its child's.
	flock -o "$BPFFS" sleep 60 &
	holder=$!
	# shellcheck disable=SC2064 # this holder: the bpffs is unmounted after the test
	trap "kill $holder 2>/dev/null || true" EXIT
	nl_wait_until 30 grep -q "FLOCK.*:$(stat -c %i "$BPFFS") " /proc/locks || fail "no flock on $BPFFS"
	nl_wait_until 30 rmdir "$CG" || fail "cannot remove $CG"
	start=$(date +%s%N)
	nl_wait_until 100 eval '! healthy' || fail "/healthz still ok with $CG gone under the lock"
	ms=$((($(date +%s%N) - start) / 1000000))
	http_get /healthz | grep -qx "error: cgroup $CG is gone: the connect hooks police nothing; not repaired while an attach or a detach holds the pins' lock ([0-9]* s)" ||
		fail "/healthz: $(http_get /healthz)"
	expect_metric 'smtpguard_enforcement_broken{what="cgroup"}' 1
	mkdir "$CG"
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	nl_wait_until 50 healthy || fail "not healthy with the lock free: $(http_get /healthz)"
	expect_metric 'smtpguard_enforcement_broken{what="cgroup"}' 0
	n=$(at_scale 20 200)
	expect_connects "$USER_A" "ok=0 eperm=$n other=0" -n "$n" "$NET4" 25
	figure "pins' lock held by another: /healthz said the cgroup gone $ms ms after its removal, the blocked user 0 of $n through once the lock is free"
}
