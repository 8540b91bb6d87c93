# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The contained account's owner told ([notify] owner_mail), on the Postfix
# lab (scripts/mta-lab.sh) with its Dovecot mailboxes, and panel files of a
# fixture tree under $T:
#
#   owner_notice  four accounts flood (two SASL logins, two local senders),
#                 the daemon contains each: every owner's notice reaches
#                 the mailbox its panel names, once, with the flood's
#                 figures: cPanel's CONTACTEMAIL, DirectAdmin's email, the
#                 fallback for the account whose contact is itself and for
#                 a customer whose contact address carries "\r" and a Bcc:
#                 header (nothing reaches the Bcc); a restart sends none
#                 again; a template with an unknown placeholder fails the start
#   owner_notice_exim the same notice sent through Exim (its [mta] exim
#                 command with -i -t), into the owner's mbox in the Exim lab
#
# The flood is sent before the daemon starts, which reads the logs back
# ([mta] read_back), so the figures the notice carries are the flood's
# exactly: every message delivered or bounced, none in flight. mta.sh's
# daemon helpers and exim.sh's config serve both labs. Sourced by run.sh.

TESTS+=(owner_notice owner_notice_exim)

OWNER_K=4 # messages each account sends: new_sender_min, so that all of them count

# The fixture panels: hosting.test is cPanel user hostco's, whose contact is CONTACT.
owner_cpanel() # CONTACT
{
	mkdir -p "$T/panels/cpanel"
	printf 'hosting.test: hostco\n' >"$T/panels/userdomains"
	: >"$T/panels/domainowners"
	printf 'DNS=hosting.test\nCONTACTEMAIL=%s\n' "$1" >"$T/panels/cpanel/hostco"
}

# And DirectAdmin user DA's email is victim@; cPanel user EVIL wrote a
# contact address with a carriage return and a Bcc: header after it.
owner_panels() # DA EVIL
{
	local p=$T/panels

	owner_cpanel "$MLAB_INFO"
	mkdir -p "$p/da/$1"
	printf 'username=%s\nemail=%s\n' "$1" "$MLAB_VICTIM" >"$p/da/$1/user.conf"
	printf 'CONTACTEMAIL=%s\rBcc: %s\n' "$MLAB_VICTIM" "$MLAB_INFO" >"$p/cpanel/$2"
}

# The config lines of the notice, on the fixture panels.
owner_config_lines()
{
	printf '%s\n' "[attribution]" "cpanel_userdomains = $T/panels/userdomains" \
		"directadmin_domainowners = $T/panels/domainowners" "[notify]" "owner_mail = yes" \
		"owner_template = $ROOT/dist/owner-notice.txt" "cpanel_users = $T/panels/cpanel" \
		"directadmin_users = $T/panels/da"
}

# The notices in ACCOUNT's mailbox (the shipped template's subject), by file.
owner_notice_files() # ACCOUNT
{
	grep -l '^Subject: Outgoing mail of ' "$MLAB/mail/${1#*@}/${1%@*}"/{new,cur}/* 2>/dev/null ||
		true
}

owner_notice_count() # ACCOUNT
{
	owner_notice_files "$1" | wc -l
}

# The notice in ACCOUNT's mailbox about the contained ABOUT.
owner_notice_of() # ACCOUNT ABOUT
{
	local f

	for f in $(owner_notice_files "$1"); do
		if grep -q "^Subject: Outgoing mail of $2 held on " "$f"; then
			echo "$f"
			return 0
		fi
	done
	fail "no notice about $2 in $1's mailbox"
}

# OWNER_K messages with CMD, {} in its last ARG the message's number; stops at the first refused.
owner_flood() # CMD ARG...
{
	local i

	for i in $(seq 1 $OWNER_K); do
		"$1" "${@:2:$#-2}" "${!#//\{\}/$i}" >/dev/null 2>&1 || return 1
	done
}

owner_expect_line() # FILE LINE
{
	grep -qxF -- "$2" "$1" || fail "no line '$2' in the notice: $(grep -E '^ +[a-z]' "$1")"
}

test_owner_notice()
{
	local da evil da_uid evil_uid i f state1 ticks bad

	# A template that would fail at the first containment fails the start.
	printf 'Subject: {acount} held\n\nbody\n' >"$T/bad-notice.txt"
	printf '[notify]\nowner_mail = yes\nowner_template = %s\n' "$T/bad-notice.txt" >"$T/bad.conf"
	bad="^smtpguard: \[notify\] owner_template $T/bad-notice.txt: line 1: unknown placeholder"
	expect_refused "$bad \{acount\}\$" nl_in "$NS_HOST" timeout 10 "$SG_BIN" run -c "$T/bad.conf"

	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	# shellcheck disable=SC2034 # mta.sh's, read by its helpers
	MTA_NS=$MLAB_NS_HOST
	da=$(mlab_user_name "$(mlab_add_local_user da)") || fail "no local user"
	evil=$(mlab_user_name "$(mlab_add_local_user evil)") || fail "no local user"
	da_uid=$(id -u "$da")
	evil_uid=$(id -u "$evil")
	owner_panels "$da" "$evil"

	# The floods, side by side: the victim two recipients a message (one the MX
	# takes, one it refuses), info one refused, the local senders one each.
	owner_flood mlab_swaks "${MLAB_ATTACKERS[0]}" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" \
		"$MLAB_VICTIM" "ok{}@d{}.example,dead{}@d{}.example" &
	owner_flood mlab_swaks "${MLAB_ATTACKERS[1]}" "$MLAB_INFO" "$MLAB_INFO_PASS" "$MLAB_INFO" \
		"dead{}@d{}.example" &
	owner_flood mlab_sendmail "$da" "$MLAB_ALICE" "ok{}@d{}.example" &
	owner_flood mlab_sendmail "$evil" "$MLAB_ALICE" "ok{}@d{}.example" &
	for i in 1 2 3 4; do
		wait -n || fail "a flood's message was refused"
	done
	nl_wait_until 200 mta_is 0 mlab_queue_count all ||
		fail "the flood still queued: $(mlab_queue_count all)"

	MTA_CONF=$T/mta.conf
	mta_write_config "$MTA_CONF" "new_sender_min = $OWNER_K" "new_sender_rate = 1/min"
	owner_config_lines >>"$MTA_CONF"
	echo "owner_fallback = $MLAB_ALICE" >>"$MTA_CONF"
	sed -i 's/^\[mta\]$/[mta]\nread_back = yes/' "$MTA_CONF"
	mta_daemon_start postfix "$MLAB_MAILLOG"

	nl_wait_until 100 mta_is 4 grep -c "^.*notice principal=" "$MTA_DAEMON_LOG" ||
		fail "notices: $(grep -E 'notice|action contain' "$MTA_DAEMON_LOG")"
	grep "notice principal=" "$MTA_DAEMON_LOG" | sed 's/^/# /'
	for f in "sasl:$MLAB_VICTIM owner=$MLAB_INFO sent (cpanel user hostco)" \
		"sasl:$MLAB_INFO owner=$MLAB_ALICE sent (the fallback, as cpanel user hostco: its address is the contained one)" \
		"local:$da_uid owner=$MLAB_VICTIM sent (directadmin user $da)" \
		"local:$evil_uid owner=$MLAB_ALICE sent (the fallback, as cpanel user $evil's CONTACTEMAIL is not a plain address)"; do
		grep -qF "notice principal=$f" "$MTA_DAEMON_LOG" || fail "no log line 'notice principal=$f'"
	done
	nl_wait_until 100 mta_is 2 owner_notice_count "$MLAB_ALICE" ||
		fail "alice's notices: $(owner_notice_count "$MLAB_ALICE") of 2"
	nl_wait_until 50 mta_is 1 owner_notice_count "$MLAB_VICTIM" ||
		fail "victim's notices: $(owner_notice_count "$MLAB_VICTIM") of 1"
	# The Bcc: in evil's contact address added no recipient: info has the victim's notice only.
	expect_eq "info's notices" 1 "$(owner_notice_count "$MLAB_INFO")"
	expect_eq "metric sent" 4 "$(mta_metric 'smtpguard_owner_notices_total{outcome="sent"}')"
	expect_eq "metric failed" 0 "$(mta_metric 'smtpguard_owner_notices_total{outcome="failed"}')"

	# The victim's figures: the flood's, to the letter, and the containment's audit says the same.
	f=$(owner_notice_of "$MLAB_INFO" "$MLAB_VICTIM")
	owner_expect_line "$f" "To: $MLAB_INFO"
	owner_expect_line "$f" "  messages sent:           $OWNER_K"
	owner_expect_line "$f" "  recipients:              $((2 * OWNER_K))"
	owner_expect_line "$f" "  delivered or bounced:    $((2 * OWNER_K))"
	owner_expect_line "$f" "  bounced:                 $OWNER_K (50% of those delivered)"
	owner_expect_line "$f" "  logged in from:          ${MLAB_ATTACKERS[0]}"
	owner_expect_line "$f" "  rule:                    new_sender"
	expect_eq "audited figures" "$OWNER_K $((2 * OWNER_K))" "$(jq -r --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "contain") | "\(.params.messages) \(.params.recipients)"' \
		"$T/audit.log")"
	f=$(owner_notice_of "$MLAB_ALICE" "$MLAB_INFO")
	owner_expect_line "$f" "  bounced:                 $OWNER_K (100% of those delivered)"
	f=$(owner_notice_of "$MLAB_VICTIM" "$da")
	owner_expect_line "$f" "  recipients:              $OWNER_K"
	owner_expect_line "$f" "  bounced:                 0 (0% of those delivered)"
	# Evil's notice went to the fallback alone, its one To: line, no Bcc.
	f=$(owner_notice_of "$MLAB_ALICE" "$evil")
	expect_eq "evil's notice: recipient headers" "To: $MLAB_ALICE" \
		"$(sed '/^$/q' "$f" | grep -iE '^(to|cc|bcc|resent-[a-z]*):')"
	expect_eq "delivered to" "$MLAB_ALICE" "$(sed -n 's/^Delivered-To: //p' "$f")"
	state1=$(jq -c 'map_values(.notice)' "$T/contained.json")
	echo "# state: $state1"
	expect_eq "recorded" "sent sent sent sent" \
		"$(jq -r '[.[] | .notice.outcome] | join(" ")' "$T/contained.json")"

	# A restart reads the same flood back: contained still, and no second notice.
	mta_daemon_stop
	mta_daemon_start postfix "$MLAB_MAILLOG"
	ticks=$(mta_metric smtpguard_ticks_total)
	nl_wait_until 100 owner_ticked "$((ticks + 2))" || fail "the daemon does not tick"
	expect_eq "notices after the restart" 0 "$(grep -c "notice principal=" "$MTA_DAEMON_LOG" || true)"
	expect_eq "contained after the restart" 0 "$(grep -c "action contain" "$MTA_DAEMON_LOG" || true)"
	expect_eq "metric sent after the restart" 0 \
		"$(mta_metric 'smtpguard_owner_notices_total{outcome="sent"}')"
	expect_eq "the state's notices" "$state1" "$(jq -c 'map_values(.notice)' "$T/contained.json")"
	expect_eq "mailboxes" "1 2 1" "$(owner_notice_count "$MLAB_INFO") \
$(owner_notice_count "$MLAB_ALICE") $(owner_notice_count "$MLAB_VICTIM")"
}

test_owner_notice_exim()
{
	local f

	trap 'mta_daemon_stop || true; elab_down >/dev/null 2>&1 || true' EXIT
	[ -u "$ELAB_EXIM_BIN" ] || "$ROOT/scripts/fetch-exim.sh" >"$T/fetch-exim.out" 2>&1 ||
		fail "fetch-exim: $(tail -n 3 "$T/fetch-exim.out")"
	# The daemon's sandbox is made in the lab's mount namespace (mta_daemon_start).
	# shellcheck disable=SC2034 # exim-lab.sh's
	ELAB_KEEP_BPFFS=$BPFFS
	elab_up >"$T/elab.out" 2>&1 || fail "exim lab: $(tail -n 3 "$T/elab.out")"
	# shellcheck disable=SC2034 # mta.sh's, read by its helpers
	MTA_NS=$ELAB_NS_HOST
	owner_cpanel "$ELAB_INFO"
	owner_flood elab_swaks "${ELAB_ATTACKERS[0]}" "$ELAB_VICTIM" "$ELAB_VICTIM_PASS" \
		"$ELAB_VICTIM" "ok{}@d{}.example,dead{}@d{}.example" || fail "a message refused"
	nl_wait_until 200 mta_is 0 elab_queue_count all ||
		fail "the flood still queued: $(elab_queue_count all)"

	MTA_CONF=$T/exim.conf
	exim_write_config "$MTA_CONF"
	printf '%s\n' "read_back = yes" "[detect]" "new_sender_min = $OWNER_K" \
		"new_sender_rate = 1/min" >>"$MTA_CONF"
	owner_config_lines >>"$MTA_CONF"
	mta_daemon_start exim "$ELAB_MAINLOG"
	nl_wait_until 100 grep -qF "notice principal=sasl:$ELAB_VICTIM owner=$ELAB_INFO sent (cpanel user hostco)" \
		"$MTA_DAEMON_LOG" || fail "notice: $(grep -E 'notice|action contain' "$MTA_DAEMON_LOG")"
	nl_wait_until 100 grep -qs "^Subject: Outgoing mail of $ELAB_VICTIM held on " "$ELAB/mail/info" ||
		fail "no notice in info's mbox"
	f=$T/notice.txt
	sed -n "/^Subject: Outgoing mail of $ELAB_VICTIM held on /,/^smtpguard on /p" \
		"$ELAB/mail/info" >"$f"
	owner_expect_line "$f" "  messages sent:           $OWNER_K"
	owner_expect_line "$f" "  recipients:              $((2 * OWNER_K))"
	owner_expect_line "$f" "  bounced:                 $OWNER_K (50% of those delivered)"
	owner_expect_line "$f" "  logged in from:          ${ELAB_ATTACKERS[0]}"
	expect_eq "notices in info's mbox" 1 "$(grep -c '^Subject: Outgoing mail of ' "$ELAB/mail/info")"
}

# Whether the daemon's tick count has reached N.
owner_ticked() # N
{
	local n

	n=$(mta_metric smtpguard_ticks_total)
	[ -n "$n" ] && [ "${n%.*}" -ge "$1" ]
}
