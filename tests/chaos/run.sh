#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The fault suite: the integration tests named chaos_* (kill -9 mid-flood,
# two daemons, full maps, a disk full, an upgrade under flood...), each
# printing its figures. `make test` runs them short; `make chaos` sets
# CHAOS_SCALE=long and runs only them.
exec "$(dirname "${BASH_SOURCE[0]}")/../integration/run.sh" --chaos "$@"
