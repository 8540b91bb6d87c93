# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# sg_local_stash across an upgrade from its layout 1 (each slot under a
# bpf_spin_lock, with the connect()'s time) to 2 (claimed by
# compare-and-swap, no time). Sourced by run.sh.
#
#   local_stash_upgrade  a slot held by a handshake in the old map: attach
#                        makes the new map with every slot free (one freed
#                        in the old map after a copy would be held for
#                        good); a second attach converts nothing; the old
#                        shape recorded as layout 2 is refused, nothing
#                        changed

TESTS+=(local_stash_upgrade)

LS_SLOTS=1024
LS_SLOT=517

# The pinned sg_local_stash replaced by one of layout 1's shape, recorded as
# VERSION, its slot LS_SLOT held: lock, pid 4242, cookie (under 2^53, exact in
# jq), at_ns, "sglc-old".
ls_pin_layout1() # VERSION
{
	rm "$PIN/sg_local_stash"
	bpftool map create "$PIN/sg_local_stash" type array key 4 value 40 entries "$LS_SLOTS" \
		name sg_local_stash
	# shellcheck disable=SC2046 # one word a byte
	bpftool map update pinned "$PIN/sg_local_stash" key $(le_hex 4 "$LS_SLOT") value hex \
		$(le_hex 4 0) $(le_hex 4 4242) $(le_hex 8 0x11223344556677) $(le_hex 8 99) \
		$(printf 'sglc-old' | od -An -tx1) 00 00 00 00 00 00 00 00
	upg_layout_put sg_local_stash "$1"
}

# "entries value-bytes" of the pinned sg_local_stash.
ls_shape()
{
	bpftool -j map show pinned "$PIN/sg_local_stash" | jq -r '"\(.max_entries) \(.bytes_value)"'
}

# "cookie pid comm" of slot LS_SLOT, and the count of slots held.
ls_slots()
{
	map_dump sg_local_stash | jq -r --argjson k "$LS_SLOT" '[.[].formatted] |
		(.[] | select(.key == $k) | .value | "\(.cookie) \(.pid) \(.comm)"),
		"held: \([.[] | select(.value.cookie != 0)] | length)"' | xargs
}

test_local_stash_upgrade()
{
	expect_eq "sg_local_stash of this build" "$LS_SLOTS 32" "$(ls_shape)"
	ls_pin_layout1 1
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/upgrade.out"
	grep -qxF "converted sg_local_stash from layout 1 to 2: 0 entries" "$T/upgrade.out" ||
		fail "the attach did not convert sg_local_stash: $(cat "$T/upgrade.out")"
	expect_eq "sg_local_stash after the upgrade" "$LS_SLOTS 32" "$(ls_shape)"
	expect_eq "the held slot, freed" "0 0 held: 0" "$(ls_slots)"
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/again.out"
	grep -q "converted" "$T/again.out" && fail "converted again: $(cat "$T/again.out")"

	# The old shape recorded as this build's layout: refused.
	ls_pin_layout1 2
	upg_expect_refused "the pinned sg_local_stash has 40-byte values, not 32 as its layout 2 has"
}
