#!/usr/bin/env bash
# Load-tests the Cycle front's GET /v1/images?page[size]=100 over 10,000
# mock images with wrk, next to the native front's same page
# (/api/images?format=json&limit=100), alternating, on loopback.
# Usage: scripts/bench-cycle.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-4}
go build -o bin/imagegw ./cmd/imagegw
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hub=$(./bin/imagegw hubs add bench --driver mock --data "$data")
secret=$(./bin/imagegw apikeys add --hub bench --name bench --data "$data" | awk '/^secret:/{print $2}')
./bin/imagegw serve --listen 127.0.0.1:$port --data "$data" --mock-images 10000 --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/api" && break; sleep 0.1; done
basic="Authorization: Basic $(printf mockuser:mockpassword | base64)"
cycle=(-H "Authorization: Bearer $secret" -H "X-Hub-Id: $hub")
n=$(curl -sfg "${cycle[@]}" "http://127.0.0.1:$port/v1/images?page[size]=100" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
echo "cycle page has $n images"
run() { wrk -t2 -c"$conns" -d"${secs}s" --timeout 30s --latency "$@" | grep -E 'Requests/sec|50%|99%|Non-2xx'; }
for i in 1 2 3; do
  echo "== run $i: cycle /v1/images?page[size]=100"
  run "${cycle[@]}" "http://127.0.0.1:$port/v1/images?page%5Bsize%5D=100"
  echo "== run $i: native /api/images?format=json&limit=100"
  run -H "$basic" "http://127.0.0.1:$port/api/images?format=json&limit=100"
done
