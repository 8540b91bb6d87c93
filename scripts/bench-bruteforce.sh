#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, brute-force part: smtpguard against fail2ban's postfix-sasl
# jail on the same Postfix log, with the same limit (5 failed logins in 10
# minutes), while a wrong-password guesser runs on submission. It is the
# integration test bruteforce_vs_fail2ban (tests/integration/bruteforce.sh)
# run RUNS times; each run prints the time from the 5th failure's arrival
# in the log to each ban (smtpguard's from its daemon's log line, fail2ban's
# from its ban action), and from the guesser's first attempt.
#
# Usage: scripts/bench-bruteforce.sh [RUNS]   (default 3, at most 10)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
if ! [[ $RUNS =~ ^[0-9]+$ ]] || [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 10 ]; then
	echo "usage: bench-bruteforce.sh [RUNS] (1 to 10)" >&2
	exit 2
fi

echo "brute force: time to ban, smtpguard and fail2ban on the same log ($RUNS runs)"
for ((i = 1; i <= RUNS; i++)); do
	out=$("$ROOT/tests/integration/run.sh" -v bruteforce_vs_fail2ban 2>&1) || {
		printf '%s\n' "$out" | tail -n 20 >&2
		echo "bench-bruteforce: run $i failed" >&2
		exit 1
	}
	printf '%s\n' "$out" | sed -n "s/^#   \(time to ban.*\)/run $i: \1/p"
done
