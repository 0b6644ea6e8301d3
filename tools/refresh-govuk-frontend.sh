#!/usr/bin/env bash
# Rebuilds crates/web/assets/vendor/govuk-frontend.css from GOV.UK Frontend (MIT, from npm) with
# Dart Sass, so `cargo build` never needs npm. GOV.UK's own typeface (GDS Transport) and crest are
# restricted to GOV.UK: the build uses the platform's sans-serif and drops the crest image.
#   bash tools/refresh-govuk-frontend.sh [VERSION]
set -euo pipefail
VERSION="${1:-5.14.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "govuk-frontend@$VERSION" "sass@1"
cat > portal.scss <<'SCSS'
$govuk-font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic", Tahoma, Arial, sans-serif;
$govuk-include-default-font-face: false;
$govuk-global-styles: true;
@import "node_modules/govuk-frontend/dist/govuk/index";
SCSS
npx sass --no-source-map --style=compressed --quiet-deps --silence-deprecation=import --load-path=. portal.scss out.css
# the GOV.UK crest is GOV.UK's alone
sed -e 's#url("/assets/images/govuk-crest.svg")#none#g' out.css > "$ROOT/crates/web/assets/vendor/govuk-frontend.css"
# the npm package names its licence (MIT) without shipping the text: write it out
node -e 'const p=require("./node_modules/govuk-frontend/package.json"); if (p.license !== "MIT") { console.error("licence is " + p.license); process.exit(1) }'
cat > "$ROOT/crates/web/assets/vendor/govuk-frontend.LICENSE.txt" <<'LICENSE'
GOV.UK Frontend (https://github.com/alphagov/govuk-frontend), MIT licence.

Copyright (c) 2018 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN
NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
LICENSE
echo "GOV.UK Frontend $VERSION, built $(date -u +%Y-%m-%d) by tools/refresh-govuk-frontend.sh" > "$ROOT/crates/web/assets/vendor/govuk-frontend.VERSION"
wc -c "$ROOT/crates/web/assets/vendor/govuk-frontend.css"
