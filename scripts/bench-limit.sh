#!/usr/bin/env bash
# make bench-limit: imagegw next to a plain net/http server (test/benchstatic)
# that sends the identical captured bytes with the same headers, wrk against
# both, alternating, three times each, on loopback; prints imagegw ÷ static
# for every row. Usage: scripts/bench-limit.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
go build -o bin/imagegw ./cmd/imagegw
go build -o bin/benchstatic ./test/benchstatic
go build -o bin/signheader ./test/triton/signheader
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }           # KiB
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }                 # clock ticks
auth="Authorization: Basic $(printf mockuser:mockpassword | base64)"

# start NAME IMAGES: an imagegw on the mock with IMAGES synthetic images
start() {
  local name=$1 images=$2 port; port=$(freeport)
  mkdir -p "$work/$name"
  ./bin/imagegw serve --listen 127.0.0.1:$port --data "$work/$name" --mock-images "$images" --log-level warn &
  pids+=($!); eval "${name}_pid=$!; ${name}_port=$port"
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/api" && return; sleep 0.1; done
  echo "imagegw $name did not start" >&2; exit 1
}
start big 10000
start small 0
start huge 100000

# rows: name port connections path [extra header]
rows=(
  "list-10003-json big 4 /api/images?format=json"
  "list-10003-xml big 4 /api/images?format=xml"
  "list-3-json small 16 /api/images?format=json"
  "list-3-xml small 16 /api/images?format=xml"
  "select-1-of-100000 huge 16 /api/images?format=json&owner_id=fedoraproject&architecture=i386"
  "select-1-of-3 small 16 /api/images?format=json&owner_id=fedoraproject&architecture=i386"
)
# CloudAPI: an account with a fresh key, one signed request (valid 300 s)
ssh-keygen -q -t ed25519 -N '' -f "$work/k" >/dev/null
kill "$big_pid"; wait "$big_pid" 2>/dev/null || true
./bin/imagegw accounts add bench --key "$work/k.pub" --data "$work/big" >/dev/null
./bin/imagegw serve --listen 127.0.0.1:$big_port --data "$work/big" --mock-images 10000 --log-level warn &
pids+=($!); big_pid=$!
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$big_port/api" && break; sleep 0.1; done
./bin/signheader -key "$work/k" -login bench -path /bench/images > "$work/sig"
rows+=("cloudapi-10003 big 4 /bench/images")

# capture every row's answer from imagegw, for the static server
: > "$work/index"
for row in "${rows[@]}"; do
  read -r name inst conns path <<<"$row"
  port=$(eval echo "\$${inst}_port")
  hdrs=(-H "$auth"); [[ $name == cloudapi* ]] && hdrs=(-H "$(sed -n 1p "$work/sig")" -H "$(sed -n 2p "$work/sig")")
  curl -sf "${hdrs[@]}" -D "$work/$name.headers" -o "$work/$name.body" "http://127.0.0.1:$port$path"
  printf '/r/%s%s\t%s\n' "$name" "$path" "$work/$name" >> "$work/index"
done
sport=$(freeport)
./bin/benchstatic -listen 127.0.0.1:$sport -index "$work/index" &
pids+=($!); static_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$sport/" && break; sleep 0.1; done
# the static server must send exactly what imagegw sent
for row in "${rows[@]}"; do
  read -r name _ _ path <<<"$row"
  curl -sf -o "$work/check" "http://127.0.0.1:$sport/r/$name$path" || { echo "static server: $path failed" >&2; exit 1; }
  cmp -s "$work/check" "$work/$name.body" || { echo "static server: $path differs from imagegw's answer ($(stat -c %s "$work/check") vs $(stat -c %s "$work/$name.body") bytes)" >&2; head -c 300 "$work/check" >&2; exit 1; }
  printf '%-20s %9d bytes\n' "$name" "$(stat -c %s "$work/$name.body")"
done

# wrk1 PORT CONNS PATH HEADERS...: prints "req/s p99_ms requests"
wrk1() {
  local port=$1 conns=$2 path=$3; shift 3
  local h=(); for x in "$@"; do h+=(-H "$x"); done
  wrk -t2 -c"$conns" -d"${secs}s" --timeout 30s --latency "${h[@]}" "http://127.0.0.1:$port$path" |
    awk '/Requests\/sec/ {rps=$2} /^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000} p99=v}
         /requests in/ {n=$1} END {printf "%s %s %s\n", rps, p99, n}'
}

printf '%-20s %5s %12s %12s %8s %10s %10s %12s\n' row conns imagegw/s static/s ratio p99_ms static_p99 cpu_ms/req
declare -A cpureq
for row in "${rows[@]}"; do
  read -r name inst conns path <<<"$row"
  port=$(eval echo "\$${inst}_port"); pid=$(eval echo "\$${inst}_pid")
  hdrs=("$auth"); [[ $name == cloudapi* ]] && hdrs=("$(sed -n 1p "$work/sig")" "$(sed -n 2p "$work/sig")")
  gw_total=0 st_total=0 p99=0 sp99=0 ticks=0 reqs=0
  for i in 1 2 3; do
    c0=$(cpu "$pid")
    read -r g gp n <<<"$(wrk1 "$port" "$conns" "$path" "${hdrs[@]}")"
    c1=$(cpu "$pid")
    read -r s sp _ <<<"$(wrk1 "$sport" "$conns" "/r/$name$path")"
    sp99=$(echo "if ($sp > $sp99) $sp else $sp99" | bc -l)
    gw_total=$(echo "$gw_total + $g" | bc -l); st_total=$(echo "$st_total + $s" | bc -l)
    p99=$(echo "if ($gp > $p99) $gp else $p99" | bc -l)
    ticks=$((ticks + c1 - c0)); reqs=$((reqs + n))
  done
  ratio=$(echo "scale=3; $gw_total / $st_total" | bc -l)
  cms=$(echo "scale=4; $ticks * 1000 / $(getconf CLK_TCK) / $reqs" | bc -l)
  cpureq[$name]=$cms
  printf '%-20s %5s %12.1f %12.1f %8s %10.2f %10.2f %12s\n' "$name" "$conns" "$(echo "$gw_total/3" | bc -l)" "$(echo "$st_total/3" | bc -l)" "$ratio" "$p99" "$sp99" "$cms"
done
if [[ -n "${cpureq[select-1-of-3]:-}" && "${cpureq[select-1-of-3]}" != "0" ]]; then
  printf 'select-1: CPU per request, 100,000-image catalog ÷ 3-image catalog: %s\n' "$(echo "scale=2; ${cpureq[select-1-of-100000]} / ${cpureq[select-1-of-3]}" | bc -l)"
fi

# one whole 100,000-image list: RSS it adds above the loaded catalog
curl -sf -H "$auth" -o /dev/null "http://127.0.0.1:$huge_port/api/images/img1?format=json"
curl -sf -H "$auth" -o /dev/null "http://127.0.0.1:$huge_port/api/images?format=json&architecture=none"
sleep 1
r0=$(rss "$huge_pid")
curl -sf -H "$auth" -o /dev/null "http://127.0.0.1:$huge_port/api/images?format=xml"
r1=$(rss "$huge_pid")
printf 'one 100,000-image XML list: RSS %d MiB loaded, +%d MiB after the list\n' $((r0/1024)) $(((r1-r0)/1024))
