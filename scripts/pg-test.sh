#!/usr/bin/env bash
# A throw-away PostgreSQL server for the test suite: `start` prints its URL, `stop` removes it.
set -euo pipefail

port="${PGTEST_PORT:-55432}"
root="${TMPDIR:-/tmp}/trusthub-pgtest-${port}"
data="$root/data"
database="trusthub_test"

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (scripts/system-deps.sh installs them)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  # Tests trade durability for speed; benchmarks (PGTEST_DURABLE=1) keep PostgreSQL's defaults.
  local speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PGTEST_DURABLE:-0}" = 1 ] && speed=""
  stop >/dev/null 2>&1 || true
  mkdir -p "$root"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$root"
  as_owner "$bindir/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 >"$root/initdb.log"
  as_owner "$bindir/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
    -o "-p $port -k $root -c listen_addresses=127.0.0.1 $speed -c max_connections=200" \
    start >/dev/null
  "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -qAtc "CREATE DATABASE $database" postgres
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/$database"
}

stop() {
  if [ -d "$data" ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$root"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "postgresql+psycopg://postgres@127.0.0.1:$port/$database" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
