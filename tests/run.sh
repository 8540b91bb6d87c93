#!/usr/bin/env bash
# Runs each test program given, shows its output, and ends with one line
# "tests: N passed, M failed" over all of them. cmocka suites report their
# counts in "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" lines; the
# script suites in "NAME: N passed, M failed". A suite that dies
# without reporting counts as one failure.
set -uo pipefail

passed=0
failed=0
for t in "$@"; do
	echo "=== $t"
	start=$SECONDS
	out=$(mktemp)
	"$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p; s/^[a-z][a-z-]*: \([0-9]*\) passed, [0-9]* failed.*/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p; s/^[a-z][a-z-]*: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$p$f" ]; then
		echo "=== $t reported no results (exit $rc)"
		f=1
	elif [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
		echo "=== $t exited $rc"
		f=1
	fi
	echo "=== $t: $((SECONDS - start)) s"
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
