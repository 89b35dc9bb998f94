#!/usr/bin/env bash
# with-postgres.sh CMD [ARGS...]: run CMD with a throwaway PostgreSQL cluster.
#
# Installs Debian's postgresql package when initdb is missing (as root),
# creates a cluster in a temporary directory owned by an unprivileged user
# (postgres when run as root, else the caller), starts it on a free loopback
# port, exports IMAGEGW_TEST_PG_DSN for the tests (store/pgtest reads it),
# runs CMD, and stops and removes the cluster whatever CMD did. The exit
# status is CMD's.
#
# Without PostgreSQL (and no way to install it) CMD runs without the DSN, and
# the PostgreSQL tests skip; under CI=true that is a failure instead.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PGBIN=$(dirname "$(command -v pg_ctl)")
    return 0
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      PGBIN=$d
      return 0
    fi
  done
  return 1
}

if ! find_bin && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "with-postgres: installing Debian's postgresql" >&2
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2 || true
  # Debian starts its own cluster on 5432: the tests do not use it.
fi
if ! find_bin; then
  if [ "${CI:-}" = "true" ]; then
    echo "with-postgres: PostgreSQL (initdb, pg_ctl) is missing under CI=true" >&2
    exit 1
  fi
  echo "with-postgres: PostgreSQL not found: its tests will skip" >&2
  exec "$@"
fi

RUNAS=()
OWNER=$(id -un)
if [ "$(id -u)" = 0 ]; then
  OWNER=postgres
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  RUNAS=(runuser -u postgres --)
fi

DIR=$(mktemp -d /tmp/imagegw-pg.XXXXXX)
chmod 0755 "$DIR"
chown "$OWNER" "$DIR"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))

stop() {
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT
trap "exit 130" INT TERM

"${RUNAS[@]}" "$PGBIN/initdb" -D "$DIR/data" -U imagegw --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
  { cat "$DIR/initdb.log" >&2; exit 1; }
# Loopback only, no unix socket outside the cluster's directory; fsync stays
# on (the crash test relies on what a commit promises).
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c max_connections=300 -c shared_buffers=32MB" \
  start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }

export IMAGEGW_TEST_PG_DSN="postgres://imagegw@127.0.0.1:$PORT/postgres?sslmode=disable"
echo "with-postgres: cluster on 127.0.0.1:$PORT ($DIR)" >&2
rc=0
"$@" || rc=$?
exit $rc
