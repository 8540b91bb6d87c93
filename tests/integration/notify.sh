# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# [notify]: the exec hook gets each event as JSON on its standard input
# (a customer's bytes only as JSON data), a hung hook is killed at its
# timeout while the daemon ticks on, a hook someone else could change is
# refused, a real Alertmanager (Debian's prometheus-alertmanager, on the
# test's loopback) gets each containment and sees it resolved at the
# release, and the shipped hooks (dist/hooks) act in the mail lab
# (mta.sh's). Sourced by run.sh.

TESTS+=(notify_exec_json notify_exec_timeout notify_alertmanager notify_mail_hooks)

NOTIFY_AM=127.0.0.1:9093

# A hook, root's and writable by root alone, running BODY (bash) with the event on stdin.
notify_hook() # NAME BODY
{
	mkdir -p "$T/hooks"
	printf '#!/bin/bash\n%s\n' "$2" >"$T/hooks/$1"
	chmod 0755 "$T/hooks" "$T/hooks/$1"
	echo "$T/hooks/$1"
}

# The events the recording hook (notify_record) was given, one compact JSON a line.
notify_events()
{
	cat "$T/events.json" 2>/dev/null
}

notify_count() # N
{
	[ "$(notify_events | wc -l)" -ge "$1" ]
}

notify_record()
{
	notify_hook record "cat >>$T/events.json; echo >>$T/events.json"
}

# The daemon throttles USER_A for the customer's hostile mailer: its
# command line (a quote, a backslash, a newline, $(...) and a fake JSON
# field) reaches the hook as one JSON string, exactly, and runs nothing;
# the release by the CLI is an event too. [notify] is set by a reload.
test_notify_exec_json()
{
	local uid hook want

	uid=$(id -u "$USER_A")
	hook=$(notify_record)
	# Turned on by a reload: the notifications start with it.
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	write_config "$T/smtpguard.conf" "[notify]" "exec = $hook"
	kill -HUP "$DAEMON_PID"
	nl_wait_until 30 grep -q "reloaded $T/smtpguard.conf" "$T/daemon.log" || fail "no reload"
	# The mailer lives until the event is in (its stdin closes then): the
	# daemon reads a command line off a process that still runs, however
	# late the loop gets to the kernel's event on a busy machine.
	# shellcheck disable=SC2016 # expanded by the user's bash, if by anyone
	{ nl_wait_until 100 notify_count 1 || true; } | as_user "$USER_A" bash -c 'exec -a "$0" bash -c "$1"' \
		$'x"}, "event": "release" \\ $(touch /tmp/pwned-'"$ID"$')\n`id`' \
		"for i in \$(seq 60); do exec 3<>/dev/tcp/$NET4/25; exec 3>&-; done; read -r _" 2>/dev/null || true
	notify_count 1 || fail "no event: $(tail -n 3 "$T/daemon.log")"
	sg release "$USER_A" >/dev/null
	nl_wait_until 50 notify_count 2 || fail "no release event: $(notify_events)"
	expect_eq "events" 2 "$(notify_events | jq -s length)"
	want="contain throttle daemon $USER_A uid $uid new_sender smtpguard explain $USER_A"
	expect_eq "the containment" "$want" "$(notify_events | jq -rs '.[0] |
		"\(.event) \(.action) \(.actor) \(.principal) \(.kind) \(.uid) \(.rule) \(.explain)"')"
	expect_eq "its host" "$(nl_in "$NS_HOST" hostname)" "$(notify_events | jq -rs '.[0].host')"
	expect_eq "its evidence" 60 "$(notify_events | jq -s '.[0].evidence.last_1m')"
	want=$'x"}, "event": "release" \\ $(touch /tmp/pwned-'"$ID"$')\n`id` -c for i in $(seq 60); do exec 3<>/dev/tcp/'"$NET4"'/25; exec 3>&-; done; read -r _'
	expect_eq "the customer's command line, as JSON data" "$(jq -n --arg s "$want" '$s')" \
		"$(notify_events | jq -s ".[0].evidence.processes[0].process.cmdline")"
	[ ! -e "/tmp/pwned-$ID" ] || fail "the customer's \$(...) ran"
	expect_eq "the release" "release release cli:root $USER_A uid" "$(notify_events | jq -rs '.[1] |
		"\(.event) \(.action) \(.actor | sub(":.*"; ":root")) \(.principal) \(.kind)"')"
	expect_metric 'smtpguard_notify_events_total{event="contain"}' 1
	expect_metric 'smtpguard_notify_events_total{event="release"}' 1
	expect_metric 'smtpguard_notify_hook_runs_total{outcome="ok"}' 2
}

# A hook that hangs (and starts a child that would outlive it) is killed with
# its child at exec_timeout, counted; the daemon's loop ticks on meanwhile.
# A hook someone else could change is refused.
test_notify_exec_timeout()
{
	local hook ticks marker=sg-notify-sleeper-$ID conf=$T/refused.conf cust=$T/cust

	hook=$(notify_hook hang "(exec -a $marker sleep 20); echo done")
	write_config "$T/smtpguard.conf" "[notify]" "exec = $hook" "exec_timeout = 3s"
	start_daemon "$T/smtpguard.conf"
	sg block "$USER_A" >/dev/null
	sg release "$USER_A" >/dev/null
	nl_wait_until 30 pgrep -f "^$marker" >/dev/null || fail "the hook did not start"
	ticks=$(metric smtpguard_ticks_total)
	nl_wait_until 25 metric_is smtpguard_ticks_total $((ticks + 2)) ||
		fail "no tick while the hook hung: $(metric smtpguard_ticks_total) after $ticks"
	expect_metric 'smtpguard_notify_hook_runs_total{outcome="timeout"}' 1
	expect_eq "the hook's child left" "" "$(pgrep -f "^$marker" || true)"
	grep -q "notify: hook $hook still running after 3000 ms: killed" "$T/daemon.log" ||
		fail "no log line: $(tail -n 3 "$T/daemon.log")"

	# A customer must not plant a hook for root: one they own, root's in a
	# directory they own, or in one anyone can write, stops the config with
	# its file and line.
	mkdir -p "$cust"
	printf '#!/bin/sh\nid >/tmp/x\n' >"$cust/hook"
	chmod 755 "$cust/hook"
	# The customer's: a file they own, in a directory they own.
	chown "$USER_A" "$cust" "$cust/hook"
	printf '[notify]\nexec = %s\n' "$cust/hook" >"$conf"
	expect_refused "^smtpguard: $conf:2: \[notify\] exec: $cust/hook is owned by uid $(id -u "$USER_A"), not root \(the hook runs as root" \
		"$SG_BIN" check-config "$conf"
	cp "$cust/hook" "$T/hooks-root"
	chmod 755 "$T/hooks-root"
	printf '[notify]\nexec = %s\n' "$cust/hooks-root" >"$conf"
	mv "$T/hooks-root" "$cust/hooks-root"
	expect_refused "^smtpguard: $conf:2: \[notify\] exec: $cust is owned by uid $(id -u "$USER_A"), not root" \
		"$SG_BIN" check-config "$conf"
	chown root "$cust"
	chmod 0777 "$cust"
	expect_refused "^smtpguard: $conf:2: \[notify\] exec: $cust is writable by everyone" \
		"$SG_BIN" check-config "$conf"
	chmod 0755 "$cust"
	"$SG_BIN" check-config "$conf" >/dev/null || fail "a hook of root's alone refused"
}

# Alertmanager's own API.
notify_am_alerts()
{
	nl_in "$NS_HOST" curl -sS --max-time 5 "http://$NOTIFY_AM/api/v2/alerts"
}

notify_am_has() # JQ-FILTER
{
	notify_am_alerts | jq -e "$1" >/dev/null 2>&1
}

# A real Alertmanager in the client namespace, with its own config and storage.
notify_am_start()
{
	mkdir -p "$T/am"
	printf 'route:\n  receiver: none\nreceivers:\n  - name: none\n' >"$T/am/am.yml"
	spawn_in "$NS_HOST" prometheus-alertmanager --config.file="$T/am/am.yml" \
		--storage.path="$T/am" --web.listen-address="$NOTIFY_AM" --cluster.listen-address= \
		>"$T/am.log" 2>&1
	nl_wait_until 100 notify_am_has 'length == 0' || fail "alertmanager: $(tail -n 3 "$T/am.log")"
}

# More than N (a counter's value, for nl_wait_until).
notify_metric_over() # SERIES N
{
	awk -v v="$(metric "$1")" -v n="$2" 'BEGIN { exit !(v + 0 > n) }'
}

# The daemon's containment while Alertmanager is down: each post fails,
# counted, told once for the streak, and the alert is kept; once
# Alertmanager is up, it gets the alert with its labels and annotations,
# posted again every alertmanager_resend (its updatedAt moves on); the
# CLI's release resolves it (the API lists no resolved alert).
test_notify_alertmanager()
{
	local labels updated am=http://$NOTIFY_AM

	command -v prometheus-alertmanager >/dev/null ||
		fail "prometheus-alertmanager is not installed (scripts/install-deps.sh installs it)"
	write_config "$T/smtpguard.conf" "[notify]" "alertmanager = $am" "alertmanager_resend = 2s"
	start_daemon "$T/smtpguard.conf"
	connect_as "$USER_A" -n 60 "$NET4" 25 >/dev/null
	nl_wait_until 100 notify_metric_over 'smtpguard_notify_alertmanager_posts_total{result="failed"}' 1 ||
		fail "no failed posts: $(metric 'smtpguard_notify_alertmanager_posts_total{result="failed"}')"
	expect_eq "lines about the failures" 1 \
		"$(grep -c "alertmanager: posting to $am: .*; kept, posted again every 2 s" "$T/daemon.log")"
	expect_metric smtpguard_notify_alertmanager_alerts 1

	notify_am_start
	nl_wait_until 100 notify_am_has 'length == 1' || fail "no alert: $(notify_am_alerts)"
	grep -q "alertmanager: posting to $am works again" "$T/daemon.log" || fail "no line on the recovery"
	labels=$(jq -nc --arg p "$USER_A" --arg h "$(nl_in "$NS_HOST" hostname)" \
		'{alertname: "SmtpguardContained", host: $h, kind: "uid", principal: $p, rule: "new_sender"}')
	expect_eq "its labels" "$labels" "$(notify_am_alerts | jq -cS '.[0].labels')"
	expect_eq "its explain" "smtpguard explain $USER_A" \
		"$(notify_am_alerts | jq -r '.[0].annotations.explain')"
	expect_eq "its evidence" 60 "$(notify_am_alerts | jq -r '.[0].annotations.evidence | fromjson | .last_1m')"
	expect_eq "its state" active "$(notify_am_alerts | jq -r '.[0].status.state')"
	updated=$(notify_am_alerts | jq -r '.[0].updatedAt')
	nl_wait_until 50 notify_am_has ".[0].updatedAt != \"$updated\"" ||
		fail "not posted again: updated at $updated"
	sg release "$USER_A" >/dev/null
	nl_wait_until 50 notify_am_has 'length == 0' || fail "not resolved: $(notify_am_alerts)"
	expect_metric smtpguard_notify_alertmanager_alerts 0
}

# The hook's runs that went well and that failed, and the events notified: from one scrape,
# one tick's figures (two scrapes may straddle a tick that notified one more).
notify_tally()
{
	nl_in "$MTA_NS" curl -s --max-time 2 http://127.0.0.1:9025/metrics |
		awk '$1 ~ /^smtpguard_notify_events_total/ { e += $2 }
		     $1 == "smtpguard_notify_hook_runs_total{outcome=\"ok\"}" { ok = $2 }
		     $1 == "smtpguard_notify_hook_runs_total{outcome=\"failed\"}" { f = $2 }
		     END { printf "%d %d %d\n", ok, f, e }'
}

# Every event notified has had its run, and it went well.
notify_all_ok()
{
	local ok failed events

	read -r ok failed events <<<"$(notify_tally)"
	[ "$ok" = "$events" ] && [ "$failed" = 0 ]
}

# Dovecot looks at its passwd-file at most once a second of lookups: a
# change made within a second of a lookup shows from the next second on.
second_after() # FILE
{
	[ "$(date +%s)" -gt "$(stat -c %Y "$1")" ]
}

# Scenario S4 as the provider should have done it, with the shipped hooks
# (dist/hooks) behind one wrapper: the account a bot guessed is contained;
# dovecot-passwd-lock locks its login in Dovecot's passwd-file at once (its
# right password no longer logs in over IMAP or SMTP AUTH, another
# account's still does), and
# owner-notice-mail mails the contact one notice through the lab's Postfix,
# the audited figures in it; the release unlocks it, the file as it was.
test_notify_mail_hooks()
{
	local hook i j pids users line notice messages ip=${MLAB_ATTACKERS[0]} ok failed events
	local owner_ip=${MLAB_ATTACKERS[3]} rc MTA_STANDINS

	trap 'mta_daemon_stop; mlab_down >/dev/null 2>&1' EXIT
	mlab_up >"$T/mlab.out" 2>&1 || fail "mail lab: $(tail -n 3 "$T/mlab.out")"
	MTA_NS=$MLAB_NS_HOST
	MTA_CONF=$T/mta.conf
	users=$MLAB/dovecot/users
	line=$(grep "^$MLAB_VICTIM:" "$users")
	hook=$(notify_hook mail "set -e; ev=\$(cat)
printf '%s\\n' \"\$ev\" | $ROOT/dist/hooks/dovecot-passwd-lock $users
printf '%s\\n' \"\$ev\" | MAIL_CONFIG=$MLAB_POSTFIX_DIR $ROOT/dist/hooks/owner-notice-mail $MLAB_INFO")
	mta_write_config "$MTA_CONF" "[notify]" "exec = $hook"
	# The unit makes /etc/dovecot writable: the lab's Dovecot directory stands in for it.
	# shellcheck disable=SC2034 # mta_daemon_start reads it
	MTA_STANDINS=("/etc/dovecot=$MLAB/dovecot")
	mta_daemon_start postfix "$MLAB_MAILLOG"
	mlab_imap "$owner_ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" >/dev/null ||
		fail "the victim's login refused before anything happened"
	# The bot, five sessions at a time, until it is cut off.
	for i in $(seq 0 5 35); do
		pids=()
		for j in 1 2 3 4 5; do
			mlab_swaks "$ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" \
				"dead$((i + j))@d$((i + j)).example" >/dev/null 2>&1 &
			pids+=($!)
		done
		wait "${pids[@]}" || true
		! grep -q "^$MLAB_VICTIM:.*nologin" "$users" || break
	done
	nl_wait_until 100 grep -q "^$MLAB_VICTIM:.*nologin" "$users" ||
		fail "not locked: $(grep -E "notify|action" "$MTA_DAEMON_LOG" | tail -n 3)"
	expect_eq "the locked line" "$line::::::nologin reason=smtpguard-contained allow_nets=0.0.0.0/32" \
		"$(grep "^$MLAB_VICTIM:" "$users")"
	nl_wait_until 20 second_after "$users" || fail "the clock did not pass the lock's second"
	if mlab_imap "$owner_ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" >/dev/null 2>&1; then
		fail "the contained account still logs in over IMAP"
	fi
	mlab_imap "$owner_ip" "$MLAB_ALICE" "$MLAB_ALICE_PASS" >/dev/null ||
		fail "another account's login refused"
	rc=0
	mlab_swaks "$owner_ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" ok@partner.example \
		>/dev/null 2>&1 || rc=$?
	expect_eq "swaks' status for the contained account (28: AUTH refused)" 28 "$rc"

	nl_wait_until 100 mta_is 1 mlab_mailbox_count "$MLAB_INFO" ||
		fail "no notice delivered: $(tail -n 3 "$MLAB_MAILLOG")"
	notice=$(find "$MLAB/mail/$MLAB_DOMAIN/${MLAB_INFO%@*}/new" -type f)
	messages=$(jq -r --arg p "sasl:$MLAB_VICTIM" \
		'select(.target == $p and .action == "contain") | .params.messages' "$T/audit.log")
	grep -qx "Subject: Your mail account $MLAB_VICTIM was paused" "$notice" ||
		fail "the notice's subject: $(grep Subject "$notice")"
	grep -qx "  messages:    $messages" "$notice" ||
		fail "the notice's figures ($messages messages): $(grep -A4 'What we saw' "$notice")"
	grep -qx "  from:        $ip" "$notice" || fail "the notice's client address: $(grep from: "$notice")"

	mta_sg release "sasl:$MLAB_VICTIM" >/dev/null
	nl_wait_until 100 grep -qx "$line" "$users" || fail "not unlocked: $(grep "^$MLAB_VICTIM:" "$users")"
	nl_wait_until 20 second_after "$users" || fail "the clock did not pass the unlock's second"
	mlab_imap "$owner_ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" >/dev/null ||
		fail "the released account's login refused"
	mlab_swaks "$owner_ip" "$MLAB_VICTIM" "$MLAB_VICTIM_PASS" "$MLAB_VICTIM" ok@partner.example \
		>/dev/null 2>&1 || fail "the released account's SMTP AUTH refused"
	# Its alerts and containment, then the release: every event's run went well, one notice.
	nl_wait_until 50 notify_all_ok || true
	read -r ok failed events <<<"$(notify_tally)"
	expect_eq "hook runs ok, failed" "$events 0" "$ok $failed"
	expect_eq "notices" 1 "$(mlab_mailbox_count "$MLAB_INFO")"
}
