# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fleet: smtpguard as a bouncer of the real CrowdSec LAPI (Debian's
# crowdsec 1.4.6, scripts/crowdsec-lab.sh), pulling every second. The LAPI
# runs in $NS_NET on $FLEET_LAPI4 (on its loopback, routed from the
# servers), so that banning the test's attacker, $NET4, never cuts a
# server off from it. Server A is the usual $NS_HOST; server B, where a
# test needs two, is a second netns behind its own veth from $NS_NET,
# with its own pins, cgroup and daemon. Sourced by run.sh.

TESTS+=(fleet_ban fleet_local_wins fleet_bad_key)

FLEET_LAPI4=192.0.2.1
FLEET_PORT=8080

# scripts/crowdsec-lab.sh: its cs_* functions.
# shellcheck source=scripts/crowdsec-lab.sh
. "$ROOT/scripts/crowdsec-lab.sh"

# The LAPI up in $NS_NET, reachable from server A, with a bouncer's key in
# $T/bouncer.key (root's, 0600) as CS_KEY.
fleet_up()
{
	rm -rf "$T/crowdsec"
	nl_addrs "$NS_NET" lo "$FLEET_LAPI4/32" || fail "address $FLEET_LAPI4"
	ip -n "$NS_HOST" route add "$FLEET_LAPI4/32" via "$NET4" || fail "route to the LAPI"
	cs_up "$T" "$NS_NET" "$FLEET_LAPI4" "$FLEET_PORT" || fail "the LAPI did not start"
	CS_KEY=$(cs_bouncer_add "sgt-$ID") || fail "cscli bouncers add failed"
	(umask 077 && echo "$CS_KEY" >"$T/bouncer.key")
}

# A daemon config with [crowdsec] on the lab's LAPI, every second, plus LINES.
fleet_config() # FILE [LINE...]
{
	local f=$1

	shift
	write_config "$f" "$@" "[crowdsec]" "url = $CS_URL" "api_key_file = $T/bouncer.key" \
		"interval = 1s"
}

# sg_bans's entry for ADDR/128 (IPv4 mapped): FIELD, or "absent".
fleet_ban_field() # ADDR FIELD
{
	map_field sg_bans "$(jq -nc --argjson a "$(addr_words "$1")" '{prefixlen: 128, addr: $a}')" "$2"
}

# One SYN from $NS_NET to ADDR:587 within 500 ms, before any retransmission:
# "ok=1 ..." when it connects, "other=1" when XDP dropped it.
fleet_syn() # ADDR
{
	nl_in "$NS_NET" "$CONNECT" --timeout-ms 500 "$1" 587
}

fleet_ban_reason_is() # ADDR REASON-NUMBER
{
	[ "$(fleet_ban_field "$1" reason)" = "$2" ]
}

# An operator's `cscli decisions add --ip` is banned at XDP with its origin,
# its remaining time, audited and counted; `cscli decisions delete` lifts it.
test_fleet_ban()
{
	local log=$T/host-sink.log expires left

	start_sink "$NS_HOST" "$log" "$HOST4:587"
	fleet_up
	cs_cscli decisions add --ip "$NET4" --duration 1h --reason "sgt-guesser" >/dev/null 2>&1 ||
		fail "cscli decisions add"
	fleet_config "$T/fleet.conf"
	start_daemon "$T/fleet.conf"
	nl_wait_until 50 fleet_ban_reason_is "$NET4" 7 ||
		fail "no fleet_cscli ban of $NET4: $(grep crowdsec "$T/daemon.log" | tail -n 3)"
	expires=$(fleet_ban_field "$NET4" expires_ns)
	left=$(((expires - $(awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime)) / 1000000000))
	[ "$left" -gt 3500 ] && [ "$left" -le 3600 ] || fail "ban's time left: $left s, not the decision's 1h"
	expect_eq "SYN from $NET4 while the decision stands" "ok=0 eperm=0 other=1" "$(fleet_syn "$HOST4")"
	expect_eq "sg_bans $NET4 drops" 1 "$(fleet_ban_field "$NET4" drops)"
	expect_metric 'smtpguard_crowdsec_decisions_received_total{origin="cscli",scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_applied_total{origin="cscli",scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' 1
	expect_metric 'smtpguard_bans{reason="fleet_cscli"}' 1
	expect_eq "audit of the ban" "ban $NET4/32 cscli sgt-guesser" \
		"$(jq -r 'select(.action == "ban") | "\(.action) \(.target) \(.params.origin) \(.params.scenario)"' "$T/audit.log")"

	cs_cscli decisions delete --ip "$NET4" >/dev/null 2>&1 || fail "cscli decisions delete"
	nl_wait_until 50 fleet_ban_reason_is "$NET4" absent || fail "the ban of $NET4 stayed after the delete"
	expect_eq "SYN from $NET4 after the delete" "ok=1 eperm=0 other=0" "$(fleet_syn "$HOST4")"
	expect_metric 'smtpguard_crowdsec_decisions_lifted_total{scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' 0
	expect_eq "audit of the lift" "unban $NET4/32" \
		"$(jq -r 'select(.action == "unban") | "\(.action) \(.target)"' "$T/audit.log")"
}
