#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs each libFuzzer target for FUZZ_SECONDS seconds (default 10): one per
# tests/fuzz/fuzz_*.c (built as build/fuzz/fuzz_* by make), and any other
# build/fuzz/fuzz_* binary. A target whose binary is missing fails: build
# them with `make test-fuzz` or `make build/fuzz/NAME`.
#
#   corpus     build/fuzz/corpus/NAME, seeded from tests/fuzz/corpus/NAME, grown
#              by the run, then minimised (-merge=1) in place
#   crashes    build/fuzz/crashes/NAME/ (crash-*, leak-*, timeout-*, oom-*), each
#              new one's path printed; rerun one with build/fuzz/NAME PATH
#   log        build/fuzz/logs/NAME.log
#
# One "ok - NAME: ..." or "not ok - NAME: reason" line per target (details as
# '#' lines), then the counts in cmocka's summary form, which tests/run.sh
# reads. Exits non-zero when a target crashed, timed out, ran out of memory
# or is missing. FUZZ_JOBS targets (default: one per CPU) run at once.
# Usage: [FUZZ_SECONDS=N] [FUZZ_JOBS=N] tests/fuzz/run.sh (from anywhere).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

SECONDS_EACH=${FUZZ_SECONDS:-10}
# Targets fuzzed at once: each keeps one core busy.
JOBS=${FUZZ_JOBS:-$(nproc)}
OUT=build/fuzz

# shellcheck source=tests/report.sh
source tests/report.sh

# LOG KEY: the value of libFuzzer's final "stat::KEY: N" line.
final_stat()
{
	sed -n "s/^stat::$2: *\([0-9]*\).*/\1/p" "$1" | tail -n 1
}

fuzz_one()
{
	local name=$1 bin=$OUT/$1 corpus=$OUT/corpus/$1 crashes=$OUT/crashes/$1
	local log=$OUT/logs/$1.log seeds=tests/fuzz/corpus/$1 mark rc runs rate new f

	if [ ! -x "$bin" ]; then
		not_ok "$name" "$bin is missing: build it with make $bin (or make test-fuzz)"
		return
	fi
	mkdir -p "$corpus" "$crashes" "$OUT/logs" || return
	if [ -d "$seeds" ]; then
		cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	fi
	mark=$(mktemp) || return
	"$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=5 -max_len=8192 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
	rc=$?
	new=$(find "$crashes" -type f -newer "$mark" | sort)
	rm -f "$mark"
	runs=$(final_stat "$log" number_of_executed_units)
	rate=$(final_stat "$log" average_exec_per_sec)
	if [ "$rc" -ne 0 ] || [ -n "$new" ]; then
		tail -n 40 "$log" >"$log.tail"
		not_ok "$name" "exit $rc after ${runs:-?} runs (log $log)" "$log.tail"
		for f in $new; do
			echo "# crash artefact: $f (reproduce: $bin $f)"
		done
		return
	fi
	# Keep only the inputs that add coverage, so the corpus stays small run after run.
	rm -rf "$corpus.merged" && mkdir -p "$corpus.merged" || return
	if "$bin" -merge=1 -rss_limit_mb=2048 -timeout=5 -max_len=8192 "$corpus.merged" \
		"$corpus" >"$log.merge" 2>&1 && [ -n "$(ls -A "$corpus.merged")" ]; then
		rm -rf "$corpus" && mv "$corpus.merged" "$corpus"
	else
		rm -rf "$corpus.merged"
	fi
	ok "$name: ${runs:-?} runs in ${SECONDS_EACH}s (${rate:-?} exec/s), corpus $(find "$corpus" -type f | wc -l) in $corpus"
}

names=$( (
	for src in tests/fuzz/fuzz_*.c; do
		[ -e "$src" ] && basename "$src" .c
	done
	for bin in "$OUT"/fuzz_*; do
		[ -x "$bin" ] && [ -f "$bin" ] && basename "$bin"
	done
) | sort -u)

if [ -z "$names" ]; then
	not_ok fuzz "no fuzz target: neither tests/fuzz/fuzz_*.c nor $OUT/fuzz_*"
fi
# The targets side by side, JOBS at a time, each reporting to a file of its
# own; the reports are told and counted in the targets' order.
mkdir -p "$OUT/logs" || exit 1
running=0
for name in $names; do
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$name" >"$OUT/logs/$name.report" &
	running=$((running + 1))
done
wait
for name in $names; do
	cat "$OUT/logs/$name.report"
	if grep -q "^ok - $name:" "$OUT/logs/$name.report"; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$name")
	fi
done

report_summary
