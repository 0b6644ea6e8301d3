# Sourced by the tools/*.sh scripts that drive the built `resident` binary.
# Sets ROOT (the clone) and BIN (RESIDENT_BIN, or the debug binary built here), and unsets
# RESIDENT_BIN: the server would read it as a configuration key. free_port N prints the first free
# local port from N.
ROOT="$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)"
if [ -z "${RESIDENT_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q --bin resident)
  RESIDENT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/resident"
fi
BIN="$RESIDENT_BIN"
unset RESIDENT_BIN
free_port() { local p=$1; while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done; echo "$p"; }
