#!/usr/bin/env bash
# The web console in a real browser: installs Debian's Chromium when missing and the pinned npm
# tools (npm ci, no browser download), checks that the OpenAPI types and the vendored library
# are current and that the console type-checks (tsc --checkJs --strict), then starts the server
# in sandbox mode (fake ConnectWise with a 2,505-product catalog and fake KSC, throw-away data
# directory, a free port on 127.0.0.1) and drives headless Chromium through the whole workflow
# (console/test/e2e.mjs, its steps in console/test/steps/), which prints the measured log-in time
# and transfer sizes.
# Screenshots land in <target>/console-screenshots; UPDATE_README_SCREENSHOT=1 also refreshes
# docs/products-tab.png and docs/home.png. Exits non-zero on any failure. Only 127.0.0.1 is
# contacted by the tests.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
console="$root/console"
# shellcheck source=scripts/need.sh
source "$root/scripts/need.sh"
need chromium=chromium npm="nodejs npm"

echo "console: npm ci"
(cd "$console" && npm ci --silent)

echo "console: generated types and vendored library are current"
generated="$(mktemp --suffix .d.ts)"
(cd "$console" && npx --no-install openapi-typescript ../openapi/openapi.json -o "$generated" >/dev/null 2>&1)
if ! diff -q "$generated" "$console/src/api-types.d.ts" >/dev/null; then
    echo "console/src/api-types.d.ts is stale: run (cd console && npm run types)" >&2
    exit 1
fi
rm -f "$generated"
cmp "$console/node_modules/htm/preact/standalone.mjs" "$console/src/vendor/htm-preact.mjs"

echo "console: tsc --checkJs --strict"
(cd "$console" && npx --no-install tsc -p tsconfig.json)

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin kaspersky-msp-bridge

# shellcheck source=scripts/start-server.sh
. "$root/scripts/start-server.sh"
# A catalog as large as a real MSP's: the product picker and the Sync screen must cope.
BRIDGE_SANDBOX_EXTRA_PRODUCTS=2500 start_server sandbox
wait_for_sandbox
curl_line="$(grep "curl -s -u" "$data_dir/server.log")" || { cat "$data_dir/server.log" >&2; echo "the sandbox did not start" >&2; exit 1; }
contoso_agreement="$(sed -n 's/^ *Contoso .*agreement \([0-9]*\)$/\1/p' "$data_dir/server.log")"

shots="$target/console-screenshots"
readme_shot=""
home_shot=""
if [ "${UPDATE_README_SCREENSHOT:-0}" = 1 ]; then
    readme_shot="$root/docs/products-tab.png"
    home_shot="$root/docs/home.png"
    mkdir -p "$root/docs"
fi

CONSOLE_URL="http://127.0.0.1:$port/" \
    ADMIN_PASSWORD="$admin_password" \
    FAKE_CW_AUTH="$(sed -n "s/.*-u '\([^']*\)'.*/\1/p" <<<"$curl_line")" \
    FAKE_CW_CLIENT_ID="$(sed -n "s/.*clientId: \([^']*\)'.*/\1/p" <<<"$curl_line")" \
    FAKE_CW_ADDITIONS="$(sed -n "s/.* \(http:[^ ]*\)$/\1/p" <<<"$curl_line")" \
    CONTOSO_AGREEMENT="$contoso_agreement" \
    SCREENSHOT_DIR="$shots" \
    README_SCREENSHOT="$readme_shot" \
    HOME_SCREENSHOT="$home_shot" \
    node "$console/test/e2e.mjs" || { echo "server log:" >&2; tail -n 50 "$data_dir/server.log" >&2; exit 1; }
echo "console: screenshots in $shots"
