# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The mail-server view end to end (S1 to S4), on a real Postfix with Dovecot
# SASL and mailboxes (scripts/mta-lab.sh), the attacker and a sink MX that
# refuses most recipients in "the internet" namespace, and the daemon
# following Postfix's maillog_file and Dovecot's log:
#
#   mta_sasl_contained  a weak password guessed, spam to many dead addresses:
#                       the account contained (the time from its first
#                       message reported), its queued mail held (none deleted), its
#                       login IP dropped at XDP; a legitimate user on the same
#                       server untouched; release delivers the held mail
#   mta_many_ips        one account used from several IPs: client_ips fires
#   mta_local_flood     a local user's mail() flood named by its UID, and
#                       its submissions refused while contained
#
# Each test builds its own mail lab and removes it on any exit. Sourced by run.sh.

TESTS+=(mta_sasl_contained mta_many_ips mta_local_flood)

# shellcheck source=scripts/mta-lab.sh
. "$ROOT/scripts/mta-lab.sh"

MTA_DAEMON_LOG=
MTA_DAEMON_TLOG=
MTA_NS=   # where the mail server and the daemon run
MTA_CONF= # the daemon's config
MTA_ENTER=() # what enters the lab's mount namespace, where its MTA's commands work (Exim's)
MTA_STANDINS=() # a test's own UNITPATH=PATH for the daemon's sandbox (daemon.sh's unit_sandbox)

# The mail lab and the daemon for this test, removed however the test ends.
# Extra config lines go at the end, in [detect] until they open a section.
mta_for_test() # [CONFIG-LINE...]
{
	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF" "$@"
	mta_daemon_start postfix "$MLAB_MAILLOG"
}

# What every mail test's daemon config starts with, whatever its MTA: the
# server's uplink VETH and the test cgroup, the exporter and its control socket
# (the test's own: never the host's /run/smtpguard), the test's audit log.
mta_config_head() # VETH
{
	cat <<EOF
[daemon]
interfaces = $1
cgroup = $CG
[exporter]
listen = 127.0.0.1:9025
control = $T/run/control.sock
[audit]
log = $T/audit.log
syslog = no
EOF
}

mta_write_config() # FILE [LINE...]
{
	local f=$1

	shift
	mta_config_head "$MLAB_VETH_HOST" >"$f"
	cat >>"$f" <<EOF
[mta]
type = postfix
logs = $MLAB_MAILLOG $MLAB_DOVECOT_LOG
postfix_config = $MLAB_POSTFIX_DIR
# Both files are the servers' own (maillog_file, Dovecot's log_path): no trust_syslog.
dovecot_config = $MLAB_DOVECOT_CONF
state = $T/contained.json
ban = 1h
# Only where a test asks for one (mta_policy_socket), in its lab: never the host's spool.
policy_socket = none
[detect]
baselines = $T/baselines.gz
EOF
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$f"
}

# The policy service of the daemon on FILE at PATH (its lab's, never auto's host path).
mta_policy_socket() # FILE PATH
{
	sed -i "s|^policy_socket = none\$|policy_socket = $2|" "$1"
	grep -qxF "policy_socket = $2" "$1" || fail "no policy_socket line in $1"
}

# The daemon on $MTA_CONF in $MTA_NS, output timed line by line (nl_stamped);
# it must say it follows MTA's LOG. It runs under the systemd unit's sandbox
# (daemon.sh's unit_sandbox), the lab's files standing in for the MTA's, so
# that a unit which breaks containment (postmap, postsuper or exim -Mf
# writing what the unit leaves read-only, or dropping to the mail owner)
# breaks these tests: the lab's whole tree, its logs among it, as the unit
# leaves /var/log (read-only), its config, spool and Exim's log directory
# as the unit leaves the MTA's. Exim's sandbox is made in the lab's mount
# namespace, where its exim finds its passwd entry and config, as the real
# one would.
mta_daemon_start() # MTA LOG
{
	MTA_DAEMON_LOG=$T/mta-daemon.log
	MTA_DAEMON_TLOG=$T/mta-daemon.tlog
	rm -f "$MTA_DAEMON_LOG" "$MTA_DAEMON_TLOG"
	MTA_ENTER=()
	if [ "$1" = postfix ]; then
		unit_sandbox "/var/log=$MLAB" "/etc/postfix=$MLAB_POSTFIX_DIR" \
			"/var/spool/postfix=$MLAB_SPOOL" "/var/lib/postfix=$MLAB/lib" "${MTA_STANDINS[@]}"
	else
		unit_sandbox "/var/log=$ELAB" "/etc/exim4=$ELAB_EXIM_DIR" \
			"/var/spool/exim4=$ELAB_SPOOL" "/var/log/exim4=$ELAB/log" \
			${ELAB_POLICY_SOCKET:+"/run/smtpguard=${ELAB_POLICY_SOCKET%/*}"}
		MTA_ENTER=(nsenter --mount="/proc/$ELAB_HOLDER_PID/ns/mnt" --)
	fi
	nl_stamped "$T" "$T/mta-daemon.fifo" "$MTA_DAEMON_LOG" "$MTA_DAEMON_TLOG"
	nl_spawn "$T" "$MTA_NS" "${MTA_ENTER[@]}" "${SANDBOX[@]}" env SMTPGUARD_CONFIG="$MTA_CONF" \
		"$SG_BIN" run -c "$MTA_CONF" </dev/null >"$T/mta-daemon.fifo" 2>&1
	echo "$NL_PID" >"$T/mta-daemon.pid"
	nl_wait_until 100 mta_healthy || fail "daemon: $(tail -n 3 "$MTA_DAEMON_LOG")"
	grep -q "mta: $1, following $2" "$MTA_DAEMON_LOG" ||
		fail "not following $2: $(grep mta: "$MTA_DAEMON_LOG")"
}

mta_daemon_stop()
{
	MTA_ENTER=()
	[ -s "$T/mta-daemon.pid" ] || return 0
	kill -TERM "$(cat "$T/mta-daemon.pid")" 2>/dev/null || true
	nl_wait_until 50 nl_gone "$(cat "$T/mta-daemon.pid")" || true
	rm -f "$T/mta-daemon.pid"
}

mta_healthy()
{
	[ "$(nl_in "$MTA_NS" curl -s --max-time 1 http://127.0.0.1:9025/healthz)" = ok ]
}

# smtpguard's CLI in the mail server's namespaces, on the test's config.
mta_sg() # ARGS...
{
	nl_in "$MTA_NS" "${MTA_ENTER[@]}" env SMTPGUARD_CONFIG="$MTA_CONF" "$SG_BIN" "$@"
}

mta_metric() # SERIES
{
	nl_in "$MTA_NS" curl -s --max-time 2 http://127.0.0.1:9025/metrics |
		awk -v s="$1" '$1 == s { print $2 }'
}

# Queue ids Postfix accepted from LOGIN (its smtpd "client=..., sasl_username=" lines).
mta_qids_of() # LOGIN
{
	sed -n "s/.* postfix[^:]*smtpd\[[0-9]*\]: \([0-9A-Za-z]*\): client=.*sasl_username=$1\$/\1/p" \
		"$MLAB_MAILLOG" | sort -u
}

# Of those, the ones with a final outcome from the remote MX (sent or bounced there).
mta_delivered_qids() # LOGIN
{
	local qids

	qids=$(mta_qids_of "$1" | paste -sd'|')
	[ -n "$qids" ] || return 0
	grep -E " ($qids): to=<[^>]*>, relay=[^ ]*203\.0\.113\.10[^ ]*, .* status=(sent|bounced)" \
		"$MLAB_MAILLOG" | sed 's/.*\]: \([0-9A-Za-z]*\): to=.*/\1/' | sort -u
}

mta_escaped() # LOGIN
{
	mta_delivered_qids "$1" | wc -l
}

# Queue ids in the hold queue.
mta_held_qids()
{
	(cd "$MLAB_SPOOL/hold" && ls) 2>/dev/null | sort -u
}

mta_dropped()
{
	awk 'BEGIN { exit !(ARGV[1] > 0) }' "$(mta_metric smtpguard_banned_packets_total)"
}

# Whether CMD prints WANT: for nl_wait_until, which runs its command anew each time.
mta_is() # WANT CMD...
{
	[ "$("${@:2}")" = "$1" ]
}

# Postfix's log as it grows, each line after its arrival time (tail -F
# follows with inotify), into $T/maillog.tlog.
mta_stamp_maillog()
{
	nl_stamped "$T" "$T/maillog.fifo" "$T/maillog.copy.log" "$T/maillog.tlog"
	tail -n +1 -F "$MLAB_MAILLOG" >"$T/maillog.fifo" 2>/dev/null &
	echo $! >>"$T/pids"
}

# Seconds (3 decimals) from T0 to the timed log's first line matching PATTERN.
mta_since() # T0 PATTERN
{
	local t

	t=$(grep -m1 -- "$2" "$MTA_DAEMON_TLOG" | cut -d' ' -f1)
	[ -n "$t" ] || return 1
	awk -v a="$1" -v b="$t" 'BEGIN { printf "%.3f", b - a }'
}

test_mta_sasl_contained()
{
	local i sent t0 took accepted held escaped n_alice ip=${MLAB_ATTACKERS[0]}

	# The remote MXs tarpit (300 ms a recipient), as real ones do to spam:
	# the queue builds up, and the hold has something to hold. Two
	# deliveries at a time, or Postfix would have every one of the bot's
	# forty messages in flight at once, where no hold reaches.
	MLAB_SINK_RCPT_DELAY_MS=300
	MLAB_SMTP_CONCURRENCY=2
	mta_for_test
	# The legitimate user first, as on any evening.
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice's first message refused"
	# The bot: the password is the address's local part; then spam to dead addresses.
	t0=$EPOCHREALTIME
	sent=0
	for i in $(seq 1 40); do
		mlab_swaks "$ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" \
			"$([ $((i % 5)) -eq 0 ] && echo ok || echo dead)$i@d$i.example" \
			>/dev/null 2>&1 || break
		sent=$i
	done
	echo "# bot: $sent of 40 messages accepted, then cut off"
	nl_wait_until 50 grep -q "action contain principal=sasl:$MLAB_VICTIM " "$MTA_DAEMON_LOG" ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	took=$(mta_since "$t0" "action contain principal=sasl:$MLAB_VICTIM ")
	echo "# contained ${took}s after the first message"

	# Held, none deleted: every accepted message either reached the MX before the hold or waits.
	# The deliveries in flight when the hold came end first: against the
	# tarpit, seconds each on a busy machine.
	nl_wait_until 300 mta_is 0 mlab_queue_count active ||
		fail "still in the active queue 30 s after the containment: $(mlab_queue_count active)"
	accepted=$(mta_qids_of "$MLAB_VICTIM" | wc -l)
	escaped=$(mta_escaped "$MLAB_VICTIM")
	# Held and not delivered: a message held during its delivery attempt is both.
	held=$(comm -23 <(mta_held_qids) <(mta_delivered_qids "$MLAB_VICTIM") | wc -l)
	echo "# accepted=$accepted escaped=$escaped held=$held"
	[ "$held" -gt 0 ] || fail "nothing held (accepted $accepted, escaped $escaped)"
	# A message being delivered as it is held can end both ways: count each once.
	expect_eq "accepted, every one delivered or held" "$accepted" \
		"$( (mta_delivered_qids "$MLAB_VICTIM"; mta_held_qids) | sort -u | wc -l)"
	expect_eq "the table" "HOLD" \
		"$(awk -v k="$MLAB_VICTIM" '$1 == k { print $2 }' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
	expect_eq "audited" "contain" "$(jq -r --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "contain") | .action' "$T/audit.log")"

	# The bot's address is dropped at XDP: its next connection goes nowhere.
	expect_eq "bans" 1 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	if mlab_swaks "$ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" dead@x.example \
		>/dev/null 2>&1; then
		fail "the banned address still reached the server"
	fi
	nl_wait_until 20 mta_dropped || fail "no packet dropped by the ban"

	# Alice, on the same server, is untouched: her next message goes out.
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend2@partner.example >/dev/null || fail "alice refused after the containment"
	nl_wait_until 50 mta_is 2 mta_escaped "$MLAB_ALICE" ||
		fail "alice's mail not delivered: $(mta_escaped "$MLAB_ALICE") of 2"
	n_alice=$(grep -c "principal=sasl:$MLAB_ALICE " "$MTA_DAEMON_LOG" || true)
	expect_eq "alice's alerts and actions" 0 "$n_alice"

	# Inbound mail "from" the contained account's address is not held: only
	# what the account itself submits is (no server-wide sender table).
	held=$(mlab_queue_count hold)
	n_alice=$(mlab_mailbox_count "$MLAB_ALICE")
	nl_in "$MLAB_NS_INET" swaks --server "$MLAB_HOST4:25" \
		--local-interface "${MLAB_ATTACKERS[3]}" --timeout 3 --ehlo partner.example \
		--from "$MLAB_VICTIM" --to "$MLAB_ALICE" >/dev/null ||
		fail "inbound mail from the contained account's address refused"
	nl_wait_until 50 mta_is $((n_alice + 1)) mlab_mailbox_count "$MLAB_ALICE" ||
		fail "inbound mail from $MLAB_VICTIM not delivered (hold queue: $(mlab_queue_count hold))"
	expect_eq "held, the inbound message not among them" "$held" "$(mlab_queue_count hold)"
	expect_eq "no sender table" "" "$(find "$MLAB_POSTFIX_DIR" -name "smtpguard_sender_access*")"

	# explain names the account, its rule and its containment.
	mta_sg explain "$MLAB_VICTIM" --json >"$T/explain.json" || fail "explain failed"
	jq -c . "$T/explain.json"
	expect_eq "explain" "$accepted true" \
		"$(jq -r '"\(.daemon.messages) \(.daemon.contained)"' "$T/explain.json")"

	# Release: the held mail goes on its way, the ban and the table entry go.
	mta_sg release "$MLAB_VICTIM" --reason "password changed" >"$T/release.out" ||
		fail "release: $(cat "$T/release.out")"
	nl_wait_until 100 mta_is 0 mlab_queue_count hold || fail "still held after release"
	nl_wait_until 300 mta_is "$accepted" mta_escaped "$MLAB_VICTIM" ||
		fail "held mail not delivered: $(mta_escaped "$MLAB_VICTIM") of $accepted"
	expect_eq "bans after release" 0 "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	expect_eq "table after release" "" \
		"$(awk -v k="$MLAB_VICTIM" '$1 == k' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
	expect_eq "release audited" "release password changed" "$(jq -r --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "release") | "\(.action) \(.reason)"' "$T/audit.log")"
}

test_mta_many_ips()
{
	local i

	# Quiet enough that only the many-IPs rule can fire.
	mta_for_test "client_ips = 3" "[actions]" "client_ips = alert"
	for i in 0 1 2 3; do
		mlab_swaks "${MLAB_ATTACKERS[i]}" "$MLAB_INFO" "$MLAB_INFO_PASS" "$MLAB_INFO" \
			"ok$i@d$i.example" >/dev/null || fail "message from ${MLAB_ATTACKERS[i]} refused"
	done
	nl_wait_until 50 grep -q "alert principal=sasl:$MLAB_INFO rule=client_ips value=4.0 limit=3.0" \
		"$MTA_DAEMON_LOG" || fail "no client_ips alert: $(grep -E 'alert|action' "$MTA_DAEMON_LOG")"
	expect_eq "other rules" "" "$(grep "alert principal=sasl:$MLAB_INFO " "$MTA_DAEMON_LOG" |
		grep -v rule=client_ips)"
	expect_eq "metric" 4 \
		"$(mta_metric "smtpguard_account_client_ips{principal=\"sasl:$MLAB_INFO\",kind=\"sasl\",window=\"1h\"}")"
}

test_mta_local_flood()
{
	local user uid i refused=0

	mta_for_test
	user=$(mlab_add_local_user web) || fail "no local user"
	uid=$(id -u "$(mlab_user_name "$user")")
	# A PHP contact form turned spam cannon: mail() as fast as sendmail goes.
	for i in $(seq 1 40); do
		mlab_sendmail "$user" "wp@hosting.test" "dead$i@d$i.example" 2>/dev/null ||
			refused=$((refused + 1))
	done
	nl_wait_until 50 grep -q "action contain principal=local:$uid uid=$uid user=" "$MTA_DAEMON_LOG" ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	grep -q "alert principal=local:$uid uid=$uid user=$(mlab_user_name "$user") rule=new_sender" \
		"$MTA_DAEMON_LOG" || fail "alert line: $(grep -m1 alert "$MTA_DAEMON_LOG")"
	echo "# local flood: $refused of 40 submissions refused after containment"
	# Contained: its next submission is refused by Postfix itself.
	if mlab_sendmail "$user" "wp@hosting.test" "dead@x.example" 2>/dev/null; then
		fail "a contained local sender could still submit"
	fi
}
