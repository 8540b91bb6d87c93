# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The daemon's memory: what it maps only when its configuration asks for
# it. Sourced by run.sh.

TESTS+=(daemon_libcurl_on_demand)

# libcurl and what it pulls in (OpenSSL, Kerberos, LDAP: 3 MB of RSS) are
# opened at the first request to a LAPI or an Alertmanager: a daemon with
# neither configured has none of them mapped. (Requests made through it are
# tested in fleet.sh, fleetpush.sh and notify.sh.)
test_daemon_libcurl_on_demand()
{
	local maps

	write_config "$T/smtpguard.conf"
	start_daemon "$T/smtpguard.conf"
	maps=$(awk '$6 ~ /\.so/ { n = split($6, p, "/"); print p[n] }' "/proc/$DAEMON_PID/maps" |
		sort -u)
	expect_eq "libc mapped" 1 "$(grep -c '^libc\.so' <<<"$maps")"
	expect_eq "libcurl, libssl, libkrb5, libldap mapped" "" \
		"$(grep -E '^lib(curl|ssl|krb5|ldap)' <<<"$maps" | tr '\n' ' ')"
}
