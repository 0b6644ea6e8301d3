#!/usr/bin/env bash
# Refreshes the axe-core copy the browser tests inject into each page (MPL-2.0, from npm).
#   bash tools/refresh-axe-core.sh [VERSION]
set -euo pipefail
VERSION="${1:-4.14.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "axe-core@$VERSION"
cp node_modules/axe-core/axe.min.js "$ROOT/crates/server/tests/assets/axe.min.js"
cp node_modules/axe-core/LICENSE "$ROOT/crates/server/tests/assets/axe-core.LICENSE"
echo "axe-core $VERSION"
