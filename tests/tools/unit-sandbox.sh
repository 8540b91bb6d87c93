#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs CMD under the sandbox that dist/smtpguard.service gives the daemon,
# read from the unit's [Service] lines, without systemd (which is not PID 1
# where the tests run): the tests start every daemon through this, so that
# a unit which breaks containment breaks the tests.
#
# Usage: unit-sandbox.sh [--unit FILE] [--as UNITPATH=PATH]... -- CMD [ARG...]
#   --unit: the unit file (default dist/smtpguard.service).
#   --as: PATH, a test's own file or directory, stands in for UNITPATH (the
#         test's pin directory for /sys/fs/bpf, its lab's spool for
#         /var/spool/postfix...): it is visible (also under a private /tmp)
#         and writable exactly when the unit makes UNITPATH writable.
# CMD keeps the caller's pid (each step execs the next), network namespace
# and environment (the tests' SMTPGUARD_* variables are stand-ins too); the
# new mount namespace is made from the caller's (a mail lab's, for Exim) by
# build/tools/sg_unitns, in one process, so that a daemon starts at once.
#
# Emulated, as systemd does them: CapabilityBoundingSet, no inheritable
# capabilities and NoNewPrivileges (setpriv); in a new mount namespace,
# ProtectSystem (strict: every mount read-only but /dev, /proc and /sys;
# full, yes), ProtectHome (read-only),
# PrivateTmp (an empty /tmp and /var/tmp), PrivateDevices (a /dev with only
# the pseudo-devices), ProtectKernelModules (the module trees hidden),
# ReadWritePaths ("-": no error if absent), StateDirectory, LogsDirectory and
# RuntimeDirectory (/var/lib, /var/log, /run: writable when they exist; the
# tests' configs name stand-ins instead); ProtectHostname (a UTS
# namespace); the working directory /.
# Not emulated: RestrictAddressFamilies, RestrictNamespaces,
# RestrictRealtime, RestrictSUIDSGID, LockPersonality,
# MemoryDenyWriteExecute, SystemCallArchitectures and the system-call half
# of ProtectClock, ProtectKernelModules and ProtectHostname are seccomp
# filters, which no Debian tool installs from a shell; the directories'
# modes and RuntimeDirectoryPreserve act when systemd creates or removes
# them; the rest of [Service] is the service manager's (start, restart,
# notify, watchdog). Any other key stops this script: a key added to the
# unit must be emulated here or listed above.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
UNIT=$ROOT/dist/smtpguard.service
SG_UNITNS=$ROOT/build/tools/sg_unitns

CAPS=()
NNP=no
RULES=() # "MODE PATH": ro, or rw (as the caller's namespace has it); the longest PATH wins
UTS=no
PRIVATE_TMP=no
PRIVATE_DEV=no
HIDE=()
STANDINS=() # "UNITPATH=PATH"
MODE=

die()
{
	echo "unit-sandbox: $*" >&2
	exit 2
}

# The unit's [Service] keys into the globals above.
parse_unit()
{
	local n=0 section='' line key val p

	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		case $line in '' | '#'* | ';'*) continue ;; '['*) section=$line; continue ;; esac
		[ "$section" = "[Service]" ] || continue
		key=${line%%=*}
		val=${line#*=}
		case $key in
		CapabilityBoundingSet)
			[[ $val != '~'* ]] || die "$UNIT:$n: an inverted CapabilityBoundingSet is not emulated"
			for p in $val; do
				p=${p,,}
				CAPS+=("+${p#cap_}")
			done
			;;
		NoNewPrivileges) NNP=$val ;;
		ProtectSystem)
			case $val in
			strict) RULES+=("ro /" "rw /dev" "rw /proc" "rw /sys") ;;
			full) RULES+=("ro /usr" "ro /boot" "ro /efi" "ro /etc") ;;
			yes) RULES+=("ro /usr" "ro /boot" "ro /efi") ;;
			no) ;;
			*) die "$UNIT:$n: ProtectSystem=$val is not emulated" ;;
			esac
			;;
		ProtectHome)
			case $val in
			read-only) RULES+=("ro /home" "ro /root" "ro /run/user") ;;
			no) ;;
			*) die "$UNIT:$n: ProtectHome=$val is not emulated" ;;
			esac
			;;
		ReadWritePaths)
			# An absent "-" path's rule still gives its stand-ins their mode.
			for p in $val; do
				[[ $p == -* ]] || [ -e "$p" ] ||
					die "$UNIT:$n: ReadWritePaths: $p does not exist"
				RULES+=("rw ${p#-}")
			done
			;;
		StateDirectory | LogsDirectory | RuntimeDirectory)
			case $key in
			State*) p=/var/lib ;;
			Logs*) p=/var/log ;;
			*) p=/run ;;
			esac
			for val in $val; do
				RULES+=("rw $p/$val")
			done
			;;
		PrivateTmp) PRIVATE_TMP=$val ;;
		PrivateDevices) PRIVATE_DEV=$val ;;
		ProtectHostname) UTS=$val ;;
		ProtectKernelModules) [ "$val" != yes ] || HIDE+=(/usr/lib/modules /lib/modules) ;;
		Type | NotifyAccess | ExecStart | ExecReload | Restart | RestartSec | WatchdogSec | \
			StateDirectoryMode | LogsDirectoryMode | RuntimeDirectoryMode | \
			RuntimeDirectoryPreserve | RestrictAddressFamilies | RestrictNamespaces | \
			RestrictRealtime | RestrictSUIDSGID | LockPersonality | MemoryDenyWriteExecute | \
			SystemCallArchitectures | ProtectClock) ;;
		*) die "$UNIT:$n: [Service] $key is not emulated (tests/tools/unit-sandbox.sh)" ;;
		esac
	done <"$UNIT"
	[ "$PRIVATE_TMP" != yes ] || RULES+=("rw /tmp" "rw /var/tmp")
}

# Whether PATH is RULE or under it.
under() # PATH RULE
{
	[ "$2" = / ] || [ "$1" = "$2" ] || [[ $1 == "$2"/* ]]
}

# MODE: the mode the longest matching rule gives PATH, ro or rw (no
# subshell: this runs before every daemon a test starts).
mode_of() # PATH
{
	local r best=0

	MODE=rw
	for r in "${RULES[@]}"; do
		if under "$1" "${r#* }" && [ ${#r} -gt "$best" ]; then
			best=${#r}
			MODE=${r%% *}
		fi
	done
}

main()
{
	# No inheritable capability from the caller (some container runtimes give
	# them): across exec it would come back whatever the bounding set, where
	# systemd starts the service with none.
	local s r args=() added=() sp=(setpriv --inh-caps -all)

	while [ $# -gt 0 ]; do
		case $1 in
		--unit) UNIT=$2; shift 2 ;;
		--as)
			[[ $2 == /*=/* ]] || die "--as $2: not UNITPATH=PATH, both absolute"
			[ -e "${2#*=}" ] || die "--as $2: ${2#*=} does not exist"
			STANDINS+=("$2")
			shift 2
			;;
		--) shift; break ;;
		*) die "unknown option $1 (usage: $0 [--unit FILE] [--as UNITPATH=PATH]... -- CMD...)" ;;
		esac
	done
	[ $# -gt 0 ] || die "no command"
	[ -r "$UNIT" ] || die "cannot read $UNIT"
	[ -x "$SG_UNITNS" ] || die "$SG_UNITNS missing (make build/tools/sg_unitns)"
	parse_unit
	# Each stand-in's mode from the unit's own rules, before any stand-in's is added.
	for s in "${STANDINS[@]}"; do
		mode_of "${s%%=*}"
		added+=("$MODE ${s#*=}")
		args+=(--keep "${s#*=}")
	done
	for r in "${RULES[@]}" "${added[@]}"; do
		args+=(--rule "${r%% *}:${r#* }")
	done
	[ "$UTS" != yes ] || args+=(--uts)
	[ "$PRIVATE_TMP" != yes ] || args+=(--private-tmp)
	[ "$PRIVATE_DEV" != yes ] || args+=(--private-dev)
	for r in "${HIDE[@]}"; do
		args+=(--hide "$r")
	done
	[ "$NNP" != yes ] || sp+=(--no-new-privs)
	if [ ${#CAPS[@]} -gt 0 ]; then
		local IFS=,
		sp+=(--bounding-set "-all,${CAPS[*]}")
	fi
	exec "$SG_UNITNS" "${args[@]}" -- "${sp[@]}" -- "$@"
}

main "$@"
