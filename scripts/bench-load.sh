#!/usr/bin/env bash
# The load run of `make bench-load`: builds imagegw, serves the mock cloud
# (--mock-images 1000) on a free loopback port, keeps 64 connections busy
# for 60 s with a mix of reads (test/load), prints the figures and the
# server's peak RSS, and stops the server it started (by its pid). Fails if
# any request failed. Usage: scripts/bench-load.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
conns=${2:-64}
go build -o bin/imagegw ./cmd/imagegw
go build -o bin/imagegw-load ./test/load
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./bin/imagegw serve --listen 127.0.0.1:$port --data "$data" --mock-images 1000 --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/api" && break; sleep 0.1; done
echo "== imagegw serve --mock-images 1000 (pid $pid), ${conns} connections, ${secs}s, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rc=0
./bin/imagegw-load -url "http://127.0.0.1:$port" -c "$conns" -d "${secs}s" || rc=$?
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status), now $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status), open fds: $(ls /proc/$pid/fd | wc -l)"
exit $rc
