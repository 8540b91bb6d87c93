#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The layout rules of user/ (README.md, "Layout"), checked on the sources:
# a file includes headers of its own folder or of a folder below it in
# LAYERS, never above, so no folder depends on one that builds on it; and
# no file is longer than MAX_LINES, no function longer than MAX_FUNC.
set -euo pipefail
cd "$(dirname "$0")/../.."

LAYERS=(util core kern host mail fleet daemon cli)
MAX_LINES=700
MAX_FUNC=80
passed=0 failed=0

rank()
{
	local i
	for i in "${!LAYERS[@]}"; do
		[ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo -1
}

check() # NAME OUTPUT: passes when OUTPUT is empty, else prints it
{
	if [ -z "$2" ]; then
		echo "ok - $1"
		passed=$((passed + 1))
	else
		echo "not ok - $1"
		printf '%s\n' "$2" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

ups=
strays=
for f in user/*/*.[ch]; do
	layer=${f#user/}
	layer=${layer%%/*}
	r=$(rank "$layer")
	[ "$r" -ge 0 ] || { strays+="$f: folder $layer is not a layer"$'\n'; continue; }
	while read -r inc; do
		to=${inc%%/*}
		[ "$to" = "$inc" ] && continue # include/ and build/: below every layer
		t=$(rank "$to")
		[ "$t" -le "$r" ] || ups+="$f includes $inc ($layer below $to)"$'\n'
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
for f in user/*.[ch]; do
	[ -e "$f" ] && strays+="$f: outside every layer"$'\n'
done
check "every file of user/ is in a layer" "${strays%$'\n'}"
check "no include points up a layer" "${ups%$'\n'}"

long=$(wc -l user/*/*.[ch] | awk -v max=$MAX_LINES '$2 != "total" && $1 > max { print $2 ": " $1 " lines" }')
check "no file of user/ over $MAX_LINES lines" "$long"

# Functions as clang-format lays them out: the signature at column 0, the
# body between a "{" and a "}" at column 0.
funcs=$(awk -v max=$MAX_FUNC '
	FNR == 1 { start = 0 }
	/^[A-Za-z_].*\(/ && !/;$/ { sig = $0; line = FNR }
	/^\{/ { start = FNR; name = sig; at = line }
	/^\}/ && start { if (FNR - start + 1 > max) printf "%s:%d: %d lines: %s\n", FILENAME, at, FNR - start + 1, name; start = 0 }
' user/*/*.c)
check "no function of user/ over $MAX_FUNC lines" "$funcs"

echo "layout: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
