#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The previous build of smtpguard, the fixture of the upgrade test
# (tests/integration/chaos_upgrade.sh): COMMIT's tree, exported from this
# clone's history into OUT/src and built there, ./smtpguard only. Nothing
# is done when OUT already holds COMMIT's build.
#
# Usage: scripts/build-previous.sh COMMIT OUT
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 COMMIT OUT" >&2; exit 2; }
commit=$1 out=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -x "$out/smtpguard" ] && [ "$(cat "$out/commit" 2>/dev/null)" = "$commit" ]; then
	exit 0
fi
if ! git -C "$root" cat-file -e "$commit^{commit}" 2>/dev/null; then
	echo "build-previous: commit $commit is not in this clone's history (a shallow" \
		"clone or an export?): 'git fetch --unshallow' or clone the repository whole" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/src"
git -C "$root" archive "$commit" | tar -x -C "$out/src"
make -C "$out/src" -j2 --no-print-directory smtpguard >"$out/build.log" 2>&1 || {
	echo "build-previous: building $commit failed; the end of $out/build.log:" >&2
	tail -n 20 "$out/build.log" >&2
	exit 1
}
cp "$out/src/smtpguard" "$out/smtpguard"
echo "$commit" >"$out/commit"
