#!/usr/bin/env bash
# `make fuzz`: Schemathesis (GraphQL, positive and negative cases) over the whole schema of a
# live `paved serve` on a throwaway embedded PostgreSQL with the demo data, in development
# mode: once with a read-only API token, then anonymously (the local admin, who may run every
# mutation). Fails on any 5xx, any INTERNAL error, any answer that does not fit the schema
# (checks in tools/fuzz/hooks.py). A fixed seed and example budget keep it reproducible and
# under 3 minutes: make fuzz FUZZ_SEED=7 FUZZ_EXAMPLES=40 explores further.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${BIN:-$ROOT/.venv/bin}"
SEED="${FUZZ_SEED:-1}"
EXAMPLES="${FUZZ_EXAMPLES:-15}"
READY_TIMEOUT="${FUZZ_READY_TIMEOUT:-90}"
STOP_TIMEOUT="${FUZZ_STOP_TIMEOUT:-60}"

log() { echo "fuzz: $*" >&2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/paved-fuzz.XXXXXX")"
DATA_DIR="$WORK/data"
SERVER_LOG="$WORK/server.log"
SERVER_PID=""
mkdir -p "$DATA_DIR"

# shellcheck source=tools/served_paved.sh
source "$ROOT/tools/served_paved.sh"

started=$SECONDS
log "starting paved serve on $BASE (data in $DATA_DIR)"
# Never a database from the caller's environment; rate limits off (the fuzzer is one actor
# sending thousands of requests), no webhook deliveries to the addresses it makes up.
env -u DATABASE_URL -u PAVED_DATABASE_URL PAVED_ENV=development PAVED_HOST=127.0.0.1 \
  PAVED_DEMO=true PAVED_RATE_LIMIT_POINTS=0 PAVED_WEBHOOK_DELIVERY=false \
  PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
  "$BIN/python" -m cli.main serve --port "$PORT" --data-dir "$DATA_DIR" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

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
log "server ready after $((SECONDS - started))s"

# A read-only token of a demo user, made by the anonymous local admin.
READ_TOKEN="$("$BIN/python" - "$BASE/graphql" <<'EOF'
import json
import sys
import urllib.request

def post(query, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(sys.argv[1], data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.load(response)


made = post(
    'mutation { createApiToken(input: {user: "alice-nguyen", name: "fuzz", scopes: [READ]})'
    " { secret errors { code message } } }"
)["data"]["createApiToken"]
if made["errors"] or not made["secret"]:
    sys.exit(f"no read-only token: {made['errors']}")
# The fuzzing is only worth something if the token is taken: it reads as its user.
viewer = post("{ viewer { ... on User { handle } } }", made["secret"])
if viewer.get("data", {}).get("viewer") != {"handle": "alice-nguyen"}:
    sys.exit(f"the read-only token does not read as its user: {viewer}")
print(made["secret"])
EOF
)"

fuzz() {
  local who="$1"
  shift
  log "$who: $EXAMPLES examples per operation, seed $SEED"
  SCHEMATHESIS_HOOKS=tools.fuzz.hooks PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
    "$BIN/st" run "$BASE/graphql" "$@" \
    --mode all --phases fuzzing,stateful \
    --checks status_below_500,no_internal_error,answer_fits_the_schema,response_schema_conformance,negative_data_rejection \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 2 --continue-on-failure \
    --request-timeout 30 --generation-database none --warnings off --no-color
}

status=0
# The read-only token first: the anonymous admin's mutations could delete its user.
fuzz "read-only token" -H "Authorization: Bearer $READ_TOKEN" || status=1
fuzz "anonymous local admin" || status=1
if ((status != 0)); then
  server_log_tail
fi
log "done in $((SECONDS - started))s"
exit "$status"
