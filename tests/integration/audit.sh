# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The audit trail of the CLI's changes, and `smtpguard log` reading it back.
# Every smtpguard here audits to $T/audit.log (SMTPGUARD_AUDIT_LOG). Sourced
# by run.sh.

TESTS+=(audit_log audit_unwritable)

# FILTER (jq) applied to line N of the audit log, compact.
audit_line() # N FILTER
{
	sed -n "${1}p" "$T/audit.log" | jq -c "$2"
}

# Seconds from an entry's time to its expiry, to the nearest, or null.
EXPIRES_IN='def t: (sub("\\.[0-9]{3}Z$"; "Z") | fromdate) + (.[20:23] | tonumber) / 1000;
	if .expires == null then null else (.expires | t) - (.time | t) | round end'

test_audit_log()
{
	local uid user=$USER_A entry out err time_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

	uid=$(id -u "$USER_A")
	sg throttle "$USER_A" --rate 90/min --for 2h --reason "spam run"
	sg block "$USER_A" --reason "still going"
	sg release "$USER_A"
	sg ban 203.0.113.0/24 --for 1d --reason "brute force"
	sg unban 203.0.113.0/24
	# Nothing changed (the grace period of the first stands), nothing audited.
	sg release "$USER_A"

	expect_eq "audit log lines" 5 "$(wc -l <"$T/audit.log")"
	entry='[.action, .uid, .user, .target, .params, .reason]'
	expect_eq "throttle entry" \
		"[\"throttle\",$uid,\"$user\",null,{\"rate\":\"90/min\",\"rate_per_hour\":5400,\"burst\":90},\"spam run\"]" \
		"$(audit_line 1 "$entry")"
	expect_eq "block entry" "[\"block\",$uid,\"$user\",null,{\"connections_cut\":0},\"still going\"]" \
		"$(audit_line 2 "$entry")"
	expect_eq "release entry" "[\"release\",$uid,\"$user\",null,{\"previous\":\"block\",\"grace\":\"1h\"},null]" \
		"$(audit_line 3 "$entry")"
	expect_eq "ban entry" \
		'["ban",null,null,"203.0.113.0/24",{"cidr":"203.0.113.0/24","renewed":false},"brute force"]' \
		"$(audit_line 4 "$entry")"
	expect_eq "unban entry" '["unban",null,null,"203.0.113.0/24",{},null]' \
		"$(audit_line 5 "$entry")"
	# The expiry is wall-clock time: 2 h and 1 d after the change, to the second.
	# A release leaves the user unlimited for the grace period ([detect] release_grace).
	expect_eq "expiries" "7200 null 3600 86400 null" \
		"$(jq -r "$EXPIRES_IN" "$T/audit.log" | xargs)"
	expect_eq "times" 5 "$(jq -r .time "$T/audit.log" | grep -cE "$time_re")"
	expect_eq "actors" 5 "$(jq -r .actor "$T/audit.log" | grep -c '^cli:.')"

	expect_eq "log --json -n 2" "$(tail -n 2 "$T/audit.log" | jq -sc .)" \
		"$(sg log --json -n 2 | jq -c .)"
	out=$(sg log)
	expect_eq "log lines" 5 "$(wc -l <<<"$out")"
	expect_eq "log actions" "throttle block release ban unban" \
		"$(awk '{ print $3 }' <<<"$out" | xargs)"
	grep -q " $user (uid $uid) *rate=90/min rate_per_hour=5400 burst=90 reason=\"spam run\" expires=" \
		<<<"$out" || fail "log text of the throttle: $(head -n 1 <<<"$out")"
	expect_eq "log -n 1" "unban" "$(sg log -n 1 | awk '{ print $3 }')"

	# A line that is not an entry is named once, by number, and skipped.
	echo 'not json' >>"$T/audit.log"
	sg block "$USER_B"
	out=$(sg log -n 3 2>"$T/log.err")
	expect_eq "log -n 3 around a bad line" "ban unban block" "$(awk '{ print $3 }' <<<"$out" | xargs)"
	expect_eq "log -n 3 stderr" "smtpguard: $T/audit.log:6: not a JSON audit entry, skipped" \
		"$(cat "$T/log.err")"
	err=$(sg log --json -n 0 2>&1 >/dev/null)
	expect_eq "log --json -n 0 stderr" "smtpguard: $T/audit.log:6: not a JSON audit entry, skipped" "$err"
	expect_eq "log --json -n 0 entries" 6 "$(sg log --json -n 0 2>/dev/null | jq length)"

	# No log yet: no entries, and no error.
	expect_eq "log of a missing file" "no audit entries" "$(SMTPGUARD_AUDIT_LOG=$T/none.log sg log)"
	expect_eq "log --json of a missing file" "[]" "$(SMTPGUARD_AUDIT_LOG=$T/none.log sg log --json)"
	expect_refused "bad -n" sg log -n x
}

# An audit log that cannot be written never stops the change: one warning, and success.
test_audit_unwritable()
{
	local uid rc=0

	uid=$(id -u "$USER_A")
	SMTPGUARD_AUDIT_LOG=/proc/nope/x sg throttle "$USER_A" --rate 10/min --burst 1 \
		>"$T/out.log" 2>"$T/err.log" || rc=$?
	expect_eq "throttle exit status" 0 "$rc"
	expect_eq "throttle stdout" "throttled $USER_A (uid $uid) to 10/min, burst 1" "$(cat "$T/out.log")"
	expect_eq "throttle stderr" "smtpguard: warning: audit log /proc/nope/x: No such file or directory" \
		"$(cat "$T/err.log")"
	expect_eq "policy in force" "throttle 10/min 1" \
		"$(sg top --json | jq -r --argjson uid "$uid" '.[] | select(.uid == $uid) | .policy | "\(.mode) \(.rate) \(.burst)"')"
	expect_connects "$USER_A" "ok=1 eperm=1 other=0" -n 2 "$NET4" 25

	SMTPGUARD_AUDIT_LOG=/proc/nope/x sg ban 203.0.113.7 >/dev/null 2>"$T/err.log" || rc=$?
	expect_eq "ban exit status" 0 "$rc"
	expect_eq "ban stderr lines" 1 "$(wc -l <"$T/err.log")"
	expect_eq "ban in force" 1 "$(map_dump sg_bans | jq length)"
	expect_eq "nothing written elsewhere" absent "$([ -e "$T/audit.log" ] && echo present || echo absent)"
}
