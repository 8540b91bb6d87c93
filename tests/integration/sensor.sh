# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The kernel sensor through the CLI alone: counting, policies, pins, detach.
# Sourced by run.sh.

TESTS+=(counting status reattach cgroup_removed throttle block_release survives_kill ipv6_fastopen no_socket xdp_ban ban_own_networks bad_input
	detach detach_elsewhere detach_keeps_others)

# "established/refused/timed_out/bytes_sent" of USER in sg_conn_stats (sock_ops), or "absent".
conn_stats() # USER
{
	map_dump sg_conn_stats | jq -r --argjson uid "$(id -u "$1")" '
		[.[] | .formatted | select(.key == $uid) | .values[].value]
		| if length == 0 then "absent" else
		  [(map(.established) | add), (map(.refused) | add), (map(.timed_out) | add),
		   (map(.bytes_sent) | add)] | map(tostring) | join("/") end'
}

# Per-UID and per-destination counts of the connect hooks and TC egress.
test_counting()
{
	expect_connects "$USER_A" "ok=7 eperm=0 other=0" -n 7 "$NET4" 25
	expect_connects "$USER_B" "ok=3 eperm=0 other=0" -n 3 "$NET4" 587

	expect_top "$USER_A" "7/7/0/7"
	expect_top "$USER_B" "3/3/0/3"
	expect_eq "sink accepts" 10 "$(accepts "$SINK_LOG")"
	expect_eq "sink accepts on :25" 7 "$(accepts "$SINK_LOG" 25)"

	expect_eq "sg_flows A :25 attempts" 7 "$(flow_field sg_flows "$USER_A" 25 "$NET4" attempts)"
	expect_eq "sg_flows A :25 denied" 0 "$(flow_field sg_flows "$USER_A" 25 "$NET4" denied)"
	expect_eq "sg_flows B :587 attempts" 3 "$(flow_field sg_flows "$USER_B" 587 "$NET4" attempts)"
	expect_eq "sg_flows B :25" absent "$(flow_field sg_flows "$USER_B" 25 "$NET4" attempts)"
	expect_eq "sg_egress A :25 syns" 7 "$(flow_field sg_egress "$USER_A" 25 "$NET4" syns)"
	expect_eq "sg_egress B :587 syns" 3 "$(flow_field sg_egress "$USER_B" 587 "$NET4" syns)"

	# Every session sent "QUIT\r\n": 6 bytes each, counted once its connection is closed.
	nl_wait_until 30 test "$(conn_stats "$USER_A")" = 7/0/0/42 || true
	expect_eq "sg_conn_stats A" 7/0/0/42 "$(conn_stats "$USER_A")"
	nl_wait_until 30 test "$(conn_stats "$USER_B")" = 3/0/0/18 || true
	expect_eq "sg_conn_stats B" 3/0/0/18 "$(conn_stats "$USER_B")"
}

# What status reports is what is really attached and counted.
test_status()
{
	local st want

	expect_connects "$USER_A" "ok=2 eperm=0 other=0" -n 2 "$NET4" 25
	sg throttle "$USER_B" --rate 5/min
	st=$(sg status --json)
	want="connect4 true $(stat -c %i "$CG")|connect6 true $(stat -c %i "$CG")"
	want+="|sockops true $(stat -c %i "$CG")"
	expect_eq "cgroup hooks" "$want" \
		"$(jq -r '[.cgroup_hooks[] | "\(.program) \(.attached) \(.cgroup_id)"] | join("|")' <<<"$st")"
	# veth has native XDP.
	expect_eq "interfaces" "$VETH_HOST true native" \
		"$(jq -r '.interfaces[] | "\(.interface) \(.tc_egress) \(.xdp)"' <<<"$st")"
	expect_eq "policies" "observe 1 0" \
		"$(jq -r '.policies | "\(.default.mode) \(.throttle) \(.block)"' <<<"$st")"
	expect_eq "port 25" "true true 2 2" \
		"$(jq -r '.ports[] | select(.port == 25) | "\(.outbound) \(.inbound) \(.connects) \(.out_syns)"' <<<"$st")"
	expect_eq "port 110" "false true 0" \
		"$(jq -r '.ports[] | select(.port == 110) | "\(.outbound) \(.inbound) \(.connects)"' <<<"$st")"
	expect_eq "map fill" "sg_uid_stats 1 65536|sg_policies 1 65536" \
		"$(jq -r '[.maps[] | select(.map == "sg_uid_stats" or .map == "sg_policies") | "\(.map) \(.entries) \(.capacity)"] | sort | reverse | join("|")' <<<"$st")"
	expect_eq "errors" 0 "$(jq '[.errors[]] | add' <<<"$st")"
	sg status | grep -q "^  $VETH_HOST *tc egress: yes  xdp: native$" ||
		fail "status text does not show $VETH_HOST with native XDP"
}

# The id of a pinned program, as the kernel knows it.
prog_id() # PIN-NAME
{
	bpftool -j prog show pinned "$PIN/$1" | jq .id
}

# Every program's id, on one line.
prog_ids()
{
	local p ids=()

	for p in prog_connect4 prog_connect6 prog_sockops prog_egress prog_ingress; do
		ids+=("$(prog_id "$p")")
	done
	echo "${ids[*]}"
}

# Attaching again keeps the programs, hooks and counters: one copy counts each connect once.
test_reattach()
{
	local before

	expect_connects "$USER_A" "ok=3 eperm=0 other=0" -n 3 "$NET4" 25
	before="$(prog_ids) $(attachments)"

	sg attach --cgroup "$CG" -i "$VETH_HOST"
	# Without --cgroup, the hooks stay where they are.
	sg attach -i "$VETH_HOST"
	expect_eq "programs and hooks after attaching again" "$before" "$(prog_ids) $(attachments)"
	expect_refused "already attached to cgroup" sg attach --cgroup "$(nl_cgroup2_root)"
	expect_eq "programs and hooks after a refused attach" "$before" "$(prog_ids) $(attachments)"
	expect_top "$USER_A" "3/3/0/3"
	expect_connects "$USER_A" "ok=2 eperm=0 other=0" -n 2 "$NET4" 25
	expect_top "$USER_A" "5/5/0/5"
}

# The hooks' cgroup goes away: status says so, and attaching to a new one
# keeps every counter, policy and token.
test_cgroup_removed()
{
	local id

	sg throttle "$USER_A" --rate 1/min --burst 2
	expect_connects "$USER_A" "ok=2 eperm=1 other=0" -n 3 "$NET4" 25
	# A new cgroup at the same path has a new id: the old links are dead.
	rmdir "$CG"
	mkdir "$CG"
	expect_eq "hooks after rmdir" "false false false" \
		"$(sg status --json | jq -r '[.cgroup_hooks[].attached] | join(" ")')"

	sg attach --cgroup "$CG"
	id=$(stat -c %i "$CG")
	expect_eq "hooks on the new cgroup" "true $id true $id true $id" \
		"$(sg status --json | jq -r '[.cgroup_hooks[] | "\(.attached) \(.cgroup_id)"] | join(" ")')"
	expect_connects "$USER_A" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25
	expect_top "$USER_A" "5/2/3/2"
}

# A fresh throttle grants its burst, then refuses until the rate refills.
test_throttle()
{
	sg throttle "$USER_A" --rate 1/min --burst 5
	expect_connects "$USER_A" "ok=5 eperm=15 other=0" -n 20 "$NET4" 25
	expect_top "$USER_A" "20/5/15/5"
	expect_eq "sink accepts" 5 "$(accepts "$SINK_LOG")"
	expect_eq "sg_flows A :25 denied" 15 "$(flow_field sg_flows "$USER_A" 25 "$NET4" denied)"
}

# USER's bit in sg_policy_bits (its UID modulo 2^20, smtpguard.h): 1 or 0.
policy_bit() # USER
{
	local bit word byte

	bit=$(($(id -u "$1") & 0xfffff))
	word=$((bit / 64))
	byte=$(bpftool -j map lookup pinned "$PIN/sg_policy_bits" \
		key $((word & 0xff)) $((word >> 8)) 0 0 | jq -r ".value[$((bit % 64 / 8))]")
	echo $((byte >> (bit % 8) & 1))
}

# The CLI's writes set the user's bit before its policy; a release with no grace clears it.
test_block_release()
{
	expect_eq "$USER_B's policy bit before the block" 0 "$(policy_bit "$USER_B")"
	sg block "$USER_B"
	expect_eq "$USER_B's policy bit after the block" 1 "$(policy_bit "$USER_B")"
	expect_connects "$USER_B" "ok=0 eperm=4 other=0" -n 4 "$NET4" 587
	sg release "$USER_B"
	# Released for the grace period: an observe policy of its own, its bit kept.
	expect_eq "$USER_B's policy bit after the release" 1 "$(policy_bit "$USER_B")"
	expect_connects "$USER_B" "ok=4 eperm=0 other=0" -n 4 "$NET4" 587
	expect_top "$USER_B" "8/4/4/4"
	expect_eq "sink accepts" 4 "$(accepts "$SINK_LOG")"

	printf '[detect]\nrelease_grace = 0\n' >>"$SMTPGUARD_CONFIG"
	sg throttle "$USER_A" --rate 1/min --burst 1
	sg release "$USER_A"
	expect_eq "$USER_A's policy bit after a release with no grace" 0 "$(policy_bit "$USER_A")"
	expect_eq "$USER_B's policy bit meanwhile" 1 "$(policy_bit "$USER_B")"
}

# Pids of smtpguard processes working on this run's pin directory, of any parentage.
our_sg_pids()
{
	local p exe

	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "${exe% (deleted)}" = "$SG_BIN" ] || continue
		if tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "SMTPGUARD_PIN_DIR=$PIN"; then
			echo "${p#/proc/}"
		fi
	done
}

# Enforcement lives in the kernel: no smtpguard process is needed to keep it.
test_survives_kill()
{
	local holder

	sg block "$USER_A"
	expect_connects "$USER_A" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25

	spawn_in "$NS_HOST" "$SG_BIN" top --watch 1 >"$T/top.log"
	holder=$(tail -n 1 "$T/pids")
	# Time to open the maps it holds; a command that returns at once fails the check.
	sleep 0.5
	kill -0 "$holder" 2>/dev/null || fail "'smtpguard top --watch 1' did not keep running"
	kill -KILL "$holder"
	# shellcheck disable=SC2016 # expanded by eval, at every poll
	nl_wait_until 20 eval '[ -z "$(our_sg_pids)" ]' ||
		fail "smtpguard processes left after kill -9 of the holder: $(our_sg_pids | xargs)"

	expect_connects "$USER_A" "ok=0 eperm=3 other=0" -n 3 "$NET4" 25
	expect_top "$USER_A" "5/0/5/0"
}

# Fast Open connects in the SYN, by sendto(); the connect hooks must see it too.
check_fastopen()
{
	local got

	expect_connects "$USER_B" "ok=3 eperm=0 other=0" --fastopen -n 3 "$NET4" 25
	# The first connect fetches the cookie, the other two carry data in the SYN.
	expect_eq "TcpExtTCPFastOpenActive" 2 \
		"$(nl_in "$NS_HOST" nstat -asz TcpExtTCPFastOpenActive | awk '/^TcpExt/ { print $2 }')"
	expect_top "$USER_B" "3/3/0/3"

	sg block "$USER_B"
	got=$(connect_as "$USER_B" --fastopen -n 2 "$NET4" 25)
	[ "$got" = "ok=0 eperm=2 other=0" ] ||
		fail "sendto(MSG_FASTOPEN) of blocked B: expected 'ok=0 eperm=2 other=0', got '$got':" \
			"the connect hook does not police Fast Open"
	expect_top "$USER_B" "5/3/2/3"
}

test_ipv6_fastopen()
{
	expect_connects "$USER_A" "ok=4 eperm=0 other=0" -n 4 "$NET6" 25
	expect_eq "sg_flows A [$NET6]:25" 4 "$(flow_field sg_flows "$USER_A" 25 "$NET6" attempts)"

	# Plain IPv4 and v4-mapped IPv6 are one destination: one flow entry.
	expect_connects "$USER_A" "ok=2 eperm=0 other=0" -n 2 "$NET4" 25
	expect_connects "$USER_A" "ok=3 eperm=0 other=0" -n 3 "::ffff:$NET4" 25
	expect_eq "sg_flows A $NET4:25 (plain and mapped)" 5 \
		"$(flow_field sg_flows "$USER_A" 25 "$NET4" attempts)"
	expect_eq "sg_flows entries of A on :25" 2 \
		"$(map_dump sg_flows | jq --argjson uid "$(id -u "$USER_A")" \
			'[.[].formatted.key | select(.uid == $uid and .port == 25)] | length')"

	expect_connects "$USER_A" "ok=2 eperm=0 other=0" -n 2 "$NET4" 465
	expect_eq "sg_flows A $NET4:465" 2 "$(flow_field sg_flows "$USER_A" 465 "$NET4" attempts)"
	expect_top "$USER_A" "11/11/0/11"
	expect_eq "sink accepts on :465" 2 "$(accepts "$SINK_LOG" 465)"

	check_fastopen
}

# Routed traffic has no local socket: TC egress files it under the overflow UID,
# flagged, and top shows it as "(no socket)", never as a user.
test_no_socket()
{
	local ns=sgt-$ID-fwd veth=sg${ID}f key overflow

	nl_netns "$T" "$ns"
	nl_veth "$NS_HOST" "$veth" "$ns" "${veth}p"
	nl_addrs "$NS_HOST" "$veth" 203.0.113.1/24
	nl_addrs "$ns" "${veth}p" 203.0.113.2/24
	ip -n "$ns" route add default via 203.0.113.1
	ip -n "$NS_NET" route add 203.0.113.0/24 via "$HOST4"
	nl_in "$NS_HOST" sysctl -qw net.ipv4.ip_forward=1
	nl_carrier "$ns" "${veth}p" || fail "${veth}p never came up"

	expect_eq "routed connects" "ok=4 eperm=0 other=0" \
		"$(nl_in "$ns" "$CONNECT" -n 4 "$NET4" 25)"
	overflow=$(cat /proc/sys/kernel/overflowuid)
	key=$(jq -nc --argjson uid "$overflow" --argjson a "$(addr_words "$NET4")" \
		'{uid: $uid, port: 25, flags: 1, addr: $a}')
	expect_eq "sg_egress overflow uid, no socket, syns" 4 "$(map_field sg_egress "$key" syns)"
	expect_eq "top --json no-socket row" "$overflow null true 0 4" \
		"$(sg top --json | jq -r '.[] | select(.no_socket) | "\(.uid) \(.user) \(.no_socket) \(.attempts) \(.egress_syns)"')"
	sg top | grep -q "^ *$overflow (no socket) " || fail "top does not show the (no socket) row"
	expect_eq "sink accepts" 4 "$(accepts "$SINK_LOG")"
}

# XDP counts SYNs per source to local mail ports, and drops banned sources.
test_xdp_ban()
{
	local log=$T/host-sink.log src ban

	start_sink "$NS_HOST" "$log" "$HOST4:587"
	src=$(jq -nc --argjson a "$(addr_words "$NET4")" '{addr: $a}')
	ban=$(jq -nc --argjson a "$(addr_words "$NET4")" '{prefixlen: 128, addr: $a}')

	expect_eq "3 connects from $NET4" "ok=3 eperm=0 other=0" \
		"$(nl_in "$NS_NET" "$CONNECT" -n 3 "$HOST4" 587)"
	expect_eq "sg_sources $NET4 syns" 3 "$(map_field sg_sources "$src" syns)"

	sg ban "$NET4/32"
	# 500 ms is before the first SYN retransmission: exactly one SYN to drop.
	expect_eq "connect while banned" "ok=0 eperm=0 other=1" \
		"$(nl_in "$NS_NET" "$CONNECT" --timeout-ms 500 "$HOST4" 587)"
	expect_eq "sg_bans $NET4/32 drops" 1 "$(map_field sg_bans "$ban" drops)"

	sg unban "$NET4/32"
	expect_eq "connects after unban" "ok=2 eperm=0 other=0" \
		"$(nl_in "$NS_NET" "$CONNECT" -n 2 "$HOST4" 587)"
	expect_eq "sg_bans $NET4/32 after unban" absent "$(map_field sg_bans "$ban" drops)"
	expect_eq "sg_sources $NET4 syns after unban" 5 "$(map_field sg_sources "$src" syns)"
	expect_eq "host sink accepts" 5 "$(accepts "$log")"
}

# A ban that covers the operator's own networks needs --force: without it
# nothing is put, and TCP into the host still works.
test_ban_own_networks()
{
	local log=$T/host-sink.log cidr

	start_sink "$NS_HOST" "$log" "$HOST4:587"
	ip -n "$NS_HOST" route add default via "$NET4"
	expect_refused "not banning 0\.0\.0\.0/0: it covers every IPv4 address \(::ffff:0:0/96\), and would cut this host off from it \(--force bans it all the same\)$" \
		sg ban 0.0.0.0/0
	for cidr in ::/0 ::ffff:0:0/96; do
		expect_refused "it covers every IPv4 address .*--force" sg ban "$cidr"
	done
	expect_refused "not banning 127\.0\.0\.1/32: it covers loopback 127\.0\.0\.0/8" sg ban 127.0.0.1
	expect_refused "not banning ::1/128: it covers loopback ::1/128" sg ban ::1
	expect_refused "it covers the default route's gateway $NET4" sg ban "$NET4" --for 1h
	expect_refused "it covers this host's address $HOST4" sg ban 198.51.100.0/24
	expect_refused "it covers this host's address $HOST6" sg ban 2001:db8::/32
	printf '[audit]\nsyslog = no\n[bruteforce]\nallow = 192.0.2.0/24\n' >"$SMTPGUARD_CONFIG"
	expect_refused "it covers \[bruteforce\] allow 192\.0\.2\.0/24" sg ban 192.0.2.7
	expect_eq "bans after refused ones" 0 "$(map_dump sg_bans | jq length)"
	expect_eq "audit lines after refused bans" 0 "$(cat "$T/audit.log" 2>/dev/null | wc -l)"
	expect_eq "TCP into the host" "ok=1 eperm=0 other=0" \
		"$(nl_in "$NS_NET" "$CONNECT" "$HOST4" 587)"

	# A stranger's network is banned as before; --force bans what is refused, and it bites.
	sg ban 8.8.8.0/24 >/dev/null
	sg ban 0.0.0.0/0 --force >/dev/null
	expect_eq "TCP into the host under a forced 0.0.0.0/0" "ok=0 eperm=0 other=1" \
		"$(nl_in "$NS_NET" "$CONNECT" --timeout-ms 500 "$HOST4" 587)"
	expect_eq "forced ban audited" '"every IPv4 address (::ffff:0:0/96)"' \
		"$(jq -c 'select(.target == "0.0.0.0/0") | .params.forced' "$T/audit.log")"
	sg unban 0.0.0.0/0 >/dev/null
	expect_eq "TCP into the host after unban" "ok=1 eperm=0 other=0" \
		"$(nl_in "$NS_NET" "$CONNECT" "$HOST4" 587)"
	expect_eq "bans left: 8.8.8.0/24's" 1 "$(map_dump sg_bans | jq length)"
}

# Policies and bans, the state bad commands must leave alone.
policy_state()
{
	map_dump sg_policies
	map_dump sg_bans
}

test_bad_input()
{
	local before empty=$BPFFS/empty cmd

	sg throttle "$USER_B" --rate 10/min
	before=$(policy_state)

	expect_refused root as_user "$USER_A" "$SG_BIN" throttle "$USER_B" --rate 5/min
	expect_refused '' sg throttle "sgt${ID}nosuch" --rate 5/min
	expect_refused '' sg throttle "$USER_A" --rate 5/fortnight
	expect_refused '' sg throttle "$USER_A" --rate 5/min --for 3x
	expect_refused '' sg block "$USER_A" --for 3x
	# A duration names its unit, each once, largest first.
	expect_refused "needs its unit" sg block "$USER_A" --for 5
	expect_refused "each unit once" sg block "$USER_A" --for 1h1h
	expect_refused "each unit once" sg throttle "$USER_A" --rate 5/min --for 30m1h
	# Root's own mail is cut only on purpose.
	expect_refused "is root.*--force" sg block root
	expect_refused "is root.*--force" sg block 0 --for 1h
	expect_refused "is root.*--force" sg throttle 0 --rate 5/min
	expect_refused '' sg ban 300.1.2.3/24
	expect_refused '' sg ban 10.0.0.1/33
	expect_eq "policies and bans after refused commands" "$before" "$(policy_state)"

	# Nothing attached: every command but attach refuses, and creates nothing.
	mkdir "$empty"
	for cmd in status "top --json" "throttle $USER_A --rate 5/min" "block $USER_A" \
		"release $USER_A" "ban 198.51.100.9/32" "unban 198.51.100.9/32" detach; do
		# shellcheck disable=SC2086 # cmd is a list of words
		SMTPGUARD_PIN_DIR=$empty expect_refused '' sg $cmd
	done
	expect_eq "empty pin dir afterwards" "" "$(ls -A "$empty")"
	expect_eq "policies and bans after commands on an empty pin dir" "$before" "$(policy_state)"

	expect_eq "root blocked with --force" "blocked root (uid 0) for 1m, 0 open connections cut" \
		"$(sg block 0 --for 1m --force)"
	expect_eq "root's policy" 2 \
		"$(map_dump sg_policies | jq '.[] | select(.formatted.key == 0) | .formatted.value.mode')"
}

# What attach puts on the test cgroup, on $VETH_HOST and in the bpffs, as one line.
attachments()
{
	local progs filters clsact xdp pins=no

	progs=$(bpftool -j cgroup show "$CG" | jq -s '.[0] // [] | length')
	# Without the clsact qdisc, tc fails to find the hook: no filters either.
	filters=$(nl_in "$NS_HOST" tc filter show dev "$VETH_HOST" egress 2>/dev/null |
		grep -c ' handle ' || true)
	clsact=$(nl_in "$NS_HOST" tc qdisc show dev "$VETH_HOST" | grep -c clsact || true)
	xdp=$(ip -n "$NS_HOST" link show dev "$VETH_HOST" | grep -c 'prog/xdp' || true)
	[ ! -e "$PIN" ] || pins=yes
	echo "cgroup_progs=$progs tc_filters=$filters clsact=$clsact xdp=$xdp pin_dir=$pins"
}

test_detach()
{
	local cgid

	expect_eq "attached before detach" \
		"cgroup_progs=3 tc_filters=1 clsact=1 xdp=1 pin_dir=yes" "$(attachments)"
	sg block "$USER_A"
	expect_connects "$USER_A" "ok=0 eperm=1 other=0" "$NET4" 25

	sg detach
	expect_eq "after detach" \
		"cgroup_progs=0 tc_filters=0 clsact=0 xdp=0 pin_dir=no" "$(attachments)"
	cgid=$(stat -c %i "$CG")
	expect_eq "bpf links on the test cgroup" 0 \
		"$(bpftool -j link show | jq --argjson id "$cgid" '[.[] | select(.cgroup_id == $id)] | length')"
	expect_connects "$USER_A" "ok=1 eperm=0 other=0" "$NET4" 25
}

# Another tool's filter: an empty program that tc loads itself, at its own priority and handle.
add_foreign_filter() # NS DEV
{
	nl_in "$1" tc qdisc add dev "$2" clsact 2>/dev/null || true
	# TC_BPF_MNT: tc's loader works in our private bpffs, not in /sys/fs/bpf.
	TC_BPF_MNT=$BPFFS nl_in "$1" tc filter add dev "$2" egress prio 5 handle 7 \
		bpf obj "$ROOT/build/empty.bpf.o" sec tc direct-action
}

foreign_filters() # NS DEV
{
	nl_in "$1" tc filter show dev "$2" egress | grep -c ' handle 0x7 ' || true
}

# detach reaches the interfaces in their own namespace, from another one, and
# leaves alone the interface there that has the same ifindex.
test_detach_elsewhere()
{
	local idx decoy

	idx=$(ip -n "$NS_HOST" -j link show dev "$VETH_HOST" | jq '.[0].ifindex')
	decoy=$(ip -n "$NS_NET" -j link show | jq -r --argjson i "$idx" '.[] | select(.ifindex == $i) | .ifname')
	if [ -z "$decoy" ]; then
		decoy=sg${ID}d
		ip -n "$NS_NET" link add "$decoy" index "$idx" type veth peer name "${decoy}p"
	fi
	add_foreign_filter "$NS_NET" "$decoy"

	nl_in "$NS_NET" "$SG_BIN" detach
	expect_eq "after detach from $NS_NET" \
		"cgroup_progs=0 tc_filters=0 clsact=0 xdp=0 pin_dir=no" "$(attachments)"
	expect_eq "the other filter on $decoy, ifindex $idx in $NS_NET" 1 \
		"$(foreign_filters "$NS_NET" "$decoy")"
}

# A clsact smtpguard created but another tool has since used stays, with that tool's filter.
test_detach_keeps_others()
{
	add_foreign_filter "$NS_HOST" "$VETH_HOST"
	sg detach
	expect_eq "our filter" 0 \
		"$(nl_in "$NS_HOST" tc filter show dev "$VETH_HOST" egress | grep -c ' handle 0x5347 ' || true)"
	expect_eq "their filter" 1 "$(foreign_filters "$NS_HOST" "$VETH_HOST")"
	expect_eq "pin dir" absent "$([ -e "$PIN" ] && echo present || echo absent)"
}

