#!/bin/bash
# openstack-up.sh runs real OpenStack services from Debian 12 on loopback for
# imagegw's OpenStack driver tests: Keystone (uwsgi, one process, SQLite in
# WAL mode), Glance (file store, Keystone auth), nova-api (transport_url =
# fake://, so no RabbitMQ and no compute service) and a Neutron API server
# (nova-api asks it for every server's security groups; no agents).
#
#   scripts/openstack-up.sh up            install if needed, (re)start, seed, write the env file
#   scripts/openstack-up.sh down          stop every process it started, by PID
#   scripts/openstack-up.sh env           print the env file (shell variables)
#   scripts/openstack-up.sh seed-servers N  seed N more ACTIVE servers for createImage
#
# Everything lives under $OPENSTACK_STATE (default /tmp/imagegw-openstack):
# configs, SQLite databases, the Glance file store, logs, PIDs and "env", a
# file of shell variables the Go tests read (OS_* plus IMAGEGW_OS_*). "up" on
# a running stack stops it and starts afresh. Run as root on Debian 12.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${OPENSTACK_STATE:-/tmp/imagegw-openstack}
KEYSTONE_PORT=${KEYSTONE_PORT:-15000}
GLANCE_PORT=${GLANCE_PORT:-19292}
NOVA_PORT=${NOVA_PORT:-18774}
NEUTRON_PORT=${NEUTRON_PORT:-19696}
SEED_IMAGES=${SEED_IMAGES:-30}   # more than one Glance page (25 by default)
SEED_SERVERS=${SEED_SERVERS:-12} # one per image to create
ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin-secret}
DEMO_PASSWORD=${DEMO_PASSWORD:-demo-secret}
SERVICE_PASSWORD=service-secret
KS=http://127.0.0.1:$KEYSTONE_PORT
PY=/usr/bin/python3 # Debian's Python with the OpenStack modules, not a pyenv shim

log() { echo "openstack-up: $*" >&2; }

stop() {
	local f pid
	for f in "$STATE"/pids/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then
			log "stopping $(basename "$f" .pid) (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
}

# start NAME CMD...: run CMD in the background with its own log, record its PID.
start() {
	local name=$1
	shift
	"$@" >"$STATE/log/$name.log" 2>&1 &
	echo $! >"$STATE/pids/$name.pid"
}

# wait_http NAME URL: wait until URL answers (any HTTP status) or fail with the log.
wait_http() {
	local name=$1 url=$2
	for _ in $(seq 120); do
		if curl -s -o /dev/null -m 2 "$url"; then return 0; fi
		if ! kill -0 "$(cat "$STATE/pids/$name.pid")" 2>/dev/null; then
			log "$name died; its log:"; tail -40 "$STATE/log/$name.log" >&2; return 1
		fi
		sleep 0.5
	done
	log "$name did not answer at $url; its log:"; tail -40 "$STATE/log/$name.log" >&2
	return 1
}

write_configs() {
	local d=$STATE
	cat >"$d/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///$d/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $d/fernet-keys
[fernet_receipts]
key_repository = $d/fernet-keys
[credential]
key_repository = $d/credential-keys
[cache]
enabled = false
EOF
	local authtoken="www_authenticate_uri = $KS
auth_url = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
password = $SERVICE_PASSWORD
service_token_roles_required = true"
	cat >"$d/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $GLANCE_PORT
workers = 1
use_stderr = true
show_multiple_locations = false
[database]
connection = sqlite:///$d/glance.db
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = $d/images
[keystone_authtoken]
$authtoken
username = glance
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $d/lock
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
EOF
	cat >"$d/nova.conf" <<EOF
[DEFAULT]
transport_url = fake://
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = $NOVA_PORT
osapi_compute_workers = 1
state_path = $d/nova
my_ip = 127.0.0.1
use_stderr = true
default_availability_zone = nova
# No nova-compute sends heartbeats here: keep the seeded compute service "up".
service_down_time = 315360000
[api]
auth_strategy = keystone
[api_database]
connection = sqlite:///$d/nova_api.db
[database]
connection = sqlite:///$d/nova.db
[keystone_authtoken]
$authtoken
username = nova
[glance]
valid_interfaces = internal,public
[oslo_concurrency]
lock_path = $d/lock
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
[neutron]
auth_type = password
auth_url = $KS
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $SERVICE_PASSWORD
valid_interfaces = internal,public
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[upgrade_levels]
compute = auto
EOF
	cat >"$d/neutron.conf" <<EOF
[DEFAULT]
core_plugin = ml2
service_plugins = router
bind_host = 127.0.0.1
bind_port = $NEUTRON_PORT
api_workers = 1
rpc_workers = 0
rpc_state_report_workers = 0
transport_url = fake://
auth_strategy = keystone
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
use_stderr = true
api_paste_config = /etc/neutron/api-paste.ini
state_path = $d/neutron
[database]
connection = sqlite:///$d/neutron.db
[keystone_authtoken]
$authtoken
username = neutron
[ml2]
type_drivers = flat
tenant_network_types =
mechanism_drivers =
extension_drivers = port_security
[oslo_concurrency]
lock_path = $d/lock
EOF
}

up() {
	if [ "$(id -u)" -ne 0 ]; then log "run as root"; exit 1; fi
	"$HERE/openstack-install.sh"
	stop
	# A failure half way must not leave services running.
	trap 'log "failed; stopping what was started"; stop' ERR
	rm -rf "$STATE"
	mkdir -p "$STATE"/{pids,log,images,lock,nova,neutron,fernet-keys,credential-keys}
	chmod 700 "$STATE"/{fernet-keys,credential-keys}
	write_configs
	local t0=$SECONDS

	log "keystone: db sync, keys, bootstrap"
	keystone-manage --config-file "$STATE/keystone.conf" db_sync
	sqlite3 "$STATE/keystone.db" 'PRAGMA journal_mode=WAL;' >/dev/null
	keystone-manage --config-file "$STATE/keystone.conf" fernet_setup --keystone-user root --keystone-group root
	keystone-manage --config-file "$STATE/keystone.conf" credential_setup --keystone-user root --keystone-group root
	keystone-manage --config-file "$STATE/keystone.conf" bootstrap \
		--bootstrap-password "$ADMIN_PASSWORD" --bootstrap-region-id RegionOne \
		--bootstrap-admin-url "$KS/v3" --bootstrap-public-url "$KS/v3" --bootstrap-internal-url "$KS/v3"
	start keystone env OS_KEYSTONE_CONFIG_FILES="$STATE/keystone.conf" \
		uwsgi --plugin python3 --http11-socket "127.0.0.1:$KEYSTONE_PORT" \
		--wsgi-file /usr/bin/keystone-wsgi-public --processes 1 --threads 8 \
		--enable-threads --die-on-term --need-app --buffer-size 65535 --disable-logging

	log "glance and nova: db syncs"
	glance-manage --config-file "$STATE/glance-api.conf" db_sync >"$STATE/log/glance-manage.log" 2>&1 ||
		{ tail -20 "$STATE/log/glance-manage.log" >&2; exit 1; }
	sqlite3 "$STATE/glance.db" 'PRAGMA journal_mode=WAL;' >/dev/null
	local nm="nova-manage --config-file $STATE/nova.conf"
	{
		$nm api_db sync
		$nm cell_v2 map_cell0 --database_connection "sqlite:///$STATE/nova_cell0.db"
		$nm cell_v2 create_cell --name cell1 --database_connection "sqlite:///$STATE/nova.db" --transport-url fake://
		$nm db sync
	} >"$STATE/log/nova-manage.log" 2>&1 || { tail -20 "$STATE/log/nova-manage.log" >&2; exit 1; }
	$PY "$HERE/openstack-neutron.py" schema --config-file "$STATE/neutron.conf" >"$STATE/log/neutron-schema.log" 2>&1 ||
		{ tail -20 "$STATE/log/neutron-schema.log" >&2; exit 1; }
	for db in nova_api nova nova_cell0 neutron; do sqlite3 "$STATE/$db.db" 'PRAGMA journal_mode=WAL;' >/dev/null; done

	wait_http keystone "$KS/v3"
	log "keystone: users, projects, roles, catalog"
	$PY "$HERE/openstack-seed.py" identity --state "$STATE" --keystone "$KS" \
		--admin-password "$ADMIN_PASSWORD" --demo-password "$DEMO_PASSWORD" --service-password "$SERVICE_PASSWORD" \
		--glance "http://127.0.0.1:$GLANCE_PORT" --nova "http://127.0.0.1:$NOVA_PORT/v2.1" \
		--neutron "http://127.0.0.1:$NEUTRON_PORT"

	start glance glance-api --config-file "$STATE/glance-api.conf"
	start nova nova-api --config-file "$STATE/nova.conf"
	start neutron $PY "$HERE/openstack-neutron.py" serve --config-file "$STATE/neutron.conf"
	wait_http glance "http://127.0.0.1:$GLANCE_PORT/versions"
	wait_http nova "http://127.0.0.1:$NOVA_PORT/"
	wait_http neutron "http://127.0.0.1:$NEUTRON_PORT/"

	log "seeding flavors, $SEED_IMAGES images and $SEED_SERVERS servers"
	$PY "$HERE/openstack-seed.py" cloud --state "$STATE" --images "$SEED_IMAGES" --servers "$SEED_SERVERS"
	log "up in $((SECONDS - t0))s; variables in $STATE/env"
	cat "$STATE/env"
}

case "${1:-up}" in
up) up ;;
down) stop ;;
env) cat "$STATE/env" ;;
seed-servers) $PY "$HERE/openstack-seed.py" servers --state "$STATE" --servers "${2:-1}" ;;
*)
	echo "usage: $0 [up|down|env|seed-servers N]" >&2
	exit 2
	;;
esac
