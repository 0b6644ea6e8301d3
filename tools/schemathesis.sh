#!/usr/bin/env bash
# Schemathesis (PyPI, pinned below) over the committed OpenAPI document against a running server on
# the demo data: every operation, a bounded number of examples each, every check. MOSIP's HTTP-200
# error envelope counts as a refusal and no body may carry internal detail (tools/schemathesis_hooks.py).
#
#   tools/schemathesis.sh [extra st options…]      e.g. --include-path /resident/v1/vid
#
# Environment: RESIDENT_BIN (default: build the debug binary), EXAMPLES (per operation, default 40),
# SEED (default: a new one, printed by schemathesis), DATABASE_URL (default: SQLite in a temporary folder).
set -euo pipefail
source "$(dirname "$0")/common.sh"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT="$(free_port 18399)"

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "schemathesis==4.32.5"

export RESIDENT_DATA_DIR="$WORK/data"
[ -n "${DATABASE_URL:-}" ] && export RESIDENT_DATABASE_URL="$DATABASE_URL"
export RESIDENT_LISTEN="127.0.0.1:$PORT"
# one client sends every request: no per-client limits; the OTP flooding limit would answer 200s
# that are refusals anyway, but then every later request of the run would be one
export RESIDENT_RATE_LIMIT__ENABLED=false RESIDENT_OTP__FLOODING_MAX=1000000 RESIDENT_OTP__MAX_FAILED_PER_DAY=1000000
export RESIDENT_LOG__LEVEL=error
ST_SERVICE_KEY="st-service-key-$(date +%s%N)"
export RESIDENT_PLATFORM__SERVICE_KEY="$ST_SERVICE_KEY"
key() { "$BIN" admin partner add --id "$1" --name "$1" --partner-type "$2" | sed -n 's/^API key[^:]*: //p'; }
"$BIN" demo >/dev/null
ST_PRINT_KEY="$(key st-print Print_Partner)"
ST_AUTH_KEY="$(key st-auth Auth_Partner)"
export ST_SERVICE_KEY ST_PRINT_KEY ST_AUTH_KEY

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/resident/v1/actuator/health" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "http://127.0.0.1:$PORT/resident/v1/actuator/health" >/dev/null || { cat "$WORK/server.log"; exit 2; }

SEED_ARG=()
[ -n "${SEED:-}" ] && SEED_ARG=(--seed "$SEED")
# one worker: the generator is not safe across threads on every Python (an AST recursion error)
# from the work folder: schemathesis keeps its cache (.schemathesis/) where it runs
cd "$WORK"
SCHEMATHESIS_HOOKS="$ROOT/tools/schemathesis_hooks.py" "$WORK/venv/bin/st" --config-file "$ROOT/tools/schemathesis.toml" \
  run "$ROOT/docs/openapi.json" --url "http://127.0.0.1:$PORT" \
  --checks all --exclude-checks negative_data_rejection \
  --max-examples "${EXAMPLES:-40}" --workers 1 --no-color "${SEED_ARG[@]}" "$@"
