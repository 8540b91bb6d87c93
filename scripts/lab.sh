#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The lab: a reproducible shared-hosting box in two network namespaces, for
# the demo, the containment benchmark and tests.
#
#   netns $LAB_NS_HOST  the hosting box: $LAB_VETH_HOST with 203.0.113.1/24
#                       (the box's address, the default source) and
#                       2001:db8:1::1/64, plus one "dedicated IP" per
#                       legitimate customer (203.0.113.3-5), so the sink log
#                       tells senders apart; loopback with the exporter
#   netns $LAB_NS_INET  "the internet": 20 remote MXs, 203.0.113.10 to .29
#                       (and 2001:db8:1::25), one sg_sink on port 25 of all
#                       of them that takes recipients ok*@ and answers 550
#                       to every other
#   cgroup $LAB_CG      every customer process runs here; the connect hooks
#                       watch it (never the cgroup root)
#   bpffs $LAB_BPFFS    private pins (SMTPGUARD_PIN_DIR), never /sys/fs/bpf
#   users               $LAB_USER_STEADY1, $LAB_USER_STEADY2: one message
#                       every 3 to 5 s; $LAB_USER_NEWS: a newsletter
#                       publisher, bursts on demand; $LAB_USER_WEB: the
#                       compromised web account whose uploaded PHP file
#                       ($LAB_WEB_SCRIPT, run by the php CLI) sends spam
#                       straight to the MXs (S6)
#
# Nothing routes out of the namespaces, and only 203.0.113.0/24 and
# 2001:db8:1::/64 are used. Names are unique per lab (namespaces sglab-ID-*).
#
# As a script:
#   scripts/lab.sh up [--daemon] [--for SECONDS]   build it, print its
#                  variables, hold it until Ctrl-C or SECONDS (default and
#                  at most 3540, within the sinks' hour),
#                  then remove it
#   scripts/lab.sh env [ID]     the variables of a lab that is up, for eval
#   scripts/lab.sh down [ID]    remove a lab (its own `up` does it on exit);
#                  without ID, every lab whose maker is gone
#
# Sourced (tests, demo.sh, bench-containment.sh): lab_up, lab_down (safe at
# any point, and twice), lab_daemon_start, lab_daemon_stop, lab_sg, lab_as,
# lab_steady_start, lab_news_burst, lab_web_run, and the readers below. The
# caller sets its own traps. Every name is prefixed lab_/LAB_, so that this
# file can be sourced next to tests/integration/lib.sh; `sg` is defined too
# unless the caller already has one. The namespaces, veth, bpffs, cgroup,
# sink and users are made and removed by scripts/lib/netlab.sh (nl_*).

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$LAB_ROOT/scripts/lib/netlab.sh"
LAB_SG_BIN=$LAB_ROOT/smtpguard

LAB_HOST4=203.0.113.1
LAB_HOST6=2001:db8:1::1
LAB_MX6=2001:db8:1::25
# The legitimate customers' own source addresses; the web user has none and
# sends from the box's address, as a script that never asked would.
# shellcheck disable=SC2034 # for the scripts that source this file
LAB_SRC_WEB=$LAB_HOST4
LAB_SRC_NEWS=203.0.113.3
LAB_SRC_STEADY1=203.0.113.4
LAB_SRC_STEADY2=203.0.113.5
LAB_MX4=()
for _i in $(seq 10 29); do
	LAB_MX4+=("203.0.113.$_i")
done
unset _i
# What each legitimate customer sends to: one provider's MX each for the
# steady users, five for the newsletter.
LAB_MX_STEADY1=203.0.113.10
LAB_MX_STEADY2=203.0.113.11
LAB_MX_NEWS=203.0.113.12,203.0.113.13,203.0.113.14,203.0.113.15,203.0.113.16

LAB_EXPORTER=127.0.0.1:9025
# What lab_daemon_start puts before the daemon's command (a test's sandbox,
# the systemd unit's: tests/tools/unit-sandbox.sh); nothing by default.
LAB_DAEMON_WRAP=()
# How long a sink lives at most: longer than any lab, bounded all the same.
LAB_SINK_SECONDS=3600

# Set by lab_up; empty while no lab is up.
LAB_ID=
LAB=
LAB_NS_HOST=
LAB_NS_INET=
LAB_VETH_HOST=
LAB_VETH_INET=
LAB_CG=
LAB_BPFFS=
LAB_PIN=
LAB_CONF=
LAB_AUDIT=
LAB_SINK_LOG=
LAB_DAEMON_LOG=
LAB_DAEMON_TLOG=
LAB_DAEMON_PID=
LAB_USER_STEADY1=
LAB_USER_STEADY2=
LAB_USER_NEWS=
LAB_USER_WEB=
LAB_WEB_SCRIPT=
LAB_MAILER=

# --- helpers -----------------------------------------------------------------

lab_log()
{
	echo "lab: $*" >&2
}

# The hosting box, where the customers and smtpguard run.
lab_in_host()
{
	nl_in "$LAB_NS_HOST" "$@"
}

# The smtpguard CLI in the hosting box, on the lab's pins, audit log and config.
lab_sg()
{
	lab_in_host env SMTPGUARD_PIN_DIR="$LAB_PIN" SMTPGUARD_AUDIT_LOG="$LAB_AUDIT" \
		SMTPGUARD_CONFIG="$LAB_CONF" "$LAB_SG_BIN" "$@"
}

if ! declare -F sg >/dev/null; then
	sg()
	{
		lab_sg "$@"
	}
fi

# --- the box -----------------------------------------------------------------

# Checks what the lab cannot run without; says what is missing.
lab_check()
{
	local tool why

	why=$(nl_need php ip nsenter setpriv useradd userdel mountpoint curl jq) ||
		{ lab_log "$why"; return 1; }
	[ -n "$(nl_cgroup2_root)" ] || { lab_log "no cgroup2 mount in /proc/self/mounts"; return 1; }
	for tool in "$LAB_SG_BIN" "$NL_SINK_BIN"; do
		[ -x "$tool" ] || { lab_log "$tool missing (make all build/tools/sg_sink)"; return 1; }
	done
}

# Names for a new lab: unique per run, short enough for 15-character interface names.
lab_names()
{
	nl_names LAB sglab sgl
	LAB_CG=$(nl_cgroup2_root)/sglab-$LAB_ID
	LAB_USER_STEADY1=steady1-$LAB_ID
	LAB_USER_STEADY2=steady2-$LAB_ID
	LAB_USER_NEWS=news-$LAB_ID
	LAB_USER_WEB=web-$LAB_ID
}

# The box's own and its customers' addresses, the MXs' in "the internet":
# each sender and each MX is told apart in the sink log.
lab_network()
{
	nl_netns "$LAB" "$LAB_NS_HOST" "$LAB_NS_INET" &&
		nl_veth "$LAB_NS_HOST" "$LAB_VETH_HOST" "$LAB_NS_INET" "$LAB_VETH_INET" &&
		nl_addrs "$LAB_NS_HOST" "$LAB_VETH_HOST" "$LAB_HOST4/24" "$LAB_SRC_NEWS/24" \
			"$LAB_SRC_STEADY1/24" "$LAB_SRC_STEADY2/24" "$LAB_HOST6/64" &&
		nl_addrs "$LAB_NS_INET" "$LAB_VETH_INET" "${LAB_MX4[@]/%//24}" "$LAB_MX6/64" &&
		nl_carrier "$LAB_NS_HOST" "$LAB_VETH_HOST" "$LAB_NS_INET" "$LAB_VETH_INET"
}

# The remote MXs: one sink on port 25 of every MX address.
lab_sinks()
{
	local a args=()

	for a in "${LAB_MX4[@]}"; do
		args+=(--listen "$a:25")
	done
	args+=(--listen "[$LAB_MX6]:25")
	nl_sink_start "$LAB" "$LAB_NS_INET" "$LAB_SINK_LOG" --max-seconds "$LAB_SINK_SECONDS" \
		--accept ok "${args[@]}"
}

# --- what the customers run --------------------------------------------------

# The SMTP dialogue both PHP scripts speak: a command, and its reply's code.
lab_write_smtp_lib()
{
	install -m 0644 /dev/null "$LAB/smtp.php"
	cat >"$LAB/smtp.php" <<'EOF'
<?php
// The final reply's code ("NNN " after any "NNN-" lines); 0 when the server is gone.
function reply($s)
{
	do {
		$l = fgets($s, 1024);
		if ($l === false)
			return 0;
	} while (strlen($l) > 3 && $l[3] === '-');
	return (int)$l;
}

function cmd($s, $line)
{
	fwrite($s, "$line\r\n");
	return reply($s);
}
EOF
}

# The legitimate customers' mailing script: COUNT messages, one SMTP session
# each, to the MXs round-robin, from their own address; paced at RATE per
# second, or one every MIN to MAX seconds; never longer than SECONDS. BAD
# percent of the recipients are dead addresses (the sink answers 550).
lab_write_mailer()
{
	lab_write_smtp_lib
	sed "s|@SMTP_LIB@|$LAB/smtp.php|" >"$LAB_MAILER" <<'EOF'
<?php
// usage: php mailer.php --src ADDR --mx A,B,... [--count N] [--rate R | --every MIN-MAX]
//                       [--for SECONDS] [--bad PERCENT] [--from ADDR]
$o = getopt('', ['src:', 'mx:', 'count:', 'rate:', 'every:', 'for:', 'bad:', 'from:']);
$mx = explode(',', $o['mx'] ?? '');
$count = max(1, (int)($o['count'] ?? 1));
$rate = (float)($o['rate'] ?? 0);
[$emin, $emax] = array_map('floatval', explode('-', ($o['every'] ?? '0') . '-'));
$emax = max($emin, $emax);
$seconds = (float)($o['for'] ?? 60);
$bad = (int)($o['bad'] ?? 0);
$from = $o['from'] ?? 'info@customer.example';
$ctx = stream_context_create(['socket' => ['bindto' => ($o['src'] ?? '0.0.0.0') . ':0']]);
$n = ['sent' => 0, 'delivered' => 0, 'refused' => 0, 'eperm' => 0, 'other' => 0];

require '@SMTP_LIB@';

$t0 = microtime(true);
$at = $t0;
for ($i = 0; $i < $count; $i++) {
	if ($i)
		$at = $rate > 0 ? $t0 + $i / $rate : $at + $emin + ($emax - $emin) * mt_rand() / mt_getrandmax();
	if ($at - $t0 >= $seconds)
		break;
	if (($wait = $at - microtime(true)) > 0)
		usleep((int)($wait * 1e6));
	$host = $mx[$i % count($mx)];
	$n['sent']++;
	$s = @stream_socket_client("tcp://$host:25", $errno, $errstr, 2, STREAM_CLIENT_CONNECT, $ctx);
	if (!$s) {
		$n[$errno == 1 ? 'eperm' : 'other']++;
		continue;
	}
	stream_set_timeout($s, 2);
	$rcpt = (mt_rand(1, 100) <= $bad ? 'gone' : 'ok') . "-$i@reader.example";
	if (reply($s) == 220 && cmd($s, 'EHLO customer.example') == 250 &&
	    cmd($s, "MAIL FROM:<$from>") == 250) {
		if (cmd($s, "RCPT TO:<$rcpt>") != 250)
			$n['refused']++;
		elseif (cmd($s, 'DATA') == 354 &&
			cmd($s, "Subject: news $i\r\nFrom: $from\r\nTo: $rcpt\r\n\r\nHello.\r\n.") == 250)
			$n['delivered']++;
		else
			$n['other']++;
	} else {
		$n['other']++;
	}
	cmd($s, 'QUIT');
	fclose($s);
}
$out = 'mailer:';
foreach ($n as $k => $v)
	$out .= " $k=$v";
echo "$out\n";
EOF
}

# The compromised upload (S6), a dropper as found in hacked WordPress sites:
# straight to the remote MXs on port 25, round-robin, random recipients (one
# in ten exists), one SMTP session per message, RATE connections per second
# for at most COUNT connections and SECONDS. It prints one line: outcomes,
# and the microtime of its first connect and first EPERM (the kernel refusing
# the connection: fsockopen's errno 1, "Operation not permitted").
lab_write_web_script()
{
	local mx

	mx=$(printf "'%s', " "${LAB_MX4[@]}")
	mkdir -p "$(dirname "$LAB_WEB_SCRIPT")"
	sed "s|@MX_LIST@|${mx%, }|; s|@SMTP_LIB@|$LAB/smtp.php|" >"$LAB_WEB_SCRIPT" <<'EOF'
<?php
// php wp-cache.php [RATE] [COUNT] [SECONDS]
$mx = [@MX_LIST@];
$rate = max(1.0, (float)($argv[1] ?? 100));
$count = max(1, (int)($argv[2] ?? 1000));
$seconds = max(0.1, (float)($argv[3] ?? 15));
$n = ['attempts' => 0, 'connected' => 0, 'eperm' => 0, 'other' => 0, 'delivered' => 0,
      'refused' => 0];
$first_connect = $first_eperm = null;

require '@SMTP_LIB@';

$t0 = microtime(true);
for ($i = 0; $i < $count; $i++) {
	$at = $t0 + $i / $rate;
	if ($at - $t0 >= $seconds)
		break;
	if (($wait = $at - microtime(true)) > 0)
		usleep((int)($wait * 1e6));
	$host = $mx[$i % count($mx)];
	$first_connect ??= microtime(true);
	$n['attempts']++;
	$s = @fsockopen($host, 25, $errno, $errstr, 2);
	if (!$s) {
		if ($errno == 1) {
			$first_eperm ??= microtime(true);
			$n['eperm']++;
		} else {
			$n['other']++;
		}
		continue;
	}
	$n['connected']++;
	stream_set_timeout($s, 2);
	$rcpt = (mt_rand(0, 9) ? '' : 'ok') . substr(md5((string)mt_rand()), 0, 10) . '@example.net';
	if (reply($s) == 220 && cmd($s, 'EHLO localhost') == 250 &&
	    cmd($s, 'MAIL FROM:<wordpress@' . gethostname() . '>') == 250) {
		if (cmd($s, "RCPT TO:<$rcpt>") != 250)
			$n['refused']++;
		elseif (cmd($s, 'DATA') == 354 &&
			cmd($s, "Subject: Your account\r\nTo: $rcpt\r\n\r\nClick here.\r\n.") == 250)
			$n['delivered']++;
	}
	cmd($s, 'QUIT');
	fclose($s);
}
$out = 'wp-cache:';
foreach ($n as $k => $v)
	$out .= " $k=$v";
printf("%s first_connect=%.6f first_eperm=%s end=%.6f\n", $out, $first_connect ?? 0,
       $first_eperm === null ? '-' : sprintf('%.6f', $first_eperm), microtime(true));
EOF
	chown -R "$LAB_USER_WEB:" "$LAB/home/$LAB_USER_WEB/public_html"
	chmod -R u=rwX,go=rX "$LAB/home/$LAB_USER_WEB/public_html"
}

# Runs CMD as USER, in the lab cgroup, in the hosting box, from DIR, with a
# customer's environment: the cgroup is joined before dropping root.
lab_as_in() # DIR USER CMD...
{
	local dir=$1 user=$2

	shift 2
	nl_as "$LAB_NS_HOST" "$LAB_CG" "$dir" "$user" env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME="$LAB/home/$user" USER="$user" LOGNAME="$user" "$@"
}

# Runs CMD as USER from its home (see lab_as_in).
lab_as() # USER CMD...
{
	local user=$1

	shift
	lab_as_in "$LAB/home/$user" "$user" "$@"
}

# The legitimate mailer as USER, from SRC; prints its summary line.
lab_mail_as() # USER SRC MAILER-ARGS...
{
	local user=$1 src=$2

	shift 2
	lab_as "$user" php "$LAB/home/$user/mail.php" --src "$src" \
		--from "info@$user.example" "$@"
}

# Both steady users in the background, each one message every 3 to 5 s to
# its own MX for SECONDS (default 60); summaries in $LAB/out/steady{1,2}.out.
lab_steady_start() # [SECONDS]
{
	local s=${1:-60}

	lab_mail_as "$LAB_USER_STEADY1" "$LAB_SRC_STEADY1" --mx "$LAB_MX_STEADY1" \
		--every 3-5 --count 1000 --for "$s" >"$LAB/out/steady1.out" 2>&1 &
	lab_mail_as "$LAB_USER_STEADY2" "$LAB_SRC_STEADY2" --mx "$LAB_MX_STEADY2" \
		--every 3-5 --count 1000 --for "$s" >"$LAB/out/steady2.out" 2>&1 &
}

# The newsletter: COUNT messages (default 150) at RATE per second (default
# 20) over five MXs, 3% to dead addresses; prints the summary line.
lab_news_burst() # [COUNT] [RATE]
{
	local count=${1:-150} rate=${2:-20}

	lab_mail_as "$LAB_USER_NEWS" "$LAB_SRC_NEWS" --mx "$LAB_MX_NEWS" --count "$count" \
		--rate "$rate" --bad 3 --for $((count / rate + 30))
}

# The compromised script, run by the php CLI as the web user from its
# uploads directory, at RATE (default 100/s) for at most COUNT connections
# (default 1000) and SECONDS (default 15); prints its summary line.
lab_web_run() # [RATE] [COUNT] [SECONDS]
{
	lab_as_in "$(dirname "$LAB_WEB_SCRIPT")" "$LAB_USER_WEB" php "$LAB_WEB_SCRIPT" \
		"${1:-100}" "${2:-1000}" "${3:-15}"
}

# What each legitimate customer sent before the daemon ever looked (one
# message each): to the detector they are known senders, not new ones.
lab_history()
{
	lab_mail_as "$LAB_USER_STEADY1" "$LAB_SRC_STEADY1" --mx "$LAB_MX_STEADY1" >/dev/null
	lab_mail_as "$LAB_USER_STEADY2" "$LAB_SRC_STEADY2" --mx "$LAB_MX_STEADY2" >/dev/null
	lab_mail_as "$LAB_USER_NEWS" "$LAB_SRC_NEWS" --mx "$LAB_MX_NEWS" >/dev/null
}

# --- reading the lab ---------------------------------------------------------

# The value of KEY in a summary line "name: key=value ..." in FILE.
lab_field() # FILE KEY
{
	tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | tail -n 1
}

# Sink log lines of KIND from source address SRC (all sources without):
# accept (connections), rcpt250, rcpt550 (recipients), data (messages).
lab_sink_count() # KIND [SRC]
{
	nl_sink_count "$LAB_SINK_LOG" "$@"
}

lab_http_get() # PATH [CURL-ARGS...]
{
	local path=$1

	shift
	lab_in_host curl -sS --max-time 5 "$@" "http://$LAB_EXPORTER$path"
}

lab_healthy()
{
	[ "$(lab_http_get /healthz 2>/dev/null)" = ok ]
}

# The value of one series, exactly as named with its labels; "absent" when not there.
lab_metric() # SERIES
{
	lab_http_get /metrics | awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "absent" }'
}

# Milliseconds from T0 to T (epoch seconds with decimals); "-" if T is empty or "-".
lab_ms_since() # T0 T
{
	if [ -z "$2" ] || [ "$2" = - ]; then
		echo -
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}

# The daemon's first action line about USER: "EPOCH-SECONDS RULE" from the timed log, or empty.
lab_action_logged() # USER
{
	awk -v u="user=$1" '$2 == "smtpguard:" && $3 == "action" && $5 == u {
		sub("rule=", "", $7); print $1, $7; exit }' "$LAB_DAEMON_TLOG"
}

# --- the daemon --------------------------------------------------------------

# The detection config of the lab: a default kernel throttle for everyone,
# the detector's rules and automatic throttles, and the newsletter
# publisher's own limits. Extra lines (whole sections) are appended.
lab_write_config() # FILE [LINE...]
{
	local f=$1

	shift
	cat >"$f" <<EOF
[daemon]
interfaces = $LAB_VETH_HOST
cgroup = $LAB_CG
[exporter]
listen = $LAB_EXPORTER
control = $LAB/run/control.sock
[audit]
log = $LAB_AUDIT
syslog = no
[policy]
default = throttle
rate = 20/min
burst = 20
[detect]
rate_floor = 120/min
rate_factor = 5
destinations = 50
new_sender_rate = 60/min
new_sender_min = 10
failure_ratio = 0.5
failure_min = 20
baselines = $LAB/baselines.gz
release_grace = 1h
[actions]
rate = throttle 6/min for 1h
new_sender = throttle 6/min for 1h
destinations = alert
failure_ratio = alert
[override $LAB_USER_NEWS]
limit = 6000/h
burst = 300
rate_floor = 600/min
destinations = 100
EOF
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$f"
}

# `smtpguard run -c CONF` (default $LAB_CONF) in the hosting box on the lab's
# pins and audit log; output to $LAB_DAEMON_LOG (and timed, $LAB_DAEMON_TLOG).
# Returns once /healthz says ok.
lab_daemon_start() # [CONF]
{
	local conf=${1:-$LAB_CONF}

	# The daemon's stdout is line-buffered: the timed log says when it wrote each line.
	nl_stamped "$LAB" "$LAB/daemon.fifo" "$LAB_DAEMON_LOG" "$LAB_DAEMON_TLOG"
	# env execs: $NL_PID is the daemon itself.
	nl_spawn "$LAB" "$LAB_NS_HOST" "${LAB_DAEMON_WRAP[@]}" env SMTPGUARD_PIN_DIR="$LAB_PIN" \
		SMTPGUARD_AUDIT_LOG="$LAB_AUDIT" SMTPGUARD_CONFIG="$conf" \
		"$LAB_SG_BIN" run -c "$conf" </dev/null >"$LAB/daemon.fifo" 2>&1
	LAB_DAEMON_PID=$NL_PID
	nl_wait_until 100 lab_healthy || {
		lab_log "the daemon is not healthy: $(tail -n 3 "$LAB_DAEMON_LOG" 2>/dev/null)"
		return 1
	}
}

# SIGTERM, then SIGKILL if it has not exited within 5 s.
lab_daemon_stop()
{
	[ -n "$LAB_DAEMON_PID" ] || return 0
	kill -TERM "$LAB_DAEMON_PID" 2>/dev/null || true
	nl_wait_until 50 nl_gone "$LAB_DAEMON_PID" || kill -KILL "$LAB_DAEMON_PID" 2>/dev/null || true
	LAB_DAEMON_PID=
}

# --- up and down -------------------------------------------------------------

# "PID START": this shell and its start time, which tells it from a later process with its pid.
lab_owner()
{
	echo "$$ $(awk '{ print $22 }' "/proc/$$/stat")"
}

# Whether the shell that made the lab in DIR still runs.
lab_owner_alive() # DIR
{
	local pid start

	read -r pid start <"$1/owner" 2>/dev/null || return 1
	[ -n "$pid" ] && [ "$(awk '{ print $22 }' "/proc/$pid/stat" 2>/dev/null)" = "$start" ]
}

# The variables of the lab, as shell assignments (lab.env, `lab.sh env`).
lab_env()
{
	local v

	for v in LAB_ID LAB LAB_NS_HOST LAB_NS_INET LAB_VETH_HOST LAB_VETH_INET LAB_CG \
		LAB_BPFFS LAB_PIN LAB_CONF LAB_AUDIT LAB_SINK_LOG LAB_DAEMON_LOG LAB_DAEMON_TLOG \
		LAB_HOST4 LAB_HOST6 LAB_MX6 LAB_SRC_WEB LAB_SRC_NEWS LAB_SRC_STEADY1 LAB_SRC_STEADY2 \
		LAB_USER_STEADY1 LAB_USER_STEADY2 LAB_USER_NEWS LAB_USER_WEB LAB_WEB_SCRIPT \
		LAB_MAILER LAB_EXPORTER; do
		printf '%s=%q\n' "$v" "${!v}"
	done
	printf 'LAB_MX4=(%s)\n' "${LAB_MX4[*]}"
	# What the CLI needs to act on this lab from any shell (`attach` also needs the netns).
	printf 'export SMTPGUARD_PIN_DIR=%q SMTPGUARD_AUDIT_LOG=%q SMTPGUARD_CONFIG=%q\n' \
		"$LAB_PIN" "$LAB_AUDIT" "$LAB_CONF"
}

# Builds a lab: namespaces, veth, addresses, cgroup, bpffs, sinks, users and
# their scripts, the lab config; attaches smtpguard (observe) and plays the
# legitimate users' history. Returns non-zero, with a reason on stderr, if
# any step fails: the caller's lab_down removes what was made.
lab_up()
{
	local u

	lab_check || return 1
	lab_names
	LAB=$(mktemp -d /tmp/sglab-"$LAB_ID".XXXXXX)
	# Customers must reach their homes under it.
	chmod 0711 "$LAB"
	mkdir "$LAB/home" "$LAB/out"
	lab_owner >"$LAB/owner"
	LAB_BPFFS=$LAB/bpffs
	LAB_PIN=$LAB_BPFFS/smtpguard
	LAB_CONF=$LAB/smtpguard.conf
	LAB_AUDIT=$LAB/audit.log
	LAB_SINK_LOG=$LAB/sink.log
	LAB_DAEMON_LOG=$LAB/daemon.log
	LAB_DAEMON_TLOG=$LAB/daemon.tlog
	LAB_MAILER=$LAB/mailer.php
	LAB_WEB_SCRIPT=$LAB/home/$LAB_USER_WEB/public_html/wp-content/uploads/wp-cache.php
	nl_bpffs "$LAB" || return 1
	nl_cgroup "$LAB" "$LAB_CG" || return 1

	lab_network || { lab_log "cannot build the network"; return 1; }
	lab_sinks || return 1
	for u in "$LAB_USER_STEADY1" "$LAB_USER_STEADY2" "$LAB_USER_NEWS" "$LAB_USER_WEB"; do
		nl_user_add "$LAB" "$u" "$LAB/home/$u" || return 1
	done
	lab_write_mailer
	for u in "$LAB_USER_STEADY1" "$LAB_USER_STEADY2" "$LAB_USER_NEWS"; do
		install -m 0644 -o "$u" "$LAB_MAILER" "$LAB/home/$u/mail.php"
	done
	lab_write_web_script
	lab_write_config "$LAB_CONF"
	lab_env >"$LAB/lab.env"

	lab_sg attach --cgroup "$LAB_CG" -i "$LAB_VETH_HOST" >/dev/null ||
		{ lab_log "smtpguard attach failed"; return 1; }
	lab_history || { lab_log "the legitimate users' first messages failed"; return 1; }
}

# Removes everything lab_up made, whatever state it got to; safe to run twice.
lab_down()
{
	lab_daemon_stop
	nl_down "$LAB"
	LAB=
	LAB_CG=
	LAB_BPFFS=
}

# --- as a script -------------------------------------------------------------

# The lab directory of ID, or of the only lab when ID is empty.
lab_find() # [ID]
{
	local dirs

	mapfile -t dirs < <(compgen -G "/tmp/sglab-${1:-*}.*/lab.env" | xargs -r -n 1 dirname)
	if [ ${#dirs[@]} -eq 1 ]; then
		echo "${dirs[0]}"
		return
	fi
	if [ ${#dirs[@]} -eq 0 ]; then
		lab_log "no lab${1:+ $1} is up"
	else
		lab_log "several labs are up (${dirs[*]}): name one by its ID"
	fi
	return 1
}

# Loads the variables of the lab in DIR, so that lab_down can remove it.
lab_load() # DIR
{
	# shellcheck source=/dev/null
	. "$1/lab.env"
}

# Removes the lab in DIR: the shell that made it, while alive, does it on SIGTERM.
lab_down_dir() # DIR
{
	local dir=$1 owner

	if lab_owner_alive "$dir"; then
		read -r owner _ <"$dir/owner"
		kill -TERM "$owner"
		nl_wait_until 150 test ! -d "$dir" && return 0
		lab_log "lab $dir: its owner $owner did not remove it; removing it here"
	fi
	lab_load "$dir"
	lab_down
}

LAB_HOLD_PID=

# The EXIT trap of `lab.sh up`: the hold ends too, then the lab goes.
lab_script_exit()
{
	[ -z "$LAB_HOLD_PID" ] || kill "$LAB_HOLD_PID" 2>/dev/null || true
	lab_down
}

lab_main()
{
	local cmd=${1:-} hold=3540 daemon=0 dir

	shift || true
	case $cmd in
	up)
		while [ $# -gt 0 ]; do
			case $1 in
			--daemon) daemon=1 ;;
			--for) hold=$2; shift ;;
			*) echo "usage: lab.sh up [--daemon] [--for SECONDS]" >&2; exit 2 ;;
			esac
			shift
		done
		if ! [[ $hold =~ ^[0-9]+$ ]] || [ "$hold" -lt 1 ] || [ "$hold" -gt 3540 ]; then
			echo "lab.sh: --for takes 1 to 3540 seconds" >&2
			exit 2
		fi
		nl_trap lab_script_exit
		# Not in a condition: under set -e, any step that fails ends here, and the trap cleans up.
		lab_up
		if [ "$daemon" -eq 1 ]; then
			lab_daemon_start "$LAB_CONF"
		fi
		cat "$LAB/lab.env"
		echo "# lab $LAB_ID is up for ${hold}s: Ctrl-C, or scripts/lab.sh down $LAB_ID, removes it" >&2
		# In the background, so that a signal ends the wait at once.
		sleep "$hold" &
		LAB_HOLD_PID=$!
		wait "$LAB_HOLD_PID" || true
		;;
	env)
		dir=$(lab_find "${1:-}") || exit 1
		cat "$dir/lab.env"
		;;
	down)
		if [ -n "${1:-}" ]; then
			dir=$(lab_find "$1") || exit 1
			lab_down_dir "$dir"
			exit
		fi
		# Without an ID: every lab whose maker no longer runs (killed, crashed).
		for dir in /tmp/sglab-*.*; do
			[ -f "$dir/lab.env" ] || continue
			if lab_owner_alive "$dir"; then
				lab_log "$dir: still in use; lab.sh down ID removes it"
				continue
			fi
			(lab_load "$dir" && lab_down)
		done
		;;
	*)
		echo "usage: lab.sh up [--daemon] [--for SECONDS] | env [ID] | down [ID]" >&2
		exit 2
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	lab_main "$@"
fi
