# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's tests of the pinned state under a running daemon: a
# second daemon on the same pins, a forced detach and a new attach under a
# flood, the watched cgroup removed and made again. Sourced by run.sh;
# uses daemon.sh's helpers (start_daemon, metric, healthy).

TESTS+=(chaos_two_daemons chaos_detach_attach chaos_cgroup_recreated)

# What the kernel is told by a config: the settings (less the time the
# default was written, which a rewrite changes) and the watched ports.
kernel_config()
{
	map_dump sg_settings | jq -c '.[0].formatted.value | del(.default_policy.updated_ns)'
	map_dump sg_ports | jq -c '[.[].formatted | {port: .key, flags: .values[0].value.flags}] | sort'
	map_dump sg_policies | jq -c '[.[].formatted | {uid: .key, mode: .value.mode}] | sort'
}

# Whether N programs are attached to cgroup CG.
hooks_on() # CG N
{
	[ "$(bpftool -j cgroup show "$1" 2>/dev/null | jq length)" = "$2" ]
}

# The sum of FIELD (ok, eperm, other) over sg_connect's lines in FILE.
connect_sum() # FILE FIELD
{
	grep -o "$2=[0-9]*" "$1" | awk -F= '{ n += $2 } END { print n + 0 }'
}

# A second `run` on the same pins, with another default, port and exporter:
# refused at once, naming the first daemon, and the kernel exactly as the
# first one made it.
test_chaos_two_daemons()
{
	local before after rc=0 out start ms

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	before=$(kernel_config)
	# Nothing in common with the first but the pins: not a port, not a socket.
	cat >"$T/second.conf" <<-EOF
		[daemon]
		interfaces = $VETH_HOST
		cgroup = $CG
		[policy]
		default = observe
		[ports]
		outbound = 2525
		[audit]
		log = $T/audit2.log
		syslog = no
		[exporter]
		listen = 127.0.0.1:9026
		control = $T/run2/control.sock
	EOF
	start=$(date +%s%N)
	unit_sandbox
	out=$(timeout 10 nsenter --net="/run/netns/$NS_HOST" -- "${SANDBOX[@]}" \
		"$SG_BIN" run -c "$T/second.conf" 2>&1) || rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	expect_eq "second run's exit status" 1 "$rc"
	printf '%s\n' "$out" | grep -q "another smtpguard run (pid $DAEMON_PID) holds $PIN" ||
		fail "second run's message names no pid $DAEMON_PID: $out"
	after=$(kernel_config)
	expect_eq "settings, ports and policies after the second run" "$before" "$after"
	expect_eq "second run's lines" 1 "$(printf '%s\n' "$out" | wc -l)"
	# The first daemon's default: a new user gets the burst of 20 and no more.
	expect_connects "$USER_B" "ok=20 eperm=5 other=0" -n 25 "$NET4" 25
	healthy || fail "first daemon not healthy: $(http_get /healthz)"
	figure "second daemon on the same pins: refused in $ms ms (exit 1), settings, ports and policies unchanged, a new user 20 of 25 through"
}

# A plain detach under the daemon is refused; a forced one and a new attach
# under a blocked user's flood are repaired by the daemon within a tick:
# the block, the daemon's default, /healthz and the events all back.
test_chaos_detach_attach()
{
	local rounds ok total start ms

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25
	expect_refused "daemon \(pid $DAEMON_PID\) runs on .*: stop it first" sg detach
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25

	# Ten connects every 10 ms or so: about 1,000 a second.
	rounds=$(at_scale 100 1000)
	as_user "$USER_A" bash -c "for i in \$(seq $rounds); do $CONNECT -n 10 $NET4 25; sleep 0.01; done" \
		>"$T/flood.out" 2>&1 &
	FLOOD=$!
	sleep 0.5
	sg detach --force >/dev/null
	sg attach --cgroup "$CG" -i "$VETH_HOST" >/dev/null
	start=$(date +%s%N)
	nl_wait_until 50 metric_is 'smtpguard_repairs_total{what="pins"}' 1 ||
		fail "no repair: $(metric 'smtpguard_repairs_total{what="pins"}'); $(tail -n 3 "$T/daemon.log")"
	ms=$((($(date +%s%N) - start) / 1000000))
	wait "$FLOOD"
	ok=$(connect_sum "$T/flood.out" ok)
	total=$((ok + $(connect_sum "$T/flood.out" eperm)))
	expect_eq "flood's other errors" 0 "$(connect_sum "$T/flood.out" other)"
	figure "forced detach then attach under a blocked user's flood: $ok of $total connections out in the gap, the repair in /metrics $ms ms after the attach returned; a plain detach refused (0 out)"

	healthy || fail "not healthy after the repair: $(http_get /healthz)"
	expect_connects "$USER_A" "ok=0 eperm=20 other=0" -n 20 "$NET4" 25
	expect_metric 'smtpguard_default_policy{mode="throttle"}' 1
	expect_metric 'smtpguard_enforcement_broken{what="pins"}' 0

	# Whether the daemon put the old pins back or took up the attach's depends
	# on where its tick fell. Stopped, it finds every pin replaced: the block
	# is carried over from the old map, the ring buffer made on the new one.
	kill -STOP "$DAEMON_PID"
	sg detach --force >/dev/null
	sg attach --cgroup "$CG" -i "$VETH_HOST" >/dev/null
	kill -CONT "$DAEMON_PID"
	nl_wait_until 50 metric_is 'smtpguard_repairs_total{what="pins"}' 2 ||
		fail "no second repair: $(tail -n 3 "$T/daemon.log")"
	grep -q "policies, buckets and bans carried into the new maps" "$T/daemon.log" ||
		fail "nothing carried: $(tail -n 3 "$T/daemon.log")"
	expect_connects "$USER_A" "ok=0 eperm=20 other=0" -n 20 "$NET4" 25
	# A new sender on the new maps: the daemon's default (its burst of 20), and its event read.
	expect_connects "$USER_B" "ok=20 eperm=5 other=0" -n 25 "$NET4" 25
	nl_wait_until 30 grep -q "new sender uid $(id -u "$USER_B") ($USER_B" "$T/daemon.log" ||
		fail "no event read for $USER_B after the repair"
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 25
	# Told by the new maps' marks within a tick or two, not by the whole read of a minute
	# later: the daemon left the old maps' handles for the new ones'.
	expect_connects "$USER_B" "ok=0 eperm=3 other=0" -n 3 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_B")}" 28
}

# The watched cgroup removed and made again: /healthz says so while it is
# gone, and the hooks are on the new one within a few ticks.
test_chaos_cgroup_recreated()
{
	local start ms n i

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A"
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25
	nl_wait_until 30 rmdir "$CG" || fail "cannot remove $CG"
	nl_wait_until 30 eval '! healthy' || fail "/healthz still ok with $CG gone"
	expect_eq "/healthz with the cgroup gone" \
		"error: cgroup $CG is gone: the connect hooks police nothing" "$(http_get /healthz)"
	expect_eq "its HTTP status" 503 "$(http_get /healthz -o /dev/null -w '%{http_code}')"
	expect_metric 'smtpguard_enforcement_broken{what="cgroup"}' 1
	start=$(date +%s%N)
	mkdir "$CG"
	# Polled every 10 ms (for at most 5 s); the figure is when the poll that saw them began.
	for ((i = 0; i < 500; i++)); do
		ms=$((($(date +%s%N) - start) / 1000000))
		! hooks_on "$CG" 3 || break
		sleep 0.01
	done
	hooks_on "$CG" 3 || fail "hooks not on the new $CG"
	nl_wait_until 50 healthy || fail "not healthy with $CG back: $(http_get /healthz)"
	expect_metric 'smtpguard_repairs_total{what="hooks"}' 1
	expect_metric 'smtpguard_enforcement_broken{what="cgroup"}' 0
	n=$(at_scale 100 1000)
	expect_connects "$USER_A" "ok=0 eperm=$n other=0" -n "$n" "$NET4" 25
	figure "cgroup removed and made again: /healthz not ok while gone, its 3 hooks on the new cgroup seen by a poll begun $ms ms after it was made, the blocked user 0 of $n through"
}
