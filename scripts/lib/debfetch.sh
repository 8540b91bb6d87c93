# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Debian packages fetched with `apt-get download` and unpacked, never
# installed: what scripts/fetch-*.sh share. The caller sets NAME (its log
# lines' prefix), DIR (where the result goes), PACKAGES, and a ready()
# that says whether DIR already holds it.

log()
{
	echo "$NAME: $*" >&2
}

# apt-get download into the current directory; once more after an update
# when the package lists lack them (a fresh container).
download()
{
	# As root, apt drops to _apt for the download, which cannot write the
	# new directory: say so instead of warning about it.
	if apt-get -q -o APT::Sandbox::User=root download "${PACKAGES[@]}" >download.out 2>&1; then
		return 0
	fi
	log "apt-get download failed ($(tail -n 1 download.out)); updating the package lists"
	apt-get update -qq >>download.out 2>&1 || true
	apt-get -q -o APT::Sandbox::User=root download "${PACKAGES[@]}" >>download.out 2>&1 ||
		{ log "apt-get download ${PACKAGES[*]} failed: $(tail -n 3 download.out)"; return 1; }
}

# The packages downloaded into DEBFETCH_TMP/debs, with an empty
# DEBFETCH_TMP/root beside them, removed on exit unless debfetch_finish
# moves it to DIR. Exits 0 at once when DIR is ready, also after waiting
# for another fetch: one at a time, the second finds the first's result.
debfetch_begin()
{
	local tool

	ready && exit 0
	for tool in apt-get dpkg-deb ldd; do
		command -v "$tool" >/dev/null || { log "$tool not found: a Debian system is needed"; exit 1; }
	done
	mkdir -p "$(dirname "$DIR")"
	exec 9<"$(dirname "$DIR")"
	flock 9
	ready && exit 0
	DEBFETCH_TMP=$(mktemp -d "$DIR.tmp.XXXXXX")
	trap 'rm -rf -- "$DEBFETCH_TMP"' EXIT
	mkdir "$DEBFETCH_TMP/debs" "$DEBFETCH_TMP/root"
	(cd "$DEBFETCH_TMP/debs" && download) || exit 1
}

# DEBFETCH_TMP, checked by the caller, put in DIR's place.
debfetch_finish()
{
	rm -rf -- "$DIR"
	mv "$DEBFETCH_TMP" "$DIR"
	trap - EXIT
	chmod 0755 "$DIR"
}
