#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`, policy part: answers a second and answer times of the policy
# service's transport (daemon/policysrv.h), with a Postfix END-OF-MESSAGE
# request, one outstanding per connection as Postfix asks: at 1,000
# requests a second and flat out, over 1 and 8 connections, logins spread
# over 1,000 accounts. The server is build/tools/sg_policy serve (the
# transport with a judge that answers DUNNO): the transport's own cost;
# scripts/bench-inband.sh measures the daemon judging the same requests.
# Numbers, not assertions: the machine's load shows in them.
#
# Usage: scripts/bench-policy.sh [N]   (requests per run, default 20000)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOL=$ROOT/build/tools/sg_policy
N=${1:-20000}
if ! [[ $N =~ ^[0-9]+$ ]] || [ "$N" -lt 100 ]; then
	echo "usage: bench-policy.sh [N] (at least 100)" >&2
	exit 2
fi
[ -x "$TOOL" ] || { echo "bench-policy: $TOOL missing (make build/tools/sg_policy)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/sgt-bench-policy.XXXXXX)
SERVER=
cleanup()
{
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
	rm -rf "$DIR"
}
trap cleanup EXIT

"$TOOL" serve "$DIR/policy.sock" --quiet yes >"$DIR/serve.out" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
	[ -S "$DIR/policy.sock" ] && break
	sleep 0.05
done
[ -S "$DIR/policy.sock" ] || { echo "bench-policy: the server did not start: $(cat "$DIR/serve.out")" >&2; exit 1; }

echo "policy service: answers a second and answer time ($N requests per run)"
for conns in 1 8; do
	"$TOOL" bench "$DIR/policy.sock" -n "$N" -r 1000 -c "$conns" -a 1000
	"$TOOL" bench "$DIR/policy.sock" -n "$N" -c "$conns" -a 1000
done
kill "$SERVER"
wait "$SERVER" || true
SERVER=
tail -n 1 "$DIR/serve.out"
