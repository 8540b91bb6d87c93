# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# check-relay (S5), the open-relay self-test, against the MTA lab's real
# Postfix (scripts/mta-lab.sh), run in the mail server's namespace:
#
#   relay_check_closed   the lab as set up: every test refused (Postfix's
#                        454 Relay access denied), exit 0; from 127.0.0.1,
#                        inside mynetworks, the same server relays, and
#                        check-relay says why that may be legitimate
#   relay_check_open     the lab with MLAB_OPEN_RELAY=yes: the tests that
#                        relay named, exit 1; with --domain hosting.test, the
#                        tricks through that domain meet its mailbox table;
#                        nothing queued, nothing sent
#   relay_check_refuses  a target neither local nor in [relay] check_targets
#                        refused before any connection; listed (as an
#                        address, or as a name that resolves to it), it is
#                        tried, in a namespace with nowhere to go
#   relay_runtime        the open lab used by a spammer: the daemon's
#                        open_relay alert within a tick of the delivery's
#                        log line, the client banned; a logged-in user and
#                        inbound mail are not relaying
#
# Each test builds its own lab and removes it on any exit. Sourced by run.sh.

TESTS+=(relay_check_closed relay_check_open relay_check_refuses relay_runtime)

# shellcheck source=scripts/mta-lab.sh
. "$ROOT/scripts/mta-lab.sh"

RELAY_IDS=(ext-ext null-ext local-ext unqual-ext percent bang-local bang quoted quoted-local route)

# The mail lab for this test, removed however the test ends.
relay_lab()
{
	trap 'mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
}

# check-relay ARGS in the mail server's namespace, output in $T/relay.out;
# prints its exit status.
relay_run() # ARGS...
{
	local rc=0

	mlab_in_host "$SG_BIN" check-relay "$@" >"$T/relay.out" 2>&1 || rc=$?
	echo "$rc"
}

# The verdict line of each test, in order: "ID: VERDICT".
relay_verdicts()
{
	local id

	sed -n 's/^test \([a-z-]*\): .*/\1/p' "$T/relay.out" | while read -r id; do
		grep "^$id: " "$T/relay.out"
	done
}

# "ID: VERDICT" for each ID.
relay_expect() # VERDICT ID...
{
	local v=$1 id

	shift
	for id in "$@"; do
		echo "$id: $v"
	done
}

# IDs as the summary lists them.
relay_list() # ID...
{
	local IFS=, ids

	ids="$*"
	echo "${ids//,/, }"
}

relay_summary()
{
	tail -n 1 "$T/relay.out"
}

# Lines of the dialogues that start with PREFIX ("> RSET", "> DATA").
relay_said() # PREFIX
{
	grep -c "^$1" "$T/relay.out" || true
}

# relay_check_refuses' namespace, with nothing but loopback.
RELAY_NS=sgrelay-$ID

test_relay_check_closed()
{
	local rc

	relay_lab
	rc=$(relay_run "$MLAB_HOST4:25")
	expect_eq "exit status ($(relay_summary))" 0 "$rc"
	expect_eq "verdicts" "$(relay_expect 'refused (454 at RCPT)' "${RELAY_IDS[@]}")" \
		"$(relay_verdicts)"
	expect_eq "summary" "check-relay $MLAB_HOST4:25: 0 of 10 tests relay" "$(relay_summary)"
	expect_eq "header" "check-relay $MLAB_HOST4:25: this host, 10 tests, EHLO relaytest.example" \
		"$(head -n 1 "$T/relay.out")"
	# The greeting's name stands for the server's domain.
	grep -qx '> RCPT TO:<relaytest%example.net@mail.hosting.test>' "$T/relay.out" ||
		fail "percent hack: $(grep -A1 '^test percent' "$T/relay.out")"
	expect_eq "sessions from" 10 "$(relay_said "\* connected from $MLAB_HOST4 port ")"
	expect_eq "RSET sent" 10 "$(relay_said '> RSET$')"
	expect_eq "QUIT sent" 10 "$(relay_said '> QUIT$')"
	expect_eq "DATA sent" 0 "$(relay_said '> DATA')"
	expect_eq "warnings" 0 "$(relay_said 'warning:')"

	# A source inside [relay] trusted is warned about as loopback is.
	printf '[relay]\ntrusted = 198.51.100.0/24\n' >"$T/relay.conf"
	rc=$(SMTPGUARD_CONFIG=$T/relay.conf relay_run "$MLAB_HOST4")
	expect_eq "exit status from a trusted source ($(relay_summary))" 0 "$rc"
	grep -q "^warning: the tests came from $MLAB_HOST4, inside \[relay\] trusted: " \
		"$T/relay.out" || fail "no trusted warning: $(grep -B1 '^check-relay' "$T/relay.out")"

	# From 127.0.0.1, in mynetworks, the same server relays: legitimate, and said so.
	rc=$(relay_run 127.0.0.1)
	expect_eq "exit status from loopback ($(relay_summary))" 1 "$rc"
	expect_eq "verdicts from loopback" "$(relay_expect relays "${RELAY_IDS[@]}")" \
		"$(relay_verdicts)"
	grep -q '^warning: the tests came from 127.0.0.1, a loopback address: the server may trust' \
		"$T/relay.out" || fail "no loopback warning: $(grep -B1 '^check-relay' "$T/relay.out")"
	expect_eq "queued" 0 "$(mlab_queue_count all)"
}

test_relay_check_open()
{
	local rc

	MLAB_OPEN_RELAY=yes
	relay_lab
	rc=$(relay_run "$MLAB_HOST4:25")
	expect_eq "exit status ($(relay_summary))" 1 "$rc"
	# mail.hosting.test, the greeting's name, is no domain this server takes
	# mail for: every test is a plain remote recipient, and relays.
	expect_eq "verdicts" "$(relay_expect relays "${RELAY_IDS[@]}")" "$(relay_verdicts)"
	expect_eq "summary" \
		"check-relay $MLAB_HOST4:25: 10 of 10 tests RELAY: open relay ($(relay_list "${RELAY_IDS[@]}"))" \
		"$(relay_summary)"
	expect_eq "DATA sent" 0 "$(relay_said '> DATA')"

	# At hosting.test, which it serves, Postfix looks the tricks' local parts
	# up in its mailbox table (and finds none); the rest still relay.
	rc=$(relay_run --domain hosting.test "$MLAB_HOST4")
	expect_eq "exit status with --domain ($(relay_summary))" 1 "$rc"
	expect_eq "verdicts with --domain" "$(relay_expect relays ext-ext null-ext local-ext unqual-ext)
$(relay_expect 'refused (550 at RCPT)' percent bang-local)
$(relay_expect relays bang quoted)
$(relay_expect 'refused (550 at RCPT)' quoted-local)
$(relay_expect relays route)" "$(relay_verdicts)"
	grep -q '^< 550 5.1.1 <relaytest%example.net@hosting.test>: Recipient address rejected: ' \
		"$T/relay.out" || fail "percent hack reply: $(grep -A8 '^test percent' "$T/relay.out")"
	expect_eq "summary with --domain" "check-relay $MLAB_HOST4:25: 7 of 10 tests RELAY: open relay ($(
		relay_list ext-ext null-ext local-ext unqual-ext bang quoted route))" "$(relay_summary)"

	# Accepted recipients, and yet no message: RSET and QUIT, never DATA.
	expect_eq "queued" 0 "$(mlab_queue_count all)"
	expect_eq "sent to the MX" 0 "$(mlab_sink_count accept)"
}

test_relay_check_refuses()
{
	local ns=$RELAY_NS out rc t0 took conf=$T/relay.conf

	# Only loopback: nothing sent here can leave the namespace.
	nl_netns "$T" "$ns"
	ip -n "$ns" link set lo up
	nl_netns_etc "$T" "$ns"
	# For `ip netns exec` only, which mounts it over /etc/hosts.
	echo "203.0.113.77 relay-target.test" >"/etc/netns/$ns/hosts"

	t0=$EPOCHREALTIME
	expect_refused \
		'^smtpguard: refusing to test 203\.0\.113\.77: not an address of this host, nor in \[relay\]' \
		nl_in "$ns" "$SG_BIN" check-relay 203.0.113.77:25
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
	echo "# refused in ${took}s"
	expect_refused '^smtpguard check-relay: bad target' \
		nl_in "$ns" "$SG_BIN" check-relay '[203.0.113.77]:25'

	# Listed, it is tried; with no route, every test is an error.
	printf '[relay]\ncheck_targets = 198.51.100.9, 203.0.113.77\n' >"$conf"
	rc=0
	out=$(nl_in "$ns" env SMTPGUARD_CONFIG="$conf" "$SG_BIN" check-relay \
		203.0.113.77:25 2>&1) || rc=$?
	printf '%s\n' "$out" >"$T/relay.out"
	expect_eq "exit status, listed" 1 "$rc"
	expect_eq "header, listed" \
		"check-relay 203.0.113.77:25: in [relay] check_targets, 10 tests, EHLO relaytest.example" \
		"$(head -n 1 "$T/relay.out")"
	expect_eq "verdicts, listed" \
		"$(relay_expect 'error (connect: Network is unreachable)' "${RELAY_IDS[@]}")" \
		"$(relay_verdicts)"
	expect_eq "summary, listed" \
		"check-relay 203.0.113.77:25: 0 of 10 tests relay; 10 inconclusive ($(
			relay_list "${RELAY_IDS[@]}"))" \
		"$(relay_summary)"

	# Listed by a name that resolves to it (here from the namespace's own hosts file).
	printf '[relay]\ncheck_targets = relay-target.test\n' >"$conf"
	rc=0
	ip netns exec "$ns" env SMTPGUARD_CONFIG="$conf" "$SG_BIN" check-relay 203.0.113.77 \
		>"$T/relay.out" 2>&1 || rc=$?
	expect_eq "exit status, listed by name" 1 "$rc"
	grep -qx 'check-relay 203.0.113.77:25: in \[relay\] check_targets, .*' "$T/relay.out" ||
		fail "not tried by name: $(head -n 1 "$T/relay.out")"
	expect_refused '^smtpguard: refusing to test 203\.0\.113\.78' \
		ip netns exec "$ns" env SMTPGUARD_CONFIG="$conf" "$SG_BIN" check-relay 203.0.113.78

	# By default, this host's first global address: here none, so 127.0.0.1.
	rc=0
	nl_in "$ns" "$SG_BIN" check-relay >"$T/relay.out" 2>&1 || rc=$?
	expect_eq "exit status, default" 1 "$rc"
	expect_eq "verdicts, default" \
		"$(relay_expect 'error (connect: Connection refused)' "${RELAY_IDS[@]}")" \
		"$(relay_verdicts)"
	expect_eq "header, default" \
		"check-relay 127.0.0.1:25: this host, 10 tests, EHLO relaytest.example" \
		"$(head -n 1 "$T/relay.out")"
}

# One unauthenticated message from SRC_IP to RCPT through the server's port 25.
relay_send() # SRC_IP RCPT
{
	mlab_in_inet swaks --server "$MLAB_HOST4:25" --local-interface "$1" --timeout 5 \
		--ehlo "relay-$1.example" --from "promo@$1.example" --to "$2"
}

# The open lab's relay used at run time: the daemon's open_relay alert
# names the client and its messages within a tick of the delivery's log
# line; a logged-in user and a message for a local mailbox are not relaying.
test_relay_runtime()
{
	local ip=${MLAB_ATTACKERS[1]} t_line t_alert

	MLAB_OPEN_RELAY=yes
	mta_for_test "[relay]" "ban = 1h"
	mta_stamp_maillog
	# Not relaying: alice logged in; mail in for a mailbox here.
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice refused"
	relay_send "${MLAB_ATTACKERS[2]}" "$MLAB_INFO" >/dev/null || fail "inbound mail refused"
	nl_wait_until 50 grep -q "to=<ok-friend@partner.example>.*status=sent" "$MLAB_MAILLOG" ||
		fail "alice's message not delivered"
	# The spammer, through the open relay: alerted and banned on its first message.
	relay_send "$ip" ok1@far1.example >/dev/null || fail "relay attempt refused"
	nl_wait_until 50 grep -q "alert open_relay client=$ip " "$MTA_DAEMON_LOG" ||
		fail "no open_relay alert: $(tail -n 3 "$MTA_DAEMON_LOG")"
	grep -q "alert open_relay client=$ip messages=1 rcpt=ok1@far1.example" "$MTA_DAEMON_LOG" ||
		fail "alert: $(grep open_relay "$MTA_DAEMON_LOG")"
	t_line=$(grep -m1 "to=<ok1@far1.example>.*status=sent" "$T/maillog.tlog" | cut -d' ' -f1)
	t_alert=$(mta_since "$t_line" "alert open_relay client=$ip ")
	echo "# open_relay alert ${t_alert}s after the relayed delivery's log line"
	nl_wait_until 30 mta_is 1 mta_metric smtpguard_relay_messages_total ||
		fail "relayed: $(mta_metric smtpguard_relay_messages_total)"
	expect_eq "smtpguard_relay_alerts_total" 1 "$(mta_metric smtpguard_relay_alerts_total)"
	grep -q "open_relay client=${MLAB_ATTACKERS[4]}\|open_relay client=${MLAB_ATTACKERS[2]}" \
		"$MTA_DAEMON_LOG" && fail "alice or the inbound mail taken for relaying"
	# [relay] ban: the relaying client is dropped at XDP.
	grep -q "ban $ip rule=open_relay for=1h" "$MTA_DAEMON_LOG" || fail "not banned"
	nl_wait_until 30 mta_is 1 mta_metric 'smtpguard_bans{reason="open_relay"}' ||
		fail "bans: $(mta_metric 'smtpguard_bans{reason="open_relay"}')"
	expect_eq "smtpguard_bruteforce_bans_total{reason=\"open_relay\"}" 1 \
		"$(mta_metric 'smtpguard_bruteforce_bans_total{reason="open_relay"}')"
	relay_send "$ip" ok2@far2.example >/dev/null 2>&1 && fail "the banned client still sends"
	# Another client is another alert, with its own count.
	relay_send "${MLAB_ATTACKERS[3]}" ok3@far3.example >/dev/null ||
		fail "the second client's message refused"
	nl_wait_until 50 grep -q "alert open_relay client=${MLAB_ATTACKERS[3]} messages=1 " \
		"$MTA_DAEMON_LOG" || fail "no alert for the second client"
	nl_wait_until 30 mta_is 2 mta_metric smtpguard_relay_alerts_total ||
		fail "alerts: $(mta_metric smtpguard_relay_alerts_total)"
	return 0
}
