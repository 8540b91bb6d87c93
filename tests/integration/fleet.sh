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

TESTS+=(fleet_ban fleet_two_servers fleet_local_wins fleet_map_full fleet_bad_key fleet_tls fleet_hold)

FLEET_LAPI4=192.0.2.1
FLEET_PORT=8080
# Server B: its netns and veth from $NS_NET, its address, pins and cgroup.
NS_B=sgt-$ID-b
VETH_B=sg${ID}b
VETH_NB=sg${ID}m
B4=100.64.0.1
NB4=100.64.0.2

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

# sg_bans's entry for ADDR/128 (IPv4 mapped): FIELD, or "absent". A lookup,
# not a dump: fleet_map_full's map holds 65,536 bans.
fleet_ban_field() # ADDR FIELD
{
	local out

	# shellcheck disable=SC2046 # the key's bytes, one word each
	out=$(bpftool -j map lookup pinned "$PIN/sg_bans" key hex 80 00 00 00 \
		$(addr_hex "$1" | sed 's/../& /g') 2>/dev/null) || { echo absent; return; }
	jq -r --arg f "$2" '.formatted.value | if .prefixlen == 128 then .[$f] else "absent" end' <<<"$out"
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

# Server B up: the netns, a veth from $NS_NET (whence $NET4 reaches it),
# routes to the LAPI, its own pins, cgroup and attach, a sink on :587, and
# its daemon on the lab's LAPI (state, audit and control socket its own).
fleet_server_b()
{
	local conf=$T/b/fleet.conf

	rm -rf "$T/b" "$PIN-b"
	mkdir -p "$T/b/run"
	nl_netns "$T" "$NS_B"
	nl_veth "$NS_NET" "$VETH_NB" "$NS_B" "$VETH_B"
	nl_addrs "$NS_B" "$VETH_B" "$B4/24"
	ip -n "$NS_NET" addr add "$NB4/32" dev "$VETH_NB"
	ip -n "$NS_NET" route add "$B4/32" dev "$VETH_NB" src "$NET4"
	ip -n "$NS_B" route add "$NET4/32" dev "$VETH_B"
	ip -n "$NS_B" route add "$FLEET_LAPI4/32" via "$NB4" dev "$VETH_B" onlink
	nl_cgroup "$T" "$CG-b"
	nl_in "$NS_B" env SMTPGUARD_PIN_DIR="$PIN-b" "$SG_BIN" attach --cgroup "$CG-b" -i "$VETH_B" \
		>/dev/null 2>&1 || fail "attach on server B"
	nl_carrier "$NS_NET" "$VETH_NB" "$NS_B" "$VETH_B" || fail "server B's veth never came up"
	start_sink "$NS_B" "$T/b/sink.log" "$B4:587"
	{
		printf '%s\n' "[daemon]" "interfaces = $VETH_B" "cgroup = $CG-b" "[audit]" \
			"log = $T/b/audit.log" "syslog = no" "[detect]" "baselines =" "mta_users =" \
			"[mta]" "type = none" "state = $T/b/contained.json" "[bruteforce]" "state =" \
			"[crowdsec]" "url = $CS_URL" "api_key_file = $T/b/bouncer.key" \
			"interval = ${FLEET_B_INTERVAL:-1s}" \
			"[exporter]" "control = $T/b/run/control.sock"
	} >"$conf"
	(umask 077 && cs_bouncer_add "sgt-$ID-b" >"$T/b/bouncer.key") || fail "cscli bouncers add (B)"
	unit_sandbox
	SMTPGUARD_PIN_DIR=$PIN-b spawn_in "$NS_B" "${SANDBOX[@]}" "$SG_BIN" run -c "$conf" \
		>>"$T/b/daemon.log" 2>&1
	nl_wait_until 100 fleet_b_healthy || fail "server B not healthy: $(tail -n 3 "$T/b/daemon.log")"
}

fleet_b_healthy()
{
	[ "$(nl_in "$NS_B" curl -sS --max-time 5 "http://$EXPORTER/healthz" 2>/dev/null)" = ok ]
}

# Server B's sg_bans entry for ADDR/128: FIELD, or "absent".
fleet_b_ban_field() # ADDR FIELD
{
	PIN=$PIN-b fleet_ban_field "$@"
}

fleet_b_ban_reason_is() # ADDR REASON-NUMBER
{
	[ "$(fleet_b_ban_field "$1" reason)" = "$2" ]
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
	if [ "$left" -le 3500 ] || [ "$left" -gt 3600 ]; then
		fail "ban's time left: $left s, not the decision's 1h"
	fi
	expect_eq "SYN from $NET4 while the decision stands" "ok=0 eperm=0 other=1" "$(fleet_syn "$HOST4")"
	expect_eq "sg_bans $NET4 drops" 1 "$(fleet_ban_field "$NET4" drops)"
	expect_metric 'smtpguard_crowdsec_decisions_received_total{origin="cscli",scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_applied_total{origin="cscli",scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' 1
	expect_metric 'smtpguard_bans{reason="fleet_cscli"}' 1
	SMTPGUARD_CONFIG=$T/fleet.conf sg status | grep -qE "^fleet: $CS_URL: last pull [0-9: -]+ \([0-9]+ s ago\), 1 decision in force \(ip 1, range 0, account 0\)$" ||
		fail "status: $(SMTPGUARD_CONFIG=$T/fleet.conf sg status 2>&1 | grep fleet)"
	expect_eq "status --json: the fleet's url and decisions" "$CS_URL 1 false" \
		"$(SMTPGUARD_CONFIG=$T/fleet.conf sg status --json | jq -r '.fleet | "\(.url) \(.active.ip) \(.failing)"')"
	expect_eq "audit of the ban" "ban $NET4/32 cscli sgt-guesser" \
		"$(jq -r 'select(.action == "ban") | "\(.action) \(.target) \(.params.origin) \(.params.scenario)"' "$T/audit.log")"

	cs_cscli decisions delete --ip "$NET4" >/dev/null 2>&1 || fail "cscli decisions delete"
	nl_wait_until 50 fleet_ban_reason_is "$NET4" absent || fail "the ban of $NET4 stayed after the delete"
	expect_eq "SYN from $NET4 after the delete" "ok=1 eperm=0 other=0" "$(fleet_syn "$HOST4")"
	expect_metric 'smtpguard_crowdsec_decisions_lifted_total{scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' 0
	expect_eq "audit of the lift" "unban $NET4/32" \
		"$(jq -r 'select(.action == "unban") | "\(.action) \(.target)"' "$T/audit.log")"

	# A decision's end is the ban's: the sweep removes it, nothing is lifted.
	cs_cscli decisions add --ip 203.0.113.50 --duration 3s >/dev/null 2>&1 || fail "cscli decisions add 3s"
	nl_wait_until 50 fleet_ban_reason_is 203.0.113.50 7 || fail "no ban of 203.0.113.50"
	nl_wait_until 80 fleet_ban_reason_is 203.0.113.50 absent || fail "203.0.113.50's ban outlived its decision"
	fleet_settle
	expect_metric 'smtpguard_crowdsec_decisions_lifted_total{scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_active{scope="ip"}' 0
	expect_eq "unban entries" 1 "$(jq -r 'select(.action == "unban") | .target' "$T/audit.log" | wc -l)"
}

# Two servers, one LAPI: an operator's decision is enforced at XDP on both
# within a pull or two, and its delete lifts it on both.
test_fleet_two_servers()
{
	local t0 ms

	start_sink "$NS_HOST" "$T/host-sink.log" "$HOST4:587"
	fleet_up
	fleet_config "$T/fleet.conf"
	start_daemon "$T/fleet.conf"
	fleet_server_b
	t0=$EPOCHREALTIME
	cs_cscli decisions add --ip "$NET4" --duration 30m >/dev/null 2>&1 || fail "cscli decisions add"
	nl_wait_until 50 fleet_ban_reason_is "$NET4" 7 || fail "no ban on server A"
	nl_wait_until 50 fleet_b_ban_reason_is "$NET4" 7 || fail "no ban on server B: $(grep crowdsec "$T/b/daemon.log" | tail -n 2)"
	ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	figure "cscli decisions add to a ban on both servers (interval 1 s): $ms ms"
	expect_eq "SYN to server A" "ok=0 eperm=0 other=1" "$(fleet_syn "$HOST4")"
	expect_eq "SYN to server B" "ok=0 eperm=0 other=1" "$(fleet_syn "$B4")"
	expect_eq "server B's drops" 1 "$(fleet_b_ban_field "$NET4" drops)"

	cs_cscli decisions delete --ip "$NET4" >/dev/null 2>&1 || fail "cscli decisions delete"
	nl_wait_until 50 fleet_ban_reason_is "$NET4" absent || fail "still banned on server A"
	nl_wait_until 50 fleet_b_ban_reason_is "$NET4" absent || fail "still banned on server B"
	expect_eq "SYN to server A after the delete" "ok=1 eperm=0 other=0" "$(fleet_syn "$HOST4")"
	expect_eq "SYN to server B after the delete" "ok=1 eperm=0 other=0" "$(fleet_syn "$B4")"
}

fleet_pulls_after() # N: the daemon has pulled more than N times
{
	[ "$(metric smtpguard_crowdsec_pulls_total)" -gt "$1" ] 2>/dev/null
}

# Waits for two more pulls: what the LAPI had at the call has been applied.
fleet_settle()
{
	local n

	n=$(metric smtpguard_crowdsec_pulls_total)
	nl_wait_until 50 fleet_pulls_after "$((n + 1))" || fail "the daemon stopped pulling: $(tail -n 3 "$T/daemon.log")"
	# The tick after the pull applies it.
	sleep 1.1
}

# A human's ban is neither shortened nor lifted by a decision, before or
# after it; [bruteforce] allow wins over any decision.
test_fleet_local_wins()
{
	local expires other=198.51.100.77

	fleet_up
	sg ban "$NET4/32" --for 2h >/dev/null
	expires=$(fleet_ban_field "$NET4" expires_ns)
	for v in "--ip $NET4" "--ip 203.0.113.9" "--range 203.0.113.0/24" "--ip $other"; do
		# shellcheck disable=SC2086 # two words
		cs_cscli decisions add $v --duration 1h >/dev/null 2>&1 || fail "cscli decisions add $v"
	done
	fleet_config "$T/fleet.conf" "[bruteforce]" "allow = 203.0.113.0/24, 127.0.0.0/8"
	start_daemon "$T/fleet.conf"
	expect_metric 'smtpguard_crowdsec_decisions_skipped_total{reason="allow"}' 2
	expect_metric 'smtpguard_crowdsec_decisions_skipped_total{reason="local_ban"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_applied_total{origin="cscli",scope="ip"}' 1
	expect_eq "$NET4's ban: the human's, as it was" "0 $expires" \
		"$(fleet_ban_field "$NET4" reason) $(fleet_ban_field "$NET4" expires_ns)"
	expect_eq "the fleet's ban of $other" 7 "$(fleet_ban_field "$other" reason)"
	expect_eq "allowed 203.0.113.9 not banned" absent "$(fleet_ban_field 203.0.113.9 reason)"
	expect_eq "bans in sg_bans" 2 "$(map_dump sg_bans | jq length)"

	# A human bans what the fleet banned; the decision's delete leaves the human's ban.
	sg ban "$other/32" --for 30m >/dev/null
	cs_cscli decisions delete --ip "$NET4" >/dev/null 2>&1 || fail "cscli decisions delete $NET4"
	cs_cscli decisions delete --ip "$other" >/dev/null 2>&1 || fail "cscli decisions delete $other"
	fleet_settle
	expect_eq "$NET4's ban after the delete" "0 $expires" \
		"$(fleet_ban_field "$NET4" reason) $(fleet_ban_field "$NET4" expires_ns)"
	expect_eq "$other's ban after the delete: the human's" 0 "$(fleet_ban_field "$other" reason)"
	expect_metric 'smtpguard_crowdsec_decisions_lifted_total{scope="ip"}' 1
	expect_eq "SYN from $NET4" "ok=0 eperm=0 other=1" "$(fleet_syn "$HOST4")"
}

# A decision beyond sg_bans's room is counted, once, and put as soon as a
# ban goes: never lost.
test_fleet_map_full()
{
	fleet_up
	"$ROOT/build/tools/sg_fill" --bans || fail "sg_fill --bans"
	cs_cscli decisions add --ip "$NET4" --duration 1h >/dev/null 2>&1 || fail "cscli decisions add"
	fleet_config "$T/fleet.conf"
	start_daemon "$T/fleet.conf"
	expect_metric 'smtpguard_crowdsec_decisions_skipped_total{reason="map_full"}' 1
	expect_eq "no ban of $NET4 in a full sg_bans" absent "$(fleet_ban_field "$NET4" reason)"
	fleet_settle
	expect_metric 'smtpguard_crowdsec_decisions_skipped_total{reason="map_full"}' 1
	sg unban fd00:5347::/128 >/dev/null
	nl_wait_until 50 fleet_ban_reason_is "$NET4" 7 || fail "no ban of $NET4 once there was room"
	expect_metric 'smtpguard_crowdsec_decisions_applied_total{origin="cscli",scope="ip"}' 1
	expect_metric 'smtpguard_crowdsec_decisions_skipped_total{reason="map_full"}' 1
}

fleet_metric_at_least() # SERIES MIN
{
	[ "$(metric "$1")" -ge "$2" ] 2>/dev/null
}

# A wrong key: one clear line and a metric, the daemon healthy, no crash
# loop. A key file a customer could read is refused, and the right one is
# root's alone: a test user cannot read it.
test_fleet_bad_key()
{
	local line

	fleet_up
	cs_cscli decisions add --ip "$NET4" --duration 1h >/dev/null 2>&1 || fail "cscli decisions add"
	echo "0123456789abcdef0123456789abcdef" >"$T/bouncer.key"
	fleet_config "$T/fleet.conf"
	start_daemon "$T/fleet.conf"
	nl_wait_until 50 fleet_metric_at_least 'smtpguard_crowdsec_pull_errors_total{kind="auth"}' 2 ||
		fail "no second auth error: $(grep crowdsec "$T/daemon.log" | tail -n 2)"
	line="crowdsec: GET /v1/decisions/stream?startup=true&scopes=ip,range,smtpguard_account: HTTP 403: access forbidden (auth); retrying with back-off, the bans in force stay"
	expect_eq "the auth error, said once" 1 "$(grep -cF "$line" "$T/daemon.log")"
	expect_metric smtpguard_crowdsec_up 0
	expect_eq "status" "fleet: $CS_URL: last pull never, 0 decisions in force (ip 0, range 0, account 0); failing: GET /v1/decisions/stream?startup=true&scopes=ip,range,smtpguard_account: HTTP 403: access forbidden" \
		"$(SMTPGUARD_CONFIG=$T/fleet.conf sg status | grep '^fleet:')"
	expect_eq "healthz" ok "$(http_get /healthz)"
	expect_eq "no ban" absent "$(fleet_ban_field "$NET4" reason)"

	# The right key, in a file a group or others may read: refused. The
	# run's directory opened to the test user meanwhile, closed however the
	# test ends.
	trap 'chmod 0700 "$T"' EXIT
	chmod 0711 "$T"
	install -d -m 0755 "$T/etc"
	(umask 022 && echo "$CS_KEY" >"$T/etc/bouncer.key")
	expect_eq "a customer reads the 0644 key" "$CS_KEY" "$(as_user "$USER_A" cat "$T/etc/bouncer.key" 2>&1)"
	sed -i "s|^api_key_file = .*|api_key_file = $T/etc/bouncer.key|" "$T/fleet.conf"
	kill -HUP "$DAEMON_PID"
	nl_wait_until 50 fleet_metric_at_least 'smtpguard_crowdsec_pull_errors_total{kind="key_file"}' 1 ||
		fail "the 0644 key file was not refused"
	grep -qF "crowdsec: $T/etc/bouncer.key is owned by UID 0 with mode 0644: it must be root's and not readable by a group or others" "$T/daemon.log" ||
		fail "no line on the 0644 key file: $(grep crowdsec "$T/daemon.log" | tail -n 1)"
	expect_eq "no ban from a refused key" absent "$(fleet_ban_field "$NET4" reason)"

	# Made root's alone: the daemon pulls, and the customer is refused.
	chmod 0600 "$T/etc/bouncer.key"
	nl_wait_until 100 fleet_ban_reason_is "$NET4" 7 || fail "no ban once the key file is 0600"
	expect_eq "a customer reads the 0600 key" "cat: $T/etc/bouncer.key: Permission denied" \
		"$(as_user "$USER_A" cat "$T/etc/bouncer.key" 2>&1)"
	expect_eq "the recovery, said once" 1 "$(grep -c "crowdsec: pulling decisions from $CS_URL again" "$T/daemon.log")"
	expect_metric smtpguard_crowdsec_up 1
}

# A CA and a certificate of it for NAME (its CN) with subjectAltName SAN, in $T/tls.
fleet_cert() # CA NAME SAN
{
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$T/tls/$2.key" -out "$T/tls/$2.csr" 2>/dev/null &&
		openssl x509 -req -in "$T/tls/$2.csr" -CA "$T/tls/$1.pem" -CAkey "$T/tls/$1.key" \
			-CAcreateserial -days 1 -out "$T/tls/$2.pem" \
			-extfile <(echo "subjectAltName=$3") 2>/dev/null
}

fleet_ca() # NAME
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj "/CN=$1" -keyout "$T/tls/$1.key" -out "$T/tls/$1.pem" 2>/dev/null
}

# HTTPS to the LAPI, its certificate checked against [crowdsec] ca_file: a
# certificate another CA signed is one line and a metric, and nothing
# pulled; the right CA, and the decisions are applied.
test_fleet_tls()
{
	rm -rf "$T/tls"
	mkdir -p "$T/tls"
	if ! fleet_ca sgt-ca || ! fleet_ca sgt-other-ca || ! fleet_cert sgt-ca lapi "IP:$FLEET_LAPI4"; then
		fail "openssl could not make the certificates"
	fi
	CS_TLS_CERT=$T/tls/lapi.pem CS_TLS_KEY=$T/tls/lapi.key
	fleet_up
	expect_eq "the LAPI's url" "https://$FLEET_LAPI4:$FLEET_PORT" "$CS_URL"
	cs_cscli decisions add --ip "$NET4" --duration 1h >/dev/null 2>&1 || fail "cscli decisions add"
	write_config "$T/fleet.conf" "[crowdsec]" "url = $CS_URL" "api_key_file = $T/bouncer.key" \
		"interval = 1s" "ca_file = $T/tls/sgt-other-ca.pem"
	start_daemon "$T/fleet.conf"
	nl_wait_until 50 fleet_metric_at_least 'smtpguard_crowdsec_pull_errors_total{kind="tls"}' 1 ||
		fail "no tls error: $(grep crowdsec "$T/daemon.log" | tail -n 2)"
	expect_eq "the certificate error, said once" 1 \
		"$(grep -c "crowdsec: GET $CS_URL/v1/decisions/stream.*certificate.*(tls); retrying with back-off" "$T/daemon.log")"
	expect_eq "no ban through an unchecked LAPI" absent "$(fleet_ban_field "$NET4" reason)"

	sed -i "s|^ca_file = .*|ca_file = $T/tls/sgt-ca.pem|" "$T/fleet.conf"
	kill -HUP "$DAEMON_PID"
	nl_wait_until 50 fleet_ban_reason_is "$NET4" 7 || fail "no ban with the right CA: $(grep crowdsec "$T/daemon.log" | tail -n 2)"
	expect_metric smtpguard_crowdsec_up 1
}

fleet_hold_metric_is() # SERIES VALUE
{
	[ "$(mta_metric "$1")" = "$2" ]
}

# The fleet's ACTION (contain, release) on alice, logged with LOG-TAIL after
# its rule, audited, and her line in Postfix's table then (TABLE: its
# action, "" for none).
fleet_alice_after() # ACTION LOG-TAIL TABLE
{
	nl_wait_until 50 grep -q "action $1 principal=sasl:$MLAB_ALICE rule=crowdsec$2" "$MTA_DAEMON_LOG" ||
		fail "no $1 of alice: $(grep crowdsec "$MTA_DAEMON_LOG" | tail -n 2)"
	expect_eq "the table after the $1" "$3" \
		"$(awk -v k="$MLAB_ALICE" '$1 == k { print $2 }' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
	expect_eq "$1 audited" "$1 crowdsec" "$(jq -r --arg p "sasl:$MLAB_ALICE" --arg a "$1" \
		'select(.target == $p and .action == $a) | "\(.action) \(.params.rule)"' "$T/audit.log")"
}

# A hold decision in the smtpguard_account scope contains the account on the
# server that hosts it (the Postfix lab's): its SASL login held in Postfix's
# table, audited; one for an account the server lacks is counted
# not_hosted; the decision's delete releases it.
test_fleet_hold()
{
	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	# mta.sh's: where mta_daemon_start runs the daemon, and its config.
	# shellcheck disable=SC2034
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	rm -rf "$T/crowdsec"
	nl_addrs "$MLAB_NS_INET" lo "$FLEET_LAPI4/32" || fail "address $FLEET_LAPI4"
	cs_up "$T" "$MLAB_NS_INET" "$FLEET_LAPI4" "$FLEET_PORT" || fail "the LAPI did not start"
	(umask 077 && cs_bouncer_add "sgt-$ID" >"$T/bouncer.key") || fail "cscli bouncers add"
	mta_write_config "$MTA_CONF" "[crowdsec]" "url = $CS_URL" "api_key_file = $T/bouncer.key" \
		"interval = 1s"
	mta_daemon_start postfix "$MLAB_MAILLOG"
	# Alice's first message: her server has seen her login.
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice's message refused"
	nl_wait_until 50 grep -q "sasl_username=$MLAB_ALICE" "$MLAB_MAILLOG" || fail "no login of alice logged"
	sleep 1.1

	# The value is the login's escape, as a server's push sends it (core/alert.h):
	# alice\x40hosting.test names alice@hosting.test.
	local held=${MLAB_ALICE/@/\\x40}
	for a in "$held" "nobody@elsewhere.test"; do
		cs_cscli decisions add --scope smtpguard_account --value "$a" --type hold \
			--duration 1h --reason sgt-stolen >/dev/null 2>&1 || fail "cscli decisions add $a"
	done
	fleet_alice_after contain "" HOLD
	nl_wait_until 30 fleet_hold_metric_is 'smtpguard_crowdsec_decisions_skipped_total{reason="not_hosted"}' 1 ||
		fail "not_hosted: $(mta_metric 'smtpguard_crowdsec_decisions_skipped_total{reason="not_hosted"}')"
	expect_eq "accounts held by the fleet" 1 \
		"$(mta_metric 'smtpguard_crowdsec_decisions_active{scope="account"}')"

	cs_cscli decisions delete --value "$held" >/dev/null 2>&1 ||
		fail "cscli decisions delete"
	fleet_alice_after release ": its hold deleted at the LAPI" ""
}
