#!/usr/bin/env bash
# Proves a backup restores: builds a small PostgreSQL deployment (the demo residents, an imported
# population, audit records), backs it up as docs/operations.md says (pg_dump of the database, a copy
# of the key folder), restores both somewhere else, and checks the restored server: the audit chain
# verifies, an imported RID answers PROCESSED, an identity's data opens (an OTP mail goes out with the
# resident's name in it), and the card-signing key is the same.
#
#   tools/backup_restore_test.sh            (needs PostgreSQL on 127.0.0.1:5432, trust auth)
#
# RESIDENT_BIN (default: build the debug binary), PGHOST/PGPORT/PGUSER as usual.
set -euo pipefail
source "$(dirname "$0")/common.sh"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
WORK="$(mktemp -d)"
SRC_DB="resident_bk_src_$$" DST_DB="resident_bk_dst_$$"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  dropdb --if-exists --force "$SRC_DB" 2>/dev/null || true
  dropdb --if-exists --force "$DST_DB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
url() { echo "postgres://$PGUSER@$PGHOST:$PGPORT/$1"; }
export RUST_LOG=warn RESIDENT_LOG__LEVEL=warn
createdb "$SRC_DB"

echo "== a deployment: demo residents, 2,000 imported identities with their registrations"
"$BIN" --data-dir "$WORK/src" --database-url "$(url "$SRC_DB")" demo >/dev/null
python3 - "$WORK/people.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(2000):
        f.write(json.dumps({"registrationId": f"1000110001{i:05d}20261101090000",
            "identity": {"fullName": [{"language": "eng", "value": f"Restored Person {i}"}],
                         "dateOfBirth": "1985/03/04", "gender": [{"language": "eng", "value": "Female"}],
                         "email": f"restored{i}@example.org", "phone": f"98{i:08d}"}}) + "\n")
PY
"$BIN" --data-dir "$WORK/src" --database-url "$(url "$SRC_DB")" import "$WORK/people.jsonl" --uins "$WORK/uins.jsonl" >/dev/null
"$BIN" --data-dir "$WORK/src" --database-url "$(url "$SRC_DB")" audit checkpoint >/dev/null

echo "== backup: pg_dump of the database, a copy of the key folder"
pg_dump -Fc -f "$WORK/resident.dump" "$SRC_DB"
tar -C "$WORK/src" -cf "$WORK/keys.tar" keys audit
KEY_BEFORE="$("$BIN" --data-dir "$WORK/src" --database-url "$(url "$SRC_DB")" card keys | sha256sum)"

echo "== restore somewhere else"
createdb "$DST_DB"
pg_restore --no-owner -d "$DST_DB" "$WORK/resident.dump"
mkdir -p "$WORK/dst" && chmod 700 "$WORK/dst"
tar -C "$WORK/dst" -xf "$WORK/keys.tar"
DST=(--data-dir "$WORK/dst" --database-url "$(url "$DST_DB")")
"$BIN" "${DST[@]}" migrate --status
"$BIN" "${DST[@]}" audit verify --checkpoint "$WORK/dst/audit/checkpoint.json"
[ "$("$BIN" "${DST[@]}" card keys | sha256sum)" = "$KEY_BEFORE" ] || { echo "the card-signing keys differ"; exit 1; }

echo "== the restored server answers"
PORT=18499
while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
RESIDENT_LISTEN="127.0.0.1:$PORT" "$BIN" "${DST[@]}" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT/resident/v1"
for _ in $(seq 1 60); do curl -fsS "$BASE/actuator/health" >/dev/null 2>&1 && break; sleep 0.5; done
NOW="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
RID="10001100010199920261101090000"
STATUS="$(curl -fsS "$BASE/rid/check-status" -H 'content-type: application/json' \
  -d "{\"id\":\"mosip.resident.checkstatus\",\"version\":\"v1\",\"requesttime\":\"$NOW\",\"request\":{\"individualId\":\"$RID\",\"individualIdType\":\"RID\"}}")"
case "$STATUS" in *'"ridStatus":"PROCESSED"'*) echo "imported RID: PROCESSED" ;; *) echo "unexpected: $STATUS"; exit 1 ;; esac
UIN="$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1999])['UIN'])" "$WORK/uins.jsonl")"
OTP="$(curl -fsS "$BASE/req/otp" -H 'content-type: application/json' \
  -d "{\"id\":\"mosip.identity.otp.internal\",\"version\":\"1.0\",\"transactionID\":\"7000000001\",\"requestTime\":\"$NOW\",\"individualId\":\"$UIN\",\"otpChannel\":[\"EMAIL\"]}")"
case "$OTP" in *'"maskedEmail"'*) ;; *) echo "unexpected: $OTP"; exit 1 ;; esac
for _ in $(seq 1 40); do grep -rqs "Restored Person 1999" "$WORK/dst/outbox" && break; sleep 0.25; done
grep -rqs "Restored Person 1999" "$WORK/dst/outbox" || { echo "the identity did not open: no OTP mail"; tail "$WORK/serve.log"; exit 1; }
echo "an identity opens with the restored key: its OTP mail names the resident"
echo "restore: ok"
