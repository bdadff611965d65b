#!/usr/bin/env bash
# `make conformance`: the graphql-http audit suite against a live `paved serve` on a
# throwaway embedded PostgreSQL (demo data loaded). Exits with the audit's status:
# 0 only when every audit is `ok` (a warning fails the run too).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PAVED="${PAVED:-$ROOT/.venv/bin/paved}"
READY_TIMEOUT="${CONFORMANCE_READY_TIMEOUT:-90}"
STOP_TIMEOUT="${CONFORMANCE_STOP_TIMEOUT:-60}"

log() { echo "conformance: $*" >&2; }

if [[ ! -x "$PAVED" ]]; then
  log "$PAVED not found; run \`make conformance\` (it installs the project first)"
  exit 2
fi

log "installing the audit suite (npm)"
(
  cd "$HERE"
  if [[ -f package-lock.json ]]; then
    npm ci --silent --no-audit --no-fund
  else
    npm install --silent --no-audit --no-fund
  fi
)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/paved-conformance.XXXXXX")"
DATA_DIR="$WORK/data"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
mkdir -p "$DATA_DIR"

server_log_tail() {
  if [[ -s "$SERVER_LOG" ]]; then
    log "last lines of the server log:"
    tail -n 40 "$SERVER_LOG" | awk '{ print "  | " $0 }' >&2
  fi
}

alive() { [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; }

stop_server() {
  alive || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local waited=0
  while alive && ((waited < STOP_TIMEOUT * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if alive; then
    log "server ($SERVER_PID) still running ${STOP_TIMEOUT}s after SIGTERM; killing it"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    # Its embedded PostgreSQL would outlive it: stop that one too, by the pid it recorded.
    local pidfile
    while IFS= read -r pidfile; do
      local pg_pid
      pg_pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
      if [[ "$pg_pid" =~ ^[0-9]+$ ]]; then
        kill -QUIT "$pg_pid" 2>/dev/null || true
      fi
    done < <(find "$DATA_DIR" -name postmaster.pid 2>/dev/null)
    sleep 1
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_server
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port: bind port 0 and take what the kernel chose.
PORT="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')"
BASE="http://127.0.0.1:$PORT"

log "starting paved serve on $BASE (data in $DATA_DIR)"
# Never a database from the caller's environment: always the embedded one, with demo data.
env -u DATABASE_URL -u PAVED_DATABASE_URL PAVED_HOST=127.0.0.1 PAVED_DEMO=true \
  "$PAVED" serve --port "$PORT" --data-dir "$DATA_DIR" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

started=$SECONDS
deadline=$((started + READY_TIMEOUT))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/readyz" || true)" == 200 ]]; do
  if ! alive; then
    wait "$SERVER_PID" && code=0 || code=$?
    SERVER_PID=""
    log "the server exited (status $code) before it was ready"
    server_log_tail
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    log "GET $BASE/readyz did not answer 200 within ${READY_TIMEOUT}s"
    server_log_tail
    exit 1
  fi
  sleep 0.5
done
log "server ready after $((SECONDS - started))s; auditing $BASE/graphql"

status=0
node "$HERE/audit.mjs" "$BASE/graphql" || status=$?
if ((status != 0)); then
  server_log_tail
fi
exit "$status"
