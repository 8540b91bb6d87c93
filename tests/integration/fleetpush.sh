# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# smtpguard as a CrowdSec log processor: its bans and holds pushed to the
# real Local API of Debian's crowdsec (scripts/crowdsec-lab.sh), run on the
# mail server's loopback next to the mail lab (scripts/mta-lab.sh), and
# read back with cscli:
#
#   fleetpush_mail           on one mail lab, in turn: a password guesser
#                            banned while the machine's password is wrong:
#                            one clear line, the refusals counted, the alert
#                            queued; the password fixed and reloaded, the
#                            queued alert arrives: scenario
#                            smtpguard/auth_failures, the evidence in its
#                            meta, a ban of the guesser's address for what is
#                            left of the daemon's hour. An account contained
#                            (client_ips) is pushed as a hold in scope
#                            smtpguard_account with its evidence, and its
#                            login addresses as bans (smtpguard/contain); a
#                            hosting customer's local mail() flood, contained
#                            by UID, pushes nothing: a UID names someone else
#                            on another server. An operator's hold from the
#                            LAPI, applied here, is not pushed back; a root
#                            `smtpguard release` of it deletes the fleet's
#                            holds on that account at the LAPI (nothing
#                            else), a customer's is refused and deletes none;
#                            a release queued behind its account's hold (the
#                            login refused meanwhile) goes after it, and the
#                            hold is gone
#   fleetpush_propagation    two servers (fleet.sh's), one LAPI: a scanner A bans
#                            by its SYN rate is dropped at XDP by server B
#                            within one of B's pull intervals and a tick
#                            (the time printed; `make bench` runs it at the
#                            default interval)
#   chaos_fleetpush_lapi_down  the LAPI killed: scanners banned meanwhile stay
#                            banned at XDP, their alerts wait in the queue,
#                            the pushes fail and are counted; the LAPI back,
#                            every alert arrives (the delay printed)
#
# The mail tests build their own mail lab, the others use the base world
# (lib.sh's setup; server B is a second netns of it); every test starts its
# own LAPI, and all is removed on any exit.
# Sourced by run.sh.

TESTS+=(fleetpush_mail fleetpush_propagation chaos_fleetpush_lapi_down)

# shellcheck source=scripts/crowdsec-lab.sh
. "$ROOT/scripts/crowdsec-lab.sh"

FP_MACHINE=smtpguard-a

# The LAPI on NS's loopback, with this server's machine (its password in
# $T/machine.pass as PASSWORD says: "right", the machine's, else that text)
# and a bouncer's key ([crowdsec] url needs one); FP_CONF: the daemon's
# [crowdsec] lines for them.
fp_lapi() # NS PASSWORD
{
	local pass

	# A LAPI of this test's own: not the database of the run's previous test.
	rm -rf "$T/crowdsec"
	cs_up "$T" "$1" 127.0.0.1 8080 || fail "LAPI: $(tail -n 3 "$CS_DIR/crowdsec.log")"
	pass=$(openssl rand -hex 16)
	cs_machine_add "$FP_MACHINE" "$pass" || fail "cscli machines add $FP_MACHINE failed"
	FP_PASS=$pass
	[ "$2" = right ] || pass=$2
	(umask 077 && echo "$pass" >"$T/machine.pass")
	(umask 077 && cs_bouncer_add "$FP_MACHINE" >"$T/bouncer.key") ||
		fail "cscli bouncers add $FP_MACHINE failed"
	FP_CONF=("[crowdsec]" "url = $CS_URL" "api_key_file = $T/bouncer.key"
		"machine_id = $FP_MACHINE" "password_file = $T/machine.pass")
}

fp_pushing() # DAEMON-LOG
{
	grep -q "crowdsec: bans and holds pushed to $CS_URL as machine $FP_MACHINE" "$1" ||
		fail "not pushing: $(grep crowdsec: "$1")"
}

# The mail lab, the LAPI on its loopback (fp_lapi), and the daemon pushing to it.
fp_for_test() # PASSWORD [CONFIG-LINE...]
{
	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	MTA_NS=$MLAB_NS_HOST
	fp_lapi "$MTA_NS" "$1"
	shift
	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF" "$@" "${FP_CONF[@]}"
	mta_daemon_start postfix "$MLAB_MAILLOG"
	fp_pushing "$MTA_DAEMON_LOG"
}

# The LAPI's alerts about VALUE (an address, an account), as a JSON array.
fp_alerts() # VALUE
{
	cs_alerts_json | jq -c --arg v "$1" '[.[]? | select(.source.value == $v)]'
}

fp_alerts_are() # VALUE COUNT
{
	[ "$(fp_alerts "$1" | jq length)" = "$2" ]
}

fp_at_least() # VALUE CMD...
{
	local v

	v=$("${@:2}")
	[ "$v" != absent ] && [ "${v%.*}" -ge "$1" ]
}

# An alert's meta as "key=value" words, sorted.
fp_meta() # ALERT-JSON
{
	jq -r '[.events[0].meta[] | "\(.key)=\(.value)"] | sort | join(" ")' <<<"$1"
}

# A Go duration ("59m52.5s", "1h59m0.1s") in whole seconds.
fp_seconds() # DURATION
{
	awk -v d="$1" 'BEGIN {
		s = 0
		while (match(d, /^[0-9.]+(h|ms|m|s)/)) {
			n = substr(d, 1, RLENGTH); d = substr(d, RLENGTH + 1)
			u = n; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", n)
			s += n * (u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : 0.001)
		}
		printf "%d\n", s
	}'
}

# The alert's decision as "type scope value origin scenario".
fp_decision() # ALERT-JSON
{
	jq -r '.decisions[0] | "\(.type) \(.scope) \(.value) \(.origin) \(.scenario)"' <<<"$1"
}

# The decision's duration left is within (LOW, HIGH] seconds.
fp_expect_left() # ALERT-JSON LOW HIGH
{
	local s

	s=$(fp_seconds "$(jq -r '.decisions[0].duration' <<<"$1")")
	[ "$s" -gt "$2" ] && [ "$s" -le "$3" ] || fail "decision's time left ${s}s, not in ($2, $3]"
}

# A password guesser banned while the machine's password is wrong, then fixed.
fp_guesser() # IP
{
	local ip=$1 i a

	for i in 1 2 3 4; do
		bf_guess "$ip" "$MLAB_VICTIM" "guess$i" >/dev/null 2>&1 || true
	done
	nl_wait_until 100 grep -q "ban $ip rule=auth_failures" "$MTA_DAEMON_LOG" ||
		fail "not banned: $(grep -E 'ban|alert' "$MTA_DAEMON_LOG" | tail -n 3)"
	# Refused, retried with back-off, said once.
	nl_wait_until 100 fp_at_least 2 mta_metric smtpguard_crowdsec_login_refused_total ||
		fail "refusals: $(mta_metric smtpguard_crowdsec_login_refused_total)"
	expect_eq "the refusal's lines" 1 "$(grep -c "crowdsec: $CS_URL refused the login of machine \
$FP_MACHINE (POST /v1/watchers/login: HTTP 401: incorrect Username or Password): wrong \
\[crowdsec\] machine_id or password_file; alerts wait in the queue" "$MTA_DAEMON_LOG")"
	expect_eq "queued" 1 "$(mta_metric smtpguard_crowdsec_push_queue)"
	expect_eq "pushed" 0 "$(mta_metric smtpguard_crowdsec_alerts_pushed_total)"
	expect_eq "alerts at the LAPI" 0 "$(fp_alerts "$ip" | jq length)"

	# The right password, reloaded: the queued alert goes.
	(umask 077 && echo "$FP_PASS" >"$T/machine.pass")
	kill -HUP "$(cat "$T/mta-daemon.pid")"
	nl_wait_until 100 fp_alerts_are "$ip" 1 || fail "no alert for $ip: $(cs_alerts_json)"
	a=$(fp_alerts "$ip" | jq -c '.[0]')
	expect_eq "scenario" smtpguard/auth_failures "$(jq -r .scenario <<<"$a")"
	expect_eq "the alert's machine" "$FP_MACHINE" "$(jq -r .machine_id <<<"$a")"
	expect_eq "events, capacity" "3 3" "$(jq -r '"\(.events_count) \(.capacity)"' <<<"$a")"
	expect_eq "evidence" "for_seconds=3600 limit=3 offences=1 rule=auth_failures value=3 \
window_seconds=600" "$(fp_meta "$a")"
	expect_eq "decision" "ban Ip $ip crowdsec smtpguard/auth_failures" "$(fp_decision "$a")"
	fp_expect_left "$a" 3400 3600
	nl_wait_until 40 mta_is 1 mta_metric smtpguard_crowdsec_alerts_pushed_total ||
		fail "pushed: $(mta_metric smtpguard_crowdsec_alerts_pushed_total)"
	expect_eq "queued" 0 "$(mta_metric smtpguard_crowdsec_push_queue)"
	grep -q "crowdsec: pushing to $CS_URL again" "$MTA_DAEMON_LOG" ||
		fail "no line for the link back: $(grep crowdsec: "$MTA_DAEMON_LOG")"
}

# ACCOUNT contained by client_ips: a message of its login from each ADDR.
fp_contain_from() # ACCOUNT PASSWORD ADDR...
{
	local account=$1 pass=$2 i=0 ip

	shift 2
	for ip in "$@"; do
		mlab_swaks "$ip" "$account" "$pass" "$account" "ok$i@d$i.example" >/dev/null ||
			fail "message from $ip refused"
		i=$((i + 1))
	done
	nl_wait_until 50 grep -q "action contain principal=sasl:$account " "$MTA_DAEMON_LOG" ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
}

# An account contained through the many-IPs rule, then a customer's local flood.
fp_contained()
{
	local i a ip uid user

	fp_contain_from "$MLAB_INFO" "$MLAB_INFO_PASS" "${MLAB_ATTACKERS[@]:0:4}"
	nl_wait_until 100 fp_alerts_are "$MLAB_INFO" 1 || fail "no hold: $(cs_alerts_json)"
	a=$(fp_alerts "$MLAB_INFO" | jq -c '.[0]')
	expect_eq "hold" "hold smtpguard_account $MLAB_INFO crowdsec smtpguard/client_ips" \
		"$(fp_decision "$a")"
	fp_expect_left "$a" 7000 7200
	expect_eq "evidence" "account=sasl:$MLAB_INFO bounced=0 bounces_in_1h=0 domains_10m=4 \
last_1m=4 limit=3.0 messages=4 queued=0 recipients=4 rule=client_ips value=4.0" "$(fp_meta "$a")"
	# The decision is there for the fleet's bouncers to pull.
	expect_eq "in cscli decisions list" "hold $MLAB_INFO" "$(cs_cscli decisions list \
		--scope smtpguard_account -o json 2>/dev/null | jq -r '.[].decisions[] | "\(.type) \(.value)"')"
	for i in 0 1 2 3; do
		ip=${MLAB_ATTACKERS[i]}
		nl_wait_until 50 fp_alerts_are "$ip" 1 || fail "no ban of $ip: $(fp_alerts "$ip")"
		a=$(fp_alerts "$ip" | jq -c '.[0]')
		expect_eq "ban of $ip" "ban Ip $ip crowdsec smtpguard/contain" "$(fp_decision "$a")"
		fp_expect_left "$a" 3400 3600
	done
	nl_wait_until 40 mta_is 6 mta_metric smtpguard_crowdsec_alerts_pushed_total ||
		fail "pushed: $(mta_metric smtpguard_crowdsec_alerts_pushed_total)"

	# A customer's flood from a PHP form, contained by its UID on this server only.
	user=$(mlab_add_local_user web) || fail "no local user"
	uid=$(id -u "$(mlab_user_name "$user")")
	for i in $(seq 1 40); do
		mlab_sendmail "$user" "wp@hosting.test" "dead$i@d$i.example" 2>/dev/null || true
	done
	nl_wait_until 50 grep -q "action contain principal=local:$uid " "$MTA_DAEMON_LOG" ||
		fail "not contained: $(grep -E 'alert|action' "$MTA_DAEMON_LOG" | tail -n 3)"
	# A publication after the containment: what it pushed is counted or queued there.
	nl_wait_until 50 mta_is 2 mta_metric smtpguard_mta_containments_total ||
		fail "containments: $(mta_metric smtpguard_mta_containments_total)"
	expect_eq "pushed after the local containment" 6 \
		"$(mta_metric smtpguard_crowdsec_alerts_pushed_total)"
	expect_eq "queued" 0 "$(mta_metric smtpguard_crowdsec_push_queue)"
	expect_eq "holds at the LAPI" "$MLAB_INFO" "$(cs_alerts_json |
		jq -r '.[] | select(.source.scope == "smtpguard_account") | .source.value')"
}

# An operator's hold of an account this server hosts: applied here, not pushed back.
fp_fleet_hold()
{
	cs_cscli decisions add --scope smtpguard_account --value "$MLAB_ALICE" --type hold \
		--duration 1h >/dev/null 2>&1 || fail "cscli decisions add (hold)"
	nl_wait_until 100 grep -q "action contain principal=sasl:$MLAB_ALICE.* rule=crowdsec" \
		"$MTA_DAEMON_LOG" || fail "the fleet's hold not applied: $(grep crowdsec "$MTA_DAEMON_LOG")"
	nl_wait_until 50 mta_is 3 mta_metric smtpguard_mta_containments_total ||
		fail "containments: $(mta_metric smtpguard_mta_containments_total)"
	expect_eq "pushed after the fleet's hold" 6 \
		"$(mta_metric smtpguard_crowdsec_alerts_pushed_total)"
	expect_eq "queued after the fleet's hold" 0 "$(mta_metric smtpguard_crowdsec_push_queue)"
	expect_eq "alerts about $MLAB_ALICE" 1 "$(fp_alerts "$MLAB_ALICE" | jq length)"
}

# An operator's hold of an account a local rule contained (info, by client_ips): the
# local containment stands, counted local_hold, and the hold's delete does not release it.
fp_local_hold()
{
	local m='smtpguard_crowdsec_decisions_skipped_total{reason="local_hold"}'

	cs_cscli decisions add --scope smtpguard_account --value "$MLAB_INFO" --type hold \
		--duration 1h >/dev/null 2>&1 || fail "cscli decisions add (hold of info)"
	nl_wait_until 100 mta_is 1 mta_metric "$m" || fail "local_hold: $(mta_metric "$m")"
	cs_cscli decisions delete --value "$MLAB_INFO" >/dev/null 2>&1 ||
		fail "cscli decisions delete (info)"
	# Two pulls at 1 s: the delete is seen.
	sleep 2.5
	expect_eq "release lines for info" 0 \
		"$(grep -c "action release principal=sasl:$MLAB_INFO" "$MTA_DAEMON_LOG")"
	expect_eq "info still held in the table" "HOLD" \
		"$(awk -v k="$MLAB_INFO" '$1 == k { print $2 }' "$MLAB_POSTFIX_DIR/smtpguard_sasl_access")"
}

# The fleet's holds on an account at the LAPI, as "type value" lines.
fp_holds() # ACCOUNT
{
	cs_cscli decisions list --scope smtpguard_account -o json 2>/dev/null |
		jq -r --arg v "$1" '.[]?.decisions[]? | select(.value == $v) | "\(.type) \(.value)"'
}

# Every decision at the LAPI, as sorted "type scope value" lines.
fp_all_decisions()
{
	cs_decisions_json | jq -r '.[]?.decisions[]? | "\(.type) \(.scope) \(.value)"' | sort
}

# A human's release of alice, held here by the fleet (fp_fleet_hold): a
# customer's try is refused and deletes nothing; root's deletes the fleet's
# holds on her at the LAPI, and nothing else, so that the other servers
# release her at their next pull, not at the end of the hold.
fp_release()
{
	local user uid gid out rc=0 before m=smtpguard_crowdsec_releases_pushed_total

	# Another account's hold and the bans pushed before: left as they are.
	cs_cscli decisions add --scope smtpguard_account --value "other@elsewhere.test" --type hold \
		--duration 1h >/dev/null 2>&1 || fail "cscli decisions add (other)"
	expect_eq "alice's hold before" "hold $MLAB_ALICE" "$(fp_holds "$MLAB_ALICE")"
	before=$(fp_all_decisions | grep -vx "hold smtpguard_account $MLAB_ALICE")

	user=$(mlab_add_local_user rel) || fail "no local user"
	uid=$(id -u "$user") || fail "no uid for $user"
	gid=$(id -g "$user")
	out=$(mlab_in_host_etc setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
		env -i SMTPGUARD_CONFIG="$MTA_CONF" "$SG_BIN" release "$MLAB_ALICE" 2>&1) || rc=$?
	expect_eq "a customer's release: exit status" 1 "$rc"
	expect_eq "its message" "smtpguard: must be run as root (the BPF maps are root's)" "$out"
	expect_eq "alice's hold after the customer's try" "hold $MLAB_ALICE" "$(fp_holds "$MLAB_ALICE")"

	mta_sg release "$MLAB_ALICE" >"$T/release.out" 2>&1 || fail "release: $(cat "$T/release.out")"
	nl_wait_until 100 mta_is 1 mta_metric "$m" || fail "releases pushed: $(mta_metric "$m"), \
failed pushes: $(mta_metric smtpguard_crowdsec_push_failures_total): $(grep crowdsec: "$MTA_DAEMON_LOG" | tail -n 2)"
	expect_eq "alice's holds at the LAPI after the release" "" "$(fp_holds "$MLAB_ALICE")"
	expect_eq "the other decisions" "$before" "$(fp_all_decisions)"
	expect_eq "queued" 0 "$(mta_metric smtpguard_crowdsec_push_queue)"
	# The customer's try pushed nothing: this one release only.
	expect_eq "releases counted" 1 "$(mta_metric smtpguard_mta_releases_total)"
}

# A release queued behind its account's hold (the login refused meanwhile):
# delivered after it, so that the hold the LAPI takes first is deleted, not
# left to hold the account fleet-wide for [crowdsec] hold.
fp_release_queued()
{
	local m=smtpguard_crowdsec_releases_pushed_total r=smtpguard_crowdsec_login_refused_total
	local refused ips=(198.51.100.30 198.51.100.31 198.51.100.32 198.51.100.33)

	# Addresses no ban covers yet: the lab's attackers are banned by now.
	nl_addrs "$MLAB_NS_INET" "$MLAB_VETH_INET" "${ips[@]/%//24}" || fail "addresses ${ips[*]}"

	refused=$(mta_metric "$r")
	(umask 077 && echo wrong >"$T/machine.pass")
	kill -HUP "$(cat "$T/mta-daemon.pid")"
	nl_wait_until 100 fp_at_least $((refused + 1)) mta_metric "$r" || fail "refusals: $(mta_metric "$r")"
	fp_contain_from "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "${ips[@]}"
	mta_sg release "$MLAB_VICTIM" >"$T/release.out" 2>&1 || fail "release: $(cat "$T/release.out")"
	nl_wait_until 50 mta_is 2 mta_metric smtpguard_mta_releases_total ||
		fail "releases: $(mta_metric smtpguard_mta_releases_total)"
	# The hold, its 4 addresses' bans and the release wait.
	expect_eq "queued" 6 "$(mta_metric smtpguard_crowdsec_push_queue)"

	(umask 077 && echo "$FP_PASS" >"$T/machine.pass")
	kill -HUP "$(cat "$T/mta-daemon.pid")"
	nl_wait_until 100 mta_is 2 mta_metric "$m" || fail "releases pushed: $(mta_metric "$m")"
	expect_eq "the victim's holds at the LAPI" "" "$(fp_holds "$MLAB_VICTIM")"
	expect_eq "its hold's alert" "hold smtpguard_account $MLAB_VICTIM crowdsec smtpguard/client_ips" \
		"$(fp_decision "$(fp_alerts "$MLAB_VICTIM" | jq -c '.[0]')")"
	expect_eq "queued after" 0 "$(mta_metric smtpguard_crowdsec_push_queue)"
}

# One mail lab for the mail server's pushes, in turn: the guesser (its ban
# pushed once the password is right), the containments, the fleet's hold,
# a human's release of it, and one that waited behind its hold.
test_fleetpush_mail()
{
	fp_for_test "wrong-password" "client_ips = 3" "[bruteforce]" "auth_failures = 3" \
		"window = 10m" "state = $T/offenders.json" "[crowdsec]" "hold = 2h" "interval = 1s"
	# Alice is known here before her account is held by the fleet (fp_fleet_hold).
	mlab_swaks "${MLAB_ATTACKERS[4]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok-friend@partner.example >/dev/null || fail "alice's message refused"
	fp_guesser "${MLAB_ATTACKERS[4]}"
	fp_contained
	fp_fleet_hold
	fp_local_hold
	fp_release
	fp_release_queued
}

# SYNs from ADDR (an address of $NS_NET's) to this server's submission port: COUNT of them.
fp_syns() # ADDR COUNT
{
	nl_in "$NS_NET" python3 -c '
import socket, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(min(n, 1000)):
    s = socket.socket()
    s.settimeout(0.2)
    s.bind((src, 0))
    try:
        s.connect((dst, 587))
    except OSError:
        pass
    s.close()' "$1" "$HOST4" "$2"
}

# Scanners banned by their SYN rate while the LAPI is down, on the base
# world: the server $NS_HOST, the scanners addresses of $NS_NET.
test_chaos_fleetpush_lapi_down()
{
	local n i ip t0 t1 fails ips=()

	n=$(at_scale 3 50)
	for ((i = 0; i < n; i++)); do
		ips+=("198.51.100.$((100 + i))")
		nl_addrs "$NS_NET" "$VETH_NET" "${ips[i]}/24" || fail "address ${ips[i]}"
	done
	fp_lapi "$NS_HOST" right
	write_config "$T/fp.conf" "[bruteforce]" "syn_rate = 10" "ban = 10m" \
		"state = $T/offenders.json" "${FP_CONF[@]}"
	start_daemon "$T/fp.conf"
	fp_pushing "$T/daemon.log"
	cs_stop
	nl_wait_until 50 nl_gone "$CS_PID" || fail "the LAPI outlived SIGKILL"
	for ip in "${ips[@]}"; do
		fp_syns "$ip" 10
	done
	for ip in "${ips[@]}"; do
		nl_wait_until 30 grep -q "ban $ip rule=syn_rate" "$T/daemon.log" ||
			fail "$ip not banned: $(grep -E "ban|$ip" "$T/daemon.log" | tail -n 3)"
	done
	nl_wait_until 50 metric_is smtpguard_crowdsec_push_queue "$n" ||
		fail "queued: $(metric smtpguard_crowdsec_push_queue)"
	nl_wait_until 50 fp_at_least 1 metric smtpguard_crowdsec_push_failures_total ||
		fail "no failed push counted"
	# Enforcement does not wait for the fleet: every scanner's SYN is dropped at XDP.
	expect_eq "banned" "$n" "$(bpftool -j map dump pinned "$PIN/sg_bans" | jq length)"
	healthy || fail "the daemon stopped answering"
	grep -q "crowdsec: pushing to $CS_URL: .*alerts wait in the queue, retried" \
		"$T/daemon.log" || fail "no line for the LAPI down: $(grep crowdsec: "$T/daemon.log")"

	cs_start || fail "the LAPI did not come back"
	t0=$EPOCHREALTIME
	nl_wait_until 900 metric_is smtpguard_crowdsec_alerts_pushed_total "$n" ||
		fail "pushed: $(metric smtpguard_crowdsec_alerts_pushed_total)"
	t1=$EPOCHREALTIME
	fails=$(metric smtpguard_crowdsec_push_failures_total)
	for ip in "${ips[@]}"; do
		fp_alerts_are "$ip" 1 || fail "alerts for $ip: $(fp_alerts "$ip")"
		expect_eq "decision for $ip" "ban Ip $ip crowdsec smtpguard/syn_rate" \
			"$(fp_decision "$(fp_alerts "$ip" | jq -c '.[0]')")"
	done
	expect_eq "queued" 0 "$(metric smtpguard_crowdsec_push_queue)"
	expect_eq "dropped" 0 "$(metric 'smtpguard_crowdsec_alerts_dropped_total{reason="full"}')"
	figure "$n bans made with the LAPI down: $fails failed pushes, all $n alerts delivered \
$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the LAPI listened again"
}

# --- two servers -------------------------------------------------------------

fp_b_banned() # ADDR
{
	[ "$(fleet_b_ban_field "$1" reason)" != absent ]
}

# Server A bans a scanner ($NET4) by its SYN rate and pushes the ban;
# server B (fleet.sh's fleet_server_b), a bouncer of the same LAPI pulling
# every $FLEET_B_INTERVAL (1s; `make bench` runs it at the default 10s),
# drops the scanner at XDP: the time from A's ban to B's is printed, and
# bounded by one pull interval and one tick of B's.
test_fleetpush_propagation()
{
	local interval=${FLEET_B_INTERVAL:-1s} pass t0 t1 took bound

	start_sink "$NS_HOST" "$T/host-sink.log" "$HOST4:587"
	fleet_up
	pass=$(openssl rand -hex 16)
	cs_machine_add "$FP_MACHINE" "$pass" || fail "cscli machines add $FP_MACHINE failed"
	(umask 077 && echo "$pass" >"$T/machine.pass")
	fleet_config "$T/a.conf" "[bruteforce]" "syn_rate = 10" "ban = 10m" \
		"state = $T/offenders.json" "[crowdsec]" "machine_id = $FP_MACHINE" \
		"password_file = $T/machine.pass"
	start_daemon "$T/a.conf"
	fp_pushing "$T/daemon.log"
	fleet_server_b
	expect_eq "the scanner's SYN to B before" "ok=1 eperm=0 other=0" "$(fleet_syn "$B4")"

	# At a random phase against B's pulls (B pulled at its start, just now).
	[ "$interval" = 1s ] || sleep "$((RANDOM % ${interval%s})).$((RANDOM % 10))"
	nl_in "$NS_NET" "$CONNECT" -n 10 --timeout-ms 500 "$HOST4" 587 >/dev/null
	nl_wait_until 300 grep -q "ban $NET4 rule=syn_rate" "$T/daemon.log" ||
		fail "A did not ban $NET4: $(grep -E "ban|crowdsec" "$T/daemon.log" | tail -n 3)"
	t0=$EPOCHREALTIME
	nl_wait_until 600 fp_b_banned "$NET4" ||
		fail "B never banned $NET4: $(grep crowdsec "$T/b/daemon.log" | tail -n 3)"
	t1=$EPOCHREALTIME
	took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	figure "fleet propagation at interval $interval: ban on A to ban at XDP on B ${took} s"
	expect_eq "B's ban's reason" 8 "$(fleet_b_ban_field "$NET4" reason)" # fleet_crowdsec
	expect_eq "the scanner's SYN to B" "ok=0 eperm=0 other=1" "$(fleet_syn "$B4")"
	expect_eq "B's drops of $NET4" 1 "$(fleet_b_ban_field "$NET4" drops)"
	# One pull interval, B's tick that applies what the pull brought, and a
	# second for the push and this test's polling on a loaded machine.
	bound=$(($(sed 's/s$//' <<<"$interval") + 2))
	awk -v t="$took" -v b="$bound" 'BEGIN { exit !(t <= b) }' ||
		fail "propagation took ${took} s, over one interval, a tick and the push (${bound} s)"
}
