#!/usr/bin/env bash
# What the container image promises (Dockerfile), proven without a container engine: the binary runs
# as an unprivileged user (uid 65532, as distroless's `nonroot`) with the whole root file system
# read-only and only its data folder writable, serves the demo, and stops cleanly on SIGTERM.
# Needs root (a private mount namespace: unshare -m) and util-linux's setpriv.
#
# Environment: RESIDENT_BIN (default: build the debug binary).
set -euo pipefail
source "$(dirname "$0")/common.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/data" "$WORK/log"
cp "$BIN" "$WORK/resident"
chown 65532:65532 "$WORK/data"
chmod 0755 "$WORK"
PORT="$(free_port 18499)"
export WORK PORT
unshare -m --propagation private bash -euo pipefail -c '
  mount --bind / / && mount -o remount,bind,ro /
  for d in "$WORK/data" "$WORK/log"; do mount --bind "$d" "$d" && mount -o remount,bind,rw "$d"; done
  if touch /etc/resident-rw-probe 2>/dev/null; then echo "the root file system is writable" >&2; exit 1; fi
  setpriv --reuid=65532 --regid=65532 --clear-groups env -i PATH=/usr/bin:/bin \
    RESIDENT_DATA_DIR="$WORK/data" RESIDENT_LISTEN="127.0.0.1:$PORT" RESIDENT_HTTP__DRAIN_SECONDS=1 \
    "$WORK/resident" serve --demo >"$WORK/log/out.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/resident/v1/actuator/health" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "http://127.0.0.1:$PORT/resident/v1/actuator/health" >/dev/null || { cat "$WORK/log/out.log" >&2; exit 1; }
  NOW="$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"
  ANSWER="$(curl -fsS "http://127.0.0.1:$PORT/resident/v1/rid/check-status" -H "content-type: application/json" \
    -d "{\"id\":\"mosip.resident.checkstatus\",\"version\":\"v1\",\"requesttime\":\"$NOW\",\"request\":{\"individualId\":\"10001100010000120261101090100\",\"individualIdType\":\"RID\"}}")"
  PORTAL="$(curl -fsS -o /dev/null -w "%{http_code}" "http://127.0.0.1:$PORT/")"
  kill -TERM "$SERVER"
  status=0; wait "$SERVER" || status=$?
  echo "check-status: $ANSWER"
  echo "portal: $PORTAL; exit status after SIGTERM: $status"
  case "$ANSWER" in *PROCESSED*) ;; *) cat "$WORK/log/out.log" >&2; exit 1 ;; esac
  [ "$PORTAL" = 200 ] && [ "$status" = 0 ] || { cat "$WORK/log/out.log" >&2; exit 1; }
'
OWNERS="$(find "$WORK/data" ! -uid 65532 | wc -l)"
[ "$OWNERS" = 0 ] || { echo "files in the data folder not owned by the service user" >&2; exit 1; }
echo "ok: uid 65532, read-only root, writes only under the data folder ($(find "$WORK/data" -type f | wc -l) files)"
