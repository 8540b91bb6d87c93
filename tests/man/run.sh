#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Keeps the man pages in step with the program:
#   render             scdoc turns each man/*.scd into a page, and `man --warnings -l`
#                      renders it at MANWIDTH=80 with nothing on stderr, as a terminal
#                      shows it and as lintian checks it (-E UTF-8 -Tutf8 -Z)
#   commands           every command of `smtpguard --help` has its subsection under
#                      COMMANDS in smtpguard(8), and the page documents no other
#   options            every option of the usage lines of `smtpguard CMD --help` is an
#                      entry of CMD's subsection (in the form --help gives it)
#   config-keys        every key of the config table (build/tools/sg_config_keys, read
#                      from user/core/config_keys.h) is an entry of its section in
#                      smtpguard.conf(5) with its built-in default, and the page has no
#                      other key
#   config-examples    the example line of every key, each under its section, makes a
#                      config file that smtpguard check-config accepts
#   metrics            every metric family the exporter can emit (the quoted names of
#                      METRICS_SRC in tests/prometheus/run.sh) is an entry under METRICS
#                      in smtpguard(8), and the page lists no other
# One "ok - NAME" or "not ok - NAME: reason" line each (what is missing as '#' lines),
# then the counts in cmocka's summary form, which tests/run.sh reads. scdoc or man
# missing is a failure, never a skip: scripts/install-deps.sh installs them.
# Usage: tests/man/run.sh (from anywhere), after `make smtpguard build/tools/sg_config_keys`.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

SMTPGUARD=./smtpguard
KEYS_TOOL=build/tools/sg_config_keys
PAGE8=man/smtpguard.8.scd
PAGE5=man/smtpguard.conf.5.scd

# shellcheck source=tests/report.sh
source tests/report.sh
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

# NAME FILE: fails NAME and returns 1 when FILE, built by make, is missing.
built()
{
	[ -x "$2" ] && return 0
	not_ok "$1" "$2 is not built: make smtpguard build/tools/sg_config_keys"
	return 1
}

# The page of SCD as text, one paragraph a line (MANWIDTH wide enough that
# nothing wraps or is hyphenated), in $TMP/NAME.txt; 1 when it does not render.
rendered()
{
	local scd=$1 name
	name=$(basename "$scd" .scd)
	[ -s "$TMP/$name.txt" ] && return 0
	[ -f "$scd" ] && scdoc <"$scd" >"$TMP/$name" 2>/dev/null || return 1
	MANWIDTH=4000 man -l "$TMP/$name" >"$TMP/$name.txt" 2>/dev/null
}

# The lines of TITLE's section (a "# TITLE" of scdoc, at the margin) in text.
section()
{
	awk -v t="$1" '/^[^ \t]/ { on = ($0 == t); next } on' "$2"
}

# The subsections of text, as "NAME<tab>line" for each line under its
# "## NAME" heading (three spaces in), until the next heading of either level.
subsections()
{
	awk '/^[^ \t]/ { sub_ = ""; next }
	     /^   [^ ]/ { sub_ = substr($0, 4); next }
	     sub_ != "" { print sub_ "\t" $0 }' "$1"
}

# A check's verdict: not ok when it found nothing to check (FOUND is 0:
# NONE says so) or problems, one a line in $TMP/out (PROBLEMS sums them up).
verdict() # NAME FOUND NONE PROBLEMS
{
	if [ "$2" -eq 0 ]; then
		not_ok "$1" "$3"
	elif [ -s "$TMP/out" ]; then
		not_ok "$1" "$4" "$TMP/out"
	else
		ok "$1"
	fi
}

test_render()
{
	local name=render scd page
	need $name scdoc scdoc || return
	need $name man man-db || return
	: >"$TMP/out"
	for scd in "$PAGE8" "$PAGE5"; do
		page=$TMP/$(basename "$scd" .scd)
		if [ ! -f "$scd" ]; then
			echo "$scd: no such file" >>"$TMP/out"
			continue
		fi
		if ! scdoc <"$scd" >"$page" 2>"$TMP/err"; then
			echo "$scd: scdoc: $(cat "$TMP/err")" >>"$TMP/out"
			continue
		fi
		# As a reader's terminal shows it, and as lintian checks a packaged page.
		{
			MANWIDTH=80 man --warnings -l "$page" >/dev/null
			LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" >/dev/null
		} 2>"$TMP/err"
		if [ -s "$TMP/err" ]; then
			sed "s|^|$scd: |" "$TMP/err" >>"$TMP/out"
		fi
	done
	if [ -s "$TMP/out" ]; then
		not_ok $name "a page does not render cleanly" "$TMP/out"
	else
		ok $name
	fi
}

# The commands of `smtpguard --help`, one a line.
cli_commands()
{
	"$SMTPGUARD" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

test_commands()
{
	local name=commands cmd
	built $name "$SMTPGUARD" || return
	rendered "$PAGE8" || { not_ok $name "$PAGE8 does not render"; return; }
	cli_commands >"$TMP/cli"
	section COMMANDS "$TMP/smtpguard.8.txt" | sed -n 's/^   \([^ ].*\)$/\1/p' >"$TMP/documented"
	: >"$TMP/out"
	while read -r cmd; do
		grep -qxF "$cmd" "$TMP/documented" ||
			echo "smtpguard $cmd: no subsection under COMMANDS in $PAGE8" >>"$TMP/out"
	done <"$TMP/cli"
	while read -r cmd; do
		grep -qxF "$cmd" "$TMP/cli" ||
			echo "$cmd: documented in $PAGE8 but not a command of smtpguard --help" >>"$TMP/out"
	done <"$TMP/documented"
	verdict $name "$(wc -l <"$TMP/cli")" "smtpguard --help lists no command" \
		"the commands of smtpguard(8) are not the CLI's"
}

# The options of CMD's --help as "CMD<tab>--long" and "CMD<tab>-s", from its
# usage lines (the first, and those indented past the description's two spaces).
help_options()
{
	"$SMTPGUARD" "$1" --help | awk -v c="$1" '
		NR > 1 && /^  [^ ]/ { exit }
		NR == 1 || /^   / {
			s = " " $0
			while (match(s, /[][ |(]--?[a-zA-Z][a-z-]*/)) {
				print c "\t" substr(s, RSTART + 1, RLENGTH - 1)
				s = substr(s, RSTART + RLENGTH)
			}
		}'
}

test_options()
{
	local name=options cmd n
	built $name "$SMTPGUARD" || return
	rendered "$PAGE8" || { not_ok $name "$PAGE8 does not render"; return; }
	section COMMANDS "$TMP/smtpguard.8.txt" | subsections /dev/stdin >"$TMP/subs"
	for cmd in $(cli_commands); do
		help_options "$cmd"
	done | sort -u >"$TMP/opts"
	n=$(wc -l <"$TMP/opts")
	# An option's entry in its command's subsection, seven spaces in:
	# "-s, --long ARG", "--long ARG" or "-s ARG".
	awk -F'\t' -v page="$PAGE8" '
		FNR == NR {
			if ($2 ~ /^       -/) {
				m = split(substr($2, 8), w, ", ")
				for (i = 1; i <= m; i++) {
					sub(/ .*/, "", w[i])
					entry[$1, w[i]] = 1
				}
			}
			next
		}
		!(($1, $2) in entry) {
			print "smtpguard " $1 " " $2 ": no entry in its subsection of " page
		}' "$TMP/subs" "$TMP/opts" >"$TMP/out"
	verdict $name "$n" "no option found in any smtpguard CMD --help" \
		"$(wc -l <"$TMP/out") of $n options are not documented"
}

# The entries of the KEYS subsections ("HEADING<tab>line", $TMP/subs) against the
# table ("section<tab>name<tab>default", $TMP/keys): what is missing or extra.
check_keys()
{
	awk -F'\t' -v page="$PAGE5" '
		FNR == NR {
			if ($2 ~ /^       [^ ]/)
				entry[$1, ++n[$1]] = substr($2, 8)
			next
		}
		{
			h = $1 == "override" ? "[override NAME]" : "[" $1 "]"
			known[h, $2] = 1
			found = 0
			for (i = 1; i <= n[h]; i++) {
				l = entry[h, i]
				if ($3 == "-") {
					# No default: "name = TYPE", or one of a list of names.
					m = split(l, w, /, | = /)
					for (j = 1; j <= m; j++)
						found = found || w[j] == $2
				} else {
					# "name = TYPE, default VALUE" ("empty" for "").
					d = ", default " ($3 == "" ? "empty" : $3)
					found = found || (index(l, $2 " = ") == 1 &&
						substr(l, length(l) - length(d) + 1) == d)
				}
			}
			if (!found)
				print h " " $2 ": no entry" ($3 == "-" ? "" : " with \"default " \
					($3 == "" ? "empty" : $3) "\"") " in " page
		}
		END {
			# A documented key the table does not have: renamed or removed.
			for (k in entry) {
				split(k, hk, SUBSEP)
				if (split(entry[k], w, " = ") > 1 && !((hk[1], w[1]) in known))
					print hk[1] " " w[1] ": documented in " page ", not in the config table"
			}
		}' "$TMP/subs" "$TMP/keys"
}

test_config_keys()
{
	local name=config-keys n
	built $name "$KEYS_TOOL" || return
	rendered "$PAGE5" || { not_ok $name "$PAGE5 does not render"; return; }
	section KEYS "$TMP/smtpguard.conf.5.txt" | subsections /dev/stdin >"$TMP/subs"
	"$KEYS_TOOL" >"$TMP/keys" || { not_ok $name "$KEYS_TOOL failed"; return; }
	n=$(wc -l <"$TMP/keys")
	check_keys >"$TMP/out"
	verdict $name "$n" "$KEYS_TOOL printed no key" \
		"$(wc -l <"$TMP/out") problem(s) with the $n keys"
}

# Each "Example: key = value" of the KEYS entries of smtpguard.conf(5) under its
# section's header ([override NAME] as [override example]), as one config file.
examples()
{
	section KEYS "$TMP/smtpguard.conf.5.txt" | awk '
		/^   [^ ]/ {
			h = substr($0, 4)
			if (h == "[override NAME]")
				h = "[override example]"
			print h
			next
		}
		/^[ \t]+Example: / { sub(/^[ \t]+Example: /, ""); print }'
}

test_config_examples()
{
	local name=config-examples
	built $name "$SMTPGUARD" || return
	built $name "$KEYS_TOOL" || return
	rendered "$PAGE5" || { not_ok $name "$PAGE5 does not render"; return; }
	"$KEYS_TOOL" >"$TMP/keys" || { not_ok $name "$KEYS_TOOL failed"; return; }
	# web_config's file is read too, and the example's is not on this host.
	examples | sed 's/^web_config = .*/web_config =/' >"$TMP/examples.conf"
	# Every key with a default has its example ([override NAME]'s share theirs).
	awk -F'\t' -v page="$PAGE5" '
		FNR == NR {
			if (/^\[/)
				h = $0
			else if (split($0, w, " =") > 1)
				given[h, w[1]] = 1
			next
		}
		$3 != "-" && !(("[" $1 "]", $2) in given) { print "[" $1 "] " $2 ": no example in " page }
	' "$TMP/examples.conf" "$TMP/keys" >"$TMP/out"
	if [ -s "$TMP/out" ]; then
		not_ok $name "keys without an example line" "$TMP/out"
	elif "$SMTPGUARD" check-config "$TMP/examples.conf" >"$TMP/out" 2>&1; then
		ok $name
	else
		not_ok $name "the examples of $PAGE5 do not load together" "$TMP/out"
	fi
}

test_metrics()
{
	local name=metrics src
	rendered "$PAGE8" || { not_ok $name "$PAGE8 does not render"; return; }
	# The exporter's sources, as the Prometheus checks name them.
	src=$(sed -n 's/^METRICS_SRC=(\(.*\))$/\1/p' tests/prometheus/run.sh)
	if [ -z "$src" ]; then
		not_ok $name "no METRICS_SRC=(...) line in tests/prometheus/run.sh"
		return
	fi
	# shellcheck disable=SC2086 # a list of paths, as written there
	grep -ohE '"smtpguard_[a-z_]+"' $src | tr -d '"' | sort -u >"$TMP/exported"
	section METRICS "$TMP/smtpguard.8.txt" |
		sed -n 's/^       \(smtpguard_[a-z_]*\) .*/\1/p' | sort -u >"$TMP/documented"
	{
		comm -23 "$TMP/exported" "$TMP/documented" |
			sed "s|\$|: exported, but no entry under METRICS in $PAGE8|"
		comm -13 "$TMP/exported" "$TMP/documented" |
			sed "s|\$|: documented in $PAGE8, but not exported by $src|"
	} >"$TMP/out"
	verdict $name "$(wc -l <"$TMP/exported")" "no metric name found in $src" \
		"$(wc -l <"$TMP/out") metric(s) out of step"
}

test_render
test_commands
test_options
test_config_keys
test_config_examples
test_metrics

report_summary
