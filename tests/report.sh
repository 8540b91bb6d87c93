# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The report of the shell-driven suites (tests/fuzz, tests/man,
# tests/prometheus), sourced by each: one "ok - NAME" or "not ok - NAME:
# reason" line a check (details as '#' lines), then the counts in cmocka's
# summary form, which tests/run.sh reads.

PASSED=0
FAILED=0
FAILED_NAMES=()

ok()
{
	echo "ok - $1"
	PASSED=$((PASSED + 1))
}

# NAME REASON [DETAILS-FILE]
not_ok()
{
	echo "not ok - $1: $2"
	if [ -n "${3:-}" ] && [ -s "$3" ]; then
		sed 's/^/#   /' "$3"
	fi
	FAILED=$((FAILED + 1))
	FAILED_NAMES+=("$1")
}

# NAME TOOL PACKAGE: fails NAME and returns 1 when TOOL is not installed.
need()
{
	command -v "$2" >/dev/null && return 0
	not_ok "$1" "$2 not found: install the Debian package $3 (make deps)"
	return 1
}

# The counts; non-zero when a check failed. Counts only: tests/run.sh takes the
# last "[  FAILED  ] N test" line, and a line naming a test that starts with
# "test" would match it too.
report_summary()
{
	echo "[  PASSED  ] $PASSED test(s)."
	[ "$FAILED" -eq 0 ] || echo "[  FAILED  ] $FAILED test(s): ${FAILED_NAMES[*]}"
	[ "$FAILED" -eq 0 ]
}
