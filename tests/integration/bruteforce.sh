# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Password guessing against the mail server (S1), on the mail lab's real
# Postfix and Dovecot (scripts/mta-lab.sh), the daemon following their logs
# and XDP on the server's uplink:
#
#   bruteforce_vs_fail2ban  a wrong-password guesser on submission; fail2ban's
#                           postfix-sasl jail and smtpguard watch the same
#                           Postfix log with the same limit (5 failures in
#                           10 min). Both times to ban are printed (figures,
#                           not asserted); smtpguard's ban drops the
#                           guesser's next SYN, is audited and counted
#   bruteforce_syn_rate     a scanner's SYNs to the login ports: banned at
#                           XDP by their rate; the ban expires (audited) and
#                           the second offence is banned twice as long
#   bruteforce_distributed  one account guessed from four addresses, once
#                           each: the account alerted once, every address
#                           banned, a fifth banned at its first failure;
#                           ten addresses of one IPv6 /64 failing on another
#                           account are one source there (a typo after them
#                           is a typo), and the /64 is banned whole when it
#                           joins the attack
#
# Each test builds its own mail lab and removes it on any exit. Sourced by run.sh.

TESTS+=(bruteforce_vs_fail2ban bruteforce_syn_rate bruteforce_distributed)

# A failed AUTH on submission from SRC_IP: swaks' status (non-zero: refused or no connection).
bf_guess() # SRC_IP ACCOUNT PASSWORD
{
	mlab_swaks "$1" "$2" "$3" "$2" "nobody@example.net" --quit-after AUTH
}

# Whether an entry of the audit log passes FILTER (jq, with its --arg options).
bf_audited() # [--arg NAME VALUE]... FILTER
{
	jq -s -e "${@:1:$#-1}" "any(.[]; ${*: -1})" "$T/audit.log" >/dev/null
}

# Lines of Postfix's log that record a failed SASL login.
bf_failures()
{
	grep -c 'SASL PLAIN authentication failed' "$MLAB_MAILLOG" || true
}

# fail2ban's server with only the postfix-sasl jail on the lab's log, its
# ban action writing "IP TIME" to $T/f2b.bans, its state in $T/f2b.
bf_fail2ban_start() # MAXRETRY
{
	local d=$T/f2b

	mkdir -p "$d/action.d" "$d/jail.d"
	cp -r /etc/fail2ban/filter.d "$d/"
	cat >"$d/fail2ban.conf" <<EOF
[Definition]
loglevel = INFO
logtarget = $T/f2b.log
socket = $T/f2b.sock
pidfile = $T/f2b.pid
dbfile = :memory:
EOF
	cat >"$d/jail.conf" <<EOF
[DEFAULT]
backend = polling
ignoreip =
findtime = 600
bantime = 3600
maxretry = $1

[postfix-sasl]
enabled = true
filter = postfix[mode=auth]
logpath = $MLAB_MAILLOG
action = sgrecord
EOF
	cat >"$d/action.d/sgrecord.conf" <<EOF
[Definition]
actionstart =
actionstop =
actioncheck =
actionban = echo "<ip> \$(date +%%s.%%N)" >> $T/f2b.bans
actionunban =
EOF
	fail2ban-server -f -x -c "$d" -s "$T/f2b.sock" -p "$T/f2b.pid" >"$T/f2b.out" 2>&1 &
	echo $! >>"$T/pids"
	nl_wait_until 100 grep -q "Jail 'postfix-sasl' started" "$T/f2b.log" ||
		fail "fail2ban: $(tail -n 3 "$T/f2b.out" "$T/f2b.log" 2>/dev/null)"
}

# The time the Nth failed login reached Postfix's log.
bf_nth_failure_at() # N
{
	grep 'SASL PLAIN authentication failed' "$T/maillog.tlog" | sed -n "$1p" | cut -d' ' -f1
}

test_bruteforce_vs_fail2ban()
{
	local ip=${MLAB_ATTACKERS[0]} i t0 tl ts tf n fails

	mta_for_test "[bruteforce]" "auth_failures = 5" "window = 10m" \
		"state = $T/offenders.json"
	bf_fail2ban_start 5
	mta_stamp_maillog
	# The guesser: passwords derived from the address, one connection each, as bots do.
	t0=$EPOCHREALTIME
	for i in $(seq 1 12); do
		bf_guess "$ip" "$MLAB_VICTIM" "victim$i" >"$T/guess.$i" 2>&1 || true
		grep -Eq '^<[-~]  235 ' "$T/guess.$i" && fail "guess $i logged in"
		grep -qi 'error connecting\|timed out\|timeout' "$T/guess.$i" && break
	done
	fails=$(bf_failures)
	echo "# guesser: $fails failed logins in $i attempts, then no connection"
	nl_wait_until 100 grep -q "ban $ip rule=auth_failures" "$MTA_DAEMON_LOG" ||
		fail "smtpguard did not ban $ip: $(grep -E 'ban|alert' "$MTA_DAEMON_LOG" | tail -n 3)"
	nl_wait_until 100 grep -q "^$ip " "$T/f2b.bans" ||
		fail "fail2ban did not ban $ip: $(tail -n 5 "$T/f2b.log")"
	tl=$(bf_nth_failure_at 5)
	ts=$(mta_since 0 "ban $ip rule=auth_failures")
	tf=$(grep -m1 "^$ip " "$T/f2b.bans" | cut -d' ' -f2)
	[ -n "$tl" ] && [ -n "$ts" ] && [ -n "$tf" ] || fail "times: '$tl' '$ts' '$tf'"
	awk -v t0="$t0" -v l="$tl" -v s="$ts" -v f="$tf" 'BEGIN {
		printf "# time to ban after the 5th failure was logged: smtpguard %.1f ms, fail2ban %.1f ms\n", (s - l) * 1000, (f - l) * 1000
		printf "# time to ban from the first guess: smtpguard %.3f s, fail2ban %.3f s\n", s - t0, f - t0
	}'

	# The guesser's next SYN goes nowhere: XDP drops it, and says so.
	n=$(mta_metric smtpguard_banned_packets_total)
	bf_guess "$ip" "$MLAB_VICTIM" "victim99" >"$T/guess.after" 2>&1 &&
		fail "the banned guesser still connects: $(tail -n 2 "$T/guess.after")"
	nl_wait_until 20 bf_more_drops "$n" || fail "no drop counted after $n"
	expect_eq "failed logins in the log" "$fails" "$(bf_failures)"
	nl_wait_until 30 mta_is 1 mta_metric 'smtpguard_bans{reason="auth_failures"}' ||
		fail "bans: $(mta_metric 'smtpguard_bans{reason="auth_failures"}')"
	expect_eq "smtpguard_auth_failures_total{service=\"smtp\"}" "$fails" \
		"$(mta_metric 'smtpguard_auth_failures_total{service="smtp"}')"
	expect_eq "smtpguard_bruteforce_bans_total{reason=\"auth_failures\"}" 1 \
		"$(mta_metric 'smtpguard_bruteforce_bans_total{reason="auth_failures"}')"
	grep -q "ban $ip rule=auth_failures value=5 limit=5 for=1h offences=1" "$MTA_DAEMON_LOG" ||
		fail "ban line: $(grep "ban $ip" "$MTA_DAEMON_LOG")"
	bf_audited --arg ip "$ip" '.action == "ban" and .target == $ip and
		.params.rule == "auth_failures" and .params.offences == 1 and .actor == "daemon"' ||
		fail "no audited ban of $ip: $(tail -n 2 "$T/audit.log")"
	jq -e --arg ip "$ip" '.[$ip].offences == 1' "$T/offenders.json" >/dev/null ||
		fail "offenders: $(cat "$T/offenders.json" 2>/dev/null)"
	# alice, from another address, still logs in and sends.
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice refused after the ban"
}

bf_more_drops() # THAN
{
	awk 'BEGIN { exit !(ARGV[1] > ARGV[2]) }' \
		"$(mta_metric smtpguard_banned_packets_total)" "$1"
}

# COUNT TCP connections from SRC_IP to the server's PORT, each closed at
# once, 0.5 s at most each; prints how many were accepted.
bf_connects() # SRC_IP PORT COUNT
{
	mlab_in_inet python3 -c '
import socket, sys
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ok = 0
for _ in range(min(n, 1000)):
    s = socket.socket()
    s.settimeout(0.5)
    s.bind((src, 0))
    try:
        s.connect((dst, port))
        ok += 1
    except OSError:
        pass
    s.close()
print(ok)' "$1" "$MLAB_HOST4" "$2" "$3"
}

test_bruteforce_syn_rate()
{
	local ip=${MLAB_ATTACKERS[1]} t

	mta_for_test "[bruteforce]" "syn_rate = 20" "ban = 10s" "ban_factor = 2" \
		"state = $T/offenders.json"
	# 19 a minute is a mail client; the 20th makes it a scanner.
	expect_eq "connections accepted" 19 "$(bf_connects "$ip" 143 19)"
	sleep 2
	grep -q "ban $ip" "$MTA_DAEMON_LOG" && fail "banned at 19 SYNs"
	bf_connects "$ip" 993 1 >/dev/null
	nl_wait_until 30 grep -q "ban $ip rule=syn_rate value=20 limit=20 for=10s offences=1" \
		"$MTA_DAEMON_LOG" || fail "not banned: $(grep -E "ban|$ip" "$MTA_DAEMON_LOG" | tail -n 3)"
	expect_eq "connections accepted while banned" 0 "$(bf_connects "$ip" 143 1)"
	# Counted by the next tick's pass over sg_bans.
	nl_wait_until 30 mta_is 1 mta_metric 'smtpguard_bans{reason="syn_rate"}' ||
		fail "bans: $(mta_metric 'smtpguard_bans{reason="syn_rate"}')"
	# Port 25 is where servers deliver: never counted.
	bf_connects "${MLAB_ATTACKERS[2]}" 25 30 >/dev/null
	# The ban ends, and the sweep says so in the audit log.
	nl_wait_until 200 grep -q "1 expired ban removed" "$MTA_DAEMON_LOG" ||
		fail "the ban did not expire: $(tail -n 3 "$MTA_DAEMON_LOG")"
	bf_audited --arg ip "$ip" '.action == "ban-expire" and .target == ($ip + "/32") and
		.params.reason == "syn_rate"' ||
		fail "no audited expiry: $(tail -n 2 "$T/audit.log")"
	# A repeat offender: twice as long.
	bf_connects "$ip" 143 20 >/dev/null
	nl_wait_until 30 grep -q "ban $ip rule=syn_rate value=20 limit=20 for=20s offences=2" \
		"$MTA_DAEMON_LOG" || fail "no second ban: $(grep "ban $ip" "$MTA_DAEMON_LOG")"
	grep -q "ban ${MLAB_ATTACKERS[2]}" "$MTA_DAEMON_LOG" && fail "banned for port 25"
	t=$(grep -c "ban $ip rule=" "$MTA_DAEMON_LOG")
	expect_eq "bans of $ip" 2 "$t"
}

# Lines of Dovecot's log that record a failed IMAP login from SRC (a prefix of the address).
bf_imap_failures() # SRC
{
	grep -c "imap-login: .*auth failed.*rip=$1" "$MLAB_DOVECOT_LOG" || true
}

test_bruteforce_distributed()
{
	local i net=2001:db8:bad:: rc=0 pids=()

	# Dovecot answers each failure at once: what counts here is where the
	# failures come from, not their pace (2 s each by default: 20 s a run).
	# shellcheck disable=SC2034 # mlab_up's
	MLAB_AUTH_FAILURE_DELAY=0
	mta_for_test "[bruteforce]" "auth_failures = 50" "distributed = 4" \
		"state = $T/offenders.json"
	# Ten addresses of one IPv6 customer's /64 fail on alice's account at once: one source.
	for i in "${!MLAB_ATTACKERS6[@]}"; do
		mlab_imap "${MLAB_ATTACKERS6[$i]}" "$MLAB_ALICE" "guess$i" >/dev/null 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	nl_wait_until 50 mta_is 10 bf_imap_failures "$net" ||
		fail "IMAP failures from $net/64: $(bf_imap_failures "$net")"
	for i in 0 1 2; do
		bf_guess "${MLAB_ATTACKERS[$i]}" "$MLAB_VICTIM" "guess$i" >/dev/null 2>&1 || true
	done
	# Another account's failure is another account's; after the /64's, a typo.
	bf_guess "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "typo" >/dev/null 2>&1 || true
	sleep 2
	grep -q "ban \|alert account" "$MTA_DAEMON_LOG" && fail "banned at 3 addresses"
	bf_guess "${MLAB_ATTACKERS[3]}" "$MLAB_VICTIM" "guess3" >/dev/null 2>&1 || true
	nl_wait_until 30 grep -q "alert account=$MLAB_VICTIM rule=distributed addresses=4 limit=4" \
		"$MTA_DAEMON_LOG" || fail "no alert: $(tail -n 3 "$MTA_DAEMON_LOG")"
	for i in 0 1 2 3; do
		nl_wait_until 30 grep -q "ban ${MLAB_ATTACKERS[$i]} rule=distributed value=4 limit=4 .* account=$MLAB_VICTIM" \
			"$MTA_DAEMON_LOG" || fail "${MLAB_ATTACKERS[$i]} not banned"
	done
	# /metrics is published at the tick; the bans come as the failure is read.
	nl_wait_until 30 mta_is 4 mta_metric 'smtpguard_bans{reason="distributed"}' ||
		fail "bans: $(mta_metric 'smtpguard_bans{reason="distributed"}')"
	grep -q "ban ${MLAB_ATTACKERS[4]}" "$MTA_DAEMON_LOG" && fail "alice's address banned"
	# The attack goes on from a new address: banned at its first failure, no second alert.
	mlab_in_inet ip addr add 198.51.100.15/24 dev "$MLAB_VETH_INET"
	bf_guess 198.51.100.15 "$MLAB_VICTIM" "guess4" >/dev/null 2>&1 || true
	nl_wait_until 30 grep -q "ban 198.51.100.15 rule=distributed value=5 limit=4" \
		"$MTA_DAEMON_LOG" || fail "the fifth address not banned"
	expect_eq "alerts" 1 "$(grep -c 'alert account=' "$MTA_DAEMON_LOG")"
	bf_audited --arg a "$MLAB_VICTIM" '.action == "alert" and .target == $a and
		.params.rule == "distributed"' || fail "alert not audited"
	# The /64 joins the attack: banned whole at its first failure, its next address dropped.
	mlab_imap "${MLAB_ATTACKERS6[0]}" "$MLAB_VICTIM" guess >/dev/null 2>&1 && fail "guessed"
	nl_wait_until 30 grep -q "ban $net/64 rule=distributed value=6 limit=4 .* account=$MLAB_VICTIM" \
		"$MTA_DAEMON_LOG" || fail "$net/64 not banned: $(grep "ban " "$MTA_DAEMON_LOG" | tail -n 2)"
	mlab_imap "${MLAB_ATTACKERS6[1]}" "$MLAB_VICTIM" guess --connect-timeout 1 >/dev/null 2>&1 ||
		rc=$?
	expect_eq "curl's exit from the banned /64 (28: no connection)" 28 "$rc"
	expect_eq "IMAP failures from $net/64" 11 "$(bf_imap_failures "$net")"
	expect_eq "bans of the /64's addresses" 0 "$(grep -c "ban $net[0-9a-f]" "$MTA_DAEMON_LOG")"
	nl_wait_until 30 mta_is 6 mta_metric 'smtpguard_bans{reason="distributed"}' ||
		fail "bans: $(mta_metric 'smtpguard_bans{reason="distributed"}')"
}

