# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# DNS blocklists: check-dnsbl and the daemon's smtpguard_dnsbl_* series,
# against a dnsmasq that serves the zone bl.test. It runs in a network
# namespace of the test's own with only lo up, so no query leaves the
# machine; the namespace's resolv.conf (/etc/netns/NAME, which `ip netns
# exec` mounts over /etc/resolv.conf) points the system resolver at it.
# Sourced by run.sh.

TESTS+=(dnsbl_check dnsbl_daemon)

DNSMASQ=/usr/sbin/dnsmasq
DNS_NS=		# the namespace, set by dns_up
DNS_ETC=	# /etc/netns/$DNS_NS
DNS_PID=	# dnsmasq
DNS_DAEMON_PID=

# What bl.test says of 198.51.100.7, 2001:db8::7 (listed), 198.51.100.9
# (Spamhaus' "public resolver" refusal) and anything else (NXDOMAIN).
# dead.test goes to a server that never answers; none.test to none (REFUSED).
dns_up()
{
	DNS_NS=sgdns-$$-$RANDOM
	DNS_ETC=/etc/netns/$DNS_NS
	nl_netns "$T" "$DNS_NS"
	ip -n "$DNS_NS" link set lo up
	[ "$(ip -n "$DNS_NS" -o link show | wc -l)" -eq 1 ] || fail "$DNS_NS has more than lo"
	nl_netns_etc "$T" "$DNS_NS"
	# A dead zone's lookup fails in a second, not in the default 2 x 5 s.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$DNS_ETC/resolv.conf"
	# root: the log is in $T, which only root may enter.
	ip netns exec "$DNS_NS" "$DNSMASQ" --keep-in-foreground --conf-file=/dev/null --pid-file= \
		--user=root --listen-address=127.0.0.1 --bind-interfaces --port=53 \
		--no-resolv --no-hosts --log-queries --log-facility="$T/dnsmasq.log" \
		--local=/bl.test/ \
		--address=/7.100.51.198.bl.test/127.0.0.2 \
		--address=/9.100.51.198.bl.test/127.255.255.254 \
		--address=/7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test/127.0.0.3 \
		--server=/dead.test/127.0.0.1#5399 &
	DNS_PID=$!
	echo "$DNS_PID" >>"$T/pids"
	nl_wait_until 50 dns_listening || fail "dnsmasq did not start: $(tail -n 3 "$T/dnsmasq.log")"
}

dns_listening()
{
	[ -n "$(nl_in "$DNS_NS" ss -Hlun 'sport = :53')" ]
}

dns_in() # CMD...
{
	ip netns exec "$DNS_NS" "$@"
}

# check-dnsbl ARGS in the namespace must print WANT and exit with RC.
expect_check() # RC WANT ARGS...
{
	local rc=$1 want=$2 out got=0

	shift 2
	out=$(dns_in "$SG_BIN" check-dnsbl "$@" 2>&1) || got=$?
	expect_eq "check-dnsbl $*" "$want" "$out"
	expect_eq "check-dnsbl $*: exit status" "$rc" "$got"
}

test_dnsbl_check()
{
	dns_up
	expect_check 1 "198.51.100.7 bl.test listed (127.0.0.2)
198.51.100.8 bl.test not listed
2001:db8::7 bl.test listed (127.0.0.3)
2001:db8::8 bl.test not listed
4 lookups: 2 listed, 2 not listed, 0 failed" \
		--zone bl.test 198.51.100.7 198.51.100.8 2001:db8::7 2001:db8::8
	# A mapped address is looked up as IPv4.
	expect_check 1 "198.51.100.7 bl.test listed (127.0.0.2)
1 lookup: 1 listed, 0 not listed, 0 failed" --zone bl.test ::ffff:198.51.100.7

	# The config's zones and addresses, none listed.
	printf '[audit]\nsyslog = no\n[dnsbl]\nzones = bl.test\naddresses = 198.51.100.8, 2001:db8::8\n' \
		>"$SMTPGUARD_CONFIG"
	expect_check 0 "198.51.100.8 bl.test not listed
2001:db8::8 bl.test not listed
2 lookups: 0 listed, 2 not listed, 0 failed"

	expect_check 1 "198.51.100.8 dead.test lookup failed (timed out)
198.51.100.8 none.test lookup failed (REFUSED)
198.51.100.8 bl.test not listed
3 lookups: 0 listed, 1 not listed, 2 failed" \
		--zone dead.test --zone none.test --zone bl.test 198.51.100.8
	expect_check 1 "198.51.100.9 bl.test lookup failed (127.255.255.254: query through a public or open resolver)
1 lookup: 0 listed, 0 not listed, 1 failed" 198.51.100.9

	printf '[audit]\nsyslog = no\n' >"$SMTPGUARD_CONFIG"
	expect_check 2 "smtpguard check-dnsbl: no zone to look up in: set [dnsbl] zones or give --zone" \
		198.51.100.8
	expect_check 2 "smtpguard check-dnsbl: bad address '198.51.100.0/24': not a numeric IPv4 or IPv6 address" \
		--zone bl.test 198.51.100.0/24

	# Every name was answered by dnsmasq or sent to the dead server on lo, and nowhere else.
	expect_eq "dnsmasq forwarded elsewhere" "" \
		"$(grep ' forwarded ' "$T/dnsmasq.log" | grep -v ' to 127.0.0.1#5399$' || true)"
}

# `ip netns exec` would remount /sys and hide the cgroup the daemon attaches
# to: the same bind mount of the resolv.conf, in a mount namespace of its own,
# where the unit's sandbox is made.
dns_daemon_start() # CONF
{
	unit_sandbox
	# shellcheck disable=SC2016 # expanded by the inner sh
	nl_spawn "$T" "$DNS_NS" unshare --mount --propagation private -- \
		sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$DNS_ETC/resolv.conf" \
		"${SANDBOX[@]}" "$SG_BIN" run -c "$1" >>"$T/daemon.log" 2>&1
	DNS_DAEMON_PID=$NL_PID
	nl_wait_until 100 dns_healthy || fail "daemon not healthy: $(tail -n 3 "$T/daemon.log")"
}

dns_get() # PATH
{
	nl_in "$DNS_NS" curl -sS --max-time 5 "http://127.0.0.1:9025$1"
}

dns_healthy()
{
	[ "$(dns_get /healthz 2>/dev/null)" = ok ]
}

# The value of SERIES in /metrics, or "absent".
dns_metric() # SERIES
{
	dns_get /metrics | awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "absent" }'
}

dns_metric_is() # SERIES VALUE
{
	[ "$(dns_metric "$1")" = "$2" ]
}

# Waits for SERIES to be VALUE (a round of lookups), then asserts it.
expect_dnsbl() # SERIES VALUE
{
	nl_wait_until 100 dns_metric_is "$1" "$2" || true
	expect_eq "$1" "$2" "$(dns_metric "$1")"
}

listed() # ZONE ADDRESS
{
	echo "smtpguard_dnsbl_listed{zone=\"$1\",address=\"$2\"}"
}

failures_above() # ZONE N
{
	local v

	v=$(dns_metric "smtpguard_dnsbl_lookup_failures_total{zone=\"$1\"}")
	[ "$v" != absent ] && [ "$v" -gt "$2" ]
}

dnsbl_config() # FILE ADDRESSES
{
	cat >"$1" <<-EOF
		[daemon]
		cgroup = $CG
		[audit]
		log = $T/audit.log
		syslog = no
		[detect]
		baselines = $T/baselines.gz
		mta_users =
		[exporter]
		control = $T/run/control.sock
		[mta]
		type = none
		[dnsbl]
		zones = bl.test, dead.test
		addresses = $2
		interval = 1s
	EOF
}

test_dnsbl_daemon()
{
	local f now ts t0 us

	dns_up
	dnsbl_config "$T/dnsbl.conf" "198.51.100.7, 198.51.100.8, 2001:db8::7, ::ffff:198.51.100.8, 2001:db8::8"
	dns_daemon_start "$T/dnsbl.conf"
	expect_dnsbl "$(listed bl.test 198.51.100.7)" 1
	expect_dnsbl "$(listed bl.test 198.51.100.8)" 0
	expect_dnsbl "$(listed bl.test 2001:db8::7)" 1
	expect_dnsbl "$(listed bl.test 2001:db8::8)" 0
	# dead.test never answered: no value, only failures.
	expect_eq "dead.test pair" absent "$(dns_metric "$(listed dead.test 198.51.100.7)")"
	expect_eq "dnsbl_listed series" 4 "$(dns_get /metrics | grep -c '^smtpguard_dnsbl_listed{')"
	expect_dnsbl 'smtpguard_dnsbl_lookup_failures_total{zone="bl.test"}' 0
	nl_wait_until 100 failures_above dead.test 3 || fail "dead.test failures: $(dns_get /metrics | grep dead)"
	now=$(date +%s)
	ts=$(dns_metric smtpguard_dnsbl_last_check_timestamp_seconds)
	if [ "$ts" = absent ] || [ "$ts" -gt "$now" ] || [ "$ts" -lt $((now - 15)) ]; then
		fail "last check at '$ts', now $now"
	fi
	dns_get /metrics >"$T/metrics.txt"
	promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(head -n 3 "$T/promtool.out")"
	grep -q 'dnsbl: 4 addresses in 2 zones every 1s' "$T/daemon.log" ||
		fail "no announcement: $(grep dnsbl "$T/daemon.log")"
	grep -q 'dnsbl: 198.51.100.7 is listed on bl.test (127.0.0.2)' "$T/daemon.log" ||
		fail "no listing logged: $(grep dnsbl "$T/daemon.log")"

	# While the thread waits on dead.test, the loop answers at once.
	us=$(nl_in "$DNS_NS" curl -s -o /dev/null -w '%{time_total}' \
		http://127.0.0.1:9025/metrics | awk '{ printf "%d", $1 * 1000000 }')
	echo "# /metrics answered in $us us with a dead zone's lookups under way"
	[ "$us" -lt 500000 ] || fail "/metrics took $us us"

	# A reload: what still applies is kept, the address no longer named goes.
	f=$(dns_metric 'smtpguard_dnsbl_lookup_failures_total{zone="dead.test"}')
	dnsbl_config "$T/dnsbl.conf" "198.51.100.7, 2001:db8::7"
	kill -HUP "$DNS_DAEMON_PID"
	nl_wait_until 50 grep -q "reloaded $T/dnsbl.conf" "$T/daemon.log" || fail "no reload"
	# /metrics is rendered once a second: the first rendering after the reload.
	expect_dnsbl "$(listed bl.test 198.51.100.8)" absent
	expect_eq "after reload: $(listed bl.test 198.51.100.7)" 1 \
		"$(dns_metric "$(listed bl.test 198.51.100.7)")"
	failures_above dead.test $((f - 1)) || fail "dead.test failures reset by the reload"
	expect_eq "dnsbl_listed series after reload" 2 \
		"$(dns_get /metrics | grep -c '^smtpguard_dnsbl_listed{')"

	# No DNS server at all: every lookup fails, the last answers stand. The
	# file is rewritten, not replaced: the daemon's bind mount keeps its inode.
	printf 'nameserver 127.0.0.2\noptions timeout:1 attempts:1\n' >"$DNS_ETC/resolv.conf"
	nl_wait_until 100 failures_above bl.test 1 || fail "bl.test failures: $(dns_get /metrics | grep bl.test)"
	expect_eq "last known: $(listed bl.test 198.51.100.7)" 1 \
		"$(dns_metric "$(listed bl.test 198.51.100.7)")"
	expect_eq "last known: $(listed bl.test 2001:db8::7)" 1 \
		"$(dns_metric "$(listed bl.test 2001:db8::7)")"
	grep -q 'dnsbl: 198.51.100.7 on bl.test: lookup failed (Connection refused)' "$T/daemon.log" ||
		fail "no failure logged: $(grep dnsbl "$T/daemon.log")"

	# Stopped while a dead.test lookup waits out its second.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$DNS_ETC/resolv.conf"
	f=$(dns_metric 'smtpguard_dnsbl_lookup_failures_total{zone="dead.test"}')
	nl_wait_until 100 failures_above dead.test $((f + 1)) || fail "dead.test lookups did not resume"
	sleep 0.3
	t0=$(date +%s%N)
	kill -TERM "$DNS_DAEMON_PID"
	nl_wait_until 30 dns_daemon_gone || fail "the daemon did not stop within 3 s"
	echo "# the daemon stopped in $((($(date +%s%N) - t0) / 1000000)) ms"
}

# Exited (a zombie until the test's shell reaps it) or gone.
dns_daemon_gone()
{
	local state

	state=$(sed 's/.*) //' "/proc/$DNS_DAEMON_PID/stat" 2>/dev/null) || return 0
	[ "${state%% *}" = Z ]
}
