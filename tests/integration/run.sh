#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# smtpguard integration tests: the real CLI and kernel programs against real
# SMTP sessions between two private network namespaces (see lib.sh for the
# layout). Each test starts from a fresh setup, so every count it asserts is
# exact, and everything is removed on any exit.
#
# Usage: tests/integration/run.sh [-v] [-j N] [--chaos] [TEST...]
#   -v: after a failing test, print its output as '#' lines.
#   -j N: N workers, each a run of its own (its ID, so its own namespaces,
#         users, cgroup and bpffs), taking the next test from one queue; the
#         report stays in the tests' order. Default: $INTEGRATION_JOBS, else 1.
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

# A worker of -j: claims tests from the queue in DIR one by one (mkdir is
# atomic), each one's report in DIR/INDEX.out once it is whole.
run_worker() # DIR NAME...
{
	local dir=$1 i=0 name

	shift
	nl_trap env_cleanup
	env_check
	env_init
	for name in "$@"; do
		i=$((i + 1))
		mkdir "$dir/claim.$i" 2>/dev/null || continue
		run_test "$name" >"$dir/$i.part"
		mv "$dir/$i.part" "$dir/$i.out"
	done
}

# Whether a worker still runs.
workers_alive()
{
	local pid

	for pid in "${WORKERS[@]}"; do
		! kill -0 "$pid" 2>/dev/null || return 0
	done
	return 1
}

# Ends the workers (each removes its own world on TERM) and the queue.
workers_down()
{
	[ ${#WORKERS[@]} -eq 0 ] || kill -TERM "${WORKERS[@]}" 2>/dev/null || true
	wait
	[ -z "$QUEUE" ] || rm -rf "$QUEUE"
}

WORKERS=()
QUEUE=

# Runs the tests NAME... in JOBS workers, and prints their reports in the
# tests' order as they come; a test no worker ran fails.
run_parallel() # JOBS NAME...
{
	local jobs=$1 k i=0 rc name opts=()

	shift
	nl_trap workers_down
	QUEUE=$(mktemp -d /tmp/sgt-queue.XXXXXX)
	[ "$VERBOSE" -eq 0 ] || opts+=(-v)
	# A shell starts what it runs in the background with SIGINT and SIGQUIT
	# ignored, for good: the workers and their tests would go on with their
	# tests after a Ctrl-C, as the run waits on them, for minutes.
	for ((k = 0; k < jobs; k++)); do
		env --default-signal=INT,QUIT "${BASH_SOURCE[0]}" "${opts[@]}" --worker "$QUEUE" "$@" \
			</dev/null >"$QUEUE/worker$k.log" 2>&1 &
		WORKERS+=($!)
	done
	for name in "$@"; do
		i=$((i + 1))
		while [ ! -e "$QUEUE/$i.out" ] && workers_alive; do
			sleep 0.2
		done
		if [ -e "$QUEUE/$i.out" ]; then
			cat "$QUEUE/$i.out"
			if grep -q '^ok - ' "$QUEUE/$i.out"; then
				PASSED=$((PASSED + 1))
			else
				FAILED=$((FAILED + 1))
			fi
		else
			echo "not ok - $name: not run, every worker stopped"
			FAILED=$((FAILED + 1))
		fi
	done
	# A worker that stopped early (its world not made, killed) fails the run, with
	# what it said, even when the others ran every test.
	# One that ran to its end may still have said something outside its tests
	# (a world it could not remove): that is told too, as the run alone does.
	for ((k = 0; k < jobs; k++)); do
		rc=0
		wait "${WORKERS[k]}" || rc=$?
		if [ "$rc" -eq 0 ]; then
			sed "s/^/# worker $k: /" "$QUEUE/worker$k.log"
			continue
		fi
		echo "not ok - worker $k: exited $rc"
		sed 's/^/#   /' "$QUEUE/worker$k.log"
		FAILED=$((FAILED + 1))
	done
	WORKERS=()
	workers_down
}

main()
{
	local name jobs=${INTEGRATION_JOBS:-1} chaos=()

	while [ $# -gt 0 ]; do
		case $1 in
		-v) VERBOSE=1 ;;
		-j)
			[ $# -ge 2 ] || prereq_fail "-j needs a number of workers"
			jobs=$2
			shift
			;;
		--worker)
			shift
			run_worker "$@"
			return
			;;
		--chaos)
			for name in "${TESTS[@]}"; do
				case $name in chaos_*) chaos+=("$name") ;; esac
			done
			[ ${#chaos[@]} -gt 0 ] || prereq_fail "no chaos_* test"
			;;
		*) break ;;
		esac
		shift
	done
	set -- "$@" "${chaos[@]}"
	if [ $# -gt 0 ]; then
		TESTS=("$@")
	fi
	[[ $jobs =~ ^[1-9][0-9]*$ ]] || prereq_fail "-j needs a number of workers, got '$jobs'"
	[ "$jobs" -le ${#TESTS[@]} ] || jobs=${#TESTS[@]}
	for name in "${TESTS[@]}"; do
		declare -F "test_$name" >/dev/null || prereq_fail "no test '$name'"
	done
	env_check
	if [ "$jobs" -gt 1 ]; then
		run_parallel "$jobs" "${TESTS[@]}"
	else
		nl_trap env_cleanup
		env_init
		for name in "${TESTS[@]}"; do
			run_test "$name"
		done
	fi
	echo "integration: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
