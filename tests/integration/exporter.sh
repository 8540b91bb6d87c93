# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The exporter against a hostile local user: the details (/senders,
# /explain, /accounts) only on root's unix socket; 70 slow connections from
# one user leaving the scrape answered; oversized headers answered; /metrics
# behind TLS and basic auth from an exporter-toolkit web config. Sourced by
# run.sh, after daemon.sh (write_config, start_daemon, http_get).

TESTS+=(exporter_private exporter_slowloris exporter_subuid_slowloris exporter_tls)

SLOWLORIS=$ROOT/build/tools/sg_slowloris

# What a connect() to the unix socket at PATH gets as USER: "connected" or the error.
unix_connect_as() # USER PATH
{
	# shellcheck disable=SC2016 # perl's variables
	as_user "$1" perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "$!\n";
		print connect($s, pack_sockaddr_un($ARGV[0])) ? "connected\n" : "$!\n"' "$2"
}

# HTTP status of GET URL as USER in the daemon's namespace ("000": no answer).
status_as() # USER URL [CURL-ARGS...]
{
	local user=$1 url=$2

	shift 2
	as_user "$user" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" "$url"
}

# A customer reads no one's processes, scripts or accounts; root's CLI still does.
test_exporter_private()
{
	local uid_a out

	uid_a=$(id -u "$USER_A")
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	expect_connects "$USER_A" "ok=2 eperm=0 other=0" -n 2 "$NET4" 25
	# Root's views: /senders names A's sender, explain answers from the daemon.
	nl_wait_until 80 has_sender "$USER_A" || fail "no /senders entry for $USER_A"
	out=$(sg explain "$USER_A" --json | jq -r '.daemon.uid // .daemon_error')
	expect_eq "root's explain of $USER_A" "$uid_a" "$out"

	# B, a customer, on TCP: /metrics yes, every detail 404.
	expect_eq "B: /metrics" 200 "$(status_as "$USER_B" "http://$EXPORTER/metrics")"
	for path in /senders "/explain?principal=$uid_a" /accounts; do
		expect_eq "B: $path over TCP" 404 "$(status_as "$USER_B" "http://$EXPORTER$path")"
	done
	# The socket: mode 0600, root's; B's connect() refused by it (its directory is open).
	expect_eq "socket mode" "600 root" "$(stat -c '%a %U' "$(control_socket)")"
	chmod 0711 "$T"
	out=$(unix_connect_as "$USER_B" "$(control_socket)")
	chmod 0700 "$T"
	expect_eq "B's connect() to the socket" "Permission denied" "$out"
}

# 70 slow connections from one customer: 7 of 7 scrapes answered, and a 40 KB header 431.
test_exporter_slowloris()
{
	local ok=0 out big

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	as_user "$USER_A" "$SLOWLORIS" 127.0.0.1 9025 70 9 >"$T/slowloris.out" &
	sleep 1
	for _ in 1 2 3 4 5 6 7; do
		[ "$(http_get /metrics -o /dev/null -w '%{http_code}' --max-time 1)" = 200 ] &&
			ok=$((ok + 1))
		sleep 1
	done
	wait $!
	echo "# scrapes answered under 70 slow connections: $ok of 7; $(cat "$T/slowloris.out")"
	expect_eq "scrapes answered under 70 slow connections" "7 of 7" "$ok of 7"
	# Its first 4 held to the end (dripping a field a second); 66 refused at accept.
	expect_eq "the slow client's connections" "open=4 closed=66" "$(cat "$T/slowloris.out")"
	expect_metric smtpguard_exporter_refused_total 66

	big=$(head -c 40000 /dev/zero | tr '\0' a)
	out=$(http_get /metrics -o /dev/null -w '%{http_code} %{time_total}' --max-time 2 \
		-H "X-Big: $big")
	echo "# 40 KB of header: HTTP status and seconds: $out"
	expect_eq "40 KB of header" 431 "${out% *}"
}

# The same customer from 20 UIDs of a user namespace it maps with its /etc/subuid range:
# still one client, its 4 connections in all (16 sub-UIDs would otherwise hold all 64).
test_exporter_subuid_slowloris()
{
	local ok=0 start end out

	subuid_lock
	start=$(subuid_free_start)
	end=$((start + 65535))
	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	nl_wait_until 30 usermod --add-subuids "$start-$end" --add-subgids "$start-$end" "$USER_A" ||
		fail "usermod --add-subuids failed"
	subuid_unlock
	nl_wait_until 50 subuid_prefixes_are "$(id -u "$USER_A")" 1 ||
		fail "the range never reached the kernel: $(tail -n 3 "$T/daemon.log")"
	# shellcheck disable=SC2016 # expanded by the inner sh
	as_user "$USER_A" unshare --user --map-auto --setuid 0 --setgid 0 sh -c '
		for i in $(seq 1 20); do
			setpriv --reuid=$i --regid=$i --clear-groups -- "$0" 127.0.0.1 9025 4 6 &
		done
		wait' "$SLOWLORIS" >"$T/slowloris.out" &
	sleep 1
	for _ in 1 2 3 4; do
		[ "$(http_get /metrics -o /dev/null -w '%{http_code}' --max-time 1)" = 200 ] &&
			ok=$((ok + 1))
		sleep 1
	done
	wait $!
	out=$(awk -F'[= ]' '{ open += $2; closed += $4 } END { printf "open=%d closed=%d", open, closed }' \
		"$T/slowloris.out")
	echo "# scrapes answered under 80 slow connections from 20 sub-UIDs: $ok of 4; $out"
	expect_eq "scrapes answered under 20 sub-UIDs' slow connections" "4 of 4" "$ok of 4"
	expect_eq "the customer's connections from its sub-UIDs" "open=4 closed=76" "$out"
	nl_wait_until 30 usermod --del-subuids "$start-$end" --del-subgids "$start-$end" "$USER_A" ||
		fail "usermod --del-subuids failed"
}

# /metrics over TLS with basic auth, from a web config; plain HTTP gets nothing.
test_exporter_tls()
{
	local hash url=https://$EXPORTER/metrics

	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$T/web.key" -out "$T/web.crt" \
		>/dev/null 2>&1 || fail "openssl req failed"
	# bcrypt through libxcrypt's crypt(), as htpasswd -B makes it.
	hash=$(perl -e 'print crypt("s3cret", "\$2b\$05\$abcdefghijklmnopqrstuu")')
	printf '%s\n' "tls_server_config:" "  cert_file: $T/web.crt" "  key_file: $T/web.key" \
		"basic_auth_users:" "  prometheus: $hash" >"$T/web.yml"
	write_config "$T/smtpguard.conf" "[exporter]" "web_config = $T/web.yml"
	unit_sandbox
	spawn_in "$NS_HOST" "${SANDBOX[@]}" "$SG_BIN" run -c "$T/smtpguard.conf" >>"$T/daemon.log" 2>&1
	nl_wait_until 100 tls_healthy || fail "daemon not healthy: $(tail -n 3 "$T/daemon.log")"

	expect_eq "no password" 401 "$(https_status "$url")"
	expect_eq "right password" 200 "$(https_status "$url" -u prometheus:s3cret)"
	# A wrong one, past this second's one check for the client (the right one's), bars the
	# client's next checks for 5 s; the kept right one still matches.
	sleep 1.1
	expect_eq "wrong password" 401 "$(https_status "$url" -u prometheus:s3cre)"
	expect_eq "another wrong one at once" 429 "$(https_status "$url" -u prometheus:s3cr)"
	expect_eq "right password, kept" 200 "$(https_status "$url" -u prometheus:s3cret)"
	expect_eq "plain HTTP" 000 "$(https_status "http://$EXPORTER/metrics" -u prometheus:s3cret)"
	https_get "$url" -u prometheus:s3cret >"$T/metrics-tls.txt"
	grep -q '^smtpguard_build_info' "$T/metrics-tls.txt" || fail "no metrics over TLS"

	# A bad web config on reload: refused with its line, the running exporter kept.
	printf '%s\n' "basic_auth_users:" "  prometheus: s3cret" >"$T/web.yml"
	kill -HUP "$(tail -n 1 "$T/pids")"
	nl_wait_until 30 grep -q 'stays in force' "$T/daemon.log" || fail "bad reload not logged"
	grep -q "$T/web.yml:2: basic_auth_users: 'prometheus': not a bcrypt hash" "$T/daemon.log" ||
		fail "the reason is not file:line: $(grep -m1 web.yml "$T/daemon.log")"
	expect_eq "after the bad reload" 200 "$(https_status "$url" -u prometheus:s3cret)"
	# A good one: the new users at once, the old one gone.
	printf '%s\n' "tls_server_config:" "  cert_file: $T/web.crt" "  key_file: $T/web.key" \
		"basic_auth_users:" "  scraper: $hash" >"$T/web.yml"
	kill -HUP "$(tail -n 1 "$T/pids")"
	nl_wait_until 30 scraper_in || fail "the reloaded web config's user is refused"
	sleep 1.1 # a client's one password check a second was scraper's
	expect_eq "the old user after the reload" 401 "$(https_status "$url" -u prometheus:s3cret)"
	# And at start: the daemon refuses to run (the first one stopped: one daemon per pin directory).
	nl_kill TERM "$(tail -n 1 "$T/pids")"
	printf '%s\n' "basic_auth_users:" "  prometheus: s3cret" >"$T/web.yml"
	if nl_in "$NS_HOST" "${SANDBOX[@]}" "$SG_BIN" run -c "$T/smtpguard.conf" \
		>"$T/bad-start.log" 2>&1; then
		fail "the daemon ran with a bad web config"
	fi
	grep -q "$T/web.yml:2: " "$T/bad-start.log" || fail "start: $(cat "$T/bad-start.log")"
}

https_get() # URL [CURL-ARGS...]
{
	local url=$1

	shift
	nl_in "$NS_HOST" curl -sS --max-time 3 --cacert "$T/web.crt" "$@" "$url"
}

https_status() # URL [CURL-ARGS...]
{
	local url=$1

	shift
	https_get "$url" -o /dev/null -w '%{http_code}' "$@" 2>/dev/null
}

scraper_in()
{
	[ "$(https_status "https://$EXPORTER/metrics" -u scraper:s3cret)" = 200 ]
}

tls_healthy()
{
	[ "$(https_get "https://$EXPORTER/healthz" -u prometheus:s3cret 2>/dev/null)" = ok ]
}
