# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# `smtpguard kill`: a user's processes that hold SMTP connections, or keep
# trying to open them, and nobody else's. Sourced by run.sh.

TESTS+=(kill kill_opening kill_threads kill_subuid)

# Starts CMD (bash -c text; $0 is the sink's address) as USER in the test
# cgroup, in the background; CMD prints its pid when it is ready, into FILE.
# Teardown ends it with the cgroup.
start_as() # USER FILE CMD
{
	# Emptied first: the background job's own redirection may come after the first look.
	: >"$2"
	as_user "$1" bash -c "$3" "$NET4" >"$2" 2>"$2.err" &
	nl_wait_until 50 grep -qx '[0-9][0-9]*' "$2" ||
		fail "'$3' as $1 never got ready: $(cat "$2.err")"
}

# A process holding a connection to the sink's PORT: bash, once connected, becomes sleep.
start_holder() # USER FILE PORT
{
	start_as "$1" "$2" "exec 3<>/dev/tcp/\$0/$3 && echo \$\$ && exec sleep 60"
}

# Alive and not a zombie waiting for its parent.
alive() # PID
{
	local state

	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

dead() # PID
{
	! alive "$1"
}

# FIELD of the sg_senders entry of USER's process PID is above 0.
sender_counted() # USER PID FIELD
{
	local n

	n=$(map_field sg_senders "{\"uid\":$(id -u "$1"),\"tgid\":$2}" "$3")
	[ "$n" != absent ] && [ "$n" -gt 0 ]
}

# Drops the sg_senders entry of USER's process PID, as a minute after its
# connect: only its sockets show it then.
forget_sender() # USER PID
{
	local uid n key=()

	uid=$(id -u "$1")
	for n in "$uid" "$2"; do
		key+=($((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))
	done
	bpftool map delete pinned "$PIN/sg_senders" key "${key[@]}"
}

test_kill()
{
	local a1 a2 idle b uid out

	uid=$(id -u "$USER_A")
	start_holder "$USER_A" "$T/a1.pid" 25
	start_holder "$USER_A" "$T/a2.pid" 25
	# shellcheck disable=SC2016 # expanded by the user's bash
	start_as "$USER_A" "$T/idle.pid" 'echo $$ && exec sleep 60'
	start_holder "$USER_B" "$T/b.pid" 25
	read -r a1 <"$T/a1.pid"
	read -r a2 <"$T/a2.pid"
	read -r idle <"$T/idle.pid"
	read -r b <"$T/b.pid"
	[ "$a1" -lt "$a2" ] || { local t=$a1; a1=$a2; a2=$t; }

	out=$(sg kill "$USER_A" --reason "S6: spam from a CMS")
	expect_eq "kill output" "killed pid $a1 (sleep) uid $uid: $NET4:25 established
killed pid $a2 (sleep) uid $uid: $NET4:25 established
killed 2 processes" "$out"
	nl_wait_until 20 dead "$a1" || fail "A's holder $a1 still alive"
	nl_wait_until 20 dead "$a2" || fail "A's holder $a2 still alive"
	alive "$idle" || fail "A's process with no SMTP socket was killed"
	alive "$b" || fail "B's holder was killed"
	expect_eq "audit of the kill" "[\"kill\",$uid,{\"pids\":[$a1,$a2]},\"S6: spam from a CMS\"]" \
		"$(tail -n 1 "$T/audit.log" | jq -c '[.action, .uid, .params, .reason]')"

	expect_eq "kill again" "no process of $USER_A (uid $uid) holds or is opening an SMTP connection" \
		"$(sg kill "$USER_A")"
	alive "$idle" || fail "A's process with no SMTP socket was killed the second time"
	expect_refused "root" sg kill root
	expect_refused "unknown user" sg kill "sgt${ID}nosuch"
	expect_refused "root" as_user "$USER_B" "$SG_BIN" kill "$USER_A"
	alive "$b" || fail "B's holder was killed at last"
}

# A blocked mailer retrying in a loop holds no connection: the connect hooks saw it.
test_kill_opening()
{
	local a b uid retry out

	uid=$(id -u "$USER_A")
	# At most 300 tries 0.2 s apart: 60 s.
	# shellcheck disable=SC2016 # expanded by the user's bash
	retry='echo $$; for i in $(seq 300); do : 3<>/dev/tcp/$0/25; sleep 0.2; done'
	sg block "$USER_A"
	start_as "$USER_A" "$T/a.pid" "$retry"
	start_as "$USER_B" "$T/b.pid" "$retry"
	read -r a <"$T/a.pid"
	read -r b <"$T/b.pid"
	nl_wait_until 50 sender_counted "$USER_A" "$a" denied || fail "A's retries not seen refused"
	nl_wait_until 50 sender_counted "$USER_B" "$b" attempts || fail "B's connects not seen"

	out=$(sg kill "$USER_A")
	expect_eq "kill output" "killed pid $a (bash) uid $uid: connecting (recent connect to a watched port)
killed 1 process" "$out"
	nl_wait_until 20 dead "$a" || fail "A's retry loop $a still alive"
	alive "$b" || fail "B's loop was killed"
}

# A connection only a thread other than the leader shows: in a descriptor
# table of its own, or after the leader exited (a zombie leader shows none).
# And one that 50 threads show, sharing a table: searched once, not 50 times.
test_kill_threads()
{
	local own gone shared nest idle b uid out

	uid=$(id -u "$USER_A")
	start_as "$USER_A" "$T/own.pid" "exec $ROOT/build/tools/sg_thread_holder \$0 25 unshare"
	start_as "$USER_A" "$T/gone.pid" "exec $ROOT/build/tools/sg_thread_holder \$0 25 leader-exits"
	start_as "$USER_A" "$T/shared.pid" "exec $ROOT/build/tools/sg_thread_holder \$0 25 shared"
	start_as "$USER_A" "$T/nest.pid" \
		"exec $ROOT/build/tools/sg_thread_holder \$0 25 unshare-shared"
	# shellcheck disable=SC2016 # expanded by the user's bash
	start_as "$USER_A" "$T/idle.pid" 'echo $$ && exec sleep 60'
	start_as "$USER_B" "$T/b.pid" "exec $ROOT/build/tools/sg_thread_holder \$0 25 leader-exits"
	read -r own <"$T/own.pid"
	read -r gone <"$T/gone.pid"
	read -r shared <"$T/shared.pid"
	read -r nest <"$T/nest.pid"
	read -r idle <"$T/idle.pid"
	read -r b <"$T/b.pid"
	nl_wait_until 50 grep -q '^State:.*zombie' "/proc/$gone/status" ||
		fail "the leader of $gone did not exit"
	! find "/proc/$own/fd" -lname 'socket:*' | grep -q . || fail "the leader of $own shows a socket"
	expect_eq "threads of $shared" 50 "$(find "/proc/$shared/task" -mindepth 1 -maxdepth 1 | wc -l)"
	expect_eq "threads of $nest" 52 "$(find "/proc/$nest/task" -mindepth 1 -maxdepth 1 | wc -l)"
	forget_sender "$USER_A" "$own"
	forget_sender "$USER_A" "$gone"
	forget_sender "$USER_A" "$shared"
	forget_sender "$USER_A" "$nest"

	out=$(sg kill "$USER_A" 2>"$T/kill.err")
	expect_eq "kill output" "$(for p in $(printf '%s\n' "$own" "$gone" "$shared" "$nest" | sort -n); do
		echo "killed pid $p (sg_thread_holde) uid $uid: $NET4:25 established"
	done)
killed 4 processes" "$out"
	# Threads: own 2 (2 tables), gone 1 (its zombie leader has none), shared 50 (1),
	# nest 52 (2: the leader's, and the holder's with its 50), idle 1 (1).
	expect_eq "tables searched" "smtpguard: searched 7 descriptor tables of 106 threads" \
		"$(cat "$T/kill.err")"
	nl_wait_until 20 dead "$own" || fail "A's unshared holder $own still alive"
	nl_wait_until 20 dead "$gone" || fail "A's holder $gone with an exited leader still alive"
	nl_wait_until 20 dead "$shared" || fail "A's 50-thread holder $shared still alive"
	nl_wait_until 20 dead "$nest" || fail "A's holder $nest with 50 threads on its table still alive"
	alive "$idle" || fail "A's process with no SMTP socket was killed"
	[ -e "/proc/$b" ] || fail "B's holder was killed"
}

# The entries of sg_policies for UID.
sub_policies() # UID
{
	map_dump sg_policies | jq --argjson u "$1" '[.[] | select(.formatted.key == $u)] | length'
}

# A customer's mailer in a user namespace of its own runs as a sub-UID of
# its range (/etc/subuid): kill finds it as the customer's and says which
# UID it ran as. Nothing of B is touched. A policy for the sub-UID, which
# the hooks would never consult, is refused naming the owner; one written
# before the range was loaded is removed by release, with a warning.
test_kill_subuid()
{
	local uid start end sub a b out rc

	uid=$(id -u "$USER_A")
	subuid_lock
	start=$(subuid_free_start)
	end=$((start + 65535))
	# --map-auto maps the namespace's UID 0 to the range's start.
	sub=$((start + 5))
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	# Written while the UID is nobody's sub-UID yet: release must still remove it.
	sg block "$sub" --reason "before the range" >/dev/null
	nl_wait_until 30 usermod --add-subuids "$start-$end" --add-subgids "$start-$end" "$USER_A" ||
		fail "usermod --add-subuids failed"
	subuid_unlock
	nl_wait_until 50 subuid_prefixes_are "$uid" 1 ||
		fail "the new range never reached the kernel: $(tail -n 3 "$T/daemon.log")"

	start_as "$USER_A" "$T/a.pid" "exec unshare --user --map-auto --setuid 0 --setgid 0 \
		setpriv --reuid=5 --regid=5 --clear-groups -- \
		bash -c 'exec 3<>/dev/tcp/\$0/25 && echo \$\$ && exec sleep 60' \$0"
	start_holder "$USER_B" "$T/b.pid" 25
	read -r a <"$T/a.pid"
	read -r b <"$T/b.pid"
	expect_eq "real UID of A's holder" "$sub" "$(awk '/^Uid:/ { print $2 }' "/proc/$a/status")"

	out=$(sg kill "$USER_A" 2>/dev/null)
	expect_eq "kill output" "killed pid $a (sleep) uid $sub (sub-UID of $USER_A): $NET4:25 established
killed 1 process" "$out"
	nl_wait_until 20 dead "$a" || fail "A's sub-UID holder $a still alive"
	alive "$b" || fail "B's holder was killed"

	for cmd in "block $sub" "throttle $sub --rate 10/min"; do
		rc=0
		# shellcheck disable=SC2086 # the command's words
		out=$(sg $cmd 2>&1) || rc=$?
		expect_eq "$cmd: exit" 2 "$rc"
		expect_eq "$cmd: message" "smtpguard ${cmd%% *}: uid $sub is a sub-UID of $USER_A \
(/etc/subuid): limit $USER_A" "$out"
	done
	expect_eq "policy of the sub-UID before release" 1 "$(sub_policies "$sub")"
	rc=0
	out=$(sg release "$sub" 2>"$T/release.err") || rc=$?
	expect_eq "release $sub: exit" 0 "$rc"
	expect_eq "release $sub: output" "released uid $sub" "$out"
	expect_eq "release $sub: warning" "smtpguard: uid $sub is a sub-UID of $USER_A: its own \
policy is not consulted while the range is loaded" "$(cat "$T/release.err")"
	expect_eq "policy of the sub-UID after release" 0 "$(sub_policies "$sub")"

	nl_wait_until 30 usermod --del-subuids "$start-$end" --del-subgids "$start-$end" "$USER_A" ||
		fail "usermod --del-subuids failed"
}
