# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# sg_ban_bits across an upgrade from its layout 1 (an array of 278,529
# one-word values, as builds before the ingress object's global data pinned
# it) to 2 (the object's .bss: one value of 278,529 words). Sourced by run.sh.
#
#   ban_bits_upgrade  the old map, with a ban of the sink's address in force:
#                     attach converts it, the new map is the one XDP reads,
#                     and the sink's SYNs are dropped and counted as before;
#                     the old shape recorded as layout 2 is refused, nothing
#                     changed

TESTS+=(ban_bits_upgrade)

BB_WORDS=278529

# The pinned sg_ban_bits replaced by an empty one of layout 1's shape, recorded as VERSION.
bb_pin_layout1() # VERSION
{
	rm "$PIN/sg_ban_bits"
	bpftool map create "$PIN/sg_ban_bits" type array key 4 value 8 entries "$BB_WORDS" \
		name sg_ban_bits flags 1024 # BPF_F_MMAPABLE
	upg_layout_put sg_ban_bits "$1"
}

# "entries value-bytes" of the pinned sg_ban_bits.
bb_shape()
{
	bpftool -j map show pinned "$PIN/sg_ban_bits" | jq -r '"\(.max_entries) \(.bytes_value)"'
}

# Of 3 connects from the sink's side to a closed port of the client
# namespace, those answered (refused): a SYN XDP drops goes unanswered.
bb_answered()
{
	# shellcheck disable=SC2016 # python's
	nl_in "$NS_NET" python3 -c '
import socket, sys
n = 0
for _ in range(3):
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect((sys.argv[1], 9))
    except ConnectionRefusedError:
        n += 1
    except OSError:
        pass
    s.close()
print(n)' "$HOST4"
}

# Drops counted for the ban of the sink's address.
bb_drops()
{
	sg bans --json | jq --arg p "$NET4/32" '.[] | select(.prefix == $p) | .drops'
}

test_ban_bits_upgrade()
{
	expect_eq "sg_ban_bits: one value of every word" "1 $((BB_WORDS * 8))" "$(bb_shape)"
	expect_eq "connects answered before the ban" 3 "$(bb_answered)"
	sg ban "$NET4" >/dev/null
	bb_pin_layout1 1
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/upgrade.out"
	grep -qxF "converted sg_ban_bits from layout 1 to 2: 0 entries" "$T/upgrade.out" ||
		fail "the attach did not convert sg_ban_bits: $(cat "$T/upgrade.out")"
	grep -qxF "replaced the ingress programs with this build's where they run" \
		"$T/upgrade.out" || fail "the ingress programs were not replaced: $(cat "$T/upgrade.out")"
	expect_eq "sg_ban_bits after the upgrade" "1 $((BB_WORDS * 8))" "$(bb_shape)"
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/again.out"
	grep -q "converted" "$T/again.out" && fail "converted again: $(cat "$T/again.out")"
	expect_eq "the ban, by XDP: connects answered" 0 "$(bb_answered)"
	expect_eq "drops of the ban" 3 "$(bb_drops)"

	# The old shape recorded as this build's layout: refused, the ban still in force.
	bb_pin_layout1 2
	upg_expect_refused "the pinned sg_ban_bits has 8-byte values, not $((BB_WORDS * 8)) as its layout 2 has"
	expect_eq "the ban, by the programs that ran before: connects answered" 0 "$(bb_answered)"
	expect_eq "drops of the ban" 6 "$(bb_drops)"
}
