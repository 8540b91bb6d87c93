#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks the shipped Prometheus rules and Grafana dashboard:
#   check-rules            promtool check rules dist/prometheus-rules.yml
#   test-rules             promtool test rules tests/prometheus/rules_test.yml
#   rules-all-tested       every alert has a test where it fires and one where it does not
#   dashboard-json         jq parses dist/grafana-dashboard.json, and its structure holds
#   dashboard-promql       every panel query parses as PromQL (promtool, Grafana variables replaced)
#   metric-names-exported  every smtpguard_* name in the rules, their tests and the dashboard
#                          is a family the renderer exports (its quoted name is in user/daemon/metrics*.c or publish.c)
# One "ok - NAME" or "not ok - NAME: reason" line each (details as '#' lines), then the
# counts in cmocka's summary form, which tests/run.sh reads. promtool and jq missing is a
# failure, never a skip: scripts/install-deps.sh installs them (packages prometheus, jq).
# Usage: tests/prometheus/run.sh (from anywhere). Exits non-zero when a check fails.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

RULES=dist/prometheus-rules.yml
RULES_TEST=tests/prometheus/rules_test.yml
DASHBOARD=dist/grafana-dashboard.json
METRICS_SRC=(user/daemon/metrics*.c user/daemon/publish.c user/daemon/fleetpush.c)

# shellcheck source=tests/report.sh
source tests/report.sh
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT

test_check_rules()
{
	local name=check-rules
	need $name promtool prometheus || return
	if promtool check rules "$RULES" >"$TMP/out" 2>&1; then
		ok $name
	else
		not_ok $name "promtool check rules $RULES failed" "$TMP/out"
	fi
}

test_test_rules()
{
	local name=test-rules
	need $name promtool prometheus || return
	if promtool test rules "$RULES_TEST" >"$TMP/out" 2>&1; then
		ok $name
	else
		not_ok $name "promtool test rules $RULES_TEST failed" "$TMP/out"
	fi
}

# Alert names with a test case expecting them to fire ("fires NAME") and one
# expecting no alert ("quiet NAME"), read from the layout rules_test.yml uses:
# "alertname: NAME", then "exp_alerts: []" or "exp_alerts:" and "- exp_labels:".
tested_alerts()
{
	awk '
		/^[ \t]*#/ { next }
		/^[ \t]*(- )?alertname:/ { sub(/^[^:]*:[ \t]*/, ""); sub(/[ \t]*$/, ""); cur = $0; next }
		/^[ \t]*exp_alerts:[ \t]*\[\][ \t]*$/ { if (cur != "") print "quiet", cur; cur = ""; next }
		/^[ \t]*exp_alerts:[ \t]*$/ { pending = cur; cur = ""; next }
		/^[ \t]*- exp_labels:/ { if (pending != "") print "fires", pending; pending = ""; next }
	' "$RULES_TEST" | sort -u
}

test_rules_all_tested()
{
	local name=rules-all-tested alert alerts
	alerts=$(sed -n 's/^[[:space:]]*- alert:[[:space:]]*\([A-Za-z0-9_]*\).*/\1/p' "$RULES" | sort -u)
	if [ -z "$alerts" ]; then
		not_ok $name "no alerting rule found in $RULES"
		return
	fi
	tested_alerts >"$TMP/tested"
	: >"$TMP/out"
	for alert in $alerts; do
		grep -qx "fires $alert" "$TMP/tested" ||
			echo "$alert: no test case where it fires" >>"$TMP/out"
		grep -qx "quiet $alert" "$TMP/tested" ||
			echo "$alert: no test case where it does not fire" >>"$TMP/out"
	done
	awk '{ print $2 }' "$TMP/tested" | sort -u | while read -r alert; do
		grep -qx "$alert" <<<"$alerts" ||
			echo "$alert: tested, but there is no such alert in $RULES" >>"$TMP/out"
	done
	if [ -s "$TMP/out" ]; then
		not_ok $name "$(wc -l <"$TMP/out") problem(s) in $RULES_TEST" "$TMP/out"
	else
		ok $name
	fi
}

test_dashboard_json()
{
	local name=dashboard-json
	need $name jq jq || return
	if ! jq empty "$DASHBOARD" >"$TMP/out" 2>&1; then
		not_ok $name "jq cannot parse $DASHBOARD" "$TMP/out"
		return
	fi
	# Every panel, rows' collapsed panels included; a list of what is wrong.
	local rc
	jq -r '
		[.panels[]? | ., (.panels // [])[]] as $all
		| [$all[] | select(.type != "row")] as $panels
		| (if (.schemaVersion // 0) < 39 then "schemaVersion \(.schemaVersion) is below 39" else empty end),
		  (if ([.__inputs[]? | select(.name == "DS_PROMETHEUS" and .pluginId == "prometheus")] | length) == 1
		   then empty else "no __inputs entry DS_PROMETHEUS for the prometheus plugin" end),
		  (if ([.templating.list[]? | select(.name == "DS_PROMETHEUS" and .type == "datasource")] | length) == 1
		   then empty else "no datasource variable DS_PROMETHEUS" end),
		  (if ([.templating.list[]? | select(.name == "user" and .type == "query")
		        | select((.definition // "") | test("^label_values\\(smtpguard_sender_connections_total\\b.*, *user\\)$"))] | length) == 1
		   then empty else "no user variable from label_values(smtpguard_sender_connections_total, user)" end),
		  (if ($panels | length) == 0 then "no panels" else empty end),
		  ([$all[].id] | group_by(.) | map(select(length > 1))[] | "panel id \(.[0]) used twice"),
		  ($panels[] | select(.gridPos == null) | "panel \"\(.title)\" has no gridPos"),
		  ($panels[] | select(.datasource.uid != "${DS_PROMETHEUS}")
		   | "panel \"\(.title)\" does not use the ${DS_PROMETHEUS} datasource"),
		  ($panels[] | select((.targets // []) | length == 0) | "panel \"\(.title)\" has no query"),
		  ($panels[] | .title as $t | .targets[]? | select((.expr // "") == "")
		   | "panel \"\($t)\" query \(.refId) has no expr")
	' "$DASHBOARD" >"$TMP/out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$TMP/out" ]; then
		not_ok $name "$DASHBOARD is not as Grafana and this project expect" "$TMP/out"
	else
		ok $name
	fi
}

# The panel queries as recording rules named after their panel and refId, with
# Grafana's variables replaced by values of the right kind, for promtool to parse.
test_dashboard_promql()
{
	local name=dashboard-promql n
	need $name jq jq || return
	need $name promtool prometheus || return
	if ! jq '
		def grafana_vars:
			gsub("\\$__rate_interval|\\$\\{__rate_interval\\}"; "5m")
			| gsub("\\$__interval|\\$\\{__interval\\}"; "1m")
			| gsub("\\$__range|\\$\\{__range\\}"; "1h")
			| gsub("\\$\\{[A-Za-z0-9_:]+\\}|\\$[A-Za-z_][A-Za-z0-9_]*"; "x");
		{groups: [{name: "dashboard", rules: [
			.panels[]? | ., (.panels // [])[]
			| .id as $id | .targets[]? | select(.expr)
			| {record: "dashboard_panel_\($id)_\(.refId)", expr: (.expr | grafana_vars)}
		]}]}
	' "$DASHBOARD" >"$TMP/dashboard-rules.json" 2>"$TMP/out"; then
		not_ok $name "jq cannot read the queries of $DASHBOARD" "$TMP/out"
		return
	fi
	n=$(jq '.groups[0].rules | length' "$TMP/dashboard-rules.json")
	if [ "$n" -eq 0 ]; then
		not_ok $name "no query found in $DASHBOARD"
	elif promtool check rules "$TMP/dashboard-rules.json" >"$TMP/out" 2>&1; then
		ok $name
	else
		not_ok $name "a panel query does not parse (rule names are dashboard_panel_ID_REFID)" "$TMP/out"
	fi
}

test_metric_names_exported()
{
	local name=metric-names-exported metric names missing=()
	names=$(grep -ohE 'smtpguard_[a-z_]+' "$RULES" "$RULES_TEST" "$DASHBOARD" | sort -u)
	if [ -z "$names" ]; then
		not_ok $name "no smtpguard_ metric name found in $RULES, $RULES_TEST and $DASHBOARD"
		return
	fi
	for metric in $names; do
		grep -qF "\"$metric\"" "${METRICS_SRC[@]}" || missing+=("$metric")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		ok $name
	else
		printf '%s\n' "${missing[@]}" >"$TMP/out"
		not_ok $name "${#missing[@]} of $(wc -w <<<"$names") metric names are not exported by ${METRICS_SRC[*]}" "$TMP/out"
	fi
}

test_check_rules
test_test_rules
test_rules_all_tested
test_dashboard_json
test_dashboard_promql
test_metric_names_exported

report_summary
