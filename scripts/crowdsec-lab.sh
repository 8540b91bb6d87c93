# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The CrowdSec lab: the real Local API (LAPI) of Debian's `crowdsec` package,
# unpacked by scripts/fetch-crowdsec.sh into build/crowdsec/root, run alone
# (`crowdsec -no-cs`: no log processing) by the caller in a network namespace
# it made, with a private config: SQLite and the config in a directory of
# the caller's, one listen address, an empty hub index, no central API, no
# hub update, no Prometheus listener. Nothing touches /etc/crowdsec or
# /var/lib/crowdsec, and nothing needs the network. Sourced only; every
# name is prefixed cs_/CS_.
#
#   CS_TLS_CERT, CS_TLS_KEY   when set before cs_up: the LAPI serves HTTPS
#                             with them, and CS_URL is https://; cscli
#                             does not check them
#   cs_up DIR NS ADDR [PORT]  writes DIR/crowdsec/config.yaml, starts the LAPI in NS
#                             on ADDR:PORT (default 8080), adds the machine
#                             $CS_MACHINE (its credentials there, for
#                             cscli's decisions commands) and sets CS_URL
#   cs_stop, cs_start         kill the LAPI (SIGKILL: a crash), start it again
#                             on the same database
#   cs_cscli ARGS...          cscli on the lab's config, in NS
#   cs_bouncer_add NAME       a bouncer's API key, on stdout
#   cs_machine_add NAME PASS  a machine (a log processor) and its password
#   cs_decisions_json         every active decision, as `cscli decisions list -o json`
#   cs_alerts_json            every alert, as `cscli alerts list -o json`
#
# The LAPI's pid is recorded with nl_made DIR pids (scripts/lib/netlab.sh),
# so the caller's teardown (nl_clear DIR) ends it; its output is $CS_DIR/crowdsec.log.

CS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/netlab.sh
. "$CS_ROOT/scripts/lib/netlab.sh"
# Where scripts/fetch-crowdsec.sh unpacked Debian's CrowdSec.
CS_DIST=${CS_DIST:-$CS_ROOT/build/crowdsec}
CS_BIN=$CS_DIST/root/usr/bin/crowdsec
CS_CLI=$CS_DIST/root/usr/bin/cscli
CS_MACHINE=sglab
CS_LAB='' CS_DIR='' CS_NS='' CS_ADDR='' CS_PORT='' CS_URL='' CS_PID=''
CS_TLS_CERT=${CS_TLS_CERT:-} CS_TLS_KEY=${CS_TLS_KEY:-}

cs_log()
{
	echo "crowdsec-lab: $*" >&2
}

# The config, profiles (one: a remediation alert on an Ip gets a 4h ban, the
# package's), an empty acquisition and simulation, an empty hub index.
cs_write_config()
{
	local d=$CS_DIR

	mkdir -p "$d/data" "$d/hub" "$d/notifications" "$d/plugins" || return 1
	echo '{}' >"$d/hub/.index.json"
	echo 'simulation: off' >"$d/simulation.yaml"
	: >"$d/acquis.yaml"
	cp "$CS_DIST/root/etc/crowdsec/profiles.yaml" "$d/profiles.yaml" || return 1
	cat >"$d/config.yaml" <<-EOC
		common:
		  daemonize: false
		  log_media: stdout
		  log_level: info
		  working_dir: $d
		config_paths:
		  config_dir: $d/
		  data_dir: $d/data/
		  simulation_path: $d/simulation.yaml
		  hub_dir: $d/hub/
		  index_path: $d/hub/.index.json
		  notification_dir: $d/notifications/
		  plugin_dir: $d/plugins/
		crowdsec_service:
		  acquisition_path: $d/acquis.yaml
		  parser_routines: 1
		cscli:
		  output: human
		  color: no
		db_config:
		  log_level: info
		  type: sqlite
		  use_wal: true
		  db_path: $d/data/crowdsec.db
		api:
		  client:
		    insecure_skip_verify: false
		    credentials_path: $d/local_api_credentials.yaml
		  server:
		    log_level: info
		    listen_uri: $CS_ADDR:$CS_PORT
		    profiles_path: $d/profiles.yaml
		    trusted_ips:
		      - 127.0.0.1
		prometheus:
		  enabled: false
	EOC
	[ -z "$CS_TLS_CERT" ] || cs_tls "$d/config.yaml"
}

# The LAPI's HTTPS, in its server section; cscli trusts any certificate.
cs_tls() # CONFIG
{
	sed -i -e 's/insecure_skip_verify: false/insecure_skip_verify: true/' \
		-e "/^    trusted_ips:/i\\    tls:\\n      cert_file: $CS_TLS_CERT\\n      key_file: $CS_TLS_KEY" "$1"
}

cs_cscli() # ARGS...
{
	nl_in "$CS_NS" "$CS_CLI" -c "$CS_DIR/config.yaml" "$@"
}

cs_start()
{
	nl_spawn "$CS_LAB" "$CS_NS" "$CS_BIN" -c "$CS_DIR/config.yaml" -no-cs \
		>>"$CS_DIR/crowdsec.log" 2>&1 </dev/null
	CS_PID=$NL_PID
	nl_wait_until 150 nl_listening "$CS_NS" "$CS_ADDR" "$CS_PORT" ||
		{ cs_log "the LAPI did not listen on $CS_ADDR:$CS_PORT: $(tail -n 3 "$CS_DIR/crowdsec.log")"; return 1; }
}

cs_stop()
{
	nl_kill KILL "$CS_PID"
}

cs_up() # DIR NS ADDR [PORT]
{
	CS_LAB=$1 CS_DIR=$1/crowdsec CS_NS=$2 CS_ADDR=$3 CS_PORT=${4:-8080}
	CS_URL=http${CS_TLS_CERT:+s}://$CS_ADDR:$CS_PORT
	[ -x "$CS_BIN" ] || "$CS_ROOT/scripts/fetch-crowdsec.sh" >/dev/null ||
		{ cs_log "scripts/fetch-crowdsec.sh failed"; return 1; }
	cs_write_config && cs_start || return 1
	# cscli's decisions and alerts commands log in as this machine.
	cs_cscli machines add "$CS_MACHINE" --password "$(nl_password)" \
		-f "$CS_DIR/local_api_credentials.yaml" --url "$CS_URL" >/dev/null 2>&1 ||
		{ cs_log "cscli machines add $CS_MACHINE failed"; return 1; }
}

cs_bouncer_add() # NAME
{
	cs_cscli bouncers add "$1" -o raw 2>/dev/null
}

cs_machine_add() # NAME PASSWORD
{
	cs_cscli machines add "$1" --password "$2" -f /dev/null >/dev/null 2>&1
}

cs_decisions_json()
{
	cs_cscli decisions list -o json 2>/dev/null
}

cs_alerts_json()
{
	cs_cscli alerts list -o json 2>/dev/null
}
