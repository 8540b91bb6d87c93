# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The daemon keeps user names in a cache, so that a tick does not ask NSS
# once per UID; a user the admin adds is named from the next tick on, not a
# minute later. Sourced by run.sh; smtp_session's dialogue is anyport.sh's.

TESTS+=(user_name_added)

# CMD as the bare UID (no passwd entry needed), in the test cgroup and client namespace.
as_uid() # UID CMD...
{
	# shellcheck disable=SC2016 # expanded by the inner sh
	nl_in "$NS_HOST" sh -c 'echo $$ >"$0/cgroup.procs" && u=$1 && shift &&
		exec setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"' "$CG" "$@"
}

# An SMTP session of UID to ADDR:2525 (EHLO, then QUIT): TC egress records it.
smtp_as_uid() # UID ADDR
{
	# shellcheck disable=SC2016 # expanded by the UID's bash
	as_uid "$1" timeout 10 bash -c 'exec 3<>/dev/tcp/$0/2525 && read -r l <&3 &&
		printf "EHLO client.example\r\n" >&3 && read -r l <&3 &&
		printf "QUIT\r\n" >&3 && cat <&3 >/dev/null' "$2"
}

# The first UID from 61000 that has neither a user nor a group.
free_uid()
{
	local u

	for ((u = 61000; u < 62000; u++)); do
		getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || break
	done
	echo "$u"
}

# The daemon's line telling UID's SMTP session to ADDR on 2525, or nothing.
told() # UID ADDR
{
	grep -o "smtp on unwatched port 2525: uid $1 ([^)]*) to $2, 1 session" "$T/daemon.log"
}

test_user_name_added()
{
	local uid name=sgt${ID}named

	uid=$(free_uid)
	start_sink "$NS_NET" "$T/sink2525.log" "$NET4:2525" "[$NET6]:2525"
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	# A UID with no name yet sends: the daemon names it "-" and the sender has no user.
	smtp_as_uid "$uid" "$NET4" || fail "uid $uid's session to $NET4 failed"
	expect_eq "uid out of /etc/passwd" "ok=1 eperm=0 other=0" \
		"$(as_uid "$uid" "$CONNECT" -n 1 "$NET4" 25)"
	nl_wait_until 30 told "$uid" "$NET4" >/dev/null || fail "not told: $(tail -n 3 "$T/daemon.log")"
	expect_eq "told before" "smtp on unwatched port 2525: uid $uid (-) to $NET4, 1 session" \
		"$(told "$uid" "$NET4")"
	expect_metric "smtpguard_sender_connections_total{uid=\"$uid\",user=\"\"}" 1
	# The admin adds the user: its next session is told with its name, by the next ticks.
	nl_user_add "$T" "$name" "" "$uid" || fail "useradd $name failed"
	smtp_as_uid "$uid" "$NET6" || fail "uid $uid's session to $NET6 failed"
	nl_wait_until 30 told "$uid" "$NET6" >/dev/null || fail "not told: $(tail -n 3 "$T/daemon.log")"
	expect_eq "told after" "smtp on unwatched port 2525: uid $uid ($name) to $NET6, 1 session" \
		"$(told "$uid" "$NET6")"
	expect_metric "smtpguard_sender_connections_total{uid=\"$uid\",user=\"$name\"}" 1
	expect_metric "smtpguard_sender_connections_total{uid=\"$uid\",user=\"\"}" absent
}
