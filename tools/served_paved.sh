# Sourced by the scripts that check a live `paved serve` (tools/fuzz/run.sh,
# tools/conformance/run.sh): stopping the server (and its embedded PostgreSQL) whatever
# happens, and a free loopback port. The caller sets log(), WORK, DATA_DIR, SERVER_LOG,
# SERVER_PID and STOP_TIMEOUT first; afterwards PORT and BASE are set.

alive() { [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; }

server_log_tail() {
  if [[ -s "$SERVER_LOG" ]]; then
    log "last lines of the server log:"
    tail -n 60 "$SERVER_LOG" | awk '{ print "  | " $0 }' >&2
  fi
}

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
    local pidfile pg_pid
    while IFS= read -r pidfile; do
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

PORT="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')"
BASE="http://127.0.0.1:$PORT"
