# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The policy service's transport with the real MTAs: Postfix 3.7 of
# scripts/mta-lab.sh asking at end of data (MLAB_POLICY_SOCKET), Exim 4.96
# of scripts/exim-lab.sh through dist/exim4-smtpguard-policy.acl
# (ELAB_POLICY_SOCKET). The server is build/tools/sg_policy serve, the
# transport (daemon/policysrv.h) with a fixed answer: the judging is not
# under test here.
#
#   policy_postfix  check-mta sees the line and says what happens while the
#                   daemon is down; with nothing listening the message is
#                   deferred (451 4.3.5) and nothing is queued; served by
#                   the transport (SO_PEERCRED: Postfix's mail_owner), the
#                   request carries the login, client and server address
#                   and port, the recipient count and the queue id of the
#                   message HOLD then put in the hold queue; a local
#                   customer cannot reach the socket; a master.cf override
#                   without the line fails check-mta
#   policy_exim     check-mta sees the ACL; served for Debian-exim only, an
#                   authenticated message answered HOLD is frozen with the
#                   request's fields exact, a local one (sendmail, and
#                   sendmail -bs's SMTP on stdin) carries its caller's UID
#
# Each test builds its own lab and removes it on any exit. Sourced by run.sh.

TESTS+=(policy_postfix policy_exim)

POLICY_TOOL=$ROOT/build/tools/sg_policy
POLICY_PID=

policy_stop()
{
	[ -n "$POLICY_PID" ] || return 0
	kill -TERM "$POLICY_PID" 2>/dev/null || true
	nl_wait_until 50 nl_gone "$POLICY_PID" || true
	POLICY_PID=
}

# The transport on PATH, answering ANSWER, serving root and UID (group GID); its requests in LOG.
policy_serve() # PATH ANSWER UID GID LOG
{
	[ -x "$POLICY_TOOL" ] || fail "$POLICY_TOOL missing (make build/tools/sg_policy)"
	"$POLICY_TOOL" serve "$1" --answer "$2" --allow "$3" --group "$4" >"$5" 2>&1 &
	POLICY_PID=$!
	nl_wait_until 50 test -S "$1" || fail "sg_policy serve: $(cat "$5")"
}

# check-mta's line that starts with STATUS (ok or FAIL) and holds TEXT.
policy_check_line() # OUT STATUS TEXT
{
	grep -F -- "$3" "$1" | grep -q "^$2 " || fail "check-mta: no '$2 ... $3' in: $(tr '\n' '|' <"$1")"
}

test_policy_postfix()
{
	local sock=private/smtpguard-policy qid out=$T/check.out pf_uid pf_gid

	trap 'policy_stop; mlab_down >/dev/null 2>&1' EXIT
	MLAB_POLICY_SOCKET=$sock mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF"
	mta_policy_socket "$MTA_CONF" "$MLAB_SPOOL/$sock"
	mta_sg check-mta >"$out" 2>&1 || fail "check-mta failed: $(tr '\n' '|' <"$out")"
	policy_check_line "$out" ok "smtpd_end_of_data_restrictions asks the policy service"
	policy_check_line "$out" ok "daemon down: smtpd answers smtpd_policy_service_default_action = 451 4.3.5 Server configuration problem: mail deferred (the client retries), never lost"

	# Nothing listens: deferred at end of data, nothing queued.
	! mlab_swaks "${MLAB_ATTACKERS[0]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok1@remote.test >"$T/swaks1.out" 2>&1 || fail "accepted with no policy service"
	grep -q '^<\*\* 451 4.3.5 ' "$T/swaks1.out" || fail "not 451 4.3.5: $(grep '^<\*\*' "$T/swaks1.out")"
	expect_eq "queued while down" 0 "$(mlab_queue_count all)"

	pf_uid=$(id -u postfix) && pf_gid=$(id -g postfix)
	policy_serve "$MLAB_SPOOL/$sock" HOLD "$pf_uid" "$pf_gid" "$T/serve.out"
	mlab_swaks "${MLAB_ATTACKERS[1]}" "$MLAB_ALICE" "$MLAB_ALICE_PASS" "$MLAB_ALICE" \
		ok2@remote.test,ok3@remote.test >"$T/swaks2.out" 2>&1 || fail "not accepted: $(grep '^<\*\*' "$T/swaks2.out")"
	expect_eq "held" 1 "$(mlab_queue_count hold)"
	qid=$(ls "$MLAB_SPOOL/hold")
	grep -Eq "^request state=END-OF-MESSAGE sasl=$MLAB_ALICE client=${MLAB_ATTACKERS[1]}:[0-9]+ server=$MLAB_HOST4:587 sender=$MLAB_ALICE rcpts=2 qid=$qid caller_uid=-1 truncated=0\$" \
		"$T/serve.out" || fail "request: $(grep ^request "$T/serve.out")"
	expect_eq "requests" 1 "$(grep -c ^request "$T/serve.out")"
	# A customer cannot even reach it: private/ is Postfix's alone.
	mlab_add_local_user cust >/dev/null
	! setpriv --reuid="$(id -u "$(mlab_user_name cust)")" --regid=65534 --clear-groups -- \
		"$POLICY_TOOL" bench "$MLAB_SPOOL/$sock" -n 1 >"$T/cust.out" 2>&1 ||
		fail "a customer was answered"
	grep -q "Permission denied" "$T/cust.out" || fail "customer: $(cat "$T/cust.out")"
	policy_stop
	grep -q "^answered DUNNO 0 HOLD 1 REJECT 0 DEFER 0; refused peer 0 " "$T/serve.out" ||
		fail "counters: $(tail -n 1 "$T/serve.out")"

	# A service that overrides the list without the line.
	mlab_pf postconf -P "$MLAB_HOST4:submission/inet/smtpd_end_of_data_restrictions="
	! mta_sg check-mta >"$out" 2>&1 || fail "check-mta passed with the override"
	policy_check_line "$out" FAIL "every smtpd asks the policy service"
}

test_policy_exim()
{
	local sock out=$T/check.out qid

	exim_for_test_policy
	sock=$ELAB_POLICY_SOCKET
	# In the lab's mount namespace, where /etc/exim4/exim4.conf is its config. The
	# lookup files are made at the first containment: those lines fail until then.
	nsenter --mount="/proc/$ELAB_HOLDER_PID/ns/mnt" --net="/proc/$ELAB_HOLDER_PID/ns/net" -- \
		env SMTPGUARD_CONFIG="$MTA_CONF" "$SG_BIN" check-mta >"$out" 2>&1 || true
	policy_check_line "$out" ok "has require acl = acl_smtpguard_policy_rcpt"
	policy_check_line "$out" ok "has require acl = acl_smtpguard_policy_data"
	policy_check_line "$out" ok "has require acl = acl_smtpguard_policy_local"
	policy_check_line "$out" ok "sets SMTPGUARD_POLICY_SOCKET = $sock"

	policy_serve "$sock" HOLD "$ELAB_EXIM_UID" "$ELAB_EXIM_UID" "$T/serve.out"
	elab_swaks "${ELAB_ATTACKERS[0]}" "$ELAB_ALICE" "$ELAB_ALICE_PASS" "$ELAB_ALICE" \
		ok1@remote.test >"$T/swaks.out" 2>&1 || fail "not accepted: $(grep '^<\*\*' "$T/swaks.out")"
	expect_eq "frozen" 1 "$(elab_queue_count frozen)"
	# Asked at RCPT too (no queue id yet), then at the end of data.
	grep -Eq "^request state=RCPT sasl=$ELAB_ALICE client=${ELAB_ATTACKERS[0]}:[0-9]+ server=$ELAB_HOST4:587 sender=$ELAB_ALICE rcpts=0 qid= caller_uid=-1 truncated=0\$" \
		"$T/serve.out" || fail "RCPT request: $(grep ^request "$T/serve.out")"
	qid=$(elab_qids_of "$ELAB_ALICE")
	grep -Eq "^request state=END-OF-MESSAGE sasl=$ELAB_ALICE client=${ELAB_ATTACKERS[0]}:[0-9]+ server=$ELAB_HOST4:587 sender=$ELAB_ALICE rcpts=1 qid=$qid caller_uid=-1 truncated=0\$" \
		"$T/serve.out" || fail "request: $(grep ^request "$T/serve.out") (qid $qid)"
	printf 'Subject: t\n\nlocal\n' | elab_exim_as nobody -odi ok2@remote.test ||
		fail "local submission refused"
	grep -Eq "^request state=END-OF-MESSAGE sasl= client=:-1 server=:-1 sender=nobody@$ELAB_DOMAIN rcpts=1 qid=[0-9A-Za-z-]+ caller_uid=65534 truncated=0\$" \
		"$T/serve.out" || fail "local request: $(grep ^request "$T/serve.out")"
	expect_eq "frozen" 2 "$(elab_queue_count frozen)"
	# sendmail -bs: SMTP on stdin, no client address: the caller's UID is sent, no
	# login (Exim puts the caller's name in $authenticated_id), and an untrusted
	# caller's MAIL FROM is its own address.
	printf 'EHLO local\r\nMAIL FROM:<bs@%s>\r\nRCPT TO:<ok3@remote.test>\r\nDATA\r\nSubject: bs\r\n\r\nbs\r\n.\r\nQUIT\r\n' \
		"$ELAB_DOMAIN" | elab_exim_as nobody -bs >"$T/bs.out" 2>&1 || fail "-bs: $(cat "$T/bs.out")"
	grep -Eq "^request state=END-OF-MESSAGE sasl= client=:0 server=:0 sender=nobody@$ELAB_DOMAIN rcpts=1 qid=[0-9A-Za-z-]+ caller_uid=65534 truncated=0\$" \
		"$T/serve.out" || fail "-bs request: $(grep ^request "$T/serve.out" | tail -n 1)"
	expect_eq "frozen" 3 "$(elab_queue_count frozen)"
	policy_stop
	# RCPT and end of data for each SMTP message, once for the local one.
	grep -q "^answered DUNNO 0 HOLD 5 REJECT 0 DEFER 0; refused peer 0 " "$T/serve.out" ||
		fail "counters: $(tail -n 1 "$T/serve.out")"
	# No service: sendmail -bs is held, not refused (its caller, a PHP mailer, would lose it).
	printf 'EHLO local\r\nMAIL FROM:<bs@%s>\r\nRCPT TO:<ok4@remote.test>\r\nDATA\r\nSubject: bs\r\n\r\nbs\r\n.\r\nQUIT\r\n' \
		"$ELAB_DOMAIN" | elab_exim_as nobody -bs >"$T/bs2.out" 2>&1 || fail "-bs, no service: $(cat "$T/bs2.out")"
	grep -q "^250 OK id=" "$T/bs2.out" || fail "-bs, no service, not accepted: $(cat "$T/bs2.out")"
	expect_eq "frozen" 4 "$(elab_queue_count frozen)"
}

# exim_for_test's lab with the policy ACL, on a socket of the test's own.
exim_for_test_policy()
{
	local dir

	# Debian-exim must reach it: not under the test's own directory (0700).
	dir=$(mktemp -d /tmp/sgt-policy.XXXXXX)
	chmod 0755 "$dir"
	ELAB_POLICY_SOCKET=$dir/exim.sock
	# shellcheck disable=SC2064 # dir now: the trap runs after this function returns
	trap "policy_stop; elab_down >/dev/null 2>&1 || true; rm -rf '$dir'" EXIT
	[ -u "$ELAB_EXIM_BIN" ] || "$ROOT/scripts/fetch-exim.sh" >"$T/fetch-exim.out" 2>&1 ||
		fail "fetch-exim: $(tail -n 3 "$T/fetch-exim.out")"
	elab_up >"$T/elab.out" 2>&1 || fail "exim lab: $(tail -n 3 "$T/elab.out")"
	MTA_CONF=$T/mta.conf
	exim_write_config "$MTA_CONF"
	mta_policy_socket "$MTA_CONF" "$ELAB_POLICY_SOCKET"
}
