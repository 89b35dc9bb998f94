#!/usr/bin/env bash
# Load-tests `imagegw serve --mock-images 10000` on loopback with wrk: the
# image list and one image, in XML and JSON. Prints wrk's figures (requests/s
# and latency percentiles). Usage: scripts/bench-wrk.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
go build -o bin/imagegw ./cmd/imagegw
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./bin/imagegw serve --listen 127.0.0.1:$port --data "$data" --mock-images 10000 --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/api" && break; sleep 0.1; done
auth="Authorization: Basic $(printf mockuser:mockpassword | base64)"
run() { echo "== $1 ($2 connections, ${secs}s)"; wrk -t2 -c"$2" -d"${secs}s" --timeout 30s --latency -H "$auth" "http://127.0.0.1:$port$1" | grep -E 'Requests/sec|Transfer/sec|50%|99%|requests in|Non-2xx'; }
run "/api/images/img1" 32
run "/api/images/img1?format=json" 32
run "/api/images?format=json" 4
run "/api/images" 4
