# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fault suite's test of a containment state the machine's crash cut
# short. Sourced by run.sh; uses daemon.sh's helpers.
#
#   chaos_state_cut_short  [mta] state left empty under a running daemon (a
#                          file renamed over before its data reached the
#                          disk): the principal it named stays contained,
#                          and the daemon says the file does not read

TESTS+=(chaos_state_cut_short)

# Whether the daemon holds PRINCIPAL contained: true or false.
review2_contained() # PRINCIPAL
{
	control_get "/explain?principal=$1" | jq -r .contained
}

test_chaos_state_cut_short()
{
	local id=sasl:cut@hosting.test

	mkdir -p "$T/postfix"
	echo "maillog_file = $T/maillog" >"$T/postfix/main.cf"
	: >"$T/maillog"
	printf '{"%s": {"since": 1, "rule": "rate", "mta": "postfix", "held": [], "bans": []}}\n' \
		"$id" >"$T/contained.json"
	write_config "$T/smtpguard.conf" "[mta]" "type = postfix" "logs = $T/maillog" \
		"postfix_config = $T/postfix" "state = $T/contained.json" "policy_socket = none"
	start_daemon "$T/smtpguard.conf"
	expect_eq "contained, as the state says" true "$(review2_contained "$id")"
	: >"$T/contained.json"
	nl_wait_until 30 grep -q "mta: $T/contained.json does not read as a state" \
		"$T/daemon.log" || true
	expect_eq "contained after the state was cut short" true "$(review2_contained "$id")"
	expect_eq "told" "smtpguard: mta: $T/contained.json does not read as a state: who is contained stays so" \
		"$(grep -F "mta: $T/contained.json" "$T/daemon.log")"
}
