#!/usr/bin/env bash
# Starts (and stops) the real servers the integration tests run against, as plain processes on
# free 127.0.0.1 ports inside one temporary folder:
#   PostgreSQL (initdb + postgres), Redis (redis-server), an S3 server (s3rver from npm).
#
#   scripts/test-servers.sh start DIR [postgres] [redis] [s3]
#       start the servers named (default: all three); writes DIR/env (KEY=VALUE lines, one per
#       server started):
#       INTAKE_TEST_POSTGRES_URL  postgresql://intake:intake@127.0.0.1:PORT/intake
#       INTAKE_TEST_REDIS_URL     redis://127.0.0.1:PORT/0
#       INTAKE_TEST_S3_URL        http://127.0.0.1:PORT
#   scripts/test-servers.sh stop DIR    stop every server started in DIR (by process id), remove DIR
#
# Each server's process id is kept in DIR/<name>.pid and its log in DIR/<name>.log. A server that
# does not come up in time fails the start with its log tail, after stopping the others.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
usage="usage: $0 start DIR [postgres] [redis] [s3] | stop DIR"
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "$usage" >&2; exit 2; }
shift 2
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(postgres redis s3)
for s in "${servers[@]}"; do
  case "$s" in
    postgres|redis|s3) ;;
    *) echo "unknown server '$s'; $usage" >&2; exit 2 ;;
  esac
done
[ "$cmd" = start ] || [ $# -eq 0 ] || { echo "$usage" >&2; exit 2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a command as the postgres user when we are root (initdb and postgres refuse to run as root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() {
  local v
  v="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)"
  [ -n "$v" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  echo "/usr/lib/postgresql/$v/bin"
}

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$name did not start within ${secs}s; log tail:" >&2
      tail -n 20 "$dir/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

start_postgres() {
  local bin port
  bin="$(pg_bin)"
  port="$(free_port)"
  mkdir -p "$dir/pg"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir/pg" && chmod 755 "$dir"
  as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/postgres-initdb.log" 2>&1
  touch "$dir/postgres.log"; [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/postgres.log"
  as_pg "$bin/postgres" -D "$dir/pg/data" -p "$port" -k "$dir/pg" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
    >>"$dir/postgres.log" 2>&1 &
  echo $! >"$dir/postgres.pid"
  wait_for postgres 60 "$bin/pg_isready" -h 127.0.0.1 -p "$port" -U postgres
  "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE intake LOGIN PASSWORD 'intake' CREATEDB" \
    -c "CREATE DATABASE intake OWNER intake" >>"$dir/postgres.log" 2>&1
  echo "INTAKE_TEST_POSTGRES_URL=postgresql://intake:intake@127.0.0.1:$port/intake" >>"$dir/env"
}

start_redis() {
  local port
  port="$(free_port)"
  mkdir -p "$dir/redis"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/redis" --save '' --appendonly yes \
    --databases 4096 \
    --daemonize no >"$dir/redis.log" 2>&1 &
  echo $! >"$dir/redis.pid"
  wait_for redis 30 redis-cli -h 127.0.0.1 -p "$port" ping
  echo "INTAKE_TEST_REDIS_URL=redis://127.0.0.1:$port/0" >>"$dir/env"
}

start_s3() {
  local port s3rver="$root/node_modules/.bin/s3rver"
  [ -x "$s3rver" ] || { echo "s3rver not installed (npm ci in $root)" >&2; exit 1; }
  port="$(free_port)"
  mkdir -p "$dir/s3"
  # s3rver's stock credentials are S3RVER / S3RVER. It checks only that the access key exists, not
  # the SigV4 signature: tests/adapters/s3/s3_signature_test.cpp checks signatures independently.
  "$s3rver" --address 127.0.0.1 --port "$port" --directory "$dir/s3" --silent \
    >"$dir/s3rver.log" 2>&1 &
  echo $! >"$dir/s3rver.pid"
  wait_for s3rver 60 curl -sf -o /dev/null "http://127.0.0.1:$port/"
  echo "INTAKE_TEST_S3_URL=http://127.0.0.1:$port" >>"$dir/env"
}

stop_all() {
  local f pid
  # postgres.pid holds the background shell that runs `runuser … postgres` (or postgres); killing
  # that shell would leave the server running, so stop the postmaster itself, by its own pid file.
  if [ -f "$dir/postgres.pid" ] && [ -f "$dir/pg/data/postmaster.pid" ]; then
    head -n 1 "$dir/pg/data/postmaster.pid" >"$dir/postgres.pid"
  fi
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    : >"$dir/env"
    trap 'stop_all' ERR
    for s in "${servers[@]}"; do "start_$s"; done
    trap - ERR
    cat "$dir/env"
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    stop_all
    rm -rf "$dir"
    ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
