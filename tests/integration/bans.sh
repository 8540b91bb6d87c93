# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# `smtpguard bans`: the ban list as the kernel holds it. Sourced by run.sh.
#
#   bans  none, then two bans (one until unbanned), as text and JSON; a ban
#         whose time is up leaves the list, with no daemon to sweep it

TESTS+=(bans)

# Whether `bans` has a row for an address starting with START.
bans_lists() # START
{
	sg bans | grep -q "^$1"
}

test_bans()
{
	expect_eq "no ban" "PREFIX                                      REASON         EXPIRES_IN   DROPS
(no ban in force)" "$(sg bans)"
	sg ban 2001:db8:77::/48 >/dev/null
	sg ban 203.0.113.0/24 --for 2h >/dev/null
	sg ban 192.0.2.7 --for 3s >/dev/null
	bans_lists 192.0.2.7 || fail "the 3 s ban is not listed: $(sg bans)"
	nl_wait_until 50 eval '! bans_lists 192.0.2.7' || fail "the 3 s ban is still listed"
	# In the kernel's order; the time left aside.
	expect_eq "text" "2001:db8:77::/48 manual never 0
203.0.113.0/24 manual 0" \
		"$(sg bans | awk 'NR > 1 { print $1, $2, ($3 == "never" ? "never " : "") $4 }' | sort)"
	expect_eq "json" '[{"prefix":"2001:db8:77::/48","reason":"manual","expires_in_s":null,"drops":0},{"prefix":"203.0.113.0/24","reason":"manual","drops":0}]' \
		"$(sg bans --json | jq -c 'sort_by(.prefix) | map(if .expires_in_s then del(.expires_in_s) else . end)')"
	# The time left of the 2 h ban, seconds after it was put.
	sg bans --json | jq -e '.[] | select(.prefix == "203.0.113.0/24") | .expires_in_s |
		. > 7000 and . <= 7200' >/dev/null || fail "the 2h ban: $(sg bans --json | jq -c .)"
}
