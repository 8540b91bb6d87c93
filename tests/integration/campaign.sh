# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Credential stuffing end to end, on the Postfix + Dovecot lab and the
# daemon of mta.sh (its helpers):
#
#   mta_campaign  12 accounts with leaked passwords; two bot addresses log
#                 in to each in turn and send one message to a dead address
#                 (no account comes near a rule of its own): both addresses
#                 condemned (on their bounces, or on the accounts the first
#                 one's verdict holds), banned at XDP (reason campaign),
#                 every account they logged in to contained through Postfix,
#                 each once (those the bans kept them from, not); alice, on
#                 another address, untouched; explain shows the evidence
#
# Sourced by run.sh.

TESTS+=(mta_campaign)

# mta_for_test's lab and daemon, with [mta] ban = 0: the containments ban
# nothing, so every ban is the campaign rule's own.
campaign_for_test()
{
	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	# shellcheck disable=SC2034 # mta.sh's, read by its helpers
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF"
	sed -i 's/^ban = 1h$/ban = 0/' "$MTA_CONF"
	mta_daemon_start postfix "$MLAB_MAILLOG"
}

# Lines of the daemon's log matching PATTERN.
campaign_count() # PATTERN
{
	grep -c -- "$1" "$MTA_DAEMON_LOG" || true
}

test_mta_campaign()
{
	local i ip n=12 bots=("${MLAB_ATTACKERS[0]}" "${MLAB_ATTACKERS[1]}") v used

	campaign_for_test
	# The leaked accounts: Dovecot reads its passwd-file again when it changes.
	for i in $(seq 0 $((n - 1))); do
		printf 'stuff%d@%s:{PLAIN}leaked%d\n' "$i" "$MLAB_DOMAIN" "$i"
	done >>"$MLAB/dovecot/users"
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice's message refused"
	# Once banned, a bot's sessions time out: that is the ban working.
	for i in $(seq 0 $((n - 1))); do
		for ip in "${bots[@]}"; do
			mlab_swaks "$ip" "stuff$i@$MLAB_DOMAIN" "leaked$i" "stuff$i@$MLAB_DOMAIN" \
				"dead$i@d$i.example" >/dev/null 2>&1 || true
		done
	done
	for ip in "${bots[@]}"; do
		nl_wait_until 100 grep -q "campaign $ip condemned accounts=" "$MTA_DAEMON_LOG" ||
			fail "$ip not condemned: $(grep campaign "$MTA_DAEMON_LOG" | tail -n 3)"
		v=$(sed -n "s/.*campaign $ip condemned accounts=\([0-9]*\) limit=10 .*/\1/p" \
			"$MTA_DAEMON_LOG")
		if [ "$v" -lt 10 ] || [ "$v" -gt $n ]; then
			fail "$ip condemned with accounts=$v"
		fi
		echo "# $(grep -m1 "campaign $ip condemned" "$MTA_DAEMON_LOG" | sed 's/.*campaign /campaign /')"
		grep -q "campaign $ip condemned accounts=$v limit=10 held=[0-9]* sent=0 bounced=[0-9]* new=no ban=1h\$" \
			"$MTA_DAEMON_LOG" || fail "verdict line: $(grep "campaign $ip condemned" \
			"$MTA_DAEMON_LOG")"
	done
	# Every account a bot logged in to (Postfix says which: the bans cut the
	# last ones off) is contained once; one never logged in to, never.
	used=0
	for i in $(seq 0 $((n - 1))); do
		if ! grep -q "sasl_username=stuff$i@$MLAB_DOMAIN\$" "$MLAB_MAILLOG"; then
			expect_eq "stuff$i, never logged in to, contained" 0 \
				"$(campaign_count "action contain principal=sasl:stuff$i@$MLAB_DOMAIN ")"
			continue
		fi
		used=$((used + 1))
		nl_wait_until 50 grep -q "action contain principal=sasl:stuff$i@$MLAB_DOMAIN rule=campaign " \
			"$MTA_DAEMON_LOG" || fail "stuff$i not contained: $(grep "stuff$i@" \
			"$MTA_DAEMON_LOG" | tail -n 3)"
		expect_eq "stuff$i contained once" 1 \
			"$(campaign_count "action contain principal=sasl:stuff$i@$MLAB_DOMAIN ")"
		expect_eq "stuff$i in the table" HOLD "$(awk -v k="stuff$i@$MLAB_DOMAIN" \
			'$1 == k { print $2 }' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
	done
	echo "# $used of $n accounts logged in to before the bans, each contained"
	[ "$used" -ge 10 ] || fail "only $used accounts logged in to"
	expect_eq "alice's lines" 0 "$(campaign_count "sasl:$MLAB_ALICE")"
	nl_wait_until 30 mta_is 2 mta_metric 'smtpguard_bans{reason="campaign"}' ||
		fail "campaign bans: $(mta_metric 'smtpguard_bans{reason="campaign"}')"
	expect_eq "condemned" 2 "$(mta_metric smtpguard_campaign_addresses_condemned_total)"
	expect_eq "held" $used "$(mta_metric smtpguard_campaign_accounts_held_total)"
	expect_eq "audited bans" "${bots[0]} ${bots[1]}" "$(jq -r \
		'select(.action == "ban" and .params.rule == "campaign") | .target' "$T/audit.log" |
		sort | paste -sd' ')"
	# The banned address goes nowhere.
	if mlab_swaks "${bots[0]}" "stuff0@$MLAB_DOMAIN" leaked0 "stuff0@$MLAB_DOMAIN" \
		dead@x.example >/dev/null 2>&1; then
		fail "a condemned address still reached the server"
	fi
	mta_sg explain "${bots[0]}" --json >"$T/explain-ip.json" || fail "explain of the address"
	jq -c .daemon "$T/explain-ip.json"
	# Its accounts: the ones Postfix logged it in to (the ban cut it off before the last).
	v=$(grep -c "client=[^ ]*\[${bots[0]}\], sasl_method=PLAIN, sasl_username=stuff" \
		"$MLAB_MAILLOG" || true)
	echo "# ${bots[0]} logged in to $v of $n accounts before its ban"
	expect_eq "explain address" "true $v $v" \
		"$(jq -r '"\(.daemon.condemned) \(.daemon.accounts) \(.daemon.held)"' \
			"$T/explain-ip.json")"
	mta_sg explain "stuff3@$MLAB_DOMAIN" --json >"$T/explain-acct.json" ||
		fail "explain of an account"
	expect_eq "explain account" "true true" \
		"$(jq -r '"\(.daemon.campaign.held) \(.daemon.contained)"' "$T/explain-acct.json")"
	mta_sg explain "${bots[0]}" >"$T/explain-ip.txt" || fail "explain of the address (text)"
	grep -q "^verdict:  condemned .*: every account it uses is held" "$T/explain-ip.txt" ||
		fail "explain text: $(cat "$T/explain-ip.txt")"
}
