# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's detector faults: the daemon paused (SIGSTOP) while new
# senders start, restarted under a sender that goes on, and the audit log
# and state files on a full disk, then rotated. Sourced by run.sh; daemon.sh's helpers start and read the daemon.

TESTS+=(chaos_pause chaos_restart_evidence chaos_recall_other_uid chaos_disk_full)

# COUNT single-connection sessions of USER, one every 2 s (30 a minute),
# their outcomes summed into FILE as "ok=N eperm=N other=N". With WAIT,
# 2 s before the first too: the pace goes on from sessions before.
steady_sender() # USER COUNT FILE [WAIT]
{
	local i line ok=0 eperm=0 other=0

	for ((i = 0; i < $2; i++)); do
		if [ "$i" -gt 0 ] || [ -n "${4:-}" ]; then
			sleep 2
		fi
		line=$(connect_as "$1" -n 1 "$NET4" 25)
		[[ $line =~ ^ok=([0-9]+)\ eperm=([0-9]+)\ other=([0-9]+)$ ]] || line="ok=0 eperm=0 other=1"
		ok=$((ok + BASH_REMATCH[1]))
		eperm=$((eperm + BASH_REMATCH[2]))
		other=$((other + BASH_REMATCH[3]))
	done
	echo "ok=$ok eperm=$eperm other=$other" >"$3"
}

# The daemon's audit entries (alerts and actions) about UID.
daemon_entries() # UID
{
	jq -c --argjson uid "$1" 'select(.actor == "daemon" and .uid == $uid)' \
		"$T/audit.log" 2>/dev/null || true
}

# Whether the detector has observed USER.
known() # USER
{
	[ "$(sg explain "$1" --json | jq -r .daemon.known)" = true ]
}

# Whether the daemon has read every event the kernel gave it.
events_drained()
{
	metric_is smtpguard_events_pending 0
}

# N new senders start at 30 a minute, half the new-sender limit, while the
# daemon is stopped; it resumes. The kernel counted and allowed every
# connection; the detector judges each sender over the time it has been
# sending (the kernel's first count), with its pause spread over the
# minutes it lasted, and throttles none. Every event is read or counted as
# lost. Before, each was taken as first seen at the resume with all its
# connections in one second: 180 a minute, throttled for an hour.
test_chaos_pause()
{
	local n per users=() pids=() u i t_stop t_cont lost read top why

	# Long: over a minute stopped, within the 120 s the test's sink lives.
	n=$(at_scale 3 10)
	per=$(at_scale 3 28) # sessions each while stopped: over 4 s or 54 s, one every 2 s
	for ((i = 1; i <= n; i++)); do
		u=sgt${ID}p$i
		id -u "$u" >/dev/null 2>&1 || nl_user_add "$T" "$u" || fail "useradd $u failed"
		users+=("$u")
	done
	# 2, not 20: the short pass's 3 sessions are enough to be judged.
	write_config "$T/smtpguard.conf" "new_sender_min = 2"
	start_daemon "$T/smtpguard.conf"
	t_stop=$(date +%s)
	kill -STOP "$DAEMON_PID"
	for u in "${users[@]}"; do
		steady_sender "$u" "$per" "$T/steady.$u" &
		pids+=($!)
	done
	# Not a bare wait: the daemon and the sink are this shell's children too.
	wait "${pids[@]}"
	t_cont=$(date +%s)
	kill -CONT "$DAEMON_PID"
	# Going on at the same pace: a minute's window now holds part of the pause.
	pids=()
	for u in "${users[@]}"; do
		steady_sender "$u" 1 "$T/after.$u" wait &
		pids+=($!)
	done
	wait "${pids[@]}"
	nl_wait_until 50 events_drained || fail "events still pending: $(metric smtpguard_events_pending)"
	sleep 1
	top=$(sg top --json -n 1000)
	for u in "${users[@]}"; do
		expect_eq "$u while stopped" "ok=$per eperm=0 other=0" "$(cat "$T/steady.$u")"
		expect_eq "$u after" "ok=1 eperm=0 other=0" "$(cat "$T/after.$u")"
		expect_eq "$u in the kernel" "$((per + 1))/$((per + 1))/0" \
			"$(jq -r --argjson uid "$(id -u "$u")" '.[] | select(.uid == $uid) | "\(.attempts)/\(.allowed)/\(.denied)"' <<<"$top")"
		expect_eq "$u audited" "" "$(daemon_entries "$(id -u "$u")")"
		# Judged new, as first counted by the kernel while the daemon was stopped.
		why=$(sg explain "$u" --json | jq -r --argjson t "$t_cont" \
			'"\(.daemon.new_sender) \(.daemon.first_seen != null and .daemon.first_seen < $t)"')
		expect_eq "$u new, first seen before the resume" "true true" "$why"
	done
	expect_metric 'smtpguard_alerts_total{rule="new_sender"}' 0
	expect_metric 'smtpguard_actions_total{action="throttle",rule="new_sender"}' 0
	# One event per sender process: each read, or lost when the ring was full.
	lost=$(metric smtpguard_events_lost_total)
	read=$(metric smtpguard_events_read_total)
	expect_eq "events read + lost" "$((n * (per + 1)))" "$((read + lost))"
	figure "SIGSTOP $((t_cont - t_stop)) s, $n new senders at $(((per - 1) * 60 / (t_cont - t_stop)))/min" \
		"($per sessions each, one every 2 s at most):" \
		"0 of $n throttled, kernel exact ($((per + 1))/$((per + 1))/0 each)," \
		"$read events read, $lost lost"
}

# The daemon's throttle entries about USER, one compact JSON per line.
throttles() # USER
{
	daemon_entries "$(id -u "$1")" | jq -c 'select(.action == "throttle")'
}

# A script's one process (bash, connecting with /dev/tcp) sends before a
# restart and, told by a signal, 15 more after it: new-sender material,
# within the kernel's burst, so no refusal makes an event either. The
# kernel made the process's one event before the new daemon read the
# ring; the throttle's evidence still names it (its pid, exe and command
# line), attributed at start from sg_senders. Before, its processes were [].
test_chaos_restart_evidence()
{
	local pid ev before

	# 15 connections are judged: the default burst of 20 lets them all through.
	write_config "$T/smtpguard.conf" "new_sender_min = 10"
	start_daemon "$T/smtpguard.conf"
	# shellcheck disable=SC2016 # expanded by the customer's bash
	as_user "$USER_A" bash -c ': 3<>/dev/tcp/$0/25; trap go=1 USR1
		until [ -n "${go:-}" ]; do sleep 0.1; done
		for i in $(seq 15); do : 3<>/dev/tcp/$0/25; done; sleep 30; :' "$NET4" &
	nl_wait_until 30 known "$USER_A" || fail "A never observed: $(tail -n 3 "$T/daemon.log")"
	pid=$(pgrep -u "$USER_A" -x bash)
	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 nl_gone "$DAEMON_PID" || fail "daemon did not stop"
	before=$(wc -l <"$T/daemon.log")
	start_daemon "$T/smtpguard.conf"
	# The flood once the new daemon has taken its first look.
	kill -USR1 "$pid"
	nl_wait_until 100 grep -q "action throttle user=$USER_A " "$T/daemon.log" ||
		fail "no throttle: $(tail -n 3 "$T/daemon.log")"
	expect_eq "new events after the restart" 0 \
		"$(tail -n +$((before + 1)) "$T/daemon.log" | { grep -c "new sender uid $(id -u "$USER_A") " || true; })"
	ev=$(throttles "$USER_A" | jq -r '.params.processes[0] // {} |
		"\(.tgid) \(.process.gone) \(.process.exe) \(.process.cmdline // "" | split(" ") | .[0])"')
	expect_eq "evidence" "$pid false $(readlink -f /bin/bash) bash" "$ev"
	expect_eq "A in the kernel" "16/16/0" "$(top_counts "$USER_A" | cut -d/ -f1-3)"
	grep -q "1 processes already sending attributed (sg_senders)" "$T/daemon.log" ||
		fail "nothing recalled: $(tail -n 3 "$T/daemon.log")"
	figure "restart under a running sender: its throttle's evidence names pid $pid (bash)," \
		"recalled from sg_senders; 0 new events for it after the restart"
}

# Whether /proc/PID is USER's.
owned_by() # PID USER
{
	[ "$(stat -c %u "/proc/$1" 2>/dev/null)" = "$(id -u "$2")" ]
}

# A's processes as the daemon shows them: "TGID GONE CMDLINE" a line, by tgid.
a_processes()
{
	sg explain "$USER_A" --json |
		jq -r '.daemon.processes | sort_by(.tgid)[] | "\(.tgid) \(.process.gone) \(.process.cmdline)"'
}

# Really reused: while the daemon is down, A's one-shot sender connects
# and exits, and B's process is made at its pid (ns_last_pid set to the pid
# before it, the fork retried until it lands there, the host's pid cursor
# put back after); another sender of A's goes on running. At start,
# sg_senders' entry for the one-shot names a live process that is B's: only
# A's running sender is attributed from it, and nothing of B's is shown
# among A's processes.
test_chaos_recall_other_uid()
{
	local a pid b=0 i last want

	if [ "$(readlink /proc/self/ns/pid)" != "pid:[4026531836]" ] ||
		[ ! -w /proc/sys/kernel/ns_last_pid ]; then
		fail "needs the initial pid namespace and a writable ns_last_pid (CONFIG_CHECKPOINT_RESTORE)"
	fi
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 nl_gone "$DAEMON_PID" || fail "daemon did not stop"
	# shellcheck disable=SC2016 # expanded by the customer's bash
	as_user "$USER_A" bash -c ': 3<>/dev/tcp/$0/25; exec sleep 60' "$NET4" &
	nl_wait_until 50 pgrep -u "$USER_A" -x sleep >/dev/null || fail "A's sender never started"
	a=$(pgrep -u "$USER_A" -x sleep)
	expect_eq "A's one-shot" "ok=1 eperm=0 other=0" "$(connect_as "$USER_A" -n 1 "$NET4" 25)"
	pid=$(bpftool -j map dump pinned "$PIN/sg_senders" |
		jq -r --argjson u "$(id -u "$USER_A")" --argjson a "$a" \
			'.[].formatted | select(.key.uid == $u and .key.tgid != $a) | .key.tgid')
	[[ $pid =~ ^[0-9]+$ ]] || fail "A's one-shot sender: '$pid'"
	nl_gone "$pid" || fail "A's one-shot sender $pid still runs"
	last=$(cat /proc/sys/kernel/ns_last_pid)
	for ((i = 0; i < 50 && b != pid; i++)); do
		[ "$b" = 0 ] || { kill "$b"; wait "$b" 2>/dev/null || true; }
		[ -e "/proc/$pid" ] && break # another test's process took it first
		echo $((pid - 1)) >/proc/sys/kernel/ns_last_pid
		# In the test's cgroup, whose processes the teardown kills.
		(echo "$BASHPID" >"$CG/cgroup.procs" &&
			exec setpriv --reuid="$USER_B" --regid="$USER_B" --clear-groups sleep 60) &
		b=$!
	done
	# Other tests' forks go on above the pids they had, not into those just freed.
	[ "$(cat /proc/sys/kernel/ns_last_pid)" -ge "$last" ] || echo "$last" >/proc/sys/kernel/ns_last_pid
	[ "$b" = "$pid" ] || fail "pid $pid not had again after $i forks (taken: $b)"
	nl_wait_until 20 owned_by "$b" "$USER_B" || fail "B's process at $pid never ran as B"
	start_daemon "$T/smtpguard.conf"
	grep -qE '(^|[^0-9])1 processes already sending attributed \(sg_senders\)' "$T/daemon.log" ||
		fail "recalled: $(grep "already sending" "$T/daemon.log")"
	# The one-shot's own event, read from the ring at start, names it gone: nothing of B's.
	want=$(printf '%s\n' "$a false sleep 60" "$pid true null" | sort -n)
	expect_eq "A's processes" "$want" "$(a_processes)"
	figure "A's one-shot sender's pid $pid reused by B's process (after $i forks):" \
		"not attributed to A at start, A's running sender is"
}

# The audit log and the baselines on a tmpfs of 256 KiB, filled. A flooder
# still gets exactly the burst and is throttled in the kernel; the failed
# audit write is logged once and counted; the saved baselines are not
# truncated by the failed save at exit. Space back, a logrotate-style
# rename and SIGUSR1: the daemon makes the new file, and its next entry
# goes there.
test_chaos_disk_full()
{
	local full=$T/full sum

	mkdir -p "$full"
	mount -t tmpfs -o size=256k,mode=0700 sgt-full "$full"
	# shellcheck disable=SC2064 # $full now: the test's subshell may outlive nothing else
	trap "umount -l '$full' 2>/dev/null || true" EXIT
	# The daemon's audit log is where $SMTPGUARD_AUDIT_LOG says (the CLI's too).
	export SMTPGUARD_AUDIT_LOG=$full/audit.log
	write_config "$T/smtpguard.conf"
	sed -i "s|^baselines = .*|baselines = $full/baselines.gz|" "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=1 eperm=0 other=0" -n 1 "$NET4" 25
	nl_wait_until 30 known "$USER_A" || fail "A never observed"
	# Saved at the stop; the next daemon starts from it.
	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 nl_gone "$DAEMON_PID" || fail "daemon did not stop"
	[ -s "$full/baselines.gz" ] || fail "no baselines saved"
	sum=$(sha256sum <"$full/baselines.gz")
	start_daemon "$T/smtpguard.conf"

	dd if=/dev/zero of="$full/fill" bs=4k 2>/dev/null || true
	expect_eq "free blocks" 0 "$(stat -f -c %a "$full")"
	expect_connects "$USER_B" "ok=20 eperm=80 other=0" -n 100 "$NET4" 25
	nl_wait_until 30 metric_is 'smtpguard_actions_total{action="throttle",rule="new_sender"}' 1 ||
		fail "no throttle: $(tail -n 3 "$T/daemon.log")"
	expect_eq "B's policy" "throttle 6/min by the detector" \
		"$(sg explain "$USER_B" --json | jq -r '"\(.kernel.mode) \(.kernel.rate) by \(.kernel.set_by)"')"
	expect_metric 'smtpguard_write_errors_total{file="audit"}' 1
	expect_eq "logged once" 1 "$(grep -c "writing audit log $full/audit.log: No space left on device" "$T/daemon.log")"

	# The save at the stop fails and leaves the file as it was.
	kill -TERM "$DAEMON_PID"
	nl_wait_until 50 nl_gone "$DAEMON_PID" || fail "daemon did not stop"
	grep -q "writing baselines $full/baselines.gz: No space left on device" "$T/daemon.log" ||
		fail "save failure not logged: $(tail -n 3 "$T/daemon.log")"
	expect_eq "baselines kept" "$sum" "$(sha256sum <"$full/baselines.gz")"
	[ ! -e "$full/baselines.gz.tmp" ] || fail "the temporary file was left behind"

	# Space again; logrotate moves the log (if the full disk let it be made) and signals.
	rm -f "$full/fill"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A" --for 2s >/dev/null
	nl_wait_until 50 sh -c "grep -q '\"action\":\"expire\"' '$full/audit.log' 2>/dev/null" ||
		fail "no expire entry: $(tail -n 3 "$T/daemon.log")"
	mv "$full/audit.log" "$full/audit.log.1"
	kill -USR1 "$DAEMON_PID"
	nl_wait_until 30 grep -q "SIGUSR1: audit log $full/audit.log reopened" "$T/daemon.log" ||
		fail "no reopen: $(tail -n 3 "$T/daemon.log")"
	kill -0 "$DAEMON_PID" || fail "SIGUSR1 ended the daemon"
	expect_eq "new log" 0 "$(stat -c %s "$full/audit.log")"
	sg block "$USER_A" --for 2s >/dev/null
	nl_wait_until 50 sh -c "grep -q '\"action\":\"expire\"' '$full/audit.log'" ||
		fail "no entry in the new log: $(tail -n 3 "$T/daemon.log")"
	expect_eq "rotated entries" 1 "$(grep -c '"action":"expire"' "$full/audit.log.1")"
	expect_eq "new entries" 1 "$(grep -c '"action":"expire"' "$full/audit.log")"
	healthy || fail "daemon unhealthy after SIGUSR1"
	figure "disk full: flood got 20 of 100 (burst 20), then throttled 6/min in the kernel;" \
		"1 audit write failed and counted, baselines kept byte for byte; SIGUSR1 after rename:" \
		"next entry in the new file"
}
