# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# [actions] dry_run = yes: the daemon evaluates as it would, tells each
# action it would take, and takes none.
#
#   dryrun_kill_block   a new sender hammering port 25 while it holds a
#                       session: "would kill" (rate) and "would block"
#                       (new_sender) told; its process lives, its session is
#                       not cut, sg_policies has no entry of its
#   dryrun_s6_spammer   the lab's S6 (a PHP file sending straight to remote
#                       MXs): "would throttle" logged and audited with its
#                       evidence, sg_policies and sg_bans as they were, the
#                       metric with dry_run="true", status and `smtpguard
#                       log` saying so; a reload with dry run off throttles
#                       the next run, the past would-action not replayed
#   dryrun_postfix_bot  a hijacked account sending through Postfix and the
#                       policy service: "would hold" over budget and "would
#                       contain" told, every answer DUNNO, the SASL table,
#                       the hold queue and sg_bans untouched, every message
#                       delivered; and a scanner's SYNs to IMAP over
#                       [bruteforce] syn_rate: "would ban" told once, its
#                       next connections accepted
#
# The labs and their helpers are lab.sh's, conncut.sh's, mta.sh's and inband.sh's. Sourced by run.sh.

TESTS+=(dryrun_kill_block dryrun_s6_spammer dryrun_postfix_bot)

# The maps an automatic action writes, keys sorted: compared before and after.
dry_maps() # PIN-DIR
{
	local m

	for m in sg_policies sg_bans; do
		echo "$m $(bpftool -j map dump pinned "$1/$m" | jq -S -c 'sort_by(.key)')"
	done
}

test_dryrun_kill_block()
{
	local a uid

	write_config "$T/smtpguard.conf" "rate_floor = 10/min" "[actions]" "rate = kill" \
		"new_sender = block for 1h" "dry_run = yes"
	start_daemon "$T/smtpguard.conf"
	uid=$(id -u "$USER_A")
	start_session "$USER_A" "$T/a.session"
	read -r a <"$T/a.session"
	connect_as "$USER_A" -n 60 "$NET4" 25 >/dev/null
	nl_wait_until 30 grep -q "would block user=$USER_A uid=$uid because new_sender: " "$T/daemon.log" ||
		fail "no would-block: $(grep -E 'would|action|alert' "$T/daemon.log" | tail -n 3)"
	nl_wait_until 30 grep -q "would kill user=$USER_A uid=$uid because rate: " "$T/daemon.log" ||
		fail "no would-kill: $(grep -E 'would|action|alert' "$T/daemon.log" | tail -n 3)"
	# Neither done: the process lives, its session stays open, no policy of the detector's.
	alive "$a" || fail "the sender's process was killed"
	expect_eq "A's sessions" 1 "$(sessions "$USER_A")"
	expect_eq "A's policy" "" "$(bpftool -j map dump pinned "$PIN/sg_policies" |
		jq -c --argjson u "$uid" '.[] | select(.key == $u)')"
	expect_eq "told" "1 1" \
		"$(metric 'smtpguard_actions_total{action="kill",rule="rate",dry_run="true"}') $(metric 'smtpguard_actions_total{action="block",rule="new_sender",dry_run="true"}')"
	expect_metric smtpguard_connections_cut_total 0
	expect_eq "audited" "would-block new_sender 1h;would-kill rate null;" \
		"$(daemon_actions "$USER_A" | jq -r '"\(.action) \(.reason) \(if .expires then "1h" else null end)"' |
			sort | tr '\n' ';')"
}

test_dryrun_s6_spammer()
{
	local out uid before audit

	lab_for_test "[actions]" "dry_run = yes"
	uid=$(id -u "$LAB_USER_WEB")
	before=$(dry_maps "$LAB_PIN")
	# 100 connections a second for 3 s from the uploaded file, as the web user.
	out=$(lab_web_run 100 300 3)
	echo "# S6 in dry run: $out"
	nl_wait_until 30 grep -q "would throttle user=$LAB_USER_WEB uid=$uid because new_sender: " \
		"$LAB_DAEMON_LOG" || fail "no would-throttle: $(grep smtpguard: "$LAB_DAEMON_LOG" | tail -n 3)"
	# The evidence, as the real throttle records it: the script, the rate it would set.
	audit=$(lab_daemon_actions "$LAB_USER_WEB" | jq -c 'select(.reason == "new_sender")')
	expect_eq "audited" "would-throttle new_sender $LAB_WEB_SCRIPT 6/min true" \
		"$(jq -r '"\(.action) \(.reason) \(.params.processes[0].process.script) \(.params.rate) \(.params.value > .params.limit)"' <<<"$audit")"
	grep -q "would throttle user=$LAB_USER_WEB uid=$uid because new_sender: {.*\"script\": *\"$LAB_WEB_SCRIPT\"" \
		"$LAB_DAEMON_LOG" || fail "log line: $(grep -m1 'would throttle' "$LAB_DAEMON_LOG")"
	# Nothing done: no action line, the maps as they were, the counters apart.
	expect_eq "action lines" 0 "$(grep -c 'smtpguard: action ' "$LAB_DAEMON_LOG")"
	expect_eq "sg_policies and sg_bans" "$before" "$(dry_maps "$LAB_PIN")"
	expect_eq "would-throttles counted" 1 \
		"$(lab_metric 'smtpguard_actions_total{action="throttle",rule="new_sender",dry_run="true"}')"
	expect_eq "throttles counted" 0 \
		"$(lab_metric 'smtpguard_actions_total{action="throttle",rule="new_sender"}')"
	lab_sg status | grep -q "^automatic actions: DRY RUN" ||
		fail "status: $(lab_sg status | tail -n 2)"
	expect_eq "status --json" true "$(lab_sg status --json | jq .dry_run)"
	lab_sg log | grep -q "would-throttle.*$LAB_USER_WEB" || fail "log: $(lab_sg log | tail -n 2)"

	# Turned off by a reload: the next run is throttled; the would-action is not replayed.
	lab_write_config "$LAB_CONF"
	kill -HUP "$LAB_DAEMON_PID"
	nl_wait_until 50 dry_status_taken || fail "status after the reload: $(lab_sg status | tail -n 1)"
	out=$(lab_web_run 100 300 3)
	nl_wait_until 30 grep -q "action throttle user=$LAB_USER_WEB uid=$uid rule=new_sender" \
		"$LAB_DAEMON_LOG" || fail "no throttle after the reload: $out"
	expect_eq "explain" "throttle the detector" \
		"$(lab_sg explain "$LAB_USER_WEB" | awk '/^policy:/ { p = $2 } /^policy:/ && /the detector/ { s = "the detector" } END { print p, s }')"
	grep 'would throttle' "$LAB_DAEMON_LOG" | cut -c1-160 | sed 's/^/# /'
	expect_eq "would-throttle lines of new_sender" 1 \
		"$(grep -c "would throttle user=$LAB_USER_WEB uid=$uid because new_sender: " "$LAB_DAEMON_LOG")"
}

dry_status_taken()
{
	lab_sg status | grep -q "^automatic actions: taken$"
}

# The SASL table and its map, as bytes.
dry_sasl_table()
{
	cat "$MLAB_POSTFIX_DIR"/smtpguard_sasl_access* 2>/dev/null | md5sum
}

# The would-holds counted: over budget and as a contained account's.
dry_would_holds()
{
	echo $(($(mta_metric 'smtpguard_actions_total{action="hold",rule="budget",dry_run="true"}') + \
		$(mta_metric 'smtpguard_actions_total{action="hold",rule="contained",dry_run="true"}') + 0))
}

test_dryrun_postfix_bot()
{
	local refused before table scanner=${MLAB_ATTACKERS[1]}

	# The bot's address is the ban's if one were put: any ban shows in sg_bans.
	# A floor the 40 messages cross: a rule fires and would contain the account.
	# SYNs to IMAP only are a scanner's: the bot's to submission are not.
	inband_for_test "rate_floor = 20/min" "[bruteforce]" "syn_rate = 20" "syn_ports = 143" \
		"ban = 10m" "state = $T/offenders.json" "[actions]" "dry_run = yes"
	before=$(dry_maps "$PIN")
	table=$(dry_sasl_table)
	refused=$(inband_flood "${MLAB_ATTACKERS[0]}" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" 40 8)
	expect_eq "messages refused to the bot" 0 "$refused"
	# The budget (20) is spent by the 20th: the 20 after it would have been held,
	# over budget or, once the account would have been contained, as contained.
	nl_wait_until 30 mta_is 20 dry_would_holds || fail "would-holds: $(dry_would_holds)"
	nl_wait_until 100 grep -q "would contain target=sasl:$MLAB_VICTIM because " "$MTA_DAEMON_LOG" ||
		fail "no would-contain: $(grep -E 'alert|would' "$MTA_DAEMON_LOG" | tail -n 3)"
	expect_eq "answered" "40 0" \
		"$(mta_metric 'smtpguard_policy_requests_total{verdict="DUNNO"}') $(($(mta_metric 'smtpguard_policy_requests_total{verdict="HOLD"}') + 0))"
	# Every message goes out: nothing held, no table entry, no ban.
	nl_wait_until 300 mta_is 40 inband_delivered || fail "delivered: $(inband_delivered) of 40"
	expect_eq "the MX took the 40" "$(inband_oks 1 40)" "$(inband_mx_rcpts)"
	expect_eq "hold queue" 0 "$(mlab_queue_count hold)"
	expect_eq "the SASL table" "$table" "$(dry_sasl_table)"
	expect_eq "sg_policies and sg_bans" "$before" "$(dry_maps "$PIN")"
	expect_eq "containment state" "" "$(inband_contained)"
	# Audited with the evidence a containment records.
	expect_eq "would-contain audited" "true ${MLAB_ATTACKERS[0]}" "$(jq -r --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "would-contain") | "\(.params.value > .params.limit) \(.params.client_ips[0])"' \
		"$T/audit.log")"
	expect_eq "would-holds audited, one a message" 20 "$(jq -r --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "would-hold") | .params.queue_id' \
		"$T/audit.log" | sort -u | wc -l)"
	expect_eq "contained, held" "0 0" \
		"$(mta_metric smtpguard_inband_held_budget_total) $(mta_metric smtpguard_inband_held_contained_total)"

	# The scanner: told once, not banned; it still connects.
	expect_eq "connections accepted" 20 "$(bf_connects "$scanner" 143 20)"
	nl_wait_until 30 grep -q "would ban target=$scanner because syn_rate: {\"rule\":\"syn_rate\",\"value\":20,\"limit\":20,\"window_seconds\":60,\"offences\":1,\"for_seconds\":600}" \
		"$MTA_DAEMON_LOG" || fail "no would-ban: $(grep -E "ban|$scanner" "$MTA_DAEMON_LOG" | tail -n 3)"
	expect_eq "connections accepted after" 20 "$(bf_connects "$scanner" 143 20)"
	expect_eq "sg_policies and sg_bans after the scan" "$before" "$(dry_maps "$PIN")"
	expect_eq "ban lines" 0 "$(grep -c "smtpguard: ban " "$MTA_DAEMON_LOG")"
	nl_wait_until 30 mta_is 1 mta_metric 'smtpguard_actions_total{action="ban",rule="syn_rate",dry_run="true"}' ||
		fail "would-bans counted: $(mta_metric 'smtpguard_actions_total{action="ban",rule="syn_rate",dry_run="true"}')"
	expect_eq "would-ban lines, bans given" "1 0" \
		"$(grep -c "would ban target=$scanner " "$MTA_DAEMON_LOG") $(mta_metric 'smtpguard_bruteforce_bans_total{reason="syn_rate"}')"
	# shellcheck disable=SC2016 # jq's variable
	bf_audited --arg ip "$scanner" '.action == "would-ban" and .target == $ip and
		.params.rule == "syn_rate" and .actor == "daemon" and .expires != null' ||
		fail "no audited would-ban: $(tail -n 2 "$T/audit.log")"
}
