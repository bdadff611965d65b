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

# shellcheck source=tools/served_paved.sh
source "$ROOT/tools/served_paved.sh"

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
