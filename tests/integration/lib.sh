# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for tests/integration/run.sh: the per-run environment, the per-test
# setup and teardown, running things as a test user, reading smtpguard's
# state, assertions and the test runner.
#
# The layout of every test:
#
#   netns $NS_HOST: the clients (test users, in the test cgroup $CG, which
#                   the connect hooks watch) and $VETH_HOST, which gets
#                   TC egress and XDP: 198.51.100.1, 2001:db8::1
#   netns $NS_NET:  the sink (sg_sink) behind $VETH_NET: 198.51.100.2, 2001:db8::2
#
# Nothing leaves these namespaces, and the pins live in a private bpffs.
# The namespaces, veth, bpffs, cgroup, sink and users are scripts/lib/netlab.sh's.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$ROOT/scripts/lib/netlab.sh"
SG_BIN=$ROOT/smtpguard
CONNECT=$ROOT/build/tools/sg_connect

nl_id ID
NS_HOST=sgt-$ID-host
NS_NET=sgt-$ID-net
VETH_HOST=sg${ID}h
VETH_NET=sg${ID}n
USER_A=sgt${ID}a
USER_B=sgt${ID}b

HOST4=198.51.100.1
NET4=198.51.100.2
HOST6=2001:db8::1
NET6=2001:db8::2

T=				# the run's temporary directory, set by env_init
BPFFS=				# private bpffs mount, under $T
PIN=				# the pin directory smtpguard uses, inside $BPFFS
CG=				# the test cgroup, under the cgroup2 root
SINK_LOG=			# accept log of the sink in $NS_NET
VERBOSE=0
# The fault suite's size: "short" in `make test`, "long" in `make chaos`.
CHAOS_SCALE=${CHAOS_SCALE:-short}

# --- environment -------------------------------------------------------------

# The suite cannot run: says why, in the suite's output format, and exits.
prereq_fail() # REASON...
{
	echo "not ok - prerequisites: $*"
	echo "integration: 0 passed, 1 failed"
	exit 1
}

# Checks what the suite cannot run without.
env_check()
{
	local tool why

	why=$(nl_need bpftool jq ip tc nsenter setpriv useradd userdel nstat mountpoint) ||
		prereq_fail "$why"
	[ -n "$(nl_cgroup2_root)" ] || prereq_fail "no cgroup2 mount in /proc/self/mounts"
	for tool in "$SG_BIN" "$NL_SINK_BIN" "$CONNECT" "$ROOT/build/tools/sg_unitns"; do
		[ -x "$tool" ] ||
			prereq_fail "$tool missing (make test-integration builds it)"
	done
}

# The run's scratch space, private bpffs and test users.
env_init()
{
	local u

	T=$(mktemp -d /tmp/sgt-"$ID".XXXXXX)
	nl_bpffs "$T" || prereq_fail "cannot mount a bpffs on $T/bpffs"
	BPFFS=$T/bpffs
	# Every smtpguard this suite runs uses the private bpffs, never /sys/fs/bpf/smtpguard.
	PIN=$BPFFS/smtpguard
	export SMTPGUARD_PIN_DIR=$PIN
	# The CLI audits here, and reads no config but a test's own.
	export SMTPGUARD_AUDIT_LOG=$T/audit.log
	export SMTPGUARD_CONFIG=$T/smtpguard.conf
	CG=$(nl_cgroup2_root)/sgt-$ID
	for u in "$USER_A" "$USER_B"; do
		nl_user_add "$T" "$u" || prereq_fail "useradd $u failed"
	done
}

# Undoes env_init and whatever a test left; safe to run at any point, and twice.
env_cleanup()
{
	teardown
	nl_down "$T"
}

# --- per-test setup ----------------------------------------------------------

# smtpguard in the client namespace, where $VETH_HOST is.
sg()
{
	nl_in "$NS_HOST" "$SG_BIN" "$@"
}

# Runs CMD in NS in the background, recorded so that teardown ends it.
spawn_in() # NS CMD...
{
	nl_spawn "$T" "$@"
}

# A sink in NS listening on ADDR:PORT...; logs accepts to LOG.
start_sink() # NS LOG LISTEN...
{
	local ns=$1 log=$2 l args=()

	shift 2
	for l in "$@"; do
		args+=(--listen "$l")
	done
	nl_sink_start "$T" "$ns" "$log" --max-seconds 120 "${args[@]}" ||
		fail "sink on $* did not start"
}

# A fresh world for one test: namespaces, veth, addresses, cgroup, sink, attach.
setup()
{
	local ns

	# Test runs stay out of the host's authpriv log; a test may write its own.
	printf '[audit]\nsyslog = no\n' >"$SMTPGUARD_CONFIG"
	nl_netns "$T" "$NS_HOST" "$NS_NET"
	nl_veth "$NS_HOST" "$VETH_HOST" "$NS_NET" "$VETH_NET"
	nl_addrs "$NS_HOST" "$VETH_HOST" "$HOST4/24" "$HOST6/64"
	nl_addrs "$NS_NET" "$VETH_NET" "$NET4/24" "$NET6/64"
	for ns in "$NS_HOST" "$NS_NET"; do
		# Client and server TCP Fast Open, for the MSG_FASTOPEN test.
		nl_in "$ns" sysctl -qw net.ipv4.tcp_fastopen=3
	done
	nl_cgroup "$T" "$CG"

	SINK_LOG=$T/sink.log
	start_sink "$NS_NET" "$SINK_LOG" "$NET4:25" "$NET4:465" "$NET4:587" \
		"[$NET6]:25" "[$NET6]:465" "[$NET6]:587"
	sg attach --cgroup "$CG" -i "$VETH_HOST"
	nl_carrier "$NS_HOST" "$VETH_HOST" "$NS_NET" "$VETH_NET" || fail "the veth pair never came up"
}

# Ends what the test started and removes what setup made, whatever state it is in.
teardown()
{
	nl_clear "$T" KILL
	# Unpinning releases programs, maps and links whatever detach left behind;
	# the lock directories beside the pins go too, a customer's among them.
	if [ -n "$PIN" ]; then
		rm -rf -- "$PIN" "$PIN"_*
	fi
	# A test's own state: the next test starts with no baselines and nothing contained.
	if [ -n "$T" ]; then
		rm -rf "$T"/*.log "$T"/*.err "$T"/*.tlog "$T"/baselines.gz "$T"/contained.json* \
			"$T"/offenders.json* "$T"/f2b* "$T/multiline"
	fi
}

# --- acting as a customer ----------------------------------------------------

# Runs CMD as USER, in the test cgroup, in the client namespace: a hosting
# customer's mailer. The cgroup is joined before dropping root.
as_user() # USER CMD...
{
	nl_as "$NS_HOST" "$CG" "" "$@"
}

# sg_connect as USER; prints "ok=N eperm=N other=N".
connect_as() # USER SG_CONNECT-ARGS...
{
	local user=$1

	shift
	as_user "$user" "$CONNECT" "$@"
}

# sg_connect as USER must report WANT ("ok=N eperm=N other=N").
expect_connects() # USER WANT SG_CONNECT-ARGS...
{
	local user=$1 want=$2

	shift 2
	expect_eq "sg_connect $* as $user" "$want" "$(connect_as "$user" "$@")"
}

# Accepted connections in a sink log, all or to one port.
accepts() # LOG [PORT]
{
	grep -c "^accept ${2:-[0-9]*} " "$1" || true
}

# --- reading smtpguard's state -----------------------------------------------

# "attempts/allowed/denied/egress_syns" of UID in `top --json`, or "absent".
top_counts() # USER
{
	local uid

	uid=$(id -u "$1")
	sg top --json | jq -r --argjson uid "$uid" '
		[.[] | select(.uid == $uid)]
		| if length == 0 then "absent"
		  else .[0] | "\(.attempts)/\(.allowed)/\(.denied)/\(.egress_syns)" end'
}

# ADDR as the kernel's addr[4]: 16 network-order bytes, IPv4 mapped, in hex.
addr_hex() # ADDR
{
	local a=$1 head tail g i out=""
	local -a h t

	if [[ $a != *:* ]]; then
		IFS=. read -ra h <<<"$a"
		printf '00000000000000000000ffff%02x%02x%02x%02x' "${h[@]}"
		return
	fi
	head=${a%%::*}
	tail=
	[[ $a == *::* ]] && tail=${a#*::}
	IFS=: read -ra h <<<"$head"
	IFS=: read -ra t <<<"$tail"
	for g in "${h[@]}"; do out+=$(printf '%04x' "0x$g"); done
	for ((i = ${#h[@]} + ${#t[@]}; i < 8; i++)); do out+=0000; done
	for g in "${t[@]}"; do out+=$(printf '%04x' "0x$g"); done
	printf '%s' "$out"
}

# ADDR as bpftool prints addr[4]: a JSON array of four u32 in host byte order.
addr_words() # ADDR
{
	addr_hex "$1" | sed 's/../\\x&/g' | xargs -0 printf '%b' | od -An -tu4 |
		awk '{ printf "[%s,%s,%s,%s]", $1, $2, $3, $4 }'
}

# Hex bytes of VALUE as a little-endian integer of BYTES bytes, for bpftool.
le_hex() # BYTES VALUE
{
	local i

	for ((i = 0; i < $1; i++)); do
		printf '%02x ' $((($2 >> (8 * i)) & 255))
	done
}

# The whole of a pinned map as bpftool's BTF-formatted JSON.
map_dump() # MAP
{
	bpftool -j map dump pinned "$PIN/$1"
}

# FIELD of the entry whose formatted key has the fields of KEY (a JSON object); "absent" if none.
map_field() # MAP KEY FIELD
{
	map_dump "$1" | jq -r --argjson key "$2" --arg f "$3" '
		[.[] | .formatted | select(.key as $k | $key | to_entries | all(.value == $k[.key]))]
		| if length == 0 then "absent" else .[0].value[$f] end'
}

# FIELD of the sg_flows (connect hooks) or sg_egress (TC) entry of USER, PORT, ADDR.
flow_field() # MAP USER PORT ADDR FIELD
{
	local key

	key=$(jq -nc --argjson uid "$(id -u "$2")" --argjson port "$3" \
		--argjson addr "$(addr_words "$4")" '{uid: $uid, port: $port, addr: $addr}')
	map_field "$1" "$key" "$5"
}

# --- assertions --------------------------------------------------------------

# Ends the test (a subshell) as failed, with REASON as the report.
fail() # REASON...
{
	echo "$*" >"$T/reason"
	exit 1
}

expect_eq() # WHAT EXPECTED ACTUAL
{
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

expect_top() # USER ATTEMPTS/ALLOWED/DENIED/EGRESS_SYNS
{
	expect_eq "top --json $1 attempts/allowed/denied/egress_syns" "$2" "$(top_counts "$1")"
}

# CMD must fail, with a message matching the ERE PATTERN. A message of more
# than one line is noted in $T/multiline, and fails the test at its end, so
# that one report names every command that does it.
expect_refused() # PATTERN CMD...
{
	local pattern=$1 out rc=0

	shift
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || fail "'$*' succeeded, expected a refusal"
	printf '%s\n' "$out" | grep -qiE "$pattern" ||
		fail "'$*': message '$out' does not match /$pattern/"
	if [ "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]; then
		echo "'$*'" >>"$T/multiline"
	fi
}

# --- runner ------------------------------------------------------------------

PASSED=0
FAILED=0

# The ERR trap of a test: names the command that failed and the calls from
# the test (or setup) down to it, unless fail already said why.
on_err() # COMMAND STATUS
{
	local i trace=""

	[ ! -s "$T/reason" ] || return 0
	for ((i = ${#FUNCNAME[@]} - 1; i > 0; i--)); do
		[[ -n $trace || ${FUNCNAME[i]} == test_* || ${FUNCNAME[i]} == setup ]] || continue
		trace+="${trace:+ > }${FUNCNAME[i]}:${BASH_LINENO[i - 1]}"
	done
	echo "${trace:-?}: '$1' exited $2" >"$T/reason"
}

# Runs test_NAME in a subshell with a fresh setup, then tears it down; one line of report.
# A count for a fault test (chaos_*): SHORT in `make test`, LONG in `make chaos`.
at_scale() # SHORT LONG
{
	if [ "$CHAOS_SCALE" = long ]; then
		echo "$2"
	else
		echo "$1"
	fi
}

# A measured figure of a test, printed under its result whether or not it
# passed and whatever -v says: the fault suite's figures go into the notes.
figure() # TEXT...
{
	echo "figure: $*"
}

run_test() # NAME
{
	local name=$1 rc start=$SECONDS

	: >"$T/reason"
	set +e
	(
		set -eE
		trap 'on_err "$BASH_COMMAND" $?' ERR
		setup
		"test_$name"
		[ ! -s "$T/multiline" ] ||
			fail "refused with more than a one-line message:" "$(tr '\n' ' ' <"$T/multiline")"
	) >"$T/test.out" 2>&1
	rc=$?
	set -e
	teardown
	if [ "$rc" -eq 0 ]; then
		echo "ok - $name ($((SECONDS - start)) s)"
		sed -n 's/^figure: /#   figure: /p' "$T/test.out"
		# A test's own figures ("# ..." lines), for notes and benchmarks.
		if [ "$VERBOSE" -eq 1 ]; then
			sed -n 's/^# /#   /p' "$T/test.out"
		fi
		PASSED=$((PASSED + 1))
		return
	fi
	[ -s "$T/reason" ] || echo "exited $rc" >"$T/reason"
	echo "not ok - $name ($((SECONDS - start)) s): $(cat "$T/reason")"
	if [ "$VERBOSE" -eq 1 ]; then
		sed 's/^/#   /' "$T/test.out"
	else
		sed -n 's/^figure: /#   figure: /p' "$T/test.out"
	fi
	FAILED=$((FAILED + 1))
}
