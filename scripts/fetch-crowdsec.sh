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
NAME=fetch-crowdsec
PACKAGES=(crowdsec)
# shellcheck source=scripts/lib/debfetch.sh
source "$ROOT/scripts/lib/debfetch.sh"

ready()
{
	[ -x "$DIR/root/usr/bin/crowdsec" ] && [ -x "$DIR/root/usr/bin/cscli" ] && [ -s "$DIR/VERSION" ]
}

main()
{
	local tmp tool missing

	debfetch_begin
	tmp=$DEBFETCH_TMP
	dpkg-deb -x "$tmp"/debs/crowdsec_*.deb "$tmp/root" || { log "dpkg-deb -x failed"; exit 1; }
	for tool in crowdsec cscli; do
		[ -x "$tmp/root/usr/bin/$tool" ] || { log "no usr/bin/$tool in the package"; exit 1; }
		missing=$(ldd "$tmp/root/usr/bin/$tool" | grep 'not found' || true)
		[ -z "$missing" ] || { log "$tool lacks libraries (libsqlite3-0?): $missing"; exit 1; }
	done
	dpkg-deb -f "$tmp"/debs/crowdsec_*.deb Version >"$tmp/VERSION"
	rm -rf -- "$tmp/debs"
	debfetch_finish
	log "CrowdSec $(cat "$DIR/VERSION") unpacked in $DIR/root"
}

main "$@"
