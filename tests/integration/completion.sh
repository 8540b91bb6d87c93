# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The bash completion (dist/smtpguard.bash-completion), sourced with
# bash-completion as an interactive shell loads it, and asked as readline
# asks it: COMP_WORDS split at ':' as bash splits them. Sourced by run.sh;
# uses daemon.sh's helpers.
#
#   completion  commands, options and the choices of their values from the
#               binary's --help, files, interfaces, the test users, the
#               banned prefixes of the private pins, and the mail accounts a
#               running daemon has seen (only those it holds contained for
#               release), each as an exact list

TESTS+=(completion)

# The candidates for the command line WORD..., the last one the word being
# completed, sorted on one line; in the test's host namespace (its interfaces).
# The line as typed has no blank either side of a ':'.
complete_words() # WORD...
{
	# shellcheck disable=SC2016 # expanded by the inner bash
	nl_in "$NS_HOST" bash -c '. /usr/share/bash-completion/bash_completion && . "$0" &&
		COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) && COMP_LINE="$*" &&
		COMP_LINE=${COMP_LINE// : /:} && COMP_POINT=${#COMP_LINE} &&
		_smtpguard "$1" "${!#}" "${COMP_WORDS[COMP_CWORD - 1]}" &&
		printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd " "' \
		"$ROOT/dist/smtpguard.bash-completion" "$@"
}

expect_completion() # WANT WORD...
{
	local want=$1

	shift
	expect_eq "completing '$*'" "$want" "$(complete_words "$@")"
}

# A Postfix log line of now: a message LOGIN submitted from 192.0.2.10.
completion_submit() # QUEUE-ID LOGIN
{
	printf '%s mail postfix/submission/smtpd[100]: %s: client=unknown[192.0.2.10], sasl_method=PLAIN, sasl_username=%s\n' \
		"$(date +%Y-%m-%dT%H:%M:%S.000000%:z)" "$1" "$2" >>"$T/maillog"
}

# `top --accounts` lists N accounts.
completion_accounts_are() # N
{
	[ "$(sg top --accounts | wc -l)" -eq $(($1 + 1)) ]
}

# A stand-in for the binary whose `top --accounts` lists a login that is a
# command substitution (a login the auth backend took, or with [mta] trust_syslog
# a customer's `logger` line).
completion_fake_bin() # PWNED-FILE
{
	cat <<EOF
#!/bin/sh
case "\$1 \$2" in
"--help ") printf 'usage: smtpguard COMMAND\\n\\ncommands:\\n  release   let go\\n\\n' ;;
"release --help") echo 'usage: smtpguard release PRINCIPAL' ;;
"top --accounts") printf '%s\\n' 'PRINCIPAL KIND CONTAINED' 'sasl:ab\$(id>$1)@x.test sasl yes' \\
	'sasl:ab@x.test sasl yes' ;;
esac
EOF
}

# The commands smtpguard(8) documents (tests/man keeps them those of --help).
completion_man_commands()
{
	awk '/^# COMMANDS/ { on = 1; next } /^# / { on = 0 } on && /^## / { print $2 }' \
		"$ROOT/man/smtpguard.8.scd"
}

test_completion()
{
	expect_completion "$({ completion_man_commands && echo --help && echo --version; } |
		sort | paste -sd ' ')" "$SG_BIN" ""
	expect_completion "throttle" "$SG_BIN" th
	expect_completion "--burst --for --force --help --rate --reason" "$SG_BIN" throttle --
	expect_completion "--accounts --help --json --watch -n" "$SG_BIN" top -
	# Other tests of the run add users under the same prefix: each of ours by its own.
	expect_completion "$USER_A" "$SG_BIN" block "$USER_A"
	expect_completion "$USER_B" "$SG_BIN" throttle --rate 10/min "${USER_B%?}b"
	expect_completion "" "$SG_BIN" throttle --rate ""
	expect_completion "" "$SG_BIN" ban 192.0.2.1 --for ""
	expect_completion "auto exim postfix" "$SG_BIN" replay --mta ""
	expect_completion "lo $VETH_HOST" "$SG_BIN" attach -i ""
	expect_completion "$T/smtpguard.conf" "$SG_BIN" check-config "$T/smtpguard.c"

	# An account's name is never expanded (compgen -W would run it) nor offered unquoted.
	completion_fake_bin "$T/pwned" >"$T/fake-smtpguard"
	chmod +x "$T/fake-smtpguard"
	expect_completion "ab@x.test" "$T/fake-smtpguard" release sasl : a
	[ ! -e "$T/pwned" ] || fail "completing ran the command in an account's name"

	sg ban 203.0.113.0/24 >/dev/null
	sg ban 2001:db8:77::/48 >/dev/null
	expect_completion "203.0.113.0/24" "$SG_BIN" unban 203
	# bash splits 2001:db8:77::/48 at each ':'; the completion puts it together.
	expect_completion "77::/48" "$SG_BIN" unban 2001 : db8 : 7

	mkdir -p "$T/postfix"
	echo "maillog_file = $T/maillog" >"$T/postfix/main.cf"
	: >"$T/maillog"
	printf '{"%s": {"since": 1, "rule": "rate", "mta": "postfix", "held": [], "bans": []}}\n' \
		sasl:held@hosting.test >"$T/contained.json"
	write_config "$T/smtpguard.conf" "[mta]" "type = postfix" "logs = $T/maillog" \
		"postfix_config = $T/postfix" "state = $T/contained.json" "policy_socket = none"
	start_daemon "$T/smtpguard.conf"
	completion_submit 4ShKq21nXbz9sA busy@hosting.test
	completion_submit 4ShKq21nXbz9sB held@hosting.test
	nl_wait_until 50 completion_accounts_are 2 ||
		fail "the daemon never listed 2 accounts: $(sg top --accounts 2>&1)"
	expect_completion "busy@hosting.test held@hosting.test" "$SG_BIN" explain sasl : ""
	expect_completion "held@hosting.test" "$SG_BIN" release sasl : ""
}
