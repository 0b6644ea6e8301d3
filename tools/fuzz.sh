#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/fuzz_targets: envelope, identity_json, packet, card_qr) for a
# bounded time. Needs the nightly toolchain; installs cargo-fuzz when it is missing. A crash leaves
# its input in fuzz/artifacts/<target>/ and fails the run (replay: cargo +nightly fuzz run <target> <file>).
#
#   tools/fuzz.sh [target…]      SECONDS_PER_TARGET (default 30); FUZZ_DEV=1 builds unoptimised
#                                (CI: a cold optimised build takes over 20 minutes on two cores)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/fuzz"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${HOME:-/root}/.cache/resident-services/fuzz-target}"
rustup toolchain list | grep -q '^nightly' || { echo "the nightly toolchain is needed (rustup toolchain install nightly)" >&2; exit 2; }
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --version 0.13.2 --locked
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(envelope identity_json packet card_qr)
FLAGS=(-O)
[ "${FUZZ_DEV:-0}" = 1 ] && FLAGS=(--dev)
cargo +nightly fuzz build "${FLAGS[@]}"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t (${SECONDS_PER_TARGET:-30} s)"
  # -rss_limit_mb: a parser that balloons on some input is a finding too
  status=0
  cargo +nightly fuzz run "${FLAGS[@]}" "$t" "corpus/$t" -- -max_total_time="${SECONDS_PER_TARGET:-30}" -rss_limit_mb=2048 \
    -print_final_stats=1 >"$LOG" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ +DONE' "$LOG" || true
  if [ "$status" -ne 0 ]; then
    # the fuzzer's report: the panic or sanitizer message and the input that caused it
    grep -v '^#[0-9]' "$LOG" | tail -n 40 >&2
    echo "$t failed; its input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
