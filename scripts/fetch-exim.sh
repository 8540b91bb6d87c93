#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetches Debian's Exim 4 (exim4-daemon-light, exim4-base, exim4-config and
# libidn12, which the daemon links and a Postfix host lacks) with
# `apt-get download` and unpacks them with `dpkg-deb -x` into DIR/root, for
# the Exim lab (scripts/exim-lab.sh). Nothing is installed: Exim conflicts
# with the Postfix the other tests use, and the lab runs this copy in a
# private mount namespace. Idempotent: with DIR/root in place it exits at
# once, without the network.
#
# Usage: scripts/fetch-exim.sh [DIR]   (default: build/exim)
#   DIR/debs       the packages, as downloaded
#   DIR/root       their files: DIR/root/usr/sbin/exim4 (set-uid root)
#   DIR/VERSION    the exim4-daemon-light version
#
# Needs root: the set-uid bit the unpacked exim4 keeps only means something
# when root owns the file, and the lab's Exim needs it to re-exec itself.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$ROOT/build/exim}
PACKAGES=(exim4-daemon-light exim4-base exim4-config libidn12)
NAME=fetch-exim
# shellcheck source=scripts/lib/debfetch.sh
source "$ROOT/scripts/lib/debfetch.sh"

ready()
{
	[ -u "$DIR/root/usr/sbin/exim4" ] && [ -s "$DIR/VERSION" ]
}

main()
{
	local tmp deb lib missing

	ready && exit 0
	[ "$(id -u)" -eq 0 ] || { log "must run as root (exim4 is set-uid root)"; exit 1; }
	debfetch_begin
	tmp=$DEBFETCH_TMP
	for deb in "$tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp/root" || { log "dpkg-deb -x $deb failed"; exit 1; }
	done
	rm -f "$tmp/debs/download.out"
	[ -u "$tmp/root/usr/sbin/exim4" ] || { log "no set-uid usr/sbin/exim4 in the packages"; exit 1; }
	# Every library the binary needs: the system's, or libidn12's in the unpacked tree.
	lib=$(dirname "$(find "$tmp/root" -name 'libidn.so.12*' -print -quit)")
	missing=$(LD_LIBRARY_PATH=$lib ldd "$tmp/root/usr/sbin/exim4" | grep 'not found' || true)
	[ -z "$missing" ] || { log "exim4 lacks libraries: $missing"; exit 1; }
	dpkg-deb -f "$tmp"/debs/exim4-daemon-light_*.deb Version >"$tmp/VERSION"
	debfetch_finish
	log "Exim $(cat "$DIR/VERSION") unpacked in $DIR/root"
}

main "$@"
