#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# smtpguard integration tests: the real CLI and kernel programs against real
# SMTP sessions between two private network namespaces (see lib.sh for the
# layout). Each test starts from a fresh setup, so every count it asserts is
# exact, and everything is removed on any exit.
#
# Usage: tests/integration/run.sh [-v] [--chaos] [TEST...]
#   -v: after a failing test, print its output as '#' lines.
#   --chaos: only the fault suite's tests (named chaos_*).
#   TEST: run only these (default: all, in order).
# The fault tests size themselves by CHAOS_SCALE (lib.sh's at_scale).
# Needs root, a cgroup2 mount, bpffs, ./smtpguard and build/tools (make test-integration).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TESTS=()
# Each file adds its tests to TESTS, in the order they run.
for f in "$(dirname "${BASH_SOURCE[0]}")"/[a-z]*.sh; do
	case $f in */run.sh | */lib.sh) continue ;; esac
	# shellcheck source=/dev/null
	source "$f"
done
# The files share one shell: a function defined twice is the last file's for every test.
twice=$(grep -ho '^[A-Za-z_][A-Za-z0-9_]*()' "$(dirname "${BASH_SOURCE[0]}")"/*.sh | sort | uniq -d | xargs)
[ -z "$twice" ] || { echo "integration: defined twice under tests/integration: $twice" >&2; exit 1; }

main()
{
	local name

	if [ "${1:-}" = -v ]; then
		VERBOSE=1
		shift
	fi
	if [ "${1:-}" = --chaos ]; then
		shift
		for name in "${TESTS[@]}"; do
			case $name in chaos_*) set -- "$@" "$name" ;; esac
		done
		[ $# -gt 0 ] || prereq_fail "no chaos_* test"
	fi
	if [ $# -gt 0 ]; then
		TESTS=("$@")
	fi
	nl_trap env_cleanup
	for name in "${TESTS[@]}"; do
		declare -F "test_$name" >/dev/null || prereq_fail "no test '$name'"
	done
	env_check
	env_init
	for name in "${TESTS[@]}"; do
		run_test "$name"
	done
	echo "integration: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"

