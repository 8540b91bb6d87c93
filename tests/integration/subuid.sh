# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sub-UIDs (subuid(5)) are their owner's: a customer with a range in
# /etc/subuid who connects from a user namespace's UIDs gets its own burst
# once, not once per UID; and a host that has run out of buckets says so in
# status, top and /metrics; and an attach over the pins of a build older
# than sg_subuid_bits marks the ranges its trie holds, with no daemon to
# write them again. Sourced by run.sh.

TESTS+=(subuid_owner_burst subuid_fail_closed_shown subuid_write_backoff subuid_bits_upgrade)

FILL=$ROOT/build/tools/sg_fill

# A start for a new range of 65,536 past every range of this machine: aligned, one prefix.
# usermod refuses --add-subuids without the files, which a system with no user yet may lack:
# empty, they are what Debian's useradd starts from. Called under subuid_lock.
subuid_free_start()
{
	local f

	for f in /etc/subuid /etc/subgid; do
		[ -e "$f" ] || install -m 0644 /dev/null "$f"
	done
	awk -F: 'BEGIN { m = 1073741824 } NF == 3 && $2 + $3 > m { m = $2 + $3 }
		END { printf "%d\n", int((m + 65535) / 65536) * 65536 }' /etc/subuid /etc/subgid
}

# /etc/subuid is the host's: a test of another run (run.sh -j) may be choosing a range at the
# same time, and both took the same one for two customers. Held from subuid_free_start to the
# usermod that adds the range; on /etc, as usermod renames a new /etc/subuid over the old one.
subuid_lock()
{
	exec {SUBUID_LOCK}</etc
	flock -w 60 "$SUBUID_LOCK" || fail "another run held the /etc/subuid lock for 60 s"
}

subuid_unlock()
{
	exec {SUBUID_LOCK}<&-
}

# The ranges of this machine's /etc/subuid (root's are not loaded).
subuid_file_ranges()
{
	awk -F: 'NF == 3 && $1 != "root"' /etc/subuid | wc -l
}

# The daemon loaded them all: another run's may come and go meanwhile, so polled.
subuid_loaded_all()
{
	metric_is 'smtpguard_subuid_ranges{outcome="loaded"}' "$(subuid_file_ranges)"
}

# The prefixes in sg_subuids that map to UID.
subuid_prefixes_of() # UID
{
	map_dump sg_subuids | jq --argjson u "$1" '[.[] | select(.formatted.value == $u)] | length'
}

subuid_prefixes_are() # UID N
{
	[ "$(subuid_prefixes_of "$1")" = "$2" ]
}

# sg_connect ARGS as the bare UID (no passwd entry) in the test cgroup: root can be anyone.
connect_as_uid() # UID SG_CONNECT-ARGS...
{
	local uid=$1

	shift
	# shellcheck disable=SC2016 # expanded by the inner sh
	nl_in "$NS_HOST" sh -c 'echo $$ >"$0/cgroup.procs" && u=$1 && shift &&
		exec setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"' \
		"$CG" "$uid" "$CONNECT" "$@"
}

# A's range appears in /etc/subuid while the daemon runs (as useradd writes one); A then
# connects 4 times from each of 25 UIDs of a user namespace it maps with it (newuidmap):
# 20 get through, its one burst (the code before sub-UIDs let all 100 through). The range removed, a former sub-UID is itself again.
test_subuid_owner_burst()
{
	local uid start end out

	uid=$(id -u "$USER_A")
	subuid_lock
	start=$(subuid_free_start)
	end=$((start + 65535))
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg throttle "$USER_A" --rate 1/h --burst 20 --reason "one burst, no refill in the test"
	# Another run's useradd may hold the passwd locks for a moment: usermod then changes nothing.
	nl_wait_until 30 usermod --add-subuids "$start-$end" --add-subgids "$start-$end" "$USER_A" ||
		fail "usermod --add-subuids failed"
	subuid_unlock
	nl_wait_until 50 subuid_prefixes_are "$uid" 1 ||
		fail "the new range never reached the kernel: $(tail -n 3 "$T/daemon.log")"

	# shellcheck disable=SC2016 # expanded by the inner sh
	out=$(as_user "$USER_A" unshare --user --map-auto --setuid 0 --setgid 0 sh -c '
		for i in $(seq 1 25); do
			setpriv --reuid=$i --regid=$i --clear-groups -- "$0" -n 4 "$1" 25 || exit 1
		done' "$CONNECT" "$NET4") || fail "the user namespace failed: $out"
	expect_eq "connects from 25 sub-UIDs" "ok=20 eperm=80 other=0" "$(awk -F'[= ]' '
		{ ok += $2; eperm += $4; other += $6 }
		END { printf "ok=%d eperm=%d other=%d", ok, eperm, other }' <<<"$out")"
	expect_eq "sink accepted" 20 "$(accepts "$SINK_LOG" 25)"
	expect_top "$USER_A" 100/20/80/20
	expect_eq "sub-UID rows in top" 0 "$(sg top --json | jq --argjson s "$start" \
		'[.[] | select(.uid >= $s and .uid < $s + 65536)] | length')"
	nl_wait_until 30 grep -q "uid $uid ($USER_A) as sub-UID $((start + 1)) " "$T/daemon.log" ||
		fail "no attribution naming the sub-UID: $(grep "$USER_A" "$T/daemon.log" | tail -n 2)"
	nl_wait_until 30 subuid_loaded_all || fail "ranges loaded: $(metric \
		'smtpguard_subuid_ranges{outcome="loaded"}'), in /etc/subuid: $(subuid_file_ranges)"

	nl_wait_until 30 usermod --del-subuids "$start-$end" --del-subgids "$start-$end" "$USER_A" ||
		fail "usermod --del-subuids failed"
	nl_wait_until 50 subuid_prefixes_are "$uid" 0 || fail "the range stayed in the kernel"
	expect_eq "a former sub-UID" "ok=1 eperm=0 other=0" "$(connect_as_uid $((start + 1)) \
		-n 1 "$NET4" 25)"
	expect_eq "its own row" 1/1/0 "$(sg top --json | jq -r --argjson u $((start + 1)) \
		'.[] | select(.uid == $u) | "\(.attempts)/\(.allowed)/\(.denied)"')"
	expect_top "$USER_A" 100/20/80/20
}

# Every bucket taken (a flood of fresh UIDs did it before sub-UIDs were their owner's): a
# throttled user is refused outright. status and top say so first, and /metrics has the
# counts the shipped alert SmtpguardFailClosed watches.
test_subuid_fail_closed_shown()
{
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg throttle "$USER_B" --rate 10/min --reason "fail-closed test"
	"$FILL" --buckets || fail "sg_fill --buckets failed"
	expect_connects "$USER_B" "ok=0 eperm=3 other=0" -n 3 "$NET4" 25
	expect_eq "status" "FAIL CLOSED: 3 connect()s refused for want of room for a token bucket (denied_no_bucket)
FULL: sg_buckets 65536 of 65536: a throttled user with no bucket yet is refused every connect()" \
		"$(sg status | sed -n '1,2p')"
	expect_eq "status --json" '{"denied_no_bucket":3,"full_maps":["sg_buckets"]}' \
		"$(sg status --json | jq -c .fail_closed)"
	expect_eq "top" "FAIL CLOSED: 3 connect()s refused for want of room for a token bucket (denied_no_bucket)" \
		"$(sg top | sed -n 1p)"
	expect_metric 'smtpguard_connect_denied_total{reason="no_bucket"}' 3
	expect_metric 'smtpguard_map_entries{map="sg_buckets"}' 65536
	expect_metric 'smtpguard_map_capacity{map="sg_buckets"}' 65536
}

# The kernel's map cannot be written (its pin replaced by a frozen map of
# its shape, which the daemon takes up as a new attach's; one of another
# type an attach refuses, and the repair with it): the daemon says so once
# and tries again only after 10 s, not every second as before; the right map
# pinned again (renamed over the other, so that the pin is never missing), the
# daemon's repair tries at once, and its line says how many writes failed.
test_subuid_write_backoff()
{
	local id

	write_config "$T/smtpguard.conf" "[daemon]" "subuid = $T/subuid"
	start_daemon "$T/smtpguard.conf"
	id=$(bpftool -j map show pinned "$PIN/sg_subuids" | jq .id)
	# A map of sg_subuids' own shape (an attach takes it up), frozen: user space cannot write it.
	bpftool map create "$PIN/sg_subuids_new" type lpm_trie key 8 value 4 entries 262144 \
		name sgt_frozen flags 1
	bpftool map freeze pinned "$PIN/sg_subuids_new"
	mv -f "$PIN/sg_subuids_new" "$PIN/sg_subuids"
	nl_wait_until 30 grep -q "sg_subuids replaced: repaired" "$T/daemon.log" ||
		fail "the other map not taken up: $(tail -n 3 "$T/daemon.log")"
	echo "$USER_A:300000:16" >"$T/subuid"
	nl_wait_until 30 grep -q "sub-UIDs: writing sg_subuids: " "$T/daemon.log" ||
		fail "no write error: $(tail -n 3 "$T/daemon.log")"
	# Three ticks, inside the 10 s the next try waits.
	sleep 3
	expect_eq "write errors" 1 "$(grep -c "sub-UIDs: writing sg_subuids: " "$T/daemon.log")"
	bpftool map pin id "$id" "$PIN/sg_subuids_new"
	mv -f "$PIN/sg_subuids_new" "$PIN/sg_subuids"
	nl_wait_until 30 grep -q "sub-UIDs: sg_subuids written, after 1 failed write$" \
		"$T/daemon.log" || fail "no recovery line: $(tail -n 3 "$T/daemon.log")"
}

# The previous build (make previous) attached, with no sg_subuid_bits, its
# sg_subuids holding one user's range (sg_fill --subuids 1: 100000 to
# 165535, owned by UID 1000) and no daemon running: this build's attach
# marks the range's blocks, 1 and 2 (bits 1 << 1 and 1 << 2 of word 0), and
# a sub-UID's connect is its owner's at once.
test_subuid_bits_upgrade()
{
	upg_attach_previous
	[ ! -e "$PIN/sg_subuid_bits" ] || fail "the previous build pinned sg_subuid_bits"
	"$FILL" --subuids 1 || fail "sg_fill --subuids 1 failed"
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/upgrade.out"
	grep -qxF "replaced the connect programs with this build's where they run" \
		"$T/upgrade.out" || fail "the connect programs were not replaced: $(cat "$T/upgrade.out")"
	expect_eq "sg_subuid_bits' words other than 0" "0=6" "$(map_dump sg_subuid_bits |
		jq -r '[.[].formatted | select(.value != 0) | "\(.key)=\(.value)"] | join(" ")')"
	expect_eq "a sub-UID" "ok=1 eperm=0 other=0" "$(connect_as_uid 100001 -n 1 "$NET4" 25)"
	expect_eq "its owner's row" 1/1/0 "$(sg top --json | jq -r --argjson u 1000 \
		'.[] | select(.uid == $u) | "\(.attempts)/\(.allowed)/\(.denied)"')"
	expect_eq "rows of the sub-UID" 0 "$(sg top --json | jq '[.[] | select(.uid == 100001)] | length')"
}
