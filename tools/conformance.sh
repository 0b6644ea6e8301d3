#!/usr/bin/env bash
# Replays MOSIP's own resident API test cases (../shared/mosip-conformance) against the server, set up
# as a new operator would: the fixture identities imported with `resident import`, MOSIP's default
# partners registered with the admin CLI, OTPs sent by e-mail over SMTP to the harness's receiver.
#
#   tools/conformance.sh [harness options…]      e.g. -q, --only 'AuthLock', --report out.json
#
# Environment: RESIDENT_BIN (default: build the debug binary), HARNESS (default ../shared/mosip-conformance
# beside the clone, else /work/shared/mosip-conformance), DATABASE_URL (default: SQLite in a temporary
# folder), KEEP=1 keeps the folder, CHECK=1 passes only when every case passes except those listed in
# tools/conformance-exceptions.txt (what CI runs; the report is kept at REPORT if set).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${HARNESS:-}" ]; then
  HARNESS="$ROOT/../shared/mosip-conformance"
  [ -d "$HARNESS" ] || HARNESS=/work/shared/mosip-conformance
fi
[ -f "$HARNESS/conformance.py" ] || { echo "no conformance harness at $HARNESS (set HARNESS)" >&2; exit 2; }
source "$(dirname "$0")/common.sh"
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
PORT="$(free_port 18299)"
SMTP_PORT="$(free_port 12525)"

# the harness (PyYAML) in a venv of our own: shared/ is read-only
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q -r "$HARNESS/requirements.txt"
# MOSIP's cases: the shared copy of the git directory has no refs/ folder, without which git refuses it
cp -r "$HARNESS/mosip-resident-tests.git" "$WORK/cases.git"
mkdir -p "$WORK/cases.git/refs/heads" "$WORK/cases.git/refs/tags"
PY="$WORK/venv/bin/python"
"$PY" "$HARNESS/conformance.py" --mosip-git "$WORK/cases.git" --fixtures-template "$WORK/template.json" >/dev/null

export RESIDENT_DATA_DIR="$WORK/data"
[ -n "${DATABASE_URL:-}" ] && export RESIDENT_DATABASE_URL="$DATABASE_URL"
export RESIDENT_LISTEN="127.0.0.1:$PORT"
# a test environment: one client address sends every request, and the suite asks for many OTPs
export RESIDENT_RATE_LIMIT__ENABLED=false RESIDENT_OTP__FLOODING_MAX=100000 RESIDENT_OTP__MAX_FAILED_PER_DAY=100000
export RESIDENT_SMTP__HOST=127.0.0.1 RESIDENT_SMTP__PORT="$SMTP_PORT" RESIDENT_SMTP__TLS=none
export RESIDENT_LOG__LEVEL=warn

python3 "$ROOT/tools/conformance_fixtures.py" people "$WORK/template.json" >"$WORK/people.jsonl"
"$BIN" import "$WORK/people.jsonl" --uins "$WORK/uins.jsonl"
python3 "$ROOT/tools/conformance_fixtures.py" fixtures "$WORK/template.json" "$WORK/uins.jsonl" >"$WORK/fixtures.json"
"$BIN" admin partner add --id mpartner-default-print --name "Default print partner" --partner-type Print_Partner >/dev/null
"$BIN" admin partner add --id mpartner-default-auth --name "Default auth partner" --partner-type Auth_Partner >/dev/null
for type in euin reprint qrcode; do
  "$BIN" admin partner policy --partner mpartner-default-print --credential-type "$type" \
    --attributes UIN,fullName,dateOfBirth,gender,email,phone,addressLine1,city,postalCode,photo >/dev/null
done

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/resident/v1/actuator/health" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "http://127.0.0.1:$PORT/resident/v1/actuator/health" >/dev/null || { cat "$WORK/server.log"; exit 2; }

EXTRA=()
[ "${CHECK:-0}" = 1 ] && EXTRA=(--report "$WORK/report.json")
set +e
"$PY" "$HARNESS/conformance.py" --mosip-git "$WORK/cases.git" --fixtures "$WORK/fixtures.json" \
  --base-url "http://127.0.0.1:$PORT/resident/v1" --smtp-sink "127.0.0.1:$SMTP_PORT" \
  --no-skip-rule downstream-code --no-skip-rule print-partner "${EXTRA[@]}" "$@"
STATUS=$?
set -e
if [ "${CHECK:-0}" = 1 ]; then
  [ -n "${REPORT:-}" ] && cp "$WORK/report.json" "$REPORT"
  # 2: the harness could not run at all
  [ "$STATUS" -le 1 ] || exit "$STATUS"
  python3 "$ROOT/tools/conformance_check.py" "$WORK/report.json" "$ROOT/tools/conformance-exceptions.txt" \
    || { echo "server log (last lines):"; tail -n 50 "$WORK/server.log"; exit 1; }
  exit 0
fi
exit "$STATUS"
