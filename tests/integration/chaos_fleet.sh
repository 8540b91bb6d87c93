# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The fleet's fault: the CrowdSec LAPI killed (SIGKILL) while the daemon
# enforces its decisions. Sourced by run.sh; the lab and its helpers are
# fleet.sh's.
#
#   chaos_fleet_lapi_down  n decisions in force; the LAPI killed: every ban
#                          stays, the loop never stalls, the daemon stays
#                          healthy and says it once; the LAPI back: a
#                          delete and a new decision made then are applied
#                          within the back-off

TESTS+=(chaos_fleet_lapi_down)

# N decisions for 10.0.0.0/16's first N addresses, in one `cscli decisions import`.
fleet_import() # N
{
	jq -nc --argjson n "$1" '[range($n) | {duration: "1h", scope: "ip", type: "ban",
		value: "10.0.\(. / 256 | floor).\(. % 256)", reason: "sgt-import"}]' >"$T/import.json"
	cs_cscli decisions import -i "$T/import.json" >/dev/null 2>&1 || fail "cscli decisions import"
}

test_chaos_fleet_lapi_down()
{
	local n t0 ms

	n=$(at_scale 200 10000)
	start_sink "$NS_HOST" "$T/host-sink.log" "$HOST4:587"
	fleet_up
	fleet_import "$n"
	cs_cscli decisions add --ip "$NET4" --duration 1h >/dev/null 2>&1 || fail "cscli decisions add"
	fleet_config "$T/fleet.conf"
	start_daemon "$T/fleet.conf"
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' "$((n + 1))"
	expect_eq "bans in sg_bans" "$((n + 1))" "$(map_dump sg_bans | jq length)"

	cs_stop
	nl_wait_until 100 fleet_metric_at_least 'smtpguard_crowdsec_pull_errors_total{kind="unreachable"}' 2 ||
		fail "fewer than 2 failed pulls: $(grep crowdsec "$T/daemon.log" | tail -n 2)"
	expect_eq "SYN from $NET4 with the LAPI down" "ok=0 eperm=0 other=1" "$(fleet_syn "$HOST4")"
	expect_eq "bans in sg_bans with the LAPI down" "$((n + 1))" "$(map_dump sg_bans | jq length)"
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' "$((n + 1))"
	expect_metric smtpguard_crowdsec_up 0
	expect_metric smtpguard_loop_stalls_total 0
	expect_eq "healthz with the LAPI down" ok "$(http_get /healthz)"
	expect_eq "the outage, said once" 1 "$(grep -c "crowdsec: GET .*(unreachable); retrying with back-off" "$T/daemon.log")"

	cs_start || fail "the LAPI did not start again"
	t0=$EPOCHREALTIME
	cs_cscli decisions delete --ip "$NET4" >/dev/null 2>&1 || fail "cscli decisions delete"
	cs_cscli decisions add --ip 10.1.0.1 --duration 1h >/dev/null 2>&1 || fail "cscli decisions add"
	nl_wait_until 700 fleet_ban_reason_is 10.1.0.1 7 || fail "no catch-up: $(grep crowdsec "$T/daemon.log" | tail -n 2)"
	ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	expect_eq "$NET4 after the catch-up" absent "$(fleet_ban_field "$NET4" reason)"
	expect_eq "SYN from $NET4 after the catch-up" "ok=1 eperm=0 other=0" "$(fleet_syn "$HOST4")"
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' "$((n + 1))"
	expect_metric smtpguard_crowdsec_up 1
	figure "$n decisions kept in force through a LAPI kill -9 ($(metric 'smtpguard_crowdsec_pull_errors_total{kind="unreachable"}') failed pulls); caught up $ms ms after its restart"
}
