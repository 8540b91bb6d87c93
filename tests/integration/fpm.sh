# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# PHP-FPM: the script a worker runs, as smtpguard's FastCGI client reads it
# from the pool's status page, against the real php-fpm8.2. Sourced by run.sh.

TESTS+=(fpm_script)

FPM_SCRIPT=$ROOT/build/tools/sg_fpm_script

# Stops the pool and removes what fpm_start made; safe to run twice.
fpm_cleanup()
{
	local pid

	pid=$(cat "$T/fpm/php-fpm.pid" 2>/dev/null || true)
	if [ -n "$pid" ]; then
		# The master ends its workers on SIGQUIT; teardown's cgroup.kill is the backstop.
		kill -QUIT "$pid" 2>/dev/null || true
		nl_wait_until 50 fpm_gone "$pid" || true
	fi
	rm -rf "$T/fpm" "$T/www" "$T/fpm.sock"
	chmod 0700 "$T"
}

fpm_gone() # PID
{
	! kill -0 "$1" 2>/dev/null && [ -z "$(pgrep -u "$USER_A" php-fpm || true)" ]
}

# A pool of two static workers run by $USER_A in the test cgroup, socket
# $T/fpm.sock, status page /status: one worker runs a script while the
# other answers the status request.
fpm_start()
{
	mkdir "$T/fpm" "$T/www"
	cat >"$T/fpm/php-fpm.conf" <<EOF
[global]
pid = $T/fpm/php-fpm.pid
error_log = $T/fpm/error.log
daemonize = no

[sgt]
user = $USER_A
group = $(id -gn "$USER_A")
listen = $T/fpm.sock
listen.owner = $USER_A
listen.group = $(id -gn "$USER_A")
listen.mode = 0660
pm = static
pm.max_children = 2
pm.status_path = /status
EOF
	# shellcheck disable=SC2016 # expanded by the inner sh
	spawn_in "$NS_HOST" sh -c 'echo $$ >"$0/cgroup.procs" && exec php-fpm8.2 -F -y "$1"' \
		"$CG" "$T/fpm/php-fpm.conf"
	nl_wait_until 50 test -S "$T/fpm.sock" ||
		fail "php-fpm did not start: $(cat "$T/fpm/error.log" 2>/dev/null)"
	nl_wait_until 50 test "$(pgrep -c -u "$USER_A" php-fpm)" -eq 2 ||
		fail "php-fpm did not start its two workers"
}

# Connects to the sink, reads the banner, then keeps the worker busy for 3 s.
fpm_write_mailer()
{
	cat >"$T/www/mail.php" <<EOF
<?php
\$s = fsockopen('$NET4', 25, \$errno, \$errstr, 5);
if (!\$s) {
	echo "connect: \$errstr\n";
	exit(1);
}
echo fgets(\$s);
sleep(3);
fwrite(\$s, "QUIT\r\n");
echo fgets(\$s);
EOF
	# The workers run as $USER_A: the path must be theirs to reach and read.
	chmod 0711 "$T"
	chmod 0755 "$T/www"
	chmod 0644 "$T/www/mail.php"
}

# The pid of the process holding a TCP connection to the sink's port 25 in $NS_HOST.
smtp_client_pid()
{
	nl_in "$NS_HOST" ss -Htnp state established dst "$NET4" dport = :25 |
		grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2
}

sink_accepted() # COUNT
{
	[ "$(accepts "$SINK_LOG" 25)" -eq "$1" ]
}

test_fpm_script()
{
	local busy other cgi rc=0

	trap fpm_cleanup EXIT
	fpm_start
	fpm_write_mailer
	SCRIPT_FILENAME=$T/www/mail.php REQUEST_METHOD=GET \
		cgi-fcgi -bind -connect "$T/fpm.sock" >"$T/fpm/response" 2>&1 &
	cgi=$!
	echo "$cgi" >>"$T/pids"

	# Once the sink has the connection, the worker is in its 3 s sleep.
	nl_wait_until 30 sink_accepted 1 || fail "the PHP script never reached the sink"
	busy=$(smtp_client_pid)
	[ -n "$busy" ] || fail "no process holds the SMTP connection"
	expect_eq "user of the SMTP client" "$USER_A" "$(ps -o user= -p "$busy")"
	other=$(pgrep -u "$USER_A" php-fpm | grep -vx "$busy")
	expect_eq "the busy worker's script" "$T/www/mail.php" \
		"$("$FPM_SCRIPT" "$T/fpm.sock" /status "$busy")"
	# The other worker is the one answering the status request: no script of the customer's.
	expect_eq "the other worker" none "$("$FPM_SCRIPT" "$T/fpm.sock" /status "$other" || true)"
	expect_eq "a pid the pool does not have" none \
		"$("$FPM_SCRIPT" "$T/fpm.sock" /status 1 || true)"

	wait "$cgi" || rc=$?
	expect_eq "cgi-fcgi exit status" 0 "$rc"
	grep -q '^220 ' "$T/fpm/response" || fail "no banner in the response: $(cat "$T/fpm/response")"
	# Idle again; the status page still names the last script, which must not count.
	expect_eq "the worker after its request" none \
		"$("$FPM_SCRIPT" "$T/fpm.sock" /status "$busy" || true)"
	# The pool runs in the test cgroup: the kernel side saw the worker's one connection.
	expect_top "$USER_A" "1/1/0/1"
}
