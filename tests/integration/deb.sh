# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The Debian package `make deb` builds (build/deb/), and its life on a host.
# Sourced by run.sh.
#
#   deb_contents   lintian finds no error or warning; the files, conffiles
#                  and unit are the ones the package is meant to ship
#   deb_lifecycle  installed into a scratch root (dpkg --root; the maintainer
#                  scripts run outside a chroot, with DPKG_ROOT set, since the
#                  root has no system to chroot into, and debootstrap would
#                  need the network and minutes): the unit enabled; an upgrade
#                  leaves the attached programs in place; removing the
#                  package detaches them (the setup's real pins, in the
#                  private bpffs) and keeps the conffiles; purging leaves
#                  nothing of the package in the root

TESTS+=(deb_contents deb_lifecycle)

# The package: its name from debian/changelog, as `make deb` names it.
deb_file()
{
	local f

	f=$ROOT/build/deb/smtpguard_$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
	f+=_$(dpkg --print-architecture).deb
	[ -f "$f" ] || fail "$f missing (make deb builds it)"
	echo "$f"
}

test_deb_contents()
{
	local deb want

	deb=$(deb_file)
	# The .changes names the .deb and its debug symbols package: lintian checks both.
	# Its stderr says root runs it, as the suite does.
	lintian --fail-on error,warning "${deb%.deb}.changes" >"$T/lintian.out" 2>"$T/lintian.err" ||
		fail "lintian: $(cat "$T/lintian.out" "$T/lintian.err" | head -n 5)"
	expect_eq "lintian" "" "$(cat "$T/lintian.out")"
	want="/etc/logrotate.d/smtpguard
/etc/smtpguard/owner-notice.txt
/etc/smtpguard/smtpguard.conf
/lib/systemd/system/smtpguard.service
/usr/sbin/smtpguard
/usr/share/bash-completion/completions/smtpguard
/usr/share/doc/smtpguard/README.md.gz
/usr/share/doc/smtpguard/changelog.gz
/usr/share/doc/smtpguard/copyright
/usr/share/doc/smtpguard/examples/exim4-smtpguard-policy.acl
/usr/share/doc/smtpguard/examples/exim4-smtpguard.acl
/usr/share/doc/smtpguard/examples/postfix-main.cf.smtpguard
/usr/share/man/man5/smtpguard.conf.5.gz
/usr/share/man/man8/smtpguard.8.gz
/usr/share/smtpguard/grafana-dashboard.json
/usr/share/smtpguard/hooks/dovecot-passwd-lock
/usr/share/smtpguard/hooks/owner-notice-mail
/usr/share/smtpguard/prometheus-rules.yml"
	expect_eq "files" "$want" \
		"$(dpkg -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort)"
	dpkg-deb -e "$deb" "$T/control"
	expect_eq "conffiles" "/etc/logrotate.d/smtpguard
/etc/smtpguard/owner-notice.txt
/etc/smtpguard/smtpguard.conf" "$(cat "$T/control/conffiles")"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/smtpguard.service \
		>"$T/unit"
	expect_eq "ExecStart" "/usr/sbin/smtpguard run" "$(sed -n 's/^ExecStart=//p' "$T/unit")"
	expect_eq "the unit's documentation, shipped" \
		"man:smtpguard(8) man:smtpguard.conf(5)" "$(sed -n 's/^Documentation=//p' "$T/unit")"
	expect_eq "the binary's version" "smtpguard $(dpkg-deb -f "$deb" Version)" \
		"$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/sbin/smtpguard >"$T/bin" &&
			chmod +x "$T/bin" && "$T/bin" --version)"
}

# dpkg on the scratch root R, in the test's host namespace (where detach finds
# the interfaces). The scripts run outside a chroot, with DPKG_ROOT=R.
deb_dpkg() # R ARGS...
{
	local r=$1

	shift
	nl_in "$NS_HOST" dpkg --root="$r" --force-script-chrootless --log="$T/dpkg.log" "$@"
}

# A root with the directories every Debian 12 system has that the package's
# scripts write in, and a dpkg database that has the package's dependencies
# installed, as this host has them: dpkg -i checks them, and unpacks only smtpguard.
# Its policy-rc.d refuses every start and restart, as in any chroot: on a host
# that runs systemd, the postinst would start smtpguard.service there.
deb_root() # R DEB
{
	local r=$1 p pkgs=()

	mkdir -p "$r/etc/systemd/system" "$r/var/lib/systemd" "$r/var/log" "$r/run" \
		"$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/usr/sbin"
	printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
	chmod +x "$r/usr/sbin/policy-rc.d"
	: >"$r/var/lib/dpkg/available"
	mapfile -t pkgs < <(dpkg-deb -f "$2" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//')
	dpkg-query -s "${pkgs[@]}" >"$r/var/lib/dpkg/status"
	for p in $(dpkg-query -W -f '${binary:Package}\n' "${pkgs[@]}"); do
		: >"$r/var/lib/dpkg/info/$p.list"
	done
}

# The programs of the setup's attach: "hooks=N xdp=yes|no tc=yes|no pins=N".
deb_attached()
{
	local hooks xdp=no tc=no pins=0

	# Nothing, not [], where nothing is attached.
	hooks=$(bpftool cgroup show "$CG" -j | jq -s '.[0] // [] | length')
	! nl_in "$NS_HOST" ip link show "$VETH_HOST" | grep -q 'xdp' || xdp=yes
	[ -z "$(nl_in "$NS_HOST" tc filter show dev "$VETH_HOST" egress)" ] || tc=yes
	[ ! -d "$PIN" ] || pins=$(find "$PIN" -mindepth 1 | wc -l)
	echo "hooks=$hooks xdp=$xdp tc=$tc pins=$pins"
}

# Every path in R but the dpkg database and its directories, sorted.
deb_left() # R
{
	find "$1" -mindepth 1 ! -path "$1/var" ! -path "$1/var/lib" ! -path "$1/var/lib/dpkg" \
		! -path "$1/var/lib/dpkg/*" |
		sed "s|^$1||" | sort
}

test_deb_lifecycle()
{
	local deb r=$T/root attached system

	deb=$(deb_file)
	deb_root "$r" "$deb"
	system=$(deb_left "$r")
	attached=$(deb_attached)
	[[ $attached == "hooks=3 xdp=yes tc=yes pins="[1-9]* ]] || fail "setup attached: $attached"

	deb_dpkg "$r" -i "$deb" >"$T/install.out" 2>&1 || fail "install: $(tail -n 3 "$T/install.out")"
	expect_eq "status" "install ok installed" "$(dpkg-query --root="$r" -W -f '${Status}' smtpguard)"
	expect_eq "enabled, as fail2ban's unit is" /lib/systemd/system/smtpguard.service \
		"$(readlink "$r/etc/systemd/system/multi-user.target.wants/smtpguard.service")"
	# What the unit and the daemon make as it runs: the unit's directories,
	# the audit log (a real entry, by the installed binary) and a state file.
	mkdir -m 0700 "$r/var/lib/smtpguard" "$r/run/smtpguard" "$r/var/log/smtpguard"
	SMTPGUARD_AUDIT_LOG=$r/var/log/smtpguard/audit.log nl_in "$NS_HOST" \
		"$r/usr/sbin/smtpguard" ban 192.0.2.0/24 --reason deb-test >/dev/null
	echo '{}' >"$r/var/lib/smtpguard/contained.json"

	# An upgrade (the same version again) keeps the programs: the restarted daemon takes them.
	deb_dpkg "$r" -i "$deb" >"$T/upgrade.out" 2>&1 || fail "upgrade: $(tail -n 3 "$T/upgrade.out")"
	expect_eq "attached after the upgrade" "$attached" "$(deb_attached)"

	deb_dpkg "$r" -r smtpguard >"$T/remove.out" 2>&1 || fail "remove: $(tail -n 3 "$T/remove.out")"
	expect_eq "attached after remove" "hooks=0 xdp=no tc=no pins=0" "$(deb_attached)"
	expect_eq "status after remove" "deinstall ok config-files" \
		"$(dpkg-query --root="$r" -W -f '${Status}' smtpguard)"
	expect_eq "left after remove" "/etc
/etc/logrotate.d
/etc/logrotate.d/smtpguard
/etc/smtpguard
/etc/smtpguard/owner-notice.txt
/etc/smtpguard/smtpguard.conf
/etc/systemd
/etc/systemd/system
/etc/systemd/system/multi-user.target.wants
/etc/systemd/system/multi-user.target.wants/smtpguard.service
/run
/run/smtpguard
/usr
/usr/sbin
/usr/sbin/policy-rc.d
/var/lib/smtpguard
/var/lib/smtpguard/contained.json
/var/lib/systemd
/var/lib/systemd/deb-systemd-helper-enabled
/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants
/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/smtpguard.service
/var/lib/systemd/deb-systemd-helper-enabled/smtpguard.service.dsh-also
/var/log
/var/log/smtpguard
/var/log/smtpguard/audit.log" "$(deb_left "$r")"

	deb_dpkg "$r" --purge smtpguard >"$T/purge.out" 2>&1 || fail "purge: $(tail -n 3 "$T/purge.out")"
	expect_eq "status after purge" "" "$(dpkg-query --root="$r" -W -f '${Status}' smtpguard 2>/dev/null)"
	expect_eq "left after purge" "$system" "$(deb_left "$r")"
}
