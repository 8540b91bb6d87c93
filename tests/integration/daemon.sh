# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The daemon: /metrics scraped and checked exactly, promtool, a real
# Prometheus, reload, kill -9 and restart, attribution, expiry, the unit file.
# Sourced by run.sh. The daemon and Prometheus run in $NS_HOST, so their
# loopback ports are the test's own.

TESTS+=(daemon_metrics daemon_prometheus daemon_reload daemon_restart daemon_attribution
	daemon_unrecorded_sender daemon_hostile_title daemon_php_fpm daemon_expiry daemon_audit_env
	systemd_unit daemon_sandbox)

EXPORTER=127.0.0.1:9025

# A config for the test's own interface and cgroup, plus any extra lines.
write_config() # FILE [LINE...]
{
	local f=$1

	shift
	{
		echo "[daemon]"
		echo "interfaces = $VETH_HOST"
		echo "cgroup = $CG"
		echo "[audit]"
		echo "log = $T/audit.log"
		echo "syslog = no"
		echo "[detect]"
		echo "baselines = $T/baselines.gz"
		# Exactly root's observe policy, whatever MTA users this machine has.
		echo "mta_users ="
		printf '%s\n' "$@"
		# Last, so that the lines given keep their numbers.
		echo "[exporter]"
		echo "control = $(control_socket)"
	} >"$f"
}

# The details' socket: in the run's directory, not the host's /run/smtpguard.
control_socket()
{
	echo "$T/run/control.sock"
}

# GET PATH on the daemon's root-only control socket.
control_get() # PATH [CURL-ARGS...]
{
	local path=$1

	shift
	curl -sS --max-time 5 --unix-socket "$(control_socket)" "$@" "http://localhost$path"
}

http_get() # PATH [CURL-ARGS...]
{
	local path=$1

	shift
	nl_in "$NS_HOST" curl -sS --max-time 5 "$@" "http://$EXPORTER$path"
}

healthy()
{
	[ "$(http_get /healthz 2>/dev/null)" = ok ]
}

# SANDBOX: what runs a command under the systemd unit's sandbox
# (tests/tools/unit-sandbox.sh: its capabilities, privileges, read-only and
# writable paths), the project's tree standing in for where the unit's
# binary is installed (read-only, and visible under the private /tmp when
# the tree is a clone in /tmp: the binaries, the previous build, the lab's
# exim), the test's directory for the unit's state directory (its audit
# log, state and control socket are there), its bpffs for /sys/fs/bpf,
# and each UNITPATH=PATH given for its UNITPATH.
unit_sandbox() # [UNITPATH=PATH...]
{
	local s

	SANDBOX=("$ROOT/tests/tools/unit-sandbox.sh" --as "/usr/local/sbin=$ROOT"
		--as "/var/lib/smtpguard=$T" --as "/sys/fs/bpf=$BPFFS")
	for s in "$@"; do
		SANDBOX+=(--as "$s")
	done
	SANDBOX+=(--)
}

# Starts `smtpguard run -c CONF` in $NS_HOST under the unit's sandbox; its
# output goes to $T/daemon.log.
start_daemon() # CONF
{
	unit_sandbox
	spawn_in "$NS_HOST" "${SANDBOX[@]}" "$SG_BIN" run -c "$1" >>"$T/daemon.log" 2>&1
	DAEMON_PID=$(tail -n 1 "$T/pids")
	nl_wait_until 100 healthy || fail "daemon not healthy: $(tail -n 3 "$T/daemon.log")"
}

# The value of one series, exactly as named with its labels; "absent" when not there.
metric() # SERIES (e.g. 'smtpguard_egress_syn_total{port="25"}')
{
	local v

	v=$(http_get /metrics | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }')
	echo "$v"
}

metric_is() # SERIES VALUE
{
	[ "$(metric "$1")" = "$2" ]
}

# Waits for the next ticks to show SERIES = VALUE, then asserts it.
expect_metric() # SERIES VALUE
{
	nl_wait_until 40 metric_is "$1" "$2" || true
	expect_eq "$1" "$2" "$(metric "$1")"
}

sender() # USER
{
	echo "uid=\"$(id -u "$1")\",user=\"$1\""
}

# MAP's entries as `status` walks them.
status_entries() # MAP
{
	sg status --json | jq ".maps[] | select(.map == \"$1\") | .entries"
}

map_entries_agree() # MAP
{
	[ "$(metric "smtpguard_map_entries{map=\"$1\"}")" = "$(status_entries "$1")" ]
}

# Counters from the kernel, exactly, in the exposition format promtool accepts.
test_daemon_metrics()
{
	local a b

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=7 eperm=0 other=0" -n 7 "$NET4" 25
	expect_connects "$USER_B" "ok=3 eperm=0 other=0" -n 3 "$NET4" 587
	sg block "$USER_B"
	expect_connects "$USER_B" "ok=0 eperm=2 other=0" -n 2 "$NET4" 587

	a=$(sender "$USER_A")
	b=$(sender "$USER_B")
	expect_metric smtpguard_connect_attempts_total 12
	expect_metric 'smtpguard_connect_denied_total{reason="block"}' 2
	expect_metric 'smtpguard_connect_denied_total{reason="throttle"}' 0
	expect_metric 'smtpguard_egress_syn_total{port="25"}' 7
	expect_metric 'smtpguard_egress_syn_total{port="587"}' 3
	expect_metric 'smtpguard_policies{mode="block"}' 1
	expect_metric "smtpguard_sender_connections_total{$a}" 7
	expect_metric "smtpguard_sender_connections_total{$b}" 5
	expect_metric "smtpguard_sender_denied_total{$b}" 2
	expect_metric "smtpguard_sender_destinations{$a,window=\"1m\"}" 1
	expect_metric "smtpguard_sender_destinations{$a,window=\"1h\"}" 1
	expect_metric smtpguard_senders_omitted 0
	# B's block, and root's observe policy: root is on [detect] allow by default.
	expect_metric 'smtpguard_map_entries{map="sg_policies"}' 2
	# Counted from the tick's own reads, as a walk of each map (status) counts them.
	expect_metric 'smtpguard_map_entries{map="sg_flows"}' 2
	# Both read again until they agree: a stale sweep (every 10 ticks, later
	# on a busy machine) may change a map between one read and the other.
	for m in sg_uid_stats sg_flows sg_conn_stats sg_smtp sg_uid_swept; do
		nl_wait_until 40 map_entries_agree "$m" ||
			fail "$m: $(metric "smtpguard_map_entries{map=\"$m\"}") in the metrics, $(status_entries "$m") in status"
	done
	expect_metric "smtpguard_program_attached{program=\"ingress\",interface=\"$VETH_HOST\",mode=\"native\"}" 1
	expect_metric "smtpguard_build_info{version=\"$("$SG_BIN" --version | cut -d' ' -f2)\"}" 1

	http_get /metrics >"$T/metrics.txt"
	promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(head -n 3 "$T/promtool.out")"
	# gzip when asked for, and the same text inflated.
	http_get /metrics -H 'Accept-Encoding: gzip' -D "$T/headers" -o "$T/metrics.gz"
	grep -qi '^content-encoding: gzip' "$T/headers" || fail "no gzip: $(cat "$T/headers")"
	expect_eq "gzip body" "$(grep -c '^smtpguard_' "$T/metrics.txt")" \
		"$(gzip -dc "$T/metrics.gz" | grep -c '^smtpguard_')"
}

# A real Prometheus scrapes the exporter, and its query API returns the series.
test_daemon_prometheus()
{
	local q

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=4 eperm=0 other=0" -n 4 "$NET4" 465
	expect_metric "smtpguard_sender_connections_total{$(sender "$USER_A")}" 4
	cat >"$T/prometheus.yml" <<-EOF
		global:
		  scrape_interval: 1s
		scrape_configs:
		  - job_name: smtpguard
		    static_configs:
		      - targets: ['$EXPORTER']
	EOF
	mkdir -p "$T/prometheus"
	spawn_in "$NS_HOST" prometheus --config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/prometheus" --web.listen-address=127.0.0.1:9090 \
		>"$T/prometheus.log" 2>&1
	q="smtpguard_sender_connections_total{user=\"$USER_A\"}"
	prom_value() {
		nl_in "$NS_HOST" curl -sS --max-time 5 --data-urlencode "query=$q" \
			http://127.0.0.1:9090/api/v1/query 2>/dev/null |
			jq -r '.data.result[0].value[1] // "none"'
	}
	prom_has() { [ "$(prom_value)" = 4 ]; }
	nl_wait_until 300 prom_has || fail "Prometheus has $q = $(prom_value); log: $(tail -n 2 "$T/prometheus.log")"
	expect_eq "$q via Prometheus" 4 "$(prom_value)"
	q='smtpguard_egress_syn_total{port="465"}'
	expect_eq "$q via Prometheus" 4 "$(prom_value)"
}

# SIGHUP: a good file takes effect whole; a bad one is logged with file:line and changes nothing.
test_daemon_reload()
{
	write_config "$T/smtpguard.conf" "[policy]" "default = observe"
	start_daemon "$T/smtpguard.conf"
	expect_metric 'smtpguard_default_policy{mode="observe"}' 1

	expect_metric 'smtpguard_inbound_syn_total{port="110"}' 0
	# Every part at once: policy, ports, and the exporter moved to another address, same port.
	write_config "$T/smtpguard.conf" "[policy]" "default = throttle" "rate = 60/min" "burst = 3" \
		"[ports]" "inbound = 25" "[exporter]" "listen = 0.0.0.0:9025"
	kill -HUP "$DAEMON_PID"
	expect_metric 'smtpguard_default_policy{mode="throttle"}' 1
	expect_metric 'smtpguard_inbound_syn_total{port="110"}' absent
	expect_eq "listener" "0.0.0.0:9025" \
		"$(nl_in "$NS_HOST" ss -Hltn 'sport = :9025' | awk '{ print $4 }')"
	expect_connects "$USER_A" "ok=3 eperm=2 other=0" -n 5 "$NET4" 25

	write_config "$T/smtpguard.conf" "[policy]" "default = block" "colour = blue"
	kill -HUP "$DAEMON_PID"
	nl_wait_until 30 grep -q 'stays in force' "$T/daemon.log" || fail "bad reload not logged"
	# write_config's own lines are 1-9: the bad key is on line 12.
	grep -q "$T/smtpguard.conf:12: \[policy\] unknown key 'colour'" "$T/daemon.log" ||
		fail "the reason is not file:line: $(grep -m1 smtpguard.conf "$T/daemon.log")"
	expect_metric 'smtpguard_default_policy{mode="throttle"}' 1
	expect_eq "still running" 0 "$(kill -0 "$DAEMON_PID" && echo 0)"
	# Still a throttle with burst 3, not the bad file's block nor observe.
	expect_connects "$USER_B" "ok=3 eperm=1 other=0" -n 4 "$NET4" 25
}

# kill -9 and restart: enforcement goes on meanwhile; counters continue, no reset, no double count.
test_daemon_restart()
{
	local a

	a=$(sender "$USER_A")
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=5 eperm=0 other=0" -n 5 "$NET4" 25
	expect_metric "smtpguard_sender_connections_total{$a}" 5
	sg throttle "$USER_A" --rate 1/h --burst 2
	kill -KILL "$DAEMON_PID"
	nl_wait_until 30 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" || fail "daemon survived kill -9"
	expect_connects "$USER_A" "ok=2 eperm=1 other=0" -n 3 "$NET4" 25
	start_daemon "$T/smtpguard.conf"
	expect_metric "smtpguard_sender_connections_total{$a}" 8
	expect_metric "smtpguard_sender_denied_total{$a}" 1
	expect_metric smtpguard_connect_attempts_total 8
	expect_metric 'smtpguard_egress_syn_total{port="25"}' 7
	# What was counted before the restart is its baseline, not a burst: seconds
	# after the restart, with the rate's time span no longer zero, still 0.
	sleep 2
	expect_eq "1m rate after restart" 0 "$(metric "smtpguard_sender_rate{$a,window=\"1m\"}")"
	expect_eq "1h rate after restart" 0 "$(metric "smtpguard_sender_rate{$a,window=\"1h\"}")"
}

# /senders is published at most every 5 s: waits for it are up to 8 s.
# The newest /senders entry of USER, as "FIELD FIELD ..." from a jq expression.
newest_sender() # USER JQ-EXPR
{
	control_get /senders | jq -r --arg uid "$(id -u "$1")" ".[\$uid][0] | $2"
}

has_sender() # USER
{
	[ "$(newest_sender "$1" .uid 2>/dev/null)" = "$(id -u "$1")" ]
}

newest_not_recorded() # USER WHY
{
	[ "$(newest_sender "$1" .not_recorded 2>/dev/null)" = "$2" ]
}

# Every ring-buffer event is attributed: user, process, and "gone" when it exited first.
test_daemon_attribution()
{
	local pid

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	# bash itself connects, then waits on its child: the sender is alive when the event is read.
	as_user "$USER_A" env -C /tmp bash -c "exec 3<>/dev/tcp/$NET4/25; sleep 3; :" &
	pid=$!
	nl_wait_until 80 has_sender "$USER_A" || fail "no /senders entry for $USER_A"
	expect_eq "A's sender" \
		"new_sender allow $USER_A $USER_A bash 198.51.100.2 25 false /usr/bin/bash /tmp" \
		"$(newest_sender "$USER_A" '"\(.kind) \(.verdict) \(.user) \(.account) \(.comm) \(.destination) \(.port) \(.process.gone) \(.process.exe) \(.process.cwd)"')"
	expect_eq "A's cmdline" "bash -c exec 3<>/dev/tcp/$NET4/25; sleep 3; :" \
		"$(newest_sender "$USER_A" .process.cmdline)"
	grep -q "uid $(id -u "$USER_A") ($USER_A" "$T/daemon.log" || fail "no log line for $USER_A"
	wait "$pid" || true

	# Stopped, the daemon reads B's event only after B is gone: it says so.
	kill -STOP "$DAEMON_PID"
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 587
	kill -CONT "$DAEMON_PID"
	nl_wait_until 80 has_sender "$USER_B" || fail "no /senders entry for $USER_B"
	expect_eq "B's sender" "sg_connect true null null" \
		"$(newest_sender "$USER_B" '"\(.comm) \(.process.gone) \(.process.exe) \(.process.cwd)"')"
}

# A customer at its quota of processes (2 here) cannot hide a third: the
# kernel announces it although it has no room to record it, once an interval
# (an hour here), and the daemon logs and serves it as not recorded. A's
# processes stay alive until then: the stale sweep removes exited senders,
# which would give a later one room to be recorded.
test_daemon_unrecorded_sender()
{
	local uid i

	uid=$(id -u "$USER_A")
	write_config "$T/smtpguard.conf" "[policy]" "uid_processes = 2" "deny_event_interval = 1h"
	start_daemon "$T/smtpguard.conf"
	for i in 1 2 3 4; do
		start_holder "$USER_A" "$T/a$i.hold" 25
	done
	# The ring is read in order: once B's event is logged, all of A's are.
	expect_connects "$USER_B" "ok=1 eperm=0 other=0" -n 1 "$NET4" 25
	nl_wait_until 30 grep -q "new sender uid $(id -u "$USER_B") " "$T/daemon.log" ||
		fail "no line for $USER_B: $(tail -n 3 "$T/daemon.log")"
	expect_eq "A's lines" 3 "$(grep -c "new sender uid $uid " "$T/daemon.log")"
	expect_eq "A's lines not recorded" 1 \
		"$(grep "new sender uid $uid " "$T/daemon.log" |
			grep -c ", not recorded: over its process quota$")"
	nl_wait_until 80 newest_not_recorded "$USER_A" process_quota ||
		fail "/senders: $(newest_sender "$USER_A" .not_recorded)"
	for i in 1 2 3 4; do
		kill "$(cat "$T/a$i.hold")"
	done
}

# A customer's process names itself with terminal controls, a C1 CSI and a
# fake field: the daemon's line about it is one line, escaped, fields intact.
test_daemon_hostile_title()
{
	local uid pid line want

	uid=$(id -u "$USER_A")
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	# shellcheck disable=SC2016 # expanded by the user's bash
	as_user "$USER_A" env -C /tmp bash -c 'exec -a "$0" bash -c "$1" ' \
		$'\e[2J\a\r\n\xc2\x9b" action=ban ip=1.2.3.4' \
		"printf 'x\\033[2J\\a\\r\\n' >/proc/\$\$/comm; exec 3<>/dev/tcp/$NET4/25; sleep 3; :" &
	pid=$!
	nl_wait_until 80 grep -q "^smtpguard: new sender uid $uid " "$T/daemon.log" ||
		fail "no log line for $USER_A"
	wait "$pid" || true
	line=$(grep -a "^smtpguard: new sender uid $uid " "$T/daemon.log")
	[[ $line =~ \ pid\ ([0-9]+)\  ]] || fail "no pid in '$line'"
	pid=${BASH_REMATCH[1]}
	want="smtpguard: new sender uid $uid ($USER_A) pid $pid \"x\\x1b[2J\\x07\\x0d\\x0a\""
	want+=" exe=/usr/bin/bash cmdline=\"\\x1b[2J\\x07\\x0d\\x0a\\xc2\\x9b\\x22 action=ban"
	want+=" ip=1.2.3.4 -c printf 'x\\\\033[2J\\\\a\\\\r\\\\n' >/proc/\$\$/comm;"
	want+=" exec 3<>/dev/tcp/$NET4/25; sleep 3; :\" cwd=/tmp -> $NET4:25"
	expect_eq "the hostile sender's line" "$want" "$line"
	# Nothing of the title outside its line, and no control byte anywhere.
	expect_eq "lines naming the fake field" 1 "$(grep -ac 'action=ban' "$T/daemon.log")"
	expect_eq "control bytes in the log" 0 "$(LC_ALL=C grep -ac $'[\x01-\x09\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$T/daemon.log")"
}

# A PHP-FPM worker's connection is attributed to the script it runs (fpm.sh starts the pool).
test_daemon_php_fpm()
{
	local cgi

	trap fpm_cleanup EXIT
	fpm_start
	fpm_write_mailer
	write_config "$T/smtpguard.conf" "[attribution]" "php_fpm_sockets = $T/fpm.sock" \
		"php_fpm_status_path = /status"
	start_daemon "$T/smtpguard.conf"
	SCRIPT_FILENAME=$T/www/mail.php REQUEST_METHOD=GET \
		cgi-fcgi -bind -connect "$T/fpm.sock" >"$T/fpm/response" 2>&1 &
	cgi=$!
	echo "$cgi" >>"$T/pids"
	nl_wait_until 80 has_sender "$USER_A" || fail "no /senders entry for $USER_A"
	expect_eq "the sender" "$USER_A php-fpm8.2 /usr/sbin/php-fpm8.2 $T/www/mail.php" \
		"$(newest_sender "$USER_A" '"\(.user) \(.comm) \(.process.exe) \(.process.script)"')"
	grep -q "script=$T/www/mail.php" "$T/daemon.log" || fail "the log line has no script"
	wait "$cgi"
}

# A policy whose time is up is removed by the daemon and audited as expired.
test_daemon_expiry()
{
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A" --for 4s
	sg ban 203.0.113.0/24 --for 4s
	expect_connects "$USER_A" "ok=0 eperm=1 other=0" -n 1 "$NET4" 25
	nl_wait_until 70 expired_in_log || fail "no expiry audited: $(cat "$T/audit.log" 2>/dev/null)"
	nl_wait_until 30 grep -qs '"action":"ban-expire"' "$T/audit.log" || fail "no ban expiry audited"
	expect_eq "ban expiry entry" "daemon 203.0.113.0/24" \
		"$(jq -r 'select(.action == "ban-expire") | "\(.actor) \(.target)"' "$T/audit.log")"
	expect_eq "ban entries" 0 "$(map_dump sg_bans | jq length)"
	expect_eq "expiry entry" "daemon expire $(id -u "$USER_A") $USER_A block" \
		"$(jq -r 'select(.action == "expire") | "\(.actor) \(.action) \(.uid) \(.user) \(.params.mode)"' "$T/audit.log")"
	# Only root's, the allow list's observe policy, is left.
	expect_eq "policy entries" 1 "$(map_dump sg_policies | jq length)"
	expect_connects "$USER_A" "ok=1 eperm=0 other=0" -n 1 "$NET4" 25
}

expired_in_log()
{
	grep -qs '"action":"expire"' "$T/audit.log"
}

# $SMTPGUARD_AUDIT_LOG (lib.sh: $T/audit.log) moves the daemon's audit log as
# it moves the CLI's: `smtpguard log` shows the daemon's entries.
test_daemon_audit_env()
{
	write_config "$T/smtpguard.conf"
	sed -i "s|^log = .*|log = $T/configured.log|" "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A" --for 2s >/dev/null
	nl_wait_until 50 expired_in_log || fail "no expiry audited: $(cat "$T/audit.log" 2>/dev/null)"
	expect_eq "the CLI's and the daemon's entries" "cli:block daemon:expire" \
		"$(sg log --json | jq -r 'map("\(.actor | sub(":.*"; "")):\(.action)") | join(" ")')"
	[ ! -e "$T/configured.log" ] || fail "the daemon wrote the configured log: $(cat "$T/configured.log")"
}

# The unit file is one systemd accepts, with the binary where `make install` puts it.
test_systemd_unit()
{
	sed "s|/usr/local/sbin/smtpguard|$SG_BIN|" "$ROOT/dist/smtpguard.service" >"$T/smtpguard.service"
	# Its Documentation= names the man pages the package installs, not on this host.
	systemd-analyze verify --man=no "$T/smtpguard.service" >"$T/verify.out" 2>&1 ||
		fail "systemd-analyze verify: $(head -n 3 "$T/verify.out")"
	expect_eq "verify output" "" "$(cat "$T/verify.out")"
	expect_eq "Type" notify "$(sed -n 's/^Type=//p' "$T/smtpguard.service")"
	expect_eq "Restart" always "$(sed -n 's/^Restart=//p' "$T/smtpguard.service")"
}

# The unit's CapabilityBoundingSet as a mask (linux/capability.h's numbers),
# less what this shell's own bounding set lacks; in /proc's status format.
unit_cap_mask()
{
	local own mask=0 cap n

	own=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
	for cap in $(sed -n 's/^CapabilityBoundingSet=//p' "$ROOT/dist/smtpguard.service"); do
		n=$(awk -v c="$cap" '$1 == "#define" && $2 == c { print $3 }' /usr/include/linux/capability.h)
		mask=$((mask | 1 << n))
	done
	printf '%016x\n' $((mask & 16#$own))
}

# The daemon runs in the unit's sandbox, not as full root: its bounding set,
# capabilities (whatever the caller's inheritable ones) and no_new_privs are
# the unit's, its /tmp is private (only the test's directory, its stand-in,
# and the project's tree when it is in /tmp), and / is read-only: an audit
# log outside the unit's writable paths is refused, said once a streak,
# while the expiry it records is done all the same and nothing is written
# there.
test_daemon_sandbox()
{
	local log=$ROOT/build/sgt-$ID-audit.log status

	write_config "$T/smtpguard.conf"
	SMTPGUARD_AUDIT_LOG=$log start_daemon "$T/smtpguard.conf"
	status=/proc/$DAEMON_PID/status
	expect_eq "NoNewPrivs" 1 "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$status")"
	expect_eq "CapBnd" "$(unit_cap_mask)" "$(awk '$1 == "CapBnd:" { print $2 }' "$status")"
	expect_eq "CapEff" "$(unit_cap_mask)" "$(awk '$1 == "CapEff:" { print $2 }' "$status")"
	# A caller's inheritable capability (some container runtimes give them) stays outside.
	# shellcheck disable=SC2016 # awk's fields, in the sandbox
	expect_eq "CapEff, the caller with an inheritable CAP_SYS_MODULE" "$(unit_cap_mask)" \
		"$(setpriv --inh-caps +sys_module -- "${SANDBOX[@]}" \
			awk '$1 == "CapEff:" { print $2 }' /proc/self/status)"
	# The test's directory, and the project's tree when it is a clone in /tmp.
	expect_eq "the daemon's /tmp" \
		"$({ echo "${T#/tmp/}"; [[ $ROOT != /tmp/* ]] || echo "${ROOT#/tmp/}" | cut -d/ -f1; } | sort)" \
		"$(ls -A "/proc/$DAEMON_PID/root/tmp" | sort)"
	expect_eq "the daemon's /var/tmp" "" "$(ls -A "/proc/$DAEMON_PID/root/var/tmp")"
	sg block "$USER_A" --for 1s >/dev/null
	nl_wait_until 50 grep -q "audit log $log: " "$T/daemon.log" ||
		fail "no audit failure: $(tail -n 3 "$T/daemon.log")"
	expect_eq "the daemon's audit failure" \
		"smtpguard: writing audit log $log: Read-only file system; what depends on it goes on, this is told again when a write works" \
		"$(grep "audit log $log: " "$T/daemon.log")"
	[ ! -e "$log" ] || { rm -f "$log"; fail "the daemon wrote $log"; }
	# Expired all the same: only root's observe policy is left.
	expect_eq "policy entries" 1 "$(map_dump sg_policies | jq length)"
	expect_connects "$USER_A" "ok=1 eperm=0 other=0" -n 1 "$NET4" 25
}
