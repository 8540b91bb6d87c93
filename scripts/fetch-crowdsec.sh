#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetches Debian's CrowdSec (the `crowdsec` package: the Local API server
# and cscli) with `apt-get download` and unpacks it with `dpkg-deb -x` into
# DIR/root, for the fleet lab (scripts/crowdsec-lab.sh). Nothing is
# installed: the package's post-install script registers with CrowdSec's
# central API, which needs the internet and leaves the package
# half-configured without it, and starts a system-wide service the tests
# never want. Idempotent: with DIR/root in place it exits at once, without
# the network.
#
# Usage: scripts/fetch-crowdsec.sh [DIR]   (default: build/crowdsec)
#   DIR/root       the package's files: DIR/root/usr/bin/crowdsec, cscli
#   DIR/VERSION    the package's version
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$ROOT/build/crowdsec}

log()
{
	echo "fetch-crowdsec: $*" >&2
}

ready()
{
	[ -x "$DIR/root/usr/bin/crowdsec" ] && [ -x "$DIR/root/usr/bin/cscli" ] && [ -s "$DIR/VERSION" ]
}

# apt-get download into the current directory; once more after an update
# when the package lists lack it (a fresh container).
download()
{
	# As root, apt drops to _apt for the download, which cannot write the
	# new directory: say so instead of warning about it.
	if apt-get -q -o APT::Sandbox::User=root download crowdsec >download.out 2>&1; then
		return 0
	fi
	log "apt-get download failed ($(tail -n 1 download.out)); updating the package lists"
	apt-get update -qq >>download.out 2>&1 || true
	apt-get -q -o APT::Sandbox::User=root download crowdsec >>download.out 2>&1 ||
		{ log "apt-get download crowdsec failed: $(tail -n 3 download.out)"; return 1; }
}

main()
{
	local tmp tool missing

	ready && exit 0
	for tool in apt-get dpkg-deb ldd; do
		command -v "$tool" >/dev/null || { log "$tool not found: a Debian system is needed"; exit 1; }
	done
	mkdir -p "$(dirname "$DIR")"
	# One fetch at a time; the second finds the first's result.
	exec 9<"$(dirname "$DIR")"
	flock 9
	ready && exit 0
	tmp=$(mktemp -d "$DIR.tmp.XXXXXX")
	trap 'rm -rf -- "$tmp"' EXIT
	mkdir "$tmp/debs" "$tmp/root"
	(cd "$tmp/debs" && download) || exit 1
	dpkg-deb -x "$tmp"/debs/crowdsec_*.deb "$tmp/root" || { log "dpkg-deb -x failed"; exit 1; }
	for tool in crowdsec cscli; do
		[ -x "$tmp/root/usr/bin/$tool" ] || { log "no usr/bin/$tool in the package"; exit 1; }
		missing=$(ldd "$tmp/root/usr/bin/$tool" | grep 'not found' || true)
		[ -z "$missing" ] || { log "$tool lacks libraries (libsqlite3-0?): $missing"; exit 1; }
	done
	dpkg-deb -f "$tmp"/debs/crowdsec_*.deb Version >"$tmp/VERSION"
	rm -rf -- "$tmp/debs"
	rm -rf -- "$DIR"
	mv "$tmp" "$DIR"
	trap - EXIT
	chmod 0755 "$DIR"
	log "CrowdSec $(cat "$DIR/VERSION") unpacked in $DIR/root"
}

main "$@"
