# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's upgrade: the previous build (make previous: the commit
# before pinned maps carried layout versions) attached and enforcing, and
# this build's attach run over its pins in the middle of a flood. Sourced
# by run.sh.

TESTS+=(chaos_upgrade chaos_upgrade_refused chaos_upgrade_buckets chaos_upgrade_capacity
	chaos_upgrade_daemon)

UPG_PREVIOUS=$ROOT/build/previous/smtpguard
UPG_PROGS="prog_connect4 prog_connect6 prog_sockops prog_egress prog_ingress"

# The previous build's smtpguard, in the client namespace, on the test's pins.
sg_previous() # ARGS...
{
	nl_in "$NS_HOST" "$UPG_PREVIOUS" "$@"
}

# The test's hooks as the previous build attaches them, instead of this build's.
upg_attach_previous()
{
	[ -x "$UPG_PREVIOUS" ] || fail "$UPG_PREVIOUS missing: make previous"
	sg detach >/dev/null
	sg_previous attach --cgroup "$CG" -i "$VETH_HOST" >/dev/null
}

# The ids of the programs pinned, sorted, on one line.
upg_pinned()
{
	local p

	for p in $UPG_PROGS; do
		bpftool -j prog show pinned "$PIN/$p" | jq .id
	done | sort -n | xargs
}

# The ids of the programs that run on the cgroup, the TC filter and XDP, sorted, on one line.
upg_running()
{
	{
		bpftool -j cgroup show "$CG" | jq '.[].id'
		nl_in "$NS_HOST" tc -j filter show dev "$VETH_HOST" egress | jq '.[].options.prog.id // empty'
		ip -j -n "$NS_HOST" link show dev "$VETH_HOST" | jq '.[0].xdp.prog.id // empty'
	} | sort -n | xargs
}

# Every pin's inode (a pin replaced is a new one), the layouts recorded
# and what runs where: "unchanged" compares this.
upg_state()
{
	local f

	for f in "$PIN"/*; do
		echo -n "${f##*/}=$(stat -c %i "$f") "
	done
	echo "layouts: $(bpftool -j map dump pinned "$PIN/sg_layout" | jq -c 'sort_by(.key)')"
	echo "running: $(upg_running)"
}

# Records VERSION as NAME's layout in the pinned sg_layout, made as this build makes it if absent.
upg_layout_put() # NAME VERSION
{
	local -a key

	read -ra key <<<"$(printf '%-32s' "$1" | tr ' ' '\0' | od -An -tx1 | xargs)"
	[ -e "$PIN/sg_layout" ] ||
		bpftool map create "$PIN/sg_layout" type hash key 32 value 16 entries 64 name sg_layout
	bpftool map update pinned "$PIN/sg_layout" key hex "${key[@]}" \
		value hex "$(printf '%02x' "$2")" 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
}

# USER's SMTP flood: rounds of N connects, 10 ms apart, until a line
# arrives on its input, at most 3,000 rounds; each round's "ok= eperm=
# other=" line goes to OUT.
upg_flood() # USER N OUT
{
	# shellcheck disable=SC2016 # expanded by the user's shell
	as_user "$1" bash -c 'for ((i = 0; i < 3000; i++)); do
		read -r -t 0 && break
		"$0" -n "$1" --timeout-ms 2000 "$2" 25
		sleep 0.01
	done' "$CONNECT" "$2" "$NET4" >"$3"
}

# Sum of FIELD (ok, eperm, other) over a flood's lines.
upg_sum() # OUT FIELD
{
	grep -o "$2=[0-9]*" "$1" | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'
}

# "mode burst" of USER's policy in sg_policies.
upg_policy() # USER
{
	map_dump sg_policies | jq -r --argjson u "$(id -u "$1")" \
		'.[] | select(.formatted.key == $u) | "\(.formatted.value.mode) \(.formatted.value.burst)"'
}

upg_rounds_at_least() # OUT N
{
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# The previous build enforces a block (A), a throttle (B) and, from its
# daemon's config, a default throttle (C, never seen before); this build's
# attach upgrades it while the three flood. Not one connect escapes a
# policy, none goes uncounted, and the programs that run are this build's.
test_chaos_upgrade()
{
	local user_c=sgt${ID}c n after u stop start_ns end_ns ms made counted before running line
	local unpoliced
	local -A fd pid ok
	local -a users

	n=$(at_scale 10 50)
	after=$(at_scale 3 30)
	nl_user_add "$T" "$user_c" || fail "useradd $user_c failed"
	users=("$USER_A" "$USER_B" "$user_c")
	upg_attach_previous
	write_config "$T/previous.conf" "[policy]" "default = throttle" "rate = 1/h" "burst = 3"
	SG_BIN=$UPG_PREVIOUS start_daemon "$T/previous.conf"
	kill -TERM "$DAEMON_PID"
	nl_wait_until 100 nl_gone "$DAEMON_PID" || fail "the previous daemon did not stop"
	sg_previous block "$USER_A" >/dev/null
	sg_previous throttle "$USER_B" --rate 1/h --burst 5 >/dev/null
	before=$(upg_running)
	expect_eq "the previous build's programs run" "$(upg_pinned)" "$before"

	for u in "${users[@]}"; do
		mkfifo "$T/$u.stop"
		exec {stop}<>"$T/$u.stop"
		fd[$u]=$stop
	done
	for u in "$USER_A" "$USER_B"; do
		upg_flood "$u" "$n" "$T/$u.flood" <&"${fd[$u]}" &
		pid[$u]=$!
		nl_wait_until 100 upg_rounds_at_least "$T/$u.flood" 1 ||
			fail "$u's flood did not start"
	done
	# C's first connects and the upgrade, at once.
	upg_flood "$user_c" "$n" "$T/$user_c.flood" <&"${fd[$user_c]}" &
	pid[$user_c]=$!
	start_ns=$(date +%s%N)
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/upgrade.out"
	end_ns=$(date +%s%N)
	ms=$(((end_ns - start_ns) / 1000000))
	# The floods go on over the new programs for a while, then stop.
	for u in "${users[@]}"; do
		nl_wait_until 200 upg_rounds_at_least "$T/$u.flood" \
			$(($(wc -l <"$T/$u.flood") + after)) || fail "$u's flood stalled after the upgrade"
	done
	for u in "${users[@]}"; do
		stop=${fd[$u]}
		echo stop >&"$stop"
		wait "${pid[$u]}" || fail "$u's flood failed"
		exec {stop}>&-
	done

	# What got through, printed before it is judged.
	made=0
	for u in "${users[@]}"; do
		ok[$u]=$(upg_sum "$T/$u.flood" ok)
		made=$((made + $(wc -l <"$T/$u.flood") * n))
	done
	unpoliced=$((ok[$USER_A] + ok[$USER_B] - 5 + ok[$user_c] - 3))
	figure "upgrade under flood: $unpoliced unpoliced connects of $made made by a blocked," \
		"a throttled and a new user (let through: ${ok[$USER_A]}, ${ok[$USER_B]} for a burst" \
		"of 5, ${ok[$user_c]} for a default burst of 3); the upgrade took $ms ms"

	for line in "converted sg_settings from layout 1 to 2: 1 entry" \
		"converted sg_buckets from layout 1 to 2: 2 entries" \
		"replaced the connect programs with this build's where they run" \
		"replaced the egress programs with this build's where they run" \
		"replaced the ingress programs with this build's where they run" \
		"replaced the sockops programs with this build's where they run"; do
		grep -qxF "$line" "$T/upgrade.out" ||
			fail "the upgrade did not say '$line': $(cat "$T/upgrade.out")"
	done
	running=$(upg_running)
	expect_eq "this build's programs run" "$(upg_pinned)" "$running"
	[ "$running" != "$before" ] || fail "the programs that run are still the previous build's"
	expect_eq "sg_settings: layout, default mode/burst/rate" "2 1 3 1" \
		"$(map_dump sg_settings | jq -r '.[0].formatted.value |
			"\(.layout) \(.default_policy.mode) \(.default_policy.burst) \(.default_policy.rate_per_hour)"')"
	expect_eq "connects let through (A blocked, B burst 5, C default burst 3)" "0 5 3" \
		"${ok[$USER_A]} ${ok[$USER_B]} ${ok[$user_c]}"
	expect_eq "sink accepts" 8 "$(accepts "$SINK_LOG")"
	for u in "${users[@]}"; do
		expect_eq "$u's connects that failed otherwise" 0 "$(upg_sum "$T/$u.flood" other)"
		counted=$(top_counts "$u")
		expect_eq "$u's attempts counted: attempts/allowed/denied" \
			"$(($(wc -l <"$T/$u.flood") * n))/${ok[$u]}/$(upg_sum "$T/$u.flood" eperm)" \
			"$(echo "$counted" | cut -d/ -f1-3)"
	done
	expect_eq "A's policy: mode" 2 "$(upg_policy "$USER_A" | cut -d' ' -f1)"
	expect_eq "B's policy: mode burst" "1 5" "$(upg_policy "$USER_B")"
}

# This build's attach refused with a line matching PATTERN, every pin,
# layout and running program as they were.
upg_expect_refused() # PATTERN
{
	local state

	state=$(upg_state)
	expect_refused "$1" sg attach --cgroup "$CG" -i "$VETH_HOST"
	expect_eq "pins and programs after the refusal" "$state" "$(upg_state)"
}

# Pins this build cannot take over are refused before anything is touched:
# a layout version it does not know, a link it could not switch in place,
# and a map whose shape is not its recorded layout's.
test_chaos_upgrade_refused()
{
	sg block "$USER_A" >/dev/null
	upg_layout_put sg_settings 99
	upg_expect_refused "the pinned sg_settings has layout 99, which this build \(layout 2\) cannot convert: nothing was changed"
	expect_connects "$USER_A" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25

	# A link an upgrade could not switch in place: a map pinned in its name,
	# the link itself kept under another.
	mv "$PIN/link_connect4" "$PIN/kept_connect4"
	bpftool map pin pinned "$PIN/sg_ports" "$PIN/link_connect4"
	upg_expect_refused "the pinned link_connect4 is not a link this build can switch in place: nothing was changed"
	rm "$PIN/link_connect4"
	mv "$PIN/kept_connect4" "$PIN/link_connect4"

	# The previous build's sg_settings, recorded as this build's layout: its size says otherwise.
	upg_attach_previous
	sg_previous block "$USER_A" >/dev/null
	upg_layout_put sg_settings 2
	upg_expect_refused "the pinned sg_settings has 64-byte values, not 72 as its layout 2 has"
	expect_connects "$USER_A" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25
	figure "upgrade refused: an unknown layout (99), a link that cannot be switched and a" \
		"wrong-sized map; pins and programs unchanged"
}

# updated_ns of USER's policy in sg_policies.
upg_updated() # USER
{
	map_dump sg_policies | jq -r --argjson u "$(id -u "$1")" \
		'.[] | select(.formatted.key == $u) | .formatted.value.updated_ns'
}

# The pinned sg_buckets' entry for UID made by hand as layout 1 has it: a
# lock, padding, TOKENS (scaled by 3.6e12), LAST_NS and POLICY_NS.
upg_bucket_1() # UID TOKENS LAST_NS POLICY_NS
{
	# shellcheck disable=SC2046 # one word a byte
	bpftool map update pinned "$PIN/sg_buckets" key hex $(le_hex 4 "$1") value hex \
		$(le_hex 8 0) $(le_hex 8 "$2") $(le_hex 8 "$3") $(le_hex 8 "$4")
}

# "uid:tat_ns/last_ns/policy_ns" of every bucket, by UID.
upg_buckets()
{
	map_dump sg_buckets | jq -r '[.[].formatted | "\(.key):\(.value.tat_ns)/\(.value.last_ns)/\(.value.policy_ns)"]
		| sort | .[]' | xargs
}

# sg_buckets from layout 1 (a token bucket under a bpf_spin_lock) to 2 (the
# time it is full again): the previous build's pins, their buckets written
# by hand, are converted by the policy in force for each user so that no
# throttled sender gets a fresh burst; the old shape recorded as layout 2
# (32 bytes, not 40) is refused.
test_chaos_upgrade_buckets()
{
	local user_c=sgt${ID}c hour=3600000000000 a b c ua ub def

	# chaos_upgrade, in the same run, may have made this user already.
	id -u "$user_c" >/dev/null 2>&1 || nl_user_add "$T" "$user_c" || fail "useradd $user_c failed"
	a=$(id -u "$USER_A")
	b=$(id -u "$USER_B")
	c=$(id -u "$user_c")
	upg_attach_previous
	write_config "$T/previous.conf" "[policy]" "default = throttle" "rate = 1/h" "burst = 3"
	SG_BIN=$UPG_PREVIOUS start_daemon "$T/previous.conf"
	kill -TERM "$DAEMON_PID"
	nl_wait_until 100 nl_gone "$DAEMON_PID" || fail "the previous daemon did not stop"
	sg_previous throttle "$USER_A" --rate 7/h --burst 5 >/dev/null
	sg_previous throttle "$USER_B" --rate 1/h --burst 5 >/dev/null
	ua=$(upg_updated "$USER_A")
	ub=$(upg_updated "$USER_B")
	def=$(map_dump sg_settings | jq '.[0].formatted.value.default_policy.updated_ns')
	# 4243: the detector's throttle (it keeps the tokens) at 3600/h, burst 4.
	# shellcheck disable=SC2046 # one word a byte
	bpftool map update pinned "$PIN/sg_policies" key hex $(le_hex 4 4243) value hex \
		$(le_hex 4 1) $(le_hex 4 4) $(le_hex 8 3600) $(le_hex 8 0) $(le_hex 8 "$ua") \
		$(le_hex 4 0) $(le_hex 4 1)
	# A: 2 tokens and 5 units of its 5, at 7/h. B: of an older policy. C: half a
	# token of the default's 3. 4242: a bucket never used. 4243: one token, of an
	# older policy, kept.
	upg_bucket_1 "$a" $((2 * hour + 5)) $((ua + 1)) "$ua"
	upg_bucket_1 "$b" 0 $((ub - 1)) $((ub - 1))
	upg_bucket_1 "$c" $((hour / 2)) $((ua + 2)) "$def"
	upg_bucket_1 4242 0 0 0
	upg_bucket_1 4243 "$hour" $((ua + 3)) $((ua - 5))

	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/upgrade.out"
	grep -qxF "converted sg_buckets from layout 1 to 2: 5 entries" "$T/upgrade.out" ||
		fail "the attach did not convert sg_buckets: $(cat "$T/upgrade.out")"
	# A's 3 missing tokens at 7/h, rounded up; C's 2.5 at 1/h; B and 4242 full;
	# 4243's 3 at 3600/h.
	expect_eq "the buckets converted" "$(printf '%s\n' \
		"$a:$((ua + 1 + (3 * hour - 5 + 6) / 7))/$((ua + 1))/$ua" \
		"$b:0/$((ub - 1))/$((ub - 1))" \
		"$c:$((ua + 2 + 5 * hour / 2))/$((ua + 2))/$def" \
		"4242:0/0/0" \
		"4243:$((ua + 3 + 3 * hour / 3600))/$((ua + 3))/$((ua - 5))" | sort | xargs)" \
		"$(upg_buckets)"
	# explain's tokens: C's half (18 s more would show), B's full at its next connect.
	expect_eq "explain C" "bucket:   0.50 of 3 tokens" "$(sg explain "$user_c" | grep '^bucket:')"
	expect_eq "explain B" "bucket:   5.00 of 5 tokens" "$(sg explain "$USER_B" | grep '^bucket:')"
	# A has 2 tokens (and the time since), B a fresh burst, C none.
	expect_connects "$USER_A" "ok=2 eperm=3 other=0" -n 5 "$NET4" 25
	expect_connects "$USER_B" "ok=5 eperm=1 other=0" -n 6 "$NET4" 25
	expect_connects "$user_c" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25
	sg attach --cgroup "$CG" -i "$VETH_HOST" >"$T/again.out"
	grep -q "converted" "$T/again.out" && fail "converted again: $(cat "$T/again.out")"

	# The previous build's sg_buckets recorded as layout 2: its size says otherwise.
	upg_attach_previous
	sg_previous throttle "$USER_A" --rate 7/h --burst 5 >/dev/null
	expect_connects "$USER_A" "ok=5 eperm=1 other=0" -n 6 "$NET4" 25
	upg_layout_put sg_buckets 2
	upg_expect_refused "the pinned sg_buckets has 32-byte values, not 40 as its layout 2 has: nothing was changed"
	expect_connects "$USER_A" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25
}

# sg_counters[IDX] summed over the CPUs.
upg_counter() # IDX
{
	bpftool -j map lookup pinned "$PIN/sg_counters" key "$1" 0 0 0 |
		jq '[.formatted.values[].value] | add'
}

# A map whose capacity alone changed, as sg_counters does when a counter is
# appended: its entries are copied as they are, and the new programs count
# on from them. Here the older map has one entry fewer than this build's.
test_chaos_upgrade_capacity()
{
	local n cpus

	n=$(bpftool -j map show pinned "$PIN/sg_counters" | jq .max_entries)
	cpus=$(bpftool -j map lookup pinned "$PIN/sg_counters" key 0 0 0 0 | jq '.values | length')
	rm "$PIN/sg_counters"
	bpftool map create "$PIN/sg_counters" type percpu_array key 4 value 8 entries $((n - 1)) \
		name sg_counters
	# SG_CNT_DENIED_BLOCK is 2: 7 on each CPU.
	bpftool map update pinned "$PIN/sg_counters" key 2 0 0 0 value 7 0 0 0 0 0 0 0
	sg block "$USER_A" >/dev/null
	expect_eq "the upgrade's output" "copied sg_counters into its new capacity: $((n - 1)) entries
replaced the connect programs with this build's where they run
replaced the egress programs with this build's where they run
replaced the ingress programs with this build's where they run
replaced the sockops programs with this build's where they run
attached; pinned state in $PIN" "$(sg attach --cgroup "$CG" -i "$VETH_HOST")"
	expect_eq "sg_counters' capacity" "$n" \
		"$(bpftool -j map show pinned "$PIN/sg_counters" | jq .max_entries)"
	expect_eq "denied_block copied" $((7 * cpus)) "$(upg_counter 2)"
	expect_connects "$USER_A" "ok=0 eperm=3 other=0" -n 3 "$NET4" 25
	expect_eq "denied_block counted on" $((7 * cpus + 3)) "$(upg_counter 2)"
	expect_eq "this build's programs run" "$(upg_pinned)" "$(upg_running)"
	figure "capacity upgrade: sg_counters from $((n - 1)) to $n entries, its counts kept (7 per CPU + 3)"
}

# The upgrade as a package does it: the previous build's daemon stopped,
# this build's started, whose start upgrades the pins, the block kept.
# Then, with this daemon running, an attach of another build (its record
# in sg_layout says so) is refused before it changes anything: the
# daemon's repair would put its own build's programs back.
test_chaos_upgrade_daemon()
{
	local rc=0 before out key

	upg_attach_previous
	write_config "$T/previous.conf"
	SG_BIN=$UPG_PREVIOUS start_daemon "$T/previous.conf"
	sg_previous block "$USER_A" >/dev/null
	before=$(upg_running)
	kill -TERM "$DAEMON_PID"
	nl_wait_until 100 nl_gone "$DAEMON_PID" || fail "the previous daemon did not stop"
	start_daemon "$T/previous.conf"
	grep -qF "replaced the connect programs with this build's where they run" "$T/daemon.log" ||
		fail "the restart did not upgrade: $(tail -n 5 "$T/daemon.log")"
	expect_eq "this build's programs run" "$(upg_pinned)" "$(upg_running)"
	[ "$(upg_running)" != "$before" ] || fail "the programs that run are still the previous build's"
	expect_connects "$USER_A" "ok=0 eperm=5 other=0" -n 5 "$NET4" 25
	# The previous build had no sg_uid_marks: the upgraded programs mark what they count,
	# so the daemon, which looks up only the UIDs marked, sees A's later connects too.
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_A")}" 5
	expect_connects "$USER_A" "ok=0 eperm=2 other=0" -n 2 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_A")}" 7

	# Another build's programs, as the attach sees them: connect's build recorded otherwise.
	read -ra key <<<"$(printf '%-32s' connect | tr ' ' '\0' | od -An -tx1 | xargs)"
	bpftool map update pinned "$PIN/sg_layout" key hex "${key[@]}" \
		value hex 01 00 00 00 00 00 00 00 01 02 03 04 05 06 07 08
	before=$(upg_state)
	out=$(sg attach --cgroup "$CG" -i "$VETH_HOST" 2>&1) || rc=$?
	expect_eq "attach of another build under the daemon: exit status" 1 "$rc"
	expect_eq "its message" "smtpguard: the programs pinned in $PIN are another build's and a daemon (pid $DAEMON_PID) runs on them: upgrade by restarting it with this binary (systemctl restart smtpguard); nothing changed" "$out"
	expect_eq "pins, layouts and programs" "$before" "$(upg_state)"
	figure "the previous build's daemon stopped and this build's started: pins upgraded, block kept (0 of 5); an attach of another build under the daemon refused, nothing changed"
}
