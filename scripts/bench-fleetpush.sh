#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, fleet propagation: server A bans a scanner by its SYN rate
# and pushes the ban to a real CrowdSec LAPI; server B, a bouncer of the
# same LAPI at the default [crowdsec] interval (10s), bans it at XDP. It is
# the integration test fleetpush_propagation (tests/integration/
# fleetpush.sh) at that interval, run RUNS times; each run prints the time
# from A's ban to B's. The ban falls at a random phase against B's pulls,
# so the times spread over the interval.
#
# Usage: scripts/bench-fleetpush.sh [RUNS]   (default 3, at most 10)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
if ! [[ $RUNS =~ ^[0-9]+$ ]] || [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 10 ]; then
	echo "usage: bench-fleetpush.sh [RUNS] (1 to 10)" >&2
	exit 2
fi

echo "fleet propagation: a ban on server A to the ban at XDP on server B, interval 10s ($RUNS runs)"
for ((i = 1; i <= RUNS; i++)); do
	out=$(FLEET_B_INTERVAL=10s "$ROOT/tests/integration/run.sh" -v fleetpush_propagation 2>&1) || {
		printf '%s\n' "$out" | tail -n 20 >&2
		echo "bench-fleetpush: run $i failed" >&2
		exit 1
	}
	printf '%s\n' "$out" | sed -n "s/^#   figure: fleet propagation at interval 10s: \(.*\)/run $i: \1/p"
done
